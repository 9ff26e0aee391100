/* SPDX-License-Identifier: Apache-2.0 */
/* Error message formatting. */
#include "runtime/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * Messages quote names from untrusted files; a newline or escape sequence in
 * one must not split the message or drive a terminal: control bytes become '?'.
 */
static void err_one_line(char *msg) {
    for (unsigned char *p = (unsigned char *)msg; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            *p = '?';
    }
}

qrun_status qrun_errf(qrun_err *err, qrun_status s, const char *fmt, ...) {
    if (!err)
        return s;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err_one_line(err->msg);
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
    err_one_line(err->msg);
}
