/* SPDX-License-Identifier: Apache-2.0 */
/* IR -> ONNX files: the model writer and the opset converter it relies on. No protobuf types here.
 */
#ifndef QRUN_ONNX_WRITER_H
#define QRUN_ONNX_WRITER_H

#include "qrun/qrun.h"
#include "runtime/error.h"
#include "runtime/ir.h"
#include "runtime/tensor.h"

#include <stddef.h>

/*
 * The writer serialises g as a ModelProto: producer "qrun", the graph's
 * opset imports, IR version max(graph's, 4, what the ai.onnx opset and the
 * dtypes need), nodes in g's order (Constant nodes with their "value"
 * tensor), every constant some node reads or the graph outputs as an
 * initializer (raw_data, FP8 and 4-bit included; unread constants are
 * dropped), graph inputs/outputs with dtype and shape (symbolic dims kept by
 * name), and a value_info for every intermediate whose dtype is known.
 * Every node must be at its domain's imported opset (onnx_opset_upgrade
 * makes it so). Refused with a message naming the value, node or attribute:
 * FLOAT8E3M4 and STRING tensors (QRUN_E_UNSUPPORTED), subgraph attributes
 * (kept by name only at load).
 */
qrun_status onnx_save_bytes(
    const qrun_graph *g, const qrun_allocator *alloc, void **out, size_t *size, qrun_err *err);
/** @brief onnx_save_bytes into a file (created or truncated). */
qrun_status onnx_save_file(const char *path, const qrun_graph *g, qrun_err *err);

/**
 * @brief Deep copy of g through the wire format (what the writer keeps is
 * what is copied; every node keeps its own opset). g must be topologically
 * sorted.
 */
qrun_status onnx_graph_copy(const qrun_graph *g, qrun_graph **out, qrun_err *err);

/* ---- opset upgrade (onnx/opset_upgrade.c) ---- */

/* The newest ai.onnx opset the upgrade knows the changes up to. */
#define ONNX_MAX_OPSET 23

/* A value's dtype and shape before the upgrade (UNDEFINED / rank -1 / dim -1 when unknown). */
typedef struct onnx_value_type {
    qrun_dtype dtype;
    int rank;
    int64_t dims[QRUN_MAX_RANK];
} onnx_value_type;

/**
 * @brief Rewrite every ai.onnx node below opset target so that it means the
 * same at target, then import target. types[v] (n_types entries, may be
 * NULL) tells the dtype/shape of the graph's values where a step needs them
 * (Softmax's axis check, Clip/Pad scalar inputs, Resize-11 roi). A node that
 * cannot be converted is refused with QRUN_E_UNSUPPORTED naming the node, its
 * op and why. Nodes newer than target are refused (no downgrades).
 */
qrun_status onnx_opset_upgrade(
    qrun_graph *g, int64_t target, const onnx_value_type *types, int n_types, qrun_err *err);

/** @brief Lowest ai.onnx opset that has what QuantizeLinear/DequantizeLinear node n uses
 * (10; per-axis 13; FP8, 16-bit float scales or `saturate` 19; 4/16-bit integers 21). */
int64_t onnx_qdq_min_opset(const qrun_graph *g, const qrun_node *n);
/**
 * @brief Q/DQ nodes a pass placed at an opset newer than the graph imports
 * are moved down to max(imported, onnx_qdq_min_opset): their meaning is the
 * same there, and the rest of the graph then needs no more upgrade than the
 * quantization requires.
 */
void onnx_qdq_settle_opsets(qrun_graph *g);
/** @brief The ai.onnx opset the graph must import: max(imported, every node's). */
int64_t onnx_graph_needed_opset(const qrun_graph *g);

#endif
