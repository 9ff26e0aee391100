/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fast integer paths of cpu_ref (ops/qgemm_s16.c micro-kernels, packed
 * columns from padded planes, pointwise packing, the direct depthwise kernel
 * in its row and flat forms, the fused requantization epilogue, packed
 * matmul operands) and the vectorised row kernels of runtime/quant.h, on
 * random shapes against scalar references and against each other, bit for bit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "backends/cpu_ref/ops/qgemm_s16.h"
#include "tests/support/kernel_runner.h"

#include "runtime/dtype.h"
#include "runtime/quant.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint32_t g_rng = 12345u;

static int t_randint(int lo, int hi) {
    g_rng = g_rng * 1664525u + 1013904223u;
    return lo + (int)((g_rng >> 8) % (uint32_t)(hi - lo + 1));
}

static void t_fill(struct qrun_tensor *t, int lo, int hi) {
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(t->dtype);
    for (int64_t i = 0; i < qrun_tensor_numel_(t); i++)
        tr->set(t->data, (size_t)i, (double)t_randint(lo, hi), true);
}

/* Bytes of an 8-bit or int32 result. */
static size_t t_nbytes(const struct qrun_tensor *t) {
    return (size_t)qrun_tensor_numel_(t) * (t->dtype == QRUN_DTYPE_INT32 ? 4 : 1);
}

static void t_fill8(struct qrun_tensor *t) {
    bool u = t->dtype == QRUN_DTYPE_UINT8;
    t_fill(t, u ? 0 : -128, u ? 255 : 127);
}

/* ---- micro-kernels ------------------------------------------------------------ */

/* The CPU's micro-kernel (AVX2 or SSE2 on x86) against the portable C one, extreme values too. */
static void test_gemm_kernels_agree(void **state) {
    (void)state;
    enum { KP = 37 };
    static int16_t a[KP * QG_MR * 2], b[KP * QG_NR * 2];
    for (int round = 0; round < 20; round++) {
        int lim = round < 10 ? 255 : 32767;
        for (size_t i = 0; i < sizeof a / sizeof a[0]; i++)
            a[i] = (int16_t)t_randint(-lim, lim);
        for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
            b[i] = (int16_t)t_randint(-lim, lim);
        for (int kp = 1; kp <= KP; kp += 9)
            assert_true(qg_kernel_selftest(a, b, kp));
    }
}

/* Depthwise tap-pair kernels (AVX2, AVX-512 VNNI) against the portable C one, with tails. */
static void test_dw_kernels_agree(void **state) {
    (void)state;
    enum { NP = 400 };
    static int16_t p[2 * NP];
    static int32_t scratch[2 * NP];
    int64_t off[9];
    int32_t w[9];
    for (int round = 0; round < 20; round++) {
        int lim = round < 10 ? 255 : 32767;
        for (int i = 0; i < 2 * NP; i++)
            p[i] = (int16_t)t_randint(-lim, lim);
        for (int t = 0; t < 9; t++) {
            off[t] = t_randint(0, 60);
            int16_t two[2] = {(int16_t)t_randint(-lim, lim), (int16_t)t_randint(-lim, lim)};
            memcpy(&w[t], two, sizeof two);
        }
        int64_t n = t_randint(1, NP - 60 - QG_DW_CHUNK);
        assert_true(qg_dw_selftest(p, off, w, 1 + round % 9, n, scratch));
    }
}

/* ---- convolution -------------------------------------------------------------- */

typedef struct fconv {
    int nsp; /* spatial dims, 1 to 3 */
    int64_t n, c, m, group;
    int64_t in[3], k[3], s[3], d[3], pb[3], pe[3];
    bool per_ch, bias, qlinear;
    qrun_dtype xt, wt, yt;
    qrun_requant_mode mode;
} fconv;

/* The tensors of one conv case (inputs in QLinearConv order; ConvInteger uses x, w, xzp, wzp). */
typedef struct fconv_io {
    struct qrun_tensor *x, *xs, *xzp, *w, *ws, *wzp, *ys, *yzp, *b;
} fconv_io;

static int64_t fc_out(const fconv *f, int d) {
    return (f->in[d] + f->pb[d] + f->pe[d] - f->d[d] * (f->k[d] - 1) - 1) / f->s[d] + 1;
}

static void fc_make(const fconv *f, fconv_io *io) {
    int64_t xd[5] = {f->n, f->c}, wd[5] = {f->m, f->c / f->group}, md[1] = {f->m};
    for (int d = 0; d < f->nsp; d++) {
        xd[2 + d] = f->in[d];
        wd[2 + d] = f->k[d];
    }
    const int64_t qd[1] = {f->per_ch ? f->m : 1};
    io->x = kr_tensor_new(f->xt, 2 + f->nsp, xd);
    io->w = kr_tensor_new(f->wt, 2 + f->nsp, wd);
    io->xzp = kr_tensor_new(f->xt, 0, NULL);
    io->wzp = kr_tensor_new(f->wt, 1, qd);
    io->xs = kr_tensor_new(QRUN_DTYPE_FLOAT, 0, NULL);
    io->ws = kr_tensor_new(QRUN_DTYPE_FLOAT, 1, qd);
    io->ys = kr_tensor_new(QRUN_DTYPE_FLOAT, 0, NULL);
    io->yzp = kr_tensor_new(f->yt, 0, NULL);
    io->b = f->bias ? kr_tensor_new(QRUN_DTYPE_INT32, 1, md) : NULL;
    t_fill8(io->x);
    t_fill8(io->w);
    t_fill8(io->xzp);
    t_fill8(io->wzp);
    t_fill8(io->yzp);
    ((float *)io->xs->data)[0] = 0.02f;
    for (int64_t i = 0; i < qd[0]; i++)
        ((float *)io->ws->data)[i] = 0.0005f * (float)t_randint(1, 40);
    ((float *)io->ys->data)[0] = 0.05f * (float)t_randint(1, 20);
    if (io->b)
        t_fill(io->b, -30000, 30000);
}

static void fc_free(fconv_io *io) {
    struct qrun_tensor *all[9] = {io->x,   io->xs, io->xzp, io->w, io->ws,
                                  io->wzp, io->ys, io->yzp, io->b};
    for (int i = 0; i < 9; i++)
        kr_tensor_free(all[i]);
}

static void fc_node(const fconv *f, kr_node *tn) {
    if (f->qlinear)
        kr_node_init(tn, QRUN_OP_QLINEAR_CONV, 10, f->bias ? 9 : 8, 1);
    else
        kr_node_init(tn, QRUN_OP_CONV_INTEGER, 10, 4, 1);
    int64_t pads[6], strides[3], dil[3];
    for (int d = 0; d < f->nsp; d++) {
        pads[d] = f->pb[d];
        pads[f->nsp + d] = f->pe[d];
        strides[d] = f->s[d];
        dil[d] = f->d[d];
    }
    kr_ints(tn, "pads", 2 * f->nsp, pads);
    kr_ints(tn, "strides", f->nsp, strides);
    kr_ints(tn, "dilations", f->nsp, dil);
    kr_int(tn, "group", f->group);
    tn->requant = f->mode;
}

static void fc_inputs(const fconv *f, const fconv_io *io, const struct qrun_tensor **in) {
    if (f->qlinear) {
        const struct qrun_tensor *v[9] = {io->x,   io->xs, io->xzp, io->w, io->ws,
                                          io->wzp, io->ys, io->yzp, io->b};
        memcpy(in, v, sizeof v);
    } else {
        const struct qrun_tensor *v[4] = {io->x, io->w, io->xzp, io->wzp};
        memcpy(in, v, sizeof v);
    }
}

/* Direct N-D convolution in int64 and qrun_requantize (the scalar form of every mode). */
static double fc_ref(const fconv *f, const fconv_io *io, int64_t bi, int64_t m, const int64_t *o) {
    int64_t cg = f->c / f->group, g = m / (f->m / f->group), q = f->per_ch ? m : 0;
    int64_t kk = 1, insp = 1;
    for (int d = 0; d < f->nsp; d++) {
        kk *= f->k[d];
        insp *= f->in[d];
    }
    double xz = kr_get(io->xzp, 0), wz = kr_get(io->wzp, q);
    int64_t acc = io->b ? ((int32_t *)io->b->data)[m] : 0;
    for (int64_t ci = 0; ci < cg; ci++) {
        for (int64_t t = 0; t < kk; t++) {
            int64_t rem = t, off = 0, mul = 1;
            bool inside = true;
            for (int d = f->nsp - 1; d >= 0; d--) {
                int64_t kd = rem % f->k[d];
                rem /= f->k[d];
                int64_t i = o[d] * f->s[d] - f->pb[d] + kd * f->d[d];
                inside = inside && i >= 0 && i < f->in[d];
                off += i * mul;
                mul *= f->in[d];
            }
            if (!inside)
                continue;
            double xv = kr_get(io->x, (bi * f->c + g * cg + ci) * insp + off);
            double wv = kr_get(io->w, (m * cg + ci) * kk + t);
            acc += (int64_t)((xv - xz) * (wv - wz));
        }
    }
    if (!f->qlinear)
        return (double)acc;
    qrun_requant rq;
    double mult = qrun_requant_multiplier(kr_get(io->xs, 0), kr_get(io->ws, q), kr_get(io->ys, 0),
                                          QRUN_DTYPE_FLOAT);
    assert_int_equal(qrun_requant_init(&rq, mult, f->mode, NULL), QRUN_OK);
    int32_t qmin, qmax;
    qrun_quant_int_range(f->yt, &qmin, &qmax);
    return (double)qrun_requantize(&rq, (int32_t)acc, (int32_t)kr_get(io->yzp, 0), qmin, qmax);
}

static void fc_check(const fconv *f, const fconv_io *io, const struct qrun_tensor *y) {
    int64_t osp = 1, od[3] = {1, 1, 1};
    for (int d = 0; d < f->nsp; d++) {
        od[d] = fc_out(f, d);
        osp *= od[d];
        assert_int_equal(y->dims[2 + d], od[d]);
    }
    for (int64_t bi = 0; bi < f->n; bi++) {
        for (int64_t m = 0; m < f->m; m++) {
            for (int64_t s = 0; s < osp; s++) {
                int64_t o[3], rem = s;
                for (int d = f->nsp - 1; d >= 0; d--) {
                    o[d] = rem % od[d];
                    rem /= od[d];
                }
                int64_t at = (bi * f->m + m) * osp + s;
                double want = fc_ref(f, io, bi, m, o), got = kr_get(y, at);
                if (got != want)
                    fail_msg("conv c=%lld m=%lld g=%lld: y[%lld] = %g, want %g", (long long)f->c,
                             (long long)f->m, (long long)f->group, (long long)at, got, want);
            }
        }
    }
}

/* Run with every thread count, and with the weights and scales as run-time values. */
static void fc_run(const fconv *f) {
    fconv_io io;
    fc_make(f, &io);
    kr_node tn;
    fc_node(f, &tn);
    const struct qrun_tensor *in[9] = {0};
    fc_inputs(f, &io, in);
    qrun_err err = {{0}};
    struct qrun_tensor *y1 = NULL;
    for (int nt = 1; nt <= 3; nt++) {
        struct qrun_tensor *out[1] = {NULL};
        assert_int_equal(kr_run_new(&tn, in, out, nt, &err), QRUN_OK);
        if (nt == 1) {
            fc_check(f, &io, out[0]);
            y1 = out[0];
            continue;
        }
        assert_memory_equal(out[0]->data, y1->data, t_nbytes(y1));
        kr_tensor_free(out[0]);
    }
    /* W (and for QLinearConv the scales) unknown at prepare: packed and requantized per run. */
    struct qrun_tensor *y = kr_tensor_new(y1->dtype, y1->rank, y1->dims);
    struct qrun_tensor *outs[1] = {y};
    unsigned unknown = f->qlinear ? (1u << 3) | (1u << 4) | (1u << 1) : (1u << 1);
    assert_int_equal(kr_eval_unknown(&tn, in, outs, 2, unknown, &err), QRUN_OK);
    assert_memory_equal(y->data, y1->data, t_nbytes(y1));
    kr_tensor_free(y);
    kr_tensor_free(y1);
    fc_free(&io);
}

static qrun_dtype t_type8(void) {
    return t_randint(0, 1) ? QRUN_DTYPE_UINT8 : QRUN_DTYPE_INT8;
}

/* A random conv of nsp spatial dims; kind 0: generic, 1: depthwise, 2: pointwise. */
static fconv fc_random(int nsp, int kind) {
    fconv f = {.nsp = nsp,
               .n = t_randint(1, 2),
               .per_ch = t_randint(0, 1),
               .bias = t_randint(0, 1),
               .qlinear = t_randint(0, 3) != 0,
               .xt = t_type8(),
               .wt = t_type8(),
               .yt = t_type8(),
               .mode = t_randint(0, 3) == 0 ? QRUN_REQUANT_FIXED : QRUN_REQUANT_FLOAT};
    f.bias = f.bias && f.qlinear;
    for (int d = 0; d < nsp; d++) {
        f.in[d] = t_randint(1, nsp == 3 ? 6 : kind == 1 && d == nsp - 1 ? 70 : 13);
        f.k[d] = kind == 2 ? 1 : t_randint(1, 4);
        f.s[d] = kind == 2 ? 1 : t_randint(1, 3);
        f.d[d] = kind == 2 ? 1 : t_randint(1, 2);
        f.pb[d] = kind == 2 ? 0 : t_randint(0, 2);
        f.pe[d] = kind == 2 ? 0 : t_randint(0, 2);
        /* the (dilated) kernel must fit in the padded input */
        while (f.d[d] * (f.k[d] - 1) + 1 > f.in[d] + f.pb[d] + f.pe[d])
            f.in[d]++;
    }
    if (kind == 1) {
        f.c = f.m = f.group = t_randint(2, 9);
    } else {
        f.group = t_randint(0, 3) == 0 ? t_randint(2, 3) : 1;
        f.c = f.group * t_randint(1, 7);
        f.m = f.group * t_randint(1, 9);
    }
    return f;
}

static void test_conv_random(void **state) {
    (void)state;
    for (int i = 0; i < 60; i++) {
        fconv f = fc_random(1 + i % 2, i % 3);
        fc_run(&f);
    }
    for (int i = 0; i < 6; i++) {
        fconv f = fc_random(3, i % 3);
        fc_run(&f);
    }
}

/* Shapes that reach each fast path's edges: tile tails, odd K, flat and chunked depthwise. */
static void test_conv_edges(void **state) {
    (void)state;
    static const fconv cases[] = {
        /* pointwise, K odd, N not a multiple of the 16-column panel, M not of the 4-row block */
        {.nsp = 2, .n = 1, .c = 7, .m = 5, .group = 1, .in = {3, 7}, .k = {1, 1}},
        /* 3x3 stride 1 pad 1 (ResNet) and stride 2 (phases), 32 wide */
        {.nsp = 2,
         .n = 1,
         .c = 16,
         .m = 16,
         .group = 1,
         .in = {9, 32},
         .k = {3, 3},
         .pb = {1, 1},
         .pe = {1, 1}},
        {.nsp = 2,
         .n = 1,
         .c = 8,
         .m = 12,
         .group = 1,
         .in = {9, 33},
         .k = {3, 3},
         .s = {2, 2},
         .pb = {1, 1},
         .pe = {1, 1}},
        /* depthwise: narrow rows (flat sums), wide rows (chunks and a tail), stride 2, dilation */
        {.nsp = 2,
         .n = 1,
         .c = 6,
         .m = 6,
         .group = 6,
         .in = {25, 5},
         .k = {3, 3},
         .pb = {1, 1},
         .pe = {1, 1}},
        {.nsp = 2,
         .n = 2,
         .c = 4,
         .m = 4,
         .group = 4,
         .in = {5, 67},
         .k = {3, 3},
         .pb = {1, 1},
         .pe = {1, 1}},
        {.nsp = 2,
         .n = 1,
         .c = 3,
         .m = 3,
         .group = 3,
         .in = {12, 40},
         .k = {3, 3},
         .s = {2, 2},
         .pb = {0, 1},
         .pe = {1, 0}},
        {.nsp = 2,
         .n = 1,
         .c = 3,
         .m = 3,
         .group = 3,
         .in = {11, 11},
         .k = {3, 3},
         .d = {2, 3},
         .pb = {2, 2},
         .pe = {2, 2}},
        /* depthwise 1-D and a kernel larger than the direct kernel takes (GEMM path) */
        {.nsp = 1, .n = 1, .c = 5, .m = 5, .group = 5, .in = {50}, .k = {5}, .pb = {2}, .pe = {2}},
        {.nsp = 2,
         .n = 1,
         .c = 2,
         .m = 2,
         .group = 2,
         .in = {9, 9},
         .k = {9, 9},
         .pb = {4, 4},
         .pe = {4, 4}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fconv f = cases[i];
        for (int d = 0; d < f.nsp; d++) {
            f.s[d] = f.s[d] ? f.s[d] : 1;
            f.d[d] = f.d[d] ? f.d[d] : 1;
        }
        for (int v = 0; v < 4; v++) {
            f.qlinear = v != 3;
            f.bias = v == 0;
            f.per_ch = v & 1;
            f.xt = v & 1 ? QRUN_DTYPE_INT8 : QRUN_DTYPE_UINT8;
            f.wt = v & 2 ? QRUN_DTYPE_UINT8 : QRUN_DTYPE_INT8;
            f.yt = v == 1 ? QRUN_DTYPE_INT8 : QRUN_DTYPE_UINT8;
            f.mode = v == 2 ? QRUN_REQUANT_FIXED : QRUN_REQUANT_FLOAT;
            fc_run(&f);
        }
    }
}

/*
 * The direct depthwise kernel against the GEMM path bit for bit: each channel
 * run alone as a one-group conv (which packs columns and multiplies) must give
 * the depthwise node's plane.
 */
static void test_depthwise_matches_gemm(void **state) {
    (void)state;
    for (int i = 0; i < 12; i++) {
        fconv f = fc_random(2, 1);
        f.qlinear = true;
        f.bias = true;
        f.n = 1;
        fconv_io io;
        fc_make(&f, &io);
        kr_node tn;
        fc_node(&f, &tn);
        const struct qrun_tensor *in[9] = {0};
        fc_inputs(&f, &io, in);
        qrun_err err = {{0}};
        struct qrun_tensor *out[1] = {NULL};
        assert_int_equal(kr_run_new(&tn, in, out, 1, &err), QRUN_OK);
        fconv one = f;
        one.c = one.m = one.group = 1;
        one.per_ch = false;
        int64_t plane = qrun_tensor_numel_(out[0]) / f.m, insp = f.in[0] * f.in[1];
        for (int64_t ch = 0; ch < f.m; ch++) {
            fconv_io o1;
            fc_make(&one, &o1);
            int64_t q = f.per_ch ? ch : 0;
            memcpy(o1.x->data, (uint8_t *)io.x->data + ch * insp, (size_t)insp);
            memcpy(o1.w->data, (uint8_t *)io.w->data + ch * f.k[0] * f.k[1],
                   (size_t)(f.k[0] * f.k[1]));
            ((uint8_t *)o1.wzp->data)[0] = ((uint8_t *)io.wzp->data)[q];
            ((float *)o1.ws->data)[0] = ((float *)io.ws->data)[q];
            memcpy(o1.xzp->data, io.xzp->data, 1);
            memcpy(o1.yzp->data, io.yzp->data, 1);
            memcpy(o1.ys->data, io.ys->data, sizeof(float));
            ((int32_t *)o1.b->data)[0] = ((int32_t *)io.b->data)[ch];
            kr_node t1;
            fc_node(&one, &t1);
            const struct qrun_tensor *in1[9] = {0};
            fc_inputs(&one, &o1, in1);
            struct qrun_tensor *y1[1] = {NULL};
            assert_int_equal(kr_run_new(&t1, in1, y1, 1, &err), QRUN_OK);
            assert_memory_equal(y1[0]->data, (uint8_t *)out[0]->data + ch * plane, (size_t)plane);
            kr_tensor_free(y1[0]);
            fc_free(&o1);
        }
        kr_tensor_free(out[0]);
        fc_free(&io);
    }
}

/* ---- matrix products ---------------------------------------------------------- */

/* QLinearMatMul / MatMulInteger with batch broadcast, per-column b parameters, odd sizes. */
static void test_matmul_random(void **state) {
    (void)state;
    for (int it = 0; it < 24; it++) {
        bool ql = it % 3 != 0, batched = it % 2;
        int64_t bt = batched ? t_randint(1, 3) : 1, m = t_randint(1, 9), k = t_randint(1, 40),
                n = t_randint(1, 37);
        int64_t ad[3] = {bt, m, k}, bd[2] = {k, n}, nd[1] = {n};
        qrun_dtype at = t_type8(), btp = t_type8(), yt = t_type8();
        struct qrun_tensor *a = kr_tensor_new(at, batched ? 3 : 2, batched ? ad : ad + 1);
        struct qrun_tensor *b = kr_tensor_new(btp, 2, bd);
        struct qrun_tensor *azp = kr_tensor_new(at, 0, NULL), *bzp = kr_tensor_new(btp, 1, nd);
        struct qrun_tensor *as = kr_tensor_new(QRUN_DTYPE_FLOAT, 0, NULL),
                           *bs = kr_tensor_new(QRUN_DTYPE_FLOAT, 1, nd),
                           *ys = kr_tensor_new(QRUN_DTYPE_FLOAT, 0, NULL),
                           *yzp = kr_tensor_new(yt, 0, NULL);
        t_fill8(a);
        t_fill8(b);
        t_fill8(azp);
        t_fill8(bzp);
        t_fill8(yzp);
        ((float *)as->data)[0] = 0.03f;
        for (int64_t j = 0; j < n; j++)
            ((float *)bs->data)[j] = 0.001f * (float)t_randint(1, 30);
        ((float *)ys->data)[0] = 0.1f * (float)t_randint(1, 10);
        kr_node tn;
        const struct qrun_tensor *in[8];
        if (ql) {
            kr_node_init(&tn, QRUN_OP_QLINEAR_MATMUL, 10, 8, 1);
            const struct qrun_tensor *v[8] = {a, as, azp, b, bs, bzp, ys, yzp};
            memcpy(in, v, sizeof v);
        } else {
            kr_node_init(&tn, QRUN_OP_MATMUL_INTEGER, 10, 4, 1);
            const struct qrun_tensor *v[4] = {a, b, azp, bzp};
            memcpy(in, v, sizeof v);
        }
        qrun_err err = {{0}};
        struct qrun_tensor *out[1] = {NULL};
        assert_int_equal(kr_run_new(&tn, in, out, 2, &err), QRUN_OK);
        struct qrun_tensor *y = out[0];
        int32_t qmin, qmax;
        qrun_quant_int_range(yt, &qmin, &qmax);
        for (int64_t t = 0; t < bt; t++) {
            for (int64_t i = 0; i < m; i++) {
                for (int64_t j = 0; j < n; j++) {
                    int64_t acc = 0;
                    for (int64_t kk = 0; kk < k; kk++)
                        acc += (int64_t)(kr_get(a, (t * m + i) * k + kk) - kr_get(azp, 0)) *
                               (int64_t)(kr_get(b, kk * n + j) - kr_get(bzp, j));
                    double want = (double)acc;
                    if (ql) {
                        qrun_requant rq;
                        double mult = qrun_requant_multiplier(0.03, kr_get(bs, j), kr_get(ys, 0),
                                                              QRUN_DTYPE_FLOAT);
                        assert_int_equal(qrun_requant_init(&rq, mult, QRUN_REQUANT_FLOAT, NULL),
                                         QRUN_OK);
                        want =
                            qrun_requantize(&rq, (int32_t)acc, (int32_t)kr_get(yzp, 0), qmin, qmax);
                    }
                    assert_true(kr_get(y, (t * m + i) * n + j) == want);
                }
            }
        }
        /* B unknown at prepare: packed per run, same bytes. */
        struct qrun_tensor *y2 = kr_tensor_new(y->dtype, y->rank, y->dims);
        struct qrun_tensor *outs[1] = {y2};
        assert_int_equal(kr_eval_unknown(&tn, in, outs, 1, ql ? 1u << 3 : 1u << 1, &err), QRUN_OK);
        assert_memory_equal(y2->data, y->data, t_nbytes(y));
        struct qrun_tensor *all[10] = {a, b, azp, bzp, as, bs, ys, yzp, y, y2};
        for (int i = 0; i < 10; i++)
            kr_tensor_free(all[i]);
    }
}

/* ---- row kernels of runtime/quant.h -------------------------------------------- */

static float t_float_special(int i) {
    static const float sp[] = {0.0f,   -0.0f, 0.5f,   1.5f,     2.5f,      -2.5f, 127.5f,
                               128.5f, 1e30f, -1e30f, INFINITY, -INFINITY, NAN,   254.5f};
    int ns = (int)(sizeof sp / sizeof sp[0]);
    if (i < ns)
        return sp[i];
    return (float)t_randint(-400000, 400000) / 997.0f;
}

static void test_quantize_row(void **state) {
    (void)state;
    enum { N = 1000 };
    static float x[N];
    uint8_t y[N];
    for (int i = 0; i < N; i++)
        x[i] = t_float_special(i);
    static const float scales[] = {1.0f, 0.5f, 0.1f, 3.0f, 1e-30f, 0.0f};
    for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++) {
        for (int u = 0; u < 2; u++) {
            int32_t qmin = u ? 0 : -128, qmax = u ? 255 : 127;
            int32_t zp = u ? t_randint(0, 255) : t_randint(-128, 127);
            qrun_quantize_row_f32(x, N, scales[si], zp, qmin, qmax, y);
            for (int i = 0; i < N; i++) {
                int32_t want = qrun_quantize_int((double)(x[i] / scales[si]), zp, qmin, qmax);
                assert_int_equal(y[i], (uint8_t)want);
            }
        }
    }
}

static void test_dequantize_row(void **state) {
    (void)state;
    uint8_t x[300];
    float y[300];
    for (int i = 0; i < 300; i++)
        x[i] = (uint8_t)t_randint(0, 255);
    for (int u = 0; u < 2; u++) {
        int32_t zp = u ? t_randint(0, 255) : t_randint(-128, 127);
        float s = 0.0173f;
        qrun_dequantize_row_8bit(x, !u, 300, zp, s, y);
        for (int i = 0; i < 300; i++) {
            float xv = u ? (float)x[i] : (float)(int8_t)x[i];
            assert_true(y[i] == qrun_dequantize(xv, (float)zp, s));
        }
    }
}

static void test_requantize_row(void **state) {
    (void)state;
    enum { N = 517 };
    static int32_t acc[N];
    uint8_t y[N];
    for (int i = 0; i < N; i++)
        acc[i] = i < 4 ? (int32_t[]){INT32_MAX, INT32_MIN, 0, -1}[i] : t_randint(-2000000, 2000000);
    static const double mults[] = {0.0003, 0.0125, 1.0, 7.5, 1e-12, 3e38};
    for (size_t mi = 0; mi < sizeof mults / sizeof mults[0]; mi++) {
        for (int mode = 0; mode < 2; mode++) {
            qrun_requant rq;
            qrun_requant_mode md = mode ? QRUN_REQUANT_FIXED : QRUN_REQUANT_FLOAT;
            if (qrun_requant_init(&rq, mults[mi], md, NULL) != QRUN_OK)
                continue;
            for (int u = 0; u < 2; u++) {
                int32_t qmin = u ? 0 : -128, qmax = u ? 255 : 127;
                int32_t zp = u ? t_randint(0, 255) : t_randint(-128, 127);
                int32_t bias = t_randint(-5000, 5000);
                qrun_requantize_row(&rq, acc, bias, N, zp, qmin, qmax, y);
                for (int i = 0; i < N; i++) {
                    int32_t a = (int32_t)((uint32_t)acc[i] + (uint32_t)bias);
                    assert_int_equal(y[i], (uint8_t)qrun_requantize(&rq, a, zp, qmin, qmax));
                }
            }
        }
    }
}

/* Tile rows of 16 (the conv epilogue) against qrun_requantize, one multiplier and bias per row. */
static void test_requantize_rows16(void **state) {
    (void)state;
    enum { ROWS = 4, LDY = 21 };
    int32_t acc[ROWS * 16], bias[ROWS];
    float mult[ROWS];
    uint8_t y[ROWS * LDY];
    static const float mults[] = {0.0003f, 0.0125f, 1.0f, 7.5f, 1e-12f, 3e38f};
    for (int it = 0; it < 200; it++) {
        for (int i = 0; i < ROWS * 16; i++)
            acc[i] = it == 0 && i < 2 ? (i ? INT32_MIN : INT32_MAX) : t_randint(-3000000, 3000000);
        for (int r = 0; r < ROWS; r++) {
            mult[r] = mults[t_randint(0, 5)] * (float)t_randint(1, 9);
            bias[r] = t_randint(-40000, 40000);
        }
        bool u = it & 1;
        int32_t qmin = u ? 0 : -128, qmax = u ? 255 : 127;
        int32_t zp = u ? t_randint(0, 255) : t_randint(-128, 127);
        int rows = 1 + it % ROWS;
        qrun_requantize_rows16(acc, rows, mult, bias, zp, qmin, qmax, y, LDY);
        for (int r = 0; r < rows; r++) {
            qrun_requant rq;
            assert_int_equal(qrun_requant_init(&rq, mult[r], QRUN_REQUANT_FLOAT, NULL), QRUN_OK);
            for (int j = 0; j < 16; j++) {
                int32_t a = (int32_t)((uint32_t)acc[r * 16 + j] + (uint32_t)bias[r]);
                assert_int_equal(y[r * LDY + j], (uint8_t)qrun_requantize(&rq, a, zp, qmin, qmax));
            }
        }
    }
}

static void test_qadd_row(void **state) {
    (void)state;
    enum { N = 301 };
    uint8_t a[N], b[N], c[N];
    for (int i = 0; i < N; i++) {
        a[i] = (uint8_t)t_randint(0, 255);
        b[i] = (uint8_t)t_randint(0, 255);
    }
    for (int u = 0; u < 2; u++) {
        qrun_dtype t = u ? QRUN_DTYPE_UINT8 : QRUN_DTYPE_INT8;
        for (int it = 0; it < 10; it++) {
            qrun_qparams8 pa, pb, pc;
            qrun_qparams8_init(&pa, t, 0.01f * (float)t_randint(1, 50),
                               t_randint(0, 100) - !u * 50);
            qrun_qparams8_init(&pb, t, 0.01f * (float)t_randint(1, 50),
                               t_randint(0, 100) - !u * 50);
            qrun_qparams8_init(&pc, t, 0.01f * (float)t_randint(1, 80),
                               t_randint(0, 100) - !u * 50);
            qrun_qadd q;
            qrun_qadd_init(&q, &pa, &pb, &pc);
            qrun_qadd_row(&q, a, b, !u, N, c);
            for (int i = 0; i < N; i++) {
                int32_t av = u ? a[i] : (int8_t)a[i], bv = u ? b[i] : (int8_t)b[i];
                assert_int_equal(c[i], (uint8_t)qrun_qadd_apply(&q, av, bv));
            }
        }
    }
}

/* QuantizeLinear/DequantizeLinear nodes on the per-axis run path against the per-element form. */
static void test_qdq_axis_runs(void **state) {
    (void)state;
    const int64_t xd[3] = {2, 5, 7}, sd[1] = {5};
    struct qrun_tensor *x = kr_tensor_new(QRUN_DTYPE_FLOAT, 3, xd);
    struct qrun_tensor *s = kr_tensor_new(QRUN_DTYPE_FLOAT, 1, sd),
                       *zp = kr_tensor_new(QRUN_DTYPE_INT8, 1, sd);
    for (int64_t i = 0; i < 70; i++)
        ((float *)x->data)[i] = t_float_special((int)i);
    for (int64_t i = 0; i < 5; i++) {
        ((float *)s->data)[i] = 0.25f * (float)(i + 1);
        ((int8_t *)zp->data)[i] = (int8_t)(i * 7 - 10);
    }
    kr_node tn;
    kr_node_init(&tn, QRUN_OP_QUANTIZE_LINEAR, 13, 3, 1);
    kr_int(&tn, "axis", 1);
    const struct qrun_tensor *in[3] = {x, s, zp};
    struct qrun_tensor *out[1] = {NULL};
    qrun_err err = {{0}};
    assert_int_equal(kr_run_new(&tn, in, out, 1, &err), QRUN_OK);
    struct qrun_tensor *q = out[0];
    for (int64_t i = 0; i < 70; i++) {
        int64_t c = (i / 7) % 5;
        int32_t want = qrun_quantize_int((double)(((float *)x->data)[i] / ((float *)s->data)[c]),
                                         ((int8_t *)zp->data)[c], -128, 127);
        assert_int_equal(((int8_t *)q->data)[i], want);
    }
    kr_node_init(&tn, QRUN_OP_DEQUANTIZE_LINEAR, 13, 3, 1);
    kr_int(&tn, "axis", 1);
    const struct qrun_tensor *in2[3] = {q, s, zp};
    assert_int_equal(kr_run_new(&tn, in2, out, 1, &err), QRUN_OK);
    for (int64_t i = 0; i < 70; i++) {
        int64_t c = (i / 7) % 5;
        float want = qrun_dequantize((float)((int8_t *)q->data)[i], (float)((int8_t *)zp->data)[c],
                                     ((float *)s->data)[c]);
        assert_true(((float *)out[0]->data)[i] == want);
    }
    kr_tensor_free(out[0]);
    kr_tensor_free(q);
    kr_tensor_free(x);
    kr_tensor_free(s);
    kr_tensor_free(zp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_kernels_agree),
        cmocka_unit_test(test_dw_kernels_agree),
        cmocka_unit_test(test_conv_random),
        cmocka_unit_test(test_conv_edges),
        cmocka_unit_test(test_depthwise_matches_gemm),
        cmocka_unit_test(test_matmul_random),
        cmocka_unit_test(test_quantize_row),
        cmocka_unit_test(test_dequantize_row),
        cmocka_unit_test(test_requantize_row),
        cmocka_unit_test(test_requantize_rows16),
        cmocka_unit_test(test_qadd_row),
        cmocka_unit_test(test_qdq_axis_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
