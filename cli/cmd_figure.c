/* gka figure: reproduce the project's figures from the command line. */
#include "gka_cli.h"
#include "gka_data.h"
#include "gka_figure.h"
#include "gka_io.h"
#include "options.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void list_figures(void) {
    size_t n;
    const gka_figure_t *const *list = gka_figure_list(&n);
    for (size_t i = 0; i < n; i++)
        printf("%-14s %s\n", list[i]->name, list[i]->summary);
}

static int copy_path(gka_opt_id_t id, const char *s, char *dst, size_t size) {
    if (strlen(s) >= size)
        return gka_cli_fail(GKA_EXIT_USAGE, "--%s: path too long", gka_opt_decl(id)->name);
    snprintf(dst, size, "%s", s);
    return 0;
}

/* The figure options from the command line; 0 or an exit code. */
static int figure_opts(const gka_opts_t *o, gka_figure_opts_t *f) {
    *f = gka_figure_opts_default();
    if (gka_opt_given(o, GKA_OPT_FULL)) f->tier = GKA_TIER_FULL;
    if (gka_opt_given(o, GKA_OPT_TIER) &&
        gka_tier_by_name(gka_opt_text(o, GKA_OPT_TIER), &f->tier) != GKA_OK)
        return gka_cli_fail_status(GKA_EINVAL, GKA_STAGE_INPUT, "figure");
    f->seed = gka_opt_u64(o, GKA_OPT_SEED);
    f->threads = gka_opt_given(o, GKA_OPT_THREADS) ? (int)gka_opt_long(o, GKA_OPT_THREADS) : 0;
    f->quiet = gka_opt_given(o, GKA_OPT_QUIET);
    if (gka_formats_parse(gka_opt_text(o, GKA_OPT_IMAGE_FORMATS), &f->formats) != GKA_OK)
        return gka_cli_fail_status(GKA_EINVAL, GKA_STAGE_INPUT, "figure");
    if (copy_path(GKA_OPT_OUT_DIR, gka_opt_text(o, GKA_OPT_OUT_DIR), f->out_dir,
                  sizeof f->out_dir) ||
        (gka_opt_given(o, GKA_OPT_KEYS) && copy_path(GKA_OPT_KEYS, gka_opt_text(o, GKA_OPT_KEYS),
                                                     f->keys_path, sizeof f->keys_path)) ||
        (gka_opt_given(o, GKA_OPT_TRACE) && copy_path(GKA_OPT_TRACE, gka_opt_text(o, GKA_OPT_TRACE),
                                                      f->trace_path, sizeof f->trace_path)))
        return GKA_EXIT_USAGE;
    return 0;
}

/* Keys or trace given to a figure other than 'trace', bad output directory,
 * unreadable trace file: refused before any work. */
static int check_inputs(const gka_opts_t *o, const gka_figure_opts_t *f, int wants_trace) {
    gka_opt_context_t ctx = {0};
    ctx.holds = wants_trace ? GKA_NEEDS(GKA_CTX_TRACE_FIGURE) : 0;
    ctx.absent[GKA_CTX_TRACE_FIGURE] = "to this figure";
    int rc = gka_opts_check_context(o, &ctx);
    if (rc >= 0) return rc;
    if (gka_mkdirs(f->out_dir) != GKA_OK)
        return gka_cli_fail_status(GKA_EIO, GKA_STAGE_INPUT, NULL);
    char path[sizeof f->keys_path];
    const char *dtype; /* --keys k.npy:bf16 names the file k.npy */
    if (!f->keys_path[0] || !gka_npy_spec_split(f->keys_path, path, sizeof path, &dtype))
        snprintf(path, sizeof path, "%s", f->keys_path[0] ? f->keys_path : f->trace_path);
    const char *p = path;
    if (*p && access(p, R_OK) != 0)
        return gka_cli_fail(GKA_EXIT_USAGE, "%s: cannot read the trace file", p);
    return 0;
}

int gka_cmd_figure(int argc, char **argv) {
    gka_opts_t cl;
    int rc = gka_opts_parse(GKA_CMD_FIGURE, argc, argv, &cl);
    if (rc >= 0) return rc;
    if (gka_opt_given(&cl, GKA_OPT_LIST)) {
        if (argc > 2) return gka_cli_fail(GKA_EXIT_USAGE, "--list takes no arguments");
        list_figures();
        return GKA_EXIT_OK;
    }
    if (cl.nargs == 0) {
        gka_cli_print_help(stderr, GKA_CMD_FIGURE);
        return GKA_EXIT_USAGE;
    }
    const char *name = cl.args[0];
    size_t nfig;
    const gka_figure_t *const *all = gka_figure_list(&nfig);
    const gka_figure_t *one = NULL;
    int run_all = !strcmp(name, "all");
    if (!run_all && !(one = gka_figure_find(name)))
        return gka_cli_fail(GKA_EXIT_USAGE,
                            "unknown figure '%s' (run `gka figure --list` for the list)", name);
    gka_figure_opts_t opts;
    if ((rc = figure_opts(&cl, &opts)) != 0) return rc;
    if ((rc = check_inputs(&cl, &opts, run_all || !strcmp(name, "trace"))) != 0) return rc;

    gka_interrupt_install();
    double t_all = gka_wall_seconds();
    int worst = GKA_EXIT_OK, no_gnuplot = 0; /* the worst exit status of the figures run */
    char render_hint[1024] = "";
    for (size_t i = 0; i < nfig; i++) {
        const gka_figure_t *fig = run_all ? all[i] : one;
        if (!run_all && i > 0) break;
        gka_figure_opts_t o = opts;
        if (no_gnuplot) o.formats = 0;
        gka_progress_t prog;
        gka_progress_start(&prog, stderr, o.quiet, fig->name, 1);
        gka_figure_result_t res;
        gka_status_t st = gka_figure_run(fig, &o, &prog, &res);
        gka_progress_finish(&prog);
        if (st == GKA_EINTR)
            return gka_cli_fail(GKA_EXIT_FAIL, "interrupted; nothing half-written");
        if (st == GKA_EUNSUP && strstr(gka_error_message(), "gnuplot not found")) {
            no_gnuplot = 1;
            snprintf(render_hint, sizeof render_hint, "%s", gka_error_message());
        } else if (st != GKA_OK) {
            char what[64];
            snprintf(what, sizeof what, "figure %s", fig->name);
            const int code = gka_cli_fail_status(st, GKA_STAGE_RUN, what);
            if (code > worst) worst = code;
            continue;
        }
        printf("%-14s %8.1f s  (render %.1f s)  %s/\n", fig->name, res.elapsed_s, res.render_s,
               res.dir);
        fflush(stdout);
    }
    if (run_all) printf("%-14s %8.1f s\n", "total", gka_wall_seconds() - t_all);
    if (no_gnuplot) {
        if (run_all)
            return gka_cli_fail(GKA_EXIT_FAIL,
                                "gnuplot not found; CSVs and .gp scripts are written under %s; "
                                "render each with: cd %s/NAME && gnuplot -e \"fmt='png'\" NAME.gp",
                                opts.out_dir, opts.out_dir);
        return gka_cli_fail(GKA_EXIT_FAIL, "%s", render_hint);
    }
    return worst;
}
