/* The parameters of the figures: each figure declares the ones it takes
 * (gka_figure_param_decl_t: help, value per tier, range, list length, names it
 * knows); this file resolves them (the tier's value or the caller's
 * override), checks every value before the figure computes anything, and
 * writes the values used into the CSV metadata. The command line of `gka
 * figure NAME`, its --help and the man page read the same declarations. */
#include "gka_data.h"
#include "gka_figure.h"
#include "gka_precision.h"
#include "gka_stream.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const param_names[GKA_FP_COUNT] = {
    [GKA_FP_D] = "D",
    [GKA_FP_T] = "T",
    [GKA_FP_FORMATS] = "formats",
    [GKA_FP_SOLVERS] = "solvers",
    [GKA_FP_RIDGES] = "ridges",
    [GKA_FP_GATES] = "gates",
    [GKA_FP_KEYS] = "keys",
    [GKA_FP_ITERS] = "iters",
    [GKA_FP_A] = "a",
    [GKA_FP_CHUNK] = "chunk",
};

const char *gka_figure_param_name(gka_figure_param_id_t id) {
    return id < GKA_FP_COUNT ? param_names[id] : "?";
}

gka_figure_param_id_t gka_figure_param_by_name(const char *name) {
    for (int id = 0; id < GKA_FP_COUNT; id++)
        if (!strcmp(param_names[id], name)) return (gka_figure_param_id_t)id;
    return GKA_FP_COUNT;
}

/* Integer parameters; GKA_FP_A is the real one; the rest are names. */
static int is_integer(gka_figure_param_id_t id) {
    return id == GKA_FP_D || id == GKA_FP_T || id == GKA_FP_ITERS || id == GKA_FP_CHUNK;
}

static gka_status_t store(gka_figure_params_t *P, gka_figure_param_id_t id, size_t n,
                          const char *const *items, int path) {
    if (n > GKA_FP_MAX_ITEMS)
        return gka_error(GKA_EINVAL, "--%s: %zu values, at most %d", param_names[id], n,
                         GKA_FP_MAX_ITEMS);
    for (size_t i = 0; i < n; i++) {
        const size_t cap = path ? sizeof P->path : sizeof P->item[id][i];
        if (strlen(items[i]) >= cap)
            return gka_error(GKA_EINVAL, "--%s: '%.40s...' is too long", param_names[id], items[i]);
    }
    P->n[id] = n;
    for (size_t i = 0; i < n; i++)
        snprintf(P->item[id][i], sizeof P->item[id][i], "%s", items[i]);
    if (id == GKA_FP_KEYS) snprintf(P->path, sizeof P->path, "%s", n ? items[0] : "");
    P->set |= 1u << id;
    return GKA_OK;
}

gka_status_t gka_figure_opts_set_param(gka_figure_opts_t *opts, gka_figure_param_id_t id, size_t n,
                                       const char *const *items) {
    if (id >= GKA_FP_COUNT) return gka_error(GKA_EINVAL, "unknown figure parameter %d", (int)id);
    return store(&opts->params, id, n, items, id == GKA_FP_KEYS);
}

const gka_figure_param_decl_t *gka_figure_param_decl(const gka_figure_t *fig,
                                                     gka_figure_param_id_t id) {
    for (size_t i = 0; i < fig->nparams; i++)
        if (fig->params[i].id == id) return &fig->params[i];
    return NULL;
}

unsigned gka_figure_params_taken(const gka_figure_t *fig) {
    unsigned bits = 0;
    for (size_t i = 0; i < fig->nparams; i++)
        bits |= 1u << fig->params[i].id;
    return bits;
}

void gka_figure_names(const gka_figure_params_t *P, gka_figure_param_id_t id, const char **out) {
    for (size_t i = 0; i < P->n[id]; i++)
        out[i] = P->item[id][i];
}

/* ---- checking one value --------------------------------------------------- */

static int in_choices(const char *choices, const char *s) {
    const size_t n = strlen(s);
    for (const char *p = choices; *p;) {
        const size_t len = strcspn(p, "|");
        if (len == n && !strncmp(p, s, n)) return 1;
        p += len + (p[len] == '|');
    }
    return 0;
}

static gka_status_t check_format(const char *s) {
    gka_format_t f;
    if (!strcmp(s, "fp64") || gka_format_by_name(s, &f) == GKA_OK) return GKA_OK;
    return gka_error(GKA_EINVAL, "unknown number format '%s' (`gka formats` lists them)", s);
}

static gka_status_t check_name(const gka_figure_param_decl_t *d, const char *s) {
    if (d->choices && !in_choices(d->choices, s))
        return gka_error(GKA_EINVAL, "'%s' is not one of %s", s, d->choices);
    switch (d->id) {
    case GKA_FP_FORMATS: {
        const char *plus = strchr(s, '+');
        if (!plus || d->choices) return check_format(s);
        if (!(d->flags & GKA_FPF_STATE_ITER))
            return gka_error(GKA_EINVAL, "'%s': a STATE+ITERATES pair is not a format here", s);
        char state[64];
        snprintf(state, sizeof state, "%.*s", (int)(plus - s), s);
        gka_status_t st = check_format(state);
        return st == GKA_OK ? check_format(plus + 1) : st;
    }
    case GKA_FP_RIDGES: {
        gka_ridge_t r;
        gka_status_t st = gka_ridge_parse(s, &r);
        if (st == GKA_OK && (d->flags & GKA_FPF_NO_DECAY) && r.kind == GKA_RIDGE_DECAY)
            st = gka_error(GKA_EINVAL, "'%s': this figure takes fixed and adaptive ridges only", s);
        return st;
    }
    case GKA_FP_GATES: {
        gka_gate_spec_t g;
        return gka_gate_spec_parse(s, &g);
    }
    case GKA_FP_KEYS: {
        gka_keys_spec_t k;
        return gka_keys_spec_parse(s, &k);
    }
    default:
        return GKA_OK;
    }
}

static gka_status_t check_number(const gka_figure_param_decl_t *d, const char *s, double *out) {
    char *end = NULL;
    errno = 0;
    const double v = is_integer(d->id) ? (double)strtol(s, &end, 10) : strtod(s, &end);
    if (!*s || *end || errno == ERANGE || !isfinite(v))
        return gka_error(GKA_EINVAL, "'%s' is not %s", s,
                         is_integer(d->id) ? "an integer" : "a finite number");
    if (v < d->lo || v > d->hi)
        return gka_error(GKA_EINVAL, "%s is out of range [%.17g, %.17g]", s, d->lo, d->hi);
    *out = v;
    return GKA_OK;
}

/* Check P's items of d against d; the message names figure and parameter. */
static gka_status_t check_items(const gka_figure_t *fig, const gka_figure_param_decl_t *d,
                                gka_figure_params_t *P) {
    const gka_figure_param_id_t id = d->id;
    gka_status_t st = GKA_OK;
    if (P->n[id] > d->max_items)
        st = gka_error(GKA_EINVAL,
                       d->max_items == 1 ? "takes one value, not %zu"
                                         : "%zu values, "
                                           "at most %zu",
                       P->n[id], d->max_items);
    if (st == GKA_OK && P->n[id] == 0 && !(d->flags & GKA_FPF_PATH))
        st = gka_error(GKA_EINVAL, "needs a value");
    for (size_t i = 0; st == GKA_OK && i < P->n[id] && !(d->flags & GKA_FPF_PATH); i++) {
        for (size_t j = 0; st == GKA_OK && j < i; j++)
            if (!strcmp(P->item[id][i], P->item[id][j]))
                st = gka_error(GKA_EINVAL, "'%s' is given twice", P->item[id][i]);
        if (st != GKA_OK) break;
        if (is_integer(id) || id == GKA_FP_A)
            st = check_number(d, P->item[id][i], &P->num[id][i]);
        else
            st = check_name(d, P->item[id][i]);
    }
    if (st == GKA_OK) return GKA_OK;
    char why[512];
    snprintf(why, sizeof why, "%s", gka_error_message());
    return gka_error(GKA_EINVAL, "figure %s: --%s: %s", fig->name, param_names[id], why);
}

/* A declaration's default: a plain comma list (no item holds a comma). */
static gka_status_t set_default(gka_figure_params_t *P, const gka_figure_param_decl_t *d,
                                gka_tier_t tier) {
    const char *text = d->def[tier == GKA_TIER_FULL ? 1 : 0];
    char buf[GKA_FP_MAX_ITEMS * 64];
    const char *items[GKA_FP_MAX_ITEMS];
    size_t n = 0;
    snprintf(buf, sizeof buf, "%s", text ? text : "");
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok && n < GKA_FP_MAX_ITEMS;
         tok = strtok_r(NULL, ",", &save))
        items[n++] = tok;
    return store(P, d->id, n, items, d->flags & GKA_FPF_PATH);
}

gka_status_t gka_figure_params(const gka_figure_t *fig, const gka_figure_opts_t *opts,
                               gka_figure_params_t *P) {
    memset(P, 0, sizeof *P);
    const unsigned extra = opts->params.set & ~gka_figure_params_taken(fig);
    for (int id = 0; id < GKA_FP_COUNT; id++)
        if (extra & (1u << id))
            return gka_error(GKA_EINVAL, "figure %s takes no parameter --%s", fig->name,
                             param_names[id]);
    for (size_t i = 0; i < fig->nparams; i++) {
        const gka_figure_param_decl_t *d = &fig->params[i];
        const gka_figure_param_id_t id = d->id;
        gka_status_t st;
        if (opts->params.set & (1u << id)) {
            const char *items[GKA_FP_MAX_ITEMS];
            gka_figure_names(&opts->params, id, items);
            if (d->flags & GKA_FPF_PATH) items[0] = opts->params.path;
            st = store(P, id, opts->params.n[id], items, d->flags & GKA_FPF_PATH);
        } else {
            st = set_default(P, d, opts->tier);
        }
        if (st == GKA_OK) st = check_items(fig, d, P);
        if (st != GKA_OK) return st;
    }
    return GKA_OK;
}

/* ---- metadata ------------------------------------------------------------- */

const char *gka_figure_cell(const char *item, char *buf, size_t size) {
    snprintf(buf, size, "%s", item);
    for (char *p = buf; *p; p++)
        if (*p == ',') *p = ';';
    return buf;
}

void gka_figure_params_meta(const gka_figure_t *fig, const gka_figure_params_t *P, gka_csv_t *csv) {
    for (size_t i = 0; i < fig->nparams; i++) {
        const gka_figure_param_id_t id = fig->params[i].id;
        gka_strbuf_t v;
        gka_strbuf_init(&v);
        if (fig->params[i].flags & GKA_FPF_PATH)
            gka_strbuf_printf(&v, "%s", P->path[0] ? P->path : "none");
        for (size_t k = 0; !(fig->params[i].flags & GKA_FPF_PATH) && k < P->n[id]; k++) {
            if (k) gka_strbuf_append(&v, ",", 1);
            if (is_integer(id))
                gka_strbuf_printf(&v, "%.0f", P->num[id][k]);
            else if (id == GKA_FP_A)
                gka_strbuf_printf(&v, "%.17g", P->num[id][k]);
            else
                gka_strbuf_printf(&v, "%s", P->item[id][k]);
        }
        gka_csv_meta(csv, param_names[id], "%s", v.data ? v.data : "");
        if (v.status != GKA_OK) csv->meta.status = v.status;
        gka_strbuf_free(&v);
    }
}
