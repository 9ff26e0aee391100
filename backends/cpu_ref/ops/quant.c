/* SPDX-License-Identifier: Apache-2.0 */
/* cpu_ref QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear (math in runtime/quant.h). */
#include "backends/cpu_ref/kernel.h"
#include "runtime/dtype.h"
#include "runtime/quant.h"

#include <math.h>
#include <stdio.h>

/*
 * Elements are processed in blocks of QK_BLOCK (a multiple of 8) so that
 * threads never share a byte of a packed 4- or 2-bit output.
 */
#define QK_BLOCK 4096
#define QK_PARALLEL_MIN ((int64_t)1 << 15)

static const struct qrun_tensor *qk_in(const qrun_kernel_call *call, int i) {
    return i < call->n_inputs ? call->inputs[i] : NULL;
}

/* Zero point p of an 8-bit tensor (int8 unless u8). */
static int32_t qk_zp8(const void *zp, int64_t p, bool u8) {
    return u8 ? ((const uint8_t *)zp)[p] : ((const int8_t *)zp)[p];
}

static int qk_threads(const qrun_kernel_call *call, int64_t n) {
    return n >= QK_PARALLEL_MIN ? call->n_threads : 1;
}

/* Scale/zero-point layout of a QuantizeLinear/DequantizeLinear node for its opset. */
static qrun_status qk_map(const qrun_kernel_call *call, qrun_qparam_map *m) {
    const qrun_node *n = call->node;
    const struct qrun_tensor *x = call->inputs[0];
    int64_t opset = qrun_qdq_onnx_opset(n);
    int64_t axis = opset >= 13 ? qrun_node_attr_int(n, "axis", 1) : 1;
    int64_t block = opset >= 21 ? qrun_node_attr_int(n, "block_size", 0) : 0;
    return qrun_qparam_map_init(m, x->rank, x->dims, call->inputs[1], qk_in(call, 2), axis, block,
                                call->err);
}

/*
 * Op data of QuantizeLinear / DequantizeLinear, made once per plan from
 * shapes and attributes: the scale/zero-point layout and (QuantizeLinear)
 * the compute type and output range.
 */
typedef struct qk_params {
    qrun_qparam_map map;
    qrun_dtype compute; /* type x / scale is computed in */
    bool is_int;        /* integer target (else FP8/FP4) */
    bool saturate;      /* FP8 targets */
    int32_t qmin, qmax;
} qk_params;

static size_t qk_op_data_bytes(const qrun_kernel_call *call) {
    (void)call;
    return sizeof(qk_params);
}

/* ---- QuantizeLinear ------------------------------------------------------ */

typedef struct qk_quant {
    const struct qrun_tensor *x, *scale, *zp;
    struct qrun_tensor *y;
    const qk_params *p;
} qk_quant;

static void qk_quant_elem(const qk_quant *k, int64_t i) {
    const struct qrun_dtype_traits *tx = qrun_dtype_traits_get(k->x->dtype);
    const struct qrun_dtype_traits *ts = qrun_dtype_traits_get(k->scale->dtype);
    const struct qrun_dtype_traits *ty = qrun_dtype_traits_get(k->y->dtype);
    int64_t p = qrun_qparam_index(&k->p->map, i);
    double q = qrun_quant_div(tx->get(k->x->data, (size_t)i), ts->get(k->scale->data, (size_t)p),
                              k->p->compute);
    double zp = k->zp ? ty->get(k->zp->data, (size_t)p) : 0.0;
    if (k->p->is_int) {
        ty->set(k->y->data, (size_t)i,
                (double)qrun_quantize_int(q, (int32_t)zp, k->p->qmin, k->p->qmax), true);
        return;
    }
    /*
     * The reference ignores the zero point of FP8 targets (it must be 0) and
     * adds FP4's in float32. FP8 Inf saturates to max for the FNUZ types too
     * (numpy_helper.saturate_cast clips before converting).
     */
    if (k->y->dtype == QRUN_DTYPE_FLOAT4E2M1)
        q = (double)((float)q + (float)zp);
    ty->set(k->y->data, (size_t)i, q, k->p->saturate);
}

/*
 * Elements [i, end) share one scale and zero point: to hi for per-tensor
 * parameters, to the end of the inner run for per-axis ones; blocked
 * parameters change every element (unless inner is 1) and go one by one.
 */
static int64_t qk_run_end(const qrun_qparam_map *m, int64_t i, int64_t hi) {
    int64_t end = i + 1;
    if (m->kind == QRUN_QPARAM_TENSOR)
        end = hi;
    else if (m->kind == QRUN_QPARAM_AXIS)
        end = (i / m->inner + 1) * m->inner;
    return end < hi ? end : hi;
}

/* float32 x and scale to uint8/int8: the common QDQ case, in runs of one scale. */
static void qk_quant_f32_8bit(const qk_quant *k, int64_t lo, int64_t hi) {
    const float *x = k->x->data, *s = k->scale->data;
    bool u8 = k->y->dtype == QRUN_DTYPE_UINT8;
    if (k->p->map.kind != QRUN_QPARAM_BLOCK) {
        for (int64_t i = lo, end; i < hi; i = end) {
            end = qk_run_end(&k->p->map, i, hi);
            int64_t p = qrun_qparam_index(&k->p->map, i);
            int32_t zp = k->zp ? qk_zp8(k->zp->data, p, u8) : 0;
            qrun_quantize_row_f32(x + i, end - i, s[p], zp, k->p->qmin, k->p->qmax,
                                  (uint8_t *)k->y->data + i);
        }
        return;
    }
    for (int64_t i = lo; i < hi; i++) {
        int64_t p = qrun_qparam_index(&k->p->map, i);
        int32_t zp = 0;
        if (k->zp)
            zp = u8 ? ((const uint8_t *)k->zp->data)[p] : ((const int8_t *)k->zp->data)[p];
        int32_t v = qrun_quantize_int((double)(x[i] / s[p]), zp, k->p->qmin, k->p->qmax);
        if (u8)
            ((uint8_t *)k->y->data)[i] = (uint8_t)v;
        else
            ((int8_t *)k->y->data)[i] = (int8_t)v;
    }
}

static qrun_status qk_prepare_quantize(const qrun_kernel_call *call, void *op_data) {
    qk_params *pr = op_data;
    const qrun_node *n = call->node;
    const struct qrun_tensor *zp = qk_in(call, 2), *y = call->outputs[0];
    if (zp && zp->dtype != y->dtype)
        return qrun_errf(call->err, QRUN_E_MODEL, "y_zero_point is %s but the output is %s",
                         qrun_dtype_name(zp->dtype), qrun_dtype_name(y->dtype));
    qrun_dtype prec = QRUN_DTYPE_UNDEFINED;
    int64_t opset = qrun_qdq_onnx_opset(n);
    if (opset >= 23) {
        int64_t pv = qrun_node_attr_int(n, "precision", 0);
        prec = pv > 0 && pv < 1000 ? qrun_dtype_from_onnx((int)pv) : QRUN_DTYPE_UNDEFINED;
        if (pv != 0 && (!qrun_dtype_is_float(prec) || qrun_dtype_bits(prec) < 16))
            return qrun_errf(call->err, QRUN_E_MODEL, "precision %lld is not a float type",
                             (long long)pv);
    }
    pr->compute = qrun_quant_compute_type(call->inputs[0]->dtype, call->inputs[1]->dtype, prec);
    pr->saturate = opset >= 19 ? qrun_node_attr_int(n, "saturate", 1) != 0 : true;
    pr->is_int = qrun_quant_int_range(y->dtype, &pr->qmin, &pr->qmax);
    return qk_map(call, &pr->map);
}

static qrun_status qk_eval_quantize(const qrun_kernel_call *call) {
    qk_quant k = {.x = call->inputs[0],
                  .scale = call->inputs[1],
                  .zp = qk_in(call, 2),
                  .y = call->outputs[0],
                  .p = call->op_data};
    int64_t n = qrun_tensor_numel_(k.x), nblk = (n + QK_BLOCK - 1) / QK_BLOCK;
    bool fast = k.x->dtype == QRUN_DTYPE_FLOAT && k.scale->dtype == QRUN_DTYPE_FLOAT &&
                k.p->compute == QRUN_DTYPE_FLOAT &&
                (k.y->dtype == QRUN_DTYPE_UINT8 || k.y->dtype == QRUN_DTYPE_INT8);
#pragma omp parallel for num_threads(qk_threads(call, n)) schedule(static)
    for (int64_t b = 0; b < nblk; b++) {
        int64_t lo = b * QK_BLOCK, hi = lo + QK_BLOCK < n ? lo + QK_BLOCK : n;
        if (fast) {
            qk_quant_f32_8bit(&k, lo, hi);
            continue;
        }
        for (int64_t i = lo; i < hi; i++)
            qk_quant_elem(&k, i);
    }
    return QRUN_OK;
}

/* ---- DequantizeLinear ---------------------------------------------------- */

typedef struct qk_dequant {
    const struct qrun_tensor *x, *scale, *zp;
    struct qrun_tensor *y;
    const qk_params *p;
    bool use_zp; /* integer x: FP8/FP4 zero points must be 0 and are ignored, as the reference */
} qk_dequant;

static void qk_dequant_elem(const qk_dequant *k, int64_t i) {
    const struct qrun_dtype_traits *tx = qrun_dtype_traits_get(k->x->dtype);
    const struct qrun_dtype_traits *ts = qrun_dtype_traits_get(k->scale->dtype);
    const struct qrun_dtype_traits *ty = qrun_dtype_traits_get(k->y->dtype);
    int64_t p = qrun_qparam_index(&k->p->map, i);
    float x = (float)tx->get(k->x->data, (size_t)i); /* x.astype(float32) */
    double s = ts->get(k->scale->data, (size_t)p);
    if (!k->use_zp) {
        ty->set(k->y->data, (size_t)i, (double)(x * (float)s), true);
        return;
    }
    double zp = tx->get(k->zp->data, (size_t)p);
    if (k->x->dtype == QRUN_DTYPE_INT32) /* numpy: float32 - int32 promotes to float64 */
        ty->set(k->y->data, (size_t)i, ((double)x - zp) * s, true);
    else
        ty->set(k->y->data, (size_t)i, (double)qrun_dequantize(x, (float)zp, (float)s), true);
}

/* uint8/int8 x, float32 scale and output, in runs of one scale. */
static void qk_dequant_8bit_f32(const qk_dequant *k, int64_t lo, int64_t hi) {
    const float *s = k->scale->data;
    float *y = k->y->data;
    bool u8 = k->x->dtype == QRUN_DTYPE_UINT8;
    if (k->p->map.kind != QRUN_QPARAM_BLOCK) {
        for (int64_t i = lo, end; i < hi; i = end) {
            end = qk_run_end(&k->p->map, i, hi);
            int64_t p = qrun_qparam_index(&k->p->map, i);
            int32_t zp = k->use_zp ? qk_zp8(k->zp->data, p, u8) : 0;
            qrun_dequantize_row_8bit((const uint8_t *)k->x->data + i, !u8, end - i, zp, s[p],
                                     y + i);
        }
        return;
    }
    for (int64_t i = lo; i < hi; i++) {
        int64_t p = qrun_qparam_index(&k->p->map, i);
        float x = u8 ? ((const uint8_t *)k->x->data)[i] : ((const int8_t *)k->x->data)[i];
        float zp = 0.0f;
        if (k->use_zp)
            zp = u8 ? ((const uint8_t *)k->zp->data)[p] : ((const int8_t *)k->zp->data)[p];
        y[i] = qrun_dequantize(x, zp, s[p]);
    }
}

static qrun_status qk_prepare_dequantize(const qrun_kernel_call *call, void *op_data) {
    return qk_map(call, &((qk_params *)op_data)->map);
}

static qrun_status qk_eval_dequantize(const qrun_kernel_call *call) {
    qk_dequant k = {.x = call->inputs[0],
                    .scale = call->inputs[1],
                    .zp = qk_in(call, 2),
                    .y = call->outputs[0],
                    .p = call->op_data};
    k.use_zp = k.zp && qrun_dtype_is_integer(k.x->dtype);
    int64_t n = qrun_tensor_numel_(k.x), nblk = (n + QK_BLOCK - 1) / QK_BLOCK;
    bool fast = (k.x->dtype == QRUN_DTYPE_UINT8 || k.x->dtype == QRUN_DTYPE_INT8) &&
                k.scale->dtype == QRUN_DTYPE_FLOAT && k.y->dtype == QRUN_DTYPE_FLOAT;
#pragma omp parallel for num_threads(qk_threads(call, n)) schedule(static)
    for (int64_t b = 0; b < nblk; b++) {
        int64_t lo = b * QK_BLOCK, hi = lo + QK_BLOCK < n ? lo + QK_BLOCK : n;
        if (fast) {
            qk_dequant_8bit_f32(&k, lo, hi);
            continue;
        }
        for (int64_t i = lo; i < hi; i++)
            qk_dequant_elem(&k, i);
    }
    return QRUN_OK;
}

/* ---- DynamicQuantizeLinear ----------------------------------------------- */

/*
 * Reference (float32 throughout): the range [min(0, min x), max(0, max x)]
 * gives scale = range / 255 (1 when the range is empty) and
 * zp = round(clamp(-min / scale, 0, 255)); y = clamp(round(x / scale) + zp).
 */
static qrun_status qk_eval_dynamic(const qrun_kernel_call *call) {
    const struct qrun_tensor *xt = call->inputs[0];
    const float *x = xt->data;
    int64_t n = qrun_tensor_numel_(xt);
    float mx = 0.0f, mn = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        mx = x[i] > mx ? x[i] : mx;
        mn = x[i] < mn ? x[i] : mn;
    }
    float scale = mx == mn ? 1.0f : (mx - mn) / 255.0f;
    float zpf = 0.0f - mn / scale;
    zpf = zpf < 0.0f ? 0.0f : zpf > 255.0f ? 255.0f : zpf;
    int32_t zp = (int32_t)qrun_round_half_even_f(zpf);
    uint8_t *y = call->outputs[0]->data;
#pragma omp parallel for num_threads(qk_threads(call, n)) schedule(static)
    for (int64_t i = 0; i < n; i++)
        y[i] = (uint8_t)qrun_quantize_int((double)(x[i] / scale), zp, 0, 255);
    if (call->n_outputs > 1 && call->outputs[1])
        *(float *)call->outputs[1]->data = scale;
    if (call->n_outputs > 2 && call->outputs[2])
        *(uint8_t *)call->outputs[2]->data = (uint8_t)zp;
    return QRUN_OK;
}

/* ---- supports ------------------------------------------------------------ */

static bool qk_numeric(const struct qrun_tensor *t) {
    return !t || t->dtype == QRUN_DTYPE_UNDEFINED || qrun_dtype_traits_get(t->dtype)->get;
}

static bool qk_supports(const qrun_node *node,
                        const struct qrun_tensor *const *inputs,
                        int n_inputs,
                        char *why,
                        size_t why_cap) {
    for (int i = 0; i < n_inputs; i++) {
        if (!qk_numeric(inputs[i])) {
            snprintf(why, why_cap, "%s: input %d type %s is not supported", node->op_type, i,
                     qrun_dtype_name(inputs[i]->dtype));
            return false;
        }
    }
    if (node->op == QRUN_OP_DYNAMIC_QUANTIZE_LINEAR && n_inputs > 0 && inputs[0] &&
        inputs[0]->dtype != QRUN_DTYPE_FLOAT && inputs[0]->dtype != QRUN_DTYPE_UNDEFINED) {
        snprintf(why, why_cap, "DynamicQuantizeLinear: x must be float32, got %s",
                 qrun_dtype_name(inputs[0]->dtype));
        return false;
    }
    return true;
}

const cpu_ref_kernel cpu_ref_kernels_quant[] = {
    {.op = QRUN_OP_QUANTIZE_LINEAR,
     .supports = qk_supports,
     .op_data_bytes = qk_op_data_bytes,
     .prepare = qk_prepare_quantize,
     .eval = qk_eval_quantize},
    {.op = QRUN_OP_DEQUANTIZE_LINEAR,
     .supports = qk_supports,
     .op_data_bytes = qk_op_data_bytes,
     .prepare = qk_prepare_dequantize,
     .eval = qk_eval_dequantize},
    {.op = QRUN_OP_DYNAMIC_QUANTIZE_LINEAR, .supports = qk_supports, .eval = qk_eval_dynamic},
    /* com.microsoft QuantizeLinear/DequantizeLinear: ONNX-19 semantics (qrun_qdq_onnx_opset). */
    {.op = QRUN_OP_MS_QUANTIZE_LINEAR,
     .supports = qk_supports,
     .op_data_bytes = qk_op_data_bytes,
     .prepare = qk_prepare_quantize,
     .eval = qk_eval_quantize},
    {.op = QRUN_OP_MS_DEQUANTIZE_LINEAR,
     .supports = qk_supports,
     .op_data_bytes = qk_op_data_bytes,
     .prepare = qk_prepare_dequantize,
     .eval = qk_eval_dequantize},
    {.op = QRUN_OP_UNKNOWN},
};
