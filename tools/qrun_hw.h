/* SPDX-License-Identifier: Apache-2.0 */
/* `qrun hw ...` and the --hw option, kept apart from tools/qrun.c. */
#ifndef QRUN_TOOLS_QRUN_HW_H
#define QRUN_TOOLS_QRUN_HW_H

#include "qrun/qrun.h"

#include <stdbool.h>
#include <stdio.h>

/** Defined in qrun.c: print "qrun: error: ..." on stderr and return 1. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Lines for the main --help text. */
extern const char qrun_hw_usage_commands[];
extern const char qrun_hw_usage_options[];

/** @brief `qrun hw list|show ...`; argv[0] is "hw". Returns the exit status. */
int qrun_hw_main(int argc, char **argv);
/**
 * @brief The --hw and --sim options of run: load and validate spec (preset
 * or file) into *hw (NULL when spec is NULL); check that --sim (NULL when not
 * given) names a mode and comes with --backend accel_sim, which in turn needs
 * --hw. With --sim timing, dtype (the --dtype value, NULL when not given)
 * becomes so->sim_dtype: the run is timed in that datatype instead of being
 * quantized (the caller skips PTQ). Sets so->sim. Returns 0 or 1 (error printed).
 */
int qrun_hw_option(qrun_context *ctx,
                   const char *spec,
                   const char *backend,
                   const char *sim,
                   const char *dtype,
                   qrun_hw **hw,
                   qrun_session_options *so);
/**
 * @brief The accel_sim report of a session after a run: a CSV-style table
 * and totals (text), or `, "sim": {...}` to splice into the JSON summary.
 * Prints nothing when the session does not simulate.
 */
void qrun_hw_print_sim(FILE *f, const qrun_session *sess, bool json);

#endif
