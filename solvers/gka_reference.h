/* Reference answers for the ridge solve (A) x = q, A = H + lambda I: the truth
 * the solvers of issue 3 are measured against.
 *
 *   fp64 (reference_lapack.c, LAPACKE):  x* by Cholesky (dposv); eigenvalues
 *        (dsyev); kappa(A); a * ||H||_F; residual.  Fast: per-token metrics.
 *   MPFR (reference_mpfr.c):   Cholesky solve in `prec`-bit binary floating
 *        point (default 256 bits) from the exact double inputs.
 *   FLINT (reference_flint.c): the exact rational solution (fmpq_mat) from the
 *        exact binary values of the inputs; H of a gated stream built exactly.
 *   Arb (reference_arb.c):     certified enclosures (balls) of x* and of kappa,
 *        also for the irrational adaptive lambda = a ||H||_F.
 *
 * Conventions shared by every function:
 *   - Matrices are dense, row-major, D x D doubles; vectors have length D.
 *     H must be exactly symmetric: H[i*D+j] == H[j*D+i] bit for bit (else
 *     GKA_EINVAL); S of the eigenvalue functions need not be. Form H_t = gamma H + w k k^T
 * entrywise as gamma*H_ij + w*(k_i*k_j): that is exactly symmetric, whereas (w*k_i)*k_j is not
 * (rounding differs between (i,j) and (j,i)).
 *   - Inputs are never modified; outputs are written only on GKA_OK.
 *   - Status codes (with gka_error() message naming the argument/value):
 *       GKA_EINVAL   D <= 0, NULL pointer, lambda < 0, prec out of range,
 *                    H not symmetric;
 *       GKA_ENODATA  a NaN or Inf in H, lambda, q (or keys/gates);
 *       GKA_ENUMERIC H + lambda I is not (certifiably) positive definite;
 *       GKA_ENOMEM   allocation failed;
 *       GKA_ERANGE   a result overflows double.
 *   - Availability: in the GKA_MINIMAL build only reference_check.c is
 *     compiled (the checks, gka_ref_rel_residual_fp64, gka_ref_rel_error and
 *     gka_ref_solve_cholesky64); guard the others with GKA_HAVE_LAPACK,
 *     GKA_HAVE_MPFR, GKA_HAVE_FLINT, GKA_HAVE_ARB from gka_config.h.
 *   - No function aborts, exits or prints.
 *
 * Ridge parameter: "fixed" lambda is any finite double >= 0 and is used as
 * the exact binary number it is. "adaptive" means lambda = a * ||H||_F, which
 * is irrational in general: the fp64 and MPFR functions round it (see each
 * function), Arb encloses it in a ball, FLINT exact functions accept only a
 * fixed lambda (pass a * ||H||_F rounded to a double if you want the exact
 * solution of that rounded problem). */
#ifndef GKA_REFERENCE_H
#define GKA_REFERENCE_H

#include "gka_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default working precision (bits) of the MPFR and Arb references. */
#define GKA_REF_DEFAULT_PREC 256L
/* Accepted range of `prec` for the MPFR and Arb references. */
#define GKA_REF_MIN_PREC 53L
#define GKA_REF_MAX_PREC 65536L

/* ---------------------------------------------------------------- fp64 --- */

/* x = (H + lambda I)^{-1} q in fp64 by Cholesky (LAPACKE_dposv on a copy).
 * Forward error about kappa(A) * D * 2^-53. GKA_ENUMERIC if dpotrf finds a
 * non-positive pivot. */
gka_status_t gka_ref_solve_fp64(int D, const double *H, double lambda, const double *q, double *x);

/* The same without LAPACK (every build): the Cholesky solver of gka_solver.h
 * on the fp64 table, then three steps of iterative refinement with the
 * residual summed in long double. GKA_ENUMERIC if a pivot is <= 0. */
gka_status_t gka_ref_solve_cholesky64(int D, const double *H, double lambda, const double *q,
                                      double *x);

/* All eigenvalues of the symmetric matrix S, ascending (LAPACKE_dsyev).
 * S need not be definite. Here S may be slightly asymmetric (e.g. a Kalman
 * P_t computed in low precision): the eigenvalues are those of the symmetric
 * part (S + S^T)/2, formed in fp64. eig has length D. */
gka_status_t gka_ref_eig_fp64(int D, const double *S, double *eig);

/* Smallest and largest eigenvalue of the symmetric part of S (as above);
 * either output pointer may be NULL. Use for lambda_min(P_t) of Kalman. */
gka_status_t gka_ref_eig_extremes_fp64(int D, const double *S, double *eig_min, double *eig_max);

/* 2-norm condition number of A = H + lambda I from its fp64 eigenvalues:
 * kappa = eig_max / eig_min. GKA_ENUMERIC if eig_min <= 0 in fp64. The
 * absolute error of each eigenvalue is about D * 2^-53 * ||A||_2, so the
 * relative error of kappa is about D * 2^-53 * kappa. */
gka_status_t gka_ref_kappa_fp64(int D, const double *H, double lambda, double *kappa);

/* ||H||_F in fp64 (LAPACKE_dlange 'F', scaled: no spurious overflow). */
gka_status_t gka_ref_frobenius_fp64(int D, const double *H, double *norm);

/* Adaptive ridge lambda = a * ||H||_F in fp64 (a >= 0 finite). */
gka_status_t gka_ref_lambda_fp64(int D, const double *H, double a, double *lambda);

/* Relative residual ||q - (H + lambda I) x||_2 / ||q||_2, accumulated in
 * long double (so that it stays meaningful for an fp64 x). If q == 0 the
 * absolute residual is returned. */
gka_status_t gka_ref_rel_residual_fp64(int D, const double *H, double lambda, const double *q,
                                       const double *x, double *rel_residual);

/* Relative forward error ||x - x_ref||_2 / ||x_ref||_2 (absolute if x_ref is
 * zero). GKA_ENODATA if x or x_ref has a NaN/Inf: a NaN never passes. */
gka_status_t gka_ref_rel_error(int D, const double *x, const double *x_ref, double *rel_error);

/* ---------------------------------------------------------------- MPFR --- */

/* x = (H + lambda_eff I)^{-1} q by Cholesky in `prec`-bit MPFR arithmetic
 * (round to nearest), from the exact double entries; each x_i rounded to the
 * nearest double. If adaptive == 0, lambda_eff = lambda_or_a (exact double);
 * if adaptive != 0, lambda_eff = a * ||H||_F evaluated in prec bits.
 * Error about kappa(A) * D * 2^-prec relative, plus the final rounding.
 * GKA_ENUMERIC if a pivot is <= 0 at this precision. */
gka_status_t gka_ref_solve_mpfr(int D, const double *H, double lambda_or_a, int adaptive,
                                const double *q, long prec, double *x);

/* --------------------------------------------------------------- FLINT --- */

/* The exact solution x* of (H + lambda I) x = q over the rationals (the
 * inputs are exact binary numbers), each x*_i correctly rounded to the
 * nearest double (ties to even; subnormals rounded correctly). Exact
 * rational arithmetic (fmpq_mat_solve): cost grows fast with D; intended for
 * D <= 64 (D > 256 is rejected with GKA_EINVAL). GKA_ENUMERIC if the matrix
 * is singular or not positive definite (checked exactly: all leading
 * principal minors > 0). */
gka_status_t gka_ref_solve_exact(int D, const double *H, double lambda, const double *q, double *x);

/* Exact check: *inside = 1 if for every i the exact x*_i satisfies
 * mid_i - rad_i <= x*_i <= mid_i + rad_i (comparison in rationals), else 0.
 * Use it to check that a certified ball (gka_ref_solve_arb) contains the
 * exact solution. rad_i >= 0 required. */
gka_status_t gka_ref_exact_in_ball(int D, const double *H, double lambda, const double *q,
                                   const double *mid, const double *rad, int *inside);

/* H_T of a gated stream, exactly: H_t = gamma_t H_{t-1} + beta_t^2 k_t k_t^T,
 * H_0 = 0, so H_T = sum_t (prod_{s>t} gamma_s) beta_t^2 k_t k_t^T, in
 * rationals from the exact doubles K (T x D row-major: row t is k_t), gamma
 * (length T, NULL means all 1) and beta (length T, NULL means all 1).
 * exp(g) is not rational: pass gamma_t already rounded to double (that exact
 * double is what is used). The exact H_T is rounded entrywise to nearest
 * double into H_out (D x D). T >= 1. */
gka_status_t gka_ref_stream_H_exact(int D, int T, const double *K, const double *gamma,
                                    const double *beta, double *H_out);

/* Exact solution of (H_T + lambda I) x = q with H_T the exact stream matrix
 * above (not its rounding), x rounded to nearest double. */
gka_status_t gka_ref_stream_solve_exact(int D, int T, const double *K, const double *gamma,
                                        const double *beta, double lambda, const double *q,
                                        double *x);

/* ----------------------------------------------------------------- Arb --- */

/* Certified enclosure of the exact x* of (H + lambda I) x = q:
 *     mid_i - rad_i <= x*_i <= mid_i + rad_i    rigorously,
 * where lambda = lambda_or_a (exact double) if adaptive == 0, or the exact
 * real a * ||H||_F if adaptive != 0 (enclosed by arb_sqrt of the exact sum of
 * squares). mid_i is the ball midpoint rounded to nearest double and rad_i
 * is rounded upward and includes that rounding. Computed with
 * arb_mat_spd_solve at `prec` bits; if SPD cannot be certified, retried at
 * 4 * prec; then GKA_ENUMERIC. mid and rad must not be NULL. */
gka_status_t gka_ref_solve_arb(int D, const double *H, double lambda_or_a, int adaptive,
                               const double *q, long prec, double *mid, double *rad);

/* As gka_ref_solve_arb for the exact stream matrix H_T of
 * gka_ref_stream_H_exact (K, gamma, beta as there). */
gka_status_t gka_ref_stream_solve_arb(int D, int T, const double *K, const double *gamma,
                                      const double *beta, double lambda_or_a, int adaptive,
                                      const double *q, long prec, double *mid, double *rad);

/* Certified interval kappa_lo <= kappa(H + lambda I) <= kappa_hi (2-norm),
 * lambda as in gka_ref_solve_arb. Method: fp64 eigenvectors (dsyev) give
 * (refined by Rayleigh-Ritz in Arb on eigenvalue clusters that fp64 cannot
 * order) Rayleigh quotients, evaluated in Arb, that bound lambda_min from above and
 * lambda_max from below; a certified Arb Cholesky of A - s I (resp. s I - A)
 * proves lambda_min > s (resp. lambda_max < s), trying s = r (1 -+ 2^-40),
 * r (1 -+ 2^-36), ..., r (1 -+ 2^-4) for the Rayleigh bound r. Both bounds are
 * outward rounded to double. Tightness: kappa_hi / kappa_lo - 1 = 1.8e-12
 * measured on random SPD, rank-deficient and kappa ~ 1e12 problems, D <= 32
 * (without the cluster refinement it was 2.4e-4 at kappa 2.7e12). Cost:
 * ~0.25 s at D = 128. GKA_ENUMERIC if A is not certified positive definite. */
gka_status_t gka_ref_kappa_arb(int D, const double *H, double lambda_or_a, int adaptive, long prec,
                               double *kappa_lo, double *kappa_hi);

/* Certified interval lo <= a * ||H||_F <= hi (outward rounded). */
gka_status_t gka_ref_lambda_arb(int D, const double *H, double a, long prec, double *lo,
                                double *hi);

#ifdef __cplusplus
}
#endif
#endif
