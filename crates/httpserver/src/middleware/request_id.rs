//! Request IDs: accept the client's `X-Request-Id` or make one, echo it on
//! the response, and make it available to handlers and log lines.
//!
//! An incoming id is kept when it is short (at most 64 bytes) and
//! made of visible ASCII other than `"` and `\`, so it can go into any log
//! format unescaped; anything else is replaced by a generated id. Generated
//! ids are 16 lowercase hex digits: a random 64-bit start drawn once per
//! thread (from the standard library's per-process hash keys, the clock and
//! the thread) plus a per-thread counter, so they are unique within a
//! process and, with overwhelming probability, across restarts. They cost
//! no lock, no syscall and no allocation per request: their text is written
//! 256 at a time into a 4 KiB buffer of the thread's, and each response's
//! header value is a slice of it (a reference count that stays with the
//! thread; the buffer is freed with the last value that refers to it).
//!
//! While the rest of the chain runs, a `tracing` span named `request` with
//! the field `id` is entered, so every event a handler logs through
//! `tracing` carries the id.
//!
//! # Examples
//!
//! ```
//! use httpserver::middleware::RequestIdLayer;
//! use httpserver::{Request, Server};
//!
//! let mut server = Server::new(Default::default());
//! server.use_middleware(RequestIdLayer::new());
//! server.get("/", |req: &Request| {
//!     format!("your request is {}\n", req.request_id().unwrap_or("-"))
//! });
//! ```

use std::cell::RefCell;
use std::hash::{BuildHasher, Hasher};

use http::header::HeaderName;
use http::HeaderValue;

use super::{Middleware, Next};
use crate::{Request, Response};

/// Longest incoming id that is kept (longer ones are replaced).
pub(crate) const MAX_LEN: usize = 64;

/// The id of one request (read it with [`Request::request_id`]). Held
/// inline: making one allocates nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId {
    len: u8,
    bytes: [u8; MAX_LEN],
}

impl std::fmt::Debug for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RequestId").field(&self.as_str()).finish()
    }
}

impl RequestId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only visible ASCII is ever stored (see `acceptable`).
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("-")
    }

    /// The id's bytes (visible ASCII).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    fn from_acceptable(value: &[u8]) -> RequestId {
        let mut bytes = [0u8; MAX_LEN];
        let len = value.len().min(MAX_LEN);
        bytes[..len].copy_from_slice(&value[..len]);
        RequestId {
            len: len as u8,
            bytes,
        }
    }

    fn header_value(&self) -> HeaderValue {
        HeaderValue::from_bytes(&self.bytes[..usize::from(self.len)])
            .unwrap_or(HeaderValue::from_static("-"))
    }

    /// A fresh id: 16 lowercase hex digits.
    ///
    /// ```
    /// let a = httpserver::middleware::RequestId::generate();
    /// let b = httpserver::middleware::RequestId::generate();
    /// assert_eq!(a.as_str().len(), 16);
    /// assert_ne!(a, b);
    /// ```
    pub fn generate() -> RequestId {
        generate_with_value().0
    }

    /// The id carried by `value`, if it is acceptable (see the module docs).
    ///
    /// ```
    /// use httpserver::middleware::RequestId;
    /// assert!(RequestId::parse(b"abc-123").is_some());
    /// assert!(RequestId::parse(b"has space").is_none());
    /// assert!(RequestId::parse(&[b'a'; 65]).is_none());
    /// ```
    pub fn parse(value: &[u8]) -> Option<RequestId> {
        acceptable(value).then(|| RequestId::from_acceptable(value))
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn acceptable(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= MAX_LEN
        && value
            .iter()
            .all(|&b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
}

/// Ids made at a time: their text is written into one shared buffer, and
/// each request's header value is a slice of it (a reference count, not an
/// allocation and a copy per request).
const BLOCK_IDS: u64 = 256;
/// Length of a generated id.
const ID_LEN: usize = 16;

/// This thread's current block of ids.
struct IdBlock {
    /// The first id of the block.
    first: u64,
    /// `BLOCK_IDS` ids as hex, back to back.
    text: bytes::Bytes,
    /// How many have been handed out.
    used: u64,
}

impl IdBlock {
    fn starting_at(first: u64) -> IdBlock {
        let mut text = Vec::with_capacity(ID_LEN * BLOCK_IDS as usize);
        for n in 0..BLOCK_IDS {
            let n = first.wrapping_add(n);
            text.extend(
                (0..ID_LEN).map(|i| b"0123456789abcdef"[((n >> (60 - 4 * i)) & 0xf) as usize]),
            );
        }
        IdBlock {
            first,
            text: text.into(),
            used: 0,
        }
    }
}

thread_local! {
    static BLOCK: RefCell<Option<IdBlock>> = const { RefCell::new(None) };
}

/// The next generated id of this thread and its header value.
fn generate_with_value() -> (RequestId, HeaderValue) {
    let text = BLOCK.with(|block| {
        let mut block = block.borrow_mut();
        let blk = match &mut *block {
            Some(b) if b.used < BLOCK_IDS => b,
            other => {
                let first = other
                    .as_ref()
                    .map_or_else(thread_start, |b| b.first.wrapping_add(BLOCK_IDS));
                other.insert(IdBlock::starting_at(first))
            }
        };
        let at = blk.used as usize * ID_LEN;
        blk.used += 1;
        blk.text.slice(at..at + ID_LEN)
    });
    let id = RequestId::from_acceptable(&text);
    // Hex digits are always a valid value.
    let value = HeaderValue::from_maybe_shared(text).unwrap_or(HeaderValue::from_static("-"));
    (id, value)
}

/// A random start for this thread's ids.
fn thread_start() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.write(format!("{:?}", std::thread::current().id()).as_bytes());
    h.finish()
}

/// The middleware: see the [module docs](self).
#[derive(Debug, Clone)]
#[must_use]
pub struct RequestIdLayer {
    header: HeaderName,
    trust_incoming: bool,
}

impl Default for RequestIdLayer {
    fn default() -> Self {
        RequestIdLayer::new()
    }
}

impl RequestIdLayer {
    /// Reads and writes `X-Request-Id`, trusting acceptable incoming ids.
    pub fn new() -> Self {
        RequestIdLayer {
            header: HeaderName::from_static("x-request-id"),
            trust_incoming: true,
        }
    }

    /// Uses another header name (default `x-request-id`).
    pub fn header(mut self, name: HeaderName) -> Self {
        self.header = name;
        self
    }

    /// Whether an incoming id is kept (default true); when false every
    /// request gets a generated id.
    pub fn trust_incoming(mut self, on: bool) -> Self {
        self.trust_incoming = on;
        self
    }
}

impl Middleware for RequestIdLayer {
    fn handle(&self, req: &mut Request, next: Next<'_>) -> Response {
        let incoming = if self.trust_incoming {
            req.header_bytes(self.header.as_str())
                .and_then(RequestId::parse)
        } else {
            None
        };
        let (id, value) = match incoming {
            Some(id) => (id, id.header_value()),
            None => generate_with_value(),
        };
        let span = tracing::info_span!("request", id = id.as_str());
        req.set_request_id(id);
        let mut res = span.in_scope(|| next.run(req));
        res.headers_mut().insert(self.header.clone(), value);
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::middleware::run_chain;
    use std::sync::Arc;

    fn request(id: Option<&str>) -> Request {
        let mut b = http::Request::get("/");
        if let Some(id) = id {
            b = b.header("x-request-id", id);
        }
        Request::from_http(b.body(Vec::new()).unwrap()).unwrap()
    }

    fn run(layer: RequestIdLayer, req: &mut Request) -> (Response, String) {
        let chain: Vec<Arc<dyn Middleware>> = vec![Arc::new(layer)];
        let seen = std::sync::Mutex::new(String::new());
        let res = run_chain(&chain, req, &|req| {
            *seen.lock().unwrap() = req.request_id().unwrap_or_default().to_string();
            Response::new(http::StatusCode::OK)
        });
        (res, seen.into_inner().unwrap())
    }

    #[test]
    fn keeps_an_acceptable_incoming_id() {
        let (res, seen) = run(RequestIdLayer::new(), &mut request(Some("trace-42:a/b")));
        assert_eq!(seen, "trace-42:a/b");
        assert_eq!(res.headers()["x-request-id"], "trace-42:a/b");
    }

    #[test]
    fn replaces_unacceptable_ids() {
        let long = "x".repeat(MAX_LEN + 1);
        for bad in [long.as_str(), "a b", "quote\"d", "back\\slash", "é"] {
            let (res, seen) = run(RequestIdLayer::new(), &mut request(Some(bad)));
            assert_eq!(seen.len(), 16, "{bad:?} -> {seen}");
            assert!(seen.bytes().all(|b| b.is_ascii_hexdigit()));
            assert_eq!(res.headers()["x-request-id"], seen.as_str());
        }
        let exact = "y".repeat(MAX_LEN);
        let (_, seen) = run(RequestIdLayer::new(), &mut request(Some(&exact)));
        assert_eq!(seen, exact);
    }

    #[test]
    fn generates_when_absent_or_untrusted() {
        let (res, seen) = run(RequestIdLayer::new(), &mut request(None));
        assert_eq!(res.headers()["x-request-id"], seen.as_str());
        let (_, seen) = run(
            RequestIdLayer::new().trust_incoming(false),
            &mut request(Some("client-chosen")),
        );
        assert_ne!(seen, "client-chosen");
    }

    #[test]
    fn generated_ids_are_unique_across_threads() {
        let ids: Vec<String> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    (0..1000)
                        .map(|_| RequestId::generate().to_string())
                        .collect::<Vec<_>>()
                })
            })
            .flat_map(|t| t.join().unwrap())
            .collect();
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
    }

    #[test]
    fn each_generated_header_value_is_its_own_id_across_blocks() {
        let mut last: Option<u64> = None;
        for _ in 0..3 * BLOCK_IDS + 7 {
            let (id, value) = generate_with_value();
            assert_eq!(value.to_str().unwrap(), id.as_str());
            assert_eq!(id.as_str().len(), ID_LEN);
            // Consecutive on one thread, also from one block to the next.
            let n = u64::from_str_radix(id.as_str(), 16).unwrap();
            if let Some(prev) = last {
                assert_eq!(n, prev.wrapping_add(1));
            }
            last = Some(n);
        }
    }

    #[test]
    fn custom_header_name() {
        let layer = RequestIdLayer::new().header(HeaderName::from_static("x-correlation-id"));
        let mut req = Request::from_http(
            http::Request::get("/")
                .header("x-correlation-id", "corr-1")
                .body(Vec::new())
                .unwrap(),
        )
        .unwrap();
        let (res, seen) = run(layer, &mut req);
        assert_eq!(seen, "corr-1");
        assert_eq!(res.headers()["x-correlation-id"], "corr-1");
        assert!(res.headers().get("x-request-id").is_none());
    }
}
