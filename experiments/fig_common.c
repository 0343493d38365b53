/* Helpers shared by the figures: arithmetic tables of a precision study,
 * token sampling, robust median/max, and the fp64 references (guarded for the
 * minimal build, which has no LAPACK). */
#include "gka_config.h"
#include "gka_figure_internal.h"
#include "gka_reference.h"
#include "gka_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void gka_figure_progress_total(gka_progress_t *p, long total) {
    if (!p) return;
    p->total = total > 0 ? total : 1;
    p->done = 0;
}

gka_status_t gka_figure_arith(gka_arith_t *A, const char *format) {
    if (!strcmp(format, "fp64")) return gka_arith_init_fp64(A);
    gka_format_t f;
    gka_status_t st = gka_format_by_name(format, &f);
    if (st != GKA_OK) return st;
    gka_rounding_t r = gka_rounding_default(&f);
    return gka_arith_init_emulated(A, &r, GKA_ACCUM_WIDE, NULL);
}

size_t gka_figure_sample_tokens(long T, size_t n, long *out) {
    if (T <= 0 || n == 0) return 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        double f = n > 1 ? (double)i / (double)(n - 1) : 1.0;
        long t = (long)floor(pow((double)T, f) + 0.5) - 1; /* 0 .. T-1 */
        if (t < 0) t = 0;
        if (t > T - 1) t = T - 1;
        if (m == 0 || t > out[m - 1]) out[m++] = t;
    }
    if (out[m - 1] != T - 1) {
        if (m < n)
            out[m++] = T - 1;
        else
            out[m - 1] = T - 1;
    }
    return m;
}

static double worst_key(double v) {
    return isfinite(v) ? v : (double)INFINITY;
}

double gka_figure_median(double *v, size_t n) {
    return gka_stats_median_worst(v, n); /* a non-finite sample is the worst */
}

double gka_figure_max(const double *v, size_t n) {
    if (n == 0) return (double)NAN;
    double m = -(double)INFINITY;
    for (size_t i = 0; i < n; i++) {
        double x = worst_key(v[i]);
        if (x > m) m = x;
    }
    return m;
}

gka_status_t gka_figure_ref_solve(int D, const double *H, double lambda, const double *q,
                                  double *x) {
#if GKA_HAVE_LAPACK
    return gka_ref_solve_fp64(D, H, lambda, q, x);
#else
    (void)D, (void)H, (void)lambda, (void)q, (void)x;
    return gka_error(GKA_EUNSUP, "figures need the fp64 LAPACK reference (not in this build)");
#endif
}

gka_status_t gka_figure_ref_kappa(int D, const double *H, double lambda, double *kappa) {
#if GKA_HAVE_LAPACK
    return gka_ref_kappa_fp64(D, H, lambda, kappa);
#else
    (void)D, (void)H, (void)lambda, (void)kappa;
    return gka_error(GKA_EUNSUP, "figures need the fp64 LAPACK reference (not in this build)");
#endif
}

gka_status_t gka_figure_ref_eig(int D, const double *S, double *eig_min, double *eig_max) {
#if GKA_HAVE_LAPACK
    return gka_ref_eig_extremes_fp64(D, S, eig_min, eig_max);
#else
    (void)D, (void)S, (void)eig_min, (void)eig_max;
    return gka_error(GKA_EUNSUP, "figures need the fp64 LAPACK reference (not in this build)");
#endif
}

double gka_figure_rel_error(int D, const double *x, const double *x_ref) {
    double num = 0.0, den = 0.0;
    for (int i = 0; i < D; i++) {
        if (!isfinite(x[i])) return (double)INFINITY;
        double d = x[i] - x_ref[i];
        num += d * d;
        den += x_ref[i] * x_ref[i];
    }
    if (!isfinite(num)) return (double)INFINITY;
    return den > 0.0 ? sqrt(num / den) : sqrt(num);
}
