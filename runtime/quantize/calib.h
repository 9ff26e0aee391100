/* SPDX-License-Identifier: Apache-2.0 */
/* Calibration statistics of one tensor and the clipping-range methods (minmax, percentile, MSE,
 * entropy). */
#ifndef QRUN_RUNTIME_QUANTIZE_CALIB_H
#define QRUN_RUNTIME_QUANTIZE_CALIB_H

#include "qrun/qrun.h"
#include "runtime/quant.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QRUN_CALIB_BINS 2048

/*
 * One pass over every sample: exact min/max plus a signed histogram over
 * [-range, range] in QRUN_CALIB_BINS equal bins (0 is a bin edge). The
 * range is set by the first non-zero sample and doubles when a later value
 * falls outside; doubling merges bin pairs exactly, so the histogram never
 * needs a second pass over the data.
 */
typedef struct qrun_calib_hist {
    double min, max;
    double range;        /* 0: no non-zero value seen yet */
    int64_t count;       /* finite values seen */
    int64_t early_zeros; /* zeros seen before the range was known (binned once it is) */
    bool all_integer;    /* every value seen is a whole number (e.g. raw 8-bit pixels) */
    int64_t bins[QRUN_CALIB_BINS];
} qrun_calib_hist;

void qrun_calib_hist_init(qrun_calib_hist *h);
/** @brief Add n float32 values (NaN and Inf are skipped). */
void qrun_calib_hist_add(qrun_calib_hist *h, const float *x, int64_t n);

/** How a calibrated range is chosen, with the format it is chosen for. */
typedef struct qrun_calib_config {
    qrun_calib_method method;
    double percentile; /* PERCENTILE: in (50, 100] */
    qrun_dtype fmt;    /* the format the tensor will be quantized to */
    bool symmetric;    /* integer formats: symmetric parameters */
    bool pow2;         /* power-of-two scales */
} qrun_calib_config;

/**
 * @brief Clipping range [lo, hi] of the tensor for the configured method:
 * MINMAX the exact extremes; PERCENTILE the (100 - p)th and pth percentiles
 * (bin edges, within [min, max]); MSE the symmetric clip T that minimises
 * the expected squared quantization error of the histogram under the
 * format's own quantizer (FP8 grid included); ENTROPY the T that minimises
 * the KL divergence between the clipped distribution and its quantized
 * version (bins merged where they map to one quantized value). A tensor
 * that was never observed gives [0, 0].
 */
void qrun_calib_range(const qrun_calib_hist *h,
                      const qrun_calib_config *cfg,
                      double *lo,
                      double *hi);

#endif
