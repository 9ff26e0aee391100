/* SPDX-License-Identifier: Apache-2.0 */
/* Error message formatting. */
#include "runtime/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

qrun_status qrun_errf(qrun_err *err, qrun_status s, const char *fmt, ...) {
    if (!err)
        return s;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return s;
}

void qrun_err_prefix(qrun_err *err, const char *fmt, ...) {
    if (!err)
        return;
    char prefix[QRUN_ERRMSG_CAP];
    char old[QRUN_ERRMSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    size_t lp = strlen(prefix), lo = strlen(old);
    if (lp > sizeof err->msg - 1)
        lp = sizeof err->msg - 1;
    if (lo > sizeof err->msg - 1 - lp)
        lo = sizeof err->msg - 1 - lp;
    memcpy(err->msg, prefix, lp);
    memcpy(err->msg + lp, old, lo);
    err->msg[lp + lo] = '\0';
}
