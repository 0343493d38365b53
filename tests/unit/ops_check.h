/* Scalar operations against MPFR: the exact result (or round-to-odd at 2200
 * bits for div and sqrt) rounded by MPFR's emulation. Shared by
 * tests/unit/test_ops.c and tests/slow/test_round_mpfr.c. Uses Criterion's
 * assertions. */
#ifndef GKA_TEST_OPS_CHECK_H
#define GKA_TEST_OPS_CHECK_H

#include "round_check.h"

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_SQRT, OP_FMA, NOPS };
static const char *const op_names[NOPS] = {"add", "sub", "mul", "div", "sqrt", "fma"};
enum { EXACT_PREC = 2200 }; /* > the span of a*b + c for |exponents| <= 1052 */

static inline double gka_op(int op, double a, double b, double c, gka_rounding_t *r) {
    switch (op) {
    case OP_ADD:
        return gka_add(a, b, r);
    case OP_SUB:
        return gka_sub(a, b, r);
    case OP_MUL:
        return gka_mul(a, b, r);
    case OP_DIV:
        return gka_div(a, b, r);
    case OP_SQRT:
        return gka_sqrt(a, r);
    default:
        return gka_fma(a, b, c, r);
    }
}

static inline int mpfr_op(int op, mpfr_ptr y, mpfr_srcptr a, mpfr_srcptr b, mpfr_srcptr c,
                          mpfr_rnd_t rnd) {
    switch (op) {
    case OP_ADD:
        return mpfr_add(y, a, b, rnd);
    case OP_SUB:
        return mpfr_sub(y, a, b, rnd);
    case OP_MUL:
        return mpfr_mul(y, a, b, rnd);
    case OP_DIV:
        return mpfr_div(y, a, b, rnd);
    case OP_SQRT:
        return mpfr_sqrt(y, a, rnd);
    default:
        return mpfr_fma(y, a, b, c, rnd);
    }
}

/* The exact result, or, for div and sqrt, a value strictly inside the same
 * interval between consecutive 2200-bit numbers (round to odd), which every
 * rounding to t <= 26 bits treats like the exact value. A zero result gets
 * the sign IEEE 754 gives it in the mode (MPFR follows IEEE 754). */
static inline void exact_result(int op, mpfr_ptr y, double a, double b, double c,
                                gka_round_mode_t mode) {
    mpfr_t ma, mb, mc;
    mpfr_inits2(64, ma, mb, mc, (mpfr_ptr)0);
    mpfr_set_d(ma, a, MPFR_RNDN);
    mpfr_set_d(mb, b, MPFR_RNDN);
    mpfr_set_d(mc, c, MPFR_RNDN);
    mpfr_set_prec(y, EXACT_PREC);
    const int inex = mpfr_op(op, y, ma, mb, mc, MPFR_RNDZ);
    if (op != OP_DIV && op != OP_SQRT) cr_assert_eq(inex, 0, "%s not exact in MPFR", op_names[op]);
    if (mpfr_zero_p(y)) mpfr_op(op, y, ma, mb, mc, mode == GKA_RND_TN ? MPFR_RNDD : MPFR_RNDN);
    if (inex != 0 && mpfr_regular_p(y)) {
        mpfr_t nudge;
        mpfr_init2(nudge, 8);
        mpfr_set_si_2exp(nudge, mpfr_sgn(y), mpfr_get_exp(y) - EXACT_PREC - 10, MPFR_RNDN);
        mpfr_prec_round(y, EXACT_PREC + 20, MPFR_RNDN); /* exact */
        mpfr_add(y, y, nudge, MPFR_RNDN);               /* exact */
        mpfr_clear(nudge);
    }
    mpfr_clears(ma, mb, mc, (mpfr_ptr)0);
}

/* A random value of the format: a random double over the exponent range
 * (subnormals and the top binade included) rounded by MPFR, or an edge value. */
static inline double random_operand(const gka_format_t *f, uint64_t *seed) {
    const uint64_t b = splitmix(seed);
    if (b % 8 == 0) {
        const double edges[] = {0.0,           f->min_subnormal,
                                f->min_normal, f->max,
                                1.0,           1 + f->eps,
                                3.0,           f->min_normal - f->min_subnormal,
                                2.0,           0.5,
                                f->max / 2,    INFINITY,
                                NAN,           f->u,
                                1 - f->u,      f->min_subnormal * 3};
        const double v = edges[(b >> 8) % (sizeof edges / sizeof edges[0])];
        return (b >> 40) & 1 ? -v : v;
    }
    const int lo = f->emin - f->t, span = f->emax + 2 - lo;
    const int e = lo + (int)((b >> 8) % (uint64_t)span);
    double x = ldexp(1.0 + (double)(splitmix(seed) >> 11) * 0x1p-53, e);
    if ((b >> 40) & 1) x = -x;
    mpfr_t m;
    mpfr_init2(m, 64);
    mpfr_set_d(m, x, MPFR_RNDN);
    unsigned fl;
    const double v = oracle_round(m, f, GKA_RND_NE, 1, 1, &fl);
    mpfr_clear(m);
    return v;
}

static inline void check_ops_against_mpfr(const gka_format_t *f, long n, uint64_t seed) {
    long checked = 0, bad = 0;
    char first[400] = "";
    mpfr_t y;
    mpfr_init2(y, EXACT_PREC);
    for (long i = 0; i < n; i++) {
        const double a = random_operand(f, &seed), b = random_operand(f, &seed),
                     c = random_operand(f, &seed);
        for (int op = 0; op < NOPS; op++)
            for (int k = 0; k < ORACLE_NMODES; k++) {
                const gka_round_mode_t mode = oracle_modes[k];
                const int sat = (int)(i & 1), sub = (int)((i >> 1) & 1);
                exact_result(op, y, a, b, c, mode);
                unsigned want_flags = 0;
                const double want = oracle_round(y, f, mode, sub, sat, &want_flags);
                const int invalid = mpfr_nan_p(y) && !isnan(a) && !(op != OP_SQRT && isnan(b)) &&
                                    !(op == OP_FMA && isnan(c));
                if (invalid) want_flags |= GKA_FLAG_INVALID;
                gka_rounding_t r = gka_rounding_default(f);
                r.mode = mode;
                r.saturate = sat;
                r.subnormals = sub;
                const double got = gka_op(op, a, b, c, &r);
                checked++;
                /* the sign of a NaN from an operation is unspecified (IEEE 754 6.3) */
                const int same = isnan(want) ? isnan(got) : oracle_same(got, want);
                if (!same || r.flags != want_flags) {
                    if (!bad)
                        snprintf(first, sizeof first,
                                 "%s %s mode %s sub %d sat %d: a=%a b=%a c=%a got %a flags %#x, "
                                 "MPFR %a flags %#x",
                                 f->name, op_names[op], gka_round_mode_name(mode), sub, sat, a, b,
                                 c, got, r.flags, want, want_flags);
                    bad++;
                }
            }
    }
    mpfr_clear(y);
    cr_expect_eq(bad, 0, "%ld of %ld operations differ from MPFR; first: %s", bad, checked, first);
    cr_assert_eq(checked, n * NOPS * ORACLE_NMODES);
}

#endif
