/* SPDX-License-Identifier: Apache-2.0 */
/* NumPy .npy files: strict header parser with bounds checks, and a v1.0 writer. */
#include "runtime/npy.h"
#include "runtime/alloc.h"
#include "runtime/dtype.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c assumes a little-endian host"
#endif

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
/* Real headers are a few hundred bytes; v2/v3 allow 4 GiB, which we refuse. */
#define NPY_MAX_HEADER (1u << 20)

bool qrun_npy_sniff(const void *head, size_t n) {
    return head && n >= NPY_MAGIC_LEN && memcmp(head, NPY_MAGIC, NPY_MAGIC_LEN) == 0;
}

/* ---- descr table ------------------------------------------------------- */

typedef struct npy_type {
    char kind;
    int size;
    qrun_dtype dtype;
} npy_type;

static const npy_type k_npy_types[] = {
    {'f', 2, QRUN_DTYPE_FLOAT16}, {'f', 4, QRUN_DTYPE_FLOAT},  {'f', 8, QRUN_DTYPE_DOUBLE},
    {'i', 1, QRUN_DTYPE_INT8},    {'u', 1, QRUN_DTYPE_UINT8},  {'i', 2, QRUN_DTYPE_INT16},
    {'u', 2, QRUN_DTYPE_UINT16},  {'i', 4, QRUN_DTYPE_INT32},  {'u', 4, QRUN_DTYPE_UINT32},
    {'i', 8, QRUN_DTYPE_INT64},   {'u', 8, QRUN_DTYPE_UINT64}, {'b', 1, QRUN_DTYPE_BOOL},
};

static qrun_status npy_descr_dtype(const char *d, qrun_dtype *out, qrun_err *err) {
    if (strlen(d) != 3 || d[2] < '1' || d[2] > '9')
        return qrun_errf(err, QRUN_E_UNSUPPORTED, "npy descr '%s' is not supported", d);
    char order = d[0], kind = d[1];
    int size = d[2] - '0';
    if (order == '>' && size > 1)
        return qrun_errf(err, QRUN_E_UNSUPPORTED, "npy descr '%s' is big-endian (not supported)",
                         d);
    bool order_ok = order == '<' || order == '=' || order == '|' || order == '>';
    if (!order_ok || (order == '|' && size > 1))
        return qrun_errf(err, QRUN_E_UNSUPPORTED, "npy descr '%s' is not supported", d);
    for (size_t i = 0; i < sizeof k_npy_types / sizeof k_npy_types[0]; i++) {
        if (k_npy_types[i].kind == kind && k_npy_types[i].size == size) {
            *out = k_npy_types[i].dtype;
            return QRUN_OK;
        }
    }
    return qrun_errf(err, QRUN_E_UNSUPPORTED, "npy descr '%s' is not supported", d);
}

/* ---- header parser ----------------------------------------------------- */

typedef struct npy_parser {
    const char *p, *end;
} npy_parser;

typedef struct npy_header {
    char descr[16];
    bool fortran;
    int rank;
    int64_t dims[QRUN_MAX_RANK];
    bool has_descr, has_fortran, has_shape;
    bool rank_too_big;
} npy_header;

static void np_ws(npy_parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static bool np_eat(npy_parser *ps, char c) {
    np_ws(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return true;
    }
    return false;
}

/* A quoted Python string without escapes; false if malformed or too long. */
static bool np_string(npy_parser *ps, char *buf, size_t cap) {
    np_ws(ps);
    if (ps->p >= ps->end || (*ps->p != '\'' && *ps->p != '"'))
        return false;
    char q = *ps->p++;
    size_t n = 0;
    while (ps->p < ps->end && *ps->p != q) {
        if (*ps->p == '\\' || n + 1 >= cap)
            return false;
        buf[n++] = *ps->p++;
    }
    if (ps->p >= ps->end)
        return false;
    ps->p++;
    buf[n] = '\0';
    return true;
}

static bool np_word(npy_parser *ps, const char *w) {
    size_t n = strlen(w);
    np_ws(ps);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0)
        return false;
    ps->p += n;
    return true;
}

static bool np_int(npy_parser *ps, int64_t *out) {
    np_ws(ps);
    int64_t v = 0;
    const char *start = ps->p;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
        int d = *ps->p - '0';
        if (v > (INT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
        ps->p++;
    }
    if (ps->p == start)
        return false;
    if (ps->p < ps->end && *ps->p == 'L') /* Python 2 longs */
        ps->p++;
    *out = v;
    return true;
}

/* "(d0, d1, ...)" with optional trailing comma; "()" is a scalar. */
static bool np_shape(npy_parser *ps, npy_header *h) {
    if (!np_eat(ps, '('))
        return false;
    h->rank = 0;
    if (np_eat(ps, ')'))
        return true;
    for (;;) {
        int64_t d;
        if (!np_int(ps, &d))
            return false;
        if (h->rank < QRUN_MAX_RANK)
            h->dims[h->rank] = d;
        else
            h->rank_too_big = true;
        if (h->rank < 64)
            h->rank++;
        if (np_eat(ps, ')'))
            return true;
        if (!np_eat(ps, ','))
            return false;
        if (np_eat(ps, ')'))
            return true;
    }
}

static bool np_entry(npy_parser *ps, npy_header *h) {
    char key[32];
    if (!np_string(ps, key, sizeof key) || !np_eat(ps, ':'))
        return false;
    if (strcmp(key, "descr") == 0 && !h->has_descr) {
        h->has_descr = true;
        return np_string(ps, h->descr, sizeof h->descr);
    }
    if (strcmp(key, "fortran_order") == 0 && !h->has_fortran) {
        h->has_fortran = true;
        if (np_word(ps, "True"))
            h->fortran = true;
        else if (!np_word(ps, "False"))
            return false;
        return true;
    }
    if (strcmp(key, "shape") == 0 && !h->has_shape) {
        h->has_shape = true;
        return np_shape(ps, h);
    }
    return false; /* unknown or repeated key */
}

static bool npy_parse_header(const char *s, size_t n, npy_header *h) {
    npy_parser ps = {s, s + n};
    memset(h, 0, sizeof *h);
    if (!np_eat(&ps, '{'))
        return false;
    for (;;) {
        if (np_eat(&ps, '}'))
            break;
        if (!np_entry(&ps, h))
            return false;
        if (np_eat(&ps, ','))
            continue;
        if (!np_eat(&ps, '}'))
            return false;
        break;
    }
    np_ws(&ps); /* padding: spaces and the final newline */
    return ps.p == ps.end && h->has_descr && h->has_fortran && h->has_shape;
}

/* ---- reading ----------------------------------------------------------- */

static qrun_status
npy_pread(int fd, void *dst, size_t n, off_t off, const char *path, qrun_err *err) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)dst + got, n - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return qrun_errf(err, r < 0 ? QRUN_E_IO : QRUN_E_MODEL, "%s: %s", path,
                             r < 0 ? strerror(errno) : "file ended early");
        got += (size_t)r;
    }
    return QRUN_OK;
}

/* Preamble: magic, version, header length; sets *hoff (header start) and *hlen. */
static qrun_status
npy_preamble(int fd, uint64_t fsize, const char *path, size_t *hoff, size_t *hlen, qrun_err *err) {
    uint8_t pre[12];
    if (fsize < 10)
        return qrun_errf(err, QRUN_E_MODEL, "%s: not a .npy file (too short)", path);
    qrun_status st = npy_pread(fd, pre, fsize >= 12 ? 12 : 10, 0, path, err);
    if (st != QRUN_OK)
        return st;
    if (!qrun_npy_sniff(pre, sizeof pre))
        return qrun_errf(err, QRUN_E_MODEL, "%s: not a .npy file (bad magic)", path);
    if (pre[6] < 1 || pre[6] > 3 || pre[7] != 0)
        return qrun_errf(err, QRUN_E_UNSUPPORTED, "%s: .npy format version %u.%u is not supported",
                         path, pre[6], pre[7]);
    if (pre[6] == 1) {
        *hoff = 10;
        *hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else {
        if (fsize < 12)
            return qrun_errf(err, QRUN_E_MODEL, "%s: truncated .npy header", path);
        *hoff = 12;
        *hlen =
            (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    }
    if (*hlen > NPY_MAX_HEADER || *hoff + *hlen > fsize)
        return qrun_errf(err, QRUN_E_MODEL, "%s: .npy header length %zu is invalid", path, *hlen);
    return QRUN_OK;
}

static qrun_status npy_header_to_tensor(
    const npy_header *h, const char *path, struct qrun_tensor *out, size_t *nbytes, qrun_err *err) {
    if (h->fortran)
        return qrun_errf(err, QRUN_E_UNSUPPORTED, "%s: fortran_order arrays are not supported",
                         path);
    if (h->rank_too_big || h->rank > QRUN_MAX_RANK)
        return qrun_errf(err, QRUN_E_UNSUPPORTED, "%s: rank %d is above the maximum %d", path,
                         h->rank, QRUN_MAX_RANK);
    qrun_dtype dt = QRUN_DTYPE_UNDEFINED;
    qrun_status st = npy_descr_dtype(h->descr, &dt, err);
    if (st != QRUN_OK) {
        qrun_err_prefix(err, "%s: ", path);
        return st;
    }
    int64_t numel = qrun_shape_numel(h->rank, h->dims);
    if (numel < 0 || !qrun_dtype_nbytes(dt, numel, nbytes))
        return qrun_errf(err, QRUN_E_MODEL, "%s: shape overflows", path);
    out->dtype = dt;
    out->rank = h->rank;
    memcpy(out->dims, h->dims, sizeof out->dims);
    for (int k = h->rank; k < QRUN_MAX_RANK; k++)
        out->dims[k] = 0;
    return QRUN_OK;
}

static qrun_status npy_read_fd(
    int fd, const char *path, const qrun_allocator *alloc, struct qrun_tensor *out, qrun_err *err) {
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        return qrun_errf(err, QRUN_E_IO, "%s: not a regular file", path);
    uint64_t fsize = (uint64_t)sb.st_size;
    size_t hoff = 0, hlen = 0, nbytes = 0;
    qrun_status st = npy_preamble(fd, fsize, path, &hoff, &hlen, err);
    if (st != QRUN_OK)
        return st;
    char *hdr = qrun_malloc(alloc, hlen + 1);
    if (!hdr)
        return qrun_errf(err, QRUN_E_NOMEM, "%s: out of memory", path);
    st = npy_pread(fd, hdr, hlen, (off_t)hoff, path, err);
    npy_header h;
    if (st == QRUN_OK && !npy_parse_header(hdr, hlen, &h))
        st = qrun_errf(err, QRUN_E_MODEL, "%s: malformed .npy header", path);
    qrun_free(alloc, hdr);
    if (st == QRUN_OK)
        st = npy_header_to_tensor(&h, path, out, &nbytes, err);
    if (st != QRUN_OK)
        return st;
    uint64_t avail = fsize - hoff - hlen;
    if (avail != (uint64_t)nbytes)
        return qrun_errf(err, QRUN_E_MODEL,
                         "%s: .npy data has %" PRIu64 " bytes, the header says %zu", path, avail,
                         nbytes);
    out->data = qrun_calloc(alloc, 1, nbytes ? nbytes : 1);
    if (!out->data)
        return qrun_errf(err, QRUN_E_NOMEM, "%s: out of memory (%zu bytes)", path, nbytes);
    out->owns_data = true;
    out->alloc = alloc;
    out->nbytes = nbytes;
    return npy_pread(fd, out->data, nbytes, (off_t)(hoff + hlen), path, err);
}

qrun_status qrun_npy_read(const char *path,
                          const qrun_allocator *alloc,
                          struct qrun_tensor *out,
                          qrun_err *err) {
    if (!path || !out)
        return qrun_errf(err, QRUN_E_ARG, "no path or output tensor");
    memset(out, 0, sizeof *out);
    if (!alloc)
        alloc = qrun_allocator_default();
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return qrun_errf(err, QRUN_E_IO, "cannot open '%s': %s", path, strerror(errno));
    qrun_status st = npy_read_fd(fd, path, alloc, out, err);
    close(fd);
    if (st != QRUN_OK) {
        qrun_tensor_release(out);
        memset(out, 0, sizeof *out);
    }
    return st;
}

/* ---- writing ----------------------------------------------------------- */

/* descr for t's dtype; *unpack_bits set for sub-byte types written one code per byte. */
static const char *npy_descr_for(qrun_dtype dt, int *unpack_bits) {
    *unpack_bits = 0;
    switch (dt) {
    case QRUN_DTYPE_FLOAT16:
        return "<f2";
    case QRUN_DTYPE_FLOAT:
        return "<f4";
    case QRUN_DTYPE_DOUBLE:
        return "<f8";
    case QRUN_DTYPE_INT8:
        return "|i1";
    case QRUN_DTYPE_UINT8:
        return "|u1";
    case QRUN_DTYPE_INT16:
        return "<i2";
    case QRUN_DTYPE_UINT16:
        return "<u2";
    case QRUN_DTYPE_INT32:
        return "<i4";
    case QRUN_DTYPE_UINT32:
        return "<u4";
    case QRUN_DTYPE_INT64:
        return "<i8";
    case QRUN_DTYPE_UINT64:
        return "<u8";
    case QRUN_DTYPE_BOOL:
        return "|b1";
    case QRUN_DTYPE_BFLOAT16:
        return "<u2"; /* raw bit patterns */
    case QRUN_DTYPE_FLOAT8E4M3FN:
    case QRUN_DTYPE_FLOAT8E4M3FNUZ:
    case QRUN_DTYPE_FLOAT8E5M2:
    case QRUN_DTYPE_FLOAT8E5M2FNUZ:
    case QRUN_DTYPE_FLOAT8E8M0:
    case QRUN_DTYPE_FLOAT8E3M4:
        return "|u1"; /* raw codes */
    case QRUN_DTYPE_UINT4:
    case QRUN_DTYPE_INT4:
    case QRUN_DTYPE_FLOAT4E2M1:
    case QRUN_DTYPE_UINT2:
    case QRUN_DTYPE_INT2:
        *unpack_bits = qrun_dtype_traits_get(dt)->bits;
        return "|u1"; /* one raw code per element */
    default:
        return NULL;
    }
}

static qrun_status
npy_write_all(int fd, const void *buf, size_t n, const char *path, qrun_err *err) {
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, (const char *)buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return qrun_errf(err, QRUN_E_IO, "cannot write '%s': %s", path, strerror(errno));
        done += (size_t)w;
    }
    return QRUN_OK;
}

/* Header v1.0: dict padded with spaces so data starts at a multiple of 64, ending in '\n'. */
static size_t
npy_make_header(const struct qrun_tensor *t, const char *descr, char *buf, size_t cap) {
    char shape[QRUN_MAX_RANK * 24 + 4];
    size_t n = 0;
    shape[0] = '\0';
    for (int k = 0; k < t->rank; k++)
        n += (size_t)snprintf(shape + n, sizeof shape - n, "%" PRId64 ",%s", t->dims[k],
                              k + 1 < t->rank ? " " : "");
    if (t->rank > 1)
        shape[n - 1] = '\0'; /* "(2, 3)" but "(3,)" */
    memcpy(buf, NPY_MAGIC "\x01\x00", 8);
    int dict = snprintf(buf + 10, cap - 10,
                        "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape);
    size_t total = 10 + (size_t)dict + 1;
    size_t padded = (total + 63) / 64 * 64;
    memset(buf + 10 + dict, ' ', padded - total);
    buf[padded - 1] = '\n';
    size_t hlen = padded - 10;
    buf[8] = (char)(hlen & 0xff);
    buf[9] = (char)(hlen >> 8);
    return padded;
}

static qrun_status npy_write_unpacked(
    int fd, const struct qrun_tensor *t, int bits, int64_t numel, const char *path, qrun_err *err) {
    uint8_t chunk[4096];
    const uint8_t *src = t->data;
    unsigned mask = (1u << bits) - 1;
    size_t fill = 0;
    for (int64_t i = 0; i < numel; i++) {
        uint64_t bit = (uint64_t)i * (uint64_t)bits;
        chunk[fill++] = (uint8_t)((src[bit / 8] >> (bit % 8)) & mask);
        if (fill == sizeof chunk) {
            qrun_status st = npy_write_all(fd, chunk, fill, path, err);
            if (st != QRUN_OK)
                return st;
            fill = 0;
        }
    }
    return npy_write_all(fd, chunk, fill, path, err);
}

qrun_status qrun_npy_write(const char *path, const struct qrun_tensor *t, qrun_err *err) {
    if (!path || !t)
        return qrun_errf(err, QRUN_E_ARG, "no path or tensor");
    int bits = 0;
    const char *descr = npy_descr_for(t->dtype, &bits);
    if (!descr)
        return qrun_errf(err, QRUN_E_UNSUPPORTED, "dtype %s cannot be written as .npy",
                         qrun_dtype_traits_get(t->dtype)->name);
    int64_t numel = qrun_shape_numel(t->rank, t->dims);
    size_t nbytes = 0;
    if (numel < 0 || !qrun_dtype_nbytes(t->dtype, numel, &nbytes))
        return qrun_errf(err, QRUN_E_ARG, "tensor has an invalid shape");
    if (nbytes && !t->data)
        return qrun_errf(err, QRUN_E_ARG, "tensor has no data");
    char hdr[512];
    size_t hn = npy_make_header(t, descr, hdr, sizeof hdr);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0)
        return qrun_errf(err, QRUN_E_IO, "cannot create '%s': %s", path, strerror(errno));
    qrun_status st = npy_write_all(fd, hdr, hn, path, err);
    if (st == QRUN_OK && bits)
        st = npy_write_unpacked(fd, t, bits, numel, path, err);
    else if (st == QRUN_OK)
        st = npy_write_all(fd, t->data, nbytes, path, err);
    if (close(fd) != 0 && st == QRUN_OK)
        st = qrun_errf(err, QRUN_E_IO, "cannot write '%s': %s", path, strerror(errno));
    return st;
}
