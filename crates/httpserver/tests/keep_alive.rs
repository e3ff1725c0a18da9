//! Connection management: keep-alive, pipelining, HTTP/1.0, Connection:
//! close, HEAD, and the request-count limit.

mod support;

use std::io::Write;
use std::time::Duration;

use support::*;

#[test]
fn keep_alive_serves_sequential_requests_on_one_connection() {
    let srv = app(config());
    let mut s = srv.connect();
    for id in 1..=5 {
        write!(s, "GET /users/{id} HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        let r = read_response(&mut s);
        assert_eq!(r.status, 200);
        assert_eq!(r.body_text(), format!("user {id}"));
        assert!(
            r.header("connection").is_none(),
            "1.1 keep-alive is implicit"
        );
        assert!(r.header("date").is_some());
    }
}

#[test]
fn three_pipelined_requests_in_one_write_are_answered_in_order() {
    let srv = app(config());
    let ex = exchange(
        srv.addr,
        b"GET /users/1 HTTP/1.1\r\nHost: t\r\n\r\nGET /users/2 HTTP/1.1\r\nHost: t\r\n\r\nGET /users/3 HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let bodies: Vec<String> = ex.responses().iter().map(Resp::body_text).collect();
    assert_eq!(bodies, ["user 1", "user 2", "user 3"]);
    assert!(!ex.closed, "the connection stays open");
}

#[test]
fn pipelined_responses_wait_for_a_slow_one_and_keep_order() {
    let srv = app(config());
    let ex = exchange_with(
        srv.addr,
        b"GET /sleep/200 HTTP/1.1\r\nHost: t\r\n\r\nGET /users/after HTTP/1.1\r\nHost: t\r\n\r\n",
        Duration::from_secs(2),
    );
    let bodies: Vec<String> = ex.responses().iter().map(Resp::body_text).collect();
    assert_eq!(bodies, ["slept 200", "user after"]);
}

#[test]
fn connection_close_ends_the_connection_and_ignores_what_follows() {
    let srv = app(config());
    let ex = exchange(
        srv.addr,
        b"GET /users/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /users/2 HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let rs = ex.responses();
    assert_eq!(rs.len(), 1, "{}", ex.text());
    assert_eq!(rs[0].header("connection"), Some("close"));
    assert!(ex.closed);
}

#[test]
fn http10_closes_by_default_and_keeps_alive_on_request() {
    let srv = app(config());
    let ex = exchange(srv.addr, b"GET /users/1 HTTP/1.0\r\n\r\n");
    assert_eq!(ex.statuses(), [200]);
    assert!(ex.text().starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(ex.closed);

    let mut s = srv.connect();
    s.write_all(b"GET /users/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    let r = read_response(&mut s);
    assert_eq!(r.header("connection"), Some("keep-alive"));
    s.write_all(b"GET /users/2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s).body_text(), "user 2");
}

#[test]
fn head_has_get_headers_and_no_body() {
    let srv = app(config());
    let ex = exchange(
        srv.addr,
        b"HEAD /users/abc HTTP/1.1\r\nHost: t\r\n\r\nGET /users/x HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let (head, used) = parse_head_response(&ex.bytes);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some("8"),
        "the GET body length"
    );
    let rest = parse_responses(&ex.bytes[used..]);
    assert_eq!(rest.len(), 1, "no body bytes between: {}", ex.text());
    assert_eq!(rest[0].body_text(), "user x");
}

#[test]
fn not_found_method_not_allowed_and_options() {
    let srv = app(config());
    let ex = exchange(srv.addr, b"GET /nope HTTP/1.1\r\nHost: t\r\n\r\nDELETE /echo HTTP/1.1\r\nHost: t\r\n\r\nOPTIONS /echo HTTP/1.1\r\nHost: t\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: t\r\n\r\nFOO /echo HTTP/1.1\r\nHost: t\r\n\r\nGET /users/after HTTP/1.1\r\nHost: t\r\n\r\n");
    let rs = ex.responses();
    assert_eq!(
        ex.statuses(),
        [404, 405, 204, 204, 501, 200],
        "{}",
        ex.text()
    );
    assert_eq!(rs[1].header("allow"), Some("OPTIONS, POST"));
    assert_eq!(rs[2].header("allow"), Some("OPTIONS, POST"));
    // The methods the routes take, not a fixed list.
    assert_eq!(rs[3].header("allow"), Some("GET, HEAD, POST, OPTIONS"));
    assert_eq!(rs[5].body_text(), "user after");
    assert!(!ex.closed);
}

#[test]
fn max_requests_per_connection_closes_after_the_limit() {
    let srv = app(ServerConfig {
        max_requests_per_connection: 2,
        ..config()
    });
    let ex = exchange(
        srv.addr,
        b"GET /users/1 HTTP/1.1\r\nHost: t\r\n\r\nGET /users/2 HTTP/1.1\r\nHost: t\r\n\r\nGET /users/3 HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let rs = ex.responses();
    assert_eq!(rs.len(), 2);
    assert_eq!(rs[1].header("connection"), Some("close"));
    assert!(ex.closed);
}

use httpserver::ServerConfig;

#[test]
fn half_closed_client_still_gets_its_response() {
    let srv = app(config());
    let mut s = srv.connect();
    s.write_all(b"GET /users/hc HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let ex = read_all(&mut s, Duration::from_secs(2));
    assert_eq!(ex.responses()[0].body_text(), "user hc");
    assert!(
        ex.closed,
        "the server closes its side after answering a half-closed client"
    );
}

/// Two requests sent in pieces split at many points (the second one's
/// head starting in the same write as the first one's end) are answered
/// in order: whether a head is parsed at the first look or after more
/// bytes arrive, the connection stays in step.
#[test]
fn heads_split_across_writes_are_answered_in_order() {
    let srv = app(config());
    let wire = b"GET /users/1 HTTP/1.1\r\nHost: t\r\n\r\nGET /users/2 HTTP/1.1\r\nHost: t\r\n\r\n";
    for cut in [1, 5, 13, 22, 23, 30, 33, 34, 35, 40, 50, 66] {
        let mut s = srv.connect();
        s.set_nodelay(true).unwrap();
        s.write_all(&wire[..cut]).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        s.write_all(&wire[cut..]).unwrap();
        let ex = read_all(&mut s, Duration::from_millis(300));
        let bodies: Vec<String> = ex.responses().iter().map(|r| r.body_text()).collect();
        assert_eq!(bodies, ["user 1", "user 2"], "cut at {cut}: {}", ex.text());
    }
}

/// A head that is incomplete but already malformed is answered 400 at once,
/// without waiting for the rest or for the head timeout.
#[test]
fn an_incomplete_but_malformed_head_is_refused_at_once() {
    let srv = app(config());
    let mut s = srv.connect();
    s.write_all(b"G(T /users/1 HTTP/1.1\r\nHost: t\r\n")
        .unwrap();
    let start = std::time::Instant::now();
    let ex = read_all(&mut s, Duration::from_millis(300));
    assert_eq!(ex.statuses(), [400], "{}", ex.text());
    assert!(ex.closed);
    assert!(start.elapsed() < Duration::from_secs(5));
}
