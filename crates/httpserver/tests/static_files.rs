//! Static files over real sockets: large bodies through sendfile with slow
//! readers, keep-alive across file responses, and raw path-escape attempts
//! that must never return a byte from outside the root.

mod support;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use httpserver::handlers::StaticFiles;
use httpserver::Server;
use support::{config, read_response, TestServer};

struct Tree(PathBuf);

impl Tree {
    fn new(name: &str) -> Tree {
        let dir = std::env::temp_dir().join(format!("hs-it-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("www/sub")).unwrap();
        std::fs::write(dir.join("www/small.txt"), b"small file\n").unwrap();
        std::fs::write(dir.join("www/sub/a.txt"), b"a").unwrap();
        std::fs::write(dir.join("SECRET"), b"TOP-SECRET-OUTSIDE-ROOT").unwrap();
        Tree(dir)
    }

    fn root(&self) -> PathBuf {
        self.0.join("www")
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn serve(root: PathBuf, files: impl FnOnce(StaticFiles) -> StaticFiles) -> TestServer {
    let mut server = Server::new(config());
    server.get("/api/ping", |_: &httpserver::Request| "pong");
    server.files("/", files(StaticFiles::new(root)));
    TestServer::start(server)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn large_file_reaches_a_slow_reader_whole_while_others_are_served() {
    let t = Tree::new("large");
    let data = pattern(8 * 1024 * 1024 + 13);
    std::fs::write(t.root().join("big.bin"), &data).unwrap();
    let mut cfg = config();
    cfg.min_workers = 1;
    cfg.max_workers = 1;
    let mut server = Server::new(cfg);
    server.get("/api/ping", |_: &httpserver::Request| "pong");
    server.files("/", StaticFiles::new(t.root()));
    let srv = TestServer::start(server);

    let mut slow = srv.connect();
    slow.write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    // Read a little, then stall: the one worker must stay free.
    let mut first = [0u8; 4096];
    let n = slow.read(&mut first).unwrap();
    assert!(n > 0);
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    let mut other = srv.connect();
    other
        .write_all(b"GET /api/ping HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let r = read_response(&mut other);
    assert_eq!((r.status, r.body_text().as_str()), (200, "pong"));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "blocked behind the slow reader"
    );

    // Now read the rest slowly and check every byte.
    let mut got = first[..n].to_vec();
    let mut buf = vec![0u8; 64 * 1024];
    let head_end;
    loop {
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            head_end = i + 4;
            break;
        }
        let n = slow.read(&mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&got[..head_end]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("content-length: {}", data.len())),
        "{head}"
    );
    let mut body = got[head_end..].to_vec();
    while body.len() < data.len() {
        let n = slow.read(&mut buf).unwrap();
        assert!(n > 0, "closed after {} bytes", body.len());
        body.extend_from_slice(&buf[..n]);
    }
    assert_eq!(body.len(), data.len());
    assert!(body == data, "body differs");

    // The connection is still usable.
    slow.write_all(b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let r = read_response(&mut slow);
    assert_eq!(r.body, b"small file\n");
}

#[test]
fn ranges_and_head_over_keep_alive() {
    let t = Tree::new("ka");
    let data = pattern(100_000);
    std::fs::write(t.root().join("f.bin"), &data).unwrap();
    let srv = serve(t.root(), |f| f);
    let mut s = srv.connect();
    s.write_all(
        b"GET /f.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=50000-89999\r\n\r\n\
          HEAD /f.bin HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /api/ping HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .unwrap();
    let r = read_response(&mut s);
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-range"), Some("bytes 50000-89999/100000"));
    assert!(r.body == data[50_000..90_000]);
    // HEAD: the length of the whole file, no body (read_response would
    // block on a body, so read the head by hand).
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(
        head.to_ascii_lowercase().contains("content-length: 100000"),
        "{head}"
    );
    let r = read_response(&mut s);
    assert_eq!(r.body, b"small file\n");
    let r = read_response(&mut s);
    assert_eq!(r.body, b"pong");
}

/// Raw request targets that try to leave the root. None may answer with a
/// byte of the file outside it.
#[test]
fn path_escapes_never_leak() {
    let t = Tree::new("escape");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(t.0.join("SECRET"), t.root().join("link")).unwrap();
        std::os::unix::fs::symlink(&t.0, t.root().join("up")).unwrap();
    }
    let srv = serve(t.root(), |f| f.listing(true).hidden(true));
    let attempts = [
        "/../SECRET",
        "/sub/../../SECRET",
        "/%2e%2e/SECRET",
        "/%2E%2E/SECRET",
        "/.%2e/SECRET",
        "/%2e./SECRET",
        "/sub/%2e%2e/%2e%2e/SECRET",
        "/%2e%2e%2fSECRET",
        "/..%2fSECRET",
        "/..%2FSECRET",
        "/sub%2f..%2f..%2fSECRET",
        "/%252e%252e/SECRET",
        "/%252e%252e%252fSECRET",
        "/..%5cSECRET",
        "/..\\SECRET",
        "/sub\\..\\..\\SECRET",
        "/%5c..%5c..%5cSECRET",
        "/SECRET%00.txt",
        "/small.txt%00/../../SECRET",
        "/%00",
        "//..//SECRET",
        "/./../SECRET",
        "/%c0%ae%c0%ae/SECRET",
        "/%uff0e%uff0e/SECRET",
        "/link",
        "/up/SECRET",
        "/up/",
        "/up",
        "/sub/../../../../../../etc/passwd",
        "/C:/Windows/win.ini",
        "/C:%5cWindows",
    ];
    for target in attempts {
        let mut s = srv.connect();
        let req = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).unwrap();
        let mut all = Vec::new();
        let _ = s.read_to_end(&mut all);
        let text = String::from_utf8_lossy(&all);
        assert!(!text.contains("TOP-SECRET"), "{target} leaked:\n{text}");
        assert!(!text.contains("root:"), "{target} leaked /etc/passwd");
        let status: u16 = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        assert!(
            matches!(status, 400 | 403 | 404 | 308),
            "{target}: unexpected status {status}\n{text}"
        );
    }
    // A directory redirect never names another host (`//sub/` would).
    for target in ["//sub", "///sub", "/sub"] {
        let mut s = srv.connect();
        let req = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
        s.write_all(req.as_bytes()).unwrap();
        let r = read_response(&mut s);
        assert_eq!(r.status, 308, "{target}");
        assert_eq!(r.header("location"), Some("/sub/"), "{target}");
    }
    // The server still serves.
    let mut s = srv.connect();
    s.write_all(b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s).body, b"small file\n");
}
