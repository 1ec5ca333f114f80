#!/usr/bin/env bash
# Fails when a C++ file tracked by git is not formatted as .clang-format says (clang-format 14,
# Debian 12's). Fix with: git ls-files '*.cc' '*.h' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cc' '*.h' '*.cpp' '*.hpp')
if ! clang-format --dry-run --Werror "${files[@]}"; then
  echo "== format check failed: run  git ls-files '*.cc' '*.h' | xargs clang-format -i" >&2
  exit 1
fi
echo "== format check passed (${#files[@]} files)"
