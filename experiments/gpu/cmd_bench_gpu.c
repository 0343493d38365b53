/* gka bench gpu: check the GPU kernels against the CPU chunk model and the
 * exact solution, then time them (CUDA events, warm, median of --reps runs)
 * and print a table of measured times with TFLOP/s and the fraction of the
 * tensor-core floor. */
#include "gka_cli.h"
#include "gka_gpu_check.h"
#include "gka_io.h"
#include "gka_kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The two ceilings of the floor columns, measured on nvidia-h100-x1 (an
 * H100 80GB HBM3, issue 6): a dense bf16 matrix product, and a device-to-device
 * copy counting bytes read plus written. */
#define PEAK_TFLOPS 694.0
#define COPY_TBS 3.0

static void usage(FILE *f) {
    fprintf(f,
            "usage: gka bench gpu [--check-only | --time-only] [--quick] [--reps N]\n"
            "                     [--seed S] [--csv FILE] [--profile T]\n"
            "Checks forward, backward and decode against the CPU references (the CPU chunk\n"
            "model of the kernels' arithmetic, the exact solution, fp64 gradients), then\n"
            "times forward, forward + backward and the state scan. Exit 1 if a check fails.\n"
            "--profile T: one forward + backward at B=1, H=16, D=128 (for ncu), nothing else.\n");
}

/* ---- checks -------------------------------------------------------------- */

static int run_checks(uint64_t seed, int quick, FILE *csv) {
    /* dk is sensitive to the forward's solve error: a numpy model of this
     * very arithmetic (bf16-operand solves for x and dq) gives 9.7% on the
     * first backward case (kernels/NOTES.md); dq, dg, dbeta stay ~1e-2 */
    const double tol_dq = 3e-2, tol_dk = 3e-1, tol_dg = 3e-2;
    const double tol_dec = 1e-4;
    const struct {
        int B, H, D, T, r;
        gka_gpu_dtype_t dt;
        int beta;
        double gate_mu;
        int state_fp32;
    } fc[] = {
        {1, 2, 128, 100, 30, GKA_GPU_BF16, 1, 4.0, 0}, /* partial last chunk */
        {2, 3, 128, 257, 30, GKA_GPU_BF16, 0, 4.0, 0},
        {1, 2, 64, 130, 30, GKA_GPU_FP16, 1, 4.0, 0},
        {2, 2, 64, 64, 30, GKA_GPU_FP32, 1, 1.0, 0},    /* strong decay */
        {1, 1, 128, 1, 30, GKA_GPU_BF16, 1, 4.0, 0},    /* T = 1 */
        {1, 4, 128, 200, 0, GKA_GPU_BF16, 1, 4.0, 0},   /* r = 0 */
        {1, 2, 128, 600, 30, GKA_GPU_BF16, 1, 6.0, 0},  /* several chunks, slow decay */
        {1, 2, 128, 600, 30, GKA_GPU_BF16, 1, 6.0, 1},  /* the same, fp32 chunk states */
        {1, 4, 128, 2048, 30, GKA_GPU_BF16, 1, 5.0, 0}, /* 124 chunk-start tokens */
        {1, 4, 128, 2048, 30, GKA_GPU_BF16, 1, 5.0, 1}, /* the same, fp32 chunk states */
        {1, 2, 64, 300, 30, GKA_GPU_FP16, 1, 4.0, 1},
    };
    const size_t nfc = quick ? 3 : sizeof fc / sizeof fc[0];
    int fails = 0;
    printf("# forward checks: relative norm error of the GPU vs the CPU chunk model (fp32 carry,"
           " fp32 iterates, same r) and vs the exact solution of the same rounded problem;"
           " worst token (vs exact) at chunk starts t = 64n and elsewhere\n");
    printf("%-5s %2s %2s %4s %5s %3s %2s %3s | %9s %9s %9s | %9s %9s %9s | %9s %9s | %9s %9s "
           "%9s %9s | %s\n",
           "dtype", "B", "H", "D", "T", "r", "bt", "s32", "x g-m", "hn g-m", "HT g-m", "x g-ex",
           "hn g-ex", "HT g-ex", "x m-ex", "hn m-ex", "wst g", "wrest g", "wst m", "wrest m",
           "result");
    for (size_t i = 0; i < nfc; i++) {
        gka_gpu_config_t c = {fc[i].B, fc[i].T, fc[i].H,  fc[i].D,         64,
                              fc[i].r, 0.02,    fc[i].dt, fc[i].state_fp32};
        gka_gpu_fwd_check_t res;
        gka_status_t st = gka_gpu_check_forward(&c, fc[i].beta, fc[i].gate_mu, seed + i, &res);
        if (st) {
            fprintf(stderr, "gka: forward check %zu: %s\n", i, gka_error_message());
            fails++;
            continue;
        }
        const int ok = res.finite && res.x_model < GKA_GPU_TOL_X_MODEL &&
                       res.hn_model < GKA_GPU_TOL_HN_MODEL && res.hT_model < GKA_GPU_TOL_HT_MODEL &&
                       (fc[i].r == 0 || res.x_exact < GKA_GPU_TOL_X_EXACT);
        fails += !ok;
        printf("%-5s %2d %2d %4d %5d %3d %2d %3d | %9.2e %9.2e %9.2e | %9.2e %9.2e %9.2e | %9.2e "
               "%9.2e | %9.2e %9.2e %9.2e %9.2e | %s%s\n",
               gka_gpu_dtype_name(fc[i].dt), fc[i].B, fc[i].H, fc[i].D, fc[i].T, fc[i].r,
               fc[i].beta, fc[i].state_fp32, res.x_model, res.hn_model, res.hT_model, res.x_exact,
               res.hn_exact, res.hT_exact, res.xm_exact, res.hnm_exact, res.xw_start, res.xw_other,
               res.xmw_start, res.xmw_other, ok ? "ok" : "FAIL",
               res.finite ? "" : " (non-finite output)");
        if (csv)
            fprintf(csv,
                    "check_fwd,%s,%d,%d,%d,%d,%d,%d,%d,%.6e,%.6e,%.6e,%.6e,%.6e,%.6e,%.6e,%.6e,"
                    "%.6e,%.6e,%.6e,%.6e,%d\n",
                    gka_gpu_dtype_name(fc[i].dt), fc[i].B, fc[i].H, fc[i].D, fc[i].T, fc[i].r,
                    fc[i].beta, fc[i].state_fp32, res.x_model, res.hn_model, res.hT_model,
                    res.x_exact, res.hn_exact, res.hT_exact, res.xm_exact, res.hnm_exact,
                    res.xw_start, res.xw_other, res.xmw_start, res.xmw_other, ok);
    }
    typedef struct {
        int B, H, D, T, r;
        gka_gpu_dtype_t dt;
        int beta;
        double gate_mu;
        int emulate;
    } bwd_case_t;
    const bwd_case_t bc[] = {
        {1, 2, 64, 150, 30, GKA_GPU_FP32, 1, 4.0, 1},
        {1, 2, 128, 130, 30, GKA_GPU_BF16, 1, 4.0, 0},
        {2, 1, 64, 200, 30, GKA_GPU_BF16, 0, 2.0, 0},
        {1, 2, 128, 250, 30, GKA_GPU_FP32, 1, 5.0, 0}, /* token-form limit T D^2 <= 2^22 */
    };
    const size_t nbc = quick ? 1 : sizeof bc / sizeof bc[0];
    printf("# backward checks: relative norm error vs gka_grad_token (solvers/grad.c: implicit"
           " Chebyshev, lambda path, same r) in fp64; emu = that function in emulated bf16\n");
    printf("%-6s %3s %3s %4s %5s %4s | %9s %9s %9s %9s | %9s %9s %9s %9s | %s\n", "dtype", "B", "H",
           "D", "T", "beta", "dq gpu", "dk gpu", "dg gpu", "dbeta gpu", "dq emu", "dk emu",
           "dg emu", "dbeta emu", "result");
    for (size_t i = 0; i < nbc; i++) {
        const bwd_case_t *f = &bc[i];
        gka_gpu_config_t c = {f->B, f->T, f->H, f->D, 64, f->r, 0.02, f->dt, 0};
        gka_gpu_bwd_check_t res;
        gka_status_t st =
            gka_gpu_check_backward(&c, f->beta, f->gate_mu, seed + 100 + i, f->emulate, &res);
        if (st) {
            fprintf(stderr, "gka: backward check %zu: %s\n", i, gka_error_message());
            fails++;
            continue;
        }
        const int ok = res.finite && res.dq < tol_dq && res.dk < tol_dk && res.dg < tol_dg &&
                       (!f->beta || res.dbeta < tol_dg);
        fails += !ok;
        printf(
            "%-6s %3d %3d %4d %5d %4d | %9.2e %9.2e %9.2e %9.2e | %9.2e %9.2e %9.2e %9.2e | %s%s\n",
            gka_gpu_dtype_name(f->dt), f->B, f->H, f->D, f->T, f->beta, res.dq, res.dk, res.dg,
            res.dbeta, res.dq_emu, res.dk_emu, res.dg_emu, res.dbeta_emu, ok ? "ok" : "FAIL",
            res.finite ? "" : " (non-finite)");
        if (csv)
            fprintf(csv,
                    "check_bwd,%s,%d,%d,%d,%d,%d,%d,0,%.6e,%.6e,%.6e,%.6e,%.6e,%.6e,,,,,,,%d\n",
                    gka_gpu_dtype_name(f->dt), f->B, f->H, f->D, f->T, f->r, f->beta, res.dq,
                    res.dk, res.dg, res.dbeta, res.dq_emu, res.dk_emu, ok);
    }
    printf("# decode checks: vs fp64 decode step\n");
    const struct {
        int n, D;
        gka_gpu_dtype_t dt;
        int beta;
    } dc[] = {{64, 128, GKA_GPU_FP32, 1}, {37, 64, GKA_GPU_FP32, 0}, {16, 128, GKA_GPU_BF16, 1}};
    for (size_t i = 0; i < sizeof dc / sizeof dc[0]; i++) {
        gka_gpu_dec_check_t res;
        gka_status_t st = gka_gpu_check_decode(dc[i].n, dc[i].D, 30, 0.02, dc[i].dt, dc[i].beta,
                                               seed + 200 + i, &res);
        if (st) {
            fprintf(stderr, "gka: decode check %zu: %s\n", i, gka_error_message());
            fails++;
            continue;
        }
        /* fp32 state and iterates: x to ~1e-6; bf16 output rounds x (2^-9) */
        const double tx = dc[i].dt == GKA_GPU_BF16 ? 8e-3 : tol_dec;
        const int ok = res.finite && res.x < tx && res.hn < tol_dec && res.state < tol_dec;
        fails += !ok;
        printf("decode n=%-5d D=%-4d %-5s beta=%d | x %9.2e  hn %9.2e  state %9.2e | %s\n", dc[i].n,
               dc[i].D, gka_gpu_dtype_name(dc[i].dt), dc[i].beta, res.x, res.hn, res.state,
               ok ? "ok" : "FAIL");
        if (csv)
            fprintf(csv, "check_dec,%s,%d,%d,%d,1,30,%d,0,%.6e,%.6e,%.6e,,,,,,,,,,%d\n",
                    gka_gpu_dtype_name(dc[i].dt), dc[i].n, 1, dc[i].D, dc[i].beta, res.x, res.hn,
                    res.state, ok);
    }
    return fails;
}

/* ---- timing -------------------------------------------------------------- */

typedef struct {
    gka_gpu_config_t c;
    void *q, *k, *x, *dx, *dq, *dk, *ws, *bws;
    float *g, *beta, *hn, *hT, *dg, *dbeta;
} bench_t;

static void bench_free(bench_t *b) {
    void *p[] = {b->q,   b->k, b->x,    b->dx, b->dq, b->dk, b->ws,
                 b->bws, b->g, b->beta, b->hn, b->hT, b->dg, b->dbeta};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        gka_gpu_free(p[i]);
}

/* Random device inputs (normalised rows; gates log sigmoid(N(4, 1))). */
static gka_status_t fill_random(gka_gpu_dtype_t dt, void *dst, size_t n, size_t rowlen,
                                uint64_t seed, int kind) {
    float *h = malloc(n * sizeof(float));
    void *tmp = malloc(n * 4);
    if (!h || !tmp) {
        free(h);
        free(tmp);
        return gka_error(GKA_ENOMEM, "bench: out of memory");
    }
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) { /* xorshift: fast, fresh per seed */
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        const double u = ((double)(s >> 11) + 0.5) * 0x1p-53;
        const double z = (u - 0.5) * 3.4641016151377544; /* unit variance */
        if (kind == 0)
            h[i] = (float)(z / sqrt((double)rowlen));
        else if (kind == 1)
            h[i] = (float)-log1p(exp(-(4.0 + z)));
        else
            h[i] = (float)(1.0 / (1.0 + exp(-z)));
    }
    gka_status_t st;
    if (kind == 0) {
        gka_gpu_from_float(dt, tmp, h, n);
        st = gka_gpu_upload(dst, tmp, n * gka_gpu_dtype_size(dt));
    } else {
        st = gka_gpu_upload(dst, h, n * sizeof(float));
    }
    free(h);
    free(tmp);
    return st;
}

/* Device buffers for forward and backward of one shape (bf16); the forward
 * workspace is sized for fp32 chunk states, which the bf16 layout fits in. */
static gka_status_t bench_setup(bench_t *b, int B, int H, int D, int T, int r, int bwd,
                                uint64_t seed) {
    memset(b, 0, sizeof *b);
    gka_gpu_config_t c = {B, T, H, D, 64, r, 0.02, GKA_GPU_BF16, 0};
    b->c = c;
    gka_status_t st = gka_gpu_check_config(&c);
    if (st) return st;
    gka_gpu_config_t c32 = c;
    c32.state_fp32 = 1;
    const size_t ntok = (size_t)B * (size_t)T * (size_t)H, nel = ntok * (size_t)D, es = 2;
    const size_t nst = (size_t)B * (size_t)H * (size_t)D * (size_t)D;
    if ((st = gka_gpu_alloc(&b->q, nel * es)) || (st = gka_gpu_alloc(&b->k, nel * es)) ||
        (st = gka_gpu_alloc(&b->x, nel * es)) || (st = gka_gpu_alloc((void **)&b->g, ntok * 4)) ||
        (st = gka_gpu_alloc((void **)&b->beta, ntok * 4)) ||
        (st = gka_gpu_alloc((void **)&b->hn, ntok * 4)) ||
        (st = gka_gpu_alloc((void **)&b->hT, nst * 4)) ||
        (st = gka_gpu_alloc(&b->ws, gka_gpu_fwd_workspace_bytes(&c32))))
        return st;
    if ((st = fill_random(c.dtype, b->q, nel, (size_t)D, seed, 0)) ||
        (st = fill_random(c.dtype, b->k, nel, (size_t)D, seed + 1, 0)) ||
        (st = fill_random(c.dtype, b->g, ntok, 1, seed + 2, 1)) ||
        (st = fill_random(c.dtype, b->beta, ntok, 1, seed + 3, 2)))
        return st;
    if (bwd) {
        if ((st = gka_gpu_alloc(&b->dx, nel * es)) || (st = gka_gpu_alloc(&b->dq, nel * es)) ||
            (st = gka_gpu_alloc(&b->dk, nel * es)) ||
            (st = gka_gpu_alloc((void **)&b->dg, ntok * 4)) ||
            (st = gka_gpu_alloc((void **)&b->dbeta, ntok * 4)) ||
            (st = gka_gpu_alloc(&b->bws, gka_gpu_bwd_workspace_bytes(&c))))
            return st;
        if ((st = fill_random(c.dtype, b->dx, nel, (size_t)D, seed + 4, 0))) return st;
    }
    return GKA_OK;
}

static gka_status_t run_fwd(bench_t *b) {
    return gka_gpu_forward(&b->c, b->q, b->k, b->g, b->beta, b->x, b->hn, b->hT, b->ws, NULL);
}
static gka_status_t run_fwd_bwd(bench_t *b) {
    gka_status_t st = run_fwd(b);
    if (st) return st;
    return gka_gpu_backward(&b->c, b->q, b->k, b->g, b->beta, b->x, b->hn, b->dx, b->dq, b->dk,
                            b->dg, b->dbeta, b->ws, b->bws, NULL);
}
static gka_status_t run_states(bench_t *b) {
    return gka_gpu_forward_states(&b->c, b->k, b->g, b->beta, b->hT, b->ws, NULL);
}
static gka_status_t run_fwd_fp32_states(bench_t *b) {
    gka_gpu_config_t c = b->c;
    c.state_fp32 = 1;
    return gka_gpu_forward(&c, b->q, b->k, b->g, b->beta, b->x, b->hn, b->hT, b->ws, NULL);
}

static int cmp_float(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Median, min and max of reps timed runs after warm-up runs. */
static gka_status_t time_it(gka_status_t (*fn)(bench_t *), bench_t *b, int reps, float *med,
                            float *mn, float *mx) {
    gka_gpu_timer_t *t = NULL;
    gka_status_t st = gka_gpu_timer_create(&t);
    float *ms = malloc((size_t)reps * sizeof(float));
    if (!ms && !st) st = gka_error(GKA_ENOMEM, "bench: out of memory");
    for (int i = 0; !st && i < 3; i++)
        st = fn(b);
    if (!st) st = gka_gpu_sync();
    for (int i = 0; !st && i < reps; i++) {
        st = gka_gpu_timer_start(t);
        if (!st) st = fn(b);
        if (!st) st = gka_gpu_timer_stop(t, &ms[i]);
    }
    if (!st) {
        qsort(ms, (size_t)reps, sizeof(float), cmp_float);
        *med = ms[reps / 2];
        *mn = ms[0];
        *mx = ms[reps - 1];
    }
    free(ms);
    gka_gpu_timer_destroy(t);
    return st;
}

/* FLOPs of the iterations: per chunk, head and iteration 2 C D^2 + 4 C^2 D. */
static double iter_flops(int B, int H, int D, int T, int r) {
    const double NC = (double)((T + 63) / 64);
    return NC * (double)B * (double)H * (double)r * (2.0 * 64 * D * D + 4.0 * 64 * 64 * D);
}

/* The table's shapes: issue 12's sequence lengths at B = 1, H = 16, D = 128;
 * the paper's layer (B = 4, H = 8); D = 64 and 256. */
static const struct {
    int B, H, D, T;
} TIMED[] = {{1, 16, 128, 2048},  {1, 16, 128, 4096}, {1, 16, 128, 8192}, {1, 16, 128, 16384},
             {1, 16, 128, 32768}, {4, 8, 128, 2048},  {4, 8, 128, 8192},  {4, 8, 128, 32768},
             {1, 16, 64, 8192},   {1, 16, 64, 32768}, {1, 16, 256, 8192}};

static void print_row_times(gka_status_t st, const float t[3]) {
    if (st)
        printf(" | %-26s", "failed");
    else
        printf(" | %8.4f %8.4f %8.4f", (double)t[0], (double)t[1], (double)t[2]);
}

static int run_timing(int quick, int reps, uint64_t seed, FILE *csv) {
    const size_t nt = quick ? 2 : sizeof TIMED / sizeof TIMED[0];
    int fails = 0;
    printf("# bf16, a = 0.02, C = 64, r = 30, beta on, gates log sigmoid(N(4,1)); CUDA events,"
           " 3 warm-up runs, median / min / max of %d runs (ms).\n"
           "# fwd: states + norms + iterations; fwd+bwd; scan: chunk gates + state scan alone;"
           " fwd s32: forward with fp32 chunk states. floor: iteration FLOPs at %.0f TFLOP/s\n",
           reps, PEAK_TFLOPS);
    printf("%2s %3s %4s %6s | %-26s | %-26s | %-26s | %-26s | %7s %8s %6s\n", "B", "H", "D", "T",
           "fwd med min max", "fwd+bwd med min max", "scan med min max", "fwd s32 med min max",
           "TFLOP/s", "floor", "floor%");
    for (size_t i = 0; i < nt; i++) {
        const int B = TIMED[i].B, H = TIMED[i].H, D = TIMED[i].D, T = TIMED[i].T;
        bench_t b;
        gka_status_t st = bench_setup(&b, B, H, D, T, 30, 1, seed + i);
        printf("%2d %3d %4d %6d", B, H, D, T);
        if (st) {
            printf(" | not run: %s\n", gka_error_message());
            bench_free(&b);
            continue;
        }
        gka_status_t (*fns[4])(bench_t *) = {run_fwd, run_fwd_bwd, run_states, run_fwd_fp32_states};
        float t[4][3] = {{0}};
        gka_status_t sts[4];
        for (int f = 0; f < 4; f++) {
            sts[f] = time_it(fns[f], &b, reps, &t[f][0], &t[f][1], &t[f][2]);
            if (sts[f]) {
                fprintf(stderr, "gka: bench B=%d H=%d D=%d T=%d part %d: %s\n", B, H, D, T, f,
                        gka_error_message());
                fails++;
            }
            print_row_times(sts[f], t[f]);
        }
        bench_free(&b);
        const double fl = iter_flops(B, H, D, T, 30);
        const double floor_ms = fl / (PEAK_TFLOPS * 1e12) * 1e3;
        if (!sts[0])
            printf(" | %7.1f %8.4f %5.1f%%\n", fl / ((double)t[0][0] * 1e-3) / 1e12, floor_ms,
                   100.0 * floor_ms / (double)t[0][0]);
        else
            printf(" |\n");
        if (csv)
            for (int f = 0; f < 4 && csv; f++)
                if (!sts[f])
                    fprintf(csv, "time_%s,bf16,%d,%d,%d,%d,30,1,%d,%.5f,%.5f,%.5f,%.5f,,,,,,,,,\n",
                            f == 0   ? "fwd"
                            : f == 1 ? "fwdbwd"
                            : f == 2 ? "scan"
                                     : "fwd",
                            B, H, D, T, f == 3, (double)t[f][0], (double)t[f][1], (double)t[f][2],
                            floor_ms);
    }
    printf("# decode step (bf16 q/k/x, fp32 state, D = 128, r = 30): floor = state read + write"
           " at %.1f TB/s\n",
           COPY_TBS);
    const int dn[] = {64, 256, 1024, 4096};
    for (size_t i = 0; i < sizeof dn / sizeof dn[0]; i++) {
        const int n = dn[i], D = 128;
        void *q = NULL, *k = NULL, *x = NULL;
        float *g = NULL, *S = NULL, *hn = NULL;
        gka_gpu_timer_t *t = NULL;
        float ms[64];
        const int nrep = reps < 64 ? reps : 64;
        gka_status_t st = GKA_OK;
        const size_t nz = (size_t)n, Dz = (size_t)D;
        if ((st = gka_gpu_alloc(&q, nz * Dz * 2)) || (st = gka_gpu_alloc(&k, nz * Dz * 2)) ||
            (st = gka_gpu_alloc(&x, nz * Dz * 2)) || (st = gka_gpu_alloc((void **)&g, nz * 4)) ||
            (st = gka_gpu_alloc((void **)&hn, nz * 4)) ||
            (st = gka_gpu_alloc((void **)&S, nz * Dz * Dz * 4)) ||
            (st = fill_random(GKA_GPU_BF16, q, nz * Dz, Dz, seed + 70, 0)) ||
            (st = fill_random(GKA_GPU_BF16, k, nz * Dz, Dz, seed + 71, 0)) ||
            (st = fill_random(GKA_GPU_BF16, g, nz, 1, seed + 72, 1)) ||
            (st = fill_random(GKA_GPU_FP32, S, nz * Dz * Dz, Dz, seed + 73, 0)) ||
            (st = gka_gpu_timer_create(&t)))
            goto dec_done;
        for (int w = 0; w < 3 && !st; w++)
            st = gka_gpu_decode(n, D, 30, 0.02, GKA_GPU_BF16, q, k, g, NULL, S, x, hn, NULL);
        for (int rr = 0; rr < nrep && !st; rr++) {
            st = gka_gpu_timer_start(t);
            if (!st)
                st = gka_gpu_decode(n, D, 30, 0.02, GKA_GPU_BF16, q, k, g, NULL, S, x, hn, NULL);
            if (!st) st = gka_gpu_timer_stop(t, &ms[rr]);
        }
    dec_done:
        gka_gpu_timer_destroy(t);
        gka_gpu_free(q);
        gka_gpu_free(k);
        gka_gpu_free(x);
        gka_gpu_free(g);
        gka_gpu_free(S);
        gka_gpu_free(hn);
        if (st) {
            fprintf(stderr, "gka: bench decode: %s\n", gka_error_message());
            fails++;
            continue;
        }
        qsort(ms, (size_t)nrep, sizeof(float), cmp_float);
        const double med = (double)ms[nrep / 2];
        const double bytes = 2.0 * n * (double)D * D * 4.0;
        const double floor_ms = bytes / (COPY_TBS * 1e12) * 1e3;
        const double fl = (double)n * 30.0 * 2.0 * D * D;
        printf(
            "%-8s BxH=%-5d D=%-4d r=30 | %9.4f %9.4f %9.4f | %8.2f %9.4f %7.1f%% | (GB/s %.0f)\n",
            "decode", n, D, med, (double)ms[0], (double)ms[nrep - 1], fl / (med * 1e-3) / 1e12,
            floor_ms, 100.0 * floor_ms / med, bytes / (med * 1e-3) / 1e9);
        if (csv)
            fprintf(csv, "time_decode,bf16,%d,1,%d,1,30,0,0,%.5f,%.5f,%.5f,%.5f,,,,,,,,,\n", n, D,
                    med, (double)ms[0], (double)ms[nrep - 1], floor_ms);
    }
    return fails;
}

int gka_cmd_bench_gpu(int argc, char **argv) {
    int check = 1, timing = 1, quick = 0;
    long reps = 30, profile_T = 0;
    uint64_t seed = 20261124;
    const char *csv_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return GKA_EXIT_OK;
        } else if (!strcmp(a, "--check-only")) {
            timing = 0;
        } else if (!strcmp(a, "--time-only")) {
            check = 0;
        } else if (!strcmp(a, "--quick")) {
            quick = 1;
        } else if (!strcmp(a, "--reps")) {
            if (!(v = gka_cli_value(argc, argv, &i)) ||
                gka_cli_parse_long(v, "--reps", 3, 1000, &reps))
                return GKA_EXIT_USAGE;
        } else if (!strcmp(a, "--seed")) {
            if (!(v = gka_cli_value(argc, argv, &i)) || gka_cli_parse_u64(v, "--seed", &seed))
                return GKA_EXIT_USAGE;
        } else if (!strcmp(a, "--profile")) {
            if (!(v = gka_cli_value(argc, argv, &i)) ||
                gka_cli_parse_long(v, "--profile", 1, 1L << 20, &profile_T))
                return GKA_EXIT_USAGE;
        } else if (!strcmp(a, "--csv")) {
            if (!(csv_path = gka_cli_value(argc, argv, &i))) return GKA_EXIT_USAGE;
        } else {
            usage(stderr);
            return gka_cli_fail(GKA_EXIT_USAGE, "bench gpu: unknown option '%s'", a);
        }
    }
    char name[256];
    int sms = 0;
    if (gka_gpu_info(name, sizeof name, &sms) != GKA_OK)
        return gka_cli_fail(GKA_EXIT_FAIL, "bench gpu: %s", gka_error_message());
    printf("# device: %s, %d SMs; seed %llu\n", name, sms, (unsigned long long)seed);
    gka_outfile_t out;
    FILE *csv = NULL;
    if (csv_path) {
        if (gka_outfile_open(&out, csv_path) != GKA_OK)
            return gka_cli_fail(GKA_EXIT_FAIL, "bench gpu: %s", gka_error_message());
        csv = out.fp;
        fprintf(csv,
                "# gka bench gpu, device %s\n"
                "kind,dtype,B,H,D,T,r,beta,state_fp32,v1,v2,v3,v4,v5,v6,v7,v8,v9,v10,v11,v12,ok\n",
                name);
    }
    int fails = 0;
    if (profile_T > 0) { /* one forward and one backward, for a profiler */
        bench_t b;
        gka_status_t st = bench_setup(&b, 1, 16, 128, (int)profile_T, 30, 1, seed);
        if (!st) st = run_fwd_bwd(&b);
        if (!st) st = gka_gpu_sync();
        bench_free(&b);
        if (st) return gka_cli_fail(GKA_EXIT_FAIL, "bench gpu: %s", gka_error_message());
        check = timing = 0;
    }
    if (check) fails += run_checks(seed, quick, csv);
    if (timing) fails += run_timing(quick, (int)reps, seed, csv);
    if (csv && gka_outfile_commit(&out) != GKA_OK)
        return gka_cli_fail(GKA_EXIT_FAIL, "bench gpu: %s", gka_error_message());
    if (fails) return gka_cli_fail(GKA_EXIT_FAIL, "bench gpu: %d check(s) or run(s) failed", fails);
    return GKA_EXIT_OK;
}
