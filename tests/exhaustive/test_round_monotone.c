/* The exhaustive half of the CI-sized proof of correct rounding
 * (docs/ROUNDING_PROOF.md): for every format of tests/unit/round_proof.h and
 * every deterministic variant (7 modes x subnormals kept/flushed x overflow
 * to Inf/saturating), gka_round_array_f32 is monotone over all 2^32 float32
 * inputs in one pass each: taken in increasing order of value (-Inf ... -0,
 * +0 ... +Inf; NaN inputs aside), the results never decrease in the order
 *   -NaN < -Inf < ... < -0 < +0 < ... < +Inf < +NaN
 * (a NaN result, e4m3's overflow, sits beyond the infinity of its sign).
 * Every NaN input must give a NaN of its sign. With the MPFR check of every
 * breakpoint and its float32 neighbours (tests/unit/test_round_proof.c) this
 * proves that the array path rounds every float32 input correctly.
 *
 * fp32 (the identity on float32 values) is checked directly: every input
 * must come back unchanged in every variant, float32 subnormals excepted
 * when flushing (a zero of their sign) and NaNs (a quiet NaN of their sign).
 *
 * The custom formats run 14 of the 28 variants here (variant_in_pass).
 * GKA_MONOTONE_FORMATS=bf16,e4m3 restricts the formats (debugging). */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exhaustive/exhaustive_util.h"
#include "gka_precision.h"
#include "unit/round_proof.h"

enum { CHUNK = 1 << 16, NCHUNKS = 1 << 16 };

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__gnu_linux__)
#define CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CLONES
#endif

/* The result order above as an unsigned key. */
static inline uint32_t order_key(uint32_t u) {
    uint32_t m = u & 0x7fffffffu;
    m = m > 0x7f800000u ? 0x7f800001u : m;
    return (u >> 31) ? 0x7fffffffu - m : 0x80000000u + m;
}

/* Pairs out of order in y[0..n): keys must not increase (descending = 1,
 * the negative patterns, whose values fall as the pattern grows) or not
 * decrease (descending = 0). */
CLONES static uint64_t count_unordered(const uint32_t *y, size_t n, int descending) {
    uint64_t bad = 0;
    if (n < 2) return 0;
    const size_t m = n - 1;
    if (descending) {
#pragma omp simd reduction(+ : bad)
        for (size_t i = 0; i < m; i++)
            bad += order_key(y[i + 1]) > order_key(y[i]);
    } else {
#pragma omp simd reduction(+ : bad)
        for (size_t i = 0; i < m; i++)
            bad += order_key(y[i + 1]) < order_key(y[i]);
    }
    return bad;
}

/* NaN inputs whose result is not a NaN of the same sign. */
CLONES static uint64_t count_bad_nan(const uint32_t *x, const uint32_t *y, size_t n) {
    uint64_t bad = 0;
#pragma omp simd reduction(+ : bad)
    for (size_t i = 0; i < n; i++) {
        const uint32_t xn = (x[i] & 0x7fffffffu) > 0x7f800000u;
        const uint32_t ok = ((y[i] & 0x7fffffffu) > 0x7f800000u) & ((x[i] ^ y[i]) >> 31 == 0);
        bad += xn & (1u - ok);
    }
    return bad;
}

/* fp32: results that are not the input (see the header comment). */
CLONES static uint64_t count_not_identity(const uint32_t *x, const uint32_t *y, size_t n,
                                          int flush) {
    uint64_t bad = 0;
#pragma omp simd reduction(+ : bad)
    for (size_t i = 0; i < n; i++) {
        const uint32_t a = x[i] & 0x7fffffffu;
        uint32_t want = x[i];
        if (flush && a < 0x00800000u) want = x[i] & 0x80000000u;
        const uint32_t nan = a > 0x7f800000u;
        const uint32_t ok =
            nan ? ((y[i] & 0x7fffffffu) > 0x7f800000u) & ((x[i] ^ y[i]) >> 31 == 0) : y[i] == want;
        bad += 1u - ok;
    }
    return bad;
}

typedef struct {
    uint64_t unordered, bad_nan, checked;
    uint32_t first_chunk; /* lowest chunk with a failure */
} mono_tally_t;

static void fill_chunk(uint32_t *x, uint32_t base) {
    for (uint32_t i = 0; i < CHUNK; i++)
        x[i] = base + i;
}

/* Whether the chunk's inputs are ordered values: NaN patterns are left out
 * (the chunks 0x7f80/0xff80 hold the infinity at their first element). */
static size_t ordered_length(uint32_t c) {
    const uint32_t e = (c >> 7) & 0xffu;
    return e == 0xffu ? ((c & 0x7fu) == 0 ? 1 : 0) : CHUNK;
}

/* One format, all variants: each chunk is filled once and rounded in every
 * variant; the first and last result keys of each chunk are kept to check
 * the order across chunk boundaries afterwards. */
/* Which variants a format's pass covers: all 28 for the built-in formats;
 * for the custom ones the 7 modes with the default options and the 7 with
 * both options on (flushed and saturating), to keep the pass within minutes
 * (docs/ROUNDING_PROOF.md; their MPFR point checks cover all 28). */
static int variant_in_pass(const gka_format_t *f, int v) {
    const int options = v / PROOF_NMODES; /* 0: default, 3: flush + saturate */
    return f->storage_bits > 0 || options == 0 || options == 3;
}

static void monotone_format(const gka_format_t *f, mono_tally_t T[PROOF_NVARIANTS]) {
    uint32_t *firstk = malloc((size_t)NCHUNKS * PROOF_NVARIANTS * sizeof *firstk);
    uint32_t *lastk = malloc((size_t)NCHUNKS * PROOF_NVARIANTS * sizeof *lastk);
    cr_assert(firstk && lastk);
    memset(T, 0, PROOF_NVARIANTS * sizeof *T);
    for (int v = 0; v < PROOF_NVARIANTS; v++)
        T[v].first_chunk = UINT32_MAX;
#pragma omp parallel
    {
        uint32_t *x = malloc(2 * CHUNK * sizeof *x), *y = x ? x + CHUNK : NULL;
        mono_tally_t L[PROOF_NVARIANTS];
        memset(L, 0, sizeof L);
        for (int v = 0; v < PROOF_NVARIANTS; v++)
            L[v].first_chunk = UINT32_MAX;
#pragma omp for schedule(dynamic, 16)
        for (uint32_t c = 0; c < NCHUNKS; c++) {
            if (!x) continue;
            fill_chunk(x, c * (uint32_t)CHUNK);
            const size_t len = ordered_length(c);
            const int descending = c >= NCHUNKS / 2;
            for (int v = 0; v < PROOF_NVARIANTS; v++) {
                if (!variant_in_pass(f, v)) continue;
                gka_rounding_t r = proof_context(f, v);
                if (gka_round_array_f32((float *)(void *)y, (const float *)(const void *)x, CHUNK,
                                        &r) != GKA_OK)
                    L[v].unordered++;
                const uint64_t bad = count_unordered(y, len, descending) +
                                     (len < CHUNK ? count_bad_nan(x, y, CHUNK) : 0);
                if (bad && c < L[v].first_chunk) L[v].first_chunk = c;
                L[v].unordered += bad;
                L[v].checked += CHUNK;
                firstk[(size_t)c * PROOF_NVARIANTS + (size_t)v] = order_key(y[0]);
                lastk[(size_t)c * PROOF_NVARIANTS + (size_t)v] = order_key(y[len ? len - 1 : 0]);
            }
        }
#pragma omp critical
        for (int v = 0; v < PROOF_NVARIANTS; v++) {
            T[v].unordered += L[v].unordered;
            T[v].checked += L[v].checked;
            if (L[v].first_chunk < T[v].first_chunk) T[v].first_chunk = L[v].first_chunk;
        }
        free(x);
    }
    /* across chunks, in value order: -Inf (first of 0xff80), then the
     * negative chunks from 0xff7f down to 0x8000 (each from its last
     * pattern to its first), -0 -> +0, then 0x0000 up to 0x7f80 (+Inf) */
    const uint32_t neg_top = 0xff80u, pos_top = 0x7f80u;
    for (int v = 0; v < PROOF_NVARIANTS; v++) {
        if (!variant_in_pass(f, v)) continue;
#define KEY(arr, c) arr[(size_t)(c)*PROOF_NVARIANTS + (size_t)v]
        uint32_t prev = KEY(firstk, neg_top); /* R(-Inf) */
        uint64_t bad = 0;
        for (uint32_t c = neg_top - 1; c >= NCHUNKS / 2; c--) {
            bad += KEY(lastk, c) < prev; /* entering chunk c at its largest-magnitude end */
            prev = KEY(firstk, c);
        }
        for (uint32_t c = 0; c <= pos_top; c++) {
            bad += KEY(firstk, c) < prev;
            prev = KEY(lastk, c);
        }
#undef KEY
        T[v].unordered += bad;
    }
    free(firstk);
    free(lastk);
}

static int selected(const char *name) {
    return exhaustive_env_selects("GKA_MONOTONE_FORMATS", name);
}

static void monotone(int i) {
    const gka_format_t f = proof_format(i);
    if (!selected(f.name)) cr_skip_test("%s not in GKA_MONOTONE_FORMATS", f.name);
    const double t0 = exhaustive_now_s();
    mono_tally_t T[PROOF_NVARIANTS];
    monotone_format(&f, T);
    int nv = 0;
    for (int v = 0; v < PROOF_NVARIANTS; v++)
        nv += variant_in_pass(&f, v);
    fprintf(stderr, "monotone %s: %d variants x 2^32 inputs, %.1f s\n", f.name, nv,
            exhaustive_now_s() - t0);
    for (int v = 0; v < PROOF_NVARIANTS; v++) {
        if (!variant_in_pass(&f, v)) continue;
        const gka_rounding_t r = proof_context(&f, v);
        cr_expect_eq(T[v].checked, UINT64_C(1) << 32);
        cr_expect_eq(T[v].unordered, 0,
                     "%s mode %s sub %d sat %d: %" PRIu64
                     " results out of order or NaNs lost, first in chunk 0x%04" PRIx32,
                     f.name, gka_round_mode_name(r.mode), r.subnormals, r.saturate, T[v].unordered,
                     T[v].first_chunk);
    }
}

TestSuite(round_monotone, .timeout = 1500);

Test(round_monotone, tf32) {
    monotone(0);
}
Test(round_monotone, bf16) {
    monotone(1);
}
Test(round_monotone, fp16) {
    monotone(2);
}
Test(round_monotone, e4m3) {
    monotone(3);
}
Test(round_monotone, e5m2) {
    monotone(4);
}
Test(round_monotone, custom_2_m3_4) {
    monotone(5);
}
Test(round_monotone, custom_5_m20_20) {
    monotone(6);
}
Test(round_monotone, custom_3_m126_127) {
    monotone(7);
}
Test(round_monotone, custom_10_m12_12) {
    monotone(8);
}

/* fp32: the identity on every float32 input, in every variant. */
Test(round_monotone, fp32_identity) {
    if (!selected("fp32")) cr_skip_test("fp32 not in GKA_MONOTONE_FORMATS");
    uint64_t bad[PROOF_NVARIANTS] = {0};
#pragma omp parallel
    {
        uint32_t *x = malloc(2 * CHUNK * sizeof *x), *y = x ? x + CHUNK : NULL;
        uint64_t L[PROOF_NVARIANTS] = {0};
#pragma omp for schedule(dynamic, 16)
        for (uint32_t c = 0; c < NCHUNKS; c++) {
            if (!x) continue;
            fill_chunk(x, c * (uint32_t)CHUNK);
            for (int v = 0; v < PROOF_NVARIANTS; v++) {
                gka_rounding_t r = proof_context(&gka_fp32, v);
                gka_round_array_f32((float *)(void *)y, (const float *)(const void *)x, CHUNK, &r);
                L[v] += count_not_identity(x, y, CHUNK, !r.subnormals);
            }
        }
#pragma omp critical
        for (int v = 0; v < PROOF_NVARIANTS; v++)
            bad[v] += L[v];
        free(x);
    }
    for (int v = 0; v < PROOF_NVARIANTS; v++) {
        const gka_rounding_t r = proof_context(&gka_fp32, v);
        cr_expect_eq(bad[v], 0, "fp32 mode %s sub %d sat %d: %" PRIu64 " inputs changed",
                     gka_round_mode_name(r.mode), r.subnormals, r.saturate, bad[v]);
    }
}

/* The checker itself: a rounding that is not monotone is caught. */
Test(round_monotone, checker_catches_disorder) {
    uint32_t y[4] = {0x3f800000u, 0x40000000u, 0x3f800000u, 0x40400000u}; /* 1 2 1 3 */
    cr_assert_eq(count_unordered(y, 4, 0), 1);
    uint32_t z[3] = {0x80000000u, 0x00000000u, 0x7fc00000u}; /* -0 < +0 < +NaN */
    cr_assert_eq(count_unordered(z, 3, 0), 0);
    uint32_t w[2] = {0x00000000u, 0x80000000u}; /* +0 then -0: out of order */
    cr_assert_eq(count_unordered(w, 2, 0), 1);
    uint32_t n[2] = {0xffc00000u, 0xff800000u}; /* -NaN < -Inf */
    cr_assert_eq(count_unordered(n, 2, 0), 0);
}
