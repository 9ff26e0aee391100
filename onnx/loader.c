/* SPDX-License-Identifier: Apache-2.0 */
/* ModelProto -> qrun_graph: opsets, initializers, inputs, nodes, outputs, value types. */
#include "onnx/onnx_loader.h"
#include "onnx/onnx_internal.h"
#include "runtime/alloc.h"
#include "runtime/dtype.h"
#include "runtime/limits.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* AttributeProto.AttributeType codes. */
enum {
    LD_AT_UNDEFINED = 0,
    LD_AT_FLOAT = 1,
    LD_AT_INT = 2,
    LD_AT_STRING = 3,
    LD_AT_TENSOR = 4,
    LD_AT_GRAPH = 5,
    LD_AT_FLOATS = 6,
    LD_AT_INTS = 7,
    LD_AT_STRINGS = 8,
    LD_AT_TENSORS = 9,
    LD_AT_GRAPHS = 10,
    LD_AT_SPARSE_TENSOR = 11,
    LD_AT_SPARSE_TENSORS = 12,
    LD_AT_TYPE_PROTO = 13,
    LD_AT_TYPE_PROTOS = 14,
};

typedef struct ld_ctx {
    const qrun_allocator *alloc;
    const char *base_dir;
    const qrun_limits *lim; /* never NULL */
    uint64_t const_bytes;   /* data of every constant decoded so far */
    qrun_graph *g;
    onnx_name_map names; /* value name -> value index */
    qrun_err *err;
} ld_ctx;

static const char *ld_str(const char *s) {
    return s ? s : "";
}

static const char *ld_domain(const char *d) {
    return (!d || strcmp(d, "ai.onnx") == 0) ? "" : d;
}

static const char *ld_domain_label(const char *d) {
    return d[0] ? d : "ai.onnx";
}

static qrun_status ld_nomem(ld_ctx *c) {
    return qrun_errf(c->err, QRUN_E_NOMEM, "out of memory while loading the model");
}

/* A name or string from the file must fit max_string_bytes; what says which one (its first
 * bytes, `start`, are quoted to find it). */
static qrun_status ld_check_len(ld_ctx *c, size_t len, const char *what, const char *start) {
    if (len <= (uint64_t)c->lim->max_string_bytes)
        return QRUN_OK;
    return qrun_errf(c->err, QRUN_E_MODEL,
                     "%s '%.48s...' is %zu bytes long (limit max_string_bytes = %" PRId64 ")", what,
                     start ? start : "", len, c->lim->max_string_bytes);
}

static qrun_status ld_check_str(ld_ctx *c, const char *s, const char *what) {
    return s ? ld_check_len(c, strlen(s), what, s) : QRUN_OK;
}

/* Number of values of one list attribute must fit max_attribute_elements. */
static qrun_status ld_check_list(ld_ctx *c, const qrun_node *nd, const char *attr, size_t n) {
    if (n <= (uint64_t)c->lim->max_attribute_elements)
        return QRUN_OK;
    return qrun_errf(c->err, QRUN_E_MODEL,
                     "node '%s': attribute '%s' has %zu values (limit max_attribute_elements = "
                     "%" PRId64 ")",
                     nd->name, attr, n, c->lim->max_attribute_elements);
}

/* The decode context of this model's tensors (limits, external data folder, byte budget). */
static onnx_decode_ctx ld_decode_ctx(ld_ctx *c) {
    return (onnx_decode_ctx){c->base_dir, c->alloc, c->lim, &c->const_bytes};
}

/* Add a value and register its name; -1 on NOMEM. */
static int ld_add_value(ld_ctx *c, const char *name, qrun_value_kind kind) {
    int vi = qrun_graph_add_value(c->g, name, kind);
    if (vi < 0)
        return -1;
    if (!onnx_name_map_put(&c->names, c->g->values[vi].name, vi))
        return -1;
    return vi;
}

/* Describe who defines value vi, for duplicate-definition messages. */
static void ld_definer(const ld_ctx *c, int vi, char *buf, size_t cap) {
    const qrun_value *v = &c->g->values[vi];
    if (v->kind == QRUN_VALUE_CONSTANT)
        snprintf(buf, cap, "an initializer");
    else if (v->kind == QRUN_VALUE_INPUT)
        snprintf(buf, cap, "a graph input");
    else if (v->producer >= 0)
        snprintf(buf, cap, "node '%s'", c->g->nodes[v->producer].name);
    else
        snprintf(buf, cap, "another definition");
}

/* ---- opsets ------------------------------------------------------------ */

static qrun_status ld_opsets(ld_ctx *c, const Onnx__ModelProto *m) {
    qrun_graph *g = c->g;
    if (m->n_opset_import == 0)
        return QRUN_OK;
    if (m->n_opset_import > 4096)
        return qrun_errf(c->err, QRUN_E_MODEL, "too many opset imports (%zu)", m->n_opset_import);
    g->opsets = qrun_calloc(c->alloc, m->n_opset_import, sizeof *g->opsets);
    if (!g->opsets)
        return ld_nomem(c);
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        const char *d = ld_domain(o->domain);
        if (qrun_graph_opset(g, d) >= 0)
            return qrun_errf(c->err, QRUN_E_MODEL, "opset for domain '%s' is imported twice",
                             ld_domain_label(d));
        if (!o->has_version || o->version < 1)
            return qrun_errf(c->err, QRUN_E_MODEL,
                             "opset import for domain '%s' has no valid version",
                             ld_domain_label(d));
        g->opsets[i].domain = qrun_strdup(c->alloc, d);
        if (!g->opsets[i].domain)
            return ld_nomem(c);
        g->opsets[i].version = o->version;
        g->n_opsets++;
    }
    return QRUN_OK;
}

/* ---- value types ------------------------------------------------------- */

/*
 * Copy a declared tensor type into v. strict (graph inputs/outputs): a bad
 * elem_type, negative dim or too high a rank is an error; otherwise (value_info
 * hints) such a declaration is ignored.
 */
static qrun_status ld_value_type(ld_ctx *c, const Onnx__ValueInfoProto *vi, int idx, bool strict) {
    qrun_value *v = &c->g->values[idx];
    if (v->kind == QRUN_VALUE_CONSTANT || !vi->type ||
        vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !vi->type->tensor_type)
        return QRUN_OK;
    const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
    qrun_dtype dt = QRUN_DTYPE_UNDEFINED;
    if (tt->has_elem_type && tt->elem_type != 0) {
        dt = qrun_dtype_from_onnx(tt->elem_type);
        if (dt == QRUN_DTYPE_UNDEFINED && strict)
            return qrun_errf(c->err, QRUN_E_MODEL, "value '%s' has unknown elem_type %d", v->name,
                             (int)tt->elem_type);
    }
    if (dt != QRUN_DTYPE_UNDEFINED)
        v->info.dtype = dt;
    const Onnx__TensorShapeProto *sh = tt->shape;
    if (!sh)
        return QRUN_OK;
    if (sh->n_dim > (size_t)c->lim->max_rank) {
        if (!strict)
            return QRUN_OK;
        return qrun_errf(c->err, sh->n_dim > QRUN_MAX_RANK ? QRUN_E_UNSUPPORTED : QRUN_E_MODEL,
                         "value '%s' has rank %zu; the limit is %d (max_rank)", v->name, sh->n_dim,
                         c->lim->max_rank);
    }
    int64_t dims[QRUN_MAX_RANK];
    for (size_t k = 0; k < sh->n_dim; k++) {
        const Onnx__TensorShapeProto__Dimension *d = sh->dim[k];
        dims[k] = -1;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (d->dim_value < 0) {
                if (!strict)
                    return QRUN_OK;
                return qrun_errf(c->err, QRUN_E_MODEL, "value '%s' has negative dimension %" PRId64,
                                 v->name, d->dim_value);
            }
            dims[k] = d->dim_value;
        }
    }
    /* A declared size becomes an allocation when the caller feeds a default input. */
    char what[300];
    snprintf(what, sizeof what, "value '%.256s'", v->name);
    qrun_status st = qrun_limits_check_shape(c->lim, what, (int)sh->n_dim, dims, c->err);
    if (st != QRUN_OK)
        return strict ? st : QRUN_OK;
    v->info.rank = (int)sh->n_dim;
    for (int k = 0; k < QRUN_MAX_RANK; k++) {
        v->info.dims[k] = k < v->info.rank ? dims[k] : -1;
        qrun_free(c->alloc, v->dim_params[k]);
        v->dim_params[k] = NULL;
    }
    for (size_t k = 0; k < sh->n_dim; k++) {
        const Onnx__TensorShapeProto__Dimension *d = sh->dim[k];
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param &&
            d->dim_param[0]) {
            v->dim_params[k] = qrun_strdup(c->alloc, d->dim_param);
            if (!v->dim_params[k])
                return ld_nomem(c);
        }
    }
    return QRUN_OK;
}

/* ---- initializers and inputs ------------------------------------------ */

static qrun_status ld_initializers(ld_ctx *c, const Onnx__GraphProto *gp) {
    if (gp->n_sparse_initializer > 0) {
        const Onnx__SparseTensorProto *sp = gp->sparse_initializer[0];
        const char *nm = sp->values ? ld_str(sp->values->name) : "";
        return qrun_errf(c->err, QRUN_E_UNSUPPORTED, "sparse initializer '%s' is not supported",
                         nm);
    }
    char what[300];
    for (size_t i = 0; i < gp->n_initializer; i++) {
        Onnx__TensorProto *tp = gp->initializer[i];
        const char *name = ld_str(tp->name);
        if (!name[0])
            return qrun_errf(c->err, QRUN_E_MODEL, "initializer %zu has no name", i);
        qrun_status st = ld_check_str(c, name, "initializer name");
        if (st != QRUN_OK)
            return st;
        if (onnx_name_map_get(&c->names, name) >= 0)
            return qrun_errf(c->err, QRUN_E_MODEL, "initializer '%s' is defined twice", name);
        snprintf(what, sizeof what, "initializer '%s'", name);
        struct qrun_tensor t;
        onnx_decode_ctx dc = ld_decode_ctx(c);
        st = onnx_tensor_decode(tp, &dc, what, &t, c->err);
        if (st != QRUN_OK)
            return st;
        /* The value's name carries the name; the tensor itself needs none. */
        qrun_free(c->alloc, t.name);
        t.name = NULL;
        int vi = ld_add_value(c, name, QRUN_VALUE_CONSTANT);
        if (vi < 0) {
            qrun_tensor_release(&t);
            return ld_nomem(c);
        }
        c->g->values[vi].info = t;
        c->g->n_initializers++;
    }
    return QRUN_OK;
}

static qrun_status ld_inputs(ld_ctx *c, const Onnx__GraphProto *gp) {
    qrun_graph *g = c->g;
    g->inputs = qrun_calloc(c->alloc, gp->n_input ? gp->n_input : 1, sizeof *g->inputs);
    if (!g->inputs)
        return ld_nomem(c);
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        const char *name = ld_str(vi->name);
        if (!name[0])
            return qrun_errf(c->err, QRUN_E_MODEL, "graph input %zu has no name", i);
        qrun_status st = ld_check_str(c, name, "graph input name");
        if (st != QRUN_OK)
            return st;
        int idx = onnx_name_map_get(&c->names, name);
        if (idx >= 0 && g->values[idx].kind == QRUN_VALUE_CONSTANT)
            continue; /* IR < 4 lists initializers as inputs too: still constants */
        if (idx >= 0)
            return qrun_errf(c->err, QRUN_E_MODEL, "graph input '%s' is listed twice", name);
        idx = ld_add_value(c, name, QRUN_VALUE_INPUT);
        if (idx < 0)
            return ld_nomem(c);
        st = ld_value_type(c, vi, idx, true);
        if (st != QRUN_OK)
            return st;
        g->inputs[g->n_inputs++] = idx;
    }
    return QRUN_OK;
}

/* ---- attributes -------------------------------------------------------- */

static int ld_attr_type(const Onnx__AttributeProto *ap) {
    if (ap->has_type && ap->type != LD_AT_UNDEFINED)
        return ap->type;
    /* Very old exporters omitted `type`; infer it from the field that is set. */
    if (ap->has_f)
        return LD_AT_FLOAT;
    if (ap->has_i)
        return LD_AT_INT;
    if (ap->has_s)
        return LD_AT_STRING;
    if (ap->t)
        return LD_AT_TENSOR;
    if (ap->g)
        return LD_AT_GRAPH;
    if (ap->n_floats)
        return LD_AT_FLOATS;
    if (ap->n_ints)
        return LD_AT_INTS;
    if (ap->n_strings)
        return LD_AT_STRINGS;
    if (ap->n_tensors)
        return LD_AT_TENSORS;
    if (ap->n_graphs)
        return LD_AT_GRAPHS;
    return LD_AT_UNDEFINED;
}

static char *ld_bytes_dup(const qrun_allocator *a, const ProtobufCBinaryData *b) {
    char *s = qrun_malloc(a, b->len + 1);
    if (!s)
        return NULL;
    if (b->len)
        memcpy(s, b->data, b->len);
    s[b->len] = '\0';
    return s;
}

static qrun_status
ld_attr_tensors(ld_ctx *c, const qrun_node *nd, const Onnx__AttributeProto *ap, qrun_attr *at) {
    char what[400];
    if (at->type == QRUN_ATTR_TENSOR) {
        if (!ap->t)
            return qrun_errf(c->err, QRUN_E_MODEL,
                             "node '%s': attribute '%s' of type TENSOR has no "
                             "tensor",
                             nd->name, at->name);
        at->t = qrun_calloc(c->alloc, 1, sizeof *at->t);
        if (!at->t)
            return ld_nomem(c);
        snprintf(what, sizeof what, "attribute '%s' of node '%s'", at->name, nd->name);
        onnx_decode_ctx dc = ld_decode_ctx(c);
        return onnx_tensor_decode(ap->t, &dc, what, at->t, c->err);
    }
    qrun_status st = ld_check_list(c, nd, at->name, ap->n_tensors);
    if (st != QRUN_OK)
        return st;
    at->n = ap->n_tensors;
    at->ts = qrun_calloc(c->alloc, at->n ? at->n : 1, sizeof *at->ts);
    if (!at->ts)
        return ld_nomem(c);
    for (size_t k = 0; k < at->n; k++) {
        snprintf(what, sizeof what, "tensor %zu of attribute '%s' of node '%s'", k, at->name,
                 nd->name);
        onnx_decode_ctx dc = ld_decode_ctx(c);
        st = onnx_tensor_decode(ap->tensors[k], &dc, what, &at->ts[k], c->err);
        if (st != QRUN_OK)
            return st;
    }
    return QRUN_OK;
}

static qrun_status
ld_attr_lists(ld_ctx *c, const qrun_node *nd, const Onnx__AttributeProto *ap, qrun_attr *at) {
    const qrun_allocator *a = c->alloc;
    size_t n = at->type == QRUN_ATTR_FLOATS ? ap->n_floats
               : at->type == QRUN_ATTR_INTS ? ap->n_ints
                                            : ap->n_strings;
    qrun_status st = ld_check_list(c, nd, at->name, n);
    if (st != QRUN_OK)
        return st;
    switch (at->type) {
    case QRUN_ATTR_FLOATS:
        at->n = ap->n_floats;
        at->floats = qrun_calloc(a, at->n ? at->n : 1, sizeof *at->floats);
        if (!at->floats)
            return ld_nomem(c);
        if (at->n)
            memcpy(at->floats, ap->floats, at->n * sizeof *at->floats);
        return QRUN_OK;
    case QRUN_ATTR_INTS:
        at->n = ap->n_ints;
        at->ints = qrun_calloc(a, at->n ? at->n : 1, sizeof *at->ints);
        if (!at->ints)
            return ld_nomem(c);
        if (at->n)
            memcpy(at->ints, ap->ints, at->n * sizeof *at->ints);
        return QRUN_OK;
    case QRUN_ATTR_STRINGS:
        at->n = ap->n_strings;
        at->strings = qrun_calloc(a, at->n ? at->n : 1, sizeof *at->strings);
        if (!at->strings)
            return ld_nomem(c);
        for (size_t k = 0; k < at->n; k++) {
            st = ld_check_len(c, ap->strings[k].len, "a string of attribute", at->name);
            if (st != QRUN_OK)
                return st;
            at->strings[k] = ld_bytes_dup(a, &ap->strings[k]);
            if (!at->strings[k])
                return ld_nomem(c);
        }
        return QRUN_OK;
    default:
        return QRUN_OK;
    }
}

/* Convert one attribute into at (already named and owned by the node). */
static qrun_status
ld_attr(ld_ctx *c, const qrun_node *nd, const Onnx__AttributeProto *ap, qrun_attr *at) {
    int type = ld_attr_type(ap);
    switch (type) {
    case LD_AT_FLOAT:
        at->type = QRUN_ATTR_FLOAT;
        at->f = ap->f;
        return QRUN_OK;
    case LD_AT_INT:
        at->type = QRUN_ATTR_INT;
        at->i = ap->i;
        return QRUN_OK;
    case LD_AT_STRING: {
        qrun_status st = ld_check_len(c, ap->s.len, "string attribute", at->name);
        if (st != QRUN_OK)
            return st;
        at->type = QRUN_ATTR_STRING;
        at->s = ld_bytes_dup(c->alloc, &ap->s);
        at->s_len = ap->s.len;
        return at->s ? QRUN_OK : ld_nomem(c);
    }
    case LD_AT_TENSOR:
        at->type = QRUN_ATTR_TENSOR;
        return ld_attr_tensors(c, nd, ap, at);
    case LD_AT_TENSORS:
        at->type = QRUN_ATTR_TENSORS;
        return ld_attr_tensors(c, nd, ap, at);
    case LD_AT_GRAPH:
        at->type = QRUN_ATTR_GRAPH; /* kept by name and type only */
        return QRUN_OK;
    case LD_AT_GRAPHS:
        at->type = QRUN_ATTR_GRAPHS;
        return QRUN_OK;
    case LD_AT_FLOATS:
        at->type = QRUN_ATTR_FLOATS;
        return ld_attr_lists(c, nd, ap, at);
    case LD_AT_INTS:
        at->type = QRUN_ATTR_INTS;
        return ld_attr_lists(c, nd, ap, at);
    case LD_AT_STRINGS:
        at->type = QRUN_ATTR_STRINGS;
        return ld_attr_lists(c, nd, ap, at);
    case LD_AT_SPARSE_TENSOR:
    case LD_AT_SPARSE_TENSORS:
    case LD_AT_TYPE_PROTO:
    case LD_AT_TYPE_PROTOS:
        return qrun_errf(c->err, QRUN_E_UNSUPPORTED,
                         "node '%s': attribute '%s' has a sparse-tensor or type-proto type (%d), "
                         "which is not supported",
                         nd->name, at->name, type);
    default:
        return qrun_errf(c->err, QRUN_E_MODEL, "node '%s': attribute '%s' has invalid type %d",
                         nd->name, at->name, type);
    }
}

static qrun_status ld_attrs(ld_ctx *c, qrun_node *nd, const Onnx__NodeProto *np) {
    if (np->n_attribute == 0)
        return QRUN_OK;
    nd->attrs = qrun_calloc(c->alloc, np->n_attribute, sizeof *nd->attrs);
    if (!nd->attrs)
        return ld_nomem(c);
    for (size_t k = 0; k < np->n_attribute; k++) {
        const Onnx__AttributeProto *ap = np->attribute[k];
        const char *name = ld_str(ap->name);
        if (!name[0])
            return qrun_errf(c->err, QRUN_E_MODEL, "node '%s': attribute %zu has no name", nd->name,
                             k);
        qrun_status st = ld_check_str(c, name, "attribute name");
        if (st != QRUN_OK)
            return st;
        if (ap->ref_attr_name && ap->ref_attr_name[0])
            return qrun_errf(c->err, QRUN_E_UNSUPPORTED,
                             "node '%s': attribute '%s' refers to function attribute '%s'; "
                             "functions are not supported",
                             nd->name, name, ap->ref_attr_name);
        if (qrun_node_attr(nd, name))
            return qrun_errf(c->err, QRUN_E_MODEL, "node '%s': attribute '%s' is given twice",
                             nd->name, name);
        qrun_attr *at = &nd->attrs[nd->n_attrs++];
        at->name = qrun_strdup(c->alloc, name);
        if (!at->name)
            return ld_nomem(c);
        st = ld_attr(c, nd, ap, at);
        if (st != QRUN_OK)
            return st;
    }
    return QRUN_OK;
}

/* ---- Constant nodes: every form becomes one TENSOR attribute "value" ---- */

static qrun_status ld_const_tensor(ld_ctx *c,
                                   const qrun_node *nd,
                                   const Onnx__AttributeProto *ap,
                                   const char *which,
                                   struct qrun_tensor *t) {
    int type = ld_attr_type(ap);
    qrun_dtype dt;
    int rank;
    size_t n;
    const void *src;
    size_t elem;
    if (strcmp(which, "value_float") == 0 && type == LD_AT_FLOAT)
        dt = QRUN_DTYPE_FLOAT, rank = 0, n = 1, src = &ap->f, elem = sizeof(float);
    else if (strcmp(which, "value_floats") == 0 && type == LD_AT_FLOATS)
        dt = QRUN_DTYPE_FLOAT, rank = 1, n = ap->n_floats, src = ap->floats, elem = sizeof(float);
    else if (strcmp(which, "value_int") == 0 && type == LD_AT_INT)
        dt = QRUN_DTYPE_INT64, rank = 0, n = 1, src = &ap->i, elem = sizeof(int64_t);
    else if (strcmp(which, "value_ints") == 0 && type == LD_AT_INTS)
        dt = QRUN_DTYPE_INT64, rank = 1, n = ap->n_ints, src = ap->ints, elem = sizeof(int64_t);
    else if (strcmp(which, "value_string") == 0 && type == LD_AT_STRING)
        dt = QRUN_DTYPE_STRING, rank = 0, n = 1, src = NULL, elem = 0;
    else if (strcmp(which, "value_strings") == 0 && type == LD_AT_STRINGS)
        dt = QRUN_DTYPE_STRING, rank = 1, n = ap->n_strings, src = NULL, elem = 0;
    else
        return qrun_errf(c->err, QRUN_E_MODEL,
                         "Constant node '%s': attribute '%s' has the wrong "
                         "type (%d)",
                         nd->name, which, type);
    qrun_status st = ld_check_list(c, nd, which, n);
    char what[300];
    snprintf(what, sizeof what, "attribute '%s' of node '%.256s'", which, nd->name);
    onnx_decode_ctx dc = ld_decode_ctx(c);
    if (st == QRUN_OK)
        st = onnx_charge_bytes(&dc, n * elem, what, c->err);
    if (st != QRUN_OK)
        return st;
    memset(t, 0, sizeof *t);
    t->dtype = dt;
    t->rank = rank;
    t->dims[0] = rank ? (int64_t)n : 0;
    t->alloc = c->alloc;
    if (dt == QRUN_DTYPE_STRING)
        return QRUN_OK; /* kept without data, like STRING initializers */
    t->nbytes = n * elem;
    t->data = qrun_calloc(c->alloc, 1, t->nbytes ? t->nbytes : 1);
    if (!t->data)
        return ld_nomem(c);
    t->owns_data = true;
    if (t->nbytes)
        memcpy(t->data, src, t->nbytes);
    return QRUN_OK;
}

static qrun_status ld_constant(ld_ctx *c, qrun_node *nd, const Onnx__NodeProto *np) {
    static const char *const k_forms[] = {"value",      "value_float",  "value_floats", "value_int",
                                          "value_ints", "value_string", "value_strings"};
    const Onnx__AttributeProto *chosen = NULL;
    const char *which = NULL;
    int found = 0;
    for (size_t k = 0; k < np->n_attribute; k++) {
        const char *name = ld_str(np->attribute[k]->name);
        if (strcmp(name, "sparse_value") == 0)
            return qrun_errf(c->err, QRUN_E_UNSUPPORTED,
                             "Constant node '%s': sparse_value is not supported", nd->name);
        for (size_t f = 0; f < sizeof k_forms / sizeof k_forms[0]; f++) {
            if (strcmp(name, k_forms[f]) == 0) {
                chosen = np->attribute[k];
                which = k_forms[f];
                found++;
            }
        }
    }
    if (found != 1)
        return qrun_errf(c->err, QRUN_E_MODEL,
                         "Constant node '%s' must have exactly one value attribute (found %d)",
                         nd->name, found);
    nd->attrs = qrun_calloc(c->alloc, 1, sizeof *nd->attrs);
    if (!nd->attrs)
        return ld_nomem(c);
    nd->n_attrs = 1;
    qrun_attr *at = &nd->attrs[0];
    at->name = qrun_strdup(c->alloc, "value");
    if (!at->name)
        return ld_nomem(c);
    at->type = QRUN_ATTR_TENSOR;
    if (strcmp(which, "value") == 0) {
        if (ld_attr_type(chosen) != LD_AT_TENSOR)
            return qrun_errf(c->err, QRUN_E_MODEL,
                             "Constant node '%s': attribute 'value' is not a tensor", nd->name);
        return ld_attr_tensors(c, nd, chosen, at);
    }
    at->t = qrun_calloc(c->alloc, 1, sizeof *at->t);
    if (!at->t)
        return ld_nomem(c);
    return ld_const_tensor(c, nd, chosen, which, at->t);
}

/* ---- nodes ------------------------------------------------------------- */

static qrun_status ld_node_head(ld_ctx *c, const Onnx__NodeProto *np, size_t index, qrun_node *nd) {
    const char *op_type = ld_str(np->op_type);
    if (!op_type[0])
        return qrun_errf(c->err, QRUN_E_MODEL, "node %zu ('%.64s') has no op_type", index,
                         ld_str(np->name));
    qrun_status st = ld_check_str(c, np->name, "node name");
    if (st == QRUN_OK)
        st = ld_check_str(c, op_type, "op_type");
    if (st == QRUN_OK)
        st = ld_check_str(c, np->domain, "node domain");
    if (st != QRUN_OK)
        return st;
    if (np->name && np->name[0]) {
        nd->name = qrun_strdup(c->alloc, np->name);
    } else {
        char buf[320];
        snprintf(buf, sizeof buf, "%.256s_%zu", op_type, index);
        nd->name = qrun_strdup(c->alloc, buf);
    }
    const char *domain = ld_domain(np->domain);
    nd->op_type = qrun_strdup(c->alloc, op_type);
    nd->domain = qrun_strdup(c->alloc, domain);
    if (!nd->name || !nd->op_type || !nd->domain)
        return ld_nomem(c);
    nd->opset = qrun_graph_opset(c->g, domain);
    if (nd->opset < 0)
        return qrun_errf(c->err, QRUN_E_MODEL,
                         "node '%s' (%s) uses domain '%s', which the model does not import",
                         nd->name, op_type, ld_domain_label(domain));
    nd->op = qrun_op_lookup(domain, op_type);
    if (domain[0] == '\0' && strcmp(op_type, "Constant") == 0)
        return ld_constant(c, nd, np);
    return ld_attrs(c, nd, np);
}

/* Pass 1: create the node and define its outputs. */
static qrun_status ld_node_outputs(ld_ctx *c, const Onnx__NodeProto *np, size_t index) {
    int ni = qrun_graph_add_node(c->g);
    if (ni < 0)
        return ld_nomem(c);
    qrun_node *nd = &c->g->nodes[ni];
    qrun_status st = ld_node_head(c, np, index, nd);
    if (st != QRUN_OK)
        return st;
    nd->outputs = qrun_calloc(c->alloc, np->n_output ? np->n_output : 1, sizeof *nd->outputs);
    nd->inputs = qrun_calloc(c->alloc, np->n_input ? np->n_input : 1, sizeof *nd->inputs);
    if (!nd->outputs || !nd->inputs)
        return ld_nomem(c);
    for (size_t k = 0; k < np->n_output; k++) {
        const char *name = ld_str(np->output[k]);
        int vi = -1;
        st = ld_check_str(c, name, "node output name");
        if (st != QRUN_OK)
            return st;
        if (name[0]) {
            vi = onnx_name_map_get(&c->names, name);
            if (vi >= 0) {
                char who[300];
                ld_definer(c, vi, who, sizeof who);
                return qrun_errf(c->err, QRUN_E_MODEL,
                                 "node '%s' output '%s' is already defined by %s",
                                 c->g->nodes[ni].name, name, who);
            }
            vi = ld_add_value(c, name, QRUN_VALUE_INTERMEDIATE);
            if (vi < 0)
                return ld_nomem(c);
            c->g->values[vi].producer = ni;
        }
        nd = &c->g->nodes[ni];
        nd->outputs[nd->n_outputs++] = vi;
    }
    return QRUN_OK;
}

/* Pass 2: resolve inputs (nodes may appear before their producers in the file). */
static qrun_status ld_node_inputs(ld_ctx *c, const Onnx__NodeProto *np, int ni) {
    qrun_node *nd = &c->g->nodes[ni];
    for (size_t k = 0; k < np->n_input; k++) {
        const char *name = ld_str(np->input[k]);
        int vi = -1;
        if (name[0]) {
            vi = onnx_name_map_get(&c->names, name);
            if (vi < 0)
                return qrun_errf(c->err, QRUN_E_MODEL,
                                 "node '%s' (%s) input '%s' is not defined by any node, "
                                 "initializer or graph input",
                                 nd->name, nd->op_type, name);
        }
        nd->inputs[nd->n_inputs++] = vi;
    }
    return QRUN_OK;
}

static qrun_status ld_nodes(ld_ctx *c, const Onnx__GraphProto *gp) {
    for (size_t i = 0; i < gp->n_node; i++) {
        qrun_status st = ld_node_outputs(c, gp->node[i], i);
        if (st != QRUN_OK)
            return st;
    }
    for (size_t i = 0; i < gp->n_node; i++) {
        qrun_status st = ld_node_inputs(c, gp->node[i], (int)i);
        if (st != QRUN_OK)
            return st;
    }
    return QRUN_OK;
}

/* ---- outputs and value_info -------------------------------------------- */

static qrun_status ld_outputs(ld_ctx *c, const Onnx__GraphProto *gp) {
    qrun_graph *g = c->g;
    g->outputs = qrun_calloc(c->alloc, gp->n_output ? gp->n_output : 1, sizeof *g->outputs);
    if (!g->outputs)
        return ld_nomem(c);
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        const char *name = ld_str(vi->name);
        if (!name[0])
            return qrun_errf(c->err, QRUN_E_MODEL, "graph output %zu has no name", i);
        int idx = onnx_name_map_get(&c->names, name);
        if (idx < 0)
            return qrun_errf(c->err, QRUN_E_MODEL, "graph output '%s' is not produced by any node",
                             name);
        if (g->values[idx].is_output)
            return qrun_errf(c->err, QRUN_E_MODEL, "graph output '%s' is listed twice", name);
        g->values[idx].is_output = true;
        qrun_status st = ld_value_type(c, vi, idx, g->values[idx].kind == QRUN_VALUE_INTERMEDIATE);
        if (st != QRUN_OK)
            return st;
        g->outputs[g->n_outputs++] = idx;
    }
    return QRUN_OK;
}

static qrun_status ld_value_infos(ld_ctx *c, const Onnx__GraphProto *gp) {
    for (size_t i = 0; i < gp->n_value_info; i++) {
        const Onnx__ValueInfoProto *vi = gp->value_info[i];
        int idx = onnx_name_map_get(&c->names, ld_str(vi->name));
        if (idx < 0 || c->g->values[idx].kind != QRUN_VALUE_INTERMEDIATE ||
            c->g->values[idx].is_output)
            continue; /* hints for unknown names are harmless; declared types win */
        qrun_status st = ld_value_type(c, vi, idx, false);
        if (st != QRUN_OK)
            return st;
    }
    return QRUN_OK;
}

/* ---- model ------------------------------------------------------------- */

static qrun_status ld_model(ld_ctx *c, const Onnx__ModelProto *m) {
    const Onnx__GraphProto *gp = m->graph;
    if (!gp)
        return qrun_errf(c->err, QRUN_E_MODEL, "not a valid ONNX model (it has no graph)");
    if (!m->has_ir_version || m->ir_version < 3)
        return qrun_errf(c->err, QRUN_E_UNSUPPORTED,
                         "IR version %" PRId64
                         " is not supported (qrun needs IR version 3 or later)",
                         m->has_ir_version ? m->ir_version : (int64_t)0);
    qrun_graph *g = c->g;
    g->ir_version = m->ir_version;
    g->producer_name = qrun_strdup(c->alloc, ld_str(m->producer_name));
    g->producer_version = qrun_strdup(c->alloc, ld_str(m->producer_version));
    g->name = qrun_strdup(c->alloc, ld_str(gp->name));
    if (!g->producer_name || !g->producer_version || !g->name)
        return ld_nomem(c);
    size_t expect = gp->n_initializer + gp->n_input + 2 * gp->n_node + 16;
    if (!onnx_name_map_init(&c->names, c->alloc, expect))
        return ld_nomem(c);
    qrun_status st = ld_opsets(c, m);
    if (st == QRUN_OK)
        st = ld_initializers(c, gp);
    if (st == QRUN_OK)
        st = ld_inputs(c, gp);
    if (st == QRUN_OK)
        st = ld_nodes(c, gp);
    if (st == QRUN_OK)
        st = ld_outputs(c, gp);
    if (st == QRUN_OK)
        st = ld_value_infos(c, gp);
    if (st == QRUN_OK)
        st = qrun_graph_toposort(g, c->err);
    return st;
}

/* The wire-format pre-pass (onnx_pb_scan): nesting and message counts within lim. */
static qrun_status ld_scan(const void *data, size_t size, const qrun_limits *lim, qrun_err *err) {
    onnx_pb_scan scan = {.max_depth = lim->max_nesting, .limits = lim};
    if (onnx_pb_scan_run(&scan, &onnx__model_proto__descriptor, data, size))
        return QRUN_OK;
    if (!scan.exceeded)
        return qrun_errf(err, QRUN_E_MODEL, "not a valid ONNX model (protobuf parse failed)");
    if (strcmp(scan.exceeded, "parse_bytes") == 0)
        return qrun_errf(err, QRUN_E_MODEL,
                         "parsing the model would allocate about %" PRId64
                         " bytes, more than %d times its size",
                         scan.value, ONNX_PARSE_FACTOR);
    if (strcmp(scan.exceeded, "max_nesting") == 0)
        return qrun_errf(err, QRUN_E_MODEL,
                         "protobuf messages are nested deeper than %" PRId64 " (limit max_nesting)",
                         scan.value);
    static const struct {
        const char *limit, *what;
    } k_what[] = {{"max_nodes", "nodes"},
                  {"max_initializers", "initializers"},
                  {"max_graph_io", "inputs, outputs or value_info entries in one graph"},
                  {"max_attributes", "attributes on one node"}};
    const char *what = "items";
    for (size_t i = 0; i < sizeof k_what / sizeof k_what[0]; i++) {
        if (strcmp(scan.exceeded, k_what[i].limit) == 0)
            what = k_what[i].what;
    }
    return qrun_errf(err, QRUN_E_MODEL, "the model has more than %" PRId64 " %s (limit %s)",
                     scan.value, what, scan.exceeded);
}

/*
 * Parse and convert. When file_buf is non-NULL it holds data (from alloc)
 * and is freed as soon as protobuf-c has copied what it needs, so a large
 * model's bytes are not held twice during conversion.
 */
static qrun_status ld_load(const void *data,
                           size_t size,
                           const char *base_dir,
                           const qrun_allocator *alloc,
                           const qrun_limits *lim,
                           uint8_t **file_buf,
                           qrun_graph **out,
                           qrun_err *err) {
    if (!out)
        return qrun_errf(err, QRUN_E_ARG, "no output pointer");
    *out = NULL;
    if (!data && size)
        return qrun_errf(err, QRUN_E_ARG, "no model data");
    if (!alloc)
        alloc = qrun_allocator_default();
    lim = qrun_limits_or_default(lim);
    if (size > lim->max_model_bytes)
        return qrun_errf(err, QRUN_E_MODEL,
                         "model is too large (%zu bytes; limit max_model_bytes = %" PRIu64 ")",
                         size, lim->max_model_bytes);
    qrun_status st = ld_scan(data, size, lim, err);
    if (st != QRUN_OK)
        return st;
    onnx_pb_alloc pba;
    onnx_pb_alloc_init(&pba, alloc);
    Onnx__ModelProto *m = onnx__model_proto__unpack(&pba.pb, size, data);
    if (file_buf) {
        qrun_free(alloc, *file_buf);
        *file_buf = NULL;
    }
    if (!m && pba.failed)
        return qrun_errf(err, QRUN_E_NOMEM, "out of memory parsing the model");
    if (!m)
        return qrun_errf(err, QRUN_E_MODEL, "not a valid ONNX model (protobuf parse failed)");
    ld_ctx c = {.alloc = alloc, .base_dir = base_dir, .lim = lim, .err = err};
    st = qrun_graph_create(alloc, &c.g);
    if (st == QRUN_OK)
        st = ld_model(&c, m);
    else
        qrun_errf(err, st, "out of memory while loading the model");
    onnx_name_map_free(&c.names);
    onnx__model_proto__free_unpacked(m, &pba.pb);
    if (st != QRUN_OK) {
        qrun_graph_free(c.g);
        return st;
    }
    *out = c.g;
    return QRUN_OK;
}

qrun_status onnx_load_bytes_limited(const void *data,
                                    size_t size,
                                    const char *base_dir,
                                    const qrun_allocator *alloc,
                                    const qrun_limits *limits,
                                    qrun_graph **out,
                                    qrun_err *err) {
    return ld_load(data, size, base_dir, alloc, limits, NULL, out, err);
}

qrun_status onnx_load_bytes(const void *data,
                            size_t size,
                            const char *base_dir,
                            const qrun_allocator *alloc,
                            qrun_graph **out,
                            qrun_err *err) {
    return ld_load(data, size, base_dir, alloc, NULL, NULL, out, err);
}

/* The folder of path ("." when it has none), for external data. */
static char *ld_dirname(const qrun_allocator *a, const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        return qrun_strdup(a, ".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = qrun_malloc(a, n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

qrun_status onnx_load_file_limited(const char *path,
                                   const qrun_allocator *alloc,
                                   const qrun_limits *limits,
                                   qrun_graph **out,
                                   qrun_err *err) {
    if (!out)
        return qrun_errf(err, QRUN_E_ARG, "no output pointer");
    *out = NULL;
    if (!path)
        return qrun_errf(err, QRUN_E_ARG, "no model path");
    if (!alloc)
        alloc = qrun_allocator_default();
    uint8_t *buf = NULL;
    size_t size = 0;
    const qrun_limits *lim = qrun_limits_or_default(limits);
    qrun_status st = onnx_read_whole_file(path, alloc, lim->max_model_bytes, &buf, &size, err);
    if (st != QRUN_OK)
        return st;
    char *dir = ld_dirname(alloc, path);
    if (!dir) {
        qrun_free(alloc, buf);
        return qrun_errf(err, QRUN_E_NOMEM, "out of memory loading '%s'", path);
    }
    st = ld_load(buf, size, dir, alloc, lim, &buf, out, err);
    if (st != QRUN_OK)
        qrun_err_prefix(err, "%s: ", onnx_basename(path));
    qrun_free(alloc, dir);
    qrun_free(alloc, buf);
    return st;
}

qrun_status
onnx_load_file(const char *path, const qrun_allocator *alloc, qrun_graph **out, qrun_err *err) {
    return onnx_load_file_limited(path, alloc, NULL, out, err);
}
