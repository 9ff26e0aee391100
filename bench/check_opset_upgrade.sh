#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The opset upgrade keeps outputs: mnist-8 (opset 8) and ResNet-8 (opset 11) written by
# `qrun convert --opset 13|19` give bit-identical outputs to the originals on real samples,
# in qrun and in ONNX Runtime 1.30 (bench/node_modules: npm install --ignore-scripts).
#
#   bench/check_opset_upgrade.sh [BUILD_DIR] [N_SAMPLES]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
n=${2:-20}
qrun=$build/qrun
models=${QRUN_SHARED:-$here/../../shared}/models
tmp=$(mktemp -d /tmp/qrun_opset_check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

check() { # NAME MODEL DATASET INPUT_NAME
    local name=$1 model=$2 data=$3 input=$4
    node "$here/make_inputs.js" "$data" "$n" "$tmp/$name/in"
    node "$here/ort_eval.js" "$model" "$tmp/$name/in" --output-dir "$tmp/$name/ort_orig" >/dev/null
    for f in "$tmp/$name/in"/*.npy; do
        mkdir -p "$tmp/$name/qrun_orig"
        "$qrun" run "$model" --input "$input=$f" --output-format npy \
            --output-dir "$tmp/$name/qrun_orig/$(basename "$f" .npy)" >/dev/null
    done
    for opset in 13 19; do
        local up=$tmp/$name/opset$opset.onnx
        "$qrun" convert "$model" --opset "$opset" -o "$up" 2>/dev/null
        node "$here/ort_eval.js" "$up" "$tmp/$name/in" --output-dir "$tmp/$name/ort_$opset" >/dev/null
        local diff_ort=0 diff_qrun=0
        for f in "$tmp/$name/in"/*.npy; do
            local b; b=$(basename "$f" .npy)
            cmp -s "$tmp/$name/ort_orig/$b.npy" "$tmp/$name/ort_$opset/$b.npy" || diff_ort=$((diff_ort + 1))
            mkdir -p "$tmp/$name/qrun_$opset"
            "$qrun" run "$up" --input "$input=$f" --output-format npy \
                --output-dir "$tmp/$name/qrun_$opset/$b" >/dev/null
            cmp -s "$tmp/$name/qrun_orig/$b/output_0.npy" "$tmp/$name/qrun_$opset/$b/output_0.npy" ||
                diff_qrun=$((diff_qrun + 1))
        done
        echo "$name -> opset $opset: outputs differing from the original: ORT $diff_ort/$n, qrun $diff_qrun/$n"
        [ "$diff_ort" -eq 0 ] && [ "$diff_qrun" -eq 0 ] || { echo "FAIL"; exit 1; }
    done
}

check mnist8 "$models/fp32/mnist-8/model.onnx" mnist Input3
check resnet8 "$models/fp32/mlperftiny_ic_resnet8_fp32.onnx" cifar input_1
echo "OK: upgraded models give bit-identical outputs in qrun and ONNX Runtime"
