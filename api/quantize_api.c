/* SPDX-License-Identifier: Apache-2.0 */
/* Post-training quantization API: calibrator over the executor, QDQ rewrite in runtime/quantize/.
 */
#include "qrun/qrun.h"

#include "api/api_internal.h"
#include "runtime/alloc.h"
#include "runtime/dtype.h"
#include "runtime/quant.h"
#include "runtime/quantize/calib.h"
#include "runtime/quantize/fold_bn.h"
#include "runtime/quantize/fold_const.h"
#include "runtime/quantize/ptq.h"

#include <stdio.h>
#include <string.h>

struct qrun_calibrator {
    qrun_context *ctx;
    const qrun_model *model;
    qrun_graph *g; /* the float graph after BN folding: what is calibrated and quantized */
    int n_bn_folded;
    qrun_backend backends[QRUN_MAX_BACKENDS];
    int n_backends;
    qrun_exec *exec;
    qrun_calib_hist **hists; /* per value of g; NULL until observed as float32 */
    int n_samples;
    bool nomem; /* a histogram could not be allocated during the last run */
    qrun_ptq_config cfg;
    qrun_ptq_node_choice *choices;
    char *names; /* storage of the node names in choices */
};

/* ---- options ---------------------------------------------------------------- */

QRUN_API void qrun_quant_options_init(qrun_quant_options *o) {
    memset(o, 0, sizeof *o);
    o->dtype = "int8";
    o->scale_mode = QRUN_SCALE_FLOAT;
    o->calib_method = QRUN_CALIB_PERCENTILE;
    o->percentile = 99.99;
}

QRUN_API qrun_dtype qrun_quant_format_from_name(const char *name) {
    qrun_dtype t = qrun_dtype_from_name(name);
    return qrun_ptq_format_ok(t) ? t : QRUN_DTYPE_UNDEFINED;
}

QRUN_API const char *qrun_quant_format_names(void) {
    return "int8, uint8, fp8e4m3, fp8e4m3fnuz, fp8e5m2, fp8e5m2fnuz, fp8e3m4";
}

static const char *const k_method_names[] = {"minmax", "percentile", "mse", "entropy"};

QRUN_API bool qrun_calib_method_from_name(const char *name, qrun_calib_method *out) {
    for (int m = 0; name && m < (int)(sizeof k_method_names / sizeof k_method_names[0]); m++) {
        if (strcmp(name, k_method_names[m]) == 0) {
            *out = (qrun_calib_method)m;
            return true;
        }
    }
    return false;
}

QRUN_API const char *qrun_calib_method_name(qrun_calib_method m) {
    return (unsigned)m < sizeof k_method_names / sizeof k_method_names[0] ? k_method_names[m]
                                                                          : "unknown";
}

static bool model_has_node(const qrun_graph *g, const char *name) {
    for (int k = 0; k < g->n_nodes; k++) {
        if (strcmp(g->nodes[k].name, name) == 0)
            return true;
    }
    return false;
}

/* Count the comma-separated items of s (0 for NULL or ""). */
static int count_items(const char *s) {
    if (!s || !*s)
        return 0;
    int n = 1;
    for (; *s; s++)
        n += *s == ',';
    return n;
}

/*
 * Split list (a copy in *cursor, NUL-separated in place) into choices:
 * "NODE" entries keep the node float, "NODE=fmt" entries give it a format.
 */
static qrun_status parse_choices(
    qrun_calibrator *cal, const char *what, const char *list, bool with_format, char **cursor) {
    qrun_context *ctx = cal->ctx;
    if (!list || !*list)
        return QRUN_OK;
    size_t len = strlen(list);
    memcpy(*cursor, list, len + 1);
    char *item = *cursor;
    *cursor += len + 1;
    for (;;) {
        char *comma = strchr(item, ',');
        if (comma)
            *comma = '\0';
        qrun_ptq_node_choice *c = &cal->choices[cal->cfg.n_choices];
        c->node = item;
        c->fmt = QRUN_DTYPE_UNDEFINED;
        if (with_format) {
            char *eq = strchr(item, '=');
            if (!eq || eq == item)
                return qrun_errf(&ctx->err, QRUN_E_ARG, "%s: expected NODE=FORMAT, got '%s'", what,
                                 item);
            *eq = '\0';
            c->fmt = qrun_quant_format_from_name(eq + 1);
            if (c->fmt == QRUN_DTYPE_UNDEFINED)
                return qrun_errf(&ctx->err, QRUN_E_ARG,
                                 "%s: unknown format '%s' for node '%s' (formats: %s)", what,
                                 eq + 1, item, qrun_quant_format_names());
        }
        if (!*item)
            return qrun_errf(&ctx->err, QRUN_E_ARG, "%s: empty node name", what);
        if (!model_has_node(cal->model->g, item))
            return qrun_errf(&ctx->err, QRUN_E_ARG, "%s: the model has no node named '%s'", what,
                             item);
        cal->cfg.n_choices++;
        if (!comma)
            return QRUN_OK;
        item = comma + 1;
    }
}

static qrun_status read_options(qrun_calibrator *cal, const qrun_quant_options *o) {
    qrun_context *ctx = cal->ctx;
    qrun_ptq_config *cfg = &cal->cfg;
    cfg->fmt = qrun_quant_format_from_name(o->dtype);
    if (cfg->fmt == QRUN_DTYPE_UNDEFINED)
        return qrun_errf(&ctx->err, QRUN_E_ARG, "unknown quantization format '%s' (formats: %s)",
                         o->dtype ? o->dtype : "(null)", qrun_quant_format_names());
    if ((unsigned)o->calib_method > QRUN_CALIB_ENTROPY)
        return qrun_errf(&ctx->err, QRUN_E_ARG, "unknown calibration method %d",
                         (int)o->calib_method);
    if (o->calib_method == QRUN_CALIB_PERCENTILE &&
        !(o->percentile > 50.0 && o->percentile <= 100.0))
        return qrun_errf(&ctx->err, QRUN_E_ARG, "percentile must be in (50, 100], got %g",
                         o->percentile);
    cfg->act_symmetric = o->act_symmetric;
    cfg->pow2 = o->scale_mode == QRUN_SCALE_POW2;
    cfg->method = o->calib_method;
    cfg->percentile = o->percentile;
    int n = count_items(o->keep_float) + count_items(o->dtype_for);
    size_t bytes =
        (o->keep_float ? strlen(o->keep_float) : 0) + (o->dtype_for ? strlen(o->dtype_for) : 0) + 2;
    cal->choices = qrun_calloc(ctx->alloc, (size_t)n + 1, sizeof *cal->choices);
    cal->names = qrun_calloc(ctx->alloc, bytes, 1);
    if (!cal->choices || !cal->names)
        return qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory");
    cfg->choices = cal->choices;
    char *cursor = cal->names;
    qrun_status s = parse_choices(cal, "keep_float", o->keep_float, false, &cursor);
    return s ? s : parse_choices(cal, "dtype_for", o->dtype_for, true, &cursor);
}

/* ---- calibrator ------------------------------------------------------------- */

/* Executor observer: every float32 tensor's values go into its histogram. */
static void cal_observe(void *ud, int v, const struct qrun_tensor *t) {
    qrun_calibrator *cal = ud;
    if (t->dtype != QRUN_DTYPE_FLOAT || !t->data)
        return;
    if (!cal->hists[v]) {
        cal->hists[v] = qrun_calloc(cal->ctx->alloc, 1, sizeof *cal->hists[v]);
        if (!cal->hists[v]) {
            cal->nomem = true;
            return;
        }
        qrun_calib_hist_init(cal->hists[v]);
    }
    qrun_calib_hist_add(cal->hists[v], t->data, qrun_tensor_numel_(t));
}

QRUN_API void qrun_calibrator_free(qrun_calibrator *cal) {
    if (!cal)
        return;
    const qrun_allocator *a = cal->ctx->alloc;
    qrun_exec_free(cal->exec);
    qrun_registry_free_chain(cal->backends, cal->n_backends);
    for (int v = 0; cal->hists && v < cal->g->n_values; v++)
        qrun_free(a, cal->hists[v]);
    qrun_free(a, cal->hists);
    qrun_graph_free(cal->g);
    qrun_free(a, cal->choices);
    qrun_free(a, cal->names);
    qrun_free(a, cal);
}

QRUN_API qrun_status qrun_calibrator_create(qrun_context *ctx,
                                            const qrun_model *model,
                                            const qrun_quant_options *opts,
                                            qrun_calibrator **out) {
    if (!ctx || !model || !opts || !out)
        return ctx ? qrun_errf(&ctx->err, QRUN_E_ARG, "qrun_calibrator_create: NULL argument")
                   : QRUN_E_ARG;
    *out = NULL;
    qrun_calibrator *cal = qrun_calloc(ctx->alloc, 1, sizeof *cal);
    if (!cal)
        return qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory");
    cal->ctx = ctx;
    cal->model = model;
    qrun_status s = read_options(cal, opts);
    if (!s && qrun_graph_clone(model->g, &cal->g))
        s = qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory copying the model");
    if (!s)
        s = qrun_registry_create_chain("cpu_ref", ctx->alloc, cal->backends, &cal->n_backends,
                                       &ctx->err);
    int n_const = 0;
    if (!s)
        s = qrun_fold_constants(cal->g, cal->backends, cal->n_backends, &n_const, &ctx->err);
    if (!s)
        s = qrun_fold_batchnorm(cal->g, &cal->n_bn_folded, &ctx->err);
    if (!s) {
        cal->hists = qrun_calloc(ctx->alloc, (size_t)cal->g->n_values + 1, sizeof *cal->hists);
        if (!cal->hists)
            s = qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory");
    }
    qrun_exec_options xo = {.n_threads = ctx->n_threads,
                            .fold_constants = true,
                            .max_tensor_elements = ctx->limits.max_tensor_elements,
                            .max_arena_bytes = ctx->limits.max_arena_bytes,
                            .observe = cal_observe,
                            .observe_ud = cal};
    if (!s)
        s = qrun_exec_create(cal->g, cal->backends, cal->n_backends, ctx->alloc, &xo, &cal->exec,
                             &ctx->err);
    if (s) {
        qrun_calibrator_free(cal);
        return s;
    }
    *out = cal;
    return qrun_api_ok(ctx);
}

QRUN_API qrun_status qrun_calibrator_add_sample(qrun_calibrator *cal,
                                                const qrun_tensor *const *inputs,
                                                int n_inputs) {
    if (!cal)
        return QRUN_E_ARG;
    qrun_context *ctx = cal->ctx;
    const qrun_graph *g = cal->g;
    if (n_inputs != g->n_inputs || (n_inputs && !inputs))
        return qrun_errf(&ctx->err, QRUN_E_ARG,
                         "calibration sample: the model has %d inputs, %d given", g->n_inputs,
                         n_inputs);
    for (int i = 0; i < n_inputs; i++) {
        qrun_status s = qrun_api_check_input(ctx, g, i, inputs[i]);
        if (s) {
            qrun_err_prefix(&ctx->err, "calibration sample: ");
            return s;
        }
    }
    struct qrun_tensor *outs = qrun_calloc(ctx->alloc, (size_t)g->n_outputs + 1, sizeof *outs);
    if (!outs)
        return qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory");
    cal->nomem = false;
    qrun_status s = qrun_exec_run(cal->exec, (const struct qrun_tensor *const *)inputs, n_inputs,
                                  outs, g->n_outputs, &ctx->err);
    for (int j = 0; !s && j < g->n_outputs; j++)
        qrun_tensor_release(&outs[j]);
    qrun_free(ctx->alloc, outs);
    if (s) {
        qrun_err_prefix(&ctx->err, "calibration sample: ");
        return s;
    }
    if (cal->nomem)
        return qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory for calibration histograms");
    cal->n_samples++;
    return qrun_api_ok(ctx);
}

QRUN_API int qrun_calibrator_sample_count(const qrun_calibrator *cal) {
    return cal ? cal->n_samples : 0;
}

/* Weights and the like: graph constants, or values the executor folded from constants. */
static const struct qrun_tensor *cal_const_of(void *ud, int v) {
    qrun_calibrator *cal = ud;
    const qrun_value *val = &cal->g->values[v];
    if (val->kind == QRUN_VALUE_CONSTANT)
        return &val->info;
    if (val->producer < 0)
        return NULL;
    int n = 0;
    const qrun_exec_record *rec = qrun_exec_records(cal->exec, &n);
    return val->producer < n && rec[val->producer].folded ? qrun_exec_value(cal->exec, v) : NULL;
}

QRUN_API qrun_status qrun_quantize_model(qrun_calibrator *cal, qrun_model **out) {
    if (!cal || !out)
        return cal ? qrun_errf(&cal->ctx->err, QRUN_E_ARG, "qrun_quantize_model: NULL argument")
                   : QRUN_E_ARG;
    *out = NULL;
    qrun_context *ctx = cal->ctx;
    if (cal->n_samples == 0)
        return qrun_errf(&ctx->err, QRUN_E_ARG,
                         "qrun_quantize_model: no calibration sample was added");
    qrun_graph *qg = NULL;
    struct qrun_ptq_report *rep = NULL;
    qrun_status s =
        qrun_ptq_quantize(cal->g, cal->hists, &cal->cfg, cal_const_of, cal, &qg, &rep, &ctx->err);
    if (s)
        return s;
    rep->n_bn_folded = cal->n_bn_folded;
    rep->n_samples = cal->n_samples;
    char path[1024];
    snprintf(path, sizeof path, "%s [%s]", cal->model->path, qrun_dtype_name(cal->cfg.fmt));
    qrun_model *m = NULL;
    s = qrun_api_model_from_graph(ctx, qg, path, true, &m);
    if (s) {
        qrun_ptq_report_free(ctx->alloc, rep);
        return s;
    }
    m->ptq = rep;
    *out = m;
    return qrun_api_ok(ctx);
}

/* ---- quantized tensors -------------------------------------------------------- */

QRUN_API int qrun_model_quant_tensor_count(const qrun_model *model) {
    return model && model->ptq ? model->ptq->n : 0;
}

QRUN_API qrun_status qrun_model_quant_tensor(const qrun_model *model,
                                             int i,
                                             qrun_quant_tensor_info *out) {
    if (!model || !out || !model->ptq || i < 0 || i >= model->ptq->n)
        return QRUN_E_ARG;
    const qrun_ptq_tensor *t = &model->ptq->t[i];
    *out = (qrun_quant_tensor_info){.name = t->name,
                                    .quantized = t->quantized,
                                    .dequantized = t->dequantized,
                                    .dtype = t->dtype,
                                    .is_constant = t->is_constant,
                                    .axis = t->axis,
                                    .n_params = t->n,
                                    .scales = t->scales,
                                    .zero_points = t->zps,
                                    .range_lo = t->lo,
                                    .range_hi = t->hi};
    return QRUN_OK;
}

QRUN_API qrun_status qrun_model_quant_summary(const qrun_model *model, qrun_quant_summary *out) {
    if (!model || !out || !model->ptq)
        return QRUN_E_ARG;
    const struct qrun_ptq_report *r = model->ptq;
    *out = (qrun_quant_summary){r->n_bn_folded, r->n_quantized, r->n_float, r->n_samples, r->dtype};
    return QRUN_OK;
}
