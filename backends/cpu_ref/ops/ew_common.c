/* SPDX-License-Identifier: Apache-2.0 */
/* Broadcast plans and exact integer loads/stores for the elementwise kernel families. */
#include "backends/cpu_ref/ops/ew_common.h"

#include <stdio.h>
#include "runtime/shape/shape_util.h"

#include <string.h>

/* Rows are cut into chunks so a single long row still spreads over threads. */
#define EW_CHUNK 16384

void ew_plan_init(ew_plan *p,
                  int n_in,
                  const struct qrun_tensor *const *ins,
                  const struct qrun_tensor *out) {
    memset(p, 0, sizeof *p);
    p->n_in = n_in;
    p->numel = ew_numel(out);
    int64_t strides[EW_MAX_IN][QRUN_MAX_RANK];
    for (int k = 0; k < n_in; k++)
        qrun_broadcast_strides(ins[k]->rank, ins[k]->dims, out->rank, out->dims, strides[k]);

    /* Coalesce from the innermost dim outward: merge d into the run when every input is contiguous
     * across it or broadcast across both. */
    int r = 0;
    for (int d = out->rank - 1; d >= 0; d--) {
        if (out->dims[d] == 1)
            continue; /* size-1 dims add nothing */
        bool merge = r > 0;
        for (int k = 0; merge && k < n_in; k++) {
            int64_t inner = p->strides[k][r - 1];
            int64_t s = strides[k][d];
            merge = (s == 0 && inner == 0) || (inner != 0 && s == inner * p->dims[r - 1]);
        }
        if (merge) {
            p->dims[r - 1] *= out->dims[d];
            continue;
        }
        p->dims[r] = out->dims[d];
        for (int k = 0; k < n_in; k++)
            p->strides[k][r] = strides[k][d];
        r++;
    }
    if (r == 0) { /* scalar or all-ones shape */
        p->dims[0] = 1;
        r = 1;
    }
    /* Stored innermost-first above; flip to row-major order. */
    for (int i = 0; i < r / 2; i++) {
        int64_t t = p->dims[i];
        p->dims[i] = p->dims[r - 1 - i];
        p->dims[r - 1 - i] = t;
        for (int k = 0; k < n_in; k++) {
            t = p->strides[k][i];
            p->strides[k][i] = p->strides[k][r - 1 - i];
            p->strides[k][r - 1 - i] = t;
        }
    }
    p->rank = r;
}

static void ew_plan_item(const ew_plan *p, ew_row_fn fn, void *ctx, int64_t nchunks, int64_t it) {
    int64_t inner = p->dims[p->rank - 1];
    int64_t row = it / nchunks;
    int64_t start = (it % nchunks) * EW_CHUNK;
    int64_t n = inner - start < EW_CHUNK ? inner - start : EW_CHUNK;
    int64_t off[EW_MAX_IN] = {0}, step[EW_MAX_IN] = {0};
    int64_t rem = row;
    for (int d = p->rank - 2; d >= 0; d--) {
        int64_t idx = rem % p->dims[d];
        rem /= p->dims[d];
        for (int k = 0; k < p->n_in; k++)
            off[k] += idx * p->strides[k][d];
    }
    for (int k = 0; k < p->n_in; k++) {
        step[k] = p->strides[k][p->rank - 1];
        off[k] += start * step[k];
    }
    fn(ctx, off, step, row * inner + start, n);
}

void ew_plan_run(const ew_plan *p, ew_row_fn fn, void *ctx, int n_threads, bool parallel) {
    if (p->numel <= 0)
        return;
    int64_t inner = p->dims[p->rank - 1];
    int64_t rows = p->numel / inner;
    int64_t nchunks = (inner + EW_CHUNK - 1) / EW_CHUNK;
    int64_t items = rows * nchunks;
    bool par = parallel && n_threads > 1 && p->numel >= EW_PARALLEL_MIN;
#pragma omp parallel for num_threads(n_threads) if (par) schedule(static)
    for (int64_t it = 0; it < items; it++)
        ew_plan_item(p, fn, ctx, nchunks, it);
}

/* ---- exact integer access --------------------------------------------- */

#define EW_INT_ACCESS(sfx, ctype, utype)                                                           \
    static int64_t ew_load_##sfx(const void *data, int64_t i) {                                    \
        return (int64_t)((const ctype *)data)[i];                                                  \
    }                                                                                              \
    static void ew_store_##sfx(void *data, int64_t i, int64_t v) {                                 \
        /* through the unsigned type: modulo 2^bits, like numpy astype */                          \
        ((ctype *)data)[i] = (ctype)(utype)(uint64_t)v;                                            \
    }

EW_INT_ACCESS(i8, int8_t, uint8_t)
EW_INT_ACCESS(u8, uint8_t, uint8_t)
EW_INT_ACCESS(i16, int16_t, uint16_t)
EW_INT_ACCESS(u16, uint16_t, uint16_t)
EW_INT_ACCESS(i32, int32_t, uint32_t)
EW_INT_ACCESS(u32, uint32_t, uint32_t)
EW_INT_ACCESS(i64, int64_t, uint64_t)

static int64_t ew_load_u64(const void *data, int64_t i) {
    return (int64_t)((const uint64_t *)data)[i];
}

static void ew_store_u64(void *data, int64_t i, int64_t v) {
    ((uint64_t *)data)[i] = (uint64_t)v;
}

static int64_t ew_load_bool(const void *data, int64_t i) {
    return ((const uint8_t *)data)[i] != 0;
}

static void ew_store_bool(void *data, int64_t i, int64_t v) {
    ((uint8_t *)data)[i] = v != 0;
}

/* Sub-byte integers go through the traits (which saturate: there is no numpy wrap to match). */
static int64_t ew_load_packed_i4(const void *data, int64_t i) {
    return qrun_dtype_get_i64(QRUN_DTYPE_INT4, data, (size_t)i);
}
static int64_t ew_load_packed_u4(const void *data, int64_t i) {
    return qrun_dtype_get_i64(QRUN_DTYPE_UINT4, data, (size_t)i);
}
static int64_t ew_load_packed_i2(const void *data, int64_t i) {
    return qrun_dtype_get_i64(QRUN_DTYPE_INT2, data, (size_t)i);
}
static int64_t ew_load_packed_u2(const void *data, int64_t i) {
    return qrun_dtype_get_i64(QRUN_DTYPE_UINT2, data, (size_t)i);
}
static void ew_store_packed_i4(void *data, int64_t i, int64_t v) {
    qrun_dtype_set_i64(QRUN_DTYPE_INT4, data, (size_t)i, v);
}
static void ew_store_packed_u4(void *data, int64_t i, int64_t v) {
    qrun_dtype_set_i64(QRUN_DTYPE_UINT4, data, (size_t)i, v);
}
static void ew_store_packed_i2(void *data, int64_t i, int64_t v) {
    qrun_dtype_set_i64(QRUN_DTYPE_INT2, data, (size_t)i, v);
}
static void ew_store_packed_u2(void *data, int64_t i, int64_t v) {
    qrun_dtype_set_i64(QRUN_DTYPE_UINT2, data, (size_t)i, v);
}

ew_load_i64_fn ew_int_loader(qrun_dtype t) {
    switch (t) {
    case QRUN_DTYPE_INT8:
        return ew_load_i8;
    case QRUN_DTYPE_UINT8:
        return ew_load_u8;
    case QRUN_DTYPE_INT16:
        return ew_load_i16;
    case QRUN_DTYPE_UINT16:
        return ew_load_u16;
    case QRUN_DTYPE_INT32:
        return ew_load_i32;
    case QRUN_DTYPE_UINT32:
        return ew_load_u32;
    case QRUN_DTYPE_INT64:
        return ew_load_i64;
    case QRUN_DTYPE_UINT64:
        return ew_load_u64;
    case QRUN_DTYPE_BOOL:
        return ew_load_bool;
    case QRUN_DTYPE_INT4:
        return ew_load_packed_i4;
    case QRUN_DTYPE_UINT4:
        return ew_load_packed_u4;
    case QRUN_DTYPE_INT2:
        return ew_load_packed_i2;
    case QRUN_DTYPE_UINT2:
        return ew_load_packed_u2;
    default:
        return NULL;
    }
}

ew_store_i64_fn ew_int_storer(qrun_dtype t) {
    switch (t) {
    case QRUN_DTYPE_INT8:
        return ew_store_i8;
    case QRUN_DTYPE_UINT8:
        return ew_store_u8;
    case QRUN_DTYPE_INT16:
        return ew_store_i16;
    case QRUN_DTYPE_UINT16:
        return ew_store_u16;
    case QRUN_DTYPE_INT32:
        return ew_store_i32;
    case QRUN_DTYPE_UINT32:
        return ew_store_u32;
    case QRUN_DTYPE_INT64:
        return ew_store_i64;
    case QRUN_DTYPE_UINT64:
        return ew_store_u64;
    case QRUN_DTYPE_BOOL:
        return ew_store_bool;
    case QRUN_DTYPE_INT4:
        return ew_store_packed_i4;
    case QRUN_DTYPE_UINT4:
        return ew_store_packed_u4;
    case QRUN_DTYPE_INT2:
        return ew_store_packed_i2;
    case QRUN_DTYPE_UINT2:
        return ew_store_packed_u2;
    default:
        return NULL;
    }
}

bool ew_inputs_numeric(const qrun_node *node,
                       const struct qrun_tensor *const *inputs,
                       int n_inputs,
                       bool (*int_ok)(qrun_op op),
                       char *why,
                       size_t why_cap) {
    for (int i = 0; i < n_inputs; i++) {
        if (!inputs[i] || inputs[i]->dtype == QRUN_DTYPE_UNDEFINED)
            continue;
        qrun_dtype t = inputs[i]->dtype;
        const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(t);
        bool ok = tr->get && (tr->is_float || tr->is_integer);
        if (ok && tr->is_integer && int_ok)
            ok = int_ok(node->op);
        if (!ok) {
            snprintf(why, why_cap, "%s: %s is not supported", node->op_type, qrun_dtype_name(t));
            return false;
        }
    }
    return true;
}
