/* SPDX-License-Identifier: Apache-2.0 */
/* ONNX loader tests: real models, every tensor encoding, hostile files and external data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "onnx/onnx.pb-c.h"
#include "onnx/onnx_loader.h"
#include "runtime/alloc.h"
#include "runtime/ir.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TESTDATA "/usr/share/libonnx-testdata/data"

/* ---- helpers: build small models with protobuf-c structs ---------------- */

typedef struct tmodel {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__ValueInfoProto in, out;
    Onnx__ValueInfoProto *ins[1], *outs[1];
    Onnx__TypeProto in_type;
    Onnx__TypeProto__Tensor in_tt;
    Onnx__TensorShapeProto in_shape;
    Onnx__TensorShapeProto__Dimension in_dim;
    Onnx__TensorShapeProto__Dimension *in_dims[1];
    Onnx__TensorProto w;
    Onnx__TensorProto *inits[1];
    int64_t w_dims[QRUN_MAX_RANK + 16];
    Onnx__NodeProto node;
    Onnx__NodeProto *nodes[1];
    char *node_in[2];
    char *node_out[1];
    float w_data[2];
} tmodel;

/* Y = Add(X, W) with X float[2] input and W float[2] initializer in raw_data. */
static void tmodel_init(tmodel *t) {
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

static uint8_t *pack_model(const Onnx__ModelProto *m, size_t *n) {
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
static void
expect_fail(const Onnx__ModelProto *m, const char *base_dir, qrun_status want, const char *needle) {
    qrun_graph *g = NULL;
    qrun_err err = {{0}};
    qrun_status st = load_model(m, base_dir, &g, &err);
    if (st != want || !strstr(err.msg, needle))
        fail_msg("want status %d with '%s', got %d: %s", want, needle, st, err.msg);
    qrun_graph_free(g);
}

static qrun_graph *expect_ok(const Onnx__ModelProto *m, const char *base_dir) {
    qrun_graph *g = NULL;
    qrun_err err = {{0}};
    qrun_status st = load_model(m, base_dir, &g, &err);
    if (st != QRUN_OK)
        fail_msg("load failed (%d): %s", st, err.msg);
    return g;
}

static const qrun_value *find(const qrun_graph *g, const char *name) {
    int i = qrun_graph_find_value(g, name);
    assert_true(i >= 0);
    return &g->values[i];
}

static char *tmpdir_make(void) {
    char tmpl[] = "/tmp/qrun-loader-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void write_file(const char *dir, const char *name, const void *data, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void rm_rf(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- real models -------------------------------------------------------- */

static void test_mnist(void **state) {
    (void)state;
    qrun_graph *g = NULL;
    qrun_err err = {{0}};
    qrun_status st =
        onnx_load_file(QRUN_SHARED_DIR "/models/fp32/mnist-8/model.onnx", NULL, &g, &err);
    if (st != QRUN_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(g->ir_version, 3);
    assert_int_equal(g->n_opsets, 1);
    assert_string_equal(g->opsets[0].domain, "");
    assert_int_equal(qrun_graph_opset(g, "ai.onnx"), 8);
    assert_int_equal(g->n_nodes, 12);
    assert_int_equal(g->n_initializers, 8);
    assert_int_equal(g->n_inputs, 1);
    const qrun_value *in = &g->values[g->inputs[0]];
    assert_string_equal(in->name, "Input3");
    assert_int_equal(in->kind, QRUN_VALUE_INPUT);
    assert_int_equal(in->info.dtype, QRUN_DTYPE_FLOAT);
    assert_int_equal(in->info.rank, 4);
    int64_t want_in[4] = {1, 1, 28, 28};
    assert_memory_equal(in->info.dims, want_in, sizeof want_in);
    assert_int_equal(g->n_outputs, 1);
    const qrun_value *out = &g->values[g->outputs[0]];
    assert_string_equal(out->name, "Plus214_Output_0");
    assert_true(out->is_output);
    assert_int_equal(out->info.dtype, QRUN_DTYPE_FLOAT);
    assert_int_equal(out->info.rank, 2);
    assert_int_equal(out->info.dims[1], 10);
    /* Sorted: every node's inputs are produced earlier. */
    for (int n = 0; n < g->n_nodes; n++) {
        const qrun_node *nd = &g->nodes[n];
        assert_int_equal(nd->opset, 8);
        assert_true(nd->name[0]);
        for (int k = 0; k < nd->n_inputs; k++)
            assert_true(g->values[nd->inputs[k]].producer < n);
        for (int k = 0; k < nd->n_outputs; k++)
            assert_int_equal(g->values[nd->outputs[k]].producer, n);
    }
    const qrun_node *conv = NULL;
    for (int n = 0; n < g->n_nodes; n++)
        if (strcmp(g->nodes[n].op_type, "Conv") == 0 && !conv)
            conv = &g->nodes[n];
    assert_non_null(conv);
    assert_int_equal(conv->op, qrun_op_lookup("", "Conv"));
    const int64_t *ks = NULL;
    assert_int_equal(qrun_node_attr_ints(conv, "kernel_shape", &ks), 2);
    assert_int_equal(ks[0], 5);
    assert_int_equal(qrun_node_attr_int(conv, "group", 7), 1);
    assert_int_equal(qrun_node_attr_int(conv, "nonexistent", 7), 7);
    assert_string_equal(qrun_node_attr_string(conv, "auto_pad", "x"), "SAME_UPPER");
    /* Weights: constant with data. */
    const qrun_value *w = find(g, "Parameter5");
    assert_int_equal(w->kind, QRUN_VALUE_CONSTANT);
    assert_non_null(w->info.data);
    assert_int_equal(w->info.nbytes, 8 * 1 * 5 * 5 * 4);
    qrun_graph_free(g);
}

static int load_dir_models(const char *root, int *n_ok, int *n_unsup, int *n_other, bool verbose) {
    DIR *d = opendir(root);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/model.onnx", root, e->d_name);
        if (access(path, R_OK) != 0)
            continue;
        qrun_graph *g = NULL;
        qrun_err err = {{0}};
        qrun_status st = onnx_load_file(path, NULL, &g, &err);
        if (st == QRUN_OK)
            (*n_ok)++;
        else if (st == QRUN_E_UNSUPPORTED)
            (*n_unsup)++;
        else
            (*n_other)++;
        if (st != QRUN_OK && verbose)
            print_message("  %s: %s\n", e->d_name, err.msg);
        qrun_graph_free(g);
    }
    closedir(d);
    return 0;
}

static void test_all_testdata_models(void **state) {
    (void)state;
    static const char *const k_dirs[] = {TESTDATA "/node",
                                         TESTDATA "/pytorch-converted",
                                         TESTDATA "/pytorch-operator",
                                         TESTDATA "/simple",
                                         TESTDATA "/real",
                                         QRUN_SHARED_DIR "/models/onnx-node-v1.22"};
    int ok = 0, unsup = 0, other = 0;
    for (size_t i = 0; i < sizeof k_dirs / sizeof k_dirs[0]; i++)
        load_dir_models(k_dirs[i], &ok, &unsup, &other, true);
    print_message("  testdata models: %d loaded, %d unsupported, %d failed\n", ok, unsup, other);
    assert_true(ok > 1000);
    assert_int_equal(other, 0);
}

static void test_shared_models(void **state) {
    (void)state;
    static const char *const k_models[] = {
        "/models/int8/qoperator/mobilenetv2-12-int8.onnx",
        "/models/light/light_densenet121.onnx",
        "/models/light/light_inception_v1.onnx",
        "/models/light/light_resnet50.onnx",
        "/models/light/light_shufflenet.onnx",
        "/models/light/light_squeezenet.onnx",
        "/models/light/light_vgg19.onnx",
        "/models/fp32/mlperftiny_ic_resnet8_fp32.onnx",
        "/models/int8/qdq/mlperftiny_kws_dscnn_qdq.onnx",
    };
    for (size_t i = 0; i < sizeof k_models / sizeof k_models[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s%s", QRUN_SHARED_DIR, k_models[i]);
        qrun_graph *g = NULL;
        qrun_err err = {{0}};
        if (onnx_load_file(path, NULL, &g, &err) != QRUN_OK)
            fail_msg("%s: %s", path, err.msg);
        assert_true(g->n_nodes > 0);
        qrun_graph_free(g);
    }
    /* mobilenet: symbolic batch dim kept as a dim_param, com.microsoft imported. */
    qrun_graph *g = NULL;
    qrun_err err = {{0}};
    assert_int_equal(onnx_load_file(QRUN_SHARED_DIR
                                    "/models/int8/qoperator/mobilenetv2-12-int8.onnx",
                                    NULL, &g, &err),
                     QRUN_OK);
    const qrun_value *in = &g->values[g->inputs[0]];
    assert_int_equal(in->info.dims[0], -1);
    assert_non_null(in->dim_params[0]);
    assert_int_equal(in->info.dims[1], 3);
    assert_true(qrun_graph_opset(g, "com.microsoft") >= 1);
    qrun_graph_free(g);
}

/* ---- small models: structure ------------------------------------------- */

static void test_basic_model(void **state) {
    (void)state;
    tmodel t;
    tmodel_init(&t);
    qrun_graph *g = expect_ok(&t.m, NULL);
    assert_int_equal(g->n_inputs, 1);
    assert_int_equal(g->n_initializers, 1);
    const qrun_value *w = find(g, "W");
    assert_int_equal(w->kind, QRUN_VALUE_CONSTANT);
    assert_memory_equal(w->info.data, t.w_data, sizeof t.w_data);
    assert_string_equal(g->nodes[0].name, "Add_0"); /* generated name */
    assert_int_equal(g->nodes[0].op, qrun_op_lookup("", "Add"));
    qrun_graph_free(g);
}

static void test_initializer_as_input(void **state) {
    (void)state;
    tmodel t;
    tmodel_init(&t);
    t.m.ir_version = 3;
    Onnx__ValueInfoProto wi = ONNX__VALUE_INFO_PROTO__INIT;
    wi.name = "W";
    Onnx__ValueInfoProto *ins[2] = {&t.in, &wi};
    t.g.input = ins;
    t.g.n_input = 2;
    qrun_graph *g = expect_ok(&t.m, NULL);
    assert_int_equal(g->n_inputs, 1);
    assert_string_equal(g->values[g->inputs[0]].name, "X");
    assert_int_equal(find(g, "W")->kind, QRUN_VALUE_CONSTANT);
    qrun_graph_free(g);
}

static void test_structure_errors(void **state) {
    (void)state;
    tmodel t;
    tmodel_init(&t);
    t.node_in[1] = "nope";
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "input 'nope'");

    tmodel_init(&t);
    t.node_out[0] = "W";
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "already defined");

    tmodel_init(&t);
    Onnx__TensorProto *two[2] = {&t.w, &t.w};
    t.g.initializer = two;
    t.g.n_initializer = 2;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "'W' is defined twice");

    tmodel_init(&t);
    t.opset.domain = "com.example";
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "does not import");

    tmodel_init(&t);
    t.m.n_opset_import = 0;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "domain 'ai.onnx'");

    tmodel_init(&t);
    t.m.ir_version = 2;
    expect_fail(&t.m, NULL, QRUN_E_UNSUPPORTED, "IR version 2");

    tmodel_init(&t);
    t.m.graph = NULL;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "no graph");

    tmodel_init(&t);
    t.out.name = "Z";
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "graph output 'Z'");

    tmodel_init(&t);
    t.node.op_type = "";
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "no op_type");
}

/* Two nodes in reverse order, plus a cycle. */
static void test_toposort(void **state) {
    (void)state;
    tmodel t;
    tmodel_init(&t);
    Onnx__NodeProto n2 = ONNX__NODE_PROTO__INIT;
    char *n2_in[1] = {"Y"}, *n2_out[1] = {"Z"};
    n2.op_type = "Relu";
    n2.name = "relu";
    n2.n_input = 1;
    n2.input = n2_in;
    n2.n_output = 1;
    n2.output = n2_out;
    t.node.name = "add";
    Onnx__NodeProto *nodes[2] = {&n2, &t.node};
    t.g.node = nodes;
    t.g.n_node = 2;
    t.out.name = "Z";
    qrun_graph *g = expect_ok(&t.m, NULL);
    assert_string_equal(g->nodes[0].name, "add");
    assert_string_equal(g->nodes[1].name, "relu");
    assert_int_equal(find(g, "Y")->producer, 0);
    assert_int_equal(find(g, "Z")->producer, 1);
    qrun_graph_free(g);

    /* add consumes Z: add -> relu -> add */
    t.node_in[1] = "Z";
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "cycle");

    /* Stable order: independent nodes keep file order. */
    tmodel_init(&t);
    Onnx__NodeProto a = ONNX__NODE_PROTO__INIT, b = ONNX__NODE_PROTO__INIT;
    char *a_in[1] = {"X"}, *a_out[1] = {"A"}, *b_in[1] = {"X"}, *b_out[1] = {"B"};
    a.op_type = b.op_type = "Relu";
    a.name = "a";
    b.name = "b";
    a.n_input = b.n_input = a.n_output = b.n_output = 1;
    a.input = a_in;
    a.output = a_out;
    b.input = b_in;
    b.output = b_out;
    Onnx__NodeProto *nodes3[3] = {&b, &a, &t.node};
    t.g.node = nodes3;
    t.g.n_node = 3;
    g = expect_ok(&t.m, NULL);
    assert_string_equal(g->nodes[0].name, "b");
    assert_string_equal(g->nodes[1].name, "a");
    qrun_graph_free(g);
}

static void test_optional_inputs_and_attrs(void **state) {
    (void)state;
    tmodel t;
    tmodel_init(&t);
    char *ins[3] = {"X", "", "W"};
    t.node.input = ins;
    t.node.n_input = 3;
    t.node.op_type = "Clip";
    Onnx__AttributeProto at[8];
    Onnx__AttributeProto *atp[8];
    for (int i = 0; i < 8; i++) {
        onnx__attribute_proto__init(&at[i]);
        at[i].has_type = 1;
        atp[i] = &at[i];
    }
    float fl[2] = {0.5f, 0.25f};
    int64_t il[3] = {1, -2, 3};
    ProtobufCBinaryData strs[2] = {{2, (uint8_t *)"ab"}, {1, (uint8_t *)"c"}};
    at[0].name = "f", at[0].type = 1, at[0].has_f = 1, at[0].f = 3.5f;
    at[1].name = "i", at[1].type = 2, at[1].has_i = 1, at[1].i = -7;
    at[2].name = "s", at[2].type = 3, at[2].has_s = 1, at[2].s = strs[0];
    at[3].name = "fs", at[3].type = 6, at[3].n_floats = 2, at[3].floats = fl;
    at[4].name = "is", at[4].type = 7, at[4].n_ints = 3, at[4].ints = il;
    at[5].name = "ss", at[5].type = 8, at[5].n_strings = 2, at[5].strings = strs;
    Onnx__GraphProto sub = ONNX__GRAPH_PROTO__INIT;
    at[6].name = "g", at[6].type = 5, at[6].g = &sub;
    at[7].name = "t", at[7].type = 4, at[7].t = &t.w;
    t.node.attribute = atp;
    t.node.n_attribute = 8;
    qrun_graph *g = expect_ok(&t.m, NULL);
    const qrun_node *nd = &g->nodes[0];
    assert_int_equal(nd->n_inputs, 3);
    assert_int_equal(nd->inputs[1], -1);
    assert_int_equal(qrun_node_input(nd, 1), -1);
    assert_int_equal(qrun_node_input(nd, 5), -1);
    assert_true(qrun_node_attr_float(nd, "f", 0) == 3.5f);
    assert_int_equal(qrun_node_attr_int(nd, "i", 0), -7);
    assert_int_equal(qrun_node_attr_int(nd, "f", 9), 9); /* wrong type -> default */
    assert_string_equal(qrun_node_attr_string(nd, "s", NULL), "ab");
    const float *fv;
    assert_int_equal(qrun_node_attr_floats(nd, "fs", &fv), 2);
    assert_true(fv[1] == 0.25f);
    const int64_t *iv;
    assert_int_equal(qrun_node_attr_ints(nd, "is", &iv), 3);
    assert_int_equal(iv[1], -2);
    const qrun_attr *a = qrun_node_attr(nd, "ss");
    assert_int_equal(a->type, QRUN_ATTR_STRINGS);
    assert_string_equal(a->strings[1], "c");
    assert_int_equal(qrun_node_attr(nd, "g")->type, QRUN_ATTR_GRAPH);
    a = qrun_node_attr(nd, "t");
    assert_int_equal(a->type, QRUN_ATTR_TENSOR);
    assert_memory_equal(a->t->data, t.w_data, 8);
    qrun_graph_free(g);

    at[1].name = "f";
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "given twice");
    at[1].name = "i";
    at[1].ref_attr_name = "outer";
    expect_fail(&t.m, NULL, QRUN_E_UNSUPPORTED, "function attribute");
    at[1].ref_attr_name = NULL;
    at[1].type = 11;
    expect_fail(&t.m, NULL, QRUN_E_UNSUPPORTED, "attribute 'i'");
    at[1].type = 99;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "invalid type 99");
}

static void test_constant_forms(void **state) {
    (void)state;
    tmodel t;
    tmodel_init(&t);
    /* Constant C -> Add(X, C); W stays unused. */
    Onnx__NodeProto cn = ONNX__NODE_PROTO__INIT;
    char *c_out[1] = {"C"};
    cn.op_type = "Constant";
    cn.n_output = 1;
    cn.output = c_out;
    Onnx__AttributeProto at = ONNX__ATTRIBUTE_PROTO__INIT, at2 = ONNX__ATTRIBUTE_PROTO__INIT;
    Onnx__AttributeProto *atp[2] = {&at, &at2};
    cn.attribute = atp;
    cn.n_attribute = 1;
    Onnx__NodeProto *nodes[2] = {&cn, &t.node};
    t.g.node = nodes;
    t.g.n_node = 2;
    t.node_in[1] = "C";

    int64_t ints[3] = {4, 5, 6};
    at.name = "value_ints", at.has_type = 1, at.type = 7, at.n_ints = 3, at.ints = ints;
    qrun_graph *g = expect_ok(&t.m, NULL);
    const qrun_node *c = &g->nodes[0];
    assert_string_equal(c->name, "Constant_0");
    assert_int_equal(c->n_attrs, 1);
    const qrun_attr *v = qrun_node_attr(c, "value");
    assert_int_equal(v->type, QRUN_ATTR_TENSOR);
    assert_int_equal(v->t->dtype, QRUN_DTYPE_INT64);
    assert_int_equal(v->t->rank, 1);
    assert_int_equal(v->t->dims[0], 3);
    assert_memory_equal(v->t->data, ints, sizeof ints);
    qrun_graph_free(g);

    onnx__attribute_proto__init(&at);
    at.name = "value_float", at.has_type = 1, at.type = 1, at.has_f = 1, at.f = 2.5f;
    g = expect_ok(&t.m, NULL);
    v = qrun_node_attr(&g->nodes[0], "value");
    assert_int_equal(v->t->dtype, QRUN_DTYPE_FLOAT);
    assert_int_equal(v->t->rank, 0);
    assert_true(*(float *)v->t->data == 2.5f);
    qrun_graph_free(g);

    onnx__attribute_proto__init(&at);
    at.name = "value_int", at.has_type = 1, at.type = 2, at.has_i = 1, at.i = -9;
    g = expect_ok(&t.m, NULL);
    v = qrun_node_attr(&g->nodes[0], "value");
    assert_int_equal(v->t->dtype, QRUN_DTYPE_INT64);
    assert_int_equal(*(int64_t *)v->t->data, -9);
    qrun_graph_free(g);

    float fl[2] = {1, 2};
    onnx__attribute_proto__init(&at);
    at.name = "value_floats", at.has_type = 1, at.type = 6, at.n_floats = 2, at.floats = fl;
    g = expect_ok(&t.m, NULL);
    v = qrun_node_attr(&g->nodes[0], "value");
    assert_int_equal(v->t->dims[0], 2);
    assert_memory_equal(v->t->data, fl, sizeof fl);
    qrun_graph_free(g);

    onnx__attribute_proto__init(&at);
    at.name = "value", at.has_type = 1, at.type = 4, at.t = &t.w;
    g = expect_ok(&t.m, NULL);
    v = qrun_node_attr(&g->nodes[0], "value");
    assert_int_equal(v->t->dtype, QRUN_DTYPE_FLOAT);
    assert_memory_equal(v->t->data, t.w_data, sizeof t.w_data);
    qrun_graph_free(g);

    onnx__attribute_proto__init(&at);
    at.name = "value_string", at.has_type = 1, at.type = 3, at.has_s = 1;
    at.s.data = (uint8_t *)"hi", at.s.len = 2;
    g = expect_ok(&t.m, NULL);
    v = qrun_node_attr(&g->nodes[0], "value");
    assert_int_equal(v->t->dtype, QRUN_DTYPE_STRING);
    assert_null(v->t->data);
    qrun_graph_free(g);

    onnx__attribute_proto__init(&at);
    at.name = "sparse_value", at.has_type = 1, at.type = 11;
    expect_fail(&t.m, NULL, QRUN_E_UNSUPPORTED, "sparse_value");

    onnx__attribute_proto__init(&at);
    at.name = "value_int", at.has_type = 1, at.type = 2, at.has_i = 1;
    at2.name = "value_float", at2.has_type = 1, at2.type = 1, at2.has_f = 1;
    cn.n_attribute = 2;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "exactly one");
    cn.n_attribute = 0;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "exactly one");
}

/* ---- tensor encodings -------------------------------------------------- */

static const qrun_value *load_w(tmodel *t, qrun_graph **g) {
    *g = expect_ok(&t->m, NULL);
    return find(*g, "W");
}

static void test_encodings(void **state) {
    (void)state;
    tmodel t;
    qrun_graph *g;
    const qrun_value *w;

    /* float_data */
    float fd[2] = {3.0f, 4.0f};
    tmodel_init(&t);
    t.w.has_raw_data = 0, t.w.n_float_data = 2, t.w.float_data = fd;
    w = load_w(&t, &g);
    assert_memory_equal(w->info.data, fd, sizeof fd);
    qrun_graph_free(g);
    t.w.n_float_data = 1;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "float_data holds 1 values, expected 2");
    t.w.n_float_data = 0;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "has no data");

    /* int32_data for int8, bool, fp16 bits */
    int32_t i32[2] = {-3, 100};
    tmodel_init(&t);
    t.w.has_raw_data = 0, t.w.n_int32_data = 2, t.w.int32_data = i32, t.w.data_type = 3;
    w = load_w(&t, &g);
    assert_int_equal(((int8_t *)w->info.data)[0], -3);
    assert_int_equal(((int8_t *)w->info.data)[1], 100);
    assert_int_equal(w->info.nbytes, 2);
    qrun_graph_free(g);
    t.w.data_type = 9; /* bool */
    w = load_w(&t, &g);
    assert_int_equal(((uint8_t *)w->info.data)[0], 1);
    qrun_graph_free(g);
    int32_t h16[2] = {0x3c00, 0xc000};
    t.w.data_type = 10, t.w.int32_data = h16;
    w = load_w(&t, &g);
    assert_int_equal(((uint16_t *)w->info.data)[0], 0x3c00);
    assert_int_equal(((uint16_t *)w->info.data)[1], 0xc000);
    qrun_graph_free(g);
    /* FP8 codes */
    int32_t f8[2] = {0x38, 0xff};
    t.w.data_type = 17, t.w.int32_data = f8;
    w = load_w(&t, &g);
    assert_int_equal(((uint8_t *)w->info.data)[1], 0xff);
    qrun_graph_free(g);

    /* int4: dims [3] -> two int32 (packed bytes), low nibble first; padding cleared */
    int32_t i4[2] = {0x21, 0xf3};
    tmodel_init(&t);
    t.w_dims[0] = 3;
    t.w.has_raw_data = 0, t.w.n_int32_data = 2, t.w.int32_data = i4, t.w.data_type = 22;
    t.in_dim.dim_value = 3;
    w = load_w(&t, &g);
    assert_int_equal(w->info.nbytes, 2);
    assert_int_equal(((uint8_t *)w->info.data)[0], 0x21);
    assert_int_equal(((uint8_t *)w->info.data)[1], 0x03);
    qrun_graph_free(g);
    t.w.n_int32_data = 3;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "int32_data holds 3 values, expected 2");
    /* uint2: dims [5] -> 2 int32 */
    t.w_dims[0] = 5, t.w.data_type = 25, t.w.n_int32_data = 2;
    w = load_w(&t, &g);
    assert_int_equal(w->info.nbytes, 2);
    assert_int_equal(((uint8_t *)w->info.data)[1], 0x03); /* one 2-bit element kept */
    qrun_graph_free(g);
    /* int4 raw: 3 elements in 2 bytes */
    uint8_t raw4[2] = {0x21, 0x03};
    tmodel_init(&t);
    t.w_dims[0] = 3, t.w.data_type = 21, t.w.raw_data.data = raw4, t.w.raw_data.len = 2;
    w = load_w(&t, &g);
    assert_memory_equal(w->info.data, raw4, 2);
    qrun_graph_free(g);
    t.w.raw_data.len = 1;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "raw_data has 1 bytes, expected 2");

    /* int64_data, double_data, uint64_data for uint32 and uint64 */
    int64_t i64[2] = {INT64_MIN, 5};
    tmodel_init(&t);
    t.w.has_raw_data = 0, t.w.data_type = 7, t.w.n_int64_data = 2, t.w.int64_data = i64;
    w = load_w(&t, &g);
    assert_memory_equal(w->info.data, i64, sizeof i64);
    qrun_graph_free(g);
    double dd[2] = {1e300, -0.5};
    tmodel_init(&t);
    t.w.has_raw_data = 0, t.w.data_type = 11, t.w.n_double_data = 2, t.w.double_data = dd;
    w = load_w(&t, &g);
    assert_memory_equal(w->info.data, dd, sizeof dd);
    qrun_graph_free(g);
    uint64_t u64[2] = {0xffffffffu, 7};
    tmodel_init(&t);
    t.w.has_raw_data = 0, t.w.data_type = 12, t.w.n_uint64_data = 2, t.w.uint64_data = u64;
    w = load_w(&t, &g);
    assert_int_equal(((uint32_t *)w->info.data)[0], 0xffffffffu);
    assert_int_equal(((uint32_t *)w->info.data)[1], 7);
    qrun_graph_free(g);
    t.w.data_type = 13;
    w = load_w(&t, &g);
    assert_memory_equal(w->info.data, u64, sizeof u64);
    qrun_graph_free(g);

    /* STRING initializer: kept, without data */
    ProtobufCBinaryData sd[2] = {{1, (uint8_t *)"a"}, {1, (uint8_t *)"b"}};
    tmodel_init(&t);
    t.w.has_raw_data = 0, t.w.data_type = 8, t.w.n_string_data = 2, t.w.string_data = sd;
    w = load_w(&t, &g);
    assert_int_equal(w->info.dtype, QRUN_DTYPE_STRING);
    assert_null(w->info.data);
    qrun_graph_free(g);

    /* empty tensor: data still non-NULL */
    tmodel_init(&t);
    t.w_dims[0] = 0, t.w.raw_data.len = 0;
    w = load_w(&t, &g);
    assert_non_null(w->info.data);
    assert_int_equal(w->info.nbytes, 0);
    qrun_graph_free(g);
}

static void test_hostile_tensors(void **state) {
    (void)state;
    tmodel t;
    tmodel_init(&t);
    t.w_dims[0] = -2;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "initializer 'W' has negative dimension");

    tmodel_init(&t);
    t.w.n_dims = 3;
    t.w_dims[0] = INT64_MAX / 2, t.w_dims[1] = 4, t.w_dims[2] = 4;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "initializer 'W': element count overflows");

    tmodel_init(&t);
    t.w.n_dims = 2;
    t.w_dims[0] = (int64_t)1 << 40, t.w_dims[1] = (int64_t)1 << 21;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "initializer 'W'"); /* bytes overflow or mismatch */

    tmodel_init(&t);
    t.w.n_dims = 20;
    for (int i = 0; i < 20; i++)
        t.w_dims[i] = 1;
    expect_fail(&t.m, NULL, QRUN_E_UNSUPPORTED, "initializer 'W' has rank 20");

    tmodel_init(&t);
    t.w.data_type = 99;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "initializer 'W' has unknown data_type 99");
    t.w.data_type = 0;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "unknown data_type 0");

    tmodel_init(&t);
    Onnx__TensorProto__Segment seg = ONNX__TENSOR_PROTO__SEGMENT__INIT;
    t.w.segment = &seg;
    expect_fail(&t.m, NULL, QRUN_E_UNSUPPORTED, "initializer 'W' is segmented");

    tmodel_init(&t);
    t.w.raw_data.len = 7;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "raw_data has 7 bytes, expected 8");

    /* huge declared size with tiny data: rejected before allocating */
    tmodel_init(&t);
    t.w_dims[0] = (int64_t)1 << 50;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "raw_data has 8 bytes");

    tmodel_init(&t);
    t.in_dim.dim_value = -1;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "value 'X' has negative dimension");
}

/* Prepend a length-delimited field header (tag, varint len) before *pos. */
static void prepend_field(uint8_t *buf, size_t *pos, uint8_t tag, size_t len) {
    uint8_t vb[10];
    size_t nv = 0;
    do {
        vb[nv++] = (uint8_t)((len & 0x7f) | (len > 0x7f ? 0x80 : 0));
        len >>= 7;
    } while (len);
    *pos -= nv;
    memcpy(buf + *pos, vb, nv);
    buf[--*pos] = tag;
}

static qrun_status load_nested(int depth, qrun_err *err);

static void test_hostile_bytes(void **state) {
    (void)state;
    tmodel t;
    tmodel_init(&t);
    size_t n;
    uint8_t *buf = pack_model(&t.m, &n);
    qrun_err err = {{0}};
    qrun_graph *g = NULL;
    /* every truncation fails cleanly (or parses as a smaller valid message) */
    for (size_t cut = 0; cut < n; cut++) {
        qrun_status st = onnx_load_bytes(buf, cut, NULL, NULL, &g, &err);
        assert_true(st == QRUN_E_MODEL || st == QRUN_E_UNSUPPORTED);
        assert_null(g);
    }
    /* flipped bytes never crash */
    for (size_t i = 0; i < n; i++) {
        uint8_t *c = malloc(n);
        memcpy(c, buf, n);
        c[i] ^= 0xa5;
        if (onnx_load_bytes(c, n, NULL, NULL, &g, &err) == QRUN_OK)
            qrun_graph_free(g);
        free(c);
    }
    free(buf);
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
    assert_int_equal(onnx_load_bytes(junk, sizeof junk, NULL, NULL, &g, &err), QRUN_E_MODEL);
    assert_non_null(strstr(err.msg, "protobuf parse failed"));

    /*
     * Deeply nested TypeProto.sequence_type: refused before protobuf-c recurses.
     * The shallow version parses (and then fails for lack of an IR version).
     */
    assert_int_equal(load_nested(20, &err), QRUN_E_UNSUPPORTED);
    assert_int_equal(load_nested(100000, &err), QRUN_E_MODEL);
    assert_non_null(strstr(err.msg, "protobuf parse failed"));
}

static qrun_status load_nested(int depth, qrun_err *err) {
    size_t cap = (size_t)depth * 2 * 5 + 64, pos = cap;
    uint8_t *deep = malloc(cap);
    assert_non_null(deep);
    for (int i = 0; i < depth; i++) {
        prepend_field(deep, &pos, 0x0a, cap - pos); /* Sequence.elem_type(1) */
        prepend_field(deep, &pos, 0x22, cap - pos); /* TypeProto.sequence_type(4) */
    }
    prepend_field(deep, &pos, 0x12, cap - pos); /* ValueInfoProto.type(2) */
    prepend_field(deep, &pos, 0x5a, cap - pos); /* GraphProto.input(11) */
    prepend_field(deep, &pos, 0x3a, cap - pos); /* ModelProto.graph(7) */
    qrun_graph *g = NULL;
    qrun_status st = onnx_load_bytes(deep + pos, cap - pos, NULL, NULL, &g, err);
    assert_null(g);
    free(deep);
    return st;
}

static void test_file_errors(void **state) {
    (void)state;
    qrun_graph *g = NULL;
    qrun_err err = {{0}};
    assert_int_equal(onnx_load_file("/nonexistent/model.onnx", NULL, &g, &err), QRUN_E_IO);
    assert_int_equal(onnx_load_file("/tmp", NULL, &g, &err), QRUN_E_IO);
    /* truncated real model: named in the message */
    char *dir = tmpdir_make();
    FILE *f = fopen(QRUN_SHARED_DIR "/models/fp32/mnist-8/model.onnx", "rb");
    assert_non_null(f);
    uint8_t buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    write_file(dir, "cut.onnx", buf, n);
    char path[512];
    snprintf(path, sizeof path, "%s/cut.onnx", dir);
    assert_int_equal(onnx_load_file(path, NULL, &g, &err), QRUN_E_MODEL);
    assert_non_null(strstr(err.msg, "cut.onnx: "));
    assert_non_null(strstr(err.msg, "not a valid ONNX model"));
    assert_null(g);
    rm_rf(dir);
    free(dir);
}

/* ---- external data ------------------------------------------------------ */

typedef struct ext_case {
    Onnx__StringStringEntryProto e[4];
    Onnx__StringStringEntryProto *ep[4];
} ext_case;

static void
set_external(tmodel *t, ext_case *x, const char *loc, const char *off, const char *len) {
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

static void test_external_data(void **state) {
    (void)state;
    char *dir = tmpdir_make();
    char sub[300], path[400], outside[400];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    float data[6] = {9, 8, 1.5f, -2.0f, 7, 7}; /* W = data[2..3] at offset 8 */
    write_file(dir, "w.bin", data, sizeof data);
    write_file(sub, "w.bin", data + 2, 8);
    tmodel t;
    ext_case x;
    qrun_graph *g;

    /* valid: whole file in sub/, and an 8-byte range at offset 8 */
    tmodel_init(&t);
    set_external(&t, &x, "sub/w.bin", NULL, NULL);
    g = expect_ok(&t.m, dir);
    assert_memory_equal(find(g, "W")->info.data, data + 2, 8);
    qrun_graph_free(g);
    set_external(&t, &x, "./w.bin", "8", "8");
    g = expect_ok(&t.m, dir);
    assert_memory_equal(find(g, "W")->info.data, data + 2, 8);
    qrun_graph_free(g);

    /* via a model file: base dir is the file's folder */
    size_t n;
    uint8_t *mb = pack_model(&t.m, &n);
    write_file(dir, "model.onnx", mb, n);
    free(mb);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    qrun_err err = {{0}};
    assert_int_equal(onnx_load_file(path, NULL, &g, &err), QRUN_OK);
    assert_memory_equal(find(g, "W")->info.data, data + 2, 8);
    qrun_graph_free(g);

    /* no base dir (bytes) -> refused */
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "no base directory");

    set_external(&t, &x, "/etc/passwd", NULL, "8");
    expect_fail(&t.m, dir, QRUN_E_MODEL, "absolute path");
    set_external(&t, &x, "../x", NULL, "8");
    expect_fail(&t.m, dir, QRUN_E_MODEL, "'..' segment");
    set_external(&t, &x, "a/../../x", NULL, "8");
    expect_fail(&t.m, dir, QRUN_E_MODEL, "'..' segment");
    set_external(&t, &x, "sub/..", NULL, "8");
    expect_fail(&t.m, dir, QRUN_E_MODEL, "'..' segment");
    set_external(&t, &x, "", NULL, NULL);
    expect_fail(&t.m, dir, QRUN_E_MODEL, "no location");
    set_external(&t, &x, "missing.bin", NULL, NULL);
    expect_fail(&t.m, dir, QRUN_E_MODEL, "cannot open external data file 'missing.bin'");
    set_external(&t, &x, "sub", NULL, NULL);
    expect_fail(&t.m, dir, QRUN_E_MODEL, "not a regular file");

    /* symlinks: final component, and a directory component */
    snprintf(outside, sizeof outside, "%s/w.bin", sub);
    snprintf(path, sizeof path, "%s/link.bin", dir);
    assert_int_equal(symlink(outside, path), 0);
    set_external(&t, &x, "link.bin", NULL, NULL);
    expect_fail(&t.m, dir, QRUN_E_MODEL, "symbolic link");
    snprintf(path, sizeof path, "%s/linkdir", dir);
    assert_int_equal(symlink(sub, path), 0);
    set_external(&t, &x, "linkdir/w.bin", NULL, NULL);
    expect_fail(&t.m, dir, QRUN_E_MODEL, "symbolic link");

    /* hard link */
    snprintf(path, sizeof path, "%s/hard.bin", dir);
    assert_int_equal(link(outside, path), 0);
    set_external(&t, &x, "hard.bin", NULL, NULL);
    expect_fail(&t.m, dir, QRUN_E_MODEL, "hard links");
    unlink(path);

    /* ranges and lengths */
    set_external(&t, &x, "w.bin", "100", NULL);
    expect_fail(&t.m, dir, QRUN_E_MODEL, "past the end");
    set_external(&t, &x, "w.bin", "20", "8");
    expect_fail(&t.m, dir, QRUN_E_MODEL, "beyond the end");
    set_external(&t, &x, "w.bin", "0", "12");
    expect_fail(&t.m, dir, QRUN_E_MODEL, "does not match the tensor size 8");
    set_external(&t, &x, "w.bin", NULL, NULL); /* 24 bytes != 8 */
    expect_fail(&t.m, dir, QRUN_E_MODEL, "length 24 does not match");
    set_external(&t, &x, "w.bin", "-8", "8");
    expect_fail(&t.m, dir, QRUN_E_MODEL, "not a non-negative decimal");
    set_external(&t, &x, "w.bin", "0x8", "8");
    expect_fail(&t.m, dir, QRUN_E_MODEL, "not a non-negative decimal");
    set_external(&t, &x, "w.bin", "8", "99999999999999999999999");
    expect_fail(&t.m, dir, QRUN_E_MODEL, "not a non-negative decimal");

    /* unknown and repeated keys */
    set_external(&t, &x, "w.bin", "8", "8");
    x.e[1].key = "evil";
    expect_fail(&t.m, dir, QRUN_E_MODEL, "unknown external_data key 'evil'");
    x.e[1].key = "location";
    expect_fail(&t.m, dir, QRUN_E_MODEL, "given twice");

    rm_rf(dir);
    free(dir);
}

/* ---- IR API directly ---------------------------------------------------- */

static void test_ir_api(void **state) {
    (void)state;
    qrun_graph *g = NULL;
    qrun_err err = {{0}};
    assert_int_equal(qrun_graph_create(NULL, &g), QRUN_OK);
    /* many values: arrays grow */
    char name[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "v%d", i);
        assert_int_equal(qrun_graph_add_value(g, name, QRUN_VALUE_INTERMEDIATE), i);
    }
    assert_int_equal(qrun_graph_find_value(g, "v999"), 999);
    assert_int_equal(qrun_graph_find_value(g, "nope"), -1);
    /* a chain v0 -> v1 -> ... built in reverse order */
    for (int i = 0; i < 100; i++) {
        int n = qrun_graph_add_node(g);
        assert_true(n >= 0);
        qrun_node *nd = &g->nodes[n];
        nd->name = qrun_strdup(g->alloc, "n");
        nd->inputs = qrun_calloc(g->alloc, 1, sizeof(int));
        nd->outputs = qrun_calloc(g->alloc, 1, sizeof(int));
        nd->n_inputs = nd->n_outputs = 1;
        nd->inputs[0] = 99 - i;
        nd->outputs[0] = 100 - i;
    }
    g->values[0].kind = QRUN_VALUE_INPUT;
    assert_int_equal(qrun_graph_toposort(g, &err), QRUN_OK);
    for (int i = 0; i < 100; i++)
        assert_int_equal(g->nodes[i].inputs[0], i);
    assert_int_equal(g->values[100].producer, 99);
    /* a value produced twice */
    int n = qrun_graph_add_node(g);
    qrun_node *nd = &g->nodes[n];
    nd->name = qrun_strdup(g->alloc, "dup");
    nd->outputs = qrun_calloc(g->alloc, 1, sizeof(int));
    nd->n_outputs = 1;
    nd->outputs[0] = 50;
    assert_int_equal(qrun_graph_toposort(g, &err), QRUN_E_MODEL);
    assert_non_null(strstr(err.msg, "'v50' is produced by both"));
    assert_int_equal(qrun_graph_opset(g, ""), -1);
    qrun_graph_free(g);
    qrun_graph_free(NULL);
}

/* ---- out of memory ------------------------------------------------------ */

typedef struct fail_alloc {
    long left; /* allocations that still succeed */
    long live;
} fail_alloc;

static void *fa_alloc(void *ud, size_t n) {
    fail_alloc *f = ud;
    if (f->left-- <= 0)
        return NULL;
    void *p = malloc(n);
    if (p)
        f->live++;
    return p;
}

static void fa_free(void *ud, void *p) {
    fail_alloc *f = ud;
    if (p)
        f->live--;
    free(p);
}

/* Fail the k-th allocation for every k: each load fails cleanly and frees everything. */
static void test_out_of_memory(void **state) {
    (void)state;
    const char *path = QRUN_SHARED_DIR "/models/fp32/mnist-8/model.onnx";
    for (long k = 0;; k++) {
        fail_alloc f = {k, 0};
        qrun_allocator a = {fa_alloc, fa_free, &f};
        qrun_graph *g = NULL;
        qrun_err err = {{0}};
        qrun_status st = onnx_load_file(path, &a, &g, &err);
        if (st == QRUN_OK) {
            assert_true(k > 10);
            qrun_graph_free(g);
            assert_int_equal(f.live, 0);
            break;
        }
        assert_int_equal(st, QRUN_E_NOMEM);
        assert_null(g);
        assert_int_equal(f.live, 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mnist),
        cmocka_unit_test(test_all_testdata_models),
        cmocka_unit_test(test_shared_models),
        cmocka_unit_test(test_basic_model),
        cmocka_unit_test(test_initializer_as_input),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_toposort),
        cmocka_unit_test(test_optional_inputs_and_attrs),
        cmocka_unit_test(test_constant_forms),
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_hostile_tensors),
        cmocka_unit_test(test_hostile_bytes),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_external_data),
        cmocka_unit_test(test_ir_api),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
