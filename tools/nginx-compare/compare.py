#!/usr/bin/env python3
"""Conditional and range requests against httpserver and nginx, side by side.

Starts nginx (Debian's package; tools/nginx-compare/run.sh installs it) and
the httpserver binary on two loopback ports, both serving the same files,
sends each request of the table to both, and compares what matters: status,
Content-Range, Content-Length, Content-Encoding, the body (multipart
boundaries normalised), the media type, and whether ETag, Last-Modified and
Accept-Ranges are present. Each server's own validators are learnt with a
first GET and substituted into the conditional headers.

    python3 tools/nginx-compare/compare.py --httpserver target/debug/httpserver

Prints one line per request and exits 1 on any difference, except the few
listed in RFC_OVERRIDES where nginx departs from RFC 9110: those must give
the RFC's answer. Bounded: every
request has a 5 s timeout and both servers are stopped (only the pids this
script started) on exit.
"""
import argparse
import email.utils
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

MTIME = 1_700_000_000  # files' modification time: Tue, 14 Nov 2023 22:13:20 GMT


def http_date(t):
    return email.utils.formatdate(t, usegmt=True)


LM = http_date(MTIME)
LM_BEFORE = http_date(MTIME - 3600)
LM_AFTER = http_date(MTIME + 3600)

# (name, method, path, headers). {etag} and {lm} are each server's own.
TABLE = [
    ("full GET", "GET", "/data.txt", {}),
    ("HEAD", "HEAD", "/data.txt", {}),
    ("INM own etag", "GET", "/data.txt", {"If-None-Match": "{etag}"}),
    ("INM weak own etag", "GET", "/data.txt", {"If-None-Match": "W/{etag}"}),
    ("INM other", "GET", "/data.txt", {"If-None-Match": '"other"'}),
    ("INM list with own", "GET", "/data.txt", {"If-None-Match": '"a", {etag}'}),
    ("INM *", "GET", "/data.txt", {"If-None-Match": "*"}),
    ("INM own, HEAD", "HEAD", "/data.txt", {"If-None-Match": "{etag}"}),
    ("IMS = LM", "GET", "/data.txt", {"If-Modified-Since": LM}),
    ("IMS after LM", "GET", "/data.txt", {"If-Modified-Since": LM_AFTER}),
    ("IMS before LM", "GET", "/data.txt", {"If-Modified-Since": LM_BEFORE}),
    ("IMS invalid", "GET", "/data.txt", {"If-Modified-Since": "yesterday"}),
    ("INM other + IMS = LM", "GET", "/data.txt",
     {"If-None-Match": '"other"', "If-Modified-Since": LM}),
    ("INM own + IMS before", "GET", "/data.txt",
     {"If-None-Match": "{etag}", "If-Modified-Since": LM_BEFORE}),
    ("If-Match own", "GET", "/data.txt", {"If-Match": "{etag}"}),
    ("If-Match other", "GET", "/data.txt", {"If-Match": '"other"'}),
    ("If-Match *", "GET", "/data.txt", {"If-Match": "*"}),
    ("IUS = LM", "GET", "/data.txt", {"If-Unmodified-Since": LM}),
    ("IUS before LM", "GET", "/data.txt", {"If-Unmodified-Since": LM_BEFORE}),
    ("IUS after LM", "GET", "/data.txt", {"If-Unmodified-Since": LM_AFTER}),
    ("range 0-0", "GET", "/data.txt", {"Range": "bytes=0-0"}),
    ("range 0-99", "GET", "/data.txt", {"Range": "bytes=0-99"}),
    ("range 100-", "GET", "/data.txt", {"Range": "bytes=100-"}),
    ("range -100", "GET", "/data.txt", {"Range": "bytes=-100"}),
    ("range suffix > len", "GET", "/data.txt", {"Range": "bytes=-2000"}),
    ("range end > len", "GET", "/data.txt", {"Range": "bytes=990-2000"}),
    ("range start = len", "GET", "/data.txt", {"Range": "bytes=1000-"}),
    ("range past end", "GET", "/data.txt", {"Range": "bytes=2000-3000"}),
    ("range other unit", "GET", "/data.txt", {"Range": "items=0-1"}),
    ("two ranges", "GET", "/data.bin", {"Range": "bytes=0-0,5-9"}),
    ("three ranges", "GET", "/data.bin", {"Range": "bytes=0-9,20-29,40-49"}),
    ("ranges summing past len", "GET", "/data.bin", {"Range": "bytes=0-999,0-999"}),
    ("ranges, one satisfiable", "GET", "/data.bin", {"Range": "bytes=0-9,5000-6000"}),
    ("If-Range own etag", "GET", "/data.txt", {"Range": "bytes=0-9", "If-Range": "{etag}"}),
    ("If-Range other etag", "GET", "/data.txt", {"Range": "bytes=0-9", "If-Range": '"other"'}),
    ("If-Range = LM", "GET", "/data.txt", {"Range": "bytes=0-9", "If-Range": LM}),
    ("If-Range before LM", "GET", "/data.txt", {"Range": "bytes=0-9", "If-Range": LM_BEFORE}),
    ("INM own + Range", "GET", "/data.txt", {"Range": "bytes=0-9", "If-None-Match": "{etag}"}),
    ("If-Match other + Range", "GET", "/data.txt", {"Range": "bytes=0-9", "If-Match": '"other"'}),
    ("empty file", "GET", "/empty.txt", {}),
    ("empty file, range", "GET", "/empty.txt", {"Range": "bytes=0-0"}),
    ("html type", "GET", "/page.html", {}),
    ("missing file", "GET", "/missing.txt", {}),
]

# Requests where nginx departs from RFC 9110 and httpserver follows the RFC.
# Each names the status the RFC requires; such a row passes only when
# httpserver answers exactly that, and is reported apart from the matches.
RFC_OVERRIDES = {
    # RFC 9110 section 13.2.2: If-None-Match is evaluated and If-Modified-
    # Since ignored when both are present. nginx tests If-Modified-Since
    # first and sends the whole file although the client's ETag matches.
    "INM own + IMS before": (304, "RFC 9110 13.2.2: If-None-Match takes precedence"),
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what):
    deadline = time.time() + 10
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{what} did not start listening on {port}")


def make_tree(root):
    files = {
        "data.txt": bytes((i * 7 + 13) % 26 + 97 for i in range(1000)),
        "data.bin": bytes(i % 256 for i in range(1000)),
        "empty.txt": b"",
        "page.html": b"<!DOCTYPE html><p>hello</p>\n",
    }
    for name, data in files.items():
        path = os.path.join(root, name)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (MTIME, MTIME))


def nginx_conf(prefix, root, port):
    mime = "/etc/nginx/mime.types"
    return f"""
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    include {mime};
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    if_modified_since before;
    max_ranges 16;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


def fetch(port, method, path, headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request(method, path, headers=headers)
    res = conn.getresponse()
    body = res.read()
    hdrs = {k.lower(): v for k, v in res.getheaders()}
    conn.close()
    return res.status, hdrs, body


def learn(port, path):
    _, h, _ = fetch(port, "GET", path, {})
    return {"etag": h.get("etag", ""), "lm": h.get("last-modified", "")}


def summary(status, h, body):
    ctype = h.get("content-type", "")
    boundary = None
    m = re.search(r"boundary=([^;\s]+)", ctype)
    if m:
        boundary = m.group(1).strip('"')
    norm = body
    if boundary:
        norm = norm.replace(boundary.encode(), b"BOUNDARY")
        norm = re.sub(rb"; charset=utf-8", b"", norm)
    essence = ctype.split(";")[0].strip().lower()
    # Bodies of error pages are each server's own prose: compare success
    # bodies only.
    show_body = status in (200, 206)
    length = h.get("content-length")
    if not show_body:
        length = None
    return {
        "status": status,
        "type": essence if show_body else "-",
        "content-range": h.get("content-range"),
        "content-length": length,
        "content-encoding": h.get("content-encoding"),
        "etag?": "etag" in h,
        "last-modified?": "last-modified" in h,
        "accept-ranges": h.get("accept-ranges") if status in (200, 206) else None,
        "body": norm if show_body else None,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--httpserver", required=True, help="the httpserver binary")
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="nginx-compare-")
    root = os.path.join(tmp, "www")
    os.makedirs(root)
    make_tree(root)
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(tmp, d))
    os.chmod(tmp, 0o755)
    os.chmod(root, 0o755)

    n_port, h_port = free_port(), free_port()
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(nginx_conf(tmp, root, n_port))
    procs = []
    try:
        nginx = subprocess.Popen(
            [args.nginx, "-p", tmp, "-c", conf, "-e", os.path.join(tmp, "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(nginx)
        ours = subprocess.Popen(
            [args.httpserver, root, "--port", str(h_port), "--no-listing",
             "--no-metrics", "--no-health", "--log-level", "error"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(ours)
        wait_port(n_port, nginx, "nginx")
        wait_port(h_port, ours, "httpserver")
        version = subprocess.run([args.nginx, "-v"], capture_output=True, text=True).stderr.strip()
        print(f"comparing with {version}: {len(TABLE)} requests")

        learned = {}
        failures = 0
        rfc = 0
        for name, method, path, headers in TABLE:
            results = {}
            for server, port in (("nginx", n_port), ("httpserver", h_port)):
                key = (server, path)
                if key not in learned:
                    learned[key] = learn(port, path)
                v = learned[key]
                hs = {k: val.replace("{etag}", v["etag"]).replace("{lm}", v["lm"])
                      for k, val in headers.items()}
                results[server] = summary(*fetch(port, method, path, hs))
            a, b = results["nginx"], results["httpserver"]
            diff = [k for k in a if a[k] != b[k]]
            cr = b["content-range"] or ""
            if name in RFC_OVERRIDES and diff:
                want, why = RFC_OVERRIDES[name]
                if b["status"] == want and a["status"] != want:
                    rfc += 1
                    print(f"rfc  {b['status']:>3} {cr:<22} {name} "
                          f"(nginx {a['status']}; {why})")
                    continue
            mark = "ok  " if not diff else "DIFF"
            print(f"{mark} {b['status']:>3} {cr:<22} {name}")
            if diff:
                failures += 1
                for k in diff:
                    av, bv = a[k], b[k]
                    if k == "body":
                        av = av if av is None else av[:200]
                        bv = bv if bv is None else bv[:200]
                    print(f"       {k}: nginx={av!r} httpserver={bv!r}")
        same = len(TABLE) - failures - rfc
        print(f"nginx-compare: {same} same, {rfc} where nginx departs from the RFC "
              f"and httpserver follows it, {failures} different")
        return 1 if failures else 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
