#!/usr/bin/env bash
# accel_sim validation table: every light model of ../shared/models/light on every preset
# (speedai240 also in int8 next to fp8e3m4), --sim timing, batch 1; prints a markdown table.
# Usage: scripts/accel_validation.sh [QRUN] [MODELS_DIR]
#   QRUN defaults to build/qrun, MODELS_DIR to ../shared/models/light (from the source root).
# Needs jq. Host time is the wall time of the whole qrun command (load, plan, simulate).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
qrun=${1:-$root/build/qrun}
models=${2:-$root/../shared/models/light}
[ -x "$qrun" ] || { echo "accel_validation: no qrun at $qrun (build first)" >&2; exit 1; }
command -v jq >/dev/null || { echo "accel_validation: needs jq" >&2; exit 1; }

err=$(mktemp)
trap 'rm -f "$err"' EXIT
configs="speedai240:fp8e3m4 speedai240:int8 runai200:int8 edge_small:int8"
echo "| model | preset | dtype | execution | GMACs | latency µs | throughput img/s | energy mJ | power W | utilization | spill MB | host s |"
echo "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for m in "$models"/light_*.onnx; do
  name=$(basename "$m" .onnx)
  for c in $configs; do
    hw=${c%%:*} dt=${c##*:}
    t0=$(date +%s.%N)
    if ! json=$("$qrun" run "$m" --backend accel_sim --hw "$hw" --sim timing --dtype "$dt" --json 2>"$err"); then
      echo "| $name | $hw | $dt | error: $(tail -n 1 "$err" | cut -c1-80) | | | | | | | | |"
      continue
    fi
    t1=$(date +%s.%N)
    host=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
    peak=$("$qrun" hw show "$hw" --json | jq --arg dt "$dt" '.peak_tops[$dt]')
    # utilization: effective TOPS (2 x MACs x throughput) over the datatype's peak.
    echo "$json" | jq -r --arg n "$name" --arg hw "$hw" --arg dt "$dt" --arg host "$host" --argjson peak "$peak" '
      def r(d): . * d | round / d;
      . as $x | $x.sim as $s |
      "| \($n) | \($hw) | \($dt) | \($s.execution) | \($s.macs / 1e9 | r(100)) | \($x.latency_us | r(10)) | \($x.throughput_ips | round) | \($x.energy_uj / 1000 | r(1000)) | \($s.average_w | r(10)) | \($s.effective_tops / $peak | r(1000)) | \($s.streamed_weight_bytes / 1e6 | r(10)) | \($host | tonumber | r(100)) |"'
  done
done
