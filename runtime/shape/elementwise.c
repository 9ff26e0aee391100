/* SPDX-License-Identifier: Apache-2.0 */
/* Shape and type inference of elementwise ops: unary, broadcasting, comparisons, Where, Cast. */
#include "runtime/dtype.h"
#include "runtime/ir.h"
#include "runtime/shape/shape_util.h"

static const struct qrun_tensor *ew_input(const qrun_infer_ctx *c, int i) {
    return i < c->n_inputs ? c->inputs[i] : NULL;
}

static qrun_status ew_require(const qrun_infer_ctx *c, int i) {
    if (ew_input(c, i))
        return QRUN_OK;
    return qrun_errf(c->err, QRUN_E_MODEL, "input %d is required", i);
}

/* Inputs first..n-1 that are present must share input `ref`'s dtype (ONNX type constraint T). */
static qrun_status ew_same_dtype(const qrun_infer_ctx *c, int ref, int first, int n) {
    qrun_dtype want = c->inputs[ref]->dtype;
    for (int i = first; i < n; i++) {
        const struct qrun_tensor *t = ew_input(c, i);
        if (t && t->dtype != want)
            return qrun_errf(c->err, QRUN_E_MODEL, "input %d is %s but input %d is %s", i,
                             qrun_dtype_name(t->dtype), ref, qrun_dtype_name(want));
    }
    return QRUN_OK;
}

static qrun_status ew_require_bool(const qrun_infer_ctx *c, int i) {
    const struct qrun_tensor *t = ew_input(c, i);
    if (!t || t->dtype == QRUN_DTYPE_BOOL)
        return QRUN_OK;
    return qrun_errf(c->err, QRUN_E_MODEL, "input %d must be bool, got %s", i,
                     qrun_dtype_name(t->dtype));
}

qrun_status qrun_infer_unary(qrun_infer_ctx *c) {
    qrun_status st = ew_require(c, 0);
    if (st != QRUN_OK)
        return st;
    const struct qrun_tensor *x = c->inputs[0];
    if (c->node->op == QRUN_OP_NOT && (st = ew_require_bool(c, 0)) != QRUN_OK)
        return st;
    if (c->node->op == QRUN_OP_CLIP) {
        /* Clip-11+: optional scalar min/max inputs of the same type as x. */
        if ((st = ew_same_dtype(c, 0, 1, c->n_inputs)) != QRUN_OK)
            return st;
    }
    return qrun_infer_set_output(c, 0, x->dtype, x->rank, x->dims);
}

/* PRelu: slope broadcasts to X (unidirectionally), the output has X's shape. */
static qrun_status ew_infer_prelu(qrun_infer_ctx *c) {
    const struct qrun_tensor *x = c->inputs[0];
    int rank;
    int64_t dims[QRUN_MAX_RANK];
    qrun_status st = qrun_broadcast_shapes(c->n_inputs, c->inputs, &rank, dims, c->err);
    if (st != QRUN_OK)
        return st;
    bool same = rank == x->rank;
    for (int d = 0; same && d < rank; d++)
        same = dims[d] == x->dims[d];
    if (!same)
        return qrun_errf(c->err, QRUN_E_MODEL, "slope does not broadcast to the shape of X");
    return qrun_infer_set_output(c, 0, x->dtype, x->rank, x->dims);
}

qrun_status qrun_infer_broadcast(qrun_infer_ctx *c) {
    qrun_status st = ew_require(c, 0);
    if (st != QRUN_OK)
        return st;
    qrun_op op = c->node->op;
    bool two = op == QRUN_OP_ADD || op == QRUN_OP_SUB || op == QRUN_OP_MUL || op == QRUN_OP_DIV ||
               op == QRUN_OP_POW || op == QRUN_OP_PRELU;
    if (two && (st = ew_require(c, 1)) != QRUN_OK)
        return st;
    /* Pow-12+: the exponent may have another type; the output keeps the base type. */
    if (op != QRUN_OP_POW && (st = ew_same_dtype(c, 0, 1, c->n_inputs)) != QRUN_OK)
        return st;
    struct qrun_tensor legacy_b;
    const struct qrun_tensor *ins[2] = {c->inputs[0], NULL};
    if (two && qrun_legacy_broadcast_view(c->node, c->inputs[0], c->inputs[1], &legacy_b)) {
        ins[1] = &legacy_b;
        qrun_infer_ctx lc = *c;
        lc.inputs = ins;
        lc.n_inputs = 2;
        if (op == QRUN_OP_PRELU)
            return ew_infer_prelu(&lc);
        int lrank;
        int64_t ldims[QRUN_MAX_RANK];
        if ((st = qrun_broadcast_shapes(2, ins, &lrank, ldims, c->err)) != QRUN_OK)
            return st;
        return qrun_infer_set_output(c, 0, c->inputs[0]->dtype, lrank, ldims);
    }
    if (op == QRUN_OP_PRELU)
        return ew_infer_prelu(c);
    int rank;
    int64_t dims[QRUN_MAX_RANK];
    if ((st = qrun_broadcast_shapes(c->n_inputs, c->inputs, &rank, dims, c->err)) != QRUN_OK)
        return st;
    return qrun_infer_set_output(c, 0, c->inputs[0]->dtype, rank, dims);
}

qrun_status qrun_infer_compare(qrun_infer_ctx *c) {
    qrun_status st;
    if ((st = ew_require(c, 0)) != QRUN_OK || (st = ew_require(c, 1)) != QRUN_OK)
        return st;
    qrun_op op = c->node->op;
    if (op == QRUN_OP_AND || op == QRUN_OP_OR || op == QRUN_OP_XOR) {
        if ((st = ew_require_bool(c, 0)) != QRUN_OK || (st = ew_require_bool(c, 1)) != QRUN_OK)
            return st;
    } else if ((st = ew_same_dtype(c, 0, 1, 2)) != QRUN_OK) {
        return st;
    }
    int rank;
    int64_t dims[QRUN_MAX_RANK];
    if ((st = qrun_broadcast_shapes(2, c->inputs, &rank, dims, c->err)) != QRUN_OK)
        return st;
    return qrun_infer_set_output(c, 0, QRUN_DTYPE_BOOL, rank, dims);
}

qrun_status qrun_infer_where(qrun_infer_ctx *c) {
    qrun_status st;
    for (int i = 0; i < 3; i++) {
        if ((st = ew_require(c, i)) != QRUN_OK)
            return st;
    }
    if ((st = ew_require_bool(c, 0)) != QRUN_OK || (st = ew_same_dtype(c, 1, 2, 3)) != QRUN_OK)
        return st;
    int rank;
    int64_t dims[QRUN_MAX_RANK];
    if ((st = qrun_broadcast_shapes(3, c->inputs, &rank, dims, c->err)) != QRUN_OK)
        return st;
    return qrun_infer_set_output(c, 0, c->inputs[1]->dtype, rank, dims);
}

static bool ew_castable(qrun_dtype t) {
    return qrun_dtype_traits_get(t)->get != NULL;
}

qrun_status qrun_infer_cast(qrun_infer_ctx *c) {
    qrun_status st = ew_require(c, 0);
    if (st != QRUN_OK)
        return st;
    const struct qrun_tensor *x = c->inputs[0];
    const qrun_attr *to_attr = qrun_node_attr(c->node, "to");
    if (!to_attr || to_attr->type != QRUN_ATTR_INT)
        return qrun_errf(c->err, QRUN_E_MODEL, "Cast needs an integer attribute 'to'");
    if (to_attr->i <= 0)
        return qrun_errf(c->err, QRUN_E_MODEL, "Cast 'to' = %lld is not a data type",
                         (long long)to_attr->i);
    /* A code past our table may be a newer ONNX type: valid, just not ours. */
    qrun_dtype to =
        to_attr->i > 1000 ? QRUN_DTYPE_UNDEFINED : qrun_dtype_from_onnx((int)to_attr->i);
    if (to == QRUN_DTYPE_UNDEFINED)
        return qrun_errf(c->err, QRUN_E_UNSUPPORTED, "Cast to data type %lld is not supported",
                         (long long)to_attr->i);
    if (!ew_castable(to) || !ew_castable(x->dtype))
        return qrun_errf(c->err, QRUN_E_UNSUPPORTED, "Cast from %s to %s is not supported",
                         qrun_dtype_name(x->dtype), qrun_dtype_name(to));
    return qrun_infer_set_output(c, 0, to, x->rank, x->dims);
}

qrun_status qrun_infer_cast_like(qrun_infer_ctx *c) {
    qrun_status st = ew_require(c, 0);
    if (st == QRUN_OK)
        st = ew_require(c, 1);
    if (st != QRUN_OK)
        return st;
    const struct qrun_tensor *x = c->inputs[0];
    qrun_dtype to = c->inputs[1]->dtype;
    if (!ew_castable(to) || !ew_castable(x->dtype))
        return qrun_errf(c->err, QRUN_E_UNSUPPORTED, "CastLike from %s to %s is not supported",
                         qrun_dtype_name(x->dtype), qrun_dtype_name(to));
    return qrun_infer_set_output(c, 0, to, x->rank, x->dims);
}
