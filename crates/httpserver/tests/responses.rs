//! Response framing on the wire: streamed bodies (chunked on HTTP/1.1,
//! close-delimited on HTTP/1.0), large bodies, bodiless statuses, and the
//! write timeout for a client that stops reading.

mod support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use http::StatusCode;
use httpserver::{Request, Response, Server, ServerConfig, ServerState};
use support::*;

fn server(config: ServerConfig) -> TestServer {
    server_and_state(config).0
}

fn server_and_state(config: ServerConfig) -> (TestServer, ServerState) {
    let mut server = Server::new(config);
    server.get("/stream", |_req: &Request| {
        Response::default().with_reader(std::io::Cursor::new(b"streamed body".repeat(3)), None)
    });
    server.get("/sized-stream", |_req: &Request| {
        Response::default().with_reader(std::io::Cursor::new(vec![b'z'; 100_000]), Some(100_000))
    });
    server.get("/big", |_req: &Request| {
        Response::default().with_body("application/octet-stream", vec![b'b'; 8 << 20])
    });
    server.get("/no-content", |_req: &Request| {
        Response::new(StatusCode::NO_CONTENT).with_text("ignored")
    });
    server.get("/not-modified", |_req: &Request| StatusCode::NOT_MODIFIED);
    let state = server.state();
    (TestServer::start(server), state)
}

#[test]
fn streamed_body_is_chunked_on_http11() {
    let srv = server(config());
    let ex = exchange(
        srv.addr,
        b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\nGET /sized-stream HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let rs = ex.responses();
    assert_eq!(rs[0].header("transfer-encoding"), Some("chunked"));
    assert_eq!(rs[0].body, b"streamed body".repeat(3));
    assert_eq!(rs[1].header("content-length"), Some("100000"));
    assert_eq!(rs[1].body, vec![b'z'; 100_000]);
    assert!(!ex.closed);
}

#[test]
fn streamed_body_is_close_delimited_on_http10() {
    let srv = server(config());
    let ex = exchange(
        srv.addr,
        b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    );
    let rs = ex.responses();
    assert!(
        rs[0].header("transfer-encoding").is_none() && rs[0].header("content-length").is_none()
    );
    assert_eq!(rs[0].header("connection"), Some("close"));
    assert_eq!(rs[0].body, b"streamed body".repeat(3));
    assert!(ex.closed);
}

#[test]
fn bodiless_statuses_send_no_body() {
    let srv = server(config());
    let ex = exchange(
        srv.addr,
        b"GET /no-content HTTP/1.1\r\nHost: t\r\n\r\nGET /not-modified HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(ex.statuses(), [204, 304], "{}", ex.text());
    assert!(!ex.text().contains("ignored"));
    assert!(!ex.text().to_ascii_lowercase().contains("content-length"));
}

#[test]
fn large_body_arrives_whole() {
    let srv = server(config());
    let mut s = srv.connect();
    s.write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let r = read_response(&mut s);
    assert_eq!(r.body.len(), 8 << 20);
    assert!(r.body.iter().all(|&b| b == b'b'));
}

#[test]
fn a_client_that_stops_reading_is_dropped_after_the_write_timeout() {
    let (srv, state) = server_and_state(ServerConfig {
        write_timeout: Duration::from_millis(300),
        ..config()
    });
    let mut s = srv.connect();
    s.write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    // Not reading, wait until the server has taken the connection and then
    // dropped it (were it still writing, or keeping it alive, it would stay
    // open), ...
    wait_until("the server accepts the connection", || {
        state.stats().open_connections == 1
    });
    wait_until("the server drops the connection", || {
        state.stats().open_connections == 0
    });
    // ... then read: the server gave up, so fewer than 8 MiB arrive.
    let start = Instant::now();
    let mut total = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
        assert!(start.elapsed() < Duration::from_secs(10));
    }
    assert!(
        total < 8 << 20,
        "the whole body was sent to a client that did not read"
    );
}
