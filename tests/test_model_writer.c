/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ONNX writer: load -> save -> load gives the same graph and bit-identical
 * outputs, on every model in ../shared/models and on a sample of the ONNX
 * backend node tests; refusals (fp8e3m4) name the tensor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "onnx/onnx_loader.h"
#include "onnx/onnx_writer.h"
#include "qrun/qrun.h"
#include "runtime/alloc.h"
#include "runtime/dtype.h"
#include "tests/support/datasets.h"
#include "tests/support/model_builder.h"
#include "tests/support/model_runner.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MODELS QRUN_SHARED_DIR "/models"
#define NODE_TESTS "/usr/share/libonnx-testdata/data/node"

static bool exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static void tmp_path(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "/tmp/qrun_writer_%ld_%s", (long)getpid(), name);
}

/* ---- IR comparison ------------------------------------------------------ */

static void
same_tensor(const struct qrun_tensor *a, const struct qrun_tensor *b, const char *what) {
    if (a->dtype != b->dtype || a->rank != b->rank)
        fail_msg("%s: dtype/rank %d/%d vs %d/%d", what, a->dtype, a->rank, b->dtype, b->rank);
    for (int k = 0; k < a->rank; k++) {
        if (a->dims[k] != b->dims[k])
            fail_msg("%s: dim %d differs", what, k);
    }
    if (a->nbytes != b->nbytes || (a->nbytes && memcmp(a->data, b->data, a->nbytes) != 0))
        fail_msg("%s: data differs", what);
}

static void same_attr(const qrun_attr *a, const qrun_attr *b, const char *node) {
    char what[512];
    snprintf(what, sizeof what, "node '%s' attribute '%s'", node, a->name);
    if (strcmp(a->name, b->name) != 0 || a->type != b->type)
        fail_msg("%s: name/type differ ('%s' %d vs %d)", what, b->name, a->type, b->type);
    switch (a->type) {
    case QRUN_ATTR_FLOAT:
        if (memcmp(&a->f, &b->f, sizeof a->f) != 0)
            fail_msg("%s: %g vs %g", what, a->f, b->f);
        break;
    case QRUN_ATTR_INT:
        assert_int_equal(a->i, b->i);
        break;
    case QRUN_ATTR_STRING:
        assert_int_equal(a->s_len, b->s_len);
        assert_memory_equal(a->s, b->s, a->s_len);
        break;
    case QRUN_ATTR_FLOATS:
        assert_int_equal(a->n, b->n);
        if (a->n)
            assert_memory_equal(a->floats, b->floats, a->n * sizeof(float));
        break;
    case QRUN_ATTR_INTS:
        assert_int_equal(a->n, b->n);
        if (a->n)
            assert_memory_equal(a->ints, b->ints, a->n * sizeof(int64_t));
        break;
    case QRUN_ATTR_STRINGS:
        assert_int_equal(a->n, b->n);
        for (size_t k = 0; k < a->n; k++)
            assert_string_equal(a->strings[k], b->strings[k]);
        break;
    case QRUN_ATTR_TENSOR:
        same_tensor(a->t, b->t, what);
        break;
    case QRUN_ATTR_TENSORS:
        assert_int_equal(a->n, b->n);
        for (size_t k = 0; k < a->n; k++)
            same_tensor(&a->ts[k], &b->ts[k], what);
        break;
    default:
        break;
    }
}

static const char *vname(const qrun_graph *g, int v) {
    return v >= 0 ? g->values[v].name : "";
}

static void same_value_decl(const qrun_graph *a, int va, const qrun_graph *b, int vb) {
    const qrun_value *x = &a->values[va], *y = &b->values[vb];
    assert_string_equal(x->name, y->name);
    assert_int_equal(x->kind, y->kind);
    if (x->kind == QRUN_VALUE_CONSTANT) {
        same_tensor(&x->info, &y->info, x->name);
        return;
    }
    assert_int_equal(x->info.dtype, y->info.dtype);
    assert_int_equal(x->info.rank, y->info.rank);
    for (int k = 0; k < x->info.rank; k++) {
        assert_int_equal(x->info.dims[k], y->info.dims[k]);
        assert_string_equal(x->dim_params[k] ? x->dim_params[k] : "",
                            y->dim_params[k] ? y->dim_params[k] : "");
    }
}

/*
 * Same opsets, inputs, outputs, nodes (names, ops, opsets, wiring by value
 * name, attributes) and the data of every constant a node reads.
 */
static void same_graph(const qrun_graph *a, const qrun_graph *b) {
    assert_int_equal(a->n_opsets, b->n_opsets);
    for (int i = 0; i < a->n_opsets; i++) {
        assert_string_equal(a->opsets[i].domain, b->opsets[i].domain);
        assert_int_equal(a->opsets[i].version, b->opsets[i].version);
    }
    assert_int_equal(a->n_inputs, b->n_inputs);
    for (int i = 0; i < a->n_inputs; i++)
        same_value_decl(a, a->inputs[i], b, b->inputs[i]);
    assert_int_equal(a->n_outputs, b->n_outputs);
    for (int i = 0; i < a->n_outputs; i++)
        same_value_decl(a, a->outputs[i], b, b->outputs[i]);
    assert_int_equal(a->n_nodes, b->n_nodes);
    for (int k = 0; k < a->n_nodes; k++) {
        const qrun_node *x = &a->nodes[k], *y = &b->nodes[k];
        assert_string_equal(x->name, y->name);
        assert_string_equal(x->op_type, y->op_type);
        assert_string_equal(x->domain, y->domain);
        assert_int_equal(x->opset, y->opset);
        assert_int_equal(x->n_inputs, y->n_inputs);
        assert_int_equal(x->n_outputs, y->n_outputs);
        for (int i = 0; i < x->n_inputs; i++) {
            assert_string_equal(vname(a, x->inputs[i]), vname(b, y->inputs[i]));
            if (x->inputs[i] >= 0)
                same_value_decl(a, x->inputs[i], b, y->inputs[i]);
        }
        for (int o = 0; o < x->n_outputs; o++)
            assert_string_equal(vname(a, x->outputs[o]), vname(b, y->outputs[o]));
        assert_int_equal(x->n_attrs, y->n_attrs);
        for (int t = 0; t < x->n_attrs; t++)
            same_attr(&x->attrs[t], &y->attrs[t], x->name);
    }
}

/* IR level: file -> graph -> file -> graph; the two graphs must match. */
static void roundtrip_ir(const char *path) {
    qrun_err err = {0};
    qrun_graph *a = NULL, *b = NULL;
    if (onnx_load_file(path, NULL, &a, &err))
        fail_msg("%s: %s", path, err.msg);
    char out[PATH_MAX];
    tmp_path(out, sizeof out, "ir.onnx");
    if (onnx_save_file(out, a, &err))
        fail_msg("%s: save: %s", path, err.msg);
    if (onnx_load_file(out, NULL, &b, &err))
        fail_msg("%s: reload: %s", path, err.msg);
    same_graph(a, b);
    assert_string_equal(b->producer_name, "qrun");
    qrun_graph_free(a);
    qrun_graph_free(b);
    unlink(out);
}

/* ---- outputs ------------------------------------------------------------ */

/* Deterministic inputs of the declared types (symbolic dims as 1). */
static qrun_tensor *make_input(qrun_context *ctx, const qrun_model *m, int i, uint32_t *seed) {
    qrun_value_info vi;
    assert_int_equal(qrun_model_input_info(m, i, &vi), QRUN_OK);
    int64_t dims[QRUN_MAX_RANK];
    int rank = vi.rank < 0 ? 0 : vi.rank;
    for (int d = 0; d < rank; d++)
        dims[d] = vi.dims[d] < 0 ? 1 : vi.dims[d];
    qrun_tensor *t = NULL;
    assert_int_equal(qrun_tensor_create(ctx, vi.dtype, rank, dims, vi.name, &t), QRUN_OK);
    for (int64_t k = 0; k < qrun_tensor_numel(t); k++) {
        *seed = *seed * 1664525u + 1013904223u;
        double u = (double)(*seed >> 8) / (double)(1u << 24); /* [0, 1) */
        qrun_tensor_set_f64(t, k, qrun_dtype_is_float(vi.dtype) ? 4.0 * u - 2.0 : 256.0 * u);
    }
    return t;
}

static void same_outputs(qrun_tensor **a, qrun_tensor **b, int n, const char *what) {
    for (int j = 0; j < n; j++) {
        assert_int_equal(qrun_tensor_dtype(a[j]), qrun_tensor_dtype(b[j]));
        assert_int_equal(qrun_tensor_nbytes(a[j]), qrun_tensor_nbytes(b[j]));
        if (memcmp(qrun_tensor_data_const(a[j]), qrun_tensor_data_const(b[j]),
                   qrun_tensor_nbytes(a[j])) != 0)
            fail_msg("%s: output %d is not bit-identical", what, j);
    }
}

/*
 * API level: the loaded (and lowered) model saved and reloaded runs to
 * bit-identical outputs on the given inputs (NULL: deterministic ones).
 */
static void roundtrip_run(const char *path, qrun_tensor **given, int n_given) {
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    qrun_model *a = NULL, *b = NULL;
    qrun_status st = qrun_model_load(ctx, path, &a);
    if (st == QRUN_E_UNSUPPORTED) { /* an op qrun does not run: the IR round trip covers it */
        print_message("not run: %s\n", qrun_context_errmsg(ctx));
        qrun_context_free(ctx);
        return;
    }
    if (st)
        fail_msg("%s", qrun_context_errmsg(ctx));
    char out[PATH_MAX];
    tmp_path(out, sizeof out, "api.onnx");
    if (qrun_model_save(ctx, a, out))
        fail_msg("%s: %s", path, qrun_context_errmsg(ctx));
    if (qrun_model_load(ctx, out, &b))
        fail_msg("%s: reload: %s", path, qrun_context_errmsg(ctx));
    int n_in = qrun_model_input_count(a), n_out = qrun_model_output_count(a);
    assert_int_equal(n_in, qrun_model_input_count(b));
    assert_int_equal(n_out, qrun_model_output_count(b));
    assert_true(n_in <= 16 && n_out <= 16);
    qrun_tensor *in[16] = {0}, *oa[16] = {0}, *ob[16] = {0};
    uint32_t seed = 12345;
    for (int i = 0; i < n_in; i++)
        in[i] = i < n_given ? given[i] : make_input(ctx, a, i, &seed);
    mr_run_once(ctx, a, in, n_in, oa, n_out);
    mr_run_once(ctx, b, in, n_in, ob, n_out);
    same_outputs(oa, ob, n_out, path);
    for (int i = 0; i < 16; i++) {
        if (i >= n_given)
            qrun_tensor_free(in[i]);
        qrun_tensor_free(oa[i]);
        qrun_tensor_free(ob[i]);
    }
    qrun_model_free(a);
    qrun_model_free(b);
    qrun_context_free(ctx);
    unlink(out);
}

static const char *const k_models[] = {
    "fp32/mlperftiny_ic_resnet8_fp32.onnx",
    "fp32/mnist-8/model.onnx",
    "int8/integer/mnist_convinteger_matmulinteger/model_quantized.onnx",
    "int8/qdq/mlperftiny_ad_deep_autoencoder_qdq.onnx",
    "int8/qdq/mlperftiny_ic_resnet8_qdq.onnx",
    "int8/qdq/mlperftiny_kws_dscnn_qdq.onnx",
    "int8/qoperator/ic_quantized_int8.onnx",
    "int8/qoperator/ks_quantized_int8.onnx",
    "int8/qoperator/mobilenetv2-12-int8.onnx",
    "light/light_densenet121.onnx",
    "light/light_inception_v1.onnx",
    "light/light_resnet50.onnx",
    "light/light_shufflenet.onnx",
    "light/light_squeezenet.onnx",
    "light/light_vgg19.onnx",
};

static void test_roundtrip_shared_models(void **state) {
    (void)state;
    if (!ds_dataset_runs_enabled())
        skip();
    if (!exists(MODELS "/MANIFEST.md"))
        skip();
    for (size_t i = 0; i < sizeof k_models / sizeof k_models[0]; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", MODELS, k_models[i]);
        roundtrip_ir(p);
        roundtrip_run(p, NULL, 0);
    }
}

/* Every 5th node test that qrun loads: same graph and, on its test_data_set_0, same outputs. */
static void test_roundtrip_node_tests(void **state) {
    (void)state;
    struct dirent **ents = NULL;
    int n = scandir(NODE_TESTS, &ents, NULL, alphasort);
    if (n <= 0)
        skip();
    int tried = 0, done = 0;
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    for (int i = 0; i < n; i++) {
        char dir[PATH_MAX], model[PATH_MAX + 16];
        snprintf(dir, sizeof dir, "%s/%s", NODE_TESTS, ents[i]->d_name);
        snprintf(model, sizeof model, "%s/model.onnx", dir);
        bool pick = i % 5 == 0 && exists(model);
        free(ents[i]);
        if (!pick)
            continue;
        qrun_model *m = NULL;
        tried++;
        if (qrun_model_load(ctx, model, &m))
            continue; /* ops qrun does not run: nothing to compare */
        int n_in = qrun_model_input_count(m);
        qrun_tensor *in[16] = {0};
        bool ok = n_in <= 16;
        for (int k = 0; ok && k < n_in; k++) {
            char f[PATH_MAX + 64];
            snprintf(f, sizeof f, "%s/test_data_set_0/input_%d.pb", dir, k);
            ok = qrun_tensor_load_file(ctx, f, &in[k]) == QRUN_OK;
        }
        /* Runs that fail in qrun itself (conformance covers them) are not the writer's. */
        qrun_session *s = NULL;
        qrun_tensor *probe[16] = {0};
        int n_out = qrun_model_output_count(m);
        ok = ok && n_out <= 16 && qrun_session_create(ctx, m, NULL, &s) == QRUN_OK &&
             qrun_session_run(s, (const qrun_tensor *const *)in, n_in, probe, n_out) == QRUN_OK;
        qrun_session_free(s);
        for (int j = 0; j < 16; j++)
            qrun_tensor_free(probe[j]);
        qrun_model_free(m);
        if (ok) {
            roundtrip_ir(model);
            roundtrip_run(model, in, n_in);
            done++;
        }
        for (int k = 0; k < 16; k++)
            qrun_tensor_free(in[k]);
    }
    free(ents);
    qrun_context_free(ctx);
    print_message("node tests: %d sampled, %d round-tripped with identical outputs\n", tried, done);
    assert_true(done >= tried / 2);
}

/* FP8 (ONNX type) and INT4 initializers keep their raw bytes; fp8e3m4 is refused by name. */
static void test_lowbit_initializers(void **state) {
    (void)state;
    qrun_graph *g = NULL;
    assert_int_equal(qrun_graph_create(NULL, &g), QRUN_OK);
    g->ir_version = 8;
    g->opsets = calloc(1, sizeof *g->opsets);
    g->opsets[0].domain = strdup("");
    g->opsets[0].version = 21;
    g->n_opsets = 1;
    const uint8_t fp8[4] = {0x38, 0xb8, 0x7e, 0x01};
    const uint8_t i4[2] = {0x7f, 0x98}; /* 4 nibbles: -1, 7, -8, -7 */
    int64_t d4[1] = {4};
    int c8 = qrun_graph_add_constant(g, "w8", QRUN_DTYPE_FLOAT8E4M3FN, 1, d4, fp8);
    int c4 = qrun_graph_add_constant(g, "w4", QRUN_DTYPE_INT4, 1, d4, i4);
    assert_true(c8 >= 0 && c4 >= 0);
    g->outputs = calloc(2, sizeof *g->outputs);
    g->outputs[0] = c8;
    g->outputs[1] = c4;
    g->n_outputs = 2;
    g->values[c8].is_output = g->values[c4].is_output = true;
    qrun_err err = {0};
    void *buf = NULL;
    size_t n = 0;
    assert_int_equal(onnx_save_bytes(g, NULL, &buf, &n, &err), QRUN_OK);
    qrun_graph *b = NULL;
    if (onnx_load_bytes(buf, n, NULL, NULL, &b, &err))
        fail_msg("%s", err.msg);
    free(buf);
    assert_true(b->ir_version >= 10); /* INT4 came with IR 10 */
    same_tensor(&g->values[c8].info, &b->values[qrun_graph_find_value(b, "w8")].info, "w8");
    same_tensor(&g->values[c4].info, &b->values[qrun_graph_find_value(b, "w4")].info, "w4");
    qrun_graph_free(b);

    int c3 = qrun_graph_add_constant(g, "w_e3m4", QRUN_DTYPE_FLOAT8E3M4, 1, d4, fp8);
    g->outputs[1] = c3;
    assert_int_equal(onnx_save_bytes(g, NULL, &buf, &n, &err), QRUN_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "w_e3m4"));
    assert_non_null(strstr(err.msg, "fp8e3m4"));
    qrun_graph_free(g);
}

/* One attribute of every kind the IR keeps survives the round trip (strings by length). */
/* A graph without nodes may import no opset at all; saving it must not invent "ai.onnx
 * version 0", which no loader accepts (found by fuzz_model). */
static void test_save_without_opset_import(void **state) {
    (void)state;
    tmodel t;
    tmodel_init(&t);
    t.m.n_opset_import = 0;
    t.g.n_node = 0;
    t.g.n_initializer = 0;
    t.outs[0] = &t.in; /* Y is X */
    size_t n = 0;
    uint8_t *bytes = pack_model(&t.m, &n);
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    qrun_model *a = NULL, *b = NULL;
    assert_int_equal(qrun_model_load_bytes(ctx, bytes, n, NULL, &a), QRUN_OK);
    char out[PATH_MAX];
    tmp_path(out, sizeof out, "no_opset.onnx");
    assert_int_equal(qrun_model_save(ctx, a, out), QRUN_OK);
    if (qrun_model_load(ctx, out, &b))
        fail_msg("reload: %s", qrun_context_errmsg(ctx));
    assert_int_equal(qrun_model_output_count(b), 1);
    qrun_model_free(a);
    qrun_model_free(b);
    qrun_context_free(ctx);
    free(bytes);
    unlink(out);
}

static void test_every_attribute_type(void **state) {
    (void)state;
    qrun_graph *g = NULL;
    assert_int_equal(qrun_graph_create(NULL, &g), QRUN_OK);
    g->ir_version = 8;
    g->opsets = calloc(2, sizeof *g->opsets);
    g->opsets[0].domain = strdup("");
    g->opsets[0].version = 13;
    g->opsets[1].domain = strdup("org.example");
    g->opsets[1].version = 2;
    g->n_opsets = 2;
    int x = qrun_graph_add_value(g, "x", QRUN_VALUE_INPUT);
    int y = qrun_graph_add_value(g, "y", QRUN_VALUE_INTERMEDIATE);
    g->values[x].info.dtype = QRUN_DTYPE_FLOAT;
    g->values[x].info.rank = 2;
    g->values[x].info.dims[0] = -1;
    g->values[x].info.dims[1] = 3;
    g->values[x].dim_params[0] = strdup("batch");
    g->inputs = calloc(1, sizeof *g->inputs);
    g->inputs[g->n_inputs++] = x;
    g->outputs = calloc(1, sizeof *g->outputs);
    g->outputs[g->n_outputs++] = y;
    g->values[y].is_output = true;
    int k = qrun_graph_add_node(g);
    qrun_node *n = &g->nodes[k];
    n->name = strdup("custom");
    n->op_type = strdup("Frobnicate");
    n->domain = strdup("org.example");
    n->opset = 2;
    n->inputs = calloc(2, sizeof *n->inputs);
    n->inputs[0] = x;
    n->inputs[1] = -1; /* an omitted optional input */
    n->n_inputs = 2;
    n->outputs = calloc(1, sizeof *n->outputs);
    n->outputs[0] = y;
    n->n_outputs = 1;
    enum { NA = 8 };
    n->attrs = calloc(NA, sizeof *n->attrs);
    n->n_attrs = NA;
    static const float fl[3] = {1.5f, -0.0f, 3e-38f};
    static const int64_t in[2] = {-7, INT64_MAX};
    int64_t d2[1] = {2};
    qrun_attr *a = n->attrs;
    a[0] = (qrun_attr){.name = strdup("f"), .type = QRUN_ATTR_FLOAT, .f = -2.25f};
    a[1] = (qrun_attr){.name = strdup("i"), .type = QRUN_ATTR_INT, .i = INT64_MIN};
    a[2] = (qrun_attr){.name = strdup("s"), .type = QRUN_ATTR_STRING, .s = malloc(4), .s_len = 3};
    memcpy(a[2].s, "a\0b", 4); /* bytes, NUL included */
    a[3] = (qrun_attr){
        .name = strdup("fs"), .type = QRUN_ATTR_FLOATS, .n = 3, .floats = malloc(sizeof fl)};
    memcpy(a[3].floats, fl, sizeof fl);
    a[4] = (qrun_attr){
        .name = strdup("is"), .type = QRUN_ATTR_INTS, .n = 2, .ints = malloc(sizeof in)};
    memcpy(a[4].ints, in, sizeof in);
    a[5] = (qrun_attr){.name = strdup("ss"),
                       .type = QRUN_ATTR_STRINGS,
                       .n = 2,
                       .strings = calloc(2, sizeof(char *))};
    a[5].strings[0] = strdup("one");
    a[5].strings[1] = strdup("");
    a[6] = (qrun_attr){
        .name = strdup("t"), .type = QRUN_ATTR_TENSOR, .t = calloc(1, sizeof(struct qrun_tensor))};
    assert_true(qrun_tensor_set_shape(a[6].t, QRUN_DTYPE_INT16, 1, d2));
    assert_int_equal(qrun_tensor_alloc_data(a[6].t, qrun_allocator_default()), QRUN_OK);
    ((int16_t *)a[6].t->data)[1] = -300;
    a[7] = (qrun_attr){.name = strdup("ts"),
                       .type = QRUN_ATTR_TENSORS,
                       .n = 2,
                       .ts = calloc(2, sizeof(struct qrun_tensor))};
    for (int t = 0; t < 2; t++) {
        assert_true(
            qrun_tensor_set_shape(&a[7].ts[t], t ? QRUN_DTYPE_FLOAT8E5M2 : QRUN_DTYPE_BOOL, 1, d2));
        assert_int_equal(qrun_tensor_alloc_data(&a[7].ts[t], qrun_allocator_default()), QRUN_OK);
        ((uint8_t *)a[7].ts[t].data)[0] = 1;
    }
    qrun_err err = {0};
    void *buf = NULL;
    size_t nb = 0;
    if (onnx_save_bytes(g, NULL, &buf, &nb, &err))
        fail_msg("%s", err.msg);
    qrun_graph *b = NULL;
    if (onnx_load_bytes(buf, nb, NULL, NULL, &b, &err))
        fail_msg("%s", err.msg);
    free(buf);
    same_graph(g, b);
    assert_int_equal(b->nodes[0].inputs[1], -1);
    assert_int_equal(b->nodes[0].attrs[2].s_len, 3);
    qrun_graph_free(b);
    qrun_graph_free(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lowbit_initializers),
        cmocka_unit_test(test_every_attribute_type),
        cmocka_unit_test(test_save_without_opset_import),
        cmocka_unit_test(test_roundtrip_shared_models),
        cmocka_unit_test(test_roundtrip_node_tests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
