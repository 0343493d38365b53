/* Figure `ridge-sweep` (paper Fig. 8): Chebyshev's regularised residual
 * ||(H + a I) x_i - q|| against iteration for a in {0.01, 0.02, 0.05, 0.1} on
 * the paper's synthetic problems (fig_synth.c), fp64 and bf16 with fp32
 * accumulation; worst (and median) over (stream, token). */
#include "gka_figure_internal.h"

#include <stdlib.h>

static gka_status_t sweep_run(const gka_figure_opts_t *opts, const gka_figure_params_t *P,
                              gka_progress_t *prog, gka_csv_t *csv) {
    const char *formats[GKA_FP_MAX_ITEMS], *solvers[GKA_FP_MAX_ITEMS];
    gka_figure_synth_t S = gka_figure_synth_from_params(opts, P, 2, prog, formats, solvers);
    gka_figure_synth_meta(&S, csv);
    gka_csv_meta(csv, "solvers_note", "chebyshev (zero start, mu = a, L = ||H||_F + a)");
    gka_csv_header(csv, "format,solver,a,i,residual_median,residual_max,nonfinite");
    gka_status_t st = gka_figure_synth_run(&S, csv);
    free(S.hist);
    return st;
}

static const gka_figure_param_decl_t sweep_params[] = {
    {GKA_FP_D, "head dimension D", {"128", "128"}, 1, 1024, 1, NULL, 0},
    {GKA_FP_T, "tokens T", {"2048", "2048"}, 1, 10000000, 1, NULL, 0},
    {GKA_FP_FORMATS,
     "arithmetics: a format, or STATE+ITERATES (H and q rounded to STATE, iterates in ITERATES)",
     {"fp64,bf16", "fp64,bf16"},
     0,
     0,
     8,
     NULL,
     GKA_FPF_STATE_ITER},
    {GKA_FP_SOLVERS,
     "solvers (cg-plain: textbook CG, no breakdown guard)",
     {"chebyshev", "chebyshev"},
     0,
     0,
     8,
     "gd|agd|cg|cg-plain|chebyshev",
     0},
    {GKA_FP_A,
     "fixed ridges a of A = H/||H||_F + a I",
     {"0.01,0.02,0.05,0.1", "0.01,0.02,0.05,0.1"},
     1e-6,
     1e6,
     8,
     NULL,
     0},
    {GKA_FP_ITERS, "iterations r", {"50", "50"}, 1, 500, 1, NULL, 0},
};

const gka_figure_t gka_figure_ridge_sweep = {
    "ridge-sweep",
    "paper Fig. 8: worst regularised residual vs iteration for a in {0.01,0.02,0.05,0.1}",
    sweep_run, sweep_params, sizeof sweep_params / sizeof sweep_params[0]};
