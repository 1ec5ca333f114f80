#!/usr/bin/env bash
# Fails when a C or C++ file tracked by git is not formatted as .clang-format says (clang-format 14,
# Debian 12's). Fix with: git ls-files '*.cc' '*.h' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cc' '*.h' '*.cpp' '*.hpp' '*.c')
else  # a source tree without git (an unpacked archive): every C++ file but the build folders'
  mapfile -t files < <(find . \( -path './build*' -o -path './.git' \) -prune -o \
    -type f \( -name '*.cc' -o -name '*.h' -o -name '*.cpp' -o -name '*.hpp' -o -name '*.c' \) -print | sort)
fi
if ! clang-format --dry-run --Werror "${files[@]}"; then
  echo "== format check failed: run  git ls-files '*.cc' '*.h' | xargs clang-format -i" >&2
  exit 1
fi
echo "== format check passed (${#files[@]} files)"
