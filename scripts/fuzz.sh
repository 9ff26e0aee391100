#!/usr/bin/env bash
# Build the libFuzzer targets (fuzz/*.c; clang, ASan+UBSan+libFuzzer, in build-fuzz/) and run each
# for a bounded time on seed corpora made from ../shared/models, hw/ and fuzz/seeds/.
#   scripts/fuzz.sh [--time SECONDS] [--seed N] [TARGET...]   (default: 60 s each, every target)
# --seed N fixes libFuzzer's random seed (CI uses it so a run explores the same way each time);
# without it each run takes a fresh seed.
# Prints executions/s and coverage (libFuzzer's cov/ft) per target. Exits non-zero when a target
# finds a crash, leak, undefined behaviour, timeout or out-of-memory; the input is saved as
# build-fuzz/findings/TARGET/{crash,leak,timeout,oom}-SHA1 (replay it: build-fuzz/fuzz/TARGET FILE).
# A fixed finding becomes a regression input in tests/data/fuzz/TARGET/ (ctest TARGET_replay).
# The corpora grow in build-fuzz/corpus/TARGET and are kept between runs (scratch, never committed).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
time_s=60
seed_n=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) time_s=$2; shift 2 ;;
    --time=*) time_s=${1#--time=}; shift ;;
    --seed) seed_n=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all=(fuzz_model fuzz_npy fuzz_tensor_pb fuzz_hw_config fuzz_image)
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target $t (targets: ${all[*]})" >&2; exit 2; }
done

dir=build-fuzz
shared=$root/../shared/models
testdata=/usr/share/libonnx-testdata/data
CC=${FUZZ_CC:-clang} cmake -S . -B "$dir" -G Ninja -DQRUN_FUZZ=ON -DQRUN_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" --target "${targets[@]}"

# Seeds: copies named by content (duplicates collapse), files over max_len skipped.
add_seeds() { # corpus max_len files...
  local corpus=$1 max=$2 f
  shift 2
  for f in "$@"; do
    [ -f "$f" ] && [ "$(stat -c %s "$f")" -le "$max" ] || continue
    cp "$f" "$corpus/$(sha1sum "$f" | cut -c1-40)"
  done
}
seed() { # target corpus max_len
  local t=$1 corpus=$2 max=$3
  shopt -s nullglob globstar
  add_seeds "$corpus" "$max" fuzz/seeds/"$t"/* tests/data/fuzz/"$t"/*
  case $t in
    fuzz_model)
      add_seeds "$corpus" "$max" "$shared"/**/*.onnx "$testdata"/*/*/model.onnx tests/cli/*.onnx ;;
    fuzz_tensor_pb)
      add_seeds "$corpus" "$max" "$shared"/**/*.pb "$testdata"/node/test_[a-d]*/test_data_set_0/*.pb ;;
    fuzz_npy)
      add_seeds "$corpus" "$max" tests/cli/*.npy ;;
    fuzz_hw_config)
      add_seeds "$corpus" "$max" hw/*.json ;;
    fuzz_image)
      # The smallest photo of the sample (a real camera JPEG); the hand-made seeds are tiny
      # JPEGs (baseline, progressive, gray) and PNGs, which decode a hundred times faster.
      mapfile -t jpegs < <(ls -S "$shared"/data/imagenet-sample40/jpeg/* 2>/dev/null | tail -n 1)
      add_seeds "$corpus" "$max" "${jpegs[@]}" ;;
  esac
  shopt -u nullglob globstar
}
# Dictionaries: protobuf tags and op names for ONNX; the keys of the shipped descriptions for
# the hardware JSON (so the fuzzer spells them right without a hand-kept list).
dict_for() { # target -> dictionary path (or nothing)
  case $1 in
    fuzz_model|fuzz_tensor_pb) echo "$root/fuzz/onnx.dict" ;;
    fuzz_npy) echo "$root/fuzz/npy.dict" ;;
    fuzz_hw_config)
      grep -oh '"[a-z0-9_]*"[[:space:]]*:' hw/*.json | sed 's/[[:space:]]*:$//' | sort -u \
        >"$dir/hw.dict"
      echo "$root/$dir/hw.dict" ;;
  esac
}
max_len_for() {
  case $1 in
    fuzz_hw_config) echo 16384 ;;
    *) echo 65536 ;;
  esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OMP_NUM_THREADS=1
status=0
summary=()
for t in "${targets[@]}"; do
  corpus=$dir/corpus/$t findings=$dir/findings/$t log=$dir/logs/$t.log
  mkdir -p "$corpus" "$findings" "$dir/logs"
  max=$(max_len_for "$t")
  seed "$t" "$corpus" "$max"
  args=(-max_total_time="$time_s" -rss_limit_mb=2048 -timeout=30 -max_len="$max"
        -print_final_stats=1 -artifact_prefix="$findings/" -seed="$seed_n")
  d=$(dict_for "$t")
  [ -n "$d" ] && args+=(-dict="$d")
  echo "fuzz.sh: $t for ${time_s}s ($(ls "$corpus" | wc -l) inputs in $corpus)"
  rc=0
  "$dir/fuzz/$t" "${args[@]}" "$corpus" >"$log" 2>&1 || rc=$?
  # Final stats: "#N DONE cov: C ft: F corp: ..." and "stat::average_exec_per_sec: E".
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  execs=$(sed -n 's/^stat::number_of_executed_units: //p' "$log")
  eps=$(sed -n 's/^stat::average_exec_per_sec: //p' "$log")
  line="$t: ${execs:-?} runs, ${eps:-?} exec/s, cov ${cov:-?}, ft ${ft:-?}, corpus $(ls "$corpus" | wc -l)"
  if [ "$rc" -ne 0 ]; then
    status=1
    line+=" -- FINDING (exit $rc): $(grep -m1 -E 'ERROR: |runtime error|SUMMARY' "$log" || echo see log)"
    line+="; input in $findings/, log $log"
    tail -n 60 "$log" >&2
  fi
  echo "$line"
  summary+=("$line")
done
echo "fuzz.sh summary (${time_s}s per target):"
printf '  %s\n' "${summary[@]}"
exit $status
