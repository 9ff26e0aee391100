/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Closed-form timing and energy of one GEMM-shaped op (Conv, MatMul, Gemm
 * and their integer/QLinear forms) on the at-memory accelerator described by
 * a hw_config: accelerator.md §5.1-§5.3, layer-by-layer mode (every op may
 * use every bank; weights stay in bank SRAM when they fit, else stream from
 * off-chip memory).
 *
 * Per op:
 *   compute  = waves x cycles per wave / mapping efficiency, for the cheaper of two mappings:
 *              pe_output:   each PE computes whole dot products, the 64 PEs of a row hold
 *                           64 output channels' weights (weight stationary) and see the
 *                           same activations; a row step is one output position x one
 *                           tile of PEs-per-row channels, so N channels use ceil(N / 64)
 *                           tiles (tile quantization: N = 32 leaves half a row idle);
 *                           waves = ceil(ceil(N / PEs per row) x M / rows), wave = ceil(K / rate),
 *                           plus a rotator fill of (PEs per row - 1) hops per wave
 *              row_split_k: a row's PEs split K and reduce through the row tree;
 *                           waves = ceil(O / rows), wave = ceil(ceil(K / PEs per row) / rate)
 *                           + ceil(log2(PEs per row)) reduce levels
 *   requant  = ceil(O / (rows x requant rate)) when outputs are requantized
 *   noc      = (activation bytes in + out) / the op's banks' share of the bank network
 *   offchip  = weight bytes / off-chip bandwidth + latency, when weights exceed SRAM
 *   dispatch = controller overhead per kernel invocation: one per op layer by layer, one per
 *              output row when layer pipelined (row-level pipelining launches a kernel per row)
 *   cycles   = dispatch + max(compute + rotator + requant, noc, offchip)
 * where O = output elements = M positions x N channels, K = reduction length, rate = the
 * slower of the two input dtypes' MACs per PE per cycle, mapping efficiency = the hw's
 * calibrated share of the closed-form rate the compiler achieves. Energy charges every event
 * of the hw energy table plus static power over the op's time.
 */
#ifndef QRUN_ACCEL_SIM_TIMING_H
#define QRUN_ACCEL_SIM_TIMING_H

#include "backends/accel_sim/hw_config.h"

/*
 * Row-unit and data-movement ops (accelerator.md §1.2: rows run independently
 * as 64-wide SIMD; §5.5: requant/activation units per row):
 *   simd: ops element operations (Relu, Add, pooling windows, ...) on the PEs
 *         of the op's banks at MACs-per-PE-per-cycle of the dtype, plus the
 *         NoC moving inputs and outputs, plus row requant when outputs are
 *         requantized;
 *   move: bytes over the bank network only (Concat, Transpose, ...);
 *   view: a new shape for the same bytes (Reshape, Flatten, ...): free.
 */
typedef enum accel_work_kind {
    ACCEL_WORK_MAC = 0,
    ACCEL_WORK_SIMD,
    ACCEL_WORK_MOVE,
    ACCEL_WORK_VIEW
} accel_work_kind;

typedef struct accel_work {
    accel_work_kind kind;
    int64_t ops;          /**< simd: element operations */
    int banks;            /**< banks the op runs on; 0 = every bank (layer by layer) */
    bool stream_weights;  /**< weights stream from off-chip every inference (model spill) */
    int64_t outputs;      /**< output elements, i.e. dot products */
    int64_t k;            /**< reduction length of each dot product */
    qrun_dtype a_dtype;   /**< activation (input 0) dtype */
    qrun_dtype w_dtype;   /**< weight (second operand) dtype */
    int64_t in_bytes;     /**< activation bytes delivered to the banks */
    int64_t weight_bytes; /**< weight bytes resident in (or streamed to) bank SRAM */
    int64_t out_bytes;    /**< output bytes written back */
    bool requant;         /**< outputs pass the row requant unit (8-bit outputs) */
    int64_t n;            /**< MAC: output channels (weights stationary per channel); 0: unknown */
    int64_t out_rows;     /**< output rows the op produces one after another (H, or M) */
    double fill;          /**< fraction of its input the op needs before its first output row
                               (kernel rows / input rows; 1 for global ops): row pipelining */
    bool row_steps;       /**< dispatch once per output row (layer pipelined), else once */
} accel_work;

typedef enum accel_mapping { ACCEL_MAP_PE_OUTPUT = 0, ACCEL_MAP_ROW_SPLIT_K } accel_mapping;

typedef enum accel_energy_kind {
    ACCEL_E_MAC = 0,
    ACCEL_E_SRAM,
    ACCEL_E_ROTATOR,
    ACCEL_E_NOC,
    ACCEL_E_OFFCHIP,
    ACCEL_E_REQUANT,
    ACCEL_E_STATIC,
    ACCEL_E_HOST,
    ACCEL_E_COUNT
} accel_energy_kind;

typedef struct accel_cost {
    accel_mapping mapping;
    int64_t macs;
    double rate;            /**< MACs per PE per cycle used */
    int64_t waves;          /**< passes over the PEs (pe_output) or rows (row_split_k) */
    double compute_cycles;  /**< MAC waves, reduce included */
    double rotator_cycles;  /**< rotator fill (pe_output only) */
    double requant_cycles;  /**< row requant units */
    double dispatch_cycles; /**< controller overhead */
    double noc_cycles;      /**< activations over the bank network */
    double offchip_cycles;  /**< weight streaming; 0 when weights fit in SRAM */
    double stall_cycles;    /**< noc/offchip time not hidden behind compute */
    double cycles;          /**< total */
    double seconds;
    double utilization;              /**< macs / (cycles x PEs x rate) */
    int banks;                       /**< banks used */
    double bytes_sram;               /**< bank SRAM traffic: operand reads and result writes */
    double bytes_noc;                /**< activations over the bank network */
    double bytes_offchip;            /**< weights streamed from off-chip memory */
    double bytes_host;               /**< host link (charged by the model partition) */
    double energy_pj[ACCEL_E_COUNT]; /**< per event class */
    double energy_pj_total;
} accel_cost;

/** @brief Name of a mapping ("pe_output", "row_split_k") and of an energy class ("mac", ...). */
const char *accel_mapping_name(accel_mapping m);
const char *accel_energy_name(accel_energy_kind e);

/** @brief Sum energy_pj into energy_pj_total. */
void accel_cost_total(accel_cost *c);

/**
 * @brief Cost of one op. Fails (QRUN_E_UNSUPPORTED, message naming the
 * dtype or the sizes) when the hardware lacks an input dtype, or the
 * weights exceed on-chip SRAM on a chip without off-chip memory.
 */
qrun_status
accel_sim_cost(const hw_config *hw, const accel_work *w, accel_cost *out, qrun_err *err);

#endif
