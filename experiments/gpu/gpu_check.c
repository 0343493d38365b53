/* GPU kernels against the CPU references (see gka_gpu_check.h). */
#include "gka_gpu_check.h"
#include "gka_chunker.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gka_arith.h"
#include "gka_grad.h"
#include "gka_iteration.h"
#include "gka_precision.h"
#include "gka_solver.h"
#include "gka_stream.h"

typedef struct {
    size_t ntok, nel; /* B*T*H tokens, B*T*H*D elements */
    float *q, *k, *g, *beta, *dx;
} inputs_t;

static double sigmoid(double u) {
    return 1.0 / (1.0 + exp(-u));
}

static void free_inputs(inputs_t *in) {
    free(in->q);
    free(in->k);
    free(in->g);
    free(in->beta);
    free(in->dx);
    memset(in, 0, sizeof *in);
}

/* Fresh inputs, rounded to the dtype (the CPU sees exactly what the GPU sees). */
static gka_status_t make_inputs(const gka_gpu_config_t *c, int with_beta, double gate_mu,
                                uint64_t seed, int with_dx, inputs_t *in) {
    memset(in, 0, sizeof *in);
    const size_t D = (size_t)c->D;
    in->ntok = (size_t)c->B * (size_t)c->T * (size_t)c->H;
    in->nel = in->ntok * D;
    in->q = malloc(in->nel * sizeof(float));
    in->k = malloc(in->nel * sizeof(float));
    in->g = malloc(in->ntok * sizeof(float));
    in->beta = with_beta ? malloc(in->ntok * sizeof(float)) : NULL;
    in->dx = with_dx ? malloc(in->nel * sizeof(float)) : NULL;
    void *tmp = malloc(in->nel * sizeof(float));
    if (!in->q || !in->k || !in->g || (with_beta && !in->beta) || (with_dx && !in->dx) || !tmp) {
        free(tmp);
        free_inputs(in);
        return gka_error(GKA_ENOMEM, "gpu check: out of memory for %zu elements", in->nel);
    }
    uint64_t ctr = 0;
    float *vecs[3] = {in->q, in->k, in->dx};
    for (int v = 0; v < 3; v++) {
        if (!vecs[v]) continue;
        for (size_t t = 0; t < in->ntok; t++) {
            double nn = 0.0;
            for (size_t d = 0; d < D; d++) {
                const double z = gka_philox_normal(seed, (uint64_t)v, ctr++);
                vecs[v][t * D + d] = (float)z;
                nn += z * z;
            }
            if (v < 2) /* q and k are L2-normalised, as in the layer */
                for (size_t d = 0; d < D; d++)
                    vecs[v][t * D + d] = (float)((double)vecs[v][t * D + d] / (sqrt(nn) + 1e-6));
        }
        gka_gpu_from_float(c->dtype, tmp, vecs[v], in->nel);
        gka_gpu_to_float(c->dtype, vecs[v], tmp, in->nel);
    }
    for (size_t t = 0; t < in->ntok; t++) {
        const double u = gate_mu + gka_philox_normal(seed, 3, t);
        in->g[t] = (float)-log1p(exp(-u)); /* log sigmoid(u) < 0 */
        if (in->beta) in->beta[t] = (float)sigmoid(gka_philox_normal(seed, 4, t));
    }
    free(tmp);
    return GKA_OK;
}

/* Head (b, h) of a [B, T, H, D] tensor as a T x D double array. */
static void head_of(const gka_gpu_config_t *c, const float *src, int b, int h, size_t width,
                    double *dst) {
    for (size_t t = 0; t < (size_t)c->T; t++) {
        const size_t base = (((size_t)b * (size_t)c->T + t) * (size_t)c->H + (size_t)h) * width;
        for (size_t d = 0; d < width; d++)
            dst[t * width + d] = (double)src[base + d];
    }
}

static double rel_err(const double *a, const double *ref, size_t n) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double e = a[i] - ref[i];
        num += e * e;
        den += ref[i] * ref[i];
    }
    return den > 0.0 ? sqrt(num / den) : sqrt(num);
}

static int all_finite(const float *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

typedef struct {
    void *q, *k, *x, *ws, *dx, *dq, *dk, *bws;
    float *g, *beta, *hn, *hT, *dg, *dbeta;
} dev_t;

static void dev_free(dev_t *d) {
    void *p[] = {d->q,   d->k, d->x,    d->ws, d->dx, d->dq, d->dk,
                 d->bws, d->g, d->beta, d->hn, d->hT, d->dg, d->dbeta};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        gka_gpu_free(p[i]);
    memset(d, 0, sizeof *d);
}

static gka_status_t upload_conv(gka_gpu_dtype_t dt, void *dst, const float *src, size_t n) {
    void *tmp = malloc(n * gka_gpu_dtype_size(dt));
    if (!tmp) return gka_error(GKA_ENOMEM, "gpu check: out of memory");
    gka_gpu_from_float(dt, tmp, src, n);
    gka_status_t s = gka_gpu_upload(dst, tmp, n * gka_gpu_dtype_size(dt));
    free(tmp);
    return s;
}
static gka_status_t download_conv(gka_gpu_dtype_t dt, float *dst, const void *src, size_t n) {
    void *tmp = malloc(n * gka_gpu_dtype_size(dt));
    if (!tmp) return gka_error(GKA_ENOMEM, "gpu check: out of memory");
    gka_status_t s = gka_gpu_download(tmp, src, n * gka_gpu_dtype_size(dt));
    if (!s) gka_gpu_to_float(dt, dst, tmp, n);
    free(tmp);
    return s;
}

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        if ((st = (expr)) != GKA_OK) goto done;                                                    \
    } while (0)

/* GPU forward on the inputs; x, hnorm, hT to host floats. Leaves d allocated. */
static gka_status_t gpu_forward(const gka_gpu_config_t *c, const inputs_t *in, dev_t *d, float *x,
                                float *hn, float *hT) {
    gka_status_t st = GKA_OK;
    const size_t es = gka_gpu_dtype_size(c->dtype), DD = (size_t)c->D * (size_t)c->D;
    const size_t nst = (size_t)c->B * (size_t)c->H * DD;
    TRY(gka_gpu_alloc(&d->q, in->nel * es));
    TRY(gka_gpu_alloc(&d->k, in->nel * es));
    TRY(gka_gpu_alloc(&d->x, in->nel * es));
    TRY(gka_gpu_alloc((void **)&d->g, in->ntok * sizeof(float)));
    if (in->beta) TRY(gka_gpu_alloc((void **)&d->beta, in->ntok * sizeof(float)));
    TRY(gka_gpu_alloc((void **)&d->hn, in->ntok * sizeof(float)));
    TRY(gka_gpu_alloc((void **)&d->hT, nst * sizeof(float)));
    TRY(gka_gpu_alloc(&d->ws, gka_gpu_fwd_workspace_bytes(c)));
    TRY(upload_conv(c->dtype, d->q, in->q, in->nel));
    TRY(upload_conv(c->dtype, d->k, in->k, in->nel));
    TRY(gka_gpu_upload(d->g, in->g, in->ntok * sizeof(float)));
    if (in->beta) TRY(gka_gpu_upload(d->beta, in->beta, in->ntok * sizeof(float)));
    TRY(gka_gpu_poison(d->x, in->nel * es));
    TRY(gka_gpu_poison(d->hn, in->ntok * sizeof(float)));
    TRY(gka_gpu_poison(d->hT, nst * sizeof(float)));
    TRY(gka_gpu_poison(d->ws, gka_gpu_fwd_workspace_bytes(c)));
    TRY(gka_gpu_forward(c, d->q, d->k, d->g, d->beta, d->x, d->hn, d->hT, d->ws, NULL));
    TRY(gka_gpu_sync());
    TRY(download_conv(c->dtype, x, d->x, in->nel));
    TRY(gka_gpu_download(hn, d->hn, in->ntok * sizeof(float)));
    TRY(gka_gpu_download(hT, d->hT, nst * sizeof(float)));
done:
    return st;
}

/* One head's inputs as T x D (T) double arrays. */
typedef struct {
    double *q, *k, *g, *beta;
} head_t;

static void head_free(head_t *hd) {
    free(hd->q);
    free(hd->k);
    free(hd->g);
    free(hd->beta);
}
static gka_status_t head_load(const gka_gpu_config_t *c, const inputs_t *in, int b, int h,
                              head_t *hd) {
    const size_t T = (size_t)c->T, D = (size_t)c->D;
    hd->q = malloc(T * D * sizeof(double));
    hd->k = malloc(T * D * sizeof(double));
    hd->g = malloc(T * sizeof(double));
    hd->beta = in->beta ? malloc(T * sizeof(double)) : NULL;
    if (!hd->q || !hd->k || !hd->g || (in->beta && !hd->beta)) {
        head_free(hd);
        return GKA_ENOMEM;
    }
    head_of(c, in->q, b, h, D, hd->q);
    head_of(c, in->k, b, h, D, hd->k);
    head_of(c, in->g, b, h, 1, hd->g);
    if (hd->beta) head_of(c, in->beta, b, h, 1, hd->beta);
    return GKA_OK;
}

/* The CPU chunk model of the kernels' arithmetic for one head (solvers/
 * chebyshev_chunk.c): keys and queries as the kernels read them, the running
 * chunk state carried in fp32, the snapshot H_0 a chunk's tokens use rounded
 * once to bf16 (fp32 with state_fp32), fp32 iterates, scalars and products. */
static gka_status_t model_head(const gka_gpu_config_t *c, const head_t *hd, double *x, double *hn,
                               double *HT) {
    gka_arith_t As, Ai, Ac;
    int have = 0;
    gka_chunker_t *ck = NULL;
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, c->a};
    gka_status_t st = gka_arith_init_by_name(&As, c->state_fp32 ? "fp32" : "bf16", "wide", NULL, 0);
    have += !st;
    if (!st) st = gka_arith_init_by_name(&Ai, "fp32", "round", NULL, 0);
    have += !st;
    if (!st) st = gka_arith_init_by_name(&Ac, "fp32", "round", NULL, 0);
    have += !st;
    if (!st) st = gka_chunker_create(&ck, &As, &Ai, c->D, c->C, &ridge, c->r);
    if (!st) st = gka_chunker_set_carry(ck, &Ac);
    const size_t D = (size_t)c->D;
    for (long t0 = 0; !st && t0 < c->T; t0 += c->C) {
        const int n = (int)(c->T - t0 < c->C ? c->T - t0 : c->C);
        const size_t o = (size_t)t0;
        st = gka_chunker_run(ck, n, hd->q + o * D, hd->k + o * D, hd->g + o,
                             hd->beta ? hd->beta + o : NULL, x + o * D, hn + o, NULL, NULL, NULL,
                             NULL, NULL, NULL);
    }
    if (!st && HT) gka_chunker_carry_state(ck, HT);
    gka_chunker_destroy(ck);
    if (have > 2) gka_arith_destroy(&Ac);
    if (have > 1) gka_arith_destroy(&Ai);
    if (have > 0) gka_arith_destroy(&As);
    return st;
}

/* The exact solution of the same (rounded) problem for one head: H_t built
 * token by token in fp64 from the rounded inputs (gka_stream's fp64
 * problem), lambda_t = a ||H_t||_F, x_t = (H_t + lambda_t I)^{-1} q_t by
 * Cholesky in fp64: exact to ~kappa 2^-53 <= 1e-13, far below the errors
 * measured against it. */
static gka_status_t exact_head(const gka_gpu_config_t *c, const head_t *hd, double *x, double *hn,
                               double *HT) {
    const size_t T = (size_t)c->T, D = (size_t)c->D;
    gka_arith_t A;
    gka_status_t st = gka_arith_init_by_name(&A, "fp64", "round", NULL, 0);
    if (st) return st;
    gka_ridge_t ridge = {GKA_RIDGE_ADAPTIVE, c->a};
    gka_stream_t *sm = NULL;
    gka_solver_t *sv = NULL;
    void *xe = A.alloc(&A, D);
    if (!xe) st = gka_error(GKA_ENOMEM, "gpu check: out of memory");
    if (!st) st = gka_stream_create(&sm, &A, c->D, &ridge, 0);
    if (!st) st = gka_solver_create(&sv, "cholesky", NULL, &A, c->D);
    for (size_t t = 0; !st && t < T; t++) {
        st = gka_stream_push(sm, hd->q + t * D, hd->k + t * D, hd->g[t],
                             hd->beta ? hd->beta[t] : 1.0, NULL);
        gka_solve_info_t info;
        if (!st) st = gka_solver_solve(sv, sm, xe, &info);
        if (!st) {
            A.to_double(&A, x + t * D, xe, D);
            hn[t] = sm->hnorm64;
        }
    }
    if (!st && HT) memcpy(HT, sm->H64, D * D * sizeof(double));
    if (xe) A.free(&A, xe, D);
    gka_solver_destroy(sv);
    gka_stream_destroy(sm);
    gka_arith_destroy(&A);
    return st;
}

/* A head's error into the status of the loop over heads (under OpenMP one
 * thread at a time; the last error stays). */
static void keep_head_error(gka_status_t *all, gka_status_t st) {
    if (!st) return;
#ifdef _OPENMP
#pragma omp critical
#endif
    *all = st;
}

/* The status of the loop over heads, with the out-of-memory message said
 * here, on the calling thread. */
static gka_status_t heads_status(gka_status_t all) {
    if (all == GKA_ENOMEM) return gka_error(GKA_ENOMEM, "gpu check: out of memory");
    return all;
}

/* Model and exact solution of every head, gathered into [B, T, H, .] order
 * (x, hn) and [B, H, D, D] (final states). */
typedef struct {
    double *x, *hn, *HT;
} cpu_out_t;

static gka_status_t cpu_all(const gka_gpu_config_t *c, const inputs_t *in, cpu_out_t *model,
                            cpu_out_t *exact) {
    const size_t T = (size_t)c->T, D = (size_t)c->D, H = (size_t)c->H;
    const int nh = c->B * c->H;
    gka_status_t st_all = GKA_OK;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
    for (int i = 0; i < nh; i++) {
        const int b = i / c->H, h = i % c->H;
        head_t hd;
        double *xh = malloc(T * D * sizeof(double)), *hh = malloc(T * sizeof(double));
        gka_status_t st = xh && hh ? head_load(c, in, b, h, &hd) : GKA_ENOMEM;
        const int loaded = !st;
        for (int which = 0; which < 2 && !st; which++) {
            cpu_out_t *o = which ? exact : model;
            double *HT = o->HT + (size_t)i * D * D;
            st = which ? exact_head(c, &hd, xh, hh, HT) : model_head(c, &hd, xh, hh, HT);
            for (size_t t = 0; !st && t < T; t++) {
                const size_t tok = ((size_t)b * T + t) * H + (size_t)h;
                memcpy(o->x + tok * D, xh + t * D, D * sizeof(double));
                o->hn[tok] = hh[t];
            }
        }
        if (loaded) head_free(&hd);
        free(xh);
        free(hh);
        keep_head_error(&st_all, st);
    }
    return heads_status(st_all);
}

static void to_double(double *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++)
        dst[i] = (double)src[i];
}

/* Worst relative error of one token's x, over the chunk-start tokens
 * (t = 64 n, n >= 1: H_t is mostly the chunk start state) and the others. */
static void worst_tokens(const gka_gpu_config_t *c, const double *x, const double *ref,
                         double *w_start, double *w_other) {
    const size_t T = (size_t)c->T, D = (size_t)c->D, ntok = (size_t)c->B * T * (size_t)c->H;
    *w_start = *w_other = 0.0;
    for (size_t tok = 0; tok < ntok; tok++) {
        const size_t t = (tok / (size_t)c->H) % T;
        const double e = rel_err(x + tok * D, ref + tok * D, D);
        double *w = (t > 0 && t % (size_t)c->C == 0) ? w_start : w_other;
        if (!(e <= *w)) *w = e; /* NaN sticks */
    }
}

gka_status_t gka_gpu_check_forward(const gka_gpu_config_t *c, int with_beta, double gate_mu,
                                   uint64_t seed, gka_gpu_fwd_check_t *res) {
    gka_status_t st = gka_gpu_check_config(c);
    if (st) return st;
    memset(res, 0, sizeof *res);
    inputs_t in;
    st = make_inputs(c, with_beta, gate_mu, seed, 0, &in);
    if (st) return st;
    dev_t d;
    memset(&d, 0, sizeof d);
    const size_t DD = (size_t)c->D * (size_t)c->D, nst = (size_t)c->B * (size_t)c->H * DD;
    float *x = malloc(in.nel * sizeof(float)), *hn = malloc(in.ntok * sizeof(float));
    float *hT = malloc(nst * sizeof(float));
    double *xg = malloc(in.nel * sizeof(double)), *hng = malloc(in.ntok * sizeof(double));
    double *hTg = malloc(nst * sizeof(double));
    cpu_out_t m = {malloc(in.nel * sizeof(double)), malloc(in.ntok * sizeof(double)),
                   malloc(nst * sizeof(double))};
    cpu_out_t e = {malloc(in.nel * sizeof(double)), malloc(in.ntok * sizeof(double)),
                   malloc(nst * sizeof(double))};
    if (!x || !hn || !hT || !xg || !hng || !hTg || !m.x || !m.hn || !m.HT || !e.x || !e.hn ||
        !e.HT) {
        st = gka_error(GKA_ENOMEM, "gpu check: out of memory");
        goto done;
    }
    TRY(gpu_forward(c, &in, &d, x, hn, hT));
    res->finite = all_finite(x, in.nel) && all_finite(hn, in.ntok) && all_finite(hT, nst);
    TRY(cpu_all(c, &in, &m, &e));
    to_double(xg, x, in.nel);
    to_double(hng, hn, in.ntok);
    to_double(hTg, hT, nst);
    res->x_model = rel_err(xg, m.x, in.nel);
    res->hn_model = rel_err(hng, m.hn, in.ntok);
    res->hT_model = rel_err(hTg, m.HT, nst);
    res->x_exact = rel_err(xg, e.x, in.nel);
    res->hn_exact = rel_err(hng, e.hn, in.ntok);
    res->hT_exact = rel_err(hTg, e.HT, nst);
    res->xm_exact = rel_err(m.x, e.x, in.nel);
    res->hnm_exact = rel_err(m.hn, e.hn, in.ntok);
    worst_tokens(c, xg, e.x, &res->xw_start, &res->xw_other);
    worst_tokens(c, m.x, e.x, &res->xmw_start, &res->xmw_other);
done:
    dev_free(&d);
    free(x);
    free(hn);
    free(hT);
    free(xg);
    free(hng);
    free(hTg);
    free(m.x);
    free(m.hn);
    free(m.HT);
    free(e.x);
    free(e.hn);
    free(e.HT);
    free_inputs(&in);
    return st;
}

/* CPU backward (solvers/grad.c, token form, implicit Chebyshev with the
 * lambda path) of every head in arithmetic `fmt`, gathered into [B, T, H, .]. */
static gka_status_t cpu_grads(const gka_gpu_config_t *c, const inputs_t *in, const char *fmt,
                              const char *acc, double *dq, double *dk, double *dg, double *db) {
    const size_t T = (size_t)c->T, D = (size_t)c->D, H = (size_t)c->H;
    const int nh = c->B * c->H;
    gka_status_t st_all = GKA_OK;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
    for (int i = 0; i < nh; i++) {
        const int b = i / c->H, h = i % c->H;
        double *buf = malloc((5 * T * D + 4 * T) * sizeof(double));
        gka_status_t st = buf ? GKA_OK : GKA_ENOMEM;
        gka_arith_t A;
        int have = 0;
        if (!st) st = gka_arith_init_by_name(&A, fmt, acc, NULL, 0);
        have = !st;
        if (!st) {
            double *q = buf, *k = q + T * D, *dx = k + T * D, *oq = dx + T * D;
            double *okk = oq + T * D, *g = okk + T * D, *be = g + T, *og = be + T, *ob = og + T;
            head_of(c, in->q, b, h, D, q);
            head_of(c, in->k, b, h, D, k);
            head_of(c, in->dx, b, h, D, dx);
            head_of(c, in->g, b, h, 1, g);
            if (in->beta) head_of(c, in->beta, b, h, 1, be);
            gka_grad_problem_t p;
            memset(&p, 0, sizeof p);
            p.D = c->D;
            p.T = c->T;
            p.q = q;
            p.k = k;
            p.g = g;
            p.beta = in->beta ? be : NULL;
            p.dx = dx;
            p.ridge.kind = GKA_RIDGE_ADAPTIVE;
            p.ridge.value = c->a;
            gka_grad_opts_t o = gka_grad_opts_default();
            o.iters = c->r;
            gka_grads_t out;
            memset(&out, 0, sizeof out);
            out.dq = oq;
            out.dk = okk;
            out.dg = og;
            out.dbeta = ob;
            if (!st) st = gka_grad_token(&A, &p, &o, &out, NULL);
            for (size_t t = 0; !st && t < T; t++) {
                const size_t tok = ((size_t)b * T + t) * H + (size_t)h;
                memcpy(dq + tok * D, oq + t * D, D * sizeof(double));
                memcpy(dk + tok * D, okk + t * D, D * sizeof(double));
                dg[tok] = og[t];
                db[tok] = ob[t];
            }
        }
        if (have) gka_arith_destroy(&A);
        free(buf);
        keep_head_error(&st_all, st);
    }
    return heads_status(st_all);
}

gka_status_t gka_gpu_check_backward(const gka_gpu_config_t *c, int with_beta, double gate_mu,
                                    uint64_t seed, int emulate, gka_gpu_bwd_check_t *res) {
    gka_status_t st = gka_gpu_check_config(c);
    if (st) return st;
    memset(res, 0, sizeof *res);
    res->dbeta = res->dbeta_emu = -1.0;
    res->dq_emu = res->dk_emu = res->dg_emu = -1.0;
    inputs_t in;
    st = make_inputs(c, with_beta, gate_mu, seed, 1, &in);
    if (st) return st;
    dev_t d;
    memset(&d, 0, sizeof d);
    const size_t es = gka_gpu_dtype_size(c->dtype);
    const size_t nst = (size_t)c->B * (size_t)c->H * (size_t)c->D * (size_t)c->D;
    float *x = malloc(in.nel * sizeof(float)), *hn = malloc(in.ntok * sizeof(float));
    float *hT = malloc(nst * sizeof(float)), *dq = malloc(in.nel * sizeof(float));
    float *dk = malloc(in.nel * sizeof(float)), *dg = malloc(in.ntok * sizeof(float));
    float *db = malloc(in.ntok * sizeof(float));
    double *g64 = malloc((2 * in.nel + 2 * in.ntok) * sizeof(double));
    double *e64 = malloc((2 * in.nel + 2 * in.ntok) * sizeof(double));
    double *gg = malloc((2 * in.nel + 2 * in.ntok) * sizeof(double));
    if (!x || !hn || !hT || !dq || !dk || !dg || !db || !g64 || !e64 || !gg) {
        st = gka_error(GKA_ENOMEM, "gpu check: out of memory");
        goto done;
    }
    TRY(gpu_forward(c, &in, &d, x, hn, hT));
    TRY(gka_gpu_alloc(&d.dx, in.nel * es));
    TRY(gka_gpu_alloc(&d.dq, in.nel * es));
    TRY(gka_gpu_alloc(&d.dk, in.nel * es));
    TRY(gka_gpu_alloc((void **)&d.dg, in.ntok * sizeof(float)));
    if (with_beta) TRY(gka_gpu_alloc((void **)&d.dbeta, in.ntok * sizeof(float)));
    TRY(gka_gpu_alloc(&d.bws, gka_gpu_bwd_workspace_bytes(c)));
    TRY(upload_conv(c->dtype, d.dx, in.dx, in.nel));
    TRY(gka_gpu_poison(d.dq, in.nel * es));
    TRY(gka_gpu_poison(d.dk, in.nel * es));
    TRY(gka_gpu_poison(d.dg, in.ntok * sizeof(float)));
    if (with_beta) TRY(gka_gpu_poison(d.dbeta, in.ntok * sizeof(float)));
    TRY(gka_gpu_poison(d.bws, gka_gpu_bwd_workspace_bytes(c)));
    TRY(gka_gpu_backward(c, d.q, d.k, d.g, d.beta, d.x, d.hn, d.dx, d.dq, d.dk, d.dg, d.dbeta, d.ws,
                         d.bws, NULL));
    TRY(gka_gpu_sync());
    TRY(download_conv(c->dtype, dq, d.dq, in.nel));
    TRY(download_conv(c->dtype, dk, d.dk, in.nel));
    TRY(gka_gpu_download(dg, d.dg, in.ntok * sizeof(float)));
    if (with_beta) TRY(gka_gpu_download(db, d.dbeta, in.ntok * sizeof(float)));
    res->finite = all_finite(dq, in.nel) && all_finite(dk, in.nel) && all_finite(dg, in.ntok) &&
                  (!with_beta || all_finite(db, in.ntok));
    {
        /* [dq | dk | dg | dbeta] of the fp64 reference, the emulated model, the GPU */
        double *rq = g64, *rk = rq + in.nel, *rg = rk + in.nel, *rb = rg + in.ntok;
        double *eq = e64, *ek = eq + in.nel, *eg = ek + in.nel, *eb = eg + in.ntok;
        double *vq = gg, *vk = vq + in.nel, *vg = vk + in.nel, *vb = vg + in.ntok;
        TRY(cpu_grads(c, &in, "fp64", "round", rq, rk, rg, rb));
        to_double(vq, dq, in.nel);
        to_double(vk, dk, in.nel);
        to_double(vg, dg, in.ntok);
        to_double(vb, db, in.ntok);
        res->dq = rel_err(vq, rq, in.nel);
        res->dk = rel_err(vk, rk, in.nel);
        res->dg = rel_err(vg, rg, in.ntok);
        if (with_beta) res->dbeta = rel_err(vb, rb, in.ntok);
        if (emulate) {
            TRY(cpu_grads(c, &in, "bf16", "wide", eq, ek, eg, eb));
            res->dq_emu = rel_err(eq, rq, in.nel);
            res->dk_emu = rel_err(ek, rk, in.nel);
            res->dg_emu = rel_err(eg, rg, in.ntok);
            if (with_beta) res->dbeta_emu = rel_err(eb, rb, in.ntok);
        }
    }
done:
    dev_free(&d);
    free(x);
    free(hn);
    free(hT);
    free(dq);
    free(dk);
    free(dg);
    free(db);
    free(g64);
    free(e64);
    free(gg);
    free_inputs(&in);
    return st;
}

/* fp64 decode step of one sequence: S = e^g S + b^2 k k^T, Chebyshev r steps. */
static void decode64(int D, int r, double a, const float *q, const float *k, double g, double b,
                     double *S, double *x, double *hn_out) {
    const size_t n = (size_t)D;
    double ss = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            S[i * n + j] = exp(g) * S[i * n + j] + b * b * (double)k[i] * (double)k[j];
            ss += S[i * n + j] * S[i * n + j];
        }
    const double hn = sqrt(ss), lam = a * hn;
    double rho = 0.0, s = 0.0; /* MATH.md section 2 schedule, solvers/gka_iteration.h */
    if (hn > 0.0) gka_cheb_params_d(hn, lam, &rho, &s);
    const double quarter_rho_sq = gka_cheb_quarter_rho_sq_d(rho);
    double *xp = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double));
    if (!xp || !y) {
        free(xp);
        free(y);
        for (size_t i = 0; i < n; i++)
            x[i] = NAN;
        *hn_out = NAN;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        x[i] = s * (double)q[i]; /* x_0 = s q, x_{-1} = 0 */
        xp[i] = 0.0;
    }
    double omega = GKA_CHEB_OMEGA0;
    for (int it = 1; it <= r; it++) {
        omega = gka_cheb_omega_next_d(quarter_rho_sq, omega);
        const double neg_s_omega = -(s * omega), omega_minus_1 = omega - 1.0;
        for (size_t i = 0; i < n; i++) {
            double acc = 0.0;
            for (size_t j = 0; j < n; j++)
                acc += S[i * n + j] * x[j];
            y[i] = acc + lam * x[i] - (double)q[i];
        }
        for (size_t i = 0; i < n; i++) {
            const double xc = x[i];
            x[i] = gka_cheb_update_d(xc, xp[i], y[i], neg_s_omega, omega_minus_1);
            xp[i] = xc;
        }
    }
    *hn_out = hn;
    free(xp);
    free(y);
}

gka_status_t gka_gpu_check_decode(int n, int D, int r, double a, gka_gpu_dtype_t dtype,
                                  int with_beta, uint64_t seed, gka_gpu_dec_check_t *res) {
    memset(res, 0, sizeof *res);
    gka_gpu_config_t c = {1, 1, n, D, 64, r, a, dtype, 0};
    gka_status_t st = gka_gpu_check_config(&c);
    if (st) return st;
    inputs_t in;
    st = make_inputs(&c, with_beta, 4.0, seed, 0, &in);
    if (st) return st;
    const size_t DD = (size_t)D * (size_t)D, ns = (size_t)n * DD, es = gka_gpu_dtype_size(dtype);
    float *S = malloc(ns * sizeof(float)), *x = malloc(in.nel * sizeof(float));
    float *hn = malloc((size_t)n * sizeof(float)), *Sg = malloc(ns * sizeof(float));
    double *S64 = malloc(ns * sizeof(double)), *x64 = malloc(in.nel * sizeof(double));
    double *hn64 = malloc((size_t)n * sizeof(double)), *tmp = malloc(ns * sizeof(double));
    void *dq = NULL, *dk = NULL, *dx = NULL;
    float *dS = NULL, *dg = NULL, *db = NULL, *dhn = NULL;
    if (!S || !x || !hn || !Sg || !S64 || !x64 || !hn64 || !tmp) {
        st = gka_error(GKA_ENOMEM, "gpu check: out of memory");
        goto done;
    }
    /* carried state: a decayed sum of 40 random rank-1 terms (PSD) */
    for (size_t i = 0; i < (size_t)n; i++) {
        double *Si = S64 + i * DD;
        memset(Si, 0, DD * sizeof(double));
        for (int m = 0; m < 40; m++) {
            double kv[128], nn = 0.0;
            for (size_t j = 0; j < (size_t)D; j++) {
                kv[j] = gka_philox_normal(seed, 20 + i, (uint64_t)m * 128u + j);
                nn += kv[j] * kv[j];
            }
            for (size_t p = 0; p < (size_t)D; p++)
                for (size_t qq = 0; qq < (size_t)D; qq++)
                    Si[p * (size_t)D + qq] = 0.97 * Si[p * (size_t)D + qq] + kv[p] * kv[qq] / nn;
        }
        for (size_t j = 0; j < DD; j++) {
            S[i * DD + j] = (float)Si[j];
            Si[j] = (double)S[i * DD + j];
        }
    }
    TRY(gka_gpu_alloc(&dq, in.nel * es));
    TRY(gka_gpu_alloc(&dk, in.nel * es));
    TRY(gka_gpu_alloc(&dx, in.nel * es));
    TRY(gka_gpu_alloc((void **)&dS, ns * sizeof(float)));
    TRY(gka_gpu_alloc((void **)&dg, (size_t)n * sizeof(float)));
    TRY(gka_gpu_alloc((void **)&dhn, (size_t)n * sizeof(float)));
    if (with_beta) TRY(gka_gpu_alloc((void **)&db, (size_t)n * sizeof(float)));
    TRY(upload_conv(dtype, dq, in.q, in.nel));
    TRY(upload_conv(dtype, dk, in.k, in.nel));
    TRY(gka_gpu_upload(dS, S, ns * sizeof(float)));
    TRY(gka_gpu_upload(dg, in.g, (size_t)n * sizeof(float)));
    if (with_beta) TRY(gka_gpu_upload(db, in.beta, (size_t)n * sizeof(float)));
    TRY(gka_gpu_poison(dx, in.nel * es));
    TRY(gka_gpu_poison(dhn, (size_t)n * sizeof(float)));
    TRY(gka_gpu_decode(n, D, r, a, dtype, dq, dk, dg, db, dS, dx, dhn, NULL));
    TRY(gka_gpu_sync());
    TRY(download_conv(dtype, x, dx, in.nel));
    TRY(gka_gpu_download(hn, dhn, (size_t)n * sizeof(float)));
    TRY(gka_gpu_download(Sg, dS, ns * sizeof(float)));
    res->finite = all_finite(x, in.nel) && all_finite(hn, (size_t)n) && all_finite(Sg, ns);
    for (size_t i = 0; i < (size_t)n; i++)
        decode64(D, r, a, in.q + i * (size_t)D, in.k + i * (size_t)D, (double)in.g[i],
                 with_beta ? (double)in.beta[i] : 1.0, S64 + i * DD, x64 + i * (size_t)D, hn64 + i);
    {
        double *xd = malloc(in.nel * sizeof(double)), *hd = malloc((size_t)n * sizeof(double));
        if (!xd || !hd) {
            free(xd);
            free(hd);
            st = gka_error(GKA_ENOMEM, "gpu check: out of memory");
            goto done;
        }
        to_double(xd, x, in.nel);
        to_double(hd, hn, (size_t)n);
        to_double(tmp, Sg, ns);
        res->x = rel_err(xd, x64, in.nel);
        res->hn = rel_err(hd, hn64, (size_t)n);
        res->state = rel_err(tmp, S64, ns);
        free(xd);
        free(hd);
    }
done:
    gka_gpu_free(dq);
    gka_gpu_free(dk);
    gka_gpu_free(dx);
    gka_gpu_free(dS);
    gka_gpu_free(dg);
    gka_gpu_free(db);
    gka_gpu_free(dhn);
    free(S);
    free(x);
    free(hn);
    free(Sg);
    free(S64);
    free(x64);
    free(hn64);
    free(tmp);
    free_inputs(&in);
    return st;
}
