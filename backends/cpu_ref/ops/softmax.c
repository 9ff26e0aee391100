/* SPDX-License-Identifier: Apache-2.0 */
/* Softmax and LogSoftmax: 2-D coercion before opset 13, one axis from opset 13 on. */
#include "backends/cpu_ref/kernel.h"
#include "runtime/shape/nn_params.h"
#include "runtime/shape/shape_util.h"

#include <math.h>
#include <stdio.h>

static bool softmax_supports(const qrun_node *node,
                             const struct qrun_tensor *const *inputs,
                             int n_inputs,
                             char *why,
                             size_t why_cap) {
    return cpu_ref_input0_in(node, inputs, n_inputs, CPU_REF_FLOATS, why, why_cap);
}

/* The input as [outer, len, inner]; the softmax runs along len. */
typedef struct softmax_job {
    const struct qrun_tensor *x;
    struct qrun_tensor *y;
    int64_t outer, len, inner;
    bool log;
} softmax_job;

/* float32 lane: exp in float (as the reference), sums in double. */
static void softmax_lane_f32(const softmax_job *j, const float *x, float *y) {
    int64_t st = j->inner;
    float mx = -INFINITY;
    for (int64_t i = 0; i < j->len; i++)
        mx = x[i * st] > mx ? x[i * st] : mx;
    double sum = 0.0;
    if (j->log) {
        for (int64_t i = 0; i < j->len; i++)
            sum += exp((double)x[i * st] - mx);
        float ls = (float)log(sum);
        for (int64_t i = 0; i < j->len; i++)
            y[i * st] = (x[i * st] - mx) - ls;
        return;
    }
    for (int64_t i = 0; i < j->len; i++) {
        float e = expf(x[i * st] - mx);
        y[i * st] = e;
        sum += e;
    }
    float fs = (float)sum;
    for (int64_t i = 0; i < j->len; i++)
        y[i * st] /= fs;
}

static void softmax_lane_generic(const softmax_job *j, int64_t base) {
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(j->x->dtype);
    int64_t st = j->inner;
    double mx = -INFINITY, sum = 0.0;
    for (int64_t i = 0; i < j->len; i++) {
        double v = tr->get(j->x->data, (size_t)(base + i * st));
        mx = v > mx ? v : mx;
    }
    for (int64_t i = 0; i < j->len; i++)
        sum += exp(tr->get(j->x->data, (size_t)(base + i * st)) - mx);
    for (int64_t i = 0; i < j->len; i++) {
        double d = tr->get(j->x->data, (size_t)(base + i * st)) - mx;
        double v = j->log ? d - log(sum) : exp(d) / sum;
        tr->set(j->y->data, (size_t)(base + i * st), v, false);
    }
}

static qrun_status softmax_eval(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    bool legacy = call->node->opset < 13;
    int axis = 0;
    qrun_status st = QRUN_OK;
    if (x->rank == 0)
        return qrun_errf(call->err, QRUN_E_MODEL, "%s: input must have rank >= 1",
                         call->node->op_type);
    st = qrun_normalize_axis(qrun_node_attr_int(call->node, "axis", legacy ? 1 : -1), x->rank,
                             &axis, call->err);
    if (st != QRUN_OK)
        return st;
    softmax_job j = {.x = x, .y = call->outputs[0], .log = call->node->op == QRUN_OP_LOG_SOFTMAX};
    j.outer = qrun_conv_prod(x->dims, axis);
    if (legacy) {
        /* Opset < 13: the input is coerced to 2-D [outer, rest] and each row is normalized. */
        j.len = qrun_conv_prod(x->dims + axis, x->rank - axis);
        j.inner = 1;
    } else {
        j.len = x->dims[axis];
        j.inner = qrun_conv_prod(x->dims + axis + 1, x->rank - axis - 1);
    }
    int64_t lanes = j.outer * j.inner;
    int nt = lanes * j.len > ((int64_t)1 << 14) ? call->n_threads : 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t t = 0; t < lanes; t++) {
        int64_t base = (t / j.inner) * j.len * j.inner + t % j.inner;
        if (x->dtype == QRUN_DTYPE_FLOAT)
            softmax_lane_f32(&j, (const float *)x->data + base, (float *)j.y->data + base);
        else
            softmax_lane_generic(&j, base);
    }
    return QRUN_OK;
}

const cpu_ref_kernel cpu_ref_kernels_softmax[] = {
    {.op = QRUN_OP_SOFTMAX, .supports = softmax_supports, .eval = softmax_eval},
    {.op = QRUN_OP_LOG_SOFTMAX, .supports = softmax_supports, .eval = softmax_eval},
    {.op = QRUN_OP_UNKNOWN},
};
