/* SPDX-License-Identifier: Apache-2.0 */
/* Images as model inputs: JPEG/PNG decoding (libjpeg, libpng), Pillow-compatible bilinear
 * resize, and the --preprocess spec that turns an image into a float tensor. */
#ifndef QRUN_RUNTIME_IMAGE_H
#define QRUN_RUNTIME_IMAGE_H

#include "qrun/qrun.h"
#include "runtime/error.h"
#include "runtime/tensor.h"

#include <stdbool.h>
#include <stdint.h>

/* An 8-bit RGB image, rows top to bottom, pixels interleaved (HWC). */
typedef struct qrun_image {
    int w, h;
    uint8_t *rgb; /* w * h * 3 bytes from the allocator it was made with */
} qrun_image;

/** @brief True when head (n bytes) starts like a JPEG or PNG file. */
bool qrun_image_sniff(const void *head, size_t n);

/**
 * @brief Decode a JPEG (baseline/progressive; grayscale and YCbCr; CMYK is
 * refused) or PNG (any bit depth and color type: palette and gray expanded,
 * 16-bit scaled to 8, alpha dropped) into RGB, chosen by content. Errors name
 * the file.
 */
qrun_status
qrun_image_read(const char *path, const qrun_allocator *alloc, qrun_image *out, qrun_err *err);
void qrun_image_free(const qrun_allocator *alloc, qrun_image *img);

/**
 * @brief Resize to w x h with Pillow's BILINEAR filter (Image.resize): a
 * triangle filter widened by the scale when shrinking (antialiasing), a
 * horizontal then a vertical pass, each in 22-bit fixed point rounded to
 * 8 bits, so results match Pillow's byte for byte.
 */
qrun_status qrun_image_resize(const qrun_image *in,
                              int w,
                              int h,
                              const qrun_allocator *alloc,
                              qrun_image *out,
                              qrun_err *err);

/*
 * A preprocessing spec, "key=value,..." with keys
 *   resize=N            scale so the shorter side is N (bilinear as above; the longer
 *                       side becomes round(N * long / short))
 *   crop=N | crop=HxW   center crop (offsets floor((size - crop) / 2))
 *   scale=S             divide the 0..255 pixel values by S first (default 1)
 *   mean=M[,M,M]        then subtract the per-channel mean (RGB order; default 0)
 *   std=D[,D,D]         then divide by the per-channel std (default 1)
 *   layout=nchw|nhwc    tensor layout, batch 1 (default nchw)
 * so value = (pixel / scale - mean[c]) / std[c]. The list values of mean and
 * std continue after commas until the next key. Every key is optional; an
 * empty spec gives the raw pixels as float32 NCHW.
 */
typedef struct qrun_preprocess {
    int resize;         /* 0: keep the size */
    int crop_h, crop_w; /* 0: no crop */
    float scale;
    float mean[3], std[3];
    bool nhwc;
} qrun_preprocess;

/** @brief Parse spec (NULL or "" for the defaults). Errors name the bad key or value. */
qrun_status qrun_preprocess_parse(const char *spec, qrun_preprocess *out, qrun_err *err);

/** @brief Resize, crop and normalize img into a new float32 tensor [1,3,H,W] or [1,H,W,3]. */
qrun_status qrun_preprocess_image(const qrun_image *img,
                                  const qrun_preprocess *p,
                                  const qrun_allocator *alloc,
                                  struct qrun_tensor *out,
                                  qrun_err *err);

#endif
