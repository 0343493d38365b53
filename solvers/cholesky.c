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
    gka_arith_t *A = s->A;
    const size_t n = (size_t)s->D;
    if (w->M) A->free(A, w->M, n * n);
    if (w->Lt) A->free(A, w->Lt, n * n);
    if (w->y) A->free(A, w->y, n);
    if (w->q) A->free(A, w->q, n);
    gka_sc_free(A, w->lambda);
    gka_sc_free(A, w->t);
    gka_sc_free(A, w->piv);
    free(w);
    s->priv = NULL;
}

static gka_status_t chol_create(gka_solver_t *s) {
    gka_arith_t *A = s->A;
    const size_t n = (size_t)s->D;
    chol_work_t *w = calloc(1, sizeof *w);
    s->priv = w;
    if (!w) return gka_error(GKA_ENOMEM, "cholesky: out of memory");
    w->M = A->alloc(A, n * n);
    w->Lt = A->alloc(A, n * n);
    w->y = A->alloc(A, n);
    w->t = gka_scalar_new(A, 0.0);
    w->piv = gka_scalar_new(A, 0.0);
    w->q = A->alloc(A, n);
    w->lambda = gka_scalar_new(A, 0.0);
    if (!w->M || !w->Lt || !w->y || !w->t || !w->piv || !w->q || !w->lambda)
        return gka_error(GKA_ENOMEM, "cholesky: out of memory (D = %d)", s->D);
    return GKA_OK;
}

/* s_ij = M_ij - sum_{k<j} L_ik L_jk */
static void reduced_entry(gka_arith_t *A, void *M, size_t n, size_t i, size_t j, void *t) {
    if (j == 0) {
        A->copy(A, t, GKA_ENTRY(A, M, n, i, j), 1);
        return;
    }
    A->dot(A, t, j, GKA_ENTRY(A, M, n, i, 0), GKA_ENTRY(A, M, n, j, 0));
    A->sub(A, t, GKA_ENTRY(A, M, n, i, j), t);
}

/* M = L L^T in place (lower triangle); 0 on success, else the failing pivot + 1. */
static size_t factor(gka_arith_t *A, void *M, size_t n, void *t) {
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            reduced_entry(A, M, n, i, j, t);
            A->div(A, GKA_ENTRY(A, M, n, i, j), t, GKA_ENTRY(A, M, n, j, j));
        }
        reduced_entry(A, M, n, i, i, t);
        if (!(A->get_d(A, t) > 0.0)) return i + 1;
        A->sqrt(A, GKA_ENTRY(A, M, n, i, i), t);
    }
    return 0;
}

/* Solve L L^T x = q using L (lower of M) and its transpose Lt. */
static void substitute(gka_arith_t *A, const void *M, void *Lt, size_t n, const void *q, void *y,
                       void *x, void *t) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++)
            A->copy(A, GKA_ENTRY(A, Lt, n, j, i), GKA_CELEM(A, M, i * n + j), 1);
    for (size_t i = 0; i < n; i++) { /* L y = q */
        A->copy(A, t, GKA_CELEM(A, q, i), 1);
        if (i > 0) {
            A->dot(A, GKA_ELEM(A, y, i), i, GKA_CELEM(A, M, i * n), y);
            A->sub(A, t, t, GKA_ELEM(A, y, i));
        }
        A->div(A, GKA_ELEM(A, y, i), t, GKA_CELEM(A, M, i * n + i));
    }
    for (size_t ii = n; ii-- > 0;) { /* L^T x = y */
        A->copy(A, t, GKA_ELEM(A, y, ii), 1);
        if (ii + 1 < n) {
            A->dot(A, GKA_ELEM(A, x, ii), n - ii - 1, GKA_ENTRY(A, Lt, n, ii, ii + 1),
                   GKA_ELEM(A, x, ii + 1));
            A->sub(A, t, t, GKA_ELEM(A, x, ii));
        }
        A->div(A, GKA_ELEM(A, x, ii), t, GKA_ENTRY(A, Lt, n, ii, ii));
    }
}

/* H (the operator's matrix: the stream's H_t, or the chunk form's H_c
 * materialised), q and lambda, all rounded into the solver's arithmetic. */
static gka_status_t chol_solve(gka_solver_t *s, const gka_operator_t *op, void *x,
                               gka_solve_info_t *info) {
    gka_arith_t *A = s->A;
    chol_work_t *w = s->priv;
    const size_t n = (size_t)s->D;
    if (!op->matrix) return gka_error(GKA_EUNSUP, "cholesky: the operator has no matrix");
    gka_status_t status = op->matrix(op, A, w->M);
    if (status) return status;
    gka_operator_convert(op, A, op->q, w->q, n);
    gka_operator_convert(op, A, op->lambda, w->lambda, 1);
    for (size_t i = 0; i < n; i++)
        A->add(A, GKA_ENTRY(A, w->M, n, i, i), GKA_ENTRY(A, w->M, n, i, i), w->lambda);
    size_t bad = factor(A, w->M, n, w->t);
    if (bad) {
        const double p = A->get_d(A, w->t);
        for (size_t i = 0; i < n; i++)
            A->set_d(A, GKA_ELEM(A, x, i), 0.0);
        info->reason = isnan(p) ? GKA_REASON_NAN : GKA_REASON_LOST_PD;
        return GKA_OK;
    }
    substitute(A, w->M, w->Lt, n, w->q, w->y, x, w->t);
    info->reason = GKA_REASON_CONVERGED;
    if (s->hist && A == op->A) gka_solver_hist_push_op(s, op, x);
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
