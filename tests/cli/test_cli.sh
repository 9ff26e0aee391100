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
for opt in --preprocess convert quantize --inputs --input --random-input --output-dir --output-format --json --threads --backend --repeat --profile --iters --requant --fp8-accum --hw --sim --dtype info --version; do
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
"$qrun" run "$ex/model.onnx" --random-input --threads 1 --repeat 3 --profile "$tmp/mnist.csv" >"$tmp/out" 2>"$tmp/err"
grep -q "pseudo-random" "$tmp/err" && [ "$(wc -l <"$tmp/mnist.csv")" -eq 12 ] && head -1 "$tmp/mnist.csv" | grep -q "^node,op_type,backend," \
  && grep -q "3 runs, median, after a warm-up" "$tmp/out" && ok "--random-input --profile FILE.csv" || bad "--random-input --profile FILE.csv: $(head -c 300 "$tmp/err")"
expect_error "run --profile without a destination" "--profile expects FILE.json (Chrome trace), FILE.csv or -" "$qrun" run "$ex/model.onnx" --profile --repeat
expect_error "run --profile unwritable" "cannot write profile '$tmp/no/dir/p.json'" "$qrun" run "$ex/model.onnx" --inputs "$ex/test_data_set_0" --profile "$tmp/no/dir/p.json"
expect_error "run --json --profile -" "--profile - prints a table on stdout, which --json keeps" "$qrun" run "$ex/model.onnx" --json --profile -
expect_error "run --iters 0" "--iters expects a positive integer, got '0'" "$qrun" run "$ex/model.onnx" --iters 0
"$qrun" info "$ex/model.onnx" >"$tmp/out" 2>&1
grep -q "MACs: 786560" "$tmp/out" && grep -q "cpu_ref: 12 of 12 nodes" "$tmp/out" && ok "info" || bad "info: $(cat "$tmp/out")"
# Integer-domain MACs: MobileNetV2 is ~300 M MACs (its paper's figure); the classifier
# QLinearMatMul is 1280 x 1000 (A is input 0, B is input 3).
mnv2=$src/../shared/models/int8/qoperator/mobilenetv2-12-int8.onnx
if [ -f "$mnv2" ]; then
  "$qrun" info "$mnv2" >"$tmp/out" 2>&1
  grep -q "QLinearMatMul *x1 *MACs 1280000$" "$tmp/out" && grep -q "MACs: 300774272" "$tmp/out" &&
    ok "info MACs of integer ops" || bad "info MACs of integer ops: $(grep MACs "$tmp/out")"
  # A QOperator model has no Q/DQ units to lower; the report says so.
  grep -q "^QDQ lowering: no DequantizeLinear -> op -> QuantizeLinear units" "$tmp/out" &&
    ok "info: lowering report on a QOperator model" || bad "info: lowering report on a QOperator model: $(grep -A2 "QDQ lowering" "$tmp/out")"
fi

# QDQ lowering report (real QDQ model from ../shared, when present).
qdq="$src/../shared/models/int8/qdq/mlperftiny_ic_resnet8_qdq.onnx"
if [ -f "$qdq" ]; then
  "$qrun" info "$qdq" >"$tmp/out" 2>&1
  # Every unit but the final Softmax (its output is the graph output: no Q to fold).
  grep -q "^QDQ lowering: 16 of 17 units lowered" "$tmp/out" &&
    grep -q "lowered .*Conv .*model/conv2d/BiasAdd -> QLinearConv" "$tmp/out" &&
    grep -q "not lowered .*Softmax .*model/dense/Softmax: " "$tmp/out" &&
    ok "info: QDQ lowering report" || bad "info: QDQ lowering report: $(cat "$tmp/out")"
  "$qrun" info "$qdq" --json >"$tmp/out" 2>&1
  grep -q '"lowering": \[{"node": "model/conv2d/BiasAdd__6", "op": "Transpose", "lowered": true' "$tmp/out" &&
    grep -q '"node": "model/dense/Softmax", "op": "Softmax", "lowered": false, "target": "", "reason": "' "$tmp/out" &&
    ok "info --json: lowering" || bad "info --json: lowering: $(head -c 600 "$tmp/out")"
  "$qrun" info "$qdq" --no-lower >"$tmp/out" 2>&1
  grep -q "^QDQ lowering: disabled" "$tmp/out" && grep -q "^nodes: 67" "$tmp/out" &&
    ok "info --no-lower" || bad "info --no-lower: $(cat "$tmp/out")"
  "$qrun" run "$qdq" --random-input --no-lower >"$tmp/out" 2>&1 && ok "run --no-lower" || bad "run --no-lower: $(cat "$tmp/out")"
fi

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
expect_error "bad --requant" "--requant must be float or fixed" "$qrun" run "$ex/model.onnx" --requant nearest
expect_error "bad --fp8-accum" "--fp8-accum must be fp32, fp16 or bf16" "$qrun" run "$ex/model.onnx" --fp8-accum fp8

# --requant reaches the kernels: this ONNX node test has accumulators on which the TFLite
# fixed-point path rounds differently from the float reference.
qm=$src/../shared/models/onnx-node-v1.22/test_qlinearmatmul_3D_int8_float16
if [ -d "$qm" ]; then
  for mode in float fixed; do
    "$qrun" run "$qm/model.onnx" --inputs "$qm/test_data_set_0" --requant $mode --fp8-accum fp16 \
      --output-dir "$tmp/rq_$mode" >/dev/null 2>&1 || bad "--requant $mode run"
  done
  cmp -s "$qm/test_data_set_0/output_0.pb" "$tmp/rq_float/output_0.pb" && ok "--requant float" ||
    bad "--requant float matches the reference output"
  ! cmp -s "$tmp/rq_float/output_0.pb" "$tmp/rq_fixed/output_0.pb" && ok "--requant fixed" ||
    bad "--requant fixed changes the output"
fi
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

# Hardware descriptions: qrun hw list / show, --hw on run.
"$qrun" hw list >"$tmp/out" 2>&1
grep -q '^runai200 *502.3 ' "$tmp/out" && grep -q '^speedai240 ' "$tmp/out" && grep -q '^edge_small ' "$tmp/out" \
  && ok "hw list" || bad "hw list: $(head -c 300 "$tmp/out")"
# An independent JSON parser checks the output where python3 exists (qrun itself reads it back below).
has_python() { command -v python3 >/dev/null; }
if "$qrun" hw show speedai240 --json >"$tmp/hw.json" 2>"$tmp/err" && ! has_python; then
  grep -q '"fp8e3m4":[[:space:]]*2015.5392' "$tmp/hw.json" && ok "hw show --json peak_tops (no python3)" || bad "hw show --json peak_tops"
elif [ -s "$tmp/hw.json" ] &&
   python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); p=d["peak_tops"]; assert abs(p["fp8e3m4"]-2015.5392)<1e-6 and abs(p["int8"]-1007.7696)<1e-6 and d["chip"]["banks"]==729' "$tmp/hw.json"; then
  ok "hw show --json parses, peak_tops"
else
  bad "hw show --json: $(head -c 300 "$tmp/err")"
fi
"$qrun" hw show "$tmp/hw.json" --json >"$tmp/hw2.json" 2>&1 && cmp -s "$tmp/hw.json" "$tmp/hw2.json" \
  && ok "hw show FILE round trip" || bad "hw show FILE round trip"
"$qrun" hw show runai200 >"$tmp/out" 2>&1
grep -q 'int8 *502.3 TOPS' "$tmp/out" && grep -q 'chip.banks .* 511 .*sourced:' "$tmp/out" \
  && ok "hw show text" || bad "hw show text: $(head -c 300 "$tmp/out")"
"$qrun" hw --help | grep -q 'qrun hw show PRESET|FILE' && ok "hw --help" || bad "hw --help"
grep -q -- '--hw PRESET|FILE' "$tmp/help" && grep -q 'qrun hw list' "$tmp/help" && ok "--help mentions hw" || bad "--help mentions hw"
expect_error "hw show bad preset" "unknown hardware preset 'runai999' (presets: edge_small, runai200, speedai240" "$qrun" hw show runai999
sed 's/"sram_read_pj_per_byte":[[:space:]]*0.016/"sram_read_pj_per_byte": 0/' "$tmp/hw.json" >"$tmp/bad_hw.json"
expect_error "hw show invalid file" "bad_hw.json: energy.sram_read_pj_per_byte: must be a number > 0" "$qrun" hw show "$tmp/bad_hw.json"
expect_error "hw unknown command" "unknown hw command 'frob'" "$qrun" hw frob
expect_error "run --hw bad preset" "--hw: unknown hardware preset 'nope'" "$qrun" run "$ex/model.onnx" --hw nope
expect_error "run --backend accel_sim without --hw" "--backend accel_sim needs --hw" "$qrun" run "$ex/model.onnx" --backend accel_sim
expect_error "run --sim unknown mode" "--sim: unknown mode 'cycle'" "$qrun" run "$ex/model.onnx" --backend accel_sim --hw edge_small --sim cycle
expect_error "run --sim without accel_sim" "--sim timing needs --backend accel_sim" "$qrun" run "$ex/model.onnx" --sim timing
expect_error "run --sim timing --dtype unknown" "--dtype: unknown format 'int7'" "$qrun" run "$ex/model.onnx" --backend accel_sim --hw edge_small --sim timing --dtype int7
# A float model quantized on the fly (PTQ) and run on the accelerator's datapath: cpu_ref's numbers.
"$qrun" run "$ex/model.onnx" --inputs "$ex/test_data_set_0" --dtype int8 --calib "$ex" --output-dir "$tmp/ptq_ref" >/dev/null 2>&1
"$qrun" run "$ex/model.onnx" --inputs "$ex/test_data_set_0" --dtype int8 --calib "$ex" --backend accel_sim --hw speedai240 --output-dir "$tmp/ptq_sim" >"$tmp/out" 2>&1
grep -q '^accel_sim full on speedai240' "$tmp/out" && grep -q 'partition: accel: [1-9]' "$tmp/out" \
  && cmp -s "$tmp/ptq_ref/output_0.pb" "$tmp/ptq_sim/output_0.pb" \
  && ok "run --dtype int8 --backend accel_sim: quantized, on the datapath, cpu_ref's output" || bad "run --dtype int8 --backend accel_sim: $(head -c 400 "$tmp/out")"
qlc=/usr/share/libonnx-testdata/data/node/test_qlinearconv
if [ -d "$qlc" ]; then
  "$qrun" run "$qlc/model.onnx" --inputs "$qlc/test_data_set_0" --backend accel_sim --hw edge_small --output-dir "$tmp/qlc_sim" >"$tmp/out" 2>&1
  grep -q '^accel_sim full on edge_small (layer_pipelined)' "$tmp/out" && grep -q '^  QLinearConv_0,QLinearConv,accel,uint8,row_split_k,' "$tmp/out" \
    && grep -q 'partition: accel: 1 nodes (0 fused into row units), host: 0 nodes' "$tmp/out" && grep -q "latency .* us (batch 1, launch .* us included; row pipelined .* us, layer by layer .* us), throughput" "$tmp/out" \
    && cmp -s "$tmp/qlc_sim/output_0.pb" "$qlc/test_data_set_0/output_0.pb" \
    && ok "run --backend accel_sim report, datapath output" || bad "run --backend accel_sim report: $(head -c 600 "$tmp/out")"
  "$qrun" run "$qlc/model.onnx" --inputs "$qlc/test_data_set_0" --backend accel_sim --hw speedai240 --json >"$tmp/sim.json" 2>&1
  if has_python; then
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d["sim"]; assert s["hw"]=="speedai240" and s["mode"]=="full" and s["macs"]==49 and d["latency_us"]>0 and d["throughput_ips"]>0 and d["energy_uj"]>0 and d["ops"][0]["placement"]=="accel" and d["ops"][0]["energy_uj"]["total"]>0' "$tmp/sim.json" \
      && ok "run --backend accel_sim --json" || bad "run --backend accel_sim --json: $(head -c 400 "$tmp/sim.json")"
  fi
fi
light=$src/../shared/models/light/light_resnet50.onnx
if [ -f "$light" ] && has_python; then
  # A float model timed as int8: no values computed, weights folded from ConstantOfShape.
  "$qrun" run "$light" --backend accel_sim --hw speedai240 --sim timing --dtype int8 --json >"$tmp/light.json" 2>"$tmp/err"
  python3 -c '
import json,sys
d=json.load(open(sys.argv[1])); s=d["sim"]
host=[o["op"] for o in d["ops"] if o["placement"]=="host"]
assert s["mode"]=="timing" and s["macs"]==4089184256, s
assert s["partition"]["folded_constants"]>0 and host==["Softmax"], host
assert s["execution"]=="layer_pipelined" and 0<d["latency_us"]<=s["latency_pipelined_us"] and d["throughput_ips"]*s["latency_pipelined_us"]*1e-6>=1
assert all(o["dtype"]=="int8" for o in d["ops"] if o["placement"]=="accel")
' "$tmp/light.json" && ok "run --sim timing --dtype int8 on a float model" || bad "run --sim timing --dtype int8: $(head -c 400 "$tmp/light.json") $(head -c 300 "$tmp/err")"
  # Issue 5 acceptance 2: ResNet-50 on speedai240, FP8-E3M4, batch 1, --sim timing, against
  # MLPerf Inference v4.1 (~120 us single stream, 56-70k img/s offline, ~1.2 mJ per image).
  start=$(date +%s%N)
  "$qrun" run "$light" --backend accel_sim --hw speedai240 --sim timing --dtype fp8e3m4 --json >"$tmp/r50.json" 2>"$tmp/err"
  secs=$(( ($(date +%s%N) - start) / 1000000 ))
  python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
lat, ips, mj = d["latency_us"], d["throughput_ips"], d["energy_uj"] / 1000
assert 90 <= lat <= 150, ("latency_us", lat)
assert 42000 <= ips <= 88000, ("throughput_ips", ips)
assert 0.8 <= mj <= 1.6, ("energy mJ", mj)
assert abs(sum(o["latency_share_us"] for o in d["ops"]) - lat) <= 1e-3 * lat, "shares != latency"
assert int(sys.argv[2]) < 5000, ("host ms", sys.argv[2])
' "$tmp/r50.json" "$secs" && ok "ResNet-50 speedai240 fp8e3m4 within the MLPerf v4.1 ranges (issue 5, acceptance 2)" \
    || bad "ResNet-50 acceptance 2: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["latency_us"], d["throughput_ips"], d["energy_uj"])' "$tmp/r50.json" 2>&1) host ${secs} ms $(head -c 300 "$tmp/err")"
  # Every light model simulates (the validation table of docs/accel_sim.md): a schedule, a
  # latency of at least its slowest node, shares summing to it, energy classes to the total.
  for lm in "$src"/../shared/models/light/light_*.onnx; do
    "$qrun" run "$lm" --backend accel_sim --hw speedai240 --sim timing --dtype fp8e3m4 --json >"$tmp/lm.json" 2>"$tmp/err"
    python3 -c '
import json,sys
d=json.load(open(sys.argv[1])); s=d["sim"]; lat=d["latency_us"]
assert s["execution"] in ("layer_pipelined", "layer_by_layer") and lat > 0 and d["throughput_ips"] > 0
assert lat >= max(o["time_us"] for o in d["ops"]) - 1e-6
assert abs(sum(o["latency_share_us"] for o in d["ops"]) - lat) <= 1e-3 * lat
e=s["energy_uj"]; assert abs(sum(v for k, v in e.items() if k != "total") - e["total"]) <= 1e-4 * e["total"]  # 6 digits each
' "$tmp/lm.json" && ok "accel_sim timing on $(basename "$lm")" || bad "accel_sim timing on $lm: $(head -c 300 "$tmp/err")"
  done
  # A chip without off-chip memory whose SRAM cannot hold a layer: an error naming the node.
  "$qrun" hw show edge_small --json | python3 -c '
import json,sys
d=json.load(sys.stdin); d.pop("peak_tops"); d["name"]="edge_nodram"
d["offchip"].update(bytes=0, gb_per_s=0, latency_ns=0)
json.dump(d, open(sys.argv[1], "w"))' "$tmp/nodram.json"
  "$qrun" run "$light" --backend accel_sim --hw "$tmp/nodram.json" --sim timing --dtype int8 >"$tmp/out" 2>"$tmp/err"
  [ $? -eq 1 ] && grep -q "^qrun: error: .*node 'n143' (Conv): accel_sim: weights of 2359296 bytes exceed the 2097152 bytes of on-chip SRAM of 'edge_nodram', which has no off-chip memory" "$tmp/err" \
    && ok "run on a chip too small without off-chip memory" || bad "run on a too-small chip: $(head -c 300 "$tmp/err")"
fi
"$qrun" run "$ex/model.onnx" --hw "$tmp/hw.json" >"$tmp/out" 2>"$tmp/err" && grep -q "is valid; it affects only --backend accel_sim" "$tmp/err" \
  && ok "run --hw FILE with cpu_ref" || bad "run --hw FILE: $(head -c 300 "$tmp/err")"

# Post-training quantization on the fly: mnist-8 calibrated on its three test_data_set folders.
for opt in --dtype --calib --calib-method --percentile --scale --act-symmetric --keep-float --dtype-for; do
  grep -q -- "$opt" "$tmp/help" && ok "--help mentions $opt" || bad "--help mentions $opt"
done
for d in int8 fp8e4m3 fp8e3m4; do
  if "$qrun" run "$ex/model.onnx" --inputs "$ex/test_data_set_0" --dtype $d --calib "$ex" >"$tmp/out" 2>"$tmp/err"; then
    grep -q "quantized to $d: 8 nodes quantized, 0 kept float, 0 BatchNormalization folded; percentile calibration on 3 samples" "$tmp/err" \
      && grep -q 'top-5: 2 ' "$tmp/out" && ok "run --dtype $d --calib" || bad "run --dtype $d --calib: $(head -c 300 "$tmp/err") $(grep top-5 "$tmp/out")"
  else
    bad "run --dtype $d --calib: $(head -c 300 "$tmp/err")"
  fi
done
"$qrun" run "$ex/model.onnx" --inputs "$ex/test_data_set_0" --dtype int8 --calib-method mse --scale pow2 --act-symmetric \
  --keep-float Convolution28 --dtype-for Convolution110=fp8e5m2 >"$tmp/out" 2>"$tmp/err" \
  && grep -q "no --calib: calibrating int8 on the run's own input" "$tmp/err" && grep -q "7 nodes quantized, 1 kept float" "$tmp/err" \
  && ok "run --dtype without --calib warns; per-node options" || bad "run --dtype per-node options: $(head -c 400 "$tmp/err")"
mkdir -p "$tmp/empty_calib"
expect_error "--dtype unknown format" "--dtype: unknown format 'int7'" "$qrun" run "$ex/model.onnx" --dtype int7
expect_error "--calib empty dir" "empty_calib: no \*.npy files or test_data_set_\* folders (or \*.jpg/\*.png images)" "$qrun" run "$ex/model.onnx" --inputs "$ex/test_data_set_0" --dtype int8 --calib "$tmp/empty_calib"
mkdir -p "$tmp/bad_calib"
cp "$ex/test_data_set_0/output_0.pb" "$tmp/bad_calib/x.npy" 2>/dev/null
cp "$src/tests/cli/int64_input.npy" "$tmp/bad_calib/a.npy"
expect_error "--calib sample mismatch names the file" "bad_calib/a.npy: calibration sample: input 'Input3'" "$qrun" run "$ex/model.onnx" --inputs "$ex/test_data_set_0" --dtype int8 --calib "$tmp/bad_calib"
expect_error "--keep-float unknown node" "keep_float: the model has no node named 'Nope'" "$qrun" run "$ex/model.onnx" --inputs "$ex/test_data_set_0" --dtype int8 --keep-float Nope
expect_error "--calib-method unknown" "--calib-method must be minmax, percentile, mse or entropy" "$qrun" run "$ex/model.onnx" --dtype int8 --calib-method kl

# Images: a JPEG through --preprocess (tench is class 0), --inputs DIR with input_0.jpg, bad keys.
jpeg=$src/../shared/models/data/imagenet-sample40/jpeg/n01440764_tench.JPEG
spec="resize=256,crop=224,mean=0.485,0.456,0.406,std=0.229,0.224,0.225,layout=nchw,scale=255"
if [ -f "$mnv2" ] && [ -f "$jpeg" ]; then
  "$qrun" run "$mnv2" --input "input=$jpeg" --preprocess "$spec" >"$tmp/out" 2>&1
  grep -q '^  top-5: 0 ' "$tmp/out" && ok "run on a JPEG with --preprocess" || bad "run on a JPEG: $(head -c 300 "$tmp/out")"
  mkdir -p "$tmp/img" && cp "$jpeg" "$tmp/img/input_0.jpg"
  "$qrun" run "$mnv2" --inputs "$tmp/img" --preprocess "$spec" >"$tmp/out" 2>&1
  grep -q '^  top-5: 0 ' "$tmp/out" && ok "--inputs DIR with input_0.jpg" || bad "--inputs DIR with input_0.jpg: $(head -c 300 "$tmp/out")"
  expect_error "--preprocess bad key" "n01440764_tench.JPEG: preprocess: unknown key 'size'" "$qrun" run "$mnv2" --input "input=$jpeg" --preprocess "size=3"
  expect_error "image of the wrong size" "input" "$qrun" run "$mnv2" --input "input=$jpeg" --preprocess "resize=100"
fi

# compare: FP32 vs formats on mnist-8's three test sets (labels 2, 0, 9 are the digits drawn).
printf '2\n0\n9\n' >"$tmp/labels3"
printf '2\ncat\n9\n' >"$tmp/labels3bad"
"$qrun" compare --help | grep -q -- "--dtypes" && ok "compare --help" || bad "compare --help"
grep -q "qrun compare MODEL" "$tmp/help" && ok "--help mentions compare" || bad "--help mentions compare"
if "$qrun" compare "$ex/model.onnx" --calib "$ex" --eval "$ex" --labels "$tmp/labels3" --dtypes int8,fp8e4m3 \
  --calib-method minmax >"$tmp/out" 2>"$tmp/err"; then
  grep -q "3 eval samples (3 labeled), 3 calibration samples, minmax calibration" "$tmp/out" &&
    grep -q "^fp32 *100.00%" "$tmp/out" && grep -q "^int8 " "$tmp/out" && grep -q "^fp8e4m3 " "$tmp/out" &&
    grep -q "per layer, fp8e4m3 (9 quantized activations)" "$tmp/out" && grep -q " ReLU32_Output_0$" "$tmp/out" &&
    ok "compare text tables" || bad "compare text tables: $(head -c 600 "$tmp/out")"
else
  bad "compare: $(head -c 300 "$tmp/err")"
fi
"$qrun" compare "$ex/model.onnx" --calib "$ex" --eval "$ex" --labels "$tmp/labels3" --json \
  --backend accel_sim --hw runai200 >"$tmp/cmp.json" 2>"$tmp/err"
if has_python; then
  python3 -c '
import json, math, sys
d = json.load(open(sys.argv[1]))
assert d["fp32"]["top1"] == 1.0 and d["fp32"]["samples"] == 3
r = d["results"]
assert [x["dtype"] for x in r] == ["int8", "fp8e4m3", "fp8e5m2", "fp8e3m4"]
for x in r:
    for k in ("top1", "agree_fp32", "sqnr_db", "max_abs_err", "layers", "latency_us", "energy_uj", "cycles"):
        assert k in x, k
    assert 0 <= x["top1"] <= 1 and 0 <= x["agree_fp32"] <= 1 and math.isfinite(x["sqnr_db"])
    assert len(x["layers"]) == 9
    for l in x["layers"]:
        assert set(("name", "sqnr_db", "saturated", "producer", "cycles", "energy_uj")) <= set(l) and l["saturated"] >= 0
        assert l["cycles"] >= 0 and l["energy_uj"] >= 0
assert r[0]["cycles"] > 0 and r[0]["energy_uj"] > 0
assert sum(l["cycles"] > 0 for l in r[0]["layers"]) >= 3, "per-layer cycles"
' "$tmp/cmp.json" && ok "compare --json schema (accel_sim costs)" || bad "compare --json schema: $(head -c 300 "$tmp/cmp.json") $(head -c 300 "$tmp/err")"
else
  grep -q '"agree_fp32"' "$tmp/cmp.json" && grep -q '"layers"' "$tmp/cmp.json" && ok "compare --json (no python3)" || bad "compare --json"
fi
expect_error "compare unknown dtype" "dtypes: unknown format 'fp9'" "$qrun" compare "$ex/model.onnx" --calib "$ex" --eval "$ex" --dtypes int8,fp9
expect_error "compare labels count" "has 2 labels, --eval .* has 3 samples" "$qrun" compare "$ex/model.onnx" --calib "$ex" --eval "$ex" --labels <(printf '1\n2\n')
expect_error "compare no samples" "--eval .*empty_calib: no \*.npy files" "$qrun" compare "$ex/model.onnx" --calib "$ex" --eval "$tmp/empty_calib"
expect_error "compare needs --eval" "--calib DIR and --eval DIR are required" "$qrun" compare "$ex/model.onnx" --calib "$ex"
expect_error "compare takes --dtypes" "not --dtype" "$qrun" compare "$ex/model.onnx" --dtype int8
expect_error "compare bad label" "labels3bad:2: expected a class index" "$qrun" compare "$ex/model.onnx" --calib "$ex" --eval "$ex" --labels "$tmp/labels3bad"

# convert: opset upgrade of mnist-8 (opset 8) to 13, run with the same outputs.
"$qrun" convert "$ex/model.onnx" --opset 13 -o "$tmp/m13.onnx" 2>"$tmp/err" && "$qrun" info "$tmp/m13.onnx" >"$tmp/out" 2>&1
grep -q 'opsets: ai.onnx=13' "$tmp/out" && grep -q 'producer: qrun' "$tmp/out" && ok "convert --opset 13" || bad "convert --opset 13: $(head -c 300 "$tmp/err")"
"$qrun" run "$tmp/m13.onnx" --inputs "$ex/test_data_set_0" --output-dir "$tmp/c13" >/dev/null 2>&1
cmp -s "$tmp/o/output_0.pb" "$tmp/c13/output_0.pb" && ok "converted model gives the same output" || bad "converted model gives the same output"
expect_error "convert without -o" "convert: -o OUT.onnx is required" "$qrun" convert "$ex/model.onnx"

# quantize: mnist-8 (opset 8) to an int8 QDQ file at opset 13 whose output equals run --dtype int8's.
"$qrun" quantize "$ex/model.onnx" --calib "$ex" -o "$tmp/q8.onnx" >"$tmp/out" 2>"$tmp/err" \
  && "$qrun" info "$tmp/q8.onnx" --no-lower >"$tmp/out" 2>&1
grep -q 'opsets: ai.onnx=13' "$tmp/out" && grep -q 'QuantizeLinear' "$tmp/out" && grep -q 'producer: qrun' "$tmp/out" \
  && ok "quantize writes a QDQ model" || bad "quantize writes a QDQ model: $(head -c 300 "$tmp/err")"
"$qrun" run "$tmp/q8.onnx" --inputs "$ex/test_data_set_0" --output-dir "$tmp/q8o" >/dev/null 2>&1
"$qrun" run "$ex/model.onnx" --inputs "$ex/test_data_set_0" --dtype int8 --calib "$ex" --output-dir "$tmp/q8r" >/dev/null 2>&1
cmp -s "$tmp/q8o/output_0.pb" "$tmp/q8r/output_0.pb" && ok "quantized file runs like run --dtype int8" \
  || bad "quantized file runs like run --dtype int8"
expect_error "quantize fp8e3m4 refused" "fp8e3m4 has no ONNX type; use qrun run/compare to evaluate it" "$qrun" quantize "$ex/model.onnx" --calib "$ex" --dtype fp8e3m4 -o "$tmp/x.onnx"
# Per-node profiles of an int8 model on both backends: the trace, the CSV and the table agree on
# the executed nodes (69 of MobileNetV2's 73; the Reshape's shape input is folded).
mnv2_in=$src/../shared/models/refs/int8__qoperator__mobilenetv2-12-int8/test_data_set_0
if [ -f "$mnv2" ] && [ -d "$mnv2_in" ] && has_python; then
  for be in cpu_ref accel_sim; do
    hwopt=""; simarg=""
    [ "$be" = accel_sim ] && hwopt="--hw speedai240" && simarg=sim
    # shellcheck disable=SC2086
    "$qrun" run "$mnv2" --inputs "$mnv2_in" --backend $be $hwopt --profile "$tmp/p_$be.json" >/dev/null 2>"$tmp/err" \
      && "$qrun" run "$mnv2" --inputs "$mnv2_in" --backend $be $hwopt --profile "$tmp/p_$be.csv" >/dev/null 2>>"$tmp/err" \
      && "$qrun" run "$mnv2" --inputs "$mnv2_in" --backend $be $hwopt --profile - --iters 2 >"$tmp/table_$be" 2>>"$tmp/err"
    nj=$(python3 "$src/tests/cli/check_profile.py" "$tmp/p_$be.json" 50 $simarg)
    nc=$(python3 "$src/tests/cli/check_profile.py" "$tmp/p_$be.csv" 50 $simarg)
    nt=$(grep -c '^ *[0-9][0-9]*  ' "$tmp/table_$be")
    [ "$nj" = 69 ] && [ "$nc" = 69 ] && [ "$nt" = 69 ] && grep -q "^profile: 69 nodes, .* (median of 2 timed runs per node" "$tmp/table_$be" \
      && grep -q "^by op type:" "$tmp/table_$be" && grep -q "^QLinearConv *52 " "$tmp/table_$be" \
      && grep -q " 100.00 *$" "$tmp/table_$be" \
      && ok "--profile json/csv/- on mobilenetv2 int8 ($be)" || bad "--profile on mobilenetv2 int8 ($be): json $nj csv $nc table $nt $(head -c 300 "$tmp/err")"
  done
fi
expect_error "quantize needs --calib" "quantize: --calib DIR is required" "$qrun" quantize "$ex/model.onnx" -o "$tmp/x.onnx"
expect_error "quantize needs -o" "quantize: -o OUT.onnx is required" "$qrun" quantize "$ex/model.onnx" --calib "$ex"

# Image calibration: two ImageNet JPEGs through --preprocess calibrate SqueezeNet (light, opset 9,
# its Softmax over [1,1000,1,1] upgraded to 13).
sq=$src/../shared/models/light/light_squeezenet.onnx
if [ -f "$sq" ] && [ -f "$jpeg" ]; then
  mkdir -p "$tmp/imgcal" && cp "$jpeg" "$tmp/imgcal/a.jpg" && cp "$(dirname "$jpeg")/n01629819_European_fire_salamander.JPEG" "$tmp/imgcal/b.JPEG"
  "$qrun" quantize "$sq" --calib "$tmp/imgcal" --preprocess "$spec" -o "$tmp/sq8.onnx" >"$tmp/out" 2>"$tmp/err"
  grep -q "percentile calibration on 2 samples" "$tmp/err" && "$qrun" info "$tmp/sq8.onnx" 2>&1 | grep -q 'opsets: ai.onnx=13' \
    && ok "quantize with image calibration" || bad "quantize with image calibration: $(head -c 300 "$tmp/err")"
fi

# bench: host times per format, and the simulated cost with accel_sim (timing: no calibration).
grep -q "qrun bench MODEL" "$tmp/help" && ok "--help mentions bench" || bad "--help mentions bench"
"$qrun" bench "$ex/model.onnx" --dtypes auto,int8 --calib "$ex" --iters 3 --warmup 1 --json >"$tmp/bench.json" 2>"$tmp/err"
if has_python; then
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["iters"] == 3 and d["warmup"] == 1 and [r["dtype"] for r in d["results"]] == ["auto", "int8"]
for r in d["results"]:
    h = r["host_ms"]
    assert 0 < h["min"] <= h["median"] <= h["p90"] <= h["max"] and r["host_ips"] > 0
    assert "latency_us" not in r
' "$tmp/bench.json" && ok "bench --json (cpu_ref)" || bad "bench --json: $(head -c 300 "$tmp/bench.json") $(head -c 300 "$tmp/err")"
  "$qrun" bench "$ex/model.onnx" --backend accel_sim --hw edge_small --sim timing --dtypes int8,fp8e4m3 --iters 2 --json >"$tmp/bench2.json" 2>"$tmp/err"
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["hw"] == "edge_small"
for r in d["results"]:
    assert r["latency_us"] > 0 and r["throughput_ips"] > 0 and r["energy_uj"] > 0 and r["average_w"] > 0
' "$tmp/bench2.json" && ok "bench --json (accel_sim timing)" || bad "bench accel_sim: $(head -c 300 "$tmp/bench2.json") $(head -c 300 "$tmp/err")"
fi
"$qrun" bench "$ex/model.onnx" --iters 2 >"$tmp/out" 2>"$tmp/err"
grep -q "^auto .* [0-9.]\+$" "$tmp/out" && grep -q "median ms" "$tmp/out" && ok "bench text table" || bad "bench text table: $(head -c 300 "$tmp/out")"
"$qrun" bench "$ex/model.onnx" --inputs "$ex/test_data_set_0" --iters 1 >"$tmp/out" 2>"$tmp/err"
grep -q "^auto " "$tmp/out" && ! grep -q "pseudo-random" "$tmp/err" && ok "bench --inputs DIR" || bad "bench --inputs DIR: $(head -c 300 "$tmp/err")"
expect_error "bench --inputs without the file" "input 'Input3': $tmp has no input_0.pb" "$qrun" bench "$ex/model.onnx" --inputs "$tmp"
expect_error "bench unknown dtype" "dtypes: unknown datatype 'fp9'" "$qrun" bench "$ex/model.onnx" --dtypes int8,fp9
expect_error "bench accel_sim needs --hw" "needs --hw" "$qrun" bench "$ex/model.onnx" --backend accel_sim
expect_error "bench --iters 0" "--iters expects a positive integer" "$qrun" bench "$ex/model.onnx" --iters 0

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
