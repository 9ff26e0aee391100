/* SPDX-License-Identifier: Apache-2.0 */
/* The list of kernel family tables the cpu_ref backend registers. */
#ifndef QRUN_CPU_REF_KERNELS_H
#define QRUN_CPU_REF_KERNELS_H

#include "backends/cpu_ref/kernel.h"

/* NULL-terminated; each family table ends with op == QRUN_OP_UNKNOWN. */
extern const cpu_ref_kernel *const cpu_ref_kernel_families[];

#endif
