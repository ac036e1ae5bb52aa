#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard browser test (test/report/dashboard.browser.test.ts), which
# drives it through playwright-core with executablePath /usr/bin/chromium. Does nothing when it is there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present) at /usr/bin/chromium"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium: /usr/bin/chromium is missing and apt-get is not available; install chromium by hand or the browser test is skipped." >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "chromium: installing needs root (or sudo): apt-get install -y chromium" >&2
    exit 1
  fi
fi

echo "chromium: installing Debian's chromium package"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null) installed at /usr/bin/chromium"
