/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: model bytes -> qrun_model_load_bytes (no base folder, so external data must be
 * refused) -> a plan for the declared input shapes -> when the model is cheap enough, one run
 * with a small deterministic input on cpu_ref, and one on accel_sim (the edge_small preset) with
 * its simulation report; then the static analysis of `qrun info`, and `qrun convert`: the model
 * written back as ONNX must load again.
 *
 * A valid model can ask for unbounded work (a 4096^3 MatMul of folded constants, an Expand to
 * a billion elements). Such inputs are not findings, so before anything executes the model is
 * planned once without constant folding (shape inference only) and run only when every shape
 * is known at plan time and the MACs and tensor bytes stay under the budgets below. Loading
 * itself has no cap: a load that allocates gigabytes from a small file is a finding.
 */
#include "fuzz/fuzz_common.h"

#include "api/api_internal.h"
#include "api/context.h"
#include "api/registry.h"
#include "runtime/alloc.h"
#include "runtime/exec.h"
#include "runtime/macs.h"

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_MAX_INPUT_ELEMS 100000
#define FUZZ_MAX_MACS 2000000
#define FUZZ_MAX_VALUE_BYTES ((size_t)64 << 20)
#define FUZZ_MAX_ALLOC ((size_t)64 << 20)
/* accel_sim's full mode models every MAC on the datapath (about 100x cpu_ref under ASan): above
 * this it runs in timing mode (costs only). */
#define FUZZ_MAX_SIM_FULL_MACS 200000

/* Declared inputs (symbolic dims as 1) as plan signatures; false when they are too large. */
static bool
small_inputs(const qrun_graph *g, struct qrun_tensor *descs, const struct qrun_tensor **ptrs) {
    qrun_declared_inputs_(g, descs, ptrs, 1);
    int64_t total = 0;
    for (int i = 0; i < g->n_inputs; i++) {
        int64_t n = qrun_tensor_numel(&descs[i]);
        if (n < 0 || n > FUZZ_MAX_INPUT_ELEMS - total)
            return false;
        total += n;
    }
    return true;
}

/* True when every node of the fold-free plan has known shapes and the whole graph stays
 * within the MAC and byte budgets. */
static bool plan_within_budget(const qrun_graph *g, const qrun_exec *x, int64_t *total_macs) {
    size_t bytes = 0;
    int64_t macs = 0;
    for (int v = 0; v < g->n_values; v++) {
        const struct qrun_tensor *t = qrun_exec_value(x, v);
        if (t && g->values[v].kind != QRUN_VALUE_CONSTANT) {
            if (t->nbytes > FUZZ_MAX_VALUE_BYTES - bytes)
                return false;
            bytes += t->nbytes;
        }
    }
    for (int k = 0; k < g->n_nodes; k++) {
        const qrun_node *n = &g->nodes[k];
        const struct qrun_tensor *in[64], *out[64];
        if (n->n_inputs > 64 || n->n_outputs > 64)
            return false;
        for (int i = 0; i < n->n_inputs; i++)
            in[i] = n->inputs[i] >= 0 ? qrun_exec_value(x, n->inputs[i]) : NULL;
        for (int o = 0; o < n->n_outputs; o++) {
            out[o] = n->outputs[o] >= 0 ? qrun_exec_value(x, n->outputs[o]) : NULL;
            if (n->outputs[o] >= 0 && !out[o])
                return false; /* shape known only at run time */
        }
        int64_t m = qrun_node_macs(n, in, out);
        if (m > FUZZ_MAX_MACS - macs)
            return false;
        if (m > 0)
            macs += m;
    }
    *total_macs = macs;
    return true;
}

static bool
cheap_to_run(const qrun_graph *g, const struct qrun_tensor *const *ptrs, int64_t *macs) {
    qrun_backend bs[QRUN_MAX_BACKENDS];
    int nb = 0;
    qrun_err err = {0};
    qrun_exec *x = NULL;
    qrun_exec_options xo = {.n_threads = 1, .fold_constants = false};
    bool ok = false;
    if (qrun_registry_create_chain("cpu_ref", fuzz_allocator(), bs, &nb, &err) != QRUN_OK)
        return false;
    if (qrun_exec_create(g, bs, nb, fuzz_allocator(), &xo, &x, &err) == QRUN_OK &&
        qrun_exec_plan(x, ptrs, g->n_inputs, &err) == QRUN_OK)
        ok = plan_within_budget(g, x, macs);
    qrun_exec_free(x);
    qrun_registry_free_chain(bs, nb);
    return ok;
}

/* A small deterministic input: values cycle through -1.5 .. 1.5 (rounded and saturated for
 * integer types). */
static qrun_tensor *make_input(qrun_context *ctx, const struct qrun_tensor *desc) {
    qrun_tensor *t = NULL;
    if (qrun_tensor_create(ctx, desc->dtype, desc->rank, desc->dims, NULL, &t) != QRUN_OK)
        return NULL;
    int64_t n = qrun_tensor_numel(t);
    for (int64_t i = 0; i < n; i++)
        qrun_tensor_set_f64(t, i, (double)(i % 7) * 0.5 - 1.5);
    return t;
}

/* One session on backend (NULL: cpu_ref) and one run; accel_sim also reports its simulation. */
static void run_on(qrun_context *ctx,
                   const qrun_model *m,
                   const qrun_hw *hw,
                   qrun_sim_mode sim,
                   qrun_tensor **in,
                   qrun_tensor **out) {
    int ni = qrun_model_input_count(m), no = qrun_model_output_count(m);
    qrun_session_options so;
    qrun_session_options_init(&so);
    if (hw) {
        so.backend = "accel_sim";
        so.hw = hw;
        so.sim = sim;
    }
    qrun_session *sess = NULL;
    qrun_status s = qrun_session_create(ctx, m, &so, &sess);
    fuzz_check_status(ctx, s, "qrun_session_create");
    if (s == QRUN_OK) {
        s = qrun_session_run(sess, (const qrun_tensor *const *)in, ni, out, no);
        fuzz_check_status(ctx, s, "qrun_session_run");
    }
    if (s == QRUN_OK && hw) {
        qrun_sim_summary sum;
        fuzz_check_status(ctx, qrun_session_sim_summary(sess, &sum), "qrun_session_sim_summary");
    }
    for (int j = 0; j < no; j++) {
        qrun_tensor_free(out[j]);
        out[j] = NULL;
    }
    qrun_session_free(sess);
}

static void
run_once(qrun_context *ctx, const qrun_model *m, const struct qrun_tensor *descs, int64_t macs) {
    static qrun_hw *hw;
    if (!hw && qrun_hw_load(ctx, "edge_small", &hw) != QRUN_OK)
        abort();
    int ni = qrun_model_input_count(m), no = qrun_model_output_count(m);
    qrun_tensor **in = calloc((size_t)ni + 1, sizeof *in);
    qrun_tensor **out = calloc((size_t)no + 1, sizeof *out);
    if (!in || !out)
        abort();
    bool inputs_ok = true;
    for (int i = 0; i < ni && inputs_ok; i++)
        inputs_ok = (in[i] = make_input(ctx, &descs[i])) != NULL;
    if (inputs_ok) {
        run_on(ctx, m, NULL, QRUN_SIM_FULL, in, out);
        run_on(ctx, m, hw, macs <= FUZZ_MAX_SIM_FULL_MACS ? QRUN_SIM_FULL : QRUN_SIM_TIMING, in,
               out);
    }
    for (int i = 0; i < ni; i++)
        qrun_tensor_free(in[i]);
    free(in);
    free(out);
}

static void analyze(qrun_context *ctx, const qrun_model *m) {
    int n = qrun_model_node_count(m);
    qrun_node_analysis *a = calloc((size_t)n + 1, sizeof *a);
    if (!a)
        abort();
    fuzz_check_status(ctx, qrun_model_analyze(ctx, m, a), "qrun_model_analyze");
    free(a);
}

static void save_and_reload(qrun_context *ctx, const qrun_model *m) {
    const char *path = fuzz_scratch_path("saved.onnx");
    qrun_status s = qrun_model_save(ctx, m, path);
    fuzz_check_status(ctx, s, "qrun_model_save");
    if (s != QRUN_OK)
        return;
    qrun_model *back = NULL;
    s = qrun_model_load(ctx, path, &back);
    if (s != QRUN_OK) {
        fprintf(stderr, "a model qrun wrote does not load back: %s\n", qrun_context_errmsg(ctx));
        abort();
    }
    qrun_model_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static qrun_context *ctx;
    if (!ctx)
        ctx = fuzz_context(0);
    fuzz_set_max_alloc(0);
    qrun_model *m = NULL;
    qrun_status s = qrun_model_load_bytes(ctx, data, size, NULL, &m);
    fuzz_check_status(ctx, s, "qrun_model_load_bytes");
    if (s != QRUN_OK) {
        if (getenv("QRUN_FUZZ_VERBOSE"))
            fprintf(stderr, "fuzz_model: not loaded: %s\n", qrun_context_errmsg(ctx));
        return 0;
    }
    fuzz_set_max_alloc(FUZZ_MAX_ALLOC);
    const qrun_graph *g = m->g;
    struct qrun_tensor *descs = calloc((size_t)g->n_inputs + 1, sizeof *descs);
    const struct qrun_tensor **ptrs = calloc((size_t)g->n_inputs + 1, sizeof *ptrs);
    if (!descs || !ptrs)
        abort();
    int64_t macs = 0;
    bool run = small_inputs(g, descs, ptrs) && cheap_to_run(g, ptrs, &macs);
    if (run) {
        run_once(ctx, m, descs, macs);
        /* Both plan with constant folding: only within the budget. */
        analyze(ctx, m);
        save_and_reload(ctx, m);
    }
    /* QRUN_FUZZ_VERBOSE=1: say how far each input got (to check that seeds reach the run). */
    if (getenv("QRUN_FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz_model: loaded, %s: %s\n", run ? "ran" : "over budget, not run",
                run ? qrun_context_errmsg(ctx) : "");
    free(descs);
    free(ptrs);
    qrun_model_free(m);
    return 0;
}
