#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700 /* putenv, in program_testlib.h */
/* Figure `gradients` (experiments/fig_gradients.c), quick tier, ungated and
 * gated (GKA decay gates + sigmoid write gates): registered,
 * byte-identical CSV at 1 and 2 threads, the expected rows, every value
 * finite, and the properties the figure exists to show, read back from the
 * CSV: Chebyshev's implicit dq equals its through-the-iterations dq to
 * roundoff in fp64; converged fp64 gradients reach roundoff (CG at r >= D,
 * Chebyshev decreasing to ~1e-6 at r = 50); bf16 stays finite and bounded. */
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
    prog_make_tmpdir(tmpdir, sizeof tmpdir, "test_fig_gradients");
}

static void remove_tmpdir(void) {
    prog_remove_tree(tmpdir);
}

TestSuite(fig_gradients, .init = make_tmpdir, .fini = remove_tmpdir);

static void run_fig(int threads, const char *sub, char *csv_path, size_t size) {
    prog_run_figure("gradients", tmpdir, threads, sub, csv_path, size);
}

/* Value of column `col` in the row (gating, format, solver, mode, iteration);
 * NaN if absent. */
static double gcell(const gka_csv_doc_t *d, const char *gating, const char *format,
                    const char *solver, const char *mode, int it, const char *col) {
    long cg = gka_csv_doc_column(d, "gating");
    long cf = gka_csv_doc_column(d, "format"), cs = gka_csv_doc_column(d, "solver"),
         cm = gka_csv_doc_column(d, "mode"), ci = gka_csv_doc_column(d, "iteration"),
         cc = gka_csv_doc_column(d, col);
    cr_assert(cg >= 0 && cf >= 0 && cs >= 0 && cm >= 0 && ci >= 0 && cc >= 0);
    for (size_t r = 0; r < d->nrows; r++)
        if (!strcmp(gka_csv_doc_cell(d, r, (size_t)cg), gating) &&
            !strcmp(gka_csv_doc_cell(d, r, (size_t)cf), format) &&
            !strcmp(gka_csv_doc_cell(d, r, (size_t)cs), solver) &&
            !strcmp(gka_csv_doc_cell(d, r, (size_t)cm), mode) &&
            gka_csv_doc_num(d, r, (size_t)ci) == it)
            return gka_csv_doc_num(d, r, (size_t)cc);
    return NAN;
}

static const char *gating_now = "none";

static double cell(const gka_csv_doc_t *d, const char *format, const char *solver, const char *mode,
                   int it, const char *col) {
    return gcell(d, gating_now, format, solver, mode, it, col);
}

Test(fig_gradients, quick_tier_reproducible_and_shows_the_claims, .timeout = 120) {
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
    cr_assert_str_eq(gka_csv_doc_meta(&d, "figure"), "gradients");
    cr_assert_eq(d.nrows, 2u * 2u * 2u * 3u * 19u);
    for (size_t r = 0; r < d.nrows; r++)
        for (size_t c = 5; c < d.ncols; c++)
            cr_assert(isfinite(gka_csv_doc_num(&d, r, c)), "row %zu col %zu not finite", r, c);
    for (int g = 0; g < 2; g++) {
        gating_now = g ? "gka" : "none";
        const int rs[] = {1, 5, 10, 20, 30, 50};
        double prev = INFINITY;
        for (size_t i = 0; i < 6; i++) {
            const double agree =
                cell(&d, "fp64", "chebyshev", "implicit_vs_iterations", rs[i], "err_q_median");
            cr_assert(agree <= 1e-13, "r=%d: chebyshev implicit vs iterations dq %.3e", rs[i],
                      agree);
            const double e = cell(&d, "fp64", "chebyshev", "implicit", rs[i], "err_qk_median");
            cr_assert(e < prev, "r=%d: chebyshev error %.3e did not decrease", rs[i], e);
            prev = e;
            const double eb = cell(&d, "bf16", "chebyshev", "implicit", rs[i], "err_qk_max");
            cr_assert(eb < 1.0, "bf16 r=%d: %.3e", rs[i], eb);
        }
        cr_assert(prev < 1e-5, "fp64 chebyshev at r=50: %.3e", prev);
        /* CG: finite termination at r = D = 16 in fp64; implicit and iterations differ before */
        cr_assert(cell(&d, "fp64", "cg", "implicit", 20, "err_qk_max") < 1e-12);
        cr_assert(cell(&d, "fp64", "cg", "iterations", 20, "err_qk_max") < 1e-12);
        cr_assert(cell(&d, "fp64", "cg", "implicit_vs_iterations", 5, "err_q_median") > 1e-3);
        /* the gate gradients converge with the rest in fp64 (CG terminates) */
        cr_assert(cell(&d, "fp64", "cg", "implicit", 20, "err_g_max") < 1e-12);
        cr_assert(cell(&d, "fp64", "cg", "implicit", 20, "err_beta_max") < 1e-12);
        cr_assert(cell(&d, "bf16", "chebyshev", "implicit", 30, "err_beta_max") < 1.0);
    }
    gka_csv_doc_free(&d);
}
