/* SPDX-License-Identifier: Apache-2.0 */
/* External tensor data, read only from regular files strictly inside the model's folder. */
#include "onnx/onnx_internal.h"
#include "runtime/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Rules (ONNX ExternalDataSecurity plus the fixes for CVE-2022-25882,
 * CVE-2024-27318 and the 2026 symlink/hardlink CVEs):
 *  - keys are only location, offset, length, checksum, basepath; each at most once;
 *  - location is relative, non-empty, and has no ".." segment;
 *  - every component is opened with openat(O_NOFOLLOW) from a descriptor of
 *    base_dir, so no symlink is followed anywhere in the path; together with
 *    the ".." ban nothing outside base_dir can be reached;
 *  - the file must be regular with a single link (a hard link could alias
 *    any file on the same filesystem);
 *  - offset/length are plain decimal integers >= 0, offset + length stays
 *    within the file, and length (or size - offset) equals the tensor's size.
 * checksum is accepted but not verified; basepath is ignored (the folder is
 * always the model's own).
 */

typedef struct ext_info {
    const char *location;
    const char *offset;
    const char *length;
} ext_info;

static qrun_status
ext_parse_keys(const Onnx__TensorProto *tp, const char *what, ext_info *info, qrun_err *err) {
    static const char *const k_keys[] = {"location", "offset", "length", "checksum", "basepath"};
    const char *seen[5] = {NULL, NULL, NULL, NULL, NULL};
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        const char *key = e->key ? e->key : "";
        size_t k = 0;
        while (k < 5 && strcmp(key, k_keys[k]) != 0)
            k++;
        if (k == 5)
            return qrun_errf(err, QRUN_E_MODEL, "%s: unknown external_data key '%s'", what, key);
        if (seen[k])
            return qrun_errf(err, QRUN_E_MODEL, "%s: external_data key '%s' given twice", what,
                             key);
        seen[k] = e->value ? e->value : "";
    }
    info->location = seen[0];
    info->offset = seen[1];
    info->length = seen[2];
    if (!info->location || !info->location[0])
        return qrun_errf(err, QRUN_E_MODEL, "%s: external data has no location", what);
    return QRUN_OK;
}

/* Strict non-negative decimal: digits only, no sign, no spaces, fits int64. */
static bool ext_parse_u63(const char *s, uint64_t *out) {
    if (!s || !*s)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static qrun_status ext_check_location(const char *loc, const char *what, qrun_err *err) {
    if (loc[0] == '/')
        return qrun_errf(err, QRUN_E_MODEL, "%s: external data location '%s' is an absolute path",
                         what, loc);
    for (const char *p = loc; *p;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return qrun_errf(err, QRUN_E_MODEL,
                             "%s: external data location '%s' contains a '..' segment", what, loc);
        p += n;
        if (*p == '/')
            p++;
    }
    return QRUN_OK;
}

static qrun_status
ext_open_error(const char *loc, const char *comp, int e, const char *what, qrun_err *err) {
    if (e == ELOOP || e == EMLINK)
        return qrun_errf(err, QRUN_E_MODEL,
                         "%s: external data location '%s': '%s' is a symbolic link, refused", what,
                         loc, comp);
    if (e == ENOTDIR)
        return qrun_errf(err, QRUN_E_MODEL,
                         "%s: external data location '%s': '%s' is not a directory (or is a "
                         "symbolic link), refused",
                         what, loc, comp);
    return qrun_errf(err, QRUN_E_MODEL, "%s: cannot open external data file '%s': %s", what, loc,
                     strerror(e));
}

/*
 * Walk loc one component at a time from dirfd (consumed), never following
 * symlinks. Returns the file descriptor of the final component or -1.
 */
static int
ext_open_beneath(int dirfd, const char *loc, const char *what, qrun_err *err, qrun_status *st) {
    char comp[256];
    const char *p = loc;
    int fd = dirfd;
    for (;;) {
        while (*p == '/')
            p++;
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *rest = p + n;
        while (*rest == '/')
            rest++;
        bool last = *rest == '\0';
        if (n >= sizeof comp) {
            *st = qrun_errf(err, QRUN_E_MODEL,
                            "%s: external data location '%s' has a component "
                            "longer than %zu bytes",
                            what, loc, sizeof comp - 1);
            close(fd);
            return -1;
        }
        memcpy(comp, p, n);
        comp[n] = '\0';
        if (n == 0 || (n == 1 && comp[0] == '.')) {
            if (last) {
                *st = qrun_errf(err, QRUN_E_MODEL,
                                "%s: external data location '%s' does not name a file", what, loc);
                close(fd);
                return -1;
            }
            p = rest;
            continue;
        }
        int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY;
        /* O_NONBLOCK: a FIFO must not hang the open; it is refused as non-regular after. */
        flags |= last ? O_NONBLOCK : O_DIRECTORY;
        int next = openat(fd, comp, flags);
        int saved = errno;
        close(fd);
        if (next < 0) {
            *st = ext_open_error(loc, comp, saved, what, err);
            return -1;
        }
        fd = next;
        if (last)
            return fd;
        p = rest;
    }
}

static qrun_status ext_pread_all(int fd,
                                 uint8_t *dst,
                                 size_t n,
                                 uint64_t off,
                                 const char *what,
                                 const char *loc,
                                 qrun_err *err) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, dst + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return qrun_errf(err, QRUN_E_IO, "%s: reading external data '%s': %s", what, loc,
                             strerror(errno));
        if (r == 0)
            return qrun_errf(err, QRUN_E_MODEL, "%s: external data file '%s' ended early", what,
                             loc);
        got += (size_t)r;
    }
    return QRUN_OK;
}

/* Validate range and size against the opened file, then read. */
static qrun_status ext_read_fd(int fd,
                               const ext_info *info,
                               const char *what,
                               const qrun_allocator *alloc,
                               size_t nbytes,
                               void **out,
                               qrun_err *err) {
    const char *loc = info->location;
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return qrun_errf(err, QRUN_E_IO, "%s: cannot stat external data '%s': %s", what, loc,
                         strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return qrun_errf(err, QRUN_E_MODEL, "%s: external data '%s' is not a regular file", what,
                         loc);
    if (sb.st_nlink > 1)
        return qrun_errf(err, QRUN_E_MODEL,
                         "%s: external data '%s' has %ju hard links; refused (a hard link can "
                         "alias a file outside the model folder)",
                         what, loc, (uintmax_t)sb.st_nlink);
    uint64_t size = (uint64_t)sb.st_size, off = 0, len = 0;
    if (info->offset && !ext_parse_u63(info->offset, &off))
        return qrun_errf(err, QRUN_E_MODEL,
                         "%s: external data offset '%s' is not a non-negative decimal integer",
                         what, info->offset);
    if (info->length && !ext_parse_u63(info->length, &len))
        return qrun_errf(err, QRUN_E_MODEL,
                         "%s: external data length '%s' is not a non-negative decimal integer",
                         what, info->length);
    if (off > size)
        return qrun_errf(err, QRUN_E_MODEL,
                         "%s: external data offset %" PRIu64 " is past the end of '%s' (%" PRIu64
                         " bytes)",
                         what, off, loc, size);
    if (!info->length)
        len = size - off;
    else if (len > size - off)
        return qrun_errf(err, QRUN_E_MODEL,
                         "%s: external data range offset %" PRIu64 " + length %" PRIu64
                         " goes beyond the end of '%s' (%" PRIu64 " bytes)",
                         what, off, len, loc, size);
    if (len != (uint64_t)nbytes)
        return qrun_errf(err, QRUN_E_MODEL,
                         "%s: external data length %" PRIu64 " does not match the tensor size %zu",
                         what, len, nbytes);
    uint8_t *buf = qrun_calloc(alloc, 1, nbytes ? nbytes : 1);
    if (!buf)
        return qrun_errf(err, QRUN_E_NOMEM, "%s: out of memory (%zu bytes)", what, nbytes);
    qrun_status st = ext_pread_all(fd, buf, nbytes, off, what, loc, err);
    if (st != QRUN_OK) {
        qrun_free(alloc, buf);
        return st;
    }
    *out = buf;
    return QRUN_OK;
}

qrun_status onnx_external_read(const Onnx__TensorProto *tp,
                               const char *base_dir,
                               const char *what,
                               const qrun_allocator *alloc,
                               size_t nbytes,
                               void **out,
                               qrun_err *err) {
    *out = NULL;
    if (!base_dir)
        return qrun_errf(err, QRUN_E_MODEL,
                         "%s uses external data, but no base directory was given", what);
    ext_info info = {0};
    qrun_status st = ext_parse_keys(tp, what, &info, err);
    if (st == QRUN_OK)
        st = ext_check_location(info.location, what, err);
    if (st != QRUN_OK)
        return st;
    int dirfd = open(base_dir[0] ? base_dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return qrun_errf(err, QRUN_E_IO, "%s: cannot open model folder '%s': %s", what, base_dir,
                         strerror(errno));
    int fd = ext_open_beneath(dirfd, info.location, what, err, &st);
    if (fd < 0)
        return st;
    st = ext_read_fd(fd, &info, what, alloc, nbytes, out, err);
    close(fd);
    return st;
}
