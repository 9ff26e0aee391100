/* SPDX-License-Identifier: Apache-2.0 */
/* Post-training quantization: calibration methods, parameters, BN folding, the QDQ rewrite, and
 * accuracy of ResNet-8 (CIFAR-10) and mnist-8 (MNIST) quantized to INT8 and every FP8 format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api/api_internal.h"
#include "onnx/onnx_loader.h"
#include "qrun/qrun.h"
#include "runtime/quant.h"
#include "runtime/quantize/calib.h"
#include "runtime/quantize/fold_bn.h"
#include "runtime/quantize/fold_const.h"
#include "tests/support/datasets.h"
#include "tests/support/model_runner.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODELS QRUN_SHARED_DIR "/models"
#define RESNET8 MODELS "/fp32/mlperftiny_ic_resnet8_fp32.onnx"
#define MNIST8 MODELS "/fp32/mnist-8/model.onnx"
#define N_CALIB 50

static qrun_calib_config cfg_of(qrun_calib_method m, qrun_dtype fmt) {
    return (qrun_calib_config){m, 99.99, fmt, false, false};
}

static void test_minmax_exact(void **state) {
    (void)state;
    qrun_calib_hist h;
    qrun_calib_hist_init(&h);
    float a[] = {0.5f, -1.25f, 3.0f, 0.0f}, b[] = {7.75f, -2.0f, NAN, INFINITY};
    qrun_calib_hist_add(&h, a, 4);
    qrun_calib_hist_add(&h, b, 4); /* range doubles; NaN and Inf are skipped */
    qrun_calib_config c = cfg_of(QRUN_CALIB_MINMAX, QRUN_DTYPE_INT8);
    double lo, hi;
    qrun_calib_range(&h, &c, &lo, &hi);
    assert_true(lo == -2.0 && hi == 7.75);
    assert_int_equal(h.count, 6);
    int64_t total = 0;
    for (int j = 0; j < QRUN_CALIB_BINS; j++)
        total += h.bins[j];
    assert_int_equal(total, 6); /* nothing lost when the range grew */
}

/* 0, 1, ..., 99999 / 1000: the 99th percentile is 99 and the 1st is 1, within one bin. */
static void test_percentile_known(void **state) {
    (void)state;
    static float x[100000];
    for (int i = 0; i < 100000; i++)
        x[i] = (float)i / 1000.0f;
    qrun_calib_hist h;
    qrun_calib_hist_init(&h);
    qrun_calib_hist_add(&h, x, 100000);
    qrun_calib_config c = cfg_of(QRUN_CALIB_PERCENTILE, QRUN_DTYPE_INT8);
    c.percentile = 99.0;
    double lo, hi, w = 2.0 * h.range / QRUN_CALIB_BINS;
    qrun_calib_range(&h, &c, &lo, &hi);
    assert_true(fabs(hi - 99.0) <= w);
    assert_true(fabs(lo - 1.0) <= w);
    c.percentile = 100.0;
    qrun_calib_range(&h, &c, &lo, &hi);
    assert_true(lo == 0.0 && fabs(hi - 99.999) < 1e-3);
}

/* Normal samples (Box-Muller on a fixed LCG) with a few far outliers. */
static void gaussian_with_outliers(float *x, int n, double outlier) {
    uint32_t s = 12345u;
    for (int i = 0; i < n; i += 2) {
        s = s * 1664525u + 1013904223u;
        double u1 = ((double)(s >> 8) + 1.0) / 16777217.0;
        s = s * 1664525u + 1013904223u;
        double u2 = (double)(s >> 8) / 16777216.0;
        double r = sqrt(-2.0 * log(u1));
        x[i] = (float)(r * cos(2 * M_PI * u2));
        if (i + 1 < n)
            x[i + 1] = (float)(r * sin(2 * M_PI * u2));
    }
    for (int i = 0; i < 2; i++)
        x[i * 997] = (float)(i % 2 ? -outlier : outlier);
}

/*
 * A million normal samples and two at +-100: for INT8 keeping the outliers costs more rounding
 * noise over the bulk (1e6 * (200/255)^2 / 12 = 5e4) than clipping them (2 * (100 - T)^2), so MSE
 * clips (the optimum is near T = 28), and its clip beats minmax in the actual MSE for every format.
 */
static void test_mse_clips_outliers(void **state) {
    (void)state;
    enum { N = 1000000 };
    static float x[N];
    gaussian_with_outliers(x, N, 100.0);
    qrun_calib_hist h;
    qrun_calib_hist_init(&h);
    qrun_calib_hist_add(&h, x, N);
    const qrun_dtype fmts[] = {QRUN_DTYPE_INT8, QRUN_DTYPE_FLOAT8E4M3FN, QRUN_DTYPE_FLOAT8E3M4};
    for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++) {
        qrun_calib_config c = cfg_of(QRUN_CALIB_MSE, fmts[f]);
        double lo, hi, mlo, mhi;
        qrun_calib_range(&h, &c, &lo, &hi);
        c.method = QRUN_CALIB_MINMAX;
        qrun_calib_range(&h, &c, &mlo, &mhi);
        double e_mse = 0, e_mm = 0;
        qrun_ptq_qparams p = qrun_ptq_choose_qparams(fmts[f], lo, hi, false, false);
        qrun_ptq_qparams pm = qrun_ptq_choose_qparams(fmts[f], mlo, mhi, false, false);
        for (int i = 0; i < N; i++) {
            double d = x[i] - qrun_ptq_fake_quant(&p, x[i]),
                   dm = x[i] - qrun_ptq_fake_quant(&pm, x[i]);
            e_mse += d * d;
            e_mm += dm * dm;
        }
        print_message("mse %s: clip [%.3f, %.3f] (minmax [%.1f, %.1f]), MSE %.3g vs %.3g\n",
                      qrun_dtype_name(fmts[f]), lo, hi, mlo, mhi, e_mse / N, e_mm / N);
        /* the search runs on the histogram (bin centres, 128 clips): within 5 % of the best */
        assert_true(e_mse <= e_mm * (fmts[f] == QRUN_DTYPE_INT8 ? 1.0 : 1.05));
        if (fmts[f] == QRUN_DTYPE_INT8) {
            assert_true(hi < 60.0 && hi > 4.0); /* clipped, but not into the bulk */
            assert_true(lo > -60.0 && lo < -4.0);
        }
    }
}

/* Entropy on a Gaussian with outliers: a threshold beyond the bulk, short of the outliers. */
static void test_entropy_threshold(void **state) {
    (void)state;
    enum { N = 1000000 };
    static float x[N];
    gaussian_with_outliers(x, N, 100.0);
    qrun_calib_hist h;
    qrun_calib_hist_init(&h);
    qrun_calib_hist_add(&h, x, N);
    qrun_calib_config c = cfg_of(QRUN_CALIB_ENTROPY, QRUN_DTYPE_INT8);
    double lo, hi;
    qrun_calib_range(&h, &c, &lo, &hi);
    print_message("entropy int8: [%.3f, %.3f]\n", lo, hi);
    assert_true(hi > 2.5 && hi < 100.0);
    assert_true(lo < -2.5 && lo > -100.0);
    c.fmt = QRUN_DTYPE_FLOAT8E4M3FN;
    qrun_calib_range(&h, &c, &lo, &hi);
    print_message("entropy fp8e4m3: [%.3f, %.3f]\n", lo, hi);
    assert_true(hi > 2.5 && hi <= 100.0);
}

/* Every method gives a sane range for every format (the FP8 grids included), on one-sided
 * (ReLU-like) and two-sided data, and the chosen parameters quantize the bulk without saturating.
 */
static void test_every_method_every_format(void **state) {
    (void)state;
    enum { N = 100000 };
    static float x[N], r[N];
    gaussian_with_outliers(x, N, 30.0);
    for (int i = 0; i < N; i++)
        r[i] = fmaxf(x[i], 0.0f);
    const qrun_dtype fmts[] = {QRUN_DTYPE_INT8,         QRUN_DTYPE_UINT8,
                               QRUN_DTYPE_FLOAT8E4M3FN, QRUN_DTYPE_FLOAT8E4M3FNUZ,
                               QRUN_DTYPE_FLOAT8E5M2,   QRUN_DTYPE_FLOAT8E5M2FNUZ,
                               QRUN_DTYPE_FLOAT8E3M4};
    for (int data = 0; data < 2; data++) {
        qrun_calib_hist h;
        qrun_calib_hist_init(&h);
        qrun_calib_hist_add(&h, data ? r : x, N);
        for (int m = QRUN_CALIB_MINMAX; m <= QRUN_CALIB_ENTROPY; m++) {
            for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++) {
                qrun_calib_config c = cfg_of((qrun_calib_method)m, fmts[f]);
                double lo, hi;
                qrun_calib_range(&h, &c, &lo, &hi);
                assert_true(isfinite(lo) && isfinite(hi));
                assert_true(lo >= h.min && hi <= h.max && hi > 1.0);
                assert_true(data ? lo == 0.0 : lo < -1.0);
                qrun_ptq_qparams p = qrun_ptq_choose_qparams(fmts[f], lo, hi, false, false);
                double e = fabs(qrun_ptq_fake_quant(&p, 0.5) - 0.5);
                assert_true(e < 0.1); /* the bulk is represented */
            }
        }
    }
}

/* ---- parameters ------------------------------------------------------------ */

static void test_qparams(void **state) {
    (void)state;
    qrun_ptq_qparams p = qrun_ptq_choose_qparams(QRUN_DTYPE_UINT8, -1.0, 3.0, false, false);
    assert_true(fabsf(p.scale - 4.0f / 255.0f) < 1e-9f);
    assert_int_equal(p.zp, 64);                       /* round(0 + 1 / (4/255)) = round(63.75) */
    assert_true(qrun_ptq_fake_quant(&p, 0.0) == 0.0); /* zero is exact */
    p = qrun_ptq_choose_qparams(QRUN_DTYPE_INT8, -1.0, 3.0, true, false);
    assert_true(fabsf(p.scale - 3.0f / 127.0f) < 1e-9f && p.zp == 0);
    p = qrun_ptq_choose_qparams(QRUN_DTYPE_FLOAT8E4M3FN, -1.0, 3.0, false, false);
    assert_true(fabsf(p.scale - 3.0f / 448.0f) < 1e-9f && p.zp == 0);
    /* pow2: every format, a range of odd sizes: power-of-two scales and no saturation at amax */
    const qrun_dtype fmts[] = {QRUN_DTYPE_INT8,         QRUN_DTYPE_UINT8,
                               QRUN_DTYPE_FLOAT8E4M3FN, QRUN_DTYPE_FLOAT8E4M3FNUZ,
                               QRUN_DTYPE_FLOAT8E5M2,   QRUN_DTYPE_FLOAT8E5M2FNUZ,
                               QRUN_DTYPE_FLOAT8E3M4};
    for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++) {
        for (double amax = 0.013; amax < 1e4; amax *= 3.7) {
            for (int sym = 0; sym < 2; sym++) {
                qrun_ptq_qparams q = qrun_ptq_choose_qparams(fmts[f], -amax, amax, sym, true);
                int e;
                assert_true(frexp((double)q.scale, &e) == 0.5); /* a power of two */
                double qv = qrun_ptq_quantize_value(&q, amax), top;
                int32_t qmin, qmax;
                if (qrun_quant_int_range(fmts[f], &qmin, &qmax))
                    top = qmax;
                else
                    top = qrun_dtype_traits_get(fmts[f])->max_value;
                if (!qrun_quant_int_range(fmts[f], &qmin, &qmax) || sym)
                    assert_true(qv < top || amax / q.scale <= top);
                else
                    assert_true(fabs(qrun_ptq_fake_quant(&q, amax) - amax) <= q.scale);
            }
        }
    }
}

/* ---- helpers over the public API ------------------------------------------- */

typedef struct samples {
    int n;
    qrun_tensor **t; /* one input tensor per sample */
    int *label;
} samples;

static void samples_free(samples *s) {
    for (int i = 0; i < s->n; i++)
        qrun_tensor_free(s->t[i]);
    free(s->t);
    free(s->label);
    memset(s, 0, sizeof *s);
}

/* The first count samples of d as [1,C,H,W] float tensors of pixels 0..255 (HWC uint8 -> CHW). */
static void samples_of(qrun_context *ctx, const ds_set *d, int count, samples *s) {
    assert_true(count <= d->n);
    s->t = calloc((size_t)count, sizeof *s->t);
    s->label = calloc((size_t)count, sizeof *s->label);
    for (int i = 0; i < count; i++) {
        s->t[i] = mr_sample_tensor(ctx, d, i);
        s->label[i] = d->labels[i];
    }
    s->n = count;
}

/* The 200 EEMBC CIFAR-10 images. */
static void load_cifar(qrun_context *ctx, samples *s) {
    ds_set d;
    assert_true(ds_load_cifar(MODELS "/data/eembc-ic01-cifar10", &d));
    samples_of(ctx, &d, d.n, s);
    ds_free(&d);
}

/* The first `count` MNIST test images. */
static void load_mnist(qrun_context *ctx, int count, samples *s) {
    ds_set d;
    assert_true(ds_load_mnist(MODELS "/data/mnist-t10k", &d));
    samples_of(ctx, &d, count, s);
    ds_free(&d);
}

/* Top-1 (%) of model on s; preds (may be NULL) receives each argmax. */
static double top1(qrun_context *ctx, const qrun_model *m, const samples *s, int *preds) {
    qrun_session *sess = NULL;
    if (qrun_session_create(ctx, m, NULL, &sess))
        fail_msg("%s", qrun_context_errmsg(ctx));
    int correct = 0;
    for (int i = 0; i < s->n; i++) {
        qrun_tensor *out = NULL;
        if (qrun_session_run(sess, (const qrun_tensor *const *)&s->t[i], 1, &out, 1))
            fail_msg("%s", qrun_context_errmsg(ctx));
        int64_t am = mr_argmax(out);
        correct += am == s->label[i];
        if (preds)
            preds[i] = (int)am;
        qrun_tensor_free(out);
    }
    qrun_session_free(sess);
    return 100.0 * correct / s->n;
}

/* Calibrate on the first n_calib samples and quantize. */
static qrun_model *quantize(qrun_context *ctx,
                            const qrun_model *m,
                            const qrun_quant_options *o,
                            const samples *s,
                            int n_calib) {
    qrun_calibrator *cal = NULL;
    if (qrun_calibrator_create(ctx, m, o, &cal))
        fail_msg("%s", qrun_context_errmsg(ctx));
    for (int i = 0; i < n_calib && i < s->n; i++) {
        if (qrun_calibrator_add_sample(cal, (const qrun_tensor *const *)&s->t[i], 1))
            fail_msg("%s", qrun_context_errmsg(ctx));
    }
    qrun_model *q = NULL;
    if (qrun_quantize_model(cal, &q))
        fail_msg("%s", qrun_context_errmsg(ctx));
    qrun_calibrator_free(cal);
    return q;
}

static const qrun_quant_tensor_info *
find_qt(const qrun_model *q, const char *name, qrun_quant_tensor_info *buf) {
    for (int i = 0; i < qrun_model_quant_tensor_count(q); i++) {
        assert_int_equal(qrun_model_quant_tensor(q, i, buf), QRUN_OK);
        if (strcmp(buf->name, name) == 0)
            return buf;
    }
    return NULL;
}

/* ---- BN folding on a real model -------------------------------------------- */

/* Every BatchNormalization output of the float model, captured by the session observer in a
 * first run and compared in a second run of the folded model (the fused Conv writes that value). */
typedef struct bn_capture {
    int n;
    const char *names[128];
    float *data[128];
    int64_t len[128];
    bool compare;
    int compared;
    double max_rel; /* max |diff| / max(1, max |ref|) over a tensor */
} bn_capture;

static void bn_observe(void *ud, const char *name, const qrun_tensor *t) {
    bn_capture *c = ud;
    for (int i = 0; i < c->n; i++) {
        if (strcmp(c->names[i], name) != 0)
            continue;
        const float *x = qrun_tensor_data_const(t);
        int64_t n = qrun_tensor_numel(t);
        if (!c->compare) {
            c->data[i] = malloc((size_t)n * sizeof(float));
            memcpy(c->data[i], x, (size_t)n * sizeof(float));
            c->len[i] = n;
            return;
        }
        assert_int_equal(n, c->len[i]);
        double d = 0, ref = 1;
        for (int64_t k = 0; k < n; k++) {
            d = fmax(d, fabs((double)x[k] - c->data[i][k]));
            ref = fmax(ref, fabs(c->data[i][k]));
        }
        c->max_rel = fmax(c->max_rel, d / ref);
        c->compared++;
    }
}

static void run_observed(qrun_context *ctx, const qrun_model *m, qrun_tensor *in, bn_capture *c) {
    qrun_session_options so;
    qrun_session_options_init(&so);
    so.observer = bn_observe;
    so.observer_ud = c;
    qrun_session *sess = NULL;
    qrun_tensor *out = NULL;
    if (qrun_session_create(ctx, m, &so, &sess) ||
        qrun_session_run(sess, (const qrun_tensor *const *)&in, 1, &out, 1))
        fail_msg("%s", qrun_context_errmsg(ctx));
    qrun_tensor_free(out);
    qrun_session_free(sess);
}

/* light_resnet50 (53 BatchNormalization, weights made by ConstantOfShape): every BN output equal
 * within float32 rounding (relative 5e-5 of the tensor's magnitude, through 53 layers) before and
 * after folding. */
static void test_fold_bn_exact(void **state) {
    (void)state;
    if (!mr_have_corpus())
        skip();
    qrun_context *ctx = NULL;
    qrun_model *m = mr_load_model(&ctx, MODELS "/light/light_resnet50.onnx", NULL);
    bn_capture cap = {0};
    for (int k = 0; k < m->g->n_nodes; k++) {
        const qrun_node *nd = &m->g->nodes[k];
        if (nd->op == QRUN_OP_BATCH_NORMALIZATION && cap.n < 128)
            cap.names[cap.n++] = m->g->values[nd->outputs[0]].name;
    }
    assert_int_equal(cap.n, 53);
    qrun_graph *g = NULL;
    assert_int_equal(qrun_graph_clone(m->g, &g), QRUN_OK);
    int n_folded = 0, n_const = 0;
    qrun_err err = {0};
    qrun_backend bs[QRUN_MAX_BACKENDS];
    int nb = 0;
    assert_int_equal(qrun_registry_create_chain("cpu_ref", ctx->alloc, bs, &nb, &err), QRUN_OK);
    /* the light models make their weights with ConstantOfShape: fold those first */
    if (qrun_fold_constants(g, bs, nb, &n_const, &err) || qrun_fold_batchnorm(g, &n_folded, &err))
        fail_msg("%s", err.msg);
    qrun_registry_free_chain(bs, nb);
    assert_true(n_const > 0);
    assert_int_equal(n_folded, 53);
    for (int k = 0; k < g->n_nodes; k++)
        assert_int_not_equal(g->nodes[k].op, QRUN_OP_BATCH_NORMALIZATION);
    qrun_model *folded = NULL;
    if (qrun_api_model_from_graph(ctx, g, "folded", true, &folded))
        fail_msg("%s", qrun_context_errmsg(ctx));
    qrun_value_info vi;
    qrun_model_input_info(m, 0, &vi);
    qrun_tensor *in = NULL;
    assert_int_equal(qrun_tensor_create(ctx, QRUN_DTYPE_FLOAT, vi.rank, vi.dims, vi.name, &in), 0);
    float *x = qrun_tensor_data(in);
    uint32_t st = 7;
    for (int64_t i = 0; i < qrun_tensor_numel(in); i++) {
        st = st * 1664525u + 1013904223u;
        x[i] = (float)((double)(st >> 8) / 16777216.0 * 2.0 - 1.0);
    }
    run_observed(ctx, m, in, &cap);
    cap.compare = true;
    run_observed(ctx, folded, in, &cap);
    print_message("light_resnet50: %d BN folded, %d BN outputs compared, max relative diff %.3g\n",
                  n_folded, cap.compared, cap.max_rel);
    assert_int_equal(cap.compared, 53);
    assert_true(cap.max_rel <= 5e-5); /* float32 rounding of W * f through 53 layers */
    for (int i = 0; i < cap.n; i++)
        free(cap.data[i]);
    qrun_tensor_free(in);
    qrun_model_free(folded);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

/* ---- the QDQ rewrite on ResNet-8 --------------------------------------------- */

/* Weights per output channel with scale max|w_c| / 127, biases int32 with scale s_x * s_w[c]. */
static void test_weight_and_bias_params(void **state) {
    (void)state;
    if (!mr_have_corpus())
        skip();
    qrun_context *ctx = NULL;
    qrun_model *m = mr_load_model(&ctx, RESNET8, NULL);
    samples s = {0};
    load_cifar(ctx, &s);
    qrun_quant_options o;
    qrun_quant_options_init(&o);
    qrun_model *q = quantize(ctx, m, &o, &s, 4);
    int n_w = 0, n_b = 0, n_act = 0;
    for (int i = 0; i < qrun_model_quant_tensor_count(q); i++) {
        qrun_quant_tensor_info t;
        assert_int_equal(qrun_model_quant_tensor(q, i, &t), QRUN_OK);
        if (!t.is_constant) {
            n_act++;
            assert_int_equal(t.n_params, 1);
            assert_int_equal(t.dtype, QRUN_DTYPE_INT8);
            continue;
        }
        int v = -1;
        for (int j = 0; j < m->g->n_values && v < 0; j++)
            v = strcmp(m->g->values[j].name, t.name) == 0 ? j : -1;
        assert_true(v >= 0);
        const struct qrun_tensor *w = &m->g->values[v].info;
        if (t.dtype == QRUN_DTYPE_INT8 && t.axis == 0 && w->rank == 4) {
            n_w++;
            assert_int_equal(t.n_params, w->dims[0]);
            int64_t inner = qrun_tensor_numel_(w) / w->dims[0];
            for (int c = 0; c < t.n_params; c++) {
                double amax = 0;
                for (int64_t k = 0; k < inner; k++)
                    amax = fmax(amax, fabs(((const float *)w->data)[c * inner + k]));
                assert_true(fabs(t.scales[c] - amax / 127.0) <= 1e-7 * amax);
                assert_int_equal(t.zero_points[c], 0);
            }
        }
        if (t.dtype == QRUN_DTYPE_INT32) {
            n_b++;
            /* find the conv reading this bias in the float model: its input and weight entries */
            for (int k = 0; k < m->g->n_nodes; k++) {
                const qrun_node *nd = &m->g->nodes[k];
                if (nd->n_inputs < 3 || nd->inputs[2] != v)
                    continue;
                qrun_quant_tensor_info xi, wi;
                assert_non_null(find_qt(q, m->g->values[nd->inputs[0]].name, &xi));
                assert_non_null(find_qt(q, m->g->values[nd->inputs[1]].name, &wi));
                for (int c = 0; c < t.n_params; c++)
                    assert_true(t.scales[c] == xi.scales[0] * wi.scales[wi.n_params == 1 ? 0 : c]);
            }
        }
    }
    print_message("ResNet-8 int8: %d activations, %d conv weights, %d int32 biases quantized\n",
                  n_act, n_w, n_b);
    assert_int_equal(n_w, 9);
    assert_int_equal(n_b, 10); /* 9 Conv + the Gemm */
    assert_true(n_act >= 10);
    qrun_quant_summary sum;
    assert_int_equal(qrun_model_quant_summary(q, &sum), QRUN_OK);
    assert_int_equal(sum.n_samples, 4);
    assert_int_equal(qrun_model_quant_summary(m, &sum), QRUN_E_ARG);
    samples_free(&s);
    qrun_model_free(q);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

/* Clear errors: unknown format, unknown node, no sample, wrong shape. */
static void test_errors(void **state) {
    (void)state;
    if (!mr_have_corpus())
        skip();
    qrun_context *ctx = NULL;
    qrun_model *m = mr_load_model(&ctx, MNIST8, NULL);
    qrun_quant_options o;
    qrun_quant_options_init(&o);
    qrun_calibrator *cal = NULL;
    o.dtype = "int7";
    assert_int_equal(qrun_calibrator_create(ctx, m, &o, &cal), QRUN_E_ARG);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "int7"));
    o.dtype = "fp8e4m3";
    o.keep_float = "Convolution28,NoSuchNode";
    assert_int_equal(qrun_calibrator_create(ctx, m, &o, &cal), QRUN_E_ARG);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "NoSuchNode"));
    o.keep_float = NULL;
    o.dtype_for = "Convolution28=int9";
    assert_int_equal(qrun_calibrator_create(ctx, m, &o, &cal), QRUN_E_ARG);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "int9"));
    o.dtype_for = NULL;
    assert_int_equal(qrun_calibrator_create(ctx, m, &o, &cal), QRUN_OK);
    qrun_model *q = NULL;
    assert_int_equal(qrun_quantize_model(cal, &q), QRUN_E_ARG);
    int64_t dims[4] = {1, 1, 28, 27};
    qrun_tensor *t = NULL;
    assert_int_equal(qrun_tensor_create(ctx, QRUN_DTYPE_FLOAT, 4, dims, NULL, &t), QRUN_OK);
    assert_int_equal(qrun_calibrator_add_sample(cal, (const qrun_tensor *const *)&t, 1),
                     QRUN_E_ARG);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "Input3"));
    qrun_tensor_free(t);
    qrun_calibrator_free(cal);
    assert_true(qrun_quant_format_from_name("fp8e4m3") == QRUN_DTYPE_FLOAT8E4M3FN);
    assert_true(qrun_quant_format_from_name("fp8e3m4") == QRUN_DTYPE_FLOAT8E3M4);
    assert_true(qrun_quant_format_from_name("float16") == QRUN_DTYPE_UNDEFINED);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

/* Per-node choices and pow2 scales on mnist-8: Convolution28 stays float, Convolution110 is FP8
 * E5M2 inside an int8 model, every scale is a power of two, and the model still classifies. */
static void test_per_node_and_pow2(void **state) {
    (void)state;
    if (!mr_have_corpus())
        skip();
    qrun_context *ctx = NULL;
    qrun_model *m = mr_load_model(&ctx, MNIST8, NULL);
    samples s = {0};
    load_mnist(ctx, 300, &s);
    qrun_quant_options o;
    qrun_quant_options_init(&o);
    o.keep_float = "Convolution28";
    o.dtype_for = "Convolution110=fp8e5m2";
    o.scale_mode = QRUN_SCALE_POW2;
    o.calib_method = QRUN_CALIB_MSE;
    qrun_model *q = quantize(ctx, m, &o, &s, N_CALIB);
    qrun_quant_summary sum;
    assert_int_equal(qrun_model_quant_summary(q, &sum), QRUN_OK);
    assert_int_equal(sum.n_float_nodes, 1);
    assert_int_equal(sum.n_quantized_nodes, 7);
    int n_fp8_w = 0;
    for (int i = 0; i < qrun_model_quant_tensor_count(q); i++) {
        qrun_quant_tensor_info t;
        assert_int_equal(qrun_model_quant_tensor(q, i, &t), QRUN_OK);
        assert_string_not_equal(t.name, "Parameter5"); /* Convolution28's weight stays float */
        n_fp8_w += t.is_constant && t.dtype == QRUN_DTYPE_FLOAT8E5M2;
        for (int c = 0; c < t.n_params && t.dtype != QRUN_DTYPE_INT32; c++) {
            int e;
            assert_true(frexp((double)t.scales[c], &e) == 0.5);
        }
    }
    assert_int_equal(n_fp8_w, 1); /* Convolution110's weight */
    double acc = top1(ctx, q, &s, NULL);
    print_message("mnist-8 mixed int8/fp8e5m2/float, pow2 scales, mse: top-1 %.2f %% on %d\n", acc,
                  s.n);
    assert_true(acc >= 97.0);
    samples_free(&s);
    qrun_model_free(q);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

/* ---- accuracy ------------------------------------------------------------------ */

typedef struct acc_case {
    const char *dtype;
    double max_drop; /* points of top-1 below FP32 allowed; < 0: report only */
} acc_case;

static void accuracy_run(const char *model_path,
                         const char *what,
                         samples *s,
                         qrun_context *ctx,
                         const acc_case *cases,
                         int n_cases) {
    qrun_model *m = NULL;
    if (qrun_model_load(ctx, model_path, &m))
        fail_msg("%s", qrun_context_errmsg(ctx));
    int *ref = calloc((size_t)s->n, sizeof *ref), *pred = calloc((size_t)s->n, sizeof *pred);
    double fp32 = top1(ctx, m, s, ref);
    print_message("%s fp32: top-1 %.2f %% on %d samples\n", what, fp32, s->n);
    for (int c = 0; c < n_cases; c++) {
        qrun_quant_options o;
        qrun_quant_options_init(&o);
        o.dtype = cases[c].dtype;
        const char *method = getenv("QRUN_PTQ_METHOD"); /* by-hand comparisons of the methods */
        if (method && !qrun_calib_method_from_name(method, &o.calib_method))
            fail_msg("QRUN_PTQ_METHOD: unknown method '%s'", method);
        o.keep_float = getenv("QRUN_PTQ_KEEP");
        qrun_model *q = quantize(ctx, m, &o, s, N_CALIB);
        qrun_quant_summary sum;
        assert_int_equal(qrun_model_quant_summary(q, &sum), QRUN_OK);
        assert_true(sum.n_quantized_nodes >= 8 && qrun_model_quant_tensor_count(q) >= 10);
        double acc = top1(ctx, q, s, pred);
        int agree = 0;
        for (int i = 0; i < s->n; i++)
            agree += pred[i] == ref[i];
        print_message("%s %-12s: top-1 %.2f %% (%+.2f pt), agreement with fp32 %.2f %%\n", what,
                      cases[c].dtype, acc, acc - fp32, 100.0 * agree / s->n);
        if (cases[c].max_drop >= 0)
            assert_true(acc >= fp32 - cases[c].max_drop);
        qrun_model_free(q);
    }
    free(ref);
    free(pred);
    qrun_model_free(m);
}

/* int8/uint8/fp8e4m3 must be within 1.5 pt of FP32; the rest are reported (the FNUZ variants only
 * with QRUN_PTQ_ALL_FORMATS=1, to keep the test short). */
static const acc_case k_cases[] = {{"int8", 1.5},      {"fp8e4m3", 1.5}, {"uint8", 1.5},
                                   {"fp8e5m2", -1},    {"fp8e3m4", -1},  {"fp8e4m3fnuz", -1},
                                   {"fp8e5m2fnuz", -1}};

static int n_cases(void) {
    return getenv("QRUN_PTQ_ALL_FORMATS") ? (int)(sizeof k_cases / sizeof k_cases[0]) : 5;
}

/* ResNet-8: calibrated on the first 50 CIFAR images, evaluated on all 200. */
static void test_resnet8_accuracy(void **state) {
    (void)state;
    if (!ds_dataset_runs_enabled())
        skip();
    if (!mr_have_corpus())
        skip();
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    samples s = {0};
    load_cifar(ctx, &s);
    assert_int_equal(s.n, 200);
    accuracy_run(RESNET8, "ResNet-8", &s, ctx, k_cases, n_cases());
    samples_free(&s);
    qrun_context_free(ctx);
}

/* mnist-8: calibrated on the first 50 test images, evaluated on the first 2000. */
static void test_mnist8_accuracy(void **state) {
    (void)state;
    if (!ds_dataset_runs_enabled())
        skip();
    if (!mr_have_corpus())
        skip();
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    samples s = {0};
    const char *env = getenv("QRUN_MNIST_COUNT"); /* 10000 for the full test set by hand */
    load_mnist(ctx, env ? atoi(env) : 2000, &s);
    accuracy_run(MNIST8, "mnist-8", &s, ctx, k_cases, n_cases());
    samples_free(&s);
    qrun_context_free(ctx);
}

/* An optional argument selects tests by name (cmocka pattern, e.g. "*mnist8*"). */
int main(int argc, char **argv) {
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minmax_exact),
        cmocka_unit_test(test_percentile_known),
        cmocka_unit_test(test_mse_clips_outliers),
        cmocka_unit_test(test_entropy_threshold),
        cmocka_unit_test(test_every_method_every_format),
        cmocka_unit_test(test_qparams),
        cmocka_unit_test(test_fold_bn_exact),
        cmocka_unit_test(test_weight_and_bias_params),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_per_node_and_pow2),
        cmocka_unit_test(test_resnet8_accuracy),
        cmocka_unit_test(test_mnist8_accuracy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
