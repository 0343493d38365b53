/* The operator every solver runs against (after PETSc's KSP, where the
 * operator is an object apart from the solver): for the current token,
 *     y = (H_t + lambda_t I) x
 * with lambda_t, ||H_t||_F and the right-hand side q_t attached, all in the
 * iterate arithmetic op->A. Two providers:
 *
 *   token form  (gka_token_op_*): H_t as the stream stores it in the studied
 *               format, updated token by token. With an iterate arithmetic
 *               other than the stream's, the token's H_t, q_t, lambda_t and
 *               ||H_t||_F are converted once per token into it (the values of
 *               a narrow format are exact in a wider one) and the products
 *               run there, as a kernel that loads a bf16 state into fp32.
 *   chunk form  (the chunker, gka_chunker.h): MATH.md section 3's chunk-local
 *               operator over the chunk start state; no D x D matrix per token.
 *
 * Direct solvers ask for the matrix (op->matrix): the token form's H_t, or the
 * chunk form's H_c materialised from the chunk state, in the arithmetic the
 * solver asks for (rounded to its format). */
#ifndef GKA_OPERATOR_H
#define GKA_OPERATOR_H

#include <stddef.h>

#include "gka_arith.h"
#include "gka_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gka_stream gka_stream_t; /* gka_stream.h */

typedef struct gka_operator gka_operator_t;
struct gka_operator {
    gka_arith_t *A; /* iterate arithmetic: x, y, q, lambda, hnorm are its elements */
    int D;
    const void *q;              /* q_t (D elements) */
    const void *lambda, *hnorm; /* lambda_t, ||H_t||_F (one element each) */
    /* y = (H_t + lambda_t I) x; y must not alias x */
    void (*apply)(const gka_operator_t *op, const void *x, void *y);
    /* H_t (D x D, row-major) as elements of B, rounded to B; NULL if none */
    gka_status_t (*matrix)(const gka_operator_t *op, gka_arith_t *B, void *H);
    /* ||(H64 + lambda64 I) x - q64|| / ||q64|| against the fp64 reference
     * problem, x elements of op->A, x64: D doubles scratch; NULL if none */
    double (*residual64)(const gka_operator_t *op, const void *x, double *x64);
    void *ctx; /* the provider's */
};

/* y = (H_t + lambda_t I) x. */
static inline void gka_operator_apply(const gka_operator_t *op, const void *x, void *y) {
    op->apply(op, x, y);
}

/* n elements of op->A into elements of B (a copy when B == op->A). */
void gka_operator_convert(const gka_operator_t *op, gka_arith_t *B, const void *src, void *dst,
                          size_t n);

/* ---- token form ----------------------------------------------------------- */

typedef struct gka_token_op gka_token_op_t;

/* A token-form provider for streams of arithmetic A_state and dimension D,
 * iterates in A_iter (NULL or A_state: the stream's own arithmetic, no copy). */
gka_status_t gka_token_op_create(gka_token_op_t **out, gka_arith_t *A_state, gka_arith_t *A_iter,
                                 int D);
void gka_token_op_destroy(gka_token_op_t *t);
/* The operator of the stream's current token (after gka_stream_push). The
 * operator is valid until the next bind or the next push. */
gka_status_t gka_token_op_bind(gka_token_op_t *t, const gka_stream_t *st, gka_operator_t *op);

/* The token operator in the stream's own arithmetic, no allocation. */
void gka_stream_operator(const gka_stream_t *st, gka_operator_t *op);

#ifdef __cplusplus
}
#endif
#endif
