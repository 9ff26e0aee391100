/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the dtype traits table and the exact FP16/BF16/FP8/FP4/packed-int codecs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "runtime/dtype.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---- independent reference decoder ------------------------------------- */

/*
 * Reference description of a small float format, written from the ONNX
 * float8 tables (not from dtype.c): field widths, bias and which codes are
 * special.
 */
typedef struct ref_fmt {
    qrun_dtype t;
    int ebits, mbits, bias;
    int ncodes; /* 256, or 16 for FP4 */
    double max; /* max finite */
    uint8_t max_code;
    bool ieee; /* exponent all ones = Inf/NaN */
    bool fn;   /* only S.1..1.1..1 is NaN */
    bool uz;   /* only 0x80 is NaN; no -0 */
} ref_fmt;

static const ref_fmt k_ref_fmts[] = {
    {QRUN_DTYPE_FLOAT8E4M3FN, 4, 3, 7, 256, 448.0, 0x7E, false, true, false},
    {QRUN_DTYPE_FLOAT8E4M3FNUZ, 4, 3, 8, 256, 240.0, 0x7F, false, false, true},
    {QRUN_DTYPE_FLOAT8E5M2, 5, 2, 15, 256, 57344.0, 0x7B, true, false, false},
    {QRUN_DTYPE_FLOAT8E5M2FNUZ, 5, 2, 16, 256, 57344.0, 0x7F, false, false, true},
    {QRUN_DTYPE_FLOAT8E3M4, 3, 4, 3, 256, 31.0, 0x7F, false, false, false},
    {QRUN_DTYPE_FLOAT4E2M1, 2, 1, 1, 16, 6.0, 0x7, false, false, false},
};

static double ref_decode(const ref_fmt *f, unsigned c, bool *is_nan) {
    int nbits = 1 + f->ebits + f->mbits;
    unsigned s = (c >> (nbits - 1)) & 1u;
    unsigned e = (c >> f->mbits) & ((1u << f->ebits) - 1u);
    unsigned m = c & ((1u << f->mbits) - 1u);
    *is_nan = false;
    if (f->uz && c == (1u << (nbits - 1))) {
        *is_nan = true;
        return NAN;
    }
    if (f->fn && e == (1u << f->ebits) - 1u && m == (1u << f->mbits) - 1u) {
        *is_nan = true;
        return NAN;
    }
    if (f->ieee && e == (1u << f->ebits) - 1u) {
        if (m) {
            *is_nan = true;
            return NAN;
        }
        return s ? -INFINITY : INFINITY;
    }
    double frac = (double)m / pow(2.0, f->mbits);
    double v = e == 0 ? frac * pow(2.0, 1 - f->bias) : (1.0 + frac) * pow(2.0, (int)e - f->bias);
    return s ? -v : v;
}

static unsigned ref_sign_bit(const ref_fmt *f) {
    return 1u << (f->ebits + f->mbits);
}

/* ---- table ------------------------------------------------------------- */

static void test_table_complete(void **state) {
    (void)state;
    for (int t = 0; t < QRUN_DTYPE_COUNT; t++) {
        const struct qrun_dtype_traits *tr = qrun_dtype_traits_get((qrun_dtype)t);
        assert_non_null(tr->name);
        assert_string_equal(qrun_dtype_name((qrun_dtype)t), tr->name);
        assert_int_equal(qrun_dtype_bits((qrun_dtype)t), tr->bits);
        if (t == QRUN_DTYPE_UNDEFINED)
            continue;
        assert_int_equal(qrun_dtype_from_name(tr->name), t);
        if (tr->onnx_type != 0) {
            assert_int_equal(tr->onnx_type, t);
            assert_int_equal(qrun_dtype_from_onnx(tr->onnx_type), t);
            assert_non_null(tr->onnx_name);
            assert_int_equal(qrun_dtype_from_name(tr->onnx_name), t);
        }
        bool numeric =
            t != QRUN_DTYPE_STRING && t != QRUN_DTYPE_COMPLEX64 && t != QRUN_DTYPE_COMPLEX128;
        assert_true(numeric == (tr->get != NULL));
        assert_true(numeric == (tr->set != NULL));
        assert_false(tr->is_float && tr->is_integer);
        assert_true(tr->min_value <= tr->max_value);
        size_t nb = 0;
        if (tr->bits == 0) {
            assert_false(qrun_dtype_nbytes((qrun_dtype)t, 1, &nb));
            continue;
        }
        /* 8 elements take exactly `bits` bytes for every fixed-width type. */
        assert_true(qrun_dtype_nbytes((qrun_dtype)t, 8, &nb));
        assert_int_equal(nb, (size_t)tr->bits);
        assert_true(qrun_dtype_nbytes((qrun_dtype)t, 0, &nb));
        assert_int_equal(nb, 0);
    }
    assert_int_equal(qrun_dtype_from_onnx(27), QRUN_DTYPE_UNDEFINED);
    assert_int_equal(qrun_dtype_from_onnx(-1), QRUN_DTYPE_UNDEFINED);
    assert_int_equal(qrun_dtype_from_onnx(1000), QRUN_DTYPE_UNDEFINED);
    assert_string_equal(qrun_dtype_name((qrun_dtype)99), "undefined");
    assert_string_equal(qrun_dtype_name((qrun_dtype)-3), "undefined");
    assert_null(qrun_dtype_traits_get(QRUN_DTYPE_FLOAT8E3M4)->onnx_name);
    assert_int_equal(qrun_dtype_traits_get(QRUN_DTYPE_FLOAT8E3M4)->onnx_type, 0);
}

static void test_names(void **state) {
    (void)state;
    static const struct {
        const char *s;
        qrun_dtype t;
    } cases[] = {
        {"float", QRUN_DTYPE_FLOAT},
        {"FP32", QRUN_DTYPE_FLOAT},
        {"f32", QRUN_DTYPE_FLOAT},
        {"float32", QRUN_DTYPE_FLOAT},
        {"FLOAT", QRUN_DTYPE_FLOAT},
        {"fp16", QRUN_DTYPE_FLOAT16},
        {"bf16", QRUN_DTYPE_BFLOAT16},
        {"Int8", QRUN_DTYPE_INT8},
        {"double", QRUN_DTYPE_DOUBLE},
        {"float64", QRUN_DTYPE_DOUBLE},
        {"fp8e4m3", QRUN_DTYPE_FLOAT8E4M3FN},
        {"fp8e4m3fnuz", QRUN_DTYPE_FLOAT8E4M3FNUZ},
        {"fp8e5m2", QRUN_DTYPE_FLOAT8E5M2},
        {"fp8e5m2fnuz", QRUN_DTYPE_FLOAT8E5M2FNUZ},
        {"fp8e3m4", QRUN_DTYPE_FLOAT8E3M4},
        {"float8e3m4", QRUN_DTYPE_FLOAT8E3M4},
        {"FLOAT8E4M3FN", QRUN_DTYPE_FLOAT8E4M3FN},
        {"float4e2m1", QRUN_DTYPE_FLOAT4E2M1},
        {"int4", QRUN_DTYPE_INT4},
        {"", QRUN_DTYPE_UNDEFINED},
        {"float33", QRUN_DTYPE_UNDEFINED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(qrun_dtype_from_name(cases[i].s), cases[i].t);
    assert_int_equal(qrun_dtype_from_name(NULL), QRUN_DTYPE_UNDEFINED);
}

static void test_nbytes(void **state) {
    (void)state;
    size_t nb = 0;
    assert_true(qrun_dtype_nbytes(QRUN_DTYPE_INT4, 3, &nb));
    assert_int_equal(nb, 2);
    assert_true(qrun_dtype_nbytes(QRUN_DTYPE_INT2, 5, &nb));
    assert_int_equal(nb, 2);
    assert_true(qrun_dtype_nbytes(QRUN_DTYPE_FLOAT4E2M1, 1, &nb));
    assert_int_equal(nb, 1);
    assert_true(qrun_dtype_nbytes(QRUN_DTYPE_FLOAT, 10, &nb));
    assert_int_equal(nb, 40);
    assert_false(qrun_dtype_nbytes(QRUN_DTYPE_INT64, INT64_MAX, &nb));
    assert_false(qrun_dtype_nbytes(QRUN_DTYPE_COMPLEX128, INT64_MAX / 4, &nb));
    assert_false(qrun_dtype_nbytes(QRUN_DTYPE_FLOAT, -1, &nb));
    assert_false(qrun_dtype_nbytes(QRUN_DTYPE_STRING, 1, &nb));
    assert_false(qrun_dtype_nbytes(QRUN_DTYPE_UNDEFINED, 1, &nb));
}

/* ---- small floats: exhaustive ------------------------------------------ */

static void test_small_float_decode_all(void **state) {
    (void)state;
    for (size_t k = 0; k < sizeof k_ref_fmts / sizeof k_ref_fmts[0]; k++) {
        const ref_fmt *f = &k_ref_fmts[k];
        const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(f->t);
        assert_true(tr->max_value == f->max);
        for (int c = 0; c < f->ncodes; c++) {
            bool nan;
            double want = ref_decode(f, (unsigned)c, &nan);
            float got = qrun_fp8_decode(f->t, (uint8_t)c);
            uint8_t buf[1] = {(uint8_t)c};
            double got2 = tr->get(buf, 0);
            if (nan) {
                assert_true(isnan(got));
                assert_true(isnan(got2));
                continue;
            }
            assert_true((double)got == want);
            assert_true(got2 == want);
            assert_true(!signbit(got) == !signbit(want));
        }
        /* the code of max_finite */
        assert_true(qrun_fp8_decode(f->t, f->max_code) == f->max);
    }
}

static void test_small_float_roundtrip(void **state) {
    (void)state;
    for (size_t k = 0; k < sizeof k_ref_fmts / sizeof k_ref_fmts[0]; k++) {
        const ref_fmt *f = &k_ref_fmts[k];
        const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(f->t);
        for (int c = 0; c < f->ncodes; c++) {
            bool nan;
            double v = ref_decode(f, (unsigned)c, &nan);
            if (nan)
                continue;
            for (int sat = 0; sat < 2; sat++) {
                if (isinf(v) && sat)
                    continue; /* Inf saturates: checked separately */
                for (int rule = 0; rule < 2; rule++)
                    assert_int_equal(qrun_fp8_encode(f->t, (float)v, sat, rule), c);
                uint8_t buf[1] = {0};
                tr->set(buf, 0, v, sat);
                assert_int_equal(buf[0], c);
            }
        }
        /* -0: FNUZ has no -0 code (0x80 is NaN), so -0 encodes as +0. */
        uint8_t negz = qrun_fp8_encode(f->t, -0.0f, true, true);
        assert_int_equal(negz, f->uz ? 0 : ref_sign_bit(f));
    }
}

static unsigned expect_even(const ref_fmt *f, unsigned a, unsigned b) {
    /* Of two adjacent codes, the one with an even mantissa (low bit 0). */
    (void)f;
    return (a & 1u) ? b : a;
}

static void test_small_float_ties(void **state) {
    (void)state;
    for (size_t k = 0; k < sizeof k_ref_fmts / sizeof k_ref_fmts[0]; k++) {
        const ref_fmt *f = &k_ref_fmts[k];
        const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(f->t);
        for (unsigned c = 0; c < f->max_code; c++) {
            bool n1, n2;
            double lo = ref_decode(f, c, &n1), hi = ref_decode(f, c + 1, &n2);
            double mid = (lo + hi) / 2; /* exact: at most mbits + 2 significant bits */
            for (int s = 0; s < 2; s++) {
                double sg = s ? -1.0 : 1.0;
                unsigned sb = s ? ref_sign_bit(f) : 0;
                unsigned want = expect_even(f, c, c + 1);
                unsigned want_c = (f->uz && want == 0) ? 0 : (sb | want);
                assert_int_equal(qrun_fp8_encode(f->t, (float)(sg * mid), true, true), want_c);
                uint8_t buf[1] = {0};
                tr->set(buf, 0, sg * mid, true);
                assert_int_equal(buf[0], want_c);
                /* just off the midpoint: the nearer code */
                float below = nextafterf((float)mid, 0.0f);
                float above = nextafterf((float)mid, INFINITY);
                unsigned cb = (f->uz && c == 0) ? 0 : (sb | c);
                assert_int_equal(qrun_fp8_encode(f->t, (float)sg * below, true, true), cb);
                assert_int_equal(qrun_fp8_encode(f->t, (float)sg * above, true, true),
                                 sb | (c + 1));
                /* a double just above the midpoint must not be rounded to it first */
                tr->set(buf, 0, sg * (mid + mid * 0x1p-40), true);
                assert_int_equal(buf[0], sb | (c + 1));
            }
        }
    }
}

/* NaN code a format produces for a NaN input (positive NaN). */
static unsigned ref_nan_code(const ref_fmt *f) {
    if (f->uz)
        return 0x80;
    if (f->fn)
        return 0x7F;
    if (f->ieee)
        return 0x7E;
    return f->t == QRUN_DTYPE_FLOAT4E2M1 ? 0x7 : 0x00;
}

static void test_small_float_overflow(void **state) {
    (void)state;
    for (size_t k = 0; k < sizeof k_ref_fmts / sizeof k_ref_fmts[0]; k++) {
        const ref_fmt *f = &k_ref_fmts[k];
        const qrun_dtype t = f->t;
        unsigned sb = ref_sign_bit(f);
        bool has_nan = f->uz || f->fn || f->ieee;
        /* first value that rounds beyond max: half a quantum above max, unless max's mantissa is
         * even */
        bool nan;
        double below_max = ref_decode(f, f->max_code - 1u, &nan);
        double step = f->max - below_max;
        double tie = f->max + step / 2;
        bool max_even = (f->max_code & 1u) == 0;
        double big[] = {f->max * 1.5, 1e6, 1e30, tie + step / 8};
        for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
            for (int s = 0; s < 2; s++) {
                float v = (float)(s ? -big[i] : big[i]);
                unsigned sgn = s ? sb : 0;
                assert_int_equal(qrun_fp8_encode(t, v, true, false), sgn | f->max_code);
                assert_int_equal(qrun_fp8_encode(t, v, true, true), sgn | f->max_code);
                unsigned want;
                if (f->ieee)
                    want = sgn | (f->max_code + 1u); /* Inf */
                else if (f->uz)
                    want = 0x80;
                else if (f->fn)
                    want = sgn | 0x7F;
                else
                    want = sgn | f->max_code; /* no Inf/NaN: always saturates */
                assert_int_equal(qrun_fp8_encode(t, v, false, false), want);
            }
        }
        /* the tie just above max: to even */
        uint8_t at_tie = qrun_fp8_encode(t, (float)tie, false, false);
        if (max_even || !has_nan)
            assert_int_equal(at_tie, f->max_code);
        else
            assert_int_not_equal(at_tie, f->max_code);
        assert_int_equal(qrun_fp8_encode(t, (float)tie, true, false), f->max_code);
        assert_int_equal(qrun_fp8_encode(t, nextafterf((float)tie, 0.0f), false, false),
                         f->max_code);

        /* Inf */
        for (int s = 0; s < 2; s++) {
            float inf = s ? -INFINITY : INFINITY;
            unsigned sgn = s ? sb : 0;
            if (f->ieee) {
                assert_int_equal(qrun_fp8_encode(t, inf, false, false), sgn | (f->max_code + 1u));
                assert_int_equal(qrun_fp8_encode(t, inf, true, false), sgn | f->max_code);
            } else if (f->uz) {
                /* Cast-19..23: NaN even when saturating; Cast-24+: +-max */
                assert_int_equal(qrun_fp8_encode(t, inf, true, false), 0x80);
                assert_int_equal(qrun_fp8_encode(t, inf, true, true), sgn | f->max_code);
                assert_int_equal(qrun_fp8_encode(t, inf, false, false), 0x80);
                assert_int_equal(qrun_fp8_encode(t, inf, false, true), 0x80);
            } else if (f->fn) {
                assert_int_equal(qrun_fp8_encode(t, inf, true, false), sgn | f->max_code);
                assert_int_equal(qrun_fp8_encode(t, inf, false, false), sgn | 0x7F);
            } else {
                assert_int_equal(qrun_fp8_encode(t, inf, false, false), sgn | f->max_code);
                assert_int_equal(qrun_fp8_encode(t, inf, true, true), sgn | f->max_code);
            }
        }
        /* NaN */
        for (int sat = 0; sat < 2; sat++)
            assert_int_equal(qrun_fp8_encode(t, NAN, sat, sat), ref_nan_code(f));
        /* tiny values flush to (signed) zero, never to the FNUZ NaN code */
        assert_int_equal(qrun_fp8_encode(t, 1e-30f, true, true), 0);
        assert_int_equal(qrun_fp8_encode(t, -1e-30f, true, true), f->uz ? 0 : sb);
    }
}

/*
 * The traits setter (what QuantizeLinear and the FP8 kernels store with)
 * follows the Cast-24 rule: with saturate, FNUZ Inf becomes +-max where
 * qrun_fp8_encode's Cast-19..23 rule gives NaN. Negative NaN keeps its sign
 * where the format has a signed NaN.
 */
static void test_small_float_setter_specials(void **state) {
    (void)state;
    for (size_t k = 0; k < sizeof k_ref_fmts / sizeof k_ref_fmts[0]; k++) {
        const ref_fmt *f = &k_ref_fmts[k];
        if (f->ncodes != 256)
            continue; /* FP4 is packed: its setter is covered by test_packed */
        const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(f->t);
        unsigned sb = ref_sign_bit(f);
        for (int s = 0; s < 2; s++) {
            double inf = s ? -INFINITY : INFINITY;
            unsigned sgn = s ? sb : 0;
            uint8_t buf[1] = {0};
            tr->set(buf, 0, inf, true);
            assert_int_equal(buf[0], sgn | f->max_code);
            tr->set(buf, 0, inf, false);
            unsigned want = f->ieee ? sgn | (f->max_code + 1u)
                            : f->uz ? 0x80
                            : f->fn ? sgn | 0x7F
                                    : sgn | f->max_code;
            assert_int_equal(buf[0], want);
            /* NaN: the format's NaN code, sign kept where NaN has one (never a number but E3M4's 0)
             */
            tr->set(buf, 0, s ? -NAN : NAN, true);
            unsigned nan_want = f->uz ? 0x80 : (f->fn || f->ieee) ? sgn | ref_nan_code(f) : 0x00;
            assert_int_equal(buf[0], nan_want);
            assert_int_equal(qrun_fp8_encode(f->t, s ? -NAN : NAN, false, false), nan_want);
        }
    }
}

/* Rounding to a narrow accumulator format (qrun_float_round): once, RNE, IEEE overflow. */
static void test_float_round(void **state) {
    (void)state;
    assert_true(qrun_float_round(QRUN_DTYPE_FLOAT16, 2049.0) == 2048.0f);
    assert_true(qrun_float_round(QRUN_DTYPE_FLOAT16, 2051.0) == 2052.0f);
    assert_true(qrun_float_round(QRUN_DTYPE_FLOAT16, 2049.0 + 0x1p-30) == 2050.0f);
    assert_true(qrun_float_round(QRUN_DTYPE_FLOAT16, 65519.0) == 65504.0f);
    assert_true(isinf(qrun_float_round(QRUN_DTYPE_FLOAT16, 65520.0)));
    assert_true(qrun_float_round(QRUN_DTYPE_FLOAT16, -0x1p-25) == 0.0f); /* tie to even 0 */
    assert_true(qrun_float_round(QRUN_DTYPE_FLOAT16, 3 * 0x1p-26) == 0x1p-24f);
    assert_true(qrun_float_round(QRUN_DTYPE_BFLOAT16, 257.0) == 256.0f);
    assert_true(qrun_float_round(QRUN_DTYPE_BFLOAT16, 259.0) == 260.0f);
    assert_true(isinf(qrun_float_round(QRUN_DTYPE_BFLOAT16, 0x1.FFp127)));
    assert_true(qrun_float_round(QRUN_DTYPE_FLOAT, 1.0 + 0x1p-24) == 1.0f);
    assert_true(isnan(qrun_float_round(QRUN_DTYPE_FLOAT16, NAN)));
}

static void test_fp8_known_vectors(void **state) {
    (void)state;
    /* ORT issue #16938: RNE must give 1.875, not 1.75. */
    uint8_t c = qrun_fp8_encode(QRUN_DTYPE_FLOAT8E4M3FN, 1.8131605f, true, false);
    assert_true(qrun_fp8_decode(QRUN_DTYPE_FLOAT8E4M3FN, c) == 1.875f);
    assert_int_equal(c, 0x3F);
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT8E4M3FN, 448.0f, false, false), 0x7E);
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT8E4M3FNUZ, 240.0f, false, false), 0x7F);
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT8E5M2, 57344.0f, false, false), 0x7B);
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT8E5M2, 1.0f, false, false), 0x3C);
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT8E4M3FN, 1.0f, false, false), 0x38);
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT8E4M3FNUZ, 1.0f, false, false), 0x40);
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT8E5M2FNUZ, 1.0f, false, false), 0x40);
    /* smallest subnormals */
    assert_true(qrun_fp8_decode(QRUN_DTYPE_FLOAT8E4M3FN, 0x01) == 0x1p-9f);
    assert_true(qrun_fp8_decode(QRUN_DTYPE_FLOAT8E4M3FNUZ, 0x01) == 0x1p-10f);
    assert_true(qrun_fp8_decode(QRUN_DTYPE_FLOAT8E5M2, 0x01) == 0x1p-16f);
    assert_true(qrun_fp8_decode(QRUN_DTYPE_FLOAT8E5M2FNUZ, 0x01) == 0x1p-17f);
    assert_true(qrun_fp8_decode(QRUN_DTYPE_FLOAT8E3M4, 0x01) == 0x1p-6f);
    assert_true(qrun_fp8_decode(QRUN_DTYPE_FLOAT8E3M4, 0x7F) == 31.0f);
    assert_true(qrun_fp8_decode(QRUN_DTYPE_FLOAT8E3M4, 0xFF) == -31.0f);
    /* FP4 values */
    static const float fp4[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
    for (int i = 0; i < 8; i++) {
        assert_true(qrun_fp8_decode(QRUN_DTYPE_FLOAT4E2M1, (uint8_t)i) == fp4[i]);
        assert_true(qrun_fp8_decode(QRUN_DTYPE_FLOAT4E2M1, (uint8_t)(i | 8)) == -fp4[i]);
    }
    /* ONNX test inputs for FP4 (cast test): 0.48 -> 0.5, 0.25 -> 0, 1.05 -> 1, -3.5 -> -4 */
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT4E2M1, 0.48f, true, true), 0x1);
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT4E2M1, 0.25f, true, true), 0x0);
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT4E2M1, 1.05f, true, true), 0x2);
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT4E2M1, -3.5f, true, true), 0xE);
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT4E2M1, 5.0f, true, true), 0x6);
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT4E2M1, -8.0f, true, true), 0xF);
}

static void test_e8m0(void **state) {
    (void)state;
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(QRUN_DTYPE_FLOAT8E8M0);
    for (int c = 0; c < 255; c++) {
        float v = qrun_fp8_decode(QRUN_DTYPE_FLOAT8E8M0, (uint8_t)c);
        assert_true(v == (float)ldexp(1.0, c - 127));
        assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT8E8M0, v, false, false), c);
        uint8_t buf[1];
        tr->set(buf, 0, (double)v, false);
        assert_int_equal(buf[0], c);
    }
    assert_true(isnan(qrun_fp8_decode(QRUN_DTYPE_FLOAT8E8M0, 0xFF)));
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT8E8M0, NAN, true, true), 0xFF);
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT8E8M0, INFINITY, true, true), 0xFE);
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT8E8M0, INFINITY, false, true), 0xFF);
    /* nearest power of two; 1.5 ties to the even code (2.0 = 128) and 3.0 to 2.0 (128) */
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT8E8M0, 1.4f, true, true), 127);
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT8E8M0, 1.6f, true, true), 128);
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT8E8M0, 1.5f, true, true), 128);
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT8E8M0, 3.0f, true, true), 128);
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT8E8M0, 0.0f, true, true), 0);
    assert_int_equal(qrun_fp8_encode(QRUN_DTYPE_FLOAT8E8M0, -4.0f, true, true), 129);
}

/* ---- FP16 / BF16 ------------------------------------------------------- */

static void test_f16(void **state) {
    (void)state;
    static const struct {
        float f;
        uint16_t h;
    } cases[] = {
        {0.0f, 0x0000},
        {-0.0f, 0x8000},
        {1.0f, 0x3C00},
        {-2.0f, 0xC000},
        {65504.0f, 0x7BFF},
        {65519.0f, 0x7BFF},
        {65520.0f, 0x7C00}, /* tie between max and 2^16: to even = Inf */
        {1e6f, 0x7C00},
        {INFINITY, 0x7C00},
        {-INFINITY, 0xFC00},
        {0x1p-14f, 0x0400},   /* smallest normal */
        {0x1p-24f, 0x0001},   /* smallest subnormal */
        {0x1p-25f, 0x0000},   /* tie with 0: to even */
        {0x1.8p-24f, 0x0002}, /* tie between 1 and 2 quanta: to even */
        {0x1.8p-23f, 0x0003}, /* exact */
        {0x1.0000001p-25f, 0x0000},
        {0x1.000002p-25f, 0x0001},
        {1.0f + 0x1p-11f, 0x3C00}, /* tie: to even */
        {1.0f + 0x3p-11f, 0x3C02}, /* tie: to even (up) */
        {1.0f + 0x1p-11f + 0x1p-20f, 0x3C01},
        {0x1.ff8p-15f, 0x03FF}, /* largest subnormal */
        {0x1.ffcp-15f, 0x0400}, /* tie between it and the smallest normal */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(qrun_f32_to_f16(cases[i].f), cases[i].h);
        uint16_t buf[1];
        qrun_dtype_traits_get(QRUN_DTYPE_FLOAT16)->set(buf, 0, cases[i].f, true);
        assert_int_equal(buf[0], cases[i].h);
    }
    /* decode of every code and round trip */
    for (unsigned h = 0; h < 0x10000u; h++) {
        float f = qrun_f16_to_f32((uint16_t)h);
        if ((h & 0x7C00u) == 0x7C00u && (h & 0x3FFu)) {
            assert_true(isnan(f));
            assert_true((qrun_f32_to_f16(f) & 0x7FFFu) > 0x7C00u);
            continue;
        }
        assert_int_equal(qrun_f32_to_f16(f), h);
    }
    /* the f32 fast path agrees with the exact double path on a sweep of float bit patterns */
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(QRUN_DTYPE_FLOAT16);
    for (uint64_t u = 0; u < 0x100000000ull; u += 0x1234ull) {
        uint32_t bits = (uint32_t)u;
        float f;
        memcpy(&f, &bits, sizeof f);
        if (isnan(f))
            continue;
        uint16_t buf[1];
        tr->set(buf, 0, (double)f, false);
        assert_int_equal(buf[0], qrun_f32_to_f16(f));
    }
    /* double rounding: 1 + 2^-11 + 2^-40 rounds to 1 + 2^-11 in float, but is above the tie */
    uint16_t buf[1];
    tr->set(buf, 0, 1.0 + 0x1p-11 + 0x1p-40, true);
    assert_int_equal(buf[0], 0x3C01);
    /* FP16 never saturates: saturate concerns FP8 only */
    tr->set(buf, 0, 1e6, true);
    assert_int_equal(buf[0], 0x7C00);
    assert_true(isnan(qrun_f16_to_f32(qrun_f32_to_f16(NAN))));
    assert_true(qrun_f16_to_f32(0x0001) == 0x1p-24f);
}

static void test_bf16(void **state) {
    (void)state;
    static const struct {
        float f;
        uint16_t b;
    } cases[] = {
        {1.0f, 0x3F80},           {-1.0f, 0xBF80},
        {1.0f + 0x1p-8f, 0x3F80}, /* tie: to even */
        {1.0f + 0x3p-8f, 0x3F82}, {1.0f + 0x1p-8f + 0x1p-20f, 0x3F81},
        {INFINITY, 0x7F80},       {0x1.FEp127f, 0x7F7F},
        {0x1.FFp127f, 0x7F80}, /* tie above max: to even = Inf */
        {0x1p-133f, 0x0001},   /* subnormal */
    };
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(QRUN_DTYPE_BFLOAT16);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(qrun_f32_to_bf16(cases[i].f), cases[i].b);
        uint16_t buf[1];
        tr->set(buf, 0, cases[i].f, true);
        assert_int_equal(buf[0], cases[i].b);
        assert_true(tr->get(buf, 0) == (double)qrun_bf16_to_f32(cases[i].b));
    }
    uint16_t n = qrun_f32_to_bf16(NAN);
    assert_true(isnan(qrun_bf16_to_f32(n)));
    /* a signalling NaN whose payload is only in the low bits must stay NaN */
    uint32_t snan = 0x7F800001u;
    float fs;
    memcpy(&fs, &snan, sizeof fs);
    assert_true(isnan(qrun_bf16_to_f32(qrun_f32_to_bf16(fs))));
    for (uint64_t u = 0; u < 0x100000000ull; u += 0x4321ull) {
        uint32_t bits = (uint32_t)u;
        float f;
        memcpy(&f, &bits, sizeof f);
        if (isnan(f))
            continue;
        uint16_t buf[1];
        tr->set(buf, 0, (double)f, false);
        assert_int_equal(buf[0], qrun_f32_to_bf16(f));
    }
}

/* ---- integers ---------------------------------------------------------- */

static void test_int_set_rounding(void **state) {
    (void)state;
    const struct qrun_dtype_traits *i8 = qrun_dtype_traits_get(QRUN_DTYPE_INT8);
    int8_t b[1];
    static const struct {
        double v;
        int want;
    } cases[] = {
        {2.5, 2},     {3.5, 4},       {-2.5, -2},      {-3.5, -4},        {0.5, 0},
        {1.5, 2},     {2.4999, 2},    {-0.5, 0},       {300, 127},        {-300, -128},
        {127.5, 127}, {-128.5, -128}, {INFINITY, 127}, {-INFINITY, -128}, {NAN, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        i8->set(b, 0, cases[i].v, true);
        assert_int_equal(b[0], cases[i].want);
    }
    uint8_t u[1];
    qrun_dtype_traits_get(QRUN_DTYPE_UINT8)->set(u, 0, -1.0, true);
    assert_int_equal(u[0], 0);
    qrun_dtype_traits_get(QRUN_DTYPE_UINT8)->set(u, 0, 255.5, true);
    assert_int_equal(u[0], 255);
    int64_t l[1];
    qrun_dtype_traits_get(QRUN_DTYPE_INT64)->set(l, 0, 1e30, true);
    assert_true(l[0] == INT64_MAX);
    qrun_dtype_traits_get(QRUN_DTYPE_INT64)->set(l, 0, -1e30, true);
    assert_true(l[0] == INT64_MIN);
    qrun_dtype_traits_get(QRUN_DTYPE_INT64)->set(l, 0, NAN, true);
    assert_true(l[0] == 0);
    uint64_t ul[1];
    qrun_dtype_traits_get(QRUN_DTYPE_UINT64)->set(ul, 0, 1e30, true);
    assert_true(ul[0] == UINT64_MAX);
    qrun_dtype_traits_get(QRUN_DTYPE_UINT64)->set(ul, 0, -5, true);
    assert_true(ul[0] == 0);
    int32_t w[1];
    qrun_dtype_traits_get(QRUN_DTYPE_INT32)->set(w, 0, 3e9, true);
    assert_int_equal(w[0], INT32_MAX);
    uint8_t bo[1];
    qrun_dtype_traits_get(QRUN_DTYPE_BOOL)->set(bo, 0, 0.25, true);
    assert_int_equal(bo[0], 1);
    qrun_dtype_traits_get(QRUN_DTYPE_BOOL)->set(bo, 0, -0.0, true);
    assert_int_equal(bo[0], 0);
}

static void test_i64_exact(void **state) {
    (void)state;
    int64_t v[2] = {INT64_MAX, INT64_MIN + 1};
    assert_true(qrun_dtype_get_i64(QRUN_DTYPE_INT64, v, 0) == INT64_MAX);
    assert_true(qrun_dtype_get_i64(QRUN_DTYPE_INT64, v, 1) == INT64_MIN + 1);
    qrun_dtype_set_i64(QRUN_DTYPE_INT64, v, 0, (int64_t)1 << 60 | 1);
    assert_true(v[0] == ((int64_t)1 << 60 | 1));
    uint64_t u[1] = {UINT64_MAX};
    assert_true(qrun_dtype_get_i64(QRUN_DTYPE_UINT64, u, 0) == INT64_MAX);
    qrun_dtype_set_i64(QRUN_DTYPE_UINT64, u, 0, -1);
    assert_true(u[0] == 0);
    int8_t b[1];
    qrun_dtype_set_i64(QRUN_DTYPE_INT8, b, 0, 1000);
    assert_int_equal(b[0], 127);
    float f[1] = {2.5f};
    assert_true(qrun_dtype_get_i64(QRUN_DTYPE_FLOAT, f, 0) == 2);
}

static void test_packed(void **state) {
    (void)state;
    const struct qrun_dtype_traits *i4 = qrun_dtype_traits_get(QRUN_DTYPE_INT4);
    const struct qrun_dtype_traits *u4 = qrun_dtype_traits_get(QRUN_DTYPE_UINT4);
    const struct qrun_dtype_traits *i2 = qrun_dtype_traits_get(QRUN_DTYPE_INT2);
    const struct qrun_dtype_traits *u2 = qrun_dtype_traits_get(QRUN_DTYPE_UINT2);
    uint8_t b[2] = {0xAA, 0xAA};
    i4->set(b, 0, -1, true);
    i4->set(b, 1, 7, true);
    i4->set(b, 2, -100, true); /* saturates to -8 */
    assert_int_equal(b[0], 0x7F);
    assert_int_equal(b[1], 0xA8); /* high nibble of byte 1 untouched */
    assert_true(i4->get(b, 0) == -1.0);
    assert_true(i4->get(b, 1) == 7.0);
    assert_true(i4->get(b, 2) == -8.0);
    assert_true(i4->get(b, 3) == -6.0); /* 0xA = -6 */
    assert_true(u4->get(b, 3) == 10.0);
    u4->set(b, 3, 20, true);
    assert_int_equal(b[1], 0xF8);
    u4->set(b, 3, 2.5, true); /* half to even */
    assert_int_equal(b[1], 0x28);
    uint8_t q[1] = {0};
    i2->set(q, 0, 1, true);
    i2->set(q, 1, -2, true);
    i2->set(q, 2, 0, true);
    i2->set(q, 3, -1, true);
    assert_int_equal(q[0], 0xC9);
    assert_true(i2->get(q, 0) == 1.0 && i2->get(q, 1) == -2.0);
    assert_true(i2->get(q, 2) == 0.0 && i2->get(q, 3) == -1.0);
    assert_true(u2->get(q, 3) == 3.0);
    u2->set(q, 0, 9, true);
    assert_int_equal(q[0], 0xCB);
    /* FP4 packing: low nibble first */
    uint8_t f4[1] = {0};
    const struct qrun_dtype_traits *e2m1 = qrun_dtype_traits_get(QRUN_DTYPE_FLOAT4E2M1);
    e2m1->set(f4, 0, 6.0, true);
    e2m1->set(f4, 1, -0.5, true);
    assert_int_equal(f4[0], 0x97);
    assert_true(e2m1->get(f4, 1) == -0.5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_complete),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_nbytes),
        cmocka_unit_test(test_small_float_decode_all),
        cmocka_unit_test(test_small_float_roundtrip),
        cmocka_unit_test(test_small_float_ties),
        cmocka_unit_test(test_small_float_overflow),
        cmocka_unit_test(test_small_float_setter_specials),
        cmocka_unit_test(test_float_round),
        cmocka_unit_test(test_fp8_known_vectors),
        cmocka_unit_test(test_e8m0),
        cmocka_unit_test(test_f16),
        cmocka_unit_test(test_bf16),
        cmocka_unit_test(test_int_set_rounding),
        cmocka_unit_test(test_i64_exact),
        cmocka_unit_test(test_packed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
