/* gka round: round values to a format and show decimal value, encoding and
 * exception flags. */
#include "gka_cli.h"
#include "gka_precision.h"
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Any number strtod accepts, including inf and nan; the whole string. */
static int parse_value(const char *s, double *out) {
    char *end = NULL;
    errno = 0;
    const double v = strtod(s, &end);
    if (!*s || *end || end == s)
        return gka_cli_fail(GKA_EXIT_USAGE, "round: '%s' is not a number", s), 1;
    if (errno == ERANGE && isinf(v))
        return gka_cli_fail(GKA_EXIT_USAGE, "round: '%s' is beyond the range of double", s), 1;
    *out = v;
    return 0;
}

static void flags_text(unsigned flags, char *buf, size_t size) {
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{GKA_FLAG_INEXACT, "inexact"},
                 {GKA_FLAG_UNDERFLOW, "underflow"},
                 {GKA_FLAG_OVERFLOW, "overflow"},
                 {GKA_FLAG_INVALID, "invalid"},
                 {GKA_FLAG_FLUSHED, "flushed"}};
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (flags & names[i].bit) {
            if (buf[0]) strncat(buf, ",", size - strlen(buf) - 1);
            strncat(buf, names[i].name, size - strlen(buf) - 1);
        }
    if (!buf[0]) snprintf(buf, size, "-");
}

static void print_encoding(const gka_format_t *f, double y, char *buf, size_t size) {
    uint64_t bits = 0;
    if (f->storage_bits > 0 && gka_format_encode(f, y, &bits) == GKA_OK)
        snprintf(buf, size, "0x%0*llx", (f->storage_bits + 3) / 4, (unsigned long long)bits);
    else
        snprintf(buf, size, "%a", y);
}

/* What an overflow of one sign gives, from gka_overflow_value (the rule of
 * the format and options, not a fixed string): "inf", "nan" or "max finite". */
static void overflow_side(const gka_rounding_t *r, int negative, char *buf, size_t size) {
    const double v = gka_overflow_value(r, negative);
    if (isnan(v))
        snprintf(buf, size, "nan");
    else if (isinf(v))
        snprintf(buf, size, "%sinf", negative ? "-" : "+");
    else
        snprintf(buf, size, "max finite %.17g", v);
}

/* "overflow to nan" when both signs overflow alike, else one text per sign. */
static void overflow_text(const gka_rounding_t *r, char *buf, size_t size) {
    char pos[48], neg[48];
    overflow_side(r, 0, pos, sizeof pos);
    overflow_side(r, 1, neg, sizeof neg);
    const double p = gka_overflow_value(r, 0), n = gka_overflow_value(r, 1);
    if (isnan(p) && isnan(n))
        snprintf(buf, size, "overflow to nan (%s has no infinities)", r->format.name);
    else if (isinf(p) && isinf(n))
        snprintf(buf, size, "overflow to +-inf");
    else if (p == -n)
        snprintf(buf, size, "overflow to +-max finite (%.17g)", p);
    else
        snprintf(buf, size, "overflow to %s above, %s below", pos, neg);
}

/* The rounding context of the options; -1 to go on, else an exit code. */
static int rounding_of(const gka_opts_t *o, gka_rounding_t *r) {
    *r = gka_rounding_default(&gka_fp64);
    r->saturate = gka_opt_given(o, GKA_OPT_SATURATE);
    r->subnormals = gka_opt_long(o, GKA_OPT_SUBNORMALS) == 0; /* on|off */
    r->seed = gka_opt_u64(o, GKA_OPT_SEED);
    r->stream = gka_opt_u64(o, GKA_OPT_STREAM);
    gka_format_t f;
    if (gka_format_by_name(gka_opt_text(o, GKA_OPT_FORMAT), &f) != GKA_OK)
        return gka_cli_fail_status(GKA_EINVAL, GKA_STAGE_INPUT, "round");
    r->format = f;
    if (gka_round_mode_by_name(gka_opt_text(o, GKA_OPT_MODE), &r->mode) != GKA_OK)
        return gka_cli_fail_status(GKA_EINVAL, GKA_STAGE_INPUT, "round: --mode");
    if (gka_rounding_check(r) != GKA_OK)
        return gka_cli_fail_status(GKA_EINVAL, GKA_STAGE_INPUT, "round");
    return -1;
}

int gka_cmd_round(int argc, char **argv) {
    gka_opts_t o;
    int rc = gka_opts_parse(GKA_CMD_ROUND, argc, argv, &o);
    if (rc >= 0) return rc;
    gka_rounding_t r;
    if ((rc = rounding_of(&o, &r)) >= 0) return rc;
    double *values = calloc((size_t)o.nargs, sizeof *values);
    if (!values) return gka_cli_fail(GKA_EXIT_FAIL, "round: out of memory");
    for (int i = 0; i < o.nargs; i++)
        if (parse_value(o.args[i], &values[i])) {
            free(values);
            return GKA_EXIT_USAGE;
        }
    char overflow[160];
    overflow_text(&r, overflow, sizeof overflow);
    printf("# format %s, mode %s, subnormals %s, %s%s\n", r.format.name,
           gka_round_mode_name(r.mode), r.subnormals ? "on" : "off",
           r.saturate ? "saturating, " : "", overflow);
    printf("%-24s %-24s %-18s %s\n", "input", "rounded", "bits", "flags");
    for (int i = 0; i < o.nargs; i++) {
        r.flags = 0;
        r.counter = (uint64_t)i;
        const double y = gka_round(values[i], &r);
        char bits[48], flags[64];
        print_encoding(&r.format, y, bits, sizeof bits);
        flags_text(r.flags, flags, sizeof flags);
        printf("%-24s %-24.17g %-18s %s\n", o.args[i], y, bits, flags);
    }
    free(values);
    return ferror(stdout) ? GKA_EXIT_FAIL : GKA_EXIT_OK;
}
