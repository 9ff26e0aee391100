/* SPDX-License-Identifier: Apache-2.0 */
/* qrun_tensor_load_image: an image file through a preprocessing spec into a float tensor. */
#include "qrun/qrun.h"

#include "api/context.h"
#include "runtime/alloc.h"
#include "runtime/image.h"

#include <stdio.h>
#include <string.h>

QRUN_API bool qrun_file_is_image(const char *path) {
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f)
        return false;
    unsigned char head[8] = {0};
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    return qrun_image_sniff(head, got);
}

QRUN_API qrun_status qrun_tensor_load_image(qrun_context *ctx,
                                            const char *path,
                                            const char *preprocess,
                                            qrun_tensor **out) {
    if (!ctx || !path || !out)
        return ctx ? qrun_errf(&ctx->err, QRUN_E_ARG, "qrun_tensor_load_image: NULL argument")
                   : QRUN_E_ARG;
    *out = NULL;
    qrun_preprocess p;
    qrun_status s = qrun_preprocess_parse(preprocess, &p, &ctx->err);
    if (s) {
        qrun_err_prefix(&ctx->err, "%s: ", path);
        return s;
    }
    qrun_image img;
    s = qrun_image_read(path, ctx->alloc, &img, &ctx->err);
    if (s)
        return s;
    struct qrun_tensor t;
    s = qrun_preprocess_image(&img, &p, ctx->alloc, &t, &ctx->err);
    qrun_image_free(ctx->alloc, &img);
    if (s) {
        qrun_err_prefix(&ctx->err, "%s: ", path);
        return s;
    }
    qrun_tensor *h = qrun_calloc(ctx->alloc, 1, sizeof *h);
    if (!h) {
        qrun_tensor_release(&t);
        return qrun_errf(&ctx->err, QRUN_E_NOMEM, "out of memory");
    }
    *h = t;
    *out = h;
    ctx->err.msg[0] = '\0';
    return QRUN_OK;
}
