/* SPDX-License-Identifier: Apache-2.0 */
/* Resource limits: defaults and checks. Every limit is documented in docs/security.md. */
#include "runtime/limits.h"

#include <inttypes.h>
#include <string.h>

static const qrun_limits k_default_limits = {
    .max_model_bytes = (uint64_t)2 << 30,
    .max_nesting = 100,
    .max_nodes = 1000000,
    .max_initializers = 1000000,
    .max_graph_io = 100000,
    .max_rank = QRUN_MAX_RANK,
    .max_tensor_elements = (int64_t)1 << 28,
    .max_total_initializer_bytes = (uint64_t)8 << 30,
    .max_string_bytes = 65536,
    .max_attributes = 1000,
    .max_attribute_elements = (int64_t)1 << 24,
    .max_input_file_bytes = (uint64_t)2 << 30,
    .max_arena_bytes = (uint64_t)4 << 30,
};

QRUN_API void qrun_limits_default(qrun_limits *out) {
    if (out)
        *out = k_default_limits;
}

const qrun_limits *qrun_limits_or_default(const qrun_limits *lim) {
    return lim ? lim : &k_default_limits;
}

qrun_status qrun_limits_validate(const qrun_limits *lim, qrun_err *err) {
    if (!lim)
        return qrun_errf(err, QRUN_E_ARG, "no limits given");
    const char *bad = NULL;
    if (lim->max_model_bytes == 0)
        bad = "max_model_bytes";
    else if (lim->max_nesting <= 0)
        bad = "max_nesting";
    else if (lim->max_nodes <= 0)
        bad = "max_nodes";
    else if (lim->max_initializers <= 0)
        bad = "max_initializers";
    else if (lim->max_graph_io <= 0)
        bad = "max_graph_io";
    else if (lim->max_rank <= 0 || lim->max_rank > QRUN_MAX_RANK)
        bad = "max_rank";
    else if (lim->max_tensor_elements <= 0)
        bad = "max_tensor_elements";
    else if (lim->max_total_initializer_bytes == 0)
        bad = "max_total_initializer_bytes";
    else if (lim->max_string_bytes <= 0)
        bad = "max_string_bytes";
    else if (lim->max_attributes <= 0)
        bad = "max_attributes";
    else if (lim->max_attribute_elements <= 0)
        bad = "max_attribute_elements";
    else if (lim->max_input_file_bytes == 0)
        bad = "max_input_file_bytes";
    else if (lim->max_arena_bytes == 0)
        bad = "max_arena_bytes";
    if (bad)
        return qrun_errf(err, QRUN_E_ARG, "limit %s is out of range (must be > 0%s)", bad,
                         strcmp(bad, "max_rank") == 0 ? " and <= 8" : "");
    return QRUN_OK;
}

qrun_status qrun_limits_check_shape(
    const qrun_limits *lim, const char *what, int rank, const int64_t *dims, qrun_err *err) {
    lim = qrun_limits_or_default(lim);
    if (rank > lim->max_rank)
        return qrun_errf(err, rank > QRUN_MAX_RANK ? QRUN_E_UNSUPPORTED : QRUN_E_MODEL,
                         "%s has rank %d; the limit is %d (max_rank)", what, rank, lim->max_rank);
    /* Overflow-checked product: stop as soon as it passes the limit. */
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 0)
            return QRUN_OK;
    }
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            continue;
        if (dims[i] > lim->max_tensor_elements || n > lim->max_tensor_elements / dims[i]) {
            n = -1;
            break;
        }
        n *= dims[i];
    }
    if (n < 0 || n > lim->max_tensor_elements)
        return qrun_errf(err, QRUN_E_MODEL,
                         "%s has more than %" PRId64 " elements (limit max_tensor_elements)", what,
                         lim->max_tensor_elements);
    return QRUN_OK;
}
