/* Counter-based random numbers: Philox 4x32-10 (Salmon, Moraes, Dror, Shaw,
 * "Parallel random numbers: as easy as 1, 2, 3", SC 2011). A pure function of
 * (counter, key), so results never depend on call order or thread count. */
#include "gka_precision.h"
#include "philox_internal.h"

#include <math.h>

void gka_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t x0 = ctr[0], x1 = ctr[1], x2 = ctr[2], x3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int i = 0; i < GKA_PHILOX_ROUNDS; i++) {
        GKA_PHILOX_ROUND(uint32_t, GKA_MULHILO_U32, x0, x1, x2, x3, k0, k1);
        GKA_PHILOX_BUMP(k0, k1);
    }
    out[0] = x0;
    out[1] = x1;
    out[2] = x2;
    out[3] = x3;
}

static void philox_block(uint64_t seed, uint64_t stream, uint64_t counter, uint32_t out[4]) {
    const uint32_t ctr[4] = {(uint32_t)counter, (uint32_t)(counter >> 32), (uint32_t)stream,
                             (uint32_t)(stream >> 32)};
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    gka_philox4x32_10(ctr, key, out);
}

uint64_t gka_philox_u64(uint64_t seed, uint64_t stream, uint64_t counter) {
    uint32_t w[4];
    philox_block(seed, stream, counter, w);
    return (uint64_t)w[0] | ((uint64_t)w[1] << 32);
}

double gka_philox_uniform(uint64_t seed, uint64_t stream, uint64_t counter) {
    return (double)(gka_philox_u64(seed, stream, counter) >> 11) * 0x1p-53;
}

double gka_philox_normal(uint64_t seed, uint64_t stream, uint64_t counter) {
    uint32_t w[4];
    philox_block(seed, stream, counter, w);
    const uint64_t a = (uint64_t)w[0] | ((uint64_t)w[1] << 32);
    const uint64_t b = (uint64_t)w[2] | ((uint64_t)w[3] << 32);
    const double u1 = (double)((a >> 11) + 1) * 0x1p-53; /* (0, 1]: log is finite */
    const double u2 = (double)(b >> 11) * 0x1p-53;       /* [0, 1) */
    const double two_pi = 6.283185307179586476925286766559;
    return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}
