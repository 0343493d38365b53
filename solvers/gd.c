/* Gradient descent with step 2/(L + mu) and Nesterov's accelerated gradient
 * with step 1/L and momentum (sqrt L - sqrt mu)/(sqrt L + sqrt mu), the
 * optimal fixed parameters for the spectrum bounds mu = lambda_t,
 * L = ||H_t||_F + lambda_t of MATH.md section 2. All scalars in the studied arithmetic. */
#include "solver_internal.h"

#include <stdlib.h>

typedef struct {
    void *y, *xp, *res, *d;
    void *L, *step, *nstep, *mom, *sl, *sm, *t, *zero, *one, *mone, *two;
    double *buf;
} gd_work_t;

enum { GD_NVEC = 4, GD_NSCAL = 11 };

static void gd_destroy(gka_solver_t *s) {
    gd_work_t *w = s->priv;
    if (!w) return;
    gka_arith_t *ar = s->A;
    void *vecs[GD_NVEC] = {w->y, w->xp, w->res, w->d};
    for (int i = 0; i < GD_NVEC; i++)
        if (vecs[i]) ar->free(ar, vecs[i], (size_t)s->D);
    void *sc[GD_NSCAL] = {w->L, w->step, w->nstep, w->mom,  w->sl, w->sm,
                          w->t, w->zero, w->one,   w->mone, w->two};
    for (int i = 0; i < GD_NSCAL; i++)
        gka_scalar_free(ar, sc[i]);
    free(w->buf);
    free(w);
    s->priv = NULL;
}

static gka_status_t gd_create(gka_solver_t *s) {
    gka_arith_t *ar = s->A;
    const size_t n = (size_t)s->D;
    gd_work_t *w = calloc(1, sizeof *w);
    s->priv = w;
    if (!w) return gka_error(GKA_ENOMEM, "gd: out of memory");
    w->y = ar->alloc(ar, n);
    w->xp = ar->alloc(ar, n);
    w->res = ar->alloc(ar, n);
    w->d = ar->alloc(ar, n);
    void **sc[GD_NSCAL] = {&w->L, &w->step, &w->nstep, &w->mom,  &w->sl, &w->sm,
                           &w->t, &w->zero, &w->one,   &w->mone, &w->two};
    const double init[GD_NSCAL] = {0, 0, 0, 0, 0, 0, 0, 0.0, 1.0, -1.0, 2.0};
    int ok = w->y && w->xp && w->res && w->d;
    for (int i = 0; i < GD_NSCAL; i++)
        ok &= (*sc[i] = gka_scalar_new(ar, init[i])) != NULL;
    w->buf = malloc(n * sizeof(double));
    if (!ok || !w->buf) return gka_error(GKA_ENOMEM, "gd: out of memory (D = %d)", s->D);
    return GKA_OK;
}

/* Start: x = 0 or the previous solution; x_prev = x. */
static void gd_start(gka_solver_t *s, gd_work_t *w, void *x) {
    gka_arith_t *ar = s->A;
    const size_t n = (size_t)s->D;
    if (s->opts.warm && s->tokens > 0)
        ar->copy(ar, x, s->x_prev, n);
    else
        for (size_t i = 0; i < n; i++)
            ar->set_d(ar, GKA_ELEM(ar, x, i), 0.0);
    ar->copy(ar, w->xp, x, n);
}

static gka_status_t gd_solve_impl(gka_solver_t *s, const gka_operator_t *op, void *x,
                                  gka_solve_info_t *info, int accelerated) {
    gka_arith_t *ar = s->A;
    gd_work_t *w = s->priv;
    const size_t n = (size_t)s->D;
    const int guarded = gka_solver_guarded(s);
    ar->add(ar, w->L, op->hnorm, op->lambda);
    if (accelerated) {
        ar->div(ar, w->step, w->one, w->L);
        ar->sqrt(ar, w->sl, w->L);
        ar->sqrt(ar, w->sm, op->lambda);
        ar->sub(ar, w->mom, w->sl, w->sm);
        ar->add(ar, w->t, w->sl, w->sm);
        ar->div(ar, w->mom, w->mom, w->t);
    } else {
        ar->add(ar, w->t, w->L, op->lambda);
        ar->div(ar, w->step, w->two, w->t);
    }
    ar->sub(ar, w->nstep, w->zero, w->step);
    gd_start(s, w, x);
    gka_solver_hist_push_op(s, op, x);
    const double step = ar->get_d(ar, w->step);
    if (guarded && !(isfinite(step) && step > 0.0)) {
        info->reason = isnan(step) ? GKA_REASON_NAN : GKA_REASON_BREAKDOWN;
        return GKA_OK;
    }
    const double qn = gka_iter_norm64(ar, op->q, n), qscale = qn > 0.0 ? qn : 1.0;
    info->reason = GKA_REASON_ITERATION_LIMIT;
    for (int i = 1; i <= s->opts.iters; i++) {
        if (accelerated) { /* y = x + mom (x - x_prev); x_prev = x; x = y - step (A y - q) */
            ar->copy(ar, w->d, x, n);
            ar->axpy(ar, n, w->mone, w->xp, w->d);
            ar->copy(ar, w->y, x, n);
            ar->axpy(ar, n, w->mom, w->d, w->y);
            ar->copy(ar, w->xp, x, n);
            ar->copy(ar, x, w->y, n);
        }
        gka_operator_apply(op, x, w->res);
        ar->axpy(ar, n, w->mone, op->q, w->res);
        const gka_reason_t stop =
            gka_iter_monitor(gka_iter_norm64(ar, w->res, n), qscale, s->opts.tol, guarded);
        if (stop != GKA_REASON_NONE) {
            info->reason = stop;
            break;
        }
        ar->axpy(ar, n, w->nstep, w->res, x);
        info->iters = i;
        gka_solver_hist_push_op(s, op, x);
    }
    return GKA_OK;
}

static gka_status_t gd_solve(gka_solver_t *s, const gka_operator_t *op, void *x,
                             gka_solve_info_t *info) {
    return gd_solve_impl(s, op, x, info, 0);
}

static gka_status_t agd_solve(gka_solver_t *s, const gka_operator_t *op, void *x,
                              gka_solve_info_t *info) {
    return gd_solve_impl(s, op, x, info, 1);
}

const gka_solver_ops_t gka_solver_gd_ops = {
    .name = "gd",
    .summary = "gradient descent, step 2/(L + mu)",
    .variants = "guarded,plain",
    .iterative = 1,
    .create = gd_create,
    .destroy = gd_destroy,
    .solve_op = gd_solve,
};

const gka_solver_ops_t gka_solver_agd_ops = {
    .name = "agd",
    .summary =
        "Nesterov accelerated gradient, step 1/L, momentum (sqrt L - sqrt mu)/(sqrt L + sqrt mu)",
    .variants = "guarded,plain",
    .iterative = 1,
    .create = gd_create,
    .destroy = gd_destroy,
    .solve_op = agd_solve,
};
