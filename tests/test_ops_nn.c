/* SPDX-License-Identifier: Apache-2.0 */
/* cpu_ref Conv/MatMul/Gemm/pool/norm/softmax/reduce kernels against naive references on small
 * tensors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "backends/cpu_ref/kernel.h"
#include "backends/cpu_ref/ops/gemm_f32.h"
#include "runtime/ir.h"
#include "runtime/op.h"
#include "runtime/shape/shape_util.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- fixtures: hand-built nodes and tensors ----------------------------- */

enum { T_MAX_ATTRS = 12, T_MAX_IO = 5 };

typedef struct t_node {
    qrun_node node;
    qrun_attr attrs[T_MAX_ATTRS];
    int64_t ints[T_MAX_ATTRS][QRUN_MAX_RANK * 2];
    int io[2 * T_MAX_IO];
} t_node;

static void
t_node_init(t_node *t, qrun_op op, const char *op_type, int64_t opset, int n_in, int n_out) {
    memset(t, 0, sizeof *t);
    t->node.name = (char *)op_type;
    t->node.op_type = (char *)op_type;
    t->node.domain = (char *)"";
    t->node.op = op;
    t->node.opset = opset;
    t->node.n_inputs = n_in;
    t->node.inputs = t->io;
    t->node.n_outputs = n_out;
    t->node.outputs = t->io + T_MAX_IO;
    for (int i = 0; i < 2 * T_MAX_IO; i++)
        t->io[i] = i;
    t->node.attrs = t->attrs;
}

static qrun_attr *t_attr(t_node *t, const char *name, qrun_attr_type type) {
    qrun_attr *a = &t->attrs[t->node.n_attrs++];
    a->name = (char *)name;
    a->type = type;
    return a;
}

static void t_int(t_node *t, const char *name, int64_t v) {
    t_attr(t, name, QRUN_ATTR_INT)->i = v;
}

static void t_float(t_node *t, const char *name, float v) {
    t_attr(t, name, QRUN_ATTR_FLOAT)->f = v;
}

static void t_string(t_node *t, const char *name, const char *s) {
    qrun_attr *a = t_attr(t, name, QRUN_ATTR_STRING);
    a->s = (char *)s;
    a->s_len = strlen(s);
}

static void t_ints(t_node *t, const char *name, int n, const int64_t *v) {
    int idx = t->node.n_attrs;
    qrun_attr *a = t_attr(t, name, QRUN_ATTR_INTS);
    memcpy(t->ints[idx], v, (size_t)n * sizeof *v);
    a->ints = t->ints[idx];
    a->n = (size_t)n;
}

static struct qrun_tensor *t_tensor(qrun_dtype dt, int rank, const int64_t *dims) {
    struct qrun_tensor *t = calloc(1, sizeof *t);
    assert_non_null(t);
    assert_true(qrun_tensor_set_shape(t, dt, rank, dims));
    t->data = calloc(1, t->nbytes + 64);
    assert_non_null(t->data);
    return t;
}

static void t_tensor_free(struct qrun_tensor *t) {
    if (t) {
        free(t->data);
        free(t);
    }
}

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

static const cpu_ref_kernel *t_find(const cpu_ref_kernel *table, qrun_op op) {
    for (; table->op != QRUN_OP_UNKNOWN; table++) {
        if (table->op == op)
            return table;
    }
    return NULL;
}

/*
 * Infer output shapes with infer, allocate outputs (filled with NaN bytes so
 * unwritten elements show), size scratch and run the kernel of table.
 */
static qrun_status t_run(const cpu_ref_kernel *table,
                         qrun_infer_fn infer,
                         const t_node *tn,
                         struct qrun_tensor **in,
                         struct qrun_tensor **out,
                         int n_threads,
                         qrun_err *err) {
    int n_in = tn->node.n_inputs, n_out = tn->node.n_outputs;
    struct qrun_tensor shapes[T_MAX_IO];
    memset(shapes, 0, sizeof shapes);
    qrun_infer_ctx c = {.node = &tn->node,
                        .n_inputs = n_in,
                        .inputs = (const struct qrun_tensor *const *)in,
                        .n_outputs = n_out,
                        .outputs = shapes,
                        .err = err};
    qrun_status st = infer(&c);
    if (st != QRUN_OK)
        return st;
    assert_false(c.need_value);
    for (int i = 0; i < n_out; i++) {
        out[i] = t_tensor(shapes[i].dtype, shapes[i].rank, shapes[i].dims);
        memset(out[i]->data, 0xFF, out[i]->nbytes);
    }
    const cpu_ref_kernel *k = t_find(table, tn->node.op);
    assert_non_null(k);
    char why[256];
    if (k->supports)
        assert_true(
            k->supports(&tn->node, (const struct qrun_tensor *const *)in, n_in, why, sizeof why));
    qrun_kernel_call call = {.node = &tn->node,
                             .n_inputs = n_in,
                             .inputs = (const struct qrun_tensor *const *)in,
                             .n_outputs = n_out,
                             .outputs = out,
                             .n_threads = n_threads,
                             .err = err};
    size_t sb = k->scratch_bytes ? k->scratch_bytes(&call) : 0;
    void *scratch = sb ? aligned_alloc(64, (sb + 63) / 64 * 64) : NULL;
    call.scratch = scratch;
    call.scratch_bytes = sb;
    st = k->eval(&call);
    free(scratch);
    return st;
}

static void
t_expect_close(const float *got, const double *want, int64_t n, double rtol, double atol) {
    for (int64_t i = 0; i < n; i++) {
        double tol = atol + rtol * fabs(want[i]);
        if (!(fabs(got[i] - want[i]) <= tol))
            fail_msg("element %lld: got %.9g, want %.9g", (long long)i, got[i], want[i]);
    }
}

static void t_expect_floats(const struct qrun_tensor *t, const float *want, int64_t n) {
    assert_int_equal(qrun_tensor_numel_(t), n);
    const float *got = t->data;
    for (int64_t i = 0; i < n; i++) {
        if (!(fabsf(got[i] - want[i]) <= 1e-5f + 1e-4f * fabsf(want[i])))
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
    t_node tn;
    t_node_init(&tn, QRUN_OP_CONV, "Conv", 11, cc->bias ? 3 : 2, 1);
    t_ints(&tn, "strides", ns, cc->s);
    t_ints(&tn, "dilations", ns, cc->d);
    t_int(&tn, "group", cc->group);
    if (cc->auto_pad)
        t_string(&tn, "auto_pad", cc->auto_pad);
    else
        t_ints(&tn, "pads", 2 * ns, pads);
    struct qrun_tensor *in[3] = {t_tensor(QRUN_DTYPE_FLOAT, ns + 2, xd),
                                 t_tensor(QRUN_DTYPE_FLOAT, ns + 2, wd),
                                 cc->bias ? t_tensor(QRUN_DTYPE_FLOAT, 1, bd) : NULL};
    for (int i = 0; i < 3; i++)
        if (in[i])
            t_fill_random(in[i]);
    struct qrun_tensor *y1[1], *y2[1];
    qrun_err err = {{0}};
    assert_int_equal(t_run(cpu_ref_kernels_conv, qrun_infer_conv, &tn, in, y1, 1, &err), QRUN_OK);
    assert_int_equal(t_run(cpu_ref_kernels_conv, qrun_infer_conv, &tn, in, y2, 2, &err), QRUN_OK);
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
        t_tensor_free(in[i]);
    t_tensor_free(y1[0]);
    t_tensor_free(y2[0]);
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
    t_node tn;
    t_node_init(&tn, QRUN_OP_CONV_TRANSPOSE, "ConvTranspose", 11, 2, 1);
    struct qrun_tensor *in[2] = {t_tensor(QRUN_DTYPE_FLOAT, 3, xd),
                                 t_tensor(QRUN_DTYPE_FLOAT, 3, wd)};
    float *x = in[0]->data, *w = in[1]->data;
    for (int i = 0; i < 3; i++)
        x[i] = (float)i;
    for (int i = 0; i < 6; i++)
        w[i] = 1.0f;
    struct qrun_tensor *y[1];
    qrun_err err = {{0}};
    assert_int_equal(t_run(cpu_ref_kernels_conv, qrun_infer_conv_transpose, &tn, in, y, 1, &err),
                     QRUN_OK);
    static const float want[10] = {0, 1, 3, 3, 2, 0, 1, 3, 3, 2};
    t_expect_floats(y[0], want, 10);
    t_tensor_free(y[0]);
    /* stride 2 + output_padding 1: y[2i + k] += x[i] */
    int64_t s[1] = {2}, op[1] = {1};
    t_ints(&tn, "strides", 1, s);
    t_ints(&tn, "output_padding", 1, op);
    assert_int_equal(t_run(cpu_ref_kernels_conv, qrun_infer_conv_transpose, &tn, in, y, 1, &err),
                     QRUN_OK);
    static const float want2[16] = {0, 0, 1, 1, 3, 2, 2, 0, 0, 0, 1, 1, 3, 2, 2, 0};
    t_expect_floats(y[0], want2, 16);
    t_tensor_free(y[0]);
    t_tensor_free(in[0]);
    t_tensor_free(in[1]);
}

static void test_conv_shape_errors(void **state) {
    (void)state;
    int64_t xd[4] = {1, 3, 5, 5}, wd[4] = {2, 1, 3, 3}, wbig[4] = {2, 3, 7, 7};
    struct qrun_tensor *x = t_tensor(QRUN_DTYPE_FLOAT, 4, xd);
    struct qrun_tensor *w = t_tensor(QRUN_DTYPE_FLOAT, 4, wd);
    struct qrun_tensor *wb = t_tensor(QRUN_DTYPE_FLOAT, 4, wbig);
    t_node tn;
    t_node_init(&tn, QRUN_OP_CONV, "Conv", 11, 2, 1);
    struct qrun_tensor out[1];
    memset(out, 0, sizeof out);
    qrun_err err = {{0}};
    const struct qrun_tensor *ins[2] = {x, w};
    qrun_infer_ctx c = {.node = &tn.node,
                        .n_inputs = 2,
                        .inputs = ins,
                        .n_outputs = 1,
                        .outputs = out,
                        .err = &err};
    assert_int_equal(qrun_infer_conv(&c), QRUN_E_MODEL);
    assert_non_null(strstr(err.msg, "input has 3 channels, weight expects 1*1"));
    ins[1] = wb;
    assert_int_equal(qrun_infer_conv(&c), QRUN_E_MODEL);
    assert_non_null(strstr(err.msg, "larger than the padded input"));
    t_tensor_free(x);
    t_tensor_free(w);
    t_tensor_free(wb);
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
    t_node tn;
    t_node_init(&tn, QRUN_OP_MATMUL, "MatMul", 13, 2, 1);
    struct qrun_tensor *in[2] = {t_tensor(QRUN_DTYPE_FLOAT, ra, da),
                                 t_tensor(QRUN_DTYPE_FLOAT, rb, db)};
    t_fill_random(in[0]);
    t_fill_random(in[1]);
    struct qrun_tensor *y[1];
    qrun_err err = {{0}};
    assert_int_equal(t_run(cpu_ref_kernels_matmul, qrun_infer_matmul, &tn, in, y, 2, &err),
                     QRUN_OK);
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
    t_tensor_free(in[0]);
    t_tensor_free(in[1]);
    t_tensor_free(y[0]);
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
    t_node tn;
    t_node_init(&tn, QRUN_OP_GEMM, "Gemm", 13, 3, 1);
    t_int(&tn, "transA", 1);
    t_int(&tn, "transB", 1);
    t_float(&tn, "alpha", 0.5f);
    t_float(&tn, "beta", 2.0f);
    struct qrun_tensor *in[3] = {t_tensor(QRUN_DTYPE_FLOAT, 2, (int64_t[]){2, 3}),
                                 t_tensor(QRUN_DTYPE_FLOAT, 2, (int64_t[]){4, 2}),
                                 t_tensor(QRUN_DTYPE_FLOAT, 2, (int64_t[]){1, 4})};
    for (int i = 0; i < 3; i++)
        t_fill_random(in[i]);
    struct qrun_tensor *y[1];
    qrun_err err = {{0}};
    assert_int_equal(t_run(cpu_ref_kernels_matmul, qrun_infer_gemm, &tn, in, y, 1, &err), QRUN_OK);
    const float *a = in[0]->data, *b = in[1]->data, *c = in[2]->data;
    double ref[12];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            ref[i * 4 + j] =
                0.5 * ((double)a[0 * 3 + i] * b[j * 2 + 0] + (double)a[1 * 3 + i] * b[j * 2 + 1]) +
                2.0 * c[j];
    t_expect_close(y[0]->data, ref, 12, 1e-5, 1e-6);
    t_tensor_free(y[0]);
    /* Without C (opset 11+). */
    tn.node.n_inputs = 2;
    assert_int_equal(t_run(cpu_ref_kernels_matmul, qrun_infer_gemm, &tn, in, y, 1, &err), QRUN_OK);
    for (int j = 0; j < 12; j++)
        ref[j] -= 2.0 * c[j % 4];
    t_expect_close(y[0]->data, ref, 12, 1e-5, 1e-6);
    t_tensor_free(y[0]);
    for (int i = 0; i < 3; i++)
        t_tensor_free(in[i]);
}

/* ---- pools ---------------------------------------------------------------- */

static void test_maxpool_indices(void **state) {
    (void)state;
    /* 1x1x4x4 with values 0..15 transposed, 2x2 stride 2; column-major indices. */
    t_node tn;
    t_node_init(&tn, QRUN_OP_MAX_POOL, "MaxPool", 12, 1, 2);
    t_ints(&tn, "kernel_shape", 2, (int64_t[]){2, 2});
    t_ints(&tn, "strides", 2, (int64_t[]){2, 2});
    t_int(&tn, "storage_order", 1);
    struct qrun_tensor *in[1] = {t_tensor(QRUN_DTYPE_FLOAT, 4, (int64_t[]){1, 1, 4, 4})};
    float *x = in[0]->data;
    for (int i = 0; i < 16; i++)
        x[i] = (float)((i % 4) * 4 + i / 4);
    struct qrun_tensor *y[2];
    qrun_err err = {{0}};
    assert_int_equal(t_run(cpu_ref_kernels_pool, qrun_infer_pool, &tn, in, y, 1, &err), QRUN_OK);
    static const float want[4] = {5, 13, 7, 15};
    t_expect_floats(y[0], want, 4);
    /* max at row-major (1,1),(1,3),(3,1),(3,3) -> column-major h + w*H */
    const int64_t *idx = y[1]->data;
    assert_int_equal(idx[0], 1 + 1 * 4);
    assert_int_equal(idx[1], 1 + 3 * 4);
    assert_int_equal(idx[2], 3 + 1 * 4);
    assert_int_equal(idx[3], 3 + 3 * 4);
    t_tensor_free(y[0]);
    t_tensor_free(y[1]);
    t_tensor_free(in[0]);
}

static void test_avgpool(void **state) {
    (void)state;
    /* 1x1x3x3 of ones, kernel 3, pads 1: count_include_pad 0 -> all 1; 1 -> corner 4/9. */
    t_node tn;
    t_node_init(&tn, QRUN_OP_AVERAGE_POOL, "AveragePool", 11, 1, 1);
    t_ints(&tn, "kernel_shape", 2, (int64_t[]){3, 3});
    t_ints(&tn, "pads", 4, (int64_t[]){1, 1, 1, 1});
    struct qrun_tensor *in[1] = {t_tensor(QRUN_DTYPE_FLOAT, 4, (int64_t[]){1, 1, 3, 3})};
    float *x = in[0]->data;
    for (int i = 0; i < 9; i++)
        x[i] = 1.0f;
    struct qrun_tensor *y[1];
    qrun_err err = {{0}};
    assert_int_equal(t_run(cpu_ref_kernels_pool, qrun_infer_pool, &tn, in, y, 1, &err), QRUN_OK);
    static const float ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    t_expect_floats(y[0], ones, 9);
    t_tensor_free(y[0]);
    t_int(&tn, "count_include_pad", 1);
    assert_int_equal(t_run(cpu_ref_kernels_pool, qrun_infer_pool, &tn, in, y, 1, &err), QRUN_OK);
    static const float inc[9] = {4 / 9.f, 6 / 9.f, 4 / 9.f, 6 / 9.f, 1,
                                 6 / 9.f, 4 / 9.f, 6 / 9.f, 4 / 9.f};
    t_expect_floats(y[0], inc, 9);
    t_tensor_free(y[0]);
    t_tensor_free(in[0]);
}

static void test_pool_ceil_mode(void **state) {
    (void)state;
    /* 1-D length 5, kernel 2, stride 2: floor -> 2 outputs, ceil -> 3 (last window partial). */
    t_node tn;
    t_node_init(&tn, QRUN_OP_MAX_POOL, "MaxPool", 12, 1, 1);
    t_ints(&tn, "kernel_shape", 1, (int64_t[]){2});
    t_ints(&tn, "strides", 1, (int64_t[]){2});
    t_int(&tn, "ceil_mode", 1);
    struct qrun_tensor *in[1] = {t_tensor(QRUN_DTYPE_FLOAT, 3, (int64_t[]){1, 1, 5})};
    float *x = in[0]->data;
    for (int i = 0; i < 5; i++)
        x[i] = (float)(i * i % 7);
    struct qrun_tensor *y[1];
    qrun_err err = {{0}};
    assert_int_equal(t_run(cpu_ref_kernels_pool, qrun_infer_pool, &tn, in, y, 1, &err), QRUN_OK);
    static const float want[3] = {1, 4, 2}; /* x = 0 1 4 2 2 */
    t_expect_floats(y[0], want, 3);
    t_tensor_free(y[0]);
    t_tensor_free(in[0]);
}

static void test_global_pool(void **state) {
    (void)state;
    t_node tn;
    t_node_init(&tn, QRUN_OP_GLOBAL_AVERAGE_POOL, "GlobalAveragePool", 1, 1, 1);
    struct qrun_tensor *in[1] = {t_tensor(QRUN_DTYPE_FLOAT, 4, (int64_t[]){1, 2, 2, 2})};
    float *x = in[0]->data;
    for (int i = 0; i < 8; i++)
        x[i] = (float)i;
    struct qrun_tensor *y[1];
    qrun_err err = {{0}};
    assert_int_equal(t_run(cpu_ref_kernels_pool, qrun_infer_global_pool, &tn, in, y, 1, &err),
                     QRUN_OK);
    assert_int_equal(y[0]->rank, 4);
    static const float avg[2] = {1.5f, 5.5f};
    t_expect_floats(y[0], avg, 2);
    t_tensor_free(y[0]);
    tn.node.op = QRUN_OP_GLOBAL_MAX_POOL;
    assert_int_equal(t_run(cpu_ref_kernels_pool, qrun_infer_global_pool, &tn, in, y, 1, &err),
                     QRUN_OK);
    static const float mx[2] = {3, 7};
    t_expect_floats(y[0], mx, 2);
    t_tensor_free(y[0]);
    t_tensor_free(in[0]);
}

/* ---- norms, softmax, reductions ----------------------------------------- */

static void test_batchnorm(void **state) {
    (void)state;
    t_node tn;
    t_node_init(&tn, QRUN_OP_BATCH_NORMALIZATION, "BatchNormalization", 15, 5, 1);
    t_float(&tn, "epsilon", 0.0f);
    struct qrun_tensor *in[5] = {t_tensor(QRUN_DTYPE_FLOAT, 3, (int64_t[]){1, 2, 2})};
    for (int i = 1; i < 5; i++)
        in[i] = t_tensor(QRUN_DTYPE_FLOAT, 1, (int64_t[]){2});
    memcpy(in[0]->data, (float[]){1, 3, 10, 20}, 4 * sizeof(float));
    memcpy(in[1]->data, (float[]){2, 1}, 2 * sizeof(float));  /* scale */
    memcpy(in[2]->data, (float[]){0, 5}, 2 * sizeof(float));  /* bias */
    memcpy(in[3]->data, (float[]){2, 15}, 2 * sizeof(float)); /* mean */
    memcpy(in[4]->data, (float[]){4, 25}, 2 * sizeof(float)); /* var */
    struct qrun_tensor *y[1];
    qrun_err err = {{0}};
    assert_int_equal(t_run(cpu_ref_kernels_norm, qrun_infer_batchnorm, &tn, in, y, 1, &err),
                     QRUN_OK);
    static const float want[4] = {-1, 1, 4, 6};
    t_expect_floats(y[0], want, 4);
    t_tensor_free(y[0]);
    for (int i = 0; i < 5; i++)
        t_tensor_free(in[i]);
}

static void test_layernorm(void **state) {
    (void)state;
    t_node tn;
    t_node_init(&tn, QRUN_OP_LAYER_NORMALIZATION, "LayerNormalization", 17, 3, 3);
    t_float(&tn, "epsilon", 0.0f);
    struct qrun_tensor *in[3] = {t_tensor(QRUN_DTYPE_FLOAT, 2, (int64_t[]){2, 2}),
                                 t_tensor(QRUN_DTYPE_FLOAT, 1, (int64_t[]){2}),
                                 t_tensor(QRUN_DTYPE_FLOAT, 1, (int64_t[]){2})};
    memcpy(in[0]->data, (float[]){1, 3, 5, 7}, 4 * sizeof(float));
    memcpy(in[1]->data, (float[]){2, 3}, 2 * sizeof(float));
    memcpy(in[2]->data, (float[]){1, 0}, 2 * sizeof(float));
    struct qrun_tensor *y[3];
    qrun_err err = {{0}};
    assert_int_equal(t_run(cpu_ref_kernels_norm, qrun_infer_layernorm, &tn, in, y, 1, &err),
                     QRUN_OK);
    /* row 0: mean 2, std 1 -> [-1, 1] * [2, 3] + [1, 0] */
    const float *yd = y[0]->data;
    assert_true(fabsf(yd[0] - (-1.0f)) < 1e-6f && fabsf(yd[1] - 3.0f) < 1e-6f);
    assert_int_equal(y[1]->rank, 2);
    assert_int_equal(y[1]->dims[1], 1);
    assert_true(fabsf(((float *)y[1]->data)[0] - 2.0f) < 1e-6f);
    assert_true(fabsf(((float *)y[2]->data)[0] - 1.0f) < 1e-6f);
    for (int i = 0; i < 3; i++) {
        t_tensor_free(y[i]);
        t_tensor_free(in[i]);
    }
}

static void test_softmax_opsets(void **state) {
    (void)state;
    /* [2,3] x over axis 1: the same at opset 11 (2-D coercion) and 13. Then [2,2] axis 0 at
     * opset 13. */
    struct qrun_tensor *in[1] = {t_tensor(QRUN_DTYPE_FLOAT, 2, (int64_t[]){2, 2})};
    memcpy(in[0]->data, (float[]){0, 1, 2, 3}, 4 * sizeof(float));
    struct qrun_tensor *y[1] = {t_tensor(QRUN_DTYPE_FLOAT, 2, (int64_t[]){2, 2})};
    t_node tn;
    t_node_init(&tn, QRUN_OP_SOFTMAX, "Softmax", 11, 1, 1);
    qrun_err err = {{0}};
    qrun_kernel_call call = {.node = &tn.node,
                             .n_inputs = 1,
                             .inputs = (const struct qrun_tensor *const *)in,
                             .n_outputs = 1,
                             .outputs = y,
                             .n_threads = 1,
                             .err = &err};
    const cpu_ref_kernel *k = t_find(cpu_ref_kernels_softmax, QRUN_OP_SOFTMAX);
    assert_int_equal(k->eval(&call), QRUN_OK);
    float e = expf(1.0f), s = 1.0f + e;
    float want_row[4] = {1 / s, e / s, 1 / s, e / s};
    t_expect_floats(y[0], want_row, 4);
    /* opset 11, axis 0: whole tensor is one row */
    t_int(&tn, "axis", 0);
    assert_int_equal(k->eval(&call), QRUN_OK);
    float tot = 1 + e + e * e + e * e * e;
    float want_all[4] = {1 / tot, e / tot, e * e / tot, e * e * e / tot};
    t_expect_floats(y[0], want_all, 4);
    /* opset 13, axis 0: per column */
    tn.node.opset = 13;
    assert_int_equal(k->eval(&call), QRUN_OK);
    float e2 = expf(2.0f), s2 = 1 + e2;
    float want_col[4] = {1 / s2, 1 / s2, e2 / s2, e2 / s2};
    t_expect_floats(y[0], want_col, 4);
    /* LogSoftmax opset 13 axis 0 */
    tn.node.op = QRUN_OP_LOG_SOFTMAX;
    k = t_find(cpu_ref_kernels_softmax, QRUN_OP_LOG_SOFTMAX);
    assert_int_equal(k->eval(&call), QRUN_OK);
    for (int i = 0; i < 4; i++)
        want_col[i] = logf(want_col[i]);
    t_expect_floats(y[0], want_col, 4);
    t_tensor_free(in[0]);
    t_tensor_free(y[0]);
}

static void test_reduce(void **state) {
    (void)state;
    /* x[2,3,2] = 0..11 */
    struct qrun_tensor *in[2] = {t_tensor(QRUN_DTYPE_FLOAT, 3, (int64_t[]){2, 3, 2}),
                                 t_tensor(QRUN_DTYPE_INT64, 1, (int64_t[]){2})};
    float *x = in[0]->data;
    for (int i = 0; i < 12; i++)
        x[i] = (float)i;
    memcpy(in[1]->data, (int64_t[]){0, -1}, 2 * sizeof(int64_t));
    struct qrun_tensor *y[1];
    qrun_err err = {{0}};
    t_node tn;
    /* ReduceSum 13: axes input {0, 2}, keepdims 0 -> [3] */
    t_node_init(&tn, QRUN_OP_REDUCE_SUM, "ReduceSum", 13, 2, 1);
    t_int(&tn, "keepdims", 0);
    assert_int_equal(t_run(cpu_ref_kernels_reduce, qrun_infer_reduce, &tn, in, y, 1, &err),
                     QRUN_OK);
    assert_int_equal(y[0]->rank, 1);
    static const float sum[3] = {0 + 1 + 6 + 7, 2 + 3 + 8 + 9, 4 + 5 + 10 + 11};
    t_expect_floats(y[0], sum, 3);
    t_tensor_free(y[0]);
    /* ReduceMax 13: axes attribute {1}, keepdims -> [2,1,2] */
    t_node_init(&tn, QRUN_OP_REDUCE_MAX, "ReduceMax", 13, 1, 1);
    t_ints(&tn, "axes", 1, (int64_t[]){1});
    assert_int_equal(t_run(cpu_ref_kernels_reduce, qrun_infer_reduce, &tn, in, y, 1, &err),
                     QRUN_OK);
    assert_int_equal(y[0]->rank, 3);
    assert_int_equal(y[0]->dims[1], 1);
    static const float mx[4] = {4, 5, 10, 11};
    t_expect_floats(y[0], mx, 4);
    t_tensor_free(y[0]);
    /* ReduceMean 18, no axes: everything */
    t_node_init(&tn, QRUN_OP_REDUCE_MEAN, "ReduceMean", 18, 1, 1);
    assert_int_equal(t_run(cpu_ref_kernels_reduce, qrun_infer_reduce, &tn, in, y, 1, &err),
                     QRUN_OK);
    static const float mean[1] = {5.5f};
    t_expect_floats(y[0], mean, 1);
    t_tensor_free(y[0]);
    /* axes input with unknown value: inference asks for it */
    t_node_init(&tn, QRUN_OP_REDUCE_SUM, "ReduceSum", 13, 2, 1);
    struct qrun_tensor axes_unknown = *in[1], out[1];
    axes_unknown.data = NULL;
    memset(out, 0, sizeof out);
    const struct qrun_tensor *ins[2] = {in[0], &axes_unknown};
    qrun_infer_ctx c = {.node = &tn.node,
                        .n_inputs = 2,
                        .inputs = ins,
                        .n_outputs = 1,
                        .outputs = out,
                        .err = &err};
    assert_int_equal(qrun_infer_reduce(&c), QRUN_OK);
    assert_true(c.need_value);
    t_tensor_free(in[0]);
    t_tensor_free(in[1]);
}

static void test_argmax(void **state) {
    (void)state;
    struct qrun_tensor *in[1] = {t_tensor(QRUN_DTYPE_FLOAT, 2, (int64_t[]){2, 3})};
    memcpy(in[0]->data, (float[]){1, 5, 5, 7, 2, 7}, 6 * sizeof(float));
    struct qrun_tensor *y[1];
    qrun_err err = {{0}};
    t_node tn;
    t_node_init(&tn, QRUN_OP_ARG_MAX, "ArgMax", 13, 1, 1);
    t_int(&tn, "axis", 1);
    t_int(&tn, "keepdims", 0);
    assert_int_equal(t_run(cpu_ref_kernels_reduce, qrun_infer_argreduce, &tn, in, y, 1, &err),
                     QRUN_OK);
    assert_int_equal(y[0]->dtype, QRUN_DTYPE_INT64);
    assert_int_equal(((int64_t *)y[0]->data)[0], 1);
    assert_int_equal(((int64_t *)y[0]->data)[1], 0);
    t_tensor_free(y[0]);
    t_int(&tn, "select_last_index", 1);
    assert_int_equal(t_run(cpu_ref_kernels_reduce, qrun_infer_argreduce, &tn, in, y, 1, &err),
                     QRUN_OK);
    assert_int_equal(((int64_t *)y[0]->data)[0], 2);
    assert_int_equal(((int64_t *)y[0]->data)[1], 2);
    t_tensor_free(y[0]);
    t_tensor_free(in[0]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgemm_vs_naive),  cmocka_unit_test(test_conv_vs_naive),
        cmocka_unit_test(test_conv_transpose),  cmocka_unit_test(test_conv_shape_errors),
        cmocka_unit_test(test_matmul),          cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_maxpool_indices), cmocka_unit_test(test_avgpool),
        cmocka_unit_test(test_pool_ceil_mode),  cmocka_unit_test(test_global_pool),
        cmocka_unit_test(test_batchnorm),       cmocka_unit_test(test_layernorm),
        cmocka_unit_test(test_softmax_opsets),  cmocka_unit_test(test_reduce),
        cmocka_unit_test(test_argmax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
