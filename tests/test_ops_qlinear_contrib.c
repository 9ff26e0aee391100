/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The com.microsoft quantized ops on small hand-checked cases: QLinearAdd/Mul
 * (broadcasting, saturation, ORT's rounding order), the lookup-table unary
 * ops, QLinearSoftmax (both opset semantics), QLinearConcat, the QLinear pools
 * (NCHW and channels_last), QGemm (float and quantized output, per-column
 * parameters, transB, alpha), contrib Quantize/DequantizeLinear and QLinearConv
 * (channels_last too),
 * and load-time errors on bad quantization parameters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/support/kernel_runner.h"

#include "runtime/dtype.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- tensors: every one made here is freed by t_free_all ------------------- */

static struct qrun_tensor *g_ts[64];
static int g_nts;

static struct qrun_tensor *t_new(qrun_dtype dt, int rank, const int64_t *dims, const void *v) {
    struct qrun_tensor *t = kr_tensor_new(dt, rank, dims);
    if (v)
        memcpy(t->data, v, t->nbytes);
    assert_true(g_nts < 64);
    g_ts[g_nts++] = t;
    return t;
}

static struct qrun_tensor *t_scale(float v) {
    return t_new(QRUN_DTYPE_FLOAT, 0, NULL, &v);
}

static struct qrun_tensor *t_u8s(int8_t v, qrun_dtype dt) {
    return t_new(dt, 0, NULL, &v);
}

static struct qrun_tensor *t_zp_u8(uint8_t v) {
    return t_u8s((int8_t)v, QRUN_DTYPE_UINT8);
}

static struct qrun_tensor *t_zp_i8(int8_t v) {
    return t_u8s(v, QRUN_DTYPE_INT8);
}

static void t_free_all(void) {
    for (int i = 0; i < g_nts; i++)
        kr_tensor_free(g_ts[i]);
    g_nts = 0;
}

/* Run tn on in, expect output values want[0..n) and (when dims) this shape. */
static void expect_run(const kr_node *tn,
                       const struct qrun_tensor *const *in,
                       int rank,
                       const int64_t *dims,
                       const double *want,
                       int64_t n) {
    struct qrun_tensor *out[1] = {NULL};
    qrun_err err = {{0}};
    if (kr_run_new(tn, in, out, 1, &err) != QRUN_OK)
        fail_msg("%s", err.msg);
    assert_true(g_nts < 64);
    g_ts[g_nts++] = out[0];
    if (dims)
        kr_assert_dims(out[0], rank, dims);
    assert_int_equal(qrun_tensor_numel_(out[0]), n);
    for (int64_t i = 0; i < n; i++) {
        double got = kr_get(out[0], i);
        if (fabs(got - want[i]) > 1e-6 * fabs(want[i]))
            fail_msg("%s: y[%lld] = %g, want %g", tn->node.op_type, (long long)i, got, want[i]);
    }
}

/* Shape inference must reject the node with status st and a message containing what. */
static void expect_infer_error(const kr_node *tn,
                               const struct qrun_tensor *const *in,
                               qrun_status st,
                               const char *what) {
    struct qrun_tensor out[1];
    memset(out, 0, sizeof out);
    bool need = false;
    qrun_err err = {{0}};
    assert_int_equal(kr_infer(tn, in, out, &need, &err), st);
    if (!strstr(err.msg, what))
        fail_msg("message '%s' lacks '%s'", err.msg, what);
}

/* ---- QLinearAdd / QLinearMul -------------------------------------------------- */

static void test_qlinear_add_broadcast_u8(void **state) {
    (void)state;
    const int64_t ad[2] = {2, 3}, bd[1] = {3};
    const uint8_t a[6] = {10, 12, 14, 16, 30, 11}, b[3] = {20, 24, 28};
    /* A: scale 0.5, zp 10 -> 0 1 2 / 3 10 0.5; B: scale 0.25, zp 20 -> 0 1 2; C: scale 1, zp 5. */
    const struct qrun_tensor *in[8] = {t_new(QRUN_DTYPE_UINT8, 2, ad, a),
                                       t_scale(0.5f),
                                       t_zp_u8(10),
                                       t_new(QRUN_DTYPE_UINT8, 1, bd, b),
                                       t_scale(0.25f),
                                       t_zp_u8(20),
                                       t_scale(1.0f),
                                       t_zp_u8(5)};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_MS_QLINEAR_ADD, 1, 8, 1);
    /* 0.5 + 2 = 2.5: ORT rounds 2.5 + 5 = 7.5 to 8 (the zero point is added first). */
    const double want[6] = {5, 7, 9, 8, 16, 8};
    expect_run(&tn, in, 2, ad, want, 6);
    t_free_all();
}

static void test_qlinear_add_saturates_i8(void **state) {
    (void)state;
    const int64_t d[1] = {3};
    const int8_t a[3] = {100, -100, 7}, b[3] = {100, -100, -7};
    const struct qrun_tensor *in[8] = {t_new(QRUN_DTYPE_INT8, 1, d, a),
                                       t_scale(1.0f),
                                       NULL,
                                       t_new(QRUN_DTYPE_INT8, 1, d, b),
                                       t_scale(1.0f),
                                       NULL,
                                       t_scale(1.0f),
                                       t_zp_i8(0)};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_MS_QLINEAR_ADD, 1, 8, 1);
    const double want[3] = {127, -128, 0};
    expect_run(&tn, in, 1, d, want, 3);
    t_free_all();
}

static void test_qlinear_mul(void **state) {
    (void)state;
    const int64_t d[1] = {2};
    const uint8_t a[2] = {4, 6}, b[1] = {3};
    /* (a - 0)(b - 1) * (0.5 * 2 / 0.5) + 3: 4*2*2+3 = 19; B broadcast as a scalar tensor. */
    const struct qrun_tensor *in[8] = {t_new(QRUN_DTYPE_UINT8, 1, d, a),
                                       t_scale(0.5f),
                                       t_zp_u8(0),
                                       t_new(QRUN_DTYPE_UINT8, 0, NULL, b),
                                       t_scale(2.0f),
                                       t_zp_u8(1),
                                       t_scale(0.5f),
                                       t_zp_u8(3)};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_MS_QLINEAR_MUL, 1, 8, 1);
    const double want[2] = {19, 27};
    expect_run(&tn, in, 1, d, want, 2);
    /* Negative products saturate at 0 for uint8. */
    const uint8_t b0[1] = {0};
    in[3] = t_new(QRUN_DTYPE_UINT8, 0, NULL, b0);
    const double want0[2] = {0, 0};
    expect_run(&tn, in, 1, d, want0, 2);
    t_free_all();
}

/*
 * Broadcast [4,1,5] with [3,1] over many values, both types, against the
 * double-precision formulas: within one step everywhere, mostly exact.
 */
static void binary_vs_reference(qrun_op op, qrun_dtype t) {
    bool u8 = t == QRUN_DTYPE_UINT8, add = op == QRUN_OP_MS_QLINEAR_ADD;
    const int64_t da[3] = {4, 1, 5}, db[2] = {3, 1}, dy[3] = {4, 3, 5};
    uint8_t a[20], b[3];
    for (int i = 0; i < 20; i++)
        a[i] = (uint8_t)(i * 53 + 7);
    for (int i = 0; i < 3; i++)
        b[i] = (uint8_t)(i * 97 + 200);
    int za = u8 ? 120 : 5, zb = u8 ? 99 : -7, zc = u8 ? 128 : 3, lo = u8 ? 0 : -128,
        hi = u8 ? 255 : 127;
    const float sa = 0.031f, sb = 0.047f, sc = add ? 0.06f : 0.9f;
    const struct qrun_tensor *in[8] = {
        t_new(t, 3, da, a), t_scale(sa),          t_u8s((int8_t)za, t), t_new(t, 2, db, b),
        t_scale(sb),        t_u8s((int8_t)zb, t), t_scale(sc),          t_u8s((int8_t)zc, t)};
    kr_node tn;
    kr_node_init(&tn, op, 1, 8, 1);
    struct qrun_tensor *out[1] = {NULL};
    qrun_err err = {{0}};
    assert_int_equal(kr_run_new(&tn, in, out, 1, &err), QRUN_OK);
    kr_assert_dims(out[0], 3, dy);
    int exact = 0;
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 3; j++) {
            for (int k = 0; k < 5; k++) {
                int qa = u8 ? a[i * 5 + k] : (int8_t)a[i * 5 + k];
                int qb = u8 ? b[j] : (int8_t)b[j];
                double va = (qa - za) * (double)sa, vb = (qb - zb) * (double)sb;
                double ref = nearbyint((add ? va + vb : va * vb) / sc) + zc;
                ref = ref < lo ? lo : ref > hi ? hi : ref;
                double got = kr_get(out[0], (i * 3 + j) * 5 + k);
                if (fabs(got - ref) > 1.0)
                    fail_msg("%s [%d,%d,%d]: got %g, want %g", tn.node.op_type, i, j, k, got, ref);
                exact += got == ref;
            }
        }
    }
    assert_true(exact >= 57);
    kr_tensor_free(out[0]);
    t_free_all();
}

static void test_qlinear_binary_vs_reference(void **state) {
    (void)state;
    binary_vs_reference(QRUN_OP_MS_QLINEAR_ADD, QRUN_DTYPE_UINT8);
    binary_vs_reference(QRUN_OP_MS_QLINEAR_ADD, QRUN_DTYPE_INT8);
    binary_vs_reference(QRUN_OP_MS_QLINEAR_MUL, QRUN_DTYPE_UINT8);
    binary_vs_reference(QRUN_OP_MS_QLINEAR_MUL, QRUN_DTYPE_INT8);
}

/* Parameters computed by another node: prepare finds no data, eval builds them per run. */
static void test_qlinear_add_runtime_params(void **state) {
    (void)state;
    const int64_t d[1] = {2};
    const uint8_t a[2] = {10, 20}, b[2] = {30, 40};
    struct qrun_tensor *sc = t_scale(2.0f);
    const struct qrun_tensor *in[8] = {t_new(QRUN_DTYPE_UINT8, 1, d, a),
                                       t_scale(1.0f),
                                       NULL,
                                       t_new(QRUN_DTYPE_UINT8, 1, d, b),
                                       t_scale(1.0f),
                                       NULL,
                                       sc,
                                       NULL};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_MS_QLINEAR_ADD, 1, 8, 1);
    const cpu_ref_kernel *k = kr_kernel(QRUN_OP_MS_QLINEAR_ADD);
    struct qrun_tensor *y = t_new(QRUN_DTYPE_UINT8, 1, d, NULL);
    struct qrun_tensor *outs[1] = {y};
    qrun_err err = {{0}};
    void *saved = sc->data;
    sc->data = NULL;
    qrun_kernel_call call = {.node = &tn.node,
                             .n_inputs = 8,
                             .inputs = in,
                             .n_outputs = 1,
                             .outputs = outs,
                             .n_threads = 1,
                             .err = &err};
    void *op_data = calloc(1, k->op_data_bytes(&call));
    assert_int_equal(k->prepare(&call, op_data), QRUN_OK);
    sc->data = saved;
    call.op_data = op_data;
    call.scratch_bytes = k->scratch_bytes(&call);
    assert_true(call.scratch_bytes > 0);
    call.scratch = calloc(1, call.scratch_bytes);
    assert_int_equal(k->eval(&call), QRUN_OK);
    assert_int_equal(((uint8_t *)y->data)[0], 20);
    assert_int_equal(((uint8_t *)y->data)[1], 30);
    free(call.scratch);
    free(op_data);
    t_free_all();
}

/* ---- lookup-table unary ops -------------------------------------------------- */

static void test_qlinear_sigmoid_i8(void **state) {
    (void)state;
    const int64_t d[1] = {3};
    const int8_t x[3] = {0, 127, -128};
    /* y scale 1/256, zp -128: sigmoid 0.5 -> 0, ~1 -> 256 - 128 saturates to 127, ~0 -> -128. */
    const struct qrun_tensor *in[5] = {t_new(QRUN_DTYPE_INT8, 1, d, x), t_scale(0.1f), t_zp_i8(0),
                                       t_scale(1.0f / 256.0f), t_zp_i8(-128)};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_MS_QLINEAR_SIGMOID, 1, 5, 1);
    const double want[3] = {0, 127, -128};
    expect_run(&tn, in, 1, d, want, 3);
    t_free_all();
}

static void test_qlinear_leaky_relu_u8(void **state) {
    (void)state;
    const int64_t d[1] = {3};
    const uint8_t x[3] = {100, 110, 80};
    /* x: scale 1, zp 100 -> 0 10 -20; alpha 0.1 -> 0 10 -2; y: scale 0.5, zp 50. */
    const struct qrun_tensor *in[5] = {t_new(QRUN_DTYPE_UINT8, 1, d, x), t_scale(1.0f),
                                       t_zp_u8(100), t_scale(0.5f), t_zp_u8(50)};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_MS_QLINEAR_LEAKY_RELU, 1, 5, 1);
    kr_float(&tn, "alpha", 0.1f);
    const double want[3] = {50, 70, 46};
    expect_run(&tn, in, 1, d, want, 3);
    t_free_all();
}

/*
 * Every one of the 256 inputs against a double-precision reference of
 * quantize(f(dequantize(x))): float32 rounding may move a value sitting on a
 * rounding boundary by one step, nothing more.
 */
static void lut_exhaustive(qrun_op op, qrun_dtype t, double (*f)(double), float alpha) {
    bool u8 = t == QRUN_DTYPE_UINT8;
    const int64_t d[1] = {256};
    uint8_t x[256];
    for (int i = 0; i < 256; i++)
        x[i] = (uint8_t)i;
    int xzp = u8 ? 131 : -3, yzp = u8 ? 40 : -20, lo = u8 ? 0 : -128, hi = u8 ? 255 : 127;
    const float xs = 0.07f, ys = 0.01f;
    const struct qrun_tensor *in[5] = {t_new(t, 1, d, x), t_scale(xs), t_u8s((int8_t)xzp, t),
                                       t_scale(ys), t_u8s((int8_t)yzp, t)};
    kr_node tn;
    kr_node_init(&tn, op, 1, 5, 1);
    kr_float(&tn, "alpha", alpha);
    struct qrun_tensor *out[1] = {NULL};
    qrun_err err = {{0}};
    assert_int_equal(kr_run_new(&tn, in, out, 1, &err), QRUN_OK);
    int exact = 0;
    for (int i = 0; i < 256; i++) {
        int q = u8 ? i : (int8_t)(uint8_t)i;
        double v = f((double)(q - xzp) * xs), ref = nearbyint(v / ys) + yzp;
        ref = ref < lo ? lo : ref > hi ? hi : ref;
        double got = kr_get(out[0], i);
        if (fabs(got - ref) > 1.0)
            fail_msg("%s x=%d: got %g, want %g", tn.node.op_type, q, got, ref);
        exact += got == ref;
    }
    assert_true(exact >= 250);
    kr_tensor_free(out[0]);
    t_free_all();
}

static double ref_sigmoid(double v) {
    return 1.0 / (1.0 + exp(-v));
}

static double ref_leaky(double v) {
    return v >= 0 ? v : 0.2 * v;
}

static void test_qlinear_lut_exhaustive(void **state) {
    (void)state;
    lut_exhaustive(QRUN_OP_MS_QLINEAR_SIGMOID, QRUN_DTYPE_UINT8, ref_sigmoid, 0.0f);
    lut_exhaustive(QRUN_OP_MS_QLINEAR_SIGMOID, QRUN_DTYPE_INT8, ref_sigmoid, 0.0f);
    lut_exhaustive(QRUN_OP_MS_QLINEAR_LEAKY_RELU, QRUN_DTYPE_UINT8, ref_leaky, 0.2f);
    lut_exhaustive(QRUN_OP_MS_QLINEAR_LEAKY_RELU, QRUN_DTYPE_INT8, ref_leaky, 0.2f);
}

static void test_qlinear_softmax(void **state) {
    (void)state;
    const int64_t d2[2] = {2, 2}, d3[3] = {1, 2, 2};
    const uint8_t x2[4] = {10, 10, 0, 20}, x3[4] = {5, 5, 5, 5};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_MS_QLINEAR_SOFTMAX, 1, 5, 1);
    kr_int(&tn, "opset", 13);
    const struct qrun_tensor *in[5] = {t_new(QRUN_DTYPE_UINT8, 2, d2, x2), t_scale(1.0f),
                                       t_zp_u8(0), t_scale(1.0f / 256.0f), t_zp_u8(0)};
    /* Rows [0.5 0.5] and [~0 ~1]: 1 * 256 saturates to 255. */
    const double want2[4] = {128, 128, 0, 255};
    expect_run(&tn, in, 2, d2, want2, 4);
    /* opset 13, axis 1 of [1,2,2]: softmax over 2 values; opset 12 flattens dims 1.. (4 values). */
    in[0] = t_new(QRUN_DTYPE_UINT8, 3, d3, x3);
    kr_int(&tn, "axis", 1);
    const double want13[4] = {128, 128, 128, 128};
    expect_run(&tn, in, 3, d3, want13, 4);
    kr_node t12;
    kr_node_init(&t12, QRUN_OP_MS_QLINEAR_SOFTMAX, 1, 5, 1);
    kr_int(&t12, "opset", 12);
    kr_int(&t12, "axis", 1);
    const double want12[4] = {64, 64, 64, 64};
    expect_run(&t12, in, 3, d3, want12, 4);
    t_free_all();
}

/* ---- QLinearConcat ------------------------------------------------------------ */

static void test_qlinear_concat(void **state) {
    (void)state;
    const int64_t d1[2] = {2, 1}, d2[2] = {2, 2}, dy[2] = {2, 3};
    const uint8_t x1[2] = {10, 11}, x2[4] = {10, 20, 12, 14};
    /* X1 has the output's parameters (copied); X2 (scale 0.5, zp 10) is requantized. */
    const struct qrun_tensor *in[8] = {
        t_scale(1.0f), t_zp_u8(0), t_new(QRUN_DTYPE_UINT8, 2, d1, x1),
        t_scale(1.0f), t_zp_u8(0), t_new(QRUN_DTYPE_UINT8, 2, d2, x2),
        t_scale(0.5f), t_zp_u8(10)};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_MS_QLINEAR_CONCAT, 1, 8, 1);
    kr_int(&tn, "axis", 1);
    const double want[6] = {10, 0, 5, 11, 1, 2};
    expect_run(&tn, in, 2, dy, want, 6);
    t_free_all();
}

/* ---- pools --------------------------------------------------------------------- */

static void test_qlinear_global_average_pool(void **state) {
    (void)state;
    const int64_t d[4] = {1, 2, 2, 2}, dy[4] = {1, 2, 1, 1}, dyl[4] = {1, 1, 1, 2};
    const uint8_t nchw[8] = {1, 2, 3, 4, 10, 10, 10, 11};
    const uint8_t nhwc[8] = {1, 10, 2, 10, 3, 10, 4, 11};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_MS_QLINEAR_GLOBAL_AVERAGE_POOL, 1, 5, 1);
    const struct qrun_tensor *in[5] = {t_new(QRUN_DTYPE_UINT8, 4, d, nchw), t_scale(1.0f),
                                       t_zp_u8(0), t_scale(0.5f), t_zp_u8(1)};
    /* Means 2.5 and 10.25 -> 5 and 20.5; 20.5 rounds to 20 before the zero point (ORT). */
    const double want[2] = {6, 21};
    expect_run(&tn, in, 4, dy, want, 2);
    kr_int(&tn, "channels_last", 1);
    in[0] = t_new(QRUN_DTYPE_UINT8, 4, d, nhwc);
    expect_run(&tn, in, 4, dyl, want, 2);
    t_free_all();
}

static void test_qlinear_average_pool(void **state) {
    (void)state;
    const int64_t d[4] = {1, 1, 3, 3}, dy[4] = {1, 1, 2, 2};
    const int64_t dl[4] = {1, 3, 3, 2}, dyl[4] = {1, 2, 2, 2}, k[2] = {2, 2};
    int8_t x[9], xl[18];
    for (int i = 0; i < 9; i++) {
        x[i] = (int8_t)i;
        xl[2 * i] = (int8_t)i;
        xl[2 * i + 1] = (int8_t)(i - 100);
    }
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_MS_QLINEAR_AVERAGE_POOL, 1, 5, 1);
    kr_ints(&tn, "kernel_shape", 2, k);
    const struct qrun_tensor *in[5] = {t_new(QRUN_DTYPE_INT8, 4, d, x), t_scale(1.0f), t_zp_i8(0),
                                       t_scale(1.0f), t_zp_i8(0)};
    const double want[4] = {2, 3, 5, 6};
    expect_run(&tn, in, 4, dy, want, 4);
    /* NHWC, two channels: the second is the first minus 100. */
    kr_int(&tn, "channels_last", 1);
    in[0] = t_new(QRUN_DTYPE_INT8, 4, dl, xl);
    const double wantl[8] = {2, -98, 3, -97, 5, -95, 6, -94};
    expect_run(&tn, in, 4, dyl, wantl, 8);
    /* Padding without count_include_pad averages the in-range points only. */
    kr_node tp;
    kr_node_init(&tp, QRUN_OP_MS_QLINEAR_AVERAGE_POOL, 1, 5, 1);
    kr_ints(&tp, "kernel_shape", 2, k);
    const int64_t pads[4] = {1, 1, 0, 0}, dp[4] = {1, 1, 3, 3};
    kr_ints(&tp, "pads", 4, pads);
    in[0] = t_new(QRUN_DTYPE_INT8, 4, d, x);
    /* Means 0, 0.5, 1.5 / 1.5, 2, 3 / 4.5, 5, 6, rounded half to even. */
    const double wantp[9] = {0, 0, 2, 2, 2, 3, 4, 5, 6};
    expect_run(&tp, in, 4, dp, wantp, 9);
    t_free_all();
}

/* ---- QGemm ---------------------------------------------------------------------- */

static void test_qgemm_float_per_column(void **state) {
    (void)state;
    const int64_t da[2] = {2, 2}, db[2] = {2, 3}, dn[1] = {3}, dy[2] = {2, 3};
    const uint8_t a[4] = {3, 1, 1, 5};
    const int8_t b[6] = {1, 2, 3, 4, 5, 6}, bzp[3] = {0, 1, 2};
    const float bs[3] = {1.0f, 2.0f, 0.5f};
    const int32_t c[3] = {1, 0, -1};
    /* (A - 1) = [[2,0],[0,4]], B - bzp = [[1,1,1],[4,4,4]] -> [[2,2,2],[16,16,16]] + C. */
    const struct qrun_tensor *in[7] = {t_new(QRUN_DTYPE_UINT8, 2, da, a),
                                       t_scale(0.5f),
                                       t_zp_u8(1),
                                       t_new(QRUN_DTYPE_INT8, 2, db, b),
                                       t_new(QRUN_DTYPE_FLOAT, 1, dn, bs),
                                       t_new(QRUN_DTYPE_INT8, 1, dn, bzp),
                                       t_new(QRUN_DTYPE_INT32, 1, dn, c)};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_MS_QGEMM, 1, 7, 1);
    const double want[6] = {1.5, 2, 0.25, 8.5, 16, 3.75};
    expect_run(&tn, in, 2, dy, want, 6);
    /* alpha scales the float output. */
    kr_float(&tn, "alpha", 2.0f);
    const double want2[6] = {3, 4, 0.5, 17, 32, 7.5};
    expect_run(&tn, in, 2, dy, want2, 6);
    t_free_all();
}

static void test_qgemm_quantized_trans_b(void **state) {
    (void)state;
    const int64_t da[2] = {2, 2}, dbt[2] = {3, 2}, dn[1] = {3}, dy[2] = {2, 3};
    const uint8_t a[4] = {3, 1, 1, 5};
    const int8_t bt[6] = {1, 4, 2, 5, 3, 6}, bzp[3] = {0, 1, 2}; /* B^T of the case above */
    const float bs[3] = {1.0f, 2.0f, 0.5f};
    const int32_t c[3] = {1, 0, -1};
    const struct qrun_tensor *in[9] = {t_new(QRUN_DTYPE_UINT8, 2, da, a),
                                       t_scale(0.5f),
                                       t_zp_u8(1),
                                       t_new(QRUN_DTYPE_INT8, 2, dbt, bt),
                                       t_new(QRUN_DTYPE_FLOAT, 1, dn, bs),
                                       t_new(QRUN_DTYPE_INT8, 1, dn, bzp),
                                       t_new(QRUN_DTYPE_INT32, 1, dn, c),
                                       t_scale(0.5f),
                                       t_zp_u8(10)};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_MS_QGEMM, 1, 9, 1);
    kr_int(&tn, "transB", 1);
    /* multiplier = 0.5 * b_scale / 0.5; 15 * 0.5 = 7.5 rounds to 8 before the zero point. */
    const double want[6] = {13, 14, 10, 27, 42, 18};
    expect_run(&tn, in, 2, dy, want, 6);
    t_free_all();
}

/* ---- contrib QuantizeLinear / DequantizeLinear / QLinearConv ------------------- */

static void test_ms_quantize_dequantize(void **state) {
    (void)state;
    const int64_t d[2] = {2, 2}, d2[1] = {2};
    const float x[4] = {1.0f, -1.0f, 2.5f, 300.0f};
    /* Per tensor (no axis): x / 0.5 + 10, saturating. */
    const struct qrun_tensor *in[3] = {t_new(QRUN_DTYPE_FLOAT, 2, d, x), t_scale(0.5f),
                                       t_zp_u8(10)};
    kr_node tq;
    kr_node_init(&tq, QRUN_OP_MS_QUANTIZE_LINEAR, 1, 3, 1);
    const double wantq[4] = {12, 8, 15, 255};
    expect_run(&tq, in, 2, d, wantq, 4);
    /* Per axis with axis = 1 set. */
    const int8_t q[4] = {1, 2, 3, 4}, zp[2] = {0, 1};
    const float s[2] = {1.0f, 10.0f};
    const struct qrun_tensor *din[3] = {t_new(QRUN_DTYPE_INT8, 2, d, q),
                                        t_new(QRUN_DTYPE_FLOAT, 1, d2, s),
                                        t_new(QRUN_DTYPE_INT8, 1, d2, zp)};
    kr_node td;
    kr_node_init(&td, QRUN_OP_MS_DEQUANTIZE_LINEAR, 1, 3, 1);
    kr_int(&td, "axis", 1);
    const double wantd[4] = {1, 10, 3, 30};
    expect_run(&td, din, 2, d, wantd, 4);
    /* Without axis a 1-D scale is an error. */
    kr_node tbad;
    kr_node_init(&tbad, QRUN_OP_MS_DEQUANTIZE_LINEAR, 1, 3, 1);
    expect_infer_error(&tbad, din, QRUN_E_MODEL, "no axis");
    t_free_all();
}

static void test_ms_qlinear_conv(void **state) {
    (void)state;
    const int64_t dx[4] = {1, 1, 2, 2}, dw[4] = {1, 1, 1, 1}, dy[4] = {1, 1, 2, 2};
    const uint8_t x[4] = {0, 1, 2, 3}, w[1] = {3};
    const struct qrun_tensor *in[8] = {t_new(QRUN_DTYPE_UINT8, 4, dx, x),
                                       t_scale(1.0f),
                                       t_zp_u8(0),
                                       t_new(QRUN_DTYPE_UINT8, 4, dw, w),
                                       t_scale(0.5f),
                                       t_zp_u8(1),
                                       t_scale(1.0f),
                                       t_zp_u8(100)};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_MS_QLINEAR_CONV, 1, 8, 1);
    /* x * (3 - 1) * 0.5 + 100 */
    const double want[4] = {100, 101, 102, 103};
    expect_run(&tn, in, 4, dy, want, 4);
    /* channels_last: X and Y are NHWC; W stays M x C x kH x kW. 1x1 conv, 2 -> 2 channels. */
    const int64_t dxl[4] = {1, 2, 2, 2}, dwl[4] = {2, 2, 1, 1};
    const uint8_t xl[8] = {0, 10, 1, 10, 2, 10, 3, 10}, wl[4] = {1, 0, 1, 1};
    const struct qrun_tensor *inl[8] = {t_new(QRUN_DTYPE_UINT8, 4, dxl, xl),
                                        t_scale(1.0f),
                                        t_zp_u8(0),
                                        t_new(QRUN_DTYPE_UINT8, 4, dwl, wl),
                                        t_scale(1.0f),
                                        t_zp_u8(0),
                                        t_scale(1.0f),
                                        t_zp_u8(0)};
    kr_node tl;
    kr_node_init(&tl, QRUN_OP_MS_QLINEAR_CONV, 1, 8, 1);
    kr_int(&tl, "channels_last", 1);
    const double wantl[8] = {0, 10, 1, 11, 2, 12, 3, 13};
    expect_run(&tl, inl, 4, dxl, wantl, 8);
    t_free_all();
}

/* A 3x3 padded, strided conv in NHWC equals the NCHW conv on transposed data. */
static void test_ms_qlinear_conv_channels_last_matches_nchw(void **state) {
    (void)state;
    enum { C = 3, H = 5, W = 4, M = 2 };
    const int64_t dx[4] = {1, C, H, W}, dxl[4] = {1, H, W, C}, dw[4] = {M, C, 3, 3};
    uint8_t x[C * H * W], xl[C * H * W];
    int8_t w[M * C * 9];
    for (int i = 0; i < C * H * W; i++)
        x[i] = (uint8_t)((i * 37 + 11) % 256);
    for (int c = 0; c < C; c++)
        for (int s = 0; s < H * W; s++)
            xl[s * C + c] = x[c * H * W + s];
    for (int i = 0; i < M * C * 9; i++)
        w[i] = (int8_t)((i * 29) % 41 - 20);
    const float ws[M] = {0.01f, 0.02f};
    const int64_t dm[1] = {M}, pads[4] = {1, 1, 1, 1}, strides[2] = {2, 1};
    const struct qrun_tensor *in[8] = {t_new(QRUN_DTYPE_UINT8, 4, dx, x),
                                       t_scale(0.05f),
                                       t_zp_u8(128),
                                       t_new(QRUN_DTYPE_INT8, 4, dw, w),
                                       t_new(QRUN_DTYPE_FLOAT, 1, dm, ws),
                                       t_zp_i8(0),
                                       t_scale(0.1f),
                                       t_zp_u8(120)};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_MS_QLINEAR_CONV, 1, 8, 1);
    kr_ints(&tn, "pads", 4, pads);
    kr_ints(&tn, "strides", 2, strides);
    struct qrun_tensor *ref[1] = {NULL}, *got[1] = {NULL};
    qrun_err err = {{0}};
    assert_int_equal(kr_run_new(&tn, in, ref, 1, &err), QRUN_OK);
    kr_int(&tn, "channels_last", 1);
    in[0] = t_new(QRUN_DTYPE_UINT8, 4, dxl, xl);
    assert_int_equal(kr_run_new(&tn, in, got, 1, &err), QRUN_OK);
    int64_t oh = ref[0]->dims[2], ow = ref[0]->dims[3];
    const int64_t dyl[4] = {1, oh, ow, M};
    kr_assert_dims(got[0], 4, dyl);
    int distinct = 0;
    for (int m = 0; m < M; m++) {
        for (int64_t s = 0; s < oh * ow; s++) {
            double want = kr_get(ref[0], m * oh * ow + s);
            distinct += want != kr_get(ref[0], 0);
            assert_true(kr_get(got[0], s * M + m) == want);
        }
    }
    assert_true(distinct > 0); /* the case is not trivially constant */
    kr_tensor_free(ref[0]);
    kr_tensor_free(got[0]);
    t_free_all();
}

/* ---- load-time errors ---------------------------------------------------------- */

static void test_qparam_errors(void **state) {
    (void)state;
    const int64_t d[1] = {2};
    const uint8_t a[2] = {1, 2};
    const float two[2] = {1.0f, 2.0f};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_MS_QLINEAR_ADD, 1, 8, 1);
    const struct qrun_tensor *in[8] = {t_new(QRUN_DTYPE_UINT8, 1, d, a),
                                       t_scale(1.0f),
                                       NULL,
                                       t_new(QRUN_DTYPE_UINT8, 1, d, a),
                                       t_scale(1.0f),
                                       NULL,
                                       t_scale(1.0f),
                                       NULL};
    /* A scale that is not a scalar. */
    in[1] = t_new(QRUN_DTYPE_FLOAT, 1, d, two);
    expect_infer_error(&tn, in, QRUN_E_MODEL, "must be a scalar");
    /* A non-positive or non-finite constant scale. */
    in[1] = t_scale(-1.0f);
    expect_infer_error(&tn, in, QRUN_E_MODEL, "positive and finite");
    in[1] = t_scale(INFINITY);
    expect_infer_error(&tn, in, QRUN_E_MODEL, "positive and finite");
    in[1] = t_scale(1.0f);
    /* A zero point of the wrong type. */
    in[7] = t_zp_i8(0);
    expect_infer_error(&tn, in, QRUN_E_MODEL, "zero point (input 7)");
    in[7] = NULL;
    /* Operands of different types. */
    const int8_t ai[2] = {1, 2};
    in[3] = t_new(QRUN_DTYPE_INT8, 1, d, ai);
    expect_infer_error(&tn, in, QRUN_E_MODEL, "but B is int8");
    /* A float32 operand. */
    in[0] = t_new(QRUN_DTYPE_FLOAT, 1, d, two);
    expect_infer_error(&tn, in, QRUN_E_MODEL, "must be uint8 or int8");

    /* QGemm: b_scale of the wrong length, y_zero_point without y_scale. */
    const int64_t dm[2] = {2, 2}, d3[1] = {3};
    const uint8_t m4[4] = {1, 2, 3, 4};
    const float s3[3] = {1, 1, 1};
    kr_node tg;
    kr_node_init(&tg, QRUN_OP_MS_QGEMM, 1, 6, 1);
    const struct qrun_tensor *gin[9] = {t_new(QRUN_DTYPE_UINT8, 2, dm, m4),
                                        t_scale(1.0f),
                                        t_zp_u8(0),
                                        t_new(QRUN_DTYPE_UINT8, 2, dm, m4),
                                        t_new(QRUN_DTYPE_FLOAT, 1, d3, s3),
                                        t_zp_u8(0)};
    expect_infer_error(&tg, gin, QRUN_E_MODEL, "1-D of length 2");
    gin[4] = t_scale(1.0f);
    kr_io(&tg, 9, 1);
    gin[8] = t_zp_u8(0);
    expect_infer_error(&tg, gin, QRUN_E_MODEL, "without y_scale");

    /* QLinearConcat: inputs not in triples; QLinearSoftmax without its opset attribute. */
    kr_node tc;
    kr_node_init(&tc, QRUN_OP_MS_QLINEAR_CONCAT, 1, 6, 1);
    kr_int(&tc, "axis", 0);
    const struct qrun_tensor *cin[6] = {t_scale(1.0f), t_zp_u8(0), t_new(QRUN_DTYPE_UINT8, 1, d, a),
                                        t_scale(1.0f), t_zp_u8(0), t_scale(1.0f)};
    expect_infer_error(&tc, cin, QRUN_E_MODEL, "triples");
    kr_node ts;
    kr_node_init(&ts, QRUN_OP_MS_QLINEAR_SOFTMAX, 1, 5, 1);
    const struct qrun_tensor *sin[5] = {t_new(QRUN_DTYPE_UINT8, 1, d, a), t_scale(1.0f), t_zp_u8(0),
                                        t_scale(1.0f), t_zp_u8(0)};
    expect_infer_error(&ts, sin, QRUN_E_MODEL, "opset is required");
    t_free_all();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qlinear_add_broadcast_u8),
        cmocka_unit_test(test_qlinear_add_saturates_i8),
        cmocka_unit_test(test_qlinear_mul),
        cmocka_unit_test(test_qlinear_binary_vs_reference),
        cmocka_unit_test(test_qlinear_add_runtime_params),
        cmocka_unit_test(test_qlinear_sigmoid_i8),
        cmocka_unit_test(test_qlinear_leaky_relu_u8),
        cmocka_unit_test(test_qlinear_lut_exhaustive),
        cmocka_unit_test(test_qlinear_softmax),
        cmocka_unit_test(test_qlinear_concat),
        cmocka_unit_test(test_qlinear_global_average_pool),
        cmocka_unit_test(test_qlinear_average_pool),
        cmocka_unit_test(test_qgemm_float_per_column),
        cmocka_unit_test(test_qgemm_quantized_trans_b),
        cmocka_unit_test(test_ms_quantize_dequantize),
        cmocka_unit_test(test_ms_qlinear_conv),
        cmocka_unit_test(test_ms_qlinear_conv_channels_last_matches_nchw),
        cmocka_unit_test(test_qparam_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
