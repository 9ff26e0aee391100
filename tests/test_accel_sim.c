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

#include <math.h>
#include <stdio.h>
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
 * = 204.8 GB/s, dispatch 100 cycles, reduce 1 cycle per level (6 levels for 64 PEs). */

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
    /* pe_output: 1 wave x 256 + 63 rotator = 319; row_split_k: 2 waves x (4 + 6) = 20. */
    assert_int_equal(c.mapping, ACCEL_MAP_ROW_SPLIT_K);
    assert_int_equal(c.waves, 2);
    assert_near(c.compute_cycles, 20, 0);
    assert_near(c.rotator_cycles, 0, 0);
    assert_near(c.requant_cycles, 2, 0); /* 128 outputs over 64 rows */
    assert_near(c.noc_cycles, 384 / 204.8e9 * 0.8e9, 1e-9);
    assert_near(c.cycles, 100 + 22, 1e-9);
    assert_near(c.stall_cycles, 0, 0);
    assert_near(c.seconds, 122 / 0.8e9, 1e-18);
    assert_int_equal(c.macs, 32768);
    assert_near(c.utilization, 32768.0 / (122 * 4096), 1e-12);
    /* Energy, pJ: MAC 0.115; 2 operand bytes per MAC read at 0.217 plus 384 B written;
     * NoC 384 B x (4 + 4) / 3 hops x 0.36; requant 128 x 1.3; static 0.2 W x time. */
    assert_near(c.energy_pj[ACCEL_E_MAC], 32768 * 0.115, 1e-6);
    assert_near(c.energy_pj[ACCEL_E_SRAM], 32768 * 2 * 0.217 + 384 * 0.217, 1e-6);
    assert_near(c.energy_pj[ACCEL_E_ROTATOR], 0, 0);
    assert_near(c.energy_pj[ACCEL_E_NOC], 384 * 8 / 3.0 * 0.36, 1e-6);
    assert_near(c.energy_pj[ACCEL_E_OFFCHIP], 0, 0);
    assert_near(c.energy_pj[ACCEL_E_REQUANT], 128 * 1.3, 1e-9);
    assert_near(c.energy_pj[ACCEL_E_STATIC], 0.2 * 122 / 0.8e9 * 1e12, 1e-6);
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
    /* pe_output: ceil(200704 / 4096) = 49 waves x 9 + 49 x 63 = 3528;
     * row_split_k: 3136 waves x (1 + 6) = 21952. */
    assert_int_equal(c.mapping, ACCEL_MAP_PE_OUTPUT);
    assert_int_equal(c.waves, 49);
    assert_near(c.compute_cycles, 441, 0);
    assert_near(c.rotator_cycles, 3087, 0);
    assert_near(c.noc_cycles, 5 * 200704 / 204.8e9 * 0.8e9, 1e-6); /* 3920: hidden */
    assert_near(c.cycles, 100 + 3920, 1e-6);                       /* NoC-bound after all */
    assert_near(c.stall_cycles, 3920 - 3528, 1e-6);
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
    /* pe_output: 1 wave x 32 + 63 = 95; row_split_k: 64 waves x (1 + 6) = 448. */
    assert_int_equal(c.mapping, ACCEL_MAP_PE_OUTPUT);
    assert_near(c.compute_cycles, 32, 0);
    w.w_dtype = QRUN_DTYPE_INT8;
    assert_int_equal(accel_sim_cost(&hw, &w, &c, &err), QRUN_OK);
    assert_near(c.rate, 1, 0);
    assert_near(c.compute_cycles, 64, 0);
    hw_config_release(&hw);

    load_hw("runai200", &hw);
    assert_int_equal(accel_sim_cost(&hw, &w, &c, &err), QRUN_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "no MAC rate for float8e3m4"));
    hw_config_release(&hw);
}

/* ---- the backend on real models ------------------------------------------ */

typedef struct run_result {
    qrun_tensor *out;
    char hw[64]; /* the summary's hw name, copied: it lives as long as the session */
    int n_sim;
    qrun_sim_node first; /* the first record with MACs */
    double node_seconds, node_host_us, node_host_bytes, node_pj; /* sums over the records */
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
            if (nd.macs > 0)
                r->first = nd;
            r->node_seconds += nd.time_us * 1e-6;
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

/* The model figures agree with the records: latency = node time + host link; throughput is
 * 1 / latency layer by layer and at least that pipelined; energy = dynamic + static / rate. */
static void assert_consistent(const run_result *r, double static_w) {
    const qrun_sim_summary *s = &r->sum;
    assert_near(s->latency_us, r->node_seconds * 1e6 + s->host_link_us, 1e-6 * s->latency_us);
    assert_near(s->host_link_us, r->node_host_us, 1e-9 + 1e-9 * s->host_link_us);
    assert_near(s->host_link_bytes, r->node_host_bytes, 1e-6);
    if (strcmp(s->execution, "layer_by_layer") == 0)
        assert_near(s->throughput_ips * s->latency_us * 1e-6, 1, 1e-9);
    else
        assert_true(s->throughput_ips * s->latency_us * 1e-6 >= 1 - 1e-9);
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
    /* ReduceMean, QuantizeLinear and DequantizeLinear have no cost basis: host. */
    assert_true(sim.sum.n_host >= 4);
    assert_true(sim.sum.host_link_bytes > 0);
    assert_true(sim.sum.effective_tops > 0 && sim.sum.effective_tops < 1007.8);
    assert_true(sim.sum.average_w > 3.5 && sim.sum.average_w < 66); /* static .. max */
    assert_consistent(&sim, 3.5);
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
        char model[512], dir[512], want_path[512];
        snprintf(model, sizeof model, "%s/%s/model.onnx", root, cases[c]);
        snprintf(dir, sizeof dir, "%s/%s/test_data_set_0", root, cases[c]);
        snprintf(want_path, sizeof want_path, "%s/output_0.pb", dir);
        qrun_model *m = NULL;
        qrun_tensor *want = NULL;
        assert_int_equal(qrun_model_load(ctx, model, &m), QRUN_OK);
        assert_int_equal(qrun_tensor_load_file(ctx, want_path, &want), QRUN_OK);
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_row_split),
        cmocka_unit_test(test_depthwise_pe_output),
        cmocka_unit_test(test_weight_spill),
        cmocka_unit_test(test_dtype_rates),
        cmocka_unit_test(test_backend_mnist_integer),
        cmocka_unit_test(test_backend_qoperator_model),
        cmocka_unit_test(test_backend_float_falls_back),
        cmocka_unit_test(test_backend_onnx_node_tests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
