/* Figure `omega`: the Chebyshev schedule omega_i (MATH.md section 2) for several ridge
 * ratios a, against its limit omega* and the paper's convergence bound
 * 2 R^i / (1 + R^(2i)), R = (sqrt(kappa) - 1) / (sqrt(kappa) + 1),
 * kappa = (1 + a) / a; with the residuals that the project's Chebyshev solver
 * (fp64) actually reaches on a synthetic stream, median and worst over tokens.
 * The schedule is also evaluated in fp32 and bf16 (one rounding per
 * operation, as a kernel keeping omega in that format would). */
#include "gka_data.h"
#include "gka_figure_internal.h"
#include "gka_solver.h"
#include "gka_stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { OMEGA_R = 60 };

typedef struct {
    const gka_figure_opts_t *opts;
    gka_progress_t *prog;
    const double *a; /* ridge ratios, one job each */
    int D;
    long T;
    size_t nsample; /* actual count of samples[] */
    const long *samples;
} omega_ctx_t;

/* The paper's bound 2 R^i / (1 + R^2i), kappa = (1 + a) / a. */
static double paper_bound(double a, int i) {
    return gka_cheb_bound_d(gka_cheb_R_d((1.0 + a) / a), i);
}

/* Residual histories of the fp64 Chebyshev solver at sampled tokens:
 * res[s * (R+1) + i]. */
static gka_status_t measure(const omega_ctx_t *c, double a, double *res) {
    gka_synth_config_t cfg =
        gka_synth_config_default(c->D, c->T, gka_figure_seed(c->opts->seed, 6, 0));
    gka_trace_t tr = {0};
    gka_status_t st = gka_synth_generate(&cfg, &tr);
    if (st != GKA_OK) return st;
    gka_arith_t A;
    gka_stream_t *stream = NULL;
    gka_solver_t *solver = NULL;
    void *x = NULL;
    const long *samples = c->samples;
    st = gka_arith_init_fp64(&A);
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, a};
    gka_solver_opts_t so = gka_solver_opts_default();
    so.iters = OMEGA_R;
    so.history = 1;
    if (st == GKA_OK) st = gka_stream_create(&stream, &A, c->D, &ridge, 0);
    if (st == GKA_OK) st = gka_solver_create(&solver, "chebyshev", &so, &A, c->D);
    if (st == GKA_OK && !(x = A.alloc(&A, (size_t)c->D)))
        st = gka_error(GKA_ENOMEM, "omega: out of memory");
    size_t ns = st == GKA_OK ? c->nsample : 0;
    size_t s = 0;
    for (long t = 0; st == GKA_OK && t < c->T && s < ns; t++) {
        st = gka_stream_push(stream, tr.q + t * c->D, tr.k + t * c->D, 0.0, 1.0, NULL);
        if (st != GKA_OK || t != samples[s]) continue;
        gka_solve_info_t info;
        st = gka_solver_solve(solver, stream, x, &info);
        if (st == GKA_OK && info.nhistory != OMEGA_R + 1)
            st = gka_error(GKA_EINVAL, "omega: chebyshev gave %d residuals, expected %d",
                           info.nhistory, OMEGA_R + 1);
        for (int i = 0; st == GKA_OK && i <= OMEGA_R; i++)
            res[s * (OMEGA_R + 1) + (size_t)i] = info.history[i];
        s++;
        gka_progress_advance(c->prog, 1);
    }
    if (x) A.free(&A, x, (size_t)c->D);
    gka_solver_destroy(solver);
    gka_stream_destroy(stream);
    gka_arith_destroy(&A);
    gka_trace_free(&tr);
    return st;
}

static gka_status_t omega_job(size_t j, void *vctx, gka_strbuf_t *rows) {
    const omega_ctx_t *c = vctx;
    double a = c->a[j];
    double rho = 1.0 / (1.0 + 2.0 * a);
    double om64[OMEGA_R + 1], om32[OMEGA_R + 1], om16[OMEGA_R + 1];
    gka_arith_t A64, A32, A16;
    gka_status_t st = gka_arith_init_fp64(&A64);
    if (st == GKA_OK) st = gka_figure_arith(&A32, "fp32");
    if (st == GKA_OK) st = gka_figure_arith(&A16, "bf16");
    if (st != GKA_OK) return st;
    st = gka_cheb_omegas(&A64, rho, OMEGA_R, om64);
    if (st == GKA_OK) st = gka_cheb_omegas(&A32, rho, OMEGA_R, om32);
    if (st == GKA_OK) st = gka_cheb_omegas(&A16, rho, OMEGA_R, om16);
    gka_arith_destroy(&A64);
    gka_arith_destroy(&A32);
    gka_arith_destroy(&A16);
    double omega_star = gka_cheb_omega_star_d(rho);
    double *res = calloc(c->nsample * (OMEGA_R + 1), sizeof *res);
    double *col = calloc(c->nsample, sizeof *col);
    if (!res || !col) st = gka_error(GKA_ENOMEM, "omega: out of memory");
    if (st == GKA_OK) st = measure(c, a, res);
    for (int i = 0; st == GKA_OK && i <= OMEGA_R; i++) {
        for (size_t s = 0; s < c->nsample; s++)
            col[s] = res[s * (OMEGA_R + 1) + (size_t)i];
        double worst = gka_figure_max(col, c->nsample);
        double med = gka_figure_median(col, c->nsample);
        gka_strbuf_printf(rows, "%.17g,%d,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", a, i,
                          om64[i], om32[i], om16[i], omega_star, rho, paper_bound(a, i), med,
                          worst);
    }
    free(res);
    free(col);
    return st;
}

static gka_status_t omega_run(const gka_figure_opts_t *opts, const gka_figure_params_t *P,
                              gka_progress_t *prog, gka_csv_t *csv) {
    long samples[64];
    long T = gka_figure_int(P, GKA_FP_T);
    size_t ns = gka_figure_sample_tokens(T, opts->tier == GKA_TIER_FULL ? 64 : 16, samples);
    omega_ctx_t c = {opts, prog, P->num[GKA_FP_A], gka_figure_int(P, GKA_FP_D), T, ns, samples};
    const size_t na = gka_figure_count(P, GKA_FP_A);
    gka_csv_meta(csv, "iterations", "%d", OMEGA_R);
    gka_csv_meta(csv, "sampled_tokens", "%zu (geometric in 1..T)", c.nsample);
    gka_csv_meta(csv, "data", "synthetic: iid normal keys and queries, L2-normalised, no gates");
    gka_csv_meta(csv, "solver", "chebyshev fp64, zero start, adaptive lambda = a ||H_t||_F");
    gka_csv_meta(
        csv, "columns",
        "omega_fp64/fp32/bf16 = MATH.md section 2 recurrence in that arithmetic; omega_star = "
        "2(1-sqrt(1-rho^2))/rho^2; bound = 2R^i/(1+R^2i), kappa=(1+a)/a; "
        "residual_* = ||(H+lambda I)x_i - q||/||q|| over sampled tokens");
    gka_csv_header(csv, "a,i,omega_fp64,omega_fp32,omega_bf16,omega_star,rho,bound,"
                        "residual_median,residual_max");
    gka_figure_progress_total(prog, (long)(na * c.nsample));
    return gka_figure_parallel(na, omega_job, &c, csv);
}

static const gka_figure_param_decl_t omega_params[] = {
    {GKA_FP_D, "head dimension D", {"128", "128"}, 1, 1024, 1, NULL, 0},
    {GKA_FP_T, "tokens T", {"256", "2048"}, 1, 10000000, 1, NULL, 0},
    {GKA_FP_A,
     "ridge ratios a (adaptive ridge a ||H_t||_F; kappa = (1+a)/a)",
     {"0.01,0.02,0.05,0.1", "0.01,0.02,0.05,0.1"},
     1e-6,
     1e6,
     8,
     NULL,
     0},
};

const gka_figure_t gka_figure_omega = {
    "omega",
    "Chebyshev omega_i schedule vs omega* and the bound 2R^i/(1+R^2i), with measured residuals",
    omega_run, omega_params, sizeof omega_params / sizeof omega_params[0]};
