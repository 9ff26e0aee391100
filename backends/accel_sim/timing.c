/* SPDX-License-Identifier: Apache-2.0 */
/* Closed-form op timing and energy on the at-memory accelerator; the model is in timing.h. */
#include "backends/accel_sim/timing.h"

#include <math.h>
#include <string.h>

const char *accel_mapping_name(accel_mapping m) {
    return m == ACCEL_MAP_ROW_SPLIT_K ? "row_split_k" : "pe_output";
}

const char *accel_energy_name(accel_energy_kind e) {
    static const char *const names[ACCEL_E_COUNT] = {"mac",     "sram",    "rotator", "noc",
                                                     "offchip", "requant", "static",  "host"};
    return (e >= 0 && e < ACCEL_E_COUNT) ? names[e] : "?";
}

static double ceil_div(double a, double b) {
    return ceil(a / b);
}

static double dtype_bytes(qrun_dtype t) {
    return qrun_dtype_bits(t) / 8.0;
}

/* The slower of the two operand dtypes sets the MAC rate; both must be listed. */
static qrun_status
mac_dtype(const hw_config *hw, const accel_work *w, qrun_dtype *slow, qrun_err *err) {
    const qrun_dtype ts[2] = {w->a_dtype, w->w_dtype};
    *slow = ts[0];
    for (int i = 0; i < 2; i++) {
        if ((int)ts[i] <= 0 || ts[i] >= QRUN_DTYPE_COUNT || !hw->dtypes[ts[i]].present)
            return qrun_errf(err, QRUN_E_UNSUPPORTED, "hardware '%s' has no MAC rate for %s",
                             hw->name, qrun_dtype_name(ts[i]));
        if (hw->dtypes[ts[i]].macs_per_pe_per_cycle < hw->dtypes[*slow].macs_per_pe_per_cycle)
            *slow = ts[i];
    }
    return QRUN_OK;
}

static double banks_of(const hw_config *hw, const accel_work *w) {
    return w->banks > 0 && w->banks < hw->banks ? w->banks : hw->banks;
}

/* Pick the cheaper of the two mappings (ties: pe_output). */
static void map_compute(const hw_config *hw, const accel_work *w, double rate, accel_cost *c) {
    double rows = banks_of(hw, w) * hw->pe_rows;
    double r = hw->pes_per_row;
    /* Row steps of pe_output: output positions x channel tiles of one row's width. */
    double units = w->n > 0 ? ceil_div((double)w->n, r) * ceil_div((double)w->outputs, (double)w->n)
                            : ceil_div((double)w->outputs, r);
    double waves_a = ceil_div(units, rows);
    double compute_a = waves_a * ceil_div((double)w->k, rate);
    double rotator_a = waves_a * (r - 1) * hw->rotator_hop_cycles;
    double levels = ceil(log2(r));
    double waves_b = ceil_div((double)w->outputs, rows);
    double compute_b = waves_b * (ceil_div(ceil_div((double)w->k, r), rate) +
                                  levels * hw->reduce_cycles_per_level);
    if (compute_b < compute_a + rotator_a) {
        c->mapping = ACCEL_MAP_ROW_SPLIT_K;
        c->waves = (int64_t)waves_b;
        c->compute_cycles = compute_b;
        c->rotator_cycles = 0;
    } else {
        c->mapping = ACCEL_MAP_PE_OUTPUT;
        c->waves = (int64_t)waves_a;
        c->compute_cycles = compute_a;
        c->rotator_cycles = rotator_a;
    }
    c->compute_cycles /= hw->mapping_efficiency;
}

/* One kernel invocation per op, or per output row when the op is a row-pipelined stage. */
static double dispatch_of(const hw_config *hw, const accel_work *w) {
    double steps = w->row_steps && w->out_rows > 1 ? (double)w->out_rows : 1;
    return hw->dispatch_cycles * steps;
}

void accel_cost_total(accel_cost *c) {
    c->energy_pj_total = 0;
    for (int k = 0; k < ACCEL_E_COUNT; k++)
        c->energy_pj_total += c->energy_pj[k];
}

static void charge_energy(const hw_config *hw, const accel_work *w, accel_cost *c) {
    double *e = c->energy_pj;
    double mac_pj = fmax(hw->dtypes[w->a_dtype].mac_pj, hw->dtypes[w->w_dtype].mac_pj);
    double operand_bytes = dtype_bytes(w->a_dtype) + dtype_bytes(w->w_dtype);
    double moved = (double)(w->in_bytes + w->out_bytes);
    double avg_hops = (hw->grid_rows + hw->grid_cols) / 3.0; /* mean Manhattan distance */
    bool mac = w->kind == ACCEL_WORK_MAC;
    double ops = mac ? (double)c->macs : w->kind == ACCEL_WORK_SIMD ? (double)w->ops : 0;
    e[ACCEL_E_MAC] = ops * mac_pj;
    /* SRAM: a MAC reads both operands and writes results; an element op reads its operands
     * (ops x the element size) and writes its outputs; a move reads and writes what it moves. */
    double elem = dtype_bytes(w->a_dtype);
    double reads = 0, writes = 0;
    if (mac) {
        reads = (double)c->macs * operand_bytes;
        writes = moved;
    } else if (w->kind == ACCEL_WORK_SIMD) {
        reads = (double)w->ops * elem + moved;
        writes = (double)w->outputs * elem;
    } else if (w->kind == ACCEL_WORK_MOVE) {
        reads = writes = moved;
    }
    c->bytes_sram = reads + writes;
    e[ACCEL_E_SRAM] = reads * hw->sram_read_pj_per_byte + writes * hw->sram_write_pj_per_byte;
    e[ACCEL_E_ROTATOR] = mac && c->mapping == ACCEL_MAP_PE_OUTPUT
                             ? (double)c->macs * dtype_bytes(w->a_dtype) * hw->rotator_pj_per_byte
                             : 0;
    c->bytes_noc = w->kind == ACCEL_WORK_VIEW ? 0 : moved;
    e[ACCEL_E_NOC] = c->bytes_noc * avg_hops * hw->noc_pj_per_byte_hop;
    c->bytes_offchip = c->offchip_cycles > 0 ? (double)w->weight_bytes : 0;
    e[ACCEL_E_OFFCHIP] = c->bytes_offchip * hw->offchip_pj_per_byte;
    e[ACCEL_E_REQUANT] = w->requant ? (double)w->outputs * hw->requant_pj_per_element : 0;
    /* Static power: the share of the chip's banks this op occupies, over its time. */
    e[ACCEL_E_STATIC] = hw->static_w * c->seconds * 1e12 * c->banks / hw->banks;
    accel_cost_total(c);
}

/* Row-unit and data-movement ops: no weights, PE SIMD and/or the bank network. */
static void cost_rows(const hw_config *hw, const accel_work *w, double rate, accel_cost *c) {
    double clock_hz = hw->clock_mhz * 1e6;
    double banks = banks_of(hw, w);
    double moved = (double)(w->in_bytes + w->out_bytes);
    if (w->kind == ACCEL_WORK_VIEW)
        return;
    c->dispatch_cycles = dispatch_of(hw, w);
    /* The op's share of the bank network: its banks' E/W and N/S links. */
    double noc_gb = hw_noc_aggregate_gb_per_s(hw) * banks / hw->banks;
    c->noc_cycles = moved / (noc_gb * 1e9) * clock_hz;
    if (w->kind == ACCEL_WORK_SIMD) {
        double pes = banks * hw->pe_rows * hw->pes_per_row;
        c->waves = (int64_t)ceil_div((double)w->ops, pes * rate);
        c->compute_cycles = (double)c->waves;
        c->requant_cycles =
            w->requant
                ? ceil_div((double)w->outputs, banks * hw->pe_rows * hw->requant_elements_per_cycle)
                : 0;
    }
    double busy = c->compute_cycles + c->requant_cycles;
    double longest = fmax(busy, c->noc_cycles);
    c->stall_cycles = longest - busy;
    c->cycles = c->dispatch_cycles + longest;
}

qrun_status
accel_sim_cost(const hw_config *hw, const accel_work *w, accel_cost *out, qrun_err *err) {
    memset(out, 0, sizeof *out);
    qrun_dtype slow;
    qrun_status s = mac_dtype(hw, w, &slow, err);
    if (s)
        return s;
    double clock_hz = hw->clock_mhz * 1e6;
    out->banks = w->kind == ACCEL_WORK_VIEW ? 0 : (int)banks_of(hw, w);
    if (w->kind != ACCEL_WORK_MAC) {
        out->rate = hw->dtypes[slow].macs_per_pe_per_cycle;
        cost_rows(hw, w, out->rate, out);
        out->seconds = out->cycles / clock_hz;
        charge_energy(hw, w, out);
        return QRUN_OK;
    }
    double sram_total = (double)hw->banks * (double)hw->sram_bytes;
    bool spill = (double)w->weight_bytes > sram_total || w->stream_weights;
    if (spill && hw->offchip_bytes == 0)
        return qrun_errf(err, QRUN_E_UNSUPPORTED,
                         "weights of %lld bytes exceed the %.0f bytes of on-chip SRAM of '%s', "
                         "which has no off-chip memory",
                         (long long)w->weight_bytes, sram_total, hw->name);
    out->macs = w->outputs * w->k;
    out->rate = hw->dtypes[slow].macs_per_pe_per_cycle;
    map_compute(hw, w, out->rate, out);
    double rows = (double)out->banks * hw->pe_rows;
    out->requant_cycles =
        w->requant ? ceil_div((double)w->outputs, rows * hw->requant_elements_per_cycle) : 0;
    out->dispatch_cycles = dispatch_of(hw, w);
    double moved = (double)(w->in_bytes + w->out_bytes);
    double noc_gb = hw_noc_aggregate_gb_per_s(hw) * out->banks / hw->banks;
    out->noc_cycles = moved / (noc_gb * 1e9) * clock_hz;
    if (spill)
        out->offchip_cycles = ((double)w->weight_bytes / (hw->offchip_gb_per_s * 1e9) +
                               hw->offchip_latency_ns * 1e-9) *
                              clock_hz;
    double busy = out->compute_cycles + out->rotator_cycles + out->requant_cycles;
    double longest = fmax(busy, fmax(out->noc_cycles, out->offchip_cycles));
    out->stall_cycles = longest - busy;
    out->cycles = out->dispatch_cycles + longest;
    out->seconds = out->cycles / clock_hz;
    out->utilization = (double)out->macs / (out->cycles * (double)out->banks * hw->pe_rows *
                                            hw->pes_per_row * out->rate);
    charge_energy(hw, w, out);
    return QRUN_OK;
}
