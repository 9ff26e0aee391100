/* SPDX-License-Identifier: Apache-2.0 */
/* MT19937 (Matsumoto & Nishimura 1998) with NumPy's legacy seeding and double sampling. */
#include "runtime/rng.h"

#define MT_N 624
#define MT_M 397

void qrun_rng_seed(qrun_rng *r, uint32_t seed) {
    r->mt[0] = seed;
    for (int i = 1; i < MT_N; i++)
        r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->index = MT_N;
}

static void mt_twist(qrun_rng *r) {
    for (int i = 0; i < MT_N; i++) {
        uint32_t y = (r->mt[i] & 0x80000000u) | (r->mt[(i + 1) % MT_N] & 0x7fffffffu);
        uint32_t v = r->mt[(i + MT_M) % MT_N] ^ (y >> 1);
        r->mt[i] = (y & 1u) ? v ^ 0x9908b0dfu : v;
    }
    r->index = 0;
}

uint32_t qrun_rng_u32(qrun_rng *r) {
    if (r->index >= MT_N)
        mt_twist(r);
    uint32_t y = r->mt[r->index++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

double qrun_rng_uniform(qrun_rng *r) {
    uint32_t a = qrun_rng_u32(r) >> 5, b = qrun_rng_u32(r) >> 6;
    return ((double)a * 67108864.0 + (double)b) / 9007199254740992.0;
}
