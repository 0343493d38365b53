/* A user-supplied arithmetic table: native C float arithmetic, every
 * operation rounded once (gka's GKA_ACCUM_PER_OP model), plugged into the
 * stream and the Chebyshev solver exactly like gka's own tables.
 *
 * A gka_arith_t is a table of operations on opaque elements of elem_size
 * bytes (here a float). Every algorithm of gka is written against the table,
 * so a new arithmetic needs no change to the solvers. As a check, the run is
 * repeated with gka's built-in emulated table "fp32" with accumulation
 * "round", whose documented rounding order (precision/arith_emulated.c) this
 * table follows: the iterates must agree bit for bit.
 *
 * Compile with -ffp-contract=off (no silent fused multiply-adds: each float
 * operation must round on its own).
 *   build: cc -ffp-contract=off user_table.c $(pkg-config --cflags --libs gka) -lm -o user_table */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gka_data.h"
#include "gka_reference.h"
#include "gka_stream.h"

enum { D = 24, T = 48 };

#define F(p) (*(float *)(p))
#define CF(p) (*(const float *)(p))

/* ---- storage ---- */
static void *f_alloc(gka_arith_t *A, size_t n) {
    (void)A;
    return calloc(n ? n : 1, sizeof(float));
}
static void f_free(gka_arith_t *A, void *x, size_t n) {
    (void)A, (void)n;
    free(x);
}
static void f_from_double(gka_arith_t *A, void *x, const double *src, size_t n) {
    (void)A;
    for (size_t i = 0; i < n; i++)
        ((float *)x)[i] = (float)src[i]; /* round to nearest even */
}
static void f_to_double(gka_arith_t *A, double *dst, const void *x, size_t n) {
    (void)A;
    for (size_t i = 0; i < n; i++)
        dst[i] = ((const float *)x)[i];
}
static void f_copy(gka_arith_t *A, void *dst, const void *src, size_t n) {
    (void)A;
    memmove(dst, src, n * sizeof(float));
}
static void f_set_d(gka_arith_t *A, void *r, double v) {
    (void)A;
    F(r) = (float)v;
}
static double f_get_d(gka_arith_t *A, const void *a) {
    (void)A;
    return CF(a);
}

/* ---- scalars: one rounding each ---- */
static void f_add(gka_arith_t *A, void *r, const void *a, const void *b) {
    (void)A;
    F(r) = CF(a) + CF(b);
}
static void f_sub(gka_arith_t *A, void *r, const void *a, const void *b) {
    (void)A;
    F(r) = CF(a) - CF(b);
}
static void f_mul(gka_arith_t *A, void *r, const void *a, const void *b) {
    (void)A;
    F(r) = CF(a) * CF(b);
}
static void f_div(gka_arith_t *A, void *r, const void *a, const void *b) {
    (void)A;
    F(r) = CF(a) / CF(b);
}
static void f_fma(gka_arith_t *A, void *r, const void *a, const void *b, const void *c) {
    (void)A;
    F(r) = fmaf(CF(a), CF(b), CF(c));
}
static void f_sqrt(gka_arith_t *A, void *r, const void *a) {
    (void)A;
    F(r) = sqrtf(CF(a));
}

/* ---- vector kernels, ROUND model: s = x0 y0, then s = s + xj yj ---- */
static float dotf(size_t n, const float *x, const float *y) {
    float s = 0.0f;
    for (size_t j = 0; j < n; j++) {
        float p = x[j] * y[j];
        s = j ? s + p : p;
    }
    return s;
}
static void f_dot(gka_arith_t *A, void *r, size_t n, const void *x, const void *y) {
    (void)A;
    F(r) = dotf(n, x, y);
}
static void f_axpy(gka_arith_t *A, size_t n, const void *alpha, const void *x, void *y) {
    (void)A;
    for (size_t j = 0; j < n; j++)
        ((float *)y)[j] = CF(alpha) * ((const float *)x)[j] + ((float *)y)[j];
}
static void f_scal(gka_arith_t *A, size_t n, const void *alpha, void *x) {
    (void)A;
    for (size_t j = 0; j < n; j++)
        ((float *)x)[j] = CF(alpha) * ((float *)x)[j];
}
static void f_gemv(gka_arith_t *A, size_t m, size_t n, const void *alpha, const void *M,
                   const void *x, const void *beta, void *y) {
    (void)A;
    for (size_t i = 0; i < m; i++) {
        float t = CF(alpha) * dotf(n, (const float *)M + i * n, x);
        float *yi = (float *)y + i;
        *yi = beta ? t + CF(beta) * *yi : t;
    }
}
static void f_syr(gka_arith_t *A, size_t n, const void *alpha, const void *x, void *M) {
    (void)A;
    const float *xf = x;
    for (size_t i = 0; i < n; i++) {
        float a = CF(alpha) * xf[i];
        for (size_t j = 0; j < n; j++)
            ((float *)M)[i * n + j] = ((float *)M)[i * n + j] + a * xf[j];
    }
}
static void f_nrm2(gka_arith_t *A, void *r, size_t n, const void *x) {
    (void)A;
    F(r) = sqrtf(dotf(n, x, x));
}

/* Fill a table with the operations above. */
static void native_float_table(gka_arith_t *A) {
    memset(A, 0, sizeof *A);
    snprintf(A->name, sizeof A->name, "native-float/round");
    A->elem_size = sizeof(float);
    A->accum = GKA_ACCUM_PER_OP;
    A->store = gka_rounding_default(&gka_fp32); /* solvers read the unit roundoff here */
    A->alloc = f_alloc, A->free = f_free, A->from_double = f_from_double;
    A->to_double = f_to_double, A->copy = f_copy, A->set_d = f_set_d, A->get_d = f_get_d;
    A->add = f_add, A->sub = f_sub, A->mul = f_mul, A->div = f_div, A->fma = f_fma;
    A->sqrt = f_sqrt, A->dot = f_dot, A->axpy = f_axpy, A->scal = f_scal, A->gemv = f_gemv;
    A->syr = f_syr, A->nrm2 = f_nrm2;
}

/* Run Chebyshev (r = 30) in table A over the trace; x_out: T x D doubles. */
static int run(gka_arith_t *A, const gka_trace_t *tr, double *x_out, double *err_max) {
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, 0.02};
    gka_stream_t *st = NULL;
    gka_solver_t *s = NULL;
    void *x = A->alloc(A, D);
    int ok = x && gka_stream_create(&st, A, D, &ridge, 0) == GKA_OK &&
             gka_solver_create(&s, "chebyshev", NULL, A, D) == GKA_OK;
    *err_max = 0.0;
    for (long t = 0; ok && t < tr->T; t++) {
        gka_solve_info_t info;
        double x_ref[D], err;
        ok = gka_stream_push(st, tr->q + t * D, tr->k + t * D, 0.0, 1.0, NULL) == GKA_OK &&
             gka_solver_solve(s, st, x, &info) == GKA_OK;
        if (!ok) break;
        A->to_double(A, x_out + t * D, x, D);
        /* the fp64 mirror of the same rounded problem, solved by LAPACK */
        ok = gka_ref_solve_fp64(D, st->H64, st->lambda64, st->q64, x_ref) == GKA_OK &&
             gka_ref_rel_error(D, x_out + t * D, x_ref, &err) == GKA_OK;
        if (ok && err > *err_max) *err_max = err;
    }
    if (!ok) fprintf(stderr, "%s: %s\n", A->name, gka_error_message());
    gka_solver_destroy(s);
    gka_stream_destroy(st);
    if (x) A->free(A, x, D);
    return ok;
}

int main(void) {
    gka_synth_config_t sc = gka_synth_config_default(D, T, 5);
    gka_trace_t tr = {0};
    if (gka_synth_generate(&sc, &tr) != GKA_OK)
        return fprintf(stderr, "%s\n", gka_error_message()), 1;
    gka_arith_t mine, builtin;
    native_float_table(&mine);
    if (gka_arith_init_by_name(&builtin, "fp32", "round", NULL, 0) != GKA_OK)
        return fprintf(stderr, "%s\n", gka_error_message()), 1;
    static double x_mine[T * D], x_builtin[T * D];
    double err_mine, err_builtin;
    int ok = run(&mine, &tr, x_mine, &err_mine) && run(&builtin, &tr, x_builtin, &err_builtin);
    if (ok) {
        long differ = 0;
        for (long i = 0; i < (long)T * D; i++)
            differ += memcmp(&x_mine[i], &x_builtin[i], sizeof(double)) != 0;
        printf("%s: max error vs fp64 %.3e over %d tokens\n", mine.name, err_mine, T);
        printf("%s: max error vs fp64 %.3e over %d tokens\n", builtin.name, err_builtin, T);
        printf("elements that differ: %ld of %ld; bit-identical: %s\n", differ, (long)T * D,
               differ ? "no" : "yes");
    }
    gka_arith_destroy(&builtin);
    gka_trace_free(&tr);
    return ok ? 0 : 1;
}
