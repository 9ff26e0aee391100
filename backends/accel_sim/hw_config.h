/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The accel_sim hardware description: one struct holding every parameter of
 * the simulated at-memory-compute accelerator (../shared/docs/accelerator.md
 * §5), loaded from JSON, validated strictly, and written back as JSON.
 *
 * Units are part of every JSON key (clock_mhz, sram_bytes, gb_per_s, pj_...)
 * and of every field name below, so a number never travels without its unit.
 * GB is 10^9 bytes; TOPS is 10^12 operations per second, one MAC = 2 ops.
 */
#ifndef QRUN_ACCEL_SIM_HW_CONFIG_H
#define QRUN_ACCEL_SIM_HW_CONFIG_H

#include "qrun/qrun.h"
#include "runtime/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HW_NAME_CAP 64
#define HW_TEXT_CAP 512

/** How a datatype's products are summed. */
typedef enum hw_acc_kind {
    HW_ACC_NONE = 0,
    HW_ACC_INT,   /**< two's-complement integer accumulator */
    HW_ACC_FLOAT, /**< IEEE-style floating accumulator (fp16, fp32) */
    HW_ACC_FIXED  /**< wide fixed point: products shifted by their exponents, summed exactly */
} hw_acc_kind;

/** What the PEs can do with one input datatype. Absent dtypes are not supported by the chip. */
typedef struct hw_dtype_caps {
    bool present;
    double macs_per_pe_per_cycle; /**< dense MACs one PE retires per clock cycle */
    hw_acc_kind acc_kind;         /**< accumulator type */
    int acc_bits;                 /**< accumulator width in bits */
    double mac_pj;                /**< dynamic energy of one MAC incl. its accumulate, pJ */
} hw_dtype_caps;

/** A citation for one parameter: section path ("chip", "dtypes.int8") + field + text. */
typedef struct hw_source {
    char *section;
    char *field;
    char *text;
} hw_source;

typedef struct hw_config {
    char name[HW_NAME_CAP];        /**< preset or file name, e.g. "runai200" */
    char description[HW_TEXT_CAP]; /**< one line */
    char notes[HW_TEXT_CAP * 4];   /**< free text: what is estimated, what was fitted */

    /* chip: the bank grid and the one clock. */
    int grid_rows;    /**< bank grid rows (north-south) */
    int grid_cols;    /**< bank grid columns (east-west) */
    int banks;        /**< populated banks, <= grid_rows * grid_cols */
    double clock_mhz; /**< PE clock, MHz */

    /* bank: PEs, SRAM, controllers. */
    int pe_rows;            /**< PE rows per bank; each row has a controller and reduce tree */
    int pes_per_row;        /**< PEs per row (SIMD width of a row) */
    int64_t sram_bytes;     /**< SRAM per bank, bytes */
    int controllers;        /**< control processors per bank */
    double dispatch_cycles; /**< controller overhead per kernel invocation, cycles */
    bool zero_detect;       /**< PEs skip the MAC energy when an operand is zero */
    /** Achieved share of the closed-form MAC rate (0..1]: what the compiler's placement, activation
     * broadcast and weight layout lose beyond the modelled tile quantization; a calibration. */
    double mapping_efficiency;

    /* row: the rotator (nearest-neighbour activation move) and the row reduce. */
    double rotator_bytes_per_cycle;    /**< bytes one row's rotator moves per cycle */
    double rotator_hop_cycles;         /**< latency of one PE-to-PE hop, cycles */
    double reduce_cycles_per_level;    /**< row reduce tree: cycles per level (log2 pes_per_row) */
    double requant_elements_per_cycle; /**< outputs one row's requant unit finishes per cycle */

    /*
     * noc: bank-to-bank links and the chip I/O ring. East-west links run along
     * each grid row, north-south links along each grid column (speedAI240: 27
     * rows x 8 x 7 GB/s = 1.5 TB/s E/W and 27 columns x 70 GB/s = 1.9 TB/s N/S,
     * the published aggregates). Bandwidth per link and direction.
     */
    int noc_ew_links;              /**< east-west links per grid row */
    double noc_ew_gb_per_s;        /**< per east-west link, GB/s */
    int noc_ns_links;              /**< north-south links per grid column */
    double noc_ns_gb_per_s;        /**< per north-south link, GB/s */
    double noc_hop_latency_cycles; /**< bank-to-bank hop latency, cycles */
    double io_ring_gb_per_s;       /**< chip I/O ring, each direction, GB/s */

    /* offchip: DRAM (LPDDR); 0 bytes means the chip has none. */
    int64_t offchip_bytes;
    double offchip_gb_per_s;
    double offchip_latency_ns;

    /* host link (PCIe, AXI). */
    double host_gb_per_s;
    double host_latency_us; /**< per value crossing the link */
    double host_launch_us;  /**< per inference: driver, doorbell, DMA setup, completion; a
                                 calibration. Adds to the latency, not to the period (queued). */

    /* energy per event, pJ (MAC energy is per dtype, above). */
    double sram_read_pj_per_byte;
    double sram_write_pj_per_byte;
    double rotator_pj_per_byte;
    double noc_pj_per_byte_hop;
    double offchip_pj_per_byte;
    double host_pj_per_byte;
    double requant_pj_per_element;

    /* power, W. */
    double static_w; /**< leakage and clocking, drawn whenever the chip is on */
    double max_w;    /**< TDP or published maximum, for sanity checks */
    /** Power outside the chip's event table while the card runs (board regulators, LPDDR and
     * PCIe PHYs, the host's marginal work feeding it): card-level energy per inference is
     * (static_w + board_w) x period on top of the dynamic events. A calibration. */
    double board_w;

    hw_dtype_caps dtypes[QRUN_DTYPE_COUNT]; /**< indexed by qrun_dtype */

    hw_source *sources; /**< citations, owned; allocated with alloc */
    int n_sources;
    const qrun_allocator *alloc;
} hw_config;

/** Number of named presets built into qrun, and their names ("runai200", ...). */
int hw_preset_count(void);
const char *hw_preset_name(int i);

/**
 * @brief Load a preset by name, or else a JSON file by path. Errors name
 * the file (for a preset: "hw/NAME.json") and the key path.
 * @return QRUN_OK, QRUN_E_ARG (unknown preset, not a file), QRUN_E_IO,
 *         QRUN_E_MODEL (malformed or invalid description), QRUN_E_NOMEM.
 */
qrun_status
hw_config_load(const char *preset_or_file, const qrun_allocator *a, hw_config *out, qrun_err *err);
/** @brief Parse and validate JSON text; label names it in errors (a file name). */
qrun_status hw_config_parse(const char *json,
                            size_t len,
                            const char *label,
                            const qrun_allocator *a,
                            hw_config *out,
                            qrun_err *err);
void hw_config_release(hw_config *hw);

/** @brief PEs in the whole chip (banks x rows x PEs per row). */
int64_t hw_total_pes(const hw_config *hw);
/** @brief Aggregate bank-network bandwidth, GB/s: E/W over all grid rows plus N/S over all
 * grid columns. */
double hw_noc_aggregate_gb_per_s(const hw_config *hw);
/** @brief 2 x MACs/cycle x clock for dtype, in TOPS; false if the chip lacks the dtype. */
bool hw_peak_tops(const hw_config *hw, qrun_dtype dt, double *tops);
/** @brief The JSON key of a dtype ("int8", "fp8e3m4", ...); NULL for dtypes a hw cannot list. */
const char *hw_dtype_key(qrun_dtype dt);
/** @brief Parse a dtype key (any name qrun_dtype_from_name knows); UNDEFINED if not listable. */
qrun_dtype hw_dtype_from_key(const char *key);

/** @brief Every parameter, its sources and peak_tops as JSON; *out allocated with hw->alloc. */
qrun_status hw_config_to_json(const hw_config *hw, char **out, qrun_err *err);
/** @brief Readable multi-line listing (parameter = value unit  [source]); allocated with hw->alloc.
 */
qrun_status hw_config_to_text(const hw_config *hw, char **out, qrun_err *err);

#endif
