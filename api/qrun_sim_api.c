/* SPDX-License-Identifier: Apache-2.0 */
/* Public API glue for the accel_sim report (qrun_session_sim_*, qrun_sim_energy_name). */
#include "qrun/qrun.h"

#include "api/context.h"
#include "backends/accel_sim/backend.h"

#include <string.h>

_Static_assert(QRUN_SIM_ENERGY_KINDS == ACCEL_E_COUNT, "public and internal energy classes");

QRUN_API const char *qrun_sim_energy_name(int i) {
    return (i >= 0 && i < ACCEL_E_COUNT) ? accel_energy_name((accel_energy_kind)i) : NULL;
}

/* The session's accel_sim backend context, or NULL when it runs another backend. */
static void *sim_backend(const qrun_session *sess) {
    const qrun_backend *bs = NULL;
    int n = sess ? qrun_session_backends_(sess, &bs) : 0;
    for (int b = 0; b < n; b++) {
        if (strcmp(bs[b].iface.name(bs[b].ctx), "accel_sim") == 0)
            return bs[b].ctx;
    }
    return NULL;
}

QRUN_API int qrun_session_sim_node_count(const qrun_session *sess) {
    void *ctx = sim_backend(sess);
    const accel_sim_node *const *nodes = NULL;
    return ctx ? accel_sim_backend_nodes(ctx, &nodes) : 0;
}

QRUN_API qrun_status qrun_session_sim_node(const qrun_session *sess, int i, qrun_sim_node *out) {
    void *ctx = sim_backend(sess);
    const accel_sim_node *const *nodes = NULL;
    int n = ctx ? accel_sim_backend_nodes(ctx, &nodes) : 0;
    if (!out || i < 0 || i >= n)
        return QRUN_E_ARG;
    const accel_sim_node *an = nodes[i];
    const accel_cost *c = &an->cost;
    memset(out, 0, sizeof *out);
    out->name = an->node->name;
    out->op_type = an->node->op_type;
    out->dtype = hw_dtype_key(an->mac_dtype);
    out->mapping = accel_mapping_name(c->mapping);
    out->macs = c->macs;
    out->cycles = c->cycles;
    out->compute_cycles = c->compute_cycles + c->rotator_cycles + c->requant_cycles;
    out->stall_cycles = c->stall_cycles;
    out->dispatch_cycles = c->dispatch_cycles;
    out->time_us = c->seconds * 1e6;
    out->utilization = c->utilization;
    out->energy_uj = c->energy_pj_total * 1e-6;
    for (int k = 0; k < ACCEL_E_COUNT; k++)
        out->energy_kind_uj[k] = c->energy_pj[k] * 1e-6;
    return QRUN_OK;
}

QRUN_API qrun_status qrun_session_sim_summary(const qrun_session *sess, qrun_sim_summary *out) {
    void *ctx = sim_backend(sess);
    if (!ctx || !out)
        return QRUN_E_ARG;
    memset(out, 0, sizeof *out);
    const hw_config *hw = accel_sim_backend_hw(ctx);
    const accel_sim_node *const *nodes = NULL;
    int n = accel_sim_backend_nodes(ctx, &nodes);
    double seconds = 0, pj = 0;
    out->hw = hw->name;
    out->n_nodes = n;
    for (int k = 0; k < n; k++) {
        out->macs += nodes[k]->cost.macs;
        out->cycles += nodes[k]->cost.cycles;
        seconds += nodes[k]->cost.seconds;
        pj += nodes[k]->cost.energy_pj_total;
    }
    out->time_us = seconds * 1e6;
    out->energy_uj = pj * 1e-6;
    out->effective_tops = seconds > 0 ? 2.0 * (double)out->macs / seconds / 1e12 : 0;
    out->average_w = seconds > 0 ? pj * 1e-12 / seconds : 0;
    return QRUN_OK;
}
