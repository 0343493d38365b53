/* The chunk form (MATH.md section 3), for every solver that runs against gka_operator_t:
 * the C tokens of a chunk share the chunk start
 * state H_0 and the chunk's keys, and each token's operator is applied as
 *     A_c x = exp(G_c) H_0 x + K^T ((K x) o W_{:,c}) + lambda_c x,
 * W_jc = exp(G_c - G_j) beta_j^2 (the decay mask times the write gate), with
 * ||H_c||_F from the chunk norm formula; no D x D matrix is formed per token.
 * The chunk start states come from a sequential scan over chunks.
 *
 * Arithmetic (mirroring the reference kernels): keys, queries and chunk states
 * are values of A_state's format; log-gates, betas, the mask, the norm
 * formula, the iterates and every product run in A_iter. The state update
 * H_0' = exp(G_last) H_0 + K^T diag(W_{:,last}) K is one A_state dot of
 * length n + 1 per entry (one rounding per entry per chunk under A_state's
 * accumulation model), with the weighted keys W k first rounded to A_state
 * (as a GPU casts them to bf16 for the tensor-core product). exp() is taken
 * in double and rounded into A_iter.
 *
 * Carry (gka_chunker_set_carry): the running state of the scan may be kept in
 * an arithmetic A_carry other than the studied format, as the reference
 * kernels keep it in fp32; the snapshot the chunk's tokens use (H_0) is then
 * the carried state rounded once to A_state's format, and the scan continues
 * from the unrounded carry. Without a carry (A_carry = A_state) the state is
 * rounded at every chunk boundary and continued from.
 *
 * Each token's operator (gka_operator_t) is solved by the chunker's solver
 * (gka_chunker_set_solver; default: Chebyshev, r steps, zero start); a
 * direct solver gets H_c materialised from the snapshot in its own
 * arithmetic. */
#include "chunker_internal.h"

#include <stdlib.h>
#include <string.h>

typedef gka_chebyshev_chunker_t chunker_t;

enum { CK_NSCAL = 8 };

/* The A_iter scalar slots, for allocation and release. */
static void ck_ai_scalars(chunker_t *c, void ***out) {
    void **s[CK_NSCAL] = {&c->h0n2, &c->hn, &c->lam, &c->t1, &c->t2, &c->one, &c->two, &c->rv};
    memcpy(out, s, sizeof s);
}

/* The carry arrays (Ac) and the snapshot (As, when separate). */
static void carry_free(chunker_t *c) {
    gka_arith_t *As = c->As, *Ac = c->Ac;
    const size_t D = (size_t)c->D, C = (size_t)c->C, DD = D * D;
    if (c->H0s && c->H0s != c->Hc) As->free(As, c->H0s, DD);
    if (c->Hc) Ac->free(Ac, c->Hc, DD);
    if (c->Hc1) Ac->free(Ac, c->Hc1, DD);
    if (c->E) Ac->free(Ac, c->E, D * (C + 1));
    if (c->B) Ac->free(Ac, c->B, D * (C + 1));
    c->H0s = c->Hc = c->Hc1 = c->E = c->B = NULL;
}

static int carry_alloc(chunker_t *c) {
    gka_arith_t *As = c->As, *Ac = c->Ac;
    const size_t D = (size_t)c->D, C = (size_t)c->C, DD = D * D;
    c->Hc = Ac->alloc(Ac, DD), c->Hc1 = Ac->alloc(Ac, DD);
    c->E = Ac->alloc(Ac, D * (C + 1)), c->B = Ac->alloc(Ac, D * (C + 1));
    c->H0s = Ac == As ? c->Hc : As->alloc(As, DD);
    return c->Hc && c->Hc1 && c->E && c->B && c->H0s;
}

void gka_chunker_destroy(chunker_t *c) {
    if (!c) return;
    gka_arith_t *As = c->As, *Ai = c->Ai;
    const size_t D = (size_t)c->D, C = (size_t)c->C, DD = D * D;
    carry_free(c);
    if (c->stage) As->free(As, c->stage, D);
    if (c->xs) c->solver->A->free(c->solver->A, c->xs, D);
    if (c->Hm) Ai->free(Ai, c->Hm, DD);
    const struct {
        void *p;
        size_t n;
    } vi[] = {{c->H0i, DD},  {c->Ki, C * D}, {c->KTi, D * C}, {c->W, C * C},
              {c->S, C * C}, {c->KK, C * C}, {c->bt, C},      {c->wq, C},
              {c->G, C},     {c->b2, C},     {c->eG, C},      {c->qi, D},
              {c->xi, D},    {c->z, C},      {c->tv, C},      {c->y, D}};
    for (size_t i = 0; i < sizeof vi / sizeof vi[0]; i++)
        if (vi[i].p) Ai->free(Ai, vi[i].p, vi[i].n);
    void **sc[CK_NSCAL];
    ck_ai_scalars(c, sc);
    for (int i = 0; i < CK_NSCAL; i++)
        gka_scalar_free(Ai, *sc[i]);
    free(c->kbuf);
    free(c->ktbuf);
    free(c->tok_events);
    free(c->tok_iters);
    free(c);
}

gka_status_t gka_chunker_create(chunker_t **out, gka_arith_t *A_state, gka_arith_t *A_iter, int D,
                                int C, const gka_ridge_t *ridge, int r) {
    if (!out || !A_state || !A_iter || !ridge)
        return gka_error(GKA_EINVAL, "gka_chunker_create: NULL argument");
    *out = NULL;
    if (D < 1 || D > GKA_D_MAX)
        return gka_error(GKA_EINVAL, "chunk form: D = %d out of range [1, %d]", D, GKA_D_MAX);
    if (C < 1 || C > 4096)
        return gka_error(GKA_EINVAL, "chunk form: chunk size %d out of range [1, 4096]", C);
    if (r < 0) return gka_error(GKA_EINVAL, "chunk form: iterations %d < 0", r);
    if (ridge->kind == GKA_RIDGE_DECAY)
        return gka_error(GKA_EINVAL,
                         "chunk form: ridge decay: is not supported (fixed or adaptive)");
    if (!isfinite(ridge->value) || ridge->value < 0.0)
        return gka_error(GKA_EINVAL, "chunk form: ridge value %g invalid", ridge->value);
    chunker_t *c = calloc(1, sizeof *c);
    if (!c) return gka_error(GKA_ENOMEM, "chunk form: out of memory");
    c->As = A_state;
    c->Ai = A_iter;
    c->Ac = A_state;
    c->D = D;
    c->C = C;
    c->r = r;
    c->ridge = *ridge;
    gka_arith_t *As = A_state, *Ai = A_iter;
    const size_t d = (size_t)D, n = (size_t)C, DD = d * d;
    int ok =
        carry_alloc(c) && (c->stage = As->alloc(As, d)) && (c->Hm = Ai->alloc(Ai, DD)) &&
        (c->H0i = Ai->alloc(Ai, DD)) && (c->Ki = Ai->alloc(Ai, n * d)) &&
        (c->KTi = Ai->alloc(Ai, d * n)) && (c->W = Ai->alloc(Ai, n * n)) &&
        (c->S = Ai->alloc(Ai, n * n)) && (c->KK = Ai->alloc(Ai, n * n)) &&
        (c->bt = Ai->alloc(Ai, n)) && (c->wq = Ai->alloc(Ai, n)) && (c->G = Ai->alloc(Ai, n)) &&
        (c->b2 = Ai->alloc(Ai, n)) && (c->eG = Ai->alloc(Ai, n)) && (c->qi = Ai->alloc(Ai, d)) &&
        (c->xi = Ai->alloc(Ai, d)) && (c->z = Ai->alloc(Ai, n)) && (c->tv = Ai->alloc(Ai, n)) &&
        (c->y = Ai->alloc(Ai, d)) && (c->kbuf = malloc(n * d * sizeof(double))) &&
        (c->ktbuf = malloc(n * d * sizeof(double))) &&
        (c->tok_events = calloc(n, sizeof(unsigned))) && (c->tok_iters = calloc(n, sizeof(int)));
    void **sc[CK_NSCAL];
    ck_ai_scalars(c, sc);
    for (int i = 0; ok && i < CK_NSCAL; i++)
        ok = (*sc[i] = Ai->alloc(Ai, 1)) != NULL;
    if (!ok) {
        gka_chunker_destroy(c);
        return gka_error(GKA_ENOMEM, "chunk form: out of memory (D = %d, C = %d)", D, C);
    }
    Ai->set_d(Ai, c->one, 1.0);
    Ai->set_d(Ai, c->two, 2.0);
    Ai->set_d(Ai, c->rv, ridge->value);
    *out = c;
    return GKA_OK;
}

void gka_chunker_select(chunker_t *c, const unsigned char *select) {
    if (c) c->select = select;
}

gka_status_t gka_chunker_set_carry(chunker_t *c, gka_arith_t *A_carry) {
    if (!c) return gka_error(GKA_EINVAL, "gka_chunker_set_carry: NULL chunker");
    gka_arith_t *Ac = A_carry ? A_carry : c->As;
    if (Ac == c->Ac) return GKA_OK;
    const size_t DD = (size_t)c->D * (size_t)c->D;
    double *H = malloc(DD * sizeof *H); /* the state so far, carried over */
    if (!H) return gka_error(GKA_ENOMEM, "chunk form: out of memory (carry)");
    c->Ac->to_double(c->Ac, H, c->Hc, DD);
    carry_free(c);
    c->Ac = Ac;
    if (!carry_alloc(c)) {
        free(H);
        return gka_error(GKA_ENOMEM, "chunk form: out of memory (carry, D = %d)", c->D);
    }
    Ac->from_double(Ac, c->Hc, H, DD);
    if (c->H0s != c->Hc) c->As->from_double(c->As, c->H0s, H, DD);
    free(H);
    return GKA_OK;
}

gka_status_t gka_chunker_set_solver(chunker_t *c, gka_solver_t *s) {
    if (!c) return gka_error(GKA_EINVAL, "gka_chunker_set_solver: NULL chunker");
    if (c->xs) c->solver->A->free(c->solver->A, c->xs, (size_t)c->D);
    c->xs = NULL;
    c->solver = NULL;
    if (!s) return GKA_OK;
    if (s->D != c->D)
        return gka_error(GKA_EINVAL, "chunk form: solver dimension %d, chunker %d", s->D, c->D);
    if (!s->ops->solve_op)
        return gka_error(GKA_EINVAL,
                         "chunk form: solver %s is token-form only (it needs the stream)",
                         s->ops->name);
    if (s->ops->iterative && s->A != c->Ai)
        return gka_error(GKA_EINVAL,
                         "chunk form: iterative solver %s must run in the iterate arithmetic",
                         s->ops->name);
    if (!(c->xs = s->A->alloc(s->A, (size_t)c->D)))
        return gka_error(GKA_ENOMEM, "chunk form: out of memory (solver)");
    c->solver = s;
    return GKA_OK;
}

void gka_chunker_state(const chunker_t *c, double *H) {
    c->As->to_double(c->As, H, c->H0s, (size_t)c->D * (size_t)c->D);
}

void gka_chunker_carry_state(const chunker_t *c, double *H) {
    c->Ac->to_double(c->Ac, H, c->Hc, (size_t)c->D * (size_t)c->D);
}

void gka_chunker_get_carry(const chunker_t *c, void *H) {
    c->Ac->copy(c->Ac, H, c->Hc, (size_t)c->D * (size_t)c->D);
}

/* H_0 from the carried state: the snapshot rounded once to A_state (the
 * carry itself without one), then its copy in A_iter. */
static void take_snapshot(chunker_t *c) {
    const size_t DD = (size_t)c->D * (size_t)c->D;
    if (c->Ac == c->As)
        c->H0s = c->Hc;
    else
        gka_elems_convert(c->Ac, c->Hc, c->As, c->H0s, DD);
    gka_elems_convert(c->As, c->H0s, c->Ai, c->H0i, DD);
}

void gka_chunker_set_carry_state(chunker_t *c, const void *H) {
    c->Ac->copy(c->Ac, c->Hc, H, (size_t)c->D * (size_t)c->D);
    take_snapshot(c);
}

/* y = H_c x for token c->cur: exp(G_c) H_0 x + K^T ((K x) o W_c). */
void gka_chunker_apply_H(chunker_t *c, const void *x, void *y) {
    gka_arith_t *Ai = c->Ai;
    const size_t d = (size_t)c->D, n = (size_t)c->C, m = (size_t)c->cur + 1;
    Ai->gemv(Ai, d, d, GKA_ELEM(Ai, c->eG, c->cur), c->H0i, x, NULL, y); /* exp(G_c) H_0 x */
    for (size_t j = 0; j < m; j++) {                                     /* z = (K x) o W_c */
        Ai->dot(Ai, GKA_ELEM(Ai, c->z, j), d, GKA_ELEM(Ai, c->Ki, j * d), x);
        Ai->mul(Ai, GKA_ELEM(Ai, c->z, j), GKA_ELEM(Ai, c->z, j),
                GKA_ELEM(Ai, c->W, (size_t)c->cur * n + j));
    }
    for (size_t i = 0; i < d; i++) { /* y += K^T z */
        Ai->dot(Ai, c->t1, m, GKA_ELEM(Ai, c->KTi, i * n), c->z);
        Ai->add(Ai, GKA_ELEM(Ai, y, i), GKA_ELEM(Ai, y, i), c->t1);
    }
}

/* y = A_c x = H_c x + lambda_c x for token c->cur of the chunk. */
void gka_chunker_matvec(void *ctx, const void *x, void *y) {
    chunker_t *c = ctx;
    gka_chunker_apply_H(c, x, y);
    c->Ai->axpy(c->Ai, (size_t)c->D, c->lam, x, y);
}

void gka_chunker_decay(chunker_t *c, int later, int earlier, void *dst) {
    gka_arith_t *Ai = c->Ai;
    Ai->sub(Ai, dst, GKA_ELEM(Ai, c->G, later), GKA_ELEM(Ai, c->G, earlier));
    Ai->set_d(Ai, dst, exp(Ai->get_d(Ai, dst)));
}

/* Rounded inputs of the chunk: keys through A_state into A_iter, gates. */
static void load_chunk(chunker_t *c, int n, const double *k, const double *g, const double *beta,
                       double *k_used, double *g_used, double *beta_used) {
    gka_arith_t *As = c->As, *Ai = c->Ai;
    const size_t d = (size_t)c->D, C = (size_t)c->C, nn = (size_t)n;
    /* keys: round to the state format (staged in E's storage row by row) */
    for (size_t j = 0; j < nn; j++) {
        As->from_double(As, c->stage, k + j * d, d);
        As->to_double(As, c->kbuf + j * d, c->stage, d);
    }
    if (k_used) memcpy(k_used, c->kbuf, nn * d * sizeof(double));
    Ai->from_double(Ai, c->Ki, c->kbuf, nn * d);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < C; j++)
            c->ktbuf[i * C + j] = j < nn ? c->kbuf[j * d + i] : 0.0;
    Ai->from_double(Ai, c->KTi, c->ktbuf, d * C);
    for (size_t j = 0; j < nn; j++) { /* cumulative log-gate and beta^2 */
        Ai->set_d(Ai, c->t1, g ? g[j] : 0.0);
        if (g_used) g_used[j] = Ai->get_d(Ai, c->t1);
        if (j == 0)
            Ai->copy(Ai, GKA_ELEM(Ai, c->G, 0), c->t1, 1);
        else
            Ai->add(Ai, GKA_ELEM(Ai, c->G, j), GKA_ELEM(Ai, c->G, j - 1), c->t1);
        void *bj = GKA_ELEM(Ai, c->bt, j);
        Ai->set_d(Ai, bj, beta ? beta[j] : 1.0);
        if (beta_used) beta_used[j] = Ai->get_d(Ai, bj);
        Ai->mul(Ai, GKA_ELEM(Ai, c->b2, j), bj, bj);
        Ai->set_d(Ai, GKA_ELEM(Ai, c->eG, j), exp(Ai->get_d(Ai, GKA_ELEM(Ai, c->G, j))));
    }
}

/* W_jc = exp(G_c - G_j) beta_j^2, KK_ij = k_i.k_j, S_ij = KK_ij^2,
 * wq_j = k_j^T H_0 k_j, h0n2 = ||H_0||_F^2. */
static void chunk_tables(chunker_t *c, int n) {
    gka_arith_t *Ai = c->Ai;
    const size_t d = (size_t)c->D, C = (size_t)c->C, nn = (size_t)n;
    for (size_t cc = 0; cc < nn; cc++)
        for (size_t j = 0; j <= cc; j++) {
            void *w = GKA_ELEM(Ai, c->W, cc * C + j);
            gka_chunker_decay(c, (int)cc, (int)j, w);
            Ai->mul(Ai, w, w, GKA_ELEM(Ai, c->b2, j));
        }
    for (size_t i = 0; i < nn; i++)
        for (size_t j = 0; j < nn; j++) {
            void *kk = GKA_ELEM(Ai, c->KK, i * C + j), *s = GKA_ELEM(Ai, c->S, i * C + j);
            Ai->dot(Ai, kk, d, GKA_ELEM(Ai, c->Ki, i * d), GKA_ELEM(Ai, c->Ki, j * d));
            Ai->mul(Ai, s, kk, kk);
        }
    for (size_t j = 0; j < nn; j++) {
        Ai->gemv(Ai, d, d, c->one, c->H0i, GKA_ELEM(Ai, c->Ki, j * d), NULL, c->y);
        Ai->dot(Ai, GKA_ELEM(Ai, c->wq, j), d, GKA_ELEM(Ai, c->Ki, j * d), c->y);
    }
    Ai->dot(Ai, c->h0n2, d * d, c->H0i, c->H0i);
}

void gka_chunker_load(chunker_t *c, int n, const double *k, const double *g, const double *beta,
                      double *k_used, double *g_used, double *beta_used) {
    load_chunk(c, n, k, g, beta, k_used, g_used, beta_used);
    chunk_tables(c, n);
}

/* ||H_c||_F and lambda_c for token cc by the chunk norm formula. */
static void chunk_norm(chunker_t *c, size_t cc) {
    gka_arith_t *Ai = c->Ai;
    const size_t C = (size_t)c->C, m = cc + 1;
    const void *eg = GKA_ELEM(Ai, c->eG, cc), *wrow = GKA_ELEM(Ai, c->W, cc * C);
    Ai->mul(Ai, c->hn, eg, eg);
    Ai->mul(Ai, c->hn, c->hn, c->h0n2); /* exp(2G) ||H_0||^2 */
    Ai->dot(Ai, c->t1, m, wrow, c->wq);
    Ai->mul(Ai, c->t1, c->t1, eg);
    Ai->mul(Ai, c->t1, c->t1, c->two); /* 2 exp(G) sum_j W_jc k_j^T H_0 k_j */
    Ai->add(Ai, c->hn, c->hn, c->t1);
    for (size_t i = 0; i < m; i++)
        Ai->dot(Ai, GKA_ELEM(Ai, c->tv, i), m, GKA_ELEM(Ai, c->S, i * C), wrow);
    Ai->dot(Ai, c->t1, m, wrow, c->tv); /* sum_ij W_ic W_jc (k_i.k_j)^2 */
    Ai->add(Ai, c->hn, c->hn, c->t1);
    Ai->sqrt(Ai, c->hn, c->hn);
    if (c->ridge.kind == GKA_RIDGE_ADAPTIVE)
        Ai->mul(Ai, c->lam, c->rv, c->hn);
    else
        Ai->copy(Ai, c->lam, c->rv, 1);
}

void gka_chunker_token(chunker_t *c, int cc) {
    chunk_norm(c, (size_t)cc);
    c->cur = cc;
}

/* A value computed in A_iter entering the carry's product: rounded to the
 * state format first (the cast to bf16 before a tensor-core product), then
 * held in A_carry (exact when the carry contains the format). One rounding
 * when the carry is the state format; a copy when all three are one table. */
static void to_carry_via_state(chunker_t *c, void *dst, const void *v) {
    if (c->Ac == c->As) {
        gka_elems_convert(c->Ai, v, c->As, dst, 1);
        return;
    }
    gka_elems_convert(c->Ai, v, c->As, c->stage, 1);
    gka_elems_convert(c->As, c->stage, c->Ac, dst, 1);
}

/* H <- exp(G_last) H + sum_j W_{j,last} k_j k_j^T on the carried state, one
 * A_carry dot per entry; then the snapshot H_0 (rounded once to A_state) and
 * its copy in A_iter. The decay factor is the forward's gate arithmetic
 * (gka_gate_element): fp32 for a carry narrower than fp32, as the token form
 * decays a bf16 H with an fp32 gamma. */
void gka_chunker_advance(chunker_t *c, int n) {
    gka_arith_t *Ai = c->Ai, *Ac = c->Ac;
    const size_t d = (size_t)c->D, C = (size_t)c->C, nn = (size_t)n, last = nn - 1, w1 = C + 1;
    for (size_t i = 0; i < d; i++) /* E row i = [., k_0i .. k_{n-1,i}] */
        Ac->from_double(Ac, GKA_ELEM(Ac, c->E, i * w1 + 1), c->ktbuf + i * C, nn);
    const double gate = exp(Ai->get_d(Ai, GKA_ELEM(Ai, c->G, last)));
    for (size_t j = 0; j < d; j++) { /* B row j = [exp(G_last), W_{l,last} k_lj] */
        gka_gate_element(Ac, gate, GKA_ELEM(Ac, c->B, j * w1));
        for (size_t l = 0; l < nn; l++) {
            Ai->mul(Ai, c->t1, GKA_ELEM(Ai, c->W, last * C + l), GKA_ELEM(Ai, c->KTi, j * C + l));
            to_carry_via_state(c, GKA_ELEM(Ac, c->B, j * w1 + 1 + l), c->t1);
        }
    }
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            Ac->copy(Ac, GKA_ELEM(Ac, c->E, i * w1), GKA_ELEM(Ac, c->Hc, i * d + j), 1);
            Ac->dot(Ac, GKA_ELEM(Ac, c->Hc1, i * d + j), nn + 1, GKA_ELEM(Ac, c->E, i * w1),
                    GKA_ELEM(Ac, c->B, j * w1));
        }
    void *t = c->Hc;
    c->Hc = c->Hc1;
    c->Hc1 = t;
    take_snapshot(c);
}

/* ---- the token's operator --------------------------------------------------- */

static void chunk_apply(const gka_operator_t *op, const void *x, void *y) {
    gka_chunker_matvec(op->ctx, x, y);
}

/* H_c = exp(G_c) H_0 + sum_{j<=c} W_jc k_j k_j^T in A_iter, rounded into B. */
static gka_status_t chunk_matrix(const gka_operator_t *op, gka_arith_t *B, void *H) {
    chunker_t *c = op->ctx;
    gka_arith_t *Ai = c->Ai;
    const size_t d = (size_t)c->D, C = (size_t)c->C, cur = (size_t)c->cur;
    Ai->copy(Ai, c->Hm, c->H0i, d * d);
    Ai->scal(Ai, d * d, GKA_ELEM(Ai, c->eG, cur), c->Hm);
    for (size_t j = 0; j <= cur; j++)
        Ai->syr(Ai, d, GKA_ELEM(Ai, c->W, cur * C + j), GKA_ELEM(Ai, c->Ki, j * d), c->Hm);
    gka_elems_convert(Ai, c->Hm, B, H, d * d);
    return GKA_OK;
}

void gka_chunker_bind(chunker_t *c, gka_operator_t *op) {
    op->A = c->Ai;
    op->D = c->D;
    op->q = c->qi;
    op->lambda = c->lam;
    op->hnorm = c->hn;
    op->apply = chunk_apply;
    op->matrix = chunk_matrix;
    op->residual64 = NULL; /* the reference problem is built after the chunk (gka_run) */
    op->ctx = c;
}

/* Solve token c->cur: the chunker's solver, or Chebyshev with r steps. */
static gka_status_t solve_token(chunker_t *c, double *x, gka_reason_t *reason, int *iters) {
    gka_arith_t *Ai = c->Ai;
    const size_t d = (size_t)c->D;
    if (!c->solver) {
        gka_status_t st =
            gka_chebyshev_solve(Ai, c->D, gka_chunker_matvec, c, c->qi, c->lam, c->hn, c->r, 0.0,
                                NULL, c->xi, NULL, NULL, NULL, iters, reason);
        if (!st) Ai->to_double(Ai, x, c->xi, d);
        return st;
    }
    gka_operator_t op;
    gka_chunker_bind(c, &op);
    gka_solve_info_t info;
    gka_status_t st = gka_solver_solve_op(c->solver, &op, c->xs, &info);
    if (st) return st;
    c->solver->A->to_double(c->solver->A, x, c->xs, d);
    *reason = info.reason;
    *iters = info.iters;
    return GKA_OK;
}

/* The flags raised in all of the chunker's tables since the last call,
 * cleared; *total accumulates them. */
static unsigned take_events(chunker_t *c, unsigned *total) {
    gka_arith_t *t[4] = {c->As, c->Ai, c->Ac, c->solver ? c->solver->A : c->As};
    unsigned ev = 0;
    for (int i = 0; i < 4; i++) {
        ev |= t[i]->events;
        t[i]->events = 0;
    }
    *total |= ev;
    return ev;
}

void gka_chunker_token_events(const chunker_t *c, unsigned *events, int n) {
    for (int j = 0; j < n && j < c->C; j++)
        events[j] = c->tok_events[j];
}

void gka_chunker_token_iters(const chunker_t *c, int *iters, int n) {
    for (int j = 0; j < n && j < c->C; j++)
        iters[j] = c->tok_iters[j];
}

gka_status_t gka_chunker_run(chunker_t *c, int n, const double *q, const double *k, const double *g,
                             const double *beta, double *x, double *hnorm, double *lambda,
                             gka_reason_t *reasons, double *q_used, double *k_used, double *g_used,
                             double *beta_used) {
    if (!c || !q || !k || !x) return gka_error(GKA_EINVAL, "gka_chunker_run: NULL argument");
    if (n < 1 || n > c->C)
        return gka_error(GKA_EINVAL, "chunk form: %d tokens in a chunk of %d", n, c->C);
    for (int j = 0; g && j < n; j++)
        if (!(g[j] <= 0.0))
            return gka_error(GKA_EINVAL, "chunk form: log-gate g[%d] = %g must be <= 0", j, g[j]);
    gka_arith_t *As = c->As, *Ai = c->Ai;
    const size_t d = (size_t)c->D;
    unsigned total = 0;
    take_events(c, &total); /* the caller's, kept in the total */
    gka_chunker_load(c, n, k, g, beta, k_used, g_used, beta_used);
    /* what every token of the chunk shares: its state and the chunk's tables */
    const unsigned shared = c->state_events | take_events(c, &total);
    for (int cc = 0; cc < n; cc++) {
        /* q through the input format into the iterate arithmetic */
        As->from_double(As, c->stage, q + (size_t)cc * d, d);
        As->to_double(As, c->kbuf, c->stage, d); /* kbuf reused: keys are in Ki now */
        if (q_used) memcpy(q_used + (size_t)cc * d, c->kbuf, d * sizeof(double));
        Ai->from_double(Ai, c->qi, c->kbuf, d);
        c->tok_iters[cc] = 0;
        if (c->select && !c->select[cc]) { /* not asked for: the state still advances */
            for (size_t i = 0; i < d; i++)
                x[(size_t)cc * d + i] = (double)NAN;
            if (hnorm) hnorm[cc] = (double)NAN;
            if (lambda) lambda[cc] = (double)NAN;
            if (reasons) reasons[cc] = GKA_REASON_NONE;
            c->tok_events[cc] = shared | take_events(c, &total);
            continue;
        }
        gka_chunker_token(c, cc);
        gka_reason_t reason;
        gka_status_t st = solve_token(c, x + (size_t)cc * d, &reason, &c->tok_iters[cc]);
        if (st) return st;
        if (hnorm) hnorm[cc] = Ai->get_d(Ai, c->hn);
        if (lambda) lambda[cc] = Ai->get_d(Ai, c->lam);
        if (reasons) reasons[cc] = reason;
        c->tok_events[cc] = shared | take_events(c, &total);
    }
    gka_chunker_advance(c, n);
    c->state_events = take_events(c, &total);
    As->events |= total, Ai->events |= total, c->Ac->events |= total; /* callers see them all */
    return GKA_OK;
}

gka_status_t gka_chebyshev_chunked(gka_arith_t *A_state, gka_arith_t *A_iter, int D, long T, int C,
                                   const double *q, const double *k, const double *g,
                                   const double *beta, double a, int r, double *x, double *hnorm,
                                   double *H_final) {
    if (!q || !k || !x) return gka_error(GKA_EINVAL, "gka_chebyshev_chunked: NULL q, k or x");
    if (T < 1 || T > 10000000L)
        return gka_error(GKA_EINVAL, "gka_chebyshev_chunked: T = %ld out of range [1, 1e7]", T);
    if (!(isfinite(a) && a > 0.0))
        return gka_error(GKA_EINVAL, "gka_chebyshev_chunked: ridge ratio a = %g must be > 0", a);
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, a};
    chunker_t *c;
    gka_status_t st = gka_chunker_create(&c, A_state, A_iter, D, C, &ridge, r);
    if (st) return st;
    const size_t d = (size_t)D;
    for (long t0 = 0; t0 < T && !st; t0 += C) {
        const int n = (int)(T - t0 < C ? T - t0 : C);
        const size_t o = (size_t)t0;
        st = gka_chunker_run(c, n, q + o * d, k + o * d, g ? g + o : NULL, beta ? beta + o : NULL,
                             x + o * d, hnorm ? hnorm + o : NULL, NULL, NULL, NULL, NULL, NULL,
                             NULL);
    }
    if (!st && H_final) gka_chunker_state(c, H_final);
    gka_chunker_destroy(c);
    return st;
}
