#!/usr/bin/env python3
"""Black-box HTTP/1.1 conformance probe for the httpserver "quickstart" app.

Usage (Python 3.11, standard library only):

    python3 tools/probe/probe.py --port 8080            # server already on 127.0.0.1:8080
    python3 tools/probe/probe.py --spawn target/debug/httpserver
    options: --only ID_SUBSTRING   run only checks whose id contains the substring
             --verbose             on failure, print the raw bytes sent and received
             --budget SECONDS      bound on the whole check run (default 300)
             --server-log FILE     with --spawn: where the server's stdout/stderr go

--spawn starts BINARY with PORT=<free port>, waits (at most 15 s) until the port
accepts connections, runs the checks, then sends SIGTERM to that pid only and
waits for it to exit (SIGKILL after 10 s); the exit is reported as a check too.

Output: one line per check, ``PASS|FAIL <id> <description> (<detail>)``, then the
line ``probe: N passed, M failed``.  Exit status is 0 iff M == 0.

The app under test: GET / -> 200 {"message":"Hello, World!"}; GET /users/:id ->
200 {"id":"<id>"}; POST /users with JSON -> 201, bad JSON -> 400; unknown path ->
404; known path + other method -> 405 with Allow; OPTIONS -> 2xx with Allow; HEAD
is GET without a body.  Limits: request line > 8192 -> 414; header section >
65536 bytes or > 100 fields -> 431; body > 1 MiB -> 413.

Check ids are grouped by prefix: rl- request line, h- header fields, f- framing
and smuggling, c- connection management, r- robustness, inv- response audit.
Every check opens its own connection; after each one a fresh ``GET /`` must still
get 200 or the check fails.  Where RFC 9110/9112 allow several behaviours the
check accepts all of them (see the comments in the table).  "consistent" checks
then only demand that the connection does not desynchronise: a request pipelined
after the tested one is answered iff the tested one was accepted, and a rejected
message is followed by a close.  The last check (inv-date-framing) audits every
response seen during the run for Date, HTTP version and a framing header.
"""

import argparse
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

HOST = "127.0.0.1"
PORT = 0
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 3.0     # longest wait for a response after the last byte is sent
IDLE = 0.6             # once complete responses are in, this much silence ends a read
SEND_LIMIT = 15.0      # bound on the time spent sending on one connection
OK2 = range(200, 300)
VIOLATIONS = []        # (check id, problem) for inv-date-framing
CURRENT = "-"

# ---------------------------------------------------------------------------
# Response parsing
# ---------------------------------------------------------------------------

class Resp:
    def __init__(self, version, status, reason, headers):
        self.version, self.status, self.reason = version, status, reason
        self.headers = headers          # [(lower-case name, stripped value)]
        self.body = b""
        self.framing = "none"           # none | length | chunked | eof

    def get(self, name):
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def all(self, name):
        return [v for k, v in self.headers if k == name]

HEX = set(b"0123456789abcdefABCDEF")

def read_chunked(data, pos):
    """Decode a chunked body at pos: (body, end) or None if incomplete; ValueError if bad."""
    body = bytearray()
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return None
        size_txt = data[pos:eol].split(b";", 1)[0].strip(b" \t")
        if not size_txt or not set(size_txt) <= HEX:
            raise ValueError(f"bad chunk size line {data[pos:eol][:40]!r}")
        size, pos = int(size_txt, 16), eol + 2
        if size == 0:
            while True:                 # trailer section up to the empty line
                eol = data.find(b"\r\n", pos)
                if eol < 0:
                    return None
                line, pos = data[pos:eol], eol + 2
                if not line:
                    return bytes(body), pos
        if len(data) < pos + size + 2:
            return None
        body += data[pos:pos + size]
        if data[pos + size:pos + size + 2] != b"\r\n":
            raise ValueError("chunk data not followed by CRLF")
        pos += size + 2

def parse_responses(data, heads=(), eof=False):
    """Split raw bytes into responses: (responses, unparsed rest, error or None).

    heads: indexes (among final, non-1xx responses) that answer HEAD requests.
    eof: the peer has closed, so a body without framing ends here.
    """
    out, pos, nfinal = [], 0, 0
    while pos < len(data):
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            return out, data[pos:], None
        lines = data[pos:end].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if (len(parts) < 2 or not parts[0].startswith("HTTP/") or len(parts[1]) != 3
                or not parts[1].isdigit()):
            return out, data[pos:], f"bad status line {lines[0][:60]!r}"
        headers = []
        for ln in lines[1:]:
            name, sep, value = ln.partition(":")
            if not sep or not name or name != name.strip():
                return out, data[pos:], f"bad response header line {ln[:60]!r}"
            headers.append((name.lower(), value.strip(" \t")))
        r = Resp(parts[0], int(parts[1]), parts[2] if len(parts) > 2 else "", headers)
        start = end + 4
        if 100 <= r.status < 200:
            out.append(r)
            pos = start
            continue
        te, cls = (r.get("transfer-encoding") or "").lower(), r.all("content-length")
        if nfinal in heads or r.status in (204, 304):
            stop = start
        elif te:
            if te.split(",")[-1].strip() != "chunked":
                if not eof:
                    return out, data[pos:], None
                r.framing, r.body, stop = "eof", data[start:], len(data)
            else:
                try:
                    got = read_chunked(data, start)
                except ValueError as e:
                    return out, data[pos:], str(e)
                if got is None:
                    return out, data[pos:], None
                r.framing, (r.body, stop) = "chunked", got
        elif cls:
            if len(set(cls)) != 1 or not cls[0].isdigit():
                return out, data[pos:], f"bad response Content-Length {cls!r}"
            stop = start + int(cls[0])
            if stop > len(data):
                return out, data[pos:], None
            r.framing, r.body = "length", data[start:stop]
        else:
            if not eof:
                return out, data[pos:], None
            r.framing, r.body, stop = "eof", data[start:], len(data)
        out.append(r)
        nfinal += 1
        pos = stop
    return out, b"", None

# ---------------------------------------------------------------------------
# Connections and exchanges
# ---------------------------------------------------------------------------

class Conn:
    def __init__(self, nodelay=False):
        self.sock = socket.create_connection((HOST, PORT), timeout=CONNECT_TIMEOUT)
        if nodelay:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(READ_TIMEOUT)
        self.buf = bytearray()
        self.closed = self.reset = False
        self.send_error = None
        self.at_send = []               # len(buf) when each piece started to go out
        self.sent = bytearray()
        self.send_deadline = time.monotonic() + SEND_LIMIT

    def recv_once(self, wait):
        """Wait up to `wait` s for data; False if nothing arrived."""
        if self.closed:
            return False
        ready, _, _ = select.select([self.sock], [], [], max(wait, 0))
        if not ready:
            return False
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, ConnectionAbortedError):
            self.closed = self.reset = True
            return True
        except socket.timeout:
            return False
        if not data:
            self.closed = True
        self.buf += data
        return True

    def pump(self, seconds, stop=None):
        end = time.monotonic() + seconds
        while not self.closed and not (stop and stop()):
            left = end - time.monotonic()
            if left <= 0 or not self.recv_once(left):
                return

    def send(self, data):
        self.at_send.append(len(self.buf))
        for i in range(0, len(data), 16384):
            try:
                self.sock.sendall(data[i:i + 16384])
            except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as e:
                self.send_error = type(e).__name__
                return
            except socket.timeout:
                self.send_error = "send timed out (server not reading)"
                return
            if time.monotonic() > self.send_deadline:
                self.send_error = f"sending took over {SEND_LIMIT:.0f} s"
                return
            self.sent += data[i:i + 16384]
            while self.recv_once(0) and not self.closed:   # read while we write
                pass

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

class Wait:
    """A pause between pieces; with until_response it ends early on a new response."""

    def __init__(self, seconds, until_response=False):
        self.seconds, self.until_response = seconds, until_response

class Result:
    def __init__(self, conn, heads, t_sent, t_first):
        self.raw = bytes(conn.buf)
        self.sent = bytes(conn.sent)
        self.closed, self.reset = conn.closed, conn.reset
        self.send_error, self.at_send = conn.send_error, conn.at_send
        self.responses, self.rest, self.perr = parse_responses(self.raw, heads, conn.closed)
        self.finals = [r for r in self.responses if r.status >= 200]
        self.interims = [r for r in self.responses if r.status < 200]
        self.t_sent, self.t_first = t_sent, t_first
        audit(self, heads)

    def summary(self):
        got = ",".join(str(r.status) for r in self.responses) or "no response"
        state = "reset" if self.reset else "closed" if self.closed else "open"
        extra = f", send: {self.send_error}" if self.send_error else ""
        return f"got {got}, {state}{extra}"

def count_responses(conn, heads):
    return len(parse_responses(bytes(conn.buf), heads, False)[0])

def exchange(steps, heads=(), want=None, shut=False, gap=0.0):
    """Send steps (bytes, or a list of bytes / Wait), then read until EOF or timeout.

    want: stop reading once this many final responses are in (connection state
    is then unknown and reported as open).  shut: shutdown(SHUT_WR) after sending.
    gap: pause between consecutive byte pieces.
    """
    if isinstance(steps, (bytes, bytearray)):
        steps = [steps]
    c = Conn(nodelay=gap > 0)
    try:
        first = True
        for st in steps:
            if isinstance(st, Wait):
                n0 = count_responses(c, heads)
                c.pump(st.seconds,
                       (lambda: count_responses(c, heads) > n0) if st.until_response else None)
                continue
            if gap and not first:
                c.pump(gap)
            first = False
            c.send(st)
            if c.send_error:
                break
        if shut and not c.send_error:
            try:
                c.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        t_sent = time.monotonic()
        deadline, t_first = t_sent + READ_TIMEOUT, None
        while True:
            resps, rest, err = parse_responses(bytes(c.buf), heads, c.closed)
            nfin = sum(1 for r in resps if r.status >= 200)
            if nfin and t_first is None:
                t_first = time.monotonic()
            if c.closed or err or (want and nfin >= want):
                break
            now = time.monotonic()
            if now >= deadline:
                break
            wait = deadline - now
            if nfin and not rest:
                wait = min(wait, IDLE)
            if not c.recv_once(wait):
                break
        return Result(c, heads, t_sent, t_first)
    finally:
        c.close()

def audit(res, heads):
    """Record responses lacking Date, a framing header, or an HTTP/1.x version."""
    nfinal = -1
    for r in res.responses:
        if r.status < 200:
            continue
        nfinal += 1
        probs = []
        if r.version not in ("HTTP/1.1", "HTTP/1.0"):
            probs.append(f"version {r.version}")
        date = r.get("date")
        if date is None:
            probs.append("no Date")
        elif not date_ok(date):
            probs.append(f"bad Date {date!r}")
        has_cl, has_te = bool(r.all("content-length")), r.get("transfer-encoding") is not None
        if has_cl and has_te:
            probs.append("both Content-Length and Transfer-Encoding")
        if r.status == 204 and (has_cl or has_te):
            probs.append("framing header on 204")    # RFC 9110 8.6 / RFC 9112 6.1
        if nfinal not in heads and r.status not in (204, 304) and not (has_cl or has_te):
            probs.append("no Content-Length / chunked framing")
        if probs:
            VIOLATIONS.append((CURRENT, f"{r.status}: {', '.join(probs)}"))

def date_ok(value):
    try:
        time.strptime(value, "%a, %d %b %Y %H:%M:%S GMT")
        return True
    except ValueError:
        return False

# ---------------------------------------------------------------------------
# Request builders
# ---------------------------------------------------------------------------

J = b'{"name":"probe"}'                 # 16 = 0x10 bytes of valid JSON for POST /users

def req(start, *headers, body=b"", host=True, eol="\r\n"):
    """A request head (plus body); headers/start are str, latin-1 encoded."""
    lines = [start] + (["Host: probe"] if host else []) + list(headers)
    if isinstance(body, str):
        body = body.encode("latin-1")
    return (eol.join(lines) + eol + eol).encode("latin-1") + body

def post(*headers, body=J, start="POST /users HTTP/1.1"):
    return req(start, "Content-Type: application/json", *headers, body=body)

def chunked(*parts, trailer=b""):
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n" + trailer + b"\r\n"

def te(value, body=None):
    return post(f"Transfer-Encoding: {value}", body=chunked(J) if body is None else body)

def chunk_line(size_line):
    """A chunked body carrying J whose first size line is size_line."""
    return size_line + b"\r\n" + J + b"\r\n0\r\n\r\n"

def cl(value):
    return post(f"Content-Length: {value}")

FOLLOW = req("GET /users/after HTTP/1.1")       # pipelined probe for desync
FOLLOW10 = b"GET /users/after HTTP/1.0\r\n\r\n"
SMUGGLED = b"GET /users/smuggled HTTP/1.1\r\nHost: probe\r\n\r\n"
CLTE_BODY = b"0\r\n\r\n" + SMUGGLED
TECL_BODY = b"%x\r\n%s\r\n0\r\n\r\n" % (len(SMUGGLED), SMUGGLED)
BIG_CHUNKED = chunked(*([b"a" * 65536] * 17))    # 1.0625 MiB

# ---------------------------------------------------------------------------
# Expectations: each takes a Result and returns None (ok) or a reason string
# ---------------------------------------------------------------------------

def _codes(codes):
    out = set()
    for c in codes:
        out.update(c if isinstance(c, range) else [c])
    return out

def _fmt(codes):
    return "/".join("2xx" if isinstance(c, range) else str(c) for c in codes)

def status_in(*codes, i=0):
    allowed = _codes(codes)

    def f(r):
        if len(r.finals) <= i:
            return f"no response #{i + 1} (want {_fmt(codes)})"
        s = r.finals[i].status
        return None if s in allowed else f"response #{i + 1} is {s}, want {_fmt(codes)}"
    return f

def closed():
    return lambda r: None if r.closed else "connection left open, want close"

def kept_open():
    return lambda r: None if not r.closed else "server closed the connection, want keep-alive"

def n_final(k):
    return lambda r: None if len(r.finals) == k else f"{len(r.finals)} responses, want {k}"

def no_2xx():
    return lambda r: next((f"got {x.status} to an invalid request" for x in r.finals
                           if 200 <= x.status < 300), None)

def no_interim():
    return lambda r: f"unexpected {r.interims[0].status} interim response" if r.interims else None

def body_has(text, i=0):
    def f(r):
        if len(r.finals) <= i:
            return f"no response #{i + 1}"
        return None if text.encode() in r.finals[i].body else \
            f"body #{i + 1} lacks {text!r}: {r.finals[i].body[:80]!r}"
    return f

def no_body(i):
    return lambda r: None if len(r.finals) > i and not r.finals[i].body else \
        f"response #{i + 1} missing or has a body"

def header_has(name, text="", i=0):
    def f(r):
        if len(r.finals) <= i:
            return f"no response #{i + 1}"
        v = r.finals[i].get(name)
        if v is None:
            return f"response #{i + 1} lacks {name}"
        return None if text.lower() in v.lower() else f"{name}: {v!r} lacks {text!r}"
    return f

def same_header(name, i, j):
    def f(r):
        if len(r.finals) <= max(i, j):
            return "missing responses"
        a, b = r.finals[i].get(name), r.finals[j].get(name)
        return None if a == b and a is not None else f"{name} differs: {a!r} vs {b!r}"
    return f

def not_seen(text):
    return lambda r: f"a response mentions {text!r} (smuggled request was served)" \
        if text.encode() in r.raw else None

def prompt(seconds):
    def f(r):
        if r.t_first is None:
            return "no response"
        took = r.t_first - r.t_sent
        return None if took <= seconds else f"answer took {took:.2f}s (server waited for body?)"
    return f

def date_valid():
    return lambda r: None if r.finals and date_ok(r.finals[0].get("date") or "") else \
        "missing or non-IMF-fixdate Date"

def interim_before_body():
    def f(r):
        if len(r.at_send) < 2:
            return "body was never sent"
        early = parse_responses(r.raw[:r.at_send[1]])[0]
        return None if early and early[0].status == 100 else "no 100 Continue before the body"
    return f

def ALL(*fs):
    """All expectations hold; reports the first failure."""
    return lambda r: next((d for d in (g(r) for g in fs) if d), None)

def ANY(*fs):
    """At least one expectation holds (an RFC allows several behaviours)."""
    def f(r):
        ds = [g(r) for g in fs]
        return None if None in ds else " | ".join(ds)
    return f

def one(*codes):
    """Exactly one final response, with one of codes."""
    return ALL(status_in(*codes), n_final(1))

def bad(*codes):
    """Rejected with one of codes (default 400), exactly one response."""
    return one(*(codes or (400,)))

def frame_err(*codes):
    """Framing error: rejected, connection closed, pipelined follow-up not answered."""
    return ALL(status_in(*(codes or (400,))), n_final(1), closed())

def dropped():
    return ALL(n_final(0), closed())

def reject_or_drop(*codes):
    return ANY(bad(*codes), dropped())

def accepted(code=201):
    """Tested request answered with code, the pipelined FOLLOW with 200 'after'."""
    return ALL(status_in(code), n_final(2), status_in(200, i=1), body_has("after", i=1))

def consistent(ok=201, bad_codes=(400,)):
    """Either accepted (FOLLOW answered) or rejected (close, FOLLOW unanswered)."""
    def f(r):
        if not r.finals:
            return "no response"
        s = r.finals[0].status
        if s == ok:
            return accepted(ok)(r)
        if s in _codes(bad_codes):
            return frame_err(*bad_codes)(r)
        return f"status {s}, want {ok} (accepted) or {_fmt(bad_codes)} (rejected)"
    return f

def ok200(*more):
    return ALL(status_in(200), *more)

# ---------------------------------------------------------------------------
# Custom checks (return (reason or None, Result or None))
# ---------------------------------------------------------------------------

def health():
    try:
        r = exchange(req("GET / HTTP/1.1", "Connection: close"), want=1)
    except OSError as e:
        return f"GET / failed: {e}"
    return None if r.finals and r.finals[0].status == 200 else f"GET / -> {r.summary()}"

def check_health():
    return health(), None

def check_abrupt():
    end = time.monotonic() + 20
    for i in range(50):
        if time.monotonic() > end:
            return f"only {i} connections in 20 s", None
        s = socket.create_connection((HOST, PORT), timeout=CONNECT_TIMEOUT)
        try:
            if i % 3:
                s.sendall(b"GET /users/%d HTTP/1.1\r\nHost: pro" % i)
            if i % 2:   # close with RST instead of FIN
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            s.close()
    r = exchange(req("GET /users/alive HTTP/1.1"))
    return ok200(body_has("alive"))(r), r

def check_parallel():
    conns = [Conn() for _ in range(20)]
    try:
        for i, c in enumerate(conns):
            c.send(b"GET /users/p%d HTTP/1.1\r\n" % i)       # all mid-head at once
        for i, c in reversed(list(enumerate(conns))):
            c.send(b"Host: probe\r\n\r\n")
        for i, c in enumerate(conns):
            c.pump(READ_TIMEOUT, lambda: count_responses(c, ()) >= 1)
            r = Result(c, (), time.monotonic(), None)
            d = ok200(body_has(f'"p{i}"'))(r)
            if d:
                return f"connection {i}: {d}", r
        return None, None
    finally:
        for c in conns:
            c.close()

def check_invariants():
    if not VIOLATIONS:
        return None, None
    seen = "; ".join(f"{cid}: {p}" for cid, p in VIOLATIONS[:4])
    return f"{len(VIOLATIONS)} bad responses, e.g. {seen}", None

# ---------------------------------------------------------------------------
# The check table
# ---------------------------------------------------------------------------

class C:
    def __init__(self, id, desc, steps, expect=None, heads=(), shut=False, gap=0.0, fn=None):
        self.id, self.desc, self.steps, self.expect = id, desc, steps, expect
        self.heads, self.shut, self.gap, self.fn = heads, shut, gap, fn

def X(id, desc, fn):
    return C(id, desc, None, fn=fn)

def bytewise(data):
    return [data[i:i + 1] for i in range(len(data))]

G = "GET / HTTP/1.1"
CHECKS = [
    # --- 1. request line (RFC 9112 section 3) ---
    C("rl-valid", "plain GET / -> 200 JSON hello with a Date", req(G),
      ok200(body_has("Hello, World!"), header_has("content-type", "application/json"),
            date_valid())),
    C("rl-user-id", "GET /users/42 -> 200 with id", req("GET /users/42 HTTP/1.1"),
      ok200(body_has('"42"'), header_has("content-type", "json"))),
    # 'get' is a valid token, i.e. an unknown method (methods are case-sensitive, 9110 9.1)
    C("rl-method-lowercase", "'get' is an unknown method, never 200", req("get / HTTP/1.1"),
      one(400, 404, 405, 501)),
    C("rl-method-paren", "'(' in method", req("GE(T / HTTP/1.1"), bad()),
    C("rl-method-space", "space inside method", req("G T / HTTP/1.1"), bad()),
    C("rl-no-target", "missing request-target", req("GET HTTP/1.1"), reject_or_drop()),
    # 9112 3: recipients MAY split on any whitespace run, so 200 is legal if no desync
    C("rl-double-space", "two spaces between parts", req("GET  / HTTP/1.1") + FOLLOW,
      consistent(200)),
    C("rl-tab-separators", "tabs as separators", req("GET\t/\tHTTP/1.1") + FOLLOW,
      consistent(200)),
    C("rl-trailing-space", "space after version", req("GET / HTTP/1.1 ") + FOLLOW,
      consistent(200)),
    C("rl-no-version", "missing HTTP-version", req("GET / "), reject_or_drop()),
    C("rl-http09", "HTTP/0.9 style 'GET /'", b"GET /\r\n\r\n", reject_or_drop()),
    # 9110 2.5: a higher minor version is compatible; 505 also acceptable
    C("rl-http12", "HTTP/1.2 handled as 1.x", req("GET / HTTP/1.2"), one(200, 505)),
    C("rl-http20", "HTTP/2.0 request line -> 505", req("GET / HTTP/2.0"), one(505)),
    C("rl-http30", "HTTP/3.0 request line -> 505", req("GET / HTTP/3.0"), one(505)),
    C("rl-version-lowercase", "'http/1.1' (HTTP-name is case-sensitive)",
      req("GET / http/1.1"), bad()),
    C("rl-version-leading-zero", "'HTTP/01.1'", req("GET / HTTP/01.1"), bad()),
    # 9112 2.2: server SHOULD ignore at least one empty line before the request-line
    C("rl-leading-crlf", "one empty line before request", b"\r\n" + req(G), ok200()),
    C("rl-target-nul", "NUL in target", req("GET /\x00 HTTP/1.1"), bad()),
    C("rl-target-ctl", "0x01 in target", req("GET /a\x01b HTTP/1.1"), bad()),
    C("rl-target-space", "raw space in target", req("GET /a b HTTP/1.1"), bad()),
    C("rl-target-no-slash", "origin-form without leading /", req("GET users/1 HTTP/1.1"),
      bad()),
    # 9112 3.2.2: with absolute-form the target's authority wins and Host is ignored
    C("rl-absolute-form", "absolute-form target, other authority",
      req("GET http://other.example/users/7 HTTP/1.1"), ok200(body_has('"7"'))),
    C("rl-asterisk-options", "OPTIONS * -> 2xx", req("OPTIONS * HTTP/1.1"), one(OK2)),
    C("rl-asterisk-get", "GET * -> 400", req("GET * HTTP/1.1"), bad()),
    C("rl-authority-form-get", "authority-form on GET -> 400", req("GET probe:80 HTTP/1.1"),
      bad()),
    C("rl-target-414", "9000-byte target -> 414 + close",
      req("GET /" + "a" * 9000 + " HTTP/1.1"), ALL(one(414), closed())),
    C("rl-target-8000", "8000-byte target is under the limit -> 404",
      req("GET /" + "a" * 7999 + " HTTP/1.1"), one(404)),
    X("rl-health", "server healthy after request-line group", check_health),

    # --- 2. header fields (RFC 9112 section 5, RFC 9110 section 5) ---
    C("h-host-missing-11", "HTTP/1.1 without Host -> 400", req(G, host=False), bad()),
    C("h-host-missing-10", "HTTP/1.0 without Host -> 200", req("GET / HTTP/1.0", host=False),
      ok200()),
    C("h-host-dup-diff", "two different Host lines -> 400", req(G, "Host: other"), bad()),
    C("h-host-dup-same", "two identical Host lines -> 400 (9112 3.2)", req(G, "Host: probe"),
      bad()),
    # 9110 7.2: empty Host is allowed when the target has no authority; accept both
    C("h-host-empty", "empty Host value (200 or 400)", req(G, "Host:", host=False),
      one(200, 400)),
    C("h-space-before-colon", "whitespace before colon -> 400 (9112 5.1 MUST)",
      req(G, "X-A : 1"), bad()),
    # 9112 5.2: obs-fold MAY be replaced by SP instead of rejected
    C("h-obs-fold", "obs-fold continuation line", req(G, "X-A: 1", " 2") + FOLLOW,
      consistent(200)),
    # 9112 2.2: the line may be rejected or ignored; ignoring it leaves no Host -> 400 anyway
    C("h-ws-first-line", "whitespace-led line after request line",
      b"GET / HTTP/1.1\r\n Host: probe\r\n\r\n", bad()),
    # 9112 2.2 / 9110 5.5: bare CR and NUL may be rejected or replaced by SP
    C("h-bare-cr-value", "bare CR inside a value", req(G, "X-A: a\rb") + FOLLOW,
      consistent(200)),
    C("h-bare-cr-eol", "bare CR as line terminator", req(G, "X-A: 1\rX-B: 2") + FOLLOW,
      consistent(200)),
    C("h-nul-value", "NUL in a value", req(G, "X-A: a\x00b") + FOLLOW, consistent(200)),
    # 9110 5.5: other CTLs are invalid but MAY be retained
    C("h-ctl-value", "0x01 in a value", req(G, "X-A: a\x01b") + FOLLOW, consistent(200)),
    C("h-name-at", "'@' in field name", req(G, "X@Y: 1"), bad()),
    C("h-name-space", "space in field name", req(G, "X Y: 1"), bad()),
    C("h-no-colon", "header line without colon", req(G, "XY"), bad()),
    C("h-empty-name", "empty field name", req(G, ": x"), bad()),
    # 9112 2.2: a recipient MAY accept a bare LF as line terminator
    C("h-bare-lf", "bare-LF line endings (200 or 400, no desync)",
      req(G, eol="\n") + req("GET /users/after HTTP/1.1", eol="\n"), consistent(200)),
    # Complete whether or not bare LF is accepted, and nothing follows: a
    # server that waits for more gives no answer within READ_TIMEOUT.
    C("h-bare-lf-last", "CRLF lines, then a bare LF as the empty line (200 or 400 at once)",
      b"GET / HTTP/1.1\r\nHost: probe\r\n\n", one(200, 400)),
    C("h-fields-100", "100 header fields is the limit -> 200",
      req(G, *[f"X-H{i}: {i}" for i in range(99)]), ok200()),
    C("h-fields-101", "101 header fields -> 431",
      req(G, *[f"X-H{i}: {i}" for i in range(100)]), one(431)),
    C("h-section-60k", "60 KB header section -> 200",
      req(G, *[f"X-P{i:02}: " + "a" * 990 for i in range(60)]), ok200()),
    C("h-section-70k", "70 KB header section -> 431",
      req(G, *[f"X-P{i:02}: " + "a" * 990 for i in range(70)]), one(431)),
    C("h-value-66k", "single 66 KB value -> 431", req(G, "X-Big: " + "a" * 67000), one(431)),
    C("h-name-70k", "70 KB field name -> 431/400", req(G, "X" * 70000 + ": 1"), one(431, 400)),
    C("h-trailing-ws", "trailing whitespace in a value", req(G, "X-A: 1 \t"), ok200()),
    C("h-obs-text", "obs-text bytes 0x80-0xFF in a value", req(G, "X-A: caf\xe9 \xff\x80"),
      ok200()),
    X("h-health", "server healthy after header group", check_health),

    # --- 3. message framing and smuggling (RFC 9112 sections 6 and 7) ---
    C("f-cl-post", "POST /users with Content-Length -> 201 JSON", cl(16) + FOLLOW,
      ALL(accepted(), header_has("content-type", "json"))),
    C("f-chunked-post", "chunked POST /users, JSON split over chunks -> 201",
      te("chunked", chunked(J[:3], J[3:9], J[9:])) + FOLLOW, accepted()),
    C("f-bad-json", "bad JSON body -> 400", post("Content-Length: 8", body=J[:8]), bad()),
    C("f-get-with-body", "GET with a CL body, body skipped",
      req(G, "Content-Length: 5", body="hello") + FOLLOW, accepted(200)),
    C("f-cl-te", "Content-Length + Transfer-Encoding -> 400 + close",
      post("Content-Length: 16", "Transfer-Encoding: chunked", body=chunked(J)) + FOLLOW,
      frame_err()),
    C("f-cl-dup-diff", "two different Content-Length lines",
      post("Content-Length: 16", "Content-Length: 17") + FOLLOW, frame_err()),
    C("f-cl-list-diff", "Content-Length: 16, 17", cl("16, 17") + FOLLOW, frame_err()),
    # 9112 6.3 / 9110 8.6: identical repeated values MAY be accepted as one
    C("f-cl-list-same", "Content-Length: 16, 16 (400 or 201)", cl("16, 16") + FOLLOW,
      consistent()),
    C("f-cl-plus", "Content-Length: +16", cl("+16") + FOLLOW, frame_err()),
    C("f-cl-negative", "Content-Length: -1", cl("-1") + FOLLOW, frame_err()),
    C("f-cl-hex", "Content-Length: 0x10", cl("0x10") + FOLLOW, frame_err()),
    C("f-cl-inner-space", "Content-Length: ' 1 6'", cl(" 1 6") + FOLLOW, frame_err()),
    C("f-cl-suffix", "Content-Length: 16a", cl("16a") + FOLLOW, frame_err()),
    C("f-cl-empty", "empty Content-Length", cl("") + FOLLOW, frame_err()),
    # 9110 8.6: must not overflow; 413 is a fair answer to an absurd length
    C("f-cl-overflow", "25-digit Content-Length", cl("9" * 25) + FOLLOW, frame_err(400, 413)),
    # 9112 6.1: unknown/ill-ordered codings -> 501 or 400, and the connection must close
    C("f-te-chunked-identity", "TE: chunked, identity", te("chunked, identity") + FOLLOW,
      frame_err(400, 501)),
    C("f-te-identity", "TE: identity", te("identity") + FOLLOW, frame_err(400, 501)),
    C("f-te-gzip-chunked", "TE: gzip, chunked (unsupported coding)",
      te("gzip, chunked") + FOLLOW, frame_err(400, 501)),
    C("f-te-chunked-gzip", "TE: chunked, gzip (chunked not last)",
      te("chunked, gzip") + FOLLOW, frame_err(400, 501)),
    C("f-te-xchunked", "TE: xchunked", te("xchunked") + FOLLOW, frame_err(400, 501)),
    C("f-te-twice", "TE: chunked on two lines (= chunked, chunked)",
      post("Transfer-Encoding: chunked", "Transfer-Encoding: chunked", body=chunked(J))
      + FOLLOW, frame_err(400, 501)),
    C("f-te-space-colon", "'Transfer-Encoding : chunked' (9112 5.1 MUST 400)",
      post("Transfer-Encoding : chunked", body=chunked(J)) + FOLLOW, frame_err()),
    # trailing/leading OWS is not part of the value (9110 5.5)
    C("f-te-trailing-space", "TE: 'chunked ' (no desync)", te("chunked ") + FOLLOW,
      consistent(201, (400, 501))),
    C("f-te-leading-tab", "TE: <TAB>chunked", te("\tchunked") + FOLLOW, accepted()),
    # 9112 6.1: TE in HTTP/1.0 -> treat framing as faulty, close after processing
    C("f-te-http10", "TE chunked in an HTTP/1.0 request",
      post("Transfer-Encoding: chunked", body=chunked(J), start="POST /users HTTP/1.0")
      + FOLLOW10, ALL(status_in(400, 501, 201), n_final(1), closed())),
    C("f-chunk-0x", "chunk size '0x10'", te("chunked", chunk_line(b"0x10")) + FOLLOW,
      frame_err()),
    # chunk-size has no BWS unless an extension follows (9112 7.1); accept either way
    C("f-chunk-size-space", "chunk size '10 ' (no desync)",
      te("chunked", chunk_line(b"10 ")) + FOLLOW, consistent()),
    C("f-chunk-negative", "chunk size '-10'", te("chunked", chunk_line(b"-10")) + FOLLOW,
      frame_err()),
    C("f-chunk-plus", "chunk size '+10'", te("chunked", chunk_line(b"+10")) + FOLLOW,
      frame_err()),
    C("f-chunk-nonhex", "chunk size 'Z'", te("chunked", chunk_line(b"Z")) + FOLLOW,
      frame_err()),
    C("f-chunk-overflow", "20-hex-digit chunk size",
      te("chunked", chunk_line(b"f" * 20)) + FOLLOW, frame_err(400, 413)),
    # Payloads from differential-fuzzing reports against other servers: a
    # size some parsers read with a language's integer parser (`1_0` is 16
    # to Python's int(x, 16)), and a bare CR inside the chunk line.
    C("f-chunk-underscore", "chunk size '1_0'", te("chunked", chunk_line(b"1_0")) + FOLLOW,
      frame_err()),
    C("f-chunk-bare-cr-ext", "bare CR before a chunk extension ('10\\r;a')",
      te("chunked", chunk_line(b"10\r;a")) + FOLLOW, frame_err()),
    C("f-cl-underscore", "Content-Length: 1_6", cl("1_6") + FOLLOW, frame_err()),
    C("f-chunk-ext", "chunk extension ';a=b'", te("chunked", chunk_line(b"10;a=b")) + FOLLOW,
      accepted()),
    C("f-chunk-ext-quoted", "quoted chunk extension ';a=\"x;y\"'",
      te("chunked", chunk_line(b'10;a="x;y"')) + FOLLOW, accepted()),
    C("f-chunk-ext-huge", "10 KB chunk extension",
      te("chunked", chunk_line(b"10;a=" + b"b" * 10000)) + FOLLOW, frame_err(400, 413, 431)),
    C("f-chunk-data-long", "chunk data longer than declared",
      te("chunked", chunk_line(b"5")) + FOLLOW, frame_err()),
    C("f-chunk-no-crlf", "missing CRLF after chunk data",
      te("chunked", b"5\r\n" + J[:5] + b"b\r\n" + J[5:] + b"\r\n0\r\n\r\n") + FOLLOW,
      frame_err()),
    # 9112 2.2: bare LF MAY be accepted as a line terminator
    C("f-chunk-bare-lf", "bare LF after chunk size (no desync)",
      te("chunked", b"10\n" + J + b"\r\n0\r\n\r\n") + FOLLOW, consistent()),
    C("f-trailer", "trailer field after last chunk",
      te("chunked", chunked(J, trailer=b"X-T: 1\r\n")) + FOLLOW, accepted()),
    # 9112 5.2: obs-fold may be rejected or replaced with SP
    C("f-trailer-fold", "obs-fold inside trailer (no desync)",
      te("chunked", chunked(J, trailer=b"X-T: 1\r\n 2\r\n")) + FOLLOW, consistent()),
    C("f-cl-1mib", "body of exactly 1 MiB is within the limit",
      post("Content-Length: 1048576", body=J + b" " * (1048576 - len(J))) + FOLLOW,
      accepted()),
    C("f-cl-413", "Content-Length 1 MiB + 1 -> prompt 413 + close (body never sent)",
      post("Content-Length: 1048577", body=b""), ALL(one(413), closed(), prompt(1.5))),
    C("f-chunked-413", "chunked body over 1 MiB -> 413 + close",
      te("chunked", BIG_CHUNKED) + FOLLOW, frame_err(413)),
    C("f-smuggle-cl-te", "CL.TE smuggling payload",
      post(f"Content-Length: {len(CLTE_BODY)}", "Transfer-Encoding: chunked", body=CLTE_BODY)
      + FOLLOW, ALL(not_seen("smuggled"), frame_err())),
    C("f-smuggle-te-cl", "TE.CL smuggling payload",
      post("Transfer-Encoding: chunked", "Content-Length: 4", body=TECL_BODY) + FOLLOW,
      ALL(not_seen("smuggled"), frame_err())),
    X("f-health", "server healthy after framing group", check_health),

    # --- 4. connection management (RFC 9112 section 9, RFC 9110 section 10.1.1) ---
    C("c-keepalive", "two sequential requests on one connection",
      [req("GET /users/1 HTTP/1.1"), Wait(2, True), req("GET /users/2 HTTP/1.1")],
      ALL(n_final(2), status_in(200), status_in(200, i=1), body_has('"1"'),
          body_has('"2"', i=1), kept_open())),
    C("c-pipeline-3", "three pipelined requests answered in order",
      b"".join(req(f"GET /users/{i} HTTP/1.1") for i in (1, 2, 3)),
      ALL(n_final(3), *[body_has(f'"{i + 1}"', i) for i in range(3)])),
    C("c-pipeline-head", "pipelined GET, HEAD, GET: order kept, HEAD bodiless",
      req("GET /users/a HTTP/1.1") + req("HEAD /users/b HTTP/1.1") + req("GET /users/c HTTP/1.1"),
      ALL(n_final(3), status_in(200, i=1), no_body(1), body_has('"a"'), body_has('"c"', 2),
          same_header("content-length", 0, 1)), heads={1}),
    C("c-head", "HEAD / has GET's Content-Length and no body",
      req(G) + req("HEAD / HTTP/1.1"), ALL(n_final(2), status_in(200, i=1), no_body(1),
                                           same_header("content-length", 0, 1)), heads={1}),
    C("c-conn-close", "Connection: close -> response then EOF",
      req(G, "Connection: close") + FOLLOW, ALL(one(200), closed())),
    C("c-conn-close-upper", "Connection: CLOSE (case-insensitive)",
      req(G, "Connection: CLOSE") + FOLLOW, ALL(one(200), closed())),
    C("c-http10-close", "HTTP/1.0 without keep-alive -> close",
      req("GET / HTTP/1.0", host=False) + FOLLOW10, ALL(one(200), closed())),
    C("c-http10-keepalive", "HTTP/1.0 with Connection: keep-alive stays open",
      [req("GET /users/1 HTTP/1.0", "Connection: keep-alive"), Wait(2, True),
       req("GET /users/2 HTTP/1.0", "Connection: keep-alive")],
      ALL(n_final(2), status_in(200, i=1), header_has("connection", "keep-alive"),
          body_has('"2"', i=1))),
    C("c-bytewise", "request sent one byte at a time", bytewise(req("GET /users/slow HTTP/1.1")),
      ok200(body_has("slow")), gap=0.001),
    C("c-expect-100", "Expect: 100-continue -> 100 before body, then 201",
      [post("Content-Length: 16", "Expect: 100-continue", body=b""), Wait(2, True), J],
      ALL(interim_before_body(), status_in(201), n_final(1))),
    C("c-expect-100-413", "Expect: 100-continue with oversized CL -> 413, no 100",
      post("Content-Length: 2097152", "Expect: 100-continue", body=b""),
      ALL(no_interim(), one(413), prompt(1.5))),
    # 9110 10.1.1: a 100-continue expectation in an HTTP/1.0 request MUST be ignored
    C("c-expect-100-http10", "Expect: 100-continue on HTTP/1.0 -> no 100",
      [post("Content-Length: 16", "Expect: 100-continue", body=b"",
            start="POST /users HTTP/1.0"), Wait(1), J],
      ALL(no_interim(), status_in(201))),
    # 9110 10.1.1: other expectations MAY get 417; ignoring them (200) is also allowed
    C("c-expect-unknown", "Expect: foo -> 417 (or 400, or ignored)", req(G, "Expect: foo"),
      ALL(no_interim(), one(417, 400, 200))),
    C("c-404-keepalive", "a 404 does not end the connection",
      req("GET /nope HTTP/1.1") + FOLLOW, accepted(404)),
    C("c-405-allow", "DELETE / -> 405 with Allow listing GET", req("DELETE / HTTP/1.1"),
      ALL(one(405), header_has("allow", "GET"))),
    C("c-options", "OPTIONS / -> 2xx with Allow", req("OPTIONS / HTTP/1.1"),
      ALL(one(OK2), header_has("allow", "GET"))),
    X("c-health", "server healthy after connection group", check_health),

    # --- 5. robustness ---
    X("r-abrupt-50", "50 connections dropped mid-head, then GET works", check_abrupt),
    X("r-parallel-20", "20 concurrent connections interleaved mid-head", check_parallel),
    C("r-half-close", "SHUT_WR after a full request still gets the response", req(G),
      ok200(), shut=True),
    C("r-garbage", "TLS ClientHello bytes on the plain port",
      b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(32)) + b"\r\n\r\n",
      ALL(no_2xx(), reject_or_drop())),
    X("r-health", "server healthy at the end", check_health),
    X("inv-date-framing", "every response had Date, HTTP/1.x and framing", check_invariants),
]

# ---------------------------------------------------------------------------
# Runner
# ---------------------------------------------------------------------------

def show(label, data, limit=1500):
    text = repr(bytes(data[:limit]))
    print(f"    {label} ({len(data)} bytes): {text}{' ...' if len(data) > limit else ''}")

def run_check(chk, verbose, proc):
    global CURRENT
    CURRENT, res, detail = chk.id, None, None
    try:
        if chk.fn:
            detail, res = chk.fn()
        else:
            res = exchange(chk.steps, heads=chk.heads, shut=chk.shut, gap=chk.gap)
            detail, junk = chk.expect(res), None
            if res.perr:
                junk = f"unparseable response: {res.perr}"
            elif res.rest:
                what = "unparseable or truncated" if res.closed else "incomplete"
                junk = f"{what} response bytes: {res.rest[:40]!r}"
            if junk:
                detail = f"{detail}; {junk}" if detail else junk
    except OSError as e:
        detail = f"socket error: {e!r}"
    if chk.fn is not check_health:
        CURRENT = chk.id + "/health"
        h = health()
        if h and not detail:
            detail = f"server unhealthy afterwards: {h}"
    if proc is not None and proc.poll() is not None:
        detail = (detail or "") + f" [server process exited with {proc.returncode}]"
    ok = detail is None
    summary = res.summary() if res else ""
    shown = summary if ok else "; ".join(x for x in (detail, summary) if x)
    print(f"{'PASS' if ok else 'FAIL'} {chk.id} {chk.desc}" + (f" ({shown})" if shown else ""))
    if not ok and verbose and res is not None:
        show("sent", res.sent, 600)
        show("received", res.raw)
    sys.stdout.flush()
    return ok

def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port

def spawn(binary, port, log):
    """Start the server; return (Popen, None) or (Popen or None, error)."""
    env = dict(os.environ, PORT=str(port))
    out = open(log, "ab") if log else subprocess.DEVNULL
    try:
        proc = subprocess.Popen([binary], env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT if log else out)
    except OSError as e:
        return None, f"cannot start {binary}: {e}"
    finally:
        if log:
            out.close()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return proc, f"server exited with {proc.returncode} before accepting"
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return proc, None
        except OSError:
            time.sleep(0.1)
    return proc, f"port {port} not accepting after 15 s"

def stop(proc):
    """SIGTERM the spawned pid, wait 10 s, then SIGKILL. Returns a failure reason or None."""
    if proc.poll() is not None:
        return f"server had already exited with {proc.returncode}"
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
        return None
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
        return "still running 10 s after SIGTERM (killed)"

def main(argv=None):
    global PORT
    ap = argparse.ArgumentParser(description="HTTP/1.1 conformance probe for httpserver")
    target = ap.add_mutually_exclusive_group(required=True)
    target.add_argument("--port", type=int, help="probe a server on 127.0.0.1:PORT")
    target.add_argument("--spawn", metavar="BINARY", help="start BINARY with PORT=<free port>")
    ap.add_argument("--only", metavar="ID_SUBSTRING", default="", help="run matching checks")
    ap.add_argument("--verbose", action="store_true", help="print raw bytes on failure")
    ap.add_argument("--budget", type=float, default=300.0, help="seconds for all checks")
    ap.add_argument("--server-log", metavar="FILE", help="--spawn: server output file")
    args = ap.parse_args(argv)

    passed = failed = 0
    proc = None
    try:
        if args.spawn:
            PORT = free_port()
            proc, err = spawn(args.spawn, PORT, args.server_log)
            if err:
                print(f"FAIL spawn-start start {args.spawn} on port {PORT} ({err})")
                print("probe: 0 passed, 1 failed")
                return 1
        else:
            PORT = args.port
        deadline = time.monotonic() + args.budget
        for chk in CHECKS:
            if args.only not in chk.id:
                continue
            if time.monotonic() > deadline:
                print(f"FAIL {chk.id} {chk.desc} (not run: --budget exhausted)")
                failed += 1
                continue
            if run_check(chk, args.verbose, proc):
                passed += 1
            else:
                failed += 1
        if proc is not None:
            err = stop(proc)
            code = f"exit code {proc.returncode}"
            print(f"{'FAIL' if err else 'PASS'} spawn-sigterm server exits on SIGTERM "
                  f"({err or code})")
            passed, failed = passed + (not err), failed + bool(err)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    print(f"probe: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1

if __name__ == "__main__":
    sys.exit(main())
