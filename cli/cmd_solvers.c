/* gka solvers: the solver table, their variants and the shared options. */
#include "gka_cli.h"
#include "gka_solver.h"

#include <stdio.h>
#include <string.h>

int gka_cmd_solvers(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: gka solvers\n\nLists the solvers of `gka solve --solver NAME`, their "
                   "variants (--variant) and options.\n");
            return GKA_EXIT_OK;
        }
        return gka_cli_fail(GKA_EXIT_USAGE, "solvers: unknown option '%s'", argv[i]);
    }
    size_t n;
    const gka_solver_ops_t *const *list = gka_solver_list(&n);
    printf("%-10s %-22s %-9s %s\n", "solver", "variants", "options", "description");
    for (size_t i = 0; i < n; i++)
        printf("%-10s %-22s %-9s %s\n", list[i]->name, *list[i]->variants ? list[i]->variants : "-",
               list[i]->iterative ? "r,tol,warm" : "-", list[i]->summary);
    printf("\noptions of iterative solvers:\n"
           "  --iters R     iterations (default 30)\n"
           "  --tol TOL     stop when the residual estimate <= TOL ||q|| (default 0: run R)\n"
           "  --warm        start from the previous token's solution (default: zero)\n"
           "  --history F   per-iteration fp64 relative residuals to CSV file F\n"
           "  --variant V   guarded (default: NaN, divergence and breakdown stop the\n"
           "                iteration) or plain (textbook: NaN propagates)\n"
           "  --iter-format F  arithmetic of the iterates (token form: default the format)\n"
           "chunk form (chebyshev, cg, gd, agd, cholesky; kalman is token-form only):\n"
           "  --chunk C     chunk form (SPEC 3) with chunk size C; iterates fp32 by default\n"
           "  --carry F     arithmetic of the running chunk state (default fp32, as the\n"
           "                kernels; the format itself rounds it at every chunk boundary)\n"
           "kalman variants: info (SPEC 2 Sherman-Morrison, default), cov (covariance\n"
           "  form), joseph (Joseph form, symmetrised), sqrt (Cholesky factor update).\n"
           "  P_0 = I/lambda_init; the regulariser then decays with the gates\n"
           "  (exact for --ridge decay:L0; see `gka solve --help`).\n"
           "reasons: converged, iteration_limit, diverged, breakdown, lost_pd, nan\n");
    return GKA_EXIT_OK;
}
