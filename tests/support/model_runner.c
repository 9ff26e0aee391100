/* SPDX-License-Identifier: Apache-2.0 */
/* Test support: real models through the public API (see model_runner.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/support/model_runner.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

bool mr_have_corpus(void) {
    struct stat st;
    return stat(QRUN_SHARED_DIR "/models/MANIFEST.md", &st) == 0;
}

qrun_model *mr_load_model(qrun_context **ctx, const char *path, const qrun_options *o) {
    assert_int_equal(qrun_context_create(o, ctx), QRUN_OK);
    qrun_model *m = NULL;
    if (qrun_model_load(*ctx, path, &m))
        fail_msg("%s: %s", path, qrun_context_errmsg(*ctx));
    return m;
}

void mr_open(mr_model *f, const char *path, const qrun_options *o) {
    if (!mr_have_corpus())
        skip();
    f->model = mr_load_model(&f->ctx, path, o);
    if (qrun_session_create(f->ctx, f->model, NULL, &f->sess))
        fail_msg("%s: %s", path, qrun_context_errmsg(f->ctx));
}

void mr_close(mr_model *f) {
    qrun_session_free(f->sess);
    qrun_model_free(f->model);
    qrun_context_free(f->ctx);
}

qrun_tensor *mr_load_tensor(qrun_context *ctx, const char *path) {
    qrun_tensor *t = NULL;
    if (qrun_tensor_load_file(ctx, path, &t))
        fail_msg("%s", qrun_context_errmsg(ctx));
    return t;
}

void mr_load_data_set(qrun_context *ctx, const char *dir, qrun_tensor **in, qrun_tensor **want) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/input_0.pb", dir);
    *in = mr_load_tensor(ctx, p);
    snprintf(p, sizeof p, "%s/output_0.pb", dir);
    *want = mr_load_tensor(ctx, p);
}

qrun_tensor *mr_run1(mr_model *f, const qrun_tensor *in) {
    qrun_tensor *out = NULL;
    if (qrun_session_run(f->sess, &in, 1, &out, 1))
        fail_msg("%s", qrun_context_errmsg(f->ctx));
    return out;
}

void mr_run_once(qrun_context *ctx,
                 const qrun_model *m,
                 qrun_tensor *const *in,
                 int n_in,
                 qrun_tensor **out,
                 int n_out) {
    qrun_session *s = NULL;
    if (qrun_session_create(ctx, m, NULL, &s) ||
        qrun_session_run(s, (const qrun_tensor *const *)in, n_in, out, n_out))
        fail_msg("%s", qrun_context_errmsg(ctx));
    qrun_session_free(s);
}

double mr_expect_close(
    const qrun_tensor *got, const qrun_tensor *want, double rtol, double atol, const char *what) {
    assert_int_equal(qrun_tensor_numel(got), qrun_tensor_numel(want));
    double worst = 0;
    for (int64_t i = 0; i < qrun_tensor_numel(got); i++) {
        double a = qrun_tensor_get_f64(got, i), b = qrun_tensor_get_f64(want, i);
        if (!(fabs(a - b) <= atol + rtol * fabs(b)))
            fail_msg("%s: element %lld: got %.8g, expected %.8g", what, (long long)i, a, b);
        worst = fabs(a - b) > worst ? fabs(a - b) : worst;
    }
    return worst;
}

int64_t mr_argmax(const qrun_tensor *t) {
    int64_t best = 0;
    for (int64_t i = 1; i < qrun_tensor_numel(t); i++) {
        if (qrun_tensor_get_f64(t, i) > qrun_tensor_get_f64(t, best))
            best = i;
    }
    return best;
}

void mr_count_top1(
    mr_model *f, const ds_set *d, const ds_preproc *pp, const int *ort, int *correct, int *agree) {
    qrun_value_info vi;
    assert_int_equal(qrun_model_input_info(f->model, 0, &vi), QRUN_OK);
    int64_t dims[QRUN_MAX_RANK];
    memcpy(dims, vi.dims, sizeof dims);
    if (dims[0] < 1)
        dims[0] = 1;
    int batch = (int)dims[0];
    qrun_tensor *in = NULL;
    assert_int_equal(qrun_tensor_create(f->ctx, QRUN_DTYPE_FLOAT, vi.rank, dims, vi.name, &in),
                     QRUN_OK);
    assert_int_equal(qrun_tensor_numel(in), (int64_t)batch * (int64_t)d->sample_bytes);
    float *x = qrun_tensor_data(in);
    *correct = *agree = 0;
    for (int s0 = 0; s0 < d->n; s0 += batch) {
        memset(x, 0, qrun_tensor_nbytes(in));
        for (int b = 0; b < batch && s0 + b < d->n; b++)
            ds_preprocess(d, s0 + b, pp, x + (size_t)b * d->sample_bytes);
        qrun_tensor *out = mr_run1(f, in);
        assert_int_equal(qrun_tensor_dtype(out), QRUN_DTYPE_FLOAT);
        int ncls = (int)(qrun_tensor_numel(out) / batch);
        for (int b = 0; b < batch && s0 + b < d->n; b++) {
            int am = ds_argmax((const float *)qrun_tensor_data(out) + (size_t)b * ncls, ncls);
            *correct += am == d->labels[s0 + b];
            *agree += ort && am == ort[s0 + b];
        }
        qrun_tensor_free(out);
    }
    qrun_tensor_free(in);
}

qrun_tensor *mr_sample_tensor(qrun_context *ctx, const ds_set *d, int i) {
    int64_t dims[4] = {1, d->c, d->h, d->w};
    qrun_tensor *t = NULL;
    assert_int_equal(qrun_tensor_create(ctx, QRUN_DTYPE_FLOAT, 4, dims, NULL, &t), QRUN_OK);
    ds_preproc p;
    ds_preproc_init(&p);
    p.chw = true;
    ds_preprocess(d, i, &p, qrun_tensor_data(t));
    return t;
}
