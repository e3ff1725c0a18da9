#!/usr/bin/env bash
# Installs, from Debian's packages, what the feature-gated tests need beyond
# the Rust toolchain: redis-server for the shared rate-limit tests
# (`cargo test -p httpserver --features redis-server-tests`). Does nothing
# if present.
set -euo pipefail
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! command -v redis-server >/dev/null; then
    echo "installing redis-server" >&2
    $SUDO apt-get install -y --no-install-recommends redis-server >/dev/null 2>&1 ||
        { $SUDO apt-get update >/dev/null &&
          $SUDO apt-get install -y --no-install-recommends redis-server >/dev/null; }
fi
# The package may start a system instance on 6379; the tests start their
# own on free ports and do not use it.
redis-server --version
