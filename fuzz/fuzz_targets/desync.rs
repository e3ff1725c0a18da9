//! Differential fuzzing of `codec::parse_request` against
//! `http_desync_guardian`, a classifier of HTTP/1 requests by the risk of
//! desynchronisation (request smuggling) they carry.
//!
//! Checks: no head we accept is one the classifier calls `Severe`, with two
//! deliberate exceptions:
//! - a Content-Length value that is a list of one number (`7, 7`): RFC 9110
//!   section 8.6 lets a recipient take it as that number. Allowed only while
//!   our framing is that number (for 0: no body).
//! - fields whose names only look like Content-Length or Transfer-Encoding
//!   (``Content`Length``, `ContentB-Length`): other fields to us and to
//!   the RFC, which the classifier reads as the real ones. When it names
//!   framing, the head is judged again without them.
#![no_main]

use http_desync_guardian::http_token_utils::{determine_similarity, TokenSimilarity};
use http_desync_guardian::request_analyzer::HttpRequestData;
use http_desync_guardian::{ClassificationReason as Reason, RequestSafetyTier};
use httpserver::codec::{parse_request, Framing, HeaderSpan, Limits, Status};
use libfuzzer_sys::fuzz_target;

const FRAMING: [&[u8]; 2] = [b"content-length", b"transfer-encoding"];

/// A name that is not one of the framing fields but that the classifier
/// takes for one (by its own similarity test).
fn lookalike(name: &[u8]) -> bool {
    FRAMING.iter().any(|real| {
        !name.eq_ignore_ascii_case(real)
            && determine_similarity(real, name) != TokenSimilarity::Distant
    })
}

/// Whether every Content-Length field of the head is a list of `n`.
fn lengths_all(buf: &[u8], headers: &[HeaderSpan], n: u64) -> bool {
    headers
        .iter()
        .filter(|h| h.name.get(buf).eq_ignore_ascii_case(b"content-length"))
        .all(|h| {
            h.value.get(buf).split(|&b| b == b',').all(|item| {
                let item = item.trim_ascii();
                std::str::from_utf8(item)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    == Some(n)
            })
        })
}

/// The head again, from our spans, without the lookalike fields.
fn without_lookalikes(buf: &[u8], line: &[u8], headers: &[HeaderSpan]) -> Vec<u8> {
    let mut out = line.to_vec();
    for h in headers.iter().filter(|h| !lookalike(h.name.get(buf))) {
        out.extend_from_slice(h.name.get(buf));
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value.get(buf));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

fuzz_target!(|buf: &[u8]| {
    let mut headers = Vec::new();
    let Ok(Status::Complete(head)) = parse_request(buf, &Limits::default(), &mut headers) else {
        return;
    };
    let mut verdict = HttpRequestData::analyze_raw_request(&buf[..head.len]);
    let framing_reason = |r: Reason| {
        matches!(
            r,
            Reason::BadContentLength
                | Reason::MultipleContentLength
                | Reason::BadTransferEncoding
                | Reason::MultipleTransferEncodingChunked
                | Reason::BothTeClPresent
        )
    };
    if verdict.tier == RequestSafetyTier::Severe
        && framing_reason(verdict.reason)
        && headers.iter().any(|h| lookalike(h.name.get(buf)))
    {
        // The request line, from its method to its CRLF.
        let line =
            &buf[head.method.start as usize..head.target.end as usize + " HTTP/1.1\r\n".len()];
        verdict = HttpRequestData::analyze_raw_request(&without_lookalikes(buf, line, &headers));
    }
    if verdict.tier != RequestSafetyTier::Severe {
        return;
    }
    let allowed = match (verdict.reason, head.framing) {
        (Reason::BadContentLength | Reason::MultipleContentLength, Framing::Length(n)) => {
            lengths_all(buf, &headers, n)
        }
        // A length of 0 is framed as no body.
        (Reason::BadContentLength | Reason::MultipleContentLength, Framing::None) => {
            lengths_all(buf, &headers, 0)
        }
        _ => false,
    };
    assert!(
        allowed,
        "we accept a head the classifier calls Severe ({:?}, {:?}), framed as {:?}",
        verdict.reason, verdict.message, head.framing
    );
});
