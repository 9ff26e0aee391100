#!/usr/bin/env bash
# Build qrun and run every test (unit tests, real models, the ONNX backend conformance suite).
#   scripts/test.sh              release build in build/ with -Werror
#   scripts/test.sh --sanitize   the same under AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build
flags=(-DQRUN_WERROR=ON)
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-asan
  flags+=(-DQRUN_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
  # Whole-dataset accuracy loops (10k MNIST, PTQ accuracy per format, ...) take minutes under
  # the sanitizers; the release run covers them, this one keeps every reference-output check.
  export QRUN_SKIP_DATASET_RUNS=1
fi
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
cmake --build "$dir"
# A sanitizer finding exits with 86, which the conformance runner reports as a crash, not a plain failure.
export ASAN_OPTIONS=detect_leaks=1:exitcode=86
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86
ctest --test-dir "$dir" --output-on-failure
