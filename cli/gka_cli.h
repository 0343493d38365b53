/* The gka program: one function per subcommand, each in its own file
 * (cli/cmd_<name>.c). Exit status: 0 success, 1 failure while running,
 * 2 bad usage or bad input. */
#ifndef GKA_CLI_H
#define GKA_CLI_H

#include <stdint.h>

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

/* Print "gka: <message>" on stderr, return `code` (for `return gka_cli_fail(...)`). */
int gka_cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Strict parsers: the whole string must be a number in range; on failure they
 * print a one-line message naming `what` and return nonzero. */
int gka_cli_parse_long(const char *s, const char *what, long lo, long hi, long *out);
int gka_cli_parse_u64(const char *s, const char *what, uint64_t *out);
int gka_cli_parse_double(const char *s, const char *what, double *out); /* finite only */

/* 1 if `opt` is one of the NULL-terminated `names`: lets a parser name an
 * unknown option as unknown before it asks for the option's value. */
int gka_cli_is_one_of(const char *opt, const char *const *names);

/* Returns the value after option argv[*i] (advancing *i), or NULL after
 * printing "gka: option X needs a value". */
const char *gka_cli_value(int argc, char **argv, int *i);

/* Data from files, shared by gka solve and gka grad (the same loader code):
 * --trace F.safetensors, or --keys F.npy with --queries/--gates/--betas
 * F.npy (queries may also be a synthetic spec), --batch/--head slices,
 * --D (checked against the file), --T (a prefix). */
typedef struct gka_trace gka_trace_t;
typedef struct {
    const char *keys, *queries, *trace, *gates, *betas;
    long D, T, batch, head;
    int have_D, have_T, normalize;
    uint64_t seed;
} gka_cli_files_t;
/* 1 if s names a .npy file ("F.npy" or "F.npy:DTYPE"). */
int gka_cli_is_npy(const char *s);
/* 1 if the data come from files (--trace, or --keys F.npy). */
int gka_cli_files_given(const gka_cli_files_t *f);
/* Load them into tr (normalised unless !normalize). -1 or an exit code. */
int gka_cli_load_files(const gka_cli_files_t *f, gka_trace_t *tr);

#endif
