/* Figure `precision` (claimed in the paper, never plotted): relative forward
 * error ||x_t - x*_t|| / ||x*_t|| against token t for the Kalman recursion
 * (plain information form and the stabilised Joseph form), CG (r = 30),
 * Chebyshev (r = 30) and Cholesky, under fp64, fp32, fp16, bf16 and fp8 e4m3
 * (fp32 accumulation), with the adaptive ridge (a = 0.02) and fixed ridges
 * 0.25 and 0.02, ungated and with GKA decay gates. Formats, ridges (fixed
 * and adaptive: the chunker refuses decay) and C are parameters (--formats,
 * --ridges, --chunk); those are the defaults.
 *
 * Two regimes, labelled apart:
 *  - token form (labels *-token): the state H_t is stored in the studied
 *    format and updated token by token (H_t = gamma H_{t-1} + k k^T rounded
 *    every token); the solver's iterates are in that format too.
 *  - chunk form (chebyshev-chunk): MATH.md section 3, as the paper's kernels and
 *    `gka solve --chunk 64` run it: chunks of C = 64 tokens, the running
 *    state carried in fp32 and the chunk start states (snapshots) rounded to
 *    the studied format, within a chunk the operator applied as
 *    exp(G_c) H_0 x + K^T((K x) o M_{:,c}) with fp32 accumulation, iterates
 *    and omega in fp32 (fp64 throughout under fp64). It is b2's chunker
 *    (solvers/chebyshev_chunk.c), asked to solve only the sampled tokens.
 *
 * x*_t is the fp64 LAPACK solution of the fp64 mirror problem of each form:
 * the same rounded inputs, H and lambda in fp64 (gka_stream.h; for the chunk
 * form an fp64 stream fed the chunker's rounded inputs, as gka_run does). The
 * Kalman recursion is fed every token (it must absorb each key); the others
 * and the references are evaluated at sampled tokens. The panel engine below
 * is shared with figure `trace`. */
#include "gka_chunker.h"
#include "gka_data.h"
#include "gka_figure_internal.h"
#include "gka_io.h"
#include "gka_solver.h"
#include "gka_run.h"
#include "gka_stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Token-form solvers 0..4 (the solver objects), then the chunk form. */
enum { PANEL_NTOKEN = 5, PANEL_CHUNK = 5, PANEL_NSOLVER = 6 };
static const char *const panel_solver[PANEL_NTOKEN] = {"kalman", "kalman", "cg", "chebyshev",
                                                       "cholesky"};
static const char *const panel_variant[PANEL_NTOKEN] = {"info", "joseph", "", "", ""};
static const char *const panel_label[PANEL_NSOLVER] = {"kalman-token",   "kalman-joseph-token",
                                                       "cg-token",       "chebyshev-token",
                                                       "cholesky-token", "chebyshev-chunk"};

static int is_recursive(int s) {
    return !strcmp(panel_solver[s], "kalman");
}

/* The chunk form's state: the chunker, the chunk being gathered, and the fp64
 * stream of its rounded inputs (its reference problem). */
typedef struct {
    gka_arith_t Ai, A64;
    int have_Ai;
    gka_chebyshev_chunker_t *ck;
    gka_stream_t *ref;
    double *q, *k, *g, *beta, *x, *qu, *ku, *gu, *bu;
    unsigned char *sel; /* C: the chunk's tokens to solve */
    int C;
    long t0;   /* first token of the chunk being gathered */
    size_t js; /* next sample index the chunk form will meet */
} chunk_form_t;

typedef struct {
    gka_arith_t A;
    int have_A;
    gka_stream_t *st;
    gka_solver_t *sv[PANEL_NTOKEN];
    void *x;
    double *x64, *xref;
    gka_strbuf_t part[PANEL_NSOLVER];
    chunk_form_t cf;
} panel_t;

static void chunk_form_free(chunk_form_t *cf) {
    gka_chunker_destroy(cf->ck);
    gka_stream_destroy(cf->ref);
    if (cf->have_Ai) gka_arith_destroy(&cf->Ai);
    free(cf->sel);
    double *bufs[] = {cf->q, cf->k, cf->g, cf->beta, cf->x, cf->qu, cf->ku, cf->gu, cf->bu};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
}

/* Iterates in fp32 (rounded, as gka_run's default), or in the state's
 * arithmetic when that is fp64. */
static gka_status_t chunk_form_init(chunk_form_t *cf, gka_arith_t *As, const char *format,
                                    const gka_ridge_t *ridge, int D, int C) {
    gka_arith_t *Ai = As;
    gka_status_t st = GKA_OK;
    if (strcmp(format, "fp64") != 0) {
        st = gka_arith_init_by_name(&cf->Ai, "fp32", "round", NULL, 0);
        if (st != GKA_OK) return st;
        cf->have_Ai = 1;
        Ai = &cf->Ai;
    }
    gka_arith_init_fp64(&cf->A64);
    cf->C = C;
    st = gka_chunker_create(&cf->ck, As, Ai, D, C, ridge, 30);
    /* the running state carried in the iterates' fp32, snapshots rounded to
     * the format: the kernels' model and gka_run's default carry */
    if (st == GKA_OK) st = gka_chunker_set_carry(cf->ck, Ai);
    if (st == GKA_OK) st = gka_stream_create(&cf->ref, &cf->A64, D, ridge, 0);
    if (st != GKA_OK) return st;
    if (!(cf->sel = calloc((size_t)C, 1))) return gka_error(GKA_ENOMEM, "precision: out of memory");
    gka_chunker_select(cf->ck, cf->sel);
    const size_t n = (size_t)C * (size_t)D;
    double **vec[] = {&cf->q, &cf->k, &cf->x, &cf->qu, &cf->ku};
    double **sca[] = {&cf->g, &cf->beta, &cf->gu, &cf->bu};
    int ok = 1;
    for (size_t i = 0; i < 5; i++)
        ok = ok && (*vec[i] = malloc(n * sizeof(double)));
    for (size_t i = 0; i < 4; i++)
        ok = ok && (*sca[i] = malloc((size_t)C * sizeof(double)));
    return ok ? GKA_OK : gka_error(GKA_ENOMEM, "precision: out of memory");
}

static void panel_free(panel_t *p, int D) {
    for (int s = 0; s < PANEL_NTOKEN; s++)
        gka_solver_destroy(p->sv[s]);
    for (int s = 0; s < PANEL_NSOLVER; s++)
        gka_strbuf_free(&p->part[s]);
    chunk_form_free(&p->cf);
    gka_stream_destroy(p->st);
    if (p->x) p->A.free(&p->A, p->x, (size_t)D);
    if (p->have_A) gka_arith_destroy(&p->A);
    free(p->x64);
    free(p->xref);
}

static gka_status_t panel_init(panel_t *p, const gka_figure_panel_t *cfg, int D) {
    memset(p, 0, sizeof *p);
    for (int s = 0; s < PANEL_NSOLVER; s++)
        gka_strbuf_init(&p->part[s]);
    gka_status_t st = gka_figure_arith(&p->A, cfg->format);
    if (st != GKA_OK) return st;
    p->have_A = 1;
    gka_ridge_t ridge;
    st = gka_ridge_parse(cfg->ridge, &ridge);
    if (st == GKA_OK) st = gka_stream_create(&p->st, &p->A, D, &ridge, 0);
    for (int s = 0; st == GKA_OK && s < PANEL_NTOKEN; s++) {
        gka_solver_opts_t so = gka_solver_opts_default();
        so.iters = 30;
        snprintf(so.variant, sizeof so.variant, "%s", panel_variant[s]);
        st = gka_solver_create(&p->sv[s], panel_solver[s], &so, &p->A, D);
    }
    if (st == GKA_OK) st = chunk_form_init(&p->cf, &p->A, cfg->format, &ridge, D, cfg->chunk);
    p->x = st == GKA_OK ? p->A.alloc(&p->A, (size_t)D) : NULL;
    p->x64 = malloc((size_t)D * sizeof *p->x64);
    p->xref = malloc((size_t)D * sizeof *p->xref);
    if (st == GKA_OK && (!p->x || !p->x64 || !p->xref))
        st = gka_error(GKA_ENOMEM, "precision: out of memory");
    return st;
}

static void panel_row(panel_t *p, const gka_figure_panel_t *cfg, int s, long t, double err,
                      gka_status_t ref) {
    char format[64];
    gka_strbuf_printf(&p->part[s], "%s,%s,%s,%s,%ld,%.17g,%d\n", cfg->gating, cfg->ridge,
                      gka_figure_cell(cfg->format, format, sizeof format), panel_label[s], t + 1,
                      err, ref == GKA_OK ? 0 : 1);
}

/* One sampled token: reference, then every token-form solver's error. */
static gka_status_t panel_sample(panel_t *p, const gka_figure_panel_t *cfg, int D, long t) {
    const gka_stream_t *st = p->st;
    gka_status_t ref = gka_figure_ref_solve(D, st->H64, st->lambda64, st->q64, p->xref);
    if (ref == GKA_EUNSUP) return ref;
    for (int s = 0; s < PANEL_NTOKEN; s++) {
        /* every solver solves this token here (the recursive ones absorb it) */
        gka_solve_info_t info;
        gka_status_t e = gka_solver_solve(p->sv[s], st, p->x, &info);
        if (e != GKA_OK) return e;
        double err = (double)NAN;
        p->A.to_double(&p->A, p->x64, p->x, (size_t)D);
        if (ref == GKA_OK) err = gka_figure_rel_error(D, p->x64, p->xref);
        panel_row(p, cfg, s, t, err, ref);
    }
    return GKA_OK;
}

/* The chunk form: gather token t; at the end of a chunk (or of the run),
 * solve its sampled tokens and measure them against the chunk form's own
 * fp64 reference problem. */
static gka_status_t chunk_form_token(panel_t *p, const gka_figure_panel_t *cfg, int D, long t,
                                     double g, double beta) {
    chunk_form_t *cf = &p->cf;
    const size_t d = (size_t)D, j = (size_t)(t - cf->t0);
    memcpy(cf->q + j * d, cfg->trace->q + t * D, d * sizeof(double));
    memcpy(cf->k + j * d, cfg->trace->k + t * D, d * sizeof(double));
    cf->g[j] = g;
    cf->beta[j] = beta;
    if (j + 1 < (size_t)cf->C && t + 1 < cfg->T) return GKA_OK;
    const int n = (int)j + 1;
    size_t js = cf->js;
    for (int i = 0; i < n; i++) {
        cf->sel[i] = js < cfg->nsample && cfg->samples[js] == cf->t0 + i;
        js += cf->sel[i];
    }
    gka_status_t st = gka_chunker_run(cf->ck, n, cf->q, cf->k, cf->g, cf->beta, cf->x, NULL, NULL,
                                      NULL, cf->qu, cf->ku, cf->gu, cf->bu);
    for (int i = 0; st == GKA_OK && i < n; i++) {
        st = gka_stream_push(cf->ref, cf->qu + (size_t)i * d, cf->ku + (size_t)i * d, cf->gu[i],
                             cf->bu[i], NULL);
        if (st != GKA_OK || !cf->sel[i]) continue;
        const gka_stream_t *r = cf->ref;
        gka_status_t ref = gka_figure_ref_solve(D, r->H64, r->lambda64, r->q64, p->xref);
        if (ref == GKA_EUNSUP) return ref;
        double err =
            ref == GKA_OK ? gka_figure_rel_error(D, cf->x + (size_t)i * d, p->xref) : (double)NAN;
        panel_row(p, cfg, PANEL_CHUNK, cf->t0 + i, err, ref);
        cf->js++;
    }
    cf->t0 = t + 1;
    return st;
}

gka_status_t gka_figure_panel_run(const gka_figure_panel_t *cfg, gka_strbuf_t *rows) {
    const gka_trace_t *tr = cfg->trace;
    const int D = tr->D;
    panel_t p;
    gka_status_t st = panel_init(&p, cfg, D);
    size_t j = 0;
    for (long t = 0; st == GKA_OK && t < cfg->T; t++) {
        double g = cfg->use_gates ? gka_trace_gamma_log(tr, t) : 0.0;
        double beta = cfg->use_gates ? gka_trace_beta_at(tr, t) : 1.0;
        st = gka_stream_push(p.st, tr->q + t * D, tr->k + t * D, g, beta, NULL);
        int sampled = j < cfg->nsample && cfg->samples[j] == t;
        /* Kalman absorbs every token; at sampled tokens panel_sample solves. */
        for (int s = 0; st == GKA_OK && !sampled && s < PANEL_NTOKEN; s++) {
            if (!is_recursive(s)) continue;
            gka_solve_info_t info;
            st = gka_solver_solve(p.sv[s], p.st, p.x, &info);
        }
        if (st == GKA_OK && sampled) {
            st = panel_sample(&p, cfg, D, t);
            j++;
        }
        if (st == GKA_OK) st = chunk_form_token(&p, cfg, D, t, g, beta);
        if ((t & 255) == 255) {
            if (gka_interrupted()) st = gka_error(GKA_EINTR, "interrupted");
            gka_progress_advance(cfg->prog, 256);
        }
    }
    gka_progress_advance(cfg->prog, cfg->T & 255);
    for (int s = 0; st == GKA_OK && s < PANEL_NSOLVER; s++) {
        if (p.part[s].status != GKA_OK)
            st = gka_error(GKA_ENOMEM, "precision: out of memory");
        else if (p.part[s].len)
            gka_strbuf_append(rows, p.part[s].data, p.part[s].len);
    }
    panel_free(&p, D);
    return st;
}

void gka_figure_panel_meta(gka_csv_t *csv, int chunk) {
    gka_csv_meta(csv, "solvers_note",
                 "token form (state H_t stored in the format, rounded every "
                 "token; iterates in the format): kalman-token (info form, P_0 = "
                 "I/lambda_init), kalman-joseph-token (Joseph form, symmetrised), "
                 "cg-token (r=30), chebyshev-token (r=30), cholesky-token; chunk "
                 "form: chebyshev-chunk (r=30, C=%d, MATH.md section 3, as gka solve --chunk "
                 "%d)",
                 chunk, chunk);
    gka_csv_meta(csv, "chunk_form",
                 "running chunk state carried in fp32 (the kernels' model; fp64 under fp64), "
                 "chunk start states (snapshots) rounded to the format, inputs rounded to it; "
                 "operator exp(G_c) H_0 x + K^T((K x) o M_c) + lambda_c x and "
                 "||H_c||_F by the chunk norm formula in fp32; iterates and "
                 "omega fp32 (fp64 under fp64)");
    gka_csv_meta(csv, "formats_note",
                 "fp64 native; the others emulated (RNE, fp32 "
                 "accumulation of dot/gemv; e4m3 overflow gives NaN)");
    gka_csv_meta(csv, "ridges_note", "adaptive:A: lambda_t = A ||H_t||_F; fixed:L: lambda = L");
    gka_csv_meta(csv, "reference",
                 "x* = fp64 LAPACK Cholesky of each form's fp64 mirror problem "
                 "(same rounded inputs)");
    gka_csv_meta(csv, "columns",
                 "t = tokens seen (1-based); err = ||x - x*||/||x*|| (inf: "
                 "NaN/Inf in x); ref_failed = 1 if the fp64 reference failed");
}

size_t gka_figure_panel_nconfig(const gka_figure_params_t *P) {
    return gka_figure_count(P, GKA_FP_RIDGES) * gka_figure_count(P, GKA_FP_FORMATS);
}

void gka_figure_panel_config(const gka_figure_params_t *P, size_t i, gka_figure_panel_t *cfg) {
    const size_t nf = gka_figure_count(P, GKA_FP_FORMATS);
    cfg->ridge = gka_figure_item(P, GKA_FP_RIDGES, i / nf);
    cfg->format = gka_figure_item(P, GKA_FP_FORMATS, i % nf);
    cfg->chunk = gka_figure_int(P, GKA_FP_CHUNK);
}

const char *gka_figure_panel_header(void) {
    return "gating,ridge,format,solver,t,err,ref_failed";
}

/* ---- the figure ---------------------------------------------------------- */

typedef struct {
    gka_trace_t tr[2]; /* ungated, gated */
    long T;
    long *samples;
    size_t nsample;
    gka_progress_t *prog;
    const gka_figure_params_t *P;
} prec_ctx_t;

static const char *const prec_gating[2] = {"none", "gka"};

/* Sampled tokens per tier. */
static size_t prec_nsample(gka_tier_t tier) {
    return tier == GKA_TIER_FULL ? 48 : 24;
}

static gka_status_t prec_job(size_t j, void *vctx, gka_strbuf_t *rows) {
    prec_ctx_t *c = vctx;
    const size_t nconf = gka_figure_panel_nconfig(c->P);
    const size_t g = j / nconf;
    gka_figure_panel_t cfg = {.trace = &c->tr[g],
                              .T = c->T,
                              .use_gates = (int)g,
                              .gating = prec_gating[g],
                              .samples = c->samples,
                              .nsample = c->nsample,
                              .prog = c->prog};
    gka_figure_panel_config(c->P, j % nconf, &cfg);
    return gka_figure_panel_run(&cfg, rows);
}

static gka_status_t prec_run(const gka_figure_opts_t *opts, const gka_figure_params_t *P,
                             gka_progress_t *prog, gka_csv_t *csv) {
    int D = gka_figure_int(P, GKA_FP_D);
    prec_ctx_t c;
    memset(&c, 0, sizeof c);
    c.T = gka_figure_int(P, GKA_FP_T);
    c.nsample = prec_nsample(opts->tier);
    c.prog = prog;
    c.P = P;
    c.samples = malloc(c.nsample * sizeof *c.samples);
    if (!c.samples) return gka_error(GKA_ENOMEM, "precision: out of memory");
    c.nsample = gka_figure_sample_tokens(c.T, c.nsample, c.samples);
    gka_status_t st = GKA_OK;
    for (int g = 0; st == GKA_OK && g < 2; g++) {
        gka_synth_config_t cfg =
            gka_synth_config_default(D, c.T, gka_figure_seed(opts->seed, 4, 0));
        st = gka_keys_spec_parse("powerlaw:1", &cfg.keys);
        if (st == GKA_OK) st = gka_gate_spec_parse(prec_gating[g], &cfg.gate);
        if (st == GKA_OK) st = gka_synth_generate(&cfg, &c.tr[g]);
    }
    gka_csv_meta(csv, "sampled_tokens", "%zu (geometric in 1..T)", c.nsample);
    gka_csv_meta(csv, "data",
                 "synthetic: keys powerlaw:1 (covariance eigenvalues 1/i, Haar basis), "
                 "queries iid, q and k L2-normalised; gates none | gka (GKA decay gates, "
                 "same keys)");
    gka_figure_panel_meta(csv, gka_figure_int(P, GKA_FP_CHUNK));
    gka_csv_header(csv, gka_figure_panel_header());
    size_t njobs = 2 * gka_figure_panel_nconfig(P);
    gka_figure_progress_total(prog, (long)njobs * c.T);
    if (st == GKA_OK) st = gka_figure_parallel(njobs, prec_job, &c, csv);
    gka_trace_free(&c.tr[0]);
    gka_trace_free(&c.tr[1]);
    free(c.samples);
    return st;
}

static const gka_figure_param_decl_t prec_params[] = {
    {GKA_FP_D, "head dimension D", {"32", "128"}, 2, 1024, 1, NULL, 0},
    {GKA_FP_T, "tokens T", {"1024", "8192"}, 2, 10000000, 1, NULL, 0},
    GKA_FIGURE_PANEL_PARAMS,
};

const gka_figure_t gka_figure_precision = {
    "precision",
    "forward error vs token: kalman, cg, chebyshev, cholesky (token form), chebyshev (chunk form "
    "C) x formats x ridges x gates",
    prec_run, prec_params, sizeof prec_params / sizeof prec_params[0]};
