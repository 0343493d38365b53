/* GKA_ACCUM_EXACT of the emulated tables (precision/arith_exact.c) against
 * MPFR: the exact value of each output element is computed by mpfr_sum of
 * exact terms at 4096 bits (checked exact), then rounded to the format by
 * MPFR's own emulation (mpfr_oracle.h). Inputs: random, cancelling (sum near
 * or exactly zero), huge exponent range, and subnormal-producing; formats
 * from e5m2 to t = 26 with |emin| = 500; deterministic rounding modes. */
#include <criterion/criterion.h>
#include <math.h>
#include <mpfr.h>
#include <stdint.h>
#include <stdlib.h>

#include "gka_arith.h"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "mpfr_oracle.h"
#pragma GCC diagnostic pop

enum { REF_PREC = 4096 };

static uint64_t rng = 0x9E3779B97F4A7C15u;
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

/* A value of format f: RNE rounding done by MPFR (independent of gka). */
static double fmt_value(double v, const gka_format_t *f) {
    mpfr_t x;
    mpfr_init2(x, 64);
    mpfr_set_d(x, v, MPFR_RNDN);
    unsigned fl;
    double d = oracle_round(x, f, GKA_RND_NE, 1, 1, &fl);
    mpfr_clear(x);
    return d;
}

/* Exact sum of terms (each a product of up to three doubles), rounded to f. */
typedef struct {
    mpfr_t term[520];
    mpfr_ptr ptr[520];
    int n;
} terms_t;

static void terms_init(terms_t *T) {
    for (int i = 0; i < 520; i++)
        mpfr_init2(T->term[i], 200);
    T->n = 0;
}
static void terms_clear(terms_t *T) {
    for (int i = 0; i < 520; i++)
        mpfr_clear(T->term[i]);
}
static void terms_add(terms_t *T, double a, double b, double c) {
    cr_assert(T->n < 520);
    mpfr_ptr t = T->term[T->n];
    mpfr_set_d(t, a, MPFR_RNDN);
    cr_assert_eq(mpfr_mul_d(t, t, b, MPFR_RNDN), 0);
    cr_assert_eq(mpfr_mul_d(t, t, c, MPFR_RNDN), 0);
    T->ptr[T->n] = t;
    T->n++;
}
static double terms_round(terms_t *T, const gka_format_t *f, gka_round_mode_t mode) {
    mpfr_t s;
    mpfr_init2(s, REF_PREC);
    /* exact, so the direction only sets the sign of an exact zero (IEEE 754:
     * -0 in roundTowardNegative) */
    const mpfr_rnd_t dir = mode == GKA_RND_TN ? MPFR_RNDD : MPFR_RNDN;
    cr_assert_eq(mpfr_sum(s, T->ptr, (unsigned long)T->n, dir), 0, "reference not exact");
    unsigned fl;
    double d = oracle_round(s, f, mode, 1, 0, &fl);
    mpfr_clear(s);
    T->n = 0;
    return d;
}

static void expect_same(double got, double want, const char *what, int k) {
    cr_assert(!isnan(want), "%s #%d: reference is NaN", what, k);
    cr_assert(oracle_same(got, want), "%s #%d: got %a, want %a", what, k, got, want);
}

static gka_format_t formats[6];
static int nformats;
static void setup_formats(void) {
    nformats = 0;
    formats[nformats++] = gka_bf16;
    formats[nformats++] = gka_fp16;
    formats[nformats++] = gka_fp32;
    formats[nformats++] = gka_e5m2;
    formats[nformats++] = gka_tf32;
    cr_assert_eq(gka_format_custom(26, -500, 500, &formats[nformats++]), GKA_OK);
}
static const gka_round_mode_t modes[] = {GKA_RND_NE, GKA_RND_TZ, GKA_RND_TP,
                                         GKA_RND_TN, GKA_RND_NA, GKA_RND_OD};

static void make_table(gka_arith_t *A, const gka_format_t *f, gka_round_mode_t mode) {
    gka_rounding_t r = gka_rounding_default(f);
    r.mode = mode;
    cr_assert_eq(gka_arith_init_emulated(A, &r, GKA_ACCUM_EXACT, NULL), GKA_OK, "%s",
                 gka_error_message());
}

/* Fill x, y (n entries) of format f by kind: 0 random, 1 cancelling, 2 huge
 * range, 3 subnormal-producing, 4 exactly cancelling. */
static void fill(int kind, const gka_format_t *f, int n, double *x, double *y) {
    const int half_range = (f->emax < 120 ? f->emax : 120) / 2;
    for (int j = 0; j < n; j++) {
        switch (kind) {
        case 0:
        case 1:
        case 4:
            x[j] = fmt_value(sym() * ldexp(1.0, irand(-3, 3)), f);
            y[j] = fmt_value(sym(), f);
            break;
        case 2:
            x[j] = fmt_value(sym() * ldexp(1.0, irand(f->emin / 2 + 2, f->emax / 2 - 1)), f);
            y[j] = fmt_value(sym() * ldexp(1.0, irand(f->emin / 2 + 2, f->emax / 2 - 1)), f);
            break;
        default: /* products near the smallest normal and below */
            x[j] = fmt_value(sym() * ldexp(1.0, f->emin / 2), f);
            y[j] = fmt_value(sym() * ldexp(1.0, f->emin - f->emin / 2 + irand(-3, 1)), f);
            break;
        }
    }
    (void)half_range;
    if (kind == 1 || kind == 4) { /* second half negates the first: sum = 0 */
        for (int j = n / 2; j < 2 * (n / 2); j++) {
            x[j] = x[j - n / 2];
            y[j] = -y[j - n / 2];
        }
        if (n % 2) x[n - 1] = y[n - 1] = 0.0;
        if (kind == 1) { /* then a small residual */
            y[n - 1] = fmt_value(ldexp(sym(), irand(-20, -8)), f);
            x[n - 1] = fmt_value(ldexp(1.0 + unif(), irand(-12, -2)), f);
        }
    }
    if (kind == 2 && n >= 3) { /* a huge term cancelled at the end */
        x[0] = fmt_value(ldexp(1.5, f->emax / 2), f);
        y[0] = fmt_value(ldexp(1.25, f->emax / 2 - 1), f);
        x[n - 1] = -x[0];
        y[n - 1] = y[0];
    }
}

Test(arith_exact, dot_matches_mpfr) {
    setup_formats();
    terms_t *T = malloc(sizeof *T);
    terms_init(T);
    double x[512], y[512];
    int checked = 0;
    for (int fi = 0; fi < nformats; fi++)
        for (size_t mi = 0; mi < sizeof modes / sizeof modes[0]; mi++) {
            gka_arith_t A;
            make_table(&A, &formats[fi], modes[mi]);
            for (int kind = 0; kind < 5; kind++)
                for (int rep = 0; rep < 6; rep++) {
                    const int n = rep == 0 ? 1 + kind % 2 : irand(2, 300);
                    fill(kind, &formats[fi], n, x, y);
                    for (int j = 0; j < n; j++)
                        terms_add(T, x[j], y[j], 1.0);
                    const double want = terms_round(T, &formats[fi], modes[mi]);
                    if (kind == 4 && n > 1)
                        cr_assert_eq(want, 0.0); /* the case is what it claims */
                    double got;
                    A.dot(&A, &got, (size_t)n, x, y);
                    expect_same(got, want, A.name, kind * 100 + rep);
                    checked++;
                }
            gka_arith_destroy(&A);
        }
    terms_clear(T);
    free(T);
    cr_log_info("exact dot: %d cases", checked);
}

/* Exact zero: +0, or -0 under roundTowardNegative and when every term is -0. */
Test(arith_exact, dot_signed_zero) {
    gka_arith_t A;
    make_table(&A, &gka_bf16, GKA_RND_NE);
    double x[2] = {1.5, -1.5}, y[2] = {2.0, 2.0}, r;
    A.dot(&A, &r, 2, x, y);
    cr_assert(r == 0 && !signbit(r));
    double nz[2] = {-0.0, 0.0}, one[2] = {1.0, -1.0};
    A.dot(&A, &r, 2, nz, one); /* -0 * 1 + 0 * -1 = -0 + -0 */
    cr_assert(r == 0 && signbit(r));
    gka_arith_destroy(&A);
    make_table(&A, &gka_bf16, GKA_RND_TN);
    A.dot(&A, &r, 2, x, y);
    cr_assert(r == 0 && signbit(r));
    gka_arith_destroy(&A);
}

Test(arith_exact, dot_nonfinite) {
    gka_arith_t A;
    make_table(&A, &gka_fp16, GKA_RND_NE);
    double x[3] = {1.0, INFINITY, 2.0}, y[3] = {1.0, 1.0, 3.0}, r;
    A.dot(&A, &r, 3, x, y);
    cr_assert(isinf(r) && r > 0);
    y[1] = 0.0; /* Inf * 0 */
    A.events = 0;
    A.dot(&A, &r, 3, x, y);
    cr_assert(isnan(r));
    cr_assert(A.events & GKA_FLAG_INVALID);
    double u[2] = {INFINITY, -INFINITY}, v[2] = {1.0, 1.0};
    A.dot(&A, &r, 2, u, v);
    cr_assert(isnan(r));
    double w[2] = {NAN, 1.0};
    A.dot(&A, &r, 2, w, v);
    cr_assert(isnan(r));
    /* overflow of an exact sum of finite terms */
    double big[2] = {60000.0, 60000.0}, two[2] = {2.0, 2.0};
    A.events = 0;
    A.dot(&A, &r, 2, big, two);
    cr_assert(isinf(r) && (A.events & GKA_FLAG_OVERFLOW));
    gka_arith_destroy(&A);
}

Test(arith_exact, gemv_syr_axpy_match_mpfr) {
    setup_formats();
    terms_t *T = malloc(sizeof *T);
    terms_init(T);
    enum { MAXN = 24 };
    double M[MAXN * MAXN], M0[MAXN * MAXN], x[MAXN], y[MAXN], y0[MAXN], tmp[MAXN];
    for (int fi = 0; fi < nformats; fi++)
        for (size_t mi = 0; mi < sizeof modes / sizeof modes[0]; mi++) {
            const gka_format_t *f = &formats[fi];
            gka_arith_t A;
            make_table(&A, f, modes[mi]);
            for (int kind = 0; kind < 4; kind++) {
                const int m = irand(1, MAXN), n = irand(1, MAXN);
                for (int i = 0; i < m; i++)
                    fill(kind, f, n, M + i * n, tmp);
                fill(kind, f, n, x, tmp);
                fill(kind == 3 ? 0 : kind, f, m, y0, tmp);
                const double alpha = fmt_value(sym() * 2, f), beta = fmt_value(sym(), f);
                /* gemv with beta */
                for (int i = 0; i < m; i++)
                    y[i] = y0[i];
                A.gemv(&A, (size_t)m, (size_t)n, &alpha, M, x, &beta, y);
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++)
                        terms_add(T, alpha, M[i * n + j], x[j]);
                    terms_add(T, beta, y0[i], 1.0);
                    expect_same(y[i], terms_round(T, f, modes[mi]), "gemv", i);
                }
                /* gemv without beta */
                A.gemv(&A, (size_t)m, (size_t)n, &alpha, M, x, NULL, y);
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++)
                        terms_add(T, alpha, M[i * n + j], x[j]);
                    expect_same(y[i], terms_round(T, f, modes[mi]), "gemv0", i);
                }
                /* syr on an n x n matrix */
                for (int k = 0; k < n * n; k++)
                    M0[k] = M[k % (m * n)];
                for (int k = 0; k < n * n; k++)
                    M[k] = M0[k];
                A.syr(&A, (size_t)n, &alpha, x, M);
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n; j++) {
                        terms_add(T, M0[i * n + j], 1.0, 1.0);
                        terms_add(T, alpha, x[i], x[j]);
                        expect_same(M[i * n + j], terms_round(T, f, modes[mi]), "syr", i * n + j);
                    }
                /* axpy */
                for (int j = 0; j < n; j++)
                    y[j] = M0[j];
                A.axpy(&A, (size_t)n, &alpha, x, y);
                for (int j = 0; j < n; j++) {
                    terms_add(T, alpha, x[j], 1.0);
                    terms_add(T, M0[j], 1.0, 1.0);
                    expect_same(y[j], terms_round(T, f, modes[mi]), "axpy", j);
                }
                /* scal: one rounding of alpha x_j */
                for (int j = 0; j < n; j++)
                    y[j] = x[j];
                A.scal(&A, (size_t)n, &alpha, y);
                for (int j = 0; j < n; j++) {
                    terms_add(T, alpha, x[j], 1.0);
                    expect_same(y[j], terms_round(T, f, modes[mi]), "scal", j);
                }
            }
            gka_arith_destroy(&A);
        }
    terms_clear(T);
    free(T);
}

/* sqrt of the exact sum of squares, rounded once: MPFR sqrt of the exact sum
 * at t bits (correctly rounded), then the format's emulation. */
static double ref_nrm2(const double *x, int n, const gka_format_t *f, gka_round_mode_t mode) {
    mpfr_t s, p, q;
    mpfr_inits2(REF_PREC, s, p, (mpfr_ptr)0);
    mpfr_set_zero(s, 1);
    for (int j = 0; j < n; j++) {
        mpfr_set_d(p, x[j], MPFR_RNDN);
        mpfr_sqr(p, p, MPFR_RNDN);
        cr_assert_eq(mpfr_add(s, s, p, MPFR_RNDN), 0);
    }
    /* sqrt at 3000 bits is not exact in general; round-to-odd keeps the
     * information needed to round to t <= 26 bits (3000 >= 2t + 2). */
    mpfr_init2(q, 3000);
    int inex = mpfr_sqrt(q, s, MPFR_RNDZ);
    if (inex && mpfr_min_prec(q) < 3000) mpfr_nextabove(q);
    unsigned fl;
    double d = oracle_round(q, f, mode, 1, 0, &fl);
    mpfr_clears(s, p, q, (mpfr_ptr)0);
    return d;
}

Test(arith_exact, nrm2_matches_mpfr) {
    setup_formats();
    double x[600], y[600];
    for (int fi = 0; fi < nformats; fi++)
        for (size_t mi = 0; mi < sizeof modes / sizeof modes[0]; mi++) {
            const gka_format_t *f = &formats[fi];
            gka_arith_t A;
            make_table(&A, f, modes[mi]);
            for (int kind = 0; kind < 4; kind++)
                for (int rep = 0; rep < 5; rep++) {
                    const int n = irand(1, 600);
                    fill(kind, f, n, x, y);
                    double got;
                    A.nrm2(&A, &got, (size_t)n, x);
                    expect_same(got, ref_nrm2(x, n, f, modes[mi]), A.name, kind * 10 + rep);
                }
            gka_arith_destroy(&A);
        }
}

/* sqrt(S) at or next to a rounding midpoint of bf16: m = 1 + 2^-8 lies halfway
 * between 1 and 1 + 2^-7; S = m^2 = 1 + 2^-7 + 2^-16 (+ 2^-40). Rounding S
 * first would lose the 2^-40 and give the tie. */
Test(arith_exact, nrm2_midpoints) {
    gka_arith_t A;
    make_table(&A, &gka_bf16, GKA_RND_NE);
    double x[5] = {1.0, 0x1p-4, 0x1p-4, 0x1p-8, 0x1p-20}, r;
    A.nrm2(&A, &r, 5, x); /* just above the midpoint */
    cr_assert_eq(r, 1.0 + 0x1p-7, "got %a", r);
    A.nrm2(&A, &r, 4, x); /* exactly the midpoint: ties to even */
    cr_assert_eq(r, 1.0, "got %a", r);
    gka_arith_destroy(&A);
    /* S = m^2 exactly: sqrt is the midpoint itself, inexact in bf16 */
    make_table(&A, &gka_bf16, GKA_RND_TP);
    double e[1] = {1.0};
    A.nrm2(&A, &r, 1, e); /* exact: no step up */
    cr_assert_eq(r, 1.0);
    A.nrm2(&A, &r, 4, x);
    cr_assert_eq(r, 1.0 + 0x1p-7, "got %a", r);
    gka_arith_destroy(&A);
    make_table(&A, &gka_bf16, GKA_RND_TZ);
    A.nrm2(&A, &r, 5, x);
    cr_assert_eq(r, 1.0, "got %a", r);
    gka_arith_destroy(&A);
    double zero[3] = {0.0, -0.0, 0.0};
    make_table(&A, &gka_bf16, GKA_RND_NE);
    A.nrm2(&A, &r, 3, zero);
    cr_assert(r == 0 && !signbit(r));
    double inf[2] = {1.0, -INFINITY};
    A.nrm2(&A, &r, 2, inf);
    cr_assert(isinf(r) && r > 0);
    double nan[2] = {NAN, 1.0};
    A.nrm2(&A, &r, 2, nan);
    cr_assert(isnan(r));
    gka_arith_destroy(&A);
}

/* Sums of squares S = g^2 - 2^-60 with g = 1 + 2^-8 (a bf16 midpoint) or
 * g = 1 + 2^-7 (a bf16 value): sqrt(S) = g - 2^-61 - ..., closer to g than
 * half a double ulp, so a double sqrt lands on g and only an exact check
 * finds the side. Built from squares of powers of two:
 * 2^-16 - 2^-60 = sum_{k=17}^{60} 2^-k. */
static int squares_below(double *x, int g_is_value) {
    int n = 0;
    x[n++] = 1.0;
    if (g_is_value) { /* g^2 = 1 + 2^-6 + 2^-14 */
        x[n++] = 0x1p-3;
        /* replace 2^-14 by 2^-14 - 2^-60 = sum_{k=15}^{60} 2^-k */
        for (int k = 15; k <= 60; k++) {
            if (k % 2 == 0) {
                x[n++] = ldexp(1.0, -k / 2);
            } else {
                x[n++] = ldexp(1.0, -(k + 1) / 2);
                x[n++] = ldexp(1.0, -(k + 1) / 2);
            }
        }
    } else { /* g^2 = 1 + 2^-7 + 2^-16 */
        x[n++] = 0x1p-4;
        x[n++] = 0x1p-4;
        for (int k = 17; k <= 60; k++) {
            if (k % 2 == 0) {
                x[n++] = ldexp(1.0, -k / 2);
            } else {
                x[n++] = ldexp(1.0, -(k + 1) / 2);
                x[n++] = ldexp(1.0, -(k + 1) / 2);
            }
        }
    }
    return n;
}

Test(arith_exact, nrm2_just_below_boundaries) {
    double x[128], r;
    gka_arith_t A;
    const struct {
        int g_is_value;
        gka_round_mode_t mode;
        double want;
    } cases[] = {
        {0, GKA_RND_NE, 1.0},          {0, GKA_RND_TP, 1.0 + 0x1p-7}, {0, GKA_RND_TZ, 1.0},
        {1, GKA_RND_TZ, 1.0},          {1, GKA_RND_TN, 1.0},          {1, GKA_RND_TP, 1.0 + 0x1p-7},
        {1, GKA_RND_NE, 1.0 + 0x1p-7},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int n = squares_below(x, cases[c].g_is_value);
        cr_assert_eq(ref_nrm2(x, n, &gka_bf16, cases[c].mode), cases[c].want, "reference, case %zu",
                     c);
        make_table(&A, &gka_bf16, cases[c].mode);
        A.nrm2(&A, &r, (size_t)n, x);
        cr_assert_eq(r, cases[c].want, "case %zu: got %a", c, r);
        gka_arith_destroy(&A);
    }
}

/* A dot whose leading part is a format value or a midpoint and whose sign
 * beyond double precision is decided by a term 2^-100 times smaller. */
Test(arith_exact, dot_far_tail_decides) {
    setup_formats();
    for (int fi = 0; fi < nformats; fi++) {
        const gka_format_t *f = &formats[fi];
        const double ulp = ldexp(1.0, 1 - f->t), tiny = ldexp(1.0, f->emin / 2 - 2);
        for (size_t mi = 0; mi < sizeof modes / sizeof modes[0]; mi++)
            for (int mid = 0; mid < 2; mid++)
                for (int s = -1; s <= 1; s++) {
                    /* 1 (+ ulp/2) + s * tiny^2 */
                    double x[3] = {1.0, mid ? ulp / 2 : 0.0, s * tiny}, y[3] = {1.0, 1.0, tiny};
                    terms_t *T = malloc(sizeof *T);
                    terms_init(T);
                    for (int j = 0; j < 3; j++)
                        terms_add(T, x[j], y[j], 1.0);
                    const double want = terms_round(T, f, modes[mi]);
                    terms_clear(T);
                    free(T);
                    gka_arith_t A;
                    make_table(&A, f, modes[mi]);
                    double got;
                    A.dot(&A, &got, 3, x, y);
                    expect_same(got, want, A.name, mid * 10 + s);
                    gka_arith_destroy(&A);
                }
    }
}
