/* Figure `convergence` (paper Fig. 1a): residual against iteration for
 * gradient descent, Nesterov AGD, conjugate gradient (guarded, and plain:
 * textbook CG without a breakdown guard, NaN propagating) and Chebyshev on
 * the paper's synthetic problems (fig_synth.c), in three arithmetics:
 *   fp64        native;
 *   bf16        H, q and the iterates in bf16, fp32 accumulation;
 *   bf16+fp32   the kernels' regime: H and q rounded to bf16 (the state
 *               snapshot the kernels store), iterates and every operation in
 *               fp32.
 * Median and worst over (stream, token); the number of problems whose
 * residual is NaN/Inf at each iteration is a column of its own. */
#include "gka_fig_internal.h"

#include <stdlib.h>

static const char *const conv_formats[] = {"fp64", "bf16", "bf16+fp32"};
static const char *const conv_solvers[] = {"gd", "agd", "cg", "cg-plain", "chebyshev"};
static const double conv_a[] = {0.02};
enum { CONV_NF = 3, CONV_NS = 5 };

static gka_status_t conv_run(const gka_figure_opts_t *opts, gka_progress_t *prog, gka_csv_t *csv) {
    int full = opts->tier == GKA_TIER_FULL;
    gka_fig_synth_t S = {.D = 128,
                         .T = 2048,
                         .nstreams = full ? 64 : 8,
                         .nsample = full ? 8 : 4,
                         .seed = opts->seed,
                         .fig_id = 1,
                         .nformats = CONV_NF,
                         .formats = conv_formats,
                         .nsolvers = CONV_NS,
                         .solvers = conv_solvers,
                         .na = 1,
                         .a = conv_a,
                         .iters = 50,
                         .prog = prog,
                         .hist = NULL};
    gka_fig_synth_meta(&S, csv);
    gka_csv_meta(csv, "a", "0.02");
    gka_csv_meta(csv, "solvers",
                 "gd (step 2/(L+mu)), agd (Nesterov), cg (guarded: stops at a breakdown), "
                 "cg-plain (textbook CG, no guard, NaN propagates), chebyshev; zero start");
    gka_csv_meta(csv, "regimes",
                 "fp64; bf16 (H, q, iterates in bf16, fp32 accumulation); bf16+fp32 (the "
                 "kernels' regime: H and q rounded to bf16, iterates and operations in fp32)");
    gka_csv_header(csv, "format,solver,a,i,residual_median,residual_max,nonfinite");
    gka_status_t st = gka_fig_synth_run(&S, csv);
    free(S.hist);
    return st;
}

const gka_figure_t gka_fig_convergence = {
    "convergence",
    "paper Fig. 1a: residual vs iteration for GD, AGD, CG (guarded, plain), Chebyshev in fp64, "
    "bf16 and the kernels' bf16 state + fp32 iterates",
    conv_run};
