//! Fuzzes `codec::ChunkedDecoder`. The first byte picks a split point; the
//! rest is the chunked body, decoded under the default limits and under tight
//! ones.
//!
//! Checks: it never panics; `consumed <= input.len()`; feeding the body whole,
//! split in two at the chosen point, or one byte at a time gives the same
//! decoded bytes, the same total consumed and the same done/error outcome;
//! the decoded length never exceeds `max_body`.
#![no_main]

use httpserver::codec::{ChunkedDecoder, ChunkedLimits, ParseError};
use libfuzzer_sys::fuzz_target;

const TIGHT: ChunkedLimits = ChunkedLimits {
    max_body: 16,
    max_extension: 8,
    max_extension_total: 24,
    max_trailers: 32,
};

/// Total bytes consumed and whether the body ended, or the error.
type Outcome = Result<(usize, bool), ParseError>;

/// Feeds `input` in the given pieces the way a connection does: each call gets
/// what the previous ones left unconsumed plus the next piece.
fn feed(
    input: &[u8],
    cuts: impl Iterator<Item = usize>,
    limits: ChunkedLimits,
) -> (Outcome, Vec<u8>) {
    let mut dec = ChunkedDecoder::new(limits);
    let mut out = Vec::new();
    let mut pos = 0;
    let mut outcome = Ok((0, false));
    for end in cuts.chain([input.len()]) {
        let piece = &input[pos..end.max(pos)];
        outcome = match dec.decode(piece, &mut out) {
            Ok(d) => {
                assert!(
                    d.consumed <= piece.len(),
                    "consumed {} of {}",
                    d.consumed,
                    piece.len()
                );
                assert_eq!(d.done, dec.is_done());
                pos += d.consumed;
                Ok((pos, d.done))
            }
            Err(e) => Err(e),
        };
        assert!(
            out.len() as u64 <= limits.max_body,
            "decoded {} > max_body",
            out.len()
        );
        if !matches!(outcome, Ok((_, false))) {
            break;
        }
    }
    (outcome, out)
}

fn check(input: &[u8], split: usize, limits: ChunkedLimits) {
    let whole = feed(input, std::iter::empty(), limits);
    let halves = feed(input, std::iter::once(split), limits);
    assert_eq!(whole, halves, "whole vs split at {split}");
    if input.len() <= 4096 {
        let bytes = feed(input, 1..input.len(), limits);
        assert_eq!(whole, bytes, "whole vs byte at a time");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let split = usize::from(first) % (input.len() + 1);
    check(input, split, ChunkedLimits::default());
    check(input, split, TIGHT);
});
