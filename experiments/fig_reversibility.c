/* Figure `reversibility` (paper Fig. 5): the divisors met when running a
 * solver backwards (to recompute iterates in a backward pass instead of
 * storing them).
 *
 *   Chebyshev: x_{i-2} = (x_i - x_{i-1} + s omega_i (A x_{i-1} - q)) / (omega_i - 1)
 *              + x_{i-1}: the only divisor is omega_i - 1, which lies in
 *              [omega* - 1, 1] whatever the data.
 *   CG:        p_i = (p_{i+1} - r_{i+1}) / beta_i, and recomputing
 *              alpha_i = r_i^T r_i / p_i^T A p_i and beta_i = r_{i+1}^T r_{i+1} / r_i^T r_i
 *              divides by p^T A p and r^T r.
 *
 * CG's divisors are reported twice (column scope): over every step it took
 * (up to r = 50 or its stop), and only over the steps up to its convergence,
 * the first step after which the recursive residual ||r_i|| <= u ||q|| (u:
 * the format's unit roundoff): past that point the answer cannot improve in
 * the format and the steps only shrink the recursive residual, so p^T A p
 * and r^T r fall without bound. The second is the range to set against the
 * paper's 1e-3..1e10.
 *
 * The divisors are recorded on the paper's synthetic problems (fig_synth.c's
 * construction, a = 0.02 unless --a) in fp64 and bf16 (fp32 accumulation). CG's scalars
 * come from the step hook of gka_cg_solve (the cg solver's own iteration);
 * the Chebyshev divisors from its schedule (gka_iteration.h). The formats
 * and r are parameters (--formats, --iters); fp64, bf16 and r = 50 are the
 * defaults. */
#include "gka_data.h"
#include "gka_figure_internal.h"
#include "gka_solver.h"
#include "gka_stream.h"
#include "solver_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { REV_Q_OMEGA1 = 0, REV_Q_BETA, REV_Q_ALPHA, REV_Q_PAP, REV_Q_RR, REV_NQ };
static const char *const rev_qname[REV_NQ] = {"chebyshev_omega_minus_1", "cg_beta", "cg_alpha",
                                              "cg_pAp", "cg_rr"};
enum { REV_NSCOPE = 2, REV_MAXF = GKA_FP_MAX_ITEMS };
static const char *const rev_scopes[REV_NSCOPE] = {"all_steps", "to_convergence"};

/* The scalars of each CG step, recorded by gka_cg_solve's step hook. */
typedef struct {
    gka_arith_t *A;
    double *alpha, *beta, *pAp, *rr;
} cg_trace_t;

static void cg_trace_hook(void *ctx, const gka_cg_step_info_t *step) {
    cg_trace_t *t = ctx;
    if (step->i == 0) return;
    const size_t i = (size_t)step->i - 1;
    t->alpha[i] = t->A->get_d(t->A, step->alpha);
    t->beta[i] = t->A->get_d(t->A, step->beta);
    t->pAp[i] = t->A->get_d(t->A, step->pAp);
    t->rr[i] = t->A->get_d(t->A, step->rr_prev);
}

static void stream_matvec_cb(void *ctx, const void *x, void *y) {
    gka_stream_matvec((const gka_stream_t *)ctx, x, y);
}

/* The cg solver's iteration (gka_cg_solve: zero start, no tolerance, the
 * guarded stopping test), recording per iteration i = 1..r the scalars
 * alpha, beta, p^T A p and r^T r (the one divided by when forming beta).
 * Returns the iterations done. */
int gka_figure_cg_trace(const gka_stream_t *st, int r, void *x, double *alpha, double *beta,
                        double *pAp_out, double *rr_out) {
    cg_trace_t t = {st->A, alpha, beta, pAp_out, rr_out};
    int done = 0;
    gka_reason_t reason;
    if (gka_cg_solve(st->A, st->D, stream_matvec_cb, (void *)st, st->q, r, 0.0, 1, NULL, x,
                     cg_trace_hook, &t, &done, &reason) != GKA_OK) {
        gka_error_clear();
        return 0;
    }
    return done;
}

/* omega_i - 1, i = 1..r, from the Chebyshev schedule of the stream's token. */
static void cheb_divisors(const gka_stream_t *st, int r, double *om1_out) {
    gka_arith_t *A = st->A;
    gka_cheb_schedule_t sch;
    if (gka_cheb_setup(&sch, A, st->hnorm, st->lambda) != GKA_OK) {
        gka_error_clear();
        for (int i = 0; i < r; i++)
            om1_out[i] = (double)NAN;
        return;
    }
    for (int i = 1; i <= r; i++) {
        gka_cheb_next(&sch);
        om1_out[i - 1] = A->get_d(A, gka_cheb_omega_minus_1(&sch));
    }
    gka_cheb_release(&sch);
}

typedef struct {
    const gka_figure_opts_t *opts;
    gka_progress_t *prog;
    int D;
    long T;
    size_t nstreams, nsample;
    size_t nformat;
    const char *format[REV_MAXF];
    int r;       /* iterations */
    double a;    /* the fixed ridge lambda = a (A = H + a I, ||H||_F = 1) */
    double *val; /* [format][quantity][stream][sample][i] */
    int *conv;   /* [format][stream][sample]: CG's convergence step (r + 1: never) */
} rev_ctx_t;

/* The first step i (1-based) after which CG's recursive residual is at most
 * u ||q||: rr[i] = r_i^T r_i (rr[0] = q^T q); the last step's r_r^T r_r is
 * beta_r r_{r-1}^T r_{r-1}. r + 1 if never within the r steps done. */
static int cg_convergence_step(const double *rr, const double *beta, int r, double u) {
    const double target = u * u * rr[0];
    for (int i = 1; i <= r && !isnan(rr[i - 1]); i++) {
        const double next = i < r ? rr[i] : beta[i - 1] * rr[i - 1];
        if (isnan(next)) return i; /* stopped after step i (zero residual, NaN) */
        if (next <= target) return i;
    }
    return r + 1;
}

static double rev_unit_roundoff(const char *format) {
    gka_format_t f;
    if (!strcmp(format, "fp64") || gka_format_by_name(format, &f) != GKA_OK) return 0x1p-53;
    return f.u;
}

static size_t rev_index(const rev_ctx_t *c, size_t f, size_t q, size_t s, size_t j) {
    return (((f * REV_NQ + q) * c->nstreams + s) * c->nsample + j) * (size_t)c->r;
}

static gka_status_t rev_job(size_t s, void *vctx, gka_strbuf_t *rows) {
    (void)rows;
    rev_ctx_t *c = vctx;
    const int D = c->D;
    const size_t n = (size_t)D;
    gka_synth_config_t cfg =
        gka_synth_config_default(D, c->T, gka_figure_seed(c->opts->seed, 3, s));
    gka_trace_t tr = {0};
    double *H = calloc(n * n, sizeof *H), *Hn = calloc(n * n, sizeof *Hn);
    gka_arith_t A[REV_MAXF];
    gka_stream_t *st[REV_MAXF] = {NULL};
    void *x[REV_MAXF] = {NULL};
    int have[REV_MAXF] = {0};
    const size_t nf = c->nformat;
    const int r = c->r;
    gka_status_t status = (H && Hn) ? gka_synth_generate(&cfg, &tr)
                                    : gka_error(GKA_ENOMEM, "reversibility: out of memory");
    gka_ridge_t ridge = {GKA_RIDGE_FIXED, c->a};
    for (size_t f = 0; status == GKA_OK && f < nf; f++) {
        status = gka_figure_arith(&A[f], c->format[f]);
        if (status != GKA_OK) break;
        have[f] = 1;
        status = gka_stream_create(&st[f], &A[f], D, &ridge, 0);
        if (status == GKA_OK && !(x[f] = A[f].alloc(&A[f], n)))
            status = gka_error(GKA_ENOMEM, "reversibility: out of memory");
    }
    size_t j = 0;
    for (long t = 0; status == GKA_OK && t < c->T && j < c->nsample; t++) {
        const double *k = tr.k + t * D;
        for (size_t a = 0; a < n; a++)
            for (size_t b = 0; b < n; b++)
                H[a * n + b] += k[a] * k[b];
        double off = ((double)s + 0.5) / (double)c->nstreams;
        long tj = (long)floor(((double)j + off) * (double)c->T / (double)c->nsample);
        if (t != (tj < c->T ? tj : c->T - 1)) continue;
        double fro = 0.0;
        for (size_t i = 0; i < n * n; i++)
            fro += H[i] * H[i];
        fro = sqrt(fro);
        for (size_t i = 0; i < n * n; i++)
            Hn[i] = H[i] / fro;
        for (size_t f = 0; status == GKA_OK && f < nf; f++) {
            status = gka_stream_set_H(st[f], Hn);
            if (status == GKA_OK) status = gka_stream_set_query(st[f], tr.q + t * D);
            if (status != GKA_OK) break;
            double *v[REV_NQ];
            for (size_t q = 0; q < REV_NQ; q++) {
                v[q] = c->val + rev_index(c, f, q, s, j);
                for (int i = 0; i < r; i++)
                    v[q][i] = (double)NAN; /* not reached */
            }
            cheb_divisors(st[f], r, v[REV_Q_OMEGA1]);
            gka_figure_cg_trace(st[f], r, x[f], v[REV_Q_ALPHA], v[REV_Q_BETA], v[REV_Q_PAP],
                                v[REV_Q_RR]);
            c->conv[(f * c->nstreams + s) * c->nsample + j] =
                cg_convergence_step(v[REV_Q_RR], v[REV_Q_BETA], r, rev_unit_roundoff(c->format[f]));
        }
        j++;
        gka_progress_advance(c->prog, 1);
    }
    for (size_t f = 0; f < nf; f++) {
        gka_stream_destroy(st[f]);
        if (x[f]) A[f].free(&A[f], x[f], n);
        if (have[f]) gka_arith_destroy(&A[f]);
    }
    free(H);
    free(Hn);
    gka_trace_free(&tr);
    return status;
}

/* min / median / max of |v| over the problems that reached iteration i
 * (CG stops once its residual is exactly zero or its curvature is not
 * positive; such problems have no divisor at later iterations). */
static void summarize(double *col, size_t m, double *mn, double *med, double *mx, size_t *cnt) {
    size_t k = 0;
    for (size_t i = 0; i < m; i++)
        if (!isnan(col[i])) col[k++] = fabs(col[i]);
    *cnt = k;
    if (!k) {
        *mn = *med = *mx = (double)NAN;
        return;
    }
    *mx = gka_figure_max(col, k);
    *med = gka_figure_median(col, k); /* sorts */
    *mn = col[0];
}

static gka_status_t rev_run(const gka_figure_opts_t *opts, const gka_figure_params_t *P,
                            gka_progress_t *prog, gka_csv_t *csv) {
    int full = opts->tier == GKA_TIER_FULL;
    rev_ctx_t c = {opts,
                   prog,
                   gka_figure_int(P, GKA_FP_D),
                   gka_figure_int(P, GKA_FP_T),
                   full ? 32 : 4,
                   full ? 8 : 4,
                   gka_figure_count(P, GKA_FP_FORMATS),
                   {NULL},
                   gka_figure_int(P, GKA_FP_ITERS),
                   gka_figure_num(P, GKA_FP_A, 0),
                   NULL,
                   NULL};
    gka_figure_names(P, GKA_FP_FORMATS, c.format);
    const size_t m = c.nstreams * c.nsample, nf = c.nformat, r = (size_t)c.r;
    c.val = malloc(nf * REV_NQ * m * r * sizeof *c.val);
    c.conv = malloc(nf * m * sizeof *c.conv);
    double *col = malloc(m * sizeof *col);
    if (!c.val || !c.conv || !col) {
        free(c.val);
        free(c.conv);
        free(col);
        return gka_error(GKA_ENOMEM, "reversibility: out of memory");
    }
    double omega_star = gka_cheb_omega_star_d(1.0 / (1.0 + 2.0 * c.a));
    gka_csv_meta(csv, "streams", "%zu", c.nstreams);
    gka_csv_meta(csv, "tokens_per_stream", "%zu", c.nsample);
    gka_csv_meta(csv, "problem",
                 "H = sum_{u<=t} k_u k_u^T / ||.||_F, A = H + a I; q, k iid normal, L2-normalised");
    gka_csv_meta(csv, "band", "chebyshev divisor omega_i - 1 in [omega* - 1, 1] = [%.17g, 1]",
                 omega_star - 1.0);
    gka_csv_meta(csv, "omega_star_minus_1", "%.17g", omega_star - 1.0);
    gka_csv_meta(csv, "convergence",
                 "CG's convergence step: the first i after which the recursive residual "
                 "||r_i|| <= u ||q||, u = the format's unit roundoff (fp64 2^-53, bf16 2^-8, ...)");
    gka_csv_meta(csv, "paper_range", "1e-3..1e10 (CG divisors, paper Fig. 5)");
    gka_csv_meta(
        csv, "columns",
        "scope: all_steps (every step CG took, up to r or its stop) or "
        "to_convergence (CG's steps up to its convergence step; Chebyshev's "
        "divisors are the same in both); quantity at iteration i (1-based); "
        "abs_min/median/max of |divisor| over the problems in scope at i; count = "
        "those problems; band_low = omega* - 1, the lower edge of Chebyshev's divisor band");
    gka_csv_header(csv, "scope,format,quantity,i,abs_min,abs_median,abs_max,count,band_low");
    gka_figure_progress_total(prog, (long)m);
    gka_csv_t unused;
    gka_csv_init(&unused);
    gka_status_t st = gka_figure_parallel(c.nstreams, rev_job, &c, &unused);
    gka_csv_free(&unused);
    for (size_t sc = 0; st == GKA_OK && sc < REV_NSCOPE; sc++)
        for (size_t f = 0; f < nf; f++)
            for (size_t q = 0; q < REV_NQ; q++)
                for (int i = 0; i < c.r; i++) {
                    for (size_t s = 0; s < c.nstreams; s++)
                        for (size_t j = 0; j < c.nsample; j++) {
                            const size_t p = s * c.nsample + j;
                            const int cut = sc == 1 && q != REV_Q_OMEGA1 &&
                                            i + 1 > c.conv[f * m + p]; /* past convergence */
                            col[p] =
                                cut ? (double)NAN : c.val[rev_index(&c, f, q, s, j) + (size_t)i];
                        }
                    double mn, med, mx;
                    size_t cnt;
                    summarize(col, m, &mn, &med, &mx, &cnt);
                    char fc[64];
                    gka_csv_row(csv, "%s,%s,%s,%d,%.17g,%.17g,%.17g,%zu,%.17g", rev_scopes[sc],
                                gka_figure_cell(c.format[f], fc, sizeof fc), rev_qname[q], i + 1,
                                mn, med, mx, cnt, omega_star - 1.0);
                }
    free(c.val);
    free(c.conv);
    free(col);
    return st;
}

static const gka_figure_param_decl_t rev_params[] = {
    {GKA_FP_D, "head dimension D", {"128", "128"}, 2, 1024, 1, NULL, 0},
    {GKA_FP_T, "tokens T", {"2048", "2048"}, 1, 10000000, 1, NULL, 0},
    {GKA_FP_FORMATS,
     "number formats (fp32 accumulation); CG's convergence test uses each one's unit roundoff",
     {"fp64,bf16", "fp64,bf16"},
     0,
     0,
     8,
     NULL,
     0},
    {GKA_FP_ITERS, "iterations r of both solvers", {"50", "50"}, 1, 10000, 1, NULL, 0},
    {GKA_FP_A,
     "ridge ratio a: the fixed ridge lambda = a on H with ||H||_F = 1 (so the adaptive ridge)",
     {"0.02", "0.02"},
     1e-6,
     1e6,
     1,
     NULL,
     0},
};

const gka_figure_t gka_figure_reversibility = {
    "reversibility", "paper Fig. 5: divisors met reversing Chebyshev (omega_i - 1) vs reversing CG",
    rev_run, rev_params, sizeof rev_params / sizeof rev_params[0]};
