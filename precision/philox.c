/* Counter-based random numbers: Philox 4x32-10 (Salmon, Moraes, Dror, Shaw,
 * "Parallel random numbers: as easy as 1, 2, 3", SC 2011). A pure function of
 * (counter, key), so results never depend on call order or thread count. */
#include "gka_precision.h"

#include <math.h>

enum { PHILOX_ROUNDS = 10 };
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u /* golden ratio */
#define PHILOX_W1 0xBB67AE85u /* sqrt(3) - 1 */

static void philox_round(uint32_t c[4], const uint32_t k[2]) {
    const uint64_t p0 = (uint64_t)PHILOX_M0 * c[0];
    const uint64_t p1 = (uint64_t)PHILOX_M1 * c[2];
    const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c[1] ^ k[0];
    const uint32_t n1 = (uint32_t)p1;
    const uint32_t n2 = (uint32_t)(p0 >> 32) ^ c[3] ^ k[1];
    const uint32_t n3 = (uint32_t)p0;
    c[0] = n0;
    c[1] = n1;
    c[2] = n2;
    c[3] = n3;
}

void gka_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]};
    uint32_t k[2] = {key[0], key[1]};
    for (int i = 0; i < PHILOX_ROUNDS; i++) {
        if (i > 0) {
            k[0] += PHILOX_W0;
            k[1] += PHILOX_W1;
        }
        philox_round(c, k);
    }
    for (int i = 0; i < 4; i++)
        out[i] = c[i];
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
