/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared pieces of the libFuzzer harnesses (fuzz/fuzz_*.c) and of their replay driver: a
 * context whose allocator refuses oversized requests, and a scratch file for the readers that
 * take a path (the CLI reads tensors, images and hardware descriptions from files).
 */
#ifndef QRUN_FUZZ_COMMON_H
#define QRUN_FUZZ_COMMON_H

#include "qrun/qrun.h"

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry point; the replay driver (fuzz/replay_main.c) calls it too. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A context on the fuzz allocator: one thread (deterministic, cheap) and no single allocation
 * above max_alloc bytes (0: no cap). A valid model may legitimately ask for gigabytes (a
 * ConstantOfShape of [1 << 30]); refusing that with QRUN_E_NOMEM exercises the out-of-memory
 * paths instead of tripping libFuzzer's malloc limit on work that is not a bug. Aborts when the
 * context cannot be made (a harness bug, not a finding).
 */
qrun_context *fuzz_context(size_t max_alloc);
/* Change the cap of a context made by fuzz_context (e.g. none while loading, a cap to run). */
void fuzz_set_max_alloc(size_t max_alloc);
/* The capped allocator itself, for harnesses that call internal APIs. */
const qrun_allocator *fuzz_allocator(void);

/*
 * A failing call must say why (every qrun_status comes with a readable message), and
 * QRUN_E_INTERNAL is a bug by definition: both abort so that libFuzzer keeps the input.
 */
void fuzz_check_status(qrun_context *ctx, qrun_status s, const char *call);

/*
 * Path of this process's scratch file called tag, in $TMPDIR (or /tmp), removed at exit; and
 * the same file written with data. Paths stay valid for the process. Aborts on I/O errors.
 */
const char *fuzz_scratch_path(const char *tag);
const char *fuzz_scratch_file(const uint8_t *data, size_t size, const char *tag);

/*
 * The tensor-file targets: data as a file through qrun_tensor_load_file (format chosen by
 * content, as the CLI does); a tensor that loads is written back in fmt and must read back with
 * the same dtype, shape and bytes.
 */
void fuzz_tensor_file(const uint8_t *data, size_t size, qrun_tensor_format fmt);

#endif
