/* SPDX-License-Identifier: Apache-2.0 */
/* qrun_model_save: upgrade the graph's opset where needed, then write it with onnx/writer.c. */
#include "qrun/qrun.h"

#include "api/context.h"
#include "api/registry.h"
#include "onnx/onnx_writer.h"
#include "runtime/alloc.h"
#include "runtime/exec.h"

#include <inttypes.h>
#include <string.h>

/* True when every ai.onnx node is at the imported opset and that is at least `opset`. */
static bool save_as_is(const qrun_graph *g, int64_t opset) {
    int64_t imported = qrun_graph_opset(g, "");
    if (imported < opset)
        return false;
    for (int k = 0; k < g->n_nodes; k++) {
        if (g->nodes[k].domain[0] == '\0' && g->nodes[k].opset != imported)
            return false;
    }
    return true;
}

/*
 * Dtype and shape of every value after a plan over the declared input shapes
 * with symbolic dims set to sym_dim (what the graph declares where the plan
 * fails). False when the plan failed.
 */
static bool
save_plan(qrun_context *ctx, const qrun_graph *g, int64_t sym_dim, onnx_value_type *types) {
    struct qrun_tensor *descs = qrun_calloc(ctx->alloc, (size_t)g->n_inputs + 1, sizeof *descs);
    const struct qrun_tensor **ptrs =
        qrun_calloc(ctx->alloc, (size_t)g->n_inputs + 1, sizeof *ptrs);
    qrun_backend bs[QRUN_MAX_BACKENDS];
    int nb = 0;
    qrun_exec *x = NULL;
    qrun_err ignored;
    qrun_exec_options xo = {.n_threads = 1,
                            .fold_constants = true,
                            .max_tensor_elements = ctx->limits.max_tensor_elements,
                            .max_arena_bytes = ctx->limits.max_arena_bytes};
    bool planned = descs && ptrs &&
                   !qrun_registry_create_chain("cpu_ref", ctx->alloc, bs, &nb, &ignored) &&
                   !qrun_exec_create(g, bs, nb, ctx->alloc, &xo, &x, &ignored);
    if (planned) {
        qrun_declared_inputs_(g, descs, ptrs, sym_dim);
        planned = qrun_exec_plan(x, ptrs, g->n_inputs, &ignored) == QRUN_OK;
    }
    for (int v = 0; v < g->n_values; v++) {
        const struct qrun_tensor *t = planned ? qrun_exec_value(x, v) : NULL;
        if (!t)
            t = &g->values[v].info;
        types[v].dtype = t->dtype;
        types[v].rank = t->rank;
        for (int d = 0; d < QRUN_MAX_RANK; d++)
            types[v].dims[d] = d < t->rank ? t->dims[d] : -1;
    }
    qrun_exec_free(x);
    qrun_registry_free_chain(bs, nb);
    qrun_free(ctx->alloc, descs);
    qrun_free(ctx->alloc, ptrs);
    return planned;
}

/*
 * Dtype and shape of every value for the upgrade steps that need them. A dim
 * that follows a symbolic input dim is unknown (-1): planning with the
 * symbols at 1 and at 2 tells them apart, so no step relies on a value that
 * only holds for one batch size.
 */
static qrun_status save_types(qrun_context *ctx, const qrun_graph *g, onnx_value_type **out) {
    size_t n = (size_t)g->n_values + 1;
    onnx_value_type *types = qrun_calloc(ctx->alloc, n, sizeof *types);
    onnx_value_type *other = qrun_calloc(ctx->alloc, n, sizeof *other);
    if (!types || !other) {
        qrun_free(ctx->alloc, types);
        qrun_free(ctx->alloc, other);
        return qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory");
    }
    bool planned = save_plan(ctx, g, 1, types);
    bool symbolic = false;
    for (int i = 0; i < g->n_inputs; i++) {
        const struct qrun_tensor *t = &g->values[g->inputs[i]].info;
        for (int d = 0; d < t->rank; d++)
            symbolic = symbolic || t->dims[d] < 0;
    }
    if (planned && symbolic) {
        bool again = save_plan(ctx, g, 2, other);
        for (int v = 0; v < g->n_values; v++) {
            for (int d = 0; d < QRUN_MAX_RANK; d++) {
                if (!again || other[v].dims[d] != types[v].dims[d])
                    types[v].dims[d] = -1;
            }
        }
    }
    qrun_free(ctx->alloc, other);
    *out = types;
    return QRUN_OK;
}

/* A copy of g at one ai.onnx opset, at least `opset`. */
static qrun_status
save_upgraded(qrun_context *ctx, const qrun_graph *g, int64_t opset, qrun_graph **out) {
    qrun_status s = onnx_graph_copy(g, out, &ctx->err);
    if (s)
        return s;
    qrun_graph *c = *out;
    onnx_qdq_settle_opsets(c);
    int64_t target = onnx_graph_needed_opset(c);
    if (target < opset)
        target = opset;
    onnx_value_type *types = NULL;
    s = save_types(ctx, c, &types);
    if (!s)
        s = onnx_opset_upgrade(c, target, types, c->n_values, &ctx->err);
    qrun_free(ctx->alloc, types);
    if (s) {
        qrun_graph_free(c);
        *out = NULL;
    }
    return s;
}

QRUN_API qrun_status qrun_model_save_opset(qrun_context *ctx,
                                           const qrun_model *model,
                                           const char *path,
                                           int64_t opset) {
    if (!ctx || !model || !path)
        return ctx ? qrun_errf(&ctx->err, QRUN_E_ARG, "qrun_model_save: NULL argument")
                   : QRUN_E_ARG;
    if (opset < 0)
        return qrun_errf(&ctx->err, QRUN_E_ARG, "qrun_model_save: invalid opset %" PRId64, opset);
    const qrun_graph *g = qrun_model_source_graph_(model);
    qrun_graph *upgraded = NULL;
    qrun_status s = QRUN_OK;
    if (!save_as_is(g, opset)) {
        s = save_upgraded(ctx, g, opset, &upgraded);
        g = upgraded;
    }
    if (!s)
        s = onnx_save_file(path, g, &ctx->err);
    qrun_graph_free(upgraded);
    if (s) {
        qrun_err_prefix(&ctx->err, "writing '%s': ", path);
        return s;
    }
    ctx->err.msg[0] = '\0';
    return QRUN_OK;
}

QRUN_API qrun_status qrun_model_save(qrun_context *ctx, const qrun_model *model, const char *path) {
    return qrun_model_save_opset(ctx, model, path, 0);
}
