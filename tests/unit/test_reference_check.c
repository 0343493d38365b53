/* gka_ref_solve_cholesky64 (reference_check.c), the reference of builds
 * without LAPACK: equal to LAPACK's dposv to a few ulps on well-conditioned
 * problems, refinement keeping it at the fp64 level on an ill-conditioned
 * one (against MPFR at 256 bits), non-PD and bad arguments refused. */
#include <criterion/criterion.h>
#include <math.h>

#include "gka_precision.h"
#include "gka_reference.h"

static double relerr(const double *x, const double *y, int D) {
    double e = 0.0, n = 0.0;
    for (int i = 0; i < D; i++)
        e += (x[i] - y[i]) * (x[i] - y[i]), n += y[i] * y[i];
    return sqrt(e / n);
}

/* H = sum_t k_t k_t^T over T random keys (symmetric entrywise), q random. */
static void problem(int D, int T, uint64_t seed, double *H, double *q) {
    for (int i = 0; i < D * D; i++)
        H[i] = 0.0;
    for (int t = 0; t < T; t++) {
        double k[32];
        for (int i = 0; i < D; i++)
            k[i] = gka_philox_normal(seed, 1, (uint64_t)(t * D + i));
        for (int i = 0; i < D; i++)
            for (int j = 0; j < D; j++)
                H[i * D + j] += k[i] * k[j];
    }
    for (int i = 0; i < D; i++)
        q[i] = gka_philox_normal(seed, 2, (uint64_t)i);
}

Test(reference_check, cholesky64_equals_lapack_and_mpfr) {
    const int D = 24;
    double H[24 * 24], q[24], x[24], xl[24], xm[24];
    problem(D, 40, 5, H, q);
    cr_assert_eq(gka_ref_solve_cholesky64(D, H, 0.5, q, x), GKA_OK, "%s", gka_error_message());
    cr_assert_eq(gka_ref_solve_fp64(D, H, 0.5, q, xl), GKA_OK);
    cr_assert_eq(gka_ref_solve_mpfr(D, H, 0.5, 0, q, 256, xm), GKA_OK);
    cr_assert(relerr(x, xm, D) <= 4e-16, "vs mpfr %.3e", relerr(x, xm, D));
    cr_assert(relerr(xl, xm, D) <= 1e-13, "lapack vs mpfr %.3e", relerr(xl, xm, D));
}

/* Rank 3 with a tiny ridge (kappa ~ 5e9): refinement with a long double
 * residual takes the error from kappa 2^-53 (dposv) to about kappa 2^-64. */
Test(reference_check, cholesky64_refined_on_an_ill_conditioned_problem) {
    const int D = 16;
    double H[16 * 16], q[16], x[16], xl[16], xm[16];
    problem(D, 3, 6, H, q);
    const double lambda = 1e-8;
    cr_assert_eq(gka_ref_solve_cholesky64(D, H, lambda, q, x), GKA_OK, "%s", gka_error_message());
    cr_assert_eq(gka_ref_solve_fp64(D, H, lambda, q, xl), GKA_OK);
    cr_assert_eq(gka_ref_solve_mpfr(D, H, lambda, 0, q, 256, xm), GKA_OK);
    const double e = relerr(x, xm, D), el = relerr(xl, xm, D);
    cr_assert(e <= 2e-10 && e <= 1e-2 * el, "refined %.3e, dposv %.3e", e, el);
}

Test(reference_check, cholesky64_refuses_what_it_cannot_solve) {
    double H[4] = {1.0, 2.0, 2.0, 1.0}, q[2] = {1.0, 1.0}, x[2];
    cr_assert_eq(gka_ref_solve_cholesky64(2, H, 0.0, q, x), GKA_ENUMERIC); /* indefinite */
    double Ha[4] = {1.0, 0.5, 0.25, 1.0};
    cr_assert_eq(gka_ref_solve_cholesky64(2, Ha, 0.1, q, x), GKA_EINVAL); /* not symmetric */
    double Hn[4] = {1.0, 0.0, 0.0, NAN};
    cr_assert_eq(gka_ref_solve_cholesky64(2, Hn, 0.1, q, x), GKA_ENODATA);
    cr_assert_eq(gka_ref_solve_cholesky64(0, H, 0.1, q, x), GKA_EINVAL);
    cr_assert_eq(gka_ref_solve_cholesky64(2, H, -1.0, q, x), GKA_EINVAL);
}
