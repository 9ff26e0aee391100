/* SPDX-License-Identifier: Apache-2.0 */
/* Test support: readers for the labelled corpus datasets (../shared/models/data), model-input
 * preprocessing, and comparison of outputs in quantization steps. */
#ifndef QRUN_TESTS_DATASETS_H
#define QRUN_TESTS_DATASETS_H

#include "qrun/qrun.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A labelled dataset held in memory: n samples of h x w x c bytes each (HWC,
 * row-major), uint8 or int8 (is_signed), with one integer label per sample.
 * Sample i is the i-th row of the dataset's label file (the order that
 * refs/<model>/predictions.csv uses).
 */
typedef struct ds_set {
    int n;
    int h, w, c;
    bool is_signed;
    size_t sample_bytes; /* h * w * c */
    unsigned char *data; /* n * sample_bytes */
    int *labels;         /* n */
} ds_set;

/** @brief Read a whole gzip file into a malloc'd buffer (*n bytes); NULL on error. */
unsigned char *ds_gunzip_file(const char *path, size_t *n);

/** @brief MNIST IDX (gzip): dir/t10k-images-idx3-ubyte.gz + t10k-labels-idx1-ubyte.gz, 28x28x1. */
bool ds_load_mnist(const char *dir, ds_set *d);
/** @brief EEMBC IC01 CIFAR-10: dir/y_labels.csv (`file,10,class`) + one 32x32x3 .bin each. */
bool ds_load_cifar(const char *dir, ds_set *d);
/** @brief EEMBC KWS01: dir/y_labels.csv (`file,12,class`) + one 490-byte int8 .bin (49x10x1). */
bool ds_load_kws(const char *dir, ds_set *d);
/** @brief imagenet-sample40: dir/labels.csv (header; `jpeg/X.JPEG,class,...`) with the crops in
 * dir/u8_224/X.rgb224.u8 (224x224x3). */
bool ds_load_imagenet40(const char *dir, ds_set *d);
void ds_free(ds_set *d);

/**
 * @brief false when QRUN_SKIP_DATASET_RUNS=1 is in the environment. Whole-
 * dataset accuracy loops (10k MNIST, PTQ per format, ...) take minutes under
 * ASan+UBSan; scripts/test.sh --sanitize sets it so CI stays within its time
 * budget, while the release build runs them all. Reference-output checks on
 * the same models never skip.
 */
bool ds_dataset_runs_enabled(void);

/*
 * Preprocessing of one sample into float model input:
 *   x = ((v - sub) * mul / div - mean[ch]) / std[ch]
 * in float32, v the sample byte (int8 when the set is signed). Channels
 * beyond 3 use mean 0, std 1. chw: write planar CHW (NCHW models) instead of
 * keeping HWC. ds_preproc_init gives the identity (float pixel values).
 */
typedef struct ds_preproc {
    float sub, mul, div;
    float mean[3], std[3];
    bool chw;
} ds_preproc;

void ds_preproc_init(ds_preproc *p);
/** @brief The ImageNet (torchvision) normalisation: v/255, mean [0.485,0.456,0.406], std
 * [0.229,0.224,0.225], planar CHW. */
void ds_preproc_imagenet(ds_preproc *p);
/** @brief Write sample i of d, preprocessed, to dst (sample_bytes floats). */
void ds_preprocess(const ds_set *d, int i, const ds_preproc *p, float *dst);

/** @brief Read refs/<model>/predictions.csv (`sample,label,ort_argmax`): ORT's argmax of each
 * sample into a malloc'd array of *n ints (labels checked against d when d is not NULL). NULL if
 * the file is missing or a label differs. */
int *ds_read_predictions(const char *path, const ds_set *d, int *n);

/** @brief Index of the largest of n floats (the first one on ties). */
int ds_argmax(const float *v, int n);

/*
 * Comparison in quantization steps. For a model whose output is a
 * DequantizeLinear of step s, got and want are compared as |got - want| / s.
 * When a Softmax follows that DequantizeLinear (softmax = true), the logits
 * are recovered as log(p): a softmax is invariant to adding one constant to
 * every logit, so the median log-ratio over the row (rows of row_len
 * elements) is taken as that constant and removed before counting steps.
 */
typedef struct ds_step_stats {
    int64_t n;        /* elements compared */
    int64_t over1;    /* elements more than 1 step (+ float slack) off */
    double max_steps; /* largest difference, in steps */
    int64_t worst;    /* index of the largest difference */
} ds_step_stats;

void ds_compare_steps(const float *got,
                      const float *want,
                      int64_t n,
                      int64_t row_len,
                      double step,
                      bool softmax,
                      ds_step_stats *out);

/*
 * The quantization step of a model's graph output: the scale of the
 * per-tensor DequantizeLinear that produces it, looking through ops that keep
 * values on that grid (Identity, Reshape, Flatten, Squeeze, Unsqueeze) and
 * through one final Softmax (*softmax set). false when the output does not
 * come from such a DequantizeLinear or the scale is not a constant.
 */
bool ds_output_step(const char *model_path, int output, double *step, bool *softmax);

#endif
