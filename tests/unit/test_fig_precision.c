/* Figures `precision` and `trace` at the quick tier (CSV shape and the
 * invariants exact arithmetic guarantees), the trace figure on a user .npy
 * file, and the instrumented CG of `reversibility` against the cg solver. */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700 /* putenv, in program_testlib.h */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gka_data.h"
#include "gka_figure_internal.h"
#include "gka_figure.h"
#include "program_testlib.h"
#include "gka_solver.h"
#include "gka_stream.h"
#include "gka_chunker.h"

static char tmpdir[256];

static void make_tmpdir(void) {
    prog_make_tmpdir(tmpdir, sizeof tmpdir, "test_figure_prec");
}

static void remove_tmpdir(void) {
    prog_remove_tree(tmpdir);
}

TestSuite(figure_precision, .init = make_tmpdir, .fini = remove_tmpdir, .timeout = 600);

static void produce(const char *name, const char *keys, gka_csv_doc_t *doc) {
    gka_figure_opts_t o = gka_figure_opts_default();
    o.formats = 0;
    o.quiet = 1;
    o.threads = 2;
    snprintf(o.out_dir, sizeof o.out_dir, "%s", tmpdir);
    if (keys) cr_assert_eq(gka_figure_opts_set_param(&o, GKA_FP_KEYS, 1, &keys), GKA_OK);
    gka_figure_result_t res;
    cr_assert_eq(gka_figure_run(gka_figure_find(name), &o, NULL, &res), GKA_OK, "%s",
                 gka_error_message());
    cr_assert_eq(gka_csv_read(res.csv_path, doc), GKA_OK, "%s", gka_error_message());
}

static double num(const gka_csv_doc_t *d, size_t r, const char *c) {
    return gka_csv_doc_num(d, r, (size_t)gka_csv_doc_column(d, c));
}

static const char *str(const gka_csv_doc_t *d, size_t r, const char *c) {
    return gka_csv_doc_cell(d, r, (size_t)gka_csv_doc_column(d, c));
}

static double bound30(void) { /* 2R^30/(1+R^60), kappa = 51 */
    double R = (sqrt(51.0) - 1.0) / (sqrt(51.0) + 1.0), R30 = pow(R, 30.0);
    return 2.0 * R30 / (1.0 + R30 * R30);
}

static const char *const labels[6] = {"kalman-token",    "kalman-joseph-token", "cg-token",
                                      "chebyshev-token", "cholesky-token",      "chebyshev-chunk"};

static int label_index(const char *s) {
    for (int i = 0; i < 6; i++)
        if (!strcmp(s, labels[i])) return i;
    return -1;
}

/* The row of (gating, ridge, format, solver, t), or -1. */
static long find_row(const gka_csv_doc_t *d, const char *g, const char *ridge, const char *f,
                     const char *s, double t) {
    for (size_t r = 0; r < d->nrows; r++)
        if (num(d, r, "t") == t && !strcmp(str(d, r, "solver"), s) &&
            !strcmp(str(d, r, "format"), f) && !strcmp(str(d, r, "ridge"), ridge) &&
            !strcmp(str(d, r, "gating"), g))
            return (long)r;
    return -1;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of err over the sampled tokens t > after of one series (NaN/Inf
 * sort last: a failure is the worst case). */
static double series_median(const gka_csv_doc_t *d, const char *g, const char *ridge, const char *f,
                            const char *s, double after, size_t *count) {
    double v[128];
    size_t n = 0;
    for (size_t r = 0; r < d->nrows && n < 128; r++)
        if (num(d, r, "t") > after && !strcmp(str(d, r, "solver"), s) &&
            !strcmp(str(d, r, "format"), f) && !strcmp(str(d, r, "ridge"), ridge) &&
            !strcmp(str(d, r, "gating"), g)) {
            double e = num(d, r, "err");
            v[n++] = isfinite(e) ? e : (double)INFINITY;
        }
    *count = n;
    cr_assert_gt(n, 0);
    qsort(v, n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Invariants of the panel rows shared by `precision` and `trace`. */
static void check_panel(const gka_csv_doc_t *d, const char *const *gatings, size_t ngating) {
    long ns = strtol(gka_csv_doc_meta(d, "sampled_tokens"), NULL, 10);
    cr_assert_gt(ns, 4);
    cr_assert_eq(d->nrows, ngating * 3 * 5 * 6 * (size_t)ns);
    cr_assert(strstr(gka_csv_doc_meta(d, "solvers_note"), "chebyshev-chunk (r=30, C=64"));
    size_t cheb = 0, per_label[6] = {0};
    for (size_t r = 0; r < d->nrows; r++) {
        const char *f = str(d, r, "format"), *s = str(d, r, "solver"), *ridge = str(d, r, "ridge");
        int li = label_index(s);
        cr_assert_geq(li, 0, "row %zu: unknown solver label %s", r, s);
        per_label[li]++;
        double e = num(d, r, "err");
        cr_assert(!isnan(e), "row %zu: err is not a number or inf", r);
        if (strcmp(f, "fp64") != 0) continue;
        cr_assert_eq(num(d, r, "ref_failed"), 0.0);
        if (!strcmp(s, "cholesky-token"))
            cr_assert_lt(e, 1e-10, "row %zu fp64 cholesky err %g", r, e);
        if (strstr(s, "chebyshev") && !strcmp(ridge, "adaptive:0.02")) {
            /* e_30 = p(A) x*, |p| <= 2R^30/(1+R^60) with kappa bound 51 */
            cr_assert_leq(e, bound30() * (1 + 1e-9) + 1e-12, "row %zu: %g", r, e);
            cheb++;
        }
        if (!strcmp(s, "kalman-token") && !strcmp(ridge, "fixed:0.25") &&
            !strcmp(str(d, r, "gating"), "none"))
            cr_assert_lt(e, 1e-8, "row %zu: ungated fixed-ridge Kalman is exact, err %g", r, e);
        if (!strcmp(s, "chebyshev-chunk")) {
            /* fp64: the chunk form is the token form's polynomial, reordered */
            long o = find_row(d, str(d, r, "gating"), ridge, f, "chebyshev-token", num(d, r, "t"));
            cr_assert_geq(o, 0);
            double et = num(d, (size_t)o, "err");
            cr_assert(isfinite(e) && isfinite(et));
            cr_assert_leq(fabs(e - et), 1e-6 * fmax(e, et) + 1e-13,
                          "row %zu (%s t=%g): chunk %.6g vs token %.6g", r, ridge, num(d, r, "t"),
                          e, et);
        }
    }
    for (int i = 0; i < 6; i++)
        cr_assert_eq(per_label[i], ngating * 15 * (size_t)ns, "%s: %zu rows", labels[i],
                     per_label[i]);
    cr_assert_eq(cheb, 2 * ngating * (size_t)ns);
    /* bf16, adaptive ridge: the chunk form (fp32 iterates and accumulation
     * within a chunk, state rounded once per chunk) is more accurate than the
     * token form (state rounded every token), past the first chunk too */
    for (size_t g = 0; g < ngating; g++) {
        size_t n1, n2;
        double mc =
            series_median(d, gatings[g], "adaptive:0.02", "bf16", "chebyshev-chunk", 64, &n1);
        double mt =
            series_median(d, gatings[g], "adaptive:0.02", "bf16", "chebyshev-token", 64, &n2);
        cr_assert_eq(n1, n2);
        cr_assert(isfinite(mc) && mc < mt, "%s bf16: chunk median %g, token median %g (t > 64)",
                  gatings[g], mc, mt);
    }
}

Test(figure_precision, precision_grid) {
    gka_csv_doc_t d;
    produce("precision", NULL, &d);
    const char *const gatings[] = {"none", "gka"};
    check_panel(&d, gatings, 2);
    gka_csv_doc_free(&d);
}

Test(figure_precision, trace_standin) {
    gka_csv_doc_t d;
    produce("trace", NULL, &d);
    cr_assert(strstr(gka_csv_doc_meta(&d, "data"), "stand-in"));
    const char *const gatings[] = {"trace"};
    check_panel(&d, gatings, 1);
    gka_csv_doc_free(&d);
}

/* A little-endian float32 .npy of shape (T, D). */
static void write_npy(const char *path, int T, int D, unsigned seed) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    char hdr[128];
    int n = snprintf(hdr, sizeof hdr,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", T, D);
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    unsigned short hlen = (unsigned short)(n + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hlen & 0xff, f);
    fputc(hlen >> 8, f);
    fwrite(hdr, 1, (size_t)n, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    srand(seed);
    for (int i = 0; i < T * D; i++) {
        float v = (float)rand() / (float)RAND_MAX - 0.5f;
        fwrite(&v, sizeof v, 1, f);
    }
    fclose(f);
}

Test(figure_precision, trace_from_npy) {
    char path[512];
    snprintf(path, sizeof path, "%s/keys.npy", tmpdir);
    write_npy(path, 200, 16, 3);
    gka_csv_doc_t d;
    produce("trace", path, &d);
    cr_assert(strstr(gka_csv_doc_meta(&d, "data"), "keys.npy"));
    cr_assert_str_eq(gka_csv_doc_meta(&d, "trace_D"), "16");
    cr_assert(!strncmp(gka_csv_doc_meta(&d, "tokens_used"), "200 ", 4));
    const char *const gatings[] = {"trace"};
    check_panel(&d, gatings, 1);
    gka_csv_doc_free(&d);
}

/* The instrumented CG of `reversibility` must be the cg solver, operation
 * for operation: same iterate bit for bit, in fp64 and in bf16. */
Test(figure_precision, cg_trace_is_the_cg_solver) {
    const char *formats[] = {"fp64", "bf16"};
    const int D = 24;
    gka_synth_config_t cfg = gka_synth_config_default(D, 40, 99);
    gka_trace_t tr = {0};
    cr_assert_eq(gka_synth_generate(&cfg, &tr), GKA_OK);
    for (int f = 0; f < 2; f++) {
        gka_arith_t A;
        cr_assert_eq(gka_figure_arith(&A, formats[f]), GKA_OK);
        gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, 0.02};
        gka_stream_t *st;
        gka_solver_t *cg;
        gka_solver_opts_t so = gka_solver_opts_default();
        so.iters = 20;
        cr_assert_eq(gka_stream_create(&st, &A, D, &ridge, 0), GKA_OK);
        cr_assert_eq(gka_solver_create(&cg, "cg", &so, &A, D), GKA_OK);
        void *x1 = A.alloc(&A, (size_t)D), *x2 = A.alloc(&A, (size_t)D);
        double al[20], be[20], pap[20], rr[20], v1[24], v2[24];
        for (long t = 0; t < 40; t++) {
            cr_assert_eq(gka_stream_push(st, tr.q + t * D, tr.k + t * D, 0.0, 1.0, NULL), GKA_OK);
            if (t % 13 != 12) continue;
            gka_solve_info_t info;
            cr_assert_eq(gka_solver_solve(cg, st, x1, &info), GKA_OK);
            int done = gka_figure_cg_trace(st, 20, x2, al, be, pap, rr);
            cr_assert_eq(done, info.iters, "%s t=%ld: %d vs %d iterations", formats[f], t, done,
                         info.iters);
            A.to_double(&A, v1, x1, (size_t)D);
            A.to_double(&A, v2, x2, (size_t)D);
            for (int i = 0; i < D; i++)
                cr_assert(v1[i] == v2[i], "%s t=%ld x[%d]", formats[f], t, i);
            for (int i = 0; i < done; i++) {
                cr_assert(isfinite(al[i]) && al[i] > 0.0 && pap[i] > 0.0 && rr[i] > 0.0);
                cr_assert_float_eq(al[i], rr[i] / pap[i], 1e-2 * al[i]);
            }
        }
        A.free(&A, x1, (size_t)D);
        A.free(&A, x2, (size_t)D);
        gka_solver_destroy(cg);
        gka_stream_destroy(st);
        gka_arith_destroy(&A);
    }
    gka_trace_free(&tr);
}

/* The panel asks the chunker (solvers/chebyshev_chunk.c) to solve only the
 * sampled tokens: those must be bit for bit the tokens of a run solving all,
 * the others NaN, and the chunk states identical. */
Test(figure_precision, chunker_select_is_bit_exact) {
    const int D = 20, C = 16;
    const long T = 70; /* 4 full chunks and a short one */
    gka_synth_config_t cfg = gka_synth_config_default(D, T, 7);
    cr_assert_eq(gka_gate_spec_parse("gka", &cfg.gate), GKA_OK);
    gka_trace_t tr = {0};
    cr_assert_eq(gka_synth_generate(&cfg, &tr), GKA_OK);
    gka_arith_t As, Ai;
    cr_assert_eq(gka_figure_arith(&As, "bf16"), GKA_OK);
    cr_assert_eq(gka_arith_init_by_name(&Ai, "fp32", "round", NULL, 0), GKA_OK);
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, 0.02};
    gka_chebyshev_chunker_t *all, *some;
    cr_assert_eq(gka_chunker_create(&all, &As, &Ai, D, C, &ridge, 30), GKA_OK);
    cr_assert_eq(gka_chunker_create(&some, &As, &Ai, D, C, &ridge, 30), GKA_OK);
    unsigned char sel[16];
    double g[16], xa[16 * 20], xs[16 * 20], Ha[400], Hs[400];
    size_t nsel = 0;
    for (long t0 = 0; t0 < T; t0 += C) {
        int n = (int)(T - t0 < C ? T - t0 : C);
        for (int j = 0; j < n; j++) {
            g[j] = gka_trace_gamma_log(&tr, t0 + j);
            sel[j] = (t0 + j) % 7 == 3 || t0 + j == T - 1;
        }
        if (t0 == 2 * C) memset(sel, 0, sizeof sel); /* a chunk with nothing to solve */
        const double *q = tr.q + t0 * D, *k = tr.k + t0 * D;
        gka_chunker_select(some, sel);
        cr_assert_eq(
            gka_chunker_run(all, n, q, k, g, NULL, xa, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            GKA_OK);
        cr_assert_eq(
            gka_chunker_run(some, n, q, k, g, NULL, xs, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            GKA_OK);
        for (int j = 0; j < n; j++)
            for (int i = 0; i < D; i++) {
                double a = xa[j * D + i], s = xs[j * D + i];
                cr_assert(isfinite(a));
                if (sel[j])
                    cr_assert(a == s, "t=%ld x[%d]: %.17g vs %.17g", t0 + j, i, a, s);
                else
                    cr_assert(isnan(s), "t=%ld x[%d] not solved but %g", t0 + j, i, s);
            }
        for (int j = 0; j < n; j++)
            nsel += sel[j];
        gka_chunker_state(all, Ha);
        gka_chunker_state(some, Hs);
        cr_assert_eq(memcmp(Ha, Hs, sizeof Ha), 0, "chunk state differs after t0=%ld", t0);
    }
    cr_assert_gt(nsel, 5);
    gka_chunker_destroy(all);
    gka_chunker_destroy(some);
    gka_arith_destroy(&Ai);
    gka_arith_destroy(&As);
    gka_trace_free(&tr);
}
