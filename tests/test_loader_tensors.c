/* SPDX-License-Identifier: Apache-2.0 */
/* ONNX loader tests: every TensorProto data encoding, and hostile tensor data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "onnx/onnx.pb-c.h"
#include "onnx/onnx_loader.h"
#include "runtime/ir.h"
#include "tests/support/model_builder.h"

#include <stdint.h>

/* ---- tensor encodings -------------------------------------------------- */

static const qrun_value *load_w(tmodel *t, qrun_graph **g) {
    *g = expect_ok(&t->m, NULL);
    return find(*g, "W");
}

static void test_encodings(void **state) {
    (void)state;
    tmodel t;
    qrun_graph *g;
    const qrun_value *w;

    /* float_data */
    float fd[2] = {3.0f, 4.0f};
    tmodel_init(&t);
    t.w.has_raw_data = 0, t.w.n_float_data = 2, t.w.float_data = fd;
    w = load_w(&t, &g);
    assert_memory_equal(w->info.data, fd, sizeof fd);
    qrun_graph_free(g);
    t.w.n_float_data = 1;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "float_data holds 1 values, expected 2");
    t.w.n_float_data = 0;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "has no data");

    /* int32_data for int8, bool, fp16 bits */
    int32_t i32[2] = {-3, 100};
    tmodel_init(&t);
    t.w.has_raw_data = 0, t.w.n_int32_data = 2, t.w.int32_data = i32, t.w.data_type = 3;
    w = load_w(&t, &g);
    assert_int_equal(((int8_t *)w->info.data)[0], -3);
    assert_int_equal(((int8_t *)w->info.data)[1], 100);
    assert_int_equal(w->info.nbytes, 2);
    qrun_graph_free(g);
    t.w.data_type = 9; /* bool */
    w = load_w(&t, &g);
    assert_int_equal(((uint8_t *)w->info.data)[0], 1);
    qrun_graph_free(g);
    int32_t h16[2] = {0x3c00, 0xc000};
    t.w.data_type = 10, t.w.int32_data = h16;
    w = load_w(&t, &g);
    assert_int_equal(((uint16_t *)w->info.data)[0], 0x3c00);
    assert_int_equal(((uint16_t *)w->info.data)[1], 0xc000);
    qrun_graph_free(g);
    /* FP8 codes */
    int32_t f8[2] = {0x38, 0xff};
    t.w.data_type = 17, t.w.int32_data = f8;
    w = load_w(&t, &g);
    assert_int_equal(((uint8_t *)w->info.data)[1], 0xff);
    qrun_graph_free(g);

    /* int4: dims [3] -> two int32 (packed bytes), low nibble first; padding cleared */
    int32_t i4[2] = {0x21, 0xf3};
    tmodel_init(&t);
    t.w_dims[0] = 3;
    t.w.has_raw_data = 0, t.w.n_int32_data = 2, t.w.int32_data = i4, t.w.data_type = 22;
    t.in_dim.dim_value = 3;
    w = load_w(&t, &g);
    assert_int_equal(w->info.nbytes, 2);
    assert_int_equal(((uint8_t *)w->info.data)[0], 0x21);
    assert_int_equal(((uint8_t *)w->info.data)[1], 0x03);
    qrun_graph_free(g);
    t.w.n_int32_data = 3;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "int32_data holds 3 values, expected 2");
    /* uint2: dims [5] -> 2 int32 */
    t.w_dims[0] = 5, t.w.data_type = 25, t.w.n_int32_data = 2;
    w = load_w(&t, &g);
    assert_int_equal(w->info.nbytes, 2);
    assert_int_equal(((uint8_t *)w->info.data)[1], 0x03); /* one 2-bit element kept */
    qrun_graph_free(g);
    /* int4 raw: 3 elements in 2 bytes */
    uint8_t raw4[2] = {0x21, 0x03};
    tmodel_init(&t);
    t.w_dims[0] = 3, t.w.data_type = 21, t.w.raw_data.data = raw4, t.w.raw_data.len = 2;
    w = load_w(&t, &g);
    assert_memory_equal(w->info.data, raw4, 2);
    qrun_graph_free(g);
    t.w.raw_data.len = 1;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "raw_data has 1 bytes, expected 2");

    /* int64_data, double_data, uint64_data for uint32 and uint64 */
    int64_t i64[2] = {INT64_MIN, 5};
    tmodel_init(&t);
    t.w.has_raw_data = 0, t.w.data_type = 7, t.w.n_int64_data = 2, t.w.int64_data = i64;
    w = load_w(&t, &g);
    assert_memory_equal(w->info.data, i64, sizeof i64);
    qrun_graph_free(g);
    double dd[2] = {1e300, -0.5};
    tmodel_init(&t);
    t.w.has_raw_data = 0, t.w.data_type = 11, t.w.n_double_data = 2, t.w.double_data = dd;
    w = load_w(&t, &g);
    assert_memory_equal(w->info.data, dd, sizeof dd);
    qrun_graph_free(g);
    uint64_t u64[2] = {0xffffffffu, 7};
    tmodel_init(&t);
    t.w.has_raw_data = 0, t.w.data_type = 12, t.w.n_uint64_data = 2, t.w.uint64_data = u64;
    w = load_w(&t, &g);
    assert_int_equal(((uint32_t *)w->info.data)[0], 0xffffffffu);
    assert_int_equal(((uint32_t *)w->info.data)[1], 7);
    qrun_graph_free(g);
    t.w.data_type = 13;
    w = load_w(&t, &g);
    assert_memory_equal(w->info.data, u64, sizeof u64);
    qrun_graph_free(g);

    /* STRING initializer: kept, without data */
    ProtobufCBinaryData sd[2] = {{1, (uint8_t *)"a"}, {1, (uint8_t *)"b"}};
    tmodel_init(&t);
    t.w.has_raw_data = 0, t.w.data_type = 8, t.w.n_string_data = 2, t.w.string_data = sd;
    w = load_w(&t, &g);
    assert_int_equal(w->info.dtype, QRUN_DTYPE_STRING);
    assert_null(w->info.data);
    qrun_graph_free(g);

    /* empty tensor: data still non-NULL */
    tmodel_init(&t);
    t.w_dims[0] = 0, t.w.raw_data.len = 0;
    w = load_w(&t, &g);
    assert_non_null(w->info.data);
    assert_int_equal(w->info.nbytes, 0);
    qrun_graph_free(g);
}

static void test_hostile_tensors(void **state) {
    (void)state;
    tmodel t;
    tmodel_init(&t);
    t.w_dims[0] = -2;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "initializer 'W' has negative dimension");

    tmodel_init(&t);
    t.w.n_dims = 3;
    t.w_dims[0] = INT64_MAX / 2, t.w_dims[1] = 4, t.w_dims[2] = 4;
    expect_fail(&t.m, NULL, QRUN_E_MODEL,
                "initializer 'W' has more than 268435456 elements (limit max_tensor_elements)");

    tmodel_init(&t);
    t.w.n_dims = 2;
    t.w_dims[0] = (int64_t)1 << 40, t.w_dims[1] = (int64_t)1 << 21;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "initializer 'W'"); /* bytes overflow or mismatch */

    tmodel_init(&t);
    t.w.n_dims = 20;
    for (int i = 0; i < 20; i++)
        t.w_dims[i] = 1;
    expect_fail(&t.m, NULL, QRUN_E_UNSUPPORTED, "initializer 'W' has rank 20; the limit is 8");

    tmodel_init(&t);
    t.w.data_type = 99;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "initializer 'W' has unknown data_type 99");
    t.w.data_type = 0;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "unknown data_type 0");

    tmodel_init(&t);
    Onnx__TensorProto__Segment seg = ONNX__TENSOR_PROTO__SEGMENT__INIT;
    t.w.segment = &seg;
    expect_fail(&t.m, NULL, QRUN_E_UNSUPPORTED, "initializer 'W' is segmented");

    tmodel_init(&t);
    t.w.raw_data.len = 7;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "raw_data has 7 bytes, expected 8");

    /* huge declared size with tiny data: rejected before allocating (by the element limit, and
     * within the limit by the size check) */
    tmodel_init(&t);
    t.w_dims[0] = (int64_t)1 << 50;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "initializer 'W' has more than");
    t.w_dims[0] = (int64_t)1 << 27;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "raw_data has 8 bytes, expected 536870912");
    t.w.has_raw_data = 0;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "initializer 'W' has no data (expected 134217728");

    /* string_data must hold one string per element */
    ProtobufCBinaryData sd[1] = {{1, (uint8_t *)"a"}};
    tmodel_init(&t);
    t.w.has_raw_data = 0, t.w.data_type = 8, t.w.n_string_data = 1, t.w.string_data = sd;
    expect_fail(&t.m, NULL, QRUN_E_MODEL,
                "initializer 'W': string_data holds 1 values, expected 2");
    t.w.has_raw_data = 1;
    t.w.n_string_data = 0;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "initializer 'W': STRING data must be in string_data");

    tmodel_init(&t);
    t.in_dim.dim_value = -1;
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "value 'X' has negative dimension");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_hostile_tensors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
