/* SPDX-License-Identifier: Apache-2.0 */
/* Function multiversioning for hot loops: one place that knows which targets to build. */
#ifndef QRUN_RUNTIME_TARGET_CLONES_H
#define QRUN_RUNTIME_TARGET_CLONES_H

/*
 * QRUN_TARGET_CLONES before a function builds it for AVX-512 and AVX2
 * machines as well as the baseline, chosen once at load time (GCC ifunc).
 * Results do not change: integer arithmetic is exact, and float code is
 * never contracted into FMAs under ISO C (-std=c11 means -ffp-contract=off).
 * Elsewhere it expands to nothing and the baseline build runs everywhere.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__ELF__)
#define QRUN_TARGET_CLONES                                                                         \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define QRUN_TARGET_CLONES
#endif

#endif
