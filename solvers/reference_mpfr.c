/* MPFR reference: Cholesky solve of (H + lambda I) x = q in prec-bit binary
 * floating point (round to nearest), from the exact double inputs. With
 * prec = 256 its error (~kappa * D * 2^-256) is far below one fp64 ulp for
 * any kappa the experiments reach, so rounded to double it is, in practice,
 * the correctly rounded x*; the Arb and FLINT references make that claim
 * checkable. */
#include <math.h>
#include <mpfr.h>
#include <stdlib.h>

#include "gka_reference.h"
#include "reference_internal.h"

static const char fn[] = "gka_ref_solve_mpfr";

/* An array of n initialised mpfr_t of precision prec (NULL if out of memory). */
static mpfr_t *mpfr_array_new(size_t n, long prec) {
    mpfr_t *a = malloc(n * sizeof *a);
    if (!a) return NULL;
    for (size_t i = 0; i < n; i++)
        mpfr_init2(a[i], (mpfr_prec_t)prec);
    return a;
}

static void mpfr_array_free(mpfr_t *a, size_t n) {
    if (!a) return;
    for (size_t i = 0; i < n; i++)
        mpfr_clear(a[i]);
    free(a);
}

/* lambda = a * sqrt(sum_ij H_ij^2) (adaptive) or the exact double. */
static void ridge_mpfr(mpfr_t lambda, int D, const double *H, double lambda_or_a, int adaptive,
                       long prec) {
    if (!adaptive) {
        mpfr_set_d(lambda, lambda_or_a, MPFR_RNDN);
        return;
    }
    size_t n = (size_t)D;
    mpfr_t sq;
    mpfr_init2(sq, (mpfr_prec_t)prec);
    mpfr_set_zero(lambda, 1);
    for (size_t i = 0; i < n * n; i++) {
        mpfr_set_d(sq, H[i], MPFR_RNDN);
        mpfr_sqr(sq, sq, MPFR_RNDN);
        mpfr_add(lambda, lambda, sq, MPFR_RNDN);
    }
    mpfr_sqrt(lambda, lambda, MPFR_RNDN);
    mpfr_mul_d(lambda, lambda, lambda_or_a, MPFR_RNDN);
    mpfr_clear(sq);
}

/* In-place Cholesky of the lower triangle of A (n x n): A = L L^T.
 * Returns the 1-based index of the first non-positive pivot, or 0. */
static size_t cholesky_mpfr(mpfr_t *A, size_t n, mpfr_t t) {
    for (size_t j = 0; j < n; j++) {
        mpfr_t *Ajj = &A[j * n + j];
        for (size_t k = 0; k < j; k++) {
            mpfr_sqr(t, A[j * n + k], MPFR_RNDN);
            mpfr_sub(*Ajj, *Ajj, t, MPFR_RNDN);
        }
        if (!(mpfr_sgn(*Ajj) > 0) || mpfr_nan_p(*Ajj)) return j + 1;
        mpfr_sqrt(*Ajj, *Ajj, MPFR_RNDN);
        for (size_t i = j + 1; i < n; i++) {
            mpfr_t *Aij = &A[i * n + j];
            for (size_t k = 0; k < j; k++) {
                mpfr_mul(t, A[i * n + k], A[j * n + k], MPFR_RNDN);
                mpfr_sub(*Aij, *Aij, t, MPFR_RNDN);
            }
            mpfr_div(*Aij, *Aij, *Ajj, MPFR_RNDN);
        }
    }
    return 0;
}

/* b <- L^{-T} L^{-1} b with L the lower triangle of A. */
static void cholesky_solve_mpfr(mpfr_t *A, size_t n, mpfr_t *b, mpfr_t t) {
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < i; k++) {
            mpfr_mul(t, A[i * n + k], b[k], MPFR_RNDN);
            mpfr_sub(b[i], b[i], t, MPFR_RNDN);
        }
        mpfr_div(b[i], b[i], A[i * n + i], MPFR_RNDN);
    }
    for (size_t i = n; i-- > 0;) {
        for (size_t k = i + 1; k < n; k++) {
            mpfr_mul(t, A[k * n + i], b[k], MPFR_RNDN);
            mpfr_sub(b[i], b[i], t, MPFR_RNDN);
        }
        mpfr_div(b[i], b[i], A[i * n + i], MPFR_RNDN);
    }
}

gka_status_t gka_ref_solve_mpfr(int D, const double *H, double lambda_or_a, int adaptive,
                                const double *q, long prec, double *x) {
    gka_status_t st = gka_ref_check_problem(fn, D, H, lambda_or_a, q);
    if (st == GKA_OK) st = gka_ref_check_prec(fn, prec);
    if (st != GKA_OK) return st;
    if (!x) return gka_error(GKA_EINVAL, "%s: x is NULL", fn);
    size_t n = (size_t)D;
    mpfr_t *A = mpfr_array_new(n * n, prec);
    mpfr_t *b = mpfr_array_new(n, prec);
    if (!A || !b) {
        mpfr_array_free(A, A ? n * n : 0);
        mpfr_array_free(b, b ? n : 0);
        return gka_error(GKA_ENOMEM, "%s: out of memory for D = %d", fn, D);
    }
    mpfr_t lambda, t;
    mpfr_init2(lambda, (mpfr_prec_t)prec);
    mpfr_init2(t, (mpfr_prec_t)prec);
    ridge_mpfr(lambda, D, H, lambda_or_a, adaptive, prec);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j <= i; j++)
            mpfr_set_d(A[i * n + j], H[i * n + j], MPFR_RNDN); /* exact */
        mpfr_add(A[i * n + i], A[i * n + i], lambda, MPFR_RNDN);
        mpfr_set_d(b[i], q[i], MPFR_RNDN);
    }
    size_t bad = cholesky_mpfr(A, n, t);
    if (bad) {
        st = gka_error(GKA_ENUMERIC,
                       "%s: H + lambda I is not positive definite at "
                       "%ld bits (pivot %zu <= 0)",
                       fn, prec, bad);
    } else {
        cholesky_solve_mpfr(A, n, b, t);
        for (size_t i = 0; i < n && st == GKA_OK; i++)
            if (!isfinite(mpfr_get_d(b[i], MPFR_RNDN)))
                st = gka_error(GKA_ERANGE,
                               "%s: x[%zu] is not representable as a "
                               "finite double",
                               fn, i);
        for (size_t i = 0; i < n && st == GKA_OK; i++)
            x[i] = mpfr_get_d(b[i], MPFR_RNDN);
    }
    mpfr_clear(lambda);
    mpfr_clear(t);
    mpfr_array_free(A, n * n);
    mpfr_array_free(b, n);
    return st;
}
