/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of the cpu_ref integer and FP8 conv/matmul kernels (see qlinear_core.h). */
#include "backends/cpu_ref/ops/qlinear_core.h"

#include <stdio.h>

/* FP8 quantization is symmetric: every element of a known zero point must be 0. */
qrun_status
ql_fp8_zero(const qrun_kernel_call *call, const struct qrun_tensor *zp, const char *what) {
    if (!zp || !zp->data)
        return QRUN_OK;
    for (int64_t i = 0; i < qrun_tensor_numel_(zp); i++) {
        double v = ql_get(zp, i);
        if (v != 0.0)
            return qrun_errf(call->err, QRUN_E_MODEL,
                             "%s must be 0 for FP8 operands, element %lld is %g", what,
                             (long long)i, v);
    }
    return QRUN_OK;
}

/* ---- supports ------------------------------------------------------------- */

static bool ql_is_8bit(qrun_dtype t) {
    return t == QRUN_DTYPE_UNDEFINED || t == QRUN_DTYPE_UINT8 || t == QRUN_DTYPE_INT8;
}

bool ql_supports(const qrun_node *node,
                 const struct qrun_tensor *const *inputs,
                 int n_inputs,
                 char *why,
                 size_t why_cap) {
    static const int q_idx[] = {0, 2, 3, 5, 7}; /* x, x_zp, w, w_zp, y_zp (A, a_zp, B, b_zp) */
    static const int plain[] = {0, 1, 2, 3};
    bool onnx_qlinear = node->op == QRUN_OP_QLINEAR_CONV || node->op == QRUN_OP_QLINEAR_MATMUL;
    bool qlinear = onnx_qlinear || node->op == QRUN_OP_MS_QLINEAR_CONV;
    const int *idx = qlinear || node->op == QRUN_OP_MS_QGEMM ? q_idx : plain;
    int n = qlinear ? 5 : 4;
    for (int k = 0; k < n; k++) {
        const struct qrun_tensor *t = idx[k] < n_inputs ? inputs[idx[k]] : NULL;
        if (!t || ql_is_8bit(t->dtype) || (onnx_qlinear && qrun_fp8_is_mac_type(t->dtype)))
            continue;
        snprintf(why, why_cap, "%s: input %d type %s is not supported", node->op_type, idx[k],
                 qrun_dtype_name(t->dtype));
        return false;
    }
    return true;
}
