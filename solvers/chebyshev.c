/* Chebyshev iteration (MATH.md section 2): every operation, the omega recurrence and
 * the step sizes included, goes through the arithmetic table. The recurrence
 * is written once (gka_chebyshev_solve_v) from the pieces of gka_iteration.h
 * against an operator callback; the solver object applies a gka_operator_t
 * (token or chunk form). */
#include "solver_internal.h"

#include <stdlib.h>
#include <string.h>

/* res = A x - q */
static void residual(gka_arith_t *ar, gka_matvec_fn mv, void *ctx, const void *x, const void *q,
                     void *res, const void *mone, size_t n) {
    mv(ctx, x, res);
    ar->axpy(ar, n, mone, q, res);
}

/* Vectors of one solve: x_{i-2} (then x_i), x_{i-1}, the residual, scratch. */
typedef struct {
    void *xp, *xc, *res, *d, *consts; /* consts: 0, -1 */
} cheb_vecs_t;

static void cheb_vecs_free(gka_arith_t *ar, cheb_vecs_t *v, size_t n) {
    void *vs[4] = {v->xp, v->xc, v->res, v->d};
    for (int i = 0; i < 4; i++)
        if (vs[i]) ar->free(ar, vs[i], n);
    if (v->consts) ar->free(ar, v->consts, 2);
}

static int cheb_vecs_alloc(gka_arith_t *ar, cheb_vecs_t *v, size_t n) {
    v->xp = ar->alloc(ar, n), v->xc = ar->alloc(ar, n), v->res = ar->alloc(ar, n),
    v->d = ar->alloc(ar, n);
    v->consts = ar->alloc(ar, 2);
    return v->xp && v->xc && v->res && v->d && v->consts;
}

static void set_zero(gka_arith_t *ar, void *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        ar->set_d(ar, GKA_ELEM(ar, x, i), 0.0);
}

gka_status_t gka_chebyshev_solve(gka_arith_t *ar, int D, gka_matvec_fn matvec, void *ctx,
                                 const void *q, const void *lambda, const void *hnorm, int r,
                                 double tol, const void *x_init, void *x, gka_hist_fn hist_fn,
                                 void *hist_ctx, double *hist, int *iters, gka_reason_t *reason) {
    return gka_chebyshev_solve_v(ar, D, matvec, ctx, q, lambda, hnorm, r, tol, 1, x_init, x,
                                 hist_fn, hist_ctx, hist, iters, reason);
}

gka_status_t gka_chebyshev_solve_v(gka_arith_t *ar, int D, gka_matvec_fn matvec, void *ctx,
                                   const void *q, const void *lambda, const void *hnorm, int r,
                                   double tol, int guarded, const void *x_init, void *x,
                                   gka_hist_fn hist_fn, void *hist_ctx, double *hist, int *iters,
                                   gka_reason_t *reason) {
    if (!ar || !matvec || !q || !lambda || !hnorm || !x || !iters || !reason || D < 1 || r < 0)
        return gka_error(GKA_EINVAL, "gka_chebyshev_solve: bad argument (D = %d, r = %d)", D, r);
    const size_t n = (size_t)D;
    cheb_vecs_t v = {0};
    gka_cheb_schedule_t sch = {0};
    if (!cheb_vecs_alloc(ar, &v, n) || gka_cheb_setup(&sch, ar, hnorm, lambda) != GKA_OK) {
        cheb_vecs_free(ar, &v, n);
        gka_cheb_release(&sch);
        return gka_error(GKA_ENOMEM, "chebyshev: out of memory (D = %d)", D);
    }
    void *zero = GKA_ELEM(ar, v.consts, 0), *mone = GKA_ELEM(ar, v.consts, 1);
    ar->set_d(ar, zero, 0.0);
    ar->set_d(ar, mone, -1.0);
    *iters = 0;
    *reason = GKA_REASON_ITERATION_LIMIT;
    if (guarded && !gka_cheb_usable(&sch, reason)) {
        set_zero(ar, x, n);
        goto out;
    }
    /* x_{-1}, x_0 */
    if (x_init) {
        ar->copy(ar, v.xp, x_init, n);
        residual(ar, matvec, ctx, v.xp, q, v.res, mone, n);
        ar->copy(ar, v.xc, v.xp, n);
        ar->sub(ar, v.d, zero, gka_cheb_s(&sch)); /* -s, in d's first element */
        ar->axpy(ar, n, v.d, v.res, v.xc);
    } else {
        set_zero(ar, v.xp, n);
        ar->copy(ar, v.xc, q, n);
        ar->scal(ar, n, gka_cheb_s(&sch), v.xc);
    }
    if (hist) hist[0] = hist_fn(hist_ctx, v.xc);
    const double qn = gka_iter_norm64(ar, q, n), qscale = qn > 0.0 ? qn : 1.0;
    for (int i = 1; i <= r; i++) {
        gka_cheb_next(&sch);
        residual(ar, matvec, ctx, v.xc, q, v.res, mone, n);
        const gka_reason_t stop =
            gka_iter_monitor(gka_iter_norm64(ar, v.res, n), qscale, tol, guarded);
        if (stop != GKA_REASON_NONE) {
            *reason = stop;
            break;
        }
        gka_cheb_step(&sch, n, v.xc, v.xp, v.res, v.d, v.xp); /* x_i over x_{i-2} */
        void *swap = v.xp;
        v.xp = v.xc;
        v.xc = swap;
        *iters = i;
        if (hist) hist[i] = hist_fn(hist_ctx, v.xc);
    }
    ar->copy(ar, x, v.xc, n);
out:
    cheb_vecs_free(ar, &v, n);
    gka_cheb_release(&sch);
    return GKA_OK;
}

/* ---- the solver object: any operator, token or chunk form ---------------- */

void gka_operator_matvec_cb(void *ctx, const void *x, void *y) {
    gka_operator_apply((const gka_operator_t *)ctx, x, y);
}

typedef struct {
    gka_solver_t *s;
    const gka_operator_t *op;
} hist_ctx_t;

static double hist_cb(void *ctx, const void *x) {
    hist_ctx_t *h = ctx;
    return h->op->residual64 ? h->op->residual64(h->op, x, h->s->work64) : (double)NAN;
}

static gka_status_t cheb_solve(gka_solver_t *s, const gka_operator_t *op, void *x,
                               gka_solve_info_t *info) {
    hist_ctx_t h = {s, op};
    const void *x_init = s->opts.warm && s->tokens > 0 ? s->x_prev : NULL;
    gka_status_t status =
        gka_chebyshev_solve_v(s->A, s->D, gka_operator_matvec_cb, (void *)op, op->q, op->lambda,
                              op->hnorm, s->opts.iters, s->opts.tol, gka_solver_guarded(s), x_init,
                              x, hist_cb, &h, s->hist, &info->iters, &info->reason);
    if (!status && s->hist) s->nhist = info->iters + 1;
    return status;
}

const gka_solver_ops_t gka_solver_chebyshev_ops = {
    .name = "chebyshev",
    .summary =
        "Chebyshev iteration, MATH.md section 2 schedule (mu = lambda, L = ||H||_F + lambda)",
    .variants = "guarded,plain",
    .iterative = 1,
    .solve_op = cheb_solve,
};
