/* FLINT exact rational reference: exact answers where they are known,
 * correct rounding (subnormals too), exact positive-definiteness checks that
 * fp64 cannot make, the exact-in-ball test, and the exact gated stream. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "gka_reference.h"
#include "unit/reference_cases.h"

Test(reference_flint, recovers_dyadic_solution_exactly) {
    /* A integer SPD (diagonally dominant), x0 dyadic, q = A x0 exactly in
     * fp64 (small integers): the exact solution is x0, bit for bit. */
    ref_rng_t r = {31};
    enum { D = 12 };
    double H[D * D], x0[D], q[D], x[D];
    for (int i = 0; i < D; i++)
        for (int j = 0; j <= i; j++) {
            double v = (double)((int)(ref_rng_next(&r) % 7) - 3);
            H[i * D + j] = H[j * D + i] = v;
        }
    for (int i = 0; i < D; i++) {
        H[i * D + i] = 3.0 * D;
        x0[i] = ldexp((double)((int)(ref_rng_next(&r) % 1000) - 500), -7);
    }
    for (int i = 0; i < D; i++) {
        double s = 0.0;
        for (int j = 0; j < D; j++)
            s += (H[i * D + j] + (i == j ? 0.5 : 0.0)) * x0[j]; /* exact: few bits */
        q[i] = s;
    }
    cr_assert_eq(gka_ref_solve_exact(D, H, 0.5, q, x), GKA_OK, "%s", gka_error_message());
    for (int i = 0; i < D; i++)
        cr_assert_eq(x[i], x0[i], "x[%d] = %a, want %a", i, x[i], x0[i]);
    double rad[D];
    memset(rad, 0, sizeof rad);
    int inside = 0;
    cr_assert_eq(gka_ref_exact_in_ball(D, H, 0.5, q, x0, rad, &inside), GKA_OK);
    cr_assert_eq(inside, 1); /* a zero-radius ball holds an exact dyadic x* */
    x0[3] = nextafter(x0[3], 1e9);
    cr_assert_eq(gka_ref_exact_in_ball(D, H, 0.5, q, x0, rad, &inside), GKA_OK);
    cr_assert_eq(inside, 0);
}

Test(reference_flint, one_by_one_correct_rounding_with_subnormals) {
    ref_rng_t r = {99};
    for (int i = 0; i < 3000; i++) {
        double h = ldexp(1.0 + ref_rng_uniform(&r), (int)(ref_rng_next(&r) % 60) - 30);
        double q = ref_rng_normal(&r);
        if (i % 3 == 0) q = ldexp(q, -1030 - (int)(ref_rng_next(&r) % 40)); /* subnormal x */
        double x = 0.0;
        cr_assert_eq(gka_ref_solve_exact(1, &h, 0.0, &q, &x), GKA_OK);
        cr_assert_eq(x, q / h, "q=%a h=%a x=%a want %a", q, h, x, q / h);
    }
    /* ties to even: 3 * 2^-1075 / 2 ... exact ties do occur in the subnormal range */
    double h = 2.0, q = 0x3p-1074, x = 0.0; /* x* = 1.5 * 2^-1074 -> 2^-1073 (even) */
    cr_assert_eq(gka_ref_solve_exact(1, &h, 0.0, &q, &x), GKA_OK);
    cr_assert_eq(x, 0x1p-1073);
    q = 0x1p-1074; /* x* = 2^-1075: tie between 0 and 2^-1074 -> 0 (even) */
    cr_assert_eq(gka_ref_solve_exact(1, &h, 0.0, &q, &x), GKA_OK);
    cr_assert_eq(x, 0.0);
}

Test(reference_flint, one_third_is_not_a_double) {
    double h = 3.0, q = 1.0, x = 0.0, rad = 0.0;
    int inside = 1;
    cr_assert_eq(gka_ref_solve_exact(1, &h, 0.0, &q, &x), GKA_OK);
    cr_assert_eq(x, 1.0 / 3.0);
    cr_assert_eq(gka_ref_exact_in_ball(1, &h, 0.0, &q, &x, &rad, &inside), GKA_OK);
    cr_assert_eq(inside, 0);
    rad = 0.5 * (nextafter(x, 1.0) - x); /* |1/3 - x| <= half an ulp */
    cr_assert_eq(gka_ref_exact_in_ball(1, &h, 0.0, &q, &x, &rad, &inside), GKA_OK);
    cr_assert_eq(inside, 1);
}

Test(reference_flint, exact_positive_definiteness) {
    double q[2] = {1.0, 1.0}, x[2] = {7, 7};
    double Hsing[4] = {1, 1, 1, 1}; /* PSD singular; any lambda > 0 fixes it */
    cr_assert_eq(gka_ref_solve_exact(2, Hsing, 0.0, q, x), GKA_ENUMERIC);
    cr_assert(strstr(gka_error_message(), "order 2") != NULL, "%s", gka_error_message());
    cr_assert_eq(gka_ref_solve_exact(2, Hsing, 0x1p-1074, q, x), GKA_OK);
    cr_assert_eq(x[0], x[1]);
    cr_assert(isfinite(x[0]) && x[0] > 0.0);
    /* Nearly singular, det = 2^-51 - 2^-104 > 0, and its mirror with
     * det = -2^-51 - 2^-104 < 0: decided exactly. */
    double Hnear[4] = {1.0, 1.0 - 0x1p-52, 1.0 - 0x1p-52, 1.0};
    cr_assert_eq(gka_ref_solve_exact(2, Hnear, 0.0, q, x), GKA_OK, "%s", gka_error_message());
    double Hneg[4] = {1.0, 1.0 + 0x1p-52, 1.0 + 0x1p-52, 1.0}; /* det < 0 */
    cr_assert_eq(gka_ref_solve_exact(2, Hneg, 0.0, q, x), GKA_ENUMERIC);
    double Hfirst[4] = {-1.0, 0.0, 0.0, 1.0};
    cr_assert_eq(gka_ref_solve_exact(2, Hfirst, 0.5, q, x), GKA_ENUMERIC);
    cr_assert(strstr(gka_error_message(), "order 1") != NULL);
}

Test(reference_flint, stream_with_integer_keys_is_exact_in_fp64) {
    /* Small integer keys, gamma = 1/2, beta = 1: every fp64 operation of the
     * recursion is exact, so the rounded exact H must equal it bit for bit. */
    ref_rng_t r = {8};
    enum { D = 6, T = 20 };
    double K[T * D], gamma[T], beta[T], H64[D * D], Hx[D * D];
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < D; i++)
            K[t * D + i] = (double)((int)(ref_rng_next(&r) % 9) - 4);
        gamma[t] = 0.5;
        beta[t] = 1.0;
    }
    ref_stream_H_fp64(D, T, K, gamma, beta, H64);
    cr_assert_eq(gka_ref_stream_H_exact(D, T, K, gamma, beta, Hx), GKA_OK);
    cr_assert_eq(memcmp(H64, Hx, sizeof Hx), 0);
    cr_assert_eq(gka_ref_stream_H_exact(D, T, K, NULL, NULL, Hx), GKA_OK); /* no gates */
    double ones[T], H1[D * D];
    for (int t = 0; t < T; t++)
        ones[t] = 1.0;
    ref_stream_H_fp64(D, T, K, ones, ones, H1);
    cr_assert_eq(memcmp(H1, Hx, sizeof Hx), 0);
    double q[D], xs[D], xh[D];
    ref_random_vector(&r, D, q);
    cr_assert_eq(gka_ref_stream_solve_exact(D, T, K, gamma, beta, 0.25, q, xs), GKA_OK);
    cr_assert_eq(gka_ref_solve_exact(D, H64, 0.25, q, xh), GKA_OK);
    cr_assert_eq(memcmp(xs, xh, sizeof xs), 0);
}

Test(reference_flint, gated_stream_close_to_fp64_recursion) {
    ref_rng_t r = {12};
    enum { D = 8, T = 40 };
    double K[T * D], gamma[T], beta[T], H64[D * D], Hx[D * D];
    ref_gated_stream(&r, D, T, K, gamma, beta);
    ref_stream_H_fp64(D, T, K, gamma, beta, H64);
    cr_assert_eq(gka_ref_stream_H_exact(D, T, K, gamma, beta, Hx), GKA_OK);
    double hf = 0.0, diff = 0.0;
    cr_assert_eq(gka_ref_frobenius_fp64(D, Hx, &hf), GKA_OK);
    for (int i = 0; i < D * D; i++)
        diff = fmax(diff, fabs(H64[i] - Hx[i]));
    cr_assert(diff > 0.0, "fp64 recursion should round somewhere");
    cr_assert_leq(diff, 4.0 * T * DBL_EPSILON * hf, "diff %g", diff);
}

Test(reference_flint, failure_paths) {
    double H[4] = {1, 0, 0, 1}, q[2] = {1, 1}, x[2], mid[2] = {0, 0}, rad[2] = {1, -1};
    int inside = 0;
    cr_assert_eq(gka_ref_solve_exact(0, H, 0.1, q, x), GKA_EINVAL);
    cr_assert_eq(gka_ref_solve_exact(257, H, 0.1, q, x), GKA_EINVAL);
    cr_assert_eq(gka_ref_solve_exact(2, H, 0.1, q, NULL), GKA_EINVAL);
    cr_assert_eq(gka_ref_solve_exact(2, H, -1.0, q, x), GKA_EINVAL);
    double Hn[4] = {1, 0, 0, NAN};
    cr_assert_eq(gka_ref_solve_exact(2, Hn, 0.1, q, x), GKA_ENODATA);
    double Ha[4] = {1, 0, 1e-300, 1};
    cr_assert_eq(gka_ref_solve_exact(2, Ha, 0.1, q, x), GKA_EINVAL);
    cr_assert_eq(gka_ref_exact_in_ball(2, H, 0.1, q, mid, rad, &inside), GKA_EINVAL);
    rad[1] = NAN;
    cr_assert_eq(gka_ref_exact_in_ball(2, H, 0.1, q, mid, rad, &inside), GKA_ENODATA);
    double K[4] = {1, 2, 3, INFINITY}, g[2] = {0.5, -0.5}, Hout[4];
    cr_assert_eq(gka_ref_stream_H_exact(2, 2, K, NULL, NULL, Hout), GKA_ENODATA);
    K[3] = 4.0;
    cr_assert_eq(gka_ref_stream_H_exact(2, 2, K, g, NULL, Hout), GKA_EINVAL);
    K[2] = 2.0; /* k_2 = 2 k_1: H has rank 1, singular with lambda = 0 */
    cr_assert_eq(gka_ref_stream_H_exact(2, 0, K, NULL, NULL, Hout), GKA_EINVAL);
    cr_assert_eq(gka_ref_stream_solve_exact(2, 2, K, NULL, NULL, 0.0, q, x), GKA_ENUMERIC);
}
