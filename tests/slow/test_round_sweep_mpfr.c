/* The full 2^32 float32 sweep against the oracle of record, MPFR's own
 * emulation of a small format: precision t, exponent range set for the
 * format (mpfr_set_emin(emin - t + 2), mpfr_set_emax(emax + 1)),
 * mpfr_check_range and mpfr_subnormalize, in MPFR_RNDN / RNDZ / RNDU / RNDD.
 * Round-to-nearest-away (which MPFR functions do not offer as a rounding
 * mode) is RNDN except at exact ties, which are detected with MPFR: |x| is
 * the exact midpoint of its RNDZ and RNDA neighbours on the format's grid;
 * a tie goes to the RNDA neighbour.
 * The format rules MPFR does not know are applied on top, as gka_precision.h
 * states them: e4m3's largest finite is 448 (the grid value 480 is NaN's
 * encoding), so a rounded magnitude above 448 is an overflow (NaN for the
 * nearest modes and the away side of the directed ones, 448 toward zero);
 * saturation turns every overflow into +-max; flushing turns a nonzero
 * result below 2^emin into a zero of x's sign; NaN stays NaN (sign kept).
 *
 * Covered: bf16, fp16, tf32, e4m3, e5m2 x NE, NA, TZ, TP, TN on all 2^32
 * patterns (gka_round_array_f32 on every pattern; the scalar gka_round on
 * every 257th), plus NE flushed (patterns with |x| < 2^(emin+1)) and NE
 * saturating (|x| >= 2^emax, Inf and NaN).
 *
 * Environment (for timing and debugging; the default is the full sweep):
 *   GKA_MPFR_SWEEP_FORMATS=bf16,fp16   formats to run
 *   GKA_MPFR_SWEEP_MODES=ne,tz         modes to run (ne na tz tp tn)
 *   GKA_MPFR_SWEEP_CHUNKS=N            about N chunks of 65536 patterns, spread
 *                                      evenly over the range (of 65536 chunks)
 * The time of one (format, mode) sweep is recorded in docs/BENCHMARKS.md. */
#include <criterion/criterion.h>

#include <gmp.h>
#include <mpfr.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gka_precision.h"

typedef struct {
    const char *name;
    int t, emin, emax, has_inf;
    double max;
} mformat_t;

/* From the definitions (issue 2 and gka_precision.h), not from format.c. */
static const mformat_t mformats[] = {
    {"bf16", 8, -126, 127, 1, 0x1.fep127},   {"fp16", 11, -14, 15, 1, 65504.0},
    {"tf32", 11, -126, 127, 1, 0x1.ffcp127}, {"e4m3", 4, -6, 8, 0, 448.0},
    {"e5m2", 3, -14, 15, 1, 57344.0},
};

typedef enum { M_NE, M_NA, M_TZ, M_TP, M_TN } mmode_t;

typedef struct {
    mmode_t mode;
    int subnormals, saturate, where; /* where: 0 all, 1 low, 2 high */
} mvariant_t;

static const mvariant_t mvariants[] = {
    {M_NE, 1, 0, 0}, {M_NA, 1, 0, 0}, {M_TZ, 1, 0, 0}, {M_TP, 1, 0, 0},
    {M_TN, 1, 0, 0}, {M_NE, 0, 0, 1}, {M_NE, 1, 1, 2},
};

static const char *mode_name(mmode_t m) {
    static const char *names[] = {"ne", "na", "tz", "tp", "tn"};
    return names[m];
}

static gka_round_mode_t gka_mode(mmode_t m) {
    switch (m) {
    case M_NA:
        return GKA_RND_NA;
    case M_TZ:
        return GKA_RND_TZ;
    case M_TP:
        return GKA_RND_TP;
    case M_TN:
        return GKA_RND_TN;
    default:
        return GKA_RND_NE;
    }
}

enum { CHUNK = 1 << 16, NCHUNKS = 1 << 16, SCALAR_STRIDE = 257 };

/* Per-thread MPFR state. MPFR's exponent range is per thread when MPFR is
 * built thread-safe (checked below); each thread sets the format's range
 * once and restores the previous one at the end. */
typedef struct {
    mpfr_t y, z, a, mid, twice;
    mpfr_exp_t old_emin, old_emax;
} mstate_t;

static void mstate_init(mstate_t *S, const mformat_t *f) {
    mpfr_inits2(f->t, S->y, S->z, S->a, (mpfr_ptr)0);
    mpfr_inits2(64, S->mid, S->twice, (mpfr_ptr)0);
    S->old_emin = mpfr_get_emin();
    S->old_emax = mpfr_get_emax();
    /* MPFR's x = m 2^e with m in [1/2, 1): the format's largest finite is
     * below 2^(emax+1), its smallest subnormal 2^(emin-t+1) = (1/2) 2^(emin-t+2) */
    mpfr_set_emin(f->emin - f->t + 2);
    mpfr_set_emax(f->emax + 1);
}

static void mstate_clear(mstate_t *S) {
    mpfr_set_emin(S->old_emin);
    mpfr_set_emax(S->old_emax);
    mpfr_clears(S->y, S->z, S->a, S->mid, S->twice, (mpfr_ptr)0);
}

/* MPFR's emulation of rounding x to the format in rnd: an assignment to a
 * t-bit variable inside the format's exponent range (MPFR's assignment
 * rounds and then applies the range, as mpfr_check_range does: overflow to
 * Inf or to the largest value per rnd), then mpfr_subnormalize with the
 * ternary value, which rounds again on the subnormal grid without double
 * rounding. Returns the final ternary value. */
static int emulate(mpfr_ptr y, float x, mpfr_rnd_t rnd) {
    int inex = mpfr_set_flt(y, x, rnd);
    inex = mpfr_check_range(y, inex, rnd); /* a no-op here: y is in range already */
    return mpfr_subnormalize(y, inex, rnd);
}

/* The overflow result for mode m (gka_precision.h): Inf (NaN without Inf)
 * for the nearest modes and the away side, max toward zero; max always
 * when saturating. */
static double overflow_value(const mformat_t *f, mmode_t m, int neg, int saturate) {
    const double big = f->has_inf ? (double)INFINITY : (double)NAN;
    double r = big;
    if (saturate || m == M_TZ || (m == M_TP && neg) || (m == M_TN && !neg)) r = f->max;
    return neg ? -r : r;
}

static mpfr_rnd_t mpfr_mode(mmode_t m) {
    switch (m) {
    case M_TZ:
        return MPFR_RNDZ;
    case M_TP:
        return MPFR_RNDU;
    case M_TN:
        return MPFR_RNDD;
    default:
        return MPFR_RNDN;
    }
}

/* The oracle's answer for float x. */
static float oracle(mstate_t *S, float x, const mformat_t *f, const mvariant_t *v) {
    if (isnan(x)) return x;
    if (isinf(x)) {
        if (f->has_inf) return x;
        return (float)copysign(v->saturate ? f->max : (double)NAN, (double)x);
    }
    const int neg = signbit(x) != 0;
    const int inex = emulate(S->y, x, mpfr_mode(v->mode));
    if (v->mode == M_NA && inex != 0) {
        /* a tie iff 2|x| is the sum of the two grid neighbours (exact in 64
         * bits); at the overflow threshold of the formats with Inf the upper
         * neighbour is Inf, no tie is seen, and RNDN already overflows as NA
         * would (the largest finite value has an odd last bit) */
        emulate(S->z, x, MPFR_RNDZ);
        emulate(S->a, x, MPFR_RNDA);
        if (mpfr_number_p(S->a)) {
            /* in the wide range: x itself may lie below the format's */
            mpfr_set_emin(S->old_emin);
            mpfr_add(S->mid, S->z, S->a, MPFR_RNDN);
            mpfr_set_flt(S->twice, x, MPFR_RNDN);
            mpfr_mul_2ui(S->twice, S->twice, 1, MPFR_RNDN);
            const int tie = mpfr_equal_p(S->mid, S->twice);
            mpfr_set_emin(f->emin - f->t + 2);
            if (tie) mpfr_set(S->y, S->a, MPFR_RNDN);
        }
    }
    double r = mpfr_get_d(S->y, MPFR_RNDN); /* exact: t <= 24 bits */
    /* MPFR's own overflow (Inf, or its largest value toward zero) is IEEE's
     * and is kept for the formats with Inf; e4m3 (grid value 480 and above
     * are overflows) and saturation replace it by the format's rule */
    if ((isinf(r) || fabs(r) > f->max) && (!f->has_inf || v->saturate))
        r = overflow_value(f, v->mode, neg, v->saturate);
    if (!v->subnormals && r != 0 && fabs(r) < ldexp(1.0, f->emin)) r = neg ? -0.0 : 0.0;
    return (float)r;
}

static int same(float want, float got) {
    if (isnan(want) || isnan(got))
        return isnan(want) && isnan(got) && signbit(want) == signbit(got);
    uint32_t a, b;
    memcpy(&a, &want, sizeof a);
    memcpy(&b, &got, sizeof b);
    return a == b;
}

static float u2f(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static int listed(const char *env, const char *name) {
    const char *sel = getenv(env);
    if (!sel || !*sel) return 1;
    const size_t n = strlen(name);
    for (const char *p = strstr(sel, name); p; p = strstr(p + 1, name))
        if ((p == sel || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return 1;
    return 0;
}

static int chunk_in_range(uint32_t c, int where, const mformat_t *f) {
    if (where == 0) return 1;
    const int E = (int)((c >> 7) & 0xffu);
    return where == 1 ? E <= f->emin + 127 : E >= f->emax + 127;
}

typedef struct {
    uint64_t fast, scalar, bad_fast, bad_scalar;
    uint32_t first_bad_fast, first_bad_scalar;
} mtally_t;

static void sweep_one(const mformat_t *f, const gka_format_t *fmt, const mvariant_t *v,
                      uint32_t chunk_step, mtally_t *out) {
    gka_rounding_t ctx = gka_rounding_default(fmt);
    ctx.mode = gka_mode(v->mode);
    ctx.subnormals = v->subnormals;
    ctx.saturate = v->saturate;
    memset(out, 0, sizeof *out);
    /* the chunks in the variant's range; a subrange run takes every
     * chunk_step-th of them */
    uint32_t *sel = malloc(NCHUNKS * sizeof *sel), nsel = 0;
    cr_assert_not_null(sel);
    for (uint32_t c = 0; c < NCHUNKS; c++)
        if (chunk_in_range(c, v->where, f)) sel[nsel++] = c;
#pragma omp parallel
    {
        mstate_t S;
        mstate_init(&S, f);
        float *x = malloc(2 * CHUNK * sizeof(float));
        mtally_t T;
        memset(&T, 0, sizeof T);
#pragma omp for schedule(dynamic, 1)
        for (uint32_t k = 0; k < nsel; k += chunk_step) {
            if (!x) continue;
            const uint32_t base = sel[k] * (uint32_t)CHUNK;
            for (uint32_t i = 0; i < CHUNK; i++)
                x[i] = u2f(base + i);
            gka_rounding_t r = ctx;
            gka_round_array_f32(x + CHUNK, x, CHUNK, &r);
            for (uint32_t i = 0; i < CHUNK; i++) {
                const float want = oracle(&S, x[i], f, v);
                T.fast++;
                if (!same(want, x[CHUNK + i]) && !T.bad_fast++) T.first_bad_fast = base + i;
                if ((base + i) % SCALAR_STRIDE) continue;
                T.scalar++;
                const float s = (float)gka_round((double)x[i], &r);
                if (!same(want, s) && !T.bad_scalar++) T.first_bad_scalar = base + i;
            }
        }
#pragma omp critical
        {
            if (T.bad_fast && (!out->bad_fast || T.first_bad_fast < out->first_bad_fast))
                out->first_bad_fast = T.first_bad_fast;
            if (T.bad_scalar && (!out->bad_scalar || T.first_bad_scalar < out->first_bad_scalar))
                out->first_bad_scalar = T.first_bad_scalar;
            out->fast += T.fast;
            out->scalar += T.scalar;
            out->bad_fast += T.bad_fast;
            out->bad_scalar += T.bad_scalar;
        }
        free(x);
        mstate_clear(&S);
    }
    free(sel);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

Test(round_sweep_mpfr, all_formats_modes, .timeout = 43200) {
    cr_assert(mpfr_buildopt_tls_p(), "MPFR must be thread-safe (per-thread exponent range)");
    uint32_t step = 1;
    const char *chunks = getenv("GKA_MPFR_SWEEP_CHUNKS");
    if (chunks && *chunks) {
        const long n = strtol(chunks, NULL, 10);
        cr_assert(n >= 1 && n <= NCHUNKS, "GKA_MPFR_SWEEP_CHUNKS=%s", chunks);
        step = (uint32_t)(NCHUNKS / n);
    }
    for (size_t fi = 0; fi < sizeof mformats / sizeof mformats[0]; fi++) {
        const mformat_t *f = &mformats[fi];
        if (!listed("GKA_MPFR_SWEEP_FORMATS", f->name)) continue;
        gka_format_t fmt;
        cr_assert_eq(gka_format_by_name(f->name, &fmt), GKA_OK);
        cr_assert_eq(fmt.max, f->max, "%s: max", f->name);
        for (size_t k = 0; k < sizeof mvariants / sizeof mvariants[0]; k++) {
            const mvariant_t *v = &mvariants[k];
            if (!listed("GKA_MPFR_SWEEP_MODES", mode_name(v->mode))) continue;
            const double t0 = now_s();
            mtally_t T;
            sweep_one(f, &fmt, v, step, &T);
            const double dt = now_s() - t0;
            fprintf(stderr,
                    "mpfr sweep %s %s subnormals=%d saturate=%d: %" PRIu64 " patterns (%" PRIu64
                    " bad), scalar %" PRIu64 " (%" PRIu64 " bad), %.1f s (%.1f ns/pattern)\n",
                    f->name, mode_name(v->mode), v->subnormals, v->saturate, T.fast, T.bad_fast,
                    T.scalar, T.bad_scalar, dt, dt / (double)T.fast * 1e9);
            cr_expect_gt(T.fast, 0);
            cr_expect(step > 1 || v->where != 0 || T.fast == UINT64_C(1) << 32);
            cr_expect_eq(T.bad_fast, 0,
                         "%s %s sub=%d sat=%d: array path != MPFR on %" PRIu64
                         " patterns, first 0x%08" PRIx32,
                         f->name, mode_name(v->mode), v->subnormals, v->saturate, T.bad_fast,
                         T.first_bad_fast);
            cr_expect_eq(T.bad_scalar, 0,
                         "%s %s sub=%d sat=%d: gka_round != MPFR on %" PRIu64
                         " patterns, first 0x%08" PRIx32,
                         f->name, mode_name(v->mode), v->subnormals, v->saturate, T.bad_scalar,
                         T.first_bad_scalar);
        }
    }
}
