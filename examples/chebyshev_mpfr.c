/* Chebyshev iteration in 200-bit MPFR arithmetic over a synthetic stream,
 * measured against an MPFR reference: the same stream kept at 400 bits and
 * solved by Cholesky at 400 bits.
 *
 * At 200 bits round-off is far below what the iteration itself leaves, so
 * the error is the Chebyshev iteration error alone, which MATH.md section 2's bound
 * predicts: with kappa = L / mu = (||H||_F + lambda) / lambda and
 * R = (sqrt(kappa) - 1) / (sqrt(kappa) + 1), r steps reduce the A-norm error
 * by 2 R^r / (1 + R^2r); in the 2-norm that is at most sqrt(kappa) times as
 * much. An fp64 reference could not show this: it is itself only good to
 * about 1e-16.
 *
 * The elements of an MPFR table are mpfr_t values (__mpfr_struct), so the
 * difference x_200 - x_400 is taken exactly with MPFR itself.
 *
 *   build: cc chebyshev_mpfr.c $(pkg-config --cflags --libs gka mpfr) -o chebyshev_mpfr */
#include <math.h>
#include <mpfr.h>
#include <stdio.h>

#include "gka_data.h"
#include "gka_stream.h"

enum { D = 12, T = 16, R_ITERS = 300, PREC = 200, PREC_REF = 400 };

/* ||x - y|| / ||y|| for x at PREC bits, y at PREC_REF bits, in PREC_REF bits. */
static double rel_error(const gka_arith_t *Ax, const void *x, const gka_arith_t *Ay,
                        const void *y) {
    mpfr_t d, num, den;
    mpfr_inits2(PREC_REF, d, num, den, (mpfr_ptr)0);
    mpfr_set_zero(num, 1);
    mpfr_set_zero(den, 1);
    for (int i = 0; i < D; i++) {
        mpfr_srcptr xi = GKA_CELEM(Ax, x, i), yi = GKA_CELEM(Ay, y, i);
        mpfr_sub(d, xi, yi, MPFR_RNDN); /* x_i has 200 bits: exact at 400 */
        mpfr_fma(num, d, d, num, MPFR_RNDN);
        mpfr_fma(den, yi, yi, den, MPFR_RNDN);
    }
    mpfr_div(num, num, den, MPFR_RNDN);
    mpfr_sqrt(num, num, MPFR_RNDN);
    double e = mpfr_get_d(num, MPFR_RNDN);
    mpfr_clears(d, num, den, (mpfr_ptr)0);
    return e;
}

/* MATH.md section 2's bound on the 2-norm relative error after r steps. */
static double chebyshev_bound(double hnorm, double lambda, int r) {
    double kappa = (hnorm + lambda) / lambda;
    double R = (sqrt(kappa) - 1) / (sqrt(kappa) + 1);
    double Rr = pow(R, r);
    return sqrt(kappa) * 2 * Rr / (1 + Rr * Rr);
}

int main(void) {
    gka_synth_config_t sc = gka_synth_config_default(D, T, 3);
    gka_trace_t tr = {0};
    gka_arith_t A = {0}, Aref = {0};
    gka_stream_t *st = NULL, *st_ref = NULL;
    gka_solver_t *cheb = NULL, *chol = NULL;
    gka_ridge_t ridge;
    gka_solver_opts_t opts = gka_solver_opts_default();
    opts.iters = R_ITERS;
    int ok = gka_synth_generate(&sc, &tr) == GKA_OK &&
             gka_arith_init_mpfr(&A, PREC, GKA_ACCUM_PER_OP) == GKA_OK &&
             gka_arith_init_mpfr(&Aref, PREC_REF, GKA_ACCUM_PER_OP) == GKA_OK &&
             gka_ridge_parse("adaptive:0.02", &ridge) == GKA_OK &&
             gka_stream_create(&st, &A, D, &ridge, 0) == GKA_OK &&
             gka_stream_create(&st_ref, &Aref, D, &ridge, 0) == GKA_OK &&
             gka_solver_create(&cheb, "chebyshev", &opts, &A, D) == GKA_OK &&
             gka_solver_create(&chol, "cholesky", NULL, &Aref, D) == GKA_OK;
    void *x = ok ? A.alloc(&A, D) : NULL, *x_ref = ok ? Aref.alloc(&Aref, D) : NULL;
    int within = 1;
    double worst = 0.0;
    printf("  t  err (mpfr:%d vs mpfr:%d)  bound (r = %d)\n", PREC, PREC_REF, R_ITERS);
    for (long t = 0; ok && x && x_ref && t < T; t++) {
        const double *q = tr.q + t * D, *k = tr.k + t * D;
        gka_solve_info_t info, info_ref;
        ok = gka_stream_push(st, q, k, 0.0, 1.0, NULL) == GKA_OK &&
             gka_stream_push(st_ref, q, k, 0.0, 1.0, NULL) == GKA_OK &&
             gka_solver_solve(cheb, st, x, &info) == GKA_OK &&
             gka_solver_solve(chol, st_ref, x_ref, &info_ref) == GKA_OK;
        if (!ok) break;
        double err = rel_error(&A, x, &Aref, x_ref);
        double bound = chebyshev_bound(A.get_d(&A, st->hnorm), A.get_d(&A, st->lambda), R_ITERS);
        printf("%3ld  %.3e                  %.3e\n", t, err, bound);
        within &= err <= bound;
        if (err > worst) worst = err;
    }
    if (!ok || !x || !x_ref)
        fprintf(stderr, "%s\n", gka_error_message());
    else {
        printf("max error %.3e; every token within the Chebyshev bound: %s\n", worst,
               within ? "yes" : "no");
    }
    if (x) A.free(&A, x, D);
    if (x_ref) Aref.free(&Aref, x_ref, D);
    gka_solver_destroy(cheb);
    gka_solver_destroy(chol);
    gka_stream_destroy(st);
    gka_stream_destroy(st_ref);
    gka_arith_destroy(&A);
    gka_arith_destroy(&Aref);
    gka_trace_free(&tr);
    return ok && x && x_ref ? 0 : 1;
}
