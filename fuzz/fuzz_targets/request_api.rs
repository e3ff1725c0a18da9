//! Fuzzes `Request::from_http` and the `Request` accessors on requests built
//! from fuzz input shaped like a message: a first line `METHOD URI [HTTP/1.0]`,
//! then `name: value` lines up to an empty line, then the body. Methods, URIs
//! and header fields that `http` rejects are skipped, so every request handed
//! to the library is one `http` considers valid.
//!
//! Checks: `from_http` and every accessor (`query_pairs`, `query`,
//! `query_as`, `param`, `header`, `header_map`, `json::<serde_json::Value>`,
//! `form::<Vec<(String, String)>>`, `text`, `to_http`, ...) never panic, and
//! an accepted request survives `to_http` then `from_http` with the same
//! method, target and body.
#![no_main]

mod common;

use httpserver::http::{self, Method, Uri};
use httpserver::Request;
use libfuzzer_sys::fuzz_target;

/// Builds an `http::Request`, or `None` if the first line is not usable.
fn build(data: &[u8]) -> Option<(http::Request<Vec<u8>>, Vec<String>)> {
    let mut rest = data;
    let mut next_line = || {
        let (line, tail) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        };
        rest = tail;
        line.strip_suffix(b"\r").unwrap_or(line)
    };
    let first = next_line();
    let mut words = first.split(|&b| b == b' ');
    let method = Method::from_bytes(words.next()?).ok()?;
    let uri = Uri::try_from(words.next().unwrap_or(b"/")).ok()?;
    let version = match words.next() {
        Some(b"HTTP/1.0") => http::Version::HTTP_10,
        _ => http::Version::HTTP_11,
    };
    let mut builder = http::Request::builder()
        .method(method)
        .uri(uri)
        .version(version);
    let mut names = Vec::new();
    loop {
        let line = next_line();
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = common::header_field(line) else {
            continue;
        };
        names.push(name.as_str().to_owned());
        builder = builder.header(name, value);
    }
    let req = builder.body(rest.to_vec()).ok()?;
    Some((req, names))
}

fn exercise(req: &Request, names: &[String]) {
    let _ = (req.method(), req.target(), req.path(), req.query_string());
    let _ = (req.version(), req.host(), req.peer_addr(), req.body().len());
    let pairs = req.query_pairs();
    for (k, _) in &pairs {
        assert!(
            req.query(k).is_some(),
            "query_pairs has {k:?}, query() does not"
        );
    }
    let _ = req.query_as::<Vec<(String, String)>>();
    for name in names
        .iter()
        .map(String::as_str)
        .chain(["host", "content-type", "Content-Length"])
    {
        let _ = (req.header(name), req.header_bytes(name), req.param(name));
    }
    let _ = req.headers().count();
    let _ = req.header_map();
    let _ = (req.param("id"), req.params().count());
    let _ = req.text();
    let _ = req.json::<serde_json::Value>();
    let _ = req.form::<Vec<(String, String)>>();
}

fuzz_target!(|data: &[u8]| {
    let Some((http_req, names)) = build(data) else {
        return;
    };
    let Ok(req) = Request::from_http(http_req) else {
        return;
    };
    exercise(&req, &names);

    let back = Request::from_http(req.to_http()).expect("a request from to_http is accepted");
    assert_eq!(back.method(), req.method());
    assert_eq!(back.target(), req.target());
    assert_eq!(back.body(), req.body());
    exercise(&back, &names);
});
