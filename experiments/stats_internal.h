/* The portable path of experiments/stats.c (what the minimal build, without
 * GSL, uses), visible to the tests so that they can check it against GSL. */
#ifndef GKA_STATS_INTERNAL_H
#define GKA_STATS_INTERNAL_H

#include <stddef.h>

double gka_stats_portable_mean(const double *v, size_t n);
void gka_stats_portable_sort(double *v, size_t n);
double gka_stats_portable_quantile_sorted(const double *sorted, size_t n, double p);

#endif
