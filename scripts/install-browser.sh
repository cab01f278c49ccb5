#!/usr/bin/env bash
# Install Debian's Chromium (and a font with Cyrillic) for the browser tests (tests/web, marker
# "browser") when /usr/bin/chromium is missing. Idempotent and quiet: does nothing when it is
# there. Needs root (CI runs as root) or sudo. Playwright drives this browser by path; never run
# `playwright install` (it downloads its own browser).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-browser.sh: chromium is missing and we are not root (no sudo)" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null

if [ ! -x /usr/bin/chromium ]; then
  echo "install-browser.sh: apt-get ran but /usr/bin/chromium is still missing" >&2
  exit 1
fi
