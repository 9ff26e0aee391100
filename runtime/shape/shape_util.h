/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by shape inference and kernels: broadcasting, axes, int lists. */
#ifndef QRUN_RUNTIME_SHAPE_UTIL_H
#define QRUN_RUNTIME_SHAPE_UTIL_H

#include "runtime/error.h"
#include "runtime/op.h"
#include "runtime/tensor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** @brief Numpy multidirectional broadcast of n shapes (NULL entries skipped). */
qrun_status qrun_broadcast_shapes(
    int n, const struct qrun_tensor *const *ts, int *rank_out, int64_t *dims_out, qrun_err *err);
/** @brief Map axis in [-rank, rank-1] to [0, rank-1]; QRUN_E_MODEL when outside. */
qrun_status qrun_normalize_axis(int64_t axis, int rank, int *out, qrun_err *err);
/**
 * @brief Read the values of an integer tensor (INT32/INT64/UINT8.. any integer
 * dtype) into out (cap elements). *n gets the element count. QRUN_E_MODEL when
 * t is not an integer tensor or has more than cap elements. t->data must be set.
 */
qrun_status qrun_tensor_read_ints(
    const struct qrun_tensor *t, int64_t *out, size_t cap, size_t *n, qrun_err *err);
/** @brief Same for float values (any numeric dtype). */
qrun_status qrun_tensor_read_floats(
    const struct qrun_tensor *t, float *out, size_t cap, size_t *n, qrun_err *err);
/** @brief Row-major strides (in elements) of dims. */
void qrun_shape_strides(int rank, const int64_t *dims, int64_t *strides);
/**
 * @brief Strides of a tensor of shape (rank, dims) when broadcast to
 * (out_rank, out_dims): 0 on broadcast dims, right-aligned.
 */
void qrun_broadcast_strides(
    int rank, const int64_t *dims, int out_rank, const int64_t *out_dims, int64_t *strides);
/**
 * @brief Opset < 7 broadcasting. Add/Sub/Mul/Div/Pow with broadcast=1 align
 * B with A starting at `axis` (default: suffix), and PRelu before opset 7
 * applies a 1-D slope of length C along axis 1. When node n uses that rule,
 * fill *view with b's dtype/data and a shape that numpy-broadcasts to a
 * (trailing ones added) and return true; otherwise return false.
 */
bool qrun_legacy_broadcast_view(const struct qrun_node *n,
                                const struct qrun_tensor *a,
                                const struct qrun_tensor *b,
                                struct qrun_tensor *view);
/** @brief Set output i of an infer ctx: dtype and shape. QRUN_E_MODEL on bad shape. */
qrun_status
qrun_infer_set_output(qrun_infer_ctx *c, int i, qrun_dtype dtype, int rank, const int64_t *dims);

#endif
