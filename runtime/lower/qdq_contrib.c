/* SPDX-License-Identifier: Apache-2.0 */
/* QDQ lowering (see qdq.h): units with an ORT contrib integer form (com.microsoft
 * QLinearAdd..QLinearConcat). */
#include "runtime/lower/qdq_internal.h"

#include <stdio.h>

/* ---- ops with an ORT contrib integer form ---------------------------------- */

/* Source op -> com.microsoft op (looked up at run time: present once its kernels are). */
struct lw_contrib {
    qrun_op src;
    const char *name;
    int n_q; /* quantized inputs: 1, 2, or -1 for every input (Concat) */
};

static const lw_contrib k_contrib[] = {
    {QRUN_OP_ADD, "QLinearAdd", 2},
    {QRUN_OP_MUL, "QLinearMul", 2},
    {QRUN_OP_AVERAGE_POOL, "QLinearAveragePool", 1},
    {QRUN_OP_GLOBAL_AVERAGE_POOL, "QLinearGlobalAveragePool", 1},
    {QRUN_OP_SIGMOID, "QLinearSigmoid", 1},
    {QRUN_OP_LEAKY_RELU, "QLinearLeakyRelu", 1},
    {QRUN_OP_SOFTMAX, "QLinearSoftmax", 1},
    {QRUN_OP_CONCAT, "QLinearConcat", -1},
};

const lw_contrib *lw_contrib_of(qrun_op op) {
    for (size_t i = 0; i < sizeof k_contrib / sizeof k_contrib[0]; i++) {
        if (k_contrib[i].src == op)
            return &k_contrib[i];
    }
    return NULL;
}

/*
 * Add/Mul/pools/Sigmoid/LeakyRelu/Softmax/Concat -> com.microsoft QLinear*:
 * every quantized input and the output per tensor. The attributes carry
 * over (axis, kernel_shape, alpha, ...); QLinearSoftmax also needs the
 * Softmax opset whose semantics it follows.
 */
qrun_status
lw_contrib_unit(lw *L, int k, const lw_contrib *c, bool *done, char *why, char *target) {
    const qrun_node *n = lw_node(L, k);
    lw_unit u = {0};
    lw_qp q[LW_MAX_IN];
    *done = false;
    u.op = qrun_op_lookup("com.microsoft", c->name);
    if (u.op == QRUN_OP_UNKNOWN) {
        snprintf(why, LW_WHY, "no integer kernel for %s (needs com.microsoft %s)", n->op_type,
                 c->name);
        return QRUN_OK;
    }
    int n_q = c->n_q < 0 ? n->n_inputs : c->n_q;
    /* QLinearConcat takes 2 + 3 n inputs. */
    if (3 * n_q + 2 > LW_MAX_IN || n->n_inputs < n_q) {
        snprintf(why, LW_WHY, "%d inputs (at most %d are lowered)", n->n_inputs,
                 (LW_MAX_IN - 2) / 3);
        return QRUN_OK;
    }
    for (int i = 0; i < n_q; i++) {
        if (lw_input_dq(L, k, i, &q[i], why) < 0)
            return QRUN_OK;
        if (q[i].n != 1) {
            snprintf(why, LW_WHY, "input %d is quantized per axis", i);
            return QRUN_OK;
        }
    }
    if (!lw_match_output(L, k, &u.act, &u.y, why))
        return QRUN_OK;
    u.opset = lw_contrib_opset(L);
    if (c->n_q < 0) /* QLinearConcat: y first, then the inputs */
        lw_push_y(&u);
    for (int i = 0; i < n_q; i++)
        lw_push_dq(&u, &q[i]);
    if (c->n_q >= 0)
        lw_push_y(&u);
    int64_t src_opset = n->opset;
    qrun_status st = lw_commit(L, k, &u, done, why, target);
    if (st == QRUN_OK && *done && c->src == QRUN_OP_SOFTMAX &&
        qrun_node_add_attr_int(L->g, k, "opset", src_opset) != QRUN_OK)
        return lw_nomem(L);
    return st;
}
