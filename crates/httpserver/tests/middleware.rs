//! Middleware over real sockets: access logs reach a file with every line
//! by the time a graceful shutdown returns, request ids are echoed and
//! logged, CORS preflights never reach the handler.

mod support;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use httpserver::middleware::{AllowOrigin, Cors, LogFormat, Logging, RequestIdLayer};
use httpserver::{Request, Server};
use support::{config, read_response, TestServer};

fn temp_log(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("hs-mw-{}-{name}.log", std::process::id()))
}

#[test]
fn every_access_line_is_on_disk_after_graceful_shutdown() {
    let path = temp_log("shutdown");
    let _ = std::fs::remove_file(&path);
    let mut server = Server::new(config());
    server.use_middleware(Logging::new(LogFormat::Json).to_file(&path).unwrap());
    server.use_middleware(RequestIdLayer::new());
    server.get("/n/:i", |req: &Request| {
        format!("{}\n", req.param("i").unwrap_or(""))
    });
    let server = TestServer::start(server);

    let clients: Vec<_> = (0..4)
        .map(|c| {
            let addr = server.addr;
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                    .unwrap();
                let mut ids = Vec::new();
                for i in 0..250 {
                    let id = format!("c{c}-r{i}");
                    // One write per request (write! would make several, and
                    // Nagle would hold the later ones back).
                    let req =
                        format!("GET /n/{i} HTTP/1.1\r\nHost: t\r\nX-Request-Id: {id}\r\n\r\n");
                    s.write_all(req.as_bytes()).unwrap();
                    let res = read_response(&mut s);
                    assert_eq!(res.status, 200);
                    assert_eq!(res.header("x-request-id"), Some(id.as_str()));
                    ids.push(id);
                }
                ids
            })
        })
        .collect();
    let mut sent: Vec<String> = clients
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    // Shut down right after the last answer: the buffered lines must still
    // all be written before shutdown returns.
    server.shutdown();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut logged: Vec<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("one JSON object per line");
            assert_eq!(v["status"], 200);
            assert!(v["remote"].as_str().unwrap().starts_with("127.0.0.1:"));
            v["request_id"].as_str().unwrap().to_string()
        })
        .collect();
    sent.sort();
    logged.sort();
    assert_eq!(logged.len(), 1000);
    assert_eq!(logged, sent);
    let _ = std::fs::remove_file(&path);
}

/// A request's time and duration count from the first bytes of its head:
/// a head sent in two parts 300 ms apart is logged with nearly 300 ms (not
/// the ~0 ms a clock started at the complete head would show), at the
/// wall-clock time its first part was sent. The lower bound leaves room for
/// the delay between the first write and the server's read of it, which the
/// server cannot see: on a busy machine that delay is a few milliseconds.
#[test]
fn duration_counts_from_the_heads_first_bytes() {
    let path = temp_log("arrival");
    let _ = std::fs::remove_file(&path);
    let mut server = Server::new(config());
    server.use_middleware(Logging::new(LogFormat::Json).to_file(&path).unwrap());
    server.get("/", |req: &Request| {
        let waited = req.received_at().map(|t| t.elapsed().as_millis());
        format!("{}\n", waited.map_or(-1, |ms| ms as i64))
    });
    let server = TestServer::start(server);
    let mut s = server.connect();
    s.set_nodelay(true).unwrap();
    let sent_at = std::time::SystemTime::now();
    s.write_all(b"GET / HTTP/1.1\r\nHo").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    s.write_all(b"st: t\r\n\r\n").unwrap();
    let res = read_response(&mut s);
    assert_eq!(res.status, 200);
    let waited: i64 = String::from_utf8_lossy(&res.body).trim().parse().unwrap();
    assert!((200..5000).contains(&waited), "handler saw {waited} ms");
    server.shutdown();
    let text = std::fs::read_to_string(&path).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    let ms = line["duration_ms"].as_f64().unwrap();
    assert!((200.0..5000.0).contains(&ms), "{line}");
    // "2026-12-01T20:41:07.123Z", within a second of when the head was sent.
    let time = line["time"].as_str().unwrap();
    let logged = httpdate_like(time);
    let sent = sent_at
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((logged - sent).abs() < 1.0, "{time} vs {sent}");
    let _ = std::fs::remove_file(&path);
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
fn httpdate_like(t: &str) -> f64 {
    let n = |r: std::ops::Range<usize>| t[r].parse::<i64>().unwrap();
    let (y, mo, d) = (n(0..4), n(5..7), n(8..10));
    // Days from civil (proleptic Gregorian).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19);
    secs as f64 + n(20..23) as f64 / 1000.0
}

#[test]
fn logs_404s_and_bad_ids_get_replaced() {
    let path = temp_log("404");
    let _ = std::fs::remove_file(&path);
    let mut server = Server::new(config());
    server.use_middleware(Logging::new(LogFormat::Combined).to_file(&path).unwrap());
    server.use_middleware(RequestIdLayer::new());
    server.get("/", |_: &Request| "hi\n");
    let server = TestServer::start(server);
    let mut s = server.connect();
    s.write_all(b"GET /missing?q=1 HTTP/1.1\r\nHost: t\r\nUser-Agent: probe \"x\"\r\nX-Request-Id: bad id\r\n\r\n")
        .unwrap();
    let res = read_response(&mut s);
    assert_eq!(res.status, 404);
    let id = res.header("x-request-id").unwrap().to_string();
    assert_eq!(id.len(), 16);
    server.shutdown();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("127.0.0.1 - - ["), "{text}");
    let tail = format!(
        "\"GET /missing?q=1 HTTP/1.1\" 404 {} \"-\" \"probe \\x22x\\x22\"\n",
        res.body.len()
    );
    assert!(text.ends_with(&tail), "{text}");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn preflights_are_answered_without_the_handler() {
    let hits = Arc::new(AtomicUsize::new(0));
    let mut server = Server::new(config());
    server.use_middleware(
        Cors::builder()
            .allow_origin(AllowOrigin::list(["https://app.test"]))
            .allow_methods([http::Method::GET, http::Method::PUT])
            .allow_headers(["content-type"])
            .build()
            .unwrap(),
    );
    let h = hits.clone();
    server.put("/items/:id", move |_: &Request| {
        h.fetch_add(1, Ordering::SeqCst);
        "stored\n"
    });
    let server = TestServer::start(server);
    let mut s = server.connect();
    s.write_all(
        b"OPTIONS /items/1 HTTP/1.1\r\nHost: t\r\nOrigin: https://app.test\r\n\
          Access-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: content-type\r\n\r\n\
          PUT /items/1 HTTP/1.1\r\nHost: t\r\nOrigin: https://app.test\r\nContent-Length: 0\r\n\r\n",
    )
    .unwrap();
    let pre = read_response(&mut s);
    assert_eq!(pre.status, 204);
    assert_eq!(
        pre.header("access-control-allow-origin"),
        Some("https://app.test")
    );
    assert_eq!(pre.header("access-control-allow-methods"), Some("GET, PUT"));
    assert_eq!(
        pre.header("access-control-allow-headers"),
        Some("content-type")
    );
    let put = read_response(&mut s);
    assert_eq!(put.status, 200);
    assert_eq!(
        put.header("access-control-allow-origin"),
        Some("https://app.test")
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // A preflight for a path with no OPTIONS route and another origin: 204,
    // no CORS headers, handler untouched.
    s.write_all(
        b"OPTIONS /items/2 HTTP/1.1\r\nHost: t\r\nOrigin: https://evil.test\r\n\
          Access-Control-Request-Method: PUT\r\n\r\n",
    )
    .unwrap();
    let denied = read_response(&mut s);
    assert_eq!(denied.status, 204);
    assert_eq!(denied.header("access-control-allow-origin"), None);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[test]
fn a_lone_request_is_on_disk_soon_without_a_shutdown() {
    let path = temp_log("lone");
    let _ = std::fs::remove_file(&path);
    let mut server = Server::new(config());
    server.use_middleware(Logging::new(LogFormat::Common).to_file(&path).unwrap());
    server.get("/", |_: &Request| "hi\n");
    let server = TestServer::start(server);
    let mut s = server.connect();
    s.write_all(b"GET /?lone=1 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s).status, 200);
    // The worker hands its staged line over before it waits again; the
    // flusher writes it within its interval (100 ms).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.contains("\"GET /?lone=1 HTTP/1.1\" 200 3") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "line not written: {text:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop(server);
    let _ = std::fs::remove_file(&path);
}
