/* SPDX-License-Identifier: Apache-2.0 */
/* QDQ lowering: rewrite DequantizeLinear -> op -> QuantizeLinear node units into integer ops. */
#ifndef QRUN_RUNTIME_LOWER_QDQ_H
#define QRUN_RUNTIME_LOWER_QDQ_H

#include "runtime/error.h"
#include "runtime/ir.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * A QDQ model computes every quantized op as float: DQ(x) -> op -> Q. The
 * pass finds each such node unit and, when the rewrite is exact (or within
 * the requantization rounding the integer op defines), replaces it with the
 * integer-domain op:
 *   Conv   -> QLinearConv     (int32 bias folded; per-channel weights on axis 0)
 *   MatMul -> QLinearMatMul   (per-column weights on the last axis)
 *   Relu / Clip between the op and its Q fold into the output range: Q is
 *   monotone, so Q(max(y, 0)) = max(Q(y), zp) and Q(clip(y, a, b)) =
 *   clip(Q(y), Q(a), Q(b)); an int Clip is added when that range is narrower
 *   than the type's.
 *   Data movement (Reshape, Transpose, Flatten, Squeeze, Unsqueeze, Slice,
 *   Gather, Resize nearest, MaxPool, Concat of equal parameters) commutes with
 *   a per-tensor DQ/Q (an increasing affine map), so it runs on the quantized
 *   tensor: a DQ -> op -> Q pair with identical parameters is dropped, a DQ
 *   followed by float consumers moves after the op, and a Q after the op
 *   moves before it.
 * Every unit (a node of a recognised type next to a DQ or Q, or any node
 * reading a DQ / feeding a Q) gets one report entry: lowered with its
 * target, or left as float DQ -> op -> Q with the reason.
 *
 * Lowered nodes keep the unit's op node name. Only nodes some backend
 * supports are produced: the pass asks `supports` (load-time contract of
 * qrun_backend_i.supports_node: inputs carry dtypes, constants their data,
 * rank -1 where unknown) before each rewrite, so FP8 units lower exactly
 * when a backend runs the FP8 integer op.
 */

typedef struct qrun_lower_unit {
    char *node; /* the unit's op node (the lowered node keeps this name) */
    char *op;   /* its op type before lowering */
    bool lowered;
    char *target; /* what it became ("QLinearConv", "Reshape on int8", ...); "" if not lowered */
    char *reason; /* why it was not lowered; "" if lowered */
} qrun_lower_unit;

typedef struct qrun_lower_report {
    int n;
    qrun_lower_unit *units;
} qrun_lower_report;

typedef bool (*qrun_lower_supports_fn)(void *ud,
                                       const qrun_node *node,
                                       const struct qrun_tensor *const *inputs,
                                       int n_inputs,
                                       char *why,
                                       size_t why_cap);

/**
 * @brief Lower the QDQ node units of g in place (then re-sorts g) and fill
 * rep (free with qrun_lower_report_free, also on failure). Errors are
 * NOMEM/INTERNAL only: a unit that cannot be lowered is reported, not an error.
 */
qrun_status qrun_lower_qdq(qrun_graph *g,
                           qrun_lower_supports_fn supports,
                           void *ud,
                           qrun_lower_report *rep,
                           qrun_err *err);
void qrun_lower_report_free(const qrun_allocator *a, qrun_lower_report *rep);

#endif
