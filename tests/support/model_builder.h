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

/* Storage for the external_data entries of tmodel_set_external. */
typedef struct tmodel_ext {
    Onnx__StringStringEntryProto e[3];
    Onnx__StringStringEntryProto *ep[3];
} tmodel_ext;

/** @brief Make W external data at location loc, with offset/length when not NULL. */
void tmodel_set_external(
    tmodel *t, tmodel_ext *x, const char *loc, const char *off, const char *len);

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

/*
 * A one-node model of any op, built input by input: graph inputs (typed, with
 * a static shape), initializers (raw little-endian bytes) and omitted optional
 * inputs, plus int attributes. Strings are borrowed; the data is copied.
 */
enum { QM_MAX_IO = 10, QM_MAX_ATTRS = 4, QM_MAX_DIMS = 4, QM_MAX_BYTES = 256 };
typedef struct qm_model {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__NodeProto node;
    Onnx__NodeProto *nodes[1];
    char *node_in[QM_MAX_IO], *node_out[QM_MAX_IO];
    Onnx__AttributeProto attr[QM_MAX_ATTRS];
    Onnx__AttributeProto *attrs[QM_MAX_ATTRS];
    /* graph inputs */
    Onnx__ValueInfoProto in[QM_MAX_IO];
    Onnx__ValueInfoProto *ins[QM_MAX_IO];
    Onnx__TypeProto in_type[QM_MAX_IO];
    Onnx__TypeProto__Tensor in_tt[QM_MAX_IO];
    Onnx__TensorShapeProto in_shape[QM_MAX_IO];
    Onnx__TensorShapeProto__Dimension in_dim[QM_MAX_IO][QM_MAX_DIMS];
    Onnx__TensorShapeProto__Dimension *in_dims[QM_MAX_IO][QM_MAX_DIMS];
    /* graph outputs */
    Onnx__ValueInfoProto out[QM_MAX_IO];
    Onnx__ValueInfoProto *outs[QM_MAX_IO];
    /* initializers */
    Onnx__TensorProto init[QM_MAX_IO];
    Onnx__TensorProto *inits[QM_MAX_IO];
    int64_t init_dims[QM_MAX_IO][QM_MAX_DIMS];
    uint8_t init_data[QM_MAX_IO][QM_MAX_BYTES];
} qm_model;

/** @brief Reset q to an empty graph with one node of op_type named name (ai.onnx at opset). */
void qm_init(qm_model *q, const char *op_type, const char *name, int64_t opset);
/** @brief Next node input: a graph input of ONNX type dtype and shape dims. */
void qm_input(qm_model *q, const char *name, int dtype, int rank, const int64_t *dims);
/** @brief Next node input: an initializer with n raw bytes of data. */
void qm_const(qm_model *q,
              const char *name,
              int dtype,
              int rank,
              const int64_t *dims,
              const void *raw,
              size_t n);
/** @brief Next node input: omitted (""). */
void qm_none(qm_model *q);
/** @brief Next node output, also a graph output. */
void qm_output(qm_model *q, const char *name);
void qm_attr_int(qm_model *q, const char *name, int64_t v);

#endif
