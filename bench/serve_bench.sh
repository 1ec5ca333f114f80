#!/usr/bin/env bash
# Load test of `zeroshot serve` (docs/SERVING.md), every number from this run:
#   1. the tiny fixture model, 64 keep-alive clients for DURATION s: errors, p50/p99, images/s;
#   2. a full-size random ViT-B/32 (bench/make_random_clip, generated once): the batch CLI's
#      images/s over BASELINE_IMAGES images (the in-run baseline, run before and after the server
#      runs; the faster counts), the server with dynamic batching (--max-batch 8) and with
#      --max-batch 1, 16 clients for DURATION s each, ROUNDS times alternating; prints server/CLI
#      and batched/unbatched ratios of the medians.
# Usage: bench/serve_bench.sh [--smoke] ZEROSHOT_CLI SERVE_LOAD MAKE_RANDOM_CLIP
#   --smoke: seconds, for CI: the tiny model, 64 clients connecting at once for 3 s, then a mixed
#   good/bad run; fails on any error.
# Environment: DURATION (60), ROUNDS (3), BASELINE_IMAGES (160), MODEL_DIR
# (build/bench-models/...).
set -euo pipefail
smoke=0
if [ "${1:-}" = --smoke ]; then smoke=1; shift; fi
cli=$1 load=$2 make_clip=$3
root=$(cd "$(dirname "$0")/.." && pwd)
fixtures=$root/tests/fixtures
images=("$fixtures/images/scene_640x480_q92.jpg" "$fixtures/images/scene_640x480.png"
        "$fixtures/images/scene_640x480_lossy.webp" "$fixtures/images/odd_301x225.png"
        "$fixtures/images/exif_orientation6_320x240.jpg" "$fixtures/images/large_1600x1200_q90.jpg")
labels=("a dog" "a cat" "a red car" "a house" "a tree" "the sea" "a person" "a bicycle")
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# start_server ARGS...: sets server_pid and port, waits until ready.
start_server() {
  "$cli" serve --port 0 "$@" 2>"$work/server.log" &
  server_pid=$!
  port=""
  for _ in $(seq 600); do
    port=$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' "$work/server.log" | head -1)
    if [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "server did not become ready:"; cat "$work/server.log"; exit 1
}
stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid"
  server_pid=""
}
field() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p"; }

tiny=$fixtures/models/tiny-clip
if [ "$smoke" = 1 ]; then
  start_server --repo "$tiny"
  echo "tiny model, 64 clients, 3 s:"
  "$load" --port "$port" --clients 64 --seconds 3 "${images[@]}" -- "${labels[@]}"
  echo "tiny model, 8 clients, 3 s, every 3rd request a bad one:"
  "$load" --port "$port" --clients 8 --seconds 3 --bad-every 3 "${images[@]}" -- "${labels[@]}"
  curl -sf "http://127.0.0.1:$port/health/live" >/dev/null  # still up
  stop_server
  exit 0
fi

duration=${DURATION:-60}
echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== 1. tiny model, 64 clients, ${duration} s"
start_server --repo "$tiny"
"$load" --port "$port" --clients 64 --seconds "$duration" "${images[@]}" -- "${labels[@]}" | tee "$work/tiny.json"
stop_server

model=${MODEL_DIR:-$root/build/bench-models/clip-vit-b32-random}
[ -f "$model/model.safetensors" ] || "$make_clip" "$model" >/dev/null
count=${BASELINE_IMAGES:-160}
mkdir -p "$work/images"
for i in $(seq 0 $((count - 1))); do
  src=${images[$((i % ${#images[@]}))]}
  cp "$src" "$work/images/$i.${src##*.}"
done
label_flags=()
for l in "${labels[@]}"; do label_flags+=(-l "$l"); done
# The batch CLI's images/s over the same images (model load included: tens of ms).
cli_images_per_s() {
  local start
  start=$(date +%s.%N)
  "$cli" classify --repo "$model" "${label_flags[@]}" --batch 8 -q "$work/images" >"$work/cli.jsonl"
  awk -v n="$count" -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {print n / (e - s)}'
}
echo "== 2. ViT-B/32 (random weights): batch CLI over $count images (--batch 8), the baseline"
cli_before=$(cli_images_per_s)
printf '{"cli_images_per_s": %.2f}\n' "$cli_before"
# server_run NAME MAX_BATCH: one DURATION-second run of 16 clients, its JSON in $work/NAME.json.
server_run() {
  echo "== server, --max-batch $2, 16 clients, ${duration} s"
  start_server --repo "$model" --max-batch "$2"
  "$load" --port "$port" --clients 16 --seconds "$duration" "${images[@]}" -- "${labels[@]}" | tee "$work/$1.json"
  if [ "$2" != 1 ]; then
    curl -s "http://127.0.0.1:$port/metrics" | awk '/^zeroshot_batch_size_(sum|count)/ {v[$1]=$2}
      END {if (v["zeroshot_batch_size_count"]) printf "mean batch size: %.2f\n", v["zeroshot_batch_size_sum"]/v["zeroshot_batch_size_count"]}'
  fi
  stop_server
}
# ROUNDS rounds of both servers, alternating which goes first (the machine's speed drifts: a
# neighbour on the shared cores moves one 60 s run by several %); the medians are compared.
rounds=${ROUNDS:-3}
batched_runs=() single_runs=()
for r in $(seq 1 "$rounds"); do
  echo "== round $r of $rounds"
  if [ $((r % 2)) = 1 ]; then order="batched single"; else order="single batched"; fi
  for which in $order; do
    if [ "$which" = batched ]; then
      server_run "batched-$r" 8
      batched_runs+=("$(field images_per_s <"$work/batched-$r.json")")
    else
      server_run "single-$r" 1
      single_runs+=("$(field images_per_s <"$work/single-$r.json")")
    fi
  done
done
echo "== batch CLI again (the baseline is the faster of its two runs: load on a shared machine drifts)"
cli_after=$(cli_images_per_s)
printf '{"cli_images_per_s": %.2f}\n' "$cli_after"
cli_rate=$(awk -v a="$cli_before" -v b="$cli_after" 'BEGIN {print (a > b ? a : b)}')
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
batched=$(median "${batched_runs[@]}")
single=$(median "${single_runs[@]}")
echo "== images/s per round: batched ${batched_runs[*]}; --max-batch 1 ${single_runs[*]}"
awk -v b="$batched" -v c="$cli_rate" -v s="$single" 'BEGIN {
  printf "== ratios of the medians: server/CLI %.3f (goal >= 0.9), batched/--max-batch 1 %.3f (goal >= 1.2)\n", b / c, b / s }'
