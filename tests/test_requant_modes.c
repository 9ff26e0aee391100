/* SPDX-License-Identifier: Apache-2.0 */
/* Requantization modes (qrun_requant_mode): float vs TFLite fixed point in the QLinear kernels, on
 * rounding ties and on the ONNX node tests' real data, through the kernels and the public API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/support/kernel_runner.h"

#include "qrun/qrun.h"
#include "runtime/quant.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NODE_TESTS QRUN_SHARED_DIR "/models/onnx-node-v1.22"

/* ---- kernels on rounding ties ---------------------------------------------- */

/*
 * acc * 0.5 for acc = 5, 7, -5, -3, 9, -9 is 2.5, 3.5, -2.5, -1.5, 4.5, -4.5. The
 * ONNX reference rounds half to even; TFLite rounds a positive tie up and a
 * negative one toward zero (the nudge of SaturatingRoundingDoublingHighMul).
 */
static const int8_t k_acc[6] = {5, 7, -5, -3, 9, -9};
static const int8_t k_float[6] = {2, 4, -2, -2, 4, -4};
static const int8_t k_fixed[6] = {3, 4, -2, -1, 5, -4};

static struct qrun_tensor *scalar(qrun_dtype t, double v) {
    struct qrun_tensor *s = kr_tensor_new(t, 0, NULL);
    qrun_dtype_traits_get(t)->set(s->data, 0, v, true);
    return s;
}

/* QLinearMatMul [6,1] x [1,1] or QLinearConv [1,1,2,3] * [1,1,1,1] of k_acc with weight 1. */
static void run_tie(qrun_op op, qrun_requant_mode mode, unsigned unknown, const int8_t *want) {
    bool conv = op == QRUN_OP_QLINEAR_CONV;
    const int64_t xd4[4] = {1, 1, 2, 3}, wd4[4] = {1, 1, 1, 1}, xd2[2] = {6, 1}, wd2[2] = {1, 1};
    struct qrun_tensor *x =
        conv ? kr_tensor_new(QRUN_DTYPE_INT8, 4, xd4) : kr_tensor_new(QRUN_DTYPE_INT8, 2, xd2);
    struct qrun_tensor *w =
        conv ? kr_tensor_new(QRUN_DTYPE_INT8, 4, wd4) : kr_tensor_new(QRUN_DTYPE_INT8, 2, wd2);
    memcpy(x->data, k_acc, 6);
    ((int8_t *)w->data)[0] = 1;
    struct qrun_tensor *xs = scalar(QRUN_DTYPE_FLOAT, 0.5), *one = scalar(QRUN_DTYPE_FLOAT, 1.0);
    struct qrun_tensor *z = scalar(QRUN_DTYPE_INT8, 0.0);
    kr_node tn;
    kr_node_init(&tn, op, 10, 8, 1);
    tn.requant = mode;
    const struct qrun_tensor *in[8] = {x, xs, z, w, one, z, one, z};
    struct qrun_tensor shapes[1];
    bool need = false;
    qrun_err err = {{0}};
    assert_int_equal(kr_infer(&tn, in, shapes, &need, &err), QRUN_OK);
    struct qrun_tensor *y = kr_tensor_new(shapes[0].dtype, shapes[0].rank, shapes[0].dims);
    if (kr_eval_unknown(&tn, in, &y, 1, unknown, &err) != QRUN_OK)
        fail_msg("%s", err.msg);
    for (int i = 0; i < 6; i++) {
        if (((int8_t *)y->data)[i] != want[i])
            fail_msg("%s mode %d element %d: got %d, want %d", conv ? "conv" : "matmul", (int)mode,
                     i, ((int8_t *)y->data)[i], want[i]);
    }
    struct qrun_tensor *all[6] = {x, w, xs, one, z, y};
    for (int i = 0; i < 6; i++)
        kr_tensor_free(all[i]);
}

static void test_ties_follow_the_mode(void **state) {
    (void)state;
    const qrun_op ops[2] = {QRUN_OP_QLINEAR_MATMUL, QRUN_OP_QLINEAR_CONV};
    for (int k = 0; k < 2; k++) {
        /* scales constant (multipliers made at prepare) or only known at run time */
        const unsigned masks[2] = {0, (1u << 1) | (1u << 4) | (1u << 6)};
        for (int u = 0; u < 2; u++) {
            run_tie(ops[k], QRUN_REQUANT_FLOAT, masks[u], k_float);
            run_tie(ops[k], QRUN_REQUANT_FIXED, masks[u], k_fixed);
        }
    }
}

/* A multiplier fixed point cannot hold is a clear error naming the channel. */
static void test_fixed_rejects_negative_multiplier(void **state) {
    (void)state;
    const int64_t xd[4] = {1, 1, 1, 1};
    struct qrun_tensor *x = kr_tensor_new(QRUN_DTYPE_UINT8, 4, xd);
    struct qrun_tensor *w = kr_tensor_new(QRUN_DTYPE_UINT8, 4, xd);
    struct qrun_tensor *neg = scalar(QRUN_DTYPE_FLOAT, -0.5), *one = scalar(QRUN_DTYPE_FLOAT, 1.0);
    struct qrun_tensor *z = scalar(QRUN_DTYPE_UINT8, 0.0);
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_QLINEAR_CONV, 10, 8, 1);
    tn.requant = QRUN_REQUANT_FIXED;
    const struct qrun_tensor *in[8] = {x, one, z, w, neg, z, one, z};
    struct qrun_tensor *y[1] = {NULL};
    qrun_err err = {{0}};
    assert_int_equal(kr_run_new(&tn, in, y, 1, &err), QRUN_E_MODEL);
    if (!strstr(err.msg, "output channel 0") || !strstr(err.msg, "no fixed-point form"))
        fail_msg("%s", err.msg);
    tn.requant = QRUN_REQUANT_FLOAT; /* the float path takes it */
    kr_tensor_free(y[0]);
    y[0] = NULL;
    assert_int_equal(kr_run_new(&tn, in, y, 1, &err), QRUN_OK);
    struct qrun_tensor *all[6] = {x, w, neg, one, z, y[0]};
    for (int i = 0; i < 6; i++)
        kr_tensor_free(all[i]);
}

/* ---- public API on the ONNX node tests ------------------------------------- */

static const char *const k_cases[] = {
    "test_qlinearconv",
    "test_qlinearmatmul_2D_int8_float16",
    "test_qlinearmatmul_2D_int8_float32",
    "test_qlinearmatmul_2D_uint8_float16",
    "test_qlinearmatmul_2D_uint8_float32",
    "test_qlinearmatmul_3D_int8_float16",
    "test_qlinearmatmul_3D_int8_float32",
    "test_qlinearmatmul_3D_uint8_float16",
    "test_qlinearmatmul_3D_uint8_float32",
};

static qrun_tensor *load(qrun_context *ctx, const char *dir, const char *name) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    qrun_tensor *t = NULL;
    if (qrun_tensor_load_file(ctx, p, &t))
        fail_msg("%s", qrun_context_errmsg(ctx));
    return t;
}

/* Run case dir with mode; return how many outputs differ from the reference (all by <= 1). */
static int run_case(qrun_context *ctx, const char *dir, qrun_requant_mode mode) {
    char p[PATH_MAX], data[PATH_MAX];
    snprintf(p, sizeof p, "%s/model.onnx", dir);
    snprintf(data, sizeof data, "%s/test_data_set_0", dir);
    qrun_model *m = NULL;
    qrun_session *s = NULL;
    if (qrun_model_load(ctx, p, &m))
        fail_msg("%s", qrun_context_errmsg(ctx));
    qrun_session_options so;
    qrun_session_options_init(&so);
    assert_int_equal(so.requant, QRUN_REQUANT_FLOAT);
    so.requant = mode;
    if (qrun_session_create(ctx, m, &so, &s))
        fail_msg("%s", qrun_context_errmsg(ctx));
    int n_in = qrun_model_input_count(m);
    qrun_tensor *in[16] = {0};
    assert_true(n_in <= 16);
    for (int i = 0; i < n_in; i++) {
        char name[32];
        snprintf(name, sizeof name, "input_%d.pb", i);
        in[i] = load(ctx, data, name);
    }
    qrun_tensor *out = NULL, *want = load(ctx, data, "output_0.pb");
    if (qrun_session_run(s, (const qrun_tensor *const *)in, n_in, &out, 1))
        fail_msg("%s", qrun_context_errmsg(ctx));
    assert_int_equal(qrun_tensor_numel(out), qrun_tensor_numel(want));
    int differ = 0;
    for (int64_t i = 0; i < qrun_tensor_numel(out); i++) {
        double d = fabs(qrun_tensor_get_f64(out, i) - qrun_tensor_get_f64(want, i));
        if (d > 1.0)
            fail_msg("%s: element %lld off by %g", dir, (long long)i, d);
        differ += d != 0.0;
    }
    for (int i = 0; i < n_in; i++)
        qrun_tensor_free(in[i]);
    qrun_tensor_free(out);
    qrun_tensor_free(want);
    qrun_session_free(s);
    qrun_model_free(m);
    return differ;
}

static void test_node_tests_float_exact_fixed_within_one(void **state) {
    (void)state;
    struct stat st;
    if (stat(NODE_TESTS, &st) != 0)
        skip();
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    int fixed_diffs = 0, elements = 0;
    for (size_t k = 0; k < sizeof k_cases / sizeof k_cases[0]; k++) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/%s", NODE_TESTS, k_cases[k]);
        assert_int_equal(run_case(ctx, dir, QRUN_REQUANT_FLOAT), 0);
        fixed_diffs += run_case(ctx, dir, QRUN_REQUANT_FIXED);
        elements++;
    }
    print_message(
        "fixed point differs from the reference (by one step) in %d outputs of %d cases\n",
        fixed_diffs, elements);
    /* the switch reaches the kernels: some accumulators of this data round differently */
    assert_true(fixed_diffs >= 1);
    qrun_context_free(ctx);
}

/* Run model path on input_0.pb of data with mode; the one output. */
static qrun_tensor *
run_model(qrun_context *ctx, const char *path, const char *data, qrun_requant_mode mode) {
    qrun_model *m = NULL;
    qrun_session *s = NULL;
    if (qrun_model_load(ctx, path, &m))
        fail_msg("%s", qrun_context_errmsg(ctx));
    qrun_session_options so;
    qrun_session_options_init(&so);
    so.requant = mode;
    if (qrun_session_create(ctx, m, &so, &s))
        fail_msg("%s", qrun_context_errmsg(ctx));
    qrun_tensor *in = load(ctx, data, "input_0.pb"), *out = NULL;
    if (qrun_session_run(s, (const qrun_tensor *const *)&in, 1, &out, 1))
        fail_msg("%s", qrun_context_errmsg(ctx));
    qrun_tensor_free(in);
    qrun_session_free(s);
    qrun_model_free(m);
    return out;
}

/* Smallest positive gap between two output values: the output quantization step. */
static double output_step(const qrun_tensor *t) {
    double step = INFINITY;
    int64_t n = qrun_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = i + 1; j < n && j < i + 64; j++) {
            double d = fabs(qrun_tensor_get_f64(t, i) - qrun_tensor_get_f64(t, j));
            if (d > 0 && d < step)
                step = d;
        }
    }
    return step;
}

/*
 * Whole ORT QOperator models (QLinearConv, QLinearMatMul, QLinearMul,
 * QLinearGlobalAveragePool requantize in the session's mode; QLinearAdd and
 * the lookup-table ops stay in float32): fixed point changes some outputs
 * (one step per layer on ties, compounding over 10 to 53 layers) and keeps
 * every top-1 class.
 */
static void test_qoperator_models_fixed(void **state) {
    (void)state;
    static const char *const names[] = {"ic_quantized_int8", "ks_quantized_int8",
                                        "mobilenetv2-12-int8"};
    struct stat st;
    if (stat(QRUN_SHARED_DIR "/models/int8/qoperator", &st) != 0)
        skip();
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char path[PATH_MAX], data[PATH_MAX];
        snprintf(path, sizeof path, QRUN_SHARED_DIR "/models/int8/qoperator/%s.onnx", names[k]);
        snprintf(data, sizeof data,
                 QRUN_SHARED_DIR "/models/refs/int8__qoperator__%s/test_data_set_0", names[k]);
        qrun_tensor *a = run_model(ctx, path, data, QRUN_REQUANT_FLOAT);
        qrun_tensor *b = run_model(ctx, path, data, QRUN_REQUANT_FIXED);
        int64_t n = qrun_tensor_numel(a), rows = qrun_tensor_dims(a)[0], cls = n / rows;
        double step = output_step(a), worst = 0.0;
        int64_t differ = 0, top1_same = 0;
        for (int64_t i = 0; i < n; i++) {
            double d = fabs(qrun_tensor_get_f64(a, i) - qrun_tensor_get_f64(b, i));
            differ += d > 0;
            worst = fmax(worst, d / step);
        }
        for (int64_t r = 0; r < rows; r++) {
            int64_t ba = 0, bb = 0;
            for (int64_t c = 1; c < cls; c++) {
                if (qrun_tensor_get_f64(a, r * cls + c) > qrun_tensor_get_f64(a, r * cls + ba))
                    ba = c;
                if (qrun_tensor_get_f64(b, r * cls + c) > qrun_tensor_get_f64(b, r * cls + bb))
                    bb = c;
            }
            top1_same += ba == bb;
        }
        print_message("%s: fixed vs float: %lld of %lld outputs differ, at most %.1f steps; top-1 "
                      "same in %lld of %lld\n",
                      names[k], (long long)differ, (long long)n, worst, (long long)top1_same,
                      (long long)rows);
        assert_true(differ >= 1);       /* the mode reaches these kernels */
        assert_true(top1_same == rows); /* and keeps every prediction */
        assert_true(worst <= 16.0);     /* measured: 2, 3 and 14 steps */
        qrun_tensor_free(a);
        qrun_tensor_free(b);
    }
    qrun_context_free(ctx);
}

static void test_session_options_checked(void **state) {
    (void)state;
    struct stat st;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/test_qlinearconv/model.onnx", NODE_TESTS);
    if (stat(p, &st) != 0)
        skip();
    qrun_context *ctx = NULL;
    qrun_model *m = NULL;
    qrun_session *s = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    assert_int_equal(qrun_model_load(ctx, p, &m), QRUN_OK);
    qrun_session_options so;
    qrun_session_options_init(&so);
    so.requant = (qrun_requant_mode)7;
    assert_int_equal(qrun_session_create(ctx, m, &so, &s), QRUN_E_ARG);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "requant mode 7"));
    qrun_session_options_init(&so);
    so.fp8_accum = (qrun_fp8_accum)9;
    assert_int_equal(qrun_session_create(ctx, m, &so, &s), QRUN_E_ARG);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "FP8 accumulator 9"));
    assert_null(s);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ties_follow_the_mode),
        cmocka_unit_test(test_fixed_rejects_negative_multiplier),
        cmocka_unit_test(test_node_tests_float_exact_fixed_within_one),
        cmocka_unit_test(test_qoperator_models_fixed),
        cmocka_unit_test(test_session_options_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
