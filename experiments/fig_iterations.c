/* Figure `iterations`: the final forward error of Chebyshev against the
 * number of iterations r = 0..60 in each precision, with the error of a
 * direct Cholesky solve in the same precision: where the iteration error
 * meets the precision floor.
 *
 * Chebyshev's schedule does not depend on r, so the iterate x_r of one
 * 60-step run is exactly the result of an r-step run: one run per token with
 * gka_chebyshev_solve (the solver's own recurrence and operator) records the
 * error of every iterate against the fp64 reference x*. */
#include "gka_data.h"
#include "gka_figure_internal.h"
#include "gka_solver.h"
#include "gka_stream.h"
#include "solver_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { ITER_R = 60 };

typedef struct {
    const gka_figure_opts_t *opts;
    gka_progress_t *prog;
    const gka_figure_params_t *P;
    gka_trace_t tr;
    long *samples;
    size_t nsample;
    double *err;  /* [format][sample][ITER_R + 1] */
    double *chol; /* [format][sample] */
} iter_ctx_t;

typedef struct {
    gka_arith_t *A;
    const double *xref;
    double *buf;
    int D;
} err_ctx_t;

static double iterate_error(void *vctx, const void *x) {
    err_ctx_t *c = vctx;
    c->A->to_double(c->A, c->buf, x, (size_t)c->D);
    return gka_figure_rel_error(c->D, c->buf, c->xref);
}

static void matvec_cb(void *ctx, const void *x, void *y) {
    gka_stream_matvec((const gka_stream_t *)ctx, x, y);
}

static gka_status_t iter_job(size_t f, void *vctx, gka_strbuf_t *rows) {
    (void)rows;
    iter_ctx_t *c = vctx;
    const int D = c->tr.D;
    const size_t n = (size_t)D;
    gka_arith_t A;
    gka_stream_t *st = NULL;
    gka_solver_t *chol = NULL;
    void *x = NULL;
    double *xref = malloc(n * sizeof *xref), *buf = malloc(n * sizeof *buf);
    gka_status_t s = (xref && buf) ? gka_figure_arith(&A, gka_figure_item(c->P, GKA_FP_FORMATS, f))
                                   : gka_error(GKA_ENOMEM, "iterations: out of memory");
    if (s != GKA_OK) {
        free(xref);
        free(buf);
        return s;
    }
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, gka_figure_num(c->P, GKA_FP_A, 0)};
    s = gka_stream_create(&st, &A, D, &ridge, 0);
    if (s == GKA_OK) s = gka_solver_create(&chol, "cholesky", NULL, &A, D);
    if (s == GKA_OK && !(x = A.alloc(&A, n)))
        s = gka_error(GKA_ENOMEM, "iterations: out of memory");
    size_t j = 0;
    for (long t = 0; s == GKA_OK && j < c->nsample; t++) {
        s = gka_stream_push(st, c->tr.q + t * D, c->tr.k + t * D, gka_trace_gamma_log(&c->tr, t),
                            gka_trace_beta_at(&c->tr, t), NULL);
        if (s != GKA_OK || t != c->samples[j]) continue;
        double *e = c->err + (f * c->nsample + j) * (ITER_R + 1);
        for (int i = 0; i <= ITER_R; i++)
            e[i] = (double)NAN;
        s = gka_figure_ref_solve(D, st->H64, st->lambda64, st->q64, xref);
        if (s == GKA_OK) {
            err_ctx_t ec = {&A, xref, buf, D};
            int iters = 0;
            gka_reason_t reason;
            s = gka_chebyshev_solve(&A, D, matvec_cb, st, st->q, st->lambda, st->hnorm, ITER_R, 0.0,
                                    NULL, x, iterate_error, &ec, e, &iters, &reason);
            /* stopped early (NaN, divergence): later r give the same x */
            for (int i = iters + 1; s == GKA_OK && i <= ITER_R; i++)
                e[i] = iterate_error(&ec, x);
        } else if (s == GKA_ENUMERIC) {
            s = GKA_OK; /* no reference at this token: errors stay NaN, drawn as failures */
        }
        if (s == GKA_OK) {
            gka_solve_info_t info;
            s = gka_solver_solve(chol, st, x, &info);
            A.to_double(&A, buf, x, n);
            c->chol[f * c->nsample + j] = gka_figure_rel_error(D, buf, xref);
        }
        j++;
        gka_progress_advance(c->prog, 1);
    }
    if (x) A.free(&A, x, n);
    gka_solver_destroy(chol);
    gka_stream_destroy(st);
    gka_arith_destroy(&A);
    free(xref);
    free(buf);
    return s;
}

static gka_status_t iter_run(const gka_figure_opts_t *opts, const gka_figure_params_t *P,
                             gka_progress_t *prog, gka_csv_t *csv) {
    int full = opts->tier == GKA_TIER_FULL;
    int D = gka_figure_int(P, GKA_FP_D);
    long T = gka_figure_int(P, GKA_FP_T);
    const size_t nf = gka_figure_count(P, GKA_FP_FORMATS);
    iter_ctx_t c;
    memset(&c, 0, sizeof c);
    c.opts = opts;
    c.prog = prog;
    c.P = P;
    c.nsample = full ? 24 : 8;
    c.samples = malloc(c.nsample * sizeof *c.samples);
    if (!c.samples) return gka_error(GKA_ENOMEM, "iterations: out of memory");
    c.nsample = gka_figure_sample_tokens(T, c.nsample, c.samples);
    c.err = malloc(nf * c.nsample * (ITER_R + 1) * sizeof *c.err);
    c.chol = malloc(nf * c.nsample * sizeof *c.chol);
    gka_synth_config_t cfg = gka_synth_config_default(D, T, gka_figure_seed(opts->seed, 7, 0));
    gka_status_t st = (c.err && c.chol) ? gka_keys_spec_parse("powerlaw:1", &cfg.keys)
                                        : gka_error(GKA_ENOMEM, "iterations: out of memory");
    if (st == GKA_OK) st = gka_gate_spec_parse("gka", &cfg.gate);
    if (st == GKA_OK) st = gka_synth_generate(&cfg, &c.tr);
    gka_csv_meta(csv, "sampled_tokens", "%zu (geometric in 1..T)", c.nsample);
    gka_csv_meta(csv, "data",
                 "synthetic: keys powerlaw:1, GKA decay gates, queries iid, q and k L2-normalised");
    gka_csv_meta(csv, "ridge", "adaptive:a (a: the parameter a)");
    gka_csv_meta(csv, "solver",
                 "chebyshev (zero start): x_r of one %d-step run = r-step result; "
                 "cholesky in the same arithmetic as the floor",
                 ITER_R);
    gka_csv_meta(csv, "formats_note",
                 "fp64 native; fp32, fp16, bf16, e4m3 emulated (RNE, fp32 accumulation)");
    gka_csv_meta(csv, "columns",
                 "err = ||x_r - x*||/||x*|| against fp64 LAPACK on the stream's "
                 "fp64 mirror problem (inf: NaN/Inf); median and max over sampled "
                 "tokens; u = unit roundoff of the format");
    gka_csv_header(csv, "format,r,err_median,err_max,cholesky_median,cholesky_max,u");
    gka_figure_progress_total(prog, (long)(nf * c.nsample));
    gka_csv_t unused;
    gka_csv_init(&unused);
    if (st == GKA_OK) st = gka_figure_parallel(nf, iter_job, &c, &unused);
    gka_csv_free(&unused);
    double *col = st == GKA_OK ? malloc(c.nsample * sizeof *col) : NULL;
    if (st == GKA_OK && !col) st = gka_error(GKA_ENOMEM, "iterations: out of memory");
    for (size_t f = 0; st == GKA_OK && f < nf; f++) {
        gka_format_t fmt;
        st = gka_format_by_name(gka_figure_item(P, GKA_FP_FORMATS, f), &fmt);
        memcpy(col, c.chol + f * c.nsample, c.nsample * sizeof *col);
        double chol_max = gka_figure_max(col, c.nsample),
               chol_med = gka_figure_median(col, c.nsample);
        char cell[64];
        for (int r = 0; st == GKA_OK && r <= ITER_R; r++) {
            for (size_t j = 0; j < c.nsample; j++)
                col[j] = c.err[(f * c.nsample + j) * (ITER_R + 1) + (size_t)r];
            double mx = gka_figure_max(col, c.nsample), med = gka_figure_median(col, c.nsample);
            gka_csv_row(csv, "%s,%d,%.17g,%.17g,%.17g,%.17g,%.17g",
                        gka_figure_cell(gka_figure_item(P, GKA_FP_FORMATS, f), cell, sizeof cell),
                        r, med, mx, chol_med, chol_max, fmt.u);
        }
    }
    free(col);
    free(c.err);
    free(c.chol);
    free(c.samples);
    gka_trace_free(&c.tr);
    return st;
}

static const gka_figure_param_decl_t iter_params[] = {
    {GKA_FP_D, "head dimension D", {"64", "128"}, 2, 1024, 1, NULL, 0},
    {GKA_FP_T, "tokens T", {"512", "2048"}, 1, 10000000, 1, NULL, 0},
    {GKA_FP_FORMATS,
     "number formats (fp32 accumulation)",
     {"fp64,fp32,fp16,bf16,e4m3", "fp64,fp32,fp16,bf16,e4m3"},
     0,
     0,
     16,
     NULL,
     0},
    GKA_FIGURE_PARAM_ADAPTIVE_A,
};

const gka_figure_t gka_figure_iterations = {
    "iterations", "final Chebyshev error vs r = 0..60 per precision, against the Cholesky floor",
    iter_run, iter_params, sizeof iter_params / sizeof iter_params[0]};
