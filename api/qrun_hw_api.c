/* SPDX-License-Identifier: Apache-2.0 */
/* Public API glue for hardware descriptions (qrun_hw_*) over backends/accel_sim/hw_config. */
#include "qrun/qrun.h"

#include "api/context.h"
#include "backends/accel_sim/hw_config.h"
#include "runtime/alloc.h"

#include <string.h>

struct qrun_hw {
    qrun_context *ctx;
    hw_config cfg;
    char *json; /* last qrun_hw_to_json result */
    char *text; /* last qrun_hw_to_text result */
};

QRUN_API int qrun_hw_preset_count(void) {
    return hw_preset_count();
}

QRUN_API const char *qrun_hw_preset_name(int i) {
    return hw_preset_name(i);
}

QRUN_API qrun_status qrun_hw_load(qrun_context *ctx, const char *preset_or_file, qrun_hw **out) {
    if (!ctx || !out)
        return ctx ? qrun_errf(&ctx->err, QRUN_E_ARG, "qrun_hw_load: NULL argument") : QRUN_E_ARG;
    *out = NULL;
    qrun_hw *hw = qrun_calloc(ctx->alloc, 1, sizeof *hw);
    if (!hw)
        return qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory");
    qrun_status s = hw_config_load(preset_or_file, ctx->alloc, &hw->cfg, &ctx->err);
    if (s) {
        qrun_free(ctx->alloc, hw);
        return s;
    }
    hw->ctx = ctx;
    ctx->err.msg[0] = '\0';
    *out = hw;
    return QRUN_OK;
}

QRUN_API void qrun_hw_free(qrun_hw *hw) {
    if (!hw)
        return;
    const qrun_allocator *a = hw->ctx->alloc;
    hw_config_release(&hw->cfg);
    qrun_free(a, hw->json);
    qrun_free(a, hw->text);
    qrun_free(a, hw);
}

QRUN_API const char *qrun_hw_name(const qrun_hw *hw) {
    return hw->cfg.name;
}

QRUN_API const char *qrun_hw_description(const qrun_hw *hw) {
    return hw->cfg.description;
}

QRUN_API qrun_status qrun_hw_peak_tops(qrun_hw *hw, const char *dtype, double *tops) {
    if (!hw || !dtype || !tops)
        return hw ? qrun_errf(&hw->ctx->err, QRUN_E_ARG, "qrun_hw_peak_tops: NULL argument")
                  : QRUN_E_ARG;
    *tops = 0;
    qrun_dtype dt = hw_dtype_from_key(dtype);
    if (dt == QRUN_DTYPE_UNDEFINED)
        return qrun_errf(&hw->ctx->err, QRUN_E_ARG, "unknown datatype '%s'", dtype);
    if (!hw_peak_tops(&hw->cfg, dt, tops))
        return qrun_errf(
            &hw->ctx->err, QRUN_E_UNSUPPORTED,
            "hardware '%s' has no MAC rate for %s (its dtypes section does not list it)",
            hw->cfg.name, hw_dtype_key(dt));
    hw->ctx->err.msg[0] = '\0';
    return QRUN_OK;
}

/* Replace *slot with a fresh rendering; the previous string is freed only on success. */
static qrun_status render(qrun_hw *hw,
                          qrun_status (*fn)(const hw_config *, char **, qrun_err *),
                          char **slot,
                          const char **out) {
    if (!hw || !out)
        return hw ? qrun_errf(&hw->ctx->err, QRUN_E_ARG, "NULL argument") : QRUN_E_ARG;
    *out = NULL;
    char *s = NULL;
    qrun_status st = fn(&hw->cfg, &s, &hw->ctx->err);
    if (st)
        return st;
    qrun_free(hw->ctx->alloc, *slot);
    *slot = s;
    *out = s;
    hw->ctx->err.msg[0] = '\0';
    return QRUN_OK;
}

QRUN_API qrun_status qrun_hw_to_json(qrun_hw *hw, const char **json) {
    return render(hw, hw_config_to_json, hw ? &hw->json : NULL, json);
}

QRUN_API qrun_status qrun_hw_to_text(qrun_hw *hw, const char **text) {
    return render(hw, hw_config_to_text, hw ? &hw->text : NULL, text);
}

const hw_config *qrun_hw_config_(const qrun_hw *hw) {
    return &hw->cfg;
}
