#!/usr/bin/python3
"""Exports a Hugging Face layout CLIP folder's two towers to ONNX for the peer benchmark.

    /usr/bin/python3 export_onnx.py --model DIR --inputs DIR --out DIR

A small PyTorch module of Hugging Face's CLIP architecture (transformers' modeling_clip.py:
pre-norm encoder layers, quick_gelu, the vision tower's class token and pre/post layer norms, the
text tower's causal mask and end-token pooling) loads model.safetensors (parsed here with numpy:
8-byte header length, JSON header, raw little-endian data) and is checked against zeroshot's own
embeddings of the same preprocessed pixels and token ids (peer_inputs writes them to --inputs) to
1e-4 before anything is exported. Writes to --out:
  vision.onnx  pixel_values [batch, 3, S, S] float32 -> embeds [batch, projection_dim]
  text.onnx    input_ids, attention_mask [batch, length] int64 -> embeds [batch, projection_dim]
               (a padded batch: each row pooled at its first end token, as Hugging Face)
  export.json  versions, opset and the check's maximum differences
Both outputs are L2-normalised, as zeroshot's embed_image and embed_text.
Needs Debian's python3-torch and python3-numpy (bench/peers/run.sh installs them).
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch
from torch import nn

OPSET = 17  # the newest torch 1.13 exports; has LayerNormalization
TOLERANCE = 1e-4

SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I64": np.int64}


def load_safetensors(path):
    """name -> float32 numpy array (F32, F16, BF16; integer buffers such as position_ids skipped)."""
    with open(path, "rb") as f:
        header_len = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(header_len))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_len)
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__" or entry["dtype"] not in ("F32", "F16", "BF16"):
            continue
        begin, end = entry["data_offsets"]
        raw = np.frombuffer(data[begin:end], dtype=SAFETENSORS_DTYPES[entry["dtype"]])
        if entry["dtype"] == "BF16":  # bfloat16 is the top half of a float32
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = raw.astype(np.float32).reshape(entry["shape"])
    return tensors


def clip_config(folder):
    """config.json with transformers' CLIPConfig defaults for every missing field."""
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    text = {"hidden_size": 512, "intermediate_size": 2048, "num_hidden_layers": 12,
            "num_attention_heads": 8, "layer_norm_eps": 1e-5, "hidden_act": "quick_gelu",
            "eos_token_id": 49407}
    vision = {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
              "num_attention_heads": 12, "layer_norm_eps": 1e-5, "hidden_act": "quick_gelu",
              "image_size": 224, "patch_size": 32}
    text.update(config.get("text_config") or {})
    vision.update(config.get("vision_config") or {})
    return text, vision


def activation(name):
    if name == "quick_gelu":
        return lambda x: x * torch.sigmoid(1.702 * x)
    if name == "gelu":
        return lambda x: nn.functional.gelu(x)
    if name in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        return lambda x: nn.functional.gelu(x, approximate="tanh")
    sys.exit(f"export_onnx: hidden_act {name!r} is not one of quick_gelu, gelu, gelu_new")


def linear(weights, prefix, bias=True):
    w = weights[prefix + ".weight"]
    layer = nn.Linear(w.shape[1], w.shape[0], bias=bias)
    layer.weight.data = torch.from_numpy(w)
    if bias:
        layer.bias.data = torch.from_numpy(weights[prefix + ".bias"])
    return layer


def layer_norm(weights, prefix, eps):
    w = weights[prefix + ".weight"]
    norm = nn.LayerNorm(w.shape[0], eps=eps)
    norm.weight.data = torch.from_numpy(w)
    norm.bias.data = torch.from_numpy(weights[prefix + ".bias"])
    return norm


class EncoderLayer(nn.Module):
    """Pre-norm: x + attention(layer_norm1(x)), then x + mlp(layer_norm2(x))."""

    def __init__(self, weights, prefix, cfg):
        super().__init__()
        self.heads = cfg["num_attention_heads"]
        self.head_dim = cfg["hidden_size"] // self.heads
        self.scale = self.head_dim ** -0.5
        eps = cfg["layer_norm_eps"]
        self.layer_norm1 = layer_norm(weights, prefix + ".layer_norm1", eps)
        self.layer_norm2 = layer_norm(weights, prefix + ".layer_norm2", eps)
        self.q_proj = linear(weights, prefix + ".self_attn.q_proj")
        self.k_proj = linear(weights, prefix + ".self_attn.k_proj")
        self.v_proj = linear(weights, prefix + ".self_attn.v_proj")
        self.out_proj = linear(weights, prefix + ".self_attn.out_proj")
        self.fc1 = linear(weights, prefix + ".mlp.fc1")
        self.fc2 = linear(weights, prefix + ".mlp.fc2")
        self.act = activation(cfg["hidden_act"])

    def forward(self, x, bias):  # x: [B, L, D]; bias: [B, 1, L, L] additive mask or None
        b, length, d = x.shape
        h = self.layer_norm1(x)

        def heads(t):  # [B, L, D] -> [B, H, L, d]
            return t.reshape(b, length, self.heads, self.head_dim).transpose(1, 2)

        q, k, v = heads(self.q_proj(h)), heads(self.k_proj(h)), heads(self.v_proj(h))
        scores = torch.matmul(q, k.transpose(-1, -2)) * self.scale  # [B, H, L, L]
        if bias is not None:
            scores = scores + bias
        attn = torch.matmul(torch.softmax(scores, dim=-1), v)  # [B, H, L, d]
        x = x + self.out_proj(attn.transpose(1, 2).reshape(b, length, d))
        return x + self.fc2(self.act(self.fc1(self.layer_norm2(x))))


class VisionTower(nn.Module):
    """pixel_values [B, 3, S, S] -> L2-normalised image embeddings [B, projection_dim]."""

    def __init__(self, weights, cfg):
        super().__init__()
        p = "vision_model."
        patch = weights[p + "embeddings.patch_embedding.weight"]  # [D, 3, P, P]
        self.patch_embedding = nn.Conv2d(patch.shape[1], patch.shape[0], cfg["patch_size"],
                                         stride=cfg["patch_size"], bias=False)
        self.patch_embedding.weight.data = torch.from_numpy(patch)
        self.class_embedding = nn.Parameter(
            torch.from_numpy(weights[p + "embeddings.class_embedding"]))
        self.position_embedding = nn.Parameter(
            torch.from_numpy(weights[p + "embeddings.position_embedding.weight"]))
        eps = cfg["layer_norm_eps"]
        self.pre_layrnorm = layer_norm(weights, p + "pre_layrnorm", eps)  # HF's spelling
        self.layers = nn.ModuleList(
            EncoderLayer(weights, f"{p}encoder.layers.{i}", cfg)
            for i in range(cfg["num_hidden_layers"]))
        self.post_layernorm = layer_norm(weights, p + "post_layernorm", eps)
        self.visual_projection = linear(weights, "visual_projection", bias=False)

    def forward(self, pixel_values):
        patches = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)  # [B, N, D]
        cls = self.class_embedding.expand(patches.shape[0], 1, -1)
        x = torch.cat([cls, patches], dim=1) + self.position_embedding
        x = self.pre_layrnorm(x)
        for layer in self.layers:
            x = layer(x, None)
        embeds = self.visual_projection(self.post_layernorm(x[:, 0]))
        return embeds / embeds.norm(dim=-1, keepdim=True)


class TextTower(nn.Module):
    """input_ids, attention_mask [B, L] -> L2-normalised text embeddings [B, projection_dim],
    each row pooled at its first end token (eos_token_id 2, the legacy value: the largest id)."""

    def __init__(self, weights, cfg):
        super().__init__()
        p = "text_model."
        self.token_embedding = nn.Parameter(
            torch.from_numpy(weights[p + "embeddings.token_embedding.weight"]))
        self.position_embedding = nn.Parameter(
            torch.from_numpy(weights[p + "embeddings.position_embedding.weight"]))
        self.layers = nn.ModuleList(
            EncoderLayer(weights, f"{p}encoder.layers.{i}", cfg)
            for i in range(cfg["num_hidden_layers"]))
        self.final_layer_norm = layer_norm(weights, p + "final_layer_norm", cfg["layer_norm_eps"])
        self.text_projection = linear(weights, "text_projection", bias=False)
        self.eos_token_id = cfg["eos_token_id"]

    def forward(self, input_ids, attention_mask):
        length = input_ids.shape[1]
        x = self.token_embedding[input_ids] + self.position_embedding[:length]
        # A key is visible to a query when it is not after it (causal) and not padding.
        positions = torch.arange(length, device=input_ids.device)
        causal = positions[None, :] <= positions[:, None]  # [L (query), L (key)]
        visible = causal[None, None, :, :] & (attention_mask[:, None, None, :] > 0)
        bias = torch.zeros(visible.shape, dtype=x.dtype).masked_fill(
            ~visible, torch.finfo(x.dtype).min)  # [B, 1, L, L]
        for layer in self.layers:
            x = layer(x, bias)
        x = self.final_layer_norm(x)
        if self.eos_token_id == 2:
            end = input_ids.argmax(dim=-1)
        else:  # the first position holding the end token (ties: ArgMax takes the first)
            end = (input_ids == self.eos_token_id).to(torch.float32).argmax(dim=-1)
        pooled = x.gather(1, end[:, None, None].expand(-1, 1, x.shape[2])).squeeze(1)
        embeds = self.text_projection(pooled)
        return embeds / embeds.norm(dim=-1, keepdim=True)


def padded(ids_list, pad_id):
    """A padded batch of token ids (padded with the end token, as CLIP's tokenizer) and its mask."""
    length = max(len(ids) for ids in ids_list)
    ids = np.full((len(ids_list), length), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids_list), length), dtype=np.int64)
    for i, row in enumerate(ids_list):
        ids[i, :len(row)] = row
        mask[i, :len(row)] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


def read_floats(inputs_dir, entry):
    values = np.fromfile(os.path.join(inputs_dir, entry["file"]), dtype="<f4")
    return values.reshape(entry["shape"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="CLIP folder (Hugging Face layout)")
    parser.add_argument("--inputs", required=True, help="peer_inputs' output folder")
    parser.add_argument("--out", required=True, help="where vision.onnx and text.onnx go")
    args = parser.parse_args()
    torch.set_grad_enabled(False)

    text_cfg, vision_cfg = clip_config(args.model)
    weights = load_safetensors(os.path.join(args.model, "model.safetensors"))
    vision = VisionTower(weights, vision_cfg).eval()
    text = TextTower(weights, text_cfg).eval()
    del weights

    # The module against zeroshot, on zeroshot's own pixels and token ids.
    with open(os.path.join(args.inputs, "inputs.json")) as f:
        inputs = json.load(f)
    pixels = torch.from_numpy(read_floats(args.inputs, inputs["pixels"]))
    image_diff = float(np.abs(vision(pixels).numpy()
                              - read_floats(args.inputs, inputs["image_embedding"])).max())
    check_ids, check_mask = padded(inputs["check_ids"], inputs["eos_token_id"])
    text_diff = float(np.abs(text(check_ids, check_mask).numpy()
                             - read_floats(args.inputs, inputs["check_embeddings"])).max())
    print(f"PyTorch module vs zeroshot: image max |diff| {image_diff:.2e}, "
          f"text ({len(inputs['check_ids'])} prompts, padded to {check_ids.shape[1]}) "
          f"{text_diff:.2e} (tolerance {TOLERANCE:g})")
    if not (image_diff <= TOLERANCE and text_diff <= TOLERANCE):
        sys.exit("export_onnx: the PyTorch module disagrees with zeroshot's embeddings")

    os.makedirs(args.out, exist_ok=True)
    torch.onnx.export(vision, (pixels,), os.path.join(args.out, "vision.onnx"),
                      input_names=["pixel_values"], output_names=["embeds"],
                      dynamic_axes={"pixel_values": {0: "batch"}, "embeds": {0: "batch"}},
                      opset_version=OPSET, do_constant_folding=True)
    torch.onnx.export(text, (check_ids, check_mask), os.path.join(args.out, "text.onnx"),
                      input_names=["input_ids", "attention_mask"], output_names=["embeds"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "length"},
                                    "attention_mask": {0: "batch", 1: "length"},
                                    "embeds": {0: "batch"}},
                      opset_version=OPSET, do_constant_folding=True)
    with open(os.path.join(args.out, "export.json"), "w") as f:
        json.dump({"torch": torch.__version__, "numpy": np.__version__, "opset": OPSET,
                   "module_vs_zeroshot_max_abs_diff": {"image": image_diff, "text": text_diff},
                   "tolerance": TOLERANCE}, f, indent=2)
        f.write("\n")
    print(f"wrote {args.out}/vision.onnx and text.onnx (opset {OPSET}, torch {torch.__version__})")


if __name__ == "__main__":
    main()
