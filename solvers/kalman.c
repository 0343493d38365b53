/* Kalman filter / recursive least squares (MATH.md section 2), in four forms
 * (the solver variant names them):
 *   info    P_t = (1/gamma) [P - (P k)(P k)^T / (gamma/beta^2 + k^T P k)],
 *           lower triangle updated and mirrored (P stays exactly symmetric)
 *   cov     G = S k / (k^T S k + r), S = (I - G k^T) S, S /= gamma
 *           (r = gamma/beta^2; the product form does not assume symmetry)
 *   joseph  S = (I - G k^T) S (I - G k^T)^T + r G G^T, symmetrised, S /= gamma
 *   sqrt    R upper with R^T R = P^{-1}: R = sqrt(gamma) R, then the rank-1
 *           Cholesky update by beta k (Givens rotations, LINPACK dchud);
 *           x from R^T R x = q.
 * P_0 = I / lambda_init (gka_solver.h explains the regulariser). LOST_PD
 * when the denominator or a diagonal entry of P (R) is <= 0; the update is
 * still applied, as a plain implementation would, so the metrics show what
 * follows. */
#include "solver_internal.h"

#include <stdlib.h>
#include <string.h>

typedef enum { KF_INFO, KF_COV, KF_JOSEPH, KF_SQRT } kf_form_t;

typedef struct {
    kf_form_t form; /* the --variant option selects it */
    void *P;        /* P (info/cov/joseph) or R (sqrt), D x D */
    void *u, *w, *G, *z, *tmp;
    void *den, *c, *c2, *r, *zero, *one, *mone, *half;
} kf_work_t;

enum { KF_NVEC = 5, KF_NSCAL = 8 };

static void kf_destroy(gka_solver_t *s) {
    kf_work_t *w = s->priv;
    if (!w) return;
    gka_arith_t *ar = s->A;
    const size_t n = (size_t)s->D;
    if (w->P) ar->free(ar, w->P, n * n);
    void *vecs[KF_NVEC] = {w->u, w->w, w->G, w->z, w->tmp};
    for (int i = 0; i < KF_NVEC; i++)
        if (vecs[i]) ar->free(ar, vecs[i], n);
    void *sc[KF_NSCAL] = {w->den, w->c, w->c2, w->r, w->zero, w->one, w->mone, w->half};
    for (int i = 0; i < KF_NSCAL; i++)
        gka_scalar_free(ar, sc[i]);
    free(w);
    s->priv = NULL;
}

static gka_status_t kf_create(gka_solver_t *s) {
    gka_arith_t *ar = s->A;
    const size_t n = (size_t)s->D;
    kf_work_t *w = calloc(1, sizeof *w);
    s->priv = w;
    if (!w) return gka_error(GKA_ENOMEM, "kalman: out of memory");
    static const char *names[] = {"info", "cov", "joseph", "sqrt"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s->opts.variant, names[i])) w->form = (kf_form_t)i;
    w->P = ar->alloc(ar, n * n);
    void **vecs[KF_NVEC] = {&w->u, &w->w, &w->G, &w->z, &w->tmp};
    int ok = w->P != NULL;
    for (int i = 0; i < KF_NVEC; i++)
        ok &= (*vecs[i] = ar->alloc(ar, n)) != NULL;
    void **sc[KF_NSCAL] = {&w->den, &w->c, &w->c2, &w->r, &w->zero, &w->one, &w->mone, &w->half};
    const double init[KF_NSCAL] = {0, 0, 0, 0, 0.0, 1.0, -1.0, 0.5};
    for (int i = 0; i < KF_NSCAL; i++)
        ok &= (*sc[i] = gka_scalar_new(ar, init[i])) != NULL;
    if (!ok) return gka_error(GKA_ENOMEM, "kalman: out of memory (D = %d)", s->D);
    return GKA_OK;
}

/* P_0 = I / lambda_init, or R_0 = sqrt(lambda_init) I. */
static void kf_init(gka_solver_t *s, kf_work_t *w, const gka_stream_t *st) {
    gka_arith_t *ar = s->A;
    const size_t n = (size_t)s->D;
    ar->set_d(ar, w->c, st->lambda_init);
    if (w->form == KF_SQRT)
        ar->sqrt(ar, w->c, w->c);
    else
        ar->div(ar, w->c, w->one, w->c);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            ar->copy(ar, GKA_ENTRY(ar, w->P, n, i, j), i == j ? w->c : w->zero, 1);
}

/* P = P / gamma (forgetting), skipped when gamma = 1 exactly. */
static void kf_forget(gka_arith_t *ar, kf_work_t *w, const gka_stream_t *st, size_t n) {
    if (ar->get_d(ar, st->gamma) == 1.0) return;
    ar->div(ar, w->c, w->one, st->gamma);
    ar->scal(ar, n * n, w->c, w->P);
}

/* u = P k, den = gamma/beta^2 + k^T u (r = gamma/beta^2 kept in w->r). */
static double kf_gain_denominator(gka_arith_t *ar, kf_work_t *w, const gka_stream_t *st, size_t n) {
    ar->gemv(ar, n, n, w->one, w->P, st->k, NULL, w->u);
    ar->dot(ar, w->den, n, st->k, w->u);
    ar->div(ar, w->r, st->gamma, st->beta2);
    ar->add(ar, w->den, w->r, w->den);
    return ar->get_d(ar, w->den);
}

/* w = P^T k = sum_i k_i P[i,:] */
static void kf_row_combination(gka_arith_t *ar, kf_work_t *w, const gka_stream_t *st, size_t n) {
    for (size_t j = 0; j < n; j++)
        ar->set_d(ar, GKA_ELEM(ar, w->w, j), 0.0);
    for (size_t i = 0; i < n; i++)
        ar->axpy(ar, n, GKA_CELEM(ar, st->k, i), GKA_ENTRY(ar, w->P, n, i, 0), w->w);
}

/* P_ji = P_ij for j > i: the upper triangle becomes the lower one's mirror. */
static void kf_mirror_lower(gka_arith_t *ar, kf_work_t *w, size_t n) {
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i; j++)
            ar->copy(ar, GKA_ENTRY(ar, w->P, n, j, i), GKA_ENTRY(ar, w->P, n, i, j), 1);
}

/* P -= u u^T / den, kept exactly symmetric. The table's syr rounds
 * P_ij + (c u_i) u_j, which differs from P_ji + (c u_j) u_i in the last bit;
 * nothing in this recursion damps that antisymmetric part E (the update
 * subtracts a symmetric matrix and P / gamma divides E by gamma too), so E
 * grows like 1 / prod(gamma): 0.03 relative error in fp64 after 2048 GKA-gated
 * tokens. Keeping the lower triangle and mirroring it makes E = 0 in every
 * arithmetic at the cost of no extra rounding; symmetrising by averaging would
 * add a rounding per entry each token. The covariance (product) form is left
 * as written: (I - G k^T) contracts its own asymmetry along with P, so it
 * stays at roundoff in fp64 and p_asym shows what it does in narrow formats. */
static void kf_update_info(gka_arith_t *ar, kf_work_t *w, size_t n) {
    ar->div(ar, w->c, w->mone, w->den);
    ar->syr(ar, n, w->c, w->u, w->P);
    kf_mirror_lower(ar, w, n);
}

static void kf_update_cov(gka_arith_t *ar, kf_work_t *w, const gka_stream_t *st, size_t n,
                          int joseph) {
    ar->div(ar, w->c, w->one, w->den);
    ar->copy(ar, w->G, w->u, n);
    ar->scal(ar, n, w->c, w->G); /* G = S k / den */
    kf_row_combination(ar, w, st, n);
    for (size_t i = 0; i < n; i++) { /* S -= G w^T (and - u G^T for Joseph) */
        ar->sub(ar, w->c, w->zero, GKA_ELEM(ar, w->G, i));
        ar->axpy(ar, n, w->c, w->w, GKA_ENTRY(ar, w->P, n, i, 0));
        if (!joseph) continue;
        ar->sub(ar, w->c, w->zero, GKA_ELEM(ar, w->u, i));
        ar->axpy(ar, n, w->c, w->G, GKA_ENTRY(ar, w->P, n, i, 0));
    }
    if (!joseph) return;
    ar->syr(ar, n, w->den, w->G, w->P); /* + (k^T S k + r) G G^T */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) {
            ar->add(ar, w->c, GKA_ENTRY(ar, w->P, n, i, j), GKA_ENTRY(ar, w->P, n, j, i));
            ar->mul(ar, w->c, w->c, w->half);
            ar->copy(ar, GKA_ENTRY(ar, w->P, n, i, j), w->c, 1);
            ar->copy(ar, GKA_ENTRY(ar, w->P, n, j, i), w->c, 1);
        }
}

/* R^T R + z z^T by Givens rotations; z = beta k. Returns 0 if a zero
 * diagonal made a rotation undefined. */
static int kf_update_sqrt(gka_arith_t *ar, kf_work_t *w, const gka_stream_t *st, size_t n) {
    if (ar->get_d(ar, st->gamma) != 1.0) {
        ar->sqrt(ar, w->c, st->gamma);
        ar->scal(ar, n * n, w->c, w->P);
    }
    ar->set_d(ar, w->r, sqrt(st->beta2_64));
    ar->copy(ar, w->z, st->k, n);
    ar->scal(ar, n, w->r, w->z);
    int ok = 1;
    for (size_t k = 0; k < n; k++) {
        void *rkk = GKA_ENTRY(ar, w->P, n, k, k), *zk = GKA_ELEM(ar, w->z, k);
        if (ar->get_d(ar, zk) == 0.0) continue;
        ar->mul(ar, w->c, rkk, rkk);
        ar->mul(ar, w->c2, zk, zk);
        ar->add(ar, w->c, w->c, w->c2);
        ar->sqrt(ar, w->den, w->c); /* new diagonal */
        if (!(ar->get_d(ar, w->den) > 0.0)) {
            ok = 0;
            continue;
        }
        ar->div(ar, w->c, rkk, w->den); /* cos */
        ar->div(ar, w->c2, zk, w->den); /* sin */
        ar->copy(ar, rkk, w->den, 1);
        const size_t m = n - k - 1;
        if (!m) continue;
        void *row = GKA_ENTRY(ar, w->P, n, k, k + 1), *zt = GKA_ELEM(ar, w->z, k + 1);
        ar->copy(ar, w->tmp, row, m);
        ar->scal(ar, m, w->c, row);
        ar->axpy(ar, m, w->c2, zt, row); /* R_kj = c R_kj + s z_j */
        ar->scal(ar, m, w->c, zt);
        ar->sub(ar, w->c2, w->zero, w->c2);
        ar->axpy(ar, m, w->c2, w->tmp, zt); /* z_j = c z_j - s R_kj(old) */
    }
    return ok;
}

/* x = (R^T R)^{-1} q: R^T y = q column-wise (rows of R), then R x = y. */
static void kf_sqrt_solve(gka_arith_t *ar, kf_work_t *w, const void *q, void *x, size_t n) {
    ar->copy(ar, w->u, q, n);
    for (size_t i = 0; i < n; i++) {
        ar->div(ar, GKA_ELEM(ar, w->u, i), GKA_ELEM(ar, w->u, i), GKA_ENTRY(ar, w->P, n, i, i));
        if (i + 1 == n) break;
        ar->sub(ar, w->c, w->zero, GKA_ELEM(ar, w->u, i));
        ar->axpy(ar, n - i - 1, w->c, GKA_ENTRY(ar, w->P, n, i, i + 1), GKA_ELEM(ar, w->u, i + 1));
    }
    for (size_t ii = n; ii-- > 0;) {
        ar->copy(ar, w->c2, GKA_ELEM(ar, w->u, ii), 1);
        if (ii + 1 < n) {
            ar->dot(ar, w->c, n - ii - 1, GKA_ENTRY(ar, w->P, n, ii, ii + 1),
                    GKA_ELEM(ar, x, ii + 1));
            ar->sub(ar, w->c2, w->c2, w->c);
        }
        ar->div(ar, GKA_ELEM(ar, x, ii), w->c2, GKA_ENTRY(ar, w->P, n, ii, ii));
    }
}

static int kf_diagonal_positive(gka_arith_t *ar, kf_work_t *w, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!(ar->get_d(ar, GKA_ENTRY(ar, w->P, n, i, i)) > 0.0)) return 0;
    return 1;
}

static gka_status_t kf_solve(gka_solver_t *s, const gka_stream_t *st, void *x,
                             gka_solve_info_t *info) {
    gka_arith_t *ar = s->A;
    kf_work_t *w = s->priv;
    const size_t n = (size_t)s->D;
    if (s->tokens == 0) kf_init(s, w, st);
    int pd = 1;
    if (w->form == KF_SQRT) {
        pd = kf_update_sqrt(ar, w, st, n);
    } else {
        const double den = kf_gain_denominator(ar, w, st, n);
        pd = den > 0.0;
        if (w->form == KF_INFO)
            kf_update_info(ar, w, n);
        else
            kf_update_cov(ar, w, st, n, w->form == KF_JOSEPH);
        kf_forget(ar, w, st, n);
    }
    pd = pd && kf_diagonal_positive(ar, w, n);
    if (w->form == KF_SQRT)
        kf_sqrt_solve(ar, w, st->q, x, n);
    else
        ar->gemv(ar, n, n, w->one, w->P, st->q, NULL, x);
    info->reason = pd ? GKA_REASON_CONVERGED : GKA_REASON_LOST_PD;
    gka_solver_hist_push(s, st, x);
    return GKA_OK;
}

static gka_status_t kf_matrix(gka_solver_t *s, double *out) {
    kf_work_t *w = s->priv;
    if (w->form == KF_SQRT) return gka_error(GKA_EUNSUP, "kalman sqrt keeps the factor R, not P");
    s->A->to_double(s->A, out, w->P, (size_t)s->D * (size_t)s->D);
    return GKA_OK;
}

const gka_solver_ops_t gka_solver_kalman_ops = {
    .name = "kalman",
    .summary = "recursive least squares (Sherman-Morrison), P_0 = I/lambda_init",
    .variants = "info,cov,joseph,sqrt",
    .iterative = 0,
    .create = kf_create,
    .destroy = kf_destroy,
    .solve = kf_solve,
    .matrix = kf_matrix,
};
