/* SPDX-License-Identifier: Apache-2.0 */
/* BatchNormalization (inference and opset-14+ training mode), InstanceNormalization,
 * LayerNormalization, LRN. */
#include "backends/cpu_ref/kernel.h"
#include "runtime/shape/nn_params.h"
#include "runtime/shape/shape_util.h"

#include <math.h>
#include <stdio.h>

static bool norm_supports(const qrun_node *node,
                          const struct qrun_tensor *const *inputs,
                          int n_inputs,
                          char *why,
                          size_t why_cap) {
    for (int i = 0; i < n_inputs; i++) {
        qrun_dtype dt = inputs[i] ? inputs[i]->dtype : QRUN_DTYPE_UNDEFINED;
        const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(dt);
        if (dt != QRUN_DTYPE_UNDEFINED && !(tr->is_float && tr->bits >= 16)) {
            snprintf(why, why_cap, "%s: type %s is not implemented", node->op_type,
                     qrun_dtype_name(dt));
            return false;
        }
    }
    return true;
}

static double norm_get(const struct qrun_tensor *t, int64_t i) {
    if (t->dtype == QRUN_DTYPE_FLOAT)
        return ((const float *)t->data)[i];
    return qrun_dtype_traits_get(t->dtype)->get(t->data, (size_t)i);
}

static void norm_set(struct qrun_tensor *t, int64_t i, double v) {
    if (t->dtype == QRUN_DTYPE_FLOAT)
        ((float *)t->data)[i] = (float)v;
    else
        qrun_dtype_traits_get(t->dtype)->set(t->data, (size_t)i, v, false);
}

/* ---- BatchNormalization ------------------------------------------------- */

typedef struct bn_job {
    const struct qrun_tensor *x, *scale, *bias, *mean, *var;
    struct qrun_tensor *y;
    int64_t n, c, inner;
    bool per_elem; /* opset < 9 spatial = 0: parameters have shape C x D1 x ... */
    double eps;
} bn_job;

/* Batch mean and (biased) variance of channel ch, two-pass in double. */
static void bn_batch_stats(const bn_job *j, int64_t ch, double *mean, double *var) {
    double s = 0.0, ss = 0.0;
    int64_t cnt = j->n * j->inner;
    for (int64_t b = 0; b < j->n; b++)
        for (int64_t i = 0; i < j->inner; i++)
            s += norm_get(j->x, (b * j->c + ch) * j->inner + i);
    *mean = cnt > 0 ? s / (double)cnt : 0.0;
    for (int64_t b = 0; b < j->n; b++) {
        for (int64_t i = 0; i < j->inner; i++) {
            double d = norm_get(j->x, (b * j->c + ch) * j->inner + i) - *mean;
            ss += d * d;
        }
    }
    *var = cnt > 0 ? ss / (double)cnt : 0.0;
}

/* Normalize plane (b, ch) with the given statistics (per-channel parameters). */
static void bn_plane(const bn_job *j, int64_t b, int64_t ch, double mean, double var) {
    double a = norm_get(j->scale, ch) / sqrt(var + j->eps);
    double sh = norm_get(j->bias, ch);
    int64_t base = (b * j->c + ch) * j->inner;
    if (j->x->dtype == QRUN_DTYPE_FLOAT) {
        const float *x = (const float *)j->x->data + base;
        float *y = (float *)j->y->data + base;
        float fm = (float)mean, fa = (float)a, fb = (float)sh;
        for (int64_t i = 0; i < j->inner; i++)
            y[i] = (x[i] - fm) * fa + fb;
        return;
    }
    for (int64_t i = 0; i < j->inner; i++)
        norm_set(j->y, base + i, (norm_get(j->x, base + i) - mean) * a + sh);
}

static void bn_plane_per_elem(const bn_job *j, int64_t b, int64_t ch) {
    int64_t base = (b * j->c + ch) * j->inner, pbase = ch * j->inner;
    for (int64_t i = 0; i < j->inner; i++) {
        double a = norm_get(j->scale, pbase + i) / sqrt(norm_get(j->var, pbase + i) + j->eps);
        double v = (norm_get(j->x, base + i) - norm_get(j->mean, pbase + i)) * a +
                   norm_get(j->bias, pbase + i);
        norm_set(j->y, base + i, v);
    }
}

static qrun_status bn_eval(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    bn_job j = {
        .x = x,
        .scale = call->inputs[1],
        .bias = call->inputs[2],
        .mean = call->inputs[3],
        .var = call->inputs[4],
        .y = call->outputs[0],
        .n = x->dims[0],
        .c = x->dims[1],
        .inner = qrun_conv_prod(x->dims + 2, x->rank - 2),
        .eps = qrun_node_attr_float(call->node, "epsilon", 1e-5f),
    };
    j.per_elem = qrun_tensor_numel_(j.scale) != j.c;
    bool training =
        call->node->opset >= 14 && qrun_node_attr_int(call->node, "training_mode", 0) != 0;
    if (training && j.per_elem)
        return qrun_errf(call->err, QRUN_E_UNSUPPORTED,
                         "BatchNormalization: training with per-element parameters");
    double momentum = qrun_node_attr_float(call->node, "momentum", 0.9f);
    int64_t planes = j.n * j.c;
    int nt = planes * j.inner > ((int64_t)1 << 15) ? call->n_threads : 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t ch = 0; ch < j.c; ch++) {
        double mean = 0.0, var = 0.0;
        if (training) {
            bn_batch_stats(&j, ch, &mean, &var);
            struct qrun_tensor *rm = call->n_outputs > 1 ? call->outputs[1] : NULL;
            struct qrun_tensor *rv = call->n_outputs > 2 ? call->outputs[2] : NULL;
            if (rm != NULL)
                norm_set(rm, ch, norm_get(j.mean, ch) * momentum + mean * (1.0 - momentum));
            if (rv != NULL)
                norm_set(rv, ch, norm_get(j.var, ch) * momentum + var * (1.0 - momentum));
        } else if (!j.per_elem) {
            mean = norm_get(j.mean, ch);
            var = norm_get(j.var, ch);
        }
        for (int64_t b = 0; b < j.n; b++) {
            if (j.per_elem)
                bn_plane_per_elem(&j, b, ch);
            else
                bn_plane(&j, b, ch, mean, var);
        }
    }
    return QRUN_OK;
}

/* ---- LayerNormalization ------------------------------------------------- */

typedef struct ln_job {
    const struct qrun_tensor *x, *scale, *bias;
    struct qrun_tensor *y, *mean_out, *inv_out;
    int64_t rows, cols;
    int nrank;            /* normalized axes */
    const int64_t *ndims; /* X dims from axis on */
    int64_t sstr[QRUN_MAX_RANK], bstr[QRUN_MAX_RANK];
    bool scale_dense, bias_dense; /* numel == cols: index by column */
    double eps;
} ln_job;

/* Index into a parameter broadcast over the normalized dims. */
static int64_t ln_param_index(const ln_job *j, const int64_t *str, int64_t col) {
    int64_t idx = 0;
    for (int d = j->nrank - 1; d >= 0; d--) {
        idx += (col % j->ndims[d]) * str[d];
        col /= j->ndims[d];
    }
    return idx;
}

static void ln_row(const ln_job *j, int64_t r) {
    int64_t base = r * j->cols;
    double s = 0.0, ss = 0.0;
    for (int64_t i = 0; i < j->cols; i++)
        s += norm_get(j->x, base + i);
    double mean = s / (double)j->cols;
    for (int64_t i = 0; i < j->cols; i++) {
        double d = norm_get(j->x, base + i) - mean;
        ss += d * d;
    }
    double inv = 1.0 / sqrt(ss / (double)j->cols + j->eps);
    for (int64_t i = 0; i < j->cols; i++) {
        double sc = norm_get(j->scale, j->scale_dense ? i : ln_param_index(j, j->sstr, i));
        double b = 0.0;
        if (j->bias != NULL)
            b = norm_get(j->bias, j->bias_dense ? i : ln_param_index(j, j->bstr, i));
        norm_set(j->y, base + i, (norm_get(j->x, base + i) - mean) * inv * sc + b);
    }
    if (j->mean_out != NULL)
        norm_set(j->mean_out, r, mean);
    if (j->inv_out != NULL)
        norm_set(j->inv_out, r, inv);
}

static qrun_status ln_eval(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    int axis = 0;
    qrun_status st =
        qrun_normalize_axis(qrun_node_attr_int(call->node, "axis", -1), x->rank, &axis, call->err);
    if (st != QRUN_OK)
        return st;
    ln_job j = {
        .x = x,
        .scale = call->inputs[1],
        .bias = call->n_inputs > 2 ? call->inputs[2] : NULL,
        .y = call->outputs[0],
        .mean_out = call->n_outputs > 1 ? call->outputs[1] : NULL,
        .inv_out = call->n_outputs > 2 ? call->outputs[2] : NULL,
        .rows = qrun_conv_prod(x->dims, axis),
        .cols = qrun_conv_prod(x->dims + axis, x->rank - axis),
        .nrank = x->rank - axis,
        .ndims = x->dims + axis,
        .eps = qrun_node_attr_float(call->node, "epsilon", 1e-5f),
    };
    j.scale_dense = qrun_tensor_numel_(j.scale) == j.cols;
    qrun_broadcast_strides(j.scale->rank, j.scale->dims, j.nrank, j.ndims, j.sstr);
    if (j.bias != NULL) {
        j.bias_dense = qrun_tensor_numel_(j.bias) == j.cols;
        qrun_broadcast_strides(j.bias->rank, j.bias->dims, j.nrank, j.ndims, j.bstr);
    }
    if (j.cols == 0)
        return QRUN_OK;
    int nt = j.rows * j.cols > ((int64_t)1 << 15) ? call->n_threads : 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t r = 0; r < j.rows; r++)
        ln_row(&j, r);
    return QRUN_OK;
}

/* ---- InstanceNormalization ---------------------------------------------- */

/* y = scale[c] * (x - mean) / sqrt(var + eps) + bias[c], statistics per (n, c) plane, in double. */
static void in_plane(const struct qrun_tensor *x,
                     const struct qrun_tensor *scale,
                     const struct qrun_tensor *bias,
                     struct qrun_tensor *y,
                     int64_t plane,
                     int64_t channels,
                     int64_t inner,
                     double eps) {
    int64_t base = plane * inner, ch = plane % channels;
    double mean = 0.0, var = 0.0;
    for (int64_t i = 0; i < inner; i++)
        mean += norm_get(x, base + i);
    mean /= (double)inner;
    for (int64_t i = 0; i < inner; i++) {
        double d = norm_get(x, base + i) - mean;
        var += d * d;
    }
    var /= (double)inner;
    double k = norm_get(scale, ch) / sqrt(var + eps), b = norm_get(bias, ch);
    for (int64_t i = 0; i < inner; i++)
        norm_set(y, base + i, (norm_get(x, base + i) - mean) * k + b);
}

static qrun_status in_eval(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0], *scale = call->inputs[1],
                             *bias = call->inputs[2];
    if (x->rank < 3)
        return qrun_errf(call->err, QRUN_E_MODEL,
                         "InstanceNormalization: input must be N x C x D1 ...");
    int64_t channels = x->dims[1], planes = x->dims[0] * channels;
    int64_t inner = planes ? qrun_tensor_numel_(x) / planes : 0;
    if (qrun_tensor_numel_(scale) != channels || qrun_tensor_numel_(bias) != channels)
        return qrun_errf(call->err, QRUN_E_MODEL,
                         "InstanceNormalization: scale and B need %lld values",
                         (long long)channels);
    if (inner == 0)
        return QRUN_OK;
    double eps = qrun_node_attr_float(call->node, "epsilon", 1e-5f);
    int nt = planes * inner > ((int64_t)1 << 15) ? call->n_threads : 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t p = 0; p < planes; p++)
        in_plane(x, scale, bias, call->outputs[0], p, channels, inner, eps);
    return QRUN_OK;
}

/* ---- LRN ---------------------------------------------------------------- */

typedef struct lrn_job {
    const struct qrun_tensor *x;
    struct qrun_tensor *y;
    int64_t c, inner;
    int64_t before, after;    /* window: channels ch - before .. ch + after, clipped to [0, C) */
    double scale, beta, bias; /* scale = alpha / size */
} lrn_job;

/* y = x / (bias + alpha / size * square_sum)^beta over plane (b, ch), in double. */
static void lrn_plane(const lrn_job *j, int64_t plane) {
    int64_t ch = plane % j->c, b0 = (plane - ch) * j->inner, base = plane * j->inner;
    int64_t lo = ch - j->before < 0 ? 0 : ch - j->before;
    int64_t hi = ch + j->after > j->c - 1 ? j->c - 1 : ch + j->after;
    for (int64_t i = 0; i < j->inner; i++) {
        double ss = 0.0;
        for (int64_t k = lo; k <= hi; k++) {
            double v = norm_get(j->x, b0 + k * j->inner + i);
            ss += v * v;
        }
        double den = pow(j->bias + j->scale * ss, j->beta);
        norm_set(j->y, base + i, norm_get(j->x, base + i) / den);
    }
}

static qrun_status lrn_eval(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    int64_t size = qrun_node_attr_int(call->node, "size", 0);
    if (x->rank < 3 || size <= 0) /* shape inference rejects these; guard direct calls */
        return qrun_errf(call->err, QRUN_E_MODEL, "LRN: needs rank >= 3 and size > 0");
    lrn_job j = {
        .x = x,
        .y = call->outputs[0],
        .c = x->dims[1],
        .inner = qrun_conv_prod(x->dims + 2, x->rank - 2),
        .before = (size - 1) / 2,
        .after = size / 2, /* ceil((size - 1) / 2) */
        .scale = (double)qrun_node_attr_float(call->node, "alpha", 1e-4f) / (double)size,
        .beta = qrun_node_attr_float(call->node, "beta", 0.75f),
        .bias = qrun_node_attr_float(call->node, "bias", 1.0f),
    };
    int64_t planes = x->dims[0] * j.c;
    int nt = planes * j.inner > ((int64_t)1 << 15) ? call->n_threads : 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t p = 0; p < planes; p++)
        lrn_plane(&j, p);
    return QRUN_OK;
}

const cpu_ref_kernel cpu_ref_kernels_norm[] = {
    {.op = QRUN_OP_INSTANCE_NORMALIZATION, .supports = norm_supports, .eval = in_eval},
    {.op = QRUN_OP_BATCH_NORMALIZATION, .supports = norm_supports, .eval = bn_eval},
    {.op = QRUN_OP_LAYER_NORMALIZATION, .supports = norm_supports, .eval = ln_eval},
    {.op = QRUN_OP_LRN, .supports = norm_supports, .eval = lrn_eval},
    {.op = QRUN_OP_UNKNOWN},
};
