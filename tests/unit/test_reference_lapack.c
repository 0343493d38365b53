/* fp64 LAPACK references: solve, eigenvalues, kappa, norms, metrics, and
 * their failure paths. The solve is measured against the MPFR 256-bit
 * reference (itself checked against FLINT exact and Arb in the other tests). */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "gka_reference.h"
#include "unit/reference_cases.h"

#define EPS DBL_EPSILON

Test(reference_lapack, solve_forward_error_within_kappa_bound) {
    ref_rng_t r = {101};
    double H[32 * 32], q[32], x[32], xr[32];
    for (int D = 4; D <= 32; D *= 2)
        for (int rep = 0; rep < 4; rep++) {
            ref_random_spd(&r, D, H);
            ref_random_vector(&r, D, q);
            double lambda = rep == 0 ? 1e-6 : 0.25;
            cr_assert_eq(gka_ref_solve_fp64(D, H, lambda, q, x), GKA_OK, "%s", gka_error_message());
            cr_assert_eq(gka_ref_solve_mpfr(D, H, lambda, 0, q, 256, xr), GKA_OK);
            double kappa = 0.0, err = 0.0;
            cr_assert_eq(gka_ref_kappa_fp64(D, H, lambda, &kappa), GKA_OK);
            cr_assert_eq(gka_ref_rel_error(D, x, xr, &err), GKA_OK);
            cr_assert(isfinite(err));
            cr_assert_leq(err, 8.0 * D * EPS * kappa, "D=%d err=%g kappa=%g", D, err, kappa);
        }
}

Test(reference_lapack, solve_is_backward_stable) {
    ref_rng_t r = {7};
    double H[32 * 32], q[32], x[32];
    int D = 32;
    ref_low_rank(&r, D, 8, H); /* rank-deficient H: lambda carries the solve */
    ref_random_vector(&r, D, q);
    cr_assert_eq(gka_ref_solve_fp64(D, H, 1e-3, q, x), GKA_OK);
    double res = 1.0, hf = 0.0;
    cr_assert_eq(gka_ref_rel_residual_fp64(D, H, 1e-3, q, x, &res), GKA_OK);
    cr_assert_eq(gka_ref_frobenius_fp64(D, H, &hf), GKA_OK);
    /* ||r|| <= c D eps ||A|| ||x|| */
    double bound = 4.0 * D * EPS * (hf + 1e-3) * ref_norm2(D, x) / ref_norm2(D, q);
    cr_assert(isfinite(res));
    cr_assert_leq(res, bound, "residual %g > %g", res, bound);
}

Test(reference_lapack, diagonal_problem_exact_eigenvalues_and_kappa) {
    const int D = 5;
    double H[25] = {0}, eig[5], q[5] = {1, 2, 3, 4, 5}, x[5];
    const double d[5] = {4.0, 0.5, 2.0, 0.0, 8.0};
    for (int i = 0; i < D; i++)
        H[i * D + i] = d[i];
    cr_assert_eq(gka_ref_eig_fp64(D, H, eig), GKA_OK);
    const double sorted[5] = {0.0, 0.5, 2.0, 4.0, 8.0};
    for (int i = 0; i < D; i++)
        cr_assert_eq(eig[i], sorted[i]);
    double kappa = 0.0;
    cr_assert_eq(gka_ref_kappa_fp64(D, H, 0.25, &kappa), GKA_OK);
    cr_assert_float_eq(kappa, 8.25 / 0.25, 1e-13);
    cr_assert_eq(gka_ref_solve_fp64(D, H, 0.25, q, x), GKA_OK);
    for (int i = 0; i < D; i++)
        cr_assert_float_eq(x[i], q[i] / (d[i] + 0.25), 1e-15 * fabs(x[i]));
}

Test(reference_lapack, eigenvalues_of_reflected_diagonal) {
    /* S = Q diag(d) Q, Q = I - 2 v v^T / v^T v: eigenvalues d up to rounding. */
    ref_rng_t r = {3};
    enum { D = 16 };
    double v[D], Q[D * D], S[D * D], d[D], eig[D];
    ref_random_vector(&r, D, v);
    double vv = 0.0;
    for (int i = 0; i < D; i++)
        vv += v[i] * v[i];
    for (int i = 0; i < D; i++) {
        d[i] = -3.0 + 0.5 * i; /* indefinite, ascending */
        for (int j = 0; j < D; j++)
            Q[i * D + j] = (i == j) - 2.0 * v[i] * v[j] / vv;
    }
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) {
            double s = 0.0;
            for (int k = 0; k < D; k++)
                s += Q[i * D + k] * d[k] * Q[j * D + k];
            S[i * D + j] = s;
        }
    cr_assert_eq(gka_ref_eig_fp64(D, S, eig), GKA_OK);
    for (int i = 0; i < D; i++)
        cr_assert_float_eq(eig[i], d[i], 64 * D * EPS * 4.5, "eig[%d]=%.17g", i, eig[i]);
    double lo = 0.0, hi = 0.0;
    cr_assert_eq(gka_ref_eig_extremes_fp64(D, S, &lo, &hi), GKA_OK);
    cr_assert_eq(lo, eig[0]);
    cr_assert_eq(hi, eig[D - 1]);
    cr_assert_eq(gka_ref_eig_extremes_fp64(D, S, NULL, &hi), GKA_OK);
}

Test(reference_lapack, eigenvalues_use_symmetric_part) {
    /* An asymmetric P (as Kalman's P_t in low precision) is read as (P+P^T)/2. */
    const double S[4] = {2.0, 1.5, 0.5, 3.0}; /* symmetric part [[2,1],[1,3]] */
    double eig[2];
    cr_assert_eq(gka_ref_eig_fp64(2, S, eig), GKA_OK);
    cr_assert_float_eq(eig[0], 2.5 - sqrt(1.25), 4 * EPS);
    cr_assert_float_eq(eig[1], 2.5 + sqrt(1.25), 4 * EPS);
}

Test(reference_lapack, adaptive_lambda_bounds_kappa) {
    /* MATH.md section 1: kappa(H + a ||H||_F I) <= (1 + a)/a, whatever the keys. */
    ref_rng_t r = {11};
    double H[32 * 32];
    const double a = 0.02;
    for (int rep = 0; rep < 6; rep++) {
        int D = 8 + 4 * rep;
        ref_low_rank(&r, D, 1 + rep, H); /* strongly correlated: worst case */
        double lambda = 0.0, kappa = 0.0, hf = 0.0;
        cr_assert_eq(gka_ref_lambda_fp64(D, H, a, &lambda), GKA_OK);
        cr_assert_eq(gka_ref_frobenius_fp64(D, H, &hf), GKA_OK);
        cr_assert_float_eq(lambda, a * hf, 0.0);
        cr_assert_eq(gka_ref_kappa_fp64(D, H, lambda, &kappa), GKA_OK);
        cr_assert_leq(kappa, (1.0 + a) / a * (1.0 + 1e-12), "kappa %g", kappa);
        if (rep == 0) /* rank 1: lambda_max(H) = ||H||_F, the bound is attained */
            cr_assert_float_eq(kappa, (1.0 + a) / a, 1e-10);
    }
}

Test(reference_lapack, frobenius_scaled_no_overflow) {
    double H[4] = {1e300, 1e300, 1e300, 1e300}, f = 0.0;
    cr_assert_eq(gka_ref_frobenius_fp64(2, H, &f), GKA_OK);
    cr_assert_float_eq(f, 2e300, 1e285);
    double lambda = 0.0;
    cr_assert_eq(gka_ref_lambda_fp64(2, H, 1e10, &lambda), GKA_ERANGE);
}

Test(reference_lapack, metrics) {
    double x[3] = {1.0, 2.0, 2.0}, y[3] = {1.0, 2.0, 2.0 + 3e-8}, e = -1.0;
    cr_assert_eq(gka_ref_rel_error(3, y, x, &e), GKA_OK);
    cr_assert_float_eq(e, 1e-8, 1e-15);
    double zero[3] = {0, 0, 0};
    cr_assert_eq(gka_ref_rel_error(3, x, zero, &e), GKA_OK); /* absolute */
    cr_assert_float_eq(e, 3.0, 1e-15);
    y[1] = NAN;
    cr_assert_eq(gka_ref_rel_error(3, y, x, &e), GKA_ENODATA); /* NaN never passes */
    double I[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, res = -1.0;
    cr_assert_eq(gka_ref_rel_residual_fp64(3, I, 1.0, x, x, &res), GKA_OK);
    cr_assert_float_eq(res, 1.0, 1e-15); /* (I + I) x - x = x */
}

Test(reference_lapack, failure_paths) {
    double H[4] = {1, 0, 0, 1}, q[2] = {1, 1}, x[2] = {7, 7}, k = 0.0, e[2];
    cr_assert_eq(gka_ref_solve_fp64(0, H, 0.1, q, x), GKA_EINVAL);
    cr_assert_eq(gka_ref_solve_fp64(-3, H, 0.1, q, x), GKA_EINVAL);
    cr_assert_eq(gka_ref_solve_fp64(2, NULL, 0.1, q, x), GKA_EINVAL);
    cr_assert_eq(gka_ref_solve_fp64(2, H, 0.1, q, NULL), GKA_EINVAL);
    cr_assert_eq(gka_ref_solve_fp64(2, H, -0.1, q, x), GKA_EINVAL);
    cr_assert_eq(gka_ref_solve_fp64(2, H, NAN, q, x), GKA_ENODATA);
    double Hn[4] = {1, 0, 0, NAN};
    cr_assert_eq(gka_ref_solve_fp64(2, Hn, 0.1, q, x), GKA_ENODATA);
    cr_assert(strstr(gka_error_message(), "H[3]") != NULL, "%s", gka_error_message());
    double qi[2] = {INFINITY, 0};
    cr_assert_eq(gka_ref_solve_fp64(2, H, 0.1, qi, x), GKA_ENODATA);
    double Ha[4] = {1, 0.5, 0.25, 1};
    cr_assert_eq(gka_ref_solve_fp64(2, Ha, 0.1, q, x), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "symmetric") != NULL);
    double Hneg[4] = {1, 2, 2, 1}; /* eigenvalues 3 and -1 */
    cr_assert_eq(gka_ref_solve_fp64(2, Hneg, 0.5, q, x), GKA_ENUMERIC);
    cr_assert_eq(gka_ref_kappa_fp64(2, Hneg, 0.5, &k), GKA_ENUMERIC);
    cr_assert_eq(x[0], 7.0);                            /* outputs untouched on failure */
    cr_assert_eq(gka_ref_eig_fp64(2, Hneg, e), GKA_OK); /* indefinite is fine here */
    cr_assert_float_eq(e[0], -1.0, 4 * EPS);
    cr_assert_eq(gka_ref_eig_fp64(2, Hn, e), GKA_ENODATA);
    cr_assert_eq(gka_ref_eig_fp64(0, H, e), GKA_EINVAL);
    cr_assert_eq(gka_ref_lambda_fp64(2, H, NAN, &k), GKA_ENODATA);
    cr_assert_eq(gka_ref_lambda_fp64(2, H, -1.0, &k), GKA_EINVAL);
}
