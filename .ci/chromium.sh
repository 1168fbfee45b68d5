#!/usr/bin/env bash
# CI: make sure the headless Chromium of tests/test_browser.py is there (Debian/Ubuntu package
# `chromium`; the test drives it over the DevTools pipe, so no driver package is needed).
set -euo pipefail

for candidate in "${ROBUSTLAB_CHROMIUM:-}" chromium chromium-browser google-chrome; do
    if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1; then
        echo "chromium: $(command -v "$candidate")"
        exit 0
    fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
command -v chromium
