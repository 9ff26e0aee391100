/* SPDX-License-Identifier: Apache-2.0 */
/* Graph validation done once at load, before any planning: node arity and attribute types. */
#ifndef QRUN_RUNTIME_GRAPH_CHECK_H
#define QRUN_RUNTIME_GRAPH_CHECK_H

#include "runtime/error.h"
#include "runtime/ir.h"

/**
 * @brief Input/output counts of node n against its op's bounds (ops.def), and
 * every required input present. Message without the node name (callers
 * prefix it). Nodes of unknown ops pass (reported as unsupported elsewhere).
 */
qrun_status qrun_node_check_arity(const qrun_node *n, qrun_err *err);

/**
 * @brief Check every node of g whose op qrun knows: arity (above) and the
 * type of each attribute whose name has one meaning across ONNX ("axis" is
 * an INT, "pads" INTS, "alpha" a FLOAT, "mode" a STRING, ...), so an INT
 * attribute written as a FLOAT is an error rather than silently replaced by
 * its default. Errors name the node and op: "node 'c' (Conv): attribute
 * 'group' must be INT, got FLOAT". Dtype mismatches and shape errors are
 * found by shape inference when the graph is planned.
 */
qrun_status qrun_graph_check(const qrun_graph *g, qrun_err *err);

#endif
