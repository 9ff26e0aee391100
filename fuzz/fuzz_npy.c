/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: .npy files through qrun_tensor_load_file, and back through the .npy writer. */
#include "fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_tensor_file(data, size, QRUN_TENSOR_FORMAT_NPY);
    return 0;
}
