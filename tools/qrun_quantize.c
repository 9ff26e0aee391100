/* SPDX-License-Identifier: Apache-2.0 */
/* `qrun quantize`: calibrate a float model (the PTQ options of qrun run) and write a QDQ model. */
#include "qrun/qrun.h"
#include "tools/ptq_cli.h"
#include "tools/qrun_hw.h" /* fail() */
#include "tools/qrun_save.h"

#include <stdio.h>
#include <string.h>

static const char k_no_e3m4[] = "fp8e3m4 has no ONNX type; use qrun run/compare to evaluate it";

typedef struct qz_args {
    const char *model;
    const char *out;
    ptq_cli ptq; /* --dtype, --calib, --calib-method, ... exactly as qrun run reads them */
} qz_args;

static int qz_parse(int argc, char **argv, qz_args *a) {
    memset(a, 0, sizeof *a);
    ptq_cli_init(&a->ptq);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        bool own_value =
            strcmp(s, "-o") == 0 || strcmp(s, "--output") == 0 || strcmp(s, "--preprocess") == 0;
        bool takes = own_value || ptq_cli_takes_value(s);
        const char *val = takes && i + 1 < argc ? argv[i + 1] : NULL;
        if (takes && !val)
            return fail("option %s needs a value (see qrun --help)", s);
        if (takes)
            i++;
        int rc = own_value ? 0 : ptq_cli_parse(&a->ptq, s, val);
        if (rc < 0)
            return 1;
        if (rc > 0)
            continue;
        if (strcmp(s, "-o") == 0 || strcmp(s, "--output") == 0)
            a->out = val;
        else if (strcmp(s, "--preprocess") == 0)
            a->ptq.preprocess = val;
        else if (s[0] == '-' && s[1])
            return fail("quantize: unknown option '%s' (see qrun --help)", s);
        else if (!a->model)
            a->model = s;
        else
            return fail("quantize: unexpected argument '%s'", s);
    }
    if (!a->model)
        return fail("quantize: no model given (qrun quantize MODEL.onnx --calib DIR -o OUT.onnx)");
    if (!a->ptq.calib_dir)
        return fail("quantize: --calib DIR is required (the calibration samples)");
    if (!a->out)
        return fail("quantize: -o OUT.onnx is required");
    if (!ptq_cli_active(&a->ptq))
        ptq_cli_parse(&a->ptq, "--dtype", "int8"); /* the default format of quantize */
    return 0;
}

/* fp8e3m4 exists only inside qrun: refuse before calibrating for nothing. */
static int qz_check_onnx_formats(const qrun_quant_options *q) {
    if (qrun_quant_format_from_name(q->dtype) == QRUN_DTYPE_FLOAT8E3M4)
        return fail("%s", k_no_e3m4);
    for (const char *p = q->dtype_for; p && *p;) {
        const char *comma = strchr(p, ',');
        int len = comma ? (int)(comma - p) : (int)strlen(p);
        const char *eq = memchr(p, '=', (size_t)len);
        char fmt[64];
        if (eq && p + len - eq - 1 < (int)sizeof fmt) {
            snprintf(fmt, sizeof fmt, "%.*s", (int)(p + len - eq - 1), eq + 1);
            if (qrun_quant_format_from_name(fmt) == QRUN_DTYPE_FLOAT8E3M4)
                return fail("--dtype-for %.*s: %s", len, p, k_no_e3m4);
        }
        p = comma ? comma + 1 : p + len;
    }
    return 0;
}

int qrun_quantize_main(int argc, char **argv) {
    qz_args a;
    if (qz_parse(argc, argv, &a) || qz_check_onnx_formats(&a.ptq.opts))
        return 1;
    qrun_context *ctx = NULL;
    if (qrun_context_create(NULL, &ctx))
        return fail("cannot create a context (out of memory)");
    qrun_model *m = NULL, *q = NULL;
    int rc = 0;
    if (qrun_model_load(ctx, a.model, &m))
        rc = fail("%s", qrun_context_errmsg(ctx));
    if (!rc)
        rc = ptq_cli_quantize(ctx, m, a.model, &a.ptq, NULL, &q);
    if (!rc && qrun_model_save(ctx, q, a.out))
        rc = fail("%s", qrun_context_errmsg(ctx));
    if (!rc)
        fprintf(stderr, "qrun: wrote %s\n", a.out);
    qrun_model_free(q);
    qrun_model_free(m);
    qrun_context_free(ctx);
    return rc;
}
