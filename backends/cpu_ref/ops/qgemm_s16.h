/* SPDX-License-Identifier: Apache-2.0 */
/* cpu_ref int16 x int16 -> int32 GEMM core of the integer conv/matmul kernels (ops/qlinear_conv.c,
 * ops/qlinear_matmul.c). */
#ifndef QRUN_CPU_REF_QGEMM_S16_H
#define QRUN_CPU_REF_QGEMM_S16_H

#include "runtime/target_clones.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * C[m][n] = sum_k A[m][k] * B[k][n] with int16 operands (8-bit values minus
 * their zero point, |v| <= 255) and int32 sums that wrap, as the ONNX
 * reference's int32 accumulator does (the sums are exact whenever they fit).
 * Integer sums do not depend on their order, so every micro-kernel below
 * (AVX2, SSE2, portable C) gives the same bits.
 *
 * Both operands are packed so that the micro-kernel reads k in pairs: the
 * pair (k, k+1) of one row/column is 32 bits, which x86's pmaddwd multiplies
 * and adds in one step. K is padded to an even count and M/N to whole blocks
 * with zeros (qg_pack_* write the padding).
 *   packed A: [ceil(M / QG_MR)][KP][QG_MR][2], KP = ceil(K / 2)
 *   packed B: [ceil(N / QG_NR)][KP][QG_NR][2]
 */
#define QG_MR 4
#define QG_NR 16

static inline int64_t qg_kp(int64_t k) {
    return (k + 1) / 2;
}

/** @brief Bytes of packed A (m rows, k columns) and packed B (k rows, n columns). */
size_t qg_pack_a_bytes(int64_t m, int64_t k);
size_t qg_pack_b_bytes(int64_t k, int64_t n);

/** @brief Position of A[i][k] in packed A with kp pairs per row. */
static inline int64_t qg_a_at(int64_t kp, int64_t i, int64_t k) {
    return ((i / QG_MR * kp + k / 2) * QG_MR + i % QG_MR) * 2 + (k & 1);
}

/** @brief Position of B[k][j] in packed B with kp pairs per column. */
static inline int64_t qg_b_at(int64_t kp, int64_t k, int64_t j) {
    return ((j / QG_NR * kp + k / 2) * QG_NR + j % QG_NR) * 2 + (k & 1);
}

/** @brief Pack a (m x k int16, row stride lda) as packed A, padding included. */
void qg_pack_a(const int16_t *a, int64_t lda, int64_t m, int64_t k, int16_t *dst);

/**
 * @brief Zero the padding of packed B (the odd k row, the columns past n):
 * callers that write the values with qg_b_at call this once per buffer.
 */
void qg_pack_b_pad(int64_t k, int64_t n, int16_t *dst);

/**
 * @brief Receives each finished tile: rows [m0, m0 + mr), columns [n0, n0 + nr)
 * of C in tile[r * QG_NR + j]. Called concurrently for different tiles.
 */
typedef void (*qg_epilogue)(void *ctx, int64_t m0, int64_t n0, int mr, int nr, const int32_t *tile);

/** @brief C = A B over packed operands, each tile handed to epi; nt OpenMP threads. */
void qg_gemm(const int16_t *ap,
             const int16_t *bp,
             int64_t m,
             int64_t k,
             int64_t n,
             qg_epilogue epi,
             void *ctx,
             int nt);

/** @brief Epilogue context that stores int32 C (row stride ldc). */
typedef struct qg_store {
    int32_t *c;
    int64_t ldc;
} qg_store;

void qg_store_epilogue(void *ctx, int64_t m0, int64_t n0, int mr, int nr, const int32_t *tile);

/**
 * @brief Depthwise sums over tap pairs: out[j] = sum over t < ntaps of
 * p[2 (j + off[t])] * lo(w[t]) + p[2 (j + off[t]) + 1] * hi(w[t]) for j < n,
 * where p holds int16 pairs and w[t] two int16 weights (low half first).
 * Chunks of QG_DW_CHUNK outputs are summed in registers; the last chunk
 * reads up to QG_DW_CHUNK - 1 pairs past j = n - 1 (the caller's slack) and
 * drops their sums. The same pmaddwd/vpdpwssd step as the GEMM.
 */
#define QG_DW_CHUNK 32
void qg_dw_pairs(
    const int16_t *p, const int64_t *off, const int32_t *w, int ntaps, int64_t n, int32_t *out);

/**
 * @brief Test hook: whether the portable C micro-kernel and every SIMD one
 * this CPU can run give the same tile for one packed A block and B panel of
 * kp pairs.
 */
bool qg_kernel_selftest(const int16_t *a, const int16_t *b, int64_t kp);

/**
 * @brief Test hook: whether every depthwise pair kernel this CPU runs gives
 * the portable C sums (scratch: 2n int32; p readable past n as qg_dw_pairs).
 */
bool qg_dw_selftest(
    const int16_t *p, const int64_t *off, const int32_t *w, int ntaps, int64_t n, int32_t *scratch);

#endif
