//! CORS: Cross-Origin Resource Sharing, as the Fetch standard defines it.
//!
//! [`Cors::builder`] starts from a policy that allows nothing;
//! [`Cors::permissive`] allows any origin, method and header without
//! credentials. [`CorsBuilder::build`] checks the policy and refuses the
//! combinations browsers reject (a `*` together with credentials) with a
//! [`CorsError`] at startup, never at request time.
//!
//! What the middleware does:
//!
//! - A preflight (`OPTIONS` with `Origin` and
//!   `Access-Control-Request-Method`) is answered `204` here, without
//!   reaching the handler. From an allowed origin it carries
//!   `Access-Control-Allow-Origin`, `-Allow-Methods`, `-Allow-Headers` (when
//!   headers were asked for), `-Allow-Credentials` and `-Max-Age` as
//!   configured; from any other origin it carries none of them (the browser
//!   then blocks the request).
//! - Any other request with an allowed `Origin` runs as usual and its
//!   response gets `Access-Control-Allow-Origin`, `-Allow-Credentials` and
//!   `-Expose-Headers`. A disallowed origin gets the handler's answer with no
//!   CORS header: not an error page.
//! - `Vary: Origin` is added to every response whose CORS headers depend on
//!   the origin (every policy except "any origin"), including responses to
//!   requests without `Origin`, so a cache never hands one origin's answer to
//!   another; preflight answers also vary on the two request headers they
//!   read.
//!
//! Origins are compared ASCII case-insensitively (scheme and host are);
//! the answer echoes the request's own `Origin`. The opaque origin `null`
//! (sandboxed frames, `file:` pages, some redirects) is allowed only when it
//! is listed explicitly, or with [`AllowOrigin::any`] (which answers `*`):
//! [`AllowOrigin::mirror`] never reflects it.
//!
//! # Examples
//!
//! ```
//! use httpserver::middleware::{AllowOrigin, Cors};
//! use std::time::Duration;
//!
//! let cors = Cors::builder()
//!     .allow_origin(AllowOrigin::list(["https://app.example.com"]))
//!     .allow_methods([http::Method::GET, http::Method::POST])
//!     .allow_headers(["content-type", "authorization"])
//!     .allow_credentials(true)
//!     .max_age(Duration::from_secs(600))
//!     .build()?;
//! let mut server = httpserver::Server::new(Default::default());
//! server.use_middleware(cors);
//! # Ok::<(), httpserver::middleware::CorsError>(())
//! ```
//!
//! And the mistake browsers would reject, refused when it is built:
//!
//! ```
//! use httpserver::middleware::{AllowOrigin, Cors};
//! let err = Cors::builder()
//!     .allow_origin(AllowOrigin::any())
//!     .allow_credentials(true)
//!     .build()
//!     .unwrap_err();
//! assert!(err.to_string().contains("credentials"));
//! ```

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderName, HeaderValue};
use http::{Method, StatusCode};

use super::{Middleware, Next};
use crate::{Request, Response};

type Predicate = dyn Fn(&str, &Request) -> bool + Send + Sync;

/// Which origins may read responses.
#[derive(Clone)]
pub struct AllowOrigin(OriginRule);

#[derive(Clone)]
enum OriginRule {
    None,
    Any,
    Mirror,
    List(Vec<String>),
    Predicate(Arc<Predicate>),
}

impl fmt::Debug for AllowOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            OriginRule::None => f.write_str("AllowOrigin::none"),
            OriginRule::Any => f.write_str("AllowOrigin::any"),
            OriginRule::Mirror => f.write_str("AllowOrigin::mirror"),
            OriginRule::List(l) => f.debug_tuple("AllowOrigin::list").field(l).finish(),
            OriginRule::Predicate(_) => f.write_str("AllowOrigin::predicate(..)"),
        }
    }
}

impl AllowOrigin {
    /// No origin (the default).
    pub fn none() -> Self {
        AllowOrigin(OriginRule::None)
    }

    /// Any origin, answered with `*`. Cannot be combined with credentials.
    pub fn any() -> Self {
        AllowOrigin(OriginRule::Any)
    }

    /// Any origin except `null`, answered with the request's own origin
    /// (so credentials are possible). Use with care: any site can then read
    /// credentialed responses.
    pub fn mirror() -> Self {
        AllowOrigin(OriginRule::Mirror)
    }

    /// Exactly these origins (`scheme://host[:port]`, or `null`); checked
    /// when the policy is built.
    pub fn list<I, S>(origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        AllowOrigin(OriginRule::List(
            origins.into_iter().map(Into::into).collect(),
        ))
    }

    /// Origins for which `f(origin, request)` is true.
    pub fn predicate(f: impl Fn(&str, &Request) -> bool + Send + Sync + 'static) -> Self {
        AllowOrigin(OriginRule::Predicate(Arc::new(f)))
    }
}

/// A mistake in a CORS policy, found when it is built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorsError {
    /// `*` (any origin, method, header or exposed header) together with
    /// credentials: browsers ignore the wildcard then, so the policy would
    /// not do what it says.
    WildcardWithCredentials(&'static str),
    /// A listed origin is not `scheme://host[:port]` or `null`.
    InvalidOrigin(String),
    /// A header name or method is not a valid token.
    InvalidToken(String),
}

impl fmt::Display for CorsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorsError::WildcardWithCredentials(what) => write!(
                f,
                "CORS: `*` for {what} cannot be combined with allow_credentials(true) \
                 (browsers reject it); list them, or mirror the request"
            ),
            CorsError::InvalidOrigin(o) => write!(
                f,
                "CORS: invalid origin {o:?}: expected scheme://host[:port] (no path, no \
                 trailing slash) or null"
            ),
            CorsError::InvalidToken(t) => write!(f, "CORS: invalid header or method name {t:?}"),
        }
    }
}

impl std::error::Error for CorsError {}

/// A list of methods or headers, `*`, or whatever the preflight asked for.
#[derive(Debug, Clone)]
enum Allow {
    List(Vec<String>),
    Any,
    Mirror,
}

/// Builds a [`Cors`] policy; see the [module docs](self).
#[derive(Debug, Clone)]
#[must_use]
pub struct CorsBuilder {
    origin: AllowOrigin,
    methods: Allow,
    headers: Allow,
    expose: Allow,
    credentials: bool,
    max_age: Option<Duration>,
}

impl CorsBuilder {
    /// Which origins (default none).
    pub fn allow_origin(mut self, origin: AllowOrigin) -> Self {
        self.origin = origin;
        self
    }

    /// Methods a cross-origin request may use (default GET, HEAD, POST).
    pub fn allow_methods<I: IntoIterator<Item = Method>>(mut self, methods: I) -> Self {
        self.methods = Allow::List(methods.into_iter().map(|m| m.to_string()).collect());
        self
    }

    /// Any method (`*`; without credentials only).
    pub fn allow_any_method(mut self) -> Self {
        self.methods = Allow::Any;
        self
    }

    /// Allows whatever method a preflight asks for (works with credentials).
    pub fn mirror_request_method(mut self) -> Self {
        self.methods = Allow::Mirror;
        self
    }

    /// Request headers a cross-origin request may send (default none
    /// beyond the CORS-safelisted ones).
    pub fn allow_headers<I, S>(mut self, headers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.headers = Allow::List(headers.into_iter().map(Into::into).collect());
        self
    }

    /// Any request header (`*`; without credentials only).
    pub fn allow_any_header(mut self) -> Self {
        self.headers = Allow::Any;
        self
    }

    /// Allows whatever headers a preflight asks for (works with credentials).
    pub fn mirror_request_headers(mut self) -> Self {
        self.headers = Allow::Mirror;
        self
    }

    /// Response headers scripts may read beyond the safelisted ones
    /// (default none).
    pub fn expose_headers<I, S>(mut self, headers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.expose = Allow::List(headers.into_iter().map(Into::into).collect());
        self
    }

    /// Exposes every response header (`*`; without credentials only).
    pub fn expose_any_header(mut self) -> Self {
        self.expose = Allow::Any;
        self
    }

    /// Whether cookies and HTTP auth may be sent (default false).
    pub fn allow_credentials(mut self, on: bool) -> Self {
        self.credentials = on;
        self
    }

    /// How long a browser may cache a preflight answer (default: not sent,
    /// so browsers use their own default of 5 s).
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// Checks the policy.
    ///
    /// # Errors
    ///
    /// [`CorsError`] for a `*` with credentials, a malformed origin, or an
    /// invalid header or method name.
    pub fn build(self) -> Result<Cors, CorsError> {
        if self.credentials {
            if matches!(self.origin.0, OriginRule::Any) {
                return Err(CorsError::WildcardWithCredentials("origins"));
            }
            if matches!(self.methods, Allow::Any) {
                return Err(CorsError::WildcardWithCredentials("methods"));
            }
            if matches!(self.headers, Allow::Any) {
                return Err(CorsError::WildcardWithCredentials("headers"));
            }
            if matches!(self.expose, Allow::Any) {
                return Err(CorsError::WildcardWithCredentials("exposed headers"));
            }
        }
        if let OriginRule::List(list) = &self.origin.0 {
            for o in list {
                check_origin(o)?;
            }
        }
        let methods = joined(&self.methods, |m| Method::from_bytes(m.as_bytes()).is_ok())?;
        let headers = joined(&self.headers, |h| {
            HeaderName::from_bytes(h.as_bytes()).is_ok()
        })?;
        let expose = joined(&self.expose, |h| {
            HeaderName::from_bytes(h.as_bytes()).is_ok()
        })?;
        let origin = match self.origin.0 {
            OriginRule::List(list) => {
                OriginRule::List(list.into_iter().map(|o| o.to_ascii_lowercase()).collect())
            }
            other => other,
        };
        let max_age = self.max_age.map(|d| HeaderValue::from(d.as_secs()));
        Ok(Cors {
            inner: Arc::new(Policy {
                id: NEXT_POLICY.fetch_add(1, Ordering::Relaxed),
                origin,
                methods,
                headers,
                expose,
                credentials: self.credentials,
                max_age,
            }),
        })
    }
}

/// The list as one header value (`None` for an empty list).
fn joined(allow: &Allow, valid: impl Fn(&str) -> bool) -> Result<Joined, CorsError> {
    Ok(match allow {
        Allow::Any => Joined::Value(Some(HeaderValue::from_static("*"))),
        Allow::Mirror => Joined::Mirror,
        Allow::List(items) => {
            if let Some(bad) = items.iter().find(|i| !valid(i)) {
                return Err(CorsError::InvalidToken(bad.clone()));
            }
            if items.is_empty() {
                Joined::Value(None)
            } else {
                let v = items.join(", ");
                Joined::Value(Some(
                    HeaderValue::from_str(&v).map_err(|_| CorsError::InvalidToken(v))?,
                ))
            }
        }
    })
}

fn check_origin(o: &str) -> Result<(), CorsError> {
    if o == "null" {
        return Ok(());
    }
    let bad = || CorsError::InvalidOrigin(o.to_string());
    let (scheme, rest) = o.split_once("://").ok_or_else(bad)?;
    let scheme_ok = !scheme.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let host_ok = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':' | '[' | ']'));
    if scheme_ok && host_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

#[derive(Debug, Clone)]
enum Joined {
    Value(Option<HeaderValue>),
    Mirror,
}

#[derive(Debug)]
struct Policy {
    /// Names the policy in each thread's [`LISTED`] copies.
    id: u64,
    origin: OriginRule,
    methods: Joined,
    headers: Joined,
    expose: Joined,
    credentials: bool,
    max_age: Option<HeaderValue>,
}

impl fmt::Debug for OriginRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        AllowOrigin(self.clone()).fmt(f)
    }
}

/// The CORS middleware: see the [module docs](self).
#[derive(Debug, Clone)]
pub struct Cors {
    inner: Arc<Policy>,
}

impl Cors {
    /// A builder that allows nothing until told: default methods GET, HEAD,
    /// POST; no origin, headers, exposed headers, credentials or max-age.
    pub fn builder() -> CorsBuilder {
        CorsBuilder {
            origin: AllowOrigin::none(),
            methods: Allow::List(vec!["GET".into(), "HEAD".into(), "POST".into()]),
            headers: Allow::List(Vec::new()),
            expose: Allow::List(Vec::new()),
            credentials: false,
            max_age: None,
        }
    }

    /// Any origin, method and header, no credentials; what `--cors` with
    /// no list turns on.
    pub fn permissive() -> Cors {
        Cors {
            inner: Arc::new(Policy {
                id: NEXT_POLICY.fetch_add(1, Ordering::Relaxed),
                origin: OriginRule::Any,
                methods: Joined::Value(Some(HeaderValue::from_static("*"))),
                headers: Joined::Value(Some(HeaderValue::from_static("*"))),
                expose: Joined::Value(None),
                credentials: false,
                max_age: None,
            }),
        }
    }
}

/// Numbers policies for [`LISTED`] (an address could be reused).
static NEXT_POLICY: AtomicU64 = AtomicU64::new(0);
/// Most policies whose values one thread keeps. A thread that uses more
/// (or a program that keeps building new ones) echoes the others as
/// before, with a value made per response: nothing is evicted, so no
/// pattern of use can make every lookup miss and rebuild a list.
const LISTED_POLICIES: usize = 32;

thread_local! {
    /// This thread's header values of the listed origins of the first
    /// policies it used. Echoing a listed origin clones one: a reference
    /// count only this thread touches, instead of an allocation, a copy and
    /// a validation per response.
    static LISTED: RefCell<Vec<(u64, Vec<Option<HeaderValue>>)>> =
        const { RefCell::new(Vec::new()) };
}

/// The header value of entry `i` of the origin list of policy `id`.
fn listed_value(id: u64, list: &[String], i: usize) -> Option<HeaderValue> {
    LISTED
        .try_with(|cell| {
            let mut kept = cell.try_borrow_mut().ok()?;
            let at = match kept.iter().position(|(p, _)| *p == id) {
                Some(at) => at,
                None if kept.len() >= LISTED_POLICIES => return None,
                None => {
                    let values = list.iter().map(|o| HeaderValue::from_str(o).ok());
                    kept.push((id, values.collect()));
                    kept.len() - 1
                }
            };
            kept[at].1.get(i).cloned().flatten()
        })
        .ok()
        .flatten()
}

impl Policy {
    /// The `Access-Control-Allow-Origin` value for `origin`, if allowed.
    /// Works on the header's bytes: only a predicate needs text.
    fn allow(&self, origin: &[u8], req: &Request) -> Option<HeaderValue> {
        // Serialized origins are ASCII; anything else is never echoed.
        let echo = || {
            origin
                .is_ascii()
                .then(|| HeaderValue::from_bytes(origin).ok())
                .flatten()
        };
        match &self.origin {
            OriginRule::None => None,
            OriginRule::Any => Some(HeaderValue::from_static("*")),
            OriginRule::Mirror if origin == b"null" => None,
            OriginRule::Mirror => echo(),
            OriginRule::List(list) => {
                let i = list
                    .iter()
                    .position(|o| o.as_bytes().eq_ignore_ascii_case(origin))?;
                // The value must be the request's origin byte for byte;
                // browsers send the lowercase form the list holds.
                if list[i].as_bytes() == origin {
                    listed_value(self.id, list, i).or_else(echo)
                } else {
                    echo()
                }
            }
            OriginRule::Predicate(f) => std::str::from_utf8(origin)
                .is_ok_and(|o| f(o, req))
                .then(echo)
                .flatten(),
        }
    }

    /// Does the answer depend on the request's origin?
    fn varies(&self) -> bool {
        !matches!(self.origin, OriginRule::Any)
    }

    fn preflight(&self, req: &Request, origin: Option<&[u8]>) -> Response {
        let mut res = Response::new(StatusCode::NO_CONTENT);
        let h = res.headers_mut();
        let vary = if self.varies() {
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        } else {
            "Access-Control-Request-Method, Access-Control-Request-Headers"
        };
        h.append(header::VARY, HeaderValue::from_static(vary));
        let Some(allow) = origin.and_then(|o| self.allow(o, req)) else {
            return res;
        };
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        if self.credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        let asked_method = req.header_bytes("access-control-request-method");
        let methods = match &self.methods {
            Joined::Value(v) => v.clone(),
            Joined::Mirror => asked_method.and_then(|m| HeaderValue::from_bytes(m).ok()),
        };
        if let Some(v) = methods {
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
        }
        let asked_headers = req
            .header_bytes("access-control-request-headers")
            .filter(|v| !v.iter().all(|b| *b == b' ' || *b == b'\t'));
        if asked_headers.is_some() {
            let headers = match &self.headers {
                Joined::Value(v) => v.clone(),
                Joined::Mirror => asked_headers.and_then(|v| HeaderValue::from_bytes(v).ok()),
            };
            if let Some(v) = headers {
                h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
            }
        }
        if let Some(age) = &self.max_age {
            h.insert(header::ACCESS_CONTROL_MAX_AGE, age.clone());
        }
        res
    }

    fn decorate(&self, res: &mut Response, allow: Option<HeaderValue>) {
        let h = res.headers_mut();
        if self.varies() {
            super::add_vary(h, "Origin");
        }
        let Some(allow) = allow else { return };
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        if self.credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Joined::Value(Some(v)) = &self.expose {
            h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v.clone());
        }
    }
}

impl Middleware for Cors {
    fn handle(&self, req: &mut Request, next: Next<'_>) -> Response {
        let policy = &*self.inner;
        let origin = req.header_bytes("origin");
        let is_preflight = req.method() == Method::OPTIONS
            && origin.is_some()
            && req.header_bytes("access-control-request-method").is_some();
        if is_preflight {
            return policy.preflight(req, origin);
        }
        // Decided before the handler runs (the request is lent to it next).
        let allow = origin.and_then(|o| policy.allow(o, req));
        let mut res = next.run(req);
        policy.decorate(&mut res, allow);
        res
    }
}

#[cfg(test)]
mod tests;
