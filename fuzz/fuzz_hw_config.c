/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: accel_sim hardware descriptions (JSON) through qrun_hw_load, as `qrun ...
 * --hw FILE` reads them. A description that loads must also print, and its JSON must load
 * back (qrun_hw_to_json promises that).
 */
#include "fuzz/fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_roundtrip(qrun_context *ctx, qrun_hw *hw) {
    const char *json = NULL, *text = NULL;
    qrun_status s = qrun_hw_to_text(hw, &text);
    fuzz_check_status(ctx, s, "qrun_hw_to_text");
    s = qrun_hw_to_json(hw, &json);
    fuzz_check_status(ctx, s, "qrun_hw_to_json");
    if (s != QRUN_OK)
        return;
    qrun_hw *back = NULL;
    s = qrun_hw_load(ctx, fuzz_scratch_file((const uint8_t *)json, strlen(json), "back.json"),
                     &back);
    if (s != QRUN_OK) {
        fprintf(stderr, "qrun_hw_to_json output does not load back: %s\n",
                qrun_context_errmsg(ctx));
        abort();
    }
    qrun_hw_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static qrun_context *ctx;
    if (!ctx)
        ctx = fuzz_context(0);
    qrun_hw *hw = NULL;
    qrun_status s = qrun_hw_load(ctx, fuzz_scratch_file(data, size, "in.json"), &hw);
    fuzz_check_status(ctx, s, "qrun_hw_load");
    if (s == QRUN_OK)
        check_roundtrip(ctx, hw);
    qrun_hw_free(hw);
    return 0;
}
