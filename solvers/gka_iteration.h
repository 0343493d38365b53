/* The pieces of the iterative solvers, each written once (issue 16, point 9).
 *
 * Two layers:
 *
 *  1. Native, type-generic, static inline: usable from C (double and float,
 *     suffixes _d and _f) and from CUDA (__host__ __device__ under __CUDACC__).
 *     The Chebyshev parameters rho, s from the spectrum bounds mu, L; the
 *     omega recurrence omega_i = 1 / (1 - rho^2/4 omega_{i-1}), omega_0 = 2;
 *     its fixed point omega*; the error bound 2 R^r / (1 + R^{2r}); the
 *     element update of the Chebyshev step; and the one stopping test of
 *     every iterative solver (gka_iter_monitor). Each function fixes the order
 *     of its roundings, so a native-float kernel and the emulated fp32 table
 *     under GKA_ACCUM_PER_OP round alike.
 *
 *  2. The arithmetic-table versions (C only, solvers/iteration.c): the same
 *     Chebyshev schedule and step and the CG step against gka_arith_t, used by
 *     the forward solvers, the adjoints, the figures and the benchmarks.
 *
 * The reason codes live here so that a CUDA translation unit can use the
 * monitor without the arithmetic tables. */
#ifndef GKA_ITERATION_H
#define GKA_ITERATION_H

#ifdef __CUDACC__
#define GKA_ITER_FN __host__ __device__ static inline
#else
#define GKA_ITER_FN static inline
#endif

#include <math.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Why a solve stopped. NONE only before the first solve (and, from the
 * monitor, "go on"). */
typedef enum {
    GKA_REASON_NONE = 0,
    GKA_REASON_CONVERGED,       /* tolerance met (or exact: direct, recursive, zero residual) */
    GKA_REASON_ITERATION_LIMIT, /* r iterations done, tolerance not met or not asked for */
    GKA_REASON_DIVERGED,        /* residual estimate grew past 1e4 ||q|| (after PETSc's dtol) */
    GKA_REASON_BREAKDOWN,       /* a divisor vanished (p^T A p = 0, L + mu = 0, ...) */
    GKA_REASON_LOST_PD,         /* a pivot, curvature or Kalman denominator <= 0 */
    GKA_REASON_NAN,             /* the solution (or an input) is NaN or infinite */
    GKA_REASON_COUNT
} gka_reason_t;

/* The residual growth factor that counts as divergence. */
#define GKA_SOLVER_DTOL 1e4

/* omega_0 of the MATH.md section 2 schedule. */
#define GKA_CHEB_OMEGA0 2

/* The one stopping test of every iterative solver, on the residual norm rn
 * (read in double, a monitor outside the studied arithmetic) against
 * qscale = ||q|| (1 when q = 0). Returns NONE to go on.
 *   converged: rn <= tol qscale (tol = 0: only an exactly zero residual);
 *   guarded only: NaN -> NAN, rn > DTOL qscale -> DIVERGED.
 * Unguarded (the textbook variants) only the convergence test runs: a NaN
 * propagates to the solution, where the run counts it. */
GKA_ITER_FN gka_reason_t gka_iter_monitor(double rn, double qscale, double tol, int guarded) {
    if (rn <= tol * qscale) return GKA_REASON_CONVERGED;
    if (!guarded) return GKA_REASON_NONE;
    if (rn != rn) return GKA_REASON_NAN;
    if (rn > GKA_SOLVER_DTOL * qscale) return GKA_REASON_DIVERGED;
    return GKA_REASON_NONE;
}

/* CG's curvature guard on c = p^T A p (guarded variant): NONE while c > 0.
 * Past convergence p can underflow to c = 0 with the residual at the working
 * precision's unit roundoff u (rn <= u qscale): that is convergence. */
GKA_ITER_FN gka_reason_t gka_cg_curvature(double c, double rn, double qscale, double u) {
    if (c > 0.0) return GKA_REASON_NONE;
    if (c == 0.0 && rn <= u * qscale) return GKA_REASON_CONVERGED;
    if (c != c) return GKA_REASON_NAN;
    return c == 0.0 ? GKA_REASON_BREAKDOWN : GKA_REASON_LOST_PD;
}

/* CG's residual guard on rr = r . r in the studied arithmetic (guarded
 * variant): rr = 0 with a nonzero residual means r . r underflowed, the
 * residual is at the bottom of the format's range; going on would form
 * beta = 0 / 0 at the next step. That is convergence. */
GKA_ITER_FN gka_reason_t gka_cg_residual_guard(double rr) {
    return rr == 0.0 ? GKA_REASON_CONVERGED : GKA_REASON_NONE;
}

/* Native versions for a floating type T with suffix S. */
#define GKA_ITERATION_DEFINE(T, S, SQRT, POW)                                                      \
    /* rho = (L - mu) / (L + mu), s = 2 / (L + mu); L = hnorm + lambda,                            \
     * mu = lambda (MATH.md section 2). Rounding order as gka_cheb_setup. */                       \
    GKA_ITER_FN void gka_cheb_params_##S(T hnorm, T lambda, T *rho, T *s) {                        \
        const T L = hnorm + lambda, den = L + lambda, num = L - lambda;                            \
        *rho = num / den;                                                                          \
        *s = (T)2 / den;                                                                           \
    }                                                                                              \
    /* rho^2 / 4, the coefficient of the omega recurrence. */                                      \
    GKA_ITER_FN T gka_cheb_quarter_rho_sq_##S(T rho) {                                             \
        return rho * rho * (T)0.25;                                                                \
    }                                                                                              \
    /* omega_i = 1 / (1 - quarter_rho_sq omega_{i-1}), quarter_rho_sq = rho^2 / 4. */              \
    GKA_ITER_FN T gka_cheb_omega_next_##S(T quarter_rho_sq, T omega) {                             \
        return (T)1 / ((T)1 - quarter_rho_sq * omega);                                             \
    }                                                                                              \
    /* The recurrence's fixed point omega* = 2 (1 - sqrt(1 - rho^2)) / rho^2. */                   \
    GKA_ITER_FN T gka_cheb_omega_star_##S(T rho) {                                                 \
        return (T)2 * ((T)1 - SQRT((T)1 - rho * rho)) / (rho * rho);                               \
    }                                                                                              \
    /* R = (sqrt kappa - 1) / (sqrt kappa + 1). */                                                 \
    GKA_ITER_FN T gka_cheb_R_##S(T kappa) {                                                        \
        return (SQRT(kappa) - (T)1) / (SQRT(kappa) + (T)1);                                        \
    }                                                                                              \
    /* Chebyshev error bound after r steps: 2 R^r / (1 + R^{2r}). */                               \
    GKA_ITER_FN T gka_cheb_bound_##S(T R, int r) {                                                 \
        const T Rr = POW(R, (T)r);                                                                 \
        return (T)2 * Rr / ((T)1 + Rr * Rr);                                                       \
    }                                                                                              \
    /* One element of the Chebyshev step x_i = x_{i-1} - s omega_i res                             \
     * + (omega_i - 1)(x_{i-1} - x_{i-2}), neg_s_omega = -s omega_i, omega_minus_1 = omega_i - 1,  \
     * rounded in the order of gka_cheb_step (two axpys). */                                       \
    GKA_ITER_FN T gka_cheb_update_##S(T xc, T xp, T res, T neg_s_omega, T omega_minus_1) {         \
        const T d = xc - xp, t = neg_s_omega * res + xc;                                           \
        return omega_minus_1 * d + t;                                                              \
    }

GKA_ITERATION_DEFINE(double, d, sqrt, pow)
GKA_ITERATION_DEFINE(float, f, sqrtf, powf)

#ifdef __cplusplus
}
#endif

/* ---- arithmetic-table versions (C only) --------------------------------- */
#ifndef __CUDACC__
#include <stddef.h>

#include "gka_arith.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The Chebyshev schedule in a table: parameters and the running omega. */
typedef struct gka_cheb_schedule {
    gka_arith_t *A;
    void *sc; /* scalar block, see iteration.c */
} gka_cheb_schedule_t;

/* Allocate and set up from ||H||_F and lambda (elements of ar): rho, s, quarter_rho_sq,
 * omega = omega_0 = 2. GKA_ENOMEM on allocation failure. */
gka_status_t gka_cheb_setup(gka_cheb_schedule_t *sch, gka_arith_t *ar, const void *hnorm,
                            const void *lambda);
void gka_cheb_release(gka_cheb_schedule_t *sch);
/* Scalars of the schedule (elements of ar, owned by the schedule). */
const void *gka_cheb_s(const gka_cheb_schedule_t *sch);              /* 2 / (L + mu) */
const void *gka_cheb_rho(const gka_cheb_schedule_t *sch);            /* (L - mu) / (L + mu) */
const void *gka_cheb_quarter_rho_sq(const gka_cheb_schedule_t *sch); /* rho^2 / 4 */
const void *gka_cheb_den(const gka_cheb_schedule_t *sch);            /* L + mu */
const void *gka_cheb_omega(const gka_cheb_schedule_t *sch);          /* omega_i */
const void *gka_cheb_neg_s_omega(const gka_cheb_schedule_t *sch);    /* -s omega_i */
const void *gka_cheb_omega_minus_1(const gka_cheb_schedule_t *sch);  /* omega_i - 1 */
/* Advance omega_{i-1} -> omega_i and form neg_s_omega = -s omega_i, omega_minus_1 = omega_i - 1. */
void gka_cheb_next(gka_cheb_schedule_t *sch);
/* 1 if the parameters are usable (L + mu > 0 and s finite); else *reason
 * gets NAN or BREAKDOWN. */
int gka_cheb_usable(const gka_cheb_schedule_t *sch, gka_reason_t *reason);

/* The Chebyshev step, after gka_cheb_next: xn = xc + neg_s_omega res + omega_minus_1 (xc - xp),
 * d: n elements scratch. xn may alias xp (x_i written over x_{i-2}). */
void gka_cheb_step(const gka_cheb_schedule_t *sch, size_t n, const void *xc, const void *xp,
                   const void *res, void *d, void *xn);

/* omega_1 .. omega_r of the schedule for rho (set from a double), in ar:
 * omega[0] = omega_0 = 2, omega[i] = omega_i. For figures. */
gka_status_t gka_cheb_omegas(gka_arith_t *ar, double rho, int r, double *omega);

/* One CG step (Hestenes-Stiefel) in ar given Ap = A p and pAp = p . Ap:
 *   alpha = rr / pAp; x += alpha p; r -= alpha Ap; rr_new = r . r;
 *   beta = rr_new / rr; rr = rr_new; p = r + beta p.
 * alpha and beta (scalars of ar) receive the step's coefficients; t: one
 * scratch scalar; zero, one: the constants 0 and 1 (kept by the caller, so
 * the step does no extra rounding, which stochastic modes would count). */
void gka_cg_step(gka_arith_t *ar, size_t n, void *x, void *r, void *p, const void *Ap,
                 const void *pAp, void *rr, void *alpha, void *beta, void *t, const void *zero,
                 const void *one);

/* The unit roundoff of the table's working precision: 2^-p for MPFR at p
 * bits, the storage format's u otherwise. */
double gka_arith_unit_roundoff(const gka_arith_t *ar);

/* ||v|| of n elements, read in double (a monitor: raises no flags). */
double gka_iter_norm64(gka_arith_t *ar, const void *v, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* __CUDACC__ */
#endif
