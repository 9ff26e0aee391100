/* SPDX-License-Identifier: Apache-2.0 */
/* Real FP32 models from ../shared/models: reference outputs, zoo test sets and dataset top-1 vs
 * ONNX Runtime. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "qrun/qrun.h"
#include "tests/support/datasets.h"
#include "tests/support/model_runner.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODELS QRUN_SHARED_DIR "/models"

/* Run a one-input, one-output model on dir's input_0.pb and compare with its output_0.pb. */
static void check_data_set(mr_model *f, const char *dir, double rtol, double atol) {
    qrun_tensor *in = NULL, *want = NULL;
    mr_load_data_set(f->ctx, dir, &in, &want);
    qrun_tensor *out = mr_run1(f, in);
    mr_expect_close(out, want, rtol, atol, dir);
    qrun_tensor_free(in);
    qrun_tensor_free(want);
    qrun_tensor_free(out);
}

static void test_mnist8_zoo_sets(void **state) {
    (void)state;
    mr_model f = {0};
    mr_open(&f, MODELS "/fp32/mnist-8/model.onnx", NULL);
    check_data_set(&f, MODELS "/fp32/mnist-8/test_data_set_0", 1e-3, 1e-4);
    check_data_set(&f, MODELS "/fp32/mnist-8/test_data_set_1", 1e-3, 1e-4);
    check_data_set(&f, MODELS "/fp32/mnist-8/test_data_set_2", 1e-3, 1e-4);
    check_data_set(&f, MODELS "/refs/fp32__mnist-8__model/test_data_set_0", 1e-3, 1e-4);
    mr_close(&f);
}

static void test_resnet8_ref(void **state) {
    (void)state;
    mr_model f = {0};
    mr_open(&f, MODELS "/fp32/mlperftiny_ic_resnet8_fp32.onnx", NULL);
    check_data_set(&f, MODELS "/refs/fp32__mlperftiny_ic_resnet8_fp32/test_data_set_0", 1e-3, 1e-4);
    mr_close(&f);
}

/* Inception v1 (light: weights made by ConstantOfShape) has two LRN nodes. Its reference output
 * (ONNX reference evaluator) comes from an input not shipped with it; with constant weights every
 * class gets the same logit, so any finite input must give the same softmax. This checks that the
 * whole graph, LRN included, loads, plans and runs to that output; the LRN numerics themselves are
 * checked by test_ops_nn and the backend cases test_lrn / test_lrn_default. */
static void test_light_inception_v1(void **state) {
    (void)state;
    mr_model f = {0};
    mr_open(&f, MODELS "/light/light_inception_v1.onnx", NULL);
    qrun_tensor *in = NULL;
    assert_int_equal(
        qrun_tensor_create(f.ctx, QRUN_DTYPE_FLOAT, 4, (int64_t[]){1, 3, 224, 224}, NULL, &in),
        QRUN_OK);
    for (int64_t i = 0; i < qrun_tensor_numel(in); i++)
        qrun_tensor_set_f64(in, i, sin(0.001 * (double)i));
    const char *want_path = MODELS "/light/light_inception_v1_output_0.pb";
    qrun_tensor *want = mr_load_tensor(f.ctx, want_path);
    qrun_tensor *out = mr_run1(&f, in);
    mr_expect_close(out, want, 1e-3, 1e-6, want_path);
    qrun_tensor_free(in);
    qrun_tensor_free(want);
    qrun_tensor_free(out);
    mr_close(&f);
}

/* mnist-8 on all 10,000 MNIST test images, pixels as floats 0..255: ORT gets 99.33 %. */
static void test_mnist8_accuracy(void **state) {
    (void)state;
    if (!ds_dataset_runs_enabled())
        skip();
    mr_model f = {0};
    mr_open(&f, MODELS "/fp32/mnist-8/model.onnx", NULL);
    ds_set d;
    assert_true(ds_load_mnist(MODELS "/data/mnist-t10k", &d));
    assert_int_equal(d.n, 10000);
    ds_preproc pp;
    ds_preproc_init(&pp);
    int correct = 0, agree = 0;
    mr_count_top1(&f, &d, &pp, NULL, &correct, &agree);
    print_message("mnist-8 top-1 on 10000 MNIST test images: %.2f %% (ONNX Runtime: 99.33 %%)\n",
                  correct / 100.0);
    assert_int_equal(correct, 9933);
    ds_free(&d);
    mr_close(&f);
}

/* ResNet-8 on the 200 EEMBC CIFAR-10 images (HWC uint8 -> CHW float 0..255): same argmax as ORT for
 * every sample. */
static void test_resnet8_cifar(void **state) {
    (void)state;
    mr_model f = {0};
    mr_open(&f, MODELS "/fp32/mlperftiny_ic_resnet8_fp32.onnx", NULL);
    ds_set d;
    assert_true(ds_load_cifar(MODELS "/data/eembc-ic01-cifar10", &d));
    int np = 0;
    int *ort = ds_read_predictions(MODELS "/refs/fp32__mlperftiny_ic_resnet8_fp32/predictions.csv",
                                   &d, &np);
    assert_non_null(ort);
    assert_int_equal(np, d.n);
    ds_preproc pp;
    ds_preproc_init(&pp);
    pp.chw = true;
    int correct = 0, agree = 0;
    mr_count_top1(&f, &d, &pp, ort, &correct, &agree);
    print_message("ResNet-8 top-1 on %d CIFAR-10 images: %.2f %% (ONNX Runtime: 85.50 %%), "
                  "agreement with ORT %d/%d\n",
                  d.n, 100.0 * correct / d.n, agree, d.n);
    assert_int_equal(d.n, 200);
    assert_int_equal(correct, 171);
    assert_int_equal(agree, 200);
    free(ort);
    ds_free(&d);
    mr_close(&f);
}

/* Profile records of a real int8 model: one per node, folded constants marked, and the
 * measured per-node MACs agree with the static analysis node by node. */
static void test_mobilenetv2_int8_profile(void **state) {
    (void)state;
    if (!mr_have_corpus())
        skip();
    mr_model f = {0};
    f.model = mr_load_model(&f.ctx, MODELS "/int8/qoperator/mobilenetv2-12-int8.onnx", NULL);
    qrun_session_options so;
    qrun_session_options_init(&so);
    so.profile = true;
    if (qrun_session_create(f.ctx, f.model, &so, &f.sess))
        fail_msg("%s", qrun_context_errmsg(f.ctx));
    qrun_tensor *in =
        mr_load_tensor(f.ctx, MODELS "/refs/int8__qoperator__mobilenetv2-12-int8/test_data_set_0/"
                                     "input_0.pb");
    qrun_tensor *out = mr_run1(&f, in);
    int n_nodes = qrun_model_node_count(f.model);
    qrun_node_analysis *an = calloc((size_t)n_nodes, sizeof *an);
    assert_non_null(an);
    assert_int_equal(qrun_model_analyze(f.ctx, f.model, an), QRUN_OK);
    const qrun_node_profile *rec = NULL;
    assert_int_equal(qrun_session_profile(f.sess, &rec), n_nodes);
    int executed = 0, convs = 0;
    int64_t macs = 0;
    for (int k = 0; k < n_nodes; k++) {
        if (!rec[k].executed) {
            assert_string_equal(rec[k].backend, "folded");
            continue;
        }
        executed++;
        assert_string_equal(rec[k].backend, "cpu_ref");
        if (rec[k].macs != an[k].macs)
            fail_msg("%s: profile MACs %lld, analysis %lld", rec[k].name, (long long)rec[k].macs,
                     (long long)an[k].macs);
        macs += rec[k].macs;
        assert_true(rec[k].bytes > 0);
        assert_non_null(strstr(rec[k].shapes, " -> "));
        if (strcmp(rec[k].op_type, "QLinearConv") == 0) {
            convs++;
            assert_string_equal(rec[k].in_dtype, "uint8");
            assert_string_equal(rec[k].out_dtype, "uint8");
        }
    }
    assert_true(executed >= 50 && executed < n_nodes); /* the Reshape's shape input is folded */
    assert_int_equal(convs, 52);
    assert_int_equal(macs, 300774272); /* qrun info's total */
    free(an);
    qrun_tensor_free(in);
    qrun_tensor_free(out);
    mr_close(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mnist8_zoo_sets),    cmocka_unit_test(test_resnet8_ref),
        cmocka_unit_test(test_light_inception_v1), cmocka_unit_test(test_mnist8_accuracy),
        cmocka_unit_test(test_resnet8_cifar),      cmocka_unit_test(test_mobilenetv2_int8_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
