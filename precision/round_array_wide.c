/* The wide kernels of gka_round_array_f32: the ordinary rounding (see
 * round_array_internal.h) over groups of 64 float32 patterns with AVX-512F
 * or AVX2, for arrays that sit in the cache, where the per-block kernels of
 * round_array.c lose a tenth to a half of memcpy's speed to their block
 * bookkeeping and, for formats with a subnormal range such as fp16, to
 * redoing a whole block of 2048 for one input below 2^emin.
 *
 * Cost model (a 2-core AMD EPYC with AVX-512, 1M floats, docs/BENCHMARKS.md):
 * memcpy moves one 64-byte vector in about 4.4 cycles, room for about nine
 * vector integer operations. The ordinary rounding takes 1 (TZ) to 5 (NE,
 * OD) of them; the INEXACT flag one OR; the test whether a group is
 * ordinary three per vector (mask the sign, subtract lo, an unsigned
 * maximum) plus one compare per group. Zeros wrap around in that test, so
 * a group that fails it is tested again exactly (zeros excluded) before it
 * is given up: data without zeros pay nothing for them, data with zeros a
 * second test of those groups only.
 *
 * A group with an input that is not ordinary (subnormal range of the
 * format, above max, Inf, NaN) ends the run: the mixed path rounds its
 * ordinary lanes the same way and the others one by one with the general
 * code of round_array.c. Where inputs below 2^emin are dense, the dense
 * loop rounds every lane two ways (the ordinary formula and the subnormal
 * range in float arithmetic) and keeps the one of its range; where inputs
 * above max are dense, the kernel hands the array back to the caller's
 * block kernels. The rounding itself is GKA_ROUND_ORDINARY on GCC vector
 * types, the formula every other kernel uses; intrinsics appear in the
 * tests, loads, stores, the float rounding to integers and the Philox
 * products. The file also holds the vector Philox fills of the stochastic
 * modes' draws. */
#include "round_array_internal.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define GKA_WIDE_X86 1
#include <immintrin.h>
#endif

#ifdef GKA_WIDE_X86

#define GKA_AVX512 __attribute__((target("avx512f")))
#define GKA_AVX2 __attribute__((target("avx2")))

enum { NOSIGN = 0x7fffffff };

/* The loops over a group's vectors unrolled, so that the group stays in
 * registers (GCC does not unroll at -O2). */
#define GKA_UNROLL _Pragma("GCC unroll 8")

typedef uint32_t v16u __attribute__((vector_size(64)));
typedef uint32_t v8u __attribute__((vector_size(32)));
typedef float v16f __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v16i __attribute__((vector_size(64)));
typedef int32_t v8i __attribute__((vector_size(32)));
#define GKA_RINT_V16F(v, imm) ((v16f)_mm512_roundscale_ps((__m512)(v), (imm)))
#define GKA_RINT_V8F(v, imm) ((v8f)_mm256_round_ps((__m256)(v), (imm)))

GKA_ROUND_ORDINARY(round_ordinary_v16u, v16u, uint32_t, 32, GKA_AVX512)
GKA_ROUND_ORDINARY(round_ordinary_v8u, v8u, uint32_t, 32, GKA_AVX2)

/* The rounding of inputs x below 2^emin in magnitude (the format's
 * subnormal range, zero included) in float arithmetic, for the dense loop:
 * y = x / q = x s1 s2 exactly (powers of two, no overflow: |y| < 2^(t-1)),
 * rounded to an integer k by the vector instruction in the directed and
 * nearest-even modes, by a truncation t and the exact fraction f = y - t
 * in the others (NA: t + trunc(2f); NZ: the same but not at |2f| = 1; OD:
 * t, stepped away from zero where f != 0 and t is even), then k q, exact,
 * with x's sign. *inexact: all-ones where k != y. RINT(v, imm) is the
 * instruction set's rounding of a float vector to integers. */
#define GKA_ROUND_SUBNORMAL(NAME, U, F, I, RINT, ATTR)                                             \
    ATTR static inline __attribute__((always_inline)) U NAME(                                      \
        U x, const F s1, const F s2, const F q, const int mode, U *inexact) {                      \
        const F zero = {0}, one = zero + 1.0f, y = (F)x * s1 * s2;                                 \
        const U sign = x & ~NOSIGN;                                                                \
        F k;                                                                                       \
        switch (mode) {                                                                            \
        case GKA_RND_NE:                                                                           \
            k = RINT(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);                            \
            break;                                                                                 \
        case GKA_RND_TP:                                                                           \
            k = RINT(y, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC);                                \
            break;                                                                                 \
        case GKA_RND_TN:                                                                           \
            k = RINT(y, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);                                \
            break;                                                                                 \
        case GKA_RND_TZ:                                                                           \
            k = RINT(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);                                   \
            break;                                                                                 \
        default: {                                                                                 \
            const F t = RINT(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC), f2 = (y - t) * 2.0f;      \
            const F step = RINT(f2, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC); /* 0 or +-1 */        \
            if (mode == GKA_RND_NA) {                                                              \
                k = t + step;                                                                      \
            } else if (mode == GKA_RND_NZ) {                                                       \
                const U tie = (U)(f2 == one) | (U)(f2 == -one);                                    \
                k = t + (F)((U)step & ~tie);                                                       \
            } else { /* GKA_RND_OD */                                                              \
                const U even = (U)((__builtin_convertvector(t, I) & 1) == 0);                      \
                const F away = (F)((U)one | sign);                                                 \
                k = t + (F)((U)away & (U)(f2 != zero) & even);                                     \
            }                                                                                      \
        }                                                                                          \
        }                                                                                          \
        *inexact = (U)(k != y);                                                                    \
        return ((U)(k * q) & NOSIGN) | sign;                                                       \
    }
/* Without optimisation GCC's _mm512_roundscale_ps is a macro that passes the
 * all-lanes mask (__mmask16)-1 to a builtin taking a short: -Wsign-conversion
 * (the sanitizer presets) warns inside the system header's expansion. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-conversion"
GKA_ROUND_SUBNORMAL(round_subnormal_v16u, v16u, v16f, v16i, GKA_RINT_V16F, GKA_AVX512)
GKA_ROUND_SUBNORMAL(round_subnormal_v8u, v8u, v8f, v8i, GKA_RINT_V8F, GKA_AVX2)
#pragma GCC diagnostic pop

/* ---- AVX-512F: 16 lanes, 4 vectors per group ---- */

GKA_AVX512 static inline v16u load_v16u(const uint32_t *p) {
    return (v16u)_mm512_loadu_si512((const void *)p);
}
GKA_AVX512 static inline void store_v16u(uint32_t *p, v16u v) {
    _mm512_storeu_si512((void *)p, (__m512i)v);
}
GKA_AVX512 static inline uint32_t or_lanes_v16u(v16u v) {
    return (uint32_t)_mm512_reduce_or_epi32((__m512i)v);
}

/* Whether the group may hold an input that is not ordinary: |x| - lo >
 * span (unsigned, so |x| < lo wraps above span) for some |x|, zeros
 * included (they wrap too); miss_lanes_v16u tells exactly, zeros excluded. */
GKA_AVX512 static inline int group_suspect_v16u(const v16u *x, uint32_t lo, uint32_t span) {
    __m512i top = _mm512_setzero_si512();
    GKA_UNROLL
    for (int k = 0; k < 4; k++)
        top = _mm512_max_epu32(top, (__m512i)((x[k] & NOSIGN) - lo));
    return _mm512_cmpgt_epu32_mask(top, _mm512_set1_epi32((int)span)) != 0;
}

/* The lanes of x that are not ordinary, as a bit mask. */
GKA_AVX512 static inline unsigned miss_lanes_v16u(v16u x, uint32_t lo, uint32_t span) {
    const __mmask16 nonzero = _mm512_test_epi32_mask((__m512i)x, _mm512_set1_epi32(NOSIGN));
    return _mm512_mask_cmpgt_epu32_mask(nonzero, (__m512i)((x & NOSIGN) - lo),
                                        _mm512_set1_epi32((int)span));
}

/* x with the given lanes set to zero. */
GKA_AVX512 static inline v16u clear_lanes_v16u(v16u x, unsigned lanes) {
    return (v16u)_mm512_maskz_mov_epi32((__mmask16)~lanes, (__m512i)x);
}

/* ---- AVX2: 8 lanes, 8 vectors per group ---- */

GKA_AVX2 static inline v8u load_v8u(const uint32_t *p) {
    return (v8u)_mm256_loadu_si256((const __m256i *)(const void *)p);
}
GKA_AVX2 static inline void store_v8u(uint32_t *p, v8u v) {
    _mm256_storeu_si256((__m256i *)(void *)p, (__m256i)v);
}
GKA_AVX2 static inline uint32_t or_lanes_v8u(v8u v) {
    uint32_t lanes[8], acc = 0;
    memcpy(lanes, &v, sizeof lanes);
    for (int k = 0; k < 8; k++)
        acc |= lanes[k];
    return acc;
}

/* All-ones lanes where v > s (unsigned): max(v, s) != s. */
GKA_AVX2 static inline __m256i above_v8u(__m256i v, __m256i s) {
    return _mm256_xor_si256(_mm256_cmpeq_epi32(_mm256_max_epu32(v, s), s), _mm256_set1_epi32(-1));
}

GKA_AVX2 static inline int group_suspect_v8u(const v8u *x, uint32_t lo, uint32_t span) {
    const __m256i s = _mm256_set1_epi32((int)span);
    __m256i top = _mm256_setzero_si256();
    GKA_UNROLL
    for (int k = 0; k < 8; k++)
        top = _mm256_max_epu32(top, (__m256i)((x[k] & NOSIGN) - lo));
    const __m256i above = above_v8u(top, s);
    return !_mm256_testz_si256(above, above);
}

GKA_AVX2 static inline unsigned miss_lanes_v8u(v8u x, uint32_t lo, uint32_t span) {
    const __m256i a = (__m256i)(x & NOSIGN);
    const __m256i zero = _mm256_cmpeq_epi32(a, _mm256_setzero_si256());
    const __m256i miss = _mm256_andnot_si256(
        zero, above_v8u((__m256i)((x & NOSIGN) - lo), _mm256_set1_epi32((int)span)));
    return (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(miss));
}

GKA_AVX2 static inline v8u clear_lanes_v8u(v8u x, unsigned lanes) {
    const v8u bit = {1, 2, 4, 8, 16, 32, 64, 128};
    return x & (v8u)((bit & lanes) == 0);
}

/* ---- Philox on vectors: the 32x32->64 products of even and odd lanes
 * apart (vpmuludq), high and low halves put back in their lanes; named
 * after the vector type, for GKA_MULHILO_##V ---- */

#define GKA_MULHILO_v16u(a, m, hi, lo)                                                             \
    do {                                                                                           \
        const __m512i m_ = _mm512_set1_epi32((int)(m));                                            \
        const __m512i ev_ = _mm512_mul_epu32((__m512i)(a), m_);                                    \
        const __m512i od_ = _mm512_mul_epu32(_mm512_srli_epi64((__m512i)(a), 32), m_);             \
        hi = (v16u)_mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(ev_, 32), od_);               \
        lo = (v16u)_mm512_mask_blend_epi32(0xAAAA, ev_, _mm512_slli_epi64(od_, 32));               \
    } while (0)

#define GKA_MULHILO_v8u(a, m, hi, lo)                                                              \
    do {                                                                                           \
        const __m256i m_ = _mm256_set1_epi32((int)(m));                                            \
        const __m256i ev_ = _mm256_mul_epu32((__m256i)(a), m_);                                    \
        const __m256i od_ = _mm256_mul_epu32(_mm256_srli_epi64((__m256i)(a), 32), m_);             \
        hi = (v8u)_mm256_blend_epi32(_mm256_srli_epi64(ev_, 32), od_, 0xAA);                       \
        lo = (v8u)_mm256_blend_epi32(ev_, _mm256_slli_epi64(od_, 32), 0xAA);                       \
    } while (0)

/* out[0 .. L) = words 0 | 1 << 32 of lanes 0 .. L-1, in lane order. */
GKA_AVX512 static inline void store_pairs_v16u(uint64_t *out, v16u w0, v16u w1) {
    const __m512i first = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i second = _mm512_add_epi32(first, _mm512_set1_epi32(8));
    _mm512_storeu_si512((void *)out, _mm512_permutex2var_epi32((__m512i)w0, first, (__m512i)w1));
    _mm512_storeu_si512((void *)(out + 8),
                        _mm512_permutex2var_epi32((__m512i)w0, second, (__m512i)w1));
}
GKA_AVX2 static inline void store_pairs_v8u(uint64_t *out, v8u w0, v8u w1) {
    const __m256i lo = _mm256_unpacklo_epi32((__m256i)w0, (__m256i)w1); /* lanes 0 1 | 4 5 */
    const __m256i hi = _mm256_unpackhi_epi32((__m256i)w0, (__m256i)w1); /* lanes 2 3 | 6 7 */
    _mm256_storeu_si256((__m256i *)(void *)out, _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256((__m256i *)(void *)(out + 4), _mm256_permute2x128_si256(lo, hi, 0x31));
}

/* The counter of lane j is counter + i + j, its low word x0 and high word
 * x1 (the carry out of the low word: x0 < low word of counter + i). Two
 * vectors of counters at a time, their rounds interleaved: one vector's
 * ten rounds are a chain of dependent multiplies, and two keep the
 * multiplier busy. */
#define GKA_PHILOX_START(V, L, c, lane, zero, stream, x0, x1, x2, x3)                              \
    do {                                                                                           \
        const V base_ = (zero) + (uint32_t)(c);                                                    \
        x0 = base_ + (lane);                                                                       \
        x1 = ((zero) + (uint32_t)((c) >> 32)) - (V)(x0 < base_);                                   \
        x2 = (zero) + (uint32_t)(stream);                                                          \
        x3 = (zero) + (uint32_t)((stream) >> 32);                                                  \
    } while (0)

#define GKA_PHILOX_FILL(name, V, L, ATTR)                                                          \
    ATTR static size_t name(uint64_t *out, size_t n, uint64_t seed, uint64_t stream,               \
                            uint64_t counter) {                                                    \
        V lane;                                                                                    \
        for (int j = 0; j < (L); j++)                                                              \
            lane[j] = (uint32_t)j;                                                                 \
        const V zero = {0};                                                                        \
        size_t i = 0;                                                                              \
        for (; i + 2 * (L) <= n; i += 2 * (L)) {                                                   \
            V a0, a1, a2, a3, b0, b1, b2, b3;                                                      \
            GKA_PHILOX_START(V, L, counter + i, lane, zero, stream, a0, a1, a2, a3);               \
            GKA_PHILOX_START(V, L, counter + i + (L), lane, zero, stream, b0, b1, b2, b3);         \
            uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);                             \
            _Pragma("GCC unroll 10") for (int round = 0; round < GKA_PHILOX_ROUNDS; round++) {     \
                GKA_PHILOX_ROUND(V, GKA_MULHILO_##V, a0, a1, a2, a3, k0, k1);                      \
                GKA_PHILOX_ROUND(V, GKA_MULHILO_##V, b0, b1, b2, b3, k0, k1);                      \
                GKA_PHILOX_BUMP(k0, k1);                                                           \
            }                                                                                      \
            store_pairs_##V(out + i, a0, a1);                                                      \
            store_pairs_##V(out + i + (L), b0, b1);                                                \
        }                                                                                          \
        return i;                                                                                  \
    }

GKA_PHILOX_FILL(philox_avx512, v16u, 16, GKA_AVX512)
GKA_PHILOX_FILL(philox_avx2, v8u, 8, GKA_AVX2)

/* The run of ordinary groups from in[0]: stops before the first group
 * that may hold an input that is not ordinary, or before a partial one.
 * No calls inside, so that the constants stay in registers. The group is
 * tested before anything is stored (in place, a store would destroy the
 * input the general rounding needs), then loaded again for the rounding:
 * keeping the 8 vectors of the test live ran AVX2 (16 registers) out of
 * registers, and the spills cost NE a seventh of its speed (bf16 1M 0.76
 * -> 0.88 of memcpy); AVX-512 (32 registers) is unchanged by it. */
#define GKA_WIDE_RUN(name, V, L, ATTR, mode)                                                       \
    __attribute__((noinline)) ATTR static size_t name(uint32_t *out, const uint32_t *in, size_t n, \
                                                      uint32_t d, uint32_t lo, uint32_t span,      \
                                                      unsigned *flags) {                           \
        enum { VECS = GKA_WIDE_GROUP / (L) };                                                      \
        V lost = {0};                                                                              \
        size_t i = 0;                                                                              \
        for (; i + GKA_WIDE_GROUP <= n; i += GKA_WIDE_GROUP) {                                     \
            V x[VECS];                                                                             \
            GKA_UNROLL                                                                             \
            for (int k = 0; k < VECS; k++)                                                         \
                x[k] = load_##V(in + i + (size_t)k * (L));                                         \
            if (group_suspect_##V(x, lo, span)) break;                                             \
            GKA_UNROLL                                                                             \
            for (int k = 0; k < VECS; k++) {                                                       \
                const V y = load_##V(in + i + (size_t)k * (L));                                    \
                lost |= y;                                                                         \
                store_##V(out + i + (size_t)k * (L), round_ordinary_##V(y, d, mode));              \
            }                                                                                      \
        }                                                                                          \
        if (or_lanes_##V(lost) & ((1u << d) - 1)) *flags |= GKA_FLAG_INEXACT;                      \
        return i;                                                                                  \
    }

/* One group that may hold inputs that are not ordinary: every vector by
 * the ordinary rounding (INEXACT taken without those inputs), then those
 * by the general rounding, from a copy of the group (so that in place
 * works). The general calls come last, after all vector work, so that the
 * vectors and constants need not survive them (calling inside the vector
 * loop spilled them and cost 2.6 % of fp16's time at 1M). */
#define GKA_WIDE_MIXED(name, V, L, ATTR, mode)                                                     \
    __attribute__((noinline)) ATTR static void name(uint32_t *out, const uint32_t *in,             \
                                                    const gka_wide_args_t *a, unsigned *flags) {   \
        enum { VECS = GKA_WIDE_GROUP / (L) };                                                      \
        const uint32_t d = a->d, lo = a->lo, span = a->hi - a->lo;                                 \
        uint32_t copy[GKA_WIDE_GROUP];                                                             \
        uint64_t miss = 0;                                                                         \
        V lost = {0};                                                                              \
        GKA_UNROLL                                                                                 \
        for (int k = 0; k < VECS; k++) {                                                           \
            const V x = load_##V(in + (size_t)k * (L));                                            \
            const unsigned lanes = miss_lanes_##V(x, lo, span);                                    \
            memcpy(copy + (size_t)k * (L), &x, sizeof x);                                          \
            miss |= (uint64_t)lanes << (k * (L));                                                  \
            lost |= clear_lanes_##V(x, lanes);                                                     \
            store_##V(out + (size_t)k * (L), round_ordinary_##V(x, d, mode));                      \
        }                                                                                          \
        unsigned f = or_lanes_##V(lost) & ((1u << d) - 1) ? GKA_FLAG_INEXACT : 0;                  \
        for (; miss; miss &= miss - 1) {                                                           \
            const int j = __builtin_ctzll(miss);                                                   \
            f |= a->fix(out + j, copy[j], a->ctx);                                                 \
        }                                                                                          \
        *flags |= f;                                                                               \
    }

/* Groups whose inputs below 2^emin are dense (e4m3 on uniform data has one
 * in 64): every vector by both roundings, the ordinary one and the
 * subnormal one in float arithmetic, each lane taking the one of its
 * range; INEXACT from the ordinary lanes' dropped bits, INEXACT and
 * UNDERFLOW (tiny before rounding) from the subnormal lanes' remainders. A
 * group with an input above max (overflow, Inf, NaN) goes to the mixed
 * path; two such groups in a row end the loop (inputs above max are dense:
 * the caller's block kernels round them on vectors, the mixed path one by
 * one, which made the exhaustive pass's overflow chunks 2.5 times slower).
 * Does n rounded down to a multiple of GKA_WIDE_GROUP, or stops before
 * such a second group. */
#define GKA_WIDE_DENSE(name, mixed, V, F, L, ATTR, mode)                                           \
    __attribute__((noinline)) ATTR static size_t name(uint32_t *out, const uint32_t *in, size_t n, \
                                                      const gka_wide_args_t *a, unsigned *flags) { \
        enum { VECS = GKA_WIDE_GROUP / (L) };                                                      \
        const uint32_t d = a->d, lo = a->lo, hi = a->hi;                                           \
        const F zero = {0}, s1 = zero + a->s1, s2 = zero + a->s2, q = zero + a->q;                 \
        V lost = {0}, under = {0};                                                                 \
        size_t i = 0;                                                                              \
        int big_before = 0;                                                                        \
        for (; i + GKA_WIDE_GROUP <= n; i += GKA_WIDE_GROUP) {                                     \
            V x[VECS];                                                                             \
            GKA_UNROLL                                                                             \
            for (int k = 0; k < VECS; k++)                                                         \
                x[k] = load_##V(in + i + (size_t)k * (L));                                         \
            if (group_suspect_##V(x, 0, hi)) { /* some |x| > max */                                \
                if (big_before) break;                                                             \
                mixed(out + i, in + i, a, flags);                                                  \
                big_before = 1;                                                                    \
                continue;                                                                          \
            }                                                                                      \
            big_before = 0;                                                                        \
            GKA_UNROLL                                                                             \
            for (int k = 0; k < VECS; k++) {                                                       \
                const V y = load_##V(in + i + (size_t)k * (L)), ay = y & NOSIGN;                   \
                const V sub = (V)(ay < lo);                                                        \
                V inexact;                                                                         \
                const V rs = round_subnormal_##V(y, s1, s2, q, mode, &inexact);                    \
                const V ro = round_ordinary_##V(y, d, mode);                                       \
                store_##V(out + i + (size_t)k * (L), (rs & sub) | (ro & ~sub));                    \
                lost |= y & ~sub;                                                                  \
                under |= inexact & sub;                                                            \
            }                                                                                      \
        }                                                                                          \
        if (or_lanes_##V(lost) & ((1u << d) - 1)) *flags |= GKA_FLAG_INEXACT;                      \
        if (or_lanes_##V(under)) *flags |= GKA_FLAG_INEXACT | GKA_FLAG_UNDERFLOW;                  \
        return i;                                                                                  \
    }

/* One wide kernel per (instruction set, mode): V the vector type, F its
 * float twin, L its lanes; the mode is a constant, so the switches of the
 * formulas fold. Two runs in a row shorter than GKA_WIDE_DENSE_RUN mean
 * that inputs that are not ordinary are dense (e4m3 on uniform data has
 * 1/64 of them, in its subnormal range), where one general rounding each
 * costs more than rounding every lane both ways: the next
 * GKA_WIDE_DENSE_STAY elements go to the dense loop, or, without it
 * (subnormals flushed), the call ends and the caller's in-range kernel
 * takes over. */
#define GKA_WIDE_KERNEL(name, V, F, L, ATTR, mode)                                                 \
    GKA_WIDE_RUN(name##_run, V, L, ATTR, mode)                                                     \
    GKA_WIDE_MIXED(name##_mixed, V, L, ATTR, mode)                                                 \
    GKA_WIDE_DENSE(name##_dense, name##_mixed, V, F, L, ATTR, mode)                                \
    static size_t name(uint32_t *out, const uint32_t *in, size_t n, const gka_wide_args_t *a,      \
                       unsigned *flags) {                                                          \
        size_t i = 0;                                                                              \
        int short_runs = 0;                                                                        \
        while (n - i >= GKA_WIDE_GROUP) {                                                          \
            const size_t run =                                                                     \
                name##_run(out + i, in + i, n - i, a->d, a->lo, a->hi - a->lo, flags);             \
            i += run;                                                                              \
            if (n - i < GKA_WIDE_GROUP) break;                                                     \
            name##_mixed(out + i, in + i, a, flags);                                               \
            i += GKA_WIDE_GROUP;                                                                   \
            short_runs = run < GKA_WIDE_DENSE_RUN ? short_runs + 1 : 0;                            \
            if (short_runs < 2) continue;                                                          \
            if (!a->dense) break; /* the caller's in-range kernel is faster than mixed groups */   \
            const size_t stay = n - i < GKA_WIDE_DENSE_STAY ? n - i : GKA_WIDE_DENSE_STAY;         \
            const size_t done = name##_dense(out + i, in + i, stay, a, flags);                     \
            i += done;                                                                             \
            if (done + GKA_WIDE_GROUP <= stay) break; /* dense inputs above max: the caller's */   \
            short_runs = 0;                                                                        \
        }                                                                                          \
        return i;                                                                                  \
    }

#define GKA_WIDE_MODES(isa, V, F, L, ATTR)                                                         \
    GKA_WIDE_KERNEL(wide_##isa##_na, V, F, L, ATTR, GKA_RND_NA)                                    \
    GKA_WIDE_KERNEL(wide_##isa##_nz, V, F, L, ATTR, GKA_RND_NZ)                                    \
    GKA_WIDE_KERNEL(wide_##isa##_ne, V, F, L, ATTR, GKA_RND_NE)                                    \
    GKA_WIDE_KERNEL(wide_##isa##_tp, V, F, L, ATTR, GKA_RND_TP)                                    \
    GKA_WIDE_KERNEL(wide_##isa##_tn, V, F, L, ATTR, GKA_RND_TN)                                    \
    GKA_WIDE_KERNEL(wide_##isa##_tz, V, F, L, ATTR, GKA_RND_TZ)                                    \
    GKA_WIDE_KERNEL(wide_##isa##_od, V, F, L, ATTR, GKA_RND_OD)

GKA_WIDE_MODES(avx512, v16u, v16f, 16, GKA_AVX512)
GKA_WIDE_MODES(avx2, v8u, v8f, 8, GKA_AVX2)

/* Indexed by mode - GKA_RND_NA (the order of gka_round_mode_t). */
static const gka_wide_fn wide_avx512[] = {wide_avx512_na, wide_avx512_nz, wide_avx512_ne,
                                          wide_avx512_tp, wide_avx512_tn, wide_avx512_tz,
                                          NULL,           NULL,           wide_avx512_od};
static const gka_wide_fn wide_avx2[] = {wide_avx2_na, wide_avx2_nz, wide_avx2_ne,
                                        wide_avx2_tp, wide_avx2_tn, wide_avx2_tz,
                                        NULL,         NULL,         wide_avx2_od};

enum { ISA_UNKNOWN = -1, ISA_OFF = 0, ISA_AVX2 = 1, ISA_AVX512 = 2 };

/* The CPU's best, lowered by GKA_ROUND_WIDE (an unknown value is ignored:
 * it only ever selects speed, never results). */
static int detect_isa(void) {
    __builtin_cpu_init();
    int isa = __builtin_cpu_supports("avx512f") ? ISA_AVX512
              : __builtin_cpu_supports("avx2")  ? ISA_AVX2
                                                : ISA_OFF;
    const char *want = getenv("GKA_ROUND_WIDE");
    if (want && !strcmp(want, "off")) isa = ISA_OFF;
    if (want && !strcmp(want, "avx2") && isa > ISA_AVX2) isa = ISA_AVX2;
    return isa;
}

static int current_isa(void) {
    static int isa = ISA_UNKNOWN; /* benign race: every thread computes the same value */
    int v = __atomic_load_n(&isa, __ATOMIC_RELAXED);
    if (v == ISA_UNKNOWN) {
        v = detect_isa();
        __atomic_store_n(&isa, v, __ATOMIC_RELAXED);
    }
    return v;
}

gka_wide_fn gka_round_wide_kernel(gka_round_mode_t mode) {
    if (mode < GKA_RND_NA || mode > GKA_RND_OD) return NULL;
    const int m = (int)mode - GKA_RND_NA;
    switch (current_isa()) {
    case ISA_AVX512:
        return wide_avx512[m];
    case ISA_AVX2:
        return wide_avx2[m];
    default:
        return NULL;
    }
}

gka_philox_fill_fn gka_round_wide_philox(void) {
    switch (current_isa()) {
    case ISA_AVX512:
        return philox_avx512;
    case ISA_AVX2:
        return philox_avx2;
    default:
        return NULL;
    }
}

const char *gka_round_array_isa(void) {
    const int isa = current_isa();
    return isa == ISA_AVX512 ? "avx512f" : isa == ISA_AVX2 ? "avx2" : "off";
}

#else /* no x86-64 GCC-compatible compiler: the per-block kernels only */

gka_wide_fn gka_round_wide_kernel(gka_round_mode_t mode) {
    (void)mode;
    return NULL;
}

gka_philox_fill_fn gka_round_wide_philox(void) {
    return NULL;
}

const char *gka_round_array_isa(void) {
    return "off";
}

#endif
