/* SPDX-License-Identifier: Apache-2.0 */
/* Tensors: dtype + shape + data; the object kernels read and write. */
#ifndef QRUN_RUNTIME_TENSOR_H
#define QRUN_RUNTIME_TENSOR_H

#include "qrun/qrun.h"
#include "runtime/dtype.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Contract: data points to numel elements laid out densely in row-major
 * (C) order, nbytes = qrun_dtype_nbytes(dtype, numel). A rank-0 tensor is a
 * scalar with one element. data may be NULL during shape inference when the
 * value is not known yet. owns_data: data was allocated with alloc and is
 * freed with the tensor.
 */
struct qrun_tensor {
    qrun_dtype dtype;
    int rank;
    int64_t dims[QRUN_MAX_RANK];
    void *data;
    size_t nbytes;
    bool owns_data;
    char *name;                  /* owned, may be NULL */
    const qrun_allocator *alloc; /* allocator of data/name when owned */
};

/** @brief Number of elements (1 for rank 0); -1 if a dim is negative or on overflow. */
int64_t qrun_shape_numel(int rank, const int64_t *dims);
static inline int64_t qrun_tensor_numel_(const struct qrun_tensor *t) {
    return qrun_shape_numel(t->rank, t->dims);
}
/** @brief Set shape fields and recompute nbytes; false on overflow or negative dim. */
bool qrun_tensor_set_shape(struct qrun_tensor *t, qrun_dtype dtype, int rank, const int64_t *dims);
/** @brief Allocate a zeroed buffer for the current shape (owns_data = true). */
qrun_status qrun_tensor_alloc_data(struct qrun_tensor *t, const qrun_allocator *alloc);
/** @brief Free owned data and name; leaves the struct reusable. */
void qrun_tensor_release(struct qrun_tensor *t);
/** @brief Format a shape as "[1, 3, 224, 224]" into buf. */
const char *qrun_shape_str(int rank, const int64_t *dims, char *buf, size_t cap);

#endif
