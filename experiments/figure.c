/* Figure registry, options and the run of one figure (compute, CSV, copy of
 * its plots/ scripts, render), plus the deterministic parallel-jobs helper the figures share. */
#define _POSIX_C_SOURCE 200809L
#include "gka_figure.h"
#include "gka_figure_internal.h"
#include "gka_io.h"

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
                             "--images: unknown format '%.*s' in '%s' (pdf, png, svg, "
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

/* ------------------------------------------------------------------------ */
/* Registry                                                                 */
/* ------------------------------------------------------------------------ */

static const gka_figure_t *const registry[] = {
    &gka_figure_solvers,       &gka_figure_convergence, &gka_figure_ridge_sweep,
    &gka_figure_reversibility, &gka_figure_precision,   &gka_figure_kappa,
    &gka_figure_omega,         &gka_figure_iterations,  &gka_figure_trace,
    &gka_figure_gradients,
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
    char plots[4096]; /* so is a missing script */
    if (st == GKA_OK) st = gka_plots_dir(plots, sizeof plots);
    if (st == GKA_OK) st = gka_plots_check(plots, fig->name);
    if (st == GKA_OK) st = gka_mkdirs(res->dir);
    if (st != GKA_OK) return st;
#ifdef _OPENMP
    if (opts->threads > 0) omp_set_num_threads(opts->threads);
#endif
    gka_figure_params_t *P = malloc(sizeof *P);
    if (!P) return gka_error(GKA_ENOMEM, "figure %s: out of memory", fig->name);
    if ((st = gka_figure_params(fig, opts, P)) != GKA_OK) {
        free(P);
        return st;
    }
    gka_csv_t csv;
    gka_csv_init(&csv);
    gka_csv_standard_meta(&csv, fig->name, fig->summary, opts);
    gka_figure_params_meta(fig, P, &csv);
    gka_progress_step(prog, "computing");
    st = fig->run(opts, P, prog, &csv);
    free(P);
    if (st == GKA_OK) st = gka_csv_write(&csv, res->csv_path);
    gka_csv_free(&csv);
    if (st == GKA_OK) st = gka_gnuplot_copy_scripts(plots, fig->name, res->dir);
    double t1 = gka_wall_seconds();
    if (st == GKA_OK && opts->formats)
        st = gka_gnuplot_render(res->dir, fig->name, opts->formats, &res->rendered);
    res->render_s = gka_wall_seconds() - t1;
    res->elapsed_s = gka_wall_seconds() - t0;
    return st;
}
