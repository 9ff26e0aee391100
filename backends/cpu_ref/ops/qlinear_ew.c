/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_ref com.microsoft elementwise quantized ops: QLinearAdd, QLinearMul,
 * QLinearSigmoid, QLinearLeakyRelu, QLinearSoftmax, QLinearConcat.
 *
 * Arithmetic follows ONNX Runtime's CPU kernels (see runtime/quant.h):
 * QLinearAdd in float32 with the output zero point folded into a bias,
 * QLinearMul as a requantization of the integer product in the session's
 * mode (qrun_requantize; float: ORT's float32 order), the unary
 * ops and Concat's requantization as 256-entry lookup tables. Everything
 * derived from the scales and zero points (ratios, tables) is built once at
 * prepare when those are constants, else per run into scratch.
 */
#include "backends/cpu_ref/kernel.h"
#include "backends/cpu_ref/ops/ew_common.h"
#include "backends/cpu_ref/ops/qlinear_common.h"
#include "runtime/quant.h"
#include "runtime/shape/qlinear_contrib.h"
#include "runtime/shape/shape_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Derived parameters of one node. */
typedef struct qe_params {
    qrun_qparams8 in[2], out;
    qrun_qadd add;    /* QLinearAdd */
    float mul_mult;   /* QLinearMul: sa * sb / sc */
    uint8_t lut[256]; /* QLinearSigmoid, QLinearLeakyRelu */
} qe_params;

/* QLinearConcat: one entry per input. */
typedef struct qe_concat_in {
    bool copy; /* same scale and zero point as the output: bytes are copied */
    uint8_t lut[256];
} qe_concat_in;

typedef struct qe_head {
    bool ready; /* payload built at prepare */
} qe_head;

#define QE_HEAD_BYTES ((sizeof(qe_head) + 63) / 64 * 64)

static int qe_concat_n(const qrun_kernel_call *call) {
    return (call->n_inputs - 2) / 3;
}

/* Inputs that carry tensor data rather than quantization parameters. */
static bool qe_is_data(const qrun_kernel_call *call, int i) {
    switch (call->node->op) {
    case QRUN_OP_MS_QLINEAR_ADD:
    case QRUN_OP_MS_QLINEAR_MUL:
        return i == 0 || i == 3;
    case QRUN_OP_MS_QLINEAR_CONCAT:
        return i >= 2 && (i - 2) % 3 == 0;
    default:
        return i == 0;
    }
}

static bool qe_params_known(const qrun_kernel_call *call) {
    for (int i = 0; i < call->n_inputs; i++) {
        if (!qe_is_data(call, i) && !qlc_known(call, &i, 1))
            return false;
    }
    return true;
}

static size_t qe_payload_bytes(const qrun_kernel_call *call) {
    if (call->node->op == QRUN_OP_MS_QLINEAR_CONCAT)
        return (size_t)qe_concat_n(call) * sizeof(qe_concat_in);
    return sizeof(qe_params);
}

/* ---- building the payload ------------------------------------------------- */

static float qe_sigmoid(float x, const void *ctx) {
    (void)ctx;
    return 1.0f / (1.0f + expf(-x));
}

static float qe_leaky_relu(float x, const void *ctx) {
    float alpha = *(const float *)ctx;
    return x >= 0.0f ? x : alpha * x;
}

static void qe_setup_concat(const qrun_kernel_call *call, qe_concat_in *ins) {
    qrun_dtype t = call->outputs[0]->dtype;
    qrun_qparams8 y, x;
    qlc_params(call, 0, 1, t, &y);
    for (int i = 0; i < qe_concat_n(call); i++) {
        int b = 2 + 3 * i;
        qlc_params(call, b + 1, b + 2, t, &x);
        ins[i].copy = x.scale == y.scale && x.zp == y.zp;
        if (!ins[i].copy)
            qrun_quant_lut8(&x, &y, NULL, NULL, ins[i].lut);
    }
}

static void qe_setup(const qrun_kernel_call *call, void *payload) {
    if (call->node->op == QRUN_OP_MS_QLINEAR_CONCAT) {
        qe_setup_concat(call, payload);
        return;
    }
    qe_params *p = payload;
    qrun_dtype t = call->inputs[0]->dtype;
    switch (call->node->op) {
    case QRUN_OP_MS_QLINEAR_ADD:
    case QRUN_OP_MS_QLINEAR_MUL:
        qlc_params(call, 1, 2, t, &p->in[0]);
        qlc_params(call, 4, 5, t, &p->in[1]);
        qlc_params(call, 6, 7, t, &p->out);
        qrun_qadd_init(&p->add, &p->in[0], &p->in[1], &p->out);
        p->mul_mult = p->in[0].scale * p->in[1].scale / p->out.scale;
        break;
    default:
        qlc_params(call, 1, 2, t, &p->in[0]);
        qlc_params(call, 3, 4, t, &p->out);
        break;
    }
    if (call->node->op == QRUN_OP_MS_QLINEAR_SIGMOID)
        qrun_quant_lut8(&p->in[0], &p->out, qe_sigmoid, NULL, p->lut);
    if (call->node->op == QRUN_OP_MS_QLINEAR_LEAKY_RELU) {
        float alpha = qrun_node_attr_float(call->node, "alpha", 0.01f);
        qrun_quant_lut8(&p->in[0], &p->out, qe_leaky_relu, &alpha, p->lut);
    }
}

static size_t qe_op_data_bytes(const qrun_kernel_call *call) {
    return QE_HEAD_BYTES + qe_payload_bytes(call);
}

static qrun_status qe_prepare(const qrun_kernel_call *call, void *op_data) {
    qe_head *h = op_data;
    h->ready = qe_params_known(call);
    if (h->ready)
        qe_setup(call, (uint8_t *)op_data + QE_HEAD_BYTES);
    return QRUN_OK;
}

static size_t qe_scratch(const qrun_kernel_call *call) {
    const qe_head *h = call->op_data;
    return h && h->ready ? 0 : qe_payload_bytes(call);
}

/* The payload: prepared, or built now into scratch (parameters computed by other nodes). */
static const void *qe_payload(const qrun_kernel_call *call) {
    const qe_head *h = call->op_data;
    if (h && h->ready)
        return (const uint8_t *)call->op_data + QE_HEAD_BYTES;
    qe_setup(call, call->scratch);
    return call->scratch;
}

/* ---- QLinearAdd, QLinearMul ------------------------------------------------- */

typedef struct qe_bin_job {
    const qe_params *p;
    qrun_requant mul; /* QLinearMul */
    bool add, u8;
    const void *a, *b;
    void *c;
} qe_bin_job;

static void
qe_bin_row(void *ctx, const int64_t *in_off, const int64_t *in_step, int64_t out_off, int64_t n) {
    const qe_bin_job *j = ctx;
    const qe_params *p = j->p;
    int64_t ia = in_off[0], ib = in_off[1];
    if (j->add && in_step[0] == 1 && in_step[1] == 1) {
        qrun_qadd_row(&p->add, (const uint8_t *)j->a + ia, (const uint8_t *)j->b + ib, !j->u8, n,
                      (uint8_t *)j->c + out_off);
        return;
    }
    for (int64_t k = 0; k < n; k++, ia += in_step[0], ib += in_step[1]) {
        int32_t a = qlc_load8(j->a, ia, j->u8), b = qlc_load8(j->b, ib, j->u8), v;
        if (j->add) {
            v = qrun_qadd_apply(&p->add, a, b);
        } else {
            int32_t prod = (a - p->in[0].zp) * (b - p->in[1].zp);
            v = qrun_requantize(&j->mul, prod, p->out.zp, p->out.qmin, p->out.qmax);
        }
        qlc_store8(j->c, out_off + k, v);
    }
}

static qrun_status qe_eval_binary(const qrun_kernel_call *call) {
    const struct qrun_tensor *ab[2] = {call->inputs[0], call->inputs[3]};
    struct qrun_tensor *c = call->outputs[0];
    qe_bin_job j = {.p = qe_payload(call),
                    .add = call->node->op == QRUN_OP_MS_QLINEAR_ADD,
                    .u8 = c->dtype == QRUN_DTYPE_UINT8,
                    .a = ab[0]->data,
                    .b = ab[1]->data,
                    .c = c->data};
    if (!j.add) {
        qrun_status st = qrun_requant_init(&j.mul, j.p->mul_mult, call->requant, call->err);
        if (st != QRUN_OK)
            return st;
    }
    ew_plan plan;
    ew_plan_init(&plan, 2, ab, c);
    ew_plan_run(&plan, qe_bin_row, &j, call->n_threads, true);
    return QRUN_OK;
}

/* ---- lookup-table unary ops ------------------------------------------------- */

static qrun_status qe_eval_lut(const qrun_kernel_call *call) {
    const qe_params *p = qe_payload(call);
    const uint8_t *x = call->inputs[0]->data;
    uint8_t *y = call->outputs[0]->data;
    int64_t n = qrun_tensor_numel_(call->inputs[0]);
    int nt = n >= EW_PARALLEL_MIN ? call->n_threads : 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t i = 0; i < n; i++)
        y[i] = p->lut[x[i]];
    return QRUN_OK;
}

/* ---- QLinearSoftmax --------------------------------------------------------- */

/*
 * Softmax of the dequantized values, shifted by the row maximum (so the
 * input zero point cancels), in float32, then quantized. Before opset 13 the
 * input is a 2-D [prod(dims[:axis]), prod(dims[axis:])] matrix; from 13 on
 * the softmax runs along axis alone.
 */
static void qe_softmax_line(const qe_params *p,
                            const void *x,
                            void *y,
                            int64_t base,
                            int64_t len,
                            int64_t stride,
                            bool u8) {
    int32_t mx = INT32_MIN;
    for (int64_t k = 0; k < len; k++) {
        int32_t v = qlc_load8(x, base + k * stride, u8);
        mx = v > mx ? v : mx;
    }
    float sum = 0.0f;
    for (int64_t k = 0; k < len; k++)
        sum += expf((float)(qlc_load8(x, base + k * stride, u8) - mx) * p->in[0].scale);
    for (int64_t k = 0; k < len; k++) {
        float e = expf((float)(qlc_load8(x, base + k * stride, u8) - mx) * p->in[0].scale);
        qlc_store8(y, base + k * stride, qrun_qparams8_quantize(&p->out, e / sum));
    }
}

static qrun_status qe_eval_softmax(const qrun_kernel_call *call) {
    const qe_params *p = qe_payload(call);
    const struct qrun_tensor *x = call->inputs[0];
    bool v13;
    int axis;
    qrun_status st =
        qrun_normalize_axis(qrun_qlinear_softmax_axis(call->node, &v13), x->rank, &axis, call->err);
    if (st != QRUN_OK)
        return st;
    int64_t outer = 1, len = 1, inner = 1;
    for (int d = 0; d < x->rank; d++) {
        if (d < axis)
            outer *= x->dims[d];
        else if (d == axis || !v13)
            len *= x->dims[d];
        else
            inner *= x->dims[d];
    }
    bool u8 = x->dtype == QRUN_DTYPE_UINT8;
    int64_t lines = outer * inner;
    int nt = lines * len >= EW_PARALLEL_MIN ? call->n_threads : 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t l = 0; l < lines; l++) {
        int64_t o = l / inner, in = l % inner;
        qe_softmax_line(p, x->data, call->outputs[0]->data, o * len * inner + in, len, inner, u8);
    }
    return QRUN_OK;
}

/* ---- QLinearConcat ---------------------------------------------------------- */

static qrun_status qe_eval_concat(const qrun_kernel_call *call) {
    const qe_concat_in *ins = qe_payload(call);
    struct qrun_tensor *y = call->outputs[0];
    int axis;
    qrun_status st =
        qrun_normalize_axis(qrun_node_attr_int(call->node, "axis", 0), y->rank, &axis, call->err);
    if (st != QRUN_OK)
        return st;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < y->rank; d++) {
        if (d < axis)
            outer *= y->dims[d];
        else if (d > axis)
            inner *= y->dims[d];
    }
    int64_t y_row = y->dims[axis] * inner; /* output elements per outer index */
    uint8_t *dst = y->data;
    int64_t col = 0;
    for (int i = 0; i < qe_concat_n(call); i++) {
        const struct qrun_tensor *x = call->inputs[2 + 3 * i];
        const uint8_t *src = x->data;
        int64_t row = x->dims[axis] * inner;
        for (int64_t o = 0; o < outer; o++) {
            uint8_t *d = dst + o * y_row + col;
            const uint8_t *s = src + o * row;
            if (ins[i].copy) {
                memcpy(d, s, (size_t)row);
                continue;
            }
            for (int64_t k = 0; k < row; k++)
                d[k] = ins[i].lut[s[k]];
        }
        col += row;
    }
    return QRUN_OK;
}

/* ---- table ---------------------------------------------------------------- */

/* Shape inference checked every type; the data tensors must be uint8/int8. */
static bool qe_supports(const qrun_node *node,
                        const struct qrun_tensor *const *inputs,
                        int n_inputs,
                        char *why,
                        size_t why_cap) {
    int data = node->op == QRUN_OP_MS_QLINEAR_CONCAT ? 2 : 0;
    const struct qrun_tensor *x = n_inputs > data ? inputs[data] : NULL;
    return qlc_supports_8bit(node, x, why, why_cap);
}

#define QE_KERNEL(OP, EVAL)                                                                        \
    {                                                                                              \
        .op = OP, .supports = qe_supports, .op_data_bytes = qe_op_data_bytes,                      \
        .prepare = qe_prepare, .scratch_bytes = qe_scratch, .eval = EVAL                           \
    }

const cpu_ref_kernel cpu_ref_kernels_qlinear_ew[] = {
    QE_KERNEL(QRUN_OP_MS_QLINEAR_ADD, qe_eval_binary),
    QE_KERNEL(QRUN_OP_MS_QLINEAR_MUL, qe_eval_binary),
    QE_KERNEL(QRUN_OP_MS_QLINEAR_SIGMOID, qe_eval_lut),
    QE_KERNEL(QRUN_OP_MS_QLINEAR_LEAKY_RELU, qe_eval_lut),
    QE_KERNEL(QRUN_OP_MS_QLINEAR_SOFTMAX, qe_eval_softmax),
    QE_KERNEL(QRUN_OP_MS_QLINEAR_CONCAT, qe_eval_concat),
    {.op = QRUN_OP_UNKNOWN},
};
