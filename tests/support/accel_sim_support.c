/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers of the accel_sim tests (accel_sim_support.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/support/accel_sim_support.h"

#include "runtime/alloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void as_near(double got, double want, double tol) {
    if (fabs(got - want) > tol)
        fail_msg("got %.10g, want %.10g (tolerance %g)", got, want, tol);
}

void as_load_hw(const char *name, hw_config *hw) {
    qrun_err err;
    if (hw_config_load(name, qrun_allocator_default(), hw, &err) != QRUN_OK)
        fail_msg("%s", err.msg);
}

/* Run model on backend (with hw when given) with the inputs in dir (NULL: a fixed pattern);
 * keep output 0 and the report. */
qrun_status as_run_model_opts(qrun_context *ctx,
                              const qrun_model *m,
                              const qrun_session_options *opts,
                              const char *dir,
                              as_run_result *r) {
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

qrun_status as_run_model(qrun_context *ctx,
                         const qrun_model *m,
                         const char *backend,
                         const qrun_hw *hw,
                         const char *dir,
                         as_run_result *r) {
    qrun_session_options so;
    qrun_session_options_init(&so);
    so.backend = backend;
    so.hw = hw;
    return as_run_model_opts(ctx, m, &so, dir, r);
}

/* The model figures agree with the records. The latency is the kept schedule's, and the
 * records' latency shares (critical path, host link included) sum to it. The host link total
 * is the records' host-link time less the launch (carried by the first crossing). Layer by
 * layer: latency = node times + host link + launch, throughput = 1 / (latency - launch).
 * Pipelined: throughput = 1 / max(slowest node, host link). Energy = dynamic + (static +
 * board power) / rate. */
void as_assert_consistent(const as_run_result *r, double static_w) {
    const qrun_sim_summary *s = &r->sum;
    bool pipelined = strcmp(s->execution, "layer_pipelined") == 0;
    double kept = pipelined ? s->latency_pipelined_us : s->latency_layer_by_layer_us;
    as_near(s->latency_us, kept, 1e-9 * kept);
    as_near(r->node_share_us, s->latency_us, 1e-6 * s->latency_us);
    double launch = s->host_link_bytes > 0 ? s->launch_us : 0;
    as_near(s->host_link_us + launch, r->node_host_us, 1e-9 + 1e-9 * r->node_host_us);
    as_near(s->host_link_bytes, r->node_host_bytes, 1e-6);
    if (!pipelined) {
        as_near(kept, r->node_seconds * 1e6 + s->host_link_us + launch, 1e-6 * kept);
        as_near(s->throughput_ips * (kept - launch) * 1e-6, 1, 1e-9);
    } else {
        as_near(1 / s->throughput_ips, fmax(r->node_max_us, s->host_link_us) * 1e-6,
                1e-9 / s->throughput_ips);
        assert_true(s->latency_us >= r->node_max_us); /* at least one full stage */
    }
    double want = r->node_pj * 1e-6 + static_w / s->throughput_ips * 1e6;
    as_near(s->energy_uj, want, 1e-6 * want);
    as_near(s->average_w, s->energy_uj * 1e-6 * s->throughput_ips, 1e-9 * s->average_w);
}

void as_same_values(const qrun_tensor *a, const qrun_tensor *b) {
    assert_int_equal(qrun_tensor_nbytes(a), qrun_tensor_nbytes(b));
    assert_memory_equal(qrun_tensor_data_const(a), qrun_tensor_data_const(b),
                        qrun_tensor_nbytes(a));
}

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
qrun_hw *as_hw_with_accumulator(
    qrun_context *ctx, const char *base, const char *key, const char *kind, int bits) {
    char text[96];
    snprintf(text, sizeof text, "\"accumulator\": {\"kind\": \"%s\", \"bits\": %d", kind, bits);
    return hw_spliced(ctx, base, accumulator_span, key, text);
}

/* A copy of preset `base` with one number replaced (key as "\"name\":", its first occurrence). */
qrun_hw *as_hw_with_number(qrun_context *ctx, const char *base, const char *key, double v) {
    char text[64];
    snprintf(text, sizeof text, " %.17g", v);
    return hw_spliced(ctx, base, number_span, key, text);
}

qrun_model *as_load_built(qrun_context *ctx, gbuild *b) {
    size_t n = 0;
    uint8_t *buf = gb_pack(b, &n);
    qrun_model *m = NULL;
    if (qrun_model_load_bytes(ctx, buf, n, NULL, &m))
        fail_msg("%s", qrun_context_errmsg(ctx));
    free(buf);
    gb_free(b);
    return m;
}

/* y = MatMulInteger(a uint8 [1, 4], b int8 [4, 2]) with b's columns given. */
qrun_model *as_build_matmul_integer(qrun_context *ctx, const int8_t *b_rows) {
    gbuild *b = gb_new(13);
    int64_t ad[2] = {1, 4}, bd[2] = {4, 2};
    gb_input(b, "a", T_UINT8, 2, ad);
    gb_init(b, "b", T_INT8, 2, bd, b_rows, 8);
    gb_node(b, "MatMulInteger", "mm", "a b", "y");
    gb_output(b, "y");
    return as_load_built(ctx, b);
}

qrun_tensor *as_u8_input(qrun_context *ctx, int rank, const int64_t *dims, const uint8_t *v) {
    qrun_tensor *t = NULL;
    assert_int_equal(qrun_tensor_create(ctx, QRUN_DTYPE_UINT8, rank, dims, NULL, &t), QRUN_OK);
    memcpy(qrun_tensor_data(t), v, qrun_tensor_nbytes(t));
    return t;
}

/* Run a one-input model on backend/hw with an FP8 accumulator for cpu_ref; output 0. */
qrun_tensor *as_run_one(qrun_context *ctx,
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
