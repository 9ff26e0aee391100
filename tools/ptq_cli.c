/* SPDX-License-Identifier: Apache-2.0 */
/* PTQ options and the calibration-set reader of the qrun CLI (see ptq_cli.h). */
#include "tools/ptq_cli.h"
#include "tools/qrun_hw.h" /* fail() */

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const k_ptq_cli_usage =
    "Quantization options (qrun run quantizes on the fly):\n"
    "  --dtype FMT            auto (default: run the model as it is) or a format to quantize to:\n"
    "                         int8, uint8, fp8e4m3, fp8e4m3fnuz, fp8e5m2, fp8e5m2fnuz, fp8e3m4\n"
    "  --calib DIR            calibration samples: DIR/*.npy or DIR/*.jpg|*.png (through\n"
    "                         --preprocess; one sample each, one-input models) or\n"
    "                         DIR/test_data_set_*/input_<i>.pb|.npy (default: the run's own\n"
    "                         input, with a warning)\n"
    "  --calib-method M       minmax, percentile (default), mse or entropy\n"
    "  --percentile P         percentile of the percentile method (default 99.99)\n"
    "  --scale MODE           float (default) or pow2 (power-of-two scales)\n"
    "  --act-symmetric        symmetric integer activations (default asymmetric)\n"
    "  --keep-float N[,N...]  leave these nodes in float\n"
    "  --dtype-for N=FMT[,...]  per-node formats\n";

void ptq_cli_init(ptq_cli *p) {
    memset(p, 0, sizeof *p);
    qrun_quant_options_init(&p->opts);
}

bool ptq_cli_takes_value(const char *a) {
    static const char *const with_value[] = {"--dtype",      "--calib", "--calib-method",
                                             "--percentile", "--scale", "--keep-float",
                                             "--dtype-for"};
    for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++) {
        if (strcmp(a, with_value[k]) == 0)
            return true;
    }
    return false;
}

int ptq_cli_parse(ptq_cli *p, const char *a, const char *val) {
    if (strcmp(a, "--dtype") == 0) {
        if (strcmp(val, "auto") != 0 && qrun_quant_format_from_name(val) == QRUN_DTYPE_UNDEFINED)
            return -fail("--dtype: unknown format '%s' (auto, %s)", val, qrun_quant_format_names());
        p->dtype = val;
        p->opts.dtype = val;
    } else if (strcmp(a, "--calib") == 0) {
        p->calib_dir = val;
    } else if (strcmp(a, "--calib-method") == 0) {
        if (!qrun_calib_method_from_name(val, &p->opts.calib_method))
            return -fail("--calib-method must be minmax, percentile, mse or entropy, got '%s'",
                         val);
    } else if (strcmp(a, "--percentile") == 0) {
        char *end = NULL;
        double v = strtod(val, &end);
        if (!end || *end || end == val || !(v > 50.0 && v <= 100.0))
            return -fail("--percentile expects a number in (50, 100], got '%s'", val);
        p->opts.percentile = v;
    } else if (strcmp(a, "--scale") == 0) {
        if (strcmp(val, "float") == 0)
            p->opts.scale_mode = QRUN_SCALE_FLOAT;
        else if (strcmp(val, "pow2") == 0)
            p->opts.scale_mode = QRUN_SCALE_POW2;
        else
            return -fail("--scale must be float or pow2, got '%s'", val);
    } else if (strcmp(a, "--keep-float") == 0) {
        p->opts.keep_float = val;
    } else if (strcmp(a, "--dtype-for") == 0) {
        p->opts.dtype_for = val;
    } else if (strcmp(a, "--act-symmetric") == 0) {
        p->opts.act_symmetric = true;
    } else {
        return 0;
    }
    return 1;
}

bool ptq_cli_active(const ptq_cli *p) {
    return p->dtype && strcmp(p->dtype, "auto") != 0;
}

/* ---- calibration set ----------------------------------------------------- */

typedef struct name_list {
    int n;
    char **names;
} name_list;

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(name_list *l) {
    for (int i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    memset(l, 0, sizeof *l);
}

typedef enum sample_kind { KIND_SETS, KIND_NPY, KIND_IMAGES } sample_kind;

static bool has_suffix(const char *name, const char *suffix) {
    size_t n = strlen(name), k = strlen(suffix);
    return n > k && strcasecmp(name + n - k, suffix) == 0;
}

static bool entry_wanted(const char *name, const struct stat *st, sample_kind kind) {
    switch (kind) {
    case KIND_SETS:
        return S_ISDIR(st->st_mode) && strncmp(name, "test_data_set_", 14) == 0;
    case KIND_NPY:
        return S_ISREG(st->st_mode) && has_suffix(name, ".npy");
    case KIND_IMAGES:
        return S_ISREG(st->st_mode) &&
               (has_suffix(name, ".jpg") || has_suffix(name, ".jpeg") || has_suffix(name, ".png"));
    }
    return false;
}

/* Sorted entries of dir of one kind (test_data_set_ folders, .npy files or images). */
static int list_dir(const char *opt, const char *dir, sample_kind kind, name_list *out) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d)
        return fail("%s %s: cannot open: %s", opt, dir, strerror(errno));
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !entry_wanted(e->d_name, &st, kind))
            continue;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            char **p = realloc(out->names, (size_t)cap * sizeof *p);
            if (!p) {
                closedir(d);
                names_free(out);
                return fail("out of memory");
            }
            out->names = p;
        }
        out->names[out->n] = strdup(e->d_name);
        if (!out->names[out->n]) {
            closedir(d);
            names_free(out);
            return fail("out of memory");
        }
        out->n++;
    }
    closedir(d);
    if (out->n)
        qsort(out->names, (size_t)out->n, sizeof *out->names, cmp_str);
    return 0;
}

/* The samples of dir: test_data_set_* folders if any, else *.npy files, else images. */
static int list_samples(const char *opt, const char *dir, sample_kind *kind, name_list *out) {
    static const sample_kind order[] = {KIND_SETS, KIND_NPY, KIND_IMAGES};
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        if (list_dir(opt, dir, order[k], out))
            return 1;
        *kind = order[k];
        if (out->n)
            return 0;
    }
    return fail("%s %s: no *.npy files or test_data_set_* folders (or *.jpg/*.png images)", opt,
                dir);
}

void ptq_cli_progress(const char *what, int done, int total) {
    if (!isatty(STDERR_FILENO))
        return;
    int width = 30, filled = total ? done * width / total : width;
    fprintf(stderr, "\r%s [%.*s%*s] %d/%d", what, filled, "##############################",
            width - filled, "", done, total);
    if (done == total)
        fputc('\n', stderr);
    fflush(stderr);
}

/* A tensor file (.pb/.npy) or an image through the preprocessing spec, chosen by content. */
static int load_file(qrun_context *ctx, const char *path, const char *preprocess, qrun_tensor **t) {
    qrun_status s = qrun_file_is_image(path) ? qrun_tensor_load_image(ctx, path, preprocess, t)
                                             : qrun_tensor_load_file(ctx, path, t);
    return s ? fail("%s", qrun_context_errmsg(ctx)) : 0;
}

/* input_<i>.pb or input_<i>.npy of a test_data_set folder. */
static int set_input_path(const char *set, int i, char *buf, size_t cap) {
    struct stat st;
    snprintf(buf, cap, "%s/input_%d.pb", set, i);
    if (stat(buf, &st) == 0)
        return 0;
    snprintf(buf, cap, "%s/input_%d.npy", set, i);
    if (stat(buf, &st) == 0)
        return 0;
    return fail("%s: no input_%d.pb or input_%d.npy", set, i, i);
}

/* Load sample s of dir (every input of m) into t and call fn. */
static int one_sample(qrun_context *ctx,
                      const qrun_model *m,
                      const ptq_sample_set *set,
                      const char *name,
                      sample_kind kind,
                      int index,
                      int total,
                      ptq_sample_fn fn,
                      void *ud) {
    int n_inputs = qrun_model_input_count(m);
    qrun_tensor **t = calloc((size_t)n_inputs + 1, sizeof *t);
    if (!t)
        return fail("out of memory");
    char path[PATH_MAX], file[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", set->dir, name);
    int rc = 0;
    for (int i = 0; i < n_inputs && !rc; i++) {
        if (kind == KIND_SETS)
            rc = set_input_path(path, i, file, sizeof file) ||
                 load_file(ctx, file, set->preprocess, &t[i]);
        else
            rc = load_file(ctx, path, set->preprocess, &t[i]);
    }
    if (!rc)
        rc = fn(ud, index, total, (const qrun_tensor *const *)t, n_inputs, path);
    for (int i = 0; i < n_inputs; i++)
        qrun_tensor_free(t[i]);
    free(t);
    return rc;
}

int ptq_cli_sample_count(const ptq_sample_set *set, int *n) {
    name_list names;
    sample_kind kind;
    if (list_samples(set->opt, set->dir, &kind, &names))
        return 1;
    *n = names.n;
    names_free(&names);
    return 0;
}

int ptq_cli_for_each_sample(
    qrun_context *ctx, const qrun_model *m, const ptq_sample_set *set, ptq_sample_fn fn, void *ud) {
    name_list names;
    sample_kind kind;
    if (list_samples(set->opt, set->dir, &kind, &names))
        return 1;
    int rc = 0, n_inputs = qrun_model_input_count(m);
    if (kind != KIND_SETS && n_inputs != 1)
        rc = fail("%s %s: *.npy and image samples need a one-input model (this one has %d "
                  "inputs); use test_data_set_*/input_<i>.pb folders",
                  set->opt, set->dir, n_inputs);
    for (int s = 0; !rc && s < names.n; s++) {
        rc = one_sample(ctx, m, set, names.names[s], kind, s, names.n, fn, ud);
        ptq_cli_progress(set->progress, s + 1, names.n);
    }
    names_free(&names);
    return rc;
}

typedef struct calib_ud {
    qrun_context *ctx;
    qrun_calibrator *cal;
} calib_ud;

static int calib_one(void *ud,
                     int index,
                     int total,
                     const qrun_tensor *const *inputs,
                     int n_inputs,
                     const char *path) {
    calib_ud *c = ud;
    (void)index;
    (void)total;
    if (qrun_calibrator_add_sample(c->cal, inputs, n_inputs))
        return fail("%s: %s", path, qrun_context_errmsg(c->ctx));
    return 0;
}

int ptq_cli_quantize(qrun_context *ctx,
                     const qrun_model *m,
                     const char *model_path,
                     const ptq_cli *p,
                     qrun_tensor *const *own,
                     qrun_model **out) {
    *out = NULL;
    qrun_calibrator *cal = NULL;
    if (qrun_calibrator_create(ctx, m, &p->opts, &cal))
        return fail("%s: %s", model_path, qrun_context_errmsg(ctx));
    int rc = 0;
    if (p->calib_dir) {
        ptq_sample_set set = {"--calib", p->calib_dir, p->preprocess, "calibrating"};
        calib_ud ud = {ctx, cal};
        rc = ptq_cli_for_each_sample(ctx, m, &set, calib_one, &ud);
    } else {
        fprintf(stderr,
                "qrun: warning: no --calib: calibrating %s on the run's own input (one "
                "sample); give --calib DIR with representative samples\n",
                p->dtype);
        if (qrun_calibrator_add_sample(cal, (const qrun_tensor *const *)own,
                                       qrun_model_input_count(m)))
            rc = fail("%s", qrun_context_errmsg(ctx));
    }
    if (!rc && qrun_quantize_model(cal, out))
        rc = fail("%s", qrun_context_errmsg(ctx));
    if (!rc) {
        qrun_quant_summary s;
        qrun_model_quant_summary(*out, &s);
        fprintf(stderr,
                "qrun: note: quantized to %s: %d nodes quantized, %d kept float, %d "
                "BatchNormalization folded; %s calibration on %d sample%s\n",
                p->dtype, s.n_quantized_nodes, s.n_float_nodes, s.n_bn_folded,
                qrun_calib_method_name(p->opts.calib_method), s.n_samples,
                s.n_samples == 1 ? "" : "s");
    }
    qrun_calibrator_free(cal);
    return rc;
}
