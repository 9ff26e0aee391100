/* SPDX-License-Identifier: Apache-2.0 */
/* Op enum and descriptor table, both derived from ops.def; shape inference interface. */
#ifndef QRUN_RUNTIME_OP_H
#define QRUN_RUNTIME_OP_H

#include "qrun/qrun.h"
#include "runtime/error.h"
#include "runtime/tensor.h"

#include <stdbool.h>

typedef enum qrun_op {
    QRUN_OP_UNKNOWN = 0,
#define QRUN_OP(id, name, domain, min_in, max_in, min_out, max_out, infer, flags) QRUN_OP_##id,
#include "runtime/ops.def"
#undef QRUN_OP
    QRUN_OP_COUNT
} qrun_op;

enum { QRUN_OPF_SHAPE_ONLY = 1u << 0 };

struct qrun_node;

/*
 * Shape and type inference for one node.
 * Contract: inputs[i] is NULL for an omitted optional input; otherwise its
 * dtype, rank and dims are known (never -1) and data is non-NULL only when
 * the value is known (constants, folded values, values at run time).
 * The function fills outputs[0..n_outputs) dtype/rank/dims (also for
 * outputs the node omits) and nothing else. When it needs the *value* of an
 * input whose data is NULL, it sets need_value and returns QRUN_OK.
 * Errors (QRUN_E_MODEL for invalid attributes/shapes, QRUN_E_UNSUPPORTED for
 * valid but unsupported cases) carry a message without the node name; the
 * caller prefixes it.
 */
typedef struct qrun_infer_ctx {
    const struct qrun_node *node;
    int n_inputs;
    const struct qrun_tensor *const *inputs;
    int n_outputs;
    struct qrun_tensor *outputs;
    bool need_value;
    qrun_err *err;
} qrun_infer_ctx;

typedef qrun_status (*qrun_infer_fn)(qrun_infer_ctx *c);

struct qrun_op_desc {
    const char *name;                                     /* ONNX op_type */
    const char *domain;                                   /* "" = ai.onnx */
    int min_inputs, max_inputs, min_outputs, max_outputs; /* -1 = variadic */
    qrun_infer_fn infer;
    unsigned flags;
};

/** @brief Descriptor of op (the UNKNOWN entry for out-of-range). */
const struct qrun_op_desc *qrun_op_desc_get(qrun_op op);
/** @brief Resolve (domain, op_type) once at load; "ai.onnx" == "". QRUN_OP_UNKNOWN if absent. */
qrun_op qrun_op_lookup(const char *domain, const char *op_type);

/* Declarations of every infer function named in ops.def. */
#define QRUN_OP(id, name, domain, min_in, max_in, min_out, max_out, infer, flags)                  \
    qrun_status infer(qrun_infer_ctx *c);
#include "runtime/ops.def"
#undef QRUN_OP

#endif
