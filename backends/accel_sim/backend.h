/* SPDX-License-Identifier: Apache-2.0 */
/*
 * accel_sim: the accelerator simulator backend, timing mode. It takes the
 * MAC-heavy ops (Conv, MatMul, Gemm and their integer/QLinear forms) whose
 * input dtypes the hardware lists, prices each one at plan time with the
 * closed-form model of timing.h, and computes its values with the cpu_ref
 * kernel (bit-exact reference numerics; the simulator adds cost, not new
 * arithmetic). Every other node falls through to cpu_ref and is not timed.
 */
#ifndef QRUN_ACCEL_SIM_BACKEND_H
#define QRUN_ACCEL_SIM_BACKEND_H

#include "backends/accel_sim/timing.h"
#include "runtime/backend.h"

/** One node planned on accel_sim. */
typedef struct accel_sim_node {
    const qrun_node *node;
    qrun_dtype mac_dtype; /**< the operand dtype that set the MAC rate */
    accel_cost cost;
    void *ref_data; /**< cpu_ref's prepared data for the same node */
} accel_sim_node;

/** @brief Create the backend for hw (copied; its citations are not needed). */
qrun_status
accel_sim_backend_create(const qrun_allocator *alloc, const hw_config *hw, qrun_backend *out);
/** @brief The nodes of the current plan on this backend, in plan order. */
int accel_sim_backend_nodes(void *ctx, const accel_sim_node *const **out);
/** @brief The hardware this backend simulates. */
const hw_config *accel_sim_backend_hw(void *ctx);

#endif
