/* Seeded test problems for the reference tests (test_reference_*.c):
 * random SPD matrices, rank-deficient H, ill-conditioned H + lambda I, and H
 * accumulated from L2-normalised random keys with decay and write gates, as
 * in MATH.md section 1. Self-contained PRNG (splitmix64) so that the cases are
 * identical on every platform. */
#ifndef GKA_TEST_REFERENCE_CASES_H
#define GKA_TEST_REFERENCE_CASES_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t s;
} ref_rng_t;

static inline uint64_t ref_rng_next(ref_rng_t *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double ref_rng_uniform(ref_rng_t *r) {
    return (double)(ref_rng_next(r) >> 11) * 0x1p-53;
}

/* Standard normal (Box-Muller). */
static inline double ref_rng_normal(ref_rng_t *r) {
    double u = ref_rng_uniform(r), v = ref_rng_uniform(r);
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

static inline void ref_random_vector(ref_rng_t *r, int n, double *v) {
    for (int i = 0; i < n; i++)
        v[i] = ref_rng_normal(r);
}

static inline void ref_normalise(int n, double *v) {
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += v[i] * v[i];
    s = sqrt(s) + 1e-6; /* as the layer does: q / (||q|| + 1e-6) */
    for (int i = 0; i < n; i++)
        v[i] /= s;
}

/* H += w k k^T as w (k_i k_j): k_i k_j == k_j k_i, so H stays exactly
 * symmetric ((w k_i) k_j would not be). */
static inline void ref_add_outer(int D, double *H, double w, const double *k) {
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++)
            H[i * D + j] += w * (k[i] * k[j]);
}

/* Full-rank SPD-ish H = G G^T / D with Gaussian G (PSD; SPD with prob. 1). */
static inline void ref_random_spd(ref_rng_t *r, int D, double *H) {
    double *g = malloc((size_t)D * sizeof *g);
    memset(H, 0, (size_t)D * (size_t)D * sizeof *H);
    for (int t = 0; t < D; t++) {
        ref_random_vector(r, D, g);
        ref_add_outer(D, H, 1.0 / D, g);
    }
    free(g);
}

/* H = sum of `rank` outer products of normalised random keys: PSD, rank < D. */
static inline void ref_low_rank(ref_rng_t *r, int D, int rank, double *H) {
    double *k = malloc((size_t)D * sizeof *k);
    memset(H, 0, (size_t)D * (size_t)D * sizeof *H);
    for (int t = 0; t < rank; t++) {
        ref_random_vector(r, D, k);
        ref_normalise(D, k);
        ref_add_outer(D, H, 1.0, k);
    }
    free(k);
}

/* A gated key stream of T tokens: K (T x D) normalised keys, gamma_t =
 * exp(g_t) with g_t uniform in [-0.2, 0], beta_t = sigmoid(normal). */
static inline void ref_gated_stream(ref_rng_t *r, int D, int T, double *K, double *gamma,
                                    double *beta) {
    for (int t = 0; t < T; t++) {
        ref_random_vector(r, D, K + (size_t)t * (size_t)D);
        ref_normalise(D, K + (size_t)t * (size_t)D);
        gamma[t] = exp(-0.2 * ref_rng_uniform(r));
        beta[t] = 1.0 / (1.0 + exp(-ref_rng_normal(r)));
    }
}

/* H_T = gamma_t H_{t-1} + beta_t^2 k_t k_t^T in fp64 (the recursion of MATH.md section 1). */
static inline void ref_stream_H_fp64(int D, int T, const double *K, const double *gamma,
                                     const double *beta, double *H) {
    memset(H, 0, (size_t)D * (size_t)D * sizeof *H);
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < D * D; i++)
            H[i] *= gamma[t];
        ref_add_outer(D, H, beta[t] * beta[t], K + (size_t)t * (size_t)D);
    }
}

static inline double ref_norm2(int n, const double *v) {
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += v[i] * v[i];
    return sqrt(s);
}

/* ||a - b||_2 */
static inline double ref_dist2(int n, const double *a, const double *b) {
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += (a[i] - b[i]) * (a[i] - b[i]);
    return sqrt(s);
}

#endif
