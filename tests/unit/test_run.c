/* The run driver: per-token metrics against the fp64 reference, kappa
 * sampling and its bound, summary, callback, configuration errors. */
#include "gka_run.h"
#include "gka_config.h"
#include "solver_testlib.h"

typedef struct {
    long n, kappas;
    double kappa_over_bound_max;
    int history_ok;
} cb_t;

static int on_token(void *ctx, const gka_token_metrics_t *m) {
    cb_t *c = ctx;
    cr_assert_eq(m->t, c->n);
    c->n++;
    cr_assert(isfinite(m->err) && isfinite(m->res) && m->x && m->x_ref);
    cr_assert(m->hnorm > 0.0 && m->lambda > 0.0);
    cr_assert_float_eq(m->lambda64, 0.02 * m->hnorm64, 1e-15 * m->hnorm64);
    cr_assert_float_eq(m->kappa_bound, 51.0, 1e-12);
    if (!isnan(m->kappa)) {
        c->kappas++;
        cr_assert(m->kappa >= 1.0 && m->kappa <= m->kappa_bound * (1 + 1e-12));
        if (m->kappa / m->kappa_bound > c->kappa_over_bound_max)
            c->kappa_over_bound_max = m->kappa / m->kappa_bound;
    }
    if (!(m->nhistory == 31 && fabs(m->history[30] - m->res) <= 1e-9 * m->res)) {
        printf("t=%ld nhistory %d last %.17g res %.17g\n", m->t, m->nhistory,
               m->nhistory ? m->history[m->nhistory - 1] : -1.0, m->res);
        c->history_ok = 0;
    }
    return 0;
}

Test(run, fp64_chebyshev_metrics_and_summary) {
    tl_seq_t s = tl_seq(16, 100, 2, 0.05, 1, 0.5);
    gka_run_config_t c = gka_run_config_default();
    c.D = 16, c.T = 100, c.q = s.q, c.k = s.k, c.g = s.g, c.beta = s.beta;
    c.every = 10;
    c.opts.history = 1;
    cb_t cb = {0, 0, 0.0, 1};
    c.on_token = on_token, c.ctx = &cb;
    gka_run_summary_t sum;
    cr_assert_eq(gka_run(&c, &sum), GKA_OK, "%s", gka_error_message());
    cr_assert_eq(cb.n, 100);
    cr_assert_eq(cb.kappas, 11); /* t = 0, 10, ..., 90 and the last, 99 */
    cr_assert(cb.history_ok);
    cr_assert_eq(sum.T, 100);
    cr_assert_eq(sum.reasons[GKA_REASON_ITERATION_LIMIT], 100);
    cr_assert_eq(sum.ref_failures, 0);
    cr_assert_eq(sum.ev_nan + sum.ev_overflow + sum.ev_underflow + sum.ev_lost_pd, 0);
    /* at r = 30, kappa <= 51: error <= 2R^30/(1+R^60) = 4.3e-4 */
    cr_assert(sum.err_max <= 4.3e-4 && sum.err_median > 1e-8 && sum.err_median <= sum.err_max,
              "median %.3e max %.3e", sum.err_median, sum.err_max);
    cr_assert(sum.kappa_min <= sum.kappa_max && sum.kappa_max <= 51.0 * (1 + 1e-12));
    cr_assert_str_eq(sum.arith_name, "fp64");
    tl_seq_free(&s);
}

/* bf16 with fp32 accumulation, the paper's regime: adaptive lambda keeps
 * the error near kappa * 2^-8; a fixed small lambda lets kappa grow. */
Test(run, bf16_adaptive_vs_fixed_ridge) {
    tl_seq_t s = tl_seq(32, 200, 4, 0.0, 0, 1.0);
    gka_run_config_t c = gka_run_config_default();
    c.D = 32, c.T = 200, c.q = s.q, c.k = s.k, c.format = "bf16", c.accum = "wide";
    c.every = 50;
    gka_run_summary_t ad, fx;
    cr_assert_eq(gka_run(&c, &ad), GKA_OK);
    gka_ridge_parse("fixed:0.01", &c.ridge);
    cr_assert_eq(gka_run(&c, &fx), GKA_OK);
    cr_assert(ad.kappa_max <= 51.0 * (1 + 1e-12) && fx.kappa_max > 5 * 51.0, "kappa %.3g vs %.3g",
              ad.kappa_max, fx.kappa_max);
    cr_assert(isfinite(ad.err_median) && ad.err_median < fx.err_median,
              "adaptive %.3e vs fixed %.3e", ad.err_median, fx.err_median);
    tl_seq_free(&s);
}

Test(run, nan_input_is_counted_never_passes) {
    tl_seq_t s = tl_seq(8, 20, 6, 0.0, 0, 0.0);
    s.q[5 * 8 + 3] = NAN;
    gka_run_config_t c = gka_run_config_default();
    c.D = 8, c.T = 20, c.q = s.q, c.k = s.k;
    gka_run_summary_t sum;
    cr_assert_eq(gka_run(&c, &sum), GKA_OK);
    cr_assert_eq(sum.reasons[GKA_REASON_NAN], 1);
    cr_assert_eq(sum.ev_nan, 1);
    cr_assert(isnan(sum.err_max));
    cr_assert_eq(sum.ref_failures, 1);
    tl_seq_free(&s);
}

Test(run, configuration_errors) {
    tl_seq_t s = tl_seq(4, 4, 1, 0.0, 0, 0.0);
    gka_run_config_t c = gka_run_config_default();
    c.D = 4, c.T = 4, c.q = s.q, c.k = s.k;
    gka_run_summary_t sum;
    c.solver = "qr";
    cr_assert_eq(gka_run(&c, &sum), GKA_EINVAL);
    c.solver = "kalman", c.chunk = 2; /* token-form by nature */
    cr_assert_eq(gka_run(&c, &sum), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "token-form"), "%s", gka_error_message());
    c.solver = "cg", c.chunk = 0, c.carry = "fp32"; /* --carry needs the chunk form */
    cr_assert_eq(gka_run(&c, &sum), GKA_EINVAL);
    c.carry = NULL, c.solver = "cholesky", c.iter_format = "fp32"; /* direct: no iterates */
    cr_assert_eq(gka_run(&c, &sum), GKA_EINVAL);
    c.iter_format = NULL;
    c.solver = "chebyshev", c.chunk = 0, c.D = 0;
    cr_assert_eq(gka_run(&c, &sum), GKA_EINVAL);
    c.D = 4, c.T = 0;
    cr_assert_eq(gka_run(&c, &sum), GKA_EINVAL);
    c.T = 4, c.format = "bf17";
    cr_assert_eq(gka_run(&c, &sum), GKA_EINVAL);
    c.format = NULL, c.q = NULL;
    cr_assert_eq(gka_run(&c, &sum), GKA_EINVAL);
    tl_seq_free(&s);
}

static int stop_at_3(void *ctx, const gka_token_metrics_t *m) {
    (void)ctx;
    return m->t == 3;
}

Test(run, callback_stops_the_run) {
    tl_seq_t s = tl_seq(4, 10, 1, 0.0, 0, 0.0);
    gka_run_config_t c = gka_run_config_default();
    c.D = 4, c.T = 10, c.q = s.q, c.k = s.k, c.on_token = stop_at_3;
    gka_run_summary_t sum;
    cr_assert_eq(gka_run(&c, &sum), GKA_EINTR);
    cr_assert_eq(sum.T, 4);
    tl_seq_free(&s);
}

/* Events from A->events: fp16 overflows with keys of norm 300 (H entries
 * ~ 9e4 > 65504) and underflows with keys of norm 1e-4 (k_i k_j < 2^-24). */
Test(run, fp16_overflow_and_underflow_events) {
    tl_seq_t s = tl_seq(8, 10, 8, 0.0, 0, 0.0);
    gka_run_config_t c = gka_run_config_default();
    c.D = 8, c.T = 10, c.q = s.q, c.k = s.k, c.format = "fp16", c.accum = "round";
    gka_ridge_parse("fixed:0.5", &c.ridge);
    gka_run_summary_t sum;
    for (int i = 0; i < 80; i++)
        s.k[i] *= 300.0;
    cr_assert_eq(gka_run(&c, &sum), GKA_OK, "%s", gka_error_message());
    cr_assert(sum.ev_overflow > 0, "no overflow counted");
    cr_assert(sum.ev_nan > 0 && sum.reasons[GKA_REASON_NAN] + sum.reasons[GKA_REASON_BREAKDOWN] +
                                        sum.reasons[GKA_REASON_DIVERGED] >
                                    0);
    for (int i = 0; i < 80; i++)
        s.k[i] *= 1e-4 / 300.0;
    cr_assert_eq(gka_run(&c, &sum), GKA_OK);
    cr_assert(sum.ev_underflow > 0 && sum.ev_overflow == 0 && sum.ev_nan == 0);
    tl_seq_free(&s);
}

/* ---- the precedence of reasons ------------------------------------------ */

typedef struct {
    long events, converged_with_event;
    const char *label;
} prec_cb_t;

static int check_precedence(void *ctx, const gka_token_metrics_t *m) {
    prec_cb_t *c = ctx;
    const int event = m->nonfinite || (m->events & (GKA_FLAG_OVERFLOW | GKA_FLAG_INVALID));
    c->events += event;
    if (event && m->reason == GKA_REASON_CONVERGED) {
        c->converged_with_event++;
        printf("%s t=%ld converged with events %#x nonfinite %d\n", c->label, m->t, m->events,
               m->nonfinite);
    }
    return 0;
}

/* One run of `solver` (variant may be NULL) in `format` whose keys are
 * `k`; returns the callback's counts. */
static prec_cb_t precedence_run(const char *format, const char *solver, const char *variant,
                                int chunk, const double *q, const double *k, int D, long T) {
    gka_run_config_t c = gka_run_config_default();
    c.D = D, c.T = T, c.q = q, c.k = k;
    c.solver = solver, c.format = format, c.accum = "wide", c.chunk = chunk;
    if (!strcmp(solver, "kalman")) c.ridge = (gka_ridge_t){GKA_RIDGE_DECAY, 0.25};
    if (variant) snprintf(c.opts.variant, sizeof c.opts.variant, "%s", variant);
    prec_cb_t cb = {0, 0, solver};
    c.on_token = check_precedence, c.ctx = &cb;
    gka_run_summary_t sum;
    cr_assert_eq(gka_run(&c, &sum), GKA_OK, "%s: %s", solver, gka_error_message());
    return cb;
}

/* A key of 1e30 (not normalised) overflows bf16's H: no token with an
 * overflow, an invalid operation or a nonfinite x may say `converged`, for
 * any solver, in token and chunk form; Kalman sqrt with zero first keys. */
Test(run, numerical_events_never_converged) {
    const int D = 8;
    const long T = 12;
    tl_seq_t s = tl_seq(D, T, 3, 0.0, 0, 0.0);
    for (int i = 0; i < D; i++)
        s.k[4 * D + i] = 1e30;
    const char *solvers[] = {"chebyshev", "cg", "gd", "agd", "cholesky", "kalman"};
    for (size_t i = 0; i < sizeof solvers / sizeof solvers[0]; i++)
        for (int chunk = 0; chunk <= 4; chunk += 4) {
            if (chunk && !strcmp(solvers[i], "kalman")) continue;
            prec_cb_t cb = precedence_run("bf16", solvers[i], NULL, chunk, s.q, s.k, D, T);
            cr_assert(cb.events > 0, "%s (chunk %d): the 1e30 key raised no event", solvers[i],
                      chunk);
            cr_assert_eq(cb.converged_with_event, 0, "%s (chunk %d)", solvers[i], chunk);
        }
    tl_seq_t z = tl_seq(D, T, 4, 0.0, 0, 0.0);
    for (int i = 0; i < 3 * D; i++)
        z.k[i] = 0.0; /* zero first keys */
    prec_cb_t cb = precedence_run("bf16", "kalman", "sqrt", 0, z.q, z.k, D, T);
    cr_assert_eq(cb.converged_with_event, 0);
    /* fp16 Kalman with keys of size 300 overflows while x stays finite: the
     * old rule kept `converged` there (docs/ERRORS.md) */
    for (long i = 0; i < T * D; i++)
        z.k[i] = 300.0 * gka_philox_normal(11, 1, (uint64_t)i);
    const char *variants[] = {"info", "cov", "joseph", "sqrt"};
    long events = 0;
    for (int v = 0; v < 4; v++) {
        cb = precedence_run("fp16", "kalman", variants[v], 0, z.q, z.k, D, T);
        cr_assert_eq(cb.converged_with_event, 0, "kalman %s", variants[v]);
        events += cb.events;
    }
    cr_assert(events > 0, "fp16 keys of 300 raised no event");
    tl_seq_free(&s);
    tl_seq_free(&z);
}

Test(run, reason_precedence_function) {
    cr_assert_eq(gka_reason_resolve(GKA_REASON_CONVERGED, 0, 0), GKA_REASON_CONVERGED);
    cr_assert_eq(gka_reason_resolve(GKA_REASON_CONVERGED, GKA_FLAG_OVERFLOW, 0), GKA_REASON_NAN);
    cr_assert_eq(gka_reason_resolve(GKA_REASON_CONVERGED, GKA_FLAG_INVALID, 0), GKA_REASON_NAN);
    cr_assert_eq(gka_reason_resolve(GKA_REASON_CONVERGED, 0, 1), GKA_REASON_NAN);
    cr_assert_eq(gka_reason_resolve(GKA_REASON_ITERATION_LIMIT, GKA_FLAG_INEXACT, 0),
                 GKA_REASON_ITERATION_LIMIT);
    cr_assert_eq(gka_reason_resolve(GKA_REASON_LOST_PD, GKA_FLAG_OVERFLOW, 1), GKA_REASON_LOST_PD);
    cr_assert_eq(gka_reason_resolve(GKA_REASON_BREAKDOWN, GKA_FLAG_INVALID, 0),
                 GKA_REASON_BREAKDOWN);
    cr_assert_eq(gka_reason_resolve(GKA_REASON_DIVERGED, GKA_FLAG_OVERFLOW, 0),
                 GKA_REASON_DIVERGED);
    cr_assert_eq(gka_reason_resolve(GKA_REASON_DIVERGED, 0, 1), GKA_REASON_NAN);
}

/* ---- the write-gate convention (--beta-mode) ------------------------------ */

typedef struct {
    double hnorm64;
} last_cb_t;

static int keep_last(void *ctx, const gka_token_metrics_t *m) {
    ((last_cb_t *)ctx)->hnorm64 = m->hnorm64;
    return 0;
}

/* fold: the reference problem is H = sum_t k'_t k'_t^T with
 * k'_t = bf16((beta_t + 1e-6) k_t); weight: sum_t b_t^2 bf16(k_t) bf16(k_t)^T
 * with b_t = beta_t rounded to bf16 (token form) or to the chunk form's fp32
 * gate arithmetic. Both built from the rounded inputs, and they differ. */
Test(run, beta_mode_fold_and_weight) {
    enum { D = 4, T = 3 };
    tl_seq_t s = tl_seq(D, T, 21, 0.0, 1, 0.3);
    gka_format_t bf16;
    cr_assert_eq(gka_format_by_name("bf16", &bf16), GKA_OK);
    gka_rounding_t r = gka_rounding_default(&bf16);
    gka_rounding_t r32 = gka_rounding_default(&gka_fp32);
    double Hf[D * D] = {0}, Hw[D * D] = {0}, Hw32[D * D] = {0};
    for (int t = 0; t < T; t++) {
        double kf[D], kw[D];
        const double b = gka_round(s.beta[t], &r), b32 = gka_round(s.beta[t], &r32);
        for (int i = 0; i < D; i++) {
            kf[i] = gka_round((s.beta[t] + 1e-6) * s.k[t * D + i], &r);
            kw[i] = gka_round(s.k[t * D + i], &r);
        }
        for (int i = 0; i < D; i++)
            for (int j = 0; j < D; j++) {
                Hf[i * D + j] += kf[i] * kf[j];
                Hw[i * D + j] += (b * b) * (kw[i] * kw[j]);
                Hw32[i * D + j] += (b32 * b32) * (kw[i] * kw[j]);
            }
    }
    double nf = 0.0, nw = 0.0, nw32 = 0.0;
    for (int i = 0; i < D * D; i++)
        nf += Hf[i] * Hf[i], nw += Hw[i] * Hw[i], nw32 += Hw32[i] * Hw32[i];
    nf = sqrt(nf), nw = sqrt(nw), nw32 = sqrt(nw32);
    for (int mode = 0; mode < 2; mode++)
        for (int chunk = 0; chunk <= 2; chunk += 2) {
            gka_run_config_t c = gka_run_config_default();
            c.D = D, c.T = T, c.q = s.q, c.k = s.k, c.beta = s.beta;
            c.format = "bf16", c.accum = "wide", c.chunk = chunk;
            c.beta_mode = mode ? GKA_BETA_FOLD : GKA_BETA_WEIGHT;
            last_cb_t cb = {0};
            c.on_token = keep_last, c.ctx = &cb;
            gka_run_summary_t sum;
            cr_assert_eq(gka_run(&c, &sum), GKA_OK, "%s", gka_error_message());
            const double want = mode ? nf : chunk ? nw32 : nw;
            cr_assert(fabs(cb.hnorm64 - want) <= 1e-14 * want, "mode %d chunk %d: %.17g vs %.17g",
                      mode, chunk, cb.hnorm64, want);
        }
    cr_assert(nf != nw);
    tl_seq_free(&s);
}

/* ---- the reference choice (cfg->reference) ---------------------------- */

typedef struct {
    double err[64];
    long n;
} errs_t;

static int collect_err(void *ctx, const gka_token_metrics_t *m) {
    errs_t *e = ctx;
    e->err[e->n++] = m->err;
    return 0;
}

/* Per-token errors of a bf16 Chebyshev run (D = 8, T = 40, gated) against
 * the reference `ref`; the summary's reference name and failures. */
static void run_with_reference(const char *ref, const tl_seq_t *s, errs_t *e,
                               gka_run_summary_t *sum) {
    gka_run_config_t c = gka_run_config_default();
    c.D = s->D, c.T = s->T, c.q = s->q, c.k = s->k, c.g = s->g, c.beta = s->beta;
    c.format = "bf16", c.accum = "wide";
    c.solver = "chebyshev", c.opts.iters = 12;
    if (ref) cr_assert_eq(gka_run_ref_parse(ref, &c.reference), GKA_OK, "%s", gka_error_message());
    memset(e, 0, sizeof *e);
    c.on_token = collect_err, c.ctx = e;
    cr_assert_eq(gka_run(&c, sum), GKA_OK, "%s: %s", ref ? ref : "default", gka_error_message());
    cr_assert_eq(e->n, s->T);
}

/* lapack, mpfr:256, arb:256 and cholesky64 measure the same error on every
 * token, to within the fp64 solves' own error (kappa <= 51 here). */
Test(run, every_reference_gives_the_same_per_token_error) {
    tl_seq_t s = tl_seq(8, 40, 41, 0.1, 1, 0.5);
    const char *refs[] = {"lapack", "mpfr:256", "arb:256", "cholesky64"};
    errs_t base, e;
    gka_run_summary_t sum;
    run_with_reference(NULL, &s, &base, &sum);
    cr_assert_str_eq(sum.reference_name, "lapack");
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        run_with_reference(refs[i], &s, &e, &sum);
        cr_assert_str_eq(sum.reference_name, refs[i]);
        cr_assert_eq(sum.ref_failures, 0, "%s: %ld failures", refs[i], sum.ref_failures);
        for (long t = 0; t < s.T; t++) {
            cr_assert(isfinite(e.err[t]) && e.err[t] > 1e-6, "%s t=%ld err %g", refs[i], t,
                      e.err[t]);
            cr_assert(fabs(e.err[t] - base.err[t]) <= 1e-12 * (1.0 + base.err[t]),
                      "%s t=%ld: %.17g vs lapack %.17g", refs[i], t, e.err[t], base.err[t]);
        }
    }
    tl_seq_free(&s);
}

/* The minimal build (no LAPACK, MPFR, Arb): the default resolves to
 * cholesky64, lapack is refused with a message; a run with the build's
 * reference has no failures and lapack's errors (never NaN). */
Test(run, without_lapack_the_default_is_cholesky64) {
    const unsigned minimal = 1u << GKA_RUN_REF_CHOLESKY64;
    gka_run_ref_t asked = {GKA_RUN_REF_DEFAULT, 0}, got;
    cr_assert_eq(gka_run_ref_resolve(&asked, minimal, &got), GKA_OK);
    cr_assert_eq(got.kind, GKA_RUN_REF_CHOLESKY64);
    cr_assert_eq(gka_run_ref_resolve(&asked, gka_run_ref_available(), &got), GKA_OK);
    cr_assert_eq(got.kind, GKA_HAVE_LAPACK ? GKA_RUN_REF_LAPACK : GKA_RUN_REF_CHOLESKY64);
    const gka_run_ref_kind_t absent[] = {GKA_RUN_REF_LAPACK, GKA_RUN_REF_MPFR, GKA_RUN_REF_ARB};
    for (int i = 0; i < 3; i++) {
        asked.kind = absent[i];
        cr_assert_eq(gka_run_ref_resolve(&asked, minimal, &got), GKA_EINVAL);
        cr_assert(strstr(gka_error_message(), "not in this build"), "%s", gka_error_message());
    }
    tl_seq_t s = tl_seq(8, 40, 42, 0.1, 1, 0.5);
    errs_t base, e;
    gka_run_summary_t sum;
    run_with_reference("lapack", &s, &base, &sum);
    asked.kind = GKA_RUN_REF_DEFAULT;
    cr_assert_eq(gka_run_ref_resolve(&asked, minimal, &got), GKA_OK);
    char name[32];
    gka_run_ref_name(&got, name, sizeof name);
    run_with_reference(name, &s, &e, &sum);
    cr_assert_eq(sum.ref_failures, 0);
    cr_assert(isfinite(sum.err_median) && isfinite(sum.err_max));
    for (long t = 0; t < s.T; t++)
        cr_assert(fabs(e.err[t] - base.err[t]) <= 1e-12 * (1.0 + base.err[t]), "t=%ld", t);
    tl_seq_free(&s);
}

/* Arb at 53 bits cannot certify the error of an fp64 Cholesky solve (its
 * ball is about as wide as that error): those tokens fail, counted; at 256
 * bits none does. */
Test(run, arb_fails_a_token_whose_ball_is_not_tight) {
    tl_seq_t s = tl_seq(8, 30, 43, 0.1, 1, 0.5);
    gka_run_config_t c = gka_run_config_default();
    c.D = 8, c.T = 30, c.q = s.q, c.k = s.k, c.g = s.g, c.beta = s.beta;
    c.solver = "cholesky";
    gka_run_summary_t sum;
    cr_assert_eq(gka_run_ref_parse("arb:53", &c.reference), GKA_OK);
    cr_assert_eq(gka_run(&c, &sum), GKA_OK, "%s", gka_error_message());
    cr_assert(sum.ref_loose > 0 && sum.ref_failures == sum.ref_loose, "loose %ld failures %ld",
              sum.ref_loose, sum.ref_failures);
    cr_assert_eq(gka_run_ref_parse("arb:256", &c.reference), GKA_OK);
    cr_assert_eq(gka_run(&c, &sum), GKA_OK, "%s", gka_error_message());
    cr_assert_eq(sum.ref_failures, 0, "arb:256: %ld failures, %ld loose", sum.ref_failures,
                 sum.ref_loose);
    cr_assert(sum.err_max <= 1e-13, "fp64 cholesky err_max %.3e", sum.err_max);
    tl_seq_free(&s);
}

Test(run, reference_names_parse_and_bad_ones_are_refused) {
    gka_run_ref_t r;
    cr_assert_eq(gka_run_ref_parse("mpfr:300", &r), GKA_OK);
    cr_assert(r.kind == GKA_RUN_REF_MPFR && r.prec == 300);
    cr_assert_eq(gka_run_ref_parse("arb", &r), GKA_OK);
    cr_assert(r.kind == GKA_RUN_REF_ARB && r.prec == GKA_REF_DEFAULT_PREC);
    cr_assert_eq(gka_run_ref_parse("cholesky64", &r), GKA_OK);
    cr_assert_eq(r.kind, GKA_RUN_REF_CHOLESKY64);
    const char *bad[] = {"lapack:64", "mpfr:", "mpfr:12", "mpfr:70000",
                         "mpfr:64x",  "arbx",  "",        "cholesky"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(gka_run_ref_parse(bad[i], &r), GKA_EINVAL, "'%s' accepted", bad[i]);
}

/* ---- a user arithmetic (cfg.arith) and the iterates (h-outputs) ------------ */

typedef struct {
    double x[64 * 8]; /* T x D of the run's solutions */
    long n;
} xs_t;

static int keep_x(void *ctx, const gka_token_metrics_t *m) {
    xs_t *k = ctx;
    memcpy(k->x + (size_t)m->t * 8, m->x, 8 * sizeof(double));
    k->n++;
    return 0;
}

/* One run: by name (A NULL) or with table A; solutions into out. */
static void run_x(gka_arith_t *A, int chunk, const tl_seq_t *s, xs_t *out, gka_run_summary_t *sum) {
    gka_run_config_t c = gka_run_config_default();
    c.D = 8, c.T = 64, c.q = s->q, c.k = s->k, c.g = s->g;
    c.chunk = chunk;
    if (A)
        c.arith = A;
    else
        c.format = "bf16", c.accum = "round", c.iter_format = chunk ? "bf16" : NULL,
        c.carry = chunk ? "bf16" : NULL;
    out->n = 0;
    c.on_token = keep_x, c.ctx = out;
    cr_assert_eq(gka_run(&c, sum), GKA_OK, "%s", gka_error_message());
    cr_assert_eq(out->n, 64);
}

Test(run, user_table_runs_as_its_named_twin) {
    tl_seq_t s = tl_seq(8, 64, 3, 0.05, 1, 1.0);
    gka_arith_t A;
    cr_assert_eq(gka_arith_init_by_name(&A, "bf16", "round", NULL, 0), GKA_OK);
    static xs_t by_name, by_table;
    gka_run_summary_t s1, s2;
    for (int chunk = 0; chunk <= 16; chunk += 16) {
        /* the chunk form keeps its iterates and carry in the user's table
           (no fp32 default): the twin names bf16/round for both */
        run_x(NULL, chunk, &s, &by_name, &s1);
        run_x(&A, chunk, &s, &by_table, &s2);
        cr_assert(!memcmp(by_name.x, by_table.x, sizeof by_name.x), "chunk %d: other x", chunk);
        cr_assert_eq(s1.err_median, s2.err_median);
        cr_assert_str_eq(s2.arith_name, A.name);
        cr_assert_str_eq(s2.iter_name, "", "chunk %d: iterates in %s", chunk, s2.iter_name);
    }
    gka_arith_destroy(&A); /* the run borrowed it: still ours to destroy */
    tl_seq_free(&s);
}

typedef struct {
    long n;
    int ok;
} it_cb_t;

static int check_iterates(void *ctx, const gka_token_metrics_t *m) {
    it_cb_t *c = ctx;
    c->n++;
    /* x_0 .. x_r, the last the solution */
    if (m->niterates != 13 || memcmp(m->iterates + 12 * 6, m->x, 6 * sizeof(double))) c->ok = 0;
    return 0;
}

Test(run, iterates_end_at_the_solution_and_are_refused_where_none_exist) {
    tl_seq_t s = tl_seq(6, 20, 4, 0.05, 1, 1.0);
    gka_run_config_t c = gka_run_config_default();
    c.D = 6, c.T = 20, c.q = s.q, c.k = s.k, c.g = s.g, c.format = "bf16";
    c.opts.iters = 12, c.opts.iterates = 1;
    it_cb_t cb = {0, 1};
    c.on_token = check_iterates, c.ctx = &cb;
    gka_run_summary_t sum;
    cr_assert_eq(gka_run(&c, &sum), GKA_OK, "%s", gka_error_message());
    cr_assert(cb.n == 20 && cb.ok);
    c.solver = "cholesky";
    cr_assert_eq(gka_run(&c, &sum), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "no iterates"), "%s", gka_error_message());
    c.solver = "chebyshev", c.chunk = 4;
    cr_assert_eq(gka_run(&c, &sum), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "iterates"), "%s", gka_error_message());
    tl_seq_free(&s);
}
