/* SPDX-License-Identifier: Apache-2.0 */
/* The dtype traits table: the only place that knows each format's bits. */
#ifndef QRUN_RUNTIME_DTYPE_H
#define QRUN_RUNTIME_DTYPE_H

#include "qrun/qrun.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Contract: element accessors address element i of a packed buffer (for
 * 4- and 2-bit types, element i lives in byte i*bits/8, low bits first, as
 * ONNX raw_data). from_f64 rounds to nearest, ties to even; integer types
 * saturate to [qmin, qmax]; float formats saturate to +-max_finite when
 * `saturate` is true, otherwise follow the format's overflow rule (Inf or
 * NaN). NaN to an integer type gives 0.
 */
typedef double (*qrun_dtype_get_fn)(const void *data, size_t i);
typedef void (*qrun_dtype_set_fn)(void *data, size_t i, double v, bool saturate);

struct qrun_dtype_traits {
    const char *name;      /* qrun name: "float32", "int8", "float8e4m3fn" */
    const char *onnx_name; /* "FLOAT", "INT8", ... ; NULL when ONNX has none */
    int onnx_type;         /* TensorProto.DataType; 0 when ONNX has none */
    int bits;              /* bits per element; 0 for STRING/UNDEFINED */
    bool is_float;         /* floating point (incl. FP8/FP16/BF16) */
    bool is_signed;
    bool is_integer; /* integer types, BOOL excluded */
    bool has_inf;
    bool has_nan;
    double min_value;      /* integers: qmin; floats: -max_finite */
    double max_value;      /* integers: qmax; floats: max_finite */
    qrun_dtype_get_fn get; /* element to double (exact for every type except 64-bit ints > 2^53) */
    qrun_dtype_set_fn set; /* double to element, see contract */
};

/** @brief Traits of t; never NULL (UNDEFINED's entry for out-of-range t). */
const struct qrun_dtype_traits *qrun_dtype_traits_get(qrun_dtype t);
/** @brief qrun dtype for an ONNX TensorProto.DataType code; UNDEFINED if none. */
qrun_dtype qrun_dtype_from_onnx(int onnx_type);
/* qrun_dtype_from_name (parse a dtype name) is public: include/qrun/qrun.h. */
/** @brief Bytes needed for n elements (rounded up for sub-byte types); false on overflow. */
bool qrun_dtype_nbytes(qrun_dtype t, int64_t n, size_t *out);
static inline bool qrun_dtype_is_float(qrun_dtype t) {
    return qrun_dtype_traits_get(t)->is_float;
}
static inline bool qrun_dtype_is_integer(qrun_dtype t) {
    return qrun_dtype_traits_get(t)->is_integer;
}

/* 64-bit-exact integer access (for INT64/UINT64 where doubles lose bits). */
int64_t qrun_dtype_get_i64(qrun_dtype t, const void *data, size_t i);
void qrun_dtype_set_i64(qrun_dtype t, void *data, size_t i, int64_t v);

/* Scalar codecs, exposed for kernels and tests. All RNE. */
float qrun_f16_to_f32(uint16_t h);
uint16_t qrun_f32_to_f16(float f);
float qrun_bf16_to_f32(uint16_t b);
uint16_t qrun_f32_to_bf16(float f);
/**
 * @brief v rounded once (RNE) to the nearest FLOAT16 / BFLOAT16 / FLOAT
 * value, returned as float; overflow gives Inf as in IEEE arithmetic. Other
 * types return (float)v. Used to model narrow accumulators.
 */
float qrun_float_round(qrun_dtype t, double v);

/*
 * Small-float codec. Decode is exact. Encode rounds to nearest even. With
 * saturate, values beyond max_finite (and +-Inf) become +-max_finite;
 * without, they become Inf where the format has one, else NaN. fnuz_inf_to_max
 * selects the Cast-24+ rule (FNUZ: Inf saturates to max) over the Cast-19..23
 * rule (FNUZ: Inf becomes NaN even when saturating).
 */
float qrun_fp8_decode(qrun_dtype t, uint8_t code);
uint8_t qrun_fp8_encode(qrun_dtype t, float v, bool saturate, bool fnuz_inf_to_max);

#endif
