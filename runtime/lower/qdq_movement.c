/* SPDX-License-Identifier: Apache-2.0 */
/* QDQ lowering (see qdq.h): data-movement units, which commute with a per-tensor Q/DQ. */
#include "runtime/lower/qdq_internal.h"

#include "runtime/dtype.h"

#include <stdio.h>
#include <string.h>

/* ---- data movement ---------------------------------------------------------- */

bool lw_is_movement(qrun_op op) {
    switch (op) {
    case QRUN_OP_RESHAPE:
    case QRUN_OP_TRANSPOSE:
    case QRUN_OP_FLATTEN:
    case QRUN_OP_SQUEEZE:
    case QRUN_OP_UNSQUEEZE:
    case QRUN_OP_SLICE:
    case QRUN_OP_GATHER:
    case QRUN_OP_RESIZE:
    case QRUN_OP_MAX_POOL:
    case QRUN_OP_CONCAT:
        return true;
    default:
        return false;
    }
}

/* Op-specific conditions for commuting with a per-tensor Q/DQ. */
static bool lw_movement_ok(lw *L, int k, char *why) {
    const qrun_node *n = lw_node(L, k);
    if (n->op == QRUN_OP_RESIZE && strcmp(qrun_node_attr_string(n, "mode", "nearest"), "nearest")) {
        snprintf(why, LW_WHY, "Resize mode is %s, not nearest",
                 qrun_node_attr_string(n, "mode", ""));
        return false;
    }
    if (n->op == QRUN_OP_MAX_POOL && n->n_outputs > 1 && n->outputs[1] >= 0) {
        snprintf(why, LW_WHY, "MaxPool also returns Indices");
        return false;
    }
    return true;
}

/* The quantized inputs of movement node k: slot 0, or every slot for Concat. */
static int lw_movement_slots(const qrun_node *n) {
    return n->op == QRUN_OP_CONCAT ? n->n_inputs : 1;
}

static bool lw_movement_supported(lw *L, int k, qrun_dtype qt, const int *in, char *why) {
    const qrun_node *n = lw_node(L, k);
    qrun_dtype dt[LW_MAX_IN] = {0};
    int slots = lw_movement_slots(n);
    for (int i = 0; i < slots && i < LW_MAX_IN; i++)
        dt[i] = qt;
    return lw_supported(L, k, n->op, n->opset, n->n_inputs, in, dt, why);
}

/* DQ(x) -> op [-> Q with the same parameters]: run op on x. */
static qrun_status lw_movement_from_dq(lw *L, int k, bool *done, char *why, char *target) {
    const qrun_node *n = lw_node(L, k);
    int slots = lw_movement_slots(n);
    if (n->n_inputs > LW_MAX_IN) {
        snprintf(why, LW_WHY, "too many inputs");
        return QRUN_OK;
    }
    lw_qp in[LW_MAX_IN], y;
    int ins[LW_MAX_IN];
    for (int i = 0; i < n->n_inputs; i++)
        ins[i] = n->inputs[i];
    for (int i = 0; i < slots; i++) {
        if (lw_input_dq(L, k, i, &in[i], why) < 0)
            return QRUN_OK;
        if (in[i].n != 1) {
            snprintf(why, LW_WHY, "input %d is quantized per axis", i);
            return QRUN_OK;
        }
        if (i > 0 && !lw_same_qp(L, &in[0], &in[i])) {
            snprintf(why, LW_WHY, "inputs have different scales/zero points (needs QLinearConcat)");
            return QRUN_OK;
        }
        ins[i] = in[i].q;
    }
    int out = n->outputs[0];
    int c = lw_sole_consumer(L, out);
    bool to_q = c >= 0 && lw_node(L, c)->op == QRUN_OP_QUANTIZE_LINEAR;
    if (to_q) {
        if (!lw_read_qp(L, c, &y, why))
            return QRUN_OK;
        if (!lw_same_qp(L, &in[0], &y)) {
            snprintf(why, LW_WHY,
                     "QuantizeLinear '%s' after it has a different scale/zero point than its "
                     "input",
                     lw_node(L, c)->name);
            return QRUN_OK;
        }
    }
    if (!lw_movement_supported(L, k, in[0].qtype, ins, why))
        return QRUN_OK;
    const char *op_type = lw_node(L, k)->op_type;
    for (int i = 0; i < slots; i++)
        lw_kill(L, in[i].node);
    if (lw_set_inputs(L, k, lw_node(L, k)->n_inputs, ins))
        return lw_nomem(L);
    if (to_q) {
        /* Same parameters on both sides: the DQ/Q pair is the identity on x. */
        lw_kill(L, c);
        lw_set_output(L, k, 0, y.q);
        snprintf(target, LW_WHY, "%s on %s", op_type, qrun_dtype_name(in[0].qtype));
    } else {
        /* Float consumers: the DQ moves after the op (a later unit may take it). */
        char base[LW_WHY];
        snprintf(base, sizeof base, "%s_quantized", lw_val(L, out)->name);
        int t = lw_add_value(L, base);
        if (t < 0)
            return lw_nomem(L);
        lw_set_output(L, k, 0, t);
        if (lw_add_dq_like(L, &in[0], t, out) < 0)
            return lw_nomem(L);
        snprintf(target, LW_WHY, "%s on %s, DequantizeLinear moved after it",
                 lw_node(L, k)->op_type, qrun_dtype_name(in[0].qtype));
    }
    *done = true;
    return QRUN_OK;
}

/* x -> op -> Q (per tensor): quantize first, run op on the quantized tensor. */
static qrun_status lw_movement_to_q(lw *L, int k, bool *done, char *why, char *target) {
    const qrun_node *n = lw_node(L, k);
    lw_qp y;
    if (n->op == QRUN_OP_CONCAT) {
        snprintf(why, LW_WHY, "inputs are not DequantizeLinear outputs");
        return QRUN_OK;
    }
    int out = n->outputs[0];
    int c = lw_output_q(L, k, out, &y, why);
    if (c < 0)
        return QRUN_OK;
    int ins[LW_MAX_IN];
    if (n->n_inputs > LW_MAX_IN)
        return QRUN_OK;
    for (int i = 0; i < n->n_inputs; i++)
        ins[i] = n->inputs[i];
    if (!lw_movement_supported(L, k, y.qtype, ins, why))
        return QRUN_OK;
    /* Q reads the op's input into a new value; the op then writes Q's output. */
    char base[LW_WHY];
    snprintf(base, sizeof base, "%s_quantized", lw_val(L, ins[0])->name);
    int t = lw_add_value(L, base);
    if (t < 0)
        return lw_nomem(L);
    int q_in[3];
    const qrun_node *q = lw_node(L, c);
    for (int i = 0; i < q->n_inputs && i < 3; i++)
        q_in[i] = q->inputs[i];
    q_in[0] = ins[0];
    if (lw_set_inputs(L, c, lw_node(L, c)->n_inputs, q_in))
        return lw_nomem(L);
    lw_set_output(L, c, 0, t);
    ins[0] = t;
    if (lw_set_inputs(L, k, lw_node(L, k)->n_inputs, ins))
        return lw_nomem(L);
    lw_set_output(L, k, 0, y.q);
    snprintf(target, LW_WHY, "%s on %s, QuantizeLinear moved before it", lw_node(L, k)->op_type,
             qrun_dtype_name(y.qtype));
    *done = true;
    return QRUN_OK;
}

qrun_status lw_movement_unit(lw *L, int k, bool *done, char *why, char *target) {
    *done = false;
    if (!lw_movement_ok(L, k, why))
        return QRUN_OK;
    if (lw_producer(L, lw_node(L, k)->inputs[0], QRUN_OP_DEQUANTIZE_LINEAR) >= 0)
        return lw_movement_from_dq(L, k, done, why, target);
    return lw_movement_to_q(L, k, done, why, target);
}
