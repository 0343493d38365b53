/* Chebyshev iteration, token form (SPEC 2): every operation, the omega
 * recurrence and the step sizes included, goes through the arithmetic table.
 * The recurrence is written once (gka_chebyshev_solve) against an operator
 * callback; the token form applies H_t + lambda_t I, the chunk form
 * (chebyshev_chunk.c) the chunk-local operator of SPEC 3. */
#include "solver_internal.h"

#include <stdlib.h>
#include <string.h>

/* Working storage of one solve. */
typedef struct {
    void *xp, *xc, *res, *d;                                    /* vectors */
    void *zero, *one, *mone, *two, *quarter;                    /* constants */
    void *L, *den, *num, *rho, *rq, *s, *omega, *t, *nso, *om1; /* scalars */
    double *r64;
} cheb_work_t;

enum { CHEB_NVEC = 4, CHEB_NSCAL = 15 };

/* The work's vector and scalar slots, for allocation and release. */
static void cheb_slots(cheb_work_t *w, void ***vecs, void ***scals) {
    void **v[CHEB_NVEC] = {&w->xp, &w->xc, &w->res, &w->d};
    void **c[CHEB_NSCAL] = {&w->zero, &w->one,   &w->mone, &w->two, &w->quarter,
                            &w->L,    &w->den,   &w->num,  &w->rho, &w->rq,
                            &w->s,    &w->omega, &w->t,    &w->nso, &w->om1};
    memcpy(vecs, v, sizeof v);
    memcpy(scals, c, sizeof c);
}

static void cheb_free(gka_arith_t *A, cheb_work_t *w, size_t n) {
    void **v[CHEB_NVEC], **c[CHEB_NSCAL];
    cheb_slots(w, v, c);
    for (int i = 0; i < CHEB_NVEC; i++)
        if (*v[i]) A->free(A, *v[i], n);
    for (int i = 0; i < CHEB_NSCAL; i++)
        gka_sc_free(A, *c[i]);
    free(w->r64);
}

static int cheb_alloc(gka_arith_t *A, cheb_work_t *w, size_t n) {
    memset(w, 0, sizeof *w);
    void **v[CHEB_NVEC], **c[CHEB_NSCAL];
    cheb_slots(w, v, c);
    int ok = 1;
    for (int i = 0; i < CHEB_NVEC; i++)
        ok &= (*v[i] = A->alloc(A, n)) != NULL;
    for (int i = 0; i < CHEB_NSCAL; i++)
        ok &= (*c[i] = A->alloc(A, 1)) != NULL;
    ok &= (w->r64 = malloc(n * sizeof(double))) != NULL;
    if (!ok) return 0;
    A->set_d(A, w->zero, 0.0);
    A->set_d(A, w->one, 1.0);
    A->set_d(A, w->mone, -1.0);
    A->set_d(A, w->two, 2.0);
    A->set_d(A, w->quarter, 0.25);
    return 1;
}

/* ||res|| in double, read outside the studied arithmetic (a monitor: it
 * raises no flags in the table). */
static double norm64(gka_arith_t *A, const void *v, double *buf, size_t n) {
    A->to_double(A, buf, v, n);
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += buf[i] * buf[i];
    return sqrt(s);
}

/* res = A x - q */
static void residual(gka_arith_t *A, gka_matvec_fn mv, void *ctx, const void *x, const void *q,
                     void *res, const void *mone, size_t n) {
    mv(ctx, x, res);
    A->axpy(A, n, mone, q, res);
}

gka_status_t gka_chebyshev_solve(gka_arith_t *A, int D, gka_matvec_fn matvec, void *ctx,
                                 const void *q, const void *lambda, const void *hnorm, int r,
                                 double tol, const void *x_init, void *x, gka_hist_fn hist_fn,
                                 void *hist_ctx, double *hist, int *iters, gka_reason_t *reason) {
    if (!A || !matvec || !q || !lambda || !hnorm || !x || !iters || !reason || D < 1 || r < 0)
        return gka_error(GKA_EINVAL, "gka_chebyshev_solve: bad argument (D = %d, r = %d)", D, r);
    const size_t n = (size_t)D;
    cheb_work_t w;
    if (!cheb_alloc(A, &w, n)) {
        cheb_free(A, &w, n);
        return gka_error(GKA_ENOMEM, "chebyshev: out of memory (D = %d)", D);
    }
    *iters = 0;
    *reason = GKA_REASON_ITERATION_LIMIT;
    /* mu = lambda, L = ||H||_F + lambda; rho = (L - mu)/(L + mu), s = 2/(L + mu) */
    A->add(A, w.L, hnorm, lambda);
    A->add(A, w.den, w.L, lambda);
    A->sub(A, w.num, w.L, lambda);
    A->div(A, w.rho, w.num, w.den);
    A->div(A, w.s, w.two, w.den);
    A->mul(A, w.rq, w.rho, w.rho);
    A->mul(A, w.rq, w.rq, w.quarter); /* rho^2 / 4 */
    const double den64 = A->get_d(A, w.den);
    if (!(den64 > 0.0) || !isfinite(A->get_d(A, w.s))) {
        for (size_t i = 0; i < n; i++)
            A->set_d(A, GKA_ELEM(A, x, i), 0.0);
        *reason = isnan(den64) ? GKA_REASON_NAN : GKA_REASON_BREAKDOWN;
        cheb_free(A, &w, n);
        return GKA_OK;
    }
    /* x_{-1}, x_0 */
    if (x_init) {
        A->copy(A, w.xp, x_init, n);
        residual(A, matvec, ctx, w.xp, q, w.res, w.mone, n);
        A->copy(A, w.xc, w.xp, n);
        A->sub(A, w.nso, w.zero, w.s);
        A->axpy(A, n, w.nso, w.res, w.xc);
    } else {
        for (size_t i = 0; i < n; i++)
            A->set_d(A, GKA_ELEM(A, w.xp, i), 0.0);
        A->copy(A, w.xc, q, n);
        A->scal(A, n, w.s, w.xc);
    }
    if (hist) hist[0] = hist_fn(hist_ctx, w.xc);
    const double qn = norm64(A, q, w.r64, n);
    const double qscale = qn > 0.0 ? qn : 1.0;
    A->set_d(A, w.omega, 2.0);
    for (int i = 1; i <= r; i++) {
        A->mul(A, w.t, w.rq, w.omega);
        A->sub(A, w.t, w.one, w.t);
        A->div(A, w.omega, w.one, w.t); /* omega_i = 1 / (1 - rho^2/4 omega_{i-1}) */
        residual(A, matvec, ctx, w.xc, q, w.res, w.mone, n);
        const double rn = norm64(A, w.res, w.r64, n);
        if (isnan(rn)) {
            *reason = GKA_REASON_NAN;
            break;
        }
        if (tol > 0.0 && rn <= tol * qscale) {
            *reason = GKA_REASON_CONVERGED;
            break;
        }
        if (rn > GKA_SOLVER_DTOL * qscale) {
            *reason = GKA_REASON_DIVERGED;
            break;
        }
        A->mul(A, w.nso, w.s, w.omega);
        A->sub(A, w.nso, w.zero, w.nso);  /* -s omega_i */
        A->sub(A, w.om1, w.omega, w.one); /* omega_i - 1 */
        A->copy(A, w.d, w.xc, n);
        A->axpy(A, n, w.mone, w.xp, w.d); /* x_{i-1} - x_{i-2} */
        A->copy(A, w.xp, w.xc, n);
        A->axpy(A, n, w.nso, w.res, w.xp);
        A->axpy(A, n, w.om1, w.d, w.xp); /* x_i, written over x_{i-2} */
        void *swap = w.xp;
        w.xp = w.xc;
        w.xc = swap;
        *iters = i;
        if (hist) hist[i] = hist_fn(hist_ctx, w.xc);
    }
    A->copy(A, x, w.xc, n);
    cheb_free(A, &w, n);
    return GKA_OK;
}

/* ---- the token-form solver object ---------------------------------------- */

static void stream_matvec_cb(void *ctx, const void *x, void *y) {
    gka_stream_matvec((const gka_stream_t *)ctx, x, y);
}

typedef struct {
    gka_solver_t *s;
    const gka_stream_t *st;
} hist_ctx_t;

static double hist_cb(void *ctx, const void *x) {
    hist_ctx_t *h = ctx;
    return gka_stream_rel_residual64(h->st, x, h->s->work64);
}

static gka_status_t cheb_token_solve(gka_solver_t *s, const gka_stream_t *st, void *x,
                                     gka_solve_info_t *info) {
    hist_ctx_t h = {s, st};
    const void *x_init = s->opts.warm && s->tokens > 0 ? s->x_prev : NULL;
    gka_status_t status = gka_chebyshev_solve(
        s->A, s->D, stream_matvec_cb, (void *)st, st->q, st->lambda, st->hnorm, s->opts.iters,
        s->opts.tol, x_init, x, hist_cb, &h, s->hist, &info->iters, &info->reason);
    if (!status && s->hist) s->nhist = info->iters + 1;
    return status;
}

const gka_solver_ops_t gka_solver_chebyshev_ops = {
    .name = "chebyshev",
    .summary = "Chebyshev iteration, SPEC 2 schedule (mu = lambda, L = ||H||_F + lambda)",
    .variants = "",
    .iterative = 1,
    .solve = cheb_token_solve,
};
