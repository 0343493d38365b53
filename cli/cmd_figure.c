/* gka figure: reproduce the project's figures from the command line. */
#include "gka_cli.h"
#include "gka_data.h"
#include "gka_figure.h"
#include "gka_io.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void figure_help(FILE *f) {
    fprintf(f, "usage: gka figure --list\n"
               "       gka figure NAME|all [--quick | --full] [--seed S] [--out DIR]\n"
               "                  [--threads N] [--formats pdf,png,svg|none] [--quiet]\n"
               "                  [--keys FILE.npy | --trace FILE.safetensors]   (figure trace)\n\n"
               "Writes DIR/NAME/NAME.csv (metadata lines first), DIR/NAME/NAME.gp (gnuplot\n"
               "script reading the CSV) and DIR/NAME/NAME.{pdf,png,svg}. Defaults: --quick,\n"
               "--seed 1, --out results, all formats. The CSV is the same for any --threads.\n"
               "Set SOURCE_DATE_EPOCH to fix the date line. Elapsed time per figure is\n"
               "printed on stdout; a progress bar on stderr when it is a terminal.\n");
}

static void list_figures(void) {
    size_t n;
    const gka_figure_t *const *list = gka_figure_list(&n);
    for (size_t i = 0; i < n; i++)
        printf("%-14s %s\n", list[i]->name, list[i]->summary);
}

/* Bad output directory, unreadable trace file: refuse before any work. */
static int check_inputs(const gka_figure_opts_t *o, int wants_trace) {
    if (gka_mkdirs(o->out_dir) != GKA_OK)
        return gka_cli_fail(GKA_EXIT_USAGE, "%s", gka_error_message());
    if ((o->keys_path[0] || o->trace_path[0]) && !wants_trace)
        return gka_cli_fail(GKA_EXIT_USAGE, "--keys and --trace apply to the figure 'trace' only");
    if (o->keys_path[0] && o->trace_path[0])
        return gka_cli_fail(GKA_EXIT_USAGE, "give --keys or --trace, not both");
    char path[sizeof o->keys_path];
    const char *dtype; /* --keys k.npy:bf16 names the file k.npy */
    if (!o->keys_path[0] || !gka_npy_spec_split(o->keys_path, path, sizeof path, &dtype))
        snprintf(path, sizeof path, "%s", o->keys_path[0] ? o->keys_path : o->trace_path);
    const char *p = path;
    if (*p && access(p, R_OK) != 0)
        return gka_cli_fail(GKA_EXIT_USAGE, "%s: cannot read the trace file", p);
    return 0;
}

int gka_cmd_figure(int argc, char **argv) {
    if (argc < 2) {
        figure_help(stderr);
        return GKA_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
        figure_help(stdout);
        return GKA_EXIT_OK;
    }
    if (!strcmp(name, "--list")) {
        if (argc > 2) return gka_cli_fail(GKA_EXIT_USAGE, "--list takes no arguments");
        list_figures();
        return GKA_EXIT_OK;
    }
    size_t nfig;
    const gka_figure_t *const *all = gka_figure_list(&nfig);
    const gka_figure_t *one = NULL;
    int run_all = !strcmp(name, "all");
    if (!run_all && !(one = gka_figure_find(name)))
        return gka_cli_fail(GKA_EXIT_USAGE,
                            "unknown figure '%s' (run `gka figure --list` for the list)", name);
    gka_figure_opts_t opts = gka_figure_opts_default();
    if (gka_figure_parse_options(argc - 2, argv + 2, &opts) != GKA_OK)
        return gka_cli_fail(GKA_EXIT_USAGE, "%s", gka_error_message());
    int rc = check_inputs(&opts, run_all || !strcmp(name, "trace"));
    if (rc) return rc;

    gka_interrupt_install();
    double t_all = gka_wall_seconds();
    int failed = 0, no_gnuplot = 0;
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
            gka_cli_fail(GKA_EXIT_FAIL, "figure %s: %s", fig->name, gka_error_message());
            failed++;
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
    return failed ? GKA_EXIT_FAIL : GKA_EXIT_OK;
}
