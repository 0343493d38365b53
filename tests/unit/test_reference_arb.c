/* Arb certified references, and the agreement of all references (issue 3):
 *   - the Arb ball at 256 bits is tiny and holds FLINT's exact x* (checked
 *     exactly in rationals);
 *   - MPFR-256 rounded to double lies in the ball widened by one ulp;
 *   - fp64 LAPACK lies within its forward-error bound 8 D eps kappa of mid;
 *   - LAPACK's kappa lies in the certified [kappa_lo, kappa_hi] up to fp64
 *     eigenvalue error;
 * on random SPD problems (D = 4..32), rank-deficient H with lambda > 0,
 * ill-conditioned H + lambda I (kappa 1e8..1e12 from a tiny fixed lambda), and
 * H from normalised random keys with decay and write gates; plus adaptive
 * lambda = a ||H||_F, the exact gated stream, and the failure paths. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gka_reference.h"
#include "unit/reference_cases.h"

#define EPS DBL_EPSILON
#define PREC GKA_REF_DEFAULT_PREC
#define DMAX 32

/* Spacing of doubles just above |a|. */
static double ulp(double a) {
    return nextafter(fabs(a), INFINITY) - fabs(a);
}

/* |a - m| <= r + ulp(a), i.e. a within the ball widened by one ulp of a. */
static int within_ball_ulp(double a, double m, double r) {
    return fabs(a - m) <= r + ulp(a);
}

/* All cross-checks for one fixed-lambda problem. */
static void check_references_agree(int D, const double *H, double lambda, const double *q,
                                   const char *what) {
    double mid[DMAX], rad[DMAX], xm[DMAX], x64[DMAX];
    cr_assert_eq(gka_ref_solve_arb(D, H, lambda, 0, q, PREC, mid, rad), GKA_OK, "%s: %s", what,
                 gka_error_message());
    double mid_norm = ref_norm2(D, mid);
    cr_assert(isfinite(mid_norm) && mid_norm > 0.0);
    for (int i = 0; i < D; i++) /* certified to half an ulp: mid is x* rounded */
        cr_assert_leq(rad[i], 0.5000001 * ulp(mid[i]), "%s: rad[%d] = %g, mid %a", what, i, rad[i],
                      mid[i]);

    int inside = 0;
    cr_assert_eq(gka_ref_exact_in_ball(D, H, lambda, q, mid, rad, &inside), GKA_OK);
    cr_assert_eq(inside, 1, "%s: exact x* outside the Arb ball", what);

    cr_assert_eq(gka_ref_solve_mpfr(D, H, lambda, 0, q, PREC, xm), GKA_OK);
    for (int i = 0; i < D; i++)
        cr_assert(within_ball_ulp(xm[i], mid[i], rad[i]), "%s: MPFR x[%d]=%a mid=%a", what, i,
                  xm[i], mid[i]);

    double klo = 0.0, khi = 0.0, k64 = 0.0;
    cr_assert_eq(gka_ref_kappa_arb(D, H, lambda, 0, PREC, &klo, &khi), GKA_OK, "%s: %s", what,
                 gka_error_message());
    cr_assert(isfinite(klo) && isfinite(khi) && klo > 0.0 && klo <= khi);
    /* shifts of 2^-40: width ~2^-39 relative (measured 1.82e-12), also for the
     * eigenvalue clusters of rank-deficient H that fp64 cannot order */
    cr_assert_leq(khi - klo, 1e-10 * klo, "%s: kappa in [%.17g, %.17g]", what, klo, khi);
    cr_assert_eq(gka_ref_kappa_fp64(D, H, lambda, &k64), GKA_OK);
    double tol = 4.0 * D * EPS * khi; /* eig_min's absolute error ~ D eps ||A|| */
    cr_assert(k64 >= klo * (1.0 - tol) && k64 <= khi * (1.0 + tol),
              "%s: fp64 kappa %.17g outside [%.17g, %.17g]", what, k64, klo, khi);

    cr_assert_eq(gka_ref_solve_fp64(D, H, lambda, q, x64), GKA_OK);
    double dist = ref_dist2(D, x64, mid) - ref_norm2(D, rad);
    cr_assert_leq(dist, 8.0 * D * EPS * khi * mid_norm, "%s: fp64 error %g, kappa %g", what,
                  dist / mid_norm, khi);
}

Test(reference_arb, random_spd) {
    ref_rng_t r = {1};
    double H[DMAX * DMAX], q[DMAX];
    for (int D = 4; D <= DMAX; D *= 2)
        for (int rep = 0; rep < 3; rep++) {
            ref_random_spd(&r, D, H);
            ref_random_vector(&r, D, q);
            check_references_agree(D, H, rep == 0 ? 0.0 : 0.25, q, "random spd");
        }
}

Test(reference_arb, rank_deficient_with_lambda) {
    ref_rng_t r = {2};
    double H[DMAX * DMAX], q[DMAX];
    for (int D = 4; D <= DMAX; D *= 2) {
        ref_low_rank(&r, D, D / 4 + 1, H);
        ref_random_vector(&r, D, q);
        check_references_agree(D, H, 0.25, q, "rank deficient");
        check_references_agree(D, H, 1e-3, q, "rank deficient small lambda");
    }
}

Test(reference_arb, ill_conditioned) {
    ref_rng_t r = {3};
    double H[DMAX * DMAX], q[DMAX];
    const double lambdas[3] = {1e-8, 1e-10, 1e-12};
    for (int D = 8; D <= DMAX; D *= 2)
        for (int li = 0; li < 3; li++) {
            ref_low_rank(&r, D, D / 2, H);
            ref_random_vector(&r, D, q);
            double klo = 0.0, khi = 0.0;
            cr_assert_eq(gka_ref_kappa_arb(D, H, lambdas[li], 0, PREC, &klo, &khi), GKA_OK);
            cr_assert_geq(klo, 1e7, "kappa %g", klo); /* really ill-conditioned */
            check_references_agree(D, H, lambdas[li], q, "ill-conditioned");
        }
}

Test(reference_arb, gated_normalised_keys) {
    ref_rng_t r = {4};
    enum { T = 48 };
    double K[T * DMAX], gamma[T], beta[T], H[DMAX * DMAX], q[DMAX];
    for (int D = 4; D <= DMAX; D *= 2) {
        ref_gated_stream(&r, D, T, K, gamma, beta);
        ref_stream_H_fp64(D, T, K, gamma, beta, H);
        ref_random_vector(&r, D, q);
        ref_normalise(D, q);
        check_references_agree(D, H, 0.25, q, "gated keys, fixed lambda");
        check_references_agree(D, H, 1e-9, q, "gated keys, tiny lambda");
    }
}

Test(reference_arb, adaptive_lambda) {
    /* lambda = a ||H||_F is irrational: Arb encloses it; MPFR evaluates it in
     * 256 bits; kappa is certified <= (1 + a)/a (MATH.md section 1). */
    ref_rng_t r = {5};
    enum { T = 40 };
    const double a = 0.02;
    double K[T * DMAX], gamma[T], beta[T], H[DMAX * DMAX], q[DMAX];
    double mid[DMAX], rad[DMAX], xm[DMAX], x64[DMAX];
    for (int D = 4; D <= DMAX; D *= 2) {
        ref_gated_stream(&r, D, T, K, gamma, beta);
        ref_stream_H_fp64(D, T, K, gamma, beta, H);
        ref_random_vector(&r, D, q);
        double lo = 0.0, hi = 0.0, l64 = 0.0;
        cr_assert_eq(gka_ref_lambda_arb(D, H, a, PREC, &lo, &hi), GKA_OK);
        cr_assert_eq(gka_ref_lambda_fp64(D, H, a, &l64), GKA_OK);
        cr_assert(lo <= hi && hi - lo <= 2.0 * EPS * hi, "[%a, %a]", lo, hi);
        cr_assert_float_eq(l64, lo, 4.0 * D * EPS * lo); /* fp64 within a few ulps */

        cr_assert_eq(gka_ref_solve_arb(D, H, a, 1, q, PREC, mid, rad), GKA_OK);
        for (int i = 0; i < D; i++)
            cr_assert_leq(rad[i], 0.5000001 * ulp(mid[i]));
        cr_assert_eq(gka_ref_solve_mpfr(D, H, a, 1, q, PREC, xm), GKA_OK);
        for (int i = 0; i < D; i++)
            cr_assert(within_ball_ulp(xm[i], mid[i], rad[i]), "D=%d MPFR x[%d]", D, i);

        double klo = 0.0, khi = 0.0;
        cr_assert_eq(gka_ref_kappa_arb(D, H, a, 1, PREC, &klo, &khi), GKA_OK);
        cr_assert_leq(khi, (1.0 + a) / a, "certified kappa_hi %.17g", khi);
        cr_assert_leq(khi - klo, 1e-10 * klo);

        cr_assert_eq(gka_ref_solve_fp64(D, H, l64, q, x64), GKA_OK);
        cr_assert_leq(ref_dist2(D, x64, mid), 8.0 * D * EPS * khi * ref_norm2(D, mid));
    }
}

Test(reference_arb, exact_gated_stream) {
    /* The ball for the exact stream matrix holds FLINT's exact solution; it
     * differs from the ball for the fp64-accumulated H by ~kappa * T * eps. */
    ref_rng_t r = {6};
    enum { T = 24, D = 8 };
    double K[T * D], gamma[T], beta[T], H[D * D], q[D];
    double mid[D], rad[D], mid64[D], rad64[D], xe[D];
    ref_gated_stream(&r, D, T, K, gamma, beta);
    ref_random_vector(&r, D, q);
    cr_assert_eq(gka_ref_stream_solve_arb(D, T, K, gamma, beta, 0.25, 0, q, PREC, mid, rad), GKA_OK,
                 "%s", gka_error_message());
    cr_assert_eq(gka_ref_stream_solve_exact(D, T, K, gamma, beta, 0.25, q, xe), GKA_OK);
    for (int i = 0; i < D; i++)
        cr_assert(within_ball_ulp(xe[i], mid[i], rad[i]), "x[%d]", i);
    ref_stream_H_fp64(D, T, K, gamma, beta, H);
    cr_assert_eq(gka_ref_solve_arb(D, H, 0.25, 0, q, PREC, mid64, rad64), GKA_OK);
    double d = ref_dist2(D, mid, mid64) / ref_norm2(D, mid);
    double klo = 0.0, khi = 0.0;
    cr_assert_eq(gka_ref_kappa_arb(D, H, 0.25, 0, PREC, &klo, &khi), GKA_OK);
    cr_assert_leq(d, 4.0 * T * EPS * khi, "d %g", d);
    /* adaptive on the exact stream */
    cr_assert_eq(gka_ref_stream_solve_arb(D, T, K, gamma, beta, 0.02, 1, q, PREC, mid, rad),
                 GKA_OK);
    for (int i = 0; i < D; i++)
        cr_assert_leq(rad[i], 0.5000001 * ulp(mid[i]));
}

Test(reference_arb, failure_paths) {
    double H[4] = {1, 0, 0, 1}, q[2] = {1, 1}, mid[2] = {7, 7}, rad[2] = {7, 7};
    double lo = 0.0, hi = 0.0;
    cr_assert_eq(gka_ref_solve_arb(0, H, 0.1, 0, q, PREC, mid, rad), GKA_EINVAL);
    cr_assert_eq(gka_ref_solve_arb(2, H, 0.1, 0, q, 10, mid, rad), GKA_EINVAL);
    cr_assert_eq(gka_ref_solve_arb(2, H, 0.1, 0, q, PREC, NULL, rad), GKA_EINVAL);
    cr_assert_eq(gka_ref_solve_arb(2, H, NAN, 0, q, PREC, mid, rad), GKA_ENODATA);
    double Hn[4] = {1, 0, 0, -INFINITY};
    cr_assert_eq(gka_ref_solve_arb(2, Hn, 0.1, 0, q, PREC, mid, rad), GKA_ENODATA);
    cr_assert_eq(gka_ref_kappa_arb(2, Hn, 0.1, 0, PREC, &lo, &hi), GKA_ENODATA);
    double Hneg[4] = {1, 2, 2, 1};
    cr_assert_eq(gka_ref_solve_arb(2, Hneg, 0.5, 0, q, PREC, mid, rad), GKA_ENUMERIC);
    cr_assert(strstr(gka_error_message(), "positive definite") != NULL);
    cr_assert_eq(gka_ref_kappa_arb(2, Hneg, 0.5, 0, PREC, &lo, &hi), GKA_ENUMERIC);
    double Hsing[4] = {1, 1, 1, 1};
    cr_assert_eq(gka_ref_solve_arb(2, Hsing, 0.0, 0, q, PREC, mid, rad), GKA_ENUMERIC);
    cr_assert_eq(gka_ref_kappa_arb(2, Hsing, 0.0, 0, PREC, &lo, &hi), GKA_ENUMERIC);
    cr_assert_eq(mid[0], 7.0);
    cr_assert_eq(gka_ref_lambda_arb(2, H, -0.1, PREC, &lo, &hi), GKA_EINVAL);
    double K[4] = {1, NAN, 0, 1};
    cr_assert_eq(gka_ref_stream_solve_arb(2, 2, K, NULL, NULL, 0.1, 0, q, PREC, mid, rad),
                 GKA_ENODATA);
}
