/* SPDX-License-Identifier: Apache-2.0 */
/* Shape and type inference of the quantization ops (QuantizeLinear ... QLinearMatMul). */
#include "runtime/dtype.h"
#include "runtime/fp8_math.h"
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

/*
 * A scale or zero point (input i, when present) holds one element, or one
 * per `per` (len of them; or len per matrix of a batch of mats matrices,
 * as the numpy-style batched QLinearMatMul allows).
 */
static qrun_status qs_param_len(
    const qrun_infer_ctx *c, int i, const char *what, int64_t len, int64_t mats, const char *per) {
    const struct qrun_tensor *t = qs_input(c, i);
    int64_t n = t ? qrun_shape_numel(t->rank, t->dims) : 1;
    if (n == 1 || (len > 1 && (n == len || n == len * mats)))
        return QRUN_OK;
    if (len <= 1)
        return qrun_errf(c->err, QRUN_E_MODEL, "%s has %lld elements; it must be a scalar", what,
                         (long long)n);
    return qrun_errf(c->err, QRUN_E_MODEL, "%s has %lld elements; expected 1 or %lld (%s)", what,
                     (long long)n, (long long)len, per);
}

/* Scalar x/y parameters and per-output-channel w parameters of QLinearConv / ConvInteger. */
static qrun_status qs_conv_params(const qrun_infer_ctx *c, bool qlinear) {
    const struct qrun_tensor *w = c->inputs[qlinear ? 3 : 1];
    int64_t m = w->rank > 0 ? w->dims[0] : 1;
    static const char per[] = "one per output channel";
    if (!qlinear) {
        qrun_status st = qs_param_len(c, 2, "x_zero_point", 1, 1, per);
        return st != QRUN_OK ? st : qs_param_len(c, 3, "w_zero_point", m, 1, per);
    }
    static const struct {
        int input;
        const char *name;
        bool per_channel;
    } p[] = {{1, "x_scale", false},     {2, "x_zero_point", false}, {4, "w_scale", true},
             {5, "w_zero_point", true}, {6, "y_scale", false},      {7, "y_zero_point", false}};
    for (size_t k = 0; k < sizeof p / sizeof p[0]; k++) {
        qrun_status st = qs_param_len(c, p[k].input, p[k].name, p[k].per_channel ? m : 1, 1, per);
        if (st != QRUN_OK)
            return st;
    }
    return QRUN_OK;
}

/* Matrices in a batch of t (the product of its dims before the last two). */
static int64_t qs_mats(const struct qrun_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d + 2 < t->rank; d++)
        n *= t->dims[d];
    return n;
}

/* QLinearMatMul / MatMulInteger parameters: scalar, per row of a, or per column of b. */
static qrun_status qs_matmul_params(const qrun_infer_ctx *c, bool qlinear) {
    const struct qrun_tensor *a = c->inputs[0], *b = c->inputs[qlinear ? 3 : 1];
    int64_t m = a->rank >= 2 ? a->dims[a->rank - 2] : 1;
    int64_t n = b->rank >= 2 ? b->dims[b->rank - 1] : 1;
    static const char row[] = "one per row of a", col[] = "one per column of b";
    int azp = 2, bzp = qlinear ? 5 : 3;
    qrun_status st = qs_param_len(c, azp, "a_zero_point", m, qs_mats(a), row);
    if (st == QRUN_OK)
        st = qs_param_len(c, bzp, "b_zero_point", n, qs_mats(b), col);
    if (st != QRUN_OK || !qlinear)
        return st;
    st = qs_param_len(c, 1, "a_scale", m, qs_mats(a), row);
    if (st == QRUN_OK)
        st = qs_param_len(c, 4, "b_scale", n, qs_mats(b), col);
    if (st == QRUN_OK)
        st = qs_param_len(c, 6, "y_scale", m, 1, "one per row of y");
    if (st == QRUN_OK)
        st = qs_param_len(c, 7, "y_zero_point", m, 1, "one per row of y");
    return st;
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
    if (st == QRUN_OK)
        st = qs_conv_params(c, false);
    return st != QRUN_OK ? st : qs_conv_out(c, 0, 1, QRUN_DTYPE_INT32);
}

qrun_status qrun_infer_matmul_integer(qrun_infer_ctx *c) {
    qrun_status st = qs_check_integer_op(c);
    if (st == QRUN_OK)
        st = qs_matmul_params(c, false);
    return st != QRUN_OK ? st : qs_matmul_out(c, 0, 1, QRUN_DTYPE_INT32);
}

/*
 * QLinearConv / QLinearMatMul operands x (or a), w (or b), their zero points
 * and y_zero_point are either all uint8/int8, or all FP8 (the four ONNX
 * formats or qrun's E3M4, each operand its own format; zero points of their
 * operand's type and 0). ONNX types QLinearMatMul-21 with FP8; qrun accepts
 * FP8 for both ops at every opset, as the nodes its QDQ lowering creates.
 */
static qrun_status qs_check_qlinear_types(qrun_infer_ctx *c, bool *fp8) {
    static const int idx[] = {0, 2, 3, 5, 7};
    *fp8 = qrun_fp8_is_mac_type(c->inputs[0]->dtype);
    for (int k = 0; k < 5; k++) {
        const struct qrun_tensor *t = qs_input(c, idx[k]);
        if (t && (*fp8 ? !qrun_fp8_is_mac_type(t->dtype) : !qs_is_8bit(t->dtype)))
            return qrun_errf(
                c->err, QRUN_E_MODEL, "%s: input %d must be %s, got %s", c->node->op_type, idx[k],
                *fp8 ? "an FP8 type (x is FP8)" : "uint8 or int8", qrun_dtype_name(t->dtype));
    }
    qrun_status st = qs_zp_matches(c, 0, 2);
    if (st == QRUN_OK)
        st = qs_zp_matches(c, 3, 5);
    return st;
}

/*
 * QLinearConv bias: int32 in accumulator units (ONNX) for integer operands;
 * for FP8 operands a qrun extension: float32 in output units before the
 * output scale (as Conv's B), added as bias / y_scale when requantizing.
 */
qrun_status qrun_infer_qlinear_conv(qrun_infer_ctx *c) {
    static const int ks[] = {1, 4, 6};
    bool fp8 = false;
    qrun_status st = qs_need(c, 7);
    if (st == QRUN_OK)
        st = qs_check_qlinear_types(c, &fp8);
    if (st == QRUN_OK)
        st = qs_check_scales(c, ks, 3, fp8);
    if (st == QRUN_OK)
        st = qs_conv_params(c, true);
    if (st != QRUN_OK)
        return st;
    const struct qrun_tensor *b = qs_input(c, 8);
    qrun_dtype bias_t = fp8 ? QRUN_DTYPE_FLOAT : QRUN_DTYPE_INT32;
    if (b && b->dtype != bias_t)
        return qrun_errf(c->err, QRUN_E_MODEL, "QLinearConv: bias must be %s, got %s",
                         qrun_dtype_name(bias_t), qrun_dtype_name(b->dtype));
    const struct qrun_tensor *yzp = qs_input(c, 7);
    return qs_conv_out(c, 0, 3, yzp ? yzp->dtype : c->inputs[0]->dtype);
}

qrun_status qrun_infer_qlinear_matmul(qrun_infer_ctx *c) {
    static const int ks[] = {1, 4, 6};
    bool fp8 = false;
    qrun_status st = qs_need(c, 7);
    if (st == QRUN_OK)
        st = qs_check_qlinear_types(c, &fp8);
    if (st == QRUN_OK)
        st = qs_check_scales(c, ks, 3, fp8 || c->node->opset >= 21);
    if (st == QRUN_OK)
        st = qs_matmul_params(c, true);
    if (st != QRUN_OK)
        return st;
    const struct qrun_tensor *yzp = qs_input(c, 7);
    return qs_matmul_out(c, 0, 3, yzp ? yzp->dtype : c->inputs[0]->dtype);
}
