/* SPDX-License-Identifier: Apache-2.0 */
/* Fold BatchNormalization into the Conv or Gemm that feeds it. */
#ifndef QRUN_RUNTIME_QUANTIZE_FOLD_BN_H
#define QRUN_RUNTIME_QUANTIZE_FOLD_BN_H

#include "runtime/error.h"
#include "runtime/ir.h"

/**
 * @brief For every Conv (or Gemm with beta = 1) whose output feeds only an
 * inference-mode BatchNormalization with constant float parameters, and
 * whose weight (and bias, if any) are constant float: replace the pair by
 * one Conv/Gemm with W' = W * f per output channel and b' = (b - mean) * f +
 * beta_bn, f = gamma / sqrt(var + eps). The fused node writes the BN's
 * output value (names downstream are unchanged). New weights are new
 * constants, so shared weights are never changed. Re-sorts the graph.
 * *n_folded receives the number of BatchNormalization nodes removed.
 */
qrun_status qrun_fold_batchnorm(qrun_graph *g, int *n_folded, qrun_err *err);

#endif
