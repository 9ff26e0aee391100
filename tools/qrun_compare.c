/* SPDX-License-Identifier: Apache-2.0 */
/* qrun compare: FP32 vs INT8/FP8 formats on an evaluation set (qrun_compare_* API). */
#include "tools/qrun_compare.h"

#include "tools/cli_util.h"
#include "tools/ptq_cli.h"
#include "tools/qrun_hw.h" /* fail() */

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char qrun_compare_usage_commands[] =
    "  qrun compare MODEL --calib DIR --eval DIR [--labels FILE] [--dtypes LIST] [--json]\n"
    "                         run FP32 and each format over the eval samples: top-1 accuracy\n"
    "                         (with --labels: one class per line, in sorted sample order),\n"
    "                         top-1 agreement with FP32, output-0 SQNR and max error, and\n"
    "                         per-layer SQNR and saturation of every quantized activation\n"
    "                         (--dtypes default int8,fp8e4m3,fp8e5m2,fp8e3m4; with --backend\n"
    "                         accel_sim --hw PRESET also cycles, latency and energy)\n";

typedef struct compare_cli {
    const char *model, *eval_dir, *labels, *dtypes, *preprocess, *backend, *hw;
    bool json;
    int threads;
    qrun_requant_mode requant;
    qrun_fp8_accum fp8_accum;
    ptq_cli ptq;
} compare_cli;

static int parse_choice(const char *opt, const char *val, const char *const *names, int *out) {
    for (int k = 0; names[k]; k++) {
        if (strcmp(val, names[k]) == 0) {
            *out = k;
            return 0;
        }
    }
    return fail("%s: unknown value '%s'", opt, val);
}

static bool takes_value(const char *a) {
    static const char *const with_value[] = {"--eval",    "--labels",    "--dtypes",
                                             "--backend", "--hw",        "--threads",
                                             "--requant", "--fp8-accum", "--preprocess"};
    for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++) {
        if (strcmp(a, with_value[k]) == 0)
            return true;
    }
    return ptq_cli_takes_value(a);
}

static int parse_args(int argc, char **argv, compare_cli *c) {
    static const char *const requant[] = {"float", "fixed", NULL};
    static const char *const accum[] = {"fp32", "fp16", "bf16", NULL};
    memset(c, 0, sizeof *c);
    c->backend = "cpu_ref";
    ptq_cli_init(&c->ptq);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool tv = takes_value(a);
        const char *val = tv && i + 1 < argc ? argv[i + 1] : NULL;
        if (tv && !val)
            return fail("option %s needs a value (see qrun compare --help)", a);
        if (tv)
            i++;
        int k = 0, rc = 0;
        if (strcmp(a, "--eval") == 0) {
            c->eval_dir = val;
        } else if (strcmp(a, "--labels") == 0) {
            c->labels = val;
        } else if (strcmp(a, "--dtypes") == 0) {
            c->dtypes = val;
        } else if (strcmp(a, "--dtype") == 0) {
            return fail("compare takes --dtypes LIST (e.g. int8,fp8e4m3), not --dtype");
        } else if (strcmp(a, "--preprocess") == 0) {
            c->preprocess = c->ptq.preprocess = val;
        } else if (strcmp(a, "--backend") == 0) {
            c->backend = val;
        } else if (strcmp(a, "--hw") == 0) {
            c->hw = val;
        } else if (strcmp(a, "--threads") == 0) {
            if (!cli_parse_int(val, 1, 1024, &c->threads))
                return fail("--threads expects an integer in [1, 1024], got '%s'", val);
        } else if (strcmp(a, "--requant") == 0) {
            if (parse_choice(a, val, requant, &k))
                return 1;
            c->requant = (qrun_requant_mode)k;
        } else if (strcmp(a, "--fp8-accum") == 0) {
            if (parse_choice(a, val, accum, &k))
                return 1;
            c->fp8_accum = (qrun_fp8_accum)k;
        } else if (strcmp(a, "--json") == 0) {
            c->json = true;
        } else if ((rc = ptq_cli_parse(&c->ptq, a, val)) != 0) {
            if (rc < 0)
                return 1;
        } else if (a[0] == '-') {
            return fail("unknown option '%s' (see qrun compare --help)", a);
        } else if (!c->model) {
            c->model = a;
        } else {
            return fail("unexpected argument '%s' (one model; see qrun compare --help)", a);
        }
    }
    if (!c->model)
        return fail("compare: no model given");
    if (!c->ptq.calib_dir || !c->eval_dir)
        return fail("compare: --calib DIR and --eval DIR are required");
    return 0;
}

/* One integer per line (blank lines skipped) into a malloc'd array. */
static int read_labels(const char *path, int **out, int *n) {
    FILE *f = fopen(path, "r");
    if (!f)
        return fail("--labels %s: cannot open", path);
    int cap = 0, line = 0, rc = 0;
    char buf[256];
    *out = NULL;
    *n = 0;
    while (!rc && fgets(buf, sizeof buf, f)) {
        line++;
        buf[strcspn(buf, "\r\n")] = '\0';
        char *p = buf;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            continue;
        char *end = NULL;
        long v = strtol(p, &end, 10);
        while (end && (*end == ' ' || *end == '\t'))
            end++;
        if (end == p || *end || v < 0 || v > 1000000000L) {
            rc = fail("--labels %s:%d: expected a class index >= 0, got '%.40s'", path, line, p);
            break;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            int *g = realloc(*out, (size_t)cap * sizeof *g);
            if (!g) {
                rc = fail("out of memory");
                break;
            }
            *out = g;
        }
        (*out)[(*n)++] = (int)v;
    }
    fclose(f);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- running -------------------------------------------------------------------- */

typedef struct run_ud {
    qrun_context *ctx;
    qrun_compare *cmp;
    const int *labels;
} run_ud;

static int calib_sample(
    void *ud, int index, int total, const qrun_tensor *const *in, int n_in, const char *path) {
    run_ud *r = ud;
    if (qrun_compare_add_calib(r->cmp, in, n_in))
        return fail("%s: %s", path, qrun_context_errmsg(r->ctx));
    return 0;
}

static int eval_sample(
    void *ud, int index, int total, const qrun_tensor *const *in, int n_in, const char *path) {
    run_ud *r = ud;
    if (qrun_compare_add_eval(r->cmp, in, n_in, r->labels ? r->labels[index] : -1))
        return fail("%s: %s", path, qrun_context_errmsg(r->ctx));
    return 0;
}

/* ---- reports -------------------------------------------------------------------- */

static cJSON *json_num(double v) {
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static void print_json(const qrun_compare *cmp, const compare_cli *c, int n_calib) {
    cJSON *root = cJSON_CreateObject();
    qrun_compare_fp32 fp;
    qrun_compare_get_fp32(cmp, &fp);
    cJSON *f32 = cJSON_AddObjectToObject(root, "fp32");
    cJSON_AddItemToObject(f32, "top1", json_num(fp.top1));
    cJSON_AddNumberToObject(f32, "samples", fp.samples);
    cJSON_AddNumberToObject(root, "calib_samples", n_calib);
    cJSON_AddStringToObject(root, "calib_method", qrun_calib_method_name(c->ptq.opts.calib_method));
    cJSON_AddStringToObject(root, "backend", c->backend);
    cJSON *results = cJSON_AddArrayToObject(root, "results");
    for (int i = 0; i < qrun_compare_result_count(cmp); i++) {
        qrun_compare_result r;
        qrun_compare_get_result(cmp, i, &r);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "dtype", r.dtype);
        cJSON_AddItemToObject(o, "top1", json_num(r.top1));
        cJSON_AddItemToObject(o, "agree_fp32", json_num(r.agree_fp32));
        cJSON_AddItemToObject(o, "sqnr_db", json_num(r.sqnr_db));
        cJSON_AddItemToObject(o, "max_abs_err", json_num(r.max_abs_err));
        cJSON_AddNumberToObject(o, "samples", r.samples);
        cJSON_AddNumberToObject(o, "quantized_nodes", r.n_quantized_nodes);
        if (r.has_sim) {
            cJSON_AddNumberToObject(o, "sim_nodes", r.sim_nodes);
            cJSON_AddNumberToObject(o, "cycles", r.cycles);
            cJSON_AddNumberToObject(o, "latency_us", r.latency_us);
            cJSON_AddNumberToObject(o, "energy_uj", r.energy_uj);
        }
        cJSON *layers = cJSON_AddArrayToObject(o, "layers");
        for (int j = 0; j < r.n_layers; j++) {
            qrun_compare_layer l;
            qrun_compare_get_layer(cmp, i, j, &l);
            cJSON *lo = cJSON_CreateObject();
            cJSON_AddStringToObject(lo, "name", l.name);
            cJSON_AddItemToObject(lo, "sqnr_db", json_num(l.sqnr_db));
            cJSON_AddNumberToObject(lo, "saturated", (double)l.saturated);
            cJSON_AddNumberToObject(lo, "count", (double)l.count);
            cJSON_AddStringToObject(lo, "dtype", qrun_dtype_name(l.dtype));
            cJSON_AddNumberToObject(lo, "scale", l.scale);
            cJSON_AddNumberToObject(lo, "zero_point", l.zero_point);
            if (r.has_sim) { /* the node that produced the activation (qrun.h) */
                cJSON_AddStringToObject(lo, "producer", l.producer);
                cJSON_AddItemToObject(lo, "cycles", json_num(l.cycles));
                cJSON_AddItemToObject(lo, "energy_uj", json_num(l.energy_uj));
            }
            cJSON_AddItemToArray(layers, lo);
        }
        cJSON_AddItemToArray(results, o);
    }
    char *s = cJSON_Print(root);
    if (s)
        puts(s);
    free(s);
    cJSON_Delete(root);
}

static void fmt_pct(char *buf, size_t cap, double v) {
    if (isnan(v))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.2f%%", 100.0 * v);
}

static void fmt_db(char *buf, size_t cap, double v) {
    if (isnan(v))
        snprintf(buf, cap, "-");
    else if (isinf(v))
        snprintf(buf, cap, "inf");
    else
        snprintf(buf, cap, "%.2f", v);
}

static void print_text(const qrun_compare *cmp, const compare_cli *c, int n_calib) {
    qrun_compare_fp32 fp;
    qrun_compare_get_fp32(cmp, &fp);
    int n = qrun_compare_result_count(cmp);
    bool sim = false;
    for (int i = 0; i < n; i++) {
        qrun_compare_result r;
        qrun_compare_get_result(cmp, i, &r);
        sim |= r.has_sim;
    }
    printf("%s: %d eval samples (%d labeled), %d calibration samples, %s calibration, "
           "backend %s%s%s\n\n",
           c->model, fp.samples, fp.labeled, n_calib,
           qrun_calib_method_name(c->ptq.opts.calib_method), c->backend, c->hw ? " --hw " : "",
           c->hw ? c->hw : "");
    printf("%-12s %8s %9s %9s %11s", "format", "top-1", "agree", "SQNR dB", "max |err|");
    if (sim)
        printf(" %12s %11s %11s", "cycles", "latency us", "energy uJ");
    printf("\n");
    char a[32], b[32], d[32];
    fmt_pct(a, sizeof a, fp.top1);
    printf("%-12s %8s %9s %9s %11s\n", "fp32", a, "-", "-", "-");
    for (int i = 0; i < n; i++) {
        qrun_compare_result r;
        qrun_compare_get_result(cmp, i, &r);
        fmt_pct(a, sizeof a, r.top1);
        fmt_pct(b, sizeof b, r.agree_fp32);
        fmt_db(d, sizeof d, r.sqnr_db);
        printf("%-12s %8s %9s %9s %11.4g", r.dtype, a, b, d, r.max_abs_err);
        if (r.has_sim && r.sim_nodes > 0)
            printf(" %12.0f %11.2f %11.3f", r.cycles, r.latency_us, r.energy_uj);
        else if (r.has_sim)
            printf(" %12s %11s %11s  (no node timed: the hardware runs none in %s)", "-", "-", "-",
                   r.dtype);
        printf("\n");
    }
    for (int i = 0; i < n; i++) {
        qrun_compare_result r;
        qrun_compare_get_result(cmp, i, &r);
        printf("\nper layer, %s (%d quantized activations):\n", r.dtype, r.n_layers);
        printf("  %9s %20s", "SQNR dB", "saturated");
        if (r.has_sim)
            printf(" %12s %11s", "cycles", "energy uJ");
        printf("  %s\n", "tensor");
        for (int j = 0; j < r.n_layers; j++) {
            qrun_compare_layer l;
            qrun_compare_get_layer(cmp, i, j, &l);
            fmt_db(d, sizeof d, l.sqnr_db);
            char sat[48];
            snprintf(sat, sizeof sat, "%lld/%lld", (long long)l.saturated, (long long)l.count);
            printf("  %9s %20s", d, sat);
            if (r.has_sim) /* of the node that produced the activation */
                printf(" %12.0f %11.4g", l.cycles, l.energy_uj);
            printf("  %s\n", l.name);
        }
    }
}

/* ---- command -------------------------------------------------------------------- */

static int run_compare(qrun_context *ctx, const compare_cli *c, qrun_compare **out, int *n_calib) {
    qrun_model *m = NULL;
    qrun_hw *hw = NULL;
    int *labels = NULL, n_labels = 0, n_eval = 0, rc = 0;
    ptq_sample_set calib = {"--calib", c->ptq.calib_dir, c->preprocess, "calibrating"};
    ptq_sample_set eval = {"--eval", c->eval_dir, c->preprocess, "evaluating"};
    if (ptq_cli_sample_count(&calib, n_calib) || ptq_cli_sample_count(&eval, &n_eval))
        return 1;
    if (c->labels && read_labels(c->labels, &labels, &n_labels))
        return 1;
    if (c->labels && n_labels != n_eval)
        rc = fail("--labels %s has %d labels, --eval %s has %d samples", c->labels, n_labels,
                  c->eval_dir, n_eval);
    if (!rc && qrun_model_load(ctx, c->model, &m))
        rc = fail("%s", qrun_context_errmsg(ctx));
    if (!rc && qrun_model_output_count(m) > 1)
        fprintf(stderr, "qrun: note: %s has %d outputs; top-1 and SQNR use output 0\n", c->model,
                qrun_model_output_count(m));
    if (!rc && c->hw && qrun_hw_load(ctx, c->hw, &hw))
        rc = fail("--hw %s: %s", c->hw, qrun_context_errmsg(ctx));
    qrun_compare_options o;
    qrun_compare_options_init(&o);
    o.dtypes = c->dtypes;
    o.quant = c->ptq.opts;
    o.backend = c->backend;
    o.hw = hw;
    o.requant = c->requant;
    o.fp8_accum = c->fp8_accum;
    if (!rc && qrun_compare_create(ctx, m, &o, out))
        rc = fail("%s: %s", c->model, qrun_context_errmsg(ctx));
    run_ud ud = {ctx, *out, labels};
    if (!rc)
        rc = ptq_cli_for_each_sample(ctx, m, &calib, calib_sample, &ud);
    if (!rc)
        rc = ptq_cli_for_each_sample(ctx, m, &eval, eval_sample, &ud);
    if (!rc && c->json)
        print_json(*out, c, *n_calib);
    else if (!rc)
        print_text(*out, c, *n_calib);
    qrun_compare_free(*out);
    *out = NULL;
    qrun_hw_free(hw);
    qrun_model_free(m);
    free(labels);
    return rc;
}

int qrun_compare_main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("Usage:\n%s\n%s", qrun_compare_usage_commands, k_ptq_cli_usage);
            printf("  --preprocess SPEC      image samples (*.jpg/*.png) to tensors\n"
                   "  --backend NAME --hw PRESET  quantized runs on accel_sim: adds cycles,\n"
                   "                         latency and energy per inference\n"
                   "  --requant float|fixed  --fp8-accum fp32|fp16|bf16  --threads N\n");
            return 0;
        }
    }
    compare_cli c;
    if (parse_args(argc, argv, &c))
        return 1;
    qrun_options opts;
    qrun_options_init(&opts);
    opts.n_threads = c.threads;
    qrun_context *ctx = NULL;
    if (qrun_context_create(&opts, &ctx))
        return fail("cannot create a context (out of memory)");
    qrun_compare *cmp = NULL;
    int n_calib = 0;
    int rc = run_compare(ctx, &c, &cmp, &n_calib);
    qrun_context_free(ctx);
    return rc;
}
