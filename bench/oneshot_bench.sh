#!/usr/bin/env bash
# One-shot latency (bench/README.md, "One-shot classify"); never in CI. Wall time and peak RSS of
# `zeroshot classify --repo MODEL IMAGE "a dog" "a cat"` (one process, one image, two labels, the
# weights in the page cache) in three states, rounds interleaved, medians:
#   off:   ZEROSHOT_PREPARED_CACHE=off (every run packs the weights in memory: the old behaviour)
#   first: the prepared-weights cache emptied before the run (packs; a background child writes
#          the files after the command exits: also timed, from the exit until they are in place)
#   warm:  the files written (maps them)
# and, once bench/peers/run.sh has prepared its ONNX export and onnxruntime-node, ONNX Runtime in
# the same rounds: a Node.js process that creates the vision and text sessions and runs each once
# (one image, two labels; `ort_bench.mjs --rss`), the same random weights.
# Usage: bench/oneshot_bench.sh [build-dir]   (env: ROUNDS=7, MODEL_DIR, IMAGE, CACHE_PARENT=/tmp)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
rounds=${ROUNDS:-7}
model=${MODEL_DIR:-$build/bench-models/clip-vit-base-patch32-random}  # bench/peers' model
image=${IMAGE:-$root/tests/fixtures/images/scene_640x480_q92.jpg}          # and image
[ -f "$model/model.safetensors" ] || "$build/bench/make_random_clip" "$model" >/dev/null
cache=$(mktemp -d "${CACHE_PARENT:-/tmp}/zs_oneshot.XXXXXX")  # CACHE_PARENT: the file system to test
trap 'rm -rf "$cache"' EXIT
echo "== CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$model/model.safetensors" >/dev/null  # the weights in the page cache, as for every state

# "seconds KB" of one run
run() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -1; }
zs() { run env ZEROSHOT_PREPARED_CACHE="$1" "$build/zeroshot" classify --repo "$model" "$image" "a dog" "a cat"; }
# ONNX Runtime, if bench/peers/run.sh has been run: its newest export and inputs.
ort=()
onnx=$(ls -dt "$build"/peers/onnx-* 2>/dev/null | grep -v '\.tmp$' | head -1 || true)
inputs=$(ls -dt "$build"/peers/inputs-* 2>/dev/null | head -1 || true)
if [ -n "$onnx" ] && [ -n "$inputs" ] && [ -d "$root/bench/peers/node_modules/onnxruntime-node" ]; then
  ort=(node "$root/bench/peers/ort_bench.mjs" --onnx "$onnx" --inputs "$inputs" --rss --threads "$(nproc)")
fi
declare -A wall rss writer
for r in $(seq 1 "$rounds"); do
  for state in off first warm ort; do
    [ "$state" != ort ] || [ ${#ort[@]} -gt 0 ] || continue
    # Every run starts from the same state: written data on disk, and time for the system to
    # settle (a mount with `discard` trims freed blocks in the background; a VM may hand freed
    # memory back to its host, and the next run to touch that much memory pays to get it back).
    sync; sleep 2
    case $state in
      off) out=$(zs off) ;;
      first) out=$(zs "$cache")
             # The writer holds the folder's lock until the files are in place.
             writer[first]+="$( { /usr/bin/time -f %e flock "$cache" true; } 2>&1 | tail -1) " ;;
      warm) out=$(zs "$cache"); rm -rf "${cache:?}"/* ;;
      ort) out=$(run "${ort[@]}") ;;
    esac
    wall[$state]+="${out% *} "
    rss[$state]+="${out#* } "
  done
done
med() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
weights=$(( $(stat -c %s "$model/model.safetensors") / 1024 ))
echo "== one image, 2 labels, $rounds rounds, medians (weights file $((weights / 1024)) MiB)"
off=$(echo "${wall[off]}" | med)
for state in off first warm ort; do
  [ -n "${wall[$state]:-}" ] || continue
  w=$(echo "${wall[$state]}" | med); m=$(echo "${rss[$state]}" | med)
  printf '  %-6s %6.3f s wall (%4.2fx off)  peak RSS %5d MiB (%4.2fx the weights)  runs: %s\n' \
    "$state" "$w" "$(echo "$w / $off" | bc -l)" $((m / 1024)) "$(echo "$m / $weights" | bc -l)" "${wall[$state]}"
done
echo "  first: its files were in place $(echo "${writer[first]}" | med) s after the command exited (runs: ${writer[first]})"
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
