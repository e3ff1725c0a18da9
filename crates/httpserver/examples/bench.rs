//! The routes the benchmark compares against other servers: `/plaintext`,
//! `/json` (serialised per request) and `/users/:id`.
//!
//! Run: `PORT=8080 cargo run --release --example bench`. It sends no
//! `Server` header, like the benchmark's peers.
//!
//! With `BENCH_MIDDLEWARE=1` (or a comma list of `log`, `id`, `cors`) the
//! everyday middleware are on, as an
//! application would use them: an access log in JSON appended to
//! `BENCH_ACCESS_LOG` (default `access.log`), request ids, and CORS for
//! `https://app.example.com`. `bench/run.py` runs that as `httpserver-mw`.
//!
//! `BENCH_WAIT_NAP` (such as `0` or `20us`) overrides
//! [`ServerConfig::wait_nap`], to measure it.

use httpserver::middleware::{AllowOrigin, Cors, LogFormat, Logging, RequestIdLayer};
use httpserver::response::ok;
use httpserver::{Request, Response, Server, ServerConfig};
use serde::Serialize;

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

#[derive(Serialize)]
struct User<'a> {
    id: &'a str,
}

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let mut server = Server::new(ServerConfig {
        port,
        // hyper and actix-web send no `Server` header: without ours every
        // server in the benchmark sends the same header set and the same
        // number of bytes, so the load generator's work per response is
        // the same for all.
        server_header: None,
        wait_nap: match std::env::var("BENCH_WAIT_NAP") {
            Ok(text) => httpserver::parse_duration(&text)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
            Err(_) => ServerConfig::default().wait_nap,
        },
        ..Default::default()
    });
    // "1" or a comma list of log, id, cors (to measure one at a time).
    if let Ok(which) = std::env::var("BENCH_MIDDLEWARE") {
        let on = |name: &str| which == "1" || which.split(',').any(|w| w == name);
        if on("log") {
            let path = std::env::var("BENCH_ACCESS_LOG").unwrap_or_else(|_| "access.log".into());
            server.use_middleware(Logging::new(LogFormat::Json).to_file(path)?);
        }
        if on("id") {
            server.use_middleware(RequestIdLayer::new());
        }
        if on("cors") {
            let cors = Cors::builder()
                .allow_origin(AllowOrigin::list(["https://app.example.com"]))
                .build()
                .map_err(std::io::Error::other)?;
            server.use_middleware(cors);
        }
    }
    server.get("/plaintext", |_req: &Request| {
        Response::default().with_body("text/plain", &b"Hello, World!"[..])
    });
    server.get("/json", |_req: &Request| {
        Response::default().with_json(&Message {
            message: "Hello, World!",
        })
    });
    server.get("/users/:id", |req: &Request| {
        ok(httpserver::Json(User {
            id: req.param("id").unwrap_or(""),
        }))
    });
    server.run()
}
