/* SPDX-License-Identifier: Apache-2.0 */
/* ONNX loader tests: real models, graph structure, attributes, Constant forms, malformed
 * bytes and files, the IR API and out-of-memory handling. Tensor encodings are in
 * test_loader_tensors.c, external data in test_loader_external.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "onnx/onnx.pb-c.h"
#include "onnx/onnx_loader.h"
#include "runtime/alloc.h"
#include "runtime/ir.h"
#include "tests/support/model_builder.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TESTDATA "/usr/share/libonnx-testdata/data"

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

/* ---- malformed bytes and files ------------------------------------------ */

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
    assert_non_null(strstr(err.msg, "nested deeper than 100 (limit max_nesting)"));
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
        cmocka_unit_test(test_hostile_bytes),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_ir_api),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
