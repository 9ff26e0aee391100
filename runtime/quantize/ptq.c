/* SPDX-License-Identifier: Apache-2.0 */
/* QDQ rewrite of a calibrated float graph (see ptq.h). */
#include "runtime/quantize/ptq.h"

#include "runtime/alloc.h"
#include "runtime/dtype.h"
#include "runtime/quant.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* QuantizeLinear/DequantizeLinear semantics we emit: per-axis scales and FP8 types need 19+. */
#define PTQ_QDQ_OPSET 21
#define PTQ_NAME_MAX 512

typedef struct ptq {
    qrun_graph *g;
    const qrun_graph *src;
    qrun_calib_hist *const *hists;
    const qrun_ptq_config *cfg;
    qrun_ptq_const_fn const_of;
    void *const_ud;
    struct qrun_ptq_report *rep;
    int64_t qdq_opset;
    int n_src_values;
    int n_src_nodes; /* nodes of src; Q/DQ nodes are appended after them */
    qrun_err *err;
} ptq;

static qrun_status ptq_nomem(ptq *p) {
    return qrun_errf(p->err, QRUN_E_NOMEM, "out of memory while quantizing");
}

void qrun_ptq_report_free(const qrun_allocator *a, struct qrun_ptq_report *r) {
    if (!r)
        return;
    for (int i = 0; i < r->n; i++) {
        qrun_free(a, r->t[i].name);
        qrun_free(a, r->t[i].quantized);
        qrun_free(a, r->t[i].dequantized);
        qrun_free(a, r->t[i].scales);
        qrun_free(a, r->t[i].zps);
    }
    qrun_free(a, r->t);
    qrun_free(a, r);
}

/* Report entry quantizing value dq_value (the DQ output), or NULL. */
static const qrun_ptq_tensor *ptq_find_dq(const ptq *p, int dq_value) {
    for (int i = 0; i < p->rep->n; i++) {
        if (p->rep->t[i].dq_value == dq_value)
            return &p->rep->t[i];
    }
    return NULL;
}

/* The report entry of src value v quantized to fmt, or NULL. */
static const qrun_ptq_tensor *ptq_find_src(const ptq *p, const char *name, qrun_dtype fmt) {
    for (int i = 0; i < p->rep->n; i++) {
        if (strcmp(p->rep->t[i].name, name) == 0 && p->rep->t[i].dtype == fmt)
            return &p->rep->t[i];
    }
    return NULL;
}

static qrun_ptq_tensor *ptq_add_entry(ptq *p, const char *name, int n) {
    struct qrun_ptq_report *r = p->rep;
    const qrun_allocator *a = p->g->alloc;
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 32;
        qrun_ptq_tensor *t = qrun_calloc(a, (size_t)cap, sizeof *t);
        if (!t)
            return NULL;
        if (r->n)
            memcpy(t, r->t, (size_t)r->n * sizeof *t);
        qrun_free(a, r->t);
        r->t = t;
        r->cap = cap;
    }
    qrun_ptq_tensor *e = &r->t[r->n];
    memset(e, 0, sizeof *e);
    e->name = qrun_strdup(a, name);
    e->scales = qrun_calloc(a, (size_t)n, sizeof *e->scales);
    e->zps = qrun_calloc(a, (size_t)n, sizeof *e->zps);
    r->n++; /* counted now so that report_free releases a half-made entry */
    if (!e->name || !e->scales || !e->zps)
        return NULL;
    e->n = n;
    e->axis = -1;
    return e;
}

/* A new constant "<base><suffix>" (made unique) holding a copy of data. */
static int ptq_const(ptq *p,
                     const char *base,
                     const char *suffix,
                     qrun_dtype dt,
                     int rank,
                     const int64_t *dims,
                     const void *data) {
    char name[PTQ_NAME_MAX];
    snprintf(name, sizeof name, "%s%s", base, suffix);
    return qrun_graph_add_constant(p->g, name, dt, rank, dims, data);
}

static int ptq_value(ptq *p, const char *base, const char *suffix) {
    char name[PTQ_NAME_MAX];
    snprintf(name, sizeof name, "%s%s", base, suffix);
    return qrun_graph_add_unique_value(p->g, name, QRUN_VALUE_INTERMEDIATE);
}

/* Scale and zero-point constants for e (rank 0 per tensor, 1-D per axis). */
static qrun_status
ptq_qparam_consts(ptq *p, const qrun_ptq_tensor *e, const char *base, int *sv, int *zv) {
    const qrun_allocator *a = p->g->alloc;
    int64_t dims[1] = {e->n};
    int rank = e->axis < 0 ? 0 : 1;
    size_t zbytes = 0;
    if (!qrun_dtype_nbytes(e->dtype, e->n, &zbytes))
        return qrun_errf(p->err, QRUN_E_INTERNAL, "no zero point for %s",
                         qrun_dtype_name(e->dtype));
    void *zp = qrun_calloc(a, 1, zbytes);
    if (!zp)
        return ptq_nomem(p);
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(e->dtype);
    for (int i = 0; i < e->n; i++)
        tr->set(zp, (size_t)i, (double)e->zps[i], true);
    *sv = ptq_const(p, base, "_scale", QRUN_DTYPE_FLOAT, rank, dims, e->scales);
    *zv = ptq_const(p, base, "_zero_point", e->dtype, rank, dims, zp);
    qrun_free(a, zp);
    return *sv < 0 || *zv < 0 ? ptq_nomem(p) : QRUN_OK;
}

/*
 * Append node "<base>_QuantizeLinear" or "<base>_DequantizeLinear" (op)
 * reading (in, scale, zp) with scale/zp constants of its own -> new value
 * "<base>_quantized" / "<base>_dequantized" in *out; per axis, with e's axis.
 */
static qrun_status
ptq_add_qdq_node(ptq *p, const qrun_ptq_tensor *e, const char *base, qrun_op op, int in, int *out) {
    int sv = -1, zv = -1;
    qrun_status s = ptq_qparam_consts(p, e, base, &sv, &zv);
    if (s)
        return s;
    bool dq = op == QRUN_OP_DEQUANTIZE_LINEAR;
    int v = ptq_value(p, base, dq ? "_dequantized" : "_quantized");
    char name[PTQ_NAME_MAX];
    snprintf(name, sizeof name, "%s_%s", base, dq ? "DequantizeLinear" : "QuantizeLinear");
    int ins[3] = {in, sv, zv};
    int k = v < 0 ? -1 : qrun_graph_add_op_node(p->g, name, op, p->qdq_opset, 3, ins, 1, &v);
    if (k < 0 || (e->axis >= 0 && qrun_node_add_attr_int(p->g, k, "axis", e->axis) != QRUN_OK))
        return ptq_nomem(p);
    *out = v;
    return QRUN_OK;
}

/* Append DequantizeLinear(qv, scale, zp) -> new value "<base>_dequantized"; records names in e. */
static qrun_status ptq_add_dq(ptq *p, qrun_ptq_tensor *e, const char *base, int qv, int *dq_out) {
    int dq;
    qrun_status s = ptq_add_qdq_node(p, e, base, QRUN_OP_DEQUANTIZE_LINEAR, qv, &dq);
    if (s)
        return s;
    e->quantized = qrun_strdup(p->g->alloc, p->g->values[qv].name);
    e->dequantized = qrun_strdup(p->g->alloc, p->g->values[dq].name);
    if (!e->quantized || !e->dequantized)
        return ptq_nomem(p);
    e->dq_value = dq;
    *dq_out = dq;
    return QRUN_OK;
}

/*
 * Point every reader of value v among the source graph's nodes at value nv.
 * The Q/DQ nodes added here (indices from n_src_nodes on) keep theirs: a
 * tensor quantized to two formats (per-node choices) has one QuantizeLinear
 * reading v for each.
 */
static void ptq_rewire(ptq *p, int v, int nv) {
    for (int k = 0; k < p->n_src_nodes; k++) {
        qrun_node *n = &p->g->nodes[k];
        for (int i = 0; i < n->n_inputs; i++) {
            if (n->inputs[i] == v)
                n->inputs[i] = nv;
        }
    }
}

/* ---- activations ---------------------------------------------------------- */

static bool ptq_is_float_activation(const ptq *p, int v) {
    if (v < 0 || v >= p->n_src_values || p->const_of(p->const_ud, v))
        return false;
    return p->hists[v] != NULL; /* observed as float32 during calibration */
}

/*
 * A tensor holding only whole numbers within an 8-bit integer range (raw
 * pixels 0..255, say) is exact in uint8/int8 with scale 1, while an FP8 grid
 * with 3 or fewer mantissa bits would round it (200 -> 192 in E4M3). For FP8
 * formats such a tensor keeps the exact integer quantizer; UNDEFINED otherwise.
 */
static qrun_dtype ptq_exact_int_format(const qrun_calib_hist *h, qrun_dtype fmt) {
    if (!qrun_quant_is_small_float(fmt) || !h->all_integer || h->count == 0)
        return QRUN_DTYPE_UNDEFINED;
    if (h->min >= 0.0 && h->max <= 255.0)
        return QRUN_DTYPE_UINT8;
    if (h->min >= -128.0 && h->max <= 127.0)
        return QRUN_DTYPE_INT8;
    return QRUN_DTYPE_UNDEFINED;
}

/*
 * Quantize activation v once: QuantizeLinear -> DequantizeLinear with the
 * calibrated parameters; every reader of v then reads the dequantized value.
 */
static qrun_status ptq_activation(ptq *p, int v, qrun_dtype fmt) {
    const char *name = p->src->values[v].name;
    const qrun_calib_hist *h = p->hists[v];
    qrun_dtype exact = ptq_exact_int_format(h, fmt);
    if (ptq_find_src(p, name, exact ? exact : fmt))
        return QRUN_OK;
    qrun_calib_config cc = {p->cfg->method, p->cfg->percentile, fmt, p->cfg->act_symmetric,
                            p->cfg->pow2};
    double lo = h->min, hi = h->max;
    qrun_ptq_qparams qp = {exact, 1.0f, 0};
    if (!exact) {
        qrun_calib_range(h, &cc, &lo, &hi);
        qp = qrun_ptq_choose_qparams(fmt, lo, hi, cc.symmetric, cc.pow2);
    }
    qrun_ptq_tensor *e = ptq_add_entry(p, name, 1);
    if (!e)
        return ptq_nomem(p);
    e->dtype = qp.fmt;
    e->scales[0] = qp.scale;
    e->zps[0] = qp.zp;
    e->lo = lo;
    e->hi = hi;
    int qv; /* per tensor: e->axis is -1 */
    qrun_status s = ptq_add_qdq_node(p, e, name, QRUN_OP_QUANTIZE_LINEAR, v, &qv);
    if (s)
        return s;
    /* ptq_add_dq adds its own scale/zp constants: the DQ must not share the Q's (one per node). */
    int dq;
    s = ptq_add_dq(p, e, name, qv, &dq);
    if (s)
        return s;
    ptq_rewire(p, v, dq);
    return QRUN_OK;
}

/* ---- constants ------------------------------------------------------------ */

/* Quantize constant data into a new initializer and add its DequantizeLinear. */
static qrun_status
ptq_const_dq(ptq *p, qrun_ptq_tensor *e, const char *base, const struct qrun_tensor *t, int *dq) {
    const qrun_allocator *a = p->g->alloc;
    int64_t n = qrun_shape_numel(t->rank, t->dims), inner = 1;
    for (int d = e->axis + 1; e->axis >= 0 && d < t->rank; d++)
        inner *= t->dims[d];
    size_t nbytes = 0;
    if (!qrun_dtype_nbytes(e->dtype, n, &nbytes))
        return qrun_errf(p->err, QRUN_E_INTERNAL, "bad quantized size for '%s'", base);
    void *q = qrun_calloc(a, 1, nbytes ? nbytes : 1);
    if (!q)
        return ptq_nomem(p);
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(e->dtype);
    const float *x = t->data;
    for (int64_t i = 0; i < n; i++) {
        int64_t c = e->axis < 0 ? 0 : (i / inner) % e->n;
        qrun_ptq_qparams qp = {e->dtype, e->scales[c], e->zps[c]};
        double v;
        if (e->dtype == QRUN_DTYPE_INT32) /* bias: value / (s_x * s_w), no int8 clamp */
            v = fmin(fmax(qrun_round_half_even((double)x[i] / (double)e->scales[c]), -2147483648.0),
                     2147483647.0);
        else
            v = qrun_ptq_quantize_value(&qp, (double)x[i]);
        tr->set(q, (size_t)i, v, true);
    }
    int qv = ptq_const(p, base, "_quantized", e->dtype, t->rank, t->dims, q);
    qrun_free(a, q);
    if (qv < 0)
        return ptq_nomem(p);
    return ptq_add_dq(p, e, base, qv, dq);
}

/* Weights: symmetric per channel along axis (-1: per tensor). uint8 models use int8 weights. */
static qrun_status
ptq_weight(ptq *p, int v, const struct qrun_tensor *t, int axis, qrun_dtype fmt, int *dq) {
    qrun_dtype wfmt = fmt == QRUN_DTYPE_UINT8 ? QRUN_DTYPE_INT8 : fmt;
    const char *name = p->src->values[v].name;
    const qrun_ptq_tensor *have = ptq_find_src(p, name, wfmt);
    if (have) {
        *dq = have->dq_value;
        return QRUN_OK;
    }
    int64_t n = qrun_shape_numel(t->rank, t->dims);
    int channels = axis < 0 ? 1 : (int)t->dims[axis];
    int64_t inner = 1;
    for (int d = axis + 1; axis >= 0 && d < t->rank; d++)
        inner *= t->dims[d];
    qrun_ptq_tensor *e = ptq_add_entry(p, name, channels);
    if (!e)
        return ptq_nomem(p);
    e->dtype = wfmt;
    e->is_constant = true;
    e->axis = axis;
    double *amax = qrun_calloc(p->g->alloc, (size_t)channels, sizeof *amax);
    if (!amax)
        return ptq_nomem(p);
    const float *x = t->data;
    for (int64_t i = 0; i < n; i++) {
        int64_t c = axis < 0 ? 0 : (i / inner) % channels;
        amax[c] = fmax(amax[c], fabs((double)x[i]));
    }
    for (int c = 0; c < channels; c++) {
        qrun_ptq_qparams qp = qrun_ptq_choose_qparams(wfmt, -amax[c], amax[c], true, p->cfg->pow2);
        e->scales[c] = qp.scale;
        e->zps[c] = qp.zp;
    }
    qrun_free(p->g->alloc, amax);
    return ptq_const_dq(p, e, name, t, dq);
}

/* Other constant operands (Add/Mul/Concat...): per tensor over their min/max. */
static qrun_status
ptq_const_operand(ptq *p, int v, const struct qrun_tensor *t, qrun_dtype fmt, int *dq) {
    const char *name = p->src->values[v].name;
    const qrun_ptq_tensor *have = ptq_find_src(p, name, fmt);
    if (have) {
        *dq = have->dq_value;
        return QRUN_OK;
    }
    int64_t n = qrun_shape_numel(t->rank, t->dims);
    const float *x = t->data;
    double lo = 0.0, hi = 0.0;
    for (int64_t i = 0; i < n; i++) {
        lo = fmin(lo, (double)x[i]);
        hi = fmax(hi, (double)x[i]);
    }
    qrun_ptq_qparams qp = qrun_ptq_choose_qparams(fmt, lo, hi, p->cfg->act_symmetric, p->cfg->pow2);
    qrun_ptq_tensor *e = ptq_add_entry(p, name, 1);
    if (!e)
        return ptq_nomem(p);
    e->dtype = fmt;
    e->is_constant = true;
    e->scales[0] = qp.scale;
    e->zps[0] = qp.zp;
    e->lo = lo;
    e->hi = hi;
    return ptq_const_dq(p, e, name, t, dq);
}

/* Integer formats: bias as int32 with scale s_x * s_w[c] (zero point 0), so integer kernels add it
 * to their accumulators unchanged. */
static qrun_status
ptq_bias(ptq *p, int v, const struct qrun_tensor *t, int x_dq, int w_dq, int *dq) {
    const qrun_ptq_tensor *xs = ptq_find_dq(p, x_dq), *ws = ptq_find_dq(p, w_dq);
    if (!xs || !ws || xs->n != 1 || t->rank != 1 || (ws->n != 1 && ws->n != t->dims[0]))
        return QRUN_OK; /* input or weight not quantized: the bias stays float */
    int channels = (int)t->dims[0];
    /* Adding an entry may move the report's array: keep indices, not pointers, across it. */
    ptrdiff_t xi = xs - p->rep->t, wi = ws - p->rep->t;
    qrun_ptq_tensor *e = ptq_add_entry(p, p->src->values[v].name, channels);
    if (!e)
        return ptq_nomem(p);
    xs = &p->rep->t[xi];
    ws = &p->rep->t[wi];
    e->dtype = QRUN_DTYPE_INT32;
    e->is_constant = true;
    e->axis = 0;
    for (int c = 0; c < channels; c++)
        e->scales[c] = xs->scales[0] * ws->scales[ws->n == 1 ? 0 : c];
    return ptq_const_dq(p, e, p->src->values[v].name, t, dq);
}

/* ---- nodes ---------------------------------------------------------------- */

static bool ptq_candidate(qrun_op op) {
    switch (op) {
    case QRUN_OP_CONV:
    case QRUN_OP_CONV_TRANSPOSE:
    case QRUN_OP_GEMM:
    case QRUN_OP_MATMUL:
    case QRUN_OP_ADD:
    case QRUN_OP_MUL:
    case QRUN_OP_MAX_POOL:
    case QRUN_OP_AVERAGE_POOL:
    case QRUN_OP_GLOBAL_AVERAGE_POOL:
    case QRUN_OP_GLOBAL_MAX_POOL:
    case QRUN_OP_CONCAT:
        return true;
    default:
        return false;
    }
}

/* Format of node n: the user's choice for it, else the default; UNDEFINED keeps it float. */
static qrun_dtype ptq_node_format(const ptq *p, const qrun_node *n) {
    for (int i = 0; i < p->cfg->n_choices; i++) {
        if (strcmp(p->cfg->choices[i].node, n->name) == 0)
            return p->cfg->choices[i].fmt;
    }
    return p->cfg->fmt;
}

/* Per-channel axis of the weight operand of node n (input 1), -1 when per tensor. */
static int ptq_weight_axis(const qrun_node *n, const struct qrun_tensor *w) {
    switch (n->op) {
    case QRUN_OP_CONV:
        return w->rank >= 2 ? 0 : -1;
    case QRUN_OP_CONV_TRANSPOSE: /* W[C, M/group, k...]: output channels on axis 1 if group 1 */
        return w->rank >= 2 && qrun_node_attr_int(n, "group", 1) == 1 ? 1 : -1;
    case QRUN_OP_GEMM:
        return w->rank == 2 ? (qrun_node_attr_int(n, "transB", 0) ? 0 : 1) : -1;
    case QRUN_OP_MATMUL:
        return w->rank == 2 ? 1 : -1;
    default:
        return -1;
    }
}

static bool ptq_has_weight(const qrun_node *n) {
    return n->op == QRUN_OP_CONV || n->op == QRUN_OP_CONV_TRANSPOSE || n->op == QRUN_OP_GEMM ||
           n->op == QRUN_OP_MATMUL;
}

/* Quantize input i of node k (an activation, a weight, a bias or another constant). */
static qrun_status ptq_input(ptq *p, int k, int i, qrun_dtype fmt) {
    const qrun_node *n = &p->g->nodes[k];
    int v = n->inputs[i];
    if (v < 0 || v >= p->n_src_values)
        return QRUN_OK; /* omitted, or already a DequantizeLinear output */
    if (ptq_is_float_activation(p, v))
        return ptq_activation(p, v, fmt);
    const struct qrun_tensor *t = p->const_of(p->const_ud, v);
    if (!t || t->dtype != QRUN_DTYPE_FLOAT || !t->data)
        return QRUN_OK;
    int dq = -1;
    qrun_status s;
    if (ptq_has_weight(n) && i == 1) {
        s = ptq_weight(p, v, t, ptq_weight_axis(n, t), fmt, &dq);
    } else if (ptq_has_weight(n) && i == 2) {
        if (!qrun_ptq_format_ok(fmt) || qrun_quant_is_small_float(fmt))
            return QRUN_OK; /* FP8: the bias stays float */
        s = ptq_bias(p, v, t, n->inputs[0], n->inputs[1], &dq);
    } else {
        s = ptq_const_operand(p, v, t, fmt, &dq);
    }
    if (!s && dq >= 0)
        p->g->nodes[k].inputs[i] = dq;
    return s;
}

/* The value whose quantization ends node k's unit: its output, or that of a Relu/Clip it feeds
 * alone (the activation is fused into the unit). */
static int ptq_unit_output(const ptq *p, int k) {
    const qrun_graph *g = p->g;
    int y = g->nodes[k].outputs[0], c = -1;
    if (y < 0 || g->values[y].is_output || qrun_graph_consumers(g, y, &c) != 1)
        return y;
    const qrun_node *cn = &g->nodes[c];
    if (cn->op == QRUN_OP_RELU || (cn->op == QRUN_OP_CLIP && cn->inputs[0] == y))
        return cn->outputs[0];
    return y;
}

static qrun_status ptq_node(ptq *p, int k) {
    const qrun_node *n = &p->g->nodes[k];
    if (!ptq_candidate(n->op) || n->outputs[0] < 0 || p->const_of(p->const_ud, n->outputs[0]))
        return QRUN_OK;
    qrun_dtype fmt = ptq_node_format(p, n);
    if (fmt == QRUN_DTYPE_UNDEFINED) {
        p->rep->n_float++;
        return QRUN_OK;
    }
    /* Biases need the input and weight parameters first: inputs in order 0, 1, 2, ... */
    for (int i = 0; i < p->g->nodes[k].n_inputs; i++) {
        qrun_status s = ptq_input(p, k, i, fmt);
        if (s) {
            qrun_err_prefix(p->err, "node '%s': ", p->g->nodes[k].name);
            return s;
        }
    }
    p->rep->n_quantized++;
    int y = ptq_unit_output(p, k);
    if (y < 0 || p->g->values[y].is_output || !ptq_is_float_activation(p, y))
        return QRUN_OK;
    return ptq_activation(p, y, fmt);
}

/* Remove nodes none of whose outputs is read or is a graph output (e.g. a weight's Reshape whose
 * result was replaced by a quantized copy). */
static qrun_status ptq_prune(ptq *p) {
    qrun_graph *g = p->g;
    bool *dead = qrun_calloc(g->alloc, (size_t)g->n_nodes + 1, sizeof *dead);
    int *uses = qrun_calloc(g->alloc, (size_t)g->n_values + 1, sizeof *uses);
    if (!dead || !uses) {
        qrun_free(g->alloc, dead);
        qrun_free(g->alloc, uses);
        return ptq_nomem(p);
    }
    for (int k = 0; k < g->n_nodes; k++) {
        for (int i = 0; i < g->nodes[k].n_inputs; i++) {
            if (g->nodes[k].inputs[i] >= 0)
                uses[g->nodes[k].inputs[i]]++;
        }
    }
    for (bool changed = true; changed;) {
        changed = false;
        for (int k = g->n_nodes - 1; k >= 0; k--) {
            const qrun_node *n = &g->nodes[k];
            bool used = false;
            for (int o = 0; o < n->n_outputs && !used; o++) {
                int v = n->outputs[o];
                used = v >= 0 && (uses[v] > 0 || g->values[v].is_output);
            }
            if (dead[k] || used)
                continue;
            dead[k] = changed = true;
            for (int i = 0; i < n->n_inputs; i++) {
                if (n->inputs[i] >= 0)
                    uses[n->inputs[i]]--;
            }
        }
    }
    qrun_graph_remove_nodes(g, dead);
    qrun_free(g->alloc, dead);
    qrun_free(g->alloc, uses);
    return QRUN_OK;
}

qrun_status qrun_ptq_quantize(const qrun_graph *src,
                              qrun_calib_hist *const *hists,
                              const qrun_ptq_config *cfg,
                              qrun_ptq_const_fn const_of,
                              void *const_ud,
                              qrun_graph **out,
                              struct qrun_ptq_report **report,
                              qrun_err *err) {
    *out = NULL;
    *report = NULL;
    ptq p = {.src = src,
             .hists = hists,
             .cfg = cfg,
             .const_of = const_of,
             .const_ud = const_ud,
             .n_src_values = src->n_values,
             .n_src_nodes = src->n_nodes,
             .err = err};
    int64_t model_opset = qrun_graph_opset(src, "");
    p.qdq_opset = model_opset > PTQ_QDQ_OPSET ? model_opset : PTQ_QDQ_OPSET;
    if (qrun_graph_clone(src, &p.g))
        return qrun_errf(err, QRUN_E_NOMEM, "out of memory copying the graph");
    p.rep = qrun_calloc(src->alloc, 1, sizeof *p.rep);
    if (!p.rep) {
        qrun_graph_free(p.g);
        return ptq_nomem(&p);
    }
    p.rep->alloc = src->alloc;
    p.rep->dtype = cfg->fmt;
    qrun_status s = QRUN_OK;
    for (int k = 0; k < p.n_src_nodes && !s; k++)
        s = ptq_node(&p, k);
    if (!s)
        s = ptq_prune(&p);
    if (!s)
        s = qrun_graph_toposort(p.g, err);
    if (s) {
        qrun_graph_free(p.g);
        qrun_ptq_report_free(src->alloc, p.rep);
        return s;
    }
    *out = p.g;
    *report = p.rep;
    return QRUN_OK;
}
