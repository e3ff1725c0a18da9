#!/usr/bin/env bash
# Builds the httpserver binary (release) and runs bench/static.py against
# nginx with the arguments given. Installs wrk and nginx from Debian's
# packages if missing. Example (about 6 minutes):
#   bench/static.sh --rounds 3 --duration 10 --warmup 2 --out bench/STATIC.md
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
cd "$ROOT"
unset CARGO_TARGET_DIR

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
for pkg in wrk nginx; do
    if ! command -v "$pkg" >/dev/null && [ ! -x "/usr/sbin/$pkg" ]; then
        echo "installing $pkg" >&2
        $SUDO apt-get install -y --no-install-recommends "$pkg" >/dev/null ||
            { $SUDO apt-get update >/dev/null &&
              $SUDO apt-get install -y --no-install-recommends "$pkg" >/dev/null; }
    fi
done

echo "building the httpserver binary (release)" >&2
cargo build --release --bin httpserver

export BENCH_COMMAND="bench/static.sh${*:+ $*}"
exec python3 "$BENCH/static.py" --httpserver target/release/httpserver "$@"
