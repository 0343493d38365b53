/* The token-form operator provider (solvers/operator.c): in the stream's own
 * arithmetic it is gka_stream_matvec; in another iterate arithmetic it takes
 * H_t, q_t, lambda_t, ||H_t||_F into it once per token and applies there. */
#include "solver_testlib.h"

#include "gka_operator.h"

Test(operator, stream_arithmetic_is_the_stream_matvec) {
    gka_arith_t A;
    cr_assert_eq(gka_arith_init_by_name(&A, "bf16", "wide", NULL, 0), GKA_OK);
    enum { D = 6 };
    tl_seq_t s = tl_seq(D, 5, 2, 0.1, 1, 0.4);
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, 0.02};
    gka_stream_t *st;
    cr_assert_eq(gka_stream_create(&st, &A, D, &ridge, 0), GKA_OK);
    for (long t = 0; t < s.T; t++)
        tl_push(st, &s, t);
    gka_operator_t op;
    gka_stream_operator(st, &op);
    void *y1 = A.alloc(&A, D), *y2 = A.alloc(&A, D);
    gka_operator_apply(&op, st->q, y1);
    gka_stream_matvec(st, st->q, y2);
    for (int i = 0; i < D; i++)
        cr_assert_eq(A.get_d(&A, GKA_ELEM(&A, y1, i)), A.get_d(&A, GKA_ELEM(&A, y2, i)));
    A.free(&A, y1, D), A.free(&A, y2, D);
    gka_stream_destroy(st);
    tl_seq_free(&s);
    gka_arith_destroy(&A);
}

/* bf16 state, fp32 iterates: y = fp32(H) x + fp32(lambda) x computed in the
 * fp32 table equals the operator's; its matrix is the stream's H; an
 * iterative solver of the wrong arithmetic is refused. */
Test(operator, other_iterate_arithmetic) {
    gka_arith_t As, Ai;
    cr_assert_eq(gka_arith_init_by_name(&As, "bf16", "wide", NULL, 0), GKA_OK);
    cr_assert_eq(gka_arith_init_by_name(&Ai, "fp32", "round", NULL, 0), GKA_OK);
    enum { D = 6 };
    const size_t DD = D * D;
    tl_seq_t s = tl_seq(D, 7, 3, 0.1, 1, 0.4);
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, 0.02};
    gka_stream_t *st;
    gka_token_op_t *top;
    cr_assert_eq(gka_stream_create(&st, &As, D, &ridge, 0), GKA_OK);
    cr_assert_eq(gka_token_op_create(&top, &As, &Ai, D), GKA_OK);
    for (long t = 0; t < s.T; t++)
        tl_push(st, &s, t);
    gka_operator_t op;
    cr_assert_eq(gka_token_op_bind(top, st, &op), GKA_OK);
    cr_assert_eq(op.A, &Ai);
    double H[DD], Hop[DD], x[D], lam = As.get_d(&As, st->lambda);
    As.to_double(&As, H, st->H, DD);
    for (int i = 0; i < D; i++)
        x[i] = 0.25 * (i + 1);
    void *xe = Ai.alloc(&Ai, D), *y = Ai.alloc(&Ai, D), *Hi = Ai.alloc(&Ai, DD);
    void *y2 = Ai.alloc(&Ai, D), *one = Ai.alloc(&Ai, 1), *l = Ai.alloc(&Ai, 1);
    Ai.from_double(&Ai, xe, x, D);
    Ai.from_double(&Ai, Hi, H, DD);
    Ai.set_d(&Ai, one, 1.0);
    Ai.set_d(&Ai, l, lam);
    gka_operator_apply(&op, xe, y);
    Ai.gemv(&Ai, D, D, one, Hi, xe, NULL, y2);
    Ai.axpy(&Ai, D, l, xe, y2);
    for (int i = 0; i < D; i++)
        cr_assert_eq(Ai.get_d(&Ai, GKA_ELEM(&Ai, y, i)), Ai.get_d(&Ai, GKA_ELEM(&Ai, y2, i)));
    void *Hs = As.alloc(&As, DD);
    cr_assert_eq(op.matrix(&op, &As, Hs), GKA_OK);
    As.to_double(&As, Hop, Hs, DD);
    for (size_t i = 0; i < DD; i++)
        cr_assert_eq(Hop[i], H[i]);
    gka_solver_t *sv;
    cr_assert_eq(gka_solver_create(&sv, "cg", NULL, &As, D), GKA_OK);
    gka_solve_info_t info;
    cr_assert_eq(gka_solver_solve_op(sv, &op, Hs, &info), GKA_EINVAL); /* cg in bf16, op fp32 */
    gka_solver_destroy(sv);
    cr_assert_eq(gka_solver_create(&sv, "cg", NULL, &Ai, D), GKA_OK);
    cr_assert_eq(gka_solver_solve_op(sv, &op, y, &info), GKA_OK);
    cr_assert(isfinite(op.residual64(&op, y, x)));
    gka_solver_destroy(sv);
    As.free(&As, Hs, DD);
    Ai.free(&Ai, xe, D), Ai.free(&Ai, y, D), Ai.free(&Ai, Hi, DD), Ai.free(&Ai, y2, D);
    Ai.free(&Ai, one, 1), Ai.free(&Ai, l, 1);
    gka_token_op_destroy(top);
    gka_stream_destroy(st);
    tl_seq_free(&s);
    gka_arith_destroy(&As);
    gka_arith_destroy(&Ai);
}
