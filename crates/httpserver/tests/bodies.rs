//! Request bodies: Content-Length, chunked (split in odd places, with
//! extensions and trailers), Expect: 100-continue, and body limits.

mod support;

use std::io::{Read, Write};
use std::time::Duration;

use httpserver::ServerConfig;
use support::*;

#[test]
fn content_length_body_is_read_even_when_sent_slowly() {
    let srv = app(config());
    let mut s = srv.connect();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello")
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    s.write_all(b" world").unwrap();
    let r = read_response(&mut s);
    assert_eq!((r.status, r.body_text().as_str()), (200, "hello world"));
}

#[test]
fn chunked_body_with_extensions_and_trailers() {
    let srv = app(config());
    let req = b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\nGET /users/next HTTP/1.1\r\nHost: t\r\n\r\n";
    // Sent in pieces at awkward places.
    let mut s = srv.connect();
    for piece in req.chunks(7) {
        s.write_all(piece).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let r = read_response(&mut s);
    assert_eq!(r.body_text(), "hello world");
    assert_eq!(read_response(&mut s).body_text(), "user next");
}

#[test]
fn large_bodies_echo_intact() {
    let srv = app(config());
    let body: Vec<u8> = (0..900_000u32).map(|i| (i % 251) as u8).collect();
    let mut s = srv.connect();
    write!(
        s,
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(&body).unwrap();
    let r = read_response(&mut s);
    assert_eq!(r.status, 200);
    assert!(r.body == body, "echoed body differs");
}

#[test]
fn expect_continue_is_answered_before_the_body_is_sent() {
    let srv = app(config());
    let mut s = srv.connect();
    s.write_all(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    let mut interim = [0u8; 25];
    s.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(b"ping").unwrap();
    let r = read_response(&mut s);
    assert_eq!((r.status, r.body_text().as_str()), (200, "ping"));
}

#[test]
fn expect_continue_is_not_sent_when_the_request_is_refused_early() {
    let srv = app(config());
    // Unknown route: 404 at once, no 100, connection closed (body unread).
    let ex = exchange(
        srv.addr,
        b"POST /nowhere HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
    );
    assert_eq!(ex.statuses(), [404], "{}", ex.text());
    assert!(ex.closed);
    // Too large: 413 at once.
    let ex = exchange(srv.addr, b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(ex.statuses(), [413]);
    assert!(ex.closed);
    // HTTP/1.0: the expectation is ignored, no 100.
    let ex = exchange(
        srv.addr,
        b"POST /echo HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nhi",
    );
    assert_eq!(ex.statuses(), [200]);
}

/// Framing may be many times the body it carries: one-byte chunks take six
/// bytes each. The raw chunks are dropped as they are decoded, so such a
/// body within the limit is served however long its framing is, with the
/// request pipelined behind it.
#[test]
fn a_body_of_tiny_chunks_is_served_whatever_its_framing_costs() {
    let srv = app(ServerConfig {
        max_body_size: 64 * 1024,
        ..config()
    });
    let mut req = b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let mut body = Vec::new();
    for i in 0..60_000u32 {
        let b = b'a' + (i % 26) as u8;
        req.extend_from_slice(&[b'1', b'\r', b'\n', b, b'\r', b'\n']);
        body.push(b);
    }
    req.extend_from_slice(b"0\r\n\r\nGET /users/next HTTP/1.1\r\nHost: t\r\n\r\n");
    // 360 KB on the wire for 60 KB of body: more than the head limit and
    // twice the body limit together.
    assert!(req.len() > 64 * 1024 + 2 * 64 * 1024 + 64 * 1024);
    let mut s = srv.connect();
    let writer = {
        let mut s = s.try_clone().unwrap();
        std::thread::spawn(move || s.write_all(&req))
    };
    let r = read_response(&mut s);
    assert_eq!(r.status, 200);
    assert!(r.body == body, "echoed body differs");
    assert_eq!(read_response(&mut s).body_text(), "user next");
    writer.join().unwrap().unwrap();
}

#[test]
fn oversized_bodies_get_413_and_close() {
    let srv = app(ServerConfig {
        max_body_size: 1000,
        ..config()
    });
    let ex = exchange(
        srv.addr,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n",
    );
    assert_eq!(ex.statuses(), [413]);
    assert!(ex.closed);
    let mut chunked =
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        chunked.extend_from_slice(b"190\r\n");
        chunked.extend_from_slice(&[b'a'; 400]);
        chunked.extend_from_slice(b"\r\n");
    }
    let ex = exchange(srv.addr, &chunked);
    assert_eq!(ex.statuses(), [413]);
    assert!(ex.closed);
    // Nothing is sent: wait half a second, not for a first byte.
    let mut s = srv.connect();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n")
        .unwrap();
    let ex = read_until_quiet(
        &mut s,
        Duration::from_millis(500),
        Duration::from_millis(500),
    );
    assert!(ex.statuses().is_empty(), "waits for the rest of the body");
}

#[test]
fn requests_sent_one_byte_at_a_time() {
    let srv = app(config());
    let req: &[u8] = b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhelloPOST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    let mut s = srv.connect();
    s.set_nodelay(true).unwrap();
    for b in req {
        s.write_all(std::slice::from_ref(b)).unwrap();
        std::thread::sleep(Duration::from_micros(300));
    }
    assert_eq!(read_response(&mut s).body_text(), "hello");
    assert_eq!(read_response(&mut s).body_text(), "abc");
}
