/* Rounding of whole arrays: gka_round_array_f32 (float32 in and out) and
 * gka_round_array (doubles).
 *
 * The float32 fast path works on the bit patterns, never through double.
 * For a magnitude pattern a (sign bit cleared) of a finite float, the format's
 * grid near |x| has spacing 2^d pattern units, where d = 24 - t for results in
 * the normal range and grows by one per binade below 2^emin. Within a binade a
 * float pattern is linear in the value, and stepping a truncated pattern up by
 * 2^d carries into the exponent field exactly when the value reaches the next
 * binade, so rounding is integer masking plus a conditional add. Magnitudes
 * below the smallest subnormal q ("tiny") round to 0 or q. Everything is
 * branch-free 32-bit integer code inside `omp simd` loops, with the mode a
 * compile-time constant of each kernel, so the compiler vectorises it (SSE2;
 * AVX2 and AVX-512F clones are added where the compiler supports
 * target_clones). The
 * variable shift 2^d is formed by building the float 2^d and converting it to
 * an integer, which SSE2 can do on whole vectors.
 *
 * Three kernels per mode. The "ordinary" kernel rounds inputs with |x| = 0
 * or in [2^emin, max] with one add and one mask (out of place, in its lean
 * form: nothing but the rounding, an OR for INEXACT and a max-reduction that
 * tells whether some input was not ordinary; in place, non-ordinary inputs
 * are kept unchanged). It runs over a whole block of 2048; where it missed
 * a few inputs (at most 1/256) those are redone one by one; where it missed
 * more, the "in-range" kernel takes the block (every finite |x| <= max: the
 * format's subnormal range in exact float arithmetic, flushing, INEXACT,
 * UNDERFLOW and FLUSHED by OR-reductions), and the next RANGE_STAY blocks
 * go to it directly (fp8 formats on uniform data have values in their
 * subnormal range everywhere). Inputs above max (overflow candidates, Inf,
 * NaN) go to the general branch-free kernel (variable spacing, overflow
 * rules, all flags): one by one when few, else over the block. Arrays of
 * 2^21 values and more are written with non-temporal stores (as memcpy
 * does), from an L1 buffer per block.
 *
 * Arrays below that size (cache-resident) in a deterministic mode take the
 * wide kernels of round_array_wide.c instead where the CPU has AVX2 or
 * AVX-512F (gka_round_array_isa): the same ordinary formula 64 values at a
 * time, the output first aligned to 64 bytes by a head through the
 * in-range kernel (f32_wide), and dense misses handed back to the in-range
 * kernel for RANGE_STAY blocks (docs/BENCHMARKS.md, "the wide kernels").
 *
 * Semantics are those of gka_round (round.c) to the bit, flags included
 * (INEXACT, UNDERFLOW with tininess before rounding, OVERFLOW, INVALID,
 * FLUSHED); tests/unit/test_round_array.c checks results, flags and counters
 * against gka_round, and tests/exhaustive/test_round_exhaustive.c checks every
 * float32 pattern against an independent reference. Formats that are not
 * made of float32 values (fp64, custom with t > 24 or a wider exponent range)
 * fall back to gka_round per element, the result converted to float.
 *
 * Doubles (gka_round_array): the same ordinary kernel on the 64-bit
 * patterns (53 - t dropped bits; fp64 is a copy), in its in-place form; the
 * inputs it leaves go through gka_round. Stochastic modes call gka_round
 * per element.
 *
 * Stochastic modes: element i draws gka_philox_u64(seed, stream, counter + i)
 * (computed in blocks by a vectorised copy of the generator; the decision is
 * a vector compare on the draw's top word, see GKA_SR_KERNEL), and the context's counter
 * advances by n, so splitting an array into chunks or threads never changes a
 * result. Large arrays are split over OpenMP threads (r->threads of them; 0:
 * OpenMP's default) in fixed blocks of 2048, one contiguous range of blocks per thread;
 * flags are OR-ed per block. */
#include "gka_precision.h"
#include "round_array_internal.h"
#include "round_internal.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#define GKA_HAVE_STREAM 1
#endif

#ifdef _OPENMP
#include <omp.h>
#define GKA_PRAGMA(x) _Pragma(#x)
#define GKA_SIMD(clause) GKA_PRAGMA(omp simd clause)
#else
#define GKA_SIMD(clause)
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__gnu_linux__)
#define GKA_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GKA_CLONES
#endif

enum {
    F32_EXP_ONE = 0x00800000u, /* lowest exponent bit = implicit bit position */
    F32_INF = 0x7f800000u,
    F32_QNAN = 0x7fc00000u,
    F32_SIGN = 0x80000000u,
    BLOCK = 2048,            /* elements per block: flags, threads, streaming */
    SUBBLOCK = 512,          /* doubles: elements per ordinary kernel call */
    PARALLEL_MIN = 1u << 16, /* smaller arrays are not worth waking threads */
    STREAM_MIN = 1u << 21    /* arrays of 8 MB and more bypass the cache on output */
};

/* Constants of one (format, options) rounding, as float32 patterns. */
typedef struct {
    uint32_t d0;          /* dropped bits for normal results: 24 - t */
    uint32_t emin_b;      /* biased float exponent of 2^emin */
    uint32_t max_bits;    /* largest finite magnitude */
    uint32_t minn_bits;   /* 2^emin */
    uint32_t q_bits;      /* smallest subnormal 2^(emin-t+1) */
    uint32_t hq_bits;     /* q/2 */
    uint32_t big_bits;    /* overflow "to infinity": Inf, NaN (no Inf) or max (saturate) */
    uint32_t flush_below; /* results in (0, flush_below) are flushed: minn_bits or 0 */
    uint32_t inf_res;     /* result for an infinite input (magnitude) */
    unsigned inf_flags;   /* flags raised by an infinite input */
    unsigned big_flags; /* flags raised when an overflow gives big_bits (beyond OVERFLOW|INEXACT) */
    float q_f;          /* q as a float */
    float sub_scale1, sub_scale2; /* their product is 1/q (each a float power of two) */
} plan_t;

static uint32_t f2u(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float u2f(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Whether the format's every value, and the grid near it, is made of float32
 * patterns: t <= 24, normal and subnormal range inside float32's. */
static int fits_float32(const gka_format_t *f) {
    return f->t >= 2 && f->t <= 24 && f->emin >= -126 && f->emax <= 127 &&
           f->emin - f->t + 1 >= -149;
}

static plan_t make_plan(const gka_rounding_t *r) {
    const gka_format_t *f = &r->format;
    plan_t P;
    P.d0 = (uint32_t)(24 - f->t);
    P.emin_b = (uint32_t)(f->emin + 127);
    P.max_bits = f2u((float)f->max);
    P.minn_bits = f2u((float)f->min_normal);
    P.q_bits = f2u((float)f->min_subnormal);
    P.hq_bits = f2u((float)(f->min_subnormal * 0.5)); /* >= 2^-150: 0 when q = 2^-149 */
    P.flush_below = r->subnormals ? 0 : P.minn_bits;
    P.q_f = (float)f->min_subnormal;
    const int inv_q = f->t - 1 - f->emin; /* 1/q = 2^inv_q, inv_q <= 149 */
    P.sub_scale1 = ldexpf(1.0f, inv_q - inv_q / 2);
    P.sub_scale2 = ldexpf(1.0f, inv_q / 2);
    P.big_flags = 0;
    if (r->saturate) {
        P.big_bits = P.max_bits;
    } else if (f->has_inf) {
        P.big_bits = F32_INF;
    } else {
        P.big_bits = F32_QNAN;
        P.big_flags = GKA_FLAG_INVALID;
    }
    if (f->has_inf) {
        P.inf_res = F32_INF;
        P.inf_flags = 0;
    } else if (r->saturate) {
        P.inf_res = P.max_bits;
        P.inf_flags = GKA_FLAG_INEXACT;
    } else {
        P.inf_res = F32_QNAN;
        P.inf_flags = GKA_FLAG_INVALID;
    }
    return P;
}

/* 2^d for 0 <= d <= 30, without a variable shift: the float 2^d converted
 * to an integer (a vector conversion instruction on SSE2). */
static inline uint32_t pow2_u32(uint32_t d) {
    return (uint32_t)(int32_t)u2f((d + 127u) << 23);
}

/* Branch-free selection on all-ones / all-zero masks: plain integer
 * operations that the vectoriser maps onto SSE2 compares and logic. */
static inline uint32_t mask_of(int cond) {
    return 0u - (uint32_t)cond;
}
static inline uint32_t select_u32(uint32_t m, uint32_t a, uint32_t b) {
    return (a & m) | (b & ~m);
}

/* Where |x| lies on the format's grid: truncated pattern, increment to the
 * next grid point, and masks describing the discarded part. */
typedef struct {
    uint32_t tr, inc;    /* lower neighbour and step to the upper one (patterns) */
    uint32_t gt, eq, nz; /* masks: discarded part > half, == half, != 0 */
    uint32_t odd;        /* mask: the lower neighbour has an odd last significand bit */
} split_t;

static inline __attribute__((always_inline)) split_t split(uint32_t a, const plan_t *P,
                                                           const int varshift) {
    split_t s;
    uint32_t p = pow2_u32(P->d0);
    if (varshift) {
        /* Below 2^emin the spacing stays 2^(emin-t+1): one more dropped bit per
         * binade. Float subnormals (E = 0) share the scale of E = 1. */
        const uint32_t E = a >> 23;
        const uint32_t Ee = E + (E == 0);
        uint32_t d = P->d0 + (P->emin_b > Ee ? P->emin_b - Ee : 0);
        d = d > 23 ? 23 : d; /* d > 23 only for tiny magnitudes, handled below */
        p = pow2_u32(d);
    }
    const uint32_t low = p - 1;
    const uint32_t rem = a & low;
    const uint32_t half = p >> 1;
    s.tr = a & ~low;
    s.inc = p;
    s.nz = mask_of(rem != 0);
    s.gt = mask_of(rem > half);
    s.eq = s.nz & mask_of(rem == half);            /* d = 0 (t = 24): no half, never a tie */
    s.odd = mask_of(((a | F32_EXP_ONE) & p) != 0); /* d = 23: the implicit bit is the last */
    if (varshift) {
        const uint32_t tiny = mask_of(a < P->q_bits); /* |x| < q: neighbours 0 and q */
        s.tr = s.tr & ~tiny;
        s.inc = select_u32(tiny, P->q_bits, s.inc);
        s.gt = select_u32(tiny, mask_of(a > P->hq_bits), s.gt);
        s.eq = select_u32(tiny, mask_of(a != 0) & mask_of(a == P->hq_bits), s.eq);
        s.nz = select_u32(tiny, mask_of(a != 0), s.nz);
        s.odd = s.odd & ~tiny;
    }
    return s;
}

/* Round-up mask of a deterministic mode (a constant switch after inlining);
 * negm is all ones for a negative x. */
static inline __attribute__((always_inline)) uint32_t decide(const split_t *s, uint32_t negm,
                                                             const int mode) {
    switch (mode) {
    case GKA_RND_NE:
        return s->gt | (s->eq & s->odd);
    case GKA_RND_NA:
        return s->gt | s->eq;
    case GKA_RND_NZ:
        return s->gt;
    case GKA_RND_TP:
        return s->nz & ~negm;
    case GKA_RND_TN:
        return s->nz & negm;
    case GKA_RND_TZ:
        return 0;
    case GKA_RND_OD:
        return s->nz & ~s->odd;
    default:
        return 0;
    }
}

/* Overflow result magnitude for the mode (IEEE 754 rules, see round.c). */
static inline __attribute__((always_inline)) uint32_t overflow_bits(const plan_t *P, uint32_t negm,
                                                                    const int mode) {
    switch (mode) {
    case GKA_RND_TZ:
    case GKA_RND_OD:
        return P->max_bits;
    case GKA_RND_TP:
        return select_u32(negm, P->max_bits, P->big_bits);
    case GKA_RND_TN:
        return select_u32(negm, P->big_bits, P->max_bits);
    default:
        return P->big_bits;
    }
}

/* The rounded magnitude of a finite |x| (tr + inc where rounding up), with
 * subnormal results flushed when the context asks for it; *flushed is the
 * mask of the flushed ones. No overflow handling: for |x| <= max the result
 * stays <= max (max is a grid point). */
static inline __attribute__((always_inline)) uint32_t
round_magnitude(const split_t *s, uint32_t up, const plan_t *P, uint32_t *flushed) {
    const uint32_t res = s->tr + (s->inc & up);
    *flushed = mask_of(res != 0) & mask_of(res < P->flush_below);
    return res & ~*flushed;
}

/* Given the sign, magnitude, its split and the round-up mask, the result
 * pattern; flags OR-ed into *flags. */
static inline __attribute__((always_inline)) uint32_t finish(uint32_t sign, uint32_t a,
                                                             const split_t *s, uint32_t up,
                                                             const plan_t *P, const int mode,
                                                             unsigned *flags) {
    const uint32_t negm = mask_of(sign != 0);
    const uint32_t finite = mask_of(a < F32_INF);
    uint32_t flushed;
    uint32_t res = round_magnitude(s, up, P, &flushed); /* a flushed result is 0: no overflow */
    flushed &= finite;
    const uint32_t ovf = finite & mask_of(res > P->max_bits);
    const uint32_t ovf_res = overflow_bits(P, negm, mode);
    const uint32_t ovf_nan = ovf & mask_of(ovf_res == F32_QNAN);
    res = select_u32(ovf, ovf_res, res);
    const uint32_t inexact = finite & (s->nz | ovf | flushed);
    const uint32_t is_inf = mask_of(a == F32_INF);
    res = select_u32(is_inf, P->inf_res, res);
    res = select_u32(mask_of(a > F32_INF), F32_QNAN, res);
    uint32_t fl = inexact & GKA_FLAG_INEXACT;
    fl |= inexact & mask_of(a < P->minn_bits) & GKA_FLAG_UNDERFLOW;
    fl |= ovf & GKA_FLAG_OVERFLOW;
    fl |= ovf_nan & GKA_FLAG_INVALID;
    fl |= flushed & GKA_FLAG_FLUSHED;
    fl |= is_inf & P->inf_flags;
    *flags |= fl;
    return sign | res;
}

static inline __attribute__((always_inline)) uint32_t
round_one(uint32_t x, const plan_t *P, const int mode, const int varshift, unsigned *flags) {
    const uint32_t sign = x & F32_SIGN;
    const uint32_t a = x & ~F32_SIGN;
    const split_t s = split(a, P, varshift);
    return finish(sign, a, &s, decide(&s, mask_of(sign != 0), mode), P, mode, flags);
}

/* Set in a kernel's returned flags: some input was left to the general code. */
#define ORDINARY_MISS 0x80000000u

/* One kernel per (mode, varshift): constants fold, the loop vectorises. */
#define GKA_KERNEL(name, mode, varshift)                                                           \
    GKA_CLONES static unsigned name(uint32_t *out, const uint32_t *in, size_t n,                   \
                                    const plan_t *P) {                                             \
        unsigned flags = 0;                                                                        \
        GKA_SIMD(reduction(| : flags))                                                             \
        for (size_t i = 0; i < n; i++) {                                                           \
            unsigned fl = 0;                                                                       \
            out[i] = round_one(in[i], P, mode, varshift, &fl);                                     \
            flags |= fl;                                                                           \
        }                                                                                          \
        return flags;                                                                              \
    }

GKA_KERNEL(kern_ne_u, GKA_RND_NE, 0)
GKA_KERNEL(kern_na_u, GKA_RND_NA, 0)
GKA_KERNEL(kern_nz_u, GKA_RND_NZ, 0)
GKA_KERNEL(kern_tp_u, GKA_RND_TP, 0)
GKA_KERNEL(kern_tn_u, GKA_RND_TN, 0)
GKA_KERNEL(kern_tz_u, GKA_RND_TZ, 0)
GKA_KERNEL(kern_od_u, GKA_RND_OD, 0)
GKA_KERNEL(kern_ne_v, GKA_RND_NE, 1)
GKA_KERNEL(kern_na_v, GKA_RND_NA, 1)
GKA_KERNEL(kern_nz_v, GKA_RND_NZ, 1)
GKA_KERNEL(kern_tp_v, GKA_RND_TP, 1)
GKA_KERNEL(kern_tn_v, GKA_RND_TN, 1)
GKA_KERNEL(kern_tz_v, GKA_RND_TZ, 1)
GKA_KERNEL(kern_od_v, GKA_RND_OD, 1)

/* The common case, "ordinary" inputs: |x| in [ord_lo, max] (no NaN/Inf, no
 * overflow possible, and for formats with their own subnormal range or when
 * flushing, nothing below 2^emin), so the spacing is 2^d everywhere and the
 * only flag is INEXACT: GKA_ROUND_ORDINARY (round_array_internal.h), one
 * body for the float32 and the double patterns and the wide kernels. */
GKA_ROUND_ORDINARY(round_ordinary_uint32_t, uint32_t, uint32_t, 32, )
GKA_ROUND_ORDINARY(round_ordinary_uint64_t, uint64_t, uint64_t, 64, )

/* Rounding of |x| < 2^emin (the format's subnormal range, its tiny values
 * and zero) to a multiple of the smallest subnormal q, in float arithmetic
 * that is exact whatever the FP environment: v = |x| / q by two power-of-two
 * scalings (2^-eq can exceed float's range), its integer part n by
 * truncation (n < 2^(t-1)) and fraction v - n (both exactly representable),
 * then (n + up) * q. This replaces the variable shift of split(), which
 * costs about three times as many vector operations. */
static inline __attribute__((always_inline)) uint32_t
round_subnormal(uint32_t a, uint32_t negm, const plan_t *P, const int mode) {
    /* The kernel runs on every lane and its result is kept only where
     * |x| < 2^emin, so v < 2^(t-1) <= 2^23 there. Other lanes (normal
     * values, Inf, NaN) are replaced by 0 first, so that the conversion to
     * int stays defined (C leaves an out-of-range conversion undefined).
     * The selection is on the integer pattern: a float clamp would be a
     * branch the vectoriser keeps (trapping compares), and the whole
     * in-range loop would run scalar. */
    const uint32_t sub = a & mask_of(a < P->minn_bits);
    const float v = u2f(sub) * P->sub_scale1 * P->sub_scale2;
    const int32_t n = (int32_t)v;
    const float frac = v - (float)n;
    split_t s;
    s.tr = 0;
    s.inc = 0;
    s.nz = mask_of(frac != 0.0f);
    s.gt = mask_of(frac > 0.5f);
    s.eq = mask_of(frac == 0.5f);
    s.odd = mask_of((n & 1) != 0);
    const int32_t up = (int32_t)(decide(&s, negm, mode) & 1u);
    return f2u((float)(n + up) * P->q_f);
}

/* The in-range kernel: every finite |x| <= max, subnormal range, tiny
 * values and flushing included, with the flags INEXACT, UNDERFLOW and
 * FLUSHED as OR-reductions (a result differs from its input exactly when it
 * is inexact); the inputs above max (overflow candidates, Inf, NaN) are
 * copied unchanged and reported by ORDINARY_MISS, for the general code.
 * Works in place (out == in). This is what keeps the fp8 formats on uniform
 * data vectorised: their subnormal range (e4m3: below 2^-6) holds a few
 * inputs of every block. With emin = -126 (varshift = 0) the ordinary
 * pattern rounding is right below 2^emin too (float subnormal patterns are
 * linear in the value); only the flags differ there. */
#define GKA_RANGE_KERNEL(name, mode, varshift)                                                     \
    GKA_CLONES static unsigned name(uint32_t *out, const uint32_t *in, size_t n,                   \
                                    const plan_t *plan) {                                          \
        const plan_t P = *plan; /* a local copy: its fields stay in registers */                   \
        uint32_t miss = 0, inexact = 0, under = 0, flushed_any = 0;                                \
        GKA_SIMD(reduction(| : miss, inexact, under, flushed_any))                                 \
        for (size_t i = 0; i < n; i++) {                                                           \
            const uint32_t x = in[i], sign = x & F32_SIGN, a = x & ~F32_SIGN;                      \
            const uint32_t small = mask_of(a < P.minn_bits);                                       \
            /* t = 24 (d0 = 0): nothing dropped above 2^emin, a copy in every mode */              \
            uint32_t res = (P.d0 ? round_ordinary_uint32_t(x, P.d0, mode) : x) & ~F32_SIGN;        \
            if (varshift)                                                                          \
                res = select_u32(small, round_subnormal(a, mask_of(sign != 0), &P, mode), res);    \
            const uint32_t flushed = mask_of(res != 0) & mask_of(res < P.flush_below);             \
            res &= ~flushed;                                                                       \
            const uint32_t outside = mask_of(a > P.max_bits);                                      \
            const uint32_t changed = (res ^ a) & ~outside;                                         \
            miss |= outside;                                                                       \
            inexact |= changed;                                                                    \
            under |= changed & small;                                                              \
            flushed_any |= flushed & ~outside;                                                     \
            out[i] = select_u32(outside, x, sign | res);                                           \
        }                                                                                          \
        return (miss ? ORDINARY_MISS : 0u) | (inexact ? (unsigned)GKA_FLAG_INEXACT : 0u) |         \
               (under ? (unsigned)GKA_FLAG_UNDERFLOW : 0u) |                                       \
               (flushed_any ? (unsigned)GKA_FLAG_FLUSHED : 0u);                                    \
    }

GKA_RANGE_KERNEL(range_ne_u, GKA_RND_NE, 0)
GKA_RANGE_KERNEL(range_na_u, GKA_RND_NA, 0)
GKA_RANGE_KERNEL(range_nz_u, GKA_RND_NZ, 0)
GKA_RANGE_KERNEL(range_tp_u, GKA_RND_TP, 0)
GKA_RANGE_KERNEL(range_tn_u, GKA_RND_TN, 0)
GKA_RANGE_KERNEL(range_tz_u, GKA_RND_TZ, 0)
GKA_RANGE_KERNEL(range_od_u, GKA_RND_OD, 0)
GKA_RANGE_KERNEL(range_ne_v, GKA_RND_NE, 1)
GKA_RANGE_KERNEL(range_na_v, GKA_RND_NA, 1)
GKA_RANGE_KERNEL(range_nz_v, GKA_RND_NZ, 1)
GKA_RANGE_KERNEL(range_tp_v, GKA_RND_TP, 1)
GKA_RANGE_KERNEL(range_tn_v, GKA_RND_TN, 1)
GKA_RANGE_KERNEL(range_tz_v, GKA_RND_TZ, 1)
GKA_RANGE_KERNEL(range_od_v, GKA_RND_OD, 1)

/* One pass over a sub-block: ordinary inputs are rounded, the others are
 * copied unchanged (so that in-place calls keep them) and reported. Returns
 * the INEXACT flag of the ordinary ones, plus ORDINARY_MISS when some input
 * was not ordinary; the caller then rounds the copied ones with the general
 * code. An output is a copied input exactly when it is outside [lo, hi]
 * (ordinary results stay inside: lo and max are grid points). A zero is
 * ordinary too (zero_ok): it rounds to itself. Below 2^emin nothing else
 * is: even where the spacing is float32's own, an inexact input there must
 * raise UNDERFLOW, which this kernel does not. */
#define GKA_ORDINARY_KERNEL(name, T, mode, zero_ok)                                                \
    GKA_CLONES static unsigned name(T *out, const T *in, size_t n, T d, T lo, T hi) {              \
        T lost = 0, miss = 0;                                                                      \
        const T low = ((T)1 << d) - 1, span = hi - lo, sign = (T)1 << (sizeof(T) * 8 - 1);         \
        GKA_SIMD(reduction(| : lost, miss))                                                        \
        for (size_t i = 0; i < n; i++) {                                                           \
            const T x = in[i], a = x & ~sign;                                                      \
            const T outside = (T)0 - (T)((a - lo > span) && !(zero_ok && a == 0));                 \
            miss |= outside;                                                                       \
            lost |= x & ~outside;                                                                  \
            const T y = round_ordinary_##T(x, d, mode);                                            \
            out[i] = (y & ~outside) | (x & outside);                                               \
        }                                                                                          \
        return (miss ? ORDINARY_MISS : 0u) | ((lost & low) ? (unsigned)GKA_FLAG_INEXACT : 0u);     \
    }

GKA_ORDINARY_KERNEL(ord_ne, uint32_t, GKA_RND_NE, 1)
GKA_ORDINARY_KERNEL(ord_na, uint32_t, GKA_RND_NA, 1)
GKA_ORDINARY_KERNEL(ord_nz, uint32_t, GKA_RND_NZ, 1)
GKA_ORDINARY_KERNEL(ord_tp, uint32_t, GKA_RND_TP, 1)
GKA_ORDINARY_KERNEL(ord_tn, uint32_t, GKA_RND_TN, 1)
GKA_ORDINARY_KERNEL(ord_tz, uint32_t, GKA_RND_TZ, 1)
GKA_ORDINARY_KERNEL(ord_od, uint32_t, GKA_RND_OD, 1)
GKA_ORDINARY_KERNEL(ord64_ne, uint64_t, GKA_RND_NE, 1)
GKA_ORDINARY_KERNEL(ord64_na, uint64_t, GKA_RND_NA, 1)
GKA_ORDINARY_KERNEL(ord64_nz, uint64_t, GKA_RND_NZ, 1)
GKA_ORDINARY_KERNEL(ord64_tp, uint64_t, GKA_RND_TP, 1)
GKA_ORDINARY_KERNEL(ord64_tn, uint64_t, GKA_RND_TN, 1)
GKA_ORDINARY_KERNEL(ord64_tz, uint64_t, GKA_RND_TZ, 1)
GKA_ORDINARY_KERNEL(ord64_od, uint64_t, GKA_RND_OD, 1)

/* The lean form of the float32 ordinary kernel, for out != in: every
 * output is the ordinary rounding (wrong for the non-ordinary inputs, which
 * the caller redoes from the input), and only the largest |x| - lo is
 * tracked, so zeros count as misses too. About half the operations of the
 * kernel above: this is what runs at memory speed on cache-resident arrays.
 * The INEXACT flag it returns is only meaningful without ORDINARY_MISS (a
 * NaN's payload would raise it). */
#define GKA_LEAN_KERNEL(name, mode)                                                                \
    GKA_CLONES static unsigned name(uint32_t *restrict out, const uint32_t *restrict in, size_t n, \
                                    uint32_t d, uint32_t lo, uint32_t hi) {                        \
        uint32_t lost = 0, top = 0;                                                                \
        GKA_SIMD(reduction(| : lost) reduction(max : top))                                         \
        for (size_t i = 0; i < n; i++) {                                                           \
            const uint32_t x = in[i], v = (x & ~F32_SIGN) - lo;                                    \
            top = v > top ? v : top;                                                               \
            lost |= x;                                                                             \
            out[i] = round_ordinary_uint32_t(x, d, mode);                                          \
        }                                                                                          \
        const uint32_t low = (1u << d) - 1;                                                        \
        return (top > hi - lo ? ORDINARY_MISS : 0u) |                                              \
               ((lost & low) ? (unsigned)GKA_FLAG_INEXACT : 0u);                                   \
    }

GKA_LEAN_KERNEL(lean_ne, GKA_RND_NE)
GKA_LEAN_KERNEL(lean_na, GKA_RND_NA)
GKA_LEAN_KERNEL(lean_nz, GKA_RND_NZ)
GKA_LEAN_KERNEL(lean_tp, GKA_RND_TP)
GKA_LEAN_KERNEL(lean_tn, GKA_RND_TN)
GKA_LEAN_KERNEL(lean_tz, GKA_RND_TZ)
GKA_LEAN_KERNEL(lean_od, GKA_RND_OD)

typedef unsigned (*kernel_fn)(uint32_t *, const uint32_t *, size_t, const plan_t *);
typedef unsigned (*ordinary_fn)(uint32_t *, const uint32_t *, size_t, uint32_t, uint32_t, uint32_t);
typedef unsigned (*ordinary64_fn)(uint64_t *, const uint64_t *, size_t, uint64_t, uint64_t,
                                  uint64_t);

typedef struct {
    kernel_fn full;     /* any input */
    kernel_fn range;    /* finite |x| <= max, the others copied */
    ordinary_fn simple; /* ordinary inputs, the others copied */
    ordinary_fn lean;   /* ordinary inputs, out != in only */
    gka_wide_fn wide;   /* ordinary groups of 64, this CPU's vectors; may be NULL */
    uint32_t d;         /* dropped bits of the ordinary kernel */
    uint32_t ord_lo;    /* ordinary |x| patterns: 0 and [ord_lo, max_bits] */
    int mode;           /* for the per-element fix-up of non-ordinary inputs */
    int varshift;
} kernels_t;

static int is_stochastic(gka_round_mode_t mode) {
    return mode == GKA_RND_SP || mode == GKA_RND_SE;
}

/* The deterministic kernels for the context; full = NULL for a stochastic
 * mode or a format outside float32. */
static kernels_t pick_kernels(const gka_rounding_t *r, const plan_t *P) {
    static const kernel_fn full_u[] = {kern_na_u, kern_nz_u, kern_ne_u, kern_tp_u, kern_tn_u,
                                       kern_tz_u, NULL,      NULL,      kern_od_u};
    static const kernel_fn full_v[] = {kern_na_v, kern_nz_v, kern_ne_v, kern_tp_v, kern_tn_v,
                                       kern_tz_v, NULL,      NULL,      kern_od_v};
    static const ordinary_fn simple[] = {ord_na, ord_nz, ord_ne, ord_tp, ord_tn,
                                         ord_tz, NULL,   NULL,   ord_od};
    static const ordinary_fn lean[] = {lean_na, lean_nz, lean_ne, lean_tp, lean_tn,
                                       lean_tz, NULL,    NULL,    lean_od};
    static const kernel_fn range_u[] = {range_na_u, range_nz_u, range_ne_u, range_tp_u, range_tn_u,
                                        range_tz_u, NULL,       NULL,       range_od_u};
    static const kernel_fn range_v[] = {range_na_v, range_nz_v, range_ne_v, range_tp_v, range_tn_v,
                                        range_tz_v, NULL,       NULL,       range_od_v};
    kernels_t K = {NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0};
    if (!fits_float32(&r->format) || is_stochastic(r->mode)) return K;
    /* emin = -126: the grid spacing is constant in pattern units everywhere
     * (float subnormals included), no variable shift needed. */
    const int v = r->format.emin > -126;
    const int m = (int)r->mode - GKA_RND_NA;
    K.full = v ? full_v[m] : full_u[m];
    K.range = v ? range_v[m] : range_u[m];
    K.simple = simple[m];
    K.lean = lean[m];
    K.wide = gka_round_wide_kernel(P->d0 ? r->mode : GKA_RND_TZ);
    K.d = P->d0;
    K.ord_lo = P->minn_bits;
    K.mode = (int)r->mode;
    K.varshift = v;
    if (P->d0 == 0) { /* t = 24: nothing is dropped, every mode is a copy */
        K.simple = ord_tz;
        K.lean = lean_tz;
    }
    return K;
}

/* Philox 4x32-10 words 0 and 1 at counters counter .. counter + n - 1 of
 * (seed, stream): the same numbers as gka_philox_u64 (philox.c; the unit
 * tests check it): the wide fill where the CPU has one, then a plain loop
 * over independent counters (vectorised by the compiler elsewhere). */
GKA_CLONES static void philox_loop(uint64_t *out, size_t n, uint64_t seed, uint64_t stream,
                                   uint64_t counter) {
    GKA_SIMD()
    for (size_t i = 0; i < n; i++) {
        const uint64_t ctr = counter + i;
        uint32_t x0 = (uint32_t)ctr, x1 = (uint32_t)(ctr >> 32);
        uint32_t x2 = (uint32_t)stream, x3 = (uint32_t)(stream >> 32);
        uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
#pragma GCC unroll 10
        for (int round = 0; round < GKA_PHILOX_ROUNDS; round++) {
            GKA_PHILOX_ROUND(uint32_t, GKA_MULHILO_U32, x0, x1, x2, x3, k0, k1);
            GKA_PHILOX_BUMP(k0, k1);
        }
        out[i] = (uint64_t)x0 | ((uint64_t)x1 << 32);
    }
}

static void philox_fill(uint64_t *out, size_t n, uint64_t seed, uint64_t stream, uint64_t counter) {
    const gka_philox_fill_fn wide = gka_round_wide_philox();
    const size_t done = wide ? wide(out, n, seed, stream, counter) : 0;
    if (done < n) philox_loop(out + done, n - done, seed, stream, counter + done);
}

/* Stochastic rounding of one float32 pattern with the draw k, the
 * decision exactly as gka_round takes it (SP: 53 random bits against the
 * exact fraction, in double; SE: the top bit). The reference of the
 * vectorised kernels below, and what they use for SP's tiny magnitudes. */
static unsigned stochastic_one(uint32_t *out, uint32_t x, uint64_t k, const plan_t *P, int sp,
                               int varshift) {
    unsigned flags = 0;
    const uint32_t sign = x & F32_SIGN;
    const uint32_t a = x & ~F32_SIGN;
    const split_t s = varshift ? split(a, P, 1) : split(a, P, 0);
    int up;
    const int nz = s.nz != 0;
    if (sp) {
        /* (|x| - lower) / spacing, exact in double: the discarded
         * pattern bits over 2^d, or |x| / q for tiny magnitudes */
        const int tiny = varshift && a < P->q_bits;
        const double frac =
            tiny ? (double)u2f(a) / (double)u2f(P->q_bits) : (double)(a - s.tr) / (double)s.inc;
        up = nz && (double)(k >> 11) * 0x1p-53 < frac;
    } else {
        up = nz && (int)(k >> 63);
    }
    *out = finish(sign, a, &s, mask_of(up), P, GKA_RND_SP, &flags);
    return flags;
}

/* The stochastic decision on whole vectors. SP rounds up when the draw's
 * top 53 bits u satisfy u 2^-53 < rem / 2^d (rem: the discarded pattern
 * bits, below the spacing 2^d, d <= 23), i.e. u 2^d < rem 2^53, i.e.
 * floor(k / 2^(64-d)) < rem for the 64-bit draw k, which only reads the top
 * d bits of k: with hi = k >> 32 it is mulhi(hi, 2^d) < rem, a 32x32->64
 * product the vectoriser knows (as in philox_fill). Bit-identical to
 * stochastic_one. Tiny magnitudes of a format with its own subnormal range
 * (|x| < q: the fraction |x| / q needs up to 53 bits) are copied and
 * left to stochastic_one afterwards (recognised in the output, so that
 * in-place calls work: no rounded result lies in (0, q)). */
#define GKA_SR_KERNEL(name, sp, varshift)                                                          \
    GKA_CLONES static unsigned name(uint32_t *out, const uint32_t *in, const uint64_t *draws,      \
                                    size_t n, const plan_t *plan) {                                \
        const plan_t P = *plan;                                                                    \
        unsigned flags = 0;                                                                        \
        uint32_t tiny_any = 0;                                                                     \
        GKA_SIMD(reduction(| : flags, tiny_any))                                                   \
        for (size_t i = 0; i < n; i++) {                                                           \
            const uint32_t x = in[i], sign = x & F32_SIGN, a = x & ~F32_SIGN;                      \
            const split_t s = split(a, &P, varshift);                                              \
            const uint32_t hi = (uint32_t)(draws[i] >> 32);                                        \
            uint32_t up;                                                                           \
            if (sp)                                                                                \
                up = mask_of((uint32_t)(((uint64_t)hi * s.inc) >> 32) < a - s.tr);                 \
            else                                                                                   \
                up = mask_of((hi >> 31) != 0);                                                     \
            const uint32_t tiny = (sp && varshift) ? mask_of(a != 0) & mask_of(a < P.q_bits) : 0u; \
            unsigned fl = 0;                                                                       \
            out[i] = select_u32(tiny, x, finish(sign, a, &s, s.nz & up, &P, GKA_RND_SP, &fl));     \
            flags |= fl & ~tiny;                                                                   \
            tiny_any |= tiny;                                                                      \
        }                                                                                          \
        if (tiny_any)                                                                              \
            for (size_t i = 0; i < n; i++) {                                                       \
                const uint32_t a = out[i] & ~F32_SIGN; /* kept: no result is in (0, q) */          \
                if (a != 0 && a < P.q_bits)                                                        \
                    flags |= stochastic_one(out + i, out[i], draws[i], &P, sp, varshift);          \
            }                                                                                      \
        return flags;                                                                              \
    }

GKA_SR_KERNEL(sr_sp_u, 1, 0)
GKA_SR_KERNEL(sr_sp_v, 1, 1)
GKA_SR_KERNEL(sr_se_u, 0, 0)
GKA_SR_KERNEL(sr_se_v, 0, 1)

/* Stochastic rounding of float32 patterns with the given draws. */
static unsigned stochastic_decide(uint32_t *out, const uint32_t *in, const uint64_t *draws,
                                  size_t n, const plan_t *P, const gka_rounding_t *r) {
    const int varshift = r->format.emin > -126;
    if (r->mode == GKA_RND_SP)
        return varshift ? sr_sp_v(out, in, draws, n, P) : sr_sp_u(out, in, draws, n, P);
    return varshift ? sr_se_v(out, in, draws, n, P) : sr_se_u(out, in, draws, n, P);
}

unsigned gka_round_f32_draws(uint32_t *out, const uint32_t *in, const uint64_t *draws, size_t n,
                             const gka_rounding_t *r) {
    const plan_t P = make_plan(r);
    return stochastic_decide(out, in, draws, n, &P, r);
}

static unsigned stochastic_block(uint32_t *out, const uint32_t *in, size_t n, const plan_t *P,
                                 const gka_rounding_t *r, uint64_t counter) {
    unsigned flags = 0;
    uint64_t draws[BLOCK];
    for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
        const size_t m = n - i0 < BLOCK ? n - i0 : BLOCK;
        philox_fill(draws, m, r->seed, r->stream, counter + i0);
        flags |= stochastic_decide(out + i0, in + i0, draws + 0, m, P, r);
    }
    return flags;
}

/* Per-element gka_round on a copy of the context positioned at `counter`. */
static unsigned scalar_block_f32(float *out, const float *in, size_t n, const gka_rounding_t *r,
                                 uint64_t counter) {
    gka_rounding_t local = *r;
    local.counter = counter;
    local.flags = 0;
    for (size_t i = 0; i < n; i++)
        out[i] = (float)gka_round((double)in[i], &local);
    return local.flags;
}

static unsigned scalar_block_f64(double *out, const double *in, size_t n, const gka_rounding_t *r,
                                 uint64_t counter) {
    gka_rounding_t local = *r;
    local.counter = counter;
    local.flags = 0;
    for (size_t i = 0; i < n; i++)
        out[i] = gka_round(in[i], &local);
    return local.flags;
}

/* How many of the patterns are not ordinary (|x| neither 0 nor in [lo, hi]). */
GKA_CLONES static size_t count_outside(const uint32_t *x, size_t n, uint32_t lo, uint32_t hi) {
    size_t count = 0;
    const uint32_t span = hi - lo;
    GKA_SIMD(reduction(+ : count))
    for (size_t i = 0; i < n; i++) {
        const uint32_t a = x[i] & ~F32_SIGN;
        count += (a != 0) & (a - lo > span);
    }
    return count;
}

/* The general rounding of any one pattern in the context's mode (the
 * branch-free kernel's body, with all flags). */
static uint32_t round_general(uint32_t x, const plan_t *P, const kernels_t *K, unsigned *flags) {
#define GKA_GENERAL(mode)                                                                          \
    case mode:                                                                                     \
        return K->varshift ? round_one(x, P, mode, 1, flags) : round_one(x, P, mode, 0, flags);
    switch (K->mode) {
        GKA_GENERAL(GKA_RND_NE)
        GKA_GENERAL(GKA_RND_NA)
        GKA_GENERAL(GKA_RND_NZ)
        GKA_GENERAL(GKA_RND_TP)
        GKA_GENERAL(GKA_RND_TN)
        GKA_GENERAL(GKA_RND_TZ)
        GKA_GENERAL(GKA_RND_OD)
    default:
        return x;
    }
#undef GKA_GENERAL
}

/* The general rounding, one pattern at a time, of the inputs the in-range
 * kernel copied into o unchanged (|x| > max: overflow candidates, Inf, NaN);
 * the others are rounded already. */
static unsigned fix_up(uint32_t *o, size_t m, const plan_t *P, const kernels_t *K) {
    unsigned flags = 0;
    for (size_t j = 0; j < m; j++)
        if ((o[j] & ~F32_SIGN) > P->max_bits) o[j] = round_general(o[j], P, K, &flags);
    return flags;
}

/* After the lean kernel reported a few misses: those rounded one by one
 * from x by the general code, and the INEXACT flag of the ordinary ones
 * taken again without them (a NaN's payload would raise it). */
static unsigned fix_up_from_input(uint32_t *o, const uint32_t *x, size_t m, const plan_t *P,
                                  const kernels_t *K) {
    const uint32_t span = P->max_bits - K->ord_lo, low = (1u << K->d) - 1;
    uint32_t lost = 0;
    GKA_SIMD(reduction(| : lost))
    for (size_t j = 0; j < m; j++) {
        const uint32_t a = x[j] & ~F32_SIGN;
        lost |= ((a == 0) | (a - K->ord_lo <= span)) ? x[j] : 0u;
    }
    unsigned flags = (lost & low) ? (unsigned)GKA_FLAG_INEXACT : 0u;
    /* the scalar scan only where a sub-block holds a miss */
    for (size_t j0 = 0; j0 < m; j0 += SUBBLOCK) {
        const size_t j1 = m - j0 < SUBBLOCK ? m : j0 + SUBBLOCK;
        if (!count_outside(x + j0, j1 - j0, K->ord_lo, P->max_bits)) continue;
        for (size_t j = j0; j < j1; j++) {
            const uint32_t a = x[j] & ~F32_SIGN;
            if (a == 0 || a - K->ord_lo <= span) continue;
            o[j] = x[j];
            flags |= K->range(o + j, o + j, 1, P) & ~ORDINARY_MISS; /* copies |x| > max */
            flags |= fix_up(o + j, 1, P, K);
        }
    }
    return flags;
}

/* The lean kernel's misses are redone one by one up to len / FEW_OUTSIDE
 * of them (a few NaNs, or fp16's rare subnormal-range values), else by the
 * in-range kernel over the block. */
enum { FEW_OUTSIDE = 256 };

/* Blocks that go straight to the in-range kernel after one where the
 * ordinary kernel missed (data with values in the subnormal range tend to
 * have them everywhere: e4m3 on uniform data has about 1/64). */
enum { RANGE_STAY = 8 };

/* The in-range kernel over the block (in place or not), then the inputs
 * above max by the general code: one by one when they are few, else the
 * general kernel over the block. */
static unsigned range_block(uint32_t *o, const uint32_t *x, size_t len, const plan_t *P,
                            const kernels_t *K) {
    const unsigned f = K->range(o, x, len, P);
    const unsigned flags = f & ~ORDINARY_MISS;
    if (!(f & ORDINARY_MISS)) return flags;
    if (count_outside(o, len, 0, P->max_bits) <= len / 16) return flags | fix_up(o, len, P, K);
    return flags | K->full(o, o, len, P);
}

/* Deterministic rounding of one block: the ordinary kernel (the 4-operation
 * rounding of 0 and [2^emin, max]); where some input was outside, the
 * in-range kernel over the block (it rounds the ordinary values again to
 * the same result: rounding is idempotent, so in place they come back
 * unchanged and flag nothing, their INEXACT was taken already), and the
 * inputs above max by the general code: one by one when they are few, else
 * the general kernel over the block. *range_next counts the blocks left
 * that skip the ordinary attempt. */
static unsigned deterministic_block(uint32_t *o, const uint32_t *x, size_t len, const plan_t *P,
                                    const kernels_t *K, int *range_next) {
    unsigned flags = 0;
    if (*range_next > 0) {
        (*range_next)--;
    } else {
        if (o != x) { /* out of place: the lean kernel; on a miss everything is redone */
            const unsigned f = K->lean(o, x, len, K->d, K->ord_lo, P->max_bits);
            if (!(f & ORDINARY_MISS)) return f;
            if (count_outside(x, len, K->ord_lo, P->max_bits) <= len / FEW_OUTSIDE)
                return fix_up_from_input(o, x, len, P, K);
        } else {
            const unsigned f = K->simple(o, x, len, K->d, K->ord_lo, P->max_bits);
            if (!(f & ORDINARY_MISS)) return f;
            flags = f & ~ORDINARY_MISS;
        }
        *range_next = RANGE_STAY;
    }
    return flags | range_block(o, x, len, P, K);
}

#ifdef GKA_HAVE_STREAM
/* Copy with non-temporal stores: the output of a large array goes straight
 * to memory instead of first being read into the cache (which costs a third
 * memory stream, and is what lets memcpy run faster than a plain loop). */
static void stream_copy(uint32_t *dst, const uint32_t *src, size_t n) {
    size_t i = 0;
    for (; i < n && ((uintptr_t)(dst + i) & 15u); i++)
        dst[i] = src[i];
    for (; i + 4 <= n; i += 4)
        _mm_stream_si128((__m128i *)(void *)(dst + i),
                         _mm_loadu_si128((const __m128i *)(const void *)(src + i)));
    for (; i < n; i++)
        dst[i] = src[i];
    _mm_sfence();
}
#endif

/* Round one block [start, start + len) of the float array. */
static unsigned f32_block(float *out, const float *in, size_t start, size_t len,
                          const gka_rounding_t *r, const plan_t *P, const kernels_t *K, int fast_sr,
                          int stream, int *range_next) {
    uint32_t *o = (uint32_t *)(void *)(out + start);
    const uint32_t *x = (const uint32_t *)(const void *)(in + start);
    if (K->full) {
#ifdef GKA_HAVE_STREAM
        if (stream) {
            uint32_t tmp[BLOCK]; /* stays in L1 */
            const unsigned flags = deterministic_block(tmp, x, len, P, K, range_next);
            stream_copy(o, tmp, len);
            return flags;
        }
#else
        (void)stream;
#endif
        return deterministic_block(o, x, len, P, K, range_next);
    }
    if (fast_sr) return stochastic_block(o, x, len, P, r, r->counter + start);
    return scalar_block_f32(out + start, in + start, len, r, r->counter + start);
}

/* The general rounding of one pattern for the wide kernels (ctx: a
 * wide_ctx_t, the plan and the kernels of the call). */
typedef struct {
    const plan_t *P;
    const kernels_t *K;
} wide_ctx_t;

static unsigned wide_fix(uint32_t *out, uint32_t x, const void *ctx) {
    const wide_ctx_t *c = ctx;
    unsigned flags = 0;
    *out = round_general(x, c->P, c->K, &flags);
    return flags;
}

/* Elements [start, end) of a deterministic rounding through the wide
 * kernel; the last partial group by the in-range kernel. */
static unsigned f32_wide(uint32_t *o, const uint32_t *x, size_t start, size_t end, const plan_t *P,
                         const kernels_t *K) {
    const wide_ctx_t ctx = {P, K};
    const int dense = P->flush_below == 0 && K->d >= 1; /* subnormals kept */
    const gka_wide_args_t args = {K->d,  K->ord_lo, P->max_bits,   wide_fix,     &ctx,
                                  dense, P->q_f,    P->sub_scale1, P->sub_scale2};
    unsigned flags = 0;
    /* a head up to the first 64-byte aligned output, so that the wide
     * stores never split a cache line (large malloc blocks start 16 bytes
     * past a page boundary); an output not even 4-byte aligned: all head */
    size_t head = (size_t)(-(uintptr_t)(o + start) & 63u) / sizeof *o;
    if (head > end - start || ((uintptr_t)(o + start) & 3u)) head = end - start;
    if (head) flags |= range_block(o + start, x + start, head, P, K);
    start += head;
    while (end - start >= GKA_WIDE_GROUP) {
        start += K->wide(o + start, x + start, end - start, &args, &flags);
        if (end - start < GKA_WIDE_GROUP) break;
        /* the wide kernel gave up on dense misses: RANGE_STAY blocks by the
         * in-range kernel before the next try */
        const size_t stay = end - start < RANGE_STAY * BLOCK ? end - start : RANGE_STAY * BLOCK;
        for (size_t j = 0; j < stay; j += BLOCK) {
            const size_t m = stay - j < BLOCK ? stay - j : BLOCK;
            flags |= range_block(o + start + j, x + start + j, m, P, K);
        }
        start += stay;
    }
    if (start < end) flags |= range_block(o + start, x + start, end - start, P, K);
    return flags;
}

/* Blocks [b0, b1) of the float array of n values, in order. */
static unsigned f32_blocks(float *out, const float *in, size_t n, size_t b0, size_t b1,
                           const gka_rounding_t *r, const plan_t *P, const kernels_t *K,
                           int fast_sr, int stream) {
    if (K->wide && !stream) { /* cache-resident: no non-temporal stores needed */
        const size_t end = b1 * BLOCK < n ? b1 * BLOCK : n;
        return f32_wide((uint32_t *)(void *)out, (const uint32_t *)(const void *)in, b0 * BLOCK,
                        end, P, K);
    }
    unsigned flags = 0;
    int range_next = 0;
    for (size_t b = b0; b < b1; b++) {
        const size_t start = b * BLOCK;
        const size_t len = n - start < BLOCK ? n - start : BLOCK;
        flags |= f32_block(out, in, start, len, r, P, K, fast_sr, stream, &range_next);
    }
    return flags;
}

/* The kernels' float arithmetic (the in-range kernel, the wide dense loop,
 * the conversion tricks, gka_round's doubles) assumes the default IEEE
 * environment. A caller running with flush-to-zero or denormals-are-zero
 * (a program linked with -ffast-math's crtfastmath.o sets both) would have
 * subnormal inputs read as zero and subnormal results flushed, and one with
 * unmasked exceptions would trap; so each thread runs its part under the
 * default control word (round to nearest, exceptions masked, no FTZ/DAZ)
 * and puts the caller's back afterwards. The control word is per thread;
 * where it already is the default, nothing is written. x86 (SSE) only:
 * elsewhere the caller's environment is used as it is. */
#if defined(__SSE2__)
enum { MXCSR_DEFAULT = 0x1F80u, MXCSR_STATUS = 0x3Fu };
static unsigned fpenv_enter(void) {
    const unsigned caller = _mm_getcsr();
    if ((caller & ~(unsigned)MXCSR_STATUS) != MXCSR_DEFAULT) _mm_setcsr(MXCSR_DEFAULT);
    return caller;
}
static void fpenv_leave(unsigned caller) {
    if ((caller & ~(unsigned)MXCSR_STATUS) != MXCSR_DEFAULT) _mm_setcsr(caller);
}
#else
static unsigned fpenv_enter(void) {
    return 0;
}
static void fpenv_leave(unsigned caller) {
    (void)caller;
}
#endif

/* Threads for an array of n values: one below `min` (waking a team costs
 * more than it saves), else the context's count or OpenMP's default. */
static int team_size(const gka_rounding_t *r, size_t n, size_t min) {
    if (n < min) return 1;
#ifdef _OPENMP
    return r->threads > 0 ? r->threads : omp_get_max_threads();
#else
    (void)r;
    return 1;
#endif
}

/* An invalid context or arguments: out filled with NaN, flags set. */
static gka_status_t refuse(gka_rounding_t *r, void *out, size_t n, size_t size) {
    if (r) r->flags |= GKA_FLAG_CONTEXT | GKA_FLAG_INVALID;
    if (out && size == sizeof(float))
        for (size_t i = 0; i < n; i++)
            ((float *)out)[i] = NAN;
    else if (out)
        for (size_t i = 0; i < n; i++)
            ((double *)out)[i] = NAN;
    return GKA_EINVAL;
}

static gka_status_t check_call(const void *out, const void *in, size_t n, const gka_rounding_t *r) {
    if (n > 0 && (!out || !in || !r))
        return gka_error(GKA_EINVAL, "gka_round_array: NULL %s with n = %zu",
                         !out ? "output" : (!in ? "input" : "context"), n);
    return gka_rounding_check(r);
}

gka_status_t gka_round_array_f32(float *out, const float *in, size_t n, gka_rounding_t *r) {
    if (check_call(out, in, n, r) != GKA_OK) return refuse(r, out, n, sizeof *out);
    if (n == 0) return GKA_OK;
    const unsigned env = fpenv_enter(); /* the plan's float constants too */
    const plan_t P = make_plan(r);
    const kernels_t K = pick_kernels(r, &P);
    const int fast_sr = is_stochastic(r->mode) && fits_float32(&r->format);
    const int stream = n >= STREAM_MIN;
    const size_t nblocks = (n + BLOCK - 1) / BLOCK;
    const int threads = team_size(r, n, PARALLEL_MIN);
    unsigned flags = 0;
    /* Small arrays skip the OpenMP construct altogether: even with a false
     * if clause, libgomp builds a team per call (malloc, futex), which cost
     * a quarter of the time of the emulated D x D updates (perf, c2). */
    if (threads == 1) {
        flags = f32_blocks(out, in, n, 0, nblocks, r, &P, &K, fast_sr, stream);
    } else {
#ifdef _OPENMP
        /* one contiguous range of blocks per thread (schedule(static)), so
         * that each keeps its kernel choice from block to block */
#pragma omp parallel reduction(| : flags) num_threads(threads)
        {
            const unsigned thread_env = fpenv_enter();
            const size_t id = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
            flags |= f32_blocks(out, in, n, nblocks * id / nt, nblocks * (id + 1) / nt, r, &P, &K,
                                fast_sr, stream);
            fpenv_leave(thread_env);
        }
#endif
    }
    fpenv_leave(env);
    r->flags |= flags;
    if (is_stochastic(r->mode)) r->counter += n;
    return GKA_OK;
}

/* ------------------------------------------------------------------------ */
/* Doubles                                                                  */
/* ------------------------------------------------------------------------ */

static uint64_t d2u(double x) {
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* The ordinary kernel over double patterns for a deterministic context:
 * |x| = 0 or in [2^emin, max] (fp64: [0, Inf], where rounding is a copy),
 * d = 53 - t dropped bits. NULL where there is none (stochastic modes). */
typedef struct {
    ordinary64_fn simple;
    uint64_t d, lo, hi;
} plan64_t;

static plan64_t plan_f64(const gka_rounding_t *r) {
    static const ordinary64_fn simple[] = {ord64_na, ord64_nz, ord64_ne, ord64_tp, ord64_tn,
                                           ord64_tz, NULL,     NULL,     ord64_od};
    plan64_t Q = {NULL, 0, 0, 0};
    const gka_format_t *f = &r->format;
    if (is_stochastic(r->mode)) return Q;
    if (f->t >= 53) { /* fp64: the identity, NaNs aside (made quiet by gka_round) */
        Q.simple = ord64_tz;
        Q.hi = d2u(INFINITY);
        return Q;
    }
    Q.simple = simple[(int)r->mode - GKA_RND_NA];
    Q.d = (uint64_t)(53 - f->t);
    Q.lo = d2u(f->min_normal);
    Q.hi = d2u(f->max);
    return Q;
}

/* One block of doubles: per sub-block the ordinary kernel, then gka_round
 * on the inputs it left (they are the outputs outside [lo, hi], zero aside). */
static unsigned f64_block(double *out, const double *in, size_t len, const gka_rounding_t *r,
                          const plan64_t *Q, uint64_t counter) {
    if (!Q->simple) return scalar_block_f64(out, in, len, r, counter);
    uint64_t *o = (uint64_t *)(void *)out;
    const uint64_t *x = (const uint64_t *)(const void *)in;
    const uint64_t span = Q->hi - Q->lo, sign = (uint64_t)1 << 63;
    unsigned flags = 0;
    for (size_t i = 0; i < len; i += SUBBLOCK) {
        const size_t m = len - i < SUBBLOCK ? len - i : SUBBLOCK;
        const unsigned f = Q->simple(o + i, x + i, m, Q->d, Q->lo, Q->hi);
        flags |= f & ~ORDINARY_MISS;
        if (!(f & ORDINARY_MISS)) continue;
        gka_rounding_t local = *r;
        local.flags = 0;
        for (size_t j = i; j < i + m; j++) {
            const uint64_t a = o[j] & ~sign;
            if (a != 0 && a - Q->lo > span) out[j] = gka_round(out[j], &local);
        }
        flags |= local.flags;
    }
    return flags;
}

/* Blocks [b0, b1) of the double array of n values, in order. */
static unsigned f64_blocks(double *out, const double *in, size_t n, size_t b0, size_t b1,
                           const gka_rounding_t *r, const plan64_t *Q) {
    unsigned flags = 0;
    for (size_t b = b0; b < b1; b++) {
        const size_t start = b * BLOCK;
        const size_t len = n - start < BLOCK ? n - start : BLOCK;
        flags |= f64_block(out + start, in + start, len, r, Q, r->counter + start);
    }
    return flags;
}

gka_status_t gka_round_array(double *out, const double *in, size_t n, gka_rounding_t *r) {
    if (check_call(out, in, n, r) != GKA_OK) return refuse(r, out, n, sizeof *out);
    if (n == 0) return GKA_OK;
    const unsigned env = fpenv_enter(); /* the plan's constants too */
    const plan64_t Q = plan_f64(r);
    const size_t nblocks = (n + BLOCK - 1) / BLOCK;
    const int threads = team_size(r, n, PARALLEL_MIN / 8);
    unsigned flags = 0;
    if (threads == 1) { /* no OpenMP construct for small arrays (see above) */
        flags = f64_blocks(out, in, n, 0, nblocks, r, &Q);
    } else {
#ifdef _OPENMP
#pragma omp parallel reduction(| : flags) num_threads(threads)
        {
            const unsigned thread_env = fpenv_enter();
            const size_t id = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
            flags |= f64_blocks(out, in, n, nblocks * id / nt, nblocks * (id + 1) / nt, r, &Q);
            fpenv_leave(thread_env);
        }
#endif
    }
    fpenv_leave(env);
    r->flags |= flags;
    if (is_stochastic(r->mode)) r->counter += n;
    return GKA_OK;
}
