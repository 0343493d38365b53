/* Conjugate gradient (Hestenes-Stiefel), r iterations from zero or the
 * previous token's solution, every operation in the studied arithmetic,
 * written once (gka_cg_solve) and used by the solver object, the adjoint
 * (grad_iter.c) and the reversibility figure through a step hook. The
 * residual is the recursively updated one; its norm is read in double (a
 * monitor, outside the arithmetic) for the one stopping test of
 * gka_iteration.h. Variants: guarded (the stopping test's NaN and divergence
 * checks, the curvature guard and the underflowed-r.r guard) and plain (textbook CG: only the
 * convergence test; a breakdown gives NaN, which propagates). */
#include "solver_internal.h"

#include <stdlib.h>

/* Vectors and scalars of one solve. */
enum {
    CG_RR,
    CG_PAP,
    CG_ALPHA,
    CG_BETA,
    CG_T,
    CG_ZERO,
    CG_ONE,
    CG_MINUS_ONE,
    CG_RR_PREV,
    CG_NSCALARS
};

typedef struct {
    void *r, *p, *Ap, *sc;
} cg_vecs_t;

static void cg_vecs_free(gka_arith_t *ar, cg_vecs_t *v, size_t n) {
    if (v->r) ar->free(ar, v->r, n);
    if (v->p) ar->free(ar, v->p, n);
    if (v->Ap) ar->free(ar, v->Ap, n);
    if (v->sc) ar->free(ar, v->sc, CG_NSCALARS);
}

gka_status_t gka_cg_solve(gka_arith_t *ar, int D, gka_matvec_fn matvec, void *ctx, const void *q,
                          int r, double tol, int guarded, const void *x_init, void *x,
                          gka_cg_hook_fn hook, void *hook_ctx, int *iters, gka_reason_t *reason) {
    if (!ar || !matvec || !q || !x || !iters || !reason || D < 1 || r < 0)
        return gka_error(GKA_EINVAL, "gka_cg_solve: bad argument (D = %d, r = %d)", D, r);
    const size_t n = (size_t)D;
    cg_vecs_t v = {ar->alloc(ar, n), ar->alloc(ar, n), ar->alloc(ar, n),
                   ar->alloc(ar, CG_NSCALARS)};
    if (!v.r || !v.p || !v.Ap || !v.sc) {
        cg_vecs_free(ar, &v, n);
        return gka_error(GKA_ENOMEM, "cg: out of memory (D = %d)", D);
    }
    ar->set_d(ar, GKA_ELEM(ar, v.sc, CG_ZERO), 0.0);
    ar->set_d(ar, GKA_ELEM(ar, v.sc, CG_ONE), 1.0);
    ar->set_d(ar, GKA_ELEM(ar, v.sc, CG_MINUS_ONE), -1.0);
    if (x_init) {
        ar->copy(ar, x, x_init, n);
        matvec(ctx, x, v.r); /* r = q - A x */
        ar->scal(ar, n, GKA_ELEM(ar, v.sc, CG_MINUS_ONE), v.r);
        ar->axpy(ar, n, GKA_ELEM(ar, v.sc, CG_ONE), q, v.r);
    } else {
        for (size_t i = 0; i < n; i++)
            ar->set_d(ar, GKA_ELEM(ar, x, i), 0.0);
        ar->copy(ar, v.r, q, n);
    }
    ar->copy(ar, v.p, v.r, n);
    ar->dot(ar, GKA_ELEM(ar, v.sc, CG_RR), n, v.r, v.r);
    gka_cg_step_info_t info = {0,    x,    v.r,  v.p,  GKA_ELEM(ar, v.sc, CG_RR),
                               NULL, NULL, NULL, NULL, NULL};
    if (hook) hook(hook_ctx, &info);
    const double qn = gka_iter_norm64(ar, q, n), qscale = qn > 0.0 ? qn : 1.0;
    const double u = gka_arith_unit_roundoff(ar);
    *iters = 0;
    *reason = GKA_REASON_ITERATION_LIMIT;
    for (int i = 1; i <= r; i++) {
        const double rn = gka_iter_norm64(ar, v.r, n);
        gka_reason_t stop = gka_iter_monitor(rn, qscale, tol, guarded);
        if (stop == GKA_REASON_NONE && guarded)
            stop = gka_cg_residual_guard(ar->get_d(ar, GKA_ELEM(ar, v.sc, CG_RR)));
        if (stop == GKA_REASON_NONE) {
            matvec(ctx, v.p, v.Ap);
            ar->dot(ar, GKA_ELEM(ar, v.sc, CG_PAP), n, v.p, v.Ap);
            if (guarded)
                stop = gka_cg_curvature(ar->get_d(ar, GKA_ELEM(ar, v.sc, CG_PAP)), rn, qscale, u);
        }
        if (stop != GKA_REASON_NONE) {
            *reason = stop;
            break;
        }
        ar->copy(ar, GKA_ELEM(ar, v.sc, CG_RR_PREV), GKA_ELEM(ar, v.sc, CG_RR), 1);
        gka_cg_step(ar, n, x, v.r, v.p, v.Ap, GKA_ELEM(ar, v.sc, CG_PAP), GKA_ELEM(ar, v.sc, CG_RR),
                    GKA_ELEM(ar, v.sc, CG_ALPHA), GKA_ELEM(ar, v.sc, CG_BETA),
                    GKA_ELEM(ar, v.sc, CG_T), GKA_ELEM(ar, v.sc, CG_ZERO),
                    GKA_ELEM(ar, v.sc, CG_ONE));
        *iters = i;
        info = (gka_cg_step_info_t){i,
                                    x,
                                    v.r,
                                    v.p,
                                    GKA_ELEM(ar, v.sc, CG_RR),
                                    GKA_ELEM(ar, v.sc, CG_RR_PREV),
                                    v.Ap,
                                    GKA_ELEM(ar, v.sc, CG_PAP),
                                    GKA_ELEM(ar, v.sc, CG_ALPHA),
                                    GKA_ELEM(ar, v.sc, CG_BETA)};
        if (hook) hook(hook_ctx, &info);
    }
    cg_vecs_free(ar, &v, n);
    return GKA_OK;
}

/* ---- the solver object ------------------------------------------------------ */

typedef struct {
    gka_solver_t *s;
    const gka_operator_t *op;
} cg_hist_t;

static void cg_hist_hook(void *ctx, const gka_cg_step_info_t *step) {
    cg_hist_t *h = ctx;
    gka_solver_hist_push_op(h->s, h->op, step->x);
}

static gka_status_t cg_solve(gka_solver_t *s, const gka_operator_t *op, void *x,
                             gka_solve_info_t *info) {
    cg_hist_t h = {s, op};
    const void *x_init = s->opts.warm && s->tokens > 0 ? s->x_prev : NULL;
    return gka_cg_solve(s->A, s->D, gka_operator_matvec_cb, (void *)op, op->q, s->opts.iters,
                        s->opts.tol, gka_solver_guarded(s), x_init, x,
                        s->hist ? cg_hist_hook : NULL, &h, &info->iters, &info->reason);
}

const gka_solver_ops_t gka_solver_cg_ops = {
    .name = "cg",
    .summary = "conjugate gradient, r iterations (variants: guarded, plain = textbook, unguarded)",
    .variants = "guarded,plain",
    .iterative = 1,
    .solve_op = cg_solve,
};
