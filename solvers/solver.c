/* The solver object: registry by name, options, reason codes, warm-start
 * storage and the fp64 residual history. */
#include "solver_internal.h"

#include <stdlib.h>
#include <string.h>

static const gka_solver_ops_t *const solver_table[] = {
    &gka_solver_chebyshev_ops, &gka_solver_cg_ops,       &gka_solver_gd_ops,
    &gka_solver_agd_ops,       &gka_solver_cholesky_ops, &gka_solver_kalman_ops,
};

const gka_solver_ops_t *const *gka_solver_list(size_t *count) {
    if (count) *count = sizeof solver_table / sizeof solver_table[0];
    return solver_table;
}

const char *gka_reason_name(gka_reason_t reason) {
    static const char *names[GKA_REASON_COUNT] = {
        "none", "converged", "iteration_limit", "diverged", "breakdown", "lost_pd", "nan"};
    return (unsigned)reason < GKA_REASON_COUNT ? names[reason] : "invalid";
}

gka_reason_t gka_reason_resolve(gka_reason_t solver_reason, unsigned events, int nonfinite) {
    if (solver_reason == GKA_REASON_LOST_PD || solver_reason == GKA_REASON_BREAKDOWN)
        return solver_reason; /* the more specific diagnosis */
    if (nonfinite) return GKA_REASON_NAN;
    if (solver_reason == GKA_REASON_CONVERGED && (events & (GKA_FLAG_INVALID | GKA_FLAG_OVERFLOW)))
        return GKA_REASON_NAN; /* a NaN or an overflow met on the way: not a converged solve */
    return solver_reason;
}

gka_solver_opts_t gka_solver_opts_default(void) {
    gka_solver_opts_t o;
    memset(&o, 0, sizeof o);
    o.iters = 30;
    return o;
}

gka_status_t gka_solver_find(const char *name, const gka_solver_ops_t **out) {
    size_t n;
    const gka_solver_ops_t *const *list = gka_solver_list(&n);
    for (size_t i = 0; name && i < n; i++)
        if (!strcmp(list[i]->name, name)) {
            *out = list[i];
            return GKA_OK;
        }
    return gka_error(GKA_EINVAL, "unknown solver '%s' (chebyshev, cg, gd, agd, cholesky, kalman)",
                     name ? name : "(null)");
}

/* 1 if `variant` is one of the comma-separated `list`. */
static int variant_known(const char *list, const char *variant) {
    size_t n = strlen(variant);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, variant, n)) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

void gka_solver_destroy(gka_solver_t *s) {
    if (!s) return;
    if (s->ops && s->ops->destroy) s->ops->destroy(s);
    if (s->x_prev) s->A->free(s->A, s->x_prev, (size_t)s->D);
    free(s->hist);
    free(s->work64);
    free(s);
}

gka_status_t gka_solver_create(gka_solver_t **out, const char *name, const gka_solver_opts_t *opts,
                               gka_arith_t *ar, int D) {
    if (!out || !ar) return gka_error(GKA_EINVAL, "gka_solver_create: NULL argument");
    *out = NULL;
    const gka_solver_ops_t *ops;
    gka_status_t st = gka_solver_find(name, &ops);
    if (st) return st;
    if (D < 1 || D > GKA_D_MAX)
        return gka_error(GKA_EINVAL, "solver %s: D = %d out of range [1, %d]", name, D, GKA_D_MAX);
    gka_solver_opts_t o = opts ? *opts : gka_solver_opts_default();
    if (o.iters < 0 || o.iters > 1000000)
        return gka_error(GKA_EINVAL, "solver %s: iterations %d out of range [0, 1000000]", name,
                         o.iters);
    if (!isfinite(o.tol) || o.tol < 0.0)
        return gka_error(GKA_EINVAL, "solver %s: tolerance %g must be finite and >= 0", name,
                         o.tol);
    o.variant[GKA_VARIANT_MAX - 1] = '\0';
    if (!o.variant[0]) {
        const char *e = strchr(ops->variants, ',');
        size_t len = e ? (size_t)(e - ops->variants) : strlen(ops->variants);
        memcpy(o.variant, ops->variants, len);
        o.variant[len] = '\0';
    } else if (!variant_known(ops->variants, o.variant)) {
        return gka_error(GKA_EINVAL, "solver %s: unknown variant '%s' (%s)", name, o.variant,
                         *ops->variants ? ops->variants : "no variants");
    }
    gka_solver_t *s = calloc(1, sizeof *s);
    if (!s) return gka_error(GKA_ENOMEM, "solver %s: out of memory", name);
    s->ops = ops;
    s->opts = o;
    s->A = ar;
    s->D = D;
    s->x_prev = ar->alloc(ar, (size_t)D);
    s->work64 = calloc(2 * (size_t)D, sizeof(double));
    if (o.history) s->hist = calloc((size_t)o.iters + 2, sizeof(double));
    if (!s->x_prev || !s->work64 || (o.history && !s->hist)) {
        gka_solver_destroy(s);
        return gka_error(GKA_ENOMEM, "solver %s: out of memory for D = %d", name, D);
    }
    st = ops->create ? ops->create(s) : GKA_OK;
    if (st) {
        gka_solver_destroy(s);
        return st;
    }
    *out = s;
    return GKA_OK;
}

/* After a solve: NaN reason for a nonfinite x, warm-start copy, history. */
static void solve_done(gka_solver_t *s, void *x, gka_solve_info_t *info) {
    if (!gka_elems_finite(s->A, x, (size_t)s->D)) info->reason = GKA_REASON_NAN;
    s->A->copy(s->A, s->x_prev, x, (size_t)s->D);
    s->tokens++;
    gka_solver_hist_out(s, info);
}

/* One solve from a clean info and history: by the operator where op is
 * given, else by the stream; then solve_done. */
static gka_status_t run_solve(gka_solver_t *s, const gka_stream_t *st, const gka_operator_t *op,
                              void *x, gka_solve_info_t *info) {
    memset(info, 0, sizeof *info);
    gka_solver_hist_reset(s);
    const gka_status_t status =
        op ? s->ops->solve_op(s, op, x, info) : s->ops->solve(s, st, x, info);
    if (status) return status;
    solve_done(s, x, info);
    return GKA_OK;
}

gka_status_t gka_solver_solve_op(gka_solver_t *s, const gka_operator_t *op, void *x,
                                 gka_solve_info_t *info) {
    if (!s || !op || !x || !info)
        return gka_error(GKA_EINVAL, "gka_solver_solve_op: NULL argument");
    if (!s->ops->solve_op)
        return gka_error(GKA_EUNSUP, "solver %s needs the stream (token form only)", s->ops->name);
    if (op->D != s->D || (s->ops->iterative && op->A != s->A))
        return gka_error(GKA_EINVAL, "solver %s: operator has another arithmetic or dimension",
                         s->ops->name);
    return run_solve(s, NULL, op, x, info);
}

gka_status_t gka_solver_solve(gka_solver_t *s, const gka_stream_t *st, void *x,
                              gka_solve_info_t *info) {
    if (!s || !st || !x || !info) return gka_error(GKA_EINVAL, "gka_solver_solve: NULL argument");
    if (st->A != s->A || st->D != s->D)
        return gka_error(GKA_EINVAL, "solver %s: stream has another arithmetic or dimension",
                         s->ops->name);
    if (s->ops->solve_op) {
        gka_operator_t op;
        gka_stream_operator(st, &op);
        return gka_solver_solve_op(s, &op, x, info);
    }
    return run_solve(s, st, NULL, x, info);
}

gka_status_t gka_solver_matrix(gka_solver_t *s, double *out) {
    if (!s || !out) return gka_error(GKA_EINVAL, "gka_solver_matrix: NULL argument");
    if (!s->ops->matrix) return gka_error(GKA_EUNSUP, "solver %s keeps no matrix", s->ops->name);
    return s->ops->matrix(s, out);
}

void gka_solver_hist_reset(gka_solver_t *s) {
    s->nhist = 0;
}

void gka_solver_hist_push(gka_solver_t *s, const gka_stream_t *st, const void *x) {
    if (!s->hist || s->nhist >= s->opts.iters + 2) return;
    s->hist[s->nhist++] = gka_stream_rel_residual64(st, x, s->work64);
}

void gka_solver_hist_push_op(gka_solver_t *s, const gka_operator_t *op, const void *x) {
    if (!s->hist || s->nhist >= s->opts.iters + 2) return;
    s->hist[s->nhist++] = op->residual64 ? op->residual64(op, x, s->work64) : (double)NAN;
}

void gka_solver_hist_out(gka_solver_t *s, gka_solve_info_t *info) {
    info->history = s->hist ? s->hist : NULL;
    info->nhistory = s->hist ? s->nhist : 0;
}
