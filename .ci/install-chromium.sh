#!/bin/sh
# Installs Debian's Chromium, with which tests/report/test_html.py renders the HTML report
# headless and screenshots it. Idempotent: when chromium is already on PATH it returns at once.
set -eu

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# A font, so that the page renders text (chromium only recommends one).
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation
