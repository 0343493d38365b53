/* Figure `ridge-sweep` (paper Fig. 8): Chebyshev's regularised residual
 * ||(H + a I) x_i - q|| against iteration for a in {0.01, 0.02, 0.05, 0.1} on
 * the paper's synthetic problems (fig_synth.c), fp64 and bf16 with fp32
 * accumulation; worst (and median) over (stream, token). */
#include "gka_fig_internal.h"

#include <stdlib.h>

static const char *const sweep_formats[] = {"fp64", "bf16"};
static const char *const sweep_solvers[] = {"chebyshev"};
static const double sweep_a[] = {0.01, 0.02, 0.05, 0.1};

static gka_status_t sweep_run(const gka_figure_opts_t *opts, gka_progress_t *prog, gka_csv_t *csv) {
    int full = opts->tier == GKA_TIER_FULL;
    gka_fig_synth_t S = {.D = 128,
                         .T = 2048,
                         .nstreams = full ? 64 : 8,
                         .nsample = full ? 8 : 4,
                         .seed = opts->seed,
                         .fig_id = 2,
                         .nformats = 2,
                         .formats = sweep_formats,
                         .nsolvers = 1,
                         .solvers = sweep_solvers,
                         .na = 4,
                         .a = sweep_a,
                         .iters = 50,
                         .prog = prog,
                         .hist = NULL};
    gka_fig_synth_meta(&S, csv);
    gka_csv_meta(csv, "a_values", "0.01 0.02 0.05 0.1");
    gka_csv_meta(csv, "solvers", "chebyshev (zero start, mu = a, L = ||H||_F + a)");
    gka_csv_header(csv, "format,solver,a,i,residual_median,residual_max,nonfinite");
    gka_status_t st = gka_fig_synth_run(&S, csv);
    free(S.hist);
    return st;
}

const gka_figure_t gka_fig_ridge_sweep = {
    "ridge-sweep",
    "paper Fig. 8: worst regularised residual vs iteration for a in {0.01,0.02,0.05,0.1}",
    sweep_run};
