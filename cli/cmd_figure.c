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
        (gka_opt_given(o, GKA_OPT_TRACE) && copy_path(GKA_OPT_TRACE, gka_opt_text(o, GKA_OPT_TRACE),
                                                      f->trace_path, sizeof f->trace_path)))
        return GKA_EXIT_USAGE;
    return 0;
}

/* The parameters given on the command line (--D, --formats, ...) into f:
 * each one must be a parameter of every figure to run (`all`: of every
 * figure), from the figures' declarations. */
static int figure_params(const gka_opts_t *o, unsigned taken, const char *name,
                         gka_figure_opts_t *f) {
    for (int id = 0; id < GKA_FP_COUNT; id++) {
        const int opt = gka_opt_find(GKA_CMD_FIGURE, gka_figure_param_name(id));
        if (opt < 0 || !gka_opt_given(o, opt)) continue;
        if (!(taken & (1u << id)) && strcmp(name, "all"))
            return gka_cli_fail(GKA_EXIT_USAGE,
                                "figure: --%s does not apply to figure '%s' (see gka figure %s "
                                "--help for its parameters)",
                                gka_figure_param_name(id), name, name);
        if (!(taken & (1u << id))) {
            char common[128] = "";
            for (int k = 0; k < GKA_FP_COUNT; k++)
                if (taken & (1u << k))
                    snprintf(common + strlen(common), sizeof common - strlen(common), "%s--%s",
                             common[0] ? ", " : "", gka_figure_param_name(k));
            return gka_cli_fail(GKA_EXIT_USAGE,
                                "figure: --%s does not apply to every figure; `gka figure all` "
                                "takes only the parameters all figures have (%s)",
                                gka_figure_param_name(id), common);
        }
        const char *items[GKA_FP_MAX_ITEMS];
        size_t n = gka_opt_count(o, opt);
        if (n == 0) items[0] = gka_opt_text(o, opt), n = 1; /* a single value */
        for (size_t i = 0; i < n && n <= GKA_FP_MAX_ITEMS && gka_opt_count(o, opt); i++)
            items[i] = gka_opt_name_at(o, opt, i);
        if (gka_figure_opts_set_param(f, id, n, items) != GKA_OK)
            return gka_cli_fail_status(GKA_EINVAL, GKA_STAGE_INPUT, "figure");
    }
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
    const char *keys = wants_trace ? f->params.path : "";
    char path[sizeof f->params.path];
    const char *dtype; /* --keys k.npy:bf16 names the file k.npy */
    if (!keys[0] || !gka_npy_spec_split(keys, path, sizeof path, &dtype))
        snprintf(path, sizeof path, "%s", keys[0] ? keys : f->trace_path);
    const char *p = path;
    if (*p && access(p, R_OK) != 0)
        return gka_cli_fail(GKA_EXIT_USAGE, "%s: cannot read the trace file", p);
    return 0;
}

/* Options the general part of `gka figure NAME --help` leaves out: the
 * figure parameters (listed apart, NAME's only), --list, and --trace except
 * for the figure that reads a trace. */
static int not_general(const char *name, const void *ctx) {
    const gka_figure_t *fig = ctx;
    if (!strcmp(name, "list")) return 1;
    if (!strcmp(name, "trace")) return strcmp(fig->name, "trace") != 0;
    return gka_figure_param_by_name(name) != GKA_FP_COUNT;
}

/* `gka figure NAME --help`: NAME's parameters with their value per tier,
 * from its declaration, then the options of every figure (tier, seed,
 * threads, images, out, quiet, ...), from the option table. */
static int figure_help(const gka_figure_t *fig) {
    printf("usage: gka figure %s [OPTIONS]\n\n%s\n\nparameters of %s (a value given "
           "overrides the tier's; lists are comma-separated):\n",
           fig->name, fig->summary, fig->name);
    for (size_t i = 0; i < fig->nparams; i++) {
        const gka_figure_param_decl_t *d = &fig->params[i];
        const char *q = d->def[0][0] ? d->def[0] : "none", *f = d->def[1][0] ? d->def[1] : "none";
        printf("  --%-8s %s%s\n             (quick: %s; full: %s", gka_figure_param_name(d->id),
               d->help, d->max_items > 1 ? " (a list)" : "", q, f);
        if (d->id == GKA_FP_A || d->id <= GKA_FP_T || d->id == GKA_FP_ITERS ||
            d->id == GKA_FP_CHUNK)
            printf("; %.17g..%.17g", d->lo, d->hi);
        if (d->choices) printf("; one of %s", d->choices);
        printf(")\n");
    }
    printf("\noptions of every figure:\n");
    gka_cli_print_options(stdout, GKA_CMD_FIGURE, not_general, fig);
    return ferror(stdout) ? GKA_EXIT_FAIL : GKA_EXIT_OK;
}

/* roff text with hyphens and backslashes escaped. */
static void man_text(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '-' || *s == '\\') fputc('\\', f);
        fputc(*s == '\\' ? 'e' : *s, f);
    }
}

void gka_cli_print_figure_params_man(FILE *f) {
    size_t n;
    const gka_figure_t *const *list = gka_figure_list(&n);
    fputs(".SH \"FIGURE PARAMETERS\"\n", f);
    man_text(f, "The parameters each figure takes (gka figure NAME --help), with the value of "
                "the quick and the full tier; any other parameter is refused.");
    fputc('\n', f);
    for (size_t i = 0; i < n; i++) {
        fputs(".TP\n\\fB", f);
        man_text(f, list[i]->name);
        fputs("\\fR\n", f);
        for (size_t k = 0; k < list[i]->nparams; k++) {
            const gka_figure_param_decl_t *d = &list[i]->params[k];
            if (k) fputs(".br\n", f);
            fputs("\\fB\\-\\-", f);
            man_text(f, gka_figure_param_name(d->id));
            fputs("\\fR ", f);
            man_text(f, d->help);
            fputs(" (quick: ", f);
            man_text(f, d->def[0][0] ? d->def[0] : "none");
            fputs("; full: ", f);
            man_text(f, d->def[1][0] ? d->def[1] : "none");
            fputs(")\n", f);
        }
    }
}

static int wants_help(int argc, char **argv) {
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
    return 0;
}

int gka_cmd_figure(int argc, char **argv) {
    gka_opts_t cl;
    if (wants_help(argc, argv)) {
        const int i = gka_opts_first_positional(GKA_CMD_FIGURE, argc, argv);
        const gka_figure_t *fig = i < argc ? gka_figure_find(argv[i]) : NULL;
        if (fig) return figure_help(fig);
    }
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
    unsigned taken = run_all ? ~0u : gka_figure_params_taken(one);
    for (size_t i = 0; run_all && i < nfig; i++)
        taken &= gka_figure_params_taken(all[i]);
    if ((rc = figure_params(&cl, taken, name, &opts)) != 0) return rc;
    /* every value checked against every figure before anything is written */
    static gka_figure_params_t checked;
    for (size_t i = 0; i < (run_all ? nfig : 1); i++)
        if (gka_figure_params(run_all ? all[i] : one, &opts, &checked) != GKA_OK)
            return gka_cli_fail_status(GKA_EINVAL, GKA_STAGE_INPUT, NULL);
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
        char label[48]; /* `all`: the figure's place, "kappa 6/10" */
        if (run_all)
            snprintf(label, sizeof label, "%s %zu/%zu", fig->name, i + 1, nfig);
        else
            snprintf(label, sizeof label, "%s", fig->name);
        gka_progress_start(&prog, stderr, o.quiet, label, 1);
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
        printf("%-14s %8.1f s  (render %.1f s)  %s/", fig->name, res.elapsed_s, res.render_s,
               res.dir);
        if (run_all) printf("  (figure %zu of %zu)", i + 1, nfig);
        printf("\n");
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
