#include "gka_cli.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gka_cli_fail(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("gka: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

int gka_cli_parse_long(const char *s, const char *what, long lo, long hi, long *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno == ERANGE)
        return gka_cli_fail(GKA_EXIT_USAGE, "%s: '%s' is not an integer", what, s), 1;
    if (v < lo || v > hi)
        return gka_cli_fail(GKA_EXIT_USAGE, "%s: %ld is out of range [%ld, %ld]", what, v, lo, hi),
               1;
    *out = v;
    return 0;
}

int gka_cli_parse_u64(const char *s, const char *what, uint64_t *out) {
    char *end = NULL;
    errno = 0;
    if (!*s || *s == '-')
        return gka_cli_fail(GKA_EXIT_USAGE, "%s: '%s' is not a non-negative integer", what, s), 1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno == ERANGE)
        return gka_cli_fail(GKA_EXIT_USAGE, "%s: '%s' is not a 64-bit non-negative integer", what,
                            s),
               1;
    *out = (uint64_t)v;
    return 0;
}

int gka_cli_parse_double(const char *s, const char *what, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end) return gka_cli_fail(GKA_EXIT_USAGE, "%s: '%s' is not a number", what, s), 1;
    if (!isfinite(v)) return gka_cli_fail(GKA_EXIT_USAGE, "%s: '%s' is not finite", what, s), 1;
    *out = v;
    return 0;
}

const char *gka_cli_value(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        gka_cli_fail(GKA_EXIT_USAGE, "option %s needs a value", argv[*i]);
        return NULL;
    }
    *i += 1;
    return argv[*i];
}

int gka_cli_is_one_of(const char *opt, const char *const *names) {
    for (; *names; names++)
        if (!strcmp(opt, *names)) return 1;
    return 0;
}
