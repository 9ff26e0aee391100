/* SPDX-License-Identifier: Apache-2.0 */
/* The IR graph: construction, teardown, topological sort and attribute access. */
#include "runtime/ir.h"
#include "runtime/alloc.h"

#include <stdio.h>
#include <stdint.h>
#include <string.h>

/*
 * Growth of values/nodes: qrun_graph has no capacity fields, so the capacity
 * is implied by the count: an array holding n elements has room for
 * ir_cap(n) (the next power of two, at least 8). Arrays only grow through
 * the add functions below; a pass that shrinks a count stays safe because
 * ir_cap(smaller n) never exceeds the real capacity.
 */
static size_t ir_cap(size_t n) {
    size_t c = 8;
    while (c < n)
        c *= 2;
    return c;
}

/* Make room for element n (0-based); false on NOMEM/overflow. */
static bool ir_reserve(const qrun_allocator *a, void **arr, size_t elem, size_t n) {
    if (*arr && n < ir_cap(n))
        return true;
    if (n > (size_t)INT32_MAX - 1)
        return false;
    size_t ncap = ir_cap(n + 1);
    void *p = qrun_calloc(a, ncap, elem);
    if (!p)
        return false;
    if (*arr && n)
        memcpy(p, *arr, n * elem);
    qrun_free(a, *arr);
    *arr = p;
    return true;
}

qrun_status qrun_graph_create(const qrun_allocator *alloc, qrun_graph **out) {
    if (!out)
        return QRUN_E_ARG;
    if (!alloc)
        alloc = qrun_allocator_default();
    qrun_graph *g = qrun_calloc(alloc, 1, sizeof *g);
    *out = g;
    if (!g)
        return QRUN_E_NOMEM;
    g->alloc = alloc;
    return QRUN_OK;
}

static void ir_tensor_free_owned(const qrun_allocator *a, struct qrun_tensor *t) {
    if (!t)
        return;
    if (!t->alloc)
        t->alloc = a;
    qrun_tensor_release(t);
}

static void ir_attr_free(const qrun_allocator *a, qrun_attr *at) {
    qrun_free(a, at->name);
    qrun_free(a, at->s);
    qrun_free(a, at->floats);
    qrun_free(a, at->ints);
    if (at->strings) {
        for (size_t i = 0; i < at->n; i++)
            qrun_free(a, at->strings[i]);
        qrun_free(a, at->strings);
    }
    if (at->t) {
        ir_tensor_free_owned(a, at->t);
        qrun_free(a, at->t);
    }
    if (at->ts) {
        for (size_t i = 0; i < at->n; i++)
            ir_tensor_free_owned(a, &at->ts[i]);
        qrun_free(a, at->ts);
    }
    memset(at, 0, sizeof *at);
}

static void ir_node_free(const qrun_allocator *a, qrun_node *n) {
    qrun_free(a, n->name);
    qrun_free(a, n->op_type);
    qrun_free(a, n->domain);
    qrun_free(a, n->inputs);
    qrun_free(a, n->outputs);
    for (int i = 0; i < n->n_attrs; i++)
        ir_attr_free(a, &n->attrs[i]);
    qrun_free(a, n->attrs);
}

static void ir_value_free(const qrun_allocator *a, qrun_value *v) {
    qrun_free(a, v->name);
    for (int k = 0; k < QRUN_MAX_RANK; k++)
        qrun_free(a, v->dim_params[k]);
    ir_tensor_free_owned(a, &v->info);
}

void qrun_graph_free(qrun_graph *g) {
    if (!g)
        return;
    const qrun_allocator *a = g->alloc;
    for (int i = 0; i < g->n_values; i++)
        ir_value_free(a, &g->values[i]);
    for (int i = 0; i < g->n_nodes; i++)
        ir_node_free(a, &g->nodes[i]);
    for (int i = 0; i < g->n_opsets; i++)
        qrun_free(a, g->opsets[i].domain);
    qrun_free(a, g->values);
    qrun_free(a, g->nodes);
    qrun_free(a, g->opsets);
    qrun_free(a, g->inputs);
    qrun_free(a, g->outputs);
    qrun_free(a, g->producer_name);
    qrun_free(a, g->producer_version);
    qrun_free(a, g->name);
    qrun_free(a, g);
}

int qrun_graph_find_value(const qrun_graph *g, const char *name) {
    if (!g || !name)
        return -1;
    for (int i = 0; i < g->n_values; i++) {
        if (strcmp(g->values[i].name, name) == 0)
            return i;
    }
    return -1;
}

int qrun_graph_add_value(qrun_graph *g, const char *name, qrun_value_kind kind) {
    if (!g || !name)
        return -1;
    if (!ir_reserve(g->alloc, (void **)&g->values, sizeof *g->values, (size_t)g->n_values))
        return -1;
    char *copy = qrun_strdup(g->alloc, name);
    if (!copy)
        return -1;
    qrun_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = copy;
    v->kind = kind;
    v->producer = -1;
    v->info.dtype = QRUN_DTYPE_UNDEFINED;
    v->info.rank = -1;
    for (int k = 0; k < QRUN_MAX_RANK; k++)
        v->info.dims[k] = -1;
    v->info.alloc = g->alloc;
    return g->n_values++;
}

int qrun_graph_add_node(qrun_graph *g) {
    if (!g)
        return -1;
    if (!ir_reserve(g->alloc, (void **)&g->nodes, sizeof *g->nodes, (size_t)g->n_nodes))
        return -1;
    memset(&g->nodes[g->n_nodes], 0, sizeof g->nodes[0]);
    return g->n_nodes++;
}

static bool ir_domain_is_onnx(const char *d) {
    return !d || d[0] == '\0' || strcmp(d, "ai.onnx") == 0;
}

int64_t qrun_graph_opset(const qrun_graph *g, const char *domain) {
    if (!g)
        return -1;
    bool onnx = ir_domain_is_onnx(domain);
    for (int i = 0; i < g->n_opsets; i++) {
        const char *d = g->opsets[i].domain;
        if (onnx ? ir_domain_is_onnx(d) : (d && strcmp(d, domain) == 0))
            return g->opsets[i].version;
    }
    return -1;
}

/* ---- topological sort ------------------------------------------------- */

/* Min-heap of node indices, so ready nodes come out in file order. */
typedef struct ir_heap {
    int *a;
    int n;
} ir_heap;

static void ir_heap_push(ir_heap *h, int x) {
    int i = h->n++;
    h->a[i] = x;
    while (i > 0 && h->a[(i - 1) / 2] > h->a[i]) {
        int p = (i - 1) / 2, t = h->a[p];
        h->a[p] = h->a[i];
        h->a[i] = t;
        i = p;
    }
}

static int ir_heap_pop(ir_heap *h) {
    int top = h->a[0];
    h->a[0] = h->a[--h->n];
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->a[l] < h->a[m])
            m = l;
        if (r < h->n && h->a[r] < h->a[m])
            m = r;
        if (m == i)
            break;
        int t = h->a[m];
        h->a[m] = h->a[i];
        h->a[i] = t;
        i = m;
    }
    return top;
}

/* Set value->producer from the current node order and check single definition. */
static qrun_status ir_set_producers(qrun_graph *g, qrun_err *err) {
    for (int i = 0; i < g->n_values; i++)
        g->values[i].producer = -1;
    for (int n = 0; n < g->n_nodes; n++) {
        const qrun_node *nd = &g->nodes[n];
        for (int k = 0; k < nd->n_outputs; k++) {
            int vi = nd->outputs[k];
            if (vi < 0)
                continue;
            if (vi >= g->n_values)
                return qrun_errf(err, QRUN_E_INTERNAL, "node '%s': output %d out of range",
                                 nd->name, k);
            qrun_value *v = &g->values[vi];
            if (v->kind != QRUN_VALUE_INTERMEDIATE)
                return qrun_errf(err, QRUN_E_MODEL, "node '%s' produces '%s', which is a graph %s",
                                 nd->name, v->name,
                                 v->kind == QRUN_VALUE_INPUT ? "input" : "initializer");
            if (v->producer >= 0)
                return qrun_errf(err, QRUN_E_MODEL,
                                 "value '%s' is produced by both node '%s' and node '%s'", v->name,
                                 g->nodes[v->producer].name, nd->name);
            v->producer = n;
        }
    }
    return QRUN_OK;
}

/* Every input of every node and every graph output must be defined. */
static qrun_status ir_check_defined(const qrun_graph *g, qrun_err *err) {
    for (int n = 0; n < g->n_nodes; n++) {
        const qrun_node *nd = &g->nodes[n];
        for (int k = 0; k < nd->n_inputs; k++) {
            int vi = nd->inputs[k];
            if (vi < 0)
                continue;
            if (vi >= g->n_values)
                return qrun_errf(err, QRUN_E_INTERNAL, "node '%s': input %d out of range", nd->name,
                                 k);
            const qrun_value *v = &g->values[vi];
            if (v->kind == QRUN_VALUE_INTERMEDIATE && v->producer < 0)
                return qrun_errf(err, QRUN_E_MODEL,
                                 "node '%s' input '%s' is not defined by any node, "
                                 "initializer or graph input",
                                 nd->name, v->name);
        }
    }
    for (int i = 0; i < g->n_outputs; i++) {
        int vi = g->outputs[i];
        if (vi < 0 || vi >= g->n_values)
            return qrun_errf(err, QRUN_E_INTERNAL, "graph output %d out of range", i);
        const qrun_value *v = &g->values[vi];
        if (v->kind == QRUN_VALUE_INTERMEDIATE && v->producer < 0)
            return qrun_errf(err, QRUN_E_MODEL, "graph output '%s' is not produced by any node",
                             v->name);
    }
    return QRUN_OK;
}

/*
 * Kahn's algorithm over value edges. indeg counts input slots fed by a node
 * (with multiplicity); consumers of each value are kept in CSR form.
 */
static qrun_status ir_kahn(qrun_graph *g, int *order, qrun_err *err) {
    const qrun_allocator *a = g->alloc;
    size_t nn = (size_t)g->n_nodes, nv = (size_t)g->n_values;
    size_t n_edges = 0;
    for (size_t n = 0; n < nn; n++)
        n_edges += (size_t)g->nodes[n].n_inputs;
    int *indeg = qrun_calloc(a, nn ? nn : 1, sizeof *indeg);
    int *start = qrun_calloc(a, nv + 1, sizeof *start);
    int *cons = qrun_calloc(a, n_edges ? n_edges : 1, sizeof *cons);
    int *heap = qrun_calloc(a, nn ? nn : 1, sizeof *heap);
    int *fill = qrun_calloc(a, nv ? nv : 1, sizeof *fill); /* per-value CSR cursor */
    qrun_status st = QRUN_OK;
    if (!indeg || !start || !cons || !heap || !fill) {
        st = qrun_errf(err, QRUN_E_NOMEM, "out of memory sorting the graph");
        goto out;
    }
    for (size_t n = 0; n < nn; n++) {
        const qrun_node *nd = &g->nodes[n];
        for (int k = 0; k < nd->n_inputs; k++) {
            int vi = nd->inputs[k];
            if (vi >= 0 && g->values[vi].producer >= 0) {
                start[vi + 1]++;
                indeg[n]++;
            }
        }
    }
    for (size_t v = 0; v < nv; v++)
        start[v + 1] += start[v];
    for (size_t n = 0; n < nn; n++) {
        const qrun_node *nd = &g->nodes[n];
        for (int k = 0; k < nd->n_inputs; k++) {
            int vi = nd->inputs[k];
            if (vi >= 0 && g->values[vi].producer >= 0)
                cons[start[vi] + fill[vi]++] = (int)n;
        }
    }
    ir_heap h = {heap, 0};
    for (size_t n = 0; n < nn; n++) {
        if (indeg[n] == 0)
            ir_heap_push(&h, (int)n);
    }
    size_t done = 0;
    while (h.n > 0) {
        int n = ir_heap_pop(&h);
        order[done++] = n;
        const qrun_node *nd = &g->nodes[n];
        for (int k = 0; k < nd->n_outputs; k++) {
            int vi = nd->outputs[k];
            if (vi < 0)
                continue;
            for (int e = start[vi]; e < start[vi + 1]; e++) {
                if (--indeg[cons[e]] == 0)
                    ir_heap_push(&h, cons[e]);
            }
        }
    }
    if (done < nn) {
        for (size_t n = 0; n < nn; n++) {
            if (indeg[n] > 0) {
                st = qrun_errf(err, QRUN_E_MODEL, "graph has a cycle through node '%s' (%s)",
                               g->nodes[n].name, g->nodes[n].op_type ? g->nodes[n].op_type : "?");
                break;
            }
        }
    }
out:
    qrun_free(a, indeg);
    qrun_free(a, start);
    qrun_free(a, cons);
    qrun_free(a, heap);
    qrun_free(a, fill);
    return st;
}

qrun_status qrun_graph_toposort(qrun_graph *g, qrun_err *err) {
    if (!g)
        return qrun_errf(err, QRUN_E_ARG, "no graph");
    qrun_status st = ir_set_producers(g, err);
    if (st != QRUN_OK)
        return st;
    st = ir_check_defined(g, err);
    if (st != QRUN_OK || g->n_nodes == 0)
        return st;
    const qrun_allocator *a = g->alloc;
    size_t nn = (size_t)g->n_nodes;
    int *order = qrun_calloc(a, nn, sizeof *order);
    qrun_node *sorted = qrun_calloc(a, ir_cap(nn), sizeof *sorted);
    if (!order || !sorted) {
        st = qrun_errf(err, QRUN_E_NOMEM, "out of memory sorting the graph");
        goto out;
    }
    st = ir_kahn(g, order, err);
    if (st != QRUN_OK)
        goto out;
    for (size_t i = 0; i < nn; i++)
        sorted[i] = g->nodes[order[i]];
    qrun_free(a, g->nodes);
    g->nodes = sorted;
    sorted = NULL;
    st = ir_set_producers(g, err);
out:
    qrun_free(a, order);
    qrun_free(a, sorted);
    return st;
}

/* ---- attributes ------------------------------------------------------- */

const qrun_attr *qrun_node_attr(const qrun_node *n, const char *name) {
    if (!n || !name)
        return NULL;
    for (int i = 0; i < n->n_attrs; i++) {
        if (n->attrs[i].name && strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    }
    return NULL;
}

int64_t qrun_node_attr_int(const qrun_node *n, const char *name, int64_t dflt) {
    const qrun_attr *a = qrun_node_attr(n, name);
    return a && a->type == QRUN_ATTR_INT ? a->i : dflt;
}

float qrun_node_attr_float(const qrun_node *n, const char *name, float dflt) {
    const qrun_attr *a = qrun_node_attr(n, name);
    return a && a->type == QRUN_ATTR_FLOAT ? a->f : dflt;
}

const char *qrun_node_attr_string(const qrun_node *n, const char *name, const char *dflt) {
    const qrun_attr *a = qrun_node_attr(n, name);
    return a && a->type == QRUN_ATTR_STRING && a->s ? a->s : dflt;
}

size_t qrun_node_attr_ints(const qrun_node *n, const char *name, const int64_t **vals) {
    const qrun_attr *a = qrun_node_attr(n, name);
    if (!a || a->type != QRUN_ATTR_INTS) {
        if (vals)
            *vals = NULL;
        return 0;
    }
    if (vals)
        *vals = a->ints;
    return a->n;
}

size_t qrun_node_attr_floats(const qrun_node *n, const char *name, const float **vals) {
    const qrun_attr *a = qrun_node_attr(n, name);
    if (!a || a->type != QRUN_ATTR_FLOATS) {
        if (vals)
            *vals = NULL;
        return 0;
    }
    if (vals)
        *vals = a->floats;
    return a->n;
}

/* ---- editing ------------------------------------------------------------ */

static int *ir_int_copy(const qrun_allocator *a, int n, const int *src) {
    int *p = qrun_calloc(a, n > 0 ? (size_t)n : 1, sizeof *p);
    if (p && n > 0)
        memcpy(p, src, (size_t)n * sizeof *p);
    return p;
}

static qrun_status ir_node_set_op(qrun_graph *g, qrun_node *n, qrun_op op, int64_t opset) {
    const struct qrun_op_desc *d = qrun_op_desc_get(op);
    char *type = qrun_strdup(g->alloc, d->name);
    char *dom = qrun_strdup(g->alloc, d->domain);
    if (!type || !dom) {
        qrun_free(g->alloc, type);
        qrun_free(g->alloc, dom);
        return QRUN_E_NOMEM;
    }
    qrun_free(g->alloc, n->op_type);
    qrun_free(g->alloc, n->domain);
    n->op_type = type;
    n->domain = dom;
    n->op = op;
    n->opset = opset;
    return QRUN_OK;
}

int qrun_graph_add_op_node(qrun_graph *g,
                           const char *name,
                           qrun_op op,
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
    n->inputs = ir_int_copy(g->alloc, n_inputs, inputs);
    n->outputs = ir_int_copy(g->alloc, n_outputs, outputs);
    n->n_inputs = n_inputs;
    n->n_outputs = n_outputs;
    if (!n->name || !n->inputs || !n->outputs || ir_node_set_op(g, n, op, opset) != QRUN_OK) {
        ir_node_free(g->alloc, n);
        g->n_nodes--;
        return -1;
    }
    return k;
}

qrun_status qrun_node_retype(qrun_graph *g, int node, qrun_op op, int64_t opset) {
    return ir_node_set_op(g, &g->nodes[node], op, opset);
}

qrun_status qrun_node_set_inputs(qrun_graph *g, int node, int n, const int *inputs) {
    int *p = ir_int_copy(g->alloc, n, inputs);
    if (!p)
        return QRUN_E_NOMEM;
    qrun_node *nd = &g->nodes[node];
    qrun_free(g->alloc, nd->inputs);
    nd->inputs = p;
    nd->n_inputs = n;
    return QRUN_OK;
}

/* dtype/shape/name of src with its own copy of the data (none when src has none). */
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

/* Append one zeroed attribute slot to n; NULL on NOMEM. */
static qrun_attr *ir_attr_append(const qrun_allocator *a, qrun_node *n) {
    qrun_attr *p = qrun_calloc(a, (size_t)n->n_attrs + 1, sizeof *p);
    if (!p)
        return NULL;
    if (n->n_attrs)
        memcpy(p, n->attrs, (size_t)n->n_attrs * sizeof *p);
    qrun_free(a, n->attrs);
    n->attrs = p;
    return &n->attrs[n->n_attrs++];
}

static bool ir_attr_copy(const qrun_allocator *a, qrun_attr *dst, const qrun_attr *src) {
    dst->name = qrun_strdup(a, src->name);
    dst->type = src->type;
    dst->f = src->f;
    dst->i = src->i;
    dst->n = src->n;
    dst->s_len = src->s_len;
    bool ok = dst->name != NULL;
    if (ok && src->s) {
        dst->s = qrun_malloc(a, src->s_len + 1);
        ok = dst->s != NULL;
        if (ok)
            memcpy(dst->s, src->s, src->s_len + 1);
    }
    if (ok && src->ints) {
        dst->ints = qrun_calloc(a, src->n ? src->n : 1, sizeof *dst->ints);
        ok = dst->ints != NULL;
        if (ok && src->n)
            memcpy(dst->ints, src->ints, src->n * sizeof *dst->ints);
    }
    if (ok && src->floats) {
        dst->floats = qrun_calloc(a, src->n ? src->n : 1, sizeof *dst->floats);
        ok = dst->floats != NULL;
        if (ok && src->n)
            memcpy(dst->floats, src->floats, src->n * sizeof *dst->floats);
    }
    if (ok && src->strings) {
        dst->strings = qrun_calloc(a, src->n ? src->n : 1, sizeof *dst->strings);
        ok = dst->strings != NULL;
        for (size_t i = 0; ok && i < src->n; i++)
            ok = !src->strings[i] || (dst->strings[i] = qrun_strdup(a, src->strings[i]));
    }
    if (ok && src->t) {
        dst->t = qrun_calloc(a, 1, sizeof *dst->t);
        ok = dst->t && ir_tensor_copy(a, src->t, dst->t);
    }
    if (ok && src->ts) {
        dst->ts = qrun_calloc(a, src->n ? src->n : 1, sizeof *dst->ts);
        ok = dst->ts != NULL;
        for (size_t i = 0; ok && i < src->n; i++)
            ok = ir_tensor_copy(a, &src->ts[i], &dst->ts[i]);
    }
    return ok;
}

qrun_status qrun_node_copy_attrs(qrun_graph *g, int dst, int src) {
    for (int i = 0; i < g->nodes[src].n_attrs; i++) {
        const qrun_attr *at = &g->nodes[src].attrs[i];
        if (at->type != QRUN_ATTR_INT && at->type != QRUN_ATTR_FLOAT &&
            at->type != QRUN_ATTR_STRING && at->type != QRUN_ATTR_INTS &&
            at->type != QRUN_ATTR_FLOATS)
            return QRUN_E_UNSUPPORTED;
    }
    for (int i = 0; i < g->nodes[src].n_attrs; i++) {
        qrun_attr *d = ir_attr_append(g->alloc, &g->nodes[dst]);
        if (!d)
            return QRUN_E_NOMEM;
        if (!ir_attr_copy(g->alloc, d, &g->nodes[src].attrs[i]))
            return QRUN_E_NOMEM; /* the partial attribute is freed with the node */
    }
    return QRUN_OK;
}

qrun_status qrun_node_add_attr_int(qrun_graph *g, int node, const char *name, int64_t v) {
    qrun_attr *d = ir_attr_append(g->alloc, &g->nodes[node]);
    if (!d)
        return QRUN_E_NOMEM;
    d->name = qrun_strdup(g->alloc, name);
    d->type = QRUN_ATTR_INT;
    d->i = v;
    return d->name ? QRUN_OK : QRUN_E_NOMEM;
}

qrun_status qrun_node_add_attr_string(qrun_graph *g, int node, const char *name, const char *v) {
    qrun_attr *d = ir_attr_append(g->alloc, &g->nodes[node]);
    if (!d)
        return QRUN_E_NOMEM;
    d->name = qrun_strdup(g->alloc, name);
    d->type = QRUN_ATTR_STRING;
    d->s = qrun_strdup(g->alloc, v);
    d->s_len = strlen(v);
    return d->name && d->s ? QRUN_OK : QRUN_E_NOMEM;
}

void qrun_node_remove_attr(qrun_graph *g, int node, const char *name) {
    qrun_node *n = &g->nodes[node];
    int w = 0;
    for (int k = 0; k < n->n_attrs; k++) {
        if (strcmp(n->attrs[k].name, name) == 0) {
            ir_attr_free(g->alloc, &n->attrs[k]);
            continue;
        }
        n->attrs[w++] = n->attrs[k];
    }
    n->n_attrs = w;
}

int qrun_graph_add_unique_value(qrun_graph *g, const char *base, qrun_value_kind kind) {
    if (qrun_graph_find_value(g, base) < 0)
        return qrun_graph_add_value(g, base, kind);
    size_t cap = strlen(base) + 24;
    char *name = qrun_malloc(g->alloc, cap);
    if (!name)
        return -1;
    int v = -1;
    for (long k = 1; v < 0; k++) {
        snprintf(name, cap, "%s_%ld", base, k);
        if (qrun_graph_find_value(g, name) < 0) {
            v = qrun_graph_add_value(g, name, kind);
            break;
        }
    }
    qrun_free(g->alloc, name);
    return v;
}

int qrun_graph_add_constant(qrun_graph *g,
                            const char *base,
                            qrun_dtype dtype,
                            int rank,
                            const int64_t *dims,
                            const void *data) {
    int v = qrun_graph_add_unique_value(g, base, QRUN_VALUE_CONSTANT);
    if (v < 0)
        return -1;
    struct qrun_tensor *t = &g->values[v].info;
    if (!qrun_tensor_set_shape(t, dtype, rank, dims) ||
        qrun_tensor_alloc_data(t, g->alloc) != QRUN_OK)
        return -1; /* the value stays, unused and empty */
    if (t->nbytes)
        memcpy(t->data, data, t->nbytes);
    return v;
}

void qrun_graph_remove_nodes(qrun_graph *g, const bool *dead) {
    int w = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        if (dead[k]) {
            ir_node_free(g->alloc, &g->nodes[k]);
            continue;
        }
        g->nodes[w++] = g->nodes[k];
    }
    g->n_nodes = w;
}

/* ---- deep copy and queries ---- */

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
            if (!ir_attr_copy(a, &n->attrs[i], &src->attrs[i]))
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
