/* SPDX-License-Identifier: Apache-2.0 */
/* cpu_ref Gather: copies slices of data along one axis, any byte-sized dtype, int32/int64 indices.
 */
#include "backends/cpu_ref/kernel.h"
#include "runtime/dtype.h"
#include "runtime/shape/shape_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Below this many output bytes threads cost more than they save. */
#define GA_PAR_BYTES ((int64_t)1 << 16)

static int64_t ga_index(const struct qrun_tensor *idx, int64_t i) {
    if (idx->dtype == QRUN_DTYPE_INT32) {
        int32_t v;
        memcpy(&v, (const char *)idx->data + i * 4, 4);
        return v;
    }
    int64_t v;
    memcpy(&v, (const char *)idx->data + i * 8, 8);
    return v;
}

static bool ga_supports(const qrun_node *node,
                        const struct qrun_tensor *const *in,
                        int n_in,
                        char *why,
                        size_t why_cap) {
    if (n_in < 2)
        return true;
    if (in[0] && in[0]->dtype != QRUN_DTYPE_UNDEFINED) {
        int bits = qrun_dtype_traits_get(in[0]->dtype)->bits;
        if (bits == 0 || bits % 8 != 0) {
            snprintf(why, why_cap, "Gather of %s is not supported",
                     qrun_dtype_traits_get(in[0]->dtype)->name);
            return false;
        }
    }
    qrun_dtype it = in[1] ? in[1]->dtype : QRUN_DTYPE_UNDEFINED;
    if (it != QRUN_DTYPE_UNDEFINED && it != QRUN_DTYPE_INT32 && it != QRUN_DTYPE_INT64) {
        snprintf(why, why_cap, "Gather indices must be int32 or int64");
        return false;
    }
    return true;
}

static qrun_status ga_eval(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0], *idx = call->inputs[1];
    struct qrun_tensor *y = call->outputs[0];
    int axis;
    qrun_status s =
        qrun_normalize_axis(qrun_node_attr_int(call->node, "axis", 0), x->rank, &axis, call->err);
    if (s)
        return s;
    int64_t k = x->dims[axis], n = qrun_tensor_numel_(idx);
    /* Indices come from data: check them all before any copy (models are untrusted). */
    for (int64_t i = 0; i < n; i++) {
        int64_t v = ga_index(idx, i);
        if (v < -k || v >= k)
            return qrun_errf(call->err, QRUN_E_MODEL,
                             "Gather: index %" PRId64 " out of range [%" PRId64 ", %" PRId64 "]", v,
                             -k, k - 1);
    }
    int64_t outer = qrun_shape_numel(axis, x->dims);
    int64_t inner = qrun_shape_numel(x->rank - axis - 1, x->dims + axis + 1) *
                    (int64_t)(qrun_dtype_traits_get(x->dtype)->bits / 8);
    int64_t total = outer * n;
    if (total == 0 || inner == 0)
        return QRUN_OK;
    const char *src = x->data;
    char *dst = y->data;
    int nt = total * inner >= GA_PAR_BYTES ? call->n_threads : 1;
#pragma omp parallel for num_threads(nt) if (nt > 1)
    for (int64_t t = 0; t < total; t++) {
        int64_t o = t / n, v = ga_index(idx, t % n);
        if (v < 0)
            v += k;
        memcpy(dst + t * inner, src + (o * k + v) * inner, (size_t)inner);
    }
    return QRUN_OK;
}

const cpu_ref_kernel cpu_ref_kernels_gather[] = {
    {.op = QRUN_OP_GATHER, .supports = ga_supports, .eval = ga_eval},
    {.op = QRUN_OP_UNKNOWN},
};
