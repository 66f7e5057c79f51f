#!/usr/bin/env bash
# Debian's Chromium for the playground's browser test (tests/e2e/test_playground.py).
# Idempotent: nothing happens when /usr/bin/chromium is there. Playwright drives this binary;
# `playwright install` (which downloads a browser build) is never used.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "ensure_chromium: /usr/bin/chromium is missing and this is not root (no sudo either)" >&2
    exit 1
  fi
fi

echo "ensure_chromium: installing Debian's chromium package"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
test -x /usr/bin/chromium
