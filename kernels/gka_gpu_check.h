/* Checks of the GPU kernels against the CPU references, shared by
 * `gka bench gpu` and tests/gpu/test_kernels.c. Each draws fresh seeded
 * random inputs (L2-normalised q, k; GKA-like gates g = log sigmoid(u),
 * u ~ N(gate_mu, 1); beta = sigmoid(N(0, 1))), rounds them to the dtype,
 * poisons the GPU outputs, runs the kernels, and compares in relative norm
 * error ||out - ref|| / ||ref||:
 *   forward: against gka_chebyshev_chunked (solvers/) in fp64 (same r: the
 *            same algorithm exactly) and, when emulate != 0, the same
 *            function in the emulated bf16-storage / fp32-iterate model, whose
 *            error against fp64 is reported beside the GPU's;
 *   backward: dq, dk, dg, dbeta against gka_grad_token (solvers/backward.c,
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

typedef struct {
    int finite;
    double x_gpu, x_emu;   /* x vs fp64: GPU, emulated bf16 model (-1 if not run) */
    double hn_gpu, hn_emu; /* ||H_t||_F */
    double hT_gpu, hT_emu; /* final state */
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
                                   uint64_t seed, int emulate, gka_gpu_fwd_check_t *res);
gka_status_t gka_gpu_check_backward(const gka_gpu_config_t *cfg, int with_beta, double gate_mu,
                                    uint64_t seed, int emulate, gka_gpu_bwd_check_t *res);
gka_status_t gka_gpu_check_decode(int n, int D, int r, double a, gka_gpu_dtype_t dtype,
                                  int with_beta, uint64_t seed, gka_gpu_dec_check_t *res);

#ifdef __cplusplus
}
#endif
#endif
