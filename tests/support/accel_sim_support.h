/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared helpers of the accel_sim tests (test_accel_sim.c: timing, mapping, schedules,
 * energy; test_accel_datapath.c: datapaths and bit identity with cpu_ref): presets and
 * modified presets, built models, runs with their simulation report, and the report's
 * internal consistency.
 */
#ifndef QRUN_TESTS_SUPPORT_ACCEL_SIM_SUPPORT_H
#define QRUN_TESTS_SUPPORT_ACCEL_SIM_SUPPORT_H

#include "backends/accel_sim/hw_config.h"
#include "qrun/qrun.h"
#include "tests/support/graph_builder.h"

#include <stdint.h>

#define MODELS QRUN_SHARED_DIR "/models"

/* ONNX element types of graph_builder initializers and inputs. */
enum { T_FLOAT = 1, T_UINT8 = 2, T_INT8 = 3, T_E4M3FN = 17 };

typedef struct as_run_result {
    qrun_tensor *out;
    char hw[64]; /* the summary's hw name, copied: it lives as long as the session */
    int n_sim;
    qrun_sim_node first;      /* the first record with MACs */
    char first_acc[32];       /* its accumulator, copied: the string lives as long as the session */
    double max_zero_fraction; /* over the MAC records */
    double node_seconds, node_host_us, node_host_bytes, node_pj; /* sums over the records */
    double node_share_us, node_max_us; /* sum of latency shares, longest node time */
    qrun_sim_summary sum;
} as_run_result;

/* |got - want| <= tol, or the test fails showing both. */
void as_near(double got, double want, double tol);

/* A preset or hw file, loaded with the default allocator (the test fails on error). */
void as_load_hw(const char *name, hw_config *hw);

/* Run model on backend (with hw when given) with the inputs in dir (NULL: a fixed pattern);
 * keep output 0 and the report. */
qrun_status as_run_model_opts(qrun_context *ctx,
                              const qrun_model *m,
                              const qrun_session_options *opts,
                              const char *dir,
                              as_run_result *r);

qrun_status as_run_model(qrun_context *ctx,
                         const qrun_model *m,
                         const char *backend,
                         const qrun_hw *hw,
                         const char *dir,
                         as_run_result *r);

/* The model figures agree with the records. The latency is the kept schedule's, and the
 * records' latency shares (critical path, host link included) sum to it. The host link total
 * is the records' host-link time less the launch (carried by the first crossing). Layer by
 * layer: latency = node times + host link + launch, throughput = 1 / (latency - launch).
 * Pipelined: throughput = 1 / max(slowest node, host link). Energy = dynamic + (static +
 * board power) / rate. */
void as_assert_consistent(const as_run_result *r, double static_w);

/* Same size and bytes. */
void as_same_values(const qrun_tensor *a, const qrun_tensor *b);

/*
 * A copy of preset `base` whose dtypes.<key>.accumulator is {kind, bits}: the accumulator is the
 * only difference.
 */
qrun_hw *as_hw_with_accumulator(
    qrun_context *ctx, const char *base, const char *key, const char *kind, int bits);

/* A copy of preset `base` with one number replaced (key as "\"name\":", its first occurrence). */
qrun_hw *as_hw_with_number(qrun_context *ctx, const char *base, const char *key, double v);

/* Load a model built with graph_builder (and free the builder). */
qrun_model *as_load_built(qrun_context *ctx, gbuild *b);

/* y = MatMulInteger(a uint8 [1, 4], b int8 [4, 2]) with b's columns given. */
qrun_model *as_build_matmul_integer(qrun_context *ctx, const int8_t *b_rows);

/* A uint8 tensor of dims holding v. */
qrun_tensor *as_u8_input(qrun_context *ctx, int rank, const int64_t *dims, const uint8_t *v);

/* Run a one-input model on backend/hw with an FP8 accumulator for cpu_ref; output 0. */
qrun_tensor *as_run_one(qrun_context *ctx,
                        const qrun_model *m,
                        const char *backend,
                        const qrun_hw *hw,
                        qrun_fp8_accum acc,
                        const qrun_tensor *in);

#endif
