/* MPFR Cholesky reference: at 256 bits it must give, bit for bit, the
 * correctly rounded exact solution (FLINT), also for ill-conditioned and
 * rank-deficient H; at 53 bits its error must look like fp64's. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "gka_reference.h"
#include "unit/reference_cases.h"

/* Number of entries where a and b differ bitwise. */
static int count_mismatch(int D, const double *a, const double *b) {
    int n = 0;
    for (int i = 0; i < D; i++)
        n += memcmp(&a[i], &b[i], sizeof a[i]) != 0;
    return n;
}

Test(reference_mpfr, equals_exact_rounding_on_random_spd) {
    ref_rng_t r = {2024};
    double H[32 * 32], q[32], xm[32], xe[32];
    for (int D = 4; D <= 32; D *= 2)
        for (int rep = 0; rep < 3; rep++) {
            ref_random_spd(&r, D, H);
            ref_random_vector(&r, D, q);
            cr_assert_eq(gka_ref_solve_mpfr(D, H, 0.25, 0, q, GKA_REF_DEFAULT_PREC, xm), GKA_OK,
                         "%s", gka_error_message());
            cr_assert_eq(gka_ref_solve_exact(D, H, 0.25, q, xe), GKA_OK);
            cr_assert_eq(count_mismatch(D, xm, xe), 0, "D=%d rep=%d", D, rep);
        }
}

Test(reference_mpfr, equals_exact_rounding_when_ill_conditioned) {
    /* rank-deficient H with a tiny fixed lambda: kappa ~ 1e8 .. 1e12 */
    ref_rng_t r = {77};
    double H[32 * 32], q[32], xm[32], xe[32], x53[32];
    const double lambdas[3] = {1e-8, 1e-10, 1e-12};
    for (int D = 8; D <= 32; D *= 2)
        for (int li = 0; li < 3; li++) {
            ref_low_rank(&r, D, D / 2, H);
            ref_random_vector(&r, D, q);
            double kappa = 0.0;
            cr_assert_eq(gka_ref_kappa_fp64(D, H, lambdas[li], &kappa), GKA_OK);
            cr_assert_geq(kappa, 1e7);
            cr_assert_eq(gka_ref_solve_mpfr(D, H, lambdas[li], 0, q, 256, xm), GKA_OK);
            cr_assert_eq(gka_ref_solve_exact(D, H, lambdas[li], q, xe), GKA_OK);
            cr_assert_eq(count_mismatch(D, xm, xe), 0, "D=%d lambda=%g", D, lambdas[li]);
            /* at 53 bits the same algorithm is fp64-accurate, not exact */
            cr_assert_eq(gka_ref_solve_mpfr(D, H, lambdas[li], 0, q, 53, x53), GKA_OK);
            double err = 0.0;
            cr_assert_eq(gka_ref_rel_error(D, x53, xe, &err), GKA_OK);
            cr_assert_gt(err, 0.0);
            cr_assert_leq(err, 8.0 * D * DBL_EPSILON * kappa, "err %g kappa %g", err, kappa);
        }
}

Test(reference_mpfr, adaptive_lambda_matches_fp64_lambda) {
    /* adaptive: lambda = a ||H||_F in 256 bits; differs from the fp64-rounded
     * lambda by ~1 ulp, so the solutions agree to ~kappa * eps <= 51 eps. */
    ref_rng_t r = {5};
    double H[16 * 16], q[16], xa[16], xf[16];
    int D = 16;
    ref_low_rank(&r, D, 3, H);
    ref_random_vector(&r, D, q);
    double lambda = 0.0, err = 1.0;
    cr_assert_eq(gka_ref_lambda_fp64(D, H, 0.02, &lambda), GKA_OK);
    cr_assert_eq(gka_ref_solve_mpfr(D, H, 0.02, 1, q, 256, xa), GKA_OK);
    cr_assert_eq(gka_ref_solve_mpfr(D, H, lambda, 0, q, 256, xf), GKA_OK);
    cr_assert_eq(gka_ref_rel_error(D, xf, xa, &err), GKA_OK);
    cr_assert_leq(err, 51.0 * 4 * DBL_EPSILON, "err %g", err);
}

Test(reference_mpfr, one_by_one_is_correctly_rounded) {
    /* D = 1, lambda = 0: x = q / h, which IEEE division rounds correctly too,
     * subnormal results included. */
    ref_rng_t r = {9};
    for (int i = 0; i < 2000; i++) {
        double h = ldexp(1.0 + ref_rng_uniform(&r), (int)(ref_rng_next(&r) % 40) - 20);
        double q = ref_rng_normal(&r);
        if (i % 4 == 0) q = ldexp(q, -1040); /* subnormal quotients */
        double x = 0.0;
        cr_assert_eq(gka_ref_solve_mpfr(1, &h, 0.0, 0, &q, 256, &x), GKA_OK);
        cr_assert_eq(x, q / h, "q=%a h=%a x=%a", q, h, x);
    }
}

Test(reference_mpfr, failure_paths) {
    double H[4] = {1, 0, 0, 1}, q[2] = {1, 1}, x[2] = {7, 7};
    cr_assert_eq(gka_ref_solve_mpfr(2, H, 0.1, 0, q, 52, x), GKA_EINVAL);
    cr_assert_eq(gka_ref_solve_mpfr(2, H, 0.1, 0, q, GKA_REF_MAX_PREC + 1, x), GKA_EINVAL);
    cr_assert_eq(gka_ref_solve_mpfr(0, H, 0.1, 0, q, 256, x), GKA_EINVAL);
    cr_assert_eq(gka_ref_solve_mpfr(2, H, 0.1, 0, q, 256, NULL), GKA_EINVAL);
    double Hn[4] = {1, NAN, NAN, 1};
    cr_assert_eq(gka_ref_solve_mpfr(2, Hn, 0.1, 0, q, 256, x), GKA_ENODATA);
    double qi[2] = {1, -INFINITY};
    cr_assert_eq(gka_ref_solve_mpfr(2, H, 0.1, 0, qi, 256, x), GKA_ENODATA);
    cr_assert_eq(gka_ref_solve_mpfr(2, H, INFINITY, 0, q, 256, x), GKA_ENODATA);
    double Hneg[4] = {1, 2, 2, 1};
    cr_assert_eq(gka_ref_solve_mpfr(2, Hneg, 0.5, 0, q, 256, x), GKA_ENUMERIC);
    cr_assert(strstr(gka_error_message(), "positive definite") != NULL);
    double Hsing[4] = {1, 1, 1, 1}; /* singular PSD, lambda 0: zero pivot */
    cr_assert_eq(gka_ref_solve_mpfr(2, Hsing, 0.0, 0, q, 256, x), GKA_ENUMERIC);
    cr_assert_eq(x[0], 7.0);
}
