/* SPDX-License-Identifier: Apache-2.0 */
/* Shape inference and cpu_ref kernels of the data-movement ops, on small hand-built nodes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/support/kernel_runner.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* A TENSOR attribute (the kernel runner has setters for scalars, strings and lists only). */
static void t_tensor_attr(kr_node *tn, const char *name, struct qrun_tensor *v) {
    assert_true(tn->node.n_attrs < KR_MAX_ATTRS);
    tn->attrs[tn->node.n_attrs++] =
        (qrun_attr){.name = (char *)name, .type = QRUN_ATTR_TENSOR, .t = v};
}

/* ---- Reshape, Flatten, Squeeze, Unsqueeze ------------------------------- */

static void test_reshape_infer(void **state) {
    (void)state;
    qrun_err err;
    bool need;
    int64_t xd[3] = {2, 3, 4};
    struct qrun_tensor x = kr_view(QRUN_DTYPE_FLOAT, 3, xd, NULL);
    int64_t sv[3] = {0, -1, 2}, sd = 3;
    struct qrun_tensor shp = kr_view(QRUN_DTYPE_INT64, 1, &sd, sv);
    const struct qrun_tensor *in[2] = {&x, &shp};
    struct qrun_tensor y;
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_RESHAPE, 14, 2, 1);
    assert_int_equal(kr_infer(&tn, in, &y, &need, &err), QRUN_OK);
    kr_assert_dims(&y, 3, (int64_t[]){2, 6, 2});

    /* allowzero: a 0 stays 0, so 24 elements cannot fit. */
    kr_int(&tn, "allowzero", 1);
    assert_int_equal(kr_infer(&tn, in, &y, &need, &err), QRUN_E_MODEL);

    /* Unknown shape value: ask for it. */
    shp.data = NULL;
    kr_node_init(&tn, QRUN_OP_RESHAPE, 14, 2, 1);
    assert_int_equal(kr_infer(&tn, in, &y, &need, &err), QRUN_OK);
    assert_true(need);

    /* Reshape-1: shape attribute. */
    kr_node_init(&tn, QRUN_OP_RESHAPE, 1, 1, 1);
    int64_t as[2] = {4, -1};
    kr_ints(&tn, "shape", 2, as);
    assert_int_equal(kr_infer(&tn, in, &y, &need, &err), QRUN_OK);
    kr_assert_dims(&y, 2, (int64_t[]){4, 6});

    /* Two -1 is invalid. */
    int64_t bad[2] = {-1, -1};
    shp = kr_view(QRUN_DTYPE_INT64, 1, (int64_t[]){2}, bad);
    kr_node_init(&tn, QRUN_OP_RESHAPE, 14, 2, 1);
    assert_int_equal(kr_infer(&tn, in, &y, &need, &err), QRUN_E_MODEL);
}

static void test_flatten_squeeze_unsqueeze(void **state) {
    (void)state;
    qrun_err err;
    bool need;
    int64_t xd[4] = {2, 1, 3, 1};
    struct qrun_tensor x = kr_view(QRUN_DTYPE_INT8, 4, xd, NULL), y;
    const struct qrun_tensor *in[2] = {&x, NULL};
    kr_node tn;

    kr_node_init(&tn, QRUN_OP_FLATTEN, 13, 1, 1);
    kr_int(&tn, "axis", -1);
    assert_int_equal(kr_infer(&tn, in, &y, &need, &err), QRUN_OK);
    kr_assert_dims(&y, 2, (int64_t[]){6, 1});
    kr_node_init(&tn, QRUN_OP_FLATTEN, 13, 1, 1);
    kr_int(&tn, "axis", 0);
    assert_int_equal(kr_infer(&tn, in, &y, &need, &err), QRUN_OK);
    kr_assert_dims(&y, 2, (int64_t[]){1, 6});

    /* Squeeze without axes drops every 1. */
    kr_node_init(&tn, QRUN_OP_SQUEEZE, 13, 1, 1);
    assert_int_equal(kr_infer(&tn, in, &y, &need, &err), QRUN_OK);
    kr_assert_dims(&y, 2, (int64_t[]){2, 3});
    /* Squeeze-11 attribute, negative axis. */
    int64_t ax[1] = {-1};
    kr_node_init(&tn, QRUN_OP_SQUEEZE, 11, 1, 1);
    kr_ints(&tn, "axes", 1, ax);
    assert_int_equal(kr_infer(&tn, in, &y, &need, &err), QRUN_OK);
    kr_assert_dims(&y, 3, (int64_t[]){2, 1, 3});
    /* Squeeze-13 axes input; squeezing a non-1 dim is an error. */
    int64_t av[1] = {0}, ad = 1;
    struct qrun_tensor axes = kr_view(QRUN_DTYPE_INT64, 1, &ad, av);
    in[1] = &axes;
    kr_node_init(&tn, QRUN_OP_SQUEEZE, 13, 2, 1);
    assert_int_equal(kr_infer(&tn, in, &y, &need, &err), QRUN_E_MODEL);

    /* Unsqueeze-13 with axes {-1, 0} on rank 4 -> rank 6. */
    int64_t uv[2] = {-1, 0}, ud = 2;
    struct qrun_tensor uax = kr_view(QRUN_DTYPE_INT64, 1, &ud, uv);
    in[1] = &uax;
    kr_node_init(&tn, QRUN_OP_UNSQUEEZE, 13, 2, 1);
    assert_int_equal(kr_infer(&tn, in, &y, &need, &err), QRUN_OK);
    kr_assert_dims(&y, 6, (int64_t[]){1, 2, 1, 3, 1, 1});
    uax.data = NULL;
    assert_int_equal(kr_infer(&tn, in, &y, &need, &err), QRUN_OK);
    assert_true(need);
    /* Unsqueeze-11 attribute with a repeated axis. */
    int64_t dup[2] = {1, 1};
    kr_node_init(&tn, QRUN_OP_UNSQUEEZE, 11, 1, 1);
    kr_ints(&tn, "axes", 2, dup);
    assert_int_equal(kr_infer(&tn, in, &y, &need, &err), QRUN_E_MODEL);
}

/* ---- Transpose ----------------------------------------------------------- */

static void test_transpose_4d(void **state) {
    (void)state;
    qrun_err err;
    int64_t xd[4] = {2, 3, 4, 5};
    float xv[120];
    for (int i = 0; i < 120; i++)
        xv[i] = (float)i;
    int64_t perms[3][4] = {{0, 2, 3, 1}, {0, 3, 1, 2}, {3, 1, 0, 2}};
    for (int p = 0; p < 3; p++) {
        struct qrun_tensor x = kr_view(QRUN_DTYPE_FLOAT, 4, xd, xv), y;
        const struct qrun_tensor *in[1] = {&x};
        kr_node tn;
        kr_node_init(&tn, QRUN_OP_TRANSPOSE, 13, 1, 1);
        kr_ints(&tn, "perm", 4, perms[p]);
        assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_OK);
        const float *o = y.data;
        int64_t st[4] = {60, 20, 5, 1};
        int64_t i[4];
        int64_t k = 0;
        for (i[0] = 0; i[0] < y.dims[0]; i[0]++)
            for (i[1] = 0; i[1] < y.dims[1]; i[1]++)
                for (i[2] = 0; i[2] < y.dims[2]; i[2]++)
                    for (i[3] = 0; i[3] < y.dims[3]; i[3]++, k++) {
                        int64_t off = 0;
                        for (int d = 0; d < 4; d++)
                            off += i[d] * st[perms[p][d]];
                        assert_true(o[k] == xv[off]);
                    }
        kr_release(&y, 1);
    }
}

/* Long output rows take the blocked path: a batch of 2-D transposes, 2-byte elements. */
static void test_transpose_blocked(void **state) {
    (void)state;
    qrun_err err;
    enum { B = 2, M = 300, N = 9 };
    static int16_t xv[B * M * N];
    for (int i = 0; i < B * M * N; i++)
        xv[i] = (int16_t)i;
    struct qrun_tensor x = kr_view(QRUN_DTYPE_INT16, 3, (int64_t[]){B, M, N}, xv), y;
    const struct qrun_tensor *in[1] = {&x};
    int64_t perm[3] = {0, 2, 1};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_TRANSPOSE, 13, 1, 1);
    kr_ints(&tn, "perm", 3, perm);
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_OK);
    kr_assert_dims(&y, 3, (int64_t[]){B, N, M});
    const int16_t *o = y.data;
    for (int b = 0; b < B; b++)
        for (int j = 0; j < N; j++)
            for (int i = 0; i < M; i++)
                assert_int_equal(o[(b * N + j) * M + i], xv[(b * M + i) * N + j]);
    kr_release(&y, 1);
}

static void test_transpose_default_and_bad_perm(void **state) {
    (void)state;
    qrun_err err;
    bool need;
    int64_t xd[3] = {2, 3, 4};
    uint16_t xv[24];
    for (int i = 0; i < 24; i++)
        xv[i] = (uint16_t)i;
    struct qrun_tensor x = kr_view(QRUN_DTYPE_FLOAT16, 3, xd, xv), y;
    const struct qrun_tensor *in[1] = {&x};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_TRANSPOSE, 13, 1, 1);
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_OK);
    kr_assert_dims(&y, 3, (int64_t[]){4, 3, 2});
    const uint16_t *o = y.data;
    assert_int_equal(o[1], 12); /* y[0,0,1] = x[1,0,0] */
    assert_int_equal(o[2], 4);  /* y[0,1,0] = x[0,1,0] */
    kr_release(&y, 1);
    int64_t bad[3] = {0, 0, 1};
    kr_node_init(&tn, QRUN_OP_TRANSPOSE, 13, 1, 1);
    kr_ints(&tn, "perm", 3, bad);
    assert_int_equal(kr_infer(&tn, in, &y, &need, &err), QRUN_E_MODEL);
}

/* ---- Concat, Split ------------------------------------------------------- */

static void test_concat_with_empty(void **state) {
    (void)state;
    qrun_err err;
    int32_t av[4] = {1, 2, 3, 4}, cv[2] = {9, 8};
    struct qrun_tensor a = kr_view(QRUN_DTYPE_INT32, 2, (int64_t[]){2, 2}, av);
    struct qrun_tensor b = kr_view(QRUN_DTYPE_INT32, 2, (int64_t[]){2, 0}, av);
    struct qrun_tensor c = kr_view(QRUN_DTYPE_INT32, 2, (int64_t[]){2, 1}, cv), y;
    const struct qrun_tensor *in[3] = {&a, &b, &c};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_CONCAT, 13, 3, 1);
    kr_int(&tn, "axis", -1);
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_OK);
    kr_assert_dims(&y, 2, (int64_t[]){2, 3});
    const int32_t want[6] = {1, 2, 9, 3, 4, 8};
    assert_memory_equal(y.data, want, sizeof want);
    kr_release(&y, 1);
}

static void test_split_variants(void **state) {
    (void)state;
    qrun_err err;
    bool need;
    float xv[7] = {0, 1, 2, 3, 4, 5, 6};
    struct qrun_tensor x = kr_view(QRUN_DTYPE_FLOAT, 1, (int64_t[]){7}, xv), y[3];
    const struct qrun_tensor *in[2] = {&x, NULL};
    kr_node tn;

    /* Opset 18 num_outputs: chunks of 3, 3, 1. */
    kr_node_init(&tn, QRUN_OP_SPLIT, 18, 1, 3);
    kr_int(&tn, "num_outputs", 3);
    assert_int_equal(kr_run(&tn, in, y, 2, &err), QRUN_OK);
    assert_int_equal(y[0].dims[0], 3);
    assert_int_equal(y[2].dims[0], 1);
    assert_true(((float *)y[2].data)[0] == 6.0f);
    kr_release(y, 3);

    /* Opset 13 split input with a zero-size part. */
    int64_t sv[3] = {0, 5, 2}, sd = 3;
    struct qrun_tensor sp = kr_view(QRUN_DTYPE_INT64, 1, &sd, sv);
    in[1] = &sp;
    kr_node_init(&tn, QRUN_OP_SPLIT, 13, 2, 3);
    assert_int_equal(kr_run(&tn, in, y, 2, &err), QRUN_OK);
    assert_int_equal(y[0].dims[0], 0);
    assert_true(((float *)y[1].data)[4] == 4.0f);
    assert_true(((float *)y[2].data)[0] == 5.0f);
    kr_release(y, 3);

    /* Opset 11 split attribute that does not add up. */
    int64_t bad[2] = {3, 3};
    kr_node_init(&tn, QRUN_OP_SPLIT, 11, 1, 2);
    kr_ints(&tn, "split", 2, bad);
    assert_int_equal(kr_infer(&tn, in, y, &need, &err), QRUN_E_MODEL);
    /* Equal split of 7 into 2 is invalid. */
    kr_node_init(&tn, QRUN_OP_SPLIT, 13, 1, 2);
    assert_int_equal(kr_infer(&tn, in, y, &need, &err), QRUN_E_MODEL);
}

/* ---- Slice --------------------------------------------------------------- */

static void test_slice_clamp_and_negative_steps(void **state) {
    (void)state;
    qrun_err err;
    int64_t xv[20];
    for (int i = 0; i < 20; i++)
        xv[i] = i;
    struct qrun_tensor x = kr_view(QRUN_DTYPE_INT64, 2, (int64_t[]){4, 5}, xv), y;
    int64_t st[2] = {INT64_MAX, 1}, en[2] = {INT64_MIN, 1000}, ax[2] = {0, -1}, sp[2] = {-2, 2};
    int64_t two = 2;
    struct qrun_tensor ts = kr_view(QRUN_DTYPE_INT64, 1, &two, st),
                       te = kr_view(QRUN_DTYPE_INT64, 1, &two, en);
    struct qrun_tensor ta = kr_view(QRUN_DTYPE_INT64, 1, &two, ax),
                       tp = kr_view(QRUN_DTYPE_INT64, 1, &two, sp);
    const struct qrun_tensor *in[5] = {&x, &ts, &te, &ta, &tp};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_SLICE, 13, 5, 1);
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_OK);
    /* rows 3, 1; cols 1, 3 */
    kr_assert_dims(&y, 2, (int64_t[]){2, 2});
    const int64_t want[4] = {16, 18, 6, 8};
    assert_memory_equal(y.data, want, sizeof want);
    kr_release(&y, 1);

    /* Slice to empty. */
    int64_t s1[1] = {3}, e1[1] = {1}, one = 1;
    struct qrun_tensor ts1 = kr_view(QRUN_DTYPE_INT64, 1, &one, s1),
                       te1 = kr_view(QRUN_DTYPE_INT64, 1, &one, e1);
    const struct qrun_tensor *in2[3] = {&x, &ts1, &te1};
    kr_node_init(&tn, QRUN_OP_SLICE, 13, 3, 1);
    assert_int_equal(kr_run(&tn, in2, &y, 2, &err), QRUN_OK);
    kr_assert_dims(&y, 2, (int64_t[]){0, 5});
    kr_release(&y, 1);

    /* Slice-1: attributes. */
    int64_t as[1] = {1}, ae[1] = {-1}, aa[1] = {1};
    kr_node_init(&tn, QRUN_OP_SLICE, 1, 1, 1);
    kr_ints(&tn, "starts", 1, as);
    kr_ints(&tn, "ends", 1, ae);
    kr_ints(&tn, "axes", 1, aa);
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_OK);
    kr_assert_dims(&y, 2, (int64_t[]){4, 3});
    assert_int_equal(((int64_t *)y.data)[3], 6);
    kr_release(&y, 1);

    /* An attribute of another type is an error, not an empty list (found by fuzz_model). */
    kr_node_init(&tn, QRUN_OP_SLICE, 1, 1, 1);
    kr_ints(&tn, "starts", 1, as);
    kr_ints(&tn, "ends", 1, ae);
    kr_int(&tn, "axes", 1);
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_E_MODEL);
    assert_non_null(strstr(err.msg, "attribute axes must be a list of ints"));
}

/* ---- Gather -------------------------------------------------------------- */

static void test_gather(void **state) {
    (void)state;
    qrun_err err;
    uint8_t xv[6] = {10, 11, 12, 20, 21, 22};
    struct qrun_tensor x = kr_view(QRUN_DTYPE_UINT8, 2, (int64_t[]){2, 3}, xv), y;
    int32_t iv[4] = {-1, 0, 2, 2};
    struct qrun_tensor idx = kr_view(QRUN_DTYPE_INT32, 2, (int64_t[]){2, 2}, iv);
    const struct qrun_tensor *in[2] = {&x, &idx};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_GATHER, 13, 2, 1);
    kr_int(&tn, "axis", 1);
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_OK);
    kr_assert_dims(&y, 3, (int64_t[]){2, 2, 2});
    const uint8_t want[8] = {12, 10, 12, 12, 22, 20, 22, 22};
    assert_memory_equal(y.data, want, sizeof want);
    kr_release(&y, 1);

    iv[3] = 7;
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_E_MODEL);
    assert_string_equal(err.msg, "Gather: index 7 out of range [-3, 2]");
    kr_release(&y, 1);
}

/* ---- Expand, Tile -------------------------------------------------------- */

static void test_expand_tile(void **state) {
    (void)state;
    qrun_err err;
    float xv[3] = {1, 2, 3};
    struct qrun_tensor x = kr_view(QRUN_DTYPE_FLOAT, 2, (int64_t[]){3, 1}, xv), y;
    int64_t sv[3] = {2, 1, 2}, three = 3;
    struct qrun_tensor shp = kr_view(QRUN_DTYPE_INT64, 1, &three, sv);
    const struct qrun_tensor *in[2] = {&x, &shp};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_EXPAND, 13, 2, 1);
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_OK);
    kr_assert_dims(&y, 3, (int64_t[]){2, 3, 2});
    const float we[12] = {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3};
    kr_expect_floats(&y, we, 12, 0, 0.0f);
    kr_release(&y, 1);

    int64_t rv[2] = {2, 3}, two = 2;
    struct qrun_tensor reps = kr_view(QRUN_DTYPE_INT64, 1, &two, rv);
    in[1] = &reps;
    kr_node_init(&tn, QRUN_OP_TILE, 13, 2, 1);
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_OK);
    kr_assert_dims(&y, 2, (int64_t[]){6, 3});
    const float wt[18] = {1, 1, 1, 2, 2, 2, 3, 3, 3, 1, 1, 1, 2, 2, 2, 3, 3, 3};
    kr_expect_floats(&y, wt, 18, 0, 0.0f);
    kr_release(&y, 1);
}

/* ---- Pad ----------------------------------------------------------------- */

static void t_pad_case(const char *mode, const int64_t *pads, const float *want, int64_t n_want) {
    qrun_err err;
    float xv[3] = {1, 2, 3};
    struct qrun_tensor x = kr_view(QRUN_DTYPE_FLOAT, 1, (int64_t[]){3}, xv), y;
    int64_t pv[2] = {pads[0], pads[1]}, two = 2;
    struct qrun_tensor tp = kr_view(QRUN_DTYPE_INT64, 1, &two, pv);
    float cv = 9.0f;
    struct qrun_tensor tc = kr_view(QRUN_DTYPE_FLOAT, 0, NULL, &cv);
    const struct qrun_tensor *in[3] = {&x, &tp, &tc};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_PAD, 19, 3, 1);
    kr_string(&tn, "mode", mode);
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_OK);
    kr_expect_floats(&y, want, n_want, 0, 0.0f);
    kr_release(&y, 1);
}

static void test_pad_modes(void **state) {
    (void)state;
    t_pad_case("constant", (int64_t[]){2, 1}, (float[]){9, 9, 1, 2, 3, 9}, 6);
    t_pad_case("reflect", (int64_t[]){2, 3}, (float[]){3, 2, 1, 2, 3, 2, 1, 2}, 8);
    t_pad_case("edge", (int64_t[]){2, 1}, (float[]){1, 1, 1, 2, 3, 3}, 6);
    t_pad_case("wrap", (int64_t[]){2, 2}, (float[]){2, 3, 1, 2, 3, 1, 2}, 7);
    t_pad_case("constant", (int64_t[]){-1, 1}, (float[]){2, 3, 9}, 3);
}

static void test_pad_v2_attributes(void **state) {
    (void)state;
    qrun_err err;
    int8_t xv[4] = {1, 2, 3, 4};
    struct qrun_tensor x = kr_view(QRUN_DTYPE_INT8, 2, (int64_t[]){2, 2}, xv), y;
    const struct qrun_tensor *in[1] = {&x};
    int64_t pads[4] = {0, 1, 1, 0};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_PAD, 2, 1, 1);
    kr_ints(&tn, "pads", 4, pads);
    kr_float(&tn, "value", -5.0f);
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_OK);
    kr_assert_dims(&y, 2, (int64_t[]){3, 3});
    const int8_t want[9] = {-5, 1, 2, -5, 3, 4, -5, -5, -5};
    assert_memory_equal(y.data, want, sizeof want);
    kr_release(&y, 1);
}

/* ---- Resize -------------------------------------------------------------- */

static void test_resize_nearest_and_linear(void **state) {
    (void)state;
    qrun_err err;
    bool need;
    float xv[4] = {1, 2, 3, 4};
    struct qrun_tensor x = kr_view(QRUN_DTYPE_FLOAT, 4, (int64_t[]){1, 1, 2, 2}, xv), y;
    float sv[4] = {1, 1, 2, 2};
    int64_t four = 4;
    struct qrun_tensor sc = kr_view(QRUN_DTYPE_FLOAT, 1, &four, sv);
    const struct qrun_tensor *in[3] = {&x, NULL, &sc};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_RESIZE, 13, 3, 1);
    kr_string(&tn, "mode", "nearest");
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_OK);
    kr_assert_dims(&y, 4, (int64_t[]){1, 1, 4, 4});
    const float wn[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    kr_expect_floats(&y, wn, 16, 0, 0.0f);
    kr_release(&y, 1);

    /* Bilinear, half_pixel: the ONNX test_resize_upsample_scales_linear values. */
    kr_node_init(&tn, QRUN_OP_RESIZE, 13, 3, 1);
    kr_string(&tn, "mode", "linear");
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_OK);
    const float wl[16] = {1,    1.25f, 1.75f, 2,    1.5f, 1.75f, 2.25f, 2.5f,
                          2.5f, 2.75f, 3.25f, 3.5f, 3,    3.25f, 3.75f, 4};
    kr_expect_floats(&y, wl, 16, 0, 1e-6f);
    kr_release(&y, 1);

    /* align_corners on sizes. */
    int64_t zv[4] = {1, 1, 3, 3};
    struct qrun_tensor sz = kr_view(QRUN_DTYPE_INT64, 1, &four, zv);
    const struct qrun_tensor *in2[4] = {&x, NULL, NULL, &sz};
    kr_node_init(&tn, QRUN_OP_RESIZE, 13, 4, 1);
    kr_string(&tn, "mode", "linear");
    kr_string(&tn, "coordinate_transformation_mode", "align_corners");
    assert_int_equal(kr_run(&tn, in2, &y, 2, &err), QRUN_OK);
    const float wa[9] = {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4};
    kr_expect_floats(&y, wa, 9, 0, 1e-6f);
    kr_release(&y, 1);

    /* Unknown sizes: need the value; both scales and sizes: invalid. */
    sz.data = NULL;
    assert_int_equal(kr_infer(&tn, in2, &y, &need, &err), QRUN_OK);
    assert_true(need);
    const struct qrun_tensor *in3[4] = {&x, NULL, &sc, &sz};
    assert_int_equal(kr_infer(&tn, in3, &y, &need, &err), QRUN_E_MODEL);
}

static void test_resize_cubic_antialias_axes(void **state) {
    (void)state;
    qrun_err err;
    float xv[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct qrun_tensor x = kr_view(QRUN_DTYPE_FLOAT, 2, (int64_t[]){1, 8}, xv), y;
    int64_t zv[1] = {4}, one = 1;
    struct qrun_tensor sz = kr_view(QRUN_DTYPE_INT64, 1, &one, zv);
    const struct qrun_tensor *in[4] = {&x, NULL, NULL, &sz};
    int64_t axes[1] = {1};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_RESIZE, 18, 4, 1);
    kr_string(&tn, "mode", "linear");
    kr_int(&tn, "antialias", 1);
    kr_ints(&tn, "axes", 1, axes);
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_OK);
    kr_assert_dims(&y, 2, (int64_t[]){1, 4});
    /* A linear ramp stays a ramp in the interior under a symmetric normalised filter. */
    const float *o = y.data;
    assert_true(fabsf(o[1] - 3.5f) < 1e-5f && fabsf(o[2] - 5.5f) < 1e-5f);
    kr_release(&y, 1);

    kr_node_init(&tn, QRUN_OP_RESIZE, 18, 4, 1);
    kr_string(&tn, "mode", "cubic");
    kr_ints(&tn, "axes", 1, axes);
    kr_string(&tn, "keep_aspect_ratio_policy", "not_larger");
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_OK);
    kr_assert_dims(&y, 2, (int64_t[]){1, 4});
    kr_release(&y, 1);
}

/* ---- Shape, Size, Constant, ConstantOfShape, Dropout, Range -------------- */

static void test_shape_size_without_data(void **state) {
    (void)state;
    qrun_err err;
    struct qrun_tensor x = kr_view(QRUN_DTYPE_FLOAT, 3, (int64_t[]){2, 0, 5}, NULL), y;
    const struct qrun_tensor *in[1] = {&x};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_SHAPE, 15, 1, 1);
    kr_int(&tn, "start", -2);
    kr_int(&tn, "end", 100);
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_OK);
    const int64_t want[2] = {0, 5};
    assert_int_equal(y.dims[0], 2);
    assert_memory_equal(y.data, want, sizeof want);
    kr_release(&y, 1);
    kr_node_init(&tn, QRUN_OP_SIZE, 13, 1, 1);
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_OK);
    assert_int_equal(y.rank, 0);
    assert_int_equal(*(int64_t *)y.data, 0);
    kr_release(&y, 1);
}

static void test_constants(void **state) {
    (void)state;
    qrun_err err;
    int32_t cv = 7;
    struct qrun_tensor val = kr_view(QRUN_DTYPE_INT32, 1, (int64_t[]){1}, &cv), y;
    int64_t shape[2] = {2, 3}, two = 2;
    struct qrun_tensor shp = kr_view(QRUN_DTYPE_INT64, 1, &two, shape);
    const struct qrun_tensor *in[1] = {&shp};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_CONSTANT_OF_SHAPE, 9, 1, 1);
    t_tensor_attr(&tn, "value", &val);
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_OK);
    assert_int_equal(y.dtype, QRUN_DTYPE_INT32);
    for (int i = 0; i < 6; i++)
        assert_int_equal(((int32_t *)y.data)[i], 7);
    kr_release(&y, 1);

    /* Zero-size shape, default float 0. */
    shape[1] = 0;
    kr_node_init(&tn, QRUN_OP_CONSTANT_OF_SHAPE, 9, 1, 1);
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_OK);
    assert_int_equal(y.dtype, QRUN_DTYPE_FLOAT);
    kr_assert_dims(&y, 2, (int64_t[]){2, 0});
    kr_release(&y, 1);

    kr_node_init(&tn, QRUN_OP_CONSTANT, 13, 0, 1);
    t_tensor_attr(&tn, "value", &val);
    assert_int_equal(kr_run(&tn, NULL, &y, 2, &err), QRUN_OK);
    assert_int_equal(*(int32_t *)y.data, 7);
    kr_release(&y, 1);
}

static void test_dropout(void **state) {
    (void)state;
    qrun_err err;
    bool need;
    float xv[3] = {1, 2, 3};
    struct qrun_tensor x = kr_view(QRUN_DTYPE_FLOAT, 1, (int64_t[]){3}, xv), y[2];
    float ratio = 0.0f;
    bool train = true;
    struct qrun_tensor tr = kr_view(QRUN_DTYPE_FLOAT, 0, NULL, &ratio),
                       tt = kr_view(QRUN_DTYPE_BOOL, 0, NULL, &train);
    const struct qrun_tensor *in[3] = {&x, &tr, &tt};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_DROPOUT, 13, 3, 2);
    /* training with ratio 0 is deterministic: identity and an all-true mask. */
    assert_int_equal(kr_run(&tn, in, y, 2, &err), QRUN_OK);
    assert_int_equal(y[1].dtype, QRUN_DTYPE_BOOL);
    kr_expect_floats(&y[0], xv, 3, 0, 0.0f);
    assert_memory_equal(y[1].data, ((const uint8_t[]){1, 1, 1}), 3);
    kr_release(y, 2);
    /* ratio 0.5: a seeded mask; kept values are scaled by 2; the same seed gives the same mask. */
    ratio = 0.5f;
    float big[64];
    for (int i = 0; i < 64; i++)
        big[i] = (float)(i + 1);
    struct qrun_tensor xb = kr_view(QRUN_DTYPE_FLOAT, 1, (int64_t[]){64}, big), y2[2];
    const struct qrun_tensor *inb[3] = {&xb, &tr, &tt};
    assert_int_equal(kr_infer(&tn, inb, y, &need, &err), QRUN_OK);
    assert_int_equal(kr_run(&tn, inb, y, 2, &err), QRUN_OK);
    assert_int_equal(kr_run(&tn, inb, y2, 2, &err), QRUN_OK);
    int kept = 0;
    for (int i = 0; i < 64; i++) {
        bool k = ((const uint8_t *)y[1].data)[i] != 0;
        kept += k;
        assert_true(((const float *)y[0].data)[i] == (k ? 2.0f * big[i] : 0.0f));
    }
    assert_true(kept > 16 && kept < 48);
    assert_memory_equal(y[1].data, y2[1].data, 64);
    kr_release(y, 2);
    kr_release(y2, 2);
}

static void test_range(void **state) {
    (void)state;
    qrun_err err;
    bool need;
    int32_t a = 10, b = 4, d = -3;
    struct qrun_tensor ta = kr_view(QRUN_DTYPE_INT32, 0, NULL, &a),
                       tb = kr_view(QRUN_DTYPE_INT32, 0, NULL, &b);
    struct qrun_tensor td = kr_view(QRUN_DTYPE_INT32, 0, NULL, &d), y;
    const struct qrun_tensor *in[3] = {&ta, &tb, &td};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_RANGE, 11, 3, 1);
    assert_int_equal(kr_run(&tn, in, &y, 2, &err), QRUN_OK);
    assert_int_equal(y.dims[0], 2);
    assert_int_equal(((int32_t *)y.data)[1], 7);
    kr_release(&y, 1);

    int64_t s64 = INT64_MIN, l64 = INT64_MAX, d64 = 1;
    struct qrun_tensor s = kr_view(QRUN_DTYPE_INT64, 0, NULL, &s64),
                       l = kr_view(QRUN_DTYPE_INT64, 0, NULL, &l64);
    struct qrun_tensor dd = kr_view(QRUN_DTYPE_INT64, 0, NULL, &d64);
    const struct qrun_tensor *in2[3] = {&s, &l, &dd};
    assert_int_equal(kr_infer(&tn, in2, &y, &need, &err), QRUN_E_MODEL);
    d64 = 0;
    assert_int_equal(kr_infer(&tn, in2, &y, &need, &err), QRUN_E_MODEL);

    float fa = 1.0f, fb = 2.0f, fd = 0.3f;
    struct qrun_tensor fs = kr_view(QRUN_DTYPE_FLOAT, 0, NULL, &fa),
                       fl = kr_view(QRUN_DTYPE_FLOAT, 0, NULL, &fb);
    struct qrun_tensor fdd = kr_view(QRUN_DTYPE_FLOAT, 0, NULL, &fd);
    const struct qrun_tensor *in3[3] = {&fs, &fl, &fdd};
    assert_int_equal(kr_run(&tn, in3, &y, 2, &err), QRUN_OK);
    assert_int_equal(y.dims[0], 4);
    kr_release(&y, 1);
    fl.data = NULL;
    assert_int_equal(kr_infer(&tn, in3, &y, &need, &err), QRUN_OK);
    assert_true(need);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reshape_infer),
        cmocka_unit_test(test_flatten_squeeze_unsqueeze),
        cmocka_unit_test(test_transpose_4d),
        cmocka_unit_test(test_transpose_default_and_bad_perm),
        cmocka_unit_test(test_transpose_blocked),
        cmocka_unit_test(test_concat_with_empty),
        cmocka_unit_test(test_split_variants),
        cmocka_unit_test(test_slice_clamp_and_negative_steps),
        cmocka_unit_test(test_gather),
        cmocka_unit_test(test_expand_tile),
        cmocka_unit_test(test_pad_modes),
        cmocka_unit_test(test_pad_v2_attributes),
        cmocka_unit_test(test_resize_nearest_and_linear),
        cmocka_unit_test(test_resize_cubic_antialias_axes),
        cmocka_unit_test(test_shape_size_without_data),
        cmocka_unit_test(test_constants),
        cmocka_unit_test(test_dropout),
        cmocka_unit_test(test_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
