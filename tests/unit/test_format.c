/* Format constants: every derived quantity against its definition, against
 * <float.h> where the format is native, and lookup by name. */
#include <criterion/criterion.h>

#include <float.h>
#include <math.h>
#include <string.h>

#include "gka_precision.h"

static void check_derived(const gka_format_t *f, double max) {
    cr_assert_eq(f->u, ldexp(1.0, -f->t), "%s u", f->name);
    cr_assert_eq(f->eps, ldexp(1.0, 1 - f->t), "%s eps", f->name);
    cr_assert_eq(f->max, max, "%s max %a", f->name, f->max);
    cr_assert_eq(f->min_normal, ldexp(1.0, f->emin), "%s min_normal", f->name);
    cr_assert_eq(f->min_subnormal, ldexp(1.0, f->emin - f->t + 1), "%s min_subnormal", f->name);
    cr_assert(f->max >= ldexp(1.0, f->emax) && f->max < ldexp(1.0, f->emax + 1));
}

/* Same double (NaNs: both NaN). */
static int oracle_free_same(double a, double b) {
    return (isnan(a) && isnan(b)) || (a == b && signbit(a) == signbit(b));
}

static double ieee_max(int t, int emax) {
    return ldexp(2.0 - ldexp(1.0, 1 - t), emax);
}

Test(format, builtin_constants) {
    check_derived(&gka_fp64, DBL_MAX);
    check_derived(&gka_fp32, (double)FLT_MAX);
    check_derived(&gka_tf32, ieee_max(11, 127));
    check_derived(&gka_bf16, ieee_max(8, 127));
    check_derived(&gka_fp16, 65504.0);
    check_derived(&gka_e4m3, 448.0);
    check_derived(&gka_e5m2, 57344.0);
    cr_assert_eq(gka_fp32.min_normal, (double)FLT_MIN);
    cr_assert_eq(gka_fp32.min_subnormal, (double)FLT_TRUE_MIN);
    cr_assert_eq(gka_fp32.eps, (double)FLT_EPSILON);
    cr_assert_eq(gka_fp64.min_subnormal, DBL_TRUE_MIN);
    cr_assert_eq(gka_fp64.eps, DBL_EPSILON);
    cr_assert_eq(gka_fp64.t, DBL_MANT_DIG);
    cr_assert_eq(gka_fp32.t, FLT_MANT_DIG);
    cr_assert_eq(gka_fp32.emax, FLT_MAX_EXP - 1);
    cr_assert_eq(gka_fp32.emin, FLT_MIN_EXP - 1);
    const int bits[] = {64, 32, 19, 16, 16, 8, 8};
    const int inf[] = {1, 1, 1, 1, 1, 0, 1};
    size_t n = 0;
    const gka_format_t *const *list = gka_format_list(&n);
    cr_assert_eq(n, 7u);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(list[i]->storage_bits, bits[i], "%s bits", list[i]->name);
        cr_assert_eq(list[i]->has_inf, inf[i], "%s has_inf", list[i]->name);
        /* storage bits = sign + exponent field + fraction field */
        const int expbits = (int)ceil(log2((double)(list[i]->emax - list[i]->emin + 2)));
        cr_assert_eq(1 + expbits + list[i]->t - 1, bits[i], "%s encoding width", list[i]->name);
    }
}

/* max is the largest value of the format: it rounds to itself, and the next
 * grid point above it overflows. */
Test(format, max_is_largest_finite) {
    size_t n = 0;
    const gka_format_t *const *list = gka_format_list(&n);
    for (size_t i = 1; i < n; i++) {
        gka_rounding_t r = gka_rounding_default(list[i]);
        cr_assert_eq(gka_round(list[i]->max, &r), list[i]->max);
        cr_assert_eq(r.flags, 0u);
        const double above = list[i]->max + ldexp(1.0, list[i]->emax - list[i]->t + 1);
        const double y = gka_round(above, &r);
        cr_assert(!isfinite(y), "%s: %a gave %a", list[i]->name, above, y);
    }
}

Test(format, by_name_and_aliases) {
    const char *names[] = {"fp64", "fp32", "tf32", "bf16", "fp16", "e4m3", "e5m2"};
    size_t n = 0;
    const gka_format_t *const *list = gka_format_list(&n);
    for (size_t i = 0; i < n; i++) {
        gka_format_t f;
        cr_assert_eq(gka_format_by_name(names[i], &f), GKA_OK);
        cr_assert(!memcmp(&f, list[i], sizeof f), "%s", names[i]);
    }
    gka_format_t f;
    cr_assert_eq(gka_format_by_name("fp8-e4m3", &f), GKA_OK);
    cr_assert_eq(f.max, 448.0);
    cr_assert_eq(gka_format_by_name("bfloat16", &f), GKA_OK);
    cr_assert_eq(f.t, 8);
}

Test(format, custom) {
    gka_format_t f;
    cr_assert_eq(gka_format_by_name("custom:26,-126,127", &f), GKA_OK);
    cr_assert_str_eq(f.name, "custom:26,-126,127");
    check_derived(&f, ieee_max(26, 127));
    cr_assert_eq(f.has_inf, 1);
    cr_assert_eq(f.storage_bits, 0);
    cr_assert_eq(gka_format_custom(8, -126, 127, &f), GKA_OK);
    cr_assert_eq(f.max, gka_bf16.max);
    cr_assert_eq(gka_format_custom(2, -500, 500, &f), GKA_OK);
    check_derived(&f, 1.5 * 0x1p500);
}

Test(format, bad_names_are_errors_naming_the_problem) {
    gka_format_t f;
    const char *bad[] = {"bf17",
                         "",
                         "custom:27,-10,10",
                         "custom:1,-10,10",
                         "custom:8,0,10",
                         "custom:8,-10,0",
                         "custom:8,-501,10",
                         "custom:8,-10,501",
                         "custom:8,-10",
                         "custom:x,y,z",
                         "custom:8,-10,10,",
                         "custom:8,-10,10x",
                         "custom:99999999999999999999,-1,1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gka_error_clear();
        cr_assert_eq(gka_format_by_name(bad[i], &f), GKA_EINVAL, "'%s' accepted", bad[i]);
        cr_assert_gt(strlen(gka_error_message()), 10u, "'%s': no message", bad[i]);
    }
    gka_format_by_name("custom:27,-10,10", &f);
    cr_assert(strstr(gka_error_message(), "t = 27"), "%s", gka_error_message());
    gka_format_by_name("bf17", &f);
    cr_assert(strstr(gka_error_message(), "bf17"));
}

/* Every code of every built-in encoding decodes to a value that encodes back
 * to the same code (NaNs to the canonical NaN of their sign) and that is a
 * value of the format. */
Test(format, encode_decode_round_trip_every_code) {
    size_t n = 0;
    const gka_format_t *const *list = gka_format_list(&n);
    for (size_t i = 2; i < n; i++) { /* tf32 .. e5m2: all codes */
        const gka_format_t *f = list[i];
        long nans = 0;
        for (uint64_t code = 0; code < ((uint64_t)1 << f->storage_bits); code++) {
            const double v = gka_format_decode(f, code);
            uint64_t back = 0;
            cr_assert_eq(gka_format_encode(f, v, &back), GKA_OK, "%s %#lx", f->name,
                         (unsigned long)code);
            if (isnan(v)) {
                nans++;
                cr_assert_eq(gka_format_decode(f, back) != gka_format_decode(f, back), 1);
                continue;
            }
            cr_assert_eq(back, code, "%s: %#lx -> %a -> %#lx", f->name, (unsigned long)code, v,
                         (unsigned long)back);
            gka_rounding_t r = gka_rounding_default(f);
            cr_assert(oracle_free_same(gka_round(v, &r), v), "%s: %a not a fixed point", f->name,
                      v);
        }
        const long expect_nans = f->has_inf ? 2 * (((long)1 << (f->t - 1)) - 1) : 2;
        cr_assert_eq(nans, expect_nans, "%s: %ld NaN codes", f->name, nans);
    }
}

Test(format, encodings_match_hardware_and_spec) {
    for (uint32_t code = 0; code < 65536; code++) { /* bf16 = top half of float32 */
        const uint32_t fb = code << 16;
        float fv;
        memcpy(&fv, &fb, sizeof fv);
        const double v = gka_format_decode(&gka_bf16, code);
        cr_assert(isnan(fv) ? isnan(v) : (double)fv == v && !signbit(v) == !signbit(fv));
    }
#ifdef __FLT16_MANT_DIG__
    for (uint32_t code = 0; code < 65536; code++) {
        const uint16_t hb = (uint16_t)code;
        _Float16 hv;
        memcpy(&hv, &hb, sizeof hv);
        const double v = gka_format_decode(&gka_fp16, code);
        cr_assert(isnan((double)hv) ? isnan(v) : (double)hv == v, "fp16 %#x", code);
    }
#endif
    uint32_t fb;
    const float one_third = 1.0f / 3.0f;
    memcpy(&fb, &one_third, sizeof fb);
    uint64_t bits = 0;
    cr_assert_eq(gka_format_encode(&gka_fp32, (double)one_third, &bits), GKA_OK);
    cr_assert_eq(bits, (uint64_t)fb);
    cr_assert_eq(gka_format_encode(&gka_tf32, 1.5, &bits), GKA_OK);
    cr_assert_eq(bits, (uint64_t)(0x3fc00000u >> 13));
    /* OFP8 specification table */
    cr_assert_eq(gka_format_decode(&gka_e4m3, 0x7e), 448.0);
    cr_assert(isnan(gka_format_decode(&gka_e4m3, 0x7f)) &&
              isnan(gka_format_decode(&gka_e4m3, 0xff)));
    cr_assert_eq(gka_format_decode(&gka_e4m3, 0x78), 256.0);
    cr_assert_eq(gka_format_decode(&gka_e4m3, 0x08), 0x1p-6);
    cr_assert_eq(gka_format_decode(&gka_e4m3, 0x01), 0x1p-9);
    cr_assert_eq(gka_format_decode(&gka_e4m3, 0x80), 0.0);
    cr_assert(signbit(gka_format_decode(&gka_e4m3, 0x80)));
    cr_assert_eq(gka_format_decode(&gka_e5m2, 0x7b), 57344.0);
    cr_assert_eq(gka_format_decode(&gka_e5m2, 0x7c), INFINITY);
    cr_assert_eq(gka_format_decode(&gka_e5m2, 0xfc), -INFINITY);
    cr_assert(isnan(gka_format_decode(&gka_e5m2, 0x7d)));
    cr_assert_eq(gka_format_decode(&gka_e5m2, 0x01), 0x1p-16);
    cr_assert_eq(gka_format_decode(&gka_fp16, 0x7bff), 65504.0);
    /* not values of the format */
    cr_assert_eq(gka_format_encode(&gka_bf16, 0.1, &bits), GKA_EINVAL);
    cr_assert_eq(gka_format_encode(&gka_e4m3, INFINITY, &bits), GKA_EINVAL);
    cr_assert_eq(gka_format_encode(&gka_e4m3, 480.0, &bits), GKA_EINVAL);
    gka_format_t c;
    cr_assert_eq(gka_format_custom(10, -10, 10, &c), GKA_OK);
    cr_assert_eq(gka_format_encode(&c, 1.0, &bits), GKA_EINVAL);
}
