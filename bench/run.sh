#!/usr/bin/env bash
# Builds everything the load benchmark needs, then runs bench/run.py with
# the arguments given (see bench/README.md). Examples:
#   bench/run.sh --quick
#   bench/run.sh --rounds 6 --duration 6 --warmup 1 --modes unpinned,pinned \
#       --tests all --servers httpserver,hyper,actix,floor --out bench/RESULTS.md
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
cd "$ROOT"

# The binaries are looked for in ROOT/target and bench/target.
unset CARGO_TARGET_DIR

if ! command -v wrk >/dev/null; then
    echo "installing wrk" >&2
    apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }
fi
if ! command -v taskset >/dev/null; then
    echo "taskset (util-linux) is needed for the pinned mode" >&2
fi

# Other builds share this machine: every cargo command takes the same lock.
echo "building httpserver's bench example" >&2
start=$SECONDS
cargo build --release -p httpserver --example bench
echo "  took $((SECONDS - start)) s" >&2

echo "building bench/ (hyper-peer, actix-peer, floor)" >&2
start=$SECONDS
(cd "$BENCH" && cargo build --release)
echo "  took $((SECONDS - start)) s" >&2

export BENCH_COMMAND="bench/run.sh${*:+ $*}"
exec python3 "$BENCH/run.py" "$@"
