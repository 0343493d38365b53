/* gka sweep end to end: the same bytes from one process, two threads and two
 * MPI ranks; failed cells reported and listed; --resume skips journalled
 * cells and reproduces the same outputs. Runs the built program. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[256];

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/gka_sweep_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static void write_file(const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* Run a shell command in the test directory; returns the exit status. */
static int run(const char *fmt, const char *arg) {
    char cmd[2048], inner[1536];
    snprintf(inner, sizeof inner, fmt, arg);
    snprintf(cmd, sizeof cmd, "cd '%s' && %s", dir, inner);
    int st = system(cmd);
    cr_assert(WIFEXITED(st), "command crashed: %s", cmd);
    return WEXITSTATUS(st);
}

/* Remove the lines of s that start with prefix (in place). */
static void drop_lines(char *s, const char *prefix) {
    size_t n = strlen(prefix), w = 0;
    for (size_t r = 0; s[r];) {
        size_t e = r + strcspn(s + r, "\n");
        if (s[e]) e++;
        if (strncmp(s + r, prefix, n)) memmove(s + w, s + r, e - r), w += e - r;
        r = e;
    }
    s[w] = '\0';
}

/* Same content, but for the provenance lines that name the run itself: its
 * command line and its date (experiments/csvmeta.c). */
static void assert_same_file(const char *a, const char *b) {
    char *x = read_file(a), *y = read_file(b);
    cr_assert_not_null(x, "%s missing", a);
    cr_assert_not_null(y, "%s missing", b);
    for (int k = 0; k < 2; k++) {
        drop_lines(k ? y : x, "# command_line: ");
        drop_lines(k ? y : x, "# date_utc: ");
    }
    cr_assert_str_eq(x, y, "%s and %s differ", a, b);
    free(x);
    free(y);
}

/* Open MPI's own start-up allocations are never freed; under the sanitizer
 * build LeakSanitizer would report them, so the MPI runs (only) skip leak
 * detection. The one-process runs above keep it. */
#define MPIRUN                                                                                     \
    "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "                                   \
    "OMPI_MCA_rmaps_base_oversubscribe=1 ASAN_OPTIONS=detect_leaks=0 mpirun -np 2 "

static const char grid[] = "name = \"t\"\n"
                           "solver = [\"chebyshev\", \"cg\", \"kalman\"]\n"
                           "format = [\"fp64\", \"bf16\"]\n"
                           "ridge = [\"adaptive:0.02\", \"fixed:0.25\"]\n"
                           "keys = [\"iid\", \"powerlaw:1\"]\n"
                           "D = 8\nT = 40\nseed = [1, 2]\nevery = 10\n";

TestSuite(sweep, .init = setup, .fini = teardown, .timeout = 240);

Test(sweep, threads_and_processes_agree) {
    write_file("g.toml", grid);
    cr_assert_eq(run("%s sweep g.toml --out a.csv --quiet >/dev/null", GKA_PROGRAM), 0);
    cr_assert_eq(run("%s sweep g.toml --out b.csv --quiet --threads 2 >/dev/null", GKA_PROGRAM), 0);
    assert_same_file("a.csv", "b.csv");
    assert_same_file("a.csv.summary.csv", "b.csv.summary.csv");
    char *rows = read_file("a.csv");
    /* 48 cells x 4 reported tokens (t = 9, 19, 29, 39) */
    /* the header line first, then '#' lines, then the rows */
    cr_assert(!strncmp(rows, "cell,", 5), "%.80s", rows);
    long n = 0;
    for (char *p = rows; *p; p = strchr(p, '\n') + 1)
        n += *p != '#';
    cr_assert_eq(n - 1, 48 * 4, "rows: %ld", n - 1);
    cr_assert_null(strstr(rows, "nan,nan,nan"), "a row without results");
    free(rows);
}

Test(sweep, mpi_two_ranks_agree) {
    if (system("command -v mpirun >/dev/null 2>&1") != 0) {
        cr_skip_test("mpirun not installed: MPI sweep not checked here");
    }
    write_file("g.toml", grid);
    cr_assert_eq(run("%s sweep g.toml --out a.csv --quiet >/dev/null", GKA_PROGRAM), 0);
    cr_assert_eq(run(MPIRUN "%s sweep g.toml "
                            "--out m.csv --quiet >/dev/null 2>m.err",
                     GKA_PROGRAM),
                 0, "mpirun failed: %s", read_file("m.err"));
    assert_same_file("a.csv", "m.csv");
    assert_same_file("a.csv.summary.csv", "m.csv.summary.csv");
    /* rank 0 only hands out cells and writes; rank 1 runs them all */
    cr_assert_eq(run(MPIRUN "%s sweep g.toml "
                            "--out d.csv --quiet --dedicated-root >/dev/null 2>d.err",
                     GKA_PROGRAM),
                 0, "mpirun --dedicated-root failed: %s", read_file("d.err"));
    assert_same_file("a.csv", "d.csv");
}

Test(sweep, bad_combinations_are_refused_before_any_cell) {
    /* cg has no variant "joseph": the grid is refused whole (exit 2), before
     * the kalman cells run, and no output (not even a journal) is made. */
    write_file("f.toml",
               "solver = [\"cg\", \"kalman\"]\nvariant = \"joseph\"\nD = 6\nT = 20\nevery = 5\n");
    cr_assert_eq(run("%s sweep f.toml --out f.csv --quiet >/dev/null 2>f.err", GKA_PROGRAM), 2);
    char *err = read_file("f.err");
    cr_assert(strstr(err, "f.toml: cell 0 (solver = cg, variant = joseph): solver cg: unknown "
                          "variant 'joseph'") != NULL,
              "stderr: %s", err);
    free(err);
    cr_assert_null(read_file("f.csv"));
    cr_assert_null(read_file("f.csv.journal"));
}

/* Issue 14.3: a second sweep with the same --out is refused while the first
 * runs (the journal is locked), and the first still completes correctly. */
Test(sweep, second_run_on_the_same_output_is_refused) {
    write_file("g.toml", grid);
    write_file("slow.toml", "D = 48\nT = 3000\nevery = 1000\nseed = [1, 2, 3, 4, 5, 6]\n");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && %s sweep slow.toml --out s.csv --quiet >/dev/null 2>&1 &",
             dir, GKA_PROGRAM);
    cr_assert_eq(system(cmd), 0);
    /* the journal exists (and is locked) from the start of the first run */
    const struct timespec tick = {0, 20000000};
    char *journal = NULL;
    for (int i = 0; i < 500 && !(journal = read_file("s.csv.journal")); i++)
        nanosleep(&tick, NULL);
    free(journal);
    cr_assert_eq(run("%s sweep slow.toml --out s.csv --quiet >/dev/null 2>b.err", GKA_PROGRAM), 2);
    char *err = read_file("b.err");
    cr_assert(strstr(err, "s.csv.journal: in use by another run (process ") != NULL, "%s", err);
    free(err);
    cr_assert_eq(run("while [ ! -e s.csv.summary.csv ]; do sleep 0.1; done; wait %s", ""), 0);
    cr_assert_eq(run("%s sweep slow.toml --out r.csv --quiet >/dev/null", GKA_PROGRAM), 0);
    assert_same_file("s.csv", "r.csv");
}

/* Issue 14.1/5/8 through the program: a damaged journal is reported by cell
 * and those cells run again; the outputs equal an uninterrupted run's. */
Test(sweep, damaged_journal_resumes_to_the_same_bytes) {
    write_file("g.toml", grid);
    cr_assert_eq(run("%s sweep g.toml --out a.csv --quiet >/dev/null", GKA_PROGRAM), 0);
    char *j = read_file("a.csv.journal");
    /* alter a digit inside cell 3's entry and cut the last entry short */
    char *p = strstr(j, "\n@block 3 ");
    cr_assert_not_null(p);
    p = strstr(p + 1, "\n3,");
    cr_assert_not_null(p);
    p = strchr(p + 1, '.');
    p[1] = p[1] == '9' ? '8' : '9';
    j[strlen(j) - 40] = '\0';
    write_file("r.csv.journal", j);
    free(j);
    cr_assert_eq(
        run("%s sweep g.toml --out r.csv --resume --quiet >/dev/null 2>r.err", GKA_PROGRAM), 0);
    char *err = read_file("r.err");
    cr_assert(strstr(err, "r.csv.journal: cell 3: checksum mismatch") != NULL, "%s", err);
    cr_assert(strstr(err, "cut short") != NULL, "%s", err);
    free(err);
    assert_same_file("a.csv", "r.csv");
    assert_same_file("a.csv.summary.csv", "r.csv.summary.csv");
}

Test(sweep, mpi_usage_error_is_printed_once) {
    if (system("command -v mpirun >/dev/null 2>&1") != 0)
        cr_skip_test("mpirun not installed: MPI messages not checked here");
    write_file("bad.toml", "D = 0\n");
    run(MPIRUN "%s sweep bad.toml --out m.csv --quiet >/dev/null 2>m.err", GKA_PROGRAM);
    run(MPIRUN "%s sweep bad.toml --bogus >/dev/null 2>o.err", GKA_PROGRAM);
    const char *files[] = {"m.err", "o.err"};
    for (int f = 0; f < 2; f++) {
        char *err = read_file(files[f]);
        int n = 0;
        for (char *q = err; (q = strstr(q, "gka: ")); q++)
            n++;
        cr_assert_eq(n, 1, "%s: %d error lines: %s", files[f], n, err);
        free(err);
    }
}

Test(sweep, resume_skips_journalled_cells) {
    write_file("g.toml", grid);
    cr_assert_eq(run("%s sweep g.toml --out a.csv --quiet >/dev/null", GKA_PROGRAM), 0);
    /* A run that "crashed": keep the journal's first 40% and half a block. */
    char *j = read_file("a.csv.journal");
    size_t keep = strlen(j) * 2 / 5;
    write_file("r.csv.journal", "");
    char path[512];
    snprintf(path, sizeof path, "%s/r.csv.journal", dir);
    FILE *f = fopen(path, "wb");
    fwrite(j, 1, keep, f);
    fclose(f);
    free(j);
    cr_assert_eq(run("%s sweep g.toml --out r.csv --resume >/dev/null 2>r.err", GKA_PROGRAM), 0);
    char *err = read_file("r.err");
    long to_run = -1, already = -1;
    const char *p = strstr(err, "cells, ");
    cr_assert_not_null(p, "%s", err);
    cr_assert_eq(sscanf(p, "cells, %ld to run (%ld already", &to_run, &already), 2, "%s", err);
    cr_assert(already > 0 && to_run < 48 && to_run + already == 48, "%s", err);
    free(err);
    assert_same_file("a.csv", "r.csv");
    assert_same_file("a.csv.summary.csv", "r.csv.summary.csv");
    /* A journal from another grid is refused. */
    write_file("h.toml", "D = 8\nT = 40\n");
    cr_assert_eq(run("%s sweep h.toml --out r.csv --resume >/dev/null 2>h.err", GKA_PROGRAM), 2);
    char *herr = read_file("h.err");
    cr_assert(strstr(herr, "another grid") != NULL, "%s", herr);
    free(herr);
}

Test(sweep, bad_usage) {
    cr_assert_eq(run("%s sweep >/dev/null 2>&1", GKA_PROGRAM), 2);
    cr_assert_eq(run("%s sweep nosuch.toml 2>e.txt", GKA_PROGRAM), 2);
    char *e = read_file("e.txt");
    cr_assert(strstr(e, "nosuch.toml") != NULL, "%s", e);
    free(e);
    write_file("g.toml", "D = 8\n");
    cr_assert_eq(run("%s sweep g.toml --bogus 2>/dev/null", GKA_PROGRAM), 2);
    cr_assert_eq(run("%s sweep g.toml --threads 0 2>/dev/null", GKA_PROGRAM), 2);
    /* unwritable output: refused before any cell runs (exit 2) */
    cr_assert_eq(
        run("%s sweep g.toml --quiet --out /nonexistent/x.csv >/dev/null 2>&1", GKA_PROGRAM), 2);
}
