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
    SCH_QUARTER_RHO_SQ,
    SCH_OMEGA,
    SCH_NEG_S_OMEGA,
    SCH_OMEGA_MINUS_1,
    SCH_T,
    SCH_MINUS_ONE,
    SCH_N
};

/* Scalar slot SCH_* of a schedule. */
static inline void *schedule_scalar(const gka_cheb_schedule_t *sch, int slot) {
    return GKA_ELEM(sch->A, sch->sc, slot);
}

gka_status_t gka_cheb_setup(gka_cheb_schedule_t *sch, gka_arith_t *ar, const void *hnorm,
                            const void *lambda) {
    sch->A = ar;
    sch->sc = ar->alloc(ar, SCH_N);
    if (!sch->sc) return gka_error(GKA_ENOMEM, "chebyshev: out of memory (schedule)");
    ar->set_d(ar, schedule_scalar(sch, SCH_ONE), 1.0);
    ar->set_d(ar, schedule_scalar(sch, SCH_TWO), 2.0);
    ar->set_d(ar, schedule_scalar(sch, SCH_QUARTER), 0.25);
    ar->set_d(ar, schedule_scalar(sch, SCH_ZERO), 0.0);
    ar->set_d(ar, schedule_scalar(sch, SCH_MINUS_ONE), -1.0);
    /* mu = lambda, L = ||H||_F + lambda; rho = (L - mu)/(L + mu), s = 2/(L + mu) */
    ar->add(ar, schedule_scalar(sch, SCH_L), hnorm, lambda);
    ar->add(ar, schedule_scalar(sch, SCH_DEN), schedule_scalar(sch, SCH_L), lambda);
    ar->sub(ar, schedule_scalar(sch, SCH_NUM), schedule_scalar(sch, SCH_L), lambda);
    ar->div(ar, schedule_scalar(sch, SCH_RHO), schedule_scalar(sch, SCH_NUM),
            schedule_scalar(sch, SCH_DEN));
    ar->div(ar, schedule_scalar(sch, SCH_S), schedule_scalar(sch, SCH_TWO),
            schedule_scalar(sch, SCH_DEN));
    ar->mul(ar, schedule_scalar(sch, SCH_QUARTER_RHO_SQ), schedule_scalar(sch, SCH_RHO),
            schedule_scalar(sch, SCH_RHO));
    ar->mul(ar, schedule_scalar(sch, SCH_QUARTER_RHO_SQ), schedule_scalar(sch, SCH_QUARTER_RHO_SQ),
            schedule_scalar(sch, SCH_QUARTER));
    ar->set_d(ar, schedule_scalar(sch, SCH_OMEGA), (double)GKA_CHEB_OMEGA0);
    return GKA_OK;
}

void gka_cheb_release(gka_cheb_schedule_t *sch) {
    if (sch->sc) sch->A->free(sch->A, sch->sc, SCH_N);
    sch->sc = NULL;
}

const void *gka_cheb_s(const gka_cheb_schedule_t *sch) {
    return schedule_scalar(sch, SCH_S);
}
const void *gka_cheb_rho(const gka_cheb_schedule_t *sch) {
    return schedule_scalar(sch, SCH_RHO);
}
const void *gka_cheb_quarter_rho_sq(const gka_cheb_schedule_t *sch) {
    return schedule_scalar(sch, SCH_QUARTER_RHO_SQ);
}
const void *gka_cheb_den(const gka_cheb_schedule_t *sch) {
    return schedule_scalar(sch, SCH_DEN);
}
const void *gka_cheb_omega(const gka_cheb_schedule_t *sch) {
    return schedule_scalar(sch, SCH_OMEGA);
}
const void *gka_cheb_neg_s_omega(const gka_cheb_schedule_t *sch) {
    return schedule_scalar(sch, SCH_NEG_S_OMEGA);
}
const void *gka_cheb_omega_minus_1(const gka_cheb_schedule_t *sch) {
    return schedule_scalar(sch, SCH_OMEGA_MINUS_1);
}

/* omega_i = 1 / (1 - quarter_rho_sq omega_{i-1}) in ar, as gka_cheb_omega_next_d. */
static void omega_next(gka_arith_t *ar, void *omega, const void *quarter_rho_sq, const void *one,
                       void *t) {
    ar->mul(ar, t, quarter_rho_sq, omega);
    ar->sub(ar, t, one, t);
    ar->div(ar, omega, one, t);
}

void gka_cheb_next(gka_cheb_schedule_t *sch) {
    gka_arith_t *ar = sch->A;
    omega_next(ar, schedule_scalar(sch, SCH_OMEGA), schedule_scalar(sch, SCH_QUARTER_RHO_SQ),
               schedule_scalar(sch, SCH_ONE), schedule_scalar(sch, SCH_T));
    ar->mul(ar, schedule_scalar(sch, SCH_NEG_S_OMEGA), schedule_scalar(sch, SCH_S),
            schedule_scalar(sch, SCH_OMEGA));
    ar->sub(ar, schedule_scalar(sch, SCH_NEG_S_OMEGA), schedule_scalar(sch, SCH_ZERO),
            schedule_scalar(sch, SCH_NEG_S_OMEGA));
    ar->sub(ar, schedule_scalar(sch, SCH_OMEGA_MINUS_1), schedule_scalar(sch, SCH_OMEGA),
            schedule_scalar(sch, SCH_ONE));
}

int gka_cheb_usable(const gka_cheb_schedule_t *sch, gka_reason_t *reason) {
    gka_arith_t *ar = sch->A;
    const double den = ar->get_d(ar, schedule_scalar(sch, SCH_DEN));
    if (den > 0.0 && isfinite(ar->get_d(ar, schedule_scalar(sch, SCH_S)))) return 1;
    *reason = isnan(den) ? GKA_REASON_NAN : GKA_REASON_BREAKDOWN;
    return 0;
}

void gka_cheb_step(const gka_cheb_schedule_t *sch, size_t n, const void *xc, const void *xp,
                   const void *res, void *d, void *xn) {
    gka_arith_t *ar = sch->A;
    ar->copy(ar, d, xc, n);
    ar->axpy(ar, n, schedule_scalar(sch, SCH_MINUS_ONE), xp, d); /* x_{i-1} - x_{i-2} */
    ar->copy(ar, xn, xc, n);
    ar->axpy(ar, n, schedule_scalar(sch, SCH_NEG_S_OMEGA), res, xn);
    ar->axpy(ar, n, schedule_scalar(sch, SCH_OMEGA_MINUS_1), d, xn);
}

gka_status_t gka_cheb_omegas(gka_arith_t *ar, double rho, int r, double *omega) {
    void *w = ar->alloc(ar, 5);
    if (!w) return gka_error(GKA_ENOMEM, "chebyshev: out of memory (omegas)");
    void *omega_i = GKA_ELEM(ar, w, 0), *quarter_rho_sq = GKA_ELEM(ar, w, 1),
         *one = GKA_ELEM(ar, w, 2), *t = GKA_ELEM(ar, w, 3), *quarter = GKA_ELEM(ar, w, 4);
    ar->set_d(ar, omega_i, (double)GKA_CHEB_OMEGA0);
    ar->set_d(ar, one, 1.0);
    ar->set_d(ar, quarter, 0.25);
    ar->set_d(ar, quarter_rho_sq, rho);
    ar->mul(ar, quarter_rho_sq, quarter_rho_sq, quarter_rho_sq);
    ar->mul(ar, quarter_rho_sq, quarter_rho_sq, quarter); /* rho^2 / 4, as gka_cheb_setup */
    omega[0] = ar->get_d(ar, omega_i);
    for (int i = 1; i <= r; i++) {
        omega_next(ar, omega_i, quarter_rho_sq, one, t);
        omega[i] = ar->get_d(ar, omega_i);
    }
    ar->free(ar, w, 5);
    return GKA_OK;
}

void gka_cg_step(gka_arith_t *ar, size_t n, void *x, void *r, void *p, const void *Ap,
                 const void *pAp, void *rr, void *alpha, void *beta, void *t, const void *zero,
                 const void *one) {
    ar->div(ar, alpha, rr, pAp);
    ar->axpy(ar, n, alpha, p, x);
    ar->sub(ar, t, zero, alpha);
    ar->axpy(ar, n, t, Ap, r);
    ar->dot(ar, t, n, r, r); /* rr_new */
    ar->div(ar, beta, t, rr);
    ar->copy(ar, rr, t, 1);
    ar->scal(ar, n, beta, p);
    ar->axpy(ar, n, one, r, p); /* p = r + beta p */
}

double gka_arith_unit_roundoff(const gka_arith_t *ar) {
    if (ar->mpfr_prec > 0) return ldexp(1.0, -(int)ar->mpfr_prec);
    return ar->store.format.u;
}

double gka_iter_norm64(gka_arith_t *ar, const void *v, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double x = ar->get_d(ar, GKA_CELEM(ar, v, i));
        s += x * x;
    }
    return sqrt(s);
}
