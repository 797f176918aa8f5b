#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through Playwright (Playwright's own browser
# download does not work offline). Install Chromium when it is missing, and axe-core
# (package.json) with npm ci.
set -u
if [ ! -x /usr/bin/chromium ]; then
  echo "Chromium is missing: installing Debian's chromium package"
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo -n apt-get update -qq && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  if [ ! -x /usr/bin/chromium ]; then
    echo "ERROR: could not install chromium (apt-get install chromium); the browser tests need it" >&2
    exit 1
  fi
fi

# axe-core (tests/browser/test_accessibility.py) from the npm registry, at the version
# package-lock.json pins; node_modules/ is not committed.
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -f "$ROOT/node_modules/axe-core/axe.min.js" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "ERROR: npm is missing (apt-get install npm); the accessibility tests need axe-core" >&2
    exit 1
  fi
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error) || {
    echo "ERROR: npm ci failed: could not install axe-core" >&2
    exit 1
  }
fi
