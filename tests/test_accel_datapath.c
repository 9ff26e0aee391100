/* SPDX-License-Identifier: Apache-2.0 */
/*
 * accel_sim datapaths: the accelerator's own MAC arithmetic (integer, FP8 float and wide
 * fixed-point accumulators, requantization in the row units) against cpu_ref and hand-computed
 * references: bit-identical with the same settings, measurably different with narrower
 * accumulators. Timing and energy: test_accel_sim.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "backends/accel_sim/timing.h"
#include "runtime/alloc.h"
#include "runtime/dtype.h"
#include "runtime/fp8_math.h"
#include "runtime/quant.h"
#include "tests/support/accel_sim_support.h"
#include "tests/support/datasets.h"
#include "tests/support/graph_builder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An ONNX node test case: its model, test_data_set_0 folder (into dir) and expected output 0. */
static void load_node_case(qrun_context *ctx,
                           const char *root,
                           const char *name,
                           char *dir,
                           size_t dir_cap,
                           qrun_model **m,
                           qrun_tensor **want) {
    char model[512], want_path[600];
    snprintf(model, sizeof model, "%s/%s/model.onnx", root, name);
    snprintf(dir, dir_cap, "%s/%s/test_data_set_0", root, name);
    snprintf(want_path, sizeof want_path, "%s/output_0.pb", dir);
    assert_int_equal(qrun_model_load(ctx, model, m), QRUN_OK);
    assert_int_equal(qrun_tensor_load_file(ctx, want_path, want), QRUN_OK);
}

/*
 * The ONNX backend node tests of the integer and QLinear MAC ops (Debian libonnx-testdata):
 * on edge_small each runs as one accel_sim node on the accelerator's datapath whose output equals
 * the expected one.
 */
static void test_backend_onnx_node_tests(void **state) {
    (void)state;
    static const char *const cases[] = {"test_qlinearconv", "test_qlinearmatmul_2D",
                                        "test_qlinearmatmul_3D", "test_convinteger_with_padding",
                                        "test_matmulinteger"};
    /* Output elements x reduction length: 7x7 x 1; 2x3 x 4; 2x2x3 x 4; 4x4 (pads 1) x 2x2; 4x2 x 3.
     */
    static const int64_t macs[] = {49, 24, 48, 64, 24};
    /* test_qlinearmatmul_3D multiplies batches of B matrices: not a weight-stationary layout the
     * datapath maps, so it runs on the host (with the same numbers). */
    static const int on_accel[] = {1, 1, 0, 1, 1};
    const char *root = "/usr/share/libonnx-testdata/data/node";
    if (access(root, R_OK) != 0)
        skip();
    qrun_context *ctx = NULL;
    qrun_hw *hw = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    assert_int_equal(qrun_hw_load(ctx, "edge_small", &hw), QRUN_OK);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char dir[512];
        qrun_model *m = NULL;
        qrun_tensor *want = NULL;
        load_node_case(ctx, root, cases[c], dir, sizeof dir, &m, &want);
        as_run_result sim;
        if (as_run_model(ctx, m, "accel_sim", hw, dir, &sim) != QRUN_OK)
            fail_msg("%s: %s", cases[c], qrun_context_errmsg(ctx));
        as_same_values(want, sim.out);
        if (sim.n_sim != 1 || sim.sum.n_accel != on_accel[c])
            fail_msg("%s: %d records, %d on the accelerator", cases[c], sim.n_sim, sim.sum.n_accel);
        if (!on_accel[c]) {
            qrun_tensor_free(sim.out);
            qrun_tensor_free(want);
            qrun_model_free(m);
            continue;
        }
        assert_int_equal(sim.first.macs, macs[c]);
        assert_true(sim.first.cycles >= 100 + sim.first.compute_cycles);
        assert_true(sim.first.utilization > 0 && sim.first.utilization <= 1);
        qrun_tensor_free(sim.out);
        qrun_tensor_free(want);
        qrun_model_free(m);
    }
    qrun_hw_free(hw);
    qrun_context_free(ctx);
}

/*
 * The integer accumulator width comes from the hardware description and saturates at every
 * add. a = 255 x 4, b's column 0 = (127, 127, -127, -127): products +-32385, exact sum 0.
 * int32 (speedai240's) gives cpu_ref's 0; an int16 register saturates: 32385, then
 * min(64770, 32767) = 32767, then 382, then -32003. Column 1 (1, 2, 3, 4) sums to 2550 either
 * way.
 */
static void test_datapath_int_accumulator(void **state) {
    (void)state;
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    static const int8_t brows[8] = {127, 1, 127, 2, -127, 3, -127, 4};
    qrun_model *m = as_build_matmul_integer(ctx, brows);
    int64_t ad[2] = {1, 4};
    static const uint8_t av[4] = {255, 255, 255, 255};
    qrun_tensor *a = as_u8_input(ctx, 2, ad, av);
    qrun_hw *hw32 = NULL, *hw16 = as_hw_with_accumulator(ctx, "speedai240", "uint8", "int", 16);
    assert_int_equal(qrun_hw_load(ctx, "speedai240", &hw32), QRUN_OK);
    qrun_tensor *ref = as_run_one(ctx, m, "cpu_ref", NULL, QRUN_FP8_ACCUM_FP32, a);
    qrun_tensor *y32 = as_run_one(ctx, m, "accel_sim", hw32, QRUN_FP8_ACCUM_FP32, a);
    qrun_tensor *y16 = as_run_one(ctx, m, "accel_sim", hw16, QRUN_FP8_ACCUM_FP32, a);
    const int32_t *r = qrun_tensor_data_const(ref), *p32 = qrun_tensor_data_const(y32),
                  *p16 = qrun_tensor_data_const(y16);
    assert_int_equal(r[0], 0);
    assert_int_equal(r[1], 2550);
    assert_int_equal(p32[0], 0);
    assert_int_equal(p32[1], 2550);
    assert_int_equal(p16[0], -32003);
    assert_int_equal(p16[1], 2550);
    qrun_tensor_free(ref);
    qrun_tensor_free(y32);
    qrun_tensor_free(y16);
    qrun_tensor_free(a);
    qrun_hw_free(hw32);
    qrun_hw_free(hw16);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

/*
 * A real model with narrower accumulators: mnist ConvInteger/MatMulInteger on its reference
 * digit (a 7). Its partial sums pass 2^15 but stay below 2^17: an 18-bit register gives
 * cpu_ref's logits exactly, a 16-bit one clips some sums (logits move, the 7 still wins), a
 * 12-bit one clips more (the logits shrink several-fold).
 */
static void test_datapath_narrow_accumulator_model(void **state) {
    (void)state;
    const char *path = MODELS "/int8/integer/mnist_convinteger_matmulinteger/model_quantized.onnx";
    const char *dir = MODELS
        "/refs/int8__integer__mnist_convinteger_matmulinteger__model_quantized/test_data_set_0";
    if (access(path, R_OK) != 0 || access(dir, R_OK) != 0)
        skip();
    qrun_context *ctx = NULL;
    qrun_model *m = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    assert_int_equal(qrun_model_load(ctx, path, &m), QRUN_OK);
    static const int bits[] = {18, 16, 12};
    double change[3];
    as_run_result ref;
    assert_int_equal(as_run_model(ctx, m, "cpu_ref", NULL, dir, &ref), QRUN_OK);
    for (int b = 0; b < 3; b++) {
        qrun_hw *hw = as_hw_with_accumulator(ctx, "speedai240", "uint8", "int", bits[b]);
        as_run_result r;
        assert_int_equal(as_run_model(ctx, m, "accel_sim", hw, dir, &r), QRUN_OK);
        change[b] = 0;
        int64_t top = 0;
        for (int64_t i = 0; i < qrun_tensor_numel(ref.out); i++) {
            double v = qrun_tensor_get_f64(r.out, i);
            change[b] = fmax(change[b], fabs(v - qrun_tensor_get_f64(ref.out, i)));
            if (v > qrun_tensor_get_f64(r.out, top))
                top = i;
        }
        if (bits[b] >= 16)
            assert_int_equal(top, 7);
        qrun_tensor_free(r.out);
        qrun_hw_free(hw);
    }
    print_message("mnist integer, largest logit change: int18 %g, int16 %g, int12 %g\n", change[0],
                  change[1], change[2]);
    assert_true(change[0] == 0);
    assert_true(change[1] > 0.1);
    assert_true(change[2] > change[1]);
    qrun_tensor_free(ref.out);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

/* FP8 QLinearConv (E4M3FN, 8 -> 4 channels, 3x3, pad 1, 6x6) with a float32 bias. */
#define FC 8
#define FM 4
#define FH 6
static uint8_t g_w[FM * FC * 9];
static float g_bias[FM] = {0.5f, -1.25f, 0.0f, 3.0f};
static const float g_xs = 0.5f, g_ws = 0.25f, g_ys = 2.0f;

static qrun_model *build_fp8_conv(qrun_context *ctx) {
    gbuild *b = gb_new(21);
    int64_t xd[4] = {1, FC, FH, FH}, wd[4] = {FM, FC, 3, 3}, bd[1] = {FM};
    gb_input(b, "x", T_E4M3FN, 4, xd);
    uint8_t zero = 0;
    gb_scalar_f32(b, "xs", g_xs);
    gb_init(b, "xz", T_E4M3FN, 0, NULL, &zero, 1);
    gb_init(b, "w", T_E4M3FN, 4, wd, g_w, sizeof g_w);
    gb_scalar_f32(b, "ws", g_ws);
    gb_init(b, "wz", T_E4M3FN, 0, NULL, &zero, 1);
    gb_scalar_f32(b, "ys", g_ys);
    gb_init(b, "yz", T_E4M3FN, 0, NULL, &zero, 1);
    gb_init(b, "bias", T_FLOAT, 1, bd, g_bias, sizeof g_bias);
    Onnx__NodeProto *n = gb_node(b, "QLinearConv", "conv", "x xs xz w ws wz ys yz bias", "y");
    gb_attr_ints(b, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    gb_output(b, "y");
    return as_load_built(ctx, b);
}

/*
 * Reference of a fixed-point accumulator with its LSB at 2^-18 (E4M3FN's least value 2^-9,
 * squared) and `bits` bits: the exact sum (double is exact here: |terms| < 2^10, 2^-18 grid)
 * with saturation at every add, then the row unit's requantization.
 */
static void fp8_conv_fixed_ref(const uint8_t *x, int bits, uint8_t *y, int *saturated) {
    double lsb = ldexp(1, -18), hi = (ldexp(1, bits - 1) - 1) * lsb, lo = -ldexp(1, bits - 1) * lsb;
    float mult = (float)qrun_requant_multiplier(g_xs, g_ws, g_ys, QRUN_DTYPE_FLOAT);
    *saturated = 0;
    for (int m = 0; m < FM; m++) {
        for (int oy = 0; oy < FH; oy++) {
            for (int ox = 0; ox < FH; ox++) {
                double sum = 0;
                for (int c = 0; c < FC; c++) {
                    for (int ky = 0; ky < 3; ky++) {
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = oy + ky - 1, ix = ox + kx - 1;
                            if (iy < 0 || iy >= FH || ix < 0 || ix >= FH)
                                continue;
                            double p = (double)qrun_fp8_decode(QRUN_DTYPE_FLOAT8E4M3FN,
                                                               x[(c * FH + iy) * FH + ix]) *
                                       qrun_fp8_decode(QRUN_DTYPE_FLOAT8E4M3FN,
                                                       g_w[((m * FC + c) * 3 + ky) * 3 + kx]);
                            sum += p;
                            if (sum > hi || sum < lo) {
                                sum = sum > hi ? hi : lo;
                                (*saturated)++;
                            }
                        }
                    }
                }
                y[(m * FH + oy) * FH + ox] = qrun_fp8_requantize(
                    QRUN_DTYPE_FLOAT8E4M3FN, (float)sum, mult, g_bias[m] / g_ys);
            }
        }
    }
}

static int count_diff(const qrun_tensor *a, const qrun_tensor *b) {
    const uint8_t *p = qrun_tensor_data_const(a), *q = qrun_tensor_data_const(b);
    int n = 0;
    for (size_t i = 0; i < qrun_tensor_nbytes(a); i++)
        n += p[i] != q[i];
    return n;
}

/*
 * The FP8 datapath on each accumulator of the hardware description:
 *   float32 (speedai240's fp8e4m3): bit-identical to cpu_ref (default FP32 accumulator);
 *   float16: bit-identical to cpu_ref with --fp8-accum fp16, and different from float32;
 *   fixed 48: the exactly rounded sum (the reference above), different from float32 sums;
 *   fixed 24: saturates at +-32 (2^23 x 2^-18): equals the saturating reference.
 */
static void test_datapath_fp8_accumulators(void **state) {
    (void)state;
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    uint32_t seed = 7;
    for (size_t i = 0; i < sizeof g_w; i++) {
        seed = seed * 1664525u + 1013904223u;
        uint8_t c;
        do {
            c = (uint8_t)(seed >> 13);
            seed = seed * 1664525u + 1013904223u;
        } while (!(fabsf(qrun_fp8_decode(QRUN_DTYPE_FLOAT8E4M3FN, c)) <= 16.0f));
        g_w[i] = c;
    }
    qrun_model *m = build_fp8_conv(ctx);
    int64_t xd[4] = {1, FC, FH, FH};
    uint8_t xv[FC * FH * FH];
    for (size_t i = 0; i < sizeof xv; i++) {
        do {
            seed = seed * 1664525u + 1013904223u;
            xv[i] = (uint8_t)(seed >> 11);
        } while (!(fabsf(qrun_fp8_decode(QRUN_DTYPE_FLOAT8E4M3FN, xv[i])) <= 8.0f));
    }
    qrun_tensor *x = NULL;
    assert_int_equal(qrun_tensor_create(ctx, QRUN_DTYPE_FLOAT8E4M3FN, 4, xd, NULL, &x), QRUN_OK);
    memcpy(qrun_tensor_data(x), xv, sizeof xv);

    qrun_hw *f32 = NULL;
    assert_int_equal(qrun_hw_load(ctx, "speedai240", &f32), QRUN_OK);
    qrun_hw *f16 = as_hw_with_accumulator(ctx, "speedai240", "fp8e4m3", "float", 16);
    qrun_hw *fx48 = as_hw_with_accumulator(ctx, "speedai240", "fp8e4m3", "fixed", 48);
    qrun_hw *fx24 = as_hw_with_accumulator(ctx, "speedai240", "fp8e4m3", "fixed", 24);
    qrun_tensor *ref32 = as_run_one(ctx, m, "cpu_ref", NULL, QRUN_FP8_ACCUM_FP32, x);
    qrun_tensor *ref16 = as_run_one(ctx, m, "cpu_ref", NULL, QRUN_FP8_ACCUM_FP16, x);
    qrun_tensor *y32 = as_run_one(ctx, m, "accel_sim", f32, QRUN_FP8_ACCUM_FP32, x);
    qrun_tensor *y16 = as_run_one(ctx, m, "accel_sim", f16, QRUN_FP8_ACCUM_FP32, x);
    qrun_tensor *y48 = as_run_one(ctx, m, "accel_sim", fx48, QRUN_FP8_ACCUM_FP32, x);
    qrun_tensor *y24 = as_run_one(ctx, m, "accel_sim", fx24, QRUN_FP8_ACCUM_FP32, x);
    as_same_values(ref32, y32);
    as_same_values(ref16, y16);
    int d16 = count_diff(y32, y16), d48 = count_diff(y32, y48), d24 = count_diff(y48, y24);
    uint8_t want[FM * FH * FH];
    int sat48 = 0, sat24 = 0;
    fp8_conv_fixed_ref(xv, 48, want, &sat48);
    assert_int_equal(sat48, 0);
    assert_memory_equal(qrun_tensor_data_const(y48), want, sizeof want);
    fp8_conv_fixed_ref(xv, 24, want, &sat24);
    assert_memory_equal(qrun_tensor_data_const(y24), want, sizeof want);
    print_message("FP8 conv, %d outputs: float16 vs float32 accumulator differ in %d; fixed48 vs "
                  "float32 in %d; fixed24 saturated %d partial sums, %d outputs differ from "
                  "fixed48\n",
                  FM * FH * FH, d16, d48, sat24, d24);
    assert_true(d16 > 0);
    assert_true(sat24 > 0 && d24 > 0);
    qrun_tensor *outs[] = {ref32, ref16, y32, y16, y48, y24};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
        qrun_tensor_free(outs[i]);
    qrun_hw *hws[] = {f32, f16, fx48, fx24};
    for (size_t i = 0; i < sizeof hws / sizeof hws[0]; i++)
        qrun_hw_free(hws[i]);
    qrun_tensor_free(x);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

/* Every real quantized model: the accelerator's datapath with int32 accumulators gives
 * cpu_ref's outputs bit for bit, in both requantization modes. */
static void test_datapath_real_models_bit_identical(void **state) {
    (void)state;
    static const char *const models[] = {
        "int8/qoperator/ic_quantized_int8.onnx",
        "int8/qoperator/ks_quantized_int8.onnx",
        "int8/qoperator/mobilenetv2-12-int8.onnx",
        "int8/qdq/mlperftiny_ad_deep_autoencoder_qdq.onnx",
        "int8/qdq/mlperftiny_ic_resnet8_qdq.onnx",
        "int8/qdq/mlperftiny_kws_dscnn_qdq.onnx",
        "int8/integer/mnist_convinteger_matmulinteger/model_quantized.onnx",
    };
    qrun_context *ctx = NULL;
    qrun_hw *hw = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    assert_int_equal(qrun_hw_load(ctx, "speedai240", &hw), QRUN_OK);
    for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", MODELS, models[k]);
        if (access(path, R_OK) != 0)
            continue;
        qrun_model *m = NULL;
        assert_int_equal(qrun_model_load(ctx, path, &m), QRUN_OK);
        /* MobileNetV2 (300 M MACs on the scalar datapath model) once: ASan builds are slow. */
        int modes = strstr(models[k], "mobilenet") ? 1 : 2;
        for (int mode = 0; mode < modes; mode++) {
            qrun_session_options so;
            qrun_session_options_init(&so);
            so.requant = mode ? QRUN_REQUANT_FIXED : QRUN_REQUANT_FLOAT;
            as_run_result ref, sim;
            assert_int_equal(as_run_model_opts(ctx, m, &so, NULL, &ref), QRUN_OK);
            so.backend = "accel_sim";
            so.hw = hw;
            if (as_run_model_opts(ctx, m, &so, NULL, &sim) != QRUN_OK)
                fail_msg("%s: %s", models[k], qrun_context_errmsg(ctx));
            as_same_values(ref.out, sim.out);
            assert_true(sim.sum.n_accel > 0 && sim.sum.macs > 0);
            as_assert_consistent(&sim, 3.5 + 46.6); /* chip static + board */
            qrun_tensor_free(ref.out);
            qrun_tensor_free(sim.out);
        }
        qrun_model_free(m);
    }
    qrun_hw_free(hw);
    qrun_context_free(ctx);
}

/* Bad parameters give an error naming the node, not a crash: w_scale with 3 elements for 4
 * output channels. */
static void test_datapath_bad_params(void **state) {
    (void)state;
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    gbuild *b = gb_new(13);
    int64_t xd[4] = {1, 2, 3, 3}, wd[4] = {4, 2, 1, 1}, sd[1] = {3};
    gb_input(b, "x", T_UINT8, 4, xd);
    int8_t w[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float ws[3] = {0.1f, 0.2f, 0.3f};
    gb_scalar_f32(b, "xs", 0.5f);
    gb_scalar_u8(b, "xz", 0);
    gb_init(b, "w", T_INT8, 4, wd, w, sizeof w);
    gb_init(b, "ws", T_FLOAT, 1, sd, ws, sizeof ws);
    gb_scalar_i8(b, "wz", 0);
    gb_scalar_f32(b, "ys", 1.0f);
    gb_scalar_u8(b, "yz", 0);
    gb_node(b, "QLinearConv", "badconv", "x xs xz w ws wz ys yz", "y");
    gb_output(b, "y");
    qrun_model *m = NULL;
    size_t n = 0;
    uint8_t *buf = gb_pack(b, &n);
    gb_free(b);
    qrun_status st = qrun_model_load_bytes(ctx, buf, n, NULL, &m);
    free(buf);
    if (st == QRUN_OK) {
        qrun_hw *hw = NULL;
        assert_int_equal(qrun_hw_load(ctx, "edge_small", &hw), QRUN_OK);
        qrun_session_options so;
        qrun_session_options_init(&so);
        so.backend = "accel_sim";
        so.hw = hw;
        qrun_session *sess = NULL;
        st = qrun_session_create(ctx, m, &so, &sess);
        qrun_session_free(sess);
        qrun_hw_free(hw);
        qrun_model_free(m);
    }
    assert_int_not_equal(st, QRUN_OK);
    print_message("%s\n", qrun_context_errmsg(ctx));
    assert_non_null(strstr(qrun_context_errmsg(ctx), "badconv"));
    qrun_context_free(ctx);
}

/* ONNX 1.22 node tests of QLinearMatMul with int8/uint8 operands and float16/float32 scales:
 * on the accelerator's datapath, outputs equal the expected ones. */
static void test_datapath_onnx122_qlinearmatmul(void **state) {
    (void)state;
    static const char *const cases[] = {
        "test_qlinearmatmul_2D_int8_float16", "test_qlinearmatmul_2D_int8_float32",
        "test_qlinearmatmul_2D_uint8_float16", "test_qlinearmatmul_2D_uint8_float32"};
    const char *root = MODELS "/onnx-node-v1.22";
    if (access(root, R_OK) != 0)
        skip();
    qrun_context *ctx = NULL;
    qrun_hw *hw = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    assert_int_equal(qrun_hw_load(ctx, "speedai240", &hw), QRUN_OK);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char dir[512];
        qrun_model *m = NULL;
        qrun_tensor *want = NULL;
        load_node_case(ctx, root, cases[c], dir, sizeof dir, &m, &want);
        as_run_result sim;
        if (as_run_model(ctx, m, "accel_sim", hw, dir, &sim) != QRUN_OK)
            fail_msg("%s: %s", cases[c], qrun_context_errmsg(ctx));
        if (sim.sum.n_accel != 1)
            fail_msg("%s: %d nodes on the accelerator", cases[c], sim.sum.n_accel);
        as_same_values(want, sim.out);
        qrun_tensor_free(sim.out);
        qrun_tensor_free(want);
        qrun_model_free(m);
    }
    qrun_hw_free(hw);
    qrun_context_free(ctx);
}

/* FP8 QLinearMatMul (E4M3FN, [3, 40] x [40, 5]): float32 and float16 accumulators give cpu_ref's
 * outputs with the matching --fp8-accum. */
static void test_datapath_fp8_matmul(void **state) {
    (void)state;
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    gbuild *b = gb_new(21);
    int64_t ad[2] = {3, 40}, bd[2] = {40, 5};
    gb_input(b, "a", T_E4M3FN, 2, ad);
    uint8_t zero = 0, bw[200];
    uint32_t seed = 99;
    for (size_t i = 0; i < sizeof bw; i++) {
        do {
            seed = seed * 1664525u + 1013904223u;
            bw[i] = (uint8_t)(seed >> 12);
        } while (!(fabsf(qrun_fp8_decode(QRUN_DTYPE_FLOAT8E4M3FN, bw[i])) <= 32.0f));
    }
    gb_scalar_f32(b, "as", 0.5f);
    gb_init(b, "az", T_E4M3FN, 0, NULL, &zero, 1);
    gb_init(b, "b", T_E4M3FN, 2, bd, bw, sizeof bw);
    gb_scalar_f32(b, "bs", 0.125f);
    gb_init(b, "bz", T_E4M3FN, 0, NULL, &zero, 1);
    gb_scalar_f32(b, "ys", 4.0f);
    gb_init(b, "yz", T_E4M3FN, 0, NULL, &zero, 1);
    gb_node(b, "QLinearMatMul", "mm", "a as az b bs bz ys yz", "y");
    gb_output(b, "y");
    qrun_model *m = as_load_built(ctx, b);
    qrun_tensor *a = NULL;
    assert_int_equal(qrun_tensor_create(ctx, QRUN_DTYPE_FLOAT8E4M3FN, 2, ad, NULL, &a), QRUN_OK);
    uint8_t *av = qrun_tensor_data(a);
    for (int i = 0; i < 120; i++) {
        do {
            seed = seed * 1664525u + 1013904223u;
            av[i] = (uint8_t)(seed >> 12);
        } while (!(fabsf(qrun_fp8_decode(QRUN_DTYPE_FLOAT8E4M3FN, av[i])) <= 32.0f));
    }
    qrun_hw *f32 = NULL, *f16 = as_hw_with_accumulator(ctx, "speedai240", "fp8e4m3", "float", 16);
    assert_int_equal(qrun_hw_load(ctx, "speedai240", &f32), QRUN_OK);
    qrun_tensor *r32 = as_run_one(ctx, m, "cpu_ref", NULL, QRUN_FP8_ACCUM_FP32, a);
    qrun_tensor *r16 = as_run_one(ctx, m, "cpu_ref", NULL, QRUN_FP8_ACCUM_FP16, a);
    qrun_tensor *y32 = as_run_one(ctx, m, "accel_sim", f32, QRUN_FP8_ACCUM_FP32, a);
    qrun_tensor *y16 = as_run_one(ctx, m, "accel_sim", f16, QRUN_FP8_ACCUM_FP32, a);
    as_same_values(r32, y32);
    as_same_values(r16, y16);
    qrun_tensor *outs[] = {r32, r16, y32, y16, a};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
        qrun_tensor_free(outs[i]);
    qrun_hw_free(f32);
    qrun_hw_free(f16);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

/* Top-1 of the mnist integer model on the first n MNIST test digits, one session. */
static int mnist_top1(qrun_context *ctx,
                      const qrun_model *m,
                      const char *backend,
                      const qrun_hw *hw,
                      const ds_set *d,
                      int n,
                      int *pred) {
    qrun_session_options so;
    qrun_session_options_init(&so);
    so.backend = backend;
    so.hw = hw;
    qrun_session *sess = NULL;
    if (qrun_session_create(ctx, m, &so, &sess))
        fail_msg("%s", qrun_context_errmsg(ctx));
    int64_t dims[4] = {1, 1, 28, 28};
    qrun_tensor *in = NULL;
    assert_int_equal(qrun_tensor_create(ctx, QRUN_DTYPE_FLOAT, 4, dims, NULL, &in), QRUN_OK);
    ds_preproc pp;
    ds_preproc_init(&pp);
    pp.div = 255.0f; /* the model's preprocessing (MANIFEST: pixels/255) */
    int correct = 0;
    for (int i = 0; i < n; i++) {
        ds_preprocess(d, i, &pp, qrun_tensor_data(in));
        qrun_tensor *out = NULL;
        if (qrun_session_run(sess, (const qrun_tensor *const *)&in, 1, &out, 1))
            fail_msg("%s", qrun_context_errmsg(ctx));
        pred[i] = ds_argmax(qrun_tensor_data_const(out), 10);
        correct += pred[i] == d->labels[i];
        qrun_tensor_free(out);
    }
    qrun_tensor_free(in);
    qrun_session_free(sess);
    return correct;
}

/*
 * Narrow accumulators on real data: the mnist integer model on 200 MNIST test digits. int32
 * predicts exactly as cpu_ref; int16 clips the second conv's largest partial sums (the reference
 * digit's logits move by 0.7) without changing a prediction here; int12 clips most sums and
 * changes about a third of them (72 of 200 when written).
 */
static void test_datapath_accumulator_accuracy(void **state) {
    (void)state;
    if (!ds_dataset_runs_enabled())
        skip();
    enum { N = 200 };
    const char *path = MODELS "/int8/integer/mnist_convinteger_matmulinteger/model_quantized.onnx";
    ds_set d;
    if (access(path, R_OK) != 0 || !ds_load_mnist(MODELS "/data/mnist-t10k", &d))
        skip();
    qrun_context *ctx = NULL;
    qrun_model *m = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    assert_int_equal(qrun_model_load(ctx, path, &m), QRUN_OK);
    static int ref[N], got[N];
    int ref_ok = mnist_top1(ctx, m, "cpu_ref", NULL, &d, N, ref);
    static const int bits[] = {32, 16, 12};
    int ok[3], changed[3];
    for (int b = 0; b < 3; b++) {
        qrun_hw *hw = as_hw_with_accumulator(ctx, "speedai240", "uint8", "int", bits[b]);
        ok[b] = mnist_top1(ctx, m, "accel_sim", hw, &d, N, got);
        changed[b] = 0;
        for (int i = 0; i < N; i++)
            changed[b] += got[i] != ref[i];
        qrun_hw_free(hw);
    }
    print_message(
        "mnist integer, %d digits: cpu_ref %d correct; accel_sim int32 %d (%d predictions "
        "changed), int16 %d (%d changed), int12 %d (%d changed)\n",
        N, ref_ok, ok[0], changed[0], ok[1], changed[1], ok[2], changed[2]);
    assert_int_equal(changed[0], 0);
    assert_int_equal(ok[0], ref_ok);
    assert_true(ok[2] < ok[1]);
    assert_true(changed[2] > changed[1]);
    ds_free(&d);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backend_onnx_node_tests),
        cmocka_unit_test(test_datapath_int_accumulator),
        cmocka_unit_test(test_datapath_narrow_accumulator_model),
        cmocka_unit_test(test_datapath_fp8_accumulators),
        cmocka_unit_test(test_datapath_real_models_bit_identical),
        cmocka_unit_test(test_datapath_bad_params),
        cmocka_unit_test(test_datapath_onnx122_qlinearmatmul),
        cmocka_unit_test(test_datapath_fp8_matmul),
        cmocka_unit_test(test_datapath_accumulator_accuracy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
