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
#include <sys/stat.h>
#include <unistd.h>

const char *const k_ptq_cli_usage =
    "Quantization options (qrun run quantizes on the fly):\n"
    "  --dtype FMT            auto (default: run the model as it is) or a format to quantize to:\n"
    "                         int8, uint8, fp8e4m3, fp8e4m3fnuz, fp8e5m2, fp8e5m2fnuz, fp8e3m4\n"
    "  --calib DIR            calibration samples: DIR/*.npy or images (*.jpg, *.png through\n"
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

/* Sorted entries of dir: *.npy files and JPEG/PNG images (dirs false) or test_data_set_* folders
 * (dirs true). */
static int list_dir(const char *dir, bool dirs, name_list *out) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d)
        return fail("--calib %s: cannot open: %s", dir, strerror(errno));
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0)
            continue;
        bool want =
            dirs ? S_ISDIR(st.st_mode) && strncmp(e->d_name, "test_data_set_", 14) == 0
                 : S_ISREG(st.st_mode) && ((len > 4 && strcmp(e->d_name + len - 4, ".npy") == 0) ||
                                           qrun_file_is_image(path));
        if (!want)
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

static void progress(int done, int total) {
    if (!isatty(STDERR_FILENO))
        return;
    int width = 30, filled = total ? done * width / total : width;
    fprintf(stderr, "\rcalibrating [%.*s%*s] %d/%d", filled, "##############################",
            width - filled, "", done, total);
    if (done == total)
        fputc('\n', stderr);
    fflush(stderr);
}

/* One sample: the tensor or image files of one input each; file names the error. */
static int add_sample(qrun_context *ctx,
                      qrun_calibrator *cal,
                      const char *const *files,
                      int n_inputs,
                      const char *preprocess,
                      const char *what) {
    qrun_tensor **t = calloc((size_t)n_inputs + 1, sizeof *t);
    if (!t)
        return fail("out of memory");
    int rc = 0;
    for (int i = 0; i < n_inputs && !rc; i++) {
        qrun_status st = qrun_file_is_image(files[i])
                             ? qrun_tensor_load_image(ctx, files[i], preprocess, &t[i])
                             : qrun_tensor_load_file(ctx, files[i], &t[i]);
        if (st)
            rc = fail("%s", qrun_context_errmsg(ctx));
    }
    if (!rc && qrun_calibrator_add_sample(cal, (const qrun_tensor *const *)t, n_inputs))
        rc = fail("%s: %s", what, qrun_context_errmsg(ctx));
    for (int i = 0; i < n_inputs; i++)
        qrun_tensor_free(t[i]);
    free(t);
    return rc;
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

static int calibrate_dir(qrun_context *ctx,
                         qrun_calibrator *cal,
                         const qrun_model *m,
                         const char *dir,
                         const char *preprocess) {
    int n_inputs = qrun_model_input_count(m);
    name_list sets, npys;
    if (list_dir(dir, true, &sets))
        return 1;
    if (list_dir(dir, false, &npys)) {
        names_free(&sets);
        return 1;
    }
    int rc = 0, total = sets.n ? sets.n : npys.n;
    if (total == 0)
        rc = fail("--calib %s: no *.npy files, images or test_data_set_* folders", dir);
    else if (!sets.n && n_inputs != 1)
        rc = fail("--calib %s: *.npy samples need a one-input model (this one has %d inputs); "
                  "use test_data_set_*/input_<i>.pb folders",
                  dir, n_inputs);
    char(*paths)[PATH_MAX] = calloc((size_t)n_inputs + 1, PATH_MAX);
    const char **files = calloc((size_t)n_inputs + 1, sizeof *files);
    if (!rc && (!paths || !files))
        rc = fail("out of memory");
    for (int s = 0; !rc && s < total; s++) {
        char set[PATH_MAX];
        if (sets.n) {
            snprintf(set, sizeof set, "%s/%s", dir, sets.names[s]);
            for (int i = 0; i < n_inputs && !rc; i++) {
                rc = set_input_path(set, i, paths[i], PATH_MAX);
                files[i] = paths[i];
            }
        } else {
            snprintf(set, sizeof set, "%s/%s", dir, npys.names[s]);
            files[0] = set;
        }
        if (!rc)
            rc = add_sample(ctx, cal, files, n_inputs, preprocess, set);
        progress(s + 1, total);
    }
    free(paths);
    free(files);
    names_free(&sets);
    names_free(&npys);
    return rc;
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
        rc = calibrate_dir(ctx, cal, m, p->calib_dir, p->preprocess);
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
