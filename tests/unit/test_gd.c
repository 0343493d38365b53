/* Gradient descent and Nesterov AGD: the optimal fixed-step contraction
 * bounds in fp64, AGD faster than GD, reasons. */
#include "solver_testlib.h"

/* GD with step 2/(L+mu): ||e_r|| <= ((L-mu)/(L+mu))^r ||e_0||, e_0 = x*. */
Test(gd, fp64_contraction_bound) {
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    const int D = 16, r = 40;
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, 0.1};
    tl_seq_t s = tl_seq(D, 80, 13, 0.05, 0, 0.5);
    gka_stream_t *st;
    gka_solver_t *gd, *agd;
    gka_solver_opts_t o = gka_solver_opts_default();
    o.iters = r;
    gka_stream_create(&st, &A, D, &ridge, 0);
    cr_assert_eq(gka_solver_create(&gd, "gd", &o, &A, D), GKA_OK);
    cr_assert_eq(gka_solver_create(&agd, "agd", &o, &A, D), GKA_OK);
    void *x = A.alloc(&A, (size_t)D);
    double xg[16], xa[16], xref[16], worst = 0.0, sum_g = 0.0, sum_a = 0.0;
    for (long t = 0; t < 80; t++) {
        tl_push(st, &s, t);
        cr_assert_eq(tl_solve(gd, st, x, xg).reason, GKA_REASON_ITERATION_LIMIT);
        tl_solve(agd, st, x, xa);
        tl_reference(st, xref);
        const double L = st->hnorm64 + st->lambda64, mu = st->lambda64;
        const double bound = pow((L - mu) / (L + mu), r);
        const double eg = tl_relerr(xg, xref, D), ea = tl_relerr(xa, xref, D);
        cr_assert(eg <= bound * (1 + 1e-9) + 1e-13, "t=%ld gd err %.3e > %.3e", t, eg, bound);
        /* Nesterov: f(x_r) - f* <= (1 - 1/sqrt(kappa))^r (f(x_0) - f* + mu/2 ||e_0||^2),
           so ||e_r|| <= sqrt(kappa + 1) (1 - 1/sqrt(kappa))^(r/2) ||e_0|| */
        const double ka = L / mu, ab = sqrt(ka + 1.0) * pow(1.0 - 1.0 / sqrt(ka), 0.5 * r);
        cr_assert(ea <= ab + 1e-13, "t=%ld agd err %.3e > %.3e", t, ea, ab);
        if (eg / bound > worst) worst = eg / bound;
        sum_g += log(eg), sum_a += log(ea);
    }
    cr_assert(worst > 1e-3, "gd bound vacuous (worst ratio %.3e)", worst);
    cr_assert(sum_a < sum_g, "agd not faster than gd on average");
    A.free(&A, x, (size_t)D);
    gka_solver_destroy(gd);
    gka_solver_destroy(agd);
    gka_stream_destroy(st);
    tl_seq_free(&s);
}

Test(gd, reasons_breakdown_diverged) {
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    gka_ridge_t zero = {GKA_RIDGE_FIXED, 0.0}, fixed = {GKA_RIDGE_FIXED, 0.1};
    gka_stream_t *st;
    gka_solver_t *gd, *agd;
    gka_solver_opts_t o = gka_solver_opts_default();
    o.iters = 200;
    double H[16] = {0}, q[4] = {1, 1, 1, 1}, x64[4];
    void *x = A.alloc(&A, 4);
    gka_stream_create(&st, &A, 4, &zero, 0);
    gka_solver_create(&gd, "gd", &o, &A, 4);
    gka_solver_create(&agd, "agd", &o, &A, 4);
    gka_stream_set_H(st, H);
    gka_stream_set_query(st, q);
    cr_assert_eq(tl_solve(gd, st, x, x64).reason, GKA_REASON_BREAKDOWN);
    cr_assert_eq(tl_solve(agd, st, x, x64).reason, GKA_REASON_BREAKDOWN);
    gka_stream_destroy(st);
    gka_stream_create(&st, &A, 4, &fixed, 0);
    H[0] = -2.0, H[5] = 1.0; /* A has eigenvalue -1.9: gradient steps grow that component */
    gka_stream_set_H(st, H);
    gka_stream_set_query(st, q);
    cr_assert_eq(tl_solve(gd, st, x, x64).reason, GKA_REASON_DIVERGED);
    cr_assert_eq(tl_solve(agd, st, x, x64).reason, GKA_REASON_DIVERGED);
    A.free(&A, x, 4);
    gka_solver_destroy(gd);
    gka_solver_destroy(agd);
    gka_stream_destroy(st);
}
