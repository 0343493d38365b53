/* Reverse mode through the iterations of Chebyshev and CG (hand-written
 * adjoints of the recurrences, no tape): the forward runs the pieces of
 * gka_iteration.h (Chebyshev schedule and step, the stopping test) and
 * gka_cg_solve itself (zero start, tol = 0), storing every iterate; the reverse sweep runs the
 * adjoint recurrences in the same arithmetic table. The adjoints are those of the real-arithmetic
 * recurrence, evaluated at the stored (rounded) iterates. */
#include "gka_backward.h"
#include "solver_internal.h"

#include <stdlib.h>
#include <string.h>

/* Element i of a block of D-vectors. */
#define VEC(A, base, i, n) GKA_ELEM(A, base, (size_t)(i) * (n))

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
    CS_MONE,
    CS_TWO,
    CS_QUARTER,
    CS_L,
    CS_DEN,
    CS_NUM,
    CS_RHO,
    CS_RQ,
    CS_S,
    CS_T,
    CS_T2,
    CS_SB,
    CS_RQB,
    CS_OMB,
    CS_OMB_PREV,
    CS_NSOB,
    CS_OM1B,
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
     * om, nso, om1: omega_i, -s omega_i, omega_i - 1 (slot i) */
    void *xs = A->alloc(A, (R + 2) * n), *res = A->alloc(A, (R + 1) * n);
    void *om = A->alloc(A, R + 1), *nso = A->alloc(A, R + 1), *om1 = A->alloc(A, R + 1);
    void *sc = A->alloc(A, CS_N), *d = A->alloc(A, n), *xb = A->alloc(A, 3 * n),
         *Av = A->alloc(A, n);
    gka_status_t status = GKA_OK;
    if (!xs || !res || !om || !nso || !om1 || !sc || !d || !xb || !Av) {
        status = gka_error(GKA_ENOMEM, "chebyshev adjoint: out of memory (D = %d, r = %d)", D, r);
        goto out;
    }
#define S_(k) GKA_ELEM(A, sc, CS_##k)
    A->set_d(A, S_(ZERO), 0.0);
    A->set_d(A, S_(ONE), 1.0);
    A->set_d(A, S_(MONE), -1.0);
    A->set_d(A, S_(TWO), 2.0);
    A->set_d(A, S_(QUARTER), 0.25);
    A->set_d(A, S_(HALF), 0.5);
    A->set_d(A, dlambda, 0.0);
    A->set_d(A, dhnorm, 0.0);
    *iters = 0;
    *reason = GKA_REASON_ITERATION_LIMIT;
    /* the forward: gka_chebyshev_solve's schedule, step and stopping test
     * (gka_iteration.h), storing every iterate and the step scalars */
    gka_cheb_schedule_t sch = {0};
    if ((status = gka_cheb_setup(&sch, A, hnorm, lambda)) != GKA_OK) goto out;
    A->copy(A, S_(L), hnorm, 1);
    A->add(A, S_(L), S_(L), lambda);
    A->copy(A, S_(DEN), gka_cheb_den(&sch), 1);
    A->copy(A, S_(RHO), gka_cheb_rho(&sch), 1);
    A->copy(A, S_(S), gka_cheb_s(&sch), 1);
    A->copy(A, S_(RQ), gka_cheb_rq(&sch), 1);
    if (!gka_cheb_usable(&sch, reason)) {
        gka_cheb_release(&sch);
        zero_vec(A, x, n);
        zero_vec(A, dq, n);
        goto out;
    }
    /* forward: x_{-1} = 0, x_0 = s q */
    zero_vec(A, VEC(A, xs, 0, n), n);
    A->copy(A, VEC(A, xs, 1, n), q, n);
    A->scal(A, n, S_(S), VEC(A, xs, 1, n));
    const double qn = gka_iter_norm64(A, q, n), qscale = qn > 0.0 ? qn : 1.0;
    A->copy(A, GKA_ELEM(A, om, 0), gka_cheb_omega(&sch), 1);
    int m = 0;
    for (int i = 1; i <= r; i++) {
        void *ri = VEC(A, res, i, n);
        const void *xc = VEC(A, xs, i, n), *xp = VEC(A, xs, i - 1, n);
        gka_cheb_next(&sch);
        matvec(ctx, xc, ri);
        A->axpy(A, n, S_(MONE), q, ri);
        const gka_reason_t stop = gka_iter_monitor(gka_iter_norm64(A, ri, n), qscale, 0.0, 1);
        if (stop != GKA_REASON_NONE) {
            *reason = stop;
            break;
        }
        A->copy(A, GKA_ELEM(A, om, (size_t)i), gka_cheb_omega(&sch), 1);
        A->copy(A, GKA_ELEM(A, nso, (size_t)i), gka_cheb_nso(&sch), 1);
        A->copy(A, GKA_ELEM(A, om1, (size_t)i), gka_cheb_om1(&sch), 1);
        gka_cheb_step(&sch, n, xc, xp, ri, d, VEC(A, xs, i + 1, n));
        m = i;
    }
    gka_cheb_release(&sch);
    *iters = m;
    A->copy(A, x, VEC(A, xs, m + 1, n), n);

    /* reverse: xb rolls over three slots: x_i, x_{i-1}, x_{i-2} */
    void *b[3] = {VEC(A, xb, 0, n), VEC(A, xb, 1, n), VEC(A, xb, 2, n)};
    A->copy(A, b[0], dx, n);
    zero_vec(A, b[1], n);
    zero_vec(A, dq, n);
    A->set_d(A, S_(SB), 0.0);
    A->set_d(A, S_(OMB_PREV), 0.0); /* omega-bar of step i + 1, for the omega chain */
    A->set_d(A, S_(RQB), 0.0);
    /* omega-bar of step i is needed before the chain step of i, so the scalar
     * adjoints of the steps are kept per step in om1 (reused: om1 no longer
     * needed after the vector sweep reads it). Store omegab_i in `d`-sized
     * scalar array: reuse `nso` after reading it. */
    for (int i = m; i >= 1; i--) {
        void *xbi = b[0], *xbp = b[1], *xbpp = b[2];
        zero_vec(A, xbpp, n);
        const void *xp = VEC(A, xs, i, n), *xpp = VEC(A, xs, i - 1, n);
        void *nsoi = GKA_ELEM(A, nso, (size_t)i), *om1i = GKA_ELEM(A, om1, (size_t)i);
        /* scalar adjoints of this step */
        A->dot(A, S_(NSOB), n, xbi, VEC(A, res, i, n)); /* nso-bar = xb_i . res_i */
        A->copy(A, d, xp, n);
        A->axpy(A, n, S_(MONE), xpp, d);
        A->dot(A, S_(OM1B), n, xbi, d); /* om1-bar = xb_i . (x_{i-1} - x_{i-2}) */
        /* vector adjoints */
        A->axpy(A, n, S_(ONE), xbi, xbp);
        A->axpy(A, n, om1i, xbi, xbp);
        matvec(ctx, xbi, Av);
        A->axpy(A, n, nsoi, Av, xbp);
        A->sub(A, S_(T), S_(ZERO), om1i);
        A->axpy(A, n, S_(T), xbi, xbpp);
        A->sub(A, S_(T), S_(ZERO), nsoi);
        A->axpy(A, n, S_(T), xbi, dq);
        outer_acc(A, n, nsoi, xbi, xp, Abar, S_(T)); /* Abar += nso_i xb_i x_{i-1}^T */
        /* nso = -s omega:  s-bar -= omega nso-bar;  omega-bar = om1-bar - s nso-bar */
        A->mul(A, S_(T), GKA_ELEM(A, om, (size_t)i), S_(NSOB));
        A->sub(A, S_(SB), S_(SB), S_(T));
        A->mul(A, S_(T), S_(S), S_(NSOB));
        A->sub(A, S_(OM1B), S_(OM1B), S_(T));
        A->copy(A, nsoi, S_(OM1B), 1); /* nso_i no longer needed: keep omega-bar_i */
        b[0] = xbp;
        b[1] = xbpp;
        b[2] = xbi;
    }
    /* x_0 = s q */
    A->axpy(A, n, S_(S), b[0], dq);
    A->dot(A, S_(T), n, q, b[0]);
    A->add(A, S_(SB), S_(SB), S_(T));
    /* omega chain: omega_i = 1 / (1 - rq omega_{i-1}) */
    A->set_d(A, S_(OMB), 0.0); /* carried omega-bar of omega_i from step i + 1 */
    for (int i = m; i >= 1; i--) {
        const void *omi = GKA_ELEM(A, om, (size_t)i), *omp = GKA_ELEM(A, om, (size_t)i - 1);
        A->add(A, S_(OMB), S_(OMB), GKA_ELEM(A, nso, (size_t)i)); /* total omega-bar_i */
        A->mul(A, S_(T2), omi, omi);
        A->mul(A, S_(T2), S_(T2), S_(OMB)); /* omega-bar_i omega_i^2 */
        A->mul(A, S_(T), S_(T2), omp);
        A->add(A, S_(RQB), S_(RQB), S_(T));
        A->mul(A, S_(OMB), S_(T2), S_(RQ)); /* to omega_{i-1} */
    }
    /* rq = rho^2 / 4 -> rho-bar = rq-bar rho / 2; rho = num / den, s = 2 / den,
     * num = hnorm, den = hnorm + 2 lambda */
    A->mul(A, S_(T), S_(RQB), S_(RHO));
    A->mul(A, S_(T), S_(T), S_(HALF)); /* rho-bar */
    A->div(A, S_(T2), S_(T), S_(DEN)); /* num-bar */
    A->copy(A, dhnorm, S_(T2), 1);
    A->mul(A, S_(T), S_(T), S_(RHO));
    A->mul(A, S_(T2), S_(SB), S_(S));
    A->add(A, S_(T), S_(T), S_(T2));
    A->div(A, S_(T), S_(T), S_(DEN));
    A->sub(A, S_(T), S_(ZERO), S_(T)); /* den-bar = -(rho-bar rho + s-bar s) / den */
    A->add(A, dhnorm, dhnorm, S_(T));
    A->mul(A, dlambda, S_(T), S_(TWO));
#undef S_
out:
    if (xs) A->free(A, xs, (R + 2) * n);
    if (res) A->free(A, res, (R + 1) * n);
    if (om) A->free(A, om, R + 1);
    if (nso) A->free(A, nso, R + 1);
    if (om1) A->free(A, om1, R + 1);
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
    GS_MONE,
    GS_TWO,
    GS_NAL,
    GS_RRB,
    GS_RRBP,
    GS_BB,
    GS_AB,
    GS_PAPB,
    GS_T,
    GS_N
};

/* What the CG adjoint keeps of the forward: r_i, p_i (slot i), Ap_i, alpha_i,
 * beta_i, pAp_i (slot i - 1), rr_i (slot i). */
typedef struct {
    gka_arith_t *A;
    size_t n;
    void *rs, *ps, *aps, *al, *be, *rr, *pap;
} cg_tape_t;

static void cg_record(void *ctx, const gka_cg_step_info_t *st) {
    cg_tape_t *t = ctx;
    gka_arith_t *A = t->A;
    const size_t i = (size_t)st->i, n = t->n;
    A->copy(A, VEC(A, t->rs, i, n), st->r, n);
    A->copy(A, VEC(A, t->ps, i, n), st->p, n);
    A->copy(A, GKA_ELEM(A, t->rr, i), st->rr, 1);
    if (i == 0) return;
    A->copy(A, VEC(A, t->aps, i - 1, n), st->Ap, n);
    A->copy(A, GKA_ELEM(A, t->al, i - 1), st->alpha, 1);
    A->copy(A, GKA_ELEM(A, t->be, i - 1), st->beta, 1);
    A->copy(A, GKA_ELEM(A, t->pap, i - 1), st->pAp, 1);
}

gka_status_t gka_cg_adjoint(gka_arith_t *A, int D, gka_matvec_fn matvec, void *ctx, const void *q,
                            int r, const void *dx, void *x, void *dq, void *Abar, int *iters,
                            gka_reason_t *reason) {
    if (!A || !matvec || !q || !dx || !x || !dq || !Abar || !iters || !reason || D < 1 || r < 0)
        return gka_error(GKA_EINVAL, "gka_cg_adjoint: bad argument (D = %d, r = %d)", D, r);
    const size_t n = (size_t)D, R = (size_t)r;
    /* rs: r_0..r_r; ps: p_0..p_r; aps: Ap for step i in slot i - 1;
     * al, be, rr, pap: alpha_i, beta_i, rr_{i-1}, pAp_i in slot i - 1 */
    void *rs = A->alloc(A, (R + 1) * n), *ps = A->alloc(A, (R + 1) * n),
         *aps = A->alloc(A, (R + 1) * n);
    void *al = A->alloc(A, R + 1), *be = A->alloc(A, R + 1), *rr = A->alloc(A, R + 2),
         *pap = A->alloc(A, R + 1);
    void *sc = A->alloc(A, GS_N), *rb = A->alloc(A, n), *pb = A->alloc(A, n), *pbn = A->alloc(A, n),
         *apb = A->alloc(A, n), *tv = A->alloc(A, n);
    gka_status_t status = GKA_OK;
    if (!rs || !ps || !aps || !al || !be || !rr || !pap || !sc || !rb || !pb || !pbn || !apb ||
        !tv) {
        status = gka_error(GKA_ENOMEM, "cg adjoint: out of memory (D = %d, r = %d)", D, r);
        goto out;
    }
#define S_(k) GKA_ELEM(A, sc, GS_##k)
#define SL(arr, i) GKA_ELEM(A, arr, (size_t)(i))
    A->set_d(A, S_(ZERO), 0.0);
    A->set_d(A, S_(ONE), 1.0);
    A->set_d(A, S_(MONE), -1.0);
    A->set_d(A, S_(TWO), 2.0);
    *reason = GKA_REASON_ITERATION_LIMIT;
    /* forward: gka_cg_solve (zero start, no tolerance), every step's vectors
     * and scalars stored by the hook */
    cg_tape_t tape = {A, n, rs, ps, aps, al, be, rr, pap};
    int m = 0;
    if ((status = gka_cg_solve(A, D, matvec, ctx, q, r, 0.0, 1, NULL, x, cg_record, &tape, &m,
                               reason)) != GKA_OK)
        goto out;
    *iters = m;
    /* reverse; xb = dx throughout (x_i = x_{i-1} + alpha_i p_{i-1}) */
    zero_vec(A, rb, n);
    zero_vec(A, pb, n);
    A->set_d(A, S_(RRB), 0.0);
    for (int i = m; i >= 1; i--) {
        const void *pp = VEC(A, ps, i - 1, n), *ri = VEC(A, rs, i, n), *ap = VEC(A, aps, i - 1, n);
        const void *ali = SL(al, i - 1), *bei = SL(be, i - 1), *rrp = SL(rr, i - 1),
                   *papi = SL(pap, i - 1);
        /* p_i = r_i + beta_i p_{i-1} */
        A->axpy(A, n, S_(ONE), pb, rb);
        A->dot(A, S_(BB), n, pb, pp);
        A->copy(A, pbn, pb, n);
        A->scal(A, n, bei, pbn);
        /* beta_i = rr_i / rr_{i-1} */
        A->div(A, S_(T), S_(BB), rrp);
        A->add(A, S_(RRB), S_(RRB), S_(T));
        A->mul(A, S_(T), S_(T), bei);
        A->sub(A, S_(RRBP), S_(ZERO), S_(T));
        /* rr_i = r_i . r_i */
        A->mul(A, S_(T), S_(RRB), S_(TWO));
        A->axpy(A, n, S_(T), ri, rb);
        /* r_i = r_{i-1} - alpha_i Ap */
        A->dot(A, S_(AB), n, rb, ap);
        A->sub(A, S_(AB), S_(ZERO), S_(AB));
        A->sub(A, S_(T), S_(ZERO), ali);
        A->copy(A, apb, rb, n);
        A->scal(A, n, S_(T), apb);
        /* x_i = x_{i-1} + alpha_i p_{i-1} */
        A->dot(A, S_(T), n, dx, pp);
        A->add(A, S_(AB), S_(AB), S_(T));
        A->axpy(A, n, ali, dx, pbn);
        /* alpha_i = rr_{i-1} / pAp_i */
        A->div(A, S_(T), S_(AB), papi);
        A->add(A, S_(RRBP), S_(RRBP), S_(T));
        A->mul(A, S_(PAPB), S_(T), ali);
        A->sub(A, S_(PAPB), S_(ZERO), S_(PAPB));
        /* pAp_i = p_{i-1} . Ap */
        A->axpy(A, n, S_(PAPB), ap, pbn);
        A->axpy(A, n, S_(PAPB), pp, apb);
        /* Ap = A p_{i-1} */
        matvec(ctx, apb, tv);
        A->axpy(A, n, S_(ONE), tv, pbn);
        outer_acc(A, n, S_(ONE), apb, pp, Abar, S_(T));
        A->copy(A, pb, pbn, n);
        A->copy(A, S_(RRB), S_(RRBP), 1);
    }
    /* r_0 = q, p_0 = r_0, rr_0 = r_0 . r_0 */
    A->copy(A, dq, rb, n);
    A->axpy(A, n, S_(ONE), pb, dq);
    A->mul(A, S_(T), S_(RRB), S_(TWO));
    A->axpy(A, n, S_(T), VEC(A, rs, 0, n), dq);
#undef S_
#undef SL
out:
    if (rs) A->free(A, rs, (R + 1) * n);
    if (ps) A->free(A, ps, (R + 1) * n);
    if (aps) A->free(A, aps, (R + 1) * n);
    if (al) A->free(A, al, R + 1);
    if (be) A->free(A, be, R + 1);
    if (rr) A->free(A, rr, R + 2);
    if (pap) A->free(A, pap, R + 1);
    if (sc) A->free(A, sc, GS_N);
    if (rb) A->free(A, rb, n);
    if (pb) A->free(A, pb, n);
    if (pbn) A->free(A, pbn, n);
    if (apb) A->free(A, apb, n);
    if (tv) A->free(A, tv, n);
    return status;
}
