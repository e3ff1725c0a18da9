//! The middleware chain.
//!
//! A [`Middleware`] sees each request before the handler and the response
//! after it. It may answer by itself (a failed auth check, a CORS preflight)
//! or call [`Next::run`] to pass the request on. Middleware runs in the order
//! it was added with [`Server::use_middleware`](crate::Server::use_middleware):
//! the first added is the outermost layer, so it sees the request first and
//! the response last.
//!
//! ```text
//!        request ──▶ ┌ logging ─────────────────────────┐
//!                    │  ┌ auth ─────────────────────┐   │
//!                    │  │    handler (route match)  │   │
//!                    │  └───────────────────────────┘   │
//!       response ◀── └──────────────────────────────────┘
//! ```
//!
//! Server-wide middleware wraps every request, including ones that end in
//! 404 or 405, so a CORS layer can answer preflights for any path. Middleware
//! added to a [`Router`](crate::Router) group wraps only that group's routes.
//!
//! # Examples
//!
//! ```
//! use httpserver::middleware::{Middleware, Next};
//! use httpserver::{Request, Response};
//!
//! /// Adds `X-Powered-By` to every response.
//! struct PoweredBy;
//!
//! impl Middleware for PoweredBy {
//!     fn handle(&self, req: &mut Request, next: Next<'_>) -> Response {
//!         next.run(req).with_header("x-powered-by", "httpserver")
//!     }
//! }
//!
//! // A closure works too:
//! let deny_delete = |req: &mut Request, next: Next<'_>| {
//!     if req.method() == http::Method::DELETE {
//!         return httpserver::response::forbidden("read-only");
//!     }
//!     next.run(req)
//! };
//! let mut server = httpserver::Server::new(Default::default());
//! server.use_middleware(PoweredBy);
//! server.use_middleware(deny_delete);
//! ```

use std::sync::Arc;

use crate::{Request, Response};

mod auth;
mod body_limit;
mod compression;
mod cors;
pub mod log_writer;
mod logging;
mod rate_limit;
mod request_id;
mod security_headers;
mod timeout;

pub use auth::{AuthUser, BasicAuth, BearerAuth};
pub use body_limit::BodyLimit;
pub use compression::{
    choose_coding, compressible, Coding, Compression, DEFAULT_BROTLI_LEVEL, DEFAULT_GZIP_LEVEL,
    DEFAULT_ZSTD_LEVEL,
};
pub use cors::{AllowOrigin, Cors, CorsBuilder, CorsError};
pub use logging::{LogFormat, Logging};
#[cfg(feature = "redis")]
pub use rate_limit::RedisStore;
pub use rate_limit::{
    Decision, MemoryStore, OnStoreError, Quota, RateLimit, RateLimitError, RateStore, StoreError,
};
pub use request_id::{RequestId, RequestIdLayer};
pub use security_headers::{FrameOptions, SecurityHeaders};
pub use timeout::Timeout;

/// One layer of the chain.
pub trait Middleware: Send + Sync + 'static {
    /// Handles `req`, usually by calling `next.run(req)` and adjusting the
    /// response.
    fn handle(&self, req: &mut Request, next: Next<'_>) -> Response;

    /// Called once when the server has drained, before it stops: flush
    /// buffers, say goodbye to backends. The default does nothing.
    fn on_shutdown(&self) {}
}

impl<F> Middleware for F
where
    F: for<'a> Fn(&mut Request, Next<'a>) -> Response + Send + Sync + 'static,
{
    fn handle(&self, req: &mut Request, next: Next<'_>) -> Response {
        self(req, next)
    }
}

/// The rest of the chain after the current middleware.
pub struct Next<'a> {
    rest: &'a [Arc<dyn Middleware>],
    endpoint: &'a dyn Fn(&mut Request) -> Response,
}

impl std::fmt::Debug for Next<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Next")
            .field("remaining", &self.rest.len())
            .finish()
    }
}

impl<'a> Next<'a> {
    /// Runs the rest of the chain and the handler.
    pub fn run(self, req: &mut Request) -> Response {
        match self.rest.split_first() {
            Some((first, rest)) => first.handle(
                req,
                Next {
                    rest,
                    endpoint: self.endpoint,
                },
            ),
            None => (self.endpoint)(req),
        }
    }
}

/// Locks, ignoring poisoning: a panic on another thread must not stop the
/// access log or the rate limiter.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Adds `token` to `Vary` unless it is listed already (or `Vary: *`).
pub(crate) fn add_vary(h: &mut http::HeaderMap, token: &'static str) {
    // One lookup: most responses have no `Vary` yet.
    match h.entry(http::header::VARY) {
        http::header::Entry::Vacant(e) => {
            e.insert(http::HeaderValue::from_static(token));
        }
        http::header::Entry::Occupied(mut e) => {
            let present = e.iter().any(|v| {
                v.to_str().is_ok_and(|s| {
                    s.split(',')
                        .any(|t| t.trim() == "*" || t.trim().eq_ignore_ascii_case(token))
                })
            });
            if !present {
                e.append(http::HeaderValue::from_static(token));
            }
        }
    }
}

/// Runs `chain` around `endpoint`.
pub(crate) fn run_chain(
    chain: &[Arc<dyn Middleware>],
    req: &mut Request,
    endpoint: &dyn Fn(&mut Request) -> Response,
) -> Response {
    Next {
        rest: chain,
        endpoint,
    }
    .run(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    fn tag(name: &'static str) -> Arc<dyn Middleware> {
        Arc::new(move |req: &mut Request, next: Next<'_>| {
            let mut res = next.run(req);
            let before = res
                .headers()
                .get("x-order")
                .map(|v| v.to_str().unwrap_or("").to_string())
                .unwrap_or_default();
            res.headers_mut()
                .insert("x-order", format!("{before}{name}").parse().expect("valid"));
            res
        })
    }

    #[test]
    fn runs_in_order_and_can_short_circuit() {
        let mut req =
            Request::from_http(http::Request::get("/").body(Vec::new()).unwrap()).unwrap();
        let chain = vec![tag("a"), tag("b")];
        let res = run_chain(&chain, &mut req, &|_| Response::new(StatusCode::OK));
        // The inner layer tags first on the way out.
        assert_eq!(res.headers()["x-order"], "ba");

        let stop: Arc<dyn Middleware> =
            Arc::new(|_: &mut Request, _: Next<'_>| Response::new(StatusCode::UNAUTHORIZED));
        let chain = vec![tag("a"), stop, tag("c")];
        let res = run_chain(&chain, &mut req, &|_| panic!("handler must not run"));
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(res.headers()["x-order"], "a");
    }

    #[test]
    fn add_vary_inserts_appends_and_never_duplicates() {
        let vary = |h: &http::HeaderMap| -> Vec<String> {
            h.get_all(http::header::VARY)
                .iter()
                .map(|v| v.to_str().unwrap().to_string())
                .collect()
        };
        let mut h = http::HeaderMap::new();
        add_vary(&mut h, "Origin");
        assert_eq!(vary(&h), ["Origin"]);
        add_vary(&mut h, "Origin");
        assert_eq!(vary(&h), ["Origin"]);
        add_vary(&mut h, "Accept-Encoding");
        assert_eq!(vary(&h), ["Origin", "Accept-Encoding"]);
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::VARY,
            "accept-encoding, ORIGIN".parse().unwrap(),
        );
        add_vary(&mut h, "Origin");
        assert_eq!(vary(&h), ["accept-encoding, ORIGIN"]);
        let mut h = http::HeaderMap::new();
        h.insert(http::header::VARY, "*".parse().unwrap());
        add_vary(&mut h, "Origin");
        assert_eq!(vary(&h), ["*"]);
    }
}
