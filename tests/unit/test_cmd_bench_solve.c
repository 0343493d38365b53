/* gka bench solve: the table runs and bad options exit 2. */
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


Test(cmd_bench_solve, bench_solve_prints_table) {
    char out[8192];
    cr_assert_eq(run("bench solve --D 8 --T 4 --iters 5 --solvers chebyshev,cg", out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "chebyshev") && strstr(out, "native-f32") && strstr(out, "cg"), "%s", out);
    cr_assert_eq(run("bench solve --solvers nope", out, sizeof out), 2);
}
