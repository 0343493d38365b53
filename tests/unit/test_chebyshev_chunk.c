/* Chunk-form Chebyshev (SPEC 3) against the token form: fp64 to roundoff
 * (gated, write-gated, T not a multiple of C), and in bf16 state / fp32
 * iterates the same error statistics as the token form. */
#include "solver_testlib.h"

/* Token form over the sequence: x (T x D), hnorm (T), final H. */
static void token_form(gka_arith_t *A, const tl_seq_t *s, const gka_ridge_t *ridge, int r,
                       double *x, double *hnorm, double *H, double *errs) {
    const int D = s->D;
    gka_stream_t *st;
    gka_solver_t *sv;
    gka_solver_opts_t o = gka_solver_opts_default();
    o.iters = r;
    cr_assert_eq(gka_stream_create(&st, A, D, ridge, 0), GKA_OK);
    cr_assert_eq(gka_solver_create(&sv, "chebyshev", &o, A, D), GKA_OK);
    void *xe = A->alloc(A, (size_t)D);
    double xref[64];
    for (long t = 0; t < s->T; t++) {
        cr_assert_eq(tl_push(st, s, t), GKA_OK);
        tl_solve(sv, st, xe, x + t * D);
        if (hnorm) hnorm[t] = A->get_d(A, st->hnorm);
        if (errs) {
            tl_reference(st, xref);
            errs[t] = tl_relerr(x + t * D, xref, D);
        }
    }
    if (H) A->to_double(A, H, st->H, (size_t)(D * D));
    A->free(A, xe, (size_t)D);
    gka_solver_destroy(sv);
    gka_stream_destroy(st);
}

static void check_fp64_equal(int D, long T, int C, double gate, int with_beta) {
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    tl_seq_t s = tl_seq(D, T, 31, gate, with_beta, 0.5);
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, 0.02};
    const size_t n = (size_t)(T * D);
    double *xt = malloc(n * sizeof(double)), *xc = malloc(n * sizeof(double));
    double *ht = malloc((size_t)T * sizeof(double)), *hc = malloc((size_t)T * sizeof(double));
    double *Ht = malloc((size_t)(D * D) * sizeof(double)),
           *Hc = malloc((size_t)(D * D) * sizeof(double));
    token_form(&A, &s, &ridge, 30, xt, ht, Ht, NULL);
    cr_assert_eq(
        gka_chebyshev_chunked(&A, &A, D, T, C, s.q, s.k, s.g, s.beta, 0.02, 30, xc, hc, Hc), GKA_OK,
        "%s", gka_error_message());
    double worst = 0.0;
    for (long t = 0; t < T; t++) {
        const double e = tl_relerr(xc + t * D, xt + t * D, D);
        cr_assert(e <= 1e-11, "t=%ld chunk vs token %.3e (C=%d)", t, e, C);
        cr_assert(fabs(hc[t] - ht[t]) <= 1e-12 * ht[t], "t=%ld hnorm %.17g vs %.17g", t, hc[t],
                  ht[t]);
        if (e > worst) worst = e;
    }
    cr_assert(tl_relerr(Hc, Ht, D * D) <= 1e-13);
    cr_assert(worst > 0.0 || gate == 0.0, "identical bits with gates: suspicious");
    free(xt), free(xc), free(ht), free(hc), free(Ht), free(Hc);
    tl_seq_free(&s);
}

Test(chebyshev_chunk, fp64_equals_token_form_gated) {
    check_fp64_equal(16, 150, 16, 0.05, 1);
}
Test(chebyshev_chunk, fp64_equals_token_form_ungated_single_chunk) {
    check_fp64_equal(8, 40, 64, 0.0, 0);
}
Test(chebyshev_chunk, fp64_equals_token_form_chunk_of_one) {
    check_fp64_equal(12, 37, 1, 0.2, 1);
}
Test(chebyshev_chunk, fp64_equals_token_form_odd_chunks) {
    check_fp64_equal(20, 101, 7, 0.02, 0);
}

static double median_of(const double *v, long n) {
    double *tmp = malloc((size_t)n * sizeof(double));
    memcpy(tmp, v, (size_t)n * sizeof(double));
    for (long i = 0; i < n; i++)
        for (long j = i + 1; j < n; j++)
            if (tmp[j] < tmp[i]) {
                double u = tmp[i];
                tmp[i] = tmp[j];
                tmp[j] = u;
            }
    double m = n % 2 ? tmp[n / 2] : 0.5 * (tmp[n / 2 - 1] + tmp[n / 2]);
    free(tmp);
    return m;
}

/* Emulated bf16 (fp32 accumulation) in both forms, same rounded problem (no
 * gates: the token form rounds gamma, the chunk form the log-gate): the
 * errors against the fp64 reference have the same statistics. With fp32
 * iterates (the reference kernels' choice, via the run driver) the chunk
 * form is more accurate than all-bf16. */
Test(chebyshev_chunk, bf16_same_error_statistics_as_token_form) {
    const int D = 24;
    const long T = 128;
    gka_arith_t As;
    cr_assert_eq(gka_arith_init_by_name(&As, "bf16", "wide", NULL, 0), GKA_OK);
    tl_seq_t s = tl_seq(D, T, 41, 0.0, 0, 0.3);
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, 0.02};
    const size_t n = (size_t)(T * D);
    double *xt = malloc(n * sizeof(double)), *xc = malloc(n * sizeof(double));
    double *et = malloc((size_t)T * sizeof(double)), *ec = malloc((size_t)T * sizeof(double));
    token_form(&As, &s, &ridge, 30, xt, NULL, NULL, et);
    cr_assert_eq(
        gka_chebyshev_chunked(&As, &As, D, T, 16, s.q, s.k, NULL, NULL, 0.02, 30, xc, NULL, NULL),
        GKA_OK);
    /* the reference problem of both: the token form's fp64 mirror */
    gka_arith_t A64;
    gka_arith_init_fp64(&A64);
    gka_stream_t *ref;
    cr_assert_eq(gka_stream_create(&ref, &As, D, &ridge, 0), GKA_OK);
    double xref[64];
    for (long t = 0; t < T; t++) {
        tl_push(ref, &s, t);
        tl_reference(ref, xref);
        ec[t] = tl_relerr(xc + t * D, xref, D);
        cr_assert(isfinite(ec[t]));
    }
    gka_stream_destroy(ref);
    const double mt = median_of(et, T), mc = median_of(ec, T);
    cr_assert(mc < 3.0 * mt && mt < 3.0 * mc, "chunk median %.3e vs token median %.3e", mc, mt);
    cr_assert(mt > 1e-4 && mt < 0.2, "bf16 token-form median error %.3e implausible", mt);
    /* fp32 iterates (run driver default for the chunk form) */
    gka_run_config_t c = gka_run_config_default();
    c.D = D, c.T = T, c.q = s.q, c.k = s.k;
    c.format = "bf16", c.accum = "wide", c.chunk = 16;
    gka_run_summary_t sum;
    cr_assert_eq(gka_run(&c, &sum), GKA_OK, "%s", gka_error_message());
    cr_assert(isfinite(sum.err_median) && sum.err_median < mt,
              "fp32 iterates %.3e not better than bf16 %.3e", sum.err_median, mt);
    cr_assert_eq(sum.reasons[GKA_REASON_ITERATION_LIMIT], T);
    free(xt), free(xc), free(et), free(ec);
    gka_arith_destroy(&As);
    tl_seq_free(&s);
}

Test(chebyshev_chunk, rejects_bad_arguments) {
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    double q[4] = {1, 0, 0, 0}, k[4] = {0, 1, 0, 0}, g[1] = {0.5}, x[4];
    cr_assert_eq(gka_chebyshev_chunked(&A, &A, 4, 1, 0, q, k, NULL, NULL, 0.02, 5, x, NULL, NULL),
                 GKA_EINVAL);
    cr_assert_eq(gka_chebyshev_chunked(&A, &A, 0, 1, 4, q, k, NULL, NULL, 0.02, 5, x, NULL, NULL),
                 GKA_EINVAL);
    cr_assert_eq(gka_chebyshev_chunked(&A, &A, 4, 1, 4, q, k, g, NULL, 0.02, 5, x, NULL, NULL),
                 GKA_EINVAL);
    cr_assert_eq(gka_chebyshev_chunked(&A, &A, 4, 1, 4, q, k, NULL, NULL, -1.0, 5, x, NULL, NULL),
                 GKA_EINVAL);
    cr_assert_eq(gka_chebyshev_chunked(&A, &A, 4, 1, 4, q, k, NULL, NULL, 0.02, 5, x, NULL, NULL),
                 GKA_OK);
    for (int i = 0; i < 4; i++)
        cr_assert(isfinite(x[i]));
}
