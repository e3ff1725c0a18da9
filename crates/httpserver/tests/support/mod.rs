//! Shared helpers for the integration tests: start a server on a free
//! loopback port, send raw bytes, and parse what comes back.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use httpserver::response::ok;
use httpserver::{Request, RunningServer, Server, ServerConfig};

/// A config for tests: free port, small pool, no signal handlers.
pub fn config() -> ServerConfig {
    ServerConfig {
        port: 0,
        min_workers: 2,
        max_workers: 4,
        handle_signals: false,
        shutdown_timeout: Duration::from_secs(5),
        ..Default::default()
    }
}

/// A running server that is shut down when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    running: Option<RunningServer>,
}

impl TestServer {
    pub fn start(server: Server) -> TestServer {
        let running = server.start().expect("server starts");
        TestServer {
            addr: running.local_addr(),
            running: Some(running),
        }
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        s
    }

    pub fn handle(&self) -> httpserver::ShutdownHandle {
        self.running.as_ref().expect("running").shutdown_handle()
    }

    pub fn shutdown(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown_handle().shutdown();
        }
    }
}

/// A server with the routes most tests use.
pub fn app(config: ServerConfig) -> TestServer {
    let mut server = Server::new(config);
    routes(&mut server);
    TestServer::start(server)
}

pub fn routes(server: &mut Server) {
    server.get("/", |_req: &Request| ok("hello"));
    server.get("/users/:id", |req: &Request| {
        ok(format!("user {}", req.param("id").unwrap_or("")))
    });
    server.post("/echo", |req: &Request| ok(req.body().to_vec()));
    server.get("/sleep/:ms", |req: &Request| {
        let ms: u64 = req.param("ms").and_then(|m| m.parse().ok()).unwrap_or(0);
        std::thread::sleep(Duration::from_millis(ms));
        ok(format!("slept {ms}"))
    });
    // Computes (never sleeps) for the given time: a runnable thread.
    server.get("/spin/:ms", |req: &Request| {
        let ms: u64 = req.param("ms").and_then(|m| m.parse().ok()).unwrap_or(0);
        let end = std::time::Instant::now() + Duration::from_millis(ms);
        let mut n = 0u64;
        while std::time::Instant::now() < end {
            n = std::hint::black_box(n.wrapping_add(1));
        }
        ok(format!("spun {ms}"))
    });
    server.get("/panic", |_req: &Request| -> httpserver::Response {
        panic!("handler bug")
    });
}

/// What came back on one connection.
#[derive(Debug)]
pub struct Exchange {
    pub bytes: Vec<u8>,
    /// The server closed the connection (EOF or reset) before the timeout.
    pub closed: bool,
}

impl Exchange {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    pub fn responses(&self) -> Vec<Resp> {
        parse_responses(&self.bytes)
    }

    pub fn statuses(&self) -> Vec<u16> {
        self.responses().iter().map(|r| r.status).collect()
    }
}

/// How long [`read_all`] waits for the first byte of an answer. A right
/// answer comes long before; a loaded machine can take a while to start
/// one, and giving up early would look like no answer at all.
pub const FIRST_BYTE: Duration = Duration::from_secs(10);

/// Sends `bytes`, then reads until the server closes or `wait` passes with
/// nothing new (waiting up to [`FIRST_BYTE`] for the first byte).
pub fn exchange_with(addr: SocketAddr, bytes: &[u8], wait: Duration) -> Exchange {
    let mut s = TcpStream::connect(addr).expect("connect");
    let _ = s.write_all(bytes);
    read_all(&mut s, wait)
}

pub fn exchange(addr: SocketAddr, bytes: &[u8]) -> Exchange {
    exchange_with(addr, bytes, Duration::from_millis(500))
}

/// Reads until the server closes or `wait` passes with nothing new; for
/// the first byte it waits up to [`FIRST_BYTE`] (or `wait`, if longer).
pub fn read_all(s: &mut TcpStream, wait: Duration) -> Exchange {
    read_until_quiet(s, FIRST_BYTE.max(wait), wait)
}

/// Reads until the server closes, or nothing arrives for `first` before
/// the first byte or for `wait` after it. For a check that nothing is
/// sent, where waiting for a first byte would only make the test slow.
pub fn read_until_quiet(s: &mut TcpStream, first: Duration, wait: Duration) -> Exchange {
    s.set_read_timeout(Some(first)).expect("timeout");
    let mut out = Vec::new();
    let mut buf = [0u8; 16384];
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match s.read(&mut buf) {
            Ok(0) => {
                return Exchange {
                    bytes: out,
                    closed: true,
                }
            }
            Ok(n) => {
                if out.is_empty() {
                    s.set_read_timeout(Some(wait)).expect("timeout");
                }
                out.extend_from_slice(&buf[..n]);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Exchange {
                    bytes: out,
                    closed: false,
                }
            }
            Err(_) => {
                return Exchange {
                    bytes: out,
                    closed: true,
                }
            }
        }
        if Instant::now() > deadline {
            return Exchange {
                bytes: out,
                closed: false,
            };
        }
    }
}

/// Reads the head of one response from `s` byte by byte (so nothing after
/// it), for a response to HEAD, whose headers announce a body that is not
/// sent. Waits as long as the socket's read timeout allows.
pub fn read_head_response(s: &mut TcpStream) -> Resp {
    parse_head_response(&read_head_bytes(s)).0
}

/// The bytes of one response head, read byte by byte up to and including
/// its blank line; fails the test if the connection closes first.
fn read_head_bytes(s: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut byte).expect("read response head");
        assert!(
            n > 0,
            "closed before a full head: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    head
}

/// Polls `cond` every few milliseconds until it holds; fails the test,
/// naming `what`, if it does not within 10 s.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A gate a handler waits at until the test opens it, so a test can keep a
/// handler running for exactly as long as it needs instead of guessing a
/// duration. A handler waits at most [`Gate::CAP`], so a failed test never
/// keeps a worker for long. Dropping the last handle does not open it; use
/// [`Gate::opener`] for that.
#[derive(Clone, Debug, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    pub const CAP: Duration = Duration::from_secs(20);

    pub fn new() -> Gate {
        Gate::default()
    }

    /// Waits until the gate is open; false if [`Gate::CAP`] passed first.
    pub fn wait(&self) -> bool {
        let (lock, cvar) = &*self.0;
        let open = lock.lock().unwrap_or_else(|p| p.into_inner());
        let (open, _) = cvar
            .wait_timeout_while(open, Gate::CAP, |open| !*open)
            .unwrap_or_else(|p| p.into_inner());
        *open
    }

    pub fn open(&self) {
        let (lock, cvar) = &*self.0;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cvar.notify_all();
    }

    /// Opens the gate when dropped, so that handlers waiting at it return
    /// even when the test fails half way.
    pub fn opener(&self) -> GateOpener {
        GateOpener(self.clone())
    }
}

/// See [`Gate::opener`].
#[derive(Debug)]
pub struct GateOpener(Gate);

impl Drop for GateOpener {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// Reads exactly one response from `s` and nothing after it, so several
/// pipelined responses can be read one by one.
pub fn read_response(s: &mut TcpStream) -> Resp {
    let head = read_head_bytes(s);
    let mut byte = [0u8; 1];
    let mut resp = parse_responses(&head).remove(0);
    let interim = (100..200).contains(&resp.status);
    if interim || resp.status == 204 || resp.status == 304 {
        resp.complete = true;
        return resp;
    }
    if let Some(len) = resp
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).expect("read body");
        resp.body = body;
    } else if resp.header("transfer-encoding").is_some() {
        let mut body = Vec::new();
        loop {
            let mut line = Vec::new();
            while !line.ends_with(b"\r\n") {
                s.read_exact(&mut byte).expect("read chunk size");
                line.push(byte[0]);
            }
            let text = String::from_utf8_lossy(&line[..line.len() - 2]).into_owned();
            let size = usize::from_str_radix(text.split(';').next().unwrap_or(""), 16)
                .expect("chunk size");
            let mut data = vec![0u8; size + 2];
            s.read_exact(&mut data).expect("read chunk");
            body.extend_from_slice(&data[..size]);
            if size == 0 {
                break;
            }
        }
        resp.body = body;
    } else {
        let mut body = Vec::new();
        s.read_to_end(&mut body).expect("read to close");
        resp.body = body;
    }
    resp.complete = true;
    resp
}

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub complete: bool,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Parses a stream of responses. Bodies are framed by Content-Length or
/// chunked; 1xx, 204 and 304 have none; otherwise the body runs to the end.
/// A response to HEAD must be parsed with [`parse_head_response`].
pub fn parse_responses(mut data: &[u8]) -> Vec<Resp> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
            out.push(Resp {
                status: 0,
                headers: vec![],
                body: data.to_vec(),
                complete: false,
            });
            break;
        };
        let head = String::from_utf8_lossy(&data[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let mut rest = &data[end + 4..];
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
        };
        let mut complete = true;
        let body = if (100..200).contains(&status) || status == 204 || status == 304 {
            Vec::new()
        } else if let Some(cl) = get("content-length") {
            let n: usize = cl.parse().unwrap_or(0);
            if rest.len() < n {
                complete = false;
            }
            let n = n.min(rest.len());
            let b = rest[..n].to_vec();
            rest = &rest[n..];
            b
        } else if get("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
            let mut body = Vec::new();
            complete = false;
            while let Some(nl) = rest.windows(2).position(|w| w == b"\r\n") {
                let size = usize::from_str_radix(
                    std::str::from_utf8(&rest[..nl])
                        .unwrap_or("x")
                        .split(';')
                        .next()
                        .unwrap_or(""),
                    16,
                );
                let Ok(size) = size else { break };
                if rest.len() < nl + 2 + size + 2 {
                    break;
                }
                body.extend_from_slice(&rest[nl + 2..nl + 2 + size]);
                rest = &rest[nl + 2 + size + 2..];
                if size == 0 {
                    complete = true;
                    break;
                }
            }
            body
        } else {
            let b = rest.to_vec();
            rest = &[];
            b
        };
        out.push(Resp {
            status,
            headers,
            body,
            complete,
        });
        data = rest;
    }
    out
}

/// Parses one response to a HEAD request (no body whatever its headers say).
pub fn parse_head_response(data: &[u8]) -> (Resp, usize) {
    let end = data
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a full head")
        + 4;
    let mut r = parse_responses(&data[..end]).remove(0);
    r.body.clear();
    r.complete = true;
    (r, end)
}
