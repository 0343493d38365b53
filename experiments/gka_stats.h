/* Summary statistics of samples of doubles (medians and worst cases of
 * per-token errors, benchmark timings), on GSL: gsl_sort and
 * gsl_stats_mean / gsl_stats_median_from_sorted_data /
 * gsl_stats_quantile_from_sorted_data, with GSL's abort-on-error handler
 * switched off (gsl_set_error_handler_off, once per process): the library
 * never aborts.
 *
 * Definitions (GSL's): the median of n sorted values is the middle one (n
 * odd) or the mean of the two middle ones (n even); the p-quantile is
 * (1 - d) s[i] + d s[i + 1] with i = floor(p (n - 1)), d = p (n - 1) - i
 * (linear interpolation, numpy's default "linear" method); the mean is
 * GSL's running mean m += (x_i - m) / (i + 1).
 *
 * NaN: samples with a NaN have no median or quantile (the result is NaN);
 * gka_stats_median_worst first counts every non-finite sample as +Inf (a
 * failed token is the worst token, not a missing one), as the figures do.
 *
 * The minimal build (GKA_MINIMAL=ON: a C compiler and CUDA only, no GSL)
 * has the same functions, computed by a portable path with the same
 * definitions (qsort, the formulas above, the same running mean); the full
 * build's tests check that both paths give identical results. */
#ifndef GKA_STATS_H
#define GKA_STATS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Arithmetic mean; NaN for n = 0. */
double gka_stats_mean(const double *v, size_t n);

/* Sort v ascending in place (NaN-free input; NaNs end up in unspecified
 * places). */
void gka_stats_sort(double *v, size_t n);

/* The p-quantile (0 <= p <= 1) of n values already sorted ascending; NaN for
 * n = 0, p outside [0, 1] or a NaN among the values. */
double gka_stats_quantile_sorted(const double *sorted, size_t n, double p);

/* The median of v, which it sorts in place; NaN for n = 0 or a NaN in v. */
double gka_stats_median(double *v, size_t n);

/* The median after replacing every non-finite value of v by +Inf (in
 * place, then sorted): NaN only for n = 0. */
double gka_stats_median_worst(double *v, size_t n);

#ifdef __cplusplus
}
#endif
#endif
