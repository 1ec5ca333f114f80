#!/usr/bin/env bash
# Installs the dependencies, builds zeroshot and classifies an example image.
# Usage: scripts/demo.sh [REPO]   (REPO: a hub id such as openai/clip-vit-base-patch32, or a local
# folder; the default is the bundled tiny test model, whose random weights give meaningless scores
# but need no download).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)" --target zeroshot_cli
repo="${1:-tests/fixtures/models/tiny-clip}"
set -x
./build/zeroshot classify --repo "$repo" tests/fixtures/images/scene_640x480_q92.jpg \
  "a dog" "a cat" "a sports car" "a bowl of fruit"
