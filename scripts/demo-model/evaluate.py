#!/usr/bin/python3
"""Held-out accuracy of a shapes model through the C++ CLI (`zeroshot classify -l ...`).

Usage: /usr/bin/python3 scripts/demo-model/evaluate.py [--repo data/models/shapes-clip]
           [--cli build/zeroshot] HELDOUT_DIR
HELDOUT_DIR holds the pictures of heldout.py ({colour}-{shape}-{k}.png). Every label set is scored
with the CLI's default template "a photo of {label}"; top-1 = the best label is the right one.
"""

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shapes  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEMO4 = [("red", "circle"), ("blue", "square"), ("green", "triangle"), ("yellow", "star")]


def full(c, s):
    return f"{shapes.article(c)} {c} {s}"


def label_sets():
    """(name, labels, truth(colour, shape) -> label or None when the picture is not in the set)."""
    return [
        ("4 labels (the demo's)", [full(c, s) for c, s in DEMO4],
         lambda c, s: full(c, s) if (c, s) in DEMO4 else None),
        ("24 colour+shape labels", [full(c, s) for c, s in shapes.CLASSES], full),
        ("4 shape labels", [f"a {s}" for s in shapes.SHAPES], lambda c, s: f"a {s}"),
        ("6 colour labels", [f"{shapes.article(c)} {c} shape" for c in shapes.COLOURS],
         lambda c, s: f"{shapes.article(c)} {c} shape"),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("heldout")
    ap.add_argument("--repo", default=os.path.join(ROOT, "data", "models", "shapes-clip"))
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "zeroshot"))
    args = ap.parse_args()
    files = sorted(f for f in os.listdir(args.heldout) if f.endswith(".png"))
    for name, labels, truth in label_sets():
        chosen = []
        for f in files:
            c, s = f.split("-")[:2]
            if truth(c, s) is not None:
                chosen.append((os.path.join(args.heldout, f), truth(c, s)))
        cmd = [args.cli, "classify", "--repo", args.repo, "-q"]
        for label in labels:
            cmd += ["-l", label]
        out = subprocess.run(cmd + [p for p, _ in chosen], check=True, capture_output=True,
                             text=True).stdout
        best = {}
        for line in out.splitlines():
            row = json.loads(line)
            best[row["image"]] = row["results"][0]["label"]
        right = sum(best[p] == t for p, t in chosen)
        wrong = [(os.path.basename(p), best[p]) for p, t in chosen if best[p] != t]
        print(f"{name:24s} {right}/{len(chosen)} = {100 * right / len(chosen):.1f}% top-1"
              + (f"   wrong: {wrong[:6]}{' ...' if len(wrong) > 6 else ''}" if wrong else ""))


if __name__ == "__main__":
    main()
