/* Token-form backward pass (solvers/grad.c): the MATH.md section 4 gradients against
 * 256-bit MPFR central finite differences of the exact solution's loss, the
 * fp64 mirror reference, the lambda path term, a low-precision run, NaN
 * handling and argument checks. */
#include "grad_testlib.h"

static void run_token(gka_arith_t *A, const bt_prob_t *p, const char *solver, int iters,
                      gka_grad_mode_t mode, int lambda_path, bt_grads_t *g, bt_grads_t *ref) {
    gka_grad_problem_t gp = bt_gp(p);
    gka_grad_opts_t o = gka_grad_opts_default();
    o.solver = solver, o.iters = iters, o.mode = mode, o.lambda_path = lambda_path;
    gka_grads_t out = bt_out(g), r;
    if (ref) r = bt_out(ref);
    cr_assert_eq(gka_grad_token(A, &gp, &o, &out, ref ? &r : NULL), GKA_OK, "%s",
                 gka_error_message());
}

/* MPFR-256 implicit gradients of the exact (Cholesky) solution against FD:
 * both are exact to far below double, so they agree to the rounding of the
 * output (2^-53), for gates, write gates, adaptive and fixed ridges. */
static void check_fd_exact(int D, long T, uint64_t seed, double gate, int beta, const char *ridge) {
    bt_prob_t p = bt_prob(D, T, seed, gate, beta, 0.5, ridge);
    bt_grads_t fd = bt_grads_new(D, T), mp = bt_grads_new(D, T), f64 = bt_grads_new(D, T),
               ref = bt_grads_new(D, T);
    bt_fd(&p, BT_EXACT, 0, &fd);
    gka_arith_t Amp, A64;
    cr_assert_eq(gka_arith_init_mpfr(&Amp, BT_PREC, GKA_ACCUM_PER_OP), GKA_OK);
    cr_assert_eq(gka_arith_init_fp64(&A64), GKA_OK);
    run_token(&Amp, &p, "cholesky", 0, GKA_GRAD_IMPLICIT, 1, &mp, NULL);
    run_token(&A64, &p, "cholesky", 0, GKA_GRAD_IMPLICIT, 1, &f64, &ref);
    double e_mp[4], e64[4], eref[4];
    bt_errors(&p, &mp, &fd, e_mp);
    bt_errors(&p, &f64, &fd, e64);
    bt_errors(&p, &ref, &fd, eref);
    cr_log_info("%s D=%d T=%ld vs FD [dq dk dg dbeta]: mpfr %.2e %.2e %.2e %.2e; fp64 %.2e %.2e "
                "%.2e %.2e; dposv ref %.2e %.2e %.2e %.2e",
                ridge, D, T, e_mp[0], e_mp[1], e_mp[2], e_mp[3], e64[0], e64[1], e64[2], e64[3],
                eref[0], eref[1], eref[2], eref[3]);
    for (int i = 0; i < 4; i++) {
        cr_assert(e_mp[i] <= 4e-16, "%s D=%d T=%ld group %d: mpfr vs FD %.3e", ridge, D, T, i,
                  e_mp[i]);
        cr_assert(e64[i] <= 1e-13, "%s group %d: fp64 cholesky vs FD %.3e", ridge, i, e64[i]);
        cr_assert(eref[i] <= 1e-13, "%s group %d: fp64 dposv reference vs FD %.3e", ridge, i,
                  eref[i]);
    }
    /* the gradients are not trivially small */
    double dgn = 0.0;
    for (long t = 0; t < T; t++)
        dgn += fabs(fd.dg[t]);
    cr_assert(gate == 0.0 || dgn > 1e-3, "dg is ~0: the gate check would be vacuous");
    gka_arith_destroy(&Amp);
    gka_arith_destroy(&A64);
    bt_grads_free(&fd), bt_grads_free(&mp), bt_grads_free(&f64), bt_grads_free(&ref);
    bt_prob_free(&p);
}

Test(grad, exact_gradients_match_mpfr_finite_differences_adaptive) {
    check_fd_exact(5, 9, 101, 0.4, 1, "adaptive:0.02");
    check_fd_exact(4, 12, 102, 0.0, 0, "adaptive:0.1");
}

Test(grad, exact_gradients_match_mpfr_finite_differences_fixed) {
    check_fd_exact(6, 8, 103, 0.3, 1, "fixed:0.25");
}

/* Converged Chebyshev (implicit) approaches the exact gradient at the rate of
 * the Chebyshev bound; at r = 150 (R^150 ~ 5e-19 at kappa <= 51) it is exact
 * to fp64 roundoff. */
Test(grad, chebyshev_implicit_converges_to_exact_gradient) {
    const int D = 8;
    const long T = 20;
    bt_prob_t p = bt_prob(D, T, 7, 0.2, 1, 1.0, "adaptive:0.02");
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    bt_grads_t ex = bt_grads_new(D, T), g = bt_grads_new(D, T), ref = bt_grads_new(D, T);
    run_token(&A, &p, "cholesky", 0, GKA_GRAD_IMPLICIT, 1, &ex, &ref);
    double prev = INFINITY;
    const int rs[] = {5, 10, 20, 40, 150};
    for (size_t i = 0; i < 5; i++) {
        run_token(&A, &p, "chebyshev", rs[i], GKA_GRAD_IMPLICIT, 1, &g, NULL);
        double e[4];
        bt_errors(&p, &g, &ref, e);
        const double R = (sqrt(51.0) - 1.0) / (sqrt(51.0) + 1.0), bound = 2.0 * pow(R, rs[i]);
        for (int j = 0; j < 4; j++)
            cr_assert(e[j] <= 200.0 * bound + 1e-12, "r=%d group %d: %.3e (bound %.3e)", rs[i], j,
                      e[j], bound);
        cr_assert(e[1] < prev, "r=%d: dk error %.3e did not decrease", rs[i], e[1]);
        prev = e[1];
    }
    cr_assert(prev <= 1e-12);
    gka_arith_destroy(&A);
    bt_grads_free(&ex), bt_grads_free(&g), bt_grads_free(&ref);
    bt_prob_free(&p);
}

/* Without the lambda path, dq and x are unchanged (bit for bit) and dk, dg,
 * dbeta change by exactly the lambda-path term, computed here on its own:
 * Lam_t = -mu_t H_t + gamma_{t+1} Lam_{t+1}, mu_t = a (x_t . dq_t)/||H_t||_F,
 * dk += 2 beta^2 Lam_t k_t, dbeta += 2 beta k^T Lam_t k, dg += <Lam_t, gamma_t H_{t-1}>. */
Test(grad, lambda_path_off_changes_by_exactly_the_lambda_term) {
    const int D = 7;
    const long T = 16;
    const double a = 0.05;
    bt_prob_t p = bt_prob(D, T, 9, 0.3, 1, 0.7, "adaptive:0.05");
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    bt_grads_t on = bt_grads_new(D, T), off = bt_grads_new(D, T), fd = bt_grads_new(D, T);
    run_token(&A, &p, "cholesky", 0, GKA_GRAD_IMPLICIT, 1, &on, NULL);
    run_token(&A, &p, "cholesky", 0, GKA_GRAD_IMPLICIT, 0, &off, NULL);
    const size_t n = (size_t)D, DD = n * n;
    cr_assert(!memcmp(on.dq, off.dq, (size_t)T * n * 8), "dq changed with the lambda path");
    cr_assert(!memcmp(on.x, off.x, (size_t)T * n * 8), "x changed with the lambda path");
    /* H_t in fp64, as the stream builds it */
    double *H = calloc((size_t)(T + 1) * DD, 8), *Lam = calloc(DD, 8);
    double *dk = calloc((size_t)T * n, 8), dg[16], db[16];
    for (long t = 0; t < T; t++) {
        const double gam = exp(p.g[t]), b2 = p.beta[t] * p.beta[t], *k = p.k + t * D;
        for (size_t i = 0; i < DD; i++)
            H[(t + 1) * DD + i] = gam * H[t * DD + i];
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                H[(t + 1) * DD + i * n + j] += b2 * (k[i] * k[j]);
    }
    for (long t = T - 1; t >= 0; t--) {
        const double *Ht = H + (t + 1) * DD, *k = p.k + t * D, *x = on.x + t * D,
                     *dq = on.dq + t * D;
        double hn = 0.0, xdq = 0.0;
        for (size_t i = 0; i < DD; i++)
            hn += Ht[i] * Ht[i];
        for (size_t i = 0; i < n; i++)
            xdq += x[i] * dq[i];
        const double mu = a * xdq / sqrt(hn), gnext = t + 1 < T ? exp(p.g[t + 1]) : 0.0;
        for (size_t i = 0; i < DD; i++)
            Lam[i] = gnext * Lam[i] - mu * Ht[i];
        double kLk = 0.0, g = 0.0;
        for (size_t i = 0; i < n; i++) {
            double s = 0.0;
            for (size_t j = 0; j < n; j++)
                s += Lam[i * n + j] * k[j];
            dk[t * D + i] = 2.0 * p.beta[t] * p.beta[t] * s;
            kLk += k[i] * s;
        }
        for (size_t i = 0; i < DD; i++)
            g += Lam[i] * exp(p.g[t]) * H[t * DD + i];
        dg[t] = g;
        db[t] = 2.0 * p.beta[t] * kLk;
    }
    double *ddk = malloc((size_t)T * n * 8), ddg[16], ddb[16];
    for (size_t i = 0; i < (size_t)T * n; i++)
        ddk[i] = on.dk[i] - off.dk[i];
    for (long t = 0; t < T; t++)
        ddg[t] = on.dg[t] - off.dg[t], ddb[t] = on.dbeta[t] - off.dbeta[t];
    double ek = gka_grad_rel_error((size_t)T * n, ddk, dk),
           eg = gka_grad_rel_error((size_t)T, ddg, dg), eb = gka_grad_rel_error((size_t)T, ddb, db);
    cr_assert(ek <= 1e-12 && eg <= 1e-12 && eb <= 1e-12, "lambda term: dk %.3e dg %.3e dbeta %.3e",
              ek, eg, eb);
    /* the term matters: without it the gradient is measurably wrong */
    bt_fd(&p, BT_EXACT, 0, &fd);
    double e_on[4], e_off[4];
    bt_errors(&p, &on, &fd, e_on);
    bt_errors(&p, &off, &fd, e_off);
    cr_assert(e_on[1] < 1e-12 && e_off[1] > 1e-4, "dk vs FD: with %.3e, without %.3e", e_on[1],
              e_off[1]);
    cr_assert(e_on[2] < 1e-12 && e_off[2] > 1e-4, "dg vs FD: with %.3e, without %.3e", e_on[2],
              e_off[2]);
    free(H), free(Lam), free(dk), free(ddk);
    gka_arith_destroy(&A);
    bt_grads_free(&on), bt_grads_free(&off), bt_grads_free(&fd);
    bt_prob_free(&p);
}

/* bf16 with fp32 accumulation: gradients finite and within a measured
 * envelope of the exact gradient of the same rounded problem. */
Test(grad, bf16_chebyshev_gradients_are_finite_and_close) {
    const int D = 16;
    const long T = 40;
    bt_prob_t p = bt_prob(D, T, 21, 0.1, 1, 0.0, "adaptive:0.02");
    gka_arith_t A;
    cr_assert_eq(gka_arith_init_by_name(&A, "bf16", "wide", NULL, 0), GKA_OK);
    bt_grads_t g = bt_grads_new(D, T), ref = bt_grads_new(D, T);
    run_token(&A, &p, "chebyshev", 30, GKA_GRAD_IMPLICIT, 1, &g, &ref);
    double e[4];
    bt_errors(&p, &g, &ref, e);
    for (int i = 0; i < 4; i++)
        cr_assert(e[i] < 0.2 && e[i] > 1e-5, "bf16 group %d: rel error %.3e", i, e[i]);
    gka_arith_destroy(&A);
    bt_grads_free(&g), bt_grads_free(&ref);
    bt_prob_free(&p);
}

Test(grad, nan_input_gives_nonfinite_gradients_never_a_pass) {
    const int D = 4;
    const long T = 6;
    bt_prob_t p = bt_prob(D, T, 5, 0.0, 0, 0.0, "adaptive:0.02");
    p.k[2 * D + 1] = NAN;
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    bt_grads_t g = bt_grads_new(D, T), ref = bt_grads_new(D, T);
    run_token(&A, &p, "chebyshev", 10, GKA_GRAD_IMPLICIT, 1, &g, &ref);
    cr_assert(isinf(gka_grad_rel_error((size_t)(T * D), g.dk, ref.dk)));
    cr_assert(isinf(gka_grad_rel_error((size_t)(T * D), g.dq, g.dq)));
    double one = 1.0, nan1 = NAN;
    cr_assert(isinf(gka_grad_rel_error(1, &nan1, &one)));
    gka_arith_destroy(&A);
    bt_grads_free(&g), bt_grads_free(&ref);
    bt_prob_free(&p);
}

/* A genuine fp16 overflow, not a bug (MATH.md section 4): on the first token
 * H_0 = beta_0^2 k k^T is rank one and lambda_0 = a beta_0^2, so x_0 and dq_0
 * grow like 1/lambda_0 off k and x_0 . dq_0 (the lambda path's trace, and
 * D_0 itself) like 1/lambda_0^2: past fp16's 65504 for a small write gate.
 * The exact gradient shows that the quantity is really that large; fp16's
 * gradient is non-finite (an error of +Inf, never a pass), and with
 * beta_0 = 1 the same problem stays finite in fp16. */
static double first_token_trace(const bt_grads_t *ref, int D) {
    double s = 0.0;
    for (int i = 0; i < D; i++)
        s += ref->x[i] * ref->dq[i];
    return s;
}

Test(grad, fp16_small_first_write_gate_overflows_and_is_flagged) {
    const int D = 4;
    const long T = 3;
    const double beta0[2] = {0.18, 1.0}; /* beta_0^2 = 0.0324: lambda_0 = 6.5e-4 */
    gka_arith_t A;
    cr_assert_eq(gka_arith_init_by_name(&A, "fp16", "wide", NULL, 0), GKA_OK);
    for (int c = 0; c < 2; c++) {
        bt_prob_t p = bt_prob(D, T, 3, 0.1, 1, 0.0, "adaptive:0.02");
        p.beta[0] = beta0[c];
        bt_grads_t g = bt_grads_new(D, T), ref = bt_grads_new(D, T);
        run_token(&A, &p, "chebyshev", 30, GKA_GRAD_IMPLICIT, 1, &g, &ref);
        const double trace = fabs(first_token_trace(&ref, D));
        const double edk = gka_grad_rel_error((size_t)(T * D), g.dk, ref.dk);
        cr_log_info("beta_0 = %g: |x_0 . dq_0| = %.4g (exact), fp16 dk error %.3g", beta0[c], trace,
                    edk);
        for (size_t i = 0; i < (size_t)(T * D); i++)
            cr_assert(isfinite(ref.dk[i]), "the exact gradient is finite");
        if (c == 0) {
            cr_assert(trace > 65504.0, "exact |x_0 . dq_0| = %g fits fp16", trace);
            cr_assert(isinf(edk), "fp16 dk error %g: the overflow passed as finite", edk);
        } else {
            cr_assert(trace < 65504.0 && isfinite(edk) && edk < 1.0,
                      "beta_0 = 1: trace %g, "
                      "error %g",
                      trace, edk);
        }
        bt_grads_free(&g), bt_grads_free(&ref);
        bt_prob_free(&p);
    }
    gka_arith_destroy(&A);
}

Test(grad, bad_arguments_are_einval) {
    const int D = 4;
    const long T = 3;
    bt_prob_t p = bt_prob(D, T, 5, 0.1, 0, 0.0, "adaptive:0.02");
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    bt_grads_t g = bt_grads_new(D, T);
    gka_grads_t out = bt_out(&g);
    gka_grad_problem_t gp = bt_gp(&p);
    gka_grad_opts_t o = gka_grad_opts_default();
    o.solver = "kalman";
    cr_assert_eq(gka_grad_token(&A, &gp, &o, &out, NULL), GKA_EINVAL);
    o.solver = "gd", o.mode = GKA_GRAD_ITERATIONS;
    cr_assert_eq(gka_grad_token(&A, &gp, &o, &out, NULL), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "gd"));
    o = gka_grad_opts_default();
    p.g[1] = 0.5;
    cr_assert_eq(gka_grad_token(&A, &gp, &o, &out, NULL), GKA_EINVAL);
    p.g[1] = -0.1;
    gp.ridge.kind = GKA_RIDGE_DECAY;
    cr_assert_eq(gka_grad_token(&A, &gp, &o, &out, NULL), GKA_EINVAL);
    gp.ridge.kind = GKA_RIDGE_ADAPTIVE;
    gp.dx = NULL;
    cr_assert_eq(gka_grad_token(&A, &gp, &o, &out, NULL), GKA_EINVAL);
    gka_grad_mode_t m;
    cr_assert_eq(gka_grad_mode_by_name("iterations", &m), GKA_OK);
    cr_assert_eq(m, GKA_GRAD_ITERATIONS);
    cr_assert_eq(gka_grad_mode_by_name("tape", &m), GKA_EINVAL);
    gka_arith_destroy(&A);
    bt_grads_free(&g);
    bt_prob_free(&p);
}

/* Nasty cases: rank-deficient H (T < D) with a tiny fixed ridge, so kappa ~
 * 1e4, and strongly correlated keys. MPFR stays exact; fp64 loses about
 * kappa * eps (asserted with the measured kappa). */
Test(grad, rank_deficient_ill_conditioned_against_finite_differences) {
    bt_prob_t p = bt_prob(6, 3, 111, 0.2, 1, 3.0, "fixed:1e-4");
    bt_grads_t fd = bt_grads_new(6, 3), mp = bt_grads_new(6, 3), f64 = bt_grads_new(6, 3);
    bt_fd(&p, BT_EXACT, 0, &fd);
    gka_arith_t Amp, A64;
    cr_assert_eq(gka_arith_init_mpfr(&Amp, BT_PREC, GKA_ACCUM_PER_OP), GKA_OK);
    gka_arith_init_fp64(&A64);
    run_token(&Amp, &p, "cholesky", 0, GKA_GRAD_IMPLICIT, 1, &mp, NULL);
    run_token(&A64, &p, "cholesky", 0, GKA_GRAD_IMPLICIT, 1, &f64, NULL);
    double e_mp[4], e64[4];
    bt_errors(&p, &mp, &fd, e_mp);
    bt_errors(&p, &f64, &fd, e64);
    /* kappa of the last token's A: ||H||_2 <= ||H||_F <= sum beta^2 ||k||^2 <= 3, lambda_min = 1e-4
     */
    const double kappa = 3.0 / 1e-4;
    cr_log_info(
        "rank-deficient kappa<=%.0e vs FD: mpfr %.2e %.2e %.2e %.2e; fp64 %.2e %.2e %.2e %.2e",
        kappa, e_mp[0], e_mp[1], e_mp[2], e_mp[3], e64[0], e64[1], e64[2], e64[3]);
    for (int i = 0; i < 4; i++) {
        cr_assert(e_mp[i] <= 4e-16, "group %d: mpfr vs FD %.3e", i, e_mp[i]);
        cr_assert(e64[i] <= kappa * 1e-14, "group %d: fp64 vs FD %.3e", i, e64[i]);
    }
    gka_arith_destroy(&Amp);
    gka_arith_destroy(&A64);
    bt_grads_free(&fd), bt_grads_free(&mp), bt_grads_free(&f64);
    bt_prob_free(&p);
}
