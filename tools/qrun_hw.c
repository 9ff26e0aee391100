/* SPDX-License-Identifier: Apache-2.0 */
/* qrun hw: list and show accelerator hardware descriptions (presets or JSON files). */
#include "tools/qrun_hw.h"

#include "tools/cli_util.h"

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
    "  --sim MODE             with --backend accel_sim: full (default) computes conv/matmul on\n"
    "                         the accelerator's datapaths (accumulators of --hw) and reports\n"
    "                         latency, throughput, energy, per-op cycles and the host/accel\n"
    "                         partition; timing reports the same without arithmetic or\n"
    "                         weight values\n"
    "                         (with --sim timing, --dtype FMT only sets the datatype every\n"
    "                         tensor is timed in: a float model is timed unquantized)\n";

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

int qrun_hw_option(qrun_context *ctx,
                   const char *spec,
                   const char *backend,
                   const char *sim,
                   const char *dtype,
                   qrun_hw **hw,
                   qrun_session_options *so) {
    *hw = NULL;
    bool accel = backend && strcmp(backend, "accel_sim") == 0;
    if (sim && strcmp(sim, "timing") != 0 && strcmp(sim, "full") != 0)
        return fail("--sim: unknown mode '%s' (available: full, timing)", sim);
    if (sim && !accel)
        return fail("--sim %s needs --backend accel_sim", sim);
    if (accel && !spec)
        return fail("--backend accel_sim needs --hw PRESET|FILE (presets: see qrun hw list)");
    bool timing = sim && strcmp(sim, "timing") == 0;
    /* With --sim timing, --dtype only picks the datapath (no quantization: the PTQ options are
     * not applied); otherwise it is the PTQ option and the session sees a quantized model. */
    if (timing && dtype && strcmp(dtype, "auto") != 0) {
        qrun_dtype dt = qrun_dtype_from_name(dtype);
        if (dt == QRUN_DTYPE_UNDEFINED)
            return fail("--dtype: unknown datatype '%s' (e.g. int8, fp8e4m3, fp8e3m4)", dtype);
        so->sim_dtype = dt;
    }
    so->sim = timing ? QRUN_SIM_TIMING : QRUN_SIM_FULL;
    if (spec && qrun_hw_load(ctx, spec, hw))
        return fail("--hw: %s", qrun_context_errmsg(ctx));
    if (spec && !accel)
        fprintf(stderr, "qrun: note: --hw %s is valid; it affects only --backend accel_sim\n",
                spec);
    return 0;
}

static void print_energy_json(FILE *f, const double *kinds, double total) {
    fprintf(f, "{");
    for (int k = 0; k < QRUN_SIM_ENERGY_KINDS; k++)
        fprintf(f, "%s\"%s\": %.6g", k ? ", " : "", qrun_sim_energy_name(k), kinds[k]);
    fprintf(f, ", \"total\": %.6g}", total);
}

static void print_op_json(FILE *f, const qrun_sim_node *nd) {
    fprintf(f, "{\"name\": ");
    cli_json_string(f, nd->name);
    fprintf(f,
            ", \"op\": \"%s\", \"placement\": \"%s\", \"dtype\": \"%s\", \"mapping\": \"%s\", "
            "\"accumulator\": \"%s\", "
            "\"banks\": %d, \"weights_streamed\": %s, \"macs\": %lld, \"cycles\": %.6g, "
            "\"compute_cycles\": %.6g, \"noc_stall_cycles\": %.6g, "
            "\"memory_stall_cycles\": %.6g, \"dispatch_cycles\": %.6g, \"time_us\": %.6g, "
            "\"host_link_us\": %.6g, \"start_us\": %.6g, \"latency_share_us\": %.6g, "
            "\"utilization\": %.6g, \"zero_fraction\": %.6g, "
            "\"bytes\": {\"sram\": %.6g, "
            "\"noc\": %.6g, \"offchip\": %.6g, \"host\": %.6g}, \"energy_uj\": ",
            nd->op_type, nd->placement, nd->dtype, nd->mapping, nd->accumulator, nd->banks,
            nd->weights_streamed ? "true" : "false", (long long)nd->macs, nd->cycles,
            nd->compute_cycles, nd->noc_stall_cycles, nd->memory_stall_cycles, nd->dispatch_cycles,
            nd->time_us, nd->host_link_us, nd->start_us, nd->latency_share_us, nd->utilization,
            nd->zero_fraction, nd->bytes_sram, nd->bytes_noc, nd->bytes_offchip, nd->bytes_host);
    print_energy_json(f, nd->energy_kind_uj, nd->energy_uj);
    fprintf(f, "}");
}

static void print_sim_json(FILE *f, const qrun_session *sess, const qrun_sim_summary *sum) {
    fprintf(f, ", \"latency_us\": %.6g, \"throughput_ips\": %.6g, \"energy_uj\": %.6g, \"ops\": [",
            sum->latency_us, sum->throughput_ips, sum->energy_uj);
    for (int i = 0; i < sum->n_nodes; i++) {
        qrun_sim_node nd;
        if (qrun_session_sim_node(sess, i, &nd) != QRUN_OK)
            continue;
        fprintf(f, "%s", i ? ", " : "");
        print_op_json(f, &nd);
    }
    fprintf(f,
            "], \"sim\": {\"mode\": \"%s\", \"hw\": \"%s\", \"execution\": \"%s\", "
            "\"partition\": {\"accel_nodes\": %d, \"fused_nodes\": %d, \"host_nodes\": %d, "
            "\"folded_constants\": %d, \"host_link_bytes\": %.6g, \"host_link_us\": %.6g}, "
            "\"banks_used\": %d, \"macs\": %lld, \"weight_bytes\": %.6g, \"sram_bytes\": %.6g, "
            "\"streamed_weight_bytes\": %.6g, \"latency_pipelined_us\": %.6g, "
            "\"latency_layer_by_layer_us\": %.6g, \"launch_us\": %.6g, \"average_w\": %.6g, "
            "\"effective_tops\": %.6g, "
            "\"energy_uj\": ",
            sum->mode, sum->hw, sum->execution, sum->n_accel, sum->n_fused, sum->n_host,
            sum->n_folded, sum->host_link_bytes, sum->host_link_us, sum->banks_used,
            (long long)sum->macs, sum->weight_bytes, sum->sram_bytes, sum->streamed_bytes,
            sum->latency_pipelined_us, sum->latency_layer_by_layer_us, sum->launch_us,
            sum->average_w, sum->effective_tops);
    print_energy_json(f, sum->energy_kind_uj, sum->energy_uj);
    fprintf(f, "}");
}

static void print_sim_text(FILE *f, const qrun_session *sess, const qrun_sim_summary *sum) {
    fprintf(f, "accel_sim %s on %s (%s)\n", sum->mode, sum->hw, sum->execution);
    fprintf(f, "  node,op,placement,dtype,mapping,accumulator,banks,macs,cycles,compute_cycles,"
               "noc_stall_cycles,memory_stall_cycles,dispatch_cycles,time_us,host_link_us,"
               "latency_share_us,utilization,energy_uj\n");
    for (int i = 0; i < sum->n_nodes; i++) {
        qrun_sim_node nd;
        if (qrun_session_sim_node(sess, i, &nd) != QRUN_OK)
            continue;
        fprintf(f,
                "  %s,%s,%s,%s,%s,%s,%d,%lld,%.0f,%.0f,%.0f,%.0f,%.0f,%.4g,%.4g,%.4g,%.4f,%.4g\n",
                nd.name, nd.op_type, nd.placement, nd.dtype, nd.mapping, nd.accumulator, nd.banks,
                (long long)nd.macs, nd.cycles, nd.compute_cycles, nd.noc_stall_cycles,
                nd.memory_stall_cycles, nd.dispatch_cycles, nd.time_us, nd.host_link_us,
                nd.latency_share_us, nd.utilization, nd.energy_uj);
    }
    fprintf(f,
            "  partition: accel: %d nodes (%d fused into row units), host: %d nodes, folded "
            "constants: %d, host-link bytes %.0f (%.4g us)\n",
            sum->n_accel, sum->n_fused, sum->n_host, sum->n_folded, sum->host_link_bytes,
            sum->host_link_us);
    fprintf(f,
            "  placement: %d banks, weights %.0f of %.0f SRAM bytes, %.0f bytes streamed from "
            "off-chip per inference\n",
            sum->banks_used, sum->weight_bytes, sum->sram_bytes, sum->streamed_bytes);
    fprintf(f,
            "  latency %.4g us (batch 1, launch %.4g us included; row pipelined %.4g us, layer "
            "by layer %.4g us), "
            "throughput %.4g inferences/s, energy %.4g uJ/inference, average power %.4g W, "
            "%lld MACs, %.4g TOPS effective\n",
            sum->latency_us, sum->launch_us, sum->latency_pipelined_us,
            sum->latency_layer_by_layer_us, sum->throughput_ips, sum->energy_uj, sum->average_w,
            (long long)sum->macs, sum->effective_tops);
    fprintf(f, "  energy uJ:");
    for (int k = 0; k < QRUN_SIM_ENERGY_KINDS; k++)
        fprintf(f, " %s %.4g", qrun_sim_energy_name(k), sum->energy_kind_uj[k]);
    fprintf(f, "\n");
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
