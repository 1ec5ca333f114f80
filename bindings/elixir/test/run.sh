#!/usr/bin/env bash
# The ExUnit tests of bindings/elixir (ctest elixir_exunit): `mix format --check-formatted`, then
# `mix test --warnings-as-errors`, which builds the NIF (mix compile) against this build's
# libzeroshot_c. Mix's state (MIX_HOME, HEX_HOME, the _build folder) stays inside BUILD_DIR:
# nothing is written to $HOME or the source tree, nothing is downloaded.
# Usage: run.sh BUILD_DIR ZEROSHOT_CLI
# Without elixir: skipped (exit 77) locally, a failure when CI is set.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
if ! command -v mix >/dev/null || ! command -v erl >/dev/null; then
  case "${CI:-}" in
    "" | false | 0) echo "elixir (mix) not installed: skipped (scripts/install-deps.sh installs it)"; exit 77 ;;
    *) echo "elixir (mix) not installed; in CI the ExUnit tests must run" >&2; exit 1 ;;
  esac
fi
state=$build/bindings/elixir
mkdir -p "$state"
export MIX_HOME=$state/mix HEX_HOME=$state/hex MIX_BUILD_PATH=$state/_build MIX_ENV=test
export HEX_OFFLINE=1 ZEROSHOT_C_LIB=$build/src/capi ZEROSHOT_INCLUDE=$here/../../include
export ZEROSHOT_CLI=$2 ZEROSHOT_FIXTURES=$here/../../tests/fixtures
cd "$here"
mix format --check-formatted
mix test --warnings-as-errors
