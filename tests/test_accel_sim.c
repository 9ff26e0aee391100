/* SPDX-License-Identifier: Apache-2.0 */
/*
 * accel_sim timing mode: the closed-form model against hand-computed cycles
 * and energy on the presets, and the backend on real quantized models
 * (values identical to cpu_ref, every MAC-heavy node priced).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "backends/accel_sim/timing.h"
#include "runtime/alloc.h"
#include "runtime/dtype.h"
#include "runtime/fp8_math.h"
#include "runtime/quant.h"
#include "tests/support/datasets.h"
#include "tests/support/graph_builder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MODELS QRUN_SHARED_DIR "/models"

static void assert_near(double got, double want, double tol) {
    if (fabs(got - want) > tol)
        fail_msg("got %.10g, want %.10g (tolerance %g)", got, want, tol);
}

static void load_hw(const char *name, hw_config *hw) {
    qrun_err err;
    if (hw_config_load(name, qrun_allocator_default(), hw, &err) != QRUN_OK)
        fail_msg("%s", err.msg);
}

/* edge_small: 16 banks x 4 rows x 64 PEs = 4096 PEs, 64 rows, 800 MHz, NoC 4 x 25.6 + 4 x 25.6
 * = 204.8 GB/s, dispatch 100 cycles, reduce 1 cycle per level (6 levels for 64 PEs), mapping
 * efficiency 0.6 (MAC compute cycles are the closed form / 0.6). */
#define EFF 0.6

/* A small GEMM (1 x 256 by 256 x 128, int8 in, int8 out): splitting K over a row wins. */
static void test_gemm_row_split(void **state) {
    (void)state;
    hw_config hw;
    load_hw("edge_small", &hw);
    accel_work w = {.outputs = 128,
                    .k = 256,
                    .a_dtype = QRUN_DTYPE_INT8,
                    .w_dtype = QRUN_DTYPE_INT8,
                    .in_bytes = 256,
                    .weight_bytes = 256 * 128,
                    .out_bytes = 128,
                    .requant = true};
    accel_cost c;
    qrun_err err;
    assert_int_equal(accel_sim_cost(&hw, &w, &c, &err), QRUN_OK);
    /* pe_output: 1 wave x 256 + 63 rotator = 319; row_split_k: 2 waves x (4 + 6) = 20,
     * / 0.6 = 33.33 at the mapping efficiency. */
    assert_near(hw.mapping_efficiency, EFF, 0);
    assert_int_equal(c.mapping, ACCEL_MAP_ROW_SPLIT_K);
    assert_int_equal(c.waves, 2);
    assert_near(c.compute_cycles, 20 / EFF, 1e-9);
    assert_near(c.rotator_cycles, 0, 0);
    assert_near(c.requant_cycles, 2, 0); /* 128 outputs over 64 rows */
    assert_near(c.noc_cycles, 384 / 204.8e9 * 0.8e9, 1e-9);
    double cyc = 100 + 20 / EFF + 2;
    assert_near(c.cycles, cyc, 1e-9);
    assert_near(c.stall_cycles, 0, 0);
    assert_near(c.seconds, cyc / 0.8e9, 1e-18);
    assert_int_equal(c.macs, 32768);
    assert_near(c.utilization, 32768.0 / (cyc * 4096), 1e-12);
    /* Energy, pJ: MAC 0.115; 2 operand bytes per MAC read at 0.217 plus 384 B written;
     * NoC 384 B x (4 + 4) / 3 hops x 0.36; requant 128 x 1.3; static 0.2 W x time. */
    assert_near(c.energy_pj[ACCEL_E_MAC], 32768 * 0.115, 1e-6);
    assert_near(c.energy_pj[ACCEL_E_SRAM], 32768 * 2 * 0.217 + 384 * 0.217, 1e-6);
    assert_near(c.energy_pj[ACCEL_E_ROTATOR], 0, 0);
    assert_near(c.energy_pj[ACCEL_E_NOC], 384 * 8 / 3.0 * 0.36, 1e-6);
    assert_near(c.energy_pj[ACCEL_E_OFFCHIP], 0, 0);
    assert_near(c.energy_pj[ACCEL_E_REQUANT], 128 * 1.3, 1e-9);
    assert_near(c.energy_pj[ACCEL_E_STATIC], 0.2 * cyc / 0.8e9 * 1e12, 1e-6);
    double sum = 0;
    for (int k = 0; k < ACCEL_E_COUNT; k++)
        sum += c.energy_pj[k];
    assert_near(c.energy_pj_total, sum, 1e-9);
    hw_config_release(&hw);
}

/* Many short dot products (a depthwise 3x3 over 64 x 56 x 56): one output per PE wins. */
static void test_depthwise_pe_output(void **state) {
    (void)state;
    hw_config hw;
    load_hw("edge_small", &hw);
    accel_work w = {.outputs = 64 * 56 * 56,
                    .k = 9,
                    .a_dtype = QRUN_DTYPE_UINT8,
                    .w_dtype = QRUN_DTYPE_INT8,
                    .in_bytes = 64 * 56 * 56,
                    .weight_bytes = 64 * 9,
                    .out_bytes = 4 * 64 * 56 * 56, /* int32 out: no requant */
                    .requant = false};
    accel_cost c;
    qrun_err err;
    assert_int_equal(accel_sim_cost(&hw, &w, &c, &err), QRUN_OK);
    /* pe_output: ceil(200704 / 4096) = 49 waves x 9 (/ 0.6 = 735) + 49 x 63 = 3822;
     * row_split_k: 3136 waves x (1 + 6) = 21952. */
    assert_int_equal(c.mapping, ACCEL_MAP_PE_OUTPUT);
    assert_int_equal(c.waves, 49);
    assert_near(c.compute_cycles, 441 / EFF, 1e-9);
    assert_near(c.rotator_cycles, 3087, 0);
    assert_near(c.noc_cycles, 5 * 200704 / 204.8e9 * 0.8e9, 1e-6); /* 3920 */
    assert_near(c.cycles, 100 + 3920, 1e-6);                       /* NoC-bound after all */
    assert_near(c.stall_cycles, 3920 - 3822, 1e-6);
    assert_near(c.energy_pj[ACCEL_E_ROTATOR], 200704.0 * 9 * 1 * 0.041, 1e-6);
    assert_near(c.energy_pj[ACCEL_E_REQUANT], 0, 0);
    hw_config_release(&hw);
}

/* Weights beyond on-chip SRAM: streamed on speedai240, refused on runai200 (no DRAM). */
static void test_weight_spill(void **state) {
    (void)state;
    accel_work w = {.outputs = 1000,
                    .k = 300000,
                    .a_dtype = QRUN_DTYPE_INT8,
                    .w_dtype = QRUN_DTYPE_INT8,
                    .in_bytes = 300000,
                    .weight_bytes = 300000000,
                    .out_bytes = 1000,
                    .requant = true};
    hw_config hw;
    accel_cost c;
    qrun_err err = {{0}};
    load_hw("runai200", &hw);
    assert_int_equal(accel_sim_cost(&hw, &w, &c, &err), QRUN_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "300000000 bytes exceed"));
    assert_non_null(strstr(err.msg, "no off-chip memory"));
    hw_config_release(&hw);

    load_hw("speedai240", &hw);
    assert_int_equal(accel_sim_cost(&hw, &w, &c, &err), QRUN_OK);
    /* 3e8 B / 100 GB/s + 100 ns, at 1.35 GHz. */
    assert_near(c.offchip_cycles, (3e8 / 100e9 + 100e-9) * 1.35e9, 1e-3);
    assert_near(c.cycles, 100 + c.offchip_cycles, 1e-3);
    assert_near(c.energy_pj[ACCEL_E_OFFCHIP], 3e8 * 40, 1e-3);
    hw_config_release(&hw);
}

/* The slower operand sets the rate; a dtype the chip lacks is refused by name. */
static void test_dtype_rates(void **state) {
    (void)state;
    hw_config hw;
    accel_cost c;
    qrun_err err = {{0}};
    load_hw("speedai240", &hw);
    accel_work w = {.outputs = 373248,
                    .k = 64,
                    .a_dtype = QRUN_DTYPE_FLOAT8E3M4,
                    .w_dtype = QRUN_DTYPE_FLOAT8E3M4,
                    .in_bytes = 64,
                    .weight_bytes = 64,
                    .out_bytes = 64,
                    .requant = false};
    assert_int_equal(accel_sim_cost(&hw, &w, &c, &err), QRUN_OK);
    assert_near(c.rate, 2, 0);
    /* pe_output: 1 wave x 32 + 63 = 95; row_split_k: 64 waves x (1 + 6) = 448; speedai240's
     * mapping efficiency 0.6 divides the winner's compute. */
    assert_int_equal(c.mapping, ACCEL_MAP_PE_OUTPUT);
    assert_near(c.compute_cycles, 32 / EFF, 1e-9);
    w.w_dtype = QRUN_DTYPE_INT8;
    assert_int_equal(accel_sim_cost(&hw, &w, &c, &err), QRUN_OK);
    assert_near(c.rate, 1, 0);
    assert_near(c.compute_cycles, 64 / EFF, 1e-9);
    hw_config_release(&hw);

    load_hw("runai200", &hw);
    assert_int_equal(accel_sim_cost(&hw, &w, &c, &err), QRUN_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "no MAC rate for float8e3m4"));
    hw_config_release(&hw);
}

/* Row-unit and data-movement ops on edge_small (4096 PEs, 204.8 GB/s of NoC, 800 MHz):
 * an Add of two int8 tensors of 100000 elements on 4 of the 16 banks, a Concat moving 8192
 * bytes, a Reshape. */
static void test_row_ops(void **state) {
    (void)state;
    hw_config hw;
    load_hw("edge_small", &hw);
    qrun_err err;
    accel_cost c;
    /* Add: one operand in place, the other (100000 B) over the op's quarter of the network;
     * 100000 ops over 1024 PEs = 98 passes; 100000 B / 51.2 GB/s = 1562.5 cycles: NoC-bound. */
    accel_work add = {.kind = ACCEL_WORK_SIMD,
                      .ops = 100000,
                      .banks = 4,
                      .outputs = 100000,
                      .a_dtype = QRUN_DTYPE_INT8,
                      .w_dtype = QRUN_DTYPE_INT8,
                      .in_bytes = 100000,
                      .requant = true};
    assert_int_equal(accel_sim_cost(&hw, &add, &c, &err), QRUN_OK);
    assert_int_equal(c.banks, 4);
    assert_near(c.compute_cycles, 98, 0);
    assert_near(c.requant_cycles, ceil(100000 / 16.0), 0); /* 16 rows, 1 element per cycle */
    assert_near(c.noc_cycles, 100000 / 51.2e9 * 0.8e9, 1e-9);
    assert_near(c.cycles, 100 + 98 + 6250, 1e-9); /* requant-bound: 6348 > 1562.5 */
    assert_near(c.energy_pj[ACCEL_E_MAC], 100000 * 0.115, 1e-6);
    /* SRAM: reads 100000 ops x 1 B + the 100000 B that arrived, writes 100000 outputs. */
    assert_near(c.bytes_sram, 300000, 0);
    assert_near(c.energy_pj[ACCEL_E_SRAM], 300000 * 0.217, 1e-6);
    assert_near(c.energy_pj[ACCEL_E_REQUANT], 100000 * 1.3, 1e-6);
    assert_near(c.energy_pj[ACCEL_E_STATIC], 0.2 * c.seconds * 1e12 * 4 / 16, 1e-9);
    /* Concat: 8192 B over the whole network, no arithmetic. */
    accel_work cat = {.kind = ACCEL_WORK_MOVE,
                      .outputs = 8192,
                      .a_dtype = QRUN_DTYPE_INT8,
                      .w_dtype = QRUN_DTYPE_INT8,
                      .in_bytes = 8192};
    assert_int_equal(accel_sim_cost(&hw, &cat, &c, &err), QRUN_OK);
    assert_near(c.compute_cycles, 0, 0);
    assert_near(c.cycles, 100 + 8192 / 204.8e9 * 0.8e9, 1e-9);
    assert_near(c.energy_pj[ACCEL_E_MAC], 0, 0);
    assert_near(c.bytes_noc, 8192, 0);
    /* Reshape: free. */
    accel_work view = {.kind = ACCEL_WORK_VIEW,
                       .outputs = 8192,
                       .a_dtype = QRUN_DTYPE_INT8,
                       .w_dtype = QRUN_DTYPE_INT8};
    assert_int_equal(accel_sim_cost(&hw, &view, &c, &err), QRUN_OK);
    assert_near(c.cycles, 0, 0);
    assert_near(c.energy_pj_total, 0, 0);
    hw_config_release(&hw);
}

/* Tile quantization and per-row dispatch on edge_small (64 rows of 64 PEs): 32 output channels
 * fill half a row, so pe_output needs one row step per position where 64 channels would share
 * it; a pipeline stage dispatches one kernel per output row. */
static void test_channel_tiles_and_row_dispatch(void **state) {
    (void)state;
    hw_config hw;
    load_hw("edge_small", &hw);
    qrun_err err;
    accel_cost c;
    /* M = 1024 positions x N = 32 channels, K = 9 (a 3x3 depthwise-like op). */
    accel_work w = {.outputs = 1024 * 32,
                    .k = 9,
                    .n = 32,
                    .out_rows = 32,
                    .a_dtype = QRUN_DTYPE_INT8,
                    .w_dtype = QRUN_DTYPE_INT8,
                    .weight_bytes = 32 * 9};
    assert_int_equal(accel_sim_cost(&hw, &w, &c, &err), QRUN_OK);
    /* pe_output: ceil(32 / 64) = 1 tile x 1024 positions = 1024 row steps over 64 rows = 16
     * waves x 9 cycles / 0.6 = 240, rotator 16 x 63 = 1008; row_split_k: 32768 / 64 = 512
     * waves x (1 + 6) = 3584. */
    assert_int_equal(c.mapping, ACCEL_MAP_PE_OUTPUT);
    assert_int_equal(c.waves, 16);
    assert_near(c.compute_cycles, 16 * 9 / EFF, 1e-9);
    assert_near(c.rotator_cycles, 16 * 63, 0);
    assert_near(c.dispatch_cycles, 100, 0); /* layer by layer: one kernel */
    /* Without the channel count the outputs would pack whole rows: 32768 / 4096 = 8 waves. */
    w.n = 0;
    assert_int_equal(accel_sim_cost(&hw, &w, &c, &err), QRUN_OK);
    assert_int_equal(c.waves, 8);
    /* A row-pipelined stage: one kernel per output row, 32 x 100 cycles. */
    w.n = 32;
    w.row_steps = true;
    assert_int_equal(accel_sim_cost(&hw, &w, &c, &err), QRUN_OK);
    assert_near(c.dispatch_cycles, 3200, 0);
    assert_near(c.cycles, 3200 + 16 * 9 / EFF + 16 * 63, 1e-9);
    hw_config_release(&hw);
}

/* ---- the backend on real models ------------------------------------------ */

typedef struct run_result {
    qrun_tensor *out;
    char hw[64]; /* the summary's hw name, copied: it lives as long as the session */
    int n_sim;
    qrun_sim_node first;      /* the first record with MACs */
    char first_acc[32];       /* its accumulator, copied: the string lives as long as the session */
    double max_zero_fraction; /* over the MAC records */
    double node_seconds, node_host_us, node_host_bytes, node_pj; /* sums over the records */
    double node_share_us, node_max_us; /* sum of latency shares, longest node time */
    qrun_sim_summary sum;
} run_result;

/* Run model on backend (with hw when given) with the inputs in dir (NULL: a fixed pattern);
 * keep output 0 and the report. */
static qrun_status run_model_opts(qrun_context *ctx,
                                  const qrun_model *m,
                                  const qrun_session_options *opts,
                                  const char *dir,
                                  run_result *r) {
    memset(r, 0, sizeof *r);
    qrun_session_options so = *opts;
    qrun_session *sess = NULL;
    qrun_status s = qrun_session_create(ctx, m, &so, &sess);
    if (s)
        return s;
    int n_in = qrun_model_input_count(m);
    qrun_tensor *ins[8] = {0};
    for (int i = 0; i < n_in && dir; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/input_%d.pb", dir, i);
        assert_int_equal(qrun_tensor_load_file(ctx, p, &ins[i]), QRUN_OK);
    }
    for (int i = 0; i < n_in && !dir; i++) {
        qrun_value_info vi;
        qrun_model_input_info(m, i, &vi);
        int64_t dims[QRUN_MAX_RANK];
        for (int d = 0; d < vi.rank; d++)
            dims[d] = vi.dims[d] > 0 ? vi.dims[d] : 1;
        assert_int_equal(qrun_tensor_create(ctx, vi.dtype, vi.rank, dims, NULL, &ins[i]), QRUN_OK);
        for (int64_t k = 0; k < qrun_tensor_numel(ins[i]); k++)
            qrun_tensor_set_f64(ins[i], k, (double)(k % 17) / 17.0 - 0.4);
    }
    qrun_tensor *outs[8] = {0};
    int n_out = qrun_model_output_count(m);
    s = qrun_session_run(sess, (const qrun_tensor *const *)ins, n_in, outs, n_out);
    if (!s) {
        r->out = outs[0];
        for (int j = 1; j < n_out; j++)
            qrun_tensor_free(outs[j]);
        r->n_sim = qrun_session_sim_node_count(sess);
        for (int i = r->n_sim - 1; i >= 0; i--) {
            qrun_sim_node nd;
            assert_int_equal(qrun_session_sim_node(sess, i, &nd), QRUN_OK);
            if (nd.macs > 0 && nd.zero_fraction > r->max_zero_fraction)
                r->max_zero_fraction = nd.zero_fraction;
            if (nd.macs > 0) {
                r->first = nd;
                snprintf(r->first_acc, sizeof r->first_acc, "%s", nd.accumulator);
                r->first.accumulator = NULL;
            }
            r->node_seconds += nd.time_us * 1e-6;
            r->node_share_us += nd.latency_share_us;
            r->node_max_us = fmax(r->node_max_us, nd.time_us);
            r->node_host_us += nd.host_link_us;
            r->node_host_bytes += nd.bytes_host;
            r->node_pj += (nd.energy_uj - nd.energy_kind_uj[6]) * 1e6; /* without static */
        }
        if (qrun_session_sim_summary(sess, &r->sum) != QRUN_OK)
            r->sum.n_nodes = -1;
        else
            snprintf(r->hw, sizeof r->hw, "%s", r->sum.hw);
        r->sum.hw = NULL;
    }
    for (int i = 0; i < n_in; i++)
        qrun_tensor_free(ins[i]);
    qrun_session_free(sess);
    return s;
}

static qrun_status run_model(qrun_context *ctx,
                             const qrun_model *m,
                             const char *backend,
                             const qrun_hw *hw,
                             const char *dir,
                             run_result *r) {
    qrun_session_options so;
    qrun_session_options_init(&so);
    so.backend = backend;
    so.hw = hw;
    return run_model_opts(ctx, m, &so, dir, r);
}

/* The model figures agree with the records. The latency is the kept schedule's, and the
 * records' latency shares (critical path, host link included) sum to it. The host link total
 * is the records' host-link time less the launch (carried by the first crossing). Layer by
 * layer: latency = node times + host link + launch, throughput = 1 / (latency - launch).
 * Pipelined: throughput = 1 / max(slowest node, host link). Energy = dynamic + (static +
 * board power) / rate. */
static void assert_consistent(const run_result *r, double static_w) {
    const qrun_sim_summary *s = &r->sum;
    bool pipelined = strcmp(s->execution, "layer_pipelined") == 0;
    double kept = pipelined ? s->latency_pipelined_us : s->latency_layer_by_layer_us;
    assert_near(s->latency_us, kept, 1e-9 * kept);
    assert_near(r->node_share_us, s->latency_us, 1e-6 * s->latency_us);
    double launch = s->host_link_bytes > 0 ? s->launch_us : 0;
    assert_near(s->host_link_us + launch, r->node_host_us, 1e-9 + 1e-9 * r->node_host_us);
    assert_near(s->host_link_bytes, r->node_host_bytes, 1e-6);
    if (!pipelined) {
        assert_near(kept, r->node_seconds * 1e6 + s->host_link_us + launch, 1e-6 * kept);
        assert_near(s->throughput_ips * (kept - launch) * 1e-6, 1, 1e-9);
    } else {
        assert_near(1 / s->throughput_ips, fmax(r->node_max_us, s->host_link_us) * 1e-6,
                    1e-9 / s->throughput_ips);
        assert_true(s->latency_us >= r->node_max_us); /* at least one full stage */
    }
    double want = r->node_pj * 1e-6 + static_w / s->throughput_ips * 1e6;
    assert_near(s->energy_uj, want, 1e-6 * want);
    assert_near(s->average_w, s->energy_uj * 1e-6 * s->throughput_ips, 1e-9 * s->average_w);
}

static void assert_same_values(const qrun_tensor *a, const qrun_tensor *b) {
    assert_int_equal(qrun_tensor_nbytes(a), qrun_tensor_nbytes(b));
    assert_memory_equal(qrun_tensor_data_const(a), qrun_tensor_data_const(b),
                        qrun_tensor_nbytes(a));
}

/* mnist with ConvInteger/MatMulInteger (uint8) on edge_small: the three MAC nodes and the
 * first MaxPool compute on the accelerator with cpu_ref's numbers; the float glue (Cast, Mul,
 * Add, Relu, QuantizeLinear) falls back to the host, and the values crossing are charged. */
static void test_backend_mnist_integer(void **state) {
    (void)state;
    const char *path = MODELS "/int8/integer/mnist_convinteger_matmulinteger/model_quantized.onnx";
    if (access(path, R_OK) != 0)
        skip();
    qrun_context *ctx = NULL;
    qrun_model *m = NULL;
    qrun_hw *hw = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    assert_int_equal(qrun_model_load(ctx, path, &m), QRUN_OK);
    assert_int_equal(qrun_hw_load(ctx, "edge_small", &hw), QRUN_OK);
    run_result ref, sim;
    assert_int_equal(run_model(ctx, m, "cpu_ref", NULL, NULL, &ref), QRUN_OK);
    assert_int_equal(ref.n_sim, 0);
    assert_int_equal(ref.sum.n_nodes, -1); /* no report without accel_sim */
    if (run_model(ctx, m, "accel_sim", hw, NULL, &sim) != QRUN_OK)
        fail_msg("%s", qrun_context_errmsg(ctx));
    assert_same_values(ref.out, sim.out);
    assert_string_equal(sim.hw, "edge_small");
    assert_string_equal(sim.sum.mode, "full");
    assert_int_equal(sim.sum.n_nodes, 20); /* 25 nodes, 5 folded constants */
    assert_int_equal(sim.sum.n_folded, 5);
    assert_int_equal(sim.sum.n_accel, 5); /* 2 ConvInteger, MatMulInteger, MaxPool, Reshape */
    assert_int_equal(sim.sum.n_host, 15);
    assert_int_equal(sim.sum.macs, 786560); /* qrun info's MAC count for this model */
    assert_string_equal(sim.sum.execution, "layer_pipelined"); /* 5960 weight bytes */
    /* Conv 1: 8 x 28 x 28 outputs of K = 25 (5x5x1), uint8 x uint8, int32 out. */
    assert_string_equal(sim.first.op_type, "ConvInteger");
    assert_string_equal(sim.first.placement, "accel");
    assert_string_equal(sim.first.dtype, "uint8");
    assert_string_equal(sim.first_acc, "int32");
    /* edge_small has no zero-detect: every MAC costs its energy (0.115 pJ). */
    assert_true(sim.first.zero_fraction >= 0);
    assert_near(sim.first.energy_kind_uj[0], 6272 * 25 * 0.115 * 1e-6, 1e-12);
    assert_int_equal(sim.first.macs, 6272 * 25);
    assert_true(sim.first.banks >= 1 && sim.first.banks <= 16);
    /* Its input (the host's QuantizeLinear output, 784 bytes) crossed the host link. */
    assert_near(sim.first.bytes_host, 784, 0);
    assert_true(sim.sum.host_link_bytes > 784);
    assert_consistent(&sim, 0.2);
    qrun_tensor_free(ref.out);
    qrun_tensor_free(sim.out);

    /* accel_sim needs a description. */
    assert_int_equal(run_model(ctx, m, "accel_sim", NULL, NULL, &sim), QRUN_E_ARG);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "needs a hardware description"));
    qrun_hw_free(hw);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

/* An ONNX Runtime QOperator model (uint8 activations, int8 weights): the 9 QLinearConv and the
 * QLinearMatMul are timed on speedai240 and the outputs equal cpu_ref's. */
static void test_backend_qoperator_model(void **state) {
    (void)state;
    const char *path = MODELS "/int8/qoperator/ks_quantized_int8.onnx";
    if (access(path, R_OK) != 0)
        skip();
    qrun_context *ctx = NULL;
    qrun_model *m = NULL;
    qrun_hw *hw = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    assert_int_equal(qrun_model_load(ctx, path, &m), QRUN_OK);
    assert_int_equal(qrun_hw_load(ctx, "speedai240", &hw), QRUN_OK);
    run_result ref, sim;
    assert_int_equal(run_model(ctx, m, "cpu_ref", NULL, NULL, &ref), QRUN_OK);
    if (run_model(ctx, m, "accel_sim", hw, NULL, &sim) != QRUN_OK)
        fail_msg("%s", qrun_context_errmsg(ctx));
    assert_same_values(ref.out, sim.out);
    assert_int_equal(sim.sum.macs, 1699840 + 768); /* qrun info: QLinearConv + QLinearMatMul */
    assert_string_equal(sim.first.op_type, "QLinearConv");
    assert_string_equal(sim.first.dtype, "uint8");
    assert_true(sim.first.cycles >= 100); /* each pays the controller dispatch */
    /* speedai240 has zero-detect: the run measured the products with a zero operand and the
     * MAC energy counts only the others (0.03 pJ each for uint8 x int8). */
    assert_true(sim.first.zero_fraction >= 0 && sim.first.zero_fraction <= 1);
    assert_true(sim.max_zero_fraction > 0.1); /* ReLU'd activations at their zero point */
    assert_near(sim.first.energy_kind_uj[0],
                (double)sim.first.macs * 0.03 * (1 - sim.first.zero_fraction) * 1e-6, 1e-12);
    /* ReduceMean, QuantizeLinear and DequantizeLinear have no cost basis: host. */
    assert_true(sim.sum.n_host >= 4);
    assert_true(sim.sum.host_link_bytes > 0);
    assert_true(sim.sum.effective_tops > 0 && sim.sum.effective_tops < 1007.8);
    /* chip static + board .. chip max + board */
    assert_true(sim.sum.average_w > 3.5 + 46.6 && sim.sum.average_w < 66 + 46.6);
    assert_consistent(&sim, 3.5 + 46.6);
    qrun_tensor_free(ref.out);
    qrun_tensor_free(sim.out);
    qrun_hw_free(hw);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

/* A float model: the chips have no float32 MAC rate, so every node runs on cpu_ref. */
static void test_backend_float_falls_back(void **state) {
    (void)state;
    const char *path = QRUN_SOURCE_DIR "/examples/mnist-8/model.onnx";
    qrun_context *ctx = NULL;
    qrun_model *m = NULL;
    qrun_hw *hw = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    assert_int_equal(qrun_model_load(ctx, path, &m), QRUN_OK);
    assert_int_equal(qrun_hw_load(ctx, "runai200", &hw), QRUN_OK);
    run_result ref, sim;
    assert_int_equal(run_model(ctx, m, "cpu_ref", NULL, NULL, &ref), QRUN_OK);
    assert_int_equal(run_model(ctx, m, "accel_sim", hw, NULL, &sim), QRUN_OK);
    assert_same_values(ref.out, sim.out);
    assert_int_equal(sim.sum.n_accel, 0);
    assert_int_equal(sim.sum.n_host, sim.sum.n_nodes);
    assert_near(sim.sum.host_link_bytes, 0, 0); /* nothing crosses */
    assert_string_equal(sim.hw, "runai200");
    qrun_tensor_free(ref.out);
    qrun_tensor_free(sim.out);
    qrun_hw_free(hw);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

/* An ONNX node test case: its model, test_data_set_0 folder (into dir) and expected output 0. */
static void load_node_case(qrun_context *ctx,
                           const char *root,
                           const char *name,
                           char *dir,
                           size_t dir_cap,
                           qrun_model **m,
                           qrun_tensor **want) {
    char model[512], want_path[600];
    snprintf(model, sizeof model, "%s/%s/model.onnx", root, name);
    snprintf(dir, dir_cap, "%s/%s/test_data_set_0", root, name);
    snprintf(want_path, sizeof want_path, "%s/output_0.pb", dir);
    assert_int_equal(qrun_model_load(ctx, model, m), QRUN_OK);
    assert_int_equal(qrun_tensor_load_file(ctx, want_path, want), QRUN_OK);
}

/*
 * The ONNX backend node tests of the integer and QLinear MAC ops (Debian libonnx-testdata):
 * on edge_small each runs as one accel_sim node on the accelerator's datapath whose output equals
 * the expected one.
 */
static void test_backend_onnx_node_tests(void **state) {
    (void)state;
    static const char *const cases[] = {"test_qlinearconv", "test_qlinearmatmul_2D",
                                        "test_qlinearmatmul_3D", "test_convinteger_with_padding",
                                        "test_matmulinteger"};
    /* Output elements x reduction length: 7x7 x 1; 2x3 x 4; 2x2x3 x 4; 4x4 (pads 1) x 2x2; 4x2 x 3.
     */
    static const int64_t macs[] = {49, 24, 48, 64, 24};
    /* test_qlinearmatmul_3D multiplies batches of B matrices: not a weight-stationary layout the
     * datapath maps, so it runs on the host (with the same numbers). */
    static const int on_accel[] = {1, 1, 0, 1, 1};
    const char *root = "/usr/share/libonnx-testdata/data/node";
    if (access(root, R_OK) != 0)
        skip();
    qrun_context *ctx = NULL;
    qrun_hw *hw = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    assert_int_equal(qrun_hw_load(ctx, "edge_small", &hw), QRUN_OK);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char dir[512];
        qrun_model *m = NULL;
        qrun_tensor *want = NULL;
        load_node_case(ctx, root, cases[c], dir, sizeof dir, &m, &want);
        run_result sim;
        if (run_model(ctx, m, "accel_sim", hw, dir, &sim) != QRUN_OK)
            fail_msg("%s: %s", cases[c], qrun_context_errmsg(ctx));
        assert_same_values(want, sim.out);
        if (sim.n_sim != 1 || sim.sum.n_accel != on_accel[c])
            fail_msg("%s: %d records, %d on the accelerator", cases[c], sim.n_sim, sim.sum.n_accel);
        if (!on_accel[c]) {
            qrun_tensor_free(sim.out);
            qrun_tensor_free(want);
            qrun_model_free(m);
            continue;
        }
        assert_int_equal(sim.first.macs, macs[c]);
        assert_true(sim.first.cycles >= 100 + sim.first.compute_cycles);
        assert_true(sim.first.utilization > 0 && sim.first.utilization <= 1);
        qrun_tensor_free(sim.out);
        qrun_tensor_free(want);
        qrun_model_free(m);
    }
    qrun_hw_free(hw);
    qrun_context_free(ctx);
}

/* ---- hardware variants, built models ---------------------------------------- */

/* Preset `base` as JSON with json[from, to) replaced by `text`, written under /tmp and loaded. */
static qrun_hw *hw_spliced(qrun_context *ctx,
                           const char *base,
                           const char *(*span)(const char *json, const char **to, const void *arg),
                           const void *arg,
                           const char *text) {
    qrun_hw *hw = NULL;
    const char *json = NULL;
    assert_int_equal(qrun_hw_load(ctx, base, &hw), QRUN_OK);
    assert_int_equal(qrun_hw_to_json(hw, &json), QRUN_OK);
    const char *to = NULL, *from = span(json, &to, arg);
    assert_non_null(from);
    assert_non_null(to);
    char path[128];
    snprintf(path, sizeof path, "/tmp/qrun_test_accel_%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%.*s%s%s", (int)(from - json), json, text, to);
    fclose(f);
    qrun_hw_free(hw);
    hw = NULL;
    if (qrun_hw_load(ctx, path, &hw) != QRUN_OK)
        fail_msg("%s", qrun_context_errmsg(ctx));
    unlink(path);
    return hw;
}

/* The accumulator object of dtypes.<arg>: from its key to its closing brace. */
static const char *accumulator_span(const char *json, const char **to, const void *arg) {
    char want[64];
    snprintf(want, sizeof want, "\"%s\":", (const char *)arg);
    const char *at = strstr(json, want);
    const char *acc = at ? strstr(at, "\"accumulator\":") : NULL;
    *to = acc ? strchr(acc, '}') : NULL;
    return acc;
}

/* The number after the first occurrence of key arg ("\"name\":"). */
static const char *number_span(const char *json, const char **to, const void *arg) {
    const char *at = strstr(json, (const char *)arg);
    if (!at)
        return NULL;
    const char *val = at + strlen((const char *)arg);
    *to = val + strspn(val, " \t0123456789.eE+-");
    return val;
}

/*
 * A copy of preset `base` whose dtypes.<key>.accumulator is {kind, bits}: the accumulator is the
 * only difference.
 */
static qrun_hw *hw_with_accumulator(
    qrun_context *ctx, const char *base, const char *key, const char *kind, int bits) {
    char text[96];
    snprintf(text, sizeof text, "\"accumulator\": {\"kind\": \"%s\", \"bits\": %d", kind, bits);
    return hw_spliced(ctx, base, accumulator_span, key, text);
}

/* A copy of preset `base` with one number replaced (key as "\"name\":", its first occurrence). */
static qrun_hw *hw_with_number(qrun_context *ctx, const char *base, const char *key, double v) {
    char text[64];
    snprintf(text, sizeof text, " %.17g", v);
    return hw_spliced(ctx, base, number_span, key, text);
}

static qrun_model *load_built(qrun_context *ctx, gbuild *b) {
    size_t n = 0;
    uint8_t *buf = gb_pack(b, &n);
    qrun_model *m = NULL;
    if (qrun_model_load_bytes(ctx, buf, n, NULL, &m))
        fail_msg("%s", qrun_context_errmsg(ctx));
    free(buf);
    gb_free(b);
    return m;
}

enum { T_FLOAT = 1, T_UINT8 = 2, T_INT8 = 3, T_E4M3FN = 17 };

/* y = MatMulInteger(a uint8 [1, 4], b int8 [4, 2]) with b's columns given. */
static qrun_model *build_matmul_integer(qrun_context *ctx, const int8_t *b_rows) {
    gbuild *b = gb_new(13);
    int64_t ad[2] = {1, 4}, bd[2] = {4, 2};
    gb_input(b, "a", T_UINT8, 2, ad);
    gb_init(b, "b", T_INT8, 2, bd, b_rows, 8);
    gb_node(b, "MatMulInteger", "mm", "a b", "y");
    gb_output(b, "y");
    return load_built(ctx, b);
}

static qrun_tensor *u8_input(qrun_context *ctx, int rank, const int64_t *dims, const uint8_t *v) {
    qrun_tensor *t = NULL;
    assert_int_equal(qrun_tensor_create(ctx, QRUN_DTYPE_UINT8, rank, dims, NULL, &t), QRUN_OK);
    memcpy(qrun_tensor_data(t), v, qrun_tensor_nbytes(t));
    return t;
}

/* Run a one-input model on backend/hw with an FP8 accumulator for cpu_ref; output 0. */
static qrun_tensor *run_one(qrun_context *ctx,
                            const qrun_model *m,
                            const char *backend,
                            const qrun_hw *hw,
                            qrun_fp8_accum acc,
                            const qrun_tensor *in) {
    qrun_session_options so;
    qrun_session_options_init(&so);
    so.backend = backend;
    so.hw = hw;
    so.fp8_accum = acc;
    qrun_session *sess = NULL;
    qrun_tensor *out = NULL;
    if (qrun_session_create(ctx, m, &so, &sess) || qrun_session_run(sess, &in, 1, &out, 1))
        fail_msg("%s", qrun_context_errmsg(ctx));
    qrun_session_free(sess);
    return out;
}

/*
 * The integer accumulator width comes from the hardware description and saturates at every
 * add. a = 255 x 4, b's column 0 = (127, 127, -127, -127): products +-32385, exact sum 0.
 * int32 (speedai240's) gives cpu_ref's 0; an int16 register saturates: 32385, then
 * min(64770, 32767) = 32767, then 382, then -32003. Column 1 (1, 2, 3, 4) sums to 2550 either
 * way.
 */
static void test_datapath_int_accumulator(void **state) {
    (void)state;
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    static const int8_t brows[8] = {127, 1, 127, 2, -127, 3, -127, 4};
    qrun_model *m = build_matmul_integer(ctx, brows);
    int64_t ad[2] = {1, 4};
    static const uint8_t av[4] = {255, 255, 255, 255};
    qrun_tensor *a = u8_input(ctx, 2, ad, av);
    qrun_hw *hw32 = NULL, *hw16 = hw_with_accumulator(ctx, "speedai240", "uint8", "int", 16);
    assert_int_equal(qrun_hw_load(ctx, "speedai240", &hw32), QRUN_OK);
    qrun_tensor *ref = run_one(ctx, m, "cpu_ref", NULL, QRUN_FP8_ACCUM_FP32, a);
    qrun_tensor *y32 = run_one(ctx, m, "accel_sim", hw32, QRUN_FP8_ACCUM_FP32, a);
    qrun_tensor *y16 = run_one(ctx, m, "accel_sim", hw16, QRUN_FP8_ACCUM_FP32, a);
    const int32_t *r = qrun_tensor_data_const(ref), *p32 = qrun_tensor_data_const(y32),
                  *p16 = qrun_tensor_data_const(y16);
    assert_int_equal(r[0], 0);
    assert_int_equal(r[1], 2550);
    assert_int_equal(p32[0], 0);
    assert_int_equal(p32[1], 2550);
    assert_int_equal(p16[0], -32003);
    assert_int_equal(p16[1], 2550);
    qrun_tensor_free(ref);
    qrun_tensor_free(y32);
    qrun_tensor_free(y16);
    qrun_tensor_free(a);
    qrun_hw_free(hw32);
    qrun_hw_free(hw16);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

/*
 * A real model with narrower accumulators: mnist ConvInteger/MatMulInteger on its reference
 * digit (a 7). Its partial sums pass 2^15 but stay below 2^17: an 18-bit register gives
 * cpu_ref's logits exactly, a 16-bit one clips some sums (logits move, the 7 still wins), a
 * 12-bit one clips more (the logits shrink several-fold).
 */
static void test_datapath_narrow_accumulator_model(void **state) {
    (void)state;
    const char *path = MODELS "/int8/integer/mnist_convinteger_matmulinteger/model_quantized.onnx";
    const char *dir = MODELS
        "/refs/int8__integer__mnist_convinteger_matmulinteger__model_quantized/test_data_set_0";
    if (access(path, R_OK) != 0 || access(dir, R_OK) != 0)
        skip();
    qrun_context *ctx = NULL;
    qrun_model *m = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    assert_int_equal(qrun_model_load(ctx, path, &m), QRUN_OK);
    static const int bits[] = {18, 16, 12};
    double change[3];
    run_result ref;
    assert_int_equal(run_model(ctx, m, "cpu_ref", NULL, dir, &ref), QRUN_OK);
    for (int b = 0; b < 3; b++) {
        qrun_hw *hw = hw_with_accumulator(ctx, "speedai240", "uint8", "int", bits[b]);
        run_result r;
        assert_int_equal(run_model(ctx, m, "accel_sim", hw, dir, &r), QRUN_OK);
        change[b] = 0;
        int64_t top = 0;
        for (int64_t i = 0; i < qrun_tensor_numel(ref.out); i++) {
            double v = qrun_tensor_get_f64(r.out, i);
            change[b] = fmax(change[b], fabs(v - qrun_tensor_get_f64(ref.out, i)));
            if (v > qrun_tensor_get_f64(r.out, top))
                top = i;
        }
        if (bits[b] >= 16)
            assert_int_equal(top, 7);
        qrun_tensor_free(r.out);
        qrun_hw_free(hw);
    }
    print_message("mnist integer, largest logit change: int18 %g, int16 %g, int12 %g\n", change[0],
                  change[1], change[2]);
    assert_true(change[0] == 0);
    assert_true(change[1] > 0.1);
    assert_true(change[2] > change[1]);
    qrun_tensor_free(ref.out);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

/* FP8 QLinearConv (E4M3FN, 8 -> 4 channels, 3x3, pad 1, 6x6) with a float32 bias. */
#define FC 8
#define FM 4
#define FH 6
static uint8_t g_w[FM * FC * 9];
static float g_bias[FM] = {0.5f, -1.25f, 0.0f, 3.0f};
static const float g_xs = 0.5f, g_ws = 0.25f, g_ys = 2.0f;

static qrun_model *build_fp8_conv(qrun_context *ctx) {
    gbuild *b = gb_new(21);
    int64_t xd[4] = {1, FC, FH, FH}, wd[4] = {FM, FC, 3, 3}, bd[1] = {FM};
    gb_input(b, "x", T_E4M3FN, 4, xd);
    uint8_t zero = 0;
    gb_scalar_f32(b, "xs", g_xs);
    gb_init(b, "xz", T_E4M3FN, 0, NULL, &zero, 1);
    gb_init(b, "w", T_E4M3FN, 4, wd, g_w, sizeof g_w);
    gb_scalar_f32(b, "ws", g_ws);
    gb_init(b, "wz", T_E4M3FN, 0, NULL, &zero, 1);
    gb_scalar_f32(b, "ys", g_ys);
    gb_init(b, "yz", T_E4M3FN, 0, NULL, &zero, 1);
    gb_init(b, "bias", T_FLOAT, 1, bd, g_bias, sizeof g_bias);
    Onnx__NodeProto *n = gb_node(b, "QLinearConv", "conv", "x xs xz w ws wz ys yz bias", "y");
    gb_attr_ints(b, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    gb_output(b, "y");
    return load_built(ctx, b);
}

/*
 * Reference of a fixed-point accumulator with its LSB at 2^-18 (E4M3FN's least value 2^-9,
 * squared) and `bits` bits: the exact sum (double is exact here: |terms| < 2^10, 2^-18 grid)
 * with saturation at every add, then the row unit's requantization.
 */
static void fp8_conv_fixed_ref(const uint8_t *x, int bits, uint8_t *y, int *saturated) {
    double lsb = ldexp(1, -18), hi = (ldexp(1, bits - 1) - 1) * lsb, lo = -ldexp(1, bits - 1) * lsb;
    float mult = (float)qrun_requant_multiplier(g_xs, g_ws, g_ys, QRUN_DTYPE_FLOAT);
    *saturated = 0;
    for (int m = 0; m < FM; m++) {
        for (int oy = 0; oy < FH; oy++) {
            for (int ox = 0; ox < FH; ox++) {
                double sum = 0;
                for (int c = 0; c < FC; c++) {
                    for (int ky = 0; ky < 3; ky++) {
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = oy + ky - 1, ix = ox + kx - 1;
                            if (iy < 0 || iy >= FH || ix < 0 || ix >= FH)
                                continue;
                            double p = (double)qrun_fp8_decode(QRUN_DTYPE_FLOAT8E4M3FN,
                                                               x[(c * FH + iy) * FH + ix]) *
                                       qrun_fp8_decode(QRUN_DTYPE_FLOAT8E4M3FN,
                                                       g_w[((m * FC + c) * 3 + ky) * 3 + kx]);
                            sum += p;
                            if (sum > hi || sum < lo) {
                                sum = sum > hi ? hi : lo;
                                (*saturated)++;
                            }
                        }
                    }
                }
                y[(m * FH + oy) * FH + ox] = qrun_fp8_requantize(
                    QRUN_DTYPE_FLOAT8E4M3FN, (float)sum, mult, g_bias[m] / g_ys);
            }
        }
    }
}

static int count_diff(const qrun_tensor *a, const qrun_tensor *b) {
    const uint8_t *p = qrun_tensor_data_const(a), *q = qrun_tensor_data_const(b);
    int n = 0;
    for (size_t i = 0; i < qrun_tensor_nbytes(a); i++)
        n += p[i] != q[i];
    return n;
}

/*
 * The FP8 datapath on each accumulator of the hardware description:
 *   float32 (speedai240's fp8e4m3): bit-identical to cpu_ref (default FP32 accumulator);
 *   float16: bit-identical to cpu_ref with --fp8-accum fp16, and different from float32;
 *   fixed 48: the exactly rounded sum (the reference above), different from float32 sums;
 *   fixed 24: saturates at +-32 (2^23 x 2^-18): equals the saturating reference.
 */
static void test_datapath_fp8_accumulators(void **state) {
    (void)state;
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    uint32_t seed = 7;
    for (size_t i = 0; i < sizeof g_w; i++) {
        seed = seed * 1664525u + 1013904223u;
        uint8_t c;
        do {
            c = (uint8_t)(seed >> 13);
            seed = seed * 1664525u + 1013904223u;
        } while (!(fabsf(qrun_fp8_decode(QRUN_DTYPE_FLOAT8E4M3FN, c)) <= 16.0f));
        g_w[i] = c;
    }
    qrun_model *m = build_fp8_conv(ctx);
    int64_t xd[4] = {1, FC, FH, FH};
    uint8_t xv[FC * FH * FH];
    for (size_t i = 0; i < sizeof xv; i++) {
        do {
            seed = seed * 1664525u + 1013904223u;
            xv[i] = (uint8_t)(seed >> 11);
        } while (!(fabsf(qrun_fp8_decode(QRUN_DTYPE_FLOAT8E4M3FN, xv[i])) <= 8.0f));
    }
    qrun_tensor *x = NULL;
    assert_int_equal(qrun_tensor_create(ctx, QRUN_DTYPE_FLOAT8E4M3FN, 4, xd, NULL, &x), QRUN_OK);
    memcpy(qrun_tensor_data(x), xv, sizeof xv);

    qrun_hw *f32 = NULL;
    assert_int_equal(qrun_hw_load(ctx, "speedai240", &f32), QRUN_OK);
    qrun_hw *f16 = hw_with_accumulator(ctx, "speedai240", "fp8e4m3", "float", 16);
    qrun_hw *fx48 = hw_with_accumulator(ctx, "speedai240", "fp8e4m3", "fixed", 48);
    qrun_hw *fx24 = hw_with_accumulator(ctx, "speedai240", "fp8e4m3", "fixed", 24);
    qrun_tensor *ref32 = run_one(ctx, m, "cpu_ref", NULL, QRUN_FP8_ACCUM_FP32, x);
    qrun_tensor *ref16 = run_one(ctx, m, "cpu_ref", NULL, QRUN_FP8_ACCUM_FP16, x);
    qrun_tensor *y32 = run_one(ctx, m, "accel_sim", f32, QRUN_FP8_ACCUM_FP32, x);
    qrun_tensor *y16 = run_one(ctx, m, "accel_sim", f16, QRUN_FP8_ACCUM_FP32, x);
    qrun_tensor *y48 = run_one(ctx, m, "accel_sim", fx48, QRUN_FP8_ACCUM_FP32, x);
    qrun_tensor *y24 = run_one(ctx, m, "accel_sim", fx24, QRUN_FP8_ACCUM_FP32, x);
    assert_same_values(ref32, y32);
    assert_same_values(ref16, y16);
    int d16 = count_diff(y32, y16), d48 = count_diff(y32, y48), d24 = count_diff(y48, y24);
    uint8_t want[FM * FH * FH];
    int sat48 = 0, sat24 = 0;
    fp8_conv_fixed_ref(xv, 48, want, &sat48);
    assert_int_equal(sat48, 0);
    assert_memory_equal(qrun_tensor_data_const(y48), want, sizeof want);
    fp8_conv_fixed_ref(xv, 24, want, &sat24);
    assert_memory_equal(qrun_tensor_data_const(y24), want, sizeof want);
    print_message("FP8 conv, %d outputs: float16 vs float32 accumulator differ in %d; fixed48 vs "
                  "float32 in %d; fixed24 saturated %d partial sums, %d outputs differ from "
                  "fixed48\n",
                  FM * FH * FH, d16, d48, sat24, d24);
    assert_true(d16 > 0);
    assert_true(sat24 > 0 && d24 > 0);
    qrun_tensor *outs[] = {ref32, ref16, y32, y16, y48, y24};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
        qrun_tensor_free(outs[i]);
    qrun_hw *hws[] = {f32, f16, fx48, fx24};
    for (size_t i = 0; i < sizeof hws / sizeof hws[0]; i++)
        qrun_hw_free(hws[i]);
    qrun_tensor_free(x);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

/* Every real quantized model: the accelerator's datapath with int32 accumulators gives
 * cpu_ref's outputs bit for bit, in both requantization modes. */
static void test_datapath_real_models_bit_identical(void **state) {
    (void)state;
    static const char *const models[] = {
        "int8/qoperator/ic_quantized_int8.onnx",
        "int8/qoperator/ks_quantized_int8.onnx",
        "int8/qoperator/mobilenetv2-12-int8.onnx",
        "int8/qdq/mlperftiny_ad_deep_autoencoder_qdq.onnx",
        "int8/qdq/mlperftiny_ic_resnet8_qdq.onnx",
        "int8/qdq/mlperftiny_kws_dscnn_qdq.onnx",
        "int8/integer/mnist_convinteger_matmulinteger/model_quantized.onnx",
    };
    qrun_context *ctx = NULL;
    qrun_hw *hw = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    assert_int_equal(qrun_hw_load(ctx, "speedai240", &hw), QRUN_OK);
    for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", MODELS, models[k]);
        if (access(path, R_OK) != 0)
            continue;
        qrun_model *m = NULL;
        assert_int_equal(qrun_model_load(ctx, path, &m), QRUN_OK);
        /* MobileNetV2 (300 M MACs on the scalar datapath model) once: ASan builds are slow. */
        int modes = strstr(models[k], "mobilenet") ? 1 : 2;
        for (int mode = 0; mode < modes; mode++) {
            qrun_session_options so;
            qrun_session_options_init(&so);
            so.requant = mode ? QRUN_REQUANT_FIXED : QRUN_REQUANT_FLOAT;
            run_result ref, sim;
            assert_int_equal(run_model_opts(ctx, m, &so, NULL, &ref), QRUN_OK);
            so.backend = "accel_sim";
            so.hw = hw;
            if (run_model_opts(ctx, m, &so, NULL, &sim) != QRUN_OK)
                fail_msg("%s: %s", models[k], qrun_context_errmsg(ctx));
            assert_same_values(ref.out, sim.out);
            assert_true(sim.sum.n_accel > 0 && sim.sum.macs > 0);
            assert_consistent(&sim, 3.5 + 46.6); /* chip static + board */
            qrun_tensor_free(ref.out);
            qrun_tensor_free(sim.out);
        }
        qrun_model_free(m);
    }
    qrun_hw_free(hw);
    qrun_context_free(ctx);
}

/* Timing mode on a float model (light_resnet50: weights made by ConstantOfShape, folded):
 * --dtype int8 selects the datapath; MAC outputs are not computed; Softmax stays on the host. */
static void test_timing_float_model(void **state) {
    (void)state;
    const char *path = MODELS "/light/light_resnet50.onnx";
    if (access(path, R_OK) != 0)
        skip();
    qrun_context *ctx = NULL;
    qrun_model *m = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    assert_int_equal(qrun_model_load(ctx, path, &m), QRUN_OK);
    static const char *const presets[] = {"speedai240", "runai200", "edge_small"};
    for (int p = 0; p < 3; p++) {
        qrun_hw *hw = NULL;
        assert_int_equal(qrun_hw_load(ctx, presets[p], &hw), QRUN_OK);
        qrun_session_options so;
        qrun_session_options_init(&so);
        so.backend = "accel_sim";
        so.hw = hw;
        so.sim = QRUN_SIM_TIMING;
        so.sim_dtype = QRUN_DTYPE_INT8;
        run_result r;
        if (run_model_opts(ctx, m, &so, NULL, &r) != QRUN_OK)
            fail_msg("%s: %s", presets[p], qrun_context_errmsg(ctx));
        assert_string_equal(r.sum.mode, "timing");
        assert_int_equal(r.sum.macs, 4089184256LL);   /* qrun info */
        assert_int_equal(r.sum.n_host, 1);            /* Softmax */
        assert_true(r.sum.n_folded >= 239);           /* the ConstantOfShape weights */
        assert_true(r.sum.n_fused > 0);               /* BatchNorm, Relu in the row units */
        assert_near(r.sum.weight_bytes, 25502912, 0); /* int8 weights (Conv + Gemm) */
        assert_string_equal(r.first.dtype, "int8");
        /* edge_small's 2 MB cannot hold the weights: layer by layer, streamed. */
        bool small = p == 2;
        assert_string_equal(r.sum.execution, small ? "layer_by_layer" : "layer_pipelined");
        assert_true(small ? r.sum.streamed_bytes > 0 : r.sum.streamed_bytes == 0);
        hw_config cfg;
        load_hw(presets[p], &cfg);
        assert_consistent(&r, cfg.static_w + cfg.board_w);
        hw_config_release(&cfg);
        print_message("light_resnet50 int8 on %s: %s, latency %.1f us, %.0f inferences/s, %.1f "
                      "uJ/inference, %.2f W\n",
                      presets[p], r.sum.execution, r.sum.latency_us, r.sum.throughput_ips,
                      r.sum.energy_uj, r.sum.average_w);
        qrun_tensor_free(r.out);
        qrun_hw_free(hw);
    }
    /* Without --dtype the float convolutions have no datapath: all on the host. */
    qrun_hw *hw = NULL;
    assert_int_equal(qrun_hw_load(ctx, "speedai240", &hw), QRUN_OK);
    qrun_session_options so;
    qrun_session_options_init(&so);
    so.backend = "accel_sim";
    so.hw = hw;
    so.sim_dtype = QRUN_DTYPE_INT8; /* full mode: refused */
    qrun_session *sess = NULL;
    assert_int_equal(qrun_session_create(ctx, m, &so, &sess), QRUN_E_ARG);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "applies to --sim timing"));
    qrun_hw_free(hw);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

/* Conv 3x1 -> Conv 3x1 (64 channels, pad 1 over 16 rows of 1 column) -> GlobalAveragePool,
 * float, timed as int8. */
static qrun_model *build_conv_chain(qrun_context *ctx) {
    gbuild *b = gb_new(13);
    int64_t xd[4] = {1, 64, 16, 1}, wd[4] = {64, 64, 3, 1};
    static float w[64 * 64 * 3];
    gb_input(b, "x", T_FLOAT, 4, xd);
    gb_init(b, "w1", T_FLOAT, 4, wd, w, sizeof w);
    gb_init(b, "w2", T_FLOAT, 4, wd, w, sizeof w);
    static const int64_t pads[4] = {1, 0, 1, 0};
    gb_attr_ints(b, gb_node(b, "Conv", "c1", "x w1", "y1"), "pads", 4, pads);
    gb_attr_ints(b, gb_node(b, "Conv", "c2", "y1 w2", "y2"), "pads", 4, pads);
    gb_node(b, "GlobalAveragePool", "gap", "y2", "y");
    gb_output(b, "y");
    return load_built(ctx, b);
}

/*
 * The row-level pipelined schedule of a 3-stage chain, by hand from the stages' times s0..s2
 * (their closed forms are pinned above) on edge_small without dispatch overhead (so that
 * splitting the banks between the layers beats running each over all 16 banks, whose 64 rows
 * the 16 output positions of a layer cannot fill):
 *   host link: x = 64 x 16 int8 = 1024 B at 12.8 GB/s + 0.5 us per value + 5 us launch
 *   (h0, charged to c1); y = 64 B back (h2, charged to gap, its producer);
 *   c1 starts at h0, finishes at F0 = h0 + s0;
 *   c2 (3 rows of kernel) needs 3 of c1's 16 rows: S1 = h0 + 3/16 s0,
 *   F1 = max(S1 + s1, F0 + 3/16 s1);
 *   gap needs all of its input: S2 = F1 + h2, F2 = S2 + s2 = latency;
 *   throughput = 1 / max(s0, s1, s2, host link without the launch);
 *   latency shares along c1 <- c2 <- gap: F0, F1 - F0, F2 - F1.
 * Energy: every record's and the model's classes sum to their totals.
 */
static void test_pipeline_schedule_by_hand(void **state) {
    (void)state;
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    qrun_model *m = build_conv_chain(ctx);
    qrun_hw *hw = hw_with_number(ctx, "edge_small", "\"dispatch_cycles\":", 0);
    qrun_session_options so;
    qrun_session_options_init(&so);
    so.backend = "accel_sim";
    so.hw = hw;
    so.sim = QRUN_SIM_TIMING;
    so.sim_dtype = QRUN_DTYPE_INT8;
    qrun_session *sess = NULL;
    assert_int_equal(qrun_session_create(ctx, m, &so, &sess), QRUN_OK);
    int64_t xd[4] = {1, 64, 16, 1};
    qrun_tensor *x = NULL, *y = NULL;
    assert_int_equal(qrun_tensor_create(ctx, QRUN_DTYPE_FLOAT, 4, xd, NULL, &x), QRUN_OK);
    if (qrun_session_run(sess, (const qrun_tensor *const *)&x, 1, &y, 1) != QRUN_OK)
        fail_msg("%s", qrun_context_errmsg(ctx));
    qrun_sim_summary sum;
    assert_int_equal(qrun_session_sim_summary(sess, &sum), QRUN_OK);
    assert_string_equal(sum.execution, "layer_pipelined");
    assert_true(sum.latency_layer_by_layer_us > 0);
    assert_int_equal(qrun_session_sim_node_count(sess), 3);
    qrun_sim_node n[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(qrun_session_sim_node(sess, i, &n[i]), QRUN_OK);
    assert_string_equal(n[0].name, "c1");
    assert_string_equal(n[2].name, "gap");
    double h0 = 1024 / 12.8e3 + 0.5 + 5, h2 = 64 / 12.8e3 + 0.5; /* us */
    assert_near(n[0].host_link_us, h0, 1e-9);
    assert_near(n[1].host_link_us, 0, 0);
    assert_near(n[2].host_link_us, h2, 1e-9);
    assert_near(sum.launch_us, 5, 0);
    assert_near(sum.host_link_us, h0 - 5 + h2, 1e-9);
    double s0 = n[0].time_us, s1 = n[1].time_us, s2 = n[2].time_us;
    double f0 = h0 + s0, st1 = h0 + 3 * s0 / 16, f1 = fmax(st1 + s1, f0 + 3 * s1 / 16);
    double st2 = f1 + h2, f2 = st2 + s2;
    assert_near(n[0].start_us, h0, 1e-9);
    assert_near(n[1].start_us, st1, 1e-9);
    assert_near(n[2].start_us, st2, 1e-9);
    assert_near(sum.latency_us, f2, 1e-9);
    assert_near(n[0].latency_share_us, f0, 1e-9);
    assert_near(n[1].latency_share_us, f1 - f0, 1e-9);
    assert_near(n[2].latency_share_us, f2 - f1, 1e-9);
    double period = fmax(fmax(s0, s1), fmax(s2, h0 - 5 + h2));
    assert_near(sum.throughput_ips, 1e6 / period, 1e-6 * sum.throughput_ips);
    /* Row-level overlap: shorter than the stages one after another. */
    assert_true(sum.latency_us < h0 + s0 + s1 + s2 + h2 - 1e-3);
    for (int i = 0; i < 3; i++) {
        double e = 0;
        for (int k = 0; k < QRUN_SIM_ENERGY_KINDS; k++)
            e += n[i].energy_kind_uj[k];
        assert_near(e, n[i].energy_uj, 1e-12 + 1e-9 * e);
    }
    double e = 0;
    for (int k = 0; k < QRUN_SIM_ENERGY_KINDS; k++)
        e += sum.energy_kind_uj[k];
    assert_near(e, sum.energy_uj, 1e-9 * e);
    /* static: edge_small's 0.2 W (no board power) over the period. */
    assert_near(sum.energy_kind_uj[6], 0.2 * period, 1e-9);
    qrun_tensor_free(x);
    qrun_tensor_free(y);
    qrun_session_free(sess);
    qrun_hw_free(hw);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

/* Timing mode reads no weight values: the same model with zero weights times identically, and
 * the MAC output is not computed (zeros). */
static void test_timing_ignores_weights(void **state) {
    (void)state;
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    static const int8_t rows_a[8] = {127, 1, 127, 2, -127, 3, -127, 4};
    static const int8_t rows_b[8] = {0};
    qrun_model *ma = build_matmul_integer(ctx, rows_a), *mb = build_matmul_integer(ctx, rows_b);
    qrun_hw *hw = NULL;
    assert_int_equal(qrun_hw_load(ctx, "edge_small", &hw), QRUN_OK);
    qrun_session_options so;
    qrun_session_options_init(&so);
    so.backend = "accel_sim";
    so.hw = hw;
    so.sim = QRUN_SIM_TIMING;
    run_result ra, rb;
    assert_int_equal(run_model_opts(ctx, ma, &so, NULL, &ra), QRUN_OK);
    assert_int_equal(run_model_opts(ctx, mb, &so, NULL, &rb), QRUN_OK);
    assert_near(ra.sum.latency_us, rb.sum.latency_us, 0);
    assert_near(ra.sum.energy_uj, rb.sum.energy_uj, 0);
    assert_int_equal(ra.sum.macs, 8);
    const int32_t *y = qrun_tensor_data_const(ra.out);
    assert_int_equal(y[0], 0);
    assert_int_equal(y[1], 0);
    qrun_tensor_free(ra.out);
    qrun_tensor_free(rb.out);
    qrun_hw_free(hw);
    qrun_model_free(ma);
    qrun_model_free(mb);
    qrun_context_free(ctx);
}

/* Bad parameters give an error naming the node, not a crash: w_scale with 3 elements for 4
 * output channels. */
static void test_datapath_bad_params(void **state) {
    (void)state;
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    gbuild *b = gb_new(13);
    int64_t xd[4] = {1, 2, 3, 3}, wd[4] = {4, 2, 1, 1}, sd[1] = {3};
    gb_input(b, "x", T_UINT8, 4, xd);
    int8_t w[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float ws[3] = {0.1f, 0.2f, 0.3f};
    gb_scalar_f32(b, "xs", 0.5f);
    gb_scalar_u8(b, "xz", 0);
    gb_init(b, "w", T_INT8, 4, wd, w, sizeof w);
    gb_init(b, "ws", T_FLOAT, 1, sd, ws, sizeof ws);
    gb_scalar_i8(b, "wz", 0);
    gb_scalar_f32(b, "ys", 1.0f);
    gb_scalar_u8(b, "yz", 0);
    gb_node(b, "QLinearConv", "badconv", "x xs xz w ws wz ys yz", "y");
    gb_output(b, "y");
    qrun_model *m = NULL;
    size_t n = 0;
    uint8_t *buf = gb_pack(b, &n);
    gb_free(b);
    qrun_status st = qrun_model_load_bytes(ctx, buf, n, NULL, &m);
    free(buf);
    if (st == QRUN_OK) {
        qrun_hw *hw = NULL;
        assert_int_equal(qrun_hw_load(ctx, "edge_small", &hw), QRUN_OK);
        qrun_session_options so;
        qrun_session_options_init(&so);
        so.backend = "accel_sim";
        so.hw = hw;
        qrun_session *sess = NULL;
        st = qrun_session_create(ctx, m, &so, &sess);
        qrun_session_free(sess);
        qrun_hw_free(hw);
        qrun_model_free(m);
    }
    assert_int_not_equal(st, QRUN_OK);
    print_message("%s\n", qrun_context_errmsg(ctx));
    assert_non_null(strstr(qrun_context_errmsg(ctx), "badconv"));
    qrun_context_free(ctx);
}

/* ONNX 1.22 node tests of QLinearMatMul with int8/uint8 operands and float16/float32 scales:
 * on the accelerator's datapath, outputs equal the expected ones. */
static void test_datapath_onnx122_qlinearmatmul(void **state) {
    (void)state;
    static const char *const cases[] = {
        "test_qlinearmatmul_2D_int8_float16", "test_qlinearmatmul_2D_int8_float32",
        "test_qlinearmatmul_2D_uint8_float16", "test_qlinearmatmul_2D_uint8_float32"};
    const char *root = MODELS "/onnx-node-v1.22";
    if (access(root, R_OK) != 0)
        skip();
    qrun_context *ctx = NULL;
    qrun_hw *hw = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    assert_int_equal(qrun_hw_load(ctx, "speedai240", &hw), QRUN_OK);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char dir[512];
        qrun_model *m = NULL;
        qrun_tensor *want = NULL;
        load_node_case(ctx, root, cases[c], dir, sizeof dir, &m, &want);
        run_result sim;
        if (run_model(ctx, m, "accel_sim", hw, dir, &sim) != QRUN_OK)
            fail_msg("%s: %s", cases[c], qrun_context_errmsg(ctx));
        if (sim.sum.n_accel != 1)
            fail_msg("%s: %d nodes on the accelerator", cases[c], sim.sum.n_accel);
        assert_same_values(want, sim.out);
        qrun_tensor_free(sim.out);
        qrun_tensor_free(want);
        qrun_model_free(m);
    }
    qrun_hw_free(hw);
    qrun_context_free(ctx);
}

/* FP8 QLinearMatMul (E4M3FN, [3, 40] x [40, 5]): float32 and float16 accumulators give cpu_ref's
 * outputs with the matching --fp8-accum. */
static void test_datapath_fp8_matmul(void **state) {
    (void)state;
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    gbuild *b = gb_new(21);
    int64_t ad[2] = {3, 40}, bd[2] = {40, 5};
    gb_input(b, "a", T_E4M3FN, 2, ad);
    uint8_t zero = 0, bw[200];
    uint32_t seed = 99;
    for (size_t i = 0; i < sizeof bw; i++) {
        do {
            seed = seed * 1664525u + 1013904223u;
            bw[i] = (uint8_t)(seed >> 12);
        } while (!(fabsf(qrun_fp8_decode(QRUN_DTYPE_FLOAT8E4M3FN, bw[i])) <= 32.0f));
    }
    gb_scalar_f32(b, "as", 0.5f);
    gb_init(b, "az", T_E4M3FN, 0, NULL, &zero, 1);
    gb_init(b, "b", T_E4M3FN, 2, bd, bw, sizeof bw);
    gb_scalar_f32(b, "bs", 0.125f);
    gb_init(b, "bz", T_E4M3FN, 0, NULL, &zero, 1);
    gb_scalar_f32(b, "ys", 4.0f);
    gb_init(b, "yz", T_E4M3FN, 0, NULL, &zero, 1);
    gb_node(b, "QLinearMatMul", "mm", "a as az b bs bz ys yz", "y");
    gb_output(b, "y");
    qrun_model *m = load_built(ctx, b);
    qrun_tensor *a = NULL;
    assert_int_equal(qrun_tensor_create(ctx, QRUN_DTYPE_FLOAT8E4M3FN, 2, ad, NULL, &a), QRUN_OK);
    uint8_t *av = qrun_tensor_data(a);
    for (int i = 0; i < 120; i++) {
        do {
            seed = seed * 1664525u + 1013904223u;
            av[i] = (uint8_t)(seed >> 12);
        } while (!(fabsf(qrun_fp8_decode(QRUN_DTYPE_FLOAT8E4M3FN, av[i])) <= 32.0f));
    }
    qrun_hw *f32 = NULL, *f16 = hw_with_accumulator(ctx, "speedai240", "fp8e4m3", "float", 16);
    assert_int_equal(qrun_hw_load(ctx, "speedai240", &f32), QRUN_OK);
    qrun_tensor *r32 = run_one(ctx, m, "cpu_ref", NULL, QRUN_FP8_ACCUM_FP32, a);
    qrun_tensor *r16 = run_one(ctx, m, "cpu_ref", NULL, QRUN_FP8_ACCUM_FP16, a);
    qrun_tensor *y32 = run_one(ctx, m, "accel_sim", f32, QRUN_FP8_ACCUM_FP32, a);
    qrun_tensor *y16 = run_one(ctx, m, "accel_sim", f16, QRUN_FP8_ACCUM_FP32, a);
    assert_same_values(r32, y32);
    assert_same_values(r16, y16);
    qrun_tensor *outs[] = {r32, r16, y32, y16, a};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
        qrun_tensor_free(outs[i]);
    qrun_hw_free(f32);
    qrun_hw_free(f16);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

/* Top-1 of the mnist integer model on the first n MNIST test digits, one session. */
static int mnist_top1(qrun_context *ctx,
                      const qrun_model *m,
                      const char *backend,
                      const qrun_hw *hw,
                      const ds_set *d,
                      int n,
                      int *pred) {
    qrun_session_options so;
    qrun_session_options_init(&so);
    so.backend = backend;
    so.hw = hw;
    qrun_session *sess = NULL;
    if (qrun_session_create(ctx, m, &so, &sess))
        fail_msg("%s", qrun_context_errmsg(ctx));
    int64_t dims[4] = {1, 1, 28, 28};
    qrun_tensor *in = NULL;
    assert_int_equal(qrun_tensor_create(ctx, QRUN_DTYPE_FLOAT, 4, dims, NULL, &in), QRUN_OK);
    ds_preproc pp;
    ds_preproc_init(&pp);
    pp.div = 255.0f; /* the model's preprocessing (MANIFEST: pixels/255) */
    int correct = 0;
    for (int i = 0; i < n; i++) {
        ds_preprocess(d, i, &pp, qrun_tensor_data(in));
        qrun_tensor *out = NULL;
        if (qrun_session_run(sess, (const qrun_tensor *const *)&in, 1, &out, 1))
            fail_msg("%s", qrun_context_errmsg(ctx));
        pred[i] = ds_argmax(qrun_tensor_data_const(out), 10);
        correct += pred[i] == d->labels[i];
        qrun_tensor_free(out);
    }
    qrun_tensor_free(in);
    qrun_session_free(sess);
    return correct;
}

/*
 * Narrow accumulators on real data: the mnist integer model on 200 MNIST test digits. int32
 * predicts exactly as cpu_ref; int16 clips the second conv's largest partial sums (the reference
 * digit's logits move by 0.7) without changing a prediction here; int12 clips most sums and
 * changes about a third of them (72 of 200 when written).
 */
static void test_datapath_accumulator_accuracy(void **state) {
    (void)state;
    if (!ds_dataset_runs_enabled())
        skip();
    enum { N = 200 };
    const char *path = MODELS "/int8/integer/mnist_convinteger_matmulinteger/model_quantized.onnx";
    ds_set d;
    if (access(path, R_OK) != 0 || !ds_load_mnist(MODELS "/data/mnist-t10k", &d))
        skip();
    qrun_context *ctx = NULL;
    qrun_model *m = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    assert_int_equal(qrun_model_load(ctx, path, &m), QRUN_OK);
    static int ref[N], got[N];
    int ref_ok = mnist_top1(ctx, m, "cpu_ref", NULL, &d, N, ref);
    static const int bits[] = {32, 16, 12};
    int ok[3], changed[3];
    for (int b = 0; b < 3; b++) {
        qrun_hw *hw = hw_with_accumulator(ctx, "speedai240", "uint8", "int", bits[b]);
        ok[b] = mnist_top1(ctx, m, "accel_sim", hw, &d, N, got);
        changed[b] = 0;
        for (int i = 0; i < N; i++)
            changed[b] += got[i] != ref[i];
        qrun_hw_free(hw);
    }
    print_message(
        "mnist integer, %d digits: cpu_ref %d correct; accel_sim int32 %d (%d predictions "
        "changed), int16 %d (%d changed), int12 %d (%d changed)\n",
        N, ref_ok, ok[0], changed[0], ok[1], changed[1], ok[2], changed[2]);
    assert_int_equal(changed[0], 0);
    assert_int_equal(ok[0], ref_ok);
    assert_true(ok[2] < ok[1]);
    assert_true(changed[2] > changed[1]);
    ds_free(&d);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_row_split),
        cmocka_unit_test(test_depthwise_pe_output),
        cmocka_unit_test(test_weight_spill),
        cmocka_unit_test(test_dtype_rates),
        cmocka_unit_test(test_row_ops),
        cmocka_unit_test(test_channel_tiles_and_row_dispatch),
        cmocka_unit_test(test_pipeline_schedule_by_hand),
        cmocka_unit_test(test_backend_mnist_integer),
        cmocka_unit_test(test_backend_qoperator_model),
        cmocka_unit_test(test_backend_float_falls_back),
        cmocka_unit_test(test_backend_onnx_node_tests),
        cmocka_unit_test(test_datapath_int_accumulator),
        cmocka_unit_test(test_datapath_narrow_accumulator_model),
        cmocka_unit_test(test_datapath_fp8_accumulators),
        cmocka_unit_test(test_datapath_real_models_bit_identical),
        cmocka_unit_test(test_timing_float_model),
        cmocka_unit_test(test_timing_ignores_weights),
        cmocka_unit_test(test_datapath_bad_params),
        cmocka_unit_test(test_datapath_onnx122_qlinearmatmul),
        cmocka_unit_test(test_datapath_fp8_matmul),
        cmocka_unit_test(test_datapath_accumulator_accuracy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
