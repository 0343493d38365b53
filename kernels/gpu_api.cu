/* C host API of the GPU kernels: argument checks, workspace layout, the
 * sequence of launches, and CUDA errors turned into GKA_EDEVICE. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <new>

#include "gka_kernels_internal.cuh"

/* launch functions (chunk_state.cu, chunk_solve.cu, chunk_grad.cu, decode.cu) */
cudaError_t gka_launch_prep(const gka_geom &G, const float *g, const float *beta, float *gcum,
                            float *wf, float *glast, cudaStream_t st);
template <typename T, typename S>
cudaError_t gka_launch_state_fwd(const gka_geom &G, const T *k, const float *wf, const float *glast,
                                 S *states, float *h0sq, float *final_state, cudaStream_t st);
template <typename T>
cudaError_t gka_launch_state_bwd(const gka_geom &G, const T *k, const T *x, const T *dq,
                                 const float *w0, const float *w2, const float *glast,
                                 const float *h0c, const bf16 *h0, bf16 *gstates, cudaStream_t st);
template <typename T, typename S>
cudaError_t gka_launch_solve_fwd(const gka_geom &G, const T *q, const T *k, const S *states,
                                 const float *gcum, const float *g, const float *beta,
                                 const float *h0sq, float a, int r, T *x, float *hnorm,
                                 cudaStream_t st);
template <typename T>
cudaError_t gka_launch_solve_rhs(const gka_geom &G, const T *rhs, const T *k, const bf16 *states,
                                 const float *gcum, const float *g, const float *beta,
                                 const float *hnorm, float a, int r, T *out, cudaStream_t st);
template <typename T>
cudaError_t gka_launch_apply(const gka_geom &G, const T *x, const T *dq, const T *k,
                             const bf16 *states, const float *gcum, const float *g,
                             const float *beta, const float *hnorm, float *xdq, float *hxdq,
                             cudaStream_t st);
cudaError_t gka_launch_bwd_scalars(const gka_geom &G, const float *g, const float *beta,
                                   const float *gcum, const float *hnorm, const float *xdq,
                                   const float *hxdq, float a, float *rho, float *dh, float *w0,
                                   float *w2, float *h0c, cudaStream_t st);
template <typename T>
cudaError_t gka_launch_grad_y(const gka_geom &G, const T *k, const T *x, const T *dq,
                              const bf16 *states, const bf16 *gstates, const float *gcum,
                              const float *glast, const float *beta, const float *rho,
                              const float *dh, T *dk, float *e, float *dbeta, cudaStream_t st);
cudaError_t gka_launch_dg_scan(const gka_geom &G, const float *e, float *dg, cudaStream_t st);
template <typename T>
cudaError_t gka_launch_decode(int n, int D, int r, float a, const T *q, const T *k, const float *g,
                              const float *beta, float *state, T *x, float *hnorm, cudaStream_t st);

namespace {

#define GKA_CUDA_TRY(where, call)                                                                  \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess)                                                                     \
            return gka_error(GKA_EDEVICE, "%s: %s failed: %s", where, #call,                       \
                             cudaGetErrorString(e_));                                              \
    } while (0)

size_t align256(size_t n) {
    return (n + 255) & ~(size_t)255;
}

gka_geom geom_of(const gka_gpu_config_t *c) {
    gka_geom G;
    G.B = c->B;
    G.T = c->T;
    G.H = c->H;
    G.D = c->D;
    G.NC = (c->T + GKA_CHUNK - 1) / GKA_CHUNK;
    G.BH = (long long)c->B * c->H;
    return G;
}

struct FwdLayout {
    size_t states, gcum, wf, glast, h0sq, total;
};
FwdLayout fwd_layout(const gka_gpu_config_t *c) {
    const gka_geom G = geom_of(c);
    const size_t BH = (size_t)G.BH, NC = (size_t)G.NC, T = (size_t)G.T, D = (size_t)G.D;
    FwdLayout L;
    size_t off = 0;
    L.states = off;
    off += align256(BH * NC * D * D * (c->state_fp32 ? sizeof(float) : sizeof(bf16)));
    L.gcum = off;
    off += align256(BH * T * sizeof(float));
    L.wf = off;
    off += align256(BH * T * sizeof(float));
    L.glast = off;
    off += align256(BH * NC * sizeof(float));
    L.h0sq = off;
    off += align256(BH * NC * 4 * sizeof(float));
    L.total = off;
    return L;
}
gka_fwd_ws fwd_ws(const gka_gpu_config_t *c, void *base) {
    const FwdLayout L = fwd_layout(c);
    char *p = static_cast<char *>(base);
    gka_fwd_ws w;
    w.states = p + L.states;
    w.gcum = reinterpret_cast<float *>(p + L.gcum);
    w.wf = reinterpret_cast<float *>(p + L.wf);
    w.glast = reinterpret_cast<float *>(p + L.glast);
    w.h0sq = reinterpret_cast<float *>(p + L.h0sq);
    return w;
}
size_t bwd_bytes(const gka_gpu_config_t *c, gka_bwd_ws *w, void *base) {
    const gka_geom G = geom_of(c);
    const size_t BH = (size_t)G.BH, NC = (size_t)G.NC, T = (size_t)G.T, D = (size_t)G.D;
    char *p = static_cast<char *>(base);
    size_t off = 0;
    const size_t tok = align256(BH * T * sizeof(float));
    if (w) w->gstates = reinterpret_cast<bf16 *>(p + off);
    off += align256(BH * NC * D * D * sizeof(bf16));
    float **arrays[7] = {w ? &w->xdq : nullptr, w ? &w->hxdq : nullptr, w ? &w->rho : nullptr,
                         w ? &w->dh : nullptr,  w ? &w->w0 : nullptr,   w ? &w->w2 : nullptr,
                         w ? &w->e : nullptr};
    for (int i = 0; i < 7; i++) {
        if (w) *arrays[i] = reinterpret_cast<float *>(p + off);
        off += tok;
    }
    if (w) w->h0c = reinterpret_cast<float *>(p + off);
    off += align256(BH * NC * sizeof(float));
    return off;
}

bool aligned16(const void *p) {
    return ((uintptr_t)p & 15u) == 0;
}

/* Chunk bookkeeping and the scan over chunks: the chunk start states (bf16
 * snapshots, or fp32 with state_fp32), ||H_0||^2 and the final state. */
template <typename T, typename S>
cudaError_t states_t(const gka_geom &G, const gka_fwd_ws &w, const T *k, const float *g,
                     const float *beta, float *h_final, cudaStream_t st) {
    cudaError_t e = gka_launch_prep(G, g, beta, w.gcum, w.wf, w.glast, st);
    if (e != cudaSuccess) return e;
    return gka_launch_state_fwd<T, S>(G, k, w.wf, w.glast, static_cast<S *>(w.states), w.h0sq,
                                      h_final, st);
}

template <typename T, typename S>
gka_status_t forward_ts(const gka_gpu_config_t *c, const T *q, const T *k, const float *g,
                        const float *beta, T *x, float *hnorm, float *h_final, void *ws,
                        cudaStream_t st) {
    const gka_geom G = geom_of(c);
    const gka_fwd_ws w = fwd_ws(c, ws);
    const char *where = "gka_gpu_forward";
    GKA_CUDA_TRY(where, (states_t<T, S>(G, w, k, g, beta, h_final, st)));
    if (!q) return GKA_OK; /* the states alone (gka_gpu_forward_states) */
    GKA_CUDA_TRY(where,
                 (gka_launch_solve_fwd<T, S>(G, q, k, static_cast<const S *>(w.states), w.gcum, g,
                                             beta, w.h0sq, (float)c->a, c->r, x, hnorm, st)));
    return GKA_OK;
}

template <typename T>
gka_status_t forward_t(const gka_gpu_config_t *c, const T *q, const T *k, const float *g,
                       const float *beta, T *x, float *hnorm, float *h_final, void *ws,
                       cudaStream_t st) {
    return c->state_fp32 ? forward_ts<T, float>(c, q, k, g, beta, x, hnorm, h_final, ws, st)
                         : forward_ts<T, bf16>(c, q, k, g, beta, x, hnorm, h_final, ws, st);
}

/* Forward or (q == NULL) its states only, by dtype. */
gka_status_t forward_any(const gka_gpu_config_t *c, const void *q, const void *k, const float *g,
                         const float *beta, void *x, float *hnorm, float *h_final, void *ws,
                         cudaStream_t st) {
    switch (c->dtype) {
    case GKA_GPU_BF16:
        return forward_t<bf16>(c, (const bf16 *)q, (const bf16 *)k, g, beta, (bf16 *)x, hnorm,
                               h_final, ws, st);
    case GKA_GPU_FP16:
        return forward_t<__half>(c, (const __half *)q, (const __half *)k, g, beta, (__half *)x,
                                 hnorm, h_final, ws, st);
    default:
        return forward_t<float>(c, (const float *)q, (const float *)k, g, beta, (float *)x, hnorm,
                                h_final, ws, st);
    }
}

template <typename T>
gka_status_t backward_t(const gka_gpu_config_t *c, const T *q, const T *k, const float *g,
                        const float *beta, const T *x, const float *hnorm, const T *dx, T *dq,
                        T *dk, float *dg, float *dbeta, void *fws, void *bws, cudaStream_t st) {
    (void)q;
    const gka_geom G = geom_of(c);
    const gka_fwd_ws w = fwd_ws(c, fws);
    const bf16 *states = static_cast<const bf16 *>(w.states);
    gka_bwd_ws bw;
    bwd_bytes(c, &bw, bws);
    const float a = (float)c->a;
    const char *where = "gka_gpu_backward";
    GKA_CUDA_TRY(
        where, gka_launch_solve_rhs<T>(G, dx, k, states, w.gcum, g, beta, hnorm, a, c->r, dq, st));
    GKA_CUDA_TRY(where, gka_launch_apply<T>(G, x, dq, k, states, w.gcum, g, beta, hnorm, bw.xdq,
                                            bw.hxdq, st));
    GKA_CUDA_TRY(where, gka_launch_bwd_scalars(G, g, beta, w.gcum, hnorm, bw.xdq, bw.hxdq, a,
                                               bw.rho, bw.dh, bw.w0, bw.w2, bw.h0c, st));
    GKA_CUDA_TRY(where, gka_launch_state_bwd<T>(G, k, x, dq, bw.w0, bw.w2, w.glast, bw.h0c, states,
                                                bw.gstates, st));
    GKA_CUDA_TRY(where, gka_launch_grad_y<T>(G, k, x, dq, states, bw.gstates, w.gcum, w.glast, beta,
                                             bw.rho, bw.dh, dk, bw.e, beta ? dbeta : nullptr, st));
    GKA_CUDA_TRY(where, gka_launch_dg_scan(G, bw.e, dg, st));
    return GKA_OK;
}

} // namespace

extern "C" {

gka_status_t gka_gpu_check_config(const gka_gpu_config_t *c) {
    if (!c) return gka_error(GKA_EINVAL, "gka_gpu: configuration is NULL");
    if (c->B < 1 || c->T < 1 || c->H < 1)
        return gka_error(GKA_EINVAL, "gka_gpu: B=%d T=%d H=%d must all be >= 1", c->B, c->T, c->H);
    if ((long long)c->B * c->H > 65535)
        return gka_error(GKA_EINVAL, "gka_gpu: B*H=%lld exceeds 65535", (long long)c->B * c->H);
    if (c->D != 64 && c->D != 128)
        return gka_error(GKA_EINVAL, "gka_gpu: D=%d unsupported (64 or 128)", c->D);
    if (c->C != GKA_CHUNK)
        return gka_error(GKA_EINVAL, "gka_gpu: chunk size C=%d unsupported (64)", c->C);
    if (c->r < 0 || c->r > 1000)
        return gka_error(GKA_EINVAL, "gka_gpu: iterations r=%d outside [0, 1000]", c->r);
    if (!(c->a > 0.0) || !isfinite(c->a))
        return gka_error(GKA_EINVAL, "gka_gpu: ridge ratio a=%g must be finite and > 0", c->a);
    if (c->dtype != GKA_GPU_BF16 && c->dtype != GKA_GPU_FP16 && c->dtype != GKA_GPU_FP32)
        return gka_error(GKA_EINVAL, "gka_gpu: dtype %d unknown", (int)c->dtype);
    if (c->state_fp32 != 0 && c->state_fp32 != 1)
        return gka_error(GKA_EINVAL, "gka_gpu: state_fp32=%d must be 0 or 1", c->state_fp32);
    return GKA_OK;
}

size_t gka_gpu_fwd_workspace_bytes(const gka_gpu_config_t *c) {
    return gka_gpu_check_config(c) == GKA_OK ? fwd_layout(c).total : 0;
}

size_t gka_gpu_bwd_workspace_bytes(const gka_gpu_config_t *c) {
    return gka_gpu_check_config(c) == GKA_OK ? bwd_bytes(c, nullptr, nullptr) : 0;
}

gka_status_t gka_gpu_forward(const gka_gpu_config_t *c, const void *q, const void *k,
                             const float *g, const float *beta, void *x, float *hnorm,
                             float *h_final, void *ws, void *stream) {
    gka_status_t s = gka_gpu_check_config(c);
    if (s != GKA_OK) return s;
    if (!q || !k || !g || !x || !hnorm || !ws)
        return gka_error(GKA_EINVAL,
                         "gka_gpu_forward: q, k, g, x, hnorm and workspace are required");
    if (!aligned16(q) || !aligned16(k) || !aligned16(x) || !aligned16(ws))
        return gka_error(GKA_EINVAL, "gka_gpu_forward: q, k, x, workspace must be 16-byte aligned");
    return forward_any(c, q, k, g, beta, x, hnorm, h_final, ws, static_cast<cudaStream_t>(stream));
}

gka_status_t gka_gpu_forward_states(const gka_gpu_config_t *c, const void *k, const float *g,
                                    const float *beta, float *h_final, void *ws, void *stream) {
    gka_status_t s = gka_gpu_check_config(c);
    if (s != GKA_OK) return s;
    if (!k || !g || !ws)
        return gka_error(GKA_EINVAL, "gka_gpu_forward_states: k, g and workspace are required");
    if (!aligned16(k) || !aligned16(ws))
        return gka_error(GKA_EINVAL,
                         "gka_gpu_forward_states: k, workspace must be 16-byte aligned");
    return forward_any(c, nullptr, k, g, beta, nullptr, nullptr, h_final, ws,
                       static_cast<cudaStream_t>(stream));
}

gka_status_t gka_gpu_backward(const gka_gpu_config_t *c, const void *q, const void *k,
                              const float *g, const float *beta, const void *x, const float *hnorm,
                              const void *dx, void *dq, void *dk, float *dg, float *dbeta,
                              void *fws, void *bws, void *stream) {
    gka_status_t s = gka_gpu_check_config(c);
    if (s != GKA_OK) return s;
    if (!k || !g || !x || !hnorm || !dx || !dq || !dk || !dg || !fws || !bws)
        return gka_error(GKA_EINVAL, "gka_gpu_backward: a required pointer is NULL");
    if (beta && !dbeta)
        return gka_error(GKA_EINVAL, "gka_gpu_backward: beta given but dbeta is NULL");
    if (c->state_fp32)
        return gka_error(GKA_EUNSUP, "gka_gpu_backward: fp32 chunk states (state_fp32 = 1) are "
                                     "implemented for the forward only");
    if (!aligned16(k) || !aligned16(x) || !aligned16(dx) || !aligned16(dq) || !aligned16(dk) ||
        !aligned16(fws) || !aligned16(bws))
        return gka_error(GKA_EINVAL, "gka_gpu_backward: tensors must be 16-byte aligned");
    cudaStream_t st = static_cast<cudaStream_t>(stream);
    switch (c->dtype) {
    case GKA_GPU_BF16:
        return backward_t<bf16>(c, (const bf16 *)q, (const bf16 *)k, g, beta, (const bf16 *)x,
                                hnorm, (const bf16 *)dx, (bf16 *)dq, (bf16 *)dk, dg, dbeta, fws,
                                bws, st);
    case GKA_GPU_FP16:
        return backward_t<__half>(c, (const __half *)q, (const __half *)k, g, beta,
                                  (const __half *)x, hnorm, (const __half *)dx, (__half *)dq,
                                  (__half *)dk, dg, dbeta, fws, bws, st);
    default:
        return backward_t<float>(c, (const float *)q, (const float *)k, g, beta, (const float *)x,
                                 hnorm, (const float *)dx, (float *)dq, (float *)dk, dg, dbeta, fws,
                                 bws, st);
    }
}

gka_status_t gka_gpu_decode(int n, int D, int r, double a, gka_gpu_dtype_t dtype, const void *q,
                            const void *k, const float *g, const float *beta, float *state, void *x,
                            float *hnorm, void *stream) {
    if (n < 1 || n > 2147483647)
        return gka_error(GKA_EINVAL, "gka_gpu_decode: n=%d must be >= 1", n);
    if (D != 64 && D != 128) return gka_error(GKA_EINVAL, "gka_gpu_decode: D=%d unsupported", D);
    if (r < 0 || r > 1000)
        return gka_error(GKA_EINVAL, "gka_gpu_decode: r=%d outside [0, 1000]", r);
    if (!(a > 0.0) || !isfinite(a))
        return gka_error(GKA_EINVAL, "gka_gpu_decode: a=%g must be finite and > 0", a);
    if (!q || !k || !g || !state || !x || !hnorm)
        return gka_error(GKA_EINVAL, "gka_gpu_decode: a required pointer is NULL");
    if (!aligned16(state))
        return gka_error(GKA_EINVAL, "gka_gpu_decode: state not 16-byte aligned");
    cudaStream_t st = static_cast<cudaStream_t>(stream);
    const char *where = "gka_gpu_decode";
    const float af = (float)a;
    switch (dtype) {
    case GKA_GPU_BF16:
        GKA_CUDA_TRY(where, gka_launch_decode<bf16>(n, D, r, af, (const bf16 *)q, (const bf16 *)k,
                                                    g, beta, state, (bf16 *)x, hnorm, st));
        break;
    case GKA_GPU_FP16:
        GKA_CUDA_TRY(where,
                     gka_launch_decode<__half>(n, D, r, af, (const __half *)q, (const __half *)k, g,
                                               beta, state, (__half *)x, hnorm, st));
        break;
    case GKA_GPU_FP32:
        GKA_CUDA_TRY(where,
                     gka_launch_decode<float>(n, D, r, af, (const float *)q, (const float *)k, g,
                                              beta, state, (float *)x, hnorm, st));
        break;
    default:
        return gka_error(GKA_EINVAL, "gka_gpu_decode: dtype %d unknown", (int)dtype);
    }
    return GKA_OK;
}

gka_status_t gka_gpu_info(char *name, size_t name_size, int *sm_count) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n < 1)
        return gka_error(GKA_EDEVICE, "gka_gpu_info: no CUDA device (%s)",
                         e != cudaSuccess ? cudaGetErrorString(e) : "count is 0");
    cudaDeviceProp p;
    GKA_CUDA_TRY("gka_gpu_info", cudaGetDeviceProperties(&p, 0));
    if (p.major < 8)
        return gka_error(GKA_EDEVICE,
                         "gka_gpu_info: device '%s' has compute capability %d.%d (< 8.0)", p.name,
                         p.major, p.minor);
    if (name && name_size) {
        strncpy(name, p.name, name_size - 1);
        name[name_size - 1] = '\0';
    }
    if (sm_count) *sm_count = p.multiProcessorCount;
    return GKA_OK;
}

gka_status_t gka_gpu_alloc(void **ptr, size_t bytes) {
    *ptr = nullptr;
    GKA_CUDA_TRY("gka_gpu_alloc", cudaMalloc(ptr, bytes ? bytes : 1));
    return GKA_OK;
}
void gka_gpu_free(void *ptr) {
    if (ptr) (void)cudaFree(ptr);
}
gka_status_t gka_gpu_upload(void *dst, const void *src, size_t bytes) {
    GKA_CUDA_TRY("gka_gpu_upload", cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
    return GKA_OK;
}
gka_status_t gka_gpu_download(void *dst, const void *src, size_t bytes) {
    GKA_CUDA_TRY("gka_gpu_download", cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
    return GKA_OK;
}
gka_status_t gka_gpu_poison(void *ptr, size_t bytes) {
    GKA_CUDA_TRY("gka_gpu_poison", cudaMemset(ptr, 0xFF, bytes));
    return GKA_OK;
}
gka_status_t gka_gpu_sync(void) {
    GKA_CUDA_TRY("gka_gpu_sync", cudaDeviceSynchronize());
    GKA_CUDA_TRY("gka_gpu_sync", cudaGetLastError());
    return GKA_OK;
}

size_t gka_gpu_dtype_size(gka_gpu_dtype_t d) {
    return d == GKA_GPU_FP32 ? 4 : 2;
}
const char *gka_gpu_dtype_name(gka_gpu_dtype_t d) {
    return d == GKA_GPU_BF16 ? "bf16" : d == GKA_GPU_FP16 ? "fp16" : "fp32";
}
void gka_gpu_from_float(gka_gpu_dtype_t d, void *dst, const float *src, size_t n) {
    if (d == GKA_GPU_FP32) {
        memcpy(dst, src, n * sizeof(float));
    } else if (d == GKA_GPU_BF16) {
        bf16 *o = static_cast<bf16 *>(dst);
        for (size_t i = 0; i < n; i++)
            o[i] = __float2bfloat16_rn(src[i]);
    } else {
        __half *o = static_cast<__half *>(dst);
        for (size_t i = 0; i < n; i++)
            o[i] = __float2half_rn(src[i]);
    }
}
void gka_gpu_to_float(gka_gpu_dtype_t d, float *dst, const void *src, size_t n) {
    if (d == GKA_GPU_FP32) {
        memcpy(dst, src, n * sizeof(float));
    } else if (d == GKA_GPU_BF16) {
        const bf16 *s = static_cast<const bf16 *>(src);
        for (size_t i = 0; i < n; i++)
            dst[i] = __bfloat162float(s[i]);
    } else {
        const __half *s = static_cast<const __half *>(src);
        for (size_t i = 0; i < n; i++)
            dst[i] = __half2float(s[i]);
    }
}

struct gka_gpu_timer {
    cudaEvent_t a, b;
};
gka_status_t gka_gpu_timer_create(gka_gpu_timer_t **t) {
    *t = new (std::nothrow) gka_gpu_timer;
    if (!*t) return gka_error(GKA_ENOMEM, "gka_gpu_timer_create: out of memory");
    GKA_CUDA_TRY("gka_gpu_timer_create", cudaEventCreate(&(*t)->a));
    GKA_CUDA_TRY("gka_gpu_timer_create", cudaEventCreate(&(*t)->b));
    return GKA_OK;
}
gka_status_t gka_gpu_timer_start(gka_gpu_timer_t *t) {
    GKA_CUDA_TRY("gka_gpu_timer_start", cudaEventRecord(t->a, 0));
    return GKA_OK;
}
gka_status_t gka_gpu_timer_stop(gka_gpu_timer_t *t, float *ms) {
    GKA_CUDA_TRY("gka_gpu_timer_stop", cudaEventRecord(t->b, 0));
    GKA_CUDA_TRY("gka_gpu_timer_stop", cudaEventSynchronize(t->b));
    GKA_CUDA_TRY("gka_gpu_timer_stop", cudaGetLastError());
    GKA_CUDA_TRY("gka_gpu_timer_stop", cudaEventElapsedTime(ms, t->a, t->b));
    return GKA_OK;
}
void gka_gpu_timer_destroy(gka_gpu_timer_t *t) {
    if (!t) return;
    (void)cudaEventDestroy(t->a);
    (void)cudaEventDestroy(t->b);
    delete t;
}

} /* extern "C" */
