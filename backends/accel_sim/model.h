/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Model-level simulation over a plan (accelerator.md §5.2-§5.3):
 *
 * Partition. Every planned node is accel (run by accel_sim), host (fell back
 * to cpu_ref) or folded (a constant computed at plan time: weights made by
 * constant subgraphs are stationary like initializers). A value lives where
 * it was produced (graph inputs on the host); each value a node on the other
 * side reads crosses the host link once, and accel-produced graph outputs
 * cross back. The bytes are charged to the node that needs them (the
 * producer for graph outputs) at hw.host bandwidth plus hw.host latency per
 * value, and host energy per byte. Host compute time is not modelled.
 *
 * Fusion. A unary row op (Relu, Clip, LeakyRelu, BatchNormalization) whose
 * input is the only use of a MAC layer's output (directly or through fused
 * ops) runs in that layer's row requant/activation unit as outputs leave it
 * (§5.5): no cycles of its own, requant energy per element.
 *
 * Execution. Layer pipelined when every accel MAC layer's weights fit in its
 * own banks at once (ceil(weight bytes / bank SRAM) banks each, one bank for
 * each other stage, the sum <= banks): spare banks go, one at a time, to the
 * slowest stage that still gets faster with them; latency = sum of stages
 * (the fill of one inference), throughput = 1 / max(slowest stage, host-link
 * time per inference: the link is shared). Otherwise layer by layer: every
 * layer uses every bank; weights stay resident in plan order while they fit
 * in SRAM, the remaining layers stream theirs from off-chip memory each
 * inference (refused on chips without off-chip memory); latency = sum of
 * layers and host transfers, throughput = 1 / latency.
 * When the weights fit, both schedules are possible (layer by layer with
 * every layer's weights striped over all banks): the one with the higher
 * throughput is kept (its per-node costs are reported), and the batch-1
 * latency is the lower of the two: a pipeline of hundreds of small stages
 * (DenseNet) is slower than one pass over all banks, and the pipeline's fill
 * (every stage in turn, no overlap inside an inference) is a pessimistic
 * latency for any deep network.
 *
 * Zero-detect (hw.bank.zero_detect): after a full-mode run a MAC node's MAC
 * energy is scaled by the share of its products that had no zero operand
 * (accelerator.md §5.4: energy, not time); timing mode has no values.
 *
 * Energy per inference = dynamic energy of every node + host-link energy +
 * static power x (1 / throughput); average power = energy x throughput.
 */
#ifndef QRUN_ACCEL_SIM_MODEL_H
#define QRUN_ACCEL_SIM_MODEL_H

#include "backends/accel_sim/backend.h"
#include "runtime/exec.h"

typedef enum accel_place {
    ACCEL_PLACE_HOST = 0,
    ACCEL_PLACE_ACCEL,
    ACCEL_PLACE_FOLDED
} accel_place;

typedef struct accel_model_node {
    const qrun_node *node;
    const accel_sim_node *an; /* accel: the backend's record */
    accel_place place;
    bool fused;        /* accel: runs in the producer's row unit */
    bool streamed;     /* accel MAC: weights stream from off-chip memory */
    accel_cost cost;   /* final: banks, cycles, energy (host link included) */
    int host_values;   /* values this node pulled over the host link */
    double host_bytes; /* their bytes */
    double host_seconds;
} accel_model_node;

typedef struct accel_model {
    accel_model_node *nodes; /* one per graph node, graph order */
    int n_nodes;
    bool pipelined;
    int n_accel, n_host, n_folded, n_fused;
    int banks_used;
    int64_t macs;
    double weight_bytes;   /* accel MAC weights (stationary or streamed) */
    double sram_bytes;     /* on-chip SRAM of the chip */
    double streamed_bytes; /* weights streamed from off-chip per inference */
    double host_bytes, host_seconds;
    double latency_s, period_s;
    double latency_pipelined_s; /* the pipeline's fill when it was evaluated, else 0 */
    double latency_layer_s;     /* a layer-by-layer pass, when that is the schedule kept */
    double energy_pj, energy_kind_pj[ACCEL_E_COUNT];
} accel_model;

/**
 * @brief Evaluate the plan of exec x over graph g; accel_backend is the
 * index of accel_sim in the exec's backend chain and bctx its context.
 * QRUN_E_UNSUPPORTED when the weights cannot be placed.
 */
qrun_status accel_model_eval(const qrun_graph *g,
                             const qrun_exec *x,
                             int accel_backend,
                             void *bctx,
                             const qrun_allocator *alloc,
                             accel_model *out,
                             qrun_err *err);
void accel_model_release(accel_model *m, const qrun_allocator *alloc);

/** @brief accel_model_eval of the current plan, kept by the backend until the plan changes. */
qrun_status accel_sim_backend_model(void *bctx,
                                    const qrun_graph *g,
                                    const qrun_exec *x,
                                    int accel_backend,
                                    const accel_model **out,
                                    qrun_err *err);

#endif
