/* SPDX-License-Identifier: Apache-2.0 */
/* cpu_ref: the reference backend; dispatches each node to its op's kernel. */
#include "backends/cpu_ref/kernel.h"
#include "backends/cpu_ref/kernels.h"
#include "runtime/alloc.h"

#include <stdio.h>

typedef struct cpu_ref_ctx {
    const qrun_allocator *alloc;
    const cpu_ref_kernel *by_op[QRUN_OP_COUNT];
} cpu_ref_ctx;

bool cpu_ref_input0_in(const qrun_node *node,
                       const struct qrun_tensor *const *inputs,
                       int n_inputs,
                       unsigned classes,
                       char *why,
                       size_t why_cap)
{
    qrun_dtype dt = n_inputs > 0 && inputs[0] ? inputs[0]->dtype : QRUN_DTYPE_UNDEFINED;
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(dt);
    if (dt == QRUN_DTYPE_UNDEFINED)
        return true;
    if ((classes & CPU_REF_FLOATS) && tr->is_float && tr->bits >= 16)
        return true;
    if ((classes & CPU_REF_INTS) && tr->is_integer && tr->bits >= 8)
        return true;
    snprintf(why, why_cap, "%s: type %s is not implemented", node->op_type, qrun_dtype_name(dt));
    return false;
}

static const char *cpu_ref_name(void *ctx) {
    (void)ctx;
    return "cpu_ref";
}

static bool cpu_ref_supports(void *vctx,
                             const qrun_node *node,
                             const struct qrun_tensor *const *inputs,
                             int n_inputs,
                             char *why,
                             size_t why_cap) {
    const cpu_ref_ctx *ctx = vctx;
    const cpu_ref_kernel *k =
        (node->op > 0 && node->op < QRUN_OP_COUNT) ? ctx->by_op[node->op] : NULL;
    if (!k) {
        snprintf(why, why_cap, "cpu_ref has no kernel for %s", node->op_type);
        return false;
    }
    if (k->supports && inputs)
        return k->supports(node, inputs, n_inputs, why, why_cap);
    return true;
}

static qrun_status cpu_ref_prepare(void *vctx, const qrun_kernel_call *call, void **op_data) {
    const cpu_ref_ctx *ctx = vctx;
    const cpu_ref_kernel *k = ctx->by_op[call->node->op];
    *op_data = NULL;
    if (!k || !k->prepare)
        return QRUN_OK;
    void *d = qrun_calloc(ctx->alloc, 1, k->op_data_bytes(call));
    if (!d)
        return qrun_errf(call->err, QRUN_E_NOMEM, "out of memory preparing %s",
                         call->node->op_type);
    qrun_status s = k->prepare(call, d);
    if (s) {
        qrun_free(ctx->alloc, d);
        return s;
    }
    *op_data = d;
    return QRUN_OK;
}

static void cpu_ref_release(void *vctx, void *op_data) {
    const cpu_ref_ctx *ctx = vctx;
    qrun_free(ctx->alloc, op_data);
}

static size_t cpu_ref_scratch(void *vctx, const qrun_kernel_call *call) {
    const cpu_ref_ctx *ctx = vctx;
    const cpu_ref_kernel *k = ctx->by_op[call->node->op];
    return (k && k->scratch_bytes) ? k->scratch_bytes(call) : 0;
}

/*
 * Nodes whose inputs and outputs together hold fewer elements than this run
 * on one thread whatever the session asks: they finish in a few microseconds,
 * less than starting and joining an OpenMP team costs (far less when the
 * cores are shared and a team member waits for a time slice). Kernels with
 * more work set their own thresholds (ops/qlinear_core.h, ew_common.c).
 */
#define CPU_REF_PARALLEL_MIN_ELEMS ((int64_t)1 << 14)

static int64_t cpu_ref_io_elems(const qrun_kernel_call *call) {
    int64_t n = 0;
    for (int i = 0; i < call->n_inputs; i++)
        n += call->inputs[i] ? qrun_tensor_numel_(call->inputs[i]) : 0;
    for (int i = 0; i < call->n_outputs; i++)
        n += call->outputs[i] ? qrun_tensor_numel_(call->outputs[i]) : 0;
    return n;
}

static qrun_status cpu_ref_run(void *vctx, const qrun_kernel_call *call) {
    const cpu_ref_ctx *ctx = vctx;
    const cpu_ref_kernel *k = ctx->by_op[call->node->op];
    if (!k)
        return qrun_errf(call->err, QRUN_E_INTERNAL, "cpu_ref has no kernel for %s",
                         call->node->op_type);
    if (call->n_threads > 1 && cpu_ref_io_elems(call) < CPU_REF_PARALLEL_MIN_ELEMS) {
        qrun_kernel_call one = *call; /* scratch was sized for more threads: fewer fit */
        one.n_threads = 1;
        return k->eval(&one);
    }
    return k->eval(call);
}

static void cpu_ref_free(void *vctx) {
    cpu_ref_ctx *ctx = vctx;
    if (ctx)
        qrun_free(ctx->alloc, ctx);
}

qrun_status cpu_ref_backend_create(const qrun_allocator *alloc, qrun_backend *out) {
    cpu_ref_ctx *ctx = qrun_calloc(alloc, 1, sizeof *ctx);
    if (!ctx)
        return QRUN_E_NOMEM;
    ctx->alloc = alloc;
    for (int f = 0; cpu_ref_kernel_families[f]; f++) {
        for (const cpu_ref_kernel *k = cpu_ref_kernel_families[f]; k->op != QRUN_OP_UNKNOWN; k++)
            ctx->by_op[k->op] = k;
    }
    out->iface = (qrun_backend_i){.name = cpu_ref_name,
                                  .supports_node = cpu_ref_supports,
                                  .prepare_node = cpu_ref_prepare,
                                  .release_node = cpu_ref_release,
                                  .scratch_bytes = cpu_ref_scratch,
                                  .run_node = cpu_ref_run,
                                  .free = cpu_ref_free};
    out->ctx = ctx;
    return QRUN_OK;
}
