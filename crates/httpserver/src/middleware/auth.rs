//! HTTP authentication helpers: Basic (RFC 7617) and Bearer (RFC 6750).
//!
//! A request without valid credentials gets `401 Unauthorized` with the
//! `WWW-Authenticate` challenge the scheme defines, and never reaches the
//! handler. Passwords and tokens are compared in constant time (the time
//! does not depend on where the first differing byte is, nor on which of
//! several accepted values is being compared). The authenticated user name
//! (Basic) or token (Bearer) is stored as an [`AuthUser`] in the request's
//! extensions.
//!
//! # Examples
//!
//! ```
//! use httpserver::middleware::{AuthUser, BasicAuth, BearerAuth};
//! use httpserver::{Request, Router, Server};
//!
//! let mut server = Server::new(Default::default());
//! let mut admin = Router::new();
//! admin.use_middleware(BasicAuth::new("admin area").user("ada", "correct horse"));
//! admin.get("/", |req: &Request| {
//!     let who = req.extensions().get::<AuthUser>().map(|u| u.0.clone()).unwrap_or_default();
//!     format!("hello {who}\n")
//! });
//! server.mount("/admin", admin);
//!
//! let mut api = Router::new();
//! api.use_middleware(BearerAuth::new("api").token("s3cr3t-token"));
//! server.mount("/api", api);
//! ```

use std::fmt;
use std::sync::Arc;

use http::header::{self, HeaderValue};
use http::StatusCode;

use super::{Middleware, Next};
use crate::{Request, Response};

/// Who was authenticated: the Basic user name, or the Bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser(pub String);

type Verify = dyn Fn(&str, &str) -> bool + Send + Sync;
type VerifyToken = dyn Fn(&str) -> bool + Send + Sync;

/// Basic authentication: see the [module docs](self).
#[must_use]
pub struct BasicAuth {
    challenge: HeaderValue,
    users: Vec<(String, String)>,
    verify: Option<Arc<Verify>>,
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("challenge", &self.challenge)
            .field("users", &self.users.len())
            .finish()
    }
}

impl BasicAuth {
    /// Accepts nobody until users or a verifier are added; `realm` is shown
    /// by browsers in the login prompt.
    pub fn new(realm: &str) -> Self {
        let v = format!("Basic realm=\"{}\", charset=\"UTF-8\"", quote(realm));
        BasicAuth {
            challenge: HeaderValue::from_str(&v)
                .unwrap_or(HeaderValue::from_static("Basic realm=\"restricted\"")),
            users: Vec::new(),
            verify: None,
        }
    }

    /// Accepts `name` with `password`.
    pub fn user(mut self, name: &str, password: &str) -> Self {
        self.users.push((name.to_string(), password.to_string()));
        self
    }

    /// Accepts what `f(name, password)` accepts (for hashed password
    /// stores; make `f` constant-time itself).
    pub fn verify(mut self, f: impl Fn(&str, &str) -> bool + Send + Sync + 'static) -> Self {
        self.verify = Some(Arc::new(f));
        self
    }

    fn check(&self, req: &Request) -> Option<String> {
        let value = req.header("authorization")?;
        let (scheme, b64) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64_decode(b64.trim())?;
        let text = String::from_utf8(decoded).ok()?;
        let (name, password) = text.split_once(':')?;
        // Compare against every user, so timing says nothing about which
        // name exists.
        let mut ok = false;
        for (n, p) in &self.users {
            ok |= ct_eq(n.as_bytes(), name.as_bytes()) & ct_eq(p.as_bytes(), password.as_bytes());
        }
        if let Some(f) = &self.verify {
            ok |= f(name, password);
        }
        ok.then(|| name.to_string())
    }
}

impl Middleware for BasicAuth {
    fn handle(&self, req: &mut Request, next: Next<'_>) -> Response {
        match self.check(req) {
            Some(user) => {
                req.extensions_mut().insert(AuthUser(user));
                next.run(req)
            }
            None => Response::new(StatusCode::UNAUTHORIZED)
                .with_header(header::WWW_AUTHENTICATE, self.challenge.clone())
                .with_text("authentication required\n"),
        }
    }
}

/// Bearer-token authentication: see the [module docs](self).
#[must_use]
pub struct BearerAuth {
    realm: String,
    tokens: Vec<String>,
    verify: Option<Arc<VerifyToken>>,
}

impl fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuth")
            .field("realm", &self.realm)
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

impl BearerAuth {
    /// Accepts no token until some are added.
    pub fn new(realm: &str) -> Self {
        BearerAuth {
            realm: quote(realm),
            tokens: Vec::new(),
            verify: None,
        }
    }

    /// Accepts `token`.
    pub fn token(mut self, token: &str) -> Self {
        self.tokens.push(token.to_string());
        self
    }

    /// Accepts what `f(token)` accepts (JWT checks, a token table...).
    pub fn verify(mut self, f: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.verify = Some(Arc::new(f));
        self
    }
}

impl Middleware for BearerAuth {
    fn handle(&self, req: &mut Request, next: Next<'_>) -> Response {
        let presented = req.header("authorization").and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        });
        let Some(token) = presented.filter(|t| !t.is_empty()) else {
            // RFC 6750 section 3.1: no error code when no credentials came.
            let v = format!("Bearer realm=\"{}\"", self.realm);
            return Response::new(StatusCode::UNAUTHORIZED)
                .with_header(header::WWW_AUTHENTICATE, v)
                .with_text("authentication required\n");
        };
        let mut ok = false;
        for t in &self.tokens {
            ok |= ct_eq(t.as_bytes(), token.as_bytes());
        }
        if let Some(f) = &self.verify {
            ok |= f(&token);
        }
        if !ok {
            let v = format!(
                "Bearer realm=\"{}\", error=\"invalid_token\", error_description=\"the token is not valid\"",
                self.realm
            );
            return Response::new(StatusCode::UNAUTHORIZED)
                .with_header(header::WWW_AUTHENTICATE, v)
                .with_text("invalid token\n");
        }
        req.extensions_mut().insert(AuthUser(token));
        next.run(req)
    }
}

/// Escapes `"` and `\` for a quoted-string.
fn quote(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

/// Equal bytes, in time that depends only on the lengths.
///
/// ```text
/// ct_eq(b"secret", b"secret") == true; ct_eq(b"secret", b"secreT") == false
/// ```
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().max(b.len());
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

/// Standard base64 with padding (RFC 4648 section 4); `None` if malformed.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(4) || bytes.len() > 16 * 1024 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (i, chunk) in bytes.chunks(4).enumerate() {
        let last = i == bytes.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | val(c)?;
        }
        n <<= 6 * pad as u32;
        let three = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&three[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::middleware::run_chain;

    fn run(mw: impl Middleware, auth: Option<&str>) -> (Response, Option<String>) {
        let chain: Vec<Arc<dyn Middleware>> = vec![Arc::new(mw)];
        let mut b = http::Request::get("/");
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        let mut req = Request::from_http(b.body(Vec::new()).unwrap()).unwrap();
        let seen = std::sync::Mutex::new(None);
        let res = run_chain(&chain, &mut req, &|r| {
            *seen.lock().unwrap() = r.extensions().get::<AuthUser>().map(|u| u.0.clone());
            Response::new(StatusCode::OK)
        });
        (res, seen.into_inner().unwrap())
    }

    #[test]
    fn base64() {
        assert_eq!(base64_decode("YWRhOnB3").unwrap(), b"ada:pw");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert_eq!(base64_decode("YWI=").unwrap(), b"ab");
        assert_eq!(base64_decode("").unwrap(), b"");
        for bad in ["YQ", "YQ=", "Y===", "YQ==YQ==", "YW!j", "===="] {
            assert!(base64_decode(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn constant_time_comparison_is_still_equality() {
        assert!(ct_eq(b"", b""));
        assert!(ct_eq(b"secret", b"secret"));
        assert!(!ct_eq(b"secret", b"secreT"));
        assert!(!ct_eq(b"secret", b"secret\0"));
        assert!(!ct_eq(b"secret", b""));
    }

    #[test]
    fn basic() {
        let mw = || BasicAuth::new("the \"zone\"").user("ada", "pw:with:colons");
        // "ada:pw:with:colons"
        let good = "Basic YWRhOnB3OndpdGg6Y29sb25z";
        let (res, user) = run(mw(), Some(good));
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(user.as_deref(), Some("ada"));
        let (res, _) = run(mw(), Some("basic   YWRhOnB3OndpdGg6Y29sb25z"));
        assert_eq!(res.status(), StatusCode::OK, "scheme is case-insensitive");
        for bad in [
            None,
            Some("Basic YWRhOnB3"), // ada:pw
            Some("Basic !!!"),
            Some("Bearer YWRhOnB3OndpdGg6Y29sb25z"),
            Some("Basic YWRh"), // no colon
            Some("Basic"),
        ] {
            let (res, user) = run(mw(), bad);
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{bad:?}");
            assert_eq!(
                res.headers()["www-authenticate"],
                "Basic realm=\"the \\\"zone\\\"\", charset=\"UTF-8\""
            );
            assert!(user.is_none());
        }
        let (res, _) = run(
            BasicAuth::new("r").verify(|u, p| u == "bob" && p == "x"),
            Some("Basic Ym9iOng="),
        );
        assert_eq!(res.status(), StatusCode::OK);
    }

    #[test]
    fn bearer() {
        let mw = || BearerAuth::new("api").token("t0k3n");
        let (res, user) = run(mw(), Some("Bearer t0k3n"));
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(user.as_deref(), Some("t0k3n"));
        let (res, _) = run(mw(), None);
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"api\"");
        let (res, _) = run(mw(), Some("Bearer wrong"));
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\""));
        let (res, _) = run(mw(), Some("Basic t0k3n"));
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let (res, _) = run(
            BearerAuth::new("api").verify(|t| t.starts_with("ok-")),
            Some("Bearer ok-1"),
        );
        assert_eq!(res.status(), StatusCode::OK);
    }
}
