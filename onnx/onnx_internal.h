/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the files of onnx/; protobuf-c types stay inside this folder. */
#ifndef QRUN_ONNX_INTERNAL_H
#define QRUN_ONNX_INTERNAL_H

#include "onnx/onnx.pb-c.h"
#include "runtime/error.h"
#include "runtime/tensor.h"

#include <stdbool.h>
#include <stddef.h>

/* Defaults of qrun_limits.max_model_bytes and max_nesting (runtime/limits.c), for callers
 * without a context (the writer's round trip). */
#define ONNX_MAX_FILE_BYTES ((size_t)2 << 30)
#define ONNX_MAX_NESTING 100

/*
 * A ProtobufCAllocator forwarding to a qrun_allocator. `failed` records an
 * allocation failure, so a NULL from unpack can be told apart (NOMEM) from
 * malformed input (MODEL). Use &x.pb with protobuf-c; x must not move.
 */
typedef struct onnx_pb_alloc {
    ProtobufCAllocator pb;
    const qrun_allocator *alloc;
    bool failed;
} onnx_pb_alloc;

void onnx_pb_alloc_init(onnx_pb_alloc *x, const qrun_allocator *alloc);

/**
 * @brief Check that data is well-formed wire format for desc with nesting no
 * deeper than max_depth, without recursing deeper than that: protobuf-c's
 * parser recurses once per nested message and has no limit of its own.
 */
bool onnx_pb_check_nesting(const ProtobufCMessageDescriptor *desc,
                           const uint8_t *data,
                           size_t size,
                           int max_depth);

/*
 * A wire-format pre-pass over a protobuf before protobuf-c parses it: checks
 * the nesting depth (protobuf-c's parser recurses once per nested message and
 * has no limit of its own) and, with limits set, counts the messages whose
 * number protobuf-c would turn into allocations (nodes, initializers, graph
 * inputs/outputs/value_info, attributes per node) and estimates what
 * protobuf-c will allocate, so a small file cannot make it allocate
 * gigabytes of message structs and string copies.
 */
/* Bound on protobuf-c's allocations for one parse: ONNX_PARSE_FACTOR x input size + slack. */
#define ONNX_PARSE_FACTOR 16
#define ONNX_PARSE_SLACK ((uint64_t)64 << 20)

typedef struct onnx_pb_scan {
    int max_depth;
    const qrun_limits *limits; /* NULL: nesting only */
    int64_t n_nodes, n_initializers;
    uint64_t parse_bytes; /* estimate (upper bound) of what protobuf-c will allocate */
    const char *exceeded; /* after a failure: the qrun_limits field passed, "parse_bytes" when
                             the estimate passes the parse bound, NULL if malformed */
    int64_t value;        /* that limit's value (the estimate for "parse_bytes") */
} onnx_pb_scan;

/** @brief Run the pre-pass; false when data is malformed or s->exceeded names a limit. */
bool onnx_pb_scan_run(onnx_pb_scan *s,
                      const ProtobufCMessageDescriptor *desc,
                      const uint8_t *data,
                      size_t size);

/**
 * @brief Read a whole regular file (at most max_bytes) into memory from alloc.
 * QRUN_E_IO when it cannot be opened/read, QRUN_E_MODEL when too large.
 */
qrun_status onnx_read_whole_file(const char *path,
                                 const qrun_allocator *alloc,
                                 size_t max_bytes,
                                 uint8_t **out,
                                 size_t *size,
                                 qrun_err *err);

/** @brief Create or truncate path and write buf[0..n) to it. QRUN_E_IO naming the file. */
qrun_status onnx_write_whole_file(const char *path, const uint8_t *buf, size_t n, qrun_err *err);

/**
 * @brief Describe t as a TensorProto in *tp (dims copied into dims_buf, which
 * holds QRUN_MAX_RANK; raw_data borrows t->data; name left unset). FP8 and
 * 4/2-bit types keep their ONNX data_type; FLOAT8E3M4, STRING and UNDEFINED
 * give QRUN_E_UNSUPPORTED. what names the tensor in messages.
 */
qrun_status onnx_tensor_to_proto(const struct qrun_tensor *t,
                                 const char *what,
                                 int64_t *dims_buf,
                                 Onnx__TensorProto *tp,
                                 qrun_err *err);

/** @brief Pointer to the last path component (the text after the last '/'). */
const char *onnx_basename(const char *path);

/* What decoding a TensorProto may use. */
typedef struct onnx_decode_ctx {
    const char *base_dir; /* folder of external data; NULL: external data refused */
    const qrun_allocator *alloc;
    const qrun_limits *limits; /* never NULL */
    uint64_t *total_bytes;     /* running sum of a model's constant bytes, checked against
                                  limits->max_total_initializer_bytes; NULL: not counted */
} onnx_decode_ctx;

/**
 * @brief Charge nbytes of constant data to dc's byte budget (dc->total_bytes, checked against
 * max_total_initializer_bytes) before it is allocated; QRUN_E_MODEL naming what when passed.
 */
qrun_status
onnx_charge_bytes(const onnx_decode_ctx *dc, size_t nbytes, const char *what, qrun_err *err);

/**
 * @brief Decode a TensorProto into out (zeroed first): shape, dtype and an
 * owned copy of the data (at least one byte allocated so data is never NULL),
 * plus an owned name. STRING tensors keep dtype and shape with data NULL.
 * Rank, element count and byte budget are checked against dc->limits, and
 * the data's declared size against the bytes actually present, before
 * anything is allocated. what names the tensor in messages ("initializer
 * 'w'", "attribute 'value' of node 'c'"). On failure out holds nothing that
 * needs freeing. tp must come from an unpack whose ProtobufCAllocator wraps
 * dc->alloc (see onnx_pb_alloc): its raw_data buffer may be moved into out
 * (tp->raw_data is then cleared), so decode each TensorProto at most once.
 */
qrun_status onnx_tensor_decode(Onnx__TensorProto *tp,
                               const onnx_decode_ctx *dc,
                               const char *what,
                               struct qrun_tensor *out,
                               qrun_err *err);

/**
 * @brief Read the external data of tp (data_location EXTERNAL), which must be
 * exactly nbytes long, from a file strictly inside base_dir into a new buffer
 * from alloc (at least one byte). Everything is validated before allocating.
 * See external_data.c for the rules.
 */
qrun_status onnx_external_read(const Onnx__TensorProto *tp,
                               const char *base_dir,
                               const char *what,
                               const qrun_allocator *alloc,
                               size_t nbytes,
                               void **out,
                               qrun_err *err);

/* String -> int index, open addressing; keys are borrowed (must outlive the map). */
typedef struct onnx_name_map {
    const qrun_allocator *alloc;
    const char **keys;
    int *vals;
    size_t cap; /* power of two */
    size_t n;
} onnx_name_map;

bool onnx_name_map_init(onnx_name_map *m, const qrun_allocator *alloc, size_t expected);
void onnx_name_map_free(onnx_name_map *m);
/** @brief Value stored for key, or -1. */
int onnx_name_map_get(const onnx_name_map *m, const char *key);
/** @brief Insert or overwrite; false on NOMEM. */
bool onnx_name_map_put(onnx_name_map *m, const char *key, int val);

#endif
