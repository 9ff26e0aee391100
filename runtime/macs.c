/* SPDX-License-Identifier: Apache-2.0 */
/* MAC counting: conv-like ops count output elements times the reduction length. */
#include "runtime/macs.h"

static int64_t numel_or_neg(const struct qrun_tensor *t) {
    return t ? qrun_shape_numel(t->rank, t->dims) : -1;
}

/* Conv: each output element reduces over (C_in / group) * prod(kernel) = numel(W) / M. */
static int64_t
conv_macs(const struct qrun_tensor *x, const struct qrun_tensor *w, const struct qrun_tensor *y) {
    if (!x || !w || !y || w->rank < 1 || w->dims[0] < 0)
        return -1;
    if (w->dims[0] == 0) /* no output channels: an empty output and nothing to multiply */
        return 0;
    return numel_or_neg(y) * (numel_or_neg(w) / w->dims[0]);
}

/* ConvTranspose: every input element is scattered over C_out/group * prod(kernel) outputs. */
static int64_t conv_transpose_macs(const struct qrun_tensor *x, const struct qrun_tensor *w) {
    if (!x || !w || w->rank < 2 || w->dims[0] < 0)
        return -1;
    if (w->dims[0] == 0) /* no input channels: nothing is scattered */
        return 0;
    return numel_or_neg(x) * (numel_or_neg(w) / w->dims[0]);
}

static int64_t matmul_macs(const struct qrun_tensor *a, const struct qrun_tensor *y) {
    if (!a || !y || a->rank < 1)
        return -1;
    return numel_or_neg(y) * a->dims[a->rank - 1];
}

int64_t qrun_node_macs(const qrun_node *n,
                       const struct qrun_tensor *const *in,
                       const struct qrun_tensor *const *out) {
    const struct qrun_tensor *i0 = n->n_inputs > 0 ? in[0] : NULL;
    const struct qrun_tensor *i1 = n->n_inputs > 1 ? in[1] : NULL;
    const struct qrun_tensor *o0 = n->n_outputs > 0 ? out[0] : NULL;
    switch (n->op) {
    case QRUN_OP_CONV:
    case QRUN_OP_CONV_INTEGER:
        return conv_macs(i0, i1, o0);
    case QRUN_OP_QLINEAR_CONV:
    case QRUN_OP_MS_QLINEAR_CONV:
        return conv_macs(i0, n->n_inputs > 3 ? in[3] : NULL, o0);
    case QRUN_OP_CONV_TRANSPOSE:
        return conv_transpose_macs(i0, i1);
    case QRUN_OP_MATMUL:
    case QRUN_OP_MATMUL_INTEGER:
    case QRUN_OP_QLINEAR_MATMUL: /* A is input 0 in all three */
        return matmul_macs(i0, o0);
    case QRUN_OP_GEMM:
    case QRUN_OP_MS_QGEMM: {
        if (!i0 || i0->rank != 2 || !o0)
            return -1;
        int64_t k = qrun_node_attr_int(n, "transA", 0) ? i0->dims[0] : i0->dims[1];
        return numel_or_neg(o0) * k;
    }
    default:
        return 0;
    }
}
