/* SPDX-License-Identifier: Apache-2.0 */
/* The public API (include/qrun/qrun.h): load file -> onnx/ -> session over the backend registry. */
#include "qrun/qrun.h"

#include "api/api_internal.h"
#include "api/context.h"
#include "api/registry.h"
#include "onnx/onnx_loader.h"
#include "onnx/onnx_writer.h"
#include "runtime/alloc.h"
#include "runtime/dtype.h"
#include "runtime/exec.h"
#include "runtime/graph_check.h"
#include "runtime/limits.h"
#include "runtime/lower/qdq.h"
#include "runtime/macs.h"
#include "runtime/npy.h"
#include "runtime/quant.h"
#include "runtime/quantize/ptq.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- status, version ---------------------------------------------------- */

QRUN_API const char *qrun_status_str(qrun_status s) {
    switch (s) {
    case QRUN_OK:
        return "ok";
    case QRUN_E_ARG:
        return "invalid argument";
    case QRUN_E_NOMEM:
        return "out of memory";
    case QRUN_E_MODEL:
        return "invalid model";
    case QRUN_E_UNSUPPORTED:
        return "unsupported";
    case QRUN_E_IO:
        return "I/O error";
    case QRUN_E_INTERNAL:
        return "internal error";
    }
    return "unknown status";
}

QRUN_API const char *qrun_version(void) {
    return QRUN_VERSION_STRING;
}

/* ---- context ------------------------------------------------------------ */

QRUN_API void qrun_options_init(qrun_options *opts) {
    memset(opts, 0, sizeof *opts);
}

static int default_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

QRUN_API qrun_status qrun_context_create(const qrun_options *opts, qrun_context **out) {
    if (!out)
        return QRUN_E_ARG;
    *out = NULL;
    qrun_options def;
    if (!opts) {
        qrun_options_init(&def);
        opts = &def;
    }
    const qrun_allocator *a = opts->allocator ? opts->allocator : qrun_allocator_default();
    qrun_context *ctx = qrun_calloc(a, 1, sizeof *ctx);
    if (!ctx)
        return QRUN_E_NOMEM;
    ctx->alloc_copy = *a;
    ctx->alloc = &ctx->alloc_copy;
    ctx->n_threads = opts->n_threads > 0 ? opts->n_threads : default_threads();
    ctx->no_qdq_lowering = opts->no_qdq_lowering;
    qrun_limits_default(&ctx->limits);
    *out = ctx;
    return QRUN_OK;
}

QRUN_API void qrun_context_free(qrun_context *ctx) {
    if (ctx)
        qrun_free(&ctx->alloc_copy, ctx);
}

QRUN_API const char *qrun_context_errmsg(const qrun_context *ctx) {
    return ctx ? ctx->err.msg : "no context";
}

QRUN_API int qrun_context_threads(const qrun_context *ctx) {
    return ctx->n_threads;
}

static qrun_status ctx_ok(qrun_context *ctx) {
    ctx->err.msg[0] = '\0';
    return QRUN_OK;
}

QRUN_API qrun_status qrun_context_set_limits(qrun_context *ctx, const qrun_limits *limits) {
    if (!ctx)
        return QRUN_E_ARG;
    qrun_status s = qrun_limits_validate(limits, &ctx->err);
    if (s)
        return s;
    ctx->limits = *limits;
    return ctx_ok(ctx);
}

QRUN_API void qrun_context_get_limits(const qrun_context *ctx, qrun_limits *out) {
    *out = ctx->limits;
}

/* ---- models ------------------------------------------------------------- */

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The backend chain a model is checked and lowered against (sessions may add a backend first). */
typedef struct api_chain {
    qrun_backend bs[QRUN_MAX_BACKENDS];
    int n;
} api_chain;

static bool chain_supports(void *ud,
                           const qrun_node *n,
                           const struct qrun_tensor *const *inputs,
                           int n_inputs,
                           char *why,
                           size_t why_cap) {
    const api_chain *c = ud;
    for (int b = 0; b < c->n; b++) {
        if (c->bs[b].iface.supports_node(c->bs[b].ctx, n, inputs, n_inputs, why, why_cap))
            return true;
    }
    return false;
}

/* Every node must have an op some backend knows; checked before anything runs. */
static qrun_status
check_ops_supported(qrun_context *ctx, api_chain *chain, const qrun_graph *g, const char *file) {
    for (int k = 0; k < g->n_nodes; k++) {
        const qrun_node *n = &g->nodes[k];
        char why[256] = "";
        if (!chain_supports(chain, n, NULL, n->n_inputs, why, sizeof why))
            return qrun_errf(&ctx->err, QRUN_E_UNSUPPORTED,
                             "%s: node '%s': op '%s' (domain '%s', opset %" PRId64
                             ") is not supported by any backend",
                             file, n->name, n->op_type, n->domain[0] ? n->domain : "ai.onnx",
                             n->opset);
    }
    return QRUN_OK;
}

/* Constant scales and zero points of the quantization ops are checked once, at load. */
static qrun_status check_quant_params(qrun_context *ctx, const qrun_graph *g, const char *file) {
    for (int k = 0; k < g->n_nodes; k++) {
        const qrun_node *n = &g->nodes[k];
        qrun_status s = qrun_quant_check_constants(g, n, &ctx->err);
        if (s) {
            qrun_err_prefix(&ctx->err, "%s: node '%s' (%s): ", file, n->name, n->op_type);
            return s;
        }
    }
    return QRUN_OK;
}

/* Check the constant quantization parameters (on the graph as written, so errors name the
 * file's nodes), lower QDQ node units (unless the context says not to), then check every op. */
static qrun_status model_prepare_graph(
    qrun_context *ctx, qrun_graph *g, const char *file, bool check, qrun_lower_report *rep) {
    api_chain chain;
    qrun_status s =
        qrun_registry_create_chain("cpu_ref", ctx->alloc, chain.bs, &chain.n, &ctx->err);
    if (s)
        return s;
    if (check) {
        s = qrun_graph_check(g, &ctx->err);
        if (s)
            qrun_err_prefix(&ctx->err, "%s: ", file);
    }
    if (!s && check)
        s = check_quant_params(ctx, g, file);
    if (!s && !ctx->no_qdq_lowering) {
        s = qrun_lower_qdq(g, chain_supports, &chain, rep, &ctx->err);
        if (s)
            qrun_err_prefix(&ctx->err, "%s: QDQ lowering: ", file);
    }
    if (!s && check)
        s = check_ops_supported(ctx, &chain, g, file);
    qrun_registry_free_chain(chain.bs, chain.n);
    return s;
}

qrun_status qrun_api_ok(qrun_context *ctx) {
    return ctx_ok(ctx);
}

static bool has_qdq(const qrun_graph *g) {
    for (int k = 0; k < g->n_nodes; k++) {
        if (g->nodes[k].op == QRUN_OP_QUANTIZE_LINEAR ||
            g->nodes[k].op == QRUN_OP_DEQUANTIZE_LINEAR)
            return true;
    }
    return false;
}

qrun_status qrun_api_model_from_graph(
    qrun_context *ctx, qrun_graph *g, const char *path, bool check, qrun_model **out) {
    const char *file = path ? base_name(path) : "<memory>";
    qrun_lower_report rep = {0};
    /* Lowering turns QDQ units into integer forms that are not always valid ONNX at the model's
     * opset: keep the graph as it was for qrun_model_save. A graph the writer cannot copy
     * (e.g. fp8e3m4 tensors) cannot be saved either; save then reports why. */
    qrun_graph *source = NULL;
    qrun_err ignored;
    if (!ctx->no_qdq_lowering && has_qdq(g) && onnx_graph_copy(g, &source, &ignored) != QRUN_OK)
        source = NULL;
    qrun_status s = model_prepare_graph(ctx, g, file, check, &rep);
    qrun_model *m = s ? NULL : qrun_calloc(ctx->alloc, 1, sizeof *m);
    if (!s && !m)
        s = qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory");
    if (s) {
        qrun_lower_report_free(ctx->alloc, &rep);
        qrun_graph_free(g);
        qrun_graph_free(source);
        return s;
    }
    m->ctx = ctx;
    m->g = g;
    m->source = source;
    m->lowering = rep;
    m->path = qrun_strdup(ctx->alloc, path ? path : "<memory>");
    *out = m;
    return ctx_ok(ctx);
}

static qrun_status
model_load_file(qrun_context *ctx, const char *path, bool check, qrun_model **out) {
    if (!ctx || !path || !out)
        return ctx ? qrun_errf(&ctx->err, QRUN_E_ARG, "qrun_model_load: NULL argument")
                   : QRUN_E_ARG;
    *out = NULL;
    qrun_graph *g = NULL;
    qrun_status s = onnx_load_file_limited(path, ctx->alloc, &ctx->limits, &g, &ctx->err);
    if (s)
        return s;
    return qrun_api_model_from_graph(ctx, g, path, check, out);
}

QRUN_API qrun_status qrun_model_load(qrun_context *ctx, const char *path, qrun_model **out) {
    return model_load_file(ctx, path, true, out);
}

QRUN_API qrun_status qrun_model_inspect(qrun_context *ctx, const char *path, qrun_model **out) {
    return model_load_file(ctx, path, false, out);
}

QRUN_API qrun_status qrun_model_load_bytes(
    qrun_context *ctx, const void *data, size_t size, const char *base_dir, qrun_model **out) {
    if (!ctx || !data || !out)
        return ctx ? qrun_errf(&ctx->err, QRUN_E_ARG, "qrun_model_load_bytes: NULL argument")
                   : QRUN_E_ARG;
    *out = NULL;
    qrun_graph *g = NULL;
    qrun_status s =
        onnx_load_bytes_limited(data, size, base_dir, ctx->alloc, &ctx->limits, &g, &ctx->err);
    if (s)
        return s;
    return qrun_api_model_from_graph(ctx, g, NULL, true, out);
}

QRUN_API void qrun_model_free(qrun_model *m) {
    if (!m)
        return;
    const qrun_allocator *a = m->ctx->alloc;
    qrun_graph_free(m->g);
    qrun_ptq_report_free(a, m->ptq);
    qrun_graph_free(m->source);
    qrun_lower_report_free(a, &m->lowering);
    qrun_free(a, m->path);
    qrun_free(a, m);
}

const qrun_graph *qrun_model_source_graph_(const qrun_model *m) {
    return m->source ? m->source : m->g;
}

QRUN_API int qrun_model_input_count(const qrun_model *m) {
    return m->g->n_inputs;
}

QRUN_API int qrun_model_output_count(const qrun_model *m) {
    return m->g->n_outputs;
}

static void fill_value_info(const qrun_value *v, qrun_value_info *out) {
    memset(out, 0, sizeof *out);
    out->name = v->name;
    out->dtype = v->info.dtype;
    out->rank = v->info.rank;
    for (int d = 0; d < QRUN_MAX_RANK; d++) {
        out->dims[d] = (v->info.rank >= 0 && d < v->info.rank) ? v->info.dims[d] : -1;
        out->dim_params[d] = v->dim_params[d];
    }
}

QRUN_API qrun_status qrun_model_input_info(const qrun_model *m, int i, qrun_value_info *out) {
    if (i < 0 || i >= m->g->n_inputs)
        return QRUN_E_ARG;
    fill_value_info(&m->g->values[m->g->inputs[i]], out);
    return QRUN_OK;
}

QRUN_API qrun_status qrun_model_output_info(const qrun_model *m, int i, qrun_value_info *out) {
    if (i < 0 || i >= m->g->n_outputs)
        return QRUN_E_ARG;
    fill_value_info(&m->g->values[m->g->outputs[i]], out);
    return QRUN_OK;
}

QRUN_API void qrun_model_get_meta(const qrun_model *m, qrun_model_meta *out) {
    memset(out, 0, sizeof *out);
    out->ir_version = m->g->ir_version;
    out->producer_name = m->g->producer_name ? m->g->producer_name : "";
    out->producer_version = m->g->producer_version ? m->g->producer_version : "";
    out->graph_name = m->g->name ? m->g->name : "";
    out->n_opsets = m->g->n_opsets;
    out->n_nodes = m->g->n_nodes;
    out->n_initializers = m->g->n_initializers;
}

QRUN_API qrun_status qrun_model_opset(const qrun_model *m,
                                      int i,
                                      const char **domain,
                                      int64_t *version) {
    if (i < 0 || i >= m->g->n_opsets)
        return QRUN_E_ARG;
    *domain = m->g->opsets[i].domain ? m->g->opsets[i].domain : "";
    *version = m->g->opsets[i].version;
    return QRUN_OK;
}

QRUN_API int qrun_model_node_count(const qrun_model *m) {
    return m->g->n_nodes;
}

QRUN_API qrun_status qrun_model_node_info(const qrun_model *m, int i, qrun_node_info *out) {
    if (i < 0 || i >= m->g->n_nodes)
        return QRUN_E_ARG;
    const qrun_node *n = &m->g->nodes[i];
    out->name = n->name;
    out->op_type = n->op_type;
    out->domain = n->domain ? n->domain : "";
    out->opset = n->opset;
    out->n_inputs = n->n_inputs;
    out->n_outputs = n->n_outputs;
    return QRUN_OK;
}

QRUN_API int qrun_model_lowering_count(const qrun_model *m) {
    return m->lowering.n;
}

QRUN_API qrun_status qrun_model_lowering_get(const qrun_model *m, int i, qrun_lowering_info *out) {
    if (!out || i < 0 || i >= m->lowering.n)
        return QRUN_E_ARG;
    const qrun_lower_unit *u = &m->lowering.units[i];
    out->node = u->node;
    out->op = u->op;
    out->lowered = u->lowered;
    out->target = u->target;
    out->reason = u->reason;
    return QRUN_OK;
}

QRUN_API bool qrun_model_lowering_enabled(const qrun_model *m) {
    return !m->ctx->no_qdq_lowering;
}

QRUN_API void qrun_model_param_stats(const qrun_model *m, qrun_param_stats *out) {
    memset(out, 0, sizeof *out);
    for (int v = 0; v < m->g->n_values; v++) {
        const qrun_value *val = &m->g->values[v];
        if (val->kind != QRUN_VALUE_CONSTANT || val->info.dtype <= 0 ||
            val->info.dtype >= QRUN_DTYPE_COUNT)
            continue;
        int64_t n = qrun_shape_numel(val->info.rank, val->info.dims);
        if (n < 0)
            continue;
        out->count[val->info.dtype] += n;
        out->bytes[val->info.dtype] += (int64_t)val->info.nbytes;
    }
}

/* ---- tensors ------------------------------------------------------------ */

static qrun_status tensor_wrap(qrun_context *ctx, struct qrun_tensor *src, qrun_tensor **out) {
    qrun_tensor *t = qrun_calloc(ctx->alloc, 1, sizeof *t);
    if (!t) {
        qrun_tensor_release(src);
        return qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory");
    }
    *t = *src;
    *out = t;
    return ctx_ok(ctx);
}

QRUN_API qrun_status qrun_tensor_create(qrun_context *ctx,
                                        qrun_dtype dtype,
                                        int rank,
                                        const int64_t *dims,
                                        const char *name,
                                        qrun_tensor **out) {
    if (!ctx || !out || (rank > 0 && !dims))
        return ctx ? qrun_errf(&ctx->err, QRUN_E_ARG, "qrun_tensor_create: NULL argument")
                   : QRUN_E_ARG;
    *out = NULL;
    if (dtype <= QRUN_DTYPE_UNDEFINED || dtype >= QRUN_DTYPE_COUNT || dtype == QRUN_DTYPE_STRING ||
        !qrun_dtype_traits_get(dtype)->get)
        return qrun_errf(&ctx->err, QRUN_E_ARG, "qrun_tensor_create: unsupported dtype %d",
                         (int)dtype);
    struct qrun_tensor t = {0};
    if (rank < 0 || rank > QRUN_MAX_RANK || !qrun_tensor_set_shape(&t, dtype, rank, dims))
        return qrun_errf(&ctx->err, QRUN_E_ARG, "qrun_tensor_create: invalid shape");
    if (qrun_tensor_alloc_data(&t, ctx->alloc))
        return qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory for a %zu-byte tensor", t.nbytes);
    if (name) {
        t.name = qrun_strdup(ctx->alloc, name);
        if (!t.name) {
            qrun_tensor_release(&t);
            return qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory");
        }
    }
    return tensor_wrap(ctx, &t, out);
}

QRUN_API qrun_status qrun_tensor_load_file(qrun_context *ctx, const char *path, qrun_tensor **out) {
    if (!ctx || !path || !out)
        return ctx ? qrun_errf(&ctx->err, QRUN_E_ARG, "qrun_tensor_load_file: NULL argument")
                   : QRUN_E_ARG;
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return qrun_errf(&ctx->err, QRUN_E_IO, "%s: cannot open: %s", path, strerror(errno));
    /* The readers allocate at most about the file's size: bounding it bounds them. */
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && (uint64_t)sb.st_size > ctx->limits.max_input_file_bytes) {
        fclose(f);
        return qrun_errf(&ctx->err, QRUN_E_MODEL,
                         "%s: file is %lld bytes (limit max_input_file_bytes = %" PRIu64 ")", path,
                         (long long)sb.st_size, ctx->limits.max_input_file_bytes);
    }
    unsigned char head[8] = {0};
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    struct qrun_tensor t = {0};
    qrun_status s;
    if (qrun_npy_sniff(head, got))
        s = qrun_npy_read(path, ctx->alloc, &t, &ctx->err);
    else
        s = onnx_tensor_read_file(path, ctx->alloc, &t, &ctx->err);
    if (s)
        return s;
    char what[300];
    snprintf(what, sizeof what, "%.256s: tensor", path);
    s = qrun_limits_check_shape(&ctx->limits, what, t.rank, t.dims, &ctx->err);
    if (s) {
        qrun_tensor_release(&t);
        return s;
    }
    return tensor_wrap(ctx, &t, out);
}

QRUN_API qrun_status qrun_tensor_save_file(qrun_context *ctx,
                                           const qrun_tensor *t,
                                           const char *path,
                                           qrun_tensor_format fmt) {
    if (!ctx || !t || !path)
        return ctx ? qrun_errf(&ctx->err, QRUN_E_ARG, "qrun_tensor_save_file: NULL argument")
                   : QRUN_E_ARG;
    qrun_status s = fmt == QRUN_TENSOR_FORMAT_NPY ? qrun_npy_write(path, t, &ctx->err)
                                                  : onnx_tensor_write_file(path, t, &ctx->err);
    return s ? s : ctx_ok(ctx);
}

QRUN_API void qrun_tensor_free(qrun_tensor *t) {
    if (!t)
        return;
    const qrun_allocator *a = t->alloc;
    qrun_tensor_release(t);
    qrun_free(a, t);
}

QRUN_API qrun_dtype qrun_tensor_dtype(const qrun_tensor *t) {
    return t->dtype;
}

QRUN_API int qrun_tensor_rank(const qrun_tensor *t) {
    return t->rank;
}

QRUN_API const int64_t *qrun_tensor_dims(const qrun_tensor *t) {
    return t->dims;
}

QRUN_API int64_t qrun_tensor_numel(const qrun_tensor *t) {
    return qrun_shape_numel(t->rank, t->dims);
}

QRUN_API size_t qrun_tensor_nbytes(const qrun_tensor *t) {
    return t->nbytes;
}

QRUN_API void *qrun_tensor_data(qrun_tensor *t) {
    return t->data;
}

QRUN_API const void *qrun_tensor_data_const(const qrun_tensor *t) {
    return t->data;
}

QRUN_API const char *qrun_tensor_name(const qrun_tensor *t) {
    return t->name ? t->name : "";
}

QRUN_API double qrun_tensor_get_f64(const qrun_tensor *t, int64_t i) {
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(t->dtype);
    if (!tr->get || i < 0 || i >= qrun_shape_numel(t->rank, t->dims))
        return 0.0 / 0.0;
    return tr->get(t->data, (size_t)i);
}

QRUN_API void qrun_tensor_set_f64(qrun_tensor *t, int64_t i, double v) {
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(t->dtype);
    if (!tr->set || i < 0 || i >= qrun_shape_numel(t->rank, t->dims))
        return;
    tr->set(t->data, (size_t)i, v, true);
}

/* ---- sessions ----------------------------------------------------------- */

QRUN_API void qrun_session_options_init(qrun_session_options *opts) {
    memset(opts, 0, sizeof *opts);
    opts->backend = "cpu_ref";
    opts->requant = QRUN_REQUANT_FLOAT;
    opts->fp8_accum = QRUN_FP8_ACCUM_FP32;
}

static bool inputs_static(const qrun_graph *g) {
    for (int i = 0; i < g->n_inputs; i++) {
        const struct qrun_tensor *t = &g->values[g->inputs[i]].info;
        if (t->rank < 0 || t->dtype == QRUN_DTYPE_UNDEFINED)
            return false;
        for (int d = 0; d < t->rank; d++) {
            if (t->dims[d] < 0)
                return false;
        }
    }
    return true;
}

/* Declared input types as plan signatures; symbolic dims become `sym_dim` (for analysis). */
void qrun_declared_inputs_(const qrun_graph *g,
                           struct qrun_tensor *descs,
                           const struct qrun_tensor **ptrs,
                           int64_t sym_dim) {
    for (int i = 0; i < g->n_inputs; i++) {
        const struct qrun_tensor *info = &g->values[g->inputs[i]].info;
        int64_t dims[QRUN_MAX_RANK];
        int rank = info->rank < 0 ? 0 : info->rank;
        for (int d = 0; d < rank; d++)
            dims[d] = info->dims[d] < 0 ? sym_dim : info->dims[d];
        memset(&descs[i], 0, sizeof descs[i]);
        qrun_tensor_set_shape(&descs[i], info->dtype, rank, dims);
        ptrs[i] = &descs[i];
    }
}

/* Exec observer -> public observer: value index to name. */
static void session_observe(void *ud, int v, const struct qrun_tensor *t) {
    const qrun_session *sess = ud;
    sess->observer(sess->observer_ud, sess->model->g->values[v].name, t);
}

QRUN_API qrun_status qrun_session_create(qrun_context *ctx,
                                         const qrun_model *model,
                                         const qrun_session_options *opts,
                                         qrun_session **out) {
    if (!ctx || !model || !out)
        return ctx ? qrun_errf(&ctx->err, QRUN_E_ARG, "qrun_session_create: NULL argument")
                   : QRUN_E_ARG;
    *out = NULL;
    qrun_session_options def;
    if (!opts) {
        qrun_session_options_init(&def);
        opts = &def;
    }
    if (opts->requant != QRUN_REQUANT_FLOAT && opts->requant != QRUN_REQUANT_FIXED)
        return qrun_errf(&ctx->err, QRUN_E_ARG, "qrun_session_create: unknown requant mode %d",
                         (int)opts->requant);
    if (opts->fp8_accum != QRUN_FP8_ACCUM_FP32 && opts->fp8_accum != QRUN_FP8_ACCUM_FP16 &&
        opts->fp8_accum != QRUN_FP8_ACCUM_BF16)
        return qrun_errf(&ctx->err, QRUN_E_ARG, "qrun_session_create: unknown FP8 accumulator %d",
                         (int)opts->fp8_accum);
    qrun_status s = QRUN_OK;
    struct qrun_tensor *descs = NULL;
    const struct qrun_tensor **ptrs = NULL;
    qrun_session *sess = qrun_calloc(ctx->alloc, 1, sizeof *sess);
    if (!sess)
        return qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory");
    sess->ctx = ctx;
    sess->model = model;
    sess->profile = opts->profile;
    s = qrun_registry_create_chain_hw(opts->backend, ctx->alloc,
                                      opts->hw ? qrun_hw_config_(opts->hw) : NULL, sess->backends,
                                      &sess->n_backends, &ctx->err);
    if (!s)
        s = qrun_session_sim_configure_(sess, opts, &ctx->err);
    if (s)
        goto out_free;
    sess->observer = opts->observer;
    sess->observer_ud = opts->observer_ud;
    qrun_exec_options xo = {.n_threads = ctx->n_threads,
                            .profile = opts->profile,
                            .fold_constants = true,
                            .requant = opts->requant,
                            .fp8_accum = opts->fp8_accum,
                            .max_tensor_elements = ctx->limits.max_tensor_elements,
                            .max_arena_bytes = ctx->limits.max_arena_bytes};
    if (opts->observer) {
        xo.observe = session_observe;
        xo.observe_ud = sess;
    }
    s = qrun_exec_create(model->g, sess->backends, sess->n_backends, ctx->alloc, &xo, &sess->exec,
                         &ctx->err);
    if (s)
        goto out_free;
    if (inputs_static(model->g)) {
        size_t n = (size_t)model->g->n_inputs + 1;
        descs = qrun_calloc(ctx->alloc, n, sizeof *descs);
        ptrs = qrun_calloc(ctx->alloc, n, sizeof *ptrs);
        if (!descs || !ptrs) {
            s = qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory");
            goto out_free;
        }
        qrun_declared_inputs_(model->g, descs, ptrs, 1);
        s = qrun_exec_plan(sess->exec, ptrs, model->g->n_inputs, &ctx->err);
        if (s) {
            qrun_err_prefix(&ctx->err, "%s: ", base_name(model->path));
            goto out_free;
        }
    }
    qrun_free(ctx->alloc, descs);
    qrun_free(ctx->alloc, ptrs);
    *out = sess;
    return ctx_ok(ctx);

out_free:
    qrun_free(ctx->alloc, descs);
    qrun_free(ctx->alloc, ptrs);
    qrun_session_free(sess);
    return s;
}

const qrun_exec *qrun_session_exec_(const qrun_session *sess) {
    return sess->exec;
}

const qrun_graph *qrun_session_graph_(const qrun_session *sess) {
    return sess->model->g;
}

qrun_err *qrun_session_err_(const qrun_session *sess) {
    return &sess->ctx->err;
}

const qrun_allocator *qrun_session_alloc_(const qrun_session *sess) {
    return sess->ctx->alloc;
}

int qrun_session_backends_(const qrun_session *sess, const qrun_backend **out) {
    *out = sess->backends;
    return sess->n_backends;
}

QRUN_API void qrun_session_free(qrun_session *sess) {
    if (!sess)
        return;
    const qrun_allocator *a = sess->ctx->alloc;
    qrun_exec_free(sess->exec);
    qrun_registry_free_chain(sess->backends, sess->n_backends);
    qrun_free(a, sess->prof);
    qrun_free(a, sess);
}

/* Inputs must match the declared dtype and every static dim. */
qrun_status
qrun_api_check_input(qrun_context *ctx, const qrun_graph *g, int i, const qrun_tensor *t) {
    const qrun_value *v = &g->values[g->inputs[i]];
    const struct qrun_tensor *decl = &v->info;
    char s1[160], s2[160];
    if (!t)
        return qrun_errf(&ctx->err, QRUN_E_ARG, "input '%s' is missing", v->name);
    int64_t n = qrun_shape_numel(t->rank, t->dims);
    size_t nb = 0;
    if (n < 0 || !qrun_dtype_nbytes(t->dtype, n, &nb) || nb != t->nbytes || (nb && !t->data))
        return qrun_errf(&ctx->err, QRUN_E_ARG, "input '%s': tensor is malformed", v->name);
    if (decl->dtype != QRUN_DTYPE_UNDEFINED && decl->dtype != t->dtype)
        return qrun_errf(&ctx->err, QRUN_E_ARG, "input '%s': expected dtype %s, got %s", v->name,
                         qrun_dtype_name(decl->dtype), qrun_dtype_name(t->dtype));
    if (decl->rank < 0)
        return QRUN_OK;
    bool ok = decl->rank == t->rank;
    for (int d = 0; ok && d < t->rank; d++)
        ok = decl->dims[d] < 0 || decl->dims[d] == t->dims[d];
    if (!ok) {
        int64_t dd[QRUN_MAX_RANK];
        for (int d = 0; d < decl->rank; d++)
            dd[d] = decl->dims[d];
        snprintf(s1, sizeof s1, "%s", qrun_shape_str(decl->rank, dd, s2, sizeof s2));
        return qrun_errf(&ctx->err, QRUN_E_ARG, "input '%s': expected shape %s (-1 = any), got %s",
                         v->name, s1, qrun_shape_str(t->rank, t->dims, s2, sizeof s2));
    }
    return QRUN_OK;
}

static qrun_status collect_profile(qrun_session *sess) {
    const qrun_graph *g = sess->model->g;
    int n = 0;
    const qrun_exec_record *rec = qrun_exec_records(sess->exec, &n);
    if (!sess->prof) {
        sess->prof = qrun_calloc(sess->ctx->alloc, (size_t)n + 1, sizeof *sess->prof);
        if (!sess->prof)
            return qrun_errf(&sess->ctx->err, QRUN_E_NOMEM, "out of memory");
    }
    for (int k = 0; k < n; k++) {
        const qrun_backend *b = &sess->backends[rec[k].backend];
        sess->prof[k].name = g->nodes[k].name;
        sess->prof[k].op_type = g->nodes[k].op_type;
        bool run = !rec[k].folded;
        sess->prof[k].backend = run ? b->iface.name(b->ctx) : "folded";
        sess->prof[k].ms = run ? rec[k].ms : 0.0;
        sess->prof[k].executed = run;
        sess->prof[k].macs = run ? rec[k].macs : 0;
        sess->prof[k].bytes = run ? rec[k].bytes : 0;
        sess->prof[k].in_dtype = run ? qrun_dtype_name(rec[k].in_dtype) : "";
        sess->prof[k].out_dtype = run ? qrun_dtype_name(rec[k].out_dtype) : "";
        sess->prof[k].shapes = run ? rec[k].shapes : "";
    }
    return QRUN_OK;
}

QRUN_API qrun_status qrun_session_run(qrun_session *sess,
                                      const qrun_tensor *const *inputs,
                                      int n_inputs,
                                      qrun_tensor **outputs,
                                      int n_outputs) {
    if (!sess)
        return QRUN_E_ARG;
    qrun_context *ctx = sess->ctx;
    const qrun_graph *g = sess->model->g;
    if (n_inputs != g->n_inputs || (n_inputs && !inputs))
        return qrun_errf(&ctx->err, QRUN_E_ARG, "the model has %d inputs, %d given", g->n_inputs,
                         n_inputs);
    if (n_outputs != g->n_outputs || !outputs)
        return qrun_errf(&ctx->err, QRUN_E_ARG, "the model has %d outputs, %d requested",
                         g->n_outputs, n_outputs);
    for (int i = 0; i < n_inputs; i++) {
        qrun_status s = qrun_api_check_input(ctx, g, i, inputs[i]);
        if (s) {
            qrun_err_prefix(&ctx->err, "%s: ", base_name(sess->model->path));
            return s;
        }
    }
    for (int j = 0; j < n_outputs; j++)
        outputs[j] = NULL;
    struct qrun_tensor *res = qrun_calloc(ctx->alloc, (size_t)n_outputs + 1, sizeof *res);
    if (!res)
        return qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory");
    qrun_status s = qrun_exec_run(sess->exec, (const struct qrun_tensor *const *)inputs, n_inputs,
                                  res, n_outputs, &ctx->err);
    if (s) {
        qrun_err_prefix(&ctx->err, "%s: ", base_name(sess->model->path));
        qrun_free(ctx->alloc, res);
        return s;
    }
    for (int j = 0; j < n_outputs; j++) {
        s = tensor_wrap(ctx, &res[j], &outputs[j]);
        if (s) {
            for (int i = 0; i < n_outputs; i++) {
                if (i < j) {
                    qrun_tensor_free(outputs[i]);
                    outputs[i] = NULL;
                } else if (i > j) {
                    qrun_tensor_release(&res[i]);
                }
            }
            break;
        }
    }
    qrun_free(ctx->alloc, res);
    if (!s && sess->profile)
        s = collect_profile(sess);
    return s ? s : ctx_ok(ctx);
}

QRUN_API size_t qrun_session_arena_bytes(const qrun_session *sess) {
    return qrun_exec_arena_bytes(sess->exec);
}

QRUN_API int qrun_session_profile(const qrun_session *sess, const qrun_node_profile **records) {
    *records = sess->prof;
    return sess->prof ? sess->model->g->n_nodes : 0;
}

/* ---- analysis ----------------------------------------------------------- */

static void analyze_nodes(const qrun_graph *g,
                          qrun_exec *x,
                          bool planned,
                          const qrun_backend *cpu_ref,
                          qrun_node_analysis *out) {
    const struct qrun_tensor *in[64], *outs[64];
    for (int k = 0; k < g->n_nodes; k++) {
        const qrun_node *n = &g->nodes[k];
        char why[256];
        out[k].macs = -1;
        out[k].cpu_ref =
            cpu_ref->iface.supports_node(cpu_ref->ctx, n, NULL, n->n_inputs, why, sizeof why);
        out[k].why_not = NULL;
        if (!planned || n->n_inputs > 64 || n->n_outputs > 64)
            continue;
        bool known = true;
        for (int i = 0; i < n->n_inputs; i++) {
            in[i] = n->inputs[i] >= 0 ? qrun_exec_value(x, n->inputs[i]) : NULL;
            known = known && (n->inputs[i] < 0 || in[i]);
        }
        for (int o = 0; o < n->n_outputs; o++) {
            outs[o] = n->outputs[o] >= 0 ? qrun_exec_value(x, n->outputs[o]) : NULL;
            known = known && (n->outputs[o] < 0 || outs[o]);
        }
        if (known)
            out[k].macs = qrun_node_macs(n, in, outs);
    }
}

QRUN_API qrun_status qrun_model_analyze(qrun_context *ctx,
                                        const qrun_model *model,
                                        qrun_node_analysis *out) {
    const qrun_graph *g = model->g;
    qrun_backend bs[QRUN_MAX_BACKENDS];
    int nb = 0;
    qrun_exec *x = NULL;
    struct qrun_tensor *descs = qrun_calloc(ctx->alloc, (size_t)g->n_inputs + 1, sizeof *descs);
    const struct qrun_tensor **ptrs =
        qrun_calloc(ctx->alloc, (size_t)g->n_inputs + 1, sizeof *ptrs);
    qrun_status s =
        (!descs || !ptrs) ? qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory") : QRUN_OK;
    if (!s)
        s = qrun_registry_create_chain("cpu_ref", ctx->alloc, bs, &nb, &ctx->err);
    qrun_exec_options xo = {.n_threads = 1,
                            .fold_constants = true,
                            .max_tensor_elements = ctx->limits.max_tensor_elements,
                            .max_arena_bytes = ctx->limits.max_arena_bytes};
    if (!s)
        s = qrun_exec_create(g, bs, nb, ctx->alloc, &xo, &x, &ctx->err);
    bool planned = false;
    if (!s) {
        qrun_declared_inputs_(g, descs, ptrs, 1);
        qrun_err plan_err;
        planned = qrun_exec_plan(x, ptrs, g->n_inputs, &plan_err) == QRUN_OK;
        analyze_nodes(g, x, planned, &bs[0], out);
        if (!planned)
            snprintf(ctx->err.msg, sizeof ctx->err.msg, "%s", plan_err.msg);
    }
    qrun_exec_free(x);
    qrun_registry_free_chain(bs, nb);
    qrun_free(ctx->alloc, descs);
    qrun_free(ctx->alloc, ptrs);
    return s;
}
