/* The ridge stream (MATH.md section 1) and the run driver.
 *
 * A stream holds, in a studied arithmetic, H_t = gamma_t H_{t-1} +
 * beta_t^2 k_t k_t^T (and U_t = gamma_t U_{t-1} + beta_t^2 v_t k_t^T where
 * asked), ||H_t||_F and lambda_t, plus the current token's rounded q_t, k_t,
 * gamma_t, beta_t^2. Inputs are rounded to the studied format once (k, q,
 * beta); the gate gamma = exp(g) is rounded to fp32 when the studied format
 * is an emulated one narrower than fp32 (the reference kernels keep gates in
 * fp32), and the decay gamma H is then the fp32 product rounded once to the
 * storage format, as a kernel multiplies in fp32 and stores bf16; in fp32, fp64 and MPFR gamma is
 * rounded to the format and the decay is the table's scal. (Solvers that need gamma as an element,
 * Kalman, get its rounding to the format.) Beside it the stream keeps an fp64 mirror: the
 * exact-in-fp64 ridge problem built from the same rounded inputs
 * (H64, lambda64 = a ||H64||_F, q64), which is the reference problem.
 *
 * The run driver feeds a whole sequence through a stream and a solver and
 * reports per-token metrics against the fp64 LAPACK reference of
 * gka_reference.h. */
#ifndef GKA_STREAM_H
#define GKA_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "gka_arith.h"
#include "gka_error.h"
#include "gka_solver.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- ridge --------------------------------------------------------------- */

typedef enum {
    GKA_RIDGE_FIXED = 0,    /* lambda_t = value (>= 0) */
    GKA_RIDGE_ADAPTIVE = 1, /* lambda_t = value * ||H_t||_F (value = a > 0) */
    GKA_RIDGE_DECAY = 2     /* lambda_t = gamma_t lambda_{t-1}, lambda_0 = value > 0
                               (exponentially weighted RLS: Kalman's own problem) */
} gka_ridge_kind_t;

typedef struct gka_ridge {
    gka_ridge_kind_t kind;
    double value;
} gka_ridge_t;

/* "fixed:0.25", "adaptive:0.02", "decay:0.25". GKA_EINVAL naming the spec. */
gka_status_t gka_ridge_parse(const char *spec, gka_ridge_t *out);
/* Writes "fixed:0.25" etc. into buf (%.17g). */
void gka_ridge_format(const gka_ridge_t *ridge, char *buf, size_t n);

/* ---- stream -------------------------------------------------------------- */

enum { GKA_D_MAX = 1024 };

struct gka_stream {
    gka_arith_t *A; /* borrowed */
    int D;
    gka_ridge_t ridge;
    long t; /* tokens pushed */
    /* studied arithmetic (elements of A) */
    void *H;     /* D x D */
    void *U;     /* D x D, NULL unless created with_U */
    void *q, *k; /* current token, rounded */
    void *gamma, *beta2, *hnorm, *lambda, *ridge_value;
    void *one; /* the constant 1 */
    /* fp64 mirror: the reference problem */
    double *H64, *q64, *k64;
    double gamma64, beta2_64, hnorm64, lambda64;
    /* for Kalman: the lambda before the first token's decay (see gka_solver.h) */
    double lambda_init;
    void *tmp;   /* D elements scratch */
    float *fbuf; /* D x D scratch of the fp32-gate decay (narrow emulated formats) */
};

/* A stream of dimension D (1..GKA_D_MAX) in arithmetic ar (borrowed). with_U:
 * also keep U_t (gka_stream_push then needs v). H_0 = 0. */
gka_status_t gka_stream_create(gka_stream_t **out, gka_arith_t *ar, int D, const gka_ridge_t *ridge,
                               int with_U);
void gka_stream_destroy(gka_stream_t *st);

/* Advance by one token: q, k (D doubles; v too if with_U, else ignored),
 * log-gate g <= 0 (gamma = exp(g); 0 = no decay) and write gate beta (1 = none).
 * NaN/Inf data propagate (solvers report them); only g > 0 or beta NaN/Inf
 * structure errors give GKA_EINVAL. */
gka_status_t gka_stream_push(gka_stream_t *st, const double *q, const double *k, double g,
                             double beta, const double *v);

/* The forward's gate arithmetic, for the reverse pass and anyone else that
 * decays a state as the stream does: 1 if the table keeps gates in fp32
 * (emulated formats narrower than fp32). */
int gka_gate_fp32(const gka_arith_t *ar);
/* x_j = gamma x_j by the decay gka_stream_push applies to H: for fp32-gate tables
 * the fp32 gate times the fp32 value of x_j, rounded once to the format;
 * else the table's scal by gamma. gamma64: the stream's st->gamma64. */
gka_status_t gka_gate_scale(gka_arith_t *ar, double gamma64, void *x, size_t n);
/* A gate gamma (a double, e.g. exp(G)) as an element of ar for ar's own
 * products, in the same gate arithmetic: for fp32-gate tables the fp32
 * rounding of gamma, held unrounded to the format (the table's dot and
 * scal then multiply by the fp32 gate); else the table's rounding. */
void gka_gate_element(gka_arith_t *ar, double gamma, void *dst);

/* Replace H by the rounding of the symmetric D x D matrix H (and the mirror by
 * the rounded values), recomputing ||H||_F and lambda (decay ridges keep their
 * lambda). For synthetic problems (the paper's Fig. 1a) and crafted tests. */
gka_status_t gka_stream_set_H(gka_stream_t *st, const double *H);

/* Replace the current query by the rounding of q. */
gka_status_t gka_stream_set_query(gka_stream_t *st, const double *q);

/* y = (H + lambda I) x in the stream's arithmetic (x, y: D elements of
 * st->A): the token-form operator, H x by one gemv then + lambda x. */
void gka_stream_matvec(const gka_stream_t *st, const void *x, void *y);

/* ||(H64 + lambda64 I) x - q64|| / ||q64|| in fp64 for x given as D elements of
 * st->A (x64: D doubles scratch, receives x). */
double gka_stream_rel_residual64(const gka_stream_t *st, const void *x, double *x64);
/* The same for x given as D doubles. */
double gka_stream_rel_residual64_d(const gka_stream_t *st, const double *x64);

/* ---- run driver ---------------------------------------------------------- */

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
