/* gka: command-line front end of the GKA numerics testbed. */
#include "gka_cli.h"
#include "gka_figure.h"
#include "gka_config.h"

#include <stdio.h>
#include <string.h>

typedef int (*gka_cmd_fn)(int argc, char **argv);

typedef struct {
    const char *name;
    gka_cmd_fn fn;
    const char *summary;
} gka_command_t;

static void usage(FILE *f, const gka_command_t *cmds, size_t n) {
    fprintf(f, "usage: gka COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-14s %s%s\n", cmds[i].name, cmds[i].summary,
                cmds[i].fn ? "" : " (not in this build)");
    fprintf(f, "\n`gka COMMAND --help` describes a command. gka %s (%s)\n", GKA_VERSION,
            GKA_GIT_COMMIT);
}

/* OpenBLAS, when linked (full build), would otherwise pick its thread count
 * from OMP_NUM_THREADS or the core count, and its blocked LAPACK kernels
 * round differently with the count: results would depend on the machine. One
 * BLAS thread per gka thread keeps every CSV byte-identical everywhere. */
void openblas_set_num_threads(int n) __attribute__((weak));

int main(int argc, char **argv) {
    gka_csv_set_command_line(argc, argv); /* recorded in every CSV */
    if (openblas_set_num_threads) openblas_set_num_threads(1);
    const gka_command_t cmds[] = {
        {"formats", gka_cmd_formats, "table of number formats and derived quantities"},
        {"round", gka_cmd_round, "round values to a format: decimal and hex bits"},
        {"solve", gka_cmd_solve, "run a ridge solver over a key stream, per-token metrics"},
        {"solvers", gka_cmd_solvers, "list solvers and their options"},
        {"grad", gka_cmd_grad, "gradients of the solve and their errors"},
        {"figure", gka_cmd_figure, "reproduce a figure: CSV, gnuplot script, plots"},
        {"sweep", gka_cmd_sweep, "run a grid of configurations (MPI-aware)"},
        {"bench round", gka_cmd_bench_round, "throughput of rounding float32 arrays"},
        {"bench solve", gka_cmd_bench_solve, "per-token cost of each solver"},
        {"bench gpu", gka_cmd_bench_gpu, "GPU kernels: check against CPU, time"},
    };
    const size_t n = sizeof cmds / sizeof cmds[0];
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout, cmds, n);
        return argc < 2 ? GKA_EXIT_USAGE : GKA_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("gka %s (%s)\n", GKA_VERSION, GKA_GIT_COMMIT);
        return GKA_EXIT_OK;
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
    for (size_t i = 0; i < n; i++) {
        if (strcmp(cmds[i].name, name) != 0) continue;
        if (!cmds[i].fn)
            return gka_cli_fail(GKA_EXIT_USAGE, "command '%s' is not available in this build",
                                name);
        return cmds[i].fn(argc - shift, argv + shift);
    }
    return gka_cli_fail(GKA_EXIT_USAGE, "unknown command '%s' (run `gka --help` for the list)",
                        name);
}
