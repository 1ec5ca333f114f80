#!/usr/bin/env bash
# Sanitizer and fuzzing stages (docs/ERRORS.md, "Sanitizers and fuzzing"):
#   asan  ASan + UBSan (+ LeakSanitizer) build running the whole CTest suite
#   tsan  TSan build running the concurrency tests
#   fuzz  clang + libFuzzer (+ ASan/UBSan) build: replays every seed and crash regression, then
#         fuzzes each target for FUZZ_SECONDS (default 15) from its corpus
# Usage: scripts/sanitize.sh [asan|tsan|fuzz]...   (no argument: all three)
# Builds go to build-asan/, build-tsan/, build-fuzz/; lean on purpose (-O1, only what is run) so
# that the three stages fit in CI next to the normal build.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${JOBS:-$(nproc)}
fuzz_seconds=${FUZZ_SECONDS:-15}
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(asan tsan fuzz)

common=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g"
        -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DZEROSHOT_WERROR=ON -DZEROSHOT_BUILD_BENCH=OFF)

# Third-party code is uninstrumented: its reports are suppressed by library, never by our frames.
export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:abort_on_error=0"
export LSAN_OPTIONS="suppressions=$root/scripts/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

stage_asan() {
  echo "== ASan + UBSan: whole test suite"
  cmake -S . -B build-asan "${common[@]}" -DZEROSHOT_SANITIZE="address;undefined" >/dev/null
  cmake --build build-asan -j"$jobs"
  # Tests run one per core: ASan roughly doubles memory, and some tests check time bounds.
  ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 900
}

stage_tsan() {
  echo "== TSan: concurrency tests"
  cmake -S . -B build-tsan "${common[@]}" -DZEROSHOT_SANITIZE=thread >/dev/null
  # The test binaries named *concurrency_test (their suites are named *Concurrency*).
  local targets
  targets=$(ninja -C build-tsan -t targets all | sed -n 's/^\([a-z_]*concurrency_test\): .*/\1/p')
  [ -n "$targets" ] || { echo "no concurrency tests found"; return 1; }
  # shellcheck disable=SC2086
  cmake --build build-tsan -j"$jobs" --target $targets
  # OpenMP (libgomp, used by oneDNN) is not instrumented: its barriers are invisible to TSan, so
  # the stage runs its parallel regions on the calling thread. Our own threading (many callers on
  # one Model, the model cache) is what this stage checks.
  OMP_NUM_THREADS=1 TSAN_OPTIONS="suppressions=$root/scripts/sanitizers/tsan.supp:ignore_noninstrumented_modules=1:halt_on_error=1:second_deadlock_stack=1" \
    ctest --test-dir build-tsan --output-on-failure -R Concurrency --timeout 900
}

stage_fuzz() {
  echo "== libFuzzer: corpus replay, then ${fuzz_seconds}s per target"
  cmake -S . -B build-fuzz "${common[@]}" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DZEROSHOT_BUILD_FUZZ=ON -DZEROSHOT_SANITIZE="address;undefined" >/dev/null
  local targets
  targets=$(sed -n 's/^ *zeroshot_fuzzer(\([a-z_]*\) .*/\1/p' tests/fuzz/CMakeLists.txt)
  local built=()
  for t in $targets; do
    if ninja -C build-fuzz -t targets all 2>/dev/null | grep -q "^$t:"; then built+=("$t"); fi
  done
  cmake --build build-fuzz -j"$jobs" --target "${built[@]}"
  ctest --test-dir build-fuzz --output-on-failure -L fuzz --timeout 600
  mkdir -p build-fuzz/artifacts
  for t in "${built[@]}"; do
    # New inputs go to a scratch corpus; the committed corpus is only read.
    rm -rf "build-fuzz/corpus-$t" && mkdir -p "build-fuzz/corpus-$t"
    echo "-- $t"
    "build-fuzz/tests/fuzz/$t" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t-" \
      "build-fuzz/corpus-$t" "tests/fuzz/corpus/$t" 2>&1 | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|Test unit written' || true
    if compgen -G "build-fuzz/artifacts/$t-*" >/dev/null; then
      echo "$t found a failing input: build-fuzz/artifacts/$t-*; fix it and add the input to" \
           "tests/fuzz/corpus/$t/ as a regression"
      return 1
    fi
  done
}

for stage in "${stages[@]}"; do
  case "$stage" in
    asan) stage_asan ;;
    tsan) stage_tsan ;;
    fuzz) stage_fuzz ;;
    *) echo "unknown stage '$stage' (asan, tsan or fuzz)" >&2; exit 2 ;;
  esac
done
