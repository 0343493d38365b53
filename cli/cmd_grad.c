/* gka grad: gradients of the ridge solve (SPEC 4) for one configuration, with
 * per-token errors of dq, dk, dg (and dbeta) against the exact-solution
 * gradient of the same rounded problem in fp64, and a summary. */
#include "gka_backward.h"
#include "gka_cli.h"
#include "gka_figure.h"
#include "gka_data.h"
#include "gka_io.h"
#include "gka_precision.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Philox stream of the upstream gradient dx_t ~ N(0, I). */
#define GRAD_STREAM_DX 12

static void usage(void) {
    printf(
        "usage: gka grad [OPTIONS]\n\n"
        "Gradients of x_t = (H_t + lambda_t I)^{-1} q_t with respect to q_t, k_t, the\n"
        "log-gates g_t and the write gates beta_t for the loss L = sum_t <dx_t, x_t>\n"
        "(dx_t ~ N(0, I), seeded), computed in the studied arithmetic, and their errors\n"
        "against the exact gradient of the same rounded problem (fp64, x* and dq* by\n"
        "LAPACK dposv).\n\n"
        "problem:\n"
        "  --D N              head dimension, 1..1024 (default 32)\n"
        "  --T N              tokens, 1..1000000 (default 256)\n"
        "  --seed S           seed of the synthetic data and of dx (default 1)\n"
        "  --keys SPEC        iid | powerlaw:P | expdecay:S | lowrank:R,NOISE | "
        "repeated:M[,random]\n"
        "  --queries SPEC     iid | keys | next (default iid)\n"
        "  --gate SPEC        none | const:G | uniform:LO,HI | gka[:A[,DT_BIAS]] (default none)\n"
        "  --beta SPEC        none | sigmoid[:SCALE] (default none)\n"
        "  --ridge SPEC       fixed:LAMBDA | adaptive:A (default adaptive:0.02)\n"
        "  --keys F.npy, --queries F.npy|SPEC, --gates F.npy, --betas F.npy,\n"
        "  --trace F.safetensors, --batch B, --head H, --no-normalize\n"
        "                     data from files, as gka solve loads them (--D checks the file)\n"
        "arithmetic:\n"
        "  --format F         fp64 | mpfr:PREC | fp32 tf32 bf16 fp16 e4m3 e5m2 custom:t,emin,emax\n"
        "  --accum A          round | wide | fp32 | wide:FORMAT | exact (default: round for fp64\n"
        "                     and mpfr, wide (fp32) for emulated formats)\n"
        "gradient:\n"
        "  --solver NAME      implicit: chebyshev cg gd agd cholesky; iterations: chebyshev cg\n"
        "                     (default chebyshev)\n"
        "  --iters R          iterations (default 30)\n"
        "  --mode M           implicit | iterations (default implicit)\n"
        "  --no-lambda-path   treat lambda_t as a constant (drop d lambda / d H)\n"
        "  --chunk C          chunk form (SPEC 3), chebyshev implicit only\n"
        "output:\n"
        "  --csv FILE         one row per token: t,err_dq,err_dk,err_dg,err_dbeta,dg,dg_ref,\n"
        "                     nonfinite (err_*: per-token relative errors; err_dg and err_dbeta\n"
        "                     relative to the rms of the reference over the sequence)\n"
        "  --save-grad PREFIX the gradients as float64 .npy: PREFIX_dq.npy, PREFIX_dk.npy\n"
        "                     [T, D], PREFIX_dg.npy, PREFIX_dbeta.npy [T, 1]\n"
        "\nExit status: 0 ok, 1 runtime failure, 2 bad usage or input.\n");
}

typedef struct {
    long D, T, iters, chunk;
    uint64_t seed;
    const char *keys, *queries, *gate, *beta, *ridge, *format, *accum, *solver, *mode, *csv;
    int no_lambda_path;
    /* file inputs and --save-grad (h-cli re-declares them in its option table) */
    const char *trace, *gates, *betas, *save_grad;
    long batch, head;
    int no_normalize, have_D, have_T;
} grad_args_t;

/* -1 on success, else an exit code. */
static int parse_args(int argc, char **argv, grad_args_t *a) {
    memset(a, 0, sizeof *a);
    a->D = 32, a->T = 256, a->iters = 30, a->seed = 1;
    a->keys = "iid", a->queries = "iid", a->gate = "none", a->beta = "none";
    a->ridge = "adaptive:0.02", a->format = "fp64", a->solver = "chebyshev", a->mode = "implicit";
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) return usage(), GKA_EXIT_OK;
        if (!strcmp(o, "--no-lambda-path")) {
            a->no_lambda_path = 1;
            continue;
        }
        if (!strcmp(o, "--no-normalize")) {
            a->no_normalize = 1;
            continue;
        }
        if (strncmp(o, "--", 2) != 0)
            return gka_cli_fail(GKA_EXIT_USAGE, "grad: unexpected argument '%s'", o);
        static const char *const with_value[] = {
            "--D",       "--T",    "--iters",     "--chunk", "--seed",   "--keys",
            "--queries", "--gate", "--beta",      "--ridge", "--format", "--accum",
            "--solver",  "--mode", "--csv",       "--trace", "--gates",  "--betas",
            "--batch",   "--head", "--save-grad", NULL};
        if (!gka_cli_is_one_of(o, with_value))
            return gka_cli_fail(GKA_EXIT_USAGE, "grad: unknown option '%s' (see gka grad --help)",
                                o);
        const char *v = gka_cli_value(argc, argv, &i);
        if (!v) return GKA_EXIT_USAGE;
        int bad = 0;
        if (!strcmp(o, "--D"))
            bad = gka_cli_parse_long(v, "--D", 1, 1024, &a->D), a->have_D = 1;
        else if (!strcmp(o, "--T"))
            bad = gka_cli_parse_long(v, "--T", 1, 1000000, &a->T), a->have_T = 1;
        else if (!strcmp(o, "--iters"))
            bad = gka_cli_parse_long(v, "--iters", 0, 100000, &a->iters);
        else if (!strcmp(o, "--chunk"))
            bad = gka_cli_parse_long(v, "--chunk", 1, 4096, &a->chunk);
        else if (!strcmp(o, "--seed"))
            bad = gka_cli_parse_u64(v, "--seed", &a->seed);
        else if (!strcmp(o, "--keys"))
            a->keys = v;
        else if (!strcmp(o, "--queries"))
            a->queries = v;
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
        else if (!strcmp(o, "--solver"))
            a->solver = v;
        else if (!strcmp(o, "--mode"))
            a->mode = v;
        else if (!strcmp(o, "--csv"))
            a->csv = v;
        else if (!strcmp(o, "--trace"))
            a->trace = v;
        else if (!strcmp(o, "--gates"))
            a->gates = v;
        else if (!strcmp(o, "--betas"))
            a->betas = v;
        else if (!strcmp(o, "--batch"))
            bad = gka_cli_parse_long(v, "--batch", 0, 1L << 30, &a->batch);
        else if (!strcmp(o, "--head"))
            bad = gka_cli_parse_long(v, "--head", 0, 1L << 30, &a->head);
        else if (!strcmp(o, "--save-grad"))
            a->save_grad = v;
        else
            return gka_cli_fail(GKA_EXIT_USAGE, "grad: unknown option '%s' (see gka grad --help)",
                                o);
        if (bad) return GKA_EXIT_USAGE;
    }
    if (!a->accum) a->accum = gka_accum_default(a->format);
    return -1;
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

/* Compute the gradients and the reference. Returns -1 or an exit code. */
static int compute(const grad_args_t *a, gka_grad_problem_t *p, gka_arith_t *A, grad_buf_t *g,
                   grad_buf_t *r) {
    gka_grad_mode_t mode;
    if (gka_grad_mode_by_name(a->mode, &mode))
        return gka_cli_fail(GKA_EXIT_USAGE, "--mode: %s", gka_error_message());
    gka_grad_opts_t o = gka_grad_opts_default();
    o.solver = a->solver, o.iters = (int)a->iters, o.mode = mode,
    o.lambda_path = !a->no_lambda_path;
    gka_grads_t out = as_grads(g), ref = as_grads(r);
    gka_status_t st;
    if (!a->chunk) {
        st = gka_grad_token(A, p, &o, &out, &ref);
    } else {
        if (strcmp(a->solver, "chebyshev") || mode != GKA_GRAD_IMPLICIT)
            return gka_cli_fail(GKA_EXIT_USAGE, "--chunk: only --solver chebyshev --mode implicit");
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
    if (st)
        return gka_cli_fail(st == GKA_EINVAL || st == GKA_ERANGE ? GKA_EXIT_USAGE : GKA_EXIT_FAIL,
                            "%s", gka_error_message());
    return -1;
}

/* Every parameter of the run, for the CSV's metadata. */
static void grad_meta(const grad_args_t *a, const gka_trace_t *tr, const char *arith,
                      gka_csv_t *m) {
    gka_csv_meta(m, "command", "grad");
    gka_csv_meta(m, "data", "%s", tr->origin);
    gka_csv_meta(m, "D", "%d", tr->D);
    gka_csv_meta(m, "T", "%ld", tr->T);
    gka_csv_meta(m, "seed", "%llu", (unsigned long long)a->seed);
    gka_csv_meta(m, "keys", "%s", a->trace ? a->trace : a->keys);
    gka_csv_meta(m, "queries", "%s%s", a->queries, tr->queries_fallback ? " (synthetic)" : "");
    gka_csv_meta(m, "gate", "%s", a->gates ? a->gates : a->gate);
    gka_csv_meta(m, "beta", "%s", a->betas ? a->betas : a->beta);
    gka_csv_meta(m, "batch", "%ld", a->batch);
    gka_csv_meta(m, "head", "%ld", a->head);
    gka_csv_meta(m, "normalize", "%d", !a->no_normalize);
    gka_csv_meta(m, "ridge", "%s", a->ridge);
    gka_csv_meta(m, "arithmetic", "%s", arith);
    gka_csv_meta(m, "solver", "%s", a->solver);
    gka_csv_meta(m, "gradient", "%s", a->mode);
    gka_csv_meta(m, "iters", "%ld", a->iters);
    gka_csv_meta(m, "chunk", "%ld", a->chunk);
    gka_csv_meta(m, "lambda_path", "%d", !a->no_lambda_path);
    gka_csv_meta(m, "reference", "fp64 gradient of the exact-solution forward pass");
}

static int write_csv(const char *path, const gka_grad_problem_t *p, const grad_buf_t *g,
                     const grad_buf_t *r, const gka_csv_t *meta) {
    gka_outfile_t f;
    if (gka_outfile_open(&f, path) != GKA_OK)
        return gka_cli_fail(GKA_EXIT_USAGE, "%s", gka_error_message());
    const size_t n = (size_t)p->D, T = (size_t)p->T;
    const double sg = rms(T, r->dg), sb = rms(T, r->dbeta);
    if (gka_csv_write_head(f.fp, path, "t,err_dq,err_dk,err_dg,err_dbeta,dg,dg_ref,nonfinite",
                           meta) != GKA_OK) {
        gka_outfile_abort(&f);
        return gka_cli_fail(GKA_EXIT_USAGE, "%s", gka_error_message());
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
    if (gka_outfile_commit(&f) != GKA_OK) {
        gka_outfile_abort(&f);
        return gka_cli_fail(GKA_EXIT_FAIL, "%s", gka_error_message());
    }
    return -1;
}

static void summary(const grad_args_t *a, const gka_grad_problem_t *p, const char *arith,
                    const grad_buf_t *g, const grad_buf_t *r) {
    const size_t TD = (size_t)(p->T * p->D), T = (size_t)p->T;
    long nonfinite = 0;
    for (size_t i = 0; i < TD; i++)
        nonfinite += !isfinite(g->dq[i]) || !isfinite(g->dk[i]);
    printf("gka grad: %s (%s%s) in %s, ridge %s, D=%d T=%ld r=%ld%s\n", a->solver, a->mode,
           a->no_lambda_path ? ", no lambda path" : "", arith, a->ridge, p->D, p->T, a->iters,
           a->chunk ? " (chunk form)" : "");
    printf("  relative error vs exact-solution gradient (whole sequence):\n");
    printf("    x      %.3e\n", rel(TD, g->x, r->x));
    printf("    dq     %.3e\n", rel(TD, g->dq, r->dq));
    printf("    dk     %.3e\n", rel(TD, g->dk, r->dk));
    printf("    dg     %.3e\n", rel(T, g->dg, r->dg));
    printf("    dbeta  %.3e\n", rel(T, g->dbeta, r->dbeta));
    printf("  non-finite dq/dk entries: %ld\n", nonfinite);
}

/* Files (the loader gka solve uses) or synthetic data. -1 or an exit code. */
static int load_data(const grad_args_t *a, gka_trace_t *tr) {
    const gka_cli_files_t files = {
        a->keys,  a->queries, a->trace,  a->gates,  a->betas,         a->D,   a->T,
        a->batch, a->head,    a->have_D, a->have_T, !a->no_normalize, a->seed};
    if (gka_cli_files_given(&files)) return gka_cli_load_files(&files, tr);
    if (a->gates || a->betas)
        return gka_cli_fail(GKA_EXIT_USAGE, "--gates/--betas F.npy go with --keys F.npy");
    gka_synth_config_t cfg = gka_synth_config_default((int)a->D, a->T, a->seed);
    gka_status_t st;
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
        if (gka_npy_write_f64(path, out[i].v, (size_t)p->T, out[i].cols) != GKA_OK)
            return gka_cli_fail(GKA_EXIT_FAIL, "%s", gka_error_message());
    }
    return -1;
}

int gka_cmd_grad(int argc, char **argv) {
    grad_args_t a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    gka_ridge_t ridge;
    if (gka_ridge_parse(a.ridge, &ridge))
        return gka_cli_fail(GKA_EXIT_USAGE, "%s", gka_error_message());
    if (ridge.kind == GKA_RIDGE_DECAY)
        return gka_cli_fail(GKA_EXIT_USAGE,
                            "--ridge %s: gradients need fixed: or adaptive:", a.ridge);
    gka_arith_t A;
    gka_status_t st = gka_arith_init_by_name(&A, a.format, a.accum, NULL, a.seed);
    if (st)
        return gka_cli_fail(st == GKA_EUNSUP ? GKA_EXIT_FAIL : GKA_EXIT_USAGE, "%s",
                            gka_error_message());
    gka_trace_t tr = {0};
    if ((rc = load_data(&a, &tr)) >= 0) {
        gka_trace_free(&tr);
        gka_arith_destroy(&A);
        return rc;
    }
    const size_t TD = (size_t)(tr.T * tr.D), T = (size_t)tr.T;
    grad_buf_t g = {0}, r = {0};
    double *dx = malloc(TD * sizeof *dx);
    if (!dx || !grad_buf_alloc(&g, TD, T) || !grad_buf_alloc(&r, TD, T)) {
        rc = gka_cli_fail(GKA_EXIT_FAIL, "grad: out of memory (D = %d, T = %ld)", tr.D, tr.T);
    } else {
        for (size_t i = 0; i < TD; i++)
            dx[i] = gka_philox_normal(a.seed, GRAD_STREAM_DX, 2 * (uint64_t)i);
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
