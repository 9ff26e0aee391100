/* SPDX-License-Identifier: Apache-2.0 */
/* Resource limits (qrun_limits, public): defaults, validation, the checks shared by readers. */
#ifndef QRUN_RUNTIME_LIMITS_H
#define QRUN_RUNTIME_LIMITS_H

#include "qrun/qrun.h"
#include "runtime/error.h"

/** @brief lim, or the defaults (a static copy) when lim is NULL. */
const qrun_limits *qrun_limits_or_default(const qrun_limits *lim);

/** @brief QRUN_OK, or QRUN_E_ARG naming the first field that is <= 0 or out of range. */
qrun_status qrun_limits_validate(const qrun_limits *lim, qrun_err *err);

/**
 * @brief Check a tensor's rank and element count against lim before anything
 * is allocated for it: QRUN_E_MODEL naming what ("initializer 'w'") and the
 * limit. dims may hold -1 (unknown) entries, which are skipped.
 */
qrun_status qrun_limits_check_shape(
    const qrun_limits *lim, const char *what, int rank, const int64_t *dims, qrun_err *err);

#endif
