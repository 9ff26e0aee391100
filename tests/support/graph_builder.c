/* SPDX-License-Identifier: Apache-2.0 */
/* Test support: multi-node ONNX model builder (see graph_builder.h). */
#include "tests/support/graph_builder.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define GB_MAX 256

struct gbuild {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__NodeProto *nodes[GB_MAX];
    Onnx__TensorProto *inits[GB_MAX];
    Onnx__ValueInfoProto *ins[GB_MAX], *outs[GB_MAX];
    void *owned[8 * GB_MAX];
    size_t n_owned;
};

static void *gb_alloc(gbuild *b, size_t n) {
    assert(b->n_owned < sizeof b->owned / sizeof b->owned[0]);
    void *p = calloc(1, n ? n : 1);
    assert(p);
    b->owned[b->n_owned++] = p;
    return p;
}

static char *gb_str(gbuild *b, const char *s) {
    char *p = gb_alloc(b, strlen(s) + 1);
    memcpy(p, s, strlen(s) + 1);
    return p;
}

gbuild *gb_new(int64_t opset) {
    gbuild *b = calloc(1, sizeof *b);
    assert(b);
    onnx__model_proto__init(&b->m);
    onnx__graph_proto__init(&b->g);
    onnx__operator_set_id_proto__init(&b->opset);
    b->opset.domain = "";
    b->opset.has_version = 1;
    b->opset.version = opset;
    b->opsets[0] = &b->opset;
    b->m.has_ir_version = 1;
    b->m.ir_version = 9;
    b->m.n_opset_import = 1;
    b->m.opset_import = b->opsets;
    b->m.graph = &b->g;
    b->g.name = "g";
    b->g.node = b->nodes;
    b->g.initializer = b->inits;
    b->g.input = b->ins;
    b->g.output = b->outs;
    return b;
}

void gb_free(gbuild *b) {
    for (size_t i = 0; i < b->n_owned; i++)
        free(b->owned[i]);
    free(b);
}

void gb_input(gbuild *b, const char *name, int elem_type, int rank, const int64_t *dims) {
    Onnx__ValueInfoProto *v = gb_alloc(b, sizeof *v);
    Onnx__TypeProto *t = gb_alloc(b, sizeof *t);
    Onnx__TypeProto__Tensor *tt = gb_alloc(b, sizeof *tt);
    Onnx__TensorShapeProto *sh = gb_alloc(b, sizeof *sh);
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(t);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)rank;
    sh->dim = gb_alloc(b, sizeof *sh->dim * (size_t)(rank + 1));
    for (int d = 0; d < rank; d++) {
        Onnx__TensorShapeProto__Dimension *dim = gb_alloc(b, sizeof *dim);
        onnx__tensor_shape_proto__dimension__init(dim);
        if (dims[d] < 0) { /* symbolic */
            dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dim->dim_param = gb_str(b, "N");
        } else {
            dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dim->dim_value = dims[d];
        }
        sh->dim[d] = dim;
    }
    tt->has_elem_type = 1;
    tt->elem_type = elem_type;
    tt->shape = sh;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    v->name = gb_str(b, name);
    v->type = t;
    assert(b->g.n_input < GB_MAX);
    b->ins[b->g.n_input++] = v;
}

void gb_output(gbuild *b, const char *name) {
    Onnx__ValueInfoProto *v = gb_alloc(b, sizeof *v);
    onnx__value_info_proto__init(v);
    v->name = gb_str(b, name);
    assert(b->g.n_output < GB_MAX);
    b->outs[b->g.n_output++] = v;
}

void gb_init(gbuild *b,
             const char *name,
             int elem_type,
             int rank,
             const int64_t *dims,
             const void *raw,
             size_t nbytes) {
    Onnx__TensorProto *t = gb_alloc(b, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = gb_str(b, name);
    t->has_data_type = 1;
    t->data_type = elem_type;
    t->n_dims = (size_t)rank;
    t->dims = gb_alloc(b, sizeof *t->dims * (size_t)(rank + 1));
    for (int d = 0; d < rank; d++)
        t->dims[d] = dims[d];
    t->has_raw_data = 1;
    t->raw_data.len = nbytes;
    t->raw_data.data = gb_alloc(b, nbytes);
    memcpy(t->raw_data.data, raw, nbytes);
    assert(b->g.n_initializer < GB_MAX);
    b->inits[b->g.n_initializer++] = t;
}

void gb_scalar_f32(gbuild *b, const char *name, float v) {
    gb_init(b, name, 1, 0, NULL, &v, sizeof v);
}

void gb_scalar_i8(gbuild *b, const char *name, int8_t v) {
    gb_init(b, name, 3, 0, NULL, &v, sizeof v);
}

void gb_scalar_u8(gbuild *b, const char *name, uint8_t v) {
    gb_init(b, name, 2, 0, NULL, &v, sizeof v);
}

/* Split a space-separated list into owned strings ("-" is the empty name). */
static char **gb_names(gbuild *b, const char *list, size_t *n) {
    char *copy = gb_str(b, list);
    char **out = gb_alloc(b, sizeof *out * 32);
    *n = 0;
    for (char *tok = strtok(copy, " "); tok; tok = strtok(NULL, " ")) {
        assert(*n < 32);
        out[(*n)++] = strcmp(tok, "-") == 0 ? "" : tok;
    }
    return out;
}

Onnx__NodeProto *
gb_node(gbuild *b, const char *op, const char *name, const char *ins, const char *outs) {
    Onnx__NodeProto *n = gb_alloc(b, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = gb_str(b, op);
    n->name = gb_str(b, name);
    n->input = gb_names(b, ins, &n->n_input);
    n->output = gb_names(b, outs, &n->n_output);
    n->attribute = gb_alloc(b, sizeof *n->attribute * 16);
    assert(b->g.n_node < GB_MAX);
    b->nodes[b->g.n_node++] = n;
    return n;
}

static Onnx__AttributeProto *gb_attr(gbuild *b, Onnx__NodeProto *n, const char *name) {
    Onnx__AttributeProto *a = gb_alloc(b, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = gb_str(b, name);
    assert(n->n_attribute < 16);
    n->attribute[n->n_attribute++] = a;
    return a;
}

void gb_attr_int(gbuild *b, Onnx__NodeProto *n, const char *name, int64_t v) {
    Onnx__AttributeProto *a = gb_attr(b, n, name);
    a->has_type = 1; /* AttributeType: FLOAT 1, INT 2, INTS 7 */
    a->type = 2;
    a->has_i = 1;
    a->i = v;
}

void gb_attr_ints(gbuild *b, Onnx__NodeProto *n, const char *name, int count, const int64_t *v) {
    Onnx__AttributeProto *a = gb_attr(b, n, name);
    a->has_type = 1; /* AttributeType: FLOAT 1, INT 2, INTS 7 */
    a->type = 7;
    a->n_ints = (size_t)count;
    a->ints = gb_alloc(b, sizeof *a->ints * (size_t)(count + 1));
    memcpy(a->ints, v, sizeof *v * (size_t)count);
}

void gb_attr_float(gbuild *b, Onnx__NodeProto *n, const char *name, float v) {
    Onnx__AttributeProto *a = gb_attr(b, n, name);
    a->has_type = 1; /* AttributeType: FLOAT 1, INT 2, INTS 7 */
    a->type = 1;
    a->has_f = 1;
    a->f = v;
}

void gb_attr_string(gbuild *b, Onnx__NodeProto *n, const char *name, const char *v) {
    Onnx__AttributeProto *a = gb_attr(b, n, name);
    a->has_type = 1; /* AttributeType: STRING 3 */
    a->type = 3;
    a->has_s = 1;
    a->s.data = (uint8_t *)gb_str(b, v);
    a->s.len = strlen(v);
}

uint8_t *gb_pack(gbuild *b, size_t *n) {
    *n = onnx__model_proto__get_packed_size(&b->m);
    uint8_t *buf = malloc(*n ? *n : 1);
    assert(buf);
    onnx__model_proto__pack(&b->m, buf);
    return buf;
}
