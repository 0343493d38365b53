#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700 /* putenv, in program_testlib.h */
/* Each cheap figure at the quick tier: CSV shape, and invariants that the
 * mathematics guarantees (so a failure means a bug in a solver, the stream
 * or the figure): kappa <= (1+a)/a under the adaptive ridge, omega_i
 * decreasing from 2 to omega*, Chebyshev residuals and errors under
 * 2R^i/(1+R^2i), gradient descent monotone, Chebyshev's reverse divisors
 * inside [omega* - 1, 1]. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gka_figure_internal.h"
#include "gka_figure.h"
#include "program_testlib.h"

static char tmpdir[256];

static void make_tmpdir(void) {
    prog_make_tmpdir(tmpdir, sizeof tmpdir, "test_figure_inv");
}

static void remove_tmpdir(void) {
    prog_remove_tree(tmpdir);
}

TestSuite(figure_invariants, .init = make_tmpdir, .fini = remove_tmpdir, .timeout = 300);

/* Run figure `name` at the quick tier (no rendering) and read its CSV. */
static void produce(const char *name, uint64_t seed, gka_csv_doc_t *doc) {
    const gka_figure_t *fig = gka_figure_find(name);
    cr_assert_not_null(fig, "%s", name);
    gka_figure_opts_t o = gka_figure_opts_default();
    o.formats = 0;
    o.quiet = 1;
    o.seed = seed;
    o.threads = 2;
    snprintf(o.out_dir, sizeof o.out_dir, "%s", tmpdir);
    gka_figure_result_t res;
    cr_assert_eq(gka_figure_run(fig, &o, NULL, &res), GKA_OK, "%s: %s", name, gka_error_message());
    cr_assert_eq(gka_csv_read(res.csv_path, doc), GKA_OK, "%s", gka_error_message());
    cr_assert_str_eq(gka_csv_doc_meta(doc, "figure"), name);
    cr_assert_str_eq(gka_csv_doc_meta(doc, "tier"), "quick");
    char script[4200];
    snprintf(script, sizeof script, "%s/%s.gp", res.dir, name);
    FILE *f = fopen(script, "r");
    cr_assert_not_null(f, "no gnuplot script %s", script);
    fclose(f);
}

static long col(const gka_csv_doc_t *d, const char *name) {
    long c = gka_csv_doc_column(d, name);
    cr_assert_geq(c, 0, "no column %s", name);
    return c;
}

static double num(const gka_csv_doc_t *d, size_t r, const char *name) {
    return gka_csv_doc_num(d, r, (size_t)col(d, name));
}

static const char *str(const gka_csv_doc_t *d, size_t r, const char *name) {
    return gka_csv_doc_cell(d, r, (size_t)col(d, name));
}

static double paper_bound(double a, int i) {
    double kappa = (1.0 + a) / a;
    double R = (sqrt(kappa) - 1.0) / (sqrt(kappa) + 1.0);
    double Ri = pow(R, (double)i);
    return 2.0 * Ri / (1.0 + Ri * Ri);
}

Test(figure_invariants, kappa_adaptive_bounded) {
    gka_csv_doc_t d;
    produce("kappa", 3, &d);
    long ns = strtol(gka_csv_doc_meta(&d, "sampled_tokens"), NULL, 10);
    cr_assert_eq(d.nrows, (size_t)(6 * 3 * ns));
    double worst_fixed = 0.0;
    size_t adaptive = 0;
    for (size_t r = 0; r < d.nrows; r++) {
        double k = num(&d, r, "kappa"), b = num(&d, r, "bound");
        cr_assert(isfinite(k) && k >= 1.0, "row %zu kappa %g", r, k);
        cr_assert_leq(k, b * (1.0 + 1e-12),
                      "row %zu: kappa %.17g above (|H|_F+lambda)/lambda %.17g", r, k, b);
        if (!strcmp(str(&d, r, "ridge"), "adaptive")) {
            adaptive++;
            cr_assert_leq(k, 51.0 * (1.0 + 1e-12), "row %zu: adaptive kappa %.17g > 51", r, k);
        } else if (k > worst_fixed) {
            worst_fixed = k;
        }
    }
    cr_assert_eq(adaptive, d.nrows / 3);
    /* the fixed ridge has no such bound: on these keys it exceeds it */
    cr_assert_gt(worst_fixed, 51.0);
    gka_csv_doc_free(&d);
}

Test(figure_invariants, omega_schedule_and_bound) {
    gka_csv_doc_t d;
    produce("omega", 5, &d);
    cr_assert_eq(d.nrows, 4 * 61);
    for (size_t r = 0; r < d.nrows; r++) {
        int i = (int)num(&d, r, "i");
        double a = num(&d, r, "a"), om = num(&d, r, "omega_fp64"), star = num(&d, r, "omega_star");
        cr_assert(om > 1.0 && om <= 2.0);
        cr_assert_geq(om, star * (1.0 - 1e-15), "omega_%d = %.17g below omega* %.17g", i, om, star);
        if (i == 0) cr_assert_eq(om, 2.0);
        if (i > 0)
            cr_assert_leq(om, num(&d, r - 1, "omega_fp64"), "omega not decreasing at i=%d", i);
        if (i == 60)
            cr_assert_lt(fabs(om - star), 1e-9, "a=%g: omega_60 %.17g vs omega* %.17g", a, om,
                         star);
        cr_assert_float_eq(num(&d, r, "bound"), paper_bound(a, i),
                           1e-15 + 1e-12 * paper_bound(a, i));
        /* measured fp64 residual under the Chebyshev bound (above roundoff) */
        double worst = num(&d, r, "residual_max");
        cr_assert(isfinite(worst));
        cr_assert_leq(worst, num(&d, r, "bound") * (1.0 + 1e-9) + 1e-13,
                      "a=%g i=%d: %.3e > bound %.3e", a, i, worst, num(&d, r, "bound"));
        cr_assert_leq(num(&d, r, "residual_median"), worst);
    }
    gka_csv_doc_free(&d);
}

/* Rows of (format, solver) in order of iteration. */
static size_t series(const gka_csv_doc_t *d, const char *format, const char *solver, double a,
                     size_t *rows, size_t max) {
    size_t n = 0;
    for (size_t r = 0; r < d->nrows && n < max; r++)
        if (!strcmp(str(d, r, "format"), format) && !strcmp(str(d, r, "solver"), solver) &&
            fabs(num(d, r, "a") - a) < 1e-15)
            rows[n++] = r;
    return n;
}

Test(figure_invariants, convergence_curves) {
    gka_csv_doc_t d;
    produce("convergence", 11, &d);
    cr_assert_eq(d.nrows, 3 * 5 * 51);
    size_t rows[64];
    /* gradient descent: ||I - sA|| <= rho < 1, every problem's residual decreases */
    cr_assert_eq(series(&d, "fp64", "gd", 0.02, rows, 64), 51);
    for (int i = 1; i <= 50; i++) {
        cr_assert_leq(num(&d, rows[i], "residual_max"),
                      num(&d, rows[i - 1], "residual_max") * (1 + 1e-12));
        cr_assert_leq(num(&d, rows[i], "residual_median"),
                      num(&d, rows[i - 1], "residual_median") * (1 + 1e-12));
    }
    /* Chebyshev: residual polynomial bounded by 2R^i/(1+R^2i) on [a, 1+a] */
    cr_assert_eq(series(&d, "fp64", "chebyshev", 0.02, rows, 64), 51);
    for (int i = 0; i <= 50; i++)
        cr_assert_leq(num(&d, rows[i], "residual_max"), paper_bound(0.02, i) * (1 + 1e-9) + 1e-13);
    /* CG converges in exact arithmetic in at most D steps; in fp64 at i = 50,
     * guarded and plain alike (no breakdown in fp64) */
    const char *cgs[] = {"cg", "cg-plain"};
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(series(&d, "fp64", cgs[k], 0.02, rows, 64), 51);
        cr_assert_lt(num(&d, rows[50], "residual_max"), 1e-6);
    }
    /* every arithmetic has every solver; the guarded ones stay finite, and the
     * NaN count says exactly when a worst case is NaN/Inf */
    const char *formats[] = {"fp64", "bf16", "bf16+fp32"};
    const char *solvers[] = {"gd", "agd", "cg", "cg-plain", "chebyshev"};
    for (int f = 0; f < 3; f++)
        for (int s = 0; s < 5; s++) {
            cr_assert_eq(series(&d, formats[f], solvers[s], 0.02, rows, 64), 51);
            for (int i = 0; i <= 50; i++) {
                const double mx = num(&d, rows[i], "residual_max");
                const double nan_count = num(&d, rows[i], "nonfinite");
                cr_assert_eq(isfinite(mx), nan_count == 0.0, "%s %s i=%d", formats[f], solvers[s],
                             i);
                if (strcmp(solvers[s], "cg-plain")) cr_assert(isfinite(mx));
            }
        }
    /* the kernels' regime (fp32 iterates on the bf16 state) beats bf16
     * iterates on the same state: Chebyshev's median at i = 30 */
    size_t kr[64];
    cr_assert_eq(series(&d, "bf16", "chebyshev", 0.02, rows, 64), 51);
    cr_assert_eq(series(&d, "bf16+fp32", "chebyshev", 0.02, kr, 64), 51);
    cr_assert_lt(num(&d, kr[30], "residual_median"), num(&d, rows[30], "residual_median"));
    gka_csv_doc_free(&d);
}

Test(figure_invariants, ridge_sweep_larger_a_converges_faster) {
    gka_csv_doc_t d;
    produce("ridge-sweep", 13, &d);
    cr_assert_eq(d.nrows, 2 * 4 * 51);
    const double as[] = {0.01, 0.02, 0.05, 0.1};
    size_t rows[4][64];
    for (int k = 0; k < 4; k++)
        cr_assert_eq(series(&d, "fp64", "chebyshev", as[k], rows[k], 64), 51);
    for (int k = 0; k < 4; k++)
        for (int i = 0; i <= 50; i++)
            cr_assert_leq(num(&d, rows[k][i], "residual_max"),
                          paper_bound(as[k], i) * (1 + 1e-9) + 1e-13);
    for (int k = 1; k < 4; k++)
        cr_assert_lt(num(&d, rows[k][30], "residual_max"), num(&d, rows[k - 1][30], "residual_max"),
                     "a = %g not below a = %g at i = 30", as[k], as[k - 1]);
    gka_csv_doc_free(&d);
}

Test(figure_invariants, reversibility_divisors) {
    gka_csv_doc_t d;
    produce("reversibility", 17, &d);
    cr_assert_eq(d.nrows, 2 * 2 * 5 * 50);
    double lo = strtod(gka_csv_doc_meta(&d, "omega_star_minus_1"), NULL);
    cr_assert(lo > 0.0 && lo < 1.0);
    double cg_min = INFINITY, cg_max = 0.0;
    for (size_t r = 0; r < d.nrows; r++) {
        const char *q = str(&d, r, "quantity"), *f = str(&d, r, "format");
        if (!strcmp(q, "chebyshev_omega_minus_1")) {
            /* fp64: inside the band up to roundoff; bf16: up to the format's spacing */
            double tol = !strcmp(f, "fp64") ? 1e-12 : 1.0 / 64.0;
            cr_assert_geq(num(&d, r, "abs_min"), lo * (1 - tol), "%s row %zu", f, r);
            cr_assert_leq(num(&d, r, "abs_max"), 1.0 * (1 + tol), "%s row %zu", f, r);
        } else if (!strcmp(q, "cg_rr") && !strcmp(f, "fp64")) {
            double mn = num(&d, r, "abs_min"), mx = num(&d, r, "abs_max");
            if (!strcmp(str(&d, r, "scope"), "all_steps")) {
                if (mn < cg_min) cg_min = mn;
                if (mx > cg_max) cg_max = mx;
            } else if (num(&d, r, "count") > 0) {
                /* up to convergence r^T r >= u^2 q^T q, q normalised: >= ~1e-32 */
                cr_assert_geq(mn, 1e-33, "to_convergence r^T r %.3e at row %zu", mn, r);
            }
        }
        /* a problem is in scope up to its convergence only: never more of them */
        if (!strcmp(str(&d, r, "scope"), "to_convergence"))
            cr_assert_leq(num(&d, r, "count"), num(&d, r - d.nrows / 2, "count"));
    }
    /* r^T r of CG shrinks with the residual: its range over all steps is not bounded */
    cr_assert_lt(cg_min, 1e-20 * cg_max);
    gka_csv_doc_free(&d);
}

Test(figure_invariants, iterations_bound_and_floor) {
    gka_csv_doc_t d;
    produce("iterations", 19, &d);
    cr_assert_eq(d.nrows, 5 * 61);
    for (size_t r = 0; r < d.nrows; r++) {
        if (strcmp(str(&d, r, "format"), "fp64") != 0) continue;
        int i = (int)num(&d, r, "r");
        /* e_i = p(A) x*, |p| <= 2R^i/(1+R^2i) on [lambda, ||H||_F + lambda] */
        cr_assert_leq(num(&d, r, "err_max"), paper_bound(0.02, i) * (1 + 1e-9) + 1e-12, "r=%d", i);
        cr_assert_lt(num(&d, r, "cholesky_max"), 1e-12);
    }
    /* each format's Chebyshev error at r = 60 is finite for fp64..bf16 */
    const char *fmts[] = {"fp64", "fp32", "fp16", "bf16"};
    for (int k = 0; k < 4; k++)
        for (size_t r = 0; r < d.nrows; r++)
            if (!strcmp(str(&d, r, "format"), fmts[k]) && num(&d, r, "r") == 60)
                cr_assert(num(&d, r, "err_max") < 1.0, "%s r=60 err %g", fmts[k],
                          num(&d, r, "err_max"));
    gka_csv_doc_free(&d);
}
