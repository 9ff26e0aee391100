/* SPDX-License-Identifier: Apache-2.0 */
/* The FP8 MAC datapath (see fp8_math.h for the definition of each step). */
#include "runtime/fp8_math.h"

#include "runtime/dtype.h"

bool qrun_fp8_is_mac_type(qrun_dtype t) {
    return t == QRUN_DTYPE_FLOAT8E4M3FN || t == QRUN_DTYPE_FLOAT8E4M3FNUZ ||
           t == QRUN_DTYPE_FLOAT8E5M2 || t == QRUN_DTYPE_FLOAT8E5M2FNUZ ||
           t == QRUN_DTYPE_FLOAT8E3M4;
}

void qrun_fp8_table_init(qrun_fp8_table *tab, qrun_dtype t) {
    for (int c = 0; c < 256; c++)
        tab->v[c] = qrun_fp8_decode(t, (uint8_t)c);
}

const char *qrun_fp8_accum_name(qrun_fp8_accum acc) {
    switch (acc) {
    case QRUN_FP8_ACCUM_FP32:
        return "fp32";
    case QRUN_FP8_ACCUM_FP16:
        return "fp16";
    case QRUN_FP8_ACCUM_BF16:
        return "bf16";
    }
    return "?";
}

float qrun_fp8_accum_add_narrow(qrun_fp8_accum acc, float sum, float p) {
    /*
     * The double sum of a narrow accumulator value and an exact FP8 product
     * is exact whenever rounding it could matter (a term far below the other's
     * last bit cannot create a tie), so rounding it once to the format is the
     * correctly rounded narrow add.
     */
    qrun_dtype t = acc == QRUN_FP8_ACCUM_BF16 ? QRUN_DTYPE_BFLOAT16 : QRUN_DTYPE_FLOAT16;
    return qrun_float_round(t, (double)sum + (double)p);
}

float qrun_fp8_dot(
    qrun_fp8_accum acc, const float *a, int64_t sa, const float *b, int64_t sb, int64_t k) {
    float sum = 0.0f;
    for (int64_t i = 0; i < k; i++)
        sum = qrun_fp8_accum_add(acc, sum, a[i * sa] * b[i * sb]);
    return sum;
}

uint8_t qrun_fp8_requantize(qrun_dtype out, float sum, float mult, float bias) {
    float v = sum * mult;
    return qrun_fp8_encode(out, v + bias, true, true);
}
