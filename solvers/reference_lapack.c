/* fp64 references with LAPACKE: Cholesky solve (dposv), symmetric eigenvalues
 * (dsyev), condition number of H + lambda I, ||H||_F (dlange), residual and
 * forward error; plus the argument checks shared by all reference_*.c. */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gka_reference.h"
#include "reference_internal.h"

/* ------------------------------------------------------------- helpers --- */

/* Copy of H with lambda added to the diagonal (rounded in fp64). */
static double *shifted_copy(int D, const double *H, double lambda) {
    size_t n = (size_t)D;
    double *A = malloc(n * n * sizeof *A);
    if (!A) return NULL;
    memcpy(A, H, n * n * sizeof *A);
    for (size_t i = 0; i < n; i++)
        A[i * n + i] += lambda;
    return A;
}

/* Symmetric part (S + S^T)/2 in fp64; exact copy when S is symmetric. */
static double *symmetric_part(int D, const double *S) {
    size_t n = (size_t)D;
    double *A = malloc(n * n * sizeof *A);
    if (!A) return NULL;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            A[i * n + j] = 0.5 * S[i * n + j] + 0.5 * S[j * n + i];
    return A;
}

/* dsyev in place on A (row-major); jobz 'N' (values) or 'V' (vectors). */
static gka_status_t syev(const char *fn, char jobz, int D, double *A, double *w) {
    lapack_int info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, jobz, 'L', D, A, D, w);
    if (info < 0) return gka_error(GKA_EINVAL, "%s: dsyev rejected argument %d", fn, (int)-info);
    if (info > 0)
        return gka_error(GKA_ENUMERIC,
                         "%s: dsyev did not converge (%d "
                         "off-diagonal elements)",
                         fn, (int)info);
    return GKA_OK;
}

gka_status_t gka_ref_eigvecs_fp64(int D, const double *A, double *w, double *V) {
    size_t n = (size_t)D;
    memcpy(V, A, n * n * sizeof *V);
    return syev("gka_ref_eigvecs_fp64", 'V', D, V, w);
}

/* --------------------------------------------------------------- solve --- */

gka_status_t gka_ref_solve_fp64(int D, const double *H, double lambda, const double *q, double *x) {
    static const char fn[] = "gka_ref_solve_fp64";
    gka_status_t st = gka_ref_check_problem(fn, D, H, lambda, q);
    if (st != GKA_OK) return st;
    if (!x) return gka_error(GKA_EINVAL, "%s: x is NULL", fn);
    double *A = shifted_copy(D, H, lambda);
    double *b = malloc((size_t)D * sizeof *b);
    if (!A || !b) {
        free(A);
        free(b);
        return gka_error(GKA_ENOMEM, "%s: out of memory for D = %d", fn, D);
    }
    memcpy(b, q, (size_t)D * sizeof *b);
    lapack_int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'L', D, 1, A, D, b, 1);
    if (info < 0)
        st = gka_error(GKA_EINVAL, "%s: dposv rejected argument %d", fn, (int)-info);
    else if (info > 0)
        st = gka_error(GKA_ENUMERIC,
                       "%s: H + lambda I (lambda = %g) is not positive "
                       "definite in fp64 (leading minor %d)",
                       fn, lambda, (int)info);
    for (int i = 0; st == GKA_OK && i < D; i++)
        if (!isfinite(b[i])) /* e.g. H_ii + lambda overflowed */
            st = gka_error(GKA_ERANGE, "%s: x[%d] = %g is not finite", fn, i, b[i]);
    if (st == GKA_OK) memcpy(x, b, (size_t)D * sizeof *x);
    free(A);
    free(b);
    return st;
}

/* --------------------------------------------------------- eigenvalues --- */

gka_status_t gka_ref_eig_fp64(int D, const double *S, double *eig) {
    static const char fn[] = "gka_ref_eig_fp64";
    gka_status_t st = gka_ref_check_dim(fn, D);
    if (st == GKA_OK) st = gka_ref_check_matrix(fn, "S", D, S, 0);
    if (st != GKA_OK) return st;
    if (!eig) return gka_error(GKA_EINVAL, "%s: eig is NULL", fn);
    double *A = symmetric_part(D, S);
    double *w = malloc((size_t)D * sizeof *w);
    if (!A || !w) {
        free(A);
        free(w);
        return gka_error(GKA_ENOMEM, "%s: out of memory for D = %d", fn, D);
    }
    st = syev(fn, 'N', D, A, w);
    if (st == GKA_OK) memcpy(eig, w, (size_t)D * sizeof *eig);
    free(A);
    free(w);
    return st;
}

gka_status_t gka_ref_eig_extremes_fp64(int D, const double *S, double *eig_min, double *eig_max) {
    if (D <= 0 || D > GKA_REF_MAX_D) return gka_ref_check_dim("gka_ref_eig_extremes_fp64", D);
    double *w = malloc((size_t)D * sizeof *w);
    if (!w) return gka_error(GKA_ENOMEM, "gka_ref_eig_extremes_fp64: out of memory");
    gka_status_t st = gka_ref_eig_fp64(D, S, w);
    if (st == GKA_OK) {
        if (eig_min) *eig_min = w[0];
        if (eig_max) *eig_max = w[D - 1];
    }
    free(w);
    return st;
}

gka_status_t gka_ref_kappa_fp64(int D, const double *H, double lambda, double *kappa) {
    static const char fn[] = "gka_ref_kappa_fp64";
    gka_status_t st = gka_ref_check_problem(fn, D, H, lambda, NULL);
    if (st != GKA_OK) return st;
    if (!kappa) return gka_error(GKA_EINVAL, "%s: kappa is NULL", fn);
    double *A = shifted_copy(D, H, lambda);
    double *w = malloc((size_t)D * sizeof *w);
    if (!A || !w) {
        free(A);
        free(w);
        return gka_error(GKA_ENOMEM, "%s: out of memory for D = %d", fn, D);
    }
    st = syev(fn, 'N', D, A, w);
    if (st == GKA_OK && !(w[0] > 0.0))
        st = gka_error(GKA_ENUMERIC,
                       "%s: H + lambda I is not positive definite in "
                       "fp64: smallest eigenvalue %g (lambda = %g)",
                       fn, w[0], lambda);
    if (st == GKA_OK) {
        double k = w[D - 1] / w[0];
        if (!isfinite(k))
            st = gka_error(GKA_ERANGE, "%s: kappa = %g / %g overflows", fn, w[D - 1], w[0]);
        else
            *kappa = k;
    }
    free(A);
    free(w);
    return st;
}

/* --------------------------------------------------- norms and metrics --- */

gka_status_t gka_ref_frobenius_fp64(int D, const double *H, double *norm) {
    static const char fn[] = "gka_ref_frobenius_fp64";
    gka_status_t st = gka_ref_check_dim(fn, D);
    if (st == GKA_OK) st = gka_ref_check_matrix(fn, "H", D, H, 0);
    if (st != GKA_OK) return st;
    if (!norm) return gka_error(GKA_EINVAL, "%s: norm is NULL", fn);
    double f = LAPACKE_dlange(LAPACK_ROW_MAJOR, 'F', D, D, H, D);
    if (!isfinite(f)) return gka_error(GKA_ERANGE, "%s: ||H||_F overflows", fn);
    *norm = f;
    return GKA_OK;
}

gka_status_t gka_ref_lambda_fp64(int D, const double *H, double a, double *lambda) {
    static const char fn[] = "gka_ref_lambda_fp64";
    gka_status_t st = gka_ref_check_nonneg(fn, "a", a);
    double f = 0.0;
    if (st == GKA_OK) st = gka_ref_frobenius_fp64(D, H, &f);
    if (st != GKA_OK) return st;
    if (!lambda) return gka_error(GKA_EINVAL, "%s: lambda is NULL", fn);
    double l = a * f;
    if (!isfinite(l)) return gka_error(GKA_ERANGE, "%s: a * ||H||_F = %g * %g overflows", fn, a, f);
    *lambda = l;
    return GKA_OK;
}
