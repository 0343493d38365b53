#include "gka_cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Write s with control characters escaped: one line whatever a value holds. */
static void put_escaped(FILE *f, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\r')
            fputs("\\r", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
}

int gka_cli_fail(int code, const char *fmt, ...) {
    char small[1024];
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    char *msg = small;
    if (n >= (int)sizeof small && (msg = malloc((size_t)n + 1))) {
        va_start(ap, fmt);
        vsnprintf(msg, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    fputs("gka: ", stderr);
    put_escaped(stderr, msg ? msg : small);
    fputc('\n', stderr);
    if (msg && msg != small) free(msg);
    return code;
}

int gka_cli_exit_code(gka_status_t st, gka_cli_stage_t stage) {
    switch (st) {
    case GKA_OK:
        return GKA_EXIT_OK;
    case GKA_EINVAL:
    case GKA_EFORMAT:
    case GKA_ERANGE:
    case GKA_ENODATA:
        return GKA_EXIT_USAGE;
    case GKA_EIO:
        return stage == GKA_STAGE_INPUT ? GKA_EXIT_USAGE : GKA_EXIT_FAIL;
    default:
        return GKA_EXIT_FAIL;
    }
}

int gka_cli_fail_status(gka_status_t st, gka_cli_stage_t stage, const char *what) {
    const int code = gka_cli_exit_code(st, stage);
    if (what) return gka_cli_fail(code, "%s: %s", what, gka_error_message());
    return gka_cli_fail(code, "%s", gka_error_message());
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

const char *gka_cli_value(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        gka_cli_fail(GKA_EXIT_USAGE, "option %s needs a value", argv[*i]);
        return NULL;
    }
    *i += 1;
    return argv[*i];
}
