/* SPDX-License-Identifier: Apache-2.0 */
/* Static memory planner: place buffers in one arena so that buffers whose lifetimes overlap never
 * overlap in memory. */
#ifndef QRUN_RUNTIME_PLANNER_H
#define QRUN_RUNTIME_PLANNER_H

#include "qrun/qrun.h"

#include <stddef.h>

#define QRUN_PLAN_ALIGN 64

/*
 * Contract: add every buffer with its size and the [first_use, last_use]
 * interval of steps during which it must stay intact (inclusive), then
 * call plan_solve once; offsets are multiples of QRUN_PLAN_ALIGN. The
 * greedy strategy places larger buffers first at the lowest offset that
 * fits between already placed buffers live at the same time (TFLM's
 * GreedyMemoryPlanner idea).
 */
typedef struct qrun_plan qrun_plan;

qrun_status plan_create(const qrun_allocator *alloc, qrun_plan **out);
void plan_free(qrun_plan *p);
/** @brief Add a buffer; returns its index (>= 0) or -1 on NOMEM. */
int plan_add_buffer(qrun_plan *p, size_t size, int first_use, int last_use);
qrun_status plan_solve(qrun_plan *p);
/** @brief Offset of buffer i after plan_solve. */
size_t plan_get_offset(const qrun_plan *p, int i);
/** @brief Arena bytes needed after plan_solve. */
size_t plan_total_size(const qrun_plan *p);

#endif
