/* SPDX-License-Identifier: Apache-2.0 */
/* cpu_ref Pad: constant/reflect/edge/wrap padding (negative pads crop), any byte-sized dtype. */
#include "backends/cpu_ref/kernel.h"
#include "runtime/dtype.h"
#include "runtime/shape/movement.h"
#include "runtime/shape/shape_util.h"

#include <stdio.h>
#include <string.h>

/* Below this many output bytes threads cost more than they save. */
#define PD_PAR_BYTES ((int64_t)1 << 16)
/* Largest element size we copy (complex128). */
#define PD_MAX_ES 16

static int64_t pd_mod(int64_t a, int64_t m) {
    int64_t r = a % m;
    return r < 0 ? r + m : r;
}

/* Input index read by output position j - begin along an axis of n elements; -1 = the constant. */
static int64_t pd_src_index(int64_t j, int64_t n, qrun_pad_mode mode) {
    if (j >= 0 && j < n)
        return j;
    switch (mode) {
    case QRUN_PAD_EDGE:
        return j < 0 ? 0 : n - 1;
    case QRUN_PAD_REFLECT: {
        if (n == 1)
            return 0;
        int64_t p = 2 * (n - 1), r = pd_mod(j, p);
        return r < n ? r : p - r;
    }
    case QRUN_PAD_WRAP:
        return pd_mod(j, n);
    default:
        return -1;
    }
}

static bool pd_supports(const qrun_node *node,
                        const struct qrun_tensor *const *in,
                        int n_in,
                        char *why,
                        size_t why_cap) {
    qrun_dtype t = n_in > 0 && in[0] ? in[0]->dtype : QRUN_DTYPE_UNDEFINED;
    if (t == QRUN_DTYPE_UNDEFINED)
        return true;
    int bits = qrun_dtype_traits_get(t)->bits;
    if (bits > 0 && bits % 8 == 0 && bits / 8 <= PD_MAX_ES)
        return true;
    snprintf(why, why_cap, "Pad of %s is not supported", qrun_dtype_traits_get(t)->name);
    return false;
}

static size_t pd_scratch(const qrun_kernel_call *call) {
    const struct qrun_tensor *y = call->outputs[0];
    size_t n = 0;
    for (int d = 0; d < y->rank; d++)
        n += (size_t)y->dims[d];
    return n * sizeof(int64_t);
}

/* The pad value as one element of x's dtype: input 2 (opset 11+) or attribute value (opset < 11).
 */
static void pd_const_value(const qrun_kernel_call *call, unsigned char *cv, size_t es) {
    const struct qrun_tensor *x = call->inputs[0];
    const struct qrun_tensor *v = call->n_inputs > 2 ? call->inputs[2] : NULL;
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(x->dtype);
    memset(cv, 0, PD_MAX_ES);
    if (v && qrun_tensor_numel_(v) >= 1) {
        if (v->dtype == x->dtype)
            memcpy(cv, v->data, es);
        else
            tr->set(cv, 0, qrun_dtype_traits_get(v->dtype)->get(v->data, 0), true);
        return;
    }
    const qrun_attr *a = qrun_node_attr(call->node, "value");
    if (a && tr->set)
        tr->set(cv, 0, a->f, true);
}

typedef struct pd_ctx {
    const qrun_pad_plan *p;
    const struct qrun_tensor *x;
    int64_t *const *maps; /* per axis: output position -> input index or -1 */
    int64_t in_strides[QRUN_MAX_RANK];
    unsigned char cv[PD_MAX_ES];
    size_t es;
} pd_ctx;

/* One output row (the last axis) for the outer position `row`. */
static void pd_row(const pd_ctx *c, char *dst, int64_t row) {
    const qrun_pad_plan *p = c->p;
    int last = p->rank - 1;
    int64_t n = p->dims[last], off = 0, rem = row;
    size_t es = c->es;
    bool inside = true;
    for (int d = last - 1; d >= 0; d--) {
        int64_t m = c->maps[d][rem % p->dims[d]];
        rem /= p->dims[d];
        if (m < 0)
            inside = false;
        else
            off += m * c->in_strides[d];
    }
    if (!inside) {
        for (int64_t j = 0; j < n; j++)
            memcpy(dst + j * (int64_t)es, c->cv, es);
        return;
    }
    const char *src = (const char *)c->x->data + off * (int64_t)es;
    int64_t b = p->begin[last], in_n = c->x->dims[last];
    int64_t lo = b < 0 ? 0 : (b > n ? n : b);
    int64_t hi = b + in_n < lo ? lo : (b + in_n > n ? n : b + in_n);
    for (int64_t j = 0; j < n; j++) {
        if (j == lo && hi > lo) {
            /* The interior run is contiguous in the input. */
            memcpy(dst + j * (int64_t)es, src + (j - b) * (int64_t)es, (size_t)(hi - lo) * es);
            j = hi - 1;
            continue;
        }
        int64_t m = c->maps[last][j];
        memcpy(dst + j * (int64_t)es, m < 0 ? (const char *)c->cv : src + m * (int64_t)es, es);
    }
}

static qrun_status pd_eval(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    struct qrun_tensor *y = call->outputs[0];
    qrun_pad_plan p;
    bool need = false;
    qrun_status s =
        qrun_pad_plan_make(call->node, call->inputs, call->n_inputs, &p, &need, call->err);
    if (s)
        return s;
    if (need)
        return qrun_errf(call->err, QRUN_E_INTERNAL, "Pad: pads unknown at run time");
    int64_t numel = qrun_tensor_numel_(y);
    if (numel == 0)
        return QRUN_OK;
    if (p.rank == 0) {
        memcpy(y->data, x->data, y->nbytes);
        return QRUN_OK;
    }
    if (call->scratch_bytes < pd_scratch(call))
        return qrun_errf(call->err, QRUN_E_INTERNAL, "Pad: scratch too small");
    pd_ctx c = {.p = &p, .x = x, .es = qrun_dtype_traits_get(x->dtype)->bits / 8};
    int64_t *maps[QRUN_MAX_RANK];
    int64_t *m = call->scratch;
    for (int d = 0; d < p.rank; d++) {
        maps[d] = m;
        for (int64_t i = 0; i < p.dims[d]; i++)
            m[i] = pd_src_index(i - p.begin[d], x->dims[d], p.mode);
        m += p.dims[d];
    }
    c.maps = maps;
    qrun_shape_strides(x->rank, x->dims, c.in_strides);
    pd_const_value(call, c.cv, c.es);
    int64_t inner = p.dims[p.rank - 1], rows = numel / inner;
    int64_t row_bytes = inner * (int64_t)c.es;
    int nt = numel * (int64_t)c.es >= PD_PAR_BYTES ? call->n_threads : 1;
    char *dst = y->data;
#pragma omp parallel for num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < rows; r++)
        pd_row(&c, dst + r * row_bytes, r);
    return QRUN_OK;
}

const cpu_ref_kernel cpu_ref_kernels_pad[] = {
    {.op = QRUN_OP_PAD, .supports = pd_supports, .scratch_bytes = pd_scratch, .eval = pd_eval},
    {.op = QRUN_OP_UNKNOWN},
};
