/* The arithmetic a solver runs under: a small table of operations (after
 * hypre's and PETSc's vector-operation tables). An algorithm is written once
 * against gka_arith_t and runs unchanged in native fp64, in any emulated
 * format under any accumulation model, or in MPFR at any precision.
 *
 * Numbers are opaque elements of `elem_size` bytes: a double holding a
 * format value for native and emulated arithmetic, an mpfr_t for MPFR.
 * Element arrays are allocated, converted and freed through the table.
 * Matrices are dense, row-major, n x n or m x n with leading dimension equal
 * to the number of columns. Aliasing: outputs may not alias inputs unless
 * stated.
 *
 * Accumulation models for the vector kernels (dot, gemv, nrm, axpy, syr):
 *   GKA_ACCUM_PER_OP: every multiplication and addition rounded to the format
 *                     (spelled "round" in table names: "bf16/round");
 *   GKA_ACCUM_WIDE:   products and sums in a wider format (fp32 by default, as
 *                     tensor cores do), one rounding to the format at the end
 *                     of each output element;
 *   GKA_ACCUM_EXACT:  the exact value of each output element, rounded once.
 * Scalar operations always round once to the format. Sums run in index order
 * (j = 0, 1, ..., n-1), starting from the first term (an empty sum is +0), so
 * results are reproducible; an exact zero gets IEEE 754's sign for a sum.
 * The exact placement of every rounding per model (e.g. WIDE gemv:
 * y_i = S(W(W(alpha W-sum_j M_ij x_j) + W(beta y_i))), S = storage, W = wide)
 * is documented at the top of precision/arith_emulated.c; the MPFR table
 * rounds in the same places (ROUND) or once (EXACT).
 *
 * Events: every kernel ORs the exception flags of its roundings into
 * A->events (storage roundings, plus overflow/invalid of the wide
 * accumulator); reset it by assigning 0. A->store.flags and A->wide.flags
 * are scratch. A table is used by one thread at a time (stochastic rounding
 * advances A->store.counter). */
#ifndef GKA_ARITH_H
#define GKA_ARITH_H

#include <stddef.h>

#include "gka_precision.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { GKA_ACCUM_PER_OP = 0, GKA_ACCUM_WIDE = 1, GKA_ACCUM_EXACT = 2 } gka_accum_t;

/* "round" (also "none", "format"), "wide"/"fp32" (wide accumulator in fp32),
 * "exact". For "wide:FORMAT", *wide receives that format; else fp32. */
gka_status_t gka_accum_by_name(const char *name, gka_accum_t *out, gka_format_t *wide);
const char *gka_accum_name(gka_accum_t accum);

/* The accumulation model a command uses when none is given: "round" for
 * fp64 and MPFR (the only one they have), "wide" (fp32, as tensor cores do)
 * for emulated formats. */
const char *gka_accum_default(const char *format);

typedef struct gka_arith gka_arith_t;

/* Pointer to element i of an element array. */
#define GKA_ELEM(A, x, i) ((void *)((char *)(x) + (size_t)(i) * (A)->elem_size))
#define GKA_CELEM(A, x, i) ((const void *)((const char *)(x) + (size_t)(i) * (A)->elem_size))
/* Row i (its first element) and entry (i, j) of a row-major element matrix
 * with ncols columns; a block of vectors is such a matrix, one vector a row. */
#define GKA_ROW(A, M, ncols, i) GKA_ELEM(A, M, (size_t)(i) * (size_t)(ncols))
#define GKA_ENTRY(A, M, ncols, i, j) GKA_ELEM(A, M, (size_t)(i) * (size_t)(ncols) + (size_t)(j))

struct gka_arith {
    char name[64];    /* e.g. "bf16/wide:fp32/ne", "fp64", "mpfr256" */
    size_t elem_size; /* bytes per element */
    gka_accum_t accum;
    gka_rounding_t store; /* storage format and rounding (emulated backends) */
    gka_rounding_t wide;  /* accumulator format (GKA_ACCUM_WIDE) */
    long mpfr_prec;       /* MPFR backend: precision in bits; 0 otherwise */
    unsigned events;      /* GKA_FLAG_* seen by this table since the last reset */

    /* storage */
    void *(*alloc)(gka_arith_t *A, size_t n); /* n elements, all +0; NULL on failure */
    void (*free)(gka_arith_t *A, void *x, size_t n);
    void (*from_double)(gka_arith_t *A, void *x, const double *src, size_t n); /* rounds */
    void (*to_double)(gka_arith_t *A, double *dst, const void *x, size_t n);   /* nearest */
    void (*copy)(gka_arith_t *A, void *dst, const void *src, size_t n);
    void (*set_d)(gka_arith_t *A, void *r, double v); /* rounds v */
    double (*get_d)(gka_arith_t *A, const void *a);

    /* scalar: r = a op b, one rounding; r may alias a or b */
    void (*add)(gka_arith_t *A, void *r, const void *a, const void *b);
    void (*sub)(gka_arith_t *A, void *r, const void *a, const void *b);
    void (*mul)(gka_arith_t *A, void *r, const void *a, const void *b);
    void (*div)(gka_arith_t *A, void *r, const void *a, const void *b);
    void (*fma)(gka_arith_t *A, void *r, const void *a, const void *b, const void *c);
    void (*sqrt)(gka_arith_t *A, void *r, const void *a);

    /* vector kernels, under the table's accumulation model */
    /* r = sum_j x_j y_j */
    void (*dot)(gka_arith_t *A, void *r, size_t n, const void *x, const void *y);
    /* y_j = alpha x_j + y_j */
    void (*axpy)(gka_arith_t *A, size_t n, const void *alpha, const void *x, void *y);
    /* x_j = alpha x_j (one rounding per element) */
    void (*scal)(gka_arith_t *A, size_t n, const void *alpha, void *x);
    /* y_i = alpha sum_j M_ij x_j + beta y_i, M m x n row-major; beta may be
     * NULL (meaning y = alpha M x; y need not be initialised). */
    void (*gemv)(gka_arith_t *A, size_t m, size_t n, const void *alpha, const void *M,
                 const void *x, const void *beta, void *y);
    /* M_ij = M_ij + alpha x_i x_j (symmetric rank-1 update, full n x n storage) */
    void (*syr)(gka_arith_t *A, size_t n, const void *alpha, const void *x, void *M);
    /* r = sqrt(sum_j x_j^2) over n elements (Frobenius norm of a matrix when
     * n = rows * cols) */
    void (*nrm2)(gka_arith_t *A, void *r, size_t n, const void *x);

    void *impl;                      /* backend-private state */
    void (*release)(gka_arith_t *A); /* frees impl (called by gka_arith_destroy); may be NULL */
};

/* Native IEEE double arithmetic (fp64), FMA-free, sums in index order. */
gka_status_t gka_arith_init_fp64(gka_arith_t *A);

/* Emulated arithmetic: storage in `store->format` (t <= 26) with its mode and
 * options; accumulation model `accum`; `wide` is the accumulator format for
 * GKA_ACCUM_WIDE (NULL: fp32), used with round-to-nearest-even, subnormals
 * and overflow to Inf; it must contain the storage format (t, emax >=,
 * emin <=). Call gka_arith_destroy when done. */
gka_status_t gka_arith_init_emulated(gka_arith_t *A, const gka_rounding_t *store, gka_accum_t accum,
                                     const gka_format_t *wide);

/* MPFR arithmetic at `prec` bits (2 <= prec <= 100000), round-to-nearest,
 * MPFR's exponent range. GKA_ACCUM_EXACT: correctly rounded dot, gemv, syr,
 * axpy, nrm2; GKA_ACCUM_PER_OP: each op rounds; GKA_ACCUM_WIDE is refused.
 * GKA_EUNSUP in a build without MPFR. Call gka_arith_destroy when done. */
gka_status_t gka_arith_init_mpfr(gka_arith_t *A, long prec, gka_accum_t accum);

/* A table by name: format "fp64" (accum round only), "mpfr:PREC" (or
 * "mpfrPREC"; accum round or exact), or any gka_format_by_name name; accum
 * as for gka_accum_by_name (NULL: round); mode as gka_round_mode_by_name
 * (NULL: ne; fp64 and MPFR accept only ne); seed for stochastic rounding.
 * A->name is e.g. "bf16/wide:fp32/ne", "bf16/exact/tz", "mpfr256/exact",
 * "fp64". Bad names: GKA_EINVAL with a message naming the bad value. */
gka_status_t gka_arith_init_by_name(gka_arith_t *A, const char *format, const char *accum,
                                    const char *mode, uint64_t seed);

/* Release backend state. Safe on NULL and on a zero-filled table. */
void gka_arith_destroy(gka_arith_t *A);

#ifdef __cplusplus
}
#endif
#endif
