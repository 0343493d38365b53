/* gka bench solve: per-token cost (stream update + solve) of each solver at
 * D = 64 and 128 under native fp64 (the fp64 table), emulated fp32, emulated
 * bf16 with fp32 accumulation, and a hand-written native-float Chebyshev as
 * the baseline of the emulation overhead. */
#define _POSIX_C_SOURCE 200809L
#include "gka_cli.h"
#include "gka_data.h"
#include "gka_solver.h"
#include "gka_stream.h"
#include "options.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Native float: H update, ||H||_F, lambda and r Chebyshev steps per token,
 * the schedule and step from gka_iteration.h (the solvers' own). Returns seconds; *check gets
 * a checksum so the work cannot be optimised away. */
static double native_float_chebyshev(const gka_trace_t *tr, int r, float a, double *check) {
    const int D = tr->D;
    const size_t n = (size_t)D;
    float *H = calloc(n * n, sizeof(float)), *k = malloc(n * sizeof(float));
    float *q = malloc(n * sizeof(float)), *xp = malloc(n * sizeof(float));
    float *xc = malloc(n * sizeof(float)), *res = malloc(n * sizeof(float));
    double sum = 0.0, t0 = now_s();
    for (long t = 0; H && k && q && xp && xc && res && t < tr->T; t++) {
        for (size_t i = 0; i < n; i++)
            k[i] = (float)tr->k[(size_t)t * n + i], q[i] = (float)tr->q[(size_t)t * n + i];
        const float gamma = tr->g ? (float)exp(tr->g[t]) : 1.0f;
        if (gamma != 1.0f)
            for (size_t i = 0; i < n * n; i++)
                H[i] = gamma * H[i];
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                H[i * n + j] = H[i * n + j] + k[i] * k[j];
        float acc = 0.0f;
        for (size_t i = 0; i < n * n; i++)
            acc = acc + H[i] * H[i];
        const float hn = sqrtf(acc), lam = a * hn;
        float rho, s;
        gka_cheb_params_f(hn, lam, &rho, &s);
        const float quarter_rho_sq = gka_cheb_quarter_rho_sq_f(rho);
        for (size_t i = 0; i < n; i++)
            xp[i] = 0.0f, xc[i] = s * q[i];
        float omega = (float)GKA_CHEB_OMEGA0;
        for (int it = 1; it <= r; it++) {
            omega = gka_cheb_omega_next_f(quarter_rho_sq, omega);
            for (size_t i = 0; i < n; i++) {
                float y = 0.0f;
                for (size_t j = 0; j < n; j++)
                    y = y + H[i * n + j] * xc[j];
                res[i] = y + lam * xc[i] - q[i];
            }
            const float neg_s_omega = -(s * omega), omega_minus_1 = omega - 1.0f;
            for (size_t i = 0; i < n; i++) {
                const float xn =
                    gka_cheb_update_f(xc[i], xp[i], res[i], neg_s_omega, omega_minus_1);
                xp[i] = xc[i];
                xc[i] = xn;
            }
        }
        sum += (double)xc[0];
    }
    double el = now_s() - t0;
    *check = sum;
    free(H), free(k), free(q), free(xp), free(xc), free(res);
    return el;
}

typedef struct {
    const char *label, *format, *accum;
} bench_arith_t;

static const bench_arith_t ariths[] = {
    {"fp64", "fp64", "round"}, {"fp32-emu", "fp32", "round"}, {"bf16/fp32", "bf16", "wide"}};

/* Seconds per token of one solver under one arithmetic (stream + solve). */
static int time_solver(const gka_trace_t *tr, const char *solver, const bench_arith_t *ar, int r,
                       int repeat, double *per_token) {
    gka_run_config_t c = gka_run_config_default();
    c.D = tr->D, c.T = tr->T, c.q = tr->q, c.k = tr->k, c.g = tr->g;
    c.solver = solver, c.format = ar->format, c.accum = ar->accum;
    c.opts.iters = r;
    c.no_reference = 1;
    gka_run_summary_t s;
    *per_token = INFINITY;
    for (int i = 0; i < repeat; i++) { /* the minimum: the machine is shared */
        const gka_status_t st = gka_run(&c, &s);
        if (st != GKA_OK) return gka_cli_fail_status(st, GKA_STAGE_RUN, NULL);
        *per_token = fmin(*per_token, s.solve_seconds / (double)tr->T);
    }
    return 0;
}

int gka_cmd_bench_solve(int argc, char **argv) {
    gka_opts_t o;
    const int rc = gka_opts_parse(GKA_CMD_BENCH_SOLVE, argc, argv, &o);
    if (rc >= 0) return rc;
    const long T = gka_opt_long(&o, GKA_OPT_T), r = gka_opt_long(&o, GKA_OPT_ITERS);
    const long repeat = gka_opt_long(&o, GKA_OPT_REPEAT);
    const uint64_t seed = gka_opt_u64(&o, GKA_OPT_SEED);
    const size_t nsolvers = gka_opt_count(&o, GKA_OPT_SOLVERS);
    for (size_t i = 0; i < nsolvers; i++) {
        const gka_solver_ops_t *ops;
        if (gka_solver_find(gka_opt_name_at(&o, GKA_OPT_SOLVERS, i), &ops))
            return gka_cli_fail_status(GKA_EINVAL, GKA_STAGE_INPUT, "--solvers");
    }
    printf("gka bench solve: T = %ld tokens, r = %ld, adaptive:0.02, iid keys, gka gates; "
           "microseconds per token (min of %ld)\n",
           T, r, repeat);
    printf("%5s %-10s %12s %12s %12s %12s %10s\n", "D", "solver", "fp64", "fp32-emu", "bf16/fp32",
           "native-f32", "bf16/f32");
    for (size_t di = 0; di < gka_opt_count(&o, GKA_OPT_D); di++) {
        const long D = gka_opt_long_at(&o, GKA_OPT_D, di);
        gka_synth_config_t cfg = gka_synth_config_default((int)D, T, seed);
        gka_gate_spec_parse("gka", &cfg.gate);
        gka_trace_t tr = {0};
        gka_status_t st = gka_synth_generate(&cfg, &tr);
        if (st) return gka_cli_fail_status(st, GKA_STAGE_RUN, NULL);
        double check = 0.0, native = INFINITY;
        for (long i = 0; i < repeat; i++)
            native = fmin(native, native_float_chebyshev(&tr, (int)r, 0.02f, &check) / (double)T);
        for (size_t si = 0; si < nsolvers; si++) {
            const char *s = gka_opt_name_at(&o, GKA_OPT_SOLVERS, si);
            double us[3];
            for (int a = 0; a < 3; a++)
                if (time_solver(&tr, s, &ariths[a], (int)r, (int)repeat, &us[a]))
                    return gka_trace_free(&tr), GKA_EXIT_FAIL;
            const int cheb = !strcmp(s, "chebyshev");
            printf("%5ld %-10s %12.1f %12.1f %12.1f", D, s, 1e6 * us[0], 1e6 * us[1], 1e6 * us[2]);
            if (cheb)
                printf(" %12.1f %10.2f\n", 1e6 * native, us[2] / native);
            else
                printf(" %12s %10s\n", "-", "-");
        }
        if (!isfinite(check)) printf("  (native-float checksum not finite)\n");
        gka_trace_free(&tr);
    }
    printf("bf16/f32 = emulated bf16 (fp32 accumulation) Chebyshev over native-float Chebyshev\n");
    return GKA_EXIT_OK;
}
