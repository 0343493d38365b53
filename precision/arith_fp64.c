/* Native IEEE double arithmetic behind the operation table. Compiled with
 * -ffp-contract=off, so every a*b+c below is two roundings, and sums run in
 * index order: the fp64 baseline is reproducible across compilers. */
#include "arith_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *gka_double_storage_alloc(gka_arith_t *A, size_t n) {
    (void)A;
    return calloc(n ? n : 1, sizeof(double));
}

void gka_double_storage_free(gka_arith_t *A, void *x, size_t n) {
    (void)A;
    (void)n;
    free(x);
}

void gka_double_storage_to_double(gka_arith_t *A, double *dst, const void *x, size_t n) {
    (void)A;
    memcpy(dst, x, n * sizeof(double));
}

void gka_double_storage_copy(gka_arith_t *A, void *dst, const void *src, size_t n) {
    (void)A;
    memmove(dst, src, n * sizeof(double));
}

double gka_double_storage_get_d(gka_arith_t *A, const void *a) {
    (void)A;
    return *(const double *)a;
}

#define D(p) (*(double *)(p))
#define CD(p) (*(const double *)(p))

static void fp64_from_double(gka_arith_t *A, void *x, const double *src, size_t n) {
    gka_double_storage_copy(A, x, src, n);
}
static void fp64_set_d(gka_arith_t *A, void *r, double v) {
    (void)A;
    D(r) = v;
}
static void fp64_add(gka_arith_t *A, void *r, const void *a, const void *b) {
    (void)A;
    D(r) = CD(a) + CD(b);
}
static void fp64_sub(gka_arith_t *A, void *r, const void *a, const void *b) {
    (void)A;
    D(r) = CD(a) - CD(b);
}
static void fp64_mul(gka_arith_t *A, void *r, const void *a, const void *b) {
    (void)A;
    D(r) = CD(a) * CD(b);
}
static void fp64_div(gka_arith_t *A, void *r, const void *a, const void *b) {
    (void)A;
    D(r) = CD(a) / CD(b);
}
static void fp64_fma(gka_arith_t *A, void *r, const void *a, const void *b, const void *c) {
    (void)A;
    D(r) = fma(CD(a), CD(b), CD(c)); /* the one explicit fused operation */
}
static void fp64_sqrt(gka_arith_t *A, void *r, const void *a) {
    (void)A;
    D(r) = sqrt(CD(a));
}

static void fp64_dot(gka_arith_t *A, void *r, size_t n, const void *x, const void *y) {
    (void)A;
    const double *xv = x, *yv = y;
    double s = 0.0;
    for (size_t j = 0; j < n; j++)
        s += xv[j] * yv[j];
    D(r) = s;
}

static void fp64_axpy(gka_arith_t *A, size_t n, const void *alpha, const void *x, void *y) {
    (void)A;
    const double a = CD(alpha), *xv = x;
    double *yv = y;
    for (size_t j = 0; j < n; j++)
        yv[j] = a * xv[j] + yv[j];
}

static void fp64_scal(gka_arith_t *A, size_t n, const void *alpha, void *x) {
    (void)A;
    const double a = CD(alpha);
    double *xv = x;
    for (size_t j = 0; j < n; j++)
        xv[j] = a * xv[j];
}

static void fp64_gemv(gka_arith_t *A, size_t m, size_t n, const void *alpha, const void *M,
                      const void *x, const void *beta, void *y) {
    (void)A;
    const double *Mv = M, *xv = x;
    double *yv = y;
    for (size_t i = 0; i < m; i++) {
        double s = 0.0;
        for (size_t j = 0; j < n; j++)
            s += Mv[i * n + j] * xv[j];
        s = CD(alpha) * s;
        yv[i] = beta ? s + CD(beta) * yv[i] : s;
    }
}

static void fp64_syr(gka_arith_t *A, size_t n, const void *alpha, const void *x, void *M) {
    (void)A;
    const double *xv = x;
    double *Mv = M;
    for (size_t i = 0; i < n; i++) {
        const double axi = CD(alpha) * xv[i];
        for (size_t j = 0; j < n; j++)
            Mv[i * n + j] = Mv[i * n + j] + axi * xv[j];
    }
}

static void fp64_nrm2(gka_arith_t *A, void *r, size_t n, const void *x) {
    (void)A;
    const double *xv = x;
    double s = 0.0;
    for (size_t j = 0; j < n; j++)
        s += xv[j] * xv[j];
    D(r) = sqrt(s);
}

gka_status_t gka_arith_init_fp64(gka_arith_t *A) {
    if (!A) return gka_error(GKA_EINVAL, "gka_arith_init_fp64: NULL table");
    memset(A, 0, sizeof *A);
    snprintf(A->name, sizeof A->name, "fp64");
    A->elem_size = sizeof(double);
    A->accum = GKA_ACCUM_PER_OP;
    A->store = gka_rounding_default(&gka_fp64);
    A->wide = A->store;
    A->alloc = gka_double_storage_alloc;
    A->free = gka_double_storage_free;
    A->from_double = fp64_from_double;
    A->to_double = gka_double_storage_to_double;
    A->copy = gka_double_storage_copy;
    A->set_d = fp64_set_d;
    A->get_d = gka_double_storage_get_d;
    A->add = fp64_add;
    A->sub = fp64_sub;
    A->mul = fp64_mul;
    A->div = fp64_div;
    A->fma = fp64_fma;
    A->sqrt = fp64_sqrt;
    A->dot = fp64_dot;
    A->axpy = fp64_axpy;
    A->scal = fp64_scal;
    A->gemv = fp64_gemv;
    A->syr = fp64_syr;
    A->nrm2 = fp64_nrm2;
    return GKA_OK;
}
