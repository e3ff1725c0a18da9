//! Measures compression ratio and speed per coding and level, on text the
//! repository itself provides (its docs and sources, a stand-in for HTML,
//! CSS and JavaScript) and on a generated JSON API response. The table in
//! `docs/compression.md` comes from this program.
//!
//! Run: `cargo run --release -p httpserver --features compression --example compression_levels`

use std::io::Write;
use std::time::Instant;

fn corpus_text() -> Vec<u8> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut out = Vec::new();
    for rel in [
        "README.md",
        "CHANGELOG.md",
        "docs/configuration.md",
        "crates/httpserver/src/handlers/files/listing.rs",
        "crates/httpserver/src/codec/parse.rs",
        "crates/httpserver/src/runtime/conn.rs",
    ] {
        if let Ok(b) = std::fs::read(format!("{root}/{rel}")) {
            out.extend_from_slice(&b);
        }
    }
    out
}

fn corpus_json() -> Vec<u8> {
    let users: Vec<serde_json::Value> = (0..400)
        .map(|i| {
            serde_json::json!({
                "id": i, "name": format!("user {i}"), "email": format!("user{i}@example.com"),
                "active": i % 3 != 0, "score": (i * 7919) % 1000, "tags": ["alpha", "beta"],
                "created": format!("2026-{:02}-{:02}T12:00:00Z", i % 12 + 1, i % 28 + 1),
            })
        })
        .collect();
    serde_json::to_vec(&users).unwrap_or_default()
}

/// (compressed size, seconds per byte).
fn measure(data: &[u8], f: impl Fn(&[u8]) -> Vec<u8>) -> (usize, f64) {
    let mut size = 0;
    let mut runs = 0u32;
    let start = Instant::now();
    while start.elapsed().as_millis() < 300 || runs < 3 {
        size = f(data).len();
        runs += 1;
    }
    let secs = start.elapsed().as_secs_f64() / f64::from(runs);
    (size, secs / data.len() as f64)
}

fn gzip(level: u32) -> impl Fn(&[u8]) -> Vec<u8> {
    move |d| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
        e.write_all(d).unwrap();
        e.finish().unwrap()
    }
}

fn brotli(q: u32) -> impl Fn(&[u8]) -> Vec<u8> {
    move |d| {
        let mut out = Vec::new();
        {
            let mut e = brotli::CompressorWriter::new(&mut out, 4096, q, 20);
            e.write_all(d).unwrap();
        }
        out
    }
}

fn zstd(level: i32) -> impl Fn(&[u8]) -> Vec<u8> {
    move |d| zstd::bulk::compress(d, level).unwrap()
}

type Compress = Box<dyn Fn(&[u8]) -> Vec<u8>>;

fn main() {
    let inputs = [("text", corpus_text()), ("json", corpus_json())];
    println!("| coding | level | text ratio | text MB/s | json ratio | json MB/s | µs per 16 KiB (json) |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut rows: Vec<(&str, String, Compress)> = Vec::new();
    for l in [1, 3, 4, 5, 6, 9] {
        rows.push(("gzip", l.to_string(), Box::new(gzip(l))));
    }
    for q in [1, 3, 4, 5, 6, 9, 11] {
        rows.push(("br", q.to_string(), Box::new(brotli(q))));
    }
    for l in [1, 3, 6, 9, 19] {
        rows.push(("zstd", l.to_string(), Box::new(zstd(l))));
    }
    for (name, level, f) in rows {
        let mut cells = Vec::new();
        let mut per16k = 0.0;
        for (kind, data) in &inputs {
            let (size, spb) = measure(data, &f);
            cells.push(format!("{:.2}", data.len() as f64 / size as f64));
            cells.push(format!("{:.0}", 1.0 / spb / 1e6));
            if *kind == "json" {
                per16k = spb * 16384.0 * 1e6;
            }
        }
        println!("| {name} | {level} | {} | {per16k:.0} |", cells.join(" | "));
    }
    for (kind, data) in &inputs {
        println!("\n{kind}: {} bytes", data.len());
    }
}
