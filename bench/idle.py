#!/usr/bin/env python3
"""Idle keep-alive connections per server, appended to the results.

Runs tools/idle/idle_conns.py (which starts the binary with PORT set on
127.0.0.1, holds N idle keep-alive connections, and reports RSS, threads
and a fresh request's latency) for each server in turn, prints its output,
and appends a table and the raw output to --out. Build first (bench/run.sh
does). Python 3 standard library only.

    python3 bench/idle.py                  # 10 000 connections each
    python3 bench/idle.py -n 2000 --servers httpserver,hyper
"""
import argparse
import datetime
import os
import re
import subprocess
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
IDLE = os.path.join(ROOT, "tools", "idle", "idle_conns.py")
BINARIES = {
    "httpserver": os.path.join(ROOT, "target", "release", "examples", "bench"),
    "hyper": os.path.join(BENCH, "target", "release", "hyper-peer"),
    "actix": os.path.join(BENCH, "target", "release", "actix-peer"),
}
# label in idle_conns.py's output -> column
FIELDS = [
    ("server RSS before/after", "RSS before / after"),
    ("RSS per idle connection", "RSS per idle connection"),
    ("server threads", "threads"),
    ("fresh request latency", "fresh request latency"),
    ("idle connections", "connections"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=10000, help="idle connections (default 10000)")
    ap.add_argument("--servers", default="httpserver,hyper,actix")
    ap.add_argument("--out", default=os.path.join(BENCH, "RESULTS.md"))
    ap.add_argument("--timeout", type=int, default=400, help="seconds allowed per server")
    args = ap.parse_args()
    servers = [s for s in args.servers.split(",") if s]
    for s in servers:
        if s not in BINARIES:
            ap.error(f"unknown server {s!r}; known: {', '.join(BINARIES)}")
        if not os.access(BINARIES[s], os.X_OK):
            sys.exit(f"missing {BINARIES[s]}: run bench/run.sh (or build) first")

    rows, raw, failed = [], [], False
    for s in servers:
        print(f"[idle] {s}: {args.n} connections", file=sys.stderr, flush=True)
        try:
            p = subprocess.run([sys.executable, IDLE, BINARIES[s], "-n", str(args.n)],
                               capture_output=True, text=True, timeout=args.timeout)
            out = (p.stdout + p.stderr).strip()
            ok = p.returncode == 0
        except subprocess.TimeoutExpired as e:
            # idle_conns.py stops its server in a finally block; a timeout
            # here means it hung and was killed by subprocess.run.
            out, ok = f"timed out after {args.timeout} s\n{e.stdout or ''}", False
        print(out)
        raw.append((s, out))
        failed |= not ok
        values = {}
        for line in out.splitlines():
            label, _, value = line.partition(":")
            values[label.strip()] = value.strip()
        if ok:
            rows.append([s] + [values.get(label, "?") for label, _ in FIELDS])
        else:
            rows.append([s, "failed (see below)"] + [""] * (len(FIELDS) - 1))

    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = ["", f"## Idle keep-alive connections: {args.n} per server", "",
             f"`python3 bench/idle.py -n {args.n}` ({date}), which runs "
             "tools/idle/idle_conns.py for each server, unpinned.", "",
             "| server | " + " | ".join(h for _, h in FIELDS) + " |",
             "|---|" + "---:|" * len(FIELDS)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    for s, out in raw:
        lines += ["", f"{s}:", "", "```", out, "```"]
    with open(args.out, "a") as f:
        f.write("\n".join(lines) + "\n")
    print(f"appended to {args.out}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
