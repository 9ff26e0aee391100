/* SPDX-License-Identifier: Apache-2.0 */
/* Shared machinery of the elementwise kernel families: broadcast plans, exact integer access, dtype
 * checks. */
#ifndef QRUN_CPU_REF_EW_COMMON_H
#define QRUN_CPU_REF_EW_COMMON_H

#include "runtime/dtype.h"
#include "runtime/ir.h"
#include "runtime/tensor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EW_MAX_IN 3

/*
 * Contract: a plan describes out[...] = f(in_0[...], .., in_{n-1}[...]) with
 * numpy broadcasting. Dims are coalesced so the innermost run is as long as
 * possible; along it every input steps by 0 (broadcast) or 1. Offsets are in
 * elements, not bytes, so sub-byte types work through the traits accessors.
 */
typedef struct ew_plan {
    int n_in;
    int rank; /* >= 1 after coalescing */
    int64_t dims[QRUN_MAX_RANK];
    int64_t strides[EW_MAX_IN][QRUN_MAX_RANK];
    int64_t numel;
} ew_plan;

/** @brief Row callback: n output elements from out_off; input k starts at in_off[k] and steps by
 * in_step[k]. */
typedef void (*ew_row_fn)(
    void *ctx, const int64_t *in_off, const int64_t *in_step, int64_t out_off, int64_t n);

/** @brief Build a plan for n_in (<= EW_MAX_IN) non-NULL inputs broadcast to out's shape. */
void ew_plan_init(ew_plan *p,
                  int n_in,
                  const struct qrun_tensor *const *ins,
                  const struct qrun_tensor *out);
/**
 * @brief Call fn over every output row chunk. Parallel (OpenMP, n_threads)
 * when the work is large and `parallel` is set; pass parallel = false when
 * the output is a sub-byte type (neighbouring elements share a byte).
 */
void ew_plan_run(const ew_plan *p, ew_row_fn fn, void *ctx, int n_threads, bool parallel);

/* Exact integer access: load sign- or zero-extends; store wraps to the type's width (numpy/ORT). */
typedef int64_t (*ew_load_i64_fn)(const void *data, int64_t i);
typedef void (*ew_store_i64_fn)(void *data, int64_t i, int64_t v);
/** @brief Loader for an integer or BOOL dtype; NULL otherwise. UINT64 comes back as its bits. */
ew_load_i64_fn ew_int_loader(qrun_dtype t);
/** @brief Wrapping store for an integer or BOOL dtype (BOOL stores v != 0); NULL otherwise. */
ew_store_i64_fn ew_int_storer(qrun_dtype t);

/** @brief Whether a kernel may parallelise writes to a tensor of dtype t (whole bytes per element).
 */
/*
 * supports() check shared by the elementwise families: every present input
 * is a numeric float or integer type (no string, complex or bool). When
 * int_ok is non-NULL, integer inputs are accepted only if int_ok(op) says
 * the op is defined on integers.
 */
bool ew_inputs_numeric(const qrun_node *node,
                       const struct qrun_tensor *const *inputs,
                       int n_inputs,
                       bool (*int_ok)(qrun_op op),
                       char *why,
                       size_t why_cap);

static inline bool ew_parallel_ok(qrun_dtype t) {
    return qrun_dtype_bits(t) >= 8;
}

/** @brief Elements of a tensor (numel of its shape). */
static inline int64_t ew_numel(const struct qrun_tensor *t) {
    return qrun_shape_numel(t->rank, t->dims);
}

/** @brief Work size above which kernels use OpenMP. */
#define EW_PARALLEL_MIN 32768

#endif
