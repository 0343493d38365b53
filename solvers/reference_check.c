/* The reference layer's parts that need no library: argument checks, the
 * fp64 residual and relative error (long double sums), and an fp64 Cholesky
 * reference with iterative refinement for builds without LAPACK (the
 * GKA_MINIMAL build keeps this file). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gka_reference.h"
#include "reference_internal.h"
#include "solver_internal.h"

/* ------------------------------------------------------------ checks --- */

gka_status_t gka_ref_check_dim(const char *fn, int D) {
    if (D <= 0 || D > GKA_REF_MAX_D)
        return gka_error(GKA_EINVAL, "%s: dimension D = %d out of range [1, %d]", fn, D,
                         GKA_REF_MAX_D);
    return GKA_OK;
}

gka_status_t gka_ref_check_vector(const char *fn, const char *name, size_t n, const double *v) {
    if (!v) return gka_error(GKA_EINVAL, "%s: %s is NULL", fn, name);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return gka_error(GKA_ENODATA, "%s: %s[%zu] = %g is not finite", fn, name, i, v[i]);
    return GKA_OK;
}

gka_status_t gka_ref_check_matrix(const char *fn, const char *name, int D, const double *M,
                                  int need_symmetric) {
    size_t n = (size_t)D;
    gka_status_t st = gka_ref_check_vector(fn, name, n * n, M);
    if (st != GKA_OK || !need_symmetric) return st;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (M[i * n + j] != M[j * n + i])
                return gka_error(GKA_EINVAL,
                                 "%s: %s is not symmetric: %s[%zu][%zu] = %.17g but "
                                 "%s[%zu][%zu] = %.17g",
                                 fn, name, name, i, j, M[i * n + j], name, j, i, M[j * n + i]);
    return GKA_OK;
}

gka_status_t gka_ref_check_nonneg(const char *fn, const char *name, double value) {
    if (!isfinite(value))
        return gka_error(GKA_ENODATA, "%s: %s = %g is not finite", fn, name, value);
    if (value < 0.0) return gka_error(GKA_EINVAL, "%s: %s = %g must be >= 0", fn, name, value);
    return GKA_OK;
}

gka_status_t gka_ref_check_prec(const char *fn, long prec) {
    if (prec < GKA_REF_MIN_PREC || prec > GKA_REF_MAX_PREC)
        return gka_error(GKA_EINVAL, "%s: precision %ld bits out of range [%ld, %ld]", fn, prec,
                         GKA_REF_MIN_PREC, GKA_REF_MAX_PREC);
    return GKA_OK;
}

gka_status_t gka_ref_check_problem(const char *fn, int D, const double *H, double lambda_or_a,
                                   const double *q) {
    gka_status_t st = gka_ref_check_dim(fn, D);
    if (st == GKA_OK) st = gka_ref_check_matrix(fn, "H", D, H, 1);
    if (st == GKA_OK) st = gka_ref_check_nonneg(fn, "lambda", lambda_or_a);
    if (st == GKA_OK && q) st = gka_ref_check_vector(fn, "q", (size_t)D, q);
    return st;
}

/* *out = sqrt(num2) / sqrt(den2) (sqrt(num2) where den2 = 0: the absolute
 * size of a zero reference), or GKA_ERANGE "<fn>: <what> overflows". */
static gka_status_t store_norm_ratio(const char *fn, const char *what, long double num2,
                                     long double den2, double *out) {
    const long double num = sqrtl(num2);
    const double ratio = (double)(den2 > 0.0L ? num / sqrtl(den2) : num);
    if (!isfinite(ratio)) return gka_error(GKA_ERANGE, "%s: %s overflows", fn, what);
    *out = ratio;
    return GKA_OK;
}

gka_status_t gka_ref_rel_residual_fp64(int D, const double *H, double lambda, const double *q,
                                       const double *x, double *rel_residual) {
    static const char fn[] = "gka_ref_rel_residual_fp64";
    gka_status_t st = gka_ref_check_problem(fn, D, H, lambda, q);
    if (st == GKA_OK) st = gka_ref_check_vector(fn, "x", (size_t)D, x);
    if (st != GKA_OK) return st;
    if (!rel_residual) return gka_error(GKA_EINVAL, "%s: rel_residual is NULL", fn);
    size_t n = (size_t)D;
    long double r2 = 0.0L, q2 = 0.0L;
    for (size_t i = 0; i < n; i++) {
        long double ri = (long double)q[i] - (long double)lambda * (long double)x[i];
        for (size_t j = 0; j < n; j++)
            ri -= (long double)H[i * n + j] * (long double)x[j];
        r2 += ri * ri;
        q2 += (long double)q[i] * (long double)q[i];
    }
    return store_norm_ratio(fn, "residual", r2, q2, rel_residual);
}

gka_status_t gka_ref_rel_error(int D, const double *x, const double *x_ref, double *rel_error) {
    static const char fn[] = "gka_ref_rel_error";
    gka_status_t st = gka_ref_check_dim(fn, D);
    if (st == GKA_OK) st = gka_ref_check_vector(fn, "x", (size_t)D, x);
    if (st == GKA_OK) st = gka_ref_check_vector(fn, "x_ref", (size_t)D, x_ref);
    if (st != GKA_OK) return st;
    if (!rel_error) return gka_error(GKA_EINVAL, "%s: rel_error is NULL", fn);
    long double e2 = 0.0L, r2 = 0.0L;
    for (size_t i = 0; i < (size_t)D; i++) {
        long double d = (long double)x[i] - (long double)x_ref[i];
        e2 += d * d;
        r2 += (long double)x_ref[i] * (long double)x_ref[i];
    }
    return store_norm_ratio(fn, "error", e2, r2, rel_error);
}

/* ---------------------------------------------------- fp64 Cholesky --- */

/* The problem (H, lambda, q) as an operator over fp64 elements (doubles). */
typedef struct {
    const double *H;
    int D;
} raw_problem_t;

static gka_status_t raw_matrix(const gka_operator_t *op, gka_arith_t *B, void *H) {
    const raw_problem_t *p = op->ctx;
    B->from_double(B, H, p->H, (size_t)p->D * (size_t)p->D);
    return GKA_OK;
}

/* r = q - (H + lambda I) x, summed in long double (exact enough that the
 * refinement step corrects the fp64 factorisation's error). */
static void residual_ld(int D, const double *H, double lambda, const double *q, const double *x,
                        double *r) {
    const size_t n = (size_t)D;
    for (size_t i = 0; i < n; i++) {
        long double ri = (long double)q[i] - (long double)lambda * (long double)x[i];
        for (size_t j = 0; j < n; j++)
            ri -= (long double)H[i * n + j] * (long double)x[j];
        r[i] = (double)ri;
    }
}

gka_status_t gka_ref_solve_cholesky64(int D, const double *H, double lambda, const double *q,
                                      double *x) {
    static const char fn[] = "gka_ref_solve_cholesky64";
    gka_status_t st = gka_ref_check_problem(fn, D, H, lambda, q);
    if (st == GKA_OK) st = gka_ref_check_matrix(fn, "H", D, H, 1);
    if (st != GKA_OK) return st;
    if (!x) return gka_error(GKA_EINVAL, "%s: x is NULL", fn);
    const size_t n = (size_t)D;
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    gka_solver_t *s = NULL;
    gka_solver_opts_t o = gka_solver_opts_default();
    double *xs = malloc(n * sizeof *xs), *r = malloc(n * sizeof *r), *d = malloc(n * sizeof *d);
    raw_problem_t prob = {H, D};
    gka_operator_t op = {.A = &A,
                         .D = D,
                         .q = q,
                         .lambda = &lambda,
                         .hnorm = &lambda,
                         .matrix = raw_matrix,
                         .ctx = &prob};
    st = xs && r && d ? gka_solver_create(&s, "cholesky", &o, &A, D)
                      : gka_error(GKA_ENOMEM, "%s: out of memory (D = %d)", fn, D);
    gka_solve_info_t info;
    if (!st) st = gka_solver_solve_op(s, &op, xs, &info);
    for (int step = 0; !st && step < 3 && info.reason == GKA_REASON_CONVERGED; step++) {
        residual_ld(D, H, lambda, q, xs, r); /* refinement: x += A^{-1} r */
        op.q = r;
        st = gka_solver_solve_op(s, &op, d, &info);
        for (size_t i = 0; !st && i < n; i++)
            xs[i] += d[i];
    }
    if (!st && info.reason != GKA_REASON_CONVERGED)
        st = gka_error(GKA_ENUMERIC, "%s: H + lambda I is not positive definite in fp64", fn);
    for (size_t i = 0; !st && i < n; i++)
        if (!isfinite(xs[i])) st = gka_error(GKA_ERANGE, "%s: x overflows", fn);
    if (!st) memcpy(x, xs, n * sizeof *x);
    gka_solver_destroy(s);
    gka_arith_destroy(&A);
    free(xs), free(r), free(d);
    return st;
}
