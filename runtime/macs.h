/* SPDX-License-Identifier: Apache-2.0 */
/* Multiply-accumulate counts per node, for reports and the simulator. */
#ifndef QRUN_RUNTIME_MACS_H
#define QRUN_RUNTIME_MACS_H

#include "runtime/ir.h"

/**
 * @brief MACs of one execution of node n given its input and output
 * tensors (shapes set). Ops without multiply-accumulates count 0. -1 when
 * a needed shape is missing.
 */
int64_t qrun_node_macs(const qrun_node *n,
                       const struct qrun_tensor *const *inputs,
                       const struct qrun_tensor *const *outputs);

#endif
