/* Philox 4x32-10: Random123 known-answer vectors and the derived generators. */
#include <criterion/criterion.h>

#include <math.h>

#include "gka_precision.h"

/* Random123 kat_vectors (counter[4] key[2] -> output[4]). */
Test(philox, random123_known_answers) {
    const struct {
        uint32_t ctr[4], key[2], out[4];
    } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
        {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
         {0xffffffffu, 0xffffffffu},
         {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
        {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
         {0xa4093822u, 0x299f31d0u},
         {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
    };
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        uint32_t out[4];
        gka_philox4x32_10(kat[i].ctr, kat[i].key, out);
        for (int w = 0; w < 4; w++)
            cr_assert_eq(out[w], kat[i].out[w], "vector %zu word %d: %#x != %#x", i, w, out[w],
                         kat[i].out[w]);
    }
}

/* The (seed, stream, counter) -> block mapping documented in the header. */
Test(philox, u64_layout) {
    const uint64_t seed = 0x299f31d0a4093822u, stream = 0x0370734413198a2eu,
                   counter = 0x85a308d3243f6a88u;
    cr_assert_eq(gka_philox_u64(seed, stream, counter), 0x94fdccebd16cfe09u);
    cr_assert_eq(gka_philox_u64(0, 0, 0), 0xe169c58d6627e8d5u);
    cr_assert_neq(gka_philox_u64(0, 1, 0), gka_philox_u64(0, 0, 0));
    cr_assert_neq(gka_philox_u64(1, 0, 0), gka_philox_u64(0, 0, 0));
    cr_assert_neq(gka_philox_u64(0, 0, 1), gka_philox_u64(0, 0, 0));
}

/* Uniform: in [0, 1), 256-bin chi-square within 5 standard deviations of its
 * mean (df = 255: mean 255, sd sqrt(510) = 22.6), mean within 5 sigma. */
Test(philox, uniform_distribution) {
    enum { N = 1000000, BINS = 256 };
    static long bins[BINS];
    double sum = 0;
    for (uint64_t i = 0; i < N; i++) {
        const double u = gka_philox_uniform(7, 3, i);
        cr_assert(u >= 0 && u < 1);
        bins[(int)(u * BINS)]++;
        sum += u;
    }
    double chi2 = 0;
    const double expect = (double)N / BINS;
    for (int b = 0; b < BINS; b++)
        chi2 += (bins[b] - expect) * (bins[b] - expect) / expect;
    cr_assert_lt(fabs(chi2 - 255), 5 * sqrt(510.0), "chi2 = %g", chi2);
    cr_assert_lt(fabs(sum / N - 0.5), 5 * sqrt(1.0 / 12 / N), "mean %g", sum / N);
}

/* Normal: mean 0 and variance 1 within 5 sigma (sd of the sample variance
 * is sqrt(2/N)), and the fraction beyond 1.96 near 5%. */
Test(philox, normal_moments) {
    enum { N = 1000000 };
    double s1 = 0, s2 = 0;
    long tail = 0;
    for (uint64_t i = 0; i < N; i++) {
        const double z = gka_philox_normal(11, 0, i);
        cr_assert(isfinite(z));
        s1 += z;
        s2 += z * z;
        tail += fabs(z) > 1.959963984540054;
    }
    const double mean = s1 / N, var = s2 / N - mean * mean;
    cr_assert_lt(fabs(mean), 5 / sqrt((double)N), "mean %g", mean);
    cr_assert_lt(fabs(var - 1), 5 * sqrt(2.0 / N), "variance %g", var);
    const double p = 0.05;
    cr_assert_lt(fabs((double)tail - p * N), 5 * sqrt(N * p * (1 - p)), "tail count %ld", tail);
}
