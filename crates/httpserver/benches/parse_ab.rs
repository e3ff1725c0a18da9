//! The request-head parser against `httparse`, measured in alternation.
//!
//! criterion measures one function for seconds and then the next, so on a
//! VM whose speed shifts in steps of tens of seconds the two halves of a
//! comparison can meet different machines. This bench alternates the two
//! parsers in short batches (about 2 ms each, in the order A B B A), takes
//! the throughput ratio of each pair of batches, and reports the median
//! ratio with its quartiles: a paired comparison, like the load benchmark's
//! per-round ratios.
//!
//! Run: `cargo bench -p httpserver --bench parse_ab` (about 10 s).

#![allow(missing_docs)]
use std::hint::black_box;
use std::time::Instant;

use httpserver::codec::{parse_request, HeaderSpan, Limits, Status};

#[path = "common/inputs.rs"]
mod inputs;

/// Pairs of batches per input.
const PAIRS: usize = 600;

#[inline(always)]
fn ours(input: &[u8], limits: &Limits, headers: &mut Vec<HeaderSpan>) {
    let r = parse_request(black_box(input), limits, headers);
    assert!(matches!(r, Ok(Status::Complete(_))));
}

#[inline(always)]
fn theirs(input: &[u8]) {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    let r = req.parse(black_box(input));
    assert!(matches!(r, Ok(httparse::Status::Complete(_))));
}

/// Nanoseconds per call over a batch of `n` calls of `f`.
fn batch(n: u32, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_nanos() as f64 / f64::from(n)
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

fn main() {
    let limits = Limits::default();
    let mut headers = Vec::with_capacity(16);
    println!("input       httpserver ns  httparse ns  throughput ratio: median (quartiles) of {PAIRS} pairs");
    for (name, input) in [
        ("minimal", inputs::MINIMAL),
        ("browser", inputs::BROWSER),
        ("post_json", inputs::POST_JSON),
    ] {
        // Size a batch to about 2 ms, after a warm-up of both.
        let mut n = 1000u32;
        for _ in 0..5 {
            batch(n, || ours(input, &limits, &mut headers));
            batch(n, || theirs(input));
        }
        let per_call = batch(n, || theirs(input));
        n = ((2e6 / per_call.max(1.0)) as u32).max(100);
        let (mut a, mut b, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..PAIRS {
            let (x, y) = if i % 2 == 0 {
                let x = batch(n, || ours(input, &limits, &mut headers));
                (x, batch(n, || theirs(input)))
            } else {
                let y = batch(n, || theirs(input));
                (batch(n, || ours(input, &limits, &mut headers)), y)
            };
            a.push(x);
            b.push(y);
            ratios.push(y / x);
        }
        for v in [&mut a, &mut b, &mut ratios] {
            v.sort_by(f64::total_cmp);
        }
        println!(
            "{name:<10} {:>13.2}  {:>11.2}  {:.3} ({:.3}-{:.3})",
            quantile(&a, 0.5),
            quantile(&b, 0.5),
            quantile(&ratios, 0.5),
            quantile(&ratios, 0.25),
            quantile(&ratios, 0.75),
        );
    }
}
