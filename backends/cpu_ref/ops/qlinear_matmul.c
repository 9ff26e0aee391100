/* SPDX-License-Identifier: Apache-2.0 */
/* cpu_ref integer and FP8 matrix products: MatMulInteger, QLinearMatMul, com.microsoft QGemm.
 * Shared pieces and the family's arithmetic: qlinear_core.h. */
#include "backends/cpu_ref/ops/qgemm_s16.h"
#include "backends/cpu_ref/ops/qlinear_core.h"

#include <string.h>

/* ---- matrix products ------------------------------------------------------ */

/*
 * numpy matmul of a [.., M, K] and b [.., K, N] with broadcast batch dims.
 * The requantization table has rq_rows x numel(b_scale) entries: one row per
 * (a matrix, row) when a_scale or y_scale vary by row, else a single row.
 */
typedef struct ql_mm {
    bool qlinear, fp8;
    qrun_dtype y_t;
    const struct qrun_tensor *a, *b, *azp, *bzp, *as, *bs, *ys, *yzp;
    int64_t m, n, k, batch;
    int brank;
    int64_t bdims[QRUN_MAX_RANK], astr[QRUN_MAX_RANK], bstr[QRUN_MAX_RANK]; /* in matrices */
    int64_t a_mats, b_mats;
    int64_t rq_rows, rq_cols;
    int slots;
    size_t b_bytes;    /* B as the GEMM reads it: int16 minus zero point, or decoded FP8 */
    size_t pb_elems;   /* integer: int16 elements of one packed B matrix (qgemm_s16.h) */
    size_t pa_bytes;   /* integer: one packed A matrix */
    size_t acc_bytes;  /* integer QLinearMatMul: int32 sums of one output matrix */
    size_t rq_bytes;   /* requantization table */
    size_t slot_bytes; /* per slot: one row of int32 or float accumulators */
} ql_mm;

static void
ql_mm_strides(const struct qrun_tensor *t, const ql_mm *q, int64_t *str, int64_t *mats) {
    int r = t->rank > 2 ? t->rank - 2 : 0;
    int64_t s = 1;
    for (int d = q->brank - 1; d >= 0; d--) {
        int td = d - (q->brank - r);
        int64_t dim = td >= 0 ? t->dims[td] : 1;
        str[d] = dim == 1 ? 0 : s;
        s *= dim;
    }
    *mats = s;
}

/* Index of parameter t for (matrix mat, row-or-column rc): scalar, per rc, or per (mat, rc). */
static inline int64_t
ql_mm_pidx(const struct qrun_tensor *t, int64_t mat, int64_t rc, int64_t len) {
    int64_t n = qrun_tensor_numel_(t);
    return n == 1 ? 0 : n == len ? rc : mat * len + rc;
}

static qrun_status ql_mm_param(const qrun_kernel_call *call,
                               const struct qrun_tensor *t,
                               const char *what,
                               int64_t len,
                               int64_t mats) {
    int64_t c = ql_numel(t);
    if (!t || c == 1 || c == len || c == len * mats)
        return QRUN_OK;
    return qrun_errf(call->err, QRUN_E_UNSUPPORTED,
                     "%s with %lld elements (expected scalar, per-row or per-column)", what,
                     (long long)c);
}

static void ql_mm_bind(const qrun_kernel_call *call, ql_mm *q) {
    q->qlinear = call->node->op == QRUN_OP_QLINEAR_MATMUL;
    if (q->qlinear) {
        q->a = call->inputs[0], q->as = call->inputs[1], q->azp = qlc_in(call, 2);
        q->b = call->inputs[3], q->bs = call->inputs[4], q->bzp = qlc_in(call, 5);
        q->ys = call->inputs[6], q->yzp = qlc_in(call, 7);
    } else {
        q->a = call->inputs[0], q->b = call->inputs[1];
        q->azp = qlc_in(call, 2), q->bzp = qlc_in(call, 3);
    }
    q->fp8 = q->qlinear && qrun_fp8_is_mac_type(q->a->dtype);
    q->y_t = call->outputs[0]->dtype;
}

static qrun_status ql_mm_check(const qrun_kernel_call *call, const ql_mm *q) {
    qrun_status st = ql_mm_param(call, q->azp, "a_zero_point", q->m, q->a_mats);
    if (st == QRUN_OK)
        st = ql_mm_param(call, q->bzp, "b_zero_point", q->n, q->b_mats);
    if (st == QRUN_OK && q->qlinear)
        st = ql_mm_param(call, q->as, "a_scale", q->m, q->a_mats);
    if (st == QRUN_OK && q->qlinear)
        st = ql_mm_param(call, q->bs, "b_scale", q->n, q->b_mats);
    if (st == QRUN_OK && q->qlinear)
        st = ql_mm_param(call, q->ys, "y_scale", q->m, 1);
    if (st == QRUN_OK && q->qlinear)
        st = ql_mm_param(call, q->yzp, "y_zero_point", q->m, 1);
    if (st != QRUN_OK || !q->fp8)
        return st;
    st = ql_fp8_zero(call, q->azp, "a_zero_point");
    if (st == QRUN_OK)
        st = ql_fp8_zero(call, q->bzp, "b_zero_point");
    if (st == QRUN_OK)
        st = ql_fp8_zero(call, q->yzp, "y_zero_point");
    return st;
}

static qrun_status ql_mm_plan(const qrun_kernel_call *call, ql_mm *q) {
    memset(q, 0, sizeof *q);
    ql_mm_bind(call, q);
    const struct qrun_tensor *y = call->outputs[0];
    q->k = q->a->dims[q->a->rank - 1];
    q->m = q->a->rank >= 2 ? q->a->dims[q->a->rank - 2] : 1;
    q->n = q->b->rank >= 2 ? q->b->dims[q->b->rank - 1] : 1;
    q->brank = y->rank - (q->a->rank >= 2) - (q->b->rank >= 2);
    q->batch = 1;
    for (int d = 0; d < q->brank; d++) {
        q->bdims[d] = y->dims[d];
        q->batch *= y->dims[d];
    }
    ql_mm_strides(q->a, q, q->astr, &q->a_mats);
    ql_mm_strides(q->b, q, q->bstr, &q->b_mats);
    int64_t rows = q->batch * q->m;
    q->slots = rows < call->n_threads ? (int)(rows > 0 ? rows : 1) : call->n_threads;
    if (q->slots < 1)
        q->slots = 1;
    size_t elem = q->fp8 ? sizeof(float) : sizeof(int16_t);
    q->b_bytes = ql_round64((size_t)qrun_tensor_numel_(q->b) * elem);
    if (!q->fp8) {
        q->pb_elems = qg_pack_b_bytes(q->k, q->n) / sizeof(int16_t);
        q->b_bytes = ql_round64((size_t)q->b_mats * q->pb_elems * sizeof(int16_t));
        q->pa_bytes = ql_round64(qg_pack_a_bytes(q->m, q->k));
        q->acc_bytes = q->qlinear ? ql_round64((size_t)(q->m * q->n) * sizeof(int32_t)) : 0;
    }
    q->slot_bytes = ql_round64((size_t)q->n * sizeof(int32_t)); /* int32 or float */
    if (q->qlinear) {
        bool by_row = ql_numel(q->as) > 1 || ql_numel(q->ys) > 1;
        q->rq_rows = by_row ? q->a_mats * q->m : 1;
        q->rq_cols = ql_numel(q->bs);
        q->rq_bytes = ql_round64((size_t)(q->rq_rows * q->rq_cols) * sizeof(ql_rq));
    }
    return ql_mm_check(call, q);
}

/*
 * Op data: whether the requantization table and packed B are known, the FP8
 * decode tables, then the table, then (integer, B and its zero point
 * constant) B packed for the GEMM.
 */
typedef struct ql_mm_prep {
    bool rq_known;
    bool b_packed; /* integer B packed at prepare: follows the table in op data */
    qrun_fp8_table ta, tb;
} ql_mm_prep;

static size_t ql_mm_prep_head(void) {
    return ql_round64(sizeof(ql_mm_prep));
}

static bool ql_mm_rq_known(const ql_mm *q) {
    return q->qlinear && q->as->data && q->bs->data && q->ys->data;
}

static bool ql_mm_b_known(const ql_mm *q) {
    return !q->fp8 && q->b->data && ql_known(q->bzp);
}

static size_t ql_mm_op_data_bytes(const qrun_kernel_call *call) {
    ql_mm q;
    if (ql_mm_plan(call, &q) != QRUN_OK)
        return ql_mm_prep_head();
    return ql_mm_prep_head() + (ql_mm_rq_known(&q) ? q.rq_bytes : 0) +
           (ql_mm_b_known(&q) ? q.b_bytes : 0);
}

/* The requantization of every (row key, b_scale index) pair. */
static qrun_status ql_mm_rq(const qrun_kernel_call *call, const ql_mm *q, ql_rq *rq) {
    for (int64_t r = 0; r < q->rq_rows; r++) {
        int64_t am = r / q->m, i = r % q->m;
        double as = ql_get(q->as, ql_mm_pidx(q->as, am, i, q->m));
        double ys = ql_get(q->ys, ql_mm_pidx(q->ys, 0, i, q->m));
        for (int64_t c = 0; c < q->rq_cols; c++) {
            qrun_status st = ql_rq_make(call, q->fp8, as, ql_get(q->bs, c), ys, q->as->dtype, 0.0,
                                        &rq[r * q->rq_cols + c]);
            if (st != QRUN_OK)
                return st;
        }
    }
    return QRUN_OK;
}

/*
 * B as the GEMM reads it: FP8 decoded in B's layout, or B - b_zero_point (per
 * column, per matrix) as int16, each matrix packed (qgemm_s16.h).
 */
static void ql_mm_b(const ql_mm *q, const ql_mm_prep *prep, void *bbuf) {
    if (q->fp8) {
        const uint8_t *b = q->b->data;
        for (int64_t i = 0; i < qrun_tensor_numel_(q->b); i++)
            ((float *)bbuf)[i] = prep->tb.v[b[i]];
        return;
    }
    bool u8 = q->b->dtype == QRUN_DTYPE_UINT8;
    bool zu8 = q->bzp && q->bzp->dtype == QRUN_DTYPE_UINT8;
    int64_t kn = q->k * q->n, kp = qg_kp(q->k);
    for (int64_t mat = 0; mat < q->b_mats; mat++) {
        int16_t *dst = (int16_t *)bbuf + (size_t)mat * q->pb_elems;
        qg_pack_b_pad(q->k, q->n, dst);
        for (int64_t kk = 0; kk < q->k; kk++) {
            for (int64_t j = 0; j < q->n; j++) {
                int32_t zp =
                    q->bzp ? qlc_load8(q->bzp->data, ql_mm_pidx(q->bzp, mat, j, q->n), zu8) : 0;
                dst[qg_b_at(kp, kk, j)] =
                    (int16_t)(qlc_load8(q->b->data, mat * kn + kk * q->n + j, u8) - zp);
            }
        }
    }
}

static qrun_status ql_mm_prepare(const qrun_kernel_call *call, void *op_data) {
    ql_mm_prep *prep = op_data;
    ql_mm q;
    qrun_status st = ql_mm_plan(call, &q);
    if (st != QRUN_OK)
        return st;
    if (q.fp8) {
        qrun_fp8_table_init(&prep->ta, q.a->dtype);
        qrun_fp8_table_init(&prep->tb, q.b->dtype);
    }
    prep->rq_known = ql_mm_rq_known(&q);
    prep->b_packed = ql_mm_b_known(&q);
    uint8_t *tail = (uint8_t *)op_data + ql_mm_prep_head();
    if (prep->rq_known) {
        st = ql_mm_rq(call, &q, (ql_rq *)tail);
        tail += q.rq_bytes;
    }
    if (st == QRUN_OK && prep->b_packed)
        ql_mm_b(&q, prep, tail);
    return st;
}

/*
 * Scratch: B as the GEMM reads it unless packed, the requantization table
 * unless known, then FP8: the row slots; integer: packed A and the sums.
 */
static size_t ql_mm_scratch(const qrun_kernel_call *call) {
    const ql_mm_prep *prep = call->op_data;
    ql_mm q;
    if (ql_mm_plan(call, &q) != QRUN_OK)
        return 0;
    size_t work = q.fp8 ? (size_t)q.slots * q.slot_bytes : q.pa_bytes + q.acc_bytes;
    return (prep->b_packed ? 0 : q.b_bytes) + (prep->rq_known ? 0 : q.rq_bytes) + work;
}

/* Matrix indices (into a's and b's batch of matrices) of output batch t. */
static void ql_mm_mats(const ql_mm *q, int64_t t, int64_t *am, int64_t *bm) {
    int64_t ia = 0, ib = 0;
    for (int d = q->brank - 1; d >= 0; d--) {
        int64_t i = t % q->bdims[d];
        t /= q->bdims[d];
        ia += i * q->astr[d];
        ib += i * q->bstr[d];
    }
    *am = ia;
    *bm = ib;
}

/* What one run works with. */
typedef struct ql_mm_run {
    const ql_mm *q;
    const ql_mm_prep *prep;
    const void *b;   /* ql_mm_b */
    const ql_rq *rq; /* ql_mm_rq */
    qrun_fp8_accum accum;
} ql_mm_run;

/* One FP8 output row of sums (fp8_math.h steps 1-3), in k order from +0. */
static void ql_mm_row_fp8(const ql_mm_run *run, int64_t am, int64_t bm, int64_t i, float *acc) {
    const ql_mm *q = run->q;
    const uint8_t *a = (const uint8_t *)q->a->data + (am * q->m + i) * q->k;
    const float *bmat = (const float *)run->b + bm * q->k * q->n;
    for (int64_t j = 0; j < q->n; j++)
        acc[j] = 0.0f;
    for (int64_t kk = 0; kk < q->k; kk++)
        ql_fp8_axpy(run->accum, run->prep->ta.v[a[kk]], bmat + kk * q->n, acc, q->n);
}

/* Requantize output row i of batch matrix (am, bm) from its accumulators. */
static void ql_mm_requant_row(const ql_mm_run *run,
                              const void *acc,
                              int64_t am,
                              int64_t bm,
                              int64_t i,
                              void *y,
                              int64_t y_off) {
    const ql_mm *q = run->q;
    const ql_rq *rq = run->rq + (q->rq_rows > 1 ? am * q->m + i : 0) * q->rq_cols;
    int32_t qmin = 0, qmax = 255;
    qrun_quant_int_range(q->y_t, &qmin, &qmax);
    int32_t zp = q->yzp && !q->fp8 ? (int32_t)ql_get(q->yzp, ql_mm_pidx(q->yzp, 0, i, q->m)) : 0;
    for (int64_t j = 0; j < q->n; j++) {
        const ql_rq *r = &rq[ql_mm_pidx(q->bs, bm, j, q->n)];
        if (q->fp8) {
            ((uint8_t *)y)[y_off + j] =
                qrun_fp8_requantize(q->y_t, ((const float *)acc)[j], r->q.mult, r->fbias);
            continue;
        }
        int32_t v = qrun_requantize(&r->q, ((const int32_t *)acc)[j], zp, qmin, qmax);
        if (q->y_t == QRUN_DTYPE_UINT8)
            ((uint8_t *)y)[y_off + j] = (uint8_t)v;
        else
            ((int8_t *)y)[y_off + j] = (int8_t)v;
    }
}

/* One FP8 output row r (batch-major) of sums, then its requantization. */
static void ql_mm_one_fp8(const ql_mm_run *run, void *acc, void *y, int64_t r) {
    const ql_mm *q = run->q;
    int64_t t = r / q->m, i = r % q->m, am, bm;
    ql_mm_mats(q, t, &am, &bm);
    ql_mm_row_fp8(run, am, bm, i, acc);
    ql_mm_requant_row(run, acc, am, bm, i, y, r * q->n);
}

/* A matrix am - a_zero_point (per row, per matrix) as int16, packed (qgemm_s16.h). */
static void ql_mm_pack_a(const ql_mm *q, int64_t am, int16_t *dst) {
    bool u8 = q->a->dtype == QRUN_DTYPE_UINT8;
    bool zu8 = q->azp && q->azp->dtype == QRUN_DTYPE_UINT8;
    int64_t kp = qg_kp(q->k);
    memset(dst, 0, qg_pack_a_bytes(q->m, q->k)); /* the padding */
    for (int64_t i = 0; i < q->m; i++) {
        int32_t zp = q->azp ? qlc_load8(q->azp->data, ql_mm_pidx(q->azp, am, i, q->m), zu8) : 0;
        int64_t a0 = (am * q->m + i) * q->k;
        for (int64_t kk = 0; kk < q->k; kk++)
            dst[qg_a_at(kp, i, kk)] = (int16_t)(qlc_load8(q->a->data, a0 + kk, u8) - zp);
    }
}

/* Integer products, one output matrix at a time: pack A, GEMM, requantize the rows. */
static void ql_mm_int(const ql_mm_run *run, uint8_t *work, void *y, int nt) {
    const ql_mm *q = run->q;
    int16_t *pa = (int16_t *)work;
    int32_t *acc = (int32_t *)(work + q->pa_bytes);
    for (int64_t t = 0; t < q->batch; t++) {
        int64_t am, bm;
        ql_mm_mats(q, t, &am, &bm);
        ql_mm_pack_a(q, am, pa);
        const int16_t *pb = (const int16_t *)run->b + (size_t)bm * q->pb_elems;
        int64_t y_off = t * q->m * q->n;
        qg_store st = {.c = q->qlinear ? acc : (int32_t *)y + y_off, .ldc = q->n};
        qg_gemm(pa, pb, q->m, q->k, q->n, qg_store_epilogue, &st, nt);
        if (!q->qlinear)
            continue;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
        for (int64_t i = 0; i < q->m; i++)
            ql_mm_requant_row(run, acc + i * q->n, am, bm, i, y, y_off + i * q->n);
    }
}

static qrun_status ql_eval_matmul(const qrun_kernel_call *call) {
    const ql_mm_prep *prep = call->op_data;
    ql_mm q;
    qrun_status st = ql_mm_plan(call, &q);
    if (st != QRUN_OK)
        return st;
    if (call->scratch_bytes < ql_mm_scratch(call))
        return qrun_errf(call->err, QRUN_E_INTERNAL, "scratch too small");
    uint8_t *scratch = call->scratch;
    const uint8_t *tail = (const uint8_t *)call->op_data + ql_mm_prep_head();
    ql_mm_run run = {.q = &q,
                     .prep = prep,
                     .b = tail + (prep->rq_known ? q.rq_bytes : 0),
                     .rq = (const ql_rq *)tail,
                     .accum = call->fp8_accum};
    if (!prep->b_packed) {
        ql_mm_b(&q, prep, scratch);
        run.b = scratch;
        scratch += q.b_bytes;
    }
    if (q.qlinear && !prep->rq_known) {
        st = ql_mm_rq(call, &q, (ql_rq *)scratch);
        if (st != QRUN_OK)
            return st;
        run.rq = (const ql_rq *)scratch;
        scratch += q.rq_bytes;
    }
    void *y = call->outputs[0]->data;
    int64_t rows = q.batch * q.m;
    int nt = ql_threads(call, rows * q.n * q.k);
    if (!q.fp8) {
        ql_mm_int(&run, scratch, y, nt);
        return QRUN_OK;
    }
    nt = nt > 1 ? q.slots : 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int s = 0; s < q.slots; s++) {
        void *acc = scratch + (size_t)s * q.slot_bytes;
        for (int64_t r = s; r < rows; r += q.slots)
            ql_mm_one_fp8(&run, acc, y, r);
    }
    return QRUN_OK;
}

/* ---- QGemm (com.microsoft) ------------------------------------------------- */

/*
 * Y = alpha * A' B' + C in the integer domain (A' = transA ? A^T : A, same for
 * B): A - a_zp and B - b_zp[col] as int16, the int32 product from the shared
 * GEMM core plus C (int32, broadcast to [M, N]), then either float32 output
 * acc * (alpha * a_scale * b_scale[col]) (no y_scale) or requantization with
 * that multiplier / y_scale in the session's mode (float: ONNX Runtime's order). B - b_zp is packed
 * once at prepare when both are constants.
 */
typedef struct ql_qgemm {
    int64_t m, n, k;
    bool ta, tb;
    bool packed; /* B16 follows the header in op data */
    size_t a_bytes, b_bytes, acc_bytes;
} ql_qgemm;

static size_t ql_qgemm_head(void) {
    return ql_round64(sizeof(ql_qgemm));
}

static void ql_qgemm_plan(const qrun_kernel_call *call, ql_qgemm *g) {
    const struct qrun_tensor *a = call->inputs[0], *b = call->inputs[3];
    memset(g, 0, sizeof *g);
    g->ta = qrun_node_attr_int(call->node, "transA", 0) != 0;
    g->tb = qrun_node_attr_int(call->node, "transB", 0) != 0;
    g->m = a->dims[g->ta ? 1 : 0];
    g->k = a->dims[g->ta ? 0 : 1];
    g->n = b->dims[g->tb ? 0 : 1];
    g->a_bytes = ql_round64(qg_pack_a_bytes(g->m, g->k));
    g->b_bytes = ql_round64(qg_pack_b_bytes(g->k, g->n));
    g->acc_bytes = ql_round64((size_t)(g->m * g->n) * sizeof(int32_t));
}

static bool ql_qgemm_b_known(const qrun_kernel_call *call) {
    const struct qrun_tensor *bzp = qlc_in(call, 5);
    return call->inputs[3]->data && (!bzp || bzp->data);
}

/* B' - b_zp[col] as int16, packed (qgemm_s16.h). */
static void ql_qgemm_pack_b(const qrun_kernel_call *call, const ql_qgemm *g, int16_t *b16) {
    const struct qrun_tensor *b = call->inputs[3], *bzp = qlc_in(call, 5);
    bool u8 = b->dtype == QRUN_DTYPE_UINT8, per_col = ql_numel(bzp) > 1;
    int64_t kp = qg_kp(g->k);
    qg_pack_b_pad(g->k, g->n, b16);
    for (int64_t kk = 0; kk < g->k; kk++) {
        for (int64_t j = 0; j < g->n; j++) {
            int32_t zp = bzp ? qlc_load8(bzp->data, per_col ? j : 0, u8) : 0;
            int64_t src = g->tb ? j * g->k + kk : kk * g->n + j;
            b16[qg_b_at(kp, kk, j)] = (int16_t)(qlc_load8(b->data, src, u8) - zp);
        }
    }
}

/* A' - a_zp as int16, packed (qgemm_s16.h). */
static void ql_qgemm_pack_a(const qrun_kernel_call *call, const ql_qgemm *g, int16_t *a16) {
    const struct qrun_tensor *a = call->inputs[0];
    bool u8 = a->dtype == QRUN_DTYPE_UINT8;
    int32_t zp = ql_scalar8(qlc_in(call, 2));
    int64_t kp = qg_kp(g->k);
    memset(a16, 0, qg_pack_a_bytes(g->m, g->k)); /* the padding */
    for (int64_t i = 0; i < g->m; i++) {
        for (int64_t kk = 0; kk < g->k; kk++) {
            int64_t src = g->ta ? kk * g->m + i : i * g->k + kk;
            a16[qg_a_at(kp, i, kk)] = (int16_t)(qlc_load8(a->data, src, u8) - zp);
        }
    }
}

static size_t ql_qgemm_op_data_bytes(const qrun_kernel_call *call) {
    ql_qgemm g;
    ql_qgemm_plan(call, &g);
    return ql_qgemm_head() + (ql_qgemm_b_known(call) ? g.b_bytes : 0);
}

static qrun_status ql_qgemm_prepare(const qrun_kernel_call *call, void *op_data) {
    ql_qgemm *g = op_data;
    ql_qgemm_plan(call, g);
    g->packed = ql_qgemm_b_known(call);
    if (g->packed)
        ql_qgemm_pack_b(call, g, (int16_t *)((uint8_t *)op_data + ql_qgemm_head()));
    return QRUN_OK;
}

static size_t ql_qgemm_scratch(const qrun_kernel_call *call) {
    const ql_qgemm *g = call->op_data;
    return g->a_bytes + (g->packed ? 0 : g->b_bytes) + g->acc_bytes;
}

/* C[i][j] under numpy broadcasting of C's shape to [M, N]. */
static int32_t ql_qgemm_bias(const struct qrun_tensor *c, int64_t i, int64_t j) {
    if (!c)
        return 0;
    const int32_t *v = c->data;
    int64_t rows = c->rank == 2 ? c->dims[0] : 1, cols = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
    return v[(rows > 1 ? i : 0) * cols + (cols > 1 ? j : 0)];
}

static qrun_status
ql_qgemm_output(const qrun_kernel_call *call, const ql_qgemm *g, const int32_t *acc) {
    const struct qrun_tensor *bs = call->inputs[4], *c = qlc_in(call, 6);
    const struct qrun_tensor *ys = qlc_in(call, 7), *yzp = qlc_in(call, 8);
    struct qrun_tensor *y = call->outputs[0];
    float alpha = qrun_node_attr_float(call->node, "alpha", 1.0f);
    float as = (float)ql_get(call->inputs[1], 0);
    bool per_col = ql_numel(bs) > 1;
    int32_t zp = ql_scalar8(yzp), qmin = 0, qmax = 255;
    qrun_quant_int_range(y->dtype, &qmin, &qmax);
    for (int64_t j = 0; j < g->n; j++) {
        float mult = alpha * as * (float)ql_get(bs, per_col ? j : 0);
        qrun_requant rq;
        if (ys) {
            mult /= (float)ql_get(ys, 0);
            qrun_status st = qrun_requant_init(&rq, mult, call->requant, call->err);
            if (st != QRUN_OK)
                return st;
        }
        for (int64_t i = 0; i < g->m; i++) {
            /* int32 accumulator + int32 bias can leave int32: saturate, as the sum would. */
            int64_t v64 = (int64_t)acc[i * g->n + j] + ql_qgemm_bias(c, i, j);
            int32_t v = v64 > INT32_MAX ? INT32_MAX : v64 < INT32_MIN ? INT32_MIN : (int32_t)v64;
            if (!ys)
                ((float *)y->data)[i * g->n + j] = (float)v * mult;
            else
                ((uint8_t *)y->data)[i * g->n + j] =
                    (uint8_t)qrun_requantize(&rq, v, zp, qmin, qmax);
        }
    }
    return QRUN_OK;
}

static qrun_status ql_eval_qgemm(const qrun_kernel_call *call) {
    const ql_qgemm *g = call->op_data;
    if (call->scratch_bytes < ql_qgemm_scratch(call))
        return qrun_errf(call->err, QRUN_E_INTERNAL, "scratch too small");
    uint8_t *s = call->scratch;
    int16_t *a16 = (int16_t *)s;
    const int16_t *b16 = (const int16_t *)((const uint8_t *)call->op_data + ql_qgemm_head());
    int32_t *acc = (int32_t *)(s + g->a_bytes + (g->packed ? 0 : g->b_bytes));
    if (!g->packed) {
        ql_qgemm_pack_b(call, g, (int16_t *)(s + g->a_bytes));
        b16 = (const int16_t *)(s + g->a_bytes);
    }
    ql_qgemm_pack_a(call, g, a16);
    qg_store st = {.c = acc, .ldc = g->n};
    qg_gemm(a16, b16, g->m, g->k, g->n, qg_store_epilogue, &st,
            ql_threads(call, g->m * g->n * g->k));
    return ql_qgemm_output(call, g, acc);
}

const cpu_ref_kernel cpu_ref_kernels_qlinear_matmul[] = {
    {.op = QRUN_OP_MS_QGEMM,
     .supports = ql_supports,
     .op_data_bytes = ql_qgemm_op_data_bytes,
     .prepare = ql_qgemm_prepare,
     .scratch_bytes = ql_qgemm_scratch,
     .eval = ql_eval_qgemm},
    {.op = QRUN_OP_MATMUL_INTEGER,
     .supports = ql_supports,
     .op_data_bytes = ql_mm_op_data_bytes,
     .prepare = ql_mm_prepare,
     .scratch_bytes = ql_mm_scratch,
     .eval = ql_eval_matmul},
    {.op = QRUN_OP_QLINEAR_MATMUL,
     .supports = ql_supports,
     .op_data_bytes = ql_mm_op_data_bytes,
     .prepare = ql_mm_prepare,
     .scratch_bytes = ql_mm_scratch,
     .eval = ql_eval_matmul},
    {.op = QRUN_OP_UNKNOWN},
};
