/* gka sweep: one cell = one gka_run over a seeded synthetic stream, rendered
 * as a text block (summary line + rows) that ranks exchange and the journal
 * keeps. Numbers are printed with %.17g so that blocks made by different
 * ranks or processes compare byte for byte. */
#include "gka_sweep.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gka_data.h"
#include "gka_figure.h"
#include "gka_run.h"
#include "gka_stream.h"

static const char rows_header[] =
    "cell,solver,variant,format,accum,mode,ridge,keys,gate,beta,D,T,iters,chunk,seed,"
    "t,err,res,kappa,kappa_bound,hnorm,lambda,reason,events";

static const char summary_header[] =
    "cell,solver,variant,format,accum,mode,ridge,keys,gate,beta,D,T,iters,chunk,seed,"
    "status,err_median,err_max,res_median,res_max,kappa_min,kappa_max,kappa_bound_max,"
    "tokens_nan,tokens_overflow,tokens_underflow,tokens_lost_pd,converged,iteration_limit,"
    "diverged,breakdown,lost_pd,nan,message";

const char *gka_sweep_rows_header(void) {
    return rows_header;
}

const char *gka_sweep_summary_header(void) {
    return summary_header;
}

/* A CSV field: quoted when it holds a comma, quote or newline. */
static void put_field(gka_strbuf_t *b, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        gka_strbuf_printf(b, "%s", s);
        return;
    }
    gka_strbuf_append(b, "\"", 1);
    for (; *s; s++) {
        if (*s == '"') gka_strbuf_append(b, "\"", 1);
        if (*s == '\n' || *s == '\r') {
            gka_strbuf_append(b, " ", 1);
            continue;
        }
        gka_strbuf_append(b, s, 1);
    }
    gka_strbuf_append(b, "\"", 1);
}

/* cell id and the cell's parameter columns, each followed by a comma. */
static void put_params(gka_strbuf_t *b, const gka_sweep_grid_t *g, long cell) {
    gka_strbuf_printf(b, "%ld,", cell);
    for (int a = 0; a < GKA_SWEEP_NAXES; a++) {
        put_field(b, gka_sweep_cell_value(g, cell, a));
        gka_strbuf_append(b, ",", 1);
    }
}

typedef struct {
    const gka_sweep_grid_t *grid;
    long cell, T;
    gka_strbuf_t rows;
} row_ctx_t;

static int on_token(void *vctx, const gka_token_metrics_t *m) {
    row_ctx_t *c = vctx;
    if ((m->t + 1) % c->grid->every != 0 && m->t != c->T - 1) return 0;
    put_params(&c->rows, c->grid, c->cell);
    gka_strbuf_printf(&c->rows, "%ld,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%s,%u\n", m->t, m->err,
                      m->res, m->kappa, m->kappa_bound, m->hnorm, m->lambda,
                      gka_reason_name(m->reason), m->events);
    return 0;
}

#define V(axis) gka_sweep_cell_value(g, cell, GKA_SWEEP_AXIS_##axis)

/* The run configuration of a cell over the trace tr (D and T from tr). */
static gka_status_t run_config(const gka_sweep_grid_t *g, long cell, const gka_trace_t *tr,
                               gka_run_config_t *rc) {
    const uint64_t seed = strtoull(V(SEED), NULL, 10);
    *rc = gka_run_config_default();
    rc->D = tr->D;
    rc->T = tr->T;
    rc->q = tr->q;
    rc->k = tr->k;
    rc->g = tr->g;
    rc->beta = tr->beta;
    gka_status_t st;
    if ((st = gka_ridge_parse(V(RIDGE), &rc->ridge)) != GKA_OK) return st;
    rc->solver = V(SOLVER);
    rc->opts.iters = atoi(V(ITERS));
    snprintf(rc->opts.variant, sizeof rc->opts.variant, "%s", V(VARIANT));
    rc->format = V(FORMAT);
    /* accumulation and rounding mode belong to emulated formats; native fp64
     * has neither, so a grid may mix fp64 with bf16/wide cells. */
    const int native = !strcmp(rc->format, "fp64");
    rc->accum = native ? NULL : V(ACCUM);
    rc->mode = native ? NULL : V(MODE);
    rc->seed = seed;
    rc->chunk = atoi(V(CHUNK));
    rc->every = g->kappa_every;
    return GKA_OK;
}

/* Build the run configuration of a cell; the trace is generated here. */
static gka_status_t setup_cell(const gka_sweep_grid_t *g, long cell, gka_trace_t *tr,
                               gka_run_config_t *rc) {
    const int D = atoi(V(D));
    const long T = atol(V(T));
    const uint64_t seed = strtoull(V(SEED), NULL, 10);
    gka_synth_config_t sc = gka_synth_config_default(D, T, seed);
    gka_status_t st;
    if ((st = gka_keys_spec_parse(V(KEYS), &sc.keys)) != GKA_OK) return st;
    if ((st = gka_gate_spec_parse(V(GATE), &sc.gate)) != GKA_OK) return st;
    if ((st = gka_beta_spec_parse(V(BETA), &sc.beta)) != GKA_OK) return st;
    if ((st = gka_synth_generate(&sc, tr)) != GKA_OK) return st;
    return run_config(g, cell, tr, rc);
}
#undef V

/* A cell's data over one token: the keys, gate and beta specs with the
 * cell's D (lowrank:R needs R <= D). */
static gka_status_t check_data(const gka_sweep_grid_t *g, long cell) {
    gka_trace_t tr;
    memset(&tr, 0, sizeof tr);
    const int D = atoi(gka_sweep_cell_value(g, cell, GKA_SWEEP_AXIS_D));
    gka_synth_config_t sc = gka_synth_config_default(D, 1, 1);
    gka_status_t st;
    if ((st = gka_keys_spec_parse(gka_sweep_cell_value(g, cell, GKA_SWEEP_AXIS_KEYS), &sc.keys)) ||
        (st = gka_gate_spec_parse(gka_sweep_cell_value(g, cell, GKA_SWEEP_AXIS_GATE), &sc.gate)) ||
        (st = gka_beta_spec_parse(gka_sweep_cell_value(g, cell, GKA_SWEEP_AXIS_BETA), &sc.beta)))
        return st;
    st = gka_synth_generate(&sc, &tr);
    gka_trace_free(&tr);
    return st;
}

/* A cell's solver configuration over one token of iid data with D = 2:
 * gka_run refuses what it would refuse in the full run (a variant the
 * solver lacks, mpfr:0, a chunk form for a solver without one ...). */
static gka_status_t check_run(const gka_sweep_grid_t *g, long cell) {
    gka_trace_t tr;
    memset(&tr, 0, sizeof tr);
    gka_synth_config_t sc = gka_synth_config_default(2, 1, 1);
    gka_status_t st = gka_synth_generate(&sc, &tr);
    gka_run_config_t rc;
    if (st == GKA_OK) st = run_config(g, cell, &tr, &rc);
    if (st == GKA_OK) {
        gka_run_summary_t sum;
        rc.no_reference = 1;
        rc.every = 0;
        st = gka_run(&rc, &sum);
    }
    gka_trace_free(&tr);
    return st;
}

gka_status_t gka_sweep_cell_check(const gka_sweep_grid_t *g, long cell, int what) {
    return what == GKA_SWEEP_CHECK_DATA ? check_data(g, cell) : check_run(g, cell);
}

static void put_summary(gka_strbuf_t *b, const gka_run_summary_t *s) {
    gka_strbuf_printf(b, "ok,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%ld,%ld,%ld,%ld",
                      s->err_median, s->err_max, s->res_median, s->res_max, s->kappa_min,
                      s->kappa_max, s->kappa_bound_max, s->ev_nan, s->ev_overflow, s->ev_underflow,
                      s->ev_lost_pd);
    const gka_reason_t reasons[] = {GKA_REASON_CONVERGED, GKA_REASON_ITERATION_LIMIT,
                                    GKA_REASON_DIVERGED,  GKA_REASON_BREAKDOWN,
                                    GKA_REASON_LOST_PD,   GKA_REASON_NAN};
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        gka_strbuf_printf(b, ",%ld", s->reasons[reasons[i]]);
    gka_strbuf_printf(b, ",\n");
}

static void put_failure(gka_strbuf_t *b, gka_status_t st, const char *msg) {
    /* status, then 17 empty numeric columns, then the message */
    gka_strbuf_printf(b, "failed");
    for (int i = 0; i < 18; i++)
        gka_strbuf_append(b, ",", 1);
    char text[600];
    snprintf(text, sizeof text, "%s: %s", gka_strerror(st), msg);
    put_field(b, text);
    gka_strbuf_printf(b, "\n");
}

gka_status_t gka_sweep_run_cell(const gka_sweep_grid_t *g, long cell, char **block) {
    gka_trace_t tr;
    memset(&tr, 0, sizeof tr);
    gka_run_config_t rc;
    gka_run_summary_t sum;
    row_ctx_t ctx = {g, cell, 0, {0}};
    gka_strbuf_init(&ctx.rows);
    gka_error_clear();
    gka_status_t st = setup_cell(g, cell, &tr, &rc);
    if (st == GKA_OK) {
        ctx.T = rc.T;
        rc.on_token = on_token;
        rc.ctx = &ctx;
        st = gka_run(&rc, &sum);
    }
    gka_trace_free(&tr);
    if (st == GKA_OK && ctx.rows.status != GKA_OK)
        st = gka_error(GKA_ENOMEM, "rows: out of memory");

    gka_strbuf_t b;
    gka_strbuf_init(&b);
    gka_strbuf_printf(&b, "@cell %ld %s\n", cell, st == GKA_OK ? "ok" : "failed");
    put_params(&b, g, cell);
    if (st == GKA_OK) {
        put_summary(&b, &sum);
        gka_strbuf_append(&b, ctx.rows.data ? ctx.rows.data : "", ctx.rows.len);
    } else {
        put_failure(&b, st, gka_error_message());
    }
    gka_strbuf_printf(&b, "@end %ld\n", cell);
    gka_strbuf_free(&ctx.rows);
    if (b.status != GKA_OK) {
        gka_strbuf_free(&b);
        return gka_error(GKA_ENOMEM, "sweep: out of memory for cell %ld", cell);
    }
    *block = b.data;
    return GKA_OK;
}

gka_status_t gka_sweep_block_parse(const char *block, size_t len, long *cell, int *ok) {
    char status[16];
    long id = -1, end_id = -2;
    int used = 0;
    if (len < 8 || memchr(block, '\0', len) ||
        sscanf(block, "@cell %ld %15[a-z]%n", &id, status, &used) != 2 || block[used] != '\n')
        return gka_error(GKA_EFORMAT, "sweep block: no '@cell ID STATUS' line");
    /* the last line must be "@end ID" */
    size_t i = len;
    if (block[i - 1] != '\n') return gka_error(GKA_EFORMAT, "sweep block %ld: cut short", id);
    i--;
    while (i > 0 && block[i - 1] != '\n')
        i--;
    if (i <= (size_t)used || sscanf(block + i, "@end %ld", &end_id) != 1 || end_id != id)
        return gka_error(GKA_EFORMAT, "sweep block %ld: no matching '@end'", id);
    if (strcmp(status, "ok") != 0 && strcmp(status, "failed") != 0)
        return gka_error(GKA_EFORMAT, "sweep block %ld: bad status '%s'", id, status);
    *cell = id;
    *ok = !strcmp(status, "ok");
    return GKA_OK;
}

long gka_sweep_cell_rows(const gka_sweep_grid_t *g, long cell) {
    const long T = atol(gka_sweep_cell_value(g, cell, GKA_SWEEP_AXIS_T));
    return T / g->every + (T % g->every != 0);
}

/* The line starting at *p (up to and including its newline), or 0 bytes at
 * the end of the block. */
static size_t line_at(const char *p, const char *end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? (size_t)(nl - p) + 1 : 0;
}

static gka_status_t bad_block(long cell, const char *fmt, const char *what) {
    return gka_error(GKA_EFORMAT, fmt, cell, what);
}

gka_status_t gka_sweep_block_check(const gka_sweep_grid_t *g, const char *block, size_t len,
                                   long cell) {
    long id;
    int ok;
    gka_status_t st = gka_sweep_block_parse(block, len, &id, &ok);
    if (st != GKA_OK) return st;
    if (id != cell) return gka_error(GKA_EFORMAT, "block of cell %ld says cell %ld", cell, id);
    if (cell < 0 || cell >= g->ncells)
        return gka_error(GKA_EFORMAT, "block of cell %ld: outside the grid", cell);
    gka_strbuf_t pre;
    gka_strbuf_init(&pre);
    put_params(&pre, g, cell);
    if (pre.status != GKA_OK) return gka_error(GKA_ENOMEM, "sweep: out of memory");
    const char *p = block + line_at(block, block + len), *end = block + len;
    size_t n = line_at(p, end);
    /* the summary line: this cell's parameters, then the status of the header */
    const char *want = ok ? "ok," : "failed,";
    if (n < pre.len + strlen(want) || memcmp(p, pre.data, pre.len) != 0 ||
        memcmp(p + pre.len, want, strlen(want)) != 0) {
        gka_strbuf_free(&pre);
        return bad_block(cell, "block of cell %ld: summary line is not this cell's %s result",
                         ok ? "ok" : "failed");
    }
    p += n;
    long rows = 0, expect = ok ? gka_sweep_cell_rows(g, cell) : 0;
    const long T = atol(gka_sweep_cell_value(g, cell, GKA_SWEEP_AXIS_T));
    for (; (n = line_at(p, end)) > 0 && strncmp(p, "@end ", 5) != 0; p += n, rows++) {
        /* row k reports token t = (k + 1) every - 1, the last one T - 1 */
        long t = (rows + 1) * g->every - 1, got = -1;
        if (t > T - 1) t = T - 1;
        char tail[32];
        int used = 0;
        if (n <= pre.len || memcmp(p, pre.data, pre.len) != 0 ||
            sscanf(p + pre.len, "%ld,%n", &got, &used) != 1 || used == 0 || got != t ||
            !memchr(p + pre.len, ',', n - pre.len)) {
            snprintf(tail, sizeof tail, "%ld", rows + 1);
            gka_strbuf_free(&pre);
            return bad_block(cell, "block of cell %ld: row %s is not this cell's", tail);
        }
    }
    gka_strbuf_free(&pre);
    if (rows != expect) {
        char what[64];
        snprintf(what, sizeof what, "%ld rows, expected %ld", rows, expect);
        return bad_block(cell, "block of cell %ld: %s", what);
    }
    if (p + n != end) return bad_block(cell, "block of cell %ld: %s", "text after '@end'");
    return GKA_OK;
}
