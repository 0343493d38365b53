/* Chunk form of the implicit backward pass (SPEC 3 and 4), Chebyshev.
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
 * No D x D matrix is formed per token. exp() is taken in double and rounded
 * into the table (as the forward chunk form does). */
#include "gka_backward.h"
#include "solver_internal.h"

#include <stdlib.h>
#include <string.h>

enum {
    KS_ZERO,
    KS_ONE,
    KS_MONE,
    KS_HALF,
    KS_TWO,
    KS_T1,
    KS_T2,
    KS_T3,
    KS_A,
    KS_H0N2,
    KS_ACC,
    KS_DGN,
    KS_N
};

typedef struct {
    gka_arith_t *A;
    int D, C;
    size_t n, DD;
    gka_ridge_t ridge;
    void *H0;                 /* D x D: current chunk start state */
    void *K;                  /* C x D keys */
    void *G, *b2, *beta, *eG; /* C each */
    void *W, *KK;             /* C x C: W[c][j] (j <= c), k_i . k_j */
    void *wq;                 /* C: k_j^T H_0 k_j */
    void *cs;                 /* C: c_s */
    void *lam, *hn;           /* current token's lambda, ||H||_F */
    void *rv;                 /* ridge value */
    void *v1, *v2, *u;        /* D */
    void *sc;
    int cur;
} ck_t;

#define KSC(c, k) GKA_ELEM((c)->A, (c)->sc, KS_##k)
#define KEL(c, arr, i) GKA_ELEM((c)->A, arr, (size_t)(i))

static void ck_free(ck_t *c) {
    gka_arith_t *A = c->A;
    const size_t C = (size_t)c->C, n = c->n, DD = c->DD;
    const struct {
        void *p;
        size_t len;
    } v[] = {{c->H0, DD},   {c->K, C * n},  {c->G, C},  {c->b2, C}, {c->beta, C}, {c->eG, C},
             {c->W, C * C}, {c->KK, C * C}, {c->wq, C}, {c->cs, C}, {c->lam, 1},  {c->hn, 1},
             {c->rv, 1},    {c->v1, n},     {c->v2, n}, {c->u, n},  {c->sc, KS_N}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (v[i].p) A->free(A, v[i].p, v[i].len);
}

static int ck_alloc(ck_t *c, gka_arith_t *A, int D, int C, const gka_ridge_t *ridge) {
    memset(c, 0, sizeof *c);
    c->A = A, c->D = D, c->C = C, c->n = (size_t)D, c->DD = c->n * c->n, c->ridge = *ridge;
    const size_t Cs = (size_t)C, n = c->n;
    c->H0 = A->alloc(A, c->DD);
    c->K = A->alloc(A, Cs * n);
    c->G = A->alloc(A, Cs), c->b2 = A->alloc(A, Cs), c->beta = A->alloc(A, Cs);
    c->eG = A->alloc(A, Cs), c->wq = A->alloc(A, Cs), c->cs = A->alloc(A, Cs);
    c->W = A->alloc(A, Cs * Cs), c->KK = A->alloc(A, Cs * Cs);
    c->lam = A->alloc(A, 1), c->hn = A->alloc(A, 1), c->rv = A->alloc(A, 1);
    c->v1 = A->alloc(A, n), c->v2 = A->alloc(A, n), c->u = A->alloc(A, n);
    c->sc = A->alloc(A, KS_N);
    if (!(c->H0 && c->K && c->G && c->b2 && c->beta && c->eG && c->wq && c->cs && c->W && c->KK &&
          c->lam && c->hn && c->rv && c->v1 && c->v2 && c->u && c->sc))
        return 0;
    A->set_d(A, KSC(c, ZERO), 0.0);
    A->set_d(A, KSC(c, ONE), 1.0);
    A->set_d(A, KSC(c, MONE), -1.0);
    A->set_d(A, KSC(c, HALF), 0.5);
    A->set_d(A, KSC(c, TWO), 2.0);
    A->set_d(A, c->rv, ridge->value);
    for (size_t i = 0; i < c->DD; i++)
        A->set_d(A, KEL(c, c->H0, i), 0.0);
    return 1;
}

/* Keys, gates and the C x C tables of a chunk of nn tokens. */
static void ck_load(ck_t *c, size_t nn, const double *k, const double *g, const double *beta) {
    gka_arith_t *A = c->A;
    const size_t n = c->n, C = (size_t)c->C;
    A->from_double(A, c->K, k, nn * n);
    for (size_t j = 0; j < nn; j++) {
        A->set_d(A, KSC(c, T1), g ? g[j] : 0.0);
        if (j == 0)
            A->copy(A, KEL(c, c->G, 0), KSC(c, T1), 1);
        else
            A->add(A, KEL(c, c->G, j), KEL(c, c->G, j - 1), KSC(c, T1));
        A->set_d(A, KEL(c, c->beta, j), beta ? beta[j] : 1.0);
        A->mul(A, KEL(c, c->b2, j), KEL(c, c->beta, j), KEL(c, c->beta, j));
        A->set_d(A, KEL(c, c->eG, j), exp(A->get_d(A, KEL(c, c->G, j))));
    }
    for (size_t cc = 0; cc < nn; cc++)
        for (size_t j = 0; j <= cc; j++) {
            void *w = KEL(c, c->W, cc * C + j);
            A->sub(A, KSC(c, T1), KEL(c, c->G, cc), KEL(c, c->G, j));
            A->set_d(A, w, exp(A->get_d(A, KSC(c, T1))));
            A->mul(A, w, w, KEL(c, c->b2, j));
        }
    for (size_t i = 0; i < nn; i++)
        for (size_t j = 0; j < nn; j++)
            A->dot(A, KEL(c, c->KK, i * C + j), n, KEL(c, c->K, i * n), KEL(c, c->K, j * n));
    for (size_t j = 0; j < nn; j++) {
        A->gemv(A, n, n, KSC(c, ONE), c->H0, KEL(c, c->K, j * n), NULL, c->v1);
        A->dot(A, KEL(c, c->wq, j), n, KEL(c, c->K, j * n), c->v1);
    }
    A->dot(A, KSC(c, H0N2), c->DD, c->H0, c->H0);
}

/* ||H_cc||_F and lambda_cc. */
static void ck_norm(ck_t *c, size_t cc) {
    gka_arith_t *A = c->A;
    const size_t C = (size_t)c->C, m = cc + 1;
    const void *eg = KEL(c, c->eG, cc), *wrow = KEL(c, c->W, cc * C);
    A->mul(A, c->hn, eg, eg);
    A->mul(A, c->hn, c->hn, KSC(c, H0N2));
    A->dot(A, KSC(c, T1), m, wrow, c->wq);
    A->mul(A, KSC(c, T1), KSC(c, T1), eg);
    A->mul(A, KSC(c, T1), KSC(c, T1), KSC(c, TWO));
    A->add(A, c->hn, c->hn, KSC(c, T1));
    for (size_t i = 0; i < m; i++) {
        A->set_d(A, KSC(c, ACC), 0.0);
        for (size_t j = 0; j < m; j++) { /* W_ic W_jc (k_i . k_j)^2 */
            A->mul(A, KSC(c, T1), KEL(c, c->KK, i * C + j), KEL(c, c->KK, i * C + j));
            A->mul(A, KSC(c, T1), KSC(c, T1), KEL(c, wrow, j));
            A->add(A, KSC(c, ACC), KSC(c, ACC), KSC(c, T1));
        }
        A->mul(A, KSC(c, T1), KSC(c, ACC), KEL(c, wrow, i));
        A->add(A, c->hn, c->hn, KSC(c, T1));
    }
    A->sqrt(A, c->hn, c->hn);
    if (c->ridge.kind == GKA_RIDGE_ADAPTIVE)
        A->mul(A, c->lam, c->rv, c->hn);
    else
        A->copy(A, c->lam, c->rv, 1);
}

/* y = H_cur x (with_lambda: + lambda x). */
static void ck_apply(ck_t *c, const void *x, void *y, int with_lambda) {
    gka_arith_t *A = c->A;
    const size_t n = c->n, C = (size_t)c->C, cc = (size_t)c->cur;
    A->gemv(A, n, n, KEL(c, c->eG, cc), c->H0, x, NULL, y);
    for (size_t j = 0; j <= cc; j++) {
        A->dot(A, KSC(c, T3), n, KEL(c, c->K, j * n), x);
        A->mul(A, KSC(c, T3), KSC(c, T3), KEL(c, c->W, cc * C + j));
        A->axpy(A, n, KSC(c, T3), KEL(c, c->K, j * n), y);
    }
    if (with_lambda) A->axpy(A, n, c->lam, x, y);
}

static void ck_matvec(void *ctx, const void *x, void *y) {
    ck_apply(ctx, x, y, 1);
}

/* H_0 <- exp(G_last) H_0 + sum_j W_{j,last} k_j k_j^T. */
static void ck_advance(ck_t *c, size_t nn) {
    gka_arith_t *A = c->A;
    const size_t C = (size_t)c->C, last = nn - 1;
    A->scal(A, c->DD, KEL(c, c->eG, last), c->H0);
    for (size_t j = 0; j < nn; j++)
        A->syr(A, c->n, KEL(c, c->W, last * C + j), KEL(c, c->K, j * c->n), c->H0);
}

static void poison(gka_arith_t *A, void *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        A->set_d(A, GKA_ELEM(A, x, i), (double)NAN);
}

/* exp(G_s - G_c) into dst. */
static void ck_mask(ck_t *c, size_t cc, size_t s, void *dst) {
    gka_arith_t *A = c->A;
    A->sub(A, dst, KEL(c, c->G, s), KEL(c, c->G, cc));
    A->set_d(A, dst, exp(A->get_d(A, dst)));
}

/* u = S_cc k_cc for token cc of the chunk (see the file comment). */
static void ck_Sk(ck_t *c, size_t nn, size_t cc, const void *X, const void *DQ, const void *Snext) {
    gka_arith_t *A = c->A;
    const size_t n = c->n, C = (size_t)c->C;
    const void *kc = KEL(c, c->K, cc * n);
    for (size_t i = 0; i < n; i++)
        A->set_d(A, KEL(c, c->u, i), 0.0);
    A->set_d(A, KSC(c, A), 0.0); /* alpha_c */
    for (size_t s = cc; s < nn; s++) {
        const void *xs = KEL(c, X, s * n), *dqs = KEL(c, DQ, s * n);
        ck_mask(c, cc, s, KSC(c, T2));
        A->dot(A, KSC(c, T1), n, xs, kc);
        A->mul(A, KSC(c, T1), KSC(c, T1), KSC(c, T2));
        A->sub(A, KSC(c, T1), KSC(c, ZERO), KSC(c, T1));
        A->axpy(A, n, KSC(c, T1), dqs, c->u);
        A->dot(A, KSC(c, T1), n, dqs, kc);
        A->mul(A, KSC(c, T1), KSC(c, T1), KSC(c, T2));
        A->sub(A, KSC(c, T1), KSC(c, ZERO), KSC(c, T1));
        A->axpy(A, n, KSC(c, T1), xs, c->u);
        A->mul(A, KSC(c, T1), KSC(c, T2), KEL(c, c->cs, s));
        A->mul(A, KSC(c, T1), KSC(c, T1), KEL(c, c->eG, s));
        A->add(A, KSC(c, A), KSC(c, A), KSC(c, T1));
    }
    A->mul(A, KSC(c, A), KSC(c, A), KSC(c, TWO));
    A->gemv(A, n, n, KSC(c, A), c->H0, kc, KSC(c, ONE), c->u);
    for (size_t j = 0; j < nn; j++) { /* 2 B_cj (k_j . k_c) k_j */
        A->set_d(A, KSC(c, ACC), 0.0);
        for (size_t s = cc > j ? cc : j; s < nn; s++) {
            ck_mask(c, cc, s, KSC(c, T2));
            A->mul(A, KSC(c, T2), KSC(c, T2), KEL(c, c->cs, s));
            A->mul(A, KSC(c, T2), KSC(c, T2), KEL(c, c->W, s * C + j));
            A->add(A, KSC(c, ACC), KSC(c, ACC), KSC(c, T2));
        }
        A->mul(A, KSC(c, T1), KSC(c, ACC), KEL(c, c->KK, j * C + cc));
        A->mul(A, KSC(c, T1), KSC(c, T1), KSC(c, TWO));
        A->axpy(A, n, KSC(c, T1), KEL(c, c->K, j * n), c->u);
    }
    ck_mask(c, cc, nn - 1, KSC(c, T2));
    A->gemv(A, n, n, KSC(c, T2), Snext, kc, KSC(c, ONE), c->u);
}

/* Snext <- adjoint of the chunk start state. */
static void ck_state_adjoint(ck_t *c, size_t nn, const void *X, const void *DQ, void *Snext) {
    gka_arith_t *A = c->A;
    const size_t n = c->n, C = (size_t)c->C;
    A->scal(A, c->DD, KEL(c, c->eG, nn - 1), Snext);
    A->set_d(A, KSC(c, A), 0.0);
    for (size_t s = 0; s < nn; s++) {
        const void *xs = KEL(c, X, s * n), *dqs = KEL(c, DQ, s * n);
        for (size_t a = 0; a < n; a++) { /* -e^{G_s} (dq x^T + x dq^T) */
            A->mul(A, KSC(c, T1), KEL(c, c->eG, s), KEL(c, dqs, a));
            A->sub(A, KSC(c, T1), KSC(c, ZERO), KSC(c, T1));
            A->axpy(A, n, KSC(c, T1), xs, KEL(c, Snext, a * n));
            A->mul(A, KSC(c, T1), KEL(c, c->eG, s), KEL(c, xs, a));
            A->sub(A, KSC(c, T1), KSC(c, ZERO), KSC(c, T1));
            A->axpy(A, n, KSC(c, T1), dqs, KEL(c, Snext, a * n));
        }
        A->mul(A, KSC(c, T1), KEL(c, c->eG, s), KEL(c, c->eG, s));
        A->mul(A, KSC(c, T1), KSC(c, T1), KEL(c, c->cs, s));
        A->add(A, KSC(c, A), KSC(c, A), KSC(c, T1));
    }
    A->mul(A, KSC(c, A), KSC(c, A), KSC(c, TWO));
    A->axpy(A, c->DD, KSC(c, A), c->H0, Snext);
    for (size_t j = 0; j < nn; j++) {
        A->set_d(A, KSC(c, ACC), 0.0);
        for (size_t s = j; s < nn; s++) {
            A->mul(A, KSC(c, T1), KEL(c, c->eG, s), KEL(c, c->cs, s));
            A->mul(A, KSC(c, T1), KSC(c, T1), KEL(c, c->W, s * C + j));
            A->add(A, KSC(c, ACC), KSC(c, ACC), KSC(c, T1));
        }
        A->mul(A, KSC(c, ACC), KSC(c, ACC), KSC(c, TWO));
        A->syr(A, n, KSC(c, ACC), KEL(c, c->K, j * n), Snext);
    }
}

gka_status_t gka_grad_chunked(gka_arith_t *A, const gka_grad_problem_t *p, int C, int iters,
                              int lambda_path, gka_grads_t *out) {
    if (!A || !p || !out || !p->q || !p->k || !p->dx)
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
    void *X = A->alloc(A, T * n), *DQ = A->alloc(A, T * n), *Q = A->alloc(A, n),
         *Hst = A->alloc(A, nch * DD), *S = A->alloc(A, DD), *HN = A->alloc(A, T);
    gka_status_t status = GKA_OK;
    if (!ck_alloc(&c, A, p->D, C, &p->ridge) || !X || !DQ || !Q || !Hst || !S || !HN) {
        status = gka_error(GKA_ENOMEM, "backward (chunk form): out of memory (D = %d, T = %ld)",
                           p->D, p->T);
        goto out;
    }
    /* forward scan */
    for (size_t ci = 0; ci < nch && !status; ci++) {
        const size_t t0 = ci * Cs, nn = T - t0 < Cs ? T - t0 : Cs;
        A->copy(A, KEL(&c, Hst, ci * DD), c.H0, DD);
        ck_load(&c, nn, p->k + t0 * n, p->g ? p->g + t0 : NULL, p->beta ? p->beta + t0 : NULL);
        for (size_t cc = 0; cc < nn && !status; cc++) {
            ck_norm(&c, cc);
            A->copy(A, KEL(&c, HN, t0 + cc), c.hn, 1);
            c.cur = (int)cc;
            const double *rhs[2] = {p->q + (t0 + cc) * n, p->dx + (t0 + cc) * n};
            void *dst[2] = {KEL(&c, X, (t0 + cc) * n), KEL(&c, DQ, (t0 + cc) * n)};
            for (int w = 0; w < 2 && !status; w++) {
                int it;
                gka_reason_t reason;
                A->from_double(A, Q, rhs[w], n);
                status = gka_chebyshev_solve(A, p->D, ck_matvec, &c, Q, c.lam, c.hn, iters, 0.0,
                                             NULL, dst[w], NULL, NULL, NULL, &it, &reason);
                if (!status && (reason == GKA_REASON_NAN || reason == GKA_REASON_BREAKDOWN))
                    poison(A, dst[w], n);
            }
        }
        ck_advance(&c, nn);
    }
    /* backward scan */
    for (size_t i = 0; i < DD && !status; i++)
        A->set_d(A, KEL(&c, S, i), 0.0);
    A->set_d(A, KSC(&c, DGN), 0.0);
    const int path = lambda_path && p->ridge.kind == GKA_RIDGE_ADAPTIVE;
    for (size_t ci = nch; ci-- > 0 && !status;) {
        const size_t t0 = ci * Cs, nn = T - t0 < Cs ? T - t0 : Cs;
        A->copy(A, c.H0, KEL(&c, Hst, ci * DD), DD);
        ck_load(&c, nn, p->k + t0 * n, p->g ? p->g + t0 : NULL, p->beta ? p->beta + t0 : NULL);
        const void *Xc = KEL(&c, X, t0 * n), *DQc = KEL(&c, DQ, t0 * n);
        for (size_t s = 0; s < nn; s++) { /* c_s = -a (x.dq) / ||H_s||_F */
            void *cs = KEL(&c, c.cs, s);
            const void *hn = KEL(&c, HN, t0 + s);
            A->set_d(A, cs, 0.0);
            if (path && A->get_d(A, hn) > 0.0) {
                A->dot(A, cs, n, KEL(&c, Xc, s * n), KEL(&c, DQc, s * n));
                A->mul(A, cs, cs, c.rv);
                A->div(A, cs, cs, hn);
                A->sub(A, cs, KSC(&c, ZERO), cs);
            }
        }
        for (size_t cc = nn; cc-- > 0;) {
            const size_t t = t0 + cc;
            ck_Sk(&c, nn, cc, Xc, DQc, S);
            A->dot(A, KSC(&c, T1), n, KEL(&c, c.K, cc * n), c.u); /* k^T S k */
            if (out->dbeta) {
                A->mul(A, KSC(&c, T2), KSC(&c, T1), KEL(&c, c.beta, cc));
                out->dbeta[t] = A->get_d(A, KSC(&c, T2));
            }
            /* dg_t = -dq.(H x) + c ||H||^2 + dg_{t+1} - beta^2 k^T S k / 2 */
            c.cur = (int)cc;
            ck_apply(&c, KEL(&c, Xc, cc * n), c.v2, 0);
            A->dot(A, KSC(&c, T2), n, KEL(&c, DQc, cc * n), c.v2);
            A->sub(A, KSC(&c, T2), KSC(&c, DGN), KSC(&c, T2));
            const void *hn = KEL(&c, HN, t);
            A->mul(A, KSC(&c, T3), hn, hn);
            A->mul(A, KSC(&c, T3), KSC(&c, T3), KEL(&c, c.cs, cc));
            A->add(A, KSC(&c, T2), KSC(&c, T2), KSC(&c, T3));
            A->mul(A, KSC(&c, T3), KSC(&c, T1), KEL(&c, c.b2, cc));
            A->mul(A, KSC(&c, T3), KSC(&c, T3), KSC(&c, HALF));
            A->sub(A, KSC(&c, DGN), KSC(&c, T2), KSC(&c, T3));
            if (out->dg) out->dg[t] = A->get_d(A, KSC(&c, DGN));
            if (out->dk) {
                A->scal(A, n, KEL(&c, c.b2, cc), c.u);
                A->to_double(A, out->dk + t * n, c.u, n);
            }
        }
        ck_state_adjoint(&c, nn, Xc, DQc, S);
    }
    if (!status && out->x) A->to_double(A, out->x, X, T * n);
    if (!status && out->dq) A->to_double(A, out->dq, DQ, T * n);
out:
    ck_free(&c);
    if (X) A->free(A, X, T * n);
    if (DQ) A->free(A, DQ, T * n);
    if (Q) A->free(A, Q, n);
    if (Hst) A->free(A, Hst, nch * DD);
    if (S) A->free(A, S, DD);
    if (HN) A->free(A, HN, T);
    return status;
}
