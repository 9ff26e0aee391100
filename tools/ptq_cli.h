/* SPDX-License-Identifier: Apache-2.0 */
/* The CLI's post-training quantization options and calibration-set reader (qrun run --dtype,
 * and the quantize/compare commands). Public API only. */
#ifndef QRUN_TOOLS_PTQ_CLI_H
#define QRUN_TOOLS_PTQ_CLI_H

#include "qrun/qrun.h"

#include <stdbool.h>

typedef struct ptq_cli {
    const char *dtype;      /* NULL or "auto": keep the model as it is */
    const char *calib_dir;  /* NULL: calibrate on the run's own input */
    const char *preprocess; /* --preprocess SPEC for image samples (JPEG/PNG), or NULL */
    qrun_quant_options opts;
} ptq_cli;

void ptq_cli_init(ptq_cli *p);
/** @brief Option a takes a value (--dtype, --calib, ...). */
bool ptq_cli_takes_value(const char *a);
/**
 * @brief Parse option a (value val, NULL for flags) into p. Returns 1 when a
 * is a PTQ option and was parsed, 0 when a is not a PTQ option, -1 on a bad
 * value (message printed).
 */
int ptq_cli_parse(ptq_cli *p, const char *a, const char *val);
/** @brief Quantization requested (--dtype given and not "auto"). */
bool ptq_cli_active(const ptq_cli *p);
/**
 * @brief Calibrate model m on the samples of p->calib_dir (or on `own`, the
 * run's inputs, with a warning when there is no --calib) and quantize it into
 * *out. Prints a progress bar on stderr when stderr is a terminal, and one
 * line on stderr describing the quantization. Returns 0 or 1 (error printed).
 */
int ptq_cli_quantize(qrun_context *ctx,
                     const qrun_model *m,
                     const char *model_path,
                     const ptq_cli *p,
                     qrun_tensor *const *own,
                     qrun_model **out);

/** Usage lines of the PTQ options. */
extern const char *const k_ptq_cli_usage;

#endif
