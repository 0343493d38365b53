/* Figure registry, options and the run of one figure (compute, CSV, script,
 * render), plus the deterministic parallel-jobs helper the figures share. */
#define _POSIX_C_SOURCE 200809L
#include "gka_figure.h"
#include "gka_fig_internal.h"
#include "gka_io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ------------------------------------------------------------------------ */
/* Options                                                                  */
/* ------------------------------------------------------------------------ */

gka_figure_opts_t gka_figure_opts_default(void) {
    gka_figure_opts_t o;
    memset(&o, 0, sizeof o);
    o.tier = GKA_TIER_QUICK;
    o.seed = 1;
    o.threads = 0;
    o.formats = GKA_FMT_ALL;
    snprintf(o.out_dir, sizeof o.out_dir, "results");
    return o;
}

gka_status_t gka_tier_by_name(const char *name, gka_tier_t *out) {
    if (!strcmp(name, "quick"))
        *out = GKA_TIER_QUICK;
    else if (!strcmp(name, "full"))
        *out = GKA_TIER_FULL;
    else
        return gka_error(GKA_EINVAL, "unknown tier '%s' (quick or full)", name);
    return GKA_OK;
}

const char *gka_tier_name(gka_tier_t tier) {
    return tier == GKA_TIER_FULL ? "full" : "quick";
}

gka_status_t gka_formats_parse(const char *list, unsigned *out) {
    static const char *const ext[] = {"pdf", "png", "svg"};
    if (!strcmp(list, "none")) {
        *out = 0;
        return GKA_OK;
    }
    if (!strcmp(list, "all")) {
        *out = GKA_FMT_ALL;
        return GKA_OK;
    }
    unsigned f = 0;
    const char *p = list;
    for (;;) {
        size_t n = strcspn(p, ",");
        unsigned bit = 0;
        for (unsigned i = 0; i < 3; i++)
            if (n == strlen(ext[i]) && !strncmp(p, ext[i], n)) bit = 1u << i;
        if (!bit)
            return gka_error(GKA_EINVAL,
                             "--formats: unknown format '%.*s' in '%s' (pdf, png, svg, "
                             "all or none)",
                             (int)n, p, list);
        f |= bit;
        if (!p[n]) break;
        p += n + 1;
    }
    *out = f;
    return GKA_OK;
}

const char *gka_formats_string(unsigned formats, char *buf, size_t size) {
    static const char *const ext[] = {"pdf", "png", "svg"};
    size_t len = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < 3; i++)
        if (formats & (1u << i))
            len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s", len ? "," : "",
                                    ext[i]);
    if (!formats) snprintf(buf, size, "none");
    return buf;
}

static gka_status_t parse_u64(const char *opt, const char *s, uint64_t *out) {
    char *end = NULL;
    errno = 0;
    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        return gka_error(GKA_EINVAL, "%s: '%s' is not a non-negative integer", opt, s);
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno == ERANGE)
        return gka_error(GKA_EINVAL, "%s: '%s' is not a 64-bit non-negative integer", opt, s);
    *out = (uint64_t)v;
    return GKA_OK;
}

static gka_status_t copy_path(const char *opt, const char *s, char *dst, size_t size) {
    if (!*s) return gka_error(GKA_EINVAL, "%s: empty path", opt);
    if (strlen(s) >= size) return gka_error(GKA_EINVAL, "%s: path too long", opt);
    snprintf(dst, size, "%s", s);
    return GKA_OK;
}

static gka_status_t parse_one(const char *opt, const char *val, gka_figure_opts_t *o) {
    if (!strcmp(opt, "--tier")) return gka_tier_by_name(val, &o->tier);
    if (!strcmp(opt, "--seed")) return parse_u64(opt, val, &o->seed);
    if (!strcmp(opt, "--formats")) return gka_formats_parse(val, &o->formats);
    if (!strcmp(opt, "--out")) return copy_path(opt, val, o->out_dir, sizeof o->out_dir);
    if (!strcmp(opt, "--keys")) return copy_path(opt, val, o->keys_path, sizeof o->keys_path);
    if (!strcmp(opt, "--trace")) return copy_path(opt, val, o->trace_path, sizeof o->trace_path);
    if (!strcmp(opt, "--threads")) {
        uint64_t t = 0;
        gka_status_t st = parse_u64(opt, val, &t);
        if (st != GKA_OK) return st;
        if (t < 1 || t > 1024)
            return gka_error(GKA_EINVAL, "--threads: %s is out of range [1, 1024]", val);
        o->threads = (int)t;
        return GKA_OK;
    }
    return gka_error(GKA_EINVAL, "unknown option '%s' (see `gka figure --help`)", opt);
}

static int takes_value(const char *opt) {
    static const char *const known[] = {"--tier", "--seed",  "--formats", "--out",
                                        "--keys", "--trace", "--threads"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(opt, known[i])) return 1;
    return 0;
}

gka_status_t gka_figure_parse_options(int argc, char **argv, gka_figure_opts_t *o) {
    int tier_set = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--quick") || !strcmp(a, "--full")) {
            gka_tier_t t = a[2] == 'q' ? GKA_TIER_QUICK : GKA_TIER_FULL;
            if (tier_set && t != o->tier)
                return gka_error(GKA_EINVAL, "--quick and --full are exclusive");
            o->tier = t;
            tier_set = 1;
            continue;
        }
        if (!strcmp(a, "--quiet")) {
            o->quiet = 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) return gka_error(GKA_EINVAL, "unexpected argument '%s'", a);
        const char *eq = strchr(a, '=');
        char opt[64];
        const char *val;
        if (eq) {
            snprintf(opt, sizeof opt, "%.*s", (int)(eq - a), a);
            val = eq + 1;
        } else {
            snprintf(opt, sizeof opt, "%s", a);
            if (!takes_value(opt))
                return gka_error(GKA_EINVAL, "unknown option '%s' (see `gka figure --help`)", opt);
            if (i + 1 >= argc) return gka_error(GKA_EINVAL, "option %s needs a value", opt);
            val = argv[++i];
        }
        if (!strcmp(opt, "--tier")) {
            gka_tier_t t;
            gka_status_t st = gka_tier_by_name(val, &t);
            if (st != GKA_OK) return st;
            if (tier_set && t != o->tier)
                return gka_error(GKA_EINVAL, "--tier %s contradicts an earlier tier option", val);
            tier_set = 1;
        }
        gka_status_t st = parse_one(opt, val, o);
        if (st != GKA_OK) return st;
    }
    return GKA_OK;
}

/* ------------------------------------------------------------------------ */
/* Registry                                                                 */
/* ------------------------------------------------------------------------ */

static const gka_figure_t *const registry[] = {
    &gka_fig_solvers,   &gka_fig_convergence, &gka_fig_ridge_sweep, &gka_fig_reversibility,
    &gka_fig_precision, &gka_fig_kappa,       &gka_fig_omega,       &gka_fig_iterations,
    &gka_fig_trace,     &gka_fig_gradients,
};

const gka_figure_t *const *gka_figure_list(size_t *count) {
    *count = sizeof registry / sizeof registry[0];
    return registry;
}

const gka_figure_t *gka_figure_find(const char *name) {
    size_t n;
    const gka_figure_t *const *list = gka_figure_list(&n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i]->name, name)) return list[i];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Running                                                                  */
/* ------------------------------------------------------------------------ */

uint64_t gka_figure_seed(uint64_t seed, uint64_t a, uint64_t b) {
    uint64_t z = seed;
    uint64_t parts[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        z += 0x9E3779B97F4A7C15ull + parts[i] * 0xD1B54A32D192ED03ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
    }
    return z;
}

gka_status_t gka_figure_parallel(size_t njobs, gka_figure_job_fn job, void *ctx, gka_csv_t *csv) {
    gka_strbuf_t *rows = calloc(njobs ? njobs : 1, sizeof *rows);
    gka_status_t *st = calloc(njobs ? njobs : 1, sizeof *st);
    char(*msg)[512] = calloc(njobs ? njobs : 1, sizeof *msg);
    if (!rows || !st || !msg) {
        free(rows);
        free(st);
        free(msg);
        return gka_error(GKA_ENOMEM, "figure: out of memory for %zu jobs", njobs);
    }
    long n = (long)njobs;
#pragma omp parallel for schedule(dynamic, 1)
    for (long j = 0; j < n; j++) {
        gka_strbuf_init(&rows[j]);
        if (gka_interrupted()) {
            st[j] = GKA_EINTR;
            continue;
        }
        st[j] = job((size_t)j, ctx, &rows[j]);
        if (st[j] == GKA_OK && rows[j].status != GKA_OK) st[j] = rows[j].status;
        if (st[j] != GKA_OK) snprintf(msg[j], sizeof msg[j], "%s", gka_error_message());
    }
    gka_status_t out = GKA_OK;
    for (size_t j = 0; j < njobs; j++) {
        if (out == GKA_OK && st[j] != GKA_OK) {
            out = st[j] == GKA_EINTR
                      ? gka_error(GKA_EINTR, "interrupted")
                      : gka_error(st[j], "%s", msg[j][0] ? msg[j] : gka_strerror(st[j]));
        }
        if (out == GKA_OK) gka_csv_append_rows(csv, &rows[j]);
        gka_strbuf_free(&rows[j]);
    }
    free(rows);
    free(st);
    free(msg);
    return out;
}

gka_status_t gka_figure_run(const gka_figure_t *fig, const gka_figure_opts_t *opts,
                            gka_progress_t *prog, gka_figure_result_t *res) {
    memset(res, 0, sizeof *res);
    double t0 = gka_wall_seconds();
    if ((size_t)snprintf(res->dir, sizeof res->dir, "%s/%s", opts->out_dir, fig->name) >=
        sizeof res->dir)
        return gka_error(GKA_EINVAL, "%s: output directory path too long", opts->out_dir);
    snprintf(res->csv_path, sizeof res->csv_path, "%s/%s.csv", res->dir, fig->name);
    char date[64]; /* a bad SOURCE_DATE_EPOCH is refused before the work, not after */
    gka_status_t st = gka_csv_date(date, sizeof date);
    if (st == GKA_OK) st = gka_mkdirs(res->dir);
    if (st != GKA_OK) return st;
#ifdef _OPENMP
    if (opts->threads > 0) omp_set_num_threads(opts->threads);
#endif
    gka_csv_t csv;
    gka_csv_init(&csv);
    gka_csv_standard_meta(&csv, fig->name, fig->summary, opts);
    gka_progress_step(prog, "computing");
    st = fig->run(opts, prog, &csv);
    if (st == GKA_OK) st = gka_csv_write(&csv, res->csv_path);
    gka_csv_free(&csv);
    if (st == GKA_OK) st = gka_gnuplot_write_script(fig, opts, res->dir);
    double t1 = gka_wall_seconds();
    if (st == GKA_OK && opts->formats)
        st = gka_gnuplot_render(res->dir, fig->name, opts->formats, &res->rendered);
    res->render_s = gka_wall_seconds() - t1;
    res->elapsed_s = gka_wall_seconds() - t0;
    return st;
}
