/* Round an array of doubles to bfloat16 with seeded stochastic rounding.
 *
 * Stochastic rounding (mode "sp") rounds x up with probability
 * (x - down) / (up - down), so it is unbiased: the mean of many roundings of
 * the same x is x, where round-to-nearest always gives the same neighbour.
 * The random draws come from a counter-based generator keyed by the seed,
 * so the same seed gives the same bits on every machine and thread count.
 *
 *   build: cc round_bf16.c $(pkg-config --cflags --libs gka) -o round_bf16
 *   run:   ./round_bf16 */
#include <math.h>
#include <stdio.h>

#include "gka_precision.h"

enum { N = 8, DRAWS = 100000 };

/* Round x[0..N) into y with stochastic rounding to bf16 under `seed`. */
static void round_sr(const double *x, double *y, uint64_t seed) {
    gka_rounding_t r = gka_rounding_default(&gka_bf16);
    r.mode = GKA_RND_SP;
    r.seed = seed;
    gka_round_array(y, x, N, &r); /* element i uses counter i */
}

static int same(const double *a, const double *b) {
    for (int i = 0; i < N; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

int main(void) {
    double x[N], y[N], y_again[N], y_other[N];
    for (int i = 0; i < N; i++)
        x[i] = 1.0 + (i + 1) / 300.0; /* between bf16 neighbours 2^-7 apart */
    round_sr(x, y, 42);
    round_sr(x, y_again, 42);
    round_sr(x, y_other, 43);
    printf("i  x                    bf16 (stochastic, seed 42)\n");
    for (int i = 0; i < N; i++)
        printf("%d  %.17g  %.9g\n", i, x[i], y[i]);
    int reproducible = same(y, y_again), seeded = !same(y, y_other);

    /* Unbiasedness: the mean of DRAWS stochastic roundings of one value. */
    const double v = 0.1;
    gka_rounding_t r = gka_rounding_default(&gka_bf16);
    r.mode = GKA_RND_SP;
    r.seed = 7;
    double sum = 0.0;
    for (int i = 0; i < DRAWS; i++)
        sum += gka_round(v, &r); /* each call consumes one counter value */
    gka_rounding_t ne = gka_rounding_default(&gka_bf16);
    double nearest = gka_round(v, &ne);
    /* standard deviation of one rounding <= spacing / 2; of the mean / sqrt(DRAWS) */
    double spacing = ldexp(1.0, -4 - 7); /* 0.1 lies in [2^-4, 2^-3), t = 8 */
    double sigma = 0.5 * spacing / sqrt((double)DRAWS);
    double mean = sum / DRAWS;
    printf("x = 0.1: nearest %.9g (error %.3g), mean of %d stochastic %.9g (error %.3g)\n", nearest,
           nearest - v, DRAWS, mean, mean - v);
    int unbiased = fabs(mean - v) <= 4 * sigma;
    printf("same seed same bits: %s, other seed other bits: %s, mean within 4 sigma: %s\n",
           reproducible ? "yes" : "no", seeded ? "yes" : "no", unbiased ? "yes" : "no");
    return 0;
}
