/* SPDX-License-Identifier: Apache-2.0 */
/* The window of one pool output along one axis, shared by the float and quantized pools. */
#ifndef QRUN_CPU_REF_POOL_WINDOW_H
#define QRUN_CPU_REF_POOL_WINDOW_H

#include "runtime/shape/nn_params.h"

#include <stdint.h>

/* Window of one output position on one axis: first input index and the in-range points. */
typedef struct pool_axis {
    int64_t start;    /* input index of window point 0 (may be negative) */
    int64_t lo, hi;   /* window points [lo, hi) fall inside the input */
    int64_t padded_n; /* window points inside input + explicit pads */
} pool_axis;

/** @brief Window of output index o on spatial axis d (ops/pool.c). */
pool_axis cpu_ref_pool_window(const qrun_conv_params *p, int d, int64_t o);

#endif
