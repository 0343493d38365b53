/* solvers/iteration.c and gka_iteration.h: the native float pieces round as
 * the emulated fp32 table does (one implementation for C, CUDA and the
 * tables), omega* is the recurrence's fixed point, the bound, the monitor. */
#include "solver_testlib.h"

#include "gka_iteration.h"

Test(iteration, native_float_schedule_equals_fp32_table) {
    gka_arith_t A;
    cr_assert_eq(gka_arith_init_by_name(&A, "fp32", "round", NULL, 0), GKA_OK);
    const float rho = 1.0f / (1.0f + 2.0f * 0.02f);
    double om[41];
    cr_assert_eq(gka_cheb_omegas(&A, rho, 40, om), GKA_OK);
    float o = (float)GKA_CHEB_OMEGA0, quarter_rho_sq = gka_cheb_quarter_rho_sq_f(rho);
    for (int i = 1; i <= 40; i++) {
        o = gka_cheb_omega_next_f(quarter_rho_sq, o);
        cr_assert_eq((double)o, om[i], "omega_%d: native %.9g table %.9g", i, (double)o, om[i]);
    }
    /* rho, s from ||H|| and lambda, and one step on 3 elements */
    void *h = A.alloc(&A, 1), *l = A.alloc(&A, 1);
    A.set_d(&A, h, 3.7), A.set_d(&A, l, 0.074f);
    gka_cheb_schedule_t sch;
    cr_assert_eq(gka_cheb_setup(&sch, &A, h, l), GKA_OK);
    float frho, fs;
    gka_cheb_params_f(3.7f, 0.074f, &frho, &fs);
    cr_assert_eq((double)frho, A.get_d(&A, gka_cheb_rho(&sch)));
    cr_assert_eq((double)fs, A.get_d(&A, gka_cheb_s(&sch)));
    gka_cheb_next(&sch);
    const double xc[3] = {0.3, -1.1, 2.5}, xp[3] = {0.1, -0.9, 2.2}, rs[3] = {0.01, 0.2, -0.7};
    void *vc = A.alloc(&A, 3), *vp = A.alloc(&A, 3), *vr = A.alloc(&A, 3), *d = A.alloc(&A, 3),
         *xn = A.alloc(&A, 3);
    A.from_double(&A, vc, xc, 3), A.from_double(&A, vp, xp, 3), A.from_double(&A, vr, rs, 3);
    gka_cheb_step(&sch, 3, vc, vp, vr, d, xn);
    const float neg_s_omega = (float)A.get_d(&A, gka_cheb_neg_s_omega(&sch)),
                omega_minus_1 = (float)A.get_d(&A, gka_cheb_omega_minus_1(&sch));
    for (int i = 0; i < 3; i++) {
        const float f = gka_cheb_update_f(
            (float)A.get_d(&A, GKA_ELEM(&A, vc, i)), (float)A.get_d(&A, GKA_ELEM(&A, vp, i)),
            (float)A.get_d(&A, GKA_ELEM(&A, vr, i)), neg_s_omega, omega_minus_1);
        cr_assert_eq((double)f, A.get_d(&A, GKA_ELEM(&A, xn, i)), "element %d", i);
    }
    gka_cheb_release(&sch);
    A.free(&A, h, 1), A.free(&A, l, 1), A.free(&A, vc, 3), A.free(&A, vp, 3);
    A.free(&A, vr, 3), A.free(&A, d, 3), A.free(&A, xn, 3);
    gka_arith_destroy(&A);
}

Test(iteration, omega_star_bound_monitor) {
    const double rho = 1.0 / 1.04, ws = gka_cheb_omega_star_d(rho);
    cr_assert_float_eq(gka_cheb_omega_next_d(gka_cheb_quarter_rho_sq_d(rho), ws), ws, 1e-12);
    double o = GKA_CHEB_OMEGA0;
    for (int i = 0; i < 2000; i++)
        o = gka_cheb_omega_next_d(gka_cheb_quarter_rho_sq_d(rho), o);
    cr_assert_float_eq(o, ws, 1e-9);
    cr_assert_float_eq(gka_cheb_bound_d(0.5, 1), 2.0 * 0.5 / 1.25, 1e-15);
    cr_assert_eq(gka_iter_monitor(0.0, 1.0, 0.0, 1), GKA_REASON_CONVERGED);
    cr_assert_eq(gka_iter_monitor(1e-3, 1.0, 0.0, 1), GKA_REASON_NONE);
    cr_assert_eq(gka_iter_monitor(NAN, 1.0, 0.0, 1), GKA_REASON_NAN);
    cr_assert_eq(gka_iter_monitor(NAN, 1.0, 0.0, 0), GKA_REASON_NONE); /* plain: no guard */
    cr_assert_eq(gka_iter_monitor(1e5, 1.0, 0.0, 1), GKA_REASON_DIVERGED);
    cr_assert_eq(gka_cg_curvature(0.0, 1e-20, 1.0, ldexp(1.0, -53)), GKA_REASON_CONVERGED);
    cr_assert_eq(gka_cg_curvature(0.0, 1e-20, 1.0, ldexp(1.0, -200)), GKA_REASON_BREAKDOWN);
    cr_assert_eq(gka_cg_curvature(-1.0, 1.0, 1.0, 1e-16), GKA_REASON_LOST_PD);
    cr_assert_eq(gka_cg_residual_guard(0.0), GKA_REASON_CONVERGED);
}
