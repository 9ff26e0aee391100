/* SPDX-License-Identifier: Apache-2.0 */
/* Test support: build multi-node ONNX models (protobuf-c) node by node, then pack them. */
#ifndef QRUN_TESTS_GRAPH_BUILDER_H
#define QRUN_TESTS_GRAPH_BUILDER_H

#include "onnx/onnx.pb-c.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Everything a gbuild allocates (messages, copies of names and data) is freed
 * by gb_free; strings passed in are copied. Element types are ONNX
 * TensorProto.DataType numbers (1 float, 2 uint8, 3 int8, 6 int32, 7 int64,
 * 17 float8e4m3fn, ...).
 */
typedef struct gbuild gbuild;

/** @brief Empty model: IR 9, ai.onnx opset `opset`. */
gbuild *gb_new(int64_t opset);
void gb_free(gbuild *b);
/** @brief Graph input; a negative dim is symbolic ("N"). */
void gb_input(gbuild *b, const char *name, int elem_type, int rank, const int64_t *dims);
/** @brief Graph output (type left to inference). */
void gb_output(gbuild *b, const char *name);
/** @brief Initializer from raw little-endian bytes (nbytes must match the shape). */
void gb_init(gbuild *b,
             const char *name,
             int elem_type,
             int rank,
             const int64_t *dims,
             const void *raw,
             size_t nbytes);
/** @brief Scalar initializers. */
void gb_scalar_f32(gbuild *b, const char *name, float v);
void gb_scalar_i8(gbuild *b, const char *name, int8_t v);
void gb_scalar_u8(gbuild *b, const char *name, uint8_t v);
/**
 * @brief Append a node. ins/outs are space-separated value names ("-" for an
 * omitted optional input).
 */
Onnx__NodeProto *
gb_node(gbuild *b, const char *op, const char *name, const char *ins, const char *outs);
void gb_attr_int(gbuild *b, Onnx__NodeProto *n, const char *name, int64_t v);
void gb_attr_ints(gbuild *b, Onnx__NodeProto *n, const char *name, int count, const int64_t *v);
void gb_attr_float(gbuild *b, Onnx__NodeProto *n, const char *name, float v);
void gb_attr_string(gbuild *b, Onnx__NodeProto *n, const char *name, const char *v);
/** @brief Serialize into a malloc'd buffer (free it). */
uint8_t *gb_pack(gbuild *b, size_t *n);

#endif
