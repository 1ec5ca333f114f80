#!/usr/bin/env bash
# Sanitizer and fuzzing stages (docs/ERRORS.md, "Sanitizers and fuzzing"):
#   asan  ASan + UBSan (+ LeakSanitizer) build running the whole CTest suite
#   tsan  TSan build running the concurrency tests
#   fuzz  clang + libFuzzer (+ ASan/UBSan) build: replays every seed and crash regression, then
#         fuzzes each target for FUZZ_SECONDS (default 15) from its corpus
# Usage: scripts/sanitize.sh [--configure-only] [asan|tsan|fuzz]...   (no stage: all three)
#   --configure-only  only configure each stage's build: a missing compiler, runtime or package
#                     fails here in seconds instead of after the stages before it have run
# scripts/test.sh (the README's test command, what CI runs) runs all three after the normal build
# and tests, with FUZZ_SECONDS=10.
# Builds go to build-asan/, build-tsan/, build-fuzz/ (SANITIZE_BUILD_PREFIX=x: x-asan/, ...); lean
# on purpose (-O1, line tables only, no benchmarks, only the targets a stage runs) so that the
# three stages fit in CI next to the normal build. JOBS=n caps the parallelism (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${JOBS:-$(nproc)}
fuzz_seconds=${FUZZ_SECONDS:-15}
prefix=${SANITIZE_BUILD_PREFIX:-build}
configure_only=0
if [ "${1:-}" = --configure-only ]; then configure_only=1; shift; fi
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(asan tsan fuzz)

# -g1: line tables, enough for symbolised reports, at a fraction of full debug info's build time.
common=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1"
        -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DZEROSHOT_WERROR=ON -DZEROSHOT_BUILD_BENCH=OFF)

# Third-party code is uninstrumented: its reports are suppressed by library, never by our frames.
export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:abort_on_error=0"
export LSAN_OPTIONS="suppressions=$root/scripts/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

configure_asan() {
  cmake -S . -B "$prefix-asan" "${common[@]}" -DZEROSHOT_SANITIZE="address;undefined" >/dev/null
}
configure_tsan() {
  cmake -S . -B "$prefix-tsan" "${common[@]}" -DZEROSHOT_SANITIZE=thread >/dev/null
}
configure_fuzz() {
  cmake -S . -B "$prefix-fuzz" "${common[@]}" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DZEROSHOT_BUILD_FUZZ=ON -DZEROSHOT_SANITIZE="address;undefined" >/dev/null
}

stage_asan() {
  echo "== ASan + UBSan: whole test suite"
  configure_asan
  cmake --build "$prefix-asan" -j"$jobs"
  # Tests run one per core: ASan roughly doubles memory, and some tests check time bounds.
  ctest --test-dir "$prefix-asan" --output-on-failure -j"$jobs" --timeout 900
}

stage_tsan() {
  echo "== TSan: concurrency tests"
  configure_tsan
  # The test binaries named *concurrency_test (their suites are named *Concurrency*).
  local targets
  targets=$(ninja -C "$prefix-tsan" -t targets all | sed -n 's/^\([a-z_]*concurrency_test\): .*/\1/p')
  [ -n "$targets" ] || { echo "no concurrency tests found"; return 1; }
  # shellcheck disable=SC2086
  cmake --build "$prefix-tsan" -j"$jobs" --target $targets
  # OpenMP (libgomp, used by oneDNN) is not instrumented: its barriers are invisible to TSan, so
  # the stage runs its parallel regions on the calling thread. Our own threading (many callers on
  # one Model, the model cache) is what this stage checks.
  OMP_NUM_THREADS=1 TSAN_OPTIONS="suppressions=$root/scripts/sanitizers/tsan.supp:ignore_noninstrumented_modules=1:halt_on_error=1:second_deadlock_stack=1" \
    ctest --test-dir "$prefix-tsan" --output-on-failure -R Concurrency --timeout 900
}

stage_fuzz() {
  echo "== libFuzzer: corpus replay, then ${fuzz_seconds}s per target"
  configure_fuzz
  local targets
  targets=$(sed -n 's/^ *zeroshot_fuzzer(\([a-z_]*\) .*/\1/p' tests/fuzz/CMakeLists.txt)
  # The target list is read whole first: `ninja ... | grep -q` under pipefail fails at random
  # when grep exits at its first match and ninja dies of SIGPIPE (a fuzzer then goes unbuilt).
  local all_targets built=() missing=()
  all_targets=$(ninja -C "$prefix-fuzz" -t targets all)
  for t in $targets; do
    if grep -q "^$t:" <<<"$all_targets"; then built+=("$t"); else missing+=("$t"); fi
  done
  # A target the build did not configure (its module or source is missing) cannot run: in CI that
  # fails the stage, elsewhere it is skipped with the reason printed.
  if [ ${#missing[@]} -gt 0 ] || [ ${#built[@]} -eq 0 ]; then
    local why="fuzz targets of tests/fuzz/CMakeLists.txt not configured in $prefix-fuzz: ${missing[*]:-all}"
    case "${CI:-}" in
      "" | false | 0) echo "== skipped: $why" ;;
      *) echo "== $why; in CI every fuzz target must run" >&2; return 1 ;;
    esac
    [ ${#built[@]} -gt 0 ] || return 0
  fi
  cmake --build "$prefix-fuzz" -j"$jobs" --target "${built[@]}"
  ctest --test-dir "$prefix-fuzz" --output-on-failure -L fuzz --timeout 600
  rm -rf "$prefix-fuzz/artifacts" && mkdir -p "$prefix-fuzz/artifacts"
  for t in "${built[@]}"; do
    # New inputs go to a scratch corpus; the committed corpus is only read.
    rm -rf "$prefix-fuzz/corpus-$t" && mkdir -p "$prefix-fuzz/corpus-$t"
    echo "-- $t"
    "$prefix-fuzz/tests/fuzz/$t" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$prefix-fuzz/artifacts/$t-" \
      "$prefix-fuzz/corpus-$t" "tests/fuzz/corpus/$t" 2>&1 | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|Test unit written' || true
    if compgen -G "$prefix-fuzz/artifacts/$t-*" >/dev/null; then
      echo "$t found a failing input: $prefix-fuzz/artifacts/$t-*; fix it and add the input to" \
           "tests/fuzz/corpus/$t/ as a regression"
      return 1
    fi
  done
}

for stage in "${stages[@]}"; do
  case "$stage" in
    asan | tsan | fuzz) ;;
    *) echo "unknown stage '$stage' (asan, tsan or fuzz)" >&2; exit 2 ;;
  esac
done
if [ "$configure_only" = 1 ]; then
  for stage in "${stages[@]}"; do
    "configure_$stage" || { echo "== configuring the $stage build failed (see above)" >&2; exit 1; }
  done
  echo "== sanitizer and fuzzing builds configure (${stages[*]})"
  exit 0
fi
for stage in "${stages[@]}"; do
  start=$SECONDS
  "stage_$stage"
  echo "== $stage stage passed in $((SECONDS - start)) s"
done
