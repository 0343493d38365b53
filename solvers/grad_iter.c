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
static void outer_acc(gka_arith_t *ar, size_t n, const void *alpha, const void *u, const void *v,
                      void *Abar, void *t) {
    for (size_t a = 0; a < n; a++) {
        ar->mul(ar, t, alpha, GKA_CELEM(ar, u, a));
        ar->axpy(ar, n, t, v, GKA_ELEM(ar, Abar, a * n));
    }
}

static void zero_vec(gka_arith_t *ar, void *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        ar->set_d(ar, GKA_ELEM(ar, x, i), 0.0);
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

gka_status_t gka_chebyshev_adjoint(gka_arith_t *ar, int D, gka_matvec_fn matvec, void *ctx,
                                   const void *q, const void *lambda, const void *hnorm, int r,
                                   const void *dx, void *x, void *dq, void *Abar, void *dlambda,
                                   void *dhnorm, int *iters, gka_reason_t *reason) {
    if (!ar || !matvec || !q || !lambda || !hnorm || !dx || !x || !dq || !Abar || !dlambda ||
        !dhnorm || !iters || !reason || D < 1 || r < 0)
        return gka_error(GKA_EINVAL, "gka_chebyshev_adjoint: bad argument (D = %d, r = %d)", D, r);
    const size_t n = (size_t)D, R = (size_t)r;
    /* xs: x_{-1} .. x_r (slot i + 1); res_i = A x_{i-1} - q (slot i, 1..r);
     * step_omega, step_neg_s_omega, step_omega_minus_1: omega_i, -s omega_i, omega_i - 1 (slot i)
     */
    void *xs = ar->alloc(ar, (R + 2) * n), *res = ar->alloc(ar, (R + 1) * n);
    void *step_omega = ar->alloc(ar, R + 1), *step_neg_s_omega = ar->alloc(ar, R + 1),
         *step_omega_minus_1 = ar->alloc(ar, R + 1);
    void *sc = ar->alloc(ar, CS_N), *d = ar->alloc(ar, n), *xb = ar->alloc(ar, 3 * n),
         *Av = ar->alloc(ar, n);
    gka_status_t status = GKA_OK;
    if (!xs || !res || !step_omega || !step_neg_s_omega || !step_omega_minus_1 || !sc || !d ||
        !xb || !Av) {
        status = gka_error(GKA_ENOMEM, "chebyshev adjoint: out of memory (D = %d, r = %d)", D, r);
        goto out;
    }
    ar->set_d(ar, GKA_ELEM(ar, sc, CS_ZERO), 0.0);
    ar->set_d(ar, GKA_ELEM(ar, sc, CS_ONE), 1.0);
    ar->set_d(ar, GKA_ELEM(ar, sc, CS_MINUS_ONE), -1.0);
    ar->set_d(ar, GKA_ELEM(ar, sc, CS_TWO), 2.0);
    ar->set_d(ar, GKA_ELEM(ar, sc, CS_QUARTER), 0.25);
    ar->set_d(ar, GKA_ELEM(ar, sc, CS_HALF), 0.5);
    ar->set_d(ar, dlambda, 0.0);
    ar->set_d(ar, dhnorm, 0.0);
    *iters = 0;
    *reason = GKA_REASON_ITERATION_LIMIT;
    /* the forward: gka_chebyshev_solve's schedule, step and stopping test
     * (gka_iteration.h), storing every iterate and the step scalars */
    gka_cheb_schedule_t sch = {0};
    if ((status = gka_cheb_setup(&sch, ar, hnorm, lambda)) != GKA_OK) goto out;
    ar->copy(ar, GKA_ELEM(ar, sc, CS_L), hnorm, 1);
    ar->add(ar, GKA_ELEM(ar, sc, CS_L), GKA_ELEM(ar, sc, CS_L), lambda);
    ar->copy(ar, GKA_ELEM(ar, sc, CS_DEN), gka_cheb_den(&sch), 1);
    ar->copy(ar, GKA_ELEM(ar, sc, CS_RHO), gka_cheb_rho(&sch), 1);
    ar->copy(ar, GKA_ELEM(ar, sc, CS_S), gka_cheb_s(&sch), 1);
    ar->copy(ar, GKA_ELEM(ar, sc, CS_QUARTER_RHO_SQ), gka_cheb_quarter_rho_sq(&sch), 1);
    if (!gka_cheb_usable(&sch, reason)) {
        gka_cheb_release(&sch);
        zero_vec(ar, x, n);
        zero_vec(ar, dq, n);
        goto out;
    }
    /* forward: x_{-1} = 0, x_0 = s q */
    zero_vec(ar, GKA_ROW(ar, xs, n, 0), n);
    ar->copy(ar, GKA_ROW(ar, xs, n, 1), q, n);
    ar->scal(ar, n, GKA_ELEM(ar, sc, CS_S), GKA_ROW(ar, xs, n, 1));
    const double qn = gka_iter_norm64(ar, q, n), qscale = qn > 0.0 ? qn : 1.0;
    ar->copy(ar, GKA_ELEM(ar, step_omega, 0), gka_cheb_omega(&sch), 1);
    int m = 0;
    for (int i = 1; i <= r; i++) {
        void *ri = GKA_ROW(ar, res, n, i);
        const void *xc = GKA_ROW(ar, xs, n, i), *xp = GKA_ROW(ar, xs, n, i - 1);
        gka_cheb_next(&sch);
        matvec(ctx, xc, ri);
        ar->axpy(ar, n, GKA_ELEM(ar, sc, CS_MINUS_ONE), q, ri);
        const gka_reason_t stop = gka_iter_monitor(gka_iter_norm64(ar, ri, n), qscale, 0.0, 1);
        if (stop != GKA_REASON_NONE) {
            *reason = stop;
            break;
        }
        ar->copy(ar, GKA_ELEM(ar, step_omega, (size_t)i), gka_cheb_omega(&sch), 1);
        ar->copy(ar, GKA_ELEM(ar, step_neg_s_omega, (size_t)i), gka_cheb_neg_s_omega(&sch), 1);
        ar->copy(ar, GKA_ELEM(ar, step_omega_minus_1, (size_t)i), gka_cheb_omega_minus_1(&sch), 1);
        gka_cheb_step(&sch, n, xc, xp, ri, d, GKA_ROW(ar, xs, n, i + 1));
        m = i;
    }
    gka_cheb_release(&sch);
    *iters = m;
    ar->copy(ar, x, GKA_ROW(ar, xs, n, m + 1), n);

    /* reverse: xb rolls over three slots: x_i, x_{i-1}, x_{i-2} */
    void *b[3] = {GKA_ROW(ar, xb, n, 0), GKA_ROW(ar, xb, n, 1), GKA_ROW(ar, xb, n, 2)};
    ar->copy(ar, b[0], dx, n);
    zero_vec(ar, b[1], n);
    zero_vec(ar, dq, n);
    ar->set_d(ar, GKA_ELEM(ar, sc, CS_S_BAR), 0.0);
    ar->set_d(ar, GKA_ELEM(ar, sc, CS_QUARTER_RHO_SQ_BAR), 0.0);
    /* omega-bar_i is needed before the omega chain's step i, which runs after
     * this sweep: each step keeps it in its slot of step_neg_s_omega, no
     * longer needed once the step has read it. */
    for (int i = m; i >= 1; i--) {
        void *xbi = b[0], *xbp = b[1], *xbpp = b[2];
        zero_vec(ar, xbpp, n);
        const void *xp = GKA_ROW(ar, xs, n, i), *xpp = GKA_ROW(ar, xs, n, i - 1);
        void *neg_s_omega_i = GKA_ELEM(ar, step_neg_s_omega, (size_t)i),
             *omega_minus_1_i = GKA_ELEM(ar, step_omega_minus_1, (size_t)i);
        /* scalar adjoints of this step */
        ar->dot(ar, GKA_ELEM(ar, sc, CS_NEG_S_OMEGA_BAR), n, xbi,
                GKA_ROW(ar, res, n, i)); /* step_neg_s_omega-bar = xb_i . res_i */
        ar->copy(ar, d, xp, n);
        ar->axpy(ar, n, GKA_ELEM(ar, sc, CS_MINUS_ONE), xpp, d);
        ar->dot(ar, GKA_ELEM(ar, sc, CS_OMEGA_MINUS_1_BAR), n, xbi,
                d); /* step_omega_minus_1-bar = xb_i . (x_{i-1} - x_{i-2}) */
        /* vector adjoints */
        ar->axpy(ar, n, GKA_ELEM(ar, sc, CS_ONE), xbi, xbp);
        ar->axpy(ar, n, omega_minus_1_i, xbi, xbp);
        matvec(ctx, xbi, Av);
        ar->axpy(ar, n, neg_s_omega_i, Av, xbp);
        ar->sub(ar, GKA_ELEM(ar, sc, CS_T), GKA_ELEM(ar, sc, CS_ZERO), omega_minus_1_i);
        ar->axpy(ar, n, GKA_ELEM(ar, sc, CS_T), xbi, xbpp);
        ar->sub(ar, GKA_ELEM(ar, sc, CS_T), GKA_ELEM(ar, sc, CS_ZERO), neg_s_omega_i);
        ar->axpy(ar, n, GKA_ELEM(ar, sc, CS_T), xbi, dq);
        outer_acc(ar, n, neg_s_omega_i, xbi, xp, Abar,
                  GKA_ELEM(ar, sc, CS_T)); /* Abar += nso_i xb_i x_{i-1}^T */
        /* step_neg_s_omega = -s omega:  s-bar -= omega step_neg_s_omega-bar;  omega-bar =
         * step_omega_minus_1-bar - s step_neg_s_omega-bar */
        ar->mul(ar, GKA_ELEM(ar, sc, CS_T), GKA_ELEM(ar, step_omega, (size_t)i),
                GKA_ELEM(ar, sc, CS_NEG_S_OMEGA_BAR));
        ar->sub(ar, GKA_ELEM(ar, sc, CS_S_BAR), GKA_ELEM(ar, sc, CS_S_BAR), GKA_ELEM(ar, sc, CS_T));
        ar->mul(ar, GKA_ELEM(ar, sc, CS_T), GKA_ELEM(ar, sc, CS_S),
                GKA_ELEM(ar, sc, CS_NEG_S_OMEGA_BAR));
        ar->sub(ar, GKA_ELEM(ar, sc, CS_OMEGA_MINUS_1_BAR), GKA_ELEM(ar, sc, CS_OMEGA_MINUS_1_BAR),
                GKA_ELEM(ar, sc, CS_T));
        ar->copy(ar, neg_s_omega_i, GKA_ELEM(ar, sc, CS_OMEGA_MINUS_1_BAR),
                 1); /* nso_i no longer needed: keep omega-bar_i */
        b[0] = xbp;
        b[1] = xbpp;
        b[2] = xbi;
    }
    /* x_0 = s q */
    ar->axpy(ar, n, GKA_ELEM(ar, sc, CS_S), b[0], dq);
    ar->dot(ar, GKA_ELEM(ar, sc, CS_T), n, q, b[0]);
    ar->add(ar, GKA_ELEM(ar, sc, CS_S_BAR), GKA_ELEM(ar, sc, CS_S_BAR), GKA_ELEM(ar, sc, CS_T));
    /* omega chain: omega_i = 1 / (1 - quarter_rho_sq omega_{i-1}) */
    ar->set_d(ar, GKA_ELEM(ar, sc, CS_OMEGA_BAR),
              0.0); /* carried omega-bar of omega_i from step i + 1 */
    for (int i = m; i >= 1; i--) {
        const void *omega_i = GKA_ELEM(ar, step_omega, (size_t)i),
                   *omega_prev = GKA_ELEM(ar, step_omega, (size_t)i - 1);
        ar->add(ar, GKA_ELEM(ar, sc, CS_OMEGA_BAR), GKA_ELEM(ar, sc, CS_OMEGA_BAR),
                GKA_ELEM(ar, step_neg_s_omega, (size_t)i)); /* total omega-bar_i */
        ar->mul(ar, GKA_ELEM(ar, sc, CS_T2), omega_i, omega_i);
        ar->mul(ar, GKA_ELEM(ar, sc, CS_T2), GKA_ELEM(ar, sc, CS_T2),
                GKA_ELEM(ar, sc, CS_OMEGA_BAR)); /* omega-bar_i omega_i^2 */
        ar->mul(ar, GKA_ELEM(ar, sc, CS_T), GKA_ELEM(ar, sc, CS_T2), omega_prev);
        ar->add(ar, GKA_ELEM(ar, sc, CS_QUARTER_RHO_SQ_BAR),
                GKA_ELEM(ar, sc, CS_QUARTER_RHO_SQ_BAR), GKA_ELEM(ar, sc, CS_T));
        ar->mul(ar, GKA_ELEM(ar, sc, CS_OMEGA_BAR), GKA_ELEM(ar, sc, CS_T2),
                GKA_ELEM(ar, sc, CS_QUARTER_RHO_SQ)); /* to omega_{i-1} */
    }
    /* quarter_rho_sq = rho^2 / 4 -> rho-bar = quarter_rho_sq-bar rho / 2; rho = num / den, s = 2 /
     * den, num = hnorm, den = hnorm + 2 lambda */
    ar->mul(ar, GKA_ELEM(ar, sc, CS_T), GKA_ELEM(ar, sc, CS_QUARTER_RHO_SQ_BAR),
            GKA_ELEM(ar, sc, CS_RHO));
    ar->mul(ar, GKA_ELEM(ar, sc, CS_T), GKA_ELEM(ar, sc, CS_T),
            GKA_ELEM(ar, sc, CS_HALF)); /* rho-bar */
    ar->div(ar, GKA_ELEM(ar, sc, CS_T2), GKA_ELEM(ar, sc, CS_T),
            GKA_ELEM(ar, sc, CS_DEN)); /* num-bar */
    ar->copy(ar, dhnorm, GKA_ELEM(ar, sc, CS_T2), 1);
    ar->mul(ar, GKA_ELEM(ar, sc, CS_T), GKA_ELEM(ar, sc, CS_T), GKA_ELEM(ar, sc, CS_RHO));
    ar->mul(ar, GKA_ELEM(ar, sc, CS_T2), GKA_ELEM(ar, sc, CS_S_BAR), GKA_ELEM(ar, sc, CS_S));
    ar->add(ar, GKA_ELEM(ar, sc, CS_T), GKA_ELEM(ar, sc, CS_T), GKA_ELEM(ar, sc, CS_T2));
    ar->div(ar, GKA_ELEM(ar, sc, CS_T), GKA_ELEM(ar, sc, CS_T), GKA_ELEM(ar, sc, CS_DEN));
    ar->sub(ar, GKA_ELEM(ar, sc, CS_T), GKA_ELEM(ar, sc, CS_ZERO),
            GKA_ELEM(ar, sc, CS_T)); /* den-bar = -(rho-bar rho + s-bar s) / den */
    ar->add(ar, dhnorm, dhnorm, GKA_ELEM(ar, sc, CS_T));
    ar->mul(ar, dlambda, GKA_ELEM(ar, sc, CS_T), GKA_ELEM(ar, sc, CS_TWO));
out:
    if (xs) ar->free(ar, xs, (R + 2) * n);
    if (res) ar->free(ar, res, (R + 1) * n);
    if (step_omega) ar->free(ar, step_omega, R + 1);
    if (step_neg_s_omega) ar->free(ar, step_neg_s_omega, R + 1);
    if (step_omega_minus_1) ar->free(ar, step_omega_minus_1, R + 1);
    if (sc) ar->free(ar, sc, CS_N);
    if (d) ar->free(ar, d, n);
    if (xb) ar->free(ar, xb, 3 * n);
    if (Av) ar->free(ar, Av, n);
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
    gka_arith_t *ar = t->A;
    const size_t i = (size_t)st->i, n = t->n;
    ar->copy(ar, GKA_ROW(ar, t->rs, n, i), st->r, n);
    ar->copy(ar, GKA_ROW(ar, t->ps, n, i), st->p, n);
    ar->copy(ar, GKA_ELEM(ar, t->rr, i), st->rr, 1);
    if (i == 0) return;
    ar->copy(ar, GKA_ROW(ar, t->aps, n, i - 1), st->Ap, n);
    ar->copy(ar, GKA_ELEM(ar, t->alphas, i - 1), st->alpha, 1);
    ar->copy(ar, GKA_ELEM(ar, t->betas, i - 1), st->beta, 1);
    ar->copy(ar, GKA_ELEM(ar, t->pAps, i - 1), st->pAp, 1);
}

gka_status_t gka_cg_adjoint(gka_arith_t *ar, int D, gka_matvec_fn matvec, void *ctx, const void *q,
                            int r, const void *dx, void *x, void *dq, void *Abar, int *iters,
                            gka_reason_t *reason) {
    if (!ar || !matvec || !q || !dx || !x || !dq || !Abar || !iters || !reason || D < 1 || r < 0)
        return gka_error(GKA_EINVAL, "gka_cg_adjoint: bad argument (D = %d, r = %d)", D, r);
    const size_t n = (size_t)D, R = (size_t)r;
    /* rs: r_0..r_r; ps: p_0..p_r; aps: Ap for step i in slot i - 1;
     * alphas, betas, rr, pAps: alpha_i, beta_i, rr_{i-1}, pAp_i in slot i - 1 */
    void *rs = ar->alloc(ar, (R + 1) * n), *ps = ar->alloc(ar, (R + 1) * n),
         *aps = ar->alloc(ar, (R + 1) * n);
    void *alphas = ar->alloc(ar, R + 1), *betas = ar->alloc(ar, R + 1), *rr = ar->alloc(ar, R + 2),
         *pAps = ar->alloc(ar, R + 1);
    void *sc = ar->alloc(ar, GS_N), *rb = ar->alloc(ar, n), *pb = ar->alloc(ar, n),
         *pbn = ar->alloc(ar, n), *apb = ar->alloc(ar, n), *tv = ar->alloc(ar, n);
    gka_status_t status = GKA_OK;
    if (!rs || !ps || !aps || !alphas || !betas || !rr || !pAps || !sc || !rb || !pb || !pbn ||
        !apb || !tv) {
        status = gka_error(GKA_ENOMEM, "cg adjoint: out of memory (D = %d, r = %d)", D, r);
        goto out;
    }
    ar->set_d(ar, GKA_ELEM(ar, sc, GS_ZERO), 0.0);
    ar->set_d(ar, GKA_ELEM(ar, sc, GS_ONE), 1.0);
    ar->set_d(ar, GKA_ELEM(ar, sc, GS_MINUS_ONE), -1.0);
    ar->set_d(ar, GKA_ELEM(ar, sc, GS_TWO), 2.0);
    *reason = GKA_REASON_ITERATION_LIMIT;
    /* forward: gka_cg_solve (zero start, no tolerance), every step's vectors
     * and scalars stored by the hook */
    cg_tape_t tape = {ar, n, rs, ps, aps, alphas, betas, rr, pAps};
    int m = 0;
    if ((status = gka_cg_solve(ar, D, matvec, ctx, q, r, 0.0, 1, NULL, x, cg_record, &tape, &m,
                               reason)) != GKA_OK)
        goto out;
    *iters = m;
    /* reverse; xb = dx throughout (x_i = x_{i-1} + alpha_i p_{i-1}) */
    zero_vec(ar, rb, n);
    zero_vec(ar, pb, n);
    ar->set_d(ar, GKA_ELEM(ar, sc, GS_RR_BAR), 0.0);
    for (int i = m; i >= 1; i--) {
        const void *pp = GKA_ROW(ar, ps, n, i - 1), *ri = GKA_ROW(ar, rs, n, i),
                   *ap = GKA_ROW(ar, aps, n, i - 1);
        const void *alpha_i = GKA_ELEM(ar, alphas, i - 1), *beta_i = GKA_ELEM(ar, betas, i - 1),
                   *rr_prev = GKA_ELEM(ar, rr, i - 1), *pAp_i = GKA_ELEM(ar, pAps, i - 1);
        /* p_i = r_i + beta_i p_{i-1} */
        ar->axpy(ar, n, GKA_ELEM(ar, sc, GS_ONE), pb, rb);
        ar->dot(ar, GKA_ELEM(ar, sc, GS_BETA_BAR), n, pb, pp);
        ar->copy(ar, pbn, pb, n);
        ar->scal(ar, n, beta_i, pbn);
        /* beta_i = rr_i / rr_{i-1} */
        ar->div(ar, GKA_ELEM(ar, sc, GS_T), GKA_ELEM(ar, sc, GS_BETA_BAR), rr_prev);
        ar->add(ar, GKA_ELEM(ar, sc, GS_RR_BAR), GKA_ELEM(ar, sc, GS_RR_BAR),
                GKA_ELEM(ar, sc, GS_T));
        ar->mul(ar, GKA_ELEM(ar, sc, GS_T), GKA_ELEM(ar, sc, GS_T), beta_i);
        ar->sub(ar, GKA_ELEM(ar, sc, GS_RR_PREV_BAR), GKA_ELEM(ar, sc, GS_ZERO),
                GKA_ELEM(ar, sc, GS_T));
        /* rr_i = r_i . r_i */
        ar->mul(ar, GKA_ELEM(ar, sc, GS_T), GKA_ELEM(ar, sc, GS_RR_BAR), GKA_ELEM(ar, sc, GS_TWO));
        ar->axpy(ar, n, GKA_ELEM(ar, sc, GS_T), ri, rb);
        /* r_i = r_{i-1} - alpha_i Ap */
        ar->dot(ar, GKA_ELEM(ar, sc, GS_ALPHA_BAR), n, rb, ap);
        ar->sub(ar, GKA_ELEM(ar, sc, GS_ALPHA_BAR), GKA_ELEM(ar, sc, GS_ZERO),
                GKA_ELEM(ar, sc, GS_ALPHA_BAR));
        ar->sub(ar, GKA_ELEM(ar, sc, GS_T), GKA_ELEM(ar, sc, GS_ZERO), alpha_i);
        ar->copy(ar, apb, rb, n);
        ar->scal(ar, n, GKA_ELEM(ar, sc, GS_T), apb);
        /* x_i = x_{i-1} + alpha_i p_{i-1} */
        ar->dot(ar, GKA_ELEM(ar, sc, GS_T), n, dx, pp);
        ar->add(ar, GKA_ELEM(ar, sc, GS_ALPHA_BAR), GKA_ELEM(ar, sc, GS_ALPHA_BAR),
                GKA_ELEM(ar, sc, GS_T));
        ar->axpy(ar, n, alpha_i, dx, pbn);
        /* alpha_i = rr_{i-1} / pAp_i */
        ar->div(ar, GKA_ELEM(ar, sc, GS_T), GKA_ELEM(ar, sc, GS_ALPHA_BAR), pAp_i);
        ar->add(ar, GKA_ELEM(ar, sc, GS_RR_PREV_BAR), GKA_ELEM(ar, sc, GS_RR_PREV_BAR),
                GKA_ELEM(ar, sc, GS_T));
        ar->mul(ar, GKA_ELEM(ar, sc, GS_PAP_BAR), GKA_ELEM(ar, sc, GS_T), alpha_i);
        ar->sub(ar, GKA_ELEM(ar, sc, GS_PAP_BAR), GKA_ELEM(ar, sc, GS_ZERO),
                GKA_ELEM(ar, sc, GS_PAP_BAR));
        /* pAp_i = p_{i-1} . Ap */
        ar->axpy(ar, n, GKA_ELEM(ar, sc, GS_PAP_BAR), ap, pbn);
        ar->axpy(ar, n, GKA_ELEM(ar, sc, GS_PAP_BAR), pp, apb);
        /* Ap = A p_{i-1} */
        matvec(ctx, apb, tv);
        ar->axpy(ar, n, GKA_ELEM(ar, sc, GS_ONE), tv, pbn);
        outer_acc(ar, n, GKA_ELEM(ar, sc, GS_ONE), apb, pp, Abar, GKA_ELEM(ar, sc, GS_T));
        ar->copy(ar, pb, pbn, n);
        ar->copy(ar, GKA_ELEM(ar, sc, GS_RR_BAR), GKA_ELEM(ar, sc, GS_RR_PREV_BAR), 1);
    }
    /* r_0 = q, p_0 = r_0, rr_0 = r_0 . r_0 */
    ar->copy(ar, dq, rb, n);
    ar->axpy(ar, n, GKA_ELEM(ar, sc, GS_ONE), pb, dq);
    ar->mul(ar, GKA_ELEM(ar, sc, GS_T), GKA_ELEM(ar, sc, GS_RR_BAR), GKA_ELEM(ar, sc, GS_TWO));
    ar->axpy(ar, n, GKA_ELEM(ar, sc, GS_T), GKA_ROW(ar, rs, n, 0), dq);
out:
    if (rs) ar->free(ar, rs, (R + 1) * n);
    if (ps) ar->free(ar, ps, (R + 1) * n);
    if (aps) ar->free(ar, aps, (R + 1) * n);
    if (alphas) ar->free(ar, alphas, R + 1);
    if (betas) ar->free(ar, betas, R + 1);
    if (rr) ar->free(ar, rr, R + 2);
    if (pAps) ar->free(ar, pAps, R + 1);
    if (sc) ar->free(ar, sc, GS_N);
    if (rb) ar->free(ar, rb, n);
    if (pb) ar->free(ar, pb, n);
    if (pbn) ar->free(ar, pbn, n);
    if (apb) ar->free(ar, apb, n);
    if (tv) ar->free(ar, tv, n);
    return status;
}
