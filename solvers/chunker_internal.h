/* The chunker's per-token operator, for the chunk-form backward pass
 * (grad_chunk.c), which runs its forward solves and its adjoint formulas
 * on the same chunk tables, matvec, decay mask, norm formula and state scan
 * as the forward (chebyshev_chunk.c). Not public API.
 *
 * A chunk is processed as: gka_chunker_load (keys, gates, the C x C tables),
 * then per token cc gka_chunker_token (its norm and ridge) and
 * gka_chunker_bind (its operator), then gka_chunker_advance (the next chunk
 * start state). gka_chunker_run is exactly this sequence. */
#ifndef GKA_CHUNKER_INTERNAL_H
#define GKA_CHUNKER_INTERNAL_H

#include "solver_internal.h"
#include "gka_chunker.h"

struct gka_chebyshev_chunker {
    gka_arith_t *As, *Ai, *Ac; /* state format, iterates, running state (carry) */
    int D, C, r;
    gka_ridge_t ridge;
    void *Hc, *Hc1;             /* running state and next (Ac, D x D) */
    void *H0s;                  /* snapshot in As (D x D); = Hc when Ac == As */
    void *stage;                /* As, D: inputs rounded to the state format */
    void *E, *B;                /* Ac, D x (C+1): [H0_ij | K^T row i], [exp(G) | W k column j] */
    void *H0i;                  /* state in Ai */
    void *Ki, *KTi;             /* keys in Ai: C x D and D x C */
    void *W;                    /* Ai, C x C: row c holds W_jc for j <= c */
    void *KK;                   /* Ai, C x C: k_i . k_j */
    void *S;                    /* Ai, C x C: (k_i . k_j)^2 */
    void *wq;                   /* Ai, C: k_j^T H_0 k_j */
    void *G, *bt, *b2, *eG;     /* Ai, C: cumulative log-gate, beta, beta^2, exp(G_c) */
    void *qi, *xi, *z, *tv, *y; /* Ai vectors: D, D, C, C, D */
    void *h0n2, *hn, *lam, *t1, *t2, *one, *two, *rv; /* Ai scalars */
    double *kbuf, *ktbuf;                             /* n x D, D x n doubles */
    int cur;                                          /* token of the chunk being solved (matvec) */
    const unsigned char *select; /* gka_chunker_select: tokens to solve (NULL: all) */
    gka_solver_t *solver;        /* gka_chunker_set_solver (borrowed); NULL: Chebyshev */
    void *xs;                    /* D elements of the solver's arithmetic */
    void *Hm;                    /* Ai, D x D: H_c materialised (direct solvers) */
    unsigned *tok_events;        /* C: GKA_FLAG_* of each token of the last chunk */
    int *tok_iters;              /* C: iterations of each token of the last chunk */
    unsigned state_events;       /* flags of the last state update: the next chunk's */
};

/* Keys (through A_state into A_iter), gates and the chunk's tables for n
 * tokens; *_used as in gka_chunker_run (may be NULL). */
void gka_chunker_load(gka_chebyshev_chunker_t *c, int n, const double *k, const double *g,
                      const double *beta, double *k_used, double *g_used, double *beta_used);
/* Token cc of the loaded chunk: its ||H_c||_F (c->hn) and lambda_c (c->lam)
 * by the chunk norm formula; the matvec applies its operator from now on. */
void gka_chunker_token(gka_chebyshev_chunker_t *c, int cc);
/* The current token's operator (q: c->qi; set op->q to solve another
 * right-hand side of the same operator). */
void gka_chunker_bind(gka_chebyshev_chunker_t *c, gka_operator_t *op);
/* gka_matvec_fn of the current token: y = (H_c + lambda_c I) x (ctx: c). */
void gka_chunker_matvec(void *ctx, const void *x, void *y);
/* y = H_c x (no ridge), the same products. */
void gka_chunker_apply_H(gka_chebyshev_chunker_t *c, const void *x, void *y);
/* dst = exp(G_later - G_earlier), the chunk's decay mask (A_iter). */
void gka_chunker_decay(gka_chebyshev_chunker_t *c, int later, int earlier, void *dst);
/* The state scan over the loaded chunk of n tokens: the next chunk start. */
void gka_chunker_advance(gka_chebyshev_chunker_t *c, int n);
/* The running state (D x D elements of c->Ac) out, or in (then the
 * snapshot and its A_iter copy are taken from it, as after an advance). */
void gka_chunker_get_carry(const gka_chebyshev_chunker_t *c, void *H);
void gka_chunker_set_carry_state(gka_chebyshev_chunker_t *c, const void *H);

#endif
