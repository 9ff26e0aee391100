/* SPDX-License-Identifier: Apache-2.0 */
/* MaxPool (with optional Indices), AveragePool, GlobalAveragePool, GlobalMaxPool. */
#include "backends/cpu_ref/kernel.h"
#include "backends/cpu_ref/ops/pool_window.h"
#include "runtime/shape/nn_params.h"

#include <math.h>
#include <stdio.h>

static bool pool_supports(const qrun_node *node,
                          const struct qrun_tensor *const *inputs,
                          int n_inputs,
                          char *why,
                          size_t why_cap) {
    /* Max pools also compare integers; average pools need a float. */
    bool is_max = node->op == QRUN_OP_MAX_POOL || node->op == QRUN_OP_GLOBAL_MAX_POOL;
    unsigned classes = CPU_REF_FLOATS | (is_max ? CPU_REF_INTS : 0u);
    return cpu_ref_input0_in(node, inputs, n_inputs, classes, why, why_cap);
}

pool_axis cpu_ref_pool_window(const qrun_conv_params *p, int d, int64_t o) {
    pool_axis a;
    int64_t s = p->stride[d], dil = p->dilation[d], k = p->kernel[d];
    a.start = o * s - p->pad_begin[d];
    a.lo = a.start >= 0 ? 0 : (-a.start + dil - 1) / dil;
    a.hi = a.start < p->in[d] ? (p->in[d] - a.start + dil - 1) / dil : 0;
    if (a.hi > k)
        a.hi = k;
    if (a.lo > a.hi)
        a.lo = a.hi;
    /* count_include_pad counts pads but not the overhang that ceil_mode adds beyond them. */
    int64_t end = p->in[d] + p->pad_end[d];
    int64_t phi = a.start < end ? (end - a.start + dil - 1) / dil : 0;
    a.padded_n = phi < k ? phi : k;
    return a;
}

/* Row-major (storage_order 0) or column-major (1) strides of the input spatial dims. */
static void pool_index_strides(const qrun_conv_params *p, int64_t *row, int64_t *idx) {
    int n = p->n_spatial;
    int64_t s = 1;
    for (int d = n - 1; d >= 0; d--) {
        row[d] = s;
        s *= p->in[d];
    }
    s = 1;
    for (int d = 0; d < n; d++) {
        idx[d] = p->storage_order == 1 ? s : row[d];
        s *= p->in[d];
    }
}

typedef struct pool_job {
    const qrun_conv_params *p;
    qrun_dtype dt;
    const struct qrun_dtype_traits *tr;
    bool is_max;
    const void *x;
    void *y;
    int64_t *indices; /* NULL when the Indices output is omitted */
    int64_t in_sp, out_sp;
    int64_t row[QRUN_MAX_RANK], istr[QRUN_MAX_RANK];
} pool_job;

static double pool_load(const pool_job *j, int64_t i) {
    if (j->dt == QRUN_DTYPE_FLOAT)
        return ((const float *)j->x)[i];
    return j->tr->get(j->x, (size_t)i);
}

/* One output element at flat output position o of plane `plane`. */
static void pool_one(const pool_job *j, int64_t plane, int64_t o) {
    const qrun_conv_params *p = j->p;
    int n = p->n_spatial;
    pool_axis ax[QRUN_MAX_RANK];
    int64_t q = o, points = 1, padded = 1;
    for (int d = n - 1; d >= 0; d--) {
        ax[d] = cpu_ref_pool_window(p, d, q % p->out[d]);
        q /= p->out[d];
        points *= ax[d].hi - ax[d].lo;
        padded *= ax[d].padded_n;
    }
    double acc = j->is_max ? -INFINITY : 0.0;
    int64_t best = -1;
    int64_t cur[QRUN_MAX_RANK];
    for (int d = 0; d < n; d++)
        cur[d] = ax[d].lo;
    int64_t base = plane * j->in_sp;
    for (int64_t t = 0; t < points; t++) {
        int64_t off = 0, ioff = 0;
        for (int d = 0; d < n; d++) {
            int64_t i = ax[d].start + cur[d] * p->dilation[d];
            off += i * j->row[d];
            ioff += i * j->istr[d];
        }
        double v = pool_load(j, base + off);
        if (!j->is_max)
            acc += v;
        else if (v > acc || best < 0) {
            acc = v;
            best = ioff;
        }
        for (int d = n - 1; d >= 0; d--) {
            if (++cur[d] < ax[d].hi)
                break;
            cur[d] = ax[d].lo;
        }
    }
    int64_t yi = plane * j->out_sp + o;
    if (!j->is_max) {
        int64_t div = p->count_include_pad ? padded : points;
        acc = div > 0 ? acc / (double)div : 0.0;
    } else if (j->indices != NULL) {
        j->indices[yi] = best < 0 ? 0 : plane * j->in_sp + best;
    }
    if (j->dt == QRUN_DTYPE_FLOAT)
        ((float *)j->y)[yi] = (float)acc;
    else
        j->tr->set(j->y, (size_t)yi, acc, true);
}

/*
 * 2-D float fast path for the common case (no Indices): direct window
 * loops with bounds solved per output, summed in float in window order.
 */
static void pool_plane_2d_f32(const pool_job *j, int64_t plane) {
    const qrun_conv_params *p = j->p;
    const float *x = (const float *)j->x + plane * j->in_sp;
    float *y = (float *)j->y + plane * j->out_sp;
    int64_t iw = p->in[1];
    for (int64_t oy = 0; oy < p->out[0]; oy++) {
        pool_axis ay = cpu_ref_pool_window(p, 0, oy);
        for (int64_t ox = 0; ox < p->out[1]; ox++) {
            pool_axis axx = cpu_ref_pool_window(p, 1, ox);
            float acc = j->is_max ? -INFINITY : 0.0f;
            for (int64_t ky = ay.lo; ky < ay.hi; ky++) {
                const float *xr = x + (ay.start + ky * p->dilation[0]) * iw + axx.start;
                for (int64_t kx = axx.lo; kx < axx.hi; kx++) {
                    float v = xr[kx * p->dilation[1]];
                    if (j->is_max)
                        acc = v > acc ? v : acc;
                    else
                        acc += v;
                }
            }
            if (!j->is_max) {
                int64_t div = p->count_include_pad ? ay.padded_n * axx.padded_n
                                                   : (ay.hi - ay.lo) * (axx.hi - axx.lo);
                acc = div > 0 ? acc / (float)div : 0.0f;
            }
            y[oy * p->out[1] + ox] = acc;
        }
    }
}

static qrun_status pool_eval(const qrun_kernel_call *call) {
    qrun_conv_params p;
    const struct qrun_tensor *x = call->inputs[0];
    qrun_status st = qrun_pool_params_get(call->node, x, &p, call->err);
    if (st != QRUN_OK)
        return st;
    pool_job j = {
        .p = &p,
        .dt = x->dtype,
        .tr = qrun_dtype_traits_get(x->dtype),
        .is_max = call->node->op == QRUN_OP_MAX_POOL,
        .x = x->data,
        .y = call->outputs[0]->data,
        .in_sp = qrun_conv_prod(p.in, p.n_spatial),
        .out_sp = qrun_conv_prod(p.out, p.n_spatial),
    };
    if (j.is_max && call->n_outputs > 1 && call->outputs[1] != NULL)
        j.indices = call->outputs[1]->data;
    pool_index_strides(&p, j.row, j.istr);
    int64_t planes = p.batch * p.c_in;
    bool fast = p.n_spatial == 2 && j.dt == QRUN_DTYPE_FLOAT && j.indices == NULL;
    int nt = planes * j.out_sp * qrun_conv_prod(p.kernel, p.n_spatial) > ((int64_t)1 << 15)
                 ? call->n_threads
                 : 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t t = 0; t < planes; t++) {
        if (fast) {
            pool_plane_2d_f32(&j, t);
            continue;
        }
        for (int64_t o = 0; o < j.out_sp; o++)
            pool_one(&j, t, o);
    }
    return QRUN_OK;
}

/* ---- global pools ------------------------------------------------------- */

static qrun_status global_pool_eval(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(x->dtype);
    bool is_max = call->node->op == QRUN_OP_GLOBAL_MAX_POOL;
    int64_t planes = x->dims[0] * x->dims[1];
    int64_t len = qrun_conv_prod(x->dims + 2, x->rank - 2);
    void *y = call->outputs[0]->data;
    int nt = planes * len > ((int64_t)1 << 15) ? call->n_threads : 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t t = 0; t < planes; t++) {
        double acc = is_max ? -INFINITY : 0.0;
        if (x->dtype == QRUN_DTYPE_FLOAT) {
            const float *xp = (const float *)x->data + t * len;
            for (int64_t i = 0; i < len; i++)
                acc = is_max ? (xp[i] > acc ? xp[i] : acc) : acc + xp[i];
        } else {
            for (int64_t i = 0; i < len; i++) {
                double v = tr->get(x->data, (size_t)(t * len + i));
                acc = is_max ? (v > acc ? v : acc) : acc + v;
            }
        }
        if (!is_max)
            acc = len > 0 ? acc / (double)len : 0.0;
        if (x->dtype == QRUN_DTYPE_FLOAT)
            ((float *)y)[t] = (float)acc;
        else
            tr->set(y, (size_t)t, acc, true);
    }
    return QRUN_OK;
}

const cpu_ref_kernel cpu_ref_kernels_pool[] = {
    {.op = QRUN_OP_MAX_POOL, .supports = pool_supports, .eval = pool_eval},
    {.op = QRUN_OP_AVERAGE_POOL, .supports = pool_supports, .eval = pool_eval},
    {.op = QRUN_OP_GLOBAL_AVERAGE_POOL, .supports = pool_supports, .eval = global_pool_eval},
    {.op = QRUN_OP_GLOBAL_MAX_POOL, .supports = pool_supports, .eval = global_pool_eval},
    {.op = QRUN_OP_UNKNOWN},
};
