/* SPDX-License-Identifier: Apache-2.0 */
/* Accumulator set-up for the accelerator's MAC datapaths (the model is in datapath.h). */
#include "backends/accel_sim/datapath.h"

#include "runtime/dtype.h"

#include <stdio.h>
#include <string.h>

/* Exponent of the smallest positive value of an FP8 format (a power of two: the least
 * subnormal), found from its codes so that format bits stay in runtime/dtype.c. */
static int fp8_min_exp(qrun_dtype t) {
    float least = INFINITY;
    for (int c = 1; c < 256; c++) {
        float v = qrun_fp8_decode(t, (uint8_t)c);
        if (v > 0 && v < least)
            least = v;
    }
    int e = 0;
    frexpf(least, &e);
    return e - 1;
}

static void set_range(accel_acc *acc, int bits) {
    int b = bits > 62 ? 62 : bits;
    acc->hi = (int64_t)((UINT64_C(1) << (b - 1)) - 1);
    acc->lo = -acc->hi - 1;
}

qrun_status accel_acc_init(accel_acc *acc,
                           const hw_config *hw,
                           qrun_dtype mac_dtype,
                           qrun_dtype a,
                           qrun_dtype w,
                           qrun_err *err) {
    memset(acc, 0, sizeof *acc);
    const hw_dtype_caps *caps = &hw->dtypes[mac_dtype];
    acc->kind = caps->acc_kind;
    acc->bits = caps->acc_bits;
    bool fp8 = qrun_fp8_is_mac_type(a);
    if (fp8 != qrun_fp8_is_mac_type(w))
        return qrun_errf(err, QRUN_E_UNSUPPORTED,
                         "accel_sim: no datapath multiplies %s by %s (both 8-bit integers or "
                         "both FP8)",
                         qrun_dtype_name(a), qrun_dtype_name(w));
    const char *key = hw_dtype_key(mac_dtype);
    if (!fp8) {
        if (acc->kind != HW_ACC_INT && acc->kind != HW_ACC_FIXED)
            return qrun_errf(err, QRUN_E_UNSUPPORTED,
                             "hardware '%s': dtypes.%s.accumulator must be int or fixed for "
                             "integer operands",
                             hw->name, key);
        acc->kind = HW_ACC_INT; /* an integer fixed-point register is an integer register */
        set_range(acc, acc->bits);
        return QRUN_OK;
    }
    switch (acc->kind) {
    case HW_ACC_FLOAT:
        if (acc->bits != 32 && acc->bits != 16)
            return qrun_errf(err, QRUN_E_UNSUPPORTED,
                             "hardware '%s': dtypes.%s.accumulator float%d: the simulator has "
                             "float32 and IEEE float16 accumulators",
                             hw->name, key, acc->bits);
        acc->facc = acc->bits == 32 ? QRUN_FP8_ACCUM_FP32 : QRUN_FP8_ACCUM_FP16;
        return QRUN_OK;
    case HW_ACC_FIXED:
        if (acc->bits > 62)
            return qrun_errf(err, QRUN_E_UNSUPPORTED,
                             "hardware '%s': dtypes.%s.accumulator fixed%d: the simulator "
                             "models fixed-point registers of at most 62 bits",
                             hw->name, key, acc->bits);
        set_range(acc, acc->bits);
        acc->lsb_exp = fp8_min_exp(a) + fp8_min_exp(w);
        return QRUN_OK;
    default:
        return qrun_errf(err, QRUN_E_UNSUPPORTED,
                         "hardware '%s': dtypes.%s.accumulator must be float or fixed for FP8 "
                         "operands",
                         hw->name, key);
    }
}

void accel_acc_describe(const accel_acc *acc, char *buf, size_t cap) {
    switch (acc->kind) {
    case HW_ACC_INT:
        snprintf(buf, cap, "int%d", acc->bits);
        return;
    case HW_ACC_FLOAT:
        snprintf(buf, cap, "float%d", acc->bits);
        return;
    case HW_ACC_FIXED:
        snprintf(buf, cap, "fixed%d@2^%d", acc->bits, acc->lsb_exp);
        return;
    default:
        snprintf(buf, cap, "none");
    }
}
