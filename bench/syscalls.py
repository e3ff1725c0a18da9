#!/usr/bin/env python3
"""System calls per request: each server under `strace -f -c` for a fixed
number of requests (strace is installed from Debian's packages if missing;
the servers are those `bench/run.sh` builds).

For each server: start it, wait until it answers, attach `strace -f -c` to
all its threads, open the client's connections, run a fixed number of
keep-alive requests in one of three patterns, then detach and read strace's
counts. What the server did before the attach (start-up, the readiness
check) is not counted; what each connection costs once (accept, epoll
registration, close) is, spread over its requests.

- sequential: one connection, one request at a time (a lone client: the
  server waits for each request);
- concurrent: 16 connections, each with one request in flight (the server
  finds several ready at once);
- pipelined: one connection, requests sent 16 at a time in one write, the
  16 responses read before the next batch.

strace stops the server at every system call, so the server is much slower
than without it and, under concurrency, finds more ready at once; the
counts describe what the code does per request, not its speed. Loopback
only; every server is started here and stopped by its pid.

    python3 bench/syscalls.py [--requests 20000] [--servers httpserver,hyper,actix]
        [--out bench/SYSCALLS.md]
"""

import argparse
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import BINARIES, ROOT, Server, command_output  # noqa: E402

REQUEST = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
DEPTH = 16
CONNS = 16
READS = ("read", "recvfrom", "recvmsg", "readv")
WRITES = ("write", "sendto", "sendmsg", "writev", "sendfile")
WAITS = ("epoll_wait", "epoll_pwait", "epoll_pwait2")
SLEEPS = ("nanosleep", "clock_nanosleep")


class Reader:
    """Counts complete responses on one connection (Content-Length framing,
    which every server here uses for /plaintext)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def responses(self):
        """Reads once and returns how many whole responses are now in."""
        chunk = self.sock.recv(65536)
        if not chunk:
            raise RuntimeError("the server closed the connection")
        self.buf += chunk
        done = 0
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return done
            head = self.buf[:end].lower()
            at = head.find(b"content-length:")
            if at < 0:
                raise RuntimeError(f"no content-length in {head!r}")
            length = int(head[at + 15:].split(b"\r\n", 1)[0].strip())
            if len(self.buf) < end + 4 + length:
                return done
            if not self.buf.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"unexpected response {self.buf[:40]!r}")
            self.buf = self.buf[end + 4 + length:]
            done += 1


def connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def sequential(port, n):
    s = connect(port)
    r = Reader(s)
    for _ in range(n):
        s.sendall(REQUEST)
        while r.responses() == 0:
            pass
    s.close()


def pipelined(port, n):
    s = connect(port)
    r = Reader(s)
    for _ in range(n // DEPTH):
        s.sendall(REQUEST * DEPTH)
        got = 0
        while got < DEPTH:
            got += r.responses()
    s.close()


def concurrent(port, n):
    socks = [connect(port) for _ in range(CONNS)]
    sel = selectors.DefaultSelector()
    left = {}
    for s in socks:
        left[s] = n // CONNS
        sel.register(s, selectors.EVENT_READ, Reader(s))
        s.sendall(REQUEST)
    while left:
        for key, _ in sel.select(timeout=10):
            s = key.fileobj
            for _ in range(key.data.responses()):
                left[s] -= 1
                if left[s] > 0:
                    s.sendall(REQUEST)
                else:
                    sel.unregister(s)
                    del left[s]
                    s.close()


PATTERNS = {"sequential": sequential, "concurrent": concurrent, "pipelined": pipelined}


def parse_counts(path):
    """strace -c's table: calls per system call name."""
    counts = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                try:
                    counts[parts[-1]] = int(parts[3])
                except ValueError:
                    continue
    return counts


def measure(name, pattern, n):
    server = Server(name, BINARIES[name], None)
    try:
        server.wait_ready()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "counts.strace")
            tracer = subprocess.Popen(
                ["strace", "-f", "-c", "-o", path, "-p", str(server.pid)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            # strace prints one "attached" line per thread once it has them all.
            time.sleep(1.0)
            if tracer.poll() is not None:
                raise RuntimeError(f"strace exited: {tracer.stderr.read().decode(errors='replace')}")
            try:
                PATTERNS[pattern](server.port, n)
                time.sleep(0.3)  # let the server finish its last writes and waits
            finally:
                tracer.send_signal(signal.SIGINT)
                tracer.wait(timeout=30)
            return parse_counts(path)
    finally:
        server.stop()


def per(counts, names, n):
    return sum(counts.get(c, 0) for c in names) / n


def ensure_strace():
    """Installs strace from Debian's packages if it is missing."""
    if shutil.which("strace"):
        return
    print("installing strace", file=sys.stderr)
    if subprocess.run(["apt-get", "install", "-y", "strace"]).returncode != 0:
        subprocess.run(["apt-get", "update"], check=True)
        subprocess.run(["apt-get", "install", "-y", "strace"], check=True)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--servers", default="httpserver,hyper,actix")
    ap.add_argument("--patterns", default="sequential,concurrent,pipelined")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "SYSCALLS.md"))
    args = ap.parse_args(argv)
    ensure_strace()
    commit = command_output(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT)
    n = args.requests - args.requests % (DEPTH * CONNS)
    rows = []
    for pattern in args.patterns.split(","):
        for name in args.servers.split(","):
            counts = measure(name, pattern, n)
            other = sum(counts.values()) - sum(
                counts.get(c, 0) for c in READS + WRITES + WAITS + SLEEPS)
            row = [pattern, name] + [f"{per(counts, g, n):.3f}" for g in (READS, WRITES, WAITS, SLEEPS)]
            row += [f"{other / n:.3f}", f"{sum(counts.values()) / n:.3f}"]
            rows.append(row)
            print(" ".join(row), flush=True)
            top = sorted(counts.items(), key=lambda kv: -kv[1])[:8]
            print("   ", ", ".join(f"{k} {v}" for k, v in top), flush=True)
    lines = [
        "# System calls per request",
        "",
        f"`python3 bench/syscalls.py --requests {args.requests}` at {commit}, "
        f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}: {n} requests of "
        f"`GET /plaintext` per server and pattern, the server under `strace -f -c` "
        f"(attached after start-up). Sequential: one connection, one request at a time; "
        f"concurrent: {CONNS} connections, one request in flight each; pipelined: one "
        f"connection, {DEPTH} requests per write. Reads are read/recvfrom/recvmsg/readv, "
        f"writes write/sendto/sendmsg/writev/sendfile, waits epoll_wait/epoll_pwait, "
        f"sleeps nanosleep/clock_nanosleep; \"other\" is every other call (futex, "
        f"accept, epoll_ctl, close, ...). See bench/README.md.",
        "",
        "| pattern | server | reads/req | writes/req | waits/req | sleeps/req | other/req | all/req |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ] + ["| " + " | ".join(r) + " |" for r in rows]
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main(sys.argv[1:])
