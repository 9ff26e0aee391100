#!/usr/bin/env bash
# Build qrun and run every test (unit tests, real models, the ONNX backend conformance suite).
#   scripts/test.sh              release build in build/ with -Werror
#   scripts/test.sh --sanitize   the same under AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/
#   scripts/test.sh --tsan       the multi-threaded tests under ThreadSanitizer in build-tsan/ (clang)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build
flags=(-DQRUN_WERROR=ON)
if [ "${1:-}" = "--tsan" ]; then
  # clang with LLVM's libomp, not gcc with libgomp: libgomp is not instrumented, so TSan cannot
  # see its barriers and reports every worksharing loop as a race (suppressing libgomp would hide
  # the real ones too). libomp loads Archer (OMP_TOOL_LIBRARIES), which tells TSan what OpenMP
  # synchronizes; ignore_noninstrumented_modules skips the runtime's own uninstrumented accesses.
  # Kernels run with 2 threads (the CI machine has 2 cores), so a race in a parallel loop shows.
  CC=clang cmake -S . -B build-tsan -G Ninja -DQRUN_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-tsan
  archer=$(ls /usr/lib/llvm-*/lib/libarcher.so 2>/dev/null | tail -n 1)
  [ -n "$archer" ] || { echo "test.sh --tsan: libarcher.so not found (install libomp-dev)" >&2; exit 1; }
  export OMP_TOOL_LIBRARIES=$archer OMP_NUM_THREADS=2 QRUN_SKIP_DATASET_RUNS=1
  export TSAN_OPTIONS=ignore_noninstrumented_modules=1:halt_on_error=1:exitcode=86:second_deadlock_stack=1
  ctest --test-dir build-tsan --output-on-failure \
    -R '^(test_ops_nn|test_models|test_qlinear_fast|test_models_int8|test_ops_elementwise|test_accel_sim|test_accel_datapath)$'
  exit
fi
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-asan
  flags+=(-DQRUN_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
  # The whole-dataset accuracy loops run here too (about 2 extra minutes on 2 cores): the real-model
  # tests must be clean under the sanitizers, not only their reference-output checks.
fi
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
cmake --build "$dir"
# A sanitizer finding exits with 86, which the conformance runner reports as a crash, not a plain failure.
export ASAN_OPTIONS=detect_leaks=1:exitcode=86
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86
ctest --test-dir "$dir" --output-on-failure
