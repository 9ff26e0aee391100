/* SPDX-License-Identifier: Apache-2.0 */
/* cpu_ref Resize: nearest/linear/cubic (N-D, separable taps), all coordinate modes, antialias. */
#include "backends/cpu_ref/kernel.h"
#include "runtime/dtype.h"
#include "runtime/shape/movement.h"
#include "runtime/shape/shape_util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Below this many output elements threads cost more than they save. */
#define RZ_PAR_ELEMS ((int64_t)1 << 14)
#define RZ_ALIGN 64

/*
 * Resize is separable: along axis d, output position o reads `taps` input
 * positions idx[o*taps + k] (already clamped to the edge) with weights
 * w[o*taps + k]. An output element is the sum over all tap combinations of
 * the product of weights. Axes that turn out to need one tap are compacted
 * to taps == 1, so a 4-D bilinear resize costs 4 reads per element.
 */
typedef struct rz_axis {
    int64_t taps;
    int64_t *idx;
    float *w;
    unsigned char *outside; /* tf_crop_and_resize: position maps outside the input */
} rz_axis;

typedef struct rz_ctx {
    const qrun_resize_plan *p;
    const struct qrun_tensor *x;
    struct qrun_tensor *y;
    rz_axis ax[QRUN_MAX_RANK];
    int64_t in_strides[QRUN_MAX_RANK];
    int active[QRUN_MAX_RANK];
    int n_active;
    size_t es;
    unsigned char extrap[16]; /* extrapolation value as one element of y's dtype */
} rz_ctx;

/* Taps per output position for a filter of the plan's mode at this scale (ONNX reference
 * footprints). */
static int64_t rz_taps(const qrun_resize_plan *p, float scale) {
    if (p->mode == QRUN_RESIZE_NEAREST)
        return 1;
    if (!p->antialias || scale >= 1.0f)
        return p->mode == QRUN_RESIZE_LINEAR ? 2 : 4;
    float support = p->mode == QRUN_RESIZE_LINEAR ? 1.0f : 2.0f;
    /* A tiny scale gives a huge footprint: cap it (the scratch bound check then refuses it). */
    float start = fmaxf(floorf(-support / scale) + 1.0f, -1.0e9f);
    return 2 - 2 * (int64_t)start;
}

/* Upper bound of rz_taps from dims alone (scratch is sized before values are known). */
static int64_t rz_taps_bound(const qrun_resize_plan *p, int64_t in_n, int64_t out_n) {
    if (p->mode == QRUN_RESIZE_NEAREST)
        return 1;
    if (!p->antialias)
        return 4;
    /* 1/scale <= 2*in/out for every way the output size can be reached. */
    int64_t inv = 2 * in_n / (out_n > 0 ? out_n : 1) + 2;
    return 4 * inv + 4;
}

static float rz_coord(const qrun_resize_plan *p, int d, float x, int64_t in_n, int64_t out_n) {
    /*
     * As the ONNX reference: the "resized length" is scale * in_n, which is
     * not the integer output length when scales do not divide evenly.
     */
    float s = p->scale[d], fin = (float)in_n, fout = (float)p->length[d];
    switch (p->coord) {
    case QRUN_RESIZE_HALF_PIXEL:
        return (x + 0.5f) / s - 0.5f;
    case QRUN_RESIZE_HALF_PIXEL_SYMMETRIC: {
        float adj = (float)out_n / fout, center = fin / 2.0f;
        return center * (1.0f - adj) + (x + 0.5f) / s - 0.5f;
    }
    case QRUN_RESIZE_PYTORCH_HALF_PIXEL:
        return fout > 1.0f ? (x + 0.5f) / s - 0.5f : 0.0f;
    case QRUN_RESIZE_ALIGN_CORNERS:
        return fout == 1.0f ? 0.0f : x * (fin - 1.0f) / (fout - 1.0f);
    case QRUN_RESIZE_ASYMMETRIC:
        return x / s;
    case QRUN_RESIZE_TF_HALF_PIXEL_FOR_NN:
        return (x + 0.5f) / s;
    case QRUN_RESIZE_TF_CROP_AND_RESIZE: {
        float a = p->roi_start[d], b = p->roi_end[d];
        return fout > 1.0f ? a * (fin - 1.0f) + x * (b - a) * (fin - 1.0f) / (fout - 1.0f)
                           : 0.5f * (a + b) * (fin - 1.0f);
    }
    }
    return x;
}

static float rz_nearest(qrun_resize_nearest m, float x, float s) {
    float f = floorf(x);
    switch (m) {
    case QRUN_RESIZE_ROUND_PREFER_FLOOR:
        return x == f + 0.5f ? f : roundf(x);
    case QRUN_RESIZE_ROUND_PREFER_CEIL:
        return x == f + 0.5f ? f + 1.0f : roundf(x);
    case QRUN_RESIZE_FLOOR:
        return f;
    case QRUN_RESIZE_CEIL:
        return ceilf(x);
    case QRUN_RESIZE_SIMPLE:
        return s < 1.0f ? ceilf(x) : truncf(x);
    }
    return f;
}

/* Filter value at distance |t| (already scaled for antialias). */
static float rz_kernel(const qrun_resize_plan *p, float t) {
    t = fabsf(t);
    if (p->mode == QRUN_RESIZE_LINEAR)
        return t < 1.0f ? 1.0f - t : 0.0f;
    float a = p->cubic_a, t2 = t * t, t3 = t2 * t;
    if (t <= 1.0f)
        return (a + 2.0f) * t3 - (a + 3.0f) * t2 + 1.0f;
    if (t < 2.0f)
        return a * t3 - 5.0f * a * t2 + 8.0f * a * t - 4.0f * a;
    return 0.0f;
}

static int64_t rz_clamp(int64_t v, int64_t n) {
    return v < 0 ? 0 : (v >= n ? n - 1 : v);
}

/* Taps of one output position at input coordinate x. */
static void rz_position(const qrun_resize_plan *p,
                        float x,
                        float s,
                        int64_t in_n,
                        int64_t taps,
                        int64_t *idx,
                        float *w) {
    if (p->mode == QRUN_RESIZE_NEAREST) {
        idx[0] = rz_clamp((int64_t)rz_nearest(p->nearest, x, s), in_n);
        w[0] = 1.0f;
        return;
    }
    float f = floorf(x), t = x - f, ss = (p->antialias && s < 1.0f) ? s : 1.0f;
    int64_t base = (int64_t)f, start = 1 - taps / 2;
    float sum = 0.0f;
    for (int64_t k = 0; k < taps; k++) {
        int64_t i = base + start + k;
        float wk = rz_kernel(p, ((float)(start + k) - t) * ss);
        if (p->exclude_outside && (i < 0 || i >= in_n))
            wk = 0.0f;
        idx[k] = rz_clamp(i, in_n);
        w[k] = wk;
        sum += wk;
    }
    /* The reference normalises antialiased and exclude_outside filters only. */
    if ((ss < 1.0f || p->exclude_outside) && sum != 0.0f) {
        for (int64_t k = 0; k < taps; k++)
            w[k] /= sum;
    }
}

/* Compact an axis whose every position has at most one non-zero weight to one tap. */
static void rz_axis_compact(rz_axis *a, int64_t out_n) {
    int64_t T = a->taps;
    if (T == 1)
        return;
    for (int64_t o = 0; o < out_n; o++) {
        int nz = 0;
        for (int64_t k = 0; k < T; k++)
            nz += a->w[o * T + k] != 0.0f;
        if (nz > 1)
            return;
    }
    for (int64_t o = 0; o < out_n; o++) {
        int64_t keep = 0;
        for (int64_t k = 0; k < T; k++) {
            if (a->w[o * T + k] != 0.0f)
                keep = k;
        }
        a->idx[o] = a->idx[o * T + keep];
        a->w[o] = a->w[o * T + keep];
    }
    a->taps = 1;
}

static void
rz_axis_build(const qrun_resize_plan *p, int d, int64_t in_n, int64_t out_n, rz_axis *a) {
    float s = p->scale[d];
    int64_t T = a->taps;
    /* Beyond this margin every tap sits on the same edge: clamping x keeps the float-to-int casts
     * defined. */
    float lo = -(float)(T + 2), hi = (float)(in_n + T + 2);
    for (int64_t o = 0; o < out_n; o++) {
        float x = rz_coord(p, d, (float)o, in_n, out_n);
        a->outside[o] =
            p->coord == QRUN_RESIZE_TF_CROP_AND_RESIZE && (x < 0.0f || x > (float)(in_n - 1));
        x = fmaxf(lo, fminf(x, hi));
        rz_position(p, x, s, in_n, T, a->idx + o * T, a->w + o * T);
    }
    rz_axis_compact(a, out_n);
}

static size_t rz_round_up(size_t n) {
    return (n + RZ_ALIGN - 1) & ~(size_t)(RZ_ALIGN - 1);
}

static size_t rz_axis_bytes(int64_t out_n, int64_t taps) {
    size_t n = (size_t)out_n, t = (size_t)taps;
    return rz_round_up(n * t * sizeof(int64_t)) + rz_round_up(n * t * sizeof(float)) +
           rz_round_up(n);
}

/* Attributes only: scratch is sized when the scales may not be known yet. */
static size_t rz_scratch(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0], *y = call->outputs[0];
    qrun_resize_plan p = {.mode = QRUN_RESIZE_LINEAR};
    if (strcmp(qrun_node_attr_string(call->node, "mode", "nearest"), "nearest") == 0)
        p.mode = QRUN_RESIZE_NEAREST;
    p.antialias = qrun_node_attr_int(call->node, "antialias", 0) != 0;
    size_t n = 0;
    for (int d = 0; d < y->rank; d++)
        n += rz_axis_bytes(y->dims[d], rz_taps_bound(&p, x->dims[d], y->dims[d]));
    return n;
}

static bool rz_supports(const qrun_node *node,
                        const struct qrun_tensor *const *in,
                        int n_in,
                        char *why,
                        size_t why_cap) {
    qrun_dtype t = n_in > 0 && in[0] ? in[0]->dtype : QRUN_DTYPE_UNDEFINED;
    if (t == QRUN_DTYPE_UNDEFINED)
        return true;
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(t);
    if (tr->bits >= 8 && tr->bits <= 64 && tr->bits % 8 == 0 && tr->get &&
        (tr->is_float || tr->is_integer))
        return true;
    snprintf(why, why_cap, "Resize of %s is not supported", tr->name);
    return false;
}

/* Interpolated value at output coordinates co (float path for FLOAT, traits otherwise). */
static double rz_point(const rz_ctx *c, const int64_t *co, bool f32) {
    int rank = c->p->rank;
    int64_t base = 0;
    double wb = 1.0;
    for (int d = 0; d < rank; d++) {
        const rz_axis *a = &c->ax[d];
        if (a->taps == 1) {
            base += a->idx[co[d]] * c->in_strides[d];
            wb *= a->w[co[d]];
        }
    }
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(c->x->dtype);
    int64_t k[QRUN_MAX_RANK] = {0};
    double acc = 0.0;
    for (;;) {
        int64_t off = base;
        double w = wb;
        for (int i = 0; i < c->n_active; i++) {
            const rz_axis *a = &c->ax[c->active[i]];
            int64_t j = co[c->active[i]] * a->taps + k[i];
            off += a->idx[j] * c->in_strides[c->active[i]];
            w *= a->w[j];
        }
        if (w != 0.0)
            acc += w * (f32 ? (double)((const float *)c->x->data)[off]
                            : tr->get(c->x->data, (size_t)off));
        int i = c->n_active - 1;
        while (i >= 0 && ++k[i] == c->ax[c->active[i]].taps) {
            k[i] = 0;
            i--;
        }
        if (i < 0)
            break;
    }
    return acc;
}

static void rz_element(const rz_ctx *c, const int64_t *co, int64_t o) {
    char *dst = (char *)c->y->data + o * (int64_t)c->es;
    for (int d = 0; d < c->p->rank; d++) {
        if (c->ax[d].outside[co[d]]) {
            memcpy(dst, c->extrap, c->es);
            return;
        }
    }
    if (c->p->mode == QRUN_RESIZE_NEAREST) {
        int64_t off = 0;
        for (int d = 0; d < c->p->rank; d++)
            off += c->ax[d].idx[co[d]] * c->in_strides[d];
        memcpy(dst, (const char *)c->x->data + off * (int64_t)c->es, c->es);
        return;
    }
    bool f32 = c->x->dtype == QRUN_DTYPE_FLOAT;
    double v = rz_point(c, co, f32);
    if (f32) {
        float fv = (float)v;
        memcpy(dst, &fv, sizeof fv);
        return;
    }
    qrun_dtype_traits_get(c->y->dtype)->set(c->y->data, (size_t)o, v, true);
}

static void rz_rows(const rz_ctx *c, int64_t r0, int64_t r1) {
    int rank = c->p->rank;
    int64_t inner = c->p->dims[rank - 1];
    int64_t co[QRUN_MAX_RANK];
    for (int64_t r = r0; r < r1; r++) {
        int64_t rem = r;
        for (int d = rank - 2; d >= 0; d--) {
            co[d] = rem % c->p->dims[d];
            rem /= c->p->dims[d];
        }
        for (int64_t j = 0; j < inner; j++) {
            co[rank - 1] = j;
            rz_element(c, co, r * inner + j);
        }
    }
}

static qrun_status rz_prepare(const qrun_kernel_call *call, rz_ctx *c, const qrun_resize_plan *p) {
    const struct qrun_tensor *x = call->inputs[0];
    char *m = call->scratch;
    size_t used = 0;
    for (int d = 0; d < p->rank; d++) {
        rz_axis *a = &c->ax[d];
        a->taps = rz_taps(p, p->scale[d]);
        size_t need = rz_axis_bytes(p->dims[d], a->taps);
        if (a->taps > rz_taps_bound(p, x->dims[d], p->dims[d]) || used + need > call->scratch_bytes)
            return qrun_errf(call->err, QRUN_E_INTERNAL, "Resize: scratch too small");
        size_t n = (size_t)p->dims[d], t = (size_t)a->taps;
        a->idx = (int64_t *)(void *)(m + used);
        a->w = (float *)(void *)(m + used + rz_round_up(n * t * sizeof(int64_t)));
        a->outside = (unsigned char *)(m + used + rz_round_up(n * t * sizeof(int64_t)) +
                                       rz_round_up(n * t * sizeof(float)));
        used += need;
        rz_axis_build(p, d, x->dims[d], p->dims[d], a);
        if (a->taps > 1)
            c->active[c->n_active++] = d;
    }
    qrun_shape_strides(x->rank, x->dims, c->in_strides);
    memset(c->extrap, 0, sizeof c->extrap);
    qrun_dtype_traits_get(x->dtype)->set(c->extrap, 0, p->extrapolation, true);
    return QRUN_OK;
}

static qrun_status rz_eval(const qrun_kernel_call *call) {
    const struct qrun_tensor *x = call->inputs[0];
    struct qrun_tensor *y = call->outputs[0];
    qrun_resize_plan p;
    bool need = false;
    qrun_status s =
        qrun_resize_plan_make(call->node, call->inputs, call->n_inputs, &p, &need, call->err);
    if (s)
        return s;
    if (need || !p.roi_known)
        return qrun_errf(call->err, QRUN_E_INTERNAL, "Resize: parameters unknown at run time");
    int64_t numel = qrun_tensor_numel_(y);
    if (numel == 0)
        return QRUN_OK;
    if (p.rank == 0 || qrun_tensor_numel_(x) == 0)
        return qrun_errf(call->err, QRUN_E_MODEL, "Resize: empty or scalar input");
    rz_ctx c = {.p = &p, .x = x, .y = y, .es = qrun_dtype_traits_get(x->dtype)->bits / 8};
    if ((s = rz_prepare(call, &c, &p)))
        return s;
    int64_t rows = numel / p.dims[p.rank - 1];
    int nt = numel >= RZ_PAR_ELEMS ? call->n_threads : 1;
#pragma omp parallel for num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < rows; r++)
        rz_rows(&c, r, r + 1);
    return QRUN_OK;
}

const cpu_ref_kernel cpu_ref_kernels_resize[] = {
    {.op = QRUN_OP_RESIZE, .supports = rz_supports, .scratch_bytes = rz_scratch, .eval = rz_eval},
    {.op = QRUN_OP_UNKNOWN},
};
