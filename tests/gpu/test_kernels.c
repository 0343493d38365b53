/* GPU kernels (kernels/) against the CPU references (experiments/gpu/
 * gpu_check.c): forward vs the CPU chunk model of the kernels' arithmetic
 * (fp32 carry, bf16 snapshots, fp32 iterates) and vs the exact solution of the
 * same rounded problem, backward vs solvers/grad.c (fp64), decode vs an
 * fp64 step. Without a usable GPU (CI) the GPU tests skip with a message; the
 * argument checks run everywhere. Tolerances: GKA_GPU_TOL_* (gka_gpu_check.h). */
#include <criterion/criterion.h>

#include <math.h>
#include <string.h>

#include "gka_gpu_check.h"
#include "gka_kernels.h"

static void need_gpu(void) {
    if (gka_gpu_info(NULL, 0, NULL) != GKA_OK)
        cr_skip_test("no usable CUDA GPU, GPU kernel test skipped (%s)", gka_error_message());
}

static void check_fwd(gka_gpu_config_t c, int beta, double gate_mu, uint64_t seed) {
    gka_gpu_fwd_check_t r;
    cr_assert_eq(gka_gpu_check_forward(&c, beta, gate_mu, seed, &r), GKA_OK, "%s",
                 gka_error_message());
    cr_assert(r.finite, "non-finite GPU output (poisoned outputs not all written?)");
    cr_assert(isfinite(r.x_model) && r.x_model < GKA_GPU_TOL_X_MODEL, "x vs model %g", r.x_model);
    cr_assert(isfinite(r.hn_model) && r.hn_model < GKA_GPU_TOL_HN_MODEL, "hnorm vs model %g",
              r.hn_model);
    cr_assert(isfinite(r.hT_model) && r.hT_model < GKA_GPU_TOL_HT_MODEL, "H_T vs model %g",
              r.hT_model);
    if (c.r > 0)
        cr_assert(isfinite(r.x_exact) && r.x_exact < GKA_GPU_TOL_X_EXACT, "x vs exact %g",
                  r.x_exact);
}

Test(kernels, forward_bf16_d128_partial_chunk) {
    need_gpu();
    gka_gpu_config_t c = {1, 100, 2, 128, 64, 30, 0.02, GKA_GPU_BF16, 0};
    check_fwd(c, 1, 4.0, 11);
}

Test(kernels, forward_bf16_d128_many_chunks) {
    need_gpu();
    gka_gpu_config_t c = {2, 321, 3, 128, 64, 30, 0.02, GKA_GPU_BF16, 0};
    check_fwd(c, 0, 5.0, 12);
}

Test(kernels, forward_fp16_d64) {
    need_gpu();
    gka_gpu_config_t c = {1, 130, 2, 64, 64, 30, 0.02, GKA_GPU_FP16, 0};
    check_fwd(c, 1, 4.0, 13);
}

Test(kernels, forward_fp32_strong_decay_single_token) {
    need_gpu();
    gka_gpu_config_t c = {2, 64, 2, 64, 64, 30, 0.02, GKA_GPU_FP32, 0};
    check_fwd(c, 1, 1.0, 14);
    gka_gpu_config_t c1 = {1, 1, 1, 128, 64, 30, 0.02, GKA_GPU_FP32, 0};
    check_fwd(c1, 1, 4.0, 15);
}

Test(kernels, forward_fp32_chunk_states) {
    need_gpu();
    gka_gpu_config_t c = {1, 600, 2, 128, 64, 30, 0.02, GKA_GPU_BF16, 1};
    check_fwd(c, 1, 6.0, 16);
    gka_gpu_config_t c64 = {1, 300, 2, 64, 64, 30, 0.02, GKA_GPU_FP16, 1};
    check_fwd(c64, 1, 4.0, 17);
}

Test(kernels, backward_matches_cpu_backward) {
    need_gpu();
    gka_gpu_config_t c = {1, 150, 2, 64, 64, 30, 0.02, GKA_GPU_FP32, 0};
    gka_gpu_bwd_check_t r;
    cr_assert_eq(gka_gpu_check_backward(&c, 1, 4.0, 21, 0, &r), GKA_OK, "%s", gka_error_message());
    cr_assert(r.finite, "non-finite gradient");
    cr_assert(r.dq < 3e-2, "dq rel err %g", r.dq);
    /* dk is sensitive to the bf16-operand solve error of x and dq: a model of
     * the same arithmetic gives ~10% (kernels/NOTES.md); 18% was measured */
    cr_assert(r.dk < 3e-1, "dk rel err %g", r.dk);
    cr_assert(r.dg < 3e-2, "dg rel err %g", r.dg);
    cr_assert(r.dbeta >= 0.0 && r.dbeta < 3e-2, "dbeta rel err %g", r.dbeta);
}

Test(kernels, decode_matches_fp64_step) {
    need_gpu();
    gka_gpu_dec_check_t r;
    cr_assert_eq(gka_gpu_check_decode(64, 128, 30, 0.02, GKA_GPU_FP32, 1, 31, &r), GKA_OK, "%s",
                 gka_error_message());
    cr_assert(r.finite);
    cr_assert(r.x < 1e-4 && r.hn < 1e-4 && r.state < 1e-4, "x %g hn %g state %g", r.x, r.hn,
              r.state);
}

/* Argument checks need no GPU. */
Test(kernels, rejects_unsupported_configurations) {
    gka_gpu_config_t ok = {1, 10, 1, 128, 64, 30, 0.02, GKA_GPU_BF16, 0};
    cr_assert_eq(gka_gpu_check_config(&ok), GKA_OK);
    gka_gpu_config_t c = ok;
    c.D = 96;
    cr_assert_eq(gka_gpu_check_config(&c), GKA_EINVAL);
    c = ok;
    c.C = 32;
    cr_assert_eq(gka_gpu_check_config(&c), GKA_EINVAL);
    c = ok;
    c.a = 0.0;
    cr_assert_eq(gka_gpu_check_config(&c), GKA_EINVAL);
    c = ok;
    c.a = NAN;
    cr_assert_eq(gka_gpu_check_config(&c), GKA_EINVAL);
    c = ok;
    c.r = -1;
    cr_assert_eq(gka_gpu_check_config(&c), GKA_EINVAL);
    c = ok;
    c.T = 0;
    cr_assert_eq(gka_gpu_check_config(&c), GKA_EINVAL);
    c = ok;
    c.B = 300;
    c.H = 300;
    cr_assert_eq(gka_gpu_check_config(&c), GKA_EINVAL);
    cr_assert_eq(gka_gpu_fwd_workspace_bytes(&c), 0u);
    cr_assert(gka_gpu_fwd_workspace_bytes(&ok) > 0u);
    c = ok;
    c.state_fp32 = 2;
    cr_assert_eq(gka_gpu_check_config(&c), GKA_EINVAL);
    cr_assert_eq(gka_gpu_decode(4, 96, 30, 0.02, GKA_GPU_BF16, NULL, NULL, NULL, NULL, NULL, NULL,
                                NULL, NULL),
                 GKA_EINVAL);
}

/* fp32 chunk states: the workspace holds fp32 states; the backward refuses
 * them before touching the device (no GPU needed). */
Test(kernels, fp32_chunk_states_forward_only) {
    gka_gpu_config_t c = {1, 640, 2, 128, 64, 30, 0.02, GKA_GPU_BF16, 0};
    const size_t b16 = gka_gpu_fwd_workspace_bytes(&c);
    c.state_fp32 = 1;
    const size_t b32 = gka_gpu_fwd_workspace_bytes(&c);
    cr_assert(b32 >= b16 + (size_t)2 * 10 * 2 * 128 * 128, "fp32 states %zu vs bf16 %zu", b32, b16);
    static _Alignas(16) unsigned char buf[64];
    float *f = (float *)buf;
    cr_assert_eq(
        gka_gpu_backward(&c, buf, buf, f, NULL, buf, f, buf, buf, buf, f, NULL, buf, buf, NULL),
        GKA_EUNSUP);
    cr_assert(strstr(gka_error_message(), "state_fp32") != NULL, "%s", gka_error_message());
}
