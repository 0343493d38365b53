/* experiments/csvmeta.c: one provenance header for every CSV gka writes.
 * Layout (header line first, then the provenance keys, then the producer's
 * keys, then rows), each key once, the command line quoted on one line,
 * SOURCE_DATE_EPOCH honoured in range and refused outside it (issue 14
 * point 9: 9000000000000000000 printed uninitialised memory), and the CSVs of
 * gka solve and gka grad read by numpy.genfromtxt(names=True, comments='#')
 * where python3 + numpy are present. */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700 /* putenv, in program_testlib.h */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gka_figure.h"
#include "program_testlib.h"

static char dir[256];

static void setup(void) {
    prog_make_tmpdir(dir, sizeof dir, "csvmeta");
    unsetenv("SOURCE_DATE_EPOCH");
}

static void teardown(void) {
    prog_remove_tree(dir);
    unsetenv("SOURCE_DATE_EPOCH");
}

TestSuite(csvmeta, .init = setup, .fini = teardown, .timeout = 120);

static void demo(gka_csv_t *c) {
    gka_csv_init(c);
    gka_csv_meta(c, "command", "demo");
    gka_csv_meta(c, "a", "%.17g", 0.1);
    gka_csv_header(c, "t,name,x");
    gka_csv_row(c, "%d,%s,%.17g", 0, "cg", 1.0 / 3.0);
    gka_csv_row(c, "%d,%s,%.17g", 1, "chebyshev", 2.5e-300);
}

static char *write_demo(const char *leaf, gka_status_t want) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, leaf);
    gka_csv_t c;
    demo(&c);
    gka_status_t st = gka_csv_write(&c, path);
    gka_csv_free(&c);
    cr_assert_eq(st, want, "%s", gka_error_message());
    return st == GKA_OK ? prog_read_file(path, NULL) : NULL;
}

Test(csvmeta, layout_header_first_then_provenance_then_parameters) {
    char *argv[] = {"gka", "solve", "--keys", "my keys.npy", "--ridge", "it's\nodd"};
    gka_csv_set_command_line(6, argv);
    setenv("SOURCE_DATE_EPOCH", "86400", 1);
    char *s = write_demo("a.csv", GKA_OK);
    const char *want = "t,name,x\n"
                       "# gka_version: ";
    cr_assert(!strncmp(s, want, strlen(want)), "%s", s);
    const char *keys[] = {
        "# gka_version: ",  "# git_commit: ", "# compiler: ", "# c_flags: ", "# build_type: ",
        "# command_line: ", "# date_utc: ",   "# command: ",  "# a: "};
    const char *at = s;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const char *p = strstr(at, keys[k]);
        cr_assert(p, "'%s' missing or out of order in\n%s", keys[k], s);
        at = p;
    }
    cr_assert(
        strstr(s, "# command_line: gka solve --keys 'my keys.npy' --ridge 'it'\\''s\\nodd'\n"),
        "%s", s);
    cr_assert(strstr(s, "# date_utc: 1970-01-02T00:00:00Z\n"), "%s", s);
    cr_assert(strstr(s, "# a: 0.10000000000000001\n"), "%s", s);
    cr_assert(strstr(s, "\n# a: 0.10000000000000001\n0,cg,0.33333333333333331\n"), "%s", s);
    free(s);
    /* read back: metadata after the header is metadata, cells are cells */
    char path[512];
    snprintf(path, sizeof path, "%s/a.csv", dir);
    gka_csv_doc_t d;
    cr_assert_eq(gka_csv_read(path, &d), GKA_OK, "%s", gka_error_message());
    cr_assert_eq(d.ncols, 3);
    cr_assert_eq(d.nrows, 2);
    cr_assert_str_eq(gka_csv_doc_meta(&d, "command"), "demo");
    cr_assert(gka_csv_doc_num(&d, 0, 2) == 1.0 / 3.0);
    cr_assert(gka_csv_doc_num(&d, 1, 2) == 2.5e-300);
    gka_csv_doc_free(&d);
    gka_csv_set_command_line(0, NULL);
}

Test(csvmeta, a_key_given_twice_is_refused) {
    char path[512];
    snprintf(path, sizeof path, "%s/dup.csv", dir);
    gka_csv_t c;
    demo(&c);
    gka_csv_meta(&c, "formats", "bf16 fp16");
    gka_csv_meta(&c, "formats", "pdf,png"); /* the old figure CSVs' bug */
    cr_assert_eq(gka_csv_write(&c, path), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "metadata key 'formats' given twice"), "%s",
              gka_error_message());
    cr_assert_neq(access(path, F_OK), 0, "a file was left");
    gka_csv_free(&c);
    /* a producer key that repeats a provenance key */
    demo(&c);
    gka_csv_meta(&c, "compiler", "mine");
    cr_assert_eq(gka_csv_write(&c, path), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "'compiler'"), "%s", gka_error_message());
    gka_csv_free(&c);
}

Test(csvmeta, source_date_epoch_in_range_and_refused_outside) {
    char date[64];
    const struct {
        const char *v;
        const char *want; /* NULL: refused */
    } cases[] = {
        {"0", "1970-01-01T00:00:00Z"},
        {"1700000000", "2023-11-14T22:13:20Z"},
        {"253402300799", "9999-12-31T23:59:59Z"},
        {"253402300800", NULL},
        {"9000000000000000000", NULL}, /* issue 14 point 9 */
        {"99999999999999999999", NULL},
        {"-1", NULL},
        {"12abc", NULL},
        {" 5", NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        setenv("SOURCE_DATE_EPOCH", cases[k].v, 1);
        gka_status_t st = gka_csv_date(date, sizeof date);
        if (cases[k].want) {
            cr_assert_eq(st, GKA_OK, "%s: %s", cases[k].v, gka_error_message());
            cr_assert_str_eq(date, cases[k].want);
        } else {
            cr_assert_eq(st, GKA_EINVAL, "'%s' accepted as %s", cases[k].v, date);
            cr_assert(strstr(gka_error_message(), "SOURCE_DATE_EPOCH"), "%s", gka_error_message());
        }
    }
    /* a refused date fails the write: no file with a garbage date */
    setenv("SOURCE_DATE_EPOCH", "9000000000000000000", 1);
    cr_assert_null(write_demo("date.csv", GKA_EINVAL));
    cr_assert(strstr(gka_error_message(), "date.csv"), "%s", gka_error_message());
    /* empty means unset: the current date */
    setenv("SOURCE_DATE_EPOCH", "", 1);
    cr_assert_eq(gka_csv_date(date, sizeof date), GKA_OK);
    cr_assert_eq(strlen(date), 20);
}

Test(csvmeta, programs_refuse_a_bad_date_before_writing) {
    char args[1024], out[4096];
    snprintf(args, sizeof args,
             "cd %s && SOURCE_DATE_EPOCH=9000000000000000000 %s solve --D 4 --T 5 --csv s.csv 2>&1",
             dir, GKA_PROGRAM);
    FILE *p = popen(args, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "exit %d: %s", WEXITSTATUS(st), out);
    cr_assert(strstr(out, "SOURCE_DATE_EPOCH='9000000000000000000' is not a date"), "%s", out);
    cr_assert_eq(prog_count_entries(dir, NULL), 0, "files left");
    /* a figure refuses before it computes: nothing in its output directory */
    snprintf(args, sizeof args,
             "cd %s && SOURCE_DATE_EPOCH=-5 %s figure kappa --quick --images none --out f 2>&1",
             dir, GKA_PROGRAM);
    p = popen(args, "r");
    cr_assert_not_null(p);
    n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    st = pclose(p);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0, "exit 0: %s", out);
    cr_assert(strstr(out, "SOURCE_DATE_EPOCH='-5' is not a date"), "%s", out);
    char fdir[400];
    snprintf(fdir, sizeof fdir, "%s/f", dir);
    cr_assert_eq(prog_count_entries(fdir, NULL), 0, "the figure left files in %s", fdir);
}

/* gka solve and gka grad CSVs: the provenance and every parameter, 17 digits,
 * and numpy.genfromtxt(names=True, comments='#') reads them. */
Test(csvmeta, solve_and_grad_csvs_carry_provenance_and_load_in_numpy) {
    char args[2048], out[8192];
    snprintf(args, sizeof args,
             "solve --format bf16 --D 8 --T 20 --gate gka --csv %s/s.csv --history %s/h.csv", dir,
             dir);
    cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s", out);
    snprintf(args, sizeof args, "grad --format bf16 --D 8 --T 20 --csv %s/g.csv", dir);
    cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s", out);
    snprintf(args, sizeof args, "figure kappa --quick --images none --quiet --out %s/fig", dir);
    cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s", out);
    const char *files[] = {"s.csv", "h.csv", "g.csv"};
    const char *keys[] = {"gka_version",  "git_commit", "compiler", "c_flags", "build_type",
                          "command_line", "date_utc",   "command",  "D",       "T",
                          "seed",         "ridge"};
    for (int f = 0; f < 3; f++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        gka_csv_doc_t d;
        cr_assert_eq(gka_csv_read(path, &d), GKA_OK, "%s", gka_error_message());
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            cr_assert_not_null(gka_csv_doc_meta(&d, keys[k]), "%s lacks %s", files[f], keys[k]);
        cr_assert(strstr(gka_csv_doc_meta(&d, "command_line"), files[f]));
        cr_assert_gt(d.nrows, 19);
        gka_csv_doc_free(&d);
    }
    char *s = prog_read_file(strcat(strcpy(args, dir), "/s.csv"), NULL);
    cr_assert(strstr(s, "# format: bf16\n") && strstr(s, "# ridge: adaptive:0.02"), "%s", s);
    /* rows at 17 significant digits: the err of token 1 has 17 digits */
    const char *row1 = strstr(s, "\n1,");
    cr_assert_not_null(row1);
    const char *c = row1 + 3;
    size_t digits = 0;
    for (; *c && *c != ',' && *c != 'e'; c++)
        digits += (*c >= '0' && *c <= '9');
    cr_assert_geq(digits, 16, "err of token 1 not at %%.17g: %.40s", row1 + 1);
    free(s);
    if (system("python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        cr_log_warn("python3 with numpy not available: numpy.genfromtxt check skipped");
        return;
    }
    snprintf(
        args, sizeof args,
        "cd %s && python3 -c \"\n"
        "import numpy as np\n"
        "for f, cols, n in (('s.csv', ('t', 'err', 'reason'), 20), "
        "('h.csv', ('t', 'iter', 'res'), 20 * 31), ('g.csv', ('t', 'err_dq', 'dg_ref'), 20)):\n"
        "    a = np.genfromtxt(f, delimiter=',', names=True, comments='#', dtype=None, "
        "encoding='utf-8')\n"
        "    assert all(c in a.dtype.names for c in cols), (f, a.dtype.names)\n"
        "    assert a.shape == (n,), (f, a.shape)\n"
        "    assert (a['t'][:3] == [0, 0 if f == 'h.csv' else 1, 0 if f == 'h.csv' else 2]).all()\n"
        "k = np.genfromtxt('fig/kappa/kappa.csv', delimiter=',', names=True, comments='#', "
        "dtype=None, encoding='utf-8')\n"
        "assert 'kappa' in k.dtype.names and 'ridge' in k.dtype.names and len(k) > 100\n"
        "assert np.isfinite(k['kappa']).all()\n"
        "s = np.genfromtxt('s.csv', delimiter=',', names=True, comments='#', dtype=None, "
        "encoding='utf-8')\n"
        "assert np.isfinite(s['err']).all() and (s['err'] > 0).all()\n"
        "\"",
        dir);
    cr_assert_eq(system(args), 0, "numpy.genfromtxt could not read the CSVs");
}
