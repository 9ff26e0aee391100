/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_ref com.microsoft quantized pools: QLinearAveragePool and
 * QLinearGlobalAveragePool, NCHW or (channels_last = 1) NHWC, N-D.
 *
 * As ONNX Runtime: the global pool sums the integers, removes the zero point
 * and requantizes with the float32 multiplier x_scale / (y_scale * size)
 * in the session's mode (float: MLAS order, round, then the zero point;
 * qrun_requantize); the windowed pool averages the
 * dequantized values in float32 and quantizes the average.
 */
#include "backends/cpu_ref/kernel.h"
#include "backends/cpu_ref/ops/pool_window.h"
#include "backends/cpu_ref/ops/qlinear_common.h"
#include "runtime/quant.h"
#include "runtime/shape/qlinear_contrib.h"

#include <stdio.h>

typedef struct qp_prep {
    qrun_conv_params p;
    bool channels_last;
    bool ready; /* x/y parameters known at prepare */
    qrun_qparams8 x, y;
} qp_prep;

static size_t qp_op_data_bytes(const qrun_kernel_call *call) {
    (void)call;
    return sizeof(qp_prep);
}

static void qp_params(const qrun_kernel_call *call, qp_prep *q) {
    qrun_dtype t = call->inputs[0]->dtype;
    qlc_params(call, 1, 2, t, &q->x);
    qlc_params(call, 3, 4, t, &q->y);
}

static qrun_status qp_prepare(const qrun_kernel_call *call, void *op_data) {
    static const int params[] = {1, 2, 3, 4};
    qp_prep *q = op_data;
    qrun_status st = qrun_qlinear_pool_params(call->node, call->inputs[0], &q->p, call->err);
    if (st != QRUN_OK)
        return st;
    q->channels_last = qrun_qlinear_channels_last(call->node);
    q->ready = qlc_known(call, params, 4);
    if (q->ready)
        qp_params(call, q);
    return QRUN_OK;
}

/*
 * Element strides of (batch, channel) and of the spatial positions of a
 * tensor with n spatial dims of total size sp and c channels.
 */
typedef struct qp_layout {
    int64_t batch, chan, pos; /* pos: stride of one flat spatial position */
} qp_layout;

static qp_layout qp_layout_of(bool channels_last, int64_t c, int64_t sp) {
    if (channels_last)
        return (qp_layout){.batch = sp * c, .chan = 1, .pos = c};
    return (qp_layout){.batch = c * sp, .chan = sp, .pos = 1};
}

/* ---- QLinearGlobalAveragePool ---------------------------------------------- */

static qrun_status qp_global(const qrun_kernel_call *call, const qp_prep *q, bool u8, int nt) {
    const qrun_conv_params *p = &q->p;
    const void *x = call->inputs[0]->data;
    void *y = call->outputs[0]->data;
    int64_t sp = qrun_conv_prod(p->in, p->n_spatial), c = p->c_in;
    qp_layout in = qp_layout_of(q->channels_last, c, sp);
    qp_layout out = qp_layout_of(q->channels_last, c, 1);
    qrun_requant rq;
    qrun_status st =
        qrun_requant_init(&rq, q->x.scale / (q->y.scale * (float)sp), call->requant, call->err);
    if (st != QRUN_OK)
        return st;
    int64_t planes = p->batch * c;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t t = 0; t < planes; t++) {
        int64_t b = t / c, ch = t % c, base = b * in.batch + ch * in.chan;
        int64_t acc = 0;
        for (int64_t s = 0; s < sp; s++)
            acc += qlc_load8(x, base + s * in.pos, u8);
        acc -= (int64_t)q->x.zp * sp;
        qlc_store8(y, b * out.batch + ch * out.chan,
                   qrun_requantize(&rq, acc, q->y.zp, q->y.qmin, q->y.qmax));
    }
    return QRUN_OK;
}

/* ---- QLinearAveragePool ---------------------------------------------------- */

/* One output element: window of flat output position o in plane (b, ch). */
static int32_t
qp_window(const qp_prep *q, const void *x, bool u8, int64_t base, qp_layout in, int64_t o) {
    const qrun_conv_params *p = &q->p;
    int n = p->n_spatial;
    pool_axis ax[QRUN_MAX_RANK];
    int64_t rem = o, points = 1, padded = 1;
    for (int d = n - 1; d >= 0; d--) {
        ax[d] = cpu_ref_pool_window(p, d, rem % p->out[d]);
        rem /= p->out[d];
        points *= ax[d].hi - ax[d].lo;
        padded *= ax[d].padded_n;
    }
    /* Row-major over the window (the float sum's order), the innermost axis as a tight loop. */
    int64_t cur[QRUN_MAX_RANK];
    for (int d = 0; d < n; d++)
        cur[d] = ax[d].lo;
    int l = n - 1;
    int64_t step = p->dilation[l] * in.pos;
    float sum = 0.0f;
    for (int64_t t = 0; points > 0 && t < points; t += ax[l].hi - ax[l].lo) {
        int64_t pos = 0;
        for (int d = 0; d < n; d++)
            pos = pos * p->in[d] + ax[d].start + cur[d] * p->dilation[d];
        int64_t at = base + pos * in.pos;
        for (int64_t k = ax[l].lo; k < ax[l].hi; k++, at += step)
            sum += qrun_qparams8_dequantize(&q->x, qlc_load8(x, at, u8));
        for (int d = l - 1; d >= 0; d--) {
            if (++cur[d] < ax[d].hi)
                break;
            cur[d] = ax[d].lo;
        }
    }
    int64_t div = p->count_include_pad ? padded : points;
    return qrun_qparams8_quantize(&q->y, div > 0 ? sum / (float)div : 0.0f);
}

static void qp_average(const qp_prep *q, const void *x, void *y, bool u8, int nt) {
    const qrun_conv_params *p = &q->p;
    int64_t c = p->c_in, in_sp = qrun_conv_prod(p->in, p->n_spatial);
    int64_t out_sp = qrun_conv_prod(p->out, p->n_spatial);
    qp_layout in = qp_layout_of(q->channels_last, c, in_sp);
    qp_layout out = qp_layout_of(q->channels_last, c, out_sp);
    int64_t planes = p->batch * c;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t t = 0; t < planes; t++) {
        int64_t b = t / c, ch = t % c;
        int64_t ibase = b * in.batch + ch * in.chan, obase = b * out.batch + ch * out.chan;
        for (int64_t o = 0; o < out_sp; o++)
            qlc_store8(y, obase + o * out.pos, qp_window(q, x, u8, ibase, in, o));
    }
}

static qrun_status qp_eval(const qrun_kernel_call *call) {
    qp_prep q = *(const qp_prep *)call->op_data;
    if (!q.ready)
        qp_params(call, &q);
    const struct qrun_tensor *x = call->inputs[0];
    bool u8 = x->dtype == QRUN_DTYPE_UINT8;
    int64_t work = qrun_tensor_numel_(x);
    int nt = work >= ((int64_t)1 << 15) ? call->n_threads : 1;
    if (call->node->op == QRUN_OP_MS_QLINEAR_GLOBAL_AVERAGE_POOL)
        return qp_global(call, &q, u8, nt);
    qp_average(&q, x->data, call->outputs[0]->data, u8, nt);
    return QRUN_OK;
}

static bool qp_supports(const qrun_node *node,
                        const struct qrun_tensor *const *inputs,
                        int n_inputs,
                        char *why,
                        size_t why_cap) {
    return qlc_supports_8bit(node, n_inputs > 0 ? inputs[0] : NULL, why, why_cap);
}

const cpu_ref_kernel cpu_ref_kernels_qlinear_pool[] = {
    {.op = QRUN_OP_MS_QLINEAR_AVERAGE_POOL,
     .supports = qp_supports,
     .op_data_bytes = qp_op_data_bytes,
     .prepare = qp_prepare,
     .eval = qp_eval},
    {.op = QRUN_OP_MS_QLINEAR_GLOBAL_AVERAGE_POOL,
     .supports = qp_supports,
     .op_data_bytes = qp_op_data_bytes,
     .prepare = qp_prepare,
     .eval = qp_eval},
    {.op = QRUN_OP_UNKNOWN},
};
