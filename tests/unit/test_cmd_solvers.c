/* gka solvers: the listing and its exit codes. */
#include "program_testlib.h"
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

Test(cmd_solvers, solvers_lists_all) {
    char out[8192];
    cr_assert_eq(prog_capture("solvers", out, sizeof out), 0);
    const char *names[] = {"chebyshev", "cg", "gd", "agd", "cholesky", "kalman", "joseph", "sqrt"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        cr_assert(strstr(out, names[i]), "%s", names[i]);
    cr_assert_eq(prog_capture("solvers --nope", out, sizeof out), 2);
}
