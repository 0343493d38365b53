/* The chunk form (MATH.md section 3): the chunker, which carries the chunk
 * state across chunks and solves each chunk's tokens from it
 * (chebyshev_chunk.c), and gka_chebyshev_chunked, the whole sequence at once
 * through it. The token form is gka_stream.h. */
#ifndef GKA_CHUNKER_H
#define GKA_CHUNKER_H

#include "gka_arith.h"
#include "gka_error.h"
#include "gka_solver.h"
#include "gka_stream.h" /* gka_ridge_t */

#ifdef __cplusplus
extern "C" {
#endif

/* Chunk form (MATH.md section 3) over a whole sequence, adaptive lambda_t = a ||H_t||_F:
 * inputs and chunk states in A_state's format (chunk states updated by one
 * A_state dot per entry, i.e. one rounding per chunk under A_state's
 * accumulation model), iterates, omega, the norm formula and every product in
 * A_iter; no D x D matrix is formed per token. q, k: T x D row-major; g, beta:
 * T (NULL: no gate / beta = 1). Outputs: x (T x D), hnorm (T, may be NULL),
 * H_final (D x D, may be NULL). With fp64 tables it equals the token form to
 * roundoff. Both tables may be the same. */
gka_status_t gka_chebyshev_chunked(gka_arith_t *A_state, gka_arith_t *A_iter, int D, long T, int C,
                                   const double *q, const double *k, const double *g,
                                   const double *beta, double a, int r, double *x, double *hnorm,
                                   double *H_final);

typedef struct gka_chebyshev_chunker gka_chebyshev_chunker_t;
typedef gka_chebyshev_chunker_t gka_chunker_t; /* it serves every operator solver */

/* State of the chunk form across chunks (the scan). ridge: fixed or adaptive.
 * Tables as in gka_chebyshev_chunked. */
gka_status_t gka_chunker_create(gka_chebyshev_chunker_t **out, gka_arith_t *A_state,
                                gka_arith_t *A_iter, int D, int C, const gka_ridge_t *ridge, int r);
/* Process n <= C tokens (one chunk; the last may be short): q, k (n x D),
 * g, beta (n or NULL). Outputs x (n x D), hnorm, lambda, reasons (n, may be
 * NULL).
 * If q_used/k_used/g_used/beta_used are given they receive the inputs as
 * rounded (what the reference problem must use; g_used: the rounded log-gate,
 * beta_used: rounded beta). Then the chunk state advances. */
gka_status_t gka_chunker_run(gka_chebyshev_chunker_t *c, int n, const double *q, const double *k,
                             const double *g, const double *beta, double *x, double *hnorm,
                             double *lambda, gka_reason_t *reasons, double *q_used, double *k_used,
                             double *g_used, double *beta_used);
/* Solve, in the following gka_chunker_run calls, only the tokens j of the
 * chunk with select[j] != 0 (select: C entries, borrowed; NULL: all, the
 * default). The others get NaN x, hnorm and lambda and reason NONE; the chunk
 * state advances as before, and the solved tokens' results are bit for bit
 * those of a run solving all (each token is solved on its own). For figures
 * that measure a few sampled tokens. */
void gka_chunker_select(gka_chebyshev_chunker_t *c, const unsigned char *select);
/* The arithmetic of the running chunk state (the scan's carry): A_carry
 * (borrowed; NULL = A_state, the default: the state rounded to the format at
 * every chunk boundary and continued from). With another carry (fp32, as the
 * reference kernels) the scan runs in A_carry and only the snapshot H_0 that a
 * chunk's tokens use is rounded to A_state's format. Call before the first
 * gka_chunker_run (the state so far is carried over, rounded). */
gka_status_t gka_chunker_set_carry(gka_chebyshev_chunker_t *c, gka_arith_t *A_carry);
/* The solver of each token (borrowed; NULL = Chebyshev with r steps, zero
 * start, the default). Iterative solvers must run in A_iter; direct ones
 * (cholesky) get H_c materialised from the chunk state, rounded to their own
 * arithmetic (the studied format: create them in A_state). Solvers that need
 * the stream (kalman) are refused. */
gka_status_t gka_chunker_set_solver(gka_chebyshev_chunker_t *c, gka_solver_t *s);
/* The GKA_FLAG_* events of each of the n tokens of the last gka_chunker_run:
 * those of its own solve (q, norm formula, iteration) and those it shares
 * with its chunk (rounded keys, chunk tables, the state it starts from). */
void gka_chunker_token_events(const gka_chebyshev_chunker_t *c, unsigned *events, int n);
/* The iteration count of each of the n tokens of the last gka_chunker_run
 * (what its solver reports; 0 for tokens not selected); the reasons come
 * from gka_chunker_run's reasons. */
void gka_chunker_token_iters(const gka_chebyshev_chunker_t *c, int *iters, int n);
/* The current chunk start state H_0, the snapshot in A_state's format (D x D
 * doubles). */
void gka_chunker_state(const gka_chebyshev_chunker_t *c, double *H);
/* The running (carried) state, in A_carry (= the snapshot without a carry). */
void gka_chunker_carry_state(const gka_chebyshev_chunker_t *c, double *H);
void gka_chunker_destroy(gka_chebyshev_chunker_t *c);

#ifdef __cplusplus
}
#endif

#endif
