"""ctypes declarations of include/zeroshot/zeroshot_c.h (libzeroshot_c).

Every struct and constant here mirrors the header; tests/test_abi.py compiles a C program against
the header and compares sizes, offsets and values, so the two cannot drift apart silently.
ctypes.CDLL releases the GIL for the duration of every foreign call: two Python threads calling
one model run at once.
"""

import ctypes
import os

ZS_OK = 0
STATUS_NAMES = (
    "ok",
    "invalid_argument",
    "image_read",
    "image_decode",
    "image_too_large",
    "model_not_found",
    "model_invalid",
    "hub_not_found",
    "hub_unauthorized",
    "network",
    "offline",
    "io",
    "internal",
)
ZS_PRECISION_FP32 = 0
ZS_PRECISION_INT8 = 1


class ModelParams(ctypes.Structure):
    _fields_ = [
        ("repo", ctypes.c_char_p),
        ("revision", ctypes.c_char_p),
        ("threads", ctypes.c_int),
        ("precision", ctypes.c_int),
        ("text_cache_entries", ctypes.c_size_t),
    ]


class ClassifyParams(ctypes.Structure):
    _fields_ = [
        ("prompt_template", ctypes.c_char_p),
        ("templates", ctypes.POINTER(ctypes.c_char_p)),
        ("n_templates", ctypes.c_size_t),
        ("top_k", ctypes.c_int),
    ]


class Score(ctypes.Structure):
    _fields_ = [
        ("label_index", ctypes.c_size_t),
        ("score", ctypes.c_float),
        ("logit", ctypes.c_float),
        ("cosine", ctypes.c_float),
    ]


_p = ctypes.c_void_p
_pp = ctypes.POINTER(ctypes.c_void_p)
_status = ctypes.c_int
_strings = ctypes.POINTER(ctypes.c_char_p)
_floats = ctypes.POINTER(ctypes.c_float)

# name: (restype, argtypes)
_SIGNATURES = {
    "zs_version": (ctypes.c_char_p, []),
    "zs_error_code": (_status, [_p]),
    "zs_error_message": (ctypes.c_char_p, [_p]),
    "zs_error_free": (None, [_p]),
    "zs_status_name": (ctypes.c_char_p, [_status]),
    "zs_model_params_defaults": (ModelParams, []),
    "zs_model_open": (_status, [ctypes.POINTER(ModelParams), _pp, _pp]),
    "zs_model_open_shared": (_status, [ctypes.POINTER(ModelParams), _pp, _pp]),
    "zs_model_free": (None, [_p]),
    "zs_model_embedding_dim": (ctypes.c_int, [_p]),
    "zs_model_text_cache_stats": (
        None,
        [_p, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint64)],
    ),
    "zs_image_from_file": (_status, [ctypes.c_char_p, _pp, _pp]),
    "zs_image_from_buffer": (_status, [ctypes.c_char_p, ctypes.c_size_t, _pp, _pp]),
    "zs_image_from_rgb": (_status, [ctypes.c_int, ctypes.c_int, _p, _pp, _pp]),
    "zs_image_free": (None, [_p]),
    "zs_image_width": (ctypes.c_int, [_p]),
    "zs_image_height": (ctypes.c_int, [_p]),
    "zs_classify_params_defaults": (ClassifyParams, []),
    "zs_classify": (
        _status,
        [_p, _p, _strings, ctypes.c_size_t, ctypes.POINTER(ClassifyParams),
         ctypes.POINTER(Score), ctypes.POINTER(ctypes.c_size_t), _pp],
    ),
    "zs_label": (
        _status,
        [_p, _p, _strings, ctypes.c_size_t, ctypes.POINTER(ClassifyParams),
         ctypes.POINTER(ctypes.c_size_t), _pp],
    ),
    "zs_similarity": (_status, [_p, _p, _p, _floats, _pp]),
    "zs_embed_images": (_status, [_p, _pp, ctypes.c_size_t, _floats, _pp]),
    "zs_embed_texts": (_status, [_p, _strings, ctypes.c_size_t, _floats, _pp]),
    "zs_label_set_prepare": (
        _status,
        [_p, _strings, ctypes.c_size_t, ctypes.POINTER(ClassifyParams), _pp, _pp],
    ),
    "zs_label_set_free": (None, [_p]),
    "zs_label_set_size": (ctypes.c_size_t, [_p]),
    "zs_classify_label_set": (
        _status,
        [_p, _p, _p, ctypes.c_int, ctypes.POINTER(Score), ctypes.POINTER(ctypes.c_size_t), _pp],
    ),
}


def _load():
    # ZEROSHOT_C_LIBRARY names the library explicitly; else the copy next to this file (the build
    # tree's build/python/zeroshot/ and an installed package), else the system's.
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.environ.get("ZEROSHOT_C_LIBRARY"), os.path.join(here, "libzeroshot_c.so"),
                  "libzeroshot_c.so.0"]
    errors = []
    for path in candidates:
        if not path:
            continue
        if os.sep in path and not os.path.exists(path):
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            errors.append(str(e))
    raise ImportError("zeroshot: cannot load libzeroshot_c (" + "; ".join(errors or ["not found"])
                      + "); build it (cmake --build build) or set ZEROSHOT_C_LIBRARY")


lib = _load()
for _name, (_res, _args) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args
