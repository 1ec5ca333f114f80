#!/usr/bin/env bash
# The web page's browser test (page_test.mjs) for ctest: installs puppeteer-core from the lock file
# (npm ci --ignore-scripts, dev only) on first use, then drives Debian's chromium.
# When chromium, node or npm is missing or puppeteer-core cannot be installed, the test cannot
# run: in CI (CI set and not "false" or "0", as .ci/run and every CI service set it) that FAILS
# (exit 1) naming what is missing, so a CI run never passes without it; elsewhere it is skipped
# (exit 77, ctest: skipped) with the reason printed.
# Usage: tests/browser/run.sh ZEROSHOT_CLI FIXTURES [SCREENSHOT.png]
set -euo pipefail
cd "$(dirname "$0")"
cannot_run() {
  case "${CI:-}" in
    "" | false | 0)
      echo "browser test skipped: $1"
      exit 77
      ;;
    *)
      echo "browser test FAILED: it cannot run in CI (CI=$CI): $1" >&2
      exit 1
      ;;
  esac
}
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  cannot_run "no chromium at $chromium (scripts/install-deps.sh installs it)"
fi
for tool in node npm; do
  if ! command -v "$tool" >/dev/null; then
    cannot_run "$tool is not installed (scripts/install-deps.sh installs it)"
  fi
done
if [ ! -d node_modules/puppeteer-core ]; then
  if ! log=$(npm ci --ignore-scripts --no-audit --no-fund 2>&1); then
    printf '%s\n' "$log" | tail -n 15 >&2
    cannot_run "npm ci could not install puppeteer-core from tests/browser/package-lock.json (offline, or the registry is unreachable: see npm's output above)"
  fi
fi
exec node page_test.mjs "$@"
