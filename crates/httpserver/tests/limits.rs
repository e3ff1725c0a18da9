//! Malformed and oversized requests: each gets its status and a closed
//! connection, and nothing pipelined behind it is answered.

mod support;

use httpserver::ServerConfig;
use support::*;

/// (request bytes, expected status). A `GET /users/smuggled` follows each
/// one on the same connection and must never be answered.
const CASES: &[(&[u8], u16)] = &[
    (b"GET / HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX@Y: 1\r\n\r\n", 400),
    (b"GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    (b"GET / HTTP/1.1\nHost: a\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    (b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    (b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n", 400),
    (b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n", 417),
    (b"GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400),
    (b"GET http://a:b/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
];

#[test]
fn each_malformed_request_gets_its_status_and_a_closed_connection() {
    let srv = app(config());
    for &(bad, status) in CASES {
        let mut bytes = bad.to_vec();
        bytes.extend_from_slice(b"GET /users/smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
        let ex = exchange(srv.addr, &bytes);
        let rs = ex.responses();
        assert_eq!(
            ex.statuses(),
            [status],
            "{:?} -> {}",
            String::from_utf8_lossy(bad),
            ex.text()
        );
        assert_eq!(rs[0].header("connection"), Some("close"));
        assert!(
            ex.closed,
            "{:?} left the connection open",
            String::from_utf8_lossy(bad)
        );
        assert!(!ex.text().contains("user smuggled"));
    }
    // The server still serves everyone else.
    assert_eq!(
        exchange(srv.addr, b"GET /users/ok HTTP/1.1\r\nHost: a\r\n\r\n").statuses(),
        [200]
    );
}

/// A head that ends in a way no request can is answered at once, though
/// the client sends nothing more and keeps its side open: the 400 comes
/// long before the head timeout would give a 408.
#[test]
fn a_dead_end_head_is_answered_without_more_input() {
    let srv = app(ServerConfig {
        head_timeout: std::time::Duration::from_secs(60),
        ..config()
    });
    for bad in [
        &b"GET / HTTP/1.1\r\nHost: a\r\n\n"[..],
        b"GET / HTTP/1.1\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n ",
        b"GET / HTTP/x",
    ] {
        let ex = exchange(srv.addr, bad);
        assert_eq!(ex.statuses(), [400], "{:?}", String::from_utf8_lossy(bad));
        assert!(ex.closed, "{:?}", String::from_utf8_lossy(bad));
    }
}

/// The same when the head comes in two writes and the dead end is in the
/// second: the server has already seen an incomplete head by then. The
/// last case is a head past the size up to which it is parsed on every
/// read, where a length that passes a power of two brings the next parse.
#[test]
fn a_dead_end_in_a_later_read_is_answered_without_more_input() {
    use std::io::Write;
    let srv = app(ServerConfig {
        head_timeout: std::time::Duration::from_secs(60),
        ..config()
    });
    let long = format!("GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n", "a".repeat(7000));
    let cases: [(&[u8], &[u8], u16); 6] = [
        (b"GET / HTTP/1.1\r\nHost: a\r\n", b" ", 400),
        (b"GET / HTTP/", b"x", 400),
        (b"GET / HTTP/2", b".0", 505),
        (b"GET / HTTP/1.1\r\nHost: a\r\n", b"@", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\n", b"\n", 400),
        (long.as_bytes(), &[b' '; 1200], 400),
    ];
    for (first, second, status) in cases {
        let mut s = srv.connect();
        s.set_nodelay(true).expect("nodelay");
        s.write_all(first).expect("write");
        // Long enough for the server to read the first part on its own.
        std::thread::sleep(std::time::Duration::from_millis(100));
        s.write_all(second).expect("write");
        let ex = read_all(&mut s, std::time::Duration::from_millis(500));
        let what = String::from_utf8_lossy(&first[..first.len().min(40)]);
        assert_eq!(
            ex.statuses(),
            [status],
            "{what:?} then {:?}",
            String::from_utf8_lossy(second)
        );
        assert!(ex.closed, "{what:?}");
    }
}

#[test]
fn size_limits_give_414_and_431() {
    let srv = app(ServerConfig {
        max_request_line: 1024,
        max_head_size: 4096,
        max_headers: 20,
        ..config()
    });
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(1100));
    let ex = exchange(srv.addr, long_target.as_bytes());
    assert_eq!(ex.statuses(), [414]);
    assert!(ex.closed);
    // 414 also when the line has not ended yet.
    let ex = exchange(srv.addr, format!("GET /{}", "a".repeat(2000)).as_bytes());
    assert_eq!(ex.statuses(), [414]);

    let big = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
        "v".repeat(5000)
    );
    let ex = exchange(srv.addr, big.as_bytes());
    assert_eq!(ex.statuses(), [431]);
    assert!(ex.closed);
    let many: String = (0..25).map(|i| format!("X-{i}: v\r\n")).collect();
    let ex = exchange(
        srv.addr,
        format!("GET / HTTP/1.1\r\nHost: a\r\n{many}\r\n").as_bytes(),
    );
    assert_eq!(ex.statuses(), [431]);

    // A method longer than the line may be: 501, not 414 (RFC 9112 section 3).
    let ex = exchange(srv.addr, "M".repeat(1100).as_bytes());
    assert_eq!(ex.statuses(), [501]);
    assert!(ex.closed);
    let ex = exchange(
        srv.addr,
        format!("{} / HTTP/1.1\r\n\r\n", "M".repeat(1100)).as_bytes(),
    );
    assert_eq!(ex.statuses(), [501]);
    // A long method that fits, after empty lines (which are skipped and
    // not counted): the line is too long, 414.
    let ex = exchange(
        srv.addr,
        format!("\r\n\r\n\r\n\r\n{} /{}", "M".repeat(1020), "a".repeat(100)).as_bytes(),
    );
    assert_eq!(ex.statuses(), [414]);

    let fits = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(1000));
    assert_eq!(exchange(srv.addr, fits.as_bytes()).statuses(), [404]);
}
