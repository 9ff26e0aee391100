/* SPDX-License-Identifier: Apache-2.0 */
/* cpu_ref integer and FP8 convolution: ConvInteger, QLinearConv (ONNX and com.microsoft, incl.
 * channels_last). Shared pieces and the family's arithmetic: qlinear_core.h. */
#include "backends/cpu_ref/ops/qgemm_s16.h"
#include "backends/cpu_ref/ops/qlinear_core.h"
#include "runtime/shape/nn_params.h"
#include "runtime/shape/qlinear_contrib.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <string.h>

#define QL_NTILE 1024 /* FP8 GEMM: output positions per tile, the accumulator tile stays in L1 */
#define QL_DW_CHUNK QG_DW_CHUNK /* depthwise outputs summed in registers at once */
#define QL_DW_MAX_TAPS 64       /* larger depthwise kernels take the GEMM path */
/* Zeroed int16 after a channel's planes: what a last depthwise chunk reads past them. */
#define QL_PLANE_SLACK(c) (QL_DW_CHUNK + (c)->pl_cols)

/* An optional parameter must have 1 or n elements. */
static qrun_status ql_check_count(const qrun_kernel_call *call,
                                  const struct qrun_tensor *t,
                                  const char *what,
                                  int64_t n) {
    int64_t c = ql_numel(t);
    if (!t || c == 1 || c == n)
        return QRUN_OK;
    return qrun_errf(call->err, QRUN_E_MODEL, "%s has %lld elements, expected 1 or %lld", what,
                     (long long)c, (long long)n);
}

/* The FP8 counterpart of ql_gemm_s16 on decoded values, sums from +0 in k order. */
static void ql_gemm_fp8(const float *w,
                        const float *col,
                        int64_t mrows,
                        int64_t kdim,
                        int64_t ncols,
                        qrun_fp8_accum accum,
                        float *acc,
                        int nt) {
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t m = 0; m < mrows; m++) {
        const float *wr = w + m * kdim;
        float *row = acc + m * ncols;
        for (int64_t n0 = 0; n0 < ncols; n0 += QL_NTILE) {
            int64_t nn = ncols - n0 < QL_NTILE ? ncols - n0 : QL_NTILE;
            float *r = row + n0;
            for (int64_t j = 0; j < nn; j++)
                r[j] = 0.0f;
            for (int64_t k = 0; k < kdim; k++)
                ql_fp8_axpy(accum, wr[k], col + k * ncols + n0, r, nn);
        }
    }
}

/* ---- convolution ---------------------------------------------------------- */

typedef struct ql_conv {
    qrun_conv_params p;
    bool qlinear; /* QLinearConv (else ConvInteger) */
    bool fp8;     /* FP8 operands: float columns/weights, FP8 datapath */
    qrun_dtype y_t;
    const struct qrun_tensor *x, *w, *xzp, *wzp, *xs, *ws, *ys, *yzp, *bias;
    int64_t cg, mg, kk, kdim, in_sp, out_sp;
    int slots;         /* buffer sets used by threads working on different groups */
    size_t elem;       /* bytes of one weight/column element: int16 or float */
    size_t w_bytes;    /* weights: see ql_conv_weights */
    size_t wg_elems;   /* integer GEMM: int16 elements of one group's packed weights */
    size_t rq_bytes;   /* requantization, one ql_rq per output channel */
    size_t slot_bytes; /* per slot: see ql_conv_plan */
    /*
     * Integer 1-D/2-D kernels read x - x_zp from zero-padded planes, one per
     * input channel, split by column phase (pl_phases = stride[last] phases of
     * pl_rows x pl_cols) so that every tap reads contiguous runs. Depthwise
     * (one input and one output channel per group) sums taps directly; other
     * convs copy the runs into the GEMM's packed columns. 1x1 convs with unit
     * strides and no padding pack X itself.
     */
    bool dw, pointwise;
    int64_t pl_rows, pl_cols, pl_phases;
    size_t plane_bytes; /* one channel's phases, plus the slack a depthwise chunk reads */
    /* com.microsoft channels_last = 1: X and Y are NHWC; the kernel works on NCHW copies of both.
     */
    bool channels_last;
    struct qrun_tensor xv; /* NCHW view of X (data: the transposed copy in scratch) */
    size_t cl_x_bytes, cl_y_bytes;
} ql_conv;

static qrun_status ql_conv_check(const qrun_kernel_call *call, const ql_conv *c) {
    int64_t m = c->p.c_out;
    qrun_status st = ql_check_count(call, c->xzp, "x_zero_point", 1);
    if (st == QRUN_OK)
        st = ql_check_count(call, c->wzp, "w_zero_point", m);
    if (st != QRUN_OK || !c->qlinear)
        return st;
    st = ql_check_count(call, c->xs, "x_scale", 1);
    if (st == QRUN_OK)
        st = ql_check_count(call, c->ws, "w_scale", m);
    if (st == QRUN_OK)
        st = ql_check_count(call, c->ys, "y_scale", 1);
    if (st == QRUN_OK)
        st = ql_check_count(call, c->yzp, "y_zero_point", 1);
    if (st == QRUN_OK && c->bias && (c->bias->rank != 1 || c->bias->dims[0] != m))
        return qrun_errf(call->err, QRUN_E_MODEL, "bias must have shape [%lld]", (long long)m);
    return st;
}

static qrun_status ql_conv_check_fp8_zero(const qrun_kernel_call *call, const ql_conv *c) {
    if (!c->fp8)
        return QRUN_OK;
    qrun_status st = ql_fp8_zero(call, c->xzp, "x_zero_point");
    if (st == QRUN_OK)
        st = ql_fp8_zero(call, c->wzp, "w_zero_point");
    if (st == QRUN_OK)
        st = ql_fp8_zero(call, c->yzp, "y_zero_point");
    return st;
}

/* Point c at the call's tensors (done at prepare and again at every eval: data moves between runs).
 */
static void ql_conv_bind(const qrun_kernel_call *call, ql_conv *c) {
    c->qlinear =
        call->node->op == QRUN_OP_QLINEAR_CONV || call->node->op == QRUN_OP_MS_QLINEAR_CONV;
    if (c->qlinear) {
        c->x = call->inputs[0], c->xs = call->inputs[1], c->xzp = qlc_in(call, 2);
        c->w = call->inputs[3], c->ws = call->inputs[4], c->wzp = qlc_in(call, 5);
        c->ys = call->inputs[6], c->yzp = qlc_in(call, 7), c->bias = qlc_in(call, 8);
    } else {
        c->x = call->inputs[0], c->w = call->inputs[1];
        c->xzp = qlc_in(call, 2), c->wzp = qlc_in(call, 3);
    }
}

/* One input and one output channel per group, 1-D or 2-D: the direct depthwise kernel. */
static bool ql_conv_is_dw(const ql_conv *c) {
    return c->cg == 1 && c->mg == 1 && c->p.group > 1 && c->p.n_spatial <= 2 &&
           c->kk <= QL_DW_MAX_TAPS;
}

/* A 1x1 kernel with unit strides and no padding reads X as the GEMM's columns. */
static bool ql_conv_is_pointwise(const qrun_conv_params *p) {
    for (int d = 0; d < p->n_spatial; d++) {
        if (p->kernel[d] != 1 || p->stride[d] != 1 || p->pad_begin[d] != 0 || p->pad_end[d] != 0)
            return false;
    }
    return true;
}

/* Two column rows of the integer 2-D packer (ql_pack_cols_2d). */
static size_t ql_conv_lines_bytes(const ql_conv *c) {
    return ql_round64((size_t)(2 * c->out_sp) * sizeof(int16_t));
}

/*
 * Narrow depthwise outputs with unit strides are summed over whole plane rows
 * at once (output position oy * pl_cols + ox, the columns past ow dropped):
 * one long run instead of one short, mostly empty chunk per output row.
 */
static bool ql_dw_flat(const ql_conv *c) {
    const qrun_conv_params *p = &c->p;
    int64_t oh = p->n_spatial == 2 ? p->out[0] : 1, ow = p->out[p->n_spatial - 1];
    bool unit = p->stride[0] == 1 && p->stride[p->n_spatial - 1] == 1;
    int64_t chunks_flat = (oh * c->pl_cols + QL_DW_CHUNK - 1) / QL_DW_CHUNK;
    int64_t chunks_rows = oh * ((ow + QL_DW_CHUNK - 1) / QL_DW_CHUNK);
    return unit && chunks_flat < chunks_rows;
}

/* int32 sums of one depthwise channel: per output, or per flat plane position. */
static size_t ql_dw_acc_elems(const ql_conv *c) {
    int64_t oh = c->p.n_spatial == 2 ? c->p.out[0] : 1;
    int64_t flat = oh * c->pl_cols;
    return (size_t)(flat > c->out_sp ? flat : c->out_sp);
}

/* Padded plane geometry: the rows/columns the outputs read, split by column phase. */
static void ql_conv_plan_planes(ql_conv *c) {
    const qrun_conv_params *p = &c->p;
    bool two = p->n_spatial == 2;
    int l = p->n_spatial - 1;
    int64_t oh = two ? p->out[0] : 1, kh = two ? p->kernel[0] : 1;
    int64_t dh = two ? p->dilation[0] : 1, sh = two ? p->stride[0] : 1;
    int64_t cols = (p->out[l] - 1) * p->stride[l] + (p->kernel[l] - 1) * p->dilation[l] + 1;
    c->pl_rows = (oh - 1) * sh + (kh - 1) * dh + 1;
    c->pl_phases = p->stride[l];
    c->pl_cols = (cols + c->pl_phases - 1) / c->pl_phases;
    c->plane_bytes = ql_round64(
        (size_t)(c->pl_phases * c->pl_rows * c->pl_cols + QL_PLANE_SLACK(c)) * sizeof(int16_t));
}

static qrun_status ql_conv_plan(const qrun_kernel_call *call, ql_conv *c) {
    memset(c, 0, sizeof *c);
    ql_conv_bind(call, c);
    c->fp8 = c->qlinear && qrun_fp8_is_mac_type(c->x->dtype);
    c->y_t = call->outputs[0]->dtype;
    c->channels_last =
        call->node->op == QRUN_OP_MS_QLINEAR_CONV && qrun_qlinear_channels_last(call->node);
    if (c->channels_last) {
        qrun_channels_last_view(call->inputs[0], &c->xv);
        c->x = &c->xv;
    }
    qrun_status st = qrun_conv_params_get(call->node, c->x, c->w, &c->p, call->err);
    if (st == QRUN_OK)
        st = ql_conv_check(call, c);
    if (st != QRUN_OK)
        return st;
    const qrun_conv_params *p = &c->p;
    c->cg = p->c_in / p->group;
    c->mg = p->c_out / p->group;
    c->kk = qrun_conv_prod(p->kernel, p->n_spatial);
    c->kdim = c->cg * c->kk;
    c->in_sp = qrun_conv_prod(p->in, p->n_spatial);
    c->out_sp = qrun_conv_prod(p->out, p->n_spatial);
    int64_t units = p->batch * p->group;
    c->slots = p->group > 1 && units >= call->n_threads ? call->n_threads : 1;
    if (c->slots < 1)
        c->slots = 1;
    c->elem = c->fp8 ? sizeof(float) : sizeof(int16_t);
    c->rq_bytes = c->qlinear ? ql_round64((size_t)p->c_out * sizeof(ql_rq)) : 0;
    if (c->fp8) {
        /* weights [c_out][kdim]; per slot columns [kdim][out_sp], then float sums [mg][out_sp] */
        c->w_bytes = ql_round64((size_t)(p->c_out * c->kdim) * c->elem);
        c->slot_bytes = ql_round64((size_t)(c->kdim * c->out_sp) * c->elem) +
                        ql_round64((size_t)(c->mg * c->out_sp) * sizeof(float));
    } else if (ql_conv_is_dw(c)) {
        /* weights [c_out][kk]; per slot one channel's planes, their row pairs, the int32 sums */
        c->dw = true;
        ql_conv_plan_planes(c);
        c->w_bytes = ql_round64((size_t)(p->c_out * c->kdim) * sizeof(int16_t));
        c->slot_bytes = 3 * c->plane_bytes + ql_round64(ql_dw_acc_elems(c) * sizeof(int32_t));
    } else {
        /* weights packed per group (qgemm_s16.h); per slot packed columns, sums stay in tiles */
        c->pointwise = ql_conv_is_pointwise(p);
        c->wg_elems = qg_pack_a_bytes(c->mg, c->kdim) / sizeof(int16_t);
        c->w_bytes = ql_round64((size_t)p->group * c->wg_elems * sizeof(int16_t));
        c->slot_bytes = ql_round64(qg_pack_b_bytes(c->kdim, c->out_sp));
        if (!c->pointwise && p->n_spatial <= 2) {
            /* then the group's input planes, then two column rows per packing thread */
            ql_conv_plan_planes(c);
            c->slot_bytes +=
                (size_t)c->cg * c->plane_bytes + (size_t)call->n_threads * ql_conv_lines_bytes(c);
        }
    }
    if (c->channels_last) {
        c->cl_x_bytes = ql_round64((size_t)(p->batch * p->c_in * c->in_sp));
        c->cl_y_bytes = ql_round64((size_t)(p->batch * p->c_out * c->out_sp));
    }
    return QRUN_OK;
}

/*
 * Op data: the plan and the FP8 decode tables, then (when W and its zero
 * point are constants) the weights as the GEMM reads them (W - w_zp as int16,
 * or decoded FP8 as float), then (when the scales, and the FP8 bias, are
 * constants) the per-channel requantization.
 */
typedef struct ql_conv_prep {
    ql_conv c;
    bool packed;           /* weights in op data */
    bool rq_known;         /* requantization in op data */
    qrun_fp8_table tx, tw; /* FP8 decode tables of x and w */
} ql_conv_prep;

static size_t ql_conv_prep_head(void) {
    return ql_round64(sizeof(ql_conv_prep));
}

static bool ql_conv_weights_known(const ql_conv *c) {
    return c->w->data && ql_known(c->wzp);
}

static bool ql_conv_rq_known(const ql_conv *c) {
    return c->qlinear && c->xs->data && c->ws->data && c->ys->data &&
           (!c->fp8 || ql_known(c->bias));
}

static size_t ql_conv_op_data_bytes(const qrun_kernel_call *call) {
    ql_conv c;
    if (ql_conv_plan(call, &c) != QRUN_OK)
        return ql_conv_prep_head();
    return ql_conv_prep_head() + (ql_conv_weights_known(&c) ? c.w_bytes : 0) +
           (ql_conv_rq_known(&c) ? c.rq_bytes : 0);
}

/*
 * Weights as the kernels read them: FP8 decoded [c_out][kdim]; integer
 * W - w_zero_point as int16, [c_out][kdim] for the depthwise kernel, else
 * each group's [mg][kdim] packed as the GEMM's A (qgemm_s16.h).
 */
static void ql_conv_weights(const ql_conv_prep *prep, const ql_conv *c, void *wbuf) {
    int64_t n = c->p.c_out * c->kdim;
    if (c->fp8) {
        const uint8_t *w = c->w->data;
        for (int64_t i = 0; i < n; i++)
            ((float *)wbuf)[i] = prep->tw.v[w[i]];
        return;
    }
    int16_t *w16 = wbuf;
    bool u8 = c->w->dtype == QRUN_DTYPE_UINT8;
    bool zu8 = c->wzp && c->wzp->dtype == QRUN_DTYPE_UINT8;
    bool per_ch = ql_numel(c->wzp) > 1;
    int64_t kp = qg_kp(c->kdim);
    if (!c->dw) /* the packing's padding is zero */
        memset(w16, 0, (size_t)c->p.group * c->wg_elems * sizeof(int16_t));
    for (int64_t m = 0; m < c->p.c_out; m++) {
        int32_t zp = c->wzp ? qlc_load8(c->wzp->data, per_ch ? m : 0, zu8) : 0;
        int16_t *grp = w16 + (c->dw ? 0 : (size_t)(m / c->mg) * c->wg_elems);
        for (int64_t k = 0; k < c->kdim; k++) {
            int64_t at = c->dw ? m * c->kdim + k : qg_a_at(kp, m % c->mg, k);
            grp[at] = (int16_t)(qlc_load8(c->w->data, m * c->kdim + k, u8) - zp);
        }
    }
}

/* Per output channel: multiplier s_x * w_scale[m] / s_y (and the FP8 bias term). */
static qrun_status ql_conv_rq(const qrun_kernel_call *call, const ql_conv *c, ql_rq *rq) {
    double xs = ql_get(c->xs, 0), ys = ql_get(c->ys, 0);
    bool per_ch = ql_numel(c->ws) > 1;
    for (int64_t m = 0; m < c->p.c_out; m++) {
        double bias = c->fp8 && c->bias ? ql_get(c->bias, m) : 0.0;
        qrun_status st = ql_rq_make(call, c->fp8, xs, ql_get(c->ws, per_ch ? m : 0), ys,
                                    c->xs->dtype, bias, &rq[m]);
        if (st != QRUN_OK) {
            qrun_err_prefix(call->err, "output channel %lld: ", (long long)m);
            return st;
        }
    }
    return QRUN_OK;
}

static qrun_status ql_conv_prepare(const qrun_kernel_call *call, void *op_data) {
    ql_conv_prep *prep = op_data;
    qrun_status st = ql_conv_plan(call, &prep->c);
    if (st == QRUN_OK)
        st = ql_conv_check_fp8_zero(call, &prep->c);
    if (st != QRUN_OK)
        return st;
    const ql_conv *c = &prep->c;
    if (c->fp8) {
        qrun_fp8_table_init(&prep->tx, c->x->dtype);
        qrun_fp8_table_init(&prep->tw, c->w->dtype);
    }
    uint8_t *tail = (uint8_t *)op_data + ql_conv_prep_head();
    prep->packed = ql_conv_weights_known(c);
    if (prep->packed) {
        ql_conv_weights(prep, c, tail);
        tail += c->w_bytes;
    }
    prep->rq_known = ql_conv_rq_known(c);
    return prep->rq_known ? ql_conv_rq(call, c, (ql_rq *)tail) : QRUN_OK;
}

/* Scratch: weights unless packed, requantization unless known, the slots, then NCHW copies of
 * X and Y for channels_last. */
static size_t ql_conv_scratch(const qrun_kernel_call *call) {
    const ql_conv_prep *prep = call->op_data;
    const ql_conv *c = &prep->c;
    return (prep->packed ? 0 : c->w_bytes) + (prep->rq_known ? 0 : c->rq_bytes) +
           (size_t)c->slots * c->slot_bytes + c->cl_x_bytes + c->cl_y_bytes;
}

/* Where the column of one element comes from: x (integer, zero point subtracted, or FP8 decoded).
 */
typedef struct ql_src {
    const void *x;
    bool u8;
    int32_t zp;
    const float *lut; /* FP8: decode table; NULL for integers */
    int64_t out_sp;   /* columns per row */
    int64_t kp;       /* integer: pairs per column of the packed B (qgemm_s16.h) */
} ql_src;

/* Column r, position n = element src of x as the GEMM reads it; src < 0 is padding (zero). */
static inline void ql_put(const ql_src *s, void *col, int64_t r, int64_t n, int64_t src) {
    if (s->lut) {
        ((float *)col)[r * s->out_sp + n] = src < 0 ? 0.0f : s->lut[((const uint8_t *)s->x)[src]];
        return;
    }
    ((int16_t *)col)[qg_b_at(s->kp, r, n)] =
        src < 0 ? 0 : (int16_t)(qlc_load8(s->x, src, s->u8) - s->zp);
}

/* Column rows for 1-D/2-D convs: row r = (c, ky, kx). */
static void ql_im2col_2d(const ql_conv *c, const ql_src *s, int64_t x_off, void *col, int nt) {
    const qrun_conv_params *p = &c->p;
    bool two = p->n_spatial == 2;
    int l = p->n_spatial - 1;
    int64_t ih = two ? p->in[0] : 1, iw = p->in[l], oh = two ? p->out[0] : 1, ow = p->out[l];
    int64_t kh = two ? p->kernel[0] : 1, kw = p->kernel[l];
    int64_t sh = two ? p->stride[0] : 1, sw = p->stride[l];
    int64_t dh = two ? p->dilation[0] : 1, dw = p->dilation[l];
    int64_t ph = two ? p->pad_begin[0] : 0, pw = p->pad_begin[l];
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t r = 0; r < c->kdim; r++) {
        int64_t ch = r / (kh * kw), ky = (r / kw) % kh, kx = r % kw;
        int64_t base = x_off + ch * c->in_sp;
        for (int64_t oy = 0; oy < oh; oy++) {
            int64_t iy = oy * sh - ph + ky * dh, n0 = oy * ow;
            bool row_in = iy >= 0 && iy < ih;
            int64_t rb = base + iy * iw;
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t ix = ox * sw - pw + kx * dw;
                ql_put(s, col, r, n0 + ox, row_in && ix >= 0 && ix < iw ? rb + ix : -1);
            }
        }
    }
}

#if defined(__SSE2__)
/* 16 elements x[j * S] - zp (S 1 or 2) as int16 with SSE2 (every x86-64): widen the bytes (for
 * S = 2 keep each 16-bit lane's low byte), then subtract. */
static inline void ql_fill16(const uint8_t *x, int64_t S, bool u8, __m128i zp, int16_t *d) {
    __m128i lo, hi;
    if (S == 1) {
        __m128i v = _mm_loadu_si128((const __m128i *)x);
        if (u8) {
            lo = _mm_unpacklo_epi8(v, _mm_setzero_si128());
            hi = _mm_unpackhi_epi8(v, _mm_setzero_si128());
        } else {
            lo = _mm_srai_epi16(_mm_unpacklo_epi8(v, v), 8);
            hi = _mm_srai_epi16(_mm_unpackhi_epi8(v, v), 8);
        }
    } else {
        __m128i v0 = _mm_loadu_si128((const __m128i *)x);
        __m128i v1 = _mm_loadu_si128((const __m128i *)(x + 16));
        if (u8) {
            lo = _mm_and_si128(v0, _mm_set1_epi16(0xff));
            hi = _mm_and_si128(v1, _mm_set1_epi16(0xff));
        } else {
            lo = _mm_srai_epi16(_mm_slli_epi16(v0, 8), 8);
            hi = _mm_srai_epi16(_mm_slli_epi16(v1, 8), 8);
        }
    }
    _mm_storeu_si128((__m128i *)d, _mm_sub_epi16(lo, zp));
    _mm_storeu_si128((__m128i *)(d + 8), _mm_sub_epi16(hi, zp));
}
#endif

/*
 * d[i] = x[i * S] - zp for i < n. Strides 1 and 2 (nearly every conv) go in
 * whole chunks of 16 on x86 however short the row: the last chunk may write
 * up to 15 elements past n (the caller writes there afterwards: the row's
 * right padding, the next row, or the planes' slack) and reads past
 * x[(n - 1) * S] only while x has the bytes (avail).
 */
static inline void ql_fill_run(
    const uint8_t *x, int64_t avail, int64_t S, bool u8, int32_t zp, int64_t n, int16_t *d) {
    int64_t i = 0;
#if defined(__SSE2__)
    if (S <= 2) {
        int64_t full = (n + 15) / 16 * 16;
        while (full > 0 && full * S > avail) /* a chunk loads 16 * S bytes */
            full -= 16;
        __m128i z = _mm_set1_epi16((int16_t)zp);
        for (; i < full; i += 16)
            ql_fill16(x + i * S, S, u8, z, d + i);
    }
#endif
    for (; i < n; i++)
        d[i] = (int16_t)((u8 ? (int32_t)x[i * S] : (int32_t)(int8_t)x[i * S]) - zp);
}

/*
 * One input channel (x_off) as the integer kernels read it: plane[f][py][i] =
 * x[py - ph][i * S + f - pw] - x_zp, zero outside x, then zeroed slack.
 */
QRUN_TARGET_CLONES static void
ql_plane_fill(const ql_conv *c, const ql_src *s, int64_t x_off, int16_t *plane) {
    const qrun_conv_params *p = &c->p;
    int64_t x_end = qrun_tensor_numel_(c->x) - x_off; /* elements readable from x below */
    bool two = p->n_spatial == 2;
    int l = p->n_spatial - 1;
    int64_t ih = two ? p->in[0] : 1, iw = p->in[l];
    int64_t ph = two ? p->pad_begin[0] : 0, pw = p->pad_begin[l];
    int64_t S = c->pl_phases, rows = c->pl_rows, cols = c->pl_cols;
    const uint8_t *x = (const uint8_t *)s->x + x_off;
    for (int64_t f = 0; f < S; f++) {
        /* i range whose column lies in x: 0 <= i * S + f - pw < iw */
        int64_t lo = pw - f <= 0 ? 0 : (pw - f + S - 1) / S;
        int64_t hi = iw + pw - f <= 0 ? 0 : (iw + pw - f + S - 1) / S;
        lo = lo < cols ? lo : cols;
        hi = hi < cols ? hi : cols;
        hi = hi > lo ? hi : lo;
        for (int64_t py = 0; py < rows; py++) {
            int16_t *d = plane + (f * rows + py) * cols;
            int64_t iy = py - ph;
            if (iy < 0 || iy >= ih) {
                memset(d, 0, (size_t)cols * sizeof(int16_t));
                continue;
            }
            int64_t x0 = iy * iw + f - pw + lo * S; /* >= 0: the first column inside x */
            memset(d, 0, (size_t)lo * sizeof(int16_t));
            ql_fill_run(x + x0, x_end - x0, S, s->u8, s->zp, hi - lo, d + lo);
            memset(d + hi, 0, (size_t)(cols - hi) * sizeof(int16_t));
        }
    }
    memset(plane + S * rows * cols, 0, (size_t)QL_PLANE_SLACK(c) * sizeof(int16_t));
}

/* Column row r = (c, ky, kx) of a 1-D/2-D conv into line[n], copied from channel c's planes. */
static void ql_col_row(const ql_conv *c, const int16_t *planes, int64_t r, int16_t *line) {
    const qrun_conv_params *p = &c->p;
    bool two = p->n_spatial == 2;
    int l = p->n_spatial - 1;
    int64_t oh = two ? p->out[0] : 1, ow = p->out[l];
    int64_t kh = two ? p->kernel[0] : 1, kw = p->kernel[l];
    int64_t sh = two ? p->stride[0] : 1, dh = two ? p->dilation[0] : 1;
    int64_t ch = r / (kh * kw), ky = (r / kw) % kh, kx = r % kw, off = kx * p->dilation[l];
    int64_t S = c->pl_phases, rows = c->pl_rows, cols = c->pl_cols;
    const int16_t *pl = planes + (size_t)ch * (c->plane_bytes / sizeof(int16_t)) +
                        (off % S * rows + ky * dh) * cols + off / S;
    for (int64_t oy = 0; oy < oh; oy++)
        memcpy(line + oy * ow, pl + oy * sh * cols, (size_t)ow * sizeof(int16_t));
}

/* Column rows 2q and 2q + 1 interleaved into packed B (whole panels with SSE2 unpacks). */
static void
ql_pack_pair(const int16_t *l0, const int16_t *l1, int64_t n, int64_t kp, int64_t q, int16_t *col) {
    int64_t j0 = 0;
#if defined(__SSE2__)
    for (; j0 + QG_NR <= n; j0 += QG_NR) {
        int16_t *d = col + qg_b_at(kp, 2 * q, j0);
        for (int h = 0; h < QG_NR; h += 8) {
            __m128i a = _mm_loadu_si128((const __m128i *)(l0 + j0 + h));
            __m128i b = _mm_loadu_si128((const __m128i *)(l1 + j0 + h));
            _mm_storeu_si128((__m128i *)(d + 2 * h), _mm_unpacklo_epi16(a, b));
            _mm_storeu_si128((__m128i *)(d + 2 * h + 8), _mm_unpackhi_epi16(a, b));
        }
    }
#endif
    for (; j0 < n; j0 += QG_NR) {
        int16_t *d = col + qg_b_at(kp, 2 * q, j0);
        int64_t nn = n - j0 < QG_NR ? n - j0 : QG_NR;
        for (int64_t j = 0; j < nn; j++) {
            d[2 * j] = l0[j0 + j];
            d[2 * j + 1] = l1[j0 + j];
        }
    }
}

/*
 * Integer 1-D/2-D columns, packed: the group's input planes, then each
 * thread copies row pairs into its own two lines and interleaves them.
 */
static void ql_pack_cols_2d(
    const ql_conv *c, const ql_src *s, int64_t x_off, int16_t *col, uint8_t *work, int nt) {
    int64_t kp = qg_kp(c->kdim);
    size_t lb = ql_conv_lines_bytes(c);
    int16_t *planes = (int16_t *)work;
    uint8_t *lines = work + (size_t)c->cg * c->plane_bytes;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t ch = 0; ch < c->cg; ch++)
        ql_plane_fill(c, s, x_off + ch * c->in_sp,
                      planes + (size_t)ch * (c->plane_bytes / sizeof(int16_t)));
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int t = 0; t < nt; t++) {
        int16_t *l0 = (int16_t *)(lines + (size_t)t * lb), *l1 = l0 + c->out_sp;
        for (int64_t q = kp * t / nt; q < kp * (t + 1) / nt; q++) {
            ql_col_row(c, planes, 2 * q, l0);
            bool pair = 2 * q + 1 < c->kdim;
            if (pair)
                ql_col_row(c, planes, 2 * q + 1, l1);
            else /* the zero row that pads K to pairs */
                memset(l1, 0, (size_t)c->out_sp * sizeof(int16_t));
            ql_pack_pair(l0, l1, c->out_sp, kp, q, col);
        }
    }
}

/* Same for any number of spatial dims (3-D convs and up). */
static void ql_im2col_nd(const ql_conv *c, const ql_src *s, int64_t x_off, void *col, int nt) {
    const qrun_conv_params *p = &c->p;
    int n = p->n_spatial;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t r = 0; r < c->kdim; r++) {
        int64_t kidx[QRUN_MAX_RANK], rem = r % c->kk;
        for (int d = n - 1; d >= 0; d--) {
            kidx[d] = rem % p->kernel[d];
            rem /= p->kernel[d];
        }
        int64_t base = x_off + (r / c->kk) * c->in_sp;
        for (int64_t o = 0; o < c->out_sp; o++) {
            int64_t q = o, off = 0, mul = 1;
            bool inside = true;
            for (int d = n - 1; d >= 0; d--) {
                int64_t od = q % p->out[d];
                q /= p->out[d];
                int64_t i = od * p->stride[d] - p->pad_begin[d] + kidx[d] * p->dilation[d];
                inside = inside && i >= 0 && i < p->in[d];
                off += i * mul;
                mul *= p->in[d];
            }
            ql_put(s, col, r, o, inside ? base + off : -1);
        }
    }
}

/*
 * Pointwise conv: the columns are X's channel rows. Rows are packed two at a
 * time so each (k, k+1) pair of a column is written together.
 */
static void
ql_pack_pointwise(const ql_conv *c, const ql_src *s, int64_t x_off, int16_t *col, int nt) {
    int64_t n = c->out_sp, kp = s->kp;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t q = 0; q < kp; q++) {
        int64_t r0 = 2 * q, r1 = r0 + 1 < c->kdim ? r0 + 1 : -1;
        const uint8_t *x0 = (const uint8_t *)s->x + x_off + r0 * c->in_sp;
        const uint8_t *x1 = r1 < 0 ? NULL : x0 + c->in_sp;
        for (int64_t j0 = 0; j0 < n; j0 += QG_NR) {
            int16_t *d = col + qg_b_at(kp, r0, j0);
            int64_t nn = n - j0 < QG_NR ? n - j0 : QG_NR;
            for (int64_t j = 0; j < nn; j++) {
                int32_t v0 = s->u8 ? x0[j0 + j] : (int8_t)x0[j0 + j];
                int32_t v1 = !x1 ? s->zp : s->u8 ? x1[j0 + j] : (int8_t)x1[j0 + j];
                d[2 * j] = (int16_t)(v0 - s->zp);
                d[2 * j + 1] = (int16_t)(v1 - s->zp);
            }
        }
    }
}

/* Requantize mg FP8 output planes of QLinearConv from float sums, channels [m0, m0 + mg). */
static void ql_conv_requant_fp8(const ql_conv *c,
                                const ql_rq *rq,
                                const float *acc,
                                int64_t m0,
                                uint8_t *y,
                                int64_t y_off,
                                int nt) {
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t m = 0; m < c->mg; m++) {
        const ql_rq *r = &rq[m0 + m];
        int64_t o = y_off + m * c->out_sp, a0 = m * c->out_sp;
        for (int64_t j = 0; j < c->out_sp; j++)
            y[o + j] = qrun_fp8_requantize(c->y_t, acc[a0 + j], r->q.mult, r->fbias);
    }
}

/* What one run works with: weights, requantization and decode tables. */
typedef struct ql_conv_run {
    const ql_conv *c;
    const ql_conv_prep *prep;
    const void *w;
    const ql_rq *rq;
    qrun_fp8_accum accum;
    int32_t yzp, qmin, qmax; /* integer QLinearConv output */
} ql_conv_run;

/* Requantization epilogue of the integer GEMM: rows are output channels m0 + row. */
typedef struct ql_conv_epi {
    const ql_conv_run *run;
    const int32_t *bias; /* per output channel, from m0; NULL: none */
    uint8_t *y;          /* output plane of channel m0 */
    int64_t m0;
} ql_conv_epi;

_Static_assert(QG_NR == 16, "qrun_requantize_rows16 takes the GEMM's 16-column tile rows");

static void
ql_conv_epilogue(void *ctx, int64_t r0, int64_t n0, int mr, int nr, const int32_t *tile) {
    const ql_conv_epi *e = ctx;
    const ql_conv_run *run = e->run;
    int64_t sp = run->c->out_sp;
    float mult[QG_MR];
    int32_t bias[QG_MR];
    bool block = nr == QG_NR;
    for (int r = 0; r < mr; r++) {
        const qrun_requant *q = &run->rq[e->m0 + r0 + r].q;
        mult[r] = q->mult;
        bias[r] = e->bias ? e->bias[r0 + r] : 0;
        block = block && !q->fixed && isfinite(q->mult);
    }
    uint8_t *y = e->y + r0 * sp + n0;
    if (block) { /* whole tile rows in float mode: vector code */
        qrun_requantize_rows16(tile, mr, mult, bias, run->yzp, run->qmin, run->qmax, y, sp);
        return;
    }
    for (int r = 0; r < mr; r++)
        qrun_requantize_row(&run->rq[e->m0 + r0 + r].q, tile + r * QG_NR, bias[r], nr, run->yzp,
                            run->qmin, run->qmax, y + r * sp);
}

static ql_src ql_conv_src(const ql_conv_run *run) {
    const ql_conv *c = run->c;
    return (ql_src){.x = c->x->data,
                    .u8 = c->x->dtype == QRUN_DTYPE_UINT8,
                    .zp = c->fp8 ? 0 : ql_scalar8(c->xzp),
                    .lut = c->fp8 ? run->prep->tx.v : NULL,
                    .out_sp = c->out_sp,
                    .kp = qg_kp(c->kdim)};
}

/* FP8 unit: im2col, float GEMM in the session's accumulator, requantize. */
static void ql_conv_unit_fp8(const ql_conv_run *run,
                             uint8_t *slot,
                             void *y,
                             int64_t x_off,
                             int64_t m0,
                             int64_t y_off,
                             int nt) {
    const ql_conv *c = run->c;
    ql_src s = ql_conv_src(run);
    if (c->p.n_spatial <= 2)
        ql_im2col_2d(c, &s, x_off, slot, nt);
    else
        ql_im2col_nd(c, &s, x_off, slot, nt);
    float *acc = (float *)(slot + ql_round64((size_t)(c->kdim * c->out_sp) * c->elem));
    ql_gemm_fp8((const float *)run->w + m0 * c->kdim, (const float *)slot, c->mg, c->kdim,
                c->out_sp, run->accum, acc, nt);
    ql_conv_requant_fp8(c, run->rq, acc, m0, y, y_off, nt);
}

/* Elements of one channel's planes with their slack, and of their row-paired copy (pairs). */
static int64_t ql_plane_elems(const ql_conv *c) {
    return c->pl_phases * c->pl_rows * c->pl_cols + QL_PLANE_SLACK(c);
}

/*
 * pairs[2q] = plane[q], pairs[2q + 1] = plane[q + dist] (0 past the end):
 * two taps dist apart (kernel rows ky and ky + 1) become one 32-bit pair, so
 * qg_dw_pairs sums both with one multiply-add.
 */
QRUN_TARGET_CLONES static void
ql_plane_pairs(const int16_t *plane, int64_t n, int64_t dist, int16_t *pairs) {
    int64_t m = n - dist > 0 ? n - dist : 0;
    for (int64_t q = 0; q < m; q++) {
        pairs[2 * q] = plane[q];
        pairs[2 * q + 1] = plane[q + dist];
    }
    for (int64_t q = m; q < n; q++) {
        pairs[2 * q] = plane[q];
        pairs[2 * q + 1] = 0;
    }
}

/*
 * Depthwise unit (channel ch = m0 of batch b): x - x_zp into the zero-padded
 * plane, split by column phase so every tap reads a contiguous row; sums per
 * output row over the taps; then requantize (or store the int32 sums).
 */
static void ql_conv_unit_dw(
    const ql_conv_run *run, uint8_t *slot, void *y, int64_t x_off, int64_t ch, int64_t y_off) {
    const ql_conv *c = run->c;
    const qrun_conv_params *p = &c->p;
    bool two = p->n_spatial == 2;
    int l = p->n_spatial - 1;
    int64_t oh = two ? p->out[0] : 1, ow = p->out[l];
    int64_t kh = two ? p->kernel[0] : 1, kw = p->kernel[l];
    int64_t sh = two ? p->stride[0] : 1, dh = two ? p->dilation[0] : 1, dw = p->dilation[l];
    int64_t S = c->pl_phases, rows = c->pl_rows, cols = c->pl_cols;
    int64_t np = ql_plane_elems(c);
    int16_t *plane = (int16_t *)slot, *pairs = (int16_t *)(slot + c->plane_bytes);
    int32_t *acc = (int32_t *)(slot + 3 * c->plane_bytes);
    ql_src s = ql_conv_src(run);
    ql_plane_fill(c, &s, x_off, plane);
    ql_plane_pairs(plane, np, dh * cols, pairs);
    /* Taps (ky, kx) and (ky + 1, kx) as one pair: offset of the first, both weights. */
    const int16_t *w = (const int16_t *)run->w + ch * c->kdim;
    int64_t off[QL_DW_MAX_TAPS];
    int32_t wp[QL_DW_MAX_TAPS];
    int nt = 0;
    for (int64_t ky = 0; ky < kh; ky += 2) {
        for (int64_t kx = 0; kx < kw; kx++, nt++) {
            int64_t o = kx * dw;
            int16_t two_w[2] = {w[ky * kw + kx], ky + 1 < kh ? w[(ky + 1) * kw + kx] : 0};
            off[nt] = o % S * rows * cols + ky * dh * cols + o / S;
            memcpy(&wp[nt], two_w, sizeof two_w);
        }
    }
    int64_t stride = ow; /* of acc's rows */
    if (ql_dw_flat(c)) {
        qg_dw_pairs(pairs, off, wp, nt, oh * cols, acc);
        stride = cols;
    } else {
        for (int64_t oy = 0; oy < oh; oy++)
            qg_dw_pairs(pairs + 2 * oy * sh * cols, off, wp, nt, ow, acc + oy * ow);
    }
    if (!c->qlinear) {
        for (int64_t oy = 0; oy < oh; oy++)
            memcpy((int32_t *)y + y_off + oy * ow, acc + oy * stride, (size_t)ow * sizeof(int32_t));
        return;
    }
    int32_t bias = c->bias ? ((const int32_t *)c->bias->data)[ch] : 0;
    if (stride == ow) {
        qrun_requantize_row(&run->rq[ch].q, acc, bias, c->out_sp, run->yzp, run->qmin, run->qmax,
                            (uint8_t *)y + y_off);
        return;
    }
    /* Flat sums: requantize them all in one run into the planes (read already), keep ow of each
     * row. */
    uint8_t *flat = (uint8_t *)plane;
    qrun_requantize_row(&run->rq[ch].q, acc, bias, oh * stride, run->yzp, run->qmin, run->qmax,
                        flat);
    for (int64_t oy = 0; oy < oh; oy++)
        memcpy((uint8_t *)y + y_off + oy * ow, flat + oy * stride, (size_t)ow);
}

/* One (batch, group) unit: pack the columns, then the GEMM with the requantization fused. */
static void
ql_conv_unit(const ql_conv_run *run, uint8_t *slot, void *y, int64_t b, int64_t g, int nt) {
    const ql_conv *c = run->c;
    const qrun_conv_params *p = &c->p;
    int64_t x_off = (b * p->c_in + g * c->cg) * c->in_sp;
    int64_t m0 = g * c->mg, y_off = (b * p->c_out + m0) * c->out_sp;
    if (c->fp8) {
        ql_conv_unit_fp8(run, slot, y, x_off, m0, y_off, nt);
        return;
    }
    if (c->dw) {
        ql_conv_unit_dw(run, slot, y, x_off, m0, y_off);
        return;
    }
    ql_src s = ql_conv_src(run);
    int16_t *col = (int16_t *)slot;
    qg_pack_b_pad(c->kdim, c->out_sp, col);
    if (c->pointwise)
        ql_pack_pointwise(c, &s, x_off, col, nt);
    else if (p->n_spatial <= 2)
        ql_pack_cols_2d(c, &s, x_off, col, slot + ql_round64(qg_pack_b_bytes(c->kdim, c->out_sp)),
                        nt);
    else
        ql_im2col_nd(c, &s, x_off, col, nt);
    const int16_t *w = (const int16_t *)run->w + (size_t)g * c->wg_elems;
    if (!c->qlinear) {
        qg_store st = {.c = (int32_t *)y + y_off, .ldc = c->out_sp};
        qg_gemm(w, col, c->mg, c->kdim, c->out_sp, qg_store_epilogue, &st, nt);
        return;
    }
    ql_conv_epi e = {.run = run,
                     .bias = c->bias ? (const int32_t *)c->bias->data + m0 : NULL,
                     .y = (uint8_t *)y + y_off,
                     .m0 = m0};
    qg_gemm(w, col, c->mg, c->kdim, c->out_sp, ql_conv_epilogue, &e, nt);
}

/* Move 8-bit data between N x S x C (channels last) and N x C x S. */
static void ql_channels_swap(
    const uint8_t *src, uint8_t *dst, int64_t n, int64_t ch, int64_t sp, bool to_channels_first) {
    for (int64_t b = 0; b < n; b++) {
        for (int64_t s = 0; s < sp; s++) {
            for (int64_t k = 0; k < ch; k++) {
                int64_t last = (b * sp + s) * ch + k, first = (b * ch + k) * sp + s;
                if (to_channels_first)
                    dst[first] = src[last];
                else
                    dst[last] = src[first];
            }
        }
    }
}

/* Every (batch, group) unit of the conv into NCHW y. */
static void ql_conv_units(const ql_conv_run *run, uint8_t *slots, void *y, int nt) {
    const ql_conv *c = run->c;
    int64_t units = c->p.batch * c->p.group;
    if (nt == 1 || c->slots == 1) {
        for (int64_t u = 0; u < units; u++)
            ql_conv_unit(run, slots, y, u / c->p.group, u % c->p.group, nt);
        return;
    }
    /* Many groups (depthwise): threads take whole groups, each with its own buffers. */
#pragma omp parallel for num_threads(c->slots) schedule(static)
    for (int s = 0; s < c->slots; s++) {
        for (int64_t u = s; u < units; u += c->slots)
            ql_conv_unit(run, slots + (size_t)s * c->slot_bytes, y, u / c->p.group, u % c->p.group,
                         1);
    }
}

static qrun_status ql_eval_conv(const qrun_kernel_call *call) {
    const ql_conv_prep *prep = call->op_data;
    ql_conv c = prep->c;
    ql_conv_bind(call, &c);
    if (call->scratch_bytes < ql_conv_scratch(call))
        return qrun_errf(call->err, QRUN_E_INTERNAL, "scratch too small");
    qrun_status st = ql_conv_check_fp8_zero(call, &c);
    if (st != QRUN_OK)
        return st;
    const uint8_t *tail = (const uint8_t *)call->op_data + ql_conv_prep_head();
    uint8_t *scratch = call->scratch;
    ql_conv_run run = {.c = &c, .prep = prep, .w = tail, .accum = call->fp8_accum};
    if (c.qlinear && !c.fp8) {
        run.yzp = ql_scalar8(c.yzp);
        qrun_quant_int_range(c.y_t, &run.qmin, &run.qmax);
    }
    int nt = ql_threads(call, c.p.batch * c.p.c_out * c.out_sp * c.kdim);
    if (prep->packed) {
        tail += c.w_bytes;
    } else {
        ql_conv_weights(prep, &c, scratch);
        run.w = scratch;
        scratch += c.w_bytes;
    }
    run.rq = (const ql_rq *)tail;
    if (c.qlinear && !prep->rq_known) {
        st = ql_conv_rq(call, &c, (ql_rq *)scratch);
        if (st != QRUN_OK)
            return st;
        run.rq = (const ql_rq *)scratch;
        scratch += c.rq_bytes;
    }
    if (!c.channels_last) {
        ql_conv_units(&run, scratch, call->outputs[0]->data, nt);
        return QRUN_OK;
    }
    uint8_t *xt = scratch + (size_t)c.slots * c.slot_bytes, *yt = xt + c.cl_x_bytes;
    ql_channels_swap(call->inputs[0]->data, xt, c.p.batch, c.p.c_in, c.in_sp, true);
    c.xv.data = xt;
    c.x = &c.xv;
    ql_conv_units(&run, scratch, yt, nt);
    ql_channels_swap(yt, call->outputs[0]->data, c.p.batch, c.p.c_out, c.out_sp, false);
    return QRUN_OK;
}

/* One kernel for all three (com.microsoft QLinearConv: on NCHW copies if channels_last = 1). */
#define QL_CONV_KERNEL(OP)                                                                         \
    {                                                                                              \
        .op = OP, .supports = ql_supports, .op_data_bytes = ql_conv_op_data_bytes,                 \
        .prepare = ql_conv_prepare, .scratch_bytes = ql_conv_scratch, .eval = ql_eval_conv         \
    }

const cpu_ref_kernel cpu_ref_kernels_qlinear_conv[] = {
    QL_CONV_KERNEL(QRUN_OP_CONV_INTEGER),
    QL_CONV_KERNEL(QRUN_OP_QLINEAR_CONV),
    QL_CONV_KERNEL(QRUN_OP_MS_QLINEAR_CONV),
    {.op = QRUN_OP_UNKNOWN},
};
