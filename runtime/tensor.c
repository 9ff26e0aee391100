/* SPDX-License-Identifier: Apache-2.0 */
/* Tensor shape arithmetic and ownership. */
#include "runtime/tensor.h"
#include "runtime/alloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int64_t qrun_shape_numel(int rank, const int64_t *dims) {
    if (rank < 0 || rank > QRUN_MAX_RANK)
        return -1;
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return -1;
        if (dims[i] == 0)
            n = 0;
        else if (n > INT64_MAX / dims[i])
            return -1;
        else
            n *= dims[i];
    }
    /* Keep checking later dims for negatives/overflow even after a zero. */
    return n;
}

bool qrun_tensor_set_shape(struct qrun_tensor *t, qrun_dtype dtype, int rank, const int64_t *dims) {
    if (rank < 0 || rank > QRUN_MAX_RANK)
        return false;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return false;
    }
    int64_t n = qrun_shape_numel(rank, dims);
    size_t nbytes = 0;
    if (n < 0 || !qrun_dtype_nbytes(dtype, n, &nbytes))
        return false;
    t->dtype = dtype;
    t->rank = rank;
    for (int i = 0; i < QRUN_MAX_RANK; i++)
        t->dims[i] = i < rank ? dims[i] : 0;
    t->nbytes = nbytes;
    return true;
}

qrun_status qrun_tensor_alloc_data(struct qrun_tensor *t, const qrun_allocator *alloc) {
    if (t->owns_data)
        qrun_free(t->alloc, t->data);
    t->data = qrun_calloc(alloc, 1, t->nbytes ? t->nbytes : 1);
    t->owns_data = t->data != NULL;
    t->alloc = alloc;
    return t->data ? QRUN_OK : QRUN_E_NOMEM;
}

void qrun_tensor_release(struct qrun_tensor *t) {
    if (!t)
        return;
    if (t->owns_data)
        qrun_free(t->alloc, t->data);
    qrun_free(t->alloc, t->name);
    t->data = NULL;
    t->name = NULL;
    t->owns_data = false;
}

const char *qrun_shape_str(int rank, const int64_t *dims, char *buf, size_t cap) {
    size_t used = 0;
    if (cap == 0)
        return buf;
    buf[0] = '\0';
    used += (size_t)snprintf(buf + used, cap - used, "[");
    for (int i = 0; i < rank && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%" PRId64, i ? ", " : "", dims[i]);
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
    return buf;
}
