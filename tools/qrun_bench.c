/* SPDX-License-Identifier: Apache-2.0 */
/* qrun bench: host time of each format on a backend, plus simulated cost on accel_sim. */
#include "tools/qrun_bench.h"

#include "tools/cli_util.h"
#include "tools/ptq_cli.h"
#include "tools/qrun_hw.h" /* fail(), qrun_hw_option() */

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const char qrun_bench_usage_commands[] =
    "  qrun bench MODEL [--dtypes LIST] [--iters N] [--warmup N] [--json] [run options]\n"
    "                         time the model in each format (default: as it is) on\n"
    "                         --backend: host latency min/median/p90/mean and inferences/s;\n"
    "                         with --backend accel_sim --hw PRESET also the simulated\n"
    "                         latency, throughput, energy and power per format. Inputs come\n"
    "                         from --inputs DIR (input_<i>.pb/.npy) or a fixed pseudo-random\n"
    "                         pattern; formats other than auto are quantized with the\n"
    "                         quantization options (--calib DIR, ...) or, with --sim timing,\n"
    "                         only timed in that datatype\n";

#define MAX_FORMATS 16

typedef struct bench_cli {
    const char *model, *dtypes, *backend, *hw, *sim, *inputs_dir;
    bool json;
    int threads, iters, warmup;
    qrun_requant_mode requant;
    qrun_fp8_accum fp8_accum;
    ptq_cli ptq;
} bench_cli;

/* Host times of one format, in ms, and the accelerator's figures when simulated. */
typedef struct bench_result {
    const char *dtype;
    double min_ms, median_ms, p90_ms, mean_ms, max_ms;
    bool simulated;
    qrun_sim_summary sim;
} bench_result;

static bool takes_value(const char *a) {
    static const char *const with_value[] = {
        "--dtypes",  "--iters",   "--warmup",    "--backend",    "--hw",    "--sim",
        "--threads", "--requant", "--fp8-accum", "--preprocess", "--inputs"};
    for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++) {
        if (strcmp(a, with_value[k]) == 0)
            return true;
    }
    return ptq_cli_takes_value(a);
}

static int parse_value_option(bench_cli *c, const char *a, const char *val) {
    if (strcmp(a, "--dtypes") == 0) {
        c->dtypes = val;
    } else if (strcmp(a, "--iters") == 0) {
        if (!cli_parse_int(val, 1, 1000000, &c->iters))
            return fail("--iters expects a positive integer, got '%s'", val);
    } else if (strcmp(a, "--warmup") == 0) {
        if (!cli_parse_int(val, 0, 1000000, &c->warmup))
            return fail("--warmup expects a non-negative integer, got '%s'", val);
    } else if (strcmp(a, "--threads") == 0) {
        if (!cli_parse_int(val, 1, 1024, &c->threads))
            return fail("--threads expects an integer in [1, 1024], got '%s'", val);
    } else if (strcmp(a, "--requant") == 0) {
        return cli_parse_requant(val, &c->requant);
    } else if (strcmp(a, "--fp8-accum") == 0) {
        return cli_parse_fp8_accum(val, &c->fp8_accum);
    } else if (strcmp(a, "--backend") == 0) {
        c->backend = val;
    } else if (strcmp(a, "--hw") == 0) {
        c->hw = val;
    } else if (strcmp(a, "--sim") == 0) {
        c->sim = val;
    } else if (strcmp(a, "--inputs") == 0) {
        c->inputs_dir = val;
    } else if (strcmp(a, "--preprocess") == 0) {
        c->ptq.preprocess = val;
    } else {
        return -1; /* not a bench option */
    }
    return 0;
}

static int parse_args(int argc, char **argv, bench_cli *c) {
    memset(c, 0, sizeof *c);
    c->backend = "cpu_ref";
    c->iters = 20;
    c->warmup = 2;
    ptq_cli_init(&c->ptq);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool tv = takes_value(a);
        const char *val = tv && i + 1 < argc ? argv[i + 1] : NULL;
        if (tv && !val)
            return fail("option %s needs a value (see qrun --help)", a);
        if (tv)
            i++;
        int rc = parse_value_option(c, a, val);
        if (rc > 0)
            return 1;
        if (rc == 0)
            continue;
        if (strcmp(a, "--json") == 0) {
            c->json = true;
        } else if (strcmp(a, "--dtype") == 0) {
            c->dtypes = val; /* one format: the same as a one-item list */
        } else if ((rc = ptq_cli_parse(&c->ptq, a, val)) != 0) {
            if (rc < 0)
                return 1;
        } else if (a[0] == '-') {
            return fail("unknown option '%s' (see qrun --help)", a);
        } else if (!c->model) {
            c->model = a;
        } else {
            return fail("unexpected argument '%s' (one model; see qrun --help)", a);
        }
    }
    if (!c->model)
        return fail("bench: no model given (see qrun --help)");
    return 0;
}

/* Split the --dtypes list in place; every item must name a datatype (or be "auto"). */
static int split_formats(char *list, const char **out, int *n) {
    *n = 0;
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        if (*n == MAX_FORMATS)
            return fail("--dtypes: at most %d formats", MAX_FORMATS);
        if (strcmp(tok, "auto") != 0 && qrun_dtype_from_name(tok) == QRUN_DTYPE_UNDEFINED)
            return fail("--dtypes: unknown datatype '%s' (e.g. int8, fp8e4m3, fp8e3m4, auto)", tok);
        out[(*n)++] = tok;
    }
    if (*n == 0)
        return fail("--dtypes: empty list");
    return 0;
}

static int
make_inputs(qrun_context *ctx, const bench_cli *c, const qrun_model *m, qrun_tensor **ins) {
    for (int i = 0; i < qrun_model_input_count(m); i++) {
        qrun_value_info vi;
        qrun_model_input_info(m, i, &vi);
        char path[PATH_MAX];
        if (!c->inputs_dir) {
            /* Benchmarks need no particular values: a fixed pattern keeps runs repeatable and
             * avoids the all-zero fast paths a zero input could take. */
            if (cli_pattern_input(ctx, c->model, &vi, true, &ins[i]))
                return 1;
        } else if (!cli_find_dir_input(c->inputs_dir, i, path, sizeof path)) {
            return fail("%s: input '%s': %s has no input_%d.pb, .npy, .jpg, .jpeg or .png",
                        c->model, vi.name, c->inputs_dir, i);
        } else if (cli_load_input_file(ctx, path, vi.name, c->ptq.preprocess, &ins[i])) {
            return 1;
        }
    }
    if (!c->inputs_dir && qrun_model_input_count(m) > 0)
        fprintf(stderr, "qrun: note: inputs are a fixed pseudo-random pattern (symbolic dims set "
                        "to 1); give real ones with --inputs DIR\n");
    return 0;
}

static void summarize_times(double *t, int n, bench_result *r) {
    qsort(t, (size_t)n, sizeof *t, cli_cmp_double);
    double sum = 0;
    for (int k = 0; k < n; k++)
        sum += t[k];
    r->min_ms = t[0];
    r->max_ms = t[n - 1];
    r->median_ms = t[n / 2];
    r->p90_ms = t[(int)ceil(0.9 * n) - 1];
    r->mean_ms = sum / n;
}

/* Warm-up runs, then the timed ones; outputs are dropped after each run. */
static int time_runs(qrun_context *ctx,
                     const bench_cli *c,
                     qrun_session *sess,
                     const qrun_model *m,
                     qrun_tensor **ins,
                     double *times) {
    int n_in = qrun_model_input_count(m), n_out = qrun_model_output_count(m);
    qrun_tensor **outs = calloc((size_t)n_out + 1, sizeof *outs);
    if (!outs)
        return fail("out of memory");
    int rc = 0;
    for (int r = -c->warmup; r < c->iters && !rc; r++) {
        double t0 = cli_now_ms();
        if (qrun_session_run(sess, (const qrun_tensor *const *)ins, n_in, outs, n_out))
            rc = fail("%s", qrun_context_errmsg(ctx));
        if (!rc && r >= 0)
            times[r] = cli_now_ms() - t0;
        for (int j = 0; j < n_out; j++) {
            qrun_tensor_free(outs[j]);
            outs[j] = NULL;
        }
    }
    free(outs);
    return rc;
}

/* One format: quantize (unless auto or timing-only), create the session, time it. */
static int bench_format(qrun_context *ctx,
                        const bench_cli *c,
                        const qrun_model *m,
                        qrun_tensor **ins,
                        const qrun_hw *hw,
                        const char *dtype,
                        bench_result *r) {
    memset(r, 0, sizeof *r);
    r->dtype = dtype;
    qrun_session_options so;
    qrun_session_options_init(&so);
    /* With --sim timing the format only picks the datapath: nothing is quantized. */
    so.sim = c->sim && strcmp(c->sim, "timing") == 0 ? QRUN_SIM_TIMING : QRUN_SIM_FULL;
    if (so.sim == QRUN_SIM_TIMING && strcmp(dtype, "auto") != 0)
        so.sim_dtype = qrun_dtype_from_name(dtype);
    ptq_cli p = c->ptq;
    p.dtype = dtype;
    qrun_model *q = NULL;
    const qrun_model *run_model = m;
    if (ptq_cli_active(&p) && so.sim != QRUN_SIM_TIMING) {
        if (ptq_cli_quantize(ctx, m, c->model, &p, ins, &q))
            return 1;
        run_model = q;
    }
    so.backend = c->backend;
    so.requant = c->requant;
    so.fp8_accum = c->fp8_accum;
    so.hw = hw;
    qrun_session *sess = NULL;
    double *times = calloc((size_t)c->iters, sizeof *times);
    int rc = 1;
    if (!times) {
        fail("out of memory");
    } else if (qrun_session_create(ctx, run_model, &so, &sess)) {
        fail("%s (format %s)", qrun_context_errmsg(ctx), dtype);
    } else if (!time_runs(ctx, c, sess, run_model, ins, times)) {
        summarize_times(times, c->iters, r);
        rc = 0;
        if (hw) {
            qrun_status st = qrun_session_sim_summary(sess, &r->sim);
            r->simulated = st == QRUN_OK;
            if (st == QRUN_E_UNSUPPORTED)
                rc = fail("%s (format %s)", qrun_context_errmsg(ctx), dtype);
        }
    }
    free(times);
    qrun_session_free(sess);
    qrun_model_free(q);
    return rc;
}

static void print_text(const bench_cli *c, const bench_result *res, int n) {
    printf("model: %s\nbackend: %s%s%s, %d warm-up + %d timed runs per format\n", c->model,
           c->backend, c->hw ? ", hw " : "", c->hw ? c->hw : "", c->warmup, c->iters);
    printf("%-12s %10s %10s %10s %10s %12s", "format", "min ms", "median ms", "p90 ms", "mean ms",
           "host inf/s");
    bool sim = false;
    for (int k = 0; k < n; k++)
        sim = sim || res[k].simulated;
    if (sim)
        printf(" %12s %14s %12s %9s", "sim lat us", "sim inf/s", "energy uJ", "power W");
    printf("\n");
    for (int k = 0; k < n; k++) {
        const bench_result *r = &res[k];
        printf("%-12s %10.3f %10.3f %10.3f %10.3f %12.1f", r->dtype, r->min_ms, r->median_ms,
               r->p90_ms, r->mean_ms, 1e3 / r->median_ms);
        if (r->simulated)
            printf(" %12.2f %14.1f %12.2f %9.2f", r->sim.latency_us, r->sim.throughput_ips,
                   r->sim.energy_uj, r->sim.average_w);
        printf("\n");
    }
}

static void print_json(const bench_cli *c, const bench_result *res, int n) {
    printf("{\"model\": ");
    cli_json_string(stdout, c->model);
    printf(", \"backend\": ");
    cli_json_string(stdout, c->backend);
    if (c->hw) {
        printf(", \"hw\": ");
        cli_json_string(stdout, c->hw);
    }
    printf(", \"warmup\": %d, \"iters\": %d, \"results\": [", c->warmup, c->iters);
    for (int k = 0; k < n; k++) {
        const bench_result *r = &res[k];
        printf("%s{\"dtype\": ", k ? ", " : "");
        cli_json_string(stdout, r->dtype);
        printf(", \"host_ms\": {\"min\": %.6g, \"median\": %.6g, \"p90\": %.6g, \"mean\": %.6g, "
               "\"max\": %.6g}, \"host_ips\": %.6g",
               r->min_ms, r->median_ms, r->p90_ms, r->mean_ms, r->max_ms, 1e3 / r->median_ms);
        if (r->simulated)
            printf(", \"latency_us\": %.6g, \"throughput_ips\": %.6g, \"energy_uj\": %.6g, "
                   "\"average_w\": %.6g, \"execution\": \"%s\"",
                   r->sim.latency_us, r->sim.throughput_ips, r->sim.energy_uj, r->sim.average_w,
                   r->sim.execution);
        printf("}");
    }
    printf("]}\n");
}

static int run_bench(qrun_context *ctx, bench_cli *c, const qrun_hw *hw) {
    char list[256];
    snprintf(list, sizeof list, "%s", c->dtypes ? c->dtypes : "auto");
    const char *formats[MAX_FORMATS];
    int n = 0;
    if (split_formats(list, formats, &n))
        return 1;
    qrun_model *m = NULL;
    if (qrun_model_load(ctx, c->model, &m))
        return fail("%s", qrun_context_errmsg(ctx));
    int n_in = qrun_model_input_count(m);
    qrun_tensor **ins = calloc((size_t)n_in + 1, sizeof *ins);
    bench_result res[MAX_FORMATS];
    int rc = ins ? make_inputs(ctx, c, m, ins) : fail("out of memory");
    for (int k = 0; k < n && !rc; k++) {
        if (!c->json)
            fprintf(stderr, "qrun: bench: %s (%d/%d)\n", formats[k], k + 1, n);
        rc = bench_format(ctx, c, m, ins, hw, formats[k], &res[k]);
    }
    if (!rc && c->json)
        print_json(c, res, n);
    else if (!rc)
        print_text(c, res, n);
    for (int i = 0; ins && i < n_in; i++)
        qrun_tensor_free(ins[i]);
    free(ins);
    qrun_model_free(m);
    return rc;
}

int qrun_bench_main(int argc, char **argv) {
    bench_cli c;
    if (parse_args(argc, argv, &c))
        return 1;
    qrun_options opts;
    qrun_options_init(&opts);
    opts.n_threads = c.threads;
    qrun_context *ctx = NULL;
    if (qrun_context_create(&opts, &ctx))
        return fail("cannot create a context (out of memory)");
    qrun_hw *hw = NULL;
    qrun_session_options so;
    qrun_session_options_init(&so);
    int rc = qrun_hw_option(ctx, c.hw, c.backend, c.sim, NULL, &hw, &so);
    if (!rc)
        rc = run_bench(ctx, &c, hw);
    qrun_hw_free(hw);
    qrun_context_free(ctx);
    return rc;
}
