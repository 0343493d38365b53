/* Philox 4x32-10 (Salmon, Moraes, Dror, Shaw, SC 2011), one round written
 * once for every lane type: philox.c (the reference, checked against the
 * Random123 known answers), the array rounding's scalar loop
 * (round_array.c) and its vector fills (round_array_wide.c). Not part of
 * the public API. */
#ifndef GKA_PHILOX_INTERNAL_H
#define GKA_PHILOX_INTERNAL_H

#include <stdint.h>

enum { GKA_PHILOX_ROUNDS = 10 };
#define GKA_PHILOX_M0 0xD2511F53u
#define GKA_PHILOX_M1 0xCD9E8D57u
#define GKA_PHILOX_W0 0x9E3779B9u /* golden ratio */
#define GKA_PHILOX_W1 0xBB67AE85u /* sqrt(3) - 1 */

/* One round in place on the words (x0, x1, x2, x3) of lanes of type T
 * (uint32_t or a GCC vector of them) with the round key (k0, k1), scalars
 * (one key for all lanes); GKA_PHILOX_ROUNDS rounds with the key advanced
 * by GKA_PHILOX_BUMP between them make the block. MULHILO(a, m, hi, lo)
 * sets hi and lo to the high and low 32 bits of the product a * m in each
 * lane: GKA_MULHILO_U32 for scalars, even and odd lanes apart for vectors
 * (round_array_wide.c). */
#define GKA_PHILOX_ROUND(T, MULHILO, x0, x1, x2, x3, k0, k1)                                       \
    do {                                                                                           \
        T hi0_, lo0_, hi1_, lo1_;                                                                  \
        MULHILO(x0, GKA_PHILOX_M0, hi0_, lo0_);                                                    \
        MULHILO(x2, GKA_PHILOX_M1, hi1_, lo1_);                                                    \
        x0 = hi1_ ^ x1 ^ (k0);                                                                     \
        x2 = hi0_ ^ x3 ^ (k1);                                                                     \
        x1 = lo1_;                                                                                 \
        x3 = lo0_;                                                                                 \
    } while (0)
#define GKA_PHILOX_BUMP(k0, k1)                                                                    \
    do {                                                                                           \
        (k0) += GKA_PHILOX_W0;                                                                     \
        (k1) += GKA_PHILOX_W1;                                                                     \
    } while (0)
#define GKA_MULHILO_U32(a, m, hi, lo)                                                              \
    do {                                                                                           \
        const uint64_t p_ = (uint64_t)(m) * (a);                                                   \
        hi = (uint32_t)(p_ >> 32);                                                                 \
        lo = (uint32_t)p_;                                                                         \
    } while (0)

#endif
