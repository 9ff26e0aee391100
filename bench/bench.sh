#!/usr/bin/env bash
# Latency of qrun (cpu_ref) against ONNX Runtime, run side by side on the same machine,
# reported as a ratio (qrun / ORT; < 1 means qrun is faster).
#   bench/bench.sh [--threads N] [--repeat N] [MODEL.onnx ...]
# Default models: everything in ../shared/models that both runtimes load. Inputs are
# each runtime's deterministic random pattern of the declared shape (symbolic dims = 1).
# Needs: build/qrun (cmake --build build) and `npm install --ignore-scripts` in bench/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
qrun=${QRUN:-$root/build/qrun}
threads=1
repeat=20
models=()
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
    *) models+=("$1"); shift ;;
  esac
done
[ -x "$qrun" ] || { echo "bench.sh: $qrun not found: build first" >&2; exit 1; }
[ -d "$here/node_modules/onnxruntime-node" ] || { echo "bench.sh: run 'npm install --ignore-scripts' in $here first" >&2; exit 1; }
if [ ${#models[@]} -eq 0 ]; then
  shared=$root/../shared/models
  models=("$shared"/fp32/*.onnx "$shared"/fp32/*/model.onnx "$shared"/int8/*/*.onnx "$shared"/int8/*/*/*.onnx "$shared"/light/*.onnx)
fi

median_ms() { sed -n 's/.*"time_ms": *\([0-9.e+-]*\).*/\1/p' | head -n1; }

echo "threads: $threads, median of $repeat runs each (ORT after one warm-up run; qrun plans on its first run, which the median discards)"
echo
echo "| model | qrun ms | ORT ms | qrun/ORT |"
echo "|---|---:|---:|---:|"
for m in "${models[@]}"; do
  [ -f "$m" ] || continue
  name=${m##*/models/}
  q=$("$qrun" run "$m" --random-input --repeat "$repeat" --threads "$threads" --json 2>/dev/null | median_ms || true)
  o=$(node "$here/ort_run.js" "$m" --random-input --repeat "$repeat" --threads "$threads" --json 2>/dev/null | median_ms || true)
  if [ -z "$q" ] || [ -z "$o" ]; then
    echo "| $name | ${q:-fails} | ${o:-fails} | - |"
    continue
  fi
  ratio=$(awk -v a="$q" -v b="$o" 'BEGIN { printf "%.2f", a / b }')
  printf '| %s | %.3f | %.3f | %s |\n' "$name" "$q" "$o" "$ratio"
done
