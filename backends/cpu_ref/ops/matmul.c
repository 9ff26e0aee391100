/* SPDX-License-Identifier: Apache-2.0 */
/* MatMul (numpy semantics) and Gemm: float32 through the shared SGEMM, other types by a reference
 * loop. */
#include "backends/cpu_ref/kernel.h"
#include "backends/cpu_ref/ops/gemm_f32.h"
#include "runtime/shape/shape_util.h"

#include <stdio.h>
#include <string.h>

/* MatMul operands viewed as [batch..., m, k] x [batch..., k, n] with broadcast batch strides. */
typedef struct mm_plan {
    int64_t m, n, k;
    int brank; /* batch rank of the output */
    int64_t bdims[QRUN_MAX_RANK];
    int64_t astr[QRUN_MAX_RANK]; /* batch strides in elements (0 = broadcast) */
    int64_t bstr[QRUN_MAX_RANK];
    int64_t batch;
    bool fold_a; /* A batches are contiguous and B is shared: run one GEMM with m * batch rows */
} mm_plan;

static bool mm_supports(const qrun_node *node,
                        const struct qrun_tensor *const *inputs,
                        int n_inputs,
                        char *why,
                        size_t why_cap) {
    qrun_dtype dt = n_inputs > 0 && inputs[0] ? inputs[0]->dtype : QRUN_DTYPE_UNDEFINED;
    if (dt == QRUN_DTYPE_UNDEFINED || dt == QRUN_DTYPE_FLOAT || dt == QRUN_DTYPE_DOUBLE ||
        dt == QRUN_DTYPE_FLOAT16 || dt == QRUN_DTYPE_BFLOAT16)
        return true;
    if (node->op == QRUN_OP_MATMUL && qrun_dtype_is_integer(dt) && qrun_dtype_bits(dt) >= 8)
        return true;
    snprintf(why, why_cap, "%s: type %s is not implemented", node->op_type, qrun_dtype_name(dt));
    return false;
}

/* Batch strides of one operand (rank r, matrix dims excluded) right-aligned to the output batch. */
static void
mm_batch_strides(const struct qrun_tensor *t, int mat_rank, const mm_plan *pl, int64_t *str) {
    int r = t->rank - mat_rank;
    int64_t s = mat_rank == 2 ? t->dims[t->rank - 1] * t->dims[t->rank - 2] : t->dims[t->rank - 1];
    for (int d = pl->brank - 1; d >= 0; d--) {
        int td = d - (pl->brank - r);
        if (td < 0) {
            str[d] = 0;
            continue;
        }
        str[d] = t->dims[td] == 1 ? 0 : s;
        s *= t->dims[td];
    }
}

static void mm_plan_make(const qrun_kernel_call *call, mm_plan *pl) {
    const struct qrun_tensor *a = call->inputs[0], *b = call->inputs[1];
    const struct qrun_tensor *y = call->outputs[0];
    memset(pl, 0, sizeof *pl);
    int ma = a->rank >= 2 ? 2 : 1, mb = b->rank >= 2 ? 2 : 1;
    pl->k = a->dims[a->rank - 1];
    pl->m = ma == 2 ? a->dims[a->rank - 2] : 1;
    pl->n = mb == 2 ? b->dims[b->rank - 1] : 1;
    pl->brank = y->rank - (ma == 2) - (mb == 2);
    pl->batch = 1;
    for (int d = 0; d < pl->brank; d++) {
        pl->bdims[d] = y->dims[d];
        pl->batch *= y->dims[d];
    }
    mm_batch_strides(a, ma, pl, pl->astr);
    mm_batch_strides(b, mb, pl, pl->bstr);
    bool b_shared = true, a_dense = a->rank - ma == pl->brank;
    for (int d = 0; d < pl->brank; d++) {
        b_shared = b_shared && pl->bstr[d] == 0;
        a_dense = a_dense && a->dims[d] == pl->bdims[d];
    }
    pl->fold_a = b_shared && a_dense && pl->batch > 1;
}

/* Element offsets of batch t in A and B. */
static void mm_batch_offsets(const mm_plan *pl, int64_t t, int64_t *oa, int64_t *ob) {
    *oa = *ob = 0;
    for (int d = pl->brank - 1; d >= 0; d--) {
        int64_t i = t % pl->bdims[d];
        t /= pl->bdims[d];
        *oa += i * pl->astr[d];
        *ob += i * pl->bstr[d];
    }
}

static size_t mm_op_data_bytes(const qrun_kernel_call *call) {
    return sizeof(mm_plan);
}

static qrun_status mm_prepare(const qrun_kernel_call *call, void *op_data) {
    mm_plan_make(call, op_data);
    return QRUN_OK;
}

static size_t mm_scratch_bytes(const qrun_kernel_call *call) {
    if (call->inputs[0]->dtype != QRUN_DTYPE_FLOAT)
        return 0;
    const mm_plan *pl = call->op_data;
    int64_t m = pl->fold_a ? pl->m * pl->batch : pl->m;
    return cpu_ref_sgemm_scratch_bytes(m, pl->n, pl->k, call->n_threads);
}

/* Reference product of one batch for non-float32 types: doubles for floats, wrapping int64 for
 * integers. */
static void mm_generic_one(qrun_dtype dt,
                           const void *a,
                           int64_t oa,
                           const void *b,
                           int64_t ob,
                           void *y,
                           int64_t oy,
                           const mm_plan *pl) {
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(dt);
    for (int64_t i = 0; i < pl->m; i++) {
        for (int64_t j = 0; j < pl->n; j++) {
            size_t yi = (size_t)(oy + i * pl->n + j);
            if (tr->is_integer) {
                uint64_t acc = 0;
                for (int64_t p = 0; p < pl->k; p++)
                    acc += (uint64_t)qrun_dtype_get_i64(dt, a, (size_t)(oa + i * pl->k + p)) *
                           (uint64_t)qrun_dtype_get_i64(dt, b, (size_t)(ob + p * pl->n + j));
                qrun_dtype_set_i64(dt, y, yi, (int64_t)acc);
            } else {
                double acc = 0.0;
                for (int64_t p = 0; p < pl->k; p++)
                    acc += tr->get(a, (size_t)(oa + i * pl->k + p)) *
                           tr->get(b, (size_t)(ob + p * pl->n + j));
                tr->set(y, yi, acc, false);
            }
        }
    }
}

static qrun_status mm_eval(const qrun_kernel_call *call) {
    const mm_plan pl = *(const mm_plan *)call->op_data;
    const void *a = call->inputs[0]->data, *b = call->inputs[1]->data;
    void *y = call->outputs[0]->data;
    qrun_dtype dt = call->inputs[0]->dtype;
    if (dt != QRUN_DTYPE_FLOAT) {
        for (int64_t t = 0; t < pl.batch; t++) {
            int64_t oa, ob;
            mm_batch_offsets(&pl, t, &oa, &ob);
            mm_generic_one(dt, a, oa, b, ob, y, t * pl.m * pl.n, &pl);
        }
        return QRUN_OK;
    }
    cpu_ref_sgemm_args g = {
        .m = pl.m, .n = pl.n, .k = pl.k, .alpha = 1.0f, .lda = pl.k, .ldb = pl.n, .ldc = pl.n};
    if (pl.fold_a) {
        g.m = pl.m * pl.batch, g.a = a, g.b = b, g.c = y;
        cpu_ref_sgemm(&g, call->scratch, call->n_threads);
        return QRUN_OK;
    }
    for (int64_t t = 0; t < pl.batch; t++) {
        int64_t oa, ob;
        mm_batch_offsets(&pl, t, &oa, &ob);
        g.a = (const float *)a + oa, g.b = (const float *)b + ob,
        g.c = (float *)y + t * pl.m * pl.n;
        cpu_ref_sgemm(&g, call->scratch, call->n_threads);
    }
    return QRUN_OK;
}

/* ---- Gemm --------------------------------------------------------------- */

typedef struct gemm_plan {
    bool ta, tb;
    float alpha, beta;
    int64_t m, n, k;
    bool has_c;
    int64_t cstr[2]; /* strides of C broadcast to [m, n] */
} gemm_plan;

static void gemm_plan_make(const qrun_kernel_call *call, gemm_plan *pl) {
    const struct qrun_tensor *a = call->inputs[0], *b = call->inputs[1];
    pl->ta = qrun_node_attr_int(call->node, "transA", 0) != 0;
    pl->tb = qrun_node_attr_int(call->node, "transB", 0) != 0;
    pl->alpha = qrun_node_attr_float(call->node, "alpha", 1.0f);
    pl->beta = qrun_node_attr_float(call->node, "beta", 1.0f);
    pl->m = pl->ta ? a->dims[1] : a->dims[0];
    pl->k = pl->ta ? a->dims[0] : a->dims[1];
    pl->n = pl->tb ? b->dims[0] : b->dims[1];
    const struct qrun_tensor *c = call->n_inputs > 2 ? call->inputs[2] : NULL;
    pl->has_c = c != NULL;
    if (c != NULL) {
        int64_t od[2] = {pl->m, pl->n};
        qrun_broadcast_strides(c->rank, c->dims, 2, od, pl->cstr);
    }
}

static size_t gemm_op_data_bytes(const qrun_kernel_call *call) {
    return sizeof(gemm_plan);
}

static qrun_status gemm_prepare(const qrun_kernel_call *call, void *op_data) {
    gemm_plan_make(call, op_data);
    return QRUN_OK;
}

static size_t gemm_scratch_bytes(const qrun_kernel_call *call) {
    if (call->inputs[0]->dtype != QRUN_DTYPE_FLOAT)
        return 0;
    const gemm_plan *pl = call->op_data;
    return cpu_ref_sgemm_scratch_bytes(pl->m, pl->n, pl->k, call->n_threads);
}

static void gemm_generic(const qrun_kernel_call *call, const gemm_plan *pl) {
    qrun_dtype dt = call->inputs[0]->dtype;
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(dt);
    const void *a = call->inputs[0]->data, *b = call->inputs[1]->data;
    int64_t lda = call->inputs[0]->dims[1], ldb = call->inputs[1]->dims[1];
    const struct qrun_tensor *c = pl->has_c ? call->inputs[2] : NULL;
    void *y = call->outputs[0]->data;
    for (int64_t i = 0; i < pl->m; i++) {
        for (int64_t j = 0; j < pl->n; j++) {
            double acc = 0.0;
            for (int64_t p = 0; p < pl->k; p++) {
                size_t ia = (size_t)(pl->ta ? p * lda + i : i * lda + p);
                size_t ib = (size_t)(pl->tb ? j * ldb + p : p * ldb + j);
                acc += tr->get(a, ia) * tr->get(b, ib);
            }
            acc *= pl->alpha;
            if (c != NULL)
                acc += pl->beta * qrun_dtype_traits_get(c->dtype)->get(
                                      c->data, (size_t)(i * pl->cstr[0] + j * pl->cstr[1]));
            tr->set(y, (size_t)(i * pl->n + j), acc, false);
        }
    }
}

static qrun_status gemm_eval(const qrun_kernel_call *call) {
    const gemm_plan pl = *(const gemm_plan *)call->op_data;
    const struct qrun_tensor *c = pl.has_c ? call->inputs[2] : NULL;
    if (call->inputs[0]->dtype != QRUN_DTYPE_FLOAT) {
        gemm_generic(call, &pl);
        return QRUN_OK;
    }
    float *y = call->outputs[0]->data;
    bool use_c = c != NULL && pl.beta != 0.0f;
    if (use_c) {
        /* Y starts as broadcast C so the GEMM can add into it with beta. */
        const float *cd = c->data;
        for (int64_t i = 0; i < pl.m; i++)
            for (int64_t j = 0; j < pl.n; j++)
                y[i * pl.n + j] = cd[i * pl.cstr[0] + j * pl.cstr[1]];
    }
    cpu_ref_sgemm_args g = {
        .m = pl.m,
        .n = pl.n,
        .k = pl.k,
        .alpha = pl.alpha,
        .beta = use_c ? pl.beta : 0.0f,
        .a = call->inputs[0]->data,
        .lda = call->inputs[0]->dims[1],
        .trans_a = pl.ta,
        .b = call->inputs[1]->data,
        .ldb = call->inputs[1]->dims[1],
        .trans_b = pl.tb,
        .c = y,
        .ldc = pl.n,
    };
    cpu_ref_sgemm(&g, call->scratch, call->n_threads);
    return QRUN_OK;
}

const cpu_ref_kernel cpu_ref_kernels_matmul[] = {
    {.op = QRUN_OP_MATMUL,
     .supports = mm_supports,
     .op_data_bytes = mm_op_data_bytes,
     .prepare = mm_prepare,
     .scratch_bytes = mm_scratch_bytes,
     .eval = mm_eval},
    {.op = QRUN_OP_GEMM,
     .supports = mm_supports,
     .op_data_bytes = gemm_op_data_bytes,
     .prepare = gemm_prepare,
     .scratch_bytes = gemm_scratch_bytes,
     .eval = gemm_eval},
    {.op = QRUN_OP_UNKNOWN},
};
