/* SPDX-License-Identifier: Apache-2.0 */
/* Parameter decoding shared by movement-op shape inference and cpu_ref kernels. */
#ifndef QRUN_RUNTIME_SHAPE_MOVEMENT_H
#define QRUN_RUNTIME_SHAPE_MOVEMENT_H

#include "runtime/error.h"
#include "runtime/ir.h"
#include "runtime/tensor.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * Contract for every *_plan function below: `in` holds the node's inputs as
 * in qrun_infer_ctx (NULL for omitted ones, data NULL when unknown). When a
 * value the plan depends on is unknown, *need_value is set and QRUN_OK is
 * returned with the plan left incomplete; the caller must not use it.
 * Errors carry a one-line message without the node name.
 */

/** Slice: out[i_0..] = in[start_k + i_k * step_k], out dims in dims. */
typedef struct qrun_slice_plan {
    int rank;
    int64_t start[QRUN_MAX_RANK];
    int64_t step[QRUN_MAX_RANK];
    int64_t dims[QRUN_MAX_RANK];
} qrun_slice_plan;

qrun_status qrun_slice_plan_make(const qrun_node *n,
                                 const struct qrun_tensor *const *in,
                                 int n_in,
                                 qrun_slice_plan *p,
                                 bool *need_value,
                                 qrun_err *err);

/** Split: sizes[0..n_out) along *axis (normalized). */
qrun_status qrun_split_plan_make(const qrun_node *n,
                                 const struct qrun_tensor *const *in,
                                 int n_in,
                                 int n_out,
                                 int *axis,
                                 int64_t *sizes,
                                 bool *need_value,
                                 qrun_err *err);

typedef enum qrun_pad_mode {
    QRUN_PAD_CONSTANT = 0,
    QRUN_PAD_REFLECT,
    QRUN_PAD_EDGE,
    QRUN_PAD_WRAP,
} qrun_pad_mode;

/** Pad: begin/end pads per axis (negative = crop), output dims. */
typedef struct qrun_pad_plan {
    qrun_pad_mode mode;
    int rank;
    int64_t begin[QRUN_MAX_RANK];
    int64_t end[QRUN_MAX_RANK];
    int64_t dims[QRUN_MAX_RANK];
} qrun_pad_plan;

qrun_status qrun_pad_plan_make(const qrun_node *n,
                               const struct qrun_tensor *const *in,
                               int n_in,
                               qrun_pad_plan *p,
                               bool *need_value,
                               qrun_err *err);

typedef enum qrun_resize_mode {
    QRUN_RESIZE_NEAREST = 0,
    QRUN_RESIZE_LINEAR,
    QRUN_RESIZE_CUBIC,
} qrun_resize_mode;

typedef enum qrun_resize_coord {
    QRUN_RESIZE_HALF_PIXEL = 0,
    QRUN_RESIZE_HALF_PIXEL_SYMMETRIC,
    QRUN_RESIZE_PYTORCH_HALF_PIXEL,
    QRUN_RESIZE_ALIGN_CORNERS,
    QRUN_RESIZE_ASYMMETRIC,
    QRUN_RESIZE_TF_HALF_PIXEL_FOR_NN,
    QRUN_RESIZE_TF_CROP_AND_RESIZE,
} qrun_resize_coord;

typedef enum qrun_resize_nearest {
    QRUN_RESIZE_ROUND_PREFER_FLOOR = 0,
    QRUN_RESIZE_ROUND_PREFER_CEIL,
    QRUN_RESIZE_FLOOR,
    QRUN_RESIZE_CEIL,
    QRUN_RESIZE_SIMPLE, /* Resize-10: ceil when downsampling, else truncate (as ORT) */
} qrun_resize_nearest;

/**
 * Resize: per-axis scale (the one used by the coordinate transform), output
 * dims and, for tf_crop_and_resize, roi per axis (roi_known false when the
 * roi input is unknown; the shape does not depend on it).
 */
typedef struct qrun_resize_plan {
    qrun_resize_mode mode;
    qrun_resize_coord coord;
    qrun_resize_nearest nearest;
    float cubic_a;
    bool exclude_outside;
    bool antialias;
    float extrapolation;
    int rank;
    int64_t dims[QRUN_MAX_RANK];
    float scale[QRUN_MAX_RANK];
    double length[QRUN_MAX_RANK]; /* resized length: scale * in (not rounded), as the reference */
    float roi_start[QRUN_MAX_RANK];
    float roi_end[QRUN_MAX_RANK];
    bool roi_known;
} qrun_resize_plan;

qrun_status qrun_resize_plan_make(const qrun_node *n,
                                  const struct qrun_tensor *const *in,
                                  int n_in,
                                  qrun_resize_plan *p,
                                  bool *need_value,
                                  qrun_err *err);

/** Transpose: perm (attribute, default reversed) checked against rank. */
qrun_status qrun_transpose_perm(const qrun_node *n, int rank, int *perm, qrun_err *err);

#endif
