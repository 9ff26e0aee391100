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
 * Fusion. A unary row op (Relu, Clip, LeakyRelu, BatchNormalization, Mul or
 * Add by a constant) whose input is the only use of a MAC layer's output
 * (directly or through fused ops) runs in that layer's row requant/activation
 * unit as outputs leave it (§5.5): no cycles of its own, requant energy per element. Likewise a unary
 * row op whose only consumer is a MAC layer (directly or through such ops:
 * DenseNet's BN-ReLU before each conv) runs in that layer's row units as its
 * activations arrive (pre-activation).
 *
 * Host overhead. Every inference also pays hw.host.launch_us (driver,
 * doorbell, DMA setup, completion), charged with the host-link time of the
 * first node that pulls a value over the link. It adds to the latency only:
 * the host queues the next inference while the accelerator works.
 *
 * Execution. Layer pipelined when every accel MAC layer's weights fit in its
 * own banks at once (ceil(weight bytes / bank SRAM) banks each, one bank for
 * each other stage, the sum <= banks): spare banks go, one at a time, to the
 * slowest stage that still gets faster with them (banks in proportion to
 * work), and every stage dispatches one kernel per output row. Throughput =
 * 1 / max(slowest stage, host-link time per inference: the link is shared).
 * Latency is row-level: a stage starts when the rows its first output needs
 * have arrived (work.fill of its producer's output: 3/56 for a 3x3 conv over
 * 56 rows, all of it for a global pool or a host node) and finishes no
 * earlier than fill x its own time after its last input row; over the graph
 * (branches included)
 *   start(i)  = max over producers p of start(p) + fill(i) x (finish(p) - start(p))
 *               + host link time of i
 *   finish(i) = max(start(i) + stage(i), max over p of finish(p) + host(i) + fill(i) x stage(i))
 * and the latency is the last finish. Zero-time nodes (views, fused row
 * ops) pass their producer's times on; host nodes need their whole input.
 * Otherwise layer by layer: every layer uses every bank; weights stay
 * resident in plan order while they fit in SRAM, the remaining layers stream
 * theirs from off-chip memory each inference (refused on chips without
 * off-chip memory); latency = sum of layers and host transfers (launch
 * included), throughput = 1 / (latency - launch).
 * When the weights fit, both schedules are possible (layer by layer with
 * every layer's weights striped over all banks): the one with the higher
 * throughput is kept, and its per-node costs and latency are reported.
 *
 * Per-node share of the latency: the critical path (from the last node to
 * finish, back through the producer that finished last) gets each node's
 * finish(i) - finish(its predecessor on the path); nodes off the path get 0.
 * The shares sum to the latency (layer by layer: every node's time plus its
 * host link).
 *
 * Zero-detect (hw.bank.zero_detect): after a full-mode run a MAC node's MAC
 * energy is scaled by the share of its products that had no zero operand
 * (accelerator.md §5.4: energy, not time); timing mode has no values.
 *
 * Energy per inference = dynamic energy of every node + host-link energy +
 * (chip static power + board power) x (1 / throughput), reported as the
 * "static" class; average power = energy x throughput.
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
    bool fused;               /* accel: runs in the producer's row unit */
    bool streamed;            /* accel MAC: weights stream from off-chip memory */
    accel_cost cost;          /* final: banks, cycles, energy (host link included) */
    int host_values;          /* values this node pulled over the host link */
    double host_bytes;        /* their bytes */
    double host_seconds;      /* host-link time (and the launch, for the first node crossing) */
    double start_s, finish_s; /* batch-1 schedule */
    double share_s;           /* share of the latency (critical path), host link included */
    int crit;                 /* predecessor on the critical path, -1 none */
} accel_model_node;

typedef struct accel_model {
    accel_model_node *nodes; /* one per graph node, graph order */
    int n_nodes;
    bool pipelined;
    int n_accel, n_host, n_folded, n_fused;
    int banks_used;
    int64_t macs;
    double weight_bytes;             /* accel MAC weights (stationary or streamed) */
    double sram_bytes;               /* on-chip SRAM of the chip */
    double streamed_bytes;           /* weights streamed from off-chip per inference */
    double host_bytes, host_seconds; /* host link per inference, launch excluded */
    double launch_s;                 /* hw.host.launch_us */
    double latency_s, period_s;
    double latency_pipelined_s; /* the row-pipelined latency when it was evaluated, else 0 */
    double latency_layer_s;     /* a layer-by-layer pass, when it was evaluated, else 0 */
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
