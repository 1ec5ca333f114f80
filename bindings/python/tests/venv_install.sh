#!/usr/bin/env bash
# The documented offline install (docs/BINDINGS.md): a virtual environment that sees Debian's
# numpy, pip installing the build's package without network or build isolation; then the
# installed copy (not the build tree's) imports and classifies.
# Usage: venv_install.sh PYTHON BUILD_PYTHON_DIR WORK_DIR FIXTURES
set -euo pipefail
python=$1 package=$2 work=$3 fixtures=$4
rm -rf "$work" && mkdir -p "$work"
"$python" -m venv --system-site-packages "$work/venv"
PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 "$work/venv/bin/pip" install -q --no-index \
  --no-build-isolation "$package"
cd "$work"
env -u PYTHONPATH ZEROSHOT_C_LIBRARY= PYTHONDONTWRITEBYTECODE=1 "$work/venv/bin/python" - "$work/venv" "$fixtures" <<'PY'
import os, sys
import zeroshot
venv, fixtures = sys.argv[1], sys.argv[2]
assert os.path.realpath(zeroshot.__file__).startswith(os.path.realpath(venv)), zeroshot.__file__
m = zeroshot.Model(os.path.join(fixtures, "models", "tiny-clip"))
scores = m.classify(os.path.join(fixtures, "images", "small_100x80.png"), ["a dog", "a cat"])
assert [s["label"] for s in scores] != [] and abs(sum(s["score"] for s in scores) - 1) < 1e-5
print("installed", zeroshot.__file__, "version", zeroshot.version(), scores)
PY
