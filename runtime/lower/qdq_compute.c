/* SPDX-License-Identifier: Apache-2.0 */
/* QDQ lowering (see qdq.h): Conv, MatMul and Gemm units into QLinearConv, QLinearMatMul and QGemm
 * (integer or FP8). */
#include "runtime/lower/qdq_internal.h"

#include "runtime/quant.h"

#include <math.h>
#include <stdio.h>

/* ---- Conv / MatMul ---------------------------------------------------------- */

/*
 * Bias scale tolerance: the float path adds b * s_b, the integer op adds b
 * units of s_x * s_w; a relative mismatch e moves the result by |b| s_b e,
 * far below one output step for e ~ float32 rounding (2^-20).
 */
#define LW_BIAS_REL_TOL 0x1p-20

static bool lw_bias_ok(lw *L, int k, const lw_qp *x, const lw_qp *w, lw_qp *b, char *why) {
    if (lw_input_dq(L, k, 2, b, why) < 0)
        return false;
    const struct qrun_tensor *bq = &lw_val(L, b->q)->info;
    if (bq->dtype != QRUN_DTYPE_INT32 || bq->rank != 1) {
        snprintf(why, LW_WHY, "bias is not a 1-D int32 DequantizeLinear");
        return false;
    }
    int64_t m = bq->dims[0];
    if ((b->n != 1 && b->n != m) || (w->n != 1 && w->n != m)) {
        snprintf(why, LW_WHY, "bias and weight scales do not match the %lld output channels",
                 (long long)m);
        return false;
    }
    for (int64_t c = 0; c < m; c++) {
        double want = (double)lw_scale(L, x, 0) * (double)lw_scale(L, w, c);
        double got = lw_scale(L, b, c);
        if (lw_zp(L, b, c) != 0.0) {
            snprintf(why, LW_WHY, "bias zero point of channel %lld is not 0", (long long)c);
            return false;
        }
        if (!(fabs(got - want) <= LW_BIAS_REL_TOL * fabs(want))) {
            snprintf(why, LW_WHY, "bias scale of channel %lld is %g, not x_scale*w_scale = %g",
                     (long long)c, got, want);
            return false;
        }
    }
    return true;
}

/*
 * Weight granularity: per tensor, or per output channel: Conv's axis 0, the
 * last axis of MatMul's 2-D B, Gemm's N axis (0 with transB, else 1).
 */
static bool lw_weight_axis_ok(lw *L, int k, const lw_qp *w, char *why) {
    if (w->n == 1)
        return true;
    const qrun_node *n = lw_node(L, k);
    int rank = lw_val(L, w->q)->info.rank;
    int64_t axis = w->axis < 0 ? w->axis + rank : w->axis;
    int64_t want = n->op == QRUN_OP_CONV   ? 0
                   : n->op == QRUN_OP_GEMM ? (qrun_node_attr_int(n, "transB", 0) ? 0 : 1)
                                           : rank - 1;
    if (rank >= 0 && axis == want && (n->op == QRUN_OP_CONV || rank == 2))
        return true;
    snprintf(why, LW_WHY, "weights are quantized per axis %lld, not per output channel (axis %lld)",
             (long long)w->axis, (long long)want);
    return false;
}

static bool lw_any_small_float(const lw_qp *const *qps, int n) {
    for (int i = 0; i < n; i++) {
        if (qrun_quant_is_small_float(qps[i]->qtype))
            return true;
    }
    return false;
}

/*
 * Conv -> QLinearConv, MatMul -> QLinearMatMul, Gemm -> com.microsoft QGemm:
 * per-tensor activations, per-tensor or per-output-channel weights, and for
 * Conv/Gemm an int32 bias DQ of scale s_x * s_w.
 */
qrun_status lw_compute_unit(lw *L, int k, bool *done, char *why, char *target) {
    const qrun_node *n = lw_node(L, k);
    qrun_op src = n->op;
    lw_qp x, w, b;
    lw_unit u = {0};
    *done = false;
    if (src == QRUN_OP_GEMM) {
        u.op = qrun_op_lookup("com.microsoft", "QGemm");
        if (u.op == QRUN_OP_UNKNOWN) {
            snprintf(why, LW_WHY, "no integer kernel for Gemm (needs com.microsoft QGemm)");
            return QRUN_OK;
        }
        if (qrun_node_attr_float(n, "alpha", 1.0f) != 1.0f ||
            qrun_node_attr_float(n, "beta", 1.0f) != 1.0f || qrun_node_attr_int(n, "transA", 0)) {
            snprintf(why, LW_WHY, "Gemm has alpha or beta other than 1, or transA");
            return QRUN_OK;
        }
    }
    if (lw_input_dq(L, k, 0, &x, why) < 0 || lw_input_dq(L, k, 1, &w, why) < 0)
        return QRUN_OK;
    if (x.n != 1) {
        snprintf(why, LW_WHY, "input 0 is quantized per axis");
        return QRUN_OK;
    }
    if (!lw_weight_axis_ok(L, k, &w, why))
        return QRUN_OK;
    bool has_bias = src != QRUN_OP_MATMUL && qrun_node_input(n, 2) >= 0;
    if (has_bias && !lw_bias_ok(L, k, &x, &w, &b, why))
        return QRUN_OK;
    if (!lw_match_output(L, k, &u.act, &u.y, why))
        return QRUN_OK;
    const lw_qp *all[] = {&x, &w, &u.y};
    bool fp8 = lw_any_small_float(all, 3);
    if (fp8 && !(qrun_quant_is_small_float(x.qtype) && qrun_quant_is_small_float(w.qtype) &&
                 qrun_quant_is_small_float(u.y.qtype))) {
        /* the integer and FP8 kernels each take one family (PTQ makes such units: exact uint8
         * pixels into an FP8 layer, or per-node formats) */
        snprintf(why, LW_WHY, "mixes 8-bit integer and FP8 operands");
        return QRUN_OK;
    }
    if (src != QRUN_OP_GEMM) {
        u.op = src == QRUN_OP_CONV ? QRUN_OP_QLINEAR_CONV : QRUN_OP_QLINEAR_MATMUL;
        u.opset = lw_opset(L, fp8 ? 21 : 10);
    } else {
        u.opset = lw_contrib_opset(L);
    }
    lw_push_dq(&u, &x);
    lw_push_dq(&u, &w);
    if (src == QRUN_OP_GEMM) /* QGemm: A, B triples, C, then y */
        lw_push(&u, has_bias ? b.q : -1, 0, NULL);
    lw_push_y(&u);
    if (src == QRUN_OP_CONV && has_bias)
        lw_push(&u, b.q, 0, NULL);
    if (has_bias)
        u.dq[u.n_dq++] = b.node; /* at most 9 inputs and 3 DQs: within LW_MAX_IN */
    return lw_commit(L, k, &u, done, why, target);
}
