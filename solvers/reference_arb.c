/* Arb reference: certified enclosures of the exact solution x* of
 * (H + lambda I) x = q (arb_mat_spd_solve) and of kappa(H + lambda I)
 * (Rayleigh quotients of fp64 eigenvectors bound the extreme eigenvalues from
 * inside; certified Cholesky factorisations of shifted matrices bound them
 * from outside). lambda may be the exact double or the irrational
 * a * ||H||_F, which Arb encloses in a ball. Every double handed back is
 * rounded outward so that the stated inequalities hold rigorously. */
#include <arb.h>
#include <arb_mat.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "gka_reference.h"
#include "reference_flint_internal.h"
#include "reference_internal.h"

/* The matrix A = H + lambda I in one of two forms: H as doubles, or H as the
 * exact rational matrix of a stream (Hq). */
typedef struct {
    int D;
    const double *H; /* NULL when Hq is used */
    const fmpq_mat_struct *Hq;
    double lambda_or_a;
    int adaptive;
} problem_t;

/* Ball containing the ridge lambda of problem p. */
static void ridge_arb(arb_t lambda, const problem_t *p, slong prec) {
    if (!p->adaptive) {
        arb_set_d(lambda, p->lambda_or_a);
        return;
    }
    slong n = p->D;
    arb_t sq;
    arb_init(sq);
    arb_zero(lambda);
    if (p->Hq) { /* ||H||_F^2 exactly, then one rounding */
        fmpq_t s, e;
        fmpq_init(s);
        fmpq_init(e);
        for (slong i = 0; i < n; i++)
            for (slong j = 0; j < n; j++) {
                fmpq_mul(e, fmpq_mat_entry(p->Hq, i, j), fmpq_mat_entry(p->Hq, i, j));
                fmpq_add(s, s, e);
            }
        arb_set_fmpq(lambda, s, prec);
        fmpq_clear(s);
        fmpq_clear(e);
    } else {
        for (slong i = 0; i < n * n; i++) {
            arb_set_d(sq, p->H[i]);
            arb_sqr(sq, sq, prec);
            arb_add(lambda, lambda, sq, prec);
        }
    }
    arb_sqrt(lambda, lambda, prec);
    arb_set_d(sq, p->lambda_or_a);
    arb_mul(lambda, lambda, sq, prec);
    arb_clear(sq);
}

/* A (D x D, initialised) = H + lambda I as balls at precision prec. */
static void build_matrix(arb_mat_t A, const problem_t *p, slong prec) {
    slong n = p->D;
    arb_t lambda;
    arb_init(lambda);
    ridge_arb(lambda, p, prec);
    for (slong i = 0; i < n; i++) {
        for (slong j = 0; j < n; j++) {
            if (p->Hq)
                arb_set_fmpq(arb_mat_entry(A, i, j), fmpq_mat_entry(p->Hq, i, j), prec);
            else
                arb_set_d(arb_mat_entry(A, i, j), p->H[(size_t)i * (size_t)n + (size_t)j]);
        }
        arb_add(arb_mat_entry(A, i, i), arb_mat_entry(A, i, i), lambda, prec);
    }
    arb_clear(lambda);
}

/* (mid, rad) doubles with [mid - rad, mid + rad] containing the ball x. */
static gka_status_t ball_to_doubles(const char *fn, const arb_t x, slong prec, double *mid,
                                    double *rad) {
    if (!arb_is_finite(x)) return gka_error(GKA_ENUMERIC, "%s: enclosure is not finite", fn);
    double m = arf_get_d(arb_midref(x), ARF_RND_NEAR);
    arb_t d;
    arf_t u;
    arb_init(d);
    arf_init(u);
    arb_set_d(d, m);
    arb_sub(d, x, d, prec); /* encloses x - m, rounding included */
    arb_get_abs_ubound_arf(u, d, prec);
    double r = arf_get_d(u, ARF_RND_UP);
    arb_clear(d);
    arf_clear(u);
    if (!isfinite(m) || !isfinite(r))
        return gka_error(GKA_ERANGE, "%s: enclosure does not fit in double", fn);
    *mid = m;
    *rad = r;
    return GKA_OK;
}

/* Certified solve of problem p with right-hand side q; prec, then 4 prec. */
static gka_status_t solve_problem(const char *fn, const problem_t *p, const double *q, long prec,
                                  double *mid, double *rad) {
    slong n = p->D;
    arb_mat_t A, B, X;
    arb_mat_init(A, n, n);
    arb_mat_init(B, n, 1);
    arb_mat_init(X, n, 1);
    for (slong i = 0; i < n; i++)
        arb_set_d(arb_mat_entry(B, i, 0), q[i]);
    int ok = 0;
    slong wp = (slong)prec;
    for (int attempt = 0; attempt < 2 && !ok; attempt++, wp *= 4) {
        build_matrix(A, p, wp);
        ok = arb_mat_spd_solve(X, A, B, wp);
    }
    gka_status_t st = GKA_OK;
    if (!ok)
        st = gka_error(GKA_ENUMERIC,
                       "%s: H + lambda I could not be certified positive "
                       "definite at %ld or %ld bits",
                       fn, prec, 4 * prec);
    double *m = st == GKA_OK ? malloc(2 * (size_t)n * sizeof *m) : NULL;
    if (st == GKA_OK && !m) st = gka_error(GKA_ENOMEM, "%s: out of memory", fn);
    for (slong i = 0; st == GKA_OK && i < n; i++)
        st = ball_to_doubles(fn, arb_mat_entry(X, i, 0), wp, &m[i], &m[n + i]);
    for (slong i = 0; st == GKA_OK && i < n; i++) {
        mid[i] = m[i];
        rad[i] = m[n + i];
    }
    free(m);
    arb_mat_clear(A);
    arb_mat_clear(B);
    arb_mat_clear(X);
    return st;
}

gka_status_t gka_ref_solve_arb(int D, const double *H, double lambda_or_a, int adaptive,
                               const double *q, long prec, double *mid, double *rad) {
    static const char fn[] = "gka_ref_solve_arb";
    gka_status_t st = gka_ref_check_problem(fn, D, H, lambda_or_a, q);
    if (st == GKA_OK) st = gka_ref_check_prec(fn, prec);
    if (st == GKA_OK && (!mid || !rad)) st = gka_error(GKA_EINVAL, "%s: mid or rad is NULL", fn);
    if (st != GKA_OK) return st;
    problem_t p = {D, H, NULL, lambda_or_a, adaptive};
    return solve_problem(fn, &p, q, prec, mid, rad);
}

gka_status_t gka_ref_stream_solve_arb(int D, int T, const double *K, const double *gamma,
                                      const double *beta, double lambda_or_a, int adaptive,
                                      const double *q, long prec, double *mid, double *rad) {
    static const char fn[] = "gka_ref_stream_solve_arb";
    gka_status_t st = gka_ref_check_dim(fn, D);
    if (st == GKA_OK) st = gka_ref_check_nonneg(fn, adaptive ? "a" : "lambda", lambda_or_a);
    if (st == GKA_OK) st = gka_ref_check_vector(fn, "q", (size_t)D, q);
    if (st == GKA_OK) st = gka_ref_check_prec(fn, prec);
    if (st == GKA_OK && (!mid || !rad)) st = gka_error(GKA_EINVAL, "%s: mid or rad is NULL", fn);
    if (st != GKA_OK) return st;
    fmpq_mat_t Hq;
    fmpq_mat_init(Hq, D, D);
    st = gka_ref_stream_fmpq(fn, Hq, D, T, K, gamma, beta);
    if (st == GKA_OK) {
        problem_t p = {D, NULL, Hq, lambda_or_a, adaptive};
        st = solve_problem(fn, &p, q, prec, mid, rad);
    }
    fmpq_mat_clear(Hq);
    return st;
}

/* ------------------------------------------------------------- lambda --- */

gka_status_t gka_ref_lambda_arb(int D, const double *H, double a, long prec, double *lo,
                                double *hi) {
    static const char fn[] = "gka_ref_lambda_arb";
    gka_status_t st = gka_ref_check_problem(fn, D, H, a, NULL);
    if (st == GKA_OK) st = gka_ref_check_prec(fn, prec);
    if (st == GKA_OK && (!lo || !hi)) st = gka_error(GKA_EINVAL, "%s: lo or hi is NULL", fn);
    if (st != GKA_OK) return st;
    problem_t p = {D, H, NULL, a, 1};
    arb_t l;
    arf_t b;
    arb_init(l);
    arf_init(b);
    ridge_arb(l, &p, (slong)prec);
    arb_get_lbound_arf(b, l, (slong)prec);
    double dlo = arf_get_d(b, ARF_RND_FLOOR);
    arb_get_ubound_arf(b, l, (slong)prec);
    double dhi = arf_get_d(b, ARF_RND_CEIL);
    arb_clear(l);
    arf_clear(b);
    if (!isfinite(dlo) || !isfinite(dhi))
        return gka_error(GKA_ERANGE, "%s: a * ||H||_F does not fit in double", fn);
    *lo = dlo;
    *hi = dhi;
    return GKA_OK;
}

/* -------------------------------------------------------------- kappa --- */

/* Rayleigh quotient v^T A v / v^T v (ball) of the double vector v. */
static void rayleigh_quotient(arb_t rq, const arb_mat_t A, const double *v, int D, slong prec) {
    arb_mat_t va, Av;
    arb_t num, den;
    arb_mat_init(va, D, 1);
    arb_mat_init(Av, D, 1);
    arb_init(num);
    arb_init(den);
    for (slong i = 0; i < D; i++)
        arb_set_d(arb_mat_entry(va, i, 0), v[i]);
    arb_mat_mul(Av, A, va, prec);
    for (slong i = 0; i < D; i++) {
        arb_addmul(num, arb_mat_entry(va, i, 0), arb_mat_entry(Av, i, 0), prec);
        arb_addmul(den, arb_mat_entry(va, i, 0), arb_mat_entry(va, i, 0), prec);
    }
    arb_div(rq, num, den, prec);
    arb_clear(num);
    arb_clear(den);
    arb_mat_clear(va);
    arb_mat_clear(Av);
}

/* An approximate eigenvector v of the lowest (or highest) eigenvalue of A,
 * from fp64 eigenpairs (w ascending, V columns). fp64 cannot order the
 * eigenvectors of a cluster narrower than its resolution (~D eps ||A||), so
 * for a cluster the Rayleigh-Ritz matrix Vc^T (A - w_e I) Vc is formed in Arb
 * (its entries carry the cluster's fine structure at full relative accuracy)
 * and its own extreme eigenvector y gives v = Vc y. v need not be exact: its
 * Rayleigh quotient is evaluated rigorously, this only makes it tighter. */
static gka_status_t extreme_vector(double *v, const arb_mat_t A, const double *V, const double *w,
                                   int D, int lowest, slong prec) {
    double tol = 8.0 * D * DBL_EPSILON * fmax(fabs(w[0]), fabs(w[D - 1]));
    int k = 1;
    if (lowest)
        while (k < D && w[k] - w[0] <= tol)
            k++;
    else
        while (k < D && w[D - 1] - w[D - 1 - k] <= tol)
            k++;
    int c0 = lowest ? 0 : D - k, e = lowest ? 0 : D - 1;
    size_t n = (size_t)D, kk = (size_t)k;
    if (k == 1) {
        for (size_t i = 0; i < n; i++)
            v[i] = V[i * n + (size_t)e];
        return GKA_OK;
    }
    double *B = malloc(kk * kk * sizeof *B), *wb = malloc(kk * sizeof *wb);
    double *Y = malloc(kk * kk * sizeof *Y);
    if (!B || !wb || !Y) {
        free(B);
        free(wb);
        free(Y);
        return gka_error(GKA_ENOMEM, "gka_ref_kappa_arb: out of memory");
    }
    arb_mat_t Vc, VcT, AV, R;
    arb_t c;
    arb_mat_init(Vc, D, k);
    arb_mat_init(VcT, k, D);
    arb_mat_init(AV, D, k);
    arb_mat_init(R, k, k);
    arb_init(c);
    for (slong i = 0; i < D; i++)
        for (slong j = 0; j < k; j++)
            arb_set_d(arb_mat_entry(Vc, i, j), V[(size_t)i * n + (size_t)(c0 + j)]);
    arb_mat_transpose(VcT, Vc);
    arb_mat_mul(AV, A, Vc, prec);
    arb_mat_mul(R, VcT, AV, prec);
    arb_set_d(c, w[e]);
    for (slong i = 0; i < k; i++)
        arb_sub(arb_mat_entry(R, i, i), arb_mat_entry(R, i, i), c, prec);
    for (size_t i = 0; i < kk; i++)
        for (size_t j = 0; j < kk; j++)
            B[i * kk + j] =
                arf_get_d(arb_midref(arb_mat_entry(R, (slong)i, (slong)j)), ARF_RND_NEAR);
    gka_status_t st = gka_ref_eigvecs_fp64(k, B, wb, Y);
    size_t ye = lowest ? 0 : kk - 1;
    for (size_t i = 0; st == GKA_OK && i < n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < kk; j++)
            s += V[i * n + (size_t)c0 + j] * Y[j * kk + ye];
        v[i] = s;
    }
    arb_clear(c);
    arb_mat_clear(Vc);
    arb_mat_clear(VcT);
    arb_mat_clear(AV);
    arb_mat_clear(R);
    free(B);
    free(wb);
    free(Y);
    return st;
}

/* 1 if sign * (A - s I) is certified positive definite (sign = +1 or -1). */
static int shifted_is_pd(const arb_mat_t A, const arf_t s, int sign, slong prec) {
    slong n = arb_mat_nrows(A);
    arb_mat_t S, L;
    arb_mat_init(S, n, n);
    arb_mat_init(L, n, n);
    arb_mat_set(S, A);
    for (slong i = 0; i < n; i++)
        arb_sub_arf(arb_mat_entry(S, i, i), arb_mat_entry(S, i, i), s, prec);
    if (sign < 0) arb_mat_neg(S, S);
    int ok = arb_mat_cho(L, S, prec);
    arb_mat_clear(S);
    arb_mat_clear(L);
    return ok;
}

/* Certified outer bound of an extreme eigenvalue: find s = r (1 - sign d)
 * with sign (A - s I) positive definite, d = 2^-40, 2^-36, ..., 2^-4. r is
 * the Rayleigh-quotient bound from inside (positive). sign = +1: lambda_min >
 * s; sign = -1: lambda_max < s. Returns 1 and s on success. */
static int certify_outer(arf_t s, const arb_mat_t A, const arf_t r, int sign, slong prec) {
    arf_t f;
    arf_init(f);
    int ok = 0;
    for (slong e = 40; e >= 4 && !ok; e -= 4) {
        arf_one(f);
        arf_mul_2exp_si(f, f, -e);
        if (sign > 0)
            arf_sub_ui(f, f, 1, prec, ARF_RND_DOWN); /* f = d - 1 (exact) */
        else
            arf_add_ui(f, f, 1, prec, ARF_RND_DOWN); /* f = 1 + d (exact) */
        if (sign > 0) arf_neg(f, f);
        arf_mul(s, r, f, prec, ARF_RND_DOWN); /* any s is fine: it is certified */
        ok = shifted_is_pd(A, s, sign, prec);
    }
    arf_clear(f);
    return ok;
}

gka_status_t gka_ref_kappa_arb(int D, const double *H, double lambda_or_a, int adaptive, long prec,
                               double *kappa_lo, double *kappa_hi) {
    static const char fn[] = "gka_ref_kappa_arb";
    gka_status_t st = gka_ref_check_problem(fn, D, H, lambda_or_a, NULL);
    if (st == GKA_OK) st = gka_ref_check_prec(fn, prec);
    if (st == GKA_OK && (!kappa_lo || !kappa_hi))
        st = gka_error(GKA_EINVAL, "%s: kappa_lo or kappa_hi is NULL", fn);
    if (st != GKA_OK) return st;
    size_t n = (size_t)D;
    slong wp = (slong)prec;
    problem_t p = {D, H, NULL, lambda_or_a, adaptive};
    double *A64 = malloc(n * n * sizeof *A64);
    double *V = malloc(n * n * sizeof *V);
    double *w = malloc(n * sizeof *w);
    if (!A64 || !V || !w) {
        free(A64);
        free(V);
        free(w);
        return gka_error(GKA_ENOMEM, "%s: out of memory for D = %d", fn, D);
    }
    arb_mat_t A;
    arb_t rq;
    arf_t min_hi, max_lo, min_lo, max_hi, k;
    arb_mat_init(A, D, D);
    arb_init(rq);
    arf_init(min_hi);
    arf_init(max_lo);
    arf_init(min_lo);
    arf_init(max_hi);
    arf_init(k);
    build_matrix(A, &p, wp);
    for (size_t i = 0; i < n * n; i++) /* approximate A for the eigenvectors */
        A64[i] = arf_get_d(arb_midref(arb_mat_entry(A, i / n, i % n)), ARF_RND_NEAR);
    st = gka_ref_eigvecs_fp64(D, A64, w, V);
    if (st == GKA_OK) st = extreme_vector(A64, A, V, w, D, 1, wp); /* A64 reused for v */
    if (st == GKA_OK) {
        rayleigh_quotient(rq, A, A64, D, wp);
        arb_get_ubound_arf(min_hi, rq, wp); /* lambda_min <= min_hi */
        st = extreme_vector(A64, A, V, w, D, 0, wp);
    }
    if (st == GKA_OK) {
        rayleigh_quotient(rq, A, A64, D, wp);
        arb_get_lbound_arf(max_lo, rq, wp); /* lambda_max >= max_lo */
        if (arf_sgn(min_hi) <= 0 || arf_sgn(max_lo) <= 0)
            st = gka_error(GKA_ENUMERIC,
                           "%s: H + lambda I is not positive definite "
                           "(Rayleigh quotient %g <= 0)",
                           fn, arf_get_d(min_hi, ARF_RND_NEAR));
    }
    if (st == GKA_OK && !certify_outer(min_lo, A, min_hi, +1, wp))
        st = gka_error(GKA_ENUMERIC,
                       "%s: could not certify a positive lower bound on "
                       "lambda_min (~%g) at %ld bits",
                       fn, w[0], prec);
    if (st == GKA_OK && !certify_outer(max_hi, A, max_lo, -1, wp))
        st = gka_error(GKA_ENUMERIC,
                       "%s: could not certify an upper bound on "
                       "lambda_max (~%g) at %ld bits",
                       fn, w[D - 1], prec);
    if (st == GKA_OK) {
        arf_div(k, max_lo, min_hi, wp, ARF_RND_FLOOR);
        double lo = arf_get_d(k, ARF_RND_FLOOR);
        arf_div(k, max_hi, min_lo, wp, ARF_RND_CEIL);
        double hi = arf_get_d(k, ARF_RND_CEIL);
        if (!isfinite(hi))
            st = gka_error(GKA_ERANGE, "%s: kappa bound overflows double", fn);
        else {
            *kappa_lo = lo;
            *kappa_hi = hi;
        }
    }
    arf_clear(k);
    arf_clear(min_hi);
    arf_clear(max_lo);
    arf_clear(min_lo);
    arf_clear(max_hi);
    arb_clear(rq);
    arb_mat_clear(A);
    free(A64);
    free(V);
    free(w);
    return st;
}
