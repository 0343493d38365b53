/* The number formats: complete constant values (every derived quantity
 * written out as an exact hex-float literal), lookup by name, custom formats. */
#include "gka_precision.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const gka_format_t gka_fp64 = {
    "fp64", 53, -1022, 1023, 1, 64, 0x1p-53, 0x1p-52, 0x1.fffffffffffffp1023, 0x1p-1022, 0x1p-1074};
const gka_format_t gka_fp32 = {"fp32",  24,      -126,           127,      1,       32,
                               0x1p-24, 0x1p-23, 0x1.fffffep127, 0x1p-126, 0x1p-149};
const gka_format_t gka_tf32 = {"tf32",  11,      -126,        127,      1,       19,
                               0x1p-11, 0x1p-10, 0x1.ffcp127, 0x1p-126, 0x1p-136};
const gka_format_t gka_bf16 = {"bf16", 8,      -126,       127,      1,       16,
                               0x1p-8, 0x1p-7, 0x1.fep127, 0x1p-126, 0x1p-133};
const gka_format_t gka_fp16 = {"fp16",  11,      -14,        15,      1,      16,
                               0x1p-11, 0x1p-10, 0x1.ffcp15, 0x1p-14, 0x1p-24};
/* OFP8 E4M3: exponent field 1111 holds finite values except S.1111.111 (NaN),
 * so emax = 8 and the largest finite is 1.75 * 2^8 = 448; no infinities. */
const gka_format_t gka_e4m3 = {"e4m3", 4, -6, 8, 0, 8, 0x1p-4, 0x1p-3, 0x1.cp8, 0x1p-6, 0x1p-9};
const gka_format_t gka_e5m2 = {"e5m2", 3,      -14,      15,      1,      8,
                               0x1p-3, 0x1p-2, 0x1.cp15, 0x1p-14, 0x1p-16};

static const gka_format_t *const format_list[] = {&gka_fp64, &gka_fp32, &gka_tf32, &gka_bf16,
                                                  &gka_fp16, &gka_e4m3, &gka_e5m2};

const gka_format_t *const *gka_format_list(size_t *count) {
    if (count) *count = sizeof format_list / sizeof format_list[0];
    return format_list;
}

gka_status_t gka_format_custom(int t, int emin, int emax, gka_format_t *out) {
    if (!out) return gka_error(GKA_EINVAL, "gka_format_custom: output is NULL");
    if (t < 2 || t > GKA_FORMAT_T_MAX)
        return gka_error(GKA_EINVAL, "custom format: precision t = %d is out of range [2, %d]", t,
                         GKA_FORMAT_T_MAX);
    if (emin >= 0 || emin < -GKA_FORMAT_EXP_MAX)
        return gka_error(GKA_EINVAL, "custom format: emin = %d is out of range [%d, -1]", emin,
                         -GKA_FORMAT_EXP_MAX);
    if (emax <= 0 || emax > GKA_FORMAT_EXP_MAX)
        return gka_error(GKA_EINVAL, "custom format: emax = %d is out of range [1, %d]", emax,
                         GKA_FORMAT_EXP_MAX);
    gka_format_t f;
    memset(&f, 0, sizeof f);
    snprintf(f.name, sizeof f.name, "custom:%d,%d,%d", t, emin, emax);
    f.t = t;
    f.emin = emin;
    f.emax = emax;
    f.has_inf = 1;
    f.storage_bits = 0;
    f.u = ldexp(1.0, -t);
    f.eps = ldexp(1.0, 1 - t);
    f.max = ldexp(2.0 - ldexp(1.0, 1 - t), emax); /* exact: t <= 26 bits */
    f.min_normal = ldexp(1.0, emin);
    f.min_subnormal = ldexp(1.0, emin - t + 1);
    *out = f;
    return GKA_OK;
}

/* Parse one integer field of "custom:t,emin,emax"; *s advances past it. */
static int parse_int_field(const char **s, char stop, long *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(*s, &end, 10);
    if (end == *s || errno == ERANGE || *end != stop) return 0;
    *out = v;
    *s = stop ? end + 1 : end;
    return 1;
}

static gka_status_t parse_custom(const char *name, gka_format_t *out) {
    const char *s = name + strlen("custom:");
    long t = 0, emin = 0, emax = 0;
    if (!parse_int_field(&s, ',', &t) || !parse_int_field(&s, ',', &emin) ||
        !parse_int_field(&s, '\0', &emax))
        return gka_error(GKA_EINVAL,
                         "format '%s': a custom format is written custom:t,emin,emax "
                         "(e.g. custom:26,-126,127)",
                         name);
    if (t < -100000 || t > 100000 || emin < -100000 || emin > 100000 || emax < -100000 ||
        emax > 100000)
        return gka_error(GKA_EINVAL, "format '%s': parameters out of range", name);
    return gka_format_custom((int)t, (int)emin, (int)emax, out);
}

gka_status_t gka_format_by_name(const char *name, gka_format_t *out) {
    if (!name || !out) return gka_error(GKA_EINVAL, "gka_format_by_name: NULL argument");
    if (!strncmp(name, "custom:", strlen("custom:"))) return parse_custom(name, out);
    static const struct {
        const char *alias;
        const gka_format_t *format;
    } aliases[] = {{"fp8-e4m3", &gka_e4m3}, {"fp8-e5m2", &gka_e5m2}, {"float64", &gka_fp64},
                   {"float32", &gka_fp32},  {"bfloat16", &gka_bf16}, {"float16", &gka_fp16}};
    for (size_t i = 0; i < sizeof format_list / sizeof format_list[0]; i++)
        if (!strcmp(name, format_list[i]->name)) {
            *out = *format_list[i];
            return GKA_OK;
        }
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcmp(name, aliases[i].alias)) {
            *out = *aliases[i].format;
            return GKA_OK;
        }
    return gka_error(GKA_EINVAL,
                     "unknown format '%s' (known: fp64 fp32 tf32 bf16 fp16 e4m3 e5m2 "
                     "custom:t,emin,emax)",
                     name);
}

/* ------------------------------------------------------------------------ */
/* Interchange encodings                                                    */
/* ------------------------------------------------------------------------ */

static int has_nan_only_top_code(const gka_format_t *f) {
    return !f->has_inf;
} /* e4m3 */

gka_status_t gka_format_encode(const gka_format_t *f, double x, uint64_t *bits) {
    if (!f || !bits) return gka_error(GKA_EINVAL, "gka_format_encode: NULL argument");
    if (f->storage_bits <= 0)
        return gka_error(GKA_EINVAL, "format %s has no interchange encoding", f->name);
    const int fbits = f->t - 1, ebits = f->storage_bits - f->t;
    const uint64_t sign = (uint64_t)(signbit(x) != 0) << (f->storage_bits - 1);
    const uint64_t exp_ones = ((uint64_t)1 << ebits) - 1, frac_ones = ((uint64_t)1 << fbits) - 1;
    const double ax = fabs(x);
    if (isnan(x)) {
        *bits = sign | (exp_ones << fbits) |
                (has_nan_only_top_code(f) ? frac_ones : (uint64_t)1 << (fbits - 1));
        return GKA_OK;
    }
    if (isinf(x)) {
        if (!f->has_inf) return gka_error(GKA_EINVAL, "%s has no infinity", f->name);
        *bits = sign | (exp_ones << fbits);
        return GKA_OK;
    }
    if (ax > f->max) return gka_error(GKA_EINVAL, "%a exceeds the largest %s", x, f->name);
    int e = ax == 0 ? f->emin - 1 : ilogb(ax);
    if (e < f->emin) e = f->emin - 1; /* subnormal: exponent field 0 */
    const double scale = ldexp(1.0, (e < f->emin ? f->emin : e) - fbits);
    const double m = ax / scale; /* exact: a power-of-two scaling */
    if (m != floor(m)) return gka_error(GKA_EINVAL, "%a is not a value of %s", x, f->name);
    const uint64_t field = (uint64_t)(e - f->emin + 1);
    *bits = sign | (field << fbits) | ((uint64_t)m & frac_ones);
    return GKA_OK;
}

double gka_format_decode(const gka_format_t *f, uint64_t bits) {
    if (!f || f->storage_bits <= 0) return NAN;
    const int fbits = f->t - 1, ebits = f->storage_bits - f->t;
    const uint64_t exp_ones = ((uint64_t)1 << ebits) - 1, frac_ones = ((uint64_t)1 << fbits) - 1;
    const int neg = (int)((bits >> (f->storage_bits - 1)) & 1);
    const uint64_t field = (bits >> fbits) & exp_ones, frac = bits & frac_ones;
    double v;
    if (field == exp_ones && (f->has_inf || frac == frac_ones))
        v = f->has_inf && frac == 0 ? INFINITY : NAN;
    else if (field == 0)
        v = ldexp((double)frac, f->emin - fbits);
    else
        v = ldexp((double)(frac | ((uint64_t)1 << fbits)), (int)field - 1 + f->emin - fbits);
    return neg ? -v : v;
}
