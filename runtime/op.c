/* SPDX-License-Identifier: Apache-2.0 */
/* The op descriptor table, expanded from ops.def. */
#include "runtime/op.h"

#include <string.h>

static const struct qrun_op_desc k_ops[QRUN_OP_COUNT] = {
    [QRUN_OP_UNKNOWN] = {"<unknown>", "", 0, -1, 0, -1, NULL, 0},
#define QRUN_OP(id, name, domain, min_in, max_in, min_out, max_out, infer, flags)                  \
    [QRUN_OP_##id] = {name, domain, min_in, max_in, min_out, max_out, infer, flags},
#include "runtime/ops.def"
#undef QRUN_OP
};

const struct qrun_op_desc *qrun_op_desc_get(qrun_op op) {
    if ((int)op <= 0 || op >= QRUN_OP_COUNT)
        return &k_ops[QRUN_OP_UNKNOWN];
    return &k_ops[op];
}

static bool domain_is_onnx(const char *d) {
    return !d || d[0] == '\0' || strcmp(d, "ai.onnx") == 0;
}

static bool same_domain(const char *a, const char *b) {
    if (domain_is_onnx(a) || domain_is_onnx(b))
        return domain_is_onnx(a) && domain_is_onnx(b);
    return strcmp(a, b) == 0;
}

qrun_op qrun_op_lookup(const char *domain, const char *op_type) {
    if (!op_type)
        return QRUN_OP_UNKNOWN;
    for (int i = 1; i < QRUN_OP_COUNT; i++) {
        if (strcmp(k_ops[i].name, op_type) == 0 && same_domain(k_ops[i].domain, domain))
            return (qrun_op)i;
    }
    return QRUN_OP_UNKNOWN;
}
