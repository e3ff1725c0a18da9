//! Compression over real sockets: bodies from 0 bytes to 50 MiB decompress
//! to the original byte for byte with every coding built in, a 50 MiB
//! stream is compressed as it is sent (the process's peak memory does not
//! grow by anything near the body's size), and ranges and HEAD go out
//! uncompressed. One test in this binary, so the memory figure is its own.
#![cfg(feature = "gzip")]

mod support;

use std::io::{Read, Write};

use httpserver::handlers::StaticFiles;
use httpserver::middleware::{Coding, Compression};
use httpserver::{Request, Response, Server};
use support::{config, read_response, TestServer};

/// A deterministic, compressible text of `len` bytes, made as it is read.
struct Lines {
    left: u64,
    n: u64,
    pending: Vec<u8>,
}

impl Lines {
    fn new(len: u64) -> Lines {
        Lines {
            left: len,
            n: 0,
            pending: Vec::new(),
        }
    }
}

impl Read for Lines {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        if self.pending.is_empty() {
            self.n += 1;
            self.pending = format!(
                "{{\"line\": {}, \"text\": \"lorem ipsum dolor\"}}\n",
                self.n
            )
            .into_bytes();
        }
        let n = buf.len().min(self.pending.len()).min(self.left as usize);
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        self.left -= n as u64;
        Ok(n)
    }
}

fn decoder<'a>(coding: &str, data: &'a [u8]) -> Box<dyn Read + 'a> {
    match coding {
        "gzip" => Box::new(flate2::read::GzDecoder::new(data)),
        #[cfg(feature = "br")]
        "br" => Box::new(brotli::Decompressor::new(data, 4096)),
        #[cfg(feature = "zstd")]
        "zstd" => Box::new(zstd::stream::read::Decoder::new(data).unwrap()),
        other => panic!("unexpected coding {other}"),
    }
}

/// Compares two readers to the end without holding either whole.
fn same(mut a: impl Read, mut b: impl Read) -> u64 {
    let (mut x, mut y) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    let mut total = 0;
    loop {
        let n = a.read(&mut x).unwrap();
        if n == 0 {
            assert_eq!(b.read(&mut y[..1]).unwrap(), 0, "original is longer");
            return total;
        }
        b.read_exact(&mut y[..n]).unwrap();
        assert!(x[..n] == y[..n], "bytes differ after {total}");
        total += n as u64;
    }
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn get(server: &TestServer, path: &str, accept: &str, method: &str) -> support::Resp {
    let mut s = server.connect();
    let req = format!("{method} {path} HTTP/1.1\r\nHost: t\r\nAccept-Encoding: {accept}\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    if method == "HEAD" {
        // The head only, read byte by byte, waiting as long as the
        // connection's read timeout allows.
        return support::read_head_response(&mut s);
    }
    read_response(&mut s)
}

#[test]
fn compressed_bodies_round_trip_and_stream_in_bounded_memory() {
    let root = std::env::temp_dir().join(format!("hs-compress-files-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let mut page = Vec::new();
    Lines::new(300_000).read_to_end(&mut page).unwrap();
    std::fs::write(root.join("page.html"), &page).unwrap();

    let mut server = Server::new(config());
    server.use_middleware(Compression::new());
    server.get("/sized/:n", |req: &Request| {
        let n: u64 = req.param("n").and_then(|n| n.parse().ok()).unwrap_or(0);
        let mut body = Vec::new();
        Lines::new(n).read_to_end(&mut body).unwrap_or_default();
        Response::new(http::StatusCode::OK).with_owned_body("text/plain", body)
    });
    server.get("/stream/:n", |req: &Request| {
        let n: u64 = req.param("n").and_then(|n| n.parse().ok()).unwrap_or(0);
        Response::new(http::StatusCode::OK)
            .with_header("content-type", "application/x-ndjson")
            .with_reader(Lines::new(n), None)
    });
    server.files("/files", StaticFiles::new(&root));
    let server = TestServer::start(server);

    let codings: Vec<Coding> = [Coding::Zstd, Coding::Brotli, Coding::Gzip]
        .into_iter()
        .filter(|c| c.available())
        .collect();
    // curl --compressed offers every coding it was built with.
    let curl = "deflate, gzip, br, zstd";
    for n in [0u64, 1, 1023, 1024, 4096, 300_000, 1 << 20] {
        for accept in codings.iter().map(|c| c.token()).chain([curl]) {
            let res = get(&server, &format!("/sized/{n}"), accept, "GET");
            assert_eq!(res.status, 200);
            match res.header("content-encoding") {
                None => {
                    assert!(n < 1024, "{n} bytes not compressed for {accept}");
                    assert_eq!(same(&res.body[..], Lines::new(n)), n);
                }
                Some(c) => {
                    assert!(n >= 1024);
                    assert!(accept.contains(c), "{c} not offered in {accept}");
                    assert_eq!(same(decoder(c, &res.body), Lines::new(n)), n, "{c} {n}");
                }
            }
        }
    }

    // 50 MiB generated as it is sent, for each coding.
    const BIG: u64 = 50 << 20;
    let before = peak_rss_kib();
    for c in &codings {
        let res = get(&server, &format!("/stream/{BIG}"), c.token(), "GET");
        assert_eq!(res.header("content-encoding"), Some(c.token()));
        assert_eq!(res.header("transfer-encoding"), Some("chunked"));
        assert!(
            res.body.len() < (BIG / 4) as usize,
            "{c:?}: {} bytes",
            res.body.len()
        );
        assert_eq!(
            same(decoder(c.token(), &res.body), Lines::new(BIG)),
            BIG,
            "{c:?}"
        );
    }
    let grew_mib = (peak_rss_kib().saturating_sub(before)) / 1024;
    println!("peak RSS grew by {grew_mib} MiB while streaming 50 MiB per coding");
    assert!(
        grew_mib < 24,
        "peak RSS grew by {grew_mib} MiB: was a body held whole?"
    );

    // A file: compressed whole, never as ranges; HEAD as GET.
    let whole = get(&server, "/files/page.html", "gzip", "GET");
    assert_eq!(whole.header("content-encoding"), Some("gzip"));
    assert!(whole.header("etag").unwrap().starts_with("W/\""));
    assert_eq!(whole.header("accept-ranges"), None);
    assert_eq!(
        same(decoder("gzip", &whole.body), &page[..]),
        page.len() as u64
    );
    let mut s = server.connect();
    s.write_all(b"GET /files/page.html HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\nRange: bytes=10-19\r\n\r\n")
        .unwrap();
    let part = read_response(&mut s);
    assert_eq!(part.status, 206);
    assert_eq!(part.header("content-encoding"), None);
    assert_eq!(part.body, page[10..20]);
    // HEAD: the header fields of the GET, with no body.
    let head = get(&server, "/files/page.html", "gzip", "HEAD");
    assert_eq!(head.status, 200);
    // (The GET is streamed, so neither has a Content-Length; the HEAD leaves
    // out `Transfer-Encoding: chunked`, which only frames a body.)
    for name in [
        "content-encoding",
        "etag",
        "vary",
        "content-length",
        "accept-ranges",
    ] {
        assert_eq!(head.header(name), whole.header(name), "{name}");
    }
    assert!(head.body.is_empty());

    let _ = std::fs::remove_dir_all(&root);
}
