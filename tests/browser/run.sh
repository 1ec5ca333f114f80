#!/usr/bin/env bash
# The web page's browser test (page_test.mjs) for ctest: installs puppeteer-core from the lock file
# (npm ci --ignore-scripts, dev only) on first use, then drives Debian's chromium. Exits 77
# (ctest: skipped) with the reason printed when chromium, node or npm is missing.
# Usage: tests/browser/run.sh ZEROSHOT_CLI FIXTURES [SCREENSHOT.png]
set -euo pipefail
cd "$(dirname "$0")"
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  echo "browser test skipped: no chromium at $chromium (scripts/install-deps.sh installs it)"
  exit 77
fi
for tool in node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "browser test skipped: $tool is not installed"
    exit 77
  fi
done
if [ ! -d node_modules/puppeteer-core ]; then
  npm ci --ignore-scripts --no-audit --no-fund >/dev/null || {
    echo "browser test skipped: npm ci could not install puppeteer-core (offline?)"
    exit 77
  }
fi
exec node page_test.mjs "$@"
