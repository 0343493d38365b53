/* The paper's synthetic ridge problems (Fig. 1a, Fig. 8): for stream s,
 * normalised random keys k_1..k_T and queries q_t; at token t,
 * H = (sum_{u<=t} k_u k_u^T) / ||.||_F and the ridge lambda = a (fixed), so
 * A = H + a I has ||H||_F = 1. The project's solvers run on them with their
 * fp64 residual history recorded; figures aggregate median and worst over
 * (stream, token). */
#include "gka_data.h"
#include "gka_figure_internal.h"
#include "gka_solver.h"
#include "gka_stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

gka_figure_synth_t gka_figure_synth_from_params(const gka_figure_opts_t *opts,
                                                const gka_figure_params_t *P, uint64_t fig_id,
                                                gka_progress_t *prog, const char **formats,
                                                const char **solvers) {
    int full = opts->tier == GKA_TIER_FULL;
    gka_figure_names(P, GKA_FP_FORMATS, formats);
    gka_figure_names(P, GKA_FP_SOLVERS, solvers);
    gka_figure_synth_t S = {.D = gka_figure_int(P, GKA_FP_D),
                            .T = gka_figure_int(P, GKA_FP_T),
                            .nstreams = full ? 64 : 8,
                            .nsample = full ? 8 : 4,
                            .seed = opts->seed,
                            .fig_id = fig_id,
                            .nformats = gka_figure_count(P, GKA_FP_FORMATS),
                            .formats = formats,
                            .nsolvers = gka_figure_count(P, GKA_FP_SOLVERS),
                            .solvers = solvers,
                            .na = gka_figure_count(P, GKA_FP_A),
                            .a = P->num[GKA_FP_A],
                            .iters = gka_figure_int(P, GKA_FP_ITERS),
                            .prog = prog,
                            .hist = NULL};
    return S;
}

size_t gka_figure_synth_ncombo(const gka_figure_synth_t *S) {
    return S->nformats * S->nsolvers * S->na;
}

static size_t hist_index(const gka_figure_synth_t *S, size_t combo, size_t stream, size_t sample) {
    return ((combo * S->nstreams + stream) * S->nsample + sample) * (size_t)(S->iters + 1);
}

/* Token of sample j of stream s: evenly spaced, offset per stream so that
 * the streams together cover the sequence. */
static long sample_token(const gka_figure_synth_t *S, size_t s, size_t j) {
    double off = ((double)s + 0.5) / (double)S->nstreams;
    long t = (long)floor(((double)j + off) * (double)S->T / (double)S->nsample);
    return t < S->T ? t : S->T - 1;
}

/* A format entry "STATE" (state, query and iterates in STATE) or
 * "STATE+ITER" (H and q rounded to STATE, iterates and every operation in
 * ITER: the kernels' regime "bf16+fp32"). A solver entry "NAME" or
 * "NAME-VARIANT" ("cg-plain"). */
static void split_at(const char *s, char sep, char *head, size_t nh, const char **tail) {
    const char *p = strchr(s, sep);
    const size_t n = p ? (size_t)(p - s) : strlen(s);
    snprintf(head, nh, "%.*s", (int)n, s);
    *tail = p ? p + 1 : NULL;
}

typedef struct {
    gka_arith_t A, As; /* iterates; state (when it differs) */
    int have_A, have_As;
    double *Hs, *qs;        /* the problem rounded to the state format */
    gka_stream_t **streams; /* na */
    gka_solver_t **solvers; /* na * nsolvers */
    void *x;
} synth_format_t;

static void format_free(const gka_figure_synth_t *S, synth_format_t *F) {
    if (F->solvers)
        for (size_t i = 0; i < S->na * S->nsolvers; i++)
            gka_solver_destroy(F->solvers[i]);
    if (F->streams)
        for (size_t i = 0; i < S->na; i++)
            gka_stream_destroy(F->streams[i]);
    if (F->x) F->A.free(&F->A, F->x, (size_t)S->D);
    if (F->have_A) gka_arith_destroy(&F->A);
    if (F->have_As) gka_arith_destroy(&F->As);
    free(F->Hs);
    free(F->qs);
    free(F->solvers);
    free(F->streams);
    memset(F, 0, sizeof *F);
}

static gka_status_t format_init(const gka_figure_synth_t *S, const char *format,
                                synth_format_t *F) {
    memset(F, 0, sizeof *F);
    char state[32];
    const char *iter;
    split_at(format, '+', state, sizeof state, &iter);
    gka_status_t st = gka_figure_arith(&F->A, iter ? iter : state);
    if (st != GKA_OK) return st;
    F->have_A = 1;
    if (iter) {
        const size_t n = (size_t)S->D;
        st = gka_figure_arith(&F->As, state);
        if (st != GKA_OK) return st;
        F->have_As = 1;
        F->Hs = malloc(n * n * sizeof *F->Hs);
        F->qs = malloc(n * sizeof *F->qs);
        if (!F->Hs || !F->qs) return gka_error(GKA_ENOMEM, "figure: out of memory");
    }
    F->streams = calloc(S->na, sizeof *F->streams);
    F->solvers = calloc(S->na * S->nsolvers, sizeof *F->solvers);
    F->x = F->A.alloc(&F->A, (size_t)S->D);
    if (!F->streams || !F->solvers || !F->x) return gka_error(GKA_ENOMEM, "figure: out of memory");
    gka_solver_opts_t so = gka_solver_opts_default();
    so.iters = S->iters;
    so.history = 1;
    for (size_t ia = 0; st == GKA_OK && ia < S->na; ia++) {
        gka_ridge_t ridge = {GKA_RIDGE_FIXED, S->a[ia]};
        st = gka_stream_create(&F->streams[ia], &F->A, S->D, &ridge, 0);
        for (size_t is = 0; st == GKA_OK && is < S->nsolvers; is++) {
            char name[32];
            const char *variant;
            split_at(S->solvers[is], '-', name, sizeof name, &variant);
            snprintf(so.variant, sizeof so.variant, "%s", variant ? variant : "");
            st = gka_solver_create(&F->solvers[ia * S->nsolvers + is], name, &so, &F->A, S->D);
        }
    }
    return st;
}

/* out = the rounding of in to A's format, as doubles. */
static void round_through(gka_arith_t *A, double *out, const double *in, size_t n) {
    void *tmp = A->alloc(A, n);
    if (!tmp) {
        for (size_t i = 0; i < n; i++)
            out[i] = (double)NAN; /* fails visibly */
        return;
    }
    A->from_double(A, tmp, in, n);
    A->to_double(A, out, tmp, n);
    A->free(A, tmp, n);
}

static gka_status_t synth_job(size_t s, void *vctx, gka_strbuf_t *rows) {
    (void)rows;
    gka_figure_synth_t *S = vctx;
    const int D = S->D;
    const size_t n = (size_t)D;
    gka_synth_config_t cfg =
        gka_synth_config_default(D, S->T, gka_figure_seed(S->seed, S->fig_id, s));
    gka_trace_t tr = {0};
    synth_format_t *F = calloc(S->nformats, sizeof *F);
    double *H = calloc(n * n, sizeof *H), *Hn = calloc(n * n, sizeof *Hn);
    gka_status_t st = (F && H && Hn) ? gka_synth_generate(&cfg, &tr)
                                     : gka_error(GKA_ENOMEM, "figure: out of memory");
    for (size_t f = 0; st == GKA_OK && f < S->nformats; f++)
        st = format_init(S, S->formats[f], &F[f]);
    size_t j = 0;
    for (long t = 0; st == GKA_OK && t < S->T && j < S->nsample; t++) {
        const double *k = tr.k + t * D;
        for (size_t a = 0; a < n; a++)
            for (size_t b = 0; b < n; b++)
                H[a * n + b] += k[a] * k[b];
        if (t != sample_token(S, s, j)) continue;
        double fro = 0.0;
        for (size_t i = 0; i < n * n; i++)
            fro += H[i] * H[i];
        fro = sqrt(fro);
        for (size_t i = 0; i < n * n; i++)
            Hn[i] = H[i] / fro;
        for (size_t f = 0; st == GKA_OK && f < S->nformats; f++) {
            for (size_t ia = 0; st == GKA_OK && ia < S->na; ia++) {
                gka_stream_t *stream = F[f].streams[ia];
                const double *Hp = Hn, *qp = tr.q + t * D;
                if (F[f].have_As) { /* round to the state format, then hold in ITER */
                    round_through(&F[f].As, F[f].Hs, Hn, n * n);
                    round_through(&F[f].As, F[f].qs, qp, n);
                    Hp = F[f].Hs;
                    qp = F[f].qs;
                }
                st = gka_stream_set_H(stream, Hp);
                if (st == GKA_OK) st = gka_stream_set_query(stream, qp);
                for (size_t is = 0; st == GKA_OK && is < S->nsolvers; is++) {
                    gka_solve_info_t info;
                    st = gka_solver_solve(F[f].solvers[ia * S->nsolvers + is], stream, F[f].x,
                                          &info);
                    size_t combo = (f * S->nsolvers + is) * S->na + ia;
                    double *h = S->hist + hist_index(S, combo, s, j);
                    /* A solve that stopped early (breakdown, NaN) keeps its last
                     * residual: what the user of r iterations would get. */
                    for (int i = 0; st == GKA_OK && i <= S->iters; i++)
                        h[i] = info.nhistory > 0
                                   ? info.history[i < info.nhistory ? i : info.nhistory - 1]
                                   : (double)NAN;
                }
            }
        }
        j++;
        gka_progress_advance(S->prog, 1);
    }
    for (size_t f = 0; F && f < S->nformats; f++)
        format_free(S, &F[f]);
    free(F);
    free(H);
    free(Hn);
    gka_trace_free(&tr);
    return st;
}

gka_status_t gka_figure_synth_run(gka_figure_synth_t *S, gka_csv_t *csv) {
    size_t total = gka_figure_synth_ncombo(S) * S->nstreams * S->nsample * (size_t)(S->iters + 1);
    S->hist = malloc(total * sizeof *S->hist);
    if (!S->hist) return gka_error(GKA_ENOMEM, "figure: out of memory (%zu residuals)", total);
    gka_figure_progress_total(S->prog, (long)(S->nstreams * S->nsample));
    gka_csv_t unused;
    gka_csv_init(&unused);
    gka_status_t st = gka_figure_parallel(S->nstreams, synth_job, S, &unused);
    gka_csv_free(&unused);
    if (st != GKA_OK) return st;
    size_t m = S->nstreams * S->nsample;
    double *col = malloc(m * sizeof *col);
    if (!col) return gka_error(GKA_ENOMEM, "figure: out of memory");
    for (size_t f = 0; f < S->nformats; f++)
        for (size_t is = 0; is < S->nsolvers; is++)
            for (size_t ia = 0; ia < S->na; ia++) {
                size_t combo = (f * S->nsolvers + is) * S->na + ia;
                for (int i = 0; i <= S->iters; i++) {
                    for (size_t s = 0; s < S->nstreams; s++)
                        for (size_t j = 0; j < S->nsample; j++)
                            col[s * S->nsample + j] =
                                S->hist[hist_index(S, combo, s, j) + (size_t)i];
                    size_t nonfinite = 0;
                    for (size_t k = 0; k < m; k++)
                        nonfinite += isfinite(col[k]) ? 0u : 1u;
                    double worst = gka_figure_max(col, m);
                    double med = gka_figure_median(col, m);
                    char cell[64];
                    gka_csv_row(csv, "%s,%s,%.17g,%d,%.17g,%.17g,%zu",
                                gka_figure_cell(S->formats[f], cell, sizeof cell), S->solvers[is],
                                S->a[ia], i, med, worst, nonfinite);
                }
            }
    free(col);
    return GKA_OK;
}

void gka_figure_synth_meta(const gka_figure_synth_t *S, gka_csv_t *csv) {
    gka_csv_meta(csv, "streams", "%zu", S->nstreams);
    gka_csv_meta(csv, "tokens_per_stream", "%zu (evenly spaced, offset per stream)", S->nsample);
    gka_csv_meta(csv, "problem",
                 "H = sum_{u<=t} k_u k_u^T / ||.||_F, A = H + a I (fixed ridge a); "
                 "q_t, k_t iid normal, L2-normalised");
    gka_csv_meta(csv, "arithmetic",
                 "fp64 native; others emulated, round-to-nearest-even storage, "
                 "fp32 accumulation of dot/gemv");
    gka_csv_meta(csv, "columns",
                 "i = iterate index (0: the solver's start x_0); residual = "
                 "||(H+aI)x_i - q||/||q|| in fp64 on the rounded problem; median "
                 "and max over all (stream, token) problems (a NaN/Inf residual counts as "
                 "+Inf); nonfinite = problems whose residual at i is NaN/Inf");
}
