/* SPDX-License-Identifier: Apache-2.0 */
/* cpu_ref kernels for shape and data-movement ops (Reshape..Range): copies by element size, any
 * dtype. */
#include "backends/cpu_ref/kernel.h"
#include "runtime/rng.h"
#include "runtime/dtype.h"
#include "runtime/shape/movement.h"
#include "runtime/shape/shape_util.h"

#include <inttypes.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

/* Below this many bytes a copy is not worth waking threads for. */
#define SH_PAR_BYTES ((int64_t)1 << 16)
/* Tile views each axis as (repeat, dim): twice the rank. */
#define SH_VIEW_MAX (2 * QRUN_MAX_RANK)

/*
 * A strided read of the input in the output's row-major order: output
 * element (i_0, .., i_r-1) comes from input element base + sum i_k*strides[k]
 * (in elements; strides may be 0 for broadcast or negative for reversed
 * slices). Transpose, Slice, Expand and Tile are all such views.
 */
typedef struct sh_view {
    int rank;
    int64_t dims[SH_VIEW_MAX];
    int64_t strides[SH_VIEW_MAX];
    int64_t base;
} sh_view;

/* Drop unit dims and merge dims that are contiguous in the input, so the inner loop is as long as
 * possible. */
static void sh_view_simplify(sh_view *v) {
    int r = 0;
    for (int k = 0; k < v->rank; k++) {
        if (v->dims[k] == 1)
            continue;
        if (r > 0 && v->strides[r - 1] == v->strides[k] * v->dims[k]) {
            v->dims[r - 1] *= v->dims[k];
            v->strides[r - 1] = v->strides[k];
            continue;
        }
        v->dims[r] = v->dims[k];
        v->strides[r] = v->strides[k];
        r++;
    }
    if (r == 0) {
        v->dims[0] = 1;
        v->strides[0] = 1;
        r = 1;
    }
    v->rank = r;
}

/* Fixed-size memcpy compiles to one load/store and keeps UBSan's alignment checks quiet. */
#define SH_STRIDED_COPY(ES)                                                                        \
    for (int64_t i = 0; i < n; i++)                                                                \
    memcpy(dst + i * (ES), src + i * stride * (ES), (ES))

static void sh_copy_row(char *dst, const char *src, int64_t n, int64_t stride, size_t es) {
    if (stride == 1) {
        memcpy(dst, src, (size_t)n * es);
        return;
    }
    switch (es) {
    case 1:
        SH_STRIDED_COPY(1);
        break;
    case 2:
        SH_STRIDED_COPY(2);
        break;
    case 4:
        SH_STRIDED_COPY(4);
        break;
    case 8:
        SH_STRIDED_COPY(8);
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(dst + (size_t)i * es, src + (size_t)(i * stride) * es, es);
        break;
    }
}

/* Rows [r0, r1) of a simplified view: an odometer over the outer dims. */
static void
sh_view_rows(const sh_view *v, char *dst, const char *src, size_t es, int64_t r0, int64_t r1) {
    int outer = v->rank - 1;
    int64_t idx[SH_VIEW_MAX];
    int64_t off = v->base, rem = r0;
    for (int k = outer - 1; k >= 0; k--) {
        idx[k] = rem % v->dims[k];
        rem /= v->dims[k];
        off += idx[k] * v->strides[k];
    }
    int64_t inner = v->dims[outer], in_s = v->strides[outer];
    for (int64_t r = r0; r < r1; r++) {
        sh_copy_row(dst + (size_t)(r * inner) * es, src + off * (int64_t)es, inner, in_s, es);
        for (int k = outer - 1; k >= 0; k--) {
            off += v->strides[k];
            if (++idx[k] < v->dims[k])
                break;
            off -= v->strides[k] * v->dims[k];
            idx[k] = 0;
        }
    }
}

/* Square tile of the blocked 2-D transpose: 32x32 elements keep both sides in L1. */
#define SH_TILE 32
/*
 * Shorter output rows already reuse their input cache lines from one row
 * to the next (row * 64 B fits in L1), so the plain strided copy is faster.
 */
#define SH_TILE_MIN_ROW 256

#define SH_TILE_COPY(ES)                                                                           \
    for (int64_t i = i0; i < i1; i++)                                                              \
        for (int64_t j = j0; j < j1; j++)                                                          \
    memcpy(dst + (i * n + j) * (ES), src + (i + j * sn) * (ES), (ES))

/* Rows [i0, i1) of dst[i][j] = src[i + j*sn] (n columns), tile by tile. */
static void
sh_tile_rows(char *dst, const char *src, int64_t i0, int64_t i1, int64_t n, int64_t sn, size_t es) {
    for (int64_t j0 = 0; j0 < n; j0 += SH_TILE) {
        int64_t j1 = j0 + SH_TILE < n ? j0 + SH_TILE : n;
        switch (es) {
        case 1:
            SH_TILE_COPY(1);
            break;
        case 2:
            SH_TILE_COPY(2);
            break;
        case 4:
            SH_TILE_COPY(4);
            break;
        case 8:
            SH_TILE_COPY(8);
            break;
        default:
            SH_TILE_COPY((int64_t)es);
            break;
        }
    }
}

/*
 * Fast path for the common transposes (NCHW <-> NHWC, matrix transpose):
 * after simplification they are a batch of 2-D transposes whose input is
 * contiguous along the output's second-last axis. With long output rows,
 * reading along one axis and writing along the other thrashes the cache;
 * blocking fixes that.
 */
static bool sh_view_transpose2d(const sh_view *v, char *dst, const char *src, size_t es, int nt) {
    int r = v->rank;
    if (r < 2 || v->strides[r - 2] != 1 || v->strides[r - 1] == 1 || v->dims[r - 2] < 8 ||
        v->dims[r - 1] < SH_TILE_MIN_ROW)
        return false;
    int64_t m = v->dims[r - 2], n = v->dims[r - 1], sn = v->strides[r - 1];
    int64_t batches = 1;
    for (int k = 0; k < r - 2; k++)
        batches *= v->dims[k];
    int64_t mt = (m + SH_TILE - 1) / SH_TILE, jobs = batches * mt;
#pragma omp parallel for num_threads(nt) if (nt > 1)
    for (int64_t job = 0; job < jobs; job++) {
        int64_t b = job / mt, i0 = (job % mt) * SH_TILE, off = v->base, rem = b;
        for (int k = r - 3; k >= 0; k--) {
            off += (rem % v->dims[k]) * v->strides[k];
            rem /= v->dims[k];
        }
        sh_tile_rows(dst + b * m * n * (int64_t)es, src + off * (int64_t)es, i0,
                     i0 + SH_TILE < m ? i0 + SH_TILE : m, n, sn, es);
    }
    return true;
}

static void sh_view_run(const sh_view *view, void *dst, const void *src, size_t es, int n_threads) {
    sh_view v = *view;
    for (int k = 0; k < v.rank; k++) {
        if (v.dims[k] == 0)
            return;
    }
    sh_view_simplify(&v);
    int64_t rows = 1;
    for (int k = 0; k < v.rank - 1; k++)
        rows *= v.dims[k];
    int64_t bytes = rows * v.dims[v.rank - 1] * (int64_t)es;
    int nt = (bytes >= SH_PAR_BYTES && rows > 1 && n_threads > 1) ? n_threads : 1;
    if (sh_view_transpose2d(&v, dst, src, es, nt))
        return;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
        sh_view_rows(&v, dst, src, es, rows * t / n, rows * (t + 1) / n);
    }
}

static void sh_memcpy(void *dst, const void *src, size_t n, int n_threads) {
    if ((int64_t)n < SH_PAR_BYTES || n_threads <= 1) {
        memcpy(dst, src, n);
        return;
    }
#pragma omp parallel num_threads(n_threads)
    {
        size_t t = (size_t)omp_get_thread_num(), k = (size_t)omp_get_num_threads();
        size_t a = n * t / k, b = n * (t + 1) / k;
        memcpy((char *)dst + a, (const char *)src + a, b - a);
    }
}

/* Fill n elements of es bytes with the one at val, doubling the filled prefix each step. */
static void sh_fill(void *dst, const void *val, int64_t n, size_t es) {
    if (n <= 0)
        return;
    char *d = dst;
    memcpy(d, val, es);
    size_t done = es, total = (size_t)n * es;
    while (done < total) {
        size_t c = done < total - done ? done : total - done;
        memcpy(d + done, d, c);
        done += c;
    }
}

static size_t sh_esize(qrun_dtype t) {
    return (size_t)qrun_dtype_traits_get(t)->bits / 8;
}

/* dtype check: STRING never (elements are pointers), sub-byte types only where the op copies whole
 * buffers. */
static bool sh_dtype_ok(qrun_dtype t, bool sub_byte_ok, char *why, size_t why_cap) {
    if (t == QRUN_DTYPE_UNDEFINED)
        return true;
    int bits = qrun_dtype_traits_get(t)->bits;
    if (bits > 0 && (bits % 8 == 0 || sub_byte_ok))
        return true;
    snprintf(why, why_cap, "%s tensors are not supported", qrun_dtype_traits_get(t)->name);
    return false;
}

static bool sh_supports_bytes(const qrun_node *node,
                              const struct qrun_tensor *const *in,
                              int n_in,
                              char *why,
                              size_t why_cap) {
    return n_in < 1 || !in[0] || sh_dtype_ok(in[0]->dtype, true, why, why_cap);
}

static bool sh_supports_elems(const qrun_node *node,
                              const struct qrun_tensor *const *in,
                              int n_in,
                              char *why,
                              size_t why_cap) {
    for (int i = 0; i < n_in; i++) {
        if (in[i] && !sh_dtype_ok(in[i]->dtype, false, why, why_cap))
            return false;
    }
    return true;
}

/* ---- whole-buffer copies: Reshape, Flatten, Squeeze, Unsqueeze, Identity -- */

static qrun_status sh_eval_copy(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    struct qrun_tensor *y = call->outputs[0];
    if (!y)
        return QRUN_OK;
    sh_memcpy(y->data, x->data, x->nbytes < y->nbytes ? x->nbytes : y->nbytes, call->n_threads);
    return QRUN_OK;
}

/* ---- Dropout ------------------------------------------------------------- */

static void sh_fill_mask_true(struct qrun_tensor *mask) {
    int64_t n = qrun_tensor_numel_(mask);
    if (mask->dtype == QRUN_DTYPE_BOOL) {
        memset(mask->data, 1, (size_t)n);
        return;
    }
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(mask->dtype);
    for (int64_t i = 0; i < n; i++)
        tr->set(mask->data, (size_t)i, 1.0, true);
}

/*
 * Training mode (opset 12+ `training_mode` input true, ratio > 0): keep
 * element i when u_i >= ratio, u_i uniform in [0, 1) from MT19937 seeded with
 * the `seed` attribute (0 when absent) as NumPy seeds it, and scale kept
 * values by 1 / (1 - ratio) (as a float32 factor, as the reference's NumPy
 * arithmetic does). The same seed gives the same mask on every run.
 */
static qrun_status sh_dropout_train(const qrun_kernel_call *call, double ratio) {
    const struct qrun_tensor *x = call->inputs[0];
    struct qrun_tensor *y = call->outputs[0];
    struct qrun_tensor *mask = call->n_outputs > 1 ? call->outputs[1] : NULL;
    if (!(ratio >= 0.0 && ratio < 1.0))
        return qrun_errf(call->err, QRUN_E_MODEL, "Dropout: ratio %g is outside [0, 1)", ratio);
    const struct qrun_dtype_traits *tx = qrun_dtype_traits_get(x->dtype);
    if (!tx->is_float)
        return qrun_errf(call->err, QRUN_E_UNSUPPORTED,
                         "Dropout: training mode needs a float input");
    int64_t seed = qrun_node_attr_int(call->node, "seed", 0);
    if (seed < 0 || seed > (int64_t)UINT32_MAX)
        return qrun_errf(call->err, QRUN_E_UNSUPPORTED, "Dropout: seed %lld is outside [0, 2^32)",
                         (long long)seed);
    qrun_rng rng;
    qrun_rng_seed(&rng, (uint32_t)seed);
    float scale = (float)(1.0 / (1.0 - ratio));
    int64_t n = qrun_tensor_numel_(x);
    for (int64_t i = 0; i < n; i++) {
        bool keep = qrun_rng_uniform(&rng) >= ratio;
        float v = keep ? (float)tx->get(x->data, (size_t)i) * scale : 0.0f;
        if (y)
            tx->set(y->data, (size_t)i, v, false);
        if (mask)
            qrun_dtype_traits_get(mask->dtype)->set(mask->data, (size_t)i, keep ? 1.0 : 0.0, true);
    }
    return QRUN_OK;
}

static qrun_status sh_eval_dropout(const qrun_kernel_call *call) {
    const struct qrun_tensor *ratio = call->n_inputs > 1 ? call->inputs[1] : NULL;
    const struct qrun_tensor *train = call->n_inputs > 2 ? call->inputs[2] : NULL;
    if (train && qrun_dtype_get_i64(train->dtype, train->data, 0) != 0) {
        double r = ratio ? qrun_dtype_traits_get(ratio->dtype)->get(ratio->data, 0) : 0.5;
        if (r != 0.0)
            return sh_dropout_train(call, r);
    }
    qrun_status s = sh_eval_copy(call);
    struct qrun_tensor *mask = call->n_outputs > 1 ? call->outputs[1] : NULL;
    if (!s && mask)
        sh_fill_mask_true(mask);
    return s;
}

/* ---- Transpose, Slice, Expand, Tile: strided views ----------------------- */

static qrun_status sh_eval_transpose(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    int perm[QRUN_MAX_RANK];
    qrun_status s = qrun_transpose_perm(call->node, x->rank, perm, call->err);
    if (s)
        return s;
    int64_t st[QRUN_MAX_RANK];
    qrun_shape_strides(x->rank, x->dims, st);
    sh_view v = {.rank = x->rank};
    for (int k = 0; k < x->rank; k++) {
        v.dims[k] = x->dims[perm[k]];
        v.strides[k] = st[perm[k]];
    }
    sh_view_run(&v, call->outputs[0]->data, x->data, sh_esize(x->dtype), call->n_threads);
    return QRUN_OK;
}

static qrun_status sh_eval_slice(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    qrun_slice_plan p;
    bool need = false;
    qrun_status s =
        qrun_slice_plan_make(call->node, call->inputs, call->n_inputs, &p, &need, call->err);
    if (s)
        return s;
    if (need)
        return qrun_errf(call->err, QRUN_E_INTERNAL, "Slice: parameters unknown at run time");
    int64_t st[QRUN_MAX_RANK];
    qrun_shape_strides(x->rank, x->dims, st);
    sh_view v = {.rank = x->rank};
    for (int k = 0; k < x->rank; k++) {
        v.dims[k] = p.dims[k];
        v.strides[k] = st[k] * p.step[k];
        if (p.dims[k] > 0)
            v.base += st[k] * p.start[k];
    }
    sh_view_run(&v, call->outputs[0]->data, x->data, sh_esize(x->dtype), call->n_threads);
    return QRUN_OK;
}

static qrun_status sh_eval_expand(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    struct qrun_tensor *y = call->outputs[0];
    sh_view v = {.rank = y->rank};
    memcpy(v.dims, y->dims, sizeof y->dims);
    qrun_broadcast_strides(x->rank, x->dims, y->rank, y->dims, v.strides);
    sh_view_run(&v, y->data, x->data, sh_esize(x->dtype), call->n_threads);
    return QRUN_OK;
}

static qrun_status sh_eval_tile(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    struct qrun_tensor *y = call->outputs[0];
    if (qrun_tensor_numel_(y) == 0)
        return QRUN_OK;
    int64_t st[QRUN_MAX_RANK];
    qrun_shape_strides(x->rank, x->dims, st);
    /* Axis d of the output is (repeat, dim): the repeat index reads with stride 0. */
    sh_view v = {.rank = 2 * x->rank};
    for (int d = 0; d < x->rank; d++) {
        v.dims[2 * d] = y->dims[d] / x->dims[d];
        v.strides[2 * d] = 0;
        v.dims[2 * d + 1] = x->dims[d];
        v.strides[2 * d + 1] = st[d];
    }
    sh_view_run(&v, y->data, x->data, sh_esize(x->dtype), call->n_threads);
    return QRUN_OK;
}

/* ---- Concat, Split ------------------------------------------------------- */

/* Bytes of one "row" below axis: prod(dims[axis+1:]) * element size, and the count of rows above
 * it. */
static void
sh_axis_blocks(const struct qrun_tensor *t, int axis, int64_t *outer, int64_t *inner_bytes) {
    *outer = qrun_shape_numel(axis, t->dims);
    *inner_bytes =
        qrun_shape_numel(t->rank - axis - 1, t->dims + axis + 1) * (int64_t)sh_esize(t->dtype);
}

static qrun_status sh_eval_concat(const qrun_kernel_call *call) {
    struct qrun_tensor *y = call->outputs[0];
    int axis;
    qrun_status s =
        qrun_normalize_axis(qrun_node_attr_int(call->node, "axis", 1), y->rank, &axis, call->err);
    if (s)
        return s;
    int64_t outer, inner;
    sh_axis_blocks(y, axis, &outer, &inner);
    int64_t row = y->dims[axis] * inner, off = 0;
    int nt = (int64_t)y->nbytes >= SH_PAR_BYTES ? call->n_threads : 1;
    for (int i = 0; i < call->n_inputs; i++) {
        const struct qrun_tensor *x = call->inputs[i];
        if (!x)
            continue;
        int64_t chunk = x->dims[axis] * inner;
        char *dst = (char *)y->data + off;
        const char *src = x->data;
        if (chunk > 0) {
#pragma omp parallel for num_threads(nt) if (nt > 1 && outer > 1)
            for (int64_t o = 0; o < outer; o++)
                memcpy(dst + o * row, src + o * chunk, (size_t)chunk);
        }
        off += chunk;
    }
    return QRUN_OK;
}

static qrun_status sh_eval_split(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    int64_t sizes[256];
    int axis;
    bool need = false;
    if (call->n_outputs > 256)
        return qrun_errf(call->err, QRUN_E_UNSUPPORTED, "Split: too many outputs");
    qrun_status s = qrun_split_plan_make(call->node, call->inputs, call->n_inputs, call->n_outputs,
                                         &axis, sizes, &need, call->err);
    if (s)
        return s;
    if (need)
        return qrun_errf(call->err, QRUN_E_INTERNAL, "Split: sizes unknown at run time");
    int64_t outer, inner;
    sh_axis_blocks(x, axis, &outer, &inner);
    int64_t row = x->dims[axis] * inner, off = 0;
    int nt = (int64_t)x->nbytes >= SH_PAR_BYTES ? call->n_threads : 1;
    for (int i = 0; i < call->n_outputs; i++) {
        int64_t chunk = sizes[i] * inner;
        struct qrun_tensor *y = call->outputs[i];
        if (y && chunk > 0) {
            char *dst = y->data;
            const char *src = (const char *)x->data + off;
#pragma omp parallel for num_threads(nt) if (nt > 1 && outer > 1)
            for (int64_t o = 0; o < outer; o++)
                memcpy(dst + o * chunk, src + o * row, (size_t)chunk);
        }
        off += chunk;
    }
    return QRUN_OK;
}

/* ---- Shape, Size: read dims only (input data may be NULL) ---------------- */

static qrun_status sh_eval_shape(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    struct qrun_tensor *y = call->outputs[0];
    int64_t r = x->rank;
    int64_t start = qrun_node_attr_int(call->node, "start", 0);
    int64_t end = qrun_node_attr_int(call->node, "end", r);
    start = start < 0 ? start + r : start;
    end = end < 0 ? end + r : end;
    start = start < 0 ? 0 : (start > r ? r : start);
    end = end < 0 ? 0 : (end > r ? r : end);
    for (int64_t i = start; i < end; i++)
        qrun_dtype_set_i64(QRUN_DTYPE_INT64, y->data, (size_t)(i - start), x->dims[i]);
    return QRUN_OK;
}

static qrun_status sh_eval_size(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    qrun_dtype_set_i64(QRUN_DTYPE_INT64, call->outputs[0]->data, 0, qrun_tensor_numel_(x));
    return QRUN_OK;
}

/* ---- Constant, ConstantOfShape ------------------------------------------- */

static bool sh_supports_constant(const qrun_node *node,
                                 const struct qrun_tensor *const *in,
                                 int n_in,
                                 char *why,
                                 size_t why_cap) {
    const qrun_attr *a = qrun_node_attr(node, "value");
    if (node->op == QRUN_OP_CONSTANT && (!a || a->type != QRUN_ATTR_TENSOR || !a->t)) {
        snprintf(why, why_cap, "only tensor-valued Constant is supported");
        return false;
    }
    if (!a || a->type != QRUN_ATTR_TENSOR || !a->t)
        return true;
    return sh_dtype_ok(a->t->dtype, node->op == QRUN_OP_CONSTANT, why, why_cap);
}

static qrun_status sh_eval_constant(const qrun_kernel_call *call) {
    const qrun_attr *a = qrun_node_attr(call->node, "value");
    struct qrun_tensor *y = call->outputs[0];
    if (!a || !a->t || (a->t->nbytes && !a->t->data) || a->t->nbytes != y->nbytes)
        return qrun_errf(call->err, QRUN_E_MODEL, "Constant: value does not match the output");
    if (y->nbytes)
        memcpy(y->data, a->t->data, y->nbytes);
    return QRUN_OK;
}

static qrun_status sh_eval_constant_of_shape(const qrun_kernel_call *call) {
    const qrun_attr *a = qrun_node_attr(call->node, "value");
    struct qrun_tensor *y = call->outputs[0];
    int64_t n = qrun_tensor_numel_(y);
    if (!a || !a->t) {
        memset(y->data, 0, y->nbytes);
        return QRUN_OK;
    }
    size_t es = sh_esize(y->dtype);
    if (a->t->dtype != y->dtype || !a->t->data || a->t->nbytes < es)
        return qrun_errf(call->err, QRUN_E_MODEL,
                         "ConstantOfShape: value does not match the output");
    sh_fill(y->data, a->t->data, n, es);
    return QRUN_OK;
}

/* ---- Range ---------------------------------------------------------------- */

static bool sh_supports_range(const qrun_node *node,
                              const struct qrun_tensor *const *in,
                              int n_in,
                              char *why,
                              size_t why_cap) {
    qrun_dtype t = n_in > 0 && in[0] ? in[0]->dtype : QRUN_DTYPE_UNDEFINED;
    if (t == QRUN_DTYPE_UNDEFINED)
        return true;
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(t);
    if ((tr->is_integer || tr->is_float) && tr->bits % 8 == 0)
        return true;
    snprintf(why, why_cap, "Range of %s is not supported", tr->name);
    return false;
}

static qrun_status sh_eval_range(const qrun_kernel_call *call) {
    const struct qrun_tensor *st = call->inputs[0], *de = call->inputs[2];
    struct qrun_tensor *y = call->outputs[0];
    int64_t n = qrun_tensor_numel_(y);
    qrun_dtype t = y->dtype;
    if (qrun_dtype_is_integer(t)) {
        /* Unsigned arithmetic: i*delta may wrap even though start + i*delta is in range. */
        uint64_t a = (uint64_t)qrun_dtype_get_i64(t, st->data, 0);
        uint64_t d = (uint64_t)qrun_dtype_get_i64(t, de->data, 0);
        for (int64_t i = 0; i < n; i++)
            qrun_dtype_set_i64(t, y->data, (size_t)i, (int64_t)(a + (uint64_t)i * d));
        return QRUN_OK;
    }
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(t);
    double a = tr->get(st->data, 0), d = tr->get(de->data, 0);
    if (t == QRUN_DTYPE_FLOAT) {
        float *o = y->data;
        for (int64_t i = 0; i < n; i++)
            o[i] = (float)(a + (double)i * d);
        return QRUN_OK;
    }
    for (int64_t i = 0; i < n; i++)
        tr->set(y->data, (size_t)i, a + (double)i * d, false);
    return QRUN_OK;
}

const cpu_ref_kernel cpu_ref_kernels_shape[] = {
    {.op = QRUN_OP_RESHAPE, .supports = sh_supports_bytes, .eval = sh_eval_copy},
    {.op = QRUN_OP_FLATTEN, .supports = sh_supports_bytes, .eval = sh_eval_copy},
    {.op = QRUN_OP_SQUEEZE, .supports = sh_supports_bytes, .eval = sh_eval_copy},
    {.op = QRUN_OP_UNSQUEEZE, .supports = sh_supports_bytes, .eval = sh_eval_copy},
    {.op = QRUN_OP_IDENTITY, .supports = sh_supports_bytes, .eval = sh_eval_copy},
    {.op = QRUN_OP_DROPOUT, .supports = sh_supports_bytes, .eval = sh_eval_dropout},
    {.op = QRUN_OP_TRANSPOSE, .supports = sh_supports_elems, .eval = sh_eval_transpose},
    {.op = QRUN_OP_SLICE, .supports = sh_supports_elems, .eval = sh_eval_slice},
    {.op = QRUN_OP_EXPAND, .supports = sh_supports_elems, .eval = sh_eval_expand},
    {.op = QRUN_OP_TILE, .supports = sh_supports_elems, .eval = sh_eval_tile},
    {.op = QRUN_OP_CONCAT, .supports = sh_supports_elems, .eval = sh_eval_concat},
    {.op = QRUN_OP_SPLIT, .supports = sh_supports_elems, .eval = sh_eval_split},
    {.op = QRUN_OP_SHAPE, .eval = sh_eval_shape},
    {.op = QRUN_OP_SIZE, .eval = sh_eval_size},
    {.op = QRUN_OP_CONSTANT, .supports = sh_supports_constant, .eval = sh_eval_constant},
    {.op = QRUN_OP_CONSTANT_OF_SHAPE,
     .supports = sh_supports_constant,
     .eval = sh_eval_constant_of_shape},
    {.op = QRUN_OP_RANGE, .supports = sh_supports_range, .eval = sh_eval_range},
    {.op = QRUN_OP_UNKNOWN},
};
