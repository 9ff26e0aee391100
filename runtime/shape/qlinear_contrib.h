/* SPDX-License-Identifier: Apache-2.0 */
/* Layout helpers of the com.microsoft QLinear pools, shared by shape inference and kernels. */
#ifndef QRUN_RUNTIME_SHAPE_QLINEAR_CONTRIB_H
#define QRUN_RUNTIME_SHAPE_QLINEAR_CONTRIB_H

#include "runtime/error.h"
#include "runtime/ir.h"
#include "runtime/shape/nn_params.h"
#include "runtime/tensor.h"

#include <stdbool.h>

/*
 * channels_last = 1 means X is N x D1 x ... x Dn x C (NHWC for 2-D).
 * These helpers move between that layout and the N x C x D1 ... layout the
 * pool geometry (qrun_conv_params) is written for.
 */

/** @brief The node's channels_last attribute (0 when absent). */
bool qrun_qlinear_channels_last(const qrun_node *node);

/** @brief view = x with its dims reordered from N x D1..Dn x C to N x C x D1..Dn (data shared). */
void qrun_channels_last_view(const struct qrun_tensor *x, struct qrun_tensor *view);

/** @brief Reorder rank dims from N x C x D1..Dn to N x D1..Dn x C. */
void qrun_channels_last_dims(int rank, const int64_t *nchw, int64_t *out);

/**
 * @brief Geometry of QLinearAveragePool (kernel_shape etc. from the node) or
 * QLinearGlobalAveragePool (one window over all spatial dims) for X in the
 * node's layout. p is in N x C x spatial terms. QRUN_E_MODEL on bad input.
 */
qrun_status qrun_qlinear_pool_params(const qrun_node *node,
                                     const struct qrun_tensor *x,
                                     qrun_conv_params *p,
                                     qrun_err *err);

/**
 * @brief QLinearSoftmax semantics: *v13 when the node's opset attribute is 13
 * or more (softmax along axis alone; default axis -1), else the input is
 * coerced to 2-D at axis (default 1). Returns the axis attribute or default.
 */
int64_t qrun_qlinear_softmax_axis(const qrun_node *node, bool *v13);

/** @brief Output dims (rank n_spatial + 2) of a pool in the node's layout. */
void qrun_qlinear_pool_out_dims(const qrun_conv_params *p, bool channels_last, int64_t *dims);

#endif
