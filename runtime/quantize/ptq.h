/* SPDX-License-Identifier: Apache-2.0 */
/* Post-training quantization: rewrite a float graph into QDQ form from calibration statistics. */
#ifndef QRUN_RUNTIME_QUANTIZE_PTQ_H
#define QRUN_RUNTIME_QUANTIZE_PTQ_H

#include "runtime/error.h"
#include "runtime/ir.h"
#include "runtime/quantize/calib.h"

/* One quantized tensor of the rewritten graph (what qrun_quant_tensor_info reports). */
typedef struct qrun_ptq_tensor {
    char *name;        /* value in the float graph */
    char *quantized;   /* value holding the codes */
    char *dequantized; /* DequantizeLinear output */
    int dq_value;      /* its index in the rewritten graph */
    qrun_dtype dtype;
    bool is_constant;
    int axis; /* -1: per tensor */
    int n;    /* number of scales */
    float *scales;
    int32_t *zps;
    double lo, hi; /* calibrated range (activations) */
} qrun_ptq_tensor;

struct qrun_ptq_report {
    const qrun_allocator *alloc;
    int n, cap;
    qrun_ptq_tensor *t;
    int n_bn_folded, n_quantized, n_float, n_samples;
    qrun_dtype dtype;
};

void qrun_ptq_report_free(const qrun_allocator *a, struct qrun_ptq_report *r);

/* Per-node choices of the user: nodes kept in float, nodes with their own format. */
typedef struct qrun_ptq_node_choice {
    const char *node;
    qrun_dtype fmt; /* UNDEFINED: keep in float */
} qrun_ptq_node_choice;

typedef struct qrun_ptq_config {
    qrun_dtype fmt;     /* default format (qrun_ptq_format_ok) */
    bool act_symmetric; /* integer activations symmetric */
    bool pow2;          /* power-of-two scales */
    qrun_calib_method method;
    double percentile;
    int n_choices;
    const qrun_ptq_node_choice *choices;
} qrun_ptq_config;

/*
 * Data of value v when it is known before any input is (a graph constant, or
 * computed from constants only, e.g. a weight reshaped by a node), else NULL.
 */
typedef const struct qrun_tensor *(*qrun_ptq_const_fn)(void *ud, int v);

/**
 * @brief Quantize src (float graph, BN already folded) into *out: every
 * candidate node (Conv, ConvTranspose, Gemm, MatMul, Add, Mul, pools, Concat)
 * not kept in float reads its float inputs through DequantizeLinear: weights
 * are stored quantized (symmetric, per output channel; int8 weights for the
 * uint8 format), integer-format biases as int32 with scale s_x * s_w (FP8
 * biases stay float), activations through QuantizeLinear -> DequantizeLinear
 * with the calibrated per-tensor parameters. A quantized node's output, or
 * the output of the Relu/Clip it feeds alone (fused activation), is quantized
 * once and every consumer reads the dequantized value. hists[v] holds the
 * statistics of value v of src (NULL if never observed).
 */
qrun_status qrun_ptq_quantize(const qrun_graph *src,
                              qrun_calib_hist *const *hists,
                              const qrun_ptq_config *cfg,
                              qrun_ptq_const_fn const_of,
                              void *const_ud,
                              qrun_graph **out,
                              struct qrun_ptq_report **report,
                              qrun_err *err);

#endif
