/* `gka figure` from the outside: listing, bad input (one line, exit 2),
 * gnuplot missing (CSV and script still written, exit 1, nothing
 * half-written), rendering, and byte-identical CSVs at 1 and 2 threads. */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700 /* putenv, in program_testlib.h */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gka_figure.h"
#include "program_testlib.h"

#include <math.h>

static char tmpdir[256];

static void make_tmpdir(void) {
    prog_make_tmpdir(tmpdir, sizeof tmpdir, "test_cmd_figure");
}

static void remove_tmpdir(void) {
    prog_remove_tree(tmpdir);
}

TestSuite(cmd_figure, .init = make_tmpdir, .fini = remove_tmpdir, .timeout = 240);

/* Run `env gka figure ARGS`, capturing stdout and stderr; returns the exit code. */
static int run(const char *env, const char *args, char *out, size_t outsz, char *err,
               size_t errsz) {
    char cmd[2048], fo[512], fe[512];
    snprintf(fo, sizeof fo, "%s/stdout.txt", tmpdir);
    snprintf(fe, sizeof fe, "%s/stderr.txt", tmpdir);
    snprintf(cmd, sizeof cmd, "env %s '%s' figure %s > '%s' 2> '%s'", env ? env : "", GKA_PROGRAM,
             args, fo, fe);
    int st = system(cmd);
    cr_assert(WIFEXITED(st));
    const char *files[2] = {fo, fe};
    char *bufs[2] = {out, err};
    size_t sizes[2] = {outsz, errsz};
    for (int i = 0; i < 2; i++) {
        if (!bufs[i]) continue;
        FILE *f = fopen(files[i], "r");
        size_t n = f ? fread(bufs[i], 1, sizes[i] - 1, f) : 0;
        bufs[i][n] = '\0';
        if (f) fclose(f);
    }
    return WEXITSTATUS(st);
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static int exists(const char *dir, const char *name) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

/* No temporary file (NAME.ext.tmp.XXXXXX) left in dir. */
static void assert_no_tmp(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)))
        cr_assert_null(strstr(e->d_name, ".tmp."), "leftover temporary file %s/%s", dir, e->d_name);
    closedir(d);
}

Test(cmd_figure, list_names_every_figure) {
    char out[8192], err[1024];
    cr_assert_eq(run(NULL, "--list", out, sizeof out, err, sizeof err), 0);
    const char *names[] = {"solvers", "convergence", "ridge-sweep", "reversibility", "precision",
                           "kappa",   "omega",       "iterations",  "trace",         "gradients"};
    for (size_t i = 0; i < 10; i++)
        cr_assert(strstr(out, names[i]), "missing %s", names[i]);
    size_t n;
    gka_figure_list(&n);
    cr_assert_eq(count_lines(out), (int)n, "one line per registered figure");
}

Test(cmd_figure, bad_input_one_line_exit_2) {
    char out[4096], err[4096];
    char args[1024];
    const char *bad[] = {"nosuchfigure",
                         "omega --seed -3",
                         "omega --seed abc",
                         "omega --tier slow",
                         "omega --quick --full",
                         "omega --threads 0",
                         "omega --images gif",
                         "omega --bogus",
                         "omega --keys /tmp/x.npy",
                         "trace --keys /nonexistent.npy",
                         "omega --seed"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(args, sizeof args, "%s --out '%s/r' --images none", bad[i], tmpdir);
        if (i == 6 || i == 10) snprintf(args, sizeof args, "%s", bad[i]);
        cr_assert_eq(run(NULL, args, out, sizeof out, err, sizeof err), 2, "'%s': %s", bad[i], err);
        cr_assert_eq(count_lines(err), 1, "'%s' gave: %s", bad[i], err);
        cr_assert(!strncmp(err, "gka: ", 5), "%s", err);
    }
    /* an output directory that cannot be created: a path under a regular file */
    char file[512];
    snprintf(file, sizeof file, "%s/plainfile", tmpdir);
    FILE *f = fopen(file, "w");
    fputs("x", f);
    fclose(f);
    snprintf(args, sizeof args, "omega --out '%s/sub' --images none", file);
    cr_assert_eq(run(NULL, args, out, sizeof out, err, sizeof err), 2);
    cr_assert_eq(count_lines(err), 1, "%s", err);
    cr_assert(strstr(err, "plainfile"), "%s", err);
}

Test(cmd_figure, gnuplot_missing_keeps_csv_and_script) {
    char out[4096], err[4096], args[1024], dir[512];
    snprintf(args, sizeof args, "omega --out '%s/r' --quiet", tmpdir);
    cr_assert_eq(run("GKA_GNUPLOT=/nonexistent/gnuplot", args, out, sizeof out, err, sizeof err),
                 1);
    cr_assert_eq(count_lines(err), 1, "%s", err);
    cr_assert(strstr(err, "gnuplot not found") && strstr(err, "omega.gp"), "%s", err);
    snprintf(dir, sizeof dir, "%s/r/omega", tmpdir);
    cr_assert(exists(dir, "omega.csv") && exists(dir, "omega.gp"));
    cr_assert(!exists(dir, "omega.pdf") && !exists(dir, "omega.png") && !exists(dir, "omega.svg"));
    assert_no_tmp(dir);
}

Test(cmd_figure, renders_png_and_reports_time) {
    if (system("command -v gnuplot > /dev/null 2>&1") != 0) cr_skip_test("gnuplot not installed");
    char out[4096], err[4096], args[1024], dir[512], png[600];
    snprintf(args, sizeof args, "omega --out '%s/r' --images png --quiet", tmpdir);
    cr_assert_eq(run(NULL, args, out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert(strstr(out, "omega") && strstr(out, " s "), "%s", out);
    cr_assert_str_empty(err, "progress bar on a non-terminal: %s", err);
    snprintf(dir, sizeof dir, "%s/r/omega", tmpdir);
    cr_assert(exists(dir, "omega.png") && !exists(dir, "omega.pdf"));
    snprintf(png, sizeof png, "%s/omega.png", dir);
    FILE *f = fopen(png, "rb");
    unsigned char magic[8] = {0};
    cr_assert_eq(fread(magic, 1, 8, f), 8);
    fclose(f);
    cr_assert(!memcmp(magic, "\x89PNG\r\n\x1a\n", 8));
    assert_no_tmp(dir);
    /* a broken script is reported, and leaves no image behind */
    char gp[600];
    snprintf(gp, sizeof gp, "%s/omega.gp", dir);
    f = fopen(gp, "a");
    fputs("plot nosuchfunction(x)\n", f);
    fclose(f);
    unlink(png);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot -e \"fmt='png'\" omega.gp > /dev/null 2>&1", dir);
    cr_assert_neq(system(cmd), 0);
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

Test(cmd_figure, csv_identical_at_1_and_2_threads) {
    const char *figs[] = {"omega", "reversibility"};
    for (size_t k = 0; k < 2; k++) {
        char *csv[2];
        for (int t = 1; t <= 2; t++) {
            char out[4096], err[4096], args[1024], path[700];
            snprintf(args, sizeof args, "%s --seed 7 --threads %d --out '%s/t%d' --images none",
                     figs[k], t, tmpdir, t);
            cr_assert_eq(
                run("SOURCE_DATE_EPOCH=1700000000", args, out, sizeof out, err, sizeof err), 0,
                "%s", err);
            snprintf(path, sizeof path, "%s/t%d/%s/%s.csv", tmpdir, t, figs[k], figs[k]);
            csv[t - 1] = slurp(path);
            cr_assert(strstr(csv[t - 1], "# command_line: ") && strstr(csv[t - 1], "--threads"));
            prog_drop_lines(csv[t - 1], "# command_line: "); /* --threads, --out differ */
        }
        cr_assert_str_eq(csv[0], csv[1], "%s differs between 1 and 2 threads", figs[k]);
        cr_assert(strstr(csv[0], "# seed: 7\n"));
        cr_assert(strstr(csv[0], "# date_utc: 2023-11-14T22:13:20Z\n"));
        free(csv[0]);
        free(csv[1]);
    }
}

/* The figure options come from the option table: `gka figure NAME --help`
 * answers (it said "unknown option" before), both spellings are read, and
 * the old option parser of the library is gone (the CSV metadata still
 * records the tier and seed given). */
Test(cmd_figure, help_after_a_name_and_equals_spelling) {
    char out[16384], err[4096], args[1024];
    cr_assert_eq(run(NULL, "--help", out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_expect(strstr(out, "usage: gka figure") && strstr(out, "--images LIST"), "%s", out);
    snprintf(args, sizeof args, "omega --quick --seed=5 --images=none --quiet --out='%s/eq'",
             tmpdir);
    cr_assert_eq(run(NULL, args, out, sizeof out, err, sizeof err), 0, "%s", err);
    char csv[1024];
    snprintf(csv, sizeof csv, "%s/eq/omega/omega.csv", tmpdir);
    FILE *f = fopen(csv, "r");
    cr_assert(f, "%s missing", csv);
    static char text[1 << 16];
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    cr_expect(strstr(text, "# seed: 5\n"), "%s", text);
    cr_expect_eq(run(NULL, "omega --tier full --quick", out, sizeof out, err, sizeof err), 2);
    cr_expect(strstr(err, "--quick and --tier are exclusive"), "%s", err);
}

/* --keys k.npy:bf16 (numpy + ml_dtypes' '<V2' records) reaches the trace figure. */
Test(cmd_figure, trace_takes_a_named_dtype) {
    char path[600], out[4096], err[4096], args[2048];
    snprintf(path, sizeof path, "%s/k.npy", tmpdir);
    prog_write_bf16_npy(path, 30, 6);
    snprintf(args, sizeof args, "trace --quick --keys %s:bf16 --out '%s/tr' --images none", path,
             tmpdir);
    cr_assert_eq(run(NULL, args, out, sizeof out, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/tr/trace/trace.csv", tmpdir);
    char *csv = slurp(path);
    cr_assert(strstr(csv, "# trace_D: 6\n") && strstr(csv, "k.npy:bf16"), "%.2000s", csv);
    free(csv);
}

/* ---- parameters of a figure (experiments/figure_params.c) ---------------- */

/* The value of metadata key `key` in the CSV text, or NULL. */
static const char *meta_line(const char *csv, const char *key, char *buf, size_t size) {
    char pat[128];
    snprintf(pat, sizeof pat, "\n# %s: ", key);
    const char *p = strstr(csv, pat);
    if (!p) return NULL;
    p += strlen(pat);
    snprintf(buf, size, "%.*s", (int)strcspn(p, "\n"), p);
    return buf;
}

/* The rows of a figure CSV (the lines after the metadata). */
static const char *rows_of(const char *csv) {
    const char *p = csv, *last = csv;
    for (const char *q = csv; (q = strstr(q, "\n#")); q++)
        last = q + 1;
    p = strchr(last, '\n');
    return p ? p + 1 : "";
}

/* A parameter given on the command line changes the data and is written
 * into the metadata; the tier's value is written when none is given. */
Test(cmd_figure, parameter_changes_the_data_and_the_metadata) {
    char out[4096], err[4096], args[1024], path[1024], v[256];
    snprintf(args, sizeof args, "omega --D 8 --T 32 --quiet --images none --out '%s/p0'", tmpdir);
    cr_assert_eq(run(NULL, args, out, sizeof out, err, sizeof err), 0, "%s", err);
    snprintf(args, sizeof args,
             "omega --D 8 --T 32 --a 0.5,0.25 --quiet --images none --out '%s/p1'", tmpdir);
    cr_assert_eq(run(NULL, args, out, sizeof out, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/p0/omega/omega.csv", tmpdir);
    char *base = slurp(path);
    snprintf(path, sizeof path, "%s/p1/omega/omega.csv", tmpdir);
    char *varied = slurp(path);
    cr_expect_str_eq(meta_line(base, "a", v, sizeof v),
                     "0.01,0.02,0.050000000000000003,0.10000000000000001");
    cr_expect_str_eq(meta_line(varied, "a", v, sizeof v), "0.5,0.25");
    cr_expect_str_eq(meta_line(varied, "D", v, sizeof v), "8");
    cr_expect_str_eq(meta_line(varied, "T", v, sizeof v), "32");
    cr_expect(strstr(rows_of(varied), "\n0.5,0,") || !strncmp(rows_of(varied), "0.5,0,", 6),
              "%.400s", rows_of(varied));
    cr_expect_null(strstr(rows_of(varied), "0.01,"), "%.400s", rows_of(varied));
    cr_expect(strcmp(rows_of(base), rows_of(varied)) != 0);
    /* no key twice: the parameter keys are not repeated by the figure */
    cr_expect_null(strstr(strstr(varied, "\n# a: ") + 1, "\n# a: "));
    free(base);
    free(varied);
}

/* A parameter the figure does not take is refused, from its declaration;
 * `all` takes only the parameters every figure has. */
Test(cmd_figure, inapplicable_parameter_is_refused) {
    char out[4096], err[4096], args[1024];
    snprintf(args, sizeof args, "omega --gates none --out '%s/na'", tmpdir);
    cr_expect_eq(run(NULL, args, out, sizeof out, err, sizeof err), 2);
    cr_expect(strstr(err, "--gates does not apply to figure 'omega'"), "%s", err);
    cr_expect_eq(count_lines(err), 1, "%s", err);
    snprintf(args, sizeof args, "all --a 0.1 --out '%s/na'", tmpdir);
    cr_expect_eq(run(NULL, args, out, sizeof out, err, sizeof err), 2);
    cr_expect(strstr(err, "--a does not apply to every figure"), "%s", err);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/na", tmpdir);
    cr_expect(access(dir, F_OK) != 0, "%s was created", dir);
}

/* Bad values are refused before anything is computed or written. */
Test(cmd_figure, bad_parameter_value_is_refused_before_computing) {
    const char *bad[][2] = {
        {"kappa --keys powerlaw:x", "figure kappa: --keys"},
        {"iterations --formats fp64,bogus", "unknown number format 'bogus'"},
        {"convergence --solvers cg,kalman", "'kalman' is not one of"},
        {"kappa --D 1", "--D: 1 is out of range"},
        {"iterations --a 0.1,0.2", "--a: takes one value"},
        {"omega --a 0", "--a: 0 is out of range"},
        {"iterations --formats bf16+fp32", "STATE+ITERATES pair"},
        {"kappa --gates sometimes", "figure kappa: --gates"},
        {"solvers --solvers bogus", "figure solvers: --solvers: 'bogus' is not"},
        {"precision --chunk 0", "--chunk: 0 is out of range"},
        {"solvers --iters 0", "figure solvers: --iters: 0 is out of range"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[4096], err[4096], args[1024], dir[600];
        snprintf(args, sizeof args, "%s --out '%s/bad%zu'", bad[i][0], tmpdir, i);
        cr_expect_eq(run(NULL, args, out, sizeof out, err, sizeof err), 2, "%s", bad[i][0]);
        cr_expect(strstr(err, bad[i][1]), "%s: %s", bad[i][0], err);
        snprintf(dir, sizeof dir, "%s/bad%zu", tmpdir, i);
        cr_expect(access(dir, F_OK) != 0, "%s: %s was created", bad[i][0], dir);
    }
}

/* `gka figure NAME --help` lists exactly that figure's parameters, with the
 * value of each tier. */
Test(cmd_figure, help_lists_the_figure_parameters) {
    char out[16384], err[4096];
    cr_assert_eq(run(NULL, "kappa --help", out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_expect(strstr(out, "usage: gka figure kappa"), "%s", out);
    cr_expect(strstr(out, "--keys") && strstr(out, "quick: iid,powerlaw:1,expdecay:8"), "%s", out);
    cr_expect(strstr(out, "--D ") && strstr(out, "quick: 64; full: 128"), "%s", out);
    cr_expect_null(strstr(out, "--a "), "%s", out);
    cr_expect_null(strstr(out, "--formats"), "%s", out);
    cr_assert_eq(run(NULL, "--out x iterations -h", out, sizeof out, err, sizeof err), 0);
    cr_expect(strstr(out, "--formats") && strstr(out, "fp64,fp32,fp16,bf16,e4m3"), "%s", out);
}

/* `gka figure NAME --help` goes on with the options of every figure, from
 * the option table, without the parameters of other figures. */
Test(cmd_figure, help_lists_the_general_options_after_the_parameters) {
    char out[16384], err[4096];
    cr_assert_eq(run(NULL, "kappa --help", out, sizeof out, err, sizeof err), 0, "%s", err);
    const char *general = strstr(out, "options of every figure:");
    cr_assert(general, "%s", out);
    const char *opts[] = {"--tier quick|full", "--seed S", "--threads N", "--images LIST",
                          "--out DIR",         "--quiet",  "--full"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        cr_expect(strstr(general, opts[i]), "%s missing:\n%s", opts[i], general);
    cr_expect_null(strstr(out, "gka figure --help"), "%s", out);
    cr_expect_null(strstr(general, "--chunk"), "%s", general);  /* not kappa's */
    cr_expect_null(strstr(general, "--ridges"), "%s", general); /* kappa's: listed above */
    cr_expect_null(strstr(general, "--trace"), "%s", general);
    cr_expect_null(strstr(general, "--list"), "%s", general);
    cr_expect(strstr(out, "--ridges") < general, "%s", out);
    cr_assert_eq(run(NULL, "trace --help", out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_expect(strstr(out, "--trace F"), "%s", out);
}

/* A spec with commas of its own is one item, and one CSV cell (its commas
 * written as ';'), so every row keeps its columns. */
Test(cmd_figure, spec_with_commas_is_one_item_and_one_cell) {
    char out[4096], err[4096], args[1024], path[1024], v[256];
    snprintf(args, sizeof args,
             "kappa --D 8 --T 64 --keys iid,lowrank:2,0.01 --gates gka:4,-6 --quiet --images none "
             "--out '%s/c'",
             tmpdir);
    cr_assert_eq(run(NULL, args, out, sizeof out, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/c/kappa/kappa.csv", tmpdir);
    char *csv = slurp(path);
    cr_expect_str_eq(meta_line(csv, "keys", v, sizeof v), "iid,lowrank:2,0.01");
    cr_expect_str_eq(meta_line(csv, "gates", v, sizeof v), "gka:4,-6");
    cr_expect(strstr(rows_of(csv), "lowrank:2;0.01,gka:4;-6,"), "%.300s", rows_of(csv));
    for (const char *row = rows_of(csv); *row; row = strchr(row, '\n') + 1) {
        int commas = 0;
        for (const char *p = row; *p && *p != '\n'; p++)
            commas += *p == ',';
        cr_assert_eq(commas, 10, "%.200s", row);
    }
    free(csv);
}

/* `gka figure NAME ARGS --D 4 --T 32` into tmpdir/SUB; the CSV's text. */
static char *tiny_figure(const char *name, const char *args, const char *sub) {
    char out[4096], err[4096], cmd[1024], path[1024];
    snprintf(cmd, sizeof cmd, "%s --D 4 --T 32 %s --threads 1 --quiet --images none --out '%s/%s'",
             name, args, tmpdir, sub);
    cr_assert_eq(run(NULL, cmd, out, sizeof out, err, sizeof err), 0, "%s: %s", cmd, err);
    snprintf(path, sizeof path, "%s/%s/%s/%s.csv", tmpdir, sub, name, name);
    return slurp(path);
}

/* The rows of `csv` whose solver cell (column 4 of the panel figures) is
 * `solver`, joined. */
static void panel_rows(const char *csv, const char *solver, char *buf, size_t size) {
    char pat[64];
    snprintf(pat, sizeof pat, ",%s,", solver);
    size_t n = 0;
    buf[0] = '\0';
    for (const char *row = rows_of(csv); *row; row = strchr(row, '\n') + 1) {
        const size_t len = strcspn(row, "\n");
        const char *hit = strstr(row, pat);
        if (hit && hit < row + len && n + len + 1 < size) {
            memcpy(buf + n, row, len + 1);
            n += len + 1;
            buf[n] = '\0';
        }
        if (!row[len]) break;
    }
}

/* precision: --formats and --ridges choose the panels, --chunk the chunk
 * size of the chunk form (and only its rows change); all three in the
 * metadata, the tier's values when none is given. */
Test(cmd_figure, precision_takes_formats_ridges_and_chunk) {
    char v[1024];
    char *base = tiny_figure("precision", "", "pr0");
    char *chosen = tiny_figure("precision", "--formats bf16 --ridges fixed:0.5", "pr1");
    char *chunked = tiny_figure("precision", "--formats bf16 --ridges fixed:0.5 --chunk 8", "pr2");
    cr_expect_str_eq(meta_line(base, "formats", v, sizeof v), "fp64,fp32,fp16,bf16,e4m3");
    cr_expect_str_eq(meta_line(base, "ridges", v, sizeof v), "adaptive:0.02,fixed:0.25,fixed:0.02");
    cr_expect_str_eq(meta_line(base, "chunk", v, sizeof v), "64");
    cr_expect_str_eq(meta_line(chosen, "formats", v, sizeof v), "bf16");
    cr_expect_str_eq(meta_line(chosen, "ridges", v, sizeof v), "fixed:0.5");
    cr_expect_str_eq(meta_line(chunked, "chunk", v, sizeof v), "8");
    cr_expect(strstr(meta_line(chunked, "solvers_note", v, sizeof v), "C=8,"), "%s", v);
    /* every row is a bf16 panel of the ridge given */
    for (const char *row = rows_of(chosen); *row; row = strchr(row, '\n') + 1)
        cr_assert(!strncmp(strchr(row, ',') + 1, "fixed:0.5,bf16,", 15), "%.100s", row);
    cr_expect(strstr(rows_of(base), ",adaptive:0.02,e4m3,"), "%.200s", rows_of(base));
    static char a[1 << 16], b[1 << 16];
    panel_rows(chosen, "chebyshev-chunk", a, sizeof a);
    panel_rows(chunked, "chebyshev-chunk", b, sizeof b);
    cr_expect(a[0] && strcmp(a, b) != 0, "C = 8 changed no chunk-form row:\n%.300s", a);
    panel_rows(chosen, "cg-token", a, sizeof a);
    panel_rows(chunked, "cg-token", b, sizeof b);
    cr_expect(a[0] && !strcmp(a, b), "the token form depends on C:\n%.300s\n%.300s", a, b);
    free(base);
    free(chosen);
    free(chunked);
}

/* trace (the same panel, synthetic stand-in): the same parameters; decay
 * ridges are refused (the chunk form has none). */
Test(cmd_figure, trace_takes_formats_ridges_and_chunk) {
    char v[256], out[4096], err[4096], args[1024];
    char *csv = tiny_figure("trace", "--formats fp16,e4m3 --ridges adaptive:0.1 --chunk 4", "tr1");
    cr_expect_str_eq(meta_line(csv, "formats", v, sizeof v), "fp16,e4m3");
    cr_expect_str_eq(meta_line(csv, "ridges", v, sizeof v), "adaptive:0.1");
    cr_expect_str_eq(meta_line(csv, "chunk", v, sizeof v), "4");
    cr_expect(strstr(rows_of(csv), "trace,adaptive:0.1,e4m3,chebyshev-chunk,"), "%.200s",
              rows_of(csv));
    cr_expect_null(strstr(rows_of(csv), ",bf16,"), "%.200s", rows_of(csv));
    free(csv);
    snprintf(args, sizeof args, "trace --ridges decay:0.1 --out '%s/tr2'", tmpdir);
    cr_expect_eq(run(NULL, args, out, sizeof out, err, sizeof err), 2);
    cr_expect(strstr(err, "figure trace: --ridges: 'decay:0.1'"), "%s", err);
}

/* kappa: --ridges chooses the ridges evaluated on every stream; an adaptive
 * ridge's bound (1+a)/a is in the metadata and in its rows. */
Test(cmd_figure, kappa_takes_ridges) {
    char v[256], out[4096], err[4096], args[1024];
    char *base = tiny_figure("kappa", "--keys iid --gates none", "ka0");
    char *varied = tiny_figure("kappa", "--keys iid --gates none --ridges adaptive:0.5", "ka1");
    cr_expect_str_eq(meta_line(base, "ridges", v, sizeof v), "fixed:0.25,fixed:0.02,adaptive:0.02");
    cr_expect_str_eq(meta_line(varied, "ridges", v, sizeof v), "adaptive:0.5");
    cr_expect_str_eq(meta_line(varied, "adaptive_bound", v, sizeof v), "adaptive:0.5: 3");
    cr_expect(strstr(rows_of(base), "iid,none,fixed,0.25,"), "%.200s", rows_of(base));
    for (const char *row = rows_of(varied); *row; row = strchr(row, '\n') + 1) {
        cr_assert(!strncmp(row, "iid,none,adaptive,0.5,", 22), "%.100s", row);
        /* columns kappa, bound: kappa <= (1+a)/a = 3 */
        double kappa = 0.0, bound = 0.0;
        const char *p = row;
        for (int col = 0; col < 5; col++)
            p = strchr(p, ',') + 1;
        cr_assert_eq(sscanf(p, "%lf,%lf", &kappa, &bound), 2, "%.100s", row);
        cr_expect(kappa <= bound && bound <= 3.0 + 1e-12, "%.100s", row);
    }
    free(base);
    free(varied);
    snprintf(args, sizeof args, "kappa --ridges decay:0.1 --out '%s/ka2'", tmpdir);
    cr_expect_eq(run(NULL, args, out, sizeof out, err, sizeof err), 2);
    cr_expect(strstr(err, "figure kappa: --ridges: 'decay:0.1'"), "%s", err);
}

/* The row of `csv` whose first cells are `prefix` ("" if none). */
static void row_with(const char *csv, const char *prefix, char *buf, size_t size) {
    buf[0] = '\0';
    for (const char *row = rows_of(csv); *row; row = strchr(row, '\n') + 1)
        if (!strncmp(row, prefix, strlen(prefix))) {
            snprintf(buf, size, "%.*s", (int)strcspn(row, "\n"), row);
            return;
        }
}

/* solvers: the table's rows (--formats), columns (--solvers), panels
 * (--ridges), the chunk regimes' C (--chunk) and r (--iters) are taken and
 * written into the metadata; the Kalman form is picked on the decay ridge
 * given, by the first format when fp64 is not among them. */
Test(cmd_figure, solvers_takes_formats_solvers_ridges_chunk_iters) {
    char v[512], a[512], b[512];
    const char *pick = "--formats bf16 --solvers cg-plain,kalman --ridges fixed:0.5,decay:0.5";
    char args[512];
    snprintf(args, sizeof args, "%s --chunk 8 --iters 2", pick);
    char *short_r = tiny_figure("solvers", args, "sv0");
    snprintf(args, sizeof args, "%s --chunk 8 --iters 30", pick);
    char *long_r = tiny_figure("solvers", args, "sv1");
    snprintf(args, sizeof args, "%s --iters 2", pick);
    char *big_c = tiny_figure("solvers", args, "sv2");
    cr_expect_str_eq(meta_line(short_r, "formats", v, sizeof v), "bf16");
    cr_expect_str_eq(meta_line(short_r, "solvers", v, sizeof v), "cg-plain,kalman");
    cr_expect_str_eq(meta_line(short_r, "ridges", v, sizeof v), "fixed:0.5,decay:0.5");
    cr_expect_str_eq(meta_line(short_r, "chunk", v, sizeof v), "8");
    cr_expect_str_eq(meta_line(short_r, "iters", v, sizeof v), "2");
    cr_expect_str_eq(meta_line(big_c, "chunk", v, sizeof v), "64");
    cr_expect(
        strstr(meta_line(short_r, "kalman_form", v, sizeof v), "bf16 worst error on decay:0.5"),
        "%s", v);
    cr_expect_eq(count_lines(rows_of(short_r)), 4 * 2 * 1 * 2, "%s", rows_of(short_r));
    /* indices are positions in the lists given (the plot places cells by them) */
    row_with(short_r, "token,decay:0.5,bf16,kalman,", a, sizeof a);
    cr_expect(strstr(a, ",0,1,0,1,ok,"), "%s", a);
    /* --iters reaches the token-form CG, --chunk the chunk form only */
    row_with(short_r, "token,fixed:0.5,bf16,cg-plain,", a, sizeof a);
    row_with(long_r, "token,fixed:0.5,bf16,cg-plain,", b, sizeof b);
    cr_expect(a[0] && strcmp(a, b) != 0, "r = 2 and r = 30 agree: %s", a);
    row_with(big_c, "token,fixed:0.5,bf16,cg-plain,", b, sizeof b);
    cr_expect_str_eq(a, b);
    row_with(short_r, "chunk-format-carry,fixed:0.5,bf16,cg-plain,", a, sizeof a);
    row_with(big_c, "chunk-format-carry,fixed:0.5,bf16,cg-plain,", b, sizeof b);
    cr_expect(a[0] && strcmp(a, b) != 0, "C = 8 and C = 64 agree: %s", a);
    free(short_r);
    free(long_r);
    free(big_c);
}

/* reversibility: --formats and --iters choose the formats and r the
 * divisors are recorded in; the rows are exactly scopes x formats x
 * quantities x r. */
Test(cmd_figure, reversibility_takes_formats_and_iters) {
    char v[256];
    char *base = tiny_figure("reversibility", "", "rv0");
    char *varied = tiny_figure("reversibility", "--formats fp16,e4m3 --iters 7", "rv1");
    cr_expect_str_eq(meta_line(base, "formats", v, sizeof v), "fp64,bf16");
    cr_expect_str_eq(meta_line(base, "iters", v, sizeof v), "50");
    cr_expect_str_eq(meta_line(varied, "formats", v, sizeof v), "fp16,e4m3");
    cr_expect_str_eq(meta_line(varied, "iters", v, sizeof v), "7");
    cr_expect_eq(count_lines(rows_of(base)), 2 * 2 * 5 * 50);
    cr_expect_eq(count_lines(rows_of(varied)), 2 * 2 * 5 * 7);
    cr_expect(strstr(rows_of(varied), "to_convergence,e4m3,cg_rr,7,"), "%.200s", rows_of(varied));
    cr_expect_null(strstr(rows_of(varied), ",bf16,"));
    cr_expect_null(strstr(rows_of(varied), ",cg_rr,8,"));
    free(base);
    free(varied);
}

/* --a for reversibility (the fixed ridge lambda = a, and so Chebyshev's
 * divisor band [omega* - 1, 1]) and for gradients (the adaptive ridge ratio):
 * one `a` metadata line each, and the data follow it. */
Test(cmd_figure, reversibility_and_gradients_take_a) {
    char v[256];
    char *base = tiny_figure("reversibility", "--iters 3", "ra0");
    char *varied = tiny_figure("reversibility", "--iters 3 --a 0.5", "ra1");
    cr_expect_str_eq(meta_line(base, "a", v, sizeof v), "0.02");
    cr_expect_str_eq(meta_line(varied, "a", v, sizeof v), "0.5");
    /* omega* - 1 for rho = 1 / (1 + 2a): 0.02 and 0.5 give different bands */
    cr_expect(strcmp(rows_of(base), rows_of(varied)) != 0);
    const char *last = strrchr(rows_of(varied), ',');
    cr_assert_not_null(last);
    double band = strtod(last + 1, NULL);
    double rho = 1.0 / (1.0 + 2.0 * 0.5);
    double omega_star = 2.0 / (1.0 + sqrt(1.0 - rho * rho));
    cr_expect(fabs(band - (omega_star - 1.0)) < 1e-15, "band_low %.17g vs %.17g", band,
              omega_star - 1.0);
    char *g0 =
        tiny_figure("gradients", "--formats fp32 --solvers cg --gates none --iters 2", "ga0");
    char *g1 = tiny_figure("gradients",
                           "--formats fp32 --solvers cg --gates none --iters 2 --a 0.3", "ga1");
    cr_expect_str_eq(meta_line(g1, "a", v, sizeof v), "0.29999999999999999");
    cr_expect_str_eq(meta_line(g1, "ridge", v, sizeof v), "adaptive:0.29999999999999999");
    cr_expect(strcmp(rows_of(g0), rows_of(g1)) != 0, "the ridge ratio changed nothing");
    free(base);
    free(varied);
    free(g0);
    free(g1);
}

/* gradients: --formats, --solvers, --gates (the gating column) and --iters
 * (the largest r: the quick tier's sparse set up to it, r itself included). */
Test(cmd_figure, gradients_takes_formats_solvers_gates_iters) {
    char v[256];
    char *csv = tiny_figure(
        "gradients", "--formats fp32 --solvers chebyshev --gates const:0.9 --iters 9", "gr1");
    cr_expect_str_eq(meta_line(csv, "formats", v, sizeof v), "fp32");
    cr_expect_str_eq(meta_line(csv, "solvers", v, sizeof v), "chebyshev");
    cr_expect_str_eq(meta_line(csv, "gates", v, sizeof v), "const:0.9");
    cr_expect_str_eq(meta_line(csv, "iters", v, sizeof v), "9");
    cr_expect_eq(count_lines(rows_of(csv)), 3 * 9, "%s", rows_of(csv));
    for (const char *row = rows_of(csv); *row; row = strchr(row, '\n') + 1)
        cr_assert(!strncmp(row, "const:0.9,fp32,chebyshev,", 25), "%.100s", row);
    cr_expect(strstr(rows_of(csv), "const:0.9,fp32,chebyshev,iterations,9,"), "%.300s",
              rows_of(csv));
    cr_expect_null(strstr(rows_of(csv), ",implicit,10,"));
    char *base = tiny_figure("gradients", "", "gr0");
    cr_expect_str_eq(meta_line(base, "gates", v, sizeof v), "none,gka");
    cr_expect(strstr(rows_of(base), "gka,bf16,cg,implicit,50,"), "%.300s", rows_of(base));
    free(base);
    free(csv);
}
