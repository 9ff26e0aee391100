/* SPDX-License-Identifier: Apache-2.0 */
/* cpu_ref activations: Relu LeakyRelu PRelu Elu Selu Sigmoid HardSigmoid HardSwish Tanh Softplus
 * Softsign Clip. */
#include "backends/cpu_ref/kernel.h"
#include "runtime/shape/shape_util.h"
#include "backends/cpu_ref/ops/ew_common.h"

#include <float.h>
#include <math.h>
#include <stdio.h>

/* Attributes of one node, read once per call with the ONNX defaults. */
typedef struct act_params {
    qrun_op op;
    double alpha, beta, gamma;
} act_params;

static act_params act_read(const qrun_node *node) {
    act_params p = {.op = node->op};
    switch (node->op) {
    case QRUN_OP_LEAKY_RELU:
        p.alpha = qrun_node_attr_float(node, "alpha", 0.01f);
        break;
    case QRUN_OP_ELU:
        p.alpha = qrun_node_attr_float(node, "alpha", 1.0f);
        break;
    case QRUN_OP_SELU:
        p.alpha = qrun_node_attr_float(node, "alpha", 1.67326319217681884765625f);
        p.gamma = qrun_node_attr_float(node, "gamma", 1.05070102214813232421875f);
        break;
    case QRUN_OP_HARD_SIGMOID:
        p.alpha = qrun_node_attr_float(node, "alpha", 0.2f);
        p.beta = qrun_node_attr_float(node, "beta", 0.5f);
        break;
    case QRUN_OP_HARD_SWISH: /* HardSigmoid with alpha 1/6, beta 0.5, times x */
        p.alpha = 1.0 / 6.0;
        p.beta = 0.5;
        break;
    default:
        break;
    }
    return p;
}

static float act_f(const act_params *p, float x) {
    float a = (float)p->alpha;
    switch (p->op) {
    case QRUN_OP_RELU:
        return x > 0 ? x : (x < 0 ? 0.0f : x); /* NaN stays NaN */
    case QRUN_OP_LEAKY_RELU:
        return x < 0 ? a * x : x;
    case QRUN_OP_ELU:
        return x < 0 ? a * expm1f(x) : x;
    case QRUN_OP_SELU:
        return (float)p->gamma * (x <= 0 ? a * expm1f(x) : x);
    case QRUN_OP_SIGMOID:
        /* split by sign so exp never overflows */
        if (x >= 0)
            return 1.0f / (1.0f + expf(-x));
        else {
            float e = expf(x);
            return e / (1.0f + e);
        }
    case QRUN_OP_HARD_SIGMOID:
        return fmaxf(0.0f, fminf(1.0f, a * x + (float)p->beta));
    case QRUN_OP_HARD_SWISH:
        return x * fmaxf(0.0f, fminf(1.0f, x / 6.0f + 0.5f));
    case QRUN_OP_TANH:
        return tanhf(x);
    case QRUN_OP_SOFTPLUS:
        /* log(1 + e^x) without overflow for large x */
        return x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x));
    case QRUN_OP_SOFTSIGN:
        return x / (1.0f + fabsf(x));
    default:
        return NAN;
    }
}

static double act_d(const act_params *p, double x) {
    switch (p->op) {
    case QRUN_OP_RELU:
        return x > 0 ? x : (x < 0 ? 0.0 : x);
    case QRUN_OP_LEAKY_RELU:
        return x < 0 ? p->alpha * x : x;
    case QRUN_OP_ELU:
        return x < 0 ? p->alpha * expm1(x) : x;
    case QRUN_OP_SELU:
        return p->gamma * (x <= 0 ? p->alpha * expm1(x) : x);
    case QRUN_OP_SIGMOID:
        return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
    case QRUN_OP_HARD_SIGMOID:
        return fmax(0.0, fmin(1.0, p->alpha * x + p->beta));
    case QRUN_OP_HARD_SWISH:
        return x * fmax(0.0, fmin(1.0, x / 6.0 + 0.5));
    case QRUN_OP_TANH:
        return tanh(x);
    case QRUN_OP_SOFTPLUS:
        return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
    case QRUN_OP_SOFTSIGN:
        return x / (1.0 + fabs(x));
    default:
        return NAN;
    }
}

static qrun_status act_eval_unary(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    struct qrun_tensor *y = call->outputs[0];
    act_params p = act_read(call->node);
    int64_t n = ew_numel(x);
    int nt = call->n_threads;
    bool par = n >= EW_PARALLEL_MIN && nt > 1 && ew_parallel_ok(y->dtype);
    if (x->dtype == QRUN_DTYPE_FLOAT) {
        const float *xs = x->data;
        float *ys = y->data;
        if (p.op == QRUN_OP_RELU) {
#pragma omp parallel for num_threads(nt) if (par)
            for (int64_t i = 0; i < n; i++)
                ys[i] = xs[i] < 0 ? 0.0f : xs[i];
            return QRUN_OK;
        }
#pragma omp parallel for num_threads(nt) if (par)
        for (int64_t i = 0; i < n; i++)
            ys[i] = act_f(&p, xs[i]);
        return QRUN_OK;
    }
    if (qrun_dtype_is_integer(x->dtype)) { /* Relu-14 on integers */
        ew_load_i64_fn ld = ew_int_loader(x->dtype);
        ew_store_i64_fn st = ew_int_storer(y->dtype);
#pragma omp parallel for num_threads(nt) if (par)
        for (int64_t i = 0; i < n; i++) {
            int64_t v = ld(x->data, i);
            st(y->data, i, v < 0 ? 0 : v);
        }
        return QRUN_OK;
    }
    const struct qrun_dtype_traits *tx = qrun_dtype_traits_get(x->dtype);
    const struct qrun_dtype_traits *ty = qrun_dtype_traits_get(y->dtype);
#pragma omp parallel for num_threads(nt) if (par)
    for (int64_t i = 0; i < n; i++)
        ty->set(y->data, (size_t)i, act_d(&p, tx->get(x->data, (size_t)i)), true);
    return QRUN_OK;
}

/* ---- PRelu: y = x < 0 ? slope * x : x, slope broadcast to x ------------- */

typedef struct act_bin_ctx {
    const struct qrun_tensor *x, *s;
    struct qrun_tensor *y;
} act_bin_ctx;

static void
act_prelu_row(void *vctx, const int64_t *off, const int64_t *step, int64_t oo, int64_t n) {
    const act_bin_ctx *c = vctx;
    if (c->x->dtype == QRUN_DTYPE_FLOAT) {
        const float *x = (const float *)c->x->data + off[0];
        const float *s = (const float *)c->s->data + off[1];
        float *y = (float *)c->y->data + oo;
        for (int64_t i = 0; i < n; i++) {
            float v = x[i * step[0]];
            y[i] = v < 0 ? s[i * step[1]] * v : v;
        }
        return;
    }
    if (qrun_dtype_is_integer(c->x->dtype)) {
        ew_load_i64_fn lx = ew_int_loader(c->x->dtype), ls = ew_int_loader(c->s->dtype);
        ew_store_i64_fn st = ew_int_storer(c->y->dtype);
        for (int64_t i = 0; i < n; i++) {
            int64_t v = lx(c->x->data, off[0] + i * step[0]);
            int64_t s = ls(c->s->data, off[1] + i * step[1]);
            st(c->y->data, oo + i, v < 0 ? (int64_t)((uint64_t)s * (uint64_t)v) : v);
        }
        return;
    }
    const struct qrun_dtype_traits *tx = qrun_dtype_traits_get(c->x->dtype);
    const struct qrun_dtype_traits *ts = qrun_dtype_traits_get(c->s->dtype);
    const struct qrun_dtype_traits *ty = qrun_dtype_traits_get(c->y->dtype);
    for (int64_t i = 0; i < n; i++) {
        double v = tx->get(c->x->data, (size_t)(off[0] + i * step[0]));
        double s = ts->get(c->s->data, (size_t)(off[1] + i * step[1]));
        ty->set(c->y->data, (size_t)(oo + i), v < 0 ? s * v : v, true);
    }
}

static qrun_status act_eval_prelu(const qrun_kernel_call *call) {
    if (call->n_inputs < 2 || !call->inputs[0] || !call->inputs[1])
        return qrun_errf(call->err, QRUN_E_MODEL, "PRelu needs X and slope");
    struct qrun_tensor legacy_slope;
    act_bin_ctx c = {.x = call->inputs[0], .s = call->inputs[1], .y = call->outputs[0]};
    if (qrun_legacy_broadcast_view(call->node, c.x, c.s, &legacy_slope))
        c.s = &legacy_slope;
    const struct qrun_tensor *ins[2] = {c.x, c.s};
    ew_plan p;
    ew_plan_init(&p, 2, ins, c.y);
    ew_plan_run(&p, act_prelu_row, &c, call->n_threads, ew_parallel_ok(c.y->dtype));
    return QRUN_OK;
}

/* ---- Clip ---------------------------------------------------------------- */

/* Read optional scalar bound input i into *v; false when absent or empty. */
static qrun_status act_clip_bound(const qrun_kernel_call *call, int i, double *v, bool *present) {
    *present = false;
    const struct qrun_tensor *t = i < call->n_inputs ? call->inputs[i] : NULL;
    if (!t)
        return QRUN_OK;
    int64_t n = ew_numel(t);
    if (n == 0)
        return QRUN_OK;
    if (n != 1)
        return qrun_errf(call->err, QRUN_E_MODEL,
                         "Clip bound %d must be a scalar (has %lld elements)", i, (long long)n);
    *v = qrun_dtype_traits_get(t->dtype)->get(t->data, 0);
    *present = true;
    return QRUN_OK;
}

static qrun_status act_eval_clip(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    struct qrun_tensor *y = call->outputs[0];
    double lo = -INFINITY, hi = INFINITY;
    if (call->node->opset < 11) {
        lo = qrun_node_attr_float(call->node, "min", -FLT_MAX);
        hi = qrun_node_attr_float(call->node, "max", FLT_MAX);
    } else {
        bool has;
        double v;
        qrun_status st = act_clip_bound(call, 1, &v, &has);
        if (st != QRUN_OK)
            return st;
        if (has)
            lo = v;
        if ((st = act_clip_bound(call, 2, &v, &has)) != QRUN_OK)
            return st;
        if (has)
            hi = v;
    }
    int64_t n = ew_numel(x);
    int nt = call->n_threads;
    bool par = n >= EW_PARALLEL_MIN && nt > 1 && ew_parallel_ok(y->dtype);
    /* np.clip = min(max(x, lo), hi): with lo > hi every element becomes hi. */
    if (x->dtype == QRUN_DTYPE_FLOAT) {
        const float *xs = x->data;
        float *ys = y->data;
        float flo = (float)lo, fhi = (float)hi;
#pragma omp parallel for num_threads(nt) if (par)
        for (int64_t i = 0; i < n; i++) {
            float v = xs[i];
            v = v < flo ? flo : v;
            ys[i] = v > fhi ? fhi : v;
        }
        return QRUN_OK;
    }
    if (qrun_dtype_is_integer(x->dtype)) {
        /* Integer bounds are exact in their own type: re-read them as int64 (UINT64 as bits). */
        bool uns = x->dtype == QRUN_DTYPE_UINT64;
        int64_t ilo = uns ? 0 : INT64_MIN, ihi = uns ? -1 : INT64_MAX;
        for (int k = 1; k <= 2 && call->node->opset >= 11; k++) {
            const struct qrun_tensor *t = k < call->n_inputs ? call->inputs[k] : NULL;
            ew_load_i64_fn lb = t ? ew_int_loader(t->dtype) : NULL;
            if (lb && ew_numel(t) == 1)
                *(k == 1 ? &ilo : &ihi) = lb(t->data, 0);
        }
        ew_load_i64_fn ld = ew_int_loader(x->dtype);
        ew_store_i64_fn st = ew_int_storer(y->dtype);
#pragma omp parallel for num_threads(nt) if (par)
        for (int64_t i = 0; i < n; i++) {
            int64_t v = ld(x->data, i);
            if (uns) {
                v = (uint64_t)v < (uint64_t)ilo ? ilo : v;
                v = (uint64_t)v > (uint64_t)ihi ? ihi : v;
            } else {
                v = v < ilo ? ilo : v;
                v = v > ihi ? ihi : v;
            }
            st(y->data, i, v);
        }
        return QRUN_OK;
    }
    const struct qrun_dtype_traits *tx = qrun_dtype_traits_get(x->dtype);
    const struct qrun_dtype_traits *ty = qrun_dtype_traits_get(y->dtype);
#pragma omp parallel for num_threads(nt) if (par)
    for (int64_t i = 0; i < n; i++) {
        double v = tx->get(x->data, (size_t)i);
        v = v < lo ? lo : v;
        ty->set(y->data, (size_t)i, v > hi ? hi : v, true);
    }
    return QRUN_OK;
}

/* ---- supports ------------------------------------------------------------ */

/* Integers: only the activations ONNX defines on them. */
static bool act_int_ok(qrun_op op) {
    return op == QRUN_OP_RELU || op == QRUN_OP_PRELU || op == QRUN_OP_CLIP;
}

static bool act_supports(const qrun_node *node,
                         const struct qrun_tensor *const *inputs,
                         int n_inputs,
                         char *why,
                         size_t why_cap) {
    return ew_inputs_numeric(node, inputs, n_inputs, act_int_ok, why, why_cap);
}

#define ACT_UN(id)                                                                                 \
    { .op = QRUN_OP_##id, .supports = act_supports, .eval = act_eval_unary }

const cpu_ref_kernel cpu_ref_kernels_activation[] = {
    ACT_UN(RELU),
    ACT_UN(LEAKY_RELU),
    {.op = QRUN_OP_PRELU, .supports = act_supports, .eval = act_eval_prelu},
    ACT_UN(ELU),
    ACT_UN(SELU),
    ACT_UN(SIGMOID),
    ACT_UN(HARD_SIGMOID),
    ACT_UN(HARD_SWISH),
    ACT_UN(TANH),
    ACT_UN(SOFTPLUS),
    ACT_UN(SOFTSIGN),
    {.op = QRUN_OP_CLIP, .supports = act_supports, .eval = act_eval_clip},
    {.op = QRUN_OP_UNKNOWN},
};
