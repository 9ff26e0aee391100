#!/usr/bin/env bash
# CLI behaviour: help, version, a run with outputs written, and one-line errors for bad input.
# Usage: test_cli.sh QRUN SOURCE_DIR
set -u
qrun=$1
src=$2
ex=$src/examples/mnist-8
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

# expect_error NAME PATTERN CMD...: exit status 1, exactly one line on stderr, matching PATTERN.
expect_error() {
  local name=$1 pattern=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$? lines
  lines=$(wc -l <"$tmp/err")
  if [ $rc -eq 1 ] && [ "$lines" -eq 1 ] && grep -q -- "$pattern" "$tmp/err"; then
    ok "$name"
  else
    bad "$name (rc=$rc, stderr lines=$lines: $(head -c 300 "$tmp/err"))"
  fi
}

# --help documents every option the parser accepts.
"$qrun" --help >"$tmp/help" && ok "--help exits 0" || bad "--help exits 0"
for opt in --inputs --input --random-input --output-dir --output-format --json --threads --backend --repeat --profile info --version; do
  grep -q -- "$opt" "$tmp/help" && ok "--help mentions $opt" || bad "--help mentions $opt"
done
"$qrun" --version | grep -q '^qrun [0-9]' && ok "--version" || bad "--version"

# A run: summary, top-5, files written.
if "$qrun" run "$ex/model.onnx" --inputs "$ex/test_data_set_0" --output-dir "$tmp/o" >"$tmp/out" 2>"$tmp/err"; then
  grep -q 'Plus214_Output_0 float32 \[1, 10\]' "$tmp/out" && ok "run summary" || bad "run summary"
  grep -q 'top-5:' "$tmp/out" && ok "run top-5" || bad "run top-5"
  [ -s "$tmp/o/output_0.pb" ] && ok "output_0.pb written" || bad "output_0.pb written"
else
  bad "run on mnist-8: $(cat "$tmp/err")"
fi
"$qrun" "$ex/model.onnx" --inputs "$ex/test_data_set_0" --output-dir "$tmp/n" --output-format npy --json >"$tmp/out" 2>&1
grep -q '"top5": \[' "$tmp/out" && ok "shorthand + --json" || bad "shorthand + --json: $(head -c 300 "$tmp/out")"
head -c 6 "$tmp/n/output_0.npy" | grep -q NUMPY && ok "output_0.npy written" || bad "output_0.npy written"
"$qrun" run "$ex/model.onnx" >"$tmp/out" 2>"$tmp/err"
grep -q "feeding zeros" "$tmp/err" && ok "default input announced" || bad "default input announced"
"$qrun" run "$ex/model.onnx" --random-input --threads 1 --repeat 3 --profile >"$tmp/out" 2>"$tmp/err"
grep -q "pseudo-random" "$tmp/err" && grep -q "^node,op,backend,ms" "$tmp/err" && ok "--random-input --profile" || bad "--random-input --profile"
"$qrun" info "$ex/model.onnx" >"$tmp/out" 2>&1
grep -q "MACs: 786560" "$tmp/out" && grep -q "cpu_ref: 12 of 12 nodes" "$tmp/out" && ok "info" || bad "info: $(cat "$tmp/out")"

# Bad input: one line, exit 1, naming the cause.
expect_error "missing model" "no-such.onnx" "$qrun" run "$tmp/no-such.onnx"
head -c 3000 "$ex/model.onnx" >"$tmp/trunc.onnx"
expect_error "truncated model" "trunc.onnx: not a valid ONNX model" "$qrun" run "$tmp/trunc.onnx"
printf 'not a model' >"$tmp/text.onnx"
expect_error "garbage model" "text.onnx" "$qrun" run "$tmp/text.onnx"
expect_error "missing input file" "nothing.pb" "$qrun" run "$ex/model.onnx" --input "Input3=$tmp/nothing.pb"
expect_error "unknown input name" "no input of that name" "$qrun" run "$ex/model.onnx" --input "nope=$ex/test_data_set_0/input_0.pb"
expect_error "wrong input shape" "expected shape \[1, 1, 28, 28\]" "$qrun" run "$ex/model.onnx" --input "Input3=$ex/test_data_set_0/output_0.pb"
expect_error "wrong input dtype" "expected dtype float32, got" "$qrun" run "$ex/model.onnx" --input "Input3=$src/tests/cli/int64_input.npy"
expect_error "bad --threads" "--threads" "$qrun" run "$ex/model.onnx" --threads zero
expect_error "unknown option" "unknown option" "$qrun" run "$ex/model.onnx" --frobnicate
# Malformed quantization parameters (models made by tests/test_quant_params.c): a load-time error
# for a constant scale <= 0, a plan-time one for a blocked scale of the wrong shape; both name the
# node. The second needs its float32 [2, 4] input X given, written here as a NumPy v1 file.
expect_error "bad quant scale" "node 'dq_bad_scale' (DequantizeLinear): x_scale is -0.5; a scale must be positive" \
  "$qrun" run "$src/tests/cli/quant_bad_scale.onnx"
hdr="{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }"
hdr=$(printf '%-117s' "$hdr")
{ printf '\x93NUMPY\x01\x00\x76\x00%s\n' "$hdr"; head -c 32 /dev/zero; } >"$tmp/x24.npy"
expect_error "bad quant block_size" "node 'q_bad_block' (QuantizeLinear).*scale dim 1 is 3, expected 2 (= ceil(4 / block_size 3))" \
  "$qrun" run "$src/tests/cli/quant_bad_block.onnx" --input "X=$tmp/x24.npy"
td=/usr/share/libonnx-testdata/data/node/test_strnormalizer_export_monday_casesensintive_lower
if [ -d "$td" ]; then
  expect_error "unsupported op" "StringNormalizer.*not supported" "$qrun" run "$td/model.onnx"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
