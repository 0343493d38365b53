/* The run driver: a sequence -> stream -> solver -> per-token metrics against
 * a reference x* (gka_reference.h: LAPACK, MPFR, Arb or gka's own fp64
 * Cholesky, cfg->reference) of the same rounded problem. */
#define _POSIX_C_SOURCE 200809L
#include "gka_chunker.h"
#include "gka_config.h"
#include "gka_io.h"
#include "gka_reference.h"
#include "solver_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

gka_run_config_t gka_run_config_default(void) {
    gka_run_config_t c;
    memset(&c, 0, sizeof c);
    c.ridge.kind = GKA_RIDGE_ADAPTIVE;
    c.ridge.value = 0.02;
    c.solver = "chebyshev";
    c.opts = gka_solver_opts_default();
    return c;
}

/* ---- the reference ------------------------------------------------------- */

unsigned gka_run_ref_available(void) {
    unsigned have = 1u << GKA_RUN_REF_CHOLESKY64;
    if (GKA_HAVE_LAPACK) have |= 1u << GKA_RUN_REF_LAPACK;
    if (GKA_HAVE_MPFR) have |= 1u << GKA_RUN_REF_MPFR;
    if (GKA_HAVE_ARB) have |= 1u << GKA_RUN_REF_ARB;
    return have;
}

static const char *ref_kind_name(gka_run_ref_kind_t k) {
    switch (k) {
    case GKA_RUN_REF_LAPACK:
        return "lapack";
    case GKA_RUN_REF_MPFR:
        return "mpfr";
    case GKA_RUN_REF_ARB:
        return "arb";
    case GKA_RUN_REF_CHOLESKY64:
        return "cholesky64";
    default:
        return "default";
    }
}

static int ref_has_prec(gka_run_ref_kind_t k) {
    return k == GKA_RUN_REF_MPFR || k == GKA_RUN_REF_ARB;
}

void gka_run_ref_name(const gka_run_ref_t *r, char *buf, size_t n) {
    if (ref_has_prec(r->kind))
        snprintf(buf, n, "%s:%ld", ref_kind_name(r->kind), r->prec);
    else
        snprintf(buf, n, "%s", ref_kind_name(r->kind));
}

gka_status_t gka_run_ref_parse(const char *text, gka_run_ref_t *out) {
    if (!text || !out) return gka_error(GKA_EINVAL, "reference: NULL argument");
    static const gka_run_ref_kind_t kinds[] = {GKA_RUN_REF_LAPACK, GKA_RUN_REF_MPFR,
                                               GKA_RUN_REF_ARB, GKA_RUN_REF_CHOLESKY64};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        const char *name = ref_kind_name(kinds[i]);
        const size_t len = strlen(name);
        if (strncmp(text, name, len) != 0 || (text[len] != '\0' && text[len] != ':')) continue;
        gka_run_ref_t r = {kinds[i], ref_has_prec(kinds[i]) ? GKA_REF_DEFAULT_PREC : 0};
        if (text[len] == ':') {
            char *end;
            errno = 0;
            const long p = strtol(text + len + 1, &end, 10);
            if (!ref_has_prec(kinds[i]) || end == text + len + 1 || *end || errno ||
                p < GKA_REF_MIN_PREC || p > GKA_REF_MAX_PREC)
                return gka_error(GKA_EINVAL,
                                 "reference '%s': the precision of mpfr:P or arb:P is P bits in "
                                 "[%ld, %ld]; lapack and cholesky64 take none",
                                 text, GKA_REF_MIN_PREC, GKA_REF_MAX_PREC);
            r.prec = p;
        }
        *out = r;
        return GKA_OK;
    }
    return gka_error(GKA_EINVAL, "reference '%s' unknown (lapack, mpfr:P, arb:P or cholesky64)",
                     text);
}

gka_status_t gka_run_ref_resolve(const gka_run_ref_t *asked, unsigned have, gka_run_ref_t *out) {
    gka_run_ref_t r = *asked;
    if (r.kind == GKA_RUN_REF_DEFAULT)
        r.kind = have & (1u << GKA_RUN_REF_LAPACK) ? GKA_RUN_REF_LAPACK : GKA_RUN_REF_CHOLESKY64;
    if ((unsigned)r.kind > GKA_RUN_REF_CHOLESKY64)
        return gka_error(GKA_EINVAL, "run: reference kind %d unknown", (int)r.kind);
    if (!(have & (1u << r.kind)))
        return gka_error(GKA_EINVAL,
                         "run: reference %s is not in this build (built without %s); "
                         "cholesky64 is in every build",
                         ref_kind_name(r.kind),
                         r.kind == GKA_RUN_REF_LAPACK ? "LAPACK"
                         : r.kind == GKA_RUN_REF_MPFR ? "MPFR"
                                                      : "Arb");
    if (!ref_has_prec(r.kind))
        r.prec = 0;
    else if (r.prec == 0)
        r.prec = GKA_REF_DEFAULT_PREC;
    else if (r.prec < GKA_REF_MIN_PREC || r.prec > GKA_REF_MAX_PREC)
        return gka_error(GKA_EINVAL, "run: reference precision %ld out of range [%ld, %ld]", r.prec,
                         GKA_REF_MIN_PREC, GKA_REF_MAX_PREC);
    *out = r;
    return GKA_OK;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static gka_status_t check_config(const gka_run_config_t *c) {
    if (!c->q || !c->k) return gka_error(GKA_EINVAL, "run: q and k are required");
    if (c->D < 1 || c->D > GKA_D_MAX)
        return gka_error(GKA_EINVAL, "run: D = %d out of range [1, %d]", c->D, GKA_D_MAX);
    if (c->T < 1 || c->T > 10000000L)
        return gka_error(GKA_EINVAL, "run: T = %ld out of range [1, 10000000]", c->T);
    if (c->every < 0) return gka_error(GKA_EINVAL, "run: every = %ld must be >= 0", c->every);
    const gka_solver_ops_t *ops;
    gka_status_t st = gka_solver_find(c->solver, &ops);
    if (st) return st;
    if (c->chunk < 0 || c->chunk > 4096)
        return gka_error(GKA_EINVAL, "run: chunk size %d out of range [0, 4096]", c->chunk);
    if (c->chunk > 0 && !ops->solve_op)
        return gka_error(GKA_EINVAL,
                         "run: %s is token-form by nature (a recursion over the tokens): --chunk "
                         "does not apply",
                         ops->name);
    if (c->chunk > 0 && (c->opts.warm || c->opts.history || c->opts.tol > 0.0))
        return gka_error(GKA_EINVAL, "run: the chunk form runs r cold iterations "
                                     "(no warm start, tolerance or history)");
    if (c->chunk == 0 && c->carry)
        return gka_error(GKA_EINVAL, "run: --carry applies to the chunk form (--chunk C) only");
    if (c->chunk == 0 && c->iter_format && !ops->iterative)
        return gka_error(GKA_EINVAL,
                         "run: in token form --iter-format applies to iterative solvers, not %s "
                         "(it solves in the studied arithmetic)",
                         ops->name);
    return GKA_OK;
}

/* Per-run state shared by the token and chunk loops. */
typedef struct {
    const gka_run_config_t *cfg;
    gka_run_summary_t *sum;
    double *x, *x_ref, *P, *errs, *ress;
    long nerr, nres;
    int any_nonfinite;
    gka_run_ref_t ref; /* resolved */
    double *rad;       /* Arb: the balls' radii (D) */
} run_t;

static inline int measure_now(const gka_run_config_t *c, long t) {
    return c->every > 0 && (t % c->every == 0 || t == c->T - 1);
}

static inline double norm2(const double *v, int D) {
    double s = 0.0;
    for (int i = 0; i < D; i++)
        s += v[i] * v[i];
    return sqrt(s);
}

/* x* of the fp64 mirror problem by the run's reference into R->x_ref;
 * *rad_rel: the Arb ball's relative radius (0 for the others). */
static gka_status_t solve_reference(run_t *R, const gka_stream_t *ref, double *rad_rel) {
    const int D = ref->D;
    *rad_rel = 0.0;
    switch (R->ref.kind) {
#if GKA_HAVE_LAPACK
    case GKA_RUN_REF_LAPACK:
        return gka_ref_solve_fp64(D, ref->H64, ref->lambda64, ref->q64, R->x_ref);
#endif
#if GKA_HAVE_MPFR
    case GKA_RUN_REF_MPFR:
        return gka_ref_solve_mpfr(D, ref->H64, ref->lambda64, 0, ref->q64, R->ref.prec, R->x_ref);
#endif
#if GKA_HAVE_ARB
    case GKA_RUN_REF_ARB: {
        gka_status_t st = gka_ref_solve_arb(D, ref->H64, ref->lambda64, 0, ref->q64, R->ref.prec,
                                            R->x_ref, R->rad);
        const double m = norm2(R->x_ref, D);
        if (!st) *rad_rel = m > 0.0 ? norm2(R->rad, D) / m : norm2(R->rad, D);
        return st;
    }
#endif
    case GKA_RUN_REF_CHOLESKY64:
        return gka_ref_solve_cholesky64(D, ref->H64, ref->lambda64, ref->q64, R->x_ref);
    default:
        return gka_error(GKA_EINVAL, "run: reference not in this build");
    }
}

/* An Arb ball is tight enough when its relative radius is far below the
 * error it measures, or no wider than a few roundings of the midpoint to
 * double (2^-50: the radius includes that rounding, which no reference
 * returned as doubles can beat). */
static int ball_tight(double rad_rel, double err) {
    return rad_rel <= fmax(1e-3 * err, 0x1p-50);
}

/* Reference solve, error, residual, kappa: everything measured against the
 * fp64 mirror of the stream. */
static void reference_metrics(run_t *R, const gka_stream_t *ref, gka_token_metrics_t *m) {
    const int D = ref->D;
    /* lambda = 0 (H = 0 under an adaptive ridge): no bound; a plain NaN,
     * not the negative NaN that 0/0 gives on x86 ("-nan" in a CSV) */
    m->kappa_bound =
        ref->lambda64 > 0 ? (ref->hnorm64 + ref->lambda64) / ref->lambda64 : (double)NAN;
    m->err = m->res = m->kappa = NAN;
    if (!R->cfg->no_reference) {
        double rad_rel;
        if (solve_reference(R, ref, &rad_rel) == GKA_OK) {
            m->x_ref = R->x_ref;
            if (gka_ref_rel_error(D, R->x, R->x_ref, &m->err) != GKA_OK) m->err = NAN;
            if (!ball_tight(rad_rel, m->err)) { /* NaN err: nothing to be tight against */
                m->err = NAN;
                m->x_ref = NULL;
                R->sum->ref_failures++;
                R->sum->ref_loose++;
            }
        } else {
            R->sum->ref_failures++;
        }
        if (gka_ref_rel_residual_fp64(D, ref->H64, ref->lambda64, ref->q64, R->x, &m->res) !=
            GKA_OK)
            m->res = NAN;
    }
#if GKA_HAVE_LAPACK
    if (measure_now(R->cfg, m->t) &&
        gka_ref_kappa_fp64(D, ref->H64, ref->lambda64, &m->kappa) != GKA_OK)
        m->kappa = NAN;
#endif
    gka_error_clear();
}

/* Kalman's P: asymmetry every token, smallest eigenvalue when measured. */
static void matrix_metrics(run_t *R, gka_solver_t *s, gka_token_metrics_t *m) {
    m->p_asym = m->p_min_eig = NAN;
    if (!s || !s->ops->matrix || gka_solver_matrix(s, R->P) != GKA_OK) {
        gka_error_clear();
        return;
    }
    const size_t n = (size_t)s->D;
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            const double d = R->P[i * n + j] - R->P[j * n + i];
            num += d * d;
            den += R->P[i * n + j] * R->P[i * n + j];
        }
    m->p_asym = den > 0.0 ? sqrt(num / den) : (double)NAN;
#if GKA_HAVE_LAPACK
    if (measure_now(R->cfg, m->t) &&
        gka_ref_eig_extremes_fp64(s->D, R->P, &m->p_min_eig, NULL) != GKA_OK)
        m->p_min_eig = NAN;
    gka_error_clear();
#endif
}

static int all_finite(const double *x, int D) {
    for (int i = 0; i < D; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

static double fmax_nan(double a, double b) {
    return isnan(a) ? b : isnan(b) ? a : fmax(a, b);
}
static double fmin_nan(double a, double b) {
    return isnan(a) ? b : isnan(b) ? a : fmin(a, b);
}

/* Fold one token's metrics into the summary; call the callback. */
static int account(run_t *R, gka_token_metrics_t *m) {
    gka_run_summary_t *S = R->sum;
    m->nonfinite = !all_finite(R->x, R->cfg->D);
    if (m->nonfinite) R->any_nonfinite = 1;
    m->reason = gka_reason_resolve(m->reason, m->events, m->nonfinite);
    if (isfinite(m->err)) R->errs[R->nerr++] = m->err;
    if (isfinite(m->res)) R->ress[R->nres++] = m->res;
    S->kappa_min = fmin_nan(S->kappa_min, m->kappa);
    S->kappa_max = fmax_nan(S->kappa_max, m->kappa);
    S->kappa_bound_max = fmax_nan(S->kappa_bound_max, m->kappa_bound);
    S->p_asym_max = fmax_nan(S->p_asym_max, m->p_asym);
    S->p_min_eig_min = fmin_nan(S->p_min_eig_min, m->p_min_eig);
    if (m->nonfinite || (m->events & GKA_FLAG_INVALID)) S->ev_nan++;
    if (m->events & GKA_FLAG_OVERFLOW) S->ev_overflow++;
    if (m->events & (GKA_FLAG_UNDERFLOW | GKA_FLAG_FLUSHED)) S->ev_underflow++;
    if (m->reason == GKA_REASON_LOST_PD) S->ev_lost_pd++;
    if ((unsigned)m->reason < GKA_REASON_COUNT) S->reasons[m->reason]++;
    S->T++;
    m->x = R->x;
    if (R->cfg->on_token && R->cfg->on_token(R->cfg->ctx, m)) return 1;
    return gka_interrupted();
}

/* Token t of the run's sequence into the stream. */
static gka_status_t push_token(gka_stream_t *st, const gka_run_config_t *c, long t) {
    const size_t o = (size_t)t * (size_t)c->D;
    return gka_stream_push(st, c->q + o, c->k + o, c->g ? c->g[t] : 0.0, c->beta ? c->beta[t] : 1.0,
                           NULL);
}

/* The solver of a run: iterative ones in the iterate arithmetic Ai, direct
 * and recursive ones in the studied arithmetic A. */
static gka_status_t create_solver(const gka_run_config_t *c, gka_arith_t *A, gka_arith_t *Ai,
                                  gka_solver_t **s) {
    const gka_solver_ops_t *ops;
    gka_status_t st = gka_solver_find(c->solver, &ops);
    if (st) return st;
    return gka_solver_create(s, c->solver, &c->opts, ops->iterative ? Ai : A, c->D);
}

/* Token form: the stream holds H_t in the studied arithmetic A; the solver
 * runs against the token operator in Ai (A itself unless --iter-format). */
static gka_status_t run_tokens(run_t *R, gka_arith_t *A, gka_arith_t *Ai) {
    const gka_run_config_t *c = R->cfg;
    gka_stream_t *st = NULL;
    gka_solver_t *s = NULL;
    gka_token_op_t *top = NULL;
    void *x = NULL;
    gka_status_t status = gka_stream_create(&st, A, c->D, &c->ridge, 0);
    if (!status) status = create_solver(c, A, Ai, &s);
    if (!status) status = gka_token_op_create(&top, A, Ai, c->D);
    if (!status && !(x = s->A->alloc(s->A, (size_t)c->D)))
        status = gka_error(GKA_ENOMEM, "run: out of memory");
    const size_t d = (size_t)c->D;
    for (long t = 0; !status && t < c->T; t++) {
        gka_token_metrics_t m;
        memset(&m, 0, sizeof m);
        m.t = t;
        gka_solve_info_t info;
        A->events = Ai->events = 0;
        const double t0 = now_seconds();
        status = push_token(st, c, t);
        if (!status && s->ops->solve_op) {
            gka_operator_t op;
            status = gka_token_op_bind(top, st, &op);
            if (!status) status = gka_solver_solve_op(s, &op, x, &info);
        } else if (!status) {
            status = gka_solver_solve(s, st, x, &info);
        }
        R->sum->solve_seconds += now_seconds() - t0;
        if (status) break;
        m.events = A->events | Ai->events;
        s->A->to_double(s->A, R->x, x, d);
        m.reason = info.reason;
        m.iters = info.iters;
        m.history = info.history;
        m.nhistory = info.nhistory;
        m.hnorm = A->get_d(A, st->hnorm);
        m.lambda = A->get_d(A, st->lambda);
        m.hnorm64 = st->hnorm64;
        m.lambda64 = st->lambda64;
        reference_metrics(R, st, &m);
        matrix_metrics(R, s, &m);
        if (account(R, &m)) status = gka_error(GKA_EINTR, "run: interrupted at token %ld", t);
    }
    if (x) s->A->free(s->A, x, d);
    gka_token_op_destroy(top);
    gka_solver_destroy(s);
    gka_stream_destroy(st);
    return status;
}

/* Chunk form: the chunker solves a chunk; an fp64 stream fed with the same
 * rounded inputs is the reference problem, token by token. */
typedef struct {
    double *xs, *hn, *lam, *q, *k, *g, *b;
    gka_reason_t *why;
    unsigned *ev;
    int *it;
} chunk_bufs_t;

static void chunk_bufs_free(chunk_bufs_t *b) {
    free(b->xs);
    free(b->hn);
    free(b->lam);
    free(b->q);
    free(b->k);
    free(b->g);
    free(b->b);
    free(b->why);
    free(b->ev);
    free(b->it);
}

static gka_status_t run_chunks(run_t *R, gka_arith_t *As, gka_arith_t *Ai, gka_arith_t *Ac) {
    const gka_run_config_t *c = R->cfg;
    const size_t d = (size_t)c->D, C = (size_t)c->chunk;
    gka_arith_t A64;
    gka_arith_init_fp64(&A64);
    gka_chebyshev_chunker_t *ck = NULL;
    gka_solver_t *s = NULL;
    gka_stream_t *ref = NULL;
    chunk_bufs_t b = {malloc(C * d * sizeof(double)), malloc(C * sizeof(double)),
                      malloc(C * sizeof(double)),     malloc(C * d * sizeof(double)),
                      malloc(C * d * sizeof(double)), malloc(C * sizeof(double)),
                      malloc(C * sizeof(double)),     malloc(C * sizeof(gka_reason_t)),
                      malloc(C * sizeof(unsigned)),   malloc(C * sizeof(int))};
    gka_status_t status = GKA_OK;
    if (!b.xs || !b.hn || !b.lam || !b.q || !b.k || !b.g || !b.b || !b.why || !b.ev || !b.it)
        status = gka_error(GKA_ENOMEM, "run: out of memory");
    if (!status) status = gka_chunker_create(&ck, As, Ai, c->D, c->chunk, &c->ridge, c->opts.iters);
    if (!status) status = gka_chunker_set_carry(ck, Ac);
    if (!status) status = create_solver(c, As, Ai, &s);
    if (!status) status = gka_chunker_set_solver(ck, s);
    if (!status) status = gka_stream_create(&ref, &A64, c->D, &c->ridge, 0);
    for (long t0 = 0; !status && t0 < c->T; t0 += (long)C) {
        const int n = (int)(c->T - t0 < (long)C ? c->T - t0 : (long)C);
        const size_t o = (size_t)t0;
        As->events = Ai->events = Ac->events = 0;
        const double ts = now_seconds();
        status = gka_chunker_run(ck, n, c->q + o * d, c->k + o * d, c->g ? c->g + o : NULL,
                                 c->beta ? c->beta + o : NULL, b.xs, b.hn, b.lam, b.why, b.q, b.k,
                                 b.g, b.b);
        R->sum->solve_seconds += now_seconds() - ts;
        if (!status) gka_chunker_token_events(ck, b.ev, n);
        if (!status) gka_chunker_token_iters(ck, b.it, n);
        for (int j = 0; !status && j < n; j++) {
            status = gka_stream_push(ref, b.q + (size_t)j * d, b.k + (size_t)j * d, b.g[j], b.b[j],
                                     NULL);
            if (status) break;
            gka_token_metrics_t m;
            memset(&m, 0, sizeof m);
            m.t = t0 + j;
            memcpy(R->x, b.xs + (size_t)j * d, d * sizeof(double));
            m.events = b.ev[j];
            m.reason = b.why[j];
            m.iters = b.it[j];
            m.hnorm = b.hn[j];
            m.lambda = b.lam[j];
            m.hnorm64 = ref->hnorm64;
            m.lambda64 = ref->lambda64;
            m.p_asym = m.p_min_eig = NAN;
            reference_metrics(R, ref, &m);
            if (account(R, &m)) status = gka_error(GKA_EINTR, "run: interrupted at token %ld", m.t);
        }
    }
    gka_stream_destroy(ref);
    gka_chunker_destroy(ck);
    gka_solver_destroy(s);
    chunk_bufs_free(&b);
    return status;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, long n) {
    if (n == 0) return (double)NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void summarise(run_t *R) {
    gka_run_summary_t *S = R->sum;
    S->err_median = median(R->errs, R->nerr);
    S->err_max = R->nerr ? R->errs[R->nerr - 1] : (double)NAN;
    S->res_median = median(R->ress, R->nres);
    S->res_max = R->nres ? R->ress[R->nres - 1] : (double)NAN;
    if (R->any_nonfinite) S->err_max = S->res_max = NAN; /* a NaN answer never passes */
}

/* The tables of a run: the studied arithmetic A, the iterates' Ai and the
 * chunk carry's Ac (each the same table as A where not asked for). */
typedef struct {
    gka_arith_t A, Ai, Ac;
    int have_ai, have_ac;
} run_tables_t;

/* The default carry and chunk-form iterate format: fp32 for emulated formats
 * (as the reference kernels), the state's own arithmetic for fp32, fp64 and
 * MPFR. */
static const char *wide_default(const char *fmt, const gka_arith_t *A) {
    return (!strcmp(fmt, "fp64") || !strcmp(fmt, "fp32") || A->mpfr_prec > 0) ? NULL : "fp32";
}

static gka_status_t init_tables(const gka_run_config_t *c, run_tables_t *t) {
    const char *fmt = c->format ? c->format : "fp64";
    memset(t, 0, sizeof *t);
    gka_status_t st = gka_arith_init_by_name(&t->A, fmt, c->accum, c->mode, c->seed);
    if (st) return st;
    const char *ifmt = c->iter_format, *cfmt = c->carry;
    if (c->chunk > 0 && !ifmt) ifmt = wide_default(fmt, &t->A);
    if (c->chunk > 0 && !cfmt) cfmt = wide_default(fmt, &t->A);
    if (ifmt && !st) {
        st = gka_arith_init_by_name(&t->Ai, ifmt, "round", c->mode, c->seed + 1);
        t->have_ai = st == GKA_OK;
    }
    if (cfmt && strcmp(cfmt, fmt) != 0 && !st) {
        st = gka_arith_init_by_name(&t->Ac, cfmt, "round", c->mode, c->seed + 2);
        t->have_ac = st == GKA_OK;
    }
    return st;
}

static void release_tables(run_tables_t *t) {
    if (t->have_ac) gka_arith_destroy(&t->Ac);
    if (t->have_ai) gka_arith_destroy(&t->Ai);
    gka_arith_destroy(&t->A);
}

/* The folded keys k'_t = (beta_t + 1e-6) k_t of GKA_BETA_FOLD (doubles; the
 * stream or chunker rounds them to the format once). NULL on failure. */
static double *fold_keys(const gka_run_config_t *c) {
    const size_t d = (size_t)c->D, T = (size_t)c->T;
    double *k = malloc(T * d * sizeof *k);
    for (size_t t = 0; k && t < T; t++)
        for (size_t i = 0; i < d; i++)
            k[t * d + i] = (c->beta[t] + 1e-6) * c->k[t * d + i];
    return k;
}

static gka_status_t run_folded(const gka_run_config_t *cfg, gka_run_summary_t *summary);

gka_status_t gka_run(const gka_run_config_t *cfg, gka_run_summary_t *summary) {
    if (!cfg || !summary) return gka_error(GKA_EINVAL, "gka_run: NULL argument");
    if (cfg->beta_mode != GKA_BETA_WEIGHT && cfg->beta_mode != GKA_BETA_FOLD)
        return gka_error(GKA_EINVAL, "run: beta mode %d unknown (weight or fold)",
                         (int)cfg->beta_mode);
    if (cfg->beta_mode == GKA_BETA_FOLD && cfg->beta && cfg->k) return run_folded(cfg, summary);
    memset(summary, 0, sizeof *summary);
    summary->kappa_min = summary->kappa_max = summary->kappa_bound_max = NAN;
    summary->p_asym_max = summary->p_min_eig_min = NAN;
    gka_status_t status = check_config(cfg);
    if (status) return status;
    gka_run_ref_t ref = {GKA_RUN_REF_DEFAULT, 0};
    status = gka_run_ref_resolve(&cfg->reference, gka_run_ref_available(), &ref);
    if (status) return status;
    gka_run_ref_name(&ref, summary->reference_name, sizeof summary->reference_name);
    run_tables_t tb;
    status = init_tables(cfg, &tb);
    if (status) {
        release_tables(&tb);
        return status;
    }
    gka_arith_t *A = &tb.A, *Ai = tb.have_ai ? &tb.Ai : A, *Ac = tb.have_ac ? &tb.Ac : A;
    snprintf(summary->arith_name, sizeof summary->arith_name, "%s", A->name);
    if (Ai != A) snprintf(summary->iter_name, sizeof summary->iter_name, "%s", Ai->name);
    if (Ac != A) snprintf(summary->carry_name, sizeof summary->carry_name, "%s", Ac->name);
    const size_t d = (size_t)cfg->D, T = (size_t)cfg->T;
    run_t R = {cfg,
               summary,
               malloc(d * sizeof(double)),
               malloc(d * sizeof(double)),
               malloc(d * d * sizeof(double)),
               malloc(T * sizeof(double)),
               malloc(T * sizeof(double)),
               0,
               0,
               0,
               ref,
               malloc(d * sizeof(double))};
    if (!R.x || !R.x_ref || !R.P || !R.errs || !R.ress || !R.rad)
        status = gka_error(GKA_ENOMEM, "run: out of memory for T = %ld, D = %d", cfg->T, cfg->D);
    else if (cfg->chunk > 0)
        status = run_chunks(&R, A, Ai, Ac);
    else
        status = run_tokens(&R, A, Ai);
    summarise(&R);
    free(R.x);
    free(R.x_ref);
    free(R.P);
    free(R.errs);
    free(R.ress);
    free(R.rad);
    release_tables(&tb);
    return status;
}

/* GKA_BETA_FOLD: the same run on the folded keys with beta = 1. */
static gka_status_t run_folded(const gka_run_config_t *cfg, gka_run_summary_t *summary) {
    if (cfg->D < 1 || cfg->D > GKA_D_MAX || cfg->T < 1 || cfg->T > 10000000L)
        return check_config(cfg);
    double *k = fold_keys(cfg);
    if (!k) return gka_error(GKA_ENOMEM, "run: out of memory for the folded keys");
    gka_run_config_t c = *cfg;
    c.k = k, c.beta = NULL, c.beta_mode = GKA_BETA_WEIGHT;
    gka_status_t st = gka_run(&c, summary);
    free(k);
    return st;
}
