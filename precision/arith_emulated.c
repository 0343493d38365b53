/* Emulated arithmetic behind the operation table: elements are doubles that
 * hold values of the storage format A->store.format; every rounding goes
 * through gka_round / gka_add / ... of the precision module, with the table's
 * own contexts (A->store for storage, A->wide for the wide accumulator).
 *
 * Where the roundings happen, per accumulation model (S = round to storage,
 * W = round to the wide format; sums in index order j = 0, 1, ..., starting
 * from the first term, so an empty sum is +0):
 *
 *   ROUND  dot   s = S(x0 y0); s = S(s + S(xj yj))
 *          gemv  t_i = ROUND-dot(M_i., x); t_i = S(alpha t_i);
 *                y_i = beta ? S(t_i + S(beta y_i)) : t_i
 *          axpy  y_j = S(S(alpha x_j) + y_j)
 *          syr   a_i = S(alpha x_i); M_ij = S(M_ij + S(a_i x_j))
 *          nrm2  S(sqrt(ROUND-dot(x, x)))
 *   WIDE   dot   s = W(x0 y0); s = W(s + W(xj yj)); result S(s)
 *          gemv  t_i = W-sum as in dot; t_i = W(alpha t_i);
 *                if beta: t_i = W(t_i + W(beta y_i)); y_i = S(t_i)
 *          axpy  y_j = S(W(W(alpha x_j) + y_j))
 *          syr   a_i = W(alpha x_i); M_ij = S(W(M_ij + W(a_i x_j)))
 *          nrm2  S(W(sqrt(W-sum of W(xj^2))))
 *          Products W(x y) of two storage values are exact whenever x y is
 *          representable in W (always for bf16 or fp16 storage with fp32
 *          accumulation, barring fp32 overflow or underflow); each output
 *          element is rounded to the storage format once.
 *   EXACT  each output element is the exact value of its formula rounded once
 *          (arith_exact.c): dot, gemv (alpha sum M_ij x_j + beta y_i), syr
 *          (M_ij + alpha x_i x_j), nrm2 (sqrt of the exact sum of squares),
 *          axpy (fma).
 *   scal   x_j = S(alpha x_j) under every model.
 *
 * Fast path. When the wide context is IEEE binary32 with round-to-nearest-even
 * (the default) and every storage value is a float, W(.) is exactly native
 * float arithmetic (this file is compiled with -ffp-contract=off), so WIDE
 * kernels run on float variables and round to storage once per element with
 * gka_round_array_f32. Rows of gemv are processed eight at a time, each row's
 * sum still in index order j (the order of each y_i's additions is unchanged,
 * only independent rows are interleaved). If a wide intermediate turns out
 * non-finite the kernel is recomputed through the generic path, which
 * produces the same values and the exact event flags.
 *
 * fp32 storage with round-to-nearest-even (subnormals kept, overflow to Inf):
 * every rounding S(.) is the native float operation, so scalar operations and
 * ROUND kernels run on floats, with the exception flags derived exactly (see
 * f32_mul / f32_add); non-finite cases go through gka_*. On the WIDE fast
 * path, bf16 storage with RNE is rounded by the bit trick of round_bf16_ne.
 *
 * Events: A->events accumulates the flags of storage roundings plus overflow
 * and invalid of the wide accumulator. A->store.flags and A->wide.flags are
 * scratch. */
#include "arith_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D(p) (*(double *)(p))
#define CD(p) (*(const double *)(p))

typedef struct {
    float *buf; /* scratch for the fast path */
    size_t cap; /* floats */
} emu_state_t;

static void begin(gka_arith_t *A) {
    A->store.flags = 0;
    A->wide.flags = 0;
}

static void end(gka_arith_t *A) {
    A->events |= A->store.flags | (A->wide.flags & (GKA_FLAG_OVERFLOW | GKA_FLAG_INVALID));
}

/* Scratch of n floats, or NULL (then the generic path runs). */
static float *scratch(gka_arith_t *A, size_t n) {
    emu_state_t *st = A->impl;
    if (!st) return NULL;
    if (st->cap < n) {
        float *p = realloc(st->buf, n * sizeof *p);
        if (!p) return NULL;
        st->buf = p;
        st->cap = n;
    }
    return st->buf;
}

static int is_binary32(const gka_format_t *f) {
    return f->t == 24 && f->emin == -126 && f->emax == 127 && f->has_inf;
}

/* W(.) is native float arithmetic and storage values are floats. */
static int fast_wide(const gka_arith_t *A) {
    const gka_format_t *s = &A->store.format;
    return A->accum == GKA_ACCUM_WIDE && is_binary32(&A->wide.format) &&
           A->wide.mode == GKA_RND_NE && A->wide.subnormals && !A->wide.saturate && s->t <= 24 &&
           s->emin >= -126 && s->emax <= 127;
}

static int all_finite_f(const float *v, size_t n) {
    int ok = 1;
    for (size_t i = 0; i < n; i++)
        ok &= isfinite(v[i]) != 0;
    return ok;
}

/* Storage bf16 with round-to-nearest-even, subnormals kept, overflow to Inf:
 * bf16 is the upper half of binary32, so rounding is the classic bit trick
 * (add 0x7FFF plus the kept last bit, clear the low half), which is right in
 * the subnormal range and overflows to Inf exactly as IEEE 754 requires. */
static int is_plain_bf16(const gka_rounding_t *r) {
    const gka_format_t *f = &r->format;
    return f->t == 8 && f->emin == -126 && f->emax == 127 && f->has_inf && r->mode == GKA_RND_NE &&
           r->subnormals && !r->saturate;
}

static float round_bf16_ne(float x, unsigned *flags) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    const uint32_t a = u & 0x7FFFFFFFu;
    if (a > 0x7F800000u) { /* NaN: quiet it so that no payload becomes Inf */
        u = (u | 0x00400000u) & 0xFFFF0000u;
    } else if ((u & 0xFFFFu) != 0) { /* inexact (Inf and exact values pass) */
        *flags |= GKA_FLAG_INEXACT;
        if (a < 0x00800000u) *flags |= GKA_FLAG_UNDERFLOW; /* tiny before rounding */
        u = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
        if ((u & 0x7FFFFFFFu) == 0x7F800000u) *flags |= GKA_FLAG_OVERFLOW;
    }
    float y;
    memcpy(&y, &u, sizeof y);
    return y;
}

/* Round n floats to storage and store them as doubles. */
static void store_rounded(gka_arith_t *A, double *dst, float *tmp, size_t n) {
    if (is_plain_bf16(&A->store)) {
        unsigned flags = 0;
        for (size_t i = 0; i < n; i++)
            dst[i] = (double)round_bf16_ne(tmp[i], &flags);
        A->store.flags |= flags;
        return;
    }
    if (is_binary32(&A->store.format) && A->store.subnormals) { /* exact; SR still draws */
        if (A->store.mode == GKA_RND_SP || A->store.mode == GKA_RND_SE) A->store.counter += n;
    } else {
        gka_round_array_f32(tmp, tmp, n, &A->store);
    }
    for (size_t i = 0; i < n; i++)
        dst[i] = (double)tmp[i];
}

/* One float rounded to storage. */
static double round_one(gka_arith_t *A, float v) {
    if (is_plain_bf16(&A->store)) return (double)round_bf16_ne(v, &A->store.flags);
    return gka_round((double)v, &A->store);
}

/* ------------------------------------------------------------------------ */
/* fp32 storage, round-to-nearest-even: native float operations            */
/* ------------------------------------------------------------------------ */

/* Storage binary32 with RNE, subnormals and overflow to Inf: every operation
 * is the native float operation; the flags are derived exactly (a product
 * of two floats is exact in double; TwoSum gives the error of a float sum; a
 * sum that lands in the subnormal range is exact, so sums never underflow).
 * Non-finite operands or results go to the generic gka_* operation, which
 * gives the same value and the flags. */
static int fast_fp32(const gka_rounding_t *r) {
    return is_binary32(&r->format) && r->mode == GKA_RND_NE && r->subnormals && !r->saturate;
}

static double f32_mul(double a, double b, gka_rounding_t *r) {
    const double p = a * b; /* exact: 24 + 24 bits within double's range */
    const float f = (float)p;
    if (!isfinite(f)) return gka_mul(a, b, r);
    if ((double)f != p) {
        r->flags |= GKA_FLAG_INEXACT;
        if (fabs(p) < 0x1p-126) r->flags |= GKA_FLAG_UNDERFLOW;
    }
    return (double)f;
}

static double f32_add(double a, double b, gka_rounding_t *r) {
    const float fa = (float)a, fb = (float)b;
    const float sum = fa + fb;
    if (!isfinite(sum)) return gka_add(a, b, r);
    const float bb = sum - fa;
    if ((fa - (sum - bb)) + (fb - bb) != 0.0f) r->flags |= GKA_FLAG_INEXACT;
    return (double)sum;
}

static double f32_div(double a, double b, gka_rounding_t *r) {
    if (b == 0 || !isfinite(a) || !isfinite(b)) return gka_div(a, b, r);
    const float q = (float)a / (float)b;
    if (!isfinite(q)) return gka_div(a, b, r);
    if ((double)q * b != a) { /* q * b is exact in double */
        r->flags |= GKA_FLAG_INEXACT;
        if (fabs(a) < 0x1p-126 * fabs(b)) r->flags |= GKA_FLAG_UNDERFLOW;
    }
    return (double)q;
}

static double f32_sqrt(double a, gka_rounding_t *r) {
    if (!(a >= 0) || !isfinite(a)) return gka_sqrt(a, r);
    const float q = sqrtf((float)a);
    if ((double)q * (double)q != a) r->flags |= GKA_FLAG_INEXACT;
    return (double)q;
}

/* Any format under round-to-nearest-even (no saturation): an exact double v
 * whose magnitude lies in the format's normal range is rounded to t bits by
 * adding half an ulp minus one plus the kept last bit to its bit pattern and
 * clearing the dropped bits (the carry moves into the exponent as it should).
 * Everything else (zeros, subnormal range, overflow, non-finite) goes to
 * gka_round / gka_add / gka_mul, which also set the rarer flags. */
static double rne_round(double v, gka_rounding_t *r) {
    const gka_format_t *f = &r->format;
    const double a = fabs(v);
    if (!(a >= f->min_normal && a <= f->max)) return gka_round(v, r);
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    const int drop = 53 - f->t;
    const uint64_t low = (UINT64_C(1) << drop) - 1;
    if ((u & low) == 0) return v;
    u = (u + (low >> 1) + ((u >> drop) & 1u)) & ~low;
    double y;
    memcpy(&y, &u, sizeof y);
    if (fabs(y) > f->max) return gka_round(v, r); /* rounded past the largest finite */
    r->flags |= GKA_FLAG_INEXACT;
    return y;
}

static double rne_mul(double a, double b, gka_rounding_t *r) {
    const double p = a * b; /* exact: two values of t <= 26 bits */
    if (!isfinite(p)) return gka_mul(a, b, r);
    return rne_round(p, r);
}

static double rne_add(double a, double b, gka_rounding_t *r) {
    const double s = a + b;
    const double bb = s - a;
    if (!isfinite(s) || (a - (s - bb)) + (b - bb) != 0) return gka_add(a, b, r); /* inexact */
    return rne_round(s, r);
}

/* How a context's roundings are computed: generic gka_*, native float, or
 * the round-to-nearest-even bit trick. */
enum { OPS_GENERIC = 0, OPS_F32 = 1, OPS_RNE = 2 };

static int ops_kind(const gka_rounding_t *r) {
    if (fast_fp32(r)) return OPS_F32;
    if (r->mode == GKA_RND_NE && !r->saturate && r->format.t <= GKA_FORMAT_T_MAX) return OPS_RNE;
    return OPS_GENERIC;
}

static inline double op_mul(int kind, double a, double b, gka_rounding_t *r) {
    if (kind == OPS_F32) return f32_mul(a, b, r);
    if (kind == OPS_RNE) return rne_mul(a, b, r);
    return gka_mul(a, b, r);
}

static inline double op_add(int kind, double a, double b, gka_rounding_t *r) {
    if (kind == OPS_F32) return f32_add(a, b, r);
    if (kind == OPS_RNE) return rne_add(a, b, r);
    return gka_add(a, b, r);
}

static inline double op_round(int kind, double v, gka_rounding_t *r) {
    return kind == OPS_GENERIC ? gka_round(v, r) : rne_round(v, r);
}

/* a*b and a+b rounded once to the storage format. */
static inline double store_mul(gka_arith_t *A, int kind, double a, double b) {
    return op_mul(kind, a, b, &A->store);
}
static inline double store_add(gka_arith_t *A, int kind, double a, double b) {
    return op_add(kind, a, b, &A->store);
}

/* ------------------------------------------------------------------------ */
/* Storage and scalar operations                                            */
/* ------------------------------------------------------------------------ */

static void emu_from_double(gka_arith_t *A, void *x, const double *src, size_t n) {
    begin(A);
    gka_round_array(x, src, n, &A->store);
    end(A);
}

static void emu_set_d(gka_arith_t *A, void *r, double v) {
    begin(A);
    D(r) = gka_round(v, &A->store);
    end(A);
}

static void emu_add(gka_arith_t *A, void *r, const void *a, const void *b) {
    begin(A);
    D(r) = store_add(A, ops_kind(&A->store), CD(a), CD(b));
    end(A);
}

static void emu_sub(gka_arith_t *A, void *r, const void *a, const void *b) {
    begin(A);
    D(r) = store_add(A, ops_kind(&A->store), CD(a), -CD(b));
    end(A);
}

static void emu_mul(gka_arith_t *A, void *r, const void *a, const void *b) {
    begin(A);
    D(r) = store_mul(A, ops_kind(&A->store), CD(a), CD(b));
    end(A);
}

static void emu_div(gka_arith_t *A, void *r, const void *a, const void *b) {
    begin(A);
    D(r) =
        fast_fp32(&A->store) ? f32_div(CD(a), CD(b), &A->store) : gka_div(CD(a), CD(b), &A->store);
    end(A);
}

static void emu_fma(gka_arith_t *A, void *r, const void *a, const void *b, const void *c) {
    begin(A);
    D(r) = gka_fma(CD(a), CD(b), CD(c), &A->store);
    end(A);
}

static void emu_sqrt(gka_arith_t *A, void *r, const void *a) {
    begin(A);
    D(r) = fast_fp32(&A->store) ? f32_sqrt(CD(a), &A->store) : gka_sqrt(CD(a), &A->store);
    end(A);
}

static void emu_scal(gka_arith_t *A, size_t n, const void *alpha, void *x) {
    begin(A);
    double *xv = x;
    const int kind = ops_kind(&A->store);
    for (size_t j = 0; j < n; j++)
        xv[j] = store_mul(A, kind, CD(alpha), xv[j]);
    end(A);
}

/* ------------------------------------------------------------------------ */
/* Sums in one context: every product and partial sum rounded by r          */
/* ------------------------------------------------------------------------ */

/* rdot for OPS_F32 with the flags kept in registers: 0 if a value turned
 * non-finite (then the caller recomputes through gka_*, for the flags). */
static int f32_rdot(size_t n, const double *x, const double *y, double *out, unsigned *flags) {
    unsigned inexact = 0, tiny = 0;
    float s = 0.0f;
    for (size_t j = 0; j < n; j++) {
        const double p = x[j] * y[j]; /* exact */
        const float f = (float)p;
        const unsigned ie = (double)f != p;
        inexact |= ie;
        tiny |= ie & (fabs(p) < 0x1p-126);
        if (j == 0) {
            s = f;
            continue;
        }
        const float t = s + f, bb = t - s;
        inexact |= ((s - (t - bb)) + (f - bb)) != 0.0f;
        s = t;
    }
    if (!isfinite(s)) return 0;
    if (inexact) *flags |= GKA_FLAG_INEXACT;
    if (tiny) *flags |= GKA_FLAG_UNDERFLOW;
    *out = (double)s;
    return 1;
}

static double rdot(size_t n, const double *x, const double *y, gka_rounding_t *r) {
    if (n == 0) return 0.0;
    const int kind = ops_kind(r);
    double fast;
    if (kind == OPS_F32 && f32_rdot(n, x, y, &fast, &r->flags)) return fast;
    double s = op_mul(kind, x[0], y[0], r);
    for (size_t j = 1; j < n; j++)
        s = op_add(kind, s, op_mul(kind, x[j], y[j], r), r);
    return s;
}

/* Native float version of rdot under binary32 RNE (the fast path). */
static float fdot(size_t n, const double *x, const double *y) {
    if (n == 0) return 0.0f;
    float s = (float)x[0] * (float)y[0];
    for (size_t j = 1; j < n; j++)
        s += (float)x[j] * (float)y[j];
    return s;
}

/* ------------------------------------------------------------------------ */
/* ROUND model                                                              */
/* ------------------------------------------------------------------------ */

static void round_dot(gka_arith_t *A, void *r, size_t n, const void *x, const void *y) {
    begin(A);
    D(r) = rdot(n, x, y, &A->store);
    end(A);
}

static void round_axpy(gka_arith_t *A, size_t n, const void *alpha, const void *x, void *y) {
    begin(A);
    const double *xv = x;
    double *yv = y;
    const int kind = ops_kind(&A->store);
    for (size_t j = 0; j < n; j++)
        yv[j] = store_add(A, kind, store_mul(A, kind, CD(alpha), xv[j]), yv[j]);
    end(A);
}

static void round_gemv(gka_arith_t *A, size_t m, size_t n, const void *alpha, const void *M,
                       const void *x, const void *beta, void *y) {
    begin(A);
    const double *Mv = M;
    double *yv = y;
    const int kind = ops_kind(&A->store);
    for (size_t i = 0; i < m; i++) {
        double t = store_mul(A, kind, CD(alpha), rdot(n, Mv + i * n, x, &A->store));
        if (beta) t = store_add(A, kind, t, store_mul(A, kind, CD(beta), yv[i]));
        yv[i] = t;
    }
    end(A);
}

static void round_syr(gka_arith_t *A, size_t n, const void *alpha, const void *x, void *M) {
    begin(A);
    const double *xv = x;
    double *Mv = M;
    const int kind = ops_kind(&A->store);
    for (size_t i = 0; i < n; i++) {
        const double ai = store_mul(A, kind, CD(alpha), xv[i]);
        for (size_t j = 0; j < n; j++)
            Mv[i * n + j] = store_add(A, kind, Mv[i * n + j], store_mul(A, kind, ai, xv[j]));
    }
    end(A);
}

static void round_nrm2(gka_arith_t *A, void *r, size_t n, const void *x) {
    begin(A);
    const double s = rdot(n, x, x, &A->store);
    D(r) = fast_fp32(&A->store) ? f32_sqrt(s, &A->store) : gka_sqrt(s, &A->store);
    end(A);
}

/* ------------------------------------------------------------------------ */
/* WIDE model: generic path (any wide format)                               */
/* ------------------------------------------------------------------------ */

static void wide_dot_generic(gka_arith_t *A, void *r, size_t n, const void *x, const void *y) {
    D(r) = op_round(ops_kind(&A->store), rdot(n, x, y, &A->wide), &A->store);
}

static void wide_gemv_row(gka_arith_t *A, size_t n, double alpha, const double *Mi, const double *x,
                          const double *beta, double *yi) {
    gka_rounding_t *W = &A->wide;
    const int kw = ops_kind(W);
    double t = op_mul(kw, alpha, rdot(n, Mi, x, W), W);
    if (beta) t = op_add(kw, t, op_mul(kw, *beta, *yi, W), W);
    *yi = op_round(ops_kind(&A->store), t, &A->store);
}

static void wide_axpy_generic(gka_arith_t *A, size_t n, double alpha, const double *x, double *y) {
    gka_rounding_t *W = &A->wide;
    const int kw = ops_kind(W), ks = ops_kind(&A->store);
    for (size_t j = 0; j < n; j++)
        y[j] = op_round(ks, op_add(kw, op_mul(kw, alpha, x[j], W), y[j], W), &A->store);
}

static void wide_syr_row(gka_arith_t *A, size_t n, double alpha, const double *x, double xi,
                         double *Mi) {
    gka_rounding_t *W = &A->wide;
    const int kw = ops_kind(W), ks = ops_kind(&A->store);
    const double ai = op_mul(kw, alpha, xi, W);
    for (size_t j = 0; j < n; j++)
        Mi[j] = op_round(ks, op_add(kw, Mi[j], op_mul(kw, ai, x[j], W), W), &A->store);
}

static void wide_nrm2_generic(gka_arith_t *A, void *r, size_t n, const void *x) {
    D(r) = op_round(ops_kind(&A->store), gka_sqrt(rdot(n, x, x, &A->wide), &A->wide), &A->store);
}

/* ------------------------------------------------------------------------ */
/* WIDE model: kernels with the native-float fast path                      */
/* ------------------------------------------------------------------------ */

static void wide_dot(gka_arith_t *A, void *r, size_t n, const void *x, const void *y) {
    begin(A);
    float s;
    if (fast_wide(A) && isfinite(s = fdot(n, x, y))) {
        D(r) = round_one(A, s);
    } else {
        wide_dot_generic(A, r, n, x, y);
    }
    end(A);
}

/* t_i = sum_j M_ij x_j in float for rows i0..i0+7, each in index order. */
static void fgemv_block8(size_t n, const double *M, const float *xf, float *t) {
    float a0 = (float)M[0] * xf[0], a1 = (float)M[n] * xf[0], a2 = (float)M[2 * n] * xf[0],
          a3 = (float)M[3 * n] * xf[0], a4 = (float)M[4 * n] * xf[0], a5 = (float)M[5 * n] * xf[0],
          a6 = (float)M[6 * n] * xf[0], a7 = (float)M[7 * n] * xf[0];
    for (size_t j = 1; j < n; j++) {
        const float xj = xf[j];
        a0 += (float)M[j] * xj;
        a1 += (float)M[n + j] * xj;
        a2 += (float)M[2 * n + j] * xj;
        a3 += (float)M[3 * n + j] * xj;
        a4 += (float)M[4 * n + j] * xj;
        a5 += (float)M[5 * n + j] * xj;
        a6 += (float)M[6 * n + j] * xj;
        a7 += (float)M[7 * n + j] * xj;
    }
    t[0] = a0, t[1] = a1, t[2] = a2, t[3] = a3, t[4] = a4, t[5] = a5, t[6] = a6, t[7] = a7;
}

static int fast_gemv(gka_arith_t *A, size_t m, size_t n, double alpha, const double *M,
                     const double *x, const double *beta, double *y) {
    float *buf = scratch(A, m + n);
    if (!buf || n == 0) return 0;
    float *xf = buf, *t = buf + n;
    for (size_t j = 0; j < n; j++)
        xf[j] = (float)x[j];
    size_t i = 0;
    for (; i + 8 <= m; i += 8)
        fgemv_block8(n, M + i * n, xf, t + i);
    for (; i < m; i++) {
        const double *Mi = M + i * n;
        float s = (float)Mi[0] * xf[0];
        for (size_t j = 1; j < n; j++)
            s += (float)Mi[j] * xf[j];
        t[i] = s;
    }
    const float af = (float)alpha;
    for (i = 0; i < m; i++)
        t[i] = af * t[i];
    if (beta) {
        const float bf = (float)*beta;
        for (i = 0; i < m; i++)
            t[i] = t[i] + bf * (float)y[i];
    }
    if (!all_finite_f(t, m)) return 0;
    store_rounded(A, y, t, m);
    return 1;
}

static void wide_gemv(gka_arith_t *A, size_t m, size_t n, const void *alpha, const void *M,
                      const void *x, const void *beta, void *y) {
    begin(A);
    const double *Mv = M;
    double *yv = y;
    if (!(fast_wide(A) && fast_gemv(A, m, n, CD(alpha), Mv, x, beta, yv)))
        for (size_t i = 0; i < m; i++)
            wide_gemv_row(A, n, CD(alpha), Mv + i * n, x, beta, yv + i);
    end(A);
}

static int fast_axpy(gka_arith_t *A, size_t n, double alpha, const double *x, double *y) {
    float *t = scratch(A, n);
    if (!t) return 0;
    const float af = (float)alpha;
    for (size_t j = 0; j < n; j++)
        t[j] = af * (float)x[j] + (float)y[j];
    if (!all_finite_f(t, n)) return 0;
    store_rounded(A, y, t, n);
    return 1;
}

static void wide_axpy(gka_arith_t *A, size_t n, const void *alpha, const void *x, void *y) {
    begin(A);
    if (!(fast_wide(A) && fast_axpy(A, n, CD(alpha), x, y)))
        wide_axpy_generic(A, n, CD(alpha), x, y);
    end(A);
}

static int fast_syr_row(gka_arith_t *A, size_t n, float ai, const float *xf, double *Mi, float *t) {
    for (size_t j = 0; j < n; j++)
        t[j] = (float)Mi[j] + ai * xf[j];
    if (!all_finite_f(t, n)) return 0;
    store_rounded(A, Mi, t, n);
    return 1;
}

static void wide_syr(gka_arith_t *A, size_t n, const void *alpha, const void *x, void *M) {
    begin(A);
    const double *xv = x;
    double *Mv = M;
    float *buf = fast_wide(A) ? scratch(A, 2 * n) : NULL;
    if (buf)
        for (size_t j = 0; j < n; j++)
            buf[j] = (float)xv[j];
    for (size_t i = 0; i < n; i++) {
        if (buf && fast_syr_row(A, n, (float)CD(alpha) * buf[i], buf, Mv + i * n, buf + n))
            continue;
        wide_syr_row(A, n, CD(alpha), xv, xv[i], Mv + i * n);
    }
    end(A);
}

static void wide_nrm2(gka_arith_t *A, void *r, size_t n, const void *x) {
    begin(A);
    float s;
    if (fast_wide(A) && isfinite(s = fdot(n, x, x))) {
        D(r) = round_one(A, sqrtf(s));
    } else {
        wide_nrm2_generic(A, r, n, x);
    }
    end(A);
}

/* ------------------------------------------------------------------------ */
/* EXACT model (arith_exact.c)                                              */
/* ------------------------------------------------------------------------ */

static void exact_dot(gka_arith_t *A, void *r, size_t n, const void *x, const void *y) {
    begin(A);
    gka_exact_dot(A, r, n, x, y);
    end(A);
}

static void exact_axpy(gka_arith_t *A, size_t n, const void *alpha, const void *x, void *y) {
    begin(A);
    const double *xv = x;
    double *yv = y;
    for (size_t j = 0; j < n; j++)
        yv[j] = gka_fma(CD(alpha), xv[j], yv[j], &A->store);
    end(A);
}

static void exact_gemv(gka_arith_t *A, size_t m, size_t n, const void *alpha, const void *M,
                       const void *x, const void *beta, void *y) {
    begin(A);
    gka_exact_gemv(A, m, n, alpha, M, x, beta, y);
    end(A);
}

static void exact_syr(gka_arith_t *A, size_t n, const void *alpha, const void *x, void *M) {
    begin(A);
    gka_exact_syr(A, n, alpha, x, M);
    end(A);
}

static void exact_nrm2(gka_arith_t *A, void *r, size_t n, const void *x) {
    begin(A);
    gka_exact_nrm2(A, r, n, x);
    end(A);
}

/* ------------------------------------------------------------------------ */
/* Initialisation                                                           */
/* ------------------------------------------------------------------------ */

static void emu_release(gka_arith_t *A) {
    emu_state_t *st = A->impl;
    if (st) free(st->buf);
    free(st);
    A->impl = NULL;
}

/* Every value of s is a value of w. */
static int format_contains(const gka_format_t *w, const gka_format_t *s) {
    return w->t >= s->t && w->emin <= s->emin && w->emax >= s->emax;
}

static const char *accum_label(gka_accum_t accum) {
    switch (accum) {
    case GKA_ACCUM_PER_OP:
        return "round";
    case GKA_ACCUM_WIDE:
        return "wide";
    case GKA_ACCUM_EXACT:
        return "exact";
    }
    return "?";
}

static void set_kernels(gka_arith_t *A) {
    A->scal = emu_scal;
    switch (A->accum) {
    case GKA_ACCUM_PER_OP:
        A->dot = round_dot, A->axpy = round_axpy, A->gemv = round_gemv;
        A->syr = round_syr, A->nrm2 = round_nrm2;
        break;
    case GKA_ACCUM_WIDE:
        A->dot = wide_dot, A->axpy = wide_axpy, A->gemv = wide_gemv;
        A->syr = wide_syr, A->nrm2 = wide_nrm2;
        break;
    case GKA_ACCUM_EXACT:
        A->dot = exact_dot, A->axpy = exact_axpy, A->gemv = exact_gemv;
        A->syr = exact_syr, A->nrm2 = exact_nrm2;
        break;
    }
}

gka_status_t gka_arith_init_emulated(gka_arith_t *A, const gka_rounding_t *store, gka_accum_t accum,
                                     const gka_format_t *wide) {
    if (!A || !store) return gka_error(GKA_EINVAL, "gka_arith_init_emulated: NULL argument");
    const gka_format_t *f = &store->format;
    if (f->t > GKA_FORMAT_T_MAX)
        return gka_error(GKA_EINVAL,
                         "gka_arith_init_emulated: format '%s' has t = %d > %d bits (use the "
                         "native fp64 table or mpfr:53)",
                         f->name, f->t, GKA_FORMAT_T_MAX);
    if (accum != GKA_ACCUM_PER_OP && accum != GKA_ACCUM_WIDE && accum != GKA_ACCUM_EXACT)
        return gka_error(GKA_EINVAL, "gka_arith_init_emulated: unknown accumulation model %d",
                         (int)accum);
    const gka_format_t *w = wide ? wide : &gka_fp32;
    if (accum == GKA_ACCUM_WIDE && !format_contains(w, f))
        return gka_error(GKA_EINVAL,
                         "gka_arith_init_emulated: wide format '%s' does not contain the storage "
                         "format '%s' (need t, emax >= and emin <=)",
                         w->name, f->name);
    memset(A, 0, sizeof *A);
    emu_state_t *st = calloc(1, sizeof *st);
    if (!st) return gka_error(GKA_ENOMEM, "gka_arith_init_emulated: out of memory");
    A->impl = st;
    A->release = emu_release;
    A->elem_size = sizeof(double);
    A->accum = accum;
    A->store = *store;
    A->store.flags = 0;
    A->wide = gka_rounding_default(w);
    if (accum == GKA_ACCUM_WIDE)
        snprintf(A->name, sizeof A->name, "%.24s/wide:%.24s/%s", f->name, w->name,
                 gka_round_mode_name(store->mode));
    else
        snprintf(A->name, sizeof A->name, "%.24s/%s/%s", f->name, accum_label(accum),
                 gka_round_mode_name(store->mode));
    A->alloc = gka_double_storage_alloc;
    A->free = gka_double_storage_free;
    A->from_double = emu_from_double;
    A->to_double = gka_double_storage_to_double;
    A->copy = gka_double_storage_copy;
    A->set_d = emu_set_d;
    A->get_d = gka_double_storage_get_d;
    A->add = emu_add;
    A->sub = emu_sub;
    A->mul = emu_mul;
    A->div = emu_div;
    A->fma = emu_fma;
    A->sqrt = emu_sqrt;
    set_kernels(A);
    return GKA_OK;
}
