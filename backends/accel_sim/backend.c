/* SPDX-License-Identifier: Apache-2.0 */
/* accel_sim backend (timing mode): prices MAC-heavy nodes at plan time, computes with cpu_ref. */
#include "backends/accel_sim/backend.h"

#include "backends/cpu_ref/kernel.h"
#include "runtime/alloc.h"
#include "runtime/macs.h"

#include <stdio.h>
#include <string.h>

typedef struct accel_ctx {
    const qrun_allocator *alloc;
    hw_config hw;
    qrun_backend ref; /* cpu_ref computes the values */
    accel_sim_node **nodes;
    int n_nodes;
    size_t cap;
} accel_ctx;

/* Input index of the second GEMM operand (weights), or -1 for ops accel_sim does not take. */
static int weight_input(qrun_op op) {
    switch (op) {
    case QRUN_OP_CONV:
    case QRUN_OP_CONV_INTEGER:
    case QRUN_OP_MATMUL:
    case QRUN_OP_MATMUL_INTEGER:
    case QRUN_OP_GEMM:
        return 1;
    case QRUN_OP_QLINEAR_CONV:
    case QRUN_OP_QLINEAR_MATMUL:
        return 3;
    default:
        return -1;
    }
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
    if (!t || t->dtype == QRUN_DTYPE_UNDEFINED || ctx->hw.dtypes[t->dtype].present)
        return true;
    snprintf(why, why_cap, "accel_sim: hardware '%s' has no MAC rate for %s (%s)", ctx->hw.name,
             qrun_dtype_name(t->dtype), node->op_type);
    return false;
}

static bool accel_supports(void *vctx,
                           const qrun_node *node,
                           const struct qrun_tensor *const *inputs,
                           int n_inputs,
                           char *why,
                           size_t why_cap) {
    const accel_ctx *ctx = vctx;
    int wi = weight_input(node->op);
    if (wi < 0) {
        snprintf(why, why_cap, "accel_sim does not model %s", node->op_type);
        return false;
    }
    if (inputs && n_inputs > wi &&
        (!dtype_listed(ctx, node, inputs[0], why, why_cap) ||
         !dtype_listed(ctx, node, inputs[wi], why, why_cap)))
        return false;
    return ctx->ref.iface.supports_node(ctx->ref.ctx, node, inputs, n_inputs, why, why_cap);
}

/* The GEMM view of the node: O dot products of length K, and the bytes it moves. */
static qrun_status node_work(const qrun_kernel_call *call, accel_work *w) {
    int wi = weight_input(call->node->op);
    const struct qrun_tensor *a = call->inputs[0], *b = call->inputs[wi];
    const struct qrun_tensor *y = call->outputs[0];
    int64_t macs =
        qrun_node_macs(call->node, call->inputs, (const struct qrun_tensor *const *)call->outputs);
    int64_t outputs = qrun_tensor_numel_(y);
    if (macs < 0 || outputs <= 0)
        return qrun_errf(call->err, QRUN_E_INTERNAL, "accel_sim: no static shapes to time %s",
                         call->node->op_type);
    *w = (accel_work){.outputs = outputs,
                      .k = macs / outputs,
                      .a_dtype = a->dtype,
                      .w_dtype = b->dtype,
                      .in_bytes = (int64_t)a->nbytes,
                      .weight_bytes = (int64_t)b->nbytes,
                      .out_bytes = (int64_t)y->nbytes,
                      .requant = qrun_dtype_bits(y->dtype) <= 8};
    return QRUN_OK;
}

static qrun_status accel_prepare(void *vctx, const qrun_kernel_call *call, void **op_data) {
    accel_ctx *ctx = vctx;
    *op_data = NULL;
    accel_work w;
    qrun_status s = node_work(call, &w);
    if (s)
        return s;
    accel_sim_node *an = qrun_calloc(ctx->alloc, 1, sizeof *an);
    if (!an || qrun_grow(ctx->alloc, (void **)&ctx->nodes, sizeof *ctx->nodes, &ctx->cap,
                         (size_t)ctx->n_nodes + 1)) {
        qrun_free(ctx->alloc, an);
        return qrun_errf(call->err, QRUN_E_NOMEM, "out of memory");
    }
    an->node = call->node;
    an->mac_dtype = ctx->hw.dtypes[w.a_dtype].macs_per_pe_per_cycle <=
                            ctx->hw.dtypes[w.w_dtype].macs_per_pe_per_cycle
                        ? w.a_dtype
                        : w.w_dtype;
    s = accel_sim_cost(&ctx->hw, &w, &an->cost, call->err);
    if (!s && ctx->ref.iface.prepare_node)
        s = ctx->ref.iface.prepare_node(ctx->ref.ctx, call, &an->ref_data);
    if (s) {
        qrun_err_prefix(call->err, "accel_sim: ");
        qrun_free(ctx->alloc, an);
        return s;
    }
    ctx->nodes[ctx->n_nodes++] = an;
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
    qrun_free(ctx->alloc, an);
}

/* The same call with cpu_ref's own op data in place of ours. */
static qrun_kernel_call ref_call(const qrun_kernel_call *call) {
    qrun_kernel_call c = *call;
    const accel_sim_node *an = call->op_data;
    c.op_data = an ? an->ref_data : NULL;
    return c;
}

static size_t accel_scratch(void *vctx, const qrun_kernel_call *call) {
    const accel_ctx *ctx = vctx;
    if (!ctx->ref.iface.scratch_bytes)
        return 0;
    qrun_kernel_call c = ref_call(call);
    return ctx->ref.iface.scratch_bytes(ctx->ref.ctx, &c);
}

static qrun_status accel_run(void *vctx, const qrun_kernel_call *call) {
    const accel_ctx *ctx = vctx;
    qrun_kernel_call c = ref_call(call);
    return ctx->ref.iface.run_node(ctx->ref.ctx, &c);
}

static void accel_free(void *vctx) {
    accel_ctx *ctx = vctx;
    if (!ctx)
        return;
    if (ctx->ref.iface.free)
        ctx->ref.iface.free(ctx->ref.ctx);
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

int accel_sim_backend_nodes(void *vctx, const accel_sim_node *const **out) {
    const accel_ctx *ctx = vctx;
    *out = (const accel_sim_node *const *)ctx->nodes;
    return ctx->n_nodes;
}

const hw_config *accel_sim_backend_hw(void *vctx) {
    const accel_ctx *ctx = vctx;
    return &ctx->hw;
}
