//! What the everyday middleware cost per request, in process: the same
//! app and request with no middleware, each of access log (JSON to a
//! discarding writer, flushed every 4096 requests as the flusher thread
//! would), request id and CORS alone, and all three.

#![allow(missing_docs)] // criterion_group! generates undocumented items
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use httpserver::middleware::{AllowOrigin, Cors, LogFormat, Logging, RequestIdLayer};
use httpserver::{Request, Response, Server};

fn app(layers: &[&str]) -> httpserver::App {
    let mut server = Server::new(Default::default());
    for layer in layers {
        match *layer {
            "log" => {
                server.use_middleware(Logging::new(LogFormat::Json).to_writer(std::io::sink()));
            }
            "id" => {
                server.use_middleware(RequestIdLayer::new());
            }
            "cors" => {
                let cors = Cors::builder()
                    .allow_origin(AllowOrigin::list(["https://app.example.com"]))
                    .build()
                    .expect("valid policy");
                server.use_middleware(cors);
            }
            other => panic!("unknown layer {other}"),
        }
    }
    server.get("/plaintext", |_req: &Request| {
        Response::default().with_body("text/plain", &b"Hello, World!"[..])
    });
    server.into_app()
}

fn middleware(c: &mut Criterion) {
    let http = httpserver::http::Request::get("/plaintext")
        .header("host", "localhost:8080")
        .header("origin", "https://app.example.com")
        .body(Vec::new())
        .expect("valid request");
    let mut req = Request::from_http(http).expect("accepted");
    let mut group = c.benchmark_group("middleware");
    for (name, layers) in [
        ("bare", &[][..]),
        ("log", &["log"][..]),
        ("id", &["id"][..]),
        ("cors", &["cors"][..]),
        ("all", &["log", "id", "cors"][..]),
    ] {
        let app = app(layers);
        let mut served = 0u32;
        group.bench_function(name, |b| {
            b.iter(|| {
                let res = app.respond(black_box(&mut req));
                assert_eq!(res.status(), 200);
                // What the log's flusher thread does in a server: without
                // it, lines pile up past the buffer cap and are dropped.
                served = served.wrapping_add(1);
                if served.is_multiple_of(4096) {
                    app.on_shutdown();
                }
                res
            })
        });
        app.on_shutdown();
    }
    group.finish();
}

criterion_group!(benches, middleware);
criterion_main!(benches);
