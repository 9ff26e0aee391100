/* SPDX-License-Identifier: Apache-2.0 */
/* MT19937 against the published reference outputs and NumPy's legacy sampling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/rng.h"

/* mt19937ar.c reference: init_genrand(5489) gives 3499211612 first, and the 10000th output is
 * 4123659995. */
static void test_reference_stream(void **state) {
    (void)state;
    qrun_rng r;
    qrun_rng_seed(&r, 5489u);
    assert_int_equal(qrun_rng_u32(&r), 3499211612u);
    for (int i = 2; i < 10000; i++)
        qrun_rng_u32(&r);
    assert_int_equal(qrun_rng_u32(&r), 4123659995u);
}

/* np.random.seed(0); np.random.random_sample(3) = [0.5488135039273248, 0.7151893663724195,
 * 0.6027633760716439]. */
static void test_numpy_uniform(void **state) {
    (void)state;
    qrun_rng r;
    qrun_rng_seed(&r, 0);
    assert_true(qrun_rng_uniform(&r) == 0.5488135039273248);
    assert_true(qrun_rng_uniform(&r) == 0.7151893663724195);
    assert_true(qrun_rng_uniform(&r) == 0.6027633760716439);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_stream),
        cmocka_unit_test(test_numpy_uniform),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
