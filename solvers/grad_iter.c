/* Reverse mode through the iterations of Chebyshev and CG (hand-written
 * adjoints of the recurrences, no tape): the forward runs the pieces of
 * gka_iteration.h (Chebyshev schedule and step, the stopping test) and
 * gka_cg_solve itself (zero start, tol = 0), storing every iterate; the reverse sweep runs the
 * adjoint recurrences in the same arithmetic table. The adjoints are those of the real-arithmetic
 * recurrence, evaluated at the stored (rounded) iterates. */
#include "gka_grad.h"
#include "solver_internal.h"

#include <stdlib.h>
#include <string.h>

/* Abar += alpha u v^T (n x n row-major). t: one scratch element. */
static void outer_acc(gka_arith_t *A, size_t n, const void *alpha, const void *u, const void *v,
                      void *Abar, void *t) {
    for (size_t a = 0; a < n; a++) {
        A->mul(A, t, alpha, GKA_CELEM(A, u, a));
        A->axpy(A, n, t, v, GKA_ELEM(A, Abar, a * n));
    }
}

static void zero_vec(gka_arith_t *A, void *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        A->set_d(A, GKA_ELEM(A, x, i), 0.0);
}

/* ---- Chebyshev ------------------------------------------------------------ */

enum {
    CS_ZERO,
    CS_ONE,
    CS_MINUS_ONE,
    CS_TWO,
    CS_QUARTER,
    CS_L,
    CS_DEN,
    CS_NUM,
    CS_RHO,
    CS_QUARTER_RHO_SQ,
    CS_S,
    CS_T,
    CS_T2,
    CS_S_BAR,
    CS_QUARTER_RHO_SQ_BAR,
    CS_OMEGA_BAR,
    CS_NEG_S_OMEGA_BAR,
    CS_OMEGA_MINUS_1_BAR,
    CS_HALF,
    CS_N
};

gka_status_t gka_chebyshev_adjoint(gka_arith_t *A, int D, gka_matvec_fn matvec, void *ctx,
                                   const void *q, const void *lambda, const void *hnorm, int r,
                                   const void *dx, void *x, void *dq, void *Abar, void *dlambda,
                                   void *dhnorm, int *iters, gka_reason_t *reason) {
    if (!A || !matvec || !q || !lambda || !hnorm || !dx || !x || !dq || !Abar || !dlambda ||
        !dhnorm || !iters || !reason || D < 1 || r < 0)
        return gka_error(GKA_EINVAL, "gka_chebyshev_adjoint: bad argument (D = %d, r = %d)", D, r);
    const size_t n = (size_t)D, R = (size_t)r;
    /* xs: x_{-1} .. x_r (slot i + 1); res_i = A x_{i-1} - q (slot i, 1..r);
     * step_omega, step_neg_s_omega, step_omega_minus_1: omega_i, -s omega_i, omega_i - 1 (slot i)
     */
    void *xs = A->alloc(A, (R + 2) * n), *res = A->alloc(A, (R + 1) * n);
    void *step_omega = A->alloc(A, R + 1), *step_neg_s_omega = A->alloc(A, R + 1),
         *step_omega_minus_1 = A->alloc(A, R + 1);
    void *sc = A->alloc(A, CS_N), *d = A->alloc(A, n), *xb = A->alloc(A, 3 * n),
         *Av = A->alloc(A, n);
    gka_status_t status = GKA_OK;
    if (!xs || !res || !step_omega || !step_neg_s_omega || !step_omega_minus_1 || !sc || !d ||
        !xb || !Av) {
        status = gka_error(GKA_ENOMEM, "chebyshev adjoint: out of memory (D = %d, r = %d)", D, r);
        goto out;
    }
    A->set_d(A, GKA_ELEM(A, sc, CS_ZERO), 0.0);
    A->set_d(A, GKA_ELEM(A, sc, CS_ONE), 1.0);
    A->set_d(A, GKA_ELEM(A, sc, CS_MINUS_ONE), -1.0);
    A->set_d(A, GKA_ELEM(A, sc, CS_TWO), 2.0);
    A->set_d(A, GKA_ELEM(A, sc, CS_QUARTER), 0.25);
    A->set_d(A, GKA_ELEM(A, sc, CS_HALF), 0.5);
    A->set_d(A, dlambda, 0.0);
    A->set_d(A, dhnorm, 0.0);
    *iters = 0;
    *reason = GKA_REASON_ITERATION_LIMIT;
    /* the forward: gka_chebyshev_solve's schedule, step and stopping test
     * (gka_iteration.h), storing every iterate and the step scalars */
    gka_cheb_schedule_t sch = {0};
    if ((status = gka_cheb_setup(&sch, A, hnorm, lambda)) != GKA_OK) goto out;
    A->copy(A, GKA_ELEM(A, sc, CS_L), hnorm, 1);
    A->add(A, GKA_ELEM(A, sc, CS_L), GKA_ELEM(A, sc, CS_L), lambda);
    A->copy(A, GKA_ELEM(A, sc, CS_DEN), gka_cheb_den(&sch), 1);
    A->copy(A, GKA_ELEM(A, sc, CS_RHO), gka_cheb_rho(&sch), 1);
    A->copy(A, GKA_ELEM(A, sc, CS_S), gka_cheb_s(&sch), 1);
    A->copy(A, GKA_ELEM(A, sc, CS_QUARTER_RHO_SQ), gka_cheb_quarter_rho_sq(&sch), 1);
    if (!gka_cheb_usable(&sch, reason)) {
        gka_cheb_release(&sch);
        zero_vec(A, x, n);
        zero_vec(A, dq, n);
        goto out;
    }
    /* forward: x_{-1} = 0, x_0 = s q */
    zero_vec(A, GKA_ROW(A, xs, n, 0), n);
    A->copy(A, GKA_ROW(A, xs, n, 1), q, n);
    A->scal(A, n, GKA_ELEM(A, sc, CS_S), GKA_ROW(A, xs, n, 1));
    const double qn = gka_iter_norm64(A, q, n), qscale = qn > 0.0 ? qn : 1.0;
    A->copy(A, GKA_ELEM(A, step_omega, 0), gka_cheb_omega(&sch), 1);
    int m = 0;
    for (int i = 1; i <= r; i++) {
        void *ri = GKA_ROW(A, res, n, i);
        const void *xc = GKA_ROW(A, xs, n, i), *xp = GKA_ROW(A, xs, n, i - 1);
        gka_cheb_next(&sch);
        matvec(ctx, xc, ri);
        A->axpy(A, n, GKA_ELEM(A, sc, CS_MINUS_ONE), q, ri);
        const gka_reason_t stop = gka_iter_monitor(gka_iter_norm64(A, ri, n), qscale, 0.0, 1);
        if (stop != GKA_REASON_NONE) {
            *reason = stop;
            break;
        }
        A->copy(A, GKA_ELEM(A, step_omega, (size_t)i), gka_cheb_omega(&sch), 1);
        A->copy(A, GKA_ELEM(A, step_neg_s_omega, (size_t)i), gka_cheb_neg_s_omega(&sch), 1);
        A->copy(A, GKA_ELEM(A, step_omega_minus_1, (size_t)i), gka_cheb_omega_minus_1(&sch), 1);
        gka_cheb_step(&sch, n, xc, xp, ri, d, GKA_ROW(A, xs, n, i + 1));
        m = i;
    }
    gka_cheb_release(&sch);
    *iters = m;
    A->copy(A, x, GKA_ROW(A, xs, n, m + 1), n);

    /* reverse: xb rolls over three slots: x_i, x_{i-1}, x_{i-2} */
    void *b[3] = {GKA_ROW(A, xb, n, 0), GKA_ROW(A, xb, n, 1), GKA_ROW(A, xb, n, 2)};
    A->copy(A, b[0], dx, n);
    zero_vec(A, b[1], n);
    zero_vec(A, dq, n);
    A->set_d(A, GKA_ELEM(A, sc, CS_S_BAR), 0.0);
    A->set_d(A, GKA_ELEM(A, sc, CS_QUARTER_RHO_SQ_BAR), 0.0);
    /* omega-bar_i is needed before the omega chain's step i, which runs after
     * this sweep: each step keeps it in its slot of step_neg_s_omega, no
     * longer needed once the step has read it. */
    for (int i = m; i >= 1; i--) {
        void *xbi = b[0], *xbp = b[1], *xbpp = b[2];
        zero_vec(A, xbpp, n);
        const void *xp = GKA_ROW(A, xs, n, i), *xpp = GKA_ROW(A, xs, n, i - 1);
        void *neg_s_omega_i = GKA_ELEM(A, step_neg_s_omega, (size_t)i),
             *omega_minus_1_i = GKA_ELEM(A, step_omega_minus_1, (size_t)i);
        /* scalar adjoints of this step */
        A->dot(A, GKA_ELEM(A, sc, CS_NEG_S_OMEGA_BAR), n, xbi,
               GKA_ROW(A, res, n, i)); /* step_neg_s_omega-bar = xb_i . res_i */
        A->copy(A, d, xp, n);
        A->axpy(A, n, GKA_ELEM(A, sc, CS_MINUS_ONE), xpp, d);
        A->dot(A, GKA_ELEM(A, sc, CS_OMEGA_MINUS_1_BAR), n, xbi,
               d); /* step_omega_minus_1-bar = xb_i . (x_{i-1} - x_{i-2}) */
        /* vector adjoints */
        A->axpy(A, n, GKA_ELEM(A, sc, CS_ONE), xbi, xbp);
        A->axpy(A, n, omega_minus_1_i, xbi, xbp);
        matvec(ctx, xbi, Av);
        A->axpy(A, n, neg_s_omega_i, Av, xbp);
        A->sub(A, GKA_ELEM(A, sc, CS_T), GKA_ELEM(A, sc, CS_ZERO), omega_minus_1_i);
        A->axpy(A, n, GKA_ELEM(A, sc, CS_T), xbi, xbpp);
        A->sub(A, GKA_ELEM(A, sc, CS_T), GKA_ELEM(A, sc, CS_ZERO), neg_s_omega_i);
        A->axpy(A, n, GKA_ELEM(A, sc, CS_T), xbi, dq);
        outer_acc(A, n, neg_s_omega_i, xbi, xp, Abar,
                  GKA_ELEM(A, sc, CS_T)); /* Abar += nso_i xb_i x_{i-1}^T */
        /* step_neg_s_omega = -s omega:  s-bar -= omega step_neg_s_omega-bar;  omega-bar =
         * step_omega_minus_1-bar - s step_neg_s_omega-bar */
        A->mul(A, GKA_ELEM(A, sc, CS_T), GKA_ELEM(A, step_omega, (size_t)i),
               GKA_ELEM(A, sc, CS_NEG_S_OMEGA_BAR));
        A->sub(A, GKA_ELEM(A, sc, CS_S_BAR), GKA_ELEM(A, sc, CS_S_BAR), GKA_ELEM(A, sc, CS_T));
        A->mul(A, GKA_ELEM(A, sc, CS_T), GKA_ELEM(A, sc, CS_S),
               GKA_ELEM(A, sc, CS_NEG_S_OMEGA_BAR));
        A->sub(A, GKA_ELEM(A, sc, CS_OMEGA_MINUS_1_BAR), GKA_ELEM(A, sc, CS_OMEGA_MINUS_1_BAR),
               GKA_ELEM(A, sc, CS_T));
        A->copy(A, neg_s_omega_i, GKA_ELEM(A, sc, CS_OMEGA_MINUS_1_BAR),
                1); /* nso_i no longer needed: keep omega-bar_i */
        b[0] = xbp;
        b[1] = xbpp;
        b[2] = xbi;
    }
    /* x_0 = s q */
    A->axpy(A, n, GKA_ELEM(A, sc, CS_S), b[0], dq);
    A->dot(A, GKA_ELEM(A, sc, CS_T), n, q, b[0]);
    A->add(A, GKA_ELEM(A, sc, CS_S_BAR), GKA_ELEM(A, sc, CS_S_BAR), GKA_ELEM(A, sc, CS_T));
    /* omega chain: omega_i = 1 / (1 - quarter_rho_sq omega_{i-1}) */
    A->set_d(A, GKA_ELEM(A, sc, CS_OMEGA_BAR),
             0.0); /* carried omega-bar of omega_i from step i + 1 */
    for (int i = m; i >= 1; i--) {
        const void *omega_i = GKA_ELEM(A, step_omega, (size_t)i),
                   *omega_prev = GKA_ELEM(A, step_omega, (size_t)i - 1);
        A->add(A, GKA_ELEM(A, sc, CS_OMEGA_BAR), GKA_ELEM(A, sc, CS_OMEGA_BAR),
               GKA_ELEM(A, step_neg_s_omega, (size_t)i)); /* total omega-bar_i */
        A->mul(A, GKA_ELEM(A, sc, CS_T2), omega_i, omega_i);
        A->mul(A, GKA_ELEM(A, sc, CS_T2), GKA_ELEM(A, sc, CS_T2),
               GKA_ELEM(A, sc, CS_OMEGA_BAR)); /* omega-bar_i omega_i^2 */
        A->mul(A, GKA_ELEM(A, sc, CS_T), GKA_ELEM(A, sc, CS_T2), omega_prev);
        A->add(A, GKA_ELEM(A, sc, CS_QUARTER_RHO_SQ_BAR), GKA_ELEM(A, sc, CS_QUARTER_RHO_SQ_BAR),
               GKA_ELEM(A, sc, CS_T));
        A->mul(A, GKA_ELEM(A, sc, CS_OMEGA_BAR), GKA_ELEM(A, sc, CS_T2),
               GKA_ELEM(A, sc, CS_QUARTER_RHO_SQ)); /* to omega_{i-1} */
    }
    /* quarter_rho_sq = rho^2 / 4 -> rho-bar = quarter_rho_sq-bar rho / 2; rho = num / den, s = 2 /
     * den, num = hnorm, den = hnorm + 2 lambda */
    A->mul(A, GKA_ELEM(A, sc, CS_T), GKA_ELEM(A, sc, CS_QUARTER_RHO_SQ_BAR),
           GKA_ELEM(A, sc, CS_RHO));
    A->mul(A, GKA_ELEM(A, sc, CS_T), GKA_ELEM(A, sc, CS_T), GKA_ELEM(A, sc, CS_HALF)); /* rho-bar */
    A->div(A, GKA_ELEM(A, sc, CS_T2), GKA_ELEM(A, sc, CS_T), GKA_ELEM(A, sc, CS_DEN)); /* num-bar */
    A->copy(A, dhnorm, GKA_ELEM(A, sc, CS_T2), 1);
    A->mul(A, GKA_ELEM(A, sc, CS_T), GKA_ELEM(A, sc, CS_T), GKA_ELEM(A, sc, CS_RHO));
    A->mul(A, GKA_ELEM(A, sc, CS_T2), GKA_ELEM(A, sc, CS_S_BAR), GKA_ELEM(A, sc, CS_S));
    A->add(A, GKA_ELEM(A, sc, CS_T), GKA_ELEM(A, sc, CS_T), GKA_ELEM(A, sc, CS_T2));
    A->div(A, GKA_ELEM(A, sc, CS_T), GKA_ELEM(A, sc, CS_T), GKA_ELEM(A, sc, CS_DEN));
    A->sub(A, GKA_ELEM(A, sc, CS_T), GKA_ELEM(A, sc, CS_ZERO),
           GKA_ELEM(A, sc, CS_T)); /* den-bar = -(rho-bar rho + s-bar s) / den */
    A->add(A, dhnorm, dhnorm, GKA_ELEM(A, sc, CS_T));
    A->mul(A, dlambda, GKA_ELEM(A, sc, CS_T), GKA_ELEM(A, sc, CS_TWO));
out:
    if (xs) A->free(A, xs, (R + 2) * n);
    if (res) A->free(A, res, (R + 1) * n);
    if (step_omega) A->free(A, step_omega, R + 1);
    if (step_neg_s_omega) A->free(A, step_neg_s_omega, R + 1);
    if (step_omega_minus_1) A->free(A, step_omega_minus_1, R + 1);
    if (sc) A->free(A, sc, CS_N);
    if (d) A->free(A, d, n);
    if (xb) A->free(A, xb, 3 * n);
    if (Av) A->free(A, Av, n);
    return status;
}

/* ---- CG ------------------------------------------------------------------- */

enum {
    GS_ZERO,
    GS_ONE,
    GS_MINUS_ONE,
    GS_TWO,
    GS_RR_BAR,
    GS_RR_PREV_BAR,
    GS_BETA_BAR,
    GS_ALPHA_BAR,
    GS_PAP_BAR,
    GS_T,
    GS_N
};

/* What the CG adjoint keeps of the forward: r_i, p_i (slot i), Ap_i, alpha_i,
 * beta_i, pAp_i (slot i - 1), rr_i (slot i). */
typedef struct {
    gka_arith_t *A;
    size_t n;
    void *rs, *ps, *aps, *alphas, *betas, *rr, *pAps;
} cg_tape_t;

static void cg_record(void *ctx, const gka_cg_step_info_t *st) {
    cg_tape_t *t = ctx;
    gka_arith_t *A = t->A;
    const size_t i = (size_t)st->i, n = t->n;
    A->copy(A, GKA_ROW(A, t->rs, n, i), st->r, n);
    A->copy(A, GKA_ROW(A, t->ps, n, i), st->p, n);
    A->copy(A, GKA_ELEM(A, t->rr, i), st->rr, 1);
    if (i == 0) return;
    A->copy(A, GKA_ROW(A, t->aps, n, i - 1), st->Ap, n);
    A->copy(A, GKA_ELEM(A, t->alphas, i - 1), st->alpha, 1);
    A->copy(A, GKA_ELEM(A, t->betas, i - 1), st->beta, 1);
    A->copy(A, GKA_ELEM(A, t->pAps, i - 1), st->pAp, 1);
}

gka_status_t gka_cg_adjoint(gka_arith_t *A, int D, gka_matvec_fn matvec, void *ctx, const void *q,
                            int r, const void *dx, void *x, void *dq, void *Abar, int *iters,
                            gka_reason_t *reason) {
    if (!A || !matvec || !q || !dx || !x || !dq || !Abar || !iters || !reason || D < 1 || r < 0)
        return gka_error(GKA_EINVAL, "gka_cg_adjoint: bad argument (D = %d, r = %d)", D, r);
    const size_t n = (size_t)D, R = (size_t)r;
    /* rs: r_0..r_r; ps: p_0..p_r; aps: Ap for step i in slot i - 1;
     * alphas, betas, rr, pAps: alpha_i, beta_i, rr_{i-1}, pAp_i in slot i - 1 */
    void *rs = A->alloc(A, (R + 1) * n), *ps = A->alloc(A, (R + 1) * n),
         *aps = A->alloc(A, (R + 1) * n);
    void *alphas = A->alloc(A, R + 1), *betas = A->alloc(A, R + 1), *rr = A->alloc(A, R + 2),
         *pAps = A->alloc(A, R + 1);
    void *sc = A->alloc(A, GS_N), *rb = A->alloc(A, n), *pb = A->alloc(A, n), *pbn = A->alloc(A, n),
         *apb = A->alloc(A, n), *tv = A->alloc(A, n);
    gka_status_t status = GKA_OK;
    if (!rs || !ps || !aps || !alphas || !betas || !rr || !pAps || !sc || !rb || !pb || !pbn ||
        !apb || !tv) {
        status = gka_error(GKA_ENOMEM, "cg adjoint: out of memory (D = %d, r = %d)", D, r);
        goto out;
    }
    A->set_d(A, GKA_ELEM(A, sc, GS_ZERO), 0.0);
    A->set_d(A, GKA_ELEM(A, sc, GS_ONE), 1.0);
    A->set_d(A, GKA_ELEM(A, sc, GS_MINUS_ONE), -1.0);
    A->set_d(A, GKA_ELEM(A, sc, GS_TWO), 2.0);
    *reason = GKA_REASON_ITERATION_LIMIT;
    /* forward: gka_cg_solve (zero start, no tolerance), every step's vectors
     * and scalars stored by the hook */
    cg_tape_t tape = {A, n, rs, ps, aps, alphas, betas, rr, pAps};
    int m = 0;
    if ((status = gka_cg_solve(A, D, matvec, ctx, q, r, 0.0, 1, NULL, x, cg_record, &tape, &m,
                               reason)) != GKA_OK)
        goto out;
    *iters = m;
    /* reverse; xb = dx throughout (x_i = x_{i-1} + alpha_i p_{i-1}) */
    zero_vec(A, rb, n);
    zero_vec(A, pb, n);
    A->set_d(A, GKA_ELEM(A, sc, GS_RR_BAR), 0.0);
    for (int i = m; i >= 1; i--) {
        const void *pp = GKA_ROW(A, ps, n, i - 1), *ri = GKA_ROW(A, rs, n, i),
                   *ap = GKA_ROW(A, aps, n, i - 1);
        const void *alpha_i = GKA_ELEM(A, alphas, i - 1), *beta_i = GKA_ELEM(A, betas, i - 1),
                   *rr_prev = GKA_ELEM(A, rr, i - 1), *pAp_i = GKA_ELEM(A, pAps, i - 1);
        /* p_i = r_i + beta_i p_{i-1} */
        A->axpy(A, n, GKA_ELEM(A, sc, GS_ONE), pb, rb);
        A->dot(A, GKA_ELEM(A, sc, GS_BETA_BAR), n, pb, pp);
        A->copy(A, pbn, pb, n);
        A->scal(A, n, beta_i, pbn);
        /* beta_i = rr_i / rr_{i-1} */
        A->div(A, GKA_ELEM(A, sc, GS_T), GKA_ELEM(A, sc, GS_BETA_BAR), rr_prev);
        A->add(A, GKA_ELEM(A, sc, GS_RR_BAR), GKA_ELEM(A, sc, GS_RR_BAR), GKA_ELEM(A, sc, GS_T));
        A->mul(A, GKA_ELEM(A, sc, GS_T), GKA_ELEM(A, sc, GS_T), beta_i);
        A->sub(A, GKA_ELEM(A, sc, GS_RR_PREV_BAR), GKA_ELEM(A, sc, GS_ZERO), GKA_ELEM(A, sc, GS_T));
        /* rr_i = r_i . r_i */
        A->mul(A, GKA_ELEM(A, sc, GS_T), GKA_ELEM(A, sc, GS_RR_BAR), GKA_ELEM(A, sc, GS_TWO));
        A->axpy(A, n, GKA_ELEM(A, sc, GS_T), ri, rb);
        /* r_i = r_{i-1} - alpha_i Ap */
        A->dot(A, GKA_ELEM(A, sc, GS_ALPHA_BAR), n, rb, ap);
        A->sub(A, GKA_ELEM(A, sc, GS_ALPHA_BAR), GKA_ELEM(A, sc, GS_ZERO),
               GKA_ELEM(A, sc, GS_ALPHA_BAR));
        A->sub(A, GKA_ELEM(A, sc, GS_T), GKA_ELEM(A, sc, GS_ZERO), alpha_i);
        A->copy(A, apb, rb, n);
        A->scal(A, n, GKA_ELEM(A, sc, GS_T), apb);
        /* x_i = x_{i-1} + alpha_i p_{i-1} */
        A->dot(A, GKA_ELEM(A, sc, GS_T), n, dx, pp);
        A->add(A, GKA_ELEM(A, sc, GS_ALPHA_BAR), GKA_ELEM(A, sc, GS_ALPHA_BAR),
               GKA_ELEM(A, sc, GS_T));
        A->axpy(A, n, alpha_i, dx, pbn);
        /* alpha_i = rr_{i-1} / pAp_i */
        A->div(A, GKA_ELEM(A, sc, GS_T), GKA_ELEM(A, sc, GS_ALPHA_BAR), pAp_i);
        A->add(A, GKA_ELEM(A, sc, GS_RR_PREV_BAR), GKA_ELEM(A, sc, GS_RR_PREV_BAR),
               GKA_ELEM(A, sc, GS_T));
        A->mul(A, GKA_ELEM(A, sc, GS_PAP_BAR), GKA_ELEM(A, sc, GS_T), alpha_i);
        A->sub(A, GKA_ELEM(A, sc, GS_PAP_BAR), GKA_ELEM(A, sc, GS_ZERO),
               GKA_ELEM(A, sc, GS_PAP_BAR));
        /* pAp_i = p_{i-1} . Ap */
        A->axpy(A, n, GKA_ELEM(A, sc, GS_PAP_BAR), ap, pbn);
        A->axpy(A, n, GKA_ELEM(A, sc, GS_PAP_BAR), pp, apb);
        /* Ap = A p_{i-1} */
        matvec(ctx, apb, tv);
        A->axpy(A, n, GKA_ELEM(A, sc, GS_ONE), tv, pbn);
        outer_acc(A, n, GKA_ELEM(A, sc, GS_ONE), apb, pp, Abar, GKA_ELEM(A, sc, GS_T));
        A->copy(A, pb, pbn, n);
        A->copy(A, GKA_ELEM(A, sc, GS_RR_BAR), GKA_ELEM(A, sc, GS_RR_PREV_BAR), 1);
    }
    /* r_0 = q, p_0 = r_0, rr_0 = r_0 . r_0 */
    A->copy(A, dq, rb, n);
    A->axpy(A, n, GKA_ELEM(A, sc, GS_ONE), pb, dq);
    A->mul(A, GKA_ELEM(A, sc, GS_T), GKA_ELEM(A, sc, GS_RR_BAR), GKA_ELEM(A, sc, GS_TWO));
    A->axpy(A, n, GKA_ELEM(A, sc, GS_T), GKA_ROW(A, rs, n, 0), dq);
out:
    if (rs) A->free(A, rs, (R + 1) * n);
    if (ps) A->free(A, ps, (R + 1) * n);
    if (aps) A->free(A, aps, (R + 1) * n);
    if (alphas) A->free(A, alphas, R + 1);
    if (betas) A->free(A, betas, R + 1);
    if (rr) A->free(A, rr, R + 2);
    if (pAps) A->free(A, pAps, R + 1);
    if (sc) A->free(A, sc, GS_N);
    if (rb) A->free(A, rb, n);
    if (pb) A->free(A, pb, n);
    if (pbn) A->free(A, pbn, n);
    if (apb) A->free(A, apb, n);
    if (tv) A->free(A, tv, n);
    return status;
}
