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
#include "gka_figure_internal.h"

#include <stdlib.h>

static gka_status_t conv_run(const gka_figure_opts_t *opts, const gka_figure_params_t *P,
                             gka_progress_t *prog, gka_csv_t *csv) {
    const char *formats[GKA_FP_MAX_ITEMS], *solvers[GKA_FP_MAX_ITEMS];
    gka_figure_synth_t S = gka_figure_synth_from_params(opts, P, 1, prog, formats, solvers);
    gka_figure_synth_meta(&S, csv);
    gka_csv_meta(csv, "solvers_note",
                 "gd (step 2/(L+mu)), agd (Nesterov), cg (guarded: stops at a breakdown), "
                 "cg-plain (textbook CG, no guard, NaN propagates), chebyshev; zero start");
    gka_csv_meta(csv, "regimes",
                 "fp64; bf16 (H, q, iterates in bf16, fp32 accumulation); bf16+fp32 (the "
                 "kernels' regime: H and q rounded to bf16, iterates and operations in fp32)");
    gka_csv_header(csv, "format,solver,a,i,residual_median,residual_max,nonfinite");
    gka_status_t st = gka_figure_synth_run(&S, csv);
    free(S.hist);
    return st;
}

static const gka_figure_param_decl_t conv_params[] = {
    {GKA_FP_D, "head dimension D", {"128", "128"}, 1, 1024, 1, NULL, 0},
    {GKA_FP_T, "tokens T", {"2048", "2048"}, 1, 10000000, 1, NULL, 0},
    {GKA_FP_FORMATS,
     "arithmetics: a format, or STATE+ITERATES (H and q rounded to STATE, iterates in ITERATES)",
     {"fp64,bf16,bf16+fp32", "fp64,bf16,bf16+fp32"},
     0,
     0,
     8,
     NULL,
     GKA_FPF_STATE_ITER},
    {GKA_FP_SOLVERS,
     "solvers (cg-plain: textbook CG, no breakdown guard)",
     {"gd,agd,cg,cg-plain,chebyshev", "gd,agd,cg,cg-plain,chebyshev"},
     0,
     0,
     8,
     "gd|agd|cg|cg-plain|chebyshev",
     0},
    {GKA_FP_A, "fixed ridges a of A = H/||H||_F + a I", {"0.02", "0.02"}, 1e-6, 1e6, 8, NULL, 0},
    {GKA_FP_ITERS, "iterations r", {"50", "50"}, 1, 500, 1, NULL, 0},
};

const gka_figure_t gka_figure_convergence = {
    "convergence",
    "paper Fig. 1a: residual vs iteration for GD, AGD, CG (guarded, plain), Chebyshev in fp64, "
    "bf16 and the kernels' bf16 state + fp32 iterates",
    conv_run, conv_params, sizeof conv_params / sizeof conv_params[0]};
