/* Shared by the array rounding files (round_array.c, round_array_wide.c):
 * the ordinary rounding formula, written once for scalar patterns and for
 * GCC vector types of them, and the wide kernels' interface. Not part of
 * the public API. */
#ifndef GKA_ROUND_ARRAY_INTERNAL_H
#define GKA_ROUND_ARRAY_INTERNAL_H

#include "gka_precision.h"
#include "philox_internal.h"

#include <stddef.h>
#include <stdint.h>

/* The ordinary rounding of a pattern x whose magnitude is 0 or in
 * [2^emin, max]: the grid spacing there is 2^d pattern units (d >= 1), so
 * rounding is one add and one mask on the pattern, sign included (the carry
 * never reaches the sign bit; for a negative x "up" in magnitude is "down"
 * in value, hence negm in the directed modes). T is the pattern type
 * (uint32_t, uint64_t, or a GCC vector of them: every expression below is
 * valid for both, comparisons are avoided because a vector comparison
 * yields -1 where a scalar one yields 1); S the scalar type of d; BITS the
 * width of one pattern; ATTR the function's target attribute (empty for
 * scalars). OD sets the last kept bit when any dropped bit is set:
 * (x & low) + low reaches p exactly when x & low != 0. */
#define GKA_ROUND_ORDINARY(NAME, T, S, BITS, ATTR)                                                 \
    ATTR static inline __attribute__((always_inline)) T NAME(T x, S d, const int mode) {           \
        const S one = 1, p = one << d, low = p - 1, half = p >> 1;                                 \
        const T negm = 0 - (x >> (BITS - 1));                                                      \
        switch (mode) {                                                                            \
        case GKA_RND_NE:                                                                           \
            return (x + (half - 1) + ((x >> d) & 1)) & ~low;                                       \
        case GKA_RND_NA:                                                                           \
            return (x + half) & ~low;                                                              \
        case GKA_RND_NZ:                                                                           \
            return (x + (half - 1)) & ~low;                                                        \
        case GKA_RND_TP:                                                                           \
            return (x + (low & ~negm)) & ~low;                                                     \
        case GKA_RND_TN:                                                                           \
            return (x + (low & negm)) & ~low;                                                      \
        case GKA_RND_TZ:                                                                           \
            return x & ~low;                                                                       \
        case GKA_RND_OD:                                                                           \
            return (x & ~low) | (((x & low) + low) & p);                                           \
        default:                                                                                   \
            return x;                                                                              \
        }                                                                                          \
    }

/* Philox words 0 and 1 of (seed, stream) at counters counter .. counter +
 * n - 1 into out[0 .. n): the vector fill of the wide kernels returns how
 * many it did (a multiple of its lanes), the rest is the caller's. */
typedef size_t (*gka_philox_fill_fn)(uint64_t *out, size_t n, uint64_t seed, uint64_t stream,
                                     uint64_t counter);

/* The vector Philox fill of this CPU, or NULL (as gka_round_wide_kernel). */
gka_philox_fill_fn gka_round_wide_philox(void);

/* Elements per group of the wide kernels: the unit in which they test for
 * inputs that are not ordinary. */
enum {
    GKA_WIDE_GROUP = 64,
    GKA_WIDE_DENSE_RUN = 4 * GKA_WIDE_GROUP,
    GKA_WIDE_DENSE_STAY = 512 * GKA_WIDE_GROUP /* elements the dense loop takes at a time */
};

/* What a wide kernel needs: the ordinary rounding's dropped bits d >= 1
 * and ordinary magnitudes (0 and [lo, hi]), and the general rounding of
 * one input that is not ordinary: fix(out, x, ctx) writes the rounded
 * pattern of x to *out and returns its flags. */
typedef struct {
    uint32_t d, lo, hi;
    unsigned (*fix)(uint32_t *out, uint32_t x, const void *ctx);
    const void *ctx;
    /* Where dense (nonzero: subnormals kept, d >= 1), runs of groups whose
     * inputs below 2^emin are dense are rounded with the subnormal range in
     * float arithmetic: |x| / q = |x| s1 s2 (q the format's smallest
     * subnormal, s1 s2 = 1 / q, each a float power of two). */
    int dense;
    float q, s1, s2;
} gka_wide_args_t;

/* A wide kernel rounds float32 patterns in a deterministic mode, in place
 * or out of place, group by group: every input by the ordinary rounding,
 * then, in a group that holds inputs that are not ordinary, those again by
 * a->fix. Where such inputs are dense (two runs of ordinary groups in a row
 * shorter than GKA_WIDE_DENSE_RUN), the next GKA_WIDE_DENSE_STAY elements
 * go through the dense loop if a->dense, else the kernel returns; it
 * returns too where inputs above max are dense. Returns the number of
 * elements done, a multiple of GKA_WIDE_GROUP: n rounded down to one, or
 * fewer where it returned early; the rest is the caller's. Their flags are OR-ed
 * into *flags. */
typedef size_t (*gka_wide_fn)(uint32_t *out, const uint32_t *in, size_t n, const gka_wide_args_t *a,
                              unsigned *flags);

/* The wide kernel of this CPU for a deterministic mode (GKA_RND_NA ..
 * GKA_RND_OD), or NULL where there is none (no AVX2, another compiler or
 * architecture, a stochastic mode, or GKA_ROUND_WIDE=off). */
gka_wide_fn gka_round_wide_kernel(gka_round_mode_t mode);

#endif
