/* The option table and its parser (cli/options.c, cli/option_table.c),
 * linked in: both spellings, ranges, lists, unknown options, missing
 * values, applicability, --help and the man page generated from the table
 * (the man page is the file the build generated with `gka --man`). */
#define _GNU_SOURCE /* open_memstream */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gka_cli.h"
#include "options.h"

static gka_opts_t opts; /* large: static */

/* Parse the space-separated `line` for `cmd`; the exit code (-1: go on) and
 * what went to stderr. */
static int parse(gka_cmd_id_t cmd, const char *line, char *err, size_t errsize) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s", line);
    char *argv[64] = {"cmd"};
    int argc = 1;
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t && argc < 63;
         t = strtok_r(NULL, " ", &save))
        argv[argc++] = strcmp(t, "''") ? t : (char *)"";
    fflush(stderr);
    FILE *tmp = tmpfile();
    cr_assert(tmp);
    const int saved = dup(fileno(stderr));
    dup2(fileno(tmp), fileno(stderr));
    const int rc = gka_opts_parse(cmd, argc, argv, &opts);
    fflush(stderr);
    dup2(saved, fileno(stderr));
    close(saved);
    rewind(tmp);
    const size_t n = fread(err, 1, errsize - 1, tmp);
    err[n] = '\0';
    fclose(tmp);
    return rc;
}

static void expect_refused(gka_cmd_id_t cmd, const char *line, const char *says) {
    char err[2048];
    const int rc = parse(cmd, line, err, sizeof err);
    cr_expect_eq(rc, GKA_EXIT_USAGE, "'%s' gave %d", line, rc);
    cr_expect(strstr(err, says) != NULL, "'%s': message '%s' lacks '%s'", line, err, says);
    cr_expect(!strncmp(err, "gka: ", 5) && strchr(err, '\n') == err + strlen(err) - 1,
              "'%s': not one gka: line: %s", line, err);
}

static void expect_ok(gka_cmd_id_t cmd, const char *line) {
    char err[2048];
    cr_assert_eq(parse(cmd, line, err, sizeof err), -1, "'%s' refused: %s", line, err);
}

Test(options, both_spellings_give_the_same_value) {
    expect_ok(GKA_CMD_SOLVE, "--D 32 --T 100 --tol 1e-3 --seed 7");
    cr_expect_eq(gka_opt_long(&opts, GKA_OPT_D), 32);
    cr_expect_eq(gka_opt_long(&opts, GKA_OPT_T), 100);
    cr_expect_eq(gka_opt_real(&opts, GKA_OPT_TOL), 1e-3);
    cr_expect_eq(gka_opt_u64(&opts, GKA_OPT_SEED), 7);
    expect_ok(GKA_CMD_SOLVE, "--D=32 --T=100 --tol=1e-3 --seed=7 --csv=--x.csv");
    cr_expect(gka_opt_given(&opts, GKA_OPT_D));
    cr_expect_eq(gka_opt_long(&opts, GKA_OPT_D), 32);
    cr_expect_eq(gka_opt_real(&opts, GKA_OPT_TOL), 1e-3);
    cr_expect_str_eq(gka_opt_text(&opts, GKA_OPT_CSV), "--x.csv"); /* = takes any value */
    expect_ok(GKA_CMD_SOLVE, "--format=custom:5,-6,7");
    cr_expect_str_eq(gka_opt_text(&opts, GKA_OPT_FORMAT), "custom:5,-6,7");
}

Test(options, defaults_come_from_the_declaration_per_command) {
    expect_ok(GKA_CMD_SOLVE, "");
    cr_expect_eq(gka_opt_long(&opts, GKA_OPT_D), 64);
    cr_expect_eq(gka_opt_long(&opts, GKA_OPT_ITERS), 30);
    cr_expect(!gka_opt_given(&opts, GKA_OPT_D));
    cr_expect_str_eq(gka_opt_text(&opts, GKA_OPT_RIDGE), "adaptive:0.02");
    expect_ok(GKA_CMD_GRAD, "");
    cr_expect_eq(gka_opt_long(&opts, GKA_OPT_D), 32);
    cr_expect_eq(gka_opt_long(&opts, GKA_OPT_T), 256);
    expect_ok(GKA_CMD_BENCH_SOLVE, "");
    cr_expect_eq(gka_opt_count(&opts, GKA_OPT_D), 2);
    cr_expect_eq(gka_opt_long_at(&opts, GKA_OPT_D, 0), 64);
    cr_expect_eq(gka_opt_long_at(&opts, GKA_OPT_D, 1), 128);
    cr_expect_eq(gka_opt_count(&opts, GKA_OPT_SOLVERS), 6);
    /* every command's defaults parse (round needs --format and a value) */
    for (int c = 0; c < GKA_CMD_COUNT; c++) {
        const char *line = c == GKA_CMD_ROUND   ? "--format bf16 1"
                           : c == GKA_CMD_SWEEP ? "g.toml"
                                                : "";
        expect_ok((gka_cmd_id_t)c, line);
    }
}

Test(options, ranges_and_malformed_numbers) {
    expect_refused(GKA_CMD_SOLVE, "--D 0", "--D: 0 is out of range [1, 1024]");
    expect_refused(GKA_CMD_SOLVE, "--D=1025", "--D: 1025 is out of range [1, 1024]");
    expect_refused(GKA_CMD_SOLVE, "--D 4x", "--D: '4x' is not an integer");
    expect_refused(GKA_CMD_SOLVE, "--D ''", "--D: '' is not an integer");
    expect_refused(GKA_CMD_SOLVE, "--D= ", "--D: '' is not an integer");
    expect_refused(GKA_CMD_SOLVE, "--D 99999999999999999999", "is not an integer");
    expect_refused(GKA_CMD_SOLVE, "--T 1e3", "--T: '1e3' is not an integer");
    expect_refused(GKA_CMD_SOLVE, "--tol -1", "--tol: -1 must be >= 0");
    expect_refused(GKA_CMD_SOLVE, "--tol nan", "--tol: 'nan' is not finite");
    expect_refused(GKA_CMD_SOLVE, "--tol 1x", "--tol: '1x' is not a number");
    expect_refused(GKA_CMD_SOLVE, "--seed -1", "--seed: '-1' is not a non-negative integer");
    expect_refused(GKA_CMD_SOLVE, "--seed 99999999999999999999999", "64-bit");
    expect_ok(GKA_CMD_SOLVE, "--seed 18446744073709551615");
    cr_expect_eq(gka_opt_u64(&opts, GKA_OPT_SEED), UINT64_MAX);
    expect_refused(GKA_CMD_ROUND, "--format bf16 --subnormals maybe 1",
                   "--subnormals takes on or off, not 'maybe'");
    expect_refused(GKA_CMD_GRAD, "--grad-mode tape",
                   "--grad-mode takes implicit or iterations, not 'tape'");
    expect_refused(GKA_CMD_FIGURE, "omega --threads 0", "--threads: 0 is out of range [1, 1024]");
    expect_refused(GKA_CMD_SOLVE, "--beta-mode x", "--beta-mode takes weight or fold, not 'x'");
}

/* The limits that solve and grad share are one declaration: the same. */
Test(options, solve_and_grad_share_their_limits) {
    const gka_opt_id_t shared[] = {GKA_OPT_D, GKA_OPT_T, GKA_OPT_ITERS, GKA_OPT_CHUNK};
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++) {
        const gka_opt_decl_t *d = gka_opt_decl(shared[i]);
        cr_expect(d->cmds & GKA_IN(GKA_CMD_SOLVE) && d->cmds & GKA_IN(GKA_CMD_GRAD), "--%s",
                  d->name);
    }
    expect_refused(GKA_CMD_GRAD, "--T 10000001", "--T: 10000001 is out of range [1, 10000000]");
    expect_refused(GKA_CMD_SOLVE, "--T 10000001", "--T: 10000001 is out of range [1, 10000000]");
    expect_refused(GKA_CMD_GRAD, "--iters 1000001", "out of range [0, 1000000]");
    expect_refused(GKA_CMD_SOLVE, "--iters 1000001", "out of range [0, 1000000]");
    expect_refused(GKA_CMD_BENCH_SOLVE, "--iters 1000001", "out of range [0, 1000000]");
}

Test(options, unknown_missing_twice_and_stray) {
    expect_refused(GKA_CMD_SOLVE, "--bogus 1", "solve: unknown option '--bogus'");
    expect_refused(GKA_CMD_SOLVE, "--bogus=1", "solve: unknown option '--bogus'");
    expect_refused(GKA_CMD_ROUND, "--format bf16 --tol 1 1", "round: unknown option '--tol'");
    expect_refused(GKA_CMD_SOLVE, "--iters", "option --iters needs a value");
    expect_refused(GKA_CMD_SOLVE, "--csv --warm", "option --csv needs a value (found the option");
    expect_refused(GKA_CMD_SOLVE, "--warm=1", "option --warm takes no value");
    expect_refused(GKA_CMD_SOLVE, "--D 4 --D 8", "option --D is given twice");
    expect_refused(GKA_CMD_SOLVE, "extra", "solve: unexpected argument 'extra'");
    expect_refused(GKA_CMD_SWEEP, "a.toml b.toml", "more than one grid file ('b.toml')");
    expect_refused(GKA_CMD_SWEEP, "", "sweep: no grid file given");
    expect_refused(GKA_CMD_ROUND, "--format bf16", "round: no VALUE given");
    expect_refused(GKA_CMD_ROUND, "1.0", "round: --format is required");
    expect_refused(GKA_CMD_SOLVE, "--csv ''", "--csv: empty path");
    expect_refused(GKA_CMD_FIGURE, "omega --quick --full", "--quick and --full are exclusive");
    expect_refused(GKA_CMD_FIGURE, "omega --tier full --quick", "--quick and --tier are exclusive");
    expect_refused(GKA_CMD_SOLVE, "--keys k.npy --trace t.safetensors",
                   "--keys and --trace are exclusive");
    /* round values may start with one dash; "--" ends the options */
    expect_ok(GKA_CMD_ROUND, "--format bf16 -1.5 -- --2");
    cr_expect_eq(opts.nargs, 2);
    cr_expect_str_eq(opts.args[0], "-1.5");
    cr_expect_str_eq(opts.args[1], "--2");
}

Test(options, lists_refuse_empty_items) {
    expect_refused(GKA_CMD_BENCH_SOLVE, "--D ,", "--D: empty item in the list ','");
    expect_refused(GKA_CMD_BENCH_SOLVE, "--D 4,,8", "--D: empty item in the list '4,,8'");
    expect_refused(GKA_CMD_BENCH_SOLVE, "--D 4,", "empty item");
    expect_refused(GKA_CMD_BENCH_SOLVE, "--D 4,x", "--D: 'x' is not an integer");
    expect_refused(GKA_CMD_BENCH_SOLVE, "--D 4,2000", "--D: 2000 is out of range");
    expect_refused(GKA_CMD_BENCH_SOLVE, "--solvers cg,", "--solvers: empty item in the list 'cg,'");
    expect_refused(GKA_CMD_BENCH_SOLVE, "--solvers ,cg", "empty item");
    expect_refused(GKA_CMD_BENCH_ROUND, "--formats bf16,,fp16", "empty item");
    expect_ok(GKA_CMD_BENCH_SOLVE, "--D=4,8,16 --solvers cg,kalman");
    cr_expect_eq(gka_opt_count(&opts, GKA_OPT_D), 3);
    cr_expect_eq(gka_opt_long_at(&opts, GKA_OPT_D, 2), 16);
    cr_expect_str_eq(gka_opt_name_at(&opts, GKA_OPT_SOLVERS, 1), "kalman");
    /* custom:t,emin,emax is one item of a format list */
    expect_ok(GKA_CMD_BENCH_ROUND, "--formats bf16,custom:5,-6,7,fp16");
    cr_expect_eq(gka_opt_count(&opts, GKA_OPT_NUMBER_FORMATS), 3);
    cr_expect_str_eq(gka_opt_name_at(&opts, GKA_OPT_NUMBER_FORMATS, 1), "custom:5,-6,7");
    /* solve takes one D, not a list */
    expect_refused(GKA_CMD_SOLVE, "--D 4,8", "--D: '4,8' is not an integer");
}

Test(options, help_anywhere_prints_help) {
    char err[256];
    FILE *saved = stdout;
    char *text = NULL;
    size_t len = 0;
    stdout = open_memstream(&text, &len);
    const int rc = parse(GKA_CMD_SOLVE, "--bogus --help", err, sizeof err);
    fclose(stdout);
    stdout = saved;
    cr_expect_eq(rc, 0);
    cr_expect(strstr(text, "usage: gka solve"), "%s", text);
    free(text);
}

static void context_refuses(const char *line, unsigned holds, gka_ctx_bit_t bit, const char *absent,
                            const char *says) {
    char err[2048];
    cr_assert_eq(parse(GKA_CMD_SOLVE, line, err, sizeof err), -1, "%s", err);
    gka_opt_context_t ctx = {0};
    ctx.holds = holds;
    ctx.absent[bit] = absent;
    FILE *tmp = tmpfile();
    fflush(stderr);
    const int saved = dup(fileno(stderr));
    dup2(fileno(tmp), fileno(stderr));
    const int rc = gka_opts_check_context(&opts, &ctx);
    fflush(stderr);
    dup2(saved, fileno(stderr));
    close(saved);
    rewind(tmp);
    const size_t n = fread(err, 1, sizeof err - 1, tmp);
    err[n] = '\0';
    fclose(tmp);
    cr_expect_eq(rc, GKA_EXIT_USAGE, "'%s' accepted", line);
    cr_expect(strstr(err, says), "'%s': '%s' lacks '%s'", line, err, says);
}

Test(options, context_from_the_declaration) {
    const unsigned all = ~0u, no_iter = ~GKA_NEEDS(GKA_CTX_ITERATIVE);
    context_refuses("--tol 1e-3", no_iter, GKA_CTX_ITERATIVE, "with --solver kalman",
                    "solve: --tol does not apply with --solver kalman: it needs an iterative "
                    "solver");
    context_refuses("--warm", no_iter, GKA_CTX_ITERATIVE, "with --solver cholesky",
                    "--warm does not apply with --solver cholesky");
    context_refuses("--iters 5", no_iter, GKA_CTX_ITERATIVE, "x", "--iters does not apply");
    context_refuses("--carry fp32", ~GKA_NEEDS(GKA_CTX_CHUNK), GKA_CTX_CHUNK, "without --chunk",
                    "--carry does not apply without --chunk: it needs the chunk form");
    context_refuses("--iter-format bf16", ~GKA_NEEDS(GKA_CTX_ITERATES), GKA_CTX_ITERATES,
                    "with --solver kalman in token form",
                    "--iter-format does not apply with --solver kalman in token form");
    /* every condition has its words */
    for (int b = 0; b < GKA_CTX_COUNT; b++) {
        const char *lines[] = {"--tol 1", "--warm", "--chunk 2", "--gate none", "--history h"};
        for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
            char e[2048];
            cr_assert_eq(parse(GKA_CMD_SOLVE, lines[i], e, sizeof e), -1, "%s", e);
            gka_opt_context_t c = {~GKA_NEEDS(b), {0}};
            FILE *tmp = tmpfile();
            fflush(stderr);
            const int saved = dup(fileno(stderr));
            dup2(fileno(tmp), fileno(stderr));
            gka_opts_check_context(&opts, &c);
            fflush(stderr);
            dup2(saved, fileno(stderr));
            close(saved);
            rewind(tmp);
            e[fread(e, 1, sizeof e - 1, tmp)] = '\0';
            fclose(tmp);
            cr_expect_null(strstr(e, "(null)"), "condition %d: %s", b, e);
        }
    }
    context_refuses("--gate const:0.5", ~GKA_NEEDS(GKA_CTX_SYNTHETIC), GKA_CTX_SYNTHETIC,
                    "with --keys k.npy", "--gate does not apply with --keys k.npy");
    context_refuses("--betas b.npy", ~GKA_NEEDS(GKA_CTX_KEYS_FILE), GKA_CTX_KEYS_FILE,
                    "with synthetic keys", "--betas does not apply with synthetic keys");
    context_refuses("--head 1", ~GKA_NEEDS(GKA_CTX_BATCHED_FILE), GKA_CTX_BATCHED_FILE,
                    "with a [T,D] file", "--head does not apply with a [T,D] file");
    /* where everything holds, nothing is refused; options not given are not
       checked (their defaults apply silently) */
    char err[256];
    cr_assert_eq(parse(GKA_CMD_SOLVE, "--tol 1e-3 --D 8", err, sizeof err), -1);
    gka_opt_context_t ctx = {all, {0}};
    cr_expect_eq(gka_opts_check_context(&opts, &ctx), -1);
    cr_assert_eq(parse(GKA_CMD_SOLVE, "", err, sizeof err), -1);
    ctx.holds = 0;
    cr_expect_eq(gka_opts_check_context(&opts, &ctx), -1);
}

/* No two declarations of one name for one command; every declaration has
 * help, a section and (except flags) a metavar. */
Test(options, table_is_consistent) {
    for (int a = 0; a < GKA_OPT_COUNT; a++) {
        const gka_opt_decl_t *d = gka_opt_decl(a);
        cr_expect(d->name && d->help && d->section && d->cmds, "option %d incomplete", a);
        cr_expect(d->type == GKA_OT_FLAG || d->metavar, "--%s has no metavar", d->name);
        for (int b = a + 1; b < GKA_OPT_COUNT; b++) {
            const gka_opt_decl_t *e = gka_opt_decl(b);
            cr_expect(strcmp(d->name, e->name) || !(d->cmds & e->cmds),
                      "--%s declared twice for one command", d->name);
        }
    }
}

/* --help of every command lists every option the command takes. */
Test(options, help_lists_every_option) {
    for (int c = 0; c < GKA_CMD_COUNT; c++) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        gka_cli_print_help(f, (gka_cmd_id_t)c);
        fclose(f);
        const gka_cli_command_t *cd = gka_cli_command((gka_cmd_id_t)c);
        char want[128];
        snprintf(want, sizeof want, "usage: gka %s", cd->name);
        cr_expect(strstr(text, want), "%s", text);
        cr_expect_null(strstr(text, "(null)"), "gka %s --help: %s", cd->name, text);
        cr_expect(c == GKA_CMD_SOLVE || !strstr(text, "  --tol "), "gka %s --help shows --tol",
                  cd->name); /* only the command's own options */
        for (int id = 0; id < GKA_OPT_COUNT; id++) {
            const gka_opt_decl_t *d = gka_opt_decl(id);
            snprintf(want, sizeof want, "  --%s%s", d->name, d->metavar ? " " : "");
            if (d->cmds & GKA_IN(c))
                cr_expect(strstr(text, want), "gka %s --help lacks --%s", cd->name, d->name);
        }
        free(text);
    }
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s: not generated", path);
    static char buf[1 << 18];
    const size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The man page the build generated holds every command, and in each
 * command's section every option of that command. */
Test(options, man_page_holds_every_option) {
    const char *man = slurp(GKA_MAN_PAGE);
    cr_expect(!strncmp(man, ".\\\"", 3) && strstr(man, ".TH GKA 1"), "not a man page");
    for (int c = 0; c < GKA_CMD_COUNT; c++) {
        const gka_cli_command_t *cd = gka_cli_command((gka_cmd_id_t)c);
        char head[128];
        snprintf(head, sizeof head, ".SH \"GKA %s\"\n", cd->name);
        const char *sec = strstr(man, head);
        cr_assert(sec, "no section for %s", cd->name);
        const char *next = strstr(sec + 1, "\n.SH ");
        const size_t seclen = next ? (size_t)(next - sec) : strlen(sec);
        for (int id = 0; id < GKA_OPT_COUNT; id++) {
            const gka_opt_decl_t *d = gka_opt_decl(id);
            if (!(d->cmds & GKA_IN(c))) continue;
            char want[128];
            snprintf(want, sizeof want, ".TP\n\\fB\\-\\-");
            size_t n = strlen(want);
            for (const char *p = d->name; *p && n + 3 < sizeof want; p++)
                n += (size_t)snprintf(want + n, sizeof want - n, *p == '-' ? "\\-" : "%c", *p);
            snprintf(want + n, sizeof want - n, "\\fR");
            const char *hit = strstr(sec, want);
            cr_expect(hit && hit < sec + seclen, "man page: gka %s lacks --%s", cd->name, d->name);
        }
    }
    cr_expect(strstr(man, ".SH \"EXIT STATUS\""));
}

Test(options, exit_codes_of_statuses) {
    cr_expect_eq(gka_cli_exit_code(GKA_OK, GKA_STAGE_RUN), 0);
    const gka_status_t usage[] = {GKA_EINVAL, GKA_EFORMAT, GKA_ERANGE, GKA_ENODATA};
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        cr_expect_eq(gka_cli_exit_code(usage[i], GKA_STAGE_INPUT), 2);
        cr_expect_eq(gka_cli_exit_code(usage[i], GKA_STAGE_RUN), 2);
    }
    cr_expect_eq(gka_cli_exit_code(GKA_EIO, GKA_STAGE_INPUT), 2);
    cr_expect_eq(gka_cli_exit_code(GKA_EIO, GKA_STAGE_RUN), 1);
    const gka_status_t fail[] = {GKA_ENOMEM, GKA_EUNSUP, GKA_EDEVICE, GKA_EINTR, GKA_ENUMERIC};
    for (size_t i = 0; i < sizeof fail / sizeof fail[0]; i++)
        cr_expect_eq(gka_cli_exit_code(fail[i], GKA_STAGE_INPUT), 1);
}

/* A value with a newline or a terminal escape is not echoed raw. */
Test(options, messages_escape_control_characters) {
    char err[2048];
    const int rc = parse(GKA_CMD_SOLVE, "--D 4\n\x1b[2J", err, sizeof err);
    cr_expect_eq(rc, 2);
    cr_expect(strstr(err, "'4\\n\\x1b[2J' is not an integer"), "%s", err);
    cr_expect_eq(strchr(err, '\n'), err + strlen(err) - 1, "more than one line: %s", err);
    cr_expect_null(strchr(err, '\x1b'));
}

/* `gka CMD --help` of the built program is the text printed from the table. */
Test(options, program_help_is_the_generated_text) {
    for (int c = 0; c < GKA_CMD_COUNT; c++) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        gka_cli_print_help(f, (gka_cmd_id_t)c);
        fclose(f);
        char cmd[512];
        snprintf(cmd, sizeof cmd, "'%s' %s --help", GKA_PROGRAM, gka_cli_command(c)->name);
        FILE *p = popen(cmd, "r");
        cr_assert(p);
        static char got[1 << 16];
        const size_t n = fread(got, 1, sizeof got - 1, p);
        got[n] = '\0';
        cr_expect_eq(pclose(p), 0, "%s", cmd);
        cr_expect_str_eq(got, text, "%s", cmd);
        free(text);
    }
}
