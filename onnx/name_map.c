/* SPDX-License-Identifier: Apache-2.0 */
/* Open-addressing string -> index map for name lookup while loading large graphs. */
#include "onnx/onnx_internal.h"
#include "runtime/alloc.h"

#include <stdint.h>
#include <string.h>

static uint64_t nm_hash(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static bool nm_alloc(onnx_name_map *m, size_t cap) {
    m->keys = qrun_calloc(m->alloc, cap, sizeof *m->keys);
    m->vals = qrun_calloc(m->alloc, cap, sizeof *m->vals);
    if (!m->keys || !m->vals) {
        qrun_free(m->alloc, m->keys);
        qrun_free(m->alloc, m->vals);
        m->keys = NULL;
        m->vals = NULL;
        return false;
    }
    m->cap = cap;
    m->n = 0;
    return true;
}

bool onnx_name_map_init(onnx_name_map *m, const qrun_allocator *alloc, size_t expected) {
    memset(m, 0, sizeof *m);
    m->alloc = alloc;
    size_t cap = 16;
    while (cap < expected * 2 && cap < ((size_t)1 << 40))
        cap *= 2;
    return nm_alloc(m, cap);
}

void onnx_name_map_free(onnx_name_map *m) {
    qrun_free(m->alloc, m->keys);
    qrun_free(m->alloc, m->vals);
    memset(m, 0, sizeof *m);
}

static size_t nm_slot(const onnx_name_map *m, const char *key) {
    size_t mask = m->cap - 1;
    size_t i = (size_t)nm_hash(key) & mask;
    while (m->keys[i] && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & mask;
    return i;
}

int onnx_name_map_get(const onnx_name_map *m, const char *key) {
    if (!m->keys || !key)
        return -1;
    size_t i = nm_slot(m, key);
    return m->keys[i] ? m->vals[i] : -1;
}

static bool nm_rehash(onnx_name_map *m) {
    onnx_name_map old = *m;
    if (old.cap > SIZE_MAX / 4 || !nm_alloc(m, old.cap * 2)) {
        *m = old;
        return false;
    }
    for (size_t i = 0; i < old.cap; i++) {
        if (old.keys[i]) {
            size_t j = nm_slot(m, old.keys[i]);
            m->keys[j] = old.keys[i];
            m->vals[j] = old.vals[i];
            m->n++;
        }
    }
    qrun_free(m->alloc, old.keys);
    qrun_free(m->alloc, old.vals);
    return true;
}

bool onnx_name_map_put(onnx_name_map *m, const char *key, int val) {
    if (!m->keys || !key)
        return false;
    /* Keep the load factor at most 1/2 so probes stay short. */
    if ((m->n + 1) * 2 > m->cap && !nm_rehash(m))
        return false;
    size_t i = nm_slot(m, key);
    if (!m->keys[i]) {
        m->keys[i] = key;
        m->n++;
    }
    m->vals[i] = val;
    return true;
}
