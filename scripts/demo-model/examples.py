#!/usr/bin/python3
"""Copies a few held-out pictures into the model folder (examples/) and writes, for each, the
scores of the Python model (clip_torch.py, the training code's forward pass, on the weights read
back from model.safetensors) as examples/reference.json; then checks that the C++ CLI gives the
same scores (the export is faithful) and that the right label wins.

Usage: /usr/bin/python3 scripts/demo-model/examples.py HELDOUT_DIR
           [--repo data/models/shapes-clip] [--cli build/zeroshot]
The pictures are the first held-out picture (k = 000) of each class in EXAMPLES, chosen by name
before looking at any result. tests/e2e/demo_model_test.cc checks reference.json in CI.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clip_torch as ct  # noqa: E402
import evaluate  # noqa: E402
import shapes  # noqa: E402

ROOT = evaluate.ROOT
EXAMPLES = [("red", "circle"), ("blue", "square"), ("green", "triangle"), ("yellow", "star"),
            ("orange", "triangle"), ("purple", "circle"), ("green", "star"), ("red", "square")]


def tokenize(cli, repo, texts):
    out = subprocess.run([cli, "tokenize", "--repo", repo, "--json", *texts], check=True,
                         capture_output=True, text=True).stdout
    return [r["ids"] for r in json.loads(out)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("heldout")
    ap.add_argument("--repo", default=os.path.join(ROOT, "data", "models", "shapes-clip"))
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "zeroshot"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = ct.load_model(args.repo)
    size = model.config["vision_config"]["image_size"]
    out_dir = os.path.join(args.repo, "examples")
    os.makedirs(out_dir, exist_ok=True)
    sets = {name: labels for name, labels, _ in evaluate.label_sets()[:2]}
    reference = {"template": "a photo of {label}", "label_sets": sets, "images": []}
    worst = 0.0
    for c, s in EXAMPLES:
        name = f"{c}-{s}.png"
        shutil.copyfile(os.path.join(args.heldout, f"{c}-{s}-000.png"),
                        os.path.join(out_dir, name))
        path = os.path.join(out_dir, name)
        pixels = ct.normalise(ct.preprocess_u8(Image.open(path), size)[None])
        entry = {"file": name, "truth": evaluate.full(c, s), "scores": {}}
        with torch.no_grad():
            image_emb = model.encode_image(pixels)
            for set_name, labels in sets.items():
                ids = tokenize(args.cli, args.repo, [f"a photo of {label}" for label in labels])
                text_emb = model.encode_text(ct.pad_ids(ids))
                scores = model.logits(image_emb, text_emb).softmax(-1)[0].tolist()
                entry["scores"][set_name] = dict(zip(labels, scores))
                cli = json.loads(subprocess.run(
                    [args.cli, "classify", "--json", "--repo", args.repo, path, *labels],
                    check=True, capture_output=True, text=True).stdout)
                diff = max(abs(r["score"] - entry["scores"][set_name][r["label"]]) for r in cli)
                worst = max(worst, diff)
                python_best = labels[max(range(len(labels)), key=lambda k: scores[k])]
                print(f"{name:22s} {set_name:24s} best: CLI {cli[0]['label']!r} "
                      f"({cli[0]['score']:.4f}), Python {python_best!r}; "
                      f"max |score diff| {diff:.2e}"
                      + ("" if cli[0]["label"] == entry["truth"] or
                         entry["truth"] not in labels else "   WRONG"))
        reference["images"].append(entry)
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")
    print(f"largest |CLI score - Python score|: {worst:.2e}")


if __name__ == "__main__":
    main()
