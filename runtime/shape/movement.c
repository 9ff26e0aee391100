/* SPDX-License-Identifier: Apache-2.0 */
/* Shape inference for data-movement and shape ops (Reshape..Range), plus their shared plans. */
#include "runtime/shape/movement.h"
#include "runtime/dtype.h"
#include "runtime/shape/shape_util.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* Largest element count Range and friends may produce: beyond it the model is absurd. */
#define MV_MAX_RANGE ((int64_t)1 << 31)

static const struct qrun_tensor *mv_input(const struct qrun_tensor *const *in, int n_in, int i) {
    return i < n_in ? in[i] : NULL;
}

/*
 * An integer list given either as input idx (newer opsets) or as attribute
 * attr (older ones). Both are accepted whatever the opset, so a model that
 * was normalised by a pass (attribute moved to input) reads the same.
 * *present is false when neither is given.
 */
static qrun_status mv_int_list(const qrun_node *n,
                               const struct qrun_tensor *const *in,
                               int n_in,
                               int idx,
                               const char *attr,
                               int64_t *out,
                               size_t cap,
                               size_t *cnt,
                               bool *present,
                               bool *need_value,
                               qrun_err *err) {
    const struct qrun_tensor *t = idx >= 0 ? mv_input(in, n_in, idx) : NULL;
    *present = false;
    *cnt = 0;
    if (t) {
        *present = true;
        if (!t->data) {
            *need_value = true;
            return QRUN_OK;
        }
        return qrun_tensor_read_ints(t, out, cap, cnt, err);
    }
    const qrun_attr *a = attr ? qrun_node_attr(n, attr) : NULL;
    if (!a)
        return QRUN_OK;
    /* Any other type would read as an empty list and change the slice silently. */
    if (a->type != QRUN_ATTR_INTS)
        return qrun_errf(err, QRUN_E_MODEL, "attribute %s must be a list of ints", attr);
    const int64_t *vals = NULL;
    size_t nv = qrun_node_attr_ints(n, attr, &vals);
    if (nv > cap)
        return qrun_errf(err, QRUN_E_MODEL, "attribute %s has %zu values (max %zu)", attr, nv, cap);
    if (nv)
        memcpy(out, vals, nv * sizeof *out);
    *cnt = nv;
    *present = true;
    return QRUN_OK;
}

/* ---- Reshape, Flatten ---------------------------------------------------- */

qrun_status qrun_infer_reshape(qrun_infer_ctx *c) {
    const struct qrun_tensor *x = c->inputs[0];
    int64_t shape[QRUN_MAX_RANK];
    size_t n = 0;
    bool present = false;
    qrun_status s = mv_int_list(c->node, c->inputs, c->n_inputs, 1, "shape", shape, QRUN_MAX_RANK,
                                &n, &present, &c->need_value, c->err);
    if (s || c->need_value)
        return s;
    if (!present)
        return qrun_errf(c->err, QRUN_E_MODEL, "Reshape: no shape given");
    bool allowzero = qrun_node_attr_int(c->node, "allowzero", 0) != 0;
    int64_t numel = qrun_shape_numel(x->rank, x->dims);
    int neg = -1;
    int64_t known = 1;
    for (size_t i = 0; i < n; i++) {
        if (shape[i] == 0 && !allowzero) {
            if ((int)i >= x->rank)
                return qrun_errf(c->err, QRUN_E_MODEL,
                                 "Reshape: shape[%zu] = 0 but input has rank %d", i, x->rank);
            shape[i] = x->dims[i];
        }
        if (shape[i] == -1) {
            if (neg >= 0)
                return qrun_errf(c->err, QRUN_E_MODEL, "Reshape: more than one -1 in shape");
            neg = (int)i;
            continue;
        }
        if (shape[i] < 0)
            return qrun_errf(c->err, QRUN_E_MODEL, "Reshape: invalid dim %" PRId64, shape[i]);
        if (shape[i] != 0 && known > INT64_MAX / shape[i])
            return qrun_errf(c->err, QRUN_E_MODEL, "Reshape: shape overflows");
        known *= shape[i];
    }
    if (neg >= 0) {
        if (known == 0 || numel % known != 0)
            return qrun_errf(c->err, QRUN_E_MODEL,
                             "Reshape: cannot infer -1: %" PRId64
                             " elements into blocks of %" PRId64,
                             numel, known);
        shape[neg] = numel / known;
    } else if (known != numel) {
        return qrun_errf(c->err, QRUN_E_MODEL,
                         "Reshape: %" PRId64 " elements cannot take a shape of %" PRId64, numel,
                         known);
    }
    return qrun_infer_set_output(c, 0, x->dtype, (int)n, shape);
}

qrun_status qrun_infer_flatten(qrun_infer_ctx *c) {
    const struct qrun_tensor *x = c->inputs[0];
    int64_t axis = qrun_node_attr_int(c->node, "axis", 1);
    if (axis < 0)
        axis += x->rank;
    if (axis < 0 || axis > x->rank)
        return qrun_errf(c->err, QRUN_E_MODEL, "Flatten: axis out of range for rank %d", x->rank);
    int64_t dims[2] = {qrun_shape_numel((int)axis, x->dims),
                       qrun_shape_numel(x->rank - (int)axis, x->dims + axis)};
    return qrun_infer_set_output(c, 0, x->dtype, 2, dims);
}

/* ---- Transpose ----------------------------------------------------------- */

qrun_status qrun_transpose_perm(const qrun_node *n, int rank, int *perm, qrun_err *err) {
    const int64_t *p = NULL;
    size_t np = qrun_node_attr_ints(n, "perm", &p);
    if (!qrun_node_attr(n, "perm")) {
        for (int i = 0; i < rank; i++)
            perm[i] = rank - 1 - i;
        return QRUN_OK;
    }
    if ((int)np != rank)
        return qrun_errf(err, QRUN_E_MODEL, "Transpose: perm has %zu entries for rank %d", np,
                         rank);
    bool seen[QRUN_MAX_RANK] = {false};
    for (int i = 0; i < rank; i++) {
        int64_t a = p[i] < 0 ? p[i] + rank : p[i];
        if (a < 0 || a >= rank || seen[a])
            return qrun_errf(err, QRUN_E_MODEL, "Transpose: perm is not a permutation of 0..%d",
                             rank - 1);
        seen[a] = true;
        perm[i] = (int)a;
    }
    return QRUN_OK;
}

qrun_status qrun_infer_transpose(qrun_infer_ctx *c) {
    const struct qrun_tensor *x = c->inputs[0];
    int perm[QRUN_MAX_RANK];
    qrun_status s = qrun_transpose_perm(c->node, x->rank, perm, c->err);
    if (s)
        return s;
    int64_t dims[QRUN_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        dims[i] = x->dims[perm[i]];
    return qrun_infer_set_output(c, 0, x->dtype, x->rank, dims);
}

/* ---- Concat, Split ------------------------------------------------------- */

qrun_status qrun_infer_concat(qrun_infer_ctx *c) {
    const struct qrun_tensor *first = NULL;
    for (int i = 0; i < c->n_inputs && !first; i++)
        first = c->inputs[i];
    if (!first)
        return qrun_errf(c->err, QRUN_E_MODEL, "Concat: no inputs");
    if (c->node->opset >= 4 && !qrun_node_attr(c->node, "axis"))
        return qrun_errf(c->err, QRUN_E_MODEL, "Concat: attribute axis is required");
    int axis;
    qrun_status s =
        qrun_normalize_axis(qrun_node_attr_int(c->node, "axis", 1), first->rank, &axis, c->err);
    if (s)
        return s;
    int64_t dims[QRUN_MAX_RANK];
    memcpy(dims, first->dims, sizeof dims);
    dims[axis] = 0;
    for (int i = 0; i < c->n_inputs; i++) {
        const struct qrun_tensor *t = c->inputs[i];
        if (!t)
            continue;
        if (t->dtype != first->dtype || t->rank != first->rank)
            return qrun_errf(c->err, QRUN_E_MODEL, "Concat: input %d differs in dtype or rank", i);
        for (int d = 0; d < t->rank; d++) {
            if (d != axis && t->dims[d] != first->dims[d])
                return qrun_errf(c->err, QRUN_E_MODEL, "Concat: input %d differs on dim %d", i, d);
        }
        if (dims[axis] > INT64_MAX - t->dims[axis])
            return qrun_errf(c->err, QRUN_E_MODEL, "Concat: output dim overflows");
        dims[axis] += t->dims[axis];
    }
    return qrun_infer_set_output(c, 0, first->dtype, first->rank, dims);
}

qrun_status qrun_split_plan_make(const qrun_node *n,
                                 const struct qrun_tensor *const *in,
                                 int n_in,
                                 int n_out,
                                 int *axis,
                                 int64_t *sizes,
                                 bool *need_value,
                                 qrun_err *err) {
    const struct qrun_tensor *x = in[0];
    qrun_status s = qrun_normalize_axis(qrun_node_attr_int(n, "axis", 0), x->rank, axis, err);
    if (s)
        return s;
    int64_t dim = x->dims[*axis];
    size_t cnt = 0;
    bool present = false;
    s = mv_int_list(n, in, n_in, 1, "split", sizes, (size_t)n_out, &cnt, &present, need_value, err);
    if (s || *need_value)
        return s;
    if (present && cnt > 0) {
        if ((int)cnt != n_out)
            return qrun_errf(err, QRUN_E_MODEL, "Split: %zu sizes for %d outputs", cnt, n_out);
        int64_t sum = 0;
        for (size_t i = 0; i < cnt; i++) {
            if (sizes[i] < 0 || sizes[i] > dim - sum)
                return qrun_errf(err, QRUN_E_MODEL, "Split: sizes do not add up to %" PRId64, dim);
            sum += sizes[i];
        }
        if (sum != dim)
            return qrun_errf(err, QRUN_E_MODEL, "Split: sizes add up to %" PRId64 ", not %" PRId64,
                             sum, dim);
        return QRUN_OK;
    }
    const qrun_attr *num = qrun_node_attr(n, "num_outputs");
    if (num) {
        if (num->i != n_out || n_out <= 0)
            return qrun_errf(err, QRUN_E_MODEL, "Split: num_outputs %" PRId64 " but %d outputs",
                             num->i, n_out);
        /* Opset 18: chunks of ceil(dim / n), the last one smaller. */
        int64_t chunk = (dim + n_out - 1) / n_out;
        int64_t left = dim;
        for (int i = 0; i < n_out; i++) {
            sizes[i] = left < chunk ? left : chunk;
            left -= sizes[i];
        }
        return QRUN_OK;
    }
    if (n_out <= 0 || dim % n_out != 0)
        return qrun_errf(err, QRUN_E_MODEL, "Split: dim %" PRId64 " is not divisible into %d parts",
                         dim, n_out);
    for (int i = 0; i < n_out; i++)
        sizes[i] = dim / n_out;
    return QRUN_OK;
}

qrun_status qrun_infer_split(qrun_infer_ctx *c) {
    const struct qrun_tensor *x = c->inputs[0];
    int64_t sizes[256];
    if (c->n_outputs > 256)
        return qrun_errf(c->err, QRUN_E_UNSUPPORTED, "Split: %d outputs (max 256)", c->n_outputs);
    int axis;
    qrun_status s = qrun_split_plan_make(c->node, c->inputs, c->n_inputs, c->n_outputs, &axis,
                                         sizes, &c->need_value, c->err);
    if (s || c->need_value)
        return s;
    int64_t dims[QRUN_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    for (int i = 0; i < c->n_outputs; i++) {
        dims[axis] = sizes[i];
        s = qrun_infer_set_output(c, i, x->dtype, x->rank, dims);
        if (s)
            return s;
    }
    return QRUN_OK;
}

/* ---- Slice --------------------------------------------------------------- */

static int64_t mv_clamp(int64_t v, int64_t lo, int64_t hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

/* Number of elements of start, start+step, ... before end (ONNX Slice clamping rules). */
static void mv_slice_axis(int64_t dim, int64_t *start, int64_t end, int64_t step, int64_t *count) {
    int64_t s = *start, e = end;
    if (s < 0)
        s += dim;
    if (e < 0)
        e += dim;
    if (step > 0) {
        s = mv_clamp(s, 0, dim);
        e = mv_clamp(e, 0, dim);
        *count = e > s ? (e - s) / step + ((e - s) % step != 0) : 0;
    } else {
        s = mv_clamp(s, 0, dim - 1);
        e = mv_clamp(e, -1, dim - 1);
        /* -INT64_MIN overflows; any step beyond dim picks one element anyway. */
        int64_t m = step == INT64_MIN ? INT64_MAX : -step;
        *count = s > e ? (s - e) / m + ((s - e) % m != 0) : 0;
    }
    *start = s;
}

qrun_status qrun_slice_plan_make(const qrun_node *n,
                                 const struct qrun_tensor *const *in,
                                 int n_in,
                                 qrun_slice_plan *p,
                                 bool *need_value,
                                 qrun_err *err) {
    const struct qrun_tensor *x = in[0];
    int64_t starts[QRUN_MAX_RANK], ends[QRUN_MAX_RANK], axes[QRUN_MAX_RANK], steps[QRUN_MAX_RANK];
    size_t ns = 0, ne = 0, na = 0, nst = 0;
    bool ps = false, pe = false, pa = false, pst = false;
    qrun_status s;
    if ((s = mv_int_list(n, in, n_in, 1, "starts", starts, QRUN_MAX_RANK, &ns, &ps, need_value,
                         err)) ||
        (s = mv_int_list(n, in, n_in, 2, "ends", ends, QRUN_MAX_RANK, &ne, &pe, need_value, err)) ||
        (s = mv_int_list(n, in, n_in, 3, "axes", axes, QRUN_MAX_RANK, &na, &pa, need_value, err)) ||
        (s = mv_int_list(n, in, n_in, 4, NULL, steps, QRUN_MAX_RANK, &nst, &pst, need_value, err)))
        return s;
    if (*need_value)
        return QRUN_OK;
    if (!ps || !pe || ns != ne)
        return qrun_errf(err, QRUN_E_MODEL,
                         "Slice: starts and ends must be given with the same length");
    if ((pa && na != ns) || (pst && nst != ns))
        return qrun_errf(err, QRUN_E_MODEL, "Slice: axes/steps length differs from starts");
    p->rank = x->rank;
    for (int d = 0; d < x->rank; d++) {
        p->start[d] = 0;
        p->step[d] = 1;
        p->dims[d] = x->dims[d];
    }
    bool seen[QRUN_MAX_RANK] = {false};
    for (size_t i = 0; i < ns; i++) {
        int a;
        if ((s = qrun_normalize_axis(pa ? axes[i] : (int64_t)i, x->rank, &a, err)))
            return s;
        if (seen[a])
            return qrun_errf(err, QRUN_E_MODEL, "Slice: axis %d repeated", a);
        seen[a] = true;
        int64_t step = pst ? steps[i] : 1;
        if (step == 0)
            return qrun_errf(err, QRUN_E_MODEL, "Slice: step 0 on axis %d", a);
        p->start[a] = starts[i];
        p->step[a] = step;
        mv_slice_axis(x->dims[a], &p->start[a], ends[i], step, &p->dims[a]);
    }
    return QRUN_OK;
}

qrun_status qrun_infer_slice(qrun_infer_ctx *c) {
    qrun_slice_plan p;
    qrun_status s =
        qrun_slice_plan_make(c->node, c->inputs, c->n_inputs, &p, &c->need_value, c->err);
    if (s || c->need_value)
        return s;
    return qrun_infer_set_output(c, 0, c->inputs[0]->dtype, p.rank, p.dims);
}

/* ---- Squeeze, Unsqueeze -------------------------------------------------- */

qrun_status qrun_infer_squeeze(qrun_infer_ctx *c) {
    const struct qrun_tensor *x = c->inputs[0];
    int64_t axes[QRUN_MAX_RANK];
    size_t na = 0;
    bool present = false;
    qrun_status s = mv_int_list(c->node, c->inputs, c->n_inputs, 1, "axes", axes, QRUN_MAX_RANK,
                                &na, &present, &c->need_value, c->err);
    if (s || c->need_value)
        return s;
    bool drop[QRUN_MAX_RANK] = {false};
    for (size_t i = 0; i < na; i++) {
        int a;
        if ((s = qrun_normalize_axis(axes[i], x->rank, &a, c->err)))
            return s;
        if (x->dims[a] != 1)
            return qrun_errf(c->err, QRUN_E_MODEL, "Squeeze: dim %d is %" PRId64 ", not 1", a,
                             x->dims[a]);
        drop[a] = true;
    }
    int64_t dims[QRUN_MAX_RANK];
    int r = 0;
    for (int d = 0; d < x->rank; d++) {
        bool squeeze = present ? drop[d] : x->dims[d] == 1;
        if (!squeeze)
            dims[r++] = x->dims[d];
    }
    return qrun_infer_set_output(c, 0, x->dtype, r, dims);
}

qrun_status qrun_infer_unsqueeze(qrun_infer_ctx *c) {
    const struct qrun_tensor *x = c->inputs[0];
    int64_t axes[QRUN_MAX_RANK];
    size_t na = 0;
    bool present = false;
    qrun_status s = mv_int_list(c->node, c->inputs, c->n_inputs, 1, "axes", axes, QRUN_MAX_RANK,
                                &na, &present, &c->need_value, c->err);
    if (s || c->need_value)
        return s;
    if (!present)
        return qrun_errf(c->err, QRUN_E_MODEL, "Unsqueeze: axes are required");
    int r = x->rank + (int)na;
    if (r > QRUN_MAX_RANK)
        return qrun_errf(c->err, QRUN_E_UNSUPPORTED, "Unsqueeze: output rank %d exceeds %d", r,
                         QRUN_MAX_RANK);
    bool ins[QRUN_MAX_RANK] = {false};
    for (size_t i = 0; i < na; i++) {
        int a;
        if ((s = qrun_normalize_axis(axes[i], r, &a, c->err)))
            return s;
        if (ins[a])
            return qrun_errf(c->err, QRUN_E_MODEL, "Unsqueeze: axis %d repeated", a);
        ins[a] = true;
    }
    int64_t dims[QRUN_MAX_RANK];
    for (int d = 0, k = 0; d < r; d++)
        dims[d] = ins[d] ? 1 : x->dims[k++];
    return qrun_infer_set_output(c, 0, x->dtype, r, dims);
}

/* ---- Gather, Expand, Tile ------------------------------------------------ */

qrun_status qrun_infer_gather(qrun_infer_ctx *c) {
    const struct qrun_tensor *x = c->inputs[0], *idx = c->inputs[1];
    if (idx->dtype != QRUN_DTYPE_INT32 && idx->dtype != QRUN_DTYPE_INT64)
        return qrun_errf(c->err, QRUN_E_MODEL, "Gather: indices must be int32 or int64");
    int axis;
    qrun_status s =
        qrun_normalize_axis(qrun_node_attr_int(c->node, "axis", 0), x->rank, &axis, c->err);
    if (s)
        return s;
    int r = x->rank - 1 + idx->rank;
    if (r > QRUN_MAX_RANK)
        return qrun_errf(c->err, QRUN_E_UNSUPPORTED, "Gather: output rank %d exceeds %d", r,
                         QRUN_MAX_RANK);
    int64_t dims[QRUN_MAX_RANK];
    int k = 0;
    for (int d = 0; d < axis; d++)
        dims[k++] = x->dims[d];
    for (int d = 0; d < idx->rank; d++)
        dims[k++] = idx->dims[d];
    for (int d = axis + 1; d < x->rank; d++)
        dims[k++] = x->dims[d];
    return qrun_infer_set_output(c, 0, x->dtype, r, dims);
}

qrun_status qrun_infer_expand(qrun_infer_ctx *c) {
    const struct qrun_tensor *x = c->inputs[0];
    struct qrun_tensor shape = {0};
    size_t n = 0;
    bool present = false;
    qrun_status s = mv_int_list(c->node, c->inputs, c->n_inputs, 1, NULL, shape.dims, QRUN_MAX_RANK,
                                &n, &present, &c->need_value, c->err);
    if (s || c->need_value)
        return s;
    if (!present)
        return qrun_errf(c->err, QRUN_E_MODEL, "Expand: no shape given");
    shape.rank = (int)n;
    for (size_t i = 0; i < n; i++) {
        if (shape.dims[i] < 0)
            return qrun_errf(c->err, QRUN_E_MODEL, "Expand: negative dim %" PRId64, shape.dims[i]);
    }
    const struct qrun_tensor *pair[2] = {x, &shape};
    int64_t dims[QRUN_MAX_RANK];
    int r;
    if ((s = qrun_broadcast_shapes(2, pair, &r, dims, c->err)))
        return s;
    return qrun_infer_set_output(c, 0, x->dtype, r, dims);
}

qrun_status qrun_infer_tile(qrun_infer_ctx *c) {
    const struct qrun_tensor *x = c->inputs[0];
    int64_t reps[QRUN_MAX_RANK];
    size_t n = 0;
    bool present = false;
    qrun_status s;
    if (c->n_inputs >= 3 && c->inputs[2]) {
        /* Tile-1: a scalar count `tiles` along one `axis`. */
        const struct qrun_tensor *tiles = c->inputs[1], *ax = c->inputs[2];
        if (!tiles || !tiles->data || !ax->data) {
            c->need_value = true;
            return QRUN_OK;
        }
        int a;
        if ((s = qrun_normalize_axis(qrun_dtype_get_i64(ax->dtype, ax->data, 0), x->rank, &a,
                                     c->err)))
            return s;
        for (int d = 0; d < x->rank; d++)
            reps[d] = d == a ? qrun_dtype_get_i64(tiles->dtype, tiles->data, 0) : 1;
        n = (size_t)x->rank;
    } else {
        s = mv_int_list(c->node, c->inputs, c->n_inputs, 1, NULL, reps, QRUN_MAX_RANK, &n, &present,
                        &c->need_value, c->err);
        if (s || c->need_value)
            return s;
        if (!present)
            return qrun_errf(c->err, QRUN_E_MODEL, "Tile: no repeats given");
    }
    if ((int)n != x->rank)
        return qrun_errf(c->err, QRUN_E_MODEL, "Tile: %zu repeats for rank %d", n, x->rank);
    int64_t dims[QRUN_MAX_RANK];
    for (int d = 0; d < x->rank; d++) {
        if (reps[d] < 0)
            return qrun_errf(c->err, QRUN_E_MODEL, "Tile: negative repeat %" PRId64, reps[d]);
        if (reps[d] != 0 && x->dims[d] > INT64_MAX / reps[d])
            return qrun_errf(c->err, QRUN_E_MODEL, "Tile: output dim overflows");
        dims[d] = x->dims[d] * reps[d];
    }
    return qrun_infer_set_output(c, 0, x->dtype, x->rank, dims);
}

/* ---- Pad ----------------------------------------------------------------- */

static qrun_status mv_pad_mode(const qrun_node *n, qrun_pad_mode *mode, qrun_err *err) {
    const char *m = qrun_node_attr_string(n, "mode", "constant");
    static const char *const names[] = {"constant", "reflect", "edge", "wrap"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(m, names[i]) == 0) {
            *mode = (qrun_pad_mode)i;
            return QRUN_OK;
        }
    }
    return qrun_errf(err, QRUN_E_MODEL, "Pad: unknown mode '%s'", m);
}

qrun_status qrun_pad_plan_make(const qrun_node *n,
                               const struct qrun_tensor *const *in,
                               int n_in,
                               qrun_pad_plan *p,
                               bool *need_value,
                               qrun_err *err) {
    const struct qrun_tensor *x = in[0];
    qrun_status s = mv_pad_mode(n, &p->mode, err);
    if (s)
        return s;
    int64_t pads[2 * QRUN_MAX_RANK], axes[QRUN_MAX_RANK];
    size_t np = 0, na = 0;
    bool pp = false, pa = false;
    const char *attr = qrun_node_attr(n, "paddings") ? "paddings" : "pads";
    if ((s = mv_int_list(n, in, n_in, 1, attr, pads, 2 * QRUN_MAX_RANK, &np, &pp, need_value,
                         err)) ||
        (s = mv_int_list(n, in, n_in, 3, NULL, axes, QRUN_MAX_RANK, &na, &pa, need_value, err)))
        return s;
    if (*need_value)
        return QRUN_OK;
    if (!pp)
        return qrun_errf(err, QRUN_E_MODEL, "Pad: no pads given");
    if (!pa) {
        na = (size_t)x->rank;
        for (int d = 0; d < x->rank; d++)
            axes[d] = d;
    }
    if (np != 2 * na)
        return qrun_errf(err, QRUN_E_MODEL, "Pad: %zu pads for %zu axes", np, na);
    p->rank = x->rank;
    for (int d = 0; d < x->rank; d++)
        p->begin[d] = p->end[d] = 0;
    for (size_t i = 0; i < na; i++) {
        int a;
        if ((s = qrun_normalize_axis(axes[i], x->rank, &a, err)))
            return s;
        p->begin[a] = pads[i];
        p->end[a] = pads[na + i];
    }
    for (int d = 0; d < x->rank; d++) {
        int64_t dim = x->dims[d], b = p->begin[d], e = p->end[d];
        /* Pads are bounded by the int64 range of the file; keep the sum in range. */
        if (b < -dim || e < -dim || b > INT64_MAX / 4 || e > INT64_MAX / 4 || dim + b + e < 0)
            return qrun_errf(err, QRUN_E_MODEL,
                             "Pad: pads %" PRId64 ", %" PRId64 " invalid for dim %" PRId64, b, e,
                             dim);
        if (p->mode != QRUN_PAD_CONSTANT && dim == 0 && (b > 0 || e > 0))
            return qrun_errf(err, QRUN_E_MODEL, "Pad: cannot pad an empty axis in this mode");
        p->dims[d] = dim + b + e;
    }
    return QRUN_OK;
}

qrun_status qrun_infer_pad(qrun_infer_ctx *c) {
    qrun_pad_plan p;
    qrun_status s = qrun_pad_plan_make(c->node, c->inputs, c->n_inputs, &p, &c->need_value, c->err);
    if (s || c->need_value)
        return s;
    return qrun_infer_set_output(c, 0, c->inputs[0]->dtype, p.rank, p.dims);
}

/* ---- Resize -------------------------------------------------------------- */

static int mv_lookup(const char *s, const char *const *names, int n) {
    for (int i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0)
            return i;
    }
    return -1;
}

static qrun_status mv_resize_attrs(const qrun_node *n, qrun_resize_plan *p, qrun_err *err) {
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const coords[] = {
        "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
        "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
    static const char *const nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                          "ceil"};
    bool v10 = n->opset < 11;
    const char *m = qrun_node_attr_string(n, "mode", "nearest");
    const char *ct = qrun_node_attr_string(n, "coordinate_transformation_mode",
                                           v10 ? "asymmetric" : "half_pixel");
    const char *nm = qrun_node_attr_string(n, "nearest_mode", "round_prefer_floor");
    int im = mv_lookup(m, modes, 3), ic = mv_lookup(ct, coords, 7), in = mv_lookup(nm, nearest, 4);
    if (im < 0 || ic < 0 || in < 0)
        return qrun_errf(err, QRUN_E_MODEL, "Resize: unknown mode '%s', '%s' or '%s'", m, ct, nm);
    p->mode = (qrun_resize_mode)im;
    p->coord = (qrun_resize_coord)ic;
    p->nearest = v10 ? QRUN_RESIZE_SIMPLE : (qrun_resize_nearest)in;
    p->cubic_a = qrun_node_attr_float(n, "cubic_coeff_a", -0.75f);
    p->exclude_outside = qrun_node_attr_int(n, "exclude_outside", 0) != 0;
    p->antialias = qrun_node_attr_int(n, "antialias", 0) != 0 && p->mode != QRUN_RESIZE_NEAREST;
    p->extrapolation = qrun_node_attr_float(n, "extrapolation_value", 0.0f);
    return QRUN_OK;
}

/* Output dims and scales from `sizes`, honouring keep_aspect_ratio_policy (opset 18). */
static qrun_status mv_resize_from_sizes(const qrun_node *n,
                                        const struct qrun_tensor *x,
                                        const int *ax,
                                        int na,
                                        const int64_t *sizes,
                                        qrun_resize_plan *p,
                                        qrun_err *err) {
    const char *pol = qrun_node_attr_string(n, "keep_aspect_ratio_policy", "stretch");
    bool stretch = strcmp(pol, "stretch") == 0, larger = strcmp(pol, "not_smaller") == 0;
    if (!stretch && !larger && strcmp(pol, "not_larger") != 0)
        return qrun_errf(err, QRUN_E_MODEL, "Resize: unknown keep_aspect_ratio_policy '%s'", pol);
    for (int i = 0; i < na; i++) {
        if (sizes[i] < 0)
            return qrun_errf(err, QRUN_E_MODEL, "Resize: negative size %" PRId64, sizes[i]);
    }
    if (stretch) {
        for (int i = 0; i < na; i++) {
            int64_t in = x->dims[ax[i]];
            p->dims[ax[i]] = sizes[i];
            p->scale[ax[i]] = in ? (float)sizes[i] / (float)in : 1.0f;
            p->length[ax[i]] = (double)sizes[i];
        }
        return QRUN_OK;
    }
    float s = larger ? 0.0f : INFINITY;
    for (int i = 0; i < na; i++) {
        int64_t in = x->dims[ax[i]];
        float r = in ? (float)sizes[i] / (float)in : 1.0f;
        s = larger ? fmaxf(s, r) : fminf(s, r);
    }
    for (int i = 0; i < na; i++) {
        p->length[ax[i]] = (double)s * (double)x->dims[ax[i]];
        p->dims[ax[i]] = (int64_t)floor(p->length[ax[i]] + 0.5);
        p->scale[ax[i]] = s;
    }
    return QRUN_OK;
}

static qrun_status mv_resize_roi(
    const struct qrun_tensor *roi, const int *ax, int na, qrun_resize_plan *p, qrun_err *err) {
    p->roi_known = true;
    if (!roi || qrun_shape_numel(roi->rank, roi->dims) == 0)
        return QRUN_OK;
    if (!roi->data) {
        p->roi_known = false;
        return QRUN_OK;
    }
    float v[2 * QRUN_MAX_RANK];
    size_t n = 0;
    qrun_status s = qrun_tensor_read_floats(roi, v, 2 * QRUN_MAX_RANK, &n, err);
    if (s)
        return s;
    if (n != (size_t)(2 * na))
        return qrun_errf(err, QRUN_E_MODEL, "Resize: roi has %zu values for %d axes", n, na);
    for (int i = 0; i < na; i++) {
        p->roi_start[ax[i]] = v[i];
        p->roi_end[ax[i]] = v[na + i];
    }
    return QRUN_OK;
}

qrun_status qrun_resize_plan_make(const qrun_node *n,
                                  const struct qrun_tensor *const *in,
                                  int n_in,
                                  qrun_resize_plan *p,
                                  bool *need_value,
                                  qrun_err *err) {
    const struct qrun_tensor *x = in[0];
    qrun_status s = mv_resize_attrs(n, p, err);
    if (s)
        return s;
    p->rank = x->rank;
    for (int d = 0; d < x->rank; d++) {
        p->dims[d] = x->dims[d];
        p->scale[d] = 1.0f;
        p->length[d] = (double)x->dims[d];
        p->roi_start[d] = 0.0f;
        p->roi_end[d] = 1.0f;
    }
    int ax[QRUN_MAX_RANK], na = x->rank;
    const int64_t *axv = NULL;
    size_t nav = qrun_node_attr_ints(n, "axes", &axv);
    if (qrun_node_attr(n, "axes")) {
        bool seen[QRUN_MAX_RANK] = {false};
        if (nav > (size_t)x->rank)
            return qrun_errf(err, QRUN_E_MODEL, "Resize: %zu axes for rank %d", nav, x->rank);
        na = (int)nav;
        for (int i = 0; i < na; i++) {
            if ((s = qrun_normalize_axis(axv[i], x->rank, &ax[i], err)))
                return s;
            if (seen[ax[i]])
                return qrun_errf(err, QRUN_E_MODEL, "Resize: axis %d repeated", ax[i]);
            seen[ax[i]] = true;
        }
    } else {
        for (int i = 0; i < na; i++)
            ax[i] = i;
    }
    bool v10 = n->opset < 11;
    const struct qrun_tensor *roi = v10 ? NULL : mv_input(in, n_in, 1);
    const struct qrun_tensor *scales = mv_input(in, n_in, v10 ? 1 : 2);
    const struct qrun_tensor *sizes = v10 ? NULL : mv_input(in, n_in, 3);
    if (scales && qrun_shape_numel(scales->rank, scales->dims) == 0)
        scales = NULL;
    if (sizes && qrun_shape_numel(sizes->rank, sizes->dims) == 0)
        sizes = NULL;
    if (!scales == !sizes)
        return qrun_errf(err, QRUN_E_MODEL,
                         "Resize: exactly one of scales and sizes must be given");
    if ((s = mv_resize_roi(roi, ax, na, p, err)))
        return s;
    const struct qrun_tensor *v = scales ? scales : sizes;
    if (!v->data) {
        *need_value = true;
        return QRUN_OK;
    }
    if (qrun_shape_numel(v->rank, v->dims) != na)
        return qrun_errf(err, QRUN_E_MODEL, "Resize: %s has %" PRId64 " values for %d axes",
                         scales ? "scales" : "sizes", qrun_shape_numel(v->rank, v->dims), na);
    if (sizes) {
        int64_t sz[QRUN_MAX_RANK];
        size_t cnt = 0;
        if ((s = qrun_tensor_read_ints(sizes, sz, QRUN_MAX_RANK, &cnt, err)))
            return s;
        return mv_resize_from_sizes(n, x, ax, na, sz, p, err);
    }
    float sc[QRUN_MAX_RANK];
    size_t cnt = 0;
    if ((s = qrun_tensor_read_floats(scales, sc, QRUN_MAX_RANK, &cnt, err)))
        return s;
    for (int i = 0; i < na; i++) {
        double out = (double)sc[i] * (double)x->dims[ax[i]];
        if (!(sc[i] > 0.0f) || !(out < 9.0e15))
            return qrun_errf(err, QRUN_E_MODEL, "Resize: invalid scale %g", (double)sc[i]);
        p->dims[ax[i]] = (int64_t)out;
        p->scale[ax[i]] = sc[i];
        p->length[ax[i]] = out;
    }
    return QRUN_OK;
}

qrun_status qrun_infer_resize(qrun_infer_ctx *c) {
    qrun_resize_plan p;
    qrun_status s =
        qrun_resize_plan_make(c->node, c->inputs, c->n_inputs, &p, &c->need_value, c->err);
    if (s || c->need_value)
        return s;
    return qrun_infer_set_output(c, 0, c->inputs[0]->dtype, p.rank, p.dims);
}

/* ---- Shape, Size, Constant, ConstantOfShape ------------------------------ */

qrun_status qrun_infer_shape(qrun_infer_ctx *c) {
    int r = c->inputs[0]->rank;
    int64_t start = qrun_node_attr_int(c->node, "start", 0);
    int64_t end = qrun_node_attr_int(c->node, "end", r);
    start = mv_clamp(start < 0 ? start + r : start, 0, r);
    end = mv_clamp(end < 0 ? end + r : end, 0, r);
    int64_t len = end > start ? end - start : 0;
    return qrun_infer_set_output(c, 0, QRUN_DTYPE_INT64, 1, &len);
}

qrun_status qrun_infer_size(qrun_infer_ctx *c) {
    return qrun_infer_set_output(c, 0, QRUN_DTYPE_INT64, 0, NULL);
}

qrun_status qrun_infer_constant(qrun_infer_ctx *c) {
    const qrun_attr *a = qrun_node_attr(c->node, "value");
    if (!a || a->type != QRUN_ATTR_TENSOR || !a->t)
        return qrun_errf(c->err, QRUN_E_UNSUPPORTED, "Constant: only tensor values are supported");
    return qrun_infer_set_output(c, 0, a->t->dtype, a->t->rank, a->t->dims);
}

qrun_status qrun_infer_constant_of_shape(qrun_infer_ctx *c) {
    int64_t dims[QRUN_MAX_RANK];
    size_t n = 0;
    bool present = false;
    qrun_status s = mv_int_list(c->node, c->inputs, c->n_inputs, 0, NULL, dims, QRUN_MAX_RANK, &n,
                                &present, &c->need_value, c->err);
    if (s || c->need_value)
        return s;
    for (size_t i = 0; i < n; i++) {
        if (dims[i] < 0)
            return qrun_errf(c->err, QRUN_E_MODEL, "ConstantOfShape: negative dim %" PRId64,
                             dims[i]);
    }
    qrun_dtype dt = QRUN_DTYPE_FLOAT;
    const qrun_attr *a = qrun_node_attr(c->node, "value");
    if (a) {
        if (a->type != QRUN_ATTR_TENSOR || !a->t || qrun_shape_numel(a->t->rank, a->t->dims) != 1)
            return qrun_errf(c->err, QRUN_E_MODEL,
                             "ConstantOfShape: value must be a one-element tensor");
        dt = a->t->dtype;
    }
    return qrun_infer_set_output(c, 0, dt, (int)n, dims);
}

/* ---- Dropout, Range ------------------------------------------------------ */

qrun_status qrun_infer_dropout(qrun_infer_ctx *c) {
    const struct qrun_tensor *x = c->inputs[0];
    qrun_status s = qrun_infer_set_output(c, 0, x->dtype, x->rank, x->dims);
    if (s || c->n_outputs < 2)
        return s;
    /* Dropout-7..9 returns the mask in the input's type; 10+ as BOOL. */
    qrun_dtype mt = c->node->opset >= 10 ? QRUN_DTYPE_BOOL : x->dtype;
    return qrun_infer_set_output(c, 1, mt, x->rank, x->dims);
}

/* Element count of Range(start, limit, delta) in integer arithmetic without overflow. */
static qrun_status
mv_range_count_int(int64_t start, int64_t limit, int64_t delta, int64_t *n, qrun_err *err) {
    uint64_t span, step;
    if (delta == 0)
        return qrun_errf(err, QRUN_E_MODEL, "Range: delta is 0");
    if (delta > 0) {
        if (limit <= start) {
            *n = 0;
            return QRUN_OK;
        }
        span = (uint64_t)limit - (uint64_t)start;
        step = (uint64_t)delta;
    } else {
        if (limit >= start) {
            *n = 0;
            return QRUN_OK;
        }
        span = (uint64_t)start - (uint64_t)limit;
        step = (uint64_t)(-(delta + 1)) + 1u;
    }
    uint64_t cnt = span / step + (span % step != 0);
    if (cnt > (uint64_t)MV_MAX_RANGE)
        return qrun_errf(err, QRUN_E_MODEL, "Range: %" PRIu64 " elements is too many", cnt);
    *n = (int64_t)cnt;
    return QRUN_OK;
}

qrun_status qrun_infer_range(qrun_infer_ctx *c) {
    const struct qrun_tensor *st = c->inputs[0], *li = c->inputs[1], *de = c->inputs[2];
    if (st->dtype != li->dtype || st->dtype != de->dtype)
        return qrun_errf(c->err, QRUN_E_MODEL, "Range: start, limit and delta differ in dtype");
    for (int i = 0; i < 3; i++) {
        if (qrun_shape_numel(c->inputs[i]->rank, c->inputs[i]->dims) != 1)
            return qrun_errf(c->err, QRUN_E_MODEL, "Range: input %d is not a scalar", i);
    }
    if (!st->data || !li->data || !de->data) {
        c->need_value = true;
        return QRUN_OK;
    }
    qrun_dtype dt = st->dtype;
    int64_t n = 0;
    if (qrun_dtype_is_integer(dt)) {
        qrun_status s = mv_range_count_int(qrun_dtype_get_i64(dt, st->data, 0),
                                           qrun_dtype_get_i64(dt, li->data, 0),
                                           qrun_dtype_get_i64(dt, de->data, 0), &n, c->err);
        if (s)
            return s;
    } else if (qrun_dtype_is_float(dt)) {
        const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(dt);
        double a = tr->get(st->data, 0), b = tr->get(li->data, 0), d = tr->get(de->data, 0);
        if (d == 0.0)
            return qrun_errf(c->err, QRUN_E_MODEL, "Range: delta is 0");
        double cnt = ceil((b - a) / d);
        if (!(cnt <= (double)MV_MAX_RANGE))
            return qrun_errf(c->err, QRUN_E_MODEL, "Range: %g elements is too many or not finite",
                             cnt);
        n = cnt > 0 ? (int64_t)cnt : 0;
    } else {
        return qrun_errf(c->err, QRUN_E_MODEL, "Range: unsupported dtype %s",
                         qrun_dtype_traits_get(dt)->name);
    }
    return qrun_infer_set_output(c, 0, dt, 1, &n);
}
