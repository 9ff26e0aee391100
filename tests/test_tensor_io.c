/* SPDX-License-Identifier: Apache-2.0 */
/* Tensor file tests: TensorProto .pb and NumPy .npy read/write, roundtrips and hostile files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "onnx/onnx_loader.h"
#include "runtime/alloc.h"
#include "runtime/dtype.h"
#include "runtime/npy.h"
#include "runtime/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MNIST_DIR QRUN_SHARED_DIR "/models/fp32/mnist-8/test_data_set_0"

typedef struct fixture {
    char dir[64];
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/qrun-tensor-io-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void path_in(void **state, const char *name, char *buf, size_t cap) {
    fixture *f = *state;
    snprintf(buf, cap, "%s/%s", f->dir, name);
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

/* A tensor with a deterministic byte pattern; caller releases it. */
static void make_tensor(struct qrun_tensor *t, qrun_dtype dt, int rank, const int64_t *dims) {
    memset(t, 0, sizeof *t);
    assert_true(qrun_tensor_set_shape(t, dt, rank, dims));
    assert_int_equal(qrun_tensor_alloc_data(t, qrun_allocator_default()), QRUN_OK);
    uint8_t *b = t->data;
    for (size_t i = 0; i < t->nbytes; i++)
        b[i] = (uint8_t)(i * 37 + 11);
    /* bool must hold 0/1 to survive the roundtrip unchanged */
    if (dt == QRUN_DTYPE_BOOL)
        for (size_t i = 0; i < t->nbytes; i++)
            b[i] &= 1;
}

/* ---- TensorProto ------------------------------------------------------- */

static void test_read_mnist_input(void **state) {
    (void)state;
    struct qrun_tensor t;
    qrun_err err = {{0}};
    qrun_status st = onnx_tensor_read_file(MNIST_DIR "/input_0.pb", NULL, &t, &err);
    if (st != QRUN_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(t.dtype, QRUN_DTYPE_FLOAT);
    assert_int_equal(t.rank, 4);
    assert_int_equal(t.dims[2], 28);
    assert_int_equal(t.nbytes, 28 * 28 * 4);
    assert_true(t.owns_data);
    qrun_tensor_release(&t);

    st = onnx_tensor_read_file(MNIST_DIR "/output_0.pb", NULL, &t, &err);
    assert_int_equal(st, QRUN_OK);
    assert_int_equal(t.rank, 2);
    assert_int_equal(t.dims[1], 10);
    qrun_tensor_release(&t);
}

static void test_pb_roundtrip_all_dtypes(void **state) {
    int64_t dims[3] = {2, 3, 5};
    int n_written = 0;
    for (int d = 0; d < QRUN_DTYPE_COUNT; d++) {
        const struct qrun_dtype_traits *tr = qrun_dtype_traits_get((qrun_dtype)d);
        if (d == QRUN_DTYPE_UNDEFINED || d == QRUN_DTYPE_STRING)
            continue;
        struct qrun_tensor t;
        make_tensor(&t, (qrun_dtype)d, 3, dims);
        t.name = strdup("tensor_x");
        char path[128];
        path_in(state, "t.pb", path, sizeof path);
        qrun_err err = {{0}};
        qrun_status st = onnx_tensor_write_file(path, &t, &err);
        if (tr->onnx_type == 0) {
            assert_int_equal(st, QRUN_E_UNSUPPORTED); /* FLOAT8E3M4 is qrun-only */
            free(t.name);
            t.name = NULL;
            qrun_tensor_release(&t);
            continue;
        }
        if (st != QRUN_OK)
            fail_msg("%s: %s", tr->name, err.msg);
        struct qrun_tensor r;
        st = onnx_tensor_read_file(path, NULL, &r, &err);
        if (st != QRUN_OK)
            fail_msg("%s: %s", tr->name, err.msg);
        assert_int_equal(r.dtype, d);
        assert_int_equal(r.rank, 3);
        assert_memory_equal(r.dims, dims, sizeof dims);
        assert_int_equal(r.nbytes, t.nbytes);
        assert_memory_equal(r.data, t.data, t.nbytes);
        assert_string_equal(r.name, "tensor_x");
        qrun_tensor_release(&r);
        free(t.name);
        t.name = NULL;
        qrun_tensor_release(&t);
        n_written++;
    }
    assert_true(n_written >= 24);

    /* rank-0 and empty tensors */
    struct qrun_tensor t, r;
    make_tensor(&t, QRUN_DTYPE_INT64, 0, NULL);
    char path[128];
    path_in(state, "s.pb", path, sizeof path);
    qrun_err err = {{0}};
    assert_int_equal(onnx_tensor_write_file(path, &t, &err), QRUN_OK);
    assert_int_equal(onnx_tensor_read_file(path, NULL, &r, &err), QRUN_OK);
    assert_int_equal(r.rank, 0);
    assert_int_equal(r.nbytes, 8);
    assert_null(r.name);
    qrun_tensor_release(&r);
    qrun_tensor_release(&t);
    int64_t zero[2] = {0, 4};
    make_tensor(&t, QRUN_DTYPE_FLOAT, 2, zero);
    assert_int_equal(onnx_tensor_write_file(path, &t, &err), QRUN_OK);
    assert_int_equal(onnx_tensor_read_file(path, NULL, &r, &err), QRUN_OK);
    assert_int_equal(r.nbytes, 0);
    assert_non_null(r.data);
    qrun_tensor_release(&r);
    qrun_tensor_release(&t);

    /* STRING cannot be written */
    memset(&t, 0, sizeof t);
    t.dtype = QRUN_DTYPE_STRING;
    assert_int_equal(onnx_tensor_write_file(path, &t, &err), QRUN_E_UNSUPPORTED);
    make_tensor(&t, QRUN_DTYPE_FLOAT, 2, dims);
    assert_int_equal(onnx_tensor_write_file("/nonexistent-dir/x.pb", &t, &err), QRUN_E_IO);
    qrun_tensor_release(&t);
}

static void test_pb_hostile(void **state) {
    struct qrun_tensor t, r;
    int64_t dims[1] = {16};
    make_tensor(&t, QRUN_DTYPE_FLOAT, 1, dims);
    void *buf = NULL;
    size_t n = 0;
    qrun_err err = {{0}};
    assert_int_equal(onnx_tensor_write_bytes(&t, NULL, &buf, &n, &err), QRUN_OK);
    for (size_t cut = 0; cut < n; cut++) {
        qrun_status st = onnx_tensor_read_bytes(buf, cut, NULL, &r, &err);
        assert_int_not_equal(st, QRUN_OK); /* short raw_data or broken wire format */
        assert_null(r.data);
    }
    uint8_t *c = malloc(n);
    for (size_t i = 0; i < n; i++) {
        memcpy(c, buf, n);
        c[i] ^= 0x5a;
        if (onnx_tensor_read_bytes(c, n, NULL, &r, &err) == QRUN_OK)
            qrun_tensor_release(&r);
    }
    free(c);
    free(buf);
    qrun_tensor_release(&t);

    char path[128];
    path_in(state, "junk.pb", path, sizeof path);
    write_bytes(path, "\xff\xff\xff", 3);
    assert_int_equal(onnx_tensor_read_file(path, NULL, &r, &err), QRUN_E_MODEL);
    assert_non_null(strstr(err.msg, "junk.pb: "));
    assert_int_equal(onnx_tensor_read_file("/nonexistent.pb", NULL, &r, &err), QRUN_E_IO);
}

/* ---- NumPy -------------------------------------------------------------- */

static void test_npy_roundtrip(void **state) {
    static const qrun_dtype k_native[] = {
        QRUN_DTYPE_FLOAT,  QRUN_DTYPE_DOUBLE, QRUN_DTYPE_FLOAT16, QRUN_DTYPE_INT8,
        QRUN_DTYPE_UINT8,  QRUN_DTYPE_INT16,  QRUN_DTYPE_UINT16,  QRUN_DTYPE_INT32,
        QRUN_DTYPE_UINT32, QRUN_DTYPE_INT64,  QRUN_DTYPE_UINT64,  QRUN_DTYPE_BOOL,
    };
    int64_t shapes[4][3] = {{2, 3, 4}, {7, 0, 0}, {0, 0, 0}, {1, 1, 1}};
    int ranks[4] = {3, 1, 0, 3};
    char path[128];
    path_in(state, "a.npy", path, sizeof path);
    for (size_t i = 0; i < sizeof k_native / sizeof k_native[0]; i++) {
        for (int s = 0; s < 4; s++) {
            struct qrun_tensor t, r;
            make_tensor(&t, k_native[i], ranks[s], shapes[s]);
            qrun_err err = {{0}};
            assert_int_equal(qrun_npy_write(path, &t, &err), QRUN_OK);
            qrun_status st = qrun_npy_read(path, NULL, &r, &err);
            if (st != QRUN_OK)
                fail_msg("%s: %s", qrun_dtype_traits_get(k_native[i])->name, err.msg);
            assert_int_equal(r.dtype, t.dtype);
            assert_int_equal(r.rank, t.rank);
            assert_memory_equal(r.dims, t.dims, sizeof(int64_t) * (size_t)t.rank);
            assert_int_equal(r.nbytes, t.nbytes);
            assert_memory_equal(r.data, t.data, t.nbytes);
            qrun_tensor_release(&r);
            qrun_tensor_release(&t);
        }
    }
    /* header alignment: data starts at a multiple of 64 */
    FILE *fp = fopen(path, "rb");
    uint8_t head[10];
    assert_int_equal(fread(head, 1, 10, fp), 10);
    fclose(fp);
    assert_true(qrun_npy_sniff(head, 10));
    assert_int_equal((10 + (head[8] | head[9] << 8)) % 64, 0);
}

static void test_npy_raw_codes(void **state) {
    char path[128];
    path_in(state, "c.npy", path, sizeof path);
    qrun_err err = {{0}};
    struct qrun_tensor t, r;
    /* int4: unpacked to one code per uint8, same shape */
    int64_t dims[1] = {3};
    make_tensor(&t, QRUN_DTYPE_INT4, 1, dims);
    ((uint8_t *)t.data)[0] = 0x21;
    ((uint8_t *)t.data)[1] = 0x0f;
    assert_int_equal(qrun_npy_write(path, &t, &err), QRUN_OK);
    assert_int_equal(qrun_npy_read(path, NULL, &r, &err), QRUN_OK);
    assert_int_equal(r.dtype, QRUN_DTYPE_UINT8);
    assert_int_equal(r.dims[0], 3);
    uint8_t want[3] = {1, 2, 15};
    assert_memory_equal(r.data, want, 3);
    qrun_tensor_release(&r);
    qrun_tensor_release(&t);
    /* FP8 -> |u1 codes, bf16 -> <u2 */
    make_tensor(&t, QRUN_DTYPE_FLOAT8E4M3FN, 1, dims);
    assert_int_equal(qrun_npy_write(path, &t, &err), QRUN_OK);
    assert_int_equal(qrun_npy_read(path, NULL, &r, &err), QRUN_OK);
    assert_int_equal(r.dtype, QRUN_DTYPE_UINT8);
    assert_memory_equal(r.data, t.data, 3);
    qrun_tensor_release(&r);
    qrun_tensor_release(&t);
    make_tensor(&t, QRUN_DTYPE_BFLOAT16, 1, dims);
    assert_int_equal(qrun_npy_write(path, &t, &err), QRUN_OK);
    assert_int_equal(qrun_npy_read(path, NULL, &r, &err), QRUN_OK);
    assert_int_equal(r.dtype, QRUN_DTYPE_UINT16);
    assert_memory_equal(r.data, t.data, 6);
    qrun_tensor_release(&r);
    qrun_tensor_release(&t);
    memset(&t, 0, sizeof t);
    t.dtype = QRUN_DTYPE_STRING;
    assert_int_equal(qrun_npy_write(path, &t, &err), QRUN_E_UNSUPPORTED);
}

/* Write a hand-made .npy: version major, header text, then data bytes. */
static void write_npy(const char *path, int major, const char *hdr, const void *data, size_t n) {
    uint8_t buf[1024];
    size_t hl = strlen(hdr), pre = major == 1 ? 10 : 12;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)major;
    buf[7] = 0;
    buf[8] = (uint8_t)(hl & 0xff);
    buf[9] = (uint8_t)(hl >> 8);
    if (major != 1) {
        buf[10] = 0;
        buf[11] = 0;
    }
    memcpy(buf + pre, hdr, hl);
    memcpy(buf + pre + hl, data, n);
    write_bytes(path, buf, pre + hl + n);
}

static qrun_status read_npy(const char *path, qrun_err *err) {
    struct qrun_tensor r;
    qrun_status st = qrun_npy_read(path, NULL, &r, err);
    if (st == QRUN_OK)
        qrun_tensor_release(&r);
    else
        assert_null(r.data);
    return st;
}

static void test_npy_headers(void **state) {
    char path[128];
    path_in(state, "h.npy", path, sizeof path);
    qrun_err err = {{0}};
    float f[6] = {1, 2, 3, 4, 5, 6};
    struct qrun_tensor r;

    /* v2 and v3, '=' order, double quotes, no trailing comma, Python-2 long */
    write_npy(path, 2, "{\"descr\": \"=f4\", \"fortran_order\": False, \"shape\": (2, 3L)}\n", f,
              sizeof f);
    assert_int_equal(qrun_npy_read(path, NULL, &r, &err), QRUN_OK);
    assert_int_equal(r.dtype, QRUN_DTYPE_FLOAT);
    assert_int_equal(r.dims[1], 3);
    assert_memory_equal(r.data, f, sizeof f);
    qrun_tensor_release(&r);
    write_npy(path, 3, "{'shape': (6,), 'fortran_order': False, 'descr': '<f4', }  \n", f,
              sizeof f);
    assert_int_equal(read_npy(path, &err), QRUN_OK);

    struct {
        const char *hdr;
        size_t n;
        qrun_status want;
    } cases[] = {
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (6,), }\n", 24, QRUN_E_UNSUPPORTED},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (6,), }\n", 24, QRUN_E_UNSUPPORTED},
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }\n", 24, QRUN_E_UNSUPPORTED},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,6), }\n", 24,
         QRUN_E_UNSUPPORTED},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }\n", 24, QRUN_E_MODEL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (7,), }\n", 24, QRUN_E_MODEL},
        {"{'descr': '<f4', 'fortran_order': False, }\n", 24, QRUN_E_MODEL},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}\n", 24,
         QRUN_E_MODEL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}\n", 24, QRUN_E_MODEL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-6,), }\n", 24, QRUN_E_MODEL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6,), } junk\n", 24, QRUN_E_MODEL},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (6,), }\n", 24, QRUN_E_MODEL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6,\n", 24, QRUN_E_MODEL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }\n", 24,
         QRUN_E_MODEL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }\n", 24,
         QRUN_E_MODEL},
        {"", 24, QRUN_E_MODEL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_npy(path, 1, cases[i].hdr, f, cases[i].n);
        qrun_status st = read_npy(path, &err);
        if (st != cases[i].want)
            fail_msg("case %zu: want %d got %d (%s)", i, cases[i].want, st, err.msg);
    }

    /* header length beyond the file, bad magic, unknown version, too short */
    uint8_t bad[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0xff, 0xff, '{', '}'};
    write_bytes(path, bad, sizeof bad);
    assert_int_equal(read_npy(path, &err), QRUN_E_MODEL);
    bad[6] = 4;
    write_bytes(path, bad, sizeof bad);
    assert_int_equal(read_npy(path, &err), QRUN_E_UNSUPPORTED);
    bad[0] = 'X';
    write_bytes(path, bad, sizeof bad);
    assert_int_equal(read_npy(path, &err), QRUN_E_MODEL);
    write_bytes(path, bad, 4);
    assert_int_equal(read_npy(path, &err), QRUN_E_MODEL);
    assert_int_equal(read_npy("/nonexistent.npy", &err), QRUN_E_IO);

    assert_false(qrun_npy_sniff("\x93NUMP", 5));
    assert_false(qrun_npy_sniff(NULL, 10));
    assert_true(qrun_npy_sniff("\x93NUMPY\x01\x00", 8));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_mnist_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pb_roundtrip_all_dtypes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pb_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_npy_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_npy_raw_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_npy_headers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
