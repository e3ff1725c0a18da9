//! Security headers every response should carry.
//!
//! By default: `X-Content-Type-Options: nosniff`,
//! `Referrer-Policy: strict-origin-when-cross-origin`, and framing refused
//! with both `X-Frame-Options: DENY` and, when the response has no
//! `Content-Security-Policy` of its own, `Content-Security-Policy:
//! frame-ancestors 'none'`. `Strict-Transport-Security` is sent only when
//! asked for ([`SecurityHeaders::hsts`]): on a site not served over HTTPS it
//! would lock browsers out. A header the handler already set is left alone.
//!
//! # Examples
//!
//! ```
//! use httpserver::middleware::{FrameOptions, SecurityHeaders};
//! use std::time::Duration;
//!
//! let mut server = httpserver::Server::new(Default::default());
//! server.use_middleware(
//!     SecurityHeaders::new()
//!         .frames(FrameOptions::SameOrigin)
//!         .hsts(Duration::from_secs(31_536_000), true),
//! );
//! ```

use std::time::Duration;

use http::header::{self, HeaderName, HeaderValue};

use super::{Middleware, Next};
use crate::{Request, Response};

/// Who may put the site in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameOptions {
    /// Nobody (`DENY`, `frame-ancestors 'none'`); the default.
    Deny,
    /// Pages of the same origin (`SAMEORIGIN`, `frame-ancestors 'self'`).
    SameOrigin,
    /// Say nothing.
    Allow,
}

/// The security-headers middleware: see the [module docs](self).
#[derive(Debug, Clone)]
#[must_use]
pub struct SecurityHeaders {
    headers: Vec<(HeaderName, HeaderValue)>,
    frames: FrameOptions,
}

impl Default for SecurityHeaders {
    fn default() -> Self {
        SecurityHeaders::new()
    }
}

impl SecurityHeaders {
    /// The defaults listed in the module docs.
    pub fn new() -> Self {
        SecurityHeaders {
            headers: vec![
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
                (
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("strict-origin-when-cross-origin"),
                ),
            ],
            frames: FrameOptions::Deny,
        }
    }

    /// Framing policy (default [`FrameOptions::Deny`]).
    pub fn frames(mut self, frames: FrameOptions) -> Self {
        self.frames = frames;
        self
    }

    /// Sends `Strict-Transport-Security` with `max-age` (and
    /// `includeSubDomains` when asked). Only for sites served over HTTPS.
    pub fn hsts(self, max_age: Duration, include_subdomains: bool) -> Self {
        let mut v = format!("max-age={}", max_age.as_secs());
        if include_subdomains {
            v.push_str("; includeSubDomains");
        }
        self.header(header::STRICT_TRANSPORT_SECURITY, &v)
    }

    /// Another `Referrer-Policy` (default
    /// `strict-origin-when-cross-origin`).
    pub fn referrer_policy(self, policy: &'static str) -> Self {
        self.header(header::REFERRER_POLICY, policy)
    }

    /// Any other header to add when the response lacks it (for example
    /// `Cross-Origin-Opener-Policy`). An invalid value is ignored with a
    /// logged warning.
    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        match HeaderValue::from_str(value) {
            Ok(v) => {
                self.headers.retain(|(n, _)| *n != name);
                self.headers.push((name, v));
            }
            Err(_) => tracing::warn!(%name, value, "invalid security header value ignored"),
        }
        self
    }
}

impl Middleware for SecurityHeaders {
    fn handle(&self, req: &mut Request, next: Next<'_>) -> Response {
        let mut res = next.run(req);
        let h = res.headers_mut();
        for (name, value) in &self.headers {
            if !h.contains_key(name) {
                h.insert(name.clone(), value.clone());
            }
        }
        let (xfo, ancestors) = match self.frames {
            FrameOptions::Deny => ("DENY", "frame-ancestors 'none'"),
            FrameOptions::SameOrigin => ("SAMEORIGIN", "frame-ancestors 'self'"),
            FrameOptions::Allow => return res,
        };
        if !h.contains_key(header::X_FRAME_OPTIONS) {
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static(xfo));
        }
        if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(ancestors),
            );
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::middleware::run_chain;
    use http::StatusCode;
    use std::sync::Arc;

    fn run(mw: SecurityHeaders, make: impl Fn() -> Response) -> Response {
        let chain: Vec<Arc<dyn Middleware>> = vec![Arc::new(mw)];
        let mut req =
            Request::from_http(http::Request::get("/").body(Vec::new()).unwrap()).unwrap();
        run_chain(&chain, &mut req, &|_| make())
    }

    #[test]
    fn defaults() {
        let res = run(SecurityHeaders::new(), || Response::new(StatusCode::OK));
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["content-security-policy"], "frame-ancestors 'none'");
        assert!(
            h.get("strict-transport-security").is_none(),
            "HSTS only when asked"
        );
    }

    #[test]
    fn the_handlers_own_headers_win() {
        let res = run(SecurityHeaders::new(), || {
            Response::new(StatusCode::OK)
                .with_header("content-security-policy", "default-src 'self'")
                .with_header("referrer-policy", "no-referrer")
        });
        let h = res.headers();
        assert_eq!(h["content-security-policy"], "default-src 'self'");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-frame-options"], "DENY");
    }

    #[test]
    fn options() {
        let mw = SecurityHeaders::new()
            .frames(FrameOptions::SameOrigin)
            .hsts(Duration::from_secs(600), true)
            .referrer_policy("same-origin")
            .header(
                HeaderName::from_static("cross-origin-opener-policy"),
                "same-origin",
            );
        let res = run(mw, || Response::new(StatusCode::OK));
        let h = res.headers();
        assert_eq!(h["x-frame-options"], "SAMEORIGIN");
        assert_eq!(h["content-security-policy"], "frame-ancestors 'self'");
        assert_eq!(
            h["strict-transport-security"],
            "max-age=600; includeSubDomains"
        );
        assert_eq!(h["referrer-policy"], "same-origin");
        assert_eq!(h["cross-origin-opener-policy"], "same-origin");
        let res = run(SecurityHeaders::new().frames(FrameOptions::Allow), || {
            Response::new(StatusCode::OK)
        });
        assert!(res.headers().get("x-frame-options").is_none());
        assert!(res.headers().get("content-security-policy").is_none());
    }
}
