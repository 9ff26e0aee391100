/* SPDX-License-Identifier: Apache-2.0 */
/* `qrun run --profile FILE`: per-node records of timed runs, written as a Chrome trace (.json),
 * CSV (.csv) or a sorted table on stdout (-). */
#ifndef QRUN_TOOLS_QRUN_PROFILE_H
#define QRUN_TOOLS_QRUN_PROFILE_H

#include "qrun/qrun.h"

typedef struct qrun_profile qrun_profile;

/** @brief 0 when dest is "-" or a path ending in .json or .csv; else 1 with one line on stderr. */
int qrun_profile_check_dest(const char *dest);

/**
 * @brief Collector for up to runs timed runs writing to dest, which is opened here so that a bad
 * path fails before the runs; NULL with one line on stderr on error.
 */
qrun_profile *qrun_profile_new(int runs, const char *dest);
void qrun_profile_free(qrun_profile *p);

/** @brief Take the node times of the run sess just made (profiling on). 1 on error. */
int qrun_profile_add_run(qrun_profile *p, const qrun_session *sess);

/**
 * @brief Write the records to the destination: node times are the median over the added runs
 * (cpu_ref and host nodes: measured); nodes accel_sim times get the simulated time (cycles / clock,
 * plus their host-link transfers) and its cycles, energy and stalls. 1 with one line on stderr when
 * the file cannot be written.
 */
int qrun_profile_write(qrun_profile *p,
                       const qrun_session *sess,
                       const char *model,
                       const char *backend);

#endif
