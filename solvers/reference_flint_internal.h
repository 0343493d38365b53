/* Internal helpers of reference_flint.c shared with reference_arb.c (both are
 * full-build only): exact conversion of doubles to rationals and the exact
 * matrix of a gated key stream. Not installed, not public API. */
#ifndef GKA_REFERENCE_FLINT_INTERNAL_H
#define GKA_REFERENCE_FLINT_INTERNAL_H

#include <flint/fmpq.h>
#include <flint/fmpq_mat.h>

#include "gka_error.h"

/* r = d exactly (d finite). */
void gka_ref_fmpq_set_d(fmpq_t r, double d);

/* Validate (D, T, K, gamma, beta) for function `fn` and set H (initialised by
 * the caller as D x D) to the exact H_T = sum_t (prod_{s>t} gamma_s)
 * beta_t^2 k_t k_t^T. */
gka_status_t gka_ref_stream_fmpq(const char *fn, fmpq_mat_t H, int D, int T, const double *K,
                                 const double *gamma, const double *beta);

#endif
