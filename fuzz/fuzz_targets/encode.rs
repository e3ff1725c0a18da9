//! Round trip of the response encoder: what `codec::encode_head`,
//! `codec::encode_chunk` and `codec::encode_last_chunk` write is parsed back
//! with `httparse` (hyper's parser) and our own chunked decoder.
//!
//! Input: two bytes of status (mapped into 100-999), a flags byte (version,
//! HEAD, keep-alive, framing, a `Server` value), eight bytes of length, then
//! `name:value` lines for the header map (those `http` refuses are
//! skipped), and after a NUL byte a body cut into chunks at `\n`.
//!
//! Checks: the head parses whole, to the last byte, with our status code and
//! a reason. The fields we were given come back in order, with their values
//! (less surrounding whitespace), but for the framing and connection
//! fields, which the encoder owns; then `Server` and `Date` when they were
//! not given. `Content-Length` is there exactly when the framing is a
//! length, with that length, and `Transfer-Encoding: chunked` exactly when
//! it is chunked and not HEAD; `Connection: close` exactly when the encoder
//! says the connection closes. A chunked body decodes to the bytes that
//! went in.
#![no_main]

mod common;

use http::{header, HeaderMap, StatusCode};
use httpserver::codec::{
    encode_chunk, encode_head, encode_last_chunk, BodyFraming, ChunkedDecoder, ChunkedLimits,
    EncodeContext, Version,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((fixed, rest)) = data.split_at_checked(11) else {
        return;
    };
    let code = 100 + u16::from_le_bytes([fixed[0], fixed[1]]) % 900;
    let Ok(status) = StatusCode::from_u16(code) else {
        return;
    };
    let flags = fixed[2];
    let len = u64::from_le_bytes(fixed[3..11].try_into().unwrap_or_default());
    let cx = EncodeContext {
        version: if flags & 1 == 0 {
            Version::Http11
        } else {
            Version::Http10
        },
        head: flags & 2 != 0,
        keep_alive: flags & 4 != 0,
    };
    let framing = match (flags >> 3) & 3 {
        0 => BodyFraming::None,
        1 => BodyFraming::Length(len),
        2 => BodyFraming::Chunked,
        _ => BodyFraming::Close,
    };
    let server: Option<&[u8]> = (flags & 32 != 0).then_some(b"fuzz/1");

    let (fields, body) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let mut headers = HeaderMap::new();
    for line in fields.split(|&b| b == b'\n') {
        if let Some((name, value)) = common::header_field(line) {
            headers.append(name, value);
        }
    }

    let mut out = Vec::new();
    let open = encode_head(&mut out, status, &headers, framing, cx, server);

    let mut slots = vec![httparse::EMPTY_HEADER; headers.len() + 8];
    let mut parsed = httparse::Response::new(&mut slots);
    assert_eq!(
        parsed.parse(&out),
        Ok(httparse::Status::Complete(out.len())),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    assert_eq!(parsed.code, Some(code));
    assert_eq!(parsed.version, Some(1));
    assert!(parsed.reason.is_some_and(|r| !r.is_empty()));

    let owned = ["content-length", "transfer-encoding", "connection"];
    let back: Vec<(String, &[u8])> = parsed
        .headers
        .iter()
        .map(|h| (h.name.to_ascii_lowercase(), h.value))
        .collect();
    // The given fields in order, values without surrounding whitespace (RFC
    // 9110 section 5.5), then what the encoder adds when they are missing.
    let mut expected: Vec<(String, Option<&[u8]>)> = headers
        .iter()
        .filter(|(n, _)| !owned.contains(&n.as_str()))
        .map(|(n, v)| (n.as_str().to_owned(), Some(v.as_bytes().trim_ascii())))
        .collect();
    if let Some(server) = server.filter(|_| !headers.contains_key(header::SERVER)) {
        expected.push(("server".to_owned(), Some(server)));
    }
    if !headers.contains_key(header::DATE) {
        expected.push(("date".to_owned(), None));
    }
    let others: Vec<&(String, &[u8])> = back
        .iter()
        .filter(|(n, _)| !owned.contains(&n.as_str()))
        .collect();
    assert_eq!(
        others.len(),
        expected.len(),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    for ((name, value), (want_name, want_value)) in others.into_iter().zip(&expected) {
        assert_eq!(name, want_name);
        if let Some(want) = want_value {
            assert_eq!(value, want, "value of {name}");
        }
    }

    let count = |name: &str| back.iter().filter(|(n, _)| n == name).count();
    let length = back
        .iter()
        .find(|(n, _)| n == "content-length")
        .map(|(_, v)| *v);
    match framing {
        BodyFraming::Length(n) => {
            assert_eq!(count("content-length"), 1);
            assert_eq!(length, Some(n.to_string().as_bytes()));
        }
        _ => assert_eq!(count("content-length"), 0),
    }
    let chunked = framing == BodyFraming::Chunked && !cx.head;
    assert_eq!(count("transfer-encoding"), usize::from(chunked));
    let close = back
        .iter()
        .any(|(n, v)| n == "connection" && v.eq_ignore_ascii_case(b"close"));
    assert_eq!(close, !open, "Connection: close and the returned flag");

    if chunked {
        let mut wire = Vec::new();
        for piece in body.split(|&b| b == b'\n') {
            encode_chunk(&mut wire, piece);
        }
        encode_last_chunk(&mut wire);
        let mut decoded = Vec::new();
        let mut dec = ChunkedDecoder::new(ChunkedLimits::default());
        let d = dec
            .decode(&wire, &mut decoded)
            .expect("our own chunks decode");
        assert!(d.done);
        assert_eq!(d.consumed, wire.len());
        let want: Vec<u8> = body.iter().copied().filter(|&b| b != b'\n').collect();
        assert_eq!(decoded, want);
    }
});
