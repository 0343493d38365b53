/* Grid files for gka sweep: parsing, validation, expansion into cells. */
#include "gka_sweep.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gka_arith.h"
#include "gka_data.h"
#include "gka_solver.h"
#include "gka_io.h"
#include "gka_stream.h"

static const char *const axis_names[GKA_SWEEP_NAXES] = {
    "solver", "variant", "format", "accum", "mode",  "ridge", "keys",
    "gate",   "beta",    "D",      "T",     "iters", "chunk", "seed"};

static const char *const axis_defaults[GKA_SWEEP_NAXES] = {
    "chebyshev", "",    "fp64", "wide", "ne", "adaptive:0.02", "iid", "none", "none",
    "64",        "256", "30",   "0",    "1"};

const char *gka_sweep_axis_name(int axis) {
    return axis >= 0 && axis < GKA_SWEEP_NAXES ? axis_names[axis] : "?";
}

static int axis_by_name(const char *key) {
    for (int a = 0; a < GKA_SWEEP_NAXES; a++)
        if (!strcmp(axis_names[a], key)) return a;
    return -1;
}

/* ---- from the TOML document to axes and settings ------------------------ */

typedef struct {
    const char *file;
    int line, col;
} where_t;

#define AT "%s:%d:%d: "
#define WHERE(w) (w).file, (w).line, (w).col

/* A value as it must reach the solvers: printable, without spaces (no spec
 * holds one, and " 1" or "adaptive: 0.02" must not pass as 1 or 0.02). */
static gka_status_t grid_text(const gka_toml_t *v, const char *key, char *out, where_t w) {
    if (v->kind == GKA_TOML_INTEGER) {
        snprintf(out, GKA_SWEEP_VALUE_MAX, "%lld", v->i);
        return GKA_OK;
    }
    if (v->kind != GKA_TOML_STRING)
        return gka_error(GKA_EINVAL, AT "%s: expected a string or an integer", WHERE(w), key);
    if (v->len >= GKA_SWEEP_VALUE_MAX)
        return gka_error(GKA_EINVAL, AT "%s: value longer than %d characters", WHERE(w), key,
                         GKA_SWEEP_VALUE_MAX - 1);
    for (size_t i = 0; i < v->len; i++) {
        unsigned char c = (unsigned char)v->str[i];
        if (c <= ' ' || c == 0x7f)
            return gka_error(GKA_EINVAL,
                             AT "%s: value holds a %s (character %zu); grid values have none",
                             WHERE(w), key, c == ' ' ? "space" : "control character", i + 1);
    }
    memcpy(out, v->str, v->len + 1);
    return GKA_OK;
}

static gka_status_t check_value(int axis, const char *v, where_t w);

/* A scalar or an array of scalars into an axis, each value checked where it
 * stands (file:line:col of the value itself). */
static gka_status_t read_axis(const gka_toml_t *v, int axis, gka_sweep_axis_t *ax, where_t w) {
    const char *key = axis_names[axis];
    ax->n = 0;
    if (v->kind != GKA_TOML_ARRAY) {
        ax->n = 1;
        gka_status_t st = grid_text(v, key, ax->value[0], w);
        return st != GKA_OK ? st : check_value(axis, ax->value[0], w);
    }
    if (v->n == 0) return gka_error(GKA_EINVAL, AT "%s: empty list", WHERE(w), key);
    if (v->n > GKA_SWEEP_VALUES_MAX)
        return gka_error(GKA_EINVAL, AT "%s: more than %d values", WHERE(w), key,
                         GKA_SWEEP_VALUES_MAX);
    for (size_t i = 0; i < v->n; i++) {
        where_t wi = {w.file, v->item[i]->line, v->item[i]->col};
        gka_status_t st = grid_text(v->item[i], key, ax->value[i], wi);
        if (st == GKA_OK) st = check_value(axis, ax->value[i], wi);
        if (st != GKA_OK) return st;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(ax->value[j], ax->value[i]))
                return gka_error(GKA_EINVAL, AT "%s: value '%s' given twice", WHERE(wi), key,
                                 ax->value[i]);
    }
    ax->n = v->n;
    return GKA_OK;
}

static gka_status_t parse_long_setting(const char *v, long lo, long hi, long *out, where_t w,
                                       const char *key) {
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi)
        return gka_error(GKA_EINVAL, AT "%s = '%s': expected an integer in [%ld, %ld]", WHERE(w),
                         key, v, lo, hi);
    *out = x;
    return GKA_OK;
}

typedef struct {
    int seen;
    where_t at;
} key_seen_t;

enum { SETTING_NAME = GKA_SWEEP_NAXES, SETTING_EVERY, SETTING_KAPPA_EVERY, NKEYS };

static int key_by_name(const char *key) {
    int a = axis_by_name(key);
    if (a >= 0) return a;
    if (!strcmp(key, "name")) return SETTING_NAME;
    if (!strcmp(key, "every")) return SETTING_EVERY;
    if (!strcmp(key, "kappa_every")) return SETTING_KAPPA_EVERY;
    return -1;
}

static gka_status_t put_setting(gka_sweep_grid_t *g, int k, const gka_toml_t *v, where_t w) {
    const char *key = k == SETTING_NAME ? "name" : k == SETTING_EVERY ? "every" : "kappa_every";
    if (v->kind == GKA_TOML_ARRAY)
        return gka_error(GKA_EINVAL, AT "%s takes one value", WHERE(w), key);
    char text[GKA_SWEEP_VALUE_MAX];
    gka_status_t st = grid_text(v, key, text, w);
    if (st != GKA_OK) return st;
    if (k == SETTING_NAME) {
        snprintf(g->name, sizeof g->name, "%s", text);
        return GKA_OK;
    }
    if (k == SETTING_EVERY) return parse_long_setting(text, 1, 1L << 30, &g->every, w, key);
    return parse_long_setting(text, 0, 1L << 30, &g->kappa_every, w, key);
}

/* Keys of one table: the root, [axes] (axes only) or [settings]. */
static gka_status_t read_table(gka_sweep_grid_t *g, const gka_toml_t *t, const char *section,
                               key_seen_t *seen, const char *file) {
    for (size_t i = 0; i < t->n; i++) {
        const gka_toml_t *v = t->item[i];
        const char *key = t->key[i];
        where_t w = {file, v->line, v->col};
        if (!section && v->kind == GKA_TOML_TABLE &&
            (!strcmp(key, "axes") || !strcmp(key, "settings"))) {
            gka_status_t st = read_table(g, v, key, seen, file);
            if (st != GKA_OK) return st;
            continue;
        }
        int k = strlen(key) == t->keylen[i] ? key_by_name(key) : -1;
        const int allowed =
            k >= 0 &&
            (!section || (!strcmp(section, "axes") ? k < GKA_SWEEP_NAXES : k >= GKA_SWEEP_NAXES));
        if (!allowed)
            return gka_error(GKA_EINVAL, AT "unknown key '%s%s%s'%s", WHERE(w),
                             section ? section : "", section ? "." : "", key,
                             v->kind == GKA_TOML_TABLE ? " (tables: [axes] and [settings])" : "");
        if (seen[k].seen)
            return gka_error(GKA_EINVAL, AT "%s is set twice (first on line %d)", WHERE(w), key,
                             seen[k].at.line);
        seen[k].seen = 1;
        seen[k].at = w;
        gka_status_t st =
            k < GKA_SWEEP_NAXES ? read_axis(v, k, &g->axis[k], w) : put_setting(g, k, v, w);
        if (st != GKA_OK) return st;
    }
    return GKA_OK;
}

/* ---- validation ----------------------------------------------------------- */

static gka_status_t check_integer(const char *v, long lo, long hi, const char *axis, where_t w) {
    long x;
    return parse_long_setting(v, lo, hi, &x, w, axis);
}

static gka_status_t check_value(int axis, const char *v, where_t w) {
    gka_status_t st = GKA_OK;
    switch (axis) {
    case GKA_SWEEP_AXIS_SOLVER: {
        const gka_solver_ops_t *ops;
        st = gka_solver_find(v, &ops);
        break;
    }
    case GKA_SWEEP_AXIS_FORMAT:
        if (strcmp(v, "fp64") != 0 && strncmp(v, "mpfr:", 5) != 0) {
            gka_format_t f;
            st = gka_format_by_name(v, &f);
        }
        break;
    case GKA_SWEEP_AXIS_ACCUM: {
        gka_accum_t a;
        gka_format_t wide;
        st = gka_accum_by_name(v, &a, &wide);
        break;
    }
    case GKA_SWEEP_AXIS_MODE: {
        gka_round_mode_t m;
        st = gka_round_mode_by_name(v, &m);
        break;
    }
    case GKA_SWEEP_AXIS_RIDGE: {
        gka_ridge_t r;
        st = gka_ridge_parse(v, &r);
        break;
    }
    case GKA_SWEEP_AXIS_KEYS: {
        gka_keys_spec_t k;
        st = gka_keys_spec_parse(v, &k);
        break;
    }
    case GKA_SWEEP_AXIS_GATE: {
        gka_gate_spec_t gs;
        st = gka_gate_spec_parse(v, &gs);
        break;
    }
    case GKA_SWEEP_AXIS_BETA: {
        gka_beta_spec_t b;
        st = gka_beta_spec_parse(v, &b);
        break;
    }
    case GKA_SWEEP_AXIS_D:
        return check_integer(v, 1, GKA_D_MAX, "D", w);
    case GKA_SWEEP_AXIS_T:
        return check_integer(v, 1, 10000000L, "T", w);
    case GKA_SWEEP_AXIS_ITERS:
        return check_integer(v, 0, 100000, "iters", w);
    case GKA_SWEEP_AXIS_CHUNK:
        return check_integer(v, 0, 4096, "chunk", w);
    case GKA_SWEEP_AXIS_SEED: {
        char *end = NULL;
        errno = 0;
        (void)strtoull(v, &end, 10);
        if (!*v || *end || errno || *v == '-')
            return gka_error(GKA_EINVAL, AT "seed '%s' is not a non-negative integer", WHERE(w), v);
        break;
    }
    default:
        break; /* variant: checked by the solver when created */
    }
    if (st != GKA_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", gka_error_message());
        return gka_error(st, AT "%s = '%s': %s", WHERE(w), axis_names[axis], v, msg);
    }
    return GKA_OK;
}

/* ---- expansion ------------------------------------------------------------ */

static uint64_t fnv1a(uint64_t h, const char *s) {
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    h ^= 0xff; /* separator, so ("ab","c") != ("a","bc") */
    return h * 1099511628211ULL;
}

static gka_status_t expand(gka_sweep_grid_t *g, const char *file) {
    long n = 1;
    uint64_t h = 14695981039346656037ULL;
    char buf[64];
    for (int a = 0; a < GKA_SWEEP_NAXES; a++) {
        const gka_sweep_axis_t *ax = &g->axis[a];
        if (ax->n > (size_t)(GKA_SWEEP_CELLS_MAX / n))
            return gka_error(GKA_ERANGE, "%s: the grid has more than %ld cells", file,
                             GKA_SWEEP_CELLS_MAX);
        n *= (long)ax->n;
        h = fnv1a(h, axis_names[a]);
        for (size_t i = 0; i < ax->n; i++)
            h = fnv1a(h, ax->value[i]);
    }
    snprintf(buf, sizeof buf, "every=%ld kappa_every=%ld", g->every, g->kappa_every);
    g->hash = fnv1a(h, buf);
    g->ncells = n;
    return GKA_OK;
}

/* ---- combinations ---------------------------------------------------------- */

/* Every combination of the axes in `axes` (the others at their first
 * value) checked before any cell runs, so that a grid which would fail in
 * some cells is refused whole. */
static gka_status_t check_group(const gka_sweep_grid_t *g, const char *file, const int *axes,
                                int naxes, int what) {
    size_t idx[GKA_SWEEP_NAXES] = {0};
    long stride[GKA_SWEEP_NAXES];
    long s = 1;
    for (int a = GKA_SWEEP_NAXES - 1; a >= 0; a--)
        stride[a] = s, s *= (long)g->axis[a].n;
    for (;;) {
        long cell = 0;
        for (int i = 0; i < naxes; i++)
            cell += (long)idx[i] * stride[axes[i]];
        gka_status_t st = gka_sweep_cell_check(g, cell, what);
        if (st != GKA_OK) {
            char msg[512], where_[512] = "";
            snprintf(msg, sizeof msg, "%s", gka_error_message());
            for (int i = 0; i < naxes; i++) {
                const char *v = g->axis[axes[i]].value[idx[i]];
                if (g->axis[axes[i]].n == 1 && !strcmp(v, axis_defaults[axes[i]])) continue;
                size_t n = strlen(where_);
                snprintf(where_ + n, sizeof where_ - n, "%s%s = %s", n ? ", " : "",
                         axis_names[axes[i]], v);
            }
            return gka_error(GKA_EINVAL, "%s: cell %ld (%s): %s", file, cell, where_, msg);
        }
        int i = naxes - 1;
        while (i >= 0 && ++idx[i] == g->axis[axes[i]].n)
            idx[i--] = 0;
        if (i < 0) return GKA_OK;
    }
}

static gka_status_t check_combinations(const gka_sweep_grid_t *g, const char *file) {
    static const int data[] = {GKA_SWEEP_AXIS_KEYS, GKA_SWEEP_AXIS_GATE, GKA_SWEEP_AXIS_BETA,
                               GKA_SWEEP_AXIS_D};
    static const int run[] = {GKA_SWEEP_AXIS_SOLVER, GKA_SWEEP_AXIS_VARIANT, GKA_SWEEP_AXIS_FORMAT,
                              GKA_SWEEP_AXIS_ACCUM,  GKA_SWEEP_AXIS_MODE,    GKA_SWEEP_AXIS_RIDGE,
                              GKA_SWEEP_AXIS_ITERS,  GKA_SWEEP_AXIS_CHUNK};
    gka_status_t st = check_group(g, file, data, 4, GKA_SWEEP_CHECK_DATA);
    if (st == GKA_OK) st = check_group(g, file, run, 8, GKA_SWEEP_CHECK_RUN);
    return st;
}

gka_status_t gka_sweep_grid_parse(const char *text, const char *file, gka_sweep_grid_t *g) {
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "sweep");
    g->every = 32;
    gka_toml_t *doc = NULL;
    gka_status_t st = gka_toml_parse(text, strlen(text), file, &doc);
    if (st != GKA_OK) return st;
    key_seen_t seen[NKEYS];
    memset(seen, 0, sizeof seen);
    st = read_table(g, doc, NULL, seen, file);
    gka_toml_free(doc);
    if (st != GKA_OK) return st;
    for (int a = 0; a < GKA_SWEEP_NAXES; a++) {
        if (seen[a].seen) continue; /* checked as read */
        g->axis[a].n = 1;
        snprintf(g->axis[a].value[0], GKA_SWEEP_VALUE_MAX, "%s", axis_defaults[a]);
    }
    if ((st = expand(g, file)) != GKA_OK) return st;
    return check_combinations(g, file);
}

gka_status_t gka_sweep_grid_load(const char *path, gka_sweep_grid_t *grid) {
    unsigned char *data = NULL;
    size_t len = 0;
    gka_status_t st = gka_read_file_max(path, GKA_SWEEP_GRID_MAX, "grid file", &data, &len);
    if (st != GKA_OK) return st;
    if (memchr(data, '\0', len)) {
        free(data);
        return gka_error(GKA_EFORMAT, "%s: grid file contains a NUL byte", path);
    }
    st = gka_sweep_grid_parse((const char *)data, path, grid);
    free(data);
    return st;
}

const char *gka_sweep_cell_value(const gka_sweep_grid_t *g, long cell, int axis) {
    long rem = cell;
    for (int a = GKA_SWEEP_NAXES - 1; a > axis; a--)
        rem /= (long)g->axis[a].n;
    return g->axis[axis].value[rem % (long)g->axis[axis].n];
}

double gka_sweep_cell_cost(const gka_sweep_grid_t *g, long cell) {
    double D = atof(gka_sweep_cell_value(g, cell, GKA_SWEEP_AXIS_D));
    double T = atof(gka_sweep_cell_value(g, cell, GKA_SWEEP_AXIS_T));
    double r = atof(gka_sweep_cell_value(g, cell, GKA_SWEEP_AXIS_ITERS));
    const char *fmt = gka_sweep_cell_value(g, cell, GKA_SWEEP_AXIS_FORMAT);
    /* every token: an O(D^2) update plus a solve; the fp64 reference is an
     * O(D^3) Cholesky; emulated arithmetic costs several times native. */
    double per_token = D * D * (r + 2.0) + D * D * D / 3.0;
    double slow = !strcmp(fmt, "fp64") ? 1.0 : (strncmp(fmt, "mpfr", 4) == 0 ? 50.0 : 4.0);
    return T * per_token * slow;
}
