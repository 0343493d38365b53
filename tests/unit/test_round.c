/* gka_round / gka_round_tail against MPFR's own emulation (mpfr_oracle.h):
 * every format and deterministic mode, subnormals kept and flushed, overflow
 * to Inf and saturating, on all boundary cases and on random inputs. */
#include <criterion/criterion.h>

#include "round_check.h"

Test(round, boundaries_all_formats_modes_against_mpfr) {
    const gka_format_t *f = test_formats();
    long total = 0;
    for (int i = 0; i < NFORMATS; i++) {
        tally_t t = {0, 0, ""};
        check_boundaries(&f[i], &t);
        cr_expect_eq(t.mismatches, 0, "%ld of %ld boundary roundings differ; first: %s",
                     t.mismatches, t.checked, t.first);
        total += t.checked;
    }
    cr_assert_gt(total, 100000);
}

/* 10^6 random float32 patterns (3 * 10^5 for the custom formats) and 10^5
 * random doubles (with tails and random options) per format, each in the 7
 * deterministic modes; tests/slow/test_round_mpfr.c runs 10^7 per format. */
static void check_random(int i) {
    const gka_format_t *f = &test_formats()[i];
    tally_t t = {0, 0, ""};
    const long nf = i < 6 ? 1000000 : 300000;
    random_float32(f, nf, 12345u + (uint64_t)i, &t);
    random_doubles(f, 100000, 777u + (uint64_t)i, &t);
    cr_expect_eq(t.mismatches, 0, "%ld of %ld random roundings differ; first: %s", t.mismatches,
                 t.checked, t.first);
    cr_assert_eq(t.checked, (nf + 100000) * ORACLE_NMODES);
}

Test(round, random_fp32_against_mpfr) {
    check_random(0);
}
Test(round, random_tf32_against_mpfr) {
    check_random(1);
}
Test(round, random_bf16_against_mpfr) {
    check_random(2);
}
Test(round, random_fp16_against_mpfr) {
    check_random(3);
}
Test(round, random_e4m3_against_mpfr) {
    check_random(4);
}
Test(round, random_e5m2_against_mpfr) {
    check_random(5);
}
Test(round, random_custom26_against_mpfr) {
    check_random(6);
}
Test(round, random_custom2_against_mpfr) {
    check_random(7);
}
Test(round, random_custom13_wide_against_mpfr) {
    check_random(8);
}

/* NaN stays NaN with its sign, whatever the payload: float NaNs whose payload
 * bits all lie below the target precision must not come out as Inf. */
Test(round, nan_any_payload_stays_nan_every_format_and_mode) {
    const uint32_t payloads[] = {0x7f800001u, 0x7f800100u, 0x7fc00000u, 0x7fbfffffu,
                                 0x7f800002u, 0x7fffffffu, 0x7f801000u, 0x7fa00000u};
    const gka_format_t *f = test_formats();
    for (int i = 0; i <= NFORMATS; i++) {
        const gka_format_t *fmt = i < NFORMATS ? &f[i] : &gka_fp64;
        for (size_t p = 0; p < sizeof payloads / sizeof payloads[0]; p++)
            for (int s = 0; s <= 1; s++)
                for (int m = GKA_RND_NA; m <= GKA_RND_OD; m++)
                    for (int sat = 0; sat <= 1; sat++) {
                        const uint32_t bits = payloads[p] | (s ? 0x80000000u : 0);
                        gka_rounding_t r = gka_rounding_default(fmt);
                        r.mode = (gka_round_mode_t)m;
                        r.saturate = sat;
                        const double y = gka_round((double)float_from_bits(bits), &r);
                        cr_assert(isnan(y), "%s mode %d: NaN %#x gave %a", fmt->name, m, bits, y);
                        cr_assert_eq(signbit(y) != 0, s, "%s: NaN sign lost", fmt->name);
                        cr_assert_eq(r.flags, 0u);
                        /* a double NaN with only low payload bits as well */
                        const double dn =
                            double_from_bits(0x7ff0000000000001u | (s ? 0x8000000000000000u : 0));
                        cr_assert(isnan(gka_round(dn, &r)));
                    }
    }
}

Test(round, signed_zeros_and_underflow_keep_sign) {
    const gka_format_t *f = test_formats();
    for (int i = 0; i < NFORMATS; i++)
        for (int m = GKA_RND_NA; m <= GKA_RND_OD; m++) {
            gka_rounding_t r = gka_rounding_default(&f[i]);
            r.mode = (gka_round_mode_t)m;
            cr_assert(signbit(gka_round(-0.0, &r)) && gka_round(-0.0, &r) == 0);
            cr_assert(!signbit(gka_round(0.0, &r)) && gka_round(0.0, &r) == 0);
            const double tiny = f[i].min_subnormal / 4;
            const double y = gka_round(-tiny, &r);
            cr_assert(signbit(y), "%s mode %d: -tiny lost its sign", f[i].name, m);
            r.subnormals = 0;
            r.flags = 0;
            const double z = gka_round(-f[i].min_normal / 2, &r); /* subnormal for t >= 2 */
            cr_assert(z == 0 && signbit(z), "%s: flushed -min_normal/2 gave %a", f[i].name, z);
            cr_assert(r.flags & GKA_FLAG_FLUSHED);
        }
}

/* Hand-checked values, independent of MPFR. */
Test(round, known_values) {
    gka_rounding_t r = gka_rounding_default(&gka_bf16);
    cr_assert_eq(gka_round(1.0 + 0x1p-8, &r), 1.0); /* tie to even */
    cr_assert_eq(gka_round(1.0 + 3 * 0x1p-8, &r), 1.0 + 0x1p-6);
    cr_assert_eq(gka_round_tail(1.0 + 0x1p-8, 1, &r), 1.0 + 0x1p-7);
    r.mode = GKA_RND_NA;
    cr_assert_eq(gka_round(1.0 + 0x1p-8, &r), 1.0 + 0x1p-7);
    r.mode = GKA_RND_TN;
    cr_assert_eq(gka_round_tail(1.0, -1, &r), 1.0 - 0x1p-8); /* finer grid below 1 */
    r.mode = GKA_RND_OD;
    cr_assert_eq(gka_round(1.0 + 0x1p-9, &r), 1.0 + 0x1p-7);
    gka_rounding_t h = gka_rounding_default(&gka_fp16);
    cr_assert_eq(gka_round(65519.0, &h), 65504.0);
    cr_assert(isinf(gka_round(65520.0, &h)));
    cr_assert(h.flags & GKA_FLAG_OVERFLOW);
    h.saturate = 1;
    cr_assert_eq(gka_round(1e6, &h), 65504.0);
    cr_assert_eq(gka_round(0x1p-25, &h), 0.0); /* min_subnormal/2 tie to even zero */
    cr_assert_eq(gka_round(0x1.8p-25, &h), 0x1p-24);
    gka_rounding_t e = gka_rounding_default(&gka_e4m3);
    cr_assert_eq(gka_round(464.0, &e), 448.0); /* tie between 448 and 480: even */
    cr_assert(isnan(gka_round(465.0, &e)));
    cr_assert(isnan(gka_round(INFINITY, &e)));
    e.saturate = 1;
    cr_assert_eq(gka_round(-INFINITY, &e), -448.0);
    gka_rounding_t d = gka_rounding_default(&gka_fp64);
    cr_assert_eq(gka_round(0.1, &d), 0.1);
}

Test(round, mode_names_and_codes) {
    const char *names[] = {"na", "nz", "ne", "tp", "tn", "tz", "sp", "se", "od"};
    for (int m = GKA_RND_NA; m <= GKA_RND_OD; m++) {
        gka_round_mode_t got;
        cr_assert_eq(gka_round_mode_by_name(names[m + 1], &got), GKA_OK);
        cr_assert_eq((int)got, m);
        cr_assert_str_eq(gka_round_mode_name((gka_round_mode_t)m), names[m + 1]);
        char code[16];
        snprintf(code, sizeof code, "%d", m);
        cr_assert_eq(gka_round_mode_by_name(code, &got), GKA_OK);
        cr_assert_eq((int)got, m);
    }
    gka_round_mode_t got;
    cr_assert_eq(gka_round_mode_by_name("rz", &got), GKA_OK);
    cr_assert_eq(got, GKA_RND_TZ);
    cr_assert_eq(gka_round_mode_by_name("rne", &got), GKA_OK);
    cr_assert_eq(got, GKA_RND_NE);
    cr_assert_eq(gka_round_mode_by_name("bogus", &got), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "bogus"));
    cr_assert_eq(gka_round_mode_by_name("8", &got), GKA_EINVAL);
    cr_assert_eq(gka_round_mode_by_name("", &got), GKA_EINVAL);
    gka_rounding_t r = gka_rounding_default(&gka_bf16);
    cr_assert_eq(r.mode, GKA_RND_NE);
    cr_assert_eq(r.subnormals, 1);
    cr_assert_eq(r.saturate, 0);
    cr_assert_eq(r.flags, 0u);
    cr_assert_eq(r.format.t, 8);
}

/* MPFR's own round-to-nearest-away agrees with the midpoint construction of
 * the oracle in the normal range (a check of the oracle itself). */
Test(round, oracle_nearest_away_cross_check) {
    uint64_t seed = 99;
    mpfr_t x;
    mpfr_init2(x, 256);
    const gka_format_t *f = test_formats();
    for (int i = 0; i < NFORMATS; i++)
        for (int k = 0; k < 20000; k++) {
            const uint64_t b = splitmix(&seed);
            const int e = f[i].emin + (int)((b >> 8) % (uint64_t)(f[i].emax - f[i].emin));
            /* ties half the time: a (t+1)-bit significand */
            double sig = 1.0 + (double)(splitmix(&seed) >> 11) * 0x1p-53;
            if (b & 1) sig = 1.0 + ldexp(floor(ldexp(sig - 1, f[i].t)), -f[i].t);
            mpfr_set_d(x, ldexp(sig, e), MPFR_RNDN);
            unsigned fl;
            const double want = oracle_round(x, &f[i], GKA_RND_NA, 1, 1, &fl);
            const double mp = oracle_nearest_away_normal(x, &f[i]);
            if (fabs(mp) <= f[i].max)
                cr_assert(oracle_same(want, mp), "%s: %a: midpoint %a, MPFR %a", f[i].name,
                          ldexp(sig, e), want, mp);
        }
    mpfr_clear(x);
}

/* fp64 with a tail: one double ulp step where the mode asks for it, checked
 * against MPFR at 53 bits (values and the inexact flag; fp64 reports no
 * underflow and never flushes). */
Test(round, fp64_tail_against_mpfr) {
    uint64_t seed = 4242;
    long bad = 0, checked = 0;
    char first[300] = "";
    mpfr_t exact;
    mpfr_init2(exact, 256);
    for (int i = 0; i < 20000; i++) {
        const uint64_t b = splitmix(&seed);
        double x =
            ldexp(1.0 + (double)(splitmix(&seed) >> 11) * 0x1p-53, (int)((b >> 8) % 2000) - 1000);
        if (i % 50 == 0) x = DBL_MAX;
        if (i % 50 == 1) x = 1.0;
        if (b & 1) x = -x;
        const int tail = (b >> 1) & 1 ? 1 : -1;
        oracle_with_tail(exact, x, tail);
        const oracle_facts_t o = oracle_facts(exact, &gka_fp64);
        for (int k = 0; k < ORACLE_NMODES; k++) {
            gka_rounding_t r = gka_rounding_default(&gka_fp64);
            r.mode = oracle_modes[k];
            const double got = gka_round_tail(x, tail, &r);
            unsigned want_flags = 0;
            const double want = oracle_finish(&o, &gka_fp64, r.mode, 1, 0, &want_flags);
            checked++;
            if (!oracle_same(got, want) || !(r.flags & GKA_FLAG_INEXACT)) {
                if (!bad)
                    snprintf(first, sizeof first, "mode %s: %a tail %d: got %a, MPFR %a",
                             gka_round_mode_name(r.mode), x, tail, got, want);
                bad++;
            }
        }
    }
    mpfr_clear(exact);
    cr_assert_eq(bad, 0, "%ld of %ld differ; first: %s", bad, checked, first);
}

/* Invalid contexts: gka_round refuses them (NaN, GKA_FLAG_CONTEXT |
 * GKA_FLAG_INVALID, counter untouched, message naming the field); the old
 * code rounded toward zero with mode 42. gka_rounding_check names the field
 * and its value. */
Test(round, invalid_context_refused) {
    gka_rounding_t r = gka_rounding_default(&gka_bf16);
    r.mode = (gka_round_mode_t)42;
    r.counter = 5;
    const double y = gka_round(1.7, &r);
    cr_assert(isnan(y), "mode 42 gave %a", y);
    cr_assert_eq(r.flags, (unsigned)(GKA_FLAG_CONTEXT | GKA_FLAG_INVALID));
    cr_assert_eq(r.counter, 5u);
    cr_assert(strstr(gka_error_message(), "mode = 42"), "%s", gka_error_message());
    cr_assert_eq(gka_rounding_check(&r), GKA_EINVAL);
    r.mode = (gka_round_mode_t)-2;
    cr_assert(isnan(gka_round_tail(1.0, 1, &r)));
    gka_rounding_t s = gka_rounding_default(&gka_fp16);
    s.saturate = 7;
    cr_assert(isnan(gka_round(1.0, &s)));
    cr_assert(strstr(gka_error_message(), "saturate = 7"), "%s", gka_error_message());
    gka_rounding_t t = gka_rounding_default(&gka_fp16);
    t.format.t = 0;
    cr_assert(isnan(gka_round(1.0, &t)));
    cr_assert(t.flags & GKA_FLAG_CONTEXT);
    cr_assert(strstr(gka_error_message(), "t = 0"), "%s", gka_error_message());
    gka_rounding_t e = gka_rounding_default(&gka_fp16);
    e.format.emin = 3;
    cr_assert(isnan(gka_round(1.0, &e)));
    cr_assert(strstr(gka_error_message(), "emin = 3"), "%s", gka_error_message());
    gka_rounding_t w = gka_rounding_default(&gka_fp16);
    w.format.emin = -600; /* beyond custom formats' |emin| <= 500 */
    cr_assert(isnan(gka_round(1.0, &w)));
    cr_assert(w.flags & GKA_FLAG_CONTEXT);
    /* the arithmetic goes through the same check */
    cr_assert(isnan(gka_add(1.0, 2.0, &e)));
    /* valid: every built-in format, custom formats, fp64 */
    size_t n = 0;
    const gka_format_t *const *list = gka_format_list(&n);
    for (size_t i = 0; i < n; i++) {
        gka_rounding_t v = gka_rounding_default(list[i]);
        for (int m = GKA_RND_NA; m <= GKA_RND_OD; m++) {
            v.mode = (gka_round_mode_t)m;
            cr_assert_eq(gka_rounding_check(&v), GKA_OK, "%s: %s", list[i]->name,
                         gka_error_message());
        }
    }
    gka_format_t c;
    cr_assert_eq(gka_format_custom(26, -500, 500, &c), GKA_OK);
    gka_rounding_t cv = gka_rounding_default(&c);
    cr_assert_eq(gka_rounding_check(&cv), GKA_OK, "%s", gka_error_message());
    cv.format.min_subnormal *= 2;
    cr_assert_eq(gka_rounding_check(&cv), GKA_EINVAL);
    cr_assert(strstr(gka_error_message(), "derived"), "%s", gka_error_message());
    cr_assert_eq(gka_rounding_check(NULL), GKA_EINVAL);
}

/* gka_overflow_value: the format's own rule. */
Test(round, overflow_value_from_the_format) {
    gka_rounding_t r = gka_rounding_default(&gka_e4m3);
    cr_assert(isnan(gka_overflow_value(&r, 0)) && !signbit(gka_overflow_value(&r, 0)));
    cr_assert(isnan(gka_overflow_value(&r, 1)) && signbit(gka_overflow_value(&r, 1)));
    r.saturate = 1;
    cr_assert_eq(gka_overflow_value(&r, 0), 448.0);
    cr_assert_eq(gka_overflow_value(&r, 1), -448.0);
    gka_rounding_t h = gka_rounding_default(&gka_fp16);
    cr_assert_eq(gka_overflow_value(&h, 0), INFINITY);
    h.mode = GKA_RND_TP;
    cr_assert_eq(gka_overflow_value(&h, 0), INFINITY);
    cr_assert_eq(gka_overflow_value(&h, 1), -65504.0);
    h.mode = GKA_RND_TZ;
    cr_assert_eq(gka_overflow_value(&h, 0), 65504.0);
    gka_rounding_t e = gka_rounding_default(&gka_e4m3);
    e.mode = GKA_RND_TN;
    cr_assert_eq(gka_overflow_value(&e, 0), 448.0);
    cr_assert(isnan(gka_overflow_value(&e, 1)));
    /* and it is what gka_round does */
    for (int m = GKA_RND_NA; m <= GKA_RND_OD; m++)
        for (int sat = 0; sat <= 1; sat++) {
            gka_rounding_t q = gka_rounding_default(&gka_e5m2);
            q.mode = (gka_round_mode_t)m;
            q.saturate = sat;
            const double up = gka_round(1e6, &q), down = gka_round(-1e6, &q);
            const double wu = gka_overflow_value(&q, 0), wd = gka_overflow_value(&q, 1);
            cr_assert(up == wu || (isnan(up) && isnan(wu)), "mode %d: %a vs %a", m, up, wu);
            cr_assert(down == wd || (isnan(down) && isnan(wd)));
        }
}
