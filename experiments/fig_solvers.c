/* Figure `solvers`: the paper's claim, every solver under the same
 * arithmetic. One table of cells
 *
 *   rows     formats  fp64, fp32, fp16, bf16, e4m3 (fp32 accumulation)
 *   columns  solvers  chebyshev, cg (guarded), cg (plain, textbook: no
 *                     breakdown guard, NaN propagates), gd, agd, cholesky,
 *                     and the best Kalman form (chosen by its fp64 error on
 *                     the decay ridge, the problem the recursion solves
 *                     exactly)
 *   panels   state regime x ridge:
 *              token              H_t stored in the format, rounded every
 *                                 token; iterates in the format
 *              token-fp32-iterates the same state, iterates in fp32 (the
 *                                 operator takes H_t, q_t, lambda_t into fp32
 *                                 each token): differs from `token` in the
 *                                 iterates only, from `chunk-format-carry`
 *                                 in the state model only
 *              chunk-fp32-carry   chunk form C = 64: the running chunk state
 *                                 kept in fp32 (as the GPU kernels keep it),
 *                                 snapshots rounded to the format; fp32
 *                                 iterates
 *              chunk-format-carry chunk form C = 64, the running state itself
 *                                 carried in the format; fp32 iterates
 *            x adaptive:0.02, fixed:0.25, decay:0.25
 *
 * on the same problems: synthetic streams with GKA decay gates and sigmoid
 * write gates. Each cell is one gka_run per stream (the one run driver):
 * relative error ||x_t - x*_t|| / ||x*_t|| at every token against the fp64
 * LAPACK solution of the same rounded problem, its median and worst over all
 * tokens of all streams (a NaN/Inf answer counts as +Inf, the worst), and the
 * tokens with a NaN or overflow event. Cells that do not apply (Kalman in
 * chunk form: the recursion is token-form by nature; Kalman on a ridge other
 * than decay: it solves another problem there; any solver on the decay ridge
 * in chunk form: the chunker has fixed and adaptive ridges only) are rows
 * marked n/a.
 *
 * Formats, solvers (by label), ridges, the chunk size C and the iterations
 * r are parameters (--formats, --solvers, --ridges, --chunk, --iters); the
 * lists above are the defaults. The Kalman form is picked on the first
 * decay ridge given, by fp64 if fp64 is among the formats, else by the first
 * format; without a decay ridge no Kalman cell applies.
 *
 * One job per cell, run in parallel; the CSV is byte-identical for any
 * thread count (each cell's data and arithmetic depend on the seed only). */
#include "gka_data.h"
#include "gka_figure_internal.h"
#include "gka_run.h"
#include "gka_stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { SV_NSOLVER = 7, SV_NREGIME = 4, SV_NKALMAN = 4, SV_MAX = GKA_FP_MAX_ITEMS };

typedef struct {
    const char *label;   /* column label in the CSV and the plot */
    const char *solver;  /* gka_solver_list name */
    const char *variant; /* "" = the solver's default; NULL: chosen (Kalman) */
} sv_solver_t;

static const sv_solver_t sv_solvers[SV_NSOLVER] = {{"chebyshev", "chebyshev", ""},
                                                   {"cg-guarded", "cg", "guarded"},
                                                   {"cg-plain", "cg", "plain"},
                                                   {"gd", "gd", ""},
                                                   {"agd", "agd", ""},
                                                   {"cholesky", "cholesky", ""},
                                                   {"kalman", "kalman", NULL}};

static const char *const sv_kalman_forms[SV_NKALMAN] = {"info", "cov", "joseph", "sqrt"};

typedef struct {
    const char *name;
    int chunk;           /* 1: the chunk form (of the figure's C) */
    int carry_in_format; /* 0: fp32 carry (kernels), 1: the state carried in the format */
    int iter_fp32;       /* token form: iterates in fp32 (fp64 keeps fp64) */
} sv_regime_t;

enum { SV_TOKEN_FP32_ITER = 1 };
static const sv_regime_t sv_regimes[SV_NREGIME] = {{"token", 0, 0, 0},
                                                   {"token-fp32-iterates", 0, 0, 1},
                                                   {"chunk-fp32-carry", 1, 0, 0},
                                                   {"chunk-format-carry", 1, 1, 0}};

typedef struct {
    int D;
    long T;
    int chunk, iters;
    size_t nstreams;
    gka_trace_t *tr; /* nstreams */
    size_t nformat, nsolver, nridge;
    const char *format[SV_MAX];
    const sv_solver_t *solver[SV_MAX]; /* the columns chosen, in the order given */
    const char *ridge[SV_MAX];
    int is_decay[SV_MAX];
    const char *kalman_ridge; /* the first decay ridge, or NULL */
    size_t kalman_by;         /* the format that picks the Kalman form */
    const char *kalman_form;
    double kalman_err[SV_MAX][SV_NKALMAN][2]; /* median, worst per format and form */
    long kalman_nan[SV_MAX][SV_NKALMAN];      /* tokens with a NaN/Inf answer */
    gka_progress_t *prog;
} sv_ctx_t;

static int is_kalman(const sv_solver_t *so) {
    return !strcmp(so->solver, "kalman");
}

/* One cell's per-token accounting (the gka_run callback). */
typedef struct {
    double *err; /* tokens over all streams */
    size_t n;
    long nonfinite, overflow, bad, ref_failed;
} sv_acc_t;

static int sv_on_token(void *vacc, const gka_token_metrics_t *m) {
    sv_acc_t *a = vacc;
    /* the answer itself: exact per token in both forms */
    a->nonfinite += m->nonfinite;
    /* the arithmetic's flags: per token in token form, per chunk in chunk form */
    a->overflow += (m->events & GKA_FLAG_OVERFLOW) != 0;
    a->bad += m->nonfinite || (m->events & GKA_FLAG_OVERFLOW);
    if (m->nonfinite)
        a->err[a->n++] = (double)INFINITY; /* a NaN answer is the worst case */
    else if (m->x_ref)
        a->err[a->n++] = m->err;
    else
        a->ref_failed++;
    return 0;
}

typedef struct {
    size_t regime, ridge, format, solver;
} sv_cell_t;

static sv_cell_t sv_cell(const sv_ctx_t *c, size_t j) {
    sv_cell_t k;
    k.solver = j % c->nsolver;
    k.format = (j / c->nsolver) % c->nformat;
    k.ridge = (j / (c->nsolver * c->nformat)) % c->nridge;
    k.regime = j / (c->nsolver * c->nformat * c->nridge);
    return k;
}

/* Why a cell does not apply, or NULL. */
static const char *sv_not_applicable(const sv_ctx_t *c, sv_cell_t k) {
    const sv_solver_t *so = c->solver[k.solver];
    if (sv_regimes[k.regime].chunk && c->is_decay[k.ridge] && !is_kalman(so))
        return "the chunk form has fixed and adaptive ridges only (gka_chunker_create refuses "
               "decay)";
    if (k.regime == SV_TOKEN_FP32_ITER && (is_kalman(so) || !strcmp(so->solver, "cholesky")))
        return "cholesky and kalman have no iterates (they solve in the studied arithmetic: "
               "see the token form)";
    if (!is_kalman(so)) return NULL;
    if (sv_regimes[k.regime].chunk) return "kalman is token-form only (a recursion over tokens)";
    if (!c->is_decay[k.ridge])
        return "kalman solves the decay ridge only (its regulariser decays with the gates)";
    return NULL;
}

/* Run one solver configuration over every stream, errors into acc. */
static gka_status_t sv_measure(const sv_ctx_t *c, const char *format, size_t regime,
                               const char *ridge, const char *solver, const char *variant,
                               sv_acc_t *acc) {
    gka_run_config_t cfg = gka_run_config_default();
    gka_status_t st = gka_ridge_parse(ridge, &cfg.ridge);
    if (st != GKA_OK) return st;
    cfg.D = c->D;
    cfg.T = c->T;
    cfg.solver = solver;
    cfg.opts.iters = c->iters;
    snprintf(cfg.opts.variant, sizeof cfg.opts.variant, "%s", variant);
    cfg.format = format;
    cfg.accum = gka_accum_default(format);
    cfg.chunk = sv_regimes[regime].chunk ? c->chunk : 0;
    if (sv_regimes[regime].iter_fp32 && strcmp(format, "fp64") != 0) cfg.iter_format = "fp32";
    /* NULL: gka_run's default, the kernels' fp32 carry (fp64 keeps its own) */
    cfg.carry = sv_regimes[regime].carry_in_format ? format : NULL;
    cfg.on_token = sv_on_token;
    cfg.ctx = acc;
    for (size_t s = 0; st == GKA_OK && s < c->nstreams; s++) {
        const gka_trace_t *tr = &c->tr[s];
        cfg.q = tr->q;
        cfg.k = tr->k;
        cfg.g = tr->g;
        cfg.beta = tr->beta;
        cfg.seed = gka_figure_seed(1, 20, s); /* used by stochastic rounding only */
        gka_run_summary_t sum;
        st = gka_run(&cfg, &sum);
    }
    return st;
}

static gka_status_t sv_acc_init(const sv_ctx_t *c, sv_acc_t *acc) {
    memset(acc, 0, sizeof *acc);
    acc->err = malloc(c->nstreams * (size_t)c->T * sizeof *acc->err);
    return acc->err ? GKA_OK : gka_error(GKA_ENOMEM, "solvers: out of memory");
}

/* Phase 1: every Kalman form in every format on the decay ridge (token
 * form): fp64 picks the column's form, the others are reported beside it
 * (metadata), since forms equal in fp64 need not be equal in bf16. */
static gka_status_t sv_kalman_job(size_t j, void *vctx, gka_strbuf_t *rows) {
    (void)rows;
    sv_ctx_t *c = vctx;
    const size_t f = j / SV_NKALMAN, v = j % SV_NKALMAN;
    sv_acc_t acc;
    gka_status_t st = sv_acc_init(c, &acc);
    if (st == GKA_OK)
        st = sv_measure(c, c->format[f], 0, c->kalman_ridge, "kalman", sv_kalman_forms[v], &acc);
    if (st == GKA_OK) {
        c->kalman_err[f][v][1] = gka_figure_max(acc.err, acc.n);
        c->kalman_err[f][v][0] = gka_figure_median(acc.err, acc.n);
        c->kalman_nan[f][v] = acc.nonfinite;
    }
    free(acc.err);
    return st;
}

/* The form with the smallest worst error in the picking format (fp64 when
 * given), then median, then list order. */
static const char *sv_pick_kalman(const sv_ctx_t *c) {
    size_t best = 0;
    for (size_t v = 1; v < SV_NKALMAN; v++) {
        const double *a = c->kalman_err[c->kalman_by][v], *b = c->kalman_err[c->kalman_by][best];
        if (a[1] < b[1] || (a[1] == b[1] && a[0] < b[0])) best = v;
    }
    return sv_kalman_forms[best];
}

static gka_status_t sv_cell_job(size_t j, void *vctx, gka_strbuf_t *rows) {
    sv_ctx_t *c = vctx;
    const sv_cell_t k = sv_cell(c, j);
    const sv_solver_t *so = c->solver[k.solver];
    const char *variant = so->variant ? so->variant : c->kalman_form;
    char fc[64];
    gka_strbuf_printf(rows, "%s,%s,%s,%s,%s,%zu,%zu,%zu,%zu,", sv_regimes[k.regime].name,
                      c->ridge[k.ridge], gka_figure_cell(c->format[k.format], fc, sizeof fc),
                      so->label, variant[0] ? variant : "default", k.regime, k.ridge, k.format,
                      k.solver);
    const char *why = sv_not_applicable(c, k);
    if (why) {
        gka_strbuf_printf(rows, "n/a,0,nan,nan,0,0,0,0,%s\n", why);
        gka_progress_advance(c->prog, 1);
        return GKA_OK;
    }
    sv_acc_t acc;
    gka_status_t st = sv_acc_init(c, &acc);
    if (st == GKA_OK)
        st = sv_measure(c, c->format[k.format], k.regime, c->ridge[k.ridge], so->solver, variant,
                        &acc);
    if (st == GKA_OK) {
        const double worst = gka_figure_max(acc.err, acc.n);
        const double med = gka_figure_median(acc.err, acc.n);
        gka_strbuf_printf(rows, "%s,%zu,%.17g,%.17g,%ld,%ld,%ld,%ld,\n",
                          isfinite(med) ? "ok" : "nonfinite", acc.n, med, worst, acc.nonfinite,
                          acc.overflow, acc.bad, acc.ref_failed);
    }
    free(acc.err);
    gka_progress_advance(c->prog, 1);
    return st;
}

static gka_status_t sv_data(sv_ctx_t *c, uint64_t seed) {
    gka_status_t st = GKA_OK;
    for (size_t s = 0; st == GKA_OK && s < c->nstreams; s++) {
        gka_synth_config_t cfg = gka_synth_config_default(c->D, c->T, gka_figure_seed(seed, 20, s));
        st = gka_gate_spec_parse("gka", &cfg.gate);
        if (st == GKA_OK) st = gka_beta_spec_parse("sigmoid", &cfg.beta);
        if (st == GKA_OK) st = gka_synth_generate(&cfg, &c->tr[s]);
    }
    return st;
}

static void sv_meta(const sv_ctx_t *c, gka_csv_t *csv) {
    gka_csv_meta(csv, "streams", "%zu", c->nstreams);
    gka_csv_meta(csv, "iters_note",
                 "chebyshev, cg, gd, agd: --iters per token, zero start, no "
                 "tolerance");
    gka_csv_meta(csv, "data",
                 "synthetic: keys and queries iid normal, L2-normalised; GKA decay gates "
                 "(gate gka: g = -A softplus(z - 6), A log-uniform in [1, 16] per stream) and "
                 "write gates (beta sigmoid); stream s seeded from (seed, 20, s)");
    gka_csv_meta(csv, "formats_note",
                 "fp64 native; the others emulated, round to nearest even, fp32 "
                 "accumulation of dot products and matrix-vector products");
    gka_csv_meta(csv, "ridges_note",
                 "adaptive:A (lambda_t = A ||H_t||_F), fixed:L, decay:L0 (lambda_t = "
                 "gamma_t lambda_{t-1}, lambda_0 = L0: exponentially weighted RLS)");
    gka_csv_meta(
        csv, "regimes",
        "token: H_t stored in the format, rounded every token, iterates in the format; "
        "token-fp32-iterates: the same state, iterates in fp32 (fp64 keeps fp64; "
        "iterative solvers only); chunk-fp32-carry: chunk form C = %d (--chunk), running chunk "
        "state in fp32, snapshots "
        "rounded to the format, fp32 iterates (the GPU kernels' model; fp64 keeps "
        "state and iterates in fp64); "
        "chunk-format-carry: chunk form C = %d, the running state carried in the "
        "format, fp32 iterates",
        c->chunk, c->chunk);
    gka_csv_meta(csv, "solvers_note",
                 "chebyshev; cg-guarded (breakdown guard); cg-plain (textbook CG, NaN "
                 "propagates); gd; agd; cholesky; kalman (token form, decay ridge only)");
    if (!c->kalman_ridge) {
        gka_csv_meta(csv, "kalman_form", "not measured (no kalman column or no decay ridge)");
    } else {
        const size_t b = c->kalman_by;
        gka_csv_meta(csv, "kalman_form",
                     "%s (smallest %s worst error on %s, token form; %s median/worst: "
                     "info %.3g/%.3g, cov %.3g/%.3g, joseph %.3g/%.3g, sqrt %.3g/%.3g)",
                     c->kalman_form, c->format[b], c->kalman_ridge, c->format[b],
                     c->kalman_err[b][0][0], c->kalman_err[b][0][1], c->kalman_err[b][1][0],
                     c->kalman_err[b][1][1], c->kalman_err[b][2][0], c->kalman_err[b][2][1],
                     c->kalman_err[b][3][0], c->kalman_err[b][3][1]);
    }
    for (size_t f = 0; c->kalman_ridge && f < c->nformat; f++) {
        char key[96], fc[64];
        snprintf(key, sizeof key, "kalman_forms_%s", gka_figure_cell(c->format[f], fc, sizeof fc));
        gka_csv_meta(csv, key,
                     "%s, token form, median/worst (NaN tokens): info %.3g/%.3g (%ld), "
                     "cov %.3g/%.3g (%ld), joseph %.3g/%.3g (%ld), sqrt %.3g/%.3g (%ld)",
                     c->kalman_ridge, c->kalman_err[f][0][0], c->kalman_err[f][0][1],
                     c->kalman_nan[f][0], c->kalman_err[f][1][0], c->kalman_err[f][1][1],
                     c->kalman_nan[f][1], c->kalman_err[f][2][0], c->kalman_err[f][2][1],
                     c->kalman_nan[f][2], c->kalman_err[f][3][0], c->kalman_err[f][3][1],
                     c->kalman_nan[f][3]);
    }
    gka_csv_meta(csv, "reference",
                 "x*_t = fp64 LAPACK solution of the same rounded problem (gka_run)");
    gka_csv_meta(csv, "columns",
                 "status: ok | nonfinite (the median token's answer is NaN/Inf) | n/a (see note); "
                 "tokens: tokens with a reference over all streams; err_median, err_max: of "
                 "||x_t - x*_t||/||x*_t|| over those tokens (inf: NaN/Inf in x); nan_tokens: "
                 "tokens whose answer x_t has a NaN/Inf; overflow_tokens: tokens during which "
                 "the arithmetic raised overflow (chunk form: the flags are gathered per chunk, "
                 "so every token of the chunk counts); bad_tokens: either; *_index: positions "
                 "for the plot");
}

/* The lists of P into c: the solver columns by label, which ridges decay,
 * the Kalman phase's ridge and picking format. */
static gka_status_t sv_choose(sv_ctx_t *c, const gka_figure_params_t *P) {
    c->chunk = gka_figure_int(P, GKA_FP_CHUNK);
    c->iters = gka_figure_int(P, GKA_FP_ITERS);
    c->nformat = gka_figure_count(P, GKA_FP_FORMATS);
    c->nsolver = gka_figure_count(P, GKA_FP_SOLVERS);
    c->nridge = gka_figure_count(P, GKA_FP_RIDGES);
    gka_figure_names(P, GKA_FP_FORMATS, c->format);
    gka_figure_names(P, GKA_FP_RIDGES, c->ridge);
    int kalman = 0;
    for (size_t i = 0; i < c->nsolver; i++) {
        const char *label = gka_figure_item(P, GKA_FP_SOLVERS, i);
        for (size_t s = 0; s < SV_NSOLVER; s++)
            if (!strcmp(sv_solvers[s].label, label)) c->solver[i] = &sv_solvers[s];
        if (!c->solver[i]) return gka_error(GKA_EINVAL, "solvers: unknown column '%s'", label);
        kalman |= is_kalman(c->solver[i]);
    }
    for (size_t r = 0; r < c->nridge; r++) {
        gka_ridge_t ridge;
        gka_status_t st = gka_ridge_parse(c->ridge[r], &ridge);
        if (st != GKA_OK) return st;
        c->is_decay[r] = ridge.kind == GKA_RIDGE_DECAY;
        if (kalman && c->is_decay[r] && !c->kalman_ridge) c->kalman_ridge = c->ridge[r];
    }
    for (size_t f = 0; f < c->nformat; f++)
        if (!strcmp(c->format[f], "fp64")) {
            c->kalman_by = f;
            break;
        }
    return GKA_OK;
}

static gka_status_t sv_run(const gka_figure_opts_t *opts, const gka_figure_params_t *P,
                           gka_progress_t *prog, gka_csv_t *csv) {
    sv_ctx_t c;
    memset(&c, 0, sizeof c);
    c.D = gka_figure_int(P, GKA_FP_D);
    c.T = gka_figure_int(P, GKA_FP_T);
    c.nstreams = 1;
    c.prog = prog;
    c.tr = calloc(c.nstreams, sizeof *c.tr);
    if (!c.tr) return gka_error(GKA_ENOMEM, "solvers: out of memory");
    gka_status_t st = sv_choose(&c, P);
    if (st == GKA_OK) st = sv_data(&c, opts->seed);
    const size_t ncell = SV_NREGIME * c.nridge * c.nformat * c.nsolver;
    const size_t nkalman = c.kalman_ridge ? c.nformat * SV_NKALMAN : 0;
    gka_figure_progress_total(prog, (long)(ncell + nkalman));
    gka_csv_t unused;
    gka_csv_init(&unused);
    if (st == GKA_OK) st = gka_figure_parallel(nkalman, sv_kalman_job, &c, &unused);
    gka_csv_free(&unused);
    if (st == GKA_OK) {
        gka_progress_advance(prog, (long)nkalman);
        c.kalman_form = c.kalman_ridge ? sv_pick_kalman(&c) : "none";
        sv_meta(&c, csv);
        gka_csv_header(csv, "regime,ridge,format,solver,variant,regime_index,ridge_index,"
                            "format_index,solver_index,status,tokens,err_median,err_max,"
                            "nan_tokens,overflow_tokens,bad_tokens,ref_failures,note");
        st = gka_figure_parallel(ncell, sv_cell_job, &c, csv);
    }
    for (size_t s = 0; s < c.nstreams; s++)
        gka_trace_free(&c.tr[s]);
    free(c.tr);
    return st;
}

static const gka_figure_param_decl_t sv_params[] = {
    {GKA_FP_D,
     "head dimension D (quick: 16 < r = 30, so CG terminates in exact arithmetic)",
     {"16", "64"},
     1,
     1024,
     1,
     NULL,
     0},
    {GKA_FP_T, "tokens T", {"256", "2048"}, 1, 10000000, 1, NULL, 0},
    {GKA_FP_FORMATS,
     "number formats, the table's rows (fp32 accumulation)",
     {"fp64,fp32,fp16,bf16,e4m3", "fp64,fp32,fp16,bf16,e4m3"},
     0,
     0,
     16,
     NULL,
     0},
    {GKA_FP_SOLVERS,
     "the table's columns (kalman: the best of its forms, decay ridges only)",
     {"chebyshev,cg-guarded,cg-plain,gd,agd,cholesky,kalman",
      "chebyshev,cg-guarded,cg-plain,gd,agd,cholesky,kalman"},
     0,
     0,
     SV_NSOLVER,
     "chebyshev|cg-guarded|cg-plain|gd|agd|cholesky|kalman",
     0},
    {GKA_FP_RIDGES,
     "ridges: adaptive:A, fixed:LAMBDA, decay:LAMBDA0 (decay: token form and kalman only)",
     {"adaptive:0.02,fixed:0.25,decay:0.25", "adaptive:0.02,fixed:0.25,decay:0.25"},
     0,
     0,
     8,
     NULL,
     0},
    {GKA_FP_CHUNK, "chunk size C of the chunk-form regimes", {"64", "64"}, 1, 4096, 1, NULL, 0},
    {GKA_FP_ITERS, "iterations r of chebyshev, cg, gd, agd", {"30", "30"}, 1, 100000, 1, NULL, 0},
};

const gka_figure_t gka_figure_solvers = {
    "solvers",
    "every solver under the same arithmetic: median/worst error and NaN/overflow tokens, formats "
    "x solvers, token form / chunk form (fp32 carry, format carry) x ridges",
    sv_run, sv_params, sizeof sv_params / sizeof sv_params[0]};
