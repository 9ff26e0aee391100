/* SPDX-License-Identifier: Apache-2.0 */
/* Load-time graph validation (runtime/graph_check.c) through the public API: each error names
 * the node, its op and what is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "qrun/qrun.h"
#include "tests/support/model_builder.h"

#include <stdlib.h>
#include <string.h>

/* Load q's model from memory; expect status want and a message containing needle. */
static void expect_load(const Onnx__ModelProto *m, qrun_status want, const char *needle) {
    size_t n = 0;
    uint8_t *buf = pack_model(m, &n);
    qrun_context *ctx = NULL;
    assert_int_equal(qrun_context_create(NULL, &ctx), QRUN_OK);
    qrun_model *model = NULL;
    qrun_status st = qrun_model_load_bytes(ctx, buf, n, NULL, &model);
    if (st != want || (needle && !strstr(qrun_context_errmsg(ctx), needle)))
        fail_msg("want %d with '%s', got %d: %s", want, needle ? needle : "", st,
                 qrun_context_errmsg(ctx));
    qrun_model_free(model);
    qrun_context_free(ctx);
    free(buf);
}

static void test_attribute_types(void **state) {
    (void)state;
    qm_model q;
    int64_t d[2] = {2, 2};
    qm_init(&q, "Concat", "cat", 13);
    qm_input(&q, "A", 1, 2, d);
    qm_output(&q, "B");
    qm_attr_int(&q, "axis", 1);
    expect_load(&q.m, QRUN_OK, NULL);
    /* the same attribute written as a FLOAT: refused, not read as the default */
    q.attr[0].type = 1, q.attr[0].has_i = 0, q.attr[0].has_f = 1, q.attr[0].f = 1.0f;
    expect_load(&q.m, QRUN_E_MODEL,
                "<memory>: node 'cat' (Concat): attribute 'axis' must be INT, got FLOAT");

    qm_init(&q, "LeakyRelu", "lr", 13);
    qm_input(&q, "A", 1, 2, d);
    qm_output(&q, "B");
    qm_attr_int(&q, "alpha", 1);
    expect_load(&q.m, QRUN_E_MODEL,
                "node 'lr' (LeakyRelu): attribute 'alpha' must be FLOAT, got INT");
}

static void test_arity(void **state) {
    (void)state;
    qm_model q;
    int64_t d[1] = {2};
    qm_init(&q, "Relu", "r", 13);
    qm_input(&q, "A", 1, 1, d);
    qm_input(&q, "B", 1, 1, d);
    qm_output(&q, "C");
    expect_load(&q.m, QRUN_E_MODEL, "node 'r' (Relu): has 2 inputs; Relu takes 1 to 1");

    qm_init(&q, "Conv", "c", 13);
    qm_none(&q);
    qm_input(&q, "W", 1, 1, d);
    qm_output(&q, "C");
    expect_load(&q.m, QRUN_E_MODEL, "node 'c' (Conv): required input 0 is missing");

    qm_init(&q, "Relu", "r2", 13);
    qm_input(&q, "A", 1, 1, d);
    qm_output(&q, "C");
    qm_output(&q, "D");
    expect_load(&q.m, QRUN_E_MODEL, "node 'r2' (Relu): has 2 outputs; Relu gives 1 to 1");
}

/* Structural errors found while loading, each naming the node. */
static void test_structure(void **state) {
    (void)state;
    tmodel t;
    /* two nodes writing the same value */
    tmodel_init(&t);
    Onnx__NodeProto second = t.node;
    second.name = "second";
    Onnx__NodeProto *nodes[2] = {&t.node, &second};
    t.g.n_node = 2, t.g.node = nodes;
    expect_load(&t.m, QRUN_E_MODEL, "node 'second' output 'Y' is already defined by node 'Add_0'");
    /* a node output shadowing an initializer */
    tmodel_init(&t);
    t.node_out[0] = "W";
    t.out.name = "W";
    expect_load(&t.m, QRUN_E_MODEL, "node 'Add_0' output 'W' is already defined by an initializer");
    /* a cycle */
    tmodel_init(&t);
    t.node_in[1] = "Y";
    expect_load(&t.m, QRUN_E_MODEL, "graph has a cycle through node 'Add_0' (Add)");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attribute_types),
        cmocka_unit_test(test_arity),
        cmocka_unit_test(test_structure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
