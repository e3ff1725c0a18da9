//! Request deadlines over real sockets: a client whose handler overruns is
//! answered at the deadline while the handler runs on, the late response
//! never reaches the wire, pipelined answers stay in order, and the server
//! keeps serving everyone else.

mod support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use httpserver::middleware::Timeout;
use httpserver::{Request, Server, ServerConfig, ServerState};
use support::{config, read_response, wait_until, Gate, GateOpener, TestServer};

const LIMIT: Duration = Duration::from_millis(200);

/// A server whose `/slow` handler overruns: it waits until the test opens
/// `gate` (at most [`Gate::CAP`]), so everything the test checks while the
/// gate is closed happened before the handler returned.
struct Slow {
    server: TestServer,
    state: ServerState,
    gate: Gate,
    // Declared last: dropped after the server, it lets waiting handlers go.
    _opener: GateOpener,
}

fn server() -> Slow {
    // Enough handler slots for every overrun of a test at once, so none
    // waits in the queue for a handler that will not return.
    let mut server = Server::new(ServerConfig {
        max_workers: 8,
        ..config()
    });
    server.use_middleware(Timeout::new(LIMIT));
    let gate = Gate::new();
    {
        let gate = gate.clone();
        server.get("/slow", move |_: &Request| {
            gate.wait();
            "too late\n"
        });
    }
    server.get("/fast", |_: &Request| "quick\n");
    let state = server.state();
    Slow {
        server: TestServer::start(server),
        state,
        _opener: gate.opener(),
        gate,
    }
}

/// Everything until the server closes (or resets, or 5 s pass).
fn rest(s: &mut std::net::TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// Everything until the server closes; fails if it does not close within
/// the socket's read timeout.
fn rest_until_closed(s: &mut std::net::TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
            Err(e) => panic!("connection not closed ({e}) after {out:?}"),
        }
    }
}

#[test]
fn an_overrunning_handler_is_answered_at_the_deadline() {
    let slow = server();
    let server = &slow.server;
    let mut s = server.connect();
    let t = Instant::now();
    s.write_all(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let res = read_response(&mut s);
    let took = t.elapsed();
    assert_eq!(res.status, 503);
    assert_eq!(res.header("connection"), Some("close"));
    assert_eq!(res.header("retry-after"), Some("1"));
    assert_eq!(res.body_text(), "request timed out\n");
    // The handler is still waiting at the gate: answered at the deadline,
    // not when the handler returned.
    assert!(took >= LIMIT, "answered after {took:?}");
    // Meanwhile others are served.
    let mut other = server.connect();
    other
        .write_all(b"GET /fast HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut other).status, 200);
    // The late response can never arrive: the answer ended the connection
    // (the server shut its side right after writing it), before the
    // handler returned.
    assert!(rest_until_closed(&mut s).is_empty());
    slow.gate.open();
}

#[test]
fn handlers_in_time_are_untouched_and_keep_alive_goes_on() {
    let slow = server();
    let server = &slow.server;
    let mut s = server.connect();
    for _ in 0..200 {
        s.write_all(b"GET /fast HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let res = read_response(&mut s);
        assert_eq!(res.status, 200);
        assert_eq!(res.body_text(), "quick\n");
        assert_eq!(res.header("connection"), None);
    }
    // Much later than LIMIT after the first request, the connection still
    // works: finished deadlines are disarmed.
    std::thread::sleep(LIMIT * 2);
    s.write_all(b"GET /fast HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s).status, 200);
}

#[test]
fn pipelined_answers_stay_in_order() {
    let slow = server();
    let server = &slow.server;
    let mut s = server.connect();
    s.write_all(
        b"GET /fast HTTP/1.1\r\nHost: t\r\n\r\nGET /slow HTTP/1.1\r\nHost: t\r\n\r\nGET /fast HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .unwrap();
    let first = read_response(&mut s);
    assert_eq!((first.status, first.body_text().as_str()), (200, "quick\n"));
    let second = read_response(&mut s);
    assert_eq!(second.status, 503);
    // Nothing after the timeout answer: the third request is not served on
    // this connection.
    assert!(rest(&mut s).is_empty());
}

#[test]
fn head_gets_no_body_and_the_worker_comes_back() {
    let slow = server();
    let server = &slow.server;
    let mut s = server.connect();
    s.write_all(b"HEAD /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let bytes = rest_until_closed(&mut s);
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 503 "), "{text}");
    assert!(text.ends_with("\r\n\r\n"), "a body was sent: {text:?}");
    // Several overruns at once, more than the two workers: each gets its
    // answer while every handler still waits at the gate (the pool grows
    // for blocked workers), and afterwards the server is fine.
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let addr = server.addr;
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                s.write_all(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
                    .unwrap();
                read_response(&mut s).status
            })
        })
        .collect();
    for c in clients {
        assert_eq!(c.join().unwrap(), 503);
    }
    assert_eq!(
        slow.state.stats().busy_workers,
        5,
        "every overrun still runs"
    );
    // The handlers return; their workers come back.
    slow.gate.open();
    wait_until("the overrun handlers return", || {
        slow.state.stats().busy_workers == 0
    });
    let mut s = server.connect();
    s.write_all(b"GET /fast HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s).status, 200);
}
