/* Conjugate gradient (Hestenes-Stiefel), r iterations from zero or the
 * previous token's solution, every operation in the studied arithmetic. The
 * residual is the recursively updated one; its norm is read in double (a
 * monitor, outside the arithmetic) for the tolerance and divergence tests. */
#include "solver_internal.h"

#include <stdlib.h>

typedef struct {
    void *r, *p, *Ap;
    void *rr, *rr_new, *pAp, *alpha, *nalpha, *beta, *zero, *one, *mone;
    double *buf;
} cg_work_t;

static void cg_destroy(gka_solver_t *s) {
    cg_work_t *w = s->priv;
    if (!w) return;
    gka_arith_t *A = s->A;
    void *vecs[] = {w->r, w->p, w->Ap};
    for (int i = 0; i < 3; i++)
        if (vecs[i]) A->free(A, vecs[i], (size_t)s->D);
    void *sc[] = {w->rr, w->rr_new, w->pAp, w->alpha, w->nalpha, w->beta, w->zero, w->one, w->mone};
    for (int i = 0; i < 9; i++)
        gka_sc_free(A, sc[i]);
    free(w->buf);
    free(w);
    s->priv = NULL;
}

static gka_status_t cg_create(gka_solver_t *s) {
    gka_arith_t *A = s->A;
    const size_t n = (size_t)s->D;
    cg_work_t *w = calloc(1, sizeof *w);
    s->priv = w;
    if (!w) return gka_error(GKA_ENOMEM, "cg: out of memory");
    w->r = A->alloc(A, n);
    w->p = A->alloc(A, n);
    w->Ap = A->alloc(A, n);
    w->rr = gka_sc_new(A, 0.0);
    w->rr_new = gka_sc_new(A, 0.0);
    w->pAp = gka_sc_new(A, 0.0);
    w->alpha = gka_sc_new(A, 0.0);
    w->nalpha = gka_sc_new(A, 0.0);
    w->beta = gka_sc_new(A, 0.0);
    w->zero = gka_sc_new(A, 0.0);
    w->one = gka_sc_new(A, 1.0);
    w->mone = gka_sc_new(A, -1.0);
    w->buf = malloc(n * sizeof(double));
    if (!w->r || !w->p || !w->Ap || !w->rr || !w->rr_new || !w->pAp || !w->alpha || !w->nalpha ||
        !w->beta || !w->zero || !w->one || !w->mone || !w->buf)
        return gka_error(GKA_ENOMEM, "cg: out of memory (D = %d)", s->D);
    return GKA_OK;
}

static double norm64(gka_arith_t *A, const void *v, double *buf, size_t n) {
    A->to_double(A, buf, v, n);
    double t = 0.0;
    for (size_t i = 0; i < n; i++)
        t += buf[i] * buf[i];
    return sqrt(t);
}

static gka_status_t cg_solve(gka_solver_t *s, const gka_stream_t *st, void *x,
                             gka_solve_info_t *info) {
    gka_arith_t *A = s->A;
    cg_work_t *w = s->priv;
    const size_t n = (size_t)s->D;
    if (s->opts.warm && s->tokens > 0) {
        A->copy(A, x, s->x_prev, n);
        gka_stream_matvec(st, x, w->r); /* r = q - A x */
        A->scal(A, n, w->mone, w->r);
        A->axpy(A, n, w->one, st->q, w->r);
    } else {
        for (size_t i = 0; i < n; i++)
            A->set_d(A, GKA_ELEM(A, x, i), 0.0);
        A->copy(A, w->r, st->q, n);
    }
    A->copy(A, w->p, w->r, n);
    A->dot(A, w->rr, n, w->r, w->r);
    gka_solver_hist_push(s, st, x);
    const double qn = norm64(A, st->q, w->buf, n);
    const double qscale = qn > 0.0 ? qn : 1.0;
    info->reason = GKA_REASON_ITERATION_LIMIT;
    for (int i = 1; i <= s->opts.iters; i++) {
        const double rn = norm64(A, w->r, w->buf, n);
        if (isnan(rn)) {
            info->reason = GKA_REASON_NAN;
            break;
        }
        if (rn == 0.0 || (s->opts.tol > 0.0 && rn <= s->opts.tol * qscale)) {
            info->reason = GKA_REASON_CONVERGED;
            break;
        }
        if (rn > GKA_SOLVER_DTOL * qscale) {
            info->reason = GKA_REASON_DIVERGED;
            break;
        }
        gka_stream_matvec(st, w->p, w->Ap);
        A->dot(A, w->pAp, n, w->p, w->Ap);
        const double pAp = A->get_d(A, w->pAp);
        if (!(pAp > 0.0)) { /* no positive curvature: the step is undefined */
            /* past convergence p can underflow to pAp = 0: that is convergence */
            const int at_roundoff = pAp == 0.0 && rn <= A->round.format.u * qscale;
            info->reason = at_roundoff  ? GKA_REASON_CONVERGED
                           : isnan(pAp) ? GKA_REASON_NAN
                           : pAp == 0.0 ? GKA_REASON_BREAKDOWN
                                        : GKA_REASON_LOST_PD;
            break;
        }
        A->div(A, w->alpha, w->rr, w->pAp);
        A->axpy(A, n, w->alpha, w->p, x);
        A->sub(A, w->nalpha, w->zero, w->alpha);
        A->axpy(A, n, w->nalpha, w->Ap, w->r);
        A->dot(A, w->rr_new, n, w->r, w->r);
        A->div(A, w->beta, w->rr_new, w->rr);
        A->copy(A, w->rr, w->rr_new, 1);
        A->scal(A, n, w->beta, w->p);
        A->axpy(A, n, w->one, w->r, w->p); /* p = r + beta p */
        info->iters = i;
        gka_solver_hist_push(s, st, x);
    }
    return GKA_OK;
}

const gka_solver_ops_t gka_solver_cg_ops = {
    .name = "cg",
    .summary = "conjugate gradient, r iterations",
    .variants = "",
    .iterative = 1,
    .create = cg_create,
    .destroy = cg_destroy,
    .solve = cg_solve,
};
