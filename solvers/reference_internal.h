/* Internal helpers shared by the reference_*.c files (not installed, not part
 * of the public API): argument validation with messages, and fp64
 * eigenvectors for the certified condition number. */
#ifndef GKA_REFERENCE_INTERNAL_H
#define GKA_REFERENCE_INTERNAL_H

#include <stddef.h>

#include "gka_error.h"

/* Largest D accepted by any reference (keeps D*D far from overflow). */
#define GKA_REF_MAX_D 16384

/* D in [1, GKA_REF_MAX_D]; `fn` names the calling function in messages. */
gka_status_t gka_ref_check_dim(const char *fn, int D);

/* M (D x D) non-NULL, finite, and exactly symmetric if `need_symmetric`. */
gka_status_t gka_ref_check_matrix(const char *fn, const char *name, int D, const double *M,
                                  int need_symmetric);

/* v (length n) non-NULL and finite. */
gka_status_t gka_ref_check_vector(const char *fn, const char *name, size_t n, const double *v);

/* value finite and >= 0. */
gka_status_t gka_ref_check_nonneg(const char *fn, const char *name, double value);

/* prec in [GKA_REF_MIN_PREC, GKA_REF_MAX_PREC]. */
gka_status_t gka_ref_check_prec(const char *fn, long prec);

/* Everything a (H, lambda_or_a, q) problem needs; q may be NULL if absent. */
gka_status_t gka_ref_check_problem(const char *fn, int D, const double *H, double lambda_or_a,
                                   const double *q);

/* Eigen-decomposition of symmetric A (row-major D x D) in fp64 with dsyev:
 * w ascending (length D), V row-major with eigenvector j in column j. */
gka_status_t gka_ref_eigvecs_fp64(int D, const double *A, double *w, double *V);

#endif
