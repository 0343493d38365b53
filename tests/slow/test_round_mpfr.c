/* The long MPFR comparison: 10^7 random float32 patterns and 10^6 random
 * doubles (random tails, subnormal and saturation options) per format in
 * every deterministic mode, and 10^5 random operand triples per format for
 * each scalar operation. Label slow: run with `ctest -L slow`. */
#include <criterion/criterion.h>

#include <time.h>

#include "unit/ops_check.h"

static double now(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void check_format_long(int i) {
    const gka_format_t *f = &test_formats()[i];
    tally_t t = {0, 0, ""};
    const double t0 = now();
    random_float32(f, 10000000, 0x5eed0000u + (uint64_t)i, &t);
    random_doubles(f, 1000000, 0xd0b1e000u + (uint64_t)i, &t);
    cr_log_info("%s: %ld roundings checked against MPFR in %.1f s", f->name, t.checked, now() - t0);
    cr_expect_eq(t.mismatches, 0, "%ld of %ld roundings differ; first: %s", t.mismatches, t.checked,
                 t.first);
    cr_assert_eq(t.checked, 11000000L * ORACLE_NMODES);
}

Test(round_mpfr, fp32, .timeout = 3600) {
    check_format_long(0);
}
Test(round_mpfr, tf32, .timeout = 3600) {
    check_format_long(1);
}
Test(round_mpfr, bf16, .timeout = 3600) {
    check_format_long(2);
}
Test(round_mpfr, fp16, .timeout = 3600) {
    check_format_long(3);
}
Test(round_mpfr, e4m3, .timeout = 3600) {
    check_format_long(4);
}
Test(round_mpfr, e5m2, .timeout = 3600) {
    check_format_long(5);
}
Test(round_mpfr, custom26, .timeout = 3600) {
    check_format_long(6);
}
Test(round_mpfr, custom2, .timeout = 3600) {
    check_format_long(7);
}
Test(round_mpfr, custom13_wide, .timeout = 3600) {
    check_format_long(8);
}

/* 10^5 random operand triples x 6 operations x 7 modes per format. */
Test(ops_mpfr, all_formats, .timeout = 3600) {
    const gka_format_t *f = test_formats();
    for (int i = 0; i < NFORMATS; i++)
        check_ops_against_mpfr(&f[i], 100000, 0x0b5u + (uint64_t)i);
}
