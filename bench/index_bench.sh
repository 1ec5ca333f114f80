#!/usr/bin/env bash
# `zeroshot index` build throughput against `classify -l` over the same images, in the same run
# (never in CI). Each round times `classify -l` (the baseline: decode ahead, batches) and `index`
# into a new file (read once: hash + decode from the same bytes, batches, one SQLite transaction
# per batch), alternating which goes first; prints images/s per round, the medians and
# index/classify (goal >= 0.9).
# Then, with the index built, `classify --db` against `classify -l` per image (goal >= 100x: the
# stored vectors against decoding and embedding every image), with the same labels.
# Usage: bench/index_bench.sh ZEROSHOT_CLI [MODEL_DIR]
#   MODEL_DIR: a CLIP folder (default: tests/fixtures/models/tiny-clip, where decoding and file
#   reading dominate; for a full-size model, a random ViT-B/32 made by build/bench/make_random_clip
#   DIR).
# Environment: IMAGES (200: distinct files, copies of fixture JPEGs with a unique trailing comment
# so that no two share a hash), ROUNDS (3), BATCH (16), LABELS (8), DB_IMAGES (50000), OLD_CLI (an
# earlier build's zeroshot: its `index` is timed too, in the same rounds).
set -euo pipefail
cli=$1
root=$(cd "$(dirname "$0")/.." && pwd)
model=${2:-$root/tests/fixtures/models/tiny-clip}
count=${IMAGES:-200}
rounds=${ROUNDS:-3}
batch=${BATCH:-16}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sources=("$root/tests/fixtures/images/scene_640x480_q92.jpg"
         "$root/tests/fixtures/images/large_1600x1200_q90.jpg")
mkdir -p "$work/images"
for i in $(seq 0 $((count - 1))); do
  # Bytes after a JPEG's end-of-image marker are ignored by decoders but change the hash.
  { cat "${sources[$((i % ${#sources[@]}))]}"; printf 'zeroshot bench %d\n' "$i"; } >"$work/images/$i.jpg"
done
all_labels=("a dog" "a cat" "a red car" "a house" "a tree" "the sea" "a person" "a bicycle"
            "a boat" "a mountain" "a city" "a flower")
label_flags=()
for l in "${all_labels[@]:0:${LABELS:-8}}"; do label_flags+=(-l "$l"); done

now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" -v e="$3" 'BEGIN {printf "%.2f", n / (e - s)}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

echo "== $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== model $model; $count images ($(du -sh "$work/images" | cut -f1)); --batch $batch"
classify_runs=() index_runs=() old_runs=()
run_classify() {
  local s
  s=$(now)
  "$cli" classify --repo "$model" "${label_flags[@]}" --batch "$batch" -q "$work/images" >"$work/classify.jsonl"
  classify_runs+=("$(rate "$count" "$s" "$(now)")")
}
run_index() {
  local s
  rm -f "$work/index.db" "$work/index.db-journal"
  s=$(now)
  "$cli" index --db "$work/index.db" --repo "$model" --batch "$batch" -q "$work/images" >/dev/null
  index_runs+=("$(rate "$count" "$s" "$(now)")")
}
run_old() {
  local s
  rm -f "$work/old.db" "$work/old.db-journal"
  s=$(now)
  "$OLD_CLI" index --db "$work/old.db" --repo "$model" --batch "$batch" -q "$work/images" >/dev/null
  old_runs+=("$(rate "$count" "$s" "$(now)")")
}
# The order rotates round by round (the load of a shared machine drifts within a round).
runs=(run_classify run_index)
if [ -n "${OLD_CLI:-}" ]; then runs+=(run_old); fi
for r in $(seq 1 "$rounds"); do
  k=${#runs[@]}
  for j in $(seq 0 $((k - 1))); do "${runs[$(((r - 1 + j) % k))]}"; done
  line="round $r: classify -l ${classify_runs[-1]} images/s, index ${index_runs[-1]} images/s"
  if [ -n "${OLD_CLI:-}" ]; then line+=", OLD_CLI index ${old_runs[-1]} images/s"; fi
  echo "$line"
done
if [ -n "${OLD_CLI:-}" ]; then
  awk -v o="$(median "${old_runs[@]}")" -v x="$(median "${index_runs[@]}")" 'BEGIN {printf "== OLD_CLI index %.2f images/s; index/OLD_CLI %.3f\n", o, x / o}'
fi
c=$(median "${classify_runs[@]}")
x=$(median "${index_runs[@]}")
awk -v c="$c" -v x="$x" 'BEGIN {printf "== medians: classify -l %.2f images/s, index %.2f images/s: index/classify %.3f (goal >= 0.9)\n", c, x, x / c}'

# classify --db against classify -l, per image. classify --db loads the model like classify -l
# but decodes nothing, so over a few hundred images its time is the load; the per-image figure is
# taken over a larger index: the built one's rows repeated (new paths, the same vectors: SQLite
# rows copied with Python's sqlite3, dev only) to DB_IMAGES (50000) images, and the time of one
# command over it divided by its images (model load included).
big=${DB_IMAGES:-50000}
cp "$work/index.db" "$work/big.db"
/usr/bin/python3 - "$work/big.db" "$big" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
copy = 0
while n < int(sys.argv[2]):
    copy += 1
    db.execute("INSERT INTO files SELECT path || '.copy' || ?, size, mtime_ns, hash, error, vector "
               "FROM files WHERE path NOT LIKE '%.copy%' LIMIT ?", (copy, int(sys.argv[2]) - n))
    n = db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
db.commit()
PY
db_runs=()
for r in $(seq 1 "$rounds"); do
  s=$(now)
  "$cli" classify --db "$work/big.db" "${label_flags[@]}" >"$work/db.jsonl"
  db_runs+=("$(rate "$big" "$s" "$(now)")")
done
if [ "$(wc -l <"$work/db.jsonl")" != "$big" ]; then echo "classify --db printed $(wc -l <"$work/db.jsonl") lines, not $big"; exit 1; fi
d=$(median "${db_runs[@]}")
awk -v c="$c" -v d="$d" -v n="$big" 'BEGIN {printf "== classify --db over %d images: %.0f images/s (%.4f ms per image, model load included) against classify -l %.2f images/s (%.3f ms): %.0fx per image (goal >= 100x)\n", n, d, 1000 / d, c, 1000 / c, d / c}'
