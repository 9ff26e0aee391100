#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Acceptance check of `qrun quantize`: the INT8 QDQ file it writes runs in ONNX Runtime 1.30
# with top-1 within 1.5 points of qrun's own INT8 result.
#
#   bench/check_quantized_in_ort.sh [BUILD_DIR] [DTYPE]
#
# ResNet-8 (../shared fp32, opset 11) is calibrated on the first 50 of the 200 CIFAR-10
# samples (eembc-ic01, [1,3,32,32] CHW float pixels 0..255) and written as QDQ; qrun runs
# that model (the QDQ graph qrun quantized, lowered to integer ops at load) and ONNX Runtime
# runs the same file, both on all 200 samples. Needs node and bench/node_modules
# (cd bench && npm install --ignore-scripts). DTYPE defaults to int8; FP8 formats run in ORT
# with graph optimization "basic" (ORT 1.30's QDQ fusion rejects FP8 QLinearConv).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
dtype=${2:-int8}
qrun=$build/qrun
shared=${QRUN_SHARED:-$here/../../shared}
model=$shared/models/fp32/mlperftiny_ic_resnet8_fp32.onnx
tmp=$(mktemp -d /tmp/qrun_quant_check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

node "$here/make_inputs.js" cifar 50 "$tmp/calib"
node "$here/make_inputs.js" cifar 200 "$tmp/eval"
rm "$tmp/calib/labels.txt"
"$qrun" quantize "$model" --dtype "$dtype" --calib "$tmp/calib" -o "$tmp/q.onnx"

opt=all
case $dtype in fp8*) opt=basic ;; esac
node "$here/ort_eval.js" "$tmp/q.onnx" "$tmp/eval" --opt "$opt" >"$tmp/ort.txt"
for f in "$tmp/eval"/*.npy; do
    pred=$("$qrun" run "$tmp/q.onnx" --input "input_1=$f" --json | grep -o '"top5": \[[0-9]*' | grep -o '[0-9]*$')
    echo "$(basename "$f") $pred"
done >"$tmp/qrun.txt"

top1() { awk 'NR==FNR { label[$1] = $2; next } { n++; if (label[$1] == $2) ok++ } END { printf "%.4f", ok / n }' "$tmp/eval/labels.txt" "$1"; }
agree=$(paste "$tmp/qrun.txt" "$tmp/ort.txt" | awk '$2 == $4 { a++ } END { print a + 0 }')
q=$(top1 "$tmp/qrun.txt")
o=$(top1 "$tmp/ort.txt")
echo "ResNet-8 $dtype QDQ from qrun quantize (50 calibration samples), 200 CIFAR-10 samples:"
echo "  qrun top-1 $q, ONNX Runtime top-1 $o, same prediction on $agree/200"
awk -v q="$q" -v o="$o" 'BEGIN { d = (q - o) * 100; if (d < 0) d = -d; printf "  |difference| = %.2f points (limit 1.5)\n", d; exit d <= 1.5 ? 0 : 1 }'
