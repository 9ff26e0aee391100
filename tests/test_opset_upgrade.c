/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Opset upgrade on save: one small model per converter step, built at the old
 * opset, run, saved at the new opset, reloaded and run again: the upgraded
 * nodes have the new form and the outputs are bit-identical. Refusals name
 * the node and op. The fp32 models (mnist-8 at opset 8, ResNet-8 at 11) are
 * upgraded to 13 and 19 with identical outputs on real inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "onnx/onnx_writer.h"
#include "qrun/qrun.h"
#include "tests/support/graph_builder.h"
#include "tests/support/model_runner.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MODELS QRUN_SHARED_DIR "/models"

enum { F32 = 1, I64 = 7 };

typedef struct up_run {
    qrun_context *ctx;
    qrun_model *before, *after;
    qrun_tensor *in[4];
    int n_in;
    qrun_tensor *out_before[4], *out_after[4];
    int n_out;
} up_run;

static void fill(qrun_tensor *t, int salt) {
    for (int64_t k = 0; k < qrun_tensor_numel(t); k++)
        qrun_tensor_set_f64(t, k, (double)((k * 7 + salt * 3) % 11) * 0.25 - 1.25);
}

static void save_path(char *buf, size_t cap) {
    snprintf(buf, cap, "/tmp/qrun_opset_upgrade_%ld.onnx", (long)getpid());
}

/*
 * Load b's model, run it on patterned inputs (unless `runs_before` is false:
 * an op qrun has only in its new form), save it at opset `to`, reload and
 * run; outputs must be bit-identical. The caller inspects r->after, then
 * calls up_done.
 */
static void up_check(up_run *r, gbuild *b, int64_t to, bool runs_before) {
    memset(r, 0, sizeof *r);
    assert_int_equal(qrun_context_create(NULL, &r->ctx), QRUN_OK);
    size_t n = 0;
    uint8_t *buf = gb_pack(b, &n);
    gb_free(b);
    qrun_status st =
        runs_before ? qrun_model_load_bytes(r->ctx, buf, n, NULL, &r->before) : QRUN_OK;
    free(buf);
    if (st)
        fail_msg("%s", qrun_context_errmsg(r->ctx));
    char path[PATH_MAX];
    if (!runs_before)
        return;
    r->n_in = qrun_model_input_count(r->before);
    r->n_out = qrun_model_output_count(r->before);
    for (int i = 0; i < r->n_in; i++) {
        qrun_value_info vi;
        qrun_model_input_info(r->before, i, &vi);
        assert_int_equal(qrun_tensor_create(r->ctx, vi.dtype, vi.rank, vi.dims, vi.name, &r->in[i]),
                         QRUN_OK);
        fill(r->in[i], i);
    }
    mr_run_once(r->ctx, r->before, r->in, r->n_in, r->out_before, r->n_out);
    save_path(path, sizeof path);
    if (qrun_model_save_opset(r->ctx, r->before, path, to))
        fail_msg("%s", qrun_context_errmsg(r->ctx));
    if (qrun_model_load(r->ctx, path, &r->after))
        fail_msg("%s", qrun_context_errmsg(r->ctx));
    unlink(path);
    const char *dom = NULL;
    int64_t ver = 0;
    assert_int_equal(qrun_model_opset(r->after, 0, &dom, &ver), QRUN_OK);
    assert_int_equal(ver, to);
    mr_run_once(r->ctx, r->after, r->in, r->n_in, r->out_after, r->n_out);
    for (int j = 0; j < r->n_out; j++) {
        assert_int_equal(qrun_tensor_nbytes(r->out_before[j]), qrun_tensor_nbytes(r->out_after[j]));
        assert_memory_equal(qrun_tensor_data_const(r->out_before[j]),
                            qrun_tensor_data_const(r->out_after[j]),
                            qrun_tensor_nbytes(r->out_before[j]));
    }
}

static void up_done(up_run *r) {
    for (int i = 0; i < 4; i++) {
        qrun_tensor_free(r->in[i]);
        qrun_tensor_free(r->out_before[i]);
        qrun_tensor_free(r->out_after[i]);
    }
    qrun_model_free(r->before);
    qrun_model_free(r->after);
    qrun_context_free(r->ctx);
}

/* The single op node of r->after (skipping nothing: these graphs have one node). */
static qrun_node_info only_node(const up_run *r) {
    assert_int_equal(qrun_model_node_count(r->after), 1);
    qrun_node_info ni;
    assert_int_equal(qrun_model_node_info(r->after, 0, &ni), QRUN_OK);
    return ni;
}

static gbuild *one_input(int64_t opset, int rank, const int64_t *dims) {
    gbuild *b = gb_new(opset);
    gb_input(b, "X", F32, rank, dims);
    return b;
}

static void test_squeeze_unsqueeze_axes(void **state) {
    (void)state;
    static const int64_t d[3] = {2, 1, 3}, ax1[1] = {1}, ax2[2] = {0, 3};
    gbuild *b = one_input(11, 3, d);
    gb_attr_ints(b, gb_node(b, "Squeeze", "sq", "X", "S"), "axes", 1, ax1);
    gb_attr_ints(b, gb_node(b, "Unsqueeze", "unsq", "S", "Y"), "axes", 2, ax2);
    gb_output(b, "Y");
    up_run r;
    up_check(&r, b, 13, true);
    qrun_node_info ni;
    for (int k = 0; k < 2; k++) {
        qrun_model_node_info(r.after, k, &ni);
        assert_int_equal(ni.n_inputs, 2); /* axes is an input from 13 */
        assert_int_equal(ni.opset, 13);
    }
    up_done(&r);
}

static void test_reduce_axes(void **state) {
    (void)state;
    static const int64_t d[3] = {2, 3, 4}, ax[1] = {1}, ax2[1] = {1};
    gbuild *b = one_input(11, 3, d);
    Onnx__NodeProto *n = gb_node(b, "ReduceSum", "rsum", "X", "S");
    gb_attr_ints(b, n, "axes", 1, ax);
    gb_attr_int(b, n, "keepdims", 0);
    gb_attr_ints(b, gb_node(b, "ReduceMean", "rmean", "S", "Y"), "axes", 1, ax2);
    gb_output(b, "Y");
    up_run r;
    up_check(&r, b, 18, true);
    qrun_node_info ni;
    qrun_model_node_info(r.after, 1, &ni);
    assert_string_equal(ni.op_type, "ReduceMean");
    assert_int_equal(ni.n_inputs, 2);
    up_done(&r);
}

static void test_clip_attrs(void **state) {
    (void)state;
    static const int64_t d[2] = {2, 3};
    gbuild *b = one_input(6, 2, d);
    Onnx__NodeProto *n = gb_node(b, "Clip", "clip", "X", "Y");
    gb_attr_float(b, n, "min", -0.5f);
    gb_attr_float(b, n, "max", 0.7f);
    gb_output(b, "Y");
    up_run r;
    up_check(&r, b, 13, true);
    assert_int_equal(only_node(&r).n_inputs, 3);
    up_done(&r);
}

static void test_pad_attrs(void **state) {
    (void)state;
    static const int64_t d[2] = {2, 3}, pads[4] = {0, 1, 1, 0};
    gbuild *b = one_input(2, 2, d);
    Onnx__NodeProto *n = gb_node(b, "Pad", "pad", "X", "Y");
    gb_attr_ints(b, n, "pads", 4, pads);
    gb_attr_float(b, n, "value", 0.25f);
    gb_output(b, "Y");
    up_run r;
    up_check(&r, b, 19, true);
    assert_int_equal(only_node(&r).n_inputs, 3);
    up_done(&r);
}

static void test_softmax_last_axis(void **state) {
    (void)state;
    static const int64_t d[2] = {2, 5};
    gbuild *b = one_input(11, 2, d);
    gb_node(b, "Softmax", "sm", "X", "S"); /* default axis 1 = last for rank 2 */
    gb_attr_int(b, gb_node(b, "LogSoftmax", "lsm", "S", "Y"), "axis", -1);
    gb_output(b, "Y");
    up_run r;
    up_check(&r, b, 13, true);
    up_done(&r);
}

/* Axis 1 of [2, 5, 1, 1]: the flattened tail is the channel alone, so opset 13 means the same. */
static void test_softmax_unit_tail(void **state) {
    (void)state;
    static const int64_t d[4] = {2, 5, 1, 1};
    gbuild *b = one_input(9, 4, d);
    gb_node(b, "Softmax", "sm", "X", "Y");
    gb_output(b, "Y");
    up_run r;
    up_check(&r, b, 13, true);
    up_done(&r);
}

/* Refused with the reason, for an inner axis and for a tail whose size is symbolic. */
static void expect_softmax_refused(const int64_t *d, int rank, const char *needle) {
    gbuild *b = one_input(11, rank, d);
    gb_attr_int(b, gb_node(b, "Softmax", "sm_inner", "X", "Y"), "axis", 1);
    gb_output(b, "Y");
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    size_t n = 0;
    uint8_t *buf = gb_pack(b, &n);
    gb_free(b);
    qrun_model *m = NULL;
    assert_int_equal(qrun_model_load_bytes(ctx, buf, n, NULL, &m), QRUN_OK);
    free(buf);
    char path[PATH_MAX];
    save_path(path, sizeof path);
    assert_int_equal(qrun_model_save_opset(ctx, m, path, 13), QRUN_E_UNSUPPORTED);
    const char *msg = qrun_context_errmsg(ctx);
    assert_non_null(strstr(msg, "sm_inner"));
    assert_non_null(strstr(msg, "Softmax"));
    if (!strstr(msg, needle))
        fail_msg("'%s' lacks '%s'", msg, needle);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

static void test_softmax_inner_axis_refused(void **state) {
    (void)state;
    static const int64_t inner[3] = {2, 3, 4}, symbolic[3] = {2, 3, -1};
    expect_softmax_refused(inner, 3, "axis 1 of a rank-3 input");
    expect_softmax_refused(symbolic, 3, "dimension 2 is not known");
}

static void test_split(void **state) {
    (void)state;
    static const int64_t d[2] = {2, 6}, split[2] = {2, 4};
    gbuild *b = one_input(11, 2, d);
    Onnx__NodeProto *n = gb_node(b, "Split", "sp", "X", "A B");
    gb_attr_ints(b, n, "split", 2, split);
    gb_attr_int(b, n, "axis", 1);
    gb_attr_int(b, gb_node(b, "Split", "sp_even", "B", "C D"), "axis", 1);
    gb_output(b, "A");
    gb_output(b, "C");
    gb_output(b, "D");
    up_run r;
    up_check(&r, b, 18, true);
    qrun_node_info ni;
    qrun_model_node_info(r.after, 0, &ni);
    assert_int_equal(ni.n_inputs, 2); /* split became an input at 13 */
    up_done(&r);
}

static void test_slice_attrs(void **state) {
    (void)state;
    static const int64_t d[2] = {3, 4}, st[2] = {0, 1}, en[2] = {2, 3}, ax[2] = {0, 1};
    gbuild *b = one_input(9, 2, d);
    Onnx__NodeProto *n = gb_node(b, "Slice", "sl", "X", "Y");
    gb_attr_ints(b, n, "starts", 2, st);
    gb_attr_ints(b, n, "ends", 2, en);
    gb_attr_ints(b, n, "axes", 2, ax);
    gb_output(b, "Y");
    up_run r;
    up_check(&r, b, 13, true);
    assert_int_equal(only_node(&r).n_inputs, 4);
    up_done(&r);
}

static void test_dropout_and_bn(void **state) {
    (void)state;
    static const int64_t d[4] = {1, 2, 2, 2}, c[1] = {2};
    static const float scale[2] = {1.5f, -0.5f}, bias[2] = {0.1f, 0.2f}, mean[2] = {0.3f, -0.1f},
                       var[2] = {2.0f, 0.5f};
    gbuild *b = one_input(7, 4, d);
    gb_init(b, "scale", F32, 1, c, scale, sizeof scale);
    gb_init(b, "bias", F32, 1, c, bias, sizeof bias);
    gb_init(b, "mean", F32, 1, c, mean, sizeof mean);
    gb_init(b, "var", F32, 1, c, var, sizeof var);
    gb_attr_float(b, gb_node(b, "Dropout", "drop", "X", "D"), "ratio", 0.3f);
    Onnx__NodeProto *n = gb_node(b, "BatchNormalization", "bn", "D scale bias mean var", "Y");
    gb_attr_int(b, n, "spatial", 1);
    gb_attr_float(b, n, "epsilon", 1e-3f);
    gb_output(b, "Y");
    up_run r;
    up_check(&r, b, 15, true);
    qrun_node_info ni;
    qrun_model_node_info(r.after, 0, &ni);
    assert_string_equal(ni.op_type, "Dropout");
    assert_int_equal(ni.n_inputs, 2); /* ratio became an input at 12 */
    up_done(&r);
}

/* Upsample-9 (nearest) becomes Resize (asymmetric, floor): each pixel repeated 2x2. */
static void test_upsample_to_resize(void **state) {
    (void)state;
    static const int64_t d[4] = {1, 1, 2, 2}, sd[1] = {4};
    static const float scales[4] = {1, 1, 2, 2};
    gbuild *b = one_input(9, 4, d);
    gb_init(b, "scales", F32, 1, sd, scales, sizeof scales);
    gb_attr_string(b, gb_node(b, "Upsample", "up", "X scales", "Y"), "mode", "nearest");
    gb_output(b, "Y");
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    size_t n = 0;
    uint8_t *buf = gb_pack(b, &n);
    gb_free(b);
    char path[PATH_MAX];
    save_path(path, sizeof path);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    fclose(f);
    free(buf);
    qrun_model *m = NULL, *after = NULL;
    if (qrun_model_inspect(ctx, path, &m) || qrun_model_save_opset(ctx, m, path, 13) ||
        qrun_model_load(ctx, path, &after))
        fail_msg("%s", qrun_context_errmsg(ctx));
    unlink(path);
    qrun_node_info ni;
    qrun_model_node_info(after, 0, &ni);
    assert_string_equal(ni.op_type, "Resize");
    qrun_tensor *x = NULL, *y = NULL;
    assert_int_equal(qrun_tensor_create(ctx, QRUN_DTYPE_FLOAT, 4, d, "X", &x), QRUN_OK);
    for (int k = 0; k < 4; k++)
        qrun_tensor_set_f64(x, k, k + 1);
    mr_run_once(ctx, after, &x, 1, &y, 1);
    static const float want[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    assert_int_equal(qrun_tensor_numel(y), 16);
    assert_memory_equal(qrun_tensor_data_const(y), want, sizeof want);
    qrun_tensor_free(x);
    qrun_tensor_free(y);
    qrun_model_free(m);
    qrun_model_free(after);
    qrun_context_free(ctx);
}

/* ---- Q/DQ nodes a pass adds at a newer opset ------------------------------ */

/* One DequantizeLinear of x (dtype xt) with a scale of n elements, at opset 21. */
static int add_dq(qrun_graph *g, const char *name, qrun_dtype xt, int64_t n, bool axis_attr) {
    static const uint8_t zeros[64] = {0};
    static const float ones[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    int64_t dx[1] = {n}, ds[1] = {n};
    int ins[2] = {qrun_graph_add_constant(g, "x", xt, 1, dx, zeros),
                  qrun_graph_add_constant(g, "s", QRUN_DTYPE_FLOAT, n > 1 ? 1 : 0, ds, ones)};
    int out = qrun_graph_add_unique_value(g, "y", QRUN_VALUE_INTERMEDIATE);
    int k = qrun_graph_add_op_node(g, name, QRUN_OP_DEQUANTIZE_LINEAR, 21, 2, ins, 1, &out);
    assert_true(k >= 0);
    if (axis_attr)
        assert_int_equal(qrun_node_add_attr_int(g, k, "axis", 0), QRUN_OK);
    return k;
}

/* Each Q/DQ node goes to the lowest opset that has what it uses, never below the model's. */
static void test_qdq_settle(void **state) {
    (void)state;
    qrun_graph *g = NULL;
    assert_int_equal(qrun_graph_create(NULL, &g), QRUN_OK);
    g->opsets = calloc(1, sizeof *g->opsets);
    g->opsets[0].domain = strdup("");
    g->opsets[0].version = 11;
    g->n_opsets = 1;
    int per_tensor = add_dq(g, "per_tensor", QRUN_DTYPE_INT8, 1, false);
    int per_axis = add_dq(g, "per_axis", QRUN_DTYPE_INT8, 4, true);
    int fp8 = add_dq(g, "fp8", QRUN_DTYPE_FLOAT8E4M3FN, 1, false);
    int int4 = add_dq(g, "int4", QRUN_DTYPE_INT4, 4, true);
    assert_int_equal(onnx_graph_needed_opset(g), 21);
    onnx_qdq_settle_opsets(g);
    assert_int_equal(g->nodes[per_tensor].opset, 11); /* DequantizeLinear-10 suffices */
    assert_int_equal(g->nodes[per_axis].opset, 13);
    assert_int_equal(g->nodes[fp8].opset, 19);
    assert_int_equal(g->nodes[int4].opset, 21);
    assert_int_equal(onnx_graph_needed_opset(g), 21);
    qrun_err err = {0};
    assert_int_equal(onnx_opset_upgrade(g, 21, NULL, 0, &err), QRUN_OK);
    for (int k = 0; k < g->n_nodes; k++)
        assert_int_equal(g->nodes[k].opset, 21);
    assert_int_equal(qrun_graph_opset(g, ""), 21);
    qrun_graph_free(g);
}

/* ---- the fp32 models of ../shared at opsets 13 and 19 ------------------- */

static void real_model(const char *file, const char *input_pb, int64_t to) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", MODELS, file);
    struct stat sst;
    if (stat(p, &sst) != 0)
        skip();
    up_run r;
    memset(&r, 0, sizeof r);
    assert_int_equal(qrun_context_create(NULL, &r.ctx), QRUN_OK);
    if (qrun_model_load(r.ctx, p, &r.before))
        fail_msg("%s", qrun_context_errmsg(r.ctx));
    snprintf(p, sizeof p, "%s/%s", MODELS, input_pb);
    if (qrun_tensor_load_file(r.ctx, p, &r.in[0]))
        fail_msg("%s", qrun_context_errmsg(r.ctx));
    char out[PATH_MAX];
    save_path(out, sizeof out);
    if (qrun_model_save_opset(r.ctx, r.before, out, to) || qrun_model_load(r.ctx, out, &r.after))
        fail_msg("%s", qrun_context_errmsg(r.ctx));
    unlink(out);
    mr_run_once(r.ctx, r.before, r.in, 1, r.out_before, 1);
    mr_run_once(r.ctx, r.after, r.in, 1, r.out_after, 1);
    assert_memory_equal(qrun_tensor_data_const(r.out_before[0]),
                        qrun_tensor_data_const(r.out_after[0]),
                        qrun_tensor_nbytes(r.out_before[0]));
    for (int k = 0; k < qrun_model_node_count(r.after); k++) {
        qrun_node_info ni;
        qrun_model_node_info(r.after, k, &ni);
        assert_int_equal(ni.opset, to);
    }
    up_done(&r);
}

static void test_fp32_models(void **state) {
    (void)state;
    for (int64_t to = 13; to <= 19; to += 6) {
        real_model("fp32/mnist-8/model.onnx",
                   "refs/fp32__mnist-8__model/test_data_set_0/input_0.pb", to);
        real_model("fp32/mlperftiny_ic_resnet8_fp32.onnx",
                   "refs/fp32__mlperftiny_ic_resnet8_fp32/test_data_set_0/input_0.pb", to);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_squeeze_unsqueeze_axes),
        cmocka_unit_test(test_reduce_axes),
        cmocka_unit_test(test_clip_attrs),
        cmocka_unit_test(test_pad_attrs),
        cmocka_unit_test(test_softmax_last_axis),
        cmocka_unit_test(test_softmax_unit_tail),
        cmocka_unit_test(test_softmax_inner_axis_refused),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_slice_attrs),
        cmocka_unit_test(test_dropout_and_bn),
        cmocka_unit_test(test_upsample_to_resize),
        cmocka_unit_test(test_qdq_settle),
        cmocka_unit_test(test_fp32_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
