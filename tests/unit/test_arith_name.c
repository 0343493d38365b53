/* Arithmetic tables by name (precision/arith_name.c): every accepted
 * spelling builds the table it names; every bad name is refused with
 * GKA_EINVAL and a message that names the bad value. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "gka_arith.h"
#include "gka_config.h"

static void expect_table(const char *format, const char *accum, const char *mode, const char *name,
                         size_t elem_size) {
    gka_arith_t A;
    cr_assert_eq(gka_arith_init_by_name(&A, format, accum, mode, 1), GKA_OK, "%s %s %s: %s", format,
                 accum ? accum : "NULL", mode ? mode : "NULL", gka_error_message());
    cr_assert_str_eq(A.name, name);
    cr_assert_eq(A.elem_size, elem_size);
    /* the table computes: 1/3 + 1/3 in its own arithmetic, then back */
    void *x = A.alloc(&A, 3);
    cr_assert_not_null(x);
    const double v[2] = {1.0, 3.0};
    A.from_double(&A, x, v, 2);
    A.div(&A, GKA_ELEM(&A, x, 2), GKA_CELEM(&A, x, 0), GKA_CELEM(&A, x, 1));
    A.add(&A, GKA_ELEM(&A, x, 2), GKA_CELEM(&A, x, 2), GKA_CELEM(&A, x, 2));
    const double r = A.get_d(&A, GKA_CELEM(&A, x, 2));
    cr_assert(isfinite(r) && fabs(r - 2.0 / 3.0) < 0.07, "%s: 2/3 = %g", name, r);
    A.free(&A, x, 3);
    gka_arith_destroy(&A);
    cr_assert_null(A.impl);
}

static void expect_refused(const char *format, const char *accum, const char *mode,
                           const char *culprit, gka_status_t code) {
    gka_arith_t A;
    memset(&A, 0, sizeof A);
    cr_assert_eq(gka_arith_init_by_name(&A, format, accum, mode, 0), code, "%s %s %s accepted",
                 format ? format : "NULL", accum ? accum : "NULL", mode ? mode : "NULL");
    cr_assert(strstr(gka_error_message(), culprit) != NULL, "message '%s' does not name '%s'",
              gka_error_message(), culprit);
}

Test(arith_name, builds_named_tables) {
    expect_table("fp64", NULL, NULL, "fp64", sizeof(double));
    expect_table("fp64", "round", "ne", "fp64", sizeof(double));
    expect_table("bf16", "wide", NULL, "bf16/wide:fp32/ne", sizeof(double));
    expect_table("bf16", "fp32", "rz", "bf16/wide:fp32/tz", sizeof(double));
    expect_table("e4m3", "wide:bf16", "ne", "e4m3/wide:bf16/ne", sizeof(double));
    expect_table("fp16", "round", "sr", "fp16/round/sp", sizeof(double));
    expect_table("bf16", "exact", "tn", "bf16/exact/tn", sizeof(double));
    expect_table("fp32", NULL, NULL, "fp32/round/ne", sizeof(double));
    expect_table("custom:12,-30,30", "exact", NULL, "custom:12,-30,30/exact/ne", sizeof(double));
#if GKA_HAVE_MPFR
    expect_table("mpfr:256", "exact", NULL, "mpfr256/exact", 32);
    expect_table("mpfr113", NULL, "ne", "mpfr113/round", 32);
#endif
}

Test(arith_name, wide_accumulator_by_name) {
    gka_accum_t a;
    gka_format_t w;
    cr_assert_eq(gka_accum_by_name("wide", &a, &w), GKA_OK);
    cr_assert(a == GKA_ACCUM_WIDE && w.t == 24 && w.emax == 127);
    cr_assert_eq(gka_accum_by_name("wide:fp16", &a, &w), GKA_OK);
    cr_assert(a == GKA_ACCUM_WIDE && w.t == 11 && w.emax == 15);
    cr_assert_eq(gka_accum_by_name("exact", &a, NULL), GKA_OK);
    cr_assert_eq(a, GKA_ACCUM_EXACT);
    cr_assert_eq(gka_accum_by_name("none", &a, NULL), GKA_OK);
    cr_assert_eq(a, GKA_ACCUM_PER_OP);
    cr_assert_str_eq(gka_accum_name(GKA_ACCUM_PER_OP), "round");
    cr_assert_str_eq(gka_accum_name(GKA_ACCUM_WIDE), "wide");
    cr_assert_str_eq(gka_accum_name(GKA_ACCUM_EXACT), "exact");
    cr_assert_eq(gka_accum_by_name("widest", &a, NULL), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "widest"));
    cr_assert_eq(gka_accum_by_name("wide:fp99", &a, NULL), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "fp99"));
}

Test(arith_name, refuses_bad_names) {
    expect_refused("bf17", NULL, NULL, "bf17", GKA_EINVAL);
    expect_refused("bf16", "sideways", NULL, "sideways", GKA_EINVAL);
    expect_refused("bf16", NULL, "up", "up", GKA_EINVAL);
    expect_refused("fp64", "exact", NULL, "exact", GKA_EINVAL);
    expect_refused("fp64", NULL, "tz", "tz", GKA_EINVAL);
    expect_refused("mpfr:abc", NULL, NULL, "mpfr:abc", GKA_EINVAL);
    expect_refused("mpfr:", NULL, NULL, "mpfr:", GKA_EINVAL);
    expect_refused("custom:40,-10,10", NULL, NULL, "custom:40,-10,10", GKA_EINVAL);
    /* a custom format names the parameter at fault, not "unknown format" (issue 14.11) */
    expect_refused("custom:0,-5,5", NULL, NULL, "precision t = 0 is out of range", GKA_EINVAL);
    expect_refused("fp16", "wide:bf16", NULL, "bf16", GKA_EINVAL); /* bf16 lacks fp16's bits */
#if GKA_HAVE_MPFR
    expect_refused("mpfr:1", NULL, NULL, "1", GKA_EINVAL);
    expect_refused("mpfr:256", "wide", NULL, "wide", GKA_EINVAL);
    expect_refused("mpfr:256", NULL, "tz", "tz", GKA_EINVAL);
#else
    expect_refused("mpfr:256", NULL, NULL, "MPFR", GKA_EUNSUP);
#endif
    gka_arith_t A;
    cr_assert_eq(gka_arith_init_by_name(&A, NULL, NULL, NULL, 0), GKA_EINVAL);
    gka_arith_destroy(NULL); /* harmless */
}
