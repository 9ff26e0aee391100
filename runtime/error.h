/* SPDX-License-Identifier: Apache-2.0 */
/* Error reporting inside the library: a status plus a message in a caller buffer. */
#ifndef QRUN_RUNTIME_ERROR_H
#define QRUN_RUNTIME_ERROR_H

#include "qrun/qrun.h"

#include <stddef.h>

#define QRUN_ERRMSG_CAP 1024

/** A message buffer owned by whoever reports errors (context, session, call). */
typedef struct qrun_err {
    char msg[QRUN_ERRMSG_CAP];
} qrun_err;

/** @brief Format msg into err (if non-NULL) and return s; for `return qrun_errf(err, QRUN_E_MODEL,
 * ...)`. */
qrun_status qrun_errf(qrun_err *err, qrun_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** @brief Prefix the existing message with formatted text ("node 'conv1' (Conv): " + old). */
void qrun_err_prefix(qrun_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
