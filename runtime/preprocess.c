/* SPDX-License-Identifier: Apache-2.0 */
/* Image preprocessing: Pillow-compatible bilinear resize, center crop, normalization, the spec. */
#include "runtime/alloc.h"
#include "runtime/image.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- resize (Pillow's ImagingResample for 8-bit images, BILINEAR) ---------- */

/* Pillow keeps 8-bit coefficients in fixed point with this many fraction bits. */
#define RS_PRECISION_BITS (32 - 8 - 2)

typedef struct rs_coeffs {
    int ksize;
    int *bounds; /* per output pixel: first input index, count */
    int32_t *k;  /* per output pixel: ksize fixed-point weights */
} rs_coeffs;

static double rs_triangle(double x) {
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

/*
 * Weights of each output pixel over the input: a triangle of support 1
 * stretched by the scale when shrinking, centred on the output pixel's
 * centre mapped to input coordinates, normalised to sum 1, then rounded to
 * fixed point (half away from zero), all as Pillow's precompute_coeffs and
 * normalize_coeffs_8bpc.
 */
static bool rs_coeffs_make(const qrun_allocator *a, int in_size, int out_size, rs_coeffs *c) {
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale;
    c->ksize = (int)ceil(support) * 2 + 1;
    c->bounds = qrun_calloc(a, (size_t)out_size * 2, sizeof *c->bounds);
    c->k = qrun_calloc(a, (size_t)out_size * (size_t)c->ksize, sizeof *c->k);
    double *w = qrun_calloc(a, (size_t)c->ksize, sizeof *w);
    if (!c->bounds || !c->k || !w) {
        qrun_free(a, w);
        return false;
    }
    for (int xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0)
            xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            w[x] = rs_triangle((x + xmin - center + 0.5) * ss);
            ww += w[x];
        }
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? w[x] / ww : w[x];
            double f = v * (1 << RS_PRECISION_BITS);
            c->k[(size_t)xx * c->ksize + x] = (int32_t)(v < 0 ? f - 0.5 : f + 0.5);
        }
        c->bounds[2 * xx] = xmin;
        c->bounds[2 * xx + 1] = xmax;
    }
    qrun_free(a, w);
    return true;
}

static void rs_coeffs_free(const qrun_allocator *a, rs_coeffs *c) {
    qrun_free(a, c->bounds);
    qrun_free(a, c->k);
}

static uint8_t rs_clip8(int64_t acc) {
    int64_t v = acc >> RS_PRECISION_BITS;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/*
 * One pass along rows (horizontal) or columns (vertical): out pixel i of
 * each line = sum_k in[bounds_i + k] * w_ik, starting from half an LSB so the
 * shift rounds.
 */
static void rs_pass(const qrun_image *in, qrun_image *out, const rs_coeffs *c, bool horizontal) {
    int lines = horizontal ? out->h : out->w, n = horizontal ? out->w : out->h;
    size_t in_step = horizontal ? 3 : (size_t)in->w * 3;   /* between taps */
    size_t out_step = horizontal ? 3 : (size_t)out->w * 3; /* between output pixels */
    size_t in_line = horizontal ? (size_t)in->w * 3 : 3;   /* between lines */
    size_t out_line = horizontal ? (size_t)out->w * 3 : 3;
    for (int l = 0; l < lines; l++) {
        for (int i = 0; i < n; i++) {
            const int32_t *k = &c->k[(size_t)i * c->ksize];
            const uint8_t *src = in->rgb + l * in_line + (size_t)c->bounds[2 * i] * in_step;
            int64_t acc[3] = {1 << (RS_PRECISION_BITS - 1), 1 << (RS_PRECISION_BITS - 1),
                              1 << (RS_PRECISION_BITS - 1)};
            for (int t = 0; t < c->bounds[2 * i + 1]; t++, src += in_step) {
                for (int ch = 0; ch < 3; ch++)
                    acc[ch] += (int64_t)src[ch] * k[t];
            }
            uint8_t *dst = out->rgb + l * out_line + (size_t)i * out_step;
            for (int ch = 0; ch < 3; ch++)
                dst[ch] = rs_clip8(acc[ch]);
        }
    }
}

qrun_status qrun_image_resize(const qrun_image *in,
                              int w,
                              int h,
                              const qrun_allocator *alloc,
                              qrun_image *out,
                              qrun_err *err) {
    memset(out, 0, sizeof *out);
    if (w <= 0 || h <= 0)
        return qrun_errf(err, QRUN_E_ARG, "resize to %dx%d: sizes must be positive", w, h);
    rs_coeffs ch = {0}, cv = {0};
    qrun_image tmp = {.w = w, .h = in->h};
    out->w = w;
    out->h = h;
    bool ok = rs_coeffs_make(alloc, in->w, w, &ch) && rs_coeffs_make(alloc, in->h, h, &cv);
    tmp.rgb = ok ? qrun_malloc(alloc, (size_t)w * (size_t)in->h * 3) : NULL;
    out->rgb = tmp.rgb ? qrun_malloc(alloc, (size_t)w * (size_t)h * 3) : NULL;
    if (out->rgb) {
        /* Pillow runs the horizontal pass first (on every row the vertical pass reads). */
        rs_pass(in, &tmp, &ch, true);
        rs_pass(&tmp, out, &cv, false);
    }
    rs_coeffs_free(alloc, &ch);
    rs_coeffs_free(alloc, &cv);
    qrun_free(alloc, tmp.rgb);
    if (!out->rgb) {
        memset(out, 0, sizeof *out);
        return qrun_errf(err, QRUN_E_NOMEM, "out of memory resizing an image to %dx%d", w, h);
    }
    return QRUN_OK;
}

/* ---- the spec -------------------------------------------------------------- */

static const char k_keys[] = "resize, crop, scale, mean, std, layout";

static bool pp_number(const char *s, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static bool pp_size(const char *s, int *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 65536)
        return false;
    *out = (int)v;
    return true;
}

/* mean/std: one value for every channel or three; list items arrive one by one. */
typedef struct pp_list {
    float *dst;
    int n;
    const char *key;
} pp_list;

static qrun_status pp_list_add(pp_list *l, const char *item, qrun_err *err) {
    double v;
    if (!pp_number(item, &v))
        return qrun_errf(err, QRUN_E_ARG, "preprocess: %s: '%s' is not a number", l->key, item);
    if (l->n >= 3)
        return qrun_errf(err, QRUN_E_ARG, "preprocess: %s takes 1 or 3 values (R,G,B)", l->key);
    if (strcmp(l->key, "std") == 0 && v == 0.0)
        return qrun_errf(err, QRUN_E_ARG, "preprocess: std must not be 0");
    l->dst[l->n++] = (float)v;
    return QRUN_OK;
}

static qrun_status pp_list_end(pp_list *l, qrun_err *err) {
    if (!l->key)
        return QRUN_OK;
    if (l->n == 1)
        l->dst[1] = l->dst[2] = l->dst[0];
    else if (l->n != 3)
        return qrun_errf(err, QRUN_E_ARG, "preprocess: %s takes 1 or 3 values (R,G,B), got %d",
                         l->key, l->n);
    l->key = NULL;
    return QRUN_OK;
}

static qrun_status pp_crop(const char *v, qrun_preprocess *p, qrun_err *err) {
    char buf[64];
    snprintf(buf, sizeof buf, "%s", v);
    char *x = strchr(buf, 'x');
    if (x)
        *x = '\0';
    if (!pp_size(buf, &p->crop_h) || !pp_size(x ? x + 1 : buf, &p->crop_w))
        return qrun_errf(err, QRUN_E_ARG, "preprocess: crop: '%s' is not N or HxW", v);
    return QRUN_OK;
}

static qrun_status
pp_key(const char *key, const char *v, qrun_preprocess *p, pp_list *l, qrun_err *err) {
    double d;
    if (strcmp(key, "resize") == 0)
        return pp_size(v, &p->resize)
                   ? QRUN_OK
                   : qrun_errf(err, QRUN_E_ARG, "preprocess: resize: '%s' is not a size", v);
    if (strcmp(key, "crop") == 0)
        return pp_crop(v, p, err);
    if (strcmp(key, "scale") == 0) {
        if (!pp_number(v, &d) || d <= 0)
            return qrun_errf(err, QRUN_E_ARG, "preprocess: scale: '%s' is not a number > 0", v);
        p->scale = (float)d;
        return QRUN_OK;
    }
    if (strcmp(key, "layout") == 0) {
        if (strcmp(v, "nchw") != 0 && strcmp(v, "nhwc") != 0)
            return qrun_errf(err, QRUN_E_ARG, "preprocess: layout must be nchw or nhwc, got '%s'",
                             v);
        p->nhwc = strcmp(v, "nhwc") == 0;
        return QRUN_OK;
    }
    if (strcmp(key, "mean") == 0 || strcmp(key, "std") == 0) {
        *l = (pp_list){.dst = key[0] == 'm' ? p->mean : p->std, .key = key};
        return pp_list_add(l, v, err);
    }
    return qrun_errf(err, QRUN_E_ARG, "preprocess: unknown key '%s' (keys: %s)", key, k_keys);
}

qrun_status qrun_preprocess_parse(const char *spec, qrun_preprocess *out, qrun_err *err) {
    memset(out, 0, sizeof *out);
    out->scale = 1.0f;
    out->std[0] = out->std[1] = out->std[2] = 1.0f;
    if (!spec || !spec[0])
        return QRUN_OK;
    char buf[1024];
    if (strlen(spec) >= sizeof buf)
        return qrun_errf(err, QRUN_E_ARG, "preprocess: spec is too long");
    snprintf(buf, sizeof buf, "%s", spec);
    pp_list list = {0};
    qrun_status st = QRUN_OK;
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item && !st;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq) { /* a further value of mean/std */
            st = list.key ? pp_list_add(&list, item, err)
                          : qrun_errf(err, QRUN_E_ARG,
                                      "preprocess: '%s' is not key=value (keys: %s)", item, k_keys);
            continue;
        }
        *eq = '\0';
        st = pp_list_end(&list, err);
        if (!st)
            st = pp_key(item, eq + 1, out, &list, err);
    }
    return st ? st : pp_list_end(&list, err);
}

/* ---- apply ------------------------------------------------------------------ */

/* n * num / den rounded half up, in integers. */
static int pp_scale_round(int n, int num, int den) {
    return (int)((2 * (int64_t)n * num + den) / (2 * (int64_t)den));
}

/*
 * Shorter side to n, the longer scaled and rounded to nearest: what the
 * reference crops of ../shared (Pillow 9.4) used; truncating instead shifts
 * 12 of their 40 images by a pixel.
 */
static void pp_resize_dims(const qrun_image *img, int n, int *w, int *h) {
    if (img->w <= img->h) {
        *w = n;
        *h = pp_scale_round(n, img->h, img->w);
    } else {
        *h = n;
        *w = pp_scale_round(n, img->w, img->h);
    }
}

qrun_status qrun_preprocess_image(const qrun_image *img,
                                  const qrun_preprocess *p,
                                  const qrun_allocator *alloc,
                                  struct qrun_tensor *out,
                                  qrun_err *err) {
    memset(out, 0, sizeof *out);
    qrun_image resized = {0};
    const qrun_image *src = img;
    if (p->resize) {
        int w, h;
        pp_resize_dims(img, p->resize, &w, &h);
        if (w != img->w || h != img->h) {
            qrun_status st = qrun_image_resize(img, w, h, alloc, &resized, err);
            if (st)
                return st;
            src = &resized;
        }
    }
    int ch = p->crop_h ? p->crop_h : src->h, cw = p->crop_w ? p->crop_w : src->w;
    if (ch > src->h || cw > src->w) {
        qrun_image_free(alloc, &resized);
        return qrun_errf(err, QRUN_E_ARG, "preprocess: crop %dx%d is larger than the image (%dx%d)",
                         ch, cw, src->h, src->w);
    }
    int top = (src->h - ch) / 2, left = (src->w - cw) / 2;
    int64_t dims[4] = {1, 3, ch, cw};
    if (p->nhwc) {
        dims[1] = ch;
        dims[2] = cw;
        dims[3] = 3;
    }
    qrun_status st = qrun_tensor_set_shape(out, QRUN_DTYPE_FLOAT, 4, dims)
                         ? qrun_tensor_alloc_data(out, alloc)
                         : QRUN_E_NOMEM;
    if (st) {
        qrun_image_free(alloc, &resized);
        return qrun_errf(err, QRUN_E_NOMEM, "out of memory for a %dx%d image tensor", ch, cw);
    }
    float *dst = out->data;
    size_t plane = (size_t)ch * (size_t)cw;
    for (int y = 0; y < ch; y++) {
        const uint8_t *row = src->rgb + ((size_t)(top + y) * src->w + left) * 3;
        for (int x = 0; x < cw; x++) {
            for (int c = 0; c < 3; c++) {
                float v = ((float)row[3 * x + c] / p->scale - p->mean[c]) / p->std[c];
                size_t i = (size_t)y * cw + x;
                dst[p->nhwc ? 3 * i + c : c * plane + i] = v;
            }
        }
    }
    qrun_image_free(alloc, &resized);
    return QRUN_OK;
}
