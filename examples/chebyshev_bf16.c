/* Chebyshev iteration with the state H_t in bfloat16 over a synthetic key
 * stream: the per-token error against the fp64 reference.
 *
 * gka_run feeds the sequence through the stream H_t = gamma_t H_{t-1} +
 * beta_t^2 k_t k_t^T (stored in the studied format, here bf16 with fp32
 * accumulation as tensor cores do) and the solver, and for every token it
 * solves the same rounded problem in fp64 with LAPACK: err is
 * ||x - x*|| / ||x*||, with x* that fp64 solution.
 *
 *   build: cc chebyshev_bf16.c $(pkg-config --cflags --libs gka) -o chebyshev_bf16 */
#include <math.h>
#include <stdio.h>

#include "gka_data.h"
#include "gka_run.h"
#include "gka_stream.h"

enum { D = 32, T = 64 };

typedef struct {
    long finite;
    double max_err;
} tally_t;

/* Called once per token, in order. */
static int print_token(void *ctx, const gka_token_metrics_t *m) {
    tally_t *s = ctx;
    printf("%3ld  %.3e  %.3e  %s\n", m->t, m->err, m->res, gka_reason_name(m->reason));
    if (isfinite(m->err)) s->finite++;
    if (m->err > s->max_err) s->max_err = m->err;
    return 0; /* nonzero would stop the run */
}

int main(void) {
    /* iid keys and queries, L2-normalised as the layer does, seed 1 */
    gka_synth_config_t sc = gka_synth_config_default(D, T, 1);
    gka_trace_t tr = {0};
    if (gka_synth_generate(&sc, &tr) != GKA_OK) {
        fprintf(stderr, "%s\n", gka_error_message());
        return 1;
    }
    gka_run_config_t c = gka_run_config_default(); /* chebyshev, r = 30, adaptive:0.02 */
    c.D = tr.D, c.T = tr.T, c.q = tr.q, c.k = tr.k;
    c.format = "bf16";
    c.accum = gka_accum_default("bf16"); /* "wide": fp32 accumulation */
    tally_t tally = {0, 0.0};
    c.on_token = print_token, c.ctx = &tally;
    printf("  t  err        residual   reason\n");
    gka_run_summary_t sum;
    gka_status_t st = gka_run(&c, &sum);
    gka_trace_free(&tr);
    if (st != GKA_OK) {
        fprintf(stderr, "%s\n", gka_error_message());
        return 1;
    }
    printf("%s: %ld tokens, error median %.3e max %.3e, finite errors %ld\n", sum.arith_name, sum.T,
           sum.err_median, sum.err_max, tally.finite);
    return 0;
}
