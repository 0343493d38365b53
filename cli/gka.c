/* gka: command-line front end of the GKA numerics testbed. */
#include "gka_cli.h"
#include "gka_figure.h"
#include "gka_config.h"
#include "gka_git_commit.h"
#include "options.h"

#include <stdio.h>
#include <string.h>

typedef int (*gka_cmd_fn)(int argc, char **argv);

/* The function of each command of the option table (cli/option_table.c);
 * NULL where this build lacks it (weak symbols). */
static gka_cmd_fn command_fn(gka_cmd_id_t cmd) {
    switch (cmd) {
    case GKA_CMD_FORMATS:
        return gka_cmd_formats;
    case GKA_CMD_ROUND:
        return gka_cmd_round;
    case GKA_CMD_SOLVE:
        return gka_cmd_solve;
    case GKA_CMD_SOLVERS:
        return gka_cmd_solvers;
    case GKA_CMD_GRAD:
        return gka_cmd_grad;
    case GKA_CMD_FIGURE:
        return gka_cmd_figure;
    case GKA_CMD_SWEEP:
        return gka_cmd_sweep;
    case GKA_CMD_BENCH_ROUND:
        return gka_cmd_bench_round;
    case GKA_CMD_BENCH_SOLVE:
        return gka_cmd_bench_solve;
    default:
        return NULL;
    }
}

/* `gka bench gpu` lives with the GPU kernels and parses its own options. */
static const char *const bench_gpu_summary = "GPU kernels: check against CPU, time";

static void usage(FILE *f) {
    fprintf(f, "usage: gka COMMAND [OPTIONS]\n       gka --help | --version | --man\n\n"
               "commands:\n");
    for (int c = 0; c < GKA_CMD_COUNT; c++)
        fprintf(f, "  %-14s %s%s\n", gka_cli_command(c)->name, gka_cli_command(c)->summary,
                command_fn(c) ? "" : " (not in this build)");
    fprintf(f, "  %-14s %s%s\n", "bench gpu", bench_gpu_summary,
            gka_cmd_bench_gpu ? "" : " (not in this build)");
    fprintf(f,
            "\n`gka COMMAND --help` describes a command; `gka --man` prints the manual page.\n"
            "gka %s (%s)\n",
            GKA_VERSION, GKA_GIT_COMMIT);
}

/* OpenBLAS, when linked (full build), would otherwise pick its thread count
 * from OMP_NUM_THREADS or the core count, and its blocked LAPACK kernels
 * round differently with the count: results would depend on the machine. One
 * BLAS thread per gka thread keeps every CSV byte-identical everywhere. */
void openblas_set_num_threads(int n) __attribute__((weak));

int main(int argc, char **argv) {
    gka_csv_set_command_line(argc, argv); /* recorded in every CSV */
    if (openblas_set_num_threads) openblas_set_num_threads(1);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? GKA_EXIT_USAGE : GKA_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("gka %s (%s)\n", GKA_VERSION, GKA_GIT_COMMIT);
        return GKA_EXIT_OK;
    }
    if (!strcmp(argv[1], "--man")) {
        if (argc > 2) return gka_cli_fail(GKA_EXIT_USAGE, "--man takes no arguments");
        gka_cli_print_man(stdout, GKA_VERSION);
        return ferror(stdout) ? GKA_EXIT_FAIL : GKA_EXIT_OK;
    }
    char name[64];
    int shift = 1;
    if (!strcmp(argv[1], "bench")) {
        if (argc < 3)
            return gka_cli_fail(GKA_EXIT_USAGE, "bench needs a target: round, solve or gpu");
        snprintf(name, sizeof name, "bench %s", argv[2]);
        shift = 2;
    } else {
        snprintf(name, sizeof name, "%s", argv[1]);
    }
    gka_cmd_fn fn = NULL;
    const gka_cmd_id_t cmd = gka_cli_command_by_name(name);
    if (cmd != GKA_CMD_COUNT)
        fn = command_fn(cmd);
    else if (!strcmp(name, "bench gpu"))
        fn = gka_cmd_bench_gpu;
    else
        return gka_cli_fail(GKA_EXIT_USAGE, "unknown command '%s' (run `gka --help` for the list)",
                            name);
    if (!fn)
        return gka_cli_fail(GKA_EXIT_USAGE, "command '%s' is not available in this build", name);
    return fn(argc - shift, argv + shift);
}
