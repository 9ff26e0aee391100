/* SPDX-License-Identifier: Apache-2.0 */
/* Partition, fusion, layer pipelining and model totals over a plan (see model.h). */
#include "backends/accel_sim/model.h"

#include "runtime/alloc.h"

#include <math.h>
#include <string.h>

/* Which side a value lives on; graph inputs start on the host. */
enum { SIDE_CONST = 0, SIDE_HOST = 1, SIDE_ACCEL = 2 };

typedef struct walk {
    const qrun_graph *g;
    const qrun_exec *x;
    void *bctx;
    const hw_config *hw;
    const qrun_allocator *alloc;
    unsigned char *side;     /* per value */
    unsigned char *moved;    /* per value: bit SIDE_x set once it was copied to side x */
    int *uses;               /* per value: consuming nodes (graph outputs count as a use) */
    int *fused_from_mac;     /* per value: 1 when produced by a MAC layer or an op fused into one */
    unsigned char *is_const; /* per value: computed from constants only */
    int *producer;           /* per value: index of the node producing it, -1 none */
    unsigned char *feeds_mac; /* per value: only use is a MAC layer's input (pre-activation) */
} walk;

static double value_bytes(const walk *w, int v) {
    const struct qrun_tensor *t = qrun_exec_value(w->x, v);
    return t ? accel_sim_backend_bytes(w->bctx, t) : 0;
}

static void charge_host(walk *w, accel_model_node *mn, int v) {
    mn->host_values++;
    mn->host_bytes += value_bytes(w, v);
}

/* Side of each node, the host-link values it pulls in, and its outputs' side. */
static void partition(walk *w, accel_model *m) {
    const qrun_graph *g = w->g;
    for (int i = 0; i < g->n_inputs; i++)
        w->side[g->inputs[i]] = SIDE_HOST;
    for (int k = 0; k < g->n_nodes; k++) {
        accel_model_node *mn = &m->nodes[k];
        const qrun_node *n = &g->nodes[k];
        int s = mn->place == ACCEL_PLACE_ACCEL  ? SIDE_ACCEL
                : mn->place == ACCEL_PLACE_HOST ? SIDE_HOST
                                                : SIDE_CONST;
        for (int i = 0; s != SIDE_CONST && i < n->n_inputs; i++) {
            int v = n->inputs[i];
            if (v < 0 || w->side[v] == SIDE_CONST || w->side[v] == s || (w->moved[v] & (1u << s)))
                continue;
            w->moved[v] |= (unsigned char)(1u << s);
            charge_host(w, mn, v);
        }
        for (int o = 0; o < n->n_outputs; o++) {
            if (n->outputs[o] >= 0)
                w->side[n->outputs[o]] = (unsigned char)s;
        }
    }
    for (int o = 0; o < g->n_outputs; o++) {
        int v = g->outputs[o];
        for (int k = 0; k < g->n_nodes; k++) {
            const qrun_node *n = &g->nodes[k];
            for (int j = 0; j < n->n_outputs; j++) {
                if (n->outputs[j] == v && w->side[v] == SIDE_ACCEL)
                    charge_host(w, &m->nodes[k], v);
            }
        }
    }
}

static void find_producers(walk *w) {
    const qrun_graph *g = w->g;
    for (int v = 0; v < g->n_values; v++)
        w->producer[v] = -1;
    for (int k = 0; k < g->n_nodes; k++) {
        for (int o = 0; o < g->nodes[k].n_outputs; o++) {
            if (g->nodes[k].outputs[o] >= 0)
                w->producer[g->nodes[k].outputs[o]] = k;
        }
    }
}

static void count_uses(walk *w) {
    const qrun_graph *g = w->g;
    for (int k = 0; k < g->n_nodes; k++) {
        for (int i = 0; i < g->nodes[k].n_inputs; i++) {
            if (g->nodes[k].inputs[i] >= 0)
                w->uses[g->nodes[k].inputs[i]]++;
        }
    }
    for (int o = 0; o < g->n_outputs; o++)
        w->uses[g->outputs[o]]++;
}

/* Mark unary row ops that run in their MAC producer's row unit. */
static void fuse(walk *w, accel_model *m) {
    const qrun_graph *g = w->g;
    for (int k = 0; k < g->n_nodes; k++) {
        accel_model_node *mn = &m->nodes[k];
        const qrun_node *n = &g->nodes[k];
        if (mn->place != ACCEL_PLACE_ACCEL)
            continue;
        int out = n->n_outputs > 0 ? n->outputs[0] : -1;
        if (out < 0)
            continue;
        if (mn->an->work.kind == ACCEL_WORK_MAC) {
            w->fused_from_mac[out] = 1;
            continue;
        }
        int in = n->n_inputs > 0 ? n->inputs[0] : -1;
        if (mn->an->fusable && in >= 0 && w->fused_from_mac[in] && w->uses[in] == 1) {
            mn->fused = true;
            w->fused_from_mac[out] = 1;
            m->n_fused++;
        }
    }
    /* Pre-activation (DenseNet's BN-ReLU-Conv): a unary row op whose only consumer is a MAC
     * layer (directly or through such ops) runs in that layer's row units as its activations
     * arrive. Backwards, so chains fuse. feeds_mac[v]: v's only use is such an input. */
    for (int k = g->n_nodes - 1; k >= 0; k--) {
        accel_model_node *mn = &m->nodes[k];
        const qrun_node *n = &g->nodes[k];
        int in = n->n_inputs > 0 ? n->inputs[0] : -1;
        if (mn->place != ACCEL_PLACE_ACCEL || in < 0 || n->n_outputs < 1)
            continue;
        bool pre =
            !mn->fused && mn->an->fusable && n->outputs[0] >= 0 && w->feeds_mac[n->outputs[0]];
        if (pre) {
            mn->fused = true;
            m->n_fused++;
        }
        if ((pre || mn->an->work.kind == ACCEL_WORK_MAC) && w->uses[in] == 1)
            w->feeds_mac[in] = 1;
    }
}

static qrun_status
cost_at(const walk *w, accel_model_node *mn, int banks, bool stream, qrun_err *err) {
    accel_work wk = mn->an->work;
    wk.banks = banks;
    wk.stream_weights = stream;
    wk.row_steps = banks > 0; /* a pipeline stage on its own banks runs row by row */
    return accel_sim_cost(w->hw, &wk, &mn->cost, err);
}

/* A fused op: no time of its own; the row unit's per-element energy. */
static void cost_fused(const walk *w, accel_model_node *mn) {
    memset(&mn->cost, 0, sizeof mn->cost);
    mn->cost.energy_pj[ACCEL_E_REQUANT] =
        (double)mn->an->work.outputs * w->hw->requant_pj_per_element;
    accel_cost_total(&mn->cost);
}

static bool is_stage(const accel_model_node *mn) {
    return mn->place == ACCEL_PLACE_ACCEL && !mn->fused && mn->an->work.kind != ACCEL_WORK_VIEW;
}

static int min_banks(const walk *w, const accel_model_node *mn) {
    double need = ceil((double)mn->an->work.weight_bytes / (double)w->hw->sram_bytes);
    return need > 1 ? (int)need : 1;
}

/* Layer pipelining: minimum banks per stage, then spare banks to the slowest improvable stage. */
static qrun_status pipeline(walk *w, accel_model *m, int *banks, qrun_err *err) {
    int used = 0;
    for (int k = 0; k < m->n_nodes; k++) {
        if (!is_stage(&m->nodes[k]))
            continue;
        banks[k] = min_banks(w, &m->nodes[k]);
        used += banks[k];
        qrun_status s = cost_at(w, &m->nodes[k], banks[k], false, err);
        if (s)
            return s;
    }
    int spare = w->hw->banks - used;
    bool *done = qrun_calloc(w->alloc, (size_t)m->n_nodes + 1, 1);
    if (!done)
        return qrun_errf(err, QRUN_E_NOMEM, "out of memory");
    while (spare > 0) {
        int slow = -1;
        for (int k = 0; k < m->n_nodes; k++) {
            if (is_stage(&m->nodes[k]) && !done[k] &&
                (slow < 0 || m->nodes[k].cost.seconds > m->nodes[slow].cost.seconds))
                slow = k;
        }
        if (slow < 0)
            break;
        accel_model_node *mn = &m->nodes[slow];
        accel_cost before = mn->cost;
        qrun_status s = cost_at(w, mn, banks[slow] + 1, false, err);
        if (s) {
            qrun_free(w->alloc, done);
            return s;
        }
        if (mn->cost.seconds < before.seconds) {
            banks[slow]++;
            spare--;
        } else {
            mn->cost = before;
            done[slow] = true;
        }
    }
    qrun_free(w->alloc, done);
    m->banks_used = w->hw->banks - spare;
    return QRUN_OK;
}

/* Layer by layer: every bank per layer; weights resident in plan order while they fit. */
static qrun_status layer_by_layer(walk *w, accel_model *m, qrun_err *err) {
    double resident = 0;
    for (int k = 0; k < m->n_nodes; k++) {
        accel_model_node *mn = &m->nodes[k];
        if (!is_stage(mn))
            continue;
        double wb = (double)mn->an->work.weight_bytes;
        mn->streamed = mn->an->work.kind == ACCEL_WORK_MAC && resident + wb > m->sram_bytes;
        if (!mn->streamed)
            resident += wb;
        if (mn->streamed && w->hw->offchip_bytes == 0)
            return qrun_errf(err, QRUN_E_UNSUPPORTED,
                             "accel_sim: node '%s': the model's weights (%.0f bytes) exceed the "
                             "%.0f bytes of SRAM of '%s', which has no off-chip memory",
                             mn->node->name, m->weight_bytes, m->sram_bytes, w->hw->name);
        qrun_status s = cost_at(w, mn, 0, mn->streamed, err);
        if (s)
            return s;
        if (mn->streamed)
            m->streamed_bytes += wb;
    }
    m->banks_used = w->hw->banks;
    return QRUN_OK;
}

static bool fits_pipelined(const walk *w, const accel_model *m) {
    int need = 0;
    for (int k = 0; k < m->n_nodes; k++) {
        if (is_stage(&m->nodes[k]))
            need += min_banks(w, &m->nodes[k]);
    }
    return m->weight_bytes <= m->sram_bytes && need <= w->hw->banks;
}

/* Zero-detect PEs (hw.bank.zero_detect) spend no MAC energy on products with a zero operand
 * (accelerator.md §5.4: energy, not time); the fraction is what the last full run measured. */
static void apply_zero_detect(const walk *w, accel_model_node *mn) {
    const accel_sim_node *an = mn->an;
    if (!w->hw->zero_detect || mn->place != ACCEL_PLACE_ACCEL || mn->fused || !an->measured ||
        mn->cost.macs <= 0)
        return;
    double frac = fmin(1.0, (double)an->zero_products / (double)mn->cost.macs);
    mn->cost.energy_pj[ACCEL_E_MAC] *= 1.0 - frac;
    accel_cost_total(&mn->cost);
}

/* Host-link time and energy into each node's cost; the launch goes with the first crossing. */
static void charge_host_link(const walk *w, accel_model *m) {
    double link_bps = w->hw->host_gb_per_s * 1e9;
    bool launched = false;
    m->launch_s = w->hw->host_launch_us * 1e-6;
    for (int k = 0; k < m->n_nodes; k++) {
        accel_model_node *mn = &m->nodes[k];
        if (mn->host_values == 0)
            continue;
        mn->host_seconds =
            mn->host_bytes / link_bps + mn->host_values * w->hw->host_latency_us * 1e-6;
        mn->cost.bytes_host = mn->host_bytes;
        mn->cost.energy_pj[ACCEL_E_HOST] = mn->host_bytes * w->hw->host_pj_per_byte;
        accel_cost_total(&mn->cost);
        m->host_bytes += mn->host_bytes;
        m->host_seconds += mn->host_seconds;
        if (!launched)
            mn->host_seconds += m->launch_s;
        launched = true;
    }
}

/* Time a node keeps the schedule busy: accel stages their cost, host nodes none (host compute
 * is not modelled), zero-time nodes (views, fused row ops) pass their producer's times on. */
static bool passes_through(const accel_model_node *mn) {
    return mn->place == ACCEL_PLACE_ACCEL && !is_stage(mn);
}

/* Row-level pipelined schedule over the graph (model.h). */
static void schedule_pipelined(const walk *w, accel_model *m) {
    for (int k = 0; k < m->n_nodes; k++) {
        accel_model_node *mn = &m->nodes[k];
        const qrun_node *n = mn->node;
        mn->crit = -1;
        if (mn->place == ACCEL_PLACE_FOLDED)
            continue;
        bool stage = is_stage(mn);
        double fill = stage && mn->an->work.fill > 0 ? mn->an->work.fill : 1;
        double s = stage ? mn->cost.seconds : 0;
        double start = 0, last = 0, crit_start = 0;
        for (int i = 0; i < n->n_inputs; i++) {
            int p = n->inputs[i] >= 0 ? w->producer[n->inputs[i]] : -1;
            if (p < 0 || m->nodes[p].place == ACCEL_PLACE_FOLDED)
                continue;
            const accel_model_node *pn = &m->nodes[p];
            double ready = pn->start_s + fill * (pn->finish_s - pn->start_s);
            if (ready > start)
                start = ready;
            if (mn->crit < 0 || pn->finish_s > last) {
                last = pn->finish_s;
                crit_start = pn->start_s;
                mn->crit = p;
            }
        }
        if (passes_through(mn)) {
            mn->start_s = crit_start + mn->host_seconds;
            mn->finish_s = last + mn->host_seconds;
            continue;
        }
        if (!stage) /* host: its whole input first */
            start = last;
        mn->start_s = start + mn->host_seconds;
        mn->finish_s = fmax(mn->start_s + s, last + mn->host_seconds + fill * s);
    }
}

/* Layer by layer: one node after another in plan order. */
static void schedule_layers(accel_model *m) {
    double t = 0;
    int prev = -1;
    for (int k = 0; k < m->n_nodes; k++) {
        accel_model_node *mn = &m->nodes[k];
        mn->crit = prev;
        if (mn->place == ACCEL_PLACE_FOLDED)
            continue;
        mn->start_s = t + mn->host_seconds;
        mn->finish_s = mn->start_s + (is_stage(mn) ? mn->cost.seconds : 0);
        t = mn->finish_s;
        prev = k;
    }
}

/* Latency = the last finish; its critical path gets the shares. */
static double critical_path(accel_model *m) {
    int end = -1;
    for (int k = 0; k < m->n_nodes; k++) {
        if (m->nodes[k].place != ACCEL_PLACE_FOLDED &&
            (end < 0 || m->nodes[k].finish_s >= m->nodes[end].finish_s))
            end = k;
    }
    for (int k = end; k >= 0; k = m->nodes[k].crit) {
        accel_model_node *mn = &m->nodes[k];
        mn->share_s = mn->finish_s - (mn->crit >= 0 ? m->nodes[mn->crit].finish_s : 0);
    }
    return end >= 0 ? m->nodes[end].finish_s : 0;
}

/* Host link, schedule, then the model totals. */
static void totals(const walk *w, accel_model *m) {
    double stage_max = 0;
    charge_host_link(w, m);
    for (int k = 0; k < m->n_nodes; k++) {
        accel_model_node *mn = &m->nodes[k];
        apply_zero_detect(w, mn);
        for (int e = 0; e < ACCEL_E_COUNT; e++) {
            if (e != ACCEL_E_STATIC)
                m->energy_kind_pj[e] += mn->cost.energy_pj[e];
        }
        if (mn->place == ACCEL_PLACE_ACCEL)
            m->macs += mn->cost.macs;
        if (mn->cost.seconds > stage_max)
            stage_max = mn->cost.seconds;
    }
    if (m->pipelined)
        schedule_pipelined(w, m);
    else
        schedule_layers(m);
    m->latency_s = critical_path(m);
    if (m->pipelined)
        m->latency_pipelined_s = m->latency_s;
    else
        m->latency_layer_s = m->latency_s;
    m->period_s = m->pipelined ? fmax(stage_max, m->host_seconds) : m->latency_s - m->launch_s;
    /* Chip static and board power draw over the period (one inference's share of the time). */
    m->energy_kind_pj[ACCEL_E_STATIC] = (w->hw->static_w + w->hw->board_w) * m->period_s * 1e12;
    m->energy_pj = 0;
    for (int e = 0; e < ACCEL_E_COUNT; e++)
        m->energy_pj += m->energy_kind_pj[e];
}

/* Every input of n is an initializer or the result of a constant subgraph. */
static bool const_inputs(const walk *w, const qrun_node *n) {
    for (int i = 0; i < n->n_inputs; i++) {
        int v = n->inputs[i];
        if (v >= 0 && !w->is_const[v] && w->g->values[v].kind != QRUN_VALUE_CONSTANT)
            return false;
    }
    return true;
}

static void place_nodes(walk *w, accel_model *m, int accel_backend) {
    int n_rec = 0;
    const qrun_exec_record *rec = qrun_exec_records(w->x, &n_rec);
    const accel_sim_node *const *ans = NULL;
    int n_an = accel_sim_backend_nodes(w->bctx, &ans);
    for (int k = 0; k < w->g->n_nodes; k++) {
        accel_model_node *mn = &m->nodes[k];
        mn->node = &w->g->nodes[k];
        mn->place = k < n_rec && rec[k].folded                     ? ACCEL_PLACE_FOLDED
                    : k < n_rec && rec[k].backend == accel_backend ? ACCEL_PLACE_ACCEL
                                                                   : ACCEL_PLACE_HOST;
        /* A constant subgraph too large for the executor to fold still computes a constant:
         * it is prepare-time work, and its result a stationary weight. */
        if (const_inputs(w, mn->node))
            mn->place = ACCEL_PLACE_FOLDED;
        for (int o = 0; mn->place == ACCEL_PLACE_FOLDED && o < mn->node->n_outputs; o++) {
            if (mn->node->outputs[o] >= 0)
                w->is_const[mn->node->outputs[o]] = 1;
        }
        if (mn->place != ACCEL_PLACE_ACCEL)
            continue;
        for (int a = 0; a < n_an && !mn->an; a++) {
            if (ans[a]->node == mn->node)
                mn->an = ans[a];
        }
        if (!mn->an) /* not planned yet (a dynamic part before its first run) */
            mn->place = ACCEL_PLACE_HOST;
    }
    for (int k = 0; k < m->n_nodes; k++) {
        accel_model_node *mn = &m->nodes[k];
        m->n_accel += mn->place == ACCEL_PLACE_ACCEL;
        m->n_host += mn->place == ACCEL_PLACE_HOST;
        m->n_folded += mn->place == ACCEL_PLACE_FOLDED;
        if (mn->place == ACCEL_PLACE_ACCEL && mn->an->work.kind == ACCEL_WORK_MAC)
            m->weight_bytes += (double)mn->an->work.weight_bytes;
    }
}

/* One schedule: pipelined (when it fits; else layer by layer) or layer by layer. */
static qrun_status eval_schedule(const qrun_graph *g,
                                 const qrun_exec *x,
                                 int accel_backend,
                                 void *bctx,
                                 const qrun_allocator *alloc,
                                 bool try_pipeline,
                                 accel_model *m,
                                 qrun_err *err) {
    memset(m, 0, sizeof *m);
    size_t nv = (size_t)g->n_values + 1;
    walk w = {.g = g, .x = x, .bctx = bctx, .hw = accel_sim_backend_hw(bctx), .alloc = alloc};
    m->nodes = qrun_calloc(alloc, (size_t)g->n_nodes + 1, sizeof *m->nodes);
    w.side = qrun_calloc(alloc, nv, 1);
    w.moved = qrun_calloc(alloc, nv, 1);
    w.uses = qrun_calloc(alloc, nv, sizeof *w.uses);
    w.fused_from_mac = qrun_calloc(alloc, nv, sizeof *w.fused_from_mac);
    w.is_const = qrun_calloc(alloc, nv, 1);
    w.producer = qrun_calloc(alloc, nv, sizeof *w.producer);
    w.feeds_mac = qrun_calloc(alloc, nv, 1);
    int *banks = qrun_calloc(alloc, (size_t)g->n_nodes + 1, sizeof *banks);
    qrun_status s = QRUN_OK;
    if (!m->nodes || !w.side || !w.moved || !w.uses || !w.fused_from_mac || !w.is_const ||
        !w.producer || !w.feeds_mac || !banks)
        s = qrun_errf(err, QRUN_E_NOMEM, "out of memory");
    if (!s) {
        m->n_nodes = g->n_nodes;
        m->sram_bytes = (double)w.hw->banks * (double)w.hw->sram_bytes;
        place_nodes(&w, m, accel_backend);
        find_producers(&w);
        count_uses(&w);
        fuse(&w, m);
        partition(&w, m);
        for (int k = 0; k < m->n_nodes; k++) {
            accel_model_node *mn = &m->nodes[k];
            if (mn->fused)
                cost_fused(&w, mn);
            else if (mn->place == ACCEL_PLACE_ACCEL)
                mn->cost = mn->an->cost;
        }
        m->pipelined = try_pipeline && fits_pipelined(&w, m);
        s = m->pipelined ? pipeline(&w, m, banks, err) : layer_by_layer(&w, m, err);
    }
    if (!s)
        totals(&w, m);
    qrun_free(alloc, w.side);
    qrun_free(alloc, w.moved);
    qrun_free(alloc, w.uses);
    qrun_free(alloc, w.fused_from_mac);
    qrun_free(alloc, w.is_const);
    qrun_free(alloc, w.producer);
    qrun_free(alloc, w.feeds_mac);
    qrun_free(alloc, banks);
    if (s)
        accel_model_release(m, alloc);
    return s;
}

qrun_status accel_model_eval(const qrun_graph *g,
                             const qrun_exec *x,
                             int accel_backend,
                             void *bctx,
                             const qrun_allocator *alloc,
                             accel_model *m,
                             qrun_err *err) {
    qrun_status s = eval_schedule(g, x, accel_backend, bctx, alloc, true, m, err);
    if (s || !m->pipelined)
        return s;
    /* The weights fit: a layer-by-layer pass over every bank (each layer's weights striped
     * over all banks) is possible too. Keep the schedule with the higher throughput: its
     * per-node costs, latency and energy are the report. */
    accel_model lbl;
    s = eval_schedule(g, x, accel_backend, bctx, alloc, false, &lbl, err);
    if (s) {
        accel_model_release(m, alloc);
        return s;
    }
    double pipelined_latency = m->latency_s, layer_latency = lbl.latency_s;
    if (lbl.period_s < m->period_s) {
        accel_model_release(m, alloc);
        *m = lbl;
    } else {
        accel_model_release(&lbl, alloc);
    }
    m->latency_pipelined_s = pipelined_latency;
    m->latency_layer_s = layer_latency;
    return QRUN_OK;
}

void accel_model_release(accel_model *m, const qrun_allocator *alloc) {
    qrun_free(alloc, m->nodes);
    memset(m, 0, sizeof *m);
}
