/* SPDX-License-Identifier: Apache-2.0 */
/* qrun public C API: load an ONNX model, run it, read tensors and reports. */
#ifndef QRUN_QRUN_H
#define QRUN_QRUN_H

/*
 * Lifetimes and ownership
 * -----------------------
 * Everything starts from a qrun_context (allocator, thread count, and the
 * last error message for calls made through it). Every object created with
 * a context is owned by the caller and freed with its matching *_free; the
 * context must outlive every object created from it. Objects come back
 * through out-params that are set to NULL on failure.
 *
 * Errors: every fallible call returns a qrun_status. The readable message
 * of the most recent failing call made through a context is returned by
 * qrun_context_errmsg(); it stays valid until the next call that uses that
 * context. qrun never prints, never aborts and keeps no global mutable
 * state; two contexts may be used from two threads at once, one context
 * from one thread at a time.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(QRUN_BUILDING_LIBRARY) && defined(__GNUC__)
#define QRUN_API __attribute__((visibility("default")))
#else
#define QRUN_API
#endif

#define QRUN_VERSION_STRING "0.1.0"
#define QRUN_MAX_RANK 8

/** Status of every fallible call. Closed set; see qrun_status_str(). */
typedef enum qrun_status {
    QRUN_OK = 0,
    QRUN_E_ARG,         /**< invalid argument from the caller */
    QRUN_E_NOMEM,       /**< allocation failed */
    QRUN_E_MODEL,       /**< malformed or invalid model or tensor file */
    QRUN_E_UNSUPPORTED, /**< valid, but an op/dtype/feature no backend supports */
    QRUN_E_IO,          /**< file could not be opened, read or written */
    QRUN_E_INTERNAL     /**< a bug in qrun */
} qrun_status;

/**
 * Element types. Values 0..26 equal ONNX TensorProto.DataType; FLOAT8E3M4
 * has no ONNX type and exists inside qrun only.
 */
typedef enum qrun_dtype {
    QRUN_DTYPE_UNDEFINED = 0,
    QRUN_DTYPE_FLOAT = 1,
    QRUN_DTYPE_UINT8 = 2,
    QRUN_DTYPE_INT8 = 3,
    QRUN_DTYPE_UINT16 = 4,
    QRUN_DTYPE_INT16 = 5,
    QRUN_DTYPE_INT32 = 6,
    QRUN_DTYPE_INT64 = 7,
    QRUN_DTYPE_STRING = 8,
    QRUN_DTYPE_BOOL = 9,
    QRUN_DTYPE_FLOAT16 = 10,
    QRUN_DTYPE_DOUBLE = 11,
    QRUN_DTYPE_UINT32 = 12,
    QRUN_DTYPE_UINT64 = 13,
    QRUN_DTYPE_COMPLEX64 = 14,
    QRUN_DTYPE_COMPLEX128 = 15,
    QRUN_DTYPE_BFLOAT16 = 16,
    QRUN_DTYPE_FLOAT8E4M3FN = 17,
    QRUN_DTYPE_FLOAT8E4M3FNUZ = 18,
    QRUN_DTYPE_FLOAT8E5M2 = 19,
    QRUN_DTYPE_FLOAT8E5M2FNUZ = 20,
    QRUN_DTYPE_UINT4 = 21,
    QRUN_DTYPE_INT4 = 22,
    QRUN_DTYPE_FLOAT4E2M1 = 23,
    QRUN_DTYPE_FLOAT8E8M0 = 24,
    QRUN_DTYPE_UINT2 = 25,
    QRUN_DTYPE_INT2 = 26,
    QRUN_DTYPE_FLOAT8E3M4 = 27, /**< qrun-only: 1.3.4, bias 3, no Inf/NaN */
    QRUN_DTYPE_COUNT
} qrun_dtype;

/** Caller-supplied allocator. alloc returns NULL on failure; free(NULL) is a no-op. */
typedef struct qrun_allocator {
    void *(*alloc)(void *ud, size_t size);
    void (*free)(void *ud, void *ptr);
    void *ud;
} qrun_allocator;

/** Options of a context. Initialise with qrun_options_init() before setting fields. */
typedef struct qrun_options {
    const qrun_allocator *allocator; /**< NULL: malloc/free */
    int n_threads;                   /**< 0: all cores */
    bool no_qdq_lowering; /**< keep QDQ node units as float DQ -> op -> Q (for comparison) */
} qrun_options;

typedef struct qrun_context qrun_context;
typedef struct qrun_model qrun_model;
typedef struct qrun_session qrun_session;
typedef struct qrun_tensor qrun_tensor;

/* ---- status, version, dtypes ------------------------------------------ */

/** @brief Static text for a status. Never NULL. */
QRUN_API const char *qrun_status_str(qrun_status s);
/** @brief Library version, e.g. "0.1.0". */
QRUN_API const char *qrun_version(void);
/** @brief qrun name of a dtype ("float32", "int8", "float8e4m3fn", ...); "undefined" when out of
 * range. */
QRUN_API const char *qrun_dtype_name(qrun_dtype t);
/** @brief Size of one element in bits (4 for int4); 0 for UNDEFINED/STRING. */
QRUN_API int qrun_dtype_bits(qrun_dtype t);
/** @brief Parse a dtype name: qrun's ("int8", "float8e3m4"), ONNX's ("FLOAT8E4M3FN") or a short
 * alias ("fp8e4m3", "fp8e3m4", "bf16"); QRUN_DTYPE_UNDEFINED when unknown. */
QRUN_API qrun_dtype qrun_dtype_from_name(const char *name);

/* ---- context ----------------------------------------------------------- */

QRUN_API void qrun_options_init(qrun_options *opts);
/** @brief Create a context. opts may be NULL (defaults). @return QRUN_OK or QRUN_E_NOMEM. */
QRUN_API qrun_status qrun_context_create(const qrun_options *opts, qrun_context **out);
QRUN_API void qrun_context_free(qrun_context *ctx);
/** @brief Message of the most recent failing call through ctx ("" if none). Valid until the next
 * call on ctx. */
QRUN_API const char *qrun_context_errmsg(const qrun_context *ctx);
/** @brief Number of threads kernels use (resolved: never 0). */
QRUN_API int qrun_context_threads(const qrun_context *ctx);

/**
 * Resource limits of a context: models, tensor files and planned tensors
 * beyond them are refused with QRUN_E_MODEL and a message naming the limit
 * (the field name) and the culprit, before anything is allocated from the
 * size in question. Every field must be > 0. Defaults in docs/security.md
 * and qrun_limits_default(). See docs/security.md for the threat model.
 */
typedef struct qrun_limits {
    uint64_t max_model_bytes;    /**< model file or buffer (2 GiB, protobuf's own limit) */
    int max_nesting;             /**< protobuf message nesting depth (100) */
    int64_t max_nodes;           /**< nodes of all graphs of a model (1,000,000) */
    int64_t max_initializers;    /**< initializers of all graphs of a model (1,000,000) */
    int64_t max_graph_io;        /**< inputs, outputs, value_info entries of one graph, inputs
                                      and outputs of one node (100,000) */
    int max_rank;                /**< tensor rank (QRUN_MAX_RANK; cannot be raised above it) */
    int64_t max_tensor_elements; /**< elements of one tensor: constant, declared graph input or
                                      output, planned activation, tensor file (2^28) */
    uint64_t max_total_initializer_bytes; /**< data of all initializers and constants (8 GiB) */
    int64_t max_string_bytes;             /**< one name, string attribute or external-data
                                               location (65,536) */
    int64_t max_attributes;               /**< attributes of one node (1,000) */
    int64_t max_attribute_elements;       /**< values of one list attribute (ints, floats, strings,
                                               tensors) (16,777,216) */
    uint64_t max_input_file_bytes;        /**< one .pb or .npy tensor file (2 GiB) */
    uint64_t max_arena_bytes;             /**< memory one plan sets aside for activations and kernel
                                               scratch (4 GiB) */
} qrun_limits;

/** @brief The default limits. */
QRUN_API void qrun_limits_default(qrun_limits *out);
/**
 * @brief Replace ctx's limits (a context starts with the defaults); they
 * apply to later loads and sessions. QRUN_E_ARG (message names the field)
 * when a field is <= 0 or max_rank > QRUN_MAX_RANK.
 */
QRUN_API qrun_status qrun_context_set_limits(qrun_context *ctx, const qrun_limits *limits);
/** @brief ctx's current limits. */
QRUN_API void qrun_context_get_limits(const qrun_context *ctx, qrun_limits *out);

/* ---- models ------------------------------------------------------------ */

/**
 * @brief Load and check an ONNX model file. External data is read only from
 * files inside the model's folder. The protobuf is freed before this returns.
 * @return QRUN_OK, QRUN_E_IO, QRUN_E_MODEL (malformed), QRUN_E_UNSUPPORTED
 *         (an op or dtype no backend supports; the message names the node,
 *         op, domain and opset), QRUN_E_NOMEM.
 */
QRUN_API qrun_status qrun_model_load(qrun_context *ctx, const char *path, qrun_model **out);
/**
 * @brief Load a model for inspection (qrun info): like qrun_model_load but
 * nodes no backend supports are accepted; qrun_model_analyze reports them,
 * and a session made from such a model fails when it plans that node.
 */
QRUN_API qrun_status qrun_model_inspect(qrun_context *ctx, const char *path, qrun_model **out);
/** @brief Same as qrun_model_load from bytes; external data resolved against base_dir (NULL:
 * refused). */
QRUN_API qrun_status qrun_model_load_bytes(
    qrun_context *ctx, const void *data, size_t size, const char *base_dir, qrun_model **out);
QRUN_API void qrun_model_free(qrun_model *model);

/**
 * @brief Write the model as an ONNX file (protobuf, weights inline; producer
 * "qrun"). What is written is the model's graph before QDQ lowering (QDQ
 * units stay QuantizeLinear/DequantizeLinear around float ops; initializers
 * no node reads are dropped). Nodes that passes placed at a
 * newer opset than the model imports (QuantizeLinear/DequantizeLinear with
 * per-axis or FP8 parameters) raise the whole graph to that opset: every
 * other node is rewritten to mean the same there (e.g. Squeeze axes become
 * an input at 13), or the call fails naming the node and op it cannot
 * convert.
 * @return QRUN_OK, QRUN_E_IO, QRUN_E_UNSUPPORTED (fp8e3m4 or string tensors,
 *         subgraphs, a node the opset upgrade cannot convert), QRUN_E_NOMEM.
 */
QRUN_API qrun_status qrun_model_save(qrun_context *ctx, const qrun_model *model, const char *path);
/** @brief qrun_model_save with the ai.onnx opset raised to at least opset (0: as needed). */
QRUN_API qrun_status qrun_model_save_opset(qrun_context *ctx,
                                           const qrun_model *model,
                                           const char *path,
                                           int64_t opset);

/** Description of one graph input or output. Strings are owned by the model. */
typedef struct qrun_value_info {
    const char *name;
    qrun_dtype dtype;
    int rank;                              /**< -1 if unknown */
    int64_t dims[QRUN_MAX_RANK];           /**< -1 where unknown or symbolic */
    const char *dim_params[QRUN_MAX_RANK]; /**< symbolic name or NULL */
} qrun_value_info;

QRUN_API int qrun_model_input_count(const qrun_model *model);
QRUN_API int qrun_model_output_count(const qrun_model *model);
/** @return QRUN_OK or QRUN_E_ARG when index is out of range. */
QRUN_API qrun_status qrun_model_input_info(const qrun_model *model,
                                           int index,
                                           qrun_value_info *out);
QRUN_API qrun_status qrun_model_output_info(const qrun_model *model,
                                            int index,
                                            qrun_value_info *out);

/** Model-level facts for `qrun info`. Strings are owned by the model. */
typedef struct qrun_model_meta {
    int64_t ir_version;
    const char *producer_name;
    const char *producer_version;
    const char *graph_name;
    int n_opsets;
    int n_nodes;
    int n_initializers;
} qrun_model_meta;
QRUN_API void qrun_model_get_meta(const qrun_model *model, qrun_model_meta *out);
/** @brief Opset import i: domain ("" = ai.onnx) and version. */
QRUN_API qrun_status qrun_model_opset(const qrun_model *model,
                                      int i,
                                      const char **domain,
                                      int64_t *version);

/** One node, for reports. Strings are owned by the model. */
typedef struct qrun_node_info {
    const char *name; /**< never empty: generated as "<op>_<index>" when the file has none */
    const char *op_type;
    const char *domain; /**< "" for ai.onnx */
    int64_t opset;
    int n_inputs;
    int n_outputs;
} qrun_node_info;
QRUN_API qrun_status qrun_model_node_info(const qrun_model *model, int i, qrun_node_info *out);

/**
 * One QDQ node unit (DequantizeLinear -> op -> QuantizeLinear) found at load.
 * Models are lowered when loaded: units whose integer rewrite is exact (or
 * within the integer op's requantization rounding) run as integer ops
 * (QLinearConv, QLinearMatMul, data movement on the quantized tensor); the
 * rest stay float DQ -> op -> Q. Strings are owned by the model.
 */
typedef struct qrun_lowering_info {
    const char *node;   /**< the unit's op node; a lowered node keeps this name */
    const char *op;     /**< its op type, e.g. "Conv" */
    bool lowered;       /**< rewritten into integer ops */
    const char *target; /**< what it became, e.g. "QLinearConv"; "" when not lowered */
    const char *reason; /**< why it was not lowered; "" when lowered */
} qrun_lowering_info;
/** @brief Number of QDQ node units (0 when the model has none or lowering was disabled). */
QRUN_API int qrun_model_lowering_count(const qrun_model *model);
/** @brief Unit i of the lowering report. @return QRUN_OK or QRUN_E_ARG (index out of range). */
QRUN_API qrun_status qrun_model_lowering_get(const qrun_model *model,
                                             int i,
                                             qrun_lowering_info *out);
/** @brief false when the model was loaded with qrun_options.no_qdq_lowering. */
QRUN_API bool qrun_model_lowering_enabled(const qrun_model *model);

/** Parameter statistics: initializer elements and bytes for each dtype. */
typedef struct qrun_param_stats {
    int64_t count[QRUN_DTYPE_COUNT];
    int64_t bytes[QRUN_DTYPE_COUNT];
} qrun_param_stats;
QRUN_API void qrun_model_param_stats(const qrun_model *model, qrun_param_stats *out);

/* ---- tensors ----------------------------------------------------------- */

/** @brief Create a zero-filled tensor. name may be NULL. */
QRUN_API qrun_status qrun_tensor_create(qrun_context *ctx,
                                        qrun_dtype dtype,
                                        int rank,
                                        const int64_t *dims,
                                        const char *name,
                                        qrun_tensor **out);
/**
 * @brief Read a tensor file: ONNX TensorProto (.pb) or NumPy (.npy, v1/v2/v3,
 * C order, little-endian); the format is chosen by content, not by name.
 */
QRUN_API qrun_status qrun_tensor_load_file(qrun_context *ctx, const char *path, qrun_tensor **out);

/**
 * @brief Read a JPEG or PNG image (chosen by content) into a float32 tensor
 * through a preprocessing spec, e.g.
 * "resize=256,crop=224,mean=0.485,0.456,0.406,std=0.229,0.224,0.225,layout=nchw,scale=255":
 *  - resize=N: bilinear resize (Pillow's filter, antialiased when shrinking)
 *    so the shorter side is N, the longer round(N * long / short);
 *  - crop=N or crop=HxW: center crop (offsets floor((size - crop) / 2));
 *  - each value is (pixel / scale - mean[c]) / std[c] with pixel in 0..255,
 *    RGB channel order; mean/std take 1 or 3 values; scale defaults to 1,
 *    mean to 0, std to 1;
 *  - layout=nchw (default) or nhwc, batch 1: [1,3,H,W] or [1,H,W,3].
 * Every key is optional; NULL or "" gives the raw pixels as [1,3,H,W].
 * Grayscale images become RGB; PNG alpha is dropped; CMYK JPEGs are refused.
 * @return QRUN_OK, QRUN_E_IO, QRUN_E_MODEL (not a valid JPEG/PNG), QRUN_E_ARG
 *         (bad spec: the message names the file and the key), QRUN_E_UNSUPPORTED,
 *         QRUN_E_NOMEM.
 */
QRUN_API qrun_status qrun_tensor_load_image(qrun_context *ctx,
                                            const char *path,
                                            const char *preprocess,
                                            qrun_tensor **out);
/** @brief True when path is a readable file that starts like a JPEG or PNG. */
QRUN_API bool qrun_file_is_image(const char *path);

typedef enum qrun_tensor_format {
    QRUN_TENSOR_FORMAT_PB = 0, /**< ONNX TensorProto */
    QRUN_TENSOR_FORMAT_NPY = 1 /**< NumPy v1 (FP8/4-bit as raw uint8 codes) */
} qrun_tensor_format;
QRUN_API qrun_status qrun_tensor_save_file(qrun_context *ctx,
                                           const qrun_tensor *t,
                                           const char *path,
                                           qrun_tensor_format fmt);
QRUN_API void qrun_tensor_free(qrun_tensor *t);
QRUN_API qrun_dtype qrun_tensor_dtype(const qrun_tensor *t);
QRUN_API int qrun_tensor_rank(const qrun_tensor *t);
QRUN_API const int64_t *qrun_tensor_dims(const qrun_tensor *t);
QRUN_API int64_t qrun_tensor_numel(const qrun_tensor *t);
QRUN_API size_t qrun_tensor_nbytes(const qrun_tensor *t);
QRUN_API void *qrun_tensor_data(qrun_tensor *t);
QRUN_API const void *qrun_tensor_data_const(const qrun_tensor *t);
/** @brief Name given at creation or read from the file; "" if none. */
QRUN_API const char *qrun_tensor_name(const qrun_tensor *t);
/** @brief Element i as double (any numeric dtype, FP8 and 4-bit included); NaN if not numeric. */
QRUN_API double qrun_tensor_get_f64(const qrun_tensor *t, int64_t i);
/** @brief Set element i from a double (round to nearest even, saturating for integers). */
QRUN_API void qrun_tensor_set_f64(qrun_tensor *t, int64_t i, double v);

/* ---- sessions ---------------------------------------------------------- */

/**
 * Per-node record of the last run, collected when profiling is on. One per
 * graph node; nodes folded into constants at plan time have executed false
 * and backend "folded". Sizes come from the tensors the kernel saw in that run.
 */
typedef struct qrun_node_profile {
    const char *name; /**< owned by the session */
    const char *op_type;
    const char *backend;
    double ms;             /**< wall time of the node in the last run */
    bool executed;         /**< false: folded at plan time (no time, no sizes) */
    int64_t macs;          /**< multiply-accumulates, -1 unknown */
    int64_t bytes;         /**< bytes of the inputs read plus the outputs written */
    const char *in_dtype;  /**< element type of input 0 ("float32", "uint8", "float8e4m3fn" ...) */
    const char *out_dtype; /**< element type of output 0 */
    const char *shapes;    /**< inputs -> outputs: "[1, 3, 224, 224]; [] -> [1, 3, 224, 224]"
                                ("none" for an omitted optional input, "..." when cut) */
} qrun_node_profile;

typedef struct qrun_hw qrun_hw;

/**
 * How integer ops requantize an int32 accumulator with one multiplier to the
 * 8-bit output: QLinearConv, QLinearMatMul and com.microsoft QLinearConv,
 * QGemm, QLinearMul, QLinearGlobalAveragePool. (QLinearAdd, QLinearConcat,
 * QLinearAveragePool and the lookup-table ops work in float32 as ONNX
 * Runtime does, in either mode.)
 */
typedef enum qrun_requant_mode {
    /** y = clamp(round_half_even(acc * (float)(s_x*s_w/s_y)) + zp): float32 multiplier, round half
     * to even, then the zero point, as ONNX Runtime (bit-exact with ORT's QOperator models and the
     * ONNX backend test data). Default. */
    QRUN_REQUANT_FLOAT = 0,
    /** TFLite/CMSIS-NN fixed point: the multiplier as a Q0.31 integer and a power-of-two shift,
     * rounding half away from zero (integer-only hardware). May differ from FLOAT by one step. */
    QRUN_REQUANT_FIXED = 1,
} qrun_requant_mode;

/**
 * Accumulator of FP8 QLinearConv/QLinearMatMul (FP8 x FP8 products are exact
 * in float32; the running sum is rounded to this format after every add).
 */
typedef enum qrun_fp8_accum {
    QRUN_FP8_ACCUM_FP32 = 0, /**< float32 accumulator (default) */
    QRUN_FP8_ACCUM_FP16 = 1, /**< IEEE half accumulator, round to nearest even after every add */
    QRUN_FP8_ACCUM_BF16 = 2, /**< bfloat16 accumulator, round to nearest even after every add */
} qrun_fp8_accum;

/** What backend accel_sim simulates (see the accelerator simulation report below). */
typedef enum qrun_sim_mode {
    /** compute outputs on the accelerator's datapaths and time them (default) */
    QRUN_SIM_FULL = 0,
    /** time only: no arithmetic on the accelerator, no weight values read */
    QRUN_SIM_TIMING = 1,
} qrun_sim_mode;

/**
 * Tensor observer: called during qrun_session_run with each graph input as
 * the run starts and with each node output right after the node computed it
 * (outputs of nodes folded at plan time are not reported). name is the
 * model's value name; t (float, integer or FP8) is valid only during the
 * call. Used for calibration, per-layer comparisons and debugging.
 */
typedef void (*qrun_tensor_observer)(void *ud, const char *name, const qrun_tensor *t);

typedef struct qrun_session_options {
    const char *backend;       /**< "cpu_ref" (default) or "accel_sim" (needs hw) */
    bool profile;              /**< collect per-node timings */
    const qrun_hw *hw;         /**< hardware accel_sim simulates (copied at session creation) */
    qrun_requant_mode requant; /**< integer requantization (default QRUN_REQUANT_FLOAT) */
    qrun_fp8_accum fp8_accum;  /**< FP8 accumulator (default QRUN_FP8_ACCUM_FP32); accel_sim uses
                                    the hardware description's accumulators instead */
    qrun_tensor_observer observer; /**< NULL: none */
    void *observer_ud;             /**< passed to observer */
    qrun_sim_mode sim;             /**< accel_sim: full (default) or timing */
    qrun_dtype sim_dtype;          /**< accel_sim timing: every tensor taken as this datatype (float
                                        models timed before quantization); UNDEFINED: the model's own */
} qrun_session_options;
QRUN_API void qrun_session_options_init(qrun_session_options *opts);

/**
 * @brief Create a session for a model. The model must outlive the session.
 * When every input shape is static the plan is made here, so shape and
 * dtype errors surface now rather than at the first run.
 */
QRUN_API qrun_status qrun_session_create(qrun_context *ctx,
                                         const qrun_model *model,
                                         const qrun_session_options *opts,
                                         qrun_session **out);
QRUN_API void qrun_session_free(qrun_session *sess);

/**
 * @brief Run the model. inputs[i] binds graph input i (the caller keeps
 * ownership). On success outputs[j] receives a new tensor for graph output
 * j that the caller frees with qrun_tensor_free.
 * @return QRUN_OK, QRUN_E_ARG (wrong count/shape/dtype; the message names
 *         the input), QRUN_E_MODEL, QRUN_E_UNSUPPORTED, QRUN_E_NOMEM.
 */
QRUN_API qrun_status qrun_session_run(qrun_session *sess,
                                      const qrun_tensor *const *inputs,
                                      int n_inputs,
                                      qrun_tensor **outputs,
                                      int n_outputs);
/** @brief Bytes of the activation arena of the current plan (0 before the first plan). */
QRUN_API size_t qrun_session_arena_bytes(const qrun_session *sess);
/** @brief Node records of the last run (profiling on). Valid until the next run or free. */
QRUN_API int qrun_session_profile(const qrun_session *sess, const qrun_node_profile **records);

/* ---- static analysis for reports --------------------------------------- */

/** Per-node analysis: MACs and which backends accept the node. */
typedef struct qrun_node_analysis {
    int64_t macs;        /**< multiply-accumulates, -1 if shapes are not static */
    bool cpu_ref;        /**< cpu_ref can run it */
    const char *why_not; /**< reason cpu_ref refuses, or NULL */
} qrun_node_analysis;
/**
 * @brief Infer shapes from the model's declared input shapes (symbolic dims
 * taken as 1) and report MACs and backend support for every node.
 * out must hold qrun_model_node_count() records.
 */
QRUN_API qrun_status qrun_model_analyze(qrun_context *ctx,
                                        const qrun_model *model,
                                        qrun_node_analysis *out);
QRUN_API int qrun_model_node_count(const qrun_model *model);

/* ---- post-training quantization ---------------------------------------- */

/*
 * Flow: qrun_calibrator_create(float model, options) -> add samples (each
 * runs the float model once and updates the statistics of every tensor) ->
 * qrun_quantize_model() gives a new model: the float graph with
 * BatchNormalization folded and QuantizeLinear/DequantizeLinear pairs around
 * the quantized ops (ONNX QDQ form; weights stored quantized per output
 * channel, integer formats' biases as int32 with scale s_x * s_w). It runs
 * like any model and lists its quantized tensors for comparisons.
 */

typedef enum qrun_calib_method {
    QRUN_CALIB_MINMAX = 0,
    QRUN_CALIB_PERCENTILE, /**< default, percentile 99.99 */
    QRUN_CALIB_MSE,        /**< clip minimising the quantization MSE, per tensor */
    QRUN_CALIB_ENTROPY     /**< clip minimising the KL divergence of the histogram */
} qrun_calib_method;

typedef enum qrun_scale_mode {
    QRUN_SCALE_FLOAT = 0, /**< any float32 scale */
    QRUN_SCALE_POW2       /**< power-of-two scales (rounded up: nothing extra saturates) */
} qrun_scale_mode;

/** Options of a quantization. Initialise with qrun_quant_options_init(). */
typedef struct qrun_quant_options {
    const char *dtype;  /**< "int8" (default), "uint8", "fp8e4m3", "fp8e4m3fnuz", "fp8e5m2",
                             "fp8e5m2fnuz", "fp8e3m4" */
    bool act_symmetric; /**< integer activations symmetric (zp 0 for int8, 128 for uint8);
                             default asymmetric. FP8 is always symmetric. */
    qrun_scale_mode scale_mode;
    qrun_calib_method calib_method;
    double percentile;      /**< PERCENTILE: in (50, 100]; default 99.99 */
    const char *keep_float; /**< comma-separated node names left in float, or NULL */
    const char *dtype_for;  /**< per-node formats "NODE=fmt[,NODE=fmt...]", or NULL */
} qrun_quant_options;

QRUN_API void qrun_quant_options_init(qrun_quant_options *opts);
/** @brief PTQ format for a --dtype name ("int8", "fp8e4m3", ...); UNDEFINED if not one. */
QRUN_API qrun_dtype qrun_quant_format_from_name(const char *name);
/** @brief Comma-separated list of the PTQ format names, for messages. */
QRUN_API const char *qrun_quant_format_names(void);
/** @brief "minmax" | "percentile" | "mse" | "entropy" to a method; false if unknown. */
QRUN_API bool qrun_calib_method_from_name(const char *name, qrun_calib_method *out);
QRUN_API const char *qrun_calib_method_name(qrun_calib_method m);

typedef struct qrun_calibrator qrun_calibrator;

/**
 * @brief Prepare calibration of a float model: checks the options (unknown
 * format, node names in keep_float/dtype_for that the model lacks), folds
 * BatchNormalization into the preceding Conv/Gemm. The model must outlive
 * the calibrator.
 */
QRUN_API qrun_status qrun_calibrator_create(qrun_context *ctx,
                                            const qrun_model *model,
                                            const qrun_quant_options *opts,
                                            qrun_calibrator **out);
QRUN_API void qrun_calibrator_free(qrun_calibrator *cal);
/**
 * @brief Run the float model on one sample (inputs in graph-input order) and
 * add every tensor's values to its statistics. Errors (wrong count, shape or
 * dtype) name the input.
 */
QRUN_API qrun_status qrun_calibrator_add_sample(qrun_calibrator *cal,
                                                const qrun_tensor *const *inputs,
                                                int n_inputs);
QRUN_API int qrun_calibrator_sample_count(const qrun_calibrator *cal);
/**
 * @brief Build the quantized model from the statistics so far (at least one
 * sample). The new model is independent of the calibrator and freed with
 * qrun_model_free.
 */
QRUN_API qrun_status qrun_quantize_model(qrun_calibrator *cal, qrun_model **out);

/**
 * One quantized tensor of a model made by qrun_quantize_model. Owned by the
 * model. To compare layers, run the float model and the quantized model on
 * the same sample with a qrun_tensor_observer on each: the float values come
 * under `name` (the float model after BN folding keeps the names of the
 * original model's tensors), the quantized codes under `quantized` and, when
 * the unit was not lowered, the dequantized values under `dequantized`.
 * Lowering (the default) replaces lowered units' DQ values by integer ops;
 * quantize with a context made with qrun_options.no_qdq_lowering to keep
 * every `dequantized` value, or dequantize the codes with scales/zero_points.
 * Constant tensors (weights, biases) are folded and not observed.
 */
typedef struct qrun_quant_tensor_info {
    const char *name;        /**< the tensor in the float model (after BN folding) */
    const char *quantized;   /**< value holding the quantized codes in the quantized model */
    const char *dequantized; /**< value holding the dequantized values (observe it) */
    qrun_dtype dtype;        /**< format of the codes (int32 for integer biases) */
    bool is_constant;        /**< weight, bias or other initializer; else an activation */
    int axis;                /**< per-channel axis of scales, or -1 (per tensor) */
    int n_params;            /**< number of scales (1 per tensor) */
    const float *scales;
    const int32_t *zero_points; /**< integer zero points (0 for FP8) */
    double range_lo, range_hi;  /**< clipping range chosen by calibration (activations) */
} qrun_quant_tensor_info;

/** Counts of a quantization, for reports. */
typedef struct qrun_quant_summary {
    int n_bn_folded;       /**< BatchNormalization nodes folded away */
    int n_quantized_nodes; /**< nodes running between DequantizeLinear and QuantizeLinear */
    int n_float_nodes;     /**< candidate nodes kept in float (keep_float) */
    int n_samples;         /**< calibration samples */
    qrun_dtype dtype;      /**< default format */
} qrun_quant_summary;

/** @brief Number of quantized tensors (0 for a model not made by qrun_quantize_model). */
QRUN_API int qrun_model_quant_tensor_count(const qrun_model *model);
QRUN_API qrun_status qrun_model_quant_tensor(const qrun_model *model,
                                             int i,
                                             qrun_quant_tensor_info *out);
/** @brief QRUN_E_ARG when the model was not made by qrun_quantize_model. */
QRUN_API qrun_status qrun_model_quant_summary(const qrun_model *model, qrun_quant_summary *out);

/* ---- INT8 vs FP8 comparison (qrun compare) ------------------------------ */

/*
 * Flow: qrun_compare_create(float model, options) -> add calibration samples
 * (each runs the float model once per format's calibrator) -> add evaluation
 * samples: the first one quantizes the model to every format; each runs the
 * float model once and each quantized model once, with tensor observers, and
 * accumulates per format: output-0 SQNR and max |error| vs FP32, top-1
 * accuracy (samples with a label) and top-1 agreement with FP32, and per
 * quantized activation tensor its SQNR vs the float value and its saturation
 * count. Nothing is kept across samples but the sums.
 *
 * Definitions. SQNR = 10*log10(sum x^2 / sum (x - xq)^2) over every element
 * of every sample (x: float model's value, xq: the quantized model's value
 * dequantized with the tensor's scale and zero point); +Inf when there is no
 * error. Top-1 is the argmax over every element of graph output 0 (models
 * with several outputs are judged on output 0). A value is saturated when its
 * code is the format's smallest or largest code (+-max finite for FP8), that code is
 * not the zero point (an asymmetric post-ReLU tensor's zero is not a clip) and the float
 * value lies beyond the value of that code. Weights and biases are folded constants and are
 * not listed.
 */

typedef struct qrun_compare qrun_compare;

/** Options of a comparison. Initialise with qrun_compare_options_init(). */
typedef struct qrun_compare_options {
    const char *dtypes; /**< comma-separated formats, default "int8,fp8e4m3,fp8e5m2,fp8e3m4" */
    qrun_quant_options quant; /**< PTQ options of every format (its dtype field is ignored) */
    const char *backend; /**< backend of the quantized runs: "cpu_ref" (default), "accel_sim" */
    const qrun_hw *hw;   /**< hardware of accel_sim (must outlive the comparison) */
    qrun_requant_mode requant;
    qrun_fp8_accum fp8_accum;
} qrun_compare_options;

/** Results of the float model. */
typedef struct qrun_compare_fp32 {
    int samples;
    int labeled; /**< samples given with a label */
    double top1; /**< fraction correct among labeled samples; NaN when none */
} qrun_compare_fp32;

/** Results of one format. Strings are owned by the comparison. */
typedef struct qrun_compare_result {
    const char *dtype; /**< format name as given ("int8", "fp8e4m3", ...) */
    int samples;
    int labeled;
    double top1;        /**< fraction correct among labeled samples; NaN when none */
    double agree_fp32;  /**< fraction of samples whose top-1 equals the float model's */
    double sqnr_db;     /**< of graph output 0 vs FP32 */
    double max_abs_err; /**< largest |output 0 - FP32 output 0| */
    int n_layers;       /**< quantized activation tensors (qrun_compare_layer) */
    int n_quantized_nodes;
    bool has_sim;      /**< backend accel_sim: the simulated costs below are set */
    int sim_nodes;     /**< nodes the simulator timed (0: the hardware runs none of them) */
    double cycles;     /**< per inference */
    double latency_us; /**< per inference */
    double energy_uj;  /**< per inference */
} qrun_compare_result;

/** One quantized activation tensor of one format. Strings are owned by the comparison. */
typedef struct qrun_compare_layer {
    const char *name; /**< the tensor's name in the float model */
    qrun_dtype dtype; /**< format of its codes */
    double sqnr_db;   /**< NaN when never observed */
    int64_t saturated;
    int64_t count; /**< elements compared (over every sample) */
    float scale;   /**< per-tensor scale (first one when per channel) */
    int32_t zero_point;
    double range_lo, range_hi; /**< calibrated clipping range */
    /** Backend accel_sim (has_sim of the result): the simulated cost of the node that produced
     * this activation in the quantized model (its busy cycles and its energy per inference,
     * host link included; 0 for a host node or a graph input); NaN otherwise. */
    double cycles, energy_uj;
    const char *producer; /**< that node's name ("" for a graph input); owned by the comparison */
} qrun_compare_layer;

QRUN_API void qrun_compare_options_init(qrun_compare_options *opts);
/**
 * @brief Prepare a comparison of a float model (one output at least) with
 * its quantized versions. Errors: unknown format in dtypes (the message names
 * it and lists the formats), the PTQ option errors of qrun_calibrator_create.
 * The model must outlive the comparison.
 */
QRUN_API qrun_status qrun_compare_create(qrun_context *ctx,
                                         const qrun_model *model,
                                         const qrun_compare_options *opts,
                                         qrun_compare **out);
QRUN_API void qrun_compare_free(qrun_compare *cmp);
/** @brief Add one calibration sample (inputs in graph-input order). Only before the first eval
 * sample. */
QRUN_API qrun_status qrun_compare_add_calib(qrun_compare *cmp,
                                            const qrun_tensor *const *inputs,
                                            int n_inputs);
/**
 * @brief Add one evaluation sample with its label (class index, or -1 for
 * none). The first call quantizes every format (at least one calibration
 * sample needed).
 */
QRUN_API qrun_status qrun_compare_add_eval(qrun_compare *cmp,
                                           const qrun_tensor *const *inputs,
                                           int n_inputs,
                                           int label);
QRUN_API void qrun_compare_get_fp32(const qrun_compare *cmp, qrun_compare_fp32 *out);
/** @brief Number of formats compared. */
QRUN_API int qrun_compare_result_count(const qrun_compare *cmp);
/** @return QRUN_OK or QRUN_E_ARG when i is out of range. */
QRUN_API qrun_status qrun_compare_get_result(const qrun_compare *cmp,
                                             int i,
                                             qrun_compare_result *out);
/** @brief Layer j of format i (valid after the first eval sample). */
QRUN_API qrun_status qrun_compare_get_layer(const qrun_compare *cmp,
                                            int i,
                                            int j,
                                            qrun_compare_layer *out);
/** @brief The quantized model of format i (NULL before the first eval sample); owned by cmp. */
QRUN_API const qrun_model *qrun_compare_model(const qrun_compare *cmp, int i);

/* ---- accelerator hardware descriptions (accel_sim) ---------------------- */

/*
 * A validated description of the simulated accelerator: bank grid, PEs,
 * SRAM, clock, per-datatype MAC rates and accumulators, row and bank
 * networks, off-chip memory, host link, energy table and power. Loaded from
 * a built-in preset ("runai200", "speedai240", "edge_small") or a JSON file
 * in the same format; qrun_hw_to_json shows the format. (qrun_hw is declared
 * with the session options.)
 */

/** @brief Number of built-in presets. */
QRUN_API int qrun_hw_preset_count(void);
/** @brief Name of built-in preset i (static string); NULL when out of range. */
QRUN_API const char *qrun_hw_preset_name(int i);
/**
 * @brief Load a built-in preset by name or else a JSON file by path, and
 * validate it: unknown keys, wrong types, out-of-range values and missing
 * keys are errors naming the file and the key path
 * ("hw/runai200.json: energy.sram_read_pj_per_byte: must be a number > 0 ...").
 * @return QRUN_OK, QRUN_E_ARG (unknown preset name), QRUN_E_IO, QRUN_E_MODEL
 *         (malformed or invalid description), QRUN_E_NOMEM.
 */
QRUN_API qrun_status qrun_hw_load(qrun_context *ctx, const char *preset_or_file, qrun_hw **out);
QRUN_API void qrun_hw_free(qrun_hw *hw);
/** @brief The description's name and one-line description; owned by hw. */
QRUN_API const char *qrun_hw_name(const qrun_hw *hw);
QRUN_API const char *qrun_hw_description(const qrun_hw *hw);
/**
 * @brief Peak dense throughput for an input datatype named as for --dtype
 * ("int8", "fp8e3m4", ...): 2 x MACs per cycle x clock, in TOPS (10^12 op/s).
 * @return QRUN_OK, QRUN_E_ARG (unknown name), QRUN_E_UNSUPPORTED (the
 *         hardware has no MAC rate for that datatype).
 */
QRUN_API qrun_status qrun_hw_peak_tops(qrun_hw *hw, const char *dtype, double *tops);
/**
 * @brief Every parameter, its citations and "peak_tops" as JSON that
 * qrun_hw_load reads back. The string is owned by hw and stays valid until
 * the next qrun_hw_to_json call on hw or qrun_hw_free.
 */
QRUN_API qrun_status qrun_hw_to_json(qrun_hw *hw, const char **json);
/** @brief A readable listing (summary, peak per datatype, every parameter with unit and
 * citation). Owned by hw like qrun_hw_to_json's string. */
QRUN_API qrun_status qrun_hw_to_text(qrun_hw *hw, const char **text);

/* ---- accelerator simulation report (backend accel_sim) ----------------- */

/*
 * With backend "accel_sim" the session plans every node either on the
 * simulated accelerator (conv/matmul on its MAC datapaths; elementwise,
 * pooling and data-movement ops in its row units and network) or on the host
 * (cpu_ref), charging the host link for every value that crosses. The report
 * covers the current plan: one record per node that is not a folded constant,
 * and model totals (layer-pipelined when all weights fit in SRAM, else layer
 * by layer with weights streamed from off-chip memory).
 */
#define QRUN_SIM_ENERGY_KINDS 8
/** @brief Name of energy class i: "mac", "sram", "rotator", "noc", "offchip", "requant", "static",
 * "host" (host-link transfers of the partition); NULL when out of range. */
QRUN_API const char *qrun_sim_energy_name(int i);

typedef struct qrun_sim_node {
    const char *name; /**< node name, owned by the model */
    const char *op_type;
    const char *placement;   /**< "accel", "fused" (in the producer's row unit) or "host" */
    const char *dtype;       /**< datatype that set the rate ("int8", ...); "" on the host */
    const char *mapping;     /**< MAC nodes: "pe_output" or "row_split_k"; else "" */
    const char *accumulator; /**< MAC nodes: "int32", "float16", "fixed40@2^-12" ...; else "" */
    int banks;               /**< banks the node runs on */
    bool weights_streamed;   /**< weights come from off-chip memory every inference */
    int64_t macs;
    double cycles;              /**< total, at the hardware clock (host-link time excluded) */
    double compute_cycles;      /**< MAC waves / SIMD passes with rotator, reduce and requant */
    double noc_stall_cycles;    /**< bank-network time not hidden behind compute */
    double memory_stall_cycles; /**< off-chip weight streaming not hidden behind compute */
    double dispatch_cycles;     /**< controller overhead */
    double time_us;             /**< cycles / clock: the node's busy time on its banks */
    double host_link_us;        /**< values pulled over the host link for this node (the first
                                     node crossing also carries the per-inference launch) */
    double start_us;            /**< when it starts in the batch-1 schedule */
    double latency_share_us;    /**< its share of latency_us: time on the critical path of the
                                     batch-1 schedule, host link included (0 off the path); the
                                     shares of all records sum to latency_us */
    double utilization;         /**< MACs / (cycles x PEs of its banks x MAC rate), 0..1 */
    double zero_fraction;       /**< MAC nodes after a full-mode run: share of products with a zero
                                     operand (no MAC energy on zero-detect hardware); else -1 */
    double bytes_sram, bytes_noc, bytes_offchip, bytes_host; /**< bytes moved per level */
    double energy_uj; /**< total: dynamic, static share of its banks, host link */
    double energy_kind_uj[QRUN_SIM_ENERGY_KINDS];
} qrun_sim_node;

typedef struct qrun_sim_summary {
    const char *hw;        /**< hardware name, owned by the session */
    const char *mode;      /**< "full" or "timing" */
    const char *execution; /**< "layer_pipelined" or "layer_by_layer" */
    int n_nodes;           /**< records (accel + fused + host nodes) */
    int n_accel;           /**< nodes on the accelerator, fused ones included */
    int n_fused;
    int n_host;   /**< nodes that fell back to the host */
    int n_folded; /**< constants folded at plan time (weights from constant subgraphs) */
    int banks_used;
    int64_t macs;
    double weight_bytes;   /**< accelerator weights */
    double sram_bytes;     /**< on-chip SRAM */
    double streamed_bytes; /**< weights streamed from off-chip per inference */
    double host_link_bytes, host_link_us;
    double latency_us;           /**< one inference, batch 1, in the schedule kept (execution) */
    double latency_pipelined_us; /**< row-level pipelined (0: weights do not fit) */
    double latency_layer_by_layer_us; /**< one pass layer by layer over all banks */
    double launch_us;                 /**< per-inference host overhead inside latency_us */
    double throughput_ips;            /**< steady state, inferences per second */
    double energy_uj;                 /**< per inference (static power over 1 / throughput) */
    double average_w;                 /**< energy x throughput */
    double effective_tops;            /**< 2 x MACs x throughput */
    double energy_kind_uj[QRUN_SIM_ENERGY_KINDS];
} qrun_sim_summary;

/** @brief Records of the current plan (0 when the session's backend is not accel_sim). */
QRUN_API int qrun_session_sim_node_count(const qrun_session *sess);
/** @return QRUN_OK or QRUN_E_ARG when i is out of range. */
QRUN_API qrun_status qrun_session_sim_node(const qrun_session *sess, int i, qrun_sim_node *out);
/** @return QRUN_OK, QRUN_E_ARG when the session's backend is not accel_sim, QRUN_E_UNSUPPORTED
 * when the weights cannot be placed (message in the context). */
QRUN_API qrun_status qrun_session_sim_summary(const qrun_session *sess, qrun_sim_summary *out);

#ifdef __cplusplus
}
#endif
#endif /* QRUN_QRUN_H */
