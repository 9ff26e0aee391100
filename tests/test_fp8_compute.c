/* SPDX-License-Identifier: Apache-2.0 */
/* FP8 QLinearMatMul / QLinearConv on the FP8 datapath (runtime/fp8_math.h) against references
 * computed in double from decoded values, for every FP8 format, E3M4 and every accumulator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/support/kernel_runner.h"

#include "runtime/dtype.h"
#include "runtime/fp8_math.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const qrun_dtype k_fmts[] = {
    QRUN_DTYPE_FLOAT8E4M3FN,   QRUN_DTYPE_FLOAT8E4M3FNUZ, QRUN_DTYPE_FLOAT8E5M2,
    QRUN_DTYPE_FLOAT8E5M2FNUZ, QRUN_DTYPE_FLOAT8E3M4,
};
#define N_FMTS (sizeof k_fmts / sizeof k_fmts[0])

static const qrun_fp8_accum k_accums[] = {QRUN_FP8_ACCUM_FP32, QRUN_FP8_ACCUM_FP16,
                                          QRUN_FP8_ACCUM_BF16};

/* ---- reference helpers ----------------------------------------------------- */

static uint32_t g_seed = 12345u;

static uint32_t rnd(void) {
    g_seed = g_seed * 1664525u + 1013904223u;
    return g_seed >> 8;
}

static double dec(qrun_dtype t, uint8_t c) {
    return (double)qrun_fp8_decode(t, c);
}

/* A random code of t with a finite value of magnitude at most max_abs. */
static uint8_t rnd_code(qrun_dtype t, double max_abs) {
    for (;;) {
        uint8_t c = (uint8_t)(rnd() & 0xFF);
        double v = dec(t, c);
        if (isfinite(v) && fabs(v) <= max_abs)
            return c;
    }
}

/* The code of value v in t (v must be representable). */
static uint8_t code_of(qrun_dtype t, double v) {
    uint8_t c = qrun_fp8_encode(t, (float)v, true, true);
    assert_true(dec(t, c) == v);
    return c;
}

/*
 * x rounded (ties to even) to a binary format with `bits` significant bits
 * whose smallest normal is 2^emin (subnormals share its quantum).
 */
static double round_fmt(double x, int bits, int emin) {
    if (x == 0.0 || !isfinite(x))
        return x;
    int e;
    (void)frexp(x, &e);
    int lead = e - 1 < emin ? emin : e - 1;
    double q = ldexp(1.0, lead - (bits - 1));
    return nearbyint(x / q) * q;
}

/* Independent model of an accumulator: the exact sum rounded to its format. */
static double ref_acc_add(qrun_fp8_accum a, double sum, double p) {
    static const int bits[] = {24, 11, 8}, emin[] = {-126, -14, -126}; /* FP32, FP16, BF16 */
    double s = round_fmt(sum + p, bits[a], emin[a]);
    if (a == QRUN_FP8_ACCUM_FP16 && fabs(s) > 65504.0)
        return copysign(INFINITY, s);
    return s;
}

/* Output step as defined (float32 multiply, float32 add, RNE saturating encode). */
static uint8_t ref_out(qrun_dtype t, double sum, float mult, float bias) {
    float v = (float)sum * mult;
    return qrun_fp8_encode(t, v + bias, true, true);
}

/* Position of a finite code on the number line (sign-magnitude codes). */
static int code_ord(qrun_dtype t, uint8_t c) {
    int mag = c & 0x7F;
    (void)t;
    return (c & 0x80) ? -mag : mag;
}

static struct qrun_tensor *scalar_f32(float v) {
    struct qrun_tensor *s = kr_tensor_new(QRUN_DTYPE_FLOAT, 0, NULL);
    ((float *)s->data)[0] = v;
    return s;
}

static struct qrun_tensor *zero_point(qrun_dtype t) {
    return kr_tensor_new(t, 0, NULL); /* code 0x00 is +0 in every FP8 format */
}

static uint8_t *codes(struct qrun_tensor *t) {
    return t->data;
}

/* ---- QLinearMatMul --------------------------------------------------------- */

typedef struct mm_case {
    qrun_dtype ta, tb, ty;
    int64_t m, k, n;
    float as, bs, ys;
    qrun_fp8_accum accum;
    struct qrun_tensor *a, *b;
} mm_case;

static void mm_random(mm_case *c, double max_abs) {
    const int64_t ad[2] = {c->m, c->k}, bd[2] = {c->k, c->n};
    c->a = kr_tensor_new(c->ta, 2, ad);
    c->b = kr_tensor_new(c->tb, 2, bd);
    for (int64_t i = 0; i < c->m * c->k; i++)
        codes(c->a)[i] = rnd_code(c->ta, max_abs);
    for (int64_t i = 0; i < c->k * c->n; i++)
        codes(c->b)[i] = rnd_code(c->tb, max_abs);
}

/* Run QLinearMatMul on c (zero points present, all +0); unknown: inputs hidden at prepare. */
static qrun_status
mm_run(const mm_case *c, unsigned unknown, struct qrun_tensor **y, qrun_err *err) {
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_QLINEAR_MATMUL, 21, 8, 1);
    tn.fp8_accum = c->accum;
    struct qrun_tensor *as = scalar_f32(c->as), *bs = scalar_f32(c->bs), *ys = scalar_f32(c->ys);
    struct qrun_tensor *az = zero_point(c->ta), *bz = zero_point(c->tb), *yz = zero_point(c->ty);
    const struct qrun_tensor *in[8] = {c->a, as, az, c->b, bs, bz, ys, yz};
    struct qrun_tensor shapes[1];
    bool need = false;
    qrun_status s = kr_infer(&tn, in, shapes, &need, err);
    if (s == QRUN_OK) {
        assert_int_equal(shapes[0].dtype, c->ty);
        *y = kr_tensor_new(shapes[0].dtype, shapes[0].rank, shapes[0].dims);
        memset((*y)->data, 0xEE, (*y)->nbytes);
        s = kr_eval_unknown(&tn, in, y, 1, unknown, err);
    }
    struct qrun_tensor *all[6] = {as, bs, ys, az, bz, yz};
    for (int i = 0; i < 6; i++)
        kr_tensor_free(all[i]);
    return s;
}

static struct qrun_tensor *mm_ok(const mm_case *c, unsigned unknown) {
    struct qrun_tensor *y = NULL;
    qrun_err err = {{0}};
    qrun_status s = mm_run(c, unknown, &y, &err);
    if (s != QRUN_OK)
        fail_msg("QLinearMatMul: %s", err.msg);
    return y;
}

/* Sum of row i, column j in the accumulator model, in k order from +0. */
static double mm_ref_sum(const mm_case *c, int64_t i, int64_t j, qrun_fp8_accum accum) {
    double sum = 0.0;
    for (int64_t kk = 0; kk < c->k; kk++)
        sum = ref_acc_add(accum, sum,
                          dec(c->ta, codes(c->a)[i * c->k + kk]) *
                              dec(c->tb, codes(c->b)[kk * c->n + j]));
    return sum;
}

static void mm_free(mm_case *c) {
    kr_tensor_free(c->a);
    kr_tensor_free(c->b);
}

/*
 * Power-of-two scales make the multiplier exact, so the kernel must match the
 * accumulator model bit for bit. y_scale is chosen so that the largest
 * output lands between 1 and 2 times max_finite: the top ones saturate.
 */
static void test_matmul_exact_all_formats_and_accumulators(void **state) {
    (void)state;
    for (size_t f = 0; f < N_FMTS; f++) {
        for (size_t a = 0; a < 3; a++) {
            qrun_dtype t = k_fmts[f];
            mm_case c = {.ta = t, .tb = t, .ty = t, .m = 4, .k = 67, .n = 5};
            c.as = 0.5f, c.bs = 0.25f, c.accum = k_accums[a];
            mm_random(&c, 16.0);
            double big = 0.0;
            for (int64_t i = 0; i < c.m; i++)
                for (int64_t j = 0; j < c.n; j++)
                    big = fmax(big, fabs(mm_ref_sum(&c, i, j, c.accum)));
            double max = qrun_dtype_traits_get(t)->max_value;
            c.ys = (float)ldexp(1.0, (int)floor(log2(big * c.as * c.bs / max)));
            struct qrun_tensor *y = mm_ok(&c, 0);
            int saturated = 0;
            for (int64_t i = 0; i < c.m; i++) {
                for (int64_t j = 0; j < c.n; j++) {
                    double sum = mm_ref_sum(&c, i, j, c.accum);
                    uint8_t want = ref_out(t, sum, c.as * c.bs / c.ys, 0.0f);
                    uint8_t got = codes(y)[i * c.n + j];
                    if (got != want)
                        fail_msg("%s acc %s [%lld,%lld]: got 0x%02x, want 0x%02x (sum %.9g)",
                                 qrun_dtype_name(t), qrun_fp8_accum_name(c.accum), (long long)i,
                                 (long long)j, got, want, sum);
                    saturated += fabs(sum * c.as * c.bs / c.ys) >= max;
                }
            }
            assert_true(saturated >= 1);
            kr_tensor_free(y);
            mm_free(&c);
        }
    }
}

/*
 * Arbitrary scales and mixed formats against the exact result in double:
 * within one code of it everywhere (FP32 sums and float32 requantization
 * may cross a rounding boundary), exactly equal nearly everywhere.
 */
static void test_matmul_vs_double(void **state) {
    (void)state;
    for (size_t f = 0; f < N_FMTS; f++) {
        qrun_dtype ta = k_fmts[f], tb = k_fmts[(f + 1) % N_FMTS], ty = k_fmts[(f + 2) % N_FMTS];
        mm_case c = {.ta = ta, .tb = tb, .ty = ty, .m = 6, .k = 33, .n = 9};
        c.as = 0.0371f, c.bs = 0.0123f;
        mm_random(&c, 8.0);
        double big = 0.0;
        for (int64_t i = 0; i < c.m; i++)
            for (int64_t j = 0; j < c.n; j++)
                big = fmax(big, fabs(mm_ref_sum(&c, i, j, QRUN_FP8_ACCUM_FP32)));
        c.ys = (float)(big * c.as * c.bs / (0.9 * qrun_dtype_traits_get(ty)->max_value));
        struct qrun_tensor *y = mm_ok(&c, 0);
        const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(ty);
        int exact = 0, total = (int)(c.m * c.n);
        for (int64_t i = 0; i < c.m; i++) {
            for (int64_t j = 0; j < c.n; j++) {
                double sum = 0.0; /* exact: products have <= 10 bits, 33 terms */
                for (int64_t kk = 0; kk < c.k; kk++)
                    sum += dec(ta, codes(c.a)[i * c.k + kk]) * dec(tb, codes(c.b)[kk * c.n + j]);
                uint8_t want = 0;
                tr->set(&want, 0, sum * (double)c.as * (double)c.bs / (double)c.ys, true);
                uint8_t got = codes(y)[i * c.n + j];
                assert_true(abs(code_ord(ty, got) - code_ord(ty, want)) <= 1);
                exact += got == want;
            }
        }
        assert_true(exact * 10 >= total * 9);
        kr_tensor_free(y);
        mm_free(&c);
    }
}

/* 1 x 1 summed 4096 times: FP16 stalls at 2048 (2048 + 1 ties to even), BF16 at 256. */
static void test_accumulator_precision_visible(void **state) {
    (void)state;
    const qrun_dtype t = QRUN_DTYPE_FLOAT8E4M3FN;
    static const double want[3] = {64.0, 32.0, 4.0}; /* 4096, 2048, 256 divided by y_scale 64 */
    for (size_t a = 0; a < 3; a++) {
        mm_case c = {.ta = t, .tb = t, .ty = t, .m = 1, .k = 4096, .n = 1};
        c.as = 1.0f, c.bs = 1.0f, c.ys = 64.0f, c.accum = k_accums[a];
        mm_random(&c, 1.0);
        memset(c.a->data, code_of(t, 1.0), 4096);
        memset(c.b->data, code_of(t, 1.0), 4096);
        struct qrun_tensor *y = mm_ok(&c, 0);
        assert_true(dec(t, codes(y)[0]) == want[a]);
        kr_tensor_free(y);
        mm_free(&c);
    }
}

/* Saturation to +-max_finite (never Inf), narrow accumulator overflow, NaN propagation. */
static void test_matmul_saturation_and_specials(void **state) {
    (void)state;
    for (size_t f = 0; f < N_FMTS; f++) {
        qrun_dtype t = k_fmts[f];
        const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(t);
        uint8_t maxc = code_of(t, tr->max_value), minc = code_of(t, -tr->max_value);
        mm_case c = {.ta = t, .tb = t, .ty = t, .m = 2, .k = 4, .n = 1};
        c.as = 1.0f, c.bs = 1.0f, c.ys = 1.0f;
        mm_random(&c, 1.0);
        memset(c.a->data, maxc, 8);
        memset(c.b->data, maxc, 4);
        codes(c.a)[4] = minc; /* row 1: -max^2 + 3 max^2 */
        struct qrun_tensor *y = mm_ok(&c, 0);
        assert_int_equal(codes(y)[0], maxc);
        assert_int_equal(codes(y)[1], maxc);
        codes(c.a)[4] = minc, codes(c.a)[5] = minc, codes(c.a)[6] = minc, codes(c.a)[7] = minc;
        kr_tensor_free(y);
        y = mm_ok(&c, 0);
        assert_int_equal(codes(y)[1], minc);
        kr_tensor_free(y);
        mm_free(&c);
    }
    /* E5M2: 512 * 512 overflows an FP16 accumulator to Inf, which saturates; FP32 gives 256. */
    const qrun_dtype t = QRUN_DTYPE_FLOAT8E5M2;
    for (size_t a = 0; a < 2; a++) {
        mm_case c = {.ta = t, .tb = t, .ty = t, .m = 1, .k = 1, .n = 1};
        c.as = 1.0f, c.bs = 1.0f, c.ys = 1024.0f, c.accum = k_accums[a];
        mm_random(&c, 1.0);
        codes(c.a)[0] = code_of(t, 512.0);
        codes(c.b)[0] = code_of(t, 512.0);
        struct qrun_tensor *y = mm_ok(&c, 0);
        assert_true(dec(t, codes(y)[0]) == (a == 0 ? 256.0 : 57344.0));
        kr_tensor_free(y);
        mm_free(&c);
    }
    /* A NaN operand (E4M3FN code 0x7F) gives NaN in its row only. */
    const qrun_dtype fn = QRUN_DTYPE_FLOAT8E4M3FN;
    mm_case c = {.ta = fn, .tb = fn, .ty = fn, .m = 2, .k = 3, .n = 2};
    c.as = 1.0f, c.bs = 1.0f, c.ys = 1.0f;
    mm_random(&c, 2.0);
    codes(c.a)[1] = 0x7F;
    struct qrun_tensor *y = mm_ok(&c, 0);
    assert_true(isnan(dec(fn, codes(y)[0])) && isnan(dec(fn, codes(y)[1])));
    assert_false(isnan(dec(fn, codes(y)[2])) || isnan(dec(fn, codes(y)[3])));
    kr_tensor_free(y);
    mm_free(&c);
}

/* Scales and B unknown at prepare: the per-run fallback gives the same codes. */
static void test_matmul_scales_unknown_at_prepare(void **state) {
    (void)state;
    mm_case c = {.ta = QRUN_DTYPE_FLOAT8E4M3FN,
                 .tb = QRUN_DTYPE_FLOAT8E5M2,
                 .ty = QRUN_DTYPE_FLOAT8E4M3FN,
                 .m = 3,
                 .k = 20,
                 .n = 4};
    c.as = 0.07f, c.bs = 0.3f, c.ys = 0.9f;
    mm_random(&c, 8.0);
    struct qrun_tensor *y0 = mm_ok(&c, 0);
    struct qrun_tensor *y1 = mm_ok(&c, (1u << 1) | (1u << 3) | (1u << 4) | (1u << 6));
    assert_memory_equal(y0->data, y1->data, y0->nbytes);
    kr_tensor_free(y0);
    kr_tensor_free(y1);
    mm_free(&c);
}

/* FP8 zero points must be 0 (known at prepare or only at run time). */
static void test_fp8_zero_point_rejected(void **state) {
    (void)state;
    const qrun_dtype t = QRUN_DTYPE_FLOAT8E4M3FN;
    for (int unknown = 0; unknown < 2; unknown++) {
        kr_node tn;
        kr_node_init(&tn, QRUN_OP_QLINEAR_MATMUL, 21, 8, 1);
        const int64_t d[2] = {2, 2};
        struct qrun_tensor *a = kr_tensor_new(t, 2, d), *b = kr_tensor_new(t, 2, d);
        struct qrun_tensor *s = scalar_f32(1.0f), *z = zero_point(t), *bad = zero_point(t);
        codes(bad)[0] = code_of(t, 1.0);
        const struct qrun_tensor *in[8] = {a, s, z, b, s, bad, s, z};
        struct qrun_tensor *y = kr_tensor_new(t, 2, d);
        qrun_err err = {{0}};
        assert_int_equal(kr_eval_unknown(&tn, in, &y, 1, unknown ? 1u << 5 : 0, &err),
                         QRUN_E_MODEL);
        assert_non_null(strstr(err.msg, "b_zero_point must be 0"));
        struct qrun_tensor *all[6] = {a, b, s, z, bad, y};
        for (int i = 0; i < 6; i++)
            kr_tensor_free(all[i]);
    }
}

/* ---- QLinearConv ----------------------------------------------------------- */

typedef struct conv_case {
    qrun_dtype tx, tw, ty;
    int64_t n, c, h, w, m, k, group, stride, pad;
    qrun_fp8_accum accum;
} conv_case;

/*
 * Random FP8 conv with per-channel power-of-two weight scales and a float32
 * bias, run with the given inputs unknown at prepare; checked bit for bit
 * against the accumulator model (sum over (c, ky, kx) in order, padding
 * skipped: adding +0 changes no sum).
 */
static void conv_check(const conv_case *cc, unsigned unknown) {
    int64_t cg = cc->c / cc->group, mg = cc->m / cc->group;
    const int64_t xd[4] = {cc->n, cc->c, cc->h, cc->w}, wd[4] = {cc->m, cg, cc->k, cc->k};
    const int64_t md[1] = {cc->m};
    struct qrun_tensor *x = kr_tensor_new(cc->tx, 4, xd), *w = kr_tensor_new(cc->tw, 4, wd);
    struct qrun_tensor *ws = kr_tensor_new(QRUN_DTYPE_FLOAT, 1, md);
    struct qrun_tensor *bias = kr_tensor_new(QRUN_DTYPE_FLOAT, 1, md);
    for (int64_t i = 0; i < qrun_tensor_numel_(x); i++)
        codes(x)[i] = rnd_code(cc->tx, 6.0);
    for (int64_t i = 0; i < qrun_tensor_numel_(w); i++)
        codes(w)[i] = rnd_code(cc->tw, 6.0);
    for (int64_t m = 0; m < cc->m; m++) {
        ((float *)ws->data)[m] = (float)ldexp(1.0, (int)(m % 3) - 2);
        ((float *)bias->data)[m] = (float)(m - 1) * 0.375f;
    }
    struct qrun_tensor *xs = scalar_f32(0.5f), *ys = scalar_f32(2.0f);
    struct qrun_tensor *xz = zero_point(cc->tx), *wz = zero_point(cc->tw), *yz = zero_point(cc->ty);
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_QLINEAR_CONV, 10, 9, 1);
    tn.fp8_accum = cc->accum;
    const int64_t pads[4] = {cc->pad, cc->pad, cc->pad, cc->pad}, st[2] = {cc->stride, cc->stride};
    kr_ints(&tn, "pads", 4, pads);
    kr_ints(&tn, "strides", 2, st);
    kr_int(&tn, "group", cc->group);
    const struct qrun_tensor *in[9] = {x, xs, xz, w, ws, wz, ys, yz, bias};
    struct qrun_tensor shapes[1];
    bool need = false;
    qrun_err err = {{0}};
    if (kr_infer(&tn, in, shapes, &need, &err) != QRUN_OK)
        fail_msg("%s", err.msg);
    struct qrun_tensor *y = kr_tensor_new(shapes[0].dtype, shapes[0].rank, shapes[0].dims);
    assert_int_equal(y->dtype, cc->ty);
    if (kr_eval_unknown(&tn, in, &y, 2, unknown, &err) != QRUN_OK)
        fail_msg("%s", err.msg);
    int64_t oh = y->dims[2], ow = y->dims[3];
    for (int64_t b = 0; b < cc->n; b++) {
        for (int64_t m = 0; m < cc->m; m++) {
            int64_t g = m / mg;
            float mult = 0.5f * ((float *)ws->data)[m] / 2.0f, fb = ((float *)bias->data)[m] / 2.0f;
            for (int64_t oy = 0; oy < oh; oy++) {
                for (int64_t ox = 0; ox < ow; ox++) {
                    double sum = 0.0;
                    for (int64_t ci = 0; ci < cg; ci++) {
                        for (int64_t ky = 0; ky < cc->k; ky++) {
                            for (int64_t kx = 0; kx < cc->k; kx++) {
                                int64_t iy = oy * cc->stride - cc->pad + ky,
                                        ix = ox * cc->stride - cc->pad + kx;
                                if (iy < 0 || iy >= cc->h || ix < 0 || ix >= cc->w)
                                    continue;
                                int64_t ch = g * cg + ci;
                                double xv = dec(
                                    cc->tx, codes(x)[((b * cc->c + ch) * cc->h + iy) * cc->w + ix]);
                                double wv = dec(
                                    cc->tw, codes(w)[((m * cg + ci) * cc->k + ky) * cc->k + kx]);
                                sum = ref_acc_add(cc->accum, sum, xv * wv);
                            }
                        }
                    }
                    uint8_t want = ref_out(cc->ty, sum, mult, fb);
                    uint8_t got = codes(y)[((b * cc->m + m) * oh + oy) * ow + ox];
                    if (got != want)
                        fail_msg("%s/%s->%s acc %s y[%lld,%lld,%lld,%lld]: got 0x%02x want 0x%02x",
                                 qrun_dtype_name(cc->tx), qrun_dtype_name(cc->tw),
                                 qrun_dtype_name(cc->ty), qrun_fp8_accum_name(cc->accum),
                                 (long long)b, (long long)m, (long long)oy, (long long)ox, got,
                                 want);
                }
            }
        }
    }
    struct qrun_tensor *all[10] = {x, w, ws, bias, xs, ys, xz, wz, yz, y};
    for (int i = 0; i < 10; i++)
        kr_tensor_free(all[i]);
}

static void test_conv_all_formats_and_accumulators(void **state) {
    (void)state;
    for (size_t f = 0; f < N_FMTS; f++) {
        for (size_t a = 0; a < 3; a++) {
            qrun_dtype t = k_fmts[f];
            conv_case cc = {.tx = t,
                            .tw = t,
                            .ty = t,
                            .n = 2,
                            .c = 4,
                            .h = 6,
                            .w = 5,
                            .m = 4,
                            .k = 3,
                            .group = 1,
                            .stride = 1,
                            .pad = 1,
                            .accum = k_accums[a]};
            conv_check(&cc, 0);
            /* grouped, strided, mixed formats */
            cc.tw = k_fmts[(f + 1) % N_FMTS], cc.ty = k_fmts[(f + 3) % N_FMTS];
            cc.group = 2, cc.stride = 2;
            conv_check(&cc, 0);
        }
    }
}

/* Weights, weight scales and bias unknown at prepare: decoded and requantized per run. */
static void test_conv_unknown_at_prepare(void **state) {
    (void)state;
    conv_case cc = {.tx = QRUN_DTYPE_FLOAT8E3M4,
                    .tw = QRUN_DTYPE_FLOAT8E4M3FN,
                    .ty = QRUN_DTYPE_FLOAT8E3M4,
                    .n = 1,
                    .c = 3,
                    .h = 5,
                    .w = 5,
                    .m = 3,
                    .k = 3,
                    .group = 1,
                    .stride = 1,
                    .pad = 0};
    conv_check(&cc, (1u << 3) | (1u << 4) | (1u << 8));
    conv_check(&cc, (1u << 1) | (1u << 6));
}

/* Type rules of FP8 QLinearConv: float32 bias, FP8 on both operands, zero points 0. */
static void test_conv_fp8_types(void **state) {
    (void)state;
    const qrun_dtype t = QRUN_DTYPE_FLOAT8E4M3FN;
    const int64_t xd[4] = {1, 1, 3, 3}, wd[4] = {1, 1, 1, 1}, md[1] = {1};
    struct qrun_tensor *x = kr_tensor_new(t, 4, xd), *w = kr_tensor_new(t, 4, wd);
    struct qrun_tensor *w8 = kr_tensor_new(QRUN_DTYPE_INT8, 4, wd);
    struct qrun_tensor *s = scalar_f32(1.0f), *z = zero_point(t), *wzbad = zero_point(t);
    struct qrun_tensor *b32 = kr_tensor_new(QRUN_DTYPE_INT32, 1, md);
    codes(wzbad)[0] = code_of(t, -2.0);
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_QLINEAR_CONV, 10, 9, 1);
    struct qrun_tensor shapes[1];
    bool need = false;
    qrun_err err = {{0}};
    const struct qrun_tensor *int_bias[9] = {x, s, z, w, s, z, s, z, b32};
    assert_int_equal(kr_infer(&tn, int_bias, shapes, &need, &err), QRUN_E_MODEL);
    assert_non_null(strstr(err.msg, "bias must be float32"));
    const struct qrun_tensor *mixed[9] = {x, s, z, w8, s, z, s, z, NULL};
    assert_int_equal(kr_infer(&tn, mixed, shapes, &need, &err), QRUN_E_MODEL);
    if (!strstr(err.msg, "input 3 must be an FP8 type"))
        fail_msg("%s", err.msg);
    const struct qrun_tensor *bad_zp[9] = {x, s, z, w, s, wzbad, s, z, NULL};
    struct qrun_tensor *y[1] = {NULL};
    assert_int_equal(kr_run_new(&tn, bad_zp, y, 1, &err), QRUN_E_MODEL);
    assert_non_null(strstr(err.msg, "w_zero_point must be 0"));
    kr_tensor_free(y[0]);
    struct qrun_tensor *all[7] = {x, w, w8, s, z, wzbad, b32};
    for (int i = 0; i < 7; i++)
        kr_tensor_free(all[i]);
}

/* ---- the datapath functions themselves ------------------------------------- */

static void test_datapath(void **state) {
    (void)state;
    for (size_t f = 0; f < N_FMTS; f++) {
        qrun_fp8_table tab;
        qrun_fp8_table_init(&tab, k_fmts[f]);
        for (int c = 0; c < 256; c++) {
            double v = dec(k_fmts[f], (uint8_t)c);
            assert_true(isnan(v) ? isnan(tab.v[c]) : tab.v[c] == v);
        }
        /* every product of two finite codes is exact in float32 */
        for (int a = 0; a < 256; a += 3) {
            for (int b = 0; b < 256; b += 5) {
                double p = (double)tab.v[a] * (double)tab.v[b];
                if (isfinite(p))
                    assert_true((double)(tab.v[a] * tab.v[b]) == p);
            }
        }
    }
    assert_false(qrun_fp8_is_mac_type(QRUN_DTYPE_FLOAT4E2M1));
    assert_false(qrun_fp8_is_mac_type(QRUN_DTYPE_FLOAT8E8M0));
    assert_false(qrun_fp8_is_mac_type(QRUN_DTYPE_INT8));
    assert_true(qrun_fp8_is_mac_type(QRUN_DTYPE_FLOAT8E3M4));
    /* narrow adds round once: 2048 + 1 ties to 2048 in FP16, 2048 + 3 gives 2052 */
    assert_true(qrun_fp8_accum_add(QRUN_FP8_ACCUM_FP16, 2048.0f, 1.0f) == 2048.0f);
    assert_true(qrun_fp8_accum_add(QRUN_FP8_ACCUM_FP16, 2048.0f, 3.0f) == 2052.0f);
    assert_true(qrun_fp8_accum_add(QRUN_FP8_ACCUM_BF16, 256.0f, 1.0f) == 256.0f);
    assert_true(isinf(qrun_fp8_accum_add(QRUN_FP8_ACCUM_FP16, 65504.0f, 16.0f)));
    assert_true(qrun_fp8_accum_add(QRUN_FP8_ACCUM_FP32, 2048.0f, 1.0f) == 2049.0f);
    const float a[4] = {1.0f, 2.0f, 3.0f, 4.0f}, b[4] = {0.5f, 0.25f, 2.0f, -1.0f};
    assert_true(qrun_fp8_dot(QRUN_FP8_ACCUM_FP32, a, 1, b, 1, 4) == 3.0f);
    assert_true(qrun_fp8_dot(QRUN_FP8_ACCUM_FP16, a, 2, b, 2, 2) == 6.5f);
    assert_int_equal(qrun_fp8_requantize(QRUN_DTYPE_FLOAT8E4M3FN, 1000.0f, 1.0f, 0.0f), 0x7E);
    assert_int_equal(qrun_fp8_requantize(QRUN_DTYPE_FLOAT8E5M2, INFINITY, 1.0f, 0.0f), 0x7B);
    assert_int_equal(qrun_fp8_requantize(QRUN_DTYPE_FLOAT8E4M3FNUZ, -INFINITY, 1.0f, 0.0f), 0xFF);
    assert_int_equal(qrun_fp8_requantize(QRUN_DTYPE_FLOAT8E3M4, 3.0f, 0.5f, 0.25f),
                     code_of(QRUN_DTYPE_FLOAT8E3M4, 1.75));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_datapath),
        cmocka_unit_test(test_matmul_exact_all_formats_and_accumulators),
        cmocka_unit_test(test_matmul_vs_double),
        cmocka_unit_test(test_accumulator_precision_visible),
        cmocka_unit_test(test_matmul_saturation_and_specials),
        cmocka_unit_test(test_matmul_scales_unknown_at_prepare),
        cmocka_unit_test(test_fp8_zero_point_rejected),
        cmocka_unit_test(test_conv_all_formats_and_accumulators),
        cmocka_unit_test(test_conv_unknown_at_prepare),
        cmocka_unit_test(test_conv_fp8_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
