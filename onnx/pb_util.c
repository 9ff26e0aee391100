/* SPDX-License-Identifier: Apache-2.0 */
/* protobuf-c glue: allocator bridge, nesting pre-check, whole-file reads, name map. */
#include "onnx/onnx_internal.h"
#include "runtime/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void *pb_alloc(void *ud, size_t size) {
    onnx_pb_alloc *x = ud;
    void *p = qrun_malloc(x->alloc, size);
    if (!p)
        x->failed = true;
    return p;
}

static void pb_free(void *ud, void *p) {
    onnx_pb_alloc *x = ud;
    qrun_free(x->alloc, p);
}

void onnx_pb_alloc_init(onnx_pb_alloc *x, const qrun_allocator *alloc) {
    x->pb.alloc = pb_alloc;
    x->pb.free = pb_free;
    x->pb.allocator_data = x;
    x->alloc = alloc;
    x->failed = false;
}

/* ---- wire-format nesting check ---------------------------------------- */

static bool pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return false;
        uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false;
}

/* Field numbers counted by the scan (onnx.proto). */
enum {
    PB_GRAPH_NODE = 1,
    PB_GRAPH_INITIALIZER = 5,
    PB_GRAPH_INPUT = 11,
    PB_GRAPH_OUTPUT = 12,
    PB_GRAPH_VALUE_INFO = 13,
    PB_NODE_INPUT = 1,
    PB_NODE_OUTPUT = 2,
    PB_NODE_ATTRIBUTE = 5,
};

/*
 * Count one occurrence of field `field` of a message of type desc; false when
 * a limit is passed. io[3] and attrs are the counters of the current message.
 */
static bool pb_count(onnx_pb_scan *s,
                     const ProtobufCMessageDescriptor *desc,
                     uint32_t field,
                     int64_t *io,
                     int64_t *attrs) {
    const qrun_limits *lim = s->limits;
    if (!lim)
        return true;
    if (desc == &onnx__graph_proto__descriptor) {
        if (field == PB_GRAPH_NODE && ++s->n_nodes > lim->max_nodes)
            s->exceeded = "max_nodes", s->value = lim->max_nodes;
        else if (field == PB_GRAPH_INITIALIZER && ++s->n_initializers > lim->max_initializers)
            s->exceeded = "max_initializers", s->value = lim->max_initializers;
        else if (field >= PB_GRAPH_INPUT && field <= PB_GRAPH_VALUE_INFO &&
                 ++io[field - PB_GRAPH_INPUT] > lim->max_graph_io)
            s->exceeded = "max_graph_io", s->value = lim->max_graph_io;
    } else if (desc == &onnx__node_proto__descriptor) {
        if (field == PB_NODE_ATTRIBUTE && ++*attrs > lim->max_attributes)
            s->exceeded = "max_attributes", s->value = lim->max_attributes;
        else if ((field == PB_NODE_INPUT || field == PB_NODE_OUTPUT) &&
                 ++io[field - PB_NODE_INPUT] > lim->max_graph_io)
            s->exceeded = "max_graph_io", s->value = lim->max_graph_io;
    }
    return s->exceeded == NULL;
}

/*
 * What protobuf-c will allocate for one field occurrence (a generous
 * estimate: struct or element, pointer in the repeated array, malloc
 * overhead). Unknown fields are kept by protobuf-c too, with their bytes.
 */
static uint64_t pb_cost(const ProtobufCFieldDescriptor *f, unsigned wire, uint64_t len) {
    enum { PTR = 8, OVERHEAD = 16, UNKNOWN = 48 };
    if (!f)
        return UNKNOWN + (wire == 2 ? len : 8);
    if (wire != 2)
        return f->label == PROTOBUF_C_LABEL_REPEATED ? PTR : 0;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE)
        return PTR + OVERHEAD + ((const ProtobufCMessageDescriptor *)f->descriptor)->sizeof_message;
    if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_BYTES)
        return PTR + OVERHEAD + len + 1;
    return len * 8; /* packed scalars: at worst one 8-byte element per byte */
}

static bool pb_check(onnx_pb_scan *s,
                     const ProtobufCMessageDescriptor *desc,
                     const uint8_t *p,
                     const uint8_t *end,
                     int depth) {
    int64_t io[3] = {0, 0, 0},
            attrs = 0; /* per message: graph inputs/outputs/value_info, attributes */
    while (p < end) {
        uint64_t tag, len = 0;
        if (!pb_varint(&p, end, &tag) || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX)
            return false;
        const ProtobufCFieldDescriptor *f =
            desc ? protobuf_c_message_descriptor_get_field(desc, (unsigned)(tag >> 3)) : NULL;
        switch (tag & 7) {
        case 0:
            if (!pb_varint(&p, end, &len))
                return false;
            break;
        case 1:
            if (end - p < 8)
                return false;
            p += 8;
            break;
        case 5:
            if (end - p < 4)
                return false;
            p += 4;
            break;
        case 2: {
            if (!pb_varint(&p, end, &len) || len > (uint64_t)(end - p))
                return false;
            if (f && !pb_count(s, desc, (uint32_t)(tag >> 3), io, &attrs))
                return false;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (depth >= s->max_depth) {
                    s->exceeded = "max_nesting";
                    s->value = s->max_depth;
                    return false;
                }
                if (!pb_check(s, f->descriptor, p, p + len, depth + 1))
                    return false;
            }
            p += len;
            break;
        }
        default: /* groups (3, 4) and invalid wire types */
            return false;
        }
        s->parse_bytes += pb_cost(f, (unsigned)(tag & 7), len);
    }
    return true;
}

bool onnx_pb_scan_run(onnx_pb_scan *s,
                      const ProtobufCMessageDescriptor *desc,
                      const uint8_t *data,
                      size_t size) {
    s->n_nodes = s->n_initializers = 0;
    s->parse_bytes = desc ? desc->sizeof_message : 0;
    s->exceeded = NULL;
    s->value = 0;
    if (!data)
        return size == 0;
    if (!pb_check(s, desc, data, data + size, 0))
        return false;
    /* Real files parse into about their own size (tensor data is one bytes field); a file of
     * tiny messages, strings or unknown fields would ask protobuf-c for many times more. */
    if (s->parse_bytes > (uint64_t)size * ONNX_PARSE_FACTOR + ONNX_PARSE_SLACK) {
        s->exceeded = "parse_bytes";
        s->value = (int64_t)s->parse_bytes;
        return false;
    }
    return true;
}

bool onnx_pb_check_nesting(const ProtobufCMessageDescriptor *desc,
                           const uint8_t *data,
                           size_t size,
                           int max_depth) {
    onnx_pb_scan s = {.max_depth = max_depth};
    return onnx_pb_scan_run(&s, desc, data, size);
}

/* ---- files ------------------------------------------------------------- */

const char *onnx_basename(const char *path) {
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : (path ? path : "");
}

qrun_status onnx_read_whole_file(const char *path,
                                 const qrun_allocator *alloc,
                                 size_t max_bytes,
                                 uint8_t **out,
                                 size_t *size,
                                 qrun_err *err) {
    *out = NULL;
    *size = 0;
    /* O_NONBLOCK: opening a FIFO must not hang; it is then refused as non-regular. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return qrun_errf(err, QRUN_E_IO, "cannot open '%s': %s", path, strerror(errno));
    qrun_status st = QRUN_OK;
    uint8_t *buf = NULL;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = qrun_errf(err, QRUN_E_IO, "cannot stat '%s': %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = qrun_errf(err, QRUN_E_IO, "'%s' is not a regular file", path);
        goto out;
    }
    if (sb.st_size < 0 || (uint64_t)sb.st_size > (uint64_t)max_bytes) {
        st = qrun_errf(err, QRUN_E_MODEL, "'%s' is too large (%lld bytes, limit %zu)", path,
                       (long long)sb.st_size, max_bytes);
        goto out;
    }
    size_t n = (size_t)sb.st_size;
    buf = qrun_malloc(alloc, n ? n : 1);
    if (!buf) {
        st = qrun_errf(err, QRUN_E_NOMEM, "out of memory reading '%s' (%zu bytes)", path, n);
        goto out;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            st = qrun_errf(err, QRUN_E_IO, "cannot read '%s': %s", path,
                           r < 0 ? strerror(errno) : "file shrank while reading");
            goto out;
        }
        got += (size_t)r;
    }
    *out = buf;
    *size = n;
    buf = NULL;
out:
    qrun_free(alloc, buf);
    close(fd);
    return st;
}
