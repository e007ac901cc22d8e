#!/usr/bin/env bash
# Installs Debian's chromium, which tests/ops drives headless to test the
# gateway's web console, only when no chromium is there, so a warm run
# does nothing. Never fails the build: without root or apt-get it says so,
# and the console test skips with one line.
set -uo pipefail
if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
  exit 0
fi
if ! command -v apt-get >/dev/null || [ "$(id -u)" != 0 ]; then
  echo "browser-deps.sh: cannot install chromium (no apt-get or not root); the console browser test will skip" >&2
  exit 0
fi
echo "browser-deps.sh: apt-get install chromium" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq chromium >/dev/null; then
  apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null ||
    echo "browser-deps.sh: apt-get install chromium failed; the console browser test will skip" >&2
fi
exit 0
