/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by the qrun commands (argument parsing, timing, JSON strings). */
#ifndef QRUN_TOOLS_CLI_UTIL_H
#define QRUN_TOOLS_CLI_UTIL_H

#include "qrun/qrun.h"

#include <stdbool.h>
#include <stdio.h>

/** @brief Strict decimal integer in [lo, hi]: no trailing characters, no overflow. */
bool cli_parse_int(const char *s, int lo, int hi, int *out);
/** @brief --requant float|fixed. Returns 0, or 1 after printing an error. */
int cli_parse_requant(const char *val, qrun_requant_mode *out);
/** @brief --fp8-accum fp32|fp16|bf16. Returns 0, or 1 after printing an error. */
int cli_parse_fp8_accum(const char *val, qrun_fp8_accum *out);
/** @brief p names a regular file. */
bool cli_file_exists(const char *p);
/** @brief Monotonic clock in milliseconds. */
double cli_now_ms(void);
/** @brief qsort comparator of doubles, ascending. */
int cli_cmp_double(const void *a, const void *b);
/** @brief s as a JSON string literal (names come from model files: escaped). */
void cli_json_string(FILE *f, const char *s);
/**
 * @brief Fill t with a fixed 32-bit LCG pattern in [-1, 1), scaled by 100 for integer types
 * of 16 bits or less so that they are not all zero; with random false, leave t as it is.
 */
void cli_fill_pattern(qrun_tensor *t, bool random);

#endif
