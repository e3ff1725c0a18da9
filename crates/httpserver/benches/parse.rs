//! The request-head parser against `httparse` on three typical requests,
//! in bytes per second.

#![allow(missing_docs)] // criterion_group! generates undocumented items
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use httpserver::codec::{parse_request, Limits, Status};

#[path = "common/inputs.rs"]
mod inputs;

fn parse(c: &mut Criterion) {
    let limits = Limits::default();
    for (name, input) in [
        ("minimal", inputs::MINIMAL),
        ("browser", inputs::BROWSER),
        ("post_json", inputs::POST_JSON),
    ] {
        let mut group = c.benchmark_group(format!("parse/{name}"));
        group.throughput(Throughput::Bytes(input.len() as u64));
        let mut headers = Vec::with_capacity(16);
        group.bench_function("httpserver", |b| {
            b.iter(|| {
                let r = parse_request(black_box(input), &limits, &mut headers);
                assert!(matches!(r, Ok(Status::Complete(_))));
            })
        });
        group.bench_function("httparse", |b| {
            b.iter(|| {
                let mut headers = [httparse::EMPTY_HEADER; 32];
                let mut req = httparse::Request::new(&mut headers);
                let r = req.parse(black_box(input));
                assert!(matches!(r, Ok(httparse::Status::Complete(_))));
            })
        });
        group.finish();
    }
}

criterion_group!(benches, parse);
criterion_main!(benches);
