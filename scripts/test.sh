#!/usr/bin/env bash
# Installs the dependencies, builds zeroshot with warnings as errors and runs every test, then the
# sanitizer and fuzzing stages of scripts/sanitize.sh: ASan+UBSan (with LeakSanitizer) over the
# whole suite, TSan over the concurrency tests, each fuzz target's corpus replayed and fuzzed for
# FUZZ_SECONDS (default here 10). 16 minutes on an idle 2-core machine, the stages two thirds of it.
# This is the README's test command, and exactly what CI runs (.ci/run).
# ZEROSHOT_SANITIZERS=0 skips the sanitizer stages (a quick local run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)
start=$SECONDS
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DZEROSHOT_WERROR=ON
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 600
echo "== release build and tests passed in $((SECONDS - start)) s"
if [ "${ZEROSHOT_SANITIZERS:-1}" != 0 ]; then
  FUZZ_SECONDS=${FUZZ_SECONDS:-10} bash scripts/sanitize.sh asan tsan fuzz
fi
