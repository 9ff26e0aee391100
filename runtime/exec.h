/* SPDX-License-Identifier: Apache-2.0 */
/* The executor: plans a graph for given input shapes (shape inference, constant folding, backend
 * assignment, memory plan) and runs the plan. */
#ifndef QRUN_RUNTIME_EXEC_H
#define QRUN_RUNTIME_EXEC_H

#include "runtime/backend.h"
#include "runtime/error.h"
#include "runtime/ir.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * Lifetime: the graph and the backends must outlive the executor. Inputs
 * passed to exec_run stay owned by the caller; outputs are new tensors the
 * caller releases with qrun_tensor_release + free (or the API wrapper).
 *
 * Planning: with the input shapes known, nodes are visited in topological
 * order; each gets shape inference, a backend (the first whose
 * supports_node accepts it), and either folding (all inputs known: run
 * now, output becomes a constant of the plan) or a buffer in the arena.
 * When a node's output shape depends on a value known only at run time
 * (say Reshape of a computed shape), that node and all after it are
 * executed "dynamically": inferred and allocated just before they run.
 */
typedef struct qrun_exec qrun_exec;

/*
 * Observer: called with every graph input when a run starts and with every
 * output of a node right after the node computed it (folded nodes are not
 * reported: their outputs are constants of the plan). The tensor is valid
 * only during the call (it may live in the arena). Used by calibration to
 * collect statistics of every tensor in one pass, and by comparisons.
 */
typedef void (*qrun_exec_observer)(void *ud, int value, const struct qrun_tensor *t);

typedef struct qrun_exec_options {
    int n_threads;
    bool profile;
    bool fold_constants;         /* default true */
    qrun_requant_mode requant;   /* passed to every kernel call */
    qrun_fp8_accum fp8_accum;    /* passed to every kernel call */
    int64_t max_tensor_elements; /* largest planned value (qrun_limits); 0: no limit */
    uint64_t max_arena_bytes;    /* arena + scratch of a plan, scratch of one node (qrun_limits);
                                    0: no limit */
    qrun_exec_observer observe;  /* NULL: none */
    void *observe_ud;
} qrun_exec_options;

/* Per node, indexed like graph->nodes. */
typedef struct qrun_exec_record {
    int backend; /* backend index */
    double ms;   /* wall time of the last run (profile on) */
    bool folded; /* computed at plan time */
    /* Profile on, measured in the last run from the tensors the kernel saw (dynamic shapes
     * change from run to run, so plan-time shapes would not do): */
    int64_t macs;         /* -1: unknown */
    int64_t bytes;        /* inputs read plus outputs written */
    qrun_dtype in_dtype;  /* element type of input 0 (UNDEFINED: none) */
    qrun_dtype out_dtype; /* element type of output 0 */
    char shapes[256];     /* "[1, 3, 224, 224]; [] -> [1, 8]", "..." when cut */
} qrun_exec_record;

qrun_status qrun_exec_create(const qrun_graph *g,
                             const qrun_backend *backends,
                             int n_backends,
                             const qrun_allocator *alloc,
                             const qrun_exec_options *opts,
                             qrun_exec **out,
                             qrun_err *err);
void qrun_exec_free(qrun_exec *x);

/**
 * @brief Plan for inputs with these dtypes/shapes (data ignored). Replaces
 * any previous plan. Errors name the node (and op, domain, opset).
 */
qrun_status
qrun_exec_plan(qrun_exec *x, const struct qrun_tensor *const *inputs, int n_inputs, qrun_err *err);

/**
 * @brief Run; re-plans when input shapes differ from the current plan.
 * outputs[j] receives graph output j (owned data). On failure no output
 * is set.
 */
qrun_status qrun_exec_run(qrun_exec *x,
                          const struct qrun_tensor *const *inputs,
                          int n_inputs,
                          struct qrun_tensor *outputs,
                          int n_outputs,
                          qrun_err *err);

size_t qrun_exec_arena_bytes(const qrun_exec *x);
/** @brief Per-node records of the current plan / last run (n_nodes entries). */
const qrun_exec_record *qrun_exec_records(const qrun_exec *x, int *n);
/** @brief Shape/dtype of value v as planned (NULL if not planned). For reports (MACs). */
const struct qrun_tensor *qrun_exec_value(const qrun_exec *x, int v);

#endif
