#!/usr/bin/env bash
# Decoding camera photos (bench/README.md, "Decoding"); never in CI. Makes test pictures from the
# real photographs of Debian's mate-backgrounds (dev only: apt-get install mate-backgrounds),
# upscaled with Pillow plus a little noise (sigma 3), JPEG q92, then in one run:
#   1. per image at 12 MP (4000x3000) and 48 MP (8000x6000): decode + preprocess, exact and fast
#      (build/bench/decode_bench), against Pillow's full decode + HF-style resize and Pillow's
#      draft() + the same resize (/usr/bin/python3, python3-pil);
#   2. the batch CLI (classify -l, 4 labels) on a random-weight ViT-B/32: images/s over the
#      4000x3000 pictures with --decode fast and exact, and over the same pictures at 640x480
#      (the model-bound baseline), rounds interleaved, medians.
# Usage: bench/decode_bench.sh [build-dir]
#   env: COUNT=12 pictures per size, ROUNDS=3, CLI_COUNT=48 images per batch CLI run (hard links
#   cycling over the COUNT pictures, so that the model's load is a small part of each run)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
count=${COUNT:-12}
rounds=${ROUNDS:-3}
cli_count=${CLI_COUNT:-48}
photos=/usr/share/backgrounds/mate/nature
# A bench-only package (46 MB), so not in scripts/install-deps.sh: CI never needs it.
if [ ! -d "$photos" ] && [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mate-backgrounds
fi
[ -d "$photos" ] || { echo "needs Debian's mate-backgrounds (apt-get install mate-backgrounds)" >&2; exit 1; }
work=$(mktemp -d /tmp/zs_decode_bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "== CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"

/usr/bin/python3 - "$photos" "$work" "$count" <<'PY'
import glob, os, sys
import numpy as np
from PIL import Image
photos, work, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
sources = sorted(glob.glob(photos + "/*.jpg"))
rng = np.random.default_rng(1)
for w, h in [(4000, 3000), (8000, 6000), (640, 480)]:
    os.makedirs(f"{work}/{w}x{h}")
    for i in range(count):
        im = Image.open(sources[i % len(sources)]).convert("RGB").resize((w, h), Image.BICUBIC)
        a = np.asarray(im).astype(np.int16) + rng.normal(0, 3, (h, w, 3)).round().astype(np.int16)
        Image.fromarray(a.clip(0, 255).astype(np.uint8)).save(f"{work}/{w}x{h}/{i:03d}.jpg", quality=92)
PY

for size in 4000x3000 8000x6000; do
  echo "== $size: zeroshot decode + preprocess"
  "$build/bench/decode_bench" --repeats "$rounds" "$work/$size"/*.jpg
  echo "== $size: Pillow $(/usr/bin/python3 -c 'import PIL; print(PIL.__version__)')"
  /usr/bin/python3 - "$rounds" "$work/$size"/*.jpg <<'PY'
import sys, time, statistics
from PIL import Image
rounds, paths = int(sys.argv[1]), sys.argv[2:]
def hf_resize(im):  # CLIPImageProcessor: shortest edge 224 (BICUBIC), centre crop 224
    w, h = im.size
    s = 224 / min(w, h)
    im = im.resize((max(224, int(w * s)), max(224, int(h * s))), Image.BICUBIC)
    l, t = (im.size[0] - 224) // 2, (im.size[1] - 224) // 2
    return im.crop((l, t, l + 224, t + 224))
full, draft = [], []
for r in range(rounds + 1):
    for p in paths:
        t = time.perf_counter(); im = Image.open(p); im.load(); d = time.perf_counter() - t
        t = time.perf_counter(); hf_resize(im.convert("RGB")); rs = time.perf_counter() - t
        t = time.perf_counter(); im2 = Image.open(p); im2.draft("RGB", (448, 448)); im2.load()
        hf_resize(im2.convert("RGB")); dr = time.perf_counter() - t
        if r: full.append((d, rs)); draft.append(dr)
m = lambda v: statistics.median(v) * 1000
print(f"  Pillow full: decode {m([a for a, _ in full]):8.1f}  resample {m([b for _, b in full]):6.1f}  "
      f"total {m([a + b for a, b in full]):8.1f} ms")
print(f"  Pillow draft(448) + resize: total {m(draft):8.1f} ms")
PY
done

for size in 4000x3000 640x480; do
  mkdir -p "$work/cli-$size"
  for i in $(seq 0 $((cli_count - 1))); do
    ln "$work/$size/$(printf %03d $((i % count))).jpg" "$work/cli-$size/$(printf %04d "$i").jpg"
  done
done
model=${MODEL_DIR:-$build/bench-models/clip-vit-b32-random}
[ -f "$model/model.safetensors" ] || "$build/bench/make_random_clip" "$model" >/dev/null
run() {  # images/s of classify -l over folder $1 with --decode $2
  local start end
  start=$(date +%s.%N)
  "$build/zeroshot" classify -q --repo "$model" --decode "$2" -l dog -l cat -l car -l tree "$1" >/dev/null
  end=$(date +%s.%N)
  echo "$cli_count / ($end - $start)" | bc -l
}
declare -A rate
for r in $(seq 1 "$rounds"); do
  for case in "4000x3000 fast" "4000x3000 exact" "640x480 exact" "640x480 fast"; do
    set -- $case
    rate["$1 $2"]+="$(run "$work/cli-$1" "$2") "
  done
done
med() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo "== batch CLI, ViT-B/32 (random weights), $cli_count images ($count pictures), $rounds rounds, median images/s"
for k in "640x480 exact" "640x480 fast" "4000x3000 exact" "4000x3000 fast"; do
  printf '  %-16s %6.2f images/s\n' "$k" "$(echo "${rate[$k]}" | med)"
done
small=$(echo "${rate[640x480 exact]}" | med)
printf '  4000x3000 fast / 640x480: %.2f (goal >= 0.7); exact / 640x480: %.2f\n' \
  "$(echo "$(echo "${rate[4000x3000 fast]}" | med) / $small" | bc -l)" \
  "$(echo "$(echo "${rate[4000x3000 exact]}" | med) / $small" | bc -l)"
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
