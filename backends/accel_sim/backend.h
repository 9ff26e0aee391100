/* SPDX-License-Identifier: Apache-2.0 */
/*
 * accel_sim: the accelerator simulator backend.
 *
 * Which nodes it takes (the rest fall back to cpu_ref on the host, see
 * model.h for the host-link charge):
 *   MAC    Conv, MatMul, Gemm (float: timing mode only) and ConvInteger,
 *          MatMulInteger, QLinearConv, QLinearMatMul, QGemm;
 *   SIMD   elementwise and pooling ops the row units run (Relu, Clip,
 *          LeakyRelu, BatchNormalization, Add, Sum, Mul, MaxPool, AveragePool,
 *          GlobalAveragePool, com.microsoft QLinearAdd/Mul/AveragePool/
 *          GlobalAveragePool): accelerator.md §1.2 (rows are 64-wide SIMD) and
 *          §5.5 (per-row requant/activation units);
 *   MOVE   Concat, Transpose, QLinearConcat: bytes over the bank network;
 *   VIEW   Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout: free.
 * Everything else (Softmax, LRN, Q/DQ with a float side, shape arithmetic, ...)
 * has no cost basis in accelerator.md and runs on the host.
 * Every tensor the node reads or writes (other than shape/index constants) must
 * have a datatype the hardware lists.
 *
 * Modes (qrun_sim_mode):
 *   full   MAC nodes compute on the accelerator's datapath (mac_ops.h: the
 *          hardware's accumulator, requantization in the row units); SIMD,
 *          MOVE and VIEW nodes are exact data operations computed with the
 *          cpu_ref kernels (same numbers as any correct implementation).
 *   timing MAC nodes do no arithmetic and read no weight values (outputs are
 *          zero-filled); the other nodes still run (they are cheap and keep
 *          shape-carrying values right). With a timing dtype every activation
 *          and weight is taken to be of that datatype: float models can be
 *          timed before they are quantized.
 */
#ifndef QRUN_ACCEL_SIM_BACKEND_H
#define QRUN_ACCEL_SIM_BACKEND_H

#include "backends/accel_sim/mac_ops.h"
#include "backends/accel_sim/timing.h"
#include "runtime/backend.h"

/** One node planned on accel_sim. */
typedef struct accel_sim_node {
    const qrun_node *node;
    qrun_dtype mac_dtype; /**< the operand dtype that set the rate and the accumulator */
    accel_work work;      /**< what the node does, for costing (model.c re-costs it) */
    accel_cost cost;      /**< cost with every bank (layer by layer); model.c keeps its own */
    bool arith;           /**< full mode MAC: computed by mac_ops */
    bool skip;            /**< timing mode MAC: no arithmetic */
    bool fusable; /**< unary row op (Relu, Clip, BatchNorm, Mul/Add by a constant): can run in the
                       producing layer's row requant unit (accelerator.md §5.5) */
    accel_mac_op mac;
    char accumulator[32];  /**< MAC nodes: the accumulator ("int32", "fixed40@2^-12"), else "" */
    int64_t zero_products; /**< full mode MAC: products with a zero operand in the last run */
    bool measured;         /**< zero_products is from a run */
    void *ref_data;        /**< cpu_ref's prepared data for the same node */
} accel_sim_node;

/** @brief Create the backend for hw (copied; its citations are not needed). */
qrun_status
accel_sim_backend_create(const qrun_allocator *alloc, const hw_config *hw, qrun_backend *out);
/**
 * @brief Simulation mode and, for timing, the datatype every tensor is taken
 * to have (QRUN_DTYPE_UNDEFINED: the model's own). Set before planning.
 */
void accel_sim_backend_configure(void *ctx, qrun_sim_mode mode, qrun_dtype timing_dtype);
qrun_sim_mode accel_sim_backend_mode(void *ctx);
/** @brief The nodes of the current plan on this backend, in plan order. */
int accel_sim_backend_nodes(void *ctx, const accel_sim_node *const **out);
/** @brief The hardware this backend simulates. */
const hw_config *accel_sim_backend_hw(void *ctx);
/** @brief Bytes of t as the accelerator holds it (the timing dtype replaces float types). */
double accel_sim_backend_bytes(void *ctx, const struct qrun_tensor *t);
/** @brief Changes every time a node is prepared or released (to cache plan reports). */
unsigned accel_sim_backend_generation(void *ctx);

#endif
