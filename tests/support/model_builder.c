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
