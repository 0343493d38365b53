/* The arithmetic-table pieces of gka_iteration.h: the Chebyshev schedule and
 * step and the CG step, written once for the forward solvers, the adjoints,
 * the figures and the benchmarks. The roundings are those of the native
 * versions in gka_iteration.h, placed by the table. */
#include "gka_iteration.h"

#include <math.h>

/* Scalar slots of a schedule. */
enum {
    SCH_ONE,
    SCH_TWO,
    SCH_QUARTER,
    SCH_ZERO,
    SCH_L,
    SCH_DEN,
    SCH_NUM,
    SCH_RHO,
    SCH_S,
    SCH_RQ,
    SCH_OMEGA,
    SCH_NSO,
    SCH_OM1,
    SCH_T,
    SCH_MONE,
    SCH_N
};

#define SLOT(sch, k) GKA_ELEM((sch)->A, (sch)->sc, SCH_##k)

gka_status_t gka_cheb_setup(gka_cheb_schedule_t *sch, gka_arith_t *A, const void *hnorm,
                            const void *lambda) {
    sch->A = A;
    sch->sc = A->alloc(A, SCH_N);
    if (!sch->sc) return gka_error(GKA_ENOMEM, "chebyshev: out of memory (schedule)");
    A->set_d(A, SLOT(sch, ONE), 1.0);
    A->set_d(A, SLOT(sch, TWO), 2.0);
    A->set_d(A, SLOT(sch, QUARTER), 0.25);
    A->set_d(A, SLOT(sch, ZERO), 0.0);
    A->set_d(A, SLOT(sch, MONE), -1.0);
    /* mu = lambda, L = ||H||_F + lambda; rho = (L - mu)/(L + mu), s = 2/(L + mu) */
    A->add(A, SLOT(sch, L), hnorm, lambda);
    A->add(A, SLOT(sch, DEN), SLOT(sch, L), lambda);
    A->sub(A, SLOT(sch, NUM), SLOT(sch, L), lambda);
    A->div(A, SLOT(sch, RHO), SLOT(sch, NUM), SLOT(sch, DEN));
    A->div(A, SLOT(sch, S), SLOT(sch, TWO), SLOT(sch, DEN));
    A->mul(A, SLOT(sch, RQ), SLOT(sch, RHO), SLOT(sch, RHO));
    A->mul(A, SLOT(sch, RQ), SLOT(sch, RQ), SLOT(sch, QUARTER));
    A->set_d(A, SLOT(sch, OMEGA), (double)GKA_CHEB_OMEGA0);
    return GKA_OK;
}

void gka_cheb_release(gka_cheb_schedule_t *sch) {
    if (sch->sc) sch->A->free(sch->A, sch->sc, SCH_N);
    sch->sc = NULL;
}

const void *gka_cheb_s(const gka_cheb_schedule_t *sch) {
    return SLOT(sch, S);
}
const void *gka_cheb_rho(const gka_cheb_schedule_t *sch) {
    return SLOT(sch, RHO);
}
const void *gka_cheb_rq(const gka_cheb_schedule_t *sch) {
    return SLOT(sch, RQ);
}
const void *gka_cheb_den(const gka_cheb_schedule_t *sch) {
    return SLOT(sch, DEN);
}
const void *gka_cheb_omega(const gka_cheb_schedule_t *sch) {
    return SLOT(sch, OMEGA);
}
const void *gka_cheb_nso(const gka_cheb_schedule_t *sch) {
    return SLOT(sch, NSO);
}
const void *gka_cheb_om1(const gka_cheb_schedule_t *sch) {
    return SLOT(sch, OM1);
}

/* omega_i = 1 / (1 - rq omega_{i-1}) in A, as gka_cheb_omega_next_d. */
static void omega_next(gka_arith_t *A, void *omega, const void *rq, const void *one, void *t) {
    A->mul(A, t, rq, omega);
    A->sub(A, t, one, t);
    A->div(A, omega, one, t);
}

void gka_cheb_next(gka_cheb_schedule_t *sch) {
    gka_arith_t *A = sch->A;
    omega_next(A, SLOT(sch, OMEGA), SLOT(sch, RQ), SLOT(sch, ONE), SLOT(sch, T));
    A->mul(A, SLOT(sch, NSO), SLOT(sch, S), SLOT(sch, OMEGA));
    A->sub(A, SLOT(sch, NSO), SLOT(sch, ZERO), SLOT(sch, NSO));
    A->sub(A, SLOT(sch, OM1), SLOT(sch, OMEGA), SLOT(sch, ONE));
}

int gka_cheb_usable(const gka_cheb_schedule_t *sch, gka_reason_t *reason) {
    gka_arith_t *A = sch->A;
    const double den = A->get_d(A, SLOT(sch, DEN));
    if (den > 0.0 && isfinite(A->get_d(A, SLOT(sch, S)))) return 1;
    *reason = isnan(den) ? GKA_REASON_NAN : GKA_REASON_BREAKDOWN;
    return 0;
}

void gka_cheb_step(const gka_cheb_schedule_t *sch, size_t n, const void *xc, const void *xp,
                   const void *res, void *d, void *xn) {
    gka_arith_t *A = sch->A;
    A->copy(A, d, xc, n);
    A->axpy(A, n, SLOT(sch, MONE), xp, d); /* x_{i-1} - x_{i-2} */
    A->copy(A, xn, xc, n);
    A->axpy(A, n, SLOT(sch, NSO), res, xn);
    A->axpy(A, n, SLOT(sch, OM1), d, xn);
}

gka_status_t gka_cheb_omegas(gka_arith_t *A, double rho, int r, double *omega) {
    void *w = A->alloc(A, 5);
    if (!w) return gka_error(GKA_ENOMEM, "chebyshev: out of memory (omegas)");
    void *om = GKA_ELEM(A, w, 0), *rq = GKA_ELEM(A, w, 1), *one = GKA_ELEM(A, w, 2),
         *t = GKA_ELEM(A, w, 3), *quarter = GKA_ELEM(A, w, 4);
    A->set_d(A, om, (double)GKA_CHEB_OMEGA0);
    A->set_d(A, one, 1.0);
    A->set_d(A, quarter, 0.25);
    A->set_d(A, rq, rho);
    A->mul(A, rq, rq, rq);
    A->mul(A, rq, rq, quarter); /* rho^2 / 4, as gka_cheb_setup */
    omega[0] = A->get_d(A, om);
    for (int i = 1; i <= r; i++) {
        omega_next(A, om, rq, one, t);
        omega[i] = A->get_d(A, om);
    }
    A->free(A, w, 5);
    return GKA_OK;
}

void gka_cg_step(gka_arith_t *A, size_t n, void *x, void *r, void *p, const void *Ap,
                 const void *pAp, void *rr, void *alpha, void *beta, void *t, const void *zero,
                 const void *one) {
    A->div(A, alpha, rr, pAp);
    A->axpy(A, n, alpha, p, x);
    A->sub(A, t, zero, alpha);
    A->axpy(A, n, t, Ap, r);
    A->dot(A, t, n, r, r); /* rr_new */
    A->div(A, beta, t, rr);
    A->copy(A, rr, t, 1);
    A->scal(A, n, beta, p);
    A->axpy(A, n, one, r, p); /* p = r + beta p */
}

double gka_arith_unit_roundoff(const gka_arith_t *A) {
    if (A->mpfr_prec > 0) return ldexp(1.0, -(int)A->mpfr_prec);
    return A->round.format.u;
}

double gka_iter_norm64(gka_arith_t *A, const void *v, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double x = A->get_d(A, GKA_CELEM(A, v, i));
        s += x * x;
    }
    return sqrt(s);
}
