/* SPDX-License-Identifier: Apache-2.0 */
/* Turn nodes computed from constants only into constants (before passes that need weights). */
#ifndef QRUN_RUNTIME_QUANTIZE_FOLD_CONST_H
#define QRUN_RUNTIME_QUANTIZE_FOLD_CONST_H

#include "runtime/backend.h"
#include "runtime/error.h"
#include "runtime/ir.h"

/**
 * @brief Plan g for its declared input shapes (symbolic dims as 1) and turn
 * every node whose inputs are all constants (initializers, or outputs of
 * nodes so turned) into constants holding the values the executor computed;
 * the nodes are removed and value names kept. Weights made by nodes
 * (Reshape of an initializer, ConstantOfShape...) thus become initializers
 * that BN folding and quantization can read. Nothing is done when an input
 * has no declared type or rank. *n_folded: nodes removed.
 */
qrun_status qrun_fold_constants(
    qrun_graph *g, const qrun_backend *backends, int n_backends, int *n_folded, qrun_err *err);

#endif
