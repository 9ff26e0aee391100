/* SPDX-License-Identifier: Apache-2.0 */
/* accel_sim backend: which nodes the accelerator takes, what each costs, how values are made
 * (see backend.h). */
#include "backends/accel_sim/backend.h"
#include "backends/accel_sim/model.h"

#include "backends/cpu_ref/kernel.h"
#include "runtime/alloc.h"
#include "runtime/macs.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

typedef struct accel_ctx {
    const qrun_allocator *alloc;
    hw_config hw;
    qrun_backend ref; /* cpu_ref: values of the data ops, and of folded constants */
    qrun_sim_mode mode;
    qrun_dtype timing_dtype;
    accel_sim_node **nodes;
    int n_nodes;
    size_t cap;
    unsigned generation;
    accel_model model; /* report of the plan at model_generation */
    unsigned model_generation;
    bool model_valid;
} accel_ctx;

/* ---- which ops, and what kind of work ---------------------------------------- */

typedef enum op_class { OPC_NONE = 0, OPC_MAC, OPC_SIMD, OPC_MOVE, OPC_VIEW } op_class;

enum { ALL_INPUTS = INT_MAX }; /* variadic ops: every input is an activation */

typedef struct op_info {
    op_class cls;
    int data_inputs; /* leading inputs that are activations (the rest: parameters, shapes) */
    int window;      /* simd: element operations per output (0: per pooling window) */
} op_info;

static op_info op_info_of(qrun_op op) {
    switch (op) {
    case QRUN_OP_CONV:
    case QRUN_OP_MATMUL:
    case QRUN_OP_GEMM:
    case QRUN_OP_CONV_INTEGER:
    case QRUN_OP_MATMUL_INTEGER:
    case QRUN_OP_QLINEAR_CONV:
    case QRUN_OP_QLINEAR_MATMUL:
    case QRUN_OP_MS_QLINEAR_CONV:
    case QRUN_OP_MS_QGEMM:
        return (op_info){OPC_MAC, 1, 0};
    case QRUN_OP_RELU:
    case QRUN_OP_CLIP:
    case QRUN_OP_LEAKY_RELU:
        return (op_info){OPC_SIMD, 1, 1};
    case QRUN_OP_BATCH_NORMALIZATION: /* scale and shift per element */
        return (op_info){OPC_SIMD, 1, 2};
    case QRUN_OP_ADD:
    case QRUN_OP_MUL:
    case QRUN_OP_SUM:
        return (op_info){OPC_SIMD, ALL_INPUTS, 1};
    case QRUN_OP_MS_QLINEAR_ADD:
    case QRUN_OP_MS_QLINEAR_MUL:
        return (op_info){OPC_SIMD, 1, 1}; /* inputs 0 and 3 are the operands: is_data_input */
    case QRUN_OP_MAX_POOL:
    case QRUN_OP_AVERAGE_POOL:
    case QRUN_OP_GLOBAL_AVERAGE_POOL:
    case QRUN_OP_GLOBAL_MAX_POOL:
    case QRUN_OP_MS_QLINEAR_AVERAGE_POOL:
    case QRUN_OP_MS_QLINEAR_GLOBAL_AVERAGE_POOL:
        return (op_info){OPC_SIMD, 1, 0};
    case QRUN_OP_CONCAT:
    case QRUN_OP_TRANSPOSE:
    case QRUN_OP_MS_QLINEAR_CONCAT: /* inputs: y_scale, y_zp, then (x, scale, zp) triples */
        return (op_info){OPC_MOVE, ALL_INPUTS, 0};
    case QRUN_OP_RESHAPE:
    case QRUN_OP_FLATTEN:
    case QRUN_OP_SQUEEZE:
    case QRUN_OP_UNSQUEEZE:
    case QRUN_OP_IDENTITY:
    case QRUN_OP_DROPOUT:
        return (op_info){OPC_VIEW, 1, 0};
    default:
        return (op_info){OPC_NONE, 0, 0};
    }
}

/* Is input i of node an activation (as opposed to a scale, zero point, shape or axes)? */
static bool is_data_input(const qrun_node *node, int i) {
    switch (node->op) {
    case QRUN_OP_MS_QLINEAR_ADD:
    case QRUN_OP_MS_QLINEAR_MUL:
        return i == 0 || i == 3;
    case QRUN_OP_MS_QLINEAR_CONCAT:
        return i >= 2 && (i - 2) % 3 == 0;
    case QRUN_OP_BATCH_NORMALIZATION:
        return i == 0;
    default: {
        op_info inf = op_info_of(node->op);
        return i < inf.data_inputs;
    }
    }
}

static bool is_float(qrun_dtype t) {
    return t == QRUN_DTYPE_FLOAT || t == QRUN_DTYPE_FLOAT16 || t == QRUN_DTYPE_BFLOAT16 ||
           t == QRUN_DTYPE_DOUBLE;
}

/* The datatype the accelerator holds t in: the timing dtype replaces every 8-bit and float
 * type of an activation or weight. */
static qrun_dtype eff_dtype(const accel_ctx *ctx, qrun_dtype t) {
    if (ctx->mode == QRUN_SIM_TIMING && ctx->timing_dtype != QRUN_DTYPE_UNDEFINED &&
        (is_float(t) || qrun_dtype_bits(t) == 8))
        return ctx->timing_dtype;
    return t;
}

double accel_sim_backend_bytes(void *vctx, const struct qrun_tensor *t) {
    const accel_ctx *ctx = vctx;
    int64_t n = qrun_tensor_numel_(t);
    return n < 0 ? 0 : (double)n * qrun_dtype_bits(eff_dtype(ctx, t->dtype)) / 8.0;
}

static const char *accel_name(void *ctx) {
    (void)ctx;
    return "accel_sim";
}

static bool dtype_listed(const accel_ctx *ctx,
                         const qrun_node *node,
                         const struct qrun_tensor *t,
                         char *why,
                         size_t why_cap) {
    if (!t || t->dtype == QRUN_DTYPE_UNDEFINED)
        return true;
    qrun_dtype e = eff_dtype(ctx, t->dtype);
    if (e > 0 && e < QRUN_DTYPE_COUNT && ctx->hw.dtypes[e].present)
        return true;
    if (is_float(e) && ctx->mode == QRUN_SIM_FULL)
        snprintf(why, why_cap,
                 "accel_sim: %s on %s: the accelerator computes the 8-bit formats of '%s' "
                 "(quantize the model, or time it with --sim timing --dtype)",
                 node->op_type, qrun_dtype_name(e), ctx->hw.name);
    else
        snprintf(why, why_cap, "accel_sim: hardware '%s' has no datapath for %s (%s)", ctx->hw.name,
                 qrun_dtype_name(e), node->op_type);
    return false;
}

static bool accel_supports(void *vctx,
                           const qrun_node *node,
                           const struct qrun_tensor *const *inputs,
                           int n_inputs,
                           char *why,
                           size_t why_cap) {
    const accel_ctx *ctx = vctx;
    op_info inf = op_info_of(node->op);
    if (inf.cls == OPC_NONE) {
        snprintf(why, why_cap, "accel_sim has no cost basis for %s (runs on the host)",
                 node->op_type);
        return false;
    }
    int wi = accel_mac_weight_input(node->op);
    if (wi < 0 && inf.cls == OPC_MAC)
        wi = 1; /* float Conv, MatMul, Gemm */
    for (int i = 0; inputs && i < n_inputs; i++) {
        if ((is_data_input(node, i) || i == wi) &&
            !dtype_listed(ctx, node, inputs[i], why, why_cap))
            return false;
    }
    bool timing_mac = inf.cls == OPC_MAC && ctx->mode == QRUN_SIM_TIMING;
    if (inf.cls == OPC_MAC && !timing_mac && inputs &&
        !accel_mac_supports(node, inputs, n_inputs, why, why_cap))
        return false;
    return timing_mac ||
           ctx->ref.iface.supports_node(ctx->ref.ctx, node, inputs, n_inputs, why, why_cap);
}

/* ---- the work of one node ------------------------------------------------------ */

static int64_t numel(const struct qrun_tensor *t) {
    return t ? qrun_tensor_numel_(t) : 0;
}

/* Rows an activation flows in, one after another: H of an NCHW (or ...HW) tensor, M of a
 * matrix, 1 for a vector. Row pipelining streams activations at this granularity. */
static int64_t rows_of(const struct qrun_tensor *t) {
    if (!t || t->rank < 2)
        return 1;
    int64_t r = t->dims[t->rank >= 3 ? t->rank - 2 : 0];
    return r > 0 ? r : 1;
}

static bool is_conv(qrun_op op) {
    return op == QRUN_OP_CONV || op == QRUN_OP_CONV_INTEGER || op == QRUN_OP_QLINEAR_CONV ||
           op == QRUN_OP_MS_QLINEAR_CONV;
}

/* Fraction of its input x an op needs before its first output row: window rows of x's rows
 * (a 3x3 conv over 56 rows: 3/56); capped at 1 (the whole input, e.g. a global pool). */
static double fill_of(const struct qrun_tensor *x, double window_rows) {
    double f = window_rows / (double)rows_of(x);
    return f < 1 ? f : 1;
}

/* Window rows of a conv or pooling node: kernel_shape[0] (else the weight's kh), dilated. */
static double window_rows(const qrun_node *node, const struct qrun_tensor *wt) {
    const int64_t *ks = NULL, *dl = NULL;
    double kh = 1;
    if (qrun_node_attr_ints(node, "kernel_shape", &ks) > 0)
        kh = (double)ks[0];
    else if (wt && wt->rank >= 3)
        kh = (double)wt->dims[2];
    if (qrun_node_attr_ints(node, "dilations", &dl) > 0 && dl[0] > 1)
        kh = (kh - 1) * (double)dl[0] + 1;
    return kh;
}

static qrun_status mac_work(accel_ctx *ctx, const qrun_kernel_call *call, accel_work *w) {
    int wi = accel_mac_weight_input(call->node->op);
    if (wi < 0)
        wi = 1; /* float Conv, MatMul, Gemm */
    const struct qrun_tensor *a = call->inputs[0], *b = call->inputs[wi];
    const struct qrun_tensor *y = call->outputs[0];
    int64_t macs =
        qrun_node_macs(call->node, call->inputs, (const struct qrun_tensor *const *)call->outputs);
    int64_t outputs = numel(y);
    if (macs < 0 || outputs < 0)
        return qrun_errf(call->err, QRUN_E_INTERNAL, "accel_sim: no static shapes to time %s",
                         call->node->op_type);
    qrun_dtype yt = eff_dtype(ctx, y->dtype);
    *w = (accel_work){.kind = ACCEL_WORK_MAC,
                      .outputs = outputs,
                      .k = outputs ? macs / outputs : 0, /* an empty output is no work */
                      .a_dtype = eff_dtype(ctx, a->dtype),
                      .w_dtype = eff_dtype(ctx, b->dtype),
                      .in_bytes = (int64_t)accel_sim_backend_bytes(ctx, a),
                      .weight_bytes = (int64_t)accel_sim_backend_bytes(ctx, b),
                      .out_bytes = (int64_t)accel_sim_backend_bytes(ctx, y),
                      .requant = qrun_dtype_bits(yt) <= 8};
    bool conv = is_conv(call->node->op) && y->rank >= 3;
    w->n = conv ? y->dims[1] : y->rank > 0 ? y->dims[y->rank - 1] : 1;
    w->out_rows = rows_of(y);
    w->fill = conv ? fill_of(a, window_rows(call->node, b)) : fill_of(a, 1);
    return QRUN_OK;
}

static bool is_global_pool(qrun_op op) {
    return op == QRUN_OP_GLOBAL_AVERAGE_POOL || op == QRUN_OP_GLOBAL_MAX_POOL ||
           op == QRUN_OP_MS_QLINEAR_GLOBAL_AVERAGE_POOL;
}

/* Element operations of a pooling node: outputs x window (global: inputs). */
static int64_t pool_ops(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    if (is_global_pool(call->node->op))
        return numel(x);
    const int64_t *ks = NULL;
    size_t n = qrun_node_attr_ints(call->node, "kernel_shape", &ks);
    int64_t win = 1;
    for (size_t i = 0; i < n; i++)
        win *= ks[i];
    return numel(call->outputs[0]) * win;
}

/* A Transpose that leaves the last two axes (rows, columns) in place, such as a channel
 * shuffle, moves whole rows: it can stream row by row. */
static bool keeps_rows(const qrun_node *node, int rank) {
    const int64_t *perm = NULL;
    size_t n = qrun_node_attr_ints(node, "perm", &perm);
    return n == (size_t)rank && perm[rank - 2] == rank - 2 && perm[rank - 1] == rank - 1;
}

/* Row-unit and data-movement work: in-place element ops move no activations over the network;
 * extra operands (Add's second input) and MOVE ops do. */
static void row_work(accel_ctx *ctx, const qrun_kernel_call *call, op_info inf, accel_work *w) {
    const struct qrun_tensor *y = call->outputs[0];
    qrun_dtype dt = eff_dtype(ctx, call->inputs[is_data_input(call->node, 0) ? 0 : 2]->dtype);
    int64_t moved = 0, first = -1;
    for (int i = 0; i < call->n_inputs; i++) {
        const struct qrun_tensor *t = call->inputs[i];
        if (!t || !is_data_input(call->node, i) || t->data)
            continue; /* constants sit in the bank already */
        if (first < 0 && inf.cls == OPC_SIMD)
            first = i;
        else
            moved += (int64_t)accel_sim_backend_bytes(ctx, t);
    }
    qrun_dtype yt = eff_dtype(ctx, y->dtype);
    *w = (accel_work){.kind = inf.cls == OPC_SIMD   ? ACCEL_WORK_SIMD
                              : inf.cls == OPC_MOVE ? ACCEL_WORK_MOVE
                                                    : ACCEL_WORK_VIEW,
                      .outputs = numel(y),
                      .a_dtype = dt,
                      .w_dtype = dt,
                      .in_bytes = inf.cls == OPC_VIEW ? 0 : moved,
                      .requant = qrun_dtype_bits(yt) <= 8 && qrun_dtype_bits(dt) <= 8 &&
                                 call->node->domain[0] != '\0'}; /* com.microsoft QLinear* */
    if (inf.cls == OPC_SIMD)
        w->ops = inf.window ? numel(y) * inf.window : pool_ops(call);
    /* Row by row: element ops, a concat over channels and a transpose that keeps the rows
     * need one input row, a pooling window its rows; global pools and other data movement
     * the whole input. */
    const struct qrun_tensor *x = call->inputs[is_data_input(call->node, 0) ? 0 : 2];
    w->out_rows = rows_of(y);
    bool by_rows =
        inf.cls == OPC_MOVE && y->rank >= 3 &&
        (call->node->op == QRUN_OP_TRANSPOSE ? keeps_rows(call->node, y->rank)
                                             : qrun_node_attr_int(call->node, "axis", 0) == 1);
    bool rowwise = (inf.cls == OPC_SIMD && !is_global_pool(call->node->op)) || by_rows;
    w->fill = !rowwise ? 1 : fill_of(x, inf.window || by_rows ? 1 : window_rows(call->node, NULL));
}

/* ---- prepare / run / release --------------------------------------------------- */

static bool all_inputs_known(const qrun_kernel_call *call) {
    for (int i = 0; i < call->n_inputs; i++) {
        if (call->inputs[i] && !call->inputs[i]->data)
            return false;
    }
    return true;
}

/* Activation inputs that are not constants: 1 for a unary op, also for Mul/Add by a constant
 * (a BatchNormalization written as Mul and Add). */
static int dynamic_inputs(const qrun_kernel_call *call) {
    int n = 0;
    for (int i = 0; i < call->n_inputs; i++)
        n += call->inputs[i] && is_data_input(call->node, i) && !call->inputs[i]->data;
    return n;
}

static qrun_status add_node(accel_ctx *ctx, accel_sim_node *an, const qrun_kernel_call *call) {
    if (qrun_grow(ctx->alloc, (void **)&ctx->nodes, sizeof *ctx->nodes, &ctx->cap,
                  (size_t)ctx->n_nodes + 1))
        return qrun_errf(call->err, QRUN_E_NOMEM, "out of memory");
    ctx->nodes[ctx->n_nodes++] = an;
    ctx->generation++;
    return QRUN_OK;
}

static qrun_dtype slower(const hw_config *hw, qrun_dtype a, qrun_dtype w) {
    return hw->dtypes[a].macs_per_pe_per_cycle <= hw->dtypes[w].macs_per_pe_per_cycle ? a : w;
}

static qrun_status
prepare_values(accel_ctx *ctx, op_info inf, const qrun_kernel_call *call, accel_sim_node *an) {
    if (inf.cls == OPC_MAC) {
        accel_acc acc;
        qrun_err quiet;
        if (accel_acc_init(&acc, &ctx->hw, an->mac_dtype, an->work.a_dtype, an->work.w_dtype,
                           &quiet) == QRUN_OK)
            accel_acc_describe(&acc, an->accumulator, sizeof an->accumulator);
    }
    /* Constant nodes are folded at plan time: their values must be the real ones. */
    bool folding = all_inputs_known(call);
    if (inf.cls == OPC_MAC && ctx->mode == QRUN_SIM_TIMING && !folding) {
        an->skip = true;
        return QRUN_OK;
    }
    if (inf.cls == OPC_MAC && ctx->mode == QRUN_SIM_FULL) {
        an->arith = true;
        return accel_mac_prepare(&ctx->hw, an->mac_dtype, call, &an->mac);
    }
    return ctx->ref.iface.prepare_node
               ? ctx->ref.iface.prepare_node(ctx->ref.ctx, call, &an->ref_data)
               : QRUN_OK;
}

static qrun_status accel_prepare(void *vctx, const qrun_kernel_call *call, void **op_data) {
    accel_ctx *ctx = vctx;
    *op_data = NULL;
    op_info inf = op_info_of(call->node->op);
    accel_sim_node *an = qrun_calloc(ctx->alloc, 1, sizeof *an);
    if (!an)
        return qrun_errf(call->err, QRUN_E_NOMEM, "out of memory");
    an->node = call->node;
    an->fusable = inf.cls == OPC_SIMD && inf.window > 0 && dynamic_inputs(call) == 1;
    qrun_status s = QRUN_OK;
    if (inf.cls == OPC_MAC)
        s = mac_work(ctx, call, &an->work);
    else
        row_work(ctx, call, inf, &an->work);
    if (!s) {
        an->mac_dtype = slower(&ctx->hw, an->work.a_dtype, an->work.w_dtype);
        s = accel_sim_cost(&ctx->hw, &an->work, &an->cost, call->err);
    }
    if (!s)
        s = prepare_values(ctx, inf, call, an);
    if (!s)
        s = add_node(ctx, an, call);
    if (s) {
        qrun_err_prefix(call->err, "accel_sim: ");
        if (an->ref_data && ctx->ref.iface.release_node)
            ctx->ref.iface.release_node(ctx->ref.ctx, an->ref_data);
        qrun_free(ctx->alloc, an);
        return s;
    }
    *op_data = an;
    return QRUN_OK;
}

static void accel_release(void *vctx, void *op_data) {
    accel_ctx *ctx = vctx;
    accel_sim_node *an = op_data;
    if (!an)
        return;
    if (ctx->ref.iface.release_node && an->ref_data)
        ctx->ref.iface.release_node(ctx->ref.ctx, an->ref_data);
    int k = 0;
    while (k < ctx->n_nodes && ctx->nodes[k] != an)
        k++;
    if (k < ctx->n_nodes) {
        memmove(&ctx->nodes[k], &ctx->nodes[k + 1],
                (size_t)(ctx->n_nodes - k - 1) * sizeof *ctx->nodes);
        ctx->n_nodes--;
    }
    ctx->generation++;
    qrun_free(ctx->alloc, an);
}

/* The same call with cpu_ref's own op data in place of ours. */
static qrun_kernel_call ref_call(const qrun_kernel_call *call) {
    qrun_kernel_call c = *call;
    const accel_sim_node *an = call->op_data;
    c.op_data = an ? an->ref_data : NULL;
    return c;
}

static bool uses_ref(const accel_sim_node *an) {
    return an && !an->arith && !an->skip;
}

static size_t accel_scratch(void *vctx, const qrun_kernel_call *call) {
    const accel_ctx *ctx = vctx;
    if (!uses_ref(call->op_data) || !ctx->ref.iface.scratch_bytes)
        return 0;
    qrun_kernel_call c = ref_call(call);
    return ctx->ref.iface.scratch_bytes(ctx->ref.ctx, &c);
}

static qrun_status accel_run(void *vctx, const qrun_kernel_call *call) {
    accel_ctx *ctx = vctx;
    /* The node record is ours (made by accel_prepare); a run adds what it measured. */
    accel_sim_node *an = (accel_sim_node *)call->op_data;
    if (an && an->skip) {
        for (int o = 0; o < call->n_outputs; o++) {
            if (call->outputs[o])
                memset(call->outputs[o]->data, 0, call->outputs[o]->nbytes);
        }
        return QRUN_OK;
    }
    if (an && an->arith) {
        qrun_status s = accel_mac_run(&an->mac, call, &an->zero_products);
        an->measured = s == QRUN_OK;
        ctx->generation++; /* the model report uses the measurement */
        return s;
    }
    qrun_kernel_call c = ref_call(call);
    return ctx->ref.iface.run_node(ctx->ref.ctx, &c);
}

static void accel_free(void *vctx) {
    accel_ctx *ctx = vctx;
    if (!ctx)
        return;
    if (ctx->ref.iface.free)
        ctx->ref.iface.free(ctx->ref.ctx);
    accel_model_release(&ctx->model, ctx->alloc);
    qrun_free(ctx->alloc, ctx->nodes);
    qrun_free(ctx->alloc, ctx);
}

qrun_status
accel_sim_backend_create(const qrun_allocator *alloc, const hw_config *hw, qrun_backend *out) {
    accel_ctx *ctx = qrun_calloc(alloc, 1, sizeof *ctx);
    if (!ctx)
        return QRUN_E_NOMEM;
    ctx->alloc = alloc;
    ctx->hw = *hw;
    ctx->hw.sources = NULL; /* citations stay with the caller's copy */
    ctx->hw.n_sources = 0;
    qrun_status s = cpu_ref_backend_create(alloc, &ctx->ref);
    if (s) {
        qrun_free(alloc, ctx);
        return s;
    }
    out->iface = (qrun_backend_i){.name = accel_name,
                                  .supports_node = accel_supports,
                                  .prepare_node = accel_prepare,
                                  .release_node = accel_release,
                                  .scratch_bytes = accel_scratch,
                                  .run_node = accel_run,
                                  .free = accel_free};
    out->ctx = ctx;
    return QRUN_OK;
}

void accel_sim_backend_configure(void *vctx, qrun_sim_mode mode, qrun_dtype timing_dtype) {
    accel_ctx *ctx = vctx;
    ctx->mode = mode;
    ctx->timing_dtype = mode == QRUN_SIM_TIMING ? timing_dtype : QRUN_DTYPE_UNDEFINED;
}

qrun_sim_mode accel_sim_backend_mode(void *vctx) {
    const accel_ctx *ctx = vctx;
    return ctx->mode;
}

int accel_sim_backend_nodes(void *vctx, const accel_sim_node *const **out) {
    const accel_ctx *ctx = vctx;
    *out = (const accel_sim_node *const *)ctx->nodes;
    return ctx->n_nodes;
}

const hw_config *accel_sim_backend_hw(void *vctx) {
    const accel_ctx *ctx = vctx;
    return &ctx->hw;
}

unsigned accel_sim_backend_generation(void *vctx) {
    const accel_ctx *ctx = vctx;
    return ctx->generation;
}

qrun_status accel_sim_backend_model(void *vctx,
                                    const qrun_graph *g,
                                    const qrun_exec *x,
                                    int accel_backend,
                                    const accel_model **out,
                                    qrun_err *err) {
    accel_ctx *ctx = vctx;
    if (!ctx->model_valid || ctx->model_generation != ctx->generation) {
        accel_model_release(&ctx->model, ctx->alloc);
        ctx->model_valid = false;
        qrun_status s = accel_model_eval(g, x, accel_backend, ctx, ctx->alloc, &ctx->model, err);
        if (s)
            return s;
        ctx->model_valid = true;
        ctx->model_generation = ctx->generation;
    }
    *out = &ctx->model;
    return QRUN_OK;
}
