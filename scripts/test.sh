#!/usr/bin/env bash
# Installs the dependencies, checks the include layers and the formatting, builds zeroshot with
# warnings as errors and runs every test, then the sanitizer and fuzzing stages of
# scripts/sanitize.sh: ASan+UBSan (with LeakSanitizer) over the whole suite, TSan over the
# concurrency tests, each fuzz target's corpus replayed and fuzzed for FUZZ_SECONDS (default here
# 10). About 16 minutes on an idle 2-core machine, the stages two thirds of it.
# This is the README's test command, and exactly what CI runs (.ci/run).
# ZEROSHOT_SANITIZERS=0 skips the sanitizer stages (a quick local run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)
start=$SECONDS
bash scripts/check-layers.sh
bash scripts/check-format.sh
sanitizers=${ZEROSHOT_SANITIZERS:-1}
if [ "$sanitizers" != 0 ]; then
  # Configure the stages' builds first: a missing package fails now, not after 10 minutes.
  bash scripts/sanitize.sh --configure-only asan tsan fuzz
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DZEROSHOT_WERROR=ON
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 600
echo "== release build and tests passed in $((SECONDS - start)) s"
if [ "$sanitizers" != 0 ]; then
  FUZZ_SECONDS=${FUZZ_SECONDS:-10} bash scripts/sanitize.sh asan tsan fuzz
fi
