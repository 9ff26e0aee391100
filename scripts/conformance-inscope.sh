#!/usr/bin/env bash
# Pass rate on the in-scope ONNX backend cases: the node cases of qrun's op set listed in
# ../shared/models/node-inscope.txt plus every pytorch-converted and pytorch-operator case.
# Usage: scripts/conformance-inscope.sh [BUILD_DIR]   (default build/)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
data=/usr/share/libonnx-testdata/data
list=$(mktemp)
trap 'rm -f "$list"' EXIT
{ cat ../shared/models/node-inscope.txt; ls "$data/pytorch-converted"; ls "$data/pytorch-operator"; } >"$list"
"$build/qrun_conformance" --quiet --cases "$list" "$data/node" "$data/pytorch-converted" "$data/pytorch-operator" || true
