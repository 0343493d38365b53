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

/* ---- lexing one line ------------------------------------------------------ */

typedef struct {
    const char *file;
    int line;
} where_t;

static char *skip_space(char *p) {
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* One value: "quoted string" or a bare word up to , ] # or space. */
static gka_status_t read_value(char **pp, char *out, where_t w) {
    char *p = skip_space(*pp);
    size_t n = 0;
    if (*p == '"') {
        p++;
        while (*p && *p != '"') {
            if (n + 1 >= GKA_SWEEP_VALUE_MAX)
                return gka_error(GKA_EINVAL, "%s:%d: value longer than %d characters", w.file,
                                 w.line, GKA_SWEEP_VALUE_MAX - 1);
            out[n++] = *p++;
        }
        if (*p != '"') return gka_error(GKA_EINVAL, "%s:%d: unterminated string", w.file, w.line);
        p++;
    } else {
        while (*p && *p != ',' && *p != ']' && *p != '#' && !isspace((unsigned char)*p)) {
            if (n + 1 >= GKA_SWEEP_VALUE_MAX)
                return gka_error(GKA_EINVAL, "%s:%d: value longer than %d characters", w.file,
                                 w.line, GKA_SWEEP_VALUE_MAX - 1);
            out[n++] = *p++;
        }
        if (n == 0) return gka_error(GKA_EINVAL, "%s:%d: missing value", w.file, w.line);
    }
    out[n] = '\0';
    *pp = p;
    return GKA_OK;
}

static gka_status_t expect_end(char *p, where_t w) {
    p = skip_space(p);
    if (*p && *p != '#')
        return gka_error(GKA_EINVAL, "%s:%d: unexpected text '%.20s'", w.file, w.line, p);
    return GKA_OK;
}

/* `[v1, v2, ...]` or a single value, into an axis. */
static gka_status_t read_values(char *p, gka_sweep_axis_t *ax, where_t w) {
    p = skip_space(p);
    ax->n = 0;
    if (*p != '[') {
        gka_status_t st = read_value(&p, ax->value[0], w);
        if (st != GKA_OK) return st;
        ax->n = 1;
        return expect_end(p, w);
    }
    p++;
    for (;;) {
        p = skip_space(p);
        if (*p == ']' && ax->n > 0) break;
        if (ax->n == GKA_SWEEP_VALUES_MAX)
            return gka_error(GKA_EINVAL, "%s:%d: more than %d values", w.file, w.line,
                             GKA_SWEEP_VALUES_MAX);
        gka_status_t st = read_value(&p, ax->value[ax->n], w);
        if (st != GKA_OK) return st;
        ax->n++;
        p = skip_space(p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p != ']')
            return gka_error(GKA_EINVAL, "%s:%d: expected ',' or ']' in list", w.file, w.line);
    }
    return expect_end(p + 1, w);
}

static gka_status_t parse_long_setting(const char *v, long lo, long hi, long *out, where_t w,
                                       const char *key) {
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi)
        return gka_error(GKA_EINVAL, "%s:%d: %s = '%s': expected an integer in [%ld, %ld]", w.file,
                         w.line, key, v, lo, hi);
    *out = x;
    return GKA_OK;
}

static gka_status_t parse_setting(gka_sweep_grid_t *g, const char *key, char *p, where_t w) {
    gka_sweep_axis_t tmp;
    gka_status_t st = read_values(p, &tmp, w);
    if (st != GKA_OK) return st;
    if (tmp.n != 1) return gka_error(GKA_EINVAL, "%s:%d: %s takes one value", w.file, w.line, key);
    if (!strcmp(key, "name")) {
        snprintf(g->name, sizeof g->name, "%s", tmp.value[0]);
        return GKA_OK;
    }
    if (!strcmp(key, "every"))
        return parse_long_setting(tmp.value[0], 1, 1L << 30, &g->every, w, key);
    return parse_long_setting(tmp.value[0], 0, 1L << 30, &g->kappa_every, w, key);
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
            return gka_error(GKA_EINVAL, "%s:%d: seed '%s' is not a non-negative integer", w.file,
                             w.line, v);
        break;
    }
    default:
        break; /* variant: checked by the solver when created */
    }
    if (st != GKA_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", gka_error_message());
        return gka_error(st, "%s:%d: %s = '%s': %s", w.file, w.line, axis_names[axis], v, msg);
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

gka_status_t gka_sweep_grid_parse(const char *text, const char *file, gka_sweep_grid_t *g) {
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "sweep");
    g->every = 32;
    int seen[GKA_SWEEP_NAXES] = {0};
    int line_of[GKA_SWEEP_NAXES] = {0};
    const char *p = text;
    char line[4096];
    where_t w = {file, 0};
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        w.line++;
        if (len >= sizeof line)
            return gka_error(GKA_EINVAL, "%s:%d: line longer than %zu characters", file, w.line,
                             sizeof line - 1);
        memcpy(line, p, len);
        line[len] = '\0';
        p += len + (nl ? 1 : 0);
        if (len && line[len - 1] == '\r') line[len - 1] = '\0';
        char *s = skip_space(line);
        if (!*s || *s == '#') continue;
        char key[32];
        size_t k = 0;
        while ((isalnum((unsigned char)s[k]) || s[k] == '_') && k + 1 < sizeof key) {
            key[k] = s[k];
            k++;
        }
        key[k] = '\0';
        char *rest = skip_space(s + k);
        if (k == 0 || *rest != '=')
            return gka_error(GKA_EINVAL, "%s:%d: expected `key = value`", file, w.line);
        rest++;
        int a = axis_by_name(key);
        gka_status_t st;
        if (a >= 0) {
            if (seen[a])
                return gka_error(GKA_EINVAL, "%s:%d: %s is set twice (first on line %d)", file,
                                 w.line, key, line_of[a]);
            seen[a] = 1;
            line_of[a] = w.line;
            st = read_values(rest, &g->axis[a], w);
        } else if (!strcmp(key, "every") || !strcmp(key, "kappa_every") || !strcmp(key, "name")) {
            st = parse_setting(g, key, rest, w);
        } else {
            return gka_error(GKA_EINVAL, "%s:%d: unknown key '%s'", file, w.line, key);
        }
        if (st != GKA_OK) return st;
    }
    for (int a = 0; a < GKA_SWEEP_NAXES; a++) {
        if (!seen[a]) {
            g->axis[a].n = 1;
            snprintf(g->axis[a].value[0], GKA_SWEEP_VALUE_MAX, "%s", axis_defaults[a]);
        }
        where_t wa = {file, line_of[a]};
        for (size_t i = 0; i < g->axis[a].n; i++) {
            gka_status_t st = check_value(a, g->axis[a].value[i], wa);
            if (st != GKA_OK) return st;
        }
    }
    return expand(g, file);
}

gka_status_t gka_sweep_grid_load(const char *path, gka_sweep_grid_t *grid) {
    unsigned char *data = NULL;
    size_t len = 0;
    gka_status_t st = gka_read_file(path, &data, &len);
    if (st != GKA_OK) return st;
    if (memchr(data, '\0', len)) {
        free(data);
        return gka_error(GKA_EFORMAT, "%s: grid file contains a NUL byte", path);
    }
    char *text = malloc(len + 1);
    if (!text) {
        free(data);
        return gka_error(GKA_ENOMEM, "%s: out of memory", path);
    }
    memcpy(text, data, len);
    text[len] = '\0';
    free(data);
    st = gka_sweep_grid_parse(text, path, grid);
    free(text);
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
