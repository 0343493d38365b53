/* The exhaustive float32 rounding checks in one pass over the 2^32 inputs per
 * format (docs/ROUNDING_PROOF.md). Each chunk of 65536 consecutive patterns
 * (one sign, one float32 exponent) is filled once and rounded by
 * gka_round_array_f32 in every variant of the pass; the same output feeds
 * every check below. This replaces test_round_monotone.c and
 * test_round_sweep.c, and keeps each of their checks:
 *
 * Monotone (the exhaustive half of the rounding proof), for the 9 formats of
 * tests/unit/round_proof.h:
 *   M1 taken in increasing order of value (-Inf ... -0, +0 ... +Inf; NaN
 *      inputs aside), the results never decrease in the order
 *        -NaN < -Inf < ... < -0 < +0 < ... < +Inf < +NaN
 *      (a NaN result, e4m3's overflow, sits beyond the infinity of its sign),
 *      inside each chunk and across chunk boundaries (the first and last
 *      result of each chunk are kept and chained in value order afterwards);
 *   M2 every NaN input gives a NaN of its sign;
 *   M3 gka_round_array_f32 returns GKA_OK;
 *   M4 every input is checked once per variant (2^32 in all);
 *   variants: all 28 (7 deterministic modes x subnormals kept/flushed x
 *   overflow to Inf/saturating) for the built-in formats, 14 for the custom
 *   ones (the 7 modes with default options and with both on; their MPFR
 *   point checks cover all 28).
 *   M5 fp32 (the identity on float32 values): in all 28 variants every input
 *      comes back unchanged, float32 subnormals excepted when flushing (a zero
 *      of their sign) and NaNs (a NaN of their sign).
 *   M6 the order checker catches disorder (checker_catches_disorder).
 *
 * Reference (formerly the sweep), for bf16, fp16, tf32, e4m3, e5m2, bit for
 * bit against an independent reference (exhaustive/rint_reference.h: double
 * arithmetic and rint() under fesetround, no library code):
 *   R1 the array path on ALL 2^32 patterns under NE, NA, TZ, TP, TN
 *      (subnormals kept, overflow to Inf/NaN);
 *   R2 NE flushed, NE saturating, TN flushed + saturating on every pattern of
 *      the ranges where the option acts (LOW, HIGH below);
 *   R3 the scalar path gka_round (float -> double -> round -> float) on a
 *      subset of the same sweeps: every 257th pattern plus every pattern whose
 *      bits below the format's last significand bit (normal-range spacing)
 *      are 0, 1, half - 1, half, half + 1 or all ones (about 2^24 a sweep);
 *   R4 NaN: every NaN pattern must give a NaN of the same sign (any other bit
 *      mismatch fails);
 *   R5 every pattern of a sweep's range is checked (ALL: 2^32), and the
 *      scalar subset holds more than 1/512 of it;
 *   R6 the library's format parameters (t, emin, emax, has_inf, max) agree
 *      with the definitions the reference uses.
 * Flags of the array path are checked in tests/unit/test_round_array.c.
 *
 * Environment: GKA_EXHAUSTIVE_FORMATS=bf16,e4m3,fp32 restricts the formats;
 * GKA_EXHAUSTIVE_STRIDE=S (a power of two up to 128, default 1) checks only
 * the chunks whose index is a multiple of S, plus the two infinity chunks:
 * every exponent stays covered and the cross-chunk order check runs over the
 * chunks taken (monotone on the whole line implies monotone on a subset), a
 * partial run for debugging. */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exhaustive/exhaustive_util.h"
#include "exhaustive/rint_reference.h"
#include "gka_precision.h"
#include "unit/round_proof.h"

enum { CHUNK = 1 << 16, NCHUNKS = 1 << 16, SCALAR_STRIDE = 257 }; /* CHUNK * NCHUNKS = 2^32 */
enum { NEG_INF_CHUNK = 0xff80u, POS_INF_CHUNK = 0x7f80u };

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__gnu_linux__)
#define CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CLONES
#endif

/* ---- the run's range ---------------------------------------------------- */

static uint32_t chunk_stride(void) {
    const char *s = getenv("GKA_EXHAUSTIVE_STRIDE");
    const long v = s && *s ? strtol(s, NULL, 10) : 1;
    cr_assert(v >= 1 && v <= 128 && (v & (v - 1)) == 0,
              "GKA_EXHAUSTIVE_STRIDE must be a power of two from 1 to 128, not '%s'", s);
    return (uint32_t)v;
}

static int chunk_in_run(uint32_t c, uint32_t stride) {
    return c % stride == 0 || c == NEG_INF_CHUNK || c == POS_INF_CHUNK;
}

static uint64_t chunks_in_run(uint32_t stride) {
    uint64_t n = 0;
    for (uint32_t c = 0; c < NCHUNKS; c++)
        n += (uint64_t)chunk_in_run(c, stride);
    return n;
}

static int selected(const char *name) {
    return exhaustive_env_selects("GKA_EXHAUSTIVE_FORMATS", name);
}

static void fill_chunk(uint32_t *x, uint32_t base) {
    for (uint32_t i = 0; i < CHUNK; i++)
        x[i] = base + i;
}

/* ---- monotone checks (M1, M2, M5) --------------------------------------- */

/* The result order of M1 as an unsigned key. */
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

/* fp32: results that are not the input (M5). */
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

/* The length of the chunk's run of ordered values: NaN patterns are left out
 * (the chunks 0x7f80/0xff80 hold the infinity at their first element). */
static size_t ordered_length(uint32_t c) {
    const uint32_t e = (c >> 7) & 0xffu;
    return e == 0xffu ? ((c & 0x7fu) == 0 ? 1 : 0) : CHUNK;
}

/* Which proof variants a format's pass covers (see the header). */
static int variant_in_pass(const gka_format_t *f, int v) {
    const int options = v / PROOF_NMODES; /* 0: default, 3: flush + saturate */
    return f->storage_bits > 0 || options == 0 || options == 3;
}

/* ---- reference checks (R1-R5) ------------------------------------------- */

/* The formats from their definitions (issue 2), independently of format.c. */
typedef struct {
    const char *name;
    int t, emin, emax, has_inf, is_e4m3;
} ref_format_t;

static const ref_format_t ref_formats[] = {
    {"bf16", 8, -126, 127, 1, 0}, {"fp16", 11, -14, 15, 1, 0}, {"tf32", 11, -126, 127, 1, 0},
    {"e4m3", 4, -6, 8, 0, 1},     {"e5m2", 3, -14, 15, 1, 0},
};

/* Which patterns a reference sweep covers: all 2^32, or (LOW) every pattern
 * whose exponent field E satisfies emin_b - t - 2 <= E < emin_b or E = 0,
 * where emin_b is the field of 2^emin: every |x| in [2^(emin-t-2), 2^emin)
 * and the float subnormals, i.e. everything that can round to a subnormal
 * (flushing acts there) down to an eighth of the smallest subnormal (below
 * it every magnitude takes the same path to 0 or q), and/or (HIGH) every
 * pattern with emax_b <= E <= emax_b + 1 or E = 255: |x| in [2^emax,
 * 2^(emax+2)), Inf and NaN, where saturation acts (above 2^(emax+2) every
 * finite value is an overflow of the same kind; the full sweeps cover it). */
enum { ALL = 0, LOW = 1, HIGH = 2 };

/* A reference sweep: its proof variant (the array output it checks), the
 * reference's mode and its range. */
typedef struct {
    int proof_variant;
    ref_mode_t ref;
    int where;
} sweep_t;

enum { NSWEEPS = 8 };

/* proof_variant = mode index + 7 (flushed) + 14 (saturating); mode indices of
 * proof_modes: NE 0, NA 1, TP 3, TN 4, TZ 5. */
static const sweep_t sweeps[NSWEEPS] = {
    {0, REF_NE, ALL}, {1, REF_NA, ALL}, {5, REF_TZ, ALL},   {3, REF_TP, ALL},
    {4, REF_TN, ALL}, {7, REF_NE, LOW}, {14, REF_NE, HIGH}, {25, REF_TN, LOW | HIGH},
};

/* Whether chunk c (patterns c * CHUNK ...) is in the sweep's range. */
static int chunk_in_sweep(uint32_t c, int where, const ref_format_t *rf) {
    if (where == ALL) return 1;
    const int E = (int)((c >> 7) & 0xffu); /* CHUNK = 2^16: exponent = bits 7..14 of c */
    const int emin_b = rf->emin + 127, emax_b = rf->emax + 127;
    const int low = E == 0 || (E >= emin_b - rf->t - 2 && E < emin_b);
    const int high = E == 255 || (E >= emax_b && E <= emax_b + 1);
    return ((where & LOW) && low) || ((where & HIGH) && high);
}

static ref_spec_t sweep_spec(const ref_format_t *rf, const gka_rounding_t *r, ref_mode_t m) {
    const ref_spec_t s = {
        rf->t, rf->emin,      rf->emax,   rf->has_inf, ref_format_max(rf->t, rf->emax, rf->is_e4m3),
        m,     r->subnormals, r->saturate};
    return s;
}

/* Number of i where got[i] is not want[i] in the sense of ref_same, in a
 * form the compiler vectorises (integer tests on the patterns). */
CLONES static uint64_t count_bad(const uint32_t *w, const uint32_t *g, size_t n) {
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

static float u2f(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

typedef struct {
    uint64_t checked_fast, checked_scalar;
    uint64_t bad_fast, bad_scalar;
    uint32_t first_bad_fast, first_bad_scalar; /* pattern of the lowest failure */
} ref_tally_t;

static void note_bad(uint64_t *count, uint32_t *first, uint32_t p) {
    if (*count == 0 || p < *first) *first = p;
    *count += 1;
}

static void check_scalar(float x, float want, uint32_t p, const gka_rounding_t *ctx,
                         ref_tally_t *T) {
    gka_rounding_t r = *ctx;
    const float s = (float)gka_round((double)x, &r);
    T->checked_scalar++;
    if (!ref_same(want, s)) note_bad(&T->bad_scalar, &T->first_bad_scalar, p);
}

/* The reference results of the chunk at base (one sign, one exponent). */
static void reference_chunk(uint32_t base, const float *x, float *want, const ref_spec_t *spec) {
    const int E = (int)((base >> 23) & 0xffu);
    if (E == 0xff) {
        for (uint32_t i = 0; i < CHUNK; i++)
            want[i] = ref_round_special(x[i], spec);
        return;
    }
    ref_set_mode(spec->mode);
    ref_round_block(want, x, CHUNK, E - 127, E == 0, spec);
    ref_set_mode(REF_NE);
}

/* R3's subset of the chunk through the scalar path: every SCALAR_STRIDE-th
 * pattern (a stride prime to 2, so the low bits take every value), and in
 * every group of patterns sharing the bits above the last significand bit,
 * the discarded bits 0, 1, half - 1, half, half + 1, all ones. */
static void check_scalar_subset(uint32_t base, const float *x, const float *want, int d,
                                const gka_rounding_t *r, ref_tally_t *T) {
    for (uint32_t i = (SCALAR_STRIDE - base % SCALAR_STRIDE) % SCALAR_STRIDE; i < CHUNK;
         i += SCALAR_STRIDE)
        check_scalar(x[i], want[i], base + i, r, T);
    const uint32_t half = 1u << (d - 1), ones = (1u << d) - 1;
    const uint32_t lows[6] = {0, 1, half - 1, half, half + 1, ones};
    const uint64_t lo = base, hi = (uint64_t)base + CHUNK;
    for (uint64_t g = lo & ~(uint64_t)ones; g < hi; g += (uint64_t)ones + 1)
        for (int k = 0; k < 6; k++) {
            const uint64_t p = g + lows[k];
            if (p >= lo && p < hi) check_scalar(x[p - lo], want[p - lo], (uint32_t)p, r, T);
        }
}

/* R1-R4 on one chunk whose array results are already in y. */
static void reference_check_chunk(uint32_t base, const ref_format_t *rf, const gka_rounding_t *r,
                                  ref_mode_t m, const uint32_t *x, const uint32_t *y,
                                  uint32_t *want, ref_tally_t *T) {
    const ref_spec_t spec = sweep_spec(rf, r, m);
    const float *xf = (const float *)(const void *)x;
    float *wf = (float *)(void *)want;
    reference_chunk(base, xf, wf, &spec);
    if (count_bad(want, y, CHUNK))
        for (uint32_t i = 0; i < CHUNK; i++)
            if (!ref_same(wf[i], u2f(y[i]))) note_bad(&T->bad_fast, &T->first_bad_fast, base + i);
    check_scalar_subset(base, xf, wf, 24 - rf->t, r, T);
    T->checked_fast += CHUNK;
}

/* ---- the pass over one format ------------------------------------------- */

typedef struct {
    uint64_t unordered, checked;
    uint32_t first_chunk; /* lowest chunk with a failure */
} mono_tally_t;

typedef struct {
    mono_tally_t mono[PROOF_NVARIANTS];
    ref_tally_t ref[NSWEEPS];
} pass_tally_t;

static void tally_init(pass_tally_t *T) {
    memset(T, 0, sizeof *T);
    for (int v = 0; v < PROOF_NVARIANTS; v++)
        T->mono[v].first_chunk = UINT32_MAX;
}

static void tally_merge(pass_tally_t *into, const pass_tally_t *from) {
    for (int v = 0; v < PROOF_NVARIANTS; v++) {
        mono_tally_t *a = &into->mono[v];
        const mono_tally_t *b = &from->mono[v];
        a->unordered += b->unordered;
        a->checked += b->checked;
        if (b->first_chunk < a->first_chunk) a->first_chunk = b->first_chunk;
    }
    for (int s = 0; s < NSWEEPS; s++) {
        ref_tally_t *a = &into->ref[s];
        const ref_tally_t *b = &from->ref[s];
        if (b->bad_fast && (!a->bad_fast || b->first_bad_fast < a->first_bad_fast))
            a->first_bad_fast = b->first_bad_fast;
        if (b->bad_scalar && (!a->bad_scalar || b->first_bad_scalar < a->first_bad_scalar))
            a->first_bad_scalar = b->first_bad_scalar;
        a->checked_fast += b->checked_fast;
        a->checked_scalar += b->checked_scalar;
        a->bad_fast += b->bad_fast;
        a->bad_scalar += b->bad_scalar;
    }
}

/* The reference sweep that checks proof variant v, or -1. */
static int sweep_of_variant(int v) {
    for (int s = 0; s < NSWEEPS; s++)
        if (sweeps[s].proof_variant == v) return s;
    return -1;
}

/* The first and last result keys of every chunk and variant, for the order
 * across chunk boundaries. */
typedef struct {
    uint32_t *first, *last;
} edge_keys_t;

#define EDGE(arr, c, v) (arr)[(size_t)(c)*PROOF_NVARIANTS + (size_t)(v)]

/* Every check on chunk c in variant v (rf: the reference format or NULL). */
static void check_variant(uint32_t c, int v, const gka_format_t *f, const ref_format_t *rf,
                          const uint32_t *x, uint32_t *y, uint32_t *want, edge_keys_t K,
                          pass_tally_t *L) {
    gka_rounding_t r = proof_context(f, v);
    mono_tally_t *M = &L->mono[v];
    if (gka_round_array_f32((float *)(void *)y, (const float *)(const void *)x, CHUNK, &r) !=
        GKA_OK)
        M->unordered++;
    const size_t len = ordered_length(c);
    const uint64_t bad =
        count_unordered(y, len, c >= NCHUNKS / 2) + (len < CHUNK ? count_bad_nan(x, y, CHUNK) : 0);
    if (bad && c < M->first_chunk) M->first_chunk = c;
    M->unordered += bad;
    M->checked += CHUNK;
    EDGE(K.first, c, v) = order_key(y[0]);
    EDGE(K.last, c, v) = order_key(y[len ? len - 1 : 0]);
    const int s = rf ? sweep_of_variant(v) : -1;
    if (s >= 0 && chunk_in_sweep(c, sweeps[s].where, rf))
        reference_check_chunk(c * (uint32_t)CHUNK, rf, &r, sweeps[s].ref, x, y, want, &L->ref[s]);
}

/* M1 across chunks, in value order: -Inf (first of 0xff80), then the negative
 * chunks from 0xff7f down to 0x8000 (each from its last pattern, the largest
 * magnitude, to its first), -0 -> +0, then 0x0000 up to 0x7f80 (+Inf). */
static uint64_t count_unordered_edges(edge_keys_t K, int v, uint32_t stride) {
    uint32_t prev = EDGE(K.first, NEG_INF_CHUNK, v); /* R(-Inf) */
    uint64_t bad = 0;
    for (uint32_t c = NEG_INF_CHUNK - 1; c >= NCHUNKS / 2; c--) {
        if (!chunk_in_run(c, stride)) continue;
        bad += EDGE(K.last, c, v) < prev;
        prev = EDGE(K.first, c, v);
    }
    for (uint32_t c = 0; c <= POS_INF_CHUNK; c++) {
        if (!chunk_in_run(c, stride)) continue;
        bad += EDGE(K.first, c, v) < prev;
        prev = EDGE(K.last, c, v);
    }
    return bad;
}

static void pass_format(const gka_format_t *f, const ref_format_t *rf, uint32_t stride,
                        pass_tally_t *T) {
    edge_keys_t K = {malloc((size_t)NCHUNKS * PROOF_NVARIANTS * sizeof *K.first),
                     malloc((size_t)NCHUNKS * PROOF_NVARIANTS * sizeof *K.last)};
    cr_assert(K.first && K.last);
    tally_init(T);
#pragma omp parallel
    {
        uint32_t *x = malloc(3 * CHUNK * sizeof *x);
        pass_tally_t L;
        tally_init(&L);
#pragma omp for schedule(dynamic, 16)
        for (uint32_t c = 0; c < NCHUNKS; c++) {
            if (!x || !chunk_in_run(c, stride)) continue;
            fill_chunk(x, c * (uint32_t)CHUNK);
            for (int v = 0; v < PROOF_NVARIANTS; v++)
                if (variant_in_pass(f, v))
                    check_variant(c, v, f, rf, x, x + CHUNK, x + 2 * CHUNK, K, &L);
        }
#pragma omp critical
        tally_merge(T, &L);
        free(x);
    }
    for (int v = 0; v < PROOF_NVARIANTS; v++)
        if (variant_in_pass(f, v)) T->mono[v].unordered += count_unordered_edges(K, v, stride);
    free(K.first);
    free(K.last);
}

/* ---- reporting ---------------------------------------------------------- */

static const ref_format_t *ref_format_of(const char *name) {
    for (size_t i = 0; i < sizeof ref_formats / sizeof ref_formats[0]; i++)
        if (!strcmp(ref_formats[i].name, name)) return &ref_formats[i];
    return NULL;
}

/* R6 */
static void expect_format_matches_definition(const gka_format_t *f, const ref_format_t *rf) {
    cr_assert_eq(f->t, rf->t);
    cr_assert_eq(f->emin, rf->emin);
    cr_assert_eq(f->emax, rf->emax);
    cr_assert_eq(f->has_inf, rf->has_inf);
    cr_assert_eq(f->max, ref_format_max(rf->t, rf->emax, rf->is_e4m3));
}

static const char *where_name(int where) {
    return where == ALL ? "all" : where == LOW ? "low" : where == HIGH ? "high" : "low+high";
}

static void expect_monotone(const gka_format_t *f, const pass_tally_t *T, uint64_t inputs) {
    for (int v = 0; v < PROOF_NVARIANTS; v++) {
        if (!variant_in_pass(f, v)) continue;
        const gka_rounding_t r = proof_context(f, v);
        cr_expect_eq(T->mono[v].checked, inputs);
        cr_expect_eq(T->mono[v].unordered, 0,
                     "%s mode %s sub %d sat %d: %" PRIu64
                     " results out of order or NaNs lost, first in chunk 0x%04" PRIx32,
                     f->name, gka_round_mode_name(r.mode), r.subnormals, r.saturate,
                     T->mono[v].unordered, T->mono[v].first_chunk);
    }
}

static void expect_reference(const gka_format_t *f, const ref_format_t *rf, const pass_tally_t *T,
                             uint32_t stride) {
    for (int s = 0; s < NSWEEPS; s++) {
        const ref_tally_t *R = &T->ref[s];
        const gka_rounding_t r = proof_context(f, sweeps[s].proof_variant);
        uint64_t expected = 0;
        for (uint32_t c = 0; c < NCHUNKS; c++)
            if (chunk_in_run(c, stride) && chunk_in_sweep(c, sweeps[s].where, rf))
                expected += CHUNK;
        fprintf(stderr,
                "reference %s %s subnormals=%d saturate=%d range=%s: %" PRIu64 " fast (%" PRIu64
                " bad), %" PRIu64 " scalar (%" PRIu64 " bad)\n",
                f->name, gka_round_mode_name(r.mode), r.subnormals, r.saturate,
                where_name(sweeps[s].where), R->checked_fast, R->bad_fast, R->checked_scalar,
                R->bad_scalar);
        cr_expect_eq(R->checked_fast, expected, "not every pattern was checked");
        cr_expect(sweeps[s].where != ALL || stride > 1 || expected == UINT64_C(1) << 32);
        cr_expect_gt(R->checked_scalar, expected >> 9);
        cr_expect_eq(R->bad_fast, 0,
                     "%s %s sub=%d sat=%d: array path differs from the reference on %" PRIu64
                     " patterns, first 0x%08" PRIx32,
                     f->name, gka_round_mode_name(r.mode), r.subnormals, r.saturate, R->bad_fast,
                     R->first_bad_fast);
        cr_expect_eq(R->bad_scalar, 0,
                     "%s %s sub=%d sat=%d: gka_round differs from the reference on %" PRIu64
                     " patterns, first 0x%08" PRIx32,
                     f->name, gka_round_mode_name(r.mode), r.subnormals, r.saturate, R->bad_scalar,
                     R->first_bad_scalar);
    }
}

static void exhaustive(int i) {
    const gka_format_t f = proof_format(i);
    if (!selected(f.name)) cr_skip_test("%s not in GKA_EXHAUSTIVE_FORMATS", f.name);
    const ref_format_t *rf = ref_format_of(f.name);
    if (rf) expect_format_matches_definition(&f, rf);
    const uint32_t stride = chunk_stride();
    const double t0 = exhaustive_now_s();
    pass_tally_t *T = malloc(sizeof *T);
    cr_assert_not_null(T);
    pass_format(&f, rf, stride, T);
    int nv = 0;
    for (int v = 0; v < PROOF_NVARIANTS; v++)
        nv += variant_in_pass(&f, v);
    const uint64_t inputs = chunks_in_run(stride) * CHUNK;
    fprintf(stderr, "exhaustive %s: %d variants x %" PRIu64 " inputs%s, %.1f s\n", f.name, nv,
            inputs, rf ? " (+ reference)" : "", exhaustive_now_s() - t0);
    cr_expect(stride > 1 || inputs == UINT64_C(1) << 32);
    expect_monotone(&f, T, inputs);
    if (rf) expect_reference(&f, rf, T, stride);
    free(T);
}

/* Criterion runs each test in its own process; CTest runs this executable as
 * one test, so the formats run one after another and OpenMP has the cores. */
TestSuite(round_exhaustive, .timeout = 1500);

Test(round_exhaustive, tf32) {
    exhaustive(0);
}
Test(round_exhaustive, bf16) {
    exhaustive(1);
}
Test(round_exhaustive, fp16) {
    exhaustive(2);
}
Test(round_exhaustive, e4m3) {
    exhaustive(3);
}
Test(round_exhaustive, e5m2) {
    exhaustive(4);
}
Test(round_exhaustive, custom_2_m3_4) {
    exhaustive(5);
}
Test(round_exhaustive, custom_5_m20_20) {
    exhaustive(6);
}
Test(round_exhaustive, custom_3_m126_127) {
    exhaustive(7);
}
Test(round_exhaustive, custom_10_m12_12) {
    exhaustive(8);
}

/* M5: fp32 is the identity on every float32 input, in every variant. */
Test(round_exhaustive, fp32_identity) {
    if (!selected("fp32")) cr_skip_test("fp32 not in GKA_EXHAUSTIVE_FORMATS");
    const uint32_t stride = chunk_stride();
    uint64_t bad[PROOF_NVARIANTS] = {0};
#pragma omp parallel
    {
        uint32_t *x = malloc(2 * CHUNK * sizeof *x), *y = x ? x + CHUNK : NULL;
        uint64_t L[PROOF_NVARIANTS] = {0};
#pragma omp for schedule(dynamic, 16)
        for (uint32_t c = 0; c < NCHUNKS; c++) {
            if (!x || !chunk_in_run(c, stride)) continue;
            fill_chunk(x, c * (uint32_t)CHUNK);
            for (int v = 0; v < PROOF_NVARIANTS; v++) {
                gka_rounding_t r = proof_context(&gka_fp32, v);
                if (gka_round_array_f32((float *)(void *)y, (const float *)(const void *)x, CHUNK,
                                        &r) != GKA_OK)
                    L[v]++;
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

/* M6: a rounding that is not monotone is caught. */
Test(round_exhaustive, checker_catches_disorder) {
    uint32_t y[4] = {0x3f800000u, 0x40000000u, 0x3f800000u, 0x40400000u}; /* 1 2 1 3 */
    cr_assert_eq(count_unordered(y, 4, 0), 1);
    uint32_t z[3] = {0x80000000u, 0x00000000u, 0x7fc00000u}; /* -0 < +0 < +NaN */
    cr_assert_eq(count_unordered(z, 3, 0), 0);
    uint32_t w[2] = {0x00000000u, 0x80000000u}; /* +0 then -0: out of order */
    cr_assert_eq(count_unordered(w, 2, 0), 1);
    uint32_t n[2] = {0xffc00000u, 0xff800000u}; /* -NaN < -Inf */
    cr_assert_eq(count_unordered(n, 2, 0), 0);
    uint32_t d[3] = {0xbf800000u, 0xc0000000u, 0xbf800000u}; /* descending run: -1 -2 -1 */
    cr_assert_eq(count_unordered(d, 3, 1), 1);
}
