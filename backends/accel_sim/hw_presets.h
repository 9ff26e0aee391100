/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The preset hardware descriptions (hw/NAME.json), embedded into the library at
 * build time by cmake/embed_hw_presets.cmake, so a preset name resolves the
 * same way from the build tree, an installed qrun, or a program linked
 * against libqrun, without searching the file system.
 */
#ifndef QRUN_ACCEL_SIM_HW_PRESETS_H
#define QRUN_ACCEL_SIM_HW_PRESETS_H

#include <stddef.h>

typedef struct hw_preset_blob {
    const char *name;  /**< file stem: "runai200" */
    const char *label; /**< source path for messages: "hw/runai200.json" */
    const char *text;  /**< the file's bytes, NUL-terminated */
    size_t len;        /**< bytes, without the NUL */
} hw_preset_blob;

extern const hw_preset_blob qrun_hw_preset_blobs[];
extern const int qrun_hw_preset_blob_count;

#endif
