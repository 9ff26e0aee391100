/* SPDX-License-Identifier: Apache-2.0 */
/* The one list of cpu_ref kernel families. */
#include "backends/cpu_ref/kernels.h"

const cpu_ref_kernel *const cpu_ref_kernel_families[] = {
    cpu_ref_kernels_elementwise,    cpu_ref_kernels_activation, cpu_ref_kernels_logical,
    cpu_ref_kernels_conv,           cpu_ref_kernels_matmul,     cpu_ref_kernels_pool,
    cpu_ref_kernels_norm,           cpu_ref_kernels_softmax,    cpu_ref_kernels_reduce,
    cpu_ref_kernels_shape,          cpu_ref_kernels_gather,     cpu_ref_kernels_pad,
    cpu_ref_kernels_resize,         cpu_ref_kernels_quant,      cpu_ref_kernels_qlinear_conv,
    cpu_ref_kernels_qlinear_matmul, cpu_ref_kernels_qlinear_ew, cpu_ref_kernels_qlinear_pool,
    NULL,
};
