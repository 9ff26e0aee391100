/* SPDX-License-Identifier: Apache-2.0 */
/* Direct kernel tests of the elementwise, activation and logical cpu_ref families. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "backends/cpu_ref/kernel.h"
#include "runtime/dtype.h"
#include "runtime/ir.h"
#include "runtime/tensor.h"

#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#define T_MAX_ELEMS 64

/* A stack tensor with inline storage. */
typedef struct t_tensor {
    struct qrun_tensor t;
    uint8_t buf[T_MAX_ELEMS * 8];
} t_tensor;

static void t_make(t_tensor *x, qrun_dtype dt, int rank, const int64_t *dims) {
    memset(x, 0, sizeof *x);
    assert_true(qrun_tensor_set_shape(&x->t, dt, rank, dims));
    assert_true(x->t.nbytes <= sizeof x->buf);
    x->t.data = x->buf;
}

static void t_fill(t_tensor *x, const double *v) {
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(x->t.dtype);
    int64_t n = qrun_shape_numel(x->t.rank, x->t.dims);
    for (int64_t i = 0; i < n; i++)
        tr->set(x->t.data, (size_t)i, v[i], true);
}

static double t_get(const t_tensor *x, int64_t i) {
    return qrun_dtype_traits_get(x->t.dtype)->get(x->t.data, (size_t)i);
}

static const cpu_ref_kernel *t_find(qrun_op op) {
    const cpu_ref_kernel *tables[] = {cpu_ref_kernels_elementwise, cpu_ref_kernels_activation,
                                      cpu_ref_kernels_logical};
    for (size_t k = 0; k < 3; k++) {
        for (const cpu_ref_kernel *e = tables[k]; e->op != QRUN_OP_UNKNOWN; e++) {
            if (e->op == op)
                return e;
        }
    }
    return NULL;
}

static int t_threads = 1;

/* Run op on inputs (NULL = omitted) into out; node opset and attributes as given. */
static qrun_status t_run(qrun_op op,
                         int64_t opset,
                         qrun_attr *attrs,
                         int n_attrs,
                         int n_in,
                         const struct qrun_tensor *const *ins,
                         struct qrun_tensor *out) {
    const cpu_ref_kernel *k = t_find(op);
    assert_non_null(k);
    qrun_node node = {.name = "n", .op_type = "op", .domain = "", .op = op, .opset = opset};
    node.n_attrs = n_attrs;
    node.attrs = attrs;
    char why[128] = "";
    if (k->supports && !k->supports(&node, ins, n_in, why, sizeof why))
        return QRUN_E_UNSUPPORTED;
    qrun_err err = {{0}};
    struct qrun_tensor *outs[1] = {out};
    qrun_kernel_call call = {.node = &node,
                             .n_inputs = n_in,
                             .inputs = ins,
                             .n_outputs = 1,
                             .outputs = outs,
                             .n_threads = t_threads,
                             .err = &err};
    return k->eval(&call);
}

static void test_add_broadcast_f32(void **state) {
    (void)state;
    t_tensor a, b, y;
    int64_t da[3] = {2, 1, 3}, db[2] = {2, 1}, dy[3] = {2, 2, 3};
    t_make(&a, QRUN_DTYPE_FLOAT, 3, da);
    t_make(&b, QRUN_DTYPE_FLOAT, 2, db);
    t_make(&y, QRUN_DTYPE_FLOAT, 3, dy);
    t_fill(&a, (double[]){1, 2, 3, 4, 5, 6});
    t_fill(&b, (double[]){10, 20});
    const struct qrun_tensor *ins[2] = {&a.t, &b.t};
    assert_int_equal(t_run(QRUN_OP_ADD, 14, NULL, 0, 2, ins, &y.t), QRUN_OK);
    static const double want[12] = {11, 12, 13, 21, 22, 23, 14, 15, 16, 24, 25, 26};
    for (int i = 0; i < 12; i++)
        assert_true(t_get(&y, i) == want[i]);
}

static void test_int_div_and_wrap(void **state) {
    (void)state;
    t_tensor a, b, y;
    int64_t d[1] = {5};
    t_make(&a, QRUN_DTYPE_INT32, 1, d);
    t_make(&b, QRUN_DTYPE_INT32, 1, d);
    t_make(&y, QRUN_DTYPE_INT32, 1, d);
    t_fill(&a, (double[]){7, -7, 7, 5, -2147483648.0});
    t_fill(&b, (double[]){2, 2, -2, 0, -1});
    const struct qrun_tensor *ins[2] = {&a.t, &b.t};
    assert_int_equal(t_run(QRUN_OP_DIV, 14, NULL, 0, 2, ins, &y.t), QRUN_OK);
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
    assert_int_equal(t_run(QRUN_OP_ADD, 14, NULL, 0, 2, ins2, &r.t), QRUN_OK);
    assert_int_equal(((int8_t *)r.t.data)[0], -56);
    assert_int_equal(((int8_t *)r.t.data)[1], 56);
}

static void test_int64_exact(void **state) {
    (void)state;
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
    assert_int_equal(t_run(QRUN_OP_ADD, 14, NULL, 0, 2, ins, &y.t), QRUN_OK);
    assert_true(((int64_t *)y.t.data)[0] == ((int64_t)1 << 60) + 3);
    assert_int_equal(t_run(QRUN_OP_POW, 15, NULL, 0, 2, ins, &y.t), QRUN_OK);
    assert_true(((int64_t *)y.t.data)[1] == 4052555153018976267LL);
    assert_int_equal(t_run(QRUN_OP_MAX, 13, NULL, 0, 2, ins, &y.t), QRUN_OK);
    assert_true(((int64_t *)y.t.data)[0] == ((int64_t)1 << 60) + 1);
}

static void test_min_max_mean_nan(void **state) {
    (void)state;
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
    assert_int_equal(t_run(QRUN_OP_MIN, 13, NULL, 0, 3, ins, &y.t), QRUN_OK);
    assert_true(t_get(&y, 0) == 1);
    assert_true(isnan(t_get(&y, 1)) && isnan(t_get(&y, 2)));
    assert_int_equal(t_run(QRUN_OP_MEAN, 13, NULL, 0, 3, ins, &y.t), QRUN_OK);
    assert_true(t_get(&y, 0) == 2);
    /* one input: a copy */
    assert_int_equal(t_run(QRUN_OP_MAX, 13, NULL, 0, 1, ins, &y.t), QRUN_OK);
    assert_true(t_get(&y, 2) == 5);
}

static void test_unary(void **state) {
    (void)state;
    t_tensor x, y;
    int64_t d[1] = {6};
    t_make(&x, QRUN_DTYPE_FLOAT, 1, d);
    t_make(&y, QRUN_DTYPE_FLOAT, 1, d);
    t_fill(&x, (double[]){0.5, 1.5, 2.5, -0.5, -1.5, 2.6});
    const struct qrun_tensor *ins[1] = {&x.t};
    assert_int_equal(t_run(QRUN_OP_ROUND, 11, NULL, 0, 1, ins, &y.t), QRUN_OK);
    static const double want[6] = {0, 2, 2, -0.0, -2, 3};
    for (int i = 0; i < 6; i++)
        assert_true(t_get(&y, i) == want[i]);
    t_tensor xi, yi;
    int64_t d3[1] = {3};
    t_make(&xi, QRUN_DTYPE_INT16, 1, d3);
    t_make(&yi, QRUN_DTYPE_INT16, 1, d3);
    t_fill(&xi, (double[]){-5, 0, 7});
    const struct qrun_tensor *insi[1] = {&xi.t};
    assert_int_equal(t_run(QRUN_OP_SIGN, 13, NULL, 0, 1, insi, &yi.t), QRUN_OK);
    assert_true(t_get(&yi, 0) == -1 && t_get(&yi, 1) == 0 && t_get(&yi, 2) == 1);
    assert_int_equal(t_run(QRUN_OP_ABS, 13, NULL, 0, 1, insi, &yi.t), QRUN_OK);
    assert_true(t_get(&yi, 0) == 5);
    /* Sqrt on an integer: refused with a reason */
    assert_int_equal(t_run(QRUN_OP_SQRT, 13, NULL, 0, 1, insi, &yi.t), QRUN_E_UNSUPPORTED);
    /* FP16 path through the traits */
    t_tensor h, hy;
    t_make(&h, QRUN_DTYPE_FLOAT16, 1, d3);
    t_make(&hy, QRUN_DTYPE_FLOAT16, 1, d3);
    t_fill(&h, (double[]){4, 9, 0.25});
    const struct qrun_tensor *insh[1] = {&h.t};
    assert_int_equal(t_run(QRUN_OP_SQRT, 13, NULL, 0, 1, insh, &hy.t), QRUN_OK);
    assert_true(t_get(&hy, 0) == 2 && t_get(&hy, 1) == 3 && t_get(&hy, 2) == 0.5);
}

static void test_clip(void **state) {
    (void)state;
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
    assert_int_equal(t_run(QRUN_OP_CLIP, 13, NULL, 0, 3, ins, &y.t), QRUN_OK);
    assert_true(t_get(&y, 0) == -2 && t_get(&y, 1) == -1 && t_get(&y, 2) == 5 && t_get(&y, 3) == 6);
    const struct qrun_tensor *ins_nomin[3] = {&x.t, NULL, &hi.t};
    assert_int_equal(t_run(QRUN_OP_CLIP, 13, NULL, 0, 3, ins_nomin, &y.t), QRUN_OK);
    assert_true(t_get(&y, 0) == -100 && t_get(&y, 3) == 6);
    /* Clip-6: attributes */
    t_tensor xf, yf;
    t_make(&xf, QRUN_DTYPE_FLOAT, 1, d);
    t_make(&yf, QRUN_DTYPE_FLOAT, 1, d);
    t_fill(&xf, (double[]){-3, 0.5, 2, 9});
    qrun_attr attrs[2] = {{.name = "min", .type = QRUN_ATTR_FLOAT, .f = -1.0f},
                          {.name = "max", .type = QRUN_ATTR_FLOAT, .f = 1.0f}};
    const struct qrun_tensor *insf[1] = {&xf.t};
    assert_int_equal(t_run(QRUN_OP_CLIP, 6, attrs, 2, 1, insf, &yf.t), QRUN_OK);
    assert_true(t_get(&yf, 0) == -1 && t_get(&yf, 1) == 0.5 && t_get(&yf, 3) == 1);
}

static void test_where_and_compare(void **state) {
    (void)state;
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
    assert_int_equal(t_run(QRUN_OP_WHERE, 16, NULL, 0, 3, ins, &y.t), QRUN_OK);
    static const double want[6] = {1, 2, 3, -7, -7, -7};
    for (int i = 0; i < 6; i++)
        assert_true(t_get(&y, i) == want[i]);
    t_make(&cmp, QRUN_DTYPE_BOOL, 1, da);
    const struct qrun_tensor *ins2[2] = {&a.t, &b.t};
    assert_int_equal(t_run(QRUN_OP_GREATER, 13, NULL, 0, 2, ins2, &cmp.t), QRUN_OK);
    assert_true(t_get(&cmp, 0) == 1 && t_get(&cmp, 2) == 1);
    assert_int_equal(t_run(QRUN_OP_LESS, 13, NULL, 0, 2, ins2, &cmp.t), QRUN_OK);
    assert_true(t_get(&cmp, 0) == 0);
}

static void test_cast(void **state) {
    (void)state;
    t_tensor x, y;
    int64_t d[1] = {5};
    t_make(&x, QRUN_DTYPE_FLOAT, 1, d);
    t_fill(&x, (double[]){2.7, -2.7, NAN, 300, INFINITY});
    /* float -> int8 truncates toward zero */
    t_make(&y, QRUN_DTYPE_INT8, 1, d);
    qrun_attr to = {.name = "to", .type = QRUN_ATTR_INT, .i = QRUN_DTYPE_INT8};
    const struct qrun_tensor *ins[1] = {&x.t};
    assert_int_equal(t_run(QRUN_OP_CAST, 13, &to, 1, 1, ins, &y.t), QRUN_OK);
    assert_true(t_get(&y, 0) == 2 && t_get(&y, 1) == -2 && t_get(&y, 2) == 0);
    /* FNUZ Inf: NaN before Cast-24, max from Cast-24 */
    t_tensor f8;
    t_make(&f8, QRUN_DTYPE_FLOAT8E4M3FNUZ, 1, d);
    to.i = QRUN_DTYPE_FLOAT8E4M3FNUZ;
    assert_int_equal(t_run(QRUN_OP_CAST, 19, &to, 1, 1, ins, &f8.t), QRUN_OK);
    assert_int_equal(((uint8_t *)f8.t.data)[4], 0x80);
    assert_int_equal(((uint8_t *)f8.t.data)[3], 0x7F); /* 300 saturates to 240 */
    assert_int_equal(t_run(QRUN_OP_CAST, 24, &to, 1, 1, ins, &f8.t), QRUN_OK);
    assert_int_equal(((uint8_t *)f8.t.data)[4], 0x7F);
    qrun_attr nosat[2] = {to, {.name = "saturate", .type = QRUN_ATTR_INT, .i = 0}};
    assert_int_equal(t_run(QRUN_OP_CAST, 24, nosat, 2, 1, ins, &f8.t), QRUN_OK);
    assert_int_equal(((uint8_t *)f8.t.data)[3], 0x80);
    /* int4 target: packed, saturating */
    t_tensor i4;
    t_make(&i4, QRUN_DTYPE_INT4, 1, d);
    to.i = QRUN_DTYPE_INT4;
    assert_int_equal(t_run(QRUN_OP_CAST, 21, &to, 1, 1, ins, &i4.t), QRUN_OK);
    assert_true(t_get(&i4, 0) == 2 && t_get(&i4, 1) == -2 && t_get(&i4, 3) == 7);
    /* STRING target is refused */
    to.i = QRUN_DTYPE_STRING;
    assert_int_equal(t_run(QRUN_OP_CAST, 13, &to, 1, 1, ins, &y.t), QRUN_E_UNSUPPORTED);
}

static void test_prelu_int(void **state) {
    (void)state;
    t_tensor x, s, y;
    int64_t dx[2] = {2, 2}, ds[1] = {2};
    t_make(&x, QRUN_DTYPE_INT32, 2, dx);
    t_make(&s, QRUN_DTYPE_INT32, 1, ds);
    t_make(&y, QRUN_DTYPE_INT32, 2, dx);
    t_fill(&x, (double[]){-1, 2, -3, -4});
    t_fill(&s, (double[]){2, 3});
    const struct qrun_tensor *ins[2] = {&x.t, &s.t};
    assert_int_equal(t_run(QRUN_OP_PRELU, 16, NULL, 0, 2, ins, &y.t), QRUN_OK);
    assert_true(t_get(&y, 0) == -2 && t_get(&y, 1) == 2 && t_get(&y, 2) == -6 &&
                t_get(&y, 3) == -12);
}

/* Large enough for OpenMP and for rows split into chunks; checked against a plain loop. */
static void test_large_parallel(void **state) {
    (void)state;
    enum { R = 3, C = 40000 };
    struct qrun_tensor a = {0}, b = {0}, y = {0};
    int64_t da[2] = {R, C}, db[1] = {C};
    assert_true(qrun_tensor_set_shape(&a, QRUN_DTYPE_FLOAT, 2, da));
    assert_true(qrun_tensor_set_shape(&b, QRUN_DTYPE_FLOAT, 1, db));
    assert_true(qrun_tensor_set_shape(&y, QRUN_DTYPE_FLOAT, 2, da));
    float *pa = malloc(a.nbytes), *pb = malloc(b.nbytes), *py = malloc(y.nbytes);
    assert_non_null(pa);
    assert_non_null(pb);
    assert_non_null(py);
    for (int i = 0; i < R * C; i++)
        pa[i] = (float)(i % 977) - 400.0f;
    for (int i = 0; i < C; i++)
        pb[i] = (float)(i % 13) * 0.5f;
    a.data = pa;
    b.data = pb;
    y.data = py;
    const struct qrun_tensor *ins[2] = {&a, &b};
    t_threads = 2;
    assert_int_equal(t_run(QRUN_OP_SUB, 14, NULL, 0, 2, ins, &y), QRUN_OK);
    for (int i = 0; i < R * C; i++)
        assert_true(py[i] == pa[i] - pb[i % C]);
    const struct qrun_tensor *in1[1] = {&a};
    assert_int_equal(t_run(QRUN_OP_RELU, 14, NULL, 0, 1, in1, &y), QRUN_OK);
    for (int i = 0; i < R * C; i++)
        assert_true(py[i] == (pa[i] < 0 ? 0.0f : pa[i]));
    t_threads = 1;
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
