//! Response head encoding.

#![allow(missing_docs)] // criterion_group! generates undocumented items
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use httpserver::codec::{encode_head, BodyFraming, EncodeContext, Version};

fn encode(c: &mut Criterion) {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let cx = EncodeContext {
        version: Version::Http11,
        head: false,
        keep_alive: true,
    };
    let mut out = Vec::with_capacity(512);
    c.bench_function("encode/200_json_head", |b| {
        b.iter(|| {
            out.clear();
            encode_head(
                &mut out,
                StatusCode::OK,
                black_box(&headers),
                BodyFraming::Length(27),
                cx,
                Some(b"httpserver"),
            );
            black_box(&out);
        })
    });
    c.bench_function("encode/404_head", |b| {
        b.iter(|| {
            out.clear();
            encode_head(
                &mut out,
                StatusCode::NOT_FOUND,
                black_box(&headers),
                BodyFraming::Length(9),
                cx,
                Some(b"httpserver"),
            );
            black_box(&out);
        })
    });
}

criterion_group!(benches, encode);
criterion_main!(benches);
