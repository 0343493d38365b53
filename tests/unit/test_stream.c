/* The ridge stream (solvers/stream.c): ridge specs, H_t / U_t / ||H_t||_F / lambda_t in the
 * studied arithmetic against a direct fp64 computation, input rounding, the
 * fp64 mirror, errors. */
#include "solver_testlib.h"

Test(stream, ridge_parse) {
    gka_ridge_t r;
    cr_assert_eq(gka_ridge_parse("fixed:0.25", &r), GKA_OK);
    cr_assert(r.kind == GKA_RIDGE_FIXED && r.value == 0.25);
    cr_assert_eq(gka_ridge_parse("adaptive:0.02", &r), GKA_OK);
    cr_assert(r.kind == GKA_RIDGE_ADAPTIVE && r.value == 0.02);
    cr_assert_eq(gka_ridge_parse("decay:1e-3", &r), GKA_OK);
    cr_assert(r.kind == GKA_RIDGE_DECAY && r.value == 1e-3);
    cr_assert_eq(gka_ridge_parse("fixed:0", &r), GKA_OK);
    const char *bad[] = {"",           "fixed",      "fixed:",         "fixed:-1",
                         "adaptive:0", "adaptive:x", "adaptive:0.02x", "decay:0",
                         "fixed:nan",  "fixed:inf",  "ridge:1",        "adaptive:1e999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(gka_ridge_parse(bad[i], &r), GKA_EINVAL, "'%s' accepted", bad[i]);
        cr_assert(strlen(gka_error_message()) > 0);
    }
    char buf[64];
    r.kind = GKA_RIDGE_ADAPTIVE, r.value = 0.02;
    gka_ridge_format(&r, buf, sizeof buf);
    gka_ridge_t back;
    cr_assert_eq(gka_ridge_parse(buf, &back), GKA_OK);
    cr_assert(back.kind == r.kind && back.value == r.value);
}

/* fp64 stream vs H computed directly: H_t = sum_s prod_{s<u<=t} gamma_u beta_s^2 k_s k_s^T. */
Test(stream, fp64_matches_direct_sum_with_gates_beta_and_U) {
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    const int D = 6;
    const long T = 40;
    tl_seq_t s = tl_seq(D, T, 3, 0.1, 1, 0.0);
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, 0.05};
    gka_stream_t *st;
    cr_assert_eq(gka_stream_create(&st, &A, D, &ridge, 1), GKA_OK);
    double H[36] = {0}, U[36] = {0}, Hs[36], Us[36];
    for (long t = 0; t < T; t++) {
        const double *v = s.q + t * D; /* any vector as the value */
        cr_assert_eq(gka_stream_push(st, s.q + t * D, s.k + t * D, s.g[t], s.beta[t], v), GKA_OK);
        const double gm = exp(s.g[t]), b2 = s.beta[t] * s.beta[t];
        for (int i = 0; i < D; i++)
            for (int j = 0; j < D; j++) {
                H[i * D + j] = gm * H[i * D + j] + b2 * s.k[t * D + i] * s.k[t * D + j];
                U[i * D + j] = gm * U[i * D + j] + b2 * v[i] * s.k[t * D + j];
            }
    }
    A.to_double(&A, Hs, st->H, 36);
    A.to_double(&A, Us, st->U, 36);
    cr_assert(tl_relerr(Hs, H, 36) < 1e-14);
    cr_assert(tl_relerr(Us, U, 36) < 1e-14);
    cr_assert(tl_relerr(st->H64, H, 36) < 1e-14);
    double fro = 0.0;
    for (int i = 0; i < 36; i++)
        fro += H[i] * H[i];
    fro = sqrt(fro);
    cr_assert_float_eq(A.get_d(&A, st->hnorm), fro, 1e-14 * fro);
    cr_assert_float_eq(A.get_d(&A, st->lambda), 0.05 * fro, 1e-14 * fro);
    cr_assert_float_eq(st->lambda64, 0.05 * fro, 1e-14 * fro);
    cr_assert_eq(st->t, T);
    for (int i = 0; i < D; i++) /* the mirror is exactly symmetric (gka_reference.h needs it) */
        for (int j = 0; j < D; j++)
            cr_assert_eq(st->H64[i * D + j], st->H64[j * D + i]);
    gka_stream_destroy(st);
    tl_seq_free(&s);
}

/* bf16: inputs are rounded once; H is a bf16 matrix; the mirror is built
 * from the same rounded k (so k64 are bf16 values). Decay ridge follows the
 * rounded gates. */
Test(stream, bf16_rounds_inputs_and_decay_ridge) {
    gka_arith_t A;
    cr_assert_eq(gka_arith_init_by_name(&A, "bf16", "wide", NULL, 0), GKA_OK);
    gka_rounding_t r = gka_rounding_default(&gka_bf16);
    const int D = 8;
    tl_seq_t s = tl_seq(D, 30, 5, 0.2, 0, 0.0);
    gka_ridge_t ridge = {GKA_RIDGE_DECAY, 0.5};
    gka_stream_t *st;
    cr_assert_eq(gka_stream_create(&st, &A, D, &ridge, 0), GKA_OK);
    double lam = 0.5, Hs[64];
    for (long t = 0; t < 30; t++) {
        tl_push(st, &s, t);
        for (int i = 0; i < D; i++) {
            cr_assert_eq(st->k64[i], gka_round(s.k[t * D + i], &r));
            cr_assert_eq(st->q64[i], gka_round(s.q[t * D + i], &r));
        }
        gka_rounding_t r32 = gka_rounding_default(&gka_fp32); /* gates stay fp32 */
        cr_assert_eq(st->gamma64, gka_round(exp(s.g[t]), &r32));
        lam *= st->gamma64;
        cr_assert_float_eq(st->lambda64, lam, 1e-15);
    }
    A.to_double(&A, Hs, st->H, 64);
    for (int i = 0; i < 64; i++)
        cr_assert_eq(Hs[i], gka_round(Hs[i], &r));
    /* bf16 H differs from the fp64 mirror by accumulated rounding, ~ 2^-8 */
    const double e = tl_relerr(Hs, st->H64, 64);
    cr_assert(e > 1e-5 && e < 0.05, "bf16 H vs mirror %.3e", e);
    gka_stream_destroy(st);
    gka_arith_destroy(&A);
    tl_seq_free(&s);
}

Test(stream, rejects_bad_input) {
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    gka_ridge_t ridge = {GKA_RIDGE_FIXED, 0.25};
    gka_stream_t *st;
    cr_assert_eq(gka_stream_create(&st, &A, 0, &ridge, 0), GKA_EINVAL);
    cr_assert_eq(gka_stream_create(&st, &A, 1025, &ridge, 0), GKA_EINVAL);
    cr_assert_eq(gka_stream_create(&st, &A, 3, &ridge, 1), GKA_OK);
    double q[3] = {1, 0, 0}, k[3] = {0, 1, 0}, H[9] = {1, 2, 0, 0, 1, 0, 0, 0, 1};
    cr_assert_eq(gka_stream_push(st, q, k, 0.1, 1.0, q), GKA_EINVAL); /* g > 0 */
    cr_assert_eq(gka_stream_push(st, q, k, NAN, 1.0, q), GKA_EINVAL);
    cr_assert_eq(gka_stream_push(st, q, k, 0.0, INFINITY, q), GKA_EINVAL);
    cr_assert_eq(gka_stream_push(st, q, k, 0.0, 1.0, NULL), GKA_EINVAL); /* U needs v */
    cr_assert_eq(gka_stream_set_H(st, H), GKA_EINVAL);                   /* not symmetric */
    cr_assert_eq(st->t, 0);
    H[1] = 0.0;
    cr_assert_eq(gka_stream_set_H(st, H), GKA_OK);
    cr_assert_float_eq(st->hnorm64, sqrt(3.0), 1e-15);
    gka_stream_destroy(st);
}

Test(stream, residual64_and_matvec) {
    gka_arith_t A;
    gka_arith_init_fp64(&A);
    gka_ridge_t ridge = {GKA_RIDGE_FIXED, 0.5};
    gka_stream_t *st;
    gka_stream_create(&st, &A, 2, &ridge, 0);
    double H[4] = {2, 1, 1, 3}, q[2] = {1, 2}, x[2] = {0.25, 0.5}, y[2], scratch[2];
    gka_stream_set_H(st, H);
    gka_stream_set_query(st, q);
    gka_stream_matvec(st, x, y); /* (H + 0.5 I) x = (1.125, 2) */
    cr_assert_eq(y[0], 1.125);
    cr_assert_eq(y[1], 2.0);
    /* residual (0.125, 0) / ||(1,2)|| */
    cr_assert_float_eq(gka_stream_rel_residual64(st, x, scratch), 0.125 / sqrt(5.0), 1e-16);
    gka_stream_destroy(st);
}

/* bf16: the decay is the fp32 product (fp32 gate) x (bf16 entry) rounded
 * once to bf16; a gate of 0.9975 is not rounded to bf16 (0.99609). */
Test(stream, bf16_decay_uses_fp32_gate_one_rounding) {
    gka_arith_t A;
    cr_assert_eq(gka_arith_init_by_name(&A, "bf16", "wide", NULL, 0), GKA_OK);
    gka_rounding_t rb = gka_rounding_default(&gka_bf16), r32 = gka_rounding_default(&gka_fp32);
    gka_ridge_t ridge = {GKA_RIDGE_FIXED, 0.25};
    gka_stream_t *st;
    cr_assert_eq(gka_stream_create(&st, &A, 3, &ridge, 0), GKA_OK);
    double q[3] = {1, 0, 0}, k[3] = {0.3, -0.7, 0.11}, zero[3] = {0, 0, 0}, H0[9], H1[9];
    gka_stream_push(st, q, k, 0.0, 1.0, NULL);
    A.to_double(&A, H0, st->H, 9);
    const double g = log(0.9975);
    gka_stream_push(st, q, zero, g, 1.0, NULL);
    A.to_double(&A, H1, st->H, 9);
    const double gamma = gka_round(exp(g), &r32);
    cr_assert_eq(st->gamma64, gamma);
    cr_assert(gamma != gka_round(gamma, &rb));
    for (int i = 0; i < 9; i++) {
        const float p = (float)gamma * (float)H0[i];
        cr_assert_eq(H1[i], gka_round((double)p, &rb), "entry %d", i);
    }
    /* (a decay of 0.25% is below half a bf16 ulp (0.39%): most entries do
       not move at all, token-by-token bf16 state cannot forget slowly) */
    gka_stream_destroy(st);
    gka_arith_destroy(&A);
}

/* The reverse pass decays its state adjoint with gka_gate_scale: it must be
 * the forward's decay bit for bit. bf16, gamma = 0.9975: the stream's H_1
 * (k_1 = 0) equals gka_gate_scale(H_0), and differs from scaling by gamma
 * rounded to bf16 (0.99609), the old reverse pass's gate. */
Test(stream, gate_scale_is_the_forward_decay) {
    gka_arith_t A;
    cr_assert_eq(gka_arith_init_by_name(&A, "bf16", "wide", NULL, 0), GKA_OK);
    cr_assert(gka_gate_fp32(&A));
    const int D = 4;
    const size_t DD = 16;
    gka_ridge_t ridge = {GKA_RIDGE_FIXED, 0.5};
    gka_stream_t *st;
    cr_assert_eq(gka_stream_create(&st, &A, D, &ridge, 0), GKA_OK);
    double q[4] = {1, 0, 0, 0}, k0[4] = {0.9, -0.7, 0.3, 0.55}, zero[4] = {0};
    cr_assert_eq(gka_stream_push(st, q, k0, 0.0, 1.0, NULL), GKA_OK);
    void *H0 = A.alloc(&A, DD), *Hb = A.alloc(&A, DD);
    A.copy(&A, H0, st->H, DD);
    A.copy(&A, Hb, st->H, DD);
    cr_assert_eq(gka_stream_push(st, q, zero, log(0.9975), 1.0, NULL), GKA_OK);
    cr_assert_eq(gka_gate_scale(&A, st->gamma64, H0, DD), GKA_OK);
    A.scal(&A, DD, st->gamma, Hb); /* gamma rounded to bf16 */
    int differ = 0;
    for (size_t i = 0; i < DD; i++) {
        const double f = A.get_d(&A, GKA_ELEM(&A, st->H, i)), b = A.get_d(&A, GKA_ELEM(&A, H0, i));
        cr_assert_eq(f, b, "entry %zu: forward %.9g, gate_scale %.9g", i, f, b);
        differ |= A.get_d(&A, GKA_ELEM(&A, Hb, i)) != f;
    }
    cr_assert(differ, "bf16-rounded gamma gave the forward's decay: the test shows nothing");
    cr_assert_float_eq(st->gamma64, 0.9975, 1e-7);
    A.free(&A, H0, DD);
    A.free(&A, Hb, DD);
    gka_stream_destroy(st);
    gka_arith_destroy(&A);
}

/* The other branch of the one gate decay: tables that keep gates in their own
 * format (fp64, fp32 with per-op accumulation, MPFR) decay by the table's scal
 * by gamma, in gka_stream_push and in gka_gate_scale alike; and fp16 (an
 * fp32-gate table like bf16) too. H_1 (k_1 = 0) equals gka_gate_scale(H_0). */
Test(stream, gate_scale_is_the_forward_decay_for_every_table) {
    const char *formats[][2] = {
        {"fp64", "round"}, {"fp32", "round"}, {"mpfr:24", "round"}, {"fp16", "wide"}};
    for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++) {
        gka_arith_t A;
        cr_assert_eq(gka_arith_init_by_name(&A, formats[f][0], formats[f][1], NULL, 0), GKA_OK,
                     "%s", formats[f][0]);
        const size_t DD = 16;
        gka_ridge_t ridge = {GKA_RIDGE_FIXED, 0.5};
        gka_stream_t *st;
        cr_assert_eq(gka_stream_create(&st, &A, 4, &ridge, 0), GKA_OK);
        double q[4] = {1, 0, 0, 0}, k0[4] = {0.9, -0.7, 0.3, 0.55}, zero[4] = {0};
        cr_assert_eq(gka_stream_push(st, q, k0, 0.0, 1.0, NULL), GKA_OK);
        void *H0 = A.alloc(&A, DD), *Hs = A.alloc(&A, DD);
        A.copy(&A, H0, st->H, DD);
        A.copy(&A, Hs, st->H, DD);
        cr_assert_eq(gka_stream_push(st, q, zero, log(0.9975), 1.0, NULL), GKA_OK);
        cr_assert_eq(gka_gate_scale(&A, st->gamma64, H0, DD), GKA_OK);
        const int own_gate = !gka_gate_fp32(&A);
        cr_assert_eq(own_gate, f < 3, "%s: gate arithmetic", formats[f][0]);
        if (own_gate) A.scal(&A, DD, st->gamma, Hs); /* the documented decay, by hand */
        int decayed = 0;
        for (size_t i = 0; i < DD; i++) {
            const double fwd = A.get_d(&A, GKA_ELEM(&A, st->H, i)),
                         gs = A.get_d(&A, GKA_ELEM(&A, H0, i));
            cr_assert_eq(fwd, gs, "%s entry %zu: forward %.17g, gate_scale %.17g", formats[f][0], i,
                         fwd, gs);
            if (own_gate)
                cr_assert_eq(fwd, A.get_d(&A, GKA_ELEM(&A, Hs, i)), "%s entry %zu: not scal",
                             formats[f][0], i);
            decayed |= fwd != 0.0;
        }
        cr_assert(decayed, "%s: H_1 is zero: the test shows nothing", formats[f][0]);
        A.free(&A, H0, DD);
        A.free(&A, Hs, DD);
        gka_stream_destroy(st);
        gka_arith_destroy(&A);
    }
}
