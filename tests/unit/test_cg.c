/* Conjugate gradient: exact after D iterations (fp64, to roundoff), warm
 * start, reasons from crafted inputs. */
#include "solver_testlib.h"

#include <mpfr.h>

#include "gka_iteration.h"

static void run_cg(int D, long T, int iters, int warm, const char *ridge_spec, double tol_err) {
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    gka_ridge_t ridge;
    cr_assert_eq(gka_ridge_parse(ridge_spec, &ridge), GKA_OK);
    tl_seq_t s = tl_seq(D, T, 7, 0.05, 1, 0.8);
    gka_stream_t *st;
    gka_solver_t *sv;
    gka_solver_opts_t o = gka_solver_opts_default();
    o.iters = iters;
    o.warm = warm;
    cr_assert_eq(gka_stream_create(&st, &A, D, &ridge, 0), GKA_OK);
    cr_assert_eq(gka_solver_create(&sv, "cg", &o, &A, D), GKA_OK);
    void *x = A.alloc(&A, (size_t)D);
    double x64[64], xref[64];
    for (long t = 0; t < T; t++) {
        tl_push(st, &s, t);
        gka_solve_info_t info = tl_solve(sv, st, x, x64);
        cr_assert(info.reason == GKA_REASON_ITERATION_LIMIT || info.reason == GKA_REASON_CONVERGED,
                  "t=%ld reason %s after %d", t, gka_reason_name(info.reason), info.iters);
        tl_reference(st, xref);
        double kappa;
        cr_assert_eq(gka_ref_kappa_fp64(D, st->H64, st->lambda64, &kappa), GKA_OK);
        const double e = tl_relerr(x64, xref, D);
        cr_assert(e <= tol_err * kappa, "t=%ld err %.3e kappa %.3e", t, e, kappa);
        if (getenv("GKA_TEST_VERBOSE")) printf("D=%d t=%ld err/kappa %.3e\n", D, t, e / kappa);
    }
    A.free(&A, x, (size_t)D);
    gka_solver_destroy(sv);
    gka_stream_destroy(st);
    tl_seq_free(&s);
}

Test(cg, exact_after_D_iterations) {
    run_cg(8, 100, 8, 0, "adaptive:0.02", 1e-13);
    run_cg(24, 64, 24, 1, "adaptive:0.05", 1e-13);
    /* Fixed lambda with gates: the decayed keys cluster the spectrum of A near
       lambda, and in floating point CG loses the orthogonality that finite
       termination needs (Greenbaum): measured err/kappa up to 4.2e-9 here
       (median 1.2e-10) against 3e-15 in the cases above. */
    run_cg(16, 64, 16, 0, "fixed:0.25", 1e-8);
}

Test(cg, not_exact_before_D_iterations) {
    /* the previous test would pass for a solver that was always exact; here
       a few iterations leave a visible error, so the test sees the iteration */
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    const int D = 16;
    gka_ridge_t ridge = {GKA_RIDGE_FIXED, 0.01};
    tl_seq_t s = tl_seq(D, 40, 9, 0.0, 0, 0.0);
    gka_stream_t *st;
    gka_solver_t *sv;
    gka_solver_opts_t o = gka_solver_opts_default();
    o.iters = 3;
    gka_stream_create(&st, &A, D, &ridge, 0);
    gka_solver_create(&sv, "cg", &o, &A, D);
    void *x = A.alloc(&A, (size_t)D);
    double x64[16], xref[16];
    for (long t = 0; t < 40; t++) {
        tl_push(st, &s, t);
        tl_solve(sv, st, x, x64);
    }
    tl_reference(st, xref);
    cr_assert(tl_relerr(x64, xref, D) > 1e-6);
    A.free(&A, x, (size_t)D);
    gka_solver_destroy(sv);
    gka_stream_destroy(st);
    tl_seq_free(&s);
}

Test(cg, reasons_breakdown_lost_pd_nan_converged) {
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    const int D = 4;
    gka_ridge_t zero = {GKA_RIDGE_FIXED, 0.0};
    gka_stream_t *st;
    gka_solver_t *sv;
    gka_solver_opts_t o = gka_solver_opts_default();
    double H[16] = {0}, q[4] = {1, 2, 3, 4}, x64[4];
    void *x = A.alloc(&A, 4);
    gka_stream_create(&st, &A, D, &zero, 0);
    gka_solver_create(&sv, "cg", &o, &A, D);
    gka_stream_set_H(st, H);
    gka_stream_set_query(st, q);
    cr_assert_eq(tl_solve(sv, st, x, x64).reason, GKA_REASON_BREAKDOWN); /* A = 0 */
    for (int i = 0; i < 4; i++)
        H[i * 5] = -1.0;
    gka_stream_set_H(st, H);
    cr_assert_eq(tl_solve(sv, st, x, x64).reason, GKA_REASON_LOST_PD); /* A = -I */
    for (int i = 0; i < 4; i++)
        H[i * 5] = 2.0;
    gka_stream_set_H(st, H);
    gka_solve_info_t info = tl_solve(sv, st, x, x64);
    cr_assert_eq(info.reason, GKA_REASON_CONVERGED); /* A = 2I: exact in one step */
    cr_assert_eq(info.iters, 1);
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(x64[i], q[i] / 2.0, 1e-15);
    q[1] = NAN;
    gka_stream_set_query(st, q);
    cr_assert_eq(tl_solve(sv, st, x, x64).reason, GKA_REASON_NAN);
    A.free(&A, x, 4);
    gka_solver_destroy(sv);
    gka_stream_destroy(st);
}

/* Solve (H + lambda I) x = q once with cg variant `variant` in A. */
static gka_solve_info_t cg_once(gka_arith_t *A, int D, const double *H, double lambda,
                                const double *q, int iters, const char *variant, double *x64) {
    gka_ridge_t ridge = {GKA_RIDGE_FIXED, lambda};
    gka_stream_t *st;
    gka_solver_t *sv;
    gka_solver_opts_t o = gka_solver_opts_default();
    o.iters = iters;
    snprintf(o.variant, sizeof o.variant, "%s", variant);
    cr_assert_eq(gka_stream_create(&st, A, D, &ridge, 0), GKA_OK);
    cr_assert_eq(gka_solver_create(&sv, "cg", &o, A, D), GKA_OK, "%s", gka_error_message());
    cr_assert_eq(gka_stream_set_H(st, H), GKA_OK);
    cr_assert_eq(gka_stream_set_query(st, q), GKA_OK);
    void *x = A->alloc(A, (size_t)D);
    gka_solve_info_t info = tl_solve(sv, st, x, x64);
    A->free(A, x, (size_t)D);
    gka_solver_destroy(sv);
    gka_stream_destroy(st);
    return info;
}

/* q in the null space of H (lambda = 0): p^T A p = 0 at the first step. The
 * guarded CG stops with BREAKDOWN and x = 0; the textbook CG divides by zero
 * and the NaN propagates to x. */
Test(cg, plain_variant_propagates_nan_where_guarded_stops) {
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    const double H[4] = {1, 0, 0, 0}, q[2] = {0, 1};
    double x64[2];
    gka_solve_info_t g = cg_once(&A, 2, H, 0.0, q, 5, "guarded", x64);
    cr_assert_eq(g.reason, GKA_REASON_BREAKDOWN);
    cr_assert(isfinite(x64[0]) && isfinite(x64[1]));
    gka_solve_info_t p = cg_once(&A, 2, H, 0.0, q, 5, "plain", x64);
    cr_assert(!isfinite(x64[0]) || !isfinite(x64[1]), "plain CG gave a finite x");
    cr_assert_eq(p.reason, GKA_REASON_NAN, "plain CG reason %s", gka_reason_name(p.reason));
    cr_assert_eq(p.iters, 5, "plain CG stopped at %d", p.iters);
}

/* The round-off test of the curvature guard uses the working precision's
 * unit roundoff. H = diag(1, 0), lambda = 0, q = (1, 2^-60) at mpfr:200: the
 * first step leaves r_1 = (-2^-120, 2^-60) and p_1 = (0, .), so p^T A p = 0
 * exactly with ||r_1|| / ||q|| = 2^-60: far above 2^-200, the system is
 * inconsistent, a breakdown. With fp64's unit roundoff (the old rule)
 * 2^-60 <= 2^-53 read as convergence. */
Test(cg, mpfr_roundoff_test_uses_the_working_precision) {
    gka_arith_t A;
    cr_assert_eq(gka_arith_init_mpfr(&A, 200, GKA_ACCUM_PER_OP), GKA_OK);
    cr_assert_eq(gka_arith_unit_roundoff(&A), ldexp(1.0, -200));
    const double H[4] = {1, 0, 0, 0}, q[2] = {1, ldexp(1.0, -60)};
    double x64[2];
    gka_solve_info_t info = cg_once(&A, 2, H, 0.0, q, 10, "guarded", x64);
    cr_assert_eq(info.reason, GKA_REASON_BREAKDOWN, "reason %s after %d iterations",
                 gka_reason_name(info.reason), info.iters);
    cr_assert_eq(info.iters, 1);
    gka_arith_destroy(&A);
}

/* At mpfr:200 CG on a diagonal SPD problem with 4 distinct eigenvalues is
 * exact after 4 steps up to 200-bit roundoff: the error against the exact
 * solution q_i / (d_i + lambda), evaluated in MPFR at 400 bits, is at the
 * 2^-200 level (far below fp64's 2^-53). */
Test(cg, mpfr200_converges_to_its_roundoff) {
    gka_arith_t A;
    cr_assert_eq(gka_arith_init_mpfr(&A, 200, GKA_ACCUM_PER_OP), GKA_OK);
    enum { D = 4 };
    const double d[D] = {1, 2, 3, 4}, q[D] = {1, 1, 1, 1}, lambda = 0.5;
    double H[D * D] = {0};
    for (int i = 0; i < D; i++)
        H[i * D + i] = d[i];
    gka_ridge_t ridge = {GKA_RIDGE_FIXED, lambda};
    gka_stream_t *st;
    gka_solver_t *sv;
    gka_solver_opts_t o = gka_solver_opts_default();
    o.iters = D;
    cr_assert_eq(gka_stream_create(&st, &A, D, &ridge, 0), GKA_OK);
    cr_assert_eq(gka_solver_create(&sv, "cg", &o, &A, D), GKA_OK);
    cr_assert_eq(gka_stream_set_H(st, H), GKA_OK);
    cr_assert_eq(gka_stream_set_query(st, q), GKA_OK);
    void *x = A.alloc(&A, D);
    gka_solve_info_t info;
    cr_assert_eq(gka_solver_solve(sv, st, x, &info), GKA_OK);
    mpfr_t e, xs, t, num, den;
    mpfr_inits2(400, e, xs, t, num, den, (mpfr_ptr)0);
    mpfr_set_zero(num, 1);
    mpfr_set_zero(den, 1);
    for (int i = 0; i < D; i++) {
        mpfr_set_d(xs, d[i] + lambda, MPFR_RNDN);
        mpfr_d_div(xs, q[i], xs, MPFR_RNDN); /* exact solution at 400 bits */
        mpfr_sub(e, (mpfr_srcptr)GKA_ELEM(&A, x, i), xs, MPFR_RNDN);
        mpfr_sqr(t, e, MPFR_RNDN);
        mpfr_add(num, num, t, MPFR_RNDN);
        mpfr_sqr(t, xs, MPFR_RNDN);
        mpfr_add(den, den, t, MPFR_RNDN);
    }
    mpfr_div(t, num, den, MPFR_RNDN);
    mpfr_sqrt(t, t, MPFR_RNDN);
    const double err = mpfr_get_d(t, MPFR_RNDN);
    cr_assert(err <= 64.0 * ldexp(1.0, -200), "error %.3e after %d iterations (%s)", err,
              info.iters, gka_reason_name(info.reason));
    cr_assert(err < 1e-50);
    mpfr_clears(e, xs, t, num, den, (mpfr_ptr)0);
    A.free(&A, x, D);
    gka_solver_destroy(sv);
    gka_stream_destroy(st);
    gka_arith_destroy(&A);
}
