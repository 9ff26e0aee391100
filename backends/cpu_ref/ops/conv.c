/* SPDX-License-Identifier: Apache-2.0 */
/* Conv and ConvTranspose (float32): im2col/col2im around the shared SGEMM, direct depthwise. */
#include "backends/cpu_ref/kernel.h"
#include "backends/cpu_ref/ops/gemm_f32.h"
#include "runtime/shape/nn_params.h"

#include <stdio.h>
#include <string.h>

/* im2col is done in chunks of output positions so the column buffer stays near this many floats. */
#define CONV_COL_BUDGET ((int64_t)1 << 20)

/* Everything eval and scratch_bytes derive from the node and the input shapes. */
typedef struct conv_plan {
    qrun_conv_params p;
    int64_t cg, mg; /* input / output channels per group */
    int64_t kk;     /* kernel points */
    int64_t kdim;   /* GEMM k = cg * kk (Conv) */
    int64_t in_sp, out_sp;
    int64_t chunk;     /* output positions per im2col chunk */
    bool pointwise;    /* 1x1, stride 1, no pads: X is already the column matrix */
    bool depthwise;    /* one input channel per group, 1-D or 2-D */
    size_t col_floats; /* column buffer, rounded to 64 bytes */
    size_t gemm_bytes;
} conv_plan;

static size_t conv_round64(size_t floats) {
    return (floats + 15) / 16 * 16;
}

static bool conv_supports(const qrun_node *node,
                          const struct qrun_tensor *const *inputs,
                          int n_inputs,
                          char *why,
                          size_t why_cap) {
    for (int i = 0; i < n_inputs && i < 3; i++) {
        qrun_dtype dt = inputs[i] ? inputs[i]->dtype : QRUN_DTYPE_UNDEFINED;
        if (dt != QRUN_DTYPE_UNDEFINED && dt != QRUN_DTYPE_FLOAT) {
            snprintf(why, why_cap, "%s: only float32 is implemented (input %d is %s)",
                     node->op_type, i, qrun_dtype_name(dt));
            return false;
        }
    }
    return true;
}

static bool conv_is_pointwise(const qrun_conv_params *p) {
    for (int i = 0; i < p->n_spatial; i++) {
        if (p->kernel[i] != 1 || p->stride[i] != 1 || p->pad_begin[i] != 0 || p->pad_end[i] != 0)
            return false;
    }
    return true;
}

static qrun_status conv_plan_make(const qrun_kernel_call *call, conv_plan *pl) {
    memset(pl, 0, sizeof *pl);
    qrun_status st =
        qrun_conv_params_get(call->node, call->inputs[0], call->inputs[1], &pl->p, call->err);
    if (st != QRUN_OK)
        return st;
    const qrun_conv_params *p = &pl->p;
    pl->cg = p->c_in / p->group;
    pl->mg = p->c_out / p->group;
    pl->kk = qrun_conv_prod(p->kernel, p->n_spatial);
    pl->kdim = pl->cg * pl->kk;
    pl->in_sp = qrun_conv_prod(p->in, p->n_spatial);
    pl->out_sp = qrun_conv_prod(p->out, p->n_spatial);
    pl->pointwise = conv_is_pointwise(p);
    pl->depthwise = pl->cg == 1 && p->group > 1 && p->n_spatial <= 2;
    if (pl->pointwise || pl->depthwise)
        return QRUN_OK;
    pl->chunk = pl->out_sp;
    if (pl->kdim * pl->out_sp > CONV_COL_BUDGET) {
        pl->chunk = CONV_COL_BUDGET / pl->kdim / 16 * 16;
        if (pl->chunk < 64)
            pl->chunk = 64;
        if (pl->chunk > pl->out_sp)
            pl->chunk = pl->out_sp;
    }
    pl->col_floats = conv_round64((size_t)(pl->kdim * pl->chunk));
    pl->gemm_bytes = cpu_ref_sgemm_scratch_bytes(pl->mg, pl->chunk, pl->kdim, call->n_threads);
    return QRUN_OK;
}

static size_t conv_op_data_bytes(const qrun_kernel_call *call) {
    return sizeof(conv_plan);
}

static qrun_status conv_prepare(const qrun_kernel_call *call, void *op_data) {
    return conv_plan_make(call, op_data);
}

static size_t conv_scratch_bytes(const qrun_kernel_call *call) {
    const conv_plan *pl = call->op_data;
    if (pl->pointwise)
        return cpu_ref_sgemm_scratch_bytes(pl->mg, pl->out_sp, pl->cg, call->n_threads);
    return pl->col_floats * sizeof(float) + pl->gemm_bytes;
}

/* ceil(a / b) for b > 0, and 0 when a <= 0. */
static int64_t conv_ceil_pos(int64_t a, int64_t b) {
    return a <= 0 ? 0 : (a + b - 1) / b;
}

/*
 * conv_im2col for 2-D convs: the same rows, with each tap's valid column
 * range solved once per row and each output row a single run (the generic
 * version recomputes the outer coordinates per run through every axis).
 */
static void conv_im2col_2d(
    const conv_plan *pl, const float *x, int64_t p0, int64_t np, float *col, int n_threads) {
    const qrun_conv_params *p = &pl->p;
    int nt = pl->kdim * np > ((int64_t)1 << 15) ? n_threads : 1;
    int64_t ih = p->in[0], iw = p->in[1], ow = p->out[1];
    int64_t kh = p->kernel[0], kw = p->kernel[1], sh = p->stride[0], sw = p->stride[1];
    int64_t dh = p->dilation[0], ph = p->pad_begin[0];
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t r = 0; r < pl->kdim; r++) {
        int64_t ky = (r / kw) % kh, kx = r % kw;
        const float *xc = x + (r / (kh * kw)) * pl->in_sp;
        float *dst = col + r * np;
        int64_t shift = kx * p->dilation[1] - p->pad_begin[1]; /* input column of ox = 0 */
        int64_t lo_all = conv_ceil_pos(-shift, sw), hi_all = conv_ceil_pos(iw - shift, sw);
        int64_t oy = p0 / ow, ox0 = p0 % ow; /* then one output row per run: no divisions */
        for (int64_t pos = p0; pos < p0 + np; oy++, ox0 = 0) {
            int64_t run = ow - ox0 < p0 + np - pos ? ow - ox0 : p0 + np - pos;
            int64_t iy = oy * sh - ph + ky * dh;
            int64_t lo = lo_all - ox0, hi = hi_all - ox0;
            lo = lo < 0 ? 0 : lo < run ? lo : run;
            hi = hi < lo ? lo : hi < run ? hi : run;
            if (iy < 0 || iy >= ih)
                lo = hi = run;
            for (int64_t j = 0; j < lo; j++)
                dst[j] = 0.0f;
            /* x index of output column ox0 + j: row + (ox0 + j) * sw, >= 0 for j >= lo */
            int64_t row = iy * iw + shift;
            if (sw == 1 && hi > lo) {
                memcpy(dst + lo, xc + row + ox0 + lo, (size_t)(hi - lo) * sizeof(float));
            } else {
                for (int64_t j = lo; j < hi; j++)
                    dst[j] = xc[row + (ox0 + j) * sw];
            }
            for (int64_t j = hi; j < run; j++)
                dst[j] = 0.0f;
            dst += run;
            pos += run;
        }
    }
}

/*
 * Rows of the column matrix for output positions [p0, p0+np) of one group:
 * row r = (c, k_0..k_{n-1}) holds X[c][o*s - pad + k*d] (0 outside X).
 * The innermost spatial axis is done as a run, with its valid range solved
 * once, so the copy loop has no per-element bounds test.
 */
static void conv_im2col(
    const conv_plan *pl, const float *x, int64_t p0, int64_t np, float *col, int n_threads) {
    const qrun_conv_params *p = &pl->p;
    int n = p->n_spatial, last = n - 1;
    int64_t rows = pl->kdim;
    int64_t ow = p->out[last], iw = p->in[last], sw = p->stride[last];
    int nt = rows * np > ((int64_t)1 << 15) ? n_threads : 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t r = 0; r < rows; r++) {
        int64_t kidx[QRUN_MAX_RANK], rem = r % pl->kk;
        for (int d = n - 1; d >= 0; d--) {
            kidx[d] = rem % p->kernel[d];
            rem /= p->kernel[d];
        }
        const float *xc = x + (r / pl->kk) * pl->in_sp;
        float *dst = col + r * np;
        int64_t off_w = kidx[last] * p->dilation[last] - p->pad_begin[last];
        for (int64_t pos = p0; pos < p0 + np;) {
            int64_t ox = pos % ow, q = pos / ow;
            int64_t run = ow - ox < p0 + np - pos ? ow - ox : p0 + np - pos;
            /* Offset of the input row for the outer output coordinates, or -1 when it is padding.
             */
            int64_t row_off = 0;
            bool inside = true;
            for (int d = last - 1; d >= 0; d--) {
                int64_t o = q % p->out[d];
                q /= p->out[d];
                int64_t i = o * p->stride[d] - p->pad_begin[d] + kidx[d] * p->dilation[d];
                if (i < 0 || i >= p->in[d])
                    inside = false;
                row_off += i * qrun_conv_prod(p->in + d + 1, last - d);
            }
            if (!inside) {
                memset(dst, 0, (size_t)run * sizeof(float));
            } else {
                const float *xr = xc + row_off;
                int64_t ix0 = ox * sw + off_w;
                int64_t lo = ix0 >= 0 ? 0 : (-ix0 + sw - 1) / sw;
                int64_t hi = ix0 < iw ? (iw - ix0 + sw - 1) / sw : 0;
                lo = lo < run ? lo : run;
                hi = hi < run ? hi : run;
                hi = hi > lo ? hi : lo;
                for (int64_t j = 0; j < lo; j++)
                    dst[j] = 0.0f;
                if (sw == 1) {
                    memcpy(dst + lo, xr + ix0 + lo, (size_t)(hi - lo) * sizeof(float));
                } else {
                    for (int64_t j = lo; j < hi; j++)
                        dst[j] = xr[ix0 + j * sw];
                }
                for (int64_t j = hi; j < run; j++)
                    dst[j] = 0.0f;
            }
            dst += run;
            pos += run;
        }
    }
}

/* Fill rows [0, m) of y (row length len) with bias[m] or zero. */
static void conv_fill_bias(float *y, int64_t m, int64_t len, const float *bias, int n_threads) {
    int nt = m * len > ((int64_t)1 << 15) ? n_threads : 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t i = 0; i < m; i++) {
        float b = bias ? bias[i] : 0.0f;
        for (int64_t j = 0; j < len; j++)
            y[i * len + j] = b;
    }
}

/* Spatial view as 2-D (1-D convs get H = 1). */
typedef struct conv_2d {
    int64_t ih, iw, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw;
} conv_2d;

static conv_2d conv_as_2d(const qrun_conv_params *p) {
    int l = p->n_spatial - 1;
    bool two = p->n_spatial == 2;
    conv_2d v = {
        .ih = two ? p->in[0] : 1,
        .iw = p->in[l],
        .oh = two ? p->out[0] : 1,
        .ow = p->out[l],
        .kh = two ? p->kernel[0] : 1,
        .kw = p->kernel[l],
        .sh = two ? p->stride[0] : 1,
        .sw = p->stride[l],
        .dh = two ? p->dilation[0] : 1,
        .dw = p->dilation[l],
        .ph = two ? p->pad_begin[0] : 0,
        .pw = p->pad_begin[l],
    };
    return v;
}

/* One output plane of a depthwise conv: y = bias + sum over (ky, kx) of w * shifted x. */
static void
conv_depthwise_plane(const conv_2d *v, const float *x, const float *w, float bias, float *y) {
    for (int64_t i = 0; i < v->oh * v->ow; i++)
        y[i] = bias;
    for (int64_t oy = 0; oy < v->oh; oy++) {
        float *yr = y + oy * v->ow;
        for (int64_t ky = 0; ky < v->kh; ky++) {
            int64_t iy = oy * v->sh - v->ph + ky * v->dh;
            if (iy < 0 || iy >= v->ih)
                continue;
            const float *xr = x + iy * v->iw;
            for (int64_t kx = 0; kx < v->kw; kx++) {
                float wv = w[ky * v->kw + kx];
                int64_t off = kx * v->dw - v->pw;
                int64_t lo = off >= 0 ? 0 : (-off + v->sw - 1) / v->sw;
                int64_t hi = off < v->iw ? (v->iw - off + v->sw - 1) / v->sw : 0;
                hi = hi < v->ow ? hi : v->ow;
                if (v->sw == 1) {
                    const float *xs = xr + off;
                    for (int64_t ox = lo; ox < hi; ox++)
                        yr[ox] += wv * xs[ox];
                } else {
                    for (int64_t ox = lo; ox < hi; ox++)
                        yr[ox] += wv * xr[ox * v->sw + off];
                }
            }
        }
    }
}

static void conv_depthwise(const conv_plan *pl,
                           const float *x,
                           const float *w,
                           const float *bias,
                           float *y,
                           int n_threads) {
    const qrun_conv_params *p = &pl->p;
    conv_2d v = conv_as_2d(p);
    int64_t planes = p->batch * p->c_out;
    int nt = planes * pl->out_sp * pl->kk > ((int64_t)1 << 15) ? n_threads : 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t t = 0; t < planes; t++) {
        int64_t b = t / p->c_out, m = t % p->c_out, c = m / pl->mg;
        conv_depthwise_plane(&v, x + (b * p->c_in + c) * pl->in_sp, w + m * pl->kk,
                             bias ? bias[m] : 0.0f, y + t * pl->out_sp);
    }
}

static qrun_status conv_eval(const qrun_kernel_call *call) {
    const conv_plan pl = *(const conv_plan *)call->op_data;
    const qrun_conv_params *p = &pl.p;
    const float *x = call->inputs[0]->data;
    const float *w = call->inputs[1]->data;
    const float *bias = call->n_inputs > 2 && call->inputs[2] ? call->inputs[2]->data : NULL;
    float *y = call->outputs[0]->data;
    if (pl.depthwise) {
        conv_depthwise(&pl, x, w, bias, y, call->n_threads);
        return QRUN_OK;
    }
    float *col = call->scratch;
    /* No scratch when it would be empty (an empty input or output): no offset from NULL. */
    void *gemm_scratch = pl.pointwise || !col ? call->scratch : (void *)(col + pl.col_floats);
    for (int64_t b = 0; b < p->batch; b++) {
        for (int64_t g = 0; g < p->group; g++) {
            const float *xg = x + (b * p->c_in + g * pl.cg) * pl.in_sp;
            float *yg = y + (b * p->c_out + g * pl.mg) * pl.out_sp;
            if (bias)
                conv_fill_bias(yg, pl.mg, pl.out_sp, bias + g * pl.mg, call->n_threads);
            cpu_ref_sgemm_args ga = {
                .m = pl.mg,
                .k = pl.kdim,
                .alpha = 1.0f,
                .beta = bias ? 1.0f : 0.0f,
                .a = w + g * pl.mg * pl.kdim,
                .lda = pl.kdim,
                .ldc = pl.out_sp,
            };
            if (pl.pointwise) {
                ga.n = pl.out_sp, ga.b = xg, ga.ldb = pl.in_sp, ga.c = yg;
                cpu_ref_sgemm(&ga, gemm_scratch, call->n_threads);
                continue;
            }
            for (int64_t p0 = 0; p0 < pl.out_sp; p0 += pl.chunk) {
                int64_t np = pl.out_sp - p0 < pl.chunk ? pl.out_sp - p0 : pl.chunk;
                if (p->n_spatial == 2)
                    conv_im2col_2d(&pl, xg, p0, np, col, call->n_threads);
                else
                    conv_im2col(&pl, xg, p0, np, col, call->n_threads);
                ga.n = np, ga.b = col, ga.ldb = np, ga.c = yg + p0;
                cpu_ref_sgemm(&ga, gemm_scratch, call->n_threads);
            }
        }
    }
    return QRUN_OK;
}

/* ---- ConvTranspose ------------------------------------------------------ */

/* ConvTranspose: col[(m, k) x in_sp] = W_g^T X_g, then scattered (col2im) into Y. */
typedef struct convt_plan {
    qrun_conv_params p;
    int64_t cg, mg, kk, in_sp, out_sp;
    size_t col_floats;
    size_t gemm_bytes;
} convt_plan;

static qrun_status convt_plan_make(const qrun_kernel_call *call, convt_plan *pl) {
    memset(pl, 0, sizeof *pl);
    qrun_status st = qrun_conv_transpose_params_get(call->node, call->inputs[0], call->inputs[1],
                                                    &pl->p, call->err);
    if (st != QRUN_OK)
        return st;
    const qrun_conv_params *p = &pl->p;
    pl->cg = p->c_in / p->group;
    pl->mg = p->c_out / p->group;
    pl->kk = qrun_conv_prod(p->kernel, p->n_spatial);
    pl->in_sp = qrun_conv_prod(p->in, p->n_spatial);
    pl->out_sp = qrun_conv_prod(p->out, p->n_spatial);
    pl->col_floats = conv_round64((size_t)(pl->mg * pl->kk * pl->in_sp));
    pl->gemm_bytes =
        cpu_ref_sgemm_scratch_bytes(pl->mg * pl->kk, pl->in_sp, pl->cg, call->n_threads);
    return QRUN_OK;
}

static size_t convt_op_data_bytes(const qrun_kernel_call *call) {
    return sizeof(convt_plan);
}

static qrun_status convt_prepare(const qrun_kernel_call *call, void *op_data) {
    return convt_plan_make(call, op_data);
}

static size_t convt_scratch_bytes(const qrun_kernel_call *call) {
    const convt_plan *pl = call->op_data;
    return pl->col_floats * sizeof(float) + pl->gemm_bytes;
}

/* Add the kk rows of col that belong to output channel m into its output plane y. */
static void convt_col2im_channel(const convt_plan *pl, const float *col, float *y) {
    const qrun_conv_params *p = &pl->p;
    int n = p->n_spatial;
    for (int64_t kidx = 0; kidx < pl->kk; kidx++) {
        int64_t k[QRUN_MAX_RANK], rem = kidx;
        for (int d = n - 1; d >= 0; d--) {
            k[d] = rem % p->kernel[d];
            rem /= p->kernel[d];
        }
        const float *src = col + kidx * pl->in_sp;
        for (int64_t i = 0; i < pl->in_sp; i++) {
            int64_t q = i, off = 0, scale = 1;
            bool inside = true;
            for (int d = n - 1; d >= 0; d--) {
                int64_t id = q % p->in[d];
                q /= p->in[d];
                int64_t o = id * p->stride[d] - p->pad_begin[d] + k[d] * p->dilation[d];
                if (o < 0 || o >= p->out[d]) {
                    inside = false;
                    break;
                }
                off += o * scale;
                scale *= p->out[d];
            }
            if (inside)
                y[off] += src[i];
        }
    }
}

static qrun_status convt_eval(const qrun_kernel_call *call) {
    const convt_plan pl = *(const convt_plan *)call->op_data;
    const qrun_conv_params *p = &pl.p;
    const float *x = call->inputs[0]->data;
    const float *w = call->inputs[1]->data;
    const float *bias = call->n_inputs > 2 && call->inputs[2] ? call->inputs[2]->data : NULL;
    float *y = call->outputs[0]->data;
    /* No columns (an empty spatial input, kernel or channel group): nothing is scattered and
     * every output is its bias; there is no scratch either, so no pointer into it. */
    if (pl.col_floats == 0) {
        for (int64_t b = 0; b < p->batch; b++)
            conv_fill_bias(y + b * p->c_out * pl.out_sp, p->c_out, pl.out_sp, bias,
                           call->n_threads);
        return QRUN_OK;
    }
    float *col = call->scratch;
    void *gemm_scratch = col + pl.col_floats;
    int64_t rows = pl.mg * pl.kk;
    for (int64_t b = 0; b < p->batch; b++) {
        for (int64_t g = 0; g < p->group; g++) {
            cpu_ref_sgemm_args ga = {
                .m = rows,
                .n = pl.in_sp,
                .k = pl.cg,
                .alpha = 1.0f,
                .beta = 0.0f,
                .a = w + g * pl.cg * rows,
                .lda = rows,
                .trans_a = true,
                .b = x + (b * p->c_in + g * pl.cg) * pl.in_sp,
                .ldb = pl.in_sp,
                .c = col,
                .ldc = pl.in_sp,
            };
            cpu_ref_sgemm(&ga, gemm_scratch, call->n_threads);
            float *yg = y + (b * p->c_out + g * pl.mg) * pl.out_sp;
            conv_fill_bias(yg, pl.mg, pl.out_sp, bias ? bias + g * pl.mg : NULL, call->n_threads);
            int nt = rows * pl.in_sp > ((int64_t)1 << 15) ? call->n_threads : 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
            for (int64_t m = 0; m < pl.mg; m++)
                convt_col2im_channel(&pl, col + m * pl.kk * pl.in_sp, yg + m * pl.out_sp);
        }
    }
    return QRUN_OK;
}

const cpu_ref_kernel cpu_ref_kernels_conv[] = {
    {.op = QRUN_OP_CONV,
     .supports = conv_supports,
     .op_data_bytes = conv_op_data_bytes,
     .prepare = conv_prepare,
     .scratch_bytes = conv_scratch_bytes,
     .eval = conv_eval},
    {.op = QRUN_OP_CONV_TRANSPOSE,
     .supports = conv_supports,
     .op_data_bytes = convt_op_data_bytes,
     .prepare = convt_prepare,
     .scratch_bytes = convt_scratch_bytes,
     .eval = convt_eval},
    {.op = QRUN_OP_UNKNOWN},
};
