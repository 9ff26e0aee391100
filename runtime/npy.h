/* SPDX-License-Identifier: Apache-2.0 */
/* NumPy .npy tensor files: read v1/v2/v3, write v1.0. */
#ifndef QRUN_RUNTIME_NPY_H
#define QRUN_RUNTIME_NPY_H

#include "qrun/qrun.h"
#include "runtime/error.h"
#include "runtime/tensor.h"

#include <stdbool.h>
#include <stddef.h>

/**
 * @brief Read a .npy file (format 1.0, 2.0 or 3.0; C order; little-endian or
 * single-byte types). Supported descr: <f2 <f4 <f8 |i1 |u1 <i2 <u2 <i4 <u4
 * <i8 <u8 |b1 ('=' and '<'/'|' accepted interchangeably for these). On
 * success *out owns its data (from alloc, never NULL) and has no name.
 * @return QRUN_E_IO (open/read), QRUN_E_MODEL (malformed header, data size
 *         mismatch), QRUN_E_UNSUPPORTED (fortran_order True, big-endian,
 *         other descr, rank > 8), QRUN_E_NOMEM.
 */
qrun_status qrun_npy_read(const char *path,
                          const qrun_allocator *alloc,
                          struct qrun_tensor *out,
                          qrun_err *err);

/**
 * @brief Write t as .npy v1.0. Types NumPy lacks are written as their raw
 * codes with the same shape: bfloat16 as '<u2' (bit patterns), FP8 types
 * (incl. E8M0, E3M4) as '|u1' codes, 4- and 2-bit types unpacked to one
 * '|u1' code per element. Reading such a file back gives UINT16/UINT8.
 * STRING, COMPLEX and UNDEFINED give QRUN_E_UNSUPPORTED.
 */
qrun_status qrun_npy_write(const char *path, const struct qrun_tensor *t, qrun_err *err);

/** @brief True when head (n bytes) starts with the NumPy magic "\x93NUMPY". */
bool qrun_npy_sniff(const void *head, size_t n);

#endif
