/* MPFR arithmetic behind the operation table: elements are __mpfr_struct
 * (what mpfr_t is an array of one of), initialised at the table's precision.
 * Round to nearest (ties to even) everywhere; MPFR's default exponent range,
 * so there is no overflow or underflow in practice and no subnormals.
 *
 * GKA_ACCUM_PER_OP: every operation rounds, in the same places as the emulated
 * ROUND model (see arith_emulated.c), so one algorithm gives the same results
 * under mpfr:53 and fp64 as long as no value leaves double's normal range.
 * GKA_ACCUM_EXACT: correctly rounded kernels: dot by mpfr_dot (MPFR >= 4.1;
 * otherwise mpfr_sum of exact products), gemv by mpfr_sum of the exact terms
 * alpha M_ij x_j and beta y_i, axpy and syr by mpfr_fma with an exact
 * alpha x_i, nrm2 as below. GKA_ACCUM_WIDE has no meaning here and is refused.
 *
 * nrm2 under EXACT: S = sum x_j^2 is computed at q = 2p + 3 bits rounded to
 * odd (mpfr_dot toward zero, then the last bit set if inexact); then
 * sqrt(RO_q(S)) rounded to p bits equals the correctly rounded sqrt(S). Why:
 * every rounding boundary b of p-bit numbers (a value or a midpoint) has at
 * most p + 1 bits, so b^2 is a (q - 1)-bit number; an inexact RO_q(S) is odd
 * at q bits, so it and S lie strictly between the same two consecutive
 * (q - 1)-bit numbers, hence no b^2 separates them and no b separates their
 * square roots, and sqrt(RO_q(S)) is never itself a boundary. */
#include "gka_arith.h"

#include <mpfr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R(p) ((mpfr_ptr)(p))
#define CR(p) ((mpfr_srcptr)(p))

typedef struct {
    mpfr_t t1, t2;       /* scratch at 2p bits */
    mpfr_t nrm;          /* nrm2 sum at 2p + 3 bits */
    __mpfr_struct *term; /* gemv terms at 3p bits */
    mpfr_ptr *ptr;       /* pointers for mpfr_sum / mpfr_dot */
    mpfr_ptr *ptr2;
    size_t cap;
} mpfr_state_t;

static mpfr_state_t *state(gka_arith_t *A) {
    return A->impl;
}

static void begin(void) {
    mpfr_clear_flags();
}

static void end(gka_arith_t *A) {
    unsigned f = 0;
    if (mpfr_inexflag_p()) f |= GKA_FLAG_INEXACT;
    if (mpfr_underflow_p()) f |= GKA_FLAG_UNDERFLOW;
    if (mpfr_overflow_p()) f |= GKA_FLAG_OVERFLOW;
    if (mpfr_nanflag_p()) f |= GKA_FLAG_INVALID;
    A->events |= f;
}

/* Make room for n terms and pointer slots; 0 on allocation failure. */
static int reserve(gka_arith_t *A, size_t n) {
    mpfr_state_t *st = state(A);
    if (st->cap >= n) return 1;
    __mpfr_struct *term = malloc(n * sizeof *term);
    mpfr_ptr *ptr = malloc(n * sizeof *ptr), *ptr2 = malloc(n * sizeof *ptr2);
    if (!term || !ptr || !ptr2) {
        free(term), free(ptr), free(ptr2);
        return 0;
    }
    for (size_t i = 0; i < st->cap; i++)
        mpfr_clear(&st->term[i]);
    free(st->term), free(st->ptr), free(st->ptr2);
    for (size_t i = 0; i < n; i++)
        mpfr_init2(&term[i], 3 * A->mpfr_prec);
    st->term = term, st->ptr = ptr, st->ptr2 = ptr2, st->cap = n;
    return 1;
}

/* A NaN result with the invalid event, when scratch cannot be allocated. */
static void fail_nan(gka_arith_t *A, mpfr_ptr r) {
    mpfr_set_nan(r);
    A->events |= GKA_FLAG_INVALID;
}

/* ------------------------------------------------------------------------ */
/* Storage                                                                  */
/* ------------------------------------------------------------------------ */

static void *mp_alloc(gka_arith_t *A, size_t n) {
    __mpfr_struct *x = malloc((n ? n : 1) * sizeof *x);
    if (!x) return NULL;
    for (size_t i = 0; i < n; i++) {
        mpfr_init2(&x[i], A->mpfr_prec);
        mpfr_set_zero(&x[i], 1);
    }
    return x;
}

static void mp_free(gka_arith_t *A, void *x, size_t n) {
    (void)A;
    __mpfr_struct *v = x;
    if (!v) return;
    for (size_t i = 0; i < n; i++)
        mpfr_clear(&v[i]);
    free(v);
}

static void mp_from_double(gka_arith_t *A, void *x, const double *src, size_t n) {
    begin();
    __mpfr_struct *v = x;
    for (size_t i = 0; i < n; i++)
        mpfr_set_d(&v[i], src[i], MPFR_RNDN);
    end(A);
}

static void mp_to_double(gka_arith_t *A, double *dst, const void *x, size_t n) {
    (void)A;
    const __mpfr_struct *v = x;
    for (size_t i = 0; i < n; i++)
        dst[i] = mpfr_get_d(&v[i], MPFR_RNDN);
}

static void mp_copy(gka_arith_t *A, void *dst, const void *src, size_t n) {
    (void)A;
    __mpfr_struct *d = dst;
    const __mpfr_struct *s = src;
    if (d == s) return;
    if (d < s || d >= s + n) { /* overlap-safe in both directions */
        for (size_t i = 0; i < n; i++)
            mpfr_set(&d[i], &s[i], MPFR_RNDN);
    } else {
        for (size_t i = n; i-- > 0;)
            mpfr_set(&d[i], &s[i], MPFR_RNDN);
    }
}

static void mp_set_d(gka_arith_t *A, void *r, double v) {
    begin();
    mpfr_set_d(R(r), v, MPFR_RNDN);
    end(A);
}

static double mp_get_d(gka_arith_t *A, const void *a) {
    (void)A;
    return mpfr_get_d(CR(a), MPFR_RNDN);
}

/* ------------------------------------------------------------------------ */
/* Scalar operations                                                        */
/* ------------------------------------------------------------------------ */

static void mp_add(gka_arith_t *A, void *r, const void *a, const void *b) {
    begin();
    mpfr_add(R(r), CR(a), CR(b), MPFR_RNDN);
    end(A);
}
static void mp_sub(gka_arith_t *A, void *r, const void *a, const void *b) {
    begin();
    mpfr_sub(R(r), CR(a), CR(b), MPFR_RNDN);
    end(A);
}
static void mp_mul(gka_arith_t *A, void *r, const void *a, const void *b) {
    begin();
    mpfr_mul(R(r), CR(a), CR(b), MPFR_RNDN);
    end(A);
}
static void mp_div(gka_arith_t *A, void *r, const void *a, const void *b) {
    begin();
    mpfr_div(R(r), CR(a), CR(b), MPFR_RNDN);
    end(A);
}
static void mp_fma(gka_arith_t *A, void *r, const void *a, const void *b, const void *c) {
    begin();
    mpfr_fma(R(r), CR(a), CR(b), CR(c), MPFR_RNDN);
    end(A);
}
static void mp_sqrt(gka_arith_t *A, void *r, const void *a) {
    begin();
    mpfr_sqrt(R(r), CR(a), MPFR_RNDN);
    end(A);
}
static void mp_scal(gka_arith_t *A, size_t n, const void *alpha, void *x) {
    begin();
    __mpfr_struct *v = x;
    for (size_t j = 0; j < n; j++)
        mpfr_mul(&v[j], CR(alpha), &v[j], MPFR_RNDN);
    end(A);
}

/* ------------------------------------------------------------------------ */
/* ROUND model                                                              */
/* ------------------------------------------------------------------------ */

/* s = sum x_j y_j with every product and sum rounded to s's precision. */
static void rdot(gka_arith_t *A, mpfr_ptr s, size_t n, const __mpfr_struct *x,
                 const __mpfr_struct *y) {
    mpfr_ptr p = state(A)->t1;
    mpfr_set_prec(p, A->mpfr_prec);
    if (n == 0) {
        mpfr_set_zero(s, 1);
        return;
    }
    mpfr_mul(s, &x[0], &y[0], MPFR_RNDN);
    for (size_t j = 1; j < n; j++) {
        mpfr_mul(p, &x[j], &y[j], MPFR_RNDN);
        mpfr_add(s, s, p, MPFR_RNDN);
    }
}

static void round_dot(gka_arith_t *A, void *r, size_t n, const void *x, const void *y) {
    begin();
    mpfr_ptr s = state(A)->t2;
    mpfr_set_prec(s, A->mpfr_prec);
    rdot(A, s, n, x, y);
    mpfr_set(R(r), s, MPFR_RNDN);
    end(A);
}

static void round_axpy(gka_arith_t *A, size_t n, const void *alpha, const void *x, void *y) {
    begin();
    const __mpfr_struct *xv = x;
    __mpfr_struct *yv = y;
    mpfr_ptr p = state(A)->t1;
    mpfr_set_prec(p, A->mpfr_prec);
    for (size_t j = 0; j < n; j++) {
        mpfr_mul(p, CR(alpha), &xv[j], MPFR_RNDN);
        mpfr_add(&yv[j], p, &yv[j], MPFR_RNDN);
    }
    end(A);
}

static void round_gemv(gka_arith_t *A, size_t m, size_t n, const void *alpha, const void *M,
                       const void *x, const void *beta, void *y) {
    begin();
    const __mpfr_struct *Mv = M;
    __mpfr_struct *yv = y;
    mpfr_ptr s = state(A)->t2, p = state(A)->t1;
    mpfr_set_prec(s, A->mpfr_prec);
    for (size_t i = 0; i < m; i++) {
        rdot(A, s, n, Mv + i * n, x);
        mpfr_mul(s, CR(alpha), s, MPFR_RNDN);
        if (beta) {
            mpfr_mul(p, CR(beta), &yv[i], MPFR_RNDN);
            mpfr_add(s, s, p, MPFR_RNDN);
        }
        mpfr_set(&yv[i], s, MPFR_RNDN);
    }
    end(A);
}

static void round_syr(gka_arith_t *A, size_t n, const void *alpha, const void *x, void *M) {
    begin();
    const __mpfr_struct *xv = x;
    __mpfr_struct *Mv = M;
    mpfr_ptr ai = state(A)->t2, p = state(A)->t1;
    mpfr_set_prec(ai, A->mpfr_prec);
    mpfr_set_prec(p, A->mpfr_prec);
    for (size_t i = 0; i < n; i++) {
        mpfr_mul(ai, CR(alpha), &xv[i], MPFR_RNDN);
        for (size_t j = 0; j < n; j++) {
            mpfr_mul(p, ai, &xv[j], MPFR_RNDN);
            mpfr_add(&Mv[i * n + j], &Mv[i * n + j], p, MPFR_RNDN);
        }
    }
    end(A);
}

static void round_nrm2(gka_arith_t *A, void *r, size_t n, const void *x) {
    begin();
    mpfr_ptr s = state(A)->t2;
    mpfr_set_prec(s, A->mpfr_prec);
    rdot(A, s, n, x, x);
    mpfr_sqrt(R(r), s, MPFR_RNDN);
    end(A);
}

/* ------------------------------------------------------------------------ */
/* EXACT model                                                              */
/* ------------------------------------------------------------------------ */

/* r = sum_j x_j y_j rounded once in direction rnd; returns the ternary value. */
static int exact_dot_rnd(gka_arith_t *A, mpfr_ptr r, size_t n, const __mpfr_struct *x,
                         const __mpfr_struct *y, mpfr_rnd_t rnd) {
    if (!reserve(A, n ? n : 1)) {
        fail_nan(A, r);
        return 0;
    }
    mpfr_state_t *st = state(A);
#if MPFR_VERSION >= MPFR_VERSION_NUM(4, 1, 0)
    for (size_t j = 0; j < n; j++) {
        st->ptr[j] = (mpfr_ptr)&x[j];
        st->ptr2[j] = (mpfr_ptr)&y[j];
    }
    return mpfr_dot(r, st->ptr, st->ptr2, (unsigned long)n, rnd);
#else
    for (size_t j = 0; j < n; j++) {
        mpfr_mul(&st->term[j], &x[j], &y[j], MPFR_RNDN); /* exact at 3p >= 2p bits */
        st->ptr[j] = &st->term[j];
    }
    return mpfr_sum(r, st->ptr, (unsigned long)n, rnd);
#endif
}

static void exact_dot(gka_arith_t *A, void *r, size_t n, const void *x, const void *y) {
    begin();
    exact_dot_rnd(A, R(r), n, x, y, MPFR_RNDN);
    end(A);
}

static void exact_axpy(gka_arith_t *A, size_t n, const void *alpha, const void *x, void *y) {
    begin();
    const __mpfr_struct *xv = x;
    __mpfr_struct *yv = y;
    for (size_t j = 0; j < n; j++)
        mpfr_fma(&yv[j], CR(alpha), &xv[j], &yv[j], MPFR_RNDN);
    end(A);
}

/* y_i = alpha sum_j M_ij x_j + beta y_i, from the exact terms, rounded once. */
static void exact_gemv(gka_arith_t *A, size_t m, size_t n, const void *alpha, const void *M,
                       const void *x, const void *beta, void *y) {
    begin();
    const __mpfr_struct *Mv = M, *xv = x;
    __mpfr_struct *yv = y;
    if (!reserve(A, n + 1)) {
        for (size_t i = 0; i < m; i++)
            fail_nan(A, &yv[i]);
        return;
    }
    mpfr_state_t *st = state(A);
    for (size_t i = 0; i < m; i++) {
        size_t k = 0;
        for (size_t j = 0; j < n; j++, k++) { /* 3p bits: both products exact */
            mpfr_mul(&st->term[k], &Mv[i * n + j], &xv[j], MPFR_RNDN);
            mpfr_mul(&st->term[k], CR(alpha), &st->term[k], MPFR_RNDN);
            st->ptr[k] = &st->term[k];
        }
        if (beta) {
            mpfr_mul(&st->term[k], CR(beta), &yv[i], MPFR_RNDN);
            st->ptr[k] = &st->term[k];
            k++;
        }
        mpfr_sum(&yv[i], st->ptr, (unsigned long)k, MPFR_RNDN);
    }
    end(A);
}

static void exact_syr(gka_arith_t *A, size_t n, const void *alpha, const void *x, void *M) {
    begin();
    const __mpfr_struct *xv = x;
    __mpfr_struct *Mv = M;
    mpfr_ptr ai = state(A)->t1;
    mpfr_set_prec(ai, 2 * A->mpfr_prec);
    for (size_t i = 0; i < n; i++) {
        mpfr_mul(ai, CR(alpha), &xv[i], MPFR_RNDN); /* exact */
        for (size_t j = 0; j < n; j++)
            mpfr_fma(&Mv[i * n + j], ai, &xv[j], &Mv[i * n + j], MPFR_RNDN);
    }
    end(A);
}

static void exact_nrm2(gka_arith_t *A, void *r, size_t n, const void *x) {
    begin();
    mpfr_ptr S = state(A)->nrm;
    const mpfr_prec_t q = mpfr_get_prec(S);
    const int inexact = exact_dot_rnd(A, S, n, x, x, MPFR_RNDZ);
    if (inexact && mpfr_regular_p(S) && mpfr_min_prec(S) < q) mpfr_nextabove(S); /* odd */
    mpfr_sqrt(R(r), S, MPFR_RNDN);
    end(A);
}

/* ------------------------------------------------------------------------ */
/* Initialisation                                                           */
/* ------------------------------------------------------------------------ */

static void mp_release(gka_arith_t *A) {
    mpfr_state_t *st = A->impl;
    if (!st) return;
    mpfr_clear(st->t1);
    mpfr_clear(st->t2);
    mpfr_clear(st->nrm);
    for (size_t i = 0; i < st->cap; i++)
        mpfr_clear(&st->term[i]);
    free(st->term), free(st->ptr), free(st->ptr2);
    free(st);
    A->impl = NULL;
}

gka_status_t gka_arith_init_mpfr(gka_arith_t *A, long prec, gka_accum_t accum) {
    if (!A) return gka_error(GKA_EINVAL, "gka_arith_init_mpfr: NULL table");
    if (prec < 2 || prec > 100000)
        return gka_error(GKA_EINVAL,
                         "gka_arith_init_mpfr: precision %ld is out of range [2, 100000]", prec);
    if (accum != GKA_ACCUM_PER_OP && accum != GKA_ACCUM_EXACT)
        return gka_error(GKA_EINVAL,
                         "gka_arith_init_mpfr: accumulation '%s' is not available for MPFR (use "
                         "round or exact)",
                         accum == GKA_ACCUM_WIDE ? "wide" : "?");
    memset(A, 0, sizeof *A);
    mpfr_state_t *st = calloc(1, sizeof *st);
    if (!st) return gka_error(GKA_ENOMEM, "gka_arith_init_mpfr: out of memory");
    mpfr_init2(st->t1, 2 * (mpfr_prec_t)prec);
    mpfr_init2(st->t2, (mpfr_prec_t)prec);
    mpfr_init2(st->nrm, 2 * (mpfr_prec_t)prec + 3);
    A->impl = st;
    A->release = mp_release;
    snprintf(A->name, sizeof A->name, "mpfr%ld/%s", prec,
             accum == GKA_ACCUM_EXACT ? "exact" : "round");
    A->elem_size = sizeof(__mpfr_struct);
    A->accum = accum;
    A->store = gka_rounding_default(&gka_fp64);
    A->wide = A->store;
    A->mpfr_prec = prec;
    A->alloc = mp_alloc;
    A->free = mp_free;
    A->from_double = mp_from_double;
    A->to_double = mp_to_double;
    A->copy = mp_copy;
    A->set_d = mp_set_d;
    A->get_d = mp_get_d;
    A->add = mp_add;
    A->sub = mp_sub;
    A->mul = mp_mul;
    A->div = mp_div;
    A->fma = mp_fma;
    A->sqrt = mp_sqrt;
    A->scal = mp_scal;
    if (accum == GKA_ACCUM_EXACT) {
        A->dot = exact_dot, A->axpy = exact_axpy, A->gemv = exact_gemv;
        A->syr = exact_syr, A->nrm2 = exact_nrm2;
    } else {
        A->dot = round_dot, A->axpy = round_axpy, A->gemv = round_gemv;
        A->syr = round_syr, A->nrm2 = round_nrm2;
    }
    return GKA_OK;
}
