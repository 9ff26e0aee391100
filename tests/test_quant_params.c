/* SPDX-License-Identifier: Apache-2.0 */
/* Malformed quantization parameters (scale, zero point, axis, block_size) of the quantization ops
 * give a clear error naming the node when the model is loaded and planned, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "qrun/qrun.h"
#include "tests/support/model_builder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { F32 = 1, U8 = 2, I8 = 3, I32 = 6 };

static const int64_t d0[1] = {0}; /* rank-0 shapes ignore it */

/* Load q and create a session (all shapes are static, so this plans the node); expect failure
 * with QRUN_E_MODEL and a message naming the node and containing needle. */
static void expect_error(const qm_model *q, const char *needle) {
    size_t n = 0;
    uint8_t *buf = pack_model(&q->m, &n);
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    qrun_model *m = NULL;
    qrun_session *s = NULL;
    qrun_status st = qrun_model_load_bytes(ctx, buf, n, NULL, &m);
    if (st == QRUN_OK)
        st = qrun_session_create(ctx, m, NULL, &s);
    const char *msg = qrun_context_errmsg(ctx);
    char node[64];
    snprintf(node, sizeof node, "node '%s'", q->node.name);
    print_message("%s\n", msg);
    if (st != QRUN_E_MODEL || !strstr(msg, node) || !strstr(msg, needle))
        fail_msg("want QRUN_E_MODEL naming %s with '%s', got %s: %s", node, needle,
                 qrun_status_str(st), msg);
    qrun_session_free(s);
    qrun_model_free(m);
    qrun_context_free(ctx);
    free(buf);
}

/* The same model must load and plan (to show each negative test breaks exactly one thing). */
static void expect_ok_session(const qm_model *q) {
    size_t n = 0;
    uint8_t *buf = pack_model(&q->m, &n);
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    qrun_model *m = NULL;
    qrun_session *s = NULL;
    qrun_status st = qrun_model_load_bytes(ctx, buf, n, NULL, &m);
    if (st == QRUN_OK)
        st = qrun_session_create(ctx, m, NULL, &s);
    if (st != QRUN_OK)
        fail_msg("%s", qrun_context_errmsg(ctx));
    qrun_session_free(s);
    qrun_model_free(m);
    qrun_context_free(ctx);
    free(buf);
}

/* ---- QuantizeLinear / DequantizeLinear -------------------------------------- */

/* Y = QuantizeLinear(X float [2, 4], scale, zp uint8) with scale/zp of the given shape. */
static void ql_model(qm_model *q,
                     const char *op,
                     int64_t opset,
                     int x_type,
                     int s_rank,
                     const int64_t *s_dims,
                     const float *scale,
                     const uint8_t *zp) {
    static const int64_t xd[2] = {2, 4};
    int64_t n = 1;
    for (int d = 0; d < s_rank; d++)
        n *= s_dims[d];
    qm_init(q, op, "qn", opset);
    qm_input(q, "X", x_type, 2, xd);
    qm_const(q, "scale", F32, s_rank, s_dims, scale, (size_t)n * sizeof(float));
    if (zp)
        qm_const(q, "zp", U8, s_rank, s_dims, zp, (size_t)n);
    qm_output(q, "Y");
}

static void test_scale_not_positive(void **state) {
    (void)state;
    const float bad[] = {0.0f, -0.5f, NAN, INFINITY};
    const char *ops[] = {"QuantizeLinear", "DequantizeLinear"};
    const uint8_t zp = 3;
    qm_model q;
    for (int o = 0; o < 2; o++) {
        int xt = o == 0 ? F32 : U8;
        float good = 0.25f;
        ql_model(&q, ops[o], 13, xt, 0, d0, &good, &zp);
        expect_ok_session(&q);
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            ql_model(&q, ops[o], 13, xt, 0, d0, &bad[k], &zp);
            expect_error(&q, "scale");
            expect_error(&q, "positive");
        }
    }
    /* One bad element of a per-axis scale is found too. */
    const int64_t sd[1] = {4};
    const float axis_scale[4] = {0.5f, 1.0f, -2.0f, 0.25f};
    const uint8_t axis_zp[4] = {0};
    ql_model(&q, "DequantizeLinear", 13, U8, 1, sd, axis_scale, axis_zp);
    expect_error(&q, "element 2");
}

static void test_zero_point_type(void **state) {
    (void)state;
    qm_model q;
    const float s = 0.5f;
    const int8_t zp = 1;
    /* DequantizeLinear: x uint8, zero point int8. */
    static const int64_t xd[2] = {2, 4};
    qm_init(&q, "DequantizeLinear", "qn", 13);
    qm_input(&q, "X", U8, 2, xd);
    qm_const(&q, "scale", F32, 0, d0, &s, sizeof s);
    qm_const(&q, "zp", I8, 0, d0, &zp, 1);
    qm_output(&q, "Y");
    expect_error(&q, "x_zero_point is int8");
    /* QuantizeLinear: an int32 zero point is no quantized type. */
    const int32_t zp32 = 0;
    qm_init(&q, "QuantizeLinear", "qn", 13);
    qm_input(&q, "X", F32, 2, xd);
    qm_const(&q, "scale", F32, 0, d0, &s, sizeof s);
    qm_const(&q, "zp", I32, 0, d0, &zp32, sizeof zp32);
    qm_output(&q, "Y");
    expect_error(&q, "int32 is not a quantized type");
}

/* An int32 x has no zero point (the ONNX spec: it is 0): a nonzero one is out of range. */
static void test_zero_point_int32(void **state) {
    (void)state;
    qm_model q;
    static const int64_t xd[1] = {4};
    const float s = 0.5f;
    for (int32_t zp = 0; zp <= 7; zp += 7) {
        qm_init(&q, "DequantizeLinear", "qn", 13);
        qm_input(&q, "X", I32, 1, xd);
        qm_const(&q, "scale", F32, 0, d0, &s, sizeof s);
        qm_const(&q, "zp", I32, 0, d0, &zp, sizeof zp);
        qm_output(&q, "Y");
        if (zp == 0)
            expect_ok_session(&q);
        else
            expect_error(&q, "int32 zero point must be 0");
    }
}

static void test_axis(void **state) {
    (void)state;
    qm_model q;
    const int64_t sd[1] = {4};
    const float s[4] = {1, 2, 3, 4};
    const uint8_t zp[4] = {0};
    ql_model(&q, "QuantizeLinear", 13, F32, 1, sd, s, zp);
    expect_ok_session(&q); /* default axis 1: dims[1] = 4 */
    qm_attr_int(&q, "axis", 2);
    expect_error(&q, "axis 2 is out of range for rank 2");
    ql_model(&q, "DequantizeLinear", 13, U8, 1, sd, s, zp);
    qm_attr_int(&q, "axis", -3);
    expect_error(&q, "axis -3 is out of range");
}

static void test_per_axis_lengths(void **state) {
    (void)state;
    qm_model q;
    const int64_t s3[1] = {3}, s4[1] = {4};
    const float s[4] = {1, 2, 3, 4};
    const uint8_t zp[4] = {0};
    /* x is [2, 4]: a per-axis scale on axis 1 needs 4 elements. */
    ql_model(&q, "QuantizeLinear", 13, F32, 1, s3, s, zp);
    expect_error(&q, "per-axis scale must be 1-D of length 4");
    /* scale and zero point of different lengths */
    ql_model(&q, "DequantizeLinear", 13, U8, 1, s4, s, NULL);
    qm_const(&q, "zp", U8, 1, s3, zp, 3);
    q.node.n_input = 3;
    q.node_in[2] = "zp";
    expect_error(&q, "zero point and scale have different shapes");
}

static void test_block_size(void **state) {
    (void)state;
    qm_model q;
    const float s[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const uint8_t zp[8] = {0};
    /* x [2, 4] blocked on axis 1: block_size 2 or 3 needs scale [2, 2]. */
    const int64_t ok_dims[2] = {2, 2}, bad_dims[2] = {2, 3};
    for (int64_t b = 2; b <= 3; b++) {
        ql_model(&q, "QuantizeLinear", 21, F32, 2, ok_dims, s, zp);
        qm_attr_int(&q, "axis", 1);
        qm_attr_int(&q, "block_size", b);
        expect_ok_session(&q);
    }
    ql_model(&q, "DequantizeLinear", 21, U8, 2, bad_dims, s, zp);
    qm_attr_int(&q, "axis", 1);
    qm_attr_int(&q, "block_size", 2);
    expect_error(&q, "scale dim 1 is 3, expected 2 (= ceil(4 / block_size 2))");
    ql_model(&q, "QuantizeLinear", 21, F32, 2, ok_dims, s, zp);
    qm_attr_int(&q, "axis", 1);
    qm_attr_int(&q, "block_size", -2);
    expect_error(&q, "block_size -2 is negative");
    /* A blocked-shaped scale without block_size. */
    ql_model(&q, "QuantizeLinear", 21, F32, 2, ok_dims, s, zp);
    qm_attr_int(&q, "axis", 1);
    expect_error(&q, "block_size is 0");
}

/* ---- QLinearConv / QLinearMatMul -------------------------------------------- */

/* Y = QLinearConv(X u8 [1, 1, 3, 3], W u8 [2, 1, 1, 1]) with every scale/zp given. */
static void qconv_model(qm_model *q, float x_scale, int ws_len, float w_scale, int xzp_type) {
    static const int64_t xd[4] = {1, 1, 3, 3}, wd[4] = {2, 1, 1, 1};
    const uint8_t w[2] = {1, 2}, zp = 0;
    const float ws[3] = {w_scale, w_scale, w_scale}, ys = 1.0f;
    const uint8_t wzp[3] = {0};
    const int64_t wl[1] = {ws_len};
    qm_init(q, "QLinearConv", "conv0", 10);
    qm_input(q, "X", U8, 4, xd);
    qm_const(q, "x_scale", F32, 0, d0, &x_scale, sizeof x_scale);
    qm_const(q, "x_zp", xzp_type, 0, d0, &zp, 1);
    qm_const(q, "W", U8, 4, wd, w, sizeof w);
    qm_const(q, "w_scale", F32, 1, wl, ws, (size_t)ws_len * sizeof(float));
    qm_const(q, "w_zp", U8, 1, wl, wzp, (size_t)ws_len);
    qm_const(q, "y_scale", F32, 0, d0, &ys, sizeof ys);
    qm_const(q, "y_zp", U8, 0, d0, &zp, 1);
    qm_output(q, "Y");
}

static void test_qlinear_conv(void **state) {
    (void)state;
    qm_model q;
    qconv_model(&q, 0.5f, 2, 0.25f, U8);
    expect_ok_session(&q);
    qconv_model(&q, -0.5f, 2, 0.25f, U8);
    expect_error(&q, "x_scale");
    qconv_model(&q, 0.5f, 2, NAN, U8);
    expect_error(&q, "w_scale");
    qconv_model(&q, 0.5f, 3, 0.25f, U8);
    expect_error(&q, "w_scale has 3 elements; expected 1 or 2 (one per output channel)");
    qconv_model(&q, 0.5f, 2, 0.25f, I8);
    expect_error(&q, "zero point (input 2) is int8");
}

/* Y = QLinearMatMul(A u8 [2, 3], B u8 [3, 4]) with b's scale of b_len elements. */
static void qmatmul_model(qm_model *q, float a_scale, int b_len) {
    static const int64_t ad[2] = {2, 3}, bd[2] = {3, 4};
    const uint8_t b[12] = {0}, zp = 0, bzp[1] = {0};
    const float bs[5] = {1, 1, 1, 1, 1}, ys = 1.0f;
    const int64_t bl[1] = {b_len};
    qm_init(q, "QLinearMatMul", "mm0", 10);
    qm_input(q, "A", U8, 2, ad);
    qm_const(q, "a_scale", F32, 0, d0, &a_scale, sizeof a_scale);
    qm_const(q, "a_zp", U8, 0, d0, &zp, 1);
    qm_const(q, "B", U8, 2, bd, b, sizeof b);
    qm_const(q, "b_scale", F32, 1, bl, bs, (size_t)b_len * sizeof(float));
    qm_const(q, "b_zp", U8, 0, d0, bzp, 1);
    qm_const(q, "y_scale", F32, 0, d0, &ys, sizeof ys);
    qm_const(q, "y_zp", U8, 0, d0, &zp, 1);
    qm_output(q, "Y");
}

static void test_qlinear_matmul(void **state) {
    (void)state;
    qm_model q;
    qmatmul_model(&q, 0.5f, 4);
    expect_ok_session(&q);
    qmatmul_model(&q, 0.0f, 4);
    expect_error(&q, "a_scale");
    qmatmul_model(&q, 0.5f, 5);
    expect_error(&q, "b_scale has 5 elements; expected 1 or 4 (one per column of b)");
}

/* ---- ConvInteger / MatMulInteger / DynamicQuantizeLinear -------------------- */

static void test_integer_ops(void **state) {
    (void)state;
    qm_model q;
    static const int64_t xd[4] = {1, 1, 3, 3}, wd[4] = {2, 1, 1, 1}, l3[1] = {3};
    const uint8_t w[2] = {1, 2}, zp3[3] = {0};
    const int8_t zp = 0;
    qm_init(&q, "ConvInteger", "ci", 10);
    qm_input(&q, "X", U8, 4, xd);
    qm_const(&q, "W", U8, 4, wd, w, sizeof w);
    qm_none(&q);
    qm_const(&q, "w_zp", U8, 1, l3, zp3, 3);
    qm_output(&q, "Y");
    expect_error(&q, "w_zero_point has 3 elements; expected 1 or 2 (one per output channel)");

    qm_init(&q, "ConvInteger", "ci", 10);
    qm_input(&q, "X", U8, 4, xd);
    qm_const(&q, "W", U8, 4, wd, w, sizeof w);
    qm_const(&q, "x_zp", I8, 0, d0, &zp, 1);
    qm_output(&q, "Y");
    expect_error(&q, "zero point (input 2) is int8");

    static const int64_t ad[2] = {2, 3}, bd[2] = {3, 4};
    const uint8_t b[12] = {0};
    qm_init(&q, "MatMulInteger", "mi", 10);
    qm_input(&q, "A", U8, 2, ad);
    qm_const(&q, "B", U8, 2, bd, b, sizeof b);
    qm_none(&q);
    qm_const(&q, "b_zp", U8, 1, l3, zp3, 3);
    qm_output(&q, "Y");
    expect_error(&q, "b_zero_point has 3 elements; expected 1 or 4 (one per column of b)");

    qm_init(&q, "DynamicQuantizeLinear", "dq", 11);
    qm_input(&q, "X", I8, 2, ad);
    qm_output(&q, "Y");
    qm_output(&q, "Y_scale");
    qm_output(&q, "Y_zp");
    expect_error(&q, "x must be float");
}

/* ---- the malformed models tests/cli/test_cli.sh feeds to `qrun run` ----------- */

static void cli_bad_scale(qm_model *q) {
    static const int64_t xd[2] = {2, 4};
    const float s = -0.5f;
    const uint8_t zp = 0;
    qm_init(q, "DequantizeLinear", "dq_bad_scale", 13);
    qm_input(q, "X", U8, 2, xd);
    qm_const(q, "scale", F32, 0, d0, &s, sizeof s);
    qm_const(q, "zp", U8, 0, d0, &zp, 1);
    qm_output(q, "Y");
}

static void cli_bad_block(qm_model *q) {
    const int64_t sd[2] = {2, 3};
    const float s[6] = {1, 1, 1, 1, 1, 1};
    const uint8_t zp[6] = {0};
    ql_model(q, "QuantizeLinear", 21, F32, 2, sd, s, zp);
    q->node.name = "q_bad_block";
    qm_attr_int(q, "axis", 1);
    qm_attr_int(q, "block_size", 3);
}

/*
 * tests/cli/quant_bad_*.onnx are these models, packed. The test checks the
 * committed files still match (and that they fail as intended); with
 * QRUN_WRITE_CLI_MODELS=1 in the environment it rewrites them instead.
 */
static void check_cli_model(const qm_model *q, const char *file, const char *needle) {
    expect_error(q, needle);
    size_t n = 0;
    uint8_t *buf = pack_model(&q->m, &n);
    char path[512];
    snprintf(path, sizeof path, "%s/tests/cli/%s", QRUN_SOURCE_DIR, file);
    const char *w = getenv("QRUN_WRITE_CLI_MODELS");
    if (w && strcmp(w, "1") == 0) {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(buf, 1, n, f), n);
        fclose(f);
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s is missing (QRUN_WRITE_CLI_MODELS=1 writes it)", path);
    uint8_t *have = malloc(n + 1);
    assert_non_null(have);
    size_t got = fread(have, 1, n + 1, f);
    fclose(f);
    if (got != n || memcmp(have, buf, n) != 0)
        fail_msg("%s differs from the model this test builds (QRUN_WRITE_CLI_MODELS=1 rewrites it)",
                 path);
    free(have);
    free(buf);
}

static void test_cli_models(void **state) {
    (void)state;
    qm_model q;
    cli_bad_scale(&q);
    check_cli_model(&q, "quant_bad_scale.onnx", "x_scale is -0.5");
    cli_bad_block(&q);
    check_cli_model(&q, "quant_bad_block.onnx", "scale dim 1 is 3, expected 2");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scale_not_positive), cmocka_unit_test(test_zero_point_type),
        cmocka_unit_test(test_zero_point_int32),   cmocka_unit_test(test_axis),
        cmocka_unit_test(test_per_axis_lengths),   cmocka_unit_test(test_block_size),
        cmocka_unit_test(test_qlinear_conv),       cmocka_unit_test(test_qlinear_matmul),
        cmocka_unit_test(test_integer_ops),        cmocka_unit_test(test_cli_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
