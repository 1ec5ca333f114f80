#!/usr/bin/env bash
# The peer benchmark (bench/README.md, "Peers"): zeroshot's model_bench against ONNX Runtime on the
# same random ViT-B/32, the same preprocessed image and the same prompts, run alternately round
# after round in this one run, then ONE markdown table of ratios. On demand only, never in CI.
#
#   bench/peers/run.sh [--rounds R] [--repeats N] [--threads N] [--build DIR]
#
# Prepares what is missing: the peer-only packages (Debian's python3-torch and python3-numpy for
# the export; Node.js and npm for ONNX Runtime), the build of model_bench and peer_inputs, the
# model (bench/make_random_clip), the ONNX export (cached by the weights file's hash) and
# onnxruntime-node (npm, --ignore-scripts, from package-lock.json). Each round runs
# `model_bench --quick` and ort_bench.mjs, each measuring medians of N repeats, in alternating
# order; the table gives the median over the R rounds. Results go to BUILD/peers/run-<time>/.
# On a shared machine run it as `OMP_WAIT_POLICY=passive bench/peers/run.sh`: zeroshot's OpenMP
# threads then sleep instead of spinning at barriers, and ort_bench.mjs turns ORT's spinning off.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=3
repeats=5
threads=$(nproc)
build=build
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "usage: bench/peers/run.sh [--rounds R] [--repeats N] [--threads N] [--build DIR]" >&2
       exit 2 ;;
  esac
done
python=/usr/bin/python3  # Debian's, which has python3-torch (not a pyenv python first on PATH)

# Peer-only packages: the peer benchmark is never in CI, so they are not in scripts/install-deps.sh.
missing=()
for p in python3-torch python3-numpy; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

# zeroshot's side, built as CI builds it.
if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" -j2 --target model_bench peer_inputs make_random_clip

model="$build/bench-models/clip-vit-base-patch32-random"
if [ ! -f "$model/model.safetensors" ]; then
  echo "generating $model (random weights)..." >&2
  "$build/bench/make_random_clip" "$model" >/dev/null
fi
image=tests/fixtures/images/scene_640x480_q92.jpg  # model_bench's image
hash=$(sha256sum "$model/model.safetensors" bench/peers/export_onnx.py | sha256sum | cut -c1-16)
peers="$build/peers"
inputs="$peers/inputs-$hash"
onnx="$peers/onnx-$hash"
"$build/bench/peer_inputs" "$model" "$image" 1000 "$inputs"
if [ ! -f "$onnx/export.json" ]; then
  echo "exporting the towers to ONNX in $onnx..." >&2
  "$python" bench/peers/export_onnx.py --model "$model" --inputs "$inputs" --out "$onnx.tmp"
  rm -rf "$onnx" && mv "$onnx.tmp" "$onnx"
fi

# ONNX Runtime: the CPU execution provider ships in the package; --ignore-scripts skips only the
# install script's optional GPU downloads.
if [ ! -f bench/peers/node_modules/onnxruntime-node/package.json ] ||
  [ bench/peers/package-lock.json -nt bench/peers/node_modules/.package-lock.json ]; then
  (cd bench/peers && npm ci --ignore-scripts --no-audit --no-fund)
fi

out="$peers/run-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
zeroshot_round() {
  "$build/bench/model_bench" --quick --model "$model" --repeats "$repeats" --threads "$threads" \
    --json "$out/zeroshot-$1.json" >"$out/zeroshot-$1.txt"
}
ort_round() {
  node bench/peers/ort_bench.mjs --onnx "$onnx" --inputs "$inputs" --threads "$threads" \
    --repeats "$repeats" --json "$out/ort-$1.json" >"$out/ort-$1.txt"
}
# Alternate which side goes first, so that neither always runs on a warmer or cooler machine.
for r in $(seq 1 "$rounds"); do
  echo "round $r of $rounds..." >&2
  if [ $((r % 2)) -eq 1 ]; then zeroshot_round "$r"; ort_round "$r"
  else ort_round "$r"; zeroshot_round "$r"; fi
done
node bench/peers/ort_bench.mjs --onnx "$onnx" --inputs "$inputs" --threads "$threads" --rss \
  >"$out/ort-rss.json"
"$python" bench/peers/report.py --out "$out" --onnx "$onnx" \
  --load-before "$load_before" --load-after "$(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/table.md"
