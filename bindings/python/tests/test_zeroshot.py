# The Python package against the CLI (`zeroshot ... --json` on the fixture model): the same
# numbers to 1e-6, for every image form (path, PathLike, bytes, numpy, PIL) and template form
# (default, None, str, list), and errors as zeroshot.Error carrying code and message.
import pathlib
import threading

import numpy as np
import pytest

import zeroshot
from conftest import MODEL, cli_json, image

LABELS = ["a dog", "a cat", "a horse", "a red square"]


def assert_same_scores(got, want):
    assert [g["label"] for g in got] == [w["label"] for w in want]
    for g, w in zip(got, want):
        assert abs(g["score"] - w["score"]) <= 1e-6


def test_version_is_the_clis():
    import subprocess
    from conftest import CLI
    out = subprocess.run([CLI, "--version"], check=True, capture_output=True, text=True).stdout
    assert zeroshot.version() == out.strip()


@pytest.mark.parametrize("name", ["scene_640x480.png", "odd_225x301.png", "scene_640x480_q92.jpg"])
def test_classify_default_template_matches_cli(model, name):
    want = cli_json("classify", "--json", "--repo", MODEL, image(name), *LABELS)
    got = model.classify(image(name), LABELS)
    assert_same_scores(got, want)
    assert abs(sum(g["score"] for g in got) - 1) < 1e-5


def test_classify_template_none_is_verbatim(model):
    want = cli_json("classify", "--json", "--no-template", "--repo", MODEL,
                    image("scene_640x480.png"), *LABELS)
    assert_same_scores(model.classify(image("scene_640x480.png"), LABELS, template=None), want)
    default = model.classify(image("scene_640x480.png"), LABELS)
    assert [d["score"] for d in default] != [w["score"] for w in want]


def test_classify_custom_template_and_ensemble(model):
    want = cli_json("classify", "--json", "--template", "art of {label}", "--repo", MODEL,
                    image("small_100x80.png"), *LABELS)
    assert_same_scores(model.classify(image("small_100x80.png"), LABELS,
                                      template="art of {label}"), want)
    want = cli_json("classify", "--json", "--template", "a {label} photo", "--template",
                    "art of {label}", "--repo", MODEL, image("small_100x80.png"), *LABELS)
    assert_same_scores(model.classify(image("small_100x80.png"), LABELS,
                                      template=["a {label} photo", "art of {label}"]), want)


def test_top_k(model):
    full = model.classify(image("small_100x80.png"), LABELS)
    top = model.classify(image("small_100x80.png"), LABELS, top_k=2)
    assert top == full[:2]


def test_bytes_pathlike_numpy_and_pil_inputs_agree(model):
    path = image("scene_640x480.png")
    want = model.classify(path, LABELS)
    with open(path, "rb") as f:
        data = f.read()
    assert model.classify(data, LABELS) == want
    assert model.classify(bytearray(data), LABELS) == want
    assert model.classify(pathlib.Path(path), LABELS) == want
    from PIL import Image
    pil = Image.open(path)
    assert model.classify(pil, LABELS) == want  # PNG: Pillow's pixels are libvips' pixels
    assert model.classify(np.asarray(pil.convert("RGB")), LABELS) == want


def test_label_matches_cli(model):
    for name in ["scene_640x480.png", "small_100x80.png"]:
        want = cli_json("label", "--json", "--repo", MODEL, image(name), *LABELS)
        assert model.label(image(name), LABELS) == want["label"]
        want = cli_json("label", "--json", "--no-template", "--repo", MODEL, image(name), *LABELS)
        assert model.label(image(name), LABELS, template=None) == want["label"]


def test_similarity_matches_cli(model):
    a, b = image("scene_640x480.png"), image("small_100x80.png")
    want = cli_json("similarity", "--json", "--repo", MODEL, a, b)["similarity"]
    got = model.similarity(a, b)
    assert isinstance(got, float) and -1 <= got <= 1
    assert abs(got - want) <= 1e-6
    assert abs(model.similarity(a, a) - 1) < 1e-6


def test_embeddings_match_cli(model):
    images = [image("scene_640x480.png"), image("odd_301x225.png")]
    texts = ["a photo of a dog", "shapes"]
    args = ["embed", "--json", "--repo", MODEL]
    for i in images:
        args += ["--image", i]
    for t in texts:
        args += ["--text", t]
    want = np.array([row["embedding"] for row in cli_json(*args)], dtype=np.float64)
    got_images = model.embed_images(images)
    got_texts = model.embed_texts(texts)
    assert got_images.dtype == np.float32 and got_images.shape == (2, model.embedding_dim)
    assert got_texts.dtype == np.float32 and got_texts.shape == (2, 24)
    np.testing.assert_allclose(np.vstack([got_images, got_texts]), want, rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(got_images, axis=1), 1, atol=1e-5)
    assert model.embed_images([]).shape == (0, 24)


def test_bad_image_raises_with_code_and_message(model):
    with pytest.raises(zeroshot.Error) as e:
        model.classify(b"certainly not an image", LABELS)
    assert e.value.code == "image_decode" and e.value.status == 3 and e.value.message
    with pytest.raises(zeroshot.Error) as e:
        model.classify(image("does-not-exist.png"), LABELS)
    assert e.value.code == "image_read" and "does-not-exist.png" in e.value.message
    with pytest.raises(zeroshot.Error) as e:
        model.embed_images([image("small_100x80.png"), b"junk"])
    assert e.value.code == "image_decode"
    # the model still works afterwards
    assert model.label(image("small_100x80.png"), LABELS) in LABELS


def test_bad_shapes_and_types_raise(model):
    with pytest.raises(ValueError, match="uint8"):
        model.classify(np.zeros((4, 4, 3), dtype=np.float32), LABELS)
    with pytest.raises(ValueError, match="shape"):
        model.classify(np.zeros((4, 4), dtype=np.uint8), LABELS)
    with pytest.raises(TypeError):
        model.classify(42, LABELS)
    with pytest.raises(TypeError):
        model.classify(image("small_100x80.png"), "a dog")


def test_bad_arguments_raise_invalid_argument(model):
    with pytest.raises(zeroshot.Error) as e:
        model.classify(image("small_100x80.png"), LABELS, template="no placeholder")
    assert e.value.code == "invalid_argument" and "{label}" in e.value.message
    with pytest.raises(zeroshot.Error) as e:
        model.classify(image("small_100x80.png"), [])
    assert e.value.code == "invalid_argument"
    with pytest.raises(ValueError):
        zeroshot.Model(MODEL, precision="fp16")


def test_missing_model_raises():
    with pytest.raises(zeroshot.Error) as e:
        zeroshot.Model("/nonexistent/model-folder")
    assert e.value.code == "model_not_found"


def test_module_level_functions_use_one_cached_model(model):
    path = image("scene_640x480.png")
    want = model.classify(path, LABELS)
    assert_same_scores(zeroshot.classify(path, LABELS, repo=MODEL), want)
    assert zeroshot.label(path, LABELS, repo=MODEL) == want[0]["label"]
    assert zeroshot.label(path, LABELS, repo=MODEL, template=None) == \
        model.label(path, LABELS, template=None)
    assert abs(zeroshot.similarity(path, image("small_100x80.png"), repo=MODEL)
               - model.similarity(path, image("small_100x80.png"))) <= 1e-6
    cached = zeroshot._model(MODEL)
    assert cached is zeroshot._model(MODEL)
    hits, misses = cached.text_cache_stats()
    zeroshot.classify(path, LABELS, repo=MODEL)  # label embeddings come from the cache
    assert cached.text_cache_stats() == (hits + len(LABELS), misses)


def test_int8_precision_loads_and_ranks(model):
    m = zeroshot.Model(MODEL, precision="int8", threads=1)
    scores = m.classify(image("scene_640x480.png"), LABELS)
    assert len(scores) == len(LABELS) and abs(sum(s["score"] for s in scores) - 1) < 1e-5


def test_threads_share_one_model(model):
    names = ["scene_640x480.png", "small_100x80.png", "odd_225x301.png"]
    want = {n: model.classify(image(n), LABELS) for n in names}
    failures = []

    def work(k):
        for r in range(3):
            n = names[(k + r) % len(names)]
            if model.classify(image(n), LABELS) != want[n]:
                failures.append(n)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_gil_is_released_during_a_call(model):
    # One long engine call on a thread: with the GIL released the main thread keeps running
    # Python meanwhile (short gaps between its ticks); with the GIL held it would stall for the
    # whole call (one gap as long as the call).
    import time
    from PIL import Image
    pixels = np.asarray(Image.open(image("large_1600x1200_q90.jpg")).convert("RGB"))
    span = {}

    def work():
        span["start"] = time.perf_counter()
        model.embed_images([pixels] * 8)
        span["end"] = time.perf_counter()

    worker = threading.Thread(target=work)
    ticks = []
    worker.start()
    while worker.is_alive():
        ticks.append(time.perf_counter())
    worker.join()
    inside = [t for t in ticks if span["start"] <= t <= span["end"]]
    duration = span["end"] - span["start"]
    gaps = [b - a for a, b in zip([span["start"]] + inside, inside + [span["end"]])]
    assert duration > 0.05 and len(inside) > 10
    assert max(gaps) < duration / 2, (max(gaps), duration)
