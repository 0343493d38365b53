/* Through-the-iterations gradients (solvers/grad_iter.c): the stored-
 * iterate forwards equal the solvers' output bit for bit; the adjoints equal
 * 256-bit MPFR finite differences of the r-step maps (Chebyshev with its
 * schedule, CG); Chebyshev's implicit dq equals its through-the-iterations dq
 * (symmetric polynomial); CG's differ, by an amount that vanishes as r -> D. */
#include "grad_testlib.h"
#include "gka_solver.h"
#include "gka_stream.h"

static void run_token(gka_arith_t *A, const bt_prob_t *p, const char *solver, int iters,
                      gka_grad_mode_t mode, bt_grads_t *g, bt_grads_t *ref) {
    gka_grad_problem_t gp = bt_gp(p);
    gka_grad_opts_t o = gka_grad_opts_default();
    o.solver = solver, o.iters = iters, o.mode = mode;
    gka_grads_t out = bt_out(g), r;
    if (ref) r = bt_out(ref);
    cr_assert_eq(gka_grad_token(A, &gp, &o, &out, ref ? &r : NULL), GKA_OK, "%s",
                 gka_error_message());
}

/* The x of the iterations mode is the solver object's x, bit for bit. */
static void check_forward_identity(const char *format, const char *solver, int r) {
    const int D = 12;
    const long T = 15;
    bt_prob_t p = bt_prob(D, T, 31, 0.2, 1, 0.5, "adaptive:0.02");
    gka_arith_t A;
    cr_assert_eq(
        gka_arith_init_by_name(&A, format, strcmp(format, "fp64") ? "wide" : "round", NULL, 0),
        GKA_OK);
    bt_grads_t imp = bt_grads_new(D, T), it = bt_grads_new(D, T);
    run_token(&A, &p, solver, r, GKA_GRAD_IMPLICIT, &imp, NULL);
    run_token(&A, &p, solver, r, GKA_GRAD_ITERATIONS, &it, NULL);
    for (long i = 0; i < T * D; i++) {
        cr_assert(isfinite(it.x[i]));
        cr_assert(imp.x[i] == it.x[i], "%s %s: x[%ld] %.17g != solver's %.17g", format, solver, i,
                  it.x[i], imp.x[i]);
    }
    gka_arith_destroy(&A);
    bt_grads_free(&imp), bt_grads_free(&it);
    bt_prob_free(&p);
}

Test(grad_iter, stored_iterate_forward_equals_solver_bit_for_bit) {
    check_forward_identity("fp64", "chebyshev", 17);
    check_forward_identity("bf16", "chebyshev", 30);
    check_forward_identity("fp64", "cg", 9);
    check_forward_identity("bf16", "cg", 12);
}

/* The adjoint of the r-step map, evaluated in MPFR-256, equals the central
 * difference of the same map to the rounding of the output; in fp64 to
 * roundoff. */
static void check_fd_iter(bt_solve_t kind, int r, const char *ridge, double gate) {
    const int D = 5;
    const long T = 7;
    bt_prob_t p = bt_prob(D, T, 41 + (uint64_t)r, gate, 1, 0.8, ridge);
    const char *name = kind == BT_CHEB ? "chebyshev" : "cg";
    bt_grads_t fd = bt_grads_new(D, T), mp = bt_grads_new(D, T), f64 = bt_grads_new(D, T);
    bt_fd(&p, kind, r, &fd);
    gka_arith_t Amp, A64;
    cr_assert_eq(gka_arith_init_mpfr(&Amp, BT_PREC, GKA_ACCUM_PER_OP), GKA_OK);
    gka_arith_init_fp64(&A64);
    run_token(&Amp, &p, name, r, GKA_GRAD_ITERATIONS, &mp, NULL);
    run_token(&A64, &p, name, r, GKA_GRAD_ITERATIONS, &f64, NULL);
    double emp[4], e64[4];
    bt_errors(&p, &mp, &fd, emp);
    bt_errors(&p, &f64, &fd, e64);
    cr_log_info("%s r=%d %s vs FD [dq dk dg dbeta]: mpfr %.2e %.2e %.2e %.2e; fp64 %.2e %.2e %.2e "
                "%.2e",
                name, r, ridge, emp[0], emp[1], emp[2], emp[3], e64[0], e64[1], e64[2], e64[3]);
    for (int i = 0; i < 4; i++) {
        cr_assert(emp[i] <= 4e-16, "%s r=%d %s group %d: mpfr adjoint vs FD %.3e", name, r, ridge,
                  i, emp[i]);
        cr_assert(e64[i] <= 1e-13, "%s r=%d %s group %d: fp64 adjoint vs FD %.3e", name, r, ridge,
                  i, e64[i]);
    }
    gka_arith_destroy(&Amp);
    gka_arith_destroy(&A64);
    bt_grads_free(&fd), bt_grads_free(&mp), bt_grads_free(&f64);
    bt_prob_free(&p);
}

Test(grad_iter, chebyshev_adjoint_matches_mpfr_finite_differences) {
    check_fd_iter(BT_CHEB, 4, "adaptive:0.02", 0.3);
    check_fd_iter(BT_CHEB, 9, "fixed:0.25", 0.2);
    check_fd_iter(BT_CHEB, 1, "adaptive:0.1", 0.0);
}

Test(grad_iter, cg_adjoint_matches_mpfr_finite_differences) {
    check_fd_iter(BT_CG, 3, "adaptive:0.02", 0.3);
    check_fd_iter(BT_CG, 5, "fixed:0.25", 0.0);
}

/* Chebyshev: p_r(A) is a symmetric matrix, so dq through the iterations is
 * p_r(A) dx: the implicit dq solved with the same schedule, to roundoff. dk
 * and dg are not equal (they see x_r - x*). */
Test(grad_iter, chebyshev_implicit_dq_equals_iterations_dq) {
    const int D = 16;
    const long T = 30;
    bt_prob_t p = bt_prob(D, T, 51, 0.1, 1, 0.3, "adaptive:0.02");
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    bt_grads_t imp = bt_grads_new(D, T), it = bt_grads_new(D, T);
    const int rs[] = {1, 3, 10, 30};
    for (size_t i = 0; i < 4; i++) {
        run_token(&A, &p, "chebyshev", rs[i], GKA_GRAD_IMPLICIT, &imp, NULL);
        run_token(&A, &p, "chebyshev", rs[i], GKA_GRAD_ITERATIONS, &it, NULL);
        const double e = gka_grad_rel_error((size_t)(T * D), it.dq, imp.dq);
        cr_log_info("chebyshev r=%d: dq implicit vs iterations %.3e", rs[i], e);
        cr_assert(e <= 1e-14, "r=%d: implicit vs iterations dq %.3e", rs[i], e);
        if (rs[i] == 3) {
            const double ek = gka_grad_rel_error((size_t)(T * D), it.dk, imp.dk);
            cr_assert(ek > 1e-3, "r=3: dk implicit vs iterations %.3e should differ", ek);
        }
    }
    gka_arith_destroy(&A);
    bt_grads_free(&imp), bt_grads_free(&it);
    bt_prob_free(&p);
}

/* CG: implicit and through-the-iterations dq differ for r < D (the r-step
 * map x_r(q) is not a symmetric polynomial in A with fixed coefficients); in
 * exact arithmetic both equal the exact gradient at r = D. The test records
 * the difference at each r and asserts that it is large early and at
 * roundoff level at r = D. */
Test(grad_iter, cg_implicit_vs_iterations_difference_vanishes_at_r_equal_D) {
    const int D = 8;
    const long T = 12;
    bt_prob_t p = bt_prob(D, T, 61, 0.1, 1, 0.3, "adaptive:0.02");
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    bt_grads_t imp = bt_grads_new(D, T), it = bt_grads_new(D, T), ref = bt_grads_new(D, T);
    double diff[9];
    for (int r = 1; r <= D; r++) {
        run_token(&A, &p, "cg", r, GKA_GRAD_IMPLICIT, &imp, &ref);
        run_token(&A, &p, "cg", r, GKA_GRAD_ITERATIONS, &it, NULL);
        diff[r] = gka_grad_rel_error((size_t)(T * D), it.dq, imp.dq);
        cr_log_info("cg r=%d: dq implicit vs iterations %.3e", r, diff[r]);
        cr_assert(isfinite(diff[r]));
    }
    cr_assert(diff[2] > 1e-3, "r=2: difference %.3e: the case shows nothing", diff[2]);
    cr_assert(diff[D] < 1e-9, "r=D: difference %.3e", diff[D]);
    double e[4];
    bt_errors(&p, &it, &ref, e);
    for (int i = 0; i < 4; i++)
        cr_assert(e[i] < 1e-9, "r=D group %d vs exact %.3e", i, e[i]);
    gka_arith_destroy(&A);
    bt_grads_free(&imp), bt_grads_free(&it), bt_grads_free(&ref);
    bt_prob_free(&p);
}
