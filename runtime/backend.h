/* SPDX-License-Identifier: Apache-2.0 */
/* The backend interface: a table of function pointers plus a context. */
#ifndef QRUN_RUNTIME_BACKEND_H
#define QRUN_RUNTIME_BACKEND_H

#include "runtime/error.h"
#include "runtime/ir.h"
#include "runtime/tensor.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * One node execution.
 * Contract: inputs[i] is NULL for an omitted optional input, else a tensor
 * with data. outputs[i] is NULL for an omitted optional output, else a
 * tensor whose dtype/shape were set by shape inference and whose data
 * buffer (nbytes) is allocated; its content is undefined on entry. An
 * output never aliases an input. scratch holds scratch_bytes bytes (as
 * reported by the backend's scratch_bytes for the same call) aligned to 64.
 * op_data is what the backend's prepare_node made for this node (NULL when
 * it has none).
 */
typedef struct qrun_kernel_call {
    const qrun_node *node;
    int n_inputs;
    const struct qrun_tensor *const *inputs;
    int n_outputs;
    struct qrun_tensor *const *outputs;
    void *scratch;
    size_t scratch_bytes;
    const void *op_data;
    int n_threads;
    /* Numerics chosen by the session (zero = defaults): integer requantization of the QLinear*
     * ops, and the accumulator of FP8 conv/matmul. prepare_node sees the same values as run. */
    qrun_requant_mode requant;
    qrun_fp8_accum fp8_accum;
    qrun_err *err;
} qrun_kernel_call;

typedef struct qrun_backend_i {
    const char *(*name)(void *ctx);
    /*
     * Can the backend run this node? inputs as in qrun_kernel_call, but
     * data may be NULL and, at load time, only dtype may be known (rank -1,
     * or dtype UNDEFINED when even that is unknown: answer on what is known).
     * On false, write a one-line reason into why.
     */
    bool (*supports_node)(void *ctx,
                          const qrun_node *node,
                          const struct qrun_tensor *const *inputs,
                          int n_inputs,
                          char *why,
                          size_t why_cap);
    /*
     * (optional) Validate the node for these shapes and precompute what
     * run_node needs (geometry, packed parameters) into *op_data, owned by the
     * backend and released with release_node. Called once per plan, before
     * scratch_bytes; input data is set only for values known when planning
     * (constants), so prepare must not need any other input's data.
     */
    qrun_status (*prepare_node)(void *ctx, const qrun_kernel_call *call, void **op_data);
    /* (optional, required with prepare_node) */
    void (*release_node)(void *ctx, void *op_data);
    /* (optional) scratch needed by run_node for this call (shapes set, data unset). */
    size_t (*scratch_bytes)(void *ctx, const qrun_kernel_call *call);
    qrun_status (*run_node)(void *ctx, const qrun_kernel_call *call);
    /* (optional) */
    void (*free)(void *ctx);
} qrun_backend_i;

typedef struct qrun_backend {
    qrun_backend_i iface;
    void *ctx;
} qrun_backend;

#endif
