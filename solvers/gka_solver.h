/* Pluggable solvers for the ridge solve (H_t + lambda_t I) x = q_t (MATH.md section 2),
 * after hypre's PCG and PETSc's KSP: a solver object has a name, options
 * (iterations r, tolerance, zero or warm start, variant), a per-token solve,
 * an optional residual history and a reason code. Every algorithm is written
 * once against gka_arith_t (scalars included: step sizes, the omega
 * recurrence, Givens coefficients), so it runs unchanged under fp64, any
 * emulated format and accumulation model, and MPFR.
 *
 * Numerical events (breakdown, loss of positive definiteness, NaN) are
 * reported as reasons, never as errors: gka_solver_solve returns GKA_OK and
 * sets info->reason. A non-OK status means a usage error (bad argument) or an
 * allocation failure.
 *
 * Solvers (gka_solver_list gives the table):
 *   chebyshev  MATH.md section 2 exactly: mu = lambda_t, L = ||H_t||_F + lambda_t,
 *              x_{-1} = 0, x_0 = s q, omega_0 = 2, r steps. Warm start: the
 *              same recurrence on the correction, x_{-1} = x_prev,
 *              x_0 = x_prev - s (A x_prev - q).
 *   cg         conjugate gradient, r iterations (zero or warm start).
 *   gd         gradient descent, step 2 / (L + mu).
 *   agd        Nesterov accelerated gradient, step 1/L, momentum
 *              (sqrt L - sqrt mu) / (sqrt L + sqrt mu).
 *              chebyshev, cg, gd, agd: variants guarded (default) and plain
 *              (textbook: only the tolerance test, NaN propagates).
 *   All of the above run against gka_operator_t (gka_operator.h): the token
 *   form's H_t or the chunk form's chunk-local operator.
 *   cholesky   direct: factor H_t + lambda_t I, two triangular solves.
 *   kalman     recursive least squares, forms (its variants)
 *                info   MATH.md section 2 Sherman-Morrison update of P (information form)
 *                cov    covariance form G = S k / (k^T S k + r), S = (I - G k^T) S
 *                joseph Joseph-form covariance update, then symmetrised
 *                sqrt   upper Cholesky factor R of P^{-1} = R^T R, rank-1
 *                       Cholesky update per token, two triangular solves
 *              The regulariser of a recursion decays with the gates
 *              (exponentially weighted RLS): P_0 = I / lambda_init with
 *              lambda_init = the ridge value for fixed:/decay: ridges and the
 *              stream's lambda at the first token for adaptive: ridges. So
 *              Kalman is exact for decay:L0 (and for fixed:L without gates);
 *              with fixed:L and gates, or adaptive:a, it solves a different
 *              ridge problem than the stream defines, and the metrics show
 *              by how much. */
#ifndef GKA_SOLVER_H
#define GKA_SOLVER_H

#include <stddef.h>

#include "gka_arith.h"
#include "gka_error.h"
#include "gka_iteration.h" /* gka_reason_t, the shared iteration pieces */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gka_stream gka_stream_t;     /* gka_stream.h */
typedef struct gka_operator gka_operator_t; /* gka_operator.h */

/* "none", "converged", "iteration_limit", "diverged", "breakdown",
 * "lost_pd", "nan" (the codes are in gka_iteration.h). */
const char *gka_reason_name(gka_reason_t reason);

/* The reason a token reports, by precedence: LOST_PD and BREAKDOWN (the
 * solver's diagnosis) first; then NAN for a nonfinite solution; then a
 * CONVERGED solve during which an invalid operation or an overflow was
 * flagged (events: GKA_FLAG_*) becomes NAN; otherwise the solver's reason.
 * So a numerical event is never reported as CONVERGED. Used by gka_run for
 * every solver. */
gka_reason_t gka_reason_resolve(gka_reason_t solver_reason, unsigned events, int nonfinite);

enum { GKA_VARIANT_MAX = 32 };

typedef struct gka_solver_opts {
    int iters;                     /* r >= 0 (default 30); cholesky and kalman ignore it */
    double tol;                    /* stop once the residual estimate in the studied arithmetic is
                                      <= tol ||q|| (0, the default: always run r iterations) */
    int warm;                      /* 1: start from the previous token's solution */
    int history;                   /* 1: record the fp64 relative residual of every iterate */
    char variant[GKA_VARIANT_MAX]; /* "" = the solver's default */
} gka_solver_opts_t;

/* iters 30, tol 0, zero start, no history, default variant. */
gka_solver_opts_t gka_solver_opts_default(void);

typedef struct gka_solve_info {
    gka_reason_t reason;
    int iters;             /* iterations done (0 for direct and recursive) */
    const double *history; /* nhistory values owned by the solver, valid until the
                              next solve: ||(H+lambda I) x_i - q|| / ||q|| in fp64 for
                              x_0 (the start) .. x_iters, from the stream's fp64
                              mirror (gka_stream_rel_residual64); NULL unless asked */
    int nhistory;
} gka_solve_info_t;

typedef struct gka_solver gka_solver_t;

/* A solver's method table. */
typedef struct gka_solver_ops {
    const char *name;
    const char *summary;
    const char *variants; /* comma-separated; first is the default; "" if none */
    int iterative;        /* uses iters/tol/warm */
    gka_status_t (*create)(gka_solver_t *s);
    void (*destroy)(gka_solver_t *s);
    /* x (D elements of s->A) = solution for the operator's token (every
     * solver that runs against gka_operator_t: token or chunk form) */
    gka_status_t (*solve_op)(gka_solver_t *s, const gka_operator_t *op, void *x,
                             gka_solve_info_t *info);
    /* x = solution for the stream's current token, for solvers that need the
     * stream itself (Kalman: the key and gate of the token); token form only */
    gka_status_t (*solve)(gka_solver_t *s, const gka_stream_t *st, void *x, gka_solve_info_t *info);
    /* optional: the solver's D x D matrix (Kalman P_t) in doubles */
    gka_status_t (*matrix)(gka_solver_t *s, double *out);
} gka_solver_ops_t;

struct gka_solver {
    const gka_solver_ops_t *ops;
    gka_solver_opts_t opts;
    gka_arith_t *A; /* the studied arithmetic (borrowed) */
    int D;
    long tokens;  /* tokens solved so far */
    void *x_prev; /* previous solution (D elements), for warm starts */
    double *hist; /* iters + 2 doubles when opts.history */
    int nhist;
    double *work64; /* 2 D doubles, for the history */
    void *priv;     /* the algorithm's state */
};

/* Table of all solvers, in display order. */
const gka_solver_ops_t *const *gka_solver_list(size_t *count);

/* Look a solver up by name (GKA_EINVAL naming it if unknown). */
gka_status_t gka_solver_find(const char *name, const gka_solver_ops_t **out);

/* Create solver `name` for dimension D (1..1024) in arithmetic ar (borrowed; must
 * outlive the solver). opts NULL = defaults. Unknown variant: GKA_EINVAL. */
gka_status_t gka_solver_create(gka_solver_t **out, const char *name, const gka_solver_opts_t *opts,
                               gka_arith_t *ar, int D);

/* Solve for the stream's current token (after gka_stream_push): x is D
 * elements of s->A. The stream must use the same arithmetic table. */
gka_status_t gka_solver_solve(gka_solver_t *s, const gka_stream_t *st, void *x,
                              gka_solve_info_t *info);

/* Solve against an operator (gka_operator.h): token or chunk form. Iterative
 * solvers need op->A == s->A; direct solvers take the operator's matrix into
 * s->A. GKA_EUNSUP for solvers that need the stream (kalman). */
gka_status_t gka_solver_solve_op(gka_solver_t *s, const gka_operator_t *op, void *x,
                                 gka_solve_info_t *info);

/* The solver's matrix (Kalman P_t, D x D doubles). GKA_EUNSUP for solvers
 * without one. */
gka_status_t gka_solver_matrix(gka_solver_t *s, double *out);

void gka_solver_destroy(gka_solver_t *s);

/* ---- Chebyshev, callable on its own (GPU oracle, backward pass) ---------- */

/* y = A x for the solve's operator (D elements of the arithmetic). */
typedef void (*gka_matvec_fn)(void *ctx, const void *x, void *y);

/* The MATH.md section 2 Chebyshev recurrence for A x = q with spectrum bounds
 * mu = lambda, L = hnorm + lambda, all in arithmetic ar. x_init NULL: zero start
 * (x_0 = s q); else warm start from x_init. r >= 0 steps; tol as in the
 * options (0: none). hist (r + 2 doubles) may be NULL; else hist_fn(hist_ctx,
 * x_i) gives the residual recorded for each iterate. On return *iters and
 * *reason are set. x must not alias q or x_init. */
typedef double (*gka_hist_fn)(void *ctx, const void *x);
gka_status_t gka_chebyshev_solve(gka_arith_t *ar, int D, gka_matvec_fn matvec, void *ctx,
                                 const void *q, const void *lambda, const void *hnorm, int r,
                                 double tol, const void *x_init, void *x, gka_hist_fn hist_fn,
                                 void *hist_ctx, double *hist, int *iters, gka_reason_t *reason);

/* The same with the guard chosen: guarded = 1 is gka_chebyshev_solve (the
 * parameters checked, NaN and divergence stop the iteration); guarded = 0 the
 * textbook recurrence: only the convergence test, NaN propagates. */
gka_status_t gka_chebyshev_solve_v(gka_arith_t *ar, int D, gka_matvec_fn matvec, void *ctx,
                                   const void *q, const void *lambda, const void *hnorm, int r,
                                   double tol, int guarded, const void *x_init, void *x,
                                   gka_hist_fn hist_fn, void *hist_ctx, double *hist, int *iters,
                                   gka_reason_t *reason);

/* ---- CG, callable on its own (adjoint, figures) ---------------------------- */

/* What a step hook sees: after the start (i = 0: x_0, r_0, p_0, rr_0; the
 * rest NULL) and after each step i >= 1: x_i, r_i, p_i, rr_i = r_i . r_i and
 * the step's rr_{i-1}, Ap = A p_{i-1}, pAp = p_{i-1} . Ap, alpha_i, beta_i.
 * All elements of the arithmetic, valid during the call only. */
typedef struct gka_cg_step_info {
    int i;
    const void *x, *r, *p, *rr;
    const void *rr_prev, *Ap, *pAp, *alpha, *beta;
} gka_cg_step_info_t;
typedef void (*gka_cg_hook_fn)(void *ctx, const gka_cg_step_info_t *step);

/* CG for A x = q in arithmetic ar, r >= 0 steps, the stopping test of
 * gka_iteration.h (tol as in the options; guarded: NaN, divergence and the
 * curvature guard, whose round-off test uses the working precision's unit
 * roundoff). x_init NULL: zero start. hook may be NULL. x must not alias q or
 * x_init. */
gka_status_t gka_cg_solve(gka_arith_t *ar, int D, gka_matvec_fn matvec, void *ctx, const void *q,
                          int r, double tol, int guarded, const void *x_init, void *x,
                          gka_cg_hook_fn hook, void *hook_ctx, int *iters, gka_reason_t *reason);

#ifdef __cplusplus
}
#endif
#endif
