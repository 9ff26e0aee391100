/* SPDX-License-Identifier: Apache-2.0 */
/* The IR: a graph of values and nodes with typed attributes. No protobuf here. */
#ifndef QRUN_RUNTIME_IR_H
#define QRUN_RUNTIME_IR_H

#include "qrun/qrun.h"
#include "runtime/error.h"
#include "runtime/op.h"
#include "runtime/tensor.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum qrun_attr_type {
    QRUN_ATTR_UNDEFINED = 0,
    QRUN_ATTR_FLOAT,
    QRUN_ATTR_INT,
    QRUN_ATTR_STRING,
    QRUN_ATTR_TENSOR,
    QRUN_ATTR_GRAPH, /* kept by name only: no op of ours takes a subgraph yet */
    QRUN_ATTR_FLOATS,
    QRUN_ATTR_INTS,
    QRUN_ATTR_STRINGS,
    QRUN_ATTR_TENSORS,
    QRUN_ATTR_GRAPHS,
} qrun_attr_type;

typedef struct qrun_attr {
    char *name;
    qrun_attr_type type;
    float f;
    int64_t i;
    char *s; /* NUL-terminated copy; s_len excludes the NUL (bytes may contain NUL) */
    size_t s_len;
    float *floats;          /* n elements */
    int64_t *ints;          /* n elements */
    char **strings;         /* n elements */
    struct qrun_tensor *t;  /* TENSOR: one owned tensor (data owned) */
    struct qrun_tensor *ts; /* TENSORS: n owned tensors */
    size_t n;
} qrun_attr;

typedef enum qrun_value_kind {
    QRUN_VALUE_INTERMEDIATE = 0, /* produced by a node */
    QRUN_VALUE_INPUT,            /* graph input fed at run time */
    QRUN_VALUE_CONSTANT,         /* initializer (or folded constant): data known at load */
} qrun_value_kind;

/*
 * A value (edge of the graph). `info` holds the declared or inferred type:
 * info.dtype may be UNDEFINED and info.rank -1 when unknown; dims are -1
 * where unknown or symbolic (dim_params[k] then holds the symbol, if any).
 * For constants `info.data` holds the bytes (owned by the graph).
 */
typedef struct qrun_value {
    char *name;
    qrun_value_kind kind;
    struct qrun_tensor info;
    char *dim_params[QRUN_MAX_RANK];
    int producer;   /* node index, -1 for inputs/constants */
    bool is_output; /* listed in graph outputs */
} qrun_value;

typedef struct qrun_node {
    char *name; /* never empty: "<op_type>_<index>" when the file has none */
    char *op_type;
    char *domain;  /* "" for ai.onnx (also when the file says "ai.onnx") */
    qrun_op op;    /* QRUN_OP_UNKNOWN when not in our op table */
    int64_t opset; /* version imported for the node's domain */
    int n_inputs;
    int *inputs; /* value indices; -1 for an omitted optional input ("") */
    int n_outputs;
    int *outputs; /* value indices; -1 for an omitted optional output */
    int n_attrs;
    qrun_attr *attrs;
} qrun_node;

typedef struct qrun_opset {
    char *domain;
    int64_t version;
} qrun_opset;

typedef struct qrun_graph {
    const qrun_allocator *alloc;
    int64_t ir_version;
    char *producer_name;
    char *producer_version;
    char *name;
    int n_opsets;
    qrun_opset *opsets;
    int n_values;
    qrun_value *values;
    int n_nodes;
    qrun_node *nodes; /* in topological order after qrun_graph_toposort() */
    int n_inputs;
    int *inputs; /* graph inputs that are fed at run time (initializers excluded) */
    int n_outputs;
    int *outputs;
    int n_initializers;
} qrun_graph;

/* ---- construction (used by the loader and by passes) ---- */
qrun_status qrun_graph_create(const qrun_allocator *alloc, qrun_graph **out);
void qrun_graph_free(qrun_graph *g);
/** @brief Index of the value called name, or -1. Linear in values; the loader uses its own hash. */
int qrun_graph_find_value(const qrun_graph *g, const char *name);
/** @brief Append a value (name copied); returns its index or -1 on NOMEM. */
int qrun_graph_add_value(qrun_graph *g, const char *name, qrun_value_kind kind);
/** @brief Append an empty node; returns its index or -1 on NOMEM. */
int qrun_graph_add_node(qrun_graph *g);
/** @brief Opset version imported for domain ("" and "ai.onnx" are the same), or -1. */
int64_t qrun_graph_opset(const qrun_graph *g, const char *domain);
/**
 * @brief Sort nodes topologically (stable: file order among ready nodes), set
 * each value's producer, and check that every used value is defined exactly
 * once. Errors name the node and the value.
 */
qrun_status qrun_graph_toposort(qrun_graph *g, qrun_err *err);

/* ---- editing (graph passes) ----
 * Node and value indices stay valid across these calls, pointers into
 * g->nodes / g->values do not (adding reallocates). Producers are not
 * maintained: a pass keeps them itself or calls qrun_graph_toposort at the end.
 */
/** @brief Append a node (name copied; op_type and domain from the op table; no attributes). Index
 * or -1 on NOMEM. */
int qrun_graph_add_op_node(qrun_graph *g,
                           const char *name,
                           qrun_op op,
                           int64_t opset,
                           int n_inputs,
                           const int *inputs,
                           int n_outputs,
                           const int *outputs);
/** @brief Turn node into op (op_type and domain from the op table) at opset; attributes kept. */
qrun_status qrun_node_retype(qrun_graph *g, int node, qrun_op op, int64_t opset);
/** @brief Replace node's inputs with a copy of inputs[0..n). */
qrun_status qrun_node_set_inputs(qrun_graph *g, int node, int n, const int *inputs);
/**
 * @brief Deep-copy node src's attributes onto node dst (appended). Scalar and
 * list attributes only: QRUN_E_UNSUPPORTED for tensor and graph attributes.
 */
qrun_status qrun_node_copy_attrs(qrun_graph *g, int dst, int src);
/** @brief Append an INT attribute to node. */
qrun_status qrun_node_add_attr_int(qrun_graph *g, int node, const char *name, int64_t v);
/** @brief Append a STRING attribute to node (value copied). */
qrun_status qrun_node_add_attr_string(qrun_graph *g, int node, const char *name, const char *v);
/** @brief Remove node's attribute called name, if it has one (others keep their order). */
void qrun_node_remove_attr(qrun_graph *g, int node, const char *name);
/** @brief Append a value named base, or base_1, base_2, ... if taken. Index or -1 on NOMEM. */
int qrun_graph_add_unique_value(qrun_graph *g, const char *base, qrun_value_kind kind);
/** @brief Append a constant (unique name from base) holding a copy of data. Index or -1. */
int qrun_graph_add_constant(qrun_graph *g,
                            const char *base,
                            qrun_dtype dtype,
                            int rank,
                            const int64_t *dims,
                            const void *data);
/** @brief Remove the nodes with dead[i] (others keep their order). Call qrun_graph_toposort after.
 */
void qrun_graph_remove_nodes(qrun_graph *g, const bool *dead);

/* ---- attribute access for shape inference and kernels ---- */
const qrun_attr *qrun_node_attr(const qrun_node *n, const char *name);
int64_t qrun_node_attr_int(const qrun_node *n, const char *name, int64_t dflt);
float qrun_node_attr_float(const qrun_node *n, const char *name, float dflt);
/** @brief String attribute or dflt. */
const char *qrun_node_attr_string(const qrun_node *n, const char *name, const char *dflt);
/** @brief INTS attribute: returns element count and sets *vals; 0 and NULL if absent. */
size_t qrun_node_attr_ints(const qrun_node *n, const char *name, const int64_t **vals);
size_t qrun_node_attr_floats(const qrun_node *n, const char *name, const float **vals);
/** @brief Input i's value index or -1 when absent/omitted. */
static inline int qrun_node_input(const qrun_node *n, int i) {
    return i < n->n_inputs ? n->inputs[i] : -1;
}

/* ---- copies and queries for passes ---- */
/** @brief Deep copy of a graph (values, constant data, nodes, attributes) with src's allocator. */
qrun_status qrun_graph_clone(const qrun_graph *src, qrun_graph **out);
/** @brief Number of node inputs reading value v; *first (may be NULL) gets the first such node or
 * -1. */
int qrun_graph_consumers(const qrun_graph *g, int v, int *first);

#endif
