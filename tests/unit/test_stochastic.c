/* Stochastic rounding (SP, SE): frequencies match the probabilities, the mean
 * error is zero, and results are a deterministic function of (seed, stream,
 * counter). Tolerances: 5 binomial standard deviations (a false alarm has
 * probability < 6e-7 per check, and the seeds are fixed, so the test is
 * deterministic). */
#include <criterion/criterion.h>

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gka_precision.h"

enum { N = 100000 };

/* Round x N times (counters 0..N-1) and count how often it went up to `up`. */
static long count_up(double x, double down, double up, gka_rounding_t *r) {
    long ups = 0;
    for (long i = 0; i < N; i++) {
        const double y = gka_round(x, r);
        cr_assert(y == down || y == up, "%a -> %a not in {%a, %a}", x, y, down, up);
        ups += y == up;
    }
    return ups;
}

static void expect_binomial(long ups, double p, const char *what) {
    const double mean = N * p, sd = sqrt(N * p * (1 - p));
    cr_assert_leq(fabs((double)ups - mean), 5 * sd + 1e-9, "%s: %ld ups, expected %g +- %g", what,
                  ups, mean, 5 * sd);
}

/* SP: P(up) = (x - down) / (up - down) for fractions k/16 at a normal bf16
 * binade, in the subnormal range and for negative x (up = away from zero). */
Test(stochastic, sp_frequencies_match_probabilities) {
    gka_rounding_t r = gka_rounding_default(&gka_bf16);
    r.mode = GKA_RND_SP;
    r.seed = 2024;
    const double ulp = 0x1p-7, sub = gka_bf16.min_subnormal;
    for (int k = 1; k < 16; k++) {
        const double p = k / 16.0;
        expect_binomial(count_up(1 + 5 * ulp + p * ulp, 1 + 5 * ulp, 1 + 6 * ulp, &r), p,
                        "bf16 normal");
        expect_binomial(count_up(3 * sub + p * sub, 3 * sub, 4 * sub, &r), p, "bf16 subnormal");
        expect_binomial(count_up(-(1 + p * ulp), -1.0, -(1 + ulp), &r), p, "bf16 negative");
    }
    /* an irregular probability: x = 1 + 0.3 ulp (p = 0.3 to 2^-45) */
    expect_binomial(count_up(1 + 0.3 * ulp, 1, 1 + ulp, &r), 0.3, "p = 0.3");
    /* far below the smallest subnormal (more than 64 bits below the grid) */
    const double p_far = 0.75 * 0x1p-11;
    expect_binomial(count_up(p_far * sub, 0, sub, &r), p_far, "far below min_subnormal");
    /* fp16 and e4m3 */
    gka_rounding_t h = r;
    h.format = gka_fp16;
    expect_binomial(count_up(1 + 0.75 * 0x1p-10, 1, 1 + 0x1p-10, &h), 0.75, "fp16");
    gka_rounding_t e = r;
    e.format = gka_e4m3;
    expect_binomial(count_up(2.0 + 0.125 * 0.25, 2.0, 2.25, &e), 0.125, "e4m3");
    cr_assert_eq(r.counter, (uint64_t)N * 47);
}

Test(stochastic, se_is_one_half) {
    gka_rounding_t r = gka_rounding_default(&gka_bf16);
    r.mode = GKA_RND_SE;
    r.seed = 9;
    expect_binomial(count_up(1 + 0.1 * 0x1p-7, 1, 1 + 0x1p-7, &r), 0.5, "SE p = 0.1");
    expect_binomial(count_up(1 + 0.9 * 0x1p-7, 1, 1 + 0x1p-7, &r), 0.5, "SE p = 0.9");
}

/* E[round(x)] = x: the mean error over random x in [1, 2) is zero within 5
 * standard deviations of the sum (each draw has variance p(1-p) ulp^2). */
Test(stochastic, sp_mean_error_unbiased) {
    gka_rounding_t r = gka_rounding_default(&gka_bf16);
    r.mode = GKA_RND_SP;
    r.seed = 77;
    r.stream = 5;
    const double ulp = 0x1p-7;
    double err = 0, var = 0, err_nearest = 0;
    gka_rounding_t ne = gka_rounding_default(&gka_bf16);
    for (uint64_t i = 0; i < 1000000; i++) {
        /* x with its fraction in ulps below 1/2 mostly: nearest is biased down */
        const double frac = 0.4 * gka_philox_uniform(1, 1, i);
        const double x = 1 + (double)(i % 100) * ulp + frac * ulp;
        err += (gka_round(x, &r) - x) / ulp;
        err_nearest += (gka_round(x, &ne) - x) / ulp;
        var += frac * (1 - frac);
    }
    cr_assert_lt(fabs(err), 5 * sqrt(var), "sum of SP errors %g ulp, sd %g", err, sqrt(var));
    /* the same inputs under round-to-nearest are biased (mean -0.2 ulp): the
     * test can tell a biased rounding apart */
    cr_assert_gt(fabs(err_nearest), 100 * sqrt(var));
}

/* Exact values do not move, and still consume their counter value. */
Test(stochastic, exact_values_fixed_counter_advances) {
    for (int m = GKA_RND_SP; m <= GKA_RND_SE; m++) {
        gka_rounding_t r = gka_rounding_default(&gka_bf16);
        r.mode = (gka_round_mode_t)m;
        const double exact[] = {1.0, -1.5, 0.0, -0.0, gka_bf16.max, gka_bf16.min_subnormal};
        for (int i = 0; i < 1000; i++)
            for (size_t k = 0; k < sizeof exact / sizeof exact[0]; k++) {
                const double y = gka_round(exact[k], &r);
                cr_assert(y == exact[k] && signbit(y) == signbit(exact[k]));
            }
        cr_assert(isnan(gka_round(NAN, &r)));
        cr_assert_eq(r.counter, 6001u);
        cr_assert_eq(r.flags, 0u);
    }
}

/* Same (seed, stream, counter) -> same bits; the result does not depend on
 * how the calls are split between contexts; other streams differ. */
Test(stochastic, deterministic_and_split_invariant) {
    enum { M = 5000 };
    static double x[M], whole[M], split[M], other[M];
    for (int i = 0; i < M; i++)
        x[i] = 1 + gka_philox_uniform(3, 0, (uint64_t)i);
    gka_rounding_t r = gka_rounding_default(&gka_bf16);
    r.mode = GKA_RND_SP;
    r.seed = 123;
    r.stream = 4;
    r.counter = 1000;
    gka_rounding_t a = r, b = r, c = r;
    for (int i = 0; i < M; i++)
        whole[i] = gka_round(x[i], &a);
    b.counter = 1000 + 3000; /* second half first, in its own context */
    for (int i = 3000; i < M; i++)
        split[i] = gka_round(x[i], &b);
    for (int i = 0; i < 3000; i++)
        split[i] = gka_round(x[i], &c);
    int differ_stream = 0;
    gka_rounding_t o = r;
    o.stream = 5;
    for (int i = 0; i < M; i++) {
        other[i] = gka_round(x[i], &o);
        differ_stream += other[i] != whole[i];
        cr_assert_eq(whole[i], split[i], "element %d", i);
    }
    cr_assert_eq(a.counter, 1000u + M);
    cr_assert_gt(differ_stream, M / 10);
    /* ops too */
    gka_rounding_t p = r, q = r;
    for (int i = 0; i + 1 < M; i++) {
        const double u = gka_mul(x[i], x[i + 1], &p);
        q.counter = p.counter - 1;
        cr_assert_eq(u, gka_mul(x[i], x[i + 1], &q));
    }
}

/* Stochastic rounding past max: up goes to Inf (or saturates), down to max. */
Test(stochastic, overflow) {
    gka_rounding_t r = gka_rounding_default(&gka_fp16);
    r.mode = GKA_RND_SP;
    const double x = 65504 + 16; /* halfway to the next grid point 65536 */
    long infs = 0;
    for (int i = 0; i < 1000; i++) {
        const double y = gka_round(x, &r);
        cr_assert(y == 65504 || isinf(y));
        infs += isinf(y);
    }
    cr_assert(infs > 400 && infs < 600, "%ld", infs);
    r.saturate = 1;
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(gka_round(x, &r), 65504.0);
}

/* The vectorised stochastic kernel of gka_round_array_f32 (draws in blocks,
 * the decision as an integer compare on the draw's top bits) against the
 * scalar gka_round drawing gka_philox_u64(seed, stream, counter + i) for
 * element i: bit for bit, flags and counter too, on 2^20 inputs (random
 * patterns, values in [-1, 1), the format's subnormal range and its tiny
 * magnitudes, ties, +-0, Inf, NaN payloads) per seed, format and mode, in
 * place as well. */
static uint32_t bits_of(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float float_of(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static void fill_sr_inputs(float *x, size_t n, const gka_format_t *f, uint64_t seed) {
    uint64_t z = seed;
    for (size_t i = 0; i < n; i++) {
        z = z * 6364136223846793005ull + 1442695040888963407ull;
        const uint64_t b = z ^ (z >> 29);
        const double u = (double)(b >> 11) * 0x1p-53;
        switch ((b >> 3) & 3) {
        case 0:
            x[i] = float_of((uint32_t)(b >> 32));
            break;
        case 1:
            x[i] = (float)(2 * u - 1);
            break;
        case 2:
            x[i] = (float)(u * f->min_normal);
            break;
        default:
            x[i] = (float)(u * 2 * f->min_subnormal);
            break;
        }
        if ((b & 7) == 7) x[i] = -x[i];
    }
    const float edges[] = {0.0f,
                           -0.0f,
                           INFINITY,
                           -INFINITY,
                           NAN,
                           float_of(0x7f800001u),
                           float_of(0xffc00123u),
                           (float)f->min_subnormal,
                           (float)(f->min_subnormal * 0.5),
                           (float)(1.0 + f->u),
                           FLT_MIN,
                           0x1p-149f};
    for (size_t k = 0; k < sizeof edges / sizeof edges[0]; k++)
        x[k * 4099 % n] = edges[k];
}

Test(stochastic, array_kernel_matches_scalar_stream_millions) {
    enum { N_SR = 1 << 20 };
    float *x = malloc(3 * (size_t)N_SR * sizeof *x);
    cr_assert_not_null(x);
    float *want = x + N_SR, *got = x + 2 * (size_t)N_SR;
    const char *names[] = {"bf16", "fp16", "e4m3", "custom:5,-20,20"};
    const uint64_t seeds[] = {1, 0x9E3779B97F4A7C15ull, 42};
    const gka_round_mode_t modes[] = {GKA_RND_SP, GKA_RND_SE};
    for (size_t fi = 0; fi < sizeof names / sizeof names[0]; fi++) {
        gka_format_t f;
        cr_assert_eq(gka_format_by_name(names[fi], &f), GKA_OK);
        for (size_t si = 0; si < sizeof seeds / sizeof seeds[0]; si++) {
            fill_sr_inputs(x, N_SR, &f, seeds[si] + fi);
            for (size_t mi = 0; mi < 2; mi++) {
                gka_rounding_t rs = gka_rounding_default(&f);
                rs.mode = modes[mi];
                rs.seed = seeds[si];
                rs.stream = si;
                rs.counter = 12345;
                gka_rounding_t ra = rs, ri = rs;
                for (size_t i = 0; i < N_SR; i++)
                    want[i] = (float)gka_round((double)x[i], &rs);
                cr_assert_eq(gka_round_array_f32(got, x, N_SR, &ra), GKA_OK);
                size_t bad = 0, first = 0;
                for (size_t i = 0; i < N_SR; i++)
                    if (bits_of(got[i]) != bits_of(want[i]) && bad++ == 0) first = i;
                cr_expect_eq(bad, 0, "%s %s seed %zu: %zu differ, first %zu (x %a: %a, want %a)",
                             f.name, gka_round_mode_name(rs.mode), si, bad, first, (double)x[first],
                             (double)got[first], (double)want[first]);
                cr_expect_eq(ra.flags, rs.flags, "%s: flags 0x%x, scalar 0x%x", f.name, ra.flags,
                             rs.flags);
                cr_expect_eq(ra.counter, rs.counter);
                memcpy(got, x, N_SR * sizeof *got);
                gka_round_array_f32(got, got, N_SR, &ri);
                cr_expect_eq(memcmp(got, want, N_SR * sizeof *got), 0, "%s in place", f.name);
            }
        }
    }
    free(x);
}

/* The draws of the array path across the counter's word boundaries: the
 * vector Philox fills of precision/round_array_wide.c build each lane's
 * 64-bit counter from two 32-bit words (the carry out of the low word), and
 * wrap at 2^64 as the scalar counter does. Stochastic rounding to bf16 (16
 * bits of each draw decide) around counters 2^32, 2^33 and 2^64 against
 * gka_round, with a stream whose high word is set, every length from 1 to
 * 100 and a long call. */
Test(stochastic, array_draws_across_counter_words) {
    enum { N_DRAWS = 3000 };
    static float x[N_DRAWS], want[N_DRAWS], got[N_DRAWS];
    fill_sr_inputs(x, N_DRAWS, &gka_bf16, 7);
    const uint64_t starts[] = {0xFFFFFFFFull - 40, 0x1FFFFFFFFull - 2000, ~0ull - 1500, 5};
    const gka_round_mode_t modes[] = {GKA_RND_SP, GKA_RND_SE};
    for (size_t ci = 0; ci < sizeof starts / sizeof starts[0]; ci++)
        for (size_t mi = 0; mi < 2; mi++) {
            gka_rounding_t rs = gka_rounding_default(&gka_bf16);
            rs.mode = modes[mi];
            rs.seed = 0xA4093822299F31D0ull;
            rs.stream = 0x13198A2E03707344ull;
            rs.counter = starts[ci];
            gka_rounding_t ra = rs;
            for (size_t i = 0; i < N_DRAWS; i++)
                want[i] = (float)gka_round((double)x[i], &rs);
            cr_assert_eq(gka_round_array_f32(got, x, N_DRAWS, &ra), GKA_OK);
            cr_expect_eq(memcmp(got, want, sizeof got), 0, "counter %#" PRIx64 " %s: differs",
                         starts[ci], gka_round_mode_name(rs.mode));
            cr_expect_eq(ra.counter, rs.counter);
            /* short calls: each length from 1 to 100, back to back */
            gka_rounding_t rc = ra;
            rc.counter = starts[ci];
            for (size_t i = 0, len = 1; i < N_DRAWS; i += len, len = len % 100 + 1) {
                const size_t m = len < N_DRAWS - i ? len : N_DRAWS - i;
                gka_round_array_f32(got + i, x + i, m, &rc);
            }
            cr_expect_eq(memcmp(got, want, sizeof got), 0, "counter %#" PRIx64 " %s: chunked",
                         starts[ci], gka_round_mode_name(rs.mode));
        }
}
