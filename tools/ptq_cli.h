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
    const char *preprocess; /* --preprocess spec for image samples, or NULL */
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

/* A folder of samples: test_data_set_* folders (input_<i>.pb or .npy each), else .npy files,
 * else .jpg/.jpeg/.png images (through preprocess), in sorted name order. */
typedef struct ptq_sample_set {
    const char *opt; /* option that named it, for messages ("--calib") */
    const char *dir;
    const char *preprocess; /* image preprocessing spec or NULL */
    const char *progress;   /* progress bar label */
} ptq_sample_set;

/* Called with sample index of total; inputs in graph-input order, valid during the call.
 * Returns 0, or 1 after printing an error (stops the walk). */
typedef int (*ptq_sample_fn)(void *ud,
                             int index,
                             int total,
                             const qrun_tensor *const *inputs,
                             int n_inputs,
                             const char *path);

/** @brief Number of samples in set->dir (error printed and 1 when none). */
int ptq_cli_sample_count(const ptq_sample_set *set, int *n);
/** @brief Load each sample of set for model m and call fn; progress bar on a terminal. */
int ptq_cli_for_each_sample(
    qrun_context *ctx, const qrun_model *m, const ptq_sample_set *set, ptq_sample_fn fn, void *ud);
/** @brief "label [####   ] done/total" on stderr when it is a terminal. */
void ptq_cli_progress(const char *what, int done, int total);

/** Usage lines of the PTQ options. */
extern const char *const k_ptq_cli_usage;

#endif
