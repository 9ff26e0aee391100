/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to the QDQ lowering pass (runtime/lower/qdq*.c): its state, the matched-unit types, the
 * graph helpers of qdq.c and the unit rules of qdq_compute.c, qdq_contrib.c and qdq_movement.c. */
#ifndef QRUN_RUNTIME_LOWER_QDQ_INTERNAL_H
#define QRUN_RUNTIME_LOWER_QDQ_INTERNAL_H

#include "runtime/lower/qdq.h"

#include <stdbool.h>
#include <stdint.h>

#define LW_WHY 256 /* bytes of a reason or target text */

/* The pass over one graph. */
typedef struct lw {
    qrun_graph *g;
    qrun_lower_supports_fn supports;
    void *ud;
    int *uses; /* per value: node input slots reading it, plus one if it is a graph output */
    size_t uses_cap;
    bool *dead; /* per node */
    size_t dead_cap;
    qrun_lower_report *rep;
    size_t rep_cap;
    qrun_err *err;
} lw;

/* Quantization parameters of one QuantizeLinear or DequantizeLinear node. */
typedef struct lw_qp {
    int node;
    int q;         /* the quantized value: DQ input 0, Q output 0 */
    int scale, zp; /* values; zp -1 when omitted */
    qrun_dtype qtype;
    int64_t n;    /* scale elements: 1 = per tensor */
    int64_t axis; /* per-axis: as written (may be negative) */
} lw_qp;

#define LW_MAX_IN 32 /* inputs of a lowered node */

/* A Relu or Clip between the op and its Q, folded into the output range [lo, hi]. */
typedef struct lw_act {
    int node;   /* Relu/Clip node, -1 when none */
    bool clamp; /* an integer Clip is needed */
    int32_t lo, hi;
} lw_act;

/* A matched unit: the integer node's inputs, the Q/DQ nodes it replaces, its output side. */
typedef struct lw_unit {
    qrun_op op;
    int64_t opset;
    int n_in;
    int in[LW_MAX_IN];
    qrun_dtype dt[LW_MAX_IN]; /* quantized inputs and zero points: their type; else 0 */
    int zp_of[LW_MAX_IN];     /* zero-point slots: index into zq; else -1 */
    lw_qp zq[LW_MAX_IN];
    int n_zq;
    int n_dq;
    int dq[LW_MAX_IN]; /* DQ nodes folded in */
    lw_qp y;
    lw_act act;
} lw_unit;

static inline qrun_value *lw_val(lw *L, int v) {
    return &L->g->values[v];
}

static inline qrun_node *lw_node(lw *L, int k) {
    return &L->g->nodes[k];
}

/* ---- qdq.c: bookkeeping (use counts kept with every change) ---------------- */

qrun_status lw_nomem(lw *L);
void lw_kill(lw *L, int k);
qrun_status lw_set_inputs(lw *L, int k, int n, const int *inputs);
void lw_set_output(lw *L, int k, int slot, int v);
/* A DequantizeLinear like q's (name, opset, scale, zero point) from value x to y; its index or -1.
 */
int lw_add_dq_like(lw *L, const lw_qp *q, int x, int y);
int lw_add_value(lw *L, const char *base);

/* ---- qdq.c: reading the graph ------------------------------------------------- */

int lw_producer(lw *L, int v, qrun_op op);
int lw_sole_consumer(lw *L, int v);
bool lw_read_qp(lw *L, int k, lw_qp *qp, char *why);
float lw_scale(lw *L, const lw_qp *qp, int64_t i);
double lw_zp(lw *L, const lw_qp *qp, int64_t i);
bool lw_same_qp(lw *L, const lw_qp *a, const lw_qp *b);
int lw_input_dq(lw *L, int k, int i, lw_qp *qp, char *why);
int lw_output_q(lw *L, int k, int v, lw_qp *qp, char *why);
int64_t lw_opset(lw *L, int64_t at_least);
int64_t lw_contrib_opset(lw *L);

/* ---- qdq.c: backend check, output side, rewrite -------------------------------- */

bool lw_supported(lw *L,
                  int k,
                  qrun_op op,
                  int64_t opset,
                  int n_in,
                  const int *in,
                  const qrun_dtype *dtypes,
                  char *why);
bool lw_match_output(lw *L, int k, lw_act *act, lw_qp *y, char *why);
bool lw_push(lw_unit *u, int v, qrun_dtype dt, const lw_qp *zp_of);
bool lw_push_dq(lw_unit *u, const lw_qp *q);
bool lw_push_y(lw_unit *u);
qrun_status lw_commit(lw *L, int k, lw_unit *u, bool *done, char *why, char *target);

/* ---- the unit rules: each sets *done, or leaves a reason in why ----------------- */

/* qdq_compute.c: Conv, MatMul, Gemm. */
qrun_status lw_compute_unit(lw *L, int k, bool *done, char *why, char *target);

/* qdq_contrib.c: the com.microsoft QLinear* form of op, or NULL. */
typedef struct lw_contrib lw_contrib;
const lw_contrib *lw_contrib_of(qrun_op op);
qrun_status lw_contrib_unit(lw *L, int k, const lw_contrib *c, bool *done, char *why, char *target);

/* qdq_movement.c: data movement. */
bool lw_is_movement(qrun_op op);
qrun_status lw_movement_unit(lw *L, int k, bool *done, char *why, char *target);

#endif
