/* Chunk-form backward (solvers/grad_chunk.c): equal to the token form to
 * roundoff in fp64 for every chunk size (gates, write gates, adaptive and
 * fixed ridge, lambda path on and off); its x equals the forward chunk form's;
 * bf16 stays finite and close; bad arguments. */
#include "grad_testlib.h"
#include "gka_solver.h"
#include "gka_chunker.h"

static void token_grads(gka_arith_t *A, const bt_prob_t *p, int r, int lambda_path, bt_grads_t *g) {
    gka_grad_problem_t gp = bt_gp(p);
    gka_grad_opts_t o = gka_grad_opts_default();
    o.iters = r, o.lambda_path = lambda_path;
    gka_grads_t out = bt_out(g);
    cr_assert_eq(gka_grad_token(A, &gp, &o, &out, NULL), GKA_OK, "%s", gka_error_message());
}

static void chunk_grads(gka_arith_t *A, const bt_prob_t *p, int C, int r, int lambda_path,
                        bt_grads_t *g) {
    gka_grad_problem_t gp = bt_gp(p);
    gka_grads_t out = bt_out(g);
    cr_assert_eq(gka_grad_chunked(A, &gp, C, r, lambda_path, &out), GKA_OK, "%s",
                 gka_error_message());
}

static void check_agree(int D, long T, uint64_t seed, double gate, int beta, const char *ridge,
                        int r, int lambda_path) {
    bt_prob_t p = bt_prob(D, T, seed, gate, beta, 0.6, ridge);
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    bt_grads_t tok = bt_grads_new(D, T), ch = bt_grads_new(D, T);
    token_grads(&A, &p, r, lambda_path, &tok);
    const int Cs[] = {1, 3, 8, (int)T, (int)T + 5};
    for (size_t i = 0; i < 5; i++) {
        chunk_grads(&A, &p, Cs[i], r, lambda_path, &ch);
        double e[4];
        bt_errors(&p, &ch, &tok, e);
        const double ex = gka_grad_rel_error((size_t)(T * D), ch.x, tok.x);
        cr_assert(ex <= 1e-13, "C=%d: x %.3e", Cs[i], ex);
        for (int j = 0; j < 4; j++)
            cr_assert(e[j] <= 1e-11, "%s C=%d gate=%g path=%d group %d: chunk vs token %.3e", ridge,
                      Cs[i], gate, lambda_path, j, e[j]);
    }
    gka_arith_destroy(&A);
    bt_grads_free(&tok), bt_grads_free(&ch);
    bt_prob_free(&p);
}

Test(grad_chunk, agrees_with_token_form_adaptive_gated) {
    check_agree(8, 21, 71, 0.3, 1, "adaptive:0.02", 30, 1);
    check_agree(6, 17, 72, 0.5, 0, "adaptive:0.05", 12, 0);
}

Test(grad_chunk, agrees_with_token_form_fixed_ungated) {
    check_agree(7, 19, 73, 0.0, 1, "fixed:0.25", 25, 1);
    check_agree(5, 10, 74, 0.0, 0, "adaptive:0.02", 5, 1);
}

/* Converged chunk-form gradients equal the MPFR finite differences of the
 * exact solution (the chunk formulas, independently of the token form). */
Test(grad_chunk, converged_chunk_gradients_match_finite_differences) {
    bt_prob_t p = bt_prob(5, 9, 75, 0.4, 1, 0.5, "adaptive:0.02");
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    bt_grads_t ch = bt_grads_new(5, 9), fd = bt_grads_new(5, 9);
    chunk_grads(&A, &p, 4, 200, 1, &ch);
    bt_fd(&p, BT_EXACT, 0, &fd);
    double e[4];
    bt_errors(&p, &ch, &fd, e);
    for (int j = 0; j < 4; j++)
        cr_assert(e[j] <= 1e-12, "group %d: %.3e", j, e[j]);
    gka_arith_destroy(&A);
    bt_grads_free(&ch), bt_grads_free(&fd);
    bt_prob_free(&p);
}

/* The forward part equals gka_chebyshev_chunked (b2's chunk form) to roundoff. */
Test(grad_chunk, forward_x_equals_chebyshev_chunked) {
    const int D = 9;
    const long T = 23;
    bt_prob_t p = bt_prob(D, T, 76, 0.2, 1, 0.3, "adaptive:0.02");
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    bt_grads_t ch = bt_grads_new(D, T);
    double *x = malloc((size_t)(T * D) * 8);
    chunk_grads(&A, &p, 5, 20, 1, &ch);
    cr_assert_eq(
        gka_chebyshev_chunked(&A, &A, D, T, 5, p.q, p.k, p.g, p.beta, 0.02, 20, x, NULL, NULL),
        GKA_OK, "%s", gka_error_message());
    const double e = gka_grad_rel_error((size_t)(T * D), ch.x, x);
    cr_assert(e <= 1e-13, "x vs gka_chebyshev_chunked: %.3e", e);
    free(x);
    gka_arith_destroy(&A);
    bt_grads_free(&ch);
    bt_prob_free(&p);
}

/* bf16 (fp32 accumulation): finite, within a measured envelope of the exact
 * gradient, and comparable to the token form in bf16. */
Test(grad_chunk, bf16_chunk_gradients_finite_and_close) {
    const int D = 16;
    const long T = 40;
    bt_prob_t p = bt_prob(D, T, 77, 0.1, 1, 0.0, "adaptive:0.02");
    gka_arith_t A, A64;
    cr_assert_eq(gka_arith_init_by_name(&A, "bf16", "wide", NULL, 0), GKA_OK);
    gka_arith_init_fp64(&A64);
    bt_grads_t ch = bt_grads_new(D, T), ex = bt_grads_new(D, T), ref = bt_grads_new(D, T);
    chunk_grads(&A, &p, 16, 30, 1, &ch);
    /* the exact gradient of the bf16-rounded inputs */
    gka_rounding_t rb = gka_rounding_default(&gka_bf16);
    gka_round_array(p.q, p.q, (size_t)(T * D), &rb);
    gka_round_array(p.k, p.k, (size_t)(T * D), &rb);
    gka_round_array(p.dx, p.dx, (size_t)(T * D), &rb);
    gka_grad_problem_t gp = bt_gp(&p);
    gka_grad_opts_t o = gka_grad_opts_default();
    o.solver = "cholesky";
    gka_grads_t eo = bt_out(&ex), ro = bt_out(&ref);
    cr_assert_eq(gka_grad_token(&A64, &gp, &o, &eo, &ro), GKA_OK);
    double e[4];
    bt_errors(&p, &ch, &ref, e);
    for (int j = 0; j < 4; j++)
        cr_assert(e[j] < 0.2 && e[j] > 1e-5, "bf16 chunk group %d: %.3e", j, e[j]);
    gka_arith_destroy(&A);
    gka_arith_destroy(&A64);
    bt_grads_free(&ch), bt_grads_free(&ex), bt_grads_free(&ref);
    bt_prob_free(&p);
}

Test(grad_chunk, bad_arguments_and_nan) {
    bt_prob_t p = bt_prob(4, 6, 78, 0.1, 0, 0.0, "adaptive:0.02");
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    bt_grads_t g = bt_grads_new(4, 6);
    gka_grad_problem_t gp = bt_gp(&p);
    gka_grads_t out = bt_out(&g);
    cr_assert_eq(gka_grad_chunked(&A, &gp, 0, 10, 1, &out), GKA_EINVAL);
    cr_assert_eq(gka_grad_chunked(&A, &gp, 4, -1, 1, &out), GKA_EINVAL);
    p.g[3] = 1.0;
    cr_assert_eq(gka_grad_chunked(&A, &gp, 4, 10, 1, &out), GKA_EINVAL);
    p.g[3] = -0.1;
    p.q[5] = NAN;
    cr_assert_eq(gka_grad_chunked(&A, &gp, 4, 10, 1, &out), GKA_OK);
    /* dq_t = A_t^{-1} dx_t does not see q; x_t and through it dk do */
    cr_assert(isinf(gka_grad_rel_error(24, g.x, g.x)), "a NaN query must poison x");
    cr_assert(isinf(gka_grad_rel_error(24, g.dk, g.dk)), "a NaN query must poison dk");
    gka_arith_destroy(&A);
    bt_grads_free(&g);
    bt_prob_free(&p);
}

/* One chunk operator: in bf16 (fp32 accumulation, the state carried in the
 * format) the backward's forward x is gka_chunker_run's bit for bit (same
 * tables, matvec, norm formula, gate arithmetic and scan), gated and
 * write-gated, T not a multiple of C. */
Test(grad_chunk, bf16_forward_x_is_the_chunkers_bit_for_bit) {
    const int D = 12, C = 5, r = 16;
    const long T = 23;
    bt_prob_t p = bt_prob(D, T, 78, 0.3, 1, 0.4, "adaptive:0.02");
    gka_arith_t A;
    cr_assert_eq(gka_arith_init_by_name(&A, "bf16", "wide", NULL, 0), GKA_OK);
    bt_grads_t ch = bt_grads_new(D, T);
    chunk_grads(&A, &p, C, r, 1, &ch);
    gka_chunker_t *ck;
    cr_assert_eq(gka_chunker_create(&ck, &A, &A, D, C, &p.ridge, r), GKA_OK);
    double *x = malloc((size_t)(T * D) * sizeof *x);
    for (long t0 = 0; t0 < T; t0 += C) {
        const int n = (int)(T - t0 < C ? T - t0 : C);
        cr_assert_eq(gka_chunker_run(ck, n, p.q + t0 * D, p.k + t0 * D, p.g + t0, p.beta + t0,
                                     x + t0 * D, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                     GKA_OK, "%s", gka_error_message());
    }
    for (long i = 0; i < T * D; i++)
        cr_assert_eq(ch.x[i], x[i], "x[%ld]: backward %.9g, chunker %.9g", i, ch.x[i], x[i]);
    free(x);
    gka_chunker_destroy(ck);
    gka_arith_destroy(&A);
    bt_grads_free(&ch);
    bt_prob_free(&p);
}
