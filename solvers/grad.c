/* Token form of the backward pass (MATH.md section 4): the forward runs the ridge stream
 * and the solver object (implicit mode) or the stored-iterate recurrences of
 * grad_iter.c (iterations mode), keeping H_t and D_t + D_t^T for every
 * token; the reverse sweep carries S_t = G~_t + G~_t^T backwards and reads
 * dk, dbeta, dg off it. Optionally the exact gradient of the fp64 mirror
 * problem (x*, dq* by LAPACK dposv) is computed alongside. */
#include "gka_grad.h"
#include "gka_config.h"
#include "gka_reference.h"
#include "solver_internal.h"

#include <stdlib.h>
#include <string.h>

gka_grad_opts_t gka_grad_opts_default(void) {
    gka_grad_opts_t o = {"chebyshev", 30, GKA_GRAD_IMPLICIT, 1};
    return o;
}

gka_status_t gka_grad_mode_by_name(const char *name, gka_grad_mode_t *out) {
    if (name && !strcmp(name, "implicit"))
        *out = GKA_GRAD_IMPLICIT;
    else if (name && !strcmp(name, "iterations"))
        *out = GKA_GRAD_ITERATIONS;
    else
        return gka_error(GKA_EINVAL, "unknown gradient mode '%s' (implicit or iterations)",
                         name ? name : "(null)");
    return GKA_OK;
}

const char *gka_grad_mode_name(gka_grad_mode_t mode) {
    return mode == GKA_GRAD_ITERATIONS ? "iterations" : "implicit";
}

double gka_grad_rel_error(size_t n, const double *a, const double *b) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i])) return (double)INFINITY;
        const double d = a[i] - b[i];
        num += d * d;
        den += b[i] * b[i];
    }
    if (!isfinite(num) || !isfinite(den)) return (double)INFINITY;
    return den > 0.0 ? sqrt(num / den) : sqrt(num);
}

static gka_status_t check_problem(const gka_grad_problem_t *p) {
    if (!p || !p->q || !p->k || !p->dx)
        return gka_error(GKA_EINVAL, "backward: NULL problem, q, k or dx");
    if (p->D < 1 || p->D > GKA_D_MAX)
        return gka_error(GKA_EINVAL, "backward: D = %d out of range [1, %d]", p->D, GKA_D_MAX);
    if (p->T < 1 || p->T > 100000000L)
        return gka_error(GKA_EINVAL, "backward: T = %ld out of range [1, 1e8]", p->T);
    if (p->ridge.kind != GKA_RIDGE_FIXED && p->ridge.kind != GKA_RIDGE_ADAPTIVE)
        return gka_error(GKA_EINVAL, "backward: ridge must be fixed: or adaptive: (decay: has no "
                                     "backward here)");
    if (!isfinite(p->ridge.value) || p->ridge.value < 0.0)
        return gka_error(GKA_EINVAL, "backward: ridge value %g invalid", p->ridge.value);
    for (long t = 0; p->g && t < p->T; t++)
        if (!(p->g[t] <= 0.0))
            return gka_error(GKA_EINVAL, "backward: log-gate g[%ld] = %g must be <= 0", t, p->g[t]);
    for (long t = 0; p->beta && t < p->T; t++)
        if (!isfinite(p->beta[t]))
            return gka_error(GKA_EINVAL, "backward: beta[%ld] = %g is not finite", t, p->beta[t]);
    return GKA_OK;
}

static gka_status_t check_opts(const gka_grad_opts_t *o) {
    static const char *const implicit_ok[] = {"chebyshev", "cg", "gd", "agd", "cholesky"};
    if (!o || !o->solver) return gka_error(GKA_EINVAL, "backward: NULL options or solver");
    if (o->iters < 0 || o->iters > 1000000)
        return gka_error(GKA_EINVAL, "backward: iterations %d out of range [0, 1000000]", o->iters);
    if (o->mode == GKA_GRAD_ITERATIONS) {
        if (strcmp(o->solver, "chebyshev") && strcmp(o->solver, "cg"))
            return gka_error(GKA_EINVAL,
                             "backward: solver '%s' has no through-the-iterations "
                             "gradient (chebyshev or cg)",
                             o->solver);
        return GKA_OK;
    }
    if (o->mode != GKA_GRAD_IMPLICIT)
        return gka_error(GKA_EINVAL, "backward: bad mode %d", (int)o->mode);
    for (size_t i = 0; i < sizeof implicit_ok / sizeof implicit_ok[0]; i++)
        if (!strcmp(o->solver, implicit_ok[i])) return GKA_OK;
    return gka_error(GKA_EINVAL,
                     "backward: solver '%s' has no implicit gradient here (chebyshev, "
                     "cg, gd, agd, cholesky)",
                     o->solver);
}

/* ---- the fp64 reference on the stream's mirror ------------------------------ */

typedef struct {
    double *H, *Ds, *x, *dq, *k, *gam, *b2, *beta; /* H: (T+1) DD (slot t+1 = H_t) */
} ref_store_t;

/* x*, dq* and D_t + D_t^T of the mirror problem at the stream's token t. */
static void ref_token(const gka_stream_t *st, const gka_grad_problem_t *p, const double *dx64,
                      int lambda_path, double beta64, long t, ref_store_t *R) {
    const size_t n = (size_t)p->D, DD = n * n;
    double *x = R->x + (size_t)t * n, *dq = R->dq + (size_t)t * n, *Ds = R->Ds + (size_t)t * DD;
    memcpy(R->H + (size_t)(t + 1) * DD, st->H64, DD * sizeof(double));
    memcpy(R->k + (size_t)t * n, st->k64, n * sizeof(double));
    R->gam[t] = st->gamma64;
    R->b2[t] = st->beta2_64;
    R->beta[t] = beta64;
    int ok = 0;
#if GKA_HAVE_LAPACK
    ok = gka_ref_solve_fp64(p->D, st->H64, st->lambda64, st->q64, x) == GKA_OK &&
         gka_ref_solve_fp64(p->D, st->H64, st->lambda64, dx64, dq) == GKA_OK;
#else
    (void)dx64;
#endif
    if (!ok) {
        for (size_t i = 0; i < n; i++)
            x[i] = dq[i] = (double)NAN;
        gka_error_clear();
    }
    double xdq = 0.0;
    for (size_t i = 0; i < n; i++)
        xdq += x[i] * dq[i];
    double c = 0.0;
    if (lambda_path && p->ridge.kind == GKA_RIDGE_ADAPTIVE && st->hnorm64 > 0.0)
        c = -p->ridge.value * xdq / st->hnorm64;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            Ds[i * n + j] = -(dq[i] * x[j] + x[i] * dq[j]) + 2.0 * c * st->H64[i * n + j];
}

/* The reverse sweep in fp64. */
static void ref_reverse(const gka_grad_problem_t *p, const ref_store_t *R, gka_grads_t *ref) {
    const size_t n = (size_t)p->D, DD = n * n;
    double *S = calloc(DD, sizeof *S), *u = calloc(n, sizeof *u);
    if (!S || !u) {
        free(S);
        free(u);
        return;
    }
    for (long t = p->T - 1; t >= 0; t--) {
        const double gnext = t + 1 < p->T ? R->gam[t + 1] : 0.0;
        const double *Ds = R->Ds + (size_t)t * DD, *k = R->k + (size_t)t * n;
        for (size_t i = 0; i < DD; i++)
            S[i] = gnext * S[i] + Ds[i];
        double kSk = 0.0, dg = 0.0;
        for (size_t i = 0; i < n; i++) {
            double s = 0.0;
            for (size_t j = 0; j < n; j++)
                s += S[i * n + j] * k[j];
            u[i] = s;
            kSk += k[i] * s;
        }
        const double *Hp = R->H + (size_t)t * DD; /* H_{t-1} */
        for (size_t i = 0; i < DD; i++)
            dg += S[i] * (R->gam[t] * Hp[i]);
        if (ref->dk)
            for (size_t i = 0; i < n; i++)
                ref->dk[(size_t)t * n + i] = R->b2[t] * u[i];
        if (ref->dbeta) ref->dbeta[t] = R->beta[t] * kSk;
        if (ref->dg) ref->dg[t] = 0.5 * dg;
    }
    if (ref->x) memcpy(ref->x, R->x, (size_t)p->T * n * sizeof(double));
    if (ref->dq) memcpy(ref->dq, R->dq, (size_t)p->T * n * sizeof(double));
    free(S);
    free(u);
}

/* ---- the studied arithmetic ------------------------------------------------- */

static void stream_mv(void *ctx, const void *x, void *y) {
    gka_stream_matvec((const gka_stream_t *)ctx, x, y);
}

enum { TS_ZERO, TS_ONE, TS_MONE, TS_HALF, TS_TR, TS_C, TS_DLAM, TS_DHN, TS_T, TS_N };

typedef struct {
    gka_arith_t *A;
    size_t n, DD;
    long T;
    void *H, *Ds, *x, *dq, *k, *gam, *b2, *beta; /* as ref_store_t, in A */
    void *Abar, *dxv, *P, *S, *u, *sc;
    double *gam64; /* T: the gate values the forward decayed with (st->gamma64) */
} tok_store_t;

static void tok_free(tok_store_t *s) {
    gka_arith_t *ar = s->A;
    const size_t T = (size_t)s->T, n = s->n, DD = s->DD;
    const struct {
        void *p;
        size_t len;
    } v[] = {{s->H, (T + 1) * DD}, {s->Ds, T * DD}, {s->x, T * n}, {s->dq, T * n}, {s->k, T * n},
             {s->gam, T},          {s->b2, T},      {s->beta, T},  {s->Abar, DD},  {s->dxv, n},
             {s->P, DD},           {s->S, DD},      {s->u, n},     {s->sc, TS_N}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (v[i].p) ar->free(ar, v[i].p, v[i].len);
    free(s->gam64);
}

static int tok_alloc(tok_store_t *s, gka_arith_t *ar, int D, long T) {
    memset(s, 0, sizeof *s);
    s->A = ar;
    s->n = (size_t)D;
    s->DD = s->n * s->n;
    s->T = T;
    const size_t t = (size_t)T, n = s->n, DD = s->DD;
    s->H = ar->alloc(ar, (t + 1) * DD);
    s->Ds = ar->alloc(ar, t * DD);
    s->x = ar->alloc(ar, t * n);
    s->dq = ar->alloc(ar, t * n);
    s->k = ar->alloc(ar, t * n);
    s->gam = ar->alloc(ar, t);
    s->b2 = ar->alloc(ar, t);
    s->beta = ar->alloc(ar, t);
    s->Abar = ar->alloc(ar, DD);
    s->dxv = ar->alloc(ar, n);
    s->P = ar->alloc(ar, DD);
    s->S = ar->alloc(ar, DD);
    s->u = ar->alloc(ar, n);
    s->sc = ar->alloc(ar, TS_N);
    s->gam64 = malloc(t * sizeof *s->gam64);
    return s->gam64 && s->H && s->Ds && s->x && s->dq && s->k && s->gam && s->b2 && s->beta &&
           s->Abar && s->dxv && s->P && s->S && s->u && s->sc;
}

/* Scalar slot TS_* of the token store. */
static inline void *tok_scalar(const tok_store_t *s, int slot) {
    return GKA_ELEM(s->A, s->sc, slot);
}

/* Ds = -(dq x^T + x dq^T), tr = -(x . dq): the implicit adjoint of A_t. */
static void implicit_adjoint(tok_store_t *s, const void *x, const void *dq, void *Ds) {
    gka_arith_t *ar = s->A;
    const size_t n = s->n;
    for (size_t i = 0; i < s->DD; i++)
        ar->set_d(ar, GKA_ELEM(ar, Ds, i), 0.0);
    for (size_t a = 0; a < n; a++) {
        ar->mul(ar, tok_scalar(s, TS_T), tok_scalar(s, TS_MONE), GKA_CELEM(ar, dq, a));
        ar->axpy(ar, n, tok_scalar(s, TS_T), x, GKA_ELEM(ar, Ds, a * n));
        ar->mul(ar, tok_scalar(s, TS_T), tok_scalar(s, TS_MONE), GKA_CELEM(ar, x, a));
        ar->axpy(ar, n, tok_scalar(s, TS_T), dq, GKA_ELEM(ar, Ds, a * n));
    }
    ar->dot(ar, tok_scalar(s, TS_TR), n, x, dq);
    ar->sub(ar, tok_scalar(s, TS_TR), tok_scalar(s, TS_ZERO), tok_scalar(s, TS_TR));
}

/* Ds = Abar + Abar^T, tr = tr Abar. */
static void symmetrise(tok_store_t *s, void *Ds) {
    gka_arith_t *ar = s->A;
    const size_t n = s->n;
    ar->set_d(ar, tok_scalar(s, TS_TR), 0.0);
    for (size_t i = 0; i < n; i++) {
        ar->add(ar, tok_scalar(s, TS_TR), tok_scalar(s, TS_TR), GKA_ELEM(ar, s->Abar, i * n + i));
        for (size_t j = 0; j < n; j++)
            ar->add(ar, GKA_ELEM(ar, Ds, i * n + j), GKA_ELEM(ar, s->Abar, i * n + j),
                    GKA_ELEM(ar, s->Abar, j * n + i));
    }
}

/* A solve that failed (NaN, lost definiteness, or a zero divisor before the
 * first step) returns x = 0 with a reason; the gradient makes it a NaN so
 * that no error measure can pass it. A breakdown after some steps (CG whose
 * recursive residual underflowed past convergence) keeps its last iterate. */
static int failed(gka_reason_t r, int iters) {
    return r == GKA_REASON_NAN || r == GKA_REASON_LOST_PD ||
           (r == GKA_REASON_BREAKDOWN && iters == 0);
}

static void poison(gka_arith_t *ar, void *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        ar->set_d(ar, GKA_ELEM(ar, x, i), (double)NAN);
}

/* One token's forward and D_t + D_t^T in the studied arithmetic. */
static gka_status_t tok_forward(tok_store_t *s, gka_stream_t *st, gka_solver_t *solver,
                                const gka_grad_problem_t *p, const gka_grad_opts_t *o, long t) {
    gka_arith_t *ar = s->A;
    const size_t n = s->n, DD = s->DD, tt = (size_t)t;
    void *x = GKA_ELEM(ar, s->x, tt * n), *dq = GKA_ELEM(ar, s->dq, tt * n);
    void *Ds = GKA_ELEM(ar, s->Ds, tt * DD);
    gka_status_t status = GKA_OK;
    int adaptive_path = o->lambda_path && p->ridge.kind == GKA_RIDGE_ADAPTIVE;
    ar->set_d(ar, tok_scalar(s, TS_DHN), 0.0);
    if (o->mode == GKA_GRAD_IMPLICIT) {
        gka_solve_info_t info;
        if ((status = gka_solver_solve(solver, st, x, &info)) != GKA_OK) return status;
        if (failed(info.reason, info.iters)) poison(ar, x, n);
        if ((status = gka_stream_set_query(st, p->dx + tt * n)) != GKA_OK) return status;
        if ((status = gka_solver_solve(solver, st, dq, &info)) != GKA_OK) return status;
        if (failed(info.reason, info.iters)) poison(ar, dq, n);
        implicit_adjoint(s, x, dq, Ds);
    } else {
        int iters;
        gka_reason_t reason;
        for (size_t i = 0; i < DD; i++)
            ar->set_d(ar, GKA_ELEM(ar, s->Abar, i), 0.0);
        if (!strcmp(o->solver, "chebyshev"))
            status = gka_chebyshev_adjoint(ar, p->D, stream_mv, st, st->q, st->lambda, st->hnorm,
                                           o->iters, s->dxv, x, dq, s->Abar, tok_scalar(s, TS_DLAM),
                                           tok_scalar(s, TS_DHN), &iters, &reason);
        else
            status = gka_cg_adjoint(ar, p->D, stream_mv, st, st->q, o->iters, s->dxv, x, dq,
                                    s->Abar, &iters, &reason);
        if (status) return status;
        if (failed(reason, iters)) poison(ar, x, n), poison(ar, dq, n);
        symmetrise(s, Ds);
        if (!strcmp(o->solver, "chebyshev")) /* the schedule's lambda */
            ar->add(ar, tok_scalar(s, TS_TR), tok_scalar(s, TS_TR), tok_scalar(s, TS_DLAM));
    }
    /* d||H||_F = schedule's + a (tr Abar + dlambda) along the lambda path;
     * Ds += 2 (d||H||_F / ||H||_F) H_t */
    if (adaptive_path) {
        ar->mul(ar, tok_scalar(s, TS_T), st->ridge_value, tok_scalar(s, TS_TR));
        ar->add(ar, tok_scalar(s, TS_DHN), tok_scalar(s, TS_DHN), tok_scalar(s, TS_T));
    }
    if (ar->get_d(ar, st->hnorm) > 0.0) {
        ar->div(ar, tok_scalar(s, TS_C), tok_scalar(s, TS_DHN), st->hnorm);
        ar->add(ar, tok_scalar(s, TS_C), tok_scalar(s, TS_C), tok_scalar(s, TS_C));
        ar->axpy(ar, DD, tok_scalar(s, TS_C), st->H, Ds);
    }
    return GKA_OK;
}

/* The reverse sweep in the studied arithmetic. */
static void tok_reverse(tok_store_t *s, gka_grads_t *out) {
    gka_arith_t *ar = s->A;
    const size_t n = s->n, DD = s->DD;
    for (size_t i = 0; i < DD; i++)
        ar->set_d(ar, GKA_ELEM(ar, s->S, i), 0.0);
    double *buf = malloc(n * sizeof *buf);
    for (long t = s->T - 1; t >= 0; t--) {
        const size_t tt = (size_t)t;
        /* the gate in the forward's arithmetic (fp32 gates for narrow formats) */
        if (t + 1 < s->T) gka_gate_scale(ar, s->gam64[tt + 1], s->S, DD);
        ar->axpy(ar, DD, tok_scalar(s, TS_ONE), GKA_ELEM(ar, s->Ds, tt * DD), s->S);
        const void *k = GKA_ELEM(ar, s->k, tt * n);
        ar->gemv(ar, n, n, tok_scalar(s, TS_ONE), s->S, k, NULL, s->u); /* u = S_t k_t */
        if (out->dbeta) {
            ar->dot(ar, tok_scalar(s, TS_T), n, k, s->u);
            ar->mul(ar, tok_scalar(s, TS_T), tok_scalar(s, TS_T), GKA_ELEM(ar, s->beta, tt));
            out->dbeta[t] = ar->get_d(ar, tok_scalar(s, TS_T));
        }
        if (out->dg) { /* <S_t, gamma_t H_{t-1}> / 2 */
            ar->copy(ar, s->P, GKA_ELEM(ar, s->H, tt * DD), DD);
            gka_gate_scale(ar, s->gam64[tt], s->P, DD);
            ar->dot(ar, tok_scalar(s, TS_T), DD, s->S, s->P);
            ar->mul(ar, tok_scalar(s, TS_T), tok_scalar(s, TS_T), tok_scalar(s, TS_HALF));
            out->dg[t] = ar->get_d(ar, tok_scalar(s, TS_T));
        }
        if (out->dk && buf) {
            ar->scal(ar, n, GKA_ELEM(ar, s->b2, tt), s->u);
            ar->to_double(ar, buf, s->u, n);
            memcpy(out->dk + tt * n, buf, n * sizeof *buf);
        }
    }
    free(buf);
    if (out->x) ar->to_double(ar, out->x, s->x, (size_t)s->T * n);
    if (out->dq) ar->to_double(ar, out->dq, s->dq, (size_t)s->T * n);
}

gka_status_t gka_grad_token(gka_arith_t *ar, const gka_grad_problem_t *p,
                            const gka_grad_opts_t *opts, gka_grads_t *out, gka_grads_t *ref) {
    gka_status_t status;
    if (!ar || !out) return gka_error(GKA_EINVAL, "gka_grad_token: NULL table or output");
    if ((status = check_problem(p)) || (status = check_opts(opts))) return status;
    const size_t n = (size_t)p->D, DD = n * n, T = (size_t)p->T;
    if ((double)T * (double)DD > (double)GKA_GRAD_TOKEN_STORE_MAX)
        return gka_error(GKA_ERANGE,
                         "backward (token form): T * D^2 = %.3g exceeds %ld stored "
                         "elements; use the chunk form",
                         (double)T * (double)DD, GKA_GRAD_TOKEN_STORE_MAX);
#if !GKA_HAVE_LAPACK
    if (ref)
        return gka_error(GKA_EUNSUP,
                         "backward: the exact reference needs LAPACK (not in this build)");
#endif
    gka_stream_t *st = NULL;
    gka_solver_t *solver = NULL;
    tok_store_t s;
    ref_store_t R = {0};
    double *dx64 = malloc(n * sizeof *dx64);
    int ok = tok_alloc(&s, ar, p->D, p->T) && dx64;
    if (ok && ref) {
        R.H = calloc((T + 1) * DD, sizeof(double));
        R.Ds = malloc(T * DD * sizeof(double));
        R.x = malloc(T * n * sizeof(double));
        R.dq = malloc(T * n * sizeof(double));
        R.k = malloc(T * n * sizeof(double));
        R.gam = malloc(T * sizeof(double));
        R.b2 = malloc(T * sizeof(double));
        R.beta = malloc(T * sizeof(double));
        ok = R.H && R.Ds && R.x && R.dq && R.k && R.gam && R.b2 && R.beta;
    }
    status = ok ? gka_stream_create(&st, ar, p->D, &p->ridge, 0)
                : gka_error(GKA_ENOMEM, "backward: out of memory (D = %d, T = %ld)", p->D, p->T);
    if (!status && opts->mode == GKA_GRAD_IMPLICIT) {
        gka_solver_opts_t so = gka_solver_opts_default();
        so.iters = opts->iters;
        status = gka_solver_create(&solver, opts->solver, &so, ar, p->D);
    }
    if (!status) {
        ar->set_d(ar, tok_scalar(&s, TS_ZERO), 0.0);
        ar->set_d(ar, tok_scalar(&s, TS_ONE), 1.0);
        ar->set_d(ar, tok_scalar(&s, TS_MONE), -1.0);
        ar->set_d(ar, tok_scalar(&s, TS_HALF), 0.5);
        for (size_t i = 0; i < DD; i++)
            ar->set_d(ar, GKA_ELEM(ar, s.H, i), 0.0); /* H_{-1} */
    }
    for (long t = 0; !status && t < p->T; t++) {
        const size_t tt = (size_t)t;
        const double beta = p->beta ? p->beta[t] : 1.0;
        status =
            gka_stream_push(st, p->q + tt * n, p->k + tt * n, p->g ? p->g[t] : 0.0, beta, NULL);
        if (status) break;
        ar->copy(ar, GKA_ELEM(ar, s.H, (tt + 1) * DD), st->H, DD);
        ar->copy(ar, GKA_ELEM(ar, s.k, tt * n), st->k, n);
        ar->copy(ar, GKA_ELEM(ar, s.gam, tt), st->gamma, 1);
        s.gam64[tt] = st->gamma64; /* the gate value the forward decayed with */
        ar->copy(ar, GKA_ELEM(ar, s.b2, tt), st->beta2, 1);
        ar->set_d(ar, GKA_ELEM(ar, s.beta, tt), beta); /* the stream's rounding of beta */
        ar->from_double(ar, s.dxv, p->dx + tt * n, n);
        if (ref) { /* before the forward: implicit mode replaces the stream's query by dx */
            ar->to_double(ar, dx64, s.dxv, n);
            ref_token(st, p, dx64, opts->lambda_path, ar->get_d(ar, GKA_ELEM(ar, s.beta, tt)), t,
                      &R);
        }
        status = tok_forward(&s, st, solver, p, opts, t);
    }
    if (!status) {
        tok_reverse(&s, out);
        if (ref) ref_reverse(p, &R, ref);
    }
    gka_solver_destroy(solver);
    gka_stream_destroy(st);
    tok_free(&s);
    free(R.H), free(R.Ds), free(R.x), free(R.dq), free(R.k), free(R.gam), free(R.b2), free(R.beta);
    free(dx64);
    return status;
}
