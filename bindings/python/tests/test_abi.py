# The ctypes declarations (zeroshot/_capi.py) against the C header: a C program compiled with the
# header prints every struct's size and field offsets and every constant; they must be ctypes'.
# (clip.cpp's Python package drifted from its header; this is the check that prevents it.)
import ctypes
import os
import re
import subprocess

from zeroshot import _capi

HEADER_DIR = os.environ.get("ZEROSHOT_INCLUDE", "")
STRUCTS = {
    "zs_model_params": _capi.ModelParams,
    "zs_classify_params": _capi.ClassifyParams,
    "zs_score": _capi.Score,
}


def header_text():
    with open(os.path.join(HEADER_DIR, "zeroshot", "zeroshot_c.h")) as f:
        return f.read()


def c_layout(tmp_path):
    lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "zeroshot/zeroshot_c.h"',
             "int main(void) {"]
    for name, cls in STRUCTS.items():
        lines.append(f'  printf("{name} size %zu\\n", sizeof({name}));')
        for field, _ in cls._fields_:
            lines.append(f'  printf("{name} {field} %zu\\n", offsetof({name}, {field}));')
    lines.append("  return 0;\n}")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run([os.environ.get("CC", "cc"), "-std=c99", "-I", HEADER_DIR, str(src), "-o",
                    str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return dict((" ".join(line.split()[:2]), int(line.split()[2])) for line in out.splitlines())


def test_struct_layouts_match_the_header(tmp_path):
    layout = c_layout(tmp_path)
    for name, cls in STRUCTS.items():
        assert layout[f"{name} size"] == ctypes.sizeof(cls), name
        for field, _ in cls._fields_:
            assert layout[f"{name} {field}"] == getattr(cls, field).offset, (name, field)
    # every field of the header's structs is declared (none missing, as clip.cpp's were)
    text = header_text()
    for name, cls in STRUCTS.items():
        body = re.search(r"typedef struct %s \{(.*?)\} %s;" % (name, name), text, re.S).group(1)
        body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
        fields = re.findall(r"(\w+);", body)
        assert fields == [f for f, _ in cls._fields_], name


def test_constants_and_functions_match_the_header():
    text = header_text()
    codes = dict((m[0], int(m[1])) for m in re.findall(r"#define (ZS_\w+) (\d+)", text))
    assert codes["ZS_OK"] == _capi.ZS_OK
    assert codes["ZS_PRECISION_FP32"] == _capi.ZS_PRECISION_FP32
    assert codes["ZS_PRECISION_INT8"] == _capi.ZS_PRECISION_INT8
    errors = sorted((v, k) for k, v in codes.items() if k.startswith("ZS_ERR_"))
    assert [k[len("ZS_ERR_"):].lower() for _, k in errors] == list(_capi.STATUS_NAMES[1:])
    assert [v for v, _ in errors] == list(range(1, len(_capi.STATUS_NAMES)))
    for status, name in enumerate(_capi.STATUS_NAMES):
        assert _capi.lib.zs_status_name(status).decode() == name
    declared = set(re.findall(r"ZS_API [^;]*?\b(zs_\w+)\(", text))
    assert declared == set(_capi._SIGNATURES)
