/* SPDX-License-Identifier: Apache-2.0 */
/* The public handles' layout, shared by the api/ files (never installed). */
#ifndef QRUN_API_INTERNAL_H
#define QRUN_API_INTERNAL_H

#include "api/context.h"
#include "api/registry.h"
#include "qrun/qrun.h"
#include "runtime/error.h"
#include "runtime/exec.h"
#include "runtime/ir.h"
#include "runtime/lower/qdq.h"

struct qrun_model {
    qrun_context *ctx;
    qrun_graph *g;
    char *path;
    qrun_lower_report lowering;
    struct qrun_ptq_report *ptq; /* quantized tensors (NULL unless made by qrun_quantize_model) */
    qrun_graph *source; /* the graph before QDQ lowering changed it, for qrun_model_save; or NULL */
};

struct qrun_session {
    qrun_context *ctx;
    const qrun_model *model;
    qrun_backend backends[QRUN_MAX_BACKENDS];
    int n_backends;
    qrun_exec *exec;
    bool profile;
    qrun_node_profile *prof;
    qrun_tensor_observer observer;
    void *observer_ud;
};

/**
 * @brief Wrap a graph as a model (takes ownership of g, also on failure).
 * check: every node must have an op some backend knows. path names the
 * model in messages ("<memory>" when NULL).
 */
qrun_status qrun_api_model_from_graph(
    qrun_context *ctx, qrun_graph *g, const char *path, bool check, qrun_model **out);

/** @brief Input i of g must match its declared dtype and static dims; errors name the input. */
qrun_status
qrun_api_check_input(qrun_context *ctx, const qrun_graph *g, int i, const qrun_tensor *t);

/** @brief ctx's error slot cleared; returns QRUN_OK. */
qrun_status qrun_api_ok(qrun_context *ctx);

#endif
