/* SPDX-License-Identifier: Apache-2.0 */
/* qrun_limits: defaults, validation, and every limit enforced at load, at plan and on input files
 * (each error names the limit and the culprit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "onnx/onnx.pb-c.h"
#include "onnx/onnx_loader.h"
#include "qrun/qrun.h"
#include "tests/support/model_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Load m within lim; expect status want and a message containing needle. */
static void expect_limited(const Onnx__ModelProto *m,
                           const qrun_limits *lim,
                           qrun_status want,
                           const char *needle) {
    size_t n = 0;
    uint8_t *buf = pack_model(m, &n);
    qrun_graph *g = NULL;
    qrun_err err = {{0}};
    qrun_status st = onnx_load_bytes_limited(buf, n, NULL, NULL, lim, &g, &err);
    free(buf);
    if (st != want || (needle && !strstr(err.msg, needle)))
        fail_msg("want status %d with '%s', got %d: %s", want, needle ? needle : "", st, err.msg);
    qrun_graph_free(g);
}

static void test_defaults_and_validation(void **state) {
    (void)state;
    qrun_limits d;
    qrun_limits_default(&d);
    assert_int_equal(d.max_model_bytes, (uint64_t)2 << 30);
    assert_int_equal(d.max_nesting, 100);
    assert_int_equal(d.max_rank, QRUN_MAX_RANK);
    assert_int_equal(d.max_tensor_elements, (int64_t)1 << 28);
    assert_int_equal(d.max_arena_bytes, (uint64_t)4 << 30);

    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    qrun_limits got;
    qrun_context_get_limits(ctx, &got);
    assert_int_equal(got.max_nodes, d.max_nodes);
    assert_int_equal(got.max_input_file_bytes, d.max_input_file_bytes);
    assert_int_equal(got.max_string_bytes, d.max_string_bytes);

    qrun_limits bad = d;
    bad.max_nodes = 0;
    assert_int_equal(qrun_context_set_limits(ctx, &bad), QRUN_E_ARG);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "max_nodes"));
    bad = d;
    bad.max_rank = QRUN_MAX_RANK + 1;
    assert_int_equal(qrun_context_set_limits(ctx, &bad), QRUN_E_ARG);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "max_rank"));
    assert_int_equal(qrun_context_set_limits(ctx, NULL), QRUN_E_ARG);

    qrun_limits small = d;
    small.max_nodes = 7;
    assert_int_equal(qrun_context_set_limits(ctx, &small), QRUN_OK);
    qrun_context_get_limits(ctx, &got);
    assert_int_equal(got.max_nodes, 7);
    qrun_context_free(ctx);
}

/* Counts checked on the wire, before protobuf-c allocates the messages. */
static void test_counts(void **state) {
    (void)state;
    qrun_limits lim;
    tmodel t;

    tmodel_init(&t);
    qrun_limits_default(&lim);
    Onnx__NodeProto *nodes[3] = {&t.node, &t.node, &t.node};
    t.g.n_node = 3, t.g.node = nodes;
    lim.max_nodes = 2;
    expect_limited(&t.m, &lim, QRUN_E_MODEL, "more than 2 nodes (limit max_nodes)");

    tmodel_init(&t);
    qrun_limits_default(&lim);
    Onnx__TensorProto *inits[2] = {&t.w, &t.w};
    t.g.n_initializer = 2, t.g.initializer = inits;
    lim.max_initializers = 1;
    expect_limited(&t.m, &lim, QRUN_E_MODEL, "more than 1 initializers (limit max_initializers)");

    tmodel_init(&t);
    qrun_limits_default(&lim);
    Onnx__ValueInfoProto *ins[2] = {&t.in, &t.in};
    t.g.n_input = 2, t.g.input = ins;
    lim.max_graph_io = 1;
    expect_limited(&t.m, &lim, QRUN_E_MODEL, "(limit max_graph_io)");

    qm_model q;
    qm_init(&q, "Concat", "cat", 13);
    int64_t d1[1] = {1};
    qm_input(&q, "A", 1, 1, d1);
    qm_output(&q, "B");
    qm_attr_int(&q, "axis", 0);
    qm_attr_int(&q, "other", 0);
    qrun_limits_default(&lim);
    lim.max_attributes = 1;
    expect_limited(&q.m, &lim, QRUN_E_MODEL, "more than 1 attributes on one node");
    lim.max_attributes = 2;
    expect_limited(&q.m, &lim, QRUN_OK, NULL);

    tmodel_init(&t);
    qrun_limits_default(&lim);
    lim.max_nesting = 3; /* Model > Graph > ValueInfo > TypeProto > ... */
    expect_limited(&t.m, &lim, QRUN_E_MODEL, "nested deeper than 3 (limit max_nesting)");

    lim.max_nesting = 100;
    lim.max_model_bytes = 10;
    expect_limited(&t.m, &lim, QRUN_E_MODEL, "limit max_model_bytes = 10");
}

/* Files that would make protobuf-c allocate many times their size are refused before parsing. */
static void test_parse_budget(void **state) {
    (void)state;
    tmodel t;
    tmodel_init(&t);
    size_t n = 0;
    uint8_t *good = pack_model(&t.m, &n);
    /* 4 M unknown 2-byte fields (field 15, varint 0): protobuf-c keeps each one (~50 bytes) */
    size_t extra = (size_t)4 << 21, total = n + extra;
    uint8_t *buf = malloc(total);
    assert_non_null(buf);
    memcpy(buf, good, n);
    for (size_t i = n; i < total; i += 2)
        buf[i] = 0x78, buf[i + 1] = 0x00;
    qrun_graph *g = NULL;
    qrun_err err = {{0}};
    assert_int_equal(onnx_load_bytes(buf, total, NULL, NULL, &g, &err), QRUN_E_MODEL);
    assert_non_null(strstr(err.msg, "parsing the model would allocate about"));
    /* a few of them are harmless */
    assert_int_equal(onnx_load_bytes(buf, n + 2000, NULL, NULL, &g, &err), QRUN_OK);
    qrun_graph_free(g);
    /* the same in a tensor file (an empty TensorProto followed by the unknown fields) */
    struct qrun_tensor tf;
    assert_int_equal(onnx_tensor_read_bytes(buf + n, extra, NULL, &tf, &err), QRUN_E_MODEL);
    assert_non_null(strstr(err.msg, "parsing the TensorProto would allocate about"));
    free(buf);

    /* a node with more inputs than max_graph_io (empty names: two bytes each on the wire) */
    char **ins = calloc(3, sizeof *ins);
    assert_non_null(ins);
    ins[0] = "X", ins[1] = "W", ins[2] = "";
    t.node.input = ins, t.node.n_input = 3;
    qrun_limits lim;
    qrun_limits_default(&lim);
    lim.max_graph_io = 2;
    expect_limited(&t.m, &lim, QRUN_E_MODEL, "(limit max_graph_io)");
    free(ins);
    free(good);
}

static void test_sizes(void **state) {
    (void)state;
    qrun_limits lim;
    tmodel t;

    /* one tensor's rank and elements */
    tmodel_init(&t);
    qrun_limits_default(&lim);
    lim.max_tensor_elements = 1;
    expect_limited(&t.m, &lim, QRUN_E_MODEL,
                   "initializer 'W' has more than 1 elements (limit max_tensor_elements)");
    tmodel_init(&t);
    qrun_limits_default(&lim);
    t.w.n_dims = 2, t.w_dims[0] = 2, t.w_dims[1] = 1;
    lim.max_rank = 1;
    expect_limited(&t.m, &lim, QRUN_E_MODEL, "initializer 'W' has rank 2; the limit is 1");

    /* a 2^40-element graph input is refused at load: a default input would allocate it */
    tmodel_init(&t);
    t.in_dim.dim_value = (int64_t)1 << 40;
    expect_limited(&t.m, NULL, QRUN_E_MODEL, "value 'X' has more than 268435456 elements");

    /* all constants together */
    tmodel_init(&t);
    qrun_limits_default(&lim);
    lim.max_total_initializer_bytes = 4;
    expect_limited(&t.m, &lim, QRUN_E_MODEL,
                   "initializer 'W': the model's constants pass 4 bytes in total");
    lim.max_total_initializer_bytes = 8;
    expect_limited(&t.m, &lim, QRUN_OK, NULL);

    /* names and strings */
    tmodel_init(&t);
    qrun_limits_default(&lim);
    t.node.name = "a_rather_long_node_name";
    lim.max_string_bytes = 8;
    expect_limited(&t.m, &lim, QRUN_E_MODEL,
                   "node name 'a_rather_long_node_name...' is 23 bytes long (limit "
                   "max_string_bytes = 8)");

    /* an external-data location (checked before any file is opened) */
    tmodel_init(&t);
    tmodel_ext x;
    tmodel_set_external(&t, &x, "a_long_file_name.bin", NULL, NULL);
    qrun_limits_default(&lim);
    lim.max_string_bytes = 8;
    expect_limited(&t.m, &lim, QRUN_E_MODEL,
                   "initializer 'W': an external_data value is 20 bytes long (limit "
                   "max_string_bytes = 8)");

    /* values of one list attribute */
    qm_model q;
    qm_init(&q, "Transpose", "tr", 13);
    int64_t d3[3] = {1, 1, 1};
    qm_input(&q, "A", 1, 3, d3);
    qm_output(&q, "B");
    int64_t perm[3] = {0, 1, 2};
    Onnx__AttributeProto *a = &q.attr[0];
    onnx__attribute_proto__init(a);
    a->name = "perm", a->has_type = 1, a->type = 7, a->n_ints = 3, a->ints = perm;
    q.attrs[0] = a;
    q.node.n_attribute = 1;
    qrun_limits_default(&lim);
    lim.max_attribute_elements = 2;
    expect_limited(&q.m, &lim, QRUN_E_MODEL,
                   "node 'tr': attribute 'perm' has 3 values (limit max_attribute_elements = 2)");

    /* a Constant's value_floats: a list attribute and constant data */
    qm_init(&q, "Constant", "k", 13);
    qm_output(&q, "B");
    float three[3] = {1, 2, 3};
    onnx__attribute_proto__init(a);
    a->name = "value_floats", a->has_type = 1, a->type = 6, a->n_floats = 3, a->floats = three;
    q.attrs[0] = a;
    q.node.n_attribute = 1;
    expect_limited(&q.m, &lim, QRUN_E_MODEL,
                   "node 'k': attribute 'value_floats' has 3 values (limit max_attribute_elements");
    qrun_limits_default(&lim);
    lim.max_total_initializer_bytes = 11;
    expect_limited(&q.m, &lim, QRUN_E_MODEL,
                   "attribute 'value_floats' of node 'k': the model's constants pass 11 bytes");
    lim.max_total_initializer_bytes = 12;
    expect_limited(&q.m, &lim, QRUN_OK, NULL);
}

/* A shape computed from a tiny constant must not become a huge allocation at plan time. */
static void test_planned_size(void **state) {
    (void)state;
    qm_model q;
    qm_init(&q, "Expand", "big", 13);
    int64_t d1[1] = {1};
    qm_input(&q, "X", 1, 1, d1);
    int64_t shape[2] = {(int64_t)1 << 20, (int64_t)1 << 20}, d2[1] = {2};
    qm_const(&q, "shape", 7, 1, d2, shape, sizeof shape);
    qm_output(&q, "Y");
    size_t n = 0;
    uint8_t *buf = pack_model(&q.m, &n);
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    qrun_model *m = NULL;
    assert_int_equal(qrun_model_load_bytes(ctx, buf, n, NULL, &m), QRUN_OK);
    qrun_session *s = NULL;
    assert_int_equal(qrun_session_create(ctx, m, NULL, &s), QRUN_E_MODEL);
    assert_non_null(strstr(qrun_context_errmsg(ctx),
                           "node 'big' (Expand): output 'Y' would have 1099511627776 elements "
                           "(limit max_tensor_elements = 268435456)"));
    qrun_model_free(m);
    free(buf);

    /* every tensor within its limit, but together more than max_arena_bytes */
    shape[0] = shape[1] = 1024; /* 4 MiB of float */
    memcpy(q.init_data[0], shape, sizeof shape);
    buf = pack_model(&q.m, &n);
    qrun_limits lim;
    qrun_limits_default(&lim);
    lim.max_arena_bytes = 1 << 20;
    assert_int_equal(qrun_context_set_limits(ctx, &lim), QRUN_OK);
    assert_int_equal(qrun_model_load_bytes(ctx, buf, n, NULL, &m), QRUN_OK);
    assert_int_equal(qrun_session_create(ctx, m, NULL, &s), QRUN_E_MODEL);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "(limit max_arena_bytes = 1048576)"));
    lim.max_arena_bytes = 8 << 20;
    assert_int_equal(qrun_context_set_limits(ctx, &lim), QRUN_OK);
    assert_int_equal(qrun_session_create(ctx, m, NULL, &s), QRUN_OK);
    qrun_session_free(s);
    qrun_model_free(m);
    free(buf);
    qrun_context_free(ctx);
}

/* Tensor files: the file size is bounded before reading, the shape after. */
static void test_input_files(void **state) {
    (void)state;
    char *dir = tmpdir_make();
    char path[600];
    snprintf(path, sizeof path, "%s/t.npy", dir);
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    int64_t dims[2] = {4, 4};
    qrun_tensor *t = NULL;
    assert_int_equal(qrun_tensor_create(ctx, QRUN_DTYPE_FLOAT, 2, dims, "t", &t), QRUN_OK);
    assert_int_equal(qrun_tensor_save_file(ctx, t, path, QRUN_TENSOR_FORMAT_NPY), QRUN_OK);
    qrun_tensor_free(t);

    qrun_limits lim;
    qrun_limits_default(&lim);
    lim.max_input_file_bytes = 64;
    assert_int_equal(qrun_context_set_limits(ctx, &lim), QRUN_OK);
    assert_int_equal(qrun_tensor_load_file(ctx, path, &t), QRUN_E_MODEL);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "limit max_input_file_bytes = 64"));
    assert_null(t);

    qrun_limits_default(&lim);
    lim.max_tensor_elements = 15;
    assert_int_equal(qrun_context_set_limits(ctx, &lim), QRUN_OK);
    assert_int_equal(qrun_tensor_load_file(ctx, path, &t), QRUN_E_MODEL);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "t.npy: tensor has more than 15 elements"));
    lim.max_tensor_elements = 16;
    assert_int_equal(qrun_context_set_limits(ctx, &lim), QRUN_OK);
    assert_int_equal(qrun_tensor_load_file(ctx, path, &t), QRUN_OK);
    qrun_tensor_free(t);
    qrun_context_free(ctx);
    rm_rf(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_validation),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_parse_budget),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_planned_size),
        cmocka_unit_test(test_input_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
