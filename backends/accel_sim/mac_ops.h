/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The accelerator's own conv/matmul kernels (functional simulation): ConvInteger,
 * QLinearConv (ai.onnx, and com.microsoft without channels_last), MatMulInteger,
 * QLinearMatMul and com.microsoft QGemm, computed output by output on the
 * datapath of datapath.h (the accumulator the hardware description gives),
 * then requantized as the row unit does: integer outputs with
 * qrun_requantize in the session's mode (runtime/quant.h), FP8 outputs with
 * qrun_fp8_requantize. Geometry (qrun_conv_params) and quantization math are
 * the runtime's; only the arithmetic is the accelerator's.
 *
 * Operand layouts the datapath takes (others fall back to cpu_ref on the
 * host): convolutions of any rank and group; matmuls whose B is a 2-D matrix
 * (weights) and A has rank >= 2, with per-tensor A and Y parameters and
 * per-tensor or per-column B parameters.
 */
#ifndef QRUN_ACCEL_SIM_MAC_OPS_H
#define QRUN_ACCEL_SIM_MAC_OPS_H

#include "backends/accel_sim/datapath.h"
#include "runtime/backend.h"
#include "runtime/shape/nn_params.h"

typedef struct accel_mac_op {
    qrun_op op;
    bool conv;
    bool fp8;
    accel_acc acc;
    qrun_fp8_table ta, tw; /* FP8 decode tables of the two operands */
    qrun_conv_params p;    /* conv geometry */
    int64_t rows, k, n;    /* matmul: output rows (all batch dims), K, N */
    bool ta_t, tb_t;       /* QGemm transA, transB */
} accel_mac_op;

/** @brief Input index of the weights (second GEMM operand) of a MAC op, -1 for other ops. */
int accel_mac_weight_input(qrun_op op);

/**
 * @brief Can the accelerator's datapath run this node (layouts and parameter
 * granularity above)? Shapes may be unknown (then only dtypes are checked).
 */
bool accel_mac_supports(const qrun_node *node,
                        const struct qrun_tensor *const *inputs,
                        int n_inputs,
                        char *why,
                        size_t why_cap);

/** @brief Geometry and accumulator for this call; reads no tensor values. */
qrun_status accel_mac_prepare(const hw_config *hw,
                              qrun_dtype mac_dtype,
                              const qrun_kernel_call *call,
                              accel_mac_op *op);

/** @brief Compute the node's output on the datapath; *zero_products counts the products with a
 * zero operand (zero point subtracted; padding included), which zero-detect PEs skip. */
qrun_status
accel_mac_run(const accel_mac_op *op, const qrun_kernel_call *call, int64_t *zero_products);

#endif
