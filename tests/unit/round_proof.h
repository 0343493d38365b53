/* The formats of the rounding proof (docs/ROUNDING_PROOF.md) and their
 * breakpoints, shared by tests/unit/test_round_proof.c (every breakpoint and
 * its float32 neighbours against MPFR) and tests/exhaustive/
 * test_round_exhaustive.c (monotonicity over all 2^32 float32 inputs).
 *
 * A breakpoint is a point where a correctly rounded result can change: every
 * value of the format from 0 to max, the grid point just above max (where an
 * unbounded exponent range would put the next value: 2^(emax+1), or 480 for
 * e4m3), and every midpoint between consecutive ones. */
#ifndef GKA_TEST_ROUND_PROOF_H
#define GKA_TEST_ROUND_PROOF_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gka_precision.h"

/* Every format made of float32 values that the array path rounds with its
 * own kernels: the built-in ones below fp32, and custom formats with a tiny
 * precision, a mid one, and one with float32's exponent range (emin = -126:
 * the kernel without the variable shift). fp32 itself (the identity on
 * float32 inputs) is checked directly over all inputs instead. */
enum { PROOF_NFORMATS = 9 };
static const char *const proof_format_names[PROOF_NFORMATS] = {"tf32",
                                                               "bf16",
                                                               "fp16",
                                                               "e4m3",
                                                               "e5m2",
                                                               "custom:2,-3,4",
                                                               "custom:5,-20,20",
                                                               "custom:3,-126,127",
                                                               "custom:10,-12,12"};

static inline gka_format_t proof_format(int i) {
    gka_format_t f;
    if (gka_format_by_name(proof_format_names[i], &f) != GKA_OK) abort();
    return f;
}

/* The variants: 7 deterministic modes x subnormals kept / flushed x overflow
 * to Inf (NaN) / saturating. */
enum { PROOF_NMODES = 7, PROOF_NVARIANTS = PROOF_NMODES * 4 };
static const gka_round_mode_t proof_modes[PROOF_NMODES] = {
    GKA_RND_NE, GKA_RND_NA, GKA_RND_NZ, GKA_RND_TP, GKA_RND_TN, GKA_RND_TZ, GKA_RND_OD};

static inline gka_rounding_t proof_context(const gka_format_t *f, int variant) {
    gka_rounding_t r = gka_rounding_default(f);
    r.mode = proof_modes[variant % PROOF_NMODES];
    r.subnormals = (variant / PROOF_NMODES) % 2 == 0;
    r.saturate = variant / (2 * PROOF_NMODES) == 1;
    r.threads = 1;
    return r;
}

/* The nonnegative breakpoints of f in increasing order (exact doubles);
 * returns their number, *out malloc-ed (NULL on failure). */
static inline size_t proof_breakpoints(const gka_format_t *f, double **out) {
    const size_t per_binade = (size_t)1 << (f->t - 1);
    const size_t nbinades = (size_t)(f->emax - f->emin + 1);
    const size_t cap = per_binade * (nbinades + 1) + 2;
    double *v = malloc(cap * sizeof *v), *b = malloc(2 * cap * sizeof *b);
    *out = b;
    if (!v || !b) {
        free(v), free(b);
        *out = NULL;
        return 0;
    }
    size_t nv = 0, n = 0;
    v[nv++] = 0;
    for (size_t k = 1; k < per_binade; k++) /* subnormals */
        v[nv++] = ldexp((double)k, f->emin - f->t + 1);
    for (int e = f->emin; e <= f->emax; e++)
        for (size_t j = 0; j < per_binade; j++) {
            const double g = ldexp((double)(per_binade + j), e - f->t + 1);
            if (g <= f->max) v[nv++] = g;
        }
    v[nv++] = f->max + ldexp(1.0, f->emax - f->t + 1); /* the grid point above max */
    for (size_t i = 0; i < nv; i++) {
        if (i > 0) b[n++] = 0.5 * (v[i - 1] + v[i]); /* exact: one more bit */
        b[n++] = v[i];
    }
    free(v);
    return n;
}

/* The float32 inputs that bound the intervals between breakpoints: each
 * breakpoint b that is a float, and the nearest floats strictly below and
 * above it (the largest float < b, the smallest float > b), of both signs,
 * plus every NaN and Inf class and float32's own edges. Returns the count;
 * *out malloc-ed. */
static inline float proof_float_below(double b) {
    float f = (float)b;
    if ((double)f >= b) f = nextafterf(f, -INFINITY);
    return f;
}

static inline float proof_float_above(double b) {
    float f = (float)b;
    if ((double)f <= b) f = nextafterf(f, INFINITY);
    return f;
}

static inline float proof_u2f(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static inline size_t proof_inputs(const double *bp, size_t nb, float **out) {
    static const uint32_t specials[] = {
        0x00000000u, 0x00000001u, 0x00000002u, 0x007fffffu, 0x00800000u, 0x00800001u,
        0x7f7fffffu, 0x7f800000u, 0x7f800001u, 0x7f800002u, 0x7fbfffffu, 0x7fc00000u,
        0x7fc00001u, 0x7fe00000u, 0x7fffffffu, 0x7f801000u, 0x3f800000u, 0x34000000u};
    const size_t ns = sizeof specials / sizeof specials[0];
    float *x = malloc((6 * nb + 2 * ns) * sizeof *x);
    *out = x;
    if (!x) return 0;
    size_t n = 0;
    for (size_t i = 0; i < nb; i++) {
        const float lo = proof_float_below(bp[i]), hi = proof_float_above(bp[i]);
        float v[3] = {lo, hi, 0};
        int k = 2;
        if ((double)(float)bp[i] == bp[i]) v[k++] = (float)bp[i];
        for (int j = 0; j < k; j++) { /* b = 0: -2^-149 here, -0 from the mirror */
            x[n++] = v[j];
            x[n++] = -v[j];
        }
    }
    for (size_t i = 0; i < ns; i++) {
        x[n++] = proof_u2f(specials[i]);
        x[n++] = proof_u2f(specials[i] | 0x80000000u);
    }
    return n;
}

#endif
