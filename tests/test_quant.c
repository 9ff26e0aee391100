/* SPDX-License-Identifier: Apache-2.0 */
/* Quantization math (runtime/quant.h) and the cpu_ref integer kernels against naive references. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/support/kernel_runner.h"

#include "runtime/dtype.h"
#include "runtime/quant.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- rounding and ranges --------------------------------------------------- */

static void test_round_half_even(void **state) {
    (void)state;
    assert_true(qrun_round_half_even(0.5) == 0.0);
    assert_true(qrun_round_half_even(1.5) == 2.0);
    assert_true(qrun_round_half_even(2.5) == 2.0);
    assert_true(qrun_round_half_even(-2.5) == -2.0);
    assert_true(qrun_round_half_even(-3.5) == -4.0);
    assert_true(qrun_round_half_even(2.5000001) == 3.0);
    assert_true(qrun_round_half_even_f(254.5f) == 254.0f);
}

static void test_int_ranges(void **state) {
    (void)state;
    static const struct {
        qrun_dtype t;
        int32_t lo, hi;
    } k[] = {
        {QRUN_DTYPE_UINT8, 0, 255},
        {QRUN_DTYPE_INT8, -128, 127},
        {QRUN_DTYPE_UINT16, 0, 65535},
        {QRUN_DTYPE_INT16, -32768, 32767},
        {QRUN_DTYPE_UINT4, 0, 15},
        {QRUN_DTYPE_INT4, -8, 7},
        {QRUN_DTYPE_UINT2, 0, 3},
        {QRUN_DTYPE_INT2, -2, 1},
        {QRUN_DTYPE_INT32, INT32_MIN, INT32_MAX},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        int32_t lo = 1, hi = 0;
        assert_true(qrun_quant_int_range(k[i].t, &lo, &hi));
        assert_int_equal(lo, k[i].lo);
        assert_int_equal(hi, k[i].hi);
    }
    int32_t lo, hi;
    /* Not quantized integer types: floats, BOOL, and integers that do not fit int32. */
    static const qrun_dtype no[] = {QRUN_DTYPE_FLOAT,  QRUN_DTYPE_FLOAT8E4M3FN, QRUN_DTYPE_BOOL,
                                    QRUN_DTYPE_UINT32, QRUN_DTYPE_INT64,        QRUN_DTYPE_UINT64};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(qrun_quant_int_range(no[i], &lo, &hi));
    assert_true(qrun_quant_is_small_float(QRUN_DTYPE_FLOAT8E5M2FNUZ));
    assert_false(qrun_quant_is_small_float(QRUN_DTYPE_FLOAT16));
}

static void test_quantize_int(void **state) {
    (void)state;
    /* rint first, then the zero point (ONNX reference order), then saturate. */
    assert_int_equal(qrun_quantize_int(2.5, 0, 0, 255), 2);
    assert_int_equal(qrun_quantize_int(2.5, 1, 0, 255), 3);
    assert_int_equal(qrun_quantize_int(3.5, 0, 0, 255), 4);
    assert_int_equal(qrun_quantize_int(-0.5, 0, -128, 127), 0);
    assert_int_equal(qrun_quantize_int(-1.5, 0, -128, 127), -2);
    assert_int_equal(qrun_quantize_int(300.0, 0, 0, 255), 255);
    assert_int_equal(qrun_quantize_int(-300.0, 10, 0, 255), 0);
    assert_int_equal(qrun_quantize_int(1e30, 0, -8, 7), 7);
    assert_int_equal(qrun_quantize_int(INFINITY, 0, -2, 1), 1);
    assert_int_equal(qrun_quantize_int(-INFINITY, 0, 0, 65535), 0);
    assert_int_equal(qrun_quantize_int(NAN, 5, 0, 255), 5);
    assert_int_equal(qrun_quantize_int(1e12, 0, INT32_MIN, INT32_MAX), INT32_MAX);
}

static void test_div_and_compute_type(void **state) {
    (void)state;
    assert_int_equal(qrun_quant_compute_type(QRUN_DTYPE_FLOAT, QRUN_DTYPE_FLOAT, 0),
                     QRUN_DTYPE_FLOAT);
    assert_int_equal(qrun_quant_compute_type(QRUN_DTYPE_FLOAT16, QRUN_DTYPE_FLOAT16, 0),
                     QRUN_DTYPE_FLOAT16);
    assert_int_equal(qrun_quant_compute_type(QRUN_DTYPE_FLOAT16, QRUN_DTYPE_BFLOAT16, 0),
                     QRUN_DTYPE_FLOAT);
    assert_int_equal(qrun_quant_compute_type(QRUN_DTYPE_FLOAT, QRUN_DTYPE_FLOAT16, 0),
                     QRUN_DTYPE_FLOAT);
    assert_int_equal(qrun_quant_compute_type(QRUN_DTYPE_INT32, QRUN_DTYPE_FLOAT, 0),
                     QRUN_DTYPE_DOUBLE);
    assert_int_equal(
        qrun_quant_compute_type(QRUN_DTYPE_FLOAT, QRUN_DTYPE_FLOAT, QRUN_DTYPE_FLOAT16),
        QRUN_DTYPE_FLOAT16);
    /* 1/3 in float32, and rounded to the nearest float16 (0x3555 = 0.333251953125). */
    assert_true(qrun_quant_div(1.0, 3.0, QRUN_DTYPE_FLOAT) == (double)(1.0f / 3.0f));
    assert_true(qrun_quant_div(1.0, 3.0, QRUN_DTYPE_FLOAT16) == 0.333251953125);
    assert_true(qrun_quant_div(1.0, 3.0, QRUN_DTYPE_DOUBLE) == 1.0 / 3.0);
    /* bfloat16: 1/3 = 0x3EAB = 0.333984375 */
    assert_true(qrun_quant_div(1.0, 3.0, QRUN_DTYPE_BFLOAT16) == 0.333984375);
}

/* ---- scale / zero-point layout ------------------------------------------------ */

static void test_qparam_map(void **state) {
    (void)state;
    qrun_err err;
    qrun_qparam_map m;
    const int64_t x[3] = {2, 3, 4};
    /* per tensor: rank 0 or one element, whatever the axis */
    struct qrun_tensor s0 = kr_view(QRUN_DTYPE_FLOAT, 0, NULL, NULL);
    const int64_t one[1] = {1};
    struct qrun_tensor z1 = kr_view(QRUN_DTYPE_UINT8, 1, one, NULL);
    assert_int_equal(qrun_qparam_map_init(&m, 3, x, &s0, &z1, 7, 0, &err), QRUN_OK);
    assert_int_equal(m.kind, QRUN_QPARAM_TENSOR);
    assert_int_equal(qrun_qparam_index(&m, 23), 0);
    /* per axis 1 (and -2) */
    const int64_t three[1] = {3};
    struct qrun_tensor s3 = kr_view(QRUN_DTYPE_FLOAT, 1, three, NULL);
    for (int64_t axis = -2; axis <= 1; axis += 3) {
        assert_int_equal(qrun_qparam_map_init(&m, 3, x, &s3, NULL, axis, 0, &err), QRUN_OK);
        assert_int_equal(m.kind, QRUN_QPARAM_AXIS);
        for (int64_t i = 0; i < 24; i++)
            assert_int_equal(qrun_qparam_index(&m, i), (i / 4) % 3);
    }
    assert_int_equal(qrun_qparam_map_init(&m, 3, x, &s3, NULL, 2, 0, &err), QRUN_E_MODEL);
    assert_int_equal(qrun_qparam_map_init(&m, 3, x, &s3, &z1, 1, 0, &err), QRUN_E_MODEL);
    assert_int_equal(qrun_qparam_map_init(&m, 3, x, &s3, NULL, 3, 0, &err), QRUN_E_MODEL);
    /* blocked: x [2, 6] on axis 1 with block 4 -> scale [2, 2], last block partial */
    const int64_t x2[2] = {2, 6}, sb[2] = {2, 2};
    struct qrun_tensor s22 = kr_view(QRUN_DTYPE_FLOAT, 2, sb, NULL);
    assert_int_equal(qrun_qparam_map_init(&m, 2, x2, &s22, &s22, 1, 4, &err), QRUN_OK);
    assert_int_equal(m.kind, QRUN_QPARAM_BLOCK);
    for (int64_t r = 0; r < 2; r++) {
        for (int64_t c = 0; c < 6; c++)
            assert_int_equal(qrun_qparam_index(&m, r * 6 + c), r * 2 + c / 4);
    }
    /* blocked on axis 0: x [6, 2], block 4 -> scale [2, 2] */
    const int64_t x3[2] = {6, 2};
    assert_int_equal(qrun_qparam_map_init(&m, 2, x3, &s22, NULL, 0, 4, &err), QRUN_OK);
    for (int64_t r = 0; r < 6; r++) {
        for (int64_t c = 0; c < 2; c++)
            assert_int_equal(qrun_qparam_index(&m, r * 2 + c), (r / 4) * 2 + c);
    }
    /* wrong block count */
    assert_int_equal(qrun_qparam_map_init(&m, 2, x2, &s22, NULL, 1, 2, &err), QRUN_E_MODEL);
    assert_int_equal(qrun_qparam_map_init(&m, 2, x2, &s22, NULL, 1, -1, &err), QRUN_E_MODEL);
}

/* ---- requantization ----------------------------------------------------------- */

static void test_requant_float(void **state) {
    (void)state;
    /* The multiplier is two float32 operations, widened afterwards. */
    float p = 0.1f * 0.2f;
    assert_true(qrun_requant_multiplier(0.1f, 0.2f, 0.3f, QRUN_DTYPE_FLOAT) == (double)(p / 0.3f));
    /* float16 scales: each operation rounds to float16 */
    double m16 = qrun_requant_multiplier(0.5, 0.5, 3.0, QRUN_DTYPE_FLOAT16);
    assert_true(m16 == (double)qrun_f16_to_f32(qrun_f32_to_f16(0.25f / 3.0f)));
    /* the zero point is added before rounding: 2.5 -> 2, but 2.5 + 1 -> 4 */
    assert_int_equal(qrun_requantize_float(5, 0.5, 0, 0, 255), 2);
    assert_int_equal(qrun_requantize_float(5, 0.5, 1, 0, 255), 4);
    assert_int_equal(qrun_requantize_float(-7, 0.5, 0, -128, 127), -4);
    assert_int_equal(qrun_requantize_float(1000, 1.0, 0, -128, 127), 127);
    assert_int_equal(qrun_requantize_float(-1000, 1.0, 3, 0, 255), 0);
}

static double t_round_away(double v) {
    return v < 0 ? -floor(-v + 0.5) : floor(v + 0.5);
}

static void test_fixed_point(void **state) {
    (void)state;
    int32_t mult;
    int shift;
    assert_true(qrun_quantize_multiplier(0.5, &mult, &shift));
    assert_int_equal(mult, 1 << 30);
    assert_int_equal(shift, 0);
    assert_true(qrun_quantize_multiplier(1.0, &mult, &shift));
    assert_int_equal(mult, 1 << 30);
    assert_int_equal(shift, 1);
    assert_true(qrun_quantize_multiplier(0.75, &mult, &shift));
    assert_int_equal(mult, 1610612736);
    assert_int_equal(shift, 0);
    assert_true(qrun_quantize_multiplier(0.0, &mult, &shift));
    assert_int_equal(mult, 0);
    assert_true(qrun_quantize_multiplier(1e-12, &mult, &shift)); /* flushed */
    assert_int_equal(mult, 0);
    assert_int_equal(shift, 0);
    assert_false(qrun_quantize_multiplier(-1.0, &mult, &shift));
    assert_false(qrun_quantize_multiplier(NAN, &mult, &shift));
    /* the high multiply: ties up for positive, toward zero for negative (TFLite's nudge) */
    assert_true(qrun_quantize_multiplier(0.5, &mult, &shift));
    assert_int_equal(qrun_requantize_fixed(3, mult, shift), 2);
    assert_int_equal(qrun_requantize_fixed(-3, mult, shift), -1);
    assert_int_equal(qrun_requantize_fixed(100, mult, shift), 50);
    /* the right shift: ties away from zero */
    assert_true(qrun_quantize_multiplier(0.25, &mult, &shift));
    assert_int_equal(shift, -1);
    assert_int_equal(qrun_requantize_fixed(6, mult, shift), 2);
    assert_int_equal(qrun_requantize_fixed(-6, mult, shift), -2);
    /* within one of the exact product over a range of multipliers and accumulators */
    uint32_t rng = 1;
    for (int it = 0; it < 20000; it++) {
        rng = rng * 1664525u + 1013904223u;
        double m = ldexp((double)(rng >> 8) / (1 << 24) + 0.01, (int)(rng % 24) - 20);
        rng = rng * 1664525u + 1013904223u;
        int32_t acc = (int32_t)(rng >> 12) - (1 << 19);
        assert_true(qrun_quantize_multiplier(m, &mult, &shift));
        assert_true(shift >= -31 && shift <= 30);
        double want = t_round_away((double)acc * m);
        double got = qrun_requantize_fixed(acc, mult, shift);
        if (fabs(got - want) > 1.0)
            fail_msg("acc %d m %.9g: got %.0f want %.0f", acc, m, got, want);
    }
}

/* ---- kernel fixtures ------------------------------------------------------------ */

static uint32_t g_rng = 777u;

static int t_randint(int lo, int hi) {
    g_rng = g_rng * 1664525u + 1013904223u;
    return lo + (int)((g_rng >> 8) % (uint32_t)(hi - lo + 1));
}

/* Fill an 8-bit tensor with random values of its type, or a float tensor in [lo, hi]. */
static void t_fill(struct qrun_tensor *t, int lo, int hi) {
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(t->dtype);
    for (int64_t i = 0; i < qrun_tensor_numel_(t); i++)
        tr->set(t->data, (size_t)i, (double)t_randint(lo, hi), true);
}

/* ---- QLinearConv / ConvInteger against a direct 2-D convolution ---------------- */

typedef struct qconv_case {
    int64_t n, c, m, group, h, w, kh, kw, sh, sw, ph, pw;
    bool per_channel, bias, qlinear;
    qrun_dtype xt, wt;
} qconv_case;

static void qconv_run(const qconv_case *cc, int n_threads) {
    const int64_t xd[4] = {cc->n, cc->c, cc->h, cc->w};
    const int64_t wd[4] = {cc->m, cc->c / cc->group, cc->kh, cc->kw};
    const int64_t md[1] = {cc->m};
    int64_t nq = cc->per_channel ? cc->m : 1;
    const int64_t qd[1] = {nq};
    struct qrun_tensor *x = kr_tensor_new(cc->xt, 4, xd), *w = kr_tensor_new(cc->wt, 4, wd);
    struct qrun_tensor *xzp = kr_tensor_new(cc->xt, 0, NULL), *wzp = kr_tensor_new(cc->wt, 1, qd);
    struct qrun_tensor *xs = kr_tensor_new(QRUN_DTYPE_FLOAT, 0, NULL),
                       *ws = kr_tensor_new(QRUN_DTYPE_FLOAT, 1, qd);
    struct qrun_tensor *ys = kr_tensor_new(QRUN_DTYPE_FLOAT, 0, NULL),
                       *yzp = kr_tensor_new(QRUN_DTYPE_UINT8, 0, NULL);
    struct qrun_tensor *b = cc->bias ? kr_tensor_new(QRUN_DTYPE_INT32, 1, md) : NULL;
    bool xu = cc->xt == QRUN_DTYPE_UINT8, wu = cc->wt == QRUN_DTYPE_UINT8;
    t_fill(x, xu ? 0 : -128, xu ? 255 : 127);
    t_fill(w, wu ? 0 : -128, wu ? 255 : 127);
    t_fill(xzp, xu ? 100 : -20, xu ? 150 : 20);
    t_fill(wzp, wu ? 100 : -5, wu ? 150 : 5);
    ((float *)xs->data)[0] = 0.02f;
    for (int64_t i = 0; i < nq; i++)
        ((float *)ws->data)[i] = 0.001f * (float)(i + 1);
    ((float *)ys->data)[0] = 0.5f;
    ((uint8_t *)yzp->data)[0] = 128;
    if (b)
        t_fill(b, -20000, 20000);
    kr_node tn;
    const int64_t pads[4] = {cc->ph, cc->pw, cc->ph, cc->pw}, strides[2] = {cc->sh, cc->sw};
    const struct qrun_tensor *in[9] = {0};
    if (cc->qlinear) {
        kr_node_init(&tn, QRUN_OP_QLINEAR_CONV, 10, b ? 9 : 8, 1);
        const struct qrun_tensor *v[9] = {x, xs, xzp, w, ws, wzp, ys, yzp, b};
        memcpy(in, v, sizeof v);
    } else {
        kr_node_init(&tn, QRUN_OP_CONV_INTEGER, 10, 4, 1);
        const struct qrun_tensor *v[4] = {x, w, xzp, wzp};
        memcpy(in, v, sizeof v);
    }
    kr_ints(&tn, "pads", 4, pads);
    kr_ints(&tn, "strides", 2, strides);
    kr_int(&tn, "group", cc->group);
    struct qrun_tensor *out[1] = {NULL};
    qrun_err err = {{0}};
    assert_int_equal(kr_run_new(&tn, in, out, n_threads, &err), QRUN_OK);
    struct qrun_tensor *y = out[0];
    int64_t oh = y->dims[2], ow = y->dims[3], cg = cc->c / cc->group, mg = cc->m / cc->group;
    assert_int_equal(oh, (cc->h + 2 * cc->ph - cc->kh) / cc->sh + 1);
    double xz = kr_get(xzp, 0);
    for (int64_t bi = 0; bi < cc->n; bi++) {
        for (int64_t m = 0; m < cc->m; m++) {
            int64_t g = m / mg, q = cc->per_channel ? m : 0;
            double wz = kr_get(wzp, q);
            for (int64_t oy = 0; oy < oh; oy++) {
                for (int64_t ox = 0; ox < ow; ox++) {
                    int64_t acc = b ? ((int32_t *)b->data)[m] : 0;
                    for (int64_t ci = 0; ci < cg; ci++) {
                        for (int64_t ky = 0; ky < cc->kh; ky++) {
                            for (int64_t kx = 0; kx < cc->kw; kx++) {
                                int64_t iy = oy * cc->sh - cc->ph + ky,
                                        ix = ox * cc->sw - cc->pw + kx;
                                if (iy < 0 || iy >= cc->h || ix < 0 || ix >= cc->w)
                                    continue;
                                int64_t c = g * cg + ci;
                                double xv = kr_get(x, ((bi * cc->c + c) * cc->h + iy) * cc->w + ix);
                                double wv = kr_get(w, ((m * cg + ci) * cc->kh + ky) * cc->kw + kx);
                                acc += (int64_t)((xv - xz) * (wv - wz));
                            }
                        }
                    }
                    int64_t o = ((bi * cc->m + m) * oh + oy) * ow + ox;
                    double want = (double)acc;
                    if (cc->qlinear) {
                        /* ONNX Runtime's order: float32 product, round, then the zero point. */
                        float mult = 0.02f * ((float *)ws->data)[q] / 0.5f;
                        want = (double)nearbyintf((float)acc * mult) + 128.0;
                        want = want < 0 ? 0 : want > 255 ? 255 : want;
                    }
                    if (kr_get(y, o) != want)
                        fail_msg("y[%lld] = %g, want %g", (long long)o, kr_get(y, o), want);
                }
            }
        }
    }
    struct qrun_tensor *all[10] = {x, w, xzp, wzp, xs, ws, ys, yzp, b, y};
    for (int i = 0; i < 10; i++)
        kr_tensor_free(all[i]);
}

static void test_qlinear_conv(void **state) {
    (void)state;
    static const qconv_case cases[] = {
        /* n c m g  h w kh kw sh sw ph pw per_ch bias qlinear */
        {2, 4, 6, 1, 7, 6, 3, 3, 1, 1, 1, 1, true, true, true, QRUN_DTYPE_UINT8, QRUN_DTYPE_INT8},
        {1, 4, 4, 2, 9, 8, 3, 2, 2, 2, 1, 0, false, false, true, QRUN_DTYPE_INT8, QRUN_DTYPE_UINT8},
        {1, 8, 8, 8, 10, 10, 3, 3, 1, 1, 1, 1, true, true, true, QRUN_DTYPE_UINT8, QRUN_DTYPE_INT8},
        {1, 16, 8, 1, 5, 5, 1, 1, 1, 1, 0, 0, true, true, true, QRUN_DTYPE_UINT8, QRUN_DTYPE_UINT8},
        {2, 4, 6, 2, 6, 7, 3, 3, 2, 1, 1, 1, true, false, false, QRUN_DTYPE_UINT8, QRUN_DTYPE_INT8},
        {1, 3, 3, 3, 5, 5, 3, 3, 1, 1, 0, 0, false, false, false, QRUN_DTYPE_INT8, QRUN_DTYPE_INT8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        qconv_run(&cases[i], 1);
        qconv_run(&cases[i], 3);
    }
}

/* ---- MatMulInteger with per-row / per-column zero points and broadcast batch ---- */

static void test_matmul_integer(void **state) {
    (void)state;
    const int64_t ad[3] = {2, 3, 5}, bd[2] = {5, 4}, azd[1] = {3}, bzd[1] = {4};
    struct qrun_tensor *a = kr_tensor_new(QRUN_DTYPE_UINT8, 3, ad),
                       *b = kr_tensor_new(QRUN_DTYPE_INT8, 2, bd);
    struct qrun_tensor *az = kr_tensor_new(QRUN_DTYPE_UINT8, 1, azd),
                       *bz = kr_tensor_new(QRUN_DTYPE_INT8, 1, bzd);
    t_fill(a, 0, 255);
    t_fill(b, -128, 127);
    t_fill(az, 0, 255);
    t_fill(bz, -128, 127);
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_MATMUL_INTEGER, 10, 4, 1);
    const struct qrun_tensor *in[4] = {a, b, az, bz};
    struct qrun_tensor *out[1] = {NULL};
    qrun_err err = {{0}};
    for (int nt = 1; nt <= 2; nt++) {
        assert_int_equal(kr_run_new(&tn, in, out, nt, &err), QRUN_OK);
        struct qrun_tensor *y = out[0];
        assert_int_equal(y->dtype, QRUN_DTYPE_INT32);
        assert_int_equal(y->rank, 3);
        for (int64_t t = 0; t < 2; t++) {
            for (int64_t i = 0; i < 3; i++) {
                for (int64_t j = 0; j < 4; j++) {
                    int64_t acc = 0;
                    for (int64_t k = 0; k < 5; k++)
                        acc += (int64_t)(kr_get(a, (t * 3 + i) * 5 + k) - kr_get(az, i)) *
                               (int64_t)(kr_get(b, k * 4 + j) - kr_get(bz, j));
                    assert_int_equal(((int32_t *)y->data)[(t * 3 + i) * 4 + j], acc);
                }
            }
        }
        kr_tensor_free(y);
    }
    kr_tensor_free(a);
    kr_tensor_free(b);
    kr_tensor_free(az);
    kr_tensor_free(bz);
}

/* ---- QuantizeLinear / DequantizeLinear: blocked int4 round trip ------------------ */

static void test_quantize_blocked_int4(void **state) {
    (void)state;
    const int64_t xd[2] = {3, 5}, sd[2] = {3, 2};
    struct qrun_tensor *x = kr_tensor_new(QRUN_DTYPE_FLOAT, 2, xd);
    struct qrun_tensor *s = kr_tensor_new(QRUN_DTYPE_FLOAT, 2, sd),
                       *zp = kr_tensor_new(QRUN_DTYPE_INT4, 2, sd);
    for (int64_t i = 0; i < 15; i++)
        ((float *)x->data)[i] = (float)(i - 7) * 0.75f;
    for (int64_t i = 0; i < 6; i++) {
        ((float *)s->data)[i] = 0.5f * (float)(i + 1);
        qrun_dtype_traits_get(QRUN_DTYPE_INT4)->set(zp->data, (size_t)i, (double)(i % 3) - 1, true);
    }
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_QUANTIZE_LINEAR, 21, 3, 1);
    kr_int(&tn, "axis", 1);
    kr_int(&tn, "block_size", 3);
    const struct qrun_tensor *in[3] = {x, s, zp};
    struct qrun_tensor *out[1] = {NULL};
    qrun_err err = {{0}};
    assert_int_equal(kr_run_new(&tn, in, out, 1, &err), QRUN_OK);
    struct qrun_tensor *q = out[0];
    assert_int_equal(q->dtype, QRUN_DTYPE_INT4);
    for (int64_t r = 0; r < 3; r++) {
        for (int64_t c = 0; c < 5; c++) {
            int64_t p = r * 2 + c / 3;
            double v = nearbyint((double)(((float *)x->data)[r * 5 + c] / ((float *)s->data)[p]));
            v += kr_get(zp, p);
            v = v < -8 ? -8 : v > 7 ? 7 : v;
            assert_true(kr_get(q, r * 5 + c) == v);
        }
    }
    kr_node_init(&tn, QRUN_OP_DEQUANTIZE_LINEAR, 21, 3, 1);
    kr_int(&tn, "axis", 1);
    kr_int(&tn, "block_size", 3);
    const struct qrun_tensor *in2[3] = {q, s, zp};
    struct qrun_tensor *out2[1] = {NULL};
    assert_int_equal(kr_run_new(&tn, in2, out2, 1, &err), QRUN_OK);
    struct qrun_tensor *y = out2[0];
    assert_int_equal(y->dtype, QRUN_DTYPE_FLOAT);
    for (int64_t i = 0; i < 15; i++) {
        int64_t p = (i / 5) * 2 + (i % 5) / 3;
        float want = ((float)kr_get(q, i) - (float)kr_get(zp, p)) * ((float *)s->data)[p];
        assert_true(((float *)y->data)[i] == want);
    }
    struct qrun_tensor *all[5] = {x, s, zp, q, y};
    for (int i = 0; i < 5; i++)
        kr_tensor_free(all[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_half_even), cmocka_unit_test(test_int_ranges),
        cmocka_unit_test(test_quantize_int),    cmocka_unit_test(test_div_and_compute_type),
        cmocka_unit_test(test_qparam_map),      cmocka_unit_test(test_requant_float),
        cmocka_unit_test(test_fixed_point),     cmocka_unit_test(test_qlinear_conv),
        cmocka_unit_test(test_matmul_integer),  cmocka_unit_test(test_quantize_blocked_int4),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
