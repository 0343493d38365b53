/* Shared by the figure files (experiments/fig_*.c): the registry entries and
 * small helpers. Not installed as a public header. */
#ifndef GKA_FIG_INTERNAL_H
#define GKA_FIG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gka_arith.h"
#include "gka_figure.h"

extern const gka_figure_t gka_figure_convergence;
extern const gka_figure_t gka_figure_ridge_sweep;
extern const gka_figure_t gka_figure_reversibility;
extern const gka_figure_t gka_figure_precision;
extern const gka_figure_t gka_figure_kappa;
extern const gka_figure_t gka_figure_omega;
extern const gka_figure_t gka_figure_iterations;
extern const gka_figure_t gka_figure_trace;
extern const gka_figure_t gka_figure_gradients;
extern const gka_figure_t gka_figure_solvers;

/* Set the amount of work the progress bar measures. */
void gka_figure_progress_total(gka_progress_t *p, long total);

/* The arithmetic of a precision study: "fp64" (native) or an emulated format
 * name (fp32, fp16, bf16, e4m3, ...) with round-to-nearest-even storage and
 * fp32 accumulation of dot products and matrix-vector products (as tensor
 * cores do; for fp32 itself this is plain fp32). */
gka_status_t gka_figure_arith(gka_arith_t *A, const char *format);

/* Up to n token indices in [0, T), roughly geometric from 0 to T - 1 (both
 * included), strictly increasing. Returns the count. */
size_t gka_figure_sample_tokens(long T, size_t n, long *out);

/* Median and maximum of n values; NaN and Inf count as +Inf (a failure is
 * the worst case, never skipped). v is reordered. */
double gka_figure_median(double *v, size_t n);
double gka_figure_max(const double *v, size_t n);

/* fp64 reference solve / condition number, GKA_EUNSUP in a build without
 * LAPACK (the minimal GPU build). */
gka_status_t gka_figure_ref_solve(int D, const double *H, double lambda, const double *q,
                                  double *x);
gka_status_t gka_figure_ref_kappa(int D, const double *H, double lambda, double *kappa);
gka_status_t gka_figure_ref_eig(int D, const double *S, double *eig_min, double *eig_max);

/* The relative forward error ||x - x_ref|| / ||x_ref||, +Inf if x has a
 * NaN or Inf (a NaN never passes). */
double gka_figure_rel_error(int D, const double *x, const double *x_ref);

/* The declaration of a figure's one adaptive ridge ratio a (lambda_t =
 * a ||H_t||_F), 0.02 at both tiers, shared by the figures that take it. */
#define GKA_FIGURE_PARAM_ADAPTIVE_A                                                                \
    {                                                                                              \
        GKA_FP_A, "ridge ratio a of the adaptive ridge a ||H_t||_F", {"0.02", "0.02"}, 1e-6, 1e6,  \
            1, NULL, 0                                                                             \
    }

/* The paper's synthetic problems (fig_synth.c): nstreams streams of T
 * normalised iid keys/queries; at nsample tokens per stream,
 * H = cumulative k k^T / ||.||_F with a fixed ridge a. Every (format, solver,
 * a) combination runs on every problem with its residual history kept. */
typedef struct gka_figure_synth {
    int D;
    long T;
    size_t nstreams, nsample;
    uint64_t seed, fig_id;
    size_t nformats;
    const char *const *formats;
    size_t nsolvers;
    const char *const *solvers;
    size_t na;
    const double *a;
    int iters;
    gka_progress_t *prog;
    double *hist; /* filled by gka_figure_synth_run; caller frees */
} gka_figure_synth_t;

/* The experiment as a figure's parameters give it (D, T, formats, solvers,
 * a, iters) at its tier: 64 problems of 8 sampled tokens at the full tier, 8
 * of 4 at the quick one. The result points into formats[] and solvers[], the
 * caller's arrays of GKA_FP_MAX_ITEMS names, which must outlive it. */
gka_figure_synth_t gka_figure_synth_from_params(const gka_figure_opts_t *opts,
                                                const gka_figure_params_t *P, uint64_t fig_id,
                                                gka_progress_t *prog, const char **formats,
                                                const char **solvers);
size_t gka_figure_synth_ncombo(const gka_figure_synth_t *S);
void gka_figure_synth_meta(const gka_figure_synth_t *S, gka_csv_t *csv);
/* formats: "F" (state, query and iterates in F) or "S+I" (H and q rounded to
 * S, iterates in I: the kernels' "bf16+fp32"); solvers: "NAME" or
 * "NAME-VARIANT" ("cg-plain"). Runs all problems (parallel over streams),
 * then appends rows "format,solver,a,i,residual_median,residual_max,
 * nonfinite" in a fixed order (nonfinite: problems with a NaN/Inf residual). */
gka_status_t gka_figure_synth_run(gka_figure_synth_t *S, gka_csv_t *csv);

/* gka_cg_solve itself (zero start, no tolerance), with a step hook recording
 * alpha_i, beta_i, p_i^T A p_i and r_i^T r_i for i = 1..r (arrays of r).
 * Returns the iterations done; x receives the iterate (D elements of st->A). */
struct gka_stream;
int gka_figure_cg_trace(const struct gka_stream *st, int r, void *x, double *alpha, double *beta,
                        double *pAp, double *rr);

/* The `precision` panel engine (fig_precision.c), shared with `trace`: one
 * stream in one format and ridge, the token-form solvers (kalman info/joseph,
 * cg, chebyshev, cholesky: state H_t stored in the format every token) and
 * the chunk-form chebyshev (chunk size C, fp32 iterates, solvers' chunker),
 * errors against each form's fp64 reference at sampled tokens.
 * Rows: gka_figure_panel_header(). */
struct gka_trace;
typedef struct gka_figure_panel {
    const struct gka_trace *trace;
    long T;             /* tokens used (<= trace->T) */
    int use_gates;      /* 1: the trace's g and beta; 0: none */
    const char *gating; /* label */
    const long *samples;
    size_t nsample;
    gka_progress_t *prog;
    const char *ridge; /* "adaptive:0.02", "fixed:0.25", ... (no decay: the chunker refuses it) */
    const char *format;
    int chunk; /* C of the chunk form */
} gka_figure_panel_t;
/* The parameters both panel figures take (formats, ridges, chunk), with
 * the paper's values as every tier's default. */
#define GKA_FIGURE_PANEL_PARAMS                                                                    \
    {GKA_FP_FORMATS,                                                                               \
     "number formats (fp32 accumulation)",                                                         \
     {"fp64,fp32,fp16,bf16,e4m3", "fp64,fp32,fp16,bf16,e4m3"},                                     \
     0,                                                                                            \
     0,                                                                                            \
     16,                                                                                           \
     NULL,                                                                                         \
     0},                                                                                           \
        {GKA_FP_RIDGES,                                                                            \
         "ridges: adaptive:A or fixed:LAMBDA (the chunk form takes no decay ridge)",               \
         {"adaptive:0.02,fixed:0.25,fixed:0.02", "adaptive:0.02,fixed:0.25,fixed:0.02"},           \
         0,                                                                                        \
         0,                                                                                        \
         8,                                                                                        \
         NULL,                                                                                     \
         GKA_FPF_NO_DECAY},                                                                        \
    {                                                                                              \
        GKA_FP_CHUNK, "chunk size C of the chunk-form chebyshev", {"64", "64"}, 1, 4096, 1, NULL,  \
            0                                                                                      \
    }
/* Panels per gating: ridges x formats of P; configuration i (ridge-major)
 * into cfg's ridge, format and chunk. */
size_t gka_figure_panel_nconfig(const gka_figure_params_t *P);
void gka_figure_panel_config(const gka_figure_params_t *P, size_t i, gka_figure_panel_t *cfg);
gka_status_t gka_figure_panel_run(const gka_figure_panel_t *cfg, gka_strbuf_t *rows);
void gka_figure_panel_meta(gka_csv_t *csv, int chunk);
const char *gka_figure_panel_header(void);

#endif
