/* The ridge stream (MATH.md section 1).
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
 * The run driver that feeds a whole sequence through a stream and a solver
 * sits above the solvers: experiments/driver/gka_run.h. */
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

#ifdef __cplusplus
}
#endif
#endif
