#!/usr/bin/env bash
# Installs the build into a temporary prefix, builds tests/install/consumer.cc against it with
# find_package(zeroshot), and runs it on the tiny fixture model.
# Usage: check_install.sh BUILD_DIR SOURCE_DIR [CXX_COMPILER [FLAGS]]
# FLAGS (e.g. -fsanitize=address,undefined) go to the consumer's compile and link lines.
set -euo pipefail
build="$1"; src="$2"; cxx="${3:-}"; flags="${4:-}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > /dev/null
cmake -S "$src/tests/install" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" \
  ${cxx:+-DCMAKE_CXX_COMPILER="$cxx"} -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$flags" > /dev/null
cmake --build "$work/consumer" > /dev/null
out=$("$work/consumer/consumer" "$src/tests/fixtures/models/tiny-clip" \
      "$src/tests/fixtures/images/scene_640x480.png")
echo "consumer printed: $out"
# The reference top label for this image and these labels (reference/tiny-clip.json, "animals"),
# then the size of the compiled-in template set.
[ "$out" = "a cat
80" ]
