/* SPDX-License-Identifier: Apache-2.0 */
/* JPEG and PNG decoding to 8-bit RGB through libjpeg(-turbo) and libpng. */
#include "runtime/image.h"
#include "runtime/alloc.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE without including it */
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#define IMG_MAX_PIXELS ((int64_t)1 << 28) /* 256 Mpixel: refuse before allocating */

bool qrun_image_sniff(const void *head, size_t n) {
    const uint8_t *h = head;
    static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 3 && h[0] == 0xff && h[1] == 0xd8 && h[2] == 0xff)
        return true;
    return n >= 8 && memcmp(h, png, 8) == 0;
}

void qrun_image_free(const qrun_allocator *alloc, qrun_image *img) {
    if (!img)
        return;
    qrun_free(alloc, img->rgb);
    memset(img, 0, sizeof *img);
}

static qrun_status img_alloc(
    const qrun_allocator *alloc, int w, int h, const char *path, qrun_image *out, qrun_err *err) {
    if (w <= 0 || h <= 0 || (int64_t)w * h > IMG_MAX_PIXELS)
        return qrun_errf(err, QRUN_E_UNSUPPORTED, "%s: image size %dx%d is not supported", path, w,
                         h);
    out->w = w;
    out->h = h;
    out->rgb = qrun_malloc(alloc, (size_t)w * (size_t)h * 3);
    return out->rgb
               ? QRUN_OK
               : qrun_errf(err, QRUN_E_NOMEM, "%s: out of memory for a %dx%d image", path, w, h);
}

/* ---- JPEG ---------------------------------------------------------------- */

typedef struct jpg_err {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jpg_err;

/* libjpeg's default error_exit calls exit(): jump back with the message instead. */
static void jpg_error_exit(j_common_ptr cinfo) {
    jpg_err *e = (jpg_err *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jump, 1);
}

static void jpg_silence(j_common_ptr cinfo) {
    (void)cinfo; /* warnings (e.g. extraneous bytes) are not errors; Pillow ignores them too */
}

static qrun_status
jpg_read(FILE *f, const char *path, const qrun_allocator *alloc, qrun_image *out, qrun_err *err) {
    struct jpeg_decompress_struct cinfo;
    jpg_err je;
    cinfo.err = jpeg_std_error(&je.mgr);
    je.mgr.error_exit = jpg_error_exit;
    je.mgr.output_message = jpg_silence;
    qrun_image *volatile img = out;
    if (setjmp(je.jump)) {
        jpeg_destroy_decompress(&cinfo);
        qrun_image_free(alloc, img);
        return qrun_errf(err, QRUN_E_MODEL, "%s: not a valid JPEG file: %s", path, je.msg);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, f);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&cinfo);
        return qrun_errf(err, QRUN_E_UNSUPPORTED, "%s: CMYK JPEG images are not supported", path);
    }
    cinfo.out_color_space = JCS_RGB; /* gray and YCbCr both come out as RGB */
    jpeg_start_decompress(&cinfo);
    qrun_status st =
        img_alloc(alloc, (int)cinfo.output_width, (int)cinfo.output_height, path, out, err);
    if (st != QRUN_OK || cinfo.output_components != 3) {
        jpeg_destroy_decompress(&cinfo);
        qrun_image_free(alloc, out);
        return st ? st
                  : qrun_errf(err, QRUN_E_UNSUPPORTED, "%s: JPEG with %d components", path,
                              cinfo.output_components);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out->rgb + (size_t)cinfo.output_scanline * (size_t)out->w * 3;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return QRUN_OK;
}

/* ---- PNG ----------------------------------------------------------------- */

static qrun_status
png_read(FILE *f, const char *path, const qrun_allocator *alloc, qrun_image *out, qrun_err *err) {
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_stdio(&pi, f))
        return qrun_errf(err, QRUN_E_MODEL, "%s: not a valid PNG file: %s", path, pi.message);
    /* RGBA then drop alpha, as Pillow's convert("RGB"): no compositing onto a background. */
    pi.format = PNG_FORMAT_RGBA;
    if ((int64_t)pi.width * pi.height > IMG_MAX_PIXELS) {
        png_image_free(&pi);
        return qrun_errf(err, QRUN_E_UNSUPPORTED, "%s: image size %ux%u is not supported", path,
                         pi.width, pi.height);
    }
    size_t n = PNG_IMAGE_SIZE(pi);
    uint8_t *rgba = qrun_malloc(alloc, n);
    if (!rgba) {
        png_image_free(&pi);
        return qrun_errf(err, QRUN_E_NOMEM, "%s: out of memory", path);
    }
    if (!png_image_finish_read(&pi, NULL, rgba, 0, NULL)) {
        qrun_free(alloc, rgba);
        return qrun_errf(err, QRUN_E_MODEL, "%s: not a valid PNG file: %s", path, pi.message);
    }
    qrun_status st = img_alloc(alloc, (int)pi.width, (int)pi.height, path, out, err);
    if (st == QRUN_OK) {
        size_t px = (size_t)out->w * (size_t)out->h;
        for (size_t i = 0; i < px; i++)
            memcpy(out->rgb + 3 * i, rgba + 4 * i, 3);
    }
    qrun_free(alloc, rgba);
    return st;
}

qrun_status
qrun_image_read(const char *path, const qrun_allocator *alloc, qrun_image *out, qrun_err *err) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return qrun_errf(err, QRUN_E_IO, "%s: cannot open: %s", path, strerror(errno));
    uint8_t head[8] = {0};
    size_t got = fread(head, 1, sizeof head, f);
    rewind(f);
    qrun_status st;
    if (got >= 3 && head[0] == 0xff && head[1] == 0xd8)
        st = jpg_read(f, path, alloc, out, err);
    else if (qrun_image_sniff(head, got))
        st = png_read(f, path, alloc, out, err);
    else
        st = qrun_errf(err, QRUN_E_MODEL, "%s: not a JPEG or PNG file", path);
    fclose(f);
    return st;
}
