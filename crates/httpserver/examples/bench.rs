//! The routes the benchmark compares against other servers: `/plaintext`,
//! `/json` (serialised per request) and `/users/:id`.
//!
//! Run: `PORT=8080 cargo run --release --example bench`.

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
        ..Default::default()
    });
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
