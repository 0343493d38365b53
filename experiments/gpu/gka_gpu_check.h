/* Checks of the GPU kernels against the CPU references, shared by
 * `gka bench gpu` and tests/gpu/test_kernels.c. Each draws fresh seeded
 * random inputs (L2-normalised q, k; GKA-like gates g = log sigmoid(u),
 * u ~ N(gate_mu, 1); beta = sigmoid(N(0, 1))), rounds them to the dtype,
 * poisons the GPU outputs, runs the kernels, and compares in relative norm
 * error ||out - ref|| / ||ref||:
 *   forward: against the CPU chunk model of the kernels' arithmetic
 *            (gka_chebyshev_chunked, solvers/chebyshev_chunk.c: running state
 *            carried in fp32, fp32 iterates, scalars and products, same r)
 *            and against the exact solution of the same rounded problem
 *            (H_t in fp64 token by token, Cholesky per token); the model's
 *            own error against the exact solution is reported beside;
 *   backward: dq, dk, dg, dbeta against gka_grad_token (solvers/grad.c,
 *            implicit Chebyshev gradients with the lambda path, same r) in
 *            fp64 and, when emulate != 0, in the emulated bf16 table;
 *   decode:  against an fp64 decode step (state update, norm, r iterations).
 * A non-finite GPU output sets finite = 0 (NaN never passes). */
#ifndef GKA_GPU_CHECK_H
#define GKA_GPU_CHECK_H

#include <stdint.h>

#include "gka_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Tolerances of the forward check: about 2x the largest values measured on
 * an H100 (kernels/NOTES.md, "Correctness", 2026-12-06: x GPU vs model <=
 * 2.6e-3, ||H|| <= 2.0e-4, state <= 2.7e-3, x GPU vs exact <= 2.6e-3). The x
 * vs exact test applies for r > 0 only (r = 0 returns x_0 = s q). */
#define GKA_GPU_TOL_X_MODEL 5e-3
#define GKA_GPU_TOL_HN_MODEL 5e-4
#define GKA_GPU_TOL_HT_MODEL 6e-3
#define GKA_GPU_TOL_X_EXACT 6e-3

typedef struct {
    int finite;
    double x_model, hn_model, hT_model; /* GPU vs the CPU chunk model */
    double x_exact, hn_exact, hT_exact; /* GPU vs the exact solution */
    double xm_exact, hnm_exact;         /* the CPU chunk model vs the exact solution */
    /* worst relative error of one token's x vs the exact solution, over the
     * chunk-start tokens t = 64 n (n >= 1) and over the others: GPU, model */
    double xw_start, xw_other, xmw_start, xmw_other;
} gka_gpu_fwd_check_t;

typedef struct {
    int finite;
    double dq, dk, dg, dbeta;                 /* GPU vs fp64 (dbeta -1: no beta) */
    double dq_emu, dk_emu, dg_emu, dbeta_emu; /* emulated bf16 model vs fp64 (-1: not run) */
} gka_gpu_bwd_check_t;

typedef struct {
    int finite;
    double x, hn, state;
} gka_gpu_dec_check_t;

gka_status_t gka_gpu_check_forward(const gka_gpu_config_t *cfg, int with_beta, double gate_mu,
                                   uint64_t seed, gka_gpu_fwd_check_t *res);
gka_status_t gka_gpu_check_backward(const gka_gpu_config_t *cfg, int with_beta, double gate_mu,
                                    uint64_t seed, int emulate, gka_gpu_bwd_check_t *res);
gka_status_t gka_gpu_check_decode(int n, int D, int r, double a, gka_gpu_dtype_t dtype,
                                  int with_beta, uint64_t seed, gka_gpu_dec_check_t *res);

#ifdef __cplusplus
}
#endif
#endif
