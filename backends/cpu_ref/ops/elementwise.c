/* SPDX-License-Identifier: Apache-2.0 */
/* cpu_ref arithmetic: Add Sub Mul Div Pow Min Max Sum Mean and the unary math ops. */
#include "backends/cpu_ref/kernel.h"
#include "runtime/shape/shape_util.h"
#include "backends/cpu_ref/ops/ew_common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/*
 * Three paths per op: float32 runs direct float loops; integer dtypes run in
 * int64 with wrap-around stores (numpy semantics, exact for int64); every
 * other float format (fp16, bf16, double, fp8) goes through the traits in
 * double, rounding once on store.
 */

/* ---- scalar ops ---------------------------------------------------------- */

static float ew_minf(float a, float b) {
    return (isnan(a) || isnan(b)) ? a + b : (b < a ? b : a); /* np.minimum: NaN wins */
}

static float ew_maxf(float a, float b) {
    return (isnan(a) || isnan(b)) ? a + b : (b > a ? b : a);
}

static double ew_min_d(double a, double b) {
    return (isnan(a) || isnan(b)) ? a + b : (b < a ? b : a);
}

static double ew_max_d(double a, double b) {
    return (isnan(a) || isnan(b)) ? a + b : (b > a ? b : a);
}

static double ew_binary_d(qrun_op op, double a, double b) {
    switch (op) {
    case QRUN_OP_ADD:
    case QRUN_OP_SUM:
    case QRUN_OP_MEAN:
        return a + b;
    case QRUN_OP_SUB:
        return a - b;
    case QRUN_OP_MUL:
        return a * b;
    case QRUN_OP_DIV:
        return a / b;
    case QRUN_OP_POW:
        return pow(a, b);
    case QRUN_OP_MIN:
        return ew_min_d(a, b);
    case QRUN_OP_MAX:
        return ew_max_d(a, b);
    default:
        return NAN;
    }
}

/* Integer power by squaring, wrapping like C/numpy integer multiply; negative exponents truncate.
 */
static int64_t ew_ipow(int64_t base, int64_t e) {
    if (e < 0) {
        if (base == 1)
            return 1;
        if (base == -1)
            return (e & 1) ? -1 : 1;
        return 0;
    }
    uint64_t r = 1, b = (uint64_t)base;
    while (e) {
        if (e & 1)
            r *= b;
        b *= b;
        e >>= 1;
    }
    return (int64_t)r;
}

/* Integer ops in two's complement; `uns` selects unsigned compare/divide (UINT64 bits). */
static int64_t ew_binary_i(qrun_op op, int64_t a, int64_t b, bool uns) {
    switch (op) {
    case QRUN_OP_ADD:
    case QRUN_OP_SUM:
    case QRUN_OP_MEAN:
        return (int64_t)((uint64_t)a + (uint64_t)b);
    case QRUN_OP_SUB:
        return (int64_t)((uint64_t)a - (uint64_t)b);
    case QRUN_OP_MUL:
        return (int64_t)((uint64_t)a * (uint64_t)b);
    case QRUN_OP_DIV:
        if (b == 0)
            return 0; /* undefined in ONNX; never trap */
        if (uns)
            return (int64_t)((uint64_t)a / (uint64_t)b);
        if (b == -1)
            return (int64_t)(0 - (uint64_t)a); /* INT64_MIN / -1 wraps */
        return a / b;                          /* C truncates toward zero */
    case QRUN_OP_POW:
        return ew_ipow(a, b);
    case QRUN_OP_MIN:
        return uns ? ((uint64_t)b < (uint64_t)a ? b : a) : (b < a ? b : a);
    case QRUN_OP_MAX:
        return uns ? ((uint64_t)b > (uint64_t)a ? b : a) : (b > a ? b : a);
    default:
        return 0;
    }
}

/* ---- binary row functions ---------------------------------------------- */

typedef struct ew_bin_ctx {
    qrun_op op;
    const struct qrun_tensor *a, *b;
    struct qrun_tensor *out;
    ew_load_i64_fn la, lb;
    ew_store_i64_fn so;
    bool uns;
    bool b_is_int; /* Pow: exponent is an integer type */
} ew_bin_ctx;

#define EW_F32_ROW(EXPR)                                                                           \
    do {                                                                                           \
        if (sa && sb) {                                                                            \
            for (int64_t i = 0; i < n; i++) {                                                      \
                float x = a[i], y = b[i];                                                          \
                o[i] = (EXPR);                                                                     \
            }                                                                                      \
        } else if (sa) {                                                                           \
            float y = b[0];                                                                        \
            for (int64_t i = 0; i < n; i++) {                                                      \
                float x = a[i];                                                                    \
                o[i] = (EXPR);                                                                     \
            }                                                                                      \
        } else if (sb) {                                                                           \
            float x = a[0];                                                                        \
            for (int64_t i = 0; i < n; i++) {                                                      \
                float y = b[i];                                                                    \
                o[i] = (EXPR);                                                                     \
            }                                                                                      \
        } else {                                                                                   \
            float x = a[0], y = b[0];                                                              \
            float v = (EXPR);                                                                      \
            for (int64_t i = 0; i < n; i++)                                                        \
                o[i] = v;                                                                          \
        }                                                                                          \
    } while (0)

static void ew_row_f32(void *vctx, const int64_t *off, const int64_t *step, int64_t oo, int64_t n) {
    const ew_bin_ctx *c = vctx;
    const float *a = (const float *)c->a->data + off[0];
    const float *b = (const float *)c->b->data + off[1];
    float *o = (float *)c->out->data + oo;
    bool sa = step[0] != 0, sb = step[1] != 0;
    switch (c->op) {
    case QRUN_OP_ADD:
    case QRUN_OP_SUM:
    case QRUN_OP_MEAN:
        EW_F32_ROW(x + y);
        break;
    case QRUN_OP_SUB:
        EW_F32_ROW(x - y);
        break;
    case QRUN_OP_MUL:
        EW_F32_ROW(x * y);
        break;
    case QRUN_OP_DIV:
        EW_F32_ROW(x / y);
        break;
    case QRUN_OP_POW:
        EW_F32_ROW(powf(x, y));
        break;
    case QRUN_OP_MIN:
        EW_F32_ROW(ew_minf(x, y));
        break;
    case QRUN_OP_MAX:
        EW_F32_ROW(ew_maxf(x, y));
        break;
    default:
        break;
    }
}

static void ew_row_int(void *vctx, const int64_t *off, const int64_t *step, int64_t oo, int64_t n) {
    const ew_bin_ctx *c = vctx;
    for (int64_t i = 0; i < n; i++) {
        int64_t x = c->la(c->a->data, off[0] + i * step[0]);
        int64_t y = c->lb(c->b->data, off[1] + i * step[1]);
        c->so(c->out->data, oo + i, ew_binary_i(c->op, x, y, c->uns));
    }
}

/* Pow with an integer base and a float exponent: numpy computes in double, astype truncates. */
static void
ew_row_int_fpow(void *vctx, const int64_t *off, const int64_t *step, int64_t oo, int64_t n) {
    const ew_bin_ctx *c = vctx;
    qrun_dtype_get_fn gb = qrun_dtype_traits_get(c->b->dtype)->get;
    for (int64_t i = 0; i < n; i++) {
        double x = (double)c->la(c->a->data, off[0] + i * step[0]);
        double y = gb(c->b->data, (size_t)(off[1] + i * step[1]));
        double r = trunc(pow(x, y));
        int64_t v =
            isnan(r) ? 0 : (r >= 0x1p63 ? INT64_MAX : (r < -0x1p63 ? INT64_MIN : (int64_t)r));
        c->so(c->out->data, oo + i, v);
    }
}

static void
ew_row_generic(void *vctx, const int64_t *off, const int64_t *step, int64_t oo, int64_t n) {
    const ew_bin_ctx *c = vctx;
    qrun_dtype_get_fn ga = qrun_dtype_traits_get(c->a->dtype)->get;
    qrun_dtype_get_fn gb = qrun_dtype_traits_get(c->b->dtype)->get;
    qrun_dtype_set_fn so = qrun_dtype_traits_get(c->out->dtype)->set;
    for (int64_t i = 0; i < n; i++) {
        double x = ga(c->a->data, (size_t)(off[0] + i * step[0]));
        double y = gb(c->b->data, (size_t)(off[1] + i * step[1]));
        so(c->out->data, (size_t)(oo + i), ew_binary_d(c->op, x, y), true);
    }
}

/* out = op(a, b) with broadcasting; out may alias a (same shape) for variadic accumulation. */
static void ew_binary(qrun_op op,
                      const struct qrun_tensor *a,
                      const struct qrun_tensor *b,
                      struct qrun_tensor *out,
                      int n_threads) {
    ew_bin_ctx c = {.op = op, .a = a, .b = b, .out = out};
    const struct qrun_tensor *ins[2] = {a, b};
    ew_plan p;
    ew_plan_init(&p, 2, ins, out);
    ew_row_fn fn = ew_row_generic;
    if (out->dtype == QRUN_DTYPE_FLOAT && a->dtype == QRUN_DTYPE_FLOAT &&
        b->dtype == QRUN_DTYPE_FLOAT) {
        fn = ew_row_f32;
    } else if (qrun_dtype_is_integer(a->dtype) && a->dtype == out->dtype) {
        c.la = ew_int_loader(a->dtype);
        c.lb = ew_int_loader(b->dtype);
        c.so = ew_int_storer(out->dtype);
        c.uns = !qrun_dtype_traits_get(a->dtype)->is_signed;
        fn = (op == QRUN_OP_POW && !qrun_dtype_is_integer(b->dtype)) ? ew_row_int_fpow : ew_row_int;
    }
    ew_plan_run(&p, fn, &c, n_threads, ew_parallel_ok(out->dtype));
}

/* ---- Mean's final division --------------------------------------------- */

static void ew_scale_mean(struct qrun_tensor *out, int count, int n_threads) {
    int64_t n = ew_numel(out);
    bool par = n >= EW_PARALLEL_MIN && ew_parallel_ok(out->dtype);
    if (out->dtype == QRUN_DTYPE_FLOAT) {
        float *o = out->data;
#pragma omp parallel for num_threads(n_threads) if (par)
        for (int64_t i = 0; i < n; i++)
            o[i] /= (float)count;
        return;
    }
    if (qrun_dtype_is_integer(out->dtype)) {
        ew_load_i64_fn ld = ew_int_loader(out->dtype);
        ew_store_i64_fn st = ew_int_storer(out->dtype);
#pragma omp parallel for num_threads(n_threads) if (par)
        for (int64_t i = 0; i < n; i++)
            st(out->data, i, ld(out->data, i) / count);
        return;
    }
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(out->dtype);
#pragma omp parallel for num_threads(n_threads) if (par)
    for (int64_t i = 0; i < n; i++)
        tr->set(out->data, (size_t)i, tr->get(out->data, (size_t)i) / count, true);
}

/* ---- eval: binary and variadic ------------------------------------------ */

static qrun_status ew_eval_binary(const qrun_kernel_call *call) {
    const struct qrun_tensor *a = call->inputs[0], *b = call->inputs[1];
    if (!a || !b)
        return qrun_errf(call->err, QRUN_E_MODEL, "two inputs are required");
    struct qrun_tensor legacy_b;
    if (qrun_legacy_broadcast_view(call->node, a, b, &legacy_b))
        b = &legacy_b;
    ew_binary(call->node->op, a, b, call->outputs[0], call->n_threads);
    return QRUN_OK;
}

/* Copy-with-broadcast of `in` into out, then fold the other inputs in pairwise. */
static void
ew_row_copy(void *vctx, const int64_t *off, const int64_t *step, int64_t oo, int64_t n) {
    const struct qrun_tensor *const *io = vctx;
    const struct qrun_tensor *in = io[0];
    struct qrun_tensor *out = (struct qrun_tensor *)io[1];
    int bits = qrun_dtype_bits(in->dtype);
    if (bits >= 8) {
        size_t es = (size_t)bits / 8;
        const char *src = (const char *)in->data;
        char *dst = (char *)out->data;
        if (step[0]) {
            memcpy(dst + (size_t)oo * es, src + (size_t)off[0] * es, (size_t)n * es);
            return;
        }
        for (int64_t i = 0; i < n; i++)
            memcpy(dst + (size_t)(oo + i) * es, src + (size_t)off[0] * es, es);
        return;
    }
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(in->dtype);
    for (int64_t i = 0; i < n; i++)
        tr->set(out->data, (size_t)(oo + i), tr->get(in->data, (size_t)(off[0] + i * step[0])),
                true);
}

static qrun_status ew_eval_variadic(const qrun_kernel_call *call) {
    struct qrun_tensor *out = call->outputs[0];
    int first = -1, count = 0;
    for (int i = 0; i < call->n_inputs; i++) {
        if (!call->inputs[i])
            continue;
        count++;
        if (first < 0)
            first = i;
    }
    if (first < 0)
        return qrun_errf(call->err, QRUN_E_MODEL, "at least one input is required");
    const struct qrun_tensor *io[2] = {call->inputs[first], out};
    ew_plan p;
    ew_plan_init(&p, 1, io, out);
    ew_plan_run(&p, ew_row_copy, (void *)io, call->n_threads, ew_parallel_ok(out->dtype));
    for (int i = first + 1; i < call->n_inputs; i++) {
        if (call->inputs[i])
            ew_binary(call->node->op, out, call->inputs[i], out, call->n_threads);
    }
    if (call->node->op == QRUN_OP_MEAN && count > 1)
        ew_scale_mean(out, count, call->n_threads);
    return QRUN_OK;
}

/* ---- unary ops ----------------------------------------------------------- */

static float ew_unary_f(qrun_op op, float x) {
    switch (op) {
    case QRUN_OP_SQRT:
        return sqrtf(x);
    case QRUN_OP_EXP:
        return expf(x);
    case QRUN_OP_LOG:
        return logf(x);
    case QRUN_OP_NEG:
        return -x;
    case QRUN_OP_ABS:
        return fabsf(x);
    case QRUN_OP_RECIPROCAL:
        return 1.0f / x;
    case QRUN_OP_FLOOR:
        return floorf(x);
    case QRUN_OP_CEIL:
        return ceilf(x);
    case QRUN_OP_ROUND:
        return nearbyintf(x); /* half to even in the default rounding mode */
    case QRUN_OP_SIGN:
        return x > 0 ? 1.0f : (x < 0 ? -1.0f : x); /* keeps 0, -0 and NaN */
    case QRUN_OP_ERF:
        return erff(x);
    default:
        return NAN;
    }
}

static double ew_unary_d(qrun_op op, double x) {
    switch (op) {
    case QRUN_OP_SQRT:
        return sqrt(x);
    case QRUN_OP_EXP:
        return exp(x);
    case QRUN_OP_LOG:
        return log(x);
    case QRUN_OP_NEG:
        return -x;
    case QRUN_OP_ABS:
        return fabs(x);
    case QRUN_OP_RECIPROCAL:
        return 1.0 / x;
    case QRUN_OP_FLOOR:
        return floor(x);
    case QRUN_OP_CEIL:
        return ceil(x);
    case QRUN_OP_ROUND:
        return nearbyint(x);
    case QRUN_OP_SIGN:
        return x > 0 ? 1.0 : (x < 0 ? -1.0 : x);
    case QRUN_OP_ERF:
        return erf(x);
    default:
        return NAN;
    }
}

static int64_t ew_unary_i(qrun_op op, int64_t x, bool uns) {
    switch (op) {
    case QRUN_OP_NEG:
        return (int64_t)(0 - (uint64_t)x);
    case QRUN_OP_ABS:
        return (uns || x >= 0) ? x : (int64_t)(0 - (uint64_t)x);
    case QRUN_OP_SIGN:
        return uns ? (x != 0) : (x > 0) - (x < 0);
    default:
        return x; /* Floor/Ceil/Round of an integer */
    }
}

static bool ew_unary_int_ok(qrun_op op) {
    return op == QRUN_OP_NEG || op == QRUN_OP_ABS || op == QRUN_OP_SIGN || op == QRUN_OP_FLOOR ||
           op == QRUN_OP_CEIL || op == QRUN_OP_ROUND;
}

static qrun_status ew_eval_unary(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    struct qrun_tensor *y = call->outputs[0];
    qrun_op op = call->node->op;
    int64_t n = ew_numel(x);
    bool par = n >= EW_PARALLEL_MIN && call->n_threads > 1 && ew_parallel_ok(y->dtype);
    int nt = call->n_threads;
    if (x->dtype == QRUN_DTYPE_FLOAT) {
        const float *xs = x->data;
        float *ys = y->data;
#pragma omp parallel for num_threads(nt) if (par)
        for (int64_t i = 0; i < n; i++)
            ys[i] = ew_unary_f(op, xs[i]);
        return QRUN_OK;
    }
    if (qrun_dtype_is_integer(x->dtype)) {
        ew_load_i64_fn ld = ew_int_loader(x->dtype);
        ew_store_i64_fn st = ew_int_storer(y->dtype);
        bool uns = !qrun_dtype_traits_get(x->dtype)->is_signed;
#pragma omp parallel for num_threads(nt) if (par)
        for (int64_t i = 0; i < n; i++)
            st(y->data, i, ew_unary_i(op, ld(x->data, i), uns));
        return QRUN_OK;
    }
    const struct qrun_dtype_traits *tx = qrun_dtype_traits_get(x->dtype);
    const struct qrun_dtype_traits *ty = qrun_dtype_traits_get(y->dtype);
#pragma omp parallel for num_threads(nt) if (par)
    for (int64_t i = 0; i < n; i++)
        ty->set(y->data, (size_t)i, ew_unary_d(op, tx->get(x->data, (size_t)i)), true);
    return QRUN_OK;
}

/* ---- supports ------------------------------------------------------------ */

static bool ew_supports_numeric(const qrun_node *node,
                                const struct qrun_tensor *const *inputs,
                                int n_inputs,
                                char *why,
                                size_t why_cap) {
    return ew_inputs_numeric(node, inputs, n_inputs, NULL, why, why_cap);
}

/* Unary ops: integer inputs only for the ops ONNX defines on integers. */
static bool ew_supports_unary(const qrun_node *node,
                              const struct qrun_tensor *const *inputs,
                              int n_inputs,
                              char *why,
                              size_t why_cap) {
    return ew_inputs_numeric(node, inputs, n_inputs > 0 ? 1 : 0, ew_unary_int_ok, why, why_cap) &&
           ew_inputs_numeric(node, inputs, n_inputs, NULL, why, why_cap);
}

#define EW_BIN(id)                                                                                 \
    { .op = QRUN_OP_##id, .supports = ew_supports_numeric, .eval = ew_eval_binary }
#define EW_VAR(id)                                                                                 \
    { .op = QRUN_OP_##id, .supports = ew_supports_numeric, .eval = ew_eval_variadic }
#define EW_UN(id)                                                                                  \
    { .op = QRUN_OP_##id, .supports = ew_supports_unary, .eval = ew_eval_unary }

const cpu_ref_kernel cpu_ref_kernels_elementwise[] = {
    EW_BIN(ADD),  EW_BIN(SUB), EW_BIN(MUL),
    EW_BIN(DIV),  EW_BIN(POW), EW_VAR(MIN),
    EW_VAR(MAX),  EW_VAR(SUM), EW_VAR(MEAN),
    EW_UN(SQRT),  EW_UN(EXP),  EW_UN(LOG),
    EW_UN(NEG),   EW_UN(ABS),  EW_UN(RECIPROCAL),
    EW_UN(FLOOR), EW_UN(CEIL), EW_UN(ROUND),
    EW_UN(SIGN),  EW_UN(ERF),  {.op = QRUN_OP_UNKNOWN},
};
