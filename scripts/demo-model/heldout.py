#!/usr/bin/python3
"""Writes the held-out pictures: the same recipe as training (shapes.py) with another seed (2;
training uses 1 and its validation 3), so no held-out picture was ever seen in training.

Usage: /usr/bin/python3 scripts/demo-model/heldout.py OUT_DIR [--per-class 20]
Files: OUT_DIR/{colour}-{shape}-{k:03d}.png, k = 0 .. per-class - 1 (needs only Pillow and numpy).
"""

import argparse
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shapes  # noqa: E402

HELDOUT_SEED = 2


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--per-class", type=int, default=20)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(HELDOUT_SEED)
    for k in range(args.per_class):
        for c, s in shapes.CLASSES:
            shapes.render(c, s, rng).save(os.path.join(args.out, f"{c}-{s}-{k:03d}.png"))
    print(f"wrote {args.per_class * len(shapes.CLASSES)} pictures to {args.out}")


if __name__ == "__main__":
    main()
