/* Scalar arithmetic rounded once to an emulated format. The exact result is
 * carried as a double plus the sign of its remainder (error-free
 * transformations), then rounded by gka_round_tail: never round a rounded
 * double again without its tail (double rounding). Exactness relies on the
 * format limits t <= 26 and |emin|, emax <= 500: products of two format
 * values fit in a double exactly (their lowest bit is >= 2^(2(emin-t+1))
 * >= 2^-1050), TwoSum cannot overflow, and the remainders of division and
 * square root are representable wherever they can change the rounding
 * (a quotient below 2^-1022 is far below half the format's smallest
 * subnormal, so only its sign matters). */
#include "gka_precision.h"

#include <math.h>

static int sign_of(double v) {
    return (v > 0) - (v < 0);
}

static int is_fp64(const gka_rounding_t *r) {
    return r->format.t >= 53;
}

/* A NaN made from non-NaN operands: INVALID, and the one counter draw that
 * every operation consumes in stochastic modes. */
static double invalid_result(gka_rounding_t *r) {
    double y = gka_round(NAN, r);
    r->flags |= GKA_FLAG_INVALID;
    return y;
}

/* Round a natively computed non-finite-operand result. */
static double round_special(double y, int operands_nan, gka_rounding_t *r) {
    if (isnan(y) && !operands_nan) return invalid_result(r);
    return gka_round(y, r);
}

/* Exact sum a + b = hi + lo (Knuth's TwoSum, no branch on magnitudes). */
static double two_sum(double a, double b, double *lo) {
    const double s = a + b;
    const double bb = s - a;
    *lo = (a - (s - bb)) + (b - bb);
    return s;
}

/* hi + lo with lo = 0 and hi = 0: an exact zero sum. IEEE 754 gives -0 in
 * roundTowardNegative unless both addends are +0, else the sign native
 * round-to-nearest already gave. */
static double exact_zero_sum(double hi, double a, double b, const gka_rounding_t *r) {
    if (r->mode == GKA_RND_TN && !(a == 0 && b == 0 && !signbit(a) && !signbit(b))) return -0.0;
    return hi;
}

static double round_sum(double a, double b, gka_rounding_t *r) {
    double lo = 0;
    double hi = two_sum(a, b, &lo);
    if (hi == 0 && lo == 0) hi = exact_zero_sum(hi, a, b, r);
    return gka_round_tail(hi, sign_of(lo), r);
}

double gka_add(double a, double b, gka_rounding_t *r) {
    if (!isfinite(a) || !isfinite(b)) return round_special(a + b, isnan(a) || isnan(b), r);
    if (is_fp64(r)) return gka_round(a + b, r);
    return round_sum(a, b, r);
}

double gka_sub(double a, double b, gka_rounding_t *r) {
    return gka_add(a, -b, r);
}

double gka_mul(double a, double b, gka_rounding_t *r) {
    if (!isfinite(a) || !isfinite(b)) return round_special(a * b, isnan(a) || isnan(b), r);
    return gka_round(a * b, r); /* exact for t <= 26; native for fp64 */
}

double gka_div(double a, double b, gka_rounding_t *r) {
    if (!isfinite(a) || !isfinite(b) || b == 0)
        return round_special(a / b, isnan(a) || isnan(b), r);
    const double q = a / b;
    if (is_fp64(r)) return gka_round(q, r);
    /* max / min_subnormal can exceed DBL_MAX (emax - emin + t > 1023): the
     * exact quotient is then far above max; any value above 2^(emax+2)
     * rounds as the overflow it is */
    if (isinf(q)) return gka_round(copysign(ldexp(1.0, r->format.emax + 2), q), r);
    /* a/b = q + rem/b exactly, rem = a - q*b computed exactly by fma */
    const double rem = fma(-q, b, a);
    return gka_round_tail(q, sign_of(rem) * sign_of(b), r);
}

double gka_sqrt(double a, gka_rounding_t *r) {
    if (isnan(a)) return gka_round(a, r);
    if (a < 0) return invalid_result(r);
    const double s = sqrt(a); /* +-0 and +Inf pass through */
    if (is_fp64(r) || !isfinite(s) || s == 0) return gka_round(s, r);
    /* sqrt(a) = s + (a - s^2)/(sqrt(a) + s): the remainder's sign is the tail's */
    const double rem = fma(-s, s, a);
    return gka_round_tail(s, sign_of(rem), r);
}

double gka_fma(double a, double b, double c, gka_rounding_t *r) {
    if (!isfinite(a) || !isfinite(b) || !isfinite(c))
        return round_special(fma(a, b, c), isnan(a) || isnan(b) || isnan(c), r);
    if (is_fp64(r)) return gka_round(fma(a, b, c), r);
    const double p = a * b; /* exact for t <= 26 */
    return round_sum(p, c, r);
}
