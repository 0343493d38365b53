/* gka_round_array_f32 and gka_round_array against the scalar gka_round:
 * random and edge inputs, every format and mode (stochastic included),
 * subnormals kept/flushed, saturation on/off. Results must agree bit for
 * bit (NaNs included: both paths produce the canonical quiet NaN), flags
 * must equal the OR of the scalar flags, and counters must advance alike.
 * Chunked calls, in-place calls and different thread counts must give the
 * same results as one whole-array call. */
#include <criterion/criterion.h>

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "gka_precision.h"

static uint32_t f2u(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float u2f(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* xorshift64*: test inputs only (the library's generator is under test elsewhere) */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static const gka_round_mode_t all_modes[] = {GKA_RND_NA, GKA_RND_NZ, GKA_RND_NE,
                                             GKA_RND_TP, GKA_RND_TN, GKA_RND_TZ,
                                             GKA_RND_SP, GKA_RND_SE, GKA_RND_OD};
static const char *format_names[] = {"bf16", "fp16", "tf32", "e4m3", "e5m2", "fp32", "fp64",
                                     "custom:5,-20,20", "custom:24,-100,100", "custom:26,-126,127",
                                     "custom:6,-140,60",
                                     /* a wide format: on its normal inputs the subnormal kernel
                                      * sees |x| / q up to 3.6e10 (fuzz_grid under UBSan) */
                                     "custom:20,-14,1"};

enum { N_INPUT = 24000 };

/* Inputs: edge values of the format and of float32, values on, between and
 * halfway between neighbouring grid points, and random bit patterns. */
static size_t make_inputs(float *x, size_t cap, const gka_format_t *f) {
    size_t n = 0;
#define PUT(v)                                                                                     \
    do {                                                                                           \
        if (n < cap) x[n++] = (v);                                                                 \
    } while (0)
    const float edges[] = {0.0f,
                           1.0f,
                           1.5f,
                           3.0f,
                           FLT_MAX,
                           FLT_MIN,
                           0x1p-149f,
                           0x1.8p-148f,
                           INFINITY,
                           NAN,
                           u2f(0x7f800001u),
                           u2f(0x7fbfffffu),
                           u2f(0x7fc00001u),
                           u2f(0x7f801000u),
                           u2f(0x7ffff000u),
                           u2f(0x007fffffu)};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        PUT(edges[i]);
        PUT(-edges[i]);
    }
    /* the format's own landmarks and their float neighbours */
    const double marks[] = {f->max,
                            f->min_normal,
                            f->min_subnormal,
                            f->min_subnormal * 0.5,
                            f->min_subnormal * 1.5,
                            f->max + f->max * f->u * 0.5,
                            f->min_normal * (1 - f->u),
                            ldexp(1.0, f->emax + 1)};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        const float m = (float)marks[i];
        if (!isfinite(m) || m == 0) continue;
        for (int k = -2; k <= 2; k++) {
            const float v = u2f((uint32_t)((int64_t)f2u(m) + k));
            PUT(v);
            PUT(-v);
        }
    }
    const int t = f->t < 24 ? f->t : 24;
    while (n < cap) {
        const uint64_t b = rng();
        uint32_t p = (uint32_t)b;
        switch ((b >> 32) % 4) {
        case 0:
            break; /* any pattern */
        case 1:    /* exponent in the format's range, low bits at a tie or next to it */
        {
            const int span = f->emax - f->emin + t + 4;
            int e = f->emin - t - 1 + (int)((b >> 40) % (uint64_t)span);
            if (e < -149) e = -149;
            if (e > 127) e = 127;
            const float g = (float)ldexp(1.0 + (double)((b >> 8) & 0xffff) * 0x1p-16, e);
            const int k = (int)((b >> 60) % 5) - 2;
            const uint32_t half = t < 24 ? 1u << (23 - t) : 0;
            p = (f2u(g) & ~(2 * half - 1)) + half + (uint32_t)k;
            p |= (uint32_t)(b >> 63) << 31;
            break;
        }
        case 2: /* small magnitudes: subnormal range of the format */
            p = (p & 0x80000000u) |
                (f2u((float)f->min_normal) - (uint32_t)((b >> 34) % (30u << 23)));
            break;
        default: /* near overflow */
            p = (p & 0x80000000u) | (f2u((float)fmin(f->max, FLT_MAX)) +
                                     (uint32_t)((b >> 34) % (1u << 22)) - (1u << 21));
            break;
        }
        PUT(u2f(p));
    }
#undef PUT
    return n;
}

static gka_rounding_t context(const gka_format_t *f, gka_round_mode_t mode, int sub, int sat) {
    gka_rounding_t r = gka_rounding_default(f);
    r.mode = mode;
    r.subnormals = sub;
    r.saturate = sat;
    r.seed = 0x1234567890abcdefull;
    r.stream = 7;
    r.counter = 1000;
    return r;
}

static void expect_same_bits(const float *want, const float *got, size_t n, const char *what,
                             const gka_rounding_t *r) {
    for (size_t i = 0; i < n; i++) {
        if (f2u(want[i]) == f2u(got[i])) continue;
        cr_expect_eq(f2u(got[i]), f2u(want[i]),
                     "%s: %s mode %s sub=%d sat=%d element %zu: got 0x%08" PRIx32
                     " want 0x%08" PRIx32,
                     what, r->format.name, gka_round_mode_name(r->mode), r->subnormals, r->saturate,
                     i, f2u(got[i]), f2u(want[i]));
        return;
    }
}

/* One (format, mode, options): array vs scalar, chunked, in place. */
static void check_case(const gka_format_t *f, gka_round_mode_t mode, int sub, int sat,
                       const float *x, size_t n, float *want, float *got) {
    gka_rounding_t rs = context(f, mode, sub, sat);
    for (size_t i = 0; i < n; i++)
        want[i] = (float)gka_round((double)x[i], &rs);

    gka_rounding_t ra = context(f, mode, sub, sat);
    gka_round_array_f32(got, x, n, &ra);
    expect_same_bits(want, got, n, "array vs scalar", &ra);
    cr_expect_eq(ra.flags, rs.flags, "%s %s sub=%d sat=%d: flags 0x%x, scalar 0x%x", f->name,
                 gka_round_mode_name(mode), sub, sat, ra.flags, rs.flags);
    cr_expect_eq(ra.counter, rs.counter, "%s %s: counter %" PRIu64 ", scalar %" PRIu64, f->name,
                 gka_round_mode_name(mode), ra.counter, rs.counter);

    /* chunks of random lengths continue where the previous one stopped */
    gka_rounding_t rc = context(f, mode, sub, sat);
    for (size_t i = 0; i < n;) {
        size_t len = 1 + (size_t)(rng() % 3000);
        if (len > n - i) len = n - i;
        gka_round_array_f32(got + i, x + i, len, &rc);
        i += len;
    }
    expect_same_bits(want, got, n, "chunked", &rc);
    cr_expect_eq(rc.flags, rs.flags);
    cr_expect_eq(rc.counter, rs.counter);

    /* in place */
    memcpy(got, x, n * sizeof *got);
    gka_rounding_t ri = context(f, mode, sub, sat);
    gka_round_array_f32(got, got, n, &ri);
    expect_same_bits(want, got, n, "in place", &ri);
}

Test(round_array, f32_matches_scalar_all_formats_modes_options) {
    float *x = malloc(3 * N_INPUT * sizeof(float));
    cr_assert_not_null(x);
    float *want = x + N_INPUT, *got = x + 2 * N_INPUT;
    for (size_t fi = 0; fi < sizeof format_names / sizeof format_names[0]; fi++) {
        gka_format_t f;
        cr_assert_eq(gka_format_by_name(format_names[fi], &f), GKA_OK, "%s", format_names[fi]);
        const size_t n = make_inputs(x, N_INPUT, &f);
        for (size_t mi = 0; mi < sizeof all_modes / sizeof all_modes[0]; mi++)
            for (int sub = 0; sub <= 1; sub++)
                for (int sat = 0; sat <= 1; sat++)
                    check_case(&f, all_modes[mi], sub, sat, x, n, want, got);
        /* the same inputs restricted to the normal range: whole blocks of
         * them take the array path's "ordinary" kernels */
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (fabs((double)x[i]) >= f.min_normal && fabs((double)x[i]) <= f.max) x[m++] = x[i];
        cr_assert_gt(m, (size_t)1000, "%s: %zu normal inputs", f.name, m);
        for (size_t mi = 0; mi < sizeof all_modes / sizeof all_modes[0]; mi++)
            check_case(&f, all_modes[mi], 1, 0, x, m, want, got);
    }
    free(x);
}

/* NaN in, NaN out with its sign, whatever the payload (a payload entirely
 * below the target precision must not turn into an infinity), every format
 * and mode. */
Test(round_array, nan_payloads_stay_nan) {
    enum { N = 4096 };
    float x[N], y[N];
    for (size_t i = 0; i < N; i++) {
        uint32_t payload = (uint32_t)(i < 64 ? (1u << (i % 23)) : rng() & 0x7fffffu);
        if (payload == 0) payload = 1;
        x[i] = u2f((i & 1 ? 0xff800000u : 0x7f800000u) | payload);
    }
    for (size_t fi = 0; fi < sizeof format_names / sizeof format_names[0]; fi++) {
        gka_format_t f;
        cr_assert_eq(gka_format_by_name(format_names[fi], &f), GKA_OK);
        for (size_t mi = 0; mi < sizeof all_modes / sizeof all_modes[0]; mi++) {
            gka_rounding_t r = context(&f, all_modes[mi], 1, 0);
            gka_round_array_f32(y, x, N, &r);
            for (size_t i = 0; i < N; i++) {
                cr_assert(isnan(y[i]), "%s %s: NaN 0x%08" PRIx32 " gave 0x%08" PRIx32, f.name,
                          gka_round_mode_name(r.mode), f2u(x[i]), f2u(y[i]));
                cr_assert_eq(signbit(y[i]) != 0, signbit(x[i]) != 0);
            }
            cr_expect_eq(r.flags, 0u, "NaN inputs raise no flag");
        }
    }
}

/* A large array is split over threads: the result must not depend on the
 * thread count, and stochastic rounding must use counter + i for element i. */
Test(round_array, thread_count_and_counters_do_not_change_results) {
    enum { N = 300000 };
    float *x = malloc(3 * N * sizeof(float));
    cr_assert_not_null(x);
    float *a = x + N, *b = x + 2 * N;
    for (size_t i = 0; i < N; i++)
        x[i] = (float)ldexp((double)(rng() >> 11) * 0x1p-53 - 0.5, (int)(rng() % 40) - 20);
    const gka_round_mode_t modes[] = {GKA_RND_NE, GKA_RND_SP, GKA_RND_SE};
    for (size_t mi = 0; mi < 3; mi++) {
        gka_rounding_t r1 = context(&gka_bf16, modes[mi], 1, 0);
        gka_rounding_t r2 = r1;
#ifdef _OPENMP
        const int saved = omp_get_max_threads();
        omp_set_num_threads(1);
        gka_round_array_f32(a, x, N, &r1);
        omp_set_num_threads(saved > 1 ? saved : 2);
        gka_round_array_f32(b, x, N, &r2);
        omp_set_num_threads(saved);
#else
        gka_round_array_f32(a, x, N, &r1);
        gka_round_array_f32(b, x, N, &r2);
#endif
        cr_assert_eq(memcmp(a, b, N * sizeof(float)), 0, "mode %s", gka_round_mode_name(modes[mi]));
        cr_assert_eq(r1.flags, r2.flags);
        cr_assert_eq(r1.counter, r2.counter);
        /* element i uses counter + i: spot-check against a scalar context */
        for (size_t i = 0; i < N; i += 9973) {
            gka_rounding_t rs = context(&gka_bf16, modes[mi], 1, 0);
            rs.counter += i;
            cr_assert_eq(f2u((float)gka_round((double)x[i], &rs)), f2u(a[i]), "element %zu", i);
        }
    }
    /* a stochastic rounding that really is random: different seeds differ */
    gka_rounding_t r3 = context(&gka_bf16, GKA_RND_SP, 1, 0);
    r3.seed += 1;
    gka_round_array_f32(b, x, N, &r3);
    cr_expect_neq(memcmp(a, b, N * sizeof(float)), 0);
    free(x);
}

/* Arrays of 8 MB and more take the streaming-store path: same results,
 * out of place and in place, with a misaligned start. */
Test(round_array, large_arrays_stream_the_same_results) {
    const size_t N = (1u << 21) + 1237;
    float *x = malloc((3 * N + 1) * sizeof(float));
    cr_assert_not_null(x);
    float *want = x + N, *got = x + 2 * N + 1; /* got is misaligned by 4 bytes */
    for (size_t i = 0; i < N; i++)
        x[i] = (float)ldexp((double)(rng() >> 11) * 0x1p-53 - 0.5, (int)(rng() % 60) - 30);
    const gka_format_t *fmts[] = {&gka_bf16, &gka_fp16, &gka_e4m3};
    for (size_t fi = 0; fi < 3; fi++) {
        gka_rounding_t rs = context(fmts[fi], GKA_RND_NE, 1, 0), ra = rs, rp = rs;
        for (size_t i = 0; i < N; i++)
            want[i] = (float)gka_round((double)x[i], &rs);
        gka_round_array_f32(got, x, N, &ra);
        expect_same_bits(want, got, N, "large", &ra);
        cr_expect_eq(ra.flags, rs.flags);
        memcpy(got, x, N * sizeof(float));
        gka_round_array_f32(got, got, N, &rp);
        expect_same_bits(want, got, N, "large in place", &rp);
    }
    free(x);
}

Test(round_array, doubles_match_scalar) {
    enum { N = 20000 };
    double *x = malloc(3 * N * sizeof(double));
    cr_assert_not_null(x);
    double *want = x + N, *got = x + 2 * N;
    for (size_t i = 0; i < N; i++) {
        const double v = ldexp((double)(rng() >> 11) * 0x1p-53, (int)(rng() % 80) - 40);
        x[i] = (i % 7 == 0) ? (double)(float)v : (i & 1 ? -v : v);
    }
    x[0] = NAN;
    x[1] = -INFINITY;
    x[2] = -0.0;
    x[3] = 1e300;
    for (size_t fi = 0; fi < sizeof format_names / sizeof format_names[0]; fi++) {
        gka_format_t f;
        cr_assert_eq(gka_format_by_name(format_names[fi], &f), GKA_OK);
        for (size_t mi = 0; mi < sizeof all_modes / sizeof all_modes[0]; mi++) {
            gka_rounding_t rs = context(&f, all_modes[mi], 0, 1);
            gka_rounding_t ra = rs;
            for (size_t i = 0; i < N; i++)
                want[i] = gka_round(x[i], &rs);
            gka_round_array(got, x, N, &ra);
            for (size_t i = 0; i < N; i++) {
                uint64_t w, g;
                memcpy(&w, &want[i], sizeof w);
                memcpy(&g, &got[i], sizeof g);
                cr_assert_eq(g, w, "%s %s element %zu", f.name, gka_round_mode_name(ra.mode), i);
            }
            cr_expect_eq(ra.flags, rs.flags);
            cr_expect_eq(ra.counter, rs.counter);
        }
    }
    free(x);
}

/* Hand-checked values: the fast path must not merely agree with the scalar
 * path, both must be right. */
Test(round_array, known_values) {
    const float in[] = {1.00390625f, 1.01171875f, -1.00390625f, 65520.0f,   65519.0f,
                        464.0f,      465.0f,      0x1p-25f,     0x1.8p-24f, -0x1p-30f};
    float out[10];
    gka_rounding_t r = gka_rounding_default(&gka_bf16); /* bf16 spacing at 1 is 2^-7 */
    gka_round_array_f32(out, in, 3, &r);
    cr_expect_eq(out[0], 1.0f);      /* tie to even */
    cr_expect_eq(out[1], 1.015625f); /* tie to even (up) */
    cr_expect_eq(out[2], -1.0f);
    r = gka_rounding_default(&gka_fp16);
    gka_round_array_f32(out, in + 3, 2, &r);
    cr_expect(isinf(out[0]) && out[0] > 0); /* 65520 = max + half ulp: ties to even overflow */
    cr_expect_eq(out[1], 65504.0f);
    r = gka_rounding_default(&gka_e4m3);
    gka_round_array_f32(out, in + 5, 2, &r);
    cr_expect_eq(out[0], 448.0f); /* tie between 448 and 480: even is 448 */
    cr_expect(isnan(out[1]));     /* nearer 480: overflow, e4m3 has no Inf */
    cr_expect(r.flags & GKA_FLAG_INVALID);
    r = gka_rounding_default(&gka_fp16);
    gka_round_array_f32(out, in + 7, 3, &r);
    cr_expect_eq(f2u(out[0]), 0u);          /* half the smallest subnormal: tie to 0 */
    cr_expect_eq(out[1], 0x1p-23f);         /* 1.5 q: tie to even 2q */
    cr_expect_eq(f2u(out[2]), 0x80000000u); /* -0 */
    cr_expect(r.flags & GKA_FLAG_UNDERFLOW);
}

/* Float32 subnormal inputs that are not on a format's grid raise UNDERFLOW
 * even for formats with float32's exponent range (tf32, bf16), where the
 * spacing below 2^emin is float32's own (the fast kernel once took them as
 * ordinary and reported INEXACT alone). */
Test(round_array, subnormal_inputs_raise_underflow_emin_126) {
    const gka_format_t *fs[] = {&gka_tf32, &gka_bf16};
    for (size_t k = 0; k < 2; k++) {
        float x[600], y[600];
        for (size_t i = 0; i < 600; i++)
            x[i] = 1.0f + (float)i;
        x[300] = 3 * 0x1p-149f; /* a float subnormal, not a value of tf32 or bf16 */
        gka_rounding_t r = gka_rounding_default(fs[k]);
        cr_assert_eq(gka_round_array_f32(y, x, 600, &r), GKA_OK);
        gka_rounding_t s = gka_rounding_default(fs[k]);
        (void)gka_round((double)x[300], &s);
        cr_assert(s.flags & GKA_FLAG_UNDERFLOW);
        cr_assert_eq(r.flags, s.flags, "%s: array flags %#x, scalar %#x", fs[k]->name, r.flags,
                     s.flags);
        cr_assert_eq(y[300], (float)gka_round((double)x[300], &s));
    }
}

/* The double path in every option combination, out of place and in place,
 * with and without threads: whole sub-blocks of ordinary values (the
 * vectorised kernel), sub-blocks with a few specials (the per-element
 * fix-up) and a sub-block of specials only. */
Test(round_array, doubles_fast_path_all_options_in_place_threads) {
    enum { N = 1 << 14 };
    double *x = malloc(3 * N * sizeof(double));
    cr_assert_not_null(x);
    double *want = x + N, *got = x + 2 * N;
    const double specials[] = {NAN,       -INFINITY,  0.0,    -0.0,    1e300,
                               0x1p-1074, -0x1p-1022, 1e-310, 65520.0, 1e-45};
    for (size_t i = 0; i < N; i++) {
        const double v = ldexp(1.0 + (double)(rng() >> 11) * 0x1p-53, (int)(rng() % 20) - 10);
        x[i] = i & 1 ? -v : v;
        if (i % 1000 == 7) x[i] = specials[(i / 1000) % 10];
        if (i >= 4096 && i < 4608) x[i] = specials[i % 10];
    }
    for (size_t fi = 0; fi < sizeof format_names / sizeof format_names[0]; fi++) {
        gka_format_t f;
        cr_assert_eq(gka_format_by_name(format_names[fi], &f), GKA_OK);
        for (size_t mi = 0; mi < sizeof all_modes / sizeof all_modes[0]; mi++)
            for (int opt = 0; opt < 4; opt++) {
                gka_rounding_t rs = context(&f, all_modes[mi], opt & 1, opt >> 1);
                gka_rounding_t ra = rs, ri = rs;
                ra.threads = 2;
                ri.threads = 1;
                for (size_t i = 0; i < N; i++)
                    want[i] = gka_round(x[i], &rs);
                cr_assert_eq(gka_round_array(got, x, N, &ra), GKA_OK);
                cr_assert_eq(memcmp(got, want, N * sizeof *got), 0, "%s %s opt %d", f.name,
                             gka_round_mode_name(ra.mode), opt);
                memcpy(got, x, N * sizeof *got);
                cr_assert_eq(gka_round_array(got, got, N, &ri), GKA_OK);
                cr_assert_eq(memcmp(got, want, N * sizeof *got), 0, "in place: %s %s opt %d",
                             f.name, gka_round_mode_name(ri.mode), opt);
                cr_expect_eq(ra.flags, rs.flags, "%s %s opt %d: flags %#x, scalar %#x", f.name,
                             gka_round_mode_name(ra.mode), opt, ra.flags, rs.flags);
                cr_expect_eq(ri.flags, rs.flags);
                cr_expect_eq(ra.counter, rs.counter);
            }
    }
    free(x);
}

/* The context's thread count: any count gives the same results; a negative
 * one is refused. */
Test(round_array, per_call_thread_count) {
    enum { N = 200000 };
    float *x = malloc(3 * N * sizeof(float));
    cr_assert_not_null(x);
    float *a = x + N, *b = x + 2 * N;
    for (size_t i = 0; i < N; i++)
        x[i] = (float)ldexp((double)(rng() >> 11) * 0x1p-53 - 0.5, (int)(rng() % 40) - 30);
    const gka_round_mode_t modes[] = {GKA_RND_NE, GKA_RND_TP, GKA_RND_SP};
    for (size_t mi = 0; mi < 3; mi++) {
        gka_rounding_t r1 = context(&gka_e4m3, modes[mi], 1, 0);
        r1.threads = 1;
        cr_assert_eq(gka_round_array_f32(a, x, N, &r1), GKA_OK);
        for (int th = 0; th <= 3; th++) {
            gka_rounding_t r2 = context(&gka_e4m3, modes[mi], 1, 0);
            r2.threads = th;
            cr_assert_eq(gka_round_array_f32(b, x, N, &r2), GKA_OK);
            cr_assert_eq(memcmp(a, b, N * sizeof(float)), 0, "threads %d", th);
            cr_assert_eq(r1.flags, r2.flags);
            cr_assert_eq(r1.counter, r2.counter);
        }
    }
    gka_rounding_t bad = context(&gka_bf16, GKA_RND_NE, 1, 0);
    bad.threads = -1;
    cr_assert_eq(gka_round_array_f32(b, x, N, &bad), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "threads = -1"), "%s", gka_error_message());
    free(x);
}

/* An invalid context: the array functions return GKA_EINVAL, write NaN,
 * set GKA_FLAG_CONTEXT | GKA_FLAG_INVALID and leave the counter alone (the
 * old code rounded toward zero with mode 42). */
Test(round_array, invalid_context_refused) {
    float xf[5] = {1.1f, 2.5f, -3.0f, 0.0f, 1e-3f}, yf[5];
    double xd[5] = {1.1, 2.5, -3.0, 0.0, 1e-3}, yd[5];
    gka_rounding_t r = context(&gka_bf16, (gka_round_mode_t)42, 1, 0);
    cr_assert_eq(gka_round_array_f32(yf, xf, 5, &r), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "mode = 42"), "%s", gka_error_message());
    for (int i = 0; i < 5; i++)
        cr_assert(isnan(yf[i]));
    cr_assert_eq(r.flags, (unsigned)(GKA_FLAG_CONTEXT | GKA_FLAG_INVALID));
    cr_assert_eq(r.counter, 1000u);
    gka_rounding_t rd = context(&gka_fp16, GKA_RND_NE, 2, 0); /* subnormals = 2 */
    cr_assert_eq(gka_round_array(yd, xd, 5, &rd), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "subnormals = 2"), "%s", gka_error_message());
    for (int i = 0; i < 5; i++)
        cr_assert(isnan(yd[i]));
    gka_rounding_t rm = context(&gka_fp16, GKA_RND_NE, 1, 0);
    rm.format.max = 70000; /* a derived field that disagrees with the definition */
    cr_assert_eq(gka_round_array(yd, xd, 5, &rm), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "derived"), "%s", gka_error_message());
    gka_rounding_t ok = context(&gka_fp16, GKA_RND_NE, 1, 0);
    cr_assert_eq(gka_round_array(NULL, xd, 5, &ok), GKA_EINVAL);
    cr_assert_eq(gka_round_array_f32(yf, NULL, 5, &ok), GKA_EINVAL);
    cr_assert_eq(gka_round_array_f32(yf, xf, 0, &ok), GKA_OK);
}

/* The three ways a block of the float32 path can go (precision/round_array.c,
 * deterministic_block): a few inputs outside 0 and [2^emin, max] (one by
 * one), many of them in the subnormal range (the in-range kernel, which
 * rounds there in float arithmetic), and many plus a few above max (the
 * in-range kernel, then the general code). Each against gka_round, values
 * and flags, with the edge values of the format (+-0, q/2, q, midpoints,
 * 2^emin and its neighbours, max, the overflow threshold, Inf, NaN payloads)
 * spread over the array. */
static void fill_density(float *x, size_t n, const gka_format_t *f, unsigned per_1024_small,
                         size_t n_big) {
    const float edges[] = {0.0f,
                           (float)(f->min_subnormal * 0.5),
                           (float)f->min_subnormal,
                           (float)(f->min_subnormal * 1.5),
                           (float)(f->min_subnormal * 2.5),
                           (float)f->min_normal,
                           u2f(f2u((float)f->min_normal) - 1),
                           u2f(f2u((float)f->min_normal) + 1),
                           0x1p-149f,
                           (float)fmin(f->max, FLT_MAX)};
    const float bigs[] = {INFINITY, u2f(0x7f800001u), u2f(0x7fc00123u),
                          (float)fmin(f->max + f->max * f->u, FLT_MAX), FLT_MAX};
    for (size_t i = 0; i < n; i++) {
        const uint64_t b = rng();
        const double unit = (double)(b >> 11) * 0x1p-53;                    /* [0, 1) */
        float v = (float)(1.0 + unit);                                      /* a normal value */
        if ((b & 1023) < per_1024_small) v = (float)(unit * f->min_normal); /* subnormal range */
        x[i] = (b >> 10) & 1 ? -v : v;
    }
    for (size_t k = 0; k < sizeof edges / sizeof edges[0]; k++) {
        x[(k * 997) % n] = edges[k];
        x[(k * 991 + 13) % n] = -edges[k];
    }
    for (size_t k = 0; k < n_big; k++)
        x[(k * 2053 + 7) % n] = (k & 1 ? -1.0f : 1.0f) * bigs[k % (sizeof bigs / sizeof bigs[0])];
}

Test(round_array, block_paths_sparse_dense_and_above_max) {
    enum { N = 8192 };
    float *x = malloc(3 * N * sizeof(float));
    cr_assert_not_null(x);
    float *want = x + N, *got = x + 2 * N;
    const char *names[] = {
        "e4m3", "e5m2", "fp16", "bf16", "custom:5,-20,20", "custom:24,-100,100", "custom:2,-3,4"};
    const unsigned small[] = {0, 1, 100, 1023};
    for (size_t fi = 0; fi < sizeof names / sizeof names[0]; fi++) {
        gka_format_t f;
        cr_assert_eq(gka_format_by_name(names[fi], &f), GKA_OK);
        for (size_t si = 0; si < sizeof small / sizeof small[0]; si++)
            for (size_t n_big = 0; n_big <= 40; n_big += 20) {
                fill_density(x, N, &f, small[si], n_big);
                for (size_t mi = 0; mi < sizeof all_modes / sizeof all_modes[0]; mi++)
                    for (int sub = 0; sub <= 1; sub++)
                        for (int sat = 0; sat <= 1; sat++)
                            check_case(&f, all_modes[mi], sub, sat, x, N, want, got);
            }
    }
    free(x);
}

/* The wide kernels (precision/round_array_wide.c): the instruction set in
 * use is the one GKA_ROUND_WIDE asks for wherever the CPU has it (so that
 * this file's variants in tests/CMakeLists.txt really test avx2 and off),
 * and every input and output offset from the 64-byte line (the kernels
 * first round a head up to an aligned output, then 64 values per step), any
 * length around a multiple of 64, in and out of place, gives gka_round's
 * bits and flags: ordinary inputs with a few special ones placed at the
 * head, inside groups, on group edges and in the tail. */
Test(round_array, wide_kernels_isa_and_offsets) {
    const char *isa = gka_round_array_isa();
    const char *want = getenv("GKA_ROUND_WIDE");
    cr_assert(!strcmp(isa, "avx512f") || !strcmp(isa, "avx2") || !strcmp(isa, "off"), "%s", isa);
    if (want && !strcmp(want, "off")) cr_assert_str_eq(isa, "off");
    if (want && !strcmp(want, "avx2")) cr_assert_neq(strcmp(isa, "avx512f"), 0);
    cr_log_info("wide kernels: %s (GKA_ROUND_WIDE=%s)", isa, want ? want : "unset");

    enum { N = 64 * 40 + 16 };
    float *buf = aligned_alloc(64, 4 * (N + 64) * sizeof(float));
    cr_assert_not_null(buf);
    float *src = buf, *want_v = buf + (N + 64), *dst = buf + 2 * (N + 64),
          *tmp = buf + 3 * (N + 64);
    const char *names[] = {"bf16", "fp16", "tf32", "e5m2", "e4m3", "custom:2,-3,4"};
    const size_t lengths[] = {1, 63, 64, 65, 127, 200, 64 * 9 + 5, N - 16};
    for (size_t fi = 0; fi < sizeof names / sizeof names[0]; fi++) {
        gka_format_t f;
        cr_assert_eq(gka_format_by_name(names[fi], &f), GKA_OK);
        fill_density(src, N + 16, &f, 0, 0);
        /* specials at chosen places: group edges (63, 64), mid-group, tail */
        const size_t at[] = {0, 5, 63, 64, 100, 64 * 7 + 31, 64 * 20, N - 20};
        const float special[] = {INFINITY,
                                 NAN,
                                 (float)(f.min_subnormal * 0.75),
                                 (float)fmin(f.max * 1.5, FLT_MAX),
                                 -0.0f,
                                 u2f(0x00000001u),
                                 (float)f.min_normal,
                                 -(float)fmin(f.max, FLT_MAX)};
        for (size_t k = 0; k < sizeof at / sizeof at[0]; k++)
            src[at[k]] = special[k];
        for (size_t mi = 0; mi < sizeof all_modes / sizeof all_modes[0]; mi++)
            for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++)
                for (size_t in_off = 0; in_off < 16; in_off += 5)
                    for (size_t out_off = 0; out_off < 16; out_off += 3) {
                        const size_t n = lengths[li];
                        const float *x = src + in_off;
                        gka_rounding_t rs = context(&f, all_modes[mi], 1, 0);
                        for (size_t i = 0; i < n; i++)
                            want_v[i] = (float)gka_round((double)x[i], &rs);
                        gka_rounding_t ra = context(&f, all_modes[mi], 1, 0);
                        gka_round_array_f32(dst + out_off, x, n, &ra);
                        expect_same_bits(want_v, dst + out_off, n, "offsets", &ra);
                        cr_expect_eq(ra.flags, rs.flags,
                                     "%s %s n=%zu offsets %zu/%zu: flags 0x%x, "
                                     "scalar 0x%x",
                                     f.name, gka_round_mode_name(ra.mode), n, in_off, out_off,
                                     ra.flags, rs.flags);
                        memcpy(tmp + out_off, x, n * sizeof *tmp);
                        gka_rounding_t ri = context(&f, all_modes[mi], 1, 0);
                        gka_round_array_f32(tmp + out_off, tmp + out_off, n, &ri);
                        expect_same_bits(want_v, tmp + out_off, n, "offsets in place", &ri);
                        cr_expect_eq(ri.flags, rs.flags);
                    }
    }
    free(buf);
}

/* The wide kernels' dense loop (precision/round_array_wide.c,
 * GKA_WIDE_DENSE): arrays whose inputs below 2^emin are dense round that
 * range in float arithmetic (y = x / q to an integer). Ties are where its
 * modes differ, and random inputs almost never hit them, so the inputs
 * here are built on the format's subnormal grid: k q, k q + q/2 (ties, k
 * even and odd), one float step either side of both, and float32
 * subnormals, both signs, with ordinary values and a few above max mixed
 * in; each format with a subnormal range, every deterministic mode, in and
 * out of place, against gka_round, bits and flags. */
Test(round_array, wide_dense_subnormal_grid_and_ties) {
    enum { N = 64 * 300 };
    float *x = malloc(3 * N * sizeof(float));
    cr_assert_not_null(x);
    float *want = x + N, *got = x + 2 * N;
    const char *names[] = {"e4m3", "e5m2", "fp16", "bf16", "custom:2,-3,4", "custom:5,-20,20"};
    for (size_t fi = 0; fi < sizeof names / sizeof names[0]; fi++) {
        gka_format_t f;
        cr_assert_eq(gka_format_by_name(names[fi], &f), GKA_OK);
        const double q = f.min_subnormal;
        const uint64_t kmax = (uint64_t)1 << (f.t - 1); /* multiples of q below 2^emin */
        for (size_t i = 0; i < N; i++) {
            const uint64_t b = rng();
            const double k = (double)((b >> 8) % kmax);
            float v;
            switch ((b >> 4) % 8) {
            case 0:
                v = (float)(k * q);
                break;
            case 1:
            case 2:
                v = (float)((k + 0.5) * q); /* a tie */
                break;
            case 3:
                v = nextafterf((float)((k + 0.5) * q), 0.0f);
                break;
            case 4:
                v = nextafterf((float)((k + 0.5) * q), INFINITY);
                break;
            case 5:
                v = nextafterf((float)(k * q), INFINITY);
                break;
            case 6:
                v = u2f((uint32_t)(b >> 41)); /* a float32 subnormal (or 0) */
                break;
            default:
                v = (float)ldexp(1.0 + (double)(b >> 40) * 0x1p-24,
                                 (int)((b >> 12) % 8)); /* normal */
                break;
            }
            if (b & 1) v = -v;
            x[i] = v;
        }
        x[N / 3] = INFINITY;
        x[N / 2] = (float)fmin(f.max * 2, FLT_MAX);
        x[N - 70] = NAN;
        for (size_t mi = 0; mi < sizeof all_modes / sizeof all_modes[0]; mi++) {
            if (all_modes[mi] == GKA_RND_SP || all_modes[mi] == GKA_RND_SE) continue;
            check_case(&f, all_modes[mi], 1, 0, x, N, want, got);
            check_case(&f, all_modes[mi], 1, 1, x, N, want, got);
        }
    }
    free(x);
}

/* A caller running with flush-to-zero, denormals-are-zero and round toward
 * zero (what -ffast-math's startup code and fesetround can leave): the
 * array functions run under the default environment and put the caller's
 * control word back (precision/round_array.c, fpenv_enter). Results and
 * flags as under the default environment, one thread and two, float and
 * double arrays, formats whose smallest subnormal is itself a float
 * subnormal (bf16) or not (e4m3, fp16). */
#if defined(__SSE2__)
#include <xmmintrin.h>
Test(round_array, caller_ftz_daz_environment_ignored) {
    enum { N = 70000 }; /* above the threads' threshold (2^16) */
    float *x = malloc(3 * N * sizeof(float));
    double *xd = malloc(3 * N * sizeof(double));
    cr_assert(x && xd);
    float *want = x + N, *got = x + 2 * N;
    double *wantd = xd + N, *gotd = xd + 2 * N;
    const char *names[] = {"bf16", "e4m3", "fp16"};
    const unsigned fast = 0x8040u | 0x6000u; /* FTZ, DAZ, round toward zero */
    for (size_t fi = 0; fi < sizeof names / sizeof names[0]; fi++) {
        gka_format_t f;
        cr_assert_eq(gka_format_by_name(names[fi], &f), GKA_OK);
        for (size_t i = 0; i < N; i++) {
            const double u = (double)(rng() >> 11) * 0x1p-53;
            const double v =
                i % 3 == 0 ? u * 0x1p-130 : (i % 3 == 1 ? u * f.min_normal : 2 * u - 1);
            x[i] = (float)(i & 4 ? -v : v);
            xd[i] = i % 5 == 0 ? u * 0x1p-1040 : (double)x[i]; /* double subnormals too */
        }
        for (size_t mi = 0; mi < sizeof all_modes / sizeof all_modes[0]; mi++)
            for (int threads = 1; threads <= 2; threads++) {
                gka_rounding_t rw = context(&f, all_modes[mi], 1, 0), rg = rw;
                rw.threads = rg.threads = threads;
                gka_rounding_t rwd = rw, rgd = rw;
                gka_round_array_f32(want, x, N, &rw);
                gka_round_array(wantd, xd, N, &rwd);
                const unsigned saved = _mm_getcsr();
                _mm_setcsr(saved | fast);
                gka_round_array_f32(got, x, N, &rg);
                gka_round_array(gotd, xd, N, &rgd);
                const unsigned after = _mm_getcsr();
                _mm_setcsr(saved);
                cr_expect_eq(after & ~0x3Fu, (saved | fast) & ~0x3Fu, "control word not restored");
                expect_same_bits(want, got, N, "under FTZ/DAZ/RZ", &rg);
                cr_expect_eq(rg.flags, rw.flags, "%s %s: flags", f.name,
                             gka_round_mode_name(rg.mode));
                cr_expect_eq(memcmp(wantd, gotd, N * sizeof *gotd), 0, "%s %s threads %d: doubles",
                             f.name, gka_round_mode_name(rg.mode), threads);
                cr_expect_eq(rgd.flags, rwd.flags);
            }
    }
    free(x);
    free(xd);
}
#else
Test(round_array, caller_ftz_daz_environment_ignored) {
    cr_skip_test("not x86 SSE2: the array functions use the caller's floating-point environment");
}
#endif
