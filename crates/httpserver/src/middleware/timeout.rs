//! Request timeout: answer the client when a handler takes too long.
//!
//! A synchronous handler cannot be interrupted, so the deadline does not
//! stop it: at the deadline the client gets `503 Service Unavailable` (or
//! the status set with [`Timeout::status`]) with `Retry-After: 1` and
//! `Connection: close`, written by the server's watchdog thread while the
//! handler runs on. The handler keeps its worker only until it returns; its
//! late response is dropped and the connection closed. If the connection
//! still had earlier pipelined answers waiting to be written at the
//! deadline, it is closed instead of answered, so answers never go out of
//! order. A handler that finishes in time is not touched.
//!
//! Outer middleware (logging, metrics) see the timeout status for a request
//! that timed out. Requests built with [`Request::from_http`] have no
//! connection: for them (unit tests) a handler that overran gets the
//! timeout status after it returns.
//!
//! # Examples
//!
//! ```
//! use httpserver::middleware::Timeout;
//! use std::time::Duration;
//!
//! let mut server = httpserver::Server::new(Default::default());
//! server.use_middleware(Timeout::new(Duration::from_secs(10)));
//! ```

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use http::{Method, StatusCode};

use super::{Middleware, Next};
use crate::runtime::watchdog;
use crate::{Request, Response};

/// The timeout middleware: see the [module docs](self).
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct Timeout {
    after: Duration,
    status: StatusCode,
}

impl Timeout {
    /// Answers requests whose handler has not returned `after` the
    /// middleware saw them.
    pub fn new(after: Duration) -> Self {
        watchdog::enable();
        Timeout {
            after,
            status: StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The status sent at the deadline (default 503; 504 suits a handler
    /// that waits on another service).
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    fn late(&self) -> Response {
        let mut res = Response::new(self.status)
            .with_header(http::header::RETRY_AFTER, "1")
            .with_text("request timed out\n");
        res.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
        res
    }
}

impl Middleware for Timeout {
    fn handle(&self, req: &mut Request, next: Next<'_>) -> Response {
        let began = Instant::now();
        let head = req.method() == Method::HEAD;
        let watch = req
            .io()
            .and_then(|io| watchdog::arm(io, self.after, self.status, head));
        let outcome = catch_unwind(AssertUnwindSafe(|| next.run(req)));
        let in_time = watch.as_ref().is_none_or(|w| w.finish());
        let res = match outcome {
            Ok(res) => res,
            // A panic in time goes on to the outer layers (a 500); one after
            // the deadline must not answer a second time.
            Err(payload) if in_time => resume_unwind(payload),
            Err(_) => Response::new(StatusCode::INTERNAL_SERVER_ERROR),
        };
        match watch {
            Some(_) if in_time => res,
            Some(_) => {
                tracing::warn!(
                    method = %req.method(),
                    path = req.path(),
                    took_ms = began.elapsed().as_millis() as u64,
                    limit_ms = self.after.as_millis() as u64,
                    "handler returned after its deadline; its response was dropped"
                );
                let mut late = self.late();
                late.abandoned = true;
                late
            }
            None if began.elapsed() > self.after => self.late(),
            None => res,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::middleware::run_chain;
    use std::sync::Arc;

    #[test]
    fn without_a_connection_an_overrun_is_answered_after_the_fact() {
        let chain: Vec<Arc<dyn Middleware>> =
            vec![Arc::new(Timeout::new(Duration::from_millis(20)))];
        let mut req =
            Request::from_http(http::Request::get("/").body(Vec::new()).unwrap()).unwrap();
        let res = run_chain(&chain, &mut req, &|_| {
            std::thread::sleep(Duration::from_millis(60));
            Response::new(StatusCode::OK)
        });
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()["retry-after"], "1");
        // A handler in time is untouched. With a deadline a preempted test
        // thread cannot overrun: 20 ms could pass before it even returns.
        let chain: Vec<Arc<dyn Middleware>> = vec![Arc::new(Timeout::new(Duration::from_secs(5)))];
        let res = run_chain(&chain, &mut req, &|_| Response::new(StatusCode::OK));
        assert_eq!(res.status(), StatusCode::OK);
    }
}
