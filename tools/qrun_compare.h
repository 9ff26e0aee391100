/* SPDX-License-Identifier: Apache-2.0 */
/* `qrun compare`: FP32 vs quantized formats (accuracy, SQNR, saturation, simulated costs). */
#ifndef QRUN_TOOLS_QRUN_COMPARE_H
#define QRUN_TOOLS_QRUN_COMPARE_H

/** @brief Entry point of `qrun compare ...` (argv[0] is "compare"). Returns the exit code. */
int qrun_compare_main(int argc, char **argv);

/** Usage line of the command, for qrun --help. */
extern const char qrun_compare_usage_commands[];

#endif
