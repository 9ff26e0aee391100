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
/**
 * @brief The tensor for graph input vi when none is given: its declared dtype and shape with
 * symbolic dims set to 1, filled by cli_fill_pattern. Returns 0, or 1 after printing an error
 * naming model and input.
 */
int cli_pattern_input(qrun_context *ctx,
                      const char *model,
                      const qrun_value_info *vi,
                      bool random,
                      qrun_tensor **out);
/** @brief DIR/input_<i>.<ext> (pb, npy, jpg, jpeg, png) for the first that exists; false if none.
 */
bool cli_find_dir_input(const char *dir, int i, char *path, size_t cap);
/**
 * @brief A tensor file (.pb/.npy) or an image (JPEG/PNG through preprocess, NULL: raw), chosen by
 * content, for the input called input_name. Returns 0, or 1 after printing an error.
 */
int cli_load_input_file(qrun_context *ctx,
                        const char *path,
                        const char *input_name,
                        const char *preprocess,
                        qrun_tensor **out);

#endif
