/* Figure `trace`: the `precision` panel (forward error vs token for the
 * token-form kalman, kalman-joseph, cg, chebyshev, cholesky and the chunk-form
 * chebyshev (C = 64, fp32 iterates) x fp64..e4m3 x three ridges, each a
 * parameter: --chunk, --formats, --ridges) on a
 * user-supplied trace: --keys FILE.npy (keys [T, D] or [B, T, H, D]; batch 0,
 * head 0; iid fallback queries) or --trace FILE.safetensors (tensors q, k
 * and optional g, beta). q and k are L2-normalised as the layer does; the
 * trace's own gates are used. Without a file, a documented synthetic
 * stand-in: keys with a power-law covariance spectrum (powerlaw:1), queries
 * drawn like the keys, GKA decay gates. */
#include "gka_data.h"
#include "gka_figure_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    gka_trace_t tr;
    long T;
    long *samples;
    size_t nsample;
    gka_progress_t *prog;
    const gka_figure_params_t *P;
} trace_ctx_t;

static gka_status_t trace_job(size_t j, void *vctx, gka_strbuf_t *rows) {
    trace_ctx_t *c = vctx;
    gka_figure_panel_t cfg = {.trace = &c->tr,
                              .T = c->T,
                              .use_gates = 1,
                              .gating = "trace",
                              .samples = c->samples,
                              .nsample = c->nsample,
                              .prog = c->prog};
    gka_figure_panel_config(c->P, j, &cfg);
    return gka_figure_panel_run(&cfg, rows);
}

static gka_status_t load(const gka_figure_opts_t *opts, const gka_figure_params_t *P,
                         gka_trace_t *tr, char *desc, size_t size) {
    gka_status_t st;
    if (P->path[0]) {
        st = gka_trace_load_npy(P->path, NULL, NULL, NULL, 0, 0, tr);
        if (st == GKA_OK) gka_trace_normalize(tr);
        snprintf(desc, size, "keys from %s (batch 0, head 0), iid fallback queries, L2-normalised",
                 P->path);
        return st;
    }
    if (opts->trace_path[0]) {
        gka_load_options_t lo = gka_load_options_default();
        st = gka_trace_load_safetensors(opts->trace_path, &lo, tr);
        if (st == GKA_OK) gka_trace_normalize(tr);
        snprintf(desc, size, "tensors q, k, g, beta from %s (batch 0, head 0), L2-normalised",
                 opts->trace_path);
        return st;
    }
    int D = gka_figure_int(P, GKA_FP_D);
    long T = gka_figure_int(P, GKA_FP_T);
    gka_synth_config_t cfg = gka_synth_config_default(D, T, gka_figure_seed(opts->seed, 8, 0));
    st = gka_keys_spec_parse("powerlaw:1", &cfg.keys);
    if (st == GKA_OK) st = gka_queries_spec_parse("keys", &cfg.queries);
    if (st == GKA_OK) st = gka_gate_spec_parse("gka", &cfg.gate);
    if (st == GKA_OK) st = gka_synth_generate(&cfg, tr);
    snprintf(desc, size,
             "synthetic stand-in (no --keys/--trace): keys powerlaw:1 (covariance "
             "eigenvalues 1/i, Haar basis), queries like keys, GKA decay gates, "
             "q and k L2-normalised");
    return st;
}

static gka_status_t trace_run(const gka_figure_opts_t *opts, const gka_figure_params_t *P,
                              gka_progress_t *prog, gka_csv_t *csv) {
    int full = opts->tier == GKA_TIER_FULL;
    trace_ctx_t c;
    memset(&c, 0, sizeof c);
    c.prog = prog;
    c.P = P;
    char desc[2600];
    gka_status_t st = load(opts, P, &c.tr, desc, sizeof desc);
    if (st != GKA_OK) return st;
    long Tmax = gka_figure_int(P, GKA_FP_T);
    c.T = c.tr.T < Tmax ? c.tr.T : Tmax;
    c.nsample = full ? 48 : 24;
    c.samples = malloc(c.nsample * sizeof *c.samples);
    if (!c.samples) {
        gka_trace_free(&c.tr);
        return gka_error(GKA_ENOMEM, "trace: out of memory");
    }
    c.nsample = gka_figure_sample_tokens(c.T, c.nsample, c.samples);
    gka_csv_meta(csv, "data", "%s", desc);
    gka_csv_meta(csv, "origin", "%s", c.tr.origin);
    gka_csv_meta(csv, "tokens_used", "%ld (of %ld in the trace; at most T)", c.T, c.tr.T);
    gka_csv_meta(csv, "trace_D", "%d", c.tr.D);
    gka_csv_meta(csv, "gates", "%s", c.tr.g ? "the trace's log-gates" : "none in the trace");
    gka_csv_meta(csv, "sampled_tokens", "%zu (geometric in 1..T)", c.nsample);
    gka_figure_panel_meta(csv, gka_figure_int(P, GKA_FP_CHUNK));
    gka_csv_header(csv, gka_figure_panel_header());
    size_t njobs = gka_figure_panel_nconfig(P);
    gka_figure_progress_total(prog, (long)njobs * c.T);
    st = gka_figure_parallel(njobs, trace_job, &c, csv);
    gka_trace_free(&c.tr);
    free(c.samples);
    return st;
}

static const gka_figure_param_decl_t trace_params[] = {
    {GKA_FP_D,
     "head dimension of the synthetic stand-in (a file brings its own)",
     {"32", "128"},
     2,
     1024,
     1,
     NULL,
     0},
    {GKA_FP_T,
     "tokens: the stand-in's length, and the most taken from a file",
     {"1024", "4096"},
     2,
     10000000,
     1,
     NULL,
     0},
    {GKA_FP_KEYS,
     "keys file F.npy ([T,D] or [B,T,H,D]; F.npy:bf16 for 2-byte records); none: the stand-in",
     {"", ""},
     0,
     0,
     1,
     NULL,
     GKA_FPF_PATH},
    GKA_FIGURE_PANEL_PARAMS,
};

const gka_figure_t gka_figure_trace = {
    "trace",
    "the precision panel on a user trace (--keys F.npy | --trace "
    "F.safetensors) or a synthetic stand-in",
    trace_run, trace_params, sizeof trace_params / sizeof trace_params[0]};
