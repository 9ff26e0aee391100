/* SPDX-License-Identifier: Apache-2.0 */
/* Capped allocator and scratch file of the fuzz harnesses (see fuzz_common.h). */
#include "fuzz/fuzz_common.h"

#include "runtime/alloc.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t g_max_alloc;

/* Refuses what the cap forbids, else defers to qrun's default allocator (the one place that
 * calls malloc). */
static void *capped_alloc(void *ud, size_t size) {
    (void)ud;
    if (g_max_alloc && size > g_max_alloc)
        return NULL;
    return qrun_malloc(qrun_allocator_default(), size);
}

static void capped_free(void *ud, void *p) {
    (void)ud;
    qrun_free(qrun_allocator_default(), p);
}

static const qrun_allocator g_capped = {capped_alloc, capped_free, NULL};

qrun_context *fuzz_context(size_t max_alloc) {
    g_max_alloc = max_alloc;
    qrun_options o;
    qrun_options_init(&o);
    o.allocator = &g_capped;
    o.n_threads = 1;
    qrun_context *ctx = NULL;
    if (qrun_context_create(&o, &ctx) != QRUN_OK)
        abort();
    return ctx;
}

void fuzz_set_max_alloc(size_t max_alloc) {
    g_max_alloc = max_alloc;
}

const qrun_allocator *fuzz_allocator(void) {
    return &g_capped;
}

void fuzz_check_status(qrun_context *ctx, qrun_status s, const char *call) {
    if (s == QRUN_OK)
        return;
    const char *msg = qrun_context_errmsg(ctx);
    if (s == QRUN_E_INTERNAL) {
        fprintf(stderr, "%s: internal error: %s\n", call, msg);
        abort();
    }
    if (!msg[0]) {
        fprintf(stderr, "%s failed (%s) without a message\n", call, qrun_status_str(s));
        abort();
    }
}

#define FUZZ_MAX_SCRATCH 4
static char g_scratch[FUZZ_MAX_SCRATCH][512];
static char g_tags[FUZZ_MAX_SCRATCH][32];

static void remove_scratch(void) {
    for (int i = 0; i < FUZZ_MAX_SCRATCH; i++)
        if (g_scratch[i][0])
            unlink(g_scratch[i]);
}

const char *fuzz_scratch_path(const char *tag) {
    int i = 0;
    for (; i < FUZZ_MAX_SCRATCH && g_scratch[i][0]; i++)
        if (strcmp(g_tags[i], tag) == 0)
            return g_scratch[i];
    if (i == FUZZ_MAX_SCRATCH)
        abort();
    if (i == 0)
        atexit(remove_scratch);
    const char *dir = getenv("TMPDIR");
    snprintf(g_tags[i], sizeof g_tags[i], "%s", tag);
    snprintf(g_scratch[i], sizeof g_scratch[i], "%s/qrun-fuzz-%ld-%s", dir && dir[0] ? dir : "/tmp",
             (long)getpid(), tag);
    return g_scratch[i];
}

const char *fuzz_scratch_file(const uint8_t *data, size_t size, const char *tag) {
    const char *path = fuzz_scratch_path(tag);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror(path);
        abort();
    }
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, data + done, size - done);
        if (w <= 0) {
            perror(path);
            abort();
        }
        done += (size_t)w;
    }
    close(fd);
    return path;
}

static bool same_tensor(const qrun_tensor *a, const qrun_tensor *b) {
    int rank = qrun_tensor_rank(a);
    return qrun_tensor_dtype(a) == qrun_tensor_dtype(b) && rank == qrun_tensor_rank(b) &&
           memcmp(qrun_tensor_dims(a), qrun_tensor_dims(b), (size_t)rank * sizeof(int64_t)) == 0 &&
           qrun_tensor_nbytes(a) == qrun_tensor_nbytes(b) &&
           memcmp(qrun_tensor_data_const(a), qrun_tensor_data_const(b), qrun_tensor_nbytes(a)) == 0;
}

void fuzz_tensor_file(const uint8_t *data, size_t size, qrun_tensor_format fmt) {
    static qrun_context *ctx;
    if (!ctx)
        ctx = fuzz_context(0);
    qrun_tensor *t = NULL, *back = NULL;
    qrun_status s = qrun_tensor_load_file(ctx, fuzz_scratch_file(data, size, "in"), &t);
    fuzz_check_status(ctx, s, "qrun_tensor_load_file");
    if (s != QRUN_OK)
        return;
    const char *out = fuzz_scratch_path("out");
    s = qrun_tensor_save_file(ctx, t, out, fmt);
    fuzz_check_status(ctx, s, "qrun_tensor_save_file");
    if (s == QRUN_OK) {
        s = qrun_tensor_load_file(ctx, out, &back);
        fuzz_check_status(ctx, s, "qrun_tensor_load_file (written back)");
        /* NumPy has no FP8, 4-bit or bfloat16: those come back as their codes (uint8/uint16). */
        bool comparable = fmt == QRUN_TENSOR_FORMAT_PB ||
                          (back && qrun_tensor_dtype(back) == qrun_tensor_dtype(t));
        if (s != QRUN_OK || (comparable && !same_tensor(t, back))) {
            fprintf(stderr, "a %s tensor does not read back as written\n",
                    qrun_dtype_name(qrun_tensor_dtype(t)));
            abort();
        }
    }
    qrun_tensor_free(back);
    qrun_tensor_free(t);
}
