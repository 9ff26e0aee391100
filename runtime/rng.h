/* SPDX-License-Identifier: Apache-2.0 */
/* Deterministic random numbers: MT19937 seeded and sampled the way NumPy's legacy RandomState is.
 */
#ifndef QRUN_RUNTIME_RNG_H
#define QRUN_RUNTIME_RNG_H

#include <stdint.h>

/*
 * Why NumPy's generator: the ONNX reference implementation draws random ops
 * (training-mode Dropout with a `seed`) from np.random.seed(seed) followed
 * by np.random.uniform; using the same generator makes a seeded model give
 * the same numbers here as in the reference, and the same every run.
 */
typedef struct qrun_rng {
    uint32_t mt[624];
    int index;
} qrun_rng;

/** @brief Seed like np.random.seed(seed) for 0 <= seed < 2^32 (init_genrand). */
void qrun_rng_seed(qrun_rng *r, uint32_t seed);
/** @brief Next 32-bit output (genrand_int32). */
uint32_t qrun_rng_u32(qrun_rng *r);
/** @brief Uniform double in [0, 1) with 53 random bits, as np.random.random_sample. */
double qrun_rng_uniform(qrun_rng *r);

#endif
