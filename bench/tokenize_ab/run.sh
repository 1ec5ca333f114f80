#!/bin/bash
# Tokenization of 100 labels (Model::tokenize) with two builds of libzeroshot, interleaved:
#   bench/tokenize_ab/run.sh OLD_BUILD_DIR NEW_BUILD_DIR [ROUNDS]
# (each a CMake build folder of this repository; the public headers must agree). Uses the tiny
# CLIP fixture (its real CLIP tokenizer). Prints each run and the medians in microseconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
old=$1 new=$2 rounds=${3:-7}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for side in old new; do
  dir=${!side}
  g++ -O2 -std=c++20 -I "$root/include" "$here/tokenize_ab.cc" -o "$tmp/$side" \
    -L "$dir/src/api" -lzeroshot -Wl,-rpath,"$dir/src/api"
done
model="$root/tests/fixtures/models/tiny-clip"
for ((i = 0; i < rounds; ++i)); do
  echo "old $("$tmp/old" "$model")" >> "$tmp/runs"
  echo "new $("$tmp/new" "$model")" >> "$tmp/runs"
done
cat "$tmp/runs"
for side in old new; do
  printf '%s median: ' "$side"
  grep "^$side " "$tmp/runs" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)] " us per 100 labels"}'
done
