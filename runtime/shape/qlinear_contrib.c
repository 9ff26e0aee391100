/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shape and type inference of the ONNX Runtime contrib quantized ops (domain
 * com.microsoft): QLinearAdd/Mul, QLinear(Global)AveragePool, QLinearConcat,
 * QLinearSigmoid/LeakyRelu/Softmax, QGemm, QLinearConv, QuantizeLinear and
 * DequantizeLinear. Quantization parameters are checked here, at load: scales
 * are float32 scalars (QGemm's b_scale may be per column), zero points are
 * scalars of their operand's type, and constant scales are positive and finite.
 */
#include "runtime/shape/qlinear_contrib.h"

#include "runtime/dtype.h"
#include "runtime/quant.h"
#include "runtime/shape/shape_util.h"

#include <stdio.h>
#include <string.h>

#define QC_MAX_CONCAT 256 /* inputs of one QLinearConcat */

static const struct qrun_tensor *qc_in(const qrun_infer_ctx *c, int i) {
    return i >= 0 && i < c->n_inputs ? c->inputs[i] : NULL;
}

static bool qc_is_8bit(qrun_dtype t) {
    return t == QRUN_DTYPE_UINT8 || t == QRUN_DTYPE_INT8;
}

static int64_t qc_numel(const struct qrun_tensor *t) {
    return qrun_shape_numel(t->rank, t->dims);
}

/* Inputs listed in idx (n of them) must be present. */
static qrun_status qc_need(const qrun_infer_ctx *c, const int *idx, int n) {
    for (int k = 0; k < n; k++) {
        if (!qc_in(c, idx[k]))
            return qrun_errf(c->err, QRUN_E_MODEL, "%s: input %d is required", c->node->op_type,
                             idx[k]);
    }
    return QRUN_OK;
}

/* Operand input vi is uint8 or int8. */
static qrun_status qc_check_8bit(const qrun_infer_ctx *c, int vi) {
    const struct qrun_tensor *t = c->inputs[vi];
    if (qc_is_8bit(t->dtype))
        return QRUN_OK;
    return qrun_errf(c->err, QRUN_E_MODEL, "%s: input %d must be uint8 or int8, got %s",
                     c->node->op_type, vi, qrun_dtype_name(t->dtype));
}

/* A float32 scale with 1 (or, per_len > 1, per_len) elements; positive and finite when known. */
static qrun_status qc_check_scale(const qrun_infer_ctx *c, int si, int64_t per_len) {
    const struct qrun_tensor *s = c->inputs[si];
    int64_t n = qc_numel(s);
    const char *op = c->node->op_type;
    if (s->dtype != QRUN_DTYPE_FLOAT)
        return qrun_errf(c->err, QRUN_E_MODEL, "%s: scale (input %d) must be float32, got %s", op,
                         si, qrun_dtype_name(s->dtype));
    if (n != 1 && (per_len <= 1 || n != per_len || s->rank != 1))
        return per_len > 1 ? qrun_errf(c->err, QRUN_E_MODEL,
                                       "%s: scale (input %d) must be a scalar or 1-D of length "
                                       "%lld, got %lld elements",
                                       op, si, (long long)per_len, (long long)n)
                           : qrun_errf(c->err, QRUN_E_MODEL,
                                       "%s: scale (input %d) must be a scalar, got %lld elements",
                                       op, si, (long long)n);
    char what[96];
    snprintf(what, sizeof what, "%s: scale (input %d)", op, si);
    return qrun_quant_check_scale(s, what, c->err);
}

/* Optional zero point zi: type t, 1 (or per_len) elements. */
static qrun_status qc_check_zp(const qrun_infer_ctx *c, int zi, qrun_dtype t, int64_t per_len) {
    const struct qrun_tensor *z = qc_in(c, zi);
    if (!z)
        return QRUN_OK;
    if (z->dtype != t)
        return qrun_errf(c->err, QRUN_E_MODEL,
                         "%s: zero point (input %d) must be %s like its operand, got %s",
                         c->node->op_type, zi, qrun_dtype_name(t), qrun_dtype_name(z->dtype));
    int64_t n = qc_numel(z);
    if (n != 1 && (per_len <= 1 || n != per_len || z->rank != 1))
        return qrun_errf(c->err, QRUN_E_MODEL, "%s: zero point (input %d) has %lld elements",
                         c->node->op_type, zi, (long long)n);
    return QRUN_OK;
}

/* Per-tensor scale si and zero point zi of an operand of type t. */
static qrun_status qc_check_qparam(const qrun_infer_ctx *c, int si, int zi, qrun_dtype t) {
    qrun_status st = qc_check_scale(c, si, 1);
    return st != QRUN_OK ? st : qc_check_zp(c, zi, t, 1);
}

/*
 * The common pattern X(0), X_scale(1), X_zp(2), Y_scale(3), Y_zp(4): X is
 * 8-bit, the output has X's type (Y_zp, when given, must agree).
 */
static qrun_status qc_check_xy(const qrun_infer_ctx *c) {
    static const int req[] = {0, 1, 3};
    qrun_status st = qc_need(c, req, 3);
    if (st == QRUN_OK)
        st = qc_check_8bit(c, 0);
    if (st == QRUN_OK)
        st = qc_check_qparam(c, 1, 2, c->inputs[0]->dtype);
    if (st == QRUN_OK)
        st = qc_check_qparam(c, 3, 4, c->inputs[0]->dtype);
    return st;
}

/* ---- elementwise ---------------------------------------------------------- */

qrun_status qrun_infer_qlinear_binary(qrun_infer_ctx *c) {
    static const int req[] = {0, 1, 3, 4, 6};
    qrun_status st = qc_need(c, req, 5);
    if (st == QRUN_OK)
        st = qc_check_8bit(c, 0);
    if (st != QRUN_OK)
        return st;
    qrun_dtype t = c->inputs[0]->dtype;
    if (c->inputs[3]->dtype != t)
        return qrun_errf(c->err, QRUN_E_MODEL, "%s: A is %s but B is %s", c->node->op_type,
                         qrun_dtype_name(t), qrun_dtype_name(c->inputs[3]->dtype));
    st = qc_check_qparam(c, 1, 2, t);
    if (st == QRUN_OK)
        st = qc_check_qparam(c, 4, 5, t);
    if (st == QRUN_OK)
        st = qc_check_qparam(c, 6, 7, t);
    if (st != QRUN_OK)
        return st;
    const struct qrun_tensor *ab[2] = {c->inputs[0], c->inputs[3]};
    int rank;
    int64_t dims[QRUN_MAX_RANK];
    st = qrun_broadcast_shapes(2, ab, &rank, dims, c->err);
    return st != QRUN_OK ? st : qrun_infer_set_output(c, 0, t, rank, dims);
}

qrun_status qrun_infer_qlinear_unary(qrun_infer_ctx *c) {
    qrun_status st = qc_check_xy(c);
    if (st != QRUN_OK)
        return st;
    const struct qrun_tensor *x = c->inputs[0];
    if (c->node->op == QRUN_OP_MS_QLINEAR_SOFTMAX) {
        if (!qrun_node_attr(c->node, "opset"))
            return qrun_errf(c->err, QRUN_E_MODEL, "QLinearSoftmax: attribute opset is required");
        bool v13;
        int axis;
        st = qrun_normalize_axis(qrun_qlinear_softmax_axis(c->node, &v13), x->rank, &axis, c->err);
        if (st != QRUN_OK)
            return st;
    }
    return qrun_infer_set_output(c, 0, x->dtype, x->rank, x->dims);
}

int64_t qrun_qlinear_softmax_axis(const qrun_node *node, bool *v13) {
    *v13 = qrun_node_attr_int(node, "opset", 13) >= 13;
    return qrun_node_attr_int(node, "axis", *v13 ? -1 : 1);
}

/* QLinearConcat: Y_scale, Y_zp, then (X_i, X_i_scale, X_i_zp) triples; attribute axis. */
qrun_status qrun_infer_qlinear_concat(qrun_infer_ctx *c) {
    static const int req[] = {0, 1};
    qrun_status st = qc_need(c, req, 2);
    if (st != QRUN_OK)
        return st;
    int n = (c->n_inputs - 2) / 3;
    if ((c->n_inputs - 2) % 3 != 0 || n < 1)
        return qrun_errf(c->err, QRUN_E_MODEL,
                         "QLinearConcat: expected Y_scale, Y_zero_point and (tensor, scale, zero "
                         "point) triples, got %d inputs",
                         c->n_inputs);
    if (n > QC_MAX_CONCAT)
        return qrun_errf(c->err, QRUN_E_UNSUPPORTED, "QLinearConcat: more than %d inputs",
                         QC_MAX_CONCAT);
    if (!qrun_node_attr(c->node, "axis"))
        return qrun_errf(c->err, QRUN_E_MODEL, "QLinearConcat: attribute axis is required");
    if (!qc_is_8bit(c->inputs[1]->dtype))
        return qrun_errf(c->err, QRUN_E_MODEL, "QLinearConcat: Y_zero_point must be uint8 or int8");
    qrun_dtype t = c->inputs[1]->dtype;
    st = qc_check_qparam(c, 0, 1, t);
    const struct qrun_tensor *xs[QC_MAX_CONCAT];
    for (int i = 0; i < n && st == QRUN_OK; i++) {
        int b = 2 + 3 * i;
        const int trio[] = {b, b + 1};
        st = qc_need(c, trio, 2);
        if (st == QRUN_OK && c->inputs[b]->dtype != t)
            st = qrun_errf(c->err, QRUN_E_MODEL, "QLinearConcat: input %d is %s, the output %s", b,
                           qrun_dtype_name(c->inputs[b]->dtype), qrun_dtype_name(t));
        if (st == QRUN_OK)
            st = qc_check_qparam(c, b + 1, b + 2, t);
        xs[i] = c->inputs[b];
    }
    if (st != QRUN_OK)
        return st;
    /* The tensors alone follow Concat's shape rule. */
    qrun_infer_ctx sub = *c;
    sub.inputs = xs;
    sub.n_inputs = n;
    return qrun_infer_concat(&sub);
}

/* ---- pools ---------------------------------------------------------------- */

bool qrun_qlinear_channels_last(const qrun_node *node) {
    return qrun_node_attr_int(node, "channels_last", 0) != 0;
}

void qrun_channels_last_view(const struct qrun_tensor *x, struct qrun_tensor *view) {
    *view = *x;
    view->dims[1] = x->dims[x->rank - 1];
    for (int d = 2; d < x->rank; d++)
        view->dims[d] = x->dims[d - 1];
}

void qrun_channels_last_dims(int rank, const int64_t *nchw, int64_t *out) {
    out[0] = nchw[0];
    for (int d = 1; d < rank - 1; d++)
        out[d] = nchw[d + 1];
    out[rank - 1] = nchw[1];
}

qrun_status qrun_qlinear_pool_params(const qrun_node *node,
                                     const struct qrun_tensor *x,
                                     qrun_conv_params *p,
                                     qrun_err *err) {
    if (x->rank < 3)
        return qrun_errf(err, QRUN_E_MODEL, "%s: input must have rank >= 3, got %d", node->op_type,
                         x->rank);
    /* An N x C x spatial view of X. */
    struct qrun_tensor v = *x;
    int ns = x->rank - 2;
    if (qrun_qlinear_channels_last(node))
        qrun_channels_last_view(x, &v);
    if (node->op == QRUN_OP_MS_QLINEAR_AVERAGE_POOL)
        return qrun_pool_params_get(node, &v, p, err);
    memset(p, 0, sizeof *p);
    p->n_spatial = ns;
    p->batch = v.dims[0];
    p->c_in = p->c_out = v.dims[1];
    p->group = 1;
    for (int d = 0; d < ns; d++) {
        p->in[d] = p->kernel[d] = v.dims[2 + d];
        p->out[d] = p->stride[d] = p->dilation[d] = 1;
    }
    return QRUN_OK;
}

void qrun_qlinear_pool_out_dims(const qrun_conv_params *p, bool channels_last, int64_t *dims) {
    int64_t nchw[QRUN_MAX_RANK];
    nchw[0] = p->batch;
    nchw[1] = p->c_out;
    for (int d = 0; d < p->n_spatial; d++)
        nchw[2 + d] = p->out[d];
    if (channels_last)
        qrun_channels_last_dims(p->n_spatial + 2, nchw, dims);
    else
        memcpy(dims, nchw, (size_t)(p->n_spatial + 2) * sizeof(int64_t));
}

qrun_status qrun_infer_qlinear_pool(qrun_infer_ctx *c) {
    qrun_status st = qc_check_xy(c);
    if (st != QRUN_OK)
        return st;
    qrun_conv_params p;
    st = qrun_qlinear_pool_params(c->node, c->inputs[0], &p, c->err);
    if (st != QRUN_OK)
        return st;
    int64_t dims[QRUN_MAX_RANK];
    qrun_qlinear_pool_out_dims(&p, qrun_qlinear_channels_last(c->node), dims);
    return qrun_infer_set_output(c, 0, c->inputs[0]->dtype, p.n_spatial + 2, dims);
}

/* ---- QGemm ---------------------------------------------------------------- */

/* C must broadcast unidirectionally to [M, N]. */
static qrun_status qc_check_gemm_bias(const qrun_infer_ctx *c, int64_t m, int64_t n) {
    const struct qrun_tensor *b = qc_in(c, 6);
    if (!b)
        return QRUN_OK;
    if (b->dtype != QRUN_DTYPE_INT32)
        return qrun_errf(c->err, QRUN_E_MODEL, "QGemm: C must be int32, got %s",
                         qrun_dtype_name(b->dtype));
    int64_t want[2] = {m, n};
    bool ok = b->rank <= 2;
    for (int d = 0; ok && d < b->rank; d++) {
        int64_t w = want[2 - b->rank + d];
        ok = b->dims[d] == 1 || b->dims[d] == w;
    }
    if (!ok)
        return qrun_errf(c->err, QRUN_E_MODEL, "QGemm: C does not broadcast to [%lld, %lld]",
                         (long long)m, (long long)n);
    return QRUN_OK;
}

qrun_status qrun_infer_qgemm(qrun_infer_ctx *c) {
    static const int req[] = {0, 1, 3, 4};
    qrun_status st = qc_need(c, req, 4);
    if (st == QRUN_OK)
        st = qc_check_8bit(c, 0);
    if (st == QRUN_OK)
        st = qc_check_8bit(c, 3);
    if (st != QRUN_OK)
        return st;
    const struct qrun_tensor *a = c->inputs[0], *b = c->inputs[3];
    if (a->rank != 2 || b->rank != 2)
        return qrun_errf(c->err, QRUN_E_MODEL, "QGemm: A and B must be 2-D (got rank %d and %d)",
                         a->rank, b->rank);
    bool ta = qrun_node_attr_int(c->node, "transA", 0) != 0;
    bool tb = qrun_node_attr_int(c->node, "transB", 0) != 0;
    int64_t m = a->dims[ta ? 1 : 0], k = a->dims[ta ? 0 : 1];
    int64_t kb = b->dims[tb ? 1 : 0], n = b->dims[tb ? 0 : 1];
    if (k != kb)
        return qrun_errf(c->err, QRUN_E_MODEL, "QGemm: inner dimensions differ (%lld vs %lld)",
                         (long long)k, (long long)kb);
    st = qc_check_qparam(c, 1, 2, a->dtype);
    if (st == QRUN_OK)
        st = qc_check_scale(c, 4, n);
    if (st == QRUN_OK)
        st = qc_check_zp(c, 5, b->dtype, n);
    if (st == QRUN_OK)
        st = qc_check_gemm_bias(c, m, n);
    if (st != QRUN_OK)
        return st;
    /* Without y_scale the output is float32 (dequantized); else 8-bit, y_zero_point's type. */
    const struct qrun_tensor *ys = qc_in(c, 7), *yzp = qc_in(c, 8);
    qrun_dtype yt = QRUN_DTYPE_FLOAT;
    if (ys) {
        yt = yzp ? yzp->dtype : a->dtype;
        if (!qc_is_8bit(yt))
            return qrun_errf(c->err, QRUN_E_MODEL, "QGemm: y_zero_point must be uint8 or int8");
        st = qc_check_qparam(c, 7, 8, yt);
    } else if (yzp) {
        return qrun_errf(c->err, QRUN_E_MODEL, "QGemm: y_zero_point given without y_scale");
    }
    int64_t dims[2] = {m, n};
    return st != QRUN_OK ? st : qrun_infer_set_output(c, 0, yt, 2, dims);
}

/* ---- QLinearConv, QuantizeLinear, DequantizeLinear ------------------------- */

/* channels_last = 1: X and Y are N x D1..Dn x C; the weights keep ONNX's M x C/group x k layout. */
qrun_status qrun_infer_ms_qlinear_conv(qrun_infer_ctx *c) {
    const struct qrun_tensor *x = qc_in(c, 0);
    if (!qrun_qlinear_channels_last(c->node) || !x)
        return qrun_infer_qlinear_conv(c);
    if (x->rank < 3)
        return qrun_errf(c->err, QRUN_E_MODEL, "QLinearConv: X must have rank >= 3, got %d",
                         x->rank);
    struct qrun_tensor view;
    qrun_channels_last_view(x, &view);
    const struct qrun_tensor *ins[9];
    int n = c->n_inputs < 9 ? c->n_inputs : 9;
    for (int i = 0; i < n; i++)
        ins[i] = c->inputs[i];
    ins[0] = &view;
    qrun_infer_ctx sub = *c;
    sub.inputs = ins;
    sub.n_inputs = n;
    qrun_status st = qrun_infer_qlinear_conv(&sub);
    if (st != QRUN_OK)
        return st;
    struct qrun_tensor *y = &c->outputs[0];
    int64_t dims[QRUN_MAX_RANK];
    qrun_channels_last_dims(y->rank, y->dims, dims);
    return qrun_infer_set_output(c, 0, y->dtype, y->rank, dims);
}

/* Without an axis attribute the contrib ops are per tensor: the scale must be a scalar. */
static qrun_status qc_check_qdq_axis(const qrun_infer_ctx *c) {
    const struct qrun_tensor *s = qc_in(c, 1);
    if (!s || qrun_node_attr(c->node, "axis") || qc_numel(s) == 1)
        return QRUN_OK;
    return qrun_errf(c->err, QRUN_E_MODEL,
                     "%s (com.microsoft): scale has %lld elements but no axis is set",
                     c->node->op_type, (long long)qc_numel(s));
}

qrun_status qrun_infer_ms_quantize_linear(qrun_infer_ctx *c) {
    qrun_status st = qc_check_qdq_axis(c);
    return st != QRUN_OK ? st : qrun_infer_quantize_linear(c);
}

qrun_status qrun_infer_ms_dequantize_linear(qrun_infer_ctx *c) {
    qrun_status st = qc_check_qdq_axis(c);
    return st != QRUN_OK ? st : qrun_infer_dequantize_linear(c);
}
