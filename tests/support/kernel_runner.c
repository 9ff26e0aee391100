/* SPDX-License-Identifier: Apache-2.0 */
/* Test support: one node, its shape inference and its cpu_ref kernel (see kernel_runner.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/support/kernel_runner.h"

#include "backends/cpu_ref/kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void kr_node_init(kr_node *t, qrun_op op, int64_t opset, int n_in, int n_out) {
    memset(t, 0, sizeof *t);
    t->node.op = op;
    t->node.opset = opset;
    t->node.op_type = (char *)qrun_op_desc_get(op)->name;
    t->node.name = t->node.op_type;
    t->node.domain = (char *)qrun_op_desc_get(op)->domain;
    t->node.inputs = t->io;
    t->node.outputs = t->io + KR_MAX_IO;
    for (int i = 0; i < 2 * KR_MAX_IO; i++)
        t->io[i] = i % KR_MAX_IO;
    t->node.attrs = t->attrs;
    kr_io(t, n_in, n_out);
}

void kr_io(kr_node *t, int n_in, int n_out) {
    assert_true(n_in >= 0 && n_in <= KR_MAX_IO && n_out >= 0 && n_out <= KR_MAX_IO);
    t->node.n_inputs = n_in;
    t->node.n_outputs = n_out;
}

static qrun_attr *kr_attr(kr_node *t, const char *name, qrun_attr_type type) {
    assert_true(t->node.n_attrs < KR_MAX_ATTRS);
    qrun_attr *a = &t->attrs[t->node.n_attrs++];
    memset(a, 0, sizeof *a);
    a->name = (char *)name;
    a->type = type;
    return a;
}

void kr_int(kr_node *t, const char *name, int64_t v) {
    kr_attr(t, name, QRUN_ATTR_INT)->i = v;
}

void kr_float(kr_node *t, const char *name, float v) {
    kr_attr(t, name, QRUN_ATTR_FLOAT)->f = v;
}

void kr_string(kr_node *t, const char *name, const char *s) {
    qrun_attr *a = kr_attr(t, name, QRUN_ATTR_STRING);
    a->s = (char *)s;
    a->s_len = strlen(s);
}

void kr_ints(kr_node *t, const char *name, int n, const int64_t *v) {
    assert_true(n >= 0 && n <= KR_MAX_LIST);
    int slot = t->node.n_attrs;
    qrun_attr *a = kr_attr(t, name, QRUN_ATTR_INTS);
    if (n)
        memcpy(t->ints[slot], v, (size_t)n * sizeof *v);
    a->ints = t->ints[slot];
    a->n = (size_t)n;
}

void kr_floats(kr_node *t, const char *name, int n, const float *v) {
    assert_true(n >= 0 && n <= KR_MAX_LIST);
    int slot = t->node.n_attrs;
    qrun_attr *a = kr_attr(t, name, QRUN_ATTR_FLOATS);
    if (n)
        memcpy(t->floats[slot], v, (size_t)n * sizeof *v);
    a->floats = t->floats[slot];
    a->n = (size_t)n;
}

struct qrun_tensor kr_view(qrun_dtype dt, int rank, const int64_t *dims, void *data) {
    struct qrun_tensor t;
    memset(&t, 0, sizeof t);
    assert_true(qrun_tensor_set_shape(&t, dt, rank, dims));
    t.data = data;
    return t;
}

struct qrun_tensor *kr_tensor_new(qrun_dtype dt, int rank, const int64_t *dims) {
    struct qrun_tensor *t = calloc(1, sizeof *t);
    assert_non_null(t);
    assert_true(qrun_tensor_set_shape(t, dt, rank, dims));
    t->data = calloc(1, t->nbytes + 64);
    assert_non_null(t->data);
    return t;
}

void kr_tensor_free(struct qrun_tensor *t) {
    if (!t)
        return;
    free(t->data);
    free(t);
}

void kr_release(struct qrun_tensor *out, int n) {
    for (int i = 0; i < n; i++) {
        free(out[i].data);
        out[i].data = NULL;
    }
}

const cpu_ref_kernel *kr_kernel(qrun_op op) {
    for (int f = 0; cpu_ref_kernel_families[f]; f++) {
        for (const cpu_ref_kernel *k = cpu_ref_kernel_families[f]; k->op != QRUN_OP_UNKNOWN; k++) {
            if (k->op == op)
                return k;
        }
    }
    return NULL;
}

qrun_status kr_infer(const kr_node *t,
                     const struct qrun_tensor *const *in,
                     struct qrun_tensor *out,
                     bool *need_value,
                     qrun_err *err) {
    qrun_infer_fn infer = qrun_op_desc_get(t->node.op)->infer;
    assert_non_null(infer);
    for (int o = 0; o < t->node.n_outputs; o++)
        memset(&out[o], 0, sizeof out[o]);
    qrun_infer_ctx c = {.node = &t->node,
                        .n_inputs = t->node.n_inputs,
                        .inputs = in,
                        .n_outputs = t->node.n_outputs,
                        .outputs = out,
                        .err = err};
    qrun_status s = infer(&c);
    *need_value = c.need_value;
    return s;
}

qrun_status kr_eval(const kr_node *t,
                    const struct qrun_tensor *const *in,
                    struct qrun_tensor *const *out,
                    int n_threads,
                    qrun_err *err) {
    return kr_eval_unknown(t, in, out, n_threads, 0, err);
}

qrun_status kr_eval_unknown(const kr_node *t,
                            const struct qrun_tensor *const *in,
                            struct qrun_tensor *const *out,
                            int n_threads,
                            unsigned unknown,
                            qrun_err *err) {
    const cpu_ref_kernel *k = kr_kernel(t->node.op);
    assert_non_null(k);
    char why[256] = "";
    if (k->supports && !k->supports(&t->node, in, t->node.n_inputs, why, sizeof why))
        return qrun_errf(err, QRUN_E_UNSUPPORTED, "%s", why);
    qrun_kernel_call call = {.node = &t->node,
                             .n_inputs = t->node.n_inputs,
                             .inputs = in,
                             .n_outputs = t->node.n_outputs,
                             .outputs = out,
                             .n_threads = n_threads,
                             .requant = t->requant,
                             .fp8_accum = t->fp8_accum,
                             .err = err};
    /*
     * As the executor does: prepare once (inputs in `unknown` without data, as
     * values computed at run time), then scratch sizing and eval see the op data.
     */
    struct qrun_tensor planned[KR_MAX_IO];
    const struct qrun_tensor *planned_in[KR_MAX_IO];
    for (int i = 0; i < t->node.n_inputs && i < KR_MAX_IO; i++) {
        planned_in[i] = in[i];
        if (in[i] && (unknown & (1u << i))) {
            planned[i] = *in[i];
            planned[i].data = NULL;
            planned_in[i] = &planned[i];
        }
    }
    call.inputs = planned_in;
    void *op_data = NULL;
    if (k->prepare) {
        op_data = calloc(1, k->op_data_bytes(&call));
        assert_non_null(op_data);
        qrun_status ps = k->prepare(&call, op_data);
        if (ps != QRUN_OK) {
            free(op_data);
            return ps;
        }
        call.op_data = op_data;
    }
    call.scratch_bytes = k->scratch_bytes ? k->scratch_bytes(&call) : 0;
    call.inputs = in;
    void *scratch =
        call.scratch_bytes ? aligned_alloc(64, (call.scratch_bytes + 63) / 64 * 64) : NULL;
    call.scratch = scratch;
    qrun_status s = k->eval(&call);
    free(scratch);
    free(op_data);
    return s;
}

/* Shape inference that must not ask for a value (kernel tests give every input's data). */
static qrun_status kr_infer_alloc(const kr_node *t,
                                  const struct qrun_tensor *const *in,
                                  struct qrun_tensor *shapes,
                                  qrun_err *err) {
    bool need = false;
    qrun_status s = kr_infer(t, in, shapes, &need, err);
    if (s)
        return s;
    assert_false(need);
    return QRUN_OK;
}

static void *kr_filled(size_t nbytes) {
    void *p = malloc(nbytes + 64);
    assert_non_null(p);
    memset(p, 0xFF, nbytes + 64);
    return p;
}

qrun_status kr_run(const kr_node *t,
                   const struct qrun_tensor *const *in,
                   struct qrun_tensor *out,
                   int n_threads,
                   qrun_err *err) {
    qrun_status s = kr_infer_alloc(t, in, out, err);
    if (s)
        return s;
    struct qrun_tensor *ptrs[KR_MAX_IO];
    for (int o = 0; o < t->node.n_outputs; o++) {
        out[o].data = kr_filled(out[o].nbytes);
        ptrs[o] = &out[o];
    }
    return kr_eval(t, in, ptrs, n_threads, err);
}

qrun_status kr_run_new(const kr_node *t,
                       const struct qrun_tensor *const *in,
                       struct qrun_tensor **out,
                       int n_threads,
                       qrun_err *err) {
    struct qrun_tensor shapes[KR_MAX_IO];
    qrun_status s = kr_infer_alloc(t, in, shapes, err);
    if (s)
        return s;
    for (int o = 0; o < t->node.n_outputs; o++) {
        out[o] = kr_tensor_new(shapes[o].dtype, shapes[o].rank, shapes[o].dims);
        memset(out[o]->data, 0xFF, out[o]->nbytes);
    }
    return kr_eval(t, in, out, n_threads, err);
}

double kr_get(const struct qrun_tensor *t, int64_t i) {
    return qrun_dtype_traits_get(t->dtype)->get(t->data, (size_t)i);
}

void kr_assert_dims(const struct qrun_tensor *t, int rank, const int64_t *dims) {
    assert_int_equal(t->rank, rank);
    for (int d = 0; d < rank; d++)
        assert_int_equal(t->dims[d], dims[d]);
}

void kr_expect_floats(
    const struct qrun_tensor *t, const float *want, int64_t n, double rtol, double atol) {
    assert_int_equal(qrun_tensor_numel_(t), n);
    const float *got = t->data;
    for (int64_t i = 0; i < n; i++) {
        if (!(fabs((double)got[i] - want[i]) <= atol + rtol * fabs((double)want[i])))
            fail_msg("element %lld: got %.9g, want %.9g", (long long)i, (double)got[i],
                     (double)want[i]);
    }
}
