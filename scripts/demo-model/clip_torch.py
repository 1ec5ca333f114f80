"""A CLIP in plain PyTorch that computes exactly what Hugging Face's CLIPModel computes, the
safetensors format (written and read by hand: 8-byte little-endian header length, JSON header,
raw little-endian data) and CLIPImageProcessor's preprocessing (Pillow bicubic).

Parameter names are HF's, so the state dict is the checkpoint. Written from the HF layout that the
engine mirrors (src/model/): pre-LN encoder layers, class embedding, pre_layrnorm, post_layernorm
on the class token, causal text mask, pooling at the first end token, projections without bias,
logits = exp(logit_scale) * cosine.
"""

import json
import struct

import numpy as np
import torch
from PIL import Image
from torch import nn

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
BOS, EOS = 49406, 49407


def preprocess_u8(img, size):
    """HF CLIPImageProcessor up to the crop: RGB, shortest edge to `size` (long edge
    int(size * long / short)), PIL BICUBIC, centre crop at ((h-size)//2, (w-size)//2). uint8 HWC."""
    img = img.convert("RGB")
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    img = img.resize((new_w, new_h), Image.BICUBIC)
    arr = np.asarray(img)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return np.ascontiguousarray(arr[top:top + size, left:left + size])


def normalise(u8):
    """uint8 [..., H, W, 3] -> float32 [..., 3, H, W]: (u8 / 255 - mean) / std."""
    x = torch.from_numpy(np.array(u8)).float() * (1.0 / 255.0)
    x = (x - torch.tensor(CLIP_MEAN)) / torch.tensor(CLIP_STD)
    return x.movedim(-1, -3).contiguous()


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


class Attention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.q_proj = nn.Linear(width, width)
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)

    def forward(self, x, mask):
        b, n, w = x.shape
        hd = w // self.heads
        q = (self.q_proj(x) * hd ** -0.5).view(b, n, self.heads, hd).transpose(1, 2)
        k = self.k_proj(x).view(b, n, self.heads, hd).transpose(1, 2)
        v = self.v_proj(x).view(b, n, self.heads, hd).transpose(1, 2)
        a = q @ k.transpose(-1, -2)
        if mask is not None:
            a = a + mask
        a = a.softmax(-1)
        return self.out_proj((a @ v).transpose(1, 2).reshape(b, n, w))


class Mlp(nn.Module):
    def __init__(self, width, inner):
        super().__init__()
        self.fc1 = nn.Linear(width, inner)
        self.fc2 = nn.Linear(inner, width)

    def forward(self, x):
        return self.fc2(quick_gelu(self.fc1(x)))


class Layer(nn.Module):
    def __init__(self, width, heads, inner, eps):
        super().__init__()
        self.self_attn = Attention(width, heads)
        self.layer_norm1 = nn.LayerNorm(width, eps=eps)
        self.mlp = Mlp(width, inner)
        self.layer_norm2 = nn.LayerNorm(width, eps=eps)

    def forward(self, x, mask):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.ModuleList(
            Layer(cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"],
                  cfg["layer_norm_eps"]) for _ in range(cfg["num_hidden_layers"]))

    def forward(self, x, mask=None):
        for layer in self.layers:
            x = layer(x, mask)
        return x


class VisionEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w, p = cfg["hidden_size"], cfg["patch_size"]
        n = (cfg["image_size"] // p) ** 2 + 1
        self.class_embedding = nn.Parameter(torch.zeros(w))
        self.patch_embedding = nn.Conv2d(3, w, p, stride=p, bias=False)
        self.position_embedding = nn.Embedding(n, w)
        self.register_buffer("position_ids", torch.arange(n).unsqueeze(0))

    def forward(self, pixels):
        x = self.patch_embedding(pixels).flatten(2).transpose(1, 2)  # [b, patches, w]
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        return torch.cat([cls, x], 1) + self.position_embedding(self.position_ids)


class VisionModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w, eps = cfg["hidden_size"], cfg["layer_norm_eps"]
        self.embeddings = VisionEmbeddings(cfg)
        self.pre_layrnorm = nn.LayerNorm(w, eps=eps)  # sic: HF's name
        self.encoder = Encoder(cfg)
        self.post_layernorm = nn.LayerNorm(w, eps=eps)

    def forward(self, pixels):
        x = self.encoder(self.pre_layrnorm(self.embeddings(pixels)))
        return self.post_layernorm(x[:, 0])


class TextEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w = cfg["hidden_size"]
        self.token_embedding = nn.Embedding(cfg["vocab_size"], w)
        self.position_embedding = nn.Embedding(cfg["max_position_embeddings"], w)
        self.register_buffer("position_ids",
                             torch.arange(cfg["max_position_embeddings"]).unsqueeze(0))


class TextModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = TextEmbeddings(cfg)
        self.encoder = Encoder(cfg)
        self.final_layer_norm = nn.LayerNorm(cfg["hidden_size"], eps=cfg["layer_norm_eps"])

    def forward(self, ids, token_vectors=None):
        """ids: int64 [b, n], each row <|startoftext|> ... <|endoftext|> then any padding.
        token_vectors: optional [b, n, w] replacing the token embedding lookup (training feeds
        the rows of its compact table of used tokens through this)."""
        n = ids.shape[1]
        tok = self.embeddings.token_embedding(ids) if token_vectors is None else token_vectors
        x = tok + self.embeddings.position_embedding(self.embeddings.position_ids[:, :n])
        mask = torch.full((n, n), float("-inf")).triu(1)  # causal
        x = self.final_layer_norm(self.encoder(x, mask))
        # HF: pool at the first end token (== argmax(ids) for the legacy eos_token_id 2).
        pos = (ids == EOS).int().argmax(-1)
        return x[torch.arange(ids.shape[0]), pos]


class CLIP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        tc, vc = config["text_config"], config["vision_config"]
        self.text_model = TextModel(tc)
        self.vision_model = VisionModel(vc)
        p = config["projection_dim"]
        self.text_projection = nn.Linear(tc["hidden_size"], p, bias=False)
        self.visual_projection = nn.Linear(vc["hidden_size"], p, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(config["logit_scale_init_value"]))

    def encode_image(self, pixels):
        return self.visual_projection(self.vision_model(pixels))

    def encode_text(self, ids, token_vectors=None):
        return self.text_projection(self.text_model(ids, token_vectors))

    def logits(self, image_emb, text_emb):
        i = image_emb / image_emb.norm(dim=-1, keepdim=True)
        t = text_emb / text_emb.norm(dim=-1, keepdim=True)
        return self.logit_scale.exp() * i @ t.T


def init_weights(model, generator):
    """CLIP-like initialisation from one torch.Generator (deterministic)."""
    for name, p in model.named_parameters():
        if name == "logit_scale":
            continue
        if "layer_norm" in name or "layernorm" in name or "layrnorm" in name:
            with torch.no_grad():
                p.fill_(1.0 if name.endswith("weight") else 0.0)
        elif name.endswith("bias"):
            with torch.no_grad():
                p.zero_()
        else:
            fan_in = p.shape[-1] if p.dim() > 1 else p.shape[0]
            if p.dim() == 4:
                fan_in = p.shape[1] * p.shape[2] * p.shape[3]
            if name.startswith("vision_model.embeddings.") and "patch" not in name:
                std = p.shape[-1] ** -0.5  # class and position embeddings: OpenAI's width^-0.5
            elif "embedding" in name:
                std = 0.02
            else:
                std = fan_in ** -0.5
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=generator) * std)


def pad_ids(rows, length=None):
    """Pad token-id rows to one length with <|endoftext|>, as HF's CLIP tokenizer pads."""
    length = length or max(len(r) for r in rows)
    return torch.tensor([r + [EOS] * (length - len(r)) for r in rows], dtype=torch.int64)


# --- safetensors -------------------------------------------------------------------------------
_DTYPES = {torch.float32: ("F32", 4), torch.float16: ("F16", 2), torch.int64: ("I64", 8)}
_FROM = {"F32": torch.float32, "F16": torch.float16, "I64": torch.int64}


def save_safetensors(tensors, path):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        code, _ = _DTYPES[t.dtype]
        data = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    base, out = 8 + n, {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        dtype = _FROM[info["dtype"]]
        np_dtype = {torch.float32: "<f4", torch.float16: "<f2", torch.int64: "<i8"}[dtype]
        arr = np.frombuffer(raw[base + b:base + e], dtype=np_dtype).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def load_model(folder):
    """The model in `folder` (config.json + model.safetensors), computing in float32."""
    with open(f"{folder}/config.json") as f:
        config = json.load(f)
    model = CLIP(config)
    state = {k: v.float() if v.is_floating_point() else v
             for k, v in load_safetensors(f"{folder}/model.safetensors").items()}
    model.load_state_dict(state)
    return model.eval()

