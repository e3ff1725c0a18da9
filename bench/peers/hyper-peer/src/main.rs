//! Benchmark peer: a plain hyper 1.x server (no framework) with the same
//! routes as `crates/httpserver/examples/bench.rs`.
//!
//! HTTP/1 only, keep-alive on, TCP_NODELAY on accepted sockets, a tokio
//! multi-thread runtime with one worker per available CPU. Listens on
//! 127.0.0.1:$PORT and exits on SIGTERM.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

#[derive(Serialize)]
struct User<'a> {
    id: &'a str,
}

static TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain");
static APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

fn respond(status: StatusCode, content_type: &HeaderValue, body: Bytes) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(body));
    *res.status_mut() = status;
    res.headers_mut().insert(CONTENT_TYPE, content_type.clone());
    res
}

fn json<T: Serialize>(value: &T) -> Response<Full<Bytes>> {
    match serde_json::to_vec(value) {
        Ok(v) => respond(StatusCode::OK, &APPLICATION_JSON, Bytes::from(v)),
        Err(_) => respond(StatusCode::INTERNAL_SERVER_ERROR, &TEXT_PLAIN, Bytes::new()),
    }
}

/// The router: an exact match for the fixed paths, a prefix match for
/// `/users/:id` (one non-empty segment).
async fn route(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() != Method::GET {
        return Ok(respond(StatusCode::METHOD_NOT_ALLOWED, &TEXT_PLAIN, Bytes::new()));
    }
    let path = req.uri().path();
    let res = match path {
        "/plaintext" => respond(
            StatusCode::OK,
            &TEXT_PLAIN,
            Bytes::from_static(b"Hello, World!"),
        ),
        "/json" => json(&Message {
            message: "Hello, World!",
        }),
        _ => match path.strip_prefix("/users/") {
            Some(id) if !id.is_empty() && !id.contains('/') => json(&User { id }),
            _ => respond(StatusCode::NOT_FOUND, &TEXT_PLAIN, Bytes::new()),
        },
    };
    Ok(res)
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    rt.block_on(serve(port))?;
    // Do not wait for connection tasks still parked on idle keep-alive
    // connections: dropping the runtime cancels them.
    rt.shutdown_background();
    Ok(())
}

async fn serve(port: u16) -> std::io::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut builder = http1::Builder::new();
    // keep-alive is hyper's default; set explicitly. pipeline_flush batches
    // the responses to pipelined requests into one write, hyper's own
    // option for that case.
    builder.keep_alive(true).pipeline_flush(true);
    loop {
        let stream = tokio::select! {
            _ = sigterm.recv() => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // e.g. EMFILE: keep serving the connections already open.
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let conn = builder.serve_connection(TokioIo::new(stream), service_fn(route));
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}
