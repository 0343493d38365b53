/* Helpers of the backward-pass tests (test_grad*.c): seeded problems and
 * central finite differences of L = sum_t <dx_t, x_t> computed in 256-bit
 * MPFR, independently of the library: H_t, lambda_t and the solve (exact
 * Cholesky, r Chebyshev steps or r CG steps) are written here again, in
 * mpfr_t, from the real-arithmetic definitions of MATH.md section 1-2. */
#ifndef GKA_BACKWARD_TESTLIB_H
#define GKA_BACKWARD_TESTLIB_H

#include <criterion/criterion.h>
#include <math.h>
#include <mpfr.h>
#include <stdlib.h>
#include <string.h>

#include "gka_grad.h"
#include "gka_precision.h"

#define BT_PREC 256

typedef struct {
    int D;
    long T;
    double *q, *k, *g, *beta, *dx;
    gka_ridge_t ridge;
} bt_prob_t;

static inline void bt_normalise(double *x, int D) {
    double s = 0.0;
    for (int i = 0; i < D; i++)
        s += x[i] * x[i];
    s = sqrt(s) + 1e-6;
    for (int i = 0; i < D; i++)
        x[i] /= s;
}

/* Normalised Gaussian q, k (keys with a shared direction of weight corr),
 * dx ~ N(0, 1), g = -gate u (gate 0: NULL), beta = 0.5 + 0.5 u (or NULL). */
static inline bt_prob_t bt_prob(int D, long T, uint64_t seed, double gate, int with_beta,
                                double corr, const char *ridge) {
    bt_prob_t p = {D, T, NULL, NULL, NULL, NULL, NULL, {GKA_RIDGE_FIXED, 0.0}};
    const size_t n = (size_t)(T * D);
    p.q = malloc(n * sizeof(double));
    p.k = malloc(n * sizeof(double));
    p.dx = malloc(n * sizeof(double));
    cr_assert(p.q && p.k && p.dx);
    for (long t = 0; t < T; t++) {
        for (int i = 0; i < D; i++) {
            uint64_t c = (uint64_t)(t * D + i) * 2;
            p.q[t * D + i] = gka_philox_normal(seed, 2, c);
            p.k[t * D + i] =
                gka_philox_normal(seed, 1, c) + corr * gka_philox_normal(seed, 7, 2 * (uint64_t)i);
            p.dx[t * D + i] = gka_philox_normal(seed, 11, c);
        }
        bt_normalise(p.q + t * D, D);
        bt_normalise(p.k + t * D, D);
    }
    if (gate > 0.0) {
        p.g = malloc((size_t)T * sizeof(double));
        for (long t = 0; t < T; t++)
            p.g[t] = -gate * gka_philox_uniform(seed, 8, 2 * (uint64_t)t);
    }
    if (with_beta) {
        p.beta = malloc((size_t)T * sizeof(double));
        for (long t = 0; t < T; t++)
            p.beta[t] = 0.5 + 0.5 * gka_philox_uniform(seed, 10, 2 * (uint64_t)t);
    }
    cr_assert_eq(gka_ridge_parse(ridge, &p.ridge), GKA_OK);
    return p;
}

static inline void bt_prob_free(bt_prob_t *p) {
    free(p->q), free(p->k), free(p->g), free(p->beta), free(p->dx);
}

static inline gka_grad_problem_t bt_gp(const bt_prob_t *p) {
    gka_grad_problem_t g = {p->D, p->T, p->q, p->k, p->g, p->beta, p->dx, p->ridge};
    return g;
}

/* Gradient arrays. */
typedef struct {
    double *x, *dq, *dk, *dg, *dbeta;
} bt_grads_t;

static inline bt_grads_t bt_grads_new(int D, long T) {
    size_t n = (size_t)(T * D);
    bt_grads_t g = {calloc(n, 8), calloc(n, 8), calloc(n, 8), calloc((size_t)T, 8),
                    calloc((size_t)T, 8)};
    cr_assert(g.x && g.dq && g.dk && g.dg && g.dbeta);
    return g;
}
static inline void bt_grads_free(bt_grads_t *g) {
    free(g->x), free(g->dq), free(g->dk), free(g->dg), free(g->dbeta);
}
static inline gka_grads_t bt_out(bt_grads_t *g) {
    gka_grads_t o = {g->x, g->dq, g->dk, g->dg, g->dbeta};
    return o;
}

/* ---- MPFR forward ------------------------------------------------------- */

typedef enum { BT_EXACT = 0, BT_CHEB, BT_CG } bt_solve_t;

typedef struct {
    int D;
    long T;
    mpfr_t *q, *k, *gam, *beta; /* gam_t = the double exp(g_t), exactly */
    mpfr_t *H, *M, *x, *y, *v1, *v2, *v3, *v4;
    mpfr_t s1, s2, s3, s4, lam, hn, L;
} bt_mp_t;

static inline mpfr_t *bt_mp_vec(size_t n) {
    mpfr_t *v = malloc(n * sizeof(mpfr_t));
    cr_assert(v);
    for (size_t i = 0; i < n; i++)
        mpfr_init2(v[i], BT_PREC);
    return v;
}
static inline void bt_mp_vec_free(mpfr_t *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        mpfr_clear(v[i]);
    free(v);
}

static inline bt_mp_t bt_mp_new(const bt_prob_t *p) {
    bt_mp_t m;
    const size_t n = (size_t)p->D, TD = (size_t)p->T * n, T = (size_t)p->T;
    m.D = p->D, m.T = p->T;
    m.q = bt_mp_vec(TD), m.k = bt_mp_vec(TD), m.gam = bt_mp_vec(T), m.beta = bt_mp_vec(T);
    m.H = bt_mp_vec(n * n), m.M = bt_mp_vec(n * n);
    m.x = bt_mp_vec(n), m.y = bt_mp_vec(n), m.v1 = bt_mp_vec(n), m.v2 = bt_mp_vec(n);
    m.v3 = bt_mp_vec(n), m.v4 = bt_mp_vec(n);
    mpfr_inits2(BT_PREC, m.s1, m.s2, m.s3, m.s4, m.lam, m.hn, m.L, (mpfr_ptr)0);
    for (size_t i = 0; i < TD; i++) {
        mpfr_set_d(m.q[i], p->q[i], MPFR_RNDN);
        mpfr_set_d(m.k[i], p->k[i], MPFR_RNDN);
    }
    for (size_t t = 0; t < T; t++) {
        mpfr_set_d(m.gam[t], p->g ? (p->g[t] == 0.0 ? 1.0 : exp(p->g[t])) : 1.0, MPFR_RNDN);
        mpfr_set_d(m.beta[t], p->beta ? p->beta[t] : 1.0, MPFR_RNDN);
    }
    return m;
}

static inline void bt_mp_free(bt_mp_t *m) {
    const size_t n = (size_t)m->D, TD = (size_t)m->T * n, T = (size_t)m->T;
    bt_mp_vec_free(m->q, TD), bt_mp_vec_free(m->k, TD), bt_mp_vec_free(m->gam, T);
    bt_mp_vec_free(m->beta, T), bt_mp_vec_free(m->H, n * n), bt_mp_vec_free(m->M, n * n);
    bt_mp_vec_free(m->x, n), bt_mp_vec_free(m->y, n), bt_mp_vec_free(m->v1, n);
    bt_mp_vec_free(m->v2, n), bt_mp_vec_free(m->v3, n), bt_mp_vec_free(m->v4, n);
    mpfr_clears(m->s1, m->s2, m->s3, m->s4, m->lam, m->hn, m->L, (mpfr_ptr)0);
}

/* y = (H + lam I) x */
static inline void bt_mp_mv(bt_mp_t *m, mpfr_t *x, mpfr_t *y) {
    const int D = m->D;
    for (int i = 0; i < D; i++) {
        mpfr_mul(y[i], m->lam, x[i], MPFR_RNDN);
        for (int j = 0; j < D; j++) {
            mpfr_mul(m->s4, m->H[i * D + j], x[j], MPFR_RNDN);
            mpfr_add(y[i], y[i], m->s4, MPFR_RNDN);
        }
    }
}

static inline void bt_mp_dot(bt_mp_t *m, mpfr_t r, mpfr_t *a, mpfr_t *b) {
    mpfr_set_zero(r, 1);
    for (int i = 0; i < m->D; i++) {
        mpfr_mul(m->s4, a[i], b[i], MPFR_RNDN);
        mpfr_add(r, r, m->s4, MPFR_RNDN);
    }
}

/* x = (H + lam I)^{-1} q by Cholesky. */
static inline void bt_mp_exact(bt_mp_t *m, mpfr_t *q) {
    const int D = m->D;
    for (int i = 0; i < D * D; i++)
        mpfr_set(m->M[i], m->H[i], MPFR_RNDN);
    for (int i = 0; i < D; i++)
        mpfr_add(m->M[i * D + i], m->M[i * D + i], m->lam, MPFR_RNDN);
    for (int j = 0; j < D; j++) {
        for (int l = 0; l < j; l++) {
            mpfr_sqr(m->s1, m->M[j * D + l], MPFR_RNDN);
            mpfr_sub(m->M[j * D + j], m->M[j * D + j], m->s1, MPFR_RNDN);
        }
        mpfr_sqrt(m->M[j * D + j], m->M[j * D + j], MPFR_RNDN);
        for (int i = j + 1; i < D; i++) {
            for (int l = 0; l < j; l++) {
                mpfr_mul(m->s1, m->M[i * D + l], m->M[j * D + l], MPFR_RNDN);
                mpfr_sub(m->M[i * D + j], m->M[i * D + j], m->s1, MPFR_RNDN);
            }
            mpfr_div(m->M[i * D + j], m->M[i * D + j], m->M[j * D + j], MPFR_RNDN);
        }
    }
    for (int i = 0; i < D; i++) {
        mpfr_set(m->y[i], q[i], MPFR_RNDN);
        for (int l = 0; l < i; l++) {
            mpfr_mul(m->s1, m->M[i * D + l], m->y[l], MPFR_RNDN);
            mpfr_sub(m->y[i], m->y[i], m->s1, MPFR_RNDN);
        }
        mpfr_div(m->y[i], m->y[i], m->M[i * D + i], MPFR_RNDN);
    }
    for (int i = D - 1; i >= 0; i--) {
        mpfr_set(m->x[i], m->y[i], MPFR_RNDN);
        for (int l = i + 1; l < D; l++) {
            mpfr_mul(m->s1, m->M[l * D + i], m->x[l], MPFR_RNDN);
            mpfr_sub(m->x[i], m->x[i], m->s1, MPFR_RNDN);
        }
        mpfr_div(m->x[i], m->x[i], m->M[i * D + i], MPFR_RNDN);
    }
}

/* MATH.md section 2 Chebyshev, r steps from zero: mu = lam, L = hn + lam. */
static inline void bt_mp_cheb(bt_mp_t *m, mpfr_t *q, int r) {
    const int D = m->D;
    mpfr_t rho, s, om;
    mpfr_inits2(BT_PREC, rho, s, om, (mpfr_ptr)0);
    mpfr_mul_ui(m->s1, m->lam, 2, MPFR_RNDN);
    mpfr_add(m->s1, m->s1, m->hn, MPFR_RNDN); /* L + mu */
    mpfr_div(rho, m->hn, m->s1, MPFR_RNDN);
    mpfr_ui_div(s, 2, m->s1, MPFR_RNDN);
    mpfr_set_ui(om, 2, MPFR_RNDN);
    for (int i = 0; i < D; i++) { /* v1 = x_{i-2}, x = x_{i-1} */
        mpfr_set_zero(m->v1[i], 1);
        mpfr_mul(m->x[i], s, q[i], MPFR_RNDN);
    }
    for (int it = 1; it <= r; it++) {
        mpfr_sqr(m->s2, rho, MPFR_RNDN);
        mpfr_div_ui(m->s2, m->s2, 4, MPFR_RNDN);
        mpfr_mul(m->s2, m->s2, om, MPFR_RNDN);
        mpfr_ui_sub(m->s2, 1, m->s2, MPFR_RNDN);
        mpfr_ui_div(om, 1, m->s2, MPFR_RNDN);
        bt_mp_mv(m, m->x, m->v2);
        mpfr_mul(m->s2, s, om, MPFR_RNDN);
        mpfr_sub_ui(m->s3, om, 1, MPFR_RNDN);
        for (int i = 0; i < D; i++) {
            mpfr_sub(m->v2[i], m->v2[i], q[i], MPFR_RNDN);
            mpfr_mul(m->v2[i], m->v2[i], m->s2, MPFR_RNDN);
            mpfr_sub(m->v3[i], m->x[i], m->v1[i], MPFR_RNDN);
            mpfr_mul(m->v3[i], m->v3[i], m->s3, MPFR_RNDN);
            mpfr_set(m->v1[i], m->x[i], MPFR_RNDN);
            mpfr_sub(m->x[i], m->x[i], m->v2[i], MPFR_RNDN);
            mpfr_add(m->x[i], m->x[i], m->v3[i], MPFR_RNDN);
        }
    }
    mpfr_clears(rho, s, om, (mpfr_ptr)0);
}

/* CG, r steps from zero (v1 = r, v2 = p, v3 = Ap). */
static inline void bt_mp_cg(bt_mp_t *m, mpfr_t *q, int r) {
    const int D = m->D;
    for (int i = 0; i < D; i++) {
        mpfr_set_zero(m->x[i], 1);
        mpfr_set(m->v1[i], q[i], MPFR_RNDN);
        mpfr_set(m->v2[i], q[i], MPFR_RNDN);
    }
    bt_mp_dot(m, m->s1, m->v1, m->v1);
    for (int it = 1; it <= r; it++) {
        bt_mp_mv(m, m->v2, m->v3);
        bt_mp_dot(m, m->s2, m->v2, m->v3);
        mpfr_div(m->s2, m->s1, m->s2, MPFR_RNDN); /* alpha */
        for (int i = 0; i < D; i++) {
            mpfr_mul(m->s3, m->s2, m->v2[i], MPFR_RNDN);
            mpfr_add(m->x[i], m->x[i], m->s3, MPFR_RNDN);
            mpfr_mul(m->s3, m->s2, m->v3[i], MPFR_RNDN);
            mpfr_sub(m->v1[i], m->v1[i], m->s3, MPFR_RNDN);
        }
        bt_mp_dot(m, m->s3, m->v1, m->v1);
        mpfr_div(m->s2, m->s3, m->s1, MPFR_RNDN); /* beta */
        mpfr_set(m->s1, m->s3, MPFR_RNDN);
        for (int i = 0; i < D; i++) {
            mpfr_mul(m->v2[i], m->v2[i], m->s2, MPFR_RNDN);
            mpfr_add(m->v2[i], m->v2[i], m->v1[i], MPFR_RNDN);
        }
    }
}

/* L = sum_t <dx_t, x_t> into out. */
static inline void bt_mp_loss(bt_mp_t *m, const bt_prob_t *p, bt_solve_t kind, int r, mpfr_t out) {
    const int D = m->D;
    for (int i = 0; i < D * D; i++)
        mpfr_set_zero(m->H[i], 1);
    mpfr_set_zero(out, 1);
    for (long t = 0; t < m->T; t++) {
        mpfr_t *k = m->k + t * D;
        mpfr_sqr(m->s2, m->beta[t], MPFR_RNDN);
        for (int i = 0; i < D; i++)
            for (int j = 0; j < D; j++) {
                mpfr_mul(m->H[i * D + j], m->H[i * D + j], m->gam[t], MPFR_RNDN);
                mpfr_mul(m->s1, k[i], k[j], MPFR_RNDN);
                mpfr_mul(m->s1, m->s1, m->s2, MPFR_RNDN);
                mpfr_add(m->H[i * D + j], m->H[i * D + j], m->s1, MPFR_RNDN);
            }
        mpfr_set_zero(m->hn, 1);
        for (int i = 0; i < D * D; i++) {
            mpfr_sqr(m->s1, m->H[i], MPFR_RNDN);
            mpfr_add(m->hn, m->hn, m->s1, MPFR_RNDN);
        }
        mpfr_sqrt(m->hn, m->hn, MPFR_RNDN);
        if (p->ridge.kind == GKA_RIDGE_ADAPTIVE) {
            mpfr_set_d(m->lam, p->ridge.value, MPFR_RNDN);
            mpfr_mul(m->lam, m->lam, m->hn, MPFR_RNDN);
        } else {
            mpfr_set_d(m->lam, p->ridge.value, MPFR_RNDN);
        }
        mpfr_t *q = m->q + t * D;
        if (kind == BT_EXACT)
            bt_mp_exact(m, q);
        else if (kind == BT_CHEB)
            bt_mp_cheb(m, q, r);
        else
            bt_mp_cg(m, q, r);
        for (int i = 0; i < D; i++) {
            mpfr_mul_d(m->s1, m->x[i], p->dx[t * D + i], MPFR_RNDN);
            mpfr_add(out, out, m->s1, MPFR_RNDN);
        }
    }
}

/* Central difference of the loss in parameter v (by h = 2^-90 relative for
 * gates: gamma -> gamma exp(+-h), i.e. a step of the log-gate). */
static inline double bt_fd_one(bt_mp_t *m, const bt_prob_t *p, bt_solve_t kind, int r, mpfr_t v,
                               int log_scale) {
    mpfr_t save, h, lp, lm;
    mpfr_inits2(BT_PREC, save, h, lp, lm, (mpfr_ptr)0);
    mpfr_set(save, v, MPFR_RNDN);
    mpfr_set_ui_2exp(h, 1, -90, MPFR_RNDN);
    if (log_scale) {
        mpfr_exp(lp, h, MPFR_RNDN);
        mpfr_mul(v, save, lp, MPFR_RNDN);
    } else {
        mpfr_add(v, save, h, MPFR_RNDN);
    }
    bt_mp_loss(m, p, kind, r, lp);
    if (log_scale) {
        mpfr_neg(lm, h, MPFR_RNDN);
        mpfr_exp(lm, lm, MPFR_RNDN);
        mpfr_mul(v, save, lm, MPFR_RNDN);
    } else {
        mpfr_sub(v, save, h, MPFR_RNDN);
    }
    bt_mp_loss(m, p, kind, r, lm);
    mpfr_set(v, save, MPFR_RNDN);
    mpfr_sub(lp, lp, lm, MPFR_RNDN);
    mpfr_div(lp, lp, h, MPFR_RNDN);
    mpfr_div_ui(lp, lp, 2, MPFR_RNDN);
    double d = mpfr_get_d(lp, MPFR_RNDN);
    mpfr_clears(save, h, lp, lm, (mpfr_ptr)0);
    return d;
}

/* All gradients by finite differences (x: the unperturbed solution is not
 * filled). */
static inline void bt_fd(const bt_prob_t *p, bt_solve_t kind, int r, bt_grads_t *fd) {
    bt_mp_t m = bt_mp_new(p);
    const long TD = p->T * p->D;
    for (long i = 0; i < TD; i++) {
        fd->dq[i] = bt_fd_one(&m, p, kind, r, m.q[i], 0);
        fd->dk[i] = bt_fd_one(&m, p, kind, r, m.k[i], 0);
    }
    for (long t = 0; t < p->T; t++) {
        fd->dg[t] = bt_fd_one(&m, p, kind, r, m.gam[t], 1);
        fd->dbeta[t] = bt_fd_one(&m, p, kind, r, m.beta[t], 0);
    }
    bt_mp_free(&m);
}

/* Relative errors of the four gradient groups; asserts every value finite. */
static inline void bt_errors(const bt_prob_t *p, const bt_grads_t *a, const bt_grads_t *b,
                             double err[4]) {
    const size_t TD = (size_t)(p->T * p->D), T = (size_t)p->T;
    err[0] = gka_grad_rel_error(TD, a->dq, b->dq);
    err[1] = gka_grad_rel_error(TD, a->dk, b->dk);
    err[2] = gka_grad_rel_error(T, a->dg, b->dg);
    err[3] = gka_grad_rel_error(T, a->dbeta, b->dbeta);
    for (int i = 0; i < 4; i++)
        cr_assert(isfinite(err[i]), "group %d: non-finite error", i);
}

#endif
