#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700 /* putenv, in program_testlib.h */
/* Figure `solvers` (experiments/fig_solvers.c), quick tier: registered, the
 * CSV byte-identical at 1 and 2 threads, one row for every (regime, ridge,
 * format, solver) cell, n/a exactly where a cell does not apply (Kalman in
 * chunk form, Kalman on a ridge other than decay, the decay ridge in chunk
 * form), the chosen Kalman form
 * named, and the errors that must hold read back from the CSV: every fp64
 * cell finite and without NaN/overflow tokens, Cholesky and CG (guarded and
 * plain; D = 16 < r = 30, so CG terminates) at most 1e-10 in fp64 in every
 * regime, and the two carries identical in fp64 and fp32 (where carrying in
 * the format is carrying in fp32). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gka_figure.h"
#include "program_testlib.h"

static char tmpdir[256];

static void make_tmpdir(void) {
    prog_make_tmpdir(tmpdir, sizeof tmpdir, "test_fig_solvers");
}

static void remove_tmpdir(void) {
    prog_remove_tree(tmpdir);
}

TestSuite(fig_solvers, .init = make_tmpdir, .fini = remove_tmpdir);

static void run_fig(int threads, const char *sub, char *csv_path, size_t size) {
    prog_run_figure("solvers", tmpdir, threads, sub, csv_path, size);
}

static const char *const regimes[] = {"token", "token-fp32-iterates", "chunk-fp32-carry",
                                      "chunk-format-carry"};
static const char *const ridges[] = {"adaptive:0.02", "fixed:0.25", "decay:0.25"};
static const char *const formats[] = {"fp64", "fp32", "fp16", "bf16", "e4m3"};
static const char *const solvers[] = {"chebyshev", "cg-guarded", "cg-plain", "gd",
                                      "agd",       "cholesky",   "kalman"};

static long col(const gka_csv_doc_t *d, const char *name) {
    long c = gka_csv_doc_column(d, name);
    cr_assert(c >= 0, "column %s missing", name);
    return c;
}

/* Row of a cell; -1 if absent (a second match fails the test). */
static long find_row(const gka_csv_doc_t *d, const char *regime, const char *ridge,
                     const char *format, const char *solver) {
    const long cr = col(d, "regime"), cg = col(d, "ridge"), cf = col(d, "format"),
               cs = col(d, "solver");
    long found = -1;
    for (size_t r = 0; r < d->nrows; r++)
        if (!strcmp(gka_csv_doc_cell(d, r, (size_t)cr), regime) &&
            !strcmp(gka_csv_doc_cell(d, r, (size_t)cg), ridge) &&
            !strcmp(gka_csv_doc_cell(d, r, (size_t)cf), format) &&
            !strcmp(gka_csv_doc_cell(d, r, (size_t)cs), solver)) {
            cr_assert(found < 0, "cell %s %s %s %s twice", regime, ridge, format, solver);
            found = (long)r;
        }
    return found;
}

static double num(const gka_csv_doc_t *d, long row, const char *name) {
    return gka_csv_doc_num(d, (size_t)row, (size_t)col(d, name));
}

static const char *str(const gka_csv_doc_t *d, long row, const char *name) {
    return gka_csv_doc_cell(d, (size_t)row, (size_t)col(d, name));
}

Test(fig_solvers, quick_tier_every_cell_reproducible_and_exact_in_fp64, .timeout = 240) {
    setenv("SOURCE_DATE_EPOCH", "0", 1);
    char p1[4096], p2[4096];
    run_fig(1, "t1", p1, sizeof p1);
    run_fig(2, "t2", p2, sizeof p2);
    size_t n1, n2;
    char *a = prog_read_file_or_fail(p1, &n1), *b = prog_read_file_or_fail(p2, &n2);
    cr_assert(n1 == n2 && !memcmp(a, b, n1), "CSV differs between 1 and 2 threads");
    free(a), free(b);

    gka_csv_doc_t d;
    cr_assert_eq(gka_csv_read(p1, &d), GKA_OK, "%s", gka_error_message());
    cr_assert_str_eq(gka_csv_doc_meta(&d, "figure"), "solvers");
    const char *kf = gka_csv_doc_meta(&d, "kalman_form");
    cr_assert_not_null(kf, "the chosen Kalman form is not named");
    const char *fmts[] = {"fp64", "fp32", "fp16", "bf16", "e4m3"};
    for (int f = 0; f < 5; f++) { /* every form in every format beside the pick */
        char key[48];
        snprintf(key, sizeof key, "kalman_forms_%s", fmts[f]);
        const char *v = gka_csv_doc_meta(&d, key);
        cr_assert(v && strstr(v, "info") && strstr(v, "cov") && strstr(v, "joseph") &&
                      strstr(v, "sqrt"),
                  "%s missing", key);
    }
    cr_assert_eq(d.nrows, 4u * 3u * 5u * 7u);
    for (size_t ir = 0; ir < 4; ir++)
        for (size_t ig = 0; ig < 3; ig++)
            for (size_t f = 0; f < 5; f++)
                for (size_t s = 0; s < 7; s++) {
                    const long r = find_row(&d, regimes[ir], ridges[ig], formats[f], solvers[s]);
                    cr_assert(r >= 0, "cell %s %s %s %s missing", regimes[ir], ridges[ig],
                              formats[f], solvers[s]);
                    const int kalman = !strcmp(solvers[s], "kalman");
                    /* kalman: token form and decay ridge only; cholesky and
                     * kalman have no iterates; the chunk form has no decay ridge */
                    const int direct = kalman || !strcmp(solvers[s], "cholesky");
                    const int na = (kalman && (ir > 0 || ig != 2)) || (ir == 1 && direct) ||
                                   (ir >= 2 && ig == 2);
                    const char *status = str(&d, r, "status");
                    if (na) {
                        cr_assert_str_eq(status, "n/a", "%s %s %s kalman must be n/a", regimes[ir],
                                         ridges[ig], formats[f]);
                        cr_assert(strlen(str(&d, r, "note")) > 0, "n/a without a note");
                        continue;
                    }
                    cr_assert_str_neq(status, "n/a", "%s %s %s %s marked n/a", regimes[ir],
                                      ridges[ig], formats[f], solvers[s]);
                    cr_assert_eq(num(&d, r, "tokens"), 256.0);
                    if (kalman)
                        cr_assert(
                            !strncmp(kf, str(&d, r, "variant"), strlen(str(&d, r, "variant"))),
                            "kalman rows use form %s, metadata says %s", str(&d, r, "variant"), kf);
                    if (strcmp(formats[f], "fp64")) continue;
                    const double med = num(&d, r, "err_median"), mx = num(&d, r, "err_max");
                    cr_assert_str_eq(status, "ok");
                    cr_assert(isfinite(med) && isfinite(mx), "fp64 %s %s %s: not finite",
                              regimes[ir], ridges[ig], solvers[s]);
                    cr_assert_eq(num(&d, r, "bad_tokens"), 0.0);
                    if (!strncmp(solvers[s], "cg", 2) || !strcmp(solvers[s], "cholesky") || kalman)
                        cr_assert(mx <= 1e-10, "fp64 %s %s %s: worst error %.3e", regimes[ir],
                                  ridges[ig], solvers[s], mx);
                }
    /* carrying the state "in the format" is carrying it in fp32 when the
     * format is fp32 or wider: the two chunk regimes must agree there */
    for (size_t ig = 0; ig < 2; ig++)
        for (size_t f = 0; f < 2; f++)
            for (size_t s = 0; s < 6; s++) {
                const long r1 = find_row(&d, regimes[2], ridges[ig], formats[f], solvers[s]);
                const long r2 = find_row(&d, regimes[3], ridges[ig], formats[f], solvers[s]);
                cr_assert_eq(num(&d, r1, "err_median"), num(&d, r2, "err_median"),
                             "%s %s %s: carries differ", ridges[ig], formats[f], solvers[s]);
            }
    /* fp32 iterates in token form are the format's iterates in fp64 (no
     * narrower arithmetic there) */
    for (size_t ig = 0; ig < 3; ig++)
        for (size_t s = 0; s < 5; s++) {
            const long r0 = find_row(&d, regimes[0], ridges[ig], "fp64", solvers[s]);
            const long r1 = find_row(&d, regimes[1], ridges[ig], "fp64", solvers[s]);
            cr_assert_eq(num(&d, r0, "err_median"), num(&d, r1, "err_median"));
        }
    gka_csv_doc_free(&d);
}
