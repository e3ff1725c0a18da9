//! A smaller request-body limit for some routes.
//!
//! The server reads at most `ServerConfig::max_body_size` bytes of any
//! body (413 beyond that, before the handler, and before `100 Continue`
//! when the length is declared). `BodyLimit` lowers the bound for the
//! routes it wraps (a group, or one route mounted as a group): a body over
//! the limit gets `413 Payload Too Large` and never reaches the handler.
//!
//! # Examples
//!
//! ```
//! use httpserver::middleware::BodyLimit;
//! use httpserver::{Request, Router, Server};
//!
//! let mut server = Server::new(Default::default());
//! let mut comments = Router::new();
//! comments.use_middleware(BodyLimit::new(4 * 1024));
//! comments.post("/", |req: &Request| format!("{} bytes\n", req.body().len()));
//! server.mount("/comments", comments);
//! ```

use http::StatusCode;

use super::{Middleware, Next};
use crate::{Request, Response};

/// The body-limit middleware: see the [module docs](self).
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct BodyLimit {
    max: u64,
}

impl BodyLimit {
    /// Bodies of at most `max` bytes.
    pub fn new(max: u64) -> Self {
        BodyLimit { max }
    }
}

impl Middleware for BodyLimit {
    fn handle(&self, req: &mut Request, next: Next<'_>) -> Response {
        let declared = req
            .header("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        let len = declared.unwrap_or(0).max(req.body().len() as u64);
        if len > self.max {
            tracing::info!(
                path = req.path(),
                len,
                max = self.max,
                "request body over the route's limit: 413"
            );
            return Response::new(StatusCode::PAYLOAD_TOO_LARGE)
                .with_text(format!("request body over {} bytes\n", self.max));
        }
        next.run(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::middleware::run_chain;
    use std::sync::Arc;

    fn run(max: u64, body: &[u8]) -> StatusCode {
        let chain: Vec<Arc<dyn Middleware>> = vec![Arc::new(BodyLimit::new(max))];
        let mut req = Request::from_http(
            http::Request::post("/")
                .header("content-length", body.len().to_string())
                .body(body.to_vec())
                .unwrap(),
        )
        .unwrap();
        run_chain(&chain, &mut req, &|_| Response::new(StatusCode::OK)).status()
    }

    #[test]
    fn limits() {
        assert_eq!(run(10, b"0123456789"), StatusCode::OK);
        assert_eq!(run(10, b"0123456789a"), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(run(0, b""), StatusCode::OK);
        assert_eq!(run(0, b"x"), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
