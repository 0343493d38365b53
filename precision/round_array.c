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
 * an AVX2 clone is added where the compiler supports target_clones). The
 * variable shift 2^d is formed by building the float 2^d and converting it to
 * an integer, which SSE2 can do on whole vectors.
 *
 * Two kernels per mode: sub-blocks of 512 inputs that are all "ordinary"
 * (|x| in [2^emin, max], or [0, max] for formats whose subnormal grid is
 * float32's own) round with one add and one mask; any other sub-block takes
 * the general kernel (variable spacing, tiny values, overflow, NaN/Inf,
 * flushing, all flags). Arrays of 2^21 values and more are written with
 * non-temporal stores (as memcpy does), from an L1 buffer per block.
 *
 * Semantics are those of gka_round (round.c) to the bit, flags included
 * (INEXACT, UNDERFLOW with tininess before rounding, OVERFLOW, INVALID,
 * FLUSHED); tests/unit/test_round_array.c checks results, flags and counters
 * against gka_round, and tests/exhaustive/test_round_sweep.c checks every
 * float32 pattern against an independent reference. Formats that are not
 * made of float32 values (fp64, custom with t > 24 or a wider exponent range)
 * fall back to gka_round per element, the result converted to float.
 *
 * Stochastic modes: element i draws gka_philox_u64(seed, stream, counter + i)
 * (computed by a vectorised copy of the generator), and the context's counter
 * advances by n, so splitting an array into chunks or threads never changes a
 * result. Large arrays are split over OpenMP threads in fixed blocks of 2048;
 * flags are OR-ed per block. */
#include "gka_precision.h"

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
#define GKA_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define GKA_CLONES
#endif

enum {
    F32_EXP_ONE = 0x00800000u, /* lowest exponent bit = implicit bit position */
    F32_INF = 0x7f800000u,
    F32_QNAN = 0x7fc00000u,
    F32_SIGN = 0x80000000u,
    BLOCK = 2048,            /* elements per block: flags, threads, streaming */
    SUBBLOCK = 512,          /* elements per ordinary/full kernel choice */
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

/* Given the sign, magnitude, its split and the round-up mask, the result
 * pattern; flags OR-ed into *flags. */
static inline __attribute__((always_inline)) uint32_t finish(uint32_t sign, uint32_t a,
                                                             const split_t *s, uint32_t up,
                                                             const plan_t *P, const int mode,
                                                             unsigned *flags) {
    const uint32_t negm = mask_of(sign != 0);
    uint32_t res = s->tr + (s->inc & up);
    const uint32_t finite = mask_of(a < F32_INF);
    const uint32_t ovf = finite & mask_of(res > P->max_bits);
    const uint32_t ovf_res = overflow_bits(P, negm, mode);
    const uint32_t ovf_nan = ovf & mask_of(ovf_res == F32_QNAN);
    res = select_u32(ovf, ovf_res, res);
    const uint32_t flushed = finite & mask_of(res != 0) & mask_of(res < P->flush_below);
    res &= ~flushed;
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

/* The common case, a whole block of "ordinary" inputs: |x| in
 * [ord_lo, max] (no NaN/Inf, no overflow possible, and for formats with
 * their own subnormal range or when flushing, nothing below 2^emin), so the
 * spacing is 2^d everywhere and the only flag is INEXACT. Rounding then is
 * one add and one mask on the pattern, sign included (the carry never
 * reaches the sign bit). */
static inline __attribute__((always_inline)) uint32_t round_ordinary(uint32_t x, uint32_t d,
                                                                     const int mode) {
    const uint32_t p = 1u << d, low = p - 1, half = p >> 1;
    const uint32_t negm = mask_of((x >> 31) != 0);
    switch (mode) {
    case GKA_RND_NE:
        return (x + (half - 1) + ((x >> d) & 1)) & ~low;
    case GKA_RND_NA:
        return (x + half) & ~low;
    case GKA_RND_NZ:
        return (x + half - 1) & ~low;
    case GKA_RND_TP:
        return (x + (low & ~negm)) & ~low;
    case GKA_RND_TN:
        return (x + (low & negm)) & ~low;
    case GKA_RND_TZ:
        return x & ~low;
    case GKA_RND_OD:
        return (x & ~low) | (mask_of((x & low) != 0) & p);
    default:
        return x;
    }
}

/* Returns the INEXACT flag, or ORDINARY_MISS when some input was not
 * ordinary (its output is then wrong and the caller redoes the sub-block
 * with the full kernel, from the input: so only when out != in). */
#define ORDINARY_MISS 0x80000000u
#define GKA_ORDINARY_KERNEL(name, mode)                                                            \
    GKA_CLONES static unsigned name(uint32_t *out, const uint32_t *in, size_t n, uint32_t d,       \
                                    uint32_t lo, uint32_t hi) {                                    \
        uint32_t lost = 0, miss = 0;                                                               \
        const uint32_t low = (1u << d) - 1, span = hi - lo;                                        \
        GKA_SIMD(reduction(| : lost, miss))                                                        \
        for (size_t i = 0; i < n; i++) {                                                           \
            const uint32_t x = in[i];                                                              \
            lost |= x & low;                                                                       \
            miss |= mask_of(((x & ~F32_SIGN) - lo) > span);                                        \
            out[i] = round_ordinary(x, d, mode);                                                   \
        }                                                                                          \
        if (miss) return ORDINARY_MISS;                                                            \
        return lost ? (unsigned)GKA_FLAG_INEXACT : 0u;                                             \
    }

GKA_ORDINARY_KERNEL(ord_ne, GKA_RND_NE)
GKA_ORDINARY_KERNEL(ord_na, GKA_RND_NA)
GKA_ORDINARY_KERNEL(ord_nz, GKA_RND_NZ)
GKA_ORDINARY_KERNEL(ord_tp, GKA_RND_TP)
GKA_ORDINARY_KERNEL(ord_tn, GKA_RND_TN)
GKA_ORDINARY_KERNEL(ord_tz, GKA_RND_TZ)
GKA_ORDINARY_KERNEL(ord_od, GKA_RND_OD)

/* Whether some |x| of the block lies outside [lo, hi]. */
GKA_CLONES static int any_outside(const uint32_t *in, size_t n, uint32_t lo, uint32_t hi) {
    uint32_t out = 0;
    const uint32_t span = hi - lo;
    GKA_SIMD(reduction(| : out))
    for (size_t i = 0; i < n; i++)
        out |= mask_of(((in[i] & ~F32_SIGN) - lo) > span);
    return out != 0;
}

typedef unsigned (*kernel_fn)(uint32_t *, const uint32_t *, size_t, const plan_t *);
typedef unsigned (*ordinary_fn)(uint32_t *, const uint32_t *, size_t, uint32_t, uint32_t, uint32_t);

typedef struct {
    kernel_fn full;     /* any input */
    ordinary_fn simple; /* blocks of ordinary inputs only */
    uint32_t ord_lo;    /* ordinary |x| patterns: [ord_lo, max_bits] */
} kernels_t;

/* The deterministic kernels for the context; full = NULL for a stochastic
 * mode or a format outside float32. */
static kernels_t pick_kernels(const gka_rounding_t *r, const plan_t *P) {
    kernels_t K = {NULL, NULL, 0};
    if (!fits_float32(&r->format)) return K;
    /* emin = -126: the grid spacing is constant in pattern units everywhere
     * (float subnormals included), no variable shift needed. */
    const int v = r->format.emin > -126;
    K.ord_lo = (v || !r->subnormals) ? P->minn_bits : 0;
    switch (r->mode) {
    case GKA_RND_NE:
        K.full = v ? kern_ne_v : kern_ne_u;
        K.simple = ord_ne;
        break;
    case GKA_RND_NA:
        K.full = v ? kern_na_v : kern_na_u;
        K.simple = ord_na;
        break;
    case GKA_RND_NZ:
        K.full = v ? kern_nz_v : kern_nz_u;
        K.simple = ord_nz;
        break;
    case GKA_RND_TP:
        K.full = v ? kern_tp_v : kern_tp_u;
        K.simple = ord_tp;
        break;
    case GKA_RND_TN:
        K.full = v ? kern_tn_v : kern_tn_u;
        K.simple = ord_tn;
        break;
    case GKA_RND_TZ:
        K.full = v ? kern_tz_v : kern_tz_u;
        K.simple = ord_tz;
        break;
    case GKA_RND_OD:
        K.full = v ? kern_od_v : kern_od_u;
        K.simple = ord_od;
        break;
    default:
        break;
    }
    if (P->d0 == 0) K.simple = NULL; /* t = 24: nothing to round, no half-spacing bias */
    return K;
}

static int is_stochastic(gka_round_mode_t mode) {
    return mode == GKA_RND_SP || mode == GKA_RND_SE;
}

/* Philox 4x32-10 words 0 and 1 at counters counter .. counter + n - 1 of
 * (seed, stream): the same numbers as gka_philox_u64 (philox.c; the unit
 * test checks it), written as a plain loop over independent counters so
 * that the compiler vectorises the 32x32->64 products. */
GKA_CLONES static void philox_fill(uint64_t *out, size_t n, uint64_t seed, uint64_t stream,
                                   uint64_t counter) {
    const uint32_t s0 = (uint32_t)seed, s1 = (uint32_t)(seed >> 32);
    const uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
    GKA_SIMD()
    for (size_t i = 0; i < n; i++) {
        const uint64_t ctr = counter + i;
        uint32_t x0 = (uint32_t)ctr, x1 = (uint32_t)(ctr >> 32), x2 = c2, x3 = c3;
        uint32_t k0 = s0, k1 = s1;
#pragma GCC unroll 10
        for (int round = 0; round < 10; round++) {
            const uint64_t p0 = (uint64_t)0xD2511F53u * x0;
            const uint64_t p1 = (uint64_t)0xCD9E8D57u * x2;
            const uint32_t n0 = (uint32_t)(p1 >> 32) ^ x1 ^ k0;
            const uint32_t n2 = (uint32_t)(p0 >> 32) ^ x3 ^ k1;
            x1 = (uint32_t)p1;
            x3 = (uint32_t)p0;
            x0 = n0;
            x2 = n2;
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        out[i] = (uint64_t)x0 | ((uint64_t)x1 << 32);
    }
}

/* Stochastic rounding of float32 patterns: the grid split is the one of the
 * deterministic kernels; the decision uses the draw exactly as gka_round
 * does (SP: 53 random bits against the exact fraction; SE: the top bit). */
static unsigned stochastic_block(uint32_t *out, const uint32_t *in, size_t n, const plan_t *P,
                                 const gka_rounding_t *r, uint64_t counter) {
    const int varshift = r->format.emin > -126;
    const int sp = r->mode == GKA_RND_SP;
    unsigned flags = 0;
    uint64_t draws[BLOCK];
    for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
        const size_t m = n - i0 < BLOCK ? n - i0 : BLOCK;
        philox_fill(draws, m, r->seed, r->stream, counter + i0);
        for (size_t j = 0; j < m; j++) {
            const uint64_t k = draws[j];
            const uint32_t x = in[i0 + j];
            const uint32_t sign = x & F32_SIGN;
            const uint32_t a = x & ~F32_SIGN;
            const split_t s = varshift ? split(a, P, 1) : split(a, P, 0);
            int up;
            const int nz = s.nz != 0;
            if (sp) {
                /* (|x| - lower) / spacing, exact in double: the discarded
                 * pattern bits over 2^d, or |x| / q for tiny magnitudes */
                const int tiny = varshift && a < P->q_bits;
                const double frac = tiny ? (double)u2f(a) / (double)u2f(P->q_bits)
                                         : (double)(a - s.tr) / (double)s.inc;
                up = nz && (double)(k >> 11) * 0x1p-53 < frac;
            } else {
                up = nz && (int)(k >> 63);
            }
            out[i0 + j] = finish(sign, a, &s, mask_of(up), P, GKA_RND_SP, &flags);
        }
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

/* Deterministic rounding of one block: per sub-block, the ordinary kernel
 * when every input is ordinary, the full kernel otherwise. */
static unsigned deterministic_block(uint32_t *o, const uint32_t *x, size_t len, const plan_t *P,
                                    const kernels_t *K) {
    unsigned flags = 0;
    for (size_t i = 0; i < len; i += SUBBLOCK) {
        const size_t m = len - i < SUBBLOCK ? len - i : SUBBLOCK;
        if (K->simple && o != x) { /* one pass; redo from the input if needed */
            const unsigned f = K->simple(o + i, x + i, m, P->d0, K->ord_lo, P->max_bits);
            flags |= f != ORDINARY_MISS ? f : K->full(o + i, x + i, m, P);
        } else if (K->simple && !any_outside(x + i, m, K->ord_lo, P->max_bits)) {
            flags |= K->simple(o + i, x + i, m, P->d0, K->ord_lo, P->max_bits);
        } else {
            flags |= K->full(o + i, x + i, m, P);
        }
    }
    return flags;
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
                          int stream) {
    uint32_t *o = (uint32_t *)(void *)(out + start);
    const uint32_t *x = (const uint32_t *)(const void *)(in + start);
    if (K->full) {
#ifdef GKA_HAVE_STREAM
        if (stream) {
            uint32_t tmp[BLOCK]; /* stays in L1 */
            const unsigned flags = deterministic_block(tmp, x, len, P, K);
            stream_copy(o, tmp, len);
            return flags;
        }
#else
        (void)stream;
#endif
        return deterministic_block(o, x, len, P, K);
    }
    if (fast_sr) return stochastic_block(o, x, len, P, r, r->counter + start);
    return scalar_block_f32(out + start, in + start, len, r, r->counter + start);
}

void gka_round_array_f32(float *out, const float *in, size_t n, gka_rounding_t *r) {
    if (!out || !in || !r || n == 0) return;
    const plan_t P = make_plan(r);
    const kernels_t K = pick_kernels(r, &P);
    const int fast_sr = is_stochastic(r->mode) && fits_float32(&r->format);
    const int stream = n >= STREAM_MIN;
    const size_t nblocks = (n + BLOCK - 1) / BLOCK;
    unsigned flags = 0;
    /* Small arrays skip the OpenMP construct altogether: even with a false
     * if clause, libgomp builds a team per call (malloc, futex), which cost
     * a quarter of the time of the emulated D x D updates (perf, c2). */
    if (n < PARALLEL_MIN) {
        for (size_t b = 0; b < nblocks; b++) {
            const size_t start = b * BLOCK;
            const size_t len = n - start < BLOCK ? n - start : BLOCK;
            flags |= f32_block(out, in, start, len, r, &P, &K, fast_sr, stream);
        }
    } else {
#ifdef _OPENMP
#pragma omp parallel for schedule(static) reduction(| : flags)
#endif
        for (size_t b = 0; b < nblocks; b++) {
            const size_t start = b * BLOCK;
            const size_t len = n - start < BLOCK ? n - start : BLOCK;
            flags |= f32_block(out, in, start, len, r, &P, &K, fast_sr, stream);
        }
    }
    r->flags |= flags;
    if (is_stochastic(r->mode)) r->counter += n;
}

void gka_round_array(double *out, const double *in, size_t n, gka_rounding_t *r) {
    if (!out || !in || !r || n == 0) return;
    const size_t nblocks = (n + BLOCK - 1) / BLOCK;
    unsigned flags = 0;
    if (n < PARALLEL_MIN / 8) { /* no OpenMP construct for small arrays (see above) */
        for (size_t b = 0; b < nblocks; b++) {
            const size_t start = b * BLOCK;
            const size_t len = n - start < BLOCK ? n - start : BLOCK;
            flags |= scalar_block_f64(out + start, in + start, len, r, r->counter + start);
        }
    } else {
#ifdef _OPENMP
#pragma omp parallel for schedule(static) reduction(| : flags)
#endif
        for (size_t b = 0; b < nblocks; b++) {
            const size_t start = b * BLOCK;
            const size_t len = n - start < BLOCK ? n - start : BLOCK;
            flags |= scalar_block_f64(out + start, in + start, len, r, r->counter + start);
        }
    }
    r->flags |= flags;
    if (is_stochastic(r->mode)) r->counter += n;
}
