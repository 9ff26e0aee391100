/* SPDX-License-Identifier: Apache-2.0 */
/* Shape and type inference of the quantization ops (QuantizeLinear ... QLinearMatMul). */
#include "runtime/dtype.h"
#include "runtime/ir.h"
#include "runtime/quant.h"
#include "runtime/shape/nn_params.h"
#include "runtime/shape/shape_util.h"

static const struct qrun_tensor *qs_input(const qrun_infer_ctx *c, int i) {
    return i < c->n_inputs ? c->inputs[i] : NULL;
}

static qrun_status qs_need(const qrun_infer_ctx *c, int n) {
    for (int i = 0; i < n; i++) {
        if (!qs_input(c, i))
            return qrun_errf(c->err, QRUN_E_MODEL, "%s: input %d is required", c->node->op_type, i);
    }
    return QRUN_OK;
}

static bool qs_is_8bit(qrun_dtype t) {
    return t == QRUN_DTYPE_UINT8 || t == QRUN_DTYPE_INT8;
}

/* Inputs listed in idx must be uint8 or int8 (when present). */
static qrun_status qs_check_8bit(const qrun_infer_ctx *c, const int *idx, int n) {
    for (int k = 0; k < n; k++) {
        const struct qrun_tensor *t = qs_input(c, idx[k]);
        if (t && !qs_is_8bit(t->dtype))
            return qrun_errf(c->err, QRUN_E_MODEL, "%s: input %d must be uint8 or int8, got %s",
                             c->node->op_type, idx[k], qrun_dtype_name(t->dtype));
    }
    return QRUN_OK;
}

/* Zero point input z (when present) must have the type of its operand input v. */
static qrun_status qs_zp_matches(const qrun_infer_ctx *c, int v, int z) {
    const struct qrun_tensor *tv = qs_input(c, v), *tz = qs_input(c, z);
    if (!tv || !tz || tv->dtype == tz->dtype)
        return QRUN_OK;
    return qrun_errf(c->err, QRUN_E_MODEL, "%s: input %d is %s but its zero point (input %d) is %s",
                     c->node->op_type, v, qrun_dtype_name(tv->dtype), z,
                     qrun_dtype_name(tz->dtype));
}

/* Scale inputs listed in idx must be float32 (or 16-bit floats where allowed). */
static qrun_status qs_check_scales(const qrun_infer_ctx *c, const int *idx, int n, bool half_ok) {
    for (int k = 0; k < n; k++) {
        qrun_dtype t = c->inputs[idx[k]]->dtype;
        bool ok = t == QRUN_DTYPE_FLOAT ||
                  (half_ok && (t == QRUN_DTYPE_FLOAT16 || t == QRUN_DTYPE_BFLOAT16));
        if (!ok)
            return qrun_errf(c->err, QRUN_E_MODEL, "%s: scale input %d has type %s",
                             c->node->op_type, idx[k], qrun_dtype_name(t));
    }
    return QRUN_OK;
}

static qrun_dtype qs_attr_dtype(const qrun_node *n, const char *name) {
    int64_t v = qrun_node_attr_int(n, name, 0);
    if (v <= 0 || v > 1000)
        return QRUN_DTYPE_UNDEFINED;
    return qrun_dtype_from_onnx((int)v);
}

/* The granularity check shared by QuantizeLinear and DequantizeLinear. */
static qrun_status qs_check_qparams(const qrun_infer_ctx *c) {
    const qrun_node *n = c->node;
    const struct qrun_tensor *x = c->inputs[0], *scale = c->inputs[1], *zp = qs_input(c, 2);
    int64_t opset = qrun_qdq_onnx_opset(n);
    if (opset < 13 && qrun_shape_numel(scale->rank, scale->dims) != 1)
        return qrun_errf(c->err, QRUN_E_MODEL, "%s-%lld: scale must be a scalar", n->op_type,
                         (long long)n->opset);
    if (!qrun_dtype_is_float(scale->dtype) || !qrun_dtype_traits_get(x->dtype)->get)
        return qrun_errf(c->err, QRUN_E_MODEL, "%s: x is %s and scale is %s", n->op_type,
                         qrun_dtype_name(x->dtype), qrun_dtype_name(scale->dtype));
    int64_t axis = opset >= 13 ? qrun_node_attr_int(n, "axis", 1) : 1;
    int64_t block = opset >= 21 ? qrun_node_attr_int(n, "block_size", 0) : 0;
    qrun_qparam_map m;
    qrun_status st = qrun_qparam_map_init(&m, x->rank, x->dims, scale, zp, axis, block, c->err);
    if (st != QRUN_OK)
        qrun_err_prefix(c->err, "%s: ", n->op_type);
    return st;
}

/* Output type: y_zero_point's type, else output_dtype (21+), else uint8; both must agree. */
static qrun_status qs_quantize_out_type(const qrun_infer_ctx *c, qrun_dtype *out) {
    const struct qrun_tensor *zp = qs_input(c, 2);
    qrun_dtype od = qrun_qdq_onnx_opset(c->node) >= 21 ? qs_attr_dtype(c->node, "output_dtype") : 0;
    if (zp && od != QRUN_DTYPE_UNDEFINED && od != zp->dtype)
        return qrun_errf(c->err, QRUN_E_MODEL,
                         "QuantizeLinear: output_dtype %s differs from y_zero_point's type %s",
                         qrun_dtype_name(od), qrun_dtype_name(zp->dtype));
    qrun_dtype t = zp ? zp->dtype : od != QRUN_DTYPE_UNDEFINED ? od : QRUN_DTYPE_UINT8;
    int32_t lo, hi;
    bool ok = (qrun_quant_int_range(t, &lo, &hi) && t != QRUN_DTYPE_INT32) ||
              qrun_quant_is_small_float(t);
    if (!ok)
        return qrun_errf(c->err, QRUN_E_MODEL, "QuantizeLinear: %s is not a quantized type",
                         qrun_dtype_name(t));
    *out = t;
    return QRUN_OK;
}

qrun_status qrun_infer_quantize_linear(qrun_infer_ctx *c) {
    qrun_status st = qs_need(c, 2);
    if (st == QRUN_OK)
        st = qs_check_qparams(c);
    qrun_dtype t = QRUN_DTYPE_UINT8;
    if (st == QRUN_OK)
        st = qs_quantize_out_type(c, &t);
    if (st != QRUN_OK)
        return st;
    const struct qrun_tensor *x = c->inputs[0];
    return qrun_infer_set_output(c, 0, t, x->rank, x->dims);
}

qrun_status qrun_infer_dequantize_linear(qrun_infer_ctx *c) {
    qrun_status st = qs_need(c, 2);
    if (st == QRUN_OK)
        st = qs_check_qparams(c);
    if (st != QRUN_OK)
        return st;
    const struct qrun_tensor *x = c->inputs[0], *zp = qs_input(c, 2);
    if (zp && zp->dtype != x->dtype)
        return qrun_errf(c->err, QRUN_E_MODEL, "DequantizeLinear: x is %s but x_zero_point is %s",
                         qrun_dtype_name(x->dtype), qrun_dtype_name(zp->dtype));
    int64_t opset = qrun_qdq_onnx_opset(c->node);
    qrun_dtype t = opset >= 19 ? c->inputs[1]->dtype : QRUN_DTYPE_FLOAT;
    qrun_dtype od = opset >= 23 ? qs_attr_dtype(c->node, "output_dtype") : 0;
    if (od != QRUN_DTYPE_UNDEFINED)
        t = od;
    if (!qrun_dtype_is_float(t) || qrun_dtype_bits(t) < 16)
        return qrun_errf(c->err, QRUN_E_MODEL, "DequantizeLinear: output type %s is not valid",
                         qrun_dtype_name(t));
    return qrun_infer_set_output(c, 0, t, x->rank, x->dims);
}

qrun_status qrun_infer_dynamic_quantize_linear(qrun_infer_ctx *c) {
    qrun_status st = qs_need(c, 1);
    if (st != QRUN_OK)
        return st;
    const struct qrun_tensor *x = c->inputs[0];
    if (!qrun_dtype_is_float(x->dtype))
        return qrun_errf(c->err, QRUN_E_MODEL, "DynamicQuantizeLinear: x must be float, got %s",
                         qrun_dtype_name(x->dtype));
    st = qrun_infer_set_output(c, 0, QRUN_DTYPE_UINT8, x->rank, x->dims);
    if (st == QRUN_OK && c->n_outputs > 1)
        st = qrun_infer_set_output(c, 1, x->dtype, 0, NULL);
    if (st == QRUN_OK && c->n_outputs > 2)
        st = qrun_infer_set_output(c, 2, QRUN_DTYPE_UINT8, 0, NULL);
    return st;
}

/* Conv output shape from x (input xi) and w (input wi). */
static qrun_status qs_conv_out(qrun_infer_ctx *c, int xi, int wi, qrun_dtype t) {
    qrun_conv_params p;
    qrun_status st = qrun_conv_params_get(c->node, c->inputs[xi], c->inputs[wi], &p, c->err);
    if (st != QRUN_OK)
        return st;
    int64_t dims[QRUN_MAX_RANK];
    dims[0] = p.batch;
    dims[1] = p.c_out;
    for (int d = 0; d < p.n_spatial; d++)
        dims[2 + d] = p.out[d];
    return qrun_infer_set_output(c, 0, t, p.n_spatial + 2, dims);
}

/* numpy matmul output shape of a (input ai) x b (input bi). */
static qrun_status qs_matmul_out(qrun_infer_ctx *c, int ai, int bi, qrun_dtype t) {
    int rank = 0;
    int64_t dims[QRUN_MAX_RANK];
    qrun_status st =
        qrun_matmul_shape(c->node->op_type, c->inputs[ai], c->inputs[bi], &rank, dims, c->err);
    if (st != QRUN_OK)
        return st;
    return qrun_infer_set_output(c, 0, t, rank, dims);
}

/* ConvInteger / MatMulInteger: 8-bit a, b and optional zero points of matching types. */
static qrun_status qs_check_integer_op(qrun_infer_ctx *c) {
    static const int k8[] = {0, 1, 2, 3};
    qrun_status st = qs_need(c, 2);
    if (st == QRUN_OK)
        st = qs_check_8bit(c, k8, 4);
    if (st == QRUN_OK)
        st = qs_zp_matches(c, 0, 2);
    if (st == QRUN_OK)
        st = qs_zp_matches(c, 1, 3);
    return st;
}

qrun_status qrun_infer_conv_integer(qrun_infer_ctx *c) {
    qrun_status st = qs_check_integer_op(c);
    return st != QRUN_OK ? st : qs_conv_out(c, 0, 1, QRUN_DTYPE_INT32);
}

qrun_status qrun_infer_matmul_integer(qrun_infer_ctx *c) {
    qrun_status st = qs_check_integer_op(c);
    return st != QRUN_OK ? st : qs_matmul_out(c, 0, 1, QRUN_DTYPE_INT32);
}

qrun_status qrun_infer_qlinear_conv(qrun_infer_ctx *c) {
    static const int k8[] = {0, 2, 3, 5, 7}, ks[] = {1, 4, 6};
    qrun_status st = qs_need(c, 7);
    if (st == QRUN_OK)
        st = qs_check_8bit(c, k8, 5);
    if (st == QRUN_OK)
        st = qs_check_scales(c, ks, 3, false);
    if (st == QRUN_OK)
        st = qs_zp_matches(c, 0, 2);
    if (st == QRUN_OK)
        st = qs_zp_matches(c, 3, 5);
    if (st != QRUN_OK)
        return st;
    const struct qrun_tensor *b = qs_input(c, 8);
    if (b && b->dtype != QRUN_DTYPE_INT32)
        return qrun_errf(c->err, QRUN_E_MODEL, "QLinearConv: bias must be int32, got %s",
                         qrun_dtype_name(b->dtype));
    const struct qrun_tensor *yzp = qs_input(c, 7);
    return qs_conv_out(c, 0, 3, yzp ? yzp->dtype : c->inputs[0]->dtype);
}

qrun_status qrun_infer_qlinear_matmul(qrun_infer_ctx *c) {
    static const int ks[] = {1, 4, 6};
    qrun_status st = qs_need(c, 7);
    if (st != QRUN_OK)
        return st;
    /* a, b and y are all 8-bit integers, or (21+) all FP8. */
    const struct qrun_tensor *yzp = qs_input(c, 7);
    bool int_a = qs_is_8bit(c->inputs[0]->dtype);
    const int idx[] = {0, 3, 7};
    for (int k = 0; k < 3; k++) {
        const struct qrun_tensor *t = qs_input(c, idx[k]);
        if (!t)
            continue;
        bool fp8 = c->node->opset >= 21 && qrun_quant_is_small_float(t->dtype) &&
                   t->dtype != QRUN_DTYPE_FLOAT4E2M1;
        if (int_a ? !qs_is_8bit(t->dtype) : !fp8)
            return qrun_errf(c->err, QRUN_E_MODEL, "QLinearMatMul: input %d has type %s", idx[k],
                             qrun_dtype_name(t->dtype));
    }
    st = qs_check_scales(c, ks, 3, c->node->opset >= 21);
    if (st == QRUN_OK)
        st = qs_zp_matches(c, 0, 2);
    if (st == QRUN_OK)
        st = qs_zp_matches(c, 3, 5);
    if (st != QRUN_OK)
        return st;
    return qs_matmul_out(c, 0, 3, yzp ? yzp->dtype : c->inputs[0]->dtype);
}
