/* SPDX-License-Identifier: Apache-2.0 */
/* ReduceMean/Sum/Max/Min (axes as attribute or input) and ArgMax/ArgMin. */
#include "backends/cpu_ref/kernel.h"
#include "runtime/shape/nn_params.h"
#include "runtime/shape/shape_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static bool reduce_supports(const qrun_node *node,
                            const struct qrun_tensor *const *inputs,
                            int n_inputs,
                            char *why,
                            size_t why_cap) {
    return cpu_ref_input0_in(node, inputs, n_inputs, CPU_REF_FLOATS | CPU_REF_INTS, why, why_cap);
}

typedef enum reduce_kind { REDUCE_SUM, REDUCE_MEAN, REDUCE_MAX, REDUCE_MIN } reduce_kind;

/*
 * The input with adjacent axes of the same kind (kept/reduced) merged into
 * groups. Output element o picks one index in every kept group; the
 * reduced groups are walked with an odometer, and a reduced last group is
 * a contiguous run.
 */
typedef struct reduce_job {
    const struct qrun_tensor *x;
    struct qrun_tensor *y;
    reduce_kind kind;
    bool is_int;
    int nk, nr;
    int64_t kdim[QRUN_MAX_RANK], kstr[QRUN_MAX_RANK];
    int64_t rdim[QRUN_MAX_RANK], rstr[QRUN_MAX_RANK];
    int64_t run;   /* length of the contiguous innermost reduced run (1 if none) */
    int64_t count; /* reduced elements per output */
} reduce_job;

static void reduce_groups(reduce_job *j, const bool *mask) {
    const struct qrun_tensor *x = j->x;
    int64_t str[QRUN_MAX_RANK];
    qrun_shape_strides(x->rank, x->dims, str);
    j->nk = j->nr = 0;
    j->run = 1;
    j->count = 1;
    for (int d = 0; d < x->rank; d++) {
        bool red = mask[d];
        int64_t *gd = red ? j->rdim : j->kdim, *gs = red ? j->rstr : j->kstr;
        int *ng = red ? &j->nr : &j->nk;
        if (red)
            j->count *= x->dims[d];
        /* Merge with the previous group when it is of the same kind and directly outer to this
         * axis. */
        bool merge = d > 0 && mask[d - 1] == red && *ng > 0;
        if (merge) {
            gd[*ng - 1] *= x->dims[d];
            gs[*ng - 1] = str[d];
        } else {
            gd[*ng] = x->dims[d];
            gs[*ng] = str[d];
            (*ng)++;
        }
    }
    if (x->rank > 0 && mask[x->rank - 1] && j->nr > 0) {
        j->run = j->rdim[j->nr - 1];
        j->nr--;
    }
}

static double reduce_load(const struct qrun_tensor *t, int64_t i) {
    if (t->dtype == QRUN_DTYPE_FLOAT)
        return ((const float *)t->data)[i];
    return qrun_dtype_traits_get(t->dtype)->get(t->data, (size_t)i);
}

static double reduce_fold_f64(reduce_kind k, double acc, double v) {
    switch (k) {
    case REDUCE_MAX:
        return (v > acc || v != v) && acc == acc ? v : acc;
    case REDUCE_MIN:
        return (v < acc || v != v) && acc == acc ? v : acc;
    default:
        return acc + v;
    }
}

static int64_t reduce_fold_i64(reduce_kind k, int64_t acc, int64_t v) {
    switch (k) {
    case REDUCE_MAX:
        return v > acc ? v : acc;
    case REDUCE_MIN:
        return v < acc ? v : acc;
    default:
        return (int64_t)((uint64_t)acc + (uint64_t)v);
    }
}

/* Offset of the reduced block number r (outer reduced groups only). */
static int64_t reduce_block_offset(const reduce_job *j, int64_t r) {
    int64_t off = 0;
    for (int g = j->nr - 1; g >= 0; g--) {
        off += (r % j->rdim[g]) * j->rstr[g];
        r /= j->rdim[g];
    }
    return off;
}

static void reduce_one(const reduce_job *j, int64_t o) {
    int64_t base = 0, q = o;
    for (int g = j->nk - 1; g >= 0; g--) {
        base += (q % j->kdim[g]) * j->kstr[g];
        q /= j->kdim[g];
    }
    int64_t blocks = j->run > 0 ? j->count / j->run : 0;
    qrun_dtype dt = j->x->dtype;
    if (j->is_int) {
        const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(dt);
        int64_t acc = j->kind == REDUCE_MAX ? INT64_MIN : j->kind == REDUCE_MIN ? INT64_MAX : 0;
        for (int64_t b = 0; b < blocks; b++) {
            int64_t off = base + reduce_block_offset(j, b);
            for (int64_t i = 0; i < j->run; i++)
                acc = reduce_fold_i64(j->kind, acc,
                                      qrun_dtype_get_i64(dt, j->x->data, (size_t)(off + i)));
        }
        if (j->kind == REDUCE_MEAN)
            tr->set(j->y->data, (size_t)o, j->count > 0 ? (double)acc / (double)j->count : 0.0,
                    true);
        else if (j->count == 0 && j->kind != REDUCE_SUM)
            tr->set(j->y->data, (size_t)o, j->kind == REDUCE_MAX ? tr->min_value : tr->max_value,
                    true);
        else
            qrun_dtype_set_i64(dt, j->y->data, (size_t)o, acc);
        return;
    }
    double acc = j->kind == REDUCE_MAX ? -INFINITY : j->kind == REDUCE_MIN ? INFINITY : 0.0;
    for (int64_t b = 0; b < blocks; b++) {
        int64_t off = base + reduce_block_offset(j, b);
        if (dt == QRUN_DTYPE_FLOAT && j->kind != REDUCE_MAX && j->kind != REDUCE_MIN) {
            const float *xp = (const float *)j->x->data + off;
            for (int64_t i = 0; i < j->run; i++)
                acc += xp[i];
            continue;
        }
        for (int64_t i = 0; i < j->run; i++)
            acc = reduce_fold_f64(j->kind, acc, reduce_load(j->x, off + i));
    }
    if (j->kind == REDUCE_MEAN)
        acc /= (double)j->count;
    if (dt == QRUN_DTYPE_FLOAT)
        ((float *)j->y->data)[o] = (float)acc;
    else
        qrun_dtype_traits_get(dt)->set(j->y->data, (size_t)o, acc, false);
}

static reduce_kind reduce_kind_of(qrun_op op) {
    switch (op) {
    case QRUN_OP_REDUCE_MEAN:
        return REDUCE_MEAN;
    case QRUN_OP_REDUCE_MAX:
        return REDUCE_MAX;
    case QRUN_OP_REDUCE_MIN:
        return REDUCE_MIN;
    default:
        return REDUCE_SUM;
    }
}

static qrun_status reduce_eval(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    const struct qrun_tensor *axes = call->n_inputs > 1 ? call->inputs[1] : NULL;
    bool mask[QRUN_MAX_RANK], noop;
    qrun_status st = qrun_reduce_axes_get(call->node, x->rank, axes, mask, &noop, call->err);
    if (st != QRUN_OK)
        return st;
    struct qrun_tensor *y = call->outputs[0];
    if (noop) {
        memcpy(y->data, x->data, x->nbytes < y->nbytes ? x->nbytes : y->nbytes);
        return QRUN_OK;
    }
    reduce_job j = {
        .x = x,
        .y = y,
        .kind = reduce_kind_of(call->node->op),
        .is_int = qrun_dtype_is_integer(x->dtype),
    };
    reduce_groups(&j, mask);
    int64_t n_out = qrun_tensor_numel_(y);
    int nt = n_out * j.count > ((int64_t)1 << 15) && n_out > 1 ? call->n_threads : 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t o = 0; o < n_out; o++)
        reduce_one(&j, o);
    return QRUN_OK;
}

/* ---- ArgMax / ArgMin ---------------------------------------------------- */

static qrun_status argreduce_eval(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    int axis = 0;
    qrun_status st =
        qrun_normalize_axis(qrun_node_attr_int(call->node, "axis", 0), x->rank, &axis, call->err);
    if (st != QRUN_OK)
        return st;
    bool is_max = call->node->op == QRUN_OP_ARG_MAX;
    bool last = qrun_node_attr_int(call->node, "select_last_index", 0) != 0;
    int64_t outer = qrun_conv_prod(x->dims, axis), len = x->dims[axis];
    int64_t inner = qrun_conv_prod(x->dims + axis + 1, x->rank - axis - 1);
    int64_t *y = call->outputs[0]->data;
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t in = 0; in < inner; in++) {
            int64_t base = o * len * inner + in, best_i = 0;
            double best = reduce_load(x, base);
            for (int64_t i = 1; i < len; i++) {
                double v = reduce_load(x, base + i * inner);
                bool better =
                    is_max ? (last ? v >= best : v > best) : (last ? v <= best : v < best);
                if (better) {
                    best = v;
                    best_i = i;
                }
            }
            y[o * inner + in] = best_i;
        }
    }
    return QRUN_OK;
}

const cpu_ref_kernel cpu_ref_kernels_reduce[] = {
    {.op = QRUN_OP_REDUCE_MEAN, .supports = reduce_supports, .eval = reduce_eval},
    {.op = QRUN_OP_REDUCE_SUM, .supports = reduce_supports, .eval = reduce_eval},
    {.op = QRUN_OP_REDUCE_MAX, .supports = reduce_supports, .eval = reduce_eval},
    {.op = QRUN_OP_REDUCE_MIN, .supports = reduce_supports, .eval = reduce_eval},
    {.op = QRUN_OP_ARG_MAX, .supports = reduce_supports, .eval = argreduce_eval},
    {.op = QRUN_OP_ARG_MIN, .supports = reduce_supports, .eval = argreduce_eval},
    {.op = QRUN_OP_UNKNOWN},
};
