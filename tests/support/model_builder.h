/* SPDX-License-Identifier: Apache-2.0 */
/* Test support: craft small ONNX ModelProto messages with protobuf-c structs and load them. */
#ifndef QRUN_TESTS_MODEL_BUILDER_H
#define QRUN_TESTS_MODEL_BUILDER_H

#include "onnx/onnx.pb-c.h"
#include "onnx/onnx_loader.h"
#include "runtime/ir.h"

#include <stddef.h>
#include <stdint.h>

/*
 * A one-node model with inline storage for every message it points to, so tests
 * can tweak any field (or repoint arrays at their own storage) before packing.
 * All strings are borrowed (string literals); nothing needs freeing.
 */
typedef struct tmodel {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__ValueInfoProto in, out;
    Onnx__ValueInfoProto *ins[1], *outs[1];
    Onnx__TypeProto in_type;
    Onnx__TypeProto__Tensor in_tt;
    Onnx__TensorShapeProto in_shape;
    Onnx__TensorShapeProto__Dimension in_dim;
    Onnx__TensorShapeProto__Dimension *in_dims[1];
    Onnx__TensorProto w;
    Onnx__TensorProto *inits[1];
    int64_t w_dims[QRUN_MAX_RANK + 16];
    Onnx__NodeProto node;
    Onnx__NodeProto *nodes[1];
    char *node_in[2];
    char *node_out[1];
    float w_data[2];
} tmodel;

/**
 * @brief Reset t to Y = Add(X, W): IR 8, ai.onnx opset 13, X a float[2] graph input,
 * W a float[2] initializer {1.5, -2} in raw_data (pointing at t->w_data), Y the output.
 */
void tmodel_init(tmodel *t);

/** @brief Serialize m into a malloc'd buffer of *n bytes (free it); asserts on failure. */
uint8_t *pack_model(const Onnx__ModelProto *m, size_t *n);

/**
 * @brief Pack m and load it with onnx_load_bytes (default allocator, external data
 * resolved against base_dir, which may be NULL); expect status want and an error
 * message containing needle, else fail the test.
 */
void expect_fail(const Onnx__ModelProto *m,
                 const char *base_dir,
                 qrun_status want,
                 const char *needle);

/** @brief Pack and load m like expect_fail, expecting success; free with qrun_graph_free. */
qrun_graph *expect_ok(const Onnx__ModelProto *m, const char *base_dir);

/** @brief The value named name in g; fails the test if there is none. */
const qrun_value *find(const qrun_graph *g, const char *name);

/** @brief Create a fresh directory under /tmp; returns its malloc'd path (free it). */
char *tmpdir_make(void);
/** @brief Write n bytes of data to dir/name (created or truncated); asserts on failure. */
void write_file(const char *dir, const char *name, const void *data, size_t n);
/** @brief Remove dir and everything in it (rm -rf). */
void rm_rf(const char *dir);

#endif
