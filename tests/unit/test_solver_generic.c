/* A generic solver test in the spirit of MPFR's tgeneric: every solver (and
 * variant) x every arithmetic table on small seeded problems (D = 8, a
 * decay:1 ridge with gates, so that Kalman solves the stream's own problem).
 *
 * For each token t and each (solver, table) pair it checks
 *   (a) against the exact solution x* of the stream's fp64 mirror (the
 *       problem built from the same rounded inputs):
 *         ||x - x*|| / ||x*|| <= alg(r, kappa) + C D u kappa,
 *   (b) against the same solver, same matrix, query and lambda, at a higher
 *       precision (MPFR at t + 32 bits, where t is the table's precision):
 *         ||x - x_hi|| / ||x_hi|| <= C D u kappa,
 *   (c) that the table's rounding is visible: over the tokens, the largest
 *       ||x - x_hi|| / ||x_hi|| is at least 2 u. One final rounding of an
 *       otherwise exact answer moves it by at most u (relative, in norm), so
 *       a solver whose iterate arithmetic were silently fp64 (or wider) with
 *       only its output stored in the format fails here;
 *   (d) every element of the answer is a value of the table (x = fl(x)): a
 *       kernel that skipped its rounding would leave wider values behind;
 *   (e) the reason is converged or iteration_limit (no numerical event).
 * u is the table's unit roundoff (2^-t, 2^-53 for fp64, 2^-p for MPFR p);
 * kappa = (||H||_F + lambda) / lambda, the Chebyshev interval's condition
 * number, an upper bound for the true one.
 *
 * The bounds and why:
 *   alg: zero start, so e_0 = x* and the bounds are relative errors:
 *     chebyshev  2 R^r / (1 + R^2r), R = (sqrt kappa - 1)/(sqrt kappa + 1):
 *                the minimax polynomial on [lambda, ||H||_F + lambda] (MATH.md section 2);
 *     cg         2 sqrt(kappa) R^r: the same polynomial bound in the A-norm,
 *                times sqrt(kappa) to go to the 2-norm; 0 for r >= D (finite
 *                termination; r = D here); plus kappa tol for the stop at
 *                relative residual tol = u (a residual bounds the error times
 *                kappa);
 *     gd         ((kappa - 1) / (kappa + 1))^r for the step 2 / (L + mu);
 *     agd        sqrt(kappa + 1) (1 - 1/sqrt kappa)^(r/2): Nesterov's
 *                f(x_r) - f* <= (1 - sqrt(mu/L))^r (f(x_0) - f* + mu/2 ||e_0||^2)
 *                with f - f* >= mu/2 ||e||^2 and f(x_0) - f* <= L/2 ||e_0||^2;
 *     cholesky, kalman: 0 (direct; Kalman is exact for the decay ridge).
 *   roundoff: C D u kappa. For Cholesky this is the backward-error bound:
 *     (A + dA) x = q with ||dA|| <= c D u ||A|| gives a forward error
 *     <= c D u kappa / (1 - c D u kappa). For the iterative solvers each step's
 *     local error (a gemv of length D and a few vector updates) is <= c D u
 *     relative to ||A|| ||x||; the Chebyshev and CG recurrences do not amplify
 *     it by more than a modest factor of kappa (Gutknecht & Roellin 2002 for
 *     Chebyshev; Greenbaum 1997 for CG's attainable accuracy) on a problem
 *     this well conditioned. For Kalman the recursion over T tokens adds one
 *     such term per token: C D u kappa T. The constants C below are upper
 *     bounds with a margin over the measured worst ratio (printed with
 *     GKA_TGENERIC_VERBOSE=1), and the test also requires that the worst
 *     ratio of each solver comes within a factor 100 of its bound, so that
 *     the bound is not vacuous.
 *
 * Separately: mpfr:53 with per-op rounding (accum round) agrees with the fp64
 * table bit for bit for every solver on the same stream. */
#include "solver_testlib.h"

#include <stdint.h>

enum { D = 8, T = 10 };
static const char *const RIDGE = "decay:1";
static const double GATE = 0.1;
static const uint64_t SEED = 41;

typedef enum { ALG_CHEB, ALG_CG, ALG_GD, ALG_AGD, ALG_NONE } alg_t;

typedef struct {
    const char *name, *variant;
    int iters;
    alg_t alg;
    double C; /* roundoff constant: C D u kappa (times T for recursive) */
    int recursive;
} solver_case_t;

static const solver_case_t SOLVERS[] = {
    {"chebyshev", "guarded", 30, ALG_CHEB, 1.0, 0},
    {"chebyshev", "plain", 30, ALG_CHEB, 1.0, 0},
    {"cg", "guarded", D, ALG_CG, 1.0, 0},
    {"cg", "plain", D, ALG_CG, 1.0, 0},
    {"gd", "", 100, ALG_GD, 1.0, 0},
    {"agd", "", 120, ALG_AGD, 1.0, 0},
    {"cholesky", "", 0, ALG_NONE, 1.0, 0},
    {"kalman", "info", 0, ALG_NONE, 1.0, 1},
    {"kalman", "cov", 0, ALG_NONE, 1.0, 1},
    {"kalman", "joseph", 0, ALG_NONE, 1.0, 1},
    {"kalman", "sqrt", 0, ALG_NONE, 1.0, 1},
};
enum { NSOLVERS = sizeof SOLVERS / sizeof SOLVERS[0] };

typedef struct {
    const char *format, *accum;
    int t; /* precision in bits: u = 2^-t; the higher-precision run is mpfr:(t + 32) */
} table_case_t;

static const table_case_t TABLES[] = {
    {"fp64", "round", 53},    {"fp32", "round", 24},    {"fp32", "wide", 24},
    {"fp32", "exact", 24},    {"bf16", "round", 8},     {"bf16", "wide", 8},
    {"bf16", "exact", 8},     {"fp16", "round", 11},    {"fp16", "wide", 11},
    {"fp16", "exact", 11},    {"mpfr:24", "round", 24}, {"mpfr:24", "exact", 24},
    {"mpfr:40", "round", 40}, {"mpfr:40", "exact", 40}, {"mpfr:53", "round", 53},
    {"mpfr:53", "exact", 53},
};
enum { NTABLES = sizeof TABLES / sizeof TABLES[0] };

static int verbose(void) {
    const char *v = getenv("GKA_TGENERIC_VERBOSE");
    return v && *v && strcmp(v, "0") != 0;
}

static double alg_bound(alg_t alg, int r, double kappa, double tol) {
    const double sk = sqrt(kappa), R = (sk - 1.0) / (sk + 1.0);
    switch (alg) {
    case ALG_CHEB:
        return 2.0 * pow(R, r) / (1.0 + pow(R, 2.0 * r));
    case ALG_CG:
        return (r >= D ? 0.0 : 2.0 * sk * pow(R, r)) + kappa * tol;
    case ALG_GD:
        return pow((kappa - 1.0) / (kappa + 1.0), r);
    case ALG_AGD:
        return sqrt(kappa + 1.0) * pow(1.0 - 1.0 / sk, 0.5 * r);
    case ALG_NONE:
        return 0.0;
    }
    return NAN;
}

static void init_table(gka_arith_t *A, const char *format, const char *accum) {
    cr_assert_eq(gka_arith_init_by_name(A, format, accum, NULL, 1), GKA_OK, "%s/%s: %s", format,
                 accum, gka_error_message());
}

static gka_solver_t *make_solver(const solver_case_t *sc, gka_arith_t *A, double u) {
    gka_solver_opts_t o = gka_solver_opts_default();
    if (sc->iters > 0) o.iters = sc->iters;
    /* On the early, low-rank tokens CG's residual falls to roundoff level in
     * a step or two; the plain variant would go on to divide roundoff by
     * roundoff (p^T A p ~ 0). A tolerance of u stops it at attainable accuracy. */
    if (sc->alg == ALG_CG) o.tol = u;
    snprintf(o.variant, sizeof o.variant, "%s", sc->variant);
    gka_solver_t *s;
    cr_assert_eq(gka_solver_create(&s, sc->name, &o, A, D), GKA_OK, "%s: %s", sc->name,
                 gka_error_message());
    return s;
}

/* The same problem as the low-precision stream's current token (its rounded
 * H, q and lambda, all exact in the wider table), solved by the wider solver. */
static void solve_hi_same_problem(const gka_stream_t *lo, gka_solver_t *s_hi, gka_arith_t *A_hi,
                                  double *x64) {
    gka_ridge_t fixed = {GKA_RIDGE_FIXED, lo->lambda64};
    gka_stream_t *hi;
    cr_assert_eq(gka_stream_create(&hi, A_hi, D, &fixed, 0), GKA_OK, "%s", gka_error_message());
    cr_assert_eq(gka_stream_set_H(hi, lo->H64), GKA_OK, "%s", gka_error_message());
    cr_assert_eq(gka_stream_set_query(hi, lo->q64), GKA_OK, "%s", gka_error_message());
    void *x = A_hi->alloc(A_hi, D);
    tl_solve(s_hi, hi, x, x64);
    A_hi->free(A_hi, x, D);
    gka_stream_destroy(hi);
}

typedef struct {
    double worst_exact, worst_hi; /* worst err / bound over the tokens */
    double max_hi_u;              /* max_t ||x - x_hi|| / ||x_hi|| / u */
    long differ, total;           /* elements of x != fl(x_hi), out of all */
} run_result_t;

/* How many of the D elements of x differ from x_hi rounded to A (nearest). */
static int count_differ_from_rounded(gka_arith_t *A, const double *x, const double *x_hi) {
    void *r = A->alloc(A, D);
    double fl[D];
    A->from_double(A, r, x_hi, D);
    A->to_double(A, fl, r, D);
    A->free(A, r, D);
    int n = 0;
    for (int i = 0; i < D; i++)
        n += x[i] != fl[i];
    return n;
}

static run_result_t run_case(const solver_case_t *sc, const table_case_t *tc, const tl_seq_t *seq) {
    gka_arith_t A, A_hi;
    char hi_name[32];
    snprintf(hi_name, sizeof hi_name, "mpfr:%d", tc->t + 32);
    init_table(&A, tc->format, tc->accum);
    init_table(&A_hi, hi_name, "round");
    gka_ridge_t ridge;
    cr_assert_eq(gka_ridge_parse(RIDGE, &ridge), GKA_OK);
    gka_stream_t *st, *st_hi = NULL; /* st_hi: the recursive solvers' own wide stream */
    cr_assert_eq(gka_stream_create(&st, &A, D, &ridge, 0), GKA_OK, "%s", gka_error_message());
    if (sc->recursive)
        cr_assert_eq(gka_stream_create(&st_hi, &A_hi, D, &ridge, 0), GKA_OK, "%s",
                     gka_error_message());
    const double u = ldexp(1.0, -tc->t);
    gka_solver_t *s = make_solver(sc, &A, u), *s_hi = make_solver(sc, &A_hi, ldexp(u, -32));
    void *x = A.alloc(&A, D), *x_hi = A_hi.alloc(&A_hi, D);
    run_result_t res = {0.0, 0.0, 0.0, 0, 0};
    for (long t = 0; t < seq->T; t++) {
        cr_assert_eq(tl_push(st, seq, t), GKA_OK, "%s", gka_error_message());
        double x64[D], xref[D], xhi64[D];
        const gka_solve_info_t info = tl_solve(s, st, x, x64);
        cr_assert(info.reason == GKA_REASON_CONVERGED || info.reason == GKA_REASON_ITERATION_LIMIT,
                  "%s/%s on %s/%s t=%ld: %s", sc->name, sc->variant, tc->format, tc->accum, t,
                  gka_reason_name(info.reason));
        if (sc->recursive) { /* the wide recursion fed the low stream's rounded inputs */
            cr_assert_eq(gka_stream_push(st_hi, st->q64, st->k64, seq->g ? seq->g[t] : 0.0,
                                         seq->beta ? seq->beta[t] : 1.0, NULL),
                         GKA_OK);
            tl_solve(s_hi, st_hi, x_hi, xhi64);
        } else {
            solve_hi_same_problem(st, s_hi, &A_hi, xhi64);
        }
        tl_reference(st, xref);
        const double kappa = (st->hnorm64 + st->lambda64) / st->lambda64;
        const double round_bound = sc->C * D * u * kappa * (sc->recursive ? (double)(t + 1) : 1.0);
        const double exact_bound = alg_bound(sc->alg, sc->iters, kappa, u) + round_bound;
        /* the fp64 reference itself is accurate to ~kappa 2^-53 */
        const double ref_slack = 4.0 * D * kappa * 0x1p-53;
        const double e_exact = tl_relerr(x64, xref, D), e_hi = tl_relerr(x64, xhi64, D);
        cr_assert(e_exact <= exact_bound + ref_slack, "%s/%s on %s/%s t=%ld: err %.3e > bound %.3e",
                  sc->name, sc->variant, tc->format, tc->accum, t, e_exact, exact_bound);
        cr_assert(e_hi <= round_bound, "%s/%s on %s/%s t=%ld: err vs %s %.3e > bound %.3e",
                  sc->name, sc->variant, tc->format, tc->accum, t, hi_name, e_hi, round_bound);
        res.worst_exact = fmax(res.worst_exact, e_exact / (exact_bound + ref_slack));
        res.worst_hi = fmax(res.worst_hi, e_hi / round_bound);
        res.max_hi_u = fmax(res.max_hi_u, e_hi / u);
        cr_assert_eq(count_differ_from_rounded(&A, x64, x64), 0,
                     "%s/%s on %s/%s t=%ld: the answer holds values the table cannot represent",
                     sc->name, sc->variant, tc->format, tc->accum, t);
        res.differ += count_differ_from_rounded(&A, x64, xhi64);
        res.total += D;
    }
    A.free(&A, x, D);
    A_hi.free(&A_hi, x_hi, D);
    gka_solver_destroy(s);
    gka_solver_destroy(s_hi);
    gka_stream_destroy(st);
    gka_stream_destroy(st_hi);
    gka_arith_destroy(&A);
    gka_arith_destroy(&A_hi);
    return res;
}

Test(solver_generic, every_solver_every_table_within_its_bounds) {
    tl_seq_t seq = tl_seq(D, T, SEED, GATE, 1, 0.5);
    for (int i = 0; i < NSOLVERS; i++) {
        const solver_case_t *sc = &SOLVERS[i];
        double worst_hi = 0.0;
        for (int j = 0; j < NTABLES; j++) {
            const table_case_t *tc = &TABLES[j];
            const run_result_t r = run_case(sc, tc, &seq);
            if (verbose())
                fprintf(stderr,
                        "%-9s %-7s %-8s %-5s  exact/bound %.3e  hi/bound %.3e  hi/u %.3e  differ "
                        "%ld/%ld\n",
                        sc->name, sc->variant, tc->format, tc->accum, r.worst_exact, r.worst_hi,
                        r.max_hi_u, r.differ, r.total);
            cr_assert(r.differ * 4 >= r.total,
                      "%s/%s on %s/%s: only %ld of %ld elements differ from the mpfr:%d answer "
                      "rounded to the table: its rounding is not visible (iterates in a wider "
                      "arithmetic?)",
                      sc->name, sc->variant, tc->format, tc->accum, r.differ, r.total, tc->t + 32);
            worst_hi = fmax(worst_hi, r.worst_hi);
        }
        cr_assert(worst_hi >= 1e-2, "%s/%s: worst err/bound %.3e: bound too loose to test anything",
                  sc->name, sc->variant, worst_hi);
    }
    tl_seq_free(&seq);
}

/* mpfr:53 rounding every operation performs the same IEEE double operations as
 * the fp64 table, so every solver's answer is the same bits. */
Test(solver_generic, mpfr53_round_is_fp64_bit_for_bit) {
    tl_seq_t seq = tl_seq(D, T, SEED, GATE, 1, 0.5);
    gka_ridge_t ridge;
    cr_assert_eq(gka_ridge_parse(RIDGE, &ridge), GKA_OK);
    for (int i = 0; i < NSOLVERS; i++) {
        const solver_case_t *sc = &SOLVERS[i];
        gka_arith_t A64, Am;
        init_table(&A64, "fp64", "round");
        init_table(&Am, "mpfr:53", "round");
        gka_stream_t *s64, *sm;
        cr_assert_eq(gka_stream_create(&s64, &A64, D, &ridge, 0), GKA_OK);
        cr_assert_eq(gka_stream_create(&sm, &Am, D, &ridge, 0), GKA_OK);
        gka_solver_t *v64 = make_solver(sc, &A64, 0x1p-53), *vm = make_solver(sc, &Am, 0x1p-53);
        void *x64e = A64.alloc(&A64, D), *xme = Am.alloc(&Am, D);
        for (long t = 0; t < seq.T; t++) {
            tl_push(s64, &seq, t);
            tl_push(sm, &seq, t);
            double a[D], b[D];
            tl_solve(v64, s64, x64e, a);
            tl_solve(vm, sm, xme, b);
            for (int k = 0; k < D; k++)
                cr_assert(memcmp(&a[k], &b[k], sizeof(double)) == 0,
                          "%s/%s t=%ld x[%d]: fp64 %a, mpfr:53 %a", sc->name, sc->variant, t, k,
                          a[k], b[k]);
        }
        A64.free(&A64, x64e, D);
        Am.free(&Am, xme, D);
        gka_solver_destroy(v64);
        gka_solver_destroy(vm);
        gka_stream_destroy(s64);
        gka_stream_destroy(sm);
        gka_arith_destroy(&A64);
        gka_arith_destroy(&Am);
    }
    tl_seq_free(&seq);
}
