/* The solver object: registry, options, variants, reason names, errors. */
#include "solver_testlib.h"

Test(solver, registry_and_lookup) {
    size_t n;
    const gka_solver_ops_t *const *list = gka_solver_list(&n);
    cr_assert_eq(n, 6);
    const char *names[] = {"chebyshev", "cg", "gd", "agd", "cholesky", "kalman"};
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(list[i]->name, names[i]);
        const gka_solver_ops_t *ops;
        cr_assert_eq(gka_solver_find(names[i], &ops), GKA_OK);
        cr_assert_eq(ops, list[i]);
        cr_assert((ops->solve || ops->solve_op) && ops->summary && ops->variants);
    }
    const gka_solver_ops_t *ops;
    cr_assert_eq(gka_solver_find("lanczos", &ops), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "lanczos"));
    cr_assert_eq(gka_solver_find(NULL, &ops), GKA_EINVAL);
}

Test(solver, reason_names) {
    const char *want[] = {"none",    "converged", "iteration_limit", "diverged", "breakdown",
                          "lost_pd", "nan"};
    for (int r = 0; r < GKA_REASON_COUNT; r++)
        cr_assert_str_eq(gka_reason_name((gka_reason_t)r), want[r]);
    cr_assert_str_eq(gka_reason_name((gka_reason_t)99), "invalid");
}

Test(solver, options_and_variants) {
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    gka_solver_opts_t o = gka_solver_opts_default();
    cr_assert(o.iters == 30 && o.tol == 0.0 && !o.warm && !o.history && !o.variant[0]);
    gka_solver_t *s;
    cr_assert_eq(gka_solver_create(&s, "kalman", &o, &A, 8), GKA_OK);
    cr_assert_str_eq(s->opts.variant, "info"); /* the first listed is the default */
    double P[64];
    cr_assert_eq(gka_solver_matrix(s, P), GKA_OK);
    gka_solver_destroy(s);
    cr_assert_eq(gka_solver_create(&s, "chebyshev", &o, &A, 8), GKA_OK);
    cr_assert_eq(gka_solver_matrix(s, P), GKA_EUNSUP);
    gka_solver_destroy(s);
    snprintf(o.variant, sizeof o.variant, "info");
    cr_assert_eq(gka_solver_create(&s, "cg", &o, &A, 8), GKA_EINVAL); /* cg has no variants */
    o = gka_solver_opts_default();
    cr_assert_eq(gka_solver_create(&s, "cg", &o, &A, 0), GKA_EINVAL);
    cr_assert_eq(gka_solver_create(&s, "cg", &o, &A, 1025), GKA_EINVAL);
    o.iters = -1;
    cr_assert_eq(gka_solver_create(&s, "cg", &o, &A, 8), GKA_EINVAL);
    o.iters = 5, o.tol = -1.0;
    cr_assert_eq(gka_solver_create(&s, "cg", &o, &A, 8), GKA_EINVAL);
    o.tol = NAN;
    cr_assert_eq(gka_solver_create(&s, "cg", &o, &A, 8), GKA_EINVAL);
}

Test(solver, stream_must_match_solver) {
    gka_arith_t A, B;
    gka_arith_init_fp64(&A);
    gka_arith_init_fp64(&B);
    gka_ridge_t ridge = {GKA_RIDGE_FIXED, 1.0};
    gka_stream_t *st;
    gka_solver_t *s;
    gka_stream_create(&st, &B, 4, &ridge, 0);
    gka_solver_create(&s, "gd", NULL, &A, 4);
    void *x = A.alloc(&A, 4);
    gka_solve_info_t info;
    cr_assert_eq(gka_solver_solve(s, st, x, &info), GKA_EINVAL);
    gka_solver_destroy(s);
    gka_solver_create(&s, "gd", NULL, &B, 3);
    cr_assert_eq(gka_solver_solve(s, st, x, &info), GKA_EINVAL);
    A.free(&A, x, 4);
    gka_solver_destroy(s);
    gka_stream_destroy(st);
}

/* every solver, every reason code reachable: summary of the crafted inputs
 * lives in the per-solver tests; here: each solver answers a trivial
 * problem (A = 2 I) correctly in fp64 and emulated fp32. */
Test(solver, every_solver_solves_scaled_identity) {
    const char *fmts[] = {"fp64", "fp32"};
    for (int f = 0; f < 2; f++) {
        gka_arith_t A;
        cr_assert_eq(gka_arith_init_by_name(&A, fmts[f], "round", NULL, 0), GKA_OK);
        size_t n;
        const gka_solver_ops_t *const *list = gka_solver_list(&n);
        for (size_t i = 0; i < n; i++) {
            gka_ridge_t ridge = {GKA_RIDGE_FIXED, 1.0};
            gka_stream_t *st;
            gka_solver_t *s;
            gka_solver_opts_t o = gka_solver_opts_default();
            o.iters = 60;
            gka_stream_create(&st, &A, 3, &ridge, 0);
            cr_assert_eq(gka_solver_create(&s, list[i]->name, &o, &A, 3), GKA_OK);
            double q[3] = {1, -2, 4}, k[3] = {1, 0, 0}, x64[3];
            void *x = A.alloc(&A, 3);
            gka_stream_push(st, q, k, 0.0, 1.0, NULL); /* A = diag(2, 1, 1) */
            gka_solve_info_t info = tl_solve(s, st, x, x64);
            cr_assert(info.reason == GKA_REASON_CONVERGED ||
                      info.reason == GKA_REASON_ITERATION_LIMIT);
            const double want[3] = {0.5, -2.0, 4.0};
            cr_assert(tl_relerr(x64, want, 3) < (f ? 1e-6 : 1e-12), "%s %s err %.3e", list[i]->name,
                      fmts[f], tl_relerr(x64, want, 3));
            A.free(&A, x, 3);
            gka_solver_destroy(s);
            gka_stream_destroy(st);
        }
        gka_arith_destroy(&A);
    }
}
