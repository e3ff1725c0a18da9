//! Differential fuzzing of `codec::ChunkedDecoder` against a reference
//! decoder built from `httparse`'s chunk-size and header parsers.
//!
//! Checks: whatever chunked body our decoder finishes, the reference
//! finishes too, at the same byte, with the same decoded bytes. Chunked
//! framing read two ways is how requests are smuggled, so the two must
//! never disagree on where a body ends or what it holds. The one deliberate
//! difference is bridged: we take up to 32 digits of chunk size, leading
//! zeros included, and httparse 16, so the reference drops leading zeros
//! past 16 digits. The other direction (the reference finishes, we refuse)
//! is not asserted: we are stricter on purpose (an empty size, bare LF,
//! extension syntax and size, obs-fold in trailers).
#![no_main]

use httpserver::codec::{ChunkedDecoder, ChunkedLimits};
use libfuzzer_sys::fuzz_target;

/// The body and the bytes it took, `None` if the reference refuses or
/// wants more.
fn reference(input: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let line = &input[pos..];
        let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        let zeros = line.iter().take_while(|&&b| b == b'0').count();
        let skip = digits.saturating_sub(16).min(zeros);
        let httparse::Status::Complete((n, size)) =
            httparse::parse_chunk_size(&line[skip..]).ok()?
        else {
            return None;
        };
        pos += skip + n;
        if size == 0 {
            break;
        }
        let size = usize::try_from(size).ok()?;
        let data = input.get(pos..pos.checked_add(size)?)?;
        out.extend_from_slice(data);
        pos += size;
        if input.get(pos..pos + 2)? != b"\r\n" {
            return None;
        }
        pos += 2;
    }
    let mut slots = vec![httparse::EMPTY_HEADER; 4096];
    match httparse::parse_headers(&input[pos..], &mut slots).ok()? {
        httparse::Status::Complete((n, _)) => Some((out, pos + n)),
        httparse::Status::Partial => None,
    }
}

fuzz_target!(|input: &[u8]| {
    let mut dec = ChunkedDecoder::new(ChunkedLimits::default());
    let mut ours = Vec::new();
    let Ok(d) = dec.decode(input, &mut ours) else {
        return;
    };
    if !d.done {
        return;
    }
    let Some((theirs, consumed)) = reference(input) else {
        panic!(
            "we finish a body of {} bytes at {} that the reference does not",
            ours.len(),
            d.consumed
        );
    };
    assert_eq!(consumed, d.consumed, "where the body ends");
    assert_eq!(theirs, ours, "the decoded bytes");
});
