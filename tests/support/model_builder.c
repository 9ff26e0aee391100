/* SPDX-License-Identifier: Apache-2.0 */
/* Test support: craft small ONNX models with protobuf-c structs (see model_builder.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/support/model_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tmodel_init(tmodel *t) {
    memset(t, 0, sizeof *t);
    onnx__model_proto__init(&t->m);
    onnx__graph_proto__init(&t->g);
    onnx__operator_set_id_proto__init(&t->opset);
    t->opset.domain = "";
    t->opset.has_version = 1;
    t->opset.version = 13;
    t->opsets[0] = &t->opset;
    t->m.has_ir_version = 1;
    t->m.ir_version = 8;
    t->m.n_opset_import = 1;
    t->m.opset_import = t->opsets;
    t->m.graph = &t->g;

    onnx__value_info_proto__init(&t->in);
    onnx__type_proto__init(&t->in_type);
    onnx__type_proto__tensor__init(&t->in_tt);
    onnx__tensor_shape_proto__init(&t->in_shape);
    onnx__tensor_shape_proto__dimension__init(&t->in_dim);
    t->in_dim.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    t->in_dim.dim_value = 2;
    t->in_dims[0] = &t->in_dim;
    t->in_shape.n_dim = 1;
    t->in_shape.dim = t->in_dims;
    t->in_tt.has_elem_type = 1;
    t->in_tt.elem_type = 1;
    t->in_tt.shape = &t->in_shape;
    t->in_type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->in_type.tensor_type = &t->in_tt;
    t->in.name = "X";
    t->in.type = &t->in_type;
    t->ins[0] = &t->in;
    t->g.n_input = 1;
    t->g.input = t->ins;

    onnx__value_info_proto__init(&t->out);
    t->out.name = "Y";
    t->outs[0] = &t->out;
    t->g.n_output = 1;
    t->g.output = t->outs;

    onnx__tensor_proto__init(&t->w);
    t->w.name = "W";
    t->w.has_data_type = 1;
    t->w.data_type = 1;
    t->w_dims[0] = 2;
    t->w.n_dims = 1;
    t->w.dims = t->w_dims;
    t->w_data[0] = 1.5f;
    t->w_data[1] = -2.0f;
    t->w.has_raw_data = 1;
    t->w.raw_data.data = (uint8_t *)t->w_data;
    t->w.raw_data.len = sizeof t->w_data;
    t->inits[0] = &t->w;
    t->g.n_initializer = 1;
    t->g.initializer = t->inits;

    onnx__node_proto__init(&t->node);
    t->node.op_type = "Add";
    t->node_in[0] = "X";
    t->node_in[1] = "W";
    t->node_out[0] = "Y";
    t->node.n_input = 2;
    t->node.input = t->node_in;
    t->node.n_output = 1;
    t->node.output = t->node_out;
    t->nodes[0] = &t->node;
    t->g.n_node = 1;
    t->g.node = t->nodes;
}

uint8_t *pack_model(const Onnx__ModelProto *m, size_t *n) {
    *n = onnx__model_proto__get_packed_size(m);
    uint8_t *buf = malloc(*n ? *n : 1);
    assert_non_null(buf);
    assert_int_equal(onnx__model_proto__pack(m, buf), *n);
    return buf;
}

static qrun_status
load_model(const Onnx__ModelProto *m, const char *base_dir, qrun_graph **g, qrun_err *err) {
    size_t n;
    uint8_t *buf = pack_model(m, &n);
    qrun_status st = onnx_load_bytes(buf, n, base_dir, NULL, g, err);
    free(buf);
    if (st != QRUN_OK)
        assert_null(*g);
    return st;
}

/* Expect failure with status want and a message containing needle. */
void expect_fail(const Onnx__ModelProto *m,
                 const char *base_dir,
                 qrun_status want,
                 const char *needle) {
    qrun_graph *g = NULL;
    qrun_err err = {{0}};
    qrun_status st = load_model(m, base_dir, &g, &err);
    if (st != want || !strstr(err.msg, needle))
        fail_msg("want status %d with '%s', got %d: %s", want, needle, st, err.msg);
    qrun_graph_free(g);
}

qrun_graph *expect_ok(const Onnx__ModelProto *m, const char *base_dir) {
    qrun_graph *g = NULL;
    qrun_err err = {{0}};
    qrun_status st = load_model(m, base_dir, &g, &err);
    if (st != QRUN_OK)
        fail_msg("load failed (%d): %s", st, err.msg);
    return g;
}

const qrun_value *find(const qrun_graph *g, const char *name) {
    int i = qrun_graph_find_value(g, name);
    assert_true(i >= 0);
    return &g->values[i];
}

char *tmpdir_make(void) {
    char tmpl[] = "/tmp/qrun-loader-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

void write_file(const char *dir, const char *name, const void *data, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

void rm_rf(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

void qm_init(qm_model *q, const char *op_type, const char *name, int64_t opset) {
    memset(q, 0, sizeof *q);
    onnx__model_proto__init(&q->m);
    onnx__graph_proto__init(&q->g);
    onnx__operator_set_id_proto__init(&q->opset);
    q->opset.domain = "";
    q->opset.has_version = 1;
    q->opset.version = opset;
    q->opsets[0] = &q->opset;
    q->m.has_ir_version = 1;
    q->m.ir_version = 8;
    q->m.n_opset_import = 1;
    q->m.opset_import = q->opsets;
    q->m.graph = &q->g;
    q->g.name = "qm";
    q->g.input = q->ins;
    q->g.output = q->outs;
    q->g.initializer = q->inits;
    onnx__node_proto__init(&q->node);
    q->node.op_type = (char *)op_type;
    q->node.name = (char *)name;
    q->node.input = q->node_in;
    q->node.output = q->node_out;
    q->node.attribute = q->attrs;
    q->nodes[0] = &q->node;
    q->g.n_node = 1;
    q->g.node = q->nodes;
}

static void qm_add_node_input(qm_model *q, const char *name) {
    assert_true(q->node.n_input < QM_MAX_IO);
    q->node_in[q->node.n_input++] = (char *)name;
}

void qm_input(qm_model *q, const char *name, int dtype, int rank, const int64_t *dims) {
    size_t i = q->g.n_input++;
    assert_true(i < QM_MAX_IO && rank <= QM_MAX_DIMS);
    onnx__value_info_proto__init(&q->in[i]);
    onnx__type_proto__init(&q->in_type[i]);
    onnx__type_proto__tensor__init(&q->in_tt[i]);
    onnx__tensor_shape_proto__init(&q->in_shape[i]);
    for (int d = 0; d < rank; d++) {
        onnx__tensor_shape_proto__dimension__init(&q->in_dim[i][d]);
        q->in_dim[i][d].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        q->in_dim[i][d].dim_value = dims[d];
        q->in_dims[i][d] = &q->in_dim[i][d];
    }
    q->in_shape[i].n_dim = (size_t)rank;
    q->in_shape[i].dim = q->in_dims[i];
    q->in_tt[i].has_elem_type = 1;
    q->in_tt[i].elem_type = dtype;
    q->in_tt[i].shape = &q->in_shape[i];
    q->in_type[i].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    q->in_type[i].tensor_type = &q->in_tt[i];
    q->in[i].name = (char *)name;
    q->in[i].type = &q->in_type[i];
    q->ins[i] = &q->in[i];
    qm_add_node_input(q, name);
}

void qm_const(qm_model *q,
              const char *name,
              int dtype,
              int rank,
              const int64_t *dims,
              const void *raw,
              size_t n) {
    size_t i = q->g.n_initializer++;
    assert_true(i < QM_MAX_IO && rank <= QM_MAX_DIMS && n <= QM_MAX_BYTES);
    Onnx__TensorProto *t = &q->init[i];
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->has_data_type = 1;
    t->data_type = dtype;
    memcpy(q->init_dims[i], dims, (size_t)rank * sizeof *dims);
    t->n_dims = (size_t)rank;
    t->dims = q->init_dims[i];
    memcpy(q->init_data[i], raw, n);
    t->has_raw_data = 1;
    t->raw_data.data = q->init_data[i];
    t->raw_data.len = n;
    q->inits[i] = t;
    qm_add_node_input(q, name);
}

void qm_none(qm_model *q) {
    qm_add_node_input(q, "");
}

void qm_output(qm_model *q, const char *name) {
    size_t i = q->g.n_output++;
    assert_true(i < QM_MAX_IO);
    onnx__value_info_proto__init(&q->out[i]);
    q->out[i].name = (char *)name;
    q->outs[i] = &q->out[i];
    q->node_out[q->node.n_output++] = (char *)name;
}

void qm_attr_int(qm_model *q, const char *name, int64_t v) {
    size_t i = q->node.n_attribute++;
    assert_true(i < QM_MAX_ATTRS);
    onnx__attribute_proto__init(&q->attr[i]);
    q->attr[i].name = (char *)name;
    q->attr[i].has_type = 1;
    q->attr[i].type = 2; /* AttributeType INT */
    q->attr[i].has_i = 1;
    q->attr[i].i = v;
    q->attrs[i] = &q->attr[i];
}

void tmodel_set_external(
    tmodel *t, tmodel_ext *x, const char *loc, const char *off, const char *len) {
    size_t n = 0;
    const char *keys[3] = {"location", "offset", "length"};
    const char *vals[3] = {loc, off, len};
    for (int k = 0; k < 3; k++) {
        if (!vals[k])
            continue;
        onnx__string_string_entry_proto__init(&x->e[n]);
        x->e[n].key = (char *)keys[k];
        x->e[n].value = (char *)vals[k];
        x->ep[n] = &x->e[n];
        n++;
    }
    t->w.has_raw_data = 0;
    t->w.has_data_location = 1;
    t->w.data_location = 1;
    t->w.n_external_data = n;
    t->w.external_data = x->ep;
}
