/* SPDX-License-Identifier: Apache-2.0 */
/* cpu_ref integer and FP8 conv/matmul: ConvInteger, MatMulInteger, QLinearConv, QLinearMatMul,
 * QGemm. */
#include "backends/cpu_ref/kernel.h"
#include "backends/cpu_ref/ops/qgemm_s16.h"
#include "runtime/dtype.h"
#include "runtime/fp8_math.h"
#include "runtime/quant.h"
#include "runtime/shape/nn_params.h"
#include "runtime/shape/qlinear_contrib.h"
#include "runtime/shape/shape_util.h"

#include <math.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdio.h>
#include <string.h>

/*
 * Integer operands are uint8/int8. Both sides are widened to int16 with the
 * zero point subtracted (|v| <= 255), products accumulate in int32 (the ONNX
 * reference's type: overflow wraps there and is excluded by the spec).
 * QLinear* outputs are requantized with qrun_requantize in the session's
 * mode (call->requant). Its default, float, is ONNX Runtime's order
 * (qrun_requantize_ort: float32 multiplier and product, round, then the zero
 * point). The ONNX reference adds the zero point before rounding in double;
 * the backend test data passes either way, but real QOperator models
 * (mobilenetv2-12-int8) only reproduce ORT's outputs with ORT's order.
 *
 * FP8 operands (QLinearConv and QLinearMatMul whose x/a and w/b are FP8 or
 * E3M4, see runtime/fp8_math.h) run the FP8 datapath: codes are decoded
 * through 256-entry tables built at prepare, products are exact float32,
 * sums use the session's accumulator (call->fp8_accum), and each output is
 * qrun_fp8_requantize(sum, s_x*s_w/s_y, bias/s_y). FP8 zero points must be 0;
 * the FP8 QLinearConv bias is float32 (see runtime/shape/quant.c).
 *
 * Requantization parameters (one per output channel / scale combination)
 * are computed at prepare when the scales are constants, else at every run.
 *
 * Integer speed (the arithmetic above is unchanged, so results are the same
 * bits on every path and thread count): products run on the packed int16
 * GEMM of ops/qgemm_s16.h (pmaddwd / vpdpwssd micro-kernels), with weights
 * and constant matmul B packed once at prepare. QLinearConv requantizes each
 * finished GEMM tile in the epilogue. Conv columns are copied from
 * zero-padded per-channel planes (x - x_zp as int16, split by column phase
 * for strides > 1) rather than gathered per element; 1x1 convs with unit
 * strides pack X directly; depthwise convs sum their taps directly on the
 * planes, two kernel rows per multiply-add (qg_dw_pairs).
 */

#define QL_NTILE 1024 /* FP8 GEMM: output positions per tile, the accumulator tile stays in L1 */
/* Multiply-adds (~20 us of work) below which a conv/matmul runs on one thread: forking and
 * joining a team costs more, most of all when the cores are shared. */
#define QL_PARALLEL_MIN ((int64_t)1 << 20)
#define QL_DW_CHUNK QG_DW_CHUNK /* depthwise outputs summed in registers at once */
#define QL_DW_MAX_TAPS 64       /* larger depthwise kernels take the GEMM path */
/* Zeroed int16 after a channel's planes: what a last depthwise chunk reads past them. */
#define QL_PLANE_SLACK(c) (QL_DW_CHUNK + (c)->pl_cols)

/* Threads for a product of `macs` multiply-adds. */
static int ql_threads(const qrun_kernel_call *call, int64_t macs) {
    return macs >= QL_PARALLEL_MIN && call->n_threads > 1 ? call->n_threads : 1;
}

static const struct qrun_tensor *ql_in(const qrun_kernel_call *call, int i) {
    return i < call->n_inputs ? call->inputs[i] : NULL;
}

static size_t ql_round64(size_t bytes) {
    return (bytes + 63) / 64 * 64;
}

/* Element i of a uint8/int8 tensor. */
static inline int32_t ql_load8(const void *data, int64_t i, bool u8) {
    return u8 ? (int32_t)((const uint8_t *)data)[i] : (int32_t)((const int8_t *)data)[i];
}

static int64_t ql_numel(const struct qrun_tensor *t) {
    return t ? qrun_tensor_numel_(t) : 0;
}

static double ql_get(const struct qrun_tensor *t, int64_t i) {
    return qrun_dtype_traits_get(t->dtype)->get(t->data, (size_t)i);
}

/* Scalar value of an optional zero point (0 when absent). */
static int32_t ql_scalar8(const struct qrun_tensor *t) {
    return t ? ql_load8(t->data, 0, t->dtype == QRUN_DTYPE_UINT8) : 0;
}

static bool ql_known(const struct qrun_tensor *t) {
    return !t || t->data;
}

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

/* FP8 quantization is symmetric: every element of a known zero point must be 0. */
static qrun_status
ql_fp8_zero(const qrun_kernel_call *call, const struct qrun_tensor *zp, const char *what) {
    if (!zp || !zp->data)
        return QRUN_OK;
    for (int64_t i = 0; i < qrun_tensor_numel_(zp); i++) {
        double v = ql_get(zp, i);
        if (v != 0.0)
            return qrun_errf(call->err, QRUN_E_MODEL,
                             "%s must be 0 for FP8 operands, element %lld is %g", what,
                             (long long)i, v);
    }
    return QRUN_OK;
}

/* ---- requantization parameters -------------------------------------------- */

/* One output channel's requantization: integer (session mode) or FP8 (float32 multiplier). */
typedef struct ql_rq {
    qrun_requant q;
    float fbias; /* FP8: bias / s_y */
} ql_rq;

static qrun_status ql_rq_make(const qrun_kernel_call *call,
                              bool fp8,
                              double sx,
                              double sw,
                              double sy,
                              qrun_dtype scale_t,
                              double bias,
                              ql_rq *out) {
    out->fbias = (float)bias / (float)sy;
    return qrun_requant_init(&out->q, qrun_requant_multiplier(sx, sw, sy, scale_t),
                             fp8 ? QRUN_REQUANT_FLOAT : call->requant, call->err);
}

/* ---- GEMM cores ----------------------------------------------------------- */

/*
 * r[j] = accumulate(r[j], a * b[j]) for j < n (fp8_math.h step 3). Zero
 * operands are not skipped: 0 * Inf is NaN. The float32 loop relies on C11's
 * default of no FP contraction (no fused multiply-add).
 */
static void ql_fp8_axpy(qrun_fp8_accum accum, float a, const float *b, float *r, int64_t n) {
    if (accum == QRUN_FP8_ACCUM_FP32) {
        for (int64_t j = 0; j < n; j++)
            r[j] += a * b[j];
        return;
    }
    for (int64_t j = 0; j < n; j++)
        r[j] = qrun_fp8_accum_add_narrow(accum, r[j], a * b[j]);
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
        c->x = call->inputs[0], c->xs = call->inputs[1], c->xzp = ql_in(call, 2);
        c->w = call->inputs[3], c->ws = call->inputs[4], c->wzp = ql_in(call, 5);
        c->ys = call->inputs[6], c->yzp = ql_in(call, 7), c->bias = ql_in(call, 8);
    } else {
        c->x = call->inputs[0], c->w = call->inputs[1];
        c->xzp = ql_in(call, 2), c->wzp = ql_in(call, 3);
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
        int32_t zp = c->wzp ? ql_load8(c->wzp->data, per_ch ? m : 0, zu8) : 0;
        int16_t *grp = w16 + (c->dw ? 0 : (size_t)(m / c->mg) * c->wg_elems);
        for (int64_t k = 0; k < c->kdim; k++) {
            int64_t at = c->dw ? m * c->kdim + k : qg_a_at(kp, m % c->mg, k);
            grp[at] = (int16_t)(ql_load8(c->w->data, m * c->kdim + k, u8) - zp);
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
        src < 0 ? 0 : (int16_t)(ql_load8(s->x, src, s->u8) - s->zp);
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

/* ---- matrix products ------------------------------------------------------ */

/*
 * numpy matmul of a [.., M, K] and b [.., K, N] with broadcast batch dims.
 * The requantization table has rq_rows x numel(b_scale) entries: one row per
 * (a matrix, row) when a_scale or y_scale vary by row, else a single row.
 */
typedef struct ql_mm {
    bool qlinear, fp8;
    qrun_dtype y_t;
    const struct qrun_tensor *a, *b, *azp, *bzp, *as, *bs, *ys, *yzp;
    int64_t m, n, k, batch;
    int brank;
    int64_t bdims[QRUN_MAX_RANK], astr[QRUN_MAX_RANK], bstr[QRUN_MAX_RANK]; /* in matrices */
    int64_t a_mats, b_mats;
    int64_t rq_rows, rq_cols;
    int slots;
    size_t b_bytes;    /* B as the GEMM reads it: int16 minus zero point, or decoded FP8 */
    size_t pb_elems;   /* integer: int16 elements of one packed B matrix (qgemm_s16.h) */
    size_t pa_bytes;   /* integer: one packed A matrix */
    size_t acc_bytes;  /* integer QLinearMatMul: int32 sums of one output matrix */
    size_t rq_bytes;   /* requantization table */
    size_t slot_bytes; /* per slot: one row of int32 or float accumulators */
} ql_mm;

static void
ql_mm_strides(const struct qrun_tensor *t, const ql_mm *q, int64_t *str, int64_t *mats) {
    int r = t->rank > 2 ? t->rank - 2 : 0;
    int64_t s = 1;
    for (int d = q->brank - 1; d >= 0; d--) {
        int td = d - (q->brank - r);
        int64_t dim = td >= 0 ? t->dims[td] : 1;
        str[d] = dim == 1 ? 0 : s;
        s *= dim;
    }
    *mats = s;
}

/* Index of parameter t for (matrix mat, row-or-column rc): scalar, per rc, or per (mat, rc). */
static inline int64_t
ql_mm_pidx(const struct qrun_tensor *t, int64_t mat, int64_t rc, int64_t len) {
    int64_t n = qrun_tensor_numel_(t);
    return n == 1 ? 0 : n == len ? rc : mat * len + rc;
}

static qrun_status ql_mm_param(const qrun_kernel_call *call,
                               const struct qrun_tensor *t,
                               const char *what,
                               int64_t len,
                               int64_t mats) {
    int64_t c = ql_numel(t);
    if (!t || c == 1 || c == len || c == len * mats)
        return QRUN_OK;
    return qrun_errf(call->err, QRUN_E_UNSUPPORTED,
                     "%s with %lld elements (expected scalar, per-row or per-column)", what,
                     (long long)c);
}

static void ql_mm_bind(const qrun_kernel_call *call, ql_mm *q) {
    q->qlinear = call->node->op == QRUN_OP_QLINEAR_MATMUL;
    if (q->qlinear) {
        q->a = call->inputs[0], q->as = call->inputs[1], q->azp = ql_in(call, 2);
        q->b = call->inputs[3], q->bs = call->inputs[4], q->bzp = ql_in(call, 5);
        q->ys = call->inputs[6], q->yzp = ql_in(call, 7);
    } else {
        q->a = call->inputs[0], q->b = call->inputs[1];
        q->azp = ql_in(call, 2), q->bzp = ql_in(call, 3);
    }
    q->fp8 = q->qlinear && qrun_fp8_is_mac_type(q->a->dtype);
    q->y_t = call->outputs[0]->dtype;
}

static qrun_status ql_mm_check(const qrun_kernel_call *call, const ql_mm *q) {
    qrun_status st = ql_mm_param(call, q->azp, "a_zero_point", q->m, q->a_mats);
    if (st == QRUN_OK)
        st = ql_mm_param(call, q->bzp, "b_zero_point", q->n, q->b_mats);
    if (st == QRUN_OK && q->qlinear)
        st = ql_mm_param(call, q->as, "a_scale", q->m, q->a_mats);
    if (st == QRUN_OK && q->qlinear)
        st = ql_mm_param(call, q->bs, "b_scale", q->n, q->b_mats);
    if (st == QRUN_OK && q->qlinear)
        st = ql_mm_param(call, q->ys, "y_scale", q->m, 1);
    if (st == QRUN_OK && q->qlinear)
        st = ql_mm_param(call, q->yzp, "y_zero_point", q->m, 1);
    if (st != QRUN_OK || !q->fp8)
        return st;
    st = ql_fp8_zero(call, q->azp, "a_zero_point");
    if (st == QRUN_OK)
        st = ql_fp8_zero(call, q->bzp, "b_zero_point");
    if (st == QRUN_OK)
        st = ql_fp8_zero(call, q->yzp, "y_zero_point");
    return st;
}

static qrun_status ql_mm_plan(const qrun_kernel_call *call, ql_mm *q) {
    memset(q, 0, sizeof *q);
    ql_mm_bind(call, q);
    const struct qrun_tensor *y = call->outputs[0];
    q->k = q->a->dims[q->a->rank - 1];
    q->m = q->a->rank >= 2 ? q->a->dims[q->a->rank - 2] : 1;
    q->n = q->b->rank >= 2 ? q->b->dims[q->b->rank - 1] : 1;
    q->brank = y->rank - (q->a->rank >= 2) - (q->b->rank >= 2);
    q->batch = 1;
    for (int d = 0; d < q->brank; d++) {
        q->bdims[d] = y->dims[d];
        q->batch *= y->dims[d];
    }
    ql_mm_strides(q->a, q, q->astr, &q->a_mats);
    ql_mm_strides(q->b, q, q->bstr, &q->b_mats);
    int64_t rows = q->batch * q->m;
    q->slots = rows < call->n_threads ? (int)(rows > 0 ? rows : 1) : call->n_threads;
    if (q->slots < 1)
        q->slots = 1;
    size_t elem = q->fp8 ? sizeof(float) : sizeof(int16_t);
    q->b_bytes = ql_round64((size_t)qrun_tensor_numel_(q->b) * elem);
    if (!q->fp8) {
        q->pb_elems = qg_pack_b_bytes(q->k, q->n) / sizeof(int16_t);
        q->b_bytes = ql_round64((size_t)q->b_mats * q->pb_elems * sizeof(int16_t));
        q->pa_bytes = ql_round64(qg_pack_a_bytes(q->m, q->k));
        q->acc_bytes = q->qlinear ? ql_round64((size_t)(q->m * q->n) * sizeof(int32_t)) : 0;
    }
    q->slot_bytes = ql_round64((size_t)q->n * sizeof(int32_t)); /* int32 or float */
    if (q->qlinear) {
        bool by_row = ql_numel(q->as) > 1 || ql_numel(q->ys) > 1;
        q->rq_rows = by_row ? q->a_mats * q->m : 1;
        q->rq_cols = ql_numel(q->bs);
        q->rq_bytes = ql_round64((size_t)(q->rq_rows * q->rq_cols) * sizeof(ql_rq));
    }
    return ql_mm_check(call, q);
}

/*
 * Op data: whether the requantization table and packed B are known, the FP8
 * decode tables, then the table, then (integer, B and its zero point
 * constant) B packed for the GEMM.
 */
typedef struct ql_mm_prep {
    bool rq_known;
    bool b_packed; /* integer B packed at prepare: follows the table in op data */
    qrun_fp8_table ta, tb;
} ql_mm_prep;

static size_t ql_mm_prep_head(void) {
    return ql_round64(sizeof(ql_mm_prep));
}

static bool ql_mm_rq_known(const ql_mm *q) {
    return q->qlinear && q->as->data && q->bs->data && q->ys->data;
}

static bool ql_mm_b_known(const ql_mm *q) {
    return !q->fp8 && q->b->data && ql_known(q->bzp);
}

static size_t ql_mm_op_data_bytes(const qrun_kernel_call *call) {
    ql_mm q;
    if (ql_mm_plan(call, &q) != QRUN_OK)
        return ql_mm_prep_head();
    return ql_mm_prep_head() + (ql_mm_rq_known(&q) ? q.rq_bytes : 0) +
           (ql_mm_b_known(&q) ? q.b_bytes : 0);
}

/* The requantization of every (row key, b_scale index) pair. */
static qrun_status ql_mm_rq(const qrun_kernel_call *call, const ql_mm *q, ql_rq *rq) {
    for (int64_t r = 0; r < q->rq_rows; r++) {
        int64_t am = r / q->m, i = r % q->m;
        double as = ql_get(q->as, ql_mm_pidx(q->as, am, i, q->m));
        double ys = ql_get(q->ys, ql_mm_pidx(q->ys, 0, i, q->m));
        for (int64_t c = 0; c < q->rq_cols; c++) {
            qrun_status st = ql_rq_make(call, q->fp8, as, ql_get(q->bs, c), ys, q->as->dtype, 0.0,
                                        &rq[r * q->rq_cols + c]);
            if (st != QRUN_OK)
                return st;
        }
    }
    return QRUN_OK;
}

/*
 * B as the GEMM reads it: FP8 decoded in B's layout, or B - b_zero_point (per
 * column, per matrix) as int16, each matrix packed (qgemm_s16.h).
 */
static void ql_mm_b(const ql_mm *q, const ql_mm_prep *prep, void *bbuf) {
    if (q->fp8) {
        const uint8_t *b = q->b->data;
        for (int64_t i = 0; i < qrun_tensor_numel_(q->b); i++)
            ((float *)bbuf)[i] = prep->tb.v[b[i]];
        return;
    }
    bool u8 = q->b->dtype == QRUN_DTYPE_UINT8;
    bool zu8 = q->bzp && q->bzp->dtype == QRUN_DTYPE_UINT8;
    int64_t kn = q->k * q->n, kp = qg_kp(q->k);
    for (int64_t mat = 0; mat < q->b_mats; mat++) {
        int16_t *dst = (int16_t *)bbuf + (size_t)mat * q->pb_elems;
        qg_pack_b_pad(q->k, q->n, dst);
        for (int64_t kk = 0; kk < q->k; kk++) {
            for (int64_t j = 0; j < q->n; j++) {
                int32_t zp =
                    q->bzp ? ql_load8(q->bzp->data, ql_mm_pidx(q->bzp, mat, j, q->n), zu8) : 0;
                dst[qg_b_at(kp, kk, j)] =
                    (int16_t)(ql_load8(q->b->data, mat * kn + kk * q->n + j, u8) - zp);
            }
        }
    }
}

static qrun_status ql_mm_prepare(const qrun_kernel_call *call, void *op_data) {
    ql_mm_prep *prep = op_data;
    ql_mm q;
    qrun_status st = ql_mm_plan(call, &q);
    if (st != QRUN_OK)
        return st;
    if (q.fp8) {
        qrun_fp8_table_init(&prep->ta, q.a->dtype);
        qrun_fp8_table_init(&prep->tb, q.b->dtype);
    }
    prep->rq_known = ql_mm_rq_known(&q);
    prep->b_packed = ql_mm_b_known(&q);
    uint8_t *tail = (uint8_t *)op_data + ql_mm_prep_head();
    if (prep->rq_known) {
        st = ql_mm_rq(call, &q, (ql_rq *)tail);
        tail += q.rq_bytes;
    }
    if (st == QRUN_OK && prep->b_packed)
        ql_mm_b(&q, prep, tail);
    return st;
}

/*
 * Scratch: B as the GEMM reads it unless packed, the requantization table
 * unless known, then FP8: the row slots; integer: packed A and the sums.
 */
static size_t ql_mm_scratch(const qrun_kernel_call *call) {
    const ql_mm_prep *prep = call->op_data;
    ql_mm q;
    if (ql_mm_plan(call, &q) != QRUN_OK)
        return 0;
    size_t work = q.fp8 ? (size_t)q.slots * q.slot_bytes : q.pa_bytes + q.acc_bytes;
    return (prep->b_packed ? 0 : q.b_bytes) + (prep->rq_known ? 0 : q.rq_bytes) + work;
}

/* Matrix indices (into a's and b's batch of matrices) of output batch t. */
static void ql_mm_mats(const ql_mm *q, int64_t t, int64_t *am, int64_t *bm) {
    int64_t ia = 0, ib = 0;
    for (int d = q->brank - 1; d >= 0; d--) {
        int64_t i = t % q->bdims[d];
        t /= q->bdims[d];
        ia += i * q->astr[d];
        ib += i * q->bstr[d];
    }
    *am = ia;
    *bm = ib;
}

/* What one run works with. */
typedef struct ql_mm_run {
    const ql_mm *q;
    const ql_mm_prep *prep;
    const void *b;   /* ql_mm_b */
    const ql_rq *rq; /* ql_mm_rq */
    qrun_fp8_accum accum;
} ql_mm_run;

/* One FP8 output row of sums (fp8_math.h steps 1-3), in k order from +0. */
static void ql_mm_row_fp8(const ql_mm_run *run, int64_t am, int64_t bm, int64_t i, float *acc) {
    const ql_mm *q = run->q;
    const uint8_t *a = (const uint8_t *)q->a->data + (am * q->m + i) * q->k;
    const float *bmat = (const float *)run->b + bm * q->k * q->n;
    for (int64_t j = 0; j < q->n; j++)
        acc[j] = 0.0f;
    for (int64_t kk = 0; kk < q->k; kk++)
        ql_fp8_axpy(run->accum, run->prep->ta.v[a[kk]], bmat + kk * q->n, acc, q->n);
}

/* Requantize output row i of batch matrix (am, bm) from its accumulators. */
static void ql_mm_requant_row(const ql_mm_run *run,
                              const void *acc,
                              int64_t am,
                              int64_t bm,
                              int64_t i,
                              void *y,
                              int64_t y_off) {
    const ql_mm *q = run->q;
    const ql_rq *rq = run->rq + (q->rq_rows > 1 ? am * q->m + i : 0) * q->rq_cols;
    int32_t qmin = 0, qmax = 255;
    qrun_quant_int_range(q->y_t, &qmin, &qmax);
    int32_t zp = q->yzp && !q->fp8 ? (int32_t)ql_get(q->yzp, ql_mm_pidx(q->yzp, 0, i, q->m)) : 0;
    for (int64_t j = 0; j < q->n; j++) {
        const ql_rq *r = &rq[ql_mm_pidx(q->bs, bm, j, q->n)];
        if (q->fp8) {
            ((uint8_t *)y)[y_off + j] =
                qrun_fp8_requantize(q->y_t, ((const float *)acc)[j], r->q.mult, r->fbias);
            continue;
        }
        int32_t v = qrun_requantize(&r->q, ((const int32_t *)acc)[j], zp, qmin, qmax);
        if (q->y_t == QRUN_DTYPE_UINT8)
            ((uint8_t *)y)[y_off + j] = (uint8_t)v;
        else
            ((int8_t *)y)[y_off + j] = (int8_t)v;
    }
}

/* One FP8 output row r (batch-major) of sums, then its requantization. */
static void ql_mm_one_fp8(const ql_mm_run *run, void *acc, void *y, int64_t r) {
    const ql_mm *q = run->q;
    int64_t t = r / q->m, i = r % q->m, am, bm;
    ql_mm_mats(q, t, &am, &bm);
    ql_mm_row_fp8(run, am, bm, i, acc);
    ql_mm_requant_row(run, acc, am, bm, i, y, r * q->n);
}

/* A matrix am - a_zero_point (per row, per matrix) as int16, packed (qgemm_s16.h). */
static void ql_mm_pack_a(const ql_mm *q, int64_t am, int16_t *dst) {
    bool u8 = q->a->dtype == QRUN_DTYPE_UINT8;
    bool zu8 = q->azp && q->azp->dtype == QRUN_DTYPE_UINT8;
    int64_t kp = qg_kp(q->k);
    memset(dst, 0, qg_pack_a_bytes(q->m, q->k)); /* the padding */
    for (int64_t i = 0; i < q->m; i++) {
        int32_t zp = q->azp ? ql_load8(q->azp->data, ql_mm_pidx(q->azp, am, i, q->m), zu8) : 0;
        int64_t a0 = (am * q->m + i) * q->k;
        for (int64_t kk = 0; kk < q->k; kk++)
            dst[qg_a_at(kp, i, kk)] = (int16_t)(ql_load8(q->a->data, a0 + kk, u8) - zp);
    }
}

/* Integer products, one output matrix at a time: pack A, GEMM, requantize the rows. */
static void ql_mm_int(const ql_mm_run *run, uint8_t *work, void *y, int nt) {
    const ql_mm *q = run->q;
    int16_t *pa = (int16_t *)work;
    int32_t *acc = (int32_t *)(work + q->pa_bytes);
    for (int64_t t = 0; t < q->batch; t++) {
        int64_t am, bm;
        ql_mm_mats(q, t, &am, &bm);
        ql_mm_pack_a(q, am, pa);
        const int16_t *pb = (const int16_t *)run->b + (size_t)bm * q->pb_elems;
        int64_t y_off = t * q->m * q->n;
        qg_store st = {.c = q->qlinear ? acc : (int32_t *)y + y_off, .ldc = q->n};
        qg_gemm(pa, pb, q->m, q->k, q->n, qg_store_epilogue, &st, nt);
        if (!q->qlinear)
            continue;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
        for (int64_t i = 0; i < q->m; i++)
            ql_mm_requant_row(run, acc + i * q->n, am, bm, i, y, y_off + i * q->n);
    }
}

static qrun_status ql_eval_matmul(const qrun_kernel_call *call) {
    const ql_mm_prep *prep = call->op_data;
    ql_mm q;
    qrun_status st = ql_mm_plan(call, &q);
    if (st != QRUN_OK)
        return st;
    if (call->scratch_bytes < ql_mm_scratch(call))
        return qrun_errf(call->err, QRUN_E_INTERNAL, "scratch too small");
    uint8_t *scratch = call->scratch;
    const uint8_t *tail = (const uint8_t *)call->op_data + ql_mm_prep_head();
    ql_mm_run run = {.q = &q,
                     .prep = prep,
                     .b = tail + (prep->rq_known ? q.rq_bytes : 0),
                     .rq = (const ql_rq *)tail,
                     .accum = call->fp8_accum};
    if (!prep->b_packed) {
        ql_mm_b(&q, prep, scratch);
        run.b = scratch;
        scratch += q.b_bytes;
    }
    if (q.qlinear && !prep->rq_known) {
        st = ql_mm_rq(call, &q, (ql_rq *)scratch);
        if (st != QRUN_OK)
            return st;
        run.rq = (const ql_rq *)scratch;
        scratch += q.rq_bytes;
    }
    void *y = call->outputs[0]->data;
    int64_t rows = q.batch * q.m;
    int nt = ql_threads(call, rows * q.n * q.k);
    if (!q.fp8) {
        ql_mm_int(&run, scratch, y, nt);
        return QRUN_OK;
    }
    nt = nt > 1 ? q.slots : 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int s = 0; s < q.slots; s++) {
        void *acc = scratch + (size_t)s * q.slot_bytes;
        for (int64_t r = s; r < rows; r += q.slots)
            ql_mm_one_fp8(&run, acc, y, r);
    }
    return QRUN_OK;
}

/* ---- QGemm (com.microsoft) ------------------------------------------------- */

/*
 * Y = alpha * A' B' + C in the integer domain (A' = transA ? A^T : A, same for
 * B): A - a_zp and B - b_zp[col] as int16, the int32 product from the shared
 * GEMM core plus C (int32, broadcast to [M, N]), then either float32 output
 * acc * (alpha * a_scale * b_scale[col]) (no y_scale) or requantization with
 * that multiplier / y_scale in the session's mode (float: ONNX Runtime's order). B - b_zp is packed
 * once at prepare when both are constants.
 */
typedef struct ql_qgemm {
    int64_t m, n, k;
    bool ta, tb;
    bool packed; /* B16 follows the header in op data */
    size_t a_bytes, b_bytes, acc_bytes;
} ql_qgemm;

static size_t ql_qgemm_head(void) {
    return ql_round64(sizeof(ql_qgemm));
}

static void ql_qgemm_plan(const qrun_kernel_call *call, ql_qgemm *g) {
    const struct qrun_tensor *a = call->inputs[0], *b = call->inputs[3];
    memset(g, 0, sizeof *g);
    g->ta = qrun_node_attr_int(call->node, "transA", 0) != 0;
    g->tb = qrun_node_attr_int(call->node, "transB", 0) != 0;
    g->m = a->dims[g->ta ? 1 : 0];
    g->k = a->dims[g->ta ? 0 : 1];
    g->n = b->dims[g->tb ? 0 : 1];
    g->a_bytes = ql_round64(qg_pack_a_bytes(g->m, g->k));
    g->b_bytes = ql_round64(qg_pack_b_bytes(g->k, g->n));
    g->acc_bytes = ql_round64((size_t)(g->m * g->n) * sizeof(int32_t));
}

static bool ql_qgemm_b_known(const qrun_kernel_call *call) {
    const struct qrun_tensor *bzp = ql_in(call, 5);
    return call->inputs[3]->data && (!bzp || bzp->data);
}

/* B' - b_zp[col] as int16, packed (qgemm_s16.h). */
static void ql_qgemm_pack_b(const qrun_kernel_call *call, const ql_qgemm *g, int16_t *b16) {
    const struct qrun_tensor *b = call->inputs[3], *bzp = ql_in(call, 5);
    bool u8 = b->dtype == QRUN_DTYPE_UINT8, per_col = ql_numel(bzp) > 1;
    int64_t kp = qg_kp(g->k);
    qg_pack_b_pad(g->k, g->n, b16);
    for (int64_t kk = 0; kk < g->k; kk++) {
        for (int64_t j = 0; j < g->n; j++) {
            int32_t zp = bzp ? ql_load8(bzp->data, per_col ? j : 0, u8) : 0;
            int64_t src = g->tb ? j * g->k + kk : kk * g->n + j;
            b16[qg_b_at(kp, kk, j)] = (int16_t)(ql_load8(b->data, src, u8) - zp);
        }
    }
}

/* A' - a_zp as int16, packed (qgemm_s16.h). */
static void ql_qgemm_pack_a(const qrun_kernel_call *call, const ql_qgemm *g, int16_t *a16) {
    const struct qrun_tensor *a = call->inputs[0];
    bool u8 = a->dtype == QRUN_DTYPE_UINT8;
    int32_t zp = ql_scalar8(ql_in(call, 2));
    int64_t kp = qg_kp(g->k);
    memset(a16, 0, qg_pack_a_bytes(g->m, g->k)); /* the padding */
    for (int64_t i = 0; i < g->m; i++) {
        for (int64_t kk = 0; kk < g->k; kk++) {
            int64_t src = g->ta ? kk * g->m + i : i * g->k + kk;
            a16[qg_a_at(kp, i, kk)] = (int16_t)(ql_load8(a->data, src, u8) - zp);
        }
    }
}

static size_t ql_qgemm_op_data_bytes(const qrun_kernel_call *call) {
    ql_qgemm g;
    ql_qgemm_plan(call, &g);
    return ql_qgemm_head() + (ql_qgemm_b_known(call) ? g.b_bytes : 0);
}

static qrun_status ql_qgemm_prepare(const qrun_kernel_call *call, void *op_data) {
    ql_qgemm *g = op_data;
    ql_qgemm_plan(call, g);
    g->packed = ql_qgemm_b_known(call);
    if (g->packed)
        ql_qgemm_pack_b(call, g, (int16_t *)((uint8_t *)op_data + ql_qgemm_head()));
    return QRUN_OK;
}

static size_t ql_qgemm_scratch(const qrun_kernel_call *call) {
    const ql_qgemm *g = call->op_data;
    return g->a_bytes + (g->packed ? 0 : g->b_bytes) + g->acc_bytes;
}

/* C[i][j] under numpy broadcasting of C's shape to [M, N]. */
static int32_t ql_qgemm_bias(const struct qrun_tensor *c, int64_t i, int64_t j) {
    if (!c)
        return 0;
    const int32_t *v = c->data;
    int64_t rows = c->rank == 2 ? c->dims[0] : 1, cols = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
    return v[(rows > 1 ? i : 0) * cols + (cols > 1 ? j : 0)];
}

static qrun_status
ql_qgemm_output(const qrun_kernel_call *call, const ql_qgemm *g, const int32_t *acc) {
    const struct qrun_tensor *bs = call->inputs[4], *c = ql_in(call, 6);
    const struct qrun_tensor *ys = ql_in(call, 7), *yzp = ql_in(call, 8);
    struct qrun_tensor *y = call->outputs[0];
    float alpha = qrun_node_attr_float(call->node, "alpha", 1.0f);
    float as = (float)ql_get(call->inputs[1], 0);
    bool per_col = ql_numel(bs) > 1;
    int32_t zp = ql_scalar8(yzp), qmin = 0, qmax = 255;
    qrun_quant_int_range(y->dtype, &qmin, &qmax);
    for (int64_t j = 0; j < g->n; j++) {
        float mult = alpha * as * (float)ql_get(bs, per_col ? j : 0);
        qrun_requant rq;
        if (ys) {
            mult /= (float)ql_get(ys, 0);
            qrun_status st = qrun_requant_init(&rq, mult, call->requant, call->err);
            if (st != QRUN_OK)
                return st;
        }
        for (int64_t i = 0; i < g->m; i++) {
            /* int32 accumulator + int32 bias can leave int32: saturate, as the sum would. */
            int64_t v64 = (int64_t)acc[i * g->n + j] + ql_qgemm_bias(c, i, j);
            int32_t v = v64 > INT32_MAX ? INT32_MAX : v64 < INT32_MIN ? INT32_MIN : (int32_t)v64;
            if (!ys)
                ((float *)y->data)[i * g->n + j] = (float)v * mult;
            else
                ((uint8_t *)y->data)[i * g->n + j] =
                    (uint8_t)qrun_requantize(&rq, v, zp, qmin, qmax);
        }
    }
    return QRUN_OK;
}

static qrun_status ql_eval_qgemm(const qrun_kernel_call *call) {
    const ql_qgemm *g = call->op_data;
    if (call->scratch_bytes < ql_qgemm_scratch(call))
        return qrun_errf(call->err, QRUN_E_INTERNAL, "scratch too small");
    uint8_t *s = call->scratch;
    int16_t *a16 = (int16_t *)s;
    const int16_t *b16 = (const int16_t *)((const uint8_t *)call->op_data + ql_qgemm_head());
    int32_t *acc = (int32_t *)(s + g->a_bytes + (g->packed ? 0 : g->b_bytes));
    if (!g->packed) {
        ql_qgemm_pack_b(call, g, (int16_t *)(s + g->a_bytes));
        b16 = (const int16_t *)(s + g->a_bytes);
    }
    ql_qgemm_pack_a(call, g, a16);
    qg_store st = {.c = acc, .ldc = g->n};
    qg_gemm(a16, b16, g->m, g->k, g->n, qg_store_epilogue, &st,
            ql_threads(call, g->m * g->n * g->k));
    return ql_qgemm_output(call, g, acc);
}

/* ---- supports ------------------------------------------------------------- */

static bool ql_is_8bit(qrun_dtype t) {
    return t == QRUN_DTYPE_UNDEFINED || t == QRUN_DTYPE_UINT8 || t == QRUN_DTYPE_INT8;
}

static bool ql_supports(const qrun_node *node,
                        const struct qrun_tensor *const *inputs,
                        int n_inputs,
                        char *why,
                        size_t why_cap) {
    static const int q_idx[] = {0, 2, 3, 5, 7}; /* x, x_zp, w, w_zp, y_zp (A, a_zp, B, b_zp) */
    static const int plain[] = {0, 1, 2, 3};
    bool onnx_qlinear = node->op == QRUN_OP_QLINEAR_CONV || node->op == QRUN_OP_QLINEAR_MATMUL;
    bool qlinear = onnx_qlinear || node->op == QRUN_OP_MS_QLINEAR_CONV;
    const int *idx = qlinear || node->op == QRUN_OP_MS_QGEMM ? q_idx : plain;
    int n = qlinear ? 5 : 4;
    for (int k = 0; k < n; k++) {
        const struct qrun_tensor *t = idx[k] < n_inputs ? inputs[idx[k]] : NULL;
        if (!t || ql_is_8bit(t->dtype) || (onnx_qlinear && qrun_fp8_is_mac_type(t->dtype)))
            continue;
        snprintf(why, why_cap, "%s: input %d type %s is not supported", node->op_type, idx[k],
                 qrun_dtype_name(t->dtype));
        return false;
    }
    return true;
}

const cpu_ref_kernel cpu_ref_kernels_qlinear[] = {
    {.op = QRUN_OP_CONV_INTEGER,
     .supports = ql_supports,
     .op_data_bytes = ql_conv_op_data_bytes,
     .prepare = ql_conv_prepare,
     .scratch_bytes = ql_conv_scratch,
     .eval = ql_eval_conv},
    {.op = QRUN_OP_QLINEAR_CONV,
     .supports = ql_supports,
     .op_data_bytes = ql_conv_op_data_bytes,
     .prepare = ql_conv_prepare,
     .scratch_bytes = ql_conv_scratch,
     .eval = ql_eval_conv},
    /* com.microsoft QLinearConv: the ONNX kernel (on NCHW copies when channels_last = 1). */
    {.op = QRUN_OP_MS_QLINEAR_CONV,
     .supports = ql_supports,
     .op_data_bytes = ql_conv_op_data_bytes,
     .prepare = ql_conv_prepare,
     .scratch_bytes = ql_conv_scratch,
     .eval = ql_eval_conv},
    {.op = QRUN_OP_MS_QGEMM,
     .supports = ql_supports,
     .op_data_bytes = ql_qgemm_op_data_bytes,
     .prepare = ql_qgemm_prepare,
     .scratch_bytes = ql_qgemm_scratch,
     .eval = ql_eval_qgemm},
    {.op = QRUN_OP_MATMUL_INTEGER,
     .supports = ql_supports,
     .op_data_bytes = ql_mm_op_data_bytes,
     .prepare = ql_mm_prepare,
     .scratch_bytes = ql_mm_scratch,
     .eval = ql_eval_matmul},
    {.op = QRUN_OP_QLINEAR_MATMUL,
     .supports = ql_supports,
     .op_data_bytes = ql_mm_op_data_bytes,
     .prepare = ql_mm_prepare,
     .scratch_bytes = ql_mm_scratch,
     .eval = ql_eval_matmul},
    {.op = QRUN_OP_UNKNOWN},
};
