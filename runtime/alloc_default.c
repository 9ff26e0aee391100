/* SPDX-License-Identifier: Apache-2.0 */
/* The default allocator and allocation helpers; the only file that calls malloc. */
#include "runtime/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *default_alloc(void *ud, size_t size) {
    (void)ud;
    return malloc(size);
}

static void default_free(void *ud, void *ptr) {
    (void)ud;
    free(ptr);
}

static const qrun_allocator k_default_allocator = {default_alloc, default_free, NULL};

const qrun_allocator *qrun_allocator_default(void) {
    return &k_default_allocator;
}

void *qrun_malloc(const qrun_allocator *a, size_t size) {
    if (!a)
        a = &k_default_allocator;
    /* A zero-byte request still returns a unique pointer, like most mallocs. */
    return a->alloc(a->ud, size ? size : 1);
}

void *qrun_calloc(const qrun_allocator *a, size_t n, size_t size) {
    if (size && n > SIZE_MAX / size)
        return NULL;
    size_t total = n * size;
    void *p = qrun_malloc(a, total);
    if (p)
        memset(p, 0, total > 0 ? total : 1);
    return p;
}

void qrun_free(const qrun_allocator *a, void *p) {
    if (!p)
        return;
    if (!a)
        a = &k_default_allocator;
    a->free(a->ud, p);
}

char *qrun_strdup(const qrun_allocator *a, const char *s) {
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = qrun_malloc(a, n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int qrun_grow(const qrun_allocator *a, void **arr, size_t elem, size_t *cap, size_t need) {
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return -1;
        ncap *= 2;
    }
    if (elem && ncap > SIZE_MAX / elem)
        return -1;
    void *p = qrun_malloc(a, ncap * elem);
    if (!p)
        return -1;
    if (*arr && *cap)
        memcpy(p, *arr, *cap * elem);
    memset((char *)p + *cap * elem, 0, (ncap - *cap) * elem);
    qrun_free(a, *arr);
    *arr = p;
    *cap = ncap;
    return 0;
}
