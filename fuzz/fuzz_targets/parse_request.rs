//! Fuzzes `codec::parse_request` with raw bytes, under the default limits and
//! under tight ones.
//!
//! Checks: it never panics; on `Complete(head)`, `head.len <= buf.len()`,
//! every span of the head and of the header fields lies within
//! `buf[..head.len]`, parsing `buf[..head.len]` alone gives the same result,
//! a few strict prefixes of the head give `Ok(Partial)`, and
//! `find_head_end(buf, 0) == Some(head.len)`.
#![no_main]

use httpserver::codec::{find_head_end, parse_request, HeaderSpan, Limits, Span, Status};
use libfuzzer_sys::fuzz_target;

const TIGHT: Limits = Limits {
    max_request_line: 64,
    max_head: 256,
    max_headers: 4,
};

fn in_head(span: Span, len: usize) {
    assert!(span.start <= span.end, "inverted span {span:?}");
    assert!(
        span.end as usize <= len,
        "span {span:?} past head end {len}"
    );
}

fn check(buf: &[u8], limits: &Limits) {
    let mut headers = Vec::new();
    let Ok(Status::Complete(head)) = parse_request(buf, limits, &mut headers) else {
        return;
    };
    let len = head.len;
    assert!(len <= buf.len(), "head.len {len} > buf.len {}", buf.len());
    for span in [head.method, head.target, head.path] {
        in_head(span, len);
    }
    for span in [head.query, head.authority].into_iter().flatten() {
        in_head(span, len);
    }
    for &HeaderSpan { name, value } in &headers {
        in_head(name, len);
        in_head(value, len);
    }

    // The head alone parses the same: nothing after it was looked at.
    let mut again = Vec::new();
    assert_eq!(
        parse_request(&buf[..len], limits, &mut again),
        Ok(Status::Complete(head))
    );
    assert_eq!(again, headers);

    // Strict prefixes are incomplete, not errors.
    let mut prefixes = [0, 1, len / 2, len.saturating_sub(2), len - 1];
    prefixes.sort_unstable();
    for cut in prefixes.into_iter().filter(|&c| c < len) {
        assert_eq!(
            parse_request(&buf[..cut], limits, &mut again),
            Ok(Status::Partial),
            "prefix of {cut} bytes of a {len}-byte head"
        );
    }

    assert_eq!(find_head_end(buf, 0), Some(len), "find_head_end disagrees");
}

fuzz_target!(|buf: &[u8]| {
    check(buf, &Limits::default());
    check(buf, &TIGHT);
});
