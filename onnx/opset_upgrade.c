/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Opset upgrade of ai.onnx nodes: a table of the versions at which an op's
 * signature changed (attribute -> input, changed defaults or semantics), each
 * with a step that rewrites a node from the previous meaning to the new one,
 * or refuses. Version bumps not in the table only added types or optional
 * attributes/inputs whose defaults keep the old meaning.
 */
#include "onnx/onnx_writer.h"
#include "runtime/alloc.h"
#include "runtime/dtype.h"

#include <float.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef struct up_ctx {
    qrun_graph *g;
    int64_t target;
    const onnx_value_type *types;
    int n_types;
    qrun_err *err;
} up_ctx;

typedef qrun_status (*up_step_fn)(up_ctx *c, int node);

static qrun_status up_nomem(up_ctx *c, int node) {
    return qrun_errf(c->err, QRUN_E_NOMEM, "node '%s': out of memory during the opset upgrade",
                     c->g->nodes[node].name);
}

static qrun_status up_refuse(up_ctx *c, int node, const char *why) {
    const qrun_node *n = &c->g->nodes[node];
    return qrun_errf(c->err, QRUN_E_UNSUPPORTED,
                     "node '%s' (%s, opset %" PRId64 ") cannot be upgraded to opset %" PRId64
                     ": %s",
                     n->name, n->op_type, n->opset, c->target, why);
}

/* Type of value v as it was before the upgrade; NULL when unknown. */
static const onnx_value_type *up_type(const up_ctx *c, int v) {
    if (v < 0 || v >= c->n_types || !c->types)
        return NULL;
    const onnx_value_type *t = &c->types[v];
    return t->dtype == QRUN_DTYPE_UNDEFINED && t->rank < 0 ? NULL : t;
}

/* Input i of node set to v, growing the list with omitted ("") inputs as needed. */
static qrun_status up_set_input(up_ctx *c, int node, int i, int v) {
    const qrun_node *n = &c->g->nodes[node];
    int cnt = n->n_inputs > i ? n->n_inputs : i + 1;
    int buf[16];
    if (cnt > 16)
        return up_refuse(c, node, "too many inputs");
    for (int k = 0; k < cnt; k++)
        buf[k] = k < n->n_inputs ? n->inputs[k] : -1;
    buf[i] = v;
    return qrun_node_set_inputs(c->g, node, cnt, buf) ? up_nomem(c, node) : QRUN_OK;
}

/* A constant named after the node holding data; its index or -1. */
static int up_const(up_ctx *c,
                    int node,
                    const char *what,
                    qrun_dtype dt,
                    int rank,
                    const int64_t *dims,
                    const void *data) {
    char base[320];
    snprintf(base, sizeof base, "%.256s_%s", c->g->nodes[node].name, what);
    return qrun_graph_add_constant(c->g, base, dt, rank, dims, data);
}

/* The INTS attribute `attr` becomes int64 input `idx` (when the node has it); attr removed. */
static qrun_status up_ints_attr_to_input(up_ctx *c, int node, const char *attr, int idx) {
    const int64_t *vals = NULL;
    size_t n = qrun_node_attr_ints(&c->g->nodes[node], attr, &vals);
    if (!qrun_node_attr(&c->g->nodes[node], attr))
        return QRUN_OK;
    int64_t dims[1] = {(int64_t)n};
    int v = up_const(c, node, attr, QRUN_DTYPE_INT64, 1, dims, vals);
    if (v < 0)
        return up_nomem(c, node);
    qrun_node_remove_attr(c->g, node, attr);
    return up_set_input(c, node, idx, v);
}

/* A scalar constant of dtype dt holding x (rounded and saturated as the format does). */
static int up_scalar(up_ctx *c, int node, const char *what, qrun_dtype dt, double x) {
    uint8_t buf[16] = {0};
    qrun_dtype_traits_get(dt)->set(buf, 0, x, true);
    return up_const(c, node, what, dt, 0, NULL, buf);
}

/* The FLOAT attribute `attr` becomes scalar input idx of input 0's dtype; absent: left omitted. */
static qrun_status up_float_attr_to_input(up_ctx *c, int node, const char *attr, int idx) {
    const qrun_attr *a = qrun_node_attr(&c->g->nodes[node], attr);
    if (!a)
        return QRUN_OK;
    const onnx_value_type *t = up_type(c, qrun_node_input(&c->g->nodes[node], 0));
    if (!t || t->dtype == QRUN_DTYPE_UNDEFINED)
        return up_refuse(c, node, "the dtype of its input is not known");
    int v = up_scalar(c, node, attr, t->dtype, a->f);
    if (v < 0)
        return up_nomem(c, node);
    qrun_node_remove_attr(c->g, node, attr);
    return up_set_input(c, node, idx, v);
}

static qrun_status up_set_string(up_ctx *c, int node, const char *attr, const char *v) {
    qrun_node_remove_attr(c->g, node, attr);
    return qrun_node_add_attr_string(c->g, node, attr, v) ? up_nomem(c, node) : QRUN_OK;
}

static qrun_status up_set_int(up_ctx *c, int node, const char *attr, int64_t v) {
    qrun_node_remove_attr(c->g, node, attr);
    return qrun_node_add_attr_int(c->g, node, attr, v) ? up_nomem(c, node) : QRUN_OK;
}

/* ---- steps ------------------------------------------------------------- */

/* Squeeze/Unsqueeze/ReduceSum at 13, the other Reduce ops at 18: axes attribute -> input 1. */
static qrun_status up_axes(up_ctx *c, int node) {
    return up_ints_attr_to_input(c, node, "axes", 1);
}

/* Split 13: split attribute -> input 1. */
static qrun_status up_split_13(up_ctx *c, int node) {
    return up_ints_attr_to_input(c, node, "split", 1);
}

/* Split 18: without a split input, num_outputs is required (equal parts, as before). */
static qrun_status up_split_18(up_ctx *c, int node) {
    const qrun_node *n = &c->g->nodes[node];
    if (qrun_node_input(n, 1) >= 0)
        return QRUN_OK;
    return up_set_int(c, node, "num_outputs", n->n_outputs);
}

/*
 * Softmax/LogSoftmax/Hardmax 13: before, the input was coerced to 2-D at
 * `axis` (default 1) and normalised over the flattened tail; from 13 over
 * `axis` only (default -1). Equal exactly when every dimension after axis is
 * 1 (axis the last dimension, or e.g. [N, C, 1, 1] at axis 1).
 */
static qrun_status up_softmax_13(up_ctx *c, int node) {
    const qrun_node *n = &c->g->nodes[node];
    const onnx_value_type *t = up_type(c, qrun_node_input(n, 0));
    if (!t || t->rank < 0)
        return up_refuse(c, node,
                         "the rank of its input is not known, so the axis meaning "
                         "change at opset 13 cannot be checked");
    int64_t axis = qrun_node_attr_int(n, "axis", 1);
    if (axis < 0)
        axis += t->rank;
    for (int d = (int)axis + 1; d < t->rank; d++) {
        if (t->dims[d] == 1)
            continue;
        char why[240];
        snprintf(why, sizeof why,
                 "axis %" PRId64 " of a rank-%d input normalises over the flattened dimensions "
                 "%" PRId64 "..%d before opset 13 and over one dimension after (dimension %d is "
                 "%s)",
                 axis, t->rank, axis, t->rank - 1, d, t->dims[d] < 0 ? "not known" : "not 1");
        return up_refuse(c, node, why);
    }
    return up_set_int(c, node, "axis", t->rank > 0 && axis == t->rank - 1 ? -1 : axis);
}

/* Clip 11: min/max attributes -> inputs 1 and 2 (absent stays absent: no bound either way). */
static qrun_status up_clip_11(up_ctx *c, int node) {
    qrun_status st = up_float_attr_to_input(c, node, "min", 1);
    return st ? st : up_float_attr_to_input(c, node, "max", 2);
}

/* Pad 11: pads attribute -> input 1, value attribute -> input 2. */
static qrun_status up_pad_11(up_ctx *c, int node) {
    if (qrun_node_attr(&c->g->nodes[node], "paddings"))
        return up_refuse(c, node, "Pad-1 'paddings' is not converted");
    qrun_status st = up_ints_attr_to_input(c, node, "pads", 1);
    return st ? st : up_float_attr_to_input(c, node, "value", 2);
}

/* Dropout 7 and BatchNormalization 7: is_test went away (qrun and ONNX runtimes infer). */
static qrun_status up_drop_is_test(up_ctx *c, int node) {
    qrun_node_remove_attr(c->g, node, "is_test");
    return QRUN_OK;
}

/* Dropout 12: ratio attribute -> input 1 (float32 scalar; inference ignores it). */
static qrun_status up_dropout_12(up_ctx *c, int node) {
    const qrun_attr *a = qrun_node_attr(&c->g->nodes[node], "ratio");
    if (!a)
        return QRUN_OK;
    int v = up_scalar(c, node, "ratio", QRUN_DTYPE_FLOAT, a->f);
    if (v < 0)
        return up_nomem(c, node);
    qrun_node_remove_attr(c->g, node, "ratio");
    return up_set_input(c, node, 1, v);
}

/* BatchNormalization 9: spatial went away; 1 (per-channel statistics) is what remains. */
static qrun_status up_bn_9(up_ctx *c, int node) {
    if (qrun_node_attr_int(&c->g->nodes[node], "spatial", 1) != 1)
        return up_refuse(c, node, "spatial = 0 (per-element statistics) has no opset-9 form");
    qrun_node_remove_attr(c->g, node, "spatial");
    return QRUN_OK;
}

/* BatchNormalization 14: the optional training outputs changed meaning. */
static qrun_status up_bn_14(up_ctx *c, int node) {
    const qrun_node *n = &c->g->nodes[node];
    for (int o = 1; o < n->n_outputs; o++) {
        if (n->outputs[o] >= 0)
            return up_refuse(c, node, "its training-mode outputs changed meaning at opset 14");
    }
    return QRUN_OK;
}

/* Add, Mul, Gemm, ... 7: the legacy broadcast/axis attributes became numpy broadcasting. */
static qrun_status up_legacy_broadcast(up_ctx *c, int node) {
    const qrun_node *n = &c->g->nodes[node];
    if (qrun_node_attr_int(n, "broadcast", 0) != 0 && qrun_node_attr(n, "axis") &&
        strcmp(n->op_type, "Gemm") != 0)
        return up_refuse(c, node, "legacy broadcasting along 'axis' has no opset-7 form");
    qrun_node_remove_attr(c->g, node, "broadcast");
    if (strcmp(n->op_type, "Gemm") != 0)
        qrun_node_remove_attr(c->g, node, "axis");
    return QRUN_OK;
}

/* Concat 4: axis became required; it defaulted to 1. */
static qrun_status up_concat_4(up_ctx *c, int node) {
    if (qrun_node_attr(&c->g->nodes[node], "axis"))
        return QRUN_OK;
    return up_set_int(c, node, "axis", 1);
}

/* Slice 10: starts/ends/axes attributes -> inputs 1..3. */
static qrun_status up_slice_10(up_ctx *c, int node) {
    qrun_status st = up_ints_attr_to_input(c, node, "starts", 1);
    if (!st)
        st = up_ints_attr_to_input(c, node, "ends", 2);
    if (!st)
        st = up_ints_attr_to_input(c, node, "axes", 3);
    return st;
}

/* TopK 10: k attribute -> input 1 (int64 [1]). */
static qrun_status up_topk_10(up_ctx *c, int node) {
    const qrun_attr *a = qrun_node_attr(&c->g->nodes[node], "k");
    if (!a)
        return up_refuse(c, node, "it has no 'k'");
    int64_t dims[1] = {1};
    int v = up_const(c, node, "k", QRUN_DTYPE_INT64, 1, dims, &a->i);
    if (v < 0)
        return up_nomem(c, node);
    qrun_node_remove_attr(c->g, node, "k");
    return up_set_input(c, node, 1, v);
}

/* Upsample (deprecated at 10) -> Resize-10: same inputs (scales attribute of Upsample-7 ->
 * input). */
static qrun_status up_upsample_10(up_ctx *c, int node) {
    const qrun_node *n = &c->g->nodes[node];
    if (n->opset < 7)
        return up_refuse(c, node, "Upsample before opset 7 (experimental) is not converted");
    const float *scales = NULL;
    size_t ns = qrun_node_attr_floats(n, "scales", &scales);
    if (ns) {
        int64_t dims[1] = {(int64_t)ns};
        int v = up_const(c, node, "scales", QRUN_DTYPE_FLOAT, 1, dims, scales);
        if (v < 0)
            return up_nomem(c, node);
        qrun_node_remove_attr(c->g, node, "scales");
        qrun_status st = up_set_input(c, node, 1, v);
        if (st)
            return st;
    }
    const char *mode = qrun_node_attr_string(&c->g->nodes[node], "mode", "nearest");
    if (strcmp(mode, "bilinear") == 0 && up_set_string(c, node, "mode", "linear"))
        return up_nomem(c, node);
    return qrun_node_retype(c->g, node, QRUN_OP_RESIZE, 10) ? up_nomem(c, node) : QRUN_OK;
}

/*
 * Resize 11: roi input inserted before scales, and coordinate modes: Resize-10
 * maps output to input coordinates as x_in = x_out / scale ("asymmetric") and
 * nearest rounds down ("floor").
 */
static qrun_status up_resize_11(up_ctx *c, int node) {
    const qrun_node *n = &c->g->nodes[node];
    int x = qrun_node_input(n, 0), scales = qrun_node_input(n, 1);
    int roi = -1; /* optional from 13 on */
    if (c->target < 13) {
        const onnx_value_type *t = up_type(c, x);
        if (!t || t->rank < 0)
            return up_refuse(c, node,
                             "opset 11-12 need a roi of 2 x rank values and the rank "
                             "of its input is not known");
        float zeros[2 * QRUN_MAX_RANK] = {0};
        int64_t dims[1] = {2 * t->rank};
        roi = up_const(c, node, "roi", QRUN_DTYPE_FLOAT, 1, dims, zeros);
        if (roi < 0)
            return up_nomem(c, node);
    }
    int ins[3] = {x, roi, scales};
    if (qrun_node_set_inputs(c->g, node, 3, ins))
        return up_nomem(c, node);
    bool nearest =
        strcmp(qrun_node_attr_string(&c->g->nodes[node], "mode", "nearest"), "nearest") == 0;
    qrun_status st = up_set_string(c, node, "coordinate_transformation_mode", "asymmetric");
    if (!st && nearest)
        st = up_set_string(c, node, "nearest_mode", "floor");
    return st;
}

/* Resize 13: tf_half_pixel_for_nn went away. */
static qrun_status up_resize_13(up_ctx *c, int node) {
    const char *m =
        qrun_node_attr_string(&c->g->nodes[node], "coordinate_transformation_mode", "half_pixel");
    if (strcmp(m, "tf_half_pixel_for_nn") == 0)
        return up_refuse(c, node,
                         "coordinate_transformation_mode tf_half_pixel_for_nn was "
                         "removed at opset 13");
    return QRUN_OK;
}

static qrun_status up_no_converter(up_ctx *c, int node) {
    return up_refuse(c, node, "its signature changed and qrun has no converter for it");
}

typedef struct up_step {
    const char *op;
    int64_t since; /* the first opset with the new meaning */
    up_step_fn fn;
} up_step;

/* Sorted by `since` within each op: steps run in order. */
static const up_step k_steps[] = {
    {"Concat", 4, up_concat_4},
    {"Reshape", 5, up_no_converter},
    {"Cast", 6, up_no_converter},
    {"Add", 7, up_legacy_broadcast},
    {"Sub", 7, up_legacy_broadcast},
    {"Mul", 7, up_legacy_broadcast},
    {"Div", 7, up_legacy_broadcast},
    {"Pow", 7, up_legacy_broadcast},
    {"And", 7, up_legacy_broadcast},
    {"Or", 7, up_legacy_broadcast},
    {"Xor", 7, up_legacy_broadcast},
    {"Equal", 7, up_legacy_broadcast},
    {"Greater", 7, up_legacy_broadcast},
    {"Less", 7, up_legacy_broadcast},
    {"Gemm", 7, up_legacy_broadcast},
    {"Dropout", 7, up_drop_is_test},
    {"Dropout", 12, up_dropout_12},
    {"BatchNormalization", 7, up_drop_is_test},
    {"BatchNormalization", 9, up_bn_9},
    {"BatchNormalization", 14, up_bn_14},
    {"Upsample", 10, up_upsample_10},
    {"Resize", 11, up_resize_11},
    {"Resize", 13, up_resize_13},
    {"Slice", 10, up_slice_10},
    {"TopK", 10, up_topk_10},
    {"Clip", 11, up_clip_11},
    {"Pad", 11, up_pad_11},
    {"Scatter", 11, up_no_converter},
    {"Squeeze", 13, up_axes},
    {"Unsqueeze", 13, up_axes},
    {"ReduceSum", 13, up_axes},
    {"Split", 13, up_split_13},
    {"Split", 18, up_split_18},
    {"Softmax", 13, up_softmax_13},
    {"LogSoftmax", 13, up_softmax_13},
    {"Hardmax", 13, up_softmax_13},
    {"ReduceMean", 18, up_axes},
    {"ReduceMax", 18, up_axes},
    {"ReduceMin", 18, up_axes},
    {"ReduceProd", 18, up_axes},
    {"ReduceL1", 18, up_axes},
    {"ReduceL2", 18, up_axes},
    {"ReduceLogSum", 18, up_axes},
    {"ReduceLogSumExp", 18, up_axes},
    {"ReduceSumSquare", 18, up_axes},
    {"GroupNormalization", 21, up_no_converter},
};

/* The next step for node n (after its current opset, up to target), or NULL. */
static const up_step *up_next_step(const qrun_node *n, int64_t target) {
    const up_step *best = NULL;
    for (size_t i = 0; i < sizeof k_steps / sizeof k_steps[0]; i++) {
        const up_step *s = &k_steps[i];
        if (strcmp(s->op, n->op_type) != 0 || s->since <= n->opset || s->since > target)
            continue;
        if (!best || s->since < best->since)
            best = s;
    }
    return best;
}

static qrun_status up_node(up_ctx *c, int node) {
    if (c->g->nodes[node].opset < 6)
        qrun_node_remove_attr(c->g, node, "consumed_inputs"); /* a hint only, gone at 6 */
    for (;;) {
        const up_step *s = up_next_step(&c->g->nodes[node], c->target);
        if (!s)
            break;
        qrun_status st = s->fn(c, node);
        if (st != QRUN_OK)
            return st;
        c->g->nodes[node].opset = s->since; /* steps may retype; op follows the table's name */
    }
    c->g->nodes[node].opset = c->target;
    return QRUN_OK;
}

static qrun_status up_set_import(up_ctx *c) {
    qrun_graph *g = c->g;
    for (int i = 0; i < g->n_opsets; i++) {
        if (g->opsets[i].domain[0] == '\0') {
            g->opsets[i].version = c->target;
            return QRUN_OK;
        }
    }
    qrun_opset *p = qrun_calloc(g->alloc, (size_t)g->n_opsets + 1, sizeof *p);
    char *d = qrun_strdup(g->alloc, "");
    if (!p || !d) {
        qrun_free(g->alloc, p);
        qrun_free(g->alloc, d);
        return qrun_errf(c->err, QRUN_E_NOMEM, "out of memory during the opset upgrade");
    }
    if (g->n_opsets)
        memcpy(p, g->opsets, (size_t)g->n_opsets * sizeof *p);
    p[g->n_opsets].domain = d;
    p[g->n_opsets].version = c->target;
    qrun_free(g->alloc, g->opsets);
    g->opsets = p;
    g->n_opsets++;
    return QRUN_OK;
}

qrun_status onnx_opset_upgrade(
    qrun_graph *g, int64_t target, const onnx_value_type *types, int n_types, qrun_err *err) {
    if (target > ONNX_MAX_OPSET)
        return qrun_errf(err, QRUN_E_UNSUPPORTED, "opset %" PRId64 " is newer than qrun knows (%d)",
                         target, ONNX_MAX_OPSET);
    /* Below 1: a graph with neither an ai.onnx import nor an ai.onnx node. There is nothing to
     * rewrite, and importing "version 0" would write a file no loader accepts. */
    if (target < 1)
        return QRUN_OK;
    up_ctx c = {.g = g, .target = target, .types = types, .n_types = n_types, .err = err};
    for (int k = 0; k < g->n_nodes; k++) {
        const qrun_node *n = &g->nodes[k];
        if (n->domain[0] != '\0')
            continue;
        if (n->opset > target)
            return qrun_errf(err, QRUN_E_UNSUPPORTED,
                             "node '%s' (%s) is at opset %" PRId64
                             ", newer than the target %" PRId64 "; downgrades are not supported",
                             n->name, n->op_type, n->opset, target);
        if (n->opset == target)
            continue;
        qrun_status st = up_node(&c, k);
        if (st != QRUN_OK)
            return st;
    }
    return up_set_import(&c);
}

/* ---- QuantizeLinear/DequantizeLinear: the lowest opset that has what they use ---- */

static int64_t up_qdq_dtype_opset(qrun_dtype t) {
    switch (t) {
    case QRUN_DTYPE_FLOAT8E4M3FN:
    case QRUN_DTYPE_FLOAT8E4M3FNUZ:
    case QRUN_DTYPE_FLOAT8E5M2:
    case QRUN_DTYPE_FLOAT8E5M2FNUZ:
    case QRUN_DTYPE_FLOAT16:
    case QRUN_DTYPE_BFLOAT16:
        return 19;
    case QRUN_DTYPE_INT4:
    case QRUN_DTYPE_UINT4:
    case QRUN_DTYPE_INT16:
    case QRUN_DTYPE_UINT16:
        return 21;
    case QRUN_DTYPE_FLOAT4E2M1:
        return 23;
    default:
        return 10;
    }
}

static int64_t up_max(int64_t a, int64_t b) {
    return a > b ? a : b;
}

int64_t onnx_qdq_min_opset(const qrun_graph *g, const qrun_node *n) {
    int64_t need = 10;
    if (qrun_node_attr(n, "saturate"))
        need = 19;
    if (qrun_node_attr(n, "block_size") || qrun_node_attr(n, "output_dtype"))
        need = 21;
    int scale = qrun_node_input(n, 1);
    if (qrun_node_attr(n, "axis") ||
        (scale >= 0 && g->values[scale].info.rank > 0 &&
         qrun_shape_numel(g->values[scale].info.rank, g->values[scale].info.dims) != 1))
        need = up_max(need, 13); /* per-axis parameters */
    for (int i = 0; i < n->n_inputs; i++) {
        if (n->inputs[i] >= 0)
            need = up_max(need, up_qdq_dtype_opset(g->values[n->inputs[i]].info.dtype));
    }
    return need;
}

void onnx_qdq_settle_opsets(qrun_graph *g) {
    int64_t imported = qrun_graph_opset(g, "");
    for (int k = 0; k < g->n_nodes; k++) {
        qrun_node *n = &g->nodes[k];
        if (n->op != QRUN_OP_QUANTIZE_LINEAR && n->op != QRUN_OP_DEQUANTIZE_LINEAR)
            continue;
        if (n->opset > imported)
            n->opset = up_max(imported, onnx_qdq_min_opset(g, n));
    }
}

int64_t onnx_graph_needed_opset(const qrun_graph *g) {
    int64_t need = qrun_graph_opset(g, "");
    for (int k = 0; k < g->n_nodes; k++) {
        if (g->nodes[k].domain[0] == '\0')
            need = up_max(need, g->nodes[k].opset);
    }
    return need;
}
