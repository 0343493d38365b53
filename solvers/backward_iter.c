/* Reverse mode through the iterations of Chebyshev and CG (hand-written
 * adjoints of the recurrences, no tape): the forward repeats the operation
 * sequence of gka_chebyshev_solve / solvers/cg.c (zero start, tol = 0) and
 * stores every iterate; the reverse sweep runs the adjoint recurrences in the
 * same arithmetic table. The adjoints are those of the real-arithmetic
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

/* sum of squares read in double (a monitor, as the solvers do). */
static double norm64(gka_arith_t *A, const void *v, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double x = A->get_d(A, GKA_CELEM(A, v, i));
        s += x * x;
    }
    return sqrt(s);
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
    /* schedule, as gka_chebyshev_solve */
    A->add(A, S_(L), hnorm, lambda);
    A->add(A, S_(DEN), S_(L), lambda);
    A->sub(A, S_(NUM), S_(L), lambda);
    A->div(A, S_(RHO), S_(NUM), S_(DEN));
    A->div(A, S_(S), S_(TWO), S_(DEN));
    A->mul(A, S_(RQ), S_(RHO), S_(RHO));
    A->mul(A, S_(RQ), S_(RQ), S_(QUARTER));
    const double den64 = A->get_d(A, S_(DEN));
    if (!(den64 > 0.0) || !isfinite(A->get_d(A, S_(S)))) {
        zero_vec(A, x, n);
        zero_vec(A, dq, n);
        *reason = isnan(den64) ? GKA_REASON_NAN : GKA_REASON_BREAKDOWN;
        goto out;
    }
    /* forward: x_{-1} = 0, x_0 = s q */
    zero_vec(A, VEC(A, xs, 0, n), n);
    A->copy(A, VEC(A, xs, 1, n), q, n);
    A->scal(A, n, S_(S), VEC(A, xs, 1, n));
    const double qn = norm64(A, q, n), qscale = qn > 0.0 ? qn : 1.0;
    A->set_d(A, GKA_ELEM(A, om, 0), 2.0);
    int m = 0;
    for (int i = 1; i <= r; i++) {
        void *omi = GKA_ELEM(A, om, (size_t)i), *ri = VEC(A, res, i, n);
        const void *xc = VEC(A, xs, i, n), *xp = VEC(A, xs, i - 1, n);
        A->mul(A, S_(T), S_(RQ), GKA_ELEM(A, om, (size_t)i - 1));
        A->sub(A, S_(T), S_(ONE), S_(T));
        A->div(A, omi, S_(ONE), S_(T));
        matvec(ctx, xc, ri);
        A->axpy(A, n, S_(MONE), q, ri);
        const double rn = norm64(A, ri, n);
        if (isnan(rn)) {
            *reason = GKA_REASON_NAN;
            break;
        }
        if (rn > GKA_SOLVER_DTOL * qscale) {
            *reason = GKA_REASON_DIVERGED;
            break;
        }
        void *nsoi = GKA_ELEM(A, nso, (size_t)i), *om1i = GKA_ELEM(A, om1, (size_t)i);
        A->mul(A, nsoi, S_(S), omi);
        A->sub(A, nsoi, S_(ZERO), nsoi);
        A->sub(A, om1i, omi, S_(ONE));
        A->copy(A, d, xc, n);
        A->axpy(A, n, S_(MONE), xp, d);
        void *xn = VEC(A, xs, i + 1, n);
        A->copy(A, xn, xc, n);
        A->axpy(A, n, nsoi, ri, xn);
        A->axpy(A, n, om1i, d, xn);
        m = i;
    }
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
    /* forward, as solvers/cg.c: x = 0, r = q, p = r, rr = r.r */
    zero_vec(A, x, n);
    A->copy(A, VEC(A, rs, 0, n), q, n);
    A->copy(A, VEC(A, ps, 0, n), VEC(A, rs, 0, n), n);
    A->dot(A, SL(rr, 0), n, VEC(A, rs, 0, n), VEC(A, rs, 0, n));
    const double qn = norm64(A, q, n), qscale = qn > 0.0 ? qn : 1.0;
    int m = 0;
    for (int i = 1; i <= r; i++) {
        const void *rp = VEC(A, rs, i - 1, n), *pp = VEC(A, ps, i - 1, n);
        void *ap = VEC(A, aps, i - 1, n), *ri = VEC(A, rs, i, n), *pi = VEC(A, ps, i, n);
        const double rn = norm64(A, rp, n);
        if (isnan(rn)) {
            *reason = GKA_REASON_NAN;
            break;
        }
        if (rn == 0.0) {
            *reason = GKA_REASON_CONVERGED;
            break;
        }
        if (rn > GKA_SOLVER_DTOL * qscale) {
            *reason = GKA_REASON_DIVERGED;
            break;
        }
        matvec(ctx, pp, ap);
        A->dot(A, SL(pap, i - 1), n, pp, ap);
        const double c = A->get_d(A, SL(pap, i - 1));
        if (!(c > 0.0)) {
            *reason = isnan(c)   ? GKA_REASON_NAN
                      : c == 0.0 ? GKA_REASON_BREAKDOWN
                                 : GKA_REASON_LOST_PD;
            break;
        }
        A->div(A, SL(al, i - 1), SL(rr, i - 1), SL(pap, i - 1));
        A->axpy(A, n, SL(al, i - 1), pp, x);
        A->sub(A, S_(NAL), S_(ZERO), SL(al, i - 1));
        A->copy(A, ri, rp, n);
        A->axpy(A, n, S_(NAL), ap, ri);
        A->dot(A, SL(rr, i), n, ri, ri);
        A->div(A, SL(be, i - 1), SL(rr, i), SL(rr, i - 1));
        A->copy(A, pi, pp, n);
        A->scal(A, n, SL(be, i - 1), pi);
        A->axpy(A, n, S_(ONE), ri, pi);
        m = i;
    }
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
