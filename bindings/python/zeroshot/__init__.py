"""zeroshot: zero-shot image classification with CLIP and SigLIP, from Python.

    import zeroshot
    m = zeroshot.Model("openai/clip-vit-base-patch32", precision="fp32", threads=0)
    m.classify("dog.jpg", ["a dog", "a cat"])   # [{"label": "a dog", "score": 0.97}, ...]
    zeroshot.classify("dog.jpg", ["a dog", "a cat"], repo="openai/clip-vit-base-patch32")

A thin layer over the C API (libzeroshot_c, include/zeroshot/zeroshot_c.h) through ctypes: the
work happens in the library, with the GIL released. An image is a path (str or os.PathLike),
encoded bytes, a numpy uint8 array (H, W, 3) or a PIL image. Failures raise zeroshot.Error.
"""

import ctypes
import os
import threading

from . import _capi

__all__ = ["Error", "Model", "classify", "label", "similarity", "version",
           "DEFAULT_REPO", "DEFAULT_TEMPLATE"]

DEFAULT_REPO = "openai/clip-vit-base-patch32"
DEFAULT_TEMPLATE = "a photo of {label}"
_lib = _capi.lib


class Error(Exception):
    """A failure of the library: `code` is its stable name ("image_decode", "invalid_argument",
    ...; docs/ERRORS.md), `status` the C API's number, `message` what went wrong."""

    def __init__(self, message, code, status):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    def __str__(self):
        return f"{self.message} [{self.code}]"


def version():
    """The library's version, "MAJOR.MINOR.PATCH"."""
    return _lib.zs_version().decode()


def _check(status, error):
    if status == _capi.ZS_OK:
        return
    message = _lib.zs_error_message(error).decode("utf-8", "replace") if error else ""
    _lib.zs_error_free(error)
    raise Error(message, _lib.zs_status_name(status).decode(), status)


def _call(fn, *args):
    error = ctypes.c_void_p()
    _check(fn(*args, ctypes.byref(error)), error.value)


def _strings(items, what):
    if isinstance(items, (str, bytes)):
        raise TypeError(f"{what} must be a list of strings, not a single string")
    encoded = []
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{what} must be strings, got {type(item).__name__}")
        encoded.append(item.encode("utf-8"))
    array = (ctypes.c_char_p * len(encoded))(*encoded)
    return array, len(encoded)


class _Image:
    """A decoded image handle for the duration of a call."""

    def __init__(self, image):
        self.handle = ctypes.c_void_p()
        out = ctypes.byref(self.handle)
        if isinstance(image, (str, os.PathLike)):
            _call(_lib.zs_image_from_file, os.fsencode(image), out)
        elif isinstance(image, (bytes, bytearray, memoryview)):
            data = bytes(image)
            _call(_lib.zs_image_from_buffer, data, len(data), out)
        else:
            pixels = _rgb_array(image)
            _call(_lib.zs_image_from_rgb, pixels.shape[1], pixels.shape[0],
                  pixels.ctypes.data_as(ctypes.c_void_p), out)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _lib.zs_image_free(self.handle)
        self.handle = ctypes.c_void_p()


def _rgb_array(image):
    module = type(image).__module__ or ""
    if module.startswith("PIL."):
        import numpy as np
        return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
    if module.startswith("numpy"):
        import numpy as np
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError("a numpy image must be uint8 with shape (height, width, 3), got "
                             f"{image.dtype} {image.shape}")
        return np.ascontiguousarray(image)
    raise TypeError("image must be a path (str or os.PathLike), encoded bytes, a numpy uint8 "
                    f"array (H, W, 3) or a PIL image, not {type(image).__name__}")


class _Images:
    def __init__(self, images):
        self.items = []
        try:
            for image in images:
                self.items.append(_Image(image))
        except BaseException:
            self.__exit__()
            raise

    def __enter__(self):
        return self.items

    def __exit__(self, *exc):
        for item in self.items:
            item.__exit__()


class _Params:
    """zs_classify_params for template (str, None: verbatim, or a list: an ensemble)."""

    def __init__(self, template, top_k=0):
        self.value = _lib.zs_classify_params_defaults()
        self.value.top_k = top_k
        if template is None:
            self.value.prompt_template = None
        elif isinstance(template, str):
            self.value.prompt_template = template.encode("utf-8")
        else:
            self._templates, n = _strings(template, "templates")
            self.value.templates = self._templates
            self.value.n_templates = n


_PRECISIONS = {"fp32": _capi.ZS_PRECISION_FP32, "int8": _capi.ZS_PRECISION_INT8}


class Model:
    """A loaded model: a hub repo id ("org/name") or a local folder in the Hugging Face layout.

    precision: "fp32" (exact to Hugging Face) or "int8" (faster vision tower). threads: threads
    each call uses (0 = all cores; give each of your threads a share when several call at once).
    Thread-safe: any number of threads may use one Model at once.
    """

    def __init__(self, repo=DEFAULT_REPO, precision="fp32", threads=0, revision="main"):
        if precision not in _PRECISIONS:
            raise ValueError(f"precision must be 'fp32' or 'int8', not {precision!r}")
        self._handle = ctypes.c_void_p()
        params = _lib.zs_model_params_defaults()
        params.repo = os.fsencode(repo)
        params.revision = revision.encode("utf-8")
        params.threads = threads
        params.precision = _PRECISIONS[precision]
        _call(_lib.zs_model_open, ctypes.byref(params), ctypes.byref(self._handle))
        self.repo = str(repo)

    @classmethod
    def _shared(cls, repo, revision="main"):
        model = cls.__new__(cls)
        model._handle = ctypes.c_void_p()
        params = _lib.zs_model_params_defaults()
        params.repo = os.fsencode(repo)
        params.revision = revision.encode("utf-8")
        _call(_lib.zs_model_open_shared, ctypes.byref(params), ctypes.byref(model._handle))
        model.repo = str(repo)
        return model

    def close(self):
        """Releases the model (a shared model stays cached for the process)."""
        if getattr(self, "_handle", None):
            _lib.zs_model_free(self._handle)
            self._handle = ctypes.c_void_p()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone already
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def embedding_dim(self):
        return _lib.zs_model_embedding_dim(self._handle)

    def text_cache_stats(self):
        """(hits, misses) of the model's text embedding cache since load."""
        hits, misses = ctypes.c_uint64(), ctypes.c_uint64()
        _lib.zs_model_text_cache_stats(self._handle, ctypes.byref(hits), ctypes.byref(misses))
        return hits.value, misses.value

    def classify(self, image, labels, template=DEFAULT_TEMPLATE, top_k=0):
        """[{"label", "score"}] best first. template: "{label}" replaced per label; None: the
        labels verbatim; a list of templates: a prompt ensemble. top_k: keep the best k."""
        labels = list(labels) if not isinstance(labels, (str, bytes)) else labels
        names, n = _strings(labels, "labels")
        params = _Params(template, top_k)
        scores = (_capi.Score * max(n, 1))()
        count = ctypes.c_size_t()
        with _Image(image) as img:
            _call(_lib.zs_classify, self._handle, img.handle, names, n, ctypes.byref(params.value),
                  scores, ctypes.byref(count))
        return [{"label": labels[s.label_index], "score": s.score}
                for s in scores[:count.value]]

    def label(self, image, labels, template=DEFAULT_TEMPLATE):
        """The best label of classify()."""
        labels = list(labels) if not isinstance(labels, (str, bytes)) else labels
        names, n = _strings(labels, "labels")
        params = _Params(template)
        best = ctypes.c_size_t()
        with _Image(image) as img:
            _call(_lib.zs_label, self._handle, img.handle, names, n, ctypes.byref(params.value),
                  ctypes.byref(best))
        return labels[best.value]

    def similarity(self, image_a, image_b):
        """Cosine similarity of the two images' embeddings, a float in [-1, 1]."""
        out = ctypes.c_float()
        with _Image(image_a) as a, _Image(image_b) as b:
            _call(_lib.zs_similarity, self._handle, a.handle, b.handle, ctypes.byref(out))
        return out.value

    def embed_images(self, images):
        """numpy float32 (N, D), L2-normalised rows."""
        import numpy as np
        images = list(images)
        out = np.zeros((len(images), self.embedding_dim), dtype=np.float32)
        with _Images(images) as items:
            handles = (ctypes.c_void_p * max(len(items), 1))(*[i.handle.value for i in items])
            _call(_lib.zs_embed_images, self._handle, handles, len(items),
                  out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out

    def embed_texts(self, texts):
        """numpy float32 (N, D), L2-normalised rows; texts used verbatim (no template)."""
        import numpy as np
        names, n = _strings(texts, "texts")
        out = np.zeros((n, self.embedding_dim), dtype=np.float32)
        _call(_lib.zs_embed_texts, self._handle, names, n,
              out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out


_shared_lock = threading.Lock()
_shared_models = {}


def _model(repo):
    # One model per repo for the process (the library's cache: zs_model_open_shared).
    with _shared_lock:
        model = _shared_models.get(repo)
    if model is None:
        model = Model._shared(repo)
        with _shared_lock:
            model = _shared_models.setdefault(repo, model)
    return model


def classify(image, labels, repo=DEFAULT_REPO, template=DEFAULT_TEMPLATE, top_k=0):
    """Model.classify on the process-wide cached model of `repo`."""
    return _model(repo).classify(image, labels, template=template, top_k=top_k)


def label(image, labels, repo=DEFAULT_REPO, template=DEFAULT_TEMPLATE):
    """Model.label on the process-wide cached model of `repo`."""
    return _model(repo).label(image, labels, template=template)


def similarity(image_a, image_b, repo=DEFAULT_REPO):
    """Model.similarity on the process-wide cached model of `repo`."""
    return _model(repo).similarity(image_a, image_b)
