/* SPDX-License-Identifier: Apache-2.0 */
/* BatchNormalization folding into Gemm (Conv is covered on light_resnet50 in test_ptq): the
 * folded graph computes what the unfolded one does, for B as [K, N] and as [N, K] (transB),
 * with and without a bias; pairs that must not fold are left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api/api_internal.h"
#include "qrun/qrun.h"
#include "runtime/quantize/fold_bn.h"
#include "tests/support/graph_builder.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { T_FLOAT = 1 };
enum { M = 3, K = 5, N = 4 };

typedef struct gemm_bn {
    bool trans_a, trans_b, bias, second_consumer;
} gemm_bn;

/* Deterministic values in [lo, hi): a 32-bit LCG. */
static void fill(float *x, int n, uint32_t seed, float lo, float hi) {
    for (int i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = lo + (hi - lo) * (float)((double)(seed >> 8) / (double)(1u << 24));
    }
}

/* x[M, K] (or [K, M] with transA) -> Gemm -> BN over the N output channels -> y. */
static gbuild *build(const gemm_bn *o) {
    gbuild *b = gb_new(13);
    int64_t xd[2] = {o->trans_a ? K : M, o->trans_a ? M : K};
    gb_input(b, "x", T_FLOAT, 2, xd);
    float w[K * N], c[N], scale[N], shift[N], mean[N], var[N];
    fill(w, K * N, 1, -1.0f, 1.0f);
    fill(c, N, 2, -0.5f, 0.5f);
    fill(scale, N, 3, 0.5f, 2.0f);
    fill(shift, N, 4, -1.0f, 1.0f);
    fill(mean, N, 5, -0.3f, 0.3f);
    fill(var, N, 6, 0.2f, 1.5f);
    int64_t wd[2] = {o->trans_b ? N : K, o->trans_b ? K : N}, nd[1] = {N};
    gb_init(b, "w", T_FLOAT, 2, wd, w, sizeof w);
    gb_init(b, "c", T_FLOAT, 1, nd, c, sizeof c);
    gb_init(b, "scale", T_FLOAT, 1, nd, scale, sizeof scale);
    gb_init(b, "shift", T_FLOAT, 1, nd, shift, sizeof shift);
    gb_init(b, "mean", T_FLOAT, 1, nd, mean, sizeof mean);
    gb_init(b, "var", T_FLOAT, 1, nd, var, sizeof var);
    Onnx__NodeProto *g = gb_node(b, "Gemm", "gemm", o->bias ? "x w c" : "x w", "h");
    gb_attr_int(b, g, "transA", o->trans_a);
    gb_attr_int(b, g, "transB", o->trans_b);
    Onnx__NodeProto *bn = gb_node(b, "BatchNormalization", "bn", "h scale shift mean var", "y");
    gb_attr_float(b, bn, "epsilon", 1e-3f);
    gb_output(b, "y");
    if (o->second_consumer) {
        gb_node(b, "Relu", "relu", "h", "r");
        gb_output(b, "r");
    }
    return b;
}

static qrun_model *load(qrun_context *ctx, gbuild *b) {
    size_t n = 0;
    uint8_t *buf = gb_pack(b, &n);
    qrun_model *m = NULL;
    if (qrun_model_load_bytes(ctx, buf, n, NULL, &m))
        fail_msg("%s", qrun_context_errmsg(ctx));
    free(buf);
    return m;
}

/* Output 0 of model m on input x. */
static qrun_tensor *run(qrun_context *ctx, const qrun_model *m, const qrun_tensor *x) {
    qrun_session *s = NULL;
    qrun_tensor *outs[2] = {NULL, NULL};
    int n_out = qrun_model_output_count(m);
    if (qrun_session_create(ctx, m, NULL, &s) || qrun_session_run(s, &x, 1, outs, n_out))
        fail_msg("%s", qrun_context_errmsg(ctx));
    qrun_session_free(s);
    qrun_tensor_free(outs[1]);
    return outs[0];
}

/* Folds BN in a clone of the model's graph; returns how many pairs folded and the folded model
 * (or NULL when none folded). */
static int fold(qrun_context *ctx, const qrun_model *m, qrun_model **folded) {
    qrun_graph *g = NULL;
    assert_int_equal(qrun_graph_clone(m->g, &g), QRUN_OK);
    qrun_err err = {0};
    int n = 0;
    if (qrun_fold_batchnorm(g, &n, &err))
        fail_msg("%s", err.msg);
    for (int k = 0; k < g->n_nodes && n > 0; k++)
        assert_int_not_equal(g->nodes[k].op, QRUN_OP_BATCH_NORMALIZATION);
    *folded = NULL;
    if (qrun_api_model_from_graph(ctx, g, "folded", true, folded))
        fail_msg("%s", qrun_context_errmsg(ctx));
    return n;
}

static void check_case(const gemm_bn *o, int want_folded) {
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    gbuild *b = build(o);
    qrun_model *m = load(ctx, b), *f = NULL;
    assert_int_equal(fold(ctx, m, &f), want_folded);
    int64_t xd[2] = {o->trans_a ? K : M, o->trans_a ? M : K};
    qrun_tensor *x = NULL;
    assert_int_equal(qrun_tensor_create(ctx, QRUN_DTYPE_FLOAT, 2, xd, "x", &x), QRUN_OK);
    fill(qrun_tensor_data(x), M * K, 7, -2.0f, 2.0f);
    qrun_tensor *want = run(ctx, m, x), *got = run(ctx, f, x);
    assert_int_equal(qrun_tensor_numel(got), M * N);
    const float *pw = qrun_tensor_data_const(want), *pg = qrun_tensor_data_const(got);
    for (int i = 0; i < M * N; i++) {
        /* W*f and c*f+shift reassociate the float products: a few ulps of the magnitude */
        if (fabsf(pw[i] - pg[i]) > 1e-5f * fmaxf(1.0f, fabsf(pw[i])))
            fail_msg("element %d: unfolded %.9g, folded %.9g", i, pw[i], pg[i]);
    }
    qrun_tensor_free(want);
    qrun_tensor_free(got);
    qrun_tensor_free(x);
    qrun_model_free(f);
    qrun_model_free(m);
    gb_free(b);
    qrun_context_free(ctx);
}

static void test_gemm_b_kn(void **state) {
    (void)state;
    check_case(&(gemm_bn){.bias = true}, 1);
}

static void test_gemm_b_nk_trans(void **state) {
    (void)state;
    check_case(&(gemm_bn){.trans_b = true, .bias = true}, 1);
}

static void test_gemm_no_bias(void **state) {
    (void)state;
    check_case(&(gemm_bn){.trans_b = true}, 1);
    check_case(&(gemm_bn){0}, 1);
}

/* transA changes which axis is the batch: not folded, still the same result. */
static void test_gemm_trans_a_left(void **state) {
    (void)state;
    check_case(&(gemm_bn){.trans_a = true, .bias = true}, 0);
}

/* The Gemm output feeds another node too: folding would change what that node sees. */
static void test_gemm_shared_output_left(void **state) {
    (void)state;
    check_case(&(gemm_bn){.bias = true, .second_consumer = true}, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_b_kn),
        cmocka_unit_test(test_gemm_b_nk_trans),
        cmocka_unit_test(test_gemm_no_bias),
        cmocka_unit_test(test_gemm_trans_a_left),
        cmocka_unit_test(test_gemm_shared_output_left),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
