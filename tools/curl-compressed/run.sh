#!/usr/bin/env bash
# Compression as curl sees it: starts the httpserver binary on a directory of
# text files from 0 bytes to 50 MiB, fetches each with `curl --compressed`
# (which offers every coding this curl was built with) and compares what
# curl decoded with the original, byte for byte. Also checks that a Range
# request comes back uncompressed and that a HEAD request gets the coding its
# GET would.
# Usage: tools/curl-compressed/run.sh path/to/httpserver
set -euo pipefail
BIN="$(realpath "${1:?usage: run.sh path/to/httpserver}")"
if ! command -v curl >/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get install -y --no-install-recommends curl >/dev/null 2>&1 ||
        { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y --no-install-recommends curl >/dev/null; }
fi
DIR="$(mktemp -d)"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
mkdir -p "$DIR/root"
python3 - "$DIR/root" <<'PY'
import os, sys
root = sys.argv[1]
line = b'{"id": 1, "text": "the quick brown fox jumps over the lazy dog"}\n'
for name, size in [("0.json", 0), ("1.json", 1), ("1023.json", 1023), ("1024.json", 1024),
                   ("64k.json", 64 * 1024), ("1m.json", 1 << 20), ("50m.json", 50 << 20)]:
    with open(os.path.join(root, name), "wb") as f:
        left = size
        while left:
            n = min(left, len(line))
            f.write(line[:n])
            left -= n
PY
"$BIN" "$DIR/root" --port 0 --no-access-log --log-level warn > "$DIR/out" &
PID=$!
for _ in $(seq 100); do grep -q "http://" "$DIR/out" 2>/dev/null && break; sleep 0.05; done
URL="$(grep -o 'http://[^ ]*' "$DIR/out" | head -1)"
fail=0
for f in 0.json 1.json 1023.json 1024.json 64k.json 1m.json 50m.json; do
    enc="$(curl -s --compressed -o "$DIR/got" -w '%header{content-encoding}' "${URL}$f")"
    if cmp -s "$DIR/got" "$DIR/root/$f"; then
        echo "ok   $f (${enc:-identity})"
    else
        echo "FAIL $f (${enc:-identity}): decoded body differs"; fail=1
    fi
done
# 1 KiB and up must have been compressed, ranges must not be, and HEAD must
# say what its GET would.
enc="$(curl -s --compressed -o /dev/null -w '%header{content-encoding}' "${URL}1m.json")"
[ -n "$enc" ] && echo "ok   1m.json compressed with $enc" || { echo "FAIL 1m.json not compressed"; fail=1; }
enc="$(curl -s --compressed -r 0-99 -o "$DIR/part" -w '%{http_code} %header{content-encoding}' "${URL}1m.json")"
if [ "$enc" = "206 " ] && cmp -s "$DIR/part" <(head -c 100 "$DIR/root/1m.json"); then
    echo "ok   range answered uncompressed"
else echo "FAIL range: $enc"; fail=1; fi
get="$(curl -s --compressed -o /dev/null -w '%header{content-encoding} %header{etag}' "${URL}1m.json")"
head="$(curl -s --compressed -I -o /dev/null -w '%header{content-encoding} %header{etag}' "${URL}1m.json")"
[ -n "$head" ] && [ "$head" = "$get" ] && echo "ok   HEAD has the coding and ETag of GET ($head)" ||
    { echo "FAIL HEAD: '$head', GET: '$get'"; fail=1; }
[ "$fail" = 0 ] && echo "curl --compressed: 0 failures" || { echo "curl --compressed: failures"; exit 1; }
