/* SPDX-License-Identifier: Apache-2.0 */
/* Broadcasting, axis normalisation and integer-list reading shared by inference and kernels. */
#include "runtime/shape/shape_util.h"
#include "runtime/dtype.h"
#include "runtime/ir.h"

#include <inttypes.h>
#include <math.h>

qrun_status qrun_broadcast_shapes(
    int n, const struct qrun_tensor *const *ts, int *rank_out, int64_t *dims_out, qrun_err *err) {
    int rank = 0;
    for (int i = 0; i < n; i++) {
        if (ts[i] && ts[i]->rank > rank)
            rank = ts[i]->rank;
    }
    for (int d = 0; d < rank; d++)
        dims_out[d] = 1;
    for (int i = 0; i < n; i++) {
        const struct qrun_tensor *t = ts[i];
        if (!t)
            continue;
        int off = rank - t->rank;
        for (int d = 0; d < t->rank; d++) {
            int64_t a = dims_out[off + d], b = t->dims[d];
            if (a == b || b == 1)
                continue;
            if (a == 1) {
                dims_out[off + d] = b;
                continue;
            }
            char s1[128], s2[128];
            return qrun_errf(err, QRUN_E_MODEL, "shapes cannot be broadcast: %s vs %s (input %d)",
                             qrun_shape_str(rank, dims_out, s1, sizeof s1),
                             qrun_shape_str(t->rank, t->dims, s2, sizeof s2), i);
        }
    }
    *rank_out = rank;
    return QRUN_OK;
}

qrun_status qrun_normalize_axis(int64_t axis, int rank, int *out, qrun_err *err) {
    /* A scalar still accepts axis 0/-1 in several ops; callers decide. */
    int64_t r = rank;
    if (axis < -r || axis >= r)
        return qrun_errf(err, QRUN_E_MODEL, "axis %" PRId64 " out of range [%d, %d]", axis, -rank,
                         rank - 1);
    *out = (int)(axis < 0 ? axis + r : axis);
    return QRUN_OK;
}

qrun_status qrun_tensor_read_ints(
    const struct qrun_tensor *t, int64_t *out, size_t cap, size_t *n, qrun_err *err) {
    if (!t || !t->data)
        return qrun_errf(err, QRUN_E_INTERNAL, "integer list value is not known");
    if (!qrun_dtype_is_integer(t->dtype))
        return qrun_errf(err, QRUN_E_MODEL, "expected an integer tensor, got %s",
                         qrun_dtype_traits_get(t->dtype)->name);
    int64_t cnt = qrun_shape_numel(t->rank, t->dims);
    if (cnt < 0 || (uint64_t)cnt > cap)
        return qrun_errf(err, QRUN_E_MODEL, "integer list has %" PRId64 " elements (max %zu)", cnt,
                         cap);
    for (int64_t i = 0; i < cnt; i++)
        out[i] = qrun_dtype_get_i64(t->dtype, t->data, (size_t)i);
    *n = (size_t)cnt;
    return QRUN_OK;
}

qrun_status qrun_tensor_read_floats(
    const struct qrun_tensor *t, float *out, size_t cap, size_t *n, qrun_err *err) {
    if (!t || !t->data)
        return qrun_errf(err, QRUN_E_INTERNAL, "float list value is not known");
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(t->dtype);
    if (!tr->get)
        return qrun_errf(err, QRUN_E_MODEL, "expected a numeric tensor, got %s", tr->name);
    int64_t cnt = qrun_shape_numel(t->rank, t->dims);
    if (cnt < 0 || (uint64_t)cnt > cap)
        return qrun_errf(err, QRUN_E_MODEL, "float list has %" PRId64 " elements (max %zu)", cnt,
                         cap);
    for (int64_t i = 0; i < cnt; i++)
        out[i] = (float)tr->get(t->data, (size_t)i);
    *n = (size_t)cnt;
    return QRUN_OK;
}

void qrun_shape_strides(int rank, const int64_t *dims, int64_t *strides) {
    int64_t s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        strides[d] = s;
        s *= dims[d];
    }
}

void qrun_broadcast_strides(
    int rank, const int64_t *dims, int out_rank, const int64_t *out_dims, int64_t *strides) {
    int64_t own[QRUN_MAX_RANK];
    qrun_shape_strides(rank, dims, own);
    int off = out_rank - rank;
    for (int d = 0; d < out_rank; d++) {
        if (d < off) {
            strides[d] = 0;
            continue;
        }
        int64_t dim = dims[d - off];
        strides[d] = (dim == 1 && out_dims[d] != 1) ? 0 : own[d - off];
    }
}

qrun_status
qrun_infer_set_output(qrun_infer_ctx *c, int i, qrun_dtype dtype, int rank, const int64_t *dims) {
    if (i < 0 || i >= c->n_outputs)
        return qrun_errf(c->err, QRUN_E_INTERNAL, "output %d out of range", i);
    if (rank > QRUN_MAX_RANK)
        return qrun_errf(c->err, QRUN_E_UNSUPPORTED, "output rank %d exceeds the maximum %d", rank,
                         QRUN_MAX_RANK);
    if (!qrun_tensor_set_shape(&c->outputs[i], dtype, rank, dims)) {
        char s[160];
        return qrun_errf(c->err, QRUN_E_MODEL, "invalid output shape %s",
                         qrun_shape_str(rank, dims, s, sizeof s));
    }
    return QRUN_OK;
}

static bool is_legacy_arith(const struct qrun_node *n) {
    return n->opset < 7 &&
           (n->op == QRUN_OP_ADD || n->op == QRUN_OP_SUB || n->op == QRUN_OP_MUL ||
            n->op == QRUN_OP_DIV || n->op == QRUN_OP_POW) &&
           qrun_node_attr_int(n, "broadcast", 0) != 0;
}

bool qrun_legacy_broadcast_view(const struct qrun_node *n,
                                const struct qrun_tensor *a,
                                const struct qrun_tensor *b,
                                struct qrun_tensor *view) {
    if (!a || !b)
        return false;
    int axis;
    if (is_legacy_arith(n)) {
        int64_t ax = qrun_node_attr_int(n, "axis", a->rank - b->rank);
        if (ax < 0)
            ax += a->rank;
        if (ax < 0 || ax + b->rank > a->rank)
            return false;
        axis = (int)ax;
    } else if (n->op == QRUN_OP_PRELU && n->opset < 7 && b->rank == 1 && a->rank >= 2 &&
               b->dims[0] == a->dims[1] && b->dims[0] != 1) {
        axis = 1;
    } else {
        return false;
    }
    *view = *b;
    view->owns_data = false;
    view->name = NULL;
    view->rank = a->rank - axis;
    for (int d = 0; d < view->rank; d++)
        view->dims[d] = d < b->rank ? b->dims[d] : 1;
    return true;
}
