#!/usr/bin/env python3
"""Static files: the httpserver binary against nginx, side by side.

Two parts, both on 127.0.0.1 with the same files:

* throughput: a 1 KiB and a 1 MiB file under keep-alive load (wrk, 64
  connections), the two servers taking turns (A B A B ...) for --rounds
  rounds; records requests/s, p50/p99, the server's CPU time per request
  (from /proc: for nginx, the master and its workers) and peak RSS, and
  writes medians and the median of per-round ratios to nginx.
* slow clients: --slow-clients connections each downloading a 100 MiB file
  and reading it slowly for --slow-seconds; samples each server's RSS every
  half second and reports where it started, its peak and where it ended.

nginx runs as a static server would be configured for speed:
`worker_processes` = CPUs, `sendfile on`, `tcp_nopush on`, `tcp_nodelay on`,
`access_log off`, and `keepalive_requests` raised so that, like httpserver,
it keeps a connection for the whole run. httpserver runs with its defaults
(compression on) but, like nginx here, no access log.

In the unpinned mode a second pair runs in the same rounds with each
server's workers pinned to CPUs in turn: `httpserver --pin-workers` and
nginx with `worker_cpu_affinity auto`. The ratios are given for both pairs
and for pinned httpserver against nginx as the bar configures it.

    python3 bench/static.py --httpserver target/release/httpserver \
        --out bench/STATIC.md

Python 3 standard library only; bounded (every wrk run has -d and a hard
timeout, slow clients stop after --slow-seconds); stops only the processes
it started.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (the load benchmark's helpers)

# Each server as the bar names it, and each with its workers pinned to CPUs.
ALL_SERVERS = ["httpserver", "nginx", "httpserver-affinity", "nginx-affinity"]
PAIRS = [("httpserver", "nginx"), ("httpserver-affinity", "nginx-affinity"),
         ("httpserver-affinity", "nginx")]
FILES = {"1k": 1024, "1m": 1024 * 1024, "100m": 100 * 1024 * 1024}
TESTS = ["1k", "1m"]
CONNS = 64


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def make_root(root):
    os.makedirs(root, exist_ok=True)
    block = bytes(range(256)) * 4096  # 1 MiB
    for name, size in FILES.items():
        with open(os.path.join(root, f"{name}.bin"), "wb") as f:
            left = size
            while left:
                n = min(left, len(block))
                f.write(block[:n])
                left -= n


def nginx_conf(prefix, root, port, workers, affinity=False):
    pin = "worker_cpu_affinity auto;" if affinity else ""
    return f"""
worker_processes {workers};
{pin}
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        root {root};
    }}
}}
"""


class Proc:
    """A server process and the pids whose CPU time counts as its own."""

    def __init__(self, name, cmd, port, cpu):
        self.name, self.port = name, port
        if cpu is not None:
            cmd = ["taskset", "-c", cpu] + cmd
        os.makedirs(bench.LOG_DIR, exist_ok=True)
        self.log = open(os.path.join(bench.LOG_DIR, f"static-{name}.log"), "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log)
        self.pid = self.proc.pid

    def pids(self):
        """The process and its children (nginx's workers)."""
        out = [self.pid]
        try:
            for task in os.listdir(f"/proc/{self.pid}/task"):
                with open(f"/proc/{self.pid}/task/{task}/children") as f:
                    out += [int(p) for p in f.read().split()]
        except OSError:
            pass
        return out

    def cpu_ticks(self):
        total = 0
        for pid in self.pids():
            try:
                total += bench.cpu_ticks(pid)
            except OSError:
                pass
        return total

    def rss_kb(self):
        total = 0
        for pid in self.pids():
            try:
                total += bench.proc_status(pid)["VmRSS"]
            except (OSError, KeyError):
                pass
        return total

    def peak_rss_kb(self):
        total = 0
        for pid in self.pids():
            try:
                total += bench.proc_status(pid)["VmHWM"]
            except (OSError, KeyError):
                pass
        return total

    def reset_peak(self):
        return all(bench.reset_peak_rss(p) for p in self.pids())

    def wait_ready(self, path, timeout=15.0):
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} "
                                   f"(see {self.log.name})")
            try:
                status, body = bench.get(self.port, path, timeout=1.0)
                if status == 200 and len(body) == FILES["1k"]:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s")
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            # nginx: SIGQUIT is its graceful stop; SIGTERM is fast but fine.
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def start(name, args, tmp, root, cpu):
    port = bench.free_port()
    if name.startswith("nginx"):
        conf = os.path.join(tmp, f"nginx-{port}.conf")
        with open(conf, "w") as f:
            f.write(nginx_conf(tmp, root, port, args.nginx_workers,
                               affinity=name.endswith("-affinity")))
        cmd = [args.nginx, "-p", tmp, "-c", conf, "-e", os.path.join(tmp, "error.log")]
    else:
        # nginx runs with access_log off: so does httpserver (its other
        # defaults, compression included, stay on).
        cmd = [args.httpserver, root, "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "warn", "--no-access-log"]
        if name.endswith("-affinity"):
            cmd.append("--pin-workers")
    p = Proc(name, cmd, port, cpu)
    p.wait_ready("/1k.bin")
    return p


def measure(args, p, test, wrk_cpu):
    url = f"http://127.0.0.1:{p.port}/{test}.bin"
    base = ["wrk", f"-t{args.wrk_threads}", f"-c{CONNS}", "--latency"]
    pre = ["taskset", "-c", wrk_cpu] if wrk_cpu is not None else []
    if args.warmup > 0:
        bench.run_wrk(pre + base + [f"-d{args.warmup}s", url], args.warmup)
    reset = p.reset_peak()
    t0 = p.cpu_ticks()
    cmd = pre + base + [f"-d{args.duration}s", url]
    out, _, _ = bench.run_wrk(cmd, args.duration)
    t1 = p.cpu_ticks()
    res = bench.parse_wrk(out)
    cpu_us = (t1 - t0) * 1e6 / bench.CLK_TCK
    res.update(cpu_us_per_req=cpu_us / res["requests"] if res["requests"] else None,
               rss_kb=p.peak_rss_kb(), rss_is_test_peak=reset)
    return res


# ------------------------------------------------------------- slow clients


def slow_client(port, stop, stats, i):
    """Downloads /100m.bin, reading 16 KiB every 50 ms until `stop`."""
    got = 0
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.sendall(b"GET /100m.bin HTTP/1.1\r\nHost: bench\r\n\r\n")
        while not stop.is_set():
            data = s.recv(16 * 1024)
            if not data:
                break
            got += len(data)
            time.sleep(0.05)
        s.close()
    except OSError as e:
        stats["errors"].append(f"client {i}: {e}")
    stats["bytes"][i] = got


def slow_clients(args, p):
    stop = threading.Event()
    stats = {"errors": [], "bytes": [0] * args.slow_clients}
    rss0 = p.rss_kb()
    threads = [threading.Thread(target=slow_client, args=(p.port, stop, stats, i), daemon=True)
               for i in range(args.slow_clients)]
    for t in threads:
        t.start()
    samples = []
    end = time.monotonic() + args.slow_seconds
    while time.monotonic() < end:
        samples.append(p.rss_kb())
        time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(15)
    fresh_ms = None
    try:
        t0 = time.monotonic()
        status, _ = bench.get(p.port, "/1k.bin", timeout=5)
        fresh_ms = (time.monotonic() - t0) * 1000 if status == 200 else None
    except OSError:
        pass
    return {
        "clients": args.slow_clients,
        "seconds": args.slow_seconds,
        "rss_start_kb": rss0,
        "rss_peak_kb": max(samples) if samples else None,
        "rss_end_kb": samples[-1] if samples else None,
        "rss_samples_kb": samples,
        "mib_downloaded": sum(stats["bytes"]) / 2**20,
        "errors": stats["errors"][:5],
        "fresh_request_ms": fresh_ms,
    }


# ------------------------------------------------------------------ report


def report(args, records, slow, started, load0):
    med = statistics.median
    lines = [
        "# Static files: httpserver vs nginx",
        "",
        f"Started {started}: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average at start {load0:.2f}, at end {os.getloadavg()[0]:.2f}. "
        f"{args.rounds} round(s) of {args.duration} s (after {args.warmup} s warm-up), "
        f"wrk {args.wrk_threads} thread(s), {CONNS} keep-alive connections; "
        f"nginx worker_processes {args.nginx_workers}, sendfile on.",
        "",
        f"Command: `{args.command}`",
        "",
    ]
    for mode in args.modes:
        lines += [f"## {mode}", "",
                  "| file | server | req/s | CPU µs/req | p50 | p99 | peak RSS |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for test in TESTS:
            for server in ALL_SERVERS:
                rs = [r for r in records if r["mode"] == mode and r["test"] == test
                      and r["server"] == server]
                if not rs:
                    continue
                lines.append(
                    f"| {test} | {server} | {med([r['rps'] for r in rs]):,.0f} | "
                    f"{med([r['cpu_us_per_req'] for r in rs]):.2f} | "
                    f"{bench.fmt_lat(bench.median([r['p50_us'] for r in rs]))} | "
                    f"{bench.fmt_lat(bench.median([r['p99_us'] for r in rs]))} | "
                    f"{med([r['rss_kb'] for r in rs]) / 1024:.1f} MiB |")
        lines += ["", "Median of per-round ratios:", "",
                  "| file | pair | req/s | CPU/req | p99 | rounds |",
                  "|---|---|---:|---:|---:|---:|"]
        for test in TESTS:
            for a_name, b_name in PAIRS:
                ratios = {"rps": [], "cpu": [], "p99": []}
                for rnd in range(args.rounds):
                    pair = {r["server"]: r for r in records if r["mode"] == mode
                            and r["test"] == test and r["round"] == rnd}
                    if a_name not in pair or b_name not in pair:
                        continue
                    a, b = pair[a_name], pair[b_name]
                    ratios["rps"].append(a["rps"] / b["rps"])
                    ratios["cpu"].append(a["cpu_us_per_req"] / b["cpu_us_per_req"])
                    if a["p99_us"] and b["p99_us"]:
                        ratios["p99"].append(a["p99_us"] / b["p99_us"])
                if not ratios["rps"]:
                    continue
                cells = [f"{med(v):.2f}" if v else "–" for v in ratios.values()]
                lines.append(f"| {test} | {a_name} ÷ {b_name} | " + " | ".join(cells)
                             + f" | {len(ratios['rps'])} |")
        lines.append("")
    if slow:
        lines += ["## Slow clients", "",
                  f"{args.slow_clients} connections each downloading a 100 MiB file, "
                  f"reading 16 KiB every 50 ms for {args.slow_seconds} s; server RSS "
                  "(nginx: master and workers) sampled every 0.5 s.", "",
                  "| server | RSS at start | peak | at end | MiB sent | fresh request | errors |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for server, s in slow.items():
            fresh = "n/a" if s["fresh_request_ms"] is None else f"{s['fresh_request_ms']:.1f} ms"
            lines.append(
                f"| {server} | {s['rss_start_kb'] / 1024:.1f} MiB | "
                f"{s['rss_peak_kb'] / 1024:.1f} MiB | {s['rss_end_kb'] / 1024:.1f} MiB | "
                f"{s['mib_downloaded']:.0f} | {fresh} | {len(s['errors'])} |")
        lines.append("")
    return "\n".join(lines)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--httpserver", default=os.path.join(bench.ROOT, "target", "release",
                                                         "httpserver"))
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--nginx-workers", type=int, default=os.cpu_count())
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--modes", default="unpinned,pinned")
    ap.add_argument("--slow-clients", type=int, default=100)
    ap.add_argument("--slow-seconds", type=int, default=20)
    ap.add_argument("--no-slow", action="store_true")
    ap.add_argument("--no-affinity", action="store_true",
                    help="leave out the pair with pinned workers (httpserver --pin-workers, "
                         "nginx worker_cpu_affinity auto), which runs in the unpinned mode")
    ap.add_argument("--out", default=os.path.join(bench.BENCH, "target", "STATIC-quick.md"))
    args = ap.parse_args(argv)
    args.modes = args.modes.split(",")
    args.command = os.environ.get("BENCH_COMMAND", "python3 bench/static.py " + " ".join(argv))
    for m in args.modes:
        if m not in bench.PINS:
            ap.error(f"unknown mode {m}")

    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load0 = os.getloadavg()[0]
    tmp = tempfile.mkdtemp(prefix="static-bench-")
    root = os.path.join(tmp, "www")
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(tmp, d))
    make_root(root)
    os.chmod(tmp, 0o755)
    records, slow = [], {}
    try:
        for mode in args.modes:
            server_cpu, wrk_cpu = bench.PINS[mode]
            for rnd in range(args.rounds):
                servers = ["httpserver", "nginx"]
                if mode == "unpinned" and not args.no_affinity:
                    # Pinning workers means nothing when the server has one CPU.
                    servers += ["httpserver-affinity", "nginx-affinity"]
                for server in servers:
                    p = start(server, args, tmp, root, server_cpu)
                    try:
                        for test in TESTS:
                            res = measure(args, p, test, wrk_cpu)
                            res.update(mode=mode, round=rnd, server=server, test=test)
                            records.append(res)
                            log(f"{mode} r{rnd} {server:10} {test:3} {res['rps']:>10,.0f} req/s "
                                f"{res['cpu_us_per_req']:.2f} µs/req errors {res['errors']}")
                    finally:
                        p.stop()
        if not args.no_slow:
            for server in ("httpserver", "nginx"):
                p = start(server, args, tmp, root, None)
                try:
                    slow[server] = slow_clients(args, p)
                    s = slow[server]
                    log(f"slow clients {server}: RSS {s['rss_start_kb']} -> peak "
                        f"{s['rss_peak_kb']} -> {s['rss_end_kb']} kB, "
                        f"{s['mib_downloaded']:.0f} MiB sent")
                finally:
                    p.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = report(args, records, slow, started, load0)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text + "\n")
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump({"records": records, "slow_clients": slow}, f, indent=1)
    print(text)
    failed = sum(r["errors"] for r in records)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
