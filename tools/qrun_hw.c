/* SPDX-License-Identifier: Apache-2.0 */
/* qrun hw: list and show accelerator hardware descriptions (presets or JSON files). */
#include "tools/qrun_hw.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

const char qrun_hw_usage_commands[] =
    "  qrun hw list                    list the built-in accelerator presets with peak INT8 TOPS\n"
    "  qrun hw show PRESET|FILE [--json]\n"
    "                                  every parameter of a hardware description, its unit and\n"
    "                                  source; --json: the full description plus peak_tops per\n"
    "                                  dtype (loadable again as FILE)\n";
const char qrun_hw_usage_options[] =
    "  --hw PRESET|FILE       accelerator description for --backend accel_sim (a preset from\n"
    "                         `qrun hw list` or a JSON file); loaded and validated\n"
    "  --sim MODE             with --backend accel_sim: timing (default) prices Conv, MatMul,\n"
    "                         Gemm and their integer/QLinear forms per node (cycles, energy)\n"
    "                         while cpu_ref kernels compute the values\n";

static const char k_hw_usage[] =
    "Usage:\n"
    "  qrun hw list                       presets: name, peak INT8 TOPS, description\n"
    "  qrun hw show PRESET|FILE [--json]  one description: summary, peak TOPS per dtype, every\n"
    "                                     parameter with unit and citation; --json prints it as\n"
    "                                     JSON (with \"peak_tops\" keyed by dtype) that\n"
    "                                     `qrun hw show FILE` and --hw FILE read back\n"
    "Peak TOPS = 2 x banks x PEs per bank x MACs per PE per cycle x clock (dense).\n";

static int with_context(int (*fn)(qrun_context *, int, char **), int argc, char **argv) {
    qrun_context *ctx = NULL;
    if (qrun_context_create(NULL, &ctx))
        return fail("cannot create a context (out of memory)");
    int rc = fn(ctx, argc, argv);
    qrun_context_free(ctx);
    return rc;
}

static int hw_list(qrun_context *ctx, int argc, char **argv) {
    if (argc > 2)
        return fail("hw list takes no arguments, got '%s'", argv[2]);
    printf("%-12s %12s  %s\n", "preset", "int8 TOPS", "description");
    for (int i = 0; i < qrun_hw_preset_count(); i++) {
        qrun_hw *hw = NULL;
        if (qrun_hw_load(ctx, qrun_hw_preset_name(i), &hw))
            return fail("%s", qrun_context_errmsg(ctx));
        double tops = 0;
        char peak[32] = "-";
        if (qrun_hw_peak_tops(hw, "int8", &tops) == QRUN_OK)
            snprintf(peak, sizeof peak, "%.1f", tops);
        printf("%-12s %12s  %s\n", qrun_hw_name(hw), peak, qrun_hw_description(hw));
        qrun_hw_free(hw);
    }
    return 0;
}

static int hw_show(qrun_context *ctx, int argc, char **argv) {
    const char *spec = NULL;
    bool json = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (argv[i][0] == '-' && argv[i][1])
            return fail("unknown option '%s' for hw show (see qrun hw --help)", argv[i]);
        else if (!spec)
            spec = argv[i];
        else
            return fail("hw show takes one PRESET or FILE, got also '%s'", argv[i]);
    }
    if (!spec)
        return fail("hw show needs a PRESET or FILE (presets: see qrun hw list)");
    qrun_hw *hw = NULL;
    if (qrun_hw_load(ctx, spec, &hw))
        return fail("%s", qrun_context_errmsg(ctx));
    const char *out = NULL;
    qrun_status s = json ? qrun_hw_to_json(hw, &out) : qrun_hw_to_text(hw, &out);
    int rc = s ? fail("%s", qrun_context_errmsg(ctx)) : 0;
    if (!s)
        printf("%s%s", out, json ? "\n" : "");
    qrun_hw_free(hw);
    return rc;
}

int qrun_hw_main(int argc, char **argv) {
    const char *sub = argc > 1 ? argv[1] : NULL;
    if (!sub || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        fputs(k_hw_usage, sub ? stdout : stderr);
        return sub ? 0 : 1;
    }
    if (strcmp(sub, "list") == 0)
        return with_context(hw_list, argc, argv);
    if (strcmp(sub, "show") == 0)
        return with_context(hw_show, argc, argv);
    return fail("unknown hw command '%s' (expected list or show; see qrun hw --help)", sub);
}

int qrun_hw_option(
    qrun_context *ctx, const char *spec, const char *backend, const char *sim, qrun_hw **hw) {
    *hw = NULL;
    bool accel = backend && strcmp(backend, "accel_sim") == 0;
    if (sim && strcmp(sim, "timing") != 0)
        return fail("--sim: unknown mode '%s' (available: timing)", sim);
    if (sim && !accel)
        return fail("--sim %s needs --backend accel_sim", sim);
    if (accel && !spec)
        return fail("--backend accel_sim needs --hw PRESET|FILE (presets: see qrun hw list)");
    if (spec && qrun_hw_load(ctx, spec, hw))
        return fail("--hw: %s", qrun_context_errmsg(ctx));
    if (spec && !accel)
        fprintf(stderr, "qrun: note: --hw %s is valid; it affects only --backend accel_sim\n",
                spec);
    return 0;
}

static void print_sim_json(FILE *f, const qrun_session *sess, const qrun_sim_summary *sum) {
    fprintf(f,
            ", \"sim\": {\"mode\": \"timing\", \"hw\": \"%s\", \"nodes_timed\": %d, "
            "\"macs\": %lld, \"cycles\": %.6g, \"time_us\": %.6g, \"energy_uj\": %.6g, "
            "\"effective_tops\": %.6g, \"average_w\": %.6g, \"nodes\": [",
            sum->hw, sum->n_nodes, (long long)sum->macs, sum->cycles, sum->time_us, sum->energy_uj,
            sum->effective_tops, sum->average_w);
    for (int i = 0; i < sum->n_nodes; i++) {
        qrun_sim_node nd;
        qrun_session_sim_node(sess, i, &nd);
        /* Node names come from the model file: escape them as JSON strings. */
        fprintf(f, "%s{\"name\": \"", i ? ", " : "");
        for (const char *p = nd.name; *p; p++) {
            unsigned char ch = (unsigned char)*p;
            if (ch == '"' || ch == '\\')
                fprintf(f, "\\%c", ch);
            else if (ch < 0x20)
                fprintf(f, "\\u%04x", ch);
            else
                fputc(ch, f);
        }
        fprintf(f,
                "\", \"op\": \"%s\", \"dtype\": \"%s\", \"mapping\": \"%s\", "
                "\"macs\": %lld, \"cycles\": %.6g, \"stall_cycles\": %.6g, "
                "\"time_us\": %.6g, \"utilization\": %.6g, \"energy_uj\": {",
                nd.op_type, nd.dtype, nd.mapping, (long long)nd.macs, nd.cycles, nd.stall_cycles,
                nd.time_us, nd.utilization);
        for (int k = 0; k < QRUN_SIM_ENERGY_KINDS; k++)
            fprintf(f, "%s\"%s\": %.6g", k ? ", " : "", qrun_sim_energy_name(k),
                    nd.energy_kind_uj[k]);
        fprintf(f, ", \"total\": %.6g}}", nd.energy_uj);
    }
    fprintf(f, "]}");
}

static void print_sim_text(FILE *f, const qrun_session *sess, const qrun_sim_summary *sum) {
    fprintf(f, "accel_sim timing on %s: %d node%s timed (other nodes ran on cpu_ref, untimed)\n",
            sum->hw, sum->n_nodes, sum->n_nodes == 1 ? "" : "s");
    fprintf(f, "  node,op,dtype,mapping,macs,cycles,stall_cycles,time_us,utilization,energy_uj\n");
    for (int i = 0; i < sum->n_nodes; i++) {
        qrun_sim_node nd;
        qrun_session_sim_node(sess, i, &nd);
        fprintf(f, "  %s,%s,%s,%s,%lld,%.0f,%.0f,%.4g,%.4f,%.4g\n", nd.name, nd.op_type, nd.dtype,
                nd.mapping, (long long)nd.macs, nd.cycles, nd.stall_cycles, nd.time_us,
                nd.utilization, nd.energy_uj);
    }
    fprintf(f,
            "  total: %lld MACs, %.0f cycles, %.4g us, %.4g uJ, %.4g TOPS effective, %.4g W "
            "average\n",
            (long long)sum->macs, sum->cycles, sum->time_us, sum->energy_uj, sum->effective_tops,
            sum->average_w);
}

void qrun_hw_print_sim(FILE *f, const qrun_session *sess, bool json) {
    qrun_sim_summary sum;
    if (qrun_session_sim_summary(sess, &sum) != QRUN_OK)
        return;
    if (json)
        print_sim_json(f, sess, &sum);
    else
        print_sim_text(f, sess, &sum);
}
