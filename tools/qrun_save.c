/* SPDX-License-Identifier: Apache-2.0 */
/* `qrun convert`: load a model and write it back as ONNX, optionally at a newer opset. */
#include "tools/qrun_save.h"
#include "qrun/qrun.h"
#include "tools/qrun_hw.h" /* fail() */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char qrun_save_usage_commands[] =
    "  qrun convert MODEL.onnx -o OUT.onnx [--opset N]\n"
    "                                  write the model back as ONNX (producer qrun), its ai.onnx\n"
    "                                  opset raised to N with every node rewritten to keep its\n"
    "                                  meaning (or an error naming the node it cannot convert)\n"
    "  qrun quantize MODEL.onnx --calib DIR -o OUT.onnx [--dtype FMT] [quantization options]\n"
    "                                  post-training quantization to a standard QDQ model for\n"
    "                                  ONNX Runtime (QuantizeLinear/DequantizeLinear; opset 13 "
    "for\n"
    "                                  int8/uint8, 19 for FP8); --dtype defaults to int8; images\n"
    "                                  in DIR go through --preprocess; fp8e3m4 is refused (no "
    "ONNX\n"
    "                                  type)\n";

typedef struct convert_args {
    const char *model;
    const char *out;
    long opset;
} convert_args;

static int convert_parse(int argc, char **argv, convert_args *a) {
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(s, "-o") == 0 || strcmp(s, "--output") == 0) {
            if (!has_val)
                return fail("%s needs a file name", s);
            a->out = argv[++i];
        } else if (strcmp(s, "--opset") == 0) {
            if (!has_val)
                return fail("--opset needs a number");
            char *end = NULL;
            errno = 0;
            a->opset = strtol(argv[++i], &end, 10);
            if (errno || !end || *end || a->opset < 1 || a->opset > 1000)
                return fail("--opset expects a positive integer, got '%s'", argv[i]);
        } else if (s[0] == '-' && s[1]) {
            return fail("convert: unknown option '%s' (see qrun --help)", s);
        } else if (!a->model) {
            a->model = s;
        } else {
            return fail("convert: unexpected argument '%s'", s);
        }
    }
    if (!a->model)
        return fail("convert: no model given (qrun convert MODEL.onnx -o OUT.onnx)");
    if (!a->out)
        return fail("convert: -o OUT.onnx is required");
    return 0;
}

int qrun_convert_main(int argc, char **argv) {
    convert_args a;
    if (convert_parse(argc, argv, &a))
        return 1;
    qrun_context *ctx = NULL;
    if (qrun_context_create(NULL, &ctx))
        return fail("cannot create a context (out of memory)");
    qrun_model *m = NULL;
    int rc = 0;
    if (qrun_model_inspect(ctx, a.model, &m) || qrun_model_save_opset(ctx, m, a.out, a.opset))
        rc = fail("%s", qrun_context_errmsg(ctx));
    else
        fprintf(stderr, "qrun: wrote %s\n", a.out);
    qrun_model_free(m);
    qrun_context_free(ctx);
    return rc;
}
