/* SPDX-License-Identifier: Apache-2.0 */
/* Quantization math shared by shape inference and every backend (see quant.h for the rules). */
#include "runtime/quant.h"

#include "runtime/dtype.h"
#include "runtime/ir.h"
#include "runtime/target_clones.h"

#include <limits.h>
#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__)
#define QUANT_X86 1
#include <immintrin.h>
#else
#define QUANT_X86 0
#endif

/* The ranges are dtype.c's; the quantized integer types are those of at most 32 bits that fit
 * int32. */
bool qrun_quant_int_range(qrun_dtype t, int32_t *qmin, int32_t *qmax) {
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(t);
    if (!tr->is_integer || tr->bits > 32 || (tr->bits == 32 && !tr->is_signed))
        return false;
    *qmin = (int32_t)tr->min_value;
    *qmax = (int32_t)tr->max_value;
    return true;
}

bool qrun_quant_is_small_float(qrun_dtype t) {
    return t == QRUN_DTYPE_FLOAT8E4M3FN || t == QRUN_DTYPE_FLOAT8E4M3FNUZ ||
           t == QRUN_DTYPE_FLOAT8E5M2 || t == QRUN_DTYPE_FLOAT8E5M2FNUZ ||
           t == QRUN_DTYPE_FLOAT8E3M4 || t == QRUN_DTYPE_FLOAT4E2M1;
}

/* Round a float32 result to the 16-bit type the reference keeps it in. */
static double quant_round_to(float v, qrun_dtype t) {
    if (t == QRUN_DTYPE_FLOAT16)
        return (double)qrun_f16_to_f32(qrun_f32_to_f16(v));
    if (t == QRUN_DTYPE_BFLOAT16)
        return (double)qrun_bf16_to_f32(qrun_f32_to_bf16(v));
    return (double)v;
}

double qrun_quant_div(double x, double scale, qrun_dtype compute) {
    if (compute == QRUN_DTYPE_DOUBLE)
        return x / scale;
    /* Operands are first cast to the compute type (the `precision` attribute casts both). */
    float a = (float)quant_round_to((float)x, compute),
          b = (float)quant_round_to((float)scale, compute);
    return quant_round_to(a / b, compute);
}

static bool quant_is_16bit_float(qrun_dtype t) {
    return t == QRUN_DTYPE_FLOAT16 || t == QRUN_DTYPE_BFLOAT16;
}

qrun_dtype qrun_quant_compute_type(qrun_dtype x, qrun_dtype scale, qrun_dtype precision) {
    if (precision != QRUN_DTYPE_UNDEFINED)
        return precision;
    if (x == QRUN_DTYPE_DOUBLE || scale == QRUN_DTYPE_DOUBLE || !qrun_dtype_is_float(x))
        return QRUN_DTYPE_DOUBLE;
    if (x == scale)
        return x;
    if (quant_is_16bit_float(x) && !qrun_dtype_is_float(scale))
        return QRUN_DTYPE_DOUBLE;
    /* float32 with anything narrower, FLOAT16 with BFLOAT16, FP8/E8M0 scales: float32. */
    return QRUN_DTYPE_FLOAT;
}

/* ---- scale / zero-point layout ------------------------------------------ */

static bool quant_same_shape(const struct qrun_tensor *a, const struct qrun_tensor *b) {
    if (a->rank != b->rank)
        return false;
    for (int d = 0; d < a->rank; d++) {
        if (a->dims[d] != b->dims[d])
            return false;
    }
    return true;
}

static qrun_status quant_map_block(qrun_qparam_map *m,
                                   int rank,
                                   const int64_t *dims,
                                   const struct qrun_tensor *scale,
                                   int ax,
                                   int64_t block_size,
                                   qrun_err *err) {
    if (scale->rank != rank)
        return qrun_errf(err, QRUN_E_MODEL, "blocked quantization: scale has rank %d, input %d",
                         scale->rank, rank);
    for (int d = 0; d < rank; d++) {
        /* ceil(D / B) without D + B - 1, which overflows for a hostile block_size */
        int64_t want =
            d == ax ? dims[d] / block_size + (dims[d] % block_size != 0 ? 1 : 0) : dims[d];
        if (scale->dims[d] == want)
            continue;
        if (d == ax) /* ceil(D / B) blocks: B must lie in [ceil(D/S), ceil(D/(S-1)) - 1] */
            return qrun_errf(
                err, QRUN_E_MODEL,
                "blocked quantization: scale dim %d is %lld, expected %lld (= ceil(%lld "
                "/ block_size %lld))",
                d, (long long)scale->dims[d], (long long)want, (long long)dims[d],
                (long long)block_size);
        return qrun_errf(err, QRUN_E_MODEL,
                         "blocked quantization: scale dim %d is %lld, expected %lld", d,
                         (long long)scale->dims[d], (long long)want);
    }
    m->kind = QRUN_QPARAM_BLOCK;
    m->block = block_size;
    m->nblocks = scale->dims[ax];
    return QRUN_OK;
}

qrun_status qrun_qparam_map_init(qrun_qparam_map *m,
                                 int rank,
                                 const int64_t *dims,
                                 const struct qrun_tensor *scale,
                                 const struct qrun_tensor *zp,
                                 int64_t axis,
                                 int64_t block_size,
                                 qrun_err *err) {
    *m = (qrun_qparam_map){.kind = QRUN_QPARAM_TENSOR, .axis_dim = 1, .inner = 1, .block = 1};
    int64_t n = qrun_shape_numel(scale->rank, scale->dims);
    /* One-element parameters may differ in rank ([] vs [1]); others must match exactly. */
    if (zp && !quant_same_shape(scale, zp) &&
        !(n == 1 && qrun_shape_numel(zp->rank, zp->dims) == 1))
        return qrun_errf(err, QRUN_E_MODEL, "zero point and scale have different shapes");
    if (block_size < 0)
        return qrun_errf(err, QRUN_E_MODEL, "block_size %lld is negative", (long long)block_size);
    if (n == 1 && block_size == 0)
        return QRUN_OK;
    if (rank < 1 || axis < -rank || axis >= rank)
        return qrun_errf(err, QRUN_E_MODEL, "axis %lld is out of range for rank %d",
                         (long long)axis, rank);
    int ax = (int)(axis < 0 ? axis + rank : axis);
    m->axis_dim = dims[ax];
    for (int d = ax + 1; d < rank; d++)
        m->inner *= dims[d];
    if (block_size > 0)
        return quant_map_block(m, rank, dims, scale, ax, block_size, err);
    if (rank >= 2 && scale->rank == rank)
        return qrun_errf(err, QRUN_E_MODEL,
                         "scale has the input's rank %d (blocked quantization) but block_size is 0",
                         rank);
    if (scale->rank != 1 || scale->dims[0] != dims[ax])
        return qrun_errf(err, QRUN_E_MODEL,
                         "per-axis scale must be 1-D of length %lld (axis %d), got %lld elements",
                         (long long)dims[ax], ax, (long long)n);
    m->kind = QRUN_QPARAM_AXIS;
    return QRUN_OK;
}

qrun_status
qrun_quant_check_scale(const struct qrun_tensor *scale, const char *what, qrun_err *err) {
    if (!scale || !scale->data)
        return QRUN_OK;
    int64_t n = qrun_tensor_numel_(scale);
    for (int64_t i = 0; i < n; i++) {
        double v = qrun_tensor_get_f64(scale, i);
        if (v > 0 && isfinite(v))
            continue;
        if (n == 1)
            return qrun_errf(err, QRUN_E_MODEL, "%s is %g; a scale must be positive and finite",
                             what, v);
        return qrun_errf(err, QRUN_E_MODEL,
                         "%s element %lld is %g; a scale must be positive and finite", what,
                         (long long)i, v);
    }
    return QRUN_OK;
}

qrun_status
qrun_quant_check_zero_point(const struct qrun_tensor *zp, const char *what, qrun_err *err) {
    if (!zp || !zp->data || zp->dtype != QRUN_DTYPE_INT32)
        return QRUN_OK;
    const int32_t *v = zp->data;
    for (int64_t i = 0; i < qrun_tensor_numel_(zp); i++) {
        if (v[i] != 0)
            return qrun_errf(err, QRUN_E_MODEL,
                             "%s: an int32 zero point must be 0 (int32 has no zero point), element "
                             "%lld is %d",
                             what, (long long)i, (int)v[i]);
    }
    return QRUN_OK;
}

/* Which inputs of each quantization op are scales and zero points. */
typedef struct quant_param_role {
    int input;
    const char *name;
    bool is_scale;
} quant_param_role;

static int quant_param_roles(const qrun_node *n, const quant_param_role **out) {
    static const quant_param_role q[] = {{1, "y_scale", true}, {2, "y_zero_point", false}};
    static const quant_param_role dq[] = {{1, "x_scale", true}, {2, "x_zero_point", false}};
    static const quant_param_role conv[] = {{1, "x_scale", true}, {2, "x_zero_point", false},
                                            {4, "w_scale", true}, {5, "w_zero_point", false},
                                            {6, "y_scale", true}, {7, "y_zero_point", false}};
    static const quant_param_role mm[] = {{1, "a_scale", true}, {2, "a_zero_point", false},
                                          {4, "b_scale", true}, {5, "b_zero_point", false},
                                          {6, "y_scale", true}, {7, "y_zero_point", false}};
    static const quant_param_role conv_int[] = {{2, "x_zero_point", false},
                                                {3, "w_zero_point", false}};
    static const quant_param_role mm_int[] = {{2, "a_zero_point", false},
                                              {3, "b_zero_point", false}};
#define QUANT_ROLES(a) (*out = (a), (int)(sizeof(a) / sizeof((a)[0])))
    switch (n->op) {
    case QRUN_OP_QUANTIZE_LINEAR:
        return QUANT_ROLES(q);
    case QRUN_OP_DEQUANTIZE_LINEAR:
        return QUANT_ROLES(dq);
    case QRUN_OP_QLINEAR_CONV:
        return QUANT_ROLES(conv);
    case QRUN_OP_QLINEAR_MATMUL:
        return QUANT_ROLES(mm);
    case QRUN_OP_CONV_INTEGER:
        return QUANT_ROLES(conv_int);
    case QRUN_OP_MATMUL_INTEGER:
        return QUANT_ROLES(mm_int);
    default:
        return 0;
    }
#undef QUANT_ROLES
}

qrun_status
qrun_quant_check_constants(const struct qrun_graph *g, const struct qrun_node *n, qrun_err *err) {
    const quant_param_role *roles = NULL;
    int nr = quant_param_roles(n, &roles);
    for (int r = 0; r < nr; r++) {
        int v = qrun_node_input(n, roles[r].input);
        if (v < 0 || g->values[v].kind != QRUN_VALUE_CONSTANT)
            continue;
        const struct qrun_tensor *t = &g->values[v].info;
        qrun_status st = roles[r].is_scale ? qrun_quant_check_scale(t, roles[r].name, err)
                                           : qrun_quant_check_zero_point(t, roles[r].name, err);
        if (st != QRUN_OK)
            return st;
    }
    return QRUN_OK;
}

/* ---- requantization ------------------------------------------------------ */

double qrun_requant_multiplier(double s_x, double s_w, double s_y, qrun_dtype scale_type) {
    if (scale_type == QRUN_DTYPE_DOUBLE)
        return s_x * s_w / s_y;
    qrun_dtype t = quant_is_16bit_float(scale_type) ? scale_type : QRUN_DTYPE_FLOAT;
    float p = (float)quant_round_to((float)s_x * (float)s_w, t);
    return quant_round_to(p / (float)s_y, t);
}

/* ---- ONNX Runtime contrib QLinear ops ----------------------------------- */

bool qrun_qparams8_init(qrun_qparams8 *p, qrun_dtype t, float scale, int32_t zp) {
    if (t != QRUN_DTYPE_UINT8 && t != QRUN_DTYPE_INT8)
        return false;
    p->scale = scale;
    p->zp = zp;
    return qrun_quant_int_range(t, &p->qmin, &p->qmax);
}

void qrun_quant_lut8(const qrun_qparams8 *in,
                     const qrun_qparams8 *out,
                     float (*f)(float x, const void *ctx),
                     const void *ctx,
                     uint8_t lut[256]) {
    bool in_signed = in->qmin < 0;
    for (int b = 0; b < 256; b++) {
        int32_t q = in_signed ? (int32_t)(int8_t)(uint8_t)b : b;
        float x = qrun_qparams8_dequantize(in, q);
        if (f)
            x = f(x, ctx);
        lut[b] = (uint8_t)qrun_qparams8_quantize(out, x);
    }
}

void qrun_qadd_init(qrun_qadd *q,
                    const qrun_qparams8 *a,
                    const qrun_qparams8 *b,
                    const qrun_qparams8 *c) {
    q->ra = a->scale / c->scale;
    q->rb = b->scale / c->scale;
    q->bias = (float)c->zp - (q->ra * (float)a->zp + q->rb * (float)b->zp);
    q->qmin = c->qmin;
    q->qmax = c->qmax;
}

int64_t qrun_qdq_onnx_opset(const struct qrun_node *n) {
    return strcmp(n->domain, "com.microsoft") == 0 ? 19 : n->opset;
}

/* ---- TFLite-style fixed point -------------------------------------------- */

bool qrun_quantize_multiplier(double m, int32_t *mult, int *shift) {
    *mult = 0;
    *shift = 0;
    if (!(m >= 0.0) || !isfinite(m) || m >= 0x1p30)
        return false;
    if (m == 0.0)
        return true;
    int e;
    double q = frexp(m, &e); /* m = q * 2^e, q in [0.5, 1) */
    int64_t q_fixed = (int64_t)round(q * 0x1p31);
    if (q_fixed == ((int64_t)1 << 31)) {
        q_fixed /= 2;
        e++;
    }
    if (e < -31)
        return true; /* flushed to zero, as TFLite does */
    *mult = (int32_t)q_fixed;
    *shift = e;
    return true;
}

/* TFLite SaturatingRoundingDoublingHighMul: (a * b * 2 + 2^31) >> 32, half away from zero. */
static int32_t quant_srdhm(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN)
        return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* TFLite RoundingDivideByPOT: x / 2^e rounded half away from zero. */
static int32_t quant_rdbpot(int32_t x, int e) {
    if (e <= 0)
        return x;
    int32_t mask = (int32_t)(((int64_t)1 << e) - 1);
    int32_t rem = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + (rem > threshold ? 1 : 0);
}

int32_t qrun_requantize_fixed(int32_t acc, int32_t mult, int shift) {
    int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    int64_t v = (int64_t)acc * ((int64_t)1 << left);
    if (v > INT32_MAX)
        v = INT32_MAX;
    if (v < INT32_MIN)
        v = INT32_MIN;
    return quant_rdbpot(quant_srdhm((int32_t)v, mult), right > 31 ? 31 : right);
}

qrun_status qrun_requant_init(qrun_requant *r, double mult, qrun_requant_mode mode, qrun_err *err) {
    *r = (qrun_requant){.mult = (float)mult, .fixed = mode == QRUN_REQUANT_FIXED};
    if (!r->fixed)
        return QRUN_OK;
    if (!qrun_quantize_multiplier(mult, &r->fixed_mult, &r->fixed_shift))
        return qrun_errf(err, QRUN_E_MODEL,
                         "requantization multiplier %g has no fixed-point form (needs 0 <= m < "
                         "2^30)",
                         mult);
    return QRUN_OK;
}

typedef void (*quant_row_fn)(const int32_t *acc,
                             int32_t bias,
                             int64_t n,
                             float mult,
                             int32_t zp,
                             int32_t qmin,
                             int32_t qmax,
                             uint8_t *y);

QRUN_TARGET_CLONES static void quant_row_c(const int32_t *acc,
                                           int32_t bias,
                                           int64_t n,
                                           float mult,
                                           int32_t zp,
                                           int32_t qmin,
                                           int32_t qmax,
                                           uint8_t *y) {
    float lo = (float)(qmin - zp), hi = (float)(qmax - zp);
    for (int64_t j = 0; j < n; j++)
        y[j] =
            qrun_requantize_f8bit((int32_t)((uint32_t)acc[j] + (uint32_t)bias), mult, lo, hi, zp);
}

#if QUANT_X86
/* 16 lanes at a time, the tail under a mask: short rows are vector code too. */
__attribute__((target("avx512f,avx512bw,avx512vl"))) static void
quant_row_avx512(const int32_t *acc,
                 int32_t bias,
                 int64_t n,
                 float mult,
                 int32_t zp,
                 int32_t qmin,
                 int32_t qmax,
                 uint8_t *y) {
    __m512 lo = _mm512_set1_ps((float)(qmin - zp)), hi = _mm512_set1_ps((float)(qmax - zp));
    __m512 m = _mm512_set1_ps(mult);
    __m512i z = _mm512_set1_epi32(zp), b = _mm512_set1_epi32(bias);
    for (int64_t j = 0; j < n; j += 16) {
        __mmask16 k = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __m512i a = _mm512_add_epi32(_mm512_maskz_loadu_epi32(k, acc + j), b);
        __m512 f = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(a), m), lo), hi);
        __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(f), z);
        _mm_mask_storeu_epi8(y + j, k, _mm512_cvtepi32_epi8(q));
    }
}
#endif

static quant_row_fn quant_row_pick(void) {
#if QUANT_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        return quant_row_avx512;
#endif
    return quant_row_c;
}

void qrun_requantize_row(const qrun_requant *r,
                         const int32_t *acc,
                         int32_t bias,
                         int64_t n,
                         int32_t zp,
                         int32_t qmin,
                         int32_t qmax,
                         uint8_t *y) {
    if (r->fixed || !isfinite(r->mult)) {
        for (int64_t j = 0; j < n; j++)
            y[j] = (uint8_t)qrun_requantize(r, (int32_t)((uint32_t)acc[j] + (uint32_t)bias), zp,
                                            qmin, qmax);
        return;
    }
    static quant_row_fn fn; /* benign race: every thread picks the same function */
    quant_row_fn f = __atomic_load_n(&fn, __ATOMIC_RELAXED);
    if (!f) {
        f = quant_row_pick();
        __atomic_store_n(&fn, f, __ATOMIC_RELAXED);
    }
    f(acc, bias, n, r->mult, zp, qmin, qmax, y);
}

QRUN_TARGET_CLONES void qrun_quantize_row_f32(
    const float *x, int64_t n, float scale, int32_t zp, int32_t qmin, int32_t qmax, uint8_t *y) {
    float lo = (float)(qmin - zp), hi = (float)(qmax - zp);
    for (int64_t i = 0; i < n; i++)
        y[i] = (uint8_t)(qrun_clamp_round_f(x[i] / scale, lo, hi) + zp);
}

QRUN_TARGET_CLONES void qrun_dequantize_row_8bit(
    const uint8_t *x, bool is_signed, int64_t n, int32_t zp, float scale, float *y) {
    float z = (float)zp;
    if (is_signed) {
        for (int64_t i = 0; i < n; i++)
            y[i] = qrun_dequantize((float)(int8_t)x[i], z, scale);
        return;
    }
    for (int64_t i = 0; i < n; i++)
        y[i] = qrun_dequantize((float)x[i], z, scale);
}

QRUN_TARGET_CLONES void qrun_qadd_row(
    const qrun_qadd *q, const uint8_t *a, const uint8_t *b, bool is_signed, int64_t n, uint8_t *c) {
    float lo = (float)q->qmin, hi = (float)q->qmax, ra = q->ra, rb = q->rb, bias = q->bias;
    for (int64_t i = 0; i < n; i++) {
        int32_t av = is_signed ? (int8_t)a[i] : a[i], bv = is_signed ? (int8_t)b[i] : b[i];
        float v = fmaf((float)av, ra, fmaf((float)bv, rb, bias));
        c[i] = (uint8_t)qrun_clamp_round_f(v, lo, hi);
    }
}

typedef void (*quant_rows16_fn)(const int32_t *acc,
                                int rows,
                                const float *mult,
                                const int32_t *bias,
                                int32_t zp,
                                int32_t qmin,
                                int32_t qmax,
                                uint8_t *y,
                                int64_t ldy);

static void quant_rows16_c(const int32_t *acc,
                           int rows,
                           const float *mult,
                           const int32_t *bias,
                           int32_t zp,
                           int32_t qmin,
                           int32_t qmax,
                           uint8_t *y,
                           int64_t ldy) {
    float lo = (float)(qmin - zp), hi = (float)(qmax - zp);
    for (int r = 0; r < rows; r++) {
        for (int j = 0; j < 16; j++) {
            int32_t a = (int32_t)((uint32_t)acc[r * 16 + j] + (uint32_t)bias[r]);
            y[r * ldy + j] = qrun_requantize_f8bit(a, mult[r], lo, hi, zp);
        }
    }
}

#if QUANT_X86
/* The same with one 16-lane vector per row: clamp in float, then convert (round half even). */
__attribute__((target("avx512f"))) static void quant_rows16_avx512(const int32_t *acc,
                                                                   int rows,
                                                                   const float *mult,
                                                                   const int32_t *bias,
                                                                   int32_t zp,
                                                                   int32_t qmin,
                                                                   int32_t qmax,
                                                                   uint8_t *y,
                                                                   int64_t ldy) {
    __m512 lo = _mm512_set1_ps((float)(qmin - zp)), hi = _mm512_set1_ps((float)(qmax - zp));
    __m512i z = _mm512_set1_epi32(zp);
    for (int r = 0; r < rows; r++) {
        __m512i a = _mm512_add_epi32(_mm512_loadu_si512(acc + r * 16), _mm512_set1_epi32(bias[r]));
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(a), _mm512_set1_ps(mult[r]));
        f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
        __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(f), z);
        _mm_storeu_si128((__m128i *)(y + r * ldy), _mm512_cvtepi32_epi8(q));
    }
}
#endif

static quant_rows16_fn quant_rows16_pick(void) {
#if QUANT_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return quant_rows16_avx512;
#endif
    return quant_rows16_c;
}

void qrun_requantize_rows16(const int32_t *acc,
                            int rows,
                            const float *mult,
                            const int32_t *bias,
                            int32_t zp,
                            int32_t qmin,
                            int32_t qmax,
                            uint8_t *y,
                            int64_t ldy) {
    static quant_rows16_fn fn; /* benign race: every thread picks the same function */
    quant_rows16_fn f = __atomic_load_n(&fn, __ATOMIC_RELAXED);
    if (!f) {
        f = quant_rows16_pick();
        __atomic_store_n(&fn, f, __ATOMIC_RELAXED);
    }
    f(acc, rows, mult, bias, zp, qmin, qmax, y, ldy);
}

/* ---- post-training quantization ------------------------------------------ */

bool qrun_ptq_format_ok(qrun_dtype t) {
    return t == QRUN_DTYPE_INT8 || t == QRUN_DTYPE_UINT8 ||
           (qrun_quant_is_small_float(t) && t != QRUN_DTYPE_FLOAT4E2M1);
}

static double ptq_pow2_up(double s) {
    return ldexp(1.0, (int)ceil(log2(s)));
}

qrun_ptq_qparams
qrun_ptq_choose_qparams(qrun_dtype fmt, double lo, double hi, bool symmetric, bool pow2) {
    qrun_ptq_qparams p = {fmt, 1.0f, 0};
    lo = fmin(lo, 0.0);
    hi = fmax(hi, 0.0);
    double amax = fmax(-lo, hi);
    int32_t qmin = 0, qmax = 0;
    bool is_int = qrun_quant_int_range(fmt, &qmin, &qmax);
    if (!(amax > 0.0) || !isfinite(amax)) {
        p.zp = is_int && symmetric && fmt == QRUN_DTYPE_UINT8 ? 128 : 0;
        if (is_int && !symmetric)
            p.zp = qmin < 0 ? 0 : qmin;
        return p;
    }
    double scale;
    if (!is_int) {
        scale = amax / qrun_dtype_traits_get(fmt)->max_value;
    } else if (symmetric) {
        scale = amax / 127.0;
    } else {
        scale = (hi - lo) / (double)(qmax - qmin);
    }
    if (pow2)
        scale = ptq_pow2_up(scale);
    p.scale = (float)scale;
    if (!is_int)
        return p;
    if (symmetric) {
        p.zp = fmt == QRUN_DTYPE_UINT8 ? 128 : 0;
        return p;
    }
    double zp = qrun_round_half_even((double)qmin - lo / (double)p.scale);
    p.zp = (int32_t)fmin(fmax(zp, (double)qmin), (double)qmax);
    return p;
}

double qrun_ptq_quantize_value(const qrun_ptq_qparams *p, double x) {
    double q = (double)((float)x / p->scale);
    int32_t qmin, qmax;
    if (qrun_quant_int_range(p->fmt, &qmin, &qmax))
        return (double)qrun_quantize_int(q, p->zp, qmin, qmax);
    const struct qrun_dtype_traits *t = qrun_dtype_traits_get(p->fmt);
    unsigned char code = 0;
    t->set(&code, 0, q, true);
    return t->get(&code, 0);
}

double qrun_ptq_fake_quant(const qrun_ptq_qparams *p, double x) {
    double q = qrun_ptq_quantize_value(p, x);
    return (double)qrun_dequantize((float)q, (float)p->zp, p->scale);
}
