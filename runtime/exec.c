/* SPDX-License-Identifier: Apache-2.0 */
/* Executor: plan (infer, fold, assign, place) then run. See exec.h. */
#include "runtime/exec.h"
#include "runtime/alloc.h"
#include "runtime/graph_check.h"
#include "runtime/macs.h"
#include "runtime/tensor.h"
#include "runtime/plan/planner.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* Folding is for shape arithmetic and small constant sub-graphs; huge outputs stay in the plan. */
#define EXEC_FOLD_MAX_BYTES ((size_t)64 << 20)

typedef enum value_state {
    VS_NONE = 0, /* not computed yet */
    VS_CONST,    /* graph constant: data borrowed from the graph */
    VS_INPUT,    /* graph input: data borrowed from the caller at run time */
    VS_FOLDED,   /* computed at plan time: data owned */
    VS_ARENA,    /* planned: data inside the arena */
    VS_DYNAMIC,  /* computed at run time after first_dynamic: data owned until last use */
} value_state;

struct qrun_exec {
    const qrun_graph *g;
    const qrun_backend *backends;
    int n_backends;
    const qrun_allocator *alloc;
    qrun_exec_options opts;

    struct qrun_tensor *vals; /* n_values: current dtype/shape/data of each value */
    unsigned char *state;     /* n_values: value_state */
    int *last_use;            /* n_values: last node index that reads it (n_nodes: graph output) */
    qrun_exec_record *rec;    /* n_nodes */
    void **op_data;           /* n_nodes: what the node's backend prepared (NULL: nothing) */

    int max_in, max_out; /* largest node arity, to size the scratch pointer arrays */
    const struct qrun_tensor **in_ptrs;
    struct qrun_tensor **out_ptrs;
    struct qrun_tensor *infer_out;

    bool planned;
    struct qrun_tensor *sig; /* n_inputs: dtype/shape the plan was made for */
    int first_dynamic;
    void *arena_raw;
    size_t arena_bytes; /* activations, as planned */
    void *scratch;
    size_t scratch_bytes;
};

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static qrun_status node_error(qrun_err *err, const qrun_node *n, qrun_status s) {
    qrun_err_prefix(err, "node '%s' (%s): ", n->name, n->op_type);
    return s;
}

qrun_status qrun_exec_create(const qrun_graph *g,
                             const qrun_backend *backends,
                             int n_backends,
                             const qrun_allocator *alloc,
                             const qrun_exec_options *opts,
                             qrun_exec **out,
                             qrun_err *err) {
    *out = NULL;
    qrun_exec *x = qrun_calloc(alloc, 1, sizeof *x);
    if (!x)
        goto out_nomem;
    x->g = g;
    x->backends = backends;
    x->n_backends = n_backends;
    x->alloc = alloc;
    x->opts = *opts;
    if (x->opts.n_threads < 1)
        x->opts.n_threads = 1;
    size_t nv = (size_t)g->n_values ? (size_t)g->n_values : 1;
    size_t nn = (size_t)g->n_nodes ? (size_t)g->n_nodes : 1;
    x->vals = qrun_calloc(alloc, nv, sizeof *x->vals);
    x->state = qrun_calloc(alloc, nv, sizeof *x->state);
    x->last_use = qrun_calloc(alloc, nv, sizeof *x->last_use);
    x->rec = qrun_calloc(alloc, nn, sizeof *x->rec);
    x->op_data = qrun_calloc(alloc, nn, sizeof *x->op_data);
    x->sig = qrun_calloc(alloc, (size_t)g->n_inputs + 1, sizeof *x->sig);
    if (!x->vals || !x->state || !x->last_use || !x->rec || !x->op_data || !x->sig)
        goto out_nomem;
    for (int k = 0; k < g->n_nodes; k++) {
        if (g->nodes[k].n_inputs > x->max_in)
            x->max_in = g->nodes[k].n_inputs;
        if (g->nodes[k].n_outputs > x->max_out)
            x->max_out = g->nodes[k].n_outputs;
    }
    x->in_ptrs = qrun_calloc(alloc, (size_t)x->max_in + 1, sizeof *x->in_ptrs);
    x->out_ptrs = qrun_calloc(alloc, (size_t)x->max_out + 1, sizeof *x->out_ptrs);
    x->infer_out = qrun_calloc(alloc, (size_t)x->max_out + 1, sizeof *x->infer_out);
    if (!x->in_ptrs || !x->out_ptrs || !x->infer_out)
        goto out_nomem;
    *out = x;
    return QRUN_OK;

out_nomem:
    qrun_exec_free(x);
    return qrun_errf(err, QRUN_E_NOMEM, "out of memory creating the executor");
}

/* Give node k's prepared data back to its backend. */
static void release_op_data(qrun_exec *x, int k) {
    if (!x->op_data[k])
        return;
    const qrun_backend *be = &x->backends[x->rec[k].backend];
    be->iface.release_node(be->ctx, x->op_data[k]);
    x->op_data[k] = NULL;
}

/* Drop everything the current plan owns. */
static void exec_reset(qrun_exec *x) {
    for (int k = 0; x->op_data && k < x->g->n_nodes; k++)
        release_op_data(x, k);
    for (int v = 0; v < x->g->n_values; v++) {
        if (x->state[v] == VS_FOLDED || x->state[v] == VS_DYNAMIC)
            qrun_tensor_release(&x->vals[v]);
        memset(&x->vals[v], 0, sizeof x->vals[v]);
        x->state[v] = VS_NONE;
    }
    qrun_free(x->alloc, x->arena_raw);
    x->arena_raw = NULL;
    x->arena_bytes = 0;
    x->scratch = NULL;
    x->scratch_bytes = 0;
    x->planned = false;
}

void qrun_exec_free(qrun_exec *x) {
    if (!x)
        return;
    if (x->vals && x->state)
        exec_reset(x);
    qrun_free(x->alloc, x->vals);
    qrun_free(x->alloc, x->state);
    qrun_free(x->alloc, x->last_use);
    qrun_free(x->alloc, x->rec);
    qrun_free(x->alloc, x->op_data);
    qrun_free(x->alloc, x->sig);
    qrun_free(x->alloc, x->in_ptrs);
    qrun_free(x->alloc, x->out_ptrs);
    qrun_free(x->alloc, x->infer_out);
    qrun_free(x->alloc, x);
}

static void compute_last_use(qrun_exec *x) {
    const qrun_graph *g = x->g;
    for (int v = 0; v < g->n_values; v++)
        x->last_use[v] = -1;
    for (int k = 0; k < g->n_nodes; k++) {
        for (int i = 0; i < g->nodes[k].n_inputs; i++) {
            int v = g->nodes[k].inputs[i];
            if (v >= 0)
                x->last_use[v] = k;
        }
    }
    for (int j = 0; j < g->n_outputs; j++)
        x->last_use[g->outputs[j]] = g->n_nodes;
}

/* Point in_ptrs/out_ptrs at the node's values; every input must be available. */
static qrun_status gather_io(qrun_exec *x, const qrun_node *n, bool need_data, qrun_err *err) {
    for (int i = 0; i < n->n_inputs; i++) {
        int v = n->inputs[i];
        if (v < 0) {
            x->in_ptrs[i] = NULL;
            continue;
        }
        const struct qrun_tensor *t = &x->vals[v];
        if (x->state[v] == VS_NONE)
            return qrun_errf(err, QRUN_E_MODEL, "input '%s' is not computed by any earlier node",
                             x->g->values[v].name);
        if (t->dtype == QRUN_DTYPE_STRING || x->g->values[v].info.dtype == QRUN_DTYPE_STRING)
            return qrun_errf(err, QRUN_E_UNSUPPORTED,
                             "input '%s' is a string tensor; qrun has no string support",
                             x->g->values[v].name);
        if (t->dtype == QRUN_DTYPE_UNDEFINED)
            return qrun_errf(err, QRUN_E_MODEL, "input '%s' has no known element type",
                             x->g->values[v].name);
        if (need_data && !t->data && t->nbytes)
            return qrun_errf(err, QRUN_E_INTERNAL, "input '%s' has no data", x->g->values[v].name);
        x->in_ptrs[i] = t;
    }
    for (int o = 0; o < n->n_outputs; o++) {
        int v = n->outputs[o];
        x->out_ptrs[o] = v < 0 ? NULL : &x->vals[v];
    }
    return QRUN_OK;
}

/* Shape inference of node n from the current values; results in infer_out. */
static qrun_status infer_node(qrun_exec *x, const qrun_node *n, bool *need_value, qrun_err *err) {
    const struct qrun_op_desc *d = qrun_op_desc_get(n->op);
    if (n->op == QRUN_OP_UNKNOWN || !d->infer)
        return qrun_errf(err, QRUN_E_UNSUPPORTED,
                         "op '%s' (domain '%s', opset %" PRId64 ") is not supported", n->op_type,
                         n->domain[0] ? n->domain : "ai.onnx", n->opset);
    qrun_status s = qrun_node_check_arity(n, err);
    if (s)
        return s;
    for (int o = 0; o < n->n_outputs; o++)
        memset(&x->infer_out[o], 0, sizeof x->infer_out[o]);
    qrun_infer_ctx c = {n, n->n_inputs, x->in_ptrs, n->n_outputs, x->infer_out, false, err};
    s = d->infer(&c);
    if (s)
        return s;
    *need_value = c.need_value;
    if (c.need_value)
        return QRUN_OK;
    for (int o = 0; o < n->n_outputs; o++) {
        int v = n->outputs[o];
        if (v < 0)
            continue;
        if (x->infer_out[o].dtype == QRUN_DTYPE_UNDEFINED)
            return qrun_errf(err, QRUN_E_INTERNAL, "shape inference left output %d untyped", o);
        struct qrun_tensor *t = &x->vals[v];
        if (!qrun_tensor_set_shape(t, x->infer_out[o].dtype, x->infer_out[o].rank,
                                   x->infer_out[o].dims))
            return qrun_errf(err, QRUN_E_MODEL, "output %d has an invalid or too large shape", o);
        /* Shapes computed from tiny constants (Expand, ConstantOfShape, Tile...) must not turn
         * into huge allocations. */
        int64_t numel = qrun_shape_numel(t->rank, t->dims);
        if (x->opts.max_tensor_elements > 0 && numel > x->opts.max_tensor_elements)
            return qrun_errf(err, QRUN_E_MODEL,
                             "output '%s' would have %" PRId64 " elements (limit "
                             "max_tensor_elements = %" PRId64 ")",
                             x->g->values[v].name, numel, x->opts.max_tensor_elements);
    }
    return QRUN_OK;
}

static qrun_status pick_backend(qrun_exec *x, const qrun_node *n, int *out, qrun_err *err) {
    char why[256] = "";
    for (int b = 0; b < x->n_backends; b++) {
        const qrun_backend *be = &x->backends[b];
        why[0] = '\0';
        if (be->iface.supports_node(be->ctx, n, x->in_ptrs, n->n_inputs, why, sizeof why)) {
            *out = b;
            return QRUN_OK;
        }
    }
    return qrun_errf(err, QRUN_E_UNSUPPORTED,
                     "op '%s' (domain '%s', opset %" PRId64 ") is not supported: %s", n->op_type,
                     n->domain[0] ? n->domain : "ai.onnx", n->opset,
                     why[0] ? why : "no backend accepts it");
}

/* The kernel call for node k over the io pointers gather_io set. */
static qrun_kernel_call
make_call(qrun_exec *x, int k, void *scratch, size_t scratch_bytes, qrun_err *err) {
    const qrun_node *n = &x->g->nodes[k];
    return (qrun_kernel_call){.node = n,
                              .n_inputs = n->n_inputs,
                              .inputs = x->in_ptrs,
                              .n_outputs = n->n_outputs,
                              .outputs = (struct qrun_tensor *const *)x->out_ptrs,
                              .scratch = scratch,
                              .scratch_bytes = scratch_bytes,
                              .op_data = x->op_data[k],
                              .n_threads = x->opts.n_threads,
                              .requant = x->opts.requant,
                              .fp8_accum = x->opts.fp8_accum,
                              .err = err};
}

/* Let node k's backend validate it and precompute its op data (once per plan). */
static qrun_status prepare_node(qrun_exec *x, int k, qrun_err *err) {
    const qrun_backend *be = &x->backends[x->rec[k].backend];
    if (!be->iface.prepare_node)
        return QRUN_OK;
    qrun_kernel_call call = make_call(x, k, NULL, 0, err);
    return be->iface.prepare_node(be->ctx, &call, &x->op_data[k]);
}

static size_t node_scratch(qrun_exec *x, int k, qrun_err *err) {
    const qrun_backend *be = &x->backends[x->rec[k].backend];
    if (!be->iface.scratch_bytes)
        return 0;
    qrun_kernel_call call = make_call(x, k, NULL, 0, err);
    return be->iface.scratch_bytes(be->ctx, &call);
}

/* Run node k now with a scratch buffer of the given size (NULL: allocate one). */
static qrun_status
run_node(qrun_exec *x, int k, void *scratch, size_t scratch_bytes, qrun_err *err) {
    const qrun_backend *be = &x->backends[x->rec[k].backend];
    void *own_scratch = NULL;
    if (!scratch) {
        scratch_bytes = node_scratch(x, k, err);
        if (x->opts.max_arena_bytes && scratch_bytes > x->opts.max_arena_bytes)
            return qrun_errf(err, QRUN_E_MODEL,
                             "needs %zu bytes of scratch (limit max_arena_bytes = %" PRIu64 ")",
                             scratch_bytes, x->opts.max_arena_bytes);
        if (scratch_bytes) {
            own_scratch = qrun_malloc(x->alloc, scratch_bytes + QRUN_PLAN_ALIGN);
            if (!own_scratch)
                return qrun_errf(err, QRUN_E_NOMEM, "out of memory for %zu bytes of scratch",
                                 scratch_bytes);
            scratch = (void *)(((uintptr_t)own_scratch + QRUN_PLAN_ALIGN - 1) &
                               ~(uintptr_t)(QRUN_PLAN_ALIGN - 1));
        }
    }
    qrun_kernel_call call = make_call(x, k, scratch, scratch_bytes, err);
    qrun_status s = be->iface.run_node(be->ctx, &call);
    qrun_free(x->alloc, own_scratch);
    return s;
}

static qrun_status alloc_outputs(qrun_exec *x, const qrun_node *n, value_state st, qrun_err *err) {
    for (int o = 0; o < n->n_outputs; o++) {
        int v = n->outputs[o];
        if (v < 0)
            continue;
        if (qrun_tensor_alloc_data(&x->vals[v], x->alloc))
            return qrun_errf(err, QRUN_E_NOMEM, "out of memory for output '%s' (%zu bytes)",
                             x->g->values[v].name, x->vals[v].nbytes);
        x->state[v] = (unsigned char)st;
    }
    return QRUN_OK;
}

static bool node_foldable(const qrun_exec *x, const qrun_node *n) {
    if (!x->opts.fold_constants)
        return false;
    size_t out_bytes = 0;
    for (int o = 0; o < n->n_outputs; o++) {
        int v = n->outputs[o];
        if (v >= 0)
            out_bytes += x->vals[v].nbytes;
    }
    if (out_bytes > EXEC_FOLD_MAX_BYTES)
        return false;
    if (qrun_op_desc_get(n->op)->flags & QRUN_OPF_SHAPE_ONLY)
        return true;
    for (int i = 0; i < n->n_inputs; i++) {
        int v = n->inputs[i];
        if (v >= 0 && x->state[v] != VS_CONST && x->state[v] != VS_FOLDED)
            return false;
    }
    return true;
}

static void bind_graph_values(qrun_exec *x, const struct qrun_tensor *const *inputs) {
    const qrun_graph *g = x->g;
    for (int v = 0; v < g->n_values; v++) {
        if (g->values[v].kind != QRUN_VALUE_CONSTANT)
            continue;
        const struct qrun_tensor *c = &g->values[v].info;
        struct qrun_tensor *t = &x->vals[v];
        t->dtype = c->dtype;
        t->rank = c->rank;
        memcpy(t->dims, c->dims, sizeof t->dims);
        t->data = c->data;
        t->nbytes = c->nbytes;
        t->owns_data = false;
        x->state[v] = VS_CONST;
    }
    for (int i = 0; i < g->n_inputs; i++) {
        int v = g->inputs[i];
        struct qrun_tensor *t = &x->vals[v];
        qrun_tensor_set_shape(t, inputs[i]->dtype, inputs[i]->rank, inputs[i]->dims);
        t->data = NULL;
        x->state[v] = VS_INPUT;
    }
}

static qrun_status plan_static_part(qrun_exec *x, qrun_plan *p, int *buf_of, qrun_err *err) {
    const qrun_graph *g = x->g;
    x->first_dynamic = g->n_nodes;
    size_t scratch_max = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        const qrun_node *n = &g->nodes[k];
        bool need_value = false;
        qrun_status s = gather_io(x, n, false, err);
        if (!s)
            s = infer_node(x, n, &need_value, err);
        if (s)
            return node_error(err, n, s);
        if (need_value) {
            x->first_dynamic = k;
            break;
        }
        s = pick_backend(x, n, &x->rec[k].backend, err);
        if (!s)
            s = prepare_node(x, k, err);
        if (s)
            return node_error(err, n, s);
        if (node_foldable(x, n)) {
            s = alloc_outputs(x, n, VS_FOLDED, err);
            if (!s)
                s = run_node(x, k, NULL, 0, err);
            release_op_data(x, k);
            if (s)
                return node_error(err, n, s);
            x->rec[k].folded = true;
            continue;
        }
        for (int o = 0; o < n->n_outputs; o++) {
            int v = n->outputs[o];
            if (v < 0)
                continue;
            int last = x->last_use[v] > k ? x->last_use[v] : k;
            buf_of[v] = plan_add_buffer(p, x->vals[v].nbytes, k, last);
            if (buf_of[v] < 0)
                return qrun_errf(err, QRUN_E_NOMEM, "out of memory while planning");
            x->state[v] = VS_ARENA;
        }
        size_t sb = node_scratch(x, k, err);
        if (sb > scratch_max)
            scratch_max = sb;
    }
    x->scratch_bytes = scratch_max;
    return QRUN_OK;
}

static qrun_status place_arena(qrun_exec *x, qrun_plan *p, const int *buf_of, qrun_err *err) {
    if (plan_solve(p))
        return qrun_errf(err, QRUN_E_NOMEM, "out of memory while planning");
    x->arena_bytes = plan_total_size(p);
    size_t scratch_off = x->arena_bytes;
    size_t total = scratch_off + x->scratch_bytes + QRUN_PLAN_ALIGN;
    if (total < scratch_off)
        return qrun_errf(err, QRUN_E_NOMEM, "arena size overflows");
    /* Each tensor is within max_tensor_elements; their sum (a hostile kernel_shape or pads can
     * inflate every layer) must be bounded too before it is allocated. */
    if (x->opts.max_arena_bytes && total > x->opts.max_arena_bytes)
        return qrun_errf(err, QRUN_E_MODEL,
                         "the plan needs %zu bytes of activations and scratch (limit "
                         "max_arena_bytes = %" PRIu64 ")",
                         total, x->opts.max_arena_bytes);
    x->arena_raw = qrun_malloc(x->alloc, total);
    if (!x->arena_raw)
        return qrun_errf(err, QRUN_E_NOMEM, "out of memory for a %zu-byte arena", total);
    unsigned char *base = (unsigned char *)(((uintptr_t)x->arena_raw + QRUN_PLAN_ALIGN - 1) &
                                            ~(uintptr_t)(QRUN_PLAN_ALIGN - 1));
    for (int v = 0; v < x->g->n_values; v++) {
        if (x->state[v] == VS_ARENA)
            x->vals[v].data = base + plan_get_offset(p, buf_of[v]);
    }
    x->scratch = x->scratch_bytes ? base + scratch_off : NULL;
    return QRUN_OK;
}

qrun_status
qrun_exec_plan(qrun_exec *x, const struct qrun_tensor *const *inputs, int n_inputs, qrun_err *err) {
    const qrun_graph *g = x->g;
    if (n_inputs != g->n_inputs)
        return qrun_errf(err, QRUN_E_ARG, "the model has %d inputs, %d given", g->n_inputs,
                         n_inputs);
    exec_reset(x);
    memset(x->rec, 0, sizeof *x->rec * (size_t)(g->n_nodes ? g->n_nodes : 1));
    compute_last_use(x);
    bind_graph_values(x, inputs);

    qrun_plan *p = NULL;
    int *buf_of = qrun_calloc(x->alloc, (size_t)g->n_values + 1, sizeof *buf_of);
    qrun_status s = buf_of ? plan_create(x->alloc, &p) : QRUN_E_NOMEM;
    if (s) {
        s = qrun_errf(err, QRUN_E_NOMEM, "out of memory while planning");
        goto out;
    }
    s = plan_static_part(x, p, buf_of, err);
    if (s)
        goto out;
    s = place_arena(x, p, buf_of, err);
    if (s)
        goto out;
    for (int i = 0; i < n_inputs; i++) {
        x->sig[i].dtype = inputs[i]->dtype;
        qrun_tensor_set_shape(&x->sig[i], inputs[i]->dtype, inputs[i]->rank, inputs[i]->dims);
    }
    x->planned = true;
out:
    plan_free(p);
    qrun_free(x->alloc, buf_of);
    if (s)
        exec_reset(x);
    return s;
}

static bool same_signature(const qrun_exec *x, const struct qrun_tensor *const *inputs, int n) {
    for (int i = 0; i < n; i++) {
        const struct qrun_tensor *a = &x->sig[i], *b = inputs[i];
        if (a->dtype != b->dtype || a->rank != b->rank)
            return false;
        for (int d = 0; d < a->rank; d++) {
            if (a->dims[d] != b->dims[d])
                return false;
        }
    }
    return true;
}

/* Free run-time values whose last reader was node k. */
static void release_dead(qrun_exec *x, int k) {
    const qrun_node *n = &x->g->nodes[k];
    for (int i = 0; i < n->n_inputs; i++) {
        int v = n->inputs[i];
        if (v >= 0 && x->state[v] == VS_DYNAMIC && x->last_use[v] == k) {
            qrun_tensor_release(&x->vals[v]);
            x->state[v] = VS_NONE;
        }
    }
}

/* Report node k's outputs to the observer (see qrun_exec_options). */
static void observe_outputs(const qrun_exec *x, const qrun_node *n) {
    if (!x->opts.observe)
        return;
    for (int o = 0; o < n->n_outputs; o++) {
        int v = n->outputs[o];
        if (v >= 0)
            x->opts.observe(x->opts.observe_ud, v, &x->vals[v]);
    }
}

/* Append one tensor's shape to the record's shape list; "..." once the buffer is full. */
static void append_shape(char *buf, size_t cap, const char *sep, const struct qrun_tensor *t) {
    char dims[96];
    size_t used = strlen(buf);
    const char *s = t ? qrun_shape_str(t->rank, t->dims, dims, sizeof dims) : "none";
    int w = snprintf(buf + used, cap - used, "%s%s", sep, s);
    if (w < 0 || (size_t)w >= cap - used)
        snprintf(buf + (cap > 4 ? cap - 4 : 0), cap > 4 ? 4 : cap, "...");
}

/* Profile record of node k from the io pointers of its run (called only when profiling). */
static void record_node(qrun_exec *x, int k, const qrun_node *n, double t0) {
    qrun_exec_record *r = &x->rec[k];
    r->ms = now_ms() - t0;
    r->macs = qrun_node_macs(n, x->in_ptrs, (const struct qrun_tensor *const *)x->out_ptrs);
    r->bytes = 0;
    r->in_dtype = r->out_dtype = QRUN_DTYPE_UNDEFINED;
    r->shapes[0] = '\0';
    for (int i = 0; i < n->n_inputs; i++) {
        const struct qrun_tensor *t = x->in_ptrs[i];
        r->bytes += t ? (int64_t)t->nbytes : 0;
        if (i == 0 && t)
            r->in_dtype = t->dtype;
        append_shape(r->shapes, sizeof r->shapes, i ? "; " : "", t);
    }
    for (int o = 0; o < n->n_outputs; o++) {
        const struct qrun_tensor *t = x->out_ptrs[o];
        r->bytes += t ? (int64_t)t->nbytes : 0;
        if (o == 0 && t)
            r->out_dtype = t->dtype;
        append_shape(r->shapes, sizeof r->shapes, o ? "; " : " -> ", t);
    }
}

static qrun_status run_dynamic_part(qrun_exec *x, qrun_err *err) {
    const qrun_graph *g = x->g;
    for (int k = x->first_dynamic; k < g->n_nodes; k++) {
        const qrun_node *n = &g->nodes[k];
        bool need_value = false;
        double t0 = x->opts.profile ? now_ms() : 0;
        qrun_status s = gather_io(x, n, true, err);
        if (!s)
            s = infer_node(x, n, &need_value, err);
        if (!s && need_value)
            s = qrun_errf(err, QRUN_E_INTERNAL,
                          "shape inference needs a value that is not computed");
        if (!s)
            s = pick_backend(x, n, &x->rec[k].backend, err);
        if (!s)
            s = alloc_outputs(x, n, VS_DYNAMIC, err);
        if (!s)
            s = prepare_node(x, k, err);
        if (!s)
            s = run_node(x, k, NULL, 0, err);
        if (!s && x->opts.profile)
            record_node(x, k, n, t0);
        release_op_data(x, k);
        if (s)
            return node_error(err, n, s);
        observe_outputs(x, n);
        release_dead(x, k);
    }
    return QRUN_OK;
}

static void drop_dynamic(qrun_exec *x) {
    for (int v = 0; v < x->g->n_values; v++) {
        if (x->state[v] == VS_DYNAMIC) {
            qrun_tensor_release(&x->vals[v]);
            x->state[v] = VS_NONE;
        }
    }
}

static qrun_status
copy_outputs(qrun_exec *x, struct qrun_tensor *outputs, int n_outputs, qrun_err *err) {
    for (int j = 0; j < n_outputs; j++) {
        int v = x->g->outputs[j];
        const struct qrun_tensor *src = &x->vals[v];
        struct qrun_tensor *dst = &outputs[j];
        memset(dst, 0, sizeof *dst);
        if (x->state[v] == VS_NONE) {
            for (int i = 0; i < j; i++)
                qrun_tensor_release(&outputs[i]);
            return qrun_errf(err, QRUN_E_MODEL, "graph output '%s' is never computed",
                             x->g->values[v].name);
        }
        qrun_tensor_set_shape(dst, src->dtype, src->rank, src->dims);
        if (qrun_tensor_alloc_data(dst, x->alloc))
            goto out_nomem;
        if (src->nbytes && src->data)
            memcpy(dst->data, src->data, src->nbytes);
        dst->name = qrun_strdup(x->alloc, x->g->values[v].name);
        if (!dst->name)
            goto out_nomem;
        continue;
    out_nomem:
        for (int i = 0; i <= j; i++)
            qrun_tensor_release(&outputs[i]);
        return qrun_errf(err, QRUN_E_NOMEM, "out of memory copying outputs");
    }
    return QRUN_OK;
}

qrun_status qrun_exec_run(qrun_exec *x,
                          const struct qrun_tensor *const *inputs,
                          int n_inputs,
                          struct qrun_tensor *outputs,
                          int n_outputs,
                          qrun_err *err) {
    const qrun_graph *g = x->g;
    if (n_inputs != g->n_inputs)
        return qrun_errf(err, QRUN_E_ARG, "the model has %d inputs, %d given", g->n_inputs,
                         n_inputs);
    if (n_outputs != g->n_outputs)
        return qrun_errf(err, QRUN_E_ARG, "the model has %d outputs, %d requested", g->n_outputs,
                         n_outputs);
    if (!x->planned || !same_signature(x, inputs, n_inputs)) {
        qrun_status s = qrun_exec_plan(x, inputs, n_inputs, err);
        if (s)
            return s;
    }
    for (int i = 0; i < n_inputs; i++) {
        x->vals[g->inputs[i]].data = inputs[i]->data;
        if (x->opts.observe)
            x->opts.observe(x->opts.observe_ud, g->inputs[i], &x->vals[g->inputs[i]]);
    }

    for (int k = 0; k < x->first_dynamic; k++) {
        const qrun_node *n = &g->nodes[k];
        if (x->rec[k].folded)
            continue;
        double t0 = x->opts.profile ? now_ms() : 0;
        qrun_status s = gather_io(x, n, true, err);
        if (!s)
            s = run_node(x, k, x->scratch, x->scratch_bytes, err);
        if (s) {
            drop_dynamic(x);
            return node_error(err, n, s);
        }
        if (x->opts.profile)
            record_node(x, k, n, t0);
        observe_outputs(x, n);
    }
    qrun_status s = run_dynamic_part(x, err);
    if (!s)
        s = copy_outputs(x, outputs, n_outputs, err);
    drop_dynamic(x);
    for (int i = 0; i < n_inputs; i++)
        x->vals[g->inputs[i]].data = NULL;
    return s;
}

size_t qrun_exec_arena_bytes(const qrun_exec *x) {
    return x->arena_bytes + x->scratch_bytes;
}

const qrun_exec_record *qrun_exec_records(const qrun_exec *x, int *n) {
    *n = x->g->n_nodes;
    return x->rec;
}

const struct qrun_tensor *qrun_exec_value(const qrun_exec *x, int v) {
    if (!x->planned || v < 0 || v >= x->g->n_values || x->state[v] == VS_NONE)
        return NULL;
    return &x->vals[v];
}
