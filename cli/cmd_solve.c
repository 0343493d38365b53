/* gka solve: run a ridge solver over a key stream (synthetic or loaded) and
 * write one CSV row of metrics per token; print a summary. */
#include "gka_cli.h"
#include "gka_data.h"
#include "gka_io.h"
#include "gka_solver.h"
#include "gka_stream.h"
#include "options.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The arguments from the option table; -1 to go on, else an exit code. */
static int parse_args(int argc, char **argv, gka_opts_t *o, solve_args_t *a) {
    const int rc = gka_opts_parse(GKA_CMD_SOLVE, argc, argv, o);
    if (rc >= 0) return rc;
    memset(a, 0, sizeof *a);
    a->D = gka_opt_long(o, GKA_OPT_D), a->T = gka_opt_long(o, GKA_OPT_T);
    a->have_T = gka_opt_given(o, GKA_OPT_T), a->seed = gka_opt_u64(o, GKA_OPT_SEED);
    a->batch = gka_opt_long(o, GKA_OPT_BATCH), a->head = gka_opt_long(o, GKA_OPT_HEAD);
    a->iters = gka_opt_long(o, GKA_OPT_ITERS), a->tol = gka_opt_real(o, GKA_OPT_TOL);
    a->chunk = gka_opt_given(o, GKA_OPT_CHUNK) ? gka_opt_long(o, GKA_OPT_CHUNK) : 0;
    a->every = gka_opt_long(o, GKA_OPT_EVERY);
    a->warm = gka_opt_given(o, GKA_OPT_WARM);
    a->no_normalize = gka_opt_given(o, GKA_OPT_NO_NORMALIZE);
    a->keys = gka_opt_text(o, GKA_OPT_KEYS), a->queries = gka_opt_text(o, GKA_OPT_QUERIES);
    a->trace = gka_opt_text(o, GKA_OPT_TRACE), a->gates = gka_opt_text(o, GKA_OPT_GATES);
    a->betas = gka_opt_text(o, GKA_OPT_BETAS), a->gate = gka_opt_text(o, GKA_OPT_GATE);
    a->beta = gka_opt_text(o, GKA_OPT_BETA), a->ridge = gka_opt_text(o, GKA_OPT_RIDGE);
    a->format = gka_opt_text(o, GKA_OPT_FORMAT), a->solver = gka_opt_text(o, GKA_OPT_SOLVER);
    a->variant = gka_opt_text(o, GKA_OPT_VARIANT), a->csv = gka_opt_text(o, GKA_OPT_CSV);
    a->history = gka_opt_text(o, GKA_OPT_HISTORY);
    /* not given: the library's own default */
    a->mode = gka_opt_given(o, GKA_OPT_MODE) ? gka_opt_text(o, GKA_OPT_MODE) : NULL;
    a->iter_format =
        gka_opt_given(o, GKA_OPT_ITER_FORMAT) ? gka_opt_text(o, GKA_OPT_ITER_FORMAT) : NULL;
    a->carry = gka_opt_given(o, GKA_OPT_CARRY) ? gka_opt_text(o, GKA_OPT_CARRY) : NULL;
    a->beta_mode = gka_opt_text(o, GKA_OPT_BETA_MODE);
    a->accum = gka_opt_given(o, GKA_OPT_ACCUM) ? gka_opt_text(o, GKA_OPT_ACCUM)
                                               : gka_accum_default(a->format);
    return -1;
}

/* Which conditions of the option table hold for this solver and these data
 * (whether a loaded file is [B,T,H,D] is known after loading: `loaded`), and
 * what to say where one does not. */
typedef struct {
    gka_opt_context_t ctx;
    char solver[96], solver_token[112], data[1100];
} solve_context_t;

static void solve_context(const solve_args_t *a, const gka_solver_ops_t *ops,
                          const gka_trace_t *loaded, solve_context_t *sc) {
    memset(sc, 0, sizeof *sc);
    const int keys_file = !a->trace && ends_with(a->keys, ".npy"),
              synthetic = !a->trace && !keys_file;
    unsigned h = 0;
    if (ops->iterative) h |= GKA_NEEDS(GKA_CTX_ITERATIVE);
    h |= GKA_NEEDS(a->chunk ? GKA_CTX_CHUNK : GKA_CTX_TOKEN_FORM);
    if (ops->solve_op) h |= GKA_NEEDS(GKA_CTX_CHUNKABLE); /* the operator form the chunks use */
    if (ops->iterative || a->chunk) h |= GKA_NEEDS(GKA_CTX_ITERATES);
    if (synthetic) h |= GKA_NEEDS(GKA_CTX_SYNTHETIC);
    if (keys_file) h |= GKA_NEEDS(GKA_CTX_KEYS_FILE);
    if (!loaded || loaded->batched) h |= GKA_NEEDS(GKA_CTX_BATCHED_FILE);
    if (!loaded || loaded->beta) h |= GKA_NEEDS(GKA_CTX_WRITE_GATES); /* known once loaded */
    sc->ctx.holds = h;
    snprintf(sc->solver, sizeof sc->solver, "with --solver %s", a->solver);
    if (a->trace)
        snprintf(sc->data, sizeof sc->data, "with --trace %s", a->trace);
    else if (keys_file)
        snprintf(sc->data, sizeof sc->data, "with --keys %s", a->keys);
    else
        snprintf(sc->data, sizeof sc->data, "with synthetic keys (--keys %s)", a->keys);
    sc->ctx.absent[GKA_CTX_ITERATIVE] = sc->solver;
    sc->ctx.absent[GKA_CTX_CHUNK] = "without --chunk";
    sc->ctx.absent[GKA_CTX_TOKEN_FORM] = "with --chunk";
    sc->ctx.absent[GKA_CTX_CHUNKABLE] = sc->solver;
    snprintf(sc->solver_token, sizeof sc->solver_token, "with --solver %s in token form",
             a->solver);
    sc->ctx.absent[GKA_CTX_ITERATES] = sc->solver_token;
    sc->ctx.absent[GKA_CTX_SYNTHETIC] = sc->data;
    sc->ctx.absent[GKA_CTX_KEYS_FILE] = sc->data;
    sc->ctx.absent[GKA_CTX_WRITE_GATES] = "without write gates";
    sc->ctx.absent[GKA_CTX_BATCHED_FILE] = synthetic ? "with synthetic data" : "with a [T,D] file";
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
                return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
            st = gka_trace_load_npy_paths(&p, &lo, tr);
        }
        if (st) return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
        if (!a->no_normalize) gka_trace_normalize(tr);
        /* the limits of --D and --T hold for loaded data too */
        const gka_opt_decl_t *dD = gka_opt_decl(GKA_OPT_D), *dT = gka_opt_decl(GKA_OPT_T);
        if (tr->D > dD->hi)
            return gka_cli_fail(GKA_EXIT_USAGE, "trace D = %d out of range [1, %.0f]", tr->D,
                                dD->hi);
        if (a->have_T && a->T < tr->T) tr->T = a->T;
        if (tr->T > dT->hi)
            return gka_cli_fail(GKA_EXIT_USAGE, "trace T = %ld out of range [1, %.0f]", tr->T,
                                dT->hi);
        return -1;
    }
    gka_synth_config_t cfg = gka_synth_config_default((int)a->D, a->T, a->seed);
    if ((st = gka_keys_spec_parse(a->keys, &cfg.keys)) ||
        (st = gka_queries_spec_parse(a->queries, &cfg.queries)) ||
        (st = gka_gate_spec_parse(a->gate, &cfg.gate)) ||
        (st = gka_beta_spec_parse(a->beta, &cfg.beta)))
        return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
    cfg.normalize = !a->no_normalize;
    if ((st = gka_synth_generate(&cfg, tr))) return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
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
    const gka_status_t st = gka_outfile_open(f, path);
    if (st != GKA_OK) return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
    *fp = f->fp;
    fputs(header, *fp);
    return -1;
}

int gka_cmd_solve(int argc, char **argv) {
    gka_opts_t o;
    solve_args_t a;
    int rc = parse_args(argc, argv, &o, &a);
    if (rc >= 0) return rc;
    gka_run_config_t c = gka_run_config_default();
    gka_status_t st = gka_ridge_parse(a.ridge, &c.ridge);
    if (st != GKA_OK) return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
    const gka_solver_ops_t *ops;
    if ((st = gka_solver_find(a.solver, &ops)) != GKA_OK)
        return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
    solve_context_t sc;
    solve_context(&a, ops, NULL, &sc);
    if ((rc = gka_opts_check_context(&o, &sc.ctx)) >= 0) return rc;
    gka_trace_t tr = {0};
    if ((rc = build_trace(&a, &tr)) >= 0) return gka_trace_free(&tr), rc;
    solve_context(&a, ops, &tr, &sc);
    if ((rc = gka_opts_check_context(&o, &sc.ctx)) >= 0) return gka_trace_free(&tr), rc;
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
    if (rc < 0) {
        c.on_token = write_row, c.ctx = &sinks;
        if ((st = gka_run(&c, &sum)) != GKA_OK) rc = gka_cli_fail_status(st, GKA_STAGE_RUN, NULL);
    }
    if (rc < 0 && sinks.csv && (st = gka_outfile_commit(&fcsv)) != GKA_OK)
        rc = gka_cli_fail_status(st, GKA_STAGE_RUN, NULL);
    else if (sinks.csv)
        sinks.csv = NULL;
    if (rc < 0 && sinks.hist && (st = gka_outfile_commit(&fhist)) != GKA_OK)
        rc = gka_cli_fail_status(st, GKA_STAGE_RUN, NULL);
    else if (sinks.hist)
        sinks.hist = NULL;
    if (a.csv) gka_outfile_abort(&fcsv);
    if (a.history) gka_outfile_abort(&fhist);
    if (rc < 0) print_summary(&a, &c, &sum), rc = GKA_EXIT_OK;
    gka_trace_free(&tr);
    return rc;
}
