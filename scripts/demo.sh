#!/usr/bin/env bash
# Installs the dependencies, builds zeroshot and classifies an example image.
# Usage: scripts/demo.sh [REPO]
#   With no REPO: the bundled demo model data/models/shapes-clip, a small CLIP trained on
#   generated pictures of coloured shapes (scripts/demo-model/), classifies one of its held-out
#   pictures (never seen in training) against four labels, two of its colour and two of its shape:
#   both must be seen to be right. It knows only such shapes and colours.
#   REPO (a hub id such as openai/clip-vit-base-patch32, or a local folder): that model classifies
#   a photo of a street scene against four everyday labels.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)" --target zeroshot_cli
if [ $# -eq 0 ]; then
  set -x
  ./build/zeroshot classify --repo data/models/shapes-clip data/models/shapes-clip/examples/yellow-star.png \
    "a red star" "a yellow circle" "a blue square" "a yellow star"
else
  set -x
  ./build/zeroshot classify --repo "$1" tests/fixtures/images/scene_640x480_q92.jpg \
    "a dog" "a cat" "a sports car" "a bowl of fruit"
fi
