/* Emulated floating-point formats and rounding.
 *
 * A value of an emulated format is carried in a double that holds exactly a
 * number of that format (every format here has t <= 26 significant bits and an
 * exponent range inside double's, so this is always possible). Rounding takes a
 * double, or a double plus the sign of a discarded tail (so that operations on
 * format values round once, from the exact result), to the nearest value of the
 * format under a rounding mode.
 *
 * Formats are complete constant values (CPFloat style): every derived quantity
 * is filled in. Rounding-mode codes are those of chop / CPFloat. */
#ifndef GKA_PRECISION_H
#define GKA_PRECISION_H

#include <stddef.h>
#include <stdint.h>

#include "gka_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Formats                                                                  */
/* ------------------------------------------------------------------------ */

enum { GKA_FORMAT_NAME_MAX = 32, GKA_FORMAT_T_MAX = 26, GKA_FORMAT_EXP_MAX = 500 };

typedef struct gka_format {
    char name[GKA_FORMAT_NAME_MAX]; /* "bf16", "fp16", ..., or "custom:t,emin,emax" */
    int t;                          /* precision: significant bits, implicit bit included */
    int emin;                       /* smallest normal is 2^emin */
    int emax;                       /* largest finite lies in [2^emax, 2^(emax+1)) */
    int has_inf;                    /* 0 for OFP8 e4m3 (no infinities) */
    int storage_bits;               /* bits of the interchange encoding (0 for custom) */
    double u;                       /* unit roundoff 2^-t */
    double eps;                     /* machine epsilon 2^(1-t) */
    double max;                     /* largest finite value (448 for e4m3) */
    double min_normal;              /* 2^emin */
    double min_subnormal;           /* 2^(emin - t + 1) */
} gka_format_t;

extern const gka_format_t gka_fp64; /* native double (t = 53): rounding is the identity */
extern const gka_format_t gka_fp32;
extern const gka_format_t gka_tf32;
extern const gka_format_t gka_bf16;
extern const gka_format_t gka_fp16;
extern const gka_format_t gka_e4m3;
extern const gka_format_t gka_e5m2;

/* Built-in formats (t, emin, emax, largest finite):
 *   fp64  53, -1022, 1023, (2-2^-52) 2^1023   native double: rounding is the identity
 *   fp32  24,  -126,  127, (2-2^-23) 2^127
 *   tf32  11,  -126,  127, (2-2^-10) 2^127    NVIDIA TensorFloat-32 (19 bits used)
 *   bf16   8,  -126,  127, (2-2^-7)  2^127
 *   fp16  11,   -14,   15, 65504
 *   e4m3   4,    -6,    8, 448                OFP8: no infinities, S.1111.111 is NaN
 *   e5m2   3,   -14,   15, 57344              OFP8, IEEE-like (has infinities)
 * Custom formats have has_inf = 1 and storage_bits = 0.
 *
 * Look a format up by name: fp64, fp32, tf32, bf16, fp16, e4m3 (fp8-e4m3),
 * e5m2 (fp8-e5m2), or "custom:t,emin,emax" (e.g. "custom:26,-126,127").
 * Unknown names and out-of-range custom parameters give GKA_EINVAL with a
 * message naming the problem. */
gka_status_t gka_format_by_name(const char *name, gka_format_t *out);

/* A custom format: 2 <= t <= 26, emin < 0 < emax, |emin|, emax <= 500 (so
 * that products and quotients of format values are exact or finite in
 * double). Every field of *out is set. */
gka_status_t gka_format_custom(int t, int emin, int emax, gka_format_t *out);

/* The named built-in formats, in display order, for listings. */
const gka_format_t *const *gka_format_list(size_t *count);

/* Interchange encoding of a value of a built-in format (storage_bits > 0):
 * sign, exponent field with bias 1 - emin, fraction field of t - 1 bits
 * (tf32: the 19 bits sign.8.10, i.e. the float32 pattern >> 13). NaN is
 * encoded as the quiet NaN S.1..1.10..0 (e4m3: S.1111.111). GKA_EINVAL if
 * the format has no encoding or x is not a value of the format (not
 * representable, or Inf in e4m3). */
gka_status_t gka_format_encode(const gka_format_t *format, double x, uint64_t *bits);

/* The value of an encoding (bits above storage_bits ignored); NaN
 * encodings decode to a quiet NaN of their sign. */
double gka_format_decode(const gka_format_t *format, uint64_t bits);

/* ------------------------------------------------------------------------ */
/* Rounding                                                                 */
/* ------------------------------------------------------------------------ */

/* Numeric codes of chop / CPFloat. */
typedef enum {
    GKA_RND_NA = -1, /* round to nearest, ties away from zero */
    GKA_RND_NZ = 0,  /* round to nearest, ties toward zero */
    GKA_RND_NE = 1,  /* round to nearest, ties to even (default) */
    GKA_RND_TP = 2,  /* toward +infinity */
    GKA_RND_TN = 3,  /* toward -infinity */
    GKA_RND_TZ = 4,  /* toward zero */
    GKA_RND_SP = 5,  /* stochastic, probability proportional to distance */
    GKA_RND_SE = 6,  /* stochastic, equal probabilities */
    GKA_RND_OD = 7   /* round to odd */
} gka_round_mode_t;

/* Short names: "ne" (also "rne"), "na", "nz", "tp"/"ru", "tn"/"rd", "tz"/"rz",
 * "sp"/"sr", "se", "od". */
gka_status_t gka_round_mode_by_name(const char *name, gka_round_mode_t *out);
const char *gka_round_mode_name(gka_round_mode_t mode);

/* Exception flags, accumulated (OR-ed) in a rounding context. */
enum {
    GKA_FLAG_INEXACT = 1u << 0,
    GKA_FLAG_UNDERFLOW =
        1u << 1, /* a nonzero result was rounded to zero or is subnormal and inexact */
    GKA_FLAG_OVERFLOW = 1u << 2, /* a finite result exceeded max (became Inf, NaN or max) */
    GKA_FLAG_INVALID = 1u << 3,  /* a NaN was produced from non-NaN operands */
    GKA_FLAG_FLUSHED = 1u << 4,  /* a subnormal result was flushed to zero */
    GKA_FLAG_CONTEXT = 1u << 5   /* refused: the context is invalid (see gka_rounding_check) */
};

/* A rounding context: format, mode, options, stochastic-rounding generator and
 * flags. Stochastic rounding draws from a counter-based generator (Philox
 * 4x32-10) keyed by (seed, stream) at position `counter`; each stochastic
 * rounding consumes one counter value, so a context used by one thread gives
 * the same results whatever other threads do. Threads use separate contexts
 * (different `stream`). */
typedef struct gka_rounding {
    gka_format_t format;
    gka_round_mode_t mode;
    int subnormals;  /* 1: keep subnormals; 0: flush subnormal results to zero */
    int saturate;    /* 1: overflow gives +-max; 0: +-Inf (NaN for e4m3) */
    uint64_t seed;   /* stochastic rounding: key */
    uint64_t stream; /* stochastic rounding: independent sub-stream (e.g. thread, token) */
    uint64_t counter;
    unsigned flags;
    int threads; /* array functions: 0 = OpenMP's default team, n >= 1 = at most n threads */
} gka_rounding_t;

/* A complete context: RNE, subnormals kept, overflow to infinity (to NaN for
 * e4m3, as in OFP8 non-saturating mode), seed 0, stream 0, counter 0, flags
 * clear, threads 0. format NULL means fp64. */
gka_rounding_t gka_rounding_default(const gka_format_t *format);

/* Whether a context is valid, with a message naming the wrong field and its
 * value (GKA_EINVAL): mode one of the gka_round_mode_t codes; subnormals and
 * saturate 0 or 1; threads >= 0; the format one of the built-in formats or
 * exactly what gka_format_custom makes of its (t, emin, emax) (every derived
 * field checked, the name excepted).
 *
 * How the rounding functions refuse an invalid context (the fast paths stay
 * fast: the scalar functions test only what they read, a few compares, and
 * the array functions run the full check once per call):
 *   gka_round, gka_round_tail and the scalar arithmetic test mode, subnormals,
 *   saturate and the format's t, emin and emax; if one is out of range they
 *   return NaN, set GKA_FLAG_CONTEXT | GKA_FLAG_INVALID in r->flags, leave
 *   r->counter alone and leave gka_rounding_check's message in
 *   gka_error_message(). A format whose derived fields (max, ...) disagree
 *   with t, emin, emax is caught by gka_rounding_check and the array
 *   functions only.
 *   gka_round_array_f32 and gka_round_array run gka_rounding_check: on an
 *   invalid context (or NULL pointers with n > 0) they return GKA_EINVAL,
 *   fill out with NaN (when it is not NULL), set the same two flags and leave
 *   the counter alone. */
gka_status_t gka_rounding_check(const gka_rounding_t *r);

/* The result of an overflow (a finite value whose rounding exceeds max) of a
 * positive (negative = 0) or negative value under the context's mode and
 * options, from the format's definition: +-max when saturating or when the
 * mode rounds toward zero on that side (TZ, OD, TP for negatives, TN for
 * positives), otherwise +-Inf, or NaN of that sign for formats without
 * infinities (e4m3). The rule gka_round applies. */
double gka_overflow_value(const gka_rounding_t *r, int negative);

/* Round x to the context's format. Exact semantics (checked against MPFR):
 *
 * Finite x is rounded once, on the grid of the format with subnormals
 * (spacing 2^(max(e,emin)-t+1) for |x| in [2^e, 2^(e+1))) and an unbounded
 * exponent range above (so for e4m3 the grid includes 480, the NaN encoding).
 *   NE/NA/NZ: nearest, ties to even / away from zero / toward zero;
 *   TP/TN/TZ: directed; OD: the neighbour with an odd last significand bit
 *   (x itself if representable);
 *   SP: up with probability (x - down)/(up - down), compared with 53 random
 *   bits (the probability is exact to 2^-53); SE: up or down with
 *   probability 1/2 when x is not representable.
 * Overflow (|rounded| > max): NE/NA/NZ -> +-Inf, TZ/OD -> +-max, TP -> +Inf
 *   for positive and -max for negative, TN symmetric, SP/SE -> +-Inf;
 *   saturate = 1 -> +-max always. Formats without infinities (e4m3): every
 *   would-be Inf is NaN (saturate = 0) or +-max (saturate = 1).
 * Subnormals flushed (subnormals = 0): the result is first rounded as above;
 *   if it is a nonzero subnormal it becomes a zero of the same sign
 *   (FLUSHED | UNDERFLOW | INEXACT). Subnormal inputs are not treated
 *   specially otherwise (no denormals-are-zero).
 * Specials: NaN -> quiet NaN of the same sign whatever the payload (no
 *   flag); +-Inf -> +-Inf (e4m3: NaN with INVALID, or +-max with INEXACT
 *   when saturate); +-0 -> +-0; a result rounded to zero keeps x's sign.
 * Flags OR-ed into r->flags: INEXACT (result != x), UNDERFLOW (inexact and
 *   |x| < 2^emin: tininess before rounding), OVERFLOW (finite x, rounded
 *   magnitude > max), INVALID (a NaN produced from a non-NaN: e4m3 overflow
 *   or Inf without saturation), FLUSHED.
 * Stochastic modes: EVERY call (whatever x, NaN and exact values included)
 *   consumes exactly one counter value: the draw is
 *   gka_philox_u64(r->seed, r->stream, r->counter) and then r->counter += 1.
 *   Deterministic modes leave r->counter alone.
 * fp64 (t = 53): the identity (no flags, counter still consumed in stochastic
 *   modes). */
double gka_round(double x, gka_rounding_t *r);

/* Round the real number x + tail, where tail is a value of magnitude at most
 * half an ulp of x in double (as the low part of TwoSum) that is only known
 * by its sign (tail_sign in {-1, 0, +1}; tail_sign = 0 is gka_round). For
 * t <= 26 this is exact: x + tail is then never a (t+1)-bit number unless
 * tail = 0, so x's side of every rounding boundary is decided by x, or by
 * the sign of the tail when x is on the boundary. Used to round exact results from
 * error-free transformations once: the tail decides exact ties in double,
 * directed modes and odd rounding when x lies on the format's grid, and
 * tininess. Stochastic rounding uses x alone for the probability (the tail
 * changes it by less than 2^(t-52)) except that an x on the grid with a
 * nonzero tail is inexact (SE draws between the true neighbours). For fp64
 * the tail (assumed below half an ulp) is applied with one double ulp step
 * where the mode asks for it (TP, TN, TZ, OD, SE). */
double gka_round_tail(double x, int tail_sign, gka_rounding_t *r);

/* Round n float32 values to the context's format, out[i] = round(in[i]) as a
 * float (all formats here except fp64 are subsets of float32 values). Element
 * i of a stochastic rounding uses counter value r->counter + i; afterwards
 * r->counter += n. Flags of all elements are OR-ed into r->flags. Every
 * format made of float32 values (bf16, fp16, tf32, fp8, fp32, custom formats
 * with t <= 24 inside float32's range) has a vectorised path on the bit
 * patterns in the deterministic modes and a vectorised generator in the
 * stochastic ones; other formats round element by element with gka_round. in == out is allowed.
 * Arrays of 2^16 values and more are split over r->threads OpenMP threads
 * (0: OpenMP's default); results never depend on the thread count. Returns
 * GKA_OK, or GKA_EINVAL for an invalid context (gka_rounding_check). On
 * x86 both array functions run under the default floating-point
 * environment whatever the caller's (flush-to-zero, denormals-are-zero, a
 * directed rounding mode or unmasked exceptions are set aside for the call
 * and restored after it); the scalar gka_round uses the caller's, which
 * must be the default one for subnormal inputs and results. */
gka_status_t gka_round_array_f32(float *out, const float *in, size_t n, gka_rounding_t *r);

/* The x86-64 instruction set of gka_round_array_f32's wide kernels, which
 * round arrays of fewer than 2^21 values (cache-resident ones) in the
 * deterministic modes, 64 values per step: "avx512f", "avx2" or "off" (the
 * per-block kernels only: another CPU or compiler). It is the best the CPU
 * supports, lowered by the environment variable GKA_ROUND_WIDE=avx2|off,
 * read once per process. It selects speed only: every choice gives the same
 * bits and flags (tests/unit/test_round_array.c runs under each). */
const char *gka_round_array_isa(void);

/* Same over doubles, out[i] = gka_round(in[i]) bit for bit, flags and
 * counter alike. Deterministic modes on formats with t <= 26 (and fp64)
 * take a vectorised path on the double bit patterns for blocks whose
 * magnitudes are all 0 or in [2^emin, max] (one add and one mask per value);
 * other blocks, and stochastic modes, go through gka_round per element.
 * Arrays of 2^13 values and more are split over r->threads threads. */
gka_status_t gka_round_array(double *out, const double *in, size_t n, gka_rounding_t *r);

/* ------------------------------------------------------------------------ */
/* Scalar arithmetic: exactly one rounding to the context's format.         */
/* Operands must be values of the format (results of gka_round or these).   */
/* The exact result is formed with error-free transformations in double     */
/* (t <= 26: products are exact; sums, quotients and square roots carry the */
/* sign of their remainder) and rounded once with gka_round_tail. fp64      */
/* format: native double operations (round to nearest even whatever the    */
/* mode). Invalid operations (Inf-Inf, 0*Inf, 0/0, sqrt of negative) give   */
/* NaN with GKA_FLAG_INVALID; x/0 gives signed Inf (e4m3: NaN, or max if    */
/* saturating). The sign of a NaN produced by an operation is unspecified  */
/* (as in IEEE 754). Stochastic modes consume one counter value per         */
/* operation, whatever the operands.                                        */
/* ------------------------------------------------------------------------ */

double gka_add(double a, double b, gka_rounding_t *r);
double gka_sub(double a, double b, gka_rounding_t *r);
double gka_mul(double a, double b, gka_rounding_t *r);
double gka_div(double a, double b, gka_rounding_t *r);
double gka_sqrt(double a, gka_rounding_t *r);
double gka_fma(double a, double b, double c, gka_rounding_t *r); /* a*b + c */

/* ------------------------------------------------------------------------ */
/* Counter-based random numbers (Philox 4x32-10).                           */
/* ------------------------------------------------------------------------ */

/* The Philox 4x32-10 bijection of Salmon et al. (Random123), checked against
 * Random123's known-answer vectors. */
void gka_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Generators keyed by key = (seed lo, seed hi) with counter block
 * (counter lo, counter hi, stream lo, stream hi): every (seed, stream,
 * counter) gives an independent block. */

/* 64 random bits at position `counter` of stream (seed, stream): words 0 and
 * 1 of the block, word 0 in the low half. */
uint64_t gka_philox_u64(uint64_t seed, uint64_t stream, uint64_t counter);

/* Uniform double in [0, 1) with 53 random bits. */
double gka_philox_uniform(uint64_t seed, uint64_t stream, uint64_t counter);

/* Standard normal deviate (Box-Muller from the two 64-bit halves of the one
 * block at `counter`). */
double gka_philox_normal(uint64_t seed, uint64_t stream, uint64_t counter);

#ifdef __cplusplus
}
#endif
#endif
