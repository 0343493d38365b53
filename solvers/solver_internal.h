/* Shared helpers of the solver files (not public API). */
#ifndef GKA_SOLVER_INTERNAL_H
#define GKA_SOLVER_INTERNAL_H

#include <math.h>
#include <string.h>

#include "gka_arith.h"
#include "gka_iteration.h"
#include "gka_operator.h"
#include "gka_solver.h"
#include "gka_stream.h"

/* A scalar element of ar holding round(v) (NULL on allocation failure). */
static inline void *gka_scalar_new(gka_arith_t *ar, double v) {
    void *s = ar->alloc(ar, 1);
    if (s) ar->set_d(ar, s, v);
    return s;
}

static inline void gka_scalar_free(gka_arith_t *ar, void *s) {
    if (s) ar->free(ar, s, 1);
}

/* n elements of ar into elements of B: a copy when B is ar (exact for every
 * table, MPFR included), else through double (exact from fp64 and narrower
 * tables). */
static inline void gka_elems_convert(gka_arith_t *ar, const void *src, gka_arith_t *B, void *dst,
                                     size_t n) {
    if (ar == B) {
        ar->copy(ar, dst, src, n);
        return;
    }
    double v;
    for (size_t i = 0; i < n; i++) {
        ar->to_double(ar, &v, GKA_CELEM(ar, src, i), 1);
        B->from_double(B, GKA_ELEM(B, dst, i), &v, 1);
    }
}

/* 1 if all n elements of x are finite. */
static inline int gka_elems_finite(gka_arith_t *ar, const void *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(ar->get_d(ar, GKA_CELEM(ar, x, i)))) return 0;
    return 1;
}

/* Record the fp64 residual of iterate x into the solver's history (if asked). */
void gka_solver_hist_push(gka_solver_t *s, const gka_stream_t *st, const void *x);
/* The same against an operator (its residual64; NaN if it has none). */
void gka_solver_hist_push_op(gka_solver_t *s, const gka_operator_t *op, const void *x);
/* Start a new history for this token. */
void gka_solver_hist_reset(gka_solver_t *s);
/* Fill info->history from the solver's buffer. */
void gka_solver_hist_out(gka_solver_t *s, gka_solve_info_t *info);

/* 1 unless the solver runs its "plain" (textbook, unguarded) variant. */
static inline int gka_solver_guarded(const gka_solver_t *s) {
    return s->opts.variant[0] == '\0' || !!strcmp(s->opts.variant, "plain");
}

/* gka_matvec_fn over a gka_operator_t (ctx). */
void gka_operator_matvec_cb(void *ctx, const void *x, void *y);

extern const gka_solver_ops_t gka_solver_chebyshev_ops, gka_solver_cg_ops, gka_solver_gd_ops,
    gka_solver_agd_ops, gka_solver_cholesky_ops, gka_solver_kalman_ops;

#endif
