/* SPDX-License-Identifier: Apache-2.0 */
/* The dtype traits table and the exact codecs of every small float and packed integer format. */
#include "runtime/dtype.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

_Static_assert(sizeof(float) == 4, "float must be IEEE binary32");
_Static_assert(sizeof(double) == 8, "double must be IEEE binary64");
_Static_assert(sizeof(uint16_t) == 2, "fp16/bf16 storage is 2 bytes");
_Static_assert(QRUN_DTYPE_COUNT == 28, "new dtype: extend k_dtype_traits and the name tables");

/* ---- bit casts ---------------------------------------------------------- */

static uint32_t dtype_f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float dtype_bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* ---- generic small-float format ---------------------------------------- */

/*
 * Every binary float format we encode (FP16, BF16, the FP8 family, FP4,
 * E3M4) is sign-magnitude with `ebits` exponent bits, `mbits` mantissa bits
 * and subnormals at exponent field 0. They differ only in where the
 * specials live, which `nan_kind` and `max_code` describe. Encoding works on
 * the double value so a double input is rounded once (double -> float ->
 * fp8 could round twice).
 */
enum dtype_nan_kind {
    DTYPE_NAN_IEEE, /* exponent all ones: Inf when mantissa 0, else NaN */
    DTYPE_NAN_FN,   /* only S.1..1.1..1 is NaN, no Inf (E4M3FN) */
    DTYPE_NAN_UZ,   /* only 1.0..0.0..0 (the -0 code) is NaN, no Inf, no -0 */
    DTYPE_NAN_NONE, /* every code is finite (FP4, E3M4) */
};

typedef struct dtype_sf_format {
    int ebits;
    int mbits;
    int bias;
    enum dtype_nan_kind nan_kind;
    uint32_t max_code; /* magnitude code of max_finite */
    double max_value;  /* max_finite */
    uint32_t nan_none; /* DTYPE_NAN_NONE: the code NaN encodes to */
} dtype_sf_format;

static const dtype_sf_format k_fmt_f16 = {.ebits = 5,
                                          .mbits = 10,
                                          .bias = 15,
                                          .nan_kind = DTYPE_NAN_IEEE,
                                          .max_code = 0x7BFF,
                                          .max_value = 65504.0};
static const dtype_sf_format k_fmt_bf16 = {.ebits = 8,
                                           .mbits = 7,
                                           .bias = 127,
                                           .nan_kind = DTYPE_NAN_IEEE,
                                           .max_code = 0x7F7F,
                                           .max_value = 0x1.FEp127};
static const dtype_sf_format k_fmt_e4m3fn = {.ebits = 4,
                                             .mbits = 3,
                                             .bias = 7,
                                             .nan_kind = DTYPE_NAN_FN,
                                             .max_code = 0x7E,
                                             .max_value = 448.0};
static const dtype_sf_format k_fmt_e4m3fnuz = {.ebits = 4,
                                               .mbits = 3,
                                               .bias = 8,
                                               .nan_kind = DTYPE_NAN_UZ,
                                               .max_code = 0x7F,
                                               .max_value = 240.0};
static const dtype_sf_format k_fmt_e5m2 = {.ebits = 5,
                                           .mbits = 2,
                                           .bias = 15,
                                           .nan_kind = DTYPE_NAN_IEEE,
                                           .max_code = 0x7B,
                                           .max_value = 57344.0};
static const dtype_sf_format k_fmt_e5m2fnuz = {.ebits = 5,
                                               .mbits = 2,
                                               .bias = 16,
                                               .nan_kind = DTYPE_NAN_UZ,
                                               .max_code = 0x7F,
                                               .max_value = 57344.0};
static const dtype_sf_format k_fmt_e2m1 = {.ebits = 2,
                                           .mbits = 1,
                                           .bias = 1,
                                           .nan_kind = DTYPE_NAN_NONE,
                                           .max_code = 0x7,
                                           .max_value = 6.0,
                                           .nan_none = 0x7};
static const dtype_sf_format k_fmt_e3m4 = {.ebits = 3,
                                           .mbits = 4,
                                           .bias = 3,
                                           .nan_kind = DTYPE_NAN_NONE,
                                           .max_code = 0x7F,
                                           .max_value = 31.0,
                                           .nan_none = 0x00};

static uint32_t dtype_sf_sign_bit(const dtype_sf_format *f) {
    return 1u << (f->ebits + f->mbits);
}

static double dtype_sf_decode(const dtype_sf_format *f, uint32_t code) {
    uint32_t sign = code & dtype_sf_sign_bit(f);
    uint32_t mag = code & (dtype_sf_sign_bit(f) - 1u);
    uint32_t efield = mag >> f->mbits;
    uint32_t mant = mag & ((1u << f->mbits) - 1u);
    uint32_t emax_field = (1u << f->ebits) - 1u;

    if (f->nan_kind == DTYPE_NAN_UZ && sign && mag == 0)
        return NAN;
    if (f->nan_kind == DTYPE_NAN_FN && mag == (dtype_sf_sign_bit(f) - 1u))
        return sign ? -NAN : NAN;
    if (f->nan_kind == DTYPE_NAN_IEEE && efield == emax_field) {
        if (mant != 0)
            return sign ? -NAN : NAN;
        return sign ? -INFINITY : INFINITY;
    }
    double v;
    if (efield == 0)
        v = ldexp((double)mant, 1 - f->bias - f->mbits);
    else
        v = ldexp((double)(mant | (1u << f->mbits)), (int)efield - f->bias - f->mbits);
    return sign ? -v : v;
}

/*
 * Round a finite a >= 0 to the format's grid (RNE, exponent range unbounded
 * above) and return its magnitude code, or UINT32_MAX when the rounded value
 * exceeds max_finite. The code of n * 2^(ex - mbits) with ex the clamped
 * exponent is ((ex - emin) << mbits) + n, which also covers subnormals and
 * the carry of n == 2^(mbits+1) into the next exponent.
 */
static uint32_t dtype_sf_round_mag(const dtype_sf_format *f, double a) {
    int emin = 1 - f->bias;
    if (a >= 2.0 * f->max_value)
        return UINT32_MAX;
    int ex = emin;
    if (a > 0) {
        int e;
        (void)frexp(a, &e);
        ex = e - 1 > emin ? e - 1 : emin;
    }
    /* Exact: a scaled by a power of two stays a normal double here. */
    double n = nearbyint(ldexp(a, f->mbits - ex));
    uint32_t code = ((uint32_t)(ex - emin) << f->mbits) + (uint32_t)n;
    return code > f->max_code ? UINT32_MAX : code;
}

static uint32_t dtype_sf_inf_code(const dtype_sf_format *f, uint32_t sign) {
    return sign | (((1u << f->ebits) - 1u) << f->mbits);
}

static uint32_t dtype_sf_nan_code(const dtype_sf_format *f, uint32_t sign) {
    uint32_t sb = dtype_sf_sign_bit(f);
    switch (f->nan_kind) {
    case DTYPE_NAN_IEEE: /* the canonical quiet NaN: top mantissa bit set */
        return dtype_sf_inf_code(f, sign) | (1u << (f->mbits - 1));
    case DTYPE_NAN_FN:
        return sign | (sb - 1u);
    case DTYPE_NAN_UZ:
        return sb;
    case DTYPE_NAN_NONE:
        break;
    }
    /*
     * No NaN code. FP4 follows the ONNX reference (NaN -> +6, code 0x7);
     * E3M4 is ours and NaN encodes as +0 so a NaN never looks like a large value.
     */
    return f->nan_none;
}

/*
 * Overflow (|x| rounds beyond max_finite, or x is +-Inf). Formats with an Inf
 * code produce it unless saturating; formats without Inf produce NaN unless
 * saturating, except that FNUZ Inf gives NaN even when saturating before
 * Cast-24 (fnuz_inf_to_max false). Formats without NaN always saturate.
 */
static uint32_t dtype_sf_overflow(
    const dtype_sf_format *f, uint32_t sign, bool is_inf, bool saturate, bool fnuz_inf_to_max) {
    uint32_t max = sign | f->max_code;
    switch (f->nan_kind) {
    case DTYPE_NAN_IEEE:
        return saturate ? max : dtype_sf_inf_code(f, sign);
    case DTYPE_NAN_FN:
        return saturate ? max : dtype_sf_nan_code(f, sign);
    case DTYPE_NAN_UZ:
        if (!saturate || (is_inf && !fnuz_inf_to_max))
            return dtype_sf_nan_code(f, sign);
        return max;
    case DTYPE_NAN_NONE:
        break;
    }
    return max;
}

static uint32_t
dtype_sf_encode(const dtype_sf_format *f, double v, bool saturate, bool fnuz_inf_to_max) {
    uint32_t sign = signbit(v) ? dtype_sf_sign_bit(f) : 0;
    if (isnan(v))
        return dtype_sf_nan_code(f, sign);
    if (isinf(v))
        return dtype_sf_overflow(f, sign, true, saturate, fnuz_inf_to_max);
    uint32_t mag = dtype_sf_round_mag(f, fabs(v));
    if (mag == UINT32_MAX)
        return dtype_sf_overflow(f, sign, false, saturate, fnuz_inf_to_max);
    if (mag == 0 && f->nan_kind == DTYPE_NAN_UZ)
        return 0; /* no -0 in FNUZ: its code is NaN */
    return sign | mag;
}

/* ---- FP16 / BF16 from float32 bits (fast exact paths) -------------------- */

float qrun_f16_to_f32(uint16_t h) {
    return (float)dtype_sf_decode(&k_fmt_f16, h);
}

uint16_t qrun_f32_to_f16(float f) {
    uint32_t x = dtype_f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7FFFFFFFu;
    if (ax > 0x7F800000u) /* NaN: keep the top payload bits, force quiet */
        return (uint16_t)(sign | 0x7E00u | ((ax >> 13) & 0x3FFu));
    if (ax >= 0x477FF000u) /* rounds to >= 65520: Inf (and Inf itself) */
        return (uint16_t)(sign | 0x7C00u);
    if (ax < 0x38800000u) {   /* below 2^-14: fp16 subnormal or zero */
        if (ax < 0x33000000u) /* below 2^-25: rounds to 0 (2^-25 ties to even 0) */
            return (uint16_t)sign;
        uint32_t e = ax >> 23;
        uint32_t m = (ax & 0x7FFFFFu) | 0x800000u;
        /* value = m * 2^(e-150); in units of the subnormal quantum 2^-24 that is m >> (126-e) */
        uint32_t shift = 126u - e;
        uint32_t q = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1u);
        uint32_t half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (q & 1u)))
            q++;
        return (uint16_t)(sign | q);
    }
    uint32_t r = ax - 0x38000000u; /* rebias exponent 127 -> 15 (shifted by 13) */
    uint32_t q = r >> 13;
    uint32_t rem = r & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (q & 1u)))
        q++;
    return (uint16_t)(sign | q);
}

float qrun_bf16_to_f32(uint16_t b) {
    return dtype_bits_f32((uint32_t)b << 16);
}

uint16_t qrun_f32_to_bf16(float f) {
    uint32_t x = dtype_f32_bits(f);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) /* NaN: keep sign and payload top, force quiet */
        return (uint16_t)((x >> 16) | 0x0040u);
    /* RNE on the low 16 bits; overflow carries into the exponent and gives Inf. */
    uint32_t lsb = (x >> 16) & 1u;
    return (uint16_t)((x + 0x7FFFu + lsb) >> 16);
}

float qrun_float_round(qrun_dtype t, double v) {
    if (t == QRUN_DTYPE_FLOAT16)
        return (float)dtype_sf_decode(&k_fmt_f16, dtype_sf_encode(&k_fmt_f16, v, false, false));
    if (t == QRUN_DTYPE_BFLOAT16)
        return (float)dtype_sf_decode(&k_fmt_bf16, dtype_sf_encode(&k_fmt_bf16, v, false, false));
    return (float)v;
}

/* ---- FP8 / FP4 / E3M4 public codecs ------------------------------------ */

static const dtype_sf_format *dtype_small_format(qrun_dtype t) {
    switch (t) {
    case QRUN_DTYPE_FLOAT8E4M3FN:
        return &k_fmt_e4m3fn;
    case QRUN_DTYPE_FLOAT8E4M3FNUZ:
        return &k_fmt_e4m3fnuz;
    case QRUN_DTYPE_FLOAT8E5M2:
        return &k_fmt_e5m2;
    case QRUN_DTYPE_FLOAT8E5M2FNUZ:
        return &k_fmt_e5m2fnuz;
    case QRUN_DTYPE_FLOAT4E2M1:
        return &k_fmt_e2m1;
    case QRUN_DTYPE_FLOAT8E3M4:
        return &k_fmt_e3m4;
    default:
        return NULL;
    }
}

/* E8M0: the value is 2^(code-127); 0xFF is NaN; no sign, no zero. */
static double dtype_e8m0_decode(uint8_t code) {
    return code == 0xFF ? NAN : ldexp(1.0, (int)code - 127);
}

/*
 * Nearest power of two in linear distance; a tie (|v| = 1.5 * 2^e) goes to
 * the even code. The sign is ignored (the format has none); zero and values
 * below 2^-127 give code 0, the smallest value. Beyond 2^127 saturates to
 * 0xFE, or NaN without saturate.
 */
static uint8_t dtype_e8m0_encode(double v, bool saturate) {
    if (isnan(v))
        return 0xFF;
    double a = fabs(v);
    if (isinf(a))
        return saturate ? 0xFE : 0xFF;
    if (a <= 0x1p-127)
        return 0;
    int e;
    double fr = frexp(a, &e); /* a = fr * 2^e, fr in [0.5, 1) */
    int code = e - 1 + 127;
    if (fr > 0.75 || (fr == 0.75 && (code & 1)))
        code++;
    if (code > 0xFE)
        return saturate ? 0xFE : 0xFF;
    return (uint8_t)code;
}

float qrun_fp8_decode(qrun_dtype t, uint8_t code) {
    if (t == QRUN_DTYPE_FLOAT8E8M0)
        return (float)dtype_e8m0_decode(code);
    const dtype_sf_format *f = dtype_small_format(t);
    if (!f)
        return NAN;
    if (t == QRUN_DTYPE_FLOAT4E2M1)
        code &= 0xF;
    return (float)dtype_sf_decode(f, code);
}

uint8_t qrun_fp8_encode(qrun_dtype t, float v, bool saturate, bool fnuz_inf_to_max) {
    if (t == QRUN_DTYPE_FLOAT8E8M0)
        return dtype_e8m0_encode(v, saturate);
    const dtype_sf_format *f = dtype_small_format(t);
    if (!f)
        return 0;
    return (uint8_t)dtype_sf_encode(f, v, saturate, fnuz_inf_to_max);
}

/* ---- element accessors --------------------------------------------------- */

/*
 * Integer set: round half to even, saturate, NaN -> 0. The bounds are
 * exact doubles (powers of two minus one round up to 2^k for 64-bit, hence
 * the >= comparisons against the first out-of-range power of two).
 */
static double dtype_round_clamp(double v, double lo, double hi) {
    if (isnan(v))
        return 0.0;
    v = nearbyint(v);
    if (v < lo)
        return lo;
    if (v > hi)
        return hi;
    return v;
}

#define DTYPE_INT_ACCESSORS(suffix, ctype, lo, hi)                                                 \
    static double dtype_get_##suffix(const void *data, size_t i) {                                 \
        return (double)((const ctype *)data)[i];                                                   \
    }                                                                                              \
    static void dtype_set_##suffix(void *data, size_t i, double v, bool saturate) {                \
        (void)saturate;                                                                            \
        ((ctype *)data)[i] = (ctype)dtype_round_clamp(v, lo, hi);                                  \
    }

DTYPE_INT_ACCESSORS(u8, uint8_t, 0.0, 255.0)
DTYPE_INT_ACCESSORS(i8, int8_t, -128.0, 127.0)
DTYPE_INT_ACCESSORS(u16, uint16_t, 0.0, 65535.0)
DTYPE_INT_ACCESSORS(i16, int16_t, -32768.0, 32767.0)
DTYPE_INT_ACCESSORS(i32, int32_t, -2147483648.0, 2147483647.0)
DTYPE_INT_ACCESSORS(u32, uint32_t, 0.0, 4294967295.0)

static double dtype_get_i64(const void *data, size_t i) {
    return (double)((const int64_t *)data)[i];
}

static int64_t dtype_f64_to_i64(double v) {
    if (isnan(v))
        return 0;
    v = nearbyint(v);
    if (v >= 0x1p63)
        return INT64_MAX;
    if (v < -0x1p63)
        return INT64_MIN;
    return (int64_t)v;
}

static uint64_t dtype_f64_to_u64(double v) {
    if (isnan(v))
        return 0;
    v = nearbyint(v);
    if (v >= 0x1p64)
        return UINT64_MAX;
    if (v <= 0)
        return 0;
    return (uint64_t)v;
}

static void dtype_set_i64(void *data, size_t i, double v, bool saturate) {
    (void)saturate;
    ((int64_t *)data)[i] = dtype_f64_to_i64(v);
}

static double dtype_get_u64(const void *data, size_t i) {
    return (double)((const uint64_t *)data)[i];
}

static void dtype_set_u64(void *data, size_t i, double v, bool saturate) {
    (void)saturate;
    ((uint64_t *)data)[i] = dtype_f64_to_u64(v);
}

static double dtype_get_bool(const void *data, size_t i) {
    return ((const uint8_t *)data)[i] ? 1.0 : 0.0;
}

/* numpy: bool(nan) is True, so only an exact zero is false. */
static void dtype_set_bool(void *data, size_t i, double v, bool saturate) {
    (void)saturate;
    ((uint8_t *)data)[i] = v != 0.0;
}

static double dtype_get_f32(const void *data, size_t i) {
    return (double)((const float *)data)[i];
}

/* IEEE float32 and float64 never saturate: overflow is Inf, as in every op. */
static void dtype_set_f32(void *data, size_t i, double v, bool saturate) {
    (void)saturate;
    ((float *)data)[i] = (float)v;
}

static double dtype_get_f64(const void *data, size_t i) {
    return ((const double *)data)[i];
}

static void dtype_set_f64(void *data, size_t i, double v, bool saturate) {
    (void)saturate;
    ((double *)data)[i] = v;
}

static double dtype_get_f16(const void *data, size_t i) {
    return dtype_sf_decode(&k_fmt_f16, ((const uint16_t *)data)[i]);
}

/* ONNX `saturate` concerns FP8 only: FP16/BF16 overflow to Inf like IEEE. */
static void dtype_set_f16(void *data, size_t i, double v, bool saturate) {
    (void)saturate;
    ((uint16_t *)data)[i] = (uint16_t)dtype_sf_encode(&k_fmt_f16, v, false, false);
}

static double dtype_get_bf16(const void *data, size_t i) {
    return (double)qrun_bf16_to_f32(((const uint16_t *)data)[i]);
}

static void dtype_set_bf16(void *data, size_t i, double v, bool saturate) {
    (void)saturate;
    ((uint16_t *)data)[i] = (uint16_t)dtype_sf_encode(&k_fmt_bf16, v, false, false);
}

/*
 * FP8 set: the Cast-24+ FNUZ rule (Inf saturates to max). Kernels that need
 * the Cast-19..23 rule call qrun_fp8_encode directly.
 */
#define DTYPE_FP8_ACCESSORS(suffix, fmt)                                                           \
    static double dtype_get_##suffix(const void *data, size_t i) {                                 \
        return dtype_sf_decode(&fmt, ((const uint8_t *)data)[i]);                                  \
    }                                                                                              \
    static void dtype_set_##suffix(void *data, size_t i, double v, bool saturate) {                \
        ((uint8_t *)data)[i] = (uint8_t)dtype_sf_encode(&fmt, v, saturate, true);                  \
    }

DTYPE_FP8_ACCESSORS(e4m3fn, k_fmt_e4m3fn)
DTYPE_FP8_ACCESSORS(e4m3fnuz, k_fmt_e4m3fnuz)
DTYPE_FP8_ACCESSORS(e5m2, k_fmt_e5m2)
DTYPE_FP8_ACCESSORS(e5m2fnuz, k_fmt_e5m2fnuz)
DTYPE_FP8_ACCESSORS(e3m4, k_fmt_e3m4)

static double dtype_get_e8m0(const void *data, size_t i) {
    return dtype_e8m0_decode(((const uint8_t *)data)[i]);
}

static void dtype_set_e8m0(void *data, size_t i, double v, bool saturate) {
    ((uint8_t *)data)[i] = dtype_e8m0_encode(v, saturate);
}

/* ---- sub-byte packed types: element i at bits (i*bits) % 8 of byte i*bits/8 ---- */

static unsigned dtype_get_field(const void *data, size_t i, unsigned bits) {
    size_t per_byte = 8u / bits;
    unsigned shift = (unsigned)(i % per_byte) * bits;
    return (((const uint8_t *)data)[i / per_byte] >> shift) & ((1u << bits) - 1u);
}

/* Read-modify-write of one byte: callers writing in parallel must split on byte boundaries. */
static void dtype_set_field(void *data, size_t i, unsigned bits, unsigned val) {
    size_t per_byte = 8u / bits;
    unsigned shift = (unsigned)(i % per_byte) * bits;
    unsigned mask = ((1u << bits) - 1u) << shift;
    uint8_t *p = (uint8_t *)data + i / per_byte;
    *p = (uint8_t)((*p & ~mask) | ((val << shift) & mask));
}

static int dtype_sign_extend(unsigned field, unsigned bits) {
    unsigned sb = 1u << (bits - 1u);
    return (int)(field ^ sb) - (int)sb;
}

static double dtype_get_u4(const void *data, size_t i) {
    return (double)dtype_get_field(data, i, 4);
}

static void dtype_set_u4(void *data, size_t i, double v, bool saturate) {
    (void)saturate;
    dtype_set_field(data, i, 4, (unsigned)dtype_round_clamp(v, 0.0, 15.0));
}

static double dtype_get_i4(const void *data, size_t i) {
    return (double)dtype_sign_extend(dtype_get_field(data, i, 4), 4);
}

static void dtype_set_i4(void *data, size_t i, double v, bool saturate) {
    (void)saturate;
    dtype_set_field(data, i, 4, (unsigned)(int)dtype_round_clamp(v, -8.0, 7.0) & 0xFu);
}

static double dtype_get_u2(const void *data, size_t i) {
    return (double)dtype_get_field(data, i, 2);
}

static void dtype_set_u2(void *data, size_t i, double v, bool saturate) {
    (void)saturate;
    dtype_set_field(data, i, 2, (unsigned)dtype_round_clamp(v, 0.0, 3.0));
}

static double dtype_get_i2(const void *data, size_t i) {
    return (double)dtype_sign_extend(dtype_get_field(data, i, 2), 2);
}

static void dtype_set_i2(void *data, size_t i, double v, bool saturate) {
    (void)saturate;
    dtype_set_field(data, i, 2, (unsigned)(int)dtype_round_clamp(v, -2.0, 1.0) & 0x3u);
}

static double dtype_get_e2m1(const void *data, size_t i) {
    return dtype_sf_decode(&k_fmt_e2m1, dtype_get_field(data, i, 4));
}

/* FP4 has neither Inf nor NaN: it always saturates (ONNX: saturate n/a). */
static void dtype_set_e2m1(void *data, size_t i, double v, bool saturate) {
    (void)saturate;
    dtype_set_field(data, i, 4, dtype_sf_encode(&k_fmt_e2m1, v, true, true));
}

/* ---- the table ---------------------------------------------------------- */

#define DTYPE_INT(n, on, code, b, sgn, lo, hi, sfx)                                                \
    {                                                                                              \
        .name = n, .onnx_name = on, .onnx_type = code, .bits = b, .is_signed = sgn,                \
        .is_integer = true, .min_value = lo, .max_value = hi, .get = dtype_get_##sfx,              \
        .set = dtype_set_##sfx                                                                     \
    }

#define DTYPE_FLT(n, on, code, b, inf, nan, mx, sfx)                                               \
    {                                                                                              \
        .name = n, .onnx_name = on, .onnx_type = code, .bits = b, .is_float = true,                \
        .is_signed = true, .has_inf = inf, .has_nan = nan, .min_value = -(mx), .max_value = mx,    \
        .get = dtype_get_##sfx, .set = dtype_set_##sfx                                             \
    }

static const struct qrun_dtype_traits k_dtype_traits[QRUN_DTYPE_COUNT] = {
    [QRUN_DTYPE_UNDEFINED] = {.name = "undefined", .onnx_name = "UNDEFINED", .onnx_type = 0},
    [QRUN_DTYPE_FLOAT] = DTYPE_FLT("float32", "FLOAT", 1, 32, true, true, (double)FLT_MAX, f32),
    [QRUN_DTYPE_UINT8] = DTYPE_INT("uint8", "UINT8", 2, 8, false, 0.0, 255.0, u8),
    [QRUN_DTYPE_INT8] = DTYPE_INT("int8", "INT8", 3, 8, true, -128.0, 127.0, i8),
    [QRUN_DTYPE_UINT16] = DTYPE_INT("uint16", "UINT16", 4, 16, false, 0.0, 65535.0, u16),
    [QRUN_DTYPE_INT16] = DTYPE_INT("int16", "INT16", 5, 16, true, -32768.0, 32767.0, i16),
    [QRUN_DTYPE_INT32] = DTYPE_INT("int32", "INT32", 6, 32, true, -2147483648.0, 2147483647.0, i32),
    [QRUN_DTYPE_INT64] = DTYPE_INT("int64", "INT64", 7, 64, true, -0x1p63, 0x1p63, i64),
    [QRUN_DTYPE_STRING] = {.name = "string", .onnx_name = "STRING", .onnx_type = 8},
    [QRUN_DTYPE_BOOL] = {.name = "bool",
                         .onnx_name = "BOOL",
                         .onnx_type = 9,
                         .bits = 8,
                         .min_value = 0.0,
                         .max_value = 1.0,
                         .get = dtype_get_bool,
                         .set = dtype_set_bool},
    [QRUN_DTYPE_FLOAT16] = DTYPE_FLT("float16", "FLOAT16", 10, 16, true, true, 65504.0, f16),
    [QRUN_DTYPE_DOUBLE] = DTYPE_FLT("float64", "DOUBLE", 11, 64, true, true, DBL_MAX, f64),
    [QRUN_DTYPE_UINT32] = DTYPE_INT("uint32", "UINT32", 12, 32, false, 0.0, 4294967295.0, u32),
    [QRUN_DTYPE_UINT64] = DTYPE_INT("uint64", "UINT64", 13, 64, false, 0.0, 0x1p64, u64),
    [QRUN_DTYPE_COMPLEX64] = {.name = "complex64",
                              .onnx_name = "COMPLEX64",
                              .onnx_type = 14,
                              .bits = 64,
                              .is_signed = true},
    [QRUN_DTYPE_COMPLEX128] = {.name = "complex128",
                               .onnx_name = "COMPLEX128",
                               .onnx_type = 15,
                               .bits = 128,
                               .is_signed = true},
    [QRUN_DTYPE_BFLOAT16] = DTYPE_FLT("bfloat16", "BFLOAT16", 16, 16, true, true, 0x1.FEp127, bf16),
    [QRUN_DTYPE_FLOAT8E4M3FN] =
        DTYPE_FLT("float8e4m3fn", "FLOAT8E4M3FN", 17, 8, false, true, 448.0, e4m3fn),
    [QRUN_DTYPE_FLOAT8E4M3FNUZ] =
        DTYPE_FLT("float8e4m3fnuz", "FLOAT8E4M3FNUZ", 18, 8, false, true, 240.0, e4m3fnuz),
    [QRUN_DTYPE_FLOAT8E5M2] =
        DTYPE_FLT("float8e5m2", "FLOAT8E5M2", 19, 8, true, true, 57344.0, e5m2),
    [QRUN_DTYPE_FLOAT8E5M2FNUZ] =
        DTYPE_FLT("float8e5m2fnuz", "FLOAT8E5M2FNUZ", 20, 8, false, true, 57344.0, e5m2fnuz),
    [QRUN_DTYPE_UINT4] = DTYPE_INT("uint4", "UINT4", 21, 4, false, 0.0, 15.0, u4),
    [QRUN_DTYPE_INT4] = DTYPE_INT("int4", "INT4", 22, 4, true, -8.0, 7.0, i4),
    [QRUN_DTYPE_FLOAT4E2M1] = DTYPE_FLT("float4e2m1", "FLOAT4E2M1", 23, 4, false, false, 6.0, e2m1),
    /* Unsigned, exponent only: min_value is the smallest positive value. */
    [QRUN_DTYPE_FLOAT8E8M0] = {.name = "float8e8m0",
                               .onnx_name = "FLOAT8E8M0",
                               .onnx_type = 24,
                               .bits = 8,
                               .is_float = true,
                               .has_nan = true,
                               .min_value = 0x1p-127,
                               .max_value = 0x1p127,
                               .get = dtype_get_e8m0,
                               .set = dtype_set_e8m0},
    [QRUN_DTYPE_UINT2] = DTYPE_INT("uint2", "UINT2", 25, 2, false, 0.0, 3.0, u2),
    [QRUN_DTYPE_INT2] = DTYPE_INT("int2", "INT2", 26, 2, true, -2.0, 1.0, i2),
    [QRUN_DTYPE_FLOAT8E3M4] = DTYPE_FLT("float8e3m4", NULL, 0, 8, false, false, 31.0, e3m4),
};

const struct qrun_dtype_traits *qrun_dtype_traits_get(qrun_dtype t) {
    if ((int)t < 0 || t >= QRUN_DTYPE_COUNT)
        return &k_dtype_traits[QRUN_DTYPE_UNDEFINED];
    return &k_dtype_traits[t];
}

QRUN_API const char *qrun_dtype_name(qrun_dtype t) {
    return qrun_dtype_traits_get(t)->name;
}

QRUN_API int qrun_dtype_bits(qrun_dtype t) {
    if (t == QRUN_DTYPE_STRING)
        return 0;
    return qrun_dtype_traits_get(t)->bits;
}

qrun_dtype qrun_dtype_from_onnx(int onnx_type) {
    for (int t = 1; t < QRUN_DTYPE_COUNT; t++) {
        if (k_dtype_traits[t].onnx_type != 0 && k_dtype_traits[t].onnx_type == onnx_type)
            return (qrun_dtype)t;
    }
    return QRUN_DTYPE_UNDEFINED;
}

static const struct {
    const char *alias;
    qrun_dtype t;
} k_dtype_aliases[] = {
    {"float", QRUN_DTYPE_FLOAT},
    {"fp32", QRUN_DTYPE_FLOAT},
    {"f32", QRUN_DTYPE_FLOAT},
    {"fp16", QRUN_DTYPE_FLOAT16},
    {"half", QRUN_DTYPE_FLOAT16},
    {"bf16", QRUN_DTYPE_BFLOAT16},
    {"fp64", QRUN_DTYPE_DOUBLE},
    {"fp8e4m3", QRUN_DTYPE_FLOAT8E4M3FN},
    {"fp8e4m3fn", QRUN_DTYPE_FLOAT8E4M3FN},
    {"fp8e4m3fnuz", QRUN_DTYPE_FLOAT8E4M3FNUZ},
    {"fp8e5m2", QRUN_DTYPE_FLOAT8E5M2},
    {"fp8e5m2fnuz", QRUN_DTYPE_FLOAT8E5M2FNUZ},
    {"fp8e3m4", QRUN_DTYPE_FLOAT8E3M4},
    {"fp8e8m0", QRUN_DTYPE_FLOAT8E8M0},
    {"fp4", QRUN_DTYPE_FLOAT4E2M1},
};

QRUN_API qrun_dtype qrun_dtype_from_name(const char *name) {
    if (!name || !*name)
        return QRUN_DTYPE_UNDEFINED;
    for (int t = 1; t < QRUN_DTYPE_COUNT; t++) {
        const struct qrun_dtype_traits *tr = &k_dtype_traits[t];
        if (strcasecmp(name, tr->name) == 0)
            return (qrun_dtype)t;
        if (tr->onnx_name && strcasecmp(name, tr->onnx_name) == 0)
            return (qrun_dtype)t;
    }
    for (size_t k = 0; k < sizeof k_dtype_aliases / sizeof k_dtype_aliases[0]; k++) {
        if (strcasecmp(name, k_dtype_aliases[k].alias) == 0)
            return k_dtype_aliases[k].t;
    }
    return QRUN_DTYPE_UNDEFINED;
}

/* Sizes are defined only for fixed-width dtypes: UNDEFINED and STRING give false. */
bool qrun_dtype_nbytes(qrun_dtype t, int64_t n, size_t *out) {
    int bits = qrun_dtype_bits(t);
    if (bits <= 0 || n < 0)
        return false;
    uint64_t un = (uint64_t)n;
    if (bits < 8) {
        uint64_t per_byte = 8u / (unsigned)bits;
        uint64_t bytes = un / per_byte + (un % per_byte != 0);
        if (bytes > SIZE_MAX)
            return false;
        *out = (size_t)bytes;
        return true;
    }
    uint64_t elem = (uint64_t)bits / 8u;
    if (un > SIZE_MAX / elem)
        return false;
    *out = (size_t)(un * elem);
    return true;
}

int64_t qrun_dtype_get_i64(qrun_dtype t, const void *data, size_t i) {
    if (t == QRUN_DTYPE_INT64)
        return ((const int64_t *)data)[i];
    if (t == QRUN_DTYPE_UINT64) {
        uint64_t u = ((const uint64_t *)data)[i];
        return u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)u;
    }
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(t);
    if (!tr->get)
        return 0;
    return dtype_f64_to_i64(tr->get(data, i));
}

void qrun_dtype_set_i64(qrun_dtype t, void *data, size_t i, int64_t v) {
    if (t == QRUN_DTYPE_INT64) {
        ((int64_t *)data)[i] = v;
        return;
    }
    if (t == QRUN_DTYPE_UINT64) {
        ((uint64_t *)data)[i] = v < 0 ? 0 : (uint64_t)v;
        return;
    }
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(t);
    if (tr->set)
        tr->set(data, i, (double)v, true);
}
