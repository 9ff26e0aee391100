/* SPDX-License-Identifier: Apache-2.0 */
/* Resolved attributes of Conv/ConvTranspose/pool and Reduce nodes, shared by shape inference and
 * kernels. */
#ifndef QRUN_RUNTIME_NN_PARAMS_H
#define QRUN_RUNTIME_NN_PARAMS_H

#include "qrun/qrun.h"
#include "runtime/error.h"
#include "runtime/ir.h"
#include "runtime/tensor.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * Contract: after a successful *_params call every field is resolved: auto_pad
 * is turned into explicit pad_begin/pad_end, kernel comes from the attribute
 * or the weights, and out[] holds the output spatial dims (all >= 1).
 * Tensors are N x C x D1 x ... x Dn with n = n_spatial in [1, QRUN_MAX_RANK-2].
 */
typedef struct qrun_conv_params {
    int n_spatial;
    int64_t batch;
    int64_t c_in;  /* input channels */
    int64_t c_out; /* output channels */
    int64_t group;
    int64_t in[QRUN_MAX_RANK];
    int64_t out[QRUN_MAX_RANK];
    int64_t kernel[QRUN_MAX_RANK];
    int64_t stride[QRUN_MAX_RANK];
    int64_t dilation[QRUN_MAX_RANK];
    int64_t pad_begin[QRUN_MAX_RANK];
    int64_t pad_end[QRUN_MAX_RANK];
    bool ceil_mode;         /* pools */
    bool count_include_pad; /* AveragePool */
    int64_t storage_order;  /* MaxPool Indices: 0 row-major, 1 column-major */
} qrun_conv_params;

/** @brief Conv geometry from X (N,C,D...) and W (M, C/group, k...). QRUN_E_MODEL with a message on
 * invalid input. */
qrun_status qrun_conv_params_get(const qrun_node *node,
                                 const struct qrun_tensor *x,
                                 const struct qrun_tensor *w,
                                 qrun_conv_params *p,
                                 qrun_err *err);
/** @brief ConvTranspose geometry from X (N,C,D...) and W (C, M/group, k...);
 * output_shape/output_padding applied. */
qrun_status qrun_conv_transpose_params_get(const qrun_node *node,
                                           const struct qrun_tensor *x,
                                           const struct qrun_tensor *w,
                                           qrun_conv_params *p,
                                           qrun_err *err);
/** @brief MaxPool/AveragePool geometry (kernel_shape required; c_out = c_in). */
qrun_status qrun_pool_params_get(const qrun_node *node,
                                 const struct qrun_tensor *x,
                                 qrun_conv_params *p,
                                 qrun_err *err);

/**
 * @brief Reduced axes of a ReduceX node: axes from the attribute (older
 * opsets) or from input 1 (ReduceSum 13+, the others 18+), which must then
 * be known (axes->data set; NULL axes = no input). mask[d] is set for each
 * reduced axis of data (rank data_rank); empty axes reduce every axis,
 * unless noop_with_empty_axes, which sets *noop (and no mask bit).
 */
qrun_status qrun_reduce_axes_get(const qrun_node *node,
                                 int data_rank,
                                 const struct qrun_tensor *axes,
                                 bool mask[QRUN_MAX_RANK],
                                 bool *noop,
                                 qrun_err *err);
/** @brief True when ReduceX at this opset takes axes as input 1 rather than an attribute. */
bool qrun_reduce_axes_is_input(const qrun_node *node);

/** @brief Product of the first n entries of v (1 for n == 0). */
/**
 * @brief numpy matmul output shape of a x b (1-D operands and batch
 * broadcasting included); errors name `op`. MatMul, MatMulInteger and
 * QLinearMatMul share it.
 */
qrun_status qrun_matmul_shape(const char *op,
                              const struct qrun_tensor *a,
                              const struct qrun_tensor *b,
                              int *rank_out,
                              int64_t *dims,
                              qrun_err *err);

static inline int64_t qrun_conv_prod(const int64_t *v, int n) {
    int64_t r = 1;
    for (int i = 0; i < n; i++)
        r *= v[i];
    return r;
}

#endif
