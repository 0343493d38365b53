/* The backward pass of the ridge solve (MATH.md section 4): gradients of
 * x_t = (H_t + lambda_t I)^{-1} q_t, H_t = gamma_t H_{t-1} + beta_t^2 k_t k_t^T,
 * lambda_t = a ||H_t||_F (adaptive) or fixed, with respect to q_t, k_t, the
 * log-gates g_t (gamma_t = exp(g_t)) and the write gates beta_t, given an
 * upstream gradient dx_t per token (the loss is L = sum_t <dx_t, x_t>).
 *
 * Two ways of differentiating the solve:
 *   implicit    treat x_t as the exact solution: dq_t = A_t^{-1} dx_t solved
 *               with the forward's solver and schedule, and the adjoint of
 *               A_t is -dq_t x_t^T;
 *   iterations  reverse mode over the stored iterates of the forward's r
 *               steps (Chebyshev or CG, zero start): the exact gradient of the
 *               r-step map, hand-written adjoints of the recurrences. For
 *               Chebyshev the schedule (s, omega_i) depends on ||H_t||_F and
 *               lambda_t; its adjoint is included.
 * Either way the adjoint of A_t becomes the adjoint of H_t,
 *     D_t = Abar_t + c_t H_t,   c_t = (d||H||_F) / ||H_t||_F,
 * where the lambda path (option) adds a * (tr Abar_t + schedule's dlambda) to
 * d||H||_F (implicit: D_t = -dq x^T - (a (x . dq)/||H_t||_F) H_t, MATH.md section 4);
 * then, with the symmetric S_t = G~_t + G~_t^T carried backwards,
 *     S_t = (D_t + D_t^T) + gamma_{t+1} S_{t+1}        (S_T = 0)
 *     dk_t = beta_t^2 S_t k_t,   dbeta_t = beta_t k_t^T S_t k_t,
 *     dg_t = <S_t, gamma_t H_{t-1}> / 2   (= <G~_t, H_t - beta_t^2 k_t k_t^T>).
 *
 * Everything runs in an arithmetic table (gka_arith.h): fp64, emulated
 * formats with their accumulation models, MPFR. Inputs are rounded into the
 * table as the forward stream rounds them (q, k, dx, gamma = exp(g), beta).
 * Outputs are doubles (nearest). */
#ifndef GKA_GRAD_H
#define GKA_GRAD_H

#include "gka_arith.h"
#include "gka_error.h"
#include "gka_solver.h"
#include "gka_stream.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { GKA_GRAD_IMPLICIT = 0, GKA_GRAD_ITERATIONS = 1 } gka_grad_mode_t;

/* "implicit" | "iterations". */
gka_status_t gka_grad_mode_by_name(const char *name, gka_grad_mode_t *out);
const char *gka_grad_mode_name(gka_grad_mode_t mode);

/* One sequence and its upstream gradient. */
typedef struct gka_grad_problem {
    int D;                  /* 1..GKA_D_MAX */
    long T;                 /* >= 1 */
    const double *q, *k;    /* T x D row-major */
    const double *g, *beta; /* T each; NULL: g = 0 (no decay), beta = 1 */
    const double *dx;       /* T x D: upstream gradient dL/dx_t */
    gka_ridge_t ridge;      /* fixed or adaptive (decay: GKA_EINVAL) */
} gka_grad_problem_t;

typedef struct gka_grad_opts {
    const char *solver;   /* implicit: chebyshev cg gd agd cholesky; iterations:
                             chebyshev cg (default chebyshev) */
    int iters;            /* r (default 30) */
    gka_grad_mode_t mode; /* default implicit */
    int lambda_path;      /* 1 (default): differentiate through lambda = a ||H||_F */
} gka_grad_opts_t;

gka_grad_opts_t gka_grad_opts_default(void);

/* Outputs, caller-allocated doubles; any pointer may be NULL (not wanted). */
typedef struct gka_grads {
    double *x;          /* T x D: the forward solution */
    double *dq, *dk;    /* T x D */
    double *dg, *dbeta; /* T */
} gka_grads_t;

/* Largest T * D * D the token form accepts: it keeps H_t and D_t + D_t^T for
 * every token (2 T D^2 elements of the table, and as many doubles more for the
 * reference: 128 MiB in fp64 at the limit); larger problems: the chunk form. */
#define GKA_GRAD_TOKEN_STORE_MAX (1L << 22)

/* Token form (grad.c). The forward runs the stream of gka_stream.h and,
 * in implicit mode, the solver object of gka_solver.h (zero start), so x_t is
 * the forward's x_t bit for bit; dq_t comes from the same solver applied to
 * dx_t. If ref is non-NULL it receives the exact gradient of the fp64 mirror
 * problem (the same rounded inputs, x* and dq* by LAPACK dposv, lambda path
 * as in opts): GKA_EUNSUP in a build without LAPACK. Numerical events
 * (breakdown, NaN) show up as non-finite outputs, never as errors. */
gka_status_t gka_grad_token(gka_arith_t *ar, const gka_grad_problem_t *p,
                            const gka_grad_opts_t *opts, gka_grads_t *out, gka_grads_t *ref);

/* Chunk form (grad_chunk.c), Chebyshev implicit gradients with chunks of
 * C tokens (MATH.md section 3): no D x D matrix per token; the chunk start states H_0
 * are kept (T/C of them) and the state adjoint is carried across chunks.
 * Every token's operator, ||H_c||_F, the dk terms and the state adjoint are
 * formed from the chunk's keys by C x D and C x C products; dg comes from the
 * scalar recursion dg_t = <D_t, H_t> + dg_{t+1} - beta_t^2 k_t^T G~_t k_t.
 * One table for states and iterates. Agrees with gka_grad_token (chebyshev,
 * implicit) to roundoff in fp64. */
gka_status_t gka_grad_chunked(gka_arith_t *ar, const gka_grad_problem_t *p, int C, int iters,
                              int lambda_path, gka_grads_t *out);

/* ---- reverse mode through the iterations (grad_iter.c) -------------- */

/* Chebyshev, zero start, exactly the operation sequence (and stopping rules:
 * NaN, divergence) of gka_chebyshev_solve with tol = 0, storing the iterates;
 * then the adjoint of the r steps for upstream dx. matvec applies the
 * operator A = H + lambda I; (lambda, hnorm) give the schedule. Outputs (D
 * elements of ar unless said): x = x_r (equal to gka_chebyshev_solve's),
 * dq = dL/dq, Abar (D x D, row-major) += dL/dA (general matrix), and the
 * schedule's scalar adjoints dlambda, dhnorm (1 element each, overwritten;
 * the path of lambda through A itself is tr Abar, not included). On a
 * breakdown (L + mu <= 0) x = dq = 0 and nothing is accumulated. */
gka_status_t gka_chebyshev_adjoint(gka_arith_t *ar, int D, gka_matvec_fn matvec, void *ctx,
                                   const void *q, const void *lambda, const void *hnorm, int r,
                                   const void *dx, void *x, void *dq, void *Abar, void *dlambda,
                                   void *dhnorm, int *iters, gka_reason_t *reason);

/* CG, zero start, the operation sequence and stopping rules of solvers/cg.c
 * (tol = 0), then its adjoint: x = x_r, dq, Abar += dL/dA. */
gka_status_t gka_cg_adjoint(gka_arith_t *ar, int D, gka_matvec_fn matvec, void *ctx, const void *q,
                            int r, const void *dx, void *x, void *dq, void *Abar, int *iters,
                            gka_reason_t *reason);

/* ---- comparisons ---------------------------------------------------------- */

/* ||a - b|| / ||b|| over n values (absolute if b = 0); +Inf if a or b has a
 * NaN or Inf: a NaN never passes. */
double gka_grad_rel_error(size_t n, const double *a, const double *b);

#ifdef __cplusplus
}
#endif
#endif
