/* SPDX-License-Identifier: Apache-2.0 */
/* Graph editing for passes: deep copy, node removal, new constants and nodes. */
#include "runtime/alloc.h"
#include "runtime/ir.h"

#include <stdio.h>
#include <string.h>

/* Copy of a tensor's dtype/shape/name with its own copy of the data (none when src has none). */
static bool
ir_tensor_copy(const qrun_allocator *a, const struct qrun_tensor *src, struct qrun_tensor *dst) {
    *dst = *src;
    dst->data = NULL;
    dst->owns_data = false;
    dst->name = NULL;
    dst->alloc = a;
    if (src->name && !(dst->name = qrun_strdup(a, src->name)))
        return false;
    if (!src->data)
        return true;
    if (qrun_tensor_alloc_data(dst, a))
        return false;
    if (src->nbytes)
        memcpy(dst->data, src->data, src->nbytes);
    return true;
}

static void *ir_dup(const qrun_allocator *a, const void *src, size_t n, size_t elem) {
    if (!src || !n)
        return NULL;
    void *p = qrun_calloc(a, n, elem);
    if (p)
        memcpy(p, src, n * elem);
    return p;
}

/* Deep copy of an attribute into a zeroed dst; false on NOMEM (dst then holds what was copied). */
static bool ir_attr_copy(const qrun_allocator *a, const qrun_attr *src, qrun_attr *dst) {
    dst->type = src->type;
    dst->f = src->f;
    dst->i = src->i;
    dst->n = src->n;
    dst->s_len = src->s_len;
    if (!(dst->name = qrun_strdup(a, src->name)))
        return false;
    if (src->s && !(dst->s = ir_dup(a, src->s, src->s_len + 1, 1)))
        return false;
    if (src->floats && !(dst->floats = ir_dup(a, src->floats, src->n, sizeof *src->floats)))
        return false;
    if (src->ints && !(dst->ints = ir_dup(a, src->ints, src->n, sizeof *src->ints)))
        return false;
    if (src->strings) {
        if (!(dst->strings = qrun_calloc(a, src->n, sizeof *dst->strings)))
            return false;
        for (size_t i = 0; i < src->n; i++) {
            if (src->strings[i] && !(dst->strings[i] = qrun_strdup(a, src->strings[i])))
                return false;
        }
    }
    if (src->t) {
        if (!(dst->t = qrun_calloc(a, 1, sizeof *dst->t)) || !ir_tensor_copy(a, src->t, dst->t))
            return false;
    }
    if (src->ts) {
        if (!(dst->ts = qrun_calloc(a, src->n, sizeof *dst->ts)))
            return false;
        for (size_t i = 0; i < src->n; i++) {
            if (!ir_tensor_copy(a, &src->ts[i], &dst->ts[i]))
                return false;
        }
    }
    return true;
}

static bool ir_node_copy(qrun_graph *g, const qrun_node *src) {
    const qrun_allocator *a = g->alloc;
    int k = qrun_graph_add_node(g);
    if (k < 0)
        return false;
    qrun_node *n = &g->nodes[k];
    n->op = src->op;
    n->opset = src->opset;
    n->n_inputs = src->n_inputs;
    n->n_outputs = src->n_outputs;
    n->name = qrun_strdup(a, src->name);
    n->op_type = qrun_strdup(a, src->op_type);
    n->domain = qrun_strdup(a, src->domain ? src->domain : "");
    n->inputs = qrun_calloc(a, (size_t)src->n_inputs + 1, sizeof *n->inputs);
    n->outputs = qrun_calloc(a, (size_t)src->n_outputs + 1, sizeof *n->outputs);
    if (!n->name || !n->op_type || !n->domain || !n->inputs || !n->outputs)
        return false;
    memcpy(n->inputs, src->inputs, (size_t)src->n_inputs * sizeof *n->inputs);
    memcpy(n->outputs, src->outputs, (size_t)src->n_outputs * sizeof *n->outputs);
    if (src->n_attrs) {
        if (!(n->attrs = qrun_calloc(a, (size_t)src->n_attrs, sizeof *n->attrs)))
            return false;
        n->n_attrs = src->n_attrs;
        for (int i = 0; i < src->n_attrs; i++) {
            if (!ir_attr_copy(a, &src->attrs[i], &n->attrs[i]))
                return false;
        }
    }
    return true;
}

static bool ir_value_copy(qrun_graph *g, const qrun_value *src) {
    int v = qrun_graph_add_value(g, src->name, src->kind);
    if (v < 0)
        return false;
    qrun_value *dst = &g->values[v];
    dst->producer = src->producer;
    dst->is_output = src->is_output;
    for (int d = 0; d < QRUN_MAX_RANK; d++) {
        if (src->dim_params[d] && !(dst->dim_params[d] = qrun_strdup(g->alloc, src->dim_params[d])))
            return false;
    }
    return ir_tensor_copy(g->alloc, &src->info, &dst->info);
}

static bool ir_graph_copy(const qrun_graph *src, qrun_graph *g) {
    const qrun_allocator *a = g->alloc;
    g->ir_version = src->ir_version;
    g->n_initializers = src->n_initializers;
    if ((src->producer_name && !(g->producer_name = qrun_strdup(a, src->producer_name))) ||
        (src->producer_version && !(g->producer_version = qrun_strdup(a, src->producer_version))) ||
        (src->name && !(g->name = qrun_strdup(a, src->name))))
        return false;
    if (src->n_opsets) {
        if (!(g->opsets = qrun_calloc(a, (size_t)src->n_opsets, sizeof *g->opsets)))
            return false;
        g->n_opsets = src->n_opsets;
        for (int i = 0; i < src->n_opsets; i++) {
            g->opsets[i].version = src->opsets[i].version;
            if (!(g->opsets[i].domain =
                      qrun_strdup(a, src->opsets[i].domain ? src->opsets[i].domain : "")))
                return false;
        }
    }
    g->inputs = qrun_calloc(a, (size_t)src->n_inputs + 1, sizeof *g->inputs);
    g->outputs = qrun_calloc(a, (size_t)src->n_outputs + 1, sizeof *g->outputs);
    if (!g->inputs || !g->outputs)
        return false;
    g->n_inputs = src->n_inputs;
    g->n_outputs = src->n_outputs;
    memcpy(g->inputs, src->inputs, (size_t)src->n_inputs * sizeof *g->inputs);
    memcpy(g->outputs, src->outputs, (size_t)src->n_outputs * sizeof *g->outputs);
    for (int v = 0; v < src->n_values; v++) {
        if (!ir_value_copy(g, &src->values[v]))
            return false;
    }
    for (int k = 0; k < src->n_nodes; k++) {
        if (!ir_node_copy(g, &src->nodes[k]))
            return false;
    }
    return true;
}

qrun_status qrun_graph_clone(const qrun_graph *src, qrun_graph **out) {
    *out = NULL;
    qrun_graph *g = NULL;
    qrun_status s = qrun_graph_create(src->alloc, &g);
    if (s)
        return s;
    if (!ir_graph_copy(src, g)) {
        qrun_graph_free(g);
        return QRUN_E_NOMEM;
    }
    *out = g;
    return QRUN_OK;
}

void qrun_graph_remove_nodes(qrun_graph *g, const bool *dead) {
    int kept = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        if (!dead[k]) {
            g->nodes[kept++] = g->nodes[k];
            continue;
        }
        qrun_node_release(g->alloc, &g->nodes[k]);
    }
    g->n_nodes = kept;
}

int qrun_graph_add_constant(qrun_graph *g, const char *name, const struct qrun_tensor *t) {
    int v = qrun_graph_add_value(g, name, QRUN_VALUE_CONSTANT);
    if (v < 0)
        return -1;
    struct qrun_tensor *info = &g->values[v].info;
    if (!qrun_tensor_set_shape(info, t->dtype, t->rank, t->dims) ||
        qrun_tensor_alloc_data(info, g->alloc))
        return -1;
    if (t->nbytes && t->data)
        memcpy(info->data, t->data, t->nbytes);
    g->n_initializers++;
    return v;
}

const char *qrun_graph_unique_name(const qrun_graph *g, const char *base, char *buf, size_t cap) {
    snprintf(buf, cap, "%s", base);
    for (int i = 1; qrun_graph_find_value(g, buf) >= 0; i++)
        snprintf(buf, cap, "%s_%d", base, i);
    return buf;
}

int qrun_graph_add_op(qrun_graph *g,
                      const char *name,
                      const char *op_type,
                      int64_t opset,
                      int n_inputs,
                      const int *inputs,
                      int n_outputs,
                      const int *outputs) {
    int k = qrun_graph_add_node(g);
    if (k < 0)
        return -1;
    qrun_node *n = &g->nodes[k];
    n->name = qrun_strdup(g->alloc, name);
    n->op_type = qrun_strdup(g->alloc, op_type);
    n->domain = qrun_strdup(g->alloc, "");
    n->inputs = qrun_calloc(g->alloc, (size_t)n_inputs + 1, sizeof *n->inputs);
    n->outputs = qrun_calloc(g->alloc, (size_t)n_outputs + 1, sizeof *n->outputs);
    if (!n->name || !n->op_type || !n->domain || !n->inputs || !n->outputs)
        return -1;
    n->op = qrun_op_lookup("", op_type);
    n->opset = opset;
    n->n_inputs = n_inputs;
    n->n_outputs = n_outputs;
    memcpy(n->inputs, inputs, (size_t)n_inputs * sizeof *inputs);
    memcpy(n->outputs, outputs, (size_t)n_outputs * sizeof *outputs);
    return k;
}

bool qrun_node_set_attr_int(qrun_graph *g, int k, const char *name, int64_t v) {
    qrun_node *n = &g->nodes[k];
    for (int i = 0; i < n->n_attrs; i++) {
        if (strcmp(n->attrs[i].name, name) == 0 && n->attrs[i].type == QRUN_ATTR_INT) {
            n->attrs[i].i = v;
            return true;
        }
    }
    qrun_attr *na = qrun_calloc(g->alloc, (size_t)n->n_attrs + 1, sizeof *na);
    if (!na)
        return false;
    if (n->n_attrs)
        memcpy(na, n->attrs, (size_t)n->n_attrs * sizeof *na);
    qrun_attr *at = &na[n->n_attrs];
    if (!(at->name = qrun_strdup(g->alloc, name))) {
        qrun_free(g->alloc, na);
        return false;
    }
    at->type = QRUN_ATTR_INT;
    at->i = v;
    qrun_free(g->alloc, n->attrs);
    n->attrs = na;
    n->n_attrs++;
    return true;
}

int qrun_graph_consumers(const qrun_graph *g, int v, int *first) {
    int count = 0;
    if (first)
        *first = -1;
    for (int k = 0; k < g->n_nodes; k++) {
        for (int i = 0; i < g->nodes[k].n_inputs; i++) {
            if (g->nodes[k].inputs[i] != v)
                continue;
            if (first && *first < 0)
                *first = k;
            count++;
        }
    }
    return count;
}
