/* gka round: round values to a format and show decimal value, encoding and
 * exception flags. */
#include "gka_cli.h"
#include "gka_precision.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void round_usage(FILE *f) {
    fprintf(f,
            "usage: gka round --format FMT [--mode MODE] [--subnormals on|off] [--saturate]\n"
            "                 [--seed S] [--stream S] VALUE...\n"
            "FMT: fp64 fp32 tf32 bf16 fp16 e4m3 e5m2 or custom:t,emin,emax (2 <= t <= 26).\n"
            "MODE: ne (default), na, nz, tp (ru), tn (rd), tz (rz), sp (sr), se, od, or the\n"
            "      chop/CPFloat codes -1..7. Stochastic modes draw Philox 4x32-10 numbers keyed\n"
            "      by --seed and --stream; value i uses counter i.\n"
            "VALUE: a decimal or hex-float number, inf or nan, read as the nearest double and\n"
            "      then rounded once to the format.\n"
            "Prints per value: the input, the result (%%.17g), the encoding in hex (for custom\n"
            "formats, the result as a hex float) and the exception flags.\n");
}

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

typedef struct {
    gka_rounding_t r;
    int nvalues;
} round_args_t;

/* Parse options; values stay in argv (non-option arguments). Returns an exit
 * code, or -1 to go on. */
static int parse_round_options(int argc, char **argv, round_args_t *a) {
    const char *format = NULL, *mode = "ne";
    a->r = gka_rounding_default(&gka_fp64);
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *v = NULL;
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            round_usage(stdout);
            return GKA_EXIT_OK;
        }
        if (strncmp(opt, "--", 2) != 0) {
            a->nvalues++;
            continue;
        }
        if (!strcmp(opt, "--saturate")) {
            a->r.saturate = 1;
            continue;
        }
        if (strcmp(opt, "--format") && strcmp(opt, "--mode") && strcmp(opt, "--subnormals") &&
            strcmp(opt, "--seed") && strcmp(opt, "--stream"))
            return gka_cli_fail(GKA_EXIT_USAGE, "round: unknown option '%s' (try --help)", opt);
        if (!(v = gka_cli_value(argc, argv, &i))) return GKA_EXIT_USAGE;
        if (!strcmp(opt, "--format"))
            format = v;
        else if (!strcmp(opt, "--mode"))
            mode = v;
        else if (!strcmp(opt, "--subnormals")) {
            if (strcmp(v, "on") && strcmp(v, "off"))
                return gka_cli_fail(GKA_EXIT_USAGE, "round: --subnormals takes on or off, not '%s'",
                                    v);
            a->r.subnormals = !strcmp(v, "on");
        } else if (gka_cli_parse_u64(v, !strcmp(opt, "--seed") ? "--seed" : "--stream",
                                     !strcmp(opt, "--seed") ? &a->r.seed : &a->r.stream))
            return GKA_EXIT_USAGE;
    }
    if (!format) return gka_cli_fail(GKA_EXIT_USAGE, "round: --format is required (try --help)");
    gka_format_t f;
    if (gka_format_by_name(format, &f) != GKA_OK)
        return gka_cli_fail(GKA_EXIT_USAGE, "round: %s", gka_error_message());
    a->r.format = f;
    if (gka_round_mode_by_name(mode, &a->r.mode) != GKA_OK)
        return gka_cli_fail(GKA_EXIT_USAGE, "round: --mode: %s", gka_error_message());
    if (gka_rounding_check(&a->r) != GKA_OK)
        return gka_cli_fail(GKA_EXIT_USAGE, "round: %s", gka_error_message());
    if (a->nvalues == 0) return gka_cli_fail(GKA_EXIT_USAGE, "round: no VALUE given (try --help)");
    return -1;
}

int gka_cmd_round(int argc, char **argv) {
    round_args_t a;
    memset(&a, 0, sizeof a);
    const int status = parse_round_options(argc, argv, &a);
    if (status >= 0) return status;
    double *values = calloc((size_t)argc, sizeof *values);
    if (!values) return gka_cli_fail(GKA_EXIT_FAIL, "round: out of memory");
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--", 2)) {
            if (strcmp(argv[i], "--saturate")) i++; /* skip the option's value */
            continue;
        }
        if (parse_value(argv[i], &values[n])) {
            free(values);
            return GKA_EXIT_USAGE;
        }
        n++;
    }
    char overflow[160];
    overflow_text(&a.r, overflow, sizeof overflow);
    printf("# format %s, mode %s, subnormals %s, %s%s\n", a.r.format.name,
           gka_round_mode_name(a.r.mode), a.r.subnormals ? "on" : "off",
           a.r.saturate ? "saturating, " : "", overflow);
    printf("%-24s %-24s %-18s %s\n", "input", "rounded", "bits", "flags");
    int vi = 0;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--", 2)) {
            if (strcmp(argv[i], "--saturate")) i++;
            continue;
        }
        a.r.flags = 0;
        a.r.counter = (uint64_t)vi;
        const double y = gka_round(values[vi++], &a.r);
        char bits[48], flags[64];
        print_encoding(&a.r.format, y, bits, sizeof bits);
        flags_text(a.r.flags, flags, sizeof flags);
        printf("%-24s %-24.17g %-18s %s\n", argv[i], y, bits, flags);
    }
    free(values);
    return ferror(stdout) ? GKA_EXIT_FAIL : GKA_EXIT_OK;
}
