#!/usr/bin/env python3
"""Idle keep-alive connections: memory and threads per connection.

Starts SERVER_BINARY (with PORT set) on 127.0.0.1, opens N connections that
each make one request and then stay idle, and reports the server's RSS and
thread count before and after, RSS per idle connection, and the latency of a
fresh request while they are held. Loopback only; bounded in time; stops
only the process it started.

    python3 tools/idle/idle_conns.py target/release/examples/quickstart -n 10000
"""
import argparse
import os
import resource
import signal
import socket
import subprocess
import sys
import time


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return int(fields["VmRSS"].split()[0]), int(fields["Threads"])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(sock, path="/users/1"):
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: idle\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("closed")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        body += sock.recv(4096)
    return head.split(b" ")[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("-n", type=int, default=10000)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    port = free_port()
    proc = subprocess.Popen([args.binary], env={**os.environ, "PORT": str(port)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conns = []
    try:
        deadline = time.time() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        rss0, threads0 = proc_status(proc.pid)
        start = time.time()
        for i in range(args.n):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if request(s) != b"200":
                raise RuntimeError("bad status")
            conns.append(s)
            if time.time() - start > 120:
                raise RuntimeError(f"too slow: {i} connections in 120 s")
        opened = time.time() - start
        time.sleep(0.5)
        rss1, threads1 = proc_status(proc.pid)
        lat = []
        for _ in range(20):
            t = time.perf_counter()
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                request(s)
            lat.append((time.perf_counter() - t) * 1000)
        lat.sort()
        # The idle connections are still open and answer.
        for s in conns[:: max(1, args.n // 50)]:
            request(s)
        print(f"idle connections        : {args.n} (opened in {opened:.1f} s)")
        print(f"server RSS before/after : {rss0} KiB / {rss1} KiB")
        print(f"RSS per idle connection : {(rss1 - rss0) * 1024 / args.n:.0f} bytes")
        print(f"server threads          : {threads0} before, {threads1} with {args.n} idle")
        print(f"fresh request latency   : median {lat[len(lat)//2]:.2f} ms, max {lat[-1]:.2f} ms")
    finally:
        for s in conns:
            s.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    sys.exit(main())
