//! Differential fuzzing of `codec::parse_request` against `httparse`, hyper's
//! parser, on raw bytes.
//!
//! Checks:
//! - Whatever our parser accepts as a complete head, httparse accepts too,
//!   with the same length, method, target, version and header fields in the
//!   same order. The one deliberate difference is skipped: we take any
//!   `HTTP/1.x` with x ≥ 2 as HTTP/1.1 (RFC 9110 section 6.2), httparse
//!   only 1.0 and 1.1.
//! - Where httparse finds a complete head, ours is never `Partial`: we may
//!   refuse it (we are stricter on purpose: bare LF, obs-fold, whitespace
//!   before a colon, framing conflicts, Host shape), but we must not wait
//!   for bytes a client that sent it all will never send.
#![no_main]

use httpserver::codec::{parse_request, Limits, Status, Version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|buf: &[u8]| {
    let limits = Limits::default();
    let mut ours = Vec::new();
    let result = parse_request(buf, &limits, &mut ours);
    if buf.len() <= limits.max_head {
        let mut slots = vec![httparse::EMPTY_HEADER; limits.max_headers];
        if let Ok(httparse::Status::Complete(_)) = httparse::Request::new(&mut slots).parse(buf) {
            assert_ne!(
                result,
                Ok(Status::Partial),
                "httparse finds a whole head, we wait"
            );
        }
    }
    let Ok(Status::Complete(head)) = result else {
        return;
    };
    // The version's minor digit sits just before the request line's end.
    let line_end = head.target.end as usize + " HTTP/1.x".len();
    let minor = buf.get(line_end - 1).copied();
    if !matches!(minor, Some(b'0' | b'1')) {
        return;
    }

    let mut slots = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut theirs = httparse::Request::new(&mut slots);
    let status = theirs.parse(buf);
    assert_eq!(
        status,
        Ok(httparse::Status::Complete(head.len)),
        "we accept a {}-byte head that httparse does not",
        head.len
    );
    assert_eq!(theirs.method, Some(head.method.str(buf)));
    assert_eq!(theirs.path, Some(head.target.str(buf)));
    let ours_minor = u8::from(head.version == Version::Http11);
    assert_eq!(theirs.version, Some(ours_minor));
    assert_eq!(theirs.headers.len(), ours.len(), "header count");
    for (t, o) in theirs.headers.iter().zip(&ours) {
        assert_eq!(t.name.as_bytes(), o.name.get(buf), "header name");
        assert_eq!(t.value, o.value.get(buf), "header value");
    }
});
