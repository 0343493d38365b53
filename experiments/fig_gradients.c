/* Figure `gradients` (paper Fig. 1b-e, single layer): relative error of the
 * gradients against the gradient of the exact solution, over iterations
 * r = 1..50, for CG and Chebyshev, implicit and through the iterations, in
 * fp64 and in bf16 with fp32 accumulation, ungated and gated.
 *
 * Problem: a single GKA layer head: normalised iid keys and queries,
 * adaptive ridge a = 0.02 (--a), upstream gradient dx_t ~ N(0, I); the loss is
 * sum_t <dx_t, x_t> over the T tokens, so dk_t collects the adjoints of every
 * later solve. Two gatings on the same keys: none (gamma = beta = 1), and GKA
 * decay gates with sigmoid write gates (gates "gka", beta "sigmoid"), as the
 * layer runs. Quantities: [dq, dk] together, dq, dk, and the gate gradients
 * dg and dbeta (defined ungated too: at g = 0, beta = 1). Reference: the
 * exact gradient of the same (rounded) problem, x* and dq* by LAPACK dposv in
 * fp64 (gka_grad_token's mirror). The rows "implicit_vs_iterations" give the
 * distance between a solver's two gradients (relative to the iterations one).
 *
 * Formats, solvers, gates (each gate but none paired with sigmoid write
 * gates) and the largest r are parameters (--formats, --solvers, --gates,
 * --iters); the values above are the defaults.
 *
 * Jobs are (stream, gating, format) triples, each with its own table and data
 * seeded from (seed, stream); the summary is formed in a fixed order, so the
 * CSV is byte-identical whatever the number of threads. */
#include "gka_grad.h"
#include "gka_data.h"
#include "gka_figure_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const gr_modes[] = {"implicit", "iterations", "implicit_vs_iterations"};
/* quantities: [dq, dk], dq, dk, dg, dbeta */
enum { GR_NM = 3, GR_NQ = 5, GR_RMAX = 1000 };
/* quick tier: a sparser set of iteration counts */
static const int gr_quick_r[] = {1,  2,  3,  4,  5,  6,  7,  8,  10, 12,
                                 14, 17, 20, 25, 30, 35, 40, 45, 50};

typedef struct {
    const gka_figure_opts_t *opts;
    gka_progress_t *prog;
    int D;
    long T;
    size_t nstreams, nr;
    int r[GR_RMAX];
    size_t ng, nf, ns; /* gates, formats, solvers */
    const char *gate[GKA_FP_MAX_ITEMS], *format[GKA_FP_MAX_ITEMS], *solver[GKA_FP_MAX_ITEMS];
    double a;    /* adaptive ridge lambda_t = a ||H_t||_F */
    double *val; /* [gating][f][s][m][ri][stream][q]: q = [q,k], q, k, g, beta */
} gr_ctx_t;

static size_t gr_index(const gr_ctx_t *c, size_t g, size_t f, size_t s, size_t m, size_t ri,
                       size_t str) {
    return (((((g * c->nf + f) * c->ns + s) * GR_NM + m) * c->nr + ri) * c->nstreams + str) * GR_NQ;
}

/* One gradient: the token-wise vectors and the gate gradients. */
typedef struct {
    double *q, *k, *g, *beta;
} gr_vec_t;

/* Relative errors of a against b: [q; k] combined, q, k, g, beta (+Inf on
 * a NaN or Inf). */
static void gr_errors(size_t n, size_t T, const gr_vec_t *a, const gr_vec_t *b, double out[GR_NQ]) {
    const double *aq = a->q, *ak = a->k, *bq = b->q, *bk = b->k;
    double nq = 0.0, nk = 0.0, dq = 0.0, dk = 0.0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(aq[i]) || !isfinite(ak[i]) || !isfinite(bq[i]) || !isfinite(bk[i])) bad = 1;
        nq += (aq[i] - bq[i]) * (aq[i] - bq[i]);
        nk += (ak[i] - bk[i]) * (ak[i] - bk[i]);
        dq += bq[i] * bq[i];
        dk += bk[i] * bk[i];
    }
    out[0] = sqrt((nq + nk) / (dq + dk));
    out[1] = sqrt(nq / dq);
    out[2] = sqrt(nk / dk);
    for (int i = 0; i < 3; i++)
        if (bad || !isfinite(out[i])) out[i] = (double)INFINITY;
    out[3] = gka_grad_rel_error(T, a->g, b->g);
    out[4] = gka_grad_rel_error(T, a->beta, b->beta);
}

static gka_status_t gr_job(size_t j, void *vctx, gka_strbuf_t *rows) {
    (void)rows;
    gr_ctx_t *c = vctx;
    const size_t str = j / (c->ng * c->nf), gt = (j / c->nf) % c->ng, f = j % c->nf;
    const int gated = strcmp(c->gate[gt], "none") != 0;
    const size_t T = (size_t)c->T, n = T * (size_t)c->D;
    const uint64_t seed = gka_figure_seed(c->opts->seed, 11, str);
    gka_synth_config_t cfg = gka_synth_config_default(c->D, c->T, seed);
    gka_trace_t tr = {0};
    double *buf = malloc((7 * n + 6 * T) * sizeof(double));
    gka_arith_t A;
    int have_A = 0;
    gka_status_t st = buf ? GKA_OK : gka_error(GKA_ENOMEM, "gradients: out of memory");
    if (st == GKA_OK && gated) st = gka_gate_spec_parse(c->gate[gt], &cfg.gate);
    if (st == GKA_OK && gated) st = gka_beta_spec_parse("sigmoid", &cfg.beta);
    if (st == GKA_OK) st = gka_synth_generate(&cfg, &tr);
    if (st == GKA_OK) st = gka_figure_arith(&A, c->format[f]);
    if (st == GKA_OK) have_A = 1;
    double *dx = buf, *s6 = buf + 7 * n;
    gr_vec_t ref = {buf + n, buf + 2 * n, s6, s6 + T};
    gr_vec_t v[2] = {{buf + 3 * n, buf + 4 * n, s6 + 2 * T, s6 + 3 * T},
                     {buf + 5 * n, buf + 6 * n, s6 + 4 * T, s6 + 5 * T}};
    for (size_t i = 0; st == GKA_OK && i < n; i++)
        dx[i] = gka_philox_normal(seed, GKA_SYNTH_STREAM_VALUES, 2 * (uint64_t)i);
    gka_grad_problem_t p = {c->D, c->T, tr.q, tr.k, tr.g, tr.beta, dx, {GKA_RIDGE_ADAPTIVE, c->a}};
    gka_grad_opts_t o = gka_grad_opts_default();
    if (st == GKA_OK) { /* the exact gradient of this format's rounded problem */
        gka_grads_t out = {NULL, v[0].q, v[0].k, v[0].g, v[0].beta};
        gka_grads_t exact = {NULL, ref.q, ref.k, ref.g, ref.beta};
        o.iters = 1;
        st = gka_grad_token(&A, &p, &o, &out, &exact);
    }
    for (size_t s = 0; st == GKA_OK && s < c->ns; s++)
        for (size_t ri = 0; st == GKA_OK && ri < c->nr; ri++) {
            for (size_t m = 0; st == GKA_OK && m < 2; m++) {
                o.solver = c->solver[s];
                o.iters = c->r[ri];
                o.mode = m ? GKA_GRAD_ITERATIONS : GKA_GRAD_IMPLICIT;
                gka_grads_t out = {NULL, v[m].q, v[m].k, v[m].g, v[m].beta};
                st = gka_grad_token(&A, &p, &o, &out, NULL);
                if (st == GKA_OK)
                    gr_errors(n, T, &v[m], &ref, c->val + gr_index(c, gt, f, s, m, ri, str));
            }
            if (st == GKA_OK)
                gr_errors(n, T, &v[0], &v[1], c->val + gr_index(c, gt, f, s, 2, ri, str));
            gka_progress_advance(c->prog, 1);
        }
    if (have_A) gka_arith_destroy(&A);
    gka_trace_free(&tr);
    free(buf);
    return st;
}

/* The lists of P into c; the iteration counts: every r up to --iters (full
 * tier), or the quick tier's sparser set up to it. */
static void gr_choose(gr_ctx_t *c, const gka_figure_params_t *P, int full) {
    c->ng = gka_figure_count(P, GKA_FP_GATES);
    c->nf = gka_figure_count(P, GKA_FP_FORMATS);
    c->ns = gka_figure_count(P, GKA_FP_SOLVERS);
    gka_figure_names(P, GKA_FP_GATES, c->gate);
    gka_figure_names(P, GKA_FP_FORMATS, c->format);
    gka_figure_names(P, GKA_FP_SOLVERS, c->solver);
    const int rmax = gka_figure_int(P, GKA_FP_ITERS);
    c->nr = 0;
    if (full) {
        for (int r = 1; r <= rmax; r++)
            c->r[c->nr++] = r;
        return;
    }
    for (size_t i = 0; i < sizeof gr_quick_r / sizeof gr_quick_r[0] && gr_quick_r[i] <= rmax; i++)
        c->r[c->nr++] = gr_quick_r[i];
    if (c->r[c->nr - 1] != rmax) /* the largest r is always a row */
        c->r[c->nr++] = rmax;
}

static gka_status_t gr_run(const gka_figure_opts_t *opts, const gka_figure_params_t *P,
                           gka_progress_t *prog, gka_csv_t *csv) {
    const int full = opts->tier == GKA_TIER_FULL;
    gr_ctx_t c = {.opts = opts,
                  .prog = prog,
                  .D = gka_figure_int(P, GKA_FP_D),
                  .T = gka_figure_int(P, GKA_FP_T),
                  .nstreams = full ? 4 : 2,
                  .a = gka_figure_num(P, GKA_FP_A, 0)};
    gr_choose(&c, P, full);
    const size_t m = c.nstreams, ncombo = c.ng * c.nf * c.ns;
    c.val = malloc(ncombo * GR_NM * c.nr * m * GR_NQ * sizeof(double));
    double *col = malloc(m * sizeof(double));
    if (!c.val || !col) {
        free(c.val);
        free(col);
        return gka_error(GKA_ENOMEM, "gradients: out of memory");
    }
    gka_csv_meta(csv, "streams", "%zu", c.nstreams);
    gka_csv_meta(csv, "ridge", "adaptive:%.17g", c.a);
    gka_csv_meta(csv, "problem",
                 "single layer head: q, k iid normal, L2-normalised; loss sum_t <dx_t, x_t>, "
                 "dx_t ~ N(0, I)");
    gka_csv_meta(csv, "gatings",
                 "none (gamma = beta = 1); any other gate spec (gka: GKA decay gates): the same "
                 "keys with those decay gates and sigmoid write gates (beta sigmoid)");
    gka_csv_meta(csv, "iterations", "r in the rows: %s up to --iters",
                 full ? "every r" : "1..8, then sparser (10, 12, 14, 17, 20, 25, ..., 50)");
    gka_csv_meta(csv, "reference",
                 "exact gradient of the same rounded problem: x*, dq* by fp64 "
                 "LAPACK dposv, lambda path included");
    gka_csv_meta(csv, "arithmetic",
                 "fp64 native; the others emulated storage, round to nearest even, fp32 "
                 "accumulation of dot products and matrix-vector products");
    gka_csv_meta(csv, "columns",
                 "err_qk: ||[dq;dk] - [dq*;dk*]|| / ||[dq*;dk*]|| over all tokens "
                 "of a stream; median and max over streams; err_q, err_k: the "
                 "same for dq and dk alone (median); err_g, err_beta: ||dg - dg*|| / ||dg*|| "
                 "and the same for dbeta over the T tokens (median and max over streams). mode "
                 "implicit_vs_iterations: the implicit gradient against the "
                 "through-the-iterations one; inf: a stream's gradient has a NaN or Inf (an "
                 "overflow of the format's range, e.g. fp16 with small write gates)");
    gka_csv_header(csv, "gating,format,solver,mode,iteration,err_qk_median,err_qk_max,"
                        "err_q_median,err_k_median,err_g_median,err_g_max,err_beta_median,"
                        "err_beta_max");
    gka_figure_progress_total(prog, (long)(m * ncombo * c.nr));
    gka_csv_t unused;
    gka_csv_init(&unused);
    gka_status_t st = gka_figure_parallel(m * c.ng * c.nf, gr_job, &c, &unused);
    gka_csv_free(&unused);
    for (size_t g = 0; st == GKA_OK && g < c.ng; g++)
        for (size_t f = 0; f < c.nf; f++)
            for (size_t s = 0; s < c.ns; s++)
                for (size_t mo = 0; mo < GR_NM; mo++)
                    for (size_t ri = 0; ri < c.nr; ri++) {
                        double med[GR_NQ], mx[GR_NQ];
                        char gc[64], fc[64];
                        for (size_t q = 0; q < GR_NQ; q++) {
                            for (size_t i = 0; i < m; i++)
                                col[i] = c.val[gr_index(&c, g, f, s, mo, ri, i) + q];
                            mx[q] = gka_figure_max(col, m);
                            med[q] = gka_figure_median(col, m);
                        }
                        gka_csv_row(csv,
                                    "%s,%s,%s,%s,%d,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,"
                                    "%.17g",
                                    gka_figure_cell(c.gate[g], gc, sizeof gc),
                                    gka_figure_cell(c.format[f], fc, sizeof fc), c.solver[s],
                                    gr_modes[mo], c.r[ri], med[0], mx[0], med[1], med[2], med[3],
                                    mx[3], med[4], mx[4]);
                    }
    free(c.val);
    free(col);
    return st;
}

static const gka_figure_param_decl_t gr_params[] = {
    {GKA_FP_D, "head dimension D", {"16", "32"}, 2, 1024, 1, NULL, 0},
    {GKA_FP_T, "tokens T", {"32", "64"}, 1, 10000000, 1, NULL, 0},
    {GKA_FP_FORMATS,
     "number formats (fp32 accumulation)",
     {"fp64,bf16", "fp64,bf16"},
     0,
     0,
     8,
     NULL,
     0},
    {GKA_FP_SOLVERS,
     "solvers (both gradient modes)",
     {"cg,chebyshev", "cg,chebyshev"},
     0,
     0,
     2,
     "cg|chebyshev",
     0},
    {GKA_FP_GATES,
     "decay gates on the same keys (none; any other with sigmoid write gates)",
     {"none,gka", "none,gka"},
     0,
     0,
     4,
     NULL,
     0},
    {GKA_FP_ITERS,
     "the largest r (full tier: every r up to it; quick: a sparser set)",
     {"50", "50"},
     1,
     GR_RMAX,
     1,
     NULL,
     0},
    GKA_FIGURE_PARAM_ADAPTIVE_A,
};

const gka_figure_t gka_figure_gradients = {
    "gradients",
    "paper Fig. 1b-e: gradient error ([dq, dk], dg, dbeta) vs iterations, CG and Chebyshev, "
    "implicit and through the iterations, fp64 and bf16, ungated and gated",
    gr_run, gr_params, sizeof gr_params / sizeof gr_params[0]};
