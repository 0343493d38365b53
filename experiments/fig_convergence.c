/* Figure `convergence` (paper Fig. 1a): residual against iteration for
 * gradient descent, Nesterov AGD, conjugate gradient and Chebyshev on the
 * paper's synthetic problems (fig_synth.c), in fp64 and in bf16 with fp32
 * accumulation; median and worst over (stream, token). */
#include "gka_fig_internal.h"

#include <stdlib.h>

static const char *const conv_formats[] = {"fp64", "bf16"};
static const char *const conv_solvers[] = {"gd", "agd", "cg", "chebyshev"};
static const double conv_a[] = {0.02};

static gka_status_t conv_run(const gka_figure_opts_t *opts, gka_progress_t *prog, gka_csv_t *csv) {
    int full = opts->tier == GKA_TIER_FULL;
    gka_fig_synth_t S = {.D = 128,
                         .T = 2048,
                         .nstreams = full ? 64 : 8,
                         .nsample = full ? 8 : 4,
                         .seed = opts->seed,
                         .fig_id = 1,
                         .nformats = 2,
                         .formats = conv_formats,
                         .nsolvers = 4,
                         .solvers = conv_solvers,
                         .na = 1,
                         .a = conv_a,
                         .iters = 50,
                         .prog = prog,
                         .hist = NULL};
    gka_fig_synth_meta(&S, csv);
    gka_csv_meta(csv, "a", "0.02");
    gka_csv_meta(csv, "solvers", "gd (step 2/(L+mu)), agd (Nesterov), cg, chebyshev; zero start");
    gka_csv_header(csv, "format,solver,a,i,residual_median,residual_max");
    gka_status_t st = gka_fig_synth_run(&S, csv);
    free(S.hist);
    return st;
}

static void conv_plot(FILE *gp, const gka_figure_opts_t *opts) {
    (void)opts;
    fprintf(gp, "solvers = \"gd agd cg chebyshev\"\n"
                "set multiplot layout 1,2\n"
                "set logscale y\n"
                "set format y \"1e%%T\"\n"
                "set xlabel \"iteration i\"\n"
                "set ylabel \"||(H+aI)x_i - q|| / ||q||\" noenhanced\n"
                "set key bottom left font \",7\"\n"
                "set xrange [0:50]\n"
                "do for [F in \"fp64 bf16\"] {\n"
                "  set title sprintf(\"%%s: median (solid) and worst (dashed) over tokens\", F) "
                "noenhanced\n"
                "  plot for [k=1:words(solvers)] data using \"i\":((strcol(\"format\") eq F && "
                "strcol(\"solver\") eq word(solvers,k)) ? column(\"residual_median\") : NaN) \\\n"
                "         with lines lw 2 lc k title word(solvers,k), \\\n"
                "       for [k=1:words(solvers)] data using \"i\":((strcol(\"format\") eq F && "
                "strcol(\"solver\") eq word(solvers,k)) ? column(\"residual_max\") : NaN) \\\n"
                "         with lines dt 2 lc k notitle\n"
                "}\n"
                "unset multiplot\n");
}

const gka_figure_t gka_fig_convergence = {
    "convergence",
    "paper Fig. 1a: residual vs iteration for GD, AGD, CG, Chebyshev in fp64 and bf16",
    conv_run,
    conv_plot,
    10.0,
    4.2};
