/* The token-form operator provider (gka_operator.h). */
#include "gka_operator.h"

#include <stdlib.h>

#include "solver_internal.h"

void gka_operator_convert(const gka_operator_t *op, gka_arith_t *B, const void *src, void *dst,
                          size_t n) {
    gka_elems_convert(op->A, src, B, dst, n);
}

/* ---- in the stream's own arithmetic --------------------------------------- */

static void stream_apply(const gka_operator_t *op, const void *x, void *y) {
    gka_stream_matvec((const gka_stream_t *)op->ctx, x, y);
}

static gka_status_t stream_matrix(const gka_operator_t *op, gka_arith_t *B, void *H) {
    const gka_stream_t *st = op->ctx;
    gka_elems_convert(st->A, st->H, B, H, (size_t)st->D * (size_t)st->D);
    return GKA_OK;
}

static double stream_residual64(const gka_operator_t *op, const void *x, double *x64) {
    return gka_stream_rel_residual64((const gka_stream_t *)op->ctx, x, x64);
}

void gka_stream_operator(const gka_stream_t *st, gka_operator_t *op) {
    op->A = st->A;
    op->D = st->D;
    op->q = st->q;
    op->lambda = st->lambda;
    op->hnorm = st->hnorm;
    op->apply = stream_apply;
    op->matrix = stream_matrix;
    op->residual64 = stream_residual64;
    op->ctx = (void *)st;
}

/* ---- in another iterate arithmetic ---------------------------------------- */

struct gka_token_op {
    gka_arith_t *As, *Ai;
    int D;
    void *H, *q, *sc; /* Ai: H_t, q_t, [lambda, hnorm, 1] */
    const gka_stream_t *st;
};

void gka_token_op_destroy(gka_token_op_t *t) {
    if (!t) return;
    const size_t n = (size_t)t->D;
    if (t->H) t->Ai->free(t->Ai, t->H, n * n);
    if (t->q) t->Ai->free(t->Ai, t->q, n);
    if (t->sc) t->Ai->free(t->Ai, t->sc, 3);
    free(t);
}

gka_status_t gka_token_op_create(gka_token_op_t **out, gka_arith_t *A_state, gka_arith_t *A_iter,
                                 int D) {
    if (!out || !A_state) return gka_error(GKA_EINVAL, "gka_token_op_create: NULL argument");
    if (D < 1 || D > GKA_D_MAX)
        return gka_error(GKA_EINVAL, "token operator: D = %d out of range [1, %d]", D, GKA_D_MAX);
    gka_token_op_t *t = calloc(1, sizeof *t);
    if (!t) return gka_error(GKA_ENOMEM, "token operator: out of memory");
    t->As = A_state;
    t->Ai = A_iter ? A_iter : A_state;
    t->D = D;
    if (t->Ai != t->As) {
        const size_t n = (size_t)D;
        t->H = t->Ai->alloc(t->Ai, n * n);
        t->q = t->Ai->alloc(t->Ai, n);
        t->sc = t->Ai->alloc(t->Ai, 3);
        if (!t->H || !t->q || !t->sc) {
            gka_token_op_destroy(t);
            return gka_error(GKA_ENOMEM, "token operator: out of memory (D = %d)", D);
        }
        t->Ai->set_d(t->Ai, GKA_ELEM(t->Ai, t->sc, 2), 1.0);
    }
    *out = t;
    return GKA_OK;
}

/* y = (H + lambda I) x in the iterate arithmetic: one gemv, then + lambda x,
 * as gka_stream_matvec does in the stream's. */
static void iter_apply(const gka_operator_t *op, const void *x, void *y) {
    const gka_token_op_t *t = op->ctx;
    gka_arith_t *ar = t->Ai;
    const size_t n = (size_t)t->D;
    ar->gemv(ar, n, n, GKA_ELEM(ar, t->sc, 2), t->H, x, NULL, y);
    ar->axpy(ar, n, op->lambda, x, y);
}

static gka_status_t iter_matrix(const gka_operator_t *op, gka_arith_t *B, void *H) {
    const gka_token_op_t *t = op->ctx;
    gka_elems_convert(t->Ai, t->H, B, H, (size_t)t->D * (size_t)t->D);
    return GKA_OK;
}

static double iter_residual64(const gka_operator_t *op, const void *x, double *x64) {
    const gka_token_op_t *t = op->ctx;
    op->A->to_double(op->A, x64, x, (size_t)t->D);
    return gka_stream_rel_residual64_d(t->st, x64);
}

gka_status_t gka_token_op_bind(gka_token_op_t *t, const gka_stream_t *st, gka_operator_t *op) {
    if (!t || !st || !op) return gka_error(GKA_EINVAL, "gka_token_op_bind: NULL argument");
    if (st->A != t->As || st->D != t->D)
        return gka_error(GKA_EINVAL, "token operator: stream has another arithmetic or dimension");
    if (t->Ai == t->As) {
        gka_stream_operator(st, op);
        return GKA_OK;
    }
    gka_arith_t *As = t->As, *Ai = t->Ai;
    const size_t n = (size_t)t->D;
    t->st = st;
    gka_elems_convert(As, st->H, Ai, t->H, n * n);
    gka_elems_convert(As, st->q, Ai, t->q, n);
    gka_elems_convert(As, st->lambda, Ai, GKA_ELEM(Ai, t->sc, 0), 1);
    gka_elems_convert(As, st->hnorm, Ai, GKA_ELEM(Ai, t->sc, 1), 1);
    op->A = Ai;
    op->D = t->D;
    op->q = t->q;
    op->lambda = GKA_ELEM(Ai, t->sc, 0);
    op->hnorm = GKA_ELEM(Ai, t->sc, 1);
    op->apply = iter_apply;
    op->matrix = iter_matrix;
    op->residual64 = iter_residual64;
    op->ctx = t;
    return GKA_OK;
}
