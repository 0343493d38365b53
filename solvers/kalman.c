/* Kalman filter / recursive least squares (MATH.md section 2), in four variants:
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

typedef enum { KF_INFO, KF_COV, KF_JOSEPH, KF_SQRT } kf_variant_t;

typedef struct {
    kf_variant_t variant;
    void *P; /* P (info/cov/joseph) or R (sqrt), D x D */
    void *u, *w, *G, *z, *tmp;
    void *den, *c, *c2, *r, *zero, *one, *mone, *half;
} kf_work_t;

enum { KF_NVEC = 5, KF_NSCAL = 8 };

static void kf_destroy(gka_solver_t *s) {
    kf_work_t *w = s->priv;
    if (!w) return;
    gka_arith_t *A = s->A;
    const size_t n = (size_t)s->D;
    if (w->P) A->free(A, w->P, n * n);
    void *vecs[KF_NVEC] = {w->u, w->w, w->G, w->z, w->tmp};
    for (int i = 0; i < KF_NVEC; i++)
        if (vecs[i]) A->free(A, vecs[i], n);
    void *sc[KF_NSCAL] = {w->den, w->c, w->c2, w->r, w->zero, w->one, w->mone, w->half};
    for (int i = 0; i < KF_NSCAL; i++)
        gka_sc_free(A, sc[i]);
    free(w);
    s->priv = NULL;
}

static gka_status_t kf_create(gka_solver_t *s) {
    gka_arith_t *A = s->A;
    const size_t n = (size_t)s->D;
    kf_work_t *w = calloc(1, sizeof *w);
    s->priv = w;
    if (!w) return gka_error(GKA_ENOMEM, "kalman: out of memory");
    static const char *names[] = {"info", "cov", "joseph", "sqrt"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s->opts.variant, names[i])) w->variant = (kf_variant_t)i;
    w->P = A->alloc(A, n * n);
    void **vecs[KF_NVEC] = {&w->u, &w->w, &w->G, &w->z, &w->tmp};
    int ok = w->P != NULL;
    for (int i = 0; i < KF_NVEC; i++)
        ok &= (*vecs[i] = A->alloc(A, n)) != NULL;
    void **sc[KF_NSCAL] = {&w->den, &w->c, &w->c2, &w->r, &w->zero, &w->one, &w->mone, &w->half};
    const double init[KF_NSCAL] = {0, 0, 0, 0, 0.0, 1.0, -1.0, 0.5};
    for (int i = 0; i < KF_NSCAL; i++)
        ok &= (*sc[i] = gka_scalar_new(A, init[i])) != NULL;
    if (!ok) return gka_error(GKA_ENOMEM, "kalman: out of memory (D = %d)", s->D);
    return GKA_OK;
}

/* P_0 = I / lambda_init, or R_0 = sqrt(lambda_init) I. */
static void kf_init(gka_solver_t *s, kf_work_t *w, const gka_stream_t *st) {
    gka_arith_t *A = s->A;
    const size_t n = (size_t)s->D;
    A->set_d(A, w->c, st->lambda_init);
    if (w->variant == KF_SQRT)
        A->sqrt(A, w->c, w->c);
    else
        A->div(A, w->c, w->one, w->c);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            A->copy(A, GKA_ENTRY(A, w->P, n, i, j), i == j ? w->c : w->zero, 1);
}

/* P = P / gamma (forgetting), skipped when gamma = 1 exactly. */
static void kf_forget(gka_arith_t *A, kf_work_t *w, const gka_stream_t *st, size_t n) {
    if (A->get_d(A, st->gamma) == 1.0) return;
    A->div(A, w->c, w->one, st->gamma);
    A->scal(A, n * n, w->c, w->P);
}

/* u = P k, den = gamma/beta^2 + k^T u (r = gamma/beta^2 kept in w->r). */
static double kf_gain_denominator(gka_arith_t *A, kf_work_t *w, const gka_stream_t *st, size_t n) {
    A->gemv(A, n, n, w->one, w->P, st->k, NULL, w->u);
    A->dot(A, w->den, n, st->k, w->u);
    A->div(A, w->r, st->gamma, st->beta2);
    A->add(A, w->den, w->r, w->den);
    return A->get_d(A, w->den);
}

/* w = P^T k = sum_i k_i P[i,:] */
static void kf_row_combination(gka_arith_t *A, kf_work_t *w, const gka_stream_t *st, size_t n) {
    for (size_t j = 0; j < n; j++)
        A->set_d(A, GKA_ELEM(A, w->w, j), 0.0);
    for (size_t i = 0; i < n; i++)
        A->axpy(A, n, GKA_CELEM(A, st->k, i), GKA_ENTRY(A, w->P, n, i, 0), w->w);
}

/* P_ji = P_ij for j > i: the upper triangle becomes the lower one's mirror. */
static void kf_mirror_lower(gka_arith_t *A, kf_work_t *w, size_t n) {
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i; j++)
            A->copy(A, GKA_ENTRY(A, w->P, n, j, i), GKA_ENTRY(A, w->P, n, i, j), 1);
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
static void kf_update_info(gka_arith_t *A, kf_work_t *w, size_t n) {
    A->div(A, w->c, w->mone, w->den);
    A->syr(A, n, w->c, w->u, w->P);
    kf_mirror_lower(A, w, n);
}

static void kf_update_cov(gka_arith_t *A, kf_work_t *w, const gka_stream_t *st, size_t n,
                          int joseph) {
    A->div(A, w->c, w->one, w->den);
    A->copy(A, w->G, w->u, n);
    A->scal(A, n, w->c, w->G); /* G = S k / den */
    kf_row_combination(A, w, st, n);
    for (size_t i = 0; i < n; i++) { /* S -= G w^T (and - u G^T for Joseph) */
        A->sub(A, w->c, w->zero, GKA_ELEM(A, w->G, i));
        A->axpy(A, n, w->c, w->w, GKA_ENTRY(A, w->P, n, i, 0));
        if (!joseph) continue;
        A->sub(A, w->c, w->zero, GKA_ELEM(A, w->u, i));
        A->axpy(A, n, w->c, w->G, GKA_ENTRY(A, w->P, n, i, 0));
    }
    if (!joseph) return;
    A->syr(A, n, w->den, w->G, w->P); /* + (k^T S k + r) G G^T */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) {
            A->add(A, w->c, GKA_ENTRY(A, w->P, n, i, j), GKA_ENTRY(A, w->P, n, j, i));
            A->mul(A, w->c, w->c, w->half);
            A->copy(A, GKA_ENTRY(A, w->P, n, i, j), w->c, 1);
            A->copy(A, GKA_ENTRY(A, w->P, n, j, i), w->c, 1);
        }
}

/* R^T R + z z^T by Givens rotations; z = beta k. Returns 0 if a zero
 * diagonal made a rotation undefined. */
static int kf_update_sqrt(gka_arith_t *A, kf_work_t *w, const gka_stream_t *st, size_t n) {
    if (A->get_d(A, st->gamma) != 1.0) {
        A->sqrt(A, w->c, st->gamma);
        A->scal(A, n * n, w->c, w->P);
    }
    A->set_d(A, w->r, sqrt(st->beta2_64));
    A->copy(A, w->z, st->k, n);
    A->scal(A, n, w->r, w->z);
    int ok = 1;
    for (size_t k = 0; k < n; k++) {
        void *rkk = GKA_ENTRY(A, w->P, n, k, k), *zk = GKA_ELEM(A, w->z, k);
        if (A->get_d(A, zk) == 0.0) continue;
        A->mul(A, w->c, rkk, rkk);
        A->mul(A, w->c2, zk, zk);
        A->add(A, w->c, w->c, w->c2);
        A->sqrt(A, w->den, w->c); /* new diagonal */
        if (!(A->get_d(A, w->den) > 0.0)) {
            ok = 0;
            continue;
        }
        A->div(A, w->c, rkk, w->den); /* cos */
        A->div(A, w->c2, zk, w->den); /* sin */
        A->copy(A, rkk, w->den, 1);
        const size_t m = n - k - 1;
        if (!m) continue;
        void *row = GKA_ENTRY(A, w->P, n, k, k + 1), *zt = GKA_ELEM(A, w->z, k + 1);
        A->copy(A, w->tmp, row, m);
        A->scal(A, m, w->c, row);
        A->axpy(A, m, w->c2, zt, row); /* R_kj = c R_kj + s z_j */
        A->scal(A, m, w->c, zt);
        A->sub(A, w->c2, w->zero, w->c2);
        A->axpy(A, m, w->c2, w->tmp, zt); /* z_j = c z_j - s R_kj(old) */
    }
    return ok;
}

/* x = (R^T R)^{-1} q: R^T y = q column-wise (rows of R), then R x = y. */
static void kf_sqrt_solve(gka_arith_t *A, kf_work_t *w, const void *q, void *x, size_t n) {
    A->copy(A, w->u, q, n);
    for (size_t i = 0; i < n; i++) {
        A->div(A, GKA_ELEM(A, w->u, i), GKA_ELEM(A, w->u, i), GKA_ENTRY(A, w->P, n, i, i));
        if (i + 1 == n) break;
        A->sub(A, w->c, w->zero, GKA_ELEM(A, w->u, i));
        A->axpy(A, n - i - 1, w->c, GKA_ENTRY(A, w->P, n, i, i + 1), GKA_ELEM(A, w->u, i + 1));
    }
    for (size_t ii = n; ii-- > 0;) {
        A->copy(A, w->c2, GKA_ELEM(A, w->u, ii), 1);
        if (ii + 1 < n) {
            A->dot(A, w->c, n - ii - 1, GKA_ENTRY(A, w->P, n, ii, ii + 1), GKA_ELEM(A, x, ii + 1));
            A->sub(A, w->c2, w->c2, w->c);
        }
        A->div(A, GKA_ELEM(A, x, ii), w->c2, GKA_ENTRY(A, w->P, n, ii, ii));
    }
}

static int kf_diagonal_positive(gka_arith_t *A, kf_work_t *w, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!(A->get_d(A, GKA_ENTRY(A, w->P, n, i, i)) > 0.0)) return 0;
    return 1;
}

static gka_status_t kf_solve(gka_solver_t *s, const gka_stream_t *st, void *x,
                             gka_solve_info_t *info) {
    gka_arith_t *A = s->A;
    kf_work_t *w = s->priv;
    const size_t n = (size_t)s->D;
    if (s->tokens == 0) kf_init(s, w, st);
    int pd = 1;
    if (w->variant == KF_SQRT) {
        pd = kf_update_sqrt(A, w, st, n);
    } else {
        const double den = kf_gain_denominator(A, w, st, n);
        pd = den > 0.0;
        if (w->variant == KF_INFO)
            kf_update_info(A, w, n);
        else
            kf_update_cov(A, w, st, n, w->variant == KF_JOSEPH);
        kf_forget(A, w, st, n);
    }
    pd = pd && kf_diagonal_positive(A, w, n);
    if (w->variant == KF_SQRT)
        kf_sqrt_solve(A, w, st->q, x, n);
    else
        A->gemv(A, n, n, w->one, w->P, st->q, NULL, x);
    info->reason = pd ? GKA_REASON_CONVERGED : GKA_REASON_LOST_PD;
    gka_solver_hist_push(s, st, x);
    return GKA_OK;
}

static gka_status_t kf_matrix(gka_solver_t *s, double *out) {
    kf_work_t *w = s->priv;
    if (w->variant == KF_SQRT)
        return gka_error(GKA_EUNSUP, "kalman sqrt keeps the factor R, not P");
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
