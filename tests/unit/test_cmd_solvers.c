/* gka solvers: the listing and its exit codes. */
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


Test(cmd_solvers, solvers_lists_all) {
    char out[8192];
    cr_assert_eq(run("solvers", out, sizeof out), 0);
    const char *names[] = {"chebyshev", "cg", "gd", "agd", "cholesky", "kalman", "joseph", "sqrt"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) cr_assert(strstr(out, names[i]), "%s", names[i]);
    cr_assert_eq(run("solvers --nope", out, sizeof out), 2);
}

