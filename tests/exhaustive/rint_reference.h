/* An independent reference for rounding float32 values to a low-precision
 * format, used by the exhaustive sweep. It shares no code with the library:
 * it works on values in double, not on bit patterns, and lets the C library's
 * rint() (under fesetround) or an explicit tie test do the rounding.
 *
 * For a nonzero finite x with |x| in [2^E, 2^(E+1)), the format's spacing is
 * 2^Q with Q = max(E, emin) - t + 1. Then x * 2^-Q is exact in double, and
 * rounding it to an integer in the wanted mode and scaling back by 2^Q gives
 * x rounded on the format's grid with an unbounded exponent range above.
 * Range limits are applied afterwards, from the format's definition:
 * overflow (|y| > max) gives Inf (NaN for formats without Inf) for the
 * nearest modes and the away-from-zero directed side, max for the
 * toward-zero side, and max always when saturating; flushing turns a nonzero
 * result below 2^emin into a zero of x's sign.
 *
 * The caller sets the rounding mode with ref_set_mode() before calling
 * ref_round_block(), and restores it with ref_set_mode(REF_NE). */
#ifndef GKA_RINT_REFERENCE_H
#define GKA_RINT_REFERENCE_H

#include <fenv.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum { REF_NE, REF_NA, REF_TZ, REF_TP, REF_TN } ref_mode_t;

typedef struct {
    int t, emin, emax, has_inf; /* the format, from its definition */
    double max;                 /* largest finite value */
    ref_mode_t mode;
    int subnormals, saturate;
} ref_spec_t;

/* The C rounding mode that rint() must use for a mode (NA uses truncation
 * plus an explicit tie test). */
static inline int ref_fe_mode(ref_mode_t m) {
    switch (m) {
    case REF_TZ:
        return FE_TOWARDZERO;
    case REF_TP:
        return FE_UPWARD;
    case REF_TN:
        return FE_DOWNWARD;
    case REF_NA:
        return FE_TOWARDZERO;
    default:
        return FE_TONEAREST;
    }
}

static inline int ref_set_mode(ref_mode_t m) {
    return fesetround(ref_fe_mode(m));
}

/* Largest finite value of a format (t, emax), computed from the definition
 * (2 - 2^(1-t)) 2^emax, or 448 for e4m3 whose top significand pattern at
 * emax is NaN. */
static inline double ref_format_max(int t, int emax, int is_e4m3) {
    if (is_e4m3) return 448.0;
    return ldexp(2.0 - ldexp(1.0, 1 - t), emax);
}

/* The result of an overflow of a value of sign `neg`. */
static inline double ref_overflow(const ref_spec_t *s, int neg) {
    const double inf_or_nan = s->has_inf ? HUGE_VAL : (double)NAN;
    double big;
    if (s->saturate) {
        big = s->max;
    } else {
        switch (s->mode) {
        case REF_TZ:
            big = s->max;
            break;
        case REF_TP:
            big = neg ? s->max : inf_or_nan;
            break;
        case REF_TN:
            big = neg ? inf_or_nan : s->max;
            break;
        default:
            big = inf_or_nan;
            break;
        }
    }
    return neg ? -big : big;
}

/* Round to nearest, ties away from zero, of v: truncate (rint under
 * FE_TOWARDZERO), then step away from zero when the discarded part is at
 * least one half (v - k is exact). Written without branches so that the loop
 * below vectorises; k and the step have v's sign, so zeros keep it. */
static inline __attribute__((always_inline)) double ref_rint_na(double v) {
    const double k = rint(v);
    const double step = fabs(v - k) >= 0.5 ? 1.0 : 0.0;
    return k + copysign(step, v);
}

/* y[i] = x[i] rounded, for n values that share the spacing 2^Q (down = 2^-Q,
 * up = 2^Q): scale (exact), round to an integer, scale back (exact), then
 * the range rules. */
#define REF_BLOCK_BODY(method)                                                                     \
    _Pragma("omp simd") for (size_t i = 0; i < n; i++) {                                           \
        const double v = (double)x[i] * down;                                                      \
        double r = method(v) * up;                                                                 \
        r = fabs(r) > max ? (r > 0 ? ovf_pos : ovf_neg) : r;                                       \
        r = (r != 0 && fabs(r) < flush_below) ? copysign(0.0, r) : r;                              \
        y[i] = (float)r;                                                                           \
    }

#define REF_BLOCK_FN(name, attr)                                                                   \
    attr static void name(float *restrict y, const float *restrict x, size_t n, double down,       \
                          double up, double max, double ovf_pos, double ovf_neg,                   \
                          double flush_below, int na) {                                            \
        if (na) {                                                                                  \
            REF_BLOCK_BODY(ref_rint_na)                                                            \
        } else {                                                                                   \
            REF_BLOCK_BODY(rint)                                                                   \
        }                                                                                          \
    }

/* rint() is a library call on baseline x86-64; with SSE4.1 the compiler
 * uses roundpd, which like rint honours the mode set by fesetround. Same
 * results, several times faster. The calls sit between ref_set_mode()
 * calls in separate functions, so the compiler cannot move rounding across
 * a mode change (GCC ignores #pragma STDC FENV_ACCESS). */
REF_BLOCK_FN(ref_block_generic, __attribute__((noinline)))
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define REF_HAVE_SSE41 1
REF_BLOCK_FN(ref_block_sse41, __attribute__((noinline, target("sse4.1"))))
#endif

/* Round n float32 values that share one sign and one binary exponent E
 * (|x| in [2^E, 2^(E+1)), or all float32 subnormals/zeros when `sub`)
 * into y (as floats). All share the spacing 2^Q, so the scale factors are
 * computed once. y and x must not overlap. */
static void ref_round_block(float *y, const float *x, size_t n, int E, int sub,
                            const ref_spec_t *s) {
    const int e = sub ? -126 : E; /* float subnormals are below every emin here */
    const int Q = (e > s->emin ? e : s->emin) - s->t + 1;
    const double down = ldexp(1.0, -Q), up = ldexp(1.0, Q);
    const double flush_below = s->subnormals ? 0.0 : ldexp(1.0, s->emin);
    const double ovf_pos = ref_overflow(s, 0), ovf_neg = ref_overflow(s, 1);
#ifdef REF_HAVE_SSE41
    if (__builtin_cpu_supports("sse4.1")) {
        ref_block_sse41(y, x, n, down, up, s->max, ovf_pos, ovf_neg, flush_below,
                        s->mode == REF_NA);
        return;
    }
#endif
    ref_block_generic(y, x, n, down, up, s->max, ovf_pos, ovf_neg, flush_below, s->mode == REF_NA);
}

/* Round one special float32 (NaN, Inf) per the format's rules: NaN stays a
 * NaN of the same sign; Inf stays Inf, or becomes NaN (no Inf) or max
 * (saturating, no Inf). */
static inline float ref_round_special(float x, const ref_spec_t *s) {
    if (isnan(x)) return x;
    if (s->has_inf) return x;
    const double r = s->saturate ? s->max : (double)NAN;
    return (float)copysign(r, (double)x);
}

/* Whether got is what the reference wants: identical bits, except that any
 * NaN matches any NaN of the same sign (the contract says NaN in, NaN out,
 * sign kept; the payload is unspecified). */
static inline int ref_same(float want, float got) {
    if (isnan(want) || isnan(got))
        return isnan(want) && isnan(got) && signbit(want) == signbit(got);
    uint32_t a, b;
    memcpy(&a, &want, sizeof a);
    memcpy(&b, &got, sizeof b);
    return a == b;
}

#endif
