/* SPDX-License-Identifier: Apache-2.0 */
/* Allocation goes through a qrun_allocator; only alloc_default.c calls malloc. */
#ifndef QRUN_RUNTIME_ALLOC_H
#define QRUN_RUNTIME_ALLOC_H

#include "qrun/qrun.h"

#include <stddef.h>

/** @brief The malloc/free allocator (static, stateless). */
const qrun_allocator *qrun_allocator_default(void);
/** @brief alloc through a (non-NULL) allocator; NULL on failure or size 0 overflow. */
void *qrun_malloc(const qrun_allocator *a, size_t size);
/** @brief zeroed allocation of n*size bytes; NULL on overflow or failure. */
void *qrun_calloc(const qrun_allocator *a, size_t n, size_t size);
void qrun_free(const qrun_allocator *a, void *p);
/** @brief Duplicate a NUL-terminated string (NULL -> NULL with success). */
char *qrun_strdup(const qrun_allocator *a, const char *s);
/** @brief Grow *arr (element size elem) to hold at least need elements; doubles capacity. */
int qrun_grow(const qrun_allocator *a, void **arr, size_t elem, size_t *cap, size_t need);

#endif
