/* SPDX-License-Identifier: Apache-2.0 */
/* Test support: build one node by hand, infer its shapes and run its cpu_ref kernel in isolation
 * (TFLM KernelRunner style). */
#ifndef QRUN_TESTS_KERNEL_RUNNER_H
#define QRUN_TESTS_KERNEL_RUNNER_H

#include "backends/cpu_ref/kernel.h"
#include "runtime/dtype.h"
#include "runtime/ir.h"
#include "runtime/op.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { KR_MAX_ATTRS = 12, KR_MAX_LIST = 2 * QRUN_MAX_RANK + 8, KR_MAX_IO = 16 };

/*
 * A node with inline storage for its attributes and io indices. Attribute
 * setters copy names by pointer (pass string literals) and copy list values.
 * Input/output counts live in the node: set them with kr_node_init or kr_io.
 */
typedef struct kr_node {
    qrun_node node;
    qrun_attr attrs[KR_MAX_ATTRS];
    int64_t ints[KR_MAX_ATTRS][KR_MAX_LIST];
    float floats[KR_MAX_ATTRS][KR_MAX_LIST];
    int io[2 * KR_MAX_IO];
    /* Session numerics the kernel call carries (zero: defaults, float requant, FP32 FP8 sums). */
    qrun_requant_mode requant;
    qrun_fp8_accum fp8_accum;
} kr_node;

/** @brief A node of op at opset with n_in inputs and n_out outputs; op_type from the op table. */
void kr_node_init(kr_node *t, qrun_op op, int64_t opset, int n_in, int n_out);
/** @brief Change the input and output counts. */
void kr_io(kr_node *t, int n_in, int n_out);
void kr_int(kr_node *t, const char *name, int64_t v);
void kr_float(kr_node *t, const char *name, float v);
void kr_string(kr_node *t, const char *name, const char *s);
void kr_ints(kr_node *t, const char *name, int n, const int64_t *v);
void kr_floats(kr_node *t, const char *name, int n, const float *v);

/** @brief A tensor struct over caller storage (data may be NULL: value unknown). */
struct qrun_tensor kr_view(qrun_dtype dt, int rank, const int64_t *dims, void *data);
/** @brief A heap tensor with zeroed data (plus 64 bytes of slack); free with kr_tensor_free. */
struct qrun_tensor *kr_tensor_new(qrun_dtype dt, int rank, const int64_t *dims);
void kr_tensor_free(struct qrun_tensor *t);
/** @brief Free the data kr_run allocated in out[0..n). */
void kr_release(struct qrun_tensor *out, int n);

/** @brief The cpu_ref kernel of op (searched in every registered family), or NULL. */
const cpu_ref_kernel *kr_kernel(qrun_op op);
/** @brief Shape inference of the node's op (from the op table) into out[0..n_out). */
qrun_status kr_infer(const kr_node *t,
                     const struct qrun_tensor *const *in,
                     struct qrun_tensor *out,
                     bool *need_value,
                     qrun_err *err);
/**
 * @brief Run the kernel on outputs whose shapes and data are set: checks
 * `supports` (QRUN_E_UNSUPPORTED with the reason in err when it refuses),
 * sizes and provides scratch, evaluates.
 */
qrun_status kr_eval(const kr_node *t,
                    const struct qrun_tensor *const *in,
                    struct qrun_tensor *const *out,
                    int n_threads,
                    qrun_err *err);
/**
 * @brief kr_eval where prepare and scratch sizing see the inputs whose bit is
 * set in unknown (bit i = input i) without data, as the executor plans inputs
 * computed at run time; eval gets every input's data.
 */
qrun_status kr_eval_unknown(const kr_node *t,
                            const struct qrun_tensor *const *in,
                            struct qrun_tensor *const *out,
                            int n_threads,
                            unsigned unknown,
                            qrun_err *err);
/**
 * @brief Infer, allocate out[i].data (filled with 0xFF bytes, NaN for floats,
 * so unwritten elements show) and eval. Release with kr_release. Inference
 * that asks for a value fails the test.
 */
qrun_status kr_run(const kr_node *t,
                   const struct qrun_tensor *const *in,
                   struct qrun_tensor *out,
                   int n_threads,
                   qrun_err *err);
/** @brief Same as kr_run with each output a new heap tensor (kr_tensor_free each). */
qrun_status kr_run_new(const kr_node *t,
                       const struct qrun_tensor *const *in,
                       struct qrun_tensor **out,
                       int n_threads,
                       qrun_err *err);

/** @brief Element i of any numeric tensor as double. */
double kr_get(const struct qrun_tensor *t, int64_t i);
/** @brief Fail unless t has this rank and these dims. */
void kr_assert_dims(const struct qrun_tensor *t, int rank, const int64_t *dims);
/** @brief Fail unless float32 t has n elements each within atol + rtol*|want| of want. */
void kr_expect_floats(
    const struct qrun_tensor *t, const float *want, int64_t n, double rtol, double atol);

#endif
