/* Arithmetic tables by name (for the command line and experiment configs),
 * and their release. MPFR calls are guarded by GKA_HAVE_MPFR so that the
 * minimal build (no MPFR) links and answers GKA_EUNSUP. */
#include "gka_arith.h"
#include "gka_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gka_status_t gka_accum_by_name(const char *name, gka_accum_t *out, gka_format_t *wide) {
    if (!out) return gka_error(GKA_EINVAL, "gka_accum_by_name: NULL output");
    gka_format_t w = gka_fp32;
    gka_accum_t a;
    if (!name || !strcmp(name, "round") || !strcmp(name, "none") || !strcmp(name, "format")) {
        a = GKA_ACCUM_PER_OP;
    } else if (!strcmp(name, "wide") || !strcmp(name, "fp32")) {
        a = GKA_ACCUM_WIDE;
    } else if (!strncmp(name, "wide:", 5)) {
        if (gka_format_by_name(name + 5, &w) != GKA_OK)
            return gka_error(GKA_EINVAL,
                             "unknown wide accumulator format '%s' in accumulation '%s'", name + 5,
                             name);
        if (w.t > GKA_FORMAT_T_MAX && strcmp(w.name, gka_fp64.name) != 0)
            return gka_error(GKA_EINVAL, "wide accumulator format '%s' is not supported", name + 5);
        a = GKA_ACCUM_WIDE;
    } else if (!strcmp(name, "exact")) {
        a = GKA_ACCUM_EXACT;
    } else {
        return gka_error(GKA_EINVAL,
                         "unknown accumulation model '%s' (known: round, wide, wide:FORMAT, exact)",
                         name);
    }
    *out = a;
    if (wide) *wide = w;
    return GKA_OK;
}

const char *gka_accum_name(gka_accum_t accum) {
    switch (accum) {
    case GKA_ACCUM_PER_OP:
        return "round";
    case GKA_ACCUM_WIDE:
        return "wide";
    case GKA_ACCUM_EXACT:
        return "exact";
    }
    return "?";
}

/* "mpfr:PREC" (also "mpfrPREC"): 1 and *prec set when name is an MPFR spec;
 * -1 when it is one with an unparsable precision; 0 otherwise. */
static int parse_mpfr(const char *name, long *prec) {
    if (strncmp(name, "mpfr", 4) != 0) return 0;
    const char *p = name + 4;
    if (*p == ':') p++;
    if (*p < '0' || *p > '9') return -1;
    char *end;
    errno = 0;
    const long v = strtol(p, &end, 10);
    if (errno || *end) return -1;
    *prec = v;
    return 1;
}

#if !GKA_HAVE_MPFR
gka_status_t gka_arith_init_mpfr(gka_arith_t *A, long prec, gka_accum_t accum) {
    (void)A;
    (void)accum;
    return gka_error(GKA_EUNSUP, "arithmetic mpfr:%ld: this build of gka has no MPFR", prec);
}
#endif

gka_status_t gka_arith_init_by_name(gka_arith_t *A, const char *format, const char *accum,
                                    const char *mode, uint64_t seed) {
    if (!A || !format) return gka_error(GKA_EINVAL, "gka_arith_init_by_name: NULL argument");
    gka_accum_t model;
    gka_format_t wide;
    gka_status_t st = gka_accum_by_name(accum, &model, &wide);
    if (st != GKA_OK) return st;
    gka_round_mode_t rmode = GKA_RND_NE;
    if (mode && (st = gka_round_mode_by_name(mode, &rmode)) != GKA_OK) return st;

    long prec = 0;
    const int is_mpfr = parse_mpfr(format, &prec);
    if (is_mpfr < 0)
        return gka_error(GKA_EINVAL, "bad MPFR arithmetic '%s' (expected mpfr:PREC, e.g. mpfr:256)",
                         format);
    if (is_mpfr || !strcmp(format, "fp64")) {
        if (rmode != GKA_RND_NE)
            return gka_error(GKA_EINVAL,
                             "arithmetic '%s' rounds to nearest only (rounding mode '%s' given)",
                             format, mode);
        if (is_mpfr) return gka_arith_init_mpfr(A, prec, model);
        if (model != GKA_ACCUM_PER_OP)
            return gka_error(GKA_EINVAL,
                             "arithmetic 'fp64' has only accumulation 'round' ('%s' given; use "
                             "mpfr:53 with exact)",
                             accum);
        return gka_arith_init_fp64(A);
    }

    gka_format_t f;
    if (gka_format_by_name(format, &f) != GKA_OK && !strncmp(format, "custom:", 7)) {
        /* a custom format with bad parameters: say which, not "unknown" */
        char why[400];
        snprintf(why, sizeof why, "%s", gka_error_message());
        return gka_error(GKA_EINVAL, "arithmetic '%s': %s", format, why);
    }
    if (gka_format_by_name(format, &f) != GKA_OK)
        return gka_error(GKA_EINVAL,
                         "unknown arithmetic format '%s' (fp64, mpfr:PREC, or a format "
                         "name: fp32 tf32 bf16 fp16 e4m3 e5m2 custom:t,emin,emax)",
                         format);
    gka_rounding_t r = gka_rounding_default(&f);
    r.mode = rmode;
    r.seed = seed;
    return gka_arith_init_emulated(A, &r, model, &wide);
}

void gka_arith_destroy(gka_arith_t *A) {
    if (!A) return;
    if (A->release) A->release(A);
    A->release = NULL;
    A->impl = NULL;
}

const char *gka_accum_default(const char *format) {
    return (!strcmp(format, "fp64") || !strncmp(format, "mpfr", 4)) ? "round" : "wide";
}
