/* Rounding entry points that take the stochastic draw as an argument
 * instead of drawing it from the context's generator: the one decision of
 * gka_round_tail and of the array kernels, exposed so that the tests can
 * evaluate it at chosen draws (the probability of rounding up is then read
 * off the decision's threshold exactly, not estimated by sampling). Not part
 * of the public API. */
#ifndef GKA_ROUND_INTERNAL_H
#define GKA_ROUND_INTERNAL_H

#include "gka_precision.h"

/* gka_round_tail with the 64 random bits `draw` in place of
 * gka_philox_u64(seed, stream, counter) (ignored by deterministic modes);
 * r->counter is not touched and the context is not checked. */
double gka_round_tail_draw(double x, int tail_sign, uint64_t draw, gka_rounding_t *r);

/* The float32 stochastic kernel of gka_round_array_f32 on n patterns with
 * the given draws (draws[i] for element i); the context must be valid, in a
 * stochastic mode, on a format made of float32 values. Returns the flags. */
unsigned gka_round_f32_draws(uint32_t *out, const uint32_t *in, const uint64_t *draws, size_t n,
                             const gka_rounding_t *r);

#endif
