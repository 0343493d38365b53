/* gka solve: run a ridge solver over a key stream (synthetic or loaded) and
 * write one CSV row of metrics per token; print a summary. */
#include "gka_cli.h"
#include "gka_data.h"
#include "gka_figure.h"
#include "gka_io.h"
#include "gka_solver.h"
#include "gka_run.h"
#include "gka_stream.h"
#include "options.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    gka_cli_files_t in; /* the data, files or synthetic (cli/cli_data.c) */
    const char *ridge;
    const char *format, *accum, *mode, *solver, *variant, *csv, *history, *iter_format, *carry;
    const char *beta_mode;
    gka_run_ref_t reference; /* --reference */
    long iters, chunk, every;
    double tol;
    int warm, quiet;
    /* outputs for other tools, and what a loaded file must agree with */
    const char *save_x, *save_ref, *save_iterates;
} solve_args_t;

/* The arguments from the option table; -1 to go on, else an exit code. */
static int parse_args(int argc, char **argv, gka_opts_t *o, solve_args_t *a) {
    const int rc = gka_opts_parse(GKA_CMD_SOLVE, argc, argv, o);
    if (rc >= 0) return rc;
    memset(a, 0, sizeof *a);
    a->in = gka_cli_files_from_opts(o);
    a->iters = gka_opt_long(o, GKA_OPT_ITERS), a->tol = gka_opt_real(o, GKA_OPT_TOL);
    a->chunk = gka_opt_given(o, GKA_OPT_CHUNK) ? gka_opt_long(o, GKA_OPT_CHUNK) : 0;
    a->every = gka_opt_long(o, GKA_OPT_EVERY);
    a->warm = gka_opt_given(o, GKA_OPT_WARM);
    a->quiet = gka_opt_given(o, GKA_OPT_QUIET);
    a->ridge = gka_opt_text(o, GKA_OPT_RIDGE);
    a->format = gka_opt_text(o, GKA_OPT_FORMAT), a->solver = gka_opt_text(o, GKA_OPT_SOLVER);
    a->variant = gka_opt_text(o, GKA_OPT_VARIANT), a->csv = gka_opt_text(o, GKA_OPT_CSV);
    a->history = gka_opt_text(o, GKA_OPT_HISTORY);
    /* not given: the library's own default */
    a->mode = gka_opt_given(o, GKA_OPT_MODE) ? gka_opt_text(o, GKA_OPT_MODE) : NULL;
    a->iter_format =
        gka_opt_given(o, GKA_OPT_ITER_FORMAT) ? gka_opt_text(o, GKA_OPT_ITER_FORMAT) : NULL;
    a->carry = gka_opt_given(o, GKA_OPT_CARRY) ? gka_opt_text(o, GKA_OPT_CARRY) : NULL;
    a->beta_mode = gka_opt_text(o, GKA_OPT_BETA_MODE);
    a->save_x = gka_opt_text(o, GKA_OPT_SAVE_X), a->save_ref = gka_opt_text(o, GKA_OPT_SAVE_REF);
    a->save_iterates = gka_opt_text(o, GKA_OPT_SAVE_ITERATES);
    if (gka_opt_given(o, GKA_OPT_REFERENCE) &&
        gka_run_ref_parse(gka_opt_text(o, GKA_OPT_REFERENCE), &a->reference) != GKA_OK)
        return gka_cli_fail(GKA_EXIT_USAGE, "--reference: %s", gka_error_message());
    a->accum = gka_opt_given(o, GKA_OPT_ACCUM) ? gka_opt_text(o, GKA_OPT_ACCUM)
                                               : gka_accum_default(a->format);
    return -1;
}

/* Which conditions of the option table hold for this solver and these data
 * (whether a loaded file is [B,T,H,D] is known after loading: `loaded`), and
 * what to say where one does not. */
typedef struct {
    gka_opt_context_t ctx;
    gka_cli_data_context_t data;
    char solver[96], solver_token[112];
} solve_context_t;

static void solve_context(const solve_args_t *a, const gka_solver_ops_t *ops,
                          const gka_trace_t *loaded, solve_context_t *sc) {
    memset(sc, 0, sizeof *sc);
    unsigned h = 0;
    if (ops->iterative) h |= GKA_NEEDS(GKA_CTX_ITERATIVE);
    h |= GKA_NEEDS(a->chunk ? GKA_CTX_CHUNK : GKA_CTX_TOKEN_FORM);
    if (ops->solve_op) h |= GKA_NEEDS(GKA_CTX_CHUNKABLE); /* the operator form the chunks use */
    if (ops->iterative || a->chunk) h |= GKA_NEEDS(GKA_CTX_ITERATES);
    sc->ctx.holds = h;
    gka_cli_data_context(&a->in, loaded, &sc->data, &sc->ctx);
    snprintf(sc->solver, sizeof sc->solver, "with --solver %s", a->solver);
    sc->ctx.absent[GKA_CTX_ITERATIVE] = sc->solver;
    sc->ctx.absent[GKA_CTX_CHUNK] = "without --chunk";
    sc->ctx.absent[GKA_CTX_TOKEN_FORM] = "with --chunk";
    sc->ctx.absent[GKA_CTX_CHUNKABLE] = sc->solver;
    snprintf(sc->solver_token, sizeof sc->solver_token, "with --solver %s in token form",
             a->solver);
    sc->ctx.absent[GKA_CTX_ITERATES] = sc->solver_token;
}

typedef struct {
    const gka_run_config_t *cfg;
    FILE *csv, *hist;
    gka_npy_writer_t *x, *x_ref, *iterates; /* --save-x, --save-ref, --save-iterates */
    gka_npy_writer_t *hist_npy;             /* --history F.npy */
    double *hist_row;                       /* R + 1 doubles for it */
    gka_progress_t *progress;               /* stderr, terminals only */
} sinks_t;

/* --history F.npy writes the .npy form, any other name the CSV form. */
static int names_npy(const char *path) {
    const size_t n = path ? strlen(path) : 0;
    return n > 4 && !strcmp(path + n - 4, ".npy");
}

/* One token's history as a row of R + 1: NaN after a token stopped early. */
static gka_status_t write_history_row(sinks_t *s, const gka_token_metrics_t *m) {
    const int R1 = s->cfg->opts.iters + 1;
    for (int i = 0; i < R1; i++)
        s->hist_row[i] = i < m->nhistory ? m->history[i] : (double)NAN;
    return gka_npy_writer_row(s->hist_npy, s->hist_row);
}

/* The tokens --save-iterates keeps: all, or those --every K measures. */
static int keeps_iterates(const gka_run_config_t *c, long t) {
    return c->every == 0 || gka_run_measures(c, t);
}

static long kept_tokens(const gka_run_config_t *c) {
    long n = 0;
    for (long t = 0; t < c->T; t++)
        n += keeps_iterates(c, t);
    return n;
}

/* R + 1 rows of the token's iterates; NaN rows after a token stopped early. */
static gka_status_t write_iterates(gka_npy_writer_t *w, const gka_token_metrics_t *m, int iters,
                                   int D) {
    gka_status_t st = GKA_OK;
    for (int i = 0; !st && i <= iters; i++)
        st = gka_npy_writer_row(w, i < m->niterates ? m->iterates + (size_t)i * (size_t)D : NULL);
    return st;
}

static int write_row(void *ctx, const gka_token_metrics_t *m) {
    sinks_t *s = ctx;
    gka_progress_advance(s->progress, 1);
    if (s->csv)
        fprintf(s->csv,
                "%ld,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%d,%s,%u,%d\n",
                m->t, m->err, m->res, m->kappa, m->kappa_bound, m->hnorm, m->lambda, m->hnorm64,
                m->lambda64, m->p_asym, m->p_min_eig, m->iters, gka_reason_name(m->reason),
                m->events, m->nonfinite);
    for (int i = 0; s->hist && i < m->nhistory; i++)
        fprintf(s->hist, "%ld,%d,%.17g\n", m->t, i, m->history[i]);
    if (s->hist_npy && write_history_row(s, m) != GKA_OK) return 1;
    if (s->x && gka_npy_writer_row(s->x, m->x) != GKA_OK) return 1;
    if (s->x_ref && gka_npy_writer_row(s->x_ref, m->x_ref) != GKA_OK) return 1;
    if (s->iterates && keeps_iterates(s->cfg, m->t) &&
        write_iterates(s->iterates, m, s->cfg->opts.iters, s->cfg->D) != GKA_OK)
        return 1;
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
    gka_status_t st = gka_outfile_open(f, path);
    if (st != GKA_OK) return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
    *fp = f->fp;
    if ((st = gka_csv_write_head(*fp, path, header, meta)) != GKA_OK)
        return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
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
    gka_cli_data_meta(&a->in, tr, m);
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

/* --save-iterates: refused before the run where the array would pass the
 * stated limit. Returns -1 or an exit code. */
static int check_iterates_size(const solve_args_t *a, const gka_run_config_t *c) {
    if (!a->save_iterates) return -1;
    const double bytes = 8.0 * (double)kept_tokens(c) * (double)(c->opts.iters + 1) * c->D;
    if (bytes > (double)GKA_ITERATES_MAX_BYTES)
        return gka_cli_fail(GKA_EXIT_USAGE,
                            "--save-iterates: [%ld, %d, %d] float64 is %.3g GiB, over the "
                            "limit of " GKA_ITERATES_LIMIT_TEXT
                            " (fewer tokens with --T or --every K, or fewer --iters)",
                            kept_tokens(c), c->opts.iters + 1, c->D, bytes / (1u << 30));
    return -1;
}

/* --save-x / --save-ref: [T, D] float64 .npy files, --save-iterates [T', R+1,
 * D], written whole or not at all. Returns -1 or an exit code. */
static int open_arrays(const solve_args_t *a, const gka_run_config_t *c, sinks_t *s) {
    gka_status_t st;
    const size_t shape[3] = {(size_t)kept_tokens(c), (size_t)c->opts.iters + 1, (size_t)c->D};
    if (a->save_iterates &&
        (st = gka_npy_writer_open_shape(&s->iterates, a->save_iterates, 3, shape)))
        return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
    if (names_npy(a->history)) {
        if ((st = gka_npy_writer_open(&s->hist_npy, a->history, (size_t)c->T,
                                      (size_t)c->opts.iters + 1)))
            return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
        if (!(s->hist_row = malloc(((size_t)c->opts.iters + 1) * sizeof(double))))
            return gka_cli_fail(GKA_EXIT_FAIL, "solve: out of memory for the history");
    }
    if (a->save_x && (st = gka_npy_writer_open(&s->x, a->save_x, (size_t)c->T, (size_t)c->D)))
        return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
    if (a->save_ref &&
        (st = gka_npy_writer_open(&s->x_ref, a->save_ref, (size_t)c->T, (size_t)c->D)))
        return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
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
    const char *outs[] = {a->csv, a->history, a->save_x, a->save_ref, a->save_iterates};
    const char *out_names[] = {"--csv", "--history", "--save-x", "--save-ref", "--save-iterates"};
    const char *ins[] = {
        input_path(a->in.keys, k, sizeof k), input_path(a->in.queries, q, sizeof q),
        input_path(a->in.gates, g, sizeof g), input_path(a->in.betas, b, sizeof b), a->in.trace};
    const char *in_names[] = {"--keys", "--queries", "--gates", "--betas", "--trace"};
    const gka_status_t st = gka_paths_check(outs, out_names, 5, ins, in_names, 5);
    if (st != GKA_OK) return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
    return -1;
}

/* CSV, history and arrays committed together: all or none of them
 * (experiments/gka_io.h). Returns -1 or an exit code. */
static int commit_outputs(gka_outfile_t *csv, gka_outfile_t *hist, sinks_t *s) {
    gka_outfile_t *outs[6] = {csv, hist, NULL, NULL, NULL, NULL};
    size_t n = 2;
    int rc = -1;
    gka_npy_writer_t *w[4] = {s->x, s->x_ref, s->iterates, s->hist_npy};
    for (int j = 0; j < 4 && rc < 0; j++)
        if (w[j] && !(outs[n++] = gka_npy_writer_file(w[j])))
            rc = gka_cli_fail(GKA_EXIT_FAIL, "%s", gka_error_message());
    gka_status_t st;
    if (rc < 0 && (st = gka_outfile_commit_all(outs, n)) != GKA_OK)
        rc = gka_cli_fail_status(st, GKA_STAGE_RUN, NULL);
    return rc;
}

int gka_cmd_solve(int argc, char **argv) {
    gka_opts_t o;
    solve_args_t a;
    int rc = parse_args(argc, argv, &o, &a);
    if (rc >= 0) return rc;
    if ((rc = check_paths(&a)) >= 0) return rc;
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
    if ((rc = gka_cli_build_trace(&a.in, &tr)) >= 0) return gka_trace_free(&tr), rc;
    solve_context(&a, ops, &tr, &sc);
    if ((rc = gka_opts_check_context(&o, &sc.ctx)) >= 0) return gka_trace_free(&tr), rc;
    gka_cli_queries_notice(&a.in, &tr); /* after the refusals: one line for a refused run */
    c.D = tr.D, c.T = tr.T, c.q = tr.q, c.k = tr.k, c.g = tr.g, c.beta = tr.beta;
    c.solver = a.solver, c.format = a.format, c.accum = a.accum, c.mode = a.mode,
    c.seed = a.in.round_seed;
    c.opts.iters = (int)a.iters, c.opts.tol = a.tol, c.opts.warm = a.warm;
    c.opts.history = a.history != NULL;
    c.opts.iterates = a.save_iterates != NULL;
    if (a.variant) snprintf(c.opts.variant, sizeof c.opts.variant, "%s", a.variant);
    c.chunk = (int)a.chunk, c.iter_format = a.iter_format, c.carry = a.carry, c.every = a.every;
    c.beta_mode = a.beta_mode && !strcmp(a.beta_mode, "fold") ? GKA_BETA_FOLD : GKA_BETA_WEIGHT;
    c.reference = a.reference;
    gka_outfile_t fcsv = {0}, fhist = {0};
    gka_progress_t progress;
    sinks_t sinks = {&c, NULL, NULL, NULL, NULL, NULL, NULL, NULL, &progress};
    if ((rc = check_iterates_size(&a, &c)) >= 0) return gka_trace_free(&tr), rc;
    gka_interrupt_install();
    gka_csv_t meta;
    gka_csv_init(&meta);
    solve_meta(&a, &c, &tr, &meta);
    rc = open_sink(a.csv, &fcsv, &sinks.csv,
                   "t,err,res,kappa,kappa_bound,hnorm,lambda,hnorm64,lambda64,p_asym,p_min_eig,"
                   "iters,reason,events,nonfinite",
                   &meta);
    if (rc < 0 && !names_npy(a.history))
        rc = open_sink(a.history, &fhist, &sinks.hist, "t,iter,res", &meta);
    gka_csv_free(&meta);
    if (rc < 0) rc = open_arrays(&a, &c, &sinks);
    gka_run_summary_t sum;
    if (rc < 0) {
        c.on_token = write_row, c.ctx = &sinks;
        gka_progress_start_after(&progress, stderr, a.quiet, "solve", c.T, 1.0);
        st = gka_run(&c, &sum);
        gka_progress_finish(&progress);
        if (st != GKA_OK) rc = gka_cli_fail_status(st, GKA_STAGE_RUN, NULL);
    }
    if (rc < 0) rc = commit_outputs(&fcsv, &fhist, &sinks);
    gka_npy_writer_abort(sinks.x);
    gka_npy_writer_abort(sinks.x_ref);
    gka_npy_writer_abort(sinks.iterates);
    gka_npy_writer_abort(sinks.hist_npy);
    free(sinks.hist_row);
    gka_outfile_abort(&fcsv);
    gka_outfile_abort(&fhist);
    if (rc < 0) print_summary(&a, &c, &sum), rc = GKA_EXIT_OK;
    gka_trace_free(&tr);
    return rc;
}
