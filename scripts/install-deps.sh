#!/usr/bin/env bash
# Installs everything zeroshot needs to build, test and fuzz on Debian 12 (run as root or via sudo).
# Every package is named here, with --no-install-recommends: a package that arrives only as another
# one's Recommends (or was installed by hand) is a build that works here and fails on a fresh
# machine. scripts/fresh-check.sh proves this list in a clean Debian 12 root.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates
  # libraries
  libvips-dev nlohmann-json3-dev libcurl4-openssl-dev libutf8proc-dev libcli11-dev
  libcpp-httplib-dev
  # the prepared-weights cache's checksums (src/weights_cache): xxHash
  libxxhash-dev
  # the image index (src/index): SQLite; hnswlib (header-only) for approximate search
  libsqlite3-dev libhnswlib-dev
  # SigLIP's tokenizer: Google's SentencePiece library
  libsentencepiece-dev
  # oneDNN; its CMake package (dnnl-config.cmake) looks for the OpenCL headers and ICD loader,
  # which Debian ships in a Recommends of libdnnl-dev
  libdnnl-dev ocl-icd-opencl-dev
  # tests and benchmarks (curl: bench/serve_bench.sh polls the server's health routes)
  libgtest-dev libgmock-dev libbenchmark-dev curl
  # sanitizer and fuzzing stages (scripts/sanitize.sh): clang, its sanitizer and libFuzzer
  # runtimes, and clang's OpenMP (the kernels use OpenMP; gcc's libgomp does not serve clang)
  clang libclang-rt-14-dev libomp-dev
  # CI checks: formatting (scripts/check-format.sh)
  clang-format
  # the web page's browser test (tests/browser: puppeteer-core from npm drives chromium)
  chromium nodejs
  # regenerating tests/fixtures/siglip (make_siglip_fixtures.py, run by hand with /usr/bin/python3):
  # spm_train, the SentencePiece Python binding with its protobuf, Pillow
  sentencepiece python3-sentencepiece python3-protobuf python3-pil
  # the Python package (bindings/python, ctypes: no compile step) and its tests: pytest, numpy,
  # and the offline venv install (venv, pip, setuptools, wheel) of the ctest python_venv_install
  python3 python3-numpy python3-pytest python3-venv python3-pip python3-setuptools python3-wheel
  # the Elixir package (bindings/elixir): mix and ExUnit, erl_nif.h for its NIF
  elixir erlang-dev
)
# npm for that test, unless one is already on PATH (NodeSource's nodejs bundles its own and
# conflicts with Debian's npm package)
if ! command -v npm >/dev/null; then packages+=(npm); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
