//! httpserver: a production-grade HTTP/1.1 server with synchronous handlers,
//! built from sockets up.
//!
//! Handlers are plain functions of a [`Request`]; the server under them has
//! its own strict HTTP/1.1 codec, an epoll runtime where idle connections
//! hold no thread, a bounded worker pool, per-phase timeouts and graceful
//! shutdown.
//!
//! # Quick start
//!
//! ```no_run
//! use httpserver::{Server, ServerConfig, Request};
//! use httpserver::response::{ok, created};
//! use httpserver::middleware::Logging;
//! use serde_json::json;
//!
//! fn main() -> std::io::Result<()> {
//!     let mut server = Server::new(ServerConfig { port: 8080, ..Default::default() });
//!     server.use_middleware(Logging::default());
//!     server.get("/", |_req: &Request| ok(json!({"message": "Hello, World!"})));
//!     server.get("/users/:id", |req: &Request| ok(json!({"id": req.param("id")})));
//!     server.post("/users", |req: &Request| {
//!         let data: serde_json::Value = req.json()?;      // bad JSON -> 400, not a panic
//!         Ok(created(json!({"id": 1, "user": data})))
//!     });
//!     server.run()                                         // blocks until shutdown
//! }
//! ```
//!
//! # Modules
//!
//! - [`codec`]: the HTTP/1.1 parser and encoder, pure functions over bytes.
//! - [`router`]: the route tree (`:param`, `*wildcard`, 405 with `Allow`).
//! - [`middleware`]: the middleware chain and the middleware that come
//!   with it: access logging, request ids, CORS, compression, rate
//!   limiting, security headers, auth, timeouts.
//! - [`config`]: [`ServerConfig`] and the serde-ready settings of the
//!   middleware ([`config::MiddlewareConfig`]).
//! - [`response`]: response helpers (`ok`, `created`, `not_found`, ...).
#![cfg_attr(not(test), deny(clippy::unwrap_used))]
#![doc(test(attr(deny(warnings))))]

pub mod codec;
pub mod config;
mod error;
mod handler;
pub mod handlers;
pub mod middleware;
mod request;
pub mod response;
pub mod router;
mod runtime;
mod server;

pub use config::{parse_duration, ConfigError, ServerConfig};
pub use error::Error;
pub use handler::Handler;
pub use request::Request;
pub use response::{IntoResponse, Json, Response};
pub use router::Router;
pub use runtime::{ServerState, ShutdownHandle, Stats};
pub use server::{App, RunningServer, Server};

pub use http;
