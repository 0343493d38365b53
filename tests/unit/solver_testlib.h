/* Helpers shared by the solver tests (tests/unit/test_{state,solver,chebyshev,
 * chebyshev_chunk,cg,gd,cholesky,kalman,run}.c): seeded synthetic streams and
 * the fp64 reference of the stream's current problem. */
#ifndef GKA_SOLVER_TESTLIB_H
#define GKA_SOLVER_TESTLIB_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gka_arith.h"
#include "gka_precision.h"
#include "gka_reference.h"
#include "gka_solver.h"
#include "gka_stream.h"

/* A synthetic sequence: L2-normalised Gaussian q, k (keys optionally
 * correlated: k = z + corr * z_0, a shared direction), log-gates
 * g = -gate * u (gate = 0: none), beta = 0.5 + 0.5 u (with_beta). */
typedef struct {
    int D;
    long T;
    double *q, *k, *g, *beta;
} tl_seq_t;

static inline void tl_normalise(double *x, int D) {
    double s = 0.0;
    for (int i = 0; i < D; i++)
        s += x[i] * x[i];
    s = sqrt(s) + 1e-6;
    for (int i = 0; i < D; i++)
        x[i] /= s;
}

static inline tl_seq_t tl_seq(int D, long T, uint64_t seed, double gate, int with_beta,
                              double corr) {
    tl_seq_t s = {
        D,    T,   calloc((size_t)(T * D), sizeof(double)), calloc((size_t)(T * D), sizeof(double)),
        NULL, NULL};
    cr_assert(s.q && s.k);
    for (long t = 0; t < T; t++) {
        for (int i = 0; i < D; i++) {
            uint64_t c = (uint64_t)(t * D + i) * 2;
            s.q[t * D + i] = gka_philox_normal(seed, 2, c);
            s.k[t * D + i] =
                gka_philox_normal(seed, 1, c) + corr * gka_philox_normal(seed, 7, 2 * (uint64_t)i);
        }
        tl_normalise(s.q + t * D, D);
        tl_normalise(s.k + t * D, D);
    }
    if (gate > 0.0) {
        s.g = malloc((size_t)T * sizeof(double));
        for (long t = 0; t < T; t++)
            s.g[t] = -gate * gka_philox_uniform(seed, 8, 2 * (uint64_t)t);
    }
    if (with_beta) {
        s.beta = malloc((size_t)T * sizeof(double));
        for (long t = 0; t < T; t++)
            s.beta[t] = 0.5 + 0.5 * gka_philox_uniform(seed, 10, 2 * (uint64_t)t);
    }
    return s;
}

static inline void tl_seq_free(tl_seq_t *s) {
    free(s->q);
    free(s->k);
    free(s->g);
    free(s->beta);
}

static inline gka_status_t tl_push(gka_stream_t *st, const tl_seq_t *s, long t) {
    return gka_stream_push(st, s->q + t * s->D, s->k + t * s->D, s->g ? s->g[t] : 0.0,
                           s->beta ? s->beta[t] : 1.0, NULL);
}

/* x* of the stream's current fp64 problem. */
static inline void tl_reference(const gka_stream_t *st, double *xref) {
    cr_assert_eq(gka_ref_solve_fp64(st->D, st->H64, st->lambda64, st->q64, xref), GKA_OK, "%s",
                 gka_error_message());
}

/* ||x - y|| / ||y||, NaN-propagating (a NaN never passes a <= test). */
static inline double tl_relerr(const double *x, const double *y, int D) {
    double n = 0.0, d = 0.0;
    for (int i = 0; i < D; i++) {
        n += (x[i] - y[i]) * (x[i] - y[i]);
        d += y[i] * y[i];
    }
    double e = sqrt(n / d);
    for (int i = 0; i < D; i++)
        if (!isfinite(x[i])) e = NAN;
    return e;
}

/* Solve the stream's current token with s; x64 receives the answer. */
static inline gka_solve_info_t tl_solve(gka_solver_t *s, const gka_stream_t *st, void *x,
                                        double *x64) {
    gka_solve_info_t info;
    cr_assert_eq(gka_solver_solve(s, st, x, &info), GKA_OK, "%s", gka_error_message());
    st->A->to_double(st->A, x64, x, (size_t)st->D);
    return info;
}

#endif
