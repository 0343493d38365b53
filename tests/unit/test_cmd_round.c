/* gka round (cli/cmd_round.c): the header's overflow behaviour comes from
 * each format's own rule (gka_overflow_value), not a fixed string (it used
 * to say "overflow to inf" for e4m3, whose overflow is NaN); an invalid
 * --mode is named as such. */
#include "program_testlib.h"

#include <math.h>

#include "gka_precision.h"

static void header_of(const char *args, char *line, size_t n) {
    static char out[PROG_TEXT_MAX];
    cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s: %s", args, out);
    const char *nl = strchr(out, '\n');
    cr_assert(nl && out[0] == '#', "%s", out);
    const size_t len = (size_t)(nl - out) < n - 1 ? (size_t)(nl - out) : n - 1;
    memcpy(line, out, len);
    line[len] = '\0';
}

Test(cmd_round, header_overflow_from_the_format) {
    const struct {
        const char *args, *want;
    } cases[] = {
        {"round --format e4m3 1", "overflow to nan (e4m3 has no infinities)"},
        {"round --format e4m3 --saturate 1", "saturating, overflow to +-max finite (448)"},
        {"round --format fp16 1", "overflow to +-inf"},
        {"round --format bf16 --mode tz 1", "overflow to +-max finite (3.3895313892515355e+38)"},
        {"round --format fp16 --mode tp 1", "overflow to +inf above, max finite -65504 below"},
        {"round --format e4m3 --mode tn 1", "overflow to max finite 448 above, nan below"},
        {"round --format e5m2 --saturate 1", "overflow to +-max finite (57344)"},
        {"round --format custom:5,-20,20 1", "overflow to +-inf"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char line[512];
        header_of(cases[i].args, line, sizeof line);
        cr_expect(strstr(line, cases[i].want), "'%s': header '%s' lacks '%s'", cases[i].args, line,
                  cases[i].want);
    }
}

/* Every built-in format: the header agrees with the rounding of a huge
 * value (what the format really does on overflow). */
Test(cmd_round, header_matches_rounding_every_format) {
    size_t n = 0;
    const gka_format_t *const *list = gka_format_list(&n);
    for (size_t i = 0; i < n; i++) {
        if (list[i]->t >= 53) continue; /* fp64 never overflows from a double */
        char args[128], line[512];
        snprintf(args, sizeof args, "round --format %s 1e300", list[i]->name);
        header_of(args, line, sizeof line);
        gka_rounding_t r = gka_rounding_default(list[i]);
        const double y = gka_round(1e300, &r);
        cr_expect(strstr(line, isnan(y) ? "overflow to nan" : "overflow to +-inf"), "%s: %s",
                  list[i]->name, line);
    }
}

Test(cmd_round, invalid_mode_named) {
    static char out[PROG_TEXT_MAX];
    cr_assert_eq(prog_capture("round --format bf16 --mode 42 1", out, sizeof out), 2);
    cr_assert(strstr(out, "--mode") && strstr(out, "'42'"), "%s", out);
    cr_assert_eq(prog_lines(out), 1, "%s", out);
}
