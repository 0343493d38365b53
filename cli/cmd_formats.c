/* gka formats: the table of number formats and their derived quantities. */
#include "gka_cli.h"
#include "gka_precision.h"

#include <stdio.h>
#include <string.h>

static void formats_usage(FILE *f) {
    fprintf(f, "usage: gka formats [--hex]\n"
               "Prints every built-in format: precision t (significant bits, implicit bit\n"
               "included), emin, emax, unit roundoff u = 2^-t, machine epsilon 2^(1-t), largest\n"
               "finite, smallest normal 2^emin, smallest subnormal 2^(emin-t+1), whether it has\n"
               "infinities, and the bits of its encoding. --hex prints the values exactly (%%a).\n"
               "Custom formats are written custom:t,emin,emax (2 <= t <= 26).\n");
}

int gka_cmd_formats(int argc, char **argv) {
    int hex = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            formats_usage(stdout);
            return GKA_EXIT_OK;
        }
        if (!strcmp(argv[i], "--hex")) {
            hex = 1;
            continue;
        }
        return gka_cli_fail(GKA_EXIT_USAGE, "formats: unknown argument '%s' (try --help)", argv[i]);
    }
    const char *vfmt = hex ? " %-24a" : " %-12.6g";
    const int w = hex ? 24 : 12;
    printf("%-6s %3s %6s %5s %-*s %-*s %-*s %-*s %-*s %4s %4s\n", "name", "t", "emin", "emax", w,
           "u", w, "eps", w, "max", w, "min_normal", w, "min_subnormal", "inf", "bits");
    size_t n = 0;
    const gka_format_t *const *list = gka_format_list(&n);
    for (size_t i = 0; i < n; i++) {
        const gka_format_t *f = list[i];
        printf("%-6s %3d %6d %5d", f->name, f->t, f->emin, f->emax);
        const double v[] = {f->u, f->eps, f->max, f->min_normal, f->min_subnormal};
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
            printf(vfmt, v[k]);
        printf(" %4s %4d\n", f->has_inf ? "yes" : "no", f->storage_bits);
    }
    return ferror(stdout) ? GKA_EXIT_FAIL : GKA_EXIT_OK;
}
