/* Exhaustive check of float32 rounding: every one of the 2^32 float32 bit
 * patterns is rounded to bf16, fp16, tf32, e4m3 and e5m2 and compared bit for
 * bit with an independently written reference (exhaustive/rint_reference.h:
 * double arithmetic and rint() under fesetround, no bit tricks, no library
 * code).
 *
 * What is covered, per format (5 formats):
 *   - the array fast path gka_round_array_f32 on ALL 2^32 patterns under
 *     NE, NA, TZ, TP, TN (subnormals kept, overflow to Inf/NaN);
 *   - for NE with subnormals flushed, NE saturating, and TN flushed +
 *     saturating: every pattern of the ranges where the option acts (LOW,
 *     HIGH below: both signs, every significand);
 *   - the scalar path gka_round (float -> double -> round -> float) on the
 *     same sweeps, on a subset of each: every 257th pattern (the low bits
 *     run through all values), plus every pattern whose bits
 *     below the format's last significand bit (at the normal-range spacing)
 *     are 0, 1, half - 1, half, half + 1 or all ones (ties and their
 *     neighbours in every binade): about 2^24 patterns per sweep;
 *   - NaN: every NaN pattern (all payloads, both signs) must give a NaN of
 *     the same sign; any other mismatch in bits counts as a failure.
 * Flags of the array path are checked against the scalar path in
 * tests/unit/test_round_array.c, not here.
 *
 * Time (measured, see docs/BENCHMARKS.md): 552 s of CPU in all, so about
 * 4.6 minutes of wall time on 2 otherwise idle cores (OpenMP over chunks of
 * 65536 patterns). GKA_SWEEP_FORMATS=bf16,fp16 restricts the formats (for
 * debugging). */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "exhaustive/rint_reference.h"
#include "exhaustive/exhaustive_util.h"
#include "gka_precision.h"

/* The formats from their definitions (issue 2), independently of format.c. */
typedef struct {
    const char *name;
    int t, emin, emax, has_inf, is_e4m3;
} ref_format_t;

static const ref_format_t ref_formats[] = {
    {"bf16", 8, -126, 127, 1, 0}, {"fp16", 11, -14, 15, 1, 0}, {"tf32", 11, -126, 127, 1, 0},
    {"e4m3", 4, -6, 8, 0, 1},     {"e5m2", 3, -14, 15, 1, 0},
};

/* Which patterns a sweep covers: all 2^32, or (LOW) every pattern whose
 * exponent field E satisfies emin_b - t - 2 <= E < emin_b or E = 0, where
 * emin_b is the field of 2^emin: every |x| in [2^(emin-t-2), 2^emin) and the
 * float subnormals, i.e. everything that can round to a subnormal (flushing
 * acts there) down to an eighth of the smallest subnormal (below it every
 * magnitude takes the same path to 0 or q), and/or (HIGH) every pattern with
 * emax_b <= E <= emax_b + 1 or E = 255: |x| in [2^emax, 2^(emax+2)), Inf
 * and NaN, where saturation acts (above 2^(emax+2) every finite value is an
 * overflow of the same kind; those are covered by the full sweeps). */
enum { ALL = 0, LOW = 1, HIGH = 2 };

typedef struct {
    ref_mode_t ref;
    gka_round_mode_t mode;
    int subnormals, saturate, where;
} variant_t;

static const variant_t variants[] = {
    {REF_NE, GKA_RND_NE, 1, 0, ALL},  {REF_NA, GKA_RND_NA, 1, 0, ALL},
    {REF_TZ, GKA_RND_TZ, 1, 0, ALL},  {REF_TP, GKA_RND_TP, 1, 0, ALL},
    {REF_TN, GKA_RND_TN, 1, 0, ALL},  {REF_NE, GKA_RND_NE, 0, 0, LOW},
    {REF_NE, GKA_RND_NE, 1, 1, HIGH}, {REF_TN, GKA_RND_TN, 0, 1, LOW | HIGH},
};

/* Whether chunk c (patterns c * CHUNK ...) is in the sweep's range. */
static int chunk_selected(uint32_t c, int where, const ref_format_t *rf) {
    if (where == ALL) return 1;
    const int E = (int)((c >> 7) & 0xffu); /* CHUNK = 2^16: exponent = bits 7..14 of c */
    const int emin_b = rf->emin + 127, emax_b = rf->emax + 127;
    const int low = E == 0 || (E >= emin_b - rf->t - 2 && E < emin_b);
    const int high = E == 255 || (E >= emax_b && E <= emax_b + 1);
    return ((where & LOW) && low) || ((where & HIGH) && high);
}

enum { CHUNK = 1 << 16, NCHUNKS = 1 << 16, SCALAR_STRIDE = 257 }; /* CHUNK * NCHUNKS = 2^32 */

typedef struct {
    uint64_t expected; /* patterns in the sweep's range */
    uint64_t checked_fast, checked_scalar;
    uint64_t bad_fast, bad_scalar;
    uint32_t first_bad_fast, first_bad_scalar; /* pattern of the lowest failure */
} tally_t;

static float u2f(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Number of i where got[i] is not want[i] in the sense of ref_same, in a
 * form the compiler vectorises (integer tests on the patterns). */
static uint64_t count_bad(const float *want, const float *got, size_t n) {
    const uint32_t *w = (const uint32_t *)(const void *)want,
                   *g = (const uint32_t *)(const void *)got;
    uint64_t bad = 0;
#pragma omp simd reduction(+ : bad)
    for (size_t i = 0; i < n; i++) {
        const uint32_t wn = (w[i] & 0x7fffffffu) > 0x7f800000u;
        const uint32_t gn = (g[i] & 0x7fffffffu) > 0x7f800000u;
        const uint32_t same = (w[i] == g[i]) | (wn & gn & ((w[i] ^ g[i]) >> 31 == 0));
        bad += 1u - same;
    }
    return bad;
}

static void note_bad(uint64_t *count, uint32_t *first, uint32_t p) {
    if (*count == 0 || p < *first) *first = p;
    *count += 1;
}

static void merge(tally_t *into, const tally_t *from) {
    if (from->bad_fast && (!into->bad_fast || from->first_bad_fast < into->first_bad_fast))
        into->first_bad_fast = from->first_bad_fast;
    if (from->bad_scalar && (!into->bad_scalar || from->first_bad_scalar < into->first_bad_scalar))
        into->first_bad_scalar = from->first_bad_scalar;
    into->checked_fast += from->checked_fast;
    into->checked_scalar += from->checked_scalar;
    into->bad_fast += from->bad_fast;
    into->bad_scalar += from->bad_scalar;
}

static void check_scalar(float x, float want, uint32_t p, gka_rounding_t *r, tally_t *T) {
    const float s = (float)gka_round((double)x, r);
    T->checked_scalar++;
    if (!ref_same(want, s)) note_bad(&T->bad_scalar, &T->first_bad_scalar, p);
}

/* Check the chunk of patterns [base, base + CHUNK), which share sign and
 * exponent (CHUNK divides 2^23). */
static void check_chunk(uint32_t base, const ref_spec_t *spec, const gka_rounding_t *ctx, int d,
                        float *x, float *fast, float *want, tally_t *T) {
    for (uint32_t i = 0; i < CHUNK; i++)
        x[i] = u2f(base + i);
    gka_rounding_t r = *ctx;
    gka_round_array_f32(fast, x, CHUNK, &r);
    const int E = (int)((base >> 23) & 0xffu);
    if (E == 0xff) {
        for (uint32_t i = 0; i < CHUNK; i++)
            want[i] = ref_round_special(x[i], spec);
    } else {
        ref_set_mode(spec->mode);
        ref_round_block(want, x, CHUNK, E - 127, E == 0, spec);
        ref_set_mode(REF_NE);
    }
    if (count_bad(want, fast, CHUNK))
        for (uint32_t i = 0; i < CHUNK; i++)
            if (!ref_same(want[i], fast[i])) note_bad(&T->bad_fast, &T->first_bad_fast, base + i);
    /* the scalar path: every SCALAR_STRIDE-th pattern (a stride prime to 2,
     * so the low bits take every value), and in every group of patterns
     * sharing the bits above the last significand bit, the discarded bits
     * 0, 1, half - 1, half, half + 1, all ones */
    for (uint32_t i = (SCALAR_STRIDE - base % SCALAR_STRIDE) % SCALAR_STRIDE; i < CHUNK;
         i += SCALAR_STRIDE)
        check_scalar(x[i], want[i], base + i, &r, T);
    const uint32_t half = 1u << (d - 1), ones = (1u << d) - 1;
    const uint32_t lows[6] = {0, 1, half - 1, half, half + 1, ones};
    const uint64_t lo = base, hi = (uint64_t)base + CHUNK;
    for (uint64_t g = lo & ~(uint64_t)ones; g < hi; g += (uint64_t)ones + 1)
        for (int k = 0; k < 6; k++) {
            const uint64_t p = g + lows[k];
            if (p >= lo && p < hi) check_scalar(x[p - lo], want[p - lo], (uint32_t)p, &r, T);
        }
    T->checked_fast += CHUNK;
}

static tally_t sweep(const ref_format_t *rf, const gka_format_t *fmt, const variant_t *v) {
    ref_spec_t spec = {rf->t,
                       rf->emin,
                       rf->emax,
                       rf->has_inf,
                       ref_format_max(rf->t, rf->emax, rf->is_e4m3),
                       v->ref,
                       v->subnormals,
                       v->saturate};
    gka_rounding_t ctx = gka_rounding_default(fmt);
    ctx.mode = v->mode;
    ctx.subnormals = v->subnormals;
    ctx.saturate = v->saturate;
    const int d = 24 - rf->t;
    tally_t total;
    memset(&total, 0, sizeof total);
    uint64_t expected = 0;
    for (uint32_t c = 0; c < NCHUNKS; c++)
        if (chunk_selected(c, v->where, rf)) expected += CHUNK;
#pragma omp parallel
    {
        float *x = malloc(3 * CHUNK * sizeof(float));
        tally_t T;
        memset(&T, 0, sizeof T);
#pragma omp for schedule(dynamic, 16)
        for (uint32_t c = 0; c < NCHUNKS; c++)
            if (x && chunk_selected(c, v->where, rf))
                check_chunk(c * (uint32_t)CHUNK, &spec, &ctx, d, x, x + CHUNK, x + 2 * CHUNK, &T);
#pragma omp critical
        merge(&total, &T);
        free(x);
    }
    total.expected = expected;
    return total;
}

static int format_selected(const char *name) {
    return exhaustive_env_selects("GKA_SWEEP_FORMATS", name);
}

static void sweep_format(const char *name) {
    const ref_format_t *rf = NULL;
    for (size_t i = 0; i < sizeof ref_formats / sizeof ref_formats[0]; i++)
        if (!strcmp(ref_formats[i].name, name)) rf = &ref_formats[i];
    cr_assert_not_null(rf);
    if (!format_selected(name)) cr_skip_test("%s not in GKA_SWEEP_FORMATS", name);
    gka_format_t fmt;
    cr_assert_eq(gka_format_by_name(name, &fmt), GKA_OK);
    /* the library's format agrees with the definition used by the reference */
    cr_assert_eq(fmt.t, rf->t);
    cr_assert_eq(fmt.emin, rf->emin);
    cr_assert_eq(fmt.emax, rf->emax);
    cr_assert_eq(fmt.has_inf, rf->has_inf);
    cr_assert_eq(fmt.max, ref_format_max(rf->t, rf->emax, rf->is_e4m3));
    for (size_t k = 0; k < sizeof variants / sizeof variants[0]; k++) {
        const variant_t *v = &variants[k];
        const double t0 = exhaustive_now_s();
        const tally_t T = sweep(rf, &fmt, v);
        fprintf(stderr,
                "sweep %s %s subnormals=%d saturate=%d range=%s: %" PRIu64 " fast (%" PRIu64
                " bad), %" PRIu64 " scalar (%" PRIu64 " bad), %.1f s\n",
                name, gka_round_mode_name(v->mode), v->subnormals, v->saturate,
                v->where == ALL    ? "all"
                : v->where == LOW  ? "low"
                : v->where == HIGH ? "high"
                                   : "low+high",
                T.checked_fast, T.bad_fast, T.checked_scalar, T.bad_scalar,
                exhaustive_now_s() - t0);
        cr_expect_eq(T.checked_fast, T.expected, "not every pattern was checked");
        cr_expect(v->where != ALL || T.expected == UINT64_C(1) << 32);
        cr_expect_gt(T.checked_scalar, T.expected >> 9);
        cr_expect_eq(T.bad_fast, 0,
                     "%s %s sub=%d sat=%d: array path differs from the reference on %" PRIu64
                     " patterns, first 0x%08" PRIx32,
                     name, gka_round_mode_name(v->mode), v->subnormals, v->saturate, T.bad_fast,
                     T.first_bad_fast);
        cr_expect_eq(T.bad_scalar, 0,
                     "%s %s sub=%d sat=%d: gka_round differs from the reference on %" PRIu64
                     " patterns, first 0x%08" PRIx32,
                     name, gka_round_mode_name(v->mode), v->subnormals, v->saturate, T.bad_scalar,
                     T.first_bad_scalar);
    }
}

/* Criterion runs each test in its own process; the formats run one after
 * another so that OpenMP has the cores to itself. */
TestSuite(round_sweep, .timeout = 1500);

Test(round_sweep, bf16) {
    sweep_format("bf16");
}
Test(round_sweep, fp16) {
    sweep_format("fp16");
}
Test(round_sweep, tf32) {
    sweep_format("tf32");
}
Test(round_sweep, e4m3) {
    sweep_format("e4m3");
}
Test(round_sweep, e5m2) {
    sweep_format("e5m2");
}
