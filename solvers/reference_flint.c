/* FLINT reference: the exact rational solution of (H + lambda I) x = q from
 * the exact binary values of the double inputs, positive definiteness
 * checked exactly (fraction-free elimination: its pivots are the leading
 * principal minors), results correctly rounded to double through MPFR.
 * Also the exact matrix H_T of a gated key stream. */
#include <flint/fmpz.h>
#include <flint/fmpz_mat.h>
#include <math.h>
#include <mpfr.h>
#include <stdlib.h>

#include "gka_reference.h"
#include "reference_flint_internal.h"
#include "reference_internal.h"

/* Exact rational arithmetic: cost grows like D^3 times the size of minors. */
#define GKA_REF_EXACT_MAX_D 256

/* ----------------------------------------------------------- conversions --- */

void gka_ref_fmpq_set_d(fmpq_t r, double d) {
    int e = 0;
    double m = frexp(d, &e);          /* d = m 2^e, 0.5 <= |m| < 1 */
    slong mant = (slong)ldexp(m, 53); /* exact: at most 53 bits */
    fmpq_set_si(r, mant, 1);
    if (e - 53 >= 0)
        fmpq_mul_2exp(r, r, (flint_bitcnt_t)(e - 53));
    else
        fmpq_div_2exp(r, r, (flint_bitcnt_t)(53 - e));
}

/* *out = x correctly rounded to the nearest double (ties to even), with
 * subnormals rounded once, at their own precision. */
static gka_status_t fmpq_round_to_double(const char *fn, const fmpq_t x, double *out) {
    mpfr_exp_t saved_emin = mpfr_get_emin(), saved_emax = mpfr_get_emax();
    mpfr_set_emin(-1073); /* 2^-1074 = 0.1b * 2^-1073: smallest subnormal */
    mpfr_set_emax(1024);
    mpfr_t r;
    mpfr_init2(r, 53);
    int ternary = fmpq_get_mpfr(r, x, MPFR_RNDN);
    mpfr_subnormalize(r, ternary, MPFR_RNDN);
    double d = mpfr_get_d(r, MPFR_RNDN);
    mpfr_clear(r);
    mpfr_set_emin(saved_emin);
    mpfr_set_emax(saved_emax);
    if (!isfinite(d)) return gka_error(GKA_ERANGE, "%s: exact value overflows double", fn);
    *out = d;
    return GKA_OK;
}

static gka_status_t round_vector(const char *fn, const fmpq_mat_t X, double *x) {
    for (slong i = 0; i < fmpq_mat_nrows(X); i++) {
        gka_status_t st = fmpq_round_to_double(fn, fmpq_mat_entry(X, i, 0), &x[i]);
        if (st != GKA_OK) return st;
    }
    return GKA_OK;
}

/* --------------------------------------------------------- exact solve --- */

/* 0 if the symmetric rational matrix A is positive definite, else the
 * 1-based order of the first leading principal minor that is <= 0. Bareiss
 * elimination without pivoting on the integer matrix den * A: after step k
 * the pivot is the leading principal minor of order k + 1 (times den^(k+1) >
 * 0). Only the lower triangle is updated (the iterates stay symmetric). */
static slong first_nonpositive_minor(const fmpq_mat_t A) {
    slong n = fmpq_mat_nrows(A);
    fmpz_mat_t M;
    fmpz_t den, prev, t;
    fmpz_mat_init(M, n, n);
    fmpz_init(den);
    fmpz_init_set_ui(prev, 1);
    fmpz_init(t);
    fmpq_mat_get_fmpz_mat_matwise(M, den, A);
    slong bad = 0;
    for (slong k = 0; k < n && !bad; k++) {
        const fmpz *p = fmpz_mat_entry(M, k, k);
        if (fmpz_sgn(p) <= 0) {
            bad = k + 1;
            break;
        }
        for (slong i = k + 1; i < n; i++)
            for (slong j = k + 1; j <= i; j++) {
                fmpz *mij = fmpz_mat_entry(M, i, j);
                fmpz_mul(mij, mij, p);
                fmpz_mul(t, fmpz_mat_entry(M, i, k), fmpz_mat_entry(M, j, k));
                fmpz_sub(mij, mij, t);
                fmpz_divexact(mij, mij, prev);
            }
        fmpz_set(prev, p);
    }
    fmpz_clear(t);
    fmpz_clear(prev);
    fmpz_clear(den);
    fmpz_mat_clear(M);
    return bad;
}

/* X (n x 1) = A^{-1} B exactly, after checking that A is positive definite. */
static gka_status_t exact_spd_solve(const char *fn, fmpq_mat_t X, const fmpq_mat_t A,
                                    const fmpq_mat_t B) {
    slong bad = first_nonpositive_minor(A);
    if (bad)
        return gka_error(GKA_ENUMERIC,
                         "%s: H + lambda I is not positive definite "
                         "(exact leading principal minor of order %ld is <= 0)",
                         fn, (long)bad);
    if (!fmpq_mat_solve(X, A, B))
        return gka_error(GKA_ENUMERIC, "%s: H + lambda I is singular", fn);
    return GKA_OK;
}

/* A = H + lambda I and B = q as exact rationals (A, B initialised). */
static void exact_problem(fmpq_mat_t A, fmpq_mat_t B, int D, const double *H, double lambda,
                          const double *q) {
    size_t n = (size_t)D;
    fmpq_t l;
    fmpq_init(l);
    gka_ref_fmpq_set_d(l, lambda);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++)
            gka_ref_fmpq_set_d(fmpq_mat_entry(A, (slong)i, (slong)j), H[i * n + j]);
        fmpq_add(fmpq_mat_entry(A, (slong)i, (slong)i), fmpq_mat_entry(A, (slong)i, (slong)i), l);
        gka_ref_fmpq_set_d(fmpq_mat_entry(B, (slong)i, 0), q[i]);
    }
    fmpq_clear(l);
}

static gka_status_t check_exact_dim(const char *fn, int D) {
    gka_status_t st = gka_ref_check_dim(fn, D);
    if (st == GKA_OK && D > GKA_REF_EXACT_MAX_D)
        st = gka_error(GKA_EINVAL,
                       "%s: D = %d too large for exact rational "
                       "arithmetic (at most %d)",
                       fn, D, GKA_REF_EXACT_MAX_D);
    return st;
}

/* Exact x* of (H + lambda I) x = q into X (D x 1, initialised by caller). */
static gka_status_t exact_solution(const char *fn, fmpq_mat_t X, int D, const double *H,
                                   double lambda, const double *q) {
    gka_status_t st = check_exact_dim(fn, D);
    if (st == GKA_OK) st = gka_ref_check_problem(fn, D, H, lambda, q);
    if (st != GKA_OK) return st;
    fmpq_mat_t A, B;
    fmpq_mat_init(A, D, D);
    fmpq_mat_init(B, D, 1);
    exact_problem(A, B, D, H, lambda, q);
    st = exact_spd_solve(fn, X, A, B);
    fmpq_mat_clear(A);
    fmpq_mat_clear(B);
    return st;
}

gka_status_t gka_ref_solve_exact(int D, const double *H, double lambda, const double *q,
                                 double *x) {
    static const char fn[] = "gka_ref_solve_exact";
    if (!x) return gka_error(GKA_EINVAL, "%s: x is NULL", fn);
    gka_status_t st = check_exact_dim(fn, D);
    if (st != GKA_OK) return st;
    fmpq_mat_t X;
    fmpq_mat_init(X, D, 1);
    st = exact_solution(fn, X, D, H, lambda, q);
    if (st == GKA_OK) {
        double *tmp = malloc((size_t)D * sizeof *tmp);
        if (!tmp)
            st = gka_error(GKA_ENOMEM, "%s: out of memory", fn);
        else if ((st = round_vector(fn, X, tmp)) == GKA_OK)
            for (int i = 0; i < D; i++)
                x[i] = tmp[i];
        free(tmp);
    }
    fmpq_mat_clear(X);
    return st;
}

gka_status_t gka_ref_exact_in_ball(int D, const double *H, double lambda, const double *q,
                                   const double *mid, const double *rad, int *inside) {
    static const char fn[] = "gka_ref_exact_in_ball";
    gka_status_t st = check_exact_dim(fn, D);
    if (st == GKA_OK) st = gka_ref_check_vector(fn, "mid", (size_t)D, mid);
    if (st == GKA_OK) st = gka_ref_check_vector(fn, "rad", (size_t)D, rad);
    for (int i = 0; st == GKA_OK && i < D; i++)
        if (rad[i] < 0.0) st = gka_error(GKA_EINVAL, "%s: rad[%d] = %g is negative", fn, i, rad[i]);
    if (st == GKA_OK && !inside) st = gka_error(GKA_EINVAL, "%s: inside is NULL", fn);
    if (st != GKA_OK) return st;
    fmpq_mat_t X;
    fmpq_t m, r, lo, hi;
    fmpq_mat_init(X, D, 1);
    fmpq_init(m);
    fmpq_init(r);
    fmpq_init(lo);
    fmpq_init(hi);
    st = exact_solution(fn, X, D, H, lambda, q);
    int all_inside = 1;
    for (int i = 0; st == GKA_OK && i < D; i++) {
        gka_ref_fmpq_set_d(m, mid[i]);
        gka_ref_fmpq_set_d(r, rad[i]);
        fmpq_sub(lo, m, r);
        fmpq_add(hi, m, r);
        const fmpq *xi = fmpq_mat_entry(X, i, 0);
        if (fmpq_cmp(lo, xi) > 0 || fmpq_cmp(xi, hi) > 0) all_inside = 0;
    }
    if (st == GKA_OK) *inside = all_inside;
    fmpq_clear(m);
    fmpq_clear(r);
    fmpq_clear(lo);
    fmpq_clear(hi);
    fmpq_mat_clear(X);
    return st;
}

/* -------------------------------------------------------- exact stream --- */

static gka_status_t check_stream(const char *fn, int D, int T, const double *K, const double *gamma,
                                 const double *beta) {
    gka_status_t st = check_exact_dim(fn, D);
    if (st == GKA_OK && T <= 0)
        st = gka_error(GKA_EINVAL, "%s: stream length T = %d must be >= 1", fn, T);
    if (st == GKA_OK) st = gka_ref_check_vector(fn, "K", (size_t)T * (size_t)D, K);
    if (st == GKA_OK && gamma) {
        st = gka_ref_check_vector(fn, "gamma", (size_t)T, gamma);
        for (int t = 0; st == GKA_OK && t < T; t++)
            if (gamma[t] < 0.0)
                st = gka_error(GKA_EINVAL, "%s: gamma[%d] = %g is negative", fn, t, gamma[t]);
    }
    if (st == GKA_OK && beta) st = gka_ref_check_vector(fn, "beta", (size_t)T, beta);
    return st;
}

gka_status_t gka_ref_stream_fmpq(const char *fn, fmpq_mat_t H, int D, int T, const double *K,
                                 const double *gamma, const double *beta) {
    gka_status_t st = check_stream(fn, D, T, K, gamma, beta);
    if (st != GKA_OK) return st;
    size_t n = (size_t)D;
    fmpq *k = _fmpq_vec_init((slong)D);
    fmpq *wk = _fmpq_vec_init((slong)D);
    fmpq_t g, w;
    fmpq_init(g);
    fmpq_init(w);
    fmpq_mat_zero(H);
    for (size_t t = 0; t < (size_t)T; t++) {
        if (gamma && gamma[t] != 1.0) {
            gka_ref_fmpq_set_d(g, gamma[t]);
            for (slong i = 0; i < D; i++)
                for (slong j = 0; j <= i; j++)
                    fmpq_mul(fmpq_mat_entry(H, i, j), fmpq_mat_entry(H, i, j), g);
        }
        gka_ref_fmpq_set_d(w, beta ? beta[t] : 1.0);
        fmpq_mul(w, w, w);
        for (size_t i = 0; i < n; i++) {
            gka_ref_fmpq_set_d(k + i, K[t * n + i]);
            fmpq_mul(wk + i, w, k + i);
        }
        for (slong i = 0; i < D; i++)
            for (slong j = 0; j <= i; j++)
                fmpq_addmul(fmpq_mat_entry(H, i, j), wk + i, k + j);
    }
    for (slong i = 0; i < D; i++)
        for (slong j = 0; j < i; j++)
            fmpq_set(fmpq_mat_entry(H, j, i), fmpq_mat_entry(H, i, j));
    fmpq_clear(g);
    fmpq_clear(w);
    _fmpq_vec_clear(k, (slong)D);
    _fmpq_vec_clear(wk, (slong)D);
    return GKA_OK;
}

gka_status_t gka_ref_stream_H_exact(int D, int T, const double *K, const double *gamma,
                                    const double *beta, double *H_out) {
    static const char fn[] = "gka_ref_stream_H_exact";
    gka_status_t st = check_exact_dim(fn, D);
    if (st != GKA_OK) return st;
    if (!H_out) return gka_error(GKA_EINVAL, "%s: H_out is NULL", fn);
    size_t n = (size_t)D;
    double *tmp = malloc(n * n * sizeof *tmp);
    if (!tmp) return gka_error(GKA_ENOMEM, "%s: out of memory", fn);
    fmpq_mat_t H;
    fmpq_mat_init(H, D, D);
    st = gka_ref_stream_fmpq(fn, H, D, T, K, gamma, beta);
    for (size_t i = 0; st == GKA_OK && i < n; i++)
        for (size_t j = 0; st == GKA_OK && j < n; j++)
            st = fmpq_round_to_double(fn, fmpq_mat_entry(H, (slong)i, (slong)j), &tmp[i * n + j]);
    if (st == GKA_OK)
        for (size_t i = 0; i < n * n; i++)
            H_out[i] = tmp[i];
    fmpq_mat_clear(H);
    free(tmp);
    return st;
}

gka_status_t gka_ref_stream_solve_exact(int D, int T, const double *K, const double *gamma,
                                        const double *beta, double lambda, const double *q,
                                        double *x) {
    static const char fn[] = "gka_ref_stream_solve_exact";
    gka_status_t st = check_exact_dim(fn, D);
    if (st == GKA_OK) st = gka_ref_check_nonneg(fn, "lambda", lambda);
    if (st == GKA_OK) st = gka_ref_check_vector(fn, "q", (size_t)D, q);
    if (st == GKA_OK && !x) st = gka_error(GKA_EINVAL, "%s: x is NULL", fn);
    if (st != GKA_OK) return st;
    fmpq_mat_t A, B, X;
    fmpq_t l;
    fmpq_mat_init(A, D, D);
    fmpq_mat_init(B, D, 1);
    fmpq_mat_init(X, D, 1);
    fmpq_init(l);
    st = gka_ref_stream_fmpq(fn, A, D, T, K, gamma, beta);
    if (st == GKA_OK) {
        gka_ref_fmpq_set_d(l, lambda);
        for (slong i = 0; i < D; i++) {
            fmpq_add(fmpq_mat_entry(A, i, i), fmpq_mat_entry(A, i, i), l);
            gka_ref_fmpq_set_d(fmpq_mat_entry(B, i, 0), q[i]);
        }
        st = exact_spd_solve(fn, X, A, B);
    }
    double *tmp = st == GKA_OK ? malloc((size_t)D * sizeof *tmp) : NULL;
    if (st == GKA_OK && !tmp) st = gka_error(GKA_ENOMEM, "%s: out of memory", fn);
    if (st == GKA_OK && (st = round_vector(fn, X, tmp)) == GKA_OK)
        for (int i = 0; i < D; i++)
            x[i] = tmp[i];
    free(tmp);
    fmpq_clear(l);
    fmpq_mat_clear(A);
    fmpq_mat_clear(B);
    fmpq_mat_clear(X);
    return st;
}
