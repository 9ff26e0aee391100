/* SPDX-License-Identifier: Apache-2.0 */
/* qrun compare: FP32 vs each quantized format, per output and per quantized tensor (qrun.h). */
#include "qrun/qrun.h"

#include "api/api_internal.h"
#include "runtime/alloc.h"
#include "runtime/dtype.h"

#include <math.h>
#include <string.h>

#define DEFAULT_DTYPES "int8,fp8e4m3,fp8e5m2,fp8e3m4"

/* The float model's value of one tensor for the current sample. */
typedef struct ref_value {
    const char *name; /* owned by a quantized model's report */
    float *data;
    int64_t n, cap;
    int stamp; /* sample index it was last written for */
} ref_value;

/* Sums of one quantized activation tensor. */
typedef struct cmp_layer {
    qrun_quant_tensor_info info;
    int ref;                 /* index into qrun_compare.refs */
    double code_lo, code_hi; /* the format's extreme codes */
    double sig, noise;
    int64_t saturated, count;
    const char *producer;     /* node of the quantized model that produced it; NULL: graph input */
    double cycles, energy_uj; /* its simulated cost (accel_sim), NaN without */
} cmp_layer;

typedef struct cmp_format {
    char *name;
    qrun_calibrator *cal;
    qrun_model *qmodel;
    qrun_session *sess;
    cmp_layer *layers;
    int n_layers, n_quantized_nodes;
    int labeled, correct, agree, samples;
    double sig, noise, max_abs_err;
    bool has_sim;
    int sim_nodes;
    double cycles, latency_us, energy_uj;
} cmp_format;

struct qrun_compare {
    qrun_context *ctx;
    const qrun_model *model;
    qrun_compare_options opts;
    cmp_format *f;
    int n_f;
    qrun_session *fsess;
    ref_value *refs;
    int n_refs;
    int samples, labeled, correct;
    double *fout; /* float output 0 of the current sample */
    int64_t fout_n;
    bool quantized;
    cmp_format *cur; /* format whose run the observer is watching */
    qrun_status obs_status;
};

QRUN_API void qrun_compare_options_init(qrun_compare_options *o) {
    memset(o, 0, sizeof *o);
    o->dtypes = DEFAULT_DTYPES;
    qrun_quant_options_init(&o->quant);
    o->backend = "cpu_ref";
}

/* ---- setup ------------------------------------------------------------------ */

/* Split the comma-separated format list into cmp->f, one calibrator each. */
static qrun_status add_formats(qrun_compare *cmp, const char *list) {
    qrun_context *ctx = cmp->ctx;
    const qrun_allocator *a = ctx->alloc;
    int n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    cmp->f = qrun_calloc(a, (size_t)n, sizeof *cmp->f);
    if (!cmp->f)
        return qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory");
    for (const char *p = list; p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char name[64];
        if (len == 0 || len >= sizeof name)
            return qrun_errf(&ctx->err, QRUN_E_ARG, "dtypes '%s': empty or overlong format name",
                             list);
        memcpy(name, p, len);
        name[len] = '\0';
        if (qrun_quant_format_from_name(name) == QRUN_DTYPE_UNDEFINED)
            return qrun_errf(&ctx->err, QRUN_E_ARG, "dtypes: unknown format '%s' (formats: %s)",
                             name, qrun_quant_format_names());
        cmp_format *f = &cmp->f[cmp->n_f++];
        f->name = qrun_strdup(a, name);
        if (!f->name)
            return qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory");
        qrun_quant_options q = cmp->opts.quant;
        q.dtype = f->name;
        qrun_status s = qrun_calibrator_create(ctx, cmp->model, &q, &f->cal);
        if (s) {
            qrun_err_prefix(&ctx->err, "%s: ", name);
            return s;
        }
        p = end ? end + 1 : NULL;
    }
    return QRUN_OK;
}

static void float_observer(void *ud, const char *name, const qrun_tensor *t);

QRUN_API qrun_status qrun_compare_create(qrun_context *ctx,
                                         const qrun_model *model,
                                         const qrun_compare_options *opts,
                                         qrun_compare **out) {
    if (!out)
        return QRUN_E_ARG;
    *out = NULL;
    if (!ctx || !model || !opts)
        return ctx ? qrun_errf(&ctx->err, QRUN_E_ARG, "qrun_compare_create: NULL argument")
                   : QRUN_E_ARG;
    if (qrun_model_output_count(model) < 1)
        return qrun_errf(&ctx->err, QRUN_E_ARG, "compare: the model has no output");
    qrun_compare *cmp = qrun_calloc(ctx->alloc, 1, sizeof *cmp);
    if (!cmp)
        return qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory");
    cmp->ctx = ctx;
    cmp->model = model;
    cmp->opts = *opts;
    cmp->samples = 0;
    const char *list = opts->dtypes && *opts->dtypes ? opts->dtypes : DEFAULT_DTYPES;
    qrun_status s = add_formats(cmp, list);
    if (!s) {
        qrun_session_options so;
        qrun_session_options_init(&so);
        so.observer = float_observer;
        so.observer_ud = cmp;
        s = qrun_session_create(ctx, model, &so, &cmp->fsess);
    }
    if (s) {
        qrun_compare_free(cmp);
        return s;
    }
    *out = cmp;
    return qrun_api_ok(ctx);
}

QRUN_API void qrun_compare_free(qrun_compare *cmp) {
    if (!cmp)
        return;
    const qrun_allocator *a = cmp->ctx->alloc;
    for (int i = 0; i < cmp->n_f; i++) {
        cmp_format *f = &cmp->f[i];
        qrun_session_free(f->sess);
        qrun_model_free(f->qmodel);
        qrun_calibrator_free(f->cal);
        qrun_free(a, f->layers);
        qrun_free(a, f->name);
    }
    qrun_free(a, cmp->f);
    for (int r = 0; r < cmp->n_refs; r++)
        qrun_free(a, cmp->refs[r].data);
    qrun_free(a, cmp->refs);
    qrun_free(a, cmp->fout);
    qrun_session_free(cmp->fsess);
    qrun_free(a, cmp);
}

QRUN_API qrun_status qrun_compare_add_calib(qrun_compare *cmp,
                                            const qrun_tensor *const *inputs,
                                            int n_inputs) {
    qrun_context *ctx = cmp->ctx;
    if (cmp->quantized)
        return qrun_errf(&ctx->err, QRUN_E_ARG,
                         "compare: calibration samples must come before the evaluation samples");
    for (int i = 0; i < cmp->n_f; i++) {
        qrun_status s = qrun_calibrator_add_sample(cmp->f[i].cal, inputs, n_inputs);
        if (s)
            return s;
    }
    return qrun_api_ok(ctx);
}

/* Index of the float reference slot for name, added when new; -1 when out of memory. */
static int ref_slot(qrun_compare *cmp, const char *name) {
    for (int r = 0; r < cmp->n_refs; r++) {
        if (strcmp(cmp->refs[r].name, name) == 0)
            return r;
    }
    ref_value *grown = qrun_calloc(cmp->ctx->alloc, (size_t)cmp->n_refs + 1, sizeof *grown);
    if (!grown)
        return -1;
    if (cmp->n_refs)
        memcpy(grown, cmp->refs, (size_t)cmp->n_refs * sizeof *grown);
    qrun_free(cmp->ctx->alloc, cmp->refs);
    cmp->refs = grown;
    cmp->refs[cmp->n_refs] = (ref_value){.name = name, .stamp = -1};
    return cmp->n_refs++;
}

static void quant_observer(void *ud, const char *name, const qrun_tensor *t);

/* Name of the node of model m that writes tensor name; NULL for a graph input or initializer. */
static const char *producer_of(const qrun_model *m, const char *name) {
    const qrun_graph *g = m->g;
    int v = qrun_graph_find_value(g, name);
    for (int k = 0; v >= 0 && k < g->n_nodes; k++) {
        for (int o = 0; o < g->nodes[k].n_outputs; o++) {
            if (g->nodes[k].outputs[o] == v)
                return g->nodes[k].name;
        }
    }
    return NULL;
}

/* The simulated costs of one inference from the session's records, in one pass: the format's
 * cycles (the nodes' busy cycles summed: the work, not the latency, since pipeline stages
 * overlap; the host link and host fallbacks are in latency_us, not here), and each layer's
 * cycles and energy from the record of the node that produced it (0 for a graph input). */
static void sim_costs(cmp_format *f) {
    f->cycles = 0;
    for (int j = 0; j < f->n_layers; j++)
        f->layers[j].cycles = f->layers[j].energy_uj = 0;
    int n = qrun_session_sim_node_count(f->sess);
    for (int i = 0; i < n; i++) {
        qrun_sim_node nd;
        if (qrun_session_sim_node(f->sess, i, &nd) != QRUN_OK)
            continue;
        f->cycles += nd.cycles;
        for (int j = 0; j < f->n_layers; j++) {
            cmp_layer *l = &f->layers[j];
            if (l->producer && strcmp(nd.name, l->producer) == 0) {
                l->cycles = nd.cycles;
                l->energy_uj = nd.energy_uj;
            }
        }
    }
}

/* Quantize format f and list its activation tensors. */
static qrun_status prepare_format(qrun_compare *cmp, cmp_format *f) {
    qrun_context *ctx = cmp->ctx;
    qrun_status s = qrun_quantize_model(f->cal, &f->qmodel);
    if (s)
        return s;
    qrun_quant_summary sum;
    qrun_model_quant_summary(f->qmodel, &sum);
    f->n_quantized_nodes = sum.n_quantized_nodes;
    int n = qrun_model_quant_tensor_count(f->qmodel);
    f->layers = qrun_calloc(ctx->alloc, (size_t)n + 1, sizeof *f->layers);
    if (!f->layers)
        return qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory");
    for (int k = 0; k < n; k++) {
        qrun_quant_tensor_info info;
        qrun_model_quant_tensor(f->qmodel, k, &info);
        if (info.is_constant)
            continue; /* folded at plan time: never observed */
        cmp_layer *l = &f->layers[f->n_layers++];
        l->info = info;
        l->ref = ref_slot(cmp, info.name);
        if (l->ref < 0)
            return qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory");
        l->producer = producer_of(f->qmodel, info.quantized);
        l->cycles = l->energy_uj = NAN;
        const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(info.dtype);
        l->code_lo = tr->min_value;
        l->code_hi = tr->max_value;
    }
    qrun_session_options so;
    qrun_session_options_init(&so);
    so.backend = cmp->opts.backend ? cmp->opts.backend : "cpu_ref";
    so.hw = cmp->opts.hw;
    so.requant = cmp->opts.requant;
    so.fp8_accum = cmp->opts.fp8_accum;
    so.observer = quant_observer;
    so.observer_ud = cmp;
    return qrun_session_create(ctx, f->qmodel, &so, &f->sess);
}

static qrun_status quantize_all(qrun_compare *cmp) {
    for (int i = 0; i < cmp->n_f; i++) {
        qrun_status s = prepare_format(cmp, &cmp->f[i]);
        if (s) {
            qrun_err_prefix(&cmp->ctx->err, "%s: ", cmp->f[i].name);
            return s;
        }
    }
    cmp->quantized = true;
    return QRUN_OK;
}

/* ---- observers ---------------------------------------------------------------- */

static void float_observer(void *ud, const char *name, const qrun_tensor *t) {
    qrun_compare *cmp = ud;
    for (int r = 0; r < cmp->n_refs; r++) {
        ref_value *v = &cmp->refs[r];
        if (strcmp(v->name, name) != 0)
            continue;
        int64_t n = qrun_tensor_numel(t);
        if (n > v->cap) {
            qrun_free(cmp->ctx->alloc, v->data);
            v->data = qrun_calloc(cmp->ctx->alloc, (size_t)n, sizeof *v->data);
            v->cap = v->data ? n : 0;
            if (!v->data) {
                cmp->obs_status = QRUN_E_NOMEM;
                return;
            }
        }
        if (qrun_tensor_dtype(t) == QRUN_DTYPE_FLOAT) {
            memcpy(v->data, qrun_tensor_data_const(t), (size_t)n * sizeof *v->data);
        } else {
            for (int64_t k = 0; k < n; k++)
                v->data[k] = (float)qrun_tensor_get_f64(t, k);
        }
        v->n = n;
        v->stamp = cmp->samples;
        return;
    }
}

/* Scale and zero point of element k of a tensor with dims (per-axis parameters). */
static void elem_params(
    const qrun_quant_tensor_info *q, const qrun_tensor *t, int64_t k, double *scale, double *zp) {
    int c = 0;
    if (q->n_params > 1 && q->axis >= 0 && q->axis < qrun_tensor_rank(t)) {
        const int64_t *d = qrun_tensor_dims(t);
        int64_t inner = 1;
        for (int r = q->axis + 1; r < qrun_tensor_rank(t); r++)
            inner *= d[r];
        c = (int)((k / inner) % d[q->axis]);
        if (c >= q->n_params)
            c = 0;
    }
    *scale = q->scales[c];
    *zp = q->zero_points ? q->zero_points[c] : 0;
}

static void accumulate_layer(cmp_layer *l, const ref_value *ref, const qrun_tensor *t) {
    int64_t n = qrun_tensor_numel(t);
    double scale = 0, zp = 0;
    elem_params(&l->info, t, 0, &scale, &zp);
    bool per_tensor = l->info.n_params <= 1;
    for (int64_t k = 0; k < n; k++) {
        if (!per_tensor)
            elem_params(&l->info, t, k, &scale, &zp);
        double code = qrun_tensor_get_f64(t, k);
        double x = ref->data[k], e = x - (code - zp) * scale;
        l->sig += x * x;
        l->noise += e * e;
        /* Clipped: the extreme code (not the zero point: a ReLU output's zero) while the
         * float value lies beyond what that code stands for. */
        double xq = x - e;
        if (code != zp && ((code >= l->code_hi && x > xq) || (code <= l->code_lo && x < xq)))
            l->saturated++;
    }
    l->count += n;
}

static void quant_observer(void *ud, const char *name, const qrun_tensor *t) {
    qrun_compare *cmp = ud;
    cmp_format *f = cmp->cur;
    for (int j = 0; f && j < f->n_layers; j++) {
        cmp_layer *l = &f->layers[j];
        if (strcmp(l->info.quantized, name) != 0)
            continue;
        const ref_value *ref = &cmp->refs[l->ref];
        /* Only when the float model produced this tensor, with the same size, this sample. */
        if (ref->stamp == cmp->samples && ref->n == qrun_tensor_numel(t))
            accumulate_layer(l, ref, t);
    }
}

/* ---- evaluation ---------------------------------------------------------------- */

/* Index of the largest element (the first one on ties). */
static int64_t argmax(const qrun_tensor *t) {
    int64_t n = qrun_tensor_numel(t), best = 0;
    double bv = -INFINITY;
    for (int64_t k = 0; k < n; k++) {
        double v = qrun_tensor_get_f64(t, k);
        if (v > bv) {
            bv = v;
            best = k;
        }
    }
    return best;
}

static void free_outputs(qrun_tensor **o, int n) {
    for (int k = 0; k < n; k++)
        qrun_tensor_free(o[k]);
}

#define MAX_OUTPUTS 16

static qrun_status run_float(
    qrun_compare *cmp, const qrun_tensor *const *inputs, int n_inputs, int label, int64_t *top) {
    qrun_context *ctx = cmp->ctx;
    int n_out = qrun_model_output_count(cmp->model);
    if (n_out > MAX_OUTPUTS)
        n_out = MAX_OUTPUTS;
    qrun_tensor *o[MAX_OUTPUTS] = {0};
    cmp->obs_status = QRUN_OK;
    qrun_status s = qrun_session_run(cmp->fsess, inputs, n_inputs, o, n_out);
    if (!s && cmp->obs_status)
        s = qrun_errf(&ctx->err, cmp->obs_status, "out of memory");
    if (s) {
        qrun_err_prefix(&ctx->err, "fp32: ");
        free_outputs(o, n_out);
        return s;
    }
    int64_t n = qrun_tensor_numel(o[0]);
    if (n > cmp->fout_n) {
        qrun_free(ctx->alloc, cmp->fout);
        cmp->fout = qrun_calloc(ctx->alloc, (size_t)n, sizeof *cmp->fout);
        cmp->fout_n = cmp->fout ? n : 0;
        if (!cmp->fout) {
            free_outputs(o, n_out);
            return qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory");
        }
    }
    for (int64_t k = 0; k < n; k++)
        cmp->fout[k] = qrun_tensor_get_f64(o[0], k);
    *top = argmax(o[0]);
    if (label >= 0) {
        cmp->labeled++;
        cmp->correct += *top == label;
    }
    free_outputs(o, n_out);
    return QRUN_OK;
}

static qrun_status run_format(qrun_compare *cmp,
                              cmp_format *f,
                              const qrun_tensor *const *inputs,
                              int n_inputs,
                              int label,
                              int64_t ftop) {
    qrun_context *ctx = cmp->ctx;
    int n_out = qrun_model_output_count(f->qmodel);
    if (n_out > MAX_OUTPUTS)
        n_out = MAX_OUTPUTS;
    qrun_tensor *o[MAX_OUTPUTS] = {0};
    cmp->cur = f;
    qrun_status s = qrun_session_run(f->sess, inputs, n_inputs, o, n_out);
    cmp->cur = NULL;
    if (!s && qrun_tensor_numel(o[0]) != cmp->fout_n)
        s = qrun_errf(&ctx->err, QRUN_E_MODEL, "output 0 has %lld elements, the float model's %lld",
                      (long long)qrun_tensor_numel(o[0]), (long long)cmp->fout_n);
    if (s) {
        qrun_err_prefix(&ctx->err, "%s: ", f->name);
        free_outputs(o, n_out);
        return s;
    }
    for (int64_t k = 0; k < cmp->fout_n; k++) {
        double x = cmp->fout[k], e = fabs(x - qrun_tensor_get_f64(o[0], k));
        f->sig += x * x;
        f->noise += e * e;
        if (e > f->max_abs_err || isnan(e))
            f->max_abs_err = isnan(e) ? INFINITY : e;
    }
    int64_t top = argmax(o[0]);
    f->samples++;
    f->agree += top == ftop;
    if (label >= 0) {
        f->labeled++;
        f->correct += top == label;
    }
    qrun_sim_summary sim;
    if (qrun_session_sim_summary(f->sess, &sim) == QRUN_OK) {
        f->has_sim = true;
        f->sim_nodes = sim.n_nodes;
        sim_costs(f);
        f->latency_us = sim.latency_us;
        f->energy_uj = sim.energy_uj;
    }
    free_outputs(o, n_out);
    return QRUN_OK;
}

QRUN_API qrun_status qrun_compare_add_eval(qrun_compare *cmp,
                                           const qrun_tensor *const *inputs,
                                           int n_inputs,
                                           int label) {
    qrun_context *ctx = cmp->ctx;
    if (!cmp->quantized) {
        if (cmp->n_f && qrun_calibrator_sample_count(cmp->f[0].cal) == 0)
            return qrun_errf(&ctx->err, QRUN_E_ARG,
                             "compare: no calibration samples before the first evaluation sample");
        qrun_status s = quantize_all(cmp);
        if (s)
            return s;
    }
    int64_t ftop = 0;
    qrun_status s = run_float(cmp, inputs, n_inputs, label, &ftop);
    for (int i = 0; !s && i < cmp->n_f; i++)
        s = run_format(cmp, &cmp->f[i], inputs, n_inputs, label, ftop);
    cmp->samples++; /* also on failure: stale references never match the next sample */
    return s ? s : qrun_api_ok(ctx);
}

/* ---- results -------------------------------------------------------------------- */

static double sqnr_db(double sig, double noise, int64_t count) {
    if (count == 0)
        return NAN;
    if (noise == 0)
        return INFINITY;
    return 10.0 * log10(sig / noise);
}

static double ratio(int num, int den) {
    return den ? (double)num / den : NAN;
}

QRUN_API void qrun_compare_get_fp32(const qrun_compare *cmp, qrun_compare_fp32 *out) {
    out->samples = cmp->samples;
    out->labeled = cmp->labeled;
    out->top1 = ratio(cmp->correct, cmp->labeled);
}

QRUN_API int qrun_compare_result_count(const qrun_compare *cmp) {
    return cmp->n_f;
}

QRUN_API qrun_status qrun_compare_get_result(const qrun_compare *cmp,
                                             int i,
                                             qrun_compare_result *out) {
    if (i < 0 || i >= cmp->n_f)
        return qrun_errf(&cmp->ctx->err, QRUN_E_ARG, "compare: no result %d (%d formats)", i,
                         cmp->n_f);
    const cmp_format *f = &cmp->f[i];
    memset(out, 0, sizeof *out);
    out->dtype = f->name;
    out->samples = f->samples;
    out->labeled = f->labeled;
    out->top1 = ratio(f->correct, f->labeled);
    out->agree_fp32 = ratio(f->agree, f->samples);
    out->sqnr_db = sqnr_db(f->sig, f->noise, f->samples);
    out->max_abs_err = f->max_abs_err;
    out->n_layers = f->n_layers;
    out->n_quantized_nodes = f->n_quantized_nodes;
    out->has_sim = f->has_sim;
    out->sim_nodes = f->sim_nodes;
    out->cycles = f->cycles;
    out->latency_us = f->latency_us;
    out->energy_uj = f->energy_uj;
    return QRUN_OK;
}

QRUN_API qrun_status qrun_compare_get_layer(const qrun_compare *cmp,
                                            int i,
                                            int j,
                                            qrun_compare_layer *out) {
    if (i < 0 || i >= cmp->n_f || j < 0 || j >= cmp->f[i].n_layers)
        return qrun_errf(&cmp->ctx->err, QRUN_E_ARG, "compare: no layer %d of result %d", j, i);
    const cmp_layer *l = &cmp->f[i].layers[j];
    out->name = l->info.name;
    out->dtype = l->info.dtype;
    out->sqnr_db = sqnr_db(l->sig, l->noise, l->count);
    out->saturated = l->saturated;
    out->count = l->count;
    out->scale = l->info.n_params > 0 ? l->info.scales[0] : 0.0f;
    out->zero_point = l->info.zero_points ? l->info.zero_points[0] : 0;
    out->range_lo = l->info.range_lo;
    out->range_hi = l->info.range_hi;
    out->cycles = l->cycles;
    out->energy_uj = l->energy_uj;
    out->producer = l->producer ? l->producer : "";
    return QRUN_OK;
}

QRUN_API const qrun_model *qrun_compare_model(const qrun_compare *cmp, int i) {
    return i >= 0 && i < cmp->n_f ? cmp->f[i].qmodel : NULL;
}
