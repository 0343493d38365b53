/* gka grad: gradients of the ridge solve (MATH.md section 4) for one configuration, with
 * per-token errors of dq, dk, dg (and dbeta) against the exact-solution
 * gradient of the same rounded problem in fp64, and a summary. */
#include "gka_grad.h"
#include "gka_cli.h"
#include "gka_figure.h"
#include "gka_data.h"
#include "gka_io.h"
#include "gka_precision.h"
#include "gka_solver.h"
#include "options.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Philox stream of the upstream gradient dx_t ~ N(0, I). */
#define GRAD_STREAM_DX 12

typedef struct {
    gka_cli_files_t in; /* the data, files or synthetic (cli/cli_data.c) */
    long iters, chunk;
    const char *ridge, *format, *accum, *solver, *mode, *csv;
    const char *grad_mode;
    int no_lambda_path, quiet;
    const char *save_grad;
} grad_args_t;

/* The arguments from the option table; -1 to go on, else an exit code. */
static int parse_args(int argc, char **argv, gka_opts_t *o, grad_args_t *a) {
    const int rc = gka_opts_parse(GKA_CMD_GRAD, argc, argv, o);
    if (rc >= 0) return rc;
    memset(a, 0, sizeof *a);
    a->in = gka_cli_files_from_opts(o);
    a->iters = gka_opt_long(o, GKA_OPT_ITERS);
    a->chunk = gka_opt_given(o, GKA_OPT_CHUNK) ? gka_opt_long(o, GKA_OPT_CHUNK) : 0;
    a->save_grad = gka_opt_text(o, GKA_OPT_SAVE_GRAD);
    a->ridge = gka_opt_text(o, GKA_OPT_RIDGE), a->format = gka_opt_text(o, GKA_OPT_FORMAT);
    a->solver = gka_opt_text(o, GKA_OPT_SOLVER), a->csv = gka_opt_text(o, GKA_OPT_CSV);
    a->grad_mode = gka_opt_text(o, GKA_OPT_GRAD_MODE);
    a->no_lambda_path = gka_opt_given(o, GKA_OPT_NO_LAMBDA_PATH);
    a->quiet = gka_opt_given(o, GKA_OPT_QUIET);
    a->mode = gka_opt_given(o, GKA_OPT_MODE) ? gka_opt_text(o, GKA_OPT_MODE) : NULL;
    /* --mode was the gradient mode before it meant the rounding mode in every
       command: say so rather than "unknown rounding mode". */
    if (a->mode && (!strcmp(a->mode, "implicit") || !strcmp(a->mode, "iterations")))
        return gka_cli_fail(GKA_EXIT_USAGE,
                            "grad: --mode is the rounding mode; the gradient mode is now "
                            "--grad-mode %s",
                            a->mode);
    a->accum = gka_opt_given(o, GKA_OPT_ACCUM) ? gka_opt_text(o, GKA_OPT_ACCUM)
                                               : gka_accum_default(a->format);
    return -1;
}

/* Which conditions of the option table hold for this solver, gradient mode
 * and these data (`loaded`: NULL before loading, as in gka solve), and what
 * to say where one does not. */
typedef struct {
    gka_opt_context_t ctx;
    gka_cli_data_context_t data;
    char solver[96], modes[160];
} grad_context_t;

static void grad_context(const grad_args_t *a, const gka_solver_ops_t *ops,
                         const gka_trace_t *loaded, grad_context_t *gc) {
    memset(gc, 0, sizeof *gc);
    gc->ctx.holds = ops->iterative ? GKA_NEEDS(GKA_CTX_ITERATIVE) : 0;
    /* the chunked gradient exists for Chebyshev's implicit gradient */
    const int chunkable = !strcmp(a->solver, "chebyshev") && !strcmp(a->grad_mode, "implicit");
    if (chunkable) gc->ctx.holds |= GKA_NEEDS(GKA_CTX_CHUNKED_GRADIENT);
    gka_cli_data_context(&a->in, loaded, &gc->data, &gc->ctx);
    snprintf(gc->solver, sizeof gc->solver, "with --solver %s", a->solver);
    gc->ctx.absent[GKA_CTX_ITERATIVE] = gc->solver;
    snprintf(gc->modes, sizeof gc->modes, "with --solver %s --grad-mode %s", a->solver,
             a->grad_mode);
    gc->ctx.absent[GKA_CTX_CHUNKED_GRADIENT] = gc->modes;
}

/* ||a - b|| / ||b|| over n values (absolute if b = 0; +Inf on NaN/Inf). */
static double rel(size_t n, const double *x, const double *y) {
    return gka_grad_rel_error(n, x, y);
}

static double rms(size_t n, const double *v) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += v[i] * v[i];
    return sqrt(s / (double)(n ? n : 1));
}

/* |x - y| / scale, +Inf on a non-finite value. */
static double scaled(double x, double y, double scale) {
    if (!isfinite(x) || !isfinite(y)) return (double)INFINITY;
    return fabs(x - y) / (scale > 0.0 ? scale : 1.0);
}

typedef struct {
    double *x, *dq, *dk, *dg, *dbeta;
} grad_buf_t;

static int grad_buf_alloc(grad_buf_t *b, size_t TD, size_t T) {
    b->x = calloc(TD, sizeof(double)), b->dq = calloc(TD, sizeof(double));
    b->dk = calloc(TD, sizeof(double)), b->dg = calloc(T, sizeof(double));
    b->dbeta = calloc(T, sizeof(double));
    return b->x && b->dq && b->dk && b->dg && b->dbeta;
}

static void grad_buf_free(grad_buf_t *b) {
    free(b->x), free(b->dq), free(b->dk), free(b->dg), free(b->dbeta);
}

static gka_grads_t as_grads(grad_buf_t *b) {
    gka_grads_t g = {b->x, b->dq, b->dk, b->dg, b->dbeta};
    return g;
}

static void advance(void *ctx, long t) {
    (void)t;
    gka_progress_advance(ctx, 1);
}

/* Compute the gradients and the reference. Returns -1 or an exit code. */
static int compute(const grad_args_t *a, gka_grad_problem_t *p, gka_arith_t *A, grad_buf_t *g,
                   grad_buf_t *r) {
    gka_grad_mode_t mode;
    if (gka_grad_mode_by_name(a->grad_mode, &mode))
        return gka_cli_fail_status(GKA_EINVAL, GKA_STAGE_INPUT, "--grad-mode");
    gka_grad_opts_t o = gka_grad_opts_default();
    o.solver = a->solver, o.iters = (int)a->iters, o.mode = mode,
    o.lambda_path = !a->no_lambda_path;
    gka_grads_t out = as_grads(g), ref = as_grads(r);
    gka_status_t st;
    if (!a->chunk) {
        /* the bar counts the tokens of the forward pass */
        gka_progress_t progress;
        gka_progress_start_after(&progress, stderr, a->quiet, "grad (forward)", p->T, 1.0);
        o.on_token = advance, o.ctx = &progress;
        st = gka_grad_token(A, p, &o, &out, &ref);
        gka_progress_finish(&progress);
    } else {
        if (strcmp(a->solver, "chebyshev") || mode != GKA_GRAD_IMPLICIT)
            return gka_cli_fail(GKA_EXIT_USAGE,
                                "--chunk: only --solver chebyshev --grad-mode implicit");
        st = gka_grad_chunked(A, p, (int)a->chunk, (int)a->iters, o.lambda_path, &out);
        if (!st) { /* reference: the exact gradient of the inputs rounded as the chunk form reads
                      them */
            const size_t n = (size_t)(p->T * p->D);
            double *buf = malloc(3 * n * sizeof(double));
            void *e = buf ? A->alloc(A, n) : NULL;
            if (!e) {
                free(buf);
                return gka_cli_fail(GKA_EXIT_FAIL, "grad: out of memory");
            }
            const double *src[3] = {p->q, p->k, p->dx};
            for (int i = 0; i < 3; i++) {
                A->from_double(A, e, src[i], n);
                A->to_double(A, buf + (size_t)i * n, e, n);
            }
            A->free(A, e, n);
            gka_grad_problem_t pr = *p;
            pr.q = buf, pr.k = buf + n, pr.dx = buf + 2 * n;
            gka_arith_t A64;
            gka_arith_init_fp64(&A64);
            gka_grad_opts_t oc = gka_grad_opts_default();
            oc.solver = "cholesky", oc.lambda_path = o.lambda_path;
            st = gka_grad_token(&A64, &pr, &oc, &ref, NULL);
            gka_arith_destroy(&A64);
            free(buf);
        }
    }
    if (st) return gka_cli_fail_status(st, GKA_STAGE_RUN, NULL);
    return -1;
}

/* Every parameter of the run, for the CSV's metadata. */
static void grad_meta(const grad_args_t *a, const gka_trace_t *tr, const char *arith,
                      gka_csv_t *m) {
    gka_csv_meta(m, "command", "grad");
    gka_csv_meta(m, "data", "%s", tr->origin);
    gka_csv_meta(m, "D", "%d", tr->D);
    gka_csv_meta(m, "T", "%ld", tr->T);
    gka_cli_data_meta(&a->in, tr, m);
    gka_csv_meta(m, "ridge", "%s", a->ridge);
    gka_csv_meta(m, "arithmetic", "%s", arith);
    gka_csv_meta(m, "solver", "%s", a->solver);
    gka_csv_meta(m, "mode", "%s", a->mode ? a->mode : "ne");
    gka_csv_meta(m, "gradient", "%s", a->grad_mode);
    gka_csv_meta(m, "iters", "%ld", a->iters);
    gka_csv_meta(m, "chunk", "%ld", a->chunk);
    gka_csv_meta(m, "lambda_path", "%d", !a->no_lambda_path);
    gka_csv_meta(m, "reference", "fp64 gradient of the exact-solution forward pass");
}

static int write_csv(const char *path, const gka_grad_problem_t *p, const grad_buf_t *g,
                     const grad_buf_t *r, const gka_csv_t *meta) {
    gka_outfile_t f;
    gka_status_t st = gka_outfile_open(&f, path);
    if (st != GKA_OK) return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
    const size_t n = (size_t)p->D, T = (size_t)p->T;
    const double sg = rms(T, r->dg), sb = rms(T, r->dbeta);
    if ((st = gka_csv_write_head(f.fp, path, "t,err_dq,err_dk,err_dg,err_dbeta,dg,dg_ref,nonfinite",
                                 meta)) != GKA_OK) {
        gka_outfile_abort(&f);
        return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
    }
    for (size_t t = 0; t < T; t++) {
        int nonfinite = 0;
        for (size_t i = 0; i < n; i++)
            nonfinite |= !isfinite(g->dq[t * n + i]) || !isfinite(g->dk[t * n + i]);
        nonfinite |= !isfinite(g->dg[t]) || !isfinite(g->dbeta[t]);
        fprintf(f.fp, "%zu,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%d\n", t,
                rel(n, g->dq + t * n, r->dq + t * n), rel(n, g->dk + t * n, r->dk + t * n),
                scaled(g->dg[t], r->dg[t], sg), scaled(g->dbeta[t], r->dbeta[t], sb), g->dg[t],
                r->dg[t], nonfinite);
    }
    if ((st = gka_outfile_commit(&f)) != GKA_OK) {
        gka_outfile_abort(&f);
        return gka_cli_fail_status(st, GKA_STAGE_RUN, NULL);
    }
    return -1;
}

static void summary(const grad_args_t *a, const gka_grad_problem_t *p, const char *arith,
                    const grad_buf_t *g, const grad_buf_t *r) {
    const size_t TD = (size_t)(p->T * p->D), T = (size_t)p->T;
    long nonfinite = 0, nonfinite_gates = 0;
    for (size_t i = 0; i < TD; i++)
        nonfinite += !isfinite(g->dq[i]) || !isfinite(g->dk[i]);
    for (size_t t = 0; t < T; t++) /* an overflow can reach dg, dbeta alone */
        nonfinite_gates += !isfinite(g->dg[t]) || !isfinite(g->dbeta[t]);
    printf("gka grad: %s (%s%s) in %s, ridge %s, D=%d T=%ld r=%ld%s\n", a->solver, a->grad_mode,
           a->no_lambda_path ? ", no lambda path" : "", arith, a->ridge, p->D, p->T, a->iters,
           a->chunk ? " (chunk form)" : "");
    printf("  relative error vs exact-solution gradient (whole sequence):\n");
    printf("    x      %.3e\n", rel(TD, g->x, r->x));
    printf("    dq     %.3e\n", rel(TD, g->dq, r->dq));
    printf("    dk     %.3e\n", rel(TD, g->dk, r->dk));
    printf("    dg     %.3e\n", rel(T, g->dg, r->dg));
    printf("    dbeta  %.3e\n", rel(T, g->dbeta, r->dbeta));
    printf("  non-finite dq/dk entries: %ld\n", nonfinite);
    printf("  non-finite dg/dbeta tokens: %ld\n", nonfinite_gates);
}

/* --save-grad PREFIX: dq, dk [T, D] and dg, dbeta [T, 1] as float64 .npy,
 * each written whole or not at all. -1 or an exit code. */
static int save_grad(const char *prefix, const gka_grad_problem_t *p, const grad_buf_t *g) {
    const struct {
        const char *name;
        const double *v;
        size_t cols;
    } out[] = {{"dq", g->dq, (size_t)p->D},
               {"dk", g->dk, (size_t)p->D},
               {"dg", g->dg, 1},
               {"dbeta", g->dbeta, 1}};
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) {
        char path[4096];
        if (snprintf(path, sizeof path, "%s_%s.npy", prefix, out[i].name) >= (int)sizeof path)
            return gka_cli_fail(GKA_EXIT_USAGE, "--save-grad: prefix too long");
        const gka_status_t st = gka_npy_write_f64(path, out[i].v, (size_t)p->T, out[i].cols);
        if (st != GKA_OK) return gka_cli_fail_status(st, GKA_STAGE_RUN, NULL);
    }
    return -1;
}

int gka_cmd_grad(int argc, char **argv) {
    gka_opts_t o;
    grad_args_t a;
    int rc = parse_args(argc, argv, &o, &a);
    if (rc >= 0) return rc;
    const gka_solver_ops_t *ops;
    gka_status_t st = gka_solver_find(a.solver, &ops);
    if (st != GKA_OK) return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
    grad_context_t gc;
    grad_context(&a, ops, NULL, &gc);
    if ((rc = gka_opts_check_context(&o, &gc.ctx)) >= 0) return rc;
    gka_ridge_t ridge;
    if ((st = gka_ridge_parse(a.ridge, &ridge)))
        return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
    if (ridge.kind == GKA_RIDGE_DECAY)
        return gka_cli_fail(GKA_EXIT_USAGE,
                            "--ridge %s: gradients need fixed: or adaptive:", a.ridge);
    gka_arith_t A;
    st = gka_arith_init_by_name(&A, a.format, a.accum, a.mode, a.in.round_seed);
    if (st) return gka_cli_fail_status(st, GKA_STAGE_INPUT, NULL);
    gka_trace_t tr = {0};
    if ((rc = gka_cli_build_trace(&a.in, &tr)) < 0) {
        grad_context(&a, ops, &tr, &gc);
        rc = gka_opts_check_context(&o, &gc.ctx);
    }
    if (rc >= 0) {
        gka_trace_free(&tr);
        gka_arith_destroy(&A);
        return rc;
    }
    gka_cli_queries_notice(&a.in, &tr); /* after the refusals: one line for a refused run */
    const size_t TD = (size_t)(tr.T * tr.D), T = (size_t)tr.T;
    grad_buf_t g = {0}, r = {0};
    double *dx = malloc(TD * sizeof *dx);
    if (!dx || !grad_buf_alloc(&g, TD, T) || !grad_buf_alloc(&r, TD, T)) {
        rc = gka_cli_fail(GKA_EXIT_FAIL, "grad: out of memory (D = %d, T = %ld)", tr.D, tr.T);
    } else {
        for (size_t i = 0; i < TD; i++)
            dx[i] = gka_philox_normal(a.in.seed, GRAD_STREAM_DX, 2 * (uint64_t)i);
        gka_grad_problem_t p = {tr.D, tr.T, tr.q, tr.k, tr.g, tr.beta, dx, ridge};
        rc = compute(&a, &p, &A, &g, &r);
        gka_csv_t meta;
        gka_csv_init(&meta);
        grad_meta(&a, &tr, A.name, &meta);
        if (rc < 0 && a.csv) rc = write_csv(a.csv, &p, &g, &r, &meta);
        if (rc < 0 && a.save_grad) rc = save_grad(a.save_grad, &p, &g);
        gka_csv_free(&meta);
        if (rc < 0) summary(&a, &p, A.name, &g, &r), rc = GKA_EXIT_OK;
    }
    free(dx);
    grad_buf_free(&g), grad_buf_free(&r);
    gka_trace_free(&tr);
    gka_arith_destroy(&A);
    return rc;
}
