/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The accelerator's MAC datapaths (../shared/docs/accelerator.md §1.3, §5.5):
 * what one PE does with one product, per the accumulator the hardware
 * description gives the operand datatype (hw_dtype_caps.acc_kind/acc_bits).
 *
 *   int N    8-bit integer operands, zero points subtracted (9-bit values),
 *            exact 17-bit products added into an N-bit two's-complement
 *            register that SATURATES at every add (silicon clamps; it does not
 *            wrap). QLinearConv's int32 bias is preloaded into the register
 *            (saturated to it). N >= 32 never saturates on ONNX-valid data, so
 *            int32 gives cpu_ref's numbers exactly; a narrower register clips
 *            large partial sums. Widths above 62 bits behave as 62 (no 8-bit
 *            dot product of realistic length gets near).
 *   float N  FP8 operands: exact products (fp8_math.h step 2) added into a
 *            float register rounded to nearest even after every add: N = 32
 *            float32 (cpu_ref's default, bit-identical to it), N = 16 IEEE
 *            half (= cpu_ref --fp8-accum fp16). Other widths are refused.
 *   fixed N  FP8 operands: every product is an integer multiple of
 *            2^lsb_exp = (smallest positive value of A's format) x (smallest of
 *            W's), so it is shifted onto an N-bit fixed-point register with
 *            that LSB and summed exactly (§1.3's interpretation for E3M4);
 *            each add saturates to the register (the adder sees the exact
 *            product). The sum goes to the row unit as float32 (one
 *            rounding). N <= 62.
 *
 * The functional model accumulates each output's dot product in k order in
 * one register (the order cpu_ref uses), whichever mapping the timing model
 * picks: a row_split_k mapping's partial sums would reassociate float sums.
 */
#ifndef QRUN_ACCEL_SIM_DATAPATH_H
#define QRUN_ACCEL_SIM_DATAPATH_H

#include "backends/accel_sim/hw_config.h"
#include "runtime/fp8_math.h"

#include <math.h>

typedef struct accel_acc {
    hw_acc_kind kind;
    int bits;
    int64_t lo, hi;      /* int, fixed: register range */
    qrun_fp8_accum facc; /* float: the format after every add */
    int lsb_exp;         /* fixed: the register's LSB is 2^lsb_exp */
} accel_acc;

/**
 * @brief The accumulator for products of a and w (both 8-bit integers, or
 * both FP8): the one hw lists for mac_dtype. QRUN_E_UNSUPPORTED naming the
 * datatype when the description's accumulator cannot sum those products.
 */
qrun_status accel_acc_init(accel_acc *acc,
                           const hw_config *hw,
                           qrun_dtype mac_dtype,
                           qrun_dtype a,
                           qrun_dtype w,
                           qrun_err *err);

/** @brief Readable accumulator ("int32", "float16", "fixed40@2^-12"). */
void accel_acc_describe(const accel_acc *acc, char *buf, size_t cap);

static inline int64_t accel_sat(const accel_acc *c, int64_t v) {
    return v < c->lo ? c->lo : v > c->hi ? c->hi : v;
}

/** @brief Integer MAC: register + p (|p| < 2^17, register within [lo, hi]), saturated. */
static inline int64_t accel_int_add(const accel_acc *c, int64_t reg, int64_t p) {
    return accel_sat(c, reg + p);
}

/** One FP8 accumulator register: float (float kinds) or fixed point. */
typedef struct accel_freg {
    float f;
    int64_t q;
} accel_freg;

/** @brief FP8 MAC: add the exact product p to the register. */
static inline void accel_fp8_add(const accel_acc *c, accel_freg *r, float p) {
    if (c->kind != HW_ACC_FIXED) {
        r->f = qrun_fp8_accum_add(c->facc, r->f, p);
        return;
    }
    /* p / 2^lsb is an integer (exact in double: at most 10 significant bits). The register
     * holds at most 62 bits (|q| < 2^61), so a term of 2^62 or more saturates the sum whatever
     * the register holds, and a smaller one cannot overflow the int64 add. */
    double d = ldexp((double)p, -c->lsb_exp);
    if (fabs(d) >= 0x1p62) {
        r->q = d > 0 ? c->hi : c->lo;
        return;
    }
    r->q = accel_sat(c, r->q + (int64_t)d);
}

/** @brief The register's value as the row unit receives it (float32). */
static inline float accel_fp8_value(const accel_acc *c, const accel_freg *r) {
    return c->kind == HW_ACC_FIXED ? ldexpf((float)r->q, c->lsb_exp) : r->f;
}

#endif
