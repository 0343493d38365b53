/* Cholesky in the studied arithmetic: backward stable in fp64, LOST_PD on
 * an indefinite matrix, NaN propagation, bf16 accuracy ~ kappa u. */
#include "solver_testlib.h"

Test(cholesky, fp64_backward_stable) {
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    const int D = 24;
    gka_ridge_t ridge = {GKA_RIDGE_FIXED, 1e-3}; /* ill-conditioned as t grows */
    tl_seq_t s = tl_seq(D, 120, 17, 0.0, 1, 1.5);
    gka_stream_t *st;
    gka_solver_t *sv;
    gka_stream_create(&st, &A, D, &ridge, 0);
    cr_assert_eq(gka_solver_create(&sv, "cholesky", NULL, &A, D), GKA_OK);
    void *x = A.alloc(&A, (size_t)D);
    double x64[24], xref[24], res, kappa, kmax = 0.0;
    for (long t = 0; t < 120; t++) {
        tl_push(st, &s, t);
        cr_assert_eq(tl_solve(sv, st, x, x64).reason, GKA_REASON_CONVERGED);
        /* normwise backward error ||r|| / (||A|| ||x|| + ||q||) ~ D u */
        cr_assert_eq(gka_ref_rel_residual_fp64(D, st->H64, st->lambda64, st->q64, x64, &res),
                     GKA_OK);
        double xn = 0.0;
        for (int i = 0; i < D; i++)
            xn += x64[i] * x64[i];
        const double An = st->hnorm64 + st->lambda64, eta = res / (An * sqrt(xn) + 1.0);
        cr_assert(eta <= 4.0 * D * 0x1p-53, "t=%ld backward error %.3e", t, eta);
        tl_reference(st, xref);
        cr_assert_eq(gka_ref_kappa_fp64(D, st->H64, st->lambda64, &kappa), GKA_OK);
        cr_assert(tl_relerr(x64, xref, D) <= 4.0 * D * kappa * 0x1p-53);
        if (kappa > kmax) kmax = kappa;
    }
    cr_assert(kmax > 1e3, "problem not ill-conditioned (kappa %.3e)", kmax);
    A.free(&A, x, (size_t)D);
    gka_solver_destroy(sv);
    gka_stream_destroy(st);
    tl_seq_free(&s);
}

Test(cholesky, lost_pd_and_nan) {
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    gka_ridge_t ridge = {GKA_RIDGE_FIXED, 0.5};
    gka_stream_t *st;
    gka_solver_t *sv;
    double H[9] = {1, 2, 0, 2, 1, 0, 0, 0, 1}, q[3] = {1, 1, 1}, x64[3];
    void *x = A.alloc(&A, 3);
    gka_stream_create(&st, &A, 3, &ridge, 0);
    gka_solver_create(&sv, "cholesky", NULL, &A, 3);
    gka_stream_set_H(st, H); /* eigenvalues -1, 3, 1 (+ 0.5) */
    gka_stream_set_query(st, q);
    cr_assert_eq(tl_solve(sv, st, x, x64).reason, GKA_REASON_LOST_PD);
    H[1] = H[3] = 0.0;
    H[4] = NAN;
    gka_stream_set_H(st, H);
    cr_assert_eq(tl_solve(sv, st, x, x64).reason, GKA_REASON_NAN);
    A.free(&A, x, 3);
    gka_solver_destroy(sv);
    gka_stream_destroy(st);
}

Test(cholesky, bf16_error_within_kappa_times_unit_roundoff) {
    gka_arith_t A;
    cr_assert_eq(gka_arith_init_by_name(&A, "bf16", "wide", NULL, 0), GKA_OK);
    const int D = 16;
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, 0.02};
    tl_seq_t s = tl_seq(D, 64, 19, 0.0, 0, 0.0);
    gka_stream_t *st;
    gka_solver_t *sv;
    gka_stream_create(&st, &A, D, &ridge, 0);
    gka_solver_create(&sv, "cholesky", NULL, &A, D);
    void *x = A.alloc(&A, (size_t)D);
    double x64[16], xref[16], kappa;
    for (long t = 0; t < 64; t++) {
        tl_push(st, &s, t);
        cr_assert_eq(tl_solve(sv, st, x, x64).reason, GKA_REASON_CONVERGED);
        tl_reference(st, xref);
        cr_assert_eq(gka_ref_kappa_fp64(D, st->H64, st->lambda64, &kappa), GKA_OK);
        const double e = tl_relerr(x64, xref, D);
        cr_assert(e <= 4.0 * D * kappa * 0x1p-8, "t=%ld bf16 err %.3e kappa %.1f", t, e, kappa);
        cr_assert(e > 0.0);
    }
    A.free(&A, x, (size_t)D);
    gka_solver_destroy(sv);
    gka_stream_destroy(st);
    gka_arith_destroy(&A);
    tl_seq_free(&s);
}
