/* Scalar rounding of a double (plus the sign of a discarded tail) to an
 * emulated format. The reference implementation: simple, exact, checked
 * against MPFR; the array fast paths (round_array.c) must agree with it. */
#include "gka_precision.h"
#include "round_internal.h"

#include <math.h>
#include <string.h>

static const struct {
    const char *name;
    gka_round_mode_t mode;
} mode_names[] = {
    {"ne", GKA_RND_NE},  {"rne", GKA_RND_NE}, {"rn", GKA_RND_NE}, {"na", GKA_RND_NA},
    {"rna", GKA_RND_NA}, {"nz", GKA_RND_NZ},  {"tp", GKA_RND_TP}, {"ru", GKA_RND_TP},
    {"tn", GKA_RND_TN},  {"rd", GKA_RND_TN},  {"tz", GKA_RND_TZ}, {"rz", GKA_RND_TZ},
    {"sp", GKA_RND_SP},  {"sr", GKA_RND_SP},  {"se", GKA_RND_SE}, {"od", GKA_RND_OD},
    {"ro", GKA_RND_OD},
};

gka_status_t gka_round_mode_by_name(const char *name, gka_round_mode_t *out) {
    if (!name || !out) return gka_error(GKA_EINVAL, "gka_round_mode_by_name: NULL argument");
    for (size_t i = 0; i < sizeof mode_names / sizeof mode_names[0]; i++)
        if (!strcmp(name, mode_names[i].name)) {
            *out = mode_names[i].mode;
            return GKA_OK;
        }
    /* chop / CPFloat numeric codes */
    if (name[0] && (name[1] == '\0' || (name[0] == '-' && name[1] == '1' && !name[2]))) {
        int code = name[0] == '-' ? -1 : name[0] - '0';
        if (code >= GKA_RND_NA && code <= GKA_RND_OD) {
            *out = (gka_round_mode_t)code;
            return GKA_OK;
        }
    }
    return gka_error(GKA_EINVAL,
                     "unknown rounding mode '%s' (known: ne na nz tp tn tz sp se od, aliases "
                     "rne rn rna ru rd rz sr ro, or chop codes -1..7)",
                     name);
}

const char *gka_round_mode_name(gka_round_mode_t mode) {
    switch (mode) {
    case GKA_RND_NA:
        return "na";
    case GKA_RND_NZ:
        return "nz";
    case GKA_RND_NE:
        return "ne";
    case GKA_RND_TP:
        return "tp";
    case GKA_RND_TN:
        return "tn";
    case GKA_RND_TZ:
        return "tz";
    case GKA_RND_SP:
        return "sp";
    case GKA_RND_SE:
        return "se";
    case GKA_RND_OD:
        return "od";
    }
    return "?";
}

gka_rounding_t gka_rounding_default(const gka_format_t *format) {
    gka_rounding_t r;
    memset(&r, 0, sizeof r);
    r.format = format ? *format : gka_fp64;
    r.mode = GKA_RND_NE;
    r.subnormals = 1;
    r.saturate = 0;
    return r;
}

static int is_flag(int v) {
    return v == 0 || v == 1;
}

static int same_format_values(const gka_format_t *a, const gka_format_t *b) {
    return a->t == b->t && a->emin == b->emin && a->emax == b->emax && a->has_inf == b->has_inf &&
           a->storage_bits == b->storage_bits && a->u == b->u && a->eps == b->eps &&
           a->max == b->max && a->min_normal == b->min_normal &&
           a->min_subnormal == b->min_subnormal;
}

static double pow2(int q);

/* What gka_format_custom makes of (t, emin, emax), without building the
 * name (this runs once per array call, also on short arrays). */
static int is_custom_format(const gka_format_t *f) {
    if (f->t < 2 || f->t > GKA_FORMAT_T_MAX || f->emin >= 0 || f->emin < -GKA_FORMAT_EXP_MAX ||
        f->emax <= 0 || f->emax > GKA_FORMAT_EXP_MAX)
        return 0;
    return f->has_inf == 1 && f->storage_bits == 0 && f->u == pow2(-f->t) &&
           f->eps == pow2(1 - f->t) && f->max == (2.0 - pow2(1 - f->t)) * pow2(f->emax) &&
           f->min_normal == pow2(f->emin) && f->min_subnormal == pow2(f->emin - f->t + 1);
}

/* A valid format: a built-in one, or exactly what gka_format_custom makes. */
static gka_status_t check_format(const gka_format_t *f) {
    size_t n = 0;
    const gka_format_t *const *list = gka_format_list(&n);
    for (size_t i = 0; i < n; i++)
        if (same_format_values(f, list[i])) return GKA_OK;
    if (is_custom_format(f)) return GKA_OK;
    gka_format_t c;
    if (gka_format_custom(f->t, f->emin, f->emax, &c) != GKA_OK)
        return gka_error(GKA_EINVAL,
                         "invalid rounding context: format t = %d, emin = %d, emax = %d "
                         "is neither built in nor a valid custom format",
                         f->t, f->emin, f->emax);
    return gka_error(GKA_EINVAL,
                     "invalid rounding context: format t = %d, emin = %d, emax = %d has derived "
                     "fields (has_inf, storage_bits, u, eps, max, min_normal, min_subnormal) "
                     "that disagree with its definition",
                     f->t, f->emin, f->emax);
}

gka_status_t gka_rounding_check(const gka_rounding_t *r) {
    if (!r) return gka_error(GKA_EINVAL, "invalid rounding context: NULL");
    if ((int)r->mode < GKA_RND_NA || (int)r->mode > GKA_RND_OD)
        return gka_error(GKA_EINVAL,
                         "invalid rounding context: mode = %d is not a rounding mode (-1..7)",
                         (int)r->mode);
    if (!is_flag(r->subnormals))
        return gka_error(GKA_EINVAL, "invalid rounding context: subnormals = %d (must be 0 or 1)",
                         r->subnormals);
    if (!is_flag(r->saturate))
        return gka_error(GKA_EINVAL, "invalid rounding context: saturate = %d (must be 0 or 1)",
                         r->saturate);
    if (r->threads < 0)
        return gka_error(GKA_EINVAL, "invalid rounding context: threads = %d (must be >= 0)",
                         r->threads);
    return check_format(&r->format);
}

/* What the scalar functions check per call: the fields they read, in a few
 * compares (the derived format fields are left to gka_rounding_check). */
static int context_usable(const gka_rounding_t *r) {
    const gka_format_t *f = &r->format;
    const int emulated = f->t >= 2 && f->t <= GKA_FORMAT_T_MAX && f->emin < 0 &&
                         f->emin >= -GKA_FORMAT_EXP_MAX && f->emax > 0 &&
                         f->emax <= GKA_FORMAT_EXP_MAX;
    const int fp64 = f->t == 53 && f->emin == -1022 && f->emax == 1023;
    return (unsigned)((int)r->mode - GKA_RND_NA) <= (unsigned)(GKA_RND_OD - GKA_RND_NA) &&
           ((unsigned)r->subnormals | (unsigned)r->saturate) <= 1u && (emulated || fp64);
}

/* An invalid context: nothing is rounded (see gka_rounding_check). */
static double refuse_context(gka_rounding_t *r) {
    r->flags |= GKA_FLAG_CONTEXT | GKA_FLAG_INVALID;
    if (gka_rounding_check(r) == GKA_OK) /* cannot happen: usable implies these bounds */
        gka_error(GKA_EINVAL, "invalid rounding context");
    return NAN;
}

/* Where the exact value lies between grid points M*2^q and (M+1)*2^q. */
typedef enum { REL_EXACT, REL_BELOW_HALF, REL_HALF, REL_ABOVE_HALF } rel_t;

static int is_stochastic(gka_round_mode_t mode) {
    return mode == GKA_RND_SP || mode == GKA_RND_SE;
}

double gka_overflow_value(const gka_rounding_t *r, int negative) {
    const gka_format_t *f = &r->format;
    const int neg = negative != 0;
    double big = f->has_inf ? INFINITY : NAN;
    if (r->saturate || r->mode == GKA_RND_TZ || r->mode == GKA_RND_OD ||
        (r->mode == GKA_RND_TP && neg) || (r->mode == GKA_RND_TN && !neg))
        big = f->max;
    return neg ? -big : big;
}

/* |result| > max: IEEE 754 overflow for the mode, or saturation. */
static double overflow_result(int neg, gka_rounding_t *r) {
    r->flags |= GKA_FLAG_OVERFLOW | GKA_FLAG_INEXACT;
    const double y = gka_overflow_value(r, neg);
    if (isnan(y)) r->flags |= GKA_FLAG_INVALID;
    return y;
}

static double round_infinity(double x, gka_rounding_t *r) {
    const gka_format_t *f = &r->format;
    if (f->has_inf) return x;
    if (r->saturate) {
        r->flags |= GKA_FLAG_INEXACT;
        return copysign(f->max, x);
    }
    r->flags |= GKA_FLAG_INVALID;
    return copysign(NAN, x);
}

static uint64_t double_bits(double x) {
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

/* fp64: x is on the grid; the tail only matters for directed, odd and
 * equal-probability stochastic rounding, which step one ulp toward it. */
static double round_fp64_tail(double x, int tail_sign, uint64_t random, gka_rounding_t *r) {
    if (tail_sign == 0) return x;
    r->flags |= GKA_FLAG_INEXACT;
    const double toward = tail_sign > 0 ? INFINITY : -INFINITY;
    const int away_from_zero = (x == 0) || ((x > 0) == (tail_sign > 0));
    int step = 0;
    switch (r->mode) {
    case GKA_RND_TP:
        step = tail_sign > 0;
        break;
    case GKA_RND_TN:
        step = tail_sign < 0;
        break;
    case GKA_RND_TZ:
        step = !away_from_zero;
        break;
    case GKA_RND_OD:
        step = (double_bits(x) & 1u) == 0;
        break;
    case GKA_RND_SE:
        step = (int)(random >> 63);
        break;
    default:
        step = 0;
        break;
    }
    double y = step ? nextafter(x, toward) : x;
    if (isinf(y)) return overflow_result(y < 0, r);
    return y;
}

static int round_up(gka_round_mode_t mode, rel_t rel, int neg, uint64_t M, double p_up,
                    uint64_t random) {
    const int odd = (M & 1u) != 0;
    switch (mode) {
    case GKA_RND_NE:
        return rel == REL_ABOVE_HALF || (rel == REL_HALF && odd);
    case GKA_RND_NA:
        return rel == REL_ABOVE_HALF || rel == REL_HALF;
    case GKA_RND_NZ:
        return rel == REL_ABOVE_HALF;
    case GKA_RND_TP:
        return !neg;
    case GKA_RND_TN:
        return neg;
    case GKA_RND_TZ:
        return 0;
    case GKA_RND_OD:
        return !odd;
    case GKA_RND_SP:
        return (double)(random >> 11) * 0x1p-53 < p_up;
    case GKA_RND_SE:
        return (int)(random >> 63);
    }
    return 0;
}

static double double_from_bits(uint64_t b) {
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* 2^q for a normal exponent q (|q| <= 1022). */
static double pow2(int q) {
    return double_from_bits((uint64_t)(q + 1023) << 52);
}

enum { DBL_FRAC_BITS = 52, DBL_BIAS = 1023 };

double gka_round_tail(double x, int tail_sign, gka_rounding_t *r) {
    if (!context_usable(r)) return refuse_context(r);
    uint64_t random = 0;
    if (is_stochastic(r->mode)) random = gka_philox_u64(r->seed, r->stream, r->counter++);
    return gka_round_tail_draw(x, tail_sign, random, r);
}

double gka_round_tail_draw(double x, int tail_sign, uint64_t random, gka_rounding_t *r) {
    const gka_format_t *f = &r->format;
    tail_sign = (tail_sign > 0) - (tail_sign < 0);
    if (isnan(x)) return copysign(NAN, x);
    if (isinf(x)) return round_infinity(x, r);
    if (f->t >= 53) return round_fp64_tail(x, tail_sign, random, r);
    if (x == 0 && tail_sign == 0) return x;

    /* |x| = S * 2^es with S the integer significand; ts is the tail's sign
     * relative to |x| (x = 0 with a tail: a positive infinitesimal). */
    const uint64_t bits = double_bits(x);
    const int neg = x == 0 ? tail_sign < 0 : (int)(bits >> 63);
    const int ts = x == 0 ? 1 : (neg ? -tail_sign : tail_sign);
    const int biased = (int)((bits >> DBL_FRAC_BITS) & 0x7ff);
    const uint64_t frac_mask = ((uint64_t)1 << DBL_FRAC_BITS) - 1;
    uint64_t S = bits & frac_mask;
    int es = 1 - DBL_BIAS - DBL_FRAC_BITS, e = f->emin - 1; /* double subnormal or zero */
    if (biased != 0) {
        S |= (uint64_t)1 << DBL_FRAC_BITS;
        es = biased - DBL_BIAS - DBL_FRAC_BITS;
        e = biased - DBL_BIAS; /* |x| in [2^e, 2^(e+1)) */
    }
    if (e >= f->emax + 2) return overflow_result(neg, r);

    /* Grid spacing 2^q; d low bits of S lie below it (d >= 53 - t > 0). */
    int q = (e > f->emin ? e : f->emin) - f->t + 1;
    const int d = q - es;
    uint64_t M = 0, rem = 0, half = 0;
    double p_up; /* probability of rounding up in SP mode */
    if (d < 64) {
        M = S >> d;
        rem = S & (((uint64_t)1 << d) - 1);
        half = (uint64_t)1 << (d - 1);
        p_up = (double)rem * pow2(-d);
    } else { /* far below the grid: M = 0, S < 2^53 < half */
        rem = S;
        half = rem + 1;
        p_up = ldexp((double)S, -d);
    }
    rel_t rel;
    if (rem == 0 && S != 0) {
        if (ts == 0) {
            rel = REL_EXACT;
        } else if (ts > 0) {
            rel = REL_BELOW_HALF;
        } else { /* just below the grid point M: step to its predecessor */
            if (M == (uint64_t)1 << (f->t - 1) && e > f->emin) { /* binade edge: finer below */
                M = 2 * M - 1;
                q -= 1;
            } else {
                M -= 1;
            }
            rel = REL_ABOVE_HALF;
            p_up = 1;
        }
    } else if (S == 0) { /* x = 0 with a tail */
        rel = REL_BELOW_HALF;
    } else if (rem != half) {
        rel = rem < half ? REL_BELOW_HALF : REL_ABOVE_HALF;
    } else {
        rel = ts > 0 ? REL_ABOVE_HALF : (ts < 0 ? REL_BELOW_HALF : REL_HALF);
    }

    const int up = rel != REL_EXACT && round_up(r->mode, rel, neg, M, p_up, random);
    double y = (double)(M + (uint64_t)up) * pow2(q); /* exact */
    if (y > f->max) return overflow_result(neg, r);
    if (rel != REL_EXACT) {
        r->flags |= GKA_FLAG_INEXACT;
        const int tiny =
            e < f->emin || (e == f->emin && S == (uint64_t)1 << DBL_FRAC_BITS && ts < 0);
        if (tiny) r->flags |= GKA_FLAG_UNDERFLOW;
    }
    if (!r->subnormals && y != 0 && y < f->min_normal) {
        y = 0;
        r->flags |= GKA_FLAG_FLUSHED | GKA_FLAG_UNDERFLOW | GKA_FLAG_INEXACT;
    }
    return neg ? -y : y;
}

double gka_round(double x, gka_rounding_t *r) {
    return gka_round_tail(x, 0, r);
}
