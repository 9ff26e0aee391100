/* SPDX-License-Identifier: Apache-2.0 */
/* The backend registry: the one static list of concrete backends. */
#include "api/registry.h"
#include "backends/accel_sim/backend.h"
#include "backends/cpu_ref/kernel.h"

#include <stdio.h>
#include <string.h>

typedef qrun_status (*backend_ctor)(const qrun_allocator *alloc,
                                    const hw_config *hw,
                                    qrun_backend *out);

static qrun_status
create_cpu_ref(const qrun_allocator *alloc, const hw_config *hw, qrun_backend *out) {
    (void)hw;
    return cpu_ref_backend_create(alloc, out);
}

static const struct registry_entry {
    const char *name;
    backend_ctor create;
    bool needs_hw; /* simulates a hardware description, which must be given */
} k_backends[] = {
    {"cpu_ref", create_cpu_ref, false},
    {"accel_sim", accel_sim_backend_create, true},
};

enum { N_BACKENDS = sizeof k_backends / sizeof k_backends[0] };

int qrun_registry_count(void) {
    return N_BACKENDS;
}

const char *qrun_registry_name(int i) {
    return (i >= 0 && i < N_BACKENDS) ? k_backends[i].name : NULL;
}

qrun_status qrun_registry_create_chain(
    const char *name, const qrun_allocator *alloc, qrun_backend *out, int *n_out, qrun_err *err) {
    return qrun_registry_create_chain_hw(name, alloc, NULL, out, n_out, err);
}

qrun_status qrun_registry_create_chain_hw(const char *name,
                                          const qrun_allocator *alloc,
                                          const hw_config *hw,
                                          qrun_backend *out,
                                          int *n_out,
                                          qrun_err *err) {
    *n_out = 0;
    if (!name || !name[0])
        name = "cpu_ref";
    int chosen = -1;
    for (int i = 0; i < N_BACKENDS; i++) {
        if (strcmp(k_backends[i].name, name) == 0)
            chosen = i;
    }
    if (chosen < 0) {
        char names[128] = "";
        for (int i = 0; i < N_BACKENDS; i++) {
            size_t used = strlen(names);
            snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", k_backends[i].name);
        }
        return qrun_errf(err, QRUN_E_ARG, "unknown backend '%s' (available: %s)", name, names);
    }
    if (k_backends[chosen].needs_hw && !hw)
        return qrun_errf(err, QRUN_E_ARG,
                         "backend '%s' needs a hardware description (--hw PRESET|FILE; "
                         "qrun_session_options.hw)",
                         name);
    /* The chosen backend first; cpu_ref last as the fallback for what it refuses. */
    qrun_status s = k_backends[chosen].create(alloc, hw, &out[(*n_out)]);
    if (s)
        return qrun_errf(err, s, "cannot create backend '%s'", name);
    (*n_out)++;
    if (strcmp(name, "cpu_ref") != 0) {
        s = cpu_ref_backend_create(alloc, &out[*n_out]);
        if (s) {
            qrun_registry_free_chain(out, *n_out);
            *n_out = 0;
            return qrun_errf(err, s, "cannot create backend 'cpu_ref'");
        }
        (*n_out)++;
    }
    return QRUN_OK;
}

void qrun_registry_free_chain(qrun_backend *bs, int n) {
    for (int i = 0; i < n; i++) {
        if (bs[i].iface.free)
            bs[i].iface.free(bs[i].ctx);
    }
}
