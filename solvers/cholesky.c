/* Direct solve by Cholesky factorisation of H_t + lambda_t I in the studied
 * arithmetic (row-oriented, dot-product form: every inner product runs under
 * the table's accumulation model), then forward and back substitution. A
 * pivot <= 0 (or NaN) stops the factorisation with reason LOST_PD and x = 0. */
#include "solver_internal.h"

#include <stdlib.h>

typedef struct {
    void *M;  /* D x D: A, overwritten by L in its lower triangle */
    void *Lt; /* D x D: L^T, so back substitution reads rows */
    void *y, *t, *piv;
    void *q, *lambda; /* the operator's q and lambda in the solver's arithmetic */
} chol_work_t;

static void chol_destroy(gka_solver_t *s) {
    chol_work_t *w = s->priv;
    if (!w) return;
    gka_arith_t *ar = s->A;
    const size_t n = (size_t)s->D;
    if (w->M) ar->free(ar, w->M, n * n);
    if (w->Lt) ar->free(ar, w->Lt, n * n);
    if (w->y) ar->free(ar, w->y, n);
    if (w->q) ar->free(ar, w->q, n);
    gka_scalar_free(ar, w->lambda);
    gka_scalar_free(ar, w->t);
    gka_scalar_free(ar, w->piv);
    free(w);
    s->priv = NULL;
}

static gka_status_t chol_create(gka_solver_t *s) {
    gka_arith_t *ar = s->A;
    const size_t n = (size_t)s->D;
    chol_work_t *w = calloc(1, sizeof *w);
    s->priv = w;
    if (!w) return gka_error(GKA_ENOMEM, "cholesky: out of memory");
    w->M = ar->alloc(ar, n * n);
    w->Lt = ar->alloc(ar, n * n);
    w->y = ar->alloc(ar, n);
    w->t = gka_scalar_new(ar, 0.0);
    w->piv = gka_scalar_new(ar, 0.0);
    w->q = ar->alloc(ar, n);
    w->lambda = gka_scalar_new(ar, 0.0);
    if (!w->M || !w->Lt || !w->y || !w->t || !w->piv || !w->q || !w->lambda)
        return gka_error(GKA_ENOMEM, "cholesky: out of memory (D = %d)", s->D);
    return GKA_OK;
}

/* s_ij = M_ij - sum_{k<j} L_ik L_jk */
static void reduced_entry(gka_arith_t *ar, void *M, size_t n, size_t i, size_t j, void *t) {
    if (j == 0) {
        ar->copy(ar, t, GKA_ENTRY(ar, M, n, i, j), 1);
        return;
    }
    ar->dot(ar, t, j, GKA_ENTRY(ar, M, n, i, 0), GKA_ENTRY(ar, M, n, j, 0));
    ar->sub(ar, t, GKA_ENTRY(ar, M, n, i, j), t);
}

/* M = L L^T in place (lower triangle); 0 on success, else the failing pivot + 1. */
static size_t factor(gka_arith_t *ar, void *M, size_t n, void *t) {
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            reduced_entry(ar, M, n, i, j, t);
            ar->div(ar, GKA_ENTRY(ar, M, n, i, j), t, GKA_ENTRY(ar, M, n, j, j));
        }
        reduced_entry(ar, M, n, i, i, t);
        if (!(ar->get_d(ar, t) > 0.0)) return i + 1;
        ar->sqrt(ar, GKA_ENTRY(ar, M, n, i, i), t);
    }
    return 0;
}

/* Solve L L^T x = q using L (lower of M) and its transpose Lt. */
static void substitute(gka_arith_t *ar, const void *M, void *Lt, size_t n, const void *q, void *y,
                       void *x, void *t) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++)
            ar->copy(ar, GKA_ENTRY(ar, Lt, n, j, i), GKA_CELEM(ar, M, i * n + j), 1);
    for (size_t i = 0; i < n; i++) { /* L y = q */
        ar->copy(ar, t, GKA_CELEM(ar, q, i), 1);
        if (i > 0) {
            ar->dot(ar, GKA_ELEM(ar, y, i), i, GKA_CELEM(ar, M, i * n), y);
            ar->sub(ar, t, t, GKA_ELEM(ar, y, i));
        }
        ar->div(ar, GKA_ELEM(ar, y, i), t, GKA_CELEM(ar, M, i * n + i));
    }
    for (size_t ii = n; ii-- > 0;) { /* L^T x = y */
        ar->copy(ar, t, GKA_ELEM(ar, y, ii), 1);
        if (ii + 1 < n) {
            ar->dot(ar, GKA_ELEM(ar, x, ii), n - ii - 1, GKA_ENTRY(ar, Lt, n, ii, ii + 1),
                    GKA_ELEM(ar, x, ii + 1));
            ar->sub(ar, t, t, GKA_ELEM(ar, x, ii));
        }
        ar->div(ar, GKA_ELEM(ar, x, ii), t, GKA_ENTRY(ar, Lt, n, ii, ii));
    }
}

/* H (the operator's matrix: the stream's H_t, or the chunk form's H_c
 * materialised), q and lambda, all rounded into the solver's arithmetic. */
static gka_status_t chol_solve(gka_solver_t *s, const gka_operator_t *op, void *x,
                               gka_solve_info_t *info) {
    gka_arith_t *ar = s->A;
    chol_work_t *w = s->priv;
    const size_t n = (size_t)s->D;
    if (!op->matrix) return gka_error(GKA_EUNSUP, "cholesky: the operator has no matrix");
    gka_status_t status = op->matrix(op, ar, w->M);
    if (status) return status;
    gka_operator_convert(op, ar, op->q, w->q, n);
    gka_operator_convert(op, ar, op->lambda, w->lambda, 1);
    for (size_t i = 0; i < n; i++)
        ar->add(ar, GKA_ENTRY(ar, w->M, n, i, i), GKA_ENTRY(ar, w->M, n, i, i), w->lambda);
    size_t bad = factor(ar, w->M, n, w->t);
    if (bad) {
        const double p = ar->get_d(ar, w->t);
        for (size_t i = 0; i < n; i++)
            ar->set_d(ar, GKA_ELEM(ar, x, i), 0.0);
        info->reason = isnan(p) ? GKA_REASON_NAN : GKA_REASON_LOST_PD;
        return GKA_OK;
    }
    substitute(ar, w->M, w->Lt, n, w->q, w->y, x, w->t);
    info->reason = GKA_REASON_CONVERGED;
    if (s->hist && ar == op->A) gka_solver_hist_push_op(s, op, x);
    return GKA_OK;
}

const gka_solver_ops_t gka_solver_cholesky_ops = {
    .name = "cholesky",
    .summary = "direct: Cholesky of H + lambda I in the studied arithmetic",
    .variants = "",
    .iterative = 0,
    .create = chol_create,
    .destroy = chol_destroy,
    .solve_op = chol_solve,
};
