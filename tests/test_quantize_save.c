/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Quantized models written as ONNX: ResNet-8 (opset 11) calibrated on CIFAR
 * samples and saved gives a standard QDQ file (opset 13 for int8 with
 * per-channel DequantizeLinear, 19 for FP8) that qrun reloads to outputs
 * bit-identical to the model it quantized in memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "onnx/onnx_loader.h"
#include "qrun/qrun.h"
#include "tests/support/datasets.h"
#include "tests/support/model_runner.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MODELS QRUN_SHARED_DIR "/models"
#define RESNET8 MODELS "/fp32/mlperftiny_ic_resnet8_fp32.onnx"
#define N_CALIB 20
#define N_EVAL 40

/* The saved file at the IR level: opset, producer, per-channel weights. */
static void check_file(const char *path, int64_t want_opset, int64_t min_ir) {
    qrun_err err = {0};
    qrun_graph *g = NULL;
    if (onnx_load_file(path, NULL, &g, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(qrun_graph_opset(g, ""), want_opset);
    assert_true(g->ir_version >= min_ir);
    assert_string_equal(g->producer_name, "qrun");
    int dq = 0, per_axis = 0, q = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        const qrun_node *n = &g->nodes[k];
        assert_int_equal(n->domain[0], '\0'); /* standard ops only: no com.microsoft */
        q += n->op == QRUN_OP_QUANTIZE_LINEAR;
        if (n->op != QRUN_OP_DEQUANTIZE_LINEAR)
            continue;
        dq++;
        const qrun_value *s = &g->values[n->inputs[1]];
        per_axis += s->info.rank == 1 && s->info.dims[0] > 1;
    }
    assert_true(q > 0 && dq > q);
    assert_true(per_axis >= 9); /* the nine Conv weights at least */
    qrun_graph_free(g);
}

static void quantize_save_reload(const char *dtype, int64_t want_opset, int64_t min_ir) {
    ds_set d;
    if (!ds_load_cifar(MODELS "/data/eembc-ic01-cifar10", &d))
        skip();
    qrun_context *ctx = NULL;
    qrun_model *m = NULL, *q = NULL, *back = NULL;
    qrun_calibrator *cal = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    qrun_quant_options o;
    qrun_quant_options_init(&o);
    o.dtype = dtype;
    if (qrun_model_load(ctx, RESNET8, &m) || qrun_calibrator_create(ctx, m, &o, &cal))
        fail_msg("%s", qrun_context_errmsg(ctx));
    for (int i = 0; i < N_CALIB; i++) {
        qrun_tensor *x = mr_sample_tensor(ctx, &d, i);
        assert_int_equal(qrun_calibrator_add_sample(cal, (const qrun_tensor *const *)&x, 1),
                         QRUN_OK);
        qrun_tensor_free(x);
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "/tmp/qrun_quantize_save_%ld.onnx", (long)getpid());
    if (qrun_quantize_model(cal, &q) || qrun_model_save(ctx, q, path) ||
        qrun_model_load(ctx, path, &back))
        fail_msg("%s", qrun_context_errmsg(ctx));
    check_file(path, want_opset, min_ir);
    unlink(path);
    qrun_session *sq = NULL, *sb = NULL;
    assert_int_equal(qrun_session_create(ctx, q, NULL, &sq), QRUN_OK);
    assert_int_equal(qrun_session_create(ctx, back, NULL, &sb), QRUN_OK);
    for (int i = 0; i < N_EVAL; i++) {
        qrun_tensor *x = mr_sample_tensor(ctx, &d, N_CALIB + i), *yq = NULL, *yb = NULL;
        assert_int_equal(qrun_session_run(sq, (const qrun_tensor *const *)&x, 1, &yq, 1), QRUN_OK);
        assert_int_equal(qrun_session_run(sb, (const qrun_tensor *const *)&x, 1, &yb, 1), QRUN_OK);
        assert_memory_equal(qrun_tensor_data_const(yq), qrun_tensor_data_const(yb),
                            qrun_tensor_nbytes(yq));
        qrun_tensor_free(x);
        qrun_tensor_free(yq);
        qrun_tensor_free(yb);
    }
    qrun_session_free(sq);
    qrun_session_free(sb);
    qrun_model_free(back);
    qrun_model_free(q);
    qrun_calibrator_free(cal);
    qrun_model_free(m);
    qrun_context_free(ctx);
    ds_free(&d);
}

static void test_int8(void **state) {
    (void)state;
    quantize_save_reload("int8", 13, 7);
}

static void test_uint8(void **state) {
    (void)state;
    quantize_save_reload("uint8", 13, 7);
}

static void test_fp8e4m3(void **state) {
    (void)state;
    quantize_save_reload("fp8e4m3", 19, 9);
}

/* fp8e3m4 has no ONNX type: saving names the format. */
static void test_fp8e3m4_refused(void **state) {
    (void)state;
    ds_set d;
    if (!ds_load_cifar(MODELS "/data/eembc-ic01-cifar10", &d))
        skip();
    qrun_context *ctx = NULL;
    qrun_model *m = NULL, *q = NULL;
    qrun_calibrator *cal = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    qrun_quant_options o;
    qrun_quant_options_init(&o);
    o.dtype = "fp8e3m4";
    assert_int_equal(qrun_model_load(ctx, RESNET8, &m), QRUN_OK);
    assert_int_equal(qrun_calibrator_create(ctx, m, &o, &cal), QRUN_OK);
    qrun_tensor *x = mr_sample_tensor(ctx, &d, 0);
    assert_int_equal(qrun_calibrator_add_sample(cal, (const qrun_tensor *const *)&x, 1), QRUN_OK);
    qrun_tensor_free(x);
    assert_int_equal(qrun_quantize_model(cal, &q), QRUN_OK);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "/tmp/qrun_quantize_e3m4_%ld.onnx", (long)getpid());
    assert_int_equal(qrun_model_save(ctx, q, path), QRUN_E_UNSUPPORTED);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "fp8e3m4"));
    struct stat st;
    assert_int_not_equal(stat(path, &st), 0); /* nothing written */
    qrun_model_free(q);
    qrun_calibrator_free(cal);
    qrun_model_free(m);
    qrun_context_free(ctx);
    ds_free(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int8),
        cmocka_unit_test(test_uint8),
        cmocka_unit_test(test_fp8e4m3),
        cmocka_unit_test(test_fp8e3m4_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
