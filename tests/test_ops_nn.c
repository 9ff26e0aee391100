/* SPDX-License-Identifier: Apache-2.0 */
/* cpu_ref Conv/MatMul/Gemm/pool/norm/softmax/reduce kernels against naive references on small
 * tensors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/support/kernel_runner.h"

#include "backends/cpu_ref/ops/gemm_f32.h"
#include "runtime/shape/shape_util.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- fixtures: random data and a tolerance check ------------------------ */

/* The kr_* runners take const input arrays; C has no implicit T ** -> const T *const *. */
#define CIN(a) ((const struct qrun_tensor *const *)(a))

static uint32_t g_rng = 12345u;

static float t_rand(void) {
    g_rng = g_rng * 1664525u + 1013904223u;
    return (float)((g_rng >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

static void t_fill_random(struct qrun_tensor *t) {
    float *d = t->data;
    for (int64_t i = 0; i < qrun_tensor_numel_(t); i++)
        d[i] = t_rand();
}

static void
t_expect_close(const float *got, const double *want, int64_t n, double rtol, double atol) {
    for (int64_t i = 0; i < n; i++) {
        double tol = atol + rtol * fabs(want[i]);
        if (!(fabs(got[i] - want[i]) <= tol))
            fail_msg("element %lld: got %.9g, want %.9g", (long long)i, got[i], want[i]);
    }
}

/* ---- Conv against a naive direct convolution ---------------------------- */

typedef struct conv_case {
    int ns; /* spatial rank */
    int64_t n, c, m, group;
    int64_t in[3], k[3], s[3], d[3], pb[3], pe[3];
    bool bias;
    const char *auto_pad; /* NULL = explicit pads */
} conv_case;

/* Direct N-D convolution in double; geometry from the kernel's output dims. */
static void conv_naive(const conv_case *cc,
                       const struct qrun_tensor *x,
                       const struct qrun_tensor *w,
                       const struct qrun_tensor *b,
                       const struct qrun_tensor *y,
                       const int64_t *pb,
                       double *ref) {
    int ns = cc->ns;
    const int64_t *od = y->dims + 2;
    int64_t osp = qrun_shape_numel(ns, od), isp = qrun_shape_numel(ns, x->dims + 2);
    int64_t ksp = qrun_shape_numel(ns, w->dims + 2);
    int64_t cg = cc->c / cc->group, mg = cc->m / cc->group;
    const float *xd = x->data, *wd = w->data, *bd = b ? b->data : NULL;
    for (int64_t n = 0; n < cc->n; n++)
        for (int64_t m = 0; m < cc->m; m++)
            for (int64_t o = 0; o < osp; o++) {
                int64_t oc[3], q = o;
                for (int d = ns - 1; d >= 0; d--) {
                    oc[d] = q % od[d];
                    q /= od[d];
                }
                double acc = bd ? bd[m] : 0.0;
                int64_t g = m / mg;
                for (int64_t ci = 0; ci < cg; ci++)
                    for (int64_t kk = 0; kk < ksp; kk++) {
                        int64_t kc[3], r = kk, ioff = 0;
                        bool inside = true;
                        for (int d = ns - 1; d >= 0; d--) {
                            kc[d] = r % w->dims[2 + d];
                            r /= w->dims[2 + d];
                        }
                        for (int d = 0; d < ns; d++) {
                            int64_t i = oc[d] * cc->s[d] - pb[d] + kc[d] * cc->d[d];
                            inside = inside && i >= 0 && i < x->dims[2 + d];
                            ioff = ioff * x->dims[2 + d] + i;
                        }
                        if (!inside)
                            continue;
                        acc += (double)xd[(n * cc->c + g * cg + ci) * isp + ioff] *
                               wd[(m * cg + ci) * ksp + kk];
                    }
                ref[(n * cc->m + m) * osp + o] = acc;
            }
}

static void conv_run_case(const conv_case *cc) {
    int ns = cc->ns;
    int64_t xd[5] = {cc->n, cc->c}, wd[5] = {cc->m, cc->c / cc->group}, bd[1] = {cc->m};
    int64_t pads[6];
    for (int d = 0; d < ns; d++) {
        xd[2 + d] = cc->in[d];
        wd[2 + d] = cc->k[d];
        pads[d] = cc->pb[d];
        pads[ns + d] = cc->pe[d];
    }
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_CONV, 11, cc->bias ? 3 : 2, 1);
    kr_ints(&tn, "strides", ns, cc->s);
    kr_ints(&tn, "dilations", ns, cc->d);
    kr_int(&tn, "group", cc->group);
    if (cc->auto_pad)
        kr_string(&tn, "auto_pad", cc->auto_pad);
    else
        kr_ints(&tn, "pads", 2 * ns, pads);
    struct qrun_tensor *in[3] = {kr_tensor_new(QRUN_DTYPE_FLOAT, ns + 2, xd),
                                 kr_tensor_new(QRUN_DTYPE_FLOAT, ns + 2, wd),
                                 cc->bias ? kr_tensor_new(QRUN_DTYPE_FLOAT, 1, bd) : NULL};
    for (int i = 0; i < 3; i++)
        if (in[i])
            t_fill_random(in[i]);
    struct qrun_tensor *y1[1], *y2[1];
    qrun_err err = {{0}};
    assert_int_equal(kr_run_new(&tn, CIN(in), y1, 1, &err), QRUN_OK);
    assert_int_equal(kr_run_new(&tn, CIN(in), y2, 2, &err), QRUN_OK);
    int64_t n = qrun_tensor_numel_(y1[0]);
    /* Same summation order whatever the thread count. */
    assert_memory_equal(y1[0]->data, y2[0]->data, y1[0]->nbytes);
    int64_t pb[3];
    for (int d = 0; d < ns; d++) {
        pb[d] = cc->pb[d];
        if (cc->auto_pad) { /* SAME_UPPER: the smaller half first */
            int64_t o = y1[0]->dims[2 + d];
            int64_t need = (o - 1) * cc->s[d] + (cc->k[d] - 1) * cc->d[d] + 1 - cc->in[d];
            pb[d] = need > 0 ? need / 2 : 0;
        }
    }
    double *ref = malloc((size_t)n * sizeof *ref);
    conv_naive(cc, in[0], in[1], in[2], y1[0], pb, ref);
    t_expect_close(y1[0]->data, ref, n, 1e-4, 1e-5);
    free(ref);
    for (int i = 0; i < 3; i++)
        kr_tensor_free(in[i]);
    kr_tensor_free(y1[0]);
    kr_tensor_free(y2[0]);
}

static void test_conv_vs_naive(void **state) {
    (void)state;
    static const conv_case cases[] = {
        /* 3x3 pad 1, batch 2 */
        {2, 2, 3, 4, 1, {9, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, NULL},
        /* stride 2, dilation 2, asymmetric pads, odd sizes */
        {2, 1, 3, 5, 1, {11, 8}, {3, 2}, {2, 3}, {2, 1}, {1, 0}, {2, 1}, false, NULL},
        /* groups */
        {2, 1, 4, 6, 2, {7, 7}, {3, 3}, {1, 1}, {1, 1}, {0, 1}, {1, 0}, true, NULL},
        /* 1x1 stride 1: no im2col */
        {2, 2, 5, 7, 1, {6, 5}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, true, NULL},
        /* 1x1 stride 2 */
        {2, 1, 5, 7, 1, {6, 5}, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, false, NULL},
        /* depthwise 3x3 */
        {2, 2, 6, 6, 6, {8, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, NULL},
        /* depthwise, multiplier 2, stride 2, dilation 2 */
        {2, 1, 3, 6, 3, {10, 9}, {3, 3}, {2, 2}, {2, 2}, {2, 1}, {1, 2}, true, NULL},
        /* 1-D */
        {1, 2, 3, 4, 1, {20}, {5}, {2}, {1}, {2}, {1}, true, NULL},
        /* 1-D depthwise */
        {1, 1, 4, 4, 4, {13}, {3}, {1}, {2}, {2}, {2}, false, NULL},
        /* 3-D */
        {3,
         1,
         2,
         3,
         1,
         {5, 6, 4},
         {3, 3, 2},
         {1, 2, 1},
         {1, 1, 2},
         {1, 0, 1},
         {1, 1, 0},
         true,
         NULL},
        /* SAME_UPPER, stride 2 */
        {2, 1, 2, 3, 1, {7, 6}, {3, 3}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, true, "SAME_UPPER"},
        /* large enough for chunked im2col, K > KC and M > MC in the GEMM */
        {2, 1, 64, 100, 1, {48, 48}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        conv_run_case(&cases[i]);
}

static void test_conv_transpose(void **state) {
    (void)state;
    /* ONNX test_convtranspose_1d: x = [0,1,2], w = ones(1,2,3) -> [0,1,3,3,2] twice. */
    int64_t xd[3] = {1, 1, 3}, wd[3] = {1, 2, 3};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_CONV_TRANSPOSE, 11, 2, 1);
    struct qrun_tensor *in[2] = {kr_tensor_new(QRUN_DTYPE_FLOAT, 3, xd),
                                 kr_tensor_new(QRUN_DTYPE_FLOAT, 3, wd)};
    float *x = in[0]->data, *w = in[1]->data;
    for (int i = 0; i < 3; i++)
        x[i] = (float)i;
    for (int i = 0; i < 6; i++)
        w[i] = 1.0f;
    struct qrun_tensor *y[1];
    qrun_err err = {{0}};
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 1, &err), QRUN_OK);
    static const float want[10] = {0, 1, 3, 3, 2, 0, 1, 3, 3, 2};
    kr_expect_floats(y[0], want, 10, 1e-4, 1e-5);
    kr_tensor_free(y[0]);
    /* stride 2 + output_padding 1: y[2i + k] += x[i] */
    int64_t s[1] = {2}, op[1] = {1};
    kr_ints(&tn, "strides", 1, s);
    kr_ints(&tn, "output_padding", 1, op);
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 1, &err), QRUN_OK);
    static const float want2[16] = {0, 0, 1, 1, 3, 2, 2, 0, 0, 0, 1, 1, 3, 2, 2, 0};
    kr_expect_floats(y[0], want2, 16, 1e-4, 1e-5);
    kr_tensor_free(y[0]);
    kr_tensor_free(in[0]);
    kr_tensor_free(in[1]);
}

/* An empty spatial input scatters nothing: the output (length 0 - 1 + 3 = 2) is the bias alone.
 * Found by fuzz_model: the kernel used to offset its empty (NULL) scratch. */
static void test_conv_transpose_empty_input(void **state) {
    (void)state;
    int64_t xd[3] = {1, 1, 0}, wd[3] = {1, 2, 3}, bd[1] = {2};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_CONV_TRANSPOSE, 11, 3, 1);
    struct qrun_tensor *in[3] = {kr_tensor_new(QRUN_DTYPE_FLOAT, 3, xd),
                                 kr_tensor_new(QRUN_DTYPE_FLOAT, 3, wd),
                                 kr_tensor_new(QRUN_DTYPE_FLOAT, 1, bd)};
    float *w = in[1]->data, *b = in[2]->data;
    for (int i = 0; i < 6; i++)
        w[i] = 1.0f;
    b[0] = 1.5f;
    b[1] = -2.0f;
    struct qrun_tensor *y[1];
    qrun_err err = {{0}};
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 1, &err), QRUN_OK);
    kr_assert_dims(y[0], 3, (int64_t[]){1, 2, 2});
    static const float want[4] = {1.5f, 1.5f, -2.0f, -2.0f};
    kr_expect_floats(y[0], want, 4, 0, 0);
    kr_tensor_free(y[0]);
    for (int i = 0; i < 3; i++)
        kr_tensor_free(in[i]);
}

static void test_conv_shape_errors(void **state) {
    (void)state;
    int64_t xd[4] = {1, 3, 5, 5}, wd[4] = {2, 1, 3, 3}, wbig[4] = {2, 3, 7, 7};
    struct qrun_tensor *x = kr_tensor_new(QRUN_DTYPE_FLOAT, 4, xd);
    struct qrun_tensor *w = kr_tensor_new(QRUN_DTYPE_FLOAT, 4, wd);
    struct qrun_tensor *wb = kr_tensor_new(QRUN_DTYPE_FLOAT, 4, wbig);
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_CONV, 11, 2, 1);
    struct qrun_tensor out[1];
    qrun_err err = {{0}};
    const struct qrun_tensor *ins[2] = {x, w};
    bool need = false;
    assert_int_equal(kr_infer(&tn, ins, out, &need, &err), QRUN_E_MODEL);
    assert_non_null(strstr(err.msg, "input has 3 channels, weight expects 1*1"));
    ins[1] = wb;
    assert_int_equal(kr_infer(&tn, ins, out, &need, &err), QRUN_E_MODEL);
    assert_non_null(strstr(err.msg, "larger than the padded input"));
    kr_tensor_free(x);
    kr_tensor_free(w);
    kr_tensor_free(wb);
}

/* ---- SGEMM against a triple loop ----------------------------------------- */

static void gemm_check(
    int64_t m, int64_t n, int64_t k, bool ta, bool tb, float alpha, float beta, int threads) {
    int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
    float *a = malloc(sizeof(float) * (size_t)((ta ? k : m) * lda));
    float *b = malloc(sizeof(float) * (size_t)((tb ? n : k) * ldb));
    float *c = malloc(sizeof(float) * (size_t)(m * ldc));
    double *ref = malloc(sizeof(double) * (size_t)(m * n));
    float *got = malloc(sizeof(float) * (size_t)(m * n));
    for (int64_t i = 0; i < (ta ? k : m) * lda; i++)
        a[i] = t_rand();
    for (int64_t i = 0; i < (tb ? n : k) * ldb; i++)
        b[i] = t_rand();
    for (int64_t i = 0; i < m * ldc; i++)
        c[i] = t_rand();
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (int64_t p = 0; p < k; p++)
                acc += (double)(ta ? a[p * lda + i] : a[i * lda + p]) *
                       (tb ? b[j * ldb + p] : b[p * ldb + j]);
            ref[i * n + j] = alpha * acc + (beta != 0.0f ? beta * c[i * ldc + j] : 0.0);
        }
    if (beta == 0.0f) /* beta == 0 must not read C */
        for (int64_t i = 0; i < m * ldc; i++)
            c[i] = NAN;
    cpu_ref_sgemm_args g = {.m = m,
                            .n = n,
                            .k = k,
                            .alpha = alpha,
                            .beta = beta,
                            .a = a,
                            .lda = lda,
                            .trans_a = ta,
                            .b = b,
                            .ldb = ldb,
                            .trans_b = tb,
                            .c = c,
                            .ldc = ldc};
    size_t sb = cpu_ref_sgemm_scratch_bytes(m, n, k, threads);
    void *scratch = sb ? aligned_alloc(64, (sb + 63) / 64 * 64) : NULL;
    cpu_ref_sgemm(&g, scratch, threads);
    for (int64_t i = 0; i < m; i++)
        memcpy(got + i * n, c + i * ldc, (size_t)n * sizeof(float));
    t_expect_close(got, ref, m * n, 1e-4, 1e-4);
    free(scratch);
    free(a);
    free(b);
    free(c);
    free(ref);
    free(got);
}

static void test_sgemm_vs_naive(void **state) {
    (void)state;
    static const int64_t sizes[][3] = {
        {1, 1, 1},    {1, 7, 13},   {2, 17, 5},     {3, 33, 300},  {5, 3, 2},    {7, 16, 9},
        {13, 31, 17}, {97, 33, 65}, {130, 45, 300}, {6, 1100, 20}, {100, 70, 1}, {4, 5, 0},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int f = 0; f < 4; f++) {
            float alpha = f == 3 ? 0.5f : 1.0f, beta = f >= 2 ? 0.75f : 0.0f;
            gemm_check(sizes[i][0], sizes[i][1], sizes[i][2], f & 1, (f >> 1) & 1, alpha, beta,
                       1 + (int)(i % 2));
        }
    }
}

/* ---- MatMul and Gemm kernels ------------------------------------------- */

static void matmul_check(
    int ra, const int64_t *da, int rb, const int64_t *db, int want_rank, const int64_t *want_dims) {
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_MATMUL, 13, 2, 1);
    struct qrun_tensor *in[2] = {kr_tensor_new(QRUN_DTYPE_FLOAT, ra, da),
                                 kr_tensor_new(QRUN_DTYPE_FLOAT, rb, db)};
    t_fill_random(in[0]);
    t_fill_random(in[1]);
    struct qrun_tensor *y[1];
    qrun_err err = {{0}};
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 2, &err), QRUN_OK);
    assert_int_equal(y[0]->rank, want_rank);
    assert_memory_equal(y[0]->dims, want_dims, (size_t)want_rank * sizeof(int64_t));
    /* Reference: numpy semantics with 1-D operands promoted, batch broadcast. */
    int64_t k = da[ra - 1], m = ra >= 2 ? da[ra - 2] : 1, n = rb >= 2 ? db[rb - 1] : 1;
    int64_t batch = qrun_tensor_numel_(y[0]) / (m * n);
    int64_t yb[QRUN_MAX_RANK], brank = want_rank - (ra >= 2) - (rb >= 2);
    memcpy(yb, want_dims, (size_t)brank * sizeof(int64_t));
    int64_t sa[QRUN_MAX_RANK] = {0}, sb[QRUN_MAX_RANK] = {0};
    if (ra > 2)
        qrun_broadcast_strides(ra - 2, da, (int)brank, yb, sa);
    if (rb > 2)
        qrun_broadcast_strides(rb - 2, db, (int)brank, yb, sb);
    double *ref = malloc(sizeof(double) * (size_t)(batch * m * n));
    const float *a = in[0]->data, *b = in[1]->data;
    for (int64_t t = 0; t < batch; t++) {
        int64_t q = t, oa = 0, ob = 0;
        for (int d = (int)brank - 1; d >= 0; d--) {
            oa += (q % yb[d]) * sa[d] * m * k;
            ob += (q % yb[d]) * sb[d] * k * n;
            q /= yb[d];
        }
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double acc = 0;
                for (int64_t p = 0; p < k; p++)
                    acc += (double)a[oa + i * k + p] * b[ob + p * n + j];
                ref[(t * m + i) * n + j] = acc;
            }
    }
    t_expect_close(y[0]->data, ref, batch * m * n, 1e-5, 1e-5);
    free(ref);
    kr_tensor_free(in[0]);
    kr_tensor_free(in[1]);
    kr_tensor_free(y[0]);
}

static void test_matmul(void **state) {
    (void)state;
    matmul_check(2, (int64_t[]){3, 4}, 2, (int64_t[]){4, 5}, 2, (int64_t[]){3, 5});
    matmul_check(4, (int64_t[]){2, 1, 3, 4}, 3, (int64_t[]){5, 4, 2}, 4, (int64_t[]){2, 5, 3, 2});
    matmul_check(3, (int64_t[]){6, 7, 9}, 2, (int64_t[]){9, 11}, 3, (int64_t[]){6, 7, 11});
    matmul_check(1, (int64_t[]){4}, 3, (int64_t[]){2, 4, 3}, 2, (int64_t[]){2, 3});
    matmul_check(3, (int64_t[]){2, 3, 4}, 1, (int64_t[]){4}, 2, (int64_t[]){2, 3});
    matmul_check(1, (int64_t[]){4}, 1, (int64_t[]){4}, 0, (int64_t[]){0});
}

static void test_gemm(void **state) {
    (void)state;
    /* A^T (3x2) * B^T (2x4) * 0.5 + 2 * C[1,4] */
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_GEMM, 13, 3, 1);
    kr_int(&tn, "transA", 1);
    kr_int(&tn, "transB", 1);
    kr_float(&tn, "alpha", 0.5f);
    kr_float(&tn, "beta", 2.0f);
    struct qrun_tensor *in[3] = {kr_tensor_new(QRUN_DTYPE_FLOAT, 2, (int64_t[]){2, 3}),
                                 kr_tensor_new(QRUN_DTYPE_FLOAT, 2, (int64_t[]){4, 2}),
                                 kr_tensor_new(QRUN_DTYPE_FLOAT, 2, (int64_t[]){1, 4})};
    for (int i = 0; i < 3; i++)
        t_fill_random(in[i]);
    struct qrun_tensor *y[1];
    qrun_err err = {{0}};
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 1, &err), QRUN_OK);
    const float *a = in[0]->data, *b = in[1]->data, *c = in[2]->data;
    double ref[12];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            ref[i * 4 + j] =
                0.5 * ((double)a[0 * 3 + i] * b[j * 2 + 0] + (double)a[1 * 3 + i] * b[j * 2 + 1]) +
                2.0 * c[j];
    t_expect_close(y[0]->data, ref, 12, 1e-5, 1e-6);
    kr_tensor_free(y[0]);
    /* Without C (opset 11+). */
    kr_io(&tn, 2, 1);
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 1, &err), QRUN_OK);
    for (int j = 0; j < 12; j++)
        ref[j] -= 2.0 * c[j % 4];
    t_expect_close(y[0]->data, ref, 12, 1e-5, 1e-6);
    kr_tensor_free(y[0]);
    for (int i = 0; i < 3; i++)
        kr_tensor_free(in[i]);
}

/* ---- pools ---------------------------------------------------------------- */

static void test_maxpool_indices(void **state) {
    (void)state;
    /* 1x1x4x4 with values 0..15 transposed, 2x2 stride 2; column-major indices. */
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_MAX_POOL, 12, 1, 2);
    kr_ints(&tn, "kernel_shape", 2, (int64_t[]){2, 2});
    kr_ints(&tn, "strides", 2, (int64_t[]){2, 2});
    kr_int(&tn, "storage_order", 1);
    struct qrun_tensor *in[1] = {kr_tensor_new(QRUN_DTYPE_FLOAT, 4, (int64_t[]){1, 1, 4, 4})};
    float *x = in[0]->data;
    for (int i = 0; i < 16; i++)
        x[i] = (float)((i % 4) * 4 + i / 4);
    struct qrun_tensor *y[2];
    qrun_err err = {{0}};
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 1, &err), QRUN_OK);
    static const float want[4] = {5, 13, 7, 15};
    kr_expect_floats(y[0], want, 4, 1e-4, 1e-5);
    /* max at row-major (1,1),(1,3),(3,1),(3,3) -> column-major h + w*H */
    const int64_t *idx = y[1]->data;
    assert_int_equal(idx[0], 1 + 1 * 4);
    assert_int_equal(idx[1], 1 + 3 * 4);
    assert_int_equal(idx[2], 3 + 1 * 4);
    assert_int_equal(idx[3], 3 + 3 * 4);
    kr_tensor_free(y[0]);
    kr_tensor_free(y[1]);
    kr_tensor_free(in[0]);
}

static void test_avgpool(void **state) {
    (void)state;
    /* 1x1x3x3 of ones, kernel 3, pads 1: count_include_pad 0 -> all 1; 1 -> corner 4/9. */
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_AVERAGE_POOL, 11, 1, 1);
    kr_ints(&tn, "kernel_shape", 2, (int64_t[]){3, 3});
    kr_ints(&tn, "pads", 4, (int64_t[]){1, 1, 1, 1});
    struct qrun_tensor *in[1] = {kr_tensor_new(QRUN_DTYPE_FLOAT, 4, (int64_t[]){1, 1, 3, 3})};
    float *x = in[0]->data;
    for (int i = 0; i < 9; i++)
        x[i] = 1.0f;
    struct qrun_tensor *y[1];
    qrun_err err = {{0}};
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 1, &err), QRUN_OK);
    static const float ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    kr_expect_floats(y[0], ones, 9, 1e-4, 1e-5);
    kr_tensor_free(y[0]);
    kr_int(&tn, "count_include_pad", 1);
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 1, &err), QRUN_OK);
    static const float inc[9] = {4 / 9.f, 6 / 9.f, 4 / 9.f, 6 / 9.f, 1,
                                 6 / 9.f, 4 / 9.f, 6 / 9.f, 4 / 9.f};
    kr_expect_floats(y[0], inc, 9, 1e-4, 1e-5);
    kr_tensor_free(y[0]);
    kr_tensor_free(in[0]);
}

static void test_pool_ceil_mode(void **state) {
    (void)state;
    /* 1-D length 5, kernel 2, stride 2: floor -> 2 outputs, ceil -> 3 (last window partial). */
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_MAX_POOL, 12, 1, 1);
    kr_ints(&tn, "kernel_shape", 1, (int64_t[]){2});
    kr_ints(&tn, "strides", 1, (int64_t[]){2});
    kr_int(&tn, "ceil_mode", 1);
    struct qrun_tensor *in[1] = {kr_tensor_new(QRUN_DTYPE_FLOAT, 3, (int64_t[]){1, 1, 5})};
    float *x = in[0]->data;
    for (int i = 0; i < 5; i++)
        x[i] = (float)(i * i % 7);
    struct qrun_tensor *y[1];
    qrun_err err = {{0}};
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 1, &err), QRUN_OK);
    static const float want[3] = {1, 4, 2}; /* x = 0 1 4 2 2 */
    kr_expect_floats(y[0], want, 3, 1e-4, 1e-5);
    kr_tensor_free(y[0]);
    kr_tensor_free(in[0]);
}

static void test_global_pool(void **state) {
    (void)state;
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_GLOBAL_AVERAGE_POOL, 1, 1, 1);
    struct qrun_tensor *in[1] = {kr_tensor_new(QRUN_DTYPE_FLOAT, 4, (int64_t[]){1, 2, 2, 2})};
    float *x = in[0]->data;
    for (int i = 0; i < 8; i++)
        x[i] = (float)i;
    struct qrun_tensor *y[1];
    qrun_err err = {{0}};
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 1, &err), QRUN_OK);
    assert_int_equal(y[0]->rank, 4);
    static const float avg[2] = {1.5f, 5.5f};
    kr_expect_floats(y[0], avg, 2, 1e-4, 1e-5);
    kr_tensor_free(y[0]);
    tn.node.op = QRUN_OP_GLOBAL_MAX_POOL;
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 1, &err), QRUN_OK);
    static const float mx[2] = {3, 7};
    kr_expect_floats(y[0], mx, 2, 1e-4, 1e-5);
    kr_tensor_free(y[0]);
    kr_tensor_free(in[0]);
}

/* ---- norms, softmax, reductions ----------------------------------------- */

static void test_batchnorm(void **state) {
    (void)state;
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_BATCH_NORMALIZATION, 15, 5, 1);
    kr_float(&tn, "epsilon", 0.0f);
    struct qrun_tensor *in[5] = {kr_tensor_new(QRUN_DTYPE_FLOAT, 3, (int64_t[]){1, 2, 2})};
    for (int i = 1; i < 5; i++)
        in[i] = kr_tensor_new(QRUN_DTYPE_FLOAT, 1, (int64_t[]){2});
    memcpy(in[0]->data, (float[]){1, 3, 10, 20}, 4 * sizeof(float));
    memcpy(in[1]->data, (float[]){2, 1}, 2 * sizeof(float));  /* scale */
    memcpy(in[2]->data, (float[]){0, 5}, 2 * sizeof(float));  /* bias */
    memcpy(in[3]->data, (float[]){2, 15}, 2 * sizeof(float)); /* mean */
    memcpy(in[4]->data, (float[]){4, 25}, 2 * sizeof(float)); /* var */
    struct qrun_tensor *y[1];
    qrun_err err = {{0}};
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 1, &err), QRUN_OK);
    static const float want[4] = {-1, 1, 4, 6};
    kr_expect_floats(y[0], want, 4, 1e-4, 1e-5);
    kr_tensor_free(y[0]);
    for (int i = 0; i < 5; i++)
        kr_tensor_free(in[i]);
}

static void test_layernorm(void **state) {
    (void)state;
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_LAYER_NORMALIZATION, 17, 3, 3);
    kr_float(&tn, "epsilon", 0.0f);
    struct qrun_tensor *in[3] = {kr_tensor_new(QRUN_DTYPE_FLOAT, 2, (int64_t[]){2, 2}),
                                 kr_tensor_new(QRUN_DTYPE_FLOAT, 1, (int64_t[]){2}),
                                 kr_tensor_new(QRUN_DTYPE_FLOAT, 1, (int64_t[]){2})};
    memcpy(in[0]->data, (float[]){1, 3, 5, 7}, 4 * sizeof(float));
    memcpy(in[1]->data, (float[]){2, 3}, 2 * sizeof(float));
    memcpy(in[2]->data, (float[]){1, 0}, 2 * sizeof(float));
    struct qrun_tensor *y[3];
    qrun_err err = {{0}};
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 1, &err), QRUN_OK);
    /* row 0: mean 2, std 1 -> [-1, 1] * [2, 3] + [1, 0] */
    const float *yd = y[0]->data;
    assert_true(fabsf(yd[0] - (-1.0f)) < 1e-6f && fabsf(yd[1] - 3.0f) < 1e-6f);
    assert_int_equal(y[1]->rank, 2);
    assert_int_equal(y[1]->dims[1], 1);
    assert_true(fabsf(((float *)y[1]->data)[0] - 2.0f) < 1e-6f);
    assert_true(fabsf(((float *)y[2]->data)[0] - 1.0f) < 1e-6f);
    for (int i = 0; i < 3; i++) {
        kr_tensor_free(y[i]);
        kr_tensor_free(in[i]);
    }
}

/* LRN sums squares over channels ch - floor((size-1)/2) .. ch + ceil((size-1)/2), clipped: an
 * even size reaches one channel further up than down. x is [1, 4, 1, 2]. */
static void test_lrn(void **state) {
    (void)state;
    struct qrun_tensor *in[1] = {kr_tensor_new(QRUN_DTYPE_FLOAT, 4, (int64_t[]){1, 4, 1, 2})};
    memcpy(in[0]->data, (float[]){1, 2, 0, 1, 2, 0, 1, 1}, 8 * sizeof(float));
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_LRN, 13, 1, 1);
    kr_int(&tn, "size", 2);
    kr_float(&tn, "alpha", 4.0f); /* alpha / size = 2 */
    kr_float(&tn, "beta", 1.0f);
    kr_float(&tn, "bias", 1.0f);
    struct qrun_tensor *y[1];
    qrun_err err = {{0}};
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 1, &err), QRUN_OK);
    kr_assert_dims(y[0], 4, (int64_t[]){1, 4, 1, 2});
    static const float even[8] = {1.0f / 3,  2.0f / 11, 0,        1.0f / 3,
                                  2.0f / 11, 0,         1.0f / 3, 1.0f / 3};
    kr_expect_floats(y[0], even, 8, 1e-5, 1e-6);
    kr_tensor_free(y[0]);

    /* size 3 reaches one channel each way; beta 0.5 and bias 0 give x / sqrt(square_sum). */
    kr_node_init(&tn, QRUN_OP_LRN, 13, 1, 1);
    kr_int(&tn, "size", 3);
    kr_float(&tn, "alpha", 3.0f);
    kr_float(&tn, "beta", 0.5f);
    kr_float(&tn, "bias", 0.0f);
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 1, &err), QRUN_OK);
    const float r5 = 1.0f / sqrtf(5.0f);
    const float odd[8] = {1, 2 * r5, 0, r5, 2 * r5, 0, r5, 1};
    kr_expect_floats(y[0], odd, 8, 1e-5, 1e-6);
    kr_tensor_free(y[0]);

    /* size is required and positive; the input needs a channel axis and at least one more. */
    struct qrun_tensor out[1];
    bool need = false;
    kr_node_init(&tn, QRUN_OP_LRN, 13, 1, 1);
    assert_int_equal(kr_infer(&tn, CIN(in), out, &need, &err), QRUN_E_MODEL);
    assert_non_null(strstr(err.msg, "size"));
    kr_int(&tn, "size", 0);
    assert_int_equal(kr_infer(&tn, CIN(in), out, &need, &err), QRUN_E_MODEL);
    kr_tensor_free(in[0]);
    in[0] = kr_tensor_new(QRUN_DTYPE_FLOAT, 2, (int64_t[]){1, 4});
    kr_node_init(&tn, QRUN_OP_LRN, 13, 1, 1);
    kr_int(&tn, "size", 3);
    assert_int_equal(kr_infer(&tn, CIN(in), out, &need, &err), QRUN_E_MODEL);
    assert_non_null(strstr(err.msg, "rank"));
    kr_tensor_free(in[0]);
}

static void test_softmax_opsets(void **state) {
    (void)state;
    /* [2,3] x over axis 1: the same at opset 11 (2-D coercion) and 13. Then [2,2] axis 0 at
     * opset 13. */
    struct qrun_tensor *in[1] = {kr_tensor_new(QRUN_DTYPE_FLOAT, 2, (int64_t[]){2, 2})};
    memcpy(in[0]->data, (float[]){0, 1, 2, 3}, 4 * sizeof(float));
    struct qrun_tensor *y[1] = {kr_tensor_new(QRUN_DTYPE_FLOAT, 2, (int64_t[]){2, 2})};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_SOFTMAX, 11, 1, 1);
    qrun_err err = {{0}};
    assert_int_equal(kr_eval(&tn, CIN(in), y, 1, &err), QRUN_OK);
    float e = expf(1.0f), s = 1.0f + e;
    float want_row[4] = {1 / s, e / s, 1 / s, e / s};
    kr_expect_floats(y[0], want_row, 4, 1e-4, 1e-5);
    /* opset 11, axis 0: whole tensor is one row */
    kr_int(&tn, "axis", 0);
    assert_int_equal(kr_eval(&tn, CIN(in), y, 1, &err), QRUN_OK);
    float tot = 1 + e + e * e + e * e * e;
    float want_all[4] = {1 / tot, e / tot, e * e / tot, e * e * e / tot};
    kr_expect_floats(y[0], want_all, 4, 1e-4, 1e-5);
    /* opset 13, axis 0: per column */
    tn.node.opset = 13;
    assert_int_equal(kr_eval(&tn, CIN(in), y, 1, &err), QRUN_OK);
    float e2 = expf(2.0f), s2 = 1 + e2;
    float want_col[4] = {1 / s2, 1 / s2, e2 / s2, e2 / s2};
    kr_expect_floats(y[0], want_col, 4, 1e-4, 1e-5);
    /* LogSoftmax opset 13 axis 0 */
    tn.node.op = QRUN_OP_LOG_SOFTMAX;
    assert_int_equal(kr_eval(&tn, CIN(in), y, 1, &err), QRUN_OK);
    for (int i = 0; i < 4; i++)
        want_col[i] = logf(want_col[i]);
    kr_expect_floats(y[0], want_col, 4, 1e-4, 1e-5);
    kr_tensor_free(in[0]);
    kr_tensor_free(y[0]);
}

static void test_reduce(void **state) {
    (void)state;
    /* x[2,3,2] = 0..11 */
    struct qrun_tensor *in[2] = {kr_tensor_new(QRUN_DTYPE_FLOAT, 3, (int64_t[]){2, 3, 2}),
                                 kr_tensor_new(QRUN_DTYPE_INT64, 1, (int64_t[]){2})};
    float *x = in[0]->data;
    for (int i = 0; i < 12; i++)
        x[i] = (float)i;
    memcpy(in[1]->data, (int64_t[]){0, -1}, 2 * sizeof(int64_t));
    struct qrun_tensor *y[1];
    qrun_err err = {{0}};
    kr_node tn;
    /* ReduceSum 13: axes input {0, 2}, keepdims 0 -> [3] */
    kr_node_init(&tn, QRUN_OP_REDUCE_SUM, 13, 2, 1);
    kr_int(&tn, "keepdims", 0);
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 1, &err), QRUN_OK);
    assert_int_equal(y[0]->rank, 1);
    static const float sum[3] = {0 + 1 + 6 + 7, 2 + 3 + 8 + 9, 4 + 5 + 10 + 11};
    kr_expect_floats(y[0], sum, 3, 1e-4, 1e-5);
    kr_tensor_free(y[0]);
    /* ReduceMax 13: axes attribute {1}, keepdims -> [2,1,2] */
    kr_node_init(&tn, QRUN_OP_REDUCE_MAX, 13, 1, 1);
    kr_ints(&tn, "axes", 1, (int64_t[]){1});
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 1, &err), QRUN_OK);
    assert_int_equal(y[0]->rank, 3);
    assert_int_equal(y[0]->dims[1], 1);
    static const float mx[4] = {4, 5, 10, 11};
    kr_expect_floats(y[0], mx, 4, 1e-4, 1e-5);
    kr_tensor_free(y[0]);
    /* ReduceMean 18, no axes: everything */
    kr_node_init(&tn, QRUN_OP_REDUCE_MEAN, 18, 1, 1);
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 1, &err), QRUN_OK);
    static const float mean[1] = {5.5f};
    kr_expect_floats(y[0], mean, 1, 1e-4, 1e-5);
    kr_tensor_free(y[0]);
    /* axes input with unknown value: inference asks for it */
    kr_node_init(&tn, QRUN_OP_REDUCE_SUM, 13, 2, 1);
    struct qrun_tensor axes_unknown = *in[1], out[1];
    axes_unknown.data = NULL;
    const struct qrun_tensor *ins[2] = {in[0], &axes_unknown};
    bool need = false;
    assert_int_equal(kr_infer(&tn, ins, out, &need, &err), QRUN_OK);
    assert_true(need);
    kr_tensor_free(in[0]);
    kr_tensor_free(in[1]);
}

static void test_argmax(void **state) {
    (void)state;
    struct qrun_tensor *in[1] = {kr_tensor_new(QRUN_DTYPE_FLOAT, 2, (int64_t[]){2, 3})};
    memcpy(in[0]->data, (float[]){1, 5, 5, 7, 2, 7}, 6 * sizeof(float));
    struct qrun_tensor *y[1];
    qrun_err err = {{0}};
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_ARG_MAX, 13, 1, 1);
    kr_int(&tn, "axis", 1);
    kr_int(&tn, "keepdims", 0);
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 1, &err), QRUN_OK);
    assert_int_equal(y[0]->dtype, QRUN_DTYPE_INT64);
    assert_int_equal(((int64_t *)y[0]->data)[0], 1);
    assert_int_equal(((int64_t *)y[0]->data)[1], 0);
    kr_tensor_free(y[0]);
    kr_int(&tn, "select_last_index", 1);
    assert_int_equal(kr_run_new(&tn, CIN(in), y, 1, &err), QRUN_OK);
    assert_int_equal(((int64_t *)y[0]->data)[0], 2);
    assert_int_equal(((int64_t *)y[0]->data)[1], 2);
    kr_tensor_free(y[0]);
    kr_tensor_free(in[0]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgemm_vs_naive),
        cmocka_unit_test(test_conv_vs_naive),
        cmocka_unit_test(test_conv_transpose),
        cmocka_unit_test(test_conv_transpose_empty_input),
        cmocka_unit_test(test_conv_shape_errors),
        cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_maxpool_indices),
        cmocka_unit_test(test_avgpool),
        cmocka_unit_test(test_pool_ceil_mode),
        cmocka_unit_test(test_global_pool),
        cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_layernorm),
        cmocka_unit_test(test_lrn),
        cmocka_unit_test(test_softmax_opsets),
        cmocka_unit_test(test_reduce),
        cmocka_unit_test(test_argmax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
