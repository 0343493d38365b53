/* Summary statistics (gka_stats.h) on GSL, with a portable path of the same
 * definitions for the build without GSL. */
#include "gka_config.h"
#include "gka_stats.h"
#include "stats_internal.h"

#include <math.h>
#include <stdlib.h>

#if GKA_HAVE_GSL
#include <gsl/gsl_errno.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <pthread.h>

static pthread_once_t gsl_quiet_once = PTHREAD_ONCE_INIT;

static void gsl_quiet(void) {
    gsl_set_error_handler_off(); /* GSL returns codes instead of aborting */
}

static void gsl_ready(void) {
    pthread_once(&gsl_quiet_once, gsl_quiet);
}
#endif

/* ---- portable path: GSL's formulas --------------------------------------- */

double gka_stats_portable_mean(const double *v, size_t n) {
    long double m = 0; /* gsl_stats_mean keeps its running mean in long double */
    for (size_t i = 0; i < n; i++)
        m += (v[i] - m) / (long double)(i + 1);
    return n ? (double)m : (double)NAN;
}

static int ascending(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void gka_stats_portable_sort(double *v, size_t n) {
    if (n > 1) qsort(v, n, sizeof *v, ascending);
}

double gka_stats_portable_quantile_sorted(const double *s, size_t n, double p) {
    double index = p * (double)(n - 1);
    size_t lhs = (size_t)index;
    double delta = index - (double)lhs;
    if (lhs == n - 1) return s[lhs];
    return (1 - delta) * s[lhs] + delta * s[lhs + 1];
}

/* ---- public functions ------------------------------------------------------ */

static int has_nan(const double *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (isnan(v[i])) return 1;
    return 0;
}

double gka_stats_mean(const double *v, size_t n) {
    if (n == 0) return (double)NAN;
#if GKA_HAVE_GSL
    gsl_ready();
    return gsl_stats_mean(v, 1, n);
#else
    return gka_stats_portable_mean(v, n);
#endif
}

void gka_stats_sort(double *v, size_t n) {
#if GKA_HAVE_GSL
    gsl_ready();
    gsl_sort(v, 1, n);
#else
    gka_stats_portable_sort(v, n);
#endif
}

double gka_stats_quantile_sorted(const double *sorted, size_t n, double p) {
    if (n == 0 || !(p >= 0.0 && p <= 1.0) || has_nan(sorted, n)) return (double)NAN;
#if GKA_HAVE_GSL
    gsl_ready();
    return gsl_stats_quantile_from_sorted_data(sorted, 1, n, p);
#else
    return gka_stats_portable_quantile_sorted(sorted, n, p);
#endif
}

double gka_stats_median(double *v, size_t n) {
    if (n == 0 || has_nan(v, n)) return (double)NAN;
    gka_stats_sort(v, n);
#if GKA_HAVE_GSL
    return gsl_stats_median_from_sorted_data(v, 1, n);
#else
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
#endif
}

double gka_stats_median_worst(double *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) v[i] = (double)INFINITY;
    return gka_stats_median(v, n);
}
