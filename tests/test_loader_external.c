/* SPDX-License-Identifier: Apache-2.0 */
/* ONNX loader tests: tensors in external data files, and the checks that keep them inside
 * the model's directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "onnx/onnx.pb-c.h"
#include "onnx/onnx_loader.h"
#include "runtime/ir.h"
#include "tests/support/model_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- external data ------------------------------------------------------ */

static void test_external_data(void **state) {
    (void)state;
    char *dir = tmpdir_make();
    char sub[300], path[400], outside[400];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    float data[6] = {9, 8, 1.5f, -2.0f, 7, 7}; /* W = data[2..3] at offset 8 */
    write_file(dir, "w.bin", data, sizeof data);
    write_file(sub, "w.bin", data + 2, 8);
    tmodel t;
    tmodel_ext x;
    qrun_graph *g;

    /* valid: whole file in sub/, and an 8-byte range at offset 8 */
    tmodel_init(&t);
    tmodel_set_external(&t, &x, "sub/w.bin", NULL, NULL);
    g = expect_ok(&t.m, dir);
    assert_memory_equal(find(g, "W")->info.data, data + 2, 8);
    qrun_graph_free(g);
    tmodel_set_external(&t, &x, "./w.bin", "8", "8");
    g = expect_ok(&t.m, dir);
    assert_memory_equal(find(g, "W")->info.data, data + 2, 8);
    qrun_graph_free(g);

    /* via a model file: base dir is the file's folder */
    size_t n;
    uint8_t *mb = pack_model(&t.m, &n);
    write_file(dir, "model.onnx", mb, n);
    free(mb);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    qrun_err err = {{0}};
    assert_int_equal(onnx_load_file(path, NULL, &g, &err), QRUN_OK);
    assert_memory_equal(find(g, "W")->info.data, data + 2, 8);
    qrun_graph_free(g);

    /* no base dir (bytes) -> refused */
    expect_fail(&t.m, NULL, QRUN_E_MODEL, "no base directory");

    tmodel_set_external(&t, &x, "/etc/passwd", NULL, "8");
    expect_fail(&t.m, dir, QRUN_E_MODEL, "absolute path");
    tmodel_set_external(&t, &x, "../x", NULL, "8");
    expect_fail(&t.m, dir, QRUN_E_MODEL, "'..' segment");
    tmodel_set_external(&t, &x, "a/../../x", NULL, "8");
    expect_fail(&t.m, dir, QRUN_E_MODEL, "'..' segment");
    tmodel_set_external(&t, &x, "sub/..", NULL, "8");
    expect_fail(&t.m, dir, QRUN_E_MODEL, "'..' segment");
    tmodel_set_external(&t, &x, "", NULL, NULL);
    expect_fail(&t.m, dir, QRUN_E_MODEL, "no location");
    tmodel_set_external(&t, &x, "missing.bin", NULL, NULL);
    expect_fail(&t.m, dir, QRUN_E_MODEL, "cannot open external data file 'missing.bin'");
    tmodel_set_external(&t, &x, "sub", NULL, NULL);
    expect_fail(&t.m, dir, QRUN_E_MODEL, "not a regular file");

    /* symlinks: final component, and a directory component */
    snprintf(outside, sizeof outside, "%s/w.bin", sub);
    snprintf(path, sizeof path, "%s/link.bin", dir);
    assert_int_equal(symlink(outside, path), 0);
    tmodel_set_external(&t, &x, "link.bin", NULL, NULL);
    expect_fail(&t.m, dir, QRUN_E_MODEL, "symbolic link");
    snprintf(path, sizeof path, "%s/linkdir", dir);
    assert_int_equal(symlink(sub, path), 0);
    tmodel_set_external(&t, &x, "linkdir/w.bin", NULL, NULL);
    expect_fail(&t.m, dir, QRUN_E_MODEL, "symbolic link");

    /* hard link */
    snprintf(path, sizeof path, "%s/hard.bin", dir);
    assert_int_equal(link(outside, path), 0);
    tmodel_set_external(&t, &x, "hard.bin", NULL, NULL);
    expect_fail(&t.m, dir, QRUN_E_MODEL, "hard links");
    unlink(path);

    /* ranges and lengths */
    tmodel_set_external(&t, &x, "w.bin", "100", NULL);
    expect_fail(&t.m, dir, QRUN_E_MODEL, "past the end");
    tmodel_set_external(&t, &x, "w.bin", "20", "8");
    expect_fail(&t.m, dir, QRUN_E_MODEL, "beyond the end");
    tmodel_set_external(&t, &x, "w.bin", "0", "12");
    expect_fail(&t.m, dir, QRUN_E_MODEL, "does not match the tensor size 8");
    tmodel_set_external(&t, &x, "w.bin", NULL, NULL); /* 24 bytes != 8 */
    expect_fail(&t.m, dir, QRUN_E_MODEL, "length 24 does not match");
    tmodel_set_external(&t, &x, "w.bin", "-8", "8");
    expect_fail(&t.m, dir, QRUN_E_MODEL, "not a non-negative decimal");
    tmodel_set_external(&t, &x, "w.bin", "0x8", "8");
    expect_fail(&t.m, dir, QRUN_E_MODEL, "not a non-negative decimal");
    tmodel_set_external(&t, &x, "w.bin", "8", "99999999999999999999999");
    expect_fail(&t.m, dir, QRUN_E_MODEL, "not a non-negative decimal");

    /* unknown and repeated keys */
    tmodel_set_external(&t, &x, "w.bin", "8", "8");
    x.e[1].key = "evil";
    expect_fail(&t.m, dir, QRUN_E_MODEL, "unknown external_data key 'evil'");
    x.e[1].key = "location";
    expect_fail(&t.m, dir, QRUN_E_MODEL, "given twice");

    rm_rf(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_external_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
