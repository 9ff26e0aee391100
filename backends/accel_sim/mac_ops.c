/* SPDX-License-Identifier: Apache-2.0 */
/* The accelerator's conv/matmul kernels on its own MAC datapath (see mac_ops.h). */
#include "backends/accel_sim/mac_ops.h"

#include "runtime/dtype.h"
#include "runtime/quant.h"
#include "runtime/shape/qlinear_contrib.h"

#include <stdio.h>
#include <string.h>

/* The operands and quantization parameters of one call, by role. */
typedef struct mac_io {
    const struct qrun_tensor *a, *w, *azp, *wzp, *as, *ws, *ys, *yzp, *bias;
    struct qrun_tensor *y;
} mac_io;

static const struct qrun_tensor *in_at(const qrun_kernel_call *call, int i) {
    return i < call->n_inputs ? call->inputs[i] : NULL;
}

static bool qlinear_op(qrun_op op) {
    return op == QRUN_OP_QLINEAR_CONV || op == QRUN_OP_MS_QLINEAR_CONV ||
           op == QRUN_OP_QLINEAR_MATMUL || op == QRUN_OP_MS_QGEMM;
}

int accel_mac_weight_input(qrun_op op) {
    switch (op) {
    case QRUN_OP_CONV_INTEGER:
    case QRUN_OP_MATMUL_INTEGER:
        return 1;
    case QRUN_OP_QLINEAR_CONV:
    case QRUN_OP_MS_QLINEAR_CONV:
    case QRUN_OP_QLINEAR_MATMUL:
    case QRUN_OP_MS_QGEMM:
        return 3;
    default:
        return -1;
    }
}

/* Roles of the inputs: QLinear* (x, x_scale, x_zp, w, w_scale, w_zp, then y_scale, y_zp, bias;
 * QGemm: C, y_scale, y_zp) or the *Integer ops (x, w, x_zp, w_zp). */
static mac_io bind(const qrun_kernel_call *call) {
    mac_io io = {.a = call->inputs[0], .y = call->outputs[0]};
    qrun_op op = call->node->op;
    if (!qlinear_op(op)) {
        io.w = call->inputs[1], io.azp = in_at(call, 2), io.wzp = in_at(call, 3);
        return io;
    }
    io.as = in_at(call, 1), io.azp = in_at(call, 2);
    io.w = call->inputs[3], io.ws = in_at(call, 4), io.wzp = in_at(call, 5);
    if (op == QRUN_OP_MS_QGEMM) {
        io.bias = in_at(call, 6), io.ys = in_at(call, 7), io.yzp = in_at(call, 8);
    } else {
        io.ys = in_at(call, 6), io.yzp = in_at(call, 7), io.bias = in_at(call, 8);
    }
    return io;
}

static int64_t numel(const struct qrun_tensor *t) {
    return t ? qrun_tensor_numel_(t) : 0;
}

static double get(const struct qrun_tensor *t, int64_t i) {
    return qrun_dtype_traits_get(t->dtype)->get(t->data, (size_t)i);
}

/* Element i of an optional per-tensor or per-channel parameter (0 when absent). */
static int32_t zp_at(const struct qrun_tensor *t, int64_t ch) {
    return t ? (int32_t)get(t, numel(t) > 1 ? ch : 0) : 0;
}

static double scale_at(const struct qrun_tensor *t, int64_t ch) {
    return get(t, numel(t) > 1 ? ch : 0);
}

/* ---- supports ------------------------------------------------------------ */

static bool shaped(const struct qrun_tensor *t) {
    return t && t->rank >= 0;
}

/* A parameter with 1 element, or (when per_ch > 0) per_ch elements. */
static bool param_ok(const struct qrun_tensor *t, int64_t per_ch) {
    if (!shaped(t))
        return true;
    int64_t c = numel(t);
    return c == 1 || (per_ch > 0 && c == per_ch);
}

static bool refuse(const qrun_node *node, char *why, size_t cap, const char *what) {
    snprintf(why, cap, "accel_sim datapath: %s %s", node->op_type, what);
    return false;
}

static bool is_int8(qrun_dtype t) {
    return t == QRUN_DTYPE_INT8 || t == QRUN_DTYPE_UINT8;
}

bool accel_mac_supports(const qrun_node *node,
                        const struct qrun_tensor *const *inputs,
                        int n_inputs,
                        char *why,
                        size_t why_cap) {
    int wi = accel_mac_weight_input(node->op);
    if (wi < 0 || n_inputs <= wi)
        return refuse(node, why, why_cap, "is not a conv/matmul the datapath runs");
    const struct qrun_tensor *a = inputs[0], *w = inputs[wi];
    if (a && w && a->dtype != QRUN_DTYPE_UNDEFINED && w->dtype != QRUN_DTYPE_UNDEFINED &&
        !(is_int8(a->dtype) && is_int8(w->dtype)) &&
        !(qrun_fp8_is_mac_type(a->dtype) && qrun_fp8_is_mac_type(w->dtype)))
        return refuse(node, why, why_cap, "operands are not both 8-bit integers or both FP8");
    if (node->op == QRUN_OP_MS_QLINEAR_CONV && qrun_qlinear_channels_last(node))
        return refuse(node, why, why_cap, "with channels_last = 1 (NHWC) is not mapped");
    bool conv = node->op == QRUN_OP_CONV_INTEGER || node->op == QRUN_OP_QLINEAR_CONV ||
                node->op == QRUN_OP_MS_QLINEAR_CONV;
    if (conv || !shaped(a) || !shaped(w))
        return true;
    if (w->rank != 2 || (node->op != QRUN_OP_MS_QGEMM && a->rank < 2))
        return refuse(node, why, why_cap, "needs 2-D weights and an activation of rank >= 2");
    bool tb = node->op == QRUN_OP_MS_QGEMM && qrun_node_attr_int(node, "transB", 0) != 0;
    int64_t n = w->dims[tb ? 0 : 1];
    mac_io io = {0};
    io.azp = n_inputs > 2 ? inputs[2] : NULL;
    if (qlinear_op(node->op)) {
        io.as = inputs[1], io.ws = n_inputs > 4 ? inputs[4] : NULL;
        io.wzp = n_inputs > 5 ? inputs[5] : NULL;
        int yi = node->op == QRUN_OP_MS_QGEMM ? 7 : 6;
        io.ys = n_inputs > yi ? inputs[yi] : NULL,
        io.yzp = n_inputs > yi + 1 ? inputs[yi + 1] : NULL;
    } else {
        io.wzp = n_inputs > 3 ? inputs[3] : NULL;
    }
    if (!param_ok(io.as, 0) || !param_ok(io.azp, 0) || !param_ok(io.ys, 0) ||
        !param_ok(io.yzp, 0) || !param_ok(io.ws, n) || !param_ok(io.wzp, n))
        return refuse(node, why, why_cap,
                      "needs per-tensor A/Y parameters and per-tensor or per-column B parameters");
    return true;
}

/* ---- prepare ----------------------------------------------------------------- */

static qrun_status count_error(const qrun_kernel_call *call, const char *what, int64_t n) {
    if (n > 1)
        return qrun_errf(call->err, QRUN_E_MODEL,
                         "%s must have 1 element or one per output channel (%lld)", what,
                         (long long)n);
    return qrun_errf(call->err, QRUN_E_MODEL, "%s must have 1 element", what);
}

/* Parameter counts the kernels index by (out_ch output channels; a conv's bias has one per
 * channel): per tensor, or per output channel for the weights' scale and zero point. */
static qrun_status
check_params(const qrun_kernel_call *call, const mac_io *io, int64_t out_ch, bool conv) {
    const struct qrun_tensor *one[] = {io->as, io->azp, io->ys, io->yzp};
    static const char *const one_names[] = {"x_scale", "x_zero_point", "y_scale", "y_zero_point"};
    for (int i = 0; i < 4; i++) {
        if (one[i] && numel(one[i]) != 1)
            return count_error(call, one_names[i], 1);
    }
    if ((io->ws && !param_ok(io->ws, out_ch)) || (io->wzp && !param_ok(io->wzp, out_ch)))
        return count_error(call, io->ws && !param_ok(io->ws, out_ch) ? "w_scale" : "w_zero_point",
                           out_ch);
    bool conv_bias = conv && io->bias;
    if (conv_bias && (io->bias->rank != 1 || io->bias->dims[0] != out_ch))
        return qrun_errf(call->err, QRUN_E_MODEL, "bias must have shape [%lld]", (long long)out_ch);
    return QRUN_OK;
}

qrun_status accel_mac_prepare(const hw_config *hw,
                              qrun_dtype mac_dtype,
                              const qrun_kernel_call *call,
                              accel_mac_op *op) {
    memset(op, 0, sizeof *op);
    mac_io io = bind(call);
    op->op = call->node->op;
    op->conv = op->op == QRUN_OP_CONV_INTEGER || op->op == QRUN_OP_QLINEAR_CONV ||
               op->op == QRUN_OP_MS_QLINEAR_CONV;
    op->fp8 = qrun_fp8_is_mac_type(io.a->dtype);
    qrun_status s = accel_acc_init(&op->acc, hw, mac_dtype, io.a->dtype, io.w->dtype, call->err);
    if (s)
        return s;
    if (op->fp8) {
        qrun_fp8_table_init(&op->ta, io.a->dtype);
        qrun_fp8_table_init(&op->tw, io.w->dtype);
    }
    if (op->conv) {
        s = qrun_conv_params_get(call->node, io.a, io.w, &op->p, call->err);
        return s ? s : check_params(call, &io, op->p.c_out, true);
    }
    op->ta_t = op->op == QRUN_OP_MS_QGEMM && qrun_node_attr_int(call->node, "transA", 0) != 0;
    op->tb_t = op->op == QRUN_OP_MS_QGEMM && qrun_node_attr_int(call->node, "transB", 0) != 0;
    op->k = io.w->dims[op->tb_t ? 1 : 0];
    op->n = io.w->dims[op->tb_t ? 0 : 1];
    op->rows = qrun_tensor_numel_(io.a) / (op->k ? op->k : 1);
    s = check_params(call, &io, op->n, false);
    const struct qrun_tensor *c = op->op == QRUN_OP_MS_QGEMM ? io.bias : NULL;
    if (!s && c &&
        (c->rank > 2 ||
         (c->rank >= 1 && c->dims[c->rank - 1] != 1 && c->dims[c->rank - 1] != op->n) ||
         (c->rank == 2 && c->dims[0] != 1 && c->dims[0] != op->rows)))
        return qrun_errf(call->err, QRUN_E_MODEL, "C does not broadcast to [%lld, %lld]",
                         (long long)op->rows, (long long)op->n);
    return s;
}

/* ---- the row unit: one output from its accumulator ----------------------- */

/* How a channel's outputs leave the row unit: int32 as is, requantized, or float (QGemm). */
typedef struct row_out {
    qrun_requant rq;
    float fbias; /* FP8: bias / y_scale */
    float fmult; /* QGemm without y_scale: float output multiplier */
    int32_t zp, qmin, qmax;
} row_out;

static qrun_status row_out_init(const accel_mac_op *op,
                                const qrun_kernel_call *call,
                                const mac_io *io,
                                int64_t ch,
                                row_out *r) {
    memset(r, 0, sizeof *r);
    if (!qlinear_op(op->op))
        return QRUN_OK;
    qrun_requant_mode mode = op->fp8 ? QRUN_REQUANT_FLOAT : call->requant;
    if (op->op == QRUN_OP_MS_QGEMM) {
        /* ORT's QGemm multiplier: alpha * a_scale * b_scale[col] (/ y_scale), float32. */
        float m = qrun_node_attr_float(call->node, "alpha", 1.0f) * (float)scale_at(io->as, 0) *
                  (float)scale_at(io->ws, ch);
        r->fmult = m;
        if (!io->ys)
            return QRUN_OK;
        m /= (float)scale_at(io->ys, 0);
        r->zp = zp_at(io->yzp, 0);
        qrun_quant_int_range(io->y->dtype, &r->qmin, &r->qmax);
        return qrun_requant_init(&r->rq, m, mode, call->err);
    }
    double sy = scale_at(io->ys, 0);
    double mult =
        qrun_requant_multiplier(scale_at(io->as, 0), scale_at(io->ws, ch), sy, io->as->dtype);
    if (op->fp8)
        r->fbias = io->bias ? (float)get(io->bias, ch) / (float)sy : 0.0f;
    else
        r->zp = zp_at(io->yzp, 0);
    qrun_quant_int_range(io->y->dtype, &r->qmin, &r->qmax);
    qrun_status s = qrun_requant_init(&r->rq, mult, mode, call->err);
    if (s)
        qrun_err_prefix(call->err, "output channel %lld: ", (long long)ch);
    return s;
}

static int32_t clamp32(int64_t v) {
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

/* Write output i from an integer register (the row unit takes a 32-bit value). */
static void
put_int(const accel_mac_op *op, const mac_io *io, const row_out *r, int64_t i, int64_t reg) {
    int32_t v = clamp32(reg);
    if (!qlinear_op(op->op)) {
        ((int32_t *)io->y->data)[i] = v;
    } else if (io->y->dtype == QRUN_DTYPE_FLOAT) {
        ((float *)io->y->data)[i] = (float)v * r->fmult;
    } else {
        int32_t q = qrun_requantize(&r->rq, v, r->zp, r->qmin, r->qmax);
        if (io->y->dtype == QRUN_DTYPE_UINT8)
            ((uint8_t *)io->y->data)[i] = (uint8_t)q;
        else
            ((int8_t *)io->y->data)[i] = (int8_t)q;
    }
}

static void put_fp8(
    const accel_mac_op *op, const mac_io *io, const row_out *r, int64_t i, const accel_freg *reg) {
    float sum = accel_fp8_value(&op->acc, reg);
    ((uint8_t *)io->y->data)[i] = qrun_fp8_requantize(io->y->dtype, sum, r->rq.mult, r->fbias);
}

/* ---- operands ---------------------------------------------------------------- */

/* One operand tensor as the PEs read it: integer minus zero point, or decoded FP8. */
typedef struct operand {
    const void *data;
    bool u8;
    const float *lut; /* FP8 */
} operand;

static operand operand_of(const struct qrun_tensor *t, const qrun_fp8_table *tab, bool fp8) {
    return (operand){
        .data = t->data, .u8 = t->dtype == QRUN_DTYPE_UINT8, .lut = fp8 ? tab->v : NULL};
}

static inline int32_t int_at(const operand *o, int64_t i) {
    return o->u8 ? (int32_t)((const uint8_t *)o->data)[i] : (int32_t)((const int8_t *)o->data)[i];
}

static inline float fp8_at(const operand *o, int64_t i) {
    return o->lut[((const uint8_t *)o->data)[i]];
}

/* ---- convolution ------------------------------------------------------------- */

/* Flat index into one input channel plane of the element under kernel offset kd from origin,
 * or -1 in the padding. */
static int64_t conv_src(const qrun_conv_params *p, const int64_t *origin, const int64_t *kd) {
    int64_t off = 0;
    for (int d = 0; d < p->n_spatial; d++) {
        int64_t i = origin[d] + kd[d] * p->dilation[d];
        if (i < 0 || i >= p->in[d])
            return -1;
        off = off * p->in[d] + i;
    }
    return off;
}

/* Next multi-index of `limits` (row-major); false after the last. */
static bool next_index(int64_t *idx, const int64_t *limits, int n) {
    for (int d = n - 1; d >= 0; d--) {
        if (++idx[d] < limits[d])
            return true;
        idx[d] = 0;
    }
    return false;
}

/* One dot product: output channel m (weights from w_base) at output position origin, over
 * k = (input channel, kernel offsets) in cpu_ref's order; padding contributes products with a
 * zero operand (x - x_zp = 0, or +0.0 for FP8, so that 0 x Inf is NaN as in cpu_ref). */
typedef struct conv_dot_args {
    const operand *x, *w;
    int32_t xzp, wzp;
    int64_t x_base, w_base, plane;
    const int64_t *origin;
    int64_t zeros; /* products with a zero operand (what zero-detect PEs skip) */
} conv_dot_args;

static int64_t conv_dot_int(const accel_mac_op *op, conv_dot_args *a, int64_t reg) {
    const qrun_conv_params *p = &op->p;
    int64_t wk = a->w_base;
    for (int64_t c = 0; c < p->c_in / p->group; c++) {
        int64_t kd[QRUN_MAX_RANK] = {0};
        do {
            int64_t src = conv_src(p, a->origin, kd);
            int32_t xv = src < 0 ? 0 : int_at(a->x, a->x_base + c * a->plane + src) - a->xzp;
            int32_t wv = int_at(a->w, wk++) - a->wzp;
            a->zeros += xv == 0 || wv == 0;
            reg = accel_int_add(&op->acc, reg, (int64_t)xv * wv);
        } while (next_index(kd, p->kernel, p->n_spatial));
    }
    return reg;
}

static void conv_dot_fp8(const accel_mac_op *op, conv_dot_args *a, accel_freg *reg) {
    const qrun_conv_params *p = &op->p;
    int64_t wk = a->w_base;
    for (int64_t c = 0; c < p->c_in / p->group; c++) {
        int64_t kd[QRUN_MAX_RANK] = {0};
        do {
            int64_t src = conv_src(p, a->origin, kd);
            float xv = src < 0 ? 0.0f : fp8_at(a->x, a->x_base + c * a->plane + src);
            float wv = fp8_at(a->w, wk++);
            a->zeros += xv == 0.0f || wv == 0.0f;
            accel_fp8_add(&op->acc, reg, xv * wv);
        } while (next_index(kd, p->kernel, p->n_spatial));
    }
}

static qrun_status
conv_run(const accel_mac_op *op, const qrun_kernel_call *call, int64_t *zero_products) {
    mac_io io = bind(call);
    const qrun_conv_params *p = &op->p;
    operand x = operand_of(io.a, &op->ta, op->fp8), w = operand_of(io.w, &op->tw, op->fp8);
    int64_t cg = p->c_in / p->group, mg = p->c_out / p->group, kk = 1, in_sp = 1, out_sp = 1;
    for (int d = 0; d < p->n_spatial; d++) {
        kk *= p->kernel[d];
        in_sp *= p->in[d];
        out_sp *= p->out[d];
    }
    conv_dot_args a = {.x = &x, .w = &w, .xzp = op->fp8 ? 0 : zp_at(io.azp, 0), .plane = in_sp};
    for (int64_t m = 0; m < p->c_out; m++) {
        row_out r;
        qrun_status s = row_out_init(op, call, &io, m, &r);
        if (s)
            return s;
        a.wzp = op->fp8 ? 0 : zp_at(io.wzp, m);
        a.w_base = m * cg * kk;
        /* QLinearConv's int32 bias is preloaded into the register. */
        int64_t init =
            !op->fp8 && io.bias ? accel_sat(&op->acc, ((const int32_t *)io.bias->data)[m]) : 0;
        for (int64_t b = 0; b < p->batch; b++) {
            a.x_base = (b * p->c_in + (m / mg) * cg) * in_sp;
            int64_t od[QRUN_MAX_RANK] = {0}, yi = (b * p->c_out + m) * out_sp;
            do {
                int64_t origin[QRUN_MAX_RANK];
                for (int d = 0; d < p->n_spatial; d++)
                    origin[d] = od[d] * p->stride[d] - p->pad_begin[d];
                a.origin = origin;
                if (op->fp8) {
                    accel_freg reg = {0};
                    conv_dot_fp8(op, &a, &reg);
                    put_fp8(op, &io, &r, yi++, &reg);
                } else {
                    put_int(op, &io, &r, yi++, conv_dot_int(op, &a, init));
                }
            } while (next_index(od, p->out, p->n_spatial));
        }
    }
    *zero_products = a.zeros;
    return QRUN_OK;
}

/* ---- matrix products ------------------------------------------------------- */

/* y[r][j] = sum_k a(r, k) * b(k, j) with a(r, k) = A[r*sar + k*sak], b(k, j) = B[k*sbk + j*sbn]. */
static qrun_status
matmul_run(const accel_mac_op *op, const qrun_kernel_call *call, int64_t *zero_products) {
    mac_io io = bind(call);
    operand a = operand_of(io.a, &op->ta, op->fp8), w = operand_of(io.w, &op->tw, op->fp8);
    int64_t sar = op->ta_t ? 1 : op->k, sak = op->ta_t ? op->rows : 1;
    int64_t sbk = op->tb_t ? 1 : op->n, sbn = op->tb_t ? op->k : 1;
    int32_t azp = op->fp8 ? 0 : zp_at(io.azp, 0);
    const struct qrun_tensor *c = op->op == QRUN_OP_MS_QGEMM ? io.bias : NULL;
    int64_t zeros = 0;
    for (int64_t j = 0; j < op->n; j++) {
        row_out r;
        qrun_status s = row_out_init(op, call, &io, j, &r);
        if (s)
            return s;
        int32_t wzp = op->fp8 ? 0 : zp_at(io.wzp, j);
        for (int64_t i = 0; i < op->rows; i++) {
            int64_t yi = i * op->n + j;
            if (op->fp8) {
                accel_freg reg = {0};
                for (int64_t k = 0; k < op->k; k++) {
                    float av = fp8_at(&a, i * sar + k * sak), wv = fp8_at(&w, k * sbk + j * sbn);
                    zeros += av == 0.0f || wv == 0.0f;
                    accel_fp8_add(&op->acc, &reg, av * wv);
                }
                put_fp8(op, &io, &r, yi, &reg);
                continue;
            }
            /* QGemm's C (int32, broadcast to [M, N]) is preloaded into the register. */
            int64_t reg = 0;
            if (c) {
                int64_t crows = c->rank == 2 ? c->dims[0] : 1;
                int64_t ccols = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
                reg = accel_sat(
                    &op->acc,
                    ((const int32_t *)c->data)[(crows > 1 ? i : 0) * ccols + (ccols > 1 ? j : 0)]);
            }
            for (int64_t k = 0; k < op->k; k++) {
                int32_t av = int_at(&a, i * sar + k * sak) - azp;
                int32_t wv = int_at(&w, k * sbk + j * sbn) - wzp;
                zeros += av == 0 || wv == 0;
                reg = accel_int_add(&op->acc, reg, (int64_t)av * wv);
            }
            put_int(op, &io, &r, yi, reg);
        }
    }
    *zero_products = zeros;
    return QRUN_OK;
}

/* FP8 quantization is symmetric: a zero point given for an FP8 operand must be all zeros. */
static qrun_status fp8_zero_points(const qrun_kernel_call *call) {
    mac_io io = bind(call);
    const struct qrun_tensor *zps[] = {io.azp, io.wzp, io.yzp};
    static const char *const names[] = {"x_zero_point", "w_zero_point", "y_zero_point"};
    for (int z = 0; z < 3; z++) {
        for (int64_t i = 0; zps[z] && i < numel(zps[z]); i++) {
            if (get(zps[z], i) != 0.0)
                return qrun_errf(call->err, QRUN_E_MODEL,
                                 "%s must be 0 for FP8 operands, element %lld is %g", names[z],
                                 (long long)i, get(zps[z], i));
        }
    }
    return QRUN_OK;
}

qrun_status
accel_mac_run(const accel_mac_op *op, const qrun_kernel_call *call, int64_t *zero_products) {
    qrun_status s = op->fp8 ? fp8_zero_points(call) : QRUN_OK;
    if (s)
        return s;
    *zero_products = 0;
    return op->conv ? conv_run(op, call, zero_products) : matmul_run(op, call, zero_products);
}
