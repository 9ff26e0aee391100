/* SPDX-License-Identifier: Apache-2.0 */
/* Public API glue for accel_sim: session options and the report (qrun_session_sim_*). */
#include "qrun/qrun.h"

#include "api/context.h"
#include "backends/accel_sim/model.h"

#include <string.h>

_Static_assert(QRUN_SIM_ENERGY_KINDS == ACCEL_E_COUNT, "public and internal energy classes");

QRUN_API const char *qrun_sim_energy_name(int i) {
    return (i >= 0 && i < ACCEL_E_COUNT) ? accel_energy_name((accel_energy_kind)i) : NULL;
}

/* The session's accel_sim backend context and its index in the chain; NULL when absent. */
static void *sim_backend(const qrun_session *sess, int *index) {
    const qrun_backend *bs = NULL;
    int n = sess ? qrun_session_backends_(sess, &bs) : 0;
    for (int b = 0; b < n; b++) {
        if (strcmp(bs[b].iface.name(bs[b].ctx), "accel_sim") == 0) {
            if (index)
                *index = b;
            return bs[b].ctx;
        }
    }
    return NULL;
}

qrun_status
qrun_session_sim_configure_(qrun_session *sess, const qrun_session_options *opts, qrun_err *err) {
    void *ctx = sim_backend(sess, NULL);
    if (opts->sim != QRUN_SIM_FULL && opts->sim != QRUN_SIM_TIMING)
        return qrun_errf(err, QRUN_E_ARG, "qrun_session_create: unknown simulation mode %d",
                         (int)opts->sim);
    bool sim_opts = opts->sim != QRUN_SIM_FULL || opts->sim_dtype != QRUN_DTYPE_UNDEFINED;
    if (!ctx)
        return sim_opts ? qrun_errf(err, QRUN_E_ARG,
                                    "simulation options (sim mode, sim dtype) need backend "
                                    "accel_sim")
                        : QRUN_OK;
    if (opts->sim_dtype != QRUN_DTYPE_UNDEFINED) {
        const hw_config *hw = accel_sim_backend_hw(ctx);
        if (opts->sim == QRUN_SIM_FULL)
            return qrun_errf(err, QRUN_E_ARG,
                             "a simulation dtype (%s) applies to --sim timing; --sim full "
                             "computes in the model's own datatypes (quantize a float model "
                             "first)",
                             qrun_dtype_name(opts->sim_dtype));
        if ((int)opts->sim_dtype <= 0 || opts->sim_dtype >= QRUN_DTYPE_COUNT ||
            !hw->dtypes[opts->sim_dtype].present)
            return qrun_errf(err, QRUN_E_ARG, "hardware '%s' has no datapath for %s", hw->name,
                             qrun_dtype_name(opts->sim_dtype));
    }
    accel_sim_backend_configure(ctx, opts->sim, opts->sim_dtype);
    return QRUN_OK;
}

/* The cached model report of the current plan, or NULL (error set in the context). */
static const accel_model *sim_model(const qrun_session *sess, void **bctx, qrun_status *st) {
    int index = 0;
    void *ctx = sim_backend(sess, &index);
    *st = QRUN_E_ARG;
    if (!ctx)
        return NULL;
    const accel_model *m = NULL;
    *st = accel_sim_backend_model(ctx, qrun_session_graph_(sess), qrun_session_exec_(sess), index,
                                  &m, qrun_session_err_(sess));
    if (bctx)
        *bctx = ctx;
    return *st ? NULL : m;
}

/* Records: every node but folded constants. */
static const accel_model_node *record(const accel_model *m, int i) {
    for (int k = 0; k < m->n_nodes; k++) {
        if (m->nodes[k].place == ACCEL_PLACE_FOLDED)
            continue;
        if (i-- == 0)
            return &m->nodes[k];
    }
    return NULL;
}

QRUN_API int qrun_session_sim_node_count(const qrun_session *sess) {
    qrun_status st;
    const accel_model *m = sim_model(sess, NULL, &st);
    return m ? m->n_nodes - m->n_folded : 0;
}

static const char *placement(const accel_model_node *mn) {
    return mn->place == ACCEL_PLACE_HOST ? "host" : mn->fused ? "fused" : "accel";
}

QRUN_API qrun_status qrun_session_sim_node(const qrun_session *sess, int i, qrun_sim_node *out) {
    qrun_status st;
    void *bctx = NULL;
    const accel_model *m = sim_model(sess, &bctx, &st);
    const accel_model_node *mn = m && out && i >= 0 ? record(m, i) : NULL;
    if (!mn)
        return m ? QRUN_E_ARG : st;
    const accel_cost *c = &mn->cost;
    memset(out, 0, sizeof *out);
    out->name = mn->node->name;
    out->op_type = mn->node->op_type;
    out->placement = placement(mn);
    bool on = mn->place == ACCEL_PLACE_ACCEL;
    out->dtype = on ? hw_dtype_key(mn->an->mac_dtype) : "";
    if (!out->dtype)
        out->dtype = "";
    out->mapping = on && mn->an->work.kind == ACCEL_WORK_MAC && !mn->fused
                       ? accel_mapping_name(c->mapping)
                       : "";
    out->accumulator = on ? mn->an->accumulator : "";
    out->banks = c->banks;
    out->weights_streamed = mn->streamed;
    out->macs = c->macs;
    out->cycles = c->cycles;
    out->compute_cycles = c->compute_cycles + c->rotator_cycles + c->requant_cycles;
    double busy = out->compute_cycles;
    out->noc_stall_cycles = c->noc_cycles > busy ? c->noc_cycles - busy : 0;
    double hidden = busy > c->noc_cycles ? busy : c->noc_cycles;
    out->memory_stall_cycles = c->offchip_cycles > hidden ? c->offchip_cycles - hidden : 0;
    out->dispatch_cycles = c->dispatch_cycles;
    out->time_us = c->seconds * 1e6;
    out->host_link_us = mn->host_seconds * 1e6;
    out->start_us = mn->start_s * 1e6;
    out->latency_share_us = mn->share_s * 1e6;
    out->utilization = c->utilization;
    out->zero_fraction = on && mn->an->measured && c->macs > 0
                             ? (double)mn->an->zero_products / (double)c->macs
                             : -1;
    out->bytes_sram = c->bytes_sram;
    out->bytes_noc = c->bytes_noc;
    out->bytes_offchip = c->bytes_offchip;
    out->bytes_host = c->bytes_host;
    out->energy_uj = c->energy_pj_total * 1e-6;
    for (int k = 0; k < ACCEL_E_COUNT; k++)
        out->energy_kind_uj[k] = c->energy_pj[k] * 1e-6;
    return QRUN_OK;
}

QRUN_API qrun_status qrun_session_sim_summary(const qrun_session *sess, qrun_sim_summary *out) {
    qrun_status st;
    void *bctx = NULL;
    const accel_model *m = sim_model(sess, &bctx, &st);
    if (!m || !out)
        return m ? QRUN_E_ARG : st;
    memset(out, 0, sizeof *out);
    out->hw = accel_sim_backend_hw(bctx)->name;
    out->mode = accel_sim_backend_mode(bctx) == QRUN_SIM_TIMING ? "timing" : "full";
    out->execution = m->pipelined ? "layer_pipelined" : "layer_by_layer";
    out->n_nodes = m->n_nodes - m->n_folded;
    out->n_accel = m->n_accel;
    out->n_fused = m->n_fused;
    out->n_host = m->n_host;
    out->n_folded = m->n_folded;
    out->banks_used = m->banks_used;
    out->macs = m->macs;
    out->weight_bytes = m->weight_bytes;
    out->sram_bytes = m->sram_bytes;
    out->streamed_bytes = m->streamed_bytes;
    out->host_link_bytes = m->host_bytes;
    out->host_link_us = m->host_seconds * 1e6;
    out->latency_us = m->latency_s * 1e6;
    out->latency_pipelined_us = m->latency_pipelined_s * 1e6;
    out->latency_layer_by_layer_us = m->latency_layer_s * 1e6;
    out->launch_us = m->launch_s * 1e6;
    out->throughput_ips = m->period_s > 0 ? 1.0 / m->period_s : 0;
    out->energy_uj = m->energy_pj * 1e-6;
    out->average_w = m->period_s > 0 ? m->energy_pj * 1e-12 / m->period_s : 0;
    out->effective_tops = 2.0 * (double)m->macs * out->throughput_ips / 1e12;
    for (int k = 0; k < ACCEL_E_COUNT; k++)
        out->energy_kind_uj[k] = m->energy_kind_pj[k] * 1e-6;
    return QRUN_OK;
}
