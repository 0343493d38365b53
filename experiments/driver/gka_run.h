/* The run driver: a whole sequence fed through a stream and a solver
 * (solvers/gka_stream.h, gka_solver.h), each token measured against a
 * reference x* of the same rounded problem (gka_reference.h). It sits above
 * the solvers and below the CLI (docs/ARCHITECTURE.md). */
#ifndef GKA_RUN_H
#define GKA_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "gka_arith.h"
#include "gka_error.h"
#include "gka_solver.h"
#include "gka_stream.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gka_token_metrics {
    long t;                   /* token index, from 0 */
    double err;               /* ||x - x*|| / ||x*|| (NaN: no reference for this token) */
    double res;               /* ||(H64 + lambda64 I) x - q|| / ||q|| in fp64 */
    double kappa;             /* exact kappa(H64 + lambda64 I) (dsyev), NaN if not measured */
    double kappa_bound;       /* (||H64||_F + lambda64) / lambda64 (= (1+a)/a adaptive) */
    double hnorm, lambda;     /* ||H_t||_F, lambda_t in the studied arithmetic */
    double hnorm64, lambda64; /* the same in the fp64 reference problem */
    double p_asym;            /* Kalman: ||P - P^T||_F / ||P||_F (NaN otherwise) */
    double p_min_eig;         /* Kalman: smallest eigenvalue of (P + P^T)/2 (NaN if not measured) */
    gka_reason_t reason;
    int iters;
    unsigned events;       /* GKA_FLAG_* raised by the arithmetic during this token */
    int nonfinite;         /* x has a NaN or Inf */
    const double *history; /* per-iteration fp64 relative residuals (NULL unless asked) */
    int nhistory;
    const double *iterates; /* niterates x D doubles: x_0 .. x_iters (NULL unless
                               opts.iterates) */
    int niterates;
    const double *x, *x_ref; /* D doubles each (x_ref NULL without reference) */
} gka_token_metrics_t;

/* Return nonzero to stop the run early (then gka_run returns GKA_EINTR). */
typedef int (*gka_token_fn)(void *ctx, const gka_token_metrics_t *m);

/* How the write gate beta enters the state (--beta-mode):
 *   WEIGHT (gka's default): H accumulates beta^2 k k^T, beta^2 formed in the
 *          table (fp32 or the format), k rounded to the format;
 *   FOLD   (the public reference layer's convention): the key is folded
 *          before the solve, k' = round_format((beta + 1e-6) k) (the product
 *          in double, one rounding), and H accumulates k' k'^T (beta = 1).
 * In both, the fp64 reference problem is built from the same rounded inputs. */
typedef enum { GKA_BETA_WEIGHT = 0, GKA_BETA_FOLD = 1 } gka_beta_mode_t;

/* The reference x* that gka_run measures each token against, always of the
 * same rounded problem (the fp64 mirror H64, lambda64, q64 of the stream):
 *   LAPACK      fp64 dposv (gka_ref_solve_fp64); the default where built;
 *   MPFR        Cholesky at prec bits (gka_ref_solve_mpfr), rounded to double;
 *   ARB         certified balls at prec bits (gka_ref_solve_arb): the midpoint
 *               is x*; a token whose ball is not tight against the error it
 *               measures (||rad|| / ||mid|| > max(1e-3 err, 2^-50), the floor being a few
 *               roundings of the midpoint to double, which the radius includes) fails
 *               (err NaN, counted in ref_failures and ref_loose);
 *   CHOLESKY64  gka's own fp64 Cholesky with iterative refinement
 *               (gka_ref_solve_cholesky64), in every build.
 * DEFAULT resolves to LAPACK where the build has it, else CHOLESKY64 (the
 * GKA_MINIMAL build). Asking for a reference the build lacks is GKA_EINVAL. */
typedef enum {
    GKA_RUN_REF_DEFAULT = 0,
    GKA_RUN_REF_LAPACK,
    GKA_RUN_REF_MPFR,
    GKA_RUN_REF_ARB,
    GKA_RUN_REF_CHOLESKY64
} gka_run_ref_kind_t;

typedef struct gka_run_ref {
    gka_run_ref_kind_t kind;
    long prec; /* bits, MPFR and ARB (0: GKA_REF_DEFAULT_PREC) */
} gka_run_ref_t;

/* Which references this build has, as bits (1 << kind). */
unsigned gka_run_ref_available(void);
/* "lapack", "cholesky64", "mpfr[:P]", "arb[:P]" (P bits, 53..65536). */
gka_status_t gka_run_ref_parse(const char *text, gka_run_ref_t *out);
/* The reference a run uses when `have` (gka_run_ref_available's bits) is
 * what the build has: DEFAULT resolved, prec filled in; GKA_EINVAL with a
 * message naming the missing library if the asked one is not in `have`. */
gka_status_t gka_run_ref_resolve(const gka_run_ref_t *asked, unsigned have, gka_run_ref_t *out);
/* "lapack", "cholesky64", "mpfr:256", "arb:256" into buf. */
void gka_run_ref_name(const gka_run_ref_t *r, char *buf, size_t n);

typedef struct gka_run_config {
    int D;
    long T;
    const double *q, *k;       /* T x D row-major */
    const double *g, *beta;    /* T each, NULL: none */
    gka_beta_mode_t beta_mode; /* how beta enters (default WEIGHT) */
    gka_ridge_t ridge;
    const char *solver; /* name (gka_solver_list) */
    gka_solver_opts_t opts;
    /* studied arithmetic: gka_arith_init_by_name(format, accum, mode, seed);
       format NULL = fp64 */
    const char *format, *accum, *mode;
    gka_arith_t *arith; /* the user's own table (examples/user_table.c), used instead of
                           format/accum/mode where not NULL (borrowed: it must outlive the
                           run; its events are reset each token). iter_format and carry then
                           default to this table itself */
    uint64_t seed;
    int chunk; /* 0 token form, C > 0 chunk form (MATH.md section 3) with chunk size C:
                  every solver that runs against gka_operator_t (not kalman) */
    const char *iter_format; /* arithmetic of the iterates of the iterative solvers. Chunk form:
                                also the chunk-local products and norm formula (NULL: fp32 for
                                emulated formats, the state's arithmetic for fp32/fp64/MPFR).
                                Token form: NULL = the studied arithmetic; else H_t, q_t,
                                lambda_t are taken into it each token */
    const char *carry;       /* chunk form: arithmetic of the running chunk state, the scan's
                                carry (NULL: as iter_format's default, fp32 for emulated formats,
                                as the reference kernels); the studied format itself = the state
                                rounded at every chunk boundary and continued from */
    long every;              /* exact kappa / Kalman eigenvalue every `every` tokens
                                (t % every == 0, and the last token); 0 = never */
    int no_reference;        /* 1: skip x* (err NaN): for timing */
    gka_run_ref_t reference; /* which x* (default: lapack, or cholesky64 without LAPACK) */
    gka_token_fn on_token;   /* may be NULL */
    void *ctx;
} gka_run_config_t;

/* Defaults: fp64, chebyshev, adaptive:0.02, r = 30, token form, every = 0. */
gka_run_config_t gka_run_config_default(void);

/* 1 if token t is one that cfg->every measures (t % every == 0, and the last
 * token); 0 for every token when every = 0. */
int gka_run_measures(const gka_run_config_t *cfg, long t);

typedef struct gka_run_summary {
    long T;
    double err_median, err_max, res_median, res_max; /* over tokens with a value */
    double kappa_min, kappa_max;                     /* measured tokens; NaN if none */
    double kappa_bound_max;
    double p_asym_max, p_min_eig_min;                   /* Kalman; NaN otherwise */
    long ev_nan, ev_overflow, ev_underflow, ev_lost_pd; /* tokens with the event */
    long reasons[GKA_REASON_COUNT];
    long ref_failures;       /* tokens whose reference solve failed (not PD, NaN, loose ball) */
    long ref_loose;          /* of those, Arb balls not tight enough for the error measured */
    char reference_name[32]; /* the reference used (gka_run_ref_name) */
    double solve_seconds;    /* CPU time of the calling thread in stream updates + solves */
    char arith_name[64];
    char iter_name[64];  /* the iterates' table where it is not arith_name, else "" */
    char carry_name[64]; /* chunk form: the carry's table where it is not arith_name, else "" */
} gka_run_summary_t;

/* Run the configured solver over the sequence. GKA_EINVAL for bad
 * configurations (naming the field), GKA_EINTR if the callback or SIGINT
 * stopped it. */
gka_status_t gka_run(const gka_run_config_t *cfg, gka_run_summary_t *summary);

#ifdef __cplusplus
}
#endif
#endif
