/* gka solve: run a ridge solver over a key stream (synthetic or loaded) and
 * write one CSV row of metrics per token; print a summary. */
#include "gka_cli.h"
#include "gka_data.h"
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
        "output:\n"
        "  --csv FILE         one row per token (header first)\n"
        "  --history FILE     per-iteration fp64 relative residuals: t,iter,res\n"
        "  --every K          exact kappa (and Kalman lambda_min(P)) every K tokens (default 0)\n"
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
    long iters, chunk, every;
    double tol;
    int warm, no_normalize, have_T;
} solve_args_t;

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

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
            bad = gka_cli_parse_long(v, "--D", 1, 1024, &a->D);
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
        else if (!strcmp(o, "--beta-mode")) {
            a->beta_mode = v;
            if (strcmp(v, "weight") && strcmp(v, "fold"))
                bad = gka_cli_fail(GKA_EXIT_USAGE, "--beta-mode: '%s' is not weight or fold", v);
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
    if (a->trace || ends_with(a->keys, ".npy")) {
        gka_load_options_t lo = gka_load_options_default();
        lo.batch = a->batch, lo.head = a->head, lo.seed = a->seed;
        if (a->trace) {
            st = gka_trace_load_safetensors(a->trace, &lo, tr);
        } else {
            gka_npy_paths_t p = {a->keys, ends_with(a->queries, ".npy") ? a->queries : NULL, NULL,
                                 a->gates, a->betas};
            if (!p.queries && (st = gka_queries_spec_parse(a->queries, &lo.missing_queries)))
                return gka_cli_fail(GKA_EXIT_USAGE, "%s", gka_error_message());
            st = gka_trace_load_npy_paths(&p, &lo, tr);
        }
        if (st)
            return gka_cli_fail(st == GKA_ENOMEM ? GKA_EXIT_FAIL : GKA_EXIT_USAGE, "%s",
                                gka_error_message());
        if (!a->no_normalize) gka_trace_normalize(tr);
        if (tr->D > 1024)
            return gka_cli_fail(GKA_EXIT_USAGE, "trace D = %d out of range [1, 1024]", tr->D);
        if (a->have_T && a->T < tr->T) tr->T = a->T;
        if (tr->T > 10000000L)
            return gka_cli_fail(GKA_EXIT_USAGE, "trace T = %ld out of range [1, 10000000]", tr->T);
        return -1;
    }
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
} sinks_t;

static int write_row(void *ctx, const gka_token_metrics_t *m) {
    sinks_t *s = ctx;
    if (s->csv)
        fprintf(s->csv, "%ld,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%d,%s,%u,%d\n", m->t,
                m->err, m->res, m->kappa, m->kappa_bound, m->hnorm, m->lambda, m->hnorm64,
                m->lambda64, m->p_asym, m->p_min_eig, m->iters, gka_reason_name(m->reason),
                m->events, m->nonfinite);
    for (int i = 0; s->hist && i < m->nhistory; i++)
        fprintf(s->hist, "%ld,%d,%.9g\n", m->t, i, m->history[i]);
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
    printf("\n  reference failures %ld;  solve time %.3f s (%.1f us/token)\n", s->ref_failures,
           s->solve_seconds, 1e6 * s->solve_seconds / (double)(s->T ? s->T : 1));
}

static int open_sink(const char *path, gka_outfile_t *f, FILE **fp, const char *header) {
    if (!path) return -1;
    if (gka_outfile_open(f, path) != GKA_OK)
        return gka_cli_fail(GKA_EXIT_USAGE, "%s", gka_error_message());
    *fp = f->fp;
    fputs(header, *fp);
    return -1;
}

int gka_cmd_solve(int argc, char **argv) {
    solve_args_t a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
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
    gka_outfile_t fcsv = {0}, fhist = {0};
    sinks_t sinks = {NULL, NULL};
    gka_interrupt_install();
    rc = open_sink(a.csv, &fcsv, &sinks.csv,
                   "t,err,res,kappa,kappa_bound,hnorm,lambda,hnorm64,lambda64,p_asym,p_min_eig,"
                   "iters,reason,events,nonfinite\n");
    if (rc < 0) rc = open_sink(a.history, &fhist, &sinks.hist, "t,iter,res\n");
    gka_run_summary_t sum;
    gka_status_t st = GKA_OK;
    if (rc < 0) {
        c.on_token = write_row, c.ctx = &sinks;
        st = gka_run(&c, &sum);
        if (st)
            rc = gka_cli_fail(st == GKA_EINVAL ? GKA_EXIT_USAGE : GKA_EXIT_FAIL, "%s",
                              gka_error_message());
    }
    if (rc < 0 && sinks.csv && gka_outfile_commit(&fcsv) != GKA_OK)
        rc = gka_cli_fail(GKA_EXIT_FAIL, "%s", gka_error_message());
    else if (sinks.csv)
        sinks.csv = NULL;
    if (rc < 0 && sinks.hist && gka_outfile_commit(&fhist) != GKA_OK)
        rc = gka_cli_fail(GKA_EXIT_FAIL, "%s", gka_error_message());
    else if (sinks.hist)
        sinks.hist = NULL;
    if (a.csv) gka_outfile_abort(&fcsv);
    if (a.history) gka_outfile_abort(&fhist);
    if (rc < 0) print_summary(&a, &c, &sum), rc = GKA_EXIT_OK;
    gka_trace_free(&tr);
    return rc;
}
