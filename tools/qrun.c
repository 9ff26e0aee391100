/* SPDX-License-Identifier: Apache-2.0 */
/* qrun: the command-line tool, a client of include/qrun/qrun.h only. */
#include "qrun/qrun.h"
#include "tools/cli_util.h"
#include "tools/ptq_cli.h"
#include "tools/qrun_bench.h"
#include "tools/qrun_compare.h"
#include "tools/qrun_hw.h"
#include "tools/qrun_profile.h"
#include "tools/qrun_save.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_NAMED_INPUTS 64

typedef struct named_input {
    const char *name;
    const char *path;
} named_input;

typedef struct cli {
    const char *command; /* "run" or "info" */
    const char *model;
    const char *inputs_dir;
    const char *preprocess; /* --preprocess SPEC for image inputs, or NULL */
    named_input named[MAX_NAMED_INPUTS];
    int n_named;
    const char *output_dir;
    const char *output_format; /* "pb" | "npy" */
    const char *backend;
    const char *hw;  /* --hw PRESET|FILE */
    const char *sim; /* --sim MODE */
    bool json;
    bool random_input;
    const char *profile; /* --profile FILE.json|FILE.csv|-, or NULL */
    bool no_lower;
    int threads;
    int repeat;
    int iters; /* --iters N: timed runs after one warm-up; 0: not given */
    qrun_requant_mode requant;
    qrun_fp8_accum fp8_accum;
    ptq_cli ptq; /* --dtype, --calib, ... */
} cli;

static const char *k_usage =
    "qrun " QRUN_VERSION_STRING " - run ONNX models in FP32, INT8 and FP8 and see what each costs\n"
    "\n"
    "Usage:\n"
    "  qrun run MODEL.onnx [options]   run a model (also: qrun MODEL.onnx [options])\n"
    "  qrun info MODEL.onnx [--json]   describe a model: opsets, inputs/outputs, ops, parameters, "
    "MACs,\n"
    "                                  and which nodes each backend can run\n"
    "%s"
    "%s"
    "%s"
    "%s"
    "  qrun --help | --version\n"
    "\n"
    "Run options:\n"
    "  --inputs DIR           read input_0.pb, input_1.pb, ... (ONNX TensorProto), input_0.npy, "
    "...\n"
    "                         (NumPy) or input_0.jpg/.jpeg/.png (image) from DIR, in graph-input "
    "order\n"
    "  --input NAME=FILE      bind one graph input by name from a .pb, .npy, JPEG or PNG file\n"
    "                         (repeatable; overrides --inputs for that input)\n"
    "  --preprocess SPEC      how images become tensors, e.g. \"resize=256,crop=224,\n"
    "                         "
    "mean=0.485,0.456,0.406,std=0.229,0.224,0.225,layout=nchw,scale=255\"\n"
    "                         (shorter side to 256, bilinear as Pillow; center crop; value =\n"
    "                         (pixel/scale - mean)/std per RGB channel; default: raw 0..255 NCHW)\n"
    "  --random-input         feed unbound inputs a fixed pseudo-random pattern in [-1, 1)\n"
    "                         (default: zeros); either way qrun says so on stderr\n"
    "  --output-dir DIR       write output_0.pb, output_1.pb, ... in graph-output order (created "
    "if needed)\n"
    "  --output-format FMT    pb (ONNX TensorProto, default) or npy\n"
    "  --json                 print a machine-readable summary instead of the text summary\n"
    "  --threads N            kernel threads (default: all cores)\n"
    "  --backend NAME         execution backend: cpu_ref (default) or accel_sim (needs --hw)\n"
    "  --repeat N             run N times and report the median time (default 1)\n"
    "  --profile FILE         per-node profile of the run: FILE.json is a Chrome trace (Perfetto,\n"
    "                         chrome://tracing; ONNX Runtime's cat/op_name/provider keys too),\n"
    "                         FILE.csv one row per executed node, - a table on stdout sorted\n"
    "                         by time with a by-op-type summary. cpu_ref times are measured\n"
    "                         after one warm-up run; accel_sim nodes get simulated time\n"
    "                         (cycles / clock), cycles, energy and stalls\n"
    "  --iters N              one warm-up run, then N timed runs; time and per-node profile\n"
    "                         are medians over them (default: --repeat's runs)\n"
    "  --no-lower             keep QDQ node units as float DequantizeLinear -> op -> "
    "QuantizeLinear\n"
    "                         instead of lowering them to integer ops (also for info)\n"
    "  --requant MODE         integer requantization of QLinear* ops: float (default; float32\n"
    "                         multiplier, round half to even, as ONNX Runtime) or fixed (TFLite\n"
    "                         fixed point: Q0.31 multiplier and shift, round half away)\n"
    "  --fp8-accum ACC        accumulator of FP8 conv/matmul: fp32 (default), fp16 or bf16\n"
    "                         (rounded after every add, as narrow hardware accumulators)\n"
    "%s"
    "\n"
    "%s"
    "\n"
    "Exit status: 0 on success; 1 on any error, with one line on stderr naming the file and,\n"
    "where relevant, the node or tensor.\n";

/* ---- small utilities ---------------------------------------------------- */

static void print_usage(FILE *f) {
    fprintf(f, k_usage, qrun_hw_usage_commands, qrun_save_usage_commands,
            qrun_compare_usage_commands, qrun_bench_usage_commands, qrun_hw_usage_options,
            k_ptq_cli_usage);
}

int fail(const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One line whatever the names in it (they come from untrusted files). */
    for (unsigned char *p = (unsigned char *)msg; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            *p = '?';
    }
    fprintf(stderr, "qrun: error: %s\n", msg);
    return 1;
}

static void shape_str(int rank, const int64_t *dims, char *buf, size_t cap) {
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < rank && used < cap; d++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%" PRId64, d ? ", " : "", dims[d]);
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
}

static void value_shape_str(const qrun_value_info *vi, char *buf, size_t cap) {
    if (vi->rank < 0) {
        snprintf(buf, cap, "(unknown)");
        return;
    }
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < vi->rank && used < cap; d++) {
        const char *sep = d ? ", " : "";
        if (vi->dims[d] >= 0)
            used += (size_t)snprintf(buf + used, cap - used, "%s%" PRId64, sep, vi->dims[d]);
        else
            used += (size_t)snprintf(buf + used, cap - used, "%s%s", sep,
                                     vi->dim_params[d] ? vi->dim_params[d] : "?");
    }
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
}

static void json_number(FILE *f, double v) {
    if (isnan(v) || isinf(v))
        fprintf(f, "null");
    else
        fprintf(f, "%.9g", v);
}

/* ---- argument parsing --------------------------------------------------- */

static bool option_takes_value(const char *a) {
    static const char *const with_value[] = {
        "--inputs",  "--input",      "--output-dir", "--output-format", "--backend",
        "--threads", "--repeat",     "--requant",    "--fp8-accum",     "--hw",
        "--sim",     "--preprocess", "--profile",    "--iters"};
    for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++) {
        if (strcmp(a, with_value[k]) == 0)
            return true;
    }
    return ptq_cli_takes_value(a);
}

static int parse_args(int argc, char **argv, cli *c) {
    memset(c, 0, sizeof *c);
    c->output_format = "pb";
    c->backend = "cpu_ref";
    c->repeat = 1;
    ptq_cli_init(&c->ptq);
    int ptq_rc = 0;
    int i = 1;
    if (i < argc && (strcmp(argv[i], "run") == 0 || strcmp(argv[i], "info") == 0))
        c->command = argv[i++];
    else
        c->command = "run";
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *val = (i + 1 < argc) ? argv[i + 1] : NULL;
        bool takes_value = option_takes_value(a);
        if (takes_value && !val)
            return fail("option %s needs a value (see qrun --help)", a);
        if (takes_value)
            i++;
        if (strcmp(a, "--inputs") == 0) {
            c->inputs_dir = val;
        } else if (strcmp(a, "--input") == 0) {
            const char *eq = strchr(val, '=');
            if (!eq || eq == val || !eq[1])
                return fail("--input expects NAME=FILE, got '%s'", val);
            if (c->n_named == MAX_NAMED_INPUTS)
                return fail("too many --input options (max %d)", MAX_NAMED_INPUTS);
            argv[i][eq - val] = '\0';
            c->named[c->n_named].name = val;
            c->named[c->n_named].path = eq + 1;
            c->n_named++;
        } else if (strcmp(a, "--preprocess") == 0) {
            c->preprocess = val;
            c->ptq.preprocess = val;
        } else if (strcmp(a, "--output-dir") == 0) {
            c->output_dir = val;
        } else if (strcmp(a, "--output-format") == 0) {
            if (strcmp(val, "pb") != 0 && strcmp(val, "npy") != 0)
                return fail("--output-format must be pb or npy, got '%s'", val);
            c->output_format = val;
        } else if (strcmp(a, "--backend") == 0) {
            c->backend = val;
        } else if (strcmp(a, "--hw") == 0) {
            c->hw = val;
        } else if (strcmp(a, "--sim") == 0) {
            c->sim = val;
        } else if (strcmp(a, "--threads") == 0) {
            if (!cli_parse_int(val, 1, 1024, &c->threads))
                return fail("--threads expects an integer in [1, 1024], got '%s'", val);
        } else if (strcmp(a, "--repeat") == 0) {
            if (!cli_parse_int(val, 1, 1000000, &c->repeat))
                return fail("--repeat expects a positive integer, got '%s'", val);
        } else if (strcmp(a, "--requant") == 0) {
            if (cli_parse_requant(val, &c->requant))
                return 1;
        } else if (strcmp(a, "--fp8-accum") == 0) {
            if (cli_parse_fp8_accum(val, &c->fp8_accum))
                return 1;
        } else if (strcmp(a, "--json") == 0) {
            c->json = true;
        } else if (strcmp(a, "--random-input") == 0) {
            c->random_input = true;
        } else if (strcmp(a, "--profile") == 0) {
            if (qrun_profile_check_dest(val))
                return 1;
            c->profile = val;
        } else if (strcmp(a, "--iters") == 0) {
            if (!cli_parse_int(val, 1, 1000000, &c->iters))
                return fail("--iters expects a positive integer, got '%s'", val);
        } else if (strcmp(a, "--no-lower") == 0) {
            c->no_lower = true;
        } else if ((ptq_rc = ptq_cli_parse(&c->ptq, a, takes_value ? val : NULL)) != 0) {
            if (ptq_rc < 0)
                return 1;
        } else if (a[0] == '-' && a[1]) {
            return fail("unknown option '%s' (see qrun --help)", a);
        } else if (!c->model) {
            c->model = a;
        } else {
            return fail("unexpected argument '%s' (one model per run; see qrun --help)", a);
        }
    }
    if (!c->model)
        return fail("no model given (see qrun --help)");
    if (c->json && c->profile && strcmp(c->profile, "-") == 0)
        return fail("--profile - prints a table on stdout, which --json keeps for JSON: give "
                    "--profile FILE.json or FILE.csv");
    c->ptq.preprocess = c->preprocess; /* image calibration samples */
    return 0;
}

/* ---- inputs ------------------------------------------------------------- */

static const char *find_named(const cli *c, const char *name) {
    for (int k = 0; k < c->n_named; k++) {
        if (strcmp(c->named[k].name, name) == 0)
            return c->named[k].path;
    }
    return NULL;
}

static int
make_default_input(qrun_context *ctx, const cli *c, const qrun_value_info *vi, qrun_tensor **out) {
    if (cli_pattern_input(ctx, c->model, vi, c->random_input, out))
        return 1;
    char s[256];
    shape_str(qrun_tensor_rank(*out), qrun_tensor_dims(*out), s, sizeof s);
    fprintf(stderr, "qrun: note: input '%s' not given: feeding %s %s %s%s\n", vi->name,
            c->random_input ? "a fixed pseudo-random pattern" : "zeros", qrun_dtype_name(vi->dtype),
            s, vi->rank > 0 ? " (symbolic dims set to 1)" : "");
    return 0;
}

static int gather_inputs(qrun_context *ctx, const cli *c, const qrun_model *m, qrun_tensor **ins) {
    int n = qrun_model_input_count(m);
    for (int k = 0; k < c->n_named; k++) {
        bool known = false;
        for (int i = 0; i < n && !known; i++) {
            qrun_value_info vi;
            qrun_model_input_info(m, i, &vi);
            known = strcmp(vi.name, c->named[k].name) == 0;
        }
        if (!known)
            return fail("%s: --input %s: the model has no input of that name", c->model,
                        c->named[k].name);
    }
    for (int i = 0; i < n; i++) {
        qrun_value_info vi;
        qrun_model_input_info(m, i, &vi);
        const char *named = find_named(c, vi.name);
        if (named) {
            if (cli_load_input_file(ctx, named, vi.name, c->preprocess, &ins[i]))
                return 1;
            continue;
        }
        if (c->inputs_dir) {
            char path[PATH_MAX];
            if (cli_find_dir_input(c->inputs_dir, i, path, sizeof path)) {
                if (cli_load_input_file(ctx, path, vi.name, c->preprocess, &ins[i]))
                    return 1;
                continue;
            }
            return fail("%s: input '%s': %s has no input_%d.pb, .npy, .jpg, .jpeg or .png",
                        c->model, vi.name, c->inputs_dir, i);
        }
        if (make_default_input(ctx, c, &vi, &ins[i]))
            return 1;
    }
    return 0;
}

/* ---- output summary ----------------------------------------------------- */

static bool is_classifier_like(const qrun_tensor *t) {
    int r = qrun_tensor_rank(t);
    const int64_t *d = qrun_tensor_dims(t);
    qrun_dtype dt = qrun_tensor_dtype(t);
    if (dt != QRUN_DTYPE_FLOAT && dt != QRUN_DTYPE_DOUBLE && dt != QRUN_DTYPE_FLOAT16)
        return false;
    if (r < 1 || r > 2 || d[r - 1] < 2)
        return false;
    return r == 1 || d[0] == 1;
}

static void top5(const qrun_tensor *t, int64_t *idx, int *n_out) {
    int64_t n = qrun_tensor_numel(t);
    int k = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = qrun_tensor_get_f64(t, i);
        int pos = k;
        while (pos > 0 && (isnan(qrun_tensor_get_f64(t, idx[pos - 1])) ||
                           qrun_tensor_get_f64(t, idx[pos - 1]) < v))
            pos--;
        if (pos >= 5)
            continue;
        for (int j = (k < 5 ? k : 4); j > pos; j--)
            idx[j] = idx[j - 1];
        idx[pos] = i;
        if (k < 5)
            k++;
    }
    *n_out = k;
}

/* Indices of the 5 largest values of a classifier-like output, best first; 0 for other outputs. */
static int classifier_top5(const qrun_tensor *t, int64_t idx[5]) {
    int k = 0;
    if (is_classifier_like(t))
        top5(t, idx, &k);
    return k;
}

/* Runs that count: --iters N after a warm-up, else --repeat's (warm-up too when profiling, so
 * first-run costs such as page faults in the arena do not land on one node). */
static int timed_runs(const cli *c) {
    return c->iters ? c->iters : c->repeat;
}

static bool warm_up(const cli *c) {
    return c->iters || c->profile;
}

static void
print_text_summary(const cli *c, qrun_tensor **outs, int n_out, double ms, size_t arena) {
    printf("model: %s\n", c->model);
    for (int j = 0; j < n_out; j++) {
        const qrun_tensor *t = outs[j];
        char s[256];
        shape_str(qrun_tensor_rank(t), qrun_tensor_dims(t), s, sizeof s);
        printf("output %d: %s %s %s\n", j, qrun_tensor_name(t),
               qrun_dtype_name(qrun_tensor_dtype(t)), s);
        int64_t n = qrun_tensor_numel(t);
        printf("  values:");
        for (int64_t i = 0; i < n && i < 8; i++)
            printf(" %.6g", qrun_tensor_get_f64(t, i));
        printf("%s\n", n > 8 ? " ..." : "");
        int64_t idx[5];
        int k = classifier_top5(t, idx);
        if (k > 0) {
            printf("  top-5:");
            for (int i = 0; i < k; i++)
                printf(" %" PRId64 " (%.4g)", idx[i], qrun_tensor_get_f64(t, idx[i]));
            printf("\n");
        }
    }
    printf("time: %.3f ms (backend %s, %d run%s%s)\n", ms, c->backend, timed_runs(c),
           timed_runs(c) > 1 ? "s, median" : "", warm_up(c) ? ", after a warm-up" : "");
    printf("arena: %zu bytes\n", arena);
}

static void print_json_summary(const cli *c,
                               const qrun_session *sess,
                               qrun_tensor **outs,
                               int n_out,
                               double ms,
                               size_t arena) {
    printf("{\"model\": ");
    cli_json_string(stdout, c->model);
    printf(", \"backend\": ");
    cli_json_string(stdout, c->backend);
    printf(", \"time_ms\": %.6f, \"runs\": %d, \"arena_bytes\": %zu, \"outputs\": [", ms,
           timed_runs(c), arena);
    for (int j = 0; j < n_out; j++) {
        const qrun_tensor *t = outs[j];
        printf("%s{\"name\": ", j ? ", " : "");
        cli_json_string(stdout, qrun_tensor_name(t));
        printf(", \"dtype\": ");
        cli_json_string(stdout, qrun_dtype_name(qrun_tensor_dtype(t)));
        printf(", \"shape\": [");
        for (int d = 0; d < qrun_tensor_rank(t); d++)
            printf("%s%" PRId64, d ? ", " : "", qrun_tensor_dims(t)[d]);
        printf("], \"values\": [");
        int64_t n = qrun_tensor_numel(t);
        for (int64_t i = 0; i < n && i < 8; i++) {
            printf("%s", i ? ", " : "");
            json_number(stdout, qrun_tensor_get_f64(t, i));
        }
        printf("]");
        int64_t idx[5];
        int k = classifier_top5(t, idx);
        if (k > 0) {
            printf(", \"top5\": [");
            for (int i = 0; i < k; i++)
                printf("%s%" PRId64, i ? ", " : "", idx[i]);
            printf("]");
        }
        printf("}");
    }
    printf("]");
    qrun_hw_print_sim(stdout, sess, true);
    printf("}\n");
}

static int write_outputs(qrun_context *ctx, const cli *c, qrun_tensor **outs, int n_out) {
    if (mkdir(c->output_dir, 0777) != 0 && errno != EEXIST)
        return fail("%s: cannot create directory: %s", c->output_dir, strerror(errno));
    bool npy = strcmp(c->output_format, "npy") == 0;
    for (int j = 0; j < n_out; j++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/output_%d.%s", c->output_dir, j, npy ? "npy" : "pb");
        if (qrun_tensor_save_file(ctx, outs[j], path,
                                  npy ? QRUN_TENSOR_FORMAT_NPY : QRUN_TENSOR_FORMAT_PB))
            return fail("%s", qrun_context_errmsg(ctx));
    }
    return 0;
}

static int cmd_run(qrun_context *ctx, const cli *c) {
    int rc = 1;
    qrun_model *m = NULL;
    qrun_session *sess = NULL;
    qrun_tensor **ins = NULL, **outs = NULL;
    double *times = NULL;
    qrun_hw *hw = NULL;
    qrun_profile *prof = NULL;
    qrun_session_options so;
    qrun_session_options_init(&so);
    if (qrun_hw_option(ctx, c->hw, c->backend, c->sim, c->ptq.dtype, &hw, &so))
        goto out;
    if (qrun_model_load(ctx, c->model, &m)) {
        fail("%s", qrun_context_errmsg(ctx));
        goto out;
    }
    int n_in = qrun_model_input_count(m), n_out = qrun_model_output_count(m);
    ins = calloc((size_t)n_in + 1, sizeof *ins);
    outs = calloc((size_t)n_out + 1, sizeof *outs);
    int runs = timed_runs(c);
    times = calloc((size_t)runs, sizeof *times);
    if (!ins || !outs || !times) {
        fail("out of memory");
        goto out;
    }
    if (gather_inputs(ctx, c, m, ins))
        goto out;
    if (c->profile && !(prof = qrun_profile_new(runs, c->profile)))
        goto out;
    /* --sim timing only takes --dtype as the datapath: it needs no quantized values. */
    if (ptq_cli_active(&c->ptq) && so.sim != QRUN_SIM_TIMING) {
        qrun_model *q = NULL;
        if (ptq_cli_quantize(ctx, m, c->model, &c->ptq, ins, &q))
            goto out;
        qrun_model_free(m); /* the quantized model has the same inputs and outputs */
        m = q;
    }
    so.backend = c->backend;
    so.profile = c->profile != NULL;
    so.requant = c->requant;
    so.fp8_accum = c->fp8_accum;
    so.hw = hw;
    if (qrun_session_create(ctx, m, &so, &sess)) {
        fail("%s", qrun_context_errmsg(ctx));
        goto out;
    }
    for (int r = warm_up(c) ? -1 : 0; r < runs; r++) { /* r = -1: the warm-up */
        for (int j = 0; j < n_out; j++) {
            qrun_tensor_free(outs[j]);
            outs[j] = NULL;
        }
        double t0 = cli_now_ms();
        if (qrun_session_run(sess, (const qrun_tensor *const *)ins, n_in, outs, n_out)) {
            fail("%s", qrun_context_errmsg(ctx));
            goto out;
        }
        if (r < 0)
            continue;
        times[r] = cli_now_ms() - t0;
        if (prof && qrun_profile_add_run(prof, sess))
            goto out;
    }
    qsort(times, (size_t)runs, sizeof *times, cli_cmp_double);
    double ms = times[runs / 2];
    if (c->output_dir && write_outputs(ctx, c, outs, n_out))
        goto out;
    qrun_sim_summary sim;
    if (hw && qrun_session_sim_summary(sess, &sim) == QRUN_E_UNSUPPORTED) {
        fail("%s", qrun_context_errmsg(ctx)); /* the model cannot be placed on the chip */
        goto out;
    }
    if (c->json)
        print_json_summary(c, sess, outs, n_out, ms, qrun_session_arena_bytes(sess));
    else
        print_text_summary(c, outs, n_out, ms, qrun_session_arena_bytes(sess));
    if (!c->json)
        qrun_hw_print_sim(stdout, sess, false);
    if (prof && qrun_profile_write(prof, sess, c->model, c->backend))
        goto out;
    rc = 0;
out:
    for (int i = 0; ins && m && i < qrun_model_input_count(m); i++)
        qrun_tensor_free(ins[i]);
    for (int j = 0; outs && m && j < qrun_model_output_count(m); j++)
        qrun_tensor_free(outs[j]);
    free(ins);
    free(outs);
    free(times);
    qrun_profile_free(prof);
    qrun_session_free(sess);
    qrun_hw_free(hw);
    qrun_model_free(m);
    return rc;
}

/* ---- info --------------------------------------------------------------- */

typedef struct op_count {
    const char *op;
    const char *domain;
    int count;
    int64_t macs;
} op_count;

static int count_ops(const qrun_model *m, const qrun_node_analysis *an, op_count *ops, int cap) {
    int n_ops = 0;
    for (int k = 0; k < qrun_model_node_count(m); k++) {
        qrun_node_info ni;
        qrun_model_node_info(m, k, &ni);
        int f = 0;
        while (f < n_ops &&
               !(strcmp(ops[f].op, ni.op_type) == 0 && strcmp(ops[f].domain, ni.domain) == 0))
            f++;
        if (f == n_ops) {
            if (n_ops == cap)
                continue;
            ops[n_ops++] = (op_count){ni.op_type, ni.domain, 0, 0};
        }
        ops[f].count++;
        if (an[k].macs > 0)
            ops[f].macs += an[k].macs;
    }
    return n_ops;
}

/* "QDQ lowering" section: N of M units lowered, then one line per unit. */
static void print_lowering_text(const qrun_model *m) {
    int n = qrun_model_lowering_count(m), lowered = 0;
    if (!qrun_model_lowering_enabled(m)) {
        printf("QDQ lowering: disabled (--no-lower)\n");
        return;
    }
    if (n == 0) {
        printf("QDQ lowering: no DequantizeLinear -> op -> QuantizeLinear units (integer ops "
               "such as QLinearConv run as they are)\n");
        return;
    }
    for (int i = 0; i < n; i++) {
        qrun_lowering_info u;
        qrun_model_lowering_get(m, i, &u);
        lowered += u.lowered;
    }
    printf("QDQ lowering: %d of %d units lowered\n", lowered, n);
    for (int i = 0; i < n; i++) {
        qrun_lowering_info u;
        qrun_model_lowering_get(m, i, &u);
        if (u.lowered)
            printf("  lowered      %-12s %s -> %s\n", u.op, u.node, u.target);
        else
            printf("  not lowered  %-12s %s: %s\n", u.op, u.node, u.reason);
    }
}

static void print_lowering_json(const qrun_model *m) {
    printf(", \"lowering\": [");
    for (int i = 0; i < qrun_model_lowering_count(m); i++) {
        qrun_lowering_info u;
        qrun_model_lowering_get(m, i, &u);
        printf("%s{\"node\": ", i ? ", " : "");
        cli_json_string(stdout, u.node);
        printf(", \"op\": ");
        cli_json_string(stdout, u.op);
        printf(", \"lowered\": %s, \"target\": ", u.lowered ? "true" : "false");
        cli_json_string(stdout, u.target);
        printf(", \"reason\": ");
        cli_json_string(stdout, u.reason);
        printf("}");
    }
    printf("]");
}

static void print_info_text(const cli *c,
                            const qrun_model *m,
                            const qrun_node_analysis *an,
                            bool analyzed,
                            const char *why) {
    qrun_model_meta meta;
    qrun_model_get_meta(m, &meta);
    printf("model: %s\n", c->model);
    printf("ir_version: %" PRId64 "\nproducer: %s %s\n", meta.ir_version, meta.producer_name,
           meta.producer_version);
    printf("opsets:");
    for (int i = 0; i < meta.n_opsets; i++) {
        const char *d;
        int64_t v;
        qrun_model_opset(m, i, &d, &v);
        printf(" %s=%" PRId64, d[0] ? d : "ai.onnx", v);
    }
    printf("\n");
    for (int io = 0; io < 2; io++) {
        int n = io ? qrun_model_output_count(m) : qrun_model_input_count(m);
        for (int i = 0; i < n; i++) {
            qrun_value_info vi;
            if (io)
                qrun_model_output_info(m, i, &vi);
            else
                qrun_model_input_info(m, i, &vi);
            char s[256];
            value_shape_str(&vi, s, sizeof s);
            printf("%s %d: %s %s %s\n", io ? "output" : "input", i, vi.name,
                   qrun_dtype_name(vi.dtype), s);
        }
    }
    op_count ops[512];
    int n_ops = count_ops(m, an, ops, 512);
    int64_t total_macs = 0;
    bool macs_known = analyzed;
    for (int k = 0; k < qrun_model_node_count(m); k++) {
        if (an[k].macs < 0)
            macs_known = false;
        else
            total_macs += an[k].macs;
    }
    printf("nodes: %d\nops:\n", meta.n_nodes);
    for (int f = 0; f < n_ops; f++) {
        printf("  %-24s x%-5d", ops[f].domain[0] ? ops[f].op : ops[f].op, ops[f].count);
        if (ops[f].macs > 0)
            printf(" MACs %" PRId64, ops[f].macs);
        printf("%s%s\n", ops[f].domain[0] ? "  domain " : "", ops[f].domain);
    }
    qrun_param_stats ps;
    qrun_model_param_stats(m, &ps);
    int64_t total_p = 0, total_b = 0;
    printf("parameters:\n");
    for (int t = 1; t < QRUN_DTYPE_COUNT; t++) {
        if (!ps.count[t])
            continue;
        printf("  %-14s %12" PRId64 " elements %12" PRId64 " bytes\n",
               qrun_dtype_name((qrun_dtype)t), ps.count[t], ps.bytes[t]);
        total_p += ps.count[t];
        total_b += ps.bytes[t];
    }
    printf("  %-14s %12" PRId64 " elements %12" PRId64 " bytes\n", "total", total_p, total_b);
    if (macs_known)
        printf("MACs: %" PRId64 " (symbolic dims taken as 1)\n", total_macs);
    else
        printf("MACs: %" PRId64 " counted; some shapes unknown before run time%s%s\n", total_macs,
               why[0] ? ": " : "", why);
    int n_nodes = qrun_model_node_count(m), ok = 0;
    for (int k = 0; k < n_nodes; k++)
        ok += an[k].cpu_ref;
    printf("backends:\n  cpu_ref: %d of %d nodes\n", ok, n_nodes);
    if (ok < n_nodes) {
        printf("  not supported by any backend:");
        for (int k = 0, shown = 0; k < n_nodes && shown < 20; k++) {
            qrun_node_info ni;
            qrun_model_node_info(m, k, &ni);
            if (an[k].cpu_ref)
                continue;
            printf("%s %s (%s%s%s)", shown ? "," : "", ni.name, ni.domain[0] ? ni.domain : "",
                   ni.domain[0] ? "::" : "", ni.op_type);
            shown++;
        }
        printf("%s\n", n_nodes - ok > 20 ? ", ..." : "");
    }
    print_lowering_text(m);
}

static void print_info_json(const cli *c, const qrun_model *m, const qrun_node_analysis *an) {
    qrun_model_meta meta;
    qrun_model_get_meta(m, &meta);
    printf("{\"model\": ");
    cli_json_string(stdout, c->model);
    printf(", \"ir_version\": %" PRId64 ", \"producer\": ", meta.ir_version);
    cli_json_string(stdout, meta.producer_name);
    printf(", \"producer_version\": ");
    cli_json_string(stdout, meta.producer_version);
    printf(", \"opsets\": {");
    for (int i = 0; i < meta.n_opsets; i++) {
        const char *d;
        int64_t v;
        qrun_model_opset(m, i, &d, &v);
        printf("%s", i ? ", " : "");
        cli_json_string(stdout, d[0] ? d : "ai.onnx");
        printf(": %" PRId64, v);
    }
    printf("}");
    for (int io = 0; io < 2; io++) {
        int n = io ? qrun_model_output_count(m) : qrun_model_input_count(m);
        printf(", \"%s\": [", io ? "outputs" : "inputs");
        for (int i = 0; i < n; i++) {
            qrun_value_info vi;
            if (io)
                qrun_model_output_info(m, i, &vi);
            else
                qrun_model_input_info(m, i, &vi);
            printf("%s{\"name\": ", i ? ", " : "");
            cli_json_string(stdout, vi.name);
            printf(", \"dtype\": ");
            cli_json_string(stdout, qrun_dtype_name(vi.dtype));
            printf(", \"shape\": [");
            for (int d = 0; d < vi.rank; d++) {
                printf("%s", d ? ", " : "");
                if (vi.dims[d] >= 0)
                    printf("%" PRId64, vi.dims[d]);
                else
                    cli_json_string(stdout, vi.dim_params[d] ? vi.dim_params[d] : "?");
            }
            printf("]}");
        }
        printf("]");
    }
    printf(", \"nodes\": [");
    int64_t total = 0;
    for (int k = 0; k < qrun_model_node_count(m); k++) {
        qrun_node_info ni;
        qrun_model_node_info(m, k, &ni);
        printf("%s{\"name\": ", k ? ", " : "");
        cli_json_string(stdout, ni.name);
        printf(", \"op\": ");
        cli_json_string(stdout, ni.op_type);
        printf(", \"domain\": ");
        cli_json_string(stdout, ni.domain);
        printf(", \"macs\": %" PRId64 ", \"backends\": [%s]}", an[k].macs,
               an[k].cpu_ref ? "\"cpu_ref\"" : "");
        if (an[k].macs > 0)
            total += an[k].macs;
    }
    qrun_param_stats ps;
    qrun_model_param_stats(m, &ps);
    printf("], \"macs\": %" PRId64 ", \"parameters\": {", total);
    bool first = true;
    for (int t = 1; t < QRUN_DTYPE_COUNT; t++) {
        if (!ps.count[t])
            continue;
        printf("%s", first ? "" : ", ");
        cli_json_string(stdout, qrun_dtype_name((qrun_dtype)t));
        printf(": {\"count\": %" PRId64 ", \"bytes\": %" PRId64 "}", ps.count[t], ps.bytes[t]);
        first = false;
    }
    printf("}");
    print_lowering_json(m);
    printf("}\n");
}

static int cmd_info(qrun_context *ctx, const cli *c) {
    qrun_model *m = NULL;
    if (qrun_model_inspect(ctx, c->model, &m))
        return fail("%s", qrun_context_errmsg(ctx));
    int n = qrun_model_node_count(m);
    qrun_node_analysis *an = calloc((size_t)n + 1, sizeof *an);
    if (!an) {
        qrun_model_free(m);
        return fail("out of memory");
    }
    char why[512] = "";
    bool analyzed = qrun_model_analyze(ctx, m, an) == QRUN_OK;
    snprintf(why, sizeof why, "%s", qrun_context_errmsg(ctx));
    if (c->json)
        print_info_json(c, m, an);
    else
        print_info_text(c, m, an, analyzed && !why[0], why);
    free(an);
    qrun_model_free(m);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("qrun %s\n", qrun_version());
        return 0;
    }
    if (strcmp(argv[1], "hw") == 0)
        return qrun_hw_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "compare") == 0)
        return qrun_compare_main(argc - 1, argv + 1);
    /* hw and compare have their own help; the other commands are described in the main one. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_usage(stdout);
            return 0;
        }
    }
    if (strcmp(argv[1], "bench") == 0)
        return qrun_bench_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "convert") == 0)
        return qrun_convert_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "quantize") == 0)
        return qrun_quantize_main(argc - 1, argv + 1);
    cli c;
    if (parse_args(argc, argv, &c))
        return 1;
    qrun_options opts;
    qrun_options_init(&opts);
    opts.n_threads = c.threads;
    opts.no_qdq_lowering = c.no_lower;
    qrun_context *ctx = NULL;
    if (qrun_context_create(&opts, &ctx))
        return fail("cannot create a context (out of memory)");
    int rc = strcmp(c.command, "info") == 0 ? cmd_info(ctx, &c) : cmd_run(ctx, &c);
    qrun_context_free(ctx);
    return rc;
}
