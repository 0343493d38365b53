/* gka solvers: the solver table, their variants and the options of the
 * iterative solvers (printed from the option table). */
#include "gka_cli.h"
#include "gka_solver.h"
#include "options.h"

#include <stdio.h>

int gka_cmd_solvers(int argc, char **argv) {
    gka_opts_t o;
    const int rc = gka_opts_parse(GKA_CMD_SOLVERS, argc, argv, &o);
    if (rc >= 0) return rc;
    size_t n;
    const gka_solver_ops_t *const *list = gka_solver_list(&n);
    printf("%-10s %-22s %-9s %s\n", "solver", "variants", "options", "description");
    for (size_t i = 0; i < n; i++)
        printf("%-10s %-22s %-9s %s\n", list[i]->name, *list[i]->variants ? list[i]->variants : "-",
               list[i]->iterative ? "iterative" : "-", list[i]->summary);
    printf("\noptions of the iterative solvers and the chunk form (gka solve, from its option "
           "table):\n");
    gka_cli_print_options_needing(stdout, GKA_CMD_SOLVE,
                                  GKA_NEEDS(GKA_CTX_ITERATIVE) | GKA_NEEDS(GKA_CTX_CHUNK) |
                                      GKA_NEEDS(GKA_CTX_CHUNKABLE) | GKA_NEEDS(GKA_CTX_ITERATES));
    printf("\nkalman variants: info (Sherman-Morrison, default), cov (covariance form),\n"
           "  joseph (Joseph form, symmetrised), sqrt (Cholesky factor update).\n"
           "  P_0 = I/lambda_init; the regulariser then decays with the gates\n"
           "  (exact for --ridge decay:L0; see `gka solve --help`).\n"
           "reasons: converged, iteration_limit, diverged, breakdown, lost_pd, nan\n");
    return ferror(stdout) ? GKA_EXIT_FAIL : GKA_EXIT_OK;
}
