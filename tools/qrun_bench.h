/* SPDX-License-Identifier: Apache-2.0 */
/* `qrun bench`: time a model in one or more formats (host time; simulated cost on accel_sim). */
#ifndef QRUN_TOOLS_QRUN_BENCH_H
#define QRUN_TOOLS_QRUN_BENCH_H

/** @brief Entry point of `qrun bench ...` (argv[0] is "bench"). Returns the exit code. */
int qrun_bench_main(int argc, char **argv);

/** Usage lines of the command, for qrun --help. */
extern const char qrun_bench_usage_commands[];

#endif
