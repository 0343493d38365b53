/* The gka program: one function per subcommand, each in its own file
 * (cli/cmd_<name>.c). Exit status: 0 success, 1 failure while running,
 * 2 bad usage or bad input. */
#ifndef GKA_CLI_H
#define GKA_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "gka_error.h"

enum { GKA_EXIT_OK = 0, GKA_EXIT_FAIL = 1, GKA_EXIT_USAGE = 2 };

/* Subcommands. Declared weak so that a build without one (e.g. the minimal
 * GPU build, which has no MPFR) still links and says so when it is asked for. */
#define GKA_CMD(name) __attribute__((weak)) int gka_cmd_##name(int argc, char **argv)
GKA_CMD(formats);
GKA_CMD(round);
GKA_CMD(bench_round);
GKA_CMD(bench_solve);
GKA_CMD(bench_gpu);
GKA_CMD(solve);
GKA_CMD(solvers);
GKA_CMD(figure);
GKA_CMD(grad);
GKA_CMD(sweep);
#undef GKA_CMD

/* The man page's section on the parameters of each figure, from the
 * figures' declarations (cli/cmd_figure.c; weak like the commands). */
__attribute__((weak)) void gka_cli_print_figure_params_man(FILE *f);

/* Print "gka: <message>" on stderr as one line, return `code` (for
 * `return gka_cli_fail(...)`). Control characters of the message (a newline
 * inside a value the user gave, say) are written as escapes (\n, \x01), so
 * a message is always one line and never echoes raw terminal codes. */
int gka_cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The exit status of a library status, for every command: 0 for GKA_OK; 2
 * for bad usage or input (GKA_EINVAL, GKA_EFORMAT, GKA_ERANGE, GKA_ENODATA,
 * and GKA_EIO while reading inputs or opening outputs, i.e. a named file
 * that cannot be used); 1 for a failure while running (GKA_ENOMEM, GKA_EIO
 * while running or committing outputs, GKA_EUNSUP, GKA_EDEVICE,
 * GKA_EINTR, GKA_ENUMERIC). */
typedef enum { GKA_STAGE_INPUT, GKA_STAGE_RUN } gka_cli_stage_t;
int gka_cli_exit_code(gka_status_t st, gka_cli_stage_t stage);

/* Print the library's last error message (gka_error_message()), prefixed by
 * `what` if not NULL, and return gka_cli_exit_code(st, stage). */
int gka_cli_fail_status(gka_status_t st, gka_cli_stage_t stage, const char *what);

/* The strict number parsers of the GPU benchmark's own command line
 * (kernels/cmd_bench_gpu.c, outside cli/ and its option table): the whole
 * string must be a number in range, else a message naming `what` and
 * nonzero. */
int gka_cli_parse_long(const char *s, const char *what, long lo, long hi, long *out);
int gka_cli_parse_u64(const char *s, const char *what, uint64_t *out);
/* The value after option argv[*i] (advancing *i), or NULL after a message. */
const char *gka_cli_value(int argc, char **argv, int *i);

/* Data from files, shared by gka solve and gka grad (the same loader code):
 * --trace F.safetensors, or --keys F.npy with --queries/--gates/--betas
 * F.npy (queries may also be a synthetic spec), --batch/--head slices,
 * --D (checked against the file), --T (a prefix). */
typedef struct gka_trace gka_trace_t;
typedef struct {
    const char *keys, *queries, *trace, *gates, *betas;
    const char *gate, *beta; /* the synthetic specs where no file gives them */
    long D, T, batch, head;
    int have_D, have_T, normalize;
    uint64_t seed;       /* the data seed: --data-seed, else --seed */
    uint64_t round_seed; /* stochastic rounding: --round-seed, else --seed */
} gka_cli_files_t;
/* The data options (--keys ... --seed, --no-normalize) from a parsed table. */
typedef struct gka_opts gka_opts_t;
gka_cli_files_t gka_cli_files_from_opts(const gka_opts_t *o);
/* Files (gka_cli_load_files) or synthetic data from the specs: -1 or an exit code. */
int gka_cli_build_trace(const gka_cli_files_t *f, gka_trace_t *tr);
/* The data parameters (seed: the data seed, round_seed, keys, queries, gate, beta, batch, head,
 * normalize) as CSV metadata. */
typedef struct gka_csv gka_csv_t;
void gka_cli_data_meta(const gka_cli_files_t *f, const gka_trace_t *tr, gka_csv_t *m);
/* 1 if s names a .npy file ("F.npy" or "F.npy:DTYPE"). */
int gka_cli_is_npy(const char *s);
/* 1 if the data come from files (--trace, or --keys F.npy). */
int gka_cli_files_given(const gka_cli_files_t *f);
/* Load them into tr (normalised unless !normalize). -1 or an exit code. */
int gka_cli_load_files(const gka_cli_files_t *f, gka_trace_t *tr);
/* The notice that the input had no queries and synthetic ones stand in; the
 * caller prints it after its option checks, so a refused run says one line. */
void gka_cli_queries_notice(const gka_cli_files_t *f, const gka_trace_t *tr);
/* The data conditions of the option table (synthetic keys, a keys file, a
 * [B,T,H,D] file, write gates) for these inputs, added to ctx->holds with
 * what to say where one does not hold. `loaded` is NULL before loading
 * (shape and gates not yet known: they count as holding). dc keeps the
 * phrases ctx points to. */
typedef struct gka_opt_context gka_opt_context_t;
typedef struct {
    char data[1100];
} gka_cli_data_context_t;
void gka_cli_data_context(const gka_cli_files_t *f, const gka_trace_t *loaded,
                          gka_cli_data_context_t *dc, gka_opt_context_t *ctx);

#endif
