/* SPDX-License-Identifier: Apache-2.0 */
/* The context's layout, shared by the api/ files that implement include/qrun/qrun.h. */
#ifndef QRUN_API_CONTEXT_H
#define QRUN_API_CONTEXT_H

#include "qrun/qrun.h"
#include "runtime/error.h"

struct qrun_context {
    const qrun_allocator *alloc;
    qrun_allocator alloc_copy;
    int n_threads;
    qrun_err err;
};

#endif
