/* SPDX-License-Identifier: Apache-2.0 */
/* Constant folding into the graph (see fold_const.h). */
#include "runtime/quantize/fold_const.h"

#include "runtime/alloc.h"
#include "runtime/exec.h"

#include <string.h>

/* Declared input shapes as plan signatures; false when one is not declared. */
static bool declared_inputs(const qrun_graph *g, struct qrun_tensor *descs) {
    for (int i = 0; i < g->n_inputs; i++) {
        const struct qrun_tensor *info = &g->values[g->inputs[i]].info;
        if (info->rank < 0 || info->dtype == QRUN_DTYPE_UNDEFINED)
            return false;
        int64_t dims[QRUN_MAX_RANK];
        for (int d = 0; d < info->rank; d++)
            dims[d] = info->dims[d] < 0 ? 1 : info->dims[d];
        memset(&descs[i], 0, sizeof descs[i]);
        if (!qrun_tensor_set_shape(&descs[i], info->dtype, info->rank, dims))
            return false;
    }
    return true;
}

/* Value v becomes a constant holding a copy of t. */
static bool make_constant(qrun_graph *g, int v, const struct qrun_tensor *t) {
    struct qrun_tensor *info = &g->values[v].info;
    if (!qrun_tensor_set_shape(info, t->dtype, t->rank, t->dims) ||
        qrun_tensor_alloc_data(info, g->alloc))
        return false;
    if (t->nbytes)
        memcpy(info->data, t->data, t->nbytes);
    g->values[v].kind = QRUN_VALUE_CONSTANT;
    g->values[v].producer = -1;
    g->n_initializers++;
    return true;
}

/* Mark the nodes to fold and turn their outputs into constants. */
static qrun_status
fold_planned(qrun_graph *g, const qrun_exec *x, bool *dead, int *n_folded, qrun_err *err) {
    int n = 0;
    const qrun_exec_record *rec = qrun_exec_records(x, &n);
    for (int k = 0; k < g->n_nodes; k++) {
        const qrun_node *nd = &g->nodes[k];
        bool all_const = rec[k].folded;
        for (int i = 0; i < nd->n_inputs && all_const; i++) {
            int v = nd->inputs[i];
            all_const = v < 0 || g->values[v].kind == QRUN_VALUE_CONSTANT;
        }
        for (int o = 0; o < nd->n_outputs && all_const; o++) {
            int v = nd->outputs[o];
            all_const = v < 0 || (!g->values[v].is_output && qrun_exec_value(x, v));
        }
        if (!all_const)
            continue;
        for (int o = 0; o < nd->n_outputs; o++) {
            int v = nd->outputs[o];
            if (v >= 0 && !make_constant(g, v, qrun_exec_value(x, v)))
                return qrun_errf(err, QRUN_E_NOMEM, "out of memory folding constants");
        }
        dead[k] = true;
        (*n_folded)++;
    }
    return QRUN_OK;
}

qrun_status qrun_fold_constants(
    qrun_graph *g, const qrun_backend *backends, int n_backends, int *n_folded, qrun_err *err) {
    *n_folded = 0;
    const qrun_allocator *a = g->alloc;
    struct qrun_tensor *descs = qrun_calloc(a, (size_t)g->n_inputs + 1, sizeof *descs);
    const struct qrun_tensor **ptrs = qrun_calloc(a, (size_t)g->n_inputs + 1, sizeof *ptrs);
    bool *dead = qrun_calloc(a, (size_t)g->n_nodes + 1, sizeof *dead);
    qrun_exec *x = NULL;
    qrun_status s = QRUN_OK;
    if (!descs || !ptrs || !dead) {
        s = qrun_errf(err, QRUN_E_NOMEM, "out of memory folding constants");
        goto out;
    }
    if (!declared_inputs(g, descs))
        goto out;
    for (int i = 0; i < g->n_inputs; i++)
        ptrs[i] = &descs[i];
    qrun_exec_options xo = {.n_threads = 1, .fold_constants = true};
    s = qrun_exec_create(g, backends, n_backends, a, &xo, &x, err);
    if (!s)
        s = qrun_exec_plan(x, ptrs, g->n_inputs, err);
    if (!s)
        s = fold_planned(g, x, dead, n_folded, err);
    qrun_exec_free(x);
    if (!s && *n_folded) {
        qrun_graph_remove_nodes(g, dead);
        s = qrun_graph_toposort(g, err);
    }
out:
    qrun_free(a, descs);
    qrun_free(a, ptrs);
    qrun_free(a, dead);
    return s;
}
