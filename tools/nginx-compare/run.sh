#!/usr/bin/env bash
# Installs nginx from Debian's packages if it is missing, then compares the
# httpserver binary given (default: target/debug/httpserver) with it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BIN="${1:-target/debug/httpserver}"
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    echo "installing nginx" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get install -y --no-install-recommends nginx >/dev/null 2>&1 ||
        { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y --no-install-recommends nginx >/dev/null; }
fi
exec python3 tools/nginx-compare/compare.py --httpserver "$BIN"
