/* The file inputs of gka solve and gka grad (gka_cli.h): one loader path. */
#include <stdio.h>
#include <string.h>

#include "gka_cli.h"
#include "gka_data.h"
#include "gka_figure.h"
#include "options.h"

int gka_cli_is_npy(const char *s) {
    char path[4096];
    const char *dtype;
    return s && gka_npy_spec_split(s, path, sizeof path, &dtype);
}

int gka_cli_files_given(const gka_cli_files_t *f) {
    return f->trace || gka_cli_is_npy(f->keys);
}

int gka_cli_load_files(const gka_cli_files_t *f, gka_trace_t *tr) {
    gka_status_t st;
    gka_load_options_t lo = gka_load_options_default();
    lo.batch = f->batch, lo.head = f->head, lo.seed = f->seed;
    lo.expect_D = f->have_D ? (int)f->D : 0;
    if (f->trace) {
        st = gka_trace_load_safetensors(f->trace, &lo, tr);
    } else {
        gka_npy_paths_t p = {f->keys, gka_cli_is_npy(f->queries) ? f->queries : NULL, NULL,
                             f->gates, f->betas};
        if (!p.queries && (st = gka_queries_spec_parse(f->queries, &lo.missing_queries)))
            return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
        st = gka_trace_load_npy_paths(&p, &lo, tr);
    }
    if (st) return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
    if (f->normalize) gka_trace_normalize(tr);
    /* the limits of --D and --T hold for loaded data too */
    const gka_opt_decl_t *dD = gka_opt_decl(GKA_OPT_D), *dT = gka_opt_decl(GKA_OPT_T);
    if (tr->D > dD->hi)
        return gka_cli_fail(GKA_EXIT_USAGE, "trace D = %d out of range [1, %.0f]", tr->D, dD->hi);
    if (f->have_T && f->T < tr->T) tr->T = f->T;
    if (tr->T > dT->hi)
        return gka_cli_fail(GKA_EXIT_USAGE, "trace T = %ld out of range [1, %.0f]", tr->T, dT->hi);
    return -1;
}

gka_cli_files_t gka_cli_files_from_opts(const gka_opts_t *o) {
    gka_cli_files_t f = {0};
    f.keys = gka_opt_text(o, GKA_OPT_KEYS), f.queries = gka_opt_text(o, GKA_OPT_QUERIES);
    f.trace = gka_opt_text(o, GKA_OPT_TRACE), f.gates = gka_opt_text(o, GKA_OPT_GATES);
    f.betas = gka_opt_text(o, GKA_OPT_BETAS);
    f.gate = gka_opt_text(o, GKA_OPT_GATE), f.beta = gka_opt_text(o, GKA_OPT_BETA);
    f.D = gka_opt_long(o, GKA_OPT_D), f.T = gka_opt_long(o, GKA_OPT_T);
    f.batch = gka_opt_long(o, GKA_OPT_BATCH), f.head = gka_opt_long(o, GKA_OPT_HEAD);
    f.have_D = gka_opt_given(o, GKA_OPT_D), f.have_T = gka_opt_given(o, GKA_OPT_T);
    f.normalize = !gka_opt_given(o, GKA_OPT_NO_NORMALIZE);
    /* --seed sets both; --data-seed and --round-seed each one (never with --seed) */
    f.seed = gka_opt_u64(o, gka_opt_given(o, GKA_OPT_DATA_SEED) ? GKA_OPT_DATA_SEED : GKA_OPT_SEED);
    f.round_seed =
        gka_opt_u64(o, gka_opt_given(o, GKA_OPT_ROUND_SEED) ? GKA_OPT_ROUND_SEED : GKA_OPT_SEED);
    return f;
}

int gka_cli_build_trace(const gka_cli_files_t *f, gka_trace_t *tr) {
    if (gka_cli_files_given(f)) return gka_cli_load_files(f, tr);
    gka_synth_config_t cfg = gka_synth_config_default((int)f->D, f->T, f->seed);
    gka_status_t st;
    if ((st = gka_keys_spec_parse(f->keys, &cfg.keys)) ||
        (st = gka_queries_spec_parse(f->queries, &cfg.queries)) ||
        (st = gka_gate_spec_parse(f->gate, &cfg.gate)) ||
        (st = gka_beta_spec_parse(f->beta, &cfg.beta)))
        return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
    cfg.normalize = f->normalize;
    if ((st = gka_synth_generate(&cfg, tr))) return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
    return -1;
}

void gka_cli_data_meta(const gka_cli_files_t *f, const gka_trace_t *tr, gka_csv_t *m) {
    /* "seed" is the data's, as in the figures' CSVs; the rounding's beside it */
    gka_csv_meta(m, "seed", "%llu", (unsigned long long)f->seed);
    gka_csv_meta(m, "round_seed", "%llu", (unsigned long long)f->round_seed);
    gka_csv_meta(m, "keys", "%s", f->trace ? f->trace : f->keys);
    gka_csv_meta(m, "queries", "%s%s", f->queries, tr->queries_fallback ? " (synthetic)" : "");
    gka_csv_meta(m, "gate", "%s", f->gates ? f->gates : f->gate);
    gka_csv_meta(m, "beta", "%s", f->betas ? f->betas : f->beta);
    gka_csv_meta(m, "batch", "%ld", f->batch);
    gka_csv_meta(m, "head", "%ld", f->head);
    gka_csv_meta(m, "normalize", "%d", f->normalize);
}

void gka_cli_queries_notice(const gka_cli_files_t *f, const gka_trace_t *tr) {
    if (!tr->queries_fallback) return;
    fprintf(stderr,
            "gka: notice: no queries in the input; using synthetic %s queries "
            "(--queries F.npy to give them)\n",
            f->trace || !strcmp(f->queries, "iid") ? "iid N(0, I)" : f->queries);
}

void gka_cli_data_context(const gka_cli_files_t *f, const gka_trace_t *loaded,
                          gka_cli_data_context_t *dc, gka_opt_context_t *ctx) {
    const int keys_file = !f->trace && gka_cli_is_npy(f->keys), synthetic = !f->trace && !keys_file;
    if (synthetic) ctx->holds |= GKA_NEEDS(GKA_CTX_SYNTHETIC);
    if (keys_file) ctx->holds |= GKA_NEEDS(GKA_CTX_KEYS_FILE);
    /* the shape and the write gates of a file are known once it is loaded */
    if (!loaded || loaded->batched) ctx->holds |= GKA_NEEDS(GKA_CTX_BATCHED_FILE);
    if (!loaded || loaded->beta) ctx->holds |= GKA_NEEDS(GKA_CTX_WRITE_GATES);
    if (f->trace)
        snprintf(dc->data, sizeof dc->data, "with --trace %s", f->trace);
    else if (keys_file)
        snprintf(dc->data, sizeof dc->data, "with --keys %s", f->keys);
    else
        snprintf(dc->data, sizeof dc->data, "with synthetic keys (--keys %s)", f->keys);
    ctx->absent[GKA_CTX_SYNTHETIC] = dc->data;
    ctx->absent[GKA_CTX_KEYS_FILE] = dc->data;
    ctx->absent[GKA_CTX_WRITE_GATES] = "without write gates";
    ctx->absent[GKA_CTX_BATCHED_FILE] = synthetic ? "with synthetic data" : "with a [T,D] file";
}
