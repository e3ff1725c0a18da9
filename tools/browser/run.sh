#!/usr/bin/env bash
# Installs Chromium from Debian's packages if it is missing, then runs the
# listing test against the httpserver binary given
# (default: target/debug/httpserver).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BIN="${1:-target/debug/httpserver}"
if ! command -v chromium >/dev/null; then
    echo "installing chromium" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core >/dev/null 2>&1 ||
        { $SUDO apt-get update >/dev/null &&
          $SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core >/dev/null; }
fi
exec python3 tools/browser/listing_test.py --httpserver "$BIN" --screenshot target/browser/listing.png
