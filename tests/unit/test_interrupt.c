/* Interrupted runs (issue 7): SIGINT to a running gka solve, gka figure or
 * gka sweep makes it stop at the next token / job / cell, exit nonzero, say
 * on stderr what was finished, and leave no partial output file and no
 * temporary *.tmp.* file. A second SIGINT while the first is being honoured
 * removes the registered temporary files and exits 130 at once. */
#include "program_testlib.h"

#include <errno.h>
#include <time.h>

static char dir[256];

static void setup(void) {
    prog_make_tmpdir(dir, sizeof dir, "interrupt");
    char p[512];
    snprintf(p, sizeof p, "%s/out", dir);
    cr_assert_eq(mkdir(p, 0755), 0);
}

static void teardown(void) {
    prog_remove_tree(dir);
}

TestSuite(interrupt, .init = setup, .fini = teardown, .timeout = 120);

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Wait until `sub` (relative to dir) holds an entry containing `part`, or the
 * process ended, up to `limit` seconds. Returns 1 if found. */
static int wait_for_entry(pid_t pid, const char *sub, const char *part, double limit) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, sub);
    for (double t = 0.0; t < limit; t += 0.02) {
        if (prog_count_entries(p, part) > 0) return 1;
        if (waitpid(pid, NULL, WNOHANG) != 0) return 0;
        sleep_s(0.02);
    }
    return 0;
}

/* Wait for the process to end within `limit` seconds, else kill it and fail. */
static void wait_end(pid_t pid, double limit, prog_result_t *r) {
    for (double t = 0.0; t < limit; t += 0.05) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) {
            /* reap done: rebuild the result from the status and the files */
            r->exited = WIFEXITED(st), r->code = r->exited ? WEXITSTATUS(st) : -1;
            r->signaled = WIFSIGNALED(st), r->sig = r->signaled ? WTERMSIG(st) : 0;
            char p[512];
            snprintf(p, sizeof p, "%s/.stderr", dir);
            prog_slurp(p, r->err, sizeof r->err);
            snprintf(p, sizeof p, "%s/.stdout", dir);
            prog_slurp(p, r->out, sizeof r->out);
            return;
        }
        sleep_s(0.05);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    cr_assert_fail("the program did not stop within %.0f s of SIGINT", limit);
}

static void expect_clean(const char *sub) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, sub);
    cr_expect_eq(prog_count_entries(p, ".tmp."), 0, "a temporary file is left in %s", sub);
}

Test(interrupt, solve_stops_and_removes_outputs) {
    pid_t pid =
        prog_spawn(dir, "solve --D 32 --T 100000 --csv out/x.csv --history out/h.csv", NULL);
    /* the temporary outputs exist once the handler is installed */
    cr_assert(wait_for_entry(pid, "out", ".tmp.", 30.0), "solve never opened its outputs");
    sleep_s(0.2);
    kill(pid, SIGINT);
    prog_result_t *r = malloc(sizeof *r);
    wait_end(pid, 30.0, r);
    cr_expect(r->exited, "killed by signal %d", r->sig);
    cr_expect_eq(r->code, 1, "exit %d: %s", r->code, r->err);
    cr_expect(strstr(r->err, "gka: run: interrupted at token "), "%s", r->err);
    cr_expect_eq(prog_lines(r->err), 1, "%s", r->err);
    char p[512];
    snprintf(p, sizeof p, "%s/out", dir);
    cr_expect_eq(prog_count_entries(p, NULL), 0, "outputs left after SIGINT");
    free(r);
}

Test(interrupt, figure_stops_between_jobs) {
    const char *env[] = {"SOURCE_DATE_EPOCH=1", "OMP_NUM_THREADS=1", NULL};
    pid_t pid =
        prog_spawn(dir, "figure kappa --full --images none --quiet --threads 1 --out out", env);
    cr_assert(wait_for_entry(pid, "out", "kappa", 30.0), "figure never started");
    sleep_s(0.3);
    kill(pid, SIGINT);
    prog_result_t *r = malloc(sizeof *r);
    wait_end(pid, 60.0, r);
    cr_expect(r->exited, "killed by signal %d", r->sig);
    cr_expect_eq(r->code, 1, "exit %d: %s", r->code, r->err);
    cr_expect(strstr(r->err, "gka: interrupted; nothing half-written"), "%s", r->err);
    char p[512];
    snprintf(p, sizeof p, "%s/out/kappa", dir);
    cr_expect_eq(prog_count_entries(p, NULL), 0, "figure files left after SIGINT");
    expect_clean("out");
    free(r);
}

/* A second SIGINT while a long token is computed: temporary files removed,
 * exit 130 at once. The token must outlast both signals on any machine, so
 * its reference is MPFR Cholesky at D = 1024 (seconds per token, D^3 MPFR
 * operations); an exact-kappa token of 50 ms raced the second signal on a
 * fast CI machine and the run ended after the first. */
Test(interrupt, second_sigint_exits_130) {
    pid_t pid = prog_spawn(dir, "solve --D 1024 --T 2 --every 1 --reference mpfr:256 --csv out/x.csv", NULL);
    cr_assert(wait_for_entry(pid, "out", ".tmp.", 30.0), "solve never opened its output");
    sleep_s(0.1);
    kill(pid, SIGINT);
    sleep_s(0.1);
    kill(pid, SIGINT);
    prog_result_t *r = malloc(sizeof *r);
    wait_end(pid, 10.0, r);
    cr_expect(r->exited, "killed by signal %d", r->sig);
    cr_expect_eq(r->code, 130, "exit %d: %s", r->code, r->err);
    cr_expect(strstr(r->err, "gka: interrupted again; temporary files removed"), "%s", r->err);
    char p[512];
    snprintf(p, sizeof p, "%s/out", dir);
    cr_expect_eq(prog_count_entries(p, NULL), 0, "outputs left after the second SIGINT");
    free(r);
}

Test(interrupt, sweep_says_cells_finished) {
    char p[512];
    snprintf(p, sizeof p, "%s/g.toml", dir);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs("D = 32\nT = 400\nevery = 100\nseed = [1", f);
    for (int i = 2; i <= 200; i++)
        fprintf(f, ",%d", i);
    fputs("]\n", f);
    fclose(f);
    pid_t pid = prog_spawn(dir, "sweep g.toml --quiet --threads 1 --out out/s.csv", NULL);
    cr_assert(wait_for_entry(pid, "out", "journal", 30.0), "sweep never started");
    sleep_s(0.5);
    kill(pid, SIGINT);
    prog_result_t *r = malloc(sizeof *r);
    wait_end(pid, 30.0, r);
    cr_expect(r->exited, "killed by signal %d", r->sig);
    cr_expect(r->code != 0, "exit 0 after SIGINT");
    cr_expect(strstr(r->err, "gka: sweep interrupted: ") &&
                  strstr(r->err, " of 200 cells finished"),
              "%s", r->err);
    snprintf(p, sizeof p, "%s/out/s.csv", dir);
    cr_expect(!prog_exists(p), "partial sweep CSV left");
    snprintf(p, sizeof p, "%s/out/s.csv.journal", dir);
    cr_expect(prog_exists(p), "the journal (what finished) is kept for --resume");
    /* the count is of cells finished and journalled, not of the cell cut off
     * by the signal (issue 14.11) */
    long said = -1, blocks = 0;
    const char *m = strstr(r->err, "gka: sweep interrupted: ");
    cr_assert(m && sscanf(m, "gka: sweep interrupted: %ld of", &said) == 1, "%s", r->err);
    char *j = prog_read_file(p, NULL);
    cr_assert_not_null(j);
    for (const char *q = j; (q = strstr(q, "\n@block ")); q++)
        blocks++;
    free(j);
    cr_expect_eq(said, blocks, "message says %ld finished, the journal holds %ld", said, blocks);
    cr_expect_null(strstr(r->err, "failed: interrupted"),
                   "an interrupted cell reported as failed: %s", r->err);
    expect_clean("out");
    free(r);
}
