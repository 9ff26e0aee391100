/* SPDX-License-Identifier: Apache-2.0 */
/* TensorProto files (.pb): read into an owned qrun_tensor, write with raw_data. */
#include "onnx/onnx_internal.h"
#include "onnx/onnx_loader.h"
#include "runtime/alloc.h"
#include "runtime/dtype.h"
#include "runtime/limits.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Tensor files are inputs/outputs, not weights: 2 GiB is plenty. */
#define TF_MAX_BYTES ONNX_MAX_FILE_BYTES

qrun_status onnx_tensor_read_bytes(const void *data,
                                   size_t size,
                                   const qrun_allocator *alloc,
                                   struct qrun_tensor *out,
                                   qrun_err *err) {
    if (!out)
        return qrun_errf(err, QRUN_E_ARG, "no output tensor");
    memset(out, 0, sizeof *out);
    if (!data && size)
        return qrun_errf(err, QRUN_E_ARG, "no tensor data");
    if (!alloc)
        alloc = qrun_allocator_default();
    onnx_pb_scan scan = {.max_depth = ONNX_MAX_NESTING};
    if (size > TF_MAX_BYTES ||
        !onnx_pb_scan_run(&scan, &onnx__tensor_proto__descriptor, data, size)) {
        if (scan.exceeded && strcmp(scan.exceeded, "parse_bytes") == 0)
            return qrun_errf(err, QRUN_E_MODEL,
                             "parsing the TensorProto would allocate about %" PRId64
                             " bytes, more than %d times its size",
                             scan.value, ONNX_PARSE_FACTOR);
        return qrun_errf(err, QRUN_E_MODEL, "not a valid ONNX TensorProto (protobuf parse failed)");
    }
    onnx_pb_alloc pba;
    onnx_pb_alloc_init(&pba, alloc);
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(&pba.pb, size, data);
    if (!tp && pba.failed)
        return qrun_errf(err, QRUN_E_NOMEM, "out of memory parsing a TensorProto");
    if (!tp)
        return qrun_errf(err, QRUN_E_MODEL, "not a valid ONNX TensorProto (protobuf parse failed)");
    char what[300];
    snprintf(what, sizeof what, "tensor '%.256s'", tp->name ? tp->name : "");
    /* No external data (no folder), no model byte budget: the file size bounds the data. */
    onnx_decode_ctx dc = {NULL, alloc, qrun_limits_or_default(NULL), NULL};
    qrun_status st = onnx_tensor_decode(tp, &dc, what, out, err);
    if (st == QRUN_OK && out->dtype == QRUN_DTYPE_STRING) {
        qrun_tensor_release(out);
        st = qrun_errf(err, QRUN_E_UNSUPPORTED, "%s: STRING tensors are not supported", what);
    }
    onnx__tensor_proto__free_unpacked(tp, &pba.pb);
    return st;
}

qrun_status onnx_tensor_read_file(const char *path,
                                  const qrun_allocator *alloc,
                                  struct qrun_tensor *out,
                                  qrun_err *err) {
    if (!out || !path)
        return qrun_errf(err, QRUN_E_ARG, "no path or output tensor");
    memset(out, 0, sizeof *out);
    if (!alloc)
        alloc = qrun_allocator_default();
    uint8_t *buf = NULL;
    size_t size = 0;
    qrun_status st = onnx_read_whole_file(path, alloc, TF_MAX_BYTES, &buf, &size, err);
    if (st != QRUN_OK)
        return st;
    st = onnx_tensor_read_bytes(buf, size, alloc, out, err);
    if (st != QRUN_OK)
        qrun_err_prefix(err, "%s: ", onnx_basename(path));
    qrun_free(alloc, buf);
    return st;
}

qrun_status onnx_tensor_to_proto(const struct qrun_tensor *t,
                                 const char *what,
                                 int64_t *dims_buf,
                                 Onnx__TensorProto *tp,
                                 qrun_err *err) {
    const struct qrun_dtype_traits *tr = qrun_dtype_traits_get(t->dtype);
    if (t->dtype == QRUN_DTYPE_FLOAT8E3M4)
        return qrun_errf(err, QRUN_E_UNSUPPORTED,
                         "%s: fp8e3m4 has no ONNX type and cannot be written to an ONNX file",
                         what);
    if (t->dtype == QRUN_DTYPE_STRING || tr->onnx_type <= 0 || tr->bits <= 0)
        return qrun_errf(err, QRUN_E_UNSUPPORTED,
                         "%s: dtype %s cannot be written as an ONNX TensorProto", what, tr->name);
    if (t->rank < 0 || t->rank > QRUN_MAX_RANK)
        return qrun_errf(err, QRUN_E_ARG, "%s: invalid rank %d", what, t->rank);
    int64_t numel = qrun_shape_numel(t->rank, t->dims);
    size_t nbytes = 0;
    if (numel < 0 || !qrun_dtype_nbytes(t->dtype, numel, &nbytes))
        return qrun_errf(err, QRUN_E_ARG, "%s: invalid shape", what);
    if (nbytes && !t->data)
        return qrun_errf(err, QRUN_E_ARG, "%s: no data", what);
    memcpy(dims_buf, t->dims, (size_t)t->rank * sizeof *dims_buf);
    onnx__tensor_proto__init(tp);
    tp->n_dims = (size_t)t->rank;
    tp->dims = dims_buf;
    tp->has_data_type = 1;
    tp->data_type = tr->onnx_type;
    /* raw_data for every type: qrun's layout (4/2-bit packed low bits first) is ONNX's. */
    tp->has_raw_data = 1;
    tp->raw_data.len = nbytes;
    tp->raw_data.data = t->data;
    return QRUN_OK;
}

qrun_status onnx_tensor_write_bytes(const struct qrun_tensor *t,
                                    const qrun_allocator *alloc,
                                    void **out,
                                    size_t *size,
                                    qrun_err *err) {
    if (!t || !out || !size)
        return qrun_errf(err, QRUN_E_ARG, "no tensor or output buffer");
    *out = NULL;
    *size = 0;
    if (!alloc)
        alloc = qrun_allocator_default();
    Onnx__TensorProto tp;
    int64_t dims[QRUN_MAX_RANK];
    qrun_status st = onnx_tensor_to_proto(t, "tensor", dims, &tp, err);
    if (st != QRUN_OK)
        return st;
    tp.name = t->name ? t->name : NULL;
    size_t n = onnx__tensor_proto__get_packed_size(&tp);
    uint8_t *buf = qrun_malloc(alloc, n ? n : 1);
    if (!buf)
        return qrun_errf(err, QRUN_E_NOMEM, "out of memory serializing a tensor (%zu bytes)", n);
    size_t packed = onnx__tensor_proto__pack(&tp, buf);
    if (packed != n) {
        qrun_free(alloc, buf);
        return qrun_errf(err, QRUN_E_INTERNAL, "protobuf pack size mismatch");
    }
    *out = buf;
    *size = n;
    return QRUN_OK;
}

qrun_status onnx_write_whole_file(const char *path, const uint8_t *buf, size_t n, qrun_err *err) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0)
        return qrun_errf(err, QRUN_E_IO, "cannot create '%s': %s", path, strerror(errno));
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            return qrun_errf(err, QRUN_E_IO, "cannot write '%s': %s", path, strerror(e));
        }
        done += (size_t)w;
    }
    if (close(fd) != 0)
        return qrun_errf(err, QRUN_E_IO, "cannot write '%s': %s", path, strerror(errno));
    return QRUN_OK;
}

qrun_status onnx_tensor_write_file(const char *path, const struct qrun_tensor *t, qrun_err *err) {
    if (!path)
        return qrun_errf(err, QRUN_E_ARG, "no path");
    const qrun_allocator *alloc = qrun_allocator_default();
    void *buf = NULL;
    size_t n = 0;
    qrun_status st = onnx_tensor_write_bytes(t, alloc, &buf, &n, err);
    if (st == QRUN_OK)
        st = onnx_write_whole_file(path, buf, n, err);
    qrun_free(alloc, buf);
    return st;
}
