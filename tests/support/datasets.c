/* SPDX-License-Identifier: Apache-2.0 */
/* Test support: corpus dataset readers, preprocessing and step comparison (see datasets.h). */
#include "datasets.h"

#include "onnx/onnx_loader.h"
#include "runtime/ir.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

unsigned char *ds_gunzip_file(const char *path, size_t *n) {
    gzFile g = gzopen(path, "rb");
    if (!g)
        return NULL;
    size_t cap = 1 << 20, used = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        if (used == cap) {
            unsigned char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        int got = gzread(g, buf + used, (unsigned)(cap - used));
        if (got <= 0)
            break;
        used += (size_t)got;
    }
    gzclose(g);
    *n = used;
    return buf;
}

void ds_free(ds_set *d) {
    free(d->data);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

static bool ds_alloc(ds_set *d, int n, int h, int w, int c, bool is_signed) {
    *d = (ds_set){.n = n, .h = h, .w = w, .c = c, .is_signed = is_signed};
    d->sample_bytes = (size_t)h * (size_t)w * (size_t)c;
    d->data = malloc((size_t)n * d->sample_bytes);
    d->labels = malloc((size_t)n * sizeof *d->labels);
    if (d->data && d->labels)
        return true;
    ds_free(d);
    return false;
}

bool ds_load_mnist(const char *dir, ds_set *d) {
    char p[PATH_MAX];
    size_t ni = 0, nl = 0;
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte.gz", dir);
    unsigned char *img = ds_gunzip_file(p, &ni);
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte.gz", dir);
    unsigned char *lab = ds_gunzip_file(p, &nl);
    /* IDX: images after a 16-byte header (magic, count, rows, cols), labels after 8 bytes. */
    bool ok = img && lab && ni > 16 && nl > 8 && (ni - 16) % 784 == 0 && (ni - 16) / 784 == nl - 8;
    if (ok)
        ok = ds_alloc(d, (int)(nl - 8), 28, 28, 1, false);
    if (ok) {
        memcpy(d->data, img + 16, ni - 16);
        for (int i = 0; i < d->n; i++)
            d->labels[i] = lab[8 + i];
    }
    free(img);
    free(lab);
    return ok;
}

static bool read_exact(const char *path, unsigned char *dst, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    bool ok = fread(dst, 1, n, f) == n && fgetc(f) == EOF;
    fclose(f);
    return ok;
}

/* Count the data lines of a label file (header excluded). */
static int count_lines(FILE *f, bool header) {
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += line[0] != '\n' && line[0] != '\0';
    rewind(f);
    return header ? n - 1 : n;
}

/*
 * Label file + one binary file per sample. Each line gives the sample's file
 * (column 0) and label (column label_col); map turns the file column into the
 * path of the bytes relative to dir.
 */
static bool load_listed(const char *dir,
                        const char *labels,
                        bool header,
                        int label_col,
                        void (*map)(const char *file, char *out, size_t cap),
                        ds_set *d) {
    char p[PATH_MAX], line[512];
    snprintf(p, sizeof p, "%s/%s", dir, labels);
    FILE *f = fopen(p, "r");
    if (!f)
        return false;
    int n = count_lines(f, header);
    bool ok = n > 0 && ds_alloc(d, n, d->h, d->w, d->c, d->is_signed);
    if (ok && header)
        ok = fgets(line, sizeof line, f) != NULL;
    for (int i = 0; ok && i < n; i++) {
        ok = fgets(line, sizeof line, f) != NULL;
        char *save = NULL, *col = ok ? strtok_r(line, ",\r\n", &save) : NULL, rel[PATH_MAX];
        ok = col != NULL;
        if (ok) {
            map(col, rel, sizeof rel);
            snprintf(p, sizeof p, "%s/%s", dir, rel);
            ok = read_exact(p, d->data + (size_t)i * d->sample_bytes, d->sample_bytes);
        }
        for (int k = 1; ok && k <= label_col; k++)
            ok = (col = strtok_r(NULL, ",\r\n", &save)) != NULL;
        if (ok)
            d->labels[i] = atoi(col);
    }
    fclose(f);
    if (!ok)
        ds_free(d);
    return ok;
}

static void map_same(const char *file, char *out, size_t cap) {
    snprintf(out, cap, "%s", file);
}

/* "jpeg/n01440764_tench.JPEG" -> "u8_224/n01440764_tench.rgb224.u8" */
static void map_imagenet_crop(const char *file, char *out, size_t cap) {
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    const char *dot = strrchr(base, '.');
    int len = dot ? (int)(dot - base) : (int)strlen(base);
    snprintf(out, cap, "u8_224/%.*s.rgb224.u8", len, base);
}

bool ds_load_cifar(const char *dir, ds_set *d) {
    *d = (ds_set){.h = 32, .w = 32, .c = 3};
    return load_listed(dir, "y_labels.csv", false, 2, map_same, d);
}

bool ds_load_kws(const char *dir, ds_set *d) {
    *d = (ds_set){.h = 49, .w = 10, .c = 1, .is_signed = true};
    return load_listed(dir, "y_labels.csv", false, 2, map_same, d);
}

bool ds_load_imagenet40(const char *dir, ds_set *d) {
    *d = (ds_set){.h = 224, .w = 224, .c = 3};
    return load_listed(dir, "labels.csv", true, 1, map_imagenet_crop, d);
}

void ds_preproc_init(ds_preproc *p) {
    *p = (ds_preproc){.sub = 0, .mul = 1, .div = 1, .std = {1, 1, 1}};
}

void ds_preproc_imagenet(ds_preproc *p) {
    *p = (ds_preproc){.sub = 0,
                      .mul = 1,
                      .div = 255,
                      .mean = {0.485f, 0.456f, 0.406f},
                      .std = {0.229f, 0.224f, 0.225f},
                      .chw = true};
}

void ds_preprocess(const ds_set *d, int i, const ds_preproc *p, float *dst) {
    const unsigned char *s = d->data + (size_t)i * d->sample_bytes;
    size_t plane = (size_t)d->h * (size_t)d->w;
    for (size_t px = 0; px < plane; px++) {
        for (int ch = 0; ch < d->c; ch++) {
            unsigned char b = s[px * (size_t)d->c + (size_t)ch];
            float v = d->is_signed ? (float)(int8_t)b : (float)b;
            float mean = ch < 3 ? p->mean[ch] : 0.0f, sd = ch < 3 ? p->std[ch] : 1.0f;
            float x = ((v - p->sub) * p->mul / p->div - mean) / sd;
            dst[p->chw ? (size_t)ch * plane + px : px * (size_t)d->c + (size_t)ch] = x;
        }
    }
}

int *ds_read_predictions(const char *path, const ds_set *d, int *n) {
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    int cap = count_lines(f, true);
    int *pred = cap > 0 ? malloc((size_t)cap * sizeof *pred) : NULL;
    char line[256];
    bool ok = pred && fgets(line, sizeof line, f);
    int k = 0;
    while (ok && k < cap && fgets(line, sizeof line, f)) {
        int sample = -1, label = -1, am = -1;
        ok = sscanf(line, "%d,%d,%d", &sample, &label, &am) == 3 && sample == k &&
             (!d || (k < d->n && d->labels[k] == label));
        if (ok)
            pred[k++] = am;
    }
    fclose(f);
    if (!ok) {
        free(pred);
        return NULL;
    }
    *n = k;
    return pred;
}

int ds_argmax(const float *v, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) {
        if (v[i] > v[best])
            best = i;
    }
    return best;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Differences of one row in steps: plain, or of the logits behind a softmax (see datasets.h). */
static void
row_diffs(const float *got, const float *want, int64_t n, double step, bool sm, double *d) {
    for (int64_t i = 0; i < n; i++) {
        if (got[i] == want[i]) /* also two probabilities that underflowed to 0 */
            d[i] = 0.0;
        else if (sm)
            d[i] = (log((double)got[i]) - log((double)want[i])) / step;
        else
            d[i] = ((double)got[i] - (double)want[i]) / step;
    }
    if (!sm)
        return;
    double *sorted = malloc((size_t)n * sizeof *sorted);
    if (!sorted)
        return;
    memcpy(sorted, d, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_double);
    double shift = sorted[n / 2];
    free(sorted);
    for (int64_t i = 0; i < n; i++)
        d[i] -= shift;
}

void ds_compare_steps(const float *got,
                      const float *want,
                      int64_t n,
                      int64_t row_len,
                      double step,
                      bool softmax,
                      ds_step_stats *out) {
    *out = (ds_step_stats){.n = n};
    if (row_len <= 0 || row_len > n)
        row_len = n;
    double *d = malloc((size_t)row_len * sizeof *d);
    if (!d) {
        out->max_steps = INFINITY;
        return;
    }
    /* Values on the same grid differ by whole steps; the slack absorbs float rounding of the
     * dequantized values (and of log/exp through a softmax). */
    const double slack = 1e-3;
    for (int64_t r = 0; r + row_len <= n; r += row_len) {
        row_diffs(got + r, want + r, row_len, step, softmax, d);
        for (int64_t i = 0; i < row_len; i++) {
            double a = isnan(d[i]) ? INFINITY : fabs(d[i]);
            if (a > 1.0 + slack)
                out->over1++;
            if (a > out->max_steps) {
                out->max_steps = a;
                out->worst = r + i;
            }
        }
    }
    free(d);
}

/* Ops whose output values are exactly their input values rearranged. */
static bool keeps_grid(const qrun_node *n) {
    static const char *const ops[] = {"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze"};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        if (!n->domain[0] && strcmp(n->op_type, ops[k]) == 0)
            return true;
    }
    return false;
}

static bool find_step(const qrun_graph *g, int v, double *step, bool *softmax) {
    for (int hops = 0; hops < g->n_nodes && v >= 0; hops++) {
        int p = g->values[v].producer;
        if (p < 0)
            return false;
        const qrun_node *n = &g->nodes[p];
        if (!n->domain[0] && strcmp(n->op_type, "DequantizeLinear") == 0) {
            int s = qrun_node_input(n, 1);
            const struct qrun_tensor *t = s >= 0 ? &g->values[s].info : NULL;
            if (!t || g->values[s].kind != QRUN_VALUE_CONSTANT || !t->data ||
                qrun_shape_numel(t->rank, t->dims) != 1)
                return false;
            *step = qrun_tensor_get_f64(t, 0);
            return *step > 0;
        }
        bool sm = !n->domain[0] && strcmp(n->op_type, "Softmax") == 0;
        if (sm && *softmax)
            return false; /* two softmaxes: not a logit grid any more */
        if (!sm && !keeps_grid(n))
            return false;
        *softmax |= sm;
        v = qrun_node_input(n, 0);
    }
    return false;
}

bool ds_output_step(const char *model_path, int output, double *step, bool *softmax) {
    qrun_err err = {0};
    qrun_graph *g = NULL;
    *softmax = false;
    if (onnx_load_file(model_path, NULL, &g, &err) != QRUN_OK)
        return false;
    bool ok =
        output >= 0 && output < g->n_outputs && find_step(g, g->outputs[output], step, softmax);
    qrun_graph_free(g);
    return ok;
}

bool ds_dataset_runs_enabled(void) {
    const char *v = getenv("QRUN_SKIP_DATASET_RUNS");
    return !(v && strcmp(v, "1") == 0);
}
