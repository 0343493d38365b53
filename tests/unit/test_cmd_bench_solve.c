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

/* Lists with empty items are refused before any timing (they were read as
 * fewer items, or "4,,8" as 4 and 8). */
Test(cmd_bench_solve, bad_lists_refused) {
    const struct {
        const char *args, *says;
    } bad[] = {
        {"bench solve --T 2 --repeat 1 --D ,", "--D: empty item in the list ','"},
        {"bench solve --T 2 --repeat 1 --D 4,,8", "--D: empty item in the list '4,,8'"},
        {"bench solve --T 2 --repeat 1 --D 4,", "--D: empty item in the list '4,'"},
        {"bench solve --T 2 --repeat 1 --solvers cg,", "--solvers: empty item in the list 'cg,'"},
        {"bench solve --T 2 --repeat 1 --solvers ,cg", "--solvers: empty item"},
        {"bench solve --T 2 --repeat 1 --solvers cg,,kalman", "--solvers: empty item"},
    };
    char out[8192];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq(prog_capture(bad[i].args, out, sizeof out), 2, "'%s' -> %s", bad[i].args, out);
        cr_expect(!strncmp(out, "gka: ", 5) && strstr(out, bad[i].says), "'%s': %s", bad[i].args,
                  out);
        cr_expect(!strstr(out, "microseconds"), "'%s' ran: %s", bad[i].args, out);
    }
    cr_expect_eq(prog_capture("bench solve --D=4,8 --T 2 --repeat 1 --iters 2 --solvers=cg", out,
                              sizeof out),
                 0, "%s", out);
    cr_expect(strstr(out, "    4 cg") && strstr(out, "    8 cg"), "%s", out);
}
