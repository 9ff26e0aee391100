/* SPDX-License-Identifier: Apache-2.0 */
/* `qrun convert` (and, with the PTQ API, `qrun quantize`): commands that write ONNX files. */
#ifndef QRUN_TOOLS_QRUN_SAVE_H
#define QRUN_TOOLS_QRUN_SAVE_H

/** Lines for the main --help text. */
extern const char qrun_save_usage_commands[];

/** @brief `qrun convert MODEL -o OUT.onnx [--opset N]`; argv[0] is "convert". */
int qrun_convert_main(int argc, char **argv);

/**
 * @brief `qrun quantize MODEL --calib DIR -o OUT.onnx [PTQ options]`: calibrate, quantize and
 * write a QDQ model; argv[0] is "quantize".
 */
int qrun_quantize_main(int argc, char **argv);

#endif
