/* gka formats: the table of number formats and their derived quantities. */
#include "gka_cli.h"
#include "gka_precision.h"
#include "options.h"

#include <stdio.h>

int gka_cmd_formats(int argc, char **argv) {
    gka_opts_t o;
    const int rc = gka_opts_parse(GKA_CMD_FORMATS, argc, argv, &o);
    if (rc >= 0) return rc;
    const int hex = gka_opt_given(&o, GKA_OPT_HEX);
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
