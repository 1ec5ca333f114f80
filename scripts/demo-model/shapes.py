"""Generated pictures of coloured shapes and the captions that describe them.

Every picture shows one shape (circle, square, triangle or star) in one saturated colour (red,
green, blue, yellow, orange or purple) on a low-saturation background (grey, beige, a gradient),
with varied position, size, rotation, picture size, grey clutter lines, noise and blur. The shape
always lies inside the central square of the picture, so the centre crop of CLIP's preprocessing
keeps it whole. Only the random generator's seed separates the training set from the held-out one.
"""

import math
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

COLOURS = {
    "red": (215, 30, 30),
    "green": (30, 165, 45),
    "blue": (35, 65, 215),
    "yellow": (240, 220, 30),
    "orange": (245, 135, 15),
    "purple": (140, 45, 180),
}
SHAPES = ["circle", "square", "triangle", "star"]
CLASSES = [(c, s) for c in COLOURS for s in SHAPES]


def article(word):
    return "an" if word[0] in "aeiou" else "a"


def _jitter(rgb, rng, amount):
    return tuple(max(0, min(255, v + rng.randint(-amount, amount))) for v in rgb)


def _background(w, h, rng):
    """A low-saturation background: plain, or a vertical/horizontal two-tone gradient."""
    def grey():
        g = rng.randint(35, 235)
        tint = [rng.randint(-12, 12) for _ in range(3)]
        return tuple(max(0, min(255, g + t)) for t in tint)

    a = grey()
    if rng.random() < 0.6:
        return Image.new("RGB", (w, h), a)
    b = grey()
    horizontal = rng.random() < 0.5
    n = w if horizontal else h
    strip = Image.new("RGB", (n, 1))
    strip.putdata([tuple(round(a[k] + (b[k] - a[k]) * i / max(1, n - 1)) for k in range(3))
                   for i in range(n)])
    if horizontal:
        return strip.resize((w, h), Image.NEAREST)
    return strip.transpose(Image.ROTATE_90).resize((w, h), Image.NEAREST)


def _polygon(cx, cy, r, angle, points):
    return [(cx + r * math.cos(angle + 2 * math.pi * k / points),
             cy + r * math.sin(angle + 2 * math.pi * k / points)) for k in range(points)]


def _star(cx, cy, r, angle):
    inner = r * 0.42
    pts = []
    for k in range(10):
        rad = r if k % 2 == 0 else inner
        a = angle + math.pi * k / 5
        pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
    return pts


def draw_shape(draw, shape, cx, cy, r, fill, rng):
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif shape == "square":
        # A square, turned at most 20 degrees (beyond that it starts to read as a diamond).
        side = r * 1.6
        angle = math.radians(rng.uniform(-20, 20)) + math.pi / 4
        draw.polygon(_polygon(cx, cy, side / math.sqrt(2), angle, 4), fill=fill)
    elif shape == "triangle":
        # Equilateral, any rotation; its centroid at the centre, drawn a little larger.
        draw.polygon(_polygon(cx, cy, r * 1.1, rng.uniform(0, 2 * math.pi), 3), fill=fill)
    elif shape == "star":
        draw.polygon(_star(cx, cy, r * 1.1, rng.uniform(0, 2 * math.pi)), fill=fill)
    else:
        raise ValueError(shape)


def render(colour, shape, rng):
    """One picture of a `colour` `shape`, drawn with the random.Random `rng`."""
    side = rng.randint(80, 150)
    if rng.random() < 0.7:
        w = h = side
    elif rng.random() < 0.5:
        w, h = rng.randint(side + 8, side * 3 // 2), side
    else:
        w, h = side, rng.randint(side + 8, side * 3 // 2)
    img = _background(w, h, rng)
    draw = ImageDraw.Draw(img)
    # The central square that the centre crop keeps.
    s = min(w, h)
    x0, y0 = (w - s) // 2, (h - s) // 2
    # Clutter: a few thin grey lines (achromatic, so the colour stays unambiguous).
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        g = rng.randint(20, 240)
        draw.line([(rng.uniform(0, w), rng.uniform(0, h)), (rng.uniform(0, w), rng.uniform(0, h))],
                  fill=(g, g, g), width=rng.randint(1, 3))
    r = s * rng.uniform(0.16, 0.36)
    margin = r * 1.15
    cx = x0 + rng.uniform(margin, s - margin)
    cy = y0 + rng.uniform(margin, s - margin)
    draw_shape(draw, shape, cx, cy, r, _jitter(COLOURS[colour], rng, 18), rng)
    if rng.random() < 0.5:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.3)))
    sigma = rng.choice([0, 0, 4, 8, 12])
    if sigma:
        noise = np.random.default_rng(rng.getrandbits(32)).normal(0, sigma, (h, w, 3))
        arr = np.asarray(img, dtype=np.float64) + noise
        img = Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "RGB")
    return img


# Captions. A caption names a colour and a shape, only a shape or only a colour; a picture matches
# every caption whose named attributes it has.
TEMPLATES = [
    "a photo of {}",
    "{}",
    "a picture of {}",
    "an image of {}",
    "a drawing of {}",
    "a photo of the {}",
]


def label_forms(colour, shape):
    """The labels a user may give for this concept (None = attribute not named)."""
    if colour and shape:
        return [f"{article(colour)} {colour} {shape}", f"{colour} {shape}"]
    if shape:
        return [f"a {shape}", shape]
    return [f"{article(colour)} {colour} shape", f"{colour} shape"]


def caption_concepts():
    return ([(c, s) for c, s in CLASSES] + [(None, s) for s in SHAPES] +
            [(c, None) for c in COLOURS])


def all_captions():
    """[(text, colour or None, shape or None)] for every template and label form."""
    out = []
    for c, s in caption_concepts():
        for form in label_forms(c, s):
            for t in TEMPLATES:
                text = t.format(form)
                if t == "a photo of the {}" and form.split()[0] in ("a", "an"):
                    continue  # "a photo of the a red circle"
                out.append((text, c, s))
    return out
