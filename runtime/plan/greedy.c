/* SPDX-License-Identifier: Apache-2.0 */
/* Greedy-by-size memory planner (see planner.h). */
#include "runtime/plan/planner.h"
#include "runtime/alloc.h"

#include <stdint.h>
#include <stdlib.h>

typedef struct plan_buffer {
    size_t size;
    int first_use, last_use;
    size_t offset;
    int placed;
} plan_buffer;

struct qrun_plan {
    const qrun_allocator *alloc;
    plan_buffer *bufs;
    size_t n, cap;
    size_t total;
};

qrun_status plan_create(const qrun_allocator *alloc, qrun_plan **out) {
    *out = qrun_calloc(alloc, 1, sizeof **out);
    if (!*out)
        return QRUN_E_NOMEM;
    (*out)->alloc = alloc;
    return QRUN_OK;
}

void plan_free(qrun_plan *p) {
    if (!p)
        return;
    qrun_free(p->alloc, p->bufs);
    qrun_free(p->alloc, p);
}

int plan_add_buffer(qrun_plan *p, size_t size, int first_use, int last_use) {
    if (qrun_grow(p->alloc, (void **)&p->bufs, sizeof *p->bufs, &p->cap, p->n + 1))
        return -1;
    size_t aligned = (size + QRUN_PLAN_ALIGN - 1) / QRUN_PLAN_ALIGN * QRUN_PLAN_ALIGN;
    if (aligned < size)
        return -1;
    p->bufs[p->n] = (plan_buffer){aligned, first_use, last_use, 0, 0};
    return (int)p->n++;
}

static int lifetimes_overlap(const plan_buffer *a, const plan_buffer *b) {
    return a->first_use <= b->last_use && b->first_use <= a->last_use;
}

/* Lowest offset where b fits among the placed buffers that are live with it. */
static size_t find_offset(const qrun_plan *p, const plan_buffer *b) {
    size_t candidate = 0;
    for (;;) {
        int moved = 0;
        for (size_t i = 0; i < p->n; i++) {
            const plan_buffer *o = &p->bufs[i];
            if (!o->placed || o == b || !lifetimes_overlap(o, b))
                continue;
            if (candidate < o->offset + o->size && o->offset < candidate + b->size) {
                candidate = o->offset + o->size;
                moved = 1;
            }
        }
        if (!moved)
            return candidate;
    }
}

qrun_status plan_solve(qrun_plan *p) {
    size_t *order = qrun_calloc(p->alloc, p->n ? p->n : 1, sizeof *order);
    if (!order)
        return QRUN_E_NOMEM;
    for (size_t i = 0; i < p->n; i++)
        order[i] = i;
    /* Insertion sort by size, descending: stable and fine for thousands of buffers. */
    for (size_t i = 1; i < p->n; i++) {
        size_t k = order[i], j = i;
        while (j > 0 && p->bufs[order[j - 1]].size < p->bufs[k].size) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = k;
    }
    p->total = 0;
    for (size_t i = 0; i < p->n; i++)
        p->bufs[i].placed = 0;
    for (size_t i = 0; i < p->n; i++) {
        plan_buffer *b = &p->bufs[order[i]];
        b->offset = find_offset(p, b);
        b->placed = 1;
        if (b->offset + b->size > p->total)
            p->total = b->offset + b->size;
    }
    qrun_free(p->alloc, order);
    return QRUN_OK;
}

size_t plan_get_offset(const qrun_plan *p, int i) {
    return p->bufs[i].offset;
}

size_t plan_total_size(const qrun_plan *p) {
    return p->total;
}
