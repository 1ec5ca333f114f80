#!/usr/bin/python3
"""Prints the peer benchmark's one table (markdown) from a bench/peers/run.sh output folder.

    /usr/bin/python3 report.py --out DIR --onnx DIR [--load-before L] [--load-after L]

Reads DIR/zeroshot-R.json (model_bench --json) and DIR/ort-R.json (ort_bench.mjs) of every round
R and DIR/ort-rss.json; each cell is the median over the rounds (each round's value is itself a
median of that round's repeats), with the rounds' range in brackets. ratio = zeroshot / ORT of
those medians (below 1: zeroshot takes less), with the range of the rounds' own ratios (each
round's two sides ran back to back) in brackets.
"""
import argparse
import glob
import json
import os
import re
import statistics
import subprocess

# (measure, zeroshot's key, ORT's key, unit, goal: the largest ratio the issue accepts, or None)
ROWS = [
    ("image embedding, batch 1", "image_b1_ms", "image_b1_ms", "ms", 0.8),
    ("image embedding, batch 8, per image", "image_b8_per_image_ms", "image_b8_per_image_ms", "ms",
     0.9),
    ("int8 image b1 (zs) vs fp32 image b1 (ORT)", "int8_image_b1_ms", "image_b1_ms", "ms", 0.45),
    ("text, 100 prompts (ORT padded to the longest, as HF's pipeline)", "text_100_prompts_ms",
     "text_100_prompts_ms", "ms", 0.2),
    ("text, 100 prompts (ORT padded to 77, as OpenAI's clip.tokenize)", "text_100_prompts_ms",
     "text_100_prompts_77_ms", "ms", 0.2),
    ("text, 1000 prompts", "text_prompts_ms", "text_prompts_ms", "ms", None),
    ("load, warm (zs) vs session creation, both towers (ORT)", "load_warm_ms", "session_warm_ms",
     "ms", None),
    ("load, first in the process (zs) vs first session creation", "load_first_ms",
     "session_first_ms", "ms", None),
    ("peak RSS, load + 1 image + 2 labels (fresh process)", "peak_rss_mib", "peak_rss_mib", "MiB",
     None),
]


def read_rounds(out, side):
    rounds = []
    numbered = {}
    for path in glob.glob(os.path.join(out, f"{side}-*.json")):
        match = re.fullmatch(rf"{side}-(\d+)\.json", os.path.basename(path))
        if match:
            with open(path) as f:
                numbered[int(match.group(1))] = json.load(f)
    return [numbered[r] for r in sorted(numbered)]  # round order: zeroshot's and ORT's pair up


def cell(values, unit):
    if not values:
        return "-"
    digits = 0 if unit == "MiB" else 1
    m = statistics.median(values)
    if len(values) == 1:
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def cpu_description():
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
    flags = fields.get("Flags", "").split()
    wanted = ["avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile"]
    return (fields.get("Model name", "unknown").strip(), [f for f in wanted if f in flags],
            os.cpu_count())


def package_version(name):
    result = subprocess.run(["dpkg-query", "-W", "-f=${Version}", name], capture_output=True,
                            text=True)
    return result.stdout.strip() or "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--onnx", required=True)
    parser.add_argument("--load-before", default="?")
    parser.add_argument("--load-after", default="?")
    args = parser.parse_args()

    zs, ort = read_rounds(args.out, "zeroshot"), read_rounds(args.out, "ort")
    if not zs or not ort:
        raise SystemExit(f"report: no zeroshot-R.json or ort-R.json in {args.out}")
    with open(os.path.join(args.out, "ort-rss.json")) as f:
        ort_rss = json.load(f)
    with open(os.path.join(args.onnx, "export.json")) as f:
        export = json.load(f)
    model, flags, cores = cpu_description()
    vnni = "avx512_vnni" in flags or "avx_vnni" in flags

    print(f"CPU: {model} ({cores} cores; flags: {' '.join(flags) or 'none of avx2/avx512'}); "
          f"load average {args.load_before} before, {args.load_after} after")
    print(f"zeroshot: model_bench --quick, {zs[0]['threads']} threads, oneDNN "
          f"{package_version('libdnnl2')}; ONNX Runtime {ort[0]['ort_version']} "
          f"(onnxruntime-node, CPU provider, {ort[0]['threads']} intra-op threads, sequential, "
          f"all graph optimisations, threads {'spin' if ort[0]['spinning'] else 'do not spin'} "
          f"between tasks), ONNX opset {export['opset']} from torch {export['torch']}; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset (libgomp spins a while)')}")
    print(f"{len(zs)} round{'s' if len(zs) != 1 else ''}, alternating; each value the median of {zs[0]['repeats']} repeats, "
          f"then the median over the rounds (range in brackets). Model {zs[0]['model']} "
          f"({zs[0]['weights_mib']:.0f} MiB). ONNX vs zeroshot embeddings: max |diff| image "
          f"{ort[0]['check_max_abs_diff']['image']:.1e}, text "
          f"{ort[0]['check_max_abs_diff']['text']:.1e}")
    print()
    print("| measure | zeroshot | ORT | ratio | goal | ok? |")
    print("|---|---|---|---|---|---|")
    for name, zs_key, ort_key, unit, goal in ROWS:
        zs_values = [r[zs_key] for r in zs]
        ort_values = [r[ort_key] for r in ort] if ort_key != "peak_rss_mib" else [
            ort_rss["peak_rss_mib"]]
        ratio = statistics.median(zs_values) / statistics.median(ort_values)
        paired = [z / o for z, o in zip(zs_values, ort_values)] if len(ort_values) > 1 else []
        ratio_text = f"{ratio:.2f}" + (
            f" ({min(paired):.2f}-{max(paired):.2f})" if len(paired) > 1 else "")
        if goal is None:
            goal_text, ok = "-", "-"
        elif ort_key == "image_b1_ms" and zs_key.startswith("int8") and not vnni:
            goal_text, ok = f"<= {goal} where VNNI exists", "n/a (no VNNI)"
        else:
            goal_text, ok = f"<= {goal}", "yes" if ratio <= goal else "**no**"
        print(f"| {name} ({unit}) | {cell(zs_values, unit)} | {cell(ort_values, unit)} | "
              f"{ratio_text} | {goal_text} | {ok} |")
    peaks = [r["fma_peak_gflops"] for r in zs if r.get("fma_peak_gflops")]
    if peaks:
        # What the image goals ask of the arithmetic: the ms they allow against the least ms the
        # CPU's FMA peak allows for the image's GFLOP (bench/fma_peak.h).
        peak, gflop = statistics.median(peaks), zs[0]["image_gflop"]
        least = gflop / peak * 1e3
        parts = []
        for name, key, goal in (("batch 1", "image_b1_ms", 0.8),
                                ("batch 8", "image_b8_per_image_ms", 0.9)):
            allowed = goal * statistics.median(r[key] for r in ort)
            parts.append(f"{name} <= {goal} x ORT = {allowed:.1f} ms, "
                         f"{100 * least / allowed:.0f}% of the peak")
            parts[-1] += f" (zeroshot: {100 * least / statistics.median(r[key] for r in zs):.0f}%)"
        print()
        print(f"FMA peak (model_bench, {zs[0]['threads']} threads): {peak:.0f} GFLOP/s, so an "
              f"image ({gflop:.2f} GFLOP) takes at least {least:.1f} ms. The goals ask for "
              + "; ".join(parts) + ".")
    print()
    print(f"zeroshot's image times include resizing, cropping and normalising the decoded "
          f"640x480 image (model_bench: embed_image of a decoded image); ORT gets the "
          f"preprocessed [1, 3, 224, 224] tensor. Text: zeroshot's embed_texts of \"a photo of "
          f"{{label}}\" (tokenising included, no text cache); ORT one padded batch of the same "
          f"token ids (padded to {ort[0]['text_prompts_padded_length']} tokens, the longest). "
          f"Load: zeroshot reads config, tokenizer and weights (mapped); ORT creates both "
          f"sessions from the .onnx files (graph optimisation included), no tokenizer. ORT's "
          f"peak RSS includes Node.js ({ort_rss['node_rss_before_sessions_mib']:.0f} MiB before "
          f"the sessions).")


if __name__ == "__main__":
    main()
