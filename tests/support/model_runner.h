/* SPDX-License-Identifier: Apache-2.0 */
/* Test support: real models through the public API (the ../shared corpus, load and run with the
 * test failing on any error, ONNX reference data sets, argmax, dataset samples as input tensors).
 */
#ifndef QRUN_TESTS_MODEL_RUNNER_H
#define QRUN_TESTS_MODEL_RUNNER_H

#include "qrun/qrun.h"
#include "tests/support/datasets.h"

#include <stdbool.h>
#include <stdint.h>

/** @brief Whether the model corpus (../shared/models, MANIFEST.md) is there. */
bool mr_have_corpus(void);

/**
 * @brief A new context (options o; NULL: the defaults) in *ctx and the model
 * file at path loaded in it; fails the test, with the context's message, when
 * loading fails. Free both (qrun_model_free, qrun_context_free).
 */
qrun_model *mr_load_model(qrun_context **ctx, const char *path, const qrun_options *o);

/* A loaded model with its context and one session. */
typedef struct mr_model {
    qrun_context *ctx;
    qrun_model *model;
    qrun_session *sess;
} mr_model;

/**
 * @brief Load the model file at path in a new context with options o (NULL:
 * the defaults) and create a session. Skips the test when the corpus is
 * missing; fails it, with the context's message, when loading fails.
 */
void mr_open(mr_model *f, const char *path, const qrun_options *o);
void mr_close(mr_model *f);

/** @brief Read a tensor file (TensorProto .pb or .npy); fails the test on error. */
qrun_tensor *mr_load_tensor(qrun_context *ctx, const char *path);
/** @brief An ONNX test data set's dir/input_0.pb and dir/output_0.pb. */
void mr_load_data_set(qrun_context *ctx, const char *dir, qrun_tensor **in, qrun_tensor **want);
/** @brief Run a one-input model; its first output (free it). Fails the test on error. */
qrun_tensor *mr_run1(mr_model *f, const qrun_tensor *in);

/** @brief Run m once on a session of its own (outputs into out; free them); fails the test on
 * error. */
void mr_run_once(qrun_context *ctx,
                 const qrun_model *m,
                 qrun_tensor *const *in,
                 int n_in,
                 qrun_tensor **out,
                 int n_out);

/**
 * @brief Fail the test (naming what and the element) unless every element of
 * got is within atol + rtol * |want| of want; returns the largest |got - want|.
 */
double mr_expect_close(
    const qrun_tensor *got, const qrun_tensor *want, double rtol, double atol, const char *what);

/** @brief Index of the largest element (the first one on ties). */
int64_t mr_argmax(const qrun_tensor *t);

/**
 * @brief Run every sample of d, preprocessed by pp, through f's model in
 * batches of its input batch size (a symbolic batch runs one sample at a
 * time; the last batch is zero-padded), and count the argmaxes equal to the
 * label (*correct) and to ort[i] (*agree; 0 when ort is NULL). The model
 * takes one float input and returns float scores.
 */
void mr_count_top1(
    mr_model *f, const ds_set *d, const ds_preproc *pp, const int *ort, int *correct, int *agree);

/** @brief Sample i of d as a float [1, C, H, W] tensor of its pixel values (planar CHW). */
qrun_tensor *mr_sample_tensor(qrun_context *ctx, const ds_set *d, int i);

#endif
