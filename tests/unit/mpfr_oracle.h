/* Test oracle: rounding to an emulated format by MPFR's own emulation
 * (precision t, emin set for the format through mpfr_check_range, then
 * mpfr_subnormalize), the exponent range left unbounded above so that the
 * overflow rules of gka_precision.h are applied here on MPFR's result.
 * NA, NZ and OD are derived from MPFR's RNDD/RNDU neighbours and the
 * comparison of the exact value with their midpoint; NA is cross-checked
 * with mpfr_round_nearest_away in the normal range. Shared by
 * test_round.c, test_ops.c and tests/slow. */
#ifndef GKA_TEST_MPFR_ORACLE_H
#define GKA_TEST_MPFR_ORACLE_H

#include <math.h>
#include <mpfr.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gka_precision.h"

/* x rounded by MPFR to the format's grid: t bits, subnormals, no overflow.
 * (One scratch variable per thread: this runs 10^7+ times.) */
static inline double oracle_grid(mpfr_srcptr x, const gka_format_t *f, mpfr_rnd_t rnd,
                                 int *ternary) {
    static _Thread_local mpfr_t y;
    static _Thread_local int ready = 0;
    if (!ready) {
        mpfr_init2(y, 64);
        ready = 1;
    }
    mpfr_set_prec(y, f->t);
    int inex = mpfr_set(y, x, rnd); /* t bits, extended exponent range */
    const mpfr_exp_t old_emin = mpfr_get_emin();
    mpfr_set_emin(f->emin - f->t + 2); /* min subnormal 2^(emin-t+1) = 0.1b * 2^(emin-t+2) */
    inex = mpfr_check_range(y, inex, rnd);
    inex = mpfr_subnormalize(y, inex, rnd);
    mpfr_set_emin(old_emin);
    const double d = mpfr_get_d(y, MPFR_RNDN); /* exact */
    if (ternary) *ternary = inex;
    return d;
}

static inline uint64_t oracle_bits(double d) {
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

/* Same double, or NaNs of the same sign. */
static inline int oracle_same(double a, double b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b) && signbit(a) == signbit(b);
    return oracle_bits(a) == oracle_bits(b);
}

static inline double oracle_overflow(int neg, const gka_format_t *f, gka_round_mode_t mode,
                                     int saturate, unsigned *flags) {
    *flags |= GKA_FLAG_OVERFLOW | GKA_FLAG_INEXACT;
    int to_max = saturate || mode == GKA_RND_TZ || mode == GKA_RND_OD ||
                 (mode == GKA_RND_TP && neg) || (mode == GKA_RND_TN && !neg);
    if (to_max) return neg ? -f->max : f->max;
    if (!f->has_inf) {
        *flags |= GKA_FLAG_INVALID;
        return neg ? -NAN : NAN;
    }
    return neg ? -INFINITY : INFINITY;
}

/* What MPFR says about the exact value x, once for all modes. */
typedef struct {
    int kind;       /* 0 finite nonzero, 1 zero, 2 infinite, 3 NaN */
    int neg;        /* sign of x */
    int exact;      /* x is on the grid */
    int tiny;       /* |x| < 2^emin */
    int cmp_mid;    /* sign of x - (lo + hi)/2 */
    double lo, hi;  /* MPFR RNDD and RNDU on the format's grid */
    double nearest; /* MPFR RNDN */
    double even;    /* MPFR RNDN of the midpoint: the neighbour with an even last bit */
} oracle_facts_t;

static inline oracle_facts_t oracle_facts(mpfr_srcptr x, const gka_format_t *f) {
    oracle_facts_t o;
    memset(&o, 0, sizeof o);
    o.neg = mpfr_signbit(x) != 0;
    if (mpfr_nan_p(x))
        o.kind = 3;
    else if (mpfr_inf_p(x))
        o.kind = 2;
    else if (mpfr_zero_p(x))
        o.kind = 1;
    if (o.kind) return o;
    int tern = 0;
    o.lo = oracle_grid(x, f, MPFR_RNDD, &tern);
    o.hi = oracle_grid(x, f, MPFR_RNDU, NULL);
    o.nearest = oracle_grid(x, f, MPFR_RNDN, NULL);
    o.exact = tern == 0;
    o.tiny = mpfr_get_exp(x) <= f->emin; /* |x| in [2^(E-1), 2^E) */
    if (!o.exact) {
        mpfr_t mid;
        mpfr_init2(mid, 64);
        mpfr_set_d(mid, o.lo, MPFR_RNDN);
        mpfr_add_d(mid, mid, o.hi, MPFR_RNDN); /* exact: both have <= 27 bits */
        mpfr_div_2ui(mid, mid, 1, MPFR_RNDN);
        o.cmp_mid = mpfr_cmp(x, mid);
        o.even = oracle_grid(mid, f, MPFR_RNDN, NULL); /* a tie: MPFR picks the even one */
        mpfr_clear(mid);
    }
    return o;
}

/* The expected result in a deterministic mode; *flags is set (not OR-ed). */
static inline double oracle_finish(const oracle_facts_t *o, const gka_format_t *f,
                                   gka_round_mode_t mode, int subnormals, int saturate,
                                   unsigned *flags) {
    *flags = 0;
    const int neg = o->neg;
    if (o->kind == 3) return neg ? -NAN : NAN;
    if (o->kind == 1) return neg ? -0.0 : 0.0;
    if (o->kind == 2) {
        if (f->has_inf) return neg ? -INFINITY : INFINITY;
        if (saturate) {
            *flags = GKA_FLAG_INEXACT;
            return neg ? -f->max : f->max;
        }
        *flags = GKA_FLAG_INVALID;
        return neg ? -NAN : NAN;
    }
    double y = o->lo;
    if (!o->exact) {
        const double away = neg ? o->lo : o->hi, toward = neg ? o->hi : o->lo;
        switch (mode) {
        case GKA_RND_NE:
            y = o->nearest;
            break;
        case GKA_RND_NA:
            y = o->cmp_mid == 0 ? away : o->nearest;
            break;
        case GKA_RND_NZ:
            y = o->cmp_mid == 0 ? toward : o->nearest;
            break;
        case GKA_RND_TP:
            y = o->hi;
            break;
        case GKA_RND_TN:
            y = o->lo;
            break;
        case GKA_RND_TZ:
            y = toward;
            break;
        case GKA_RND_OD:
            y = o->even == o->lo ? o->hi : o->lo;
            break;
        default:
            y = NAN;
            break;
        }
        *flags |= GKA_FLAG_INEXACT;
        if (o->tiny) *flags |= GKA_FLAG_UNDERFLOW;
    }
    if (fabs(y) > f->max) return oracle_overflow(neg, f, mode, saturate, flags);
    if (!subnormals && y != 0 && fabs(y) < f->min_normal) {
        *flags |= GKA_FLAG_FLUSHED | GKA_FLAG_UNDERFLOW | GKA_FLAG_INEXACT;
        y = neg ? -0.0 : 0.0;
    }
    return y;
}

static inline double oracle_round(mpfr_srcptr x, const gka_format_t *f, gka_round_mode_t mode,
                                  int subnormals, int saturate, unsigned *flags) {
    const oracle_facts_t o = oracle_facts(x, f);
    return oracle_finish(&o, f, mode, subnormals, saturate, flags);
}

/* MPFR's round-to-nearest-away, for |x| >= 2^emin (no subnormal step). */
static inline double oracle_nearest_away_normal(mpfr_srcptr x, const gka_format_t *f) {
    mpfr_t y;
    mpfr_init2(y, f->t);
    mpfr_round_nearest_away(mpfr_set, y, x);
    const double d = mpfr_get_d(y, MPFR_RNDN);
    mpfr_clear(y);
    return d;
}

/* The exact real x + tail_sign * 2^(ilogb(x) - 90) (a tail far below half a
 * double ulp), or for x = 0 the sign of the tail times 2^-1200. */
static inline void oracle_with_tail(mpfr_ptr out, double x, int tail_sign) {
    mpfr_set_prec(out, 256);
    mpfr_set_d(out, x, MPFR_RNDN);
    if (isnan(x)) mpfr_setsign(out, out, signbit(x) != 0, MPFR_RNDN); /* MPFR drops it */
    if (tail_sign == 0 || !isfinite(x)) return;
    mpfr_t tail;
    mpfr_init2(tail, 8);
    mpfr_set_si(tail, tail_sign, MPFR_RNDN);
    const long e = x == 0 ? -1200 : (long)ilogb(x) - 90;
    mpfr_mul_2si(tail, tail, e, MPFR_RNDN);
    mpfr_add(out, out, tail, MPFR_RNDN); /* exact in 256 bits */
    mpfr_clear(tail);
}

static const gka_round_mode_t oracle_modes[] = {GKA_RND_NA, GKA_RND_NZ, GKA_RND_NE, GKA_RND_TP,
                                                GKA_RND_TN, GKA_RND_TZ, GKA_RND_OD};
enum { ORACLE_NMODES = 7 };

#endif
