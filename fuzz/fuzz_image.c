/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: JPEG/PNG files through qrun_tensor_load_image (format chosen by content, as
 * `qrun run --preprocess` reads images), with a resize and a crop so the preprocessing runs too.
 * The output is kept small by the spec. A few hundred bytes can declare an image of the reader's
 * largest size (2^28 pixels); allocations are capped at 64 MiB so that such a legitimate but
 * huge decode ends in QRUN_E_NOMEM instead of a slow gigabyte fill.
 */
#include "fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static qrun_context *ctx;
    if (!ctx)
        ctx = fuzz_context((size_t)64 << 20);
    qrun_tensor *t = NULL;
    qrun_status s = qrun_tensor_load_image(ctx, fuzz_scratch_file(data, size, "in.img"),
                                           "resize=20,crop=16,mean=0.5,std=0.25,scale=255", &t);
    fuzz_check_status(ctx, s, "qrun_tensor_load_image");
    qrun_tensor_free(t);
    return 0;
}
