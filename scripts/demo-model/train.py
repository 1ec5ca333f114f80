#!/usr/bin/python3
"""Trains the demo CLIP (data/models/shapes-clip) on generated pictures of coloured shapes.

Usage (from the repository root, after building the CLI):
  /usr/bin/python3 scripts/demo-model/train.py [--out data/models/shapes-clip]

Needs Debian's python3-torch, python3-numpy and python3-pil, and libopenblas0-pthread (with
Debian's reference BLAS, torch's matrix products are about 15x slower). Deterministic: the same
seeds give the same pictures, the same initial weights and the same batches. About 12 minutes
with one torch thread on a busy 2-core machine (712 s for the shipped model).

The captions are tokenised by `build/zeroshot tokenize` with the real CLIP tokenizer, so training
and inference see the same ids. The loss is CLIP's symmetric contrastive loss, with soft targets:
a caption that names only a shape ("a photo of a circle") or only a colour matches every picture
in the batch that has that attribute, so a batch may hold several matches per row and column.
"""

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clip_torch as ct  # noqa: E402
import shapes  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOKENIZER_REPO = os.path.join(ROOT, "tests", "fixtures", "models", "tiny-clip")
TOKENIZER_FILES = ["tokenizer.json", "vocab.json", "merges.txt", "special_tokens_map.json",
                   "tokenizer_config.json"]
IMAGE_SIZE = 48
TRAIN_SEED, VALID_SEED = 1, 3  # the held-out set (heldout.py) uses seed 2

CONFIG = {
    "architectures": ["CLIPModel"],
    "model_type": "clip",
    "projection_dim": 48,
    "logit_scale_init_value": 2.6592,
    "initializer_factor": 1.0,
    "torch_dtype": "float16",
    "text_config": {
        "model_type": "clip_text_model",
        "hidden_size": 32,
        "intermediate_size": 128,
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "max_position_embeddings": 77,
        "vocab_size": 49408,
        "hidden_act": "quick_gelu",
        "layer_norm_eps": 1e-05,
        "projection_dim": 48,
        "bos_token_id": 49406,
        "eos_token_id": 49407,
        "pad_token_id": 49407,
    },
    "vision_config": {
        "model_type": "clip_vision_model",
        "hidden_size": 64,
        "intermediate_size": 256,
        "num_attention_heads": 4,
        "num_hidden_layers": 4,
        "image_size": IMAGE_SIZE,
        "patch_size": 8,
        "num_channels": 3,
        "hidden_act": "quick_gelu",
        "layer_norm_eps": 1e-05,
        "projection_dim": 48,
    },
}

PREPROCESSOR = {
    "do_resize": True,
    "size": {"shortest_edge": IMAGE_SIZE},
    "resample": 3,
    "do_center_crop": True,
    "crop_size": {"height": IMAGE_SIZE, "width": IMAGE_SIZE},
    "do_rescale": True,
    "rescale_factor": 0.00392156862745098,
    "do_normalize": True,
    "image_mean": ct.CLIP_MEAN,
    "image_std": ct.CLIP_STD,
    "do_convert_rgb": True,
    "image_processor_type": "CLIPImageProcessor",
    "processor_class": "CLIPProcessor",
}


def tokenize(cli, texts):
    out = subprocess.run([cli, "tokenize", "--repo", TOKENIZER_REPO, "--json", *texts],
                         check=True, capture_output=True, text=True).stdout
    rows = json.loads(out)
    assert [r["text"] for r in rows] == list(texts)
    return [r["ids"] for r in rows]


def make_set(seed, per_class):
    """uint8 crops [n, 64, 64, 3] and (colour index, shape index) per picture."""
    rng = random.Random(seed)
    crops, colour, shape = [], [], []
    colours = list(shapes.COLOURS)
    for _ in range(per_class):
        for c, s in shapes.CLASSES:
            crops.append(ct.preprocess_u8(shapes.render(c, s, rng), IMAGE_SIZE))
            colour.append(colours.index(c))
            shape.append(shapes.SHAPES.index(s))
    return np.stack(crops), torch.tensor(colour), torch.tensor(shape)


class TextTable:
    """The captions' token ids, padded, with the ids mapped onto a compact table of the tokens
    that they use: only those rows of the 49408-row token embedding are trained."""

    def __init__(self, ids):
        self.used = sorted({t for row in ids for t in row})
        index = {t: k for k, t in enumerate(self.used)}
        self.ids = ct.pad_ids(ids)
        self.compact = torch.tensor([[index[t] for t in row] for row in self.ids.tolist()])


def encode_texts(model, table, compact_emb, rows):
    ids = table.ids[rows]
    return model.encode_text(ids, compact_emb[table.compact[rows]])


def soft_clip_loss(logits, match):
    """Symmetric cross-entropy of CLIP with the row/column-normalised match matrix as targets."""
    m = match.float()
    li = -(m / m.sum(1, keepdim=True) * F.log_softmax(logits, 1)).sum(1).mean()
    lt = -(m / m.sum(0, keepdim=True) * F.log_softmax(logits, 0)).sum(0).mean()
    return (li + lt) / 2


def augment(batch_u8, gen):
    """Random horizontal/vertical flips (every class is closed under them)."""
    x = torch.from_numpy(batch_u8)
    if torch.rand((), generator=gen) < 0.5:
        x = x.flip(2)
    if torch.rand((), generator=gen) < 0.5:
        x = x.flip(1)
    return x.numpy()


@torch.no_grad()
def accuracy(model, table, compact_emb, caption_index, crops, colour, shape):
    """Top-1 accuracy with the default template over the 24 colour+shape labels."""
    model.eval()
    rows = [caption_index[f"a photo of {shapes.article(c)} {c} {s}"] for c, s in shapes.CLASSES]
    t = encode_texts(model, table, compact_emb, torch.tensor(rows))
    correct = 0
    for b in range(0, len(crops), 256):
        im = model.encode_image(ct.normalise(crops[b:b + 256]))
        pred = model.logits(im, t).argmax(1)
        truth = colour[b:b + 256] * len(shapes.SHAPES) + shape[b:b + 256]
        correct += (pred == truth).sum().item()
    model.train()
    return correct / len(crops)


def main():
    global IMAGE_SIZE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "zeroshot"))
    ap.add_argument("--out", default=os.path.join(ROOT, "data", "models", "shapes-clip"))
    ap.add_argument("--per-class", type=int, default=500, help="training pictures per class")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--image-size", type=int, default=IMAGE_SIZE)
    ap.add_argument("--patch", type=int, default=CONFIG["vision_config"]["patch_size"])
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1 is fastest for this small model on a busy machine)")
    args = ap.parse_args()
    IMAGE_SIZE = args.image_size
    CONFIG["vision_config"].update(image_size=args.image_size, patch_size=args.patch)
    PREPROCESSOR.update(size={"shortest_edge": args.image_size},
                        crop_size={"height": args.image_size, "width": args.image_size})
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    start = time.time()

    captions = shapes.all_captions()
    texts = [c[0] for c in captions]
    caption_index = {t: k for k, t in enumerate(texts)}
    table = TextTable(tokenize(args.cli, texts))
    colours = list(shapes.COLOURS)
    cap_colour = torch.tensor([colours.index(c) if c else -1 for _, c, _ in captions])
    cap_shape = torch.tensor([shapes.SHAPES.index(s) if s else -1 for _, _, s in captions])
    full = [k for k, (_, c, s) in enumerate(captions) if c and s]
    only_shape = [k for k, (_, c, s) in enumerate(captions) if s and not c]
    only_colour = [k for k, (_, c, s) in enumerate(captions) if c and not s]
    pools = {}
    for c in range(len(colours)):
        for s in range(len(shapes.SHAPES)):
            pools[(0, c, s)] = [r for r in full if cap_colour[r] == c and cap_shape[r] == s]
            pools[(1, c, s)] = [r for r in only_shape if cap_shape[r] == s]
            pools[(2, c, s)] = [r for r in only_colour if cap_colour[r] == c]
    print(f"{len(texts)} captions, {len(table.used)} distinct tokens", flush=True)

    crops, colour, shape = make_set(TRAIN_SEED, args.per_class)
    vcrops, vcolour, vshape = make_set(VALID_SEED, 10)
    print(f"{len(crops)} training pictures, {len(vcrops)} validation pictures "
          f"({time.time() - start:.0f} s)", flush=True)

    gen = torch.Generator().manual_seed(1234)
    model = ct.CLIP(CONFIG)
    ct.init_weights(model, gen)
    # The compact table starts as the rows of the full (initialised) table that it stands for.
    compact_emb = torch.nn.Parameter(
        model.text_model.embeddings.token_embedding.weight.detach()[table.used].clone())
    model.text_model.embeddings.token_embedding.weight.requires_grad_(False)
    decay = [p for n, p in model.named_parameters() if p.requires_grad and p.dim() >= 2
             and "embedding" not in n]
    no_decay = [p for n, p in model.named_parameters() if p.requires_grad and
                (p.dim() < 2 or "embedding" in n) and n != "logit_scale"]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                             {"params": no_decay + [compact_emb], "weight_decay": 0.0},
                             {"params": [model.logit_scale], "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98), eps=1e-6)
    warmup = max(1, args.steps // 20)

    def lr_at(step):
        if step < warmup:
            return args.lr * (step + 1) / warmup
        return args.lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / (args.steps - warmup)))

    n = len(crops)
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        idx = torch.randint(n, (args.batch,), generator=gen)
        pixels = ct.normalise(augment(crops[idx.numpy()], gen))
        # One caption per picture: 60% colour and shape, 20% shape only, 20% colour only.
        kind = torch.rand(args.batch, generator=gen)
        rows = []
        for k in range(args.batch):
            c, s = colour[idx[k]].item(), shape[idx[k]].item()
            pool = pools[(0 if kind[k] < 0.6 else 1 if kind[k] < 0.8 else 2, c, s)]
            rows.append(pool[torch.randint(len(pool), (), generator=gen).item()])
        rows = torch.tensor(rows)
        match = (((cap_colour[rows][None, :] == -1) |
                  (cap_colour[rows][None, :] == colour[idx][:, None])) &
                 ((cap_shape[rows][None, :] == -1) |
                  (cap_shape[rows][None, :] == shape[idx][:, None])))
        unique, inverse = torch.unique(rows, return_inverse=True)
        text_emb = encode_texts(model, table, compact_emb, unique)[inverse]
        logits = model.logits(model.encode_image(pixels), text_emb)
        loss = soft_clip_loss(logits, match)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if step % 100 == 0 or step == args.steps - 1:
            acc = accuracy(model, table, compact_emb, caption_index, vcrops, vcolour, vshape)
            print(f"step {step:5d}  loss {loss.item():.4f}  scale {model.logit_scale.exp():.1f}"
                  f"  valid top-1 (24 labels) {acc:.3f}  ({time.time() - start:.0f} s)",
                  flush=True)

    export(model, table, compact_emb, args.out)
    print(f"wrote {args.out} in {time.time() - start:.0f} s", flush=True)


def export(model, table, compact_emb, out):
    os.makedirs(out, exist_ok=True)
    with torch.no_grad():
        model.text_model.embeddings.token_embedding.weight[table.used] = compact_emb
    state = {}
    for name, t in model.state_dict().items():
        state[name] = t.to(torch.float16) if t.is_floating_point() else t
    ct.save_safetensors(state, os.path.join(out, "model.safetensors"))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
        json.dump(PREPROCESSOR, f, indent=2)
        f.write("\n")
    for name in TOKENIZER_FILES:
        shutil.copyfile(os.path.join(TOKENIZER_REPO, name), os.path.join(out, name))


if __name__ == "__main__":
    main()
