/* gka solve: run a ridge solver over a key stream (synthetic or loaded) and
 * write one CSV row of metrics per token; print a summary. */
#include "gka_cli.h"
#include "gka_data.h"
#include "gka_figure.h"
#include "gka_io.h"
#include "gka_solver.h"
#include "gka_stream.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void) {
    printf(
        "usage: gka solve [OPTIONS]\n\n"
        "Runs a ridge solver token by token over a stream of keys and queries and\n"
        "measures each solve against the fp64 LAPACK reference of the same (rounded)\n"
        "problem.\n\n"
        "problem:\n"
        "  --D N              head dimension, 1..1024 (default 64)\n"
        "  --T N              tokens, 1..10000000 (default 1024; caps a loaded trace)\n"
        "  --seed S           seed of the synthetic data (default 1)\n"
        "  --keys SPEC|F.npy  iid | powerlaw:P | expdecay:S | lowrank:R,NOISE |\n"
        "                     repeated:M[,random] | a .npy file [T,D] or [B,T,H,D]\n"
        "                     (F.npy:bf16 names the type of 2-byte records: ml_dtypes' '<V2')\n"
        "  --queries SPEC|F.npy  iid | keys | next | a .npy file (default iid)\n"
        "  --trace F.safetensors  tensors q, k (g, beta optional)\n"
        "  --gates F.npy, --betas F.npy  log-gates / write gates for --keys F.npy\n"
        "  --batch B, --head H    select [B,T,H,D] slices of loaded files (default 0)\n"
        "  --gate SPEC        none | const:G | uniform:LO,HI | gka[:A[,DT_BIAS]] (default none)\n"
        "  --beta SPEC        none | sigmoid[:SCALE] (default none)\n"
        "  --beta-mode M      weight: H += beta^2 k k^T (default) | fold: the reference layer's\n"
        "                     k' = round((beta + 1e-6) k), H += k' k'^T (docs/REGIMES.md)\n"
        "  --no-normalize     keep q and k as given (default: L2-normalise as the layer)\n"
        "  --ridge SPEC       fixed:LAMBDA | adaptive:A | decay:LAMBDA0 (default adaptive:0.02)\n"
        "arithmetic:\n"
        "  --format F         fp64 | mpfr:PREC | fp32 tf32 bf16 fp16 e4m3 e5m2 custom:t,emin,emax\n"
        "                     (default fp64)\n"
        "  --accum A          round | wide | fp32 | wide:FORMAT | exact (default: round for fp64\n"
        "                     and mpfr, wide (fp32) for emulated formats)\n"
        "  --mode M           rounding mode ne na nz tp tn tz sp se od (default ne)\n"
        "solver:\n"
        "  --solver NAME      chebyshev cg gd agd cholesky kalman (default chebyshev)\n"
        "  --variant V        solver variant (gka solvers lists them); chebyshev, cg, gd, agd:\n"
        "                     guarded (default: stop on NaN, divergence, CG's curvature <= 0)\n"
        "                     or plain (textbook: only the tolerance test, NaN propagates)\n"
        "  --iters R          iterations (default 30)\n"
        "  --tol TOL          stop at residual estimate <= TOL ||q|| (default 0: run R)\n"
        "  --warm             warm start from the previous token\n"
        "  --chunk C          chunk form with chunk size C (SPEC 3) for chebyshev, cg, gd, agd\n"
        "                     and cholesky (H_c materialised from the chunk state in the\n"
        "                     format); kalman is token-form by nature and refuses it\n"
        "  --carry fp32|F     chunk form: arithmetic of the running chunk state (default fp32\n"
        "                     for emulated formats, as the reference kernels: only the stored\n"
        "                     snapshot is rounded to the format); --carry FORMAT rounds the\n"
        "                     state at every chunk boundary and continues from it\n"
        "  --iter-format F    arithmetic of the iterates of chebyshev, cg, gd, agd (chunk form:\n"
        "                     default fp32 for emulated formats; token form: default the\n"
        "                     format, else H_t, q_t and lambda_t are taken into F per token)\n"
        "reference (x* of the same rounded problem, per token):\n"
        "  --reference R      lapack (fp64 dposv; default where built) | mpfr:P (MPFR\n"
        "                     Cholesky at P bits) | arb:P (certified balls: midpoint; a token\n"
        "                     whose ball is not tight for its error fails) | cholesky64\n"
        "                     (gka's fp64 Cholesky + refinement; the default without LAPACK)\n"
        "output:\n"
        "  --csv FILE         one row per token (header first)\n"
        "  --history FILE     per-iteration fp64 relative residuals: t,iter,res\n"
        "  --every K          exact kappa (and Kalman lambda_min(P)) every K tokens (default 0)\n"
        "  --save-x F.npy     the solutions x_t as a [T, D] float64 array (numpy.load)\n"
        "  --save-ref F.npy   the fp64 reference solutions x*_t, [T, D] (NaN rows: no reference)\n"
        "\nKalman runs P_0 = I/lambda_init and lets the regulariser decay with the gates:\n"
        "exact for --ridge decay:L0, approximate for fixed (with gates) and adaptive ridges.\n"
        "Exit status: 0 ok, 1 runtime failure, 2 bad usage or input.\n");
}

typedef struct {
    long D, T, batch, head;
    uint64_t seed;
    const char *keys, *queries, *trace, *gates, *betas, *gate, *beta, *ridge;
    const char *format, *accum, *mode, *solver, *variant, *csv, *history, *iter_format, *carry;
    const char *beta_mode;
    gka_run_ref_t reference; /* --reference (h-cli re-declares it in its option table) */
    long iters, chunk, every;
    double tol;
    int warm, no_normalize, have_T;
    /* outputs for other tools, and what a loaded file must agree with */
    const char *save_x, *save_ref;
    int have_D;
} solve_args_t;

/* Returns -1 on success, else an exit code. */
static int parse_args(int argc, char **argv, solve_args_t *a) {
    memset(a, 0, sizeof *a);
    a->D = 64, a->T = 1024, a->seed = 1, a->iters = 30;
    a->keys = "iid", a->queries = "iid", a->gate = "none", a->beta = "none";
    a->ridge = "adaptive:0.02", a->format = "fp64", a->solver = "chebyshev";
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) return usage(), GKA_EXIT_OK;
        if (!strcmp(o, "--warm")) {
            a->warm = 1;
            continue;
        }
        if (!strcmp(o, "--no-normalize")) {
            a->no_normalize = 1;
            continue;
        }
        const char *v = gka_cli_value(argc, argv, &i);
        if (!v) return GKA_EXIT_USAGE;
        int bad = 0;
        if (!strcmp(o, "--D"))
            bad = gka_cli_parse_long(v, "--D", 1, 1024, &a->D), a->have_D = 1;
        else if (!strcmp(o, "--T"))
            bad = gka_cli_parse_long(v, "--T", 1, 10000000, &a->T), a->have_T = 1;
        else if (!strcmp(o, "--seed"))
            bad = gka_cli_parse_u64(v, "--seed", &a->seed);
        else if (!strcmp(o, "--batch"))
            bad = gka_cli_parse_long(v, "--batch", 0, 1L << 30, &a->batch);
        else if (!strcmp(o, "--head"))
            bad = gka_cli_parse_long(v, "--head", 0, 1L << 30, &a->head);
        else if (!strcmp(o, "--iters"))
            bad = gka_cli_parse_long(v, "--iters", 0, 1000000, &a->iters);
        else if (!strcmp(o, "--chunk"))
            bad = gka_cli_parse_long(v, "--chunk", 1, 4096, &a->chunk);
        else if (!strcmp(o, "--every"))
            bad = gka_cli_parse_long(v, "--every", 0, 10000000, &a->every);
        else if (!strcmp(o, "--tol")) {
            bad = gka_cli_parse_double(v, "--tol", &a->tol);
            if (!bad && a->tol < 0.0)
                bad = gka_cli_fail(GKA_EXIT_USAGE, "--tol: %s must be >= 0", v);
        } else if (!strcmp(o, "--keys"))
            a->keys = v;
        else if (!strcmp(o, "--queries"))
            a->queries = v;
        else if (!strcmp(o, "--trace"))
            a->trace = v;
        else if (!strcmp(o, "--gates"))
            a->gates = v;
        else if (!strcmp(o, "--betas"))
            a->betas = v;
        else if (!strcmp(o, "--gate"))
            a->gate = v;
        else if (!strcmp(o, "--beta"))
            a->beta = v;
        else if (!strcmp(o, "--ridge"))
            a->ridge = v;
        else if (!strcmp(o, "--format"))
            a->format = v;
        else if (!strcmp(o, "--accum"))
            a->accum = v;
        else if (!strcmp(o, "--mode"))
            a->mode = v;
        else if (!strcmp(o, "--solver"))
            a->solver = v;
        else if (!strcmp(o, "--variant"))
            a->variant = v;
        else if (!strcmp(o, "--csv"))
            a->csv = v;
        else if (!strcmp(o, "--history"))
            a->history = v;
        else if (!strcmp(o, "--iter-format"))
            a->iter_format = v;
        else if (!strcmp(o, "--carry"))
            a->carry = v;
        else if (!strcmp(o, "--save-x"))
            a->save_x = v;
        else if (!strcmp(o, "--save-ref"))
            a->save_ref = v;
        else if (!strcmp(o, "--beta-mode")) {
            a->beta_mode = v;
            if (strcmp(v, "weight") && strcmp(v, "fold"))
                bad = gka_cli_fail(GKA_EXIT_USAGE, "--beta-mode: '%s' is not weight or fold", v);
        } else if (!strcmp(o, "--reference")) {
            if (gka_run_ref_parse(v, &a->reference) != GKA_OK)
                bad = gka_cli_fail(GKA_EXIT_USAGE, "--reference: %s", gka_error_message());
        } else
            return gka_cli_fail(GKA_EXIT_USAGE, "solve: unknown option '%s' (see gka solve --help)",
                                o);
        if (bad) return GKA_EXIT_USAGE;
    }
    if (!a->accum) a->accum = gka_accum_default(a->format);
    return -1;
}

/* Synthetic or loaded trace. Returns -1 or an exit code. */
static int build_trace(const solve_args_t *a, gka_trace_t *tr) {
    gka_status_t st;
    const gka_cli_files_t files = {
        a->keys,  a->queries, a->trace,  a->gates,  a->betas,         a->D,   a->T,
        a->batch, a->head,    a->have_D, a->have_T, !a->no_normalize, a->seed};
    if (gka_cli_files_given(&files)) return gka_cli_load_files(&files, tr);
    gka_synth_config_t cfg = gka_synth_config_default((int)a->D, a->T, a->seed);
    if ((st = gka_keys_spec_parse(a->keys, &cfg.keys)) ||
        (st = gka_queries_spec_parse(a->queries, &cfg.queries)) ||
        (st = gka_gate_spec_parse(a->gate, &cfg.gate)) ||
        (st = gka_beta_spec_parse(a->beta, &cfg.beta)))
        return gka_cli_fail(GKA_EXIT_USAGE, "%s", gka_error_message());
    cfg.normalize = !a->no_normalize;
    if ((st = gka_synth_generate(&cfg, tr)))
        return gka_cli_fail(st == GKA_EINVAL || st == GKA_ERANGE ? GKA_EXIT_USAGE : GKA_EXIT_FAIL,
                            "%s", gka_error_message());
    return -1;
}

typedef struct {
    FILE *csv, *hist;
    gka_npy_writer_t *x, *x_ref; /* --save-x, --save-ref */
} sinks_t;

static int write_row(void *ctx, const gka_token_metrics_t *m) {
    sinks_t *s = ctx;
    if (s->csv)
        fprintf(s->csv,
                "%ld,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%d,%s,%u,%d\n",
                m->t, m->err, m->res, m->kappa, m->kappa_bound, m->hnorm, m->lambda, m->hnorm64,
                m->lambda64, m->p_asym, m->p_min_eig, m->iters, gka_reason_name(m->reason),
                m->events, m->nonfinite);
    for (int i = 0; s->hist && i < m->nhistory; i++)
        fprintf(s->hist, "%ld,%d,%.17g\n", m->t, i, m->history[i]);
    if (s->x && gka_npy_writer_row(s->x, m->x) != GKA_OK) return 1;
    if (s->x_ref && gka_npy_writer_row(s->x_ref, m->x_ref) != GKA_OK) return 1;
    return 0;
}

static void print_summary(const solve_args_t *a, const gka_run_config_t *c,
                          const gka_run_summary_t *s) {
    printf("gka solve: %s%s%s in %s, ridge %s, D=%d T=%ld r=%d%s\n", c->solver,
           a->variant ? ":" : "", a->variant ? a->variant : "", s->arith_name, a->ridge, c->D, s->T,
           c->opts.iters, c->chunk ? " (chunk form)" : "");
    if (c->chunk || s->iter_name[0])
        printf("  regime    iterates %s%s%s\n", s->iter_name[0] ? s->iter_name : s->arith_name,
               c->chunk ? ", carry " : "",
               c->chunk ? (s->carry_name[0] ? s->carry_name : s->arith_name) : "");
    printf("  error     median %.3e  max %.3e\n", s->err_median, s->err_max);
    printf("  residual  median %.3e  max %.3e\n", s->res_median, s->res_max);
    if (isnan(s->kappa_min))
        printf("  kappa     not measured (--every K)  bound max %.4g\n", s->kappa_bound_max);
    else
        printf("  kappa     [%.4g, %.4g]  bound max %.4g\n", s->kappa_min, s->kappa_max,
               s->kappa_bound_max);
    if (!isnan(s->p_asym_max))
        printf("  kalman P  asymmetry max %.3e  lambda_min(P) min %.3e\n", s->p_asym_max,
               s->p_min_eig_min);
    printf("  events    nan %ld  overflow %ld  underflow %ld  lost_pd %ld  (tokens)\n", s->ev_nan,
           s->ev_overflow, s->ev_underflow, s->ev_lost_pd);
    printf("  reasons  ");
    for (int r = 1; r < GKA_REASON_COUNT; r++)
        if (s->reasons[r]) printf(" %s %ld", gka_reason_name((gka_reason_t)r), s->reasons[r]);
    printf("\n  reference %s: failures %ld", s->reference_name, s->ref_failures);
    if (s->ref_loose) printf(" (%ld Arb balls not tight)", s->ref_loose);
    printf(";  solve time %.3f s (%.1f us/token)\n", s->solve_seconds,
           1e6 * s->solve_seconds / (double)(s->T ? s->T : 1));
}

static int open_sink(const char *path, gka_outfile_t *f, FILE **fp, const char *header,
                     const gka_csv_t *meta) {
    if (!path) return -1;
    if (gka_outfile_open(f, path) != GKA_OK)
        return gka_cli_fail(GKA_EXIT_USAGE, "%s", gka_error_message());
    *fp = f->fp;
    if (gka_csv_write_head(*fp, path, header, meta) != GKA_OK)
        return gka_cli_fail(GKA_EXIT_USAGE, "%s", gka_error_message());
    return -1;
}

/* Every parameter of the run, for the CSVs' metadata (doubles at %.17g). */
static void solve_meta(const solve_args_t *a, const gka_run_config_t *c, const gka_trace_t *tr,
                       gka_csv_t *m) {
    char ridge[96];
    gka_ridge_format(&c->ridge, ridge, sizeof ridge);
    gka_csv_meta(m, "command", "solve");
    gka_csv_meta(m, "data", "%s", tr->origin);
    gka_csv_meta(m, "D", "%d", c->D);
    gka_csv_meta(m, "T", "%ld", c->T);
    gka_csv_meta(m, "seed", "%llu", (unsigned long long)a->seed);
    gka_csv_meta(m, "keys", "%s", a->trace ? a->trace : a->keys);
    gka_csv_meta(m, "queries", "%s%s", a->queries, tr->queries_fallback ? " (synthetic)" : "");
    gka_csv_meta(m, "gate", "%s", a->gates ? a->gates : a->gate);
    gka_csv_meta(m, "beta", "%s", a->betas ? a->betas : a->beta);
    gka_csv_meta(m, "batch", "%ld", a->batch);
    gka_csv_meta(m, "head", "%ld", a->head);
    gka_csv_meta(m, "normalize", "%d", !a->no_normalize);
    gka_csv_meta(m, "ridge", "%s", ridge);
    gka_csv_meta(m, "format", "%s", c->format);
    gka_csv_meta(m, "accum", "%s", c->accum ? c->accum : "");
    gka_csv_meta(m, "mode", "%s", c->mode ? c->mode : "ne");
    gka_csv_meta(m, "solver", "%s", c->solver);
    gka_csv_meta(m, "variant", "%s", c->opts.variant);
    gka_csv_meta(m, "iters", "%d", c->opts.iters);
    gka_csv_meta(m, "tol", "%.17g", c->opts.tol);
    gka_csv_meta(m, "warm", "%d", c->opts.warm);
    gka_csv_meta(m, "chunk", "%d", c->chunk);
    gka_csv_meta(m, "iter_format", "%s", c->iter_format ? c->iter_format : "");
    gka_csv_meta(m, "carry", "%s", c->carry ? c->carry : "");
    gka_csv_meta(m, "beta_mode", "%s", a->beta_mode ? a->beta_mode : "weight");
    gka_csv_meta(m, "every", "%ld", c->every);
    gka_run_ref_t ref;
    char rname[32] = "unavailable";
    if (gka_run_ref_resolve(&c->reference, gka_run_ref_available(), &ref) == GKA_OK)
        gka_run_ref_name(&ref, rname, sizeof rname);
    else
        gka_error_clear(); /* gka_run reports it */
    gka_csv_meta(m, "reference", "%s solve of the same rounded problem", rname);
}

/* --save-x / --save-ref: [T, D] float64 .npy files, written whole or not at all.
 * Returns -1 or an exit code. */
static int open_arrays(const solve_args_t *a, const gka_run_config_t *c, sinks_t *s) {
    if (a->save_x && gka_npy_writer_open(&s->x, a->save_x, (size_t)c->T, (size_t)c->D))
        return gka_cli_fail(GKA_EXIT_USAGE, "%s", gka_error_message());
    if (a->save_ref && gka_npy_writer_open(&s->x_ref, a->save_ref, (size_t)c->T, (size_t)c->D))
        return gka_cli_fail(GKA_EXIT_USAGE, "%s", gka_error_message());
    return -1;
}

/* A file argument of an input option as a path ("F.npy:bf16" -> "F.npy"),
 * or NULL where the option names no file (a synthetic spec). */
static const char *input_path(const char *arg, char *buf, size_t n) {
    const char *dtype;
    if (!arg) return NULL;
    return gka_npy_spec_split(arg, buf, n, &dtype) ? buf : NULL;
}

/* Outputs that would overwrite an input or each other are refused before
 * any work. Returns -1 or an exit code. */
static int check_paths(const solve_args_t *a) {
    char k[4096], q[4096], g[4096], b[4096];
    const char *outs[] = {a->csv, a->history, a->save_x, a->save_ref};
    const char *out_names[] = {"--csv", "--history", "--save-x", "--save-ref"};
    const char *ins[] = {input_path(a->keys, k, sizeof k), input_path(a->queries, q, sizeof q),
                         input_path(a->gates, g, sizeof g), input_path(a->betas, b, sizeof b),
                         a->trace};
    const char *in_names[] = {"--keys", "--queries", "--gates", "--betas", "--trace"};
    if (gka_paths_check(outs, out_names, 4, ins, in_names, 5) != GKA_OK)
        return gka_cli_fail(GKA_EXIT_USAGE, "%s", gka_error_message());
    return -1;
}

/* CSV, history and arrays committed together: all or none of them
 * (experiments/gka_io.h). Returns -1 or an exit code. */
static int commit_outputs(gka_outfile_t *csv, gka_outfile_t *hist, sinks_t *s) {
    gka_outfile_t *outs[4] = {csv, hist, NULL, NULL};
    size_t n = 2;
    int rc = -1;
    gka_npy_writer_t *w[2] = {s->x, s->x_ref};
    for (int j = 0; j < 2 && rc < 0; j++)
        if (w[j] && !(outs[n++] = gka_npy_writer_file(w[j])))
            rc = gka_cli_fail(GKA_EXIT_FAIL, "%s", gka_error_message());
    if (rc < 0 && gka_outfile_commit_all(outs, n) != GKA_OK)
        rc = gka_cli_fail(GKA_EXIT_FAIL, "%s", gka_error_message());
    return rc;
}

int gka_cmd_solve(int argc, char **argv) {
    solve_args_t a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    if ((rc = check_paths(&a)) >= 0) return rc;
    gka_run_config_t c = gka_run_config_default();
    if (gka_ridge_parse(a.ridge, &c.ridge) != GKA_OK)
        return gka_cli_fail(GKA_EXIT_USAGE, "%s", gka_error_message());
    const gka_solver_ops_t *ops;
    if (gka_solver_find(a.solver, &ops) != GKA_OK)
        return gka_cli_fail(GKA_EXIT_USAGE, "%s", gka_error_message());
    gka_trace_t tr = {0};
    if ((rc = build_trace(&a, &tr)) >= 0) return gka_trace_free(&tr), rc;
    c.D = tr.D, c.T = tr.T, c.q = tr.q, c.k = tr.k, c.g = tr.g, c.beta = tr.beta;
    c.solver = a.solver, c.format = a.format, c.accum = a.accum, c.mode = a.mode, c.seed = a.seed;
    c.opts.iters = (int)a.iters, c.opts.tol = a.tol, c.opts.warm = a.warm;
    c.opts.history = a.history != NULL;
    if (a.variant) snprintf(c.opts.variant, sizeof c.opts.variant, "%s", a.variant);
    c.chunk = (int)a.chunk, c.iter_format = a.iter_format, c.carry = a.carry, c.every = a.every;
    c.beta_mode = a.beta_mode && !strcmp(a.beta_mode, "fold") ? GKA_BETA_FOLD : GKA_BETA_WEIGHT;
    c.reference = a.reference;
    gka_outfile_t fcsv = {0}, fhist = {0};
    sinks_t sinks = {NULL, NULL, NULL, NULL};
    gka_interrupt_install();
    gka_csv_t meta;
    gka_csv_init(&meta);
    solve_meta(&a, &c, &tr, &meta);
    rc = open_sink(a.csv, &fcsv, &sinks.csv,
                   "t,err,res,kappa,kappa_bound,hnorm,lambda,hnorm64,lambda64,p_asym,p_min_eig,"
                   "iters,reason,events,nonfinite",
                   &meta);
    if (rc < 0) rc = open_sink(a.history, &fhist, &sinks.hist, "t,iter,res", &meta);
    gka_csv_free(&meta);
    if (rc < 0) rc = open_arrays(&a, &c, &sinks);
    gka_run_summary_t sum;
    gka_status_t st = GKA_OK;
    if (rc < 0) {
        c.on_token = write_row, c.ctx = &sinks;
        st = gka_run(&c, &sum);
        if (st)
            rc = gka_cli_fail(st == GKA_EINVAL ? GKA_EXIT_USAGE : GKA_EXIT_FAIL, "%s",
                              gka_error_message());
    }
    if (rc < 0) rc = commit_outputs(&fcsv, &fhist, &sinks);
    gka_npy_writer_abort(sinks.x);
    gka_npy_writer_abort(sinks.x_ref);
    gka_outfile_abort(&fcsv);
    gka_outfile_abort(&fhist);
    if (rc < 0) print_summary(&a, &c, &sum), rc = GKA_EXIT_OK;
    gka_trace_free(&tr);
    return rc;
}
