/* SPDX-License-Identifier: Apache-2.0 */
/* Shape inference for Conv, ConvTranspose, MatMul, Gemm, pools, norms and reductions. */
#include "runtime/ir.h"
#include "runtime/op.h"
#include "runtime/shape/nn_params.h"
#include "runtime/shape/shape_util.h"

#include <string.h>

/* Attributes beyond this are rejected: keeps (k-1)*d+1 and s*(in-1) far from overflow. */
#define NN_ATTR_MAX ((int64_t)1 << 31)

typedef enum nn_auto_pad {
    NN_PAD_NOTSET,
    NN_PAD_SAME_UPPER,
    NN_PAD_SAME_LOWER,
    NN_PAD_VALID,
} nn_auto_pad;

static qrun_status nn_auto_pad_get(const qrun_node *node, nn_auto_pad *out, qrun_err *err) {
    const char *s = qrun_node_attr_string(node, "auto_pad", "NOTSET");
    if (s[0] == '\0' || strcmp(s, "NOTSET") == 0)
        *out = NN_PAD_NOTSET;
    else if (strcmp(s, "SAME_UPPER") == 0)
        *out = NN_PAD_SAME_UPPER;
    else if (strcmp(s, "SAME_LOWER") == 0)
        *out = NN_PAD_SAME_LOWER;
    else if (strcmp(s, "VALID") == 0)
        *out = NN_PAD_VALID;
    else
        return qrun_errf(err, QRUN_E_MODEL, "%s: unknown auto_pad '%s'", node->op_type, s);
    return QRUN_OK;
}

/* Per-axis INTS attribute with n entries (or absent: dflt), each in [lo, NN_ATTR_MAX]. */
static qrun_status nn_axis_ints(const qrun_node *node,
                                const char *name,
                                int n,
                                int64_t dflt,
                                int64_t lo,
                                int64_t *out,
                                qrun_err *err) {
    const int64_t *v = NULL;
    size_t cnt = qrun_node_attr_ints(node, name, &v);
    if (cnt == 0) {
        for (int i = 0; i < n; i++)
            out[i] = dflt;
        return QRUN_OK;
    }
    if (cnt != (size_t)n)
        return qrun_errf(err, QRUN_E_MODEL, "%s: %s has %zu values, expected %d", node->op_type,
                         name, cnt, n);
    for (int i = 0; i < n; i++) {
        if (v[i] < lo || v[i] > NN_ATTR_MAX)
            return qrun_errf(err, QRUN_E_MODEL, "%s: %s[%d] = %lld is out of range", node->op_type,
                             name, i, (long long)v[i]);
        out[i] = v[i];
    }
    return QRUN_OK;
}

/* pads = [b1..bn, e1..en]; absent = zeros. */
static qrun_status nn_pads(const qrun_node *node, int n, qrun_conv_params *p, qrun_err *err) {
    const int64_t *v = NULL;
    size_t cnt = qrun_node_attr_ints(node, "pads", &v);
    for (int i = 0; i < n; i++)
        p->pad_begin[i] = p->pad_end[i] = 0;
    if (cnt == 0)
        return QRUN_OK;
    if (cnt != (size_t)(2 * n))
        return qrun_errf(err, QRUN_E_MODEL, "%s: pads has %zu values, expected %d", node->op_type,
                         cnt, 2 * n);
    for (int i = 0; i < 2 * n; i++) {
        if (v[i] < 0 || v[i] > NN_ATTR_MAX)
            return qrun_errf(err, QRUN_E_MODEL, "%s: pads[%d] = %lld is out of range",
                             node->op_type, i, (long long)v[i]);
    }
    for (int i = 0; i < n; i++) {
        p->pad_begin[i] = v[i];
        p->pad_end[i] = v[n + i];
    }
    return QRUN_OK;
}

/* Common prefix of X checks: rank >= 3, spatial dims copied into p->in. */
static qrun_status nn_spatial_input(const qrun_node *node,
                                    const struct qrun_tensor *x,
                                    qrun_conv_params *p,
                                    qrun_err *err) {
    if (x->rank < 3)
        return qrun_errf(err, QRUN_E_MODEL,
                         "%s: input must be N x C x D1 x ... (rank >= 3), got rank %d",
                         node->op_type, x->rank);
    memset(p, 0, sizeof *p);
    p->n_spatial = x->rank - 2;
    p->batch = x->dims[0];
    p->c_in = x->dims[1];
    p->group = 1;
    for (int i = 0; i < p->n_spatial; i++) {
        if (x->dims[2 + i] > NN_ATTR_MAX)
            return qrun_errf(err, QRUN_E_MODEL, "%s: spatial dim %lld is too large", node->op_type,
                             (long long)x->dims[2 + i]);
        p->in[i] = x->dims[2 + i];
    }
    return QRUN_OK;
}

/* Output size of one axis of a sliding window with explicit pads (Conv/pools). */
static qrun_status
nn_window_out(const qrun_node *node, qrun_conv_params *p, int i, int64_t dk, qrun_err *err) {
    int64_t span = p->in[i] + p->pad_begin[i] + p->pad_end[i] - dk;
    if (span < 0)
        return qrun_errf(
            err, QRUN_E_MODEL,
            "%s: kernel extent %lld is larger than the padded input %lld on spatial axis %d",
            node->op_type, (long long)dk, (long long)(p->in[i] + p->pad_begin[i] + p->pad_end[i]),
            i);
    int64_t s = p->stride[i];
    if (!p->ceil_mode) {
        p->out[i] = span / s + 1;
        return QRUN_OK;
    }
    p->out[i] = (span + s - 1) / s + 1;
    /* The last window must start inside the input or the left padding (as PyTorch and ORT). */
    if ((p->out[i] - 1) * s >= p->in[i] + p->pad_begin[i])
        p->out[i]--;
    return QRUN_OK;
}

/* Resolve auto_pad/pads and the output dims of Conv and pools; kernel/in already set. */
static qrun_status nn_forward_geometry(const qrun_node *node, qrun_conv_params *p, qrun_err *err) {
    int n = p->n_spatial;
    nn_auto_pad ap;
    qrun_status st = nn_auto_pad_get(node, &ap, err);
    if (st == QRUN_OK)
        st = nn_axis_ints(node, "strides", n, 1, 1, p->stride, err);
    if (st == QRUN_OK)
        st = nn_axis_ints(node, "dilations", n, 1, 1, p->dilation, err);
    if (st == QRUN_OK)
        st = nn_pads(node, n, p, err);
    if (st != QRUN_OK)
        return st;
    for (int i = 0; i < n; i++) {
        int64_t dk = (p->kernel[i] - 1) * p->dilation[i] + 1;
        int64_t s = p->stride[i];
        if (ap == NN_PAD_NOTSET) {
            st = nn_window_out(node, p, i, dk, err);
            if (st != QRUN_OK)
                return st;
        } else if (ap == NN_PAD_VALID) {
            p->pad_begin[i] = p->pad_end[i] = 0;
            if (p->in[i] < dk)
                return qrun_errf(err, QRUN_E_MODEL,
                                 "%s: kernel extent %lld is larger than the input %lld (VALID)",
                                 node->op_type, (long long)dk, (long long)p->in[i]);
            p->out[i] = (p->in[i] - dk) / s + 1;
        } else {
            p->out[i] = (p->in[i] + s - 1) / s;
            int64_t need = (p->out[i] - 1) * s + dk - p->in[i];
            if (need < 0)
                need = 0;
            int64_t small = need / 2;
            p->pad_begin[i] = ap == NN_PAD_SAME_UPPER ? small : need - small;
            p->pad_end[i] = need - p->pad_begin[i];
        }
        if (p->out[i] < 1)
            return qrun_errf(err, QRUN_E_MODEL, "%s: empty output on spatial axis %d",
                             node->op_type, i);
    }
    return QRUN_OK;
}

/* kernel_shape from the attribute, checked against the weights' dims when both exist. */
static qrun_status nn_kernel_shape(const qrun_node *node,
                                   const struct qrun_tensor *w,
                                   qrun_conv_params *p,
                                   qrun_err *err) {
    int n = p->n_spatial;
    qrun_status st = nn_axis_ints(node, "kernel_shape", n, 0, 1, p->kernel, err);
    if (st != QRUN_OK)
        return st;
    for (int i = 0; i < n; i++) {
        int64_t wk = w->dims[2 + i];
        if (p->kernel[i] == 0)
            p->kernel[i] = wk;
        else if (p->kernel[i] != wk)
            return qrun_errf(err, QRUN_E_MODEL,
                             "%s: kernel_shape[%d] = %lld but the weight has %lld", node->op_type,
                             i, (long long)p->kernel[i], (long long)wk);
        if (p->kernel[i] < 1 || p->kernel[i] > NN_ATTR_MAX)
            return qrun_errf(err, QRUN_E_MODEL, "%s: kernel dim %d is %lld", node->op_type, i,
                             (long long)p->kernel[i]);
    }
    return QRUN_OK;
}

static qrun_status nn_group(const qrun_node *node, qrun_conv_params *p, qrun_err *err) {
    p->group = qrun_node_attr_int(node, "group", 1);
    if (p->group < 1 || p->group > NN_ATTR_MAX)
        return qrun_errf(err, QRUN_E_MODEL, "%s: group = %lld", node->op_type, (long long)p->group);
    return QRUN_OK;
}

qrun_status qrun_conv_params_get(const qrun_node *node,
                                 const struct qrun_tensor *x,
                                 const struct qrun_tensor *w,
                                 qrun_conv_params *p,
                                 qrun_err *err) {
    qrun_status st = nn_spatial_input(node, x, p, err);
    if (st == QRUN_OK)
        st = nn_group(node, p, err);
    if (st != QRUN_OK)
        return st;
    if (w->rank != x->rank)
        return qrun_errf(err, QRUN_E_MODEL, "%s: weight has rank %d, input has rank %d",
                         node->op_type, w->rank, x->rank);
    p->c_out = w->dims[0];
    if (w->dims[1] * p->group != p->c_in)
        return qrun_errf(err, QRUN_E_MODEL, "%s: input has %lld channels, weight expects %lld*%lld",
                         node->op_type, (long long)p->c_in, (long long)w->dims[1],
                         (long long)p->group);
    if (p->c_out % p->group != 0)
        return qrun_errf(err, QRUN_E_MODEL,
                         "%s: %lld output channels are not divisible by group %lld", node->op_type,
                         (long long)p->c_out, (long long)p->group);
    st = nn_kernel_shape(node, w, p, err);
    if (st != QRUN_OK)
        return st;
    return nn_forward_geometry(node, p, err);
}

/* output_shape may list the spatial dims only or the full N, C, D... shape. */
static qrun_status
nn_output_shape(const qrun_node *node, int n, int64_t *os, bool *has, qrun_err *err) {
    const int64_t *v = NULL;
    size_t cnt = qrun_node_attr_ints(node, "output_shape", &v);
    *has = cnt > 0;
    if (cnt == 0)
        return QRUN_OK;
    if (cnt != (size_t)n && cnt != (size_t)n + 2)
        return qrun_errf(err, QRUN_E_MODEL, "%s: output_shape has %zu values, expected %d",
                         node->op_type, cnt, n);
    for (int i = 0; i < n; i++) {
        os[i] = v[cnt - (size_t)n + (size_t)i];
        if (os[i] < 1 || os[i] > NN_ATTR_MAX)
            return qrun_errf(err, QRUN_E_MODEL, "%s: output_shape[%d] = %lld", node->op_type, i,
                             (long long)os[i]);
    }
    return QRUN_OK;
}

static qrun_status
nn_transpose_geometry(const qrun_node *node, qrun_conv_params *p, qrun_err *err) {
    int n = p->n_spatial;
    int64_t opad[QRUN_MAX_RANK], os[QRUN_MAX_RANK];
    bool has_os = false;
    nn_auto_pad ap;
    qrun_status st = nn_auto_pad_get(node, &ap, err);
    if (st == QRUN_OK)
        st = nn_axis_ints(node, "strides", n, 1, 1, p->stride, err);
    if (st == QRUN_OK)
        st = nn_axis_ints(node, "dilations", n, 1, 1, p->dilation, err);
    if (st == QRUN_OK)
        st = nn_axis_ints(node, "output_padding", n, 0, 0, opad, err);
    if (st == QRUN_OK)
        st = nn_pads(node, n, p, err);
    if (st == QRUN_OK)
        st = nn_output_shape(node, n, os, &has_os, err);
    if (st != QRUN_OK)
        return st;
    for (int i = 0; i < n; i++) {
        int64_t dk = (p->kernel[i] - 1) * p->dilation[i] + 1;
        int64_t full = p->stride[i] * (p->in[i] - 1) + opad[i] + dk;
        if (has_os || ap == NN_PAD_SAME_UPPER || ap == NN_PAD_SAME_LOWER) {
            /* Spec: total padding is split with the odd unit at the end for SAME_UPPER, else at the
             * start. */
            p->out[i] = has_os ? os[i] : p->in[i] * p->stride[i];
            int64_t total = full - p->out[i];
            /* Floor division as the ONNX reference: a negative total (output larger than natural)
             * pads the end. */
            int64_t half = total >= 0 ? total / 2 : -((1 - total) / 2);
            p->pad_begin[i] = ap == NN_PAD_SAME_UPPER ? half : total - half;
            p->pad_end[i] = total - p->pad_begin[i];
        } else {
            if (ap == NN_PAD_VALID)
                p->pad_begin[i] = p->pad_end[i] = 0;
            p->out[i] = full - p->pad_begin[i] - p->pad_end[i];
        }
        if (p->out[i] < 1)
            return qrun_errf(err, QRUN_E_MODEL,
                             "%s: empty output on spatial axis %d (pads larger than the output)",
                             node->op_type, i);
    }
    return QRUN_OK;
}

qrun_status qrun_conv_transpose_params_get(const qrun_node *node,
                                           const struct qrun_tensor *x,
                                           const struct qrun_tensor *w,
                                           qrun_conv_params *p,
                                           qrun_err *err) {
    qrun_status st = nn_spatial_input(node, x, p, err);
    if (st == QRUN_OK)
        st = nn_group(node, p, err);
    if (st != QRUN_OK)
        return st;
    if (w->rank != x->rank)
        return qrun_errf(err, QRUN_E_MODEL, "%s: weight has rank %d, input has rank %d",
                         node->op_type, w->rank, x->rank);
    if (w->dims[0] != p->c_in)
        return qrun_errf(err, QRUN_E_MODEL, "%s: input has %lld channels, weight expects %lld",
                         node->op_type, (long long)p->c_in, (long long)w->dims[0]);
    if (p->c_in % p->group != 0)
        return qrun_errf(err, QRUN_E_MODEL,
                         "%s: %lld input channels are not divisible by group %lld", node->op_type,
                         (long long)p->c_in, (long long)p->group);
    p->c_out = w->dims[1] * p->group;
    st = nn_kernel_shape(node, w, p, err);
    if (st != QRUN_OK)
        return st;
    return nn_transpose_geometry(node, p, err);
}

qrun_status qrun_pool_params_get(const qrun_node *node,
                                 const struct qrun_tensor *x,
                                 qrun_conv_params *p,
                                 qrun_err *err) {
    qrun_status st = nn_spatial_input(node, x, p, err);
    if (st != QRUN_OK)
        return st;
    p->c_out = p->c_in;
    const int64_t *k = NULL;
    size_t nk = qrun_node_attr_ints(node, "kernel_shape", &k);
    if (nk == 0)
        return qrun_errf(err, QRUN_E_MODEL, "%s: kernel_shape is required", node->op_type);
    st = nn_axis_ints(node, "kernel_shape", p->n_spatial, 1, 1, p->kernel, err);
    if (st != QRUN_OK)
        return st;
    p->ceil_mode = qrun_node_attr_int(node, "ceil_mode", 0) != 0;
    p->count_include_pad = qrun_node_attr_int(node, "count_include_pad", 0) != 0;
    p->storage_order = qrun_node_attr_int(node, "storage_order", 0);
    if (p->storage_order != 0 && p->storage_order != 1)
        return qrun_errf(err, QRUN_E_MODEL, "%s: storage_order must be 0 or 1", node->op_type);
    return nn_forward_geometry(node, p, err);
}

/* ---- infer functions ---------------------------------------------------- */

static qrun_status nn_need_inputs(qrun_infer_ctx *c, int n) {
    for (int i = 0; i < n; i++) {
        if (i >= c->n_inputs || c->inputs[i] == NULL)
            return qrun_errf(c->err, QRUN_E_MODEL, "%s: input %d is required", c->node->op_type, i);
    }
    return QRUN_OK;
}

static qrun_status nn_same_dtype(qrun_infer_ctx *c, int a, int b) {
    if (c->inputs[a]->dtype != c->inputs[b]->dtype)
        return qrun_errf(c->err, QRUN_E_MODEL, "%s: inputs %d and %d have different types (%s, %s)",
                         c->node->op_type, a, b, qrun_dtype_name(c->inputs[a]->dtype),
                         qrun_dtype_name(c->inputs[b]->dtype));
    return QRUN_OK;
}

/* Optional bias input 2: a vector of c_out values. */
static qrun_status nn_check_bias(qrun_infer_ctx *c, int64_t c_out) {
    const struct qrun_tensor *b = c->n_inputs > 2 ? c->inputs[2] : NULL;
    if (b == NULL)
        return QRUN_OK;
    if (b->rank != 1 || b->dims[0] != c_out)
        return qrun_errf(c->err, QRUN_E_MODEL, "%s: bias must have shape [%lld]", c->node->op_type,
                         (long long)c_out);
    return nn_same_dtype(c, 0, 2);
}

static qrun_status
nn_set_spatial_output(qrun_infer_ctx *c, int i, qrun_dtype dt, const qrun_conv_params *p) {
    int64_t dims[QRUN_MAX_RANK];
    dims[0] = p->batch;
    dims[1] = p->c_out;
    for (int d = 0; d < p->n_spatial; d++)
        dims[2 + d] = p->out[d];
    return qrun_infer_set_output(c, i, dt, p->n_spatial + 2, dims);
}

/* Conv or ConvTranspose: X and W of one type, an optional [c_out] bias, Y of X's type. */
static qrun_status nn_infer_conv_any(qrun_infer_ctx *c, bool transpose) {
    qrun_conv_params p;
    qrun_status st = nn_need_inputs(c, 2);
    if (st == QRUN_OK)
        st = nn_same_dtype(c, 0, 1);
    if (st == QRUN_OK)
        st = transpose
                 ? qrun_conv_transpose_params_get(c->node, c->inputs[0], c->inputs[1], &p, c->err)
                 : qrun_conv_params_get(c->node, c->inputs[0], c->inputs[1], &p, c->err);
    if (st == QRUN_OK)
        st = nn_check_bias(c, p.c_out);
    if (st != QRUN_OK)
        return st;
    return nn_set_spatial_output(c, 0, c->inputs[0]->dtype, &p);
}

qrun_status qrun_infer_conv(qrun_infer_ctx *c) {
    return nn_infer_conv_any(c, false);
}

qrun_status qrun_infer_conv_transpose(qrun_infer_ctx *c) {
    return nn_infer_conv_any(c, true);
}

qrun_status qrun_infer_pool(qrun_infer_ctx *c) {
    qrun_conv_params p;
    qrun_status st = nn_need_inputs(c, 1);
    if (st == QRUN_OK)
        st = qrun_pool_params_get(c->node, c->inputs[0], &p, c->err);
    if (st != QRUN_OK)
        return st;
    if (c->node->op == QRUN_OP_AVERAGE_POOL && c->n_outputs > 1)
        return qrun_errf(c->err, QRUN_E_MODEL, "AveragePool: has 1 output, got %d", c->n_outputs);
    st = nn_set_spatial_output(c, 0, c->inputs[0]->dtype, &p);
    if (st == QRUN_OK && c->n_outputs > 1)
        st = nn_set_spatial_output(c, 1, QRUN_DTYPE_INT64, &p);
    return st;
}

qrun_status qrun_infer_global_pool(qrun_infer_ctx *c) {
    qrun_status st = nn_need_inputs(c, 1);
    if (st != QRUN_OK)
        return st;
    const struct qrun_tensor *x = c->inputs[0];
    if (x->rank < 2)
        return qrun_errf(c->err, QRUN_E_MODEL, "%s: input must be N x C x ..., got rank %d",
                         c->node->op_type, x->rank);
    int64_t dims[QRUN_MAX_RANK];
    for (int d = 0; d < x->rank; d++)
        dims[d] = d < 2 ? x->dims[d] : 1;
    return qrun_infer_set_output(c, 0, x->dtype, x->rank, dims);
}

qrun_status qrun_matmul_shape(const char *op,
                              const struct qrun_tensor *a,
                              const struct qrun_tensor *b,
                              int *rank_out,
                              int64_t *dims,
                              qrun_err *err) {
    if (a->rank < 1 || b->rank < 1)
        return qrun_errf(err, QRUN_E_MODEL, "%s: operands must have rank >= 1 (got %d and %d)", op,
                         a->rank, b->rank);
    int64_t ka = a->dims[a->rank - 1];
    int64_t kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
    if (ka != kb)
        return qrun_errf(err, QRUN_E_MODEL, "%s: inner dimensions differ (%lld vs %lld)", op,
                         (long long)ka, (long long)kb);
    /* Batch dims broadcast numpy-style, right-aligned. */
    int ra = a->rank > 2 ? a->rank - 2 : 0, rb = b->rank > 2 ? b->rank - 2 : 0;
    int rbatch = ra > rb ? ra : rb;
    for (int d = 0; d < rbatch; d++) {
        int ia = d - (rbatch - ra), ib = d - (rbatch - rb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return qrun_errf(err, QRUN_E_MODEL, "%s: batch dims %lld and %lld do not broadcast", op,
                             (long long)da, (long long)db);
        dims[d] = da == 1 ? db : da;
    }
    int rank = rbatch;
    if (a->rank >= 2)
        dims[rank++] = a->dims[a->rank - 2];
    if (b->rank >= 2)
        dims[rank++] = b->dims[b->rank - 1];
    *rank_out = rank;
    return QRUN_OK;
}

qrun_status qrun_infer_matmul(qrun_infer_ctx *c) {
    qrun_status st = nn_need_inputs(c, 2);
    if (st == QRUN_OK)
        st = nn_same_dtype(c, 0, 1);
    if (st != QRUN_OK)
        return st;
    int rank = 0;
    int64_t dims[QRUN_MAX_RANK];
    st = qrun_matmul_shape("MatMul", c->inputs[0], c->inputs[1], &rank, dims, c->err);
    if (st != QRUN_OK)
        return st;
    return qrun_infer_set_output(c, 0, c->inputs[0]->dtype, rank, dims);
}

qrun_status qrun_infer_gemm(qrun_infer_ctx *c) {
    int64_t opset = c->node->opset;
    qrun_status st = nn_need_inputs(c, opset < 11 ? 3 : 2);
    if (st == QRUN_OK)
        st = nn_same_dtype(c, 0, 1);
    if (st != QRUN_OK)
        return st;
    const struct qrun_tensor *a = c->inputs[0], *b = c->inputs[1];
    const struct qrun_tensor *cc = c->n_inputs > 2 ? c->inputs[2] : NULL;
    if (a->rank != 2 || b->rank != 2)
        return qrun_errf(c->err, QRUN_E_MODEL, "Gemm: A and B must be 2-D (got rank %d and %d)",
                         a->rank, b->rank);
    bool ta = qrun_node_attr_int(c->node, "transA", 0) != 0;
    bool tb = qrun_node_attr_int(c->node, "transB", 0) != 0;
    int64_t m = ta ? a->dims[1] : a->dims[0], ka = ta ? a->dims[0] : a->dims[1];
    int64_t kb = tb ? b->dims[1] : b->dims[0], n = tb ? b->dims[0] : b->dims[1];
    if (ka != kb)
        return qrun_errf(c->err, QRUN_E_MODEL, "Gemm: inner dimensions differ (%lld vs %lld)",
                         (long long)ka, (long long)kb);
    if (cc != NULL) {
        st = nn_same_dtype(c, 0, 2);
        if (st != QRUN_OK)
            return st;
        int64_t want[2] = {m, n};
        if (cc->rank > 2)
            return qrun_errf(c->err, QRUN_E_MODEL, "Gemm: C has rank %d", cc->rank);
        for (int d = 0; d < cc->rank; d++) {
            int64_t cd = cc->dims[d], wd = want[2 - cc->rank + d];
            if (cd != 1 && cd != wd)
                return qrun_errf(c->err, QRUN_E_MODEL, "Gemm: C does not broadcast to [%lld, %lld]",
                                 (long long)m, (long long)n);
        }
    }
    int64_t dims[2] = {m, n};
    return qrun_infer_set_output(c, 0, a->dtype, 2, dims);
}

qrun_status qrun_infer_batchnorm(qrun_infer_ctx *c) {
    qrun_status st = nn_need_inputs(c, 5);
    if (st != QRUN_OK)
        return st;
    const struct qrun_tensor *x = c->inputs[0];
    if (x->rank < 2)
        return qrun_errf(c->err, QRUN_E_MODEL,
                         "BatchNormalization: input must be N x C x ..., got rank %d", x->rank);
    int64_t ch = x->dims[1];
    int64_t per_elem = qrun_conv_prod(x->dims + 1, x->rank - 1);
    bool spatial = qrun_node_attr_int(c->node, "spatial", 1) != 0 || c->node->opset >= 9;
    for (int i = 1; i < 5; i++) {
        int64_t cnt = qrun_tensor_numel_(c->inputs[i]);
        if (cnt != ch && (spatial || cnt != per_elem))
            return qrun_errf(c->err, QRUN_E_MODEL,
                             "BatchNormalization: input %d has %lld values, expected %lld", i,
                             (long long)cnt, (long long)ch);
    }
    for (int i = 1; i < c->n_outputs; i++) {
        if (c->node->opset < 14 && i < c->node->n_outputs && c->node->outputs[i] >= 0)
            return qrun_errf(
                c->err, QRUN_E_UNSUPPORTED,
                "BatchNormalization: training outputs before opset 14 are not supported");
    }
    st = qrun_infer_set_output(c, 0, x->dtype, x->rank, x->dims);
    for (int i = 1; i < c->n_outputs && st == QRUN_OK; i++)
        st = qrun_infer_set_output(c, i, c->inputs[3]->dtype, 1, &ch);
    return st;
}

qrun_status qrun_infer_layernorm(qrun_infer_ctx *c) {
    qrun_status st = nn_need_inputs(c, 2);
    if (st != QRUN_OK)
        return st;
    const struct qrun_tensor *x = c->inputs[0];
    int axis = 0;
    if (x->rank < 1)
        return qrun_errf(c->err, QRUN_E_MODEL, "LayerNormalization: input must have rank >= 1");
    st = qrun_normalize_axis(qrun_node_attr_int(c->node, "axis", -1), x->rank, &axis, c->err);
    if (st != QRUN_OK)
        return st;
    for (int i = 1; i < 3 && i < c->n_inputs; i++) {
        const struct qrun_tensor *t = c->inputs[i];
        if (t == NULL)
            continue;
        /* Scale and B broadcast (unidirectionally) to the normalized shape X[axis:]. */
        if (t->rank > x->rank - axis)
            return qrun_errf(
                c->err, QRUN_E_MODEL,
                "LayerNormalization: input %d has rank %d, more than the %d normalized axes", i,
                t->rank, x->rank - axis);
        for (int d = 0; d < t->rank; d++) {
            int64_t xd = x->dims[x->rank - t->rank + d];
            if (t->dims[d] != 1 && t->dims[d] != xd)
                return qrun_errf(c->err, QRUN_E_MODEL,
                                 "LayerNormalization: input %d does not broadcast to X[%d:]", i,
                                 axis);
        }
    }
    qrun_dtype stash = qrun_dtype_from_onnx((int)qrun_node_attr_int(c->node, "stash_type", 1));
    if (!qrun_dtype_is_float(stash))
        return qrun_errf(c->err, QRUN_E_MODEL,
                         "LayerNormalization: stash_type must be a float type");
    int64_t dims[QRUN_MAX_RANK];
    for (int d = 0; d < x->rank; d++)
        dims[d] = d < axis ? x->dims[d] : 1;
    st = qrun_infer_set_output(c, 0, x->dtype, x->rank, x->dims);
    for (int i = 1; i < c->n_outputs && st == QRUN_OK; i++)
        st = qrun_infer_set_output(c, i, stash, x->rank, dims);
    return st;
}

/* LRN: Y has X's shape; the window size is a required positive attribute (any
 * parity: the spec's window is c - floor((size-1)/2) .. c + ceil((size-1)/2)). */
qrun_status qrun_infer_lrn(qrun_infer_ctx *c) {
    qrun_status st = nn_need_inputs(c, 1);
    if (st != QRUN_OK)
        return st;
    const struct qrun_tensor *x = c->inputs[0];
    if (x->rank < 3)
        return qrun_errf(c->err, QRUN_E_MODEL, "LRN: input must be N x C x D1 ..., got rank %d",
                         x->rank);
    if (qrun_node_attr(c->node, "size") == NULL)
        return qrun_errf(c->err, QRUN_E_MODEL, "LRN: attribute 'size' is required");
    int64_t size = qrun_node_attr_int(c->node, "size", 0);
    if (size <= 0)
        return qrun_errf(c->err, QRUN_E_MODEL, "LRN: size must be positive, got %lld",
                         (long long)size);
    return qrun_infer_set_output(c, 0, x->dtype, x->rank, x->dims);
}

bool qrun_reduce_axes_is_input(const qrun_node *node) {
    return node->opset >= (node->op == QRUN_OP_REDUCE_SUM ? 13 : 18);
}

qrun_status qrun_reduce_axes_get(const qrun_node *node,
                                 int data_rank,
                                 const struct qrun_tensor *axes,
                                 bool mask[QRUN_MAX_RANK],
                                 bool *noop,
                                 qrun_err *err) {
    int64_t buf[QRUN_MAX_RANK];
    const int64_t *vals = buf;
    size_t n = 0;
    memset(mask, 0, QRUN_MAX_RANK * sizeof mask[0]);
    *noop = false;
    if (qrun_reduce_axes_is_input(node)) {
        if (axes != NULL) {
            qrun_status st = qrun_tensor_read_ints(axes, buf, QRUN_MAX_RANK, &n, err);
            if (st != QRUN_OK)
                return st;
        }
    } else {
        n = qrun_node_attr_ints(node, "axes", &vals);
    }
    if (n == 0) {
        bool noop_attr = qrun_reduce_axes_is_input(node) &&
                         qrun_node_attr_int(node, "noop_with_empty_axes", 0) != 0;
        *noop = noop_attr;
        for (int d = 0; d < data_rank && !noop_attr; d++)
            mask[d] = true;
        return QRUN_OK;
    }
    for (size_t i = 0; i < n; i++) {
        int ax = 0;
        qrun_status st = qrun_normalize_axis(vals[i], data_rank, &ax, err);
        if (st != QRUN_OK)
            return st;
        if (mask[ax])
            return qrun_errf(err, QRUN_E_MODEL, "%s: axis %lld is listed twice", node->op_type,
                             (long long)vals[i]);
        mask[ax] = true;
    }
    return QRUN_OK;
}

qrun_status qrun_infer_reduce(qrun_infer_ctx *c) {
    qrun_status st = nn_need_inputs(c, 1);
    if (st != QRUN_OK)
        return st;
    const struct qrun_tensor *x = c->inputs[0];
    const struct qrun_tensor *axes = c->n_inputs > 1 ? c->inputs[1] : NULL;
    if (axes != NULL && !qrun_reduce_axes_is_input(c->node))
        return qrun_errf(c->err, QRUN_E_MODEL, "%s: axes input needs opset %d", c->node->op_type,
                         c->node->op == QRUN_OP_REDUCE_SUM ? 13 : 18);
    if (axes != NULL && axes->data == NULL) {
        c->need_value = true;
        return QRUN_OK;
    }
    bool mask[QRUN_MAX_RANK], noop;
    st = qrun_reduce_axes_get(c->node, x->rank, axes, mask, &noop, c->err);
    if (st != QRUN_OK)
        return st;
    bool keep = qrun_node_attr_int(c->node, "keepdims", 1) != 0;
    int64_t dims[QRUN_MAX_RANK];
    int rank = 0;
    for (int d = 0; d < x->rank; d++) {
        if (!mask[d])
            dims[rank++] = x->dims[d];
        else if (keep)
            dims[rank++] = 1;
    }
    return qrun_infer_set_output(c, 0, x->dtype, rank, dims);
}

qrun_status qrun_infer_argreduce(qrun_infer_ctx *c) {
    qrun_status st = nn_need_inputs(c, 1);
    if (st != QRUN_OK)
        return st;
    const struct qrun_tensor *x = c->inputs[0];
    int axis = 0;
    if (x->rank < 1)
        return qrun_errf(c->err, QRUN_E_MODEL, "%s: input must have rank >= 1", c->node->op_type);
    st = qrun_normalize_axis(qrun_node_attr_int(c->node, "axis", 0), x->rank, &axis, c->err);
    if (st != QRUN_OK)
        return st;
    if (x->dims[axis] == 0)
        return qrun_errf(c->err, QRUN_E_MODEL, "%s: axis %d is empty", c->node->op_type, axis);
    bool keep = qrun_node_attr_int(c->node, "keepdims", 1) != 0;
    int64_t dims[QRUN_MAX_RANK];
    int rank = 0;
    for (int d = 0; d < x->rank; d++) {
        if (d != axis)
            dims[rank++] = x->dims[d];
        else if (keep)
            dims[rank++] = 1;
    }
    return qrun_infer_set_output(c, 0, QRUN_DTYPE_INT64, rank, dims);
}
