/* experiments/stats.c: medians, quantiles and means on GSL, their NaN
 * policy, and the portable path of the build without GSL against GSL. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "gka_precision.h"
#include "gka_stats.h"
#include "stats_internal.h"

Test(stats, medians_quantiles_means_by_hand) {
    double odd[5] = {3, -1, 7, 2, 5};
    cr_assert_eq(gka_stats_median(odd, 5), 3.0);
    cr_assert(odd[0] == -1 && odd[4] == 7, "sorted in place");
    double even[4] = {4, 1, 3, 2};
    cr_assert_eq(gka_stats_median(even, 4), 2.5);
    cr_assert_eq(gka_stats_quantile_sorted(even, 4, 0.0), 1.0);
    cr_assert_eq(gka_stats_quantile_sorted(even, 4, 1.0), 4.0);
    cr_assert_eq(gka_stats_quantile_sorted(even, 4, 0.5), 2.5);
    cr_assert_eq(gka_stats_quantile_sorted(even, 4, 0.25), 1.75); /* 0.25 * 3 = 0.75 */
    cr_assert(isnan(gka_stats_quantile_sorted(even, 4, 1.5)));
    const double m[4] = {1, 2, 3, 4};
    cr_assert_eq(gka_stats_mean(m, 4), 2.5);
    double one = 42;
    cr_assert_eq(gka_stats_median(&one, 1), 42.0);
    cr_assert(isnan(gka_stats_median(NULL, 0)));
    cr_assert(isnan(gka_stats_mean(NULL, 0)));
}

Test(stats, nan_has_no_median_but_counts_as_worst) {
    double v[5] = {1, NAN, 3, 2, 5};
    cr_assert(isnan(gka_stats_median(v, 5)));
    double w[5] = {1, NAN, 3, INFINITY, 2};
    /* non-finite -> +Inf: sorted 1, 2, 3, Inf, Inf */
    cr_assert_eq(gka_stats_median_worst(w, 5), 3.0);
    cr_assert(isinf(w[4]) && isinf(w[3]));
    double all[2] = {NAN, -INFINITY};
    cr_assert(isinf(gka_stats_median_worst(all, 2)));
}

/* The portable path (minimal build) gives GSL's results bit for bit. */
Test(stats, portable_path_equals_gsl) {
    enum { N = 1001 };
    static double a[N], b[N];
    for (size_t n = 1; n <= N; n += 37) {
        for (size_t i = 0; i < n; i++)
            a[i] = b[i] = gka_philox_normal(3, 1, 2 * i) * exp(4 * gka_philox_normal(3, 2, 2 * i));
        double mg = gka_stats_mean(a, n), mp = gka_stats_portable_mean(a, n);
        cr_assert(memcmp(&mg, &mp, sizeof mg) == 0, "mean n=%zu: %.17g vs %.17g", n, mg, mp);
        gka_stats_sort(a, n);
        gka_stats_portable_sort(b, n);
        cr_assert(memcmp(a, b, n * sizeof *a) == 0, "sort n=%zu", n);
        for (double p = 0; p <= 1.0; p += 0.0625) {
            double qg = gka_stats_quantile_sorted(a, n, p);
            double qp = gka_stats_portable_quantile_sorted(b, n, p);
            cr_assert(memcmp(&qg, &qp, sizeof qg) == 0, "quantile n=%zu p=%g", n, p);
        }
        double med = gka_stats_median(a, n);
        double q50 = gka_stats_portable_quantile_sorted(b, n, 0.5);
        cr_assert_eq(med, q50, "median n=%zu", n);
    }
}
