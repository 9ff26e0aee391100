/* SPDX-License-Identifier: Apache-2.0 */
/* Cache-blocked single-precision GEMM shared by Conv, ConvTranspose, MatMul and Gemm. */
#ifndef QRUN_CPU_REF_GEMM_F32_H
#define QRUN_CPU_REF_GEMM_F32_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C, row-major.
 * op(A)(i, p) = trans_a ? a[p * lda + i] : a[i * lda + p]; same for B.
 * Contract: beta == 0 never reads C (so C may hold garbage or NaN). Every
 * element of C is summed over k in the same order whatever the thread
 * count, so results do not depend on n_threads.
 */
typedef struct cpu_ref_sgemm_args {
    int64_t m, n, k;
    float alpha, beta;
    const float *a;
    int64_t lda;
    bool trans_a;
    const float *b;
    int64_t ldb;
    bool trans_b;
    float *c;
    int64_t ldc;
} cpu_ref_sgemm_args;

/** @brief Scratch (64-byte aligned) that cpu_ref_sgemm needs for these sizes and threads. */
size_t cpu_ref_sgemm_scratch_bytes(int64_t m, int64_t n, int64_t k, int n_threads);

/**
 * @brief Run the GEMM with up to n_threads OpenMP threads. Must not be
 * called from inside a parallel region (scratch is split by thread number).
 * scratch holds cpu_ref_sgemm_scratch_bytes(m, n, k, n_threads) bytes.
 */
void cpu_ref_sgemm(const cpu_ref_sgemm_args *g, void *scratch, int n_threads);

#endif
