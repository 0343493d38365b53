/* The MPFR operation table (precision/arith_mpfr.c): at 53 bits it reproduces
 * the native fp64 table (normal range); EXACT kernels are correctly rounded
 * (checked against exact sums at 4096 bits); ROUND kernels round in the
 * documented places; the storage functions behave. */
#include <criterion/criterion.h>
#include <math.h>
#include <mpfr.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gka_arith.h"

static uint64_t rng = 0x243F6A8885A308D3u;
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
static double rnd_double(int e) {
    return ldexp(sym(), irand(-e, e));
}

static int same(double a, double b) {
    if (isnan(a) || isnan(b)) return 0; /* NaN never passes */
    return a == b && signbit(a) == signbit(b);
}

static void init_mpfr(gka_arith_t *A, long prec, gka_accum_t accum) {
    cr_assert_eq(gka_arith_init_mpfr(A, prec, accum), GKA_OK, "%s", gka_error_message());
}

/* An MPFR element array from doubles. */
static __mpfr_struct *from_d(gka_arith_t *A, const double *v, size_t n) {
    __mpfr_struct *x = A->alloc(A, n);
    cr_assert_not_null(x);
    A->from_double(A, x, v, n);
    return x;
}

Test(arith_mpfr, prec53_reproduces_fp64_scalar_ops) {
    gka_arith_t M, F;
    init_mpfr(&M, 53, GKA_ACCUM_PER_OP);
    cr_assert_eq(gka_arith_init_fp64(&F), GKA_OK);
    __mpfr_struct *e = M.alloc(&M, 4);
    for (int k = 0; k < 50000; k++) {
        double v[3] = {rnd_double(200), rnd_double(200), rnd_double(200)}, rf, rm;
        M.from_double(&M, e, v, 3);
        const double av = fabs(v[0]);
        F.add(&F, &rf, &v[0], &v[1]);
        M.add(&M, &e[3], &e[0], &e[1]);
        cr_assert(same(M.get_d(&M, &e[3]), rf), "add");
        F.sub(&F, &rf, &v[0], &v[1]);
        M.sub(&M, &e[3], &e[0], &e[1]);
        cr_assert(same(M.get_d(&M, &e[3]), rf), "sub");
        F.mul(&F, &rf, &v[0], &v[1]);
        M.mul(&M, &e[3], &e[0], &e[1]);
        cr_assert(same(M.get_d(&M, &e[3]), rf), "mul");
        F.div(&F, &rf, &v[0], &v[1]);
        M.div(&M, &e[3], &e[0], &e[1]);
        cr_assert(same(M.get_d(&M, &e[3]), rf), "div");
        F.fma(&F, &rf, &v[0], &v[1], &v[2]);
        M.fma(&M, &e[3], &e[0], &e[1], &e[2]);
        cr_assert(same(M.get_d(&M, &e[3]), rf), "fma");
        F.sqrt(&F, &rf, &av);
        M.set_d(&M, &e[3], av);
        M.sqrt(&M, &e[3], &e[3]);
        rm = M.get_d(&M, &e[3]);
        cr_assert(same(rm, rf), "sqrt");
    }
    M.free(&M, e, 4);
    gka_arith_destroy(&M);
    gka_arith_destroy(&F);
}

Test(arith_mpfr, prec53_reproduces_fp64_kernels) {
    enum { N = 33 };
    gka_arith_t M, F;
    init_mpfr(&M, 53, GKA_ACCUM_PER_OP);
    cr_assert_eq(gka_arith_init_fp64(&F), GKA_OK);
    double x[N], y[N], H[N * N], out[N * N], rf;
    for (int rep = 0; rep < 60; rep++) {
        const int m = irand(1, N), n = irand(1, N);
        for (int i = 0; i < N; i++)
            x[i] = rnd_double(30), y[i] = rnd_double(30);
        for (int i = 0; i < N * N; i++)
            H[i] = rnd_double(30);
        const double al = sym(), be = sym();
        __mpfr_struct *mx = from_d(&M, x, N), *my = from_d(&M, y, N), *mH = from_d(&M, H, N * N);
        __mpfr_struct *s = M.alloc(&M, 3);
        M.set_d(&M, &s[0], al), M.set_d(&M, &s[1], be);
        F.dot(&F, &rf, (size_t)n, x, y);
        M.dot(&M, &s[2], (size_t)n, mx, my);
        cr_assert(same(M.get_d(&M, &s[2]), rf), "dot");
        F.nrm2(&F, &rf, (size_t)n, x);
        M.nrm2(&M, &s[2], (size_t)n, mx);
        cr_assert(same(M.get_d(&M, &s[2]), rf), "nrm2");
        double yy[N];
        memcpy(yy, y, sizeof yy);
        F.gemv(&F, (size_t)m, (size_t)n, &al, H, x, &be, yy);
        M.gemv(&M, (size_t)m, (size_t)n, &s[0], mH, mx, &s[1], my);
        M.to_double(&M, out, my, (size_t)m);
        for (int i = 0; i < m; i++)
            cr_assert(same(out[i], yy[i]), "gemv %d", i);
        F.gemv(&F, (size_t)m, (size_t)n, &al, H, x, NULL, yy);
        M.gemv(&M, (size_t)m, (size_t)n, &s[0], mH, mx, NULL, my);
        M.to_double(&M, out, my, (size_t)m);
        for (int i = 0; i < m; i++)
            cr_assert(same(out[i], yy[i]), "gemv0 %d", i);
        F.axpy(&F, (size_t)n, &al, x, yy);
        M.axpy(&M, (size_t)n, &s[0], mx, my);
        M.to_double(&M, out, my, (size_t)n);
        for (int i = 0; i < n; i++)
            cr_assert(same(out[i], yy[i]), "axpy %d", i);
        F.scal(&F, (size_t)n, &be, yy);
        M.scal(&M, (size_t)n, &s[1], my);
        M.to_double(&M, out, my, (size_t)n);
        for (int i = 0; i < n; i++)
            cr_assert(same(out[i], yy[i]), "scal %d", i);
        F.syr(&F, (size_t)n, &al, x, H);
        M.syr(&M, (size_t)n, &s[0], mx, mH);
        M.to_double(&M, out, mH, (size_t)(n * n));
        for (int i = 0; i < n * n; i++)
            cr_assert(same(out[i], H[i]), "syr %d", i);
        M.free(&M, mx, N), M.free(&M, my, N), M.free(&M, mH, N * N), M.free(&M, s, 3);
    }
    gka_arith_destroy(&M);
    gka_arith_destroy(&F);
}

/* Exact sum of the products a_k b_k c_k (doubles) at 4096 bits. */
static void exact_sum(mpfr_ptr s, int n, const double *a, const double *b, const double *c) {
    mpfr_t t;
    mpfr_init2(t, 200);
    mpfr_set_prec(s, 4096);
    mpfr_set_zero(s, 1);
    for (int k = 0; k < n; k++) {
        mpfr_set_d(t, a[k], MPFR_RNDN);
        cr_assert_eq(mpfr_mul_d(t, t, b[k], MPFR_RNDN), 0);
        if (c) cr_assert_eq(mpfr_mul_d(t, t, c[k], MPFR_RNDN), 0);
        cr_assert_eq(mpfr_add(s, s, t, MPFR_RNDN), 0, "reference not exact");
    }
    mpfr_clear(t);
}

/* Random doubles with cancellation and a wide exponent range. */
static void nasty(double *x, double *y, int n, int kind) {
    for (int j = 0; j < n; j++) {
        x[j] = rnd_double(kind == 2 ? 400 : 10);
        y[j] = rnd_double(kind == 2 ? 400 : 10);
    }
    if (kind >= 1)
        for (int j = n / 2; j < 2 * (n / 2); j++)
            x[j] = -x[j - n / 2], y[j] = y[j - n / 2];
    if (kind == 1) y[n - 1] = ldexp(y[n - 1], -60);
}

Test(arith_mpfr, exact_dot_is_correctly_rounded) {
    const long precs[] = {24, 53, 256};
    double x[300], y[300];
    mpfr_t s, want;
    mpfr_init2(s, 4096);
    for (int pi = 0; pi < 3; pi++) {
        gka_arith_t A;
        init_mpfr(&A, precs[pi], GKA_ACCUM_EXACT);
        mpfr_init2(want, precs[pi]);
        for (int rep = 0; rep < 60; rep++) {
            const int n = irand(1, 300), kind = rep % 3;
            nasty(x, y, n, kind);
            __mpfr_struct *mx = A.alloc(&A, (size_t)n), *my = A.alloc(&A, (size_t)n),
                          *r = A.alloc(&A, 1);
            for (int j = 0; j < n; j++) { /* elements exactly the doubles (53 bits) */
                mpfr_set_prec(&mx[j], 53), mpfr_set_prec(&my[j], 53);
                mpfr_set_d(&mx[j], x[j], MPFR_RNDN), mpfr_set_d(&my[j], y[j], MPFR_RNDN);
            }
            A.dot(&A, r, (size_t)n, mx, my);
            exact_sum(s, n, x, y, NULL);
            mpfr_set(want, s, MPFR_RNDN);
            cr_assert(mpfr_number_p(r) && mpfr_equal_p(r, want), "prec %ld kind %d", precs[pi],
                      kind);
            A.free(&A, mx, (size_t)n), A.free(&A, my, (size_t)n), A.free(&A, r, 1);
        }
        mpfr_clear(want);
        gka_arith_destroy(&A);
    }
    mpfr_clear(s);
}

/* At 256 bits the ROUND dot agrees with the exact one to its error bound
 * n u sum |x_j y_j| (u = 2^-256). */
Test(arith_mpfr, round_dot_256_within_bound) {
    gka_arith_t A;
    init_mpfr(&A, 256, GKA_ACCUM_PER_OP);
    double x[200], y[200], ax[200];
    mpfr_t s, sa, err;
    mpfr_inits2(4096, s, sa, err, (mpfr_ptr)0);
    for (int rep = 0; rep < 40; rep++) {
        const int n = irand(2, 200);
        nasty(x, y, n, rep % 2);
        for (int j = 0; j < n; j++)
            ax[j] = fabs(x[j]);
        __mpfr_struct *mx = from_d(&A, x, (size_t)n), *my = from_d(&A, y, (size_t)n),
                      *r = A.alloc(&A, 1);
        A.dot(&A, r, (size_t)n, mx, my);
        exact_sum(s, n, x, y, NULL);
        double ay[200];
        for (int j = 0; j < n; j++)
            ay[j] = fabs(y[j]);
        exact_sum(sa, n, ax, ay, NULL);
        mpfr_sub(err, r, s, MPFR_RNDN);
        mpfr_abs(err, err, MPFR_RNDN);
        mpfr_mul_2si(sa, sa, -256, MPFR_RNDN);
        mpfr_mul_ui(sa, sa, (unsigned long)n, MPFR_RNDN);
        cr_assert(mpfr_number_p(r) && mpfr_lessequal_p(err, sa), "rep %d", rep);
        A.free(&A, mx, (size_t)n), A.free(&A, my, (size_t)n), A.free(&A, r, 1);
    }
    mpfr_clears(s, sa, err, (mpfr_ptr)0);
    gka_arith_destroy(&A);
}

Test(arith_mpfr, exact_kernels_are_correctly_rounded) {
    enum { N = 20 };
    const long prec = 64;
    gka_arith_t A;
    init_mpfr(&A, prec, GKA_ACCUM_EXACT);
    double x[N], y[N], H[N * N], a3[N + 1], b3[N + 1], c3[N + 1];
    mpfr_t s, want;
    mpfr_init2(s, 4096);
    mpfr_init2(want, prec);
    for (int rep = 0; rep < 40; rep++) {
        const int m = irand(1, N), n = irand(1, N);
        nasty(x, y, N, rep % 3);
        for (int i = 0; i < N * N; i++)
            H[i] = rnd_double(rep % 3 == 2 ? 300 : 10);
        const double al = sym(), be = sym();
        __mpfr_struct *mx = from_d(&A, x, N), *my = from_d(&A, y, N), *mH = from_d(&A, H, N * N);
        __mpfr_struct *sc = A.alloc(&A, 3);
        A.set_d(&A, &sc[0], al), A.set_d(&A, &sc[1], be);
        /* gemv: alpha sum_j H_ij x_j + beta y_i, rounded once */
        A.gemv(&A, (size_t)m, (size_t)n, &sc[0], mH, mx, &sc[1], my);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++)
                a3[j] = al, b3[j] = H[i * n + j], c3[j] = x[j];
            a3[n] = be, b3[n] = y[i], c3[n] = 1.0;
            exact_sum(s, n + 1, a3, b3, c3);
            mpfr_set(want, s, MPFR_RNDN);
            cr_assert(mpfr_equal_p(&my[i], want), "gemv row %d", i);
        }
        /* nrm2: sqrt of the exact sum, rounded once */
        A.nrm2(&A, &sc[2], (size_t)n, mx);
        exact_sum(s, n, x, x, NULL);
        mpfr_sqrt(want, s, MPFR_RNDN);
        cr_assert(mpfr_equal_p(&sc[2], want), "nrm2");
        /* syr and axpy: one fma-like rounding per element */
        A.syr(&A, (size_t)n, &sc[0], mx, mH);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                a3[0] = H[i * n + j], b3[0] = 1.0, c3[0] = 1.0;
                a3[1] = al, b3[1] = x[i], c3[1] = x[j];
                exact_sum(s, 2, a3, b3, c3);
                mpfr_set(want, s, MPFR_RNDN);
                cr_assert(mpfr_equal_p(&mH[i * n + j], want), "syr %d %d", i, j);
            }
        A.from_double(&A, my, y, N);
        A.axpy(&A, (size_t)n, &sc[0], mx, my);
        for (int j = 0; j < n; j++) {
            a3[0] = al, b3[0] = x[j], a3[1] = y[j], b3[1] = 1.0;
            exact_sum(s, 2, a3, b3, NULL);
            mpfr_set(want, s, MPFR_RNDN);
            cr_assert(mpfr_equal_p(&my[j], want), "axpy %d", j);
        }
        A.scal(&A, (size_t)n, &sc[1], mx);
        for (int j = 0; j < n; j++) {
            mpfr_set_d(want, x[j] * 1.0, MPFR_RNDN);
            mpfr_mul_d(want, want, be, MPFR_RNDN);
            cr_assert(mpfr_equal_p(&mx[j], want), "scal %d", j);
        }
        A.free(&A, mx, N), A.free(&A, my, N), A.free(&A, mH, N * N), A.free(&A, sc, 3);
    }
    mpfr_clears(s, want, (mpfr_ptr)0);
    gka_arith_destroy(&A);
}

/* sqrt of a sum of squares at or just above a 53-bit rounding midpoint
 * m = 1 + 2^-53: S = m^2 = 1 + 2^-52 + 2^-106 (+ 2^-160). Rounding S to 53
 * bits first would give the wrong answer in the second case. */
Test(arith_mpfr, exact_nrm2_midpoints) {
    gka_arith_t A, R;
    init_mpfr(&A, 53, GKA_ACCUM_EXACT);
    init_mpfr(&R, 53, GKA_ACCUM_PER_OP);
    const double v[4] = {1.0, 0x1p-26, 0x1p-53, 0x1p-80};
    __mpfr_struct *x = from_d(&A, v, 4), *r = A.alloc(&A, 1);
    A.nrm2(&A, r, 4, x);
    cr_assert_eq(A.get_d(&A, r), 1.0 + 0x1p-52);
    A.nrm2(&A, r, 3, x); /* the exact midpoint: ties to even */
    cr_assert_eq(A.get_d(&A, r), 1.0);
    R.nrm2(&R, r, 4, x); /* the ROUND model loses the 2^-160 (documents the difference) */
    cr_assert_eq(R.get_d(&R, r), 1.0);
    A.free(&A, x, 4), A.free(&A, r, 1);
    gka_arith_destroy(&A);
    gka_arith_destroy(&R);
}

Test(arith_mpfr, storage_and_arguments) {
    gka_arith_t A;
    cr_assert_eq(gka_arith_init_mpfr(&A, 1, GKA_ACCUM_PER_OP), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "1") != NULL);
    cr_assert_eq(gka_arith_init_mpfr(&A, 113, GKA_ACCUM_WIDE), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "wide") != NULL);
    init_mpfr(&A, 113, GKA_ACCUM_PER_OP);
    cr_assert_str_eq(A.name, "mpfr113/round");
    cr_assert_eq(A.mpfr_prec, 113);
    cr_assert_eq(A.elem_size, sizeof(__mpfr_struct));
    __mpfr_struct *v = A.alloc(&A, 5);
    for (int i = 0; i < 5; i++) {
        cr_assert(mpfr_zero_p(&v[i]) && !mpfr_signbit(&v[i]));
        cr_assert_eq(mpfr_get_prec(&v[i]), 113);
    }
    const double src[5] = {1.0, 2.0, 3.0, 4.0, 5.0};
    double out[5];
    A.from_double(&A, v, src, 5);
    A.copy(&A, &v[1], &v[0], 4); /* overlapping, forward */
    A.to_double(&A, out, v, 5);
    cr_assert(out[0] == 1 && out[1] == 1 && out[2] == 2 && out[3] == 3 && out[4] == 4);
    A.copy(&A, &v[0], &v[1], 4); /* overlapping, backward */
    A.to_double(&A, out, v, 5);
    cr_assert(out[0] == 1 && out[1] == 2 && out[2] == 3 && out[3] == 4);
    /* 1/3 at 113 bits is not the double 1/3 */
    A.set_d(&A, &v[0], 1.0), A.set_d(&A, &v[1], 3.0);
    A.div(&A, &v[2], &v[0], &v[1]);
    A.mul(&A, &v[3], &v[2], &v[1]);
    A.sub(&A, &v[4], &v[3], &v[0]);
    cr_assert(fabs(A.get_d(&A, &v[4])) <= 0x1p-112, "1/3*3-1 = %a", A.get_d(&A, &v[4]));
    cr_assert(A.events & GKA_FLAG_INEXACT);
    A.free(&A, v, 5);
    gka_arith_destroy(&A);
}
