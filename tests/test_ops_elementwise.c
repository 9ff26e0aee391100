/* SPDX-License-Identifier: Apache-2.0 */
/* Direct kernel tests of the elementwise, activation and logical cpu_ref families. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/support/kernel_runner.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define T_MAX_ELEMS 64

/* Test data: a stack tensor with inline storage, filled from doubles through the dtype traits. */
typedef struct t_tensor {
    struct qrun_tensor t;
    uint8_t buf[T_MAX_ELEMS * 8];
} t_tensor;

static void t_make(t_tensor *x, qrun_dtype dt, int rank, const int64_t *dims) {
    memset(x, 0, sizeof *x);
    x->t = kr_view(dt, rank, dims, x->buf);
    assert_true(x->t.nbytes <= sizeof x->buf);
}

static void t_fill(t_tensor *x, const double *v) {
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(x->t.dtype);
    int64_t n = qrun_shape_numel(x->t.rank, x->t.dims);
    for (int64_t i = 0; i < n; i++)
        tr->set(x->t.data, (size_t)i, v[i], true);
}

static void test_add_broadcast_f32(void **state) {
    (void)state;
    kr_node tn;
    qrun_err err;
    t_tensor a, b, y;
    int64_t da[3] = {2, 1, 3}, db[2] = {2, 1}, dy[3] = {2, 2, 3};
    t_make(&a, QRUN_DTYPE_FLOAT, 3, da);
    t_make(&b, QRUN_DTYPE_FLOAT, 2, db);
    t_make(&y, QRUN_DTYPE_FLOAT, 3, dy);
    t_fill(&a, (double[]){1, 2, 3, 4, 5, 6});
    t_fill(&b, (double[]){10, 20});
    const struct qrun_tensor *ins[2] = {&a.t, &b.t};
    kr_node_init(&tn, QRUN_OP_ADD, 14, 2, 1);
    assert_int_equal(kr_eval(&tn, ins, (struct qrun_tensor *[]){&y.t}, 1, &err), QRUN_OK);
    static const double want[12] = {11, 12, 13, 21, 22, 23, 14, 15, 16, 24, 25, 26};
    for (int i = 0; i < 12; i++)
        assert_true(kr_get(&y.t, i) == want[i]);
}

static void test_int_div_and_wrap(void **state) {
    (void)state;
    kr_node tn;
    qrun_err err;
    t_tensor a, b, y;
    int64_t d[1] = {5};
    t_make(&a, QRUN_DTYPE_INT32, 1, d);
    t_make(&b, QRUN_DTYPE_INT32, 1, d);
    t_make(&y, QRUN_DTYPE_INT32, 1, d);
    t_fill(&a, (double[]){7, -7, 7, 5, -2147483648.0});
    t_fill(&b, (double[]){2, 2, -2, 0, -1});
    const struct qrun_tensor *ins[2] = {&a.t, &b.t};
    kr_node_init(&tn, QRUN_OP_DIV, 14, 2, 1);
    assert_int_equal(kr_eval(&tn, ins, (struct qrun_tensor *[]){&y.t}, 1, &err), QRUN_OK);
    const int32_t *o = y.t.data;
    assert_int_equal(o[0], 3);
    assert_int_equal(o[1], -3); /* truncates toward zero */
    assert_int_equal(o[2], -3);
    assert_int_equal(o[3], 0); /* division by zero: 0, no trap */
    assert_int_equal(o[4], INT32_MIN);

    /* int8 Add wraps like numpy */
    t_tensor p, q, r;
    int64_t d2[1] = {2};
    t_make(&p, QRUN_DTYPE_INT8, 1, d2);
    t_make(&q, QRUN_DTYPE_INT8, 1, d2);
    t_make(&r, QRUN_DTYPE_INT8, 1, d2);
    t_fill(&p, (double[]){100, -100});
    t_fill(&q, (double[]){100, -100});
    const struct qrun_tensor *ins2[2] = {&p.t, &q.t};
    kr_node_init(&tn, QRUN_OP_ADD, 14, 2, 1);
    assert_int_equal(kr_eval(&tn, ins2, (struct qrun_tensor *[]){&r.t}, 1, &err), QRUN_OK);
    assert_int_equal(((int8_t *)r.t.data)[0], -56);
    assert_int_equal(((int8_t *)r.t.data)[1], 56);
}

static void test_int64_exact(void **state) {
    (void)state;
    kr_node tn;
    qrun_err err;
    t_tensor a, b, y;
    int64_t d[1] = {2};
    t_make(&a, QRUN_DTYPE_INT64, 1, d);
    t_make(&b, QRUN_DTYPE_INT64, 1, d);
    t_make(&y, QRUN_DTYPE_INT64, 1, d);
    int64_t *pa = a.t.data, *pb = b.t.data;
    pa[0] = ((int64_t)1 << 60) + 1;
    pa[1] = 3;
    pb[0] = 2;
    pb[1] = 39;
    const struct qrun_tensor *ins[2] = {&a.t, &b.t};
    kr_node_init(&tn, QRUN_OP_ADD, 14, 2, 1);
    assert_int_equal(kr_eval(&tn, ins, (struct qrun_tensor *[]){&y.t}, 1, &err), QRUN_OK);
    assert_true(((int64_t *)y.t.data)[0] == ((int64_t)1 << 60) + 3);
    kr_node_init(&tn, QRUN_OP_POW, 15, 2, 1);
    assert_int_equal(kr_eval(&tn, ins, (struct qrun_tensor *[]){&y.t}, 1, &err), QRUN_OK);
    assert_true(((int64_t *)y.t.data)[1] == 4052555153018976267LL);
    kr_node_init(&tn, QRUN_OP_MAX, 13, 2, 1);
    assert_int_equal(kr_eval(&tn, ins, (struct qrun_tensor *[]){&y.t}, 1, &err), QRUN_OK);
    assert_true(((int64_t *)y.t.data)[0] == ((int64_t)1 << 60) + 1);
}

static void test_min_max_mean_nan(void **state) {
    (void)state;
    kr_node tn;
    qrun_err err;
    t_tensor a, b, c, y;
    int64_t d[1] = {3}, ds[1] = {1};
    t_make(&a, QRUN_DTYPE_FLOAT, 1, d);
    t_make(&b, QRUN_DTYPE_FLOAT, 1, d);
    t_make(&c, QRUN_DTYPE_FLOAT, 1, ds);
    t_make(&y, QRUN_DTYPE_FLOAT, 1, d);
    t_fill(&a, (double[]){1, NAN, 5});
    t_fill(&b, (double[]){2, 0, NAN});
    t_fill(&c, (double[]){3});
    const struct qrun_tensor *ins[3] = {&a.t, &b.t, &c.t};
    kr_node_init(&tn, QRUN_OP_MIN, 13, 3, 1);
    assert_int_equal(kr_eval(&tn, ins, (struct qrun_tensor *[]){&y.t}, 1, &err), QRUN_OK);
    assert_true(kr_get(&y.t, 0) == 1);
    assert_true(isnan(kr_get(&y.t, 1)) && isnan(kr_get(&y.t, 2)));
    kr_node_init(&tn, QRUN_OP_MEAN, 13, 3, 1);
    assert_int_equal(kr_eval(&tn, ins, (struct qrun_tensor *[]){&y.t}, 1, &err), QRUN_OK);
    assert_true(kr_get(&y.t, 0) == 2);
    /* one input: a copy */
    kr_node_init(&tn, QRUN_OP_MAX, 13, 1, 1);
    assert_int_equal(kr_eval(&tn, ins, (struct qrun_tensor *[]){&y.t}, 1, &err), QRUN_OK);
    assert_true(kr_get(&y.t, 2) == 5);
}

static void test_unary(void **state) {
    (void)state;
    kr_node tn;
    qrun_err err;
    t_tensor x, y;
    int64_t d[1] = {6};
    t_make(&x, QRUN_DTYPE_FLOAT, 1, d);
    t_make(&y, QRUN_DTYPE_FLOAT, 1, d);
    t_fill(&x, (double[]){0.5, 1.5, 2.5, -0.5, -1.5, 2.6});
    const struct qrun_tensor *ins[1] = {&x.t};
    kr_node_init(&tn, QRUN_OP_ROUND, 11, 1, 1);
    assert_int_equal(kr_eval(&tn, ins, (struct qrun_tensor *[]){&y.t}, 1, &err), QRUN_OK);
    static const double want[6] = {0, 2, 2, -0.0, -2, 3};
    for (int i = 0; i < 6; i++)
        assert_true(kr_get(&y.t, i) == want[i]);
    t_tensor xi, yi;
    int64_t d3[1] = {3};
    t_make(&xi, QRUN_DTYPE_INT16, 1, d3);
    t_make(&yi, QRUN_DTYPE_INT16, 1, d3);
    t_fill(&xi, (double[]){-5, 0, 7});
    const struct qrun_tensor *insi[1] = {&xi.t};
    kr_node_init(&tn, QRUN_OP_SIGN, 13, 1, 1);
    assert_int_equal(kr_eval(&tn, insi, (struct qrun_tensor *[]){&yi.t}, 1, &err), QRUN_OK);
    assert_true(kr_get(&yi.t, 0) == -1 && kr_get(&yi.t, 1) == 0 && kr_get(&yi.t, 2) == 1);
    kr_node_init(&tn, QRUN_OP_ABS, 13, 1, 1);
    assert_int_equal(kr_eval(&tn, insi, (struct qrun_tensor *[]){&yi.t}, 1, &err), QRUN_OK);
    assert_true(kr_get(&yi.t, 0) == 5);
    /* Sqrt on an integer: refused with a reason */
    kr_node_init(&tn, QRUN_OP_SQRT, 13, 1, 1);
    assert_int_equal(kr_eval(&tn, insi, (struct qrun_tensor *[]){&yi.t}, 1, &err),
                     QRUN_E_UNSUPPORTED);
    /* FP16 path through the traits */
    t_tensor h, hy;
    t_make(&h, QRUN_DTYPE_FLOAT16, 1, d3);
    t_make(&hy, QRUN_DTYPE_FLOAT16, 1, d3);
    t_fill(&h, (double[]){4, 9, 0.25});
    const struct qrun_tensor *insh[1] = {&h.t};
    kr_node_init(&tn, QRUN_OP_SQRT, 13, 1, 1);
    assert_int_equal(kr_eval(&tn, insh, (struct qrun_tensor *[]){&hy.t}, 1, &err), QRUN_OK);
    assert_true(kr_get(&hy.t, 0) == 2 && kr_get(&hy.t, 1) == 3 && kr_get(&hy.t, 2) == 0.5);
}

static void test_clip(void **state) {
    (void)state;
    kr_node tn;
    qrun_err err;
    t_tensor x, y, lo, hi;
    int64_t d[1] = {4};
    t_make(&x, QRUN_DTYPE_INT8, 1, d);
    t_make(&y, QRUN_DTYPE_INT8, 1, d);
    t_make(&lo, QRUN_DTYPE_INT8, 0, NULL);
    t_make(&hi, QRUN_DTYPE_INT8, 0, NULL);
    t_fill(&x, (double[]){-100, -1, 5, 100});
    t_fill(&lo, (double[]){-2});
    t_fill(&hi, (double[]){6});
    const struct qrun_tensor *ins[3] = {&x.t, &lo.t, &hi.t};
    kr_node_init(&tn, QRUN_OP_CLIP, 13, 3, 1);
    assert_int_equal(kr_eval(&tn, ins, (struct qrun_tensor *[]){&y.t}, 1, &err), QRUN_OK);
    assert_true(kr_get(&y.t, 0) == -2 && kr_get(&y.t, 1) == -1 && kr_get(&y.t, 2) == 5 &&
                kr_get(&y.t, 3) == 6);
    const struct qrun_tensor *ins_nomin[3] = {&x.t, NULL, &hi.t};
    kr_node_init(&tn, QRUN_OP_CLIP, 13, 3, 1);
    assert_int_equal(kr_eval(&tn, ins_nomin, (struct qrun_tensor *[]){&y.t}, 1, &err), QRUN_OK);
    assert_true(kr_get(&y.t, 0) == -100 && kr_get(&y.t, 3) == 6);
    /* Clip-6: attributes */
    t_tensor xf, yf;
    t_make(&xf, QRUN_DTYPE_FLOAT, 1, d);
    t_make(&yf, QRUN_DTYPE_FLOAT, 1, d);
    t_fill(&xf, (double[]){-3, 0.5, 2, 9});
    const struct qrun_tensor *insf[1] = {&xf.t};
    kr_node_init(&tn, QRUN_OP_CLIP, 6, 1, 1);
    kr_float(&tn, "min", -1.0f);
    kr_float(&tn, "max", 1.0f);
    assert_int_equal(kr_eval(&tn, insf, (struct qrun_tensor *[]){&yf.t}, 1, &err), QRUN_OK);
    assert_true(kr_get(&yf.t, 0) == -1 && kr_get(&yf.t, 1) == 0.5 && kr_get(&yf.t, 3) == 1);
}

static void test_where_and_compare(void **state) {
    (void)state;
    kr_node tn;
    qrun_err err;
    t_tensor c, a, b, y, cmp;
    int64_t dc[2] = {2, 1}, da[1] = {3}, dy[2] = {2, 3}, ds[1] = {1};
    t_make(&c, QRUN_DTYPE_BOOL, 2, dc);
    t_make(&a, QRUN_DTYPE_INT64, 1, da);
    t_make(&b, QRUN_DTYPE_INT64, 1, ds);
    t_make(&y, QRUN_DTYPE_INT64, 2, dy);
    t_fill(&c, (double[]){1, 0});
    t_fill(&a, (double[]){1, 2, 3});
    t_fill(&b, (double[]){-7});
    const struct qrun_tensor *ins[3] = {&c.t, &a.t, &b.t};
    kr_node_init(&tn, QRUN_OP_WHERE, 16, 3, 1);
    assert_int_equal(kr_eval(&tn, ins, (struct qrun_tensor *[]){&y.t}, 1, &err), QRUN_OK);
    static const double want[6] = {1, 2, 3, -7, -7, -7};
    for (int i = 0; i < 6; i++)
        assert_true(kr_get(&y.t, i) == want[i]);
    t_make(&cmp, QRUN_DTYPE_BOOL, 1, da);
    const struct qrun_tensor *ins2[2] = {&a.t, &b.t};
    kr_node_init(&tn, QRUN_OP_GREATER, 13, 2, 1);
    assert_int_equal(kr_eval(&tn, ins2, (struct qrun_tensor *[]){&cmp.t}, 1, &err), QRUN_OK);
    assert_true(kr_get(&cmp.t, 0) == 1 && kr_get(&cmp.t, 2) == 1);
    kr_node_init(&tn, QRUN_OP_LESS, 13, 2, 1);
    assert_int_equal(kr_eval(&tn, ins2, (struct qrun_tensor *[]){&cmp.t}, 1, &err), QRUN_OK);
    assert_true(kr_get(&cmp.t, 0) == 0);
}

static void test_cast(void **state) {
    (void)state;
    kr_node tn;
    qrun_err err;
    t_tensor x, y;
    int64_t d[1] = {5};
    t_make(&x, QRUN_DTYPE_FLOAT, 1, d);
    t_fill(&x, (double[]){2.7, -2.7, NAN, 300, INFINITY});
    /* float -> int8 truncates toward zero */
    t_make(&y, QRUN_DTYPE_INT8, 1, d);
    const struct qrun_tensor *ins[1] = {&x.t};
    kr_node_init(&tn, QRUN_OP_CAST, 13, 1, 1);
    kr_int(&tn, "to", QRUN_DTYPE_INT8);
    assert_int_equal(kr_eval(&tn, ins, (struct qrun_tensor *[]){&y.t}, 1, &err), QRUN_OK);
    assert_true(kr_get(&y.t, 0) == 2 && kr_get(&y.t, 1) == -2 && kr_get(&y.t, 2) == 0);
    /* FNUZ Inf: NaN before Cast-24, max from Cast-24 */
    t_tensor f8;
    t_make(&f8, QRUN_DTYPE_FLOAT8E4M3FNUZ, 1, d);
    kr_node_init(&tn, QRUN_OP_CAST, 19, 1, 1);
    kr_int(&tn, "to", QRUN_DTYPE_FLOAT8E4M3FNUZ);
    assert_int_equal(kr_eval(&tn, ins, (struct qrun_tensor *[]){&f8.t}, 1, &err), QRUN_OK);
    assert_int_equal(((uint8_t *)f8.t.data)[4], 0x80);
    assert_int_equal(((uint8_t *)f8.t.data)[3], 0x7F); /* 300 saturates to 240 */
    kr_node_init(&tn, QRUN_OP_CAST, 24, 1, 1);
    kr_int(&tn, "to", QRUN_DTYPE_FLOAT8E4M3FNUZ);
    assert_int_equal(kr_eval(&tn, ins, (struct qrun_tensor *[]){&f8.t}, 1, &err), QRUN_OK);
    assert_int_equal(((uint8_t *)f8.t.data)[4], 0x7F);
    kr_node_init(&tn, QRUN_OP_CAST, 24, 1, 1);
    kr_int(&tn, "to", QRUN_DTYPE_FLOAT8E4M3FNUZ);
    kr_int(&tn, "saturate", 0);
    assert_int_equal(kr_eval(&tn, ins, (struct qrun_tensor *[]){&f8.t}, 1, &err), QRUN_OK);
    assert_int_equal(((uint8_t *)f8.t.data)[3], 0x80);
    /* int4 target: packed, saturating */
    t_tensor i4;
    t_make(&i4, QRUN_DTYPE_INT4, 1, d);
    kr_node_init(&tn, QRUN_OP_CAST, 21, 1, 1);
    kr_int(&tn, "to", QRUN_DTYPE_INT4);
    assert_int_equal(kr_eval(&tn, ins, (struct qrun_tensor *[]){&i4.t}, 1, &err), QRUN_OK);
    assert_true(kr_get(&i4.t, 0) == 2 && kr_get(&i4.t, 1) == -2 && kr_get(&i4.t, 3) == 7);
    /* STRING target is refused */
    kr_node_init(&tn, QRUN_OP_CAST, 13, 1, 1);
    kr_int(&tn, "to", QRUN_DTYPE_STRING);
    assert_int_equal(kr_eval(&tn, ins, (struct qrun_tensor *[]){&y.t}, 1, &err),
                     QRUN_E_UNSUPPORTED);
}

static void test_prelu_int(void **state) {
    (void)state;
    kr_node tn;
    qrun_err err;
    t_tensor x, s, y;
    int64_t dx[2] = {2, 2}, ds[1] = {2};
    t_make(&x, QRUN_DTYPE_INT32, 2, dx);
    t_make(&s, QRUN_DTYPE_INT32, 1, ds);
    t_make(&y, QRUN_DTYPE_INT32, 2, dx);
    t_fill(&x, (double[]){-1, 2, -3, -4});
    t_fill(&s, (double[]){2, 3});
    const struct qrun_tensor *ins[2] = {&x.t, &s.t};
    kr_node_init(&tn, QRUN_OP_PRELU, 16, 2, 1);
    assert_int_equal(kr_eval(&tn, ins, (struct qrun_tensor *[]){&y.t}, 1, &err), QRUN_OK);
    assert_true(kr_get(&y.t, 0) == -2 && kr_get(&y.t, 1) == 2 && kr_get(&y.t, 2) == -6 &&
                kr_get(&y.t, 3) == -12);
}

/* Large enough for OpenMP and for rows split into chunks; checked against a plain loop. */
static void test_large_parallel(void **state) {
    (void)state;
    kr_node tn;
    qrun_err err;
    enum { R = 3, C = 40000 };
    int64_t da[2] = {R, C}, db[1] = {C};
    float *pa = malloc(sizeof(float) * R * C), *pb = malloc(sizeof(float) * C),
          *py = malloc(sizeof(float) * R * C);
    assert_non_null(pa);
    assert_non_null(pb);
    assert_non_null(py);
    for (int i = 0; i < R * C; i++)
        pa[i] = (float)(i % 977) - 400.0f;
    for (int i = 0; i < C; i++)
        pb[i] = (float)(i % 13) * 0.5f;
    struct qrun_tensor a = kr_view(QRUN_DTYPE_FLOAT, 2, da, pa),
                       b = kr_view(QRUN_DTYPE_FLOAT, 1, db, pb),
                       y = kr_view(QRUN_DTYPE_FLOAT, 2, da, py);
    const struct qrun_tensor *ins[2] = {&a, &b};
    kr_node_init(&tn, QRUN_OP_SUB, 14, 2, 1);
    assert_int_equal(kr_eval(&tn, ins, (struct qrun_tensor *[]){&y}, 2, &err), QRUN_OK);
    for (int i = 0; i < R * C; i++)
        assert_true(py[i] == pa[i] - pb[i % C]);
    const struct qrun_tensor *in1[1] = {&a};
    kr_node_init(&tn, QRUN_OP_RELU, 14, 1, 1);
    assert_int_equal(kr_eval(&tn, in1, (struct qrun_tensor *[]){&y}, 2, &err), QRUN_OK);
    for (int i = 0; i < R * C; i++)
        assert_true(py[i] == (pa[i] < 0 ? 0.0f : pa[i]));
    free(pa);
    free(pb);
    free(py);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_broadcast_f32),
        cmocka_unit_test(test_int_div_and_wrap),
        cmocka_unit_test(test_int64_exact),
        cmocka_unit_test(test_min_max_mean_nan),
        cmocka_unit_test(test_unary),
        cmocka_unit_test(test_clip),
        cmocka_unit_test(test_where_and_compare),
        cmocka_unit_test(test_cast),
        cmocka_unit_test(test_prelu_int),
        cmocka_unit_test(test_large_parallel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
