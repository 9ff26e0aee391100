/* SPDX-License-Identifier: Apache-2.0 */
/* ONNX files -> IR: model loading and TensorProto tensor files. No protobuf types here. */
#ifndef QRUN_ONNX_LOADER_H
#define QRUN_ONNX_LOADER_H

#include "qrun/qrun.h"
#include "runtime/error.h"
#include "runtime/ir.h"
#include "runtime/tensor.h"

#include <stddef.h>

/*
 * Ownership: a graph returned through *out is owned by the caller and freed
 * with qrun_graph_free(); it allocates only through alloc (NULL: default),
 * which must outlive it. The protobuf is freed before these functions return.
 * On failure *out is NULL and err holds a one-line message naming the file
 * (basename), and the node, value or tensor at fault.
 *
 * Statuses: QRUN_E_IO (file cannot be opened/read), QRUN_E_MODEL (not
 * protobuf, > 2 GiB, invalid graph, bad tensor data, rejected external
 * data), QRUN_E_UNSUPPORTED (valid ONNX we do not handle: IR < 3, rank > 8,
 * segmented or sparse tensors, function attribute references),
 * QRUN_E_NOMEM.
 *
 * The graph: nodes topologically sorted (stable), values for every name,
 * initializers as CONSTANT values (never in graph->inputs, also for IR < 4
 * files that list them as inputs), Constant nodes carrying exactly one
 * TENSOR attribute "value" whatever form the file used, node->op resolved
 * (QRUN_OP_UNKNOWN for ops we lack: reported later by the API layer).
 */

/** @brief Load a model file; external data is resolved inside the file's folder. */
qrun_status
onnx_load_file(const char *path, const qrun_allocator *alloc, qrun_graph **out, qrun_err *err);

/** @brief Load a model from memory; base_dir NULL refuses external data. */
qrun_status onnx_load_bytes(const void *data,
                            size_t size,
                            const char *base_dir,
                            const qrun_allocator *alloc,
                            qrun_graph **out,
                            qrun_err *err);

/*
 * The same within explicit resource limits (NULL: the defaults, which the two
 * functions above use): model size, nesting, node/initializer/io/attribute
 * counts (checked on the wire before protobuf-c allocates), rank, elements
 * per tensor, total constant bytes, string lengths. Errors name the limit.
 */
qrun_status onnx_load_file_limited(const char *path,
                                   const qrun_allocator *alloc,
                                   const qrun_limits *limits,
                                   qrun_graph **out,
                                   qrun_err *err);
qrun_status onnx_load_bytes_limited(const void *data,
                                    size_t size,
                                    const char *base_dir,
                                    const qrun_allocator *alloc,
                                    const qrun_limits *limits,
                                    qrun_graph **out,
                                    qrun_err *err);

/*
 * Tensor files (a serialized TensorProto, as test_data_set_K/input_N.pb).
 * On success *out owns its data (at least one byte allocated) and name
 * (NULL when the file has none), both from alloc; release with
 * qrun_tensor_release(). STRING tensors and external data are refused.
 */
qrun_status onnx_tensor_read_file(const char *path,
                                  const qrun_allocator *alloc,
                                  struct qrun_tensor *out,
                                  qrun_err *err);
qrun_status onnx_tensor_read_bytes(const void *data,
                                   size_t size,
                                   const qrun_allocator *alloc,
                                   struct qrun_tensor *out,
                                   qrun_err *err);

/**
 * @brief Write t as a TensorProto (name, dims, data_type, raw_data). FP8 and
 * 4/2-bit types keep their ONNX data_type; qrun-only types (FLOAT8E3M4),
 * STRING and UNDEFINED give QRUN_E_UNSUPPORTED. QRUN_E_IO on write errors.
 */
qrun_status onnx_tensor_write_file(const char *path, const struct qrun_tensor *t, qrun_err *err);

/** @brief Serialize t as above into a buffer from alloc (*out, *size). */
qrun_status onnx_tensor_write_bytes(const struct qrun_tensor *t,
                                    const qrun_allocator *alloc,
                                    void **out,
                                    size_t *size,
                                    qrun_err *err);

#endif
