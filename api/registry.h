/* SPDX-License-Identifier: Apache-2.0 */
/* Backend registry (API layer): names the concrete backends so runtime/ never includes one. */
#ifndef QRUN_API_REGISTRY_H
#define QRUN_API_REGISTRY_H

#include "backends/accel_sim/hw_config.h"
#include "runtime/backend.h"

#define QRUN_MAX_BACKENDS 4

int qrun_registry_count(void);
const char *qrun_registry_name(int i);
/**
 * @brief Create the backend chain for a session: the named backend first,
 * then cpu_ref as fallback (just cpu_ref when name is "cpu_ref" or NULL).
 * out must hold QRUN_MAX_BACKENDS entries.
 */
qrun_status qrun_registry_create_chain(
    const char *name, const qrun_allocator *alloc, qrun_backend *out, int *n_out, qrun_err *err);
/** @brief Same, for a backend that simulates hardware (accel_sim): hw is required there and
 * ignored by the others. */
qrun_status qrun_registry_create_chain_hw(const char *name,
                                          const qrun_allocator *alloc,
                                          const hw_config *hw,
                                          qrun_backend *out,
                                          int *n_out,
                                          qrun_err *err);
void qrun_registry_free_chain(qrun_backend *bs, int n);

#endif
