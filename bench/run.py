#!/usr/bin/env python3
"""Load benchmark: httpserver against hyper, actix-web and the floor.

For each mode (unpinned, pinned), each round, each test, and each server in
turn (A B C D A B C D ...), starts the server on a free 127.0.0.1 port,
checks each route's body, warms up with wrk, reads the server's CPU time
from /proc, runs wrk, reads it again, and stops the server. Servers take
turns test by test, not round by round, so that the runs compared in a
round are seconds apart, not a minute: this machine's speed shifts in
steps that last tens of seconds. Writes medians across rounds and
the median of per-round ratios to --out (Markdown) and to stdout, and every
measurement to the same path with a .json suffix.

Python 3 standard library only. Loopback only; every wrk run is bounded by
-d plus a hard timeout; stops only the processes it started.

    python3 bench/run.py --rounds 6 --duration 6 --warmup 1 \
        --modes unpinned,pinned --tests all \
        --servers httpserver,hyper,actix,floor --out bench/RESULTS.md
    python3 bench/run.py --quick        # 1 round, 2 s, unpinned
"""
import argparse
import datetime
import http.client
import json
import os
import platform
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
PIPELINE_LUA = os.path.join(BENCH, "wrk", "pipeline.lua")
LOG_DIR = os.path.join(BENCH, "target", "bench-logs")

BINARIES = {
    "httpserver": os.path.join(ROOT, "target", "release", "examples", "bench"),
    "hyper": os.path.join(BENCH, "target", "release", "hyper-peer"),
    "actix": os.path.join(BENCH, "target", "release", "actix-peer"),
    "floor": os.path.join(BENCH, "target", "release", "floor"),
    # The same binary with the everyday middleware on: access log (JSON, to
    # a file), request ids and CORS (see examples/bench.rs).
    "httpserver-mw": os.path.join(ROOT, "target", "release", "examples", "bench"),
    # The same binary with `wait_nap` off, for an A/B of the nap (not run
    # unless named in --servers).
    "httpserver-nap0": os.path.join(ROOT, "target", "release", "examples", "bench"),
    # ... and with a 50 µs nap, for the other side of the default (20 µs).
    "httpserver-nap50": os.path.join(ROOT, "target", "release", "examples", "bench"),
    # The same binary again, unchanged: an A/A control that shows how far two
    # runs of one server differ in a round (its ratios to httpserver's are
    # the noise any A/B has to beat).
    "httpserver-aa": os.path.join(ROOT, "target", "release", "examples", "bench"),
}
SERVER_ENV = {
    "httpserver-nap0": {"BENCH_WAIT_NAP": "0"},
    "httpserver-nap50": {"BENCH_WAIT_NAP": "50us"},
    "httpserver-mw": {
        "BENCH_MIDDLEWARE": "1",
        "BENCH_ACCESS_LOG": os.path.join(BENCH, "target", "bench-logs", "access.log"),
    },
}

# name -> (path, connections, pipelined)
TESTS = {
    "plaintext-c64": ("/plaintext", 64, False),
    "plaintext-c256": ("/plaintext", 256, False),
    "plaintext-c64-pipelined16": ("/plaintext", 64, True),
    "json-c64": ("/json", 64, False),
    "users-c64": ("/users/42", 64, False),
}
PIPELINED = "plaintext-c64-pipelined16"

EXPECTED = {
    "/plaintext": b"Hello, World!",
    "/json": b'{"message":"Hello, World!"}',
    "/users/42": b'{"id":"42"}',
}

CLK_TCK = os.sysconf("SC_CLK_TCK")
PINS = {"pinned": ("0", "1"), "unpinned": (None, None)}  # (server CPU, wrk CPU)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def is_plaintext(test):
    return TESTS[test][0] == "/plaintext"


def tests_for(server, tests):
    # The floor answers every request with the plaintext response.
    return [t for t in tests if server != "floor" or is_plaintext(t)]


# ---------------------------------------------------------------- /proc


def cpu_ticks(pid):
    """utime + stime of the whole process (all threads), in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "Threads"):
                out[key] = int(value.split()[0])
    return out


def sleeps(pid):
    """Voluntary context switches of all the process's threads: how often
    it went to sleep (each one a wake-up that another CPU paid for)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        total += int(line.split()[1])
        except OSError:
            pass  # a thread that exited meanwhile
    return total


def machine_ticks():
    """(steal, total) clock ticks of all CPUs from /proc/stat: steal is time
    the hypervisor ran something else while this VM's CPUs wanted to run."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is already
    # counted in user and nice).
    return fields[7] if len(fields) > 7 else 0, sum(fields[:8])


def reset_peak_rss(pid):
    """Resets VmHWM (Linux >= 4.0) so the next read is the peak of one test.
    Returns False where the kernel does not allow it."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- servers


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, timeout=2.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        res = conn.getresponse()
        return res.status, res.read()
    finally:
        conn.close()


class Server:
    def __init__(self, name, binary, cpu):
        self.name = name
        self.port = free_port()
        cmd = [binary]
        if cpu is not None:
            cmd = ["taskset", "-c", cpu] + cmd  # taskset execs: same pid
        os.makedirs(LOG_DIR, exist_ok=True)
        # An access log starts empty each time, so runs do not fill the disk.
        access = SERVER_ENV.get(name, {}).get("BENCH_ACCESS_LOG")
        if access and os.path.exists(access):
            os.remove(access)
        self.log = open(os.path.join(LOG_DIR, f"{name}.log"), "ab")
        self.proc = subprocess.Popen(
            cmd,
            env={**os.environ, "PORT": str(self.port), **SERVER_ENV.get(name, {})},
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
        )
        self.pid = self.proc.pid

    def wait_ready(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} "
                                   f"before answering (see {self.log.name})")
            try:
                status, _ = get(self.port, "/plaintext", timeout=1.0)
                if status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s")
            time.sleep(0.05)

    def check_routes(self):
        paths = ["/plaintext"] if self.name == "floor" else list(EXPECTED)
        for path in paths:
            status, body = get(self.port, path)
            if status != 200 or body != EXPECTED[path]:
                raise RuntimeError(f"{self.name} GET {path}: status {status}, body {body!r}, "
                                   f"expected 200 {EXPECTED[path]!r}")

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM, then SIGKILL after 10 s. Returns seconds taken."""
        start = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                log(f"  {self.name} ignored SIGTERM for 10 s: SIGKILL")
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return time.monotonic() - start


# ---------------------------------------------------------------- wrk

UNITS_US = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}


def to_us(value, unit):
    return float(value) * UNITS_US[unit]


def parse_wrk(out):
    def one(pattern, cast=float):
        m = re.search(pattern, out, re.M)
        if not m:
            raise ValueError(f"wrk output lacks {pattern!r}:\n{out}")
        return m.groups() if len(m.groups()) > 1 else cast(m.group(1))

    res = {
        "requests": int(one(r"^\s*(\d+) requests in ", int)),
        "rps": one(r"^Requests/sec:\s+([\d.]+)"),
    }
    dist = [to_us(*one(rf"^\s+{pct}(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$"))
            for pct in ("50", "75", "90", "99")]
    # wrk 4.1 can print a broken distribution (0.00us at high percentiles
    # when its coordinated-omission correction puts samples below the
    # minimum it scans from); such a run has no usable percentiles.
    res["latency_valid"] = all(v > 0 for v in dist) and dist == sorted(dist)
    res["p50_us"], res["p99_us"] = (dist[0], dist[3]) if res["latency_valid"] else (None, None)
    res["wrk_percentiles_us"] = dict(zip(("50", "75", "90", "99"), dist))
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(g) for g in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    res["errors"] = errors
    return res


def wrk_cmd(args, port, test, duration, cpu):
    path, conns, pipelined = TESTS[test]
    cmd = ["wrk", f"-t{args.wrk_threads}", f"-c{conns}", f"-d{duration}s", "--latency"]
    if pipelined:
        cmd += ["-s", PIPELINE_LUA]
    for h in args.wrk_header or []:
        cmd += ["-H", h]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    if cpu is not None:
        cmd = ["taskset", "-c", cpu] + cmd
    return cmd


def run_wrk(cmd, duration, server=None):
    """Runs wrk (bounded: its -d plus 30 s). While it runs, samples the
    server's thread count; returns (stdout, max threads seen, wrk's own
    user+system CPU seconds)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + duration + 30
    threads = 0
    wrk_cpu = float("nan")
    while True:
        # wait4 rather than poll: it also gives wrk's resource usage
        # (taskset execs wrk, so the pid is wrk's).
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            wrk_cpu = usage.ru_utime + usage.ru_stime
            break
        if server is not None and server.alive():
            try:
                threads = max(threads, proc_status(server.pid)["Threads"])
            except (OSError, KeyError):
                pass
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"wrk did not finish within {duration + 30} s: {shlex.join(cmd)}")
        time.sleep(0.25)
    out = proc.stdout.read()
    proc.stdout.close()
    if proc.returncode != 0:
        raise RuntimeError(f"wrk exited {proc.returncode}: {shlex.join(cmd)}\n{out}")
    return out, threads, wrk_cpu


def measure(args, server, test, wrk_cpu):
    if args.warmup > 0:
        run_wrk(wrk_cmd(args, server.port, test, args.warmup, wrk_cpu), args.warmup)
    reset = reset_peak_rss(server.pid)
    t0 = cpu_ticks(server.pid)
    s0 = proc_status(server.pid)
    z0 = sleeps(server.pid)
    m0 = machine_ticks()
    cmd = wrk_cmd(args, server.port, test, args.duration, wrk_cpu)
    out, max_threads, wrk_cpu_s = run_wrk(cmd, args.duration, server)
    m1 = machine_ticks()
    t1 = cpu_ticks(server.pid)
    s1 = proc_status(server.pid)
    z1 = sleeps(server.pid)
    res = parse_wrk(out)
    if TESTS[test][2]:
        # wrk corrects for coordinated omission with the mean interval
        # between responses on a connection; with 16 requests per write that
        # is about 1/16 of a round trip, so nearly every sample spawns up to
        # 15 synthetic ones and the distribution describes wrk, not the
        # server. Kept in the JSON, left out of the tables.
        res["p50_us"] = res["p99_us"] = None
        res["latency_valid"] = False
    cpu_us = (t1 - t0) * 1e6 / CLK_TCK
    res.update(
        cpu_us=cpu_us,
        cpu_us_per_req=cpu_us / res["requests"] if res["requests"] else float("nan"),
        # What the load generator spent per request, and how often the
        # server slept: wrk pays for waking a sleeping server (see README).
        wrk_cpu_us_per_req=wrk_cpu_s * 1e6 / res["requests"] if res["requests"] else float("nan"),
        sleeps_per_kreq=(z1 - z0) * 1000 / res["requests"] if res["requests"] else float("nan"),
        # Share of the machine's CPU time stolen by the hypervisor during the
        # run: a run with much of it measured the neighbours too.
        steal_pct=100 * (m1[0] - m0[0]) / (m1[1] - m0[1]) if m1[1] > m0[1] else 0.0,
        rss_kb=s1["VmHWM"],
        rss_is_test_peak=reset,
        threads=max(max_threads, s0["Threads"], s1["Threads"]),
        # Recorded relative to the repository, so results name no local path.
        wrk_cmd=shlex.join(cmd).replace(os.path.dirname(BENCH) + os.sep, ""),
    )
    return res


# ---------------------------------------------------------------- summary


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt_lat(us):
    if us is None:
        return "n/a"
    if us < 1000:
        return f"{us:.0f} µs"
    if us < 1e6:
        return f"{us / 1000:.2f} ms"
    return f"{us / 1e6:.2f} s"


def fmt(value, spec):
    return "–" if value is None else format(value, spec)


def spread(values, spec=".2f"):
    """The median of per-round figures with their range: `1.05 (0.93–1.12)`.

    On a shared 2-core VM one round's ratio can move 10-20 %; the range says
    whether a median on one side of a bar is more than noise."""
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    if len(values) == 1:
        return format(values[0], spec)
    return (f"{format(statistics.median(values), spec)} "
            f"({format(min(values), spec)}–{format(max(values), spec)})")


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i < 2 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def by_round(records, mode, test, server):
    return {r["round"]: r for r in records
            if r["mode"] == mode and r["test"] == test and r["server"] == server}


def overhead(rec, floor_rec):
    if rec is None or floor_rec is None:
        return None
    return rec["cpu_us_per_req"] - floor_rec["cpu_us_per_req"]


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return None
    return a / b


def summarise(records, mode, tests, servers):
    """Returns Markdown for one mode: the medians table and the ratios table."""
    rows = []
    for test in tests:
        floor = by_round(records, mode, test, "floor")
        for server in servers:
            rounds = by_round(records, mode, test, server)
            if not rounds:
                continue
            rs = list(rounds.values())
            ovh = None
            if is_plaintext(test) and server != "floor" and floor:
                ovh = median([overhead(r, floor.get(n)) for n, r in rounds.items()])
            rows.append([
                test, server,
                fmt(median([r["rps"] for r in rs]), ",.0f"),
                fmt_lat(median([r["p50_us"] for r in rs])),
                fmt_lat(median([r["p99_us"] for r in rs])),
                fmt(median([r["cpu_us_per_req"] for r in rs]), ".2f"),
                fmt(ovh, ".2f"),
                fmt(median([r["rss_kb"] / 1024 for r in rs]), ".1f"),
                fmt(median([r["threads"] for r in rs]), ".0f"),
                str(sum(r["errors"] for r in rs)),
                str(len(rs)),
            ])
    out = [table(["test", "server", "req/s", "p50", "p99", "CPU µs/req",
                  "overhead above floor µs/req", "peak RSS MiB", "threads", "errors",
                  "rounds"], rows)]

    rows = []
    for test in tests:
        for server in servers:
            rs = [r for r in by_round(records, mode, test, server).values()
                  if "wrk_cpu_us_per_req" in r]
            if rs:
                steal = [r["steal_pct"] for r in rs if "steal_pct" in r]
                rows.append([
                    test, server,
                    fmt(median([r["wrk_cpu_us_per_req"] for r in rs]), ".2f"),
                    fmt(median([r["sleeps_per_kreq"] for r in rs]), ".1f"),
                    fmt(median(steal), ".1f"),
                    fmt(max(steal) if steal else None, ".1f"),
                ])
    if rows:
        out.append("The load generator's side: wrk's own CPU time per request, and how often "
                   "the server went to sleep (voluntary context switches of all its threads) "
                   "per 1000 requests. When wrk saturates its CPU, its cost per request sets "
                   "req/s, and every wake-up of a sleeping server is paid on wrk's CPU "
                   "(README: the wrk-bound tests). Steal is the share of the machine's CPU "
                   "time the hypervisor gave to others during the run (/proc/stat); runs "
                   "with a few percent of it are disturbed, in req/s and most in p99.")
        out.append(table(["test", "server", "wrk CPU µs/req", "server sleeps per 1000 req",
                          "steal % (median)", "steal % (worst round)"], rows))

    for base in ("hyper", "actix"):
        if base not in servers:
            continue
        rows = []
        for test in tests:
            if base == "actix" and test != PIPELINED:
                continue
            ref = by_round(records, mode, test, base)
            floor = by_round(records, mode, test, "floor")
            if not ref:
                continue
            for server in servers:
                if server == base:
                    continue
                rounds = by_round(records, mode, test, server)
                pairs = [(r, ref[n], floor.get(n)) for n, r in rounds.items() if n in ref]
                if not pairs:
                    continue
                ovh = "–"
                if is_plaintext(test) and server != "floor" and floor:
                    ovh = spread([ratio(overhead(r, f), overhead(b, f)) for r, b, f in pairs])
                rows.append([
                    test, server,
                    spread([ratio(r["rps"], b["rps"]) for r, b, _ in pairs]),
                    spread([ratio(r["cpu_us_per_req"], b["cpu_us_per_req"])
                            for r, b, _ in pairs]),
                    ovh,
                    spread([ratio(r["p99_us"], b["p99_us"]) for r, b, _ in pairs]),
                    str(len(pairs)),
                ])
        if rows:
            what = "pipelined test only" if base == "actix" else "every test"
            out.append(f"Median of per-round ratios vs {base}, with their range over the rounds "
                       f"in brackets ({what}; < 1 is better for "
                       f"CPU, overhead and p99, > 1 is better for req/s):")
            out.append(table(["test", "server", f"req/s ÷ {base}", f"CPU/req ÷ {base}",
                              f"overhead ÷ {base}'s", f"p99 ÷ {base}", "rounds"], rows))
    if "httpserver" in servers and "httpserver-mw" in servers:
        rows = []
        for test in tests:
            bare = by_round(records, mode, test, "httpserver")
            mw = by_round(records, mode, test, "httpserver-mw")
            pairs = [(mw[n], bare[n]) for n in mw if n in bare]
            if not pairs:
                continue
            rows.append([
                test,
                fmt(median([r["cpu_us_per_req"] - b["cpu_us_per_req"] for r, b in pairs]), ".2f"),
                fmt(median([ratio(r["cpu_us_per_req"], b["cpu_us_per_req"]) for r, b in pairs]),
                    ".3f"),
                fmt(median([ratio(r["rps"], b["rps"]) for r, b in pairs]), ".3f"),
                str(len(pairs)),
            ])
        if rows:
            out.append("Middleware overhead: httpserver-mw (access log as JSON to a file, request "
                       "ids, CORS) against the bare httpserver, median of per-round ratios:")
            out.append(table(["test", "added CPU µs/req", "CPU/req ÷ bare", "req/s ÷ bare",
                              "rounds"], rows))
    return "\n\n".join(out)


# ---------------------------------------------------------------- report


def read_first(path, key):
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k.strip() == key:
                    return v.strip()
    except OSError:
        pass
    return "?"


def command_output(cmd, cwd=None):
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine_info():
    wrk_version = command_output(["wrk", "--version"]).splitlines()
    commit = command_output(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT)
    dirty = command_output(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT)
    return {
        "nproc": os.cpu_count(),
        "cpu": read_first("/proc/cpuinfo", "model name"),
        "memory": read_first("/proc/meminfo", "MemTotal"),
        "kernel": f"{platform.system()} {platform.release()} {platform.version()}",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "wrk": wrk_version[0] if wrk_version else "?",
        "rustc": command_output(["rustc", "--version"]),
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
        "ticks_start": machine_ticks(),
    }


def steal_since(info):
    (steal0, total0), (steal1, total1) = info["ticks_start"], machine_ticks()
    if total1 <= total0:
        return "steal unknown"
    return f"{100 * (steal1 - steal0) / (total1 - total0):.1f} % of CPU time stolen by the hypervisor"


def report(args, info, records, failures, command):
    lines = [
        "# Load benchmark results",
        "",
        f"- machine: {info['nproc']} CPUs, {info['cpu']}, {info['memory']} memory",
        f"- kernel: {info['kernel']}",
        f"- date: {info['date']}; load average at start {' '.join(info['loadavg_start'])}, "
        f"at end {' '.join(info['loadavg_end'])}; {info['steal']}",
        f"- toolchain: {info['rustc']}; load generator: {info['wrk']}; httpserver at {info['commit']}",
        f"- command: `{command}`",
        f"- rounds {args.rounds}, {args.duration} s per measured run after {args.warmup} s of warm-up; "
        f"wrk with {args.wrk_threads} thread(s); modes: {', '.join(args.modes)}",
        "",
        "See bench/README.md for what each figure means. CPU µs/req is the server's "
        "user+system CPU time from /proc/PID/stat over the measured run divided by the "
        "requests wrk completed; overhead is that minus the floor's for the same test in "
        "the same round. Peak RSS is VmHWM over the measured run; threads the most seen "
        "during it. All figures are medians across rounds. p50/p99 are n/a for the "
        "pipelined test: wrk's latency distribution is not meaningful there (README).",
    ]
    for mode in args.modes:
        if not any(r["mode"] == mode for r in records):
            continue
        server_cpu, wrk_cpu = PINS[mode]
        where = (f"server on CPU {server_cpu}, wrk on CPU {wrk_cpu} (taskset)"
                 if server_cpu is not None else "no pinning: server and wrk share both CPUs")
        lines += ["", f"## {mode}: {where}", "", summarise(records, mode, args.tests, args.servers)]
    lines += bars(records, args.modes, args.servers)
    if failures:
        lines += ["", "## Failures", ""] + [f"- {f}" for f in failures]
    return "\n".join(lines) + "\n"


def bar_rows(records, mode, server):
    """The project's performance bars (bench/README.md) for `server` in one
    mode: what each compares, the median of the per-round ratios with their
    range, the limit, and whether the median meets it."""
    def fig(test, name, n, key):
        """`key` of `name`'s run of `test` in round `n`, if there is one."""
        rec = by_round(records, mode, test, name).get(n)
        return None if rec is None else rec[key]

    def best_peer(test, n, key, best):
        found = [v for v in (fig(test, p, n, key) for p in ("hyper", "actix")) if v is not None]
        return best(found) if found else None

    def ovh(test, name, n):
        mine, floor = fig(test, name, n, "cpu_us_per_req"), fig(test, "floor", n, "cpu_us_per_req")
        return None if mine is None or floor is None else mine - floor

    def check(label, test, theirs, key, limit, at_most):
        """`theirs(n)` is the figure to compare with in round n; `key` is
        this server's figure, or None for its overhead above the floor."""
        pairs = [(ovh(test, server, n) if key is None else r[key], theirs(n))
                 for n, r in by_round(records, mode, test, server).items()]
        pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
        values = [v for v in (ratio(a, b) for a, b in pairs) if v is not None]
        if not values:
            return None
        med = statistics.median(values)
        met = med <= limit if at_most else med >= limit
        verdict = "met" if met else "**missed**"
        if min(values) <= limit <= max(values):
            verdict += ", rounds on both sides"
        return [label, test, spread(values),
                fmt(ratio(median([a for a, _ in pairs]), median([b for _, b in pairs])), ".2f"),
                each_peer(test, key) if "better of" in label else "",
                ("≤ " if at_most else "≥ ") + f"{limit:g}", verdict, str(len(values))]

    def each_peer(test, key):
        """For a bar against the better of two peers: the median of the
        per-round ratios to each peer on its own. The per-round best of two
        noisy runs is biased towards the peers (the larger of two noisy
        figures is larger than either's typical one), so on a noisy machine
        these two are the fairer reading; beating both is beating the
        better one."""
        out = []
        for peer in ("hyper", "actix"):
            values = [v for v in (ratio(r[key], fig(test, peer, n, key))
                                  for n, r in by_round(records, mode, test, server).items()
                                  if fig(test, peer, n, key) is not None) if v is not None]
            if values:
                out.append(f"{peer} {statistics.median(values):.2f}")
        return ", ".join(out)

    loaded = ("plaintext-c64", "plaintext-c256", "json-c64", "users-c64")
    rows = []
    for test in ("plaintext-c64", "plaintext-c256"):
        rows.append(check("overhead above the floor ÷ hyper's", test,
                          lambda n: ovh(test, "hyper", n), None, 0.75, True))
    for test in ("json-c64", "users-c64"):
        rows.append(check("CPU/req ÷ the better of hyper and actix", test,
                          lambda n: best_peer(test, n, "cpu_us_per_req", min),
                          "cpu_us_per_req", 1.0, True))
    for test in loaded:
        rows.append(check("req/s ÷ the better of hyper and actix", test,
                          lambda n: best_peer(test, n, "rps", max), "rps", 1.0, False))
    rows.append(check("req/s ÷ actix's", PIPELINED,
                      lambda n: fig(PIPELINED, "actix", n, "rps"), "rps", 1.0, False))
    rows.append(check("CPU/req ÷ the floor's", PIPELINED,
                      lambda n: fig(PIPELINED, "floor", n, "cpu_us_per_req"),
                      "cpu_us_per_req", 2.0, True))
    for test in loaded:
        rows.append(check("p99 ÷ hyper's", test,
                          lambda n: fig(test, "hyper", n, "p99_us"), "p99_us", 1.0, True))
    return [r for r in rows if r is not None]


def bars(records, modes, servers):
    """Markdown: the bars for every httpserver variant in the run."""
    out = []
    for server in (s for s in servers if s.startswith("httpserver")):
        for mode in modes:
            rows = bar_rows(records, mode, server)
            if rows:
                out += ["", f"### {server}, {mode}", "",
                        table(["bar", "test", "median (range) of per-round ratios",
                               "ratio of medians", "median ratio to each peer", "limit",
                               "verdict on the median", "rounds"],
                              rows)]
    if not out:
        return []
    return ["", "## Bars", "",
            "The performance bars of bench/README.md, judged on the median of the per-round "
            "ratios. The range shows how far single rounds strayed: where rounds fall on both "
            "sides of the limit, the verdict is within this machine's noise. The ratio of "
            "the medians (this server's median figure over the peer's) is a second estimate; "
            "it is the steadier one for overheads, whose per-round ratio is ill-conditioned "
            "when the peer's overhead is near zero. For the bars against the better of hyper "
            "and actix, the median of the per-round ratios to each peer on its own is shown "
            "too: the better of two noisy runs in a round is on average above either peer's "
            "typical figure, so on a noisy machine the per-round ratio to it reads low even "
            "for a server level with both (README: the A/A copy)."] + out


# ---------------------------------------------------------------- main


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--duration", type=int, default=6, help="seconds per measured wrk run")
    ap.add_argument("--warmup", type=int, default=1, help="seconds of wrk before each measured run")
    ap.add_argument("--modes", default="unpinned,pinned")
    ap.add_argument("--tests", default="all", help="'all' or a comma list of " + ", ".join(TESTS))
    ap.add_argument("--servers", default="httpserver,hyper,actix,floor")
    ap.add_argument("--wrk-header", action="append",
                    help="a header wrk sends with every request, for every server "
                         "(e.g. 'Origin: https://app.example.com' to exercise CORS)")
    ap.add_argument("--out", default=None, help="Markdown output (default bench/RESULTS.md; "
                    "with --quick bench/target/RESULTS-quick.md)")
    ap.add_argument("--wrk-threads", type=int, default=1,
                    help="wrk -t (default 1: pinned mode gives wrk one CPU; 1 in both modes "
                         "keeps the load generator the same)")
    ap.add_argument("--bin", action="append", default=[], metavar="NAME=PATH",
                    help="override a server binary")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 1 round, 2 s runs, 1 s warm-up, unpinned only")
    ap.add_argument("--report-from", metavar="JSON",
                    help="run nothing: write the Markdown of an earlier run again from its "
                         ".json (with this version's tables) to --out, default beside it")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.duration, args.warmup, args.modes = 1, 2, 1, "unpinned"
    if args.out is None:
        args.out = os.path.join(BENCH, "target", "RESULTS-quick.md") if args.quick \
            else os.path.join(BENCH, "RESULTS.md")
    args.modes = [m for m in args.modes.split(",") if m]
    args.tests = list(TESTS) if args.tests == "all" else [t for t in args.tests.split(",") if t]
    args.servers = [s for s in args.servers.split(",") if s]
    for name, known in (("mode", PINS), ("test", TESTS), ("server", BINARIES)):
        for value in getattr(args, name + "s"):
            if value not in known:
                ap.error(f"unknown {name} {value!r}; known: {', '.join(known)}")
    for spec in args.bin:
        name, _, path = spec.partition("=")
        if name not in BINARIES or not path:
            ap.error(f"--bin wants NAME=PATH with NAME one of {', '.join(BINARIES)}")
        BINARIES[name] = os.path.abspath(path)
    if args.rounds < 1 or args.duration < 1 or args.warmup < 0:
        ap.error("--rounds and --duration must be >= 1, --warmup >= 0")
    return args


def rerender(path, out):
    """The Markdown of an earlier run, from the .json it wrote, with the
    tables of this version of the script."""
    with open(path) as f:
        saved = json.load(f)
    argv = shlex.split(saved["command"])
    script = [i for i, a in enumerate(argv) if a.endswith(("run.py", "run.sh"))]
    argv = argv[script[0] + 1:] if script else []
    kept, skip = [], False
    for a in argv:  # the binaries are not needed to write a report
        if skip or a.startswith("--bin") or a.startswith("--out"):
            skip = a in ("--bin", "--out")
            continue
        kept.append(a)
    args = parse_args(kept)
    info = saved["machine"]
    info.setdefault("loadavg_end", ["not", "recorded", ""])
    info.setdefault("steal", "steal not recorded")
    text = report(args, info, saved["records"], saved["failures"], saved["command"])
    out = out or os.path.splitext(path)[0] + ".md"
    with open(out, "w") as f:
        f.write(text)
    log(f"wrote {out}")
    return 0


def main(argv):
    args = parse_args(argv)
    if args.report_from:
        return rerender(args.report_from, args.out if "--out" in argv else None)
    missing = [f"{s}: {BINARIES[s]}" for s in args.servers if not os.access(BINARIES[s], os.X_OK)]
    if missing:
        sys.exit("missing server binaries (run bench/run.sh, or build them):\n  " + "\n  ".join(missing))
    for tool in ["wrk"] + (["taskset"] if "pinned" in args.modes else []):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            sys.exit(f"{tool} not found")
    command = os.environ.get("BENCH_COMMAND") or shlex.join(["python3", "bench/run.py"] + argv)
    info = machine_info()
    records, failures = [], []
    n_runs = sum(len(tests_for(s, args.tests)) for s in args.servers) * args.rounds * len(args.modes)
    log(f"{n_runs} measured runs, about {n_runs * (args.duration + args.warmup + 1.0) / 60:.0f} min")

    for mode in args.modes:
        server_cpu, wrk_cpu = PINS[mode]
        for rnd in range(1, args.rounds + 1):
            for test in args.tests:
                for name in args.servers:
                    if test not in tests_for(name, args.tests):
                        continue
                    log(f"[{mode} round {rnd}/{args.rounds}] {test} {name}")
                    server = Server(name, BINARIES[name], server_cpu)
                    try:
                        server.wait_ready()
                        server.check_routes()
                        res = measure(args, server, test, wrk_cpu)
                        res.update(mode=mode, round=rnd, server=name, test=test)
                        records.append(res)
                        log(f"  {res['rps']:>11,.0f} req/s  p50 {fmt_lat(res['p50_us']):>9}"
                            f"  p99 {fmt_lat(res['p99_us']):>9}  {res['cpu_us_per_req']:6.2f} CPU µs/req"
                            f"  {res['rss_kb'] / 1024:6.1f} MiB  {res['threads']} threads"
                            + (f"  {res['errors']} errors" if res["errors"] else ""))
                    except (RuntimeError, ValueError, OSError) as e:
                        msg = f"{mode} round {rnd} {test} {name}: {e}"
                        log("  FAILED: " + msg)
                        failures.append(msg.splitlines()[0])
                    finally:
                        took = server.stop()
                        if took > 2:
                            log(f"  {name} took {took:.1f} s to stop")

    info["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    info["steal"] = steal_since(info)
    text = report(args, info, records, failures, command)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump({"machine": info, "command": command, "records": records,
                   "failures": failures}, f, indent=1)
    print(text)
    log(f"wrote {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
