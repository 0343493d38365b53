/* gka solve end to end: CSV, summary, exit codes. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int run(const char *args, char *out, size_t n) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", GKA_PROGRAM, args);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    size_t len = fread(out, 1, n - 1, p);
    out[len] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static long count_lines(const char *path, char *first, size_t n) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    long c = 0;
    while (fgets(line, sizeof line, f)) {
        if (c == 0) snprintf(first, n, "%s", line);
        c++;
    }
    fclose(f);
    return c;
}

Test(cmd_solve, writes_csv_and_summary) {
    char out[8192], tmpl[] = "/tmp/gka_solve_XXXXXX", first[4096], args[1024];
    cr_assert(mkdtemp(tmpl));
    snprintf(args, sizeof args,
             "solve --solver chebyshev --format bf16 --accum fp32 --ridge adaptive:0.02 --gate gka "
             "--keys iid --D 16 --T 50 --iters 30 --seed 1 --every 10 --csv %s/out.csv "
             "--history %s/h.csv", tmpl, tmpl);
    cr_assert_eq(run(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "error     median") && strstr(out, "iteration_limit 50"), "%s", out);
    char path[1100];
    snprintf(path, sizeof path, "%s/out.csv", tmpl);
    cr_assert_eq(count_lines(path, first, sizeof first), 51);
    cr_assert(!strncmp(first, "t,err,res,kappa,", 16), "%s", first);
    snprintf(path, sizeof path, "%s/h.csv", tmpl);
    cr_assert_eq(count_lines(path, first, sizeof first), 1 + 50 * 31);
    snprintf(args, sizeof args, "rm -rf %s", tmpl);
    cr_assert_eq(system(args), 0);
}

Test(cmd_solve, chunk_form_and_kalman_run) {
    char out[8192];
    cr_assert_eq(run("solve --chunk 8 --format bf16 --D 8 --T 30", out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "chunk form"), "%s", out);
    cr_assert_eq(run("solve --solver kalman --variant joseph --ridge decay:0.5 --gate const:0.9 --D 8 --T 30", out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "kalman P"), "%s", out);
}

Test(cmd_solve, bad_input_exit_2) {
    char out[8192];
    const char *bad[] = {
        "solve --solver lanczos",       "solve --D 0",          "solve --D 1025",
        "solve --T 0",                  "solve --T 10000001",   "solve --ridge fixed:-1",
        "solve --format bf17",          "solve --accum sideways", "solve --keys nonsense",
        "solve --variant info",         "solve --solver cg --chunk 4", "solve --bogus",
        "solve --csv /nonexistent-dir/x.csv --T 4", "solve --keys /nonexistent.npy",
        "solve --iters",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(run(bad[i], out, sizeof out), 2, "'%s' -> %s", bad[i], out);
        cr_assert(!strncmp(out, "gka: ", 5), "'%s': %s", bad[i], out);
        cr_assert(strchr(out, '\n') == out + strlen(out) - 1, "'%s' not one line: %s", bad[i], out);
    }
}

Test(cmd_solve, solvers_lists_all) {
    char out[8192];
    cr_assert_eq(run("solvers", out, sizeof out), 0);
    const char *names[] = {"chebyshev", "cg", "gd", "agd", "cholesky", "kalman", "joseph", "sqrt"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) cr_assert(strstr(out, names[i]), "%s", names[i]);
    cr_assert_eq(run("solvers --nope", out, sizeof out), 2);
}

Test(cmd_solve, bench_solve_prints_table) {
    char out[8192];
    cr_assert_eq(run("bench solve --D 8 --T 4 --iters 5 --solvers chebyshev,cg", out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "chebyshev") && strstr(out, "native-f32") && strstr(out, "cg"), "%s", out);
    cr_assert_eq(run("bench solve --solvers nope", out, sizeof out), 2);
}
