/* GPU kernels against the CPU references (see gka_gpu_check.h). */
#include "gka_gpu_check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gka_arith.h"
#include "gka_precision.h"
#include "gka_backward.h"
#include "gka_solver.h"

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

/* CPU chunked forward of one head in the given arithmetic. */
static gka_status_t cpu_head(const gka_gpu_config_t *c, const inputs_t *in, const float *rhs, int b,
                             int h, const char *fmt_state, const char *acc_state,
                             const char *fmt_iter, int r, double *x, double *hn, double *HT) {
    const size_t T = (size_t)c->T, D = (size_t)c->D;
    double *q = malloc(T * D * sizeof(double)), *k = malloc(T * D * sizeof(double));
    double *g = malloc(T * sizeof(double)), *be = in->beta ? malloc(T * sizeof(double)) : NULL;
    gka_status_t st = GKA_OK;
    gka_arith_t As, Ai;
    int have_s = 0, have_i = 0;
    if (!q || !k || !g || (in->beta && !be)) {
        st = gka_error(GKA_ENOMEM, "gpu check: out of memory");
        goto done;
    }
    head_of(c, rhs, b, h, D, q);
    head_of(c, in->k, b, h, D, k);
    head_of(c, in->g, b, h, 1, g);
    if (be) head_of(c, in->beta, b, h, 1, be);
    TRY(gka_arith_init_by_name(&As, fmt_state, acc_state, NULL, 0));
    have_s = 1;
    TRY(gka_arith_init_by_name(&Ai, fmt_iter, "round", NULL, 0));
    have_i = 1;
    TRY(gka_chebyshev_chunked(&As, &Ai, c->D, c->T, c->C, q, k, g, be, c->a, r, x, hn, HT));
done:
    if (have_s) gka_arith_destroy(&As);
    if (have_i) gka_arith_destroy(&Ai);
    free(q);
    free(k);
    free(g);
    free(be);
    return st;
}

/* Per-head CPU results gathered into [B, T, H, .] order (x, hn) and [B, H, D, D]. */
static gka_status_t cpu_all(const gka_gpu_config_t *c, const inputs_t *in, const float *rhs,
                            const char *fs, const char *fa, const char *fi, int r, double *x,
                            double *hn, double *HT) {
    const size_t T = (size_t)c->T, D = (size_t)c->D, H = (size_t)c->H;
    const int nh = c->B * c->H;
    gka_status_t st_all = GKA_OK;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
    for (int i = 0; i < nh; i++) {
        const int b = i / c->H, h = i % c->H;
        double *xh = malloc(T * D * sizeof(double)), *hh = malloc(T * sizeof(double));
        gka_status_t st = xh && hh ? GKA_OK : GKA_ENOMEM;
        if (!st)
            st = cpu_head(c, in, rhs, b, h, fs, fa, fi, r, xh, hh,
                          HT ? HT + (size_t)i * D * D : NULL);
        if (!st)
            for (size_t t = 0; t < T; t++) {
                const size_t tok = ((size_t)b * T + t) * H + (size_t)h;
                if (x) memcpy(x + tok * D, xh + t * D, D * sizeof(double));
                if (hn) hn[tok] = hh[t];
            }
        free(xh);
        free(hh);
        if (st) {
#ifdef _OPENMP
#pragma omp critical
#endif
            st_all = st;
        }
    }
    if (st_all == GKA_ENOMEM) return gka_error(GKA_ENOMEM, "gpu check: out of memory");
    return st_all;
}

static void to_double(double *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++)
        dst[i] = (double)src[i];
}

gka_status_t gka_gpu_check_forward(const gka_gpu_config_t *c, int with_beta, double gate_mu,
                                   uint64_t seed, int emulate, gka_gpu_fwd_check_t *res) {
    gka_status_t st = gka_gpu_check_config(c);
    if (st) return st;
    memset(res, 0, sizeof *res);
    res->x_emu = res->hn_emu = res->hT_emu = -1.0;
    inputs_t in;
    st = make_inputs(c, with_beta, gate_mu, seed, 0, &in);
    if (st) return st;
    dev_t d;
    memset(&d, 0, sizeof d);
    const size_t DD = (size_t)c->D * (size_t)c->D, nst = (size_t)c->B * (size_t)c->H * DD;
    float *x = malloc(in.nel * sizeof(float)), *hn = malloc(in.ntok * sizeof(float));
    float *hT = malloc(nst * sizeof(float));
    double *xg = malloc(in.nel * sizeof(double)), *x64 = malloc(in.nel * sizeof(double));
    double *xe = malloc(in.nel * sizeof(double)), *hng = malloc(in.ntok * sizeof(double));
    double *hn64 = malloc(in.ntok * sizeof(double)), *hne = malloc(in.ntok * sizeof(double));
    double *hTg = malloc(nst * sizeof(double)), *hT64 = malloc(nst * sizeof(double));
    double *hTe = malloc(nst * sizeof(double));
    if (!x || !hn || !hT || !xg || !x64 || !xe || !hng || !hn64 || !hne || !hTg || !hT64 || !hTe) {
        st = gka_error(GKA_ENOMEM, "gpu check: out of memory");
        goto done;
    }
    TRY(gpu_forward(c, &in, &d, x, hn, hT));
    res->finite = all_finite(x, in.nel) && all_finite(hn, in.ntok) && all_finite(hT, nst);
    TRY(cpu_all(c, &in, in.q, "fp64", "round", "fp64", c->r, x64, hn64, hT64));
    to_double(xg, x, in.nel);
    to_double(hng, hn, in.ntok);
    to_double(hTg, hT, nst);
    res->x_gpu = rel_err(xg, x64, in.nel);
    res->hn_gpu = rel_err(hng, hn64, in.ntok);
    res->hT_gpu = rel_err(hTg, hT64, nst);
    if (emulate) {
        TRY(cpu_all(c, &in, in.q, "bf16", "wide", "fp32", c->r, xe, hne, hTe));
        res->x_emu = rel_err(xe, x64, in.nel);
        res->hn_emu = rel_err(hne, hn64, in.ntok);
        res->hT_emu = rel_err(hTe, hT64, nst);
    }
done:
    dev_free(&d);
    free(x);
    free(hn);
    free(hT);
    free(xg);
    free(x64);
    free(xe);
    free(hng);
    free(hn64);
    free(hne);
    free(hTg);
    free(hT64);
    free(hTe);
    free_inputs(&in);
    return st;
}

/* CPU backward (solvers/backward.c, token form, implicit Chebyshev with the
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
        if (st) {
#ifdef _OPENMP
#pragma omp critical
#endif
            st_all = st;
        }
    }
    if (st_all == GKA_ENOMEM) return gka_error(GKA_ENOMEM, "gpu check: out of memory");
    return st_all;
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
    const double hn = sqrt(ss), lam = a * hn, s = hn > 0.0 ? 2.0 / (hn + 2.0 * lam) : 0.0;
    const double rho = 1.0 / (1.0 + 2.0 * a);
    double *d = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double));
    if (!d || !y) {
        free(d);
        free(y);
        for (size_t i = 0; i < n; i++)
            x[i] = NAN;
        *hn_out = NAN;
        return;
    }
    for (size_t i = 0; i < n; i++)
        x[i] = d[i] = s * (double)q[i];
    double om = 2.0;
    for (int it = 1; it <= r; it++) {
        om = 1.0 / (1.0 - 0.25 * rho * rho * om);
        for (size_t i = 0; i < n; i++) {
            double acc = 0.0;
            for (size_t j = 0; j < n; j++)
                acc += S[i * n + j] * x[j];
            y[i] = acc + lam * x[i] - (double)q[i];
        }
        for (size_t i = 0; i < n; i++) {
            d[i] = (om - 1.0) * d[i] - s * om * y[i];
            x[i] += d[i];
        }
    }
    *hn_out = hn;
    free(d);
    free(y);
}

gka_status_t gka_gpu_check_decode(int n, int D, int r, double a, gka_gpu_dtype_t dtype,
                                  int with_beta, uint64_t seed, gka_gpu_dec_check_t *res) {
    memset(res, 0, sizeof *res);
    gka_gpu_config_t c = {1, 1, n, D, 64, r, a, dtype};
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
