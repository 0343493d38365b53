/* GPU kernels for the chunked Chebyshev solve of GKA (docs/MATH.md §3, §4):
 * forward (chunk start states by a scan over chunks, ||H_t||_F per token by
 * the chunk formula, r Chebyshev iterations with all tokens of a chunk on the
 * tensor cores), backward (implicit differentiation with the lambda path) and
 * a decode step against a carried fp32 state. Plain C interface: every CUDA
 * failure is returned as GKA_EDEVICE with a message naming the call; nothing
 * here exits, aborts or prints.
 *
 * Layouts (row-major, device pointers):
 *   q, k, x, dx, dq, dk  [B, T, H, D] in cfg->dtype
 *   g, beta, dg, dbeta   [B, T, H] float (beta may be NULL: beta = 1)
 *   hnorm                [B, T, H] float, ||H_t||_F
 *   h_final              [B, H, D, D] float (may be NULL)
 * Arithmetic: matrix operands bf16 (inputs, chunk states and the iterate
 * rounded to bf16 as tensor-core operands), fp32 accumulation, the running
 * state of the scan over chunks in fp32, fp32 iterates and scalars. */
#ifndef GKA_KERNELS_H
#define GKA_KERNELS_H

#include <stddef.h>

#include "gka_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { GKA_GPU_BF16 = 0, GKA_GPU_FP16 = 1, GKA_GPU_FP32 = 2 } gka_gpu_dtype_t;

typedef struct {
    int B, T, H, D; /* batch, tokens, heads, head dimension (64 or 128) */
    int C;          /* chunk size: 64 */
    int r;          /* Chebyshev iterations, 0 <= r <= 1000 */
    double a;       /* ridge ratio, lambda_t = a ||H_t||_F, a > 0 */
    gka_gpu_dtype_t dtype;
    int state_fp32; /* 0: chunk start states stored as bf16 snapshots (the default);
                       1: stored in fp32 and applied as two bf16 operands hi + lo
                       (forward only; the backward refuses it with GKA_EUNSUP) */
} gka_gpu_config_t;

/* GKA_EINVAL naming the field when the configuration is not supported. */
gka_status_t gka_gpu_check_config(const gka_gpu_config_t *cfg);

/* Bytes of the forward workspace (chunk start states in bf16 or fp32, chunk-local
 * cumulative gates, per-chunk ||H_0||^2). The backward reads it as the
 * forward left it. */
size_t gka_gpu_fwd_workspace_bytes(const gka_gpu_config_t *cfg);
/* Bytes of the extra workspace of the backward. */
size_t gka_gpu_bwd_workspace_bytes(const gka_gpu_config_t *cfg);

/* Forward. `stream` is a cudaStream_t (NULL: the default stream). */
gka_status_t gka_gpu_forward(const gka_gpu_config_t *cfg, const void *q, const void *k,
                             const float *g, const float *beta, void *x, float *hnorm,
                             float *h_final, void *fwd_workspace, void *stream);

/* The first part of the forward alone: chunk-local gates and the scan over
 * chunks that writes the chunk start states (and ||H_0||^2) into the
 * workspace, h_final (may be NULL) the final state. For benchmarks. */
gka_status_t gka_gpu_forward_states(const gka_gpu_config_t *cfg, const void *k, const float *g,
                                    const float *beta, float *h_final, void *fwd_workspace,
                                    void *stream);

/* Backward of x with respect to q, k, g (and beta when beta != NULL; dbeta
 * is then required), given dx, the forward's x and hnorm and its workspace. */
gka_status_t gka_gpu_backward(const gka_gpu_config_t *cfg, const void *q, const void *k,
                              const float *g, const float *beta, const void *x, const float *hnorm,
                              const void *dx, void *dq, void *dk, float *dg, float *dbeta,
                              void *fwd_workspace, void *bwd_workspace, void *stream);

/* Decode step for n = B*H independent sequences: state[n] (D x D fp32, in
 * place) = exp(g) state + beta^2 k k^T, then x = (state + lambda I)^{-1} q by
 * r Chebyshev iterations in fp32. q, k, x: [n, D] in dtype; g, beta, hnorm: [n]. */
gka_status_t gka_gpu_decode(int n, int D, int r, double a, gka_gpu_dtype_t dtype, const void *q,
                            const void *k, const float *g, const float *beta, float *state, void *x,
                            float *hnorm, void *stream);

/* ---- small host helpers, so that C callers need no CUDA headers ---------- */

/* GKA_EDEVICE when no usable GPU is present; name may be NULL. */
gka_status_t gka_gpu_info(char *name, size_t name_size, int *sm_count);
gka_status_t gka_gpu_alloc(void **ptr, size_t bytes);
void gka_gpu_free(void *ptr);
gka_status_t gka_gpu_upload(void *dst, const void *src, size_t bytes);
gka_status_t gka_gpu_download(void *dst, const void *src, size_t bytes);
/* Fill device memory with a byte pattern (0xFF gives NaN in every dtype). */
gka_status_t gka_gpu_poison(void *ptr, size_t bytes);
gka_status_t gka_gpu_sync(void);

/* Bytes per element of a dtype; host conversions (round to nearest even). */
size_t gka_gpu_dtype_size(gka_gpu_dtype_t dtype);
const char *gka_gpu_dtype_name(gka_gpu_dtype_t dtype);
void gka_gpu_from_float(gka_gpu_dtype_t dtype, void *dst, const float *src, size_t n);
void gka_gpu_to_float(gka_gpu_dtype_t dtype, float *dst, const void *src, size_t n);

/* Event timer on the default stream. */
typedef struct gka_gpu_timer gka_gpu_timer_t;
gka_status_t gka_gpu_timer_create(gka_gpu_timer_t **t);
gka_status_t gka_gpu_timer_start(gka_gpu_timer_t *t);
gka_status_t gka_gpu_timer_stop(gka_gpu_timer_t *t, float *ms); /* synchronises */
void gka_gpu_timer_destroy(gka_gpu_timer_t *t);

#ifdef __cplusplus
}
#endif
#endif
