/* gka bench solve: the table runs and bad options exit 2. */
#include "program_testlib.h"
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

Test(cmd_bench_solve, bench_solve_prints_table) {
    char out[8192];
    cr_assert_eq(
        prog_capture("bench solve --D 8 --T 4 --iters 5 --solvers chebyshev,cg", out, sizeof out),
        0, "%s", out);
    cr_assert(strstr(out, "chebyshev") && strstr(out, "native-f32") && strstr(out, "cg"), "%s",
              out);
    cr_assert_eq(prog_capture("bench solve --solvers nope", out, sizeof out), 2);
}
