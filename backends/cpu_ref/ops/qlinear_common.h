/* SPDX-License-Identifier: Apache-2.0 */
/* Per-tensor quantization parameters of the com.microsoft QLinear kernels (math in runtime/quant).
 */
#ifndef QRUN_CPU_REF_QLINEAR_COMMON_H
#define QRUN_CPU_REF_QLINEAR_COMMON_H

#include "backends/cpu_ref/kernel.h"
#include "runtime/dtype.h"
#include "runtime/quant.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

static inline const struct qrun_tensor *qlc_in(const qrun_kernel_call *call, int i) {
    return i >= 0 && i < call->n_inputs ? call->inputs[i] : NULL;
}

/* Element i of a uint8/int8 tensor. */
static inline int32_t qlc_load8(const void *data, int64_t i, bool u8) {
    return u8 ? (int32_t)((const uint8_t *)data)[i] : (int32_t)((const int8_t *)data)[i];
}

static inline void qlc_store8(void *data, int64_t i, int32_t v) {
    ((uint8_t *)data)[i] = (uint8_t)v; /* an int8 value's two's-complement byte */
}

/* Whether the present inputs among idx[0..n) have their data (constants at prepare). */
static inline bool qlc_known(const qrun_kernel_call *call, const int *idx, int n) {
    for (int k = 0; k < n; k++) {
        const struct qrun_tensor *t = qlc_in(call, idx[k]);
        if (t && !t->data)
            return false;
    }
    return true;
}

/* Scale input si and optional zero point zi (shape inference checked both) of type t. */
static inline void
qlc_params(const qrun_kernel_call *call, int si, int zi, qrun_dtype t, qrun_qparams8 *p) {
    const struct qrun_tensor *z = qlc_in(call, zi);
    int32_t zp = z ? qlc_load8(z->data, 0, z->dtype == QRUN_DTYPE_UINT8) : 0;
    qrun_qparams8_init(p, t, *(const float *)call->inputs[si]->data, zp);
}

/* supports() helper: the data tensor x is uint8/int8 (or not typed yet). */
static inline bool
qlc_supports_8bit(const qrun_node *node, const struct qrun_tensor *x, char *why, size_t why_cap) {
    if (!x || x->dtype == QRUN_DTYPE_UNDEFINED || x->dtype == QRUN_DTYPE_UINT8 ||
        x->dtype == QRUN_DTYPE_INT8)
        return true;
    snprintf(why, why_cap, "%s: type %s is not implemented", node->op_type,
             qrun_dtype_name(x->dtype));
    return false;
}

#endif
