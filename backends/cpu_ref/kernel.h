/* SPDX-License-Identifier: Apache-2.0 */
/* cpu_ref kernel descriptor: each ops/<family>.c exports one table of these. */
#ifndef QRUN_CPU_REF_KERNEL_H
#define QRUN_CPU_REF_KERNEL_H

#include "runtime/backend.h"

/*
 * Contract: eval runs one node; inputs/outputs per qrun_kernel_call. It
 * reads attributes with qrun_node_attr_* (defaults per the node's opset,
 * call->node->opset), must not allocate (use call->scratch), may use
 * OpenMP with num_threads(call->n_threads), and returns QRUN_OK or an error
 * with a message in call->err (without the node name: the caller adds it).
 * supports (optional) rejects dtypes/attributes the kernel does not handle;
 * a NULL supports accepts every node of that op.
 * prepare (optional) fills op_data_bytes(call) bytes of per-node data once
 * per plan (see prepare_node in runtime/backend.h): geometry from shapes and
 * attributes, and work on inputs whose data is already known then, i.e.
 * constants such as weights. scratch_bytes and eval find it in call->op_data,
 * so eval does not redo that work.
 */
typedef struct cpu_ref_kernel {
    qrun_op op;
    bool (*supports)(const qrun_node *node,
                     const struct qrun_tensor *const *inputs,
                     int n_inputs,
                     char *why,
                     size_t why_cap);
    size_t (*op_data_bytes)(const qrun_kernel_call *call);
    qrun_status (*prepare)(const qrun_kernel_call *call, void *op_data);
    size_t (*scratch_bytes)(const qrun_kernel_call *call);
    qrun_status (*eval)(const qrun_kernel_call *call);
} cpu_ref_kernel;

/* One table per family, terminated by an entry with op == QRUN_OP_UNKNOWN. */
extern const cpu_ref_kernel cpu_ref_kernels_elementwise[]; /* ops/elementwise.c */
extern const cpu_ref_kernel cpu_ref_kernels_activation[];  /* ops/activation.c */
extern const cpu_ref_kernel
    cpu_ref_kernels_logical[];                      /* ops/logical.c: compare, logic, Where, Cast */
extern const cpu_ref_kernel cpu_ref_kernels_conv[]; /* ops/conv.c: Conv, ConvTranspose */
extern const cpu_ref_kernel cpu_ref_kernels_matmul[];  /* ops/matmul.c: MatMul, Gemm */
extern const cpu_ref_kernel cpu_ref_kernels_pool[];    /* ops/pool.c */
extern const cpu_ref_kernel cpu_ref_kernels_norm[];    /* ops/norm.c: BatchNorm, LayerNorm, LRN */
extern const cpu_ref_kernel cpu_ref_kernels_softmax[]; /* ops/softmax.c */
extern const cpu_ref_kernel cpu_ref_kernels_reduce[];  /* ops/reduce.c: ReduceX, ArgX */
extern const cpu_ref_kernel cpu_ref_kernels_shape[];   /* ops/shape_ops.c: Reshape..Range */
extern const cpu_ref_kernel cpu_ref_kernels_gather[];  /* ops/gather.c: Gather */
extern const cpu_ref_kernel cpu_ref_kernels_pad[];     /* ops/pad.c: Pad */
extern const cpu_ref_kernel cpu_ref_kernels_resize[];  /* ops/resize.c: Resize */
extern const cpu_ref_kernel cpu_ref_kernels_quant[];   /* ops/quant.c: Quantize/DequantizeLinear */
extern const cpu_ref_kernel
    cpu_ref_kernels_qlinear_conv[]; /* ops/qlinear_conv.c: ConvInteger, QLinearConv */
extern const cpu_ref_kernel
    cpu_ref_kernels_qlinear_matmul[]; /* ops/qlinear_matmul.c: MatMulInteger..QGemm */
extern const cpu_ref_kernel
    cpu_ref_kernels_qlinear_ew[]; /* ops/qlinear_ew.c: com.microsoft QLinearAdd..Concat */
extern const cpu_ref_kernel
    cpu_ref_kernels_qlinear_pool[]; /* ops/qlinear_pool.c: com.microsoft QLinear pools */

/* Dtype classes for cpu_ref_input0_in. */
enum {
    CPU_REF_FLOATS = 1u << 0, /* float16, bfloat16, float32, float64 */
    CPU_REF_INTS = 1u << 1,   /* 8- to 64-bit integers */
};

/**
 * @brief supports() helper: true when input 0 is absent or untyped, or its
 * dtype is in one of the classes; otherwise writes "<Op>: type <t> is not
 * implemented" into why and returns false.
 */
bool cpu_ref_input0_in(const qrun_node *node,
                       const struct qrun_tensor *const *inputs,
                       int n_inputs,
                       unsigned classes,
                       char *why,
                       size_t why_cap);

/** @brief The cpu_ref backend (vtable + context). */
qrun_status cpu_ref_backend_create(const qrun_allocator *alloc, qrun_backend *out);

#endif
