/* SPDX-License-Identifier: Apache-2.0 */
/* The FP8 multiply-accumulate datapath: decode table, exact product, accumulation in a chosen
 * format, requantization to an FP8 output. Shared by cpu_ref and the accelerator simulator. */
#ifndef QRUN_RUNTIME_FP8_MATH_H
#define QRUN_RUNTIME_FP8_MATH_H

#include "qrun/qrun.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * The datapath of an FP8 MAC unit, as qrun defines it for QLinearConv and
 * QLinearMatMul with FP8 operands (bit layouts stay in runtime/dtype.c):
 *
 *   1. decode: every operand code goes through a 256-entry table of its
 *      format (qrun_fp8_table), built once per plan;
 *   2. multiply: a * b in float32. Exact for every pair of qrun's FP8
 *      formats: significands of at most 5 bits give products of at most 10
 *      bits, and nonzero magnitudes stay within [2^-34, 2^32), inside
 *      float32's normal range;
 *   3. accumulate: sum = round_acc(sum + a * b) after every add, starting
 *      from +0, in the order of k (qrun_fp8_accum: float32 by default;
 *      FP16/BF16 model narrow hardware accumulators; overflow gives Inf);
 *   4. requantize: y = encode_fp8(sum * mult + bias) with mult = s_x * s_w /
 *      s_y (qrun_requant_multiplier, as float32) and bias the float32 bias
 *      divided by s_y, both float32 operations; encoding rounds to nearest
 *      even and saturates to +-max_finite (Inf too, the Cast-24 rule for
 *      FNUZ); NaN stays NaN (E3M4, without NaN, gives +0).
 *
 * FP8 zero points must be 0 (ONNX: FP8 quantization is symmetric).
 */

/** @brief One of the four ONNX FP8 formats or qrun's E3M4: an operand/output type of FP8 MACs. */
bool qrun_fp8_is_mac_type(qrun_dtype t);

/** @brief Decoded value of every code of one FP8 format (NaN codes decode to NaN). */
typedef struct qrun_fp8_table {
    float v[256];
} qrun_fp8_table;

/** @brief Fill tab for format t (qrun_fp8_is_mac_type(t) must hold). */
void qrun_fp8_table_init(qrun_fp8_table *tab, qrun_dtype t);

/** @brief Name of an accumulator ("fp32", "fp16", "bf16"); "?" when out of range. */
const char *qrun_fp8_accum_name(qrun_fp8_accum acc);

/** @brief sum + p rounded to the accumulator format (once: the sum is formed exactly first). */
float qrun_fp8_accum_add_narrow(qrun_fp8_accum acc, float sum, float p);

/** @brief Step 3 for one product p: float32 adds inline, narrow formats round after the add. */
static inline float qrun_fp8_accum_add(qrun_fp8_accum acc, float sum, float p) {
    if (acc == QRUN_FP8_ACCUM_FP32)
        return sum + p;
    return qrun_fp8_accum_add_narrow(acc, sum, p);
}

/**
 * @brief Steps 2-3 over k terms: the sum of a[i*sa] * b[i*sb] (decoded
 * values) in the accumulator format, from +0 in index order.
 */
float qrun_fp8_dot(
    qrun_fp8_accum acc, const float *a, int64_t sa, const float *b, int64_t sb, int64_t k);

/** @brief Step 4: the FP8 code of out for sum * mult + bias. */
uint8_t qrun_fp8_requantize(qrun_dtype out, float sum, float mult, float bias);

#endif
