//! The quick start from the specification: a JSON API in a dozen lines.
//!
//! Run: `cargo run --example quickstart` (listens on 127.0.0.1:$PORT, default 8080).

use httpserver::middleware::Logging;
use httpserver::response::{created, ok};
use httpserver::{Request, Server, ServerConfig};
use serde_json::json;

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let mut server = Server::new(ServerConfig {
        port,
        ..Default::default()
    });
    server.use_middleware(Logging::default());
    server.get("/", |_req: &Request| {
        ok(json!({"message": "Hello, World!"}))
    });
    server.get("/users/:id", |req: &Request| {
        ok(json!({"id": req.param("id")}))
    });
    server.post("/users", |req: &Request| {
        let data: serde_json::Value = req.json()?; // bad JSON -> 400, not a panic
        Ok(created(json!({"id": 1, "user": data})))
    });
    server.run() // blocks until shutdown
}
