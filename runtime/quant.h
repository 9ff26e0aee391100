/* SPDX-License-Identifier: Apache-2.0 */
/* Quantization math: the one place for rounding, ranges, scale/zero-point layout and
 * requantization. */
#ifndef QRUN_RUNTIME_QUANT_H
#define QRUN_RUNTIME_QUANT_H

#include "qrun/qrun.h"
#include "runtime/error.h"
#include "runtime/tensor.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Bit-exact target: the ONNX reference implementation (onnx/reference/ops,
 * numpy semantics), which generated the backend test data. The exception is
 * the requantization of QLinearConv/QLinearMatMul: ONNX Runtime multiplies
 * in float32 and rounds before adding the zero point (qrun_requantize_ort),
 * the reference works in double and adds it first (qrun_requantize_float).
 * The backend test data has no case that tells them apart, while real ORT
 * QOperator models (mobilenetv2-12-int8) drift by several output steps
 * through 50+ layers unless every layer rounds as ORT does, so those kernels
 * use ORT's order.
 *
 * Rounding: every "round" below is round to nearest, ties to even (numpy
 * rint), done with nearbyint() under the default FE_TONEAREST mode, which
 * qrun never changes. The TFLite-style fixed-point path is the exception and
 * says so.
 */

/**
 * @brief Round to nearest, ties to even (2.5 -> 2, 3.5 -> 4, -2.5 -> -2), as
 * nearbyint/numpy rint, sign of zero included. NaN/Inf pass through.
 * Below 2^51 in magnitude adding and removing 1.5 * 2^52 rounds in the FPU
 * without a libm call (this is the hot path of requantization).
 */
static inline double qrun_round_half_even(double v) {
    if (!(fabs(v) < 0x1p51))
        return nearbyint(v);
    double r = (v + 0x1.8p52) - 0x1.8p52;
    return copysign(r, v);
}
static inline float qrun_round_half_even_f(float v) {
    return nearbyintf(v);
}

/**
 * @brief Integer range of a quantized integer type: u8 [0,255], i8 [-128,127],
 * u16 [0,65535], i16 [-32768,32767], u4 [0,15], i4 [-8,7], u2 [0,3],
 * i2 [-2,1], i32 [INT32_MIN, INT32_MAX]. false for every other type.
 */
bool qrun_quant_int_range(qrun_dtype t, int32_t *qmin, int32_t *qmax);

/** @brief FP8 (E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ) or FP4 (E2M1): a float QuantizeLinear target. */
bool qrun_quant_is_small_float(qrun_dtype t);

/**
 * @brief Integer QuantizeLinear of one value already divided by the scale
 * (q = x / scale, computed in the reference's compute type):
 * y = clamp(round_half_even(q) + zp, qmin, qmax), as the ONNX reference
 * (rint first, then the zero point, then clip). Out-of-range q saturates
 * (+-Inf included); NaN quantizes as 0, i.e. to the clamped zero point.
 */
static inline int32_t qrun_quantize_int(double q, int32_t zp, int32_t qmin, int32_t qmax) {
    double r = (isnan(q) ? 0.0 : qrun_round_half_even(q)) + (double)zp;
    if (r < (double)qmin)
        return qmin;
    if (r > (double)qmax)
        return qmax;
    return (int32_t)r;
}

/**
 * @brief x / scale rounded as the reference computes it: in float32 when the
 * compute type is FLOAT, in float32 then rounded to FLOAT16/BFLOAT16 (numpy
 * and ml_dtypes half arithmetic), in double for DOUBLE.
 */
double qrun_quant_div(double x, double scale, qrun_dtype compute);

/**
 * @brief Compute type of x / scale for QuantizeLinear (numpy promotion of the
 * two types): equal float types keep their type, float32 with a 16-bit float
 * gives float32, FLOAT16 with BFLOAT16 gives float32, an integer x (int32)
 * gives double. precision (QL-23+ attribute, 0 = unset) overrides.
 */
qrun_dtype qrun_quant_compute_type(qrun_dtype x, qrun_dtype scale, qrun_dtype precision);

/**
 * @brief DequantizeLinear of one value: (x - zp) * scale in float32 (the
 * reference converts x to float32 first, so an int32 x rounds to float32);
 * the caller rounds the result to the output type.
 */
static inline float qrun_dequantize(float x, float zp, float scale) {
    return (x - zp) * scale;
}

/* ---- scale / zero-point layout ------------------------------------------ */

typedef enum qrun_qparam_kind {
    QRUN_QPARAM_TENSOR = 0, /* one scale (rank 0, or one element) */
    QRUN_QPARAM_AXIS,       /* 1-D scale of length dims[axis] */
    QRUN_QPARAM_BLOCK,      /* scale of x's rank, dims[axis] = ceil(D_axis / block) */
} qrun_qparam_kind;

/* Where the scale and zero point of element i of x live (see qrun_qparam_index). */
typedef struct qrun_qparam_map {
    qrun_qparam_kind kind;
    int64_t axis_dim; /* D_axis */
    int64_t inner;    /* product of x's dims after axis */
    int64_t block;    /* BLOCK: block size */
    int64_t nblocks;  /* BLOCK: scale dim on axis */
} qrun_qparam_map;

/**
 * @brief Resolve the granularity of a QuantizeLinear/DequantizeLinear scale
 * for x of shape (rank, dims): one element = per tensor; otherwise with
 * block_size 0 a 1-D scale of length dims[axis] = per axis; with block_size
 * > 0 a scale of x's rank with dims[axis] = ceil(dims[axis] / block_size) and
 * the other dims equal = blocked. zp (may be NULL) must have the scale's
 * shape. axis in [-rank, rank-1]. QRUN_E_MODEL with a message otherwise.
 */
qrun_status qrun_qparam_map_init(qrun_qparam_map *m,
                                 int rank,
                                 const int64_t *dims,
                                 const struct qrun_tensor *scale,
                                 const struct qrun_tensor *zp,
                                 int64_t axis,
                                 int64_t block_size,
                                 qrun_err *err);

/**
 * @brief Values of quantization parameters, when known (data != NULL): every
 * element of a scale must be positive and finite, and an int32 zero point
 * (DequantizeLinear of int32, which has no zero point) must be 0. what names
 * the input in the message ("x_scale", ...). QRUN_E_MODEL otherwise.
 */
qrun_status
qrun_quant_check_scale(const struct qrun_tensor *scale, const char *what, qrun_err *err);
qrun_status
qrun_quant_check_zero_point(const struct qrun_tensor *zp, const char *what, qrun_err *err);

struct qrun_graph;
struct qrun_node;
/**
 * @brief Load-time check of the scale and zero-point inputs of node n that are
 * graph constants (initializers, Constant nodes), with the two checks above,
 * for QuantizeLinear, DequantizeLinear, QLinearConv, QLinearMatMul,
 * ConvInteger and MatMulInteger; other ops pass. Shape-dependent checks
 * (axis, blocks, per-axis lengths) happen in shape inference.
 */
qrun_status
qrun_quant_check_constants(const struct qrun_graph *g, const struct qrun_node *n, qrun_err *err);

/** @brief Index into the scale/zero-point tensors of element i (row-major) of x. */
static inline int64_t qrun_qparam_index(const qrun_qparam_map *m, int64_t i) {
    switch (m->kind) {
    case QRUN_QPARAM_AXIS:
        return (i / m->inner) % m->axis_dim;
    case QRUN_QPARAM_BLOCK: {
        int64_t in = i % m->inner, a = (i / m->inner) % m->axis_dim;
        int64_t outer = i / (m->inner * m->axis_dim);
        return (outer * m->nblocks + a / m->block) * m->inner + in;
    }
    case QRUN_QPARAM_TENSOR:
        break;
    }
    return 0;
}

/* ---- requantization of int32 accumulators (QLinearConv, QLinearMatMul) --- */

/**
 * @brief Combined multiplier s_x * s_w / s_y as the reference computes it:
 * two operations in the scales' type (float32; for FLOAT16/BFLOAT16 each
 * result is rounded to that type), widened to double afterwards.
 */
double qrun_requant_multiplier(double s_x, double s_w, double s_y, qrun_dtype scale_type);

/**
 * @brief y = clamp(round_half_even(acc * mult + zp), qmin, qmax) in double.
 * Reference order: the zero point is added before rounding (so ties round to
 * even of the final value; ONNX Runtime rounds first). NaN gives qmin.
 */
static inline int32_t
qrun_requantize_float(int32_t acc, double mult, int32_t zp, int32_t qmin, int32_t qmax) {
    double r = qrun_round_half_even((double)acc * mult + (double)zp);
    if (!(r >= (double)qmin))
        return qmin;
    if (r > (double)qmax)
        return qmax;
    return (int32_t)r;
}

/* ---- ONNX Runtime contrib QLinear ops (domain com.microsoft) ---------------- */

/*
 * The contrib ops have no ONNX reference; we follow ONNX Runtime's CPU
 * kernels (MLAS, x86): per-tensor parameters, float32 arithmetic, and the
 * rounding ORT uses (round half to even of the value already divided by the
 * output scale, then the zero point: qrun_quantize_int's order).
 */

/** @brief Per-tensor parameters of one 8-bit operand: value = (q - zp) * scale. */
typedef struct qrun_qparams8 {
    float scale;
    int32_t zp;
    int32_t qmin, qmax; /* range of the operand's type */
} qrun_qparams8;

/** @brief Fill p for type t (uint8 or int8; false otherwise). */
bool qrun_qparams8_init(qrun_qparams8 *p, qrun_dtype t, float scale, int32_t zp);

/** @brief quantize(v) = clamp(round_half_even(v / scale) + zp) with v / scale in float32. */
static inline int32_t qrun_qparams8_quantize(const qrun_qparams8 *p, float v) {
    return qrun_quantize_int((double)(v / p->scale), p->zp, p->qmin, p->qmax);
}

/** @brief dequantize(q) = (q - zp) * scale in float32. */
static inline float qrun_qparams8_dequantize(const qrun_qparams8 *p, int32_t q) {
    return (float)(q - p->zp) * p->scale;
}

/**
 * @brief 256-entry table of y = quantize_out(f(dequantize_in(x))) indexed by
 * the byte of x (an int8 x indexes with its two's-complement byte); entries
 * are the output's bytes. f = NULL is the identity (pure requantization).
 */
void qrun_quant_lut8(const qrun_qparams8 *in,
                     const qrun_qparams8 *out,
                     float (*f)(float x, const void *ctx),
                     const void *ctx,
                     uint8_t lut[256]);

/**
 * @brief QLinearAdd as MLAS computes it on x86 (AVX2): with ratios
 * ra = sa / sc and rb = sb / sc (float32),
 * c = clamp(round_half_even(fma(a, ra, fma(b, rb, bias)))) where
 * bias = zc - (ra * za + rb * zb); the zero point of C is added before
 * rounding here (unlike the other contrib ops).
 */
typedef struct qrun_qadd {
    float ra, rb, bias;
    int32_t qmin, qmax;
} qrun_qadd;

void qrun_qadd_init(qrun_qadd *q,
                    const qrun_qparams8 *a,
                    const qrun_qparams8 *b,
                    const qrun_qparams8 *c);

static inline int32_t qrun_qadd_apply(const qrun_qadd *q, int32_t a, int32_t b) {
    float v = fmaf((float)a, q->ra, fmaf((float)b, q->rb, q->bias));
    return qrun_quantize_int((double)v, 0, q->qmin, q->qmax);
}

/**
 * @brief Requantize an integer accumulator with a float32 multiplier, ORT
 * order: clamp(round_half_even(float(acc) * mult) + zp) (MlasRequantizeOutput;
 * QLinearConv, QLinearMatMul, QLinearMul, QLinearGlobalAveragePool, QGemm).
 * acc is int64 so that sums which would overflow int32 stay defined.
 */
static inline int32_t
qrun_requantize_ort(int64_t acc, float mult, int32_t zp, int32_t qmin, int32_t qmax) {
    return qrun_quantize_int((double)((float)acc * mult), zp, qmin, qmax);
}

/**
 * @brief The ONNX opset whose QuantizeLinear/DequantizeLinear semantics a
 * node follows: its own opset for ai.onnx; 19 for the com.microsoft ops
 * (float/float16 scales, 8/16/4-bit types, axis attribute; per-tensor
 * when axis is unset, which shape inference checks).
 */
struct qrun_node;
int64_t qrun_qdq_onnx_opset(const struct qrun_node *n);

/* ---- TFLite-style fixed point (not used by the ONNX ops; for integer-only backends) ---- */

/**
 * @brief Split a real multiplier m >= 0 into mult * 2^(shift - 31) with mult
 * in [2^30, 2^31 - 1] (Q0.31) and shift in [-31, 30]; mult is
 * round-half-away-from-zero of frexp's fraction * 2^31. m == 0, or m below
 * 2^-32 (the TFLite flush), gives mult = 0, shift = 0. false when m is
 * negative, not finite or >= 2^30.
 */
bool qrun_quantize_multiplier(double m, int32_t *mult, int *shift);

/**
 * @brief acc * mult * 2^(shift - 31), as TFLite MultiplyByQuantizedMultiplier:
 * saturating left shift by max(shift, 0), then the rounding doubling high
 * multiply (round to nearest; exact ties go up for a positive product and
 * toward zero for a negative one, TFLite's nudge), then a rounding right
 * shift by max(-shift, 0) (round half away from zero). Saturates to int32.
 */
int32_t qrun_requantize_fixed(int32_t acc, int32_t mult, int shift);

/* ---- one requantization in the session's mode (qrun_requant_mode) ---------- */

/*
 * A requantization multiplier ready to apply: the float32 multiplier
 * (QRUN_REQUANT_FLOAT, ONNX Runtime's order, see qrun_requantize_ort) or its
 * TFLite split (QRUN_REQUANT_FIXED). Kernels make one per output channel at
 * prepare time when the scales are constants, and apply it per element with
 * qrun_requantize, so every integer requantizing op (QLinearConv,
 * QLinearMatMul, QGemm, contrib QLinear* with one multiplier) honours the
 * session's mode through the same two calls.
 */
typedef struct qrun_requant {
    float mult;         /* s_x * s_w / s_y (qrun_requant_multiplier) as float32 */
    int32_t fixed_mult; /* fixed: Q0.31 multiplier */
    int fixed_shift;    /* fixed: power-of-two exponent */
    bool fixed;
} qrun_requant;

/**
 * @brief Prepare multiplier mult for the mode. QRUN_E_MODEL when fixed point
 * cannot represent it (negative, not finite, or >= 2^30).
 */
qrun_status qrun_requant_init(qrun_requant *r, double mult, qrun_requant_mode mode, qrun_err *err);

/**
 * @brief Requantize one int32 accumulator: qrun_requantize_ort in float
 * mode; in fixed mode clamp(qrun_requantize_fixed(acc) + zp, qmin, qmax),
 * the TFLite order (multiply, add the zero point, clamp).
 */
static inline int32_t
qrun_requantize(const qrun_requant *r, int32_t acc, int32_t zp, int32_t qmin, int32_t qmax) {
    if (!r->fixed)
        return qrun_requantize_ort(acc, r->mult, zp, qmin, qmax);
    int64_t v = (int64_t)qrun_requantize_fixed(acc, r->fixed_mult, r->fixed_shift) + zp;
    return v < qmin ? qmin : v > qmax ? qmax : (int32_t)v;
}

/**
 * @brief A row of 8-bit requantizations with one multiplier:
 * y[j] = qrun_requantize(r, acc[j] + bias, zp, qmin, qmax) for j < n, stored
 * as bytes (an int8 value's two's-complement byte). The int32 sum wraps, as
 * an accumulator that started at bias would. For 8-bit output ranges only.
 * Float mode with a finite multiplier runs a loop compilers vectorise (clamp
 * to [qmin - zp, qmax - zp] in float, then round): clamping to integer bounds
 * commutes with round-half-even, so the bytes are qrun_requantize's.
 */
void qrun_requantize_row(const qrun_requant *r,
                         const int32_t *acc,
                         int32_t bias,
                         int64_t n,
                         int32_t zp,
                         int32_t qmin,
                         int32_t qmax,
                         uint8_t *y);

/* ---- row kernels: the per-tensor hot loops, vectorisable, bit-identical to the scalar forms ----
 */

/**
 * @brief Clamp f to [lo, hi] (integer bounds, |bound| <= 2^22) and round half
 * to even: the clamp commutes with the rounding, and below 2^22 adding
 * 1.5 * 2^23 rounds in float32 (no libm call, so loops vectorise). NaN
 * becomes 0 first, as in qrun_quantize_int.
 */
static inline int32_t qrun_clamp_round_f(float f, float lo, float hi) {
    f = f == f ? f : 0.0f;
    f = f < lo ? lo : f;
    f = f > hi ? hi : f;
    return (int32_t)((f + 0x1.8p23f) - 0x1.8p23f);
}

/**
 * @brief qrun_requantize in float mode for an 8-bit output, with the bounds
 * relative to the zero point precomputed (lo = qmin - zp, hi = qmax - zp):
 * equal to qrun_requantize_ort(acc, mult, zp, qmin, qmax) for finite mult.
 */
static inline uint8_t
qrun_requantize_f8bit(int32_t acc, float mult, float lo, float hi, int32_t zp) {
    return (uint8_t)(qrun_clamp_round_f((float)acc * mult, lo, hi) + zp);
}

/**
 * @brief Per-tensor QuantizeLinear of float32 x to 8 bits with the division
 * in float32: y[i] = qrun_quantize_int(x[i] / scale, zp, qmin, qmax) as
 * bytes. NaN quotients give the zero point, as qrun_quantize_int.
 */
void qrun_quantize_row_f32(
    const float *x, int64_t n, float scale, int32_t zp, int32_t qmin, int32_t qmax, uint8_t *y);

/**
 * @brief Per-tensor DequantizeLinear of 8-bit x (int8 when is_signed) to
 * float32: y[i] = qrun_dequantize(x[i], zp, scale).
 */
void qrun_dequantize_row_8bit(
    const uint8_t *x, bool is_signed, int64_t n, int32_t zp, float scale, float *y);

/**
 * @brief QLinearAdd over contiguous rows: c[i] = qrun_qadd_apply(q, a[i], b[i])
 * as bytes, a and b 8-bit (int8 when is_signed).
 */
void qrun_qadd_row(
    const qrun_qadd *q, const uint8_t *a, const uint8_t *b, bool is_signed, int64_t n, uint8_t *c);

/**
 * @brief Rows of 16 accumulators requantized in float mode (the integer
 * GEMM's tile rows): y[r * ldy + j] = qrun_requantize_f8bit(acc[r * 16 + j] +
 * bias[r], mult[r], qmin - zp, qmax - zp, zp) for r < rows, j < 16, with the
 * int32 sum wrapping. Every mult[r] must be finite. AVX-512 machines run it
 * as one vector per row (conversion rounds to nearest even, qrun's mode).
 */
void qrun_requantize_rows16(const int32_t *acc,
                            int rows,
                            const float *mult,
                            const int32_t *bias,
                            int32_t zp,
                            int32_t qmin,
                            int32_t qmax,
                            uint8_t *y,
                            int64_t ldy);

/* ---- post-training quantization: choosing and simulating parameters -------- */

/*
 * Quantizer of one tensor (or one channel) for PTQ: the format, a float32
 * scale and, for integer formats, a zero point (FP8 zero points are 0).
 * value = (q - zp) * scale, as DequantizeLinear.
 */
typedef struct qrun_ptq_qparams {
    qrun_dtype fmt;
    float scale;
    int32_t zp;
} qrun_ptq_qparams;

/** @brief Formats PTQ produces: int8, uint8 and the FP8 formats (E3M4 included). */
bool qrun_ptq_format_ok(qrun_dtype t);

/**
 * @brief Parameters covering the clipping range [lo, hi] (widened to hold 0,
 * so that zero is exactly representable).
 * - Integer, asymmetric: scale = (hi - lo) / (qmax - qmin), zp = round(qmin - lo / scale).
 * - Integer, symmetric: scale = max(|lo|, |hi|) / qmax_sym, zp = 0 for int8
 *   (qmax_sym 127, the -128 code unused) and 128 for uint8 (qmax_sym 127).
 * - FP8 (always symmetric): scale = max(|lo|, |hi|) / max_finite.
 * pow2 rounds the scale up to a power of two (2^ceil(log2 s)): the range still fits,
 * so nothing saturates that would not with the float scale. An empty range
 * (lo == hi == 0) gives scale 1.
 */
qrun_ptq_qparams
qrun_ptq_choose_qparams(qrun_dtype fmt, double lo, double hi, bool symmetric, bool pow2);

/**
 * @brief Quantize then dequantize x with p, exactly as QuantizeLinear (x / scale in
 * float32, round half to even, saturate) followed by DequantizeLinear.
 */
double qrun_ptq_fake_quant(const qrun_ptq_qparams *p, double x);

/** @brief The quantized code of x (integer value, or the FP8 value before scaling back). */
double qrun_ptq_quantize_value(const qrun_ptq_qparams *p, double x);

#endif
