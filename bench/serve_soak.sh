#!/usr/bin/env bash
# Soak test of `zeroshot serve` (on demand, not in CI): SOAK_SECONDS (600) of 16 clients mixing
# good requests with bad ones (every 4th: undecodable bytes, broken JSON, an unknown route, a
# wrong content type), sampling the server's RSS and peak RSS every 10 s. Passes when there is no
# error and the peak RSS at the end is within 10% of the peak after the first minute (flat).
# Usage: bench/serve_soak.sh ZEROSHOT_CLI SERVE_LOAD [REPO]   (REPO: the tiny fixture model)
set -euo pipefail
cli=$1 load=$2
root=$(cd "$(dirname "$0")/.." && pwd)
repo=${3:-$root/tests/fixtures/models/tiny-clip}
seconds=${SOAK_SECONDS:-600}
images=("$root/tests/fixtures/images/scene_640x480_q92.jpg" "$root/tests/fixtures/images/small_100x80.png"
        "$root/tests/fixtures/images/large_1600x1200_q90.jpg")
log=$(mktemp)
"$cli" serve --port 0 --repo "$repo" 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
port=""
for _ in $(seq 600); do
  port=$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' "$log" | head -1)
  if [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null; then break; fi
  sleep 0.1
done
"$load" --port "$port" --clients 16 --seconds "$seconds" --bad-every 4 "${images[@]}" -- \
  "a dog" "a cat" "a car" >"$log.result" &
load_pid=$!
kb() { awk "/^$1:/ {print \$2}" "/proc/$pid/status"; }
first_minute_peak=""
echo "elapsed_s rss_kb peak_kb"
for ((t = 10; t <= seconds; t += 10)); do
  sleep 10
  echo "$t $(kb VmRSS) $(kb VmHWM)"
  if [ "$t" = 60 ]; then first_minute_peak=$(kb VmHWM); fi
done
load_status=0
wait "$load_pid" || load_status=$?
cat "$log.result"
rm -f "$log.result"
end_peak=$(kb VmHWM)
kill -TERM "$pid"
server_status=0
wait "$pid" || server_status=$?
first_minute_peak=${first_minute_peak:-$end_peak}
echo "peak RSS after 1 min: $first_minute_peak kB, at the end: $end_peak kB"
echo "load client exit $load_status (0: no error), server exit $server_status"
flat=$([ "$end_peak" -le $((first_minute_peak * 11 / 10)) ] && echo yes || echo no)
echo "flat: $flat"
[ "$flat" = yes ] && [ "$load_status" = 0 ] && [ "$server_status" = 0 ]
