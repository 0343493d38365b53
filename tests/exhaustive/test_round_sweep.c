/* Exhaustive check of float32 rounding: every one of the 2^32 float32 bit
 * patterns is rounded to bf16, fp16, tf32, e4m3 and e5m2 and compared bit for
 * bit with an independently written reference (exhaustive/rint_reference.h:
 * double arithmetic and rint() under fesetround, no bit tricks, no library
 * code).
 *
 * What is covered, per format (5 formats):
 *   - the array fast path gka_round_array_f32 on ALL 2^32 patterns under
 *     NE, NA, TZ, TP, TN (subnormals kept, overflow to Inf/NaN), and under
 *     NE with subnormals flushed, NE saturating, and TP flushed + saturating;
 *   - the scalar path gka_round (float -> double -> round -> float) on the
 *     same sweeps, on a subset of each: one pattern in 64 chosen by a
 *     multiplicative hash of the pattern, plus every pattern whose bits
 *     below the format's last significand bit (at the normal-range spacing)
 *     are 0, 1, half - 1, half, half + 1 or all ones (ties and their
 *     neighbours in every binade), plus all NaN/Inf/zero patterns of the
 *     chosen subset;
 *   - NaN: every NaN pattern (all payloads, both signs) must give a NaN of
 *     the same sign; any other mismatch in bits counts as a failure.
 * Flags of the array path are checked against the scalar path in
 * tests/unit/test_round_array.c, not here.
 *
 * Time (measured, see docs/BENCHMARKS.md): about 4 minutes on the 2-core
 * development machine. GKA_SWEEP_FORMATS=bf16,fp16 restricts the formats
 * (for debugging). */
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

typedef struct {
    ref_mode_t ref;
    gka_round_mode_t mode;
    int subnormals, saturate;
} variant_t;

static const variant_t variants[] = {
    {REF_NE, GKA_RND_NE, 1, 0}, {REF_NA, GKA_RND_NA, 1, 0}, {REF_TZ, GKA_RND_TZ, 1, 0},
    {REF_TP, GKA_RND_TP, 1, 0}, {REF_TN, GKA_RND_TN, 1, 0}, {REF_NE, GKA_RND_NE, 0, 0},
    {REF_NE, GKA_RND_NE, 1, 1}, {REF_TP, GKA_RND_TP, 0, 1},
};

enum { CHUNK = 1 << 16, NCHUNKS = 1 << 16 }; /* CHUNK * NCHUNKS = 2^32 */

typedef struct {
    uint64_t checked_fast, checked_scalar;
    uint64_t bad_fast, bad_scalar;
    uint32_t first_bad_fast, first_bad_scalar; /* pattern of the lowest failure */
} tally_t;

static float u2f(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Whether the scalar path checks pattern p (see the header comment). */
static int scalar_subset(uint32_t p, int d) {
    if (((p * 0x9E3779B1u) >> 26) == 0) return 1; /* 1 in 64, spread over everything */
    const uint32_t low = p & ((1u << d) - 1), half = 1u << (d - 1);
    return low == 0 || low == 1 || low == half - 1 || low == half || low == half + 1 ||
           low == (1u << d) - 1;
}

static void note_bad(uint64_t *count, uint32_t *first, uint32_t p) {
    if (*count == 0 || p < *first) *first = p;
    *count += 1;
}

static void merge(tally_t *into, const tally_t *from) {
    if (from->bad_fast && (!into->bad_fast || from->first_bad_fast < into->first_bad_fast))
        into->first_bad_fast = from->first_bad_fast;
    if (from->bad_scalar &&
        (!into->bad_scalar || from->first_bad_scalar < into->first_bad_scalar))
        into->first_bad_scalar = from->first_bad_scalar;
    into->checked_fast += from->checked_fast;
    into->checked_scalar += from->checked_scalar;
    into->bad_fast += from->bad_fast;
    into->bad_scalar += from->bad_scalar;
}

/* Check the chunk of patterns [base, base + CHUNK), which share sign and
 * exponent (CHUNK divides 2^23). */
static void check_chunk(uint32_t base, const ref_spec_t *spec, const gka_rounding_t *ctx, int d,
                        float *x, float *fast, float *want, tally_t *T) {
    for (uint32_t i = 0; i < CHUNK; i++) x[i] = u2f(base + i);
    gka_rounding_t r = *ctx;
    gka_round_array_f32(fast, x, CHUNK, &r);
    const int E = (int)((base >> 23) & 0xffu);
    if (E == 0xff) {
        for (uint32_t i = 0; i < CHUNK; i++) want[i] = ref_round_special(x[i], spec);
    } else {
        ref_set_mode(spec->mode);
        ref_round_block(want, x, CHUNK, E - 127, E == 0, spec);
        ref_set_mode(REF_NE);
    }
    for (uint32_t i = 0; i < CHUNK; i++) {
        if (!ref_same(want[i], fast[i])) note_bad(&T->bad_fast, &T->first_bad_fast, base + i);
        if (!scalar_subset(base + i, d)) continue;
        const float s = (float)gka_round((double)x[i], &r);
        T->checked_scalar++;
        if (!ref_same(want[i], s)) note_bad(&T->bad_scalar, &T->first_bad_scalar, base + i);
    }
    T->checked_fast += CHUNK;
}

static tally_t sweep(const ref_format_t *rf, const gka_format_t *fmt, const variant_t *v) {
    ref_spec_t spec = {rf->t, rf->emin, rf->emax, rf->has_inf,
                       ref_format_max(rf->t, rf->emax, rf->is_e4m3), v->ref, v->subnormals,
                       v->saturate};
    gka_rounding_t ctx = gka_rounding_default(fmt);
    ctx.mode = v->mode;
    ctx.subnormals = v->subnormals;
    ctx.saturate = v->saturate;
    const int d = 24 - rf->t;
    tally_t total;
    memset(&total, 0, sizeof total);
#pragma omp parallel
    {
        float *x = malloc(3 * CHUNK * sizeof(float));
        tally_t T;
        memset(&T, 0, sizeof T);
#pragma omp for schedule(dynamic, 16)
        for (uint32_t c = 0; c < NCHUNKS; c++)
            if (x) check_chunk(c * (uint32_t)CHUNK, &spec, &ctx, d, x, x + CHUNK, x + 2 * CHUNK, &T);
#pragma omp critical
        merge(&total, &T);
        free(x);
    }
    return total;
}

static int format_selected(const char *name) {
    const char *sel = getenv("GKA_SWEEP_FORMATS");
    if (!sel || !*sel) return 1;
    const size_t n = strlen(name);
    for (const char *p = strstr(sel, name); p; p = strstr(p + 1, name))
        if ((p == sel || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return 1;
    return 0;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
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
        const double t0 = now_s();
        const tally_t T = sweep(rf, &fmt, v);
        fprintf(stderr,
                "sweep %s %s subnormals=%d saturate=%d: %" PRIu64 " fast (%" PRIu64
                " bad), %" PRIu64 " scalar (%" PRIu64 " bad), %.1f s\n",
                name, gka_round_mode_name(v->mode), v->subnormals, v->saturate, T.checked_fast,
                T.bad_fast, T.checked_scalar, T.bad_scalar, now_s() - t0);
        cr_expect_eq(T.checked_fast, UINT64_C(1) << 32, "not every pattern was checked");
        cr_expect_gt(T.checked_scalar, UINT64_C(1) << 26);
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

Test(round_sweep, bf16) { sweep_format("bf16"); }
Test(round_sweep, fp16) { sweep_format("fp16"); }
Test(round_sweep, tf32) { sweep_format("tf32"); }
Test(round_sweep, e4m3) { sweep_format("e4m3"); }
Test(round_sweep, e5m2) { sweep_format("e5m2"); }
