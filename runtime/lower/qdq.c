/* SPDX-License-Identifier: Apache-2.0 */
/* QDQ lowering pass (see qdq.h): graph bookkeeping, Q/DQ matching, the rewrite of a matched unit,
 * the visit of every unit, report. The unit rules: qdq_compute.c, qdq_contrib.c, qdq_movement.c. */
#include "runtime/lower/qdq_internal.h"

#include "runtime/alloc.h"
#include "runtime/dtype.h"
#include "runtime/quant.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- bookkeeping ---------------------------------------------------------- */

qrun_status lw_nomem(lw *L) {
    return qrun_errf(L->err, QRUN_E_NOMEM, "out of memory lowering QDQ units");
}

/* Keep the per-value and per-node arrays as long as the graph. */
static qrun_status lw_fit(lw *L) {
    size_t nv = (size_t)L->g->n_values + 1, nn = (size_t)L->g->n_nodes + 1;
    size_t old_v = L->uses_cap, old_n = L->dead_cap;
    if (qrun_grow(L->g->alloc, (void **)&L->uses, sizeof *L->uses, &L->uses_cap, nv) ||
        qrun_grow(L->g->alloc, (void **)&L->dead, sizeof *L->dead, &L->dead_cap, nn))
        return lw_nomem(L);
    memset(L->uses + old_v, 0, (L->uses_cap - old_v) * sizeof *L->uses);
    memset(L->dead + old_n, 0, (L->dead_cap - old_n) * sizeof *L->dead);
    return QRUN_OK;
}

static void lw_count_uses(lw *L) {
    memset(L->uses, 0, L->uses_cap * sizeof *L->uses);
    for (int k = 0; k < L->g->n_nodes; k++) {
        const qrun_node *n = lw_node(L, k);
        for (int i = 0; i < n->n_inputs; i++) {
            if (n->inputs[i] >= 0)
                L->uses[n->inputs[i]]++;
        }
    }
    for (int i = 0; i < L->g->n_outputs; i++)
        L->uses[L->g->outputs[i]]++;
}

void lw_kill(lw *L, int k) {
    const qrun_node *n = lw_node(L, k);
    L->dead[k] = true;
    for (int i = 0; i < n->n_inputs; i++) {
        if (n->inputs[i] >= 0)
            L->uses[n->inputs[i]]--;
    }
}

/* Replace node k's inputs, keeping use counts. */
qrun_status lw_set_inputs(lw *L, int k, int n, const int *inputs) {
    const qrun_node *nd = lw_node(L, k);
    for (int i = 0; i < nd->n_inputs; i++) {
        if (nd->inputs[i] >= 0)
            L->uses[nd->inputs[i]]--;
    }
    if (qrun_node_set_inputs(L->g, k, n, inputs) != QRUN_OK)
        return lw_nomem(L);
    for (int i = 0; i < n; i++) {
        if (inputs[i] >= 0)
            L->uses[inputs[i]]++;
    }
    return QRUN_OK;
}

void lw_set_output(lw *L, int k, int slot, int v) {
    lw_node(L, k)->outputs[slot] = v;
    lw_val(L, v)->producer = k;
}

static int lw_add_node(lw *L,
                       const char *name,
                       qrun_op op,
                       int64_t opset,
                       int n_in,
                       const int *in,
                       int n_out,
                       const int *out) {
    int k = qrun_graph_add_op_node(L->g, name, op, opset, n_in, in, n_out, out);
    if (k < 0 || lw_fit(L) != QRUN_OK)
        return -1;
    for (int i = 0; i < n_in; i++) {
        if (in[i] >= 0)
            L->uses[in[i]]++;
    }
    for (int o = 0; o < n_out; o++)
        lw_val(L, out[o])->producer = k;
    return k;
}

int lw_add_dq_like(lw *L, const lw_qp *q, int x, int y) {
    const qrun_node *dq = lw_node(L, q->node);
    int in[3] = {x, q->scale, q->zp};
    return lw_add_node(L, dq->name, QRUN_OP_DEQUANTIZE_LINEAR, dq->opset, q->zp >= 0 ? 3 : 2, in, 1,
                       &y);
}

int lw_add_value(lw *L, const char *base) {
    int v = qrun_graph_add_unique_value(L->g, base, QRUN_VALUE_INTERMEDIATE);
    return v >= 0 && lw_fit(L) == QRUN_OK ? v : -1;
}

static qrun_status
lw_report(lw *L, const char *name, const char *op, const char *target, const char *reason) {
    const qrun_allocator *a = L->g->alloc;
    size_t cap = L->rep_cap;
    if (qrun_grow(a, (void **)&L->rep->units, sizeof *L->rep->units, &cap, (size_t)L->rep->n + 1))
        return lw_nomem(L);
    L->rep_cap = cap;
    qrun_lower_unit *u = &L->rep->units[L->rep->n++];
    memset(u, 0, sizeof *u);
    u->node = qrun_strdup(a, name);
    u->op = qrun_strdup(a, op);
    u->lowered = reason == NULL;
    u->target = qrun_strdup(a, target ? target : "");
    u->reason = qrun_strdup(a, reason ? reason : "");
    return u->node && u->op && u->target && u->reason ? QRUN_OK : lw_nomem(L);
}

/* ---- reading the graph ------------------------------------------------------ */

static bool lw_is_const(lw *L, int v) {
    return v >= 0 && lw_val(L, v)->kind == QRUN_VALUE_CONSTANT && lw_val(L, v)->info.data;
}

/* The live node of op `op` producing v, or -1. */
int lw_producer(lw *L, int v, qrun_op op) {
    if (v < 0)
        return -1;
    int k = lw_val(L, v)->producer;
    return k >= 0 && !L->dead[k] && lw_node(L, k)->op == op ? k : -1;
}

/* The one node reading v (not a graph output), or -1. */
int lw_sole_consumer(lw *L, int v) {
    if (v < 0 || L->uses[v] != 1)
        return -1;
    for (int k = 0; k < L->g->n_nodes; k++) {
        const qrun_node *n = lw_node(L, k);
        for (int i = 0; !L->dead[k] && i < n->n_inputs; i++) {
            if (n->inputs[i] == v)
                return k;
        }
    }
    return -1; /* a graph output */
}

static qrun_dtype lw_attr_dtype(const qrun_node *n, const char *name) {
    int64_t v = qrun_node_attr_int(n, name, 0);
    return v > 0 && v < QRUN_DTYPE_COUNT ? qrun_dtype_from_onnx((int)v) : QRUN_DTYPE_UNDEFINED;
}

/* Read the parameters of Q/DQ node k; false with a reason when they are not usable. */
bool lw_read_qp(lw *L, int k, lw_qp *qp, char *why) {
    const qrun_node *n = lw_node(L, k);
    bool dq = n->op == QRUN_OP_DEQUANTIZE_LINEAR;
    memset(qp, 0, sizeof *qp);
    qp->node = k;
    qp->q = dq ? n->inputs[0] : n->outputs[0];
    qp->scale = n->inputs[1];
    qp->zp = qrun_node_input(n, 2);
    if (qp->q < 0 || qp->scale < 0) {
        snprintf(why, LW_WHY, "%s '%s' has an omitted input or output", n->op_type, n->name);
        return false;
    }
    if (!lw_is_const(L, qp->scale) || (qp->zp >= 0 && !lw_is_const(L, qp->zp))) {
        snprintf(why, LW_WHY, "%s '%s' has a scale or zero point that is not a constant",
                 n->op_type, n->name);
        return false;
    }
    const struct qrun_tensor *s = &lw_val(L, qp->scale)->info;
    if (s->dtype != QRUN_DTYPE_FLOAT) {
        snprintf(why, LW_WHY, "%s '%s' has a %s scale (float32 only)", n->op_type, n->name,
                 qrun_dtype_name(s->dtype));
        return false;
    }
    if (n->opset >= 21 && qrun_node_attr_int(n, "block_size", 0) != 0) {
        snprintf(why, LW_WHY, "%s '%s' is blocked", n->op_type, n->name);
        return false;
    }
    qp->n = qrun_shape_numel(s->rank, s->dims);
    qp->axis = n->opset >= 13 ? qrun_node_attr_int(n, "axis", 1) : 1;
    if (qp->zp >= 0)
        qp->qtype = lw_val(L, qp->zp)->info.dtype;
    else if (dq)
        qp->qtype = lw_val(L, qp->q)->info.dtype;
    else
        qp->qtype = n->opset >= 21 && lw_attr_dtype(n, "output_dtype")
                        ? lw_attr_dtype(n, "output_dtype")
                        : QRUN_DTYPE_UINT8;
    if (!dq && qrun_quant_is_small_float(qp->qtype) && qrun_node_attr_int(n, "saturate", 1) != 1) {
        snprintf(why, LW_WHY, "QuantizeLinear '%s' has saturate=0", n->name);
        return false;
    }
    return true;
}

float lw_scale(lw *L, const lw_qp *qp, int64_t i) {
    return ((const float *)lw_val(L, qp->scale)->info.data)[qp->n == 1 ? 0 : i];
}

/* Zero point i as a double (0 when omitted; FP8 codes decoded). */
double lw_zp(lw *L, const lw_qp *qp, int64_t i) {
    if (qp->zp < 0)
        return 0.0;
    const struct qrun_tensor *z = &lw_val(L, qp->zp)->info;
    int64_t n = qrun_shape_numel(z->rank, z->dims);
    return qrun_dtype_traits_get(z->dtype)->get(z->data, (size_t)(n == 1 ? 0 : i));
}

bool lw_same_qp(lw *L, const lw_qp *a, const lw_qp *b) {
    return a->n == 1 && b->n == 1 && a->qtype == b->qtype &&
           lw_scale(L, a, 0) == lw_scale(L, b, 0) && lw_zp(L, a, 0) == lw_zp(L, b, 0);
}

/* The DQ node feeding input slot i of node k, its parameters read; -1 and a reason otherwise. */
int lw_input_dq(lw *L, int k, int i, lw_qp *qp, char *why) {
    const qrun_node *n = lw_node(L, k);
    int v = qrun_node_input(n, i);
    int d = lw_producer(L, v, QRUN_OP_DEQUANTIZE_LINEAR);
    if (d < 0) {
        snprintf(why, LW_WHY, "input %d ('%s') is not produced by DequantizeLinear", i,
                 v >= 0 ? lw_val(L, v)->name : "");
        return -1;
    }
    if (L->uses[v] != 1) {
        snprintf(why, LW_WHY,
                 "DequantizeLinear output '%s' has other readers (a graph output or a "
                 "repeated input)",
                 lw_val(L, v)->name);
        return -1;
    }
    return lw_read_qp(L, d, qp, why) ? d : -1;
}

/* The Q node that alone reads node k's output 0, its parameters read; -1 and a reason otherwise. */
int lw_output_q(lw *L, int k, int v, lw_qp *qp, char *why) {
    if (v < 0) {
        snprintf(why, LW_WHY, "the output is omitted");
        return -1;
    }
    int c = lw_sole_consumer(L, v);
    if (c < 0 || lw_node(L, c)->op != QRUN_OP_QUANTIZE_LINEAR) {
        snprintf(why, LW_WHY, "output '%s' %s", lw_val(L, v)->name,
                 L->uses[v] != 1 ? "has several consumers (or is a graph output)"
                 : c < 0         ? "is a graph output"
                                 : "is not quantized by a QuantizeLinear");
        return -1;
    }
    if (!lw_read_qp(L, c, qp, why))
        return -1;
    if (qp->n != 1) {
        snprintf(why, LW_WHY, "QuantizeLinear '%s' is per-axis", lw_node(L, c)->name);
        return -1;
    }
    (void)k;
    return c;
}

int64_t lw_opset(lw *L, int64_t at_least) {
    int64_t v = qrun_graph_opset(L->g, "");
    return v > at_least ? v : at_least;
}

/* A zero point value for qp: its own, or a new scalar zero of its type. */
static int lw_zp_value(lw *L, const lw_qp *qp, const char *base) {
    if (qp->zp >= 0)
        return qp->zp;
    uint8_t zero[8] = {0};
    return qrun_graph_add_constant(L->g, base, qp->qtype, 0, NULL, zero);
}

/* ---- backend check ---------------------------------------------------------- */

/*
 * Ask the backends whether they run `op` on these inputs: a node like k with
 * op, opset and inputs replaced; every non-constant input described by its
 * dtype only (the load-time contract of supports_node).
 */
bool lw_supported(lw *L,
                  int k,
                  qrun_op op,
                  int64_t opset,
                  int n_in,
                  const int *in,
                  const qrun_dtype *dtypes,
                  char *why) {
    qrun_node tmp = *lw_node(L, k);
    const struct qrun_op_desc *d = qrun_op_desc_get(op);
    tmp.op = op;
    tmp.op_type = (char *)d->name;
    tmp.domain = (char *)d->domain;
    tmp.opset = opset;
    tmp.n_inputs = n_in;
    tmp.inputs = (int *)in;
    struct qrun_tensor desc[LW_MAX_IN];
    const struct qrun_tensor *ptr[LW_MAX_IN];
    for (int i = 0; i < n_in && i < LW_MAX_IN; i++) {
        ptr[i] = NULL;
        if (in[i] < 0)
            continue;
        if (lw_is_const(L, in[i]) && !(dtypes && dtypes[i])) {
            ptr[i] = &lw_val(L, in[i])->info;
            continue;
        }
        memset(&desc[i], 0, sizeof desc[i]);
        desc[i].dtype = dtypes && dtypes[i] ? dtypes[i] : lw_val(L, in[i])->info.dtype;
        desc[i].rank = -1;
        ptr[i] = &desc[i];
    }
    char w[LW_WHY] = "";
    if (L->supports(L->ud, &tmp, ptr, n_in, w, sizeof w))
        return true;
    snprintf(why, LW_WHY, "no backend runs %s here (%s)", d->name, w);
    return false;
}

/* ---- Relu / Clip folded into the output range ------------------------------- */

static bool lw_clip_bound(lw *L, const qrun_node *n, int slot, const char *attr, float *out) {
    if (n->opset < 11) {
        *out = qrun_node_attr_float(n, attr, *out);
        return true;
    }
    int v = qrun_node_input(n, slot);
    if (v < 0)
        return true;
    if (!lw_is_const(L, v) || lw_val(L, v)->info.dtype != QRUN_DTYPE_FLOAT)
        return false;
    *out = *(const float *)lw_val(L, v)->info.data;
    return true;
}

/* Range [lo, hi] of Q(act(y)) as a clamp of Q(y) (Q is monotone); false with a reason. */
static bool lw_act_range(lw *L, lw_act *a, const lw_qp *q, char *why) {
    const qrun_node *n = lw_node(L, a->node);
    int32_t qmin, qmax;
    if (!qrun_quant_int_range(q->qtype, &qmin, &qmax)) {
        snprintf(why, LW_WHY, "%s '%s' before a %s QuantizeLinear cannot fold into a range",
                 n->op_type, n->name, qrun_dtype_name(q->qtype));
        return false;
    }
    float lo = -INFINITY, hi = INFINITY;
    if (n->op == QRUN_OP_RELU)
        lo = 0.0f;
    else if (!lw_clip_bound(L, n, 1, "min", &lo) || !lw_clip_bound(L, n, 2, "max", &hi)) {
        snprintf(why, LW_WHY, "Clip '%s' has bounds that are not float constants", n->name);
        return false;
    }
    double s = lw_scale(L, q, 0);
    int32_t zp = (int32_t)lw_zp(L, q, 0);
    a->lo = qrun_quantize_int(qrun_quant_div(lo, s, QRUN_DTYPE_FLOAT), zp, qmin, qmax);
    a->hi = qrun_quantize_int(qrun_quant_div(hi, s, QRUN_DTYPE_FLOAT), zp, qmin, qmax);
    a->clamp = a->lo > qmin || a->hi < qmax;
    return true;
}

/* ---- the output side and the rewrite ------------------------------------------ */

/* Match the output side: op -> [Relu|Clip] -> Q. */
bool lw_match_output(lw *L, int k, lw_act *act, lw_qp *y, char *why) {
    int out = lw_node(L, k)->outputs[0];
    act->node = -1;
    act->clamp = false;
    int c = lw_sole_consumer(L, out);
    if (c >= 0 && (lw_node(L, c)->op == QRUN_OP_RELU || lw_node(L, c)->op == QRUN_OP_CLIP)) {
        act->node = c;
        out = lw_node(L, c)->outputs[0];
    }
    if (lw_output_q(L, act->node >= 0 ? act->node : k, out, y, why) < 0)
        return false;
    return act->node < 0 || lw_act_range(L, act, y, why);
}

/* Add the integer clamp of a folded Relu/Clip (named after it); its input is the op's output. */
static int lw_add_clamp(lw *L, const lw_act *act, const lw_qp *y, int y_val) {
    char base[LW_WHY];
    snprintf(base, sizeof base, "%s_unclamped", lw_val(L, y_val)->name);
    int t = lw_add_value(L, base);
    uint8_t lo[8] = {0}, hi[8] = {0};
    qrun_dtype_set_i64(y->qtype, lo, 0, act->lo);
    qrun_dtype_set_i64(y->qtype, hi, 0, act->hi);
    int vlo = qrun_graph_add_constant(L->g, "qdq_clamp_lo", y->qtype, 0, NULL, lo);
    int vhi = qrun_graph_add_constant(L->g, "qdq_clamp_hi", y->qtype, 0, NULL, hi);
    if (t < 0 || vlo < 0 || vhi < 0 || lw_fit(L) != QRUN_OK)
        return -1;
    int in[3] = {t, vlo, vhi};
    const char *name = lw_node(L, act->node)->name;
    return lw_add_node(L, name, QRUN_OP_CLIP, lw_opset(L, 13), 3, in, 1, &y_val) < 0 ? -1 : t;
}

static bool lw_clamp_supported(lw *L, const lw_act *act, const lw_qp *y, char *why) {
    int in[3] = {y->q, y->q, y->q};
    qrun_dtype dt[3] = {y->qtype, y->qtype, y->qtype};
    return lw_supported(L, act->node, QRUN_OP_CLIP, lw_opset(L, 13), 3, in, dt, why);
}

bool lw_push(lw_unit *u, int v, qrun_dtype dt, const lw_qp *zp_of) {
    if (u->n_in >= LW_MAX_IN)
        return false;
    u->in[u->n_in] = v;
    u->dt[u->n_in] = dt;
    u->zp_of[u->n_in] = -1;
    if (zp_of) {
        u->zq[u->n_zq] = *zp_of;
        u->zp_of[u->n_in] = u->n_zq++;
    }
    u->n_in++;
    return true;
}

/* Quantized input triple (x, scale, zero point) of a DQ folded into the unit. */
bool lw_push_dq(lw_unit *u, const lw_qp *q) {
    if (u->n_dq >= LW_MAX_IN)
        return false;
    u->dq[u->n_dq++] = q->node;
    return lw_push(u, q->q, q->qtype, NULL) && lw_push(u, q->scale, 0, NULL) &&
           lw_push(u, q->zp, q->qtype, q);
}

/* Output pair (scale, zero point) of the unit's Q. */
bool lw_push_y(lw_unit *u) {
    return lw_push(u, u->y.scale, 0, NULL) && lw_push(u, u->y.zp, u->y.qtype, &u->y);
}

/* Check support, then rewrite node k into u->op reading u->in and writing the Q's output. */
qrun_status lw_commit(lw *L, int k, lw_unit *u, bool *done, char *why, char *target) {
    if (!lw_supported(L, k, u->op, u->opset, u->n_in, u->in, u->dt, why))
        return QRUN_OK;
    if (u->act.clamp && !lw_clamp_supported(L, &u->act, &u->y, why))
        return QRUN_OK;
    /* The integer ops take every zero point: omitted ones become explicit zeros. */
    for (int i = 0; i < u->n_in; i++) {
        if (u->zp_of[i] >= 0 &&
            (u->in[i] = lw_zp_value(L, &u->zq[u->zp_of[i]], "qdq_zero_point")) < 0)
            return lw_nomem(L);
    }
    if (lw_fit(L) != QRUN_OK)
        return lw_nomem(L);
    for (int i = 0; i < u->n_dq; i++)
        lw_kill(L, u->dq[i]);
    lw_kill(L, u->y.node);
    if (u->act.node >= 0)
        lw_kill(L, u->act.node);
    int out = u->y.q;
    if (u->act.clamp && (out = lw_add_clamp(L, &u->act, &u->y, u->y.q)) < 0)
        return lw_nomem(L);
    if (qrun_node_retype(L->g, k, u->op, u->opset) != QRUN_OK ||
        lw_set_inputs(L, k, u->n_in, u->in))
        return lw_nomem(L);
    lw_set_output(L, k, 0, out);
    const struct qrun_op_desc *d = qrun_op_desc_get(u->op);
    snprintf(target, LW_WHY, "%s%s%s%s", d->domain[0] ? d->domain : "", d->domain[0] ? " " : "",
             d->name, u->act.clamp ? " + Clip" : (u->act.node >= 0 ? " (activation folded)" : ""));
    *done = true;
    return QRUN_OK;
}

int64_t lw_contrib_opset(lw *L) {
    int64_t v = qrun_graph_opset(L->g, "com.microsoft");
    return v > 0 ? v : 1;
}

/* ---- units that stay float ---------------------------------------------- */

/*
 * Does node k touch a DQ output or feed a Q? Then it is a unit for the report.
 * Shape and Size read only the shape of their input: there is no arithmetic
 * to move into the integer domain, so they are not units.
 */
static bool lw_is_unit(lw *L, int k) {
    const qrun_node *n = lw_node(L, k);
    if (qrun_op_desc_get(n->op)->flags & QRUN_OPF_SHAPE_ONLY)
        return false;
    for (int i = 0; i < n->n_inputs; i++) {
        if (lw_producer(L, n->inputs[i], QRUN_OP_DEQUANTIZE_LINEAR) >= 0)
            return true;
    }
    int c = n->n_outputs > 0 && n->outputs[0] >= 0 ? lw_sole_consumer(L, n->outputs[0]) : -1;
    return c >= 0 && lw_node(L, c)->op == QRUN_OP_QUANTIZE_LINEAR;
}

static qrun_status lw_visit(lw *L, int k) {
    const qrun_node *n = lw_node(L, k);
    qrun_op op = n->op;
    /* Malformed arities (omitted first input or output) are left to the executor's checks. */
    if (n->n_inputs < 1 || n->inputs[0] < 0 || n->n_outputs < 1 || n->outputs[0] < 0)
        return QRUN_OK;
    if (op == QRUN_OP_QUANTIZE_LINEAR || op == QRUN_OP_DEQUANTIZE_LINEAR || !lw_is_unit(L, k))
        return QRUN_OK;
    char why[LW_WHY] = "", target[LW_WHY] = "", op_type[LW_WHY];
    snprintf(op_type, sizeof op_type, "%s", lw_node(L, k)->op_type); /* before any retyping */
    bool done = false;
    qrun_status st = QRUN_OK;
    const lw_contrib *c = lw_contrib_of(op);
    if (op == QRUN_OP_CONV || op == QRUN_OP_MATMUL || op == QRUN_OP_GEMM)
        st = lw_compute_unit(L, k, &done, why, target);
    else if (lw_is_movement(op))
        st = lw_movement_unit(L, k, &done, why, target);
    else if (op == QRUN_OP_CONV_TRANSPOSE)
        snprintf(why, LW_WHY, "no integer kernel for ConvTranspose");
    else if (op == QRUN_OP_RELU || op == QRUN_OP_CLIP)
        snprintf(why, LW_WHY, "%s alone is not lowered (it folds into a lowered op before it)",
                 lw_node(L, k)->op_type);
    else if (!c)
        snprintf(why, LW_WHY, "%s has no QDQ lowering rule", lw_node(L, k)->op_type);
    /* Concat of unequal parameters is no data movement: it requantizes (QLinearConcat). */
    if (st == QRUN_OK && !done && c)
        st = lw_contrib_unit(L, k, c, &done, why, target);
    if (st != QRUN_OK)
        return st;
    return lw_report(L, lw_node(L, k)->name, op_type, done ? target : NULL, done ? NULL : why);
}

/* ---- DQ duplication ---------------------------------------------------------- */

/*
 * A DQ read by several nodes gets one copy per extra reader, so each unit
 * owns its DQ (ORT does the same). Graph outputs keep the original.
 */
static qrun_status lw_duplicate_dqs(lw *L) {
    int n_nodes = L->g->n_nodes;
    for (int d = 0; d < n_nodes; d++) {
        if (lw_node(L, d)->op != QRUN_OP_DEQUANTIZE_LINEAR || lw_node(L, d)->n_outputs < 1 ||
            lw_node(L, d)->outputs[0] < 0)
            continue;
        int v = lw_node(L, d)->outputs[0];
        bool kept = lw_val(L, v)->is_output;
        for (int k = 0; k < n_nodes && L->uses[v] > 1; k++) {
            for (int i = 0; i < lw_node(L, k)->n_inputs && L->uses[v] > 1; i++) {
                if (lw_node(L, k)->inputs[i] != v)
                    continue;
                if (!kept) {
                    kept = true; /* the first reader keeps the original */
                    continue;
                }
                char base[LW_WHY];
                snprintf(base, sizeof base, "%s_dup", lw_val(L, v)->name);
                int nv = lw_add_value(L, base);
                if (nv < 0)
                    return lw_nomem(L);
                const qrun_node *dq = lw_node(L, d);
                int nd =
                    lw_add_node(L, dq->name, dq->op, dq->opset, dq->n_inputs, dq->inputs, 1, &nv);
                if (nd < 0)
                    return lw_nomem(L);
                qrun_status st = qrun_node_copy_attrs(L->g, nd, d);
                if (st != QRUN_OK)
                    return qrun_errf(L->err, st, "cannot copy the attributes of '%s'",
                                     lw_node(L, d)->name);
                lw_node(L, k)->inputs[i] = nv;
                L->uses[v]--;
                L->uses[nv]++;
            }
        }
    }
    return QRUN_OK;
}

/* ---- entry ------------------------------------------------------------------ */

void qrun_lower_report_free(const qrun_allocator *a, qrun_lower_report *rep) {
    if (!rep)
        return;
    for (int i = 0; i < rep->n; i++) {
        qrun_free(a, rep->units[i].node);
        qrun_free(a, rep->units[i].op);
        qrun_free(a, rep->units[i].target);
        qrun_free(a, rep->units[i].reason);
    }
    qrun_free(a, rep->units);
    memset(rep, 0, sizeof *rep);
}

qrun_status qrun_lower_qdq(qrun_graph *g,
                           qrun_lower_supports_fn supports,
                           void *ud,
                           qrun_lower_report *rep,
                           qrun_err *err) {
    memset(rep, 0, sizeof *rep);
    lw L = {.g = g, .supports = supports, .ud = ud, .rep = rep, .err = err};
    qrun_status st = lw_fit(&L);
    if (st == QRUN_OK) {
        lw_count_uses(&L);
        st = lw_duplicate_dqs(&L);
    }
    /* Duplicates are appended; visiting in the (topological) order of the originals. */
    int n_orig = g->n_nodes;
    for (int k = 0; k < n_orig && st == QRUN_OK; k++) {
        if (!L.dead[k])
            st = lw_visit(&L, k);
    }
    if (st == QRUN_OK) {
        qrun_graph_remove_nodes(g, L.dead);
        st = qrun_graph_toposort(g, err);
    }
    qrun_free(g->alloc, L.uses);
    qrun_free(g->alloc, L.dead);
    return st;
}
