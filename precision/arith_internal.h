/* The double-storage operations shared by the fp64 and emulated tables
 * (gka_double_storage_*: each element is one double) and the emulated
 * tables' exact-accumulation kernels. Not part of the public API. */
#ifndef GKA_ARITH_INTERNAL_H
#define GKA_ARITH_INTERNAL_H

#include "gka_arith.h"

void *gka_double_storage_alloc(gka_arith_t *A, size_t n);
void gka_double_storage_free(gka_arith_t *A, void *x, size_t n);
void gka_double_storage_to_double(gka_arith_t *A, double *dst, const void *x, size_t n);
void gka_double_storage_copy(gka_arith_t *A, void *dst, const void *src, size_t n);
double gka_double_storage_get_d(gka_arith_t *A, const void *a);

/* Exact-accumulation kernels of the emulated tables (arith_exact.c): the
 * exact value of each output element, rounded once to A->store. Operands are
 * values of the storage format (t <= 26, exponents within +-560). */
void gka_exact_dot(gka_arith_t *A, void *r, size_t n, const void *x, const void *y);
void gka_exact_gemv(gka_arith_t *A, size_t m, size_t n, const void *alpha, const void *M,
                    const void *x, const void *beta, void *y);
void gka_exact_syr(gka_arith_t *A, size_t n, const void *alpha, const void *x, void *M);
void gka_exact_nrm2(gka_arith_t *A, void *r, size_t n, const void *x);

#endif
