/* Figure `kappa`: the condition number kappa(H_t + lambda_t I) along a
 * stream, for a fixed ridge (0.25 and 0.02) against the adaptive ridge
 * lambda_t = a ||H_t||_F (a = 0.02), ungated and with GKA decay gates, for iid
 * and correlated (power-law spectrum) keys. The bound (1 + a) / a holds for
 * the adaptive ridge whatever the keys; the fixed ridge has none. The ridges
 * are a parameter (--ridges, fixed and adaptive: every ridge is evaluated on
 * the same H_t, which a decay ridge's own history would not allow).
 *
 * H_t is the fp64 mirror of the project's stream (gka_stream.h); kappa comes
 * from the fp64 LAPACK eigenvalues of H_t at sampled tokens:
 * kappa = (eig_max(H) + lambda) / (eig_min(H) + lambda). */
#include "gka_data.h"
#include "gka_figure_internal.h"
#include "gka_stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const gka_figure_opts_t *opts;
    gka_progress_t *prog;
    const gka_figure_params_t *P;
    int D;
    long T;
    size_t nsample; /* actual count of samples[] */
    const long *samples;
    size_t nridge;
    gka_ridge_t ridge[GKA_FP_MAX_ITEMS]; /* --ridges, parsed */
} kappa_ctx_t;

/* lambda of ridge r on the stream's current H_t (the stream's own formula
 * lambda = a ||H||_F for the adaptive ridge). */
static double ridge_lambda(const gka_ridge_t *r, const gka_stream_t *stream) {
    return r->kind == GKA_RIDGE_ADAPTIVE ? r->value * stream->hnorm64 : r->value;
}

static size_t ngates(const kappa_ctx_t *c) {
    return gka_figure_count(c->P, GKA_FP_GATES);
}
/* Job j: keys j / ngates, gates j % ngates (the same keys under every gate). */
static const char *key_of(const kappa_ctx_t *c, size_t j) {
    return gka_figure_item(c->P, GKA_FP_KEYS, j / ngates(c));
}
static const char *gate_of(const kappa_ctx_t *c, size_t j) {
    return gka_figure_item(c->P, GKA_FP_GATES, j % ngates(c));
}

static gka_status_t make_trace(const kappa_ctx_t *c, size_t j, gka_trace_t *tr) {
    gka_synth_config_t cfg =
        gka_synth_config_default(c->D, c->T, gka_figure_seed(c->opts->seed, 5, j / ngates(c)));
    gka_status_t st = gka_keys_spec_parse(key_of(c, j), &cfg.keys);
    if (st == GKA_OK) st = gka_gate_spec_parse(gate_of(c, j), &cfg.gate);
    if (st == GKA_OK) st = gka_synth_generate(&cfg, tr);
    return st;
}

static gka_status_t kappa_job(size_t j, void *vctx, gka_strbuf_t *rows) {
    const kappa_ctx_t *c = vctx;
    gka_trace_t tr = {0};
    gka_arith_t A;
    gka_stream_t *stream = NULL;
    gka_strbuf_t part[GKA_FP_MAX_ITEMS];
    for (size_t r = 0; r < c->nridge; r++)
        gka_strbuf_init(&part[r]);
    const long *samples = c->samples;
    gka_status_t st = make_trace(c, j, &tr);
    gka_ridge_t ridge = {GKA_RIDGE_FIXED, 0.0}; /* the stream's H_t does not depend on it */
    int have_A = 0;
    if (st == GKA_OK && (st = gka_arith_init_fp64(&A)) == GKA_OK) have_A = 1;
    if (st == GKA_OK) st = gka_stream_create(&stream, &A, c->D, &ridge, 0);
    size_t ns = st == GKA_OK ? c->nsample : 0;
    size_t s = 0;
    for (long t = 0; st == GKA_OK && s < ns; t++) {
        st = gka_stream_push(stream, tr.q + t * c->D, tr.k + t * c->D, gka_trace_gamma_log(&tr, t),
                             gka_trace_beta_at(&tr, t), NULL);
        if (st != GKA_OK || t != samples[s]) continue;
        double emin = 0.0, emax = 0.0;
        st = gka_figure_ref_eig(c->D, stream->H64, &emin, &emax);
        for (size_t r = 0; st == GKA_OK && r < c->nridge; r++) {
            const double lambda = ridge_lambda(&c->ridge[r], stream);
            double kappa = (emax + lambda) / (emin + lambda);
            double bound = (stream->hnorm64 + lambda) / lambda;
            char kc[64], gc[64];
            gka_strbuf_printf(&part[r], "%s,%s,%s,%.17g,%ld,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n",
                              gka_figure_cell(key_of(c, j), kc, sizeof kc),
                              gka_figure_cell(gate_of(c, j), gc, sizeof gc),
                              c->ridge[r].kind == GKA_RIDGE_ADAPTIVE ? "adaptive" : "fixed",
                              c->ridge[r].value, t + 1, kappa, bound, stream->hnorm64, lambda, emin,
                              emax);
        }
        s++;
        gka_progress_advance(c->prog, 1);
    }
    for (size_t r = 0; r < c->nridge; r++) {
        gka_strbuf_t *b = &part[r];
        if (st == GKA_OK && b->status != GKA_OK) st = gka_error(GKA_ENOMEM, "kappa: out of memory");
        if (st == GKA_OK && b->len) gka_strbuf_append(rows, b->data, b->len);
        gka_strbuf_free(b);
    }
    gka_stream_destroy(stream);
    if (have_A) gka_arith_destroy(&A);
    gka_trace_free(&tr);
    return st;
}

static gka_status_t kappa_run(const gka_figure_opts_t *opts, const gka_figure_params_t *P,
                              gka_progress_t *prog, gka_csv_t *csv) {
    int full = opts->tier == GKA_TIER_FULL;
    long samples[64];
    long T = gka_figure_int(P, GKA_FP_T);
    size_t ns = gka_figure_sample_tokens(T, full ? 64 : 32, samples);
    kappa_ctx_t c = {opts, prog, P, gka_figure_int(P, GKA_FP_D), T, ns, samples, 0, {{0}}};
    c.nridge = gka_figure_count(P, GKA_FP_RIDGES);
    gka_strbuf_t bounds;
    gka_strbuf_init(&bounds);
    for (size_t r = 0; r < c.nridge; r++) {
        gka_status_t st = gka_ridge_parse(gka_figure_item(P, GKA_FP_RIDGES, r), &c.ridge[r]);
        if (st != GKA_OK) return st; /* checked by gka_figure_params: not reached */
        const double a = c.ridge[r].value;
        if (c.ridge[r].kind == GKA_RIDGE_ADAPTIVE)
            gka_strbuf_printf(&bounds, "%sadaptive:%.17g: %.17g", bounds.len ? ", " : "", a,
                              (1.0 + a) / a);
    }
    const size_t njobs = gka_figure_count(P, GKA_FP_KEYS) * ngates(&c);
    gka_csv_meta(csv, "sampled_tokens", "%zu (geometric in 1..T)", c.nsample);
    gka_csv_meta(csv, "keys_note",
                 "iid (normal) | powerlaw:1 (covariance eigenvalues 1/i) | expdecay:8 "
                 "(eigenvalues exp(-(i-1)/8)), Haar basis; queries iid; q, k L2-normalised");
    gka_csv_meta(csv, "gates_note",
                 "none | gka (g_t = -A softplus(z_t - 6), A log-uniform in [1,16] per seed)");
    gka_csv_meta(csv, "adaptive_bound", "%s",
                 bounds.len ? bounds.data : "none (no adaptive ridge)");
    if (bounds.status != GKA_OK) csv->meta.status = bounds.status;
    gka_strbuf_free(&bounds);
    gka_csv_meta(csv, "columns",
                 "t = tokens seen (1-based); kappa = (eig_max(H)+lambda)/(eig_min(H)+lambda) "
                 "from fp64 dsyev of the stream's fp64 H_t; bound = (||H||_F+lambda)/lambda");
    gka_csv_header(csv,
                   "keys,gates,ridge,ridge_value,t,kappa,bound,hnorm,lambda,eig_min_H,eig_max_H");
    gka_figure_progress_total(prog, (long)(njobs * c.nsample));
    return gka_figure_parallel(njobs, kappa_job, &c, csv);
}

static const gka_figure_param_decl_t kappa_params[] = {
    {GKA_FP_D, "head dimension D", {"64", "128"}, 2, 1024, 1, NULL, 0},
    {GKA_FP_T, "tokens T", {"2048", "8192"}, 1, 1000000, 1, NULL, 0},
    {GKA_FP_KEYS,
     "key distributions, one stream each",
     {"iid,powerlaw:1,expdecay:8", "iid,powerlaw:1,expdecay:8"},
     0,
     0,
     8,
     NULL,
     0},
    {GKA_FP_GATES, "decay gates, on the same keys", {"none,gka", "none,gka"}, 0, 0, 4, NULL, 0},
    {GKA_FP_RIDGES,
     "ridges on every stream: fixed:LAMBDA or adaptive:A (lambda_t = A ||H_t||_F)",
     {"fixed:0.25,fixed:0.02,adaptive:0.02", "fixed:0.25,fixed:0.02,adaptive:0.02"},
     0,
     0,
     8,
     NULL,
     GKA_FPF_NO_DECAY},
};

const gka_figure_t gka_figure_kappa = {
    "kappa",
    "kappa(H_t + lambda_t I) over t: fixed vs adaptive ridge, gated vs not, iid vs correlated keys",
    kappa_run, kappa_params, sizeof kappa_params / sizeof kappa_params[0]};
