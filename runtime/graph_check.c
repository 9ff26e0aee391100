/* SPDX-License-Identifier: Apache-2.0 */
/* Load-time graph validation: arity and attribute types (see graph_check.h). */
#include "runtime/graph_check.h"
#include "runtime/op.h"

#include <string.h>

qrun_status qrun_node_check_arity(const qrun_node *n, qrun_err *err) {
    if (n->op == QRUN_OP_UNKNOWN)
        return QRUN_OK;
    const struct qrun_op_desc *d = qrun_op_desc_get(n->op);
    if (n->n_inputs < d->min_inputs || (d->max_inputs >= 0 && n->n_inputs > d->max_inputs))
        return qrun_errf(err, QRUN_E_MODEL, "has %d inputs; %s takes %d to %d", n->n_inputs,
                         d->name, d->min_inputs, d->max_inputs);
    if (n->n_outputs < d->min_outputs || (d->max_outputs >= 0 && n->n_outputs > d->max_outputs))
        return qrun_errf(err, QRUN_E_MODEL, "has %d outputs; %s gives %d to %d", n->n_outputs,
                         d->name, d->min_outputs, d->max_outputs);
    for (int i = 0; i < n->n_inputs && i < d->min_inputs; i++) {
        if (n->inputs[i] < 0)
            return qrun_errf(err, QRUN_E_MODEL, "required input %d is missing", i);
    }
    /* An omitted ("") required output would leave the kernel nowhere to write. */
    for (int o = 0; o < n->n_outputs && o < d->min_outputs; o++) {
        if (n->outputs[o] < 0)
            return qrun_errf(err, QRUN_E_MODEL, "required output %d is missing", o);
    }
    return QRUN_OK;
}

/*
 * Attribute names with the same type in every ONNX op (and contrib op) that
 * qrun implements. Names whose type depends on the op ("value", "seed") are
 * not listed.
 */
static const struct {
    const char *name;
    qrun_attr_type type;
} k_attr_types[] = {
    {"allowzero", QRUN_ATTR_INT},
    {"alpha", QRUN_ATTR_FLOAT},
    {"antialias", QRUN_ATTR_INT},
    {"auto_pad", QRUN_ATTR_STRING},
    {"axes", QRUN_ATTR_INTS},
    {"axis", QRUN_ATTR_INT},
    {"beta", QRUN_ATTR_FLOAT},
    {"block_size", QRUN_ATTR_INT},
    {"blocksize", QRUN_ATTR_INT},
    {"ceil_mode", QRUN_ATTR_INT},
    {"coordinate_transformation_mode", QRUN_ATTR_STRING},
    {"count_include_pad", QRUN_ATTR_INT},
    {"cubic_coeff_a", QRUN_ATTR_FLOAT},
    {"dilations", QRUN_ATTR_INTS},
    {"epsilon", QRUN_ATTR_FLOAT},
    {"exclude_outside", QRUN_ATTR_INT},
    {"extrapolation_value", QRUN_ATTR_FLOAT},
    {"group", QRUN_ATTR_INT},
    {"keep_aspect_ratio_policy", QRUN_ATTR_STRING},
    {"keepdims", QRUN_ATTR_INT},
    {"kernel_shape", QRUN_ATTR_INTS},
    {"mode", QRUN_ATTR_STRING},
    {"nearest_mode", QRUN_ATTR_STRING},
    {"noop_with_empty_axes", QRUN_ATTR_INT},
    {"output_dtype", QRUN_ATTR_INT},
    {"output_padding", QRUN_ATTR_INTS},
    {"output_shape", QRUN_ATTR_INTS},
    {"pads", QRUN_ATTR_INTS},
    {"perm", QRUN_ATTR_INTS},
    {"saturate", QRUN_ATTR_INT},
    {"select_last_index", QRUN_ATTR_INT},
    {"storage_order", QRUN_ATTR_INT},
    {"strides", QRUN_ATTR_INTS},
    {"to", QRUN_ATTR_INT},
    {"transA", QRUN_ATTR_INT},
    {"transB", QRUN_ATTR_INT},
};

static const char *attr_type_name(qrun_attr_type t) {
    static const char *const names[] = {"UNDEFINED", "FLOAT",   "INT",    "STRING",
                                        "TENSOR",    "GRAPH",   "FLOATS", "INTS",
                                        "STRINGS",   "TENSORS", "GRAPHS"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

static qrun_status check_attr_types(const qrun_node *n, qrun_err *err) {
    for (int a = 0; a < n->n_attrs; a++) {
        const qrun_attr *at = &n->attrs[a];
        for (size_t k = 0; k < sizeof k_attr_types / sizeof k_attr_types[0]; k++) {
            if (strcmp(at->name, k_attr_types[k].name) == 0 && at->type != k_attr_types[k].type)
                return qrun_errf(err, QRUN_E_MODEL, "attribute '%s' must be %s, got %s", at->name,
                                 attr_type_name(k_attr_types[k].type), attr_type_name(at->type));
        }
    }
    return QRUN_OK;
}

qrun_status qrun_graph_check(const qrun_graph *g, qrun_err *err) {
    for (int k = 0; k < g->n_nodes; k++) {
        const qrun_node *n = &g->nodes[k];
        if (n->op == QRUN_OP_UNKNOWN)
            continue;
        qrun_status s = qrun_node_check_arity(n, err);
        if (!s)
            s = check_attr_types(n, err);
        if (s) {
            qrun_err_prefix(err, "node '%s' (%s): ", n->name, n->op_type);
            return s;
        }
    }
    return QRUN_OK;
}
