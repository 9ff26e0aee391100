/* SPDX-License-Identifier: Apache-2.0 */
/* BatchNormalization folding (see fold_bn.h). */
#include "runtime/quantize/fold_bn.h"

#include "runtime/alloc.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Constant float32 value of g, or NULL. */
static const struct qrun_tensor *const_f32(const qrun_graph *g, int v) {
    if (v < 0 || g->values[v].kind != QRUN_VALUE_CONSTANT)
        return NULL;
    const struct qrun_tensor *t = &g->values[v].info;
    return t->dtype == QRUN_DTYPE_FLOAT && t->data ? t : NULL;
}

static bool is_vector(const struct qrun_tensor *t, int64_t n) {
    return t && t->rank == 1 && t->dims[0] == n;
}

/* Per-channel factor f and shift of a BatchNormalization: y = x * f + shift. */
typedef struct bn_affine {
    int64_t channels;
    float *f, *shift;
} bn_affine;

static bool bn_read(const qrun_graph *g, const qrun_node *bn, int64_t channels, bn_affine *out) {
    if (qrun_node_attr_int(bn, "training_mode", 0) != 0)
        return false;
    for (int o = 1; o < bn->n_outputs; o++) {
        if (bn->outputs[o] >= 0 && qrun_graph_consumers(g, bn->outputs[o], NULL) > 0)
            return false;
    }
    const struct qrun_tensor *p[4];
    for (int i = 0; i < 4; i++) {
        p[i] = const_f32(g, qrun_node_input(bn, i + 1));
        if (!is_vector(p[i], channels))
            return false;
    }
    const float *gamma = p[0]->data, *beta = p[1]->data, *mean = p[2]->data, *var = p[3]->data;
    double eps = qrun_node_attr_float(bn, "epsilon", 1e-5f);
    for (int64_t c = 0; c < channels; c++) {
        double f = (double)gamma[c] / sqrt((double)var[c] + eps);
        out->f[c] = (float)f;
        out->shift[c] = (float)((double)beta[c] - (double)mean[c] * f);
    }
    out->channels = channels;
    return true;
}

/* Output channels of node n's weight and the stride pattern to scale it, or 0 if not foldable. */
static int64_t weight_channels(const qrun_node *n, const struct qrun_tensor *w, bool *per_row) {
    if (n->op == QRUN_OP_CONV && w->rank >= 3) {
        *per_row = true; /* W[M, C/g, k...]: channel m is row m */
        return w->dims[0];
    }
    if (n->op == QRUN_OP_GEMM && w->rank == 2 && qrun_node_attr_float(n, "beta", 1.0f) == 1.0f &&
        qrun_node_attr_int(n, "transA", 0) == 0) {
        bool trans_b = qrun_node_attr_int(n, "transB", 0) != 0;
        *per_row = trans_b; /* B[N, K] with transB, else B[K, N]: channel = column */
        return trans_b ? w->dims[0] : w->dims[1];
    }
    return 0;
}

/* New constant "<base>_bnfold" (made unique) of the given shape holding data. */
static int
add_folded(qrun_graph *g, const char *base, int rank, const int64_t *dims, const float *data) {
    char name[512];
    snprintf(name, sizeof name, "%s_bnfold", base);
    return qrun_graph_add_constant(g, name, QRUN_DTYPE_FLOAT, rank, dims, data);
}

/* Fold bn (node index kb) into node k; false when the pair does not qualify. */
static qrun_status fold_pair(qrun_graph *g, int k, int kb, bool *folded, qrun_err *err) {
    *folded = false;
    qrun_node *n = &g->nodes[k];
    const struct qrun_tensor *w = const_f32(g, qrun_node_input(n, 1));
    int bias_v = qrun_node_input(n, 2);
    const struct qrun_tensor *b = bias_v >= 0 ? const_f32(g, bias_v) : NULL;
    bool per_row = false;
    int64_t m = w ? weight_channels(n, w, &per_row) : 0;
    if (!m || (bias_v >= 0 && !is_vector(b, m)))
        return QRUN_OK;
    const qrun_allocator *a = g->alloc;
    int64_t nw = qrun_shape_numel(w->rank, w->dims);
    float *f = qrun_calloc(a, (size_t)m, sizeof *f), *shift = qrun_calloc(a, (size_t)m, sizeof *f);
    float *nwd = qrun_calloc(a, (size_t)nw, sizeof *nwd),
          *nbd = qrun_calloc(a, (size_t)m, sizeof *nbd);
    qrun_status s = QRUN_OK;
    bn_affine bn = {0, f, shift};
    if (!f || !shift || !nwd || !nbd) {
        s = qrun_errf(err, QRUN_E_NOMEM, "out of memory folding BatchNormalization");
        goto out;
    }
    if (!bn_read(g, &g->nodes[kb], m, &bn))
        goto out;
    const float *wd = w->data;
    int64_t inner = nw / w->dims[0];
    for (int64_t i = 0; i < nw; i++) {
        int64_t c = per_row ? i / inner : i % m;
        nwd[i] = wd[i] * f[c];
    }
    for (int64_t c = 0; c < m; c++)
        nbd[c] = (b ? ((const float *)b->data)[c] : 0.0f) * f[c] + shift[c];
    int64_t dm[1] = {m};
    int wv = add_folded(g, g->values[n->inputs[1]].name, w->rank, w->dims, nwd);
    int bv = add_folded(g, bias_v >= 0 ? g->values[bias_v].name : n->name, 1, dm, nbd);
    n = &g->nodes[k];
    int ins[3] = {n->inputs[0], wv, bv};
    if (wv < 0 || bv < 0 || qrun_node_set_inputs(g, k, 3, ins) != QRUN_OK) {
        s = qrun_errf(err, QRUN_E_NOMEM, "out of memory folding BatchNormalization");
        goto out;
    }
    n = &g->nodes[k];
    n->outputs[0] = g->nodes[kb].outputs[0];
    *folded = true;
out:
    qrun_free(a, f);
    qrun_free(a, shift);
    qrun_free(a, nwd);
    qrun_free(a, nbd);
    return s;
}

qrun_status qrun_fold_batchnorm(qrun_graph *g, int *n_folded, qrun_err *err) {
    *n_folded = 0;
    bool *dead = qrun_calloc(g->alloc, (size_t)g->n_nodes + 1, sizeof *dead);
    if (!dead)
        return qrun_errf(err, QRUN_E_NOMEM, "out of memory folding BatchNormalization");
    qrun_status s = QRUN_OK;
    for (int k = 0; k < g->n_nodes && !s; k++) {
        const qrun_node *n = &g->nodes[k];
        if ((n->op != QRUN_OP_CONV && n->op != QRUN_OP_GEMM) || n->outputs[0] < 0)
            continue;
        int y = n->outputs[0], kb = -1;
        if (g->values[y].is_output || qrun_graph_consumers(g, y, &kb) != 1 ||
            g->nodes[kb].op != QRUN_OP_BATCH_NORMALIZATION || g->nodes[kb].inputs[0] != y)
            continue;
        bool folded = false;
        s = fold_pair(g, k, kb, &folded, err);
        if (folded) {
            dead[kb] = true;
            (*n_folded)++;
        }
    }
    if (!s && *n_folded) {
        qrun_graph_remove_nodes(g, dead);
        s = qrun_graph_toposort(g, err);
    }
    qrun_free(g->alloc, dead);
    return s;
}
