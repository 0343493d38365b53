/* The emulated operation tables (precision/arith_emulated.c), ROUND and WIDE
 * models, against independent references:
 *   - the fp32 table equals native float arithmetic bit for bit (scalar ops
 *     on random and edge inputs; ROUND and WIDE kernels as float loops);
 *   - ROUND equals per-operation rounding by MPFR's emulation of the format,
 *     and, in stochastic modes, a plain loop of gka_mul / gka_add;
 *   - WIDE (bf16, fp16 with fp32 accumulation) equals "exact products, fp32
 *     sums" written with native float, rounded to storage by MPFR; WIDE with a
 *     non-fp32 accumulator (e5m2 in fp16, e4m3 in bf16) equals the same
 *     computed with MPFR emulating the accumulator;
 *   - fp32 accumulator overflow falls back to the generic path and reports it. */
#include <criterion/criterion.h>
#include <math.h>
#include <mpfr.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gka_arith.h"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "mpfr_oracle.h"
#pragma GCC diagnostic pop

static uint64_t rng = 0x2545F4914F6CDD1Du;
static uint64_t next64(void) { /* splitmix64 */
    uint64_t z = (rng += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}
static double unif(void) {
    return (double)(next64() >> 11) * 0x1p-53;
}
static double sym(void) {
    return 2 * unif() - 1;
}
static int irand(int lo, int hi) {
    return lo + (int)(next64() % (uint64_t)(hi - lo + 1));
}

/* ------------------------------------------------------------------------ */
/* MPFR references                                                          */
/* ------------------------------------------------------------------------ */

static mpfr_t ra, rb; /* 2200 bits: sums and products of format values exact */
static void ref_setup(void) {
    mpfr_inits2(2200, ra, rb, (mpfr_ptr)0);
}
static void ref_teardown(void) {
    mpfr_clears(ra, rb, (mpfr_ptr)0);
}

static double ref_round_mp(mpfr_srcptr v, const gka_format_t *f, gka_round_mode_t mode) {
    unsigned fl;
    return oracle_round(v, f, mode, 1, 0, &fl);
}
static double ref_round(double v, const gka_format_t *f, gka_round_mode_t mode) {
    mpfr_set_d(ra, v, MPFR_RNDN);
    return ref_round_mp(ra, f, mode);
}
static double ref_mul(double a, double b, const gka_format_t *f, gka_round_mode_t mode) {
    mpfr_set_d(ra, a, MPFR_RNDN);
    cr_assert_eq(mpfr_mul_d(ra, ra, b, MPFR_RNDN), 0);
    return ref_round_mp(ra, f, mode);
}
static double ref_add(double a, double b, const gka_format_t *f, gka_round_mode_t mode) {
    mpfr_set_d(ra, a, MPFR_RNDN);
    mpfr_set_d(rb, b, MPFR_RNDN);
    /* exact; the direction only decides the sign of an exact zero */
    cr_assert_eq(mpfr_add(ra, ra, rb, mode == GKA_RND_TN ? MPFR_RNDD : MPFR_RNDN), 0);
    return ref_round_mp(ra, f, mode);
}
static double ref_sqrt(double a, const gka_format_t *f, gka_round_mode_t mode) {
    mpfr_set_d(rb, a, MPFR_RNDN);
    int inex = mpfr_sqrt(ra, rb, MPFR_RNDZ); /* round to odd at 2200 bits */
    if (inex && mpfr_min_prec(ra) < 2200) mpfr_nextabove(ra);
    return ref_round_mp(ra, f, mode);
}

static double value_of(double v, const gka_format_t *f) {
    return ref_round(v, f, GKA_RND_NE);
}

static void expect_same(double got, double want, const char *what, int k) {
    cr_assert(!isnan(want), "%s #%d: reference is NaN", what, k);
    cr_assert(oracle_same(got, want), "%s #%d: got %a, want %a", what, k, got, want);
}

static void make(gka_arith_t *A, const gka_format_t *f, gka_round_mode_t mode, gka_accum_t accum,
                 const gka_format_t *wide) {
    gka_rounding_t r = gka_rounding_default(f);
    r.mode = mode;
    r.seed = 7;
    cr_assert_eq(gka_arith_init_emulated(A, &r, accum, wide), GKA_OK, "%s", gka_error_message());
}

/* ------------------------------------------------------------------------ */
/* fp32 table == native float                                               */
/* ------------------------------------------------------------------------ */

static float rand_float(void) {
    static const float edge[] = {0.0f,
                                 -0.0f,
                                 1.0f,
                                 -1.0f,
                                 0x1p-149f,
                                 -0x1p-149f,
                                 0x1p-126f,
                                 0x1.fffffep-127f,
                                 0x1.fffffep127f,
                                 -0x1.fffffep127f,
                                 0x1p127f,
                                 3.0f,
                                 0x1p-75f,
                                 0x1.8p-74f};
    const uint64_t k = next64() % 8;
    if (k == 0) return edge[next64() % (sizeof edge / sizeof edge[0])];
    if (k == 1) { /* any bit pattern that is finite */
        uint32_t u = (uint32_t)next64();
        float f;
        memcpy(&f, &u, sizeof f);
        return isfinite(f) ? f : 1.5f;
    }
    return (float)ldexp(sym(), irand(-30, 30));
}

static int same_float(double got, float want) {
    if (isnan(want)) return isnan(got);
    return oracle_same(got, (double)want);
}

Test(arith_emulated, fp32_scalar_ops_equal_native) {
    gka_arith_t A;
    make(&A, &gka_fp32, GKA_RND_NE, GKA_ACCUM_PER_OP, NULL);
    for (int k = 0; k < 200000; k++) {
        const float a = rand_float(), b = rand_float(), c = rand_float();
        const double da = (double)a, db = (double)b, dc = (double)c;
        double r;
        A.add(&A, &r, &da, &db);
        cr_assert(same_float(r, a + b), "add %a %a: %a", da, db, r);
        A.sub(&A, &r, &da, &db);
        cr_assert(same_float(r, a - b), "sub %a %a: %a", da, db, r);
        A.mul(&A, &r, &da, &db);
        cr_assert(same_float(r, a * b), "mul %a %a: %a", da, db, r);
        A.div(&A, &r, &da, &db);
        cr_assert(same_float(r, a / b), "div %a %a: %a", da, db, r);
        A.fma(&A, &r, &da, &db, &dc);
        cr_assert(same_float(r, fmaf(a, b, c)), "fma %a %a %a: %a", da, db, dc, r);
        const double fa = fabs(da);
        A.sqrt(&A, &r, &fa);
        cr_assert(same_float(r, sqrtf(fabsf(a))), "sqrt %a: %a", fa, r);
    }
    gka_arith_destroy(&A);
}

/* Float loops with the table's rounding placement (sums from the first term). */
static float fdot(int n, const float *x, const float *y) {
    if (n == 0) return 0.0f;
    float s = x[0] * y[0];
    for (int j = 1; j < n; j++)
        s = s + x[j] * y[j];
    return s;
}

static void to_float(float *dst, const double *src, int n) {
    for (int i = 0; i < n; i++)
        dst[i] = (float)src[i];
}

/* In fp32 storage ROUND and WIDE(fp32) are the same computation. */
static void check_fp32_kernels(gka_accum_t accum) {
    enum { N = 40 };
    gka_arith_t A;
    make(&A, &gka_fp32, GKA_RND_NE, accum, NULL);
    double x[N], y[N], M[N * N], r;
    float xf[N], yf[N], Mf[N * N];
    for (int rep = 0; rep < 300; rep++) {
        const int m = irand(1, N), n = irand(1, N);
        for (int i = 0; i < N * N; i++)
            M[i] = (double)(float)ldexp(sym(), irand(-20, 20));
        for (int i = 0; i < N; i++)
            x[i] = (double)(float)ldexp(sym(), irand(-20, 20));
        for (int i = 0; i < N; i++)
            y[i] = (double)(float)ldexp(sym(), irand(-20, 20));
        const double alpha = (double)(float)sym(), beta = (double)(float)sym();
        const float af = (float)alpha, bf = (float)beta;
        to_float(xf, x, N), to_float(yf, y, N), to_float(Mf, M, N * N);
        A.dot(&A, &r, (size_t)n, x, y);
        cr_assert(same_float(r, fdot(n, xf, yf)), "dot %d", rep);
        A.nrm2(&A, &r, (size_t)n, x);
        cr_assert(same_float(r, sqrtf(fdot(n, xf, xf))), "nrm2 %d", rep);
        A.gemv(&A, (size_t)m, (size_t)n, &alpha, M, x, &beta, y);
        for (int i = 0; i < m; i++)
            cr_assert(same_float(y[i], af * fdot(n, Mf + i * n, xf) + bf * yf[i]), "gemv %d", i);
        to_float(yf, y, N);
        A.gemv(&A, (size_t)m, (size_t)n, &alpha, M, x, NULL, y);
        for (int i = 0; i < m; i++)
            cr_assert(same_float(y[i], af * fdot(n, Mf + i * n, xf)), "gemv0 %d", i);
        to_float(yf, y, N);
        A.axpy(&A, (size_t)n, &alpha, x, y);
        for (int j = 0; j < n; j++)
            cr_assert(same_float(y[j], af * xf[j] + yf[j]), "axpy %d", j);
        to_float(yf, y, N);
        A.scal(&A, (size_t)n, &alpha, y);
        for (int j = 0; j < n; j++)
            cr_assert(same_float(y[j], af * yf[j]), "scal %d", j);
        A.syr(&A, (size_t)n, &alpha, x, M);
        for (int i = 0; i < n; i++) {
            const float ai = af * xf[i];
            for (int j = 0; j < n; j++)
                cr_assert(same_float(M[i * n + j], Mf[i * n + j] + ai * xf[j]), "syr %d %d", i, j);
        }
    }
    gka_arith_destroy(&A);
}

Test(arith_emulated, fp32_round_kernels_equal_native) {
    check_fp32_kernels(GKA_ACCUM_PER_OP);
}
Test(arith_emulated, fp32_wide_kernels_equal_native) {
    check_fp32_kernels(GKA_ACCUM_WIDE);
}

/* ------------------------------------------------------------------------ */
/* ROUND model: per-operation MPFR reference                                */
/* ------------------------------------------------------------------------ */

static double ref_rdot(int n, const double *x, const double *y, const gka_format_t *f,
                       gka_round_mode_t mode) {
    if (n == 0) return 0.0;
    double s = ref_mul(x[0], y[0], f, mode);
    for (int j = 1; j < n; j++)
        s = ref_add(s, ref_mul(x[j], y[j], f, mode), f, mode);
    return s;
}

static void fill(double *v, int n, const gka_format_t *f, int lo, int hi) {
    for (int i = 0; i < n; i++)
        v[i] = value_of(ldexp(sym(), irand(lo, hi)), f);
}

Test(arith_emulated, round_kernels_match_mpfr, .init = ref_setup, .fini = ref_teardown) {
    enum { N = 24 };
    const gka_format_t *fmts[] = {&gka_bf16, &gka_fp16, &gka_e4m3, &gka_e5m2, &gka_tf32};
    const gka_round_mode_t modes[] = {GKA_RND_NE, GKA_RND_TZ, GKA_RND_TP, GKA_RND_TN, GKA_RND_NA};
    double x[N], y[N], y0[N], M[N * N], M0[N * N], r;
    for (size_t fi = 0; fi < 5; fi++)
        for (size_t mi = 0; mi < 5; mi++) {
            const gka_format_t *f = fmts[fi];
            const gka_round_mode_t md = modes[mi];
            gka_arith_t A;
            make(&A, f, md, GKA_ACCUM_PER_OP, NULL);
            const int lo = f->emax < 20 ? -3 : -12, hi = f->emax < 20 ? 2 : 12;
            for (int rep = 0; rep < 10; rep++) {
                const int m = irand(1, N), n = irand(1, N);
                fill(x, N, f, lo, hi), fill(y0, N, f, lo, hi), fill(M0, N * N, f, lo, hi);
                const double alpha = value_of(sym(), f), beta = value_of(sym(), f);
                A.dot(&A, &r, (size_t)n, x, y0);
                expect_same(r, ref_rdot(n, x, y0, f, md), A.name, rep);
                A.nrm2(&A, &r, (size_t)n, x);
                expect_same(r, ref_sqrt(ref_rdot(n, x, x, f, md), f, md), "nrm2", rep);
                memcpy(y, y0, sizeof y);
                A.gemv(&A, (size_t)m, (size_t)n, &alpha, M0, x, &beta, y);
                for (int i = 0; i < m; i++) {
                    double t = ref_mul(alpha, ref_rdot(n, M0 + i * n, x, f, md), f, md);
                    t = ref_add(t, ref_mul(beta, y0[i], f, md), f, md);
                    expect_same(y[i], t, "gemv", i);
                }
                memcpy(y, y0, sizeof y);
                A.axpy(&A, (size_t)n, &alpha, x, y);
                for (int j = 0; j < n; j++)
                    expect_same(y[j], ref_add(ref_mul(alpha, x[j], f, md), y0[j], f, md), "axpy",
                                j);
                memcpy(y, y0, sizeof y);
                A.scal(&A, (size_t)n, &alpha, y);
                for (int j = 0; j < n; j++)
                    expect_same(y[j], ref_mul(alpha, y0[j], f, md), "scal", j);
                memcpy(M, M0, sizeof M);
                A.syr(&A, (size_t)n, &alpha, x, M);
                for (int i = 0; i < n; i++) {
                    const double ai = ref_mul(alpha, x[i], f, md);
                    for (int j = 0; j < n; j++)
                        expect_same(M[i * n + j],
                                    ref_add(M0[i * n + j], ref_mul(ai, x[j], f, md), f, md), "syr",
                                    i * n + j);
                }
            }
            cr_assert(A.events & GKA_FLAG_INEXACT, "events not recorded");
            gka_arith_destroy(&A);
        }
}

/* Stochastic rounding: the table consumes the generator exactly like a plain
 * loop of gka_mul / gka_add on a context with the same seed. */
Test(arith_emulated, round_stochastic_matches_plain_loop) {
    enum { N = 30 };
    gka_arith_t A;
    make(&A, &gka_bf16, GKA_RND_SP, GKA_ACCUM_PER_OP, NULL);
    gka_rounding_t r = A.store;
    double x[N], y[N], M[N * N], got, want;
    for (int i = 0; i < N; i++)
        x[i] = (double)(float)sym(), y[i] = (double)(float)sym();
    for (int i = 0; i < N * N; i++)
        M[i] = (double)(float)sym();
    gka_round_array(x, x, N, &r), gka_round_array(y, y, N, &r), gka_round_array(M, M, N * N, &r);
    A.store.counter = r.counter;
    A.dot(&A, &got, N, x, y);
    want = gka_mul(x[0], y[0], &r);
    for (int j = 1; j < N; j++)
        want = gka_add(want, gka_mul(x[j], y[j], &r), &r);
    cr_assert(oracle_same(got, want) && A.store.counter == r.counter);
    const double alpha = 0.75;
    double yy[N];
    memcpy(yy, y, sizeof yy);
    A.gemv(&A, N, N, &alpha, M, x, NULL, y);
    for (int i = 0; i < N; i++) {
        double s = gka_mul(M[i * N], x[0], &r);
        for (int j = 1; j < N; j++)
            s = gka_add(s, gka_mul(M[i * N + j], x[j], &r), &r);
        s = gka_mul(alpha, s, &r);
        cr_assert(oracle_same(y[i], s), "gemv row %d", i);
    }
    (void)yy;
    cr_assert_eq(A.store.counter, r.counter);
    gka_arith_destroy(&A);
}

/* ------------------------------------------------------------------------ */
/* WIDE model                                                               */
/* ------------------------------------------------------------------------ */

/* bf16 / fp16 storage, fp32 accumulation: exact products (they fit in fp32),
 * float sums; the storage rounding by MPFR. Also with stochastic storage
 * rounding against gka_round on a context with the same seed. */
Test(arith_emulated, wide_fp32_matches_float_sums, .init = ref_setup, .fini = ref_teardown) {
    enum { N = 64 };
    const gka_format_t *fmts[] = {&gka_bf16, &gka_fp16};
    const gka_round_mode_t modes[] = {GKA_RND_NE, GKA_RND_TZ, GKA_RND_TP, GKA_RND_TN, GKA_RND_SP};
    double x[N], y[N], y0[N], M[N * N], M0[N * N], r;
    float xf[N], yf[N], Mf[N * N];
    for (size_t fi = 0; fi < 2; fi++)
        for (size_t mi = 0; mi < 5; mi++) {
            const gka_format_t *f = fmts[fi];
            const gka_round_mode_t md = modes[mi];
            gka_arith_t A;
            make(&A, f, md, GKA_ACCUM_WIDE, NULL);
            gka_rounding_t sr = A.store; /* stochastic mode: the same draws */
                                         /* storage rounding of one float value */
#define STORE(v) (md == GKA_RND_SP ? gka_round((double)(v), &sr) : ref_round((double)(v), f, md))
            for (int rep = 0; rep < 12; rep++) {
                const int m = irand(1, N), n = irand(1, N);
                fill(x, N, f, -4, 4), fill(y0, N, f, -4, 4), fill(M0, N * N, f, -4, 4);
                to_float(xf, x, N), to_float(yf, y0, N), to_float(Mf, M0, N * N);
                const double alpha = value_of(sym() * 4, f), beta = value_of(sym(), f);
                const float af = (float)alpha, bf = (float)beta;
                for (int j = 0; j < n; j++) /* the premise: products exact in float */
                    cr_assert_eq((double)(xf[j] * yf[j]), x[j] * y0[j]);
                A.dot(&A, &r, (size_t)n, x, y0);
                expect_same(r, STORE(fdot(n, xf, yf)), A.name, rep);
                A.nrm2(&A, &r, (size_t)n, x);
                expect_same(r, STORE(sqrtf(fdot(n, xf, xf))), "nrm2", rep);
                memcpy(y, y0, sizeof y);
                A.gemv(&A, (size_t)m, (size_t)n, &alpha, M0, x, &beta, y);
                for (int i = 0; i < m; i++)
                    expect_same(y[i], STORE(af * fdot(n, Mf + i * n, xf) + bf * yf[i]), "gemv", i);
                A.gemv(&A, (size_t)m, (size_t)n, &alpha, M0, x, NULL, y);
                for (int i = 0; i < m; i++)
                    expect_same(y[i], STORE(af * fdot(n, Mf + i * n, xf)), "gemv0", i);
                memcpy(y, y0, sizeof y);
                A.axpy(&A, (size_t)n, &alpha, x, y);
                for (int j = 0; j < n; j++)
                    expect_same(y[j], STORE(af * xf[j] + yf[j]), "axpy", j);
                memcpy(M, M0, sizeof M);
                A.syr(&A, (size_t)n, &alpha, x, M);
                for (int i = 0; i < n; i++) {
                    const float ai = af * xf[i];
                    for (int j = 0; j < n; j++)
                        expect_same(M[i * n + j], STORE(Mf[i * n + j] + ai * xf[j]), "syr",
                                    i * n + j);
                }
                memcpy(y, y0, sizeof y);
                A.scal(&A, (size_t)n, &alpha, y);
                for (int j = 0; j < n; j++)
                    expect_same(y[j],
                                md == GKA_RND_SP ? gka_mul(alpha, y0[j], &sr)
                                                 : ref_mul(alpha, y0[j], f, md),
                                "scal", j);
            }
#undef STORE
            gka_arith_destroy(&A);
        }
}

/* A non-fp32 accumulator (generic path): e5m2 storage in fp16, e4m3 in bf16.
 * Reference: MPFR emulating both formats. */
static double ref_wdot(int n, const double *x, const double *y, const gka_format_t *w) {
    if (n == 0) return 0.0;
    double s = ref_mul(x[0], y[0], w, GKA_RND_NE);
    for (int j = 1; j < n; j++)
        s = ref_add(s, ref_mul(x[j], y[j], w, GKA_RND_NE), w, GKA_RND_NE);
    return s;
}

Test(arith_emulated, wide_other_formats_match_mpfr, .init = ref_setup, .fini = ref_teardown) {
    enum { N = 20 };
    const gka_format_t *st[] = {&gka_e5m2, &gka_e4m3, &gka_bf16};
    const gka_format_t *wd[] = {&gka_fp16, &gka_bf16, &gka_fp64};
    double x[N], y[N], y0[N], M[N * N], M0[N * N], r;
    for (int k = 0; k < 3; k++)
        for (int md = 0; md < 2; md++) {
            const gka_format_t *f = st[k], *w = wd[k];
            const gka_round_mode_t mode = md ? GKA_RND_TZ : GKA_RND_NE;
            gka_arith_t A;
            make(&A, f, mode, GKA_ACCUM_WIDE, w);
            for (int rep = 0; rep < 30; rep++) {
                const int m = irand(1, N), n = irand(1, N);
                fill(x, N, f, -3, 2), fill(y0, N, f, -3, 2), fill(M0, N * N, f, -3, 2);
                const double alpha = value_of(sym() * 2, f), beta = value_of(sym(), f);
                A.dot(&A, &r, (size_t)n, x, y0);
                expect_same(r, ref_round(ref_wdot(n, x, y0, w), f, mode), A.name, rep);
                A.nrm2(&A, &r, (size_t)n, x);
                expect_same(r, ref_round(ref_sqrt(ref_wdot(n, x, x, w), w, GKA_RND_NE), f, mode),
                            "nrm2", rep);
                memcpy(y, y0, sizeof y);
                A.gemv(&A, (size_t)m, (size_t)n, &alpha, M0, x, &beta, y);
                for (int i = 0; i < m; i++) {
                    double t = ref_mul(alpha, ref_wdot(n, M0 + i * n, x, w), w, GKA_RND_NE);
                    t = ref_add(t, ref_mul(beta, y0[i], w, GKA_RND_NE), w, GKA_RND_NE);
                    expect_same(y[i], ref_round(t, f, mode), "gemv", i);
                }
                memcpy(y, y0, sizeof y);
                A.axpy(&A, (size_t)n, &alpha, x, y);
                for (int j = 0; j < n; j++) {
                    double t = ref_add(ref_mul(alpha, x[j], w, GKA_RND_NE), y0[j], w, GKA_RND_NE);
                    expect_same(y[j], ref_round(t, f, mode), "axpy", j);
                }
                memcpy(M, M0, sizeof M);
                A.syr(&A, (size_t)n, &alpha, x, M);
                for (int i = 0; i < n; i++) {
                    const double ai = ref_mul(alpha, x[i], w, GKA_RND_NE);
                    for (int j = 0; j < n; j++) {
                        double t =
                            ref_add(M0[i * n + j], ref_mul(ai, x[j], w, GKA_RND_NE), w, GKA_RND_NE);
                        expect_same(M[i * n + j], ref_round(t, f, mode), "syr", i * n + j);
                    }
                }
            }
            gka_arith_destroy(&A);
        }
}

/* The fp32 accumulator overflows although every operand is a finite bf16:
 * the fast path hands over to the generic one, which reports the overflow. */
Test(arith_emulated, wide_accumulator_overflow) {
    gka_arith_t A;
    make(&A, &gka_bf16, GKA_RND_NE, GKA_ACCUM_WIDE, NULL);
    double x[3] = {0x1p100, 0x1p100, -0x1p100}, y[3] = {0x1p27, 0x1p27, 0x1p27}, r;
    A.dot(&A, &r, 3, x, y); /* 2^127 + 2^127 overflows in fp32 before the -2^127 */
    cr_assert(isinf(r) && r > 0, "got %a", r);
    cr_assert(A.events & GKA_FLAG_OVERFLOW);
    double M[6] = {0x1p100, 0x1p100, -0x1p100, 1.0, 2.0, 3.0}, yy[2] = {0, 0};
    const double one = 1.0;
    A.events = 0;
    A.gemv(&A, 2, 3, &one, M, y, NULL, yy);
    cr_assert(isinf(yy[0]) && yy[1] == 6 * 0x1p27, "got %a %a", yy[0], yy[1]);
    cr_assert(A.events & GKA_FLAG_OVERFLOW);
    gka_arith_destroy(&A);
    /* the exact model has no such overflow */
    make(&A, &gka_bf16, GKA_RND_NE, GKA_ACCUM_EXACT, NULL);
    A.dot(&A, &r, 3, x, y);
    cr_assert_eq(r, 0x1p127);
    gka_arith_destroy(&A);
}

Test(arith_emulated, init_rejects_bad_arguments) {
    gka_arith_t A;
    gka_rounding_t r = gka_rounding_default(&gka_fp16);
    cr_assert_eq(gka_arith_init_emulated(&A, &r, GKA_ACCUM_WIDE, &gka_bf16), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "bf16") != NULL);
    r = gka_rounding_default(&gka_fp64);
    cr_assert_eq(gka_arith_init_emulated(&A, &r, GKA_ACCUM_PER_OP, NULL), GKA_EINVAL);
    r = gka_rounding_default(&gka_bf16);
    cr_assert_eq(gka_arith_init_emulated(&A, &r, (gka_accum_t)7, NULL), GKA_EINVAL);
    cr_assert_eq(gka_arith_init_emulated(&A, &r, GKA_ACCUM_WIDE, NULL), GKA_OK);
    cr_assert_str_eq(A.name, "bf16/wide:fp32/ne");
    cr_assert_eq(A.elem_size, sizeof(double));
    double *v = A.alloc(&A, 3);
    const double src[3] = {1.0 + 0x1p-9, -0.0, 1e300};
    A.from_double(&A, v, src, 3);
    cr_assert(v[0] == 1.0 && v[1] == 0 && signbit(v[1]) && isinf(v[2]));
    cr_assert(A.events & GKA_FLAG_OVERFLOW);
    A.free(&A, v, 3);
    gka_arith_destroy(&A);
}

/* fp32 storage under WIDE(fp32): storage rounding is exact, but stochastic
 * modes still draw one number per output element (as gka_round does), and a
 * flush-to-zero storage context still flushes. */
Test(arith_emulated, wide_fp32_storage_options) {
    gka_arith_t A;
    make(&A, &gka_fp32, GKA_RND_SP, GKA_ACCUM_WIDE, NULL);
    double M[6] = {1, 2, 3, 4, 5, 6}, x[3] = {1, 1, 1}, y[2];
    const double one = 1.0;
    const uint64_t c0 = A.store.counter;
    A.gemv(&A, 2, 3, &one, M, x, NULL, y);
    cr_assert(y[0] == 6 && y[1] == 15);
    cr_assert_eq(A.store.counter, c0 + 2);
    gka_arith_destroy(&A);
    gka_rounding_t r = gka_rounding_default(&gka_fp32);
    r.subnormals = 0;
    cr_assert_eq(gka_arith_init_emulated(&A, &r, GKA_ACCUM_WIDE, NULL), GKA_OK);
    double a[1] = {0x1p-70}, b[1] = {0x1p-70}, d;
    A.dot(&A, &d, 1, a, b); /* 2^-140: a float subnormal */
    cr_assert(d == 0 && (A.events & GKA_FLAG_FLUSHED), "got %a", d);
    A.axpy(&A, 1, a, b, a); /* 2^-140 + 2^-70 is normal: kept */
    cr_assert_eq(a[0], (double)(0x1p-140f + 0x1p-70f));
    gka_arith_destroy(&A);
}

/* fp32 storage with RNE runs on native float operations with flags derived
 * exactly; the same table with saturation on (identical results when nothing
 * overflows) runs through gka_add / gka_mul / ...: values and events agree. */
static double rand_fp32_value(void) {
    const uint64_t k = next64() % 4;
    if (k == 0) return (double)(float)ldexp(sym(), irand(-149, -100)); /* subnormal products */
    if (k == 1) return (double)(float)ldexp((double)irand(-8, 8), irand(-3, 3)); /* exact */
    const double v = (double)rand_float();
    return fabs(v) > 0x1p60 ? (double)(float)(v * 0x1p-80) : v;
}

Test(arith_emulated, fp32_fast_path_flags_match_generic) {
    enum { N = 12 };
    gka_arith_t F, G;
    make(&F, &gka_fp32, GKA_RND_NE, GKA_ACCUM_PER_OP, NULL);
    gka_rounding_t r = gka_rounding_default(&gka_fp32);
    r.saturate = 1;
    cr_assert_eq(gka_arith_init_emulated(&G, &r, GKA_ACCUM_PER_OP, NULL), GKA_OK);
    double a, b, rf, rg;
    for (int k = 0; k < 100000; k++) {
        a = rand_fp32_value(), b = rand_fp32_value();
        if (fabs(a) > 0x1p60 || fabs(b) > 0x1p60) continue; /* no overflow */
        void (*ops[4])(gka_arith_t *, void *, const void *, const void *) = {F.add, F.sub, F.mul,
                                                                             F.div};
        void (*gops[4])(gka_arith_t *, void *, const void *, const void *) = {G.add, G.sub, G.mul,
                                                                              G.div};
        for (int o = 0; o < 4; o++) {
            if (o == 3 && fabs(b) < 0x1p-60) continue;
            F.events = G.events = 0;
            ops[o](&F, &rf, &a, &b);
            gops[o](&G, &rg, &a, &b);
            cr_assert(oracle_same(rf, rg) && F.events == G.events, "op %d %a %a: %a/%x vs %a/%x", o,
                      a, b, rf, F.events, rg, G.events);
        }
        const double aa = fabs(a);
        F.events = G.events = 0;
        F.sqrt(&F, &rf, &aa);
        G.sqrt(&G, &rg, &aa);
        cr_assert(oracle_same(rf, rg) && F.events == G.events, "sqrt %a", aa);
    }
    double x[N], y[N], M[N * N], yf[N], yg[N], Mf[N * N], Mg[N * N];
    for (int rep = 0; rep < 3000; rep++) {
        const int n = irand(1, N), m = irand(1, N);
        const int e = irand(-75, 20); /* down to products in the subnormal range */
        for (int i = 0; i < N; i++)
            x[i] = (double)(float)ldexp(sym(), e + irand(-2, 2));
        for (int i = 0; i < N; i++)
            y[i] = (double)(float)ldexp(sym(), e + irand(-2, 2));
        for (int i = 0; i < N * N; i++)
            M[i] = (double)(float)ldexp(sym(), e + irand(-2, 2));
        const double al = (double)(float)sym(), be = (double)(float)sym();
        F.events = G.events = 0;
        F.dot(&F, &rf, (size_t)n, x, y);
        G.dot(&G, &rg, (size_t)n, x, y);
        cr_assert(oracle_same(rf, rg) && F.events == G.events, "dot %d", rep);
        F.nrm2(&F, &rf, (size_t)n, x);
        G.nrm2(&G, &rg, (size_t)n, x);
        cr_assert(oracle_same(rf, rg) && F.events == G.events, "nrm2 %d", rep);
        memcpy(yf, y, sizeof y), memcpy(yg, y, sizeof y);
        F.gemv(&F, (size_t)m, (size_t)n, &al, M, x, &be, yf);
        G.gemv(&G, (size_t)m, (size_t)n, &al, M, x, &be, yg);
        F.axpy(&F, (size_t)n, &al, x, yf);
        G.axpy(&G, (size_t)n, &al, x, yg);
        F.scal(&F, (size_t)n, &be, yf);
        G.scal(&G, (size_t)n, &be, yg);
        cr_assert(memcmp(yf, yg, sizeof yf) == 0 && F.events == G.events, "gemv/axpy/scal %d", rep);
        memcpy(Mf, M, sizeof M), memcpy(Mg, M, sizeof M);
        F.syr(&F, (size_t)n, &al, x, Mf);
        G.syr(&G, (size_t)n, &al, x, Mg);
        cr_assert(memcmp(Mf, Mg, sizeof Mf) == 0 && F.events == G.events, "syr %d", rep);
        cr_assert(isfinite(rf) && isfinite(yf[0]));
    }
    gka_arith_destroy(&F);
    gka_arith_destroy(&G);
}

/* Round-to-nearest-even in any format takes a bit-trick path in the normal
 * range; with saturation on, the generic gka_* path runs instead. Without
 * overflow both must give the same values and the same events. */
Test(arith_emulated, rne_fast_path_matches_generic, .init = ref_setup, .fini = ref_teardown) {
    enum { N = 12 };
    const gka_format_t *fmts[] = {&gka_bf16, &gka_fp16, &gka_e4m3, &gka_e5m2, &gka_tf32};
    double x[N], y[N], M[N * N], yf[N], yg[N], Mf[N * N], Mg[N * N], rf, rg;
    for (size_t fi = 0; fi < 5; fi++)
        for (int accum = 0; accum < 2; accum++) {
            const gka_format_t *f = fmts[fi];
            gka_arith_t F, G;
            const gka_accum_t ac = accum ? GKA_ACCUM_WIDE : GKA_ACCUM_PER_OP;
            const gka_format_t *w =
                f == &gka_e4m3 ? &gka_bf16 : (f == &gka_e5m2 ? &gka_fp16 : NULL);
            make(&F, f, GKA_RND_NE, ac, w);
            gka_rounding_t r = gka_rounding_default(f);
            r.saturate = 1;
            cr_assert_eq(gka_arith_init_emulated(&G, &r, ac, w), GKA_OK);
            for (int rep = 0; rep < 150; rep++) {
                const int n = irand(1, N), m = irand(1, N);
                const int lo = f->emin - f->t, hi = f->emax / 2 - 4;
                const int e = irand(lo / 2, hi);
                fill(x, N, f, e - 2, e + 2), fill(y, N, f, e - 2, e + 2);
                fill(M, N * N, f, e - 2, e + 2);
                const double al = value_of(sym(), f), be = value_of(sym(), f);
                F.events = G.events = 0;
                F.dot(&F, &rf, (size_t)n, x, y);
                G.dot(&G, &rg, (size_t)n, x, y);
                cr_assert(oracle_same(rf, rg) && F.events == G.events, "%s dot %a/%x %a/%x", F.name,
                          rf, F.events, rg, G.events);
                F.nrm2(&F, &rf, (size_t)n, x);
                G.nrm2(&G, &rg, (size_t)n, x);
                cr_assert(oracle_same(rf, rg) && F.events == G.events, "%s nrm2", F.name);
                F.mul(&F, &rf, &x[0], &y[0]);
                G.mul(&G, &rg, &x[0], &y[0]);
                F.add(&F, &rf, &rf, &x[1]);
                G.add(&G, &rg, &rg, &x[1]);
                cr_assert(oracle_same(rf, rg) && F.events == G.events, "%s mul/add", F.name);
                memcpy(yf, y, sizeof y), memcpy(yg, y, sizeof y);
                F.gemv(&F, (size_t)m, (size_t)n, &al, M, x, &be, yf);
                G.gemv(&G, (size_t)m, (size_t)n, &al, M, x, &be, yg);
                F.axpy(&F, (size_t)n, &al, x, yf);
                G.axpy(&G, (size_t)n, &al, x, yg);
                F.scal(&F, (size_t)n, &be, yf);
                G.scal(&G, (size_t)n, &be, yg);
                cr_assert(memcmp(yf, yg, sizeof yf) == 0 && F.events == G.events, "%s gemv/axpy",
                          F.name);
                memcpy(Mf, M, sizeof M), memcpy(Mg, M, sizeof M);
                F.syr(&F, (size_t)n, &al, x, Mf);
                G.syr(&G, (size_t)n, &al, x, Mg);
                cr_assert(memcmp(Mf, Mg, sizeof Mf) == 0 && F.events == G.events, "%s syr", F.name);
            }
            cr_assert(F.events != 0);
            gka_arith_destroy(&F);
            gka_arith_destroy(&G);
        }
}
