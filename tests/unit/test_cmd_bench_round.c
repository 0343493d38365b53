/* gka bench round: a row per array type (f32: gka_round_array_f32, f64:
 * gka_round_array), format, mode and thread count, each with its memcpy
 * figure and a ratio. */
#include "program_testlib.h"
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* The row of `array` `format` `mode` at one thread: its ratio, or -1. */
static double row_ratio(const char *out, const char *array, const char *format, const char *mode) {
    for (const char *p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        char a[8], f[16], m[8], size[16];
        int threads = 0;
        double mv = 0, gbs = 0, copy = 0, ratio = 0;
        if (sscanf(p, "%7s %15s %7s %15s %d %lf %lf %lf %lf", a, f, m, size, &threads, &mv, &gbs,
                   &copy, &ratio) == 9 &&
            !strcmp(a, array) && !strcmp(f, format) && !strcmp(m, mode) && threads == 1)
            return ratio;
    }
    return -1;
}

Test(cmd_bench_round, f32_and_f64_rows) {
    char out[16384];
    cr_assert_eq(prog_capture("bench round --sizes 4K --reps 1 --formats bf16,e4m3 --modes ne,tz "
                              "--threads 1",
                              out, sizeof out),
                 0, "%s", out);
    const char *arrays[] = {"f32", "f64"}, *formats[] = {"bf16", "e4m3"}, *modes[] = {"ne", "tz"};
    for (int a = 0; a < 2; a++)
        for (int f = 0; f < 2; f++)
            for (int m = 0; m < 2; m++)
                cr_expect_gt(row_ratio(out, arrays[a], formats[f], modes[m]), 0.0,
                             "no %s %s %s row: %s", arrays[a], formats[f], modes[m], out);
    cr_expect(strstr(out, "gka_round_array (double"), "%s", out);
}
