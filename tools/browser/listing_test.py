#!/usr/bin/env python3
"""The directory listing in a real browser (headless Chromium).

Builds a tree whose names are hostile to HTML and URLs (spaces, unicode,
markup, `#`, `%`, `?`, quotes), serves it with the httpserver binary, and:

1. has Chromium load the listing and dump the DOM it built: the page title
   must be intact and the DOM must hold no element a name could have
   injected (no <script>, <img>, or event-handler attribute), so nothing
   was executed;
2. takes every link of that DOM, resolves it against the page URL, and has
   Chromium load each one: the page it shows must be that file's content
   (each file holds its own name), and the same bytes come back over a
   plain HTTP request;
3. saves a phone-sized screenshot of the listing.

    python3 tools/browser/listing_test.py --httpserver target/debug/httpserver \
        --screenshot target/browser/listing.png

Loopback only; every browser run has a timeout; stops only what it started.
"""
import argparse
import html.parser
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

NAMES = [
    "space name.txt",
    "unicodé-日本語.txt",
    "<img src=x onerror=alert(1)>.txt",
    "<script>alert(1)<script>.txt",
    "hash#tag.txt",
    "100% done.txt",
    "what?.txt",
    "amp&amp;.txt",
    "quote'\"s.txt",
]
SUBDIR = "sub <dir> #2"
INNER = "inner file.txt"


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []
        self.tags = []
        self.handlers = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k.startswith("on"):
                self.handlers.append((tag, k, v))
        if tag == "a":
            self.links.append(dict(attrs).get("href"))
        if tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium(binary, *args, timeout=60):
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-extensions", "--disable-dev-shm-usage", *args]
    return subprocess.run(cmd, capture_output=True, timeout=timeout, text=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--httpserver", required=True)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--screenshot", default="target/browser/listing.png")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="listing-test-")
    root = os.path.join(tmp, "www")
    os.makedirs(os.path.join(root, SUBDIR))
    expected = {}
    for name in NAMES:
        with open(os.path.join(root, name), "w", encoding="utf-8") as f:
            f.write(f"FILE:{name}\n")
        expected[name] = f"FILE:{name}\n".encode()
    with open(os.path.join(root, SUBDIR, INNER), "w", encoding="utf-8") as f:
        f.write(f"FILE:{INNER}\n")

    port = free_port()
    server = subprocess.Popen(
        [args.httpserver, root, "--port", str(port), "--log-level", "warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    failures = []
    try:
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    sys.exit("httpserver did not start")
                time.sleep(0.05)
        base = f"http://127.0.0.1:{port}/"

        # 1. The DOM Chromium builds from the listing.
        out = chromium(args.chromium, "--dump-dom", base)
        if out.returncode != 0 or "<html" not in out.stdout:
            sys.exit(f"chromium failed: {out.returncode}\n{out.stderr[-2000:]}")
        page = Links()
        page.feed(out.stdout)
        if page.title.strip() != "Index of /":
            failures.append(f"title changed: {page.title!r}")
        for tag in ("script", "img", "iframe", "object", "embed"):
            if tag in page.tags:
                failures.append(f"a <{tag}> element was injected")
        if page.handlers:
            failures.append(f"event handler attributes present: {page.handlers}")

        # 2. Every link leads to the right file, in the browser and over HTTP.
        targets = {}
        for href in page.links:
            if href in (None, "../"):
                continue
            url = urllib.parse.urljoin(base, href)
            name = urllib.parse.unquote(urllib.parse.urlsplit(url).path.strip("/"))
            targets[name] = url
        want = set(NAMES) | {SUBDIR}
        if set(targets) != want:
            failures.append(f"links {sorted(targets)} != names {sorted(want)}")
        for name, url in sorted(targets.items()):
            if name == SUBDIR:
                url = urllib.parse.urljoin(url, urllib.parse.quote(INNER))
                content = f"FILE:{INNER}\n".encode()
            else:
                content = expected.get(name)
            parts = urllib.parse.urlsplit(url)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", parts.path)
            res = conn.getresponse()
            body = res.read()
            conn.close()
            if res.status != 200 or body != content:
                failures.append(f"{name!r}: GET {parts.path} gave {res.status} {body[:80]!r}")
                continue
            shown = chromium(args.chromium, "--dump-dom", url)
            text = content.decode().strip()
            escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            if escaped not in shown.stdout:
                failures.append(f"{name!r}: the browser at {url} did not show the file")
            else:
                print(f"ok   {name}")

        # 3. A phone-sized screenshot.
        os.makedirs(os.path.dirname(os.path.abspath(args.screenshot)), exist_ok=True)
        shot = chromium(args.chromium, f"--screenshot={os.path.abspath(args.screenshot)}",
                        "--window-size=412,915", "--hide-scrollbars", base)
        if shot.returncode != 0 or not os.path.exists(args.screenshot):
            failures.append("no screenshot")
        else:
            print(f"screenshot: {args.screenshot}")
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        print(f"FAIL {f}")
    print(f"browser: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
