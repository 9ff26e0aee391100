/* SPDX-License-Identifier: Apache-2.0 */
/* cpu_ref comparisons, boolean logic, Where and Cast. */
#include "backends/cpu_ref/kernel.h"
#include "backends/cpu_ref/ops/ew_common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- Equal / Less / Greater ---------------------------------------------- */

typedef struct lg_ctx {
    qrun_op op;
    const struct qrun_tensor *in[3];
    struct qrun_tensor *out;
} lg_ctx;

static bool lg_cmp_d(qrun_op op, double a, double b) {
    switch (op) {
    case QRUN_OP_EQUAL:
        return a == b;
    case QRUN_OP_LESS:
        return a < b;
    case QRUN_OP_GREATER:
        return a > b;
    case QRUN_OP_LESS_OR_EQUAL:
        return a <= b;
    case QRUN_OP_GREATER_OR_EQUAL:
        return a >= b;
    default:
        return false;
    }
}

static bool lg_cmp_i(qrun_op op, int64_t a, int64_t b, bool uns) {
    switch (op) {
    case QRUN_OP_EQUAL:
        return a == b;
    case QRUN_OP_LESS:
        return uns ? (uint64_t)a < (uint64_t)b : a < b;
    case QRUN_OP_GREATER:
        return uns ? (uint64_t)a > (uint64_t)b : a > b;
    case QRUN_OP_LESS_OR_EQUAL:
        return uns ? (uint64_t)a <= (uint64_t)b : a <= b;
    case QRUN_OP_GREATER_OR_EQUAL:
        return uns ? (uint64_t)a >= (uint64_t)b : a >= b;
    default:
        return false;
    }
}

static void
lg_row_compare(void *vctx, const int64_t *off, const int64_t *step, int64_t oo, int64_t n) {
    const lg_ctx *c = vctx;
    const struct qrun_tensor *a = c->in[0], *b = c->in[1];
    uint8_t *o = (uint8_t *)c->out->data + oo;
    if (a->dtype == QRUN_DTYPE_FLOAT) {
        const float *x = (const float *)a->data + off[0];
        const float *y = (const float *)b->data + off[1];
        for (int64_t i = 0; i < n; i++)
            o[i] = lg_cmp_d(c->op, x[i * step[0]], y[i * step[1]]);
        return;
    }
    ew_load_i64_fn la = ew_int_loader(a->dtype);
    if (la) {
        bool uns = a->dtype == QRUN_DTYPE_UINT64;
        for (int64_t i = 0; i < n; i++) {
            int64_t x = la(a->data, off[0] + i * step[0]);
            int64_t y = la(b->data, off[1] + i * step[1]);
            o[i] = lg_cmp_i(c->op, x, y, uns);
        }
        return;
    }
    qrun_dtype_get_fn g = qrun_dtype_traits_get(a->dtype)->get;
    for (int64_t i = 0; i < n; i++)
        o[i] = lg_cmp_d(c->op, g(a->data, (size_t)(off[0] + i * step[0])),
                        g(b->data, (size_t)(off[1] + i * step[1])));
}

static void
lg_row_logic(void *vctx, const int64_t *off, const int64_t *step, int64_t oo, int64_t n) {
    const lg_ctx *c = vctx;
    const uint8_t *x = (const uint8_t *)c->in[0]->data + off[0];
    const uint8_t *y = (const uint8_t *)c->in[1]->data + off[1];
    uint8_t *o = (uint8_t *)c->out->data + oo;
    for (int64_t i = 0; i < n; i++) {
        bool a = x[i * step[0]] != 0, b = y[i * step[1]] != 0;
        o[i] = c->op == QRUN_OP_AND ? (a && b) : c->op == QRUN_OP_OR ? (a || b) : (a != b);
    }
}

static qrun_status lg_eval_binary(const qrun_kernel_call *call) {
    if (call->n_inputs < 2 || !call->inputs[0] || !call->inputs[1])
        return qrun_errf(call->err, QRUN_E_MODEL, "two inputs are required");
    lg_ctx c = {
        .op = call->node->op, .in = {call->inputs[0], call->inputs[1]}, .out = call->outputs[0]};
    qrun_op op = call->node->op;
    bool logic = op == QRUN_OP_AND || op == QRUN_OP_OR || op == QRUN_OP_XOR;
    ew_plan p;
    ew_plan_init(&p, 2, c.in, c.out);
    ew_plan_run(&p, logic ? lg_row_logic : lg_row_compare, &c, call->n_threads, true);
    return QRUN_OK;
}

static qrun_status lg_eval_not(const qrun_kernel_call *call) {
    const uint8_t *x = call->inputs[0]->data;
    uint8_t *y = call->outputs[0]->data;
    int64_t n = ew_numel(call->inputs[0]);
    for (int64_t i = 0; i < n; i++)
        y[i] = !x[i];
    return QRUN_OK;
}

/* ---- Where ----------------------------------------------------------------- */

static void
lg_row_where(void *vctx, const int64_t *off, const int64_t *step, int64_t oo, int64_t n) {
    const lg_ctx *c = vctx;
    const uint8_t *cond = (const uint8_t *)c->in[0]->data;
    int bits = qrun_dtype_bits(c->out->dtype);
    if (bits >= 8) {
        size_t es = (size_t)bits / 8;
        const char *x = c->in[1]->data, *y = c->in[2]->data;
        char *o = c->out->data;
        for (int64_t i = 0; i < n; i++) {
            bool t = cond[off[0] + i * step[0]] != 0;
            const char *src = t ? x + (size_t)(off[1] + i * step[1]) * es
                                : y + (size_t)(off[2] + i * step[2]) * es;
            memcpy(o + (size_t)(oo + i) * es, src, es);
        }
        return;
    }
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(c->out->dtype);
    for (int64_t i = 0; i < n; i++) {
        bool t = cond[off[0] + i * step[0]] != 0;
        double v = t ? tr->get(c->in[1]->data, (size_t)(off[1] + i * step[1]))
                     : tr->get(c->in[2]->data, (size_t)(off[2] + i * step[2]));
        tr->set(c->out->data, (size_t)(oo + i), v, true);
    }
}

static qrun_status lg_eval_where(const qrun_kernel_call *call) {
    for (int i = 0; i < 3; i++) {
        if (i >= call->n_inputs || !call->inputs[i])
            return qrun_errf(call->err, QRUN_E_MODEL, "Where needs three inputs");
    }
    lg_ctx c = {.op = QRUN_OP_WHERE,
                .in = {call->inputs[0], call->inputs[1], call->inputs[2]},
                .out = call->outputs[0]};
    ew_plan p;
    ew_plan_init(&p, 3, c.in, c.out);
    ew_plan_run(&p, lg_row_where, &c, call->n_threads, ew_parallel_ok(c.out->dtype));
    return QRUN_OK;
}

/* ---- Cast ---------------------------------------------------------------- */

typedef enum lg_e8m0_round { LG_ROUND_UP, LG_ROUND_DOWN, LG_ROUND_NEAREST } lg_e8m0_round;

typedef struct lg_cast {
    qrun_dtype from, to;
    bool saturate;        /* FP8 targets only (Cast-19+, default 1) */
    bool fnuz_inf_to_max; /* Cast-24+: FNUZ Inf saturates to max instead of NaN */
    lg_e8m0_round round;  /* FLOAT8E8M0 target (Cast-24 round_mode, default "up") */
    const struct qrun_dtype_traits *tf, *tt;
    ew_load_i64_fn lf;  /* integer/bool source, else NULL */
    ew_store_i64_fn st; /* integer/bool target, else NULL */
} lg_cast;

static bool lg_is_fp8(qrun_dtype t) {
    return t == QRUN_DTYPE_FLOAT8E4M3FN || t == QRUN_DTYPE_FLOAT8E4M3FNUZ ||
           t == QRUN_DTYPE_FLOAT8E5M2 || t == QRUN_DTYPE_FLOAT8E5M2FNUZ ||
           t == QRUN_DTYPE_FLOAT8E3M4;
}

static bool lg_is_fnuz(qrun_dtype t) {
    return t == QRUN_DTYPE_FLOAT8E4M3FNUZ || t == QRUN_DTYPE_FLOAT8E5M2FNUZ;
}

/* E8M0 round up/down: move |v| to the power of two above/below first, so the encode is exact. */
static double lg_e8m0_prepare(double v, lg_e8m0_round mode) {
    double a = fabs(v);
    if (mode == LG_ROUND_NEAREST || isnan(a) || isinf(a) || a == 0)
        return a;
    int e;
    double fr = frexp(a, &e); /* a = fr * 2^e, fr in [0.5, 1) */
    if (fr == 0.5)
        return a;
    return ldexp(1.0, mode == LG_ROUND_UP ? e : e - 1);
}

/* Float value to an integer target: truncate toward zero (numpy astype), NaN -> 0. */
static int64_t lg_f64_to_int(double v, qrun_dtype to) {
    if (isnan(v))
        return 0;
    v = trunc(v);
    if (to == QRUN_DTYPE_UINT64 && v >= 0x1p63)
        return v >= 0x1p64 ? -1 : (int64_t)(uint64_t)v;
    if (v >= 0x1p63)
        return INT64_MAX;
    if (v < -0x1p63)
        return INT64_MIN;
    return (int64_t)v;
}

static void lg_cast_elem(const lg_cast *k, const void *src, void *dst, int64_t i) {
    const struct qrun_dtype_traits *tf = k->tf, *tt = k->tt;
    ew_load_i64_fn lf = k->lf;
    ew_store_i64_fn st = k->st;
    bool packed_to = qrun_dtype_bits(k->to) < 8;
    if (lf && st) { /* integer/bool -> integer/bool: exact, wrapping (or saturating for 4/2-bit) */
        int64_t v = lf(src, i);
        if (k->to == QRUN_DTYPE_BOOL || !packed_to)
            st(dst, i, v);
        else
            qrun_dtype_set_i64(k->to, dst, (size_t)i, v);
        return;
    }
    double v;
    if (lf) /* integer -> float: UINT64 bits stay unsigned */
        v = k->from == QRUN_DTYPE_UINT64 ? (double)(uint64_t)lf(src, i) : (double)lf(src, i);
    else
        v = tf->get(src, (size_t)i);
    if (st) { /* float -> integer/bool */
        if (k->to == QRUN_DTYPE_BOOL)
            st(dst, i, v != 0.0);
        else if (packed_to)
            tt->set(dst, (size_t)i, isnan(v) ? 0.0 : trunc(v), true);
        else
            st(dst, i, lg_f64_to_int(v, k->to));
        return;
    }
    if (k->to == QRUN_DTYPE_FLOAT8E8M0) {
        tt->set(dst, (size_t)i, lg_e8m0_prepare(v, k->round), k->saturate);
        return;
    }
    if (lg_is_fnuz(k->to) && isinf(v) && !k->fnuz_inf_to_max) {
        ((uint8_t *)dst)[i] = 0x80; /* Cast-19..23: FNUZ Inf -> NaN even when saturating */
        return;
    }
    tt->set(dst, (size_t)i, v, lg_is_fp8(k->to) ? k->saturate : true);
}

static qrun_status lg_cast_read(const qrun_kernel_call *call, lg_cast *k) {
    const qrun_node *node = call->node;
    k->from = call->inputs[0]->dtype;
    k->to = call->outputs[0]->dtype;
    k->tf = qrun_dtype_traits_get(k->from);
    k->tt = qrun_dtype_traits_get(k->to);
    k->lf = ew_int_loader(k->from);
    k->st = ew_int_storer(k->to);
    k->saturate = node->opset >= 19 ? qrun_node_attr_int(node, "saturate", 1) != 0 : true;
    k->fnuz_inf_to_max = node->opset >= 24;
    k->round = LG_ROUND_UP;
    const char *rm = qrun_node_attr_string(node, "round_mode", "up");
    if (strcasecmp(rm, "down") == 0)
        k->round = LG_ROUND_DOWN;
    else if (strcasecmp(rm, "nearest") == 0)
        k->round = LG_ROUND_NEAREST;
    else if (strcasecmp(rm, "up") != 0)
        return qrun_errf(call->err, QRUN_E_MODEL, "Cast round_mode '%s' is not up/down/nearest",
                         rm);
    return QRUN_OK;
}

static qrun_status lg_eval_cast(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    struct qrun_tensor *y = call->outputs[0];
    lg_cast k;
    qrun_status st = lg_cast_read(call, &k);
    if (st != QRUN_OK)
        return st;
    int64_t n = ew_numel(x);
    if (k.from == k.to) {
        memcpy(y->data, x->data, y->nbytes < x->nbytes ? y->nbytes : x->nbytes);
        return QRUN_OK;
    }
    int nt = call->n_threads;
    bool par = n >= EW_PARALLEL_MIN && nt > 1 && ew_parallel_ok(k.to) && ew_parallel_ok(k.from);
    if (k.from == QRUN_DTYPE_FLOAT && k.to == QRUN_DTYPE_FLOAT16) {
        const float *s = x->data;
        uint16_t *d = y->data;
#pragma omp parallel for num_threads(nt) if (par)
        for (int64_t i = 0; i < n; i++)
            d[i] = qrun_f32_to_f16(s[i]);
        return QRUN_OK;
    }
    if (k.from == QRUN_DTYPE_FLOAT16 && k.to == QRUN_DTYPE_FLOAT) {
        const uint16_t *s = x->data;
        float *d = y->data;
#pragma omp parallel for num_threads(nt) if (par)
        for (int64_t i = 0; i < n; i++)
            d[i] = qrun_f16_to_f32(s[i]);
        return QRUN_OK;
    }
#pragma omp parallel for num_threads(nt) if (par)
    for (int64_t i = 0; i < n; i++)
        lg_cast_elem(&k, x->data, y->data, i);
    return QRUN_OK;
}

/* ---- supports ------------------------------------------------------------ */

static bool lg_numeric(qrun_dtype t) {
    return t == QRUN_DTYPE_UNDEFINED || qrun_dtype_traits_get(t)->get != NULL;
}

static bool lg_supports(const qrun_node *node,
                        const struct qrun_tensor *const *inputs,
                        int n_inputs,
                        char *why,
                        size_t why_cap) {
    for (int i = 0; i < n_inputs; i++) {
        if (inputs[i] && !lg_numeric(inputs[i]->dtype)) {
            snprintf(why, why_cap, "%s: %s is not supported", node->op_type,
                     qrun_dtype_name(inputs[i]->dtype));
            return false;
        }
    }
    if (node->op == QRUN_OP_CAST) {
        int64_t to = qrun_node_attr_int(node, "to", 0);
        qrun_dtype t = (to > 0 && to < 1000) ? qrun_dtype_from_onnx((int)to) : QRUN_DTYPE_UNDEFINED;
        if (t == QRUN_DTYPE_UNDEFINED || !qrun_dtype_traits_get(t)->get) {
            snprintf(why, why_cap, "Cast to data type %lld is not supported", (long long)to);
            return false;
        }
    }
    return true;
}

#define LG_BIN(id)                                                                                 \
    { .op = QRUN_OP_##id, .supports = lg_supports, .eval = lg_eval_binary }

const cpu_ref_kernel cpu_ref_kernels_logical[] = {
    LG_BIN(EQUAL),
    LG_BIN(LESS),
    LG_BIN(GREATER),
    LG_BIN(LESS_OR_EQUAL),
    LG_BIN(GREATER_OR_EQUAL),
    {.op = QRUN_OP_NOT, .supports = lg_supports, .eval = lg_eval_not},
    LG_BIN(AND),
    LG_BIN(OR),
    LG_BIN(XOR),
    {.op = QRUN_OP_WHERE, .supports = lg_supports, .eval = lg_eval_where},
    {.op = QRUN_OP_CAST, .supports = lg_supports, .eval = lg_eval_cast},
    /* CastLike: the target type is the second input's; lg_eval_cast reads it from the output. */
    {.op = QRUN_OP_CAST_LIKE, .supports = lg_supports, .eval = lg_eval_cast},
    {.op = QRUN_OP_UNKNOWN},
};
