/* Exact accumulation (GKA_ACCUM_EXACT) for the emulated tables, without MPFR
 * (the GPU machine has none).
 *
 * Every term of an output element (a product of two or three format values,
 * or one format value) is an integer times a power of two. It is added
 * exactly to a fixed-point superaccumulator: ACC_LIMBS signed 64-bit limbs,
 * limb k weighing 2^(32k + ACC_BASE), each receiving 32-bit digits, so a limb
 * absorbs 2^31 additions before carries must be propagated. The range
 * [2^-1664, 2^1664) covers triple products of values down to 2^-554 and up to
 * 2^502 (custom formats have |emin|, emax <= 500 and t <= 26, so their
 * smallest subnormal is >= 2^-525) summed over up to 2^64 terms.
 *
 * Rounding once: the exact sum is reduced to its leading 53 bits, truncated,
 * plus the sign of the rest. Because 53 >= t + 2, every rounding boundary of
 * the format (values and midpoints, at most t + 1 bits) is a 53-bit number, so
 * none lies strictly between the truncation x and the exact value; hence the
 * exact value rounds like x + (infinitesimal of the rest's sign), which is
 * what gka_round_tail computes.
 *
 * Square root (nrm2): the exact sum of squares S is kept exactly; z =
 * sqrt(S) truncated to P = t + 2 bits is found from a double approximation
 * and then checked and corrected with exact integer comparisons Z^2 4^f <= S
 * < (Z + 1)^2 4^f in the superaccumulator (Z < 2^28, so Z^2 < 2^56 is exact).
 * The same argument as above (no P-bit number strictly inside (z, sqrt S))
 * makes gka_round_tail(z, [S != z^2]) the correctly rounded sqrt(S). */
#include "arith_internal.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

enum {
    ACC_LIMBS = 104,
    ACC_BASE = -1664,         /* exponent of the lowest limb's unit */
    ACC_FLUSH = 1 << 30,      /* propagate carries after this many additions */
    ACC_SMALLEST_EXP = -1000, /* below: smaller than every format's half-subnormal */
    ACC_LARGEST_EXP = 1000    /* above: larger than every format's max */
};
#define M32 UINT64_C(0xFFFFFFFF)

typedef struct {
    int64_t limb[ACC_LIMBS];
    int lo, hi;       /* limbs outside [lo, hi] are zero */
    uint32_t pending; /* additions since the last carry propagation */
    int nterms;       /* terms added (saturating) */
    int only_negzero; /* every term so far was -0 */
    int only_poszero; /* every term so far was +0 */
    int nan, pinf, ninf, invalid;
} acc_t;

static void acc_fields(acc_t *a) {
    a->lo = ACC_LIMBS;
    a->hi = -1;
    a->pending = 0;
    a->nterms = 0;
    a->only_negzero = 1;
    a->only_poszero = 1;
    a->nan = a->pinf = a->ninf = a->invalid = 0;
}

static void acc_init(acc_t *a) {
    memset(a->limb, 0, sizeof a->limb);
    acc_fields(a);
}

/* Back to zero, touching only the limbs that may be nonzero. */
static void acc_reset(acc_t *a) {
    if (a->hi >= 0) memset(&a->limb[a->lo], 0, (size_t)(a->hi - a->lo + 1) * sizeof a->limb[0]);
    acc_fields(a);
}

/* Floor division by 2^32 of a limb, and its remainder digit. */
static int64_t carry_of(int64_t v, uint64_t *digit) {
    *digit = (uint64_t)v & M32;
    return (v - (int64_t)*digit) / ((int64_t)1 << 32);
}

/* Propagate carries so that limbs lo..hi-1 are digits in [0, 2^32) and the
 * value's sign sits in limb hi (0 or +digit, or -1 meaning -2^(32 hi)). */
static void acc_carry(acc_t *a) {
    a->pending = 0;
    if (a->hi < 0) return;
    int64_t carry = 0;
    int k = a->lo;
    for (; k < ACC_LIMBS - 1; k++) {
        uint64_t digit;
        carry = carry_of(a->limb[k] + carry, &digit);
        a->limb[k] = (int64_t)digit;
        if (k >= a->hi && (carry == 0 || carry == -1)) break;
    }
    if (k == ACC_LIMBS - 1) { /* unreachable within the documented range */
        a->limb[k] += carry;
        a->hi = k;
        return;
    }
    a->limb[k + 1] = carry;
    a->hi = k + 1;
}

/* value += (neg ? -1 : 1) * m * 2^e, m < 2^64. */
static void acc_add_u64(acc_t *a, int neg, uint64_t m, int e) {
    if (m == 0) return;
    int p = e - ACC_BASE;
    if (p < 0) { /* outside the documented operand range: keep what fits */
        m = -p >= 64 ? 0 : m >> -p;
        p = 0;
        if (m == 0) return;
    }
    const int k = p >> 5, s = p & 31;
    if (k > ACC_LIMBS - 4) { /* far beyond every format's range */
        if (neg)
            a->ninf = 1;
        else
            a->pinf = 1;
        return;
    }
    const uint64_t c0 = (m << s) & M32;
    const uint64_t rest = s ? m >> (32 - s) : m >> 32;
    const int64_t d0 = (int64_t)c0, d1 = (int64_t)(rest & M32), d2 = (int64_t)(rest >> 32);
    if (neg) {
        a->limb[k] -= d0;
        a->limb[k + 1] -= d1;
        a->limb[k + 2] -= d2;
    } else {
        a->limb[k] += d0;
        a->limb[k + 1] += d1;
        a->limb[k + 2] += d2;
    }
    if (k < a->lo) a->lo = k;
    if (k + 2 > a->hi) a->hi = k + 2;
    if (++a->pending >= ACC_FLUSH) acc_carry(a);
}

/* A finite double as (-1)^neg * m * 2^e with m odd (or m = 0). */
static void decompose(double x, int *neg, uint64_t *m, int *e) {
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    *neg = (int)(b >> 63);
    const int biased = (int)((b >> 52) & 0x7FF);
    uint64_t frac = b & ((UINT64_C(1) << 52) - 1);
    int ex = -1074;
    if (biased) {
        frac |= UINT64_C(1) << 52;
        ex = biased - 1075;
    }
    if (frac) {
        const int tz = __builtin_ctzll(frac);
        frac >>= tz;
        ex += tz;
    }
    *m = frac;
    *e = ex;
}

/* Note a term's sign of zero and count it. */
static void acc_note_term(acc_t *a, int neg, int is_zero) {
    if (!(neg && is_zero)) a->only_negzero = 0;
    if (!(!neg && is_zero)) a->only_poszero = 0;
    if (a->nterms < 2) a->nterms++;
}

/* A non-finite term p = product computed natively (Inf or NaN). */
static void acc_add_special(acc_t *a, double p, int operands_have_nan) {
    a->only_negzero = a->only_poszero = 0;
    if (isnan(p)) {
        a->nan = 1;
        if (!operands_have_nan) a->invalid = 1; /* 0 * Inf */
    } else if (p > 0) {
        a->pinf = 1;
    } else {
        a->ninf = 1;
    }
}

/* Product of mantissas (each < 2^53) as base-2^32 digits, least first. */
static int mant_product(const uint64_t *ms, int count, uint64_t digits[6]) {
    uint64_t acc[6] = {0};
    int len = 1;
    acc[0] = 1;
    for (int i = 0; i < count; i++) {
        const uint64_t h[2] = {ms[i] & M32, ms[i] >> 32};
        uint64_t out[6] = {0};
        for (int u = 0; u < len; u++) {
            uint64_t carry = 0;
            for (int v = 0; v < 2 && u + v < 6; v++) {
                const uint64_t lo = acc[u] * h[v]; /* < 2^64: digits are < 2^32 */
                uint64_t sum = out[u + v] + (lo & M32) + carry;
                out[u + v] = sum & M32;
                carry = (sum >> 32) + (lo >> 32);
            }
            for (int w = u + 2; carry && w < 6; w++) {
                const uint64_t sum = out[w] + carry;
                out[w] = sum & M32;
                carry = sum >> 32;
            }
        }
        len = len + 2 > 6 ? 6 : len + 2;
        memcpy(acc, out, sizeof acc);
    }
    memcpy(digits, acc, sizeof acc);
    return len;
}

/* value += product of `count` (1 to 3) finite-or-not doubles, exactly. */
static void acc_add_product(acc_t *a, const double *f, int count) {
    int finite = 1, has_nan = 0;
    double native = 1.0;
    for (int i = 0; i < count; i++) {
        finite &= isfinite(f[i]) != 0;
        has_nan |= isnan(f[i]) != 0;
        native *= f[i];
    }
    if (!finite) {
        acc_add_special(a, native, has_nan);
        return;
    }
    int neg = 0, e = 0, is_zero = 0, small = 1;
    uint64_t ms[3];
    for (int i = 0; i < count; i++) {
        int ni, ei;
        decompose(f[i], &ni, &ms[i], &ei);
        neg ^= ni;
        e += ei;
        is_zero |= ms[i] == 0;
        small &= ms[i] < (UINT64_C(1) << 32);
    }
    acc_note_term(a, neg, is_zero);
    if (is_zero) return;
    if (count == 1) {
        acc_add_u64(a, neg, ms[0], e);
    } else if (count == 2 && small) { /* the common case: t <= 26 formats */
        acc_add_u64(a, neg, ms[0] * ms[1], e);
    } else if (count == 3 && small && ms[0] * ms[1] <= M32) {
        acc_add_u64(a, neg, ms[0] * ms[1] * ms[2], e);
    } else {
        uint64_t d[6];
        const int len = mant_product(ms, count, d);
        for (int i = 0; i < len; i++)
            acc_add_u64(a, neg, d[i], e + 32 * i);
    }
}

/* Sign of the value (-1, 0, +1); replaces the value by its magnitude as
 * digits in [0, 2^32) in limbs lo..hi (the rest zero). */
static int acc_magnitude(acc_t *a) {
    acc_carry(a);
    if (a->hi < 0) return 0;
    const int64_t top = a->limb[a->hi];
    if (top >= 0) {
        for (int k = a->hi; k >= a->lo; k--)
            if (a->limb[k]) return 1;
        return 0;
    }
    /* top == -1: value = D - 2^(32 hi) with D the digits below hi. */
    int64_t borrow = 0;
    a->limb[a->hi] = 0;
    for (int k = a->lo; k < a->hi; k++) {
        int64_t v = -a->limb[k] - borrow;
        borrow = 0;
        if (v < 0) {
            v += (int64_t)1 << 32;
            borrow = 1;
        }
        a->limb[k] = v;
    }
    if (!borrow) a->limb[a->hi] = 1; /* D == 0: magnitude is 2^(32 hi) */
    return -1;
}

/* Leading bit position L (|value| in [2^L, 2^(L+1))), the leading 53 bits
 * truncated (M in [2^52, 2^53)) and whether any bit below them is set. */
static void mag_leading(const acc_t *mag, int *L, uint64_t *M, int *sticky) {
    int h = mag->hi;
    while (mag->limb[h] == 0)
        h--;
    const uint64_t d2 = (uint64_t)mag->limb[h];
    const uint64_t d1 = h - 1 >= mag->lo ? (uint64_t)mag->limb[h - 1] : 0;
    const uint64_t d0 = h - 2 >= mag->lo ? (uint64_t)mag->limb[h - 2] : 0;
    const int b = 64 - __builtin_clzll(d2); /* 1..32 bits in the top digit */
    uint64_t top64 = (d2 << (64 - b)) | (d1 << (32 - b));
    if (b < 32) top64 |= d0 >> b;
    int st = b < 32 ? (d0 & ((UINT64_C(1) << b) - 1)) != 0 : d0 != 0;
    for (int k = h - 3; k >= mag->lo && !st; k--)
        st = mag->limb[k] != 0;
    *L = 32 * h + ACC_BASE + b - 1;
    *M = top64 >> 11;
    *sticky = st || (top64 & 0x7FF) != 0;
}

/* The non-finite result, if any (NaN, +-Inf). */
static int acc_special(const acc_t *a, double *out, gka_rounding_t *r) {
    if (a->nan || (a->pinf && a->ninf)) {
        if (a->invalid || (a->pinf && a->ninf && !a->nan)) r->flags |= GKA_FLAG_INVALID;
        *out = gka_round(NAN, r);
        return 1;
    }
    if (a->pinf || a->ninf) {
        *out = gka_round(a->pinf ? INFINITY : -INFINITY, r);
        return 1;
    }
    return 0;
}

/* The exact value rounded once to r's format (a is left holding |value|). */
static double acc_round(acc_t *a, gka_rounding_t *r) {
    double special;
    if (acc_special(a, &special, r)) return special;
    const int sign = acc_magnitude(a);
    if (sign == 0) { /* exact zero: IEEE 754 sign rules for a sum */
        const int neg = a->nterms > 0 && a->only_negzero
                            ? 1
                            : (a->nterms == 0 || a->only_poszero ? 0 : r->mode == GKA_RND_TN);
        return gka_round(neg ? -0.0 : 0.0, r);
    }
    int L, sticky;
    uint64_t M;
    mag_leading(a, &L, &M, &sticky);
    if (L > ACC_LARGEST_EXP) return gka_round_tail(sign * 0x1p1000, 0, r);
    if (L < ACC_SMALLEST_EXP) return gka_round_tail(sign < 0 ? -0.0 : 0.0, sign, r);
    const double x = ldexp((double)M, L - 52); /* exact: a normal double */
    return gka_round_tail(sign * x, sticky ? sign : 0, r);
}

/* sign(S - Z^2 4^f) for S >= 0 held as a magnitude. */
static int compare_square(const acc_t *S, uint64_t Z, int f) {
    acc_t d = *S;
    acc_add_u64(&d, 1, Z * Z, 2 * f);
    return acc_magnitude(&d);
}

static int floor_half(int L) {
    return L >= 0 ? L / 2 : -((1 - L) / 2);
}

/* sqrt(S) correctly rounded to r's format, S exact and > 0. */
static double acc_sqrt_round(acc_t *S, gka_rounding_t *r) {
    acc_magnitude(S);
    int L, sticky;
    uint64_t M;
    mag_leading(S, &L, &M, &sticky);
    const int k = floor_half(L);
    const double y = ldexp(sqrt(ldexp((double)M, L - 52 - 2 * k)), k); /* ~1 ulp */
    const int P = r->format.t + 2;
    int f = ilogb(y) - (P - 1);
    uint64_t Z = (uint64_t)ldexp(y, -f);
    const uint64_t Zmin = UINT64_C(1) << (P - 1), Zmax = (UINT64_C(1) << P) - 1;
    int c;
    for (;;) {
        c = compare_square(S, Z, f);
        if (c < 0) { /* z too large */
            if (Z == Zmin) {
                Z = Zmax;
                f--;
            } else {
                Z--;
            }
            continue;
        }
        if (compare_square(S, Z + 1, f) >= 0) { /* z + ulp still <= sqrt S */
            if (Z == Zmax) {
                Z = Zmin;
                f++;
            } else {
                Z++;
            }
            continue;
        }
        break;
    }
    const double z = ldexp((double)Z, f);
    if (ilogb(z) > ACC_LARGEST_EXP) return gka_round_tail(0x1p1000, 0, r);
    return gka_round_tail(z, c != 0, r);
}

#define D(p) (*(double *)(p))
#define CD(p) (*(const double *)(p))

void gka_exact_dot(gka_arith_t *A, void *r, size_t n, const void *x, const void *y) {
    const double *xv = x, *yv = y;
    acc_t a;
    acc_init(&a);
    for (size_t j = 0; j < n; j++)
        acc_add_product(&a, (const double[2]){xv[j], yv[j]}, 2);
    D(r) = acc_round(&a, &A->store);
}

/* y_i = round(alpha sum_j M_ij x_j + beta y_i), the exact value rounded once. */
void gka_exact_gemv(gka_arith_t *A, size_t m, size_t n, const void *alpha, const void *M,
                    const void *x, const void *beta, void *y) {
    const double *Mv = M, *xv = x;
    double *yv = y;
    const double al = CD(alpha);
    acc_t a;
    acc_init(&a);
    for (size_t i = 0; i < m; i++) {
        acc_reset(&a);
        for (size_t j = 0; j < n; j++)
            acc_add_product(&a, (const double[3]){al, Mv[i * n + j], xv[j]}, 3);
        if (beta) acc_add_product(&a, (const double[2]){CD(beta), yv[i]}, 2);
        yv[i] = acc_round(&a, &A->store);
    }
}

/* M_ij = round(M_ij + alpha x_i x_j), one rounding per element. */
void gka_exact_syr(gka_arith_t *A, size_t n, const void *alpha, const void *x, void *M) {
    const double *xv = x;
    double *Mv = M;
    const double al = CD(alpha);
    acc_t a;
    acc_init(&a);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            acc_reset(&a);
            acc_add_product(&a, &Mv[i * n + j], 1);
            acc_add_product(&a, (const double[3]){al, xv[i], xv[j]}, 3);
            Mv[i * n + j] = acc_round(&a, &A->store);
        }
}

/* r = sqrt(sum_j x_j^2): the exact sum, then its square root rounded once. */
void gka_exact_nrm2(gka_arith_t *A, void *r, size_t n, const void *x) {
    const double *xv = x;
    acc_t a;
    acc_init(&a);
    for (size_t j = 0; j < n; j++)
        acc_add_product(&a, (const double[2]){xv[j], xv[j]}, 2);
    double special;
    if (acc_special(&a, &special, &A->store)) {
        D(r) = special; /* NaN, or +Inf (squares are never -Inf) */
        return;
    }
    if (acc_magnitude(&a) == 0) {
        D(r) = gka_round(0.0, &A->store);
        return;
    }
    D(r) = acc_sqrt_round(&a, &A->store);
}
