/* Chunk form of the implicit backward pass (MATH.md section 3 and 4), Chebyshev.
 *
 * A chunk of n <= C tokens with start state H_0, keys K, chunk-local
 * cumulative log-gates G_c and W_jc = exp(G_c - G_j) beta_j^2 (j <= c):
 *     H_c = exp(G_c) H_0 + sum_{j<=c} W_jc k_j k_j^T,
 *     A_c x = exp(G_c) H_0 x + sum_{j<=c} W_jc (k_j . x) k_j + lambda_c x,
 * ||H_c||_F from the chunk norm formula. The forward scan keeps each chunk's
 * H_0 and every token's x_t, dq_t (same Chebyshev schedule), ||H_t||_F.
 *
 * Backward, chunk by chunk from the last, with S = G~ + G~^T:
 *     D_s + D_s^T = -(dq_s x_s^T + x_s dq_s^T) + 2 c_s H_s,
 *     c_s = -a (x_s . dq_s) / ||H_s||_F (lambda path; 0 without it),
 *     S_c k_c = sum_{s>=c} M_cs [-(x_s . k_c) dq_s - (dq_s . k_c) x_s]
 *               + 2 alpha_c H_0 k_c + 2 sum_j B_cj (k_j . k_c) k_j
 *               + exp(G_{n-1} - G_c) S_next k_c,
 *     M_cs = exp(G_s - G_c), alpha_c = sum_{s>=c} M_cs c_s exp(G_s),
 *     B_cj = sum_{s>=max(c,j)} M_cs c_s W_js,
 * where S_next = gamma S of the next chunk's first token (the adjoint of this
 * chunk's last state). The adjoint of the chunk start state, handed to the
 * previous chunk, is
 *     S_0 = exp(G_{n-1}) S_next - sum_s exp(G_s) (dq_s x_s^T + x_s dq_s^T)
 *           + 2 (sum_s c_s exp(2 G_s)) H_0 + 2 sum_j b_j k_j k_j^T,
 *     b_j = sum_{s>=j} exp(G_s) c_s W_js.
 * The log-gate gradient follows from <G~_t, H_t> = <D_t, H_t> + dg_{t+1}:
 *     dg_t = -dq_t . (H_t x_t) + c_t ||H_t||_F^2 + dg_{t+1} - beta_t^2 k_t^T S_t k_t / 2.
 * No D x D matrix is formed per token. The chunk tables, the token operator
 * (matvec, norm formula, ridge), the decay mask and the state scan are the
 * forward chunker's (chunker_internal.h), created with the state, iterate
 * and carry arithmetic all the backward's table: the forward part is
 * gka_chunker_run's bit for bit, and the state decays with the forward's gate
 * arithmetic (gka_gate_element: an fp32 gate for formats narrower than fp32). */
#include "chunker_internal.h"
#include "gka_grad.h"

#include <stdlib.h>
#include <string.h>

enum { KS_ZERO, KS_ONE, KS_HALF, KS_TWO, KS_T1, KS_T2, KS_T3, KS_A, KS_ACC, KS_DGN, KS_N };

/* The backward's own arrays; everything of the chunk lives in the chunker. */
typedef struct {
    gka_arith_t *A;
    gka_chebyshev_chunker_t *ck;
    size_t n, DD, C;
    void *cs;     /* C: c_s */
    void *v2, *u; /* D */
    void *sc;
} ck_t;

/* Scalar slot KS_* of the backward. */
static inline void *ck_scalar(const ck_t *c, int slot) {
    return GKA_ELEM(c->A, c->sc, slot);
}

static void ck_free(ck_t *c) {
    gka_arith_t *ar = c->A;
    if (c->cs) ar->free(ar, c->cs, c->C);
    if (c->v2) ar->free(ar, c->v2, c->n);
    if (c->u) ar->free(ar, c->u, c->n);
    if (c->sc) ar->free(ar, c->sc, KS_N);
    gka_chunker_destroy(c->ck);
}

static gka_status_t ck_alloc(ck_t *c, gka_arith_t *ar, int D, int C, const gka_ridge_t *ridge) {
    memset(c, 0, sizeof *c);
    c->A = ar, c->n = (size_t)D, c->DD = c->n * c->n, c->C = (size_t)C;
    gka_status_t st = gka_chunker_create(&c->ck, ar, ar, D, C, ridge, 0);
    if (st) return st;
    c->cs = ar->alloc(ar, c->C);
    c->v2 = ar->alloc(ar, c->n), c->u = ar->alloc(ar, c->n);
    c->sc = ar->alloc(ar, KS_N);
    if (!(c->cs && c->v2 && c->u && c->sc))
        return gka_error(GKA_ENOMEM, "backward (chunk form): out of memory (D = %d)", D);
    ar->set_d(ar, ck_scalar(c, KS_ZERO), 0.0);
    ar->set_d(ar, ck_scalar(c, KS_ONE), 1.0);
    ar->set_d(ar, ck_scalar(c, KS_HALF), 0.5);
    ar->set_d(ar, ck_scalar(c, KS_TWO), 2.0);
    return GKA_OK;
}

static void poison(gka_arith_t *ar, void *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        ar->set_d(ar, GKA_ELEM(ar, x, i), (double)NAN);
}

/* u = S_cc k_cc for token cc of the chunk (see the file comment). */
static void ck_Sk(ck_t *c, size_t nn, size_t cc, const void *X, const void *DQ, const void *Snext) {
    gka_arith_t *ar = c->A;
    gka_chebyshev_chunker_t *k = c->ck;
    const size_t n = c->n, C = c->C;
    const void *kc = GKA_ELEM(c->A, k->Ki, cc * n);
    for (size_t i = 0; i < n; i++)
        ar->set_d(ar, GKA_ELEM(c->A, c->u, i), 0.0);
    ar->set_d(ar, ck_scalar(c, KS_A), 0.0); /* alpha_c */
    for (size_t s = cc; s < nn; s++) {
        const void *xs = GKA_ELEM(c->A, X, s * n), *dqs = GKA_ELEM(c->A, DQ, s * n);
        gka_chunker_decay(k, (int)s, (int)cc, ck_scalar(c, KS_T2));
        ar->dot(ar, ck_scalar(c, KS_T1), n, xs, kc);
        ar->mul(ar, ck_scalar(c, KS_T1), ck_scalar(c, KS_T1), ck_scalar(c, KS_T2));
        ar->sub(ar, ck_scalar(c, KS_T1), ck_scalar(c, KS_ZERO), ck_scalar(c, KS_T1));
        ar->axpy(ar, n, ck_scalar(c, KS_T1), dqs, c->u);
        ar->dot(ar, ck_scalar(c, KS_T1), n, dqs, kc);
        ar->mul(ar, ck_scalar(c, KS_T1), ck_scalar(c, KS_T1), ck_scalar(c, KS_T2));
        ar->sub(ar, ck_scalar(c, KS_T1), ck_scalar(c, KS_ZERO), ck_scalar(c, KS_T1));
        ar->axpy(ar, n, ck_scalar(c, KS_T1), xs, c->u);
        ar->mul(ar, ck_scalar(c, KS_T1), ck_scalar(c, KS_T2), GKA_ELEM(c->A, c->cs, s));
        ar->mul(ar, ck_scalar(c, KS_T1), ck_scalar(c, KS_T1), GKA_ELEM(c->A, k->eG, s));
        ar->add(ar, ck_scalar(c, KS_A), ck_scalar(c, KS_A), ck_scalar(c, KS_T1));
    }
    ar->mul(ar, ck_scalar(c, KS_A), ck_scalar(c, KS_A), ck_scalar(c, KS_TWO));
    ar->gemv(ar, n, n, ck_scalar(c, KS_A), k->H0i, kc, ck_scalar(c, KS_ONE), c->u);
    for (size_t j = 0; j < nn; j++) { /* 2 B_cj (k_j . k_c) k_j */
        ar->set_d(ar, ck_scalar(c, KS_ACC), 0.0);
        for (size_t s = cc > j ? cc : j; s < nn; s++) {
            gka_chunker_decay(k, (int)s, (int)cc, ck_scalar(c, KS_T2));
            ar->mul(ar, ck_scalar(c, KS_T2), ck_scalar(c, KS_T2), GKA_ELEM(c->A, c->cs, s));
            ar->mul(ar, ck_scalar(c, KS_T2), ck_scalar(c, KS_T2), GKA_ELEM(c->A, k->W, s * C + j));
            ar->add(ar, ck_scalar(c, KS_ACC), ck_scalar(c, KS_ACC), ck_scalar(c, KS_T2));
        }
        ar->mul(ar, ck_scalar(c, KS_T1), ck_scalar(c, KS_ACC), GKA_ELEM(c->A, k->KK, j * C + cc));
        ar->mul(ar, ck_scalar(c, KS_T1), ck_scalar(c, KS_T1), ck_scalar(c, KS_TWO));
        ar->axpy(ar, n, ck_scalar(c, KS_T1), GKA_ELEM(c->A, k->Ki, j * n), c->u);
    }
    gka_chunker_decay(k, (int)nn - 1, (int)cc, ck_scalar(c, KS_T2));
    ar->gemv(ar, n, n, ck_scalar(c, KS_T2), Snext, kc, ck_scalar(c, KS_ONE), c->u);
}

/* Snext <- adjoint of the chunk start state. */
static void ck_state_adjoint(ck_t *c, size_t nn, const void *X, const void *DQ, void *Snext) {
    gka_arith_t *ar = c->A;
    gka_chebyshev_chunker_t *k = c->ck;
    const size_t n = c->n, C = c->C;
    ar->scal(ar, c->DD, GKA_ELEM(c->A, k->eG, nn - 1), Snext);
    ar->set_d(ar, ck_scalar(c, KS_A), 0.0);
    for (size_t s = 0; s < nn; s++) {
        const void *xs = GKA_ELEM(c->A, X, s * n), *dqs = GKA_ELEM(c->A, DQ, s * n);
        for (size_t a = 0; a < n; a++) { /* -e^{G_s} (dq x^T + x dq^T) */
            ar->mul(ar, ck_scalar(c, KS_T1), GKA_ELEM(c->A, k->eG, s), GKA_ELEM(c->A, dqs, a));
            ar->sub(ar, ck_scalar(c, KS_T1), ck_scalar(c, KS_ZERO), ck_scalar(c, KS_T1));
            ar->axpy(ar, n, ck_scalar(c, KS_T1), xs, GKA_ELEM(c->A, Snext, a * n));
            ar->mul(ar, ck_scalar(c, KS_T1), GKA_ELEM(c->A, k->eG, s), GKA_ELEM(c->A, xs, a));
            ar->sub(ar, ck_scalar(c, KS_T1), ck_scalar(c, KS_ZERO), ck_scalar(c, KS_T1));
            ar->axpy(ar, n, ck_scalar(c, KS_T1), dqs, GKA_ELEM(c->A, Snext, a * n));
        }
        ar->mul(ar, ck_scalar(c, KS_T1), GKA_ELEM(c->A, k->eG, s), GKA_ELEM(c->A, k->eG, s));
        ar->mul(ar, ck_scalar(c, KS_T1), ck_scalar(c, KS_T1), GKA_ELEM(c->A, c->cs, s));
        ar->add(ar, ck_scalar(c, KS_A), ck_scalar(c, KS_A), ck_scalar(c, KS_T1));
    }
    ar->mul(ar, ck_scalar(c, KS_A), ck_scalar(c, KS_A), ck_scalar(c, KS_TWO));
    ar->axpy(ar, c->DD, ck_scalar(c, KS_A), k->H0i, Snext);
    for (size_t j = 0; j < nn; j++) {
        ar->set_d(ar, ck_scalar(c, KS_ACC), 0.0);
        for (size_t s = j; s < nn; s++) {
            ar->mul(ar, ck_scalar(c, KS_T1), GKA_ELEM(c->A, k->eG, s), GKA_ELEM(c->A, c->cs, s));
            ar->mul(ar, ck_scalar(c, KS_T1), ck_scalar(c, KS_T1), GKA_ELEM(c->A, k->W, s * C + j));
            ar->add(ar, ck_scalar(c, KS_ACC), ck_scalar(c, KS_ACC), ck_scalar(c, KS_T1));
        }
        ar->mul(ar, ck_scalar(c, KS_ACC), ck_scalar(c, KS_ACC), ck_scalar(c, KS_TWO));
        ar->syr(ar, n, ck_scalar(c, KS_ACC), GKA_ELEM(c->A, k->Ki, j * n), Snext);
    }
}

/* The two solves of token cc of the loaded chunk against the chunker's
 * operator: x = A^{-1} q and dq = A^{-1} dx (same Chebyshev schedule). */
static gka_status_t forward_token(ck_t *c, const gka_grad_problem_t *p, size_t t, int iters,
                                  void *Q, void *x, void *dq) {
    gka_arith_t *ar = c->A;
    const size_t n = c->n;
    gka_operator_t op;
    gka_chunker_bind(c->ck, &op);
    const double *rhs[2] = {p->q + t * n, p->dx + t * n};
    void *dst[2] = {x, dq};
    for (int w = 0; w < 2; w++) {
        int it;
        gka_reason_t reason;
        ar->from_double(ar, Q, rhs[w], n);
        op.q = Q;
        gka_status_t st =
            gka_chebyshev_solve(ar, p->D, gka_operator_matvec_cb, &op, op.q, op.lambda, op.hnorm,
                                iters, 0.0, NULL, dst[w], NULL, NULL, NULL, &it, &reason);
        if (st) return st;
        if (reason == GKA_REASON_NAN || reason == GKA_REASON_BREAKDOWN) poison(ar, dst[w], n);
    }
    return GKA_OK;
}

static const double *at_or_null(const double *v, size_t o) {
    return v ? v + o : NULL;
}

gka_status_t gka_grad_chunked(gka_arith_t *ar, const gka_grad_problem_t *p, int C, int iters,
                              int lambda_path, gka_grads_t *out) {
    if (!ar || !p || !out || !p->q || !p->k || !p->dx)
        return gka_error(GKA_EINVAL, "gka_grad_chunked: NULL argument");
    if (p->D < 1 || p->D > GKA_D_MAX || p->T < 1 || p->T > 100000000L)
        return gka_error(GKA_EINVAL, "backward (chunk form): D = %d or T = %ld out of range", p->D,
                         p->T);
    if (C < 1 || C > 4096)
        return gka_error(GKA_EINVAL, "backward (chunk form): chunk size %d out of range [1, 4096]",
                         C);
    if (iters < 0) return gka_error(GKA_EINVAL, "backward (chunk form): iterations %d < 0", iters);
    if (p->ridge.kind != GKA_RIDGE_FIXED && p->ridge.kind != GKA_RIDGE_ADAPTIVE)
        return gka_error(GKA_EINVAL, "backward (chunk form): ridge must be fixed: or adaptive:");
    for (long t = 0; p->g && t < p->T; t++)
        if (!(p->g[t] <= 0.0))
            return gka_error(GKA_EINVAL, "backward (chunk form): log-gate g[%ld] = %g must be <= 0",
                             t, p->g[t]);
    const size_t n = (size_t)p->D, DD = n * n, T = (size_t)p->T, Cs = (size_t)C;
    const size_t nch = (T + Cs - 1) / Cs;
    ck_t c;
    gka_status_t status = ck_alloc(&c, ar, p->D, C, &p->ridge);
    void *X = ar->alloc(ar, T * n), *DQ = ar->alloc(ar, T * n), *Q = ar->alloc(ar, n),
         *Hst = ar->alloc(ar, nch * DD), *S = ar->alloc(ar, DD), *HN = ar->alloc(ar, T);
    if (!status && !(X && DQ && Q && Hst && S && HN))
        status = gka_error(GKA_ENOMEM, "backward (chunk form): out of memory (D = %d, T = %ld)",
                           p->D, p->T);
    if (status) goto out;
    gka_chebyshev_chunker_t *ck = c.ck;
    /* forward scan: the chunker's, keeping each chunk start state */
    for (size_t ci = 0; ci < nch && !status; ci++) {
        const size_t t0 = ci * Cs, nn = T - t0 < Cs ? T - t0 : Cs;
        gka_chunker_get_carry(ck, GKA_ELEM(c.A, Hst, ci * DD));
        gka_chunker_load(ck, (int)nn, p->k + t0 * n, at_or_null(p->g, t0), at_or_null(p->beta, t0),
                         NULL, NULL, NULL);
        for (size_t cc = 0; cc < nn && !status; cc++) {
            gka_chunker_token(ck, (int)cc);
            ar->copy(ar, GKA_ELEM(c.A, HN, t0 + cc), ck->hn, 1);
            status = forward_token(&c, p, t0 + cc, iters, Q, GKA_ELEM(c.A, X, (t0 + cc) * n),
                                   GKA_ELEM(c.A, DQ, (t0 + cc) * n));
        }
        gka_chunker_advance(ck, (int)nn);
    }
    /* backward scan */
    for (size_t i = 0; i < DD && !status; i++)
        ar->set_d(ar, GKA_ELEM(c.A, S, i), 0.0);
    ar->set_d(ar, ck_scalar(&c, KS_DGN), 0.0);
    const int path = lambda_path && p->ridge.kind == GKA_RIDGE_ADAPTIVE;
    for (size_t ci = nch; ci-- > 0 && !status;) {
        const size_t t0 = ci * Cs, nn = T - t0 < Cs ? T - t0 : Cs;
        gka_chunker_set_carry_state(ck, GKA_ELEM(c.A, Hst, ci * DD));
        gka_chunker_load(ck, (int)nn, p->k + t0 * n, at_or_null(p->g, t0), at_or_null(p->beta, t0),
                         NULL, NULL, NULL);
        const void *Xc = GKA_ELEM(c.A, X, t0 * n), *DQc = GKA_ELEM(c.A, DQ, t0 * n);
        for (size_t s = 0; s < nn; s++) { /* c_s = -a (x.dq) / ||H_s||_F */
            void *cs = GKA_ELEM(c.A, c.cs, s);
            const void *hn = GKA_ELEM(c.A, HN, t0 + s);
            ar->set_d(ar, cs, 0.0);
            if (path && ar->get_d(ar, hn) > 0.0) {
                ar->dot(ar, cs, n, GKA_ELEM(c.A, Xc, s * n), GKA_ELEM(c.A, DQc, s * n));
                ar->mul(ar, cs, cs, ck->rv);
                ar->div(ar, cs, cs, hn);
                ar->sub(ar, cs, ck_scalar(&c, KS_ZERO), cs);
            }
        }
        for (size_t cc = nn; cc-- > 0;) {
            const size_t t = t0 + cc;
            ck_Sk(&c, nn, cc, Xc, DQc, S);
            ar->dot(ar, ck_scalar(&c, KS_T1), n, GKA_ELEM(c.A, ck->Ki, cc * n), c.u); /* k^T S k */
            if (out->dbeta) {
                ar->mul(ar, ck_scalar(&c, KS_T2), ck_scalar(&c, KS_T1), GKA_ELEM(c.A, ck->bt, cc));
                out->dbeta[t] = ar->get_d(ar, ck_scalar(&c, KS_T2));
            }
            /* dg_t = -dq.(H x) + c ||H||^2 + dg_{t+1} - beta^2 k^T S k / 2 */
            ck->cur = (int)cc;
            gka_chunker_apply_H(ck, GKA_ELEM(c.A, Xc, cc * n), c.v2);
            ar->dot(ar, ck_scalar(&c, KS_T2), n, GKA_ELEM(c.A, DQc, cc * n), c.v2);
            ar->sub(ar, ck_scalar(&c, KS_T2), ck_scalar(&c, KS_DGN), ck_scalar(&c, KS_T2));
            const void *hn = GKA_ELEM(c.A, HN, t);
            ar->mul(ar, ck_scalar(&c, KS_T3), hn, hn);
            ar->mul(ar, ck_scalar(&c, KS_T3), ck_scalar(&c, KS_T3), GKA_ELEM(c.A, c.cs, cc));
            ar->add(ar, ck_scalar(&c, KS_T2), ck_scalar(&c, KS_T2), ck_scalar(&c, KS_T3));
            ar->mul(ar, ck_scalar(&c, KS_T3), ck_scalar(&c, KS_T1), GKA_ELEM(c.A, ck->b2, cc));
            ar->mul(ar, ck_scalar(&c, KS_T3), ck_scalar(&c, KS_T3), ck_scalar(&c, KS_HALF));
            ar->sub(ar, ck_scalar(&c, KS_DGN), ck_scalar(&c, KS_T2), ck_scalar(&c, KS_T3));
            if (out->dg) out->dg[t] = ar->get_d(ar, ck_scalar(&c, KS_DGN));
            if (out->dk) {
                ar->scal(ar, n, GKA_ELEM(c.A, ck->b2, cc), c.u);
                ar->to_double(ar, out->dk + t * n, c.u, n);
            }
        }
        ck_state_adjoint(&c, nn, Xc, DQc, S);
    }
    if (!status && out->x) ar->to_double(ar, out->x, X, T * n);
    if (!status && out->dq) ar->to_double(ar, out->dq, DQ, T * n);
out:
    ck_free(&c);
    if (X) ar->free(ar, X, T * n);
    if (DQ) ar->free(ar, DQ, T * n);
    if (Q) ar->free(ar, Q, n);
    if (Hst) ar->free(ar, Hst, nch * DD);
    if (S) ar->free(ar, S, DD);
    if (HN) ar->free(ar, HN, T);
    return status;
}
