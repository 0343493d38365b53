/* Token-form Chebyshev: the MATH.md section 2 error bound in fp64, history, warm start,
 * reasons, and bit-identity of the emulated fp32 table with native float. */
#include "solver_testlib.h"

/* 2 R^m / (1 + R^2m), R = (sqrt(k) - 1)/(sqrt(k) + 1). */
static double cheb_bound(double kappa, int m) {
    const double R = (sqrt(kappa) - 1.0) / (sqrt(kappa) + 1.0);
    return 2.0 * pow(R, m) / (1.0 + pow(R, 2 * m));
}

/* Run chebyshev with r iterations over a gated stream; check every token's
 * error against the bound for the Chebyshev interval [lambda, ||H||_F + lambda]. */
static void check_bound(int D, long T, int r, const char *ridge_spec, double corr) {
    gka_arith_t A;
    cr_assert_eq(gka_arith_init_fp64(&A), GKA_OK);
    gka_ridge_t ridge;
    cr_assert_eq(gka_ridge_parse(ridge_spec, &ridge), GKA_OK);
    tl_seq_t seq = tl_seq(D, T, 11, 0.05, 1, corr);
    gka_stream_t *st;
    gka_solver_t *s;
    gka_solver_opts_t o = gka_solver_opts_default();
    o.iters = r;
    cr_assert_eq(gka_stream_create(&st, &A, D, &ridge, 0), GKA_OK);
    cr_assert_eq(gka_solver_create(&s, "chebyshev", &o, &A, D), GKA_OK);
    double *x = A.alloc(&A, (size_t)D), x64[64], xref[64], worst = 0.0;
    for (long t = 0; t < T; t++) {
        cr_assert_eq(tl_push(st, &seq, t), GKA_OK);
        gka_solve_info_t info = tl_solve(s, st, x, x64);
        cr_assert_eq(info.reason, GKA_REASON_ITERATION_LIMIT);
        cr_assert_eq(info.iters, r);
        tl_reference(st, xref);
        const double kb = (st->hnorm64 + st->lambda64) / st->lambda64;
        const double bound = cheb_bound(kb, r), err = tl_relerr(x64, xref, D);
        cr_assert(err <= bound * (1.0 + 1e-9) + 1e-13 * kb, "t=%ld r=%d err %.3e > bound %.3e", t,
                  r, err, bound);
        if (err / bound > worst) worst = err / bound;
    }
    /* the bound is not vacuous: some token comes within a factor 100 of it */
    cr_assert(worst > 1e-2, "worst err/bound %.3e: test too weak", worst);
    A.free(&A, x, (size_t)D);
    gka_solver_destroy(s);
    gka_stream_destroy(st);
    tl_seq_free(&seq);
}

Test(chebyshev, fp64_error_within_chebyshev_bound_adaptive) {
    check_bound(16, 120, 5, "adaptive:0.02", 0.0);
    check_bound(16, 120, 12, "adaptive:0.02", 1.0);
    check_bound(24, 80, 30, "adaptive:0.05", 0.5);
}

Test(chebyshev, fp64_error_within_chebyshev_bound_fixed) {
    check_bound(8, 200, 10, "fixed:0.25", 2.0);
    check_bound(32, 64, 20, "fixed:0.5", 0.0);
}

Test(chebyshev, history_is_fp64_residual_and_warm_start_converges) {
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    const int D = 16;
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, 0.02};
    tl_seq_t seq = tl_seq(D, 50, 3, 0.0, 0, 0.3);
    gka_stream_t *st;
    gka_solver_t *cold, *warm;
    gka_solver_opts_t o = gka_solver_opts_default();
    o.history = 1;
    o.iters = 25;
    cr_assert_eq(gka_stream_create(&st, &A, D, &ridge, 0), GKA_OK);
    cr_assert_eq(gka_solver_create(&cold, "chebyshev", &o, &A, D), GKA_OK);
    o.warm = 1;
    cr_assert_eq(gka_solver_create(&warm, "chebyshev", &o, &A, D), GKA_OK);
    double *x = A.alloc(&A, (size_t)D), x64[16], xw[16] = {0}, xref[16], scratch[16], xinit[16];
    for (long t = 0; t < 50; t++) {
        tl_push(st, &seq, t);
        gka_solve_info_t info = tl_solve(cold, st, x, x64);
        cr_assert_eq(info.nhistory, 26);
        cr_assert_float_eq(info.history[25], gka_stream_rel_residual64(st, x, scratch), 0.0);
        cr_assert(info.history[25] < info.history[0] * 1e-2);
        memcpy(xinit, xw, sizeof xinit); /* the warm start: previous token's answer */
        gka_solve_info_t wi = tl_solve(warm, st, x, xw);
        tl_reference(st, xref);
        /* e_r = p(A) (x* - x_init): the bound applies to the initial error */
        const double kb = (st->hnorm64 + st->lambda64) / st->lambda64;
        const double e0 = tl_relerr(xinit, xref, D), ew = tl_relerr(xw, xref, D);
        cr_assert(ew <= cheb_bound(kb, 25) * e0 * (1 + 1e-9) + 1e-13 * kb,
                  "warm t=%ld err %g initial %g", t, ew, e0);
        cr_assert_eq(wi.nhistory, 26);
    }
    A.free(&A, x, (size_t)D);
    gka_solver_destroy(cold);
    gka_solver_destroy(warm);
    gka_stream_destroy(st);
    tl_seq_free(&seq);
}

Test(chebyshev, tolerance_stops_early_with_converged) {
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    const int D = 12;
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, 0.1};
    tl_seq_t seq = tl_seq(D, 20, 5, 0.0, 0, 0.0);
    gka_stream_t *st;
    gka_solver_t *s;
    gka_solver_opts_t o = gka_solver_opts_default();
    o.iters = 200;
    o.tol = 1e-8;
    gka_stream_create(&st, &A, D, &ridge, 0);
    cr_assert_eq(gka_solver_create(&s, "chebyshev", &o, &A, D), GKA_OK);
    double *x = A.alloc(&A, (size_t)D), x64[12], scratch[12];
    for (long t = 0; t < 20; t++) {
        tl_push(st, &seq, t);
        gka_solve_info_t info = tl_solve(s, st, x, x64);
        cr_assert_eq(info.reason, GKA_REASON_CONVERGED);
        cr_assert(info.iters < 200 && info.iters > 2, "iters %d", info.iters);
        cr_assert(gka_stream_rel_residual64(st, x, scratch) < 1e-7);
    }
    A.free(&A, x, (size_t)D);
    gka_solver_destroy(s);
    gka_stream_destroy(st);
    tl_seq_free(&seq);
}

/* Reasons from crafted inputs: L + mu = 0 (breakdown), an indefinite H
 * outside [mu, L] (divergence), a NaN query. */
Test(chebyshev, reasons_breakdown_diverged_nan) {
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    const int D = 4;
    gka_ridge_t zero = {GKA_RIDGE_FIXED, 0.0}, fixed = {GKA_RIDGE_FIXED, 0.1};
    gka_stream_t *st;
    gka_solver_t *s;
    gka_solver_opts_t o = gka_solver_opts_default();
    o.iters = 60;
    double H[16] = {0}, q[4] = {1, 2, 3, 4}, x64[4];
    void *x = A.alloc(&A, 4);
    cr_assert_eq(gka_stream_create(&st, &A, D, &zero, 0), GKA_OK);
    cr_assert_eq(gka_solver_create(&s, "chebyshev", &o, &A, D), GKA_OK);
    gka_stream_set_H(st, H);
    gka_stream_set_query(st, q);
    cr_assert_eq(tl_solve(s, st, x, x64).reason, GKA_REASON_BREAKDOWN);
    gka_stream_destroy(st);
    cr_assert_eq(gka_stream_create(&st, &A, D, &fixed, 0), GKA_OK);
    H[0] = -1.0, H[5] = 1.0, H[10] = 1.0, H[15] = 1.0; /* eigenvalue -0.9 of A */
    gka_stream_set_H(st, H);
    gka_stream_set_query(st, q);
    cr_assert_eq(tl_solve(s, st, x, x64).reason, GKA_REASON_DIVERGED);
    q[2] = NAN;
    gka_stream_set_query(st, q);
    cr_assert_eq(tl_solve(s, st, x, x64).reason, GKA_REASON_NAN);
    A.free(&A, x, 4);
    gka_solver_destroy(s);
    gka_stream_destroy(st);
}

/* ---- emulated fp32 == native float, bit for bit ------------------------- */

/* The stream update and the Chebyshev recurrence written directly in float,
 * operation by operation in the order of stream.c and chebyshev.c under
 * GKA_ACCUM_PER_OP (arith_emulated.c documents where each rounding happens). */
typedef struct {
    int D;
    float *H;
    float hnorm, lambda;
} native_stream_t;

static void native_push(native_stream_t *s, const float *k, float gamma, float a) {
    const int D = s->D;
    if (gamma != 1.0f)
        for (int i = 0; i < D * D; i++)
            s->H[i] = gamma * s->H[i];
    for (int i = 0; i < D; i++) {
        const float ai = 1.0f * k[i]; /* beta^2 = 1 */
        for (int j = 0; j < D; j++)
            s->H[i * D + j] = s->H[i * D + j] + ai * k[j];
    }
    float acc = s->H[0] * s->H[0];
    for (int i = 1; i < D * D; i++)
        acc = acc + s->H[i] * s->H[i];
    s->hnorm = sqrtf(acc);
    s->lambda = a * s->hnorm;
}

static void native_residual(const native_stream_t *s, const float *x, const float *q, float *res) {
    const int D = s->D;
    for (int i = 0; i < D; i++) {
        float t = s->H[i * D] * x[0];
        for (int j = 1; j < D; j++)
            t = t + s->H[i * D + j] * x[j];
        t = 1.0f * t;
        t = s->lambda * x[i] + t;
        res[i] = -1.0f * q[i] + t;
    }
}

static void native_chebyshev(const native_stream_t *s, const float *q, int r, float *x) {
    const int D = s->D;
    float xp[64], xc[64], res[64], d[64];
    const float L = s->hnorm + s->lambda, den = L + s->lambda, num = L - s->lambda;
    const float rho = num / den, st = 2.0f / den;
    float quarter_rho_sq = rho * rho;
    quarter_rho_sq = quarter_rho_sq * 0.25f;
    for (int i = 0; i < D; i++)
        xp[i] = 0.0f, xc[i] = st * q[i];
    float omega = 2.0f;
    for (int it = 1; it <= r; it++) {
        float t = quarter_rho_sq * omega;
        t = 1.0f - t;
        omega = 1.0f / t;
        native_residual(s, xc, q, res);
        float neg_s_omega = st * omega;
        neg_s_omega = 0.0f - neg_s_omega;
        const float omega_minus_1 = omega - 1.0f;
        for (int i = 0; i < D; i++) {
            d[i] = -1.0f * xp[i] + xc[i];
            float xn = neg_s_omega * res[i] + xc[i];
            xp[i] = omega_minus_1 * d[i] + xn;
        }
        for (int i = 0; i < D; i++) {
            const float sw = xp[i];
            xp[i] = xc[i];
            xc[i] = sw;
        }
    }
    memcpy(x, xc, (size_t)D * sizeof(float));
}

Test(chebyshev, emulated_fp32_bit_identical_to_native_float) {
    const int D = 24;
    const long T = 60;
    const int r = 30;
    gka_arith_t A;
    cr_assert_eq(gka_arith_init_by_name(&A, "fp32", "round", NULL, 0), GKA_OK, "%s",
                 gka_error_message());
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, 0.02};
    tl_seq_t seq = tl_seq(D, T, 21, 0.1, 0, 0.7);
    gka_stream_t *st;
    gka_solver_t *s;
    gka_solver_opts_t o = gka_solver_opts_default();
    o.iters = r;
    cr_assert_eq(gka_stream_create(&st, &A, D, &ridge, 0), GKA_OK);
    cr_assert_eq(gka_solver_create(&s, "chebyshev", &o, &A, D), GKA_OK);
    native_stream_t ns = {D, calloc((size_t)(D * D), sizeof(float)), 0.0f, 0.0f};
    const float a = 0.02f;
    double *x = A.alloc(&A, (size_t)D), x64[24];
    float kf[24], qf[24], xf[24];
    long differing = 0;
    for (long t = 0; t < T; t++) {
        for (int i = 0; i < D; i++)
            kf[i] = (float)seq.k[t * D + i], qf[i] = (float)seq.q[t * D + i];
        native_push(&ns, kf, (float)exp(seq.g[t]), a);
        native_chebyshev(&ns, qf, r, xf);
        cr_assert_eq(tl_push(st, &seq, t), GKA_OK);
        tl_solve(s, st, x, x64);
        cr_assert_eq((double)ns.hnorm, A.get_d(&A, st->hnorm), "t=%ld hnorm", t);
        for (int i = 0; i < D; i++) {
            float e = (float)x64[i];
            cr_assert(isfinite(xf[i]));
            if (memcmp(&e, &xf[i], sizeof e) != 0 || x64[i] != (double)xf[i]) differing++;
        }
    }
    cr_assert_eq(differing, 0, "%ld iterate entries differ from native float", differing);
    free(ns.H);
    A.free(&A, x, (size_t)D);
    gka_solver_destroy(s);
    gka_stream_destroy(st);
    gka_arith_destroy(&A);
    tl_seq_free(&seq);
}
