use super::*;
use crate::middleware::run_chain;

const ALL: [Coding; 3] = [Coding::Zstd, Coding::Brotli, Coding::Gzip];

#[test]
fn accept_encoding_negotiation() {
    let table: &[(&str, Option<Coding>)] = &[
        // Browsers.
        ("gzip, deflate, br, zstd", Some(Coding::Zstd)),
        ("gzip, deflate, br", Some(Coding::Brotli)),
        ("gzip, deflate", Some(Coding::Gzip)),
        // curl --compressed (with every coding built in).
        ("deflate, gzip, br, zstd", Some(Coding::Zstd)),
        // q-values beat the server's order.
        ("zstd;q=0.5, gzip", Some(Coding::Gzip)),
        ("br;q=0.9, zstd;q=0.8, gzip;q=0.1", Some(Coding::Brotli)),
        ("gzip;q=0.001", Some(Coding::Gzip)),
        ("gzip;q=0", None),
        ("gzip;q=0.000", None),
        ("GZIP", Some(Coding::Gzip)),
        ("x-gzip", Some(Coding::Gzip)),
        ("gzip ; q=0.5 , br ; q=0.4", Some(Coding::Gzip)),
        // `*` covers what is not listed.
        ("*", Some(Coding::Zstd)),
        ("*;q=0.5, zstd;q=0", Some(Coding::Brotli)),
        ("*;q=0", None),
        ("identity;q=0", None),
        ("identity", None),
        ("", None),
        ("deflate, compress", None),
        // Malformed q-values drop that entry only.
        ("gzip;q=2, br", Some(Coding::Brotli)),
        ("gzip;q=1.5", None),
        ("gzip;q=0.1234", None),
        ("gzip;q=abc, zstd;q=.5", None),
        ("br;q=1.000", Some(Coding::Brotli)),
        // Unknown parameters are ignored.
        ("gzip;level=9", Some(Coding::Gzip)),
    ];
    for (accept, want) in table {
        assert_eq!(choose_coding(accept, &ALL), *want, "{accept:?}");
    }
    // The server's order decides ties.
    assert_eq!(
        choose_coding("gzip, br, zstd", &[Coding::Gzip, Coding::Brotli]),
        Some(Coding::Gzip)
    );
    assert_eq!(choose_coding("zstd", &[Coding::Gzip]), None);
}

fn text(n: usize) -> Vec<u8> {
    let line = b"{\"id\": 12345, \"name\": \"httpserver\", \"tags\": [\"fast\", \"safe\"]}\n";
    line.iter().copied().cycle().take(n).collect()
}

fn get(accept: Option<&str>) -> Request {
    get_with(accept, http::Method::GET)
}

fn get_with(accept: Option<&str>, method: http::Method) -> Request {
    let mut b = http::Request::builder().method(method).uri("/");
    if let Some(a) = accept {
        b = b.header("accept-encoding", a);
    }
    Request::from_http(b.body(Vec::new()).unwrap()).unwrap()
}

fn run(mw: Compression, mut req: Request, make: impl Fn() -> Response) -> Response {
    let chain: Vec<Arc<dyn Middleware>> = vec![Arc::new(mw)];
    run_chain(&chain, &mut req, &|_| make())
}

/// All the bytes of a body, reading a stream to its end.
fn drain(res: &mut Response) -> Vec<u8> {
    match res.take_body() {
        Body::Empty => Vec::new(),
        Body::Bytes(b) => b.to_vec(),
        Body::Vec(v) => v,
        Body::Reader(mut r, _) => {
            let mut v = Vec::new();
            r.read_to_end(&mut v).unwrap();
            v
        }
        other => panic!("unexpected body {other:?}"),
    }
}

fn decode(coding: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match coding {
        #[cfg(feature = "gzip")]
        "gzip" => {
            flate2::read::GzDecoder::new(data)
                .read_to_end(&mut out)
                .unwrap();
        }
        #[cfg(feature = "br")]
        "br" => {
            brotli::Decompressor::new(data, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        #[cfg(feature = "zstd")]
        "zstd" => out = zstd::decode_all(data).unwrap(),
        other => panic!("cannot decode {other}"),
    }
    out
}

fn json(n: usize) -> Response {
    Response::new(StatusCode::OK).with_owned_body("application/json", text(n))
}

#[test]
fn every_coding_round_trips_in_memory_and_streamed() {
    for coding in ALL.into_iter().filter(|c| c.available()) {
        for n in [1024, 5000, 256 * 1024, 256 * 1024 + 1, 3 * 1024 * 1024] {
            let original = text(n);
            let mut res = run(Compression::new(), get(Some(coding.token())), || json(n));
            assert_eq!(res.headers()["content-encoding"], coding.token(), "{n}");
            assert_eq!(res.headers()["vary"], "Accept-Encoding");
            let streamed = res.body().len().is_none();
            assert_eq!(streamed, n as u64 > IN_MEMORY_MAX, "{coding:?} {n}");
            let wire = drain(&mut res);
            assert!(wire.len() < n / 4, "{coding:?} {n}: {} bytes", wire.len());
            assert_eq!(decode(coding.token(), &wire), original, "{coding:?} {n}");
        }
    }
}

#[test]
fn streams_and_files_are_compressed_as_read() {
    let coding = ALL.into_iter().find(|c| c.available()).unwrap();
    // A reader of unknown length.
    let mut res = run(Compression::new(), get(Some("gzip, br, zstd")), || {
        Response::new(StatusCode::OK)
            .with_header("content-type", "text/plain")
            .with_reader(Cursor::new(text(100_000)), None)
    });
    let got = res.headers()["content-encoding"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(decode(&got, &drain(&mut res)), text(100_000));

    // Part of a file.
    let path = std::env::temp_dir().join(format!("hs-compress-{}", std::process::id()));
    std::fs::write(&path, text(200_000)).unwrap();
    let mut res = run(
        Compression::new().prefer([coding]),
        get(Some(coding.token())),
        || {
            let mut r = Response::new(StatusCode::OK).with_header("content-type", "text/css");
            r.set_body(Body::File {
                file: std::fs::File::open(&path).unwrap(),
                offset: 1000,
                len: 150_000,
            });
            r
        },
    );
    assert_eq!(res.headers()["content-encoding"], coding.token());
    assert_eq!(
        decode(coding.token(), &drain(&mut res)),
        text(200_000)[1000..151_000]
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn validators_and_ranges_headers_are_adjusted() {
    let mut res = run(Compression::new(), get(Some("gzip")), || {
        json(4096)
            .with_header("etag", "\"abc\"")
            .with_header("accept-ranges", "bytes")
            .with_header("content-length", "4096")
    });
    assert_eq!(res.headers()["etag"], "W/\"abc\"");
    assert!(res.headers().get("accept-ranges").is_none());
    assert!(res.headers().get("content-length").is_none());
    drain(&mut res);
    // An already weak tag stays as it is.
    let res = run(Compression::new(), get(Some("gzip")), || {
        json(4096).with_header("etag", "W/\"x\"")
    });
    assert_eq!(res.headers()["etag"], "W/\"x\"");
}

/// HEAD gets the header fields its GET would: the same coding, validator
/// and length (the body compressed at once) or chunked framing (streamed).
#[test]
fn head_is_answered_as_get_would_be() {
    for size in [4096, 300 * 1024] {
        let make = move || json(size).with_header("etag", "\"abc\"");
        let mut got = run(Compression::new(), get(Some("gzip")), make);
        let head = run(
            Compression::new(),
            get_with(Some("gzip"), http::Method::HEAD),
            make,
        );
        assert_eq!(head.headers(), got.headers(), "{size}");
        assert_eq!(head.headers()["content-encoding"], "gzip");
        assert_eq!(head.headers()["etag"], "W/\"abc\"");
        // The length the encoder would write: known for the small body,
        // none (chunked) for the streamed one.
        assert_eq!(head.body().len(), got.body().len(), "{size}");
        assert_eq!(head.body().len().is_some(), size == 4096);
        drain(&mut got);
    }
}

/// A 304 names the client's copy as the 200 did: weak when the client
/// holds the weak tag of a compressed answer, strong otherwise.
#[test]
fn a_304_carries_the_weak_tag_the_client_holds() {
    let revalidate = |inm: &str| {
        let req = http::Request::builder()
            .uri("/")
            .header("accept-encoding", "gzip")
            .header("if-none-match", inm)
            .body(Vec::new())
            .unwrap();
        run(Compression::new(), Request::from_http(req).unwrap(), || {
            Response::new(StatusCode::NOT_MODIFIED).with_header("etag", "\"abc\"")
        })
    };
    let res = revalidate("\"x\", W/\"abc\"");
    assert_eq!(res.headers()["etag"], "W/\"abc\"");
    assert_eq!(res.headers()["vary"], "Accept-Encoding");
    let res = revalidate("\"abc\"");
    assert_eq!(res.headers()["etag"], "\"abc\"");
    assert!(res.headers().get("vary").is_none());
}

/// Cases that must go out untouched; `vary` says whether the answer could
/// have differed for another Accept-Encoding.
#[test]
fn never_compressed() {
    type Make = Box<dyn Fn() -> Response>;
    let cases: Vec<(&str, Request, Make, bool)> = vec![
        (
            "206",
            get(Some("gzip")),
            Box::new(|| {
                json(4096)
                    .with_status(StatusCode::PARTIAL_CONTENT)
                    .with_header("content-range", "bytes 0-4095/9999")
            }),
            true,
        ),
        (
            "304",
            get(Some("gzip")),
            Box::new(|| json(4096).with_status(StatusCode::NOT_MODIFIED)),
            false,
        ),
        (
            "204",
            get(Some("gzip")),
            Box::new(|| Response::new(StatusCode::NO_CONTENT)),
            false,
        ),
        (
            "already encoded",
            get(Some("gzip")),
            Box::new(|| json(4096).with_header("content-encoding", "br")),
            false,
        ),
        (
            "no-transform",
            get(Some("gzip")),
            Box::new(|| json(4096).with_header("cache-control", "public, No-Transform")),
            false,
        ),
        (
            "image",
            get(Some("gzip")),
            Box::new(|| Response::new(StatusCode::OK).with_owned_body("image/png", text(4096))),
            false,
        ),
        (
            "event stream",
            get(Some("gzip")),
            Box::new(|| {
                Response::new(StatusCode::OK).with_owned_body("text/event-stream", text(4096))
            }),
            false,
        ),
        (
            "no type",
            get(Some("gzip")),
            Box::new(|| {
                let mut r = Response::new(StatusCode::OK);
                r.set_body(Body::Vec(text(4096)));
                r
            }),
            false,
        ),
        (
            "too small",
            get(Some("gzip")),
            Box::new(|| json(1023)),
            false,
        ),
        ("empty", get(Some("gzip")), Box::new(|| json(0)), false),
        (
            "client accepts none",
            get(Some("identity")),
            Box::new(|| json(4096)),
            true,
        ),
        (
            "no Accept-Encoding",
            get(None),
            Box::new(|| json(4096)),
            true,
        ),
    ];
    for (name, req, make, vary) in cases {
        let original = make();
        let before = original.body_bytes().map(<[u8]>::to_vec);
        let res = run(Compression::new(), req, make);
        assert!(
            res.headers()
                .get("content-encoding")
                .is_none_or(|v| v == "br"),
            "{name}"
        );
        assert_eq!(res.body_bytes().map(<[u8]>::to_vec), before, "{name}");
        assert_eq!(res.headers().contains_key("vary"), vary, "{name}");
    }
}

#[test]
fn vary_is_merged() {
    let res = run(Compression::new(), get(None), || {
        json(4096).with_header("vary", "Origin")
    });
    let all: Vec<_> = res.headers().get_all("vary").iter().collect();
    assert_eq!(all, ["Origin", "Accept-Encoding"]);
    let res = run(Compression::new(), get(None), || {
        json(4096).with_header("vary", "accept-encoding")
    });
    assert_eq!(res.headers().get_all("vary").iter().count(), 1);
}

#[test]
fn settings_apply() {
    let res = run(
        Compression::new().min_size(10_000),
        get(Some("gzip")),
        || json(5000),
    );
    assert!(res.headers().get("content-encoding").is_none());
    let res = run(
        Compression::new().content_types(|t| t.starts_with("image/")),
        get(Some("gzip")),
        || Response::new(StatusCode::OK).with_owned_body("image/bmp", text(5000)),
    );
    assert_eq!(res.headers()["content-encoding"], "gzip");
    if Coding::Gzip.available() && Coding::Zstd.available() {
        let res = run(
            Compression::new().prefer([Coding::Gzip, Coding::Zstd]),
            get(Some("zstd, gzip")),
            || json(5000),
        );
        assert_eq!(res.headers()["content-encoding"], "gzip");
    }
}

#[test]
fn compressible_types() {
    for t in [
        "text/html",
        "text/css; charset=utf-8",
        "application/json",
        "application/ld+json",
        "application/javascript",
        "image/svg+xml",
        "application/wasm",
        "application/xml",
        "TEXT/PLAIN",
    ] {
        assert!(compressible(t), "{t}");
    }
    for t in [
        "image/png",
        "image/jpeg",
        "application/zip",
        "application/octet-stream",
        "video/mp4",
        "font/woff2",
        "text/event-stream",
        "",
    ] {
        assert!(!compressible(t), "{t}");
    }
}
