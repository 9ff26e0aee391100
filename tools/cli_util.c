/* SPDX-License-Identifier: Apache-2.0 */
#include "tools/cli_util.h"

#include "tools/qrun_hw.h" /* fail() */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

bool cli_parse_int(const char *s, int lo, int hi, int *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !end || *end || end == s || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

int cli_parse_requant(const char *val, qrun_requant_mode *out) {
    if (strcmp(val, "float") == 0)
        *out = QRUN_REQUANT_FLOAT;
    else if (strcmp(val, "fixed") == 0)
        *out = QRUN_REQUANT_FIXED;
    else
        return fail("--requant must be float or fixed, got '%s'", val);
    return 0;
}

int cli_parse_fp8_accum(const char *val, qrun_fp8_accum *out) {
    if (strcmp(val, "fp32") == 0)
        *out = QRUN_FP8_ACCUM_FP32;
    else if (strcmp(val, "fp16") == 0)
        *out = QRUN_FP8_ACCUM_FP16;
    else if (strcmp(val, "bf16") == 0)
        *out = QRUN_FP8_ACCUM_BF16;
    else
        return fail("--fp8-accum must be fp32, fp16 or bf16, got '%s'", val);
    return 0;
}

bool cli_file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

double cli_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int cli_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void cli_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void cli_fill_pattern(qrun_tensor *t, bool random) {
    int64_t n = qrun_tensor_numel(t);
    qrun_dtype dt = qrun_tensor_dtype(t);
    bool small_int = qrun_dtype_bits(dt) <= 16 && dt != QRUN_DTYPE_FLOAT16 &&
                     dt != QRUN_DTYPE_BFLOAT16 && dt != QRUN_DTYPE_FLOAT;
    uint32_t state = 0x9e3779b9u;
    for (int64_t k = 0; k < n && random; k++) {
        state = state * 1664525u + 1013904223u;
        double v = (double)(state >> 8) / (double)(1u << 24) * 2.0 - 1.0;
        qrun_tensor_set_f64(t, k, small_int ? v * 100.0 : v);
    }
}

int cli_pattern_input(qrun_context *ctx,
                      const char *model,
                      const qrun_value_info *vi,
                      bool random,
                      qrun_tensor **out) {
    if (vi->dtype == QRUN_DTYPE_UNDEFINED)
        return fail("%s: input '%s' has no declared type; give it with --input or --inputs", model,
                    vi->name);
    int64_t dims[QRUN_MAX_RANK];
    int rank = vi->rank < 0 ? 0 : vi->rank;
    for (int d = 0; d < rank; d++)
        dims[d] = vi->dims[d] >= 0 ? vi->dims[d] : 1;
    if (qrun_tensor_create(ctx, vi->dtype, rank, dims, vi->name, out))
        return fail("%s: input '%s': %s", model, vi->name, qrun_context_errmsg(ctx));
    cli_fill_pattern(*out, random);
    return 0;
}

bool cli_find_dir_input(const char *dir, int i, char *path, size_t cap) {
    static const char *const exts[] = {"pb", "npy", "jpg", "jpeg", "png", "JPG", "JPEG", "PNG"};
    for (size_t k = 0; k < sizeof exts / sizeof exts[0]; k++) {
        snprintf(path, cap, "%s/input_%d.%s", dir, i, exts[k]);
        if (cli_file_exists(path))
            return true;
    }
    return false;
}

int cli_load_input_file(qrun_context *ctx,
                        const char *path,
                        const char *input_name,
                        const char *preprocess,
                        qrun_tensor **out) {
    if (!cli_file_exists(path))
        return fail("%s: no such file (for input '%s')", path, input_name);
    qrun_status s = qrun_file_is_image(path) ? qrun_tensor_load_image(ctx, path, preprocess, out)
                                             : qrun_tensor_load_file(ctx, path, out);
    if (s)
        return fail("%s", qrun_context_errmsg(ctx));
    return 0;
}
