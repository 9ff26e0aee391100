/* SPDX-License-Identifier: Apache-2.0 */
/* qrun_compare_*: FP32 vs INT8/FP8 on ResNet-8 (CIFAR-10) and mnist-8 (MNIST): accuracy, output
 * and per-layer SQNR, saturation, layer coverage, and the errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "qrun/qrun.h"
#include "tests/support/datasets.h"
#include "tests/support/model_runner.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODELS QRUN_SHARED_DIR "/models"
#define RESNET8 MODELS "/fp32/mlperftiny_ic_resnet8_fp32.onnx"
#define MNIST8 MODELS "/fp32/mnist-8/model.onnx"
#define N_CALIB 50
#define ALL_DTYPES "int8,fp8e4m3,fp8e5m2,fp8e3m4"

/* Calibrate on samples [calib0, calib0 + N_CALIB) and evaluate on the first n_eval. */
static qrun_compare *
run_compare(qrun_context *ctx, const qrun_model *m, const ds_set *d, int calib0, int n_eval) {
    qrun_compare_options o;
    qrun_compare_options_init(&o);
    o.dtypes = ALL_DTYPES;
    qrun_compare *cmp = NULL;
    if (qrun_compare_create(ctx, m, &o, &cmp))
        fail_msg("%s", qrun_context_errmsg(ctx));
    for (int i = calib0; i < calib0 + N_CALIB; i++) {
        qrun_tensor *t = mr_sample_tensor(ctx, d, i);
        if (qrun_compare_add_calib(cmp, (const qrun_tensor *const *)&t, 1))
            fail_msg("%s", qrun_context_errmsg(ctx));
        qrun_tensor_free(t);
    }
    for (int i = 0; i < n_eval; i++) {
        qrun_tensor *t = mr_sample_tensor(ctx, d, i);
        if (qrun_compare_add_eval(cmp, (const qrun_tensor *const *)&t, 1, d->labels[i]))
            fail_msg("%s", qrun_context_errmsg(ctx));
        qrun_tensor_free(t);
    }
    return cmp;
}

static double mean_layer_sqnr(const qrun_compare *cmp, int i) {
    qrun_compare_result r;
    qrun_compare_get_result(cmp, i, &r);
    double sum = 0;
    int n = 0;
    for (int j = 0; j < r.n_layers; j++) {
        qrun_compare_layer l;
        assert_int_equal(qrun_compare_get_layer(cmp, i, j, &l), QRUN_OK);
        if (isfinite(l.sqnr_db)) {
            sum += l.sqnr_db;
            n++;
        }
    }
    assert_true(n > 0);
    return sum / n;
}

/* Every quantized activation of the format's model is a layer, observed on every sample. */
static void check_layers(const qrun_compare *cmp, int i, int samples) {
    const qrun_model *q = qrun_compare_model(cmp, i);
    assert_non_null(q);
    qrun_compare_result r;
    qrun_compare_get_result(cmp, i, &r);
    int n_act = 0;
    for (int k = 0; k < qrun_model_quant_tensor_count(q); k++) {
        qrun_quant_tensor_info info;
        assert_int_equal(qrun_model_quant_tensor(q, k, &info), QRUN_OK);
        if (info.is_constant)
            continue;
        bool found = false;
        for (int j = 0; j < r.n_layers && !found; j++) {
            qrun_compare_layer l;
            qrun_compare_get_layer(cmp, i, j, &l);
            if (strcmp(l.name, info.name) != 0)
                continue;
            found = true;
            if (l.count == 0 || l.count % samples != 0)
                fail_msg("%s: layer %s observed on %lld elements over %d samples", r.dtype, l.name,
                         (long long)l.count, samples);
            assert_false(isnan(l.sqnr_db));
            assert_true(l.saturated >= 0 && l.saturated <= l.count);
        }
        if (!found)
            fail_msg("%s: quantized tensor %s has no layer entry", r.dtype, info.name);
        n_act++;
    }
    assert_int_equal(n_act, r.n_layers);
    assert_true(r.n_layers >= 5);
}

/* Accuracy gates and robust orderings shared by both models. */
static void check_results(const qrun_compare *cmp, const char *what, int samples) {
    qrun_compare_fp32 fp;
    qrun_compare_get_fp32(cmp, &fp);
    assert_int_equal(fp.samples, samples);
    assert_int_equal(fp.labeled, samples);
    print_message("%s fp32: top-1 %.2f %%\n", what, 100 * fp.top1);
    assert_int_equal(qrun_compare_result_count(cmp), 4);
    double sqnr[4], layer_sqnr[4];
    for (int i = 0; i < 4; i++) {
        qrun_compare_result r;
        assert_int_equal(qrun_compare_get_result(cmp, i, &r), QRUN_OK);
        layer_sqnr[i] = mean_layer_sqnr(cmp, i);
        print_message("%s %-8s: top-1 %.2f %% (%+.2f pt), agree %.2f %%, SQNR %.2f dB, max err "
                      "%.4g, mean layer SQNR %.2f dB, %d layers\n",
                      what, r.dtype, 100 * r.top1, 100 * (r.top1 - fp.top1), 100 * r.agree_fp32,
                      r.sqnr_db, r.max_abs_err, layer_sqnr[i], r.n_layers);
        assert_int_equal(r.samples, samples);
        assert_true(isfinite(r.sqnr_db) && r.sqnr_db > 0);
        assert_true(isfinite(r.max_abs_err) && r.max_abs_err > 0);
        assert_true(r.agree_fp32 > 0.5 && r.agree_fp32 <= 1.0);
        assert_false(r.has_sim);
        sqnr[i] = r.sqnr_db;
        check_layers(cmp, i, samples);
        if (i < 2) /* int8 and fp8e4m3: within 1.5 points of FP32 */
            assert_true(r.top1 >= fp.top1 - 0.015);
    }
    /* Same scaling, fewer mantissa bits, more noise: e3m4 > e4m3 > e5m2, at the output and on
     * average over layers. */
    assert_true(sqnr[3] > sqnr[1] && sqnr[1] > sqnr[2]);
    assert_true(layer_sqnr[3] > layer_sqnr[1] && layer_sqnr[1] > layer_sqnr[2]);
}

/* Load model_path, compare every format on d (run_compare) and check the results. */
static void
compare_model(const char *model_path, const char *what, const ds_set *d, int calib0, int n_eval) {
    qrun_context *ctx = NULL;
    qrun_model *m = mr_load_model(&ctx, model_path, NULL);
    qrun_compare *cmp = run_compare(ctx, m, d, calib0, n_eval);
    check_results(cmp, what, n_eval);
    qrun_compare_free(cmp);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

static void test_resnet8(void **state) {
    (void)state;
    if (!ds_dataset_runs_enabled())
        skip();
    if (!mr_have_corpus())
        skip();
    ds_set d;
    assert_true(ds_load_cifar(MODELS "/data/eembc-ic01-cifar10", &d));
    assert_int_equal(d.n, 200);
    compare_model(RESNET8, "ResNet-8", &d, 0, 200);
    ds_free(&d);
}

/* mnist-8: calibrated on 50 images outside the 1000 evaluated. */
static void test_mnist8(void **state) {
    (void)state;
    if (!ds_dataset_runs_enabled())
        skip();
    if (!mr_have_corpus())
        skip();
    ds_set d;
    assert_true(ds_load_mnist(MODELS "/data/mnist-t10k", &d));
    compare_model(MNIST8, "mnist-8", &d, 9000, 1000);
    ds_free(&d);
}

/* Backend accel_sim: every layer carries the cycles and energy of the node that produced its
 * activation in the quantized model, the same record a session of that model reports. */
static void test_accel_sim_layer_costs(void **state) {
    (void)state;
    if (!mr_have_corpus())
        skip();
    ds_set d;
    assert_true(ds_load_mnist(MODELS "/data/mnist-t10k", &d));
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    qrun_model *m = NULL;
    assert_int_equal(qrun_model_load(ctx, MNIST8, &m), QRUN_OK);
    qrun_hw *hw = NULL;
    assert_int_equal(qrun_hw_load(ctx, "runai200", &hw), QRUN_OK);
    qrun_compare_options o;
    qrun_compare_options_init(&o);
    o.dtypes = "int8";
    o.backend = "accel_sim";
    o.hw = hw;
    qrun_compare *cmp = NULL;
    if (qrun_compare_create(ctx, m, &o, &cmp))
        fail_msg("%s", qrun_context_errmsg(ctx));
    for (int i = 0; i < 8; i++) {
        qrun_tensor *t = mr_sample_tensor(ctx, &d, 9000 + i);
        qrun_status s = i < 5 ? qrun_compare_add_calib(cmp, (const qrun_tensor *const *)&t, 1)
                              : qrun_compare_add_eval(cmp, (const qrun_tensor *const *)&t, 1,
                                                      d.labels[9000 + i]);
        if (s)
            fail_msg("%s", qrun_context_errmsg(ctx));
        qrun_tensor_free(t);
    }
    qrun_compare_result r;
    assert_int_equal(qrun_compare_get_result(cmp, 0, &r), QRUN_OK);
    assert_true(r.has_sim && r.cycles > 0);
    /* The quantized model in a session of its own: the producer's record. */
    qrun_session_options so;
    qrun_session_options_init(&so);
    so.backend = "accel_sim";
    so.hw = hw;
    qrun_session *sess = NULL;
    assert_int_equal(qrun_session_create(ctx, qrun_compare_model(cmp, 0), &so, &sess), QRUN_OK);
    qrun_tensor *t = mr_sample_tensor(ctx, &d, 9005), *y = NULL;
    assert_int_equal(qrun_session_run(sess, (const qrun_tensor *const *)&t, 1, &y, 1), QRUN_OK);
    int with_cost = 0;
    double layer_cycles = 0;
    for (int j = 0; j < r.n_layers; j++) {
        qrun_compare_layer l;
        assert_int_equal(qrun_compare_get_layer(cmp, 0, j, &l), QRUN_OK);
        assert_true(isfinite(l.cycles) && l.cycles >= 0 && isfinite(l.energy_uj) &&
                    l.energy_uj >= 0);
        double want = 0;
        for (int i = 0; i < qrun_session_sim_node_count(sess); i++) {
            qrun_sim_node nd;
            assert_int_equal(qrun_session_sim_node(sess, i, &nd), QRUN_OK);
            if (strcmp(nd.name, l.producer) == 0)
                want = nd.cycles;
        }
        assert_true(fabs(l.cycles - want) <= 1e-9 * want);
        with_cost += l.cycles > 0;
        layer_cycles += l.cycles;
    }
    assert_true(with_cost >= 3); /* two convs and the matmul (their bias adds run fused) */
    assert_true(layer_cycles <= r.cycles * (1 + 1e-9)); /* each node at most once here */
    qrun_tensor_free(t);
    qrun_tensor_free(y);
    qrun_session_free(sess);
    qrun_compare_free(cmp);
    qrun_hw_free(hw);
    qrun_model_free(m);
    qrun_context_free(ctx);
    ds_free(&d);
}

/* Unknown format, eval before calibration, calibration after eval, wrong input. */
static void test_errors(void **state) {
    (void)state;
    if (!mr_have_corpus())
        skip();
    qrun_context *ctx = NULL;
    qrun_model *m = mr_load_model(&ctx, MNIST8, NULL);
    qrun_compare_options o;
    qrun_compare_options_init(&o);
    o.dtypes = "int8,fp9";
    qrun_compare *cmp = NULL;
    assert_int_equal(qrun_compare_create(ctx, m, &o, &cmp), QRUN_E_ARG);
    assert_null(cmp);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "unknown format 'fp9'"));

    o.dtypes = "int8";
    assert_int_equal(qrun_compare_create(ctx, m, &o, &cmp), QRUN_OK);
    int64_t dims[4] = {1, 1, 28, 28}, bad_dims[4] = {1, 1, 14, 28};
    qrun_tensor *t = NULL, *bad = NULL;
    assert_int_equal(qrun_tensor_create(ctx, QRUN_DTYPE_FLOAT, 4, dims, NULL, &t), QRUN_OK);
    assert_int_equal(qrun_tensor_create(ctx, QRUN_DTYPE_FLOAT, 4, bad_dims, NULL, &bad), QRUN_OK);
    for (int64_t k = 0; k < qrun_tensor_numel(t); k++)
        qrun_tensor_set_f64(t, k, (double)(k % 256));
    const qrun_tensor *in[1] = {t}, *bad_in[1] = {bad};
    assert_int_equal(qrun_compare_add_eval(cmp, in, 1, 3), QRUN_E_ARG);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "no calibration samples"));
    assert_int_not_equal(qrun_compare_add_calib(cmp, bad_in, 1), QRUN_OK);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "Input3"));
    assert_int_equal(qrun_compare_add_calib(cmp, in, 1), QRUN_OK);
    assert_int_equal(qrun_compare_add_eval(cmp, in, 1, -1), QRUN_OK);
    assert_int_equal(qrun_compare_add_calib(cmp, in, 1), QRUN_E_ARG);
    assert_int_not_equal(qrun_compare_add_eval(cmp, bad_in, 1, -1), QRUN_OK);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "Input3"));
    qrun_compare_fp32 fp;
    qrun_compare_get_fp32(cmp, &fp);
    assert_true(isnan(fp.top1)); /* no labels */
    qrun_compare_result r;
    assert_int_equal(qrun_compare_get_result(cmp, 0, &r), QRUN_OK);
    assert_int_equal(r.samples, 1);
    assert_true(isnan(r.top1));
    assert_int_equal(qrun_compare_get_result(cmp, 1, &r), QRUN_E_ARG);
    qrun_compare_layer l;
    assert_int_equal(qrun_compare_get_layer(cmp, 0, r.n_layers + 5, &l), QRUN_E_ARG);
    qrun_tensor_free(t);
    qrun_tensor_free(bad);
    qrun_compare_free(cmp);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

/* An optional argument selects tests by name (cmocka pattern, e.g. "*mnist8*"). */
int main(int argc, char **argv) {
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_accel_sim_layer_costs),
        cmocka_unit_test(test_mnist8),
        cmocka_unit_test(test_resnet8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
