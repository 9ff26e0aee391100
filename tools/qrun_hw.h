/* SPDX-License-Identifier: Apache-2.0 */
/* `qrun hw ...` and the --hw option, kept apart from tools/qrun.c. */
#ifndef QRUN_TOOLS_QRUN_HW_H
#define QRUN_TOOLS_QRUN_HW_H

#include "qrun/qrun.h"

/** Defined in qrun.c: print "qrun: error: ..." on stderr and return 1. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Lines for the main --help text. */
extern const char qrun_hw_usage_commands[];
extern const char qrun_hw_usage_options[];

/** @brief `qrun hw list|show ...`; argv[0] is "hw". Returns the exit status. */
int qrun_hw_main(int argc, char **argv);
/**
 * @brief The --hw option of run: load and validate spec (preset or file);
 * fail for a backend that needs a description this build cannot use yet.
 * spec may be NULL (no --hw). Returns 0 or 1 (error printed).
 */
int qrun_hw_option(qrun_context *ctx, const char *spec, const char *backend);

#endif
