#!/usr/bin/env python3
"""Writes the image_fuzz seed corpus (small, varied images plus hostile headers) with the vips CLI
and hand-built bytes. Run from tests/fuzz/; the outputs are committed, so this is provenance only."""
import os, struct, subprocess, tempfile, zlib

FIX = "../fixtures/images/"
OUT = "corpus/image_fuzz/"


def vips(*args):
    subprocess.run(["vips", *args], check=True, capture_output=True)


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width, height, bit_depth=8, colour=2, idat=b""):
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def write(name, data):
    with open(OUT + name, "wb") as f:
        f.write(data)


with tempfile.TemporaryDirectory() as tmp:
    small = os.path.join(tmp, "small.v")
    vips("resize", FIX + "scene_640x480.png", small, "0.025")  # 16x12
    for name, opts in [("seed_rgb.png", ""), ("seed_q50.jpg", "[Q=50]"),
                       ("seed_lossy.webp", "[Q=30]"), ("seed_lossless.webp", "[lossless]"),
                       ("seed.gif", ""), ("seed_progressive.jpg",
                                                            "[interlace]")]:
        vips("copy", small, os.path.join(tmp, name) + opts)
        os.replace(os.path.join(tmp, name), OUT + name)
    # A corner of each, keeping the pixel format, bands and metadata (CMYK, 16 bits, EXIF).
    for src, name in [("palette_P_tRNS_200x160.png", "seed_palette_trns.png"),
                      ("gray16_low_240x180.png", "seed_gray16.png"),
                      ("rgb16_200x150.png", "seed_rgb16.png"),
                      ("rgba_transparency_300x200.png", "seed_rgba.png"),
                      ("scene_gray_LA.png", "seed_gray_alpha.png"),
                      ("cmyk_200x150.jpg", "seed_cmyk.jpg[strip=false,Q=40]"),
                      ("exif_orientation6_320x240.jpg", "seed_exif6.jpg[Q=40]"),
                      ("scene_150x110.bmp", "seed.tif")]:
        vips("crop", FIX + src, os.path.join(tmp, name), "0", "0", "12", "9")
        name = name.split("[")[0]
        os.replace(os.path.join(tmp, name), OUT + name)
    # Two-frame animations: GIF and WebP (first frame only is decoded).
    vips("thumbnail", FIX + "anim_2frames_160x120.gif[n=-1]", os.path.join(tmp, "a.gif"), "16")
    os.replace(os.path.join(tmp, "a.gif"), OUT + "seed_anim.gif")
    vips("copy", OUT + "seed_anim.gif[n=-1]", os.path.join(tmp, "a.webp"))
    os.replace(os.path.join(tmp, "a.webp"), OUT + "seed_anim.webp")
    vips("magicksave", small, os.path.join(tmp, "s.bmp"), "--format", "BMP3")
    os.replace(os.path.join(tmp, "s.bmp"), OUT + "seed.bmp")
for name in ["pixel_1x1.png", "strip_7x3.png"]:
    with open(FIX + name, "rb") as f:
        write("seed_" + name, f.read())

# Hostile headers: decompression bombs declaring 100000x100000 (PNG), 65500x65500 (JPEG, GIF), a
# 0x0 PNG, a truncated PNG and JPEG.
write("bomb_100000x100000.png", png(100000, 100000, idat=zlib.compress(b"\0" * 1000)))
sof = struct.pack(">BHHB", 8, 65500, 65500, 1) + b"\x01\x11\x00"
sos = b"\x01\x01\x00\x00\x3f\x00"
with open(OUT + "seed_q50.jpg", "rb") as f:
    jpeg = f.read()
# The tables of a real JPEG, then a frame header declaring 65500x65500 and an empty scan.
tables = jpeg[2:jpeg.index(b"\xff\xc0")]
write("bomb_65500x65500.jpg", b"\xff\xd8" + tables + b"\xff\xc0" + struct.pack(">H", 2 + len(sof)) +
      sof + b"\xff\xda" + struct.pack(">H", 2 + len(sos)) + sos + b"\x00" * 16 + b"\xff\xd9")
write("bomb_65500x65500.gif", b"GIF89a" + struct.pack("<HH", 65500, 65500) + b"\x00\x00\x00" +
      b"\x2c" + struct.pack("<HHHH", 0, 0, 65500, 65500) + b"\x00\x02\x02\x44\x01\x00\x3b")
write("zero_0x0.png", png(0, 0))
with open(OUT + "seed_rgb.png", "rb") as f:
    data = f.read()
write("truncated.png", data[: len(data) // 2])
with open(OUT + "seed_q50.jpg", "rb") as f:
    data = f.read()
write("truncated.jpg", data[: len(data) * 2 // 3])
