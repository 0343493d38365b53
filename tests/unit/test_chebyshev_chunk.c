/* Chunk-form Chebyshev (MATH.md section 3) against the token form: fp64 to roundoff
 * (gated, write-gated, T not a multiple of C), and in bf16 state / fp32
 * iterates the same error statistics as the token form. */
#include "solver_testlib.h"
#include "gka_chunker.h"

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

/* ---- every operator solver in chunk form ---------------------------------- */

/* Token form with solver `name` over the sequence (fp64): x (T x D). */
static void token_form_solver(gka_arith_t *A, const tl_seq_t *s, const gka_ridge_t *ridge,
                              const char *name, double *x) {
    const int D = s->D;
    gka_stream_t *st;
    gka_solver_t *sv;
    gka_solver_opts_t o = gka_solver_opts_default();
    o.iters = 20;
    cr_assert_eq(gka_stream_create(&st, A, D, ridge, 0), GKA_OK);
    cr_assert_eq(gka_solver_create(&sv, name, &o, A, D), GKA_OK);
    void *xe = A->alloc(A, (size_t)D);
    for (long t = 0; t < s->T; t++) {
        cr_assert_eq(tl_push(st, s, t), GKA_OK);
        tl_solve(sv, st, xe, x + t * D);
    }
    A->free(A, xe, (size_t)D);
    gka_solver_destroy(sv);
    gka_stream_destroy(st);
}

/* Chunk form with solver `name` (state, iterates and carry in A). */
static void chunk_form_solver(gka_arith_t *As, gka_arith_t *Ai, gka_arith_t *Ac, const tl_seq_t *s,
                              const gka_ridge_t *ridge, int C, const char *name, double *x,
                              double *H_snapshot, double *H_carry) {
    const int D = s->D;
    gka_chunker_t *c;
    gka_solver_t *sv = NULL;
    gka_solver_opts_t o = gka_solver_opts_default();
    o.iters = 20;
    cr_assert_eq(gka_chunker_create(&c, As, Ai, D, C, ridge, 20), GKA_OK);
    cr_assert_eq(gka_chunker_set_carry(c, Ac), GKA_OK, "%s", gka_error_message());
    if (name) {
        const gka_solver_ops_t *ops;
        cr_assert_eq(gka_solver_find(name, &ops), GKA_OK);
        cr_assert_eq(gka_solver_create(&sv, name, &o, ops->iterative ? Ai : As, D), GKA_OK);
        cr_assert_eq(gka_chunker_set_solver(c, sv), GKA_OK, "%s", gka_error_message());
    }
    for (long t0 = 0; t0 < s->T; t0 += C) {
        const int n = (int)(s->T - t0 < C ? s->T - t0 : C);
        cr_assert_eq(gka_chunker_run(c, n, s->q + t0 * D, s->k + t0 * D, s->g ? s->g + t0 : NULL,
                                     s->beta ? s->beta + t0 : NULL, x + t0 * D, NULL, NULL, NULL,
                                     NULL, NULL, NULL, NULL),
                     GKA_OK, "%s", gka_error_message());
    }
    if (H_snapshot) gka_chunker_state(c, H_snapshot);
    if (H_carry) gka_chunker_carry_state(c, H_carry);
    gka_chunker_destroy(c);
    gka_solver_destroy(sv);
}

/* With fp64 tables the chunk form of every operator solver (and Cholesky on
 * H_c materialised) equals its token form to roundoff, gated and
 * write-gated, T not a multiple of C. */
Test(chebyshev_chunk, every_solver_fp64_equals_token_form) {
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    const int D = 12;
    const long T = 45;
    tl_seq_t s = tl_seq(D, T, 5, 0.05, 1, 0.5);
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, 0.02};
    const char *names[] = {"chebyshev", "cg", "gd", "agd", "cholesky"};
    double *xt = malloc((size_t)(T * D) * sizeof(double)),
           *xc = malloc((size_t)(T * D) * sizeof(double));
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        token_form_solver(&A, &s, &ridge, names[i], xt);
        chunk_form_solver(&A, &A, &A, &s, &ridge, 8, names[i], xc, NULL, NULL);
        for (long t = 0; t < T; t++) {
            const double e = tl_relerr(xc + t * D, xt + t * D, D);
            cr_assert(e <= 1e-10, "%s t=%ld chunk vs token %.3e", names[i], t, e);
        }
    }
    free(xt), free(xc);
    tl_seq_free(&s);
}

/* Kalman needs the stream: the chunker refuses it. */
Test(chebyshev_chunk, refuses_a_token_form_solver) {
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, 0.02};
    gka_chunker_t *c;
    gka_solver_t *kf;
    cr_assert_eq(gka_chunker_create(&c, &A, &A, 4, 4, &ridge, 10), GKA_OK);
    cr_assert_eq(gka_solver_create(&kf, "kalman", NULL, &A, 4), GKA_OK);
    cr_assert_eq(gka_chunker_set_solver(c, kf), GKA_EINVAL);
    gka_solver_destroy(kf);
    gka_chunker_destroy(c);
}

/* Carry: bf16 state, fp32 iterates. With an fp32 carry the snapshot is the
 * fp32 scan rounded once to bf16 (ungated, beta = 1, keys bf16 values: the
 * fp32 scan is then a chunker with fp32 state and carry on the same keys);
 * with the format as carry (the old model) the state is rounded at every
 * boundary, and the two differ. */
Test(chebyshev_chunk, fp32_carry_is_the_fp32_scan_rounded_once) {
    gka_arith_t Ab, A32;
    cr_assert_eq(gka_arith_init_by_name(&Ab, "bf16", "wide", NULL, 0), GKA_OK);
    cr_assert_eq(gka_arith_init_by_name(&A32, "fp32", "round", NULL, 0), GKA_OK);
    const int D = 8, C = 4;
    const long T = 64;
    tl_seq_t s = tl_seq(D, T, 9, 0.0, 0, 0.7);
    gka_format_t bf16;
    cr_assert_eq(gka_format_by_name("bf16", &bf16), GKA_OK);
    gka_rounding_t rb = gka_rounding_default(&bf16);
    for (long i = 0; i < T * D; i++) { /* keys and queries on the bf16 grid */
        s.k[i] = gka_round(s.k[i], &rb);
        s.q[i] = gka_round(s.q[i], &rb);
    }
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, 0.02};
    const size_t DD = (size_t)(D * D);
    double *x = malloc((size_t)(T * D) * sizeof(double));
    double Hs_fp32[64], Hc_fp32[64], Hs_fmt[64], H_scan[64];
    chunk_form_solver(&Ab, &A32, &A32, &s, &ridge, C, NULL, x, Hs_fp32, Hc_fp32);
    chunk_form_solver(&Ab, &A32, &Ab, &s, &ridge, C, NULL, x, Hs_fmt, NULL);
    chunk_form_solver(&A32, &A32, &A32, &s, &ridge, C, NULL, x, H_scan, NULL);
    int differ = 0;
    for (size_t i = 0; i < DD; i++) {
        cr_assert_eq(Hc_fp32[i], H_scan[i], "carry %zu: %.9g vs fp32 scan %.9g", i, Hc_fp32[i],
                     H_scan[i]);
        cr_assert_eq(Hs_fp32[i], gka_round(H_scan[i], &rb), "snapshot %zu not rounded once", i);
        differ |= Hs_fmt[i] != Hs_fp32[i];
    }
    cr_assert(differ, "fp32 carry and bf16 carry gave the same state");
    free(x);
    tl_seq_free(&s);
    gka_arith_destroy(&Ab);
    gka_arith_destroy(&A32);
}

/* The state decay of a chunk of one token with no write (beta = 0): the
 * carry times exp(G) by the chunk scan, against gka_gate_scale (the token
 * form's decay: an fp32 gate for formats narrower than fp32) applied to the
 * carry before. Bit for bit in both carries; a bf16-rounded gate (0.9975 ->
 * 0.99609) fails it. */
static void check_decay_as_token_form(gka_arith_t *As, gka_arith_t *Ai, gka_arith_t *Ac) {
    const int D = 6;
    const size_t DD = (size_t)(D * D);
    tl_seq_t s = tl_seq(D, 2, 31, 0.0, 0, 0.4);
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, 0.02};
    gka_chunker_t *c;
    cr_assert_eq(gka_chunker_create(&c, As, Ai, D, 1, &ridge, 5), GKA_OK);
    cr_assert_eq(gka_chunker_set_carry(c, Ac), GKA_OK);
    double x[6], before[36], after[36], expect[36];
    cr_assert_eq(
        gka_chunker_run(c, 1, s.q, s.k, NULL, NULL, x, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        GKA_OK);
    gka_chunker_carry_state(c, before);
    const double g = (double)(float)log(0.9975), zero = 0.0; /* exact in the fp32 iterates */
    cr_assert_eq(gka_chunker_run(c, 1, s.q + D, s.k + D, &g, &zero, x, NULL, NULL, NULL, NULL, NULL,
                                 NULL, NULL),
                 GKA_OK);
    gka_chunker_carry_state(c, after);
    void *h = Ac->alloc(Ac, DD);
    Ac->from_double(Ac, h, before, DD);
    const double gamma = (double)(float)exp(g); /* the token form's fp32 gamma */
    cr_assert_eq(gka_gate_scale(Ac, gamma, h, DD), GKA_OK);
    Ac->to_double(Ac, expect, h, DD);
    int moved = 0;
    for (size_t i = 0; i < DD; i++) {
        cr_assert_eq(after[i], expect[i], "%s carry, entry %zu: chunk %.9g, token form %.9g",
                     Ac->name, i, after[i], expect[i]);
        moved |= after[i] != before[i];
    }
    cr_assert(moved, "the decay changed nothing");
    Ac->free(Ac, h, DD);
    gka_chunker_destroy(c);
    tl_seq_free(&s);
}

Test(chebyshev_chunk, carry_decays_with_the_token_forms_gate) {
    gka_arith_t Ab, A32;
    cr_assert_eq(gka_arith_init_by_name(&Ab, "bf16", "wide", NULL, 0), GKA_OK);
    cr_assert_eq(gka_arith_init_by_name(&A32, "fp32", "round", NULL, 0), GKA_OK);
    cr_assert(gka_gate_fp32(&Ab) && !gka_gate_fp32(&A32));
    check_decay_as_token_form(&Ab, &A32, &Ab);  /* --carry bf16 */
    check_decay_as_token_form(&Ab, &A32, &A32); /* --carry fp32 */
    check_decay_as_token_form(&Ab, &Ab, &Ab);   /* bf16 iterates too: the gate stays fp32 */
    gka_arith_destroy(&Ab);
    gka_arith_destroy(&A32);
}

/* Per-token iteration counts: Chebyshev runs r steps; CG in fp64 with a
 * tolerance of 1e-10 stops before r = 40 on D = 4, and says why. */
Test(chebyshev_chunk, reports_iterations_per_token) {
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    const int D = 4, C = 3, r = 40;
    tl_seq_t s = tl_seq(D, C, 33, 0.2, 1, 0.3);
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, 0.02};
    gka_chunker_t *c;
    gka_solver_t *cg;
    gka_solver_opts_t o = gka_solver_opts_default();
    o.iters = r, o.tol = 1e-10;
    cr_assert_eq(gka_chunker_create(&c, &A, &A, D, C, &ridge, r), GKA_OK);
    double x[12];
    gka_reason_t why[3];
    int it[3];
    cr_assert_eq(
        gka_chunker_run(c, C, s.q, s.k, s.g, s.beta, x, NULL, NULL, why, NULL, NULL, NULL, NULL),
        GKA_OK);
    gka_chunker_token_iters(c, it, C);
    for (int j = 0; j < C; j++)
        cr_assert(it[j] == r && why[j] == GKA_REASON_ITERATION_LIMIT, "chebyshev token %d: %d, %d",
                  j, it[j], (int)why[j]);
    cr_assert_eq(gka_solver_create(&cg, "cg", &o, &A, D), GKA_OK);
    cr_assert_eq(gka_chunker_set_solver(c, cg), GKA_OK);
    cr_assert_eq(
        gka_chunker_run(c, C, s.q, s.k, s.g, s.beta, x, NULL, NULL, why, NULL, NULL, NULL, NULL),
        GKA_OK);
    gka_chunker_token_iters(c, it, C);
    for (int j = 0; j < C; j++)
        cr_assert(it[j] >= 1 && it[j] < r && why[j] == GKA_REASON_CONVERGED,
                  "cg token %d: %d iterations, reason %d", j, it[j], (int)why[j]);
    gka_chunker_destroy(c);
    gka_solver_destroy(cg);
    tl_seq_free(&s);
}
