/* SPDX-License-Identifier: Apache-2.0 */
/* The context's layout, shared by the api/ files that implement include/qrun/qrun.h. */
#ifndef QRUN_API_CONTEXT_H
#define QRUN_API_CONTEXT_H

#include "qrun/qrun.h"
#include "backends/accel_sim/hw_config.h"
#include "runtime/backend.h"
#include "runtime/error.h"
#include "runtime/exec.h"
#include "runtime/ir.h"

struct qrun_context {
    const qrun_allocator *alloc;
    qrun_allocator alloc_copy;
    int n_threads;
    bool no_qdq_lowering;
    qrun_limits limits;
    qrun_err err;
};

/** @brief The backend chain of a session (qrun_api.c), chosen backend first. */
int qrun_session_backends_(const qrun_session *sess, const qrun_backend **out);
/** @brief The session's executor, graph, error slot and allocator (for the report APIs). */
const qrun_exec *qrun_session_exec_(const qrun_session *sess);
const qrun_graph *qrun_session_graph_(const qrun_session *sess);
qrun_err *qrun_session_err_(const qrun_session *sess);
const qrun_allocator *qrun_session_alloc_(const qrun_session *sess);
/** @brief Apply opts.sim / opts.sim_dtype to the session's accel_sim backend (qrun_sim_api.c);
 * QRUN_E_ARG for options that do not apply. */
qrun_status
qrun_session_sim_configure_(qrun_session *sess, const qrun_session_options *opts, qrun_err *err);
/** @brief The hardware description behind a qrun_hw handle (qrun_hw_api.c). */
const hw_config *qrun_hw_config_(const qrun_hw *hw);

/** @brief The model's graph as loaded, before QDQ lowering (qrun_api.c), for writing it. */
const qrun_graph *qrun_model_source_graph_(const qrun_model *m);
/** @brief g's declared input types as plan signatures, symbolic dims set to sym_dim (qrun_api.c).
 */
void qrun_declared_inputs_(const qrun_graph *g,
                           struct qrun_tensor *descs,
                           const struct qrun_tensor **ptrs,
                           int64_t sym_dim);

#endif
