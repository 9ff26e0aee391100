/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of the cpu_ref integer and FP8 conv/matmul kernels: qlinear_conv.c (ConvInteger,
 * QLinearConv) and qlinear_matmul.c (MatMulInteger, QLinearMatMul, QGemm). */
#ifndef QRUN_CPU_REF_QLINEAR_CORE_H
#define QRUN_CPU_REF_QLINEAR_CORE_H

#include "backends/cpu_ref/kernel.h"
#include "backends/cpu_ref/ops/qlinear_common.h" /* qlc_in, qlc_load8 */
#include "runtime/dtype.h"
#include "runtime/fp8_math.h"
#include "runtime/quant.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Integer operands are uint8/int8. Both sides are widened to int16 with the
 * zero point subtracted (|v| <= 255), products accumulate in int32 (the ONNX
 * reference's type: overflow wraps there and is excluded by the spec).
 * QLinear* outputs are requantized with qrun_requantize in the session's
 * mode (call->requant). Its default, float, is ONNX Runtime's order
 * (qrun_requantize_ort: float32 multiplier and product, round, then the zero
 * point). The ONNX reference adds the zero point before rounding in double;
 * the backend test data passes either way, but real QOperator models
 * (mobilenetv2-12-int8) only reproduce ORT's outputs with ORT's order.
 *
 * FP8 operands (QLinearConv and QLinearMatMul whose x/a and w/b are FP8 or
 * E3M4, see runtime/fp8_math.h) run the FP8 datapath: codes are decoded
 * through 256-entry tables built at prepare, products are exact float32,
 * sums use the session's accumulator (call->fp8_accum), and each output is
 * qrun_fp8_requantize(sum, s_x*s_w/s_y, bias/s_y). FP8 zero points must be 0;
 * the FP8 QLinearConv bias is float32 (see runtime/shape/quant.c).
 *
 * Requantization parameters (one per output channel / scale combination)
 * are computed at prepare when the scales are constants, else at every run.
 *
 * Integer speed (the arithmetic above is unchanged, so results are the same
 * bits on every path and thread count): products run on the packed int16
 * GEMM of ops/qgemm_s16.h (pmaddwd / vpdpwssd micro-kernels), with weights
 * and constant matmul B packed once at prepare. QLinearConv requantizes each
 * finished GEMM tile in the epilogue. Conv columns are copied from
 * zero-padded per-channel planes (x - x_zp as int16, split by column phase
 * for strides > 1) rather than gathered per element; 1x1 convs with unit
 * strides pack X directly; depthwise convs sum their taps directly on the
 * planes, two kernel rows per multiply-add (qg_dw_pairs).
 */

/* Multiply-adds (~20 us of work) below which a conv/matmul runs on one thread: forking and
 * joining a team costs more, most of all when the cores are shared. */
#define QL_PARALLEL_MIN ((int64_t)1 << 20)

/* Threads for a product of `macs` multiply-adds. */
static inline int ql_threads(const qrun_kernel_call *call, int64_t macs) {
    return macs >= QL_PARALLEL_MIN && call->n_threads > 1 ? call->n_threads : 1;
}

static inline size_t ql_round64(size_t bytes) {
    return (bytes + 63) / 64 * 64;
}

static inline int64_t ql_numel(const struct qrun_tensor *t) {
    return t ? qrun_tensor_numel_(t) : 0;
}

static inline double ql_get(const struct qrun_tensor *t, int64_t i) {
    return qrun_dtype_traits_get(t->dtype)->get(t->data, (size_t)i);
}

/* Scalar value of an optional zero point (0 when absent). */
static inline int32_t ql_scalar8(const struct qrun_tensor *t) {
    return t ? qlc_load8(t->data, 0, t->dtype == QRUN_DTYPE_UINT8) : 0;
}

static inline bool ql_known(const struct qrun_tensor *t) {
    return !t || t->data;
}

/* FP8 quantization is symmetric: every element of a known zero point must be 0. */
qrun_status
ql_fp8_zero(const qrun_kernel_call *call, const struct qrun_tensor *zp, const char *what);

/* ---- requantization parameters -------------------------------------------- */

/* One output channel's requantization: integer (session mode) or FP8 (float32 multiplier). */
typedef struct ql_rq {
    qrun_requant q;
    float fbias; /* FP8: bias / s_y */
} ql_rq;

static inline qrun_status ql_rq_make(const qrun_kernel_call *call,
                                     bool fp8,
                                     double sx,
                                     double sw,
                                     double sy,
                                     qrun_dtype scale_t,
                                     double bias,
                                     ql_rq *out) {
    out->fbias = (float)bias / (float)sy;
    return qrun_requant_init(&out->q, qrun_requant_multiplier(sx, sw, sy, scale_t),
                             fp8 ? QRUN_REQUANT_FLOAT : call->requant, call->err);
}

/* ---- GEMM cores ----------------------------------------------------------- */

/*
 * r[j] = accumulate(r[j], a * b[j]) for j < n (fp8_math.h step 3). Zero
 * operands are not skipped: 0 * Inf is NaN. The float32 loop relies on C11's
 * default of no FP contraction (no fused multiply-add).
 */
static inline void ql_fp8_axpy(qrun_fp8_accum accum, float a, const float *b, float *r, int64_t n) {
    if (accum == QRUN_FP8_ACCUM_FP32) {
        for (int64_t j = 0; j < n; j++)
            r[j] += a * b[j];
        return;
    }
    for (int64_t j = 0; j < n; j++)
        r[j] = qrun_fp8_accum_add_narrow(accum, r[j], a * b[j]);
}

/* supports() of every kernel here: 8-bit integer operands, or FP8 ones for the ONNX QLinear ops. */
bool ql_supports(const qrun_node *node,
                 const struct qrun_tensor *const *inputs,
                 int n_inputs,
                 char *why,
                 size_t why_cap);

#endif
