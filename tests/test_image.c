/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image inputs: the preprocessing spec, PNG decoding of every color type,
 * errors naming the file and key, and on the ImageNet sample: pixels against
 * Pillow's crops (u8_224: identical) and mobilenetv2-12-int8 top-1 through
 * our pipeline (the manifest's ORT figure on those crops is 0.95).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "qrun/qrun.h"
#include "runtime/alloc.h"
#include "runtime/image.h"
#include "tests/support/datasets.h"
#include "tests/support/model_runner.h"

#include <limits.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SAMPLE QRUN_SHARED_DIR "/models/data/imagenet-sample40"
#define MOBILENET QRUN_SHARED_DIR "/models/int8/qoperator/mobilenetv2-12-int8.onnx"
#define IMAGENET_SPEC "resize=256,crop=224,mean=0.485,0.456,0.406,std=0.229,0.224,0.225,scale=255"

static bool exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* ---- spec --------------------------------------------------------------- */

static void test_spec_parse(void **state) {
    (void)state;
    qrun_preprocess p;
    qrun_err err = {0};
    assert_int_equal(
        qrun_preprocess_parse("resize=256,crop=224,mean=0.485,0.456,0.406,std=0.229,0.224,0.225,"
                              "layout=nhwc,scale=255",
                              &p, &err),
        QRUN_OK);
    assert_int_equal(p.resize, 256);
    assert_int_equal(p.crop_h, 224);
    assert_int_equal(p.crop_w, 224);
    assert_true(p.nhwc);
    assert_true(p.scale == 255.0f);
    assert_true(p.mean[1] == 0.456f && p.std[2] == 0.225f);
    assert_int_equal(qrun_preprocess_parse("crop=20x30,mean=0.5", &p, &err), QRUN_OK);
    assert_int_equal(p.crop_h, 20);
    assert_int_equal(p.crop_w, 30);
    assert_true(p.mean[0] == 0.5f && p.mean[2] == 0.5f && p.std[1] == 1.0f && p.scale == 1.0f);
    assert_int_equal(qrun_preprocess_parse("", &p, &err), QRUN_OK);
    assert_int_equal(p.resize, 0);

    static const struct {
        const char *spec, *needle;
    } bad[] = {
        {"resize=256,size=3", "unknown key 'size'"},
        {"resize=abc", "resize: 'abc'"},
        {"mean=0.1,0.2", "mean takes 1 or 3 values"},
        {"std=0", "std must not be 0"},
        {"layout=chw", "layout must be nchw or nhwc"},
        {"crop=0", "crop: '0'"},
        {"256", "'256' is not key=value"},
        {"scale=-1", "scale: '-1'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(qrun_preprocess_parse(bad[i].spec, &p, &err), QRUN_E_ARG);
        if (!strstr(err.msg, bad[i].needle))
            fail_msg("'%s': message '%s' lacks '%s'", bad[i].spec, err.msg, bad[i].needle);
    }
}

/* ---- PNG of every color type, against the pixels written ----------------- */

static void write_png(const char *path, const uint8_t *px, int w, int h, png_uint_32 format) {
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = (png_uint_32)w;
    pi.height = (png_uint_32)h;
    pi.format = format;
    assert_true(png_image_write_to_file(&pi, path, 0, px, 0, NULL));
}

static void test_png_color_types(void **state) {
    (void)state;
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "/tmp/qrun_test_image_%ld.png", (long)getpid());
    enum { W = 5, H = 3 };
    uint8_t rgba[W * H * 4], gray[W * H];
    for (int i = 0; i < W * H; i++) {
        for (int c = 0; c < 4; c++)
            rgba[4 * i + c] = (uint8_t)(i * 17 + c * 60);
        gray[i] = (uint8_t)(i * 13);
    }
    static const png_uint_32 formats[] = {PNG_FORMAT_RGBA, PNG_FORMAT_RGB, PNG_FORMAT_GRAY};
    for (size_t f = 0; f < 3; f++) {
        uint8_t src[W * H * 4];
        int nc = f == 0 ? 4 : f == 1 ? 3 : 1;
        for (int i = 0; i < W * H; i++)
            for (int c = 0; c < nc; c++)
                src[nc * i + c] = nc == 1 ? gray[i] : rgba[4 * i + c];
        write_png(path, src, W, H, formats[f]);
        assert_true(qrun_file_is_image(path));
        qrun_tensor *t = NULL;
        if (qrun_tensor_load_image(ctx, path, "layout=nhwc", &t))
            fail_msg("%s", qrun_context_errmsg(ctx));
        assert_int_equal(qrun_tensor_rank(t), 4);
        assert_int_equal(qrun_tensor_dims(t)[1], H);
        assert_int_equal(qrun_tensor_dims(t)[2], W);
        assert_int_equal(qrun_tensor_dims(t)[3], 3);
        for (int i = 0; i < W * H; i++)
            for (int c = 0; c < 3; c++) {
                double want =
                    nc == 1 ? gray[i] : rgba[4 * i + c]; /* gray replicated, alpha dropped */
                assert_true(qrun_tensor_get_f64(t, 3 * i + c) == want);
            }
        qrun_tensor_free(t);
    }
    /* NCHW with mean/std/scale: value = (pixel / scale - mean) / std */
    write_png(path, rgba, W, H, PNG_FORMAT_RGBA);
    qrun_tensor *t = NULL;
    assert_int_equal(qrun_tensor_load_image(ctx, path, "scale=255,mean=0.5,0.25,0,std=2", &t),
                     QRUN_OK);
    assert_int_equal(qrun_tensor_dims(t)[1], 3);
    static const float mean[3] = {0.5f, 0.25f, 0.0f};
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < W * H; i++) {
            float want = ((float)rgba[4 * i + c] / 255.0f - mean[c]) / 2.0f;
            assert_true((float)qrun_tensor_get_f64(t, c * W * H + i) == want);
        }
    qrun_tensor_free(t);
    /* errors name the file and the key */
    assert_int_equal(qrun_tensor_load_image(ctx, path, "crop=4,sharpen=1", &t), QRUN_E_ARG);
    assert_non_null(strstr(qrun_context_errmsg(ctx), path));
    assert_non_null(strstr(qrun_context_errmsg(ctx), "'sharpen'"));
    assert_int_equal(qrun_tensor_load_image(ctx, path, "crop=6", &t), QRUN_E_ARG);
    assert_non_null(strstr(qrun_context_errmsg(ctx), "larger than the image"));
    FILE *f = fopen(path, "wb");
    fputs("not an image", f);
    fclose(f);
    assert_false(qrun_file_is_image(path));
    assert_int_equal(qrun_tensor_load_image(ctx, path, NULL, &t), QRUN_E_MODEL);
    assert_non_null(strstr(qrun_context_errmsg(ctx), path));
    unlink(path);
    qrun_context_free(ctx);
}

/* Resizing to the same size is the identity; 2x shrink of a 2x2-constant image keeps it. */
static void test_resize_basics(void **state) {
    (void)state;
    enum { W = 8, H = 6 };
    uint8_t px[W * H * 3];
    for (int i = 0; i < W * H * 3; i++)
        px[i] = (uint8_t)((i * 37) % 256);
    qrun_image in = {.w = W, .h = H, .rgb = px}, out;
    qrun_err err = {0};
    assert_int_equal(qrun_image_resize(&in, W, H, qrun_allocator_default(), &out, &err), QRUN_OK);
    assert_memory_equal(out.rgb, px, sizeof px);
    qrun_image_free(qrun_allocator_default(), &out);
}

/* ---- the ImageNet sample ---------------------------------------------------- */

typedef struct sample {
    char jpeg[PATH_MAX], crop[PATH_MAX];
    int label;
} sample;

static int read_samples(sample *s, int cap) {
    FILE *f = fopen(SAMPLE "/labels.csv", "r");
    if (!f)
        return 0;
    char line[1024];
    int n = 0;
    if (!fgets(line, sizeof line, f)) { /* header */
        fclose(f);
        return 0;
    }
    while (n < cap && fgets(line, sizeof line, f)) {
        char *file = strtok(line, ","), *idx = strtok(NULL, ",");
        if (!file || !idx)
            continue;
        snprintf(s[n].jpeg, sizeof s[n].jpeg, "%s/%s", SAMPLE, file);
        const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
        snprintf(s[n].crop, sizeof s[n].crop, "%s/u8_224/%.*s.rgb224.u8", SAMPLE,
                 (int)(strrchr(base, '.') - base), base);
        s[n].label = atoi(idx);
        n++;
    }
    fclose(f);
    return n;
}

/* Our resize=256,crop=224 against Pillow's crops: nearly all pixels equal. */
static void test_imagenet_pixels_vs_pillow(void **state) {
    (void)state;
    sample s[64];
    int n = read_samples(s, 64);
    if (n == 0)
        skip();
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    double sum = 0;
    int64_t count = 0, equal = 0;
    int maxd = 0, identical_images = 0;
    for (int i = 0; i < n; i++) {
        qrun_tensor *t = NULL;
        if (qrun_tensor_load_image(ctx, s[i].jpeg, "resize=256,crop=224,layout=nhwc", &t))
            fail_msg("%s", qrun_context_errmsg(ctx));
        FILE *f = fopen(s[i].crop, "rb");
        assert_non_null(f);
        static uint8_t ref[224 * 224 * 3];
        assert_int_equal(fread(ref, 1, sizeof ref, f), sizeof ref);
        fclose(f);
        assert_int_equal(qrun_tensor_numel(t), (int64_t)sizeof ref);
        const float *v = qrun_tensor_data_const(t);
        int64_t img_equal = 0;
        for (size_t k = 0; k < sizeof ref; k++) {
            int d = abs((int)v[k] - (int)ref[k]);
            sum += d;
            maxd = d > maxd ? d : maxd;
            img_equal += d == 0;
        }
        equal += img_equal;
        count += (int64_t)sizeof ref;
        identical_images += img_equal == (int64_t)sizeof ref;
        qrun_tensor_free(t);
    }
    print_message("imagenet-sample40 vs Pillow crops: %d images, mean |diff| %.5f, max %d, "
                  "%.4f%% of values equal, %d images identical\n",
                  n, sum / count, maxd, 100.0 * equal / count, identical_images);
    assert_int_equal(maxd, 0); /* Pillow's resize, byte for byte */
    qrun_context_free(ctx);
}

static void test_imagenet_mobilenet_top1(void **state) {
    (void)state;
    if (!ds_dataset_runs_enabled())
        skip();
    sample s[64];
    int n = read_samples(s, 64);
    if (n == 0 || !exists(MOBILENET))
        skip();
    qrun_context *ctx = NULL;
    qrun_model *m = NULL;
    qrun_session *sess = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    if (qrun_model_load(ctx, MOBILENET, &m) || qrun_session_create(ctx, m, NULL, &sess))
        fail_msg("%s", qrun_context_errmsg(ctx));
    int ok = 0;
    for (int i = 0; i < n; i++) {
        qrun_tensor *x = NULL, *y = NULL;
        if (qrun_tensor_load_image(ctx, s[i].jpeg, IMAGENET_SPEC, &x) ||
            qrun_session_run(sess, (const qrun_tensor *const *)&x, 1, &y, 1))
            fail_msg("%s", qrun_context_errmsg(ctx));
        ok += mr_argmax(y) == s[i].label;
        qrun_tensor_free(x);
        qrun_tensor_free(y);
    }
    print_message("mobilenetv2-12-int8 top-1 on the %d JPEGs through the preprocessing spec: %.4f "
                  "(ORT on Pillow's crops: 0.9500)\n",
                  n, (double)ok / n);
    assert_true(ok * 100 >= 95 * n);
    qrun_session_free(sess);
    qrun_model_free(m);
    qrun_context_free(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_parse),
        cmocka_unit_test(test_png_color_types),
        cmocka_unit_test(test_resize_basics),
        cmocka_unit_test(test_imagenet_pixels_vs_pillow),
        cmocka_unit_test(test_imagenet_mobilenet_top1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
