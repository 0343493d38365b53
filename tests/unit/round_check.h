/* Drivers of the MPFR comparison of gka_round_tail, shared by
 * tests/unit/test_round.c (10^6 inputs per format) and tests/slow (10^7+). */
#ifndef GKA_TEST_ROUND_CHECK_H
#define GKA_TEST_ROUND_CHECK_H

#include <float.h>
#include <stdlib.h>

#include "mpfr_oracle.h"

enum { NFORMATS = 9 };

/* The built-in formats below fp64 and three custom ones (t = 26 as wide as
 * allowed; a tiny t = 2; a wide exponent range). */
static inline const gka_format_t *test_formats(void) {
    static gka_format_t f[NFORMATS];
    static int ready = 0;
    if (!ready) {
        f[0] = gka_fp32;
        f[1] = gka_tf32;
        f[2] = gka_bf16;
        f[3] = gka_fp16;
        f[4] = gka_e4m3;
        f[5] = gka_e5m2;
        if (gka_format_custom(26, -126, 127, &f[6]) || gka_format_custom(2, -3, 4, &f[7]) ||
            gka_format_custom(13, -500, 500, &f[8]))
            abort();
        ready = 1;
    }
    return f;
}

typedef struct {
    long checked, mismatches;
    char first[400];
} tally_t;

/* Check x + tail against MPFR in every deterministic mode for the given
 * options. */
static inline void check_all_modes(double x, int tail, const gka_format_t *f, int sub, int sat,
                                   tally_t *t) {
    mpfr_t exact;
    mpfr_init2(exact, 256);
    oracle_with_tail(exact, x, tail);
    const oracle_facts_t o = oracle_facts(exact, f);
    mpfr_clear(exact);
    gka_rounding_t r0 = gka_rounding_default(f);
    for (int k = 0; k < ORACLE_NMODES; k++) {
        gka_rounding_t r = r0;
        r.mode = oracle_modes[k];
        r.subnormals = sub;
        r.saturate = sat;
        const double got = gka_round_tail(x, tail, &r);
        unsigned want_flags = 0;
        const double want = oracle_finish(&o, f, r.mode, sub, sat, &want_flags);
        t->checked++;
        if (!oracle_same(got, want) || r.flags != want_flags || r.counter != 0) {
            if (!t->mismatches)
                snprintf(t->first, sizeof t->first,
                         "%s mode %s sub %d sat %d: x = %a tail %d: got %a flags %#x, MPFR %a "
                         "flags %#x",
                         f->name, gka_round_mode_name(r.mode), sub, sat, x, tail, got, r.flags,
                         want, want_flags);
            t->mismatches++;
        }
    }
}

static inline void check_options(double x, const gka_format_t *f, tally_t *t) {
    for (int tail = -1; tail <= 1; tail++)
        for (int sub = 0; sub <= 1; sub++)
            for (int sat = 0; sat <= 1; sat++)
                check_all_modes(x, tail, f, sub, sat, t);
}

/* Grid points, midpoints and their double neighbours around every binade of
 * the format (subnormal range, binade edges, overflow threshold), both signs. */
static inline void check_boundaries(const gka_format_t *f, tally_t *t) {
    for (int e = f->emin - f->t - 2; e <= f->emax + 2; e++) {
        const double base = ldexp(1.0, e);
        const double q = ldexp(1.0, (e > f->emin ? e : f->emin) - f->t + 1);
        double v[24];
        int n = 0;
        for (int j = 0; j < 6; j++)
            v[n++] = base + j * q / 2; /* grid, ties, grid, ... */
        for (int j = 1; j < 6; j++)
            v[n++] = 2 * base - j * q / 2; /* top of the binade */
        for (int i = 0; i < n; i++)
            for (int s = -1; s <= 1; s += 2)
                for (int d = -1; d <= 1; d++) {
                    double x = s * v[i];
                    if (d) x = nextafter(x, d * INFINITY);
                    check_options(x, f, t);
                }
    }
    const double specials[] = {0.0,
                               INFINITY,
                               f->max,
                               f->min_normal,
                               f->min_subnormal,
                               f->min_subnormal / 2,
                               f->min_subnormal * 1.5,
                               f->max * (1 + f->u),
                               f->max * (1 + f->u / 2),
                               480.0,
                               464.0,
                               496.0,
                               DBL_MAX,
                               DBL_TRUE_MIN,
                               0x1p-1022};
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
        for (int s = -1; s <= 1; s += 2)
            check_options(s * specials[i], f, t);
}

static inline uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static inline float float_from_bits(uint32_t b) {
    float v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static inline double double_from_bits(uint64_t b) {
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

/* Random float32 bit patterns (every exponent, subnormals, NaN, Inf). */
static inline void random_float32(const gka_format_t *f, long n, uint64_t seed, tally_t *t) {
    for (long i = 0; i < n; i++) {
        const float v = float_from_bits((uint32_t)splitmix(&seed));
        check_all_modes((double)v, 0, f, 1, 0, t);
    }
}

/* Random doubles (53-bit significands) with exponents spread over the format's
 * range and a little beyond, with a random tail sign and options. */
static inline void random_doubles(const gka_format_t *f, long n, uint64_t seed, tally_t *t) {
    const int lo = f->emin - f->t - 3, span = f->emax + 3 - lo;
    for (long i = 0; i < n; i++) {
        const uint64_t b = splitmix(&seed);
        const int e = lo + (int)((b >> 12) % (uint64_t)span);
        double x = ldexp(1.0 + (double)(splitmix(&seed) >> 11) * 0x1p-53, e);
        if (b & 1) x = -x;
        check_all_modes(x, (int)((b >> 1) % 3) - 1, f, (int)(b >> 3) & 1, (int)(b >> 4) & 1, t);
    }
}

#endif
