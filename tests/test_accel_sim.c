/* SPDX-License-Identifier: Apache-2.0 */
/*
 * accel_sim timing, mapping, schedules and energy: the closed-form model against
 * hand-computed cycles and energy on the presets, a row-pipelined schedule by hand, and the
 * backend's report on real models (partition, host link, consistency of the totals).
 * Datapaths and bit identity with cpu_ref: test_accel_datapath.c.
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
#include "tests/support/accel_sim_support.h"
#include "tests/support/datasets.h"
#include "tests/support/graph_builder.h"
#include "tests/support/model_builder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* edge_small: 16 banks x 4 rows x 64 PEs = 4096 PEs, 64 rows, 800 MHz, NoC 4 x 25.6 + 4 x 25.6
 * = 204.8 GB/s, dispatch 100 cycles, reduce 1 cycle per level (6 levels for 64 PEs), mapping
 * efficiency 0.6 (MAC compute cycles are the closed form / 0.6). */
#define EFF 0.6

/* A small GEMM (1 x 256 by 256 x 128, int8 in, int8 out): splitting K over a row wins. */
static void test_gemm_row_split(void **state) {
    (void)state;
    hw_config hw;
    as_load_hw("edge_small", &hw);
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
    as_near(hw.mapping_efficiency, EFF, 0);
    assert_int_equal(c.mapping, ACCEL_MAP_ROW_SPLIT_K);
    assert_int_equal(c.waves, 2);
    as_near(c.compute_cycles, 20 / EFF, 1e-9);
    as_near(c.rotator_cycles, 0, 0);
    as_near(c.requant_cycles, 2, 0); /* 128 outputs over 64 rows */
    as_near(c.noc_cycles, 384 / 204.8e9 * 0.8e9, 1e-9);
    double cyc = 100 + 20 / EFF + 2;
    as_near(c.cycles, cyc, 1e-9);
    as_near(c.stall_cycles, 0, 0);
    as_near(c.seconds, cyc / 0.8e9, 1e-18);
    assert_int_equal(c.macs, 32768);
    as_near(c.utilization, 32768.0 / (cyc * 4096), 1e-12);
    /* Energy, pJ: MAC 0.115; 2 operand bytes per MAC read at 0.217 plus 384 B written;
     * NoC 384 B x (4 + 4) / 3 hops x 0.36; requant 128 x 1.3; static 0.2 W x time. */
    as_near(c.energy_pj[ACCEL_E_MAC], 32768 * 0.115, 1e-6);
    as_near(c.energy_pj[ACCEL_E_SRAM], 32768 * 2 * 0.217 + 384 * 0.217, 1e-6);
    as_near(c.energy_pj[ACCEL_E_ROTATOR], 0, 0);
    as_near(c.energy_pj[ACCEL_E_NOC], 384 * 8 / 3.0 * 0.36, 1e-6);
    as_near(c.energy_pj[ACCEL_E_OFFCHIP], 0, 0);
    as_near(c.energy_pj[ACCEL_E_REQUANT], 128 * 1.3, 1e-9);
    as_near(c.energy_pj[ACCEL_E_STATIC], 0.2 * cyc / 0.8e9 * 1e12, 1e-6);
    double sum = 0;
    for (int k = 0; k < ACCEL_E_COUNT; k++)
        sum += c.energy_pj[k];
    as_near(c.energy_pj_total, sum, 1e-9);
    hw_config_release(&hw);
}

/* Many short dot products (a depthwise 3x3 over 64 x 56 x 56): one output per PE wins. */
static void test_depthwise_pe_output(void **state) {
    (void)state;
    hw_config hw;
    as_load_hw("edge_small", &hw);
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
    as_near(c.compute_cycles, 441 / EFF, 1e-9);
    as_near(c.rotator_cycles, 3087, 0);
    as_near(c.noc_cycles, 5 * 200704 / 204.8e9 * 0.8e9, 1e-6); /* 3920 */
    as_near(c.cycles, 100 + 3920, 1e-6);                       /* NoC-bound after all */
    as_near(c.stall_cycles, 3920 - 3822, 1e-6);
    as_near(c.energy_pj[ACCEL_E_ROTATOR], 200704.0 * 9 * 1 * 0.041, 1e-6);
    as_near(c.energy_pj[ACCEL_E_REQUANT], 0, 0);
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
    as_load_hw("runai200", &hw);
    assert_int_equal(accel_sim_cost(&hw, &w, &c, &err), QRUN_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "300000000 bytes exceed"));
    assert_non_null(strstr(err.msg, "no off-chip memory"));
    hw_config_release(&hw);

    as_load_hw("speedai240", &hw);
    assert_int_equal(accel_sim_cost(&hw, &w, &c, &err), QRUN_OK);
    /* 3e8 B / 100 GB/s + 100 ns, at 1.35 GHz. */
    as_near(c.offchip_cycles, (3e8 / 100e9 + 100e-9) * 1.35e9, 1e-3);
    as_near(c.cycles, 100 + c.offchip_cycles, 1e-3);
    as_near(c.energy_pj[ACCEL_E_OFFCHIP], 3e8 * 40, 1e-3);
    hw_config_release(&hw);
}

/* The slower operand sets the rate; a dtype the chip lacks is refused by name. */
static void test_dtype_rates(void **state) {
    (void)state;
    hw_config hw;
    accel_cost c;
    qrun_err err = {{0}};
    as_load_hw("speedai240", &hw);
    accel_work w = {.outputs = 373248,
                    .k = 64,
                    .a_dtype = QRUN_DTYPE_FLOAT8E3M4,
                    .w_dtype = QRUN_DTYPE_FLOAT8E3M4,
                    .in_bytes = 64,
                    .weight_bytes = 64,
                    .out_bytes = 64,
                    .requant = false};
    assert_int_equal(accel_sim_cost(&hw, &w, &c, &err), QRUN_OK);
    as_near(c.rate, 2, 0);
    /* pe_output: 1 wave x 32 + 63 = 95; row_split_k: 64 waves x (1 + 6) = 448; speedai240's
     * mapping efficiency 0.6 divides the winner's compute. */
    assert_int_equal(c.mapping, ACCEL_MAP_PE_OUTPUT);
    as_near(c.compute_cycles, 32 / EFF, 1e-9);
    w.w_dtype = QRUN_DTYPE_INT8;
    assert_int_equal(accel_sim_cost(&hw, &w, &c, &err), QRUN_OK);
    as_near(c.rate, 1, 0);
    as_near(c.compute_cycles, 64 / EFF, 1e-9);
    hw_config_release(&hw);

    as_load_hw("runai200", &hw);
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
    as_load_hw("edge_small", &hw);
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
    as_near(c.compute_cycles, 98, 0);
    as_near(c.requant_cycles, ceil(100000 / 16.0), 0); /* 16 rows, 1 element per cycle */
    as_near(c.noc_cycles, 100000 / 51.2e9 * 0.8e9, 1e-9);
    as_near(c.cycles, 100 + 98 + 6250, 1e-9); /* requant-bound: 6348 > 1562.5 */
    as_near(c.energy_pj[ACCEL_E_MAC], 100000 * 0.115, 1e-6);
    /* SRAM: reads 100000 ops x 1 B + the 100000 B that arrived, writes 100000 outputs. */
    as_near(c.bytes_sram, 300000, 0);
    as_near(c.energy_pj[ACCEL_E_SRAM], 300000 * 0.217, 1e-6);
    as_near(c.energy_pj[ACCEL_E_REQUANT], 100000 * 1.3, 1e-6);
    as_near(c.energy_pj[ACCEL_E_STATIC], 0.2 * c.seconds * 1e12 * 4 / 16, 1e-9);
    /* Concat: 8192 B over the whole network, no arithmetic. */
    accel_work cat = {.kind = ACCEL_WORK_MOVE,
                      .outputs = 8192,
                      .a_dtype = QRUN_DTYPE_INT8,
                      .w_dtype = QRUN_DTYPE_INT8,
                      .in_bytes = 8192};
    assert_int_equal(accel_sim_cost(&hw, &cat, &c, &err), QRUN_OK);
    as_near(c.compute_cycles, 0, 0);
    as_near(c.cycles, 100 + 8192 / 204.8e9 * 0.8e9, 1e-9);
    as_near(c.energy_pj[ACCEL_E_MAC], 0, 0);
    as_near(c.bytes_noc, 8192, 0);
    /* Reshape: free. */
    accel_work view = {.kind = ACCEL_WORK_VIEW,
                       .outputs = 8192,
                       .a_dtype = QRUN_DTYPE_INT8,
                       .w_dtype = QRUN_DTYPE_INT8};
    assert_int_equal(accel_sim_cost(&hw, &view, &c, &err), QRUN_OK);
    as_near(c.cycles, 0, 0);
    as_near(c.energy_pj_total, 0, 0);
    hw_config_release(&hw);
}

/* Tile quantization and per-row dispatch on edge_small (64 rows of 64 PEs): 32 output channels
 * fill half a row, so pe_output needs one row step per position where 64 channels would share
 * it; a pipeline stage dispatches one kernel per output row. */
static void test_channel_tiles_and_row_dispatch(void **state) {
    (void)state;
    hw_config hw;
    as_load_hw("edge_small", &hw);
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
    as_near(c.compute_cycles, 16 * 9 / EFF, 1e-9);
    as_near(c.rotator_cycles, 16 * 63, 0);
    as_near(c.dispatch_cycles, 100, 0); /* layer by layer: one kernel */
    /* Without the channel count the outputs would pack whole rows: 32768 / 4096 = 8 waves. */
    w.n = 0;
    assert_int_equal(accel_sim_cost(&hw, &w, &c, &err), QRUN_OK);
    assert_int_equal(c.waves, 8);
    /* A row-pipelined stage: one kernel per output row, 32 x 100 cycles. */
    w.n = 32;
    w.row_steps = true;
    assert_int_equal(accel_sim_cost(&hw, &w, &c, &err), QRUN_OK);
    as_near(c.dispatch_cycles, 3200, 0);
    as_near(c.cycles, 3200 + 16 * 9 / EFF + 16 * 63, 1e-9);
    hw_config_release(&hw);
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
    as_run_result ref, sim;
    assert_int_equal(as_run_model(ctx, m, "cpu_ref", NULL, NULL, &ref), QRUN_OK);
    assert_int_equal(ref.n_sim, 0);
    assert_int_equal(ref.sum.n_nodes, -1); /* no report without accel_sim */
    if (as_run_model(ctx, m, "accel_sim", hw, NULL, &sim) != QRUN_OK)
        fail_msg("%s", qrun_context_errmsg(ctx));
    as_same_values(ref.out, sim.out);
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
    as_near(sim.first.energy_kind_uj[0], 6272 * 25 * 0.115 * 1e-6, 1e-12);
    assert_int_equal(sim.first.macs, 6272 * 25);
    assert_true(sim.first.banks >= 1 && sim.first.banks <= 16);
    /* Its input (the host's QuantizeLinear output, 784 bytes) crossed the host link. */
    as_near(sim.first.bytes_host, 784, 0);
    assert_true(sim.sum.host_link_bytes > 784);
    as_assert_consistent(&sim, 0.2);
    qrun_tensor_free(ref.out);
    qrun_tensor_free(sim.out);

    /* accel_sim needs a description. */
    assert_int_equal(as_run_model(ctx, m, "accel_sim", NULL, NULL, &sim), QRUN_E_ARG);
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
    as_run_result ref, sim;
    assert_int_equal(as_run_model(ctx, m, "cpu_ref", NULL, NULL, &ref), QRUN_OK);
    if (as_run_model(ctx, m, "accel_sim", hw, NULL, &sim) != QRUN_OK)
        fail_msg("%s", qrun_context_errmsg(ctx));
    as_same_values(ref.out, sim.out);
    assert_int_equal(sim.sum.macs, 1699840 + 768); /* qrun info: QLinearConv + QLinearMatMul */
    assert_string_equal(sim.first.op_type, "QLinearConv");
    assert_string_equal(sim.first.dtype, "uint8");
    assert_true(sim.first.cycles >= 100); /* each pays the controller dispatch */
    /* speedai240 has zero-detect: the run measured the products with a zero operand and the
     * MAC energy counts only the others (0.03 pJ each for uint8 x int8). */
    assert_true(sim.first.zero_fraction >= 0 && sim.first.zero_fraction <= 1);
    assert_true(sim.max_zero_fraction > 0.1); /* ReLU'd activations at their zero point */
    as_near(sim.first.energy_kind_uj[0],
            (double)sim.first.macs * 0.03 * (1 - sim.first.zero_fraction) * 1e-6, 1e-12);
    /* ReduceMean, QuantizeLinear and DequantizeLinear have no cost basis: host. */
    assert_true(sim.sum.n_host >= 4);
    assert_true(sim.sum.host_link_bytes > 0);
    assert_true(sim.sum.effective_tops > 0 && sim.sum.effective_tops < 1007.8);
    /* chip static + board .. chip max + board */
    assert_true(sim.sum.average_w > 3.5 + 46.6 && sim.sum.average_w < 66 + 46.6);
    as_assert_consistent(&sim, 3.5 + 46.6);
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
    as_run_result ref, sim;
    assert_int_equal(as_run_model(ctx, m, "cpu_ref", NULL, NULL, &ref), QRUN_OK);
    assert_int_equal(as_run_model(ctx, m, "accel_sim", hw, NULL, &sim), QRUN_OK);
    as_same_values(ref.out, sim.out);
    assert_int_equal(sim.sum.n_accel, 0);
    assert_int_equal(sim.sum.n_host, sim.sum.n_nodes);
    as_near(sim.sum.host_link_bytes, 0, 0); /* nothing crosses */
    assert_string_equal(sim.hw, "runai200");
    qrun_tensor_free(ref.out);
    qrun_tensor_free(sim.out);
    qrun_hw_free(hw);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

/* A MAC node with no output channels (W [0, 1, 2, 2]) is no work on the accelerator, not an
 * internal error (found by fuzz_model). */
static void test_backend_empty_mac_node(void **state) {
    (void)state;
    qm_model q;
    qm_init(&q, "ConvInteger", "conv", 10);
    qm_input(&q, "x", 2 /* UINT8 */, 4, (int64_t[]){1, 1, 3, 3});
    static const uint8_t none[1];
    qm_const(&q, "w", 2, 4, (int64_t[]){0, 1, 2, 2}, none, 0);
    qm_output(&q, "y");
    size_t n = 0;
    uint8_t *bytes = pack_model(&q.m, &n);
    qrun_context *ctx = NULL;
    qrun_model *m = NULL;
    qrun_hw *hw = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    assert_int_equal(qrun_model_load_bytes(ctx, bytes, n, NULL, &m), QRUN_OK);
    assert_int_equal(qrun_hw_load(ctx, "edge_small", &hw), QRUN_OK);
    as_run_result sim;
    if (as_run_model(ctx, m, "accel_sim", hw, NULL, &sim) != QRUN_OK)
        fail_msg("%s", qrun_context_errmsg(ctx));
    assert_int_equal(qrun_tensor_numel(sim.out), 0);
    assert_int_equal(sim.sum.macs, 0);
    qrun_tensor_free(sim.out);
    qrun_hw_free(hw);
    qrun_model_free(m);
    qrun_context_free(ctx);
    free(bytes);
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
        as_run_result r;
        if (as_run_model_opts(ctx, m, &so, NULL, &r) != QRUN_OK)
            fail_msg("%s: %s", presets[p], qrun_context_errmsg(ctx));
        assert_string_equal(r.sum.mode, "timing");
        assert_int_equal(r.sum.macs, 4089184256LL); /* qrun info */
        assert_int_equal(r.sum.n_host, 1);          /* Softmax */
        assert_true(r.sum.n_folded >= 239);         /* the ConstantOfShape weights */
        assert_true(r.sum.n_fused > 0);             /* BatchNorm, Relu in the row units */
        as_near(r.sum.weight_bytes, 25502912, 0);   /* int8 weights (Conv + Gemm) */
        assert_string_equal(r.first.dtype, "int8");
        /* edge_small's 2 MB cannot hold the weights: layer by layer, streamed. */
        bool small = p == 2;
        assert_string_equal(r.sum.execution, small ? "layer_by_layer" : "layer_pipelined");
        assert_true(small ? r.sum.streamed_bytes > 0 : r.sum.streamed_bytes == 0);
        hw_config cfg;
        as_load_hw(presets[p], &cfg);
        as_assert_consistent(&r, cfg.static_w + cfg.board_w);
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
    return as_load_built(ctx, b);
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
    qrun_hw *hw = as_hw_with_number(ctx, "edge_small", "\"dispatch_cycles\":", 0);
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
    as_near(n[0].host_link_us, h0, 1e-9);
    as_near(n[1].host_link_us, 0, 0);
    as_near(n[2].host_link_us, h2, 1e-9);
    as_near(sum.launch_us, 5, 0);
    as_near(sum.host_link_us, h0 - 5 + h2, 1e-9);
    double s0 = n[0].time_us, s1 = n[1].time_us, s2 = n[2].time_us;
    double f0 = h0 + s0, st1 = h0 + 3 * s0 / 16, f1 = fmax(st1 + s1, f0 + 3 * s1 / 16);
    double st2 = f1 + h2, f2 = st2 + s2;
    as_near(n[0].start_us, h0, 1e-9);
    as_near(n[1].start_us, st1, 1e-9);
    as_near(n[2].start_us, st2, 1e-9);
    as_near(sum.latency_us, f2, 1e-9);
    as_near(n[0].latency_share_us, f0, 1e-9);
    as_near(n[1].latency_share_us, f1 - f0, 1e-9);
    as_near(n[2].latency_share_us, f2 - f1, 1e-9);
    double period = fmax(fmax(s0, s1), fmax(s2, h0 - 5 + h2));
    as_near(sum.throughput_ips, 1e6 / period, 1e-6 * sum.throughput_ips);
    /* Row-level overlap: shorter than the stages one after another. */
    assert_true(sum.latency_us < h0 + s0 + s1 + s2 + h2 - 1e-3);
    for (int i = 0; i < 3; i++) {
        double e = 0;
        for (int k = 0; k < QRUN_SIM_ENERGY_KINDS; k++)
            e += n[i].energy_kind_uj[k];
        as_near(e, n[i].energy_uj, 1e-12 + 1e-9 * e);
    }
    double e = 0;
    for (int k = 0; k < QRUN_SIM_ENERGY_KINDS; k++)
        e += sum.energy_kind_uj[k];
    as_near(e, sum.energy_uj, 1e-9 * e);
    /* static: edge_small's 0.2 W (no board power) over the period. */
    as_near(sum.energy_kind_uj[6], 0.2 * period, 1e-9);
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
    qrun_model *ma = as_build_matmul_integer(ctx, rows_a),
               *mb = as_build_matmul_integer(ctx, rows_b);
    qrun_hw *hw = NULL;
    assert_int_equal(qrun_hw_load(ctx, "edge_small", &hw), QRUN_OK);
    qrun_session_options so;
    qrun_session_options_init(&so);
    so.backend = "accel_sim";
    so.hw = hw;
    so.sim = QRUN_SIM_TIMING;
    as_run_result ra, rb;
    assert_int_equal(as_run_model_opts(ctx, ma, &so, NULL, &ra), QRUN_OK);
    assert_int_equal(as_run_model_opts(ctx, mb, &so, NULL, &rb), QRUN_OK);
    as_near(ra.sum.latency_us, rb.sum.latency_us, 0);
    as_near(ra.sum.energy_uj, rb.sum.energy_uj, 0);
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_row_split),
        cmocka_unit_test(test_depthwise_pe_output),
        cmocka_unit_test(test_weight_spill),
        cmocka_unit_test(test_dtype_rates),
        cmocka_unit_test(test_row_ops),
        cmocka_unit_test(test_channel_tiles_and_row_dispatch),
        cmocka_unit_test(test_backend_mnist_integer),
        cmocka_unit_test(test_backend_qoperator_model),
        cmocka_unit_test(test_backend_float_falls_back),
        cmocka_unit_test(test_backend_empty_mac_node),
        cmocka_unit_test(test_timing_float_model),
        cmocka_unit_test(test_pipeline_schedule_by_hand),
        cmocka_unit_test(test_timing_ignores_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
