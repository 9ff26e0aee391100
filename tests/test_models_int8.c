/* SPDX-License-Identifier: Apache-2.0 */
/* Every pre-quantized INT8 model in ../shared/models/int8 (QDQ, QOperator, integer ops) against
 * ONNX Runtime: the reference output in quantization steps, and top-1 on the corpus datasets with
 * the preprocessing MANIFEST.md gives for each model. */
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
#define DATA MODELS "/data"

/* threads: kernel threads (0 = all cores). */
static void open_model(mr_model *f, const char *path, int threads) {
    qrun_options o;
    qrun_options_init(&o);
    o.n_threads = threads;
    mr_open(f, path, &o);
}

/* ---- reference output, in quantization steps ---------------------------- */

/*
 * Run refs/<ref>/test_data_set_0/input_0.pb and compare with output_0.pb in
 * steps of the output's DequantizeLinear (found in the model itself, see
 * ds_output_step): at most 2 steps anywhere and at most 1 % of the elements
 * more than 1 step off (ties of a requantization can round the other way).
 */
static void check_ref_steps(const char *model, const char *ref) {
    double step = 0;
    bool softmax = false;
    mr_model f = {0};
    open_model(&f, model, 0);
    if (!ds_output_step(model, 0, &step, &softmax))
        fail_msg("%s: output 0 does not come from a per-tensor DequantizeLinear", model);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, MODELS "/refs/%s/test_data_set_0", ref);
    qrun_tensor *in = NULL, *want = NULL;
    mr_load_data_set(f.ctx, dir, &in, &want);
    qrun_tensor *got = mr_run1(&f, in);
    int64_t n = qrun_tensor_numel(want);
    assert_int_equal(qrun_tensor_numel(got), n);
    assert_int_equal(qrun_tensor_dtype(got), QRUN_DTYPE_FLOAT);
    int64_t row = qrun_tensor_dims(want)[qrun_tensor_rank(want) - 1];
    ds_step_stats st;
    ds_compare_steps(qrun_tensor_data_const(got), qrun_tensor_data_const(want), n, row, step,
                     softmax, &st);
    print_message("%s: step %.6g%s; max %.3f steps (element %lld), %lld of %lld elements over 1 "
                  "step\n",
                  ref, step, softmax ? " (logits behind the Softmax)" : "", st.max_steps,
                  (long long)st.worst, (long long)st.over1, (long long)st.n);
    if (st.max_steps > 2.0 + 1e-3 || (double)st.over1 > 0.01 * (double)st.n)
        fail_msg("%s: element %lld off by %.3f steps (got %.8g, ORT %.8g); %lld over 1 step", ref,
                 (long long)st.worst, st.max_steps, qrun_tensor_get_f64(got, st.worst),
                 qrun_tensor_get_f64(want, st.worst), (long long)st.over1);
    qrun_tensor_free(in);
    qrun_tensor_free(want);
    qrun_tensor_free(got);
    mr_close(&f);
}

/* The step comparison itself, on made-up rows, so a broken helper cannot pass the tests above. */
static void test_compare_steps(void **state) {
    (void)state;
    const float want[4] = {0.5f, -1.0f, 2.0f, 0.0f};
    float got[4] = {0.5f, -1.5f, 2.0f, 0.0f};
    ds_step_stats st;
    ds_compare_steps(got, want, 4, 4, 0.5, false, &st);
    assert_int_equal(st.over1, 0);
    assert_true(fabs(st.max_steps - 1.0) < 1e-9);
    got[3] = 1.0f; /* 2 steps */
    ds_compare_steps(got, want, 4, 4, 0.5, false, &st);
    assert_int_equal(st.over1, 1);
    assert_int_equal(st.worst, 3);
    /* Through a softmax: the same logits shifted by a constant compare equal; one logit moved by
     * 2 steps shows up as 2 steps on that element only. */
    double z[4] = {1.0, 0.5, -0.25, 2.0}, sum = 0, sum2 = 0;
    float p[4], q[4];
    for (int i = 0; i < 4; i++) {
        sum += exp(z[i] + 3.0);
        sum2 += exp(z[i] + (i == 2 ? 0.5 : 0.0));
    }
    for (int i = 0; i < 4; i++) {
        p[i] = (float)(exp(z[i] + 3.0) / sum);
        q[i] = (float)(exp(z[i] + (i == 2 ? 0.5 : 0.0)) / sum2);
    }
    float r[4];
    for (int i = 0; i < 4; i++)
        r[i] = (float)(exp(z[i]) / (sum / exp(3.0)));
    ds_compare_steps(p, r, 4, 4, 0.25, true, &st);
    assert_int_equal(st.over1, 0);
    assert_true(st.max_steps < 1e-3);
    ds_compare_steps(q, r, 4, 4, 0.25, true, &st);
    assert_int_equal(st.over1, 1);
    assert_int_equal(st.worst, 2);
    assert_true(fabs(st.max_steps - 2.0) < 1e-3);
}

/* ---- top-1 on a dataset ----------------------------------------------------- */

typedef struct top1_case {
    const char *model;
    const char *ref; /* refs/<ref>/predictions.csv */
    const ds_set *data;
    const ds_preproc *pp;
    double ort_top1; /* MANIFEST.md figure */
    int threads;     /* kernel threads: 1 for the tiny models (threads cost more than they save) */
} top1_case;

/* Top-1 of the model on the whole dataset (mr_count_top1), against ORT's. */
static void check_top1(const top1_case *c) {
    mr_model f = {0};
    open_model(&f, c->model, c->threads);
    int n_ort = 0;
    int *ort = NULL;
    if (c->ref) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, MODELS "/refs/%s/predictions.csv", c->ref);
        ort = ds_read_predictions(p, c->data, &n_ort);
        assert_non_null(ort);
        assert_int_equal(n_ort, c->data->n);
    }
    int correct = 0, agree = 0, n = c->data->n;
    mr_count_top1(&f, c->data, c->pp, ort, &correct, &agree);
    double top1 = (double)correct / n;
    print_message("%s: top-1 %.4f on %d samples (ORT %.4f); same argmax as ORT on %d/%d\n", c->ref,
                  top1, n, c->ort_top1, agree, n);
    /* Within 0.5 percentage points of ONNX Runtime. */
    if (fabs(top1 - c->ort_top1) > 0.005 + 1e-9)
        fail_msg("%s: top-1 %.4f is more than 0.5 pt from ORT's %.4f", c->ref, top1, c->ort_top1);
    free(ort);
    mr_close(&f);
}

/* ---- datasets, loaded once --------------------------------------------------- */

static ds_set cifar, kws, mnist, imagenet;

static int load_sets(void **state) {
    (void)state;
    if (!mr_have_corpus())
        return 0; /* every test skips */
    bool ok = ds_load_cifar(DATA "/eembc-ic01-cifar10", &cifar) &&
              ds_load_kws(DATA "/eembc-kws01-speechcommands", &kws) &&
              ds_load_mnist(DATA "/mnist-t10k", &mnist) &&
              ds_load_imagenet40(DATA "/imagenet-sample40", &imagenet);
    if (!ok)
        return -1;
    return cifar.n == 200 && kws.n == 1000 && mnist.n == 10000 && imagenet.n == 40 ? 0 : -1;
}

static int free_sets(void **state) {
    (void)state;
    ds_free(&cifar);
    ds_free(&kws);
    ds_free(&mnist);
    ds_free(&imagenet);
    return 0;
}

/* The KWS features are int8-quantized MFCCs: float = (q - 83) * 0.5847029. */
static void kws_preproc(ds_preproc *p) {
    ds_preproc_init(p);
    p->sub = 83.0f;
    p->mul = 0.5847029f;
}

/* ---- QDQ ---------------------------------------------------------------------- */

#define QDQ MODELS "/int8/qdq/"
#define QOP MODELS "/int8/qoperator/"
#define INTEGER_MNIST MODELS "/int8/integer/mnist_convinteger_matmulinteger/model_quantized.onnx"

static void test_autoencoder_ref(void **state) {
    (void)state;
    check_ref_steps(QDQ "mlperftiny_ad_deep_autoencoder_qdq.onnx",
                    "int8__qdq__mlperftiny_ad_deep_autoencoder_qdq");
}

static void test_resnet8_qdq_ref(void **state) {
    (void)state;
    check_ref_steps(QDQ "mlperftiny_ic_resnet8_qdq.onnx", "int8__qdq__mlperftiny_ic_resnet8_qdq");
}

/* NHWC input, float pixels 0..255. */
static void test_resnet8_qdq_cifar(void **state) {
    (void)state;
    ds_preproc pp;
    ds_preproc_init(&pp);
    top1_case c = {QDQ "mlperftiny_ic_resnet8_qdq.onnx",
                   "int8__qdq__mlperftiny_ic_resnet8_qdq",
                   &cifar,
                   &pp,
                   0.8650,
                   1};
    check_top1(&c);
}

static void test_dscnn_qdq_ref(void **state) {
    (void)state;
    check_ref_steps(QDQ "mlperftiny_kws_dscnn_qdq.onnx", "int8__qdq__mlperftiny_kws_dscnn_qdq");
}

static void test_dscnn_qdq_kws(void **state) {
    (void)state;
    ds_preproc pp;
    kws_preproc(&pp);
    top1_case c = {QDQ "mlperftiny_kws_dscnn_qdq.onnx",
                   "int8__qdq__mlperftiny_kws_dscnn_qdq",
                   &kws,
                   &pp,
                   0.9020,
                   1};
    check_top1(&c);
}

/* ---- integer ops (ConvInteger / MatMulInteger) -------------------------------- */

/*
 * The output is float: Add(Mul(Cast(MatMulInteger(..)), sa * sb), bias) with
 * sa = sb = 0.05, so it has no DequantizeLinear step. The integer
 * accumulator is exact; what remains is float32 rounding of the scale
 * product, the Mul and the Add on values of magnitude < 100, i.e. a few ulp
 * (~1e-5). One accumulator unit is sa*sb = 0.0025: an intermediate
 * QuantizeLinear tie rounding the other way would move an output by a
 * multiple of that times a weight, far above 1e-4, so 1e-4 absolute also
 * checks that every requantization inside matches ORT.
 */
static void test_integer_mnist_ref(void **state) {
    (void)state;
    mr_model f = {0};
    open_model(&f, INTEGER_MNIST, 0);
    const char *dir = MODELS "/refs/int8__integer__mnist_convinteger_matmulinteger__model_quantized"
                             "/test_data_set_0";
    qrun_tensor *in = NULL, *want = NULL;
    mr_load_data_set(f.ctx, dir, &in, &want);
    qrun_tensor *got = mr_run1(&f, in);
    double worst = mr_expect_close(got, want, 0, 1e-4, dir);
    print_message("integer mnist: max |diff| %.3g vs ORT\n", worst);
    qrun_tensor_free(in);
    qrun_tensor_free(want);
    qrun_tensor_free(got);
    mr_close(&f);
}

/* pixels / 255 (the model was calibrated on [0, 1] inputs). */
static void test_integer_mnist_accuracy(void **state) {
    (void)state;
    if (!ds_dataset_runs_enabled())
        skip();
    ds_preproc pp;
    ds_preproc_init(&pp);
    pp.div = 255.0f;
    top1_case c = {INTEGER_MNIST, "int8__integer__mnist_convinteger_matmulinteger__model_quantized",
                   &mnist,        &pp,
                   0.9937,        1};
    check_top1(&c);
}

/* ---- QOperator (QLinearConv, com.microsoft QLinearAdd / QLinearGlobalAveragePool) ---- */

static void test_ic_qop_ref(void **state) {
    (void)state;
    check_ref_steps(QOP "ic_quantized_int8.onnx", "int8__qoperator__ic_quantized_int8");
}

/* Fixed batch 16 (the last of the 200 images padded), ImageNet mean/std, NCHW. */
static void test_ic_qop_cifar(void **state) {
    (void)state;
    ds_preproc pp;
    ds_preproc_imagenet(&pp);
    top1_case c = {
        QOP "ic_quantized_int8.onnx", "int8__qoperator__ic_quantized_int8", &cifar, &pp, 0.8250, 1};
    check_top1(&c);
}

static void test_ks_qop_ref(void **state) {
    (void)state;
    check_ref_steps(QOP "ks_quantized_int8.onnx", "int8__qoperator__ks_quantized_int8");
}

/* Input [1, 1, 49, 10]: the 49 x 10 MFCC frames as they are stored. */
static void test_ks_qop_kws(void **state) {
    (void)state;
    ds_preproc pp;
    kws_preproc(&pp);
    top1_case c = {
        QOP "ks_quantized_int8.onnx", "int8__qoperator__ks_quantized_int8", &kws, &pp, 0.8680, 1};
    check_top1(&c);
}

static void test_mobilenetv2_qop_ref(void **state) {
    (void)state;
    check_ref_steps(QOP "mobilenetv2-12-int8.onnx", "int8__qoperator__mobilenetv2-12-int8");
}

static void test_mobilenetv2_qop_imagenet(void **state) {
    (void)state;
    ds_preproc pp;
    ds_preproc_imagenet(&pp);
    top1_case c = {QOP "mobilenetv2-12-int8.onnx",
                   "int8__qoperator__mobilenetv2-12-int8",
                   &imagenet,
                   &pp,
                   0.9500,
                   0};
    check_top1(&c);
}

/* An optional argument selects tests by name (cmocka pattern, e.g. "*_ref"). */
int main(int argc, char **argv) {
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compare_steps),       cmocka_unit_test(test_autoencoder_ref),
        cmocka_unit_test(test_resnet8_qdq_ref),     cmocka_unit_test(test_resnet8_qdq_cifar),
        cmocka_unit_test(test_dscnn_qdq_ref),       cmocka_unit_test(test_dscnn_qdq_kws),
        cmocka_unit_test(test_integer_mnist_ref),   cmocka_unit_test(test_integer_mnist_accuracy),
        cmocka_unit_test(test_ic_qop_ref),          cmocka_unit_test(test_ic_qop_cifar),
        cmocka_unit_test(test_ks_qop_ref),          cmocka_unit_test(test_ks_qop_kws),
        cmocka_unit_test(test_mobilenetv2_qop_ref), cmocka_unit_test(test_mobilenetv2_qop_imagenet),
    };
    return cmocka_run_group_tests(tests, load_sets, free_sets);
}
