/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ORT QOperator models in ../shared/models/int8/qoperator (QLinearConv,
 * QLinearMatMul and the com.microsoft QLinearAdd / QLinearGlobalAveragePool)
 * against ONNX Runtime 1.30's outputs in refs/. The outputs are float after a
 * final DequantizeLinear, so differences are counted in that DQ's steps:
 * acceptance is at most 2 steps anywhere and at most 1 % of elements more
 * than 1 step off.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "onnx/onnx_loader.h"
#include "qrun/qrun.h"
#include "runtime/ir.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define MODELS QRUN_SHARED_DIR "/models"

static bool have_corpus(void) {
    struct stat st;
    return stat(MODELS "/MANIFEST.md", &st) == 0;
}

/* Scale of the DequantizeLinear that produces graph output 0 (the output's step). */
static double output_step(const char *model) {
    qrun_graph *g = NULL;
    qrun_err err = {{0}};
    if (onnx_load_file(model, NULL, &g, &err) != QRUN_OK)
        fail_msg("%s", err.msg);
    int out = g->outputs[0];
    double step = -1.0;
    for (int k = 0; k < g->n_nodes; k++) {
        const qrun_node *n = &g->nodes[k];
        if (n->n_outputs < 1 || n->outputs[0] != out)
            continue;
        assert_string_equal(n->op_type, "DequantizeLinear");
        const qrun_value *s = &g->values[n->inputs[1]];
        assert_int_equal(s->kind, QRUN_VALUE_CONSTANT);
        assert_int_equal(s->info.dtype, QRUN_DTYPE_FLOAT);
        step = *(const float *)s->info.data;
    }
    qrun_graph_free(g);
    assert_true(step > 0.0);
    return step;
}

static void check_model(const char *name) {
    if (!have_corpus())
        skip();
    char model[PATH_MAX], dir[PATH_MAX], p[PATH_MAX];
    snprintf(model, sizeof model, MODELS "/int8/qoperator/%s.onnx", name);
    snprintf(dir, sizeof dir, MODELS "/refs/int8__qoperator__%s/test_data_set_0", name);
    double step = output_step(model);

    qrun_context *ctx = NULL;
    qrun_model *m = NULL;
    qrun_session *sess = NULL;
    qrun_tensor *in = NULL, *want = NULL, *got = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    if (qrun_model_load(ctx, model, &m) || qrun_session_create(ctx, m, NULL, &sess))
        fail_msg("%s", qrun_context_errmsg(ctx));
    snprintf(p, sizeof p, "%s/input_0.pb", dir);
    if (qrun_tensor_load_file(ctx, p, &in))
        fail_msg("%s", qrun_context_errmsg(ctx));
    snprintf(p, sizeof p, "%s/output_0.pb", dir);
    if (qrun_tensor_load_file(ctx, p, &want))
        fail_msg("%s", qrun_context_errmsg(ctx));
    if (qrun_session_run(sess, (const qrun_tensor *const *)&in, 1, &got, 1))
        fail_msg("%s", qrun_context_errmsg(ctx));

    int64_t n = qrun_tensor_numel(want), over1 = 0;
    assert_int_equal(qrun_tensor_numel(got), n);
    double max_steps = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs(qrun_tensor_get_f64(got, i) - qrun_tensor_get_f64(want, i)) / step;
        max_steps = d > max_steps ? d : max_steps;
        /* A small tolerance: both sides are k * step rounded to float32. */
        over1 += d > 1.0 + 1e-3;
    }
    double frac = (double)over1 / (double)n;
    printf("%s: %lld outputs, step %g: max diff %.3f steps, %lld (%.2f %%) > 1 step\n", name,
           (long long)n, step, max_steps, (long long)over1, 100.0 * frac);
    assert_true(max_steps <= 2.0 + 1e-3);
    assert_true(frac <= 0.01);

    qrun_tensor_free(in);
    qrun_tensor_free(want);
    qrun_tensor_free(got);
    qrun_session_free(sess);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

static void test_ic_quantized_int8(void **state) {
    (void)state;
    check_model("ic_quantized_int8");
}

static void test_ks_quantized_int8(void **state) {
    (void)state;
    check_model("ks_quantized_int8");
}

static void test_mobilenetv2_12_int8(void **state) {
    (void)state;
    check_model("mobilenetv2-12-int8");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ic_quantized_int8),
        cmocka_unit_test(test_ks_quantized_int8),
        cmocka_unit_test(test_mobilenetv2_12_int8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
