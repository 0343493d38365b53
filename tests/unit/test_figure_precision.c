/* Figures `precision` and `trace` at the quick tier (CSV shape and the
 * invariants exact arithmetic guarantees), the trace figure on a user .npy
 * file, and the instrumented CG of `reversibility` against the cg solver. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gka_data.h"
#include "gka_fig_internal.h"
#include "gka_figure.h"
#include "gka_solver.h"
#include "gka_stream.h"

static char tmpdir[256];

static void make_tmpdir(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/gka_test_figure_prec_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(figure_precision, .init = make_tmpdir, .fini = remove_tmpdir, .timeout = 600);

static void produce(const char *name, const char *keys, gka_csv_doc_t *doc) {
    gka_figure_opts_t o = gka_figure_opts_default();
    o.formats = 0;
    o.quiet = 1;
    o.threads = 2;
    snprintf(o.out_dir, sizeof o.out_dir, "%s", tmpdir);
    if (keys) snprintf(o.keys_path, sizeof o.keys_path, "%s", keys);
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

/* Invariants of the panel rows shared by `precision` and `trace`. */
static void check_panel(const gka_csv_doc_t *d, size_t ngating) {
    long ns = strtol(gka_csv_doc_meta(d, "sampled_tokens"), NULL, 10);
    cr_assert_gt(ns, 4);
    cr_assert_eq(d->nrows, ngating * 3 * 5 * 5 * (size_t)ns);
    size_t cheb = 0;
    for (size_t r = 0; r < d->nrows; r++) {
        const char *f = str(d, r, "format"), *s = str(d, r, "solver"), *ridge = str(d, r, "ridge");
        double e = num(d, r, "err");
        cr_assert(!isnan(e), "row %zu: err is not a number or inf", r);
        if (strcmp(f, "fp64") != 0) continue;
        cr_assert_eq(num(d, r, "ref_failed"), 0.0);
        if (!strcmp(s, "cholesky")) cr_assert_lt(e, 1e-10, "row %zu fp64 cholesky err %g", r, e);
        if (!strcmp(s, "chebyshev") && !strcmp(ridge, "adaptive:0.02")) {
            /* e_30 = p(A) x*, |p| <= 2R^30/(1+R^60) with kappa bound 51 */
            cr_assert_leq(e, bound30() * (1 + 1e-9) + 1e-12, "row %zu: %g", r, e);
            cheb++;
        }
        if (!strcmp(s, "kalman") && !strcmp(ridge, "fixed:0.25") && !strcmp(str(d, r, "gating"), "none"))
            cr_assert_lt(e, 1e-8, "row %zu: ungated fixed-ridge Kalman is exact, err %g", r, e);
    }
    cr_assert_eq(cheb, ngating * (size_t)ns);
}

Test(figure_precision, precision_grid) {
    gka_csv_doc_t d;
    produce("precision", NULL, &d);
    check_panel(&d, 2);
    gka_csv_doc_free(&d);
}

Test(figure_precision, trace_standin) {
    gka_csv_doc_t d;
    produce("trace", NULL, &d);
    cr_assert(strstr(gka_csv_doc_meta(&d, "data"), "stand-in"));
    check_panel(&d, 1);
    gka_csv_doc_free(&d);
}

/* A little-endian float32 .npy of shape (T, D). */
static void write_npy(const char *path, int T, int D, unsigned seed) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    char hdr[128];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", T, D);
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    unsigned short hlen = (unsigned short)(n + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hlen & 0xff, f);
    fputc(hlen >> 8, f);
    fwrite(hdr, 1, (size_t)n, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
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
    cr_assert_str_eq(gka_csv_doc_meta(&d, "D"), "16");
    cr_assert(!strncmp(gka_csv_doc_meta(&d, "T"), "200 ", 4));
    check_panel(&d, 1);
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
        cr_assert_eq(gka_fig_arith(&A, formats[f]), GKA_OK);
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
            int done = gka_fig_cg_trace(st, 20, x2, al, be, pap, rr);
            cr_assert_eq(done, info.iters, "%s t=%ld: %d vs %d iterations", formats[f], t, done, info.iters);
            A.to_double(&A, v1, x1, (size_t)D);
            A.to_double(&A, v2, x2, (size_t)D);
            for (int i = 0; i < D; i++) cr_assert(v1[i] == v2[i], "%s t=%ld x[%d]", formats[f], t, i);
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
