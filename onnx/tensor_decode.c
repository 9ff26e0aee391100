/* SPDX-License-Identifier: Apache-2.0 */
/* TensorProto -> qrun_tensor: every ONNX storage encoding, every length checked first. */
#include "onnx/onnx_internal.h"
#include "runtime/alloc.h"
#include "runtime/dtype.h"
#include "runtime/limits.h"

#include <inttypes.h>
#include <string.h>

/* raw_data and external data are little-endian; we copy them as they are. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "qrun's ONNX loader assumes a little-endian host"
#endif

enum { TD_LOCATION_DEFAULT = 0, TD_LOCATION_EXTERNAL = 1 };

static qrun_status
td_count_error(const char *what, const char *field, uint64_t want, size_t got, qrun_err *err) {
    if (got == 0)
        return qrun_errf(err, QRUN_E_MODEL, "%s has no data (expected %" PRIu64 " values in %s)",
                         what, want, field);
    return qrun_errf(err, QRUN_E_MODEL, "%s: %s holds %zu values, expected %" PRIu64, what, field,
                     got, want);
}

/* Allocate the destination (never zero bytes, so constants always have data). */
static qrun_status td_alloc(
    const qrun_allocator *alloc, size_t nbytes, const char *what, uint8_t **out, qrun_err *err) {
    *out = qrun_calloc(alloc, 1, nbytes ? nbytes : 1);
    if (!*out)
        return qrun_errf(err, QRUN_E_NOMEM, "%s: out of memory (%zu bytes)", what, nbytes);
    return QRUN_OK;
}

/* Fields other than int32_data: one proto value per element (two for complex). */
static qrun_status td_wide(const Onnx__TensorProto *tp,
                           qrun_dtype dt,
                           uint64_t numel,
                           const qrun_allocator *alloc,
                           size_t nbytes,
                           const char *what,
                           uint8_t **out,
                           qrun_err *err) {
    const void *src = NULL;
    size_t got = 0, elem = 0;
    uint64_t want = numel;
    const char *field = "";
    switch (dt) {
    case QRUN_DTYPE_COMPLEX64:
        want = numel * 2;
        /* fall through */
    case QRUN_DTYPE_FLOAT:
        src = tp->float_data, got = tp->n_float_data, elem = 4, field = "float_data";
        break;
    case QRUN_DTYPE_COMPLEX128:
        want = numel * 2;
        /* fall through */
    case QRUN_DTYPE_DOUBLE:
        src = tp->double_data, got = tp->n_double_data, elem = 8, field = "double_data";
        break;
    case QRUN_DTYPE_INT64:
        src = tp->int64_data, got = tp->n_int64_data, elem = 8, field = "int64_data";
        break;
    case QRUN_DTYPE_UINT64:
    case QRUN_DTYPE_UINT32:
        src = tp->uint64_data, got = tp->n_uint64_data, elem = 8, field = "uint64_data";
        break;
    default:
        return qrun_errf(err, QRUN_E_INTERNAL, "%s: no wide field for dtype %d", what, (int)dt);
    }
    if (got != want)
        return td_count_error(what, field, want, got, err);
    qrun_status st = td_alloc(alloc, nbytes, what, out, err);
    if (st != QRUN_OK)
        return st;
    if (dt == QRUN_DTYPE_UINT32) {
        const uint64_t *u = src;
        for (size_t i = 0; i < got; i++)
            ((uint32_t *)*out)[i] = (uint32_t)u[i];
    } else if (got) {
        memcpy(*out, src, got * elem);
    }
    return QRUN_OK;
}

/*
 * int32_data: one element per int32 for 8..32-bit types (low bits kept;
 * fp16/bf16/FP8 arrive as their bit patterns), and for sub-byte types one
 * packed byte per int32 (two 4-bit or four 2-bit elements, first in the low
 * bits), which is exactly the raw_data layout.
 */
static qrun_status td_int32(const Onnx__TensorProto *tp,
                            qrun_dtype dt,
                            uint64_t numel,
                            const qrun_allocator *alloc,
                            size_t nbytes,
                            const char *what,
                            uint8_t **out,
                            qrun_err *err) {
    int bits = qrun_dtype_traits_get(dt)->bits;
    if (bits <= 0 || bits > 32)
        return qrun_errf(err, QRUN_E_UNSUPPORTED, "%s: dtype %s cannot be read from int32_data",
                         what, qrun_dtype_traits_get(dt)->name);
    uint64_t want = bits >= 8 ? numel : (uint64_t)nbytes;
    if (tp->n_int32_data != want)
        return td_count_error(what, "int32_data", want, tp->n_int32_data, err);
    qrun_status st = td_alloc(alloc, nbytes, what, out, err);
    if (st != QRUN_OK)
        return st;
    uint8_t *b = *out;
    const int32_t *v = tp->int32_data;
    size_t n = tp->n_int32_data;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)v[i];
        if (dt == QRUN_DTYPE_BOOL)
            b[i] = u != 0;
        else if (bits <= 8)
            b[i] = (uint8_t)u;
        else if (bits == 16)
            ((uint16_t *)b)[i] = (uint16_t)u;
        else
            ((uint32_t *)b)[i] = u;
    }
    /* Zero the padding bits of the last byte so equal tensors compare equal. */
    if (bits < 8 && numel % (uint64_t)(8 / bits))
        b[nbytes - 1] &= (uint8_t)((1u << ((numel % (uint64_t)(8 / bits)) * (unsigned)bits)) - 1);
    return QRUN_OK;
}

static qrun_status td_raw(Onnx__TensorProto *tp,
                          qrun_dtype dt,
                          const qrun_allocator *alloc,
                          size_t nbytes,
                          const char *what,
                          uint8_t **out,
                          qrun_err *err) {
    if (tp->raw_data.len != nbytes)
        return qrun_errf(err, QRUN_E_MODEL, "%s: raw_data has %zu bytes, expected %zu", what,
                         tp->raw_data.len, nbytes);
    if (nbytes && tp->raw_data.data) {
        /*
         * protobuf-c allocated raw_data through this same allocator (see the
         * contract in onnx_internal.h): take the buffer instead of copying,
         * which halves peak memory for large weights.
         */
        *out = tp->raw_data.data;
        tp->raw_data.data = NULL;
        tp->raw_data.len = 0;
        tp->has_raw_data = 0;
    } else {
        qrun_status st = td_alloc(alloc, nbytes, what, out, err);
        if (st != QRUN_OK)
            return st;
    }
    if (dt == QRUN_DTYPE_BOOL) {
        for (size_t i = 0; i < nbytes; i++)
            (*out)[i] = (*out)[i] != 0;
    }
    return QRUN_OK;
}

static qrun_status td_shape(const Onnx__TensorProto *tp,
                            const qrun_limits *lim,
                            const char *what,
                            struct qrun_tensor *out,
                            qrun_err *err) {
    if (tp->n_dims > (size_t)lim->max_rank)
        return qrun_errf(err, tp->n_dims > QRUN_MAX_RANK ? QRUN_E_UNSUPPORTED : QRUN_E_MODEL,
                         "%s has rank %zu; the limit is %d (max_rank)", what, tp->n_dims,
                         lim->max_rank);
    out->rank = (int)tp->n_dims;
    for (int i = 0; i < out->rank; i++) {
        if (tp->dims[i] < 0)
            return qrun_errf(err, QRUN_E_MODEL, "%s has negative dimension %" PRId64 " at axis %d",
                             what, tp->dims[i], i);
        out->dims[i] = tp->dims[i];
    }
    qrun_status st = qrun_limits_check_shape(lim, what, out->rank, out->dims, err);
    if (st != QRUN_OK)
        return st;
    if (!tp->has_data_type)
        return qrun_errf(err, QRUN_E_MODEL, "%s has no data_type", what);
    out->dtype = qrun_dtype_from_onnx(tp->data_type);
    if (out->dtype == QRUN_DTYPE_UNDEFINED)
        return qrun_errf(err, QRUN_E_MODEL, "%s has unknown data_type %d", what,
                         (int)tp->data_type);
    if (tp->segment)
        return qrun_errf(err, QRUN_E_UNSUPPORTED,
                         "%s is segmented (TensorProto.segment), which is not supported", what);
    if (tp->has_data_location && tp->data_location != TD_LOCATION_DEFAULT &&
        tp->data_location != TD_LOCATION_EXTERNAL)
        return qrun_errf(err, QRUN_E_MODEL, "%s has unknown data_location %d", what,
                         (int)tp->data_location);
    return QRUN_OK;
}

/*
 * STRING tensors are kept without data (an error only where a kernel needs
 * the strings), but what the file declares is still checked: one string per
 * element, each within max_string_bytes.
 */
static qrun_status td_strings(const Onnx__TensorProto *tp,
                              const qrun_limits *lim,
                              uint64_t numel,
                              const char *what,
                              struct qrun_tensor *out,
                              qrun_err *err) {
    bool external = tp->has_data_location && tp->data_location == TD_LOCATION_EXTERNAL;
    if (external || tp->has_raw_data)
        return qrun_errf(err, QRUN_E_MODEL, "%s: STRING data must be in string_data", what);
    if (tp->n_string_data != numel)
        return td_count_error(what, "string_data", numel, tp->n_string_data, err);
    for (size_t i = 0; i < tp->n_string_data; i++) {
        if (tp->string_data[i].len > (uint64_t)lim->max_string_bytes)
            return qrun_errf(err, QRUN_E_MODEL,
                             "%s: string %zu is %zu bytes long (limit max_string_bytes = %" PRId64
                             ")",
                             what, i, tp->string_data[i].len, lim->max_string_bytes);
    }
    out->nbytes = 0;
    return QRUN_OK;
}

qrun_status
onnx_charge_bytes(const onnx_decode_ctx *dc, size_t nbytes, const char *what, qrun_err *err) {
    if (!dc->total_bytes)
        return QRUN_OK;
    uint64_t cap = dc->limits->max_total_initializer_bytes;
    if (nbytes > cap || *dc->total_bytes > cap - nbytes)
        return qrun_errf(err, QRUN_E_MODEL,
                         "%s: the model's constants pass %" PRIu64
                         " bytes in total (limit max_total_initializer_bytes)",
                         what, cap);
    *dc->total_bytes += nbytes;
    return QRUN_OK;
}

static qrun_status td_data(Onnx__TensorProto *tp,
                           const onnx_decode_ctx *dc,
                           const char *what,
                           struct qrun_tensor *out,
                           qrun_err *err) {
    const qrun_allocator *alloc = dc->alloc;
    const qrun_limits *lim = qrun_limits_or_default(dc->limits);
    int64_t numel = qrun_shape_numel(out->rank, out->dims);
    if (numel < 0)
        return qrun_errf(err, QRUN_E_MODEL, "%s: element count overflows", what);
    if (out->dtype == QRUN_DTYPE_STRING)
        return td_strings(tp, lim, (uint64_t)numel, what, out, err);
    size_t nbytes = 0;
    if (!qrun_dtype_nbytes(out->dtype, numel, &nbytes))
        return qrun_errf(err, QRUN_E_MODEL, "%s: byte size overflows", what);
    uint8_t *buf = NULL;
    qrun_status st = onnx_charge_bytes(dc, nbytes, what, err);
    if (st != QRUN_OK)
        return st;
    bool external = tp->has_data_location && tp->data_location == TD_LOCATION_EXTERNAL;
    if (external) {
        for (size_t i = 0; i < tp->n_external_data && st == QRUN_OK; i++) {
            const char *v = tp->external_data[i]->value;
            if (v && strlen(v) > (uint64_t)lim->max_string_bytes)
                st = qrun_errf(err, QRUN_E_MODEL,
                               "%s: an external_data value is %zu bytes long (limit "
                               "max_string_bytes = %" PRId64 ")",
                               what, strlen(v), lim->max_string_bytes);
        }
        if (st == QRUN_OK)
            st = onnx_external_read(tp, dc->base_dir, what, alloc, nbytes, (void **)&buf, err);
    } else if (tp->has_raw_data) {
        st = td_raw(tp, out->dtype, alloc, nbytes, what, &buf, err);
    } else {
        switch (out->dtype) {
        case QRUN_DTYPE_FLOAT:
        case QRUN_DTYPE_COMPLEX64:
        case QRUN_DTYPE_DOUBLE:
        case QRUN_DTYPE_COMPLEX128:
        case QRUN_DTYPE_INT64:
        case QRUN_DTYPE_UINT32:
        case QRUN_DTYPE_UINT64:
            st = td_wide(tp, out->dtype, (uint64_t)numel, alloc, nbytes, what, &buf, err);
            break;
        default:
            st = td_int32(tp, out->dtype, (uint64_t)numel, alloc, nbytes, what, &buf, err);
            break;
        }
    }
    if (st != QRUN_OK)
        return st;
    out->data = buf;
    out->nbytes = nbytes;
    out->owns_data = true;
    return QRUN_OK;
}

qrun_status onnx_tensor_decode(Onnx__TensorProto *tp,
                               const onnx_decode_ctx *dc,
                               const char *what,
                               struct qrun_tensor *out,
                               qrun_err *err) {
    memset(out, 0, sizeof *out);
    out->alloc = dc->alloc;
    qrun_status st = td_shape(tp, qrun_limits_or_default(dc->limits), what, out, err);
    if (st == QRUN_OK)
        st = td_data(tp, dc, what, out, err);
    if (st == QRUN_OK && tp->name && tp->name[0]) {
        out->name = qrun_strdup(dc->alloc, tp->name);
        if (!out->name)
            st = qrun_errf(err, QRUN_E_NOMEM, "%s: out of memory", what);
    }
    if (st != QRUN_OK) {
        qrun_tensor_release(out);
        out->nbytes = 0;
    }
    return st;
}
