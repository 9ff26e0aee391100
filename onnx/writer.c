/* SPDX-License-Identifier: Apache-2.0 */
/* qrun_graph -> ModelProto: the loader's mapping in the other direction. */
#include "onnx/onnx_internal.h"
#include "onnx/onnx_loader.h"
#include "onnx/onnx_writer.h"
#include "runtime/alloc.h"
#include "runtime/dtype.h"

#include <stdio.h>
#include <string.h>

/* AttributeProto.AttributeType codes (the loader's LD_AT_*). */
enum {
    WR_AT_FLOAT = 1,
    WR_AT_INT = 2,
    WR_AT_STRING = 3,
    WR_AT_TENSOR = 4,
    WR_AT_FLOATS = 6,
    WR_AT_INTS = 7,
    WR_AT_STRINGS = 8,
    WR_AT_TENSORS = 9,
};

/*
 * Every protobuf-c struct and array we build comes from one list of blocks
 * freed together after packing; strings and tensor bytes are borrowed from
 * the graph (it outlives the write).
 */
typedef struct wr_block {
    struct wr_block *next;
    max_align_t payload[];
} wr_block;

typedef struct wr_ctx {
    const qrun_allocator *alloc;
    const qrun_graph *g;
    wr_block *blocks;
    bool *used; /* values some node reads, or graph outputs */
    qrun_err *err;
} wr_ctx;

static void *wr_new(wr_ctx *c, size_t n, size_t elem) {
    if (n && elem > (SIZE_MAX - sizeof(wr_block)) / n)
        return NULL;
    wr_block *b = qrun_calloc(c->alloc, 1, sizeof *b + (n ? n * elem : 1));
    if (!b)
        return NULL;
    b->next = c->blocks;
    c->blocks = b;
    return b->payload;
}

static void wr_free_all(wr_ctx *c) {
    while (c->blocks) {
        wr_block *n = c->blocks->next;
        qrun_free(c->alloc, c->blocks);
        c->blocks = n;
    }
    qrun_free(c->alloc, c->used);
}

static qrun_status wr_nomem(wr_ctx *c) {
    return qrun_errf(c->err, QRUN_E_NOMEM, "out of memory while writing the model");
}

/* The lowest IR version that may carry ai.onnx opset `opset` (onnx/helper.py's table). */
static int64_t wr_ir_for_opset(int64_t opset) {
    static const struct {
        int64_t opset, ir;
    } k_table[] = {{8, 3}, {9, 4}, {10, 5}, {11, 6}, {14, 7}, {18, 8}, {20, 9}, {22, 10}};
    for (size_t i = 0; i < sizeof k_table / sizeof k_table[0]; i++) {
        if (opset <= k_table[i].opset)
            return k_table[i].ir;
    }
    return 11;
}

/* The lowest IR version that has dtype (FP8 came with IR 9, 4-bit with 10, the rest with 11). */
static int64_t wr_ir_for_dtype(qrun_dtype t) {
    if (t >= QRUN_DTYPE_FLOAT8E4M3FN && t <= QRUN_DTYPE_FLOAT8E5M2FNUZ)
        return 9;
    if (t == QRUN_DTYPE_UINT4 || t == QRUN_DTYPE_INT4)
        return 10;
    if (t >= QRUN_DTYPE_FLOAT4E2M1 && t <= QRUN_DTYPE_INT2)
        return 11;
    return 3;
}

static int64_t wr_max(int64_t a, int64_t b) {
    return a > b ? a : b;
}

/*
 * IR version to write: at least the graph's, what its opset and dtypes need,
 * and 4, so initializers need not be repeated as graph inputs (IR 3 rule).
 */
static int64_t wr_ir_version(const wr_ctx *c) {
    const qrun_graph *g = c->g;
    int64_t ir = wr_max(g->ir_version, 4);
    int64_t opset = qrun_graph_opset(g, "");
    if (opset > 0)
        ir = wr_max(ir, wr_ir_for_opset(opset));
    for (int v = 0; v < g->n_values; v++) {
        if (c->used[v])
            ir = wr_max(ir, wr_ir_for_dtype(g->values[v].info.dtype));
    }
    return ir;
}

static void wr_mark_used(wr_ctx *c) {
    const qrun_graph *g = c->g;
    for (int k = 0; k < g->n_nodes; k++) {
        for (int i = 0; i < g->nodes[k].n_inputs; i++) {
            if (g->nodes[k].inputs[i] >= 0)
                c->used[g->nodes[k].inputs[i]] = true;
        }
        for (int o = 0; o < g->nodes[k].n_outputs; o++) {
            if (g->nodes[k].outputs[o] >= 0)
                c->used[g->nodes[k].outputs[o]] = true;
        }
    }
    for (int i = 0; i < g->n_inputs; i++)
        c->used[g->inputs[i]] = true;
    for (int i = 0; i < g->n_outputs; i++)
        c->used[g->outputs[i]] = true;
}

/* ---- tensors and types ------------------------------------------------- */

static qrun_status wr_tensor(
    wr_ctx *c, const struct qrun_tensor *t, char *name, const char *what, Onnx__TensorProto **out) {
    Onnx__TensorProto *tp = wr_new(c, 1, sizeof *tp);
    int64_t *dims = wr_new(c, QRUN_MAX_RANK, sizeof *dims);
    if (!tp || !dims)
        return wr_nomem(c);
    qrun_status st = onnx_tensor_to_proto(t, what, dims, tp, c->err);
    if (st != QRUN_OK)
        return st;
    tp->name = name;
    *out = tp;
    return QRUN_OK;
}

/* A ValueInfoProto for v: elem_type when known, shape when the rank is (symbols kept). */
static qrun_status wr_value_info(wr_ctx *c, int vi, Onnx__ValueInfoProto **out) {
    const qrun_value *v = &c->g->values[vi];
    Onnx__ValueInfoProto *p = wr_new(c, 1, sizeof *p);
    Onnx__TypeProto *type = wr_new(c, 1, sizeof *type);
    Onnx__TypeProto__Tensor *tt = wr_new(c, 1, sizeof *tt);
    if (!p || !type || !tt)
        return wr_nomem(c);
    onnx__value_info_proto__init(p);
    onnx__type_proto__init(type);
    onnx__type_proto__tensor__init(tt);
    p->name = v->name;
    p->type = type;
    type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type->tensor_type = tt;
    int onnx_type = qrun_dtype_traits_get(v->info.dtype)->onnx_type;
    if (v->info.dtype != QRUN_DTYPE_UNDEFINED && onnx_type <= 0)
        return qrun_errf(c->err, QRUN_E_UNSUPPORTED,
                         "value '%s' has dtype %s, which has no ONNX type", v->name,
                         qrun_dtype_name(v->info.dtype));
    tt->has_elem_type = onnx_type > 0;
    tt->elem_type = onnx_type > 0 ? onnx_type : 0;
    *out = p;
    if (v->info.rank < 0)
        return QRUN_OK;
    Onnx__TensorShapeProto *sh = wr_new(c, 1, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dims = wr_new(c, (size_t)v->info.rank, sizeof *dims);
    if (!sh || !dims)
        return wr_nomem(c);
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)v->info.rank;
    sh->dim = dims;
    tt->shape = sh;
    for (int k = 0; k < v->info.rank; k++) {
        Onnx__TensorShapeProto__Dimension *d = wr_new(c, 1, sizeof *d);
        if (!d)
            return wr_nomem(c);
        onnx__tensor_shape_proto__dimension__init(d);
        if (v->info.dims[k] >= 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = v->info.dims[k];
        } else if (v->dim_params[k]) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = v->dim_params[k];
        }
        dims[k] = d;
    }
    return QRUN_OK;
}

/* ---- attributes -------------------------------------------------------- */

static qrun_status
wr_attr_tensors(wr_ctx *c, const qrun_node *n, const qrun_attr *at, Onnx__AttributeProto *ap) {
    char what[400];
    snprintf(what, sizeof what, "node '%s': attribute '%s'", n->name, at->name);
    if (at->type == QRUN_ATTR_TENSOR) {
        ap->type = WR_AT_TENSOR;
        return wr_tensor(c, at->t, NULL, what, &ap->t);
    }
    ap->type = WR_AT_TENSORS;
    ap->n_tensors = at->n;
    ap->tensors = wr_new(c, at->n, sizeof *ap->tensors);
    if (!ap->tensors)
        return wr_nomem(c);
    for (size_t k = 0; k < at->n; k++) {
        qrun_status st = wr_tensor(c, &at->ts[k], NULL, what, &ap->tensors[k]);
        if (st != QRUN_OK)
            return st;
    }
    return QRUN_OK;
}

static qrun_status wr_attr_strings(wr_ctx *c, const qrun_attr *at, Onnx__AttributeProto *ap) {
    ap->type = WR_AT_STRINGS;
    ap->n_strings = at->n;
    ap->strings = wr_new(c, at->n, sizeof *ap->strings);
    if (!ap->strings)
        return wr_nomem(c);
    for (size_t k = 0; k < at->n; k++) {
        ap->strings[k].data = (uint8_t *)at->strings[k];
        ap->strings[k].len = strlen(at->strings[k]);
    }
    return QRUN_OK;
}

static qrun_status
wr_attr(wr_ctx *c, const qrun_node *n, const qrun_attr *at, Onnx__AttributeProto *ap) {
    onnx__attribute_proto__init(ap);
    ap->name = at->name;
    ap->has_type = 1;
    switch (at->type) {
    case QRUN_ATTR_FLOAT:
        ap->type = WR_AT_FLOAT;
        ap->has_f = 1;
        ap->f = at->f;
        return QRUN_OK;
    case QRUN_ATTR_INT:
        ap->type = WR_AT_INT;
        ap->has_i = 1;
        ap->i = at->i;
        return QRUN_OK;
    case QRUN_ATTR_STRING:
        ap->type = WR_AT_STRING;
        ap->has_s = 1;
        ap->s.data = (uint8_t *)at->s;
        ap->s.len = at->s_len;
        return QRUN_OK;
    case QRUN_ATTR_FLOATS:
        ap->type = WR_AT_FLOATS;
        ap->n_floats = at->n;
        ap->floats = at->floats;
        return QRUN_OK;
    case QRUN_ATTR_INTS:
        ap->type = WR_AT_INTS;
        ap->n_ints = at->n;
        ap->ints = at->ints;
        return QRUN_OK;
    case QRUN_ATTR_STRINGS:
        return wr_attr_strings(c, at, ap);
    case QRUN_ATTR_TENSOR:
    case QRUN_ATTR_TENSORS:
        return wr_attr_tensors(c, n, at, ap);
    case QRUN_ATTR_GRAPH:
    case QRUN_ATTR_GRAPHS:
        return qrun_errf(c->err, QRUN_E_UNSUPPORTED,
                         "node '%s' (%s): attribute '%s' is a subgraph, which qrun does not keep "
                         "and cannot write",
                         n->name, n->op_type, at->name);
    case QRUN_ATTR_UNDEFINED:
        break;
    }
    return qrun_errf(c->err, QRUN_E_INTERNAL, "node '%s': attribute '%s' has no type", n->name,
                     at->name);
}

/* ---- nodes ------------------------------------------------------------- */

/* Name of value index vi as a node reads or writes it ("" when omitted). */
static char *wr_value_name(const wr_ctx *c, int vi) {
    static char k_empty[] = "";
    return vi >= 0 ? c->g->values[vi].name : k_empty;
}

static qrun_status wr_node(wr_ctx *c, const qrun_node *n, Onnx__NodeProto **out) {
    Onnx__NodeProto *np = wr_new(c, 1, sizeof *np);
    char **ins = wr_new(c, (size_t)n->n_inputs, sizeof *ins);
    char **outs = wr_new(c, (size_t)n->n_outputs, sizeof *outs);
    Onnx__AttributeProto **aps = wr_new(c, (size_t)n->n_attrs, sizeof *aps);
    Onnx__AttributeProto *attrs = wr_new(c, (size_t)n->n_attrs, sizeof *attrs);
    if (!np || !ins || !outs || !aps || !attrs)
        return wr_nomem(c);
    onnx__node_proto__init(np);
    np->name = n->name;
    np->op_type = n->op_type;
    np->domain = n->domain[0] ? n->domain : NULL;
    for (int i = 0; i < n->n_inputs; i++)
        ins[i] = wr_value_name(c, n->inputs[i]);
    for (int o = 0; o < n->n_outputs; o++)
        outs[o] = wr_value_name(c, n->outputs[o]);
    np->n_input = (size_t)n->n_inputs;
    np->input = ins;
    np->n_output = (size_t)n->n_outputs;
    np->output = outs;
    for (int a = 0; a < n->n_attrs; a++) {
        aps[a] = &attrs[a];
        qrun_status st = wr_attr(c, n, &n->attrs[a], &attrs[a]);
        if (st != QRUN_OK)
            return st;
    }
    np->n_attribute = (size_t)n->n_attrs;
    np->attribute = aps;
    *out = np;
    return QRUN_OK;
}

/* ---- graph and model --------------------------------------------------- */

static qrun_status wr_initializers(wr_ctx *c, Onnx__GraphProto *gp) {
    const qrun_graph *g = c->g;
    gp->initializer = wr_new(c, (size_t)g->n_values, sizeof *gp->initializer);
    if (!gp->initializer)
        return wr_nomem(c);
    char what[300];
    for (int v = 0; v < g->n_values; v++) {
        const qrun_value *val = &g->values[v];
        if (val->kind != QRUN_VALUE_CONSTANT || !c->used[v])
            continue; /* constants nobody reads (e.g. weights a pass replaced) are dropped */
        snprintf(what, sizeof what, "initializer '%s'", val->name);
        qrun_status st =
            wr_tensor(c, &val->info, val->name, what, &gp->initializer[gp->n_initializer]);
        if (st != QRUN_OK)
            return st;
        gp->n_initializer++;
    }
    return QRUN_OK;
}

static qrun_status wr_io(wr_ctx *c, const int *idx, int n, Onnx__ValueInfoProto ***out) {
    *out = wr_new(c, (size_t)n, sizeof **out);
    if (!*out)
        return wr_nomem(c);
    for (int i = 0; i < n; i++) {
        qrun_status st = wr_value_info(c, idx[i], &(*out)[i]);
        if (st != QRUN_OK)
            return st;
    }
    return QRUN_OK;
}

/* Type hints for intermediate values whose dtype is known (the loader reads them back). */
static qrun_status wr_value_infos(wr_ctx *c, Onnx__GraphProto *gp) {
    const qrun_graph *g = c->g;
    gp->value_info = wr_new(c, (size_t)g->n_values, sizeof *gp->value_info);
    if (!gp->value_info)
        return wr_nomem(c);
    for (int v = 0; v < g->n_values; v++) {
        const qrun_value *val = &g->values[v];
        if (val->kind != QRUN_VALUE_INTERMEDIATE || val->is_output || !c->used[v] ||
            val->info.dtype == QRUN_DTYPE_UNDEFINED)
            continue;
        qrun_status st = wr_value_info(c, v, &gp->value_info[gp->n_value_info]);
        if (st != QRUN_OK)
            return st;
        gp->n_value_info++;
    }
    return QRUN_OK;
}

static qrun_status wr_graph(wr_ctx *c, Onnx__GraphProto *gp) {
    const qrun_graph *g = c->g;
    onnx__graph_proto__init(gp);
    gp->name = g->name && g->name[0] ? g->name : "qrun";
    gp->node = wr_new(c, (size_t)g->n_nodes, sizeof *gp->node);
    if (!gp->node)
        return wr_nomem(c);
    for (int k = 0; k < g->n_nodes; k++) {
        qrun_status st = wr_node(c, &g->nodes[k], &gp->node[k]);
        if (st != QRUN_OK)
            return st;
    }
    gp->n_node = (size_t)g->n_nodes;
    qrun_status st = wr_initializers(c, gp);
    if (st == QRUN_OK)
        st = wr_io(c, g->inputs, g->n_inputs, &gp->input);
    gp->n_input = (size_t)g->n_inputs;
    if (st == QRUN_OK)
        st = wr_io(c, g->outputs, g->n_outputs, &gp->output);
    gp->n_output = (size_t)g->n_outputs;
    if (st == QRUN_OK)
        st = wr_value_infos(c, gp);
    return st;
}

/*
 * Opset version of domain d for the file: the graph's import, else (a pass
 * added nodes of a domain the model did not import, e.g. com.microsoft QGemm
 * from QDQ lowering) the opset of the first node of that domain.
 */
static int64_t wr_domain_opset(const qrun_graph *g, const char *d) {
    int64_t v = qrun_graph_opset(g, d);
    for (int k = 0; v < 0 && k < g->n_nodes; k++) {
        if (strcmp(g->nodes[k].domain, d) == 0)
            v = g->nodes[k].opset;
    }
    return v;
}

static qrun_status wr_opsets(wr_ctx *c, Onnx__ModelProto *m) {
    const qrun_graph *g = c->g;
    size_t cap = (size_t)g->n_opsets + (size_t)g->n_nodes;
    m->opset_import = wr_new(c, cap, sizeof *m->opset_import);
    Onnx__OperatorSetIdProto *ops = wr_new(c, cap, sizeof *ops);
    if (!m->opset_import || !ops)
        return wr_nomem(c);
    for (int i = 0; i < g->n_opsets + g->n_nodes; i++) {
        const char *d = i < g->n_opsets ? g->opsets[i].domain : g->nodes[i - g->n_opsets].domain;
        bool seen = false;
        for (size_t j = 0; j < m->n_opset_import && !seen; j++)
            seen = strcmp(ops[j].domain, d) == 0;
        if (seen)
            continue;
        Onnx__OperatorSetIdProto *o = &ops[m->n_opset_import];
        onnx__operator_set_id_proto__init(o);
        o->domain = (char *)d;
        o->has_version = 1;
        o->version = wr_domain_opset(g, d);
        m->opset_import[m->n_opset_import++] = o;
    }
    return QRUN_OK;
}

static qrun_status wr_model(wr_ctx *c, Onnx__ModelProto *m, Onnx__GraphProto *gp) {
    onnx__model_proto__init(m);
    m->has_ir_version = 1;
    m->ir_version = wr_ir_version(c);
    m->producer_name = "qrun";
    m->producer_version = QRUN_VERSION_STRING;
    m->graph = gp;
    qrun_status st = wr_opsets(c, m);
    return st ? st : wr_graph(c, gp);
}

/* Every node must be at the opset its domain is written with: a file states one per domain. */
static qrun_status wr_check_opsets(wr_ctx *c) {
    const qrun_graph *g = c->g;
    for (int k = 0; k < g->n_nodes; k++) {
        const qrun_node *n = &g->nodes[k];
        int64_t v = wr_domain_opset(g, n->domain);
        if (n->opset != v)
            return qrun_errf(c->err, QRUN_E_INTERNAL,
                             "node '%s' (%s) is at opset %lld but its domain is written at %lld: "
                             "convert the graph first",
                             n->name, n->op_type, (long long)n->opset, (long long)v);
    }
    return QRUN_OK;
}

static qrun_status wr_save(const qrun_graph *g,
                           const qrun_allocator *alloc,
                           bool check_opsets,
                           void **out,
                           size_t *size,
                           qrun_err *err) {
    if (!g || !out || !size)
        return qrun_errf(err, QRUN_E_ARG, "no graph or output buffer");
    *out = NULL;
    *size = 0;
    wr_ctx c = {.alloc = alloc ? alloc : qrun_allocator_default(), .g = g, .err = err};
    c.used = qrun_calloc(c.alloc, (size_t)g->n_values + 1, sizeof *c.used);
    if (!c.used)
        return wr_nomem(&c);
    wr_mark_used(&c);
    Onnx__ModelProto m;
    Onnx__GraphProto gp;
    qrun_status st = check_opsets ? wr_check_opsets(&c) : QRUN_OK;
    if (st == QRUN_OK)
        st = wr_model(&c, &m, &gp);
    if (st == QRUN_OK) {
        size_t n = onnx__model_proto__get_packed_size(&m);
        if (n > ONNX_MAX_FILE_BYTES)
            st = qrun_errf(err, QRUN_E_UNSUPPORTED,
                           "the model would be %zu bytes; ONNX files are limited to 2 GiB", n);
        uint8_t *buf = st == QRUN_OK ? qrun_malloc(c.alloc, n ? n : 1) : NULL;
        if (st == QRUN_OK && !buf)
            st = wr_nomem(&c);
        if (st == QRUN_OK && onnx__model_proto__pack(&m, buf) != n) {
            qrun_free(c.alloc, buf);
            st = qrun_errf(err, QRUN_E_INTERNAL, "protobuf pack size mismatch");
        }
        if (st == QRUN_OK) {
            *out = buf;
            *size = n;
        }
    }
    wr_free_all(&c);
    return st;
}

qrun_status onnx_save_bytes(
    const qrun_graph *g, const qrun_allocator *alloc, void **out, size_t *size, qrun_err *err) {
    return wr_save(g, alloc, true, out, size, err);
}

qrun_status onnx_graph_copy(const qrun_graph *g, qrun_graph **out, qrun_err *err) {
    *out = NULL;
    void *buf = NULL;
    size_t n = 0;
    qrun_status st = wr_save(g, g->alloc, false, &buf, &n, err);
    if (st == QRUN_OK)
        st = onnx_load_bytes(buf, n, NULL, g->alloc, out, err);
    qrun_free(g->alloc, buf);
    if (st != QRUN_OK)
        return st;
    /* The file holds one opset per domain: give every node back its own. */
    qrun_graph *c = *out;
    bool same = c->n_nodes == g->n_nodes;
    for (int k = 0; same && k < g->n_nodes; k++) {
        same = strcmp(c->nodes[k].name, g->nodes[k].name) == 0;
        c->nodes[k].opset = g->nodes[k].opset;
    }
    if (!same) {
        qrun_graph_free(c);
        *out = NULL;
        return qrun_errf(err, QRUN_E_INTERNAL,
                         "graph copy: nodes came back in another order (is the graph sorted?)");
    }
    return QRUN_OK;
}

qrun_status onnx_save_file(const char *path, const qrun_graph *g, qrun_err *err) {
    if (!path)
        return qrun_errf(err, QRUN_E_ARG, "no output path");
    const qrun_allocator *alloc = g ? g->alloc : NULL;
    void *buf = NULL;
    size_t n = 0;
    qrun_status st = onnx_save_bytes(g, alloc, &buf, &n, err);
    if (st == QRUN_OK)
        st = onnx_write_whole_file(path, buf, n, err);
    qrun_free(alloc ? alloc : qrun_allocator_default(), buf);
    return st;
}
