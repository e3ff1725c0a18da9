//! [`Response`], its [`Body`], the [`IntoResponse`] conversions and the
//! helper constructors (`ok`, `created`, `not_found`, ...).

use std::cell::Cell;
use std::fmt;
use std::io::Read;

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};
use serde::Serialize;

use crate::Error;

/// A response body.
#[non_exhaustive]
pub enum Body {
    /// No body.
    Empty,
    /// Shared or static bytes in memory, sent with Content-Length.
    Bytes(Bytes),
    /// An owned buffer (what JSON and text bodies are built in), sent with
    /// Content-Length.
    Vec(Vec<u8>),
    /// A stream read on the worker and sent chunked (or with Content-Length
    /// when the length is given).
    Reader(Box<dyn Read + Send>, Option<u64>),
    /// `len` bytes of an open file from `offset`, sent with Content-Length.
    /// Small ones are copied into the response; larger ones go out with
    /// `sendfile(2)` as the client reads, never loaded into memory and
    /// never holding a worker while the client is slow.
    File {
        /// The file, open for reading.
        file: std::fs::File,
        /// First byte to send.
        offset: u64,
        /// Bytes to send.
        len: u64,
    },
}

impl Body {
    /// The length, if known.
    pub fn len(&self) -> Option<u64> {
        match self {
            Body::Empty => Some(0),
            Body::Bytes(b) => Some(b.len() as u64),
            Body::Vec(v) => Some(v.len() as u64),
            Body::Reader(_, len) => *len,
            Body::File { len, .. } => Some(*len),
        }
    }

    /// Is this known to be empty?
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Body::Empty"),
            Body::Bytes(b) => write!(f, "Body::Bytes({} bytes)", b.len()),
            Body::Vec(v) => write!(f, "Body::Vec({} bytes)", v.len()),
            Body::Reader(_, len) => write!(f, "Body::Reader({len:?})"),
            Body::File { offset, len, .. } => write!(f, "Body::File({offset}+{len})"),
        }
    }
}

/// An HTTP response: status, headers and body.
///
/// # Examples
///
/// ```
/// use httpserver::Response;
/// use http::StatusCode;
///
/// let res = Response::new(StatusCode::ACCEPTED)
///     .with_header("x-job", "17")
///     .with_text("queued");
/// assert_eq!(res.status(), StatusCode::ACCEPTED);
/// assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
/// assert_eq!(res.body_bytes(), Some(&b"queued"[..]));
/// ```
#[derive(Debug)]
pub struct Response {
    status: StatusCode,
    /// Boxed so that a response is small to move through the middleware
    /// chain (a `HeaderMap` is 96 bytes); the box is recycled per thread.
    headers: Box<HeaderMap>,
    body: Body,
    /// The client was already answered by a request deadline: write
    /// nothing, close the connection.
    pub(crate) abandoned: bool,
}

impl Default for Response {
    fn default() -> Self {
        Response::new(StatusCode::OK)
    }
}

impl Response {
    /// An empty response with `status`.
    pub fn new(status: StatusCode) -> Self {
        Response {
            status,
            headers: SPARE_HEADERS.with(Cell::take).unwrap_or_default(),
            body: Body::Empty,
            abandoned: false,
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Sets the status.
    pub fn set_status(&mut self, status: StatusCode) {
        self.status = status;
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The headers, mutably.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// The body bytes, if the body is in memory.
    pub fn body_bytes(&self) -> Option<&[u8]> {
        match &self.body {
            Body::Empty => Some(&[]),
            Body::Bytes(b) => Some(b),
            Body::Vec(v) => Some(v),
            Body::Reader(..) | Body::File { .. } => None,
        }
    }

    /// Replaces the body.
    pub fn set_body(&mut self, body: Body) {
        self.body = body;
    }

    /// The header map, boxed, for [`recycle_headers`] once written.
    pub(crate) fn into_headers(self) -> Box<HeaderMap> {
        self.headers
    }

    /// Takes the body out, leaving it empty.
    pub fn take_body(&mut self) -> Body {
        std::mem::replace(&mut self.body, Body::Empty)
    }

    /// Sets a header (replacing earlier values). Invalid names or values are
    /// a programming error and are dropped with a logged warning.
    #[must_use]
    pub fn with_header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        V: TryInto<HeaderValue>,
    {
        match (name.try_into(), value.try_into()) {
            (Ok(n), Ok(v)) => {
                self.headers.insert(n, v);
            }
            _ => tracing::warn!("invalid header name or value dropped from a response"),
        }
        self
    }

    /// Sets the status.
    #[must_use]
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Sets a body and its Content-Type.
    #[must_use]
    pub fn with_body(mut self, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        self.headers
            .insert(header::CONTENT_TYPE, content_type_value(content_type));
        self.body = Body::Bytes(body.into());
        self
    }

    /// Sets a `text/plain; charset=utf-8` body.
    #[must_use]
    pub fn with_text(self, text: impl Into<String>) -> Self {
        self.with_owned_body("text/plain; charset=utf-8", text.into().into_bytes())
    }

    /// Sets an owned body and its Content-Type (no conversion, no copy).
    #[must_use]
    pub fn with_owned_body(mut self, content_type: &'static str, body: Vec<u8>) -> Self {
        self.headers
            .insert(header::CONTENT_TYPE, content_type_value(content_type));
        self.body = Body::Vec(body);
        self
    }

    /// Sets an `application/json` body serialized from `value`. A value that
    /// cannot be serialized gives a 500.
    #[must_use]
    pub fn with_json<T: Serialize + ?Sized>(self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(bytes) => self.with_owned_body("application/json", bytes),
            Err(e) => {
                tracing::error!(error = %e, "response JSON serialization failed");
                Response::new(StatusCode::INTERNAL_SERVER_ERROR).with_text("internal server error")
            }
        }
    }

    /// Streams the body from `reader`; `len` gives Content-Length if known,
    /// else the body is sent chunked.
    #[must_use]
    pub fn with_reader(mut self, reader: impl Read + Send + 'static, len: Option<u64>) -> Self {
        self.body = Body::Reader(Box::new(reader), len);
        self
    }

    /// Converts into an [`http::Response`]; a streamed body is read to the end.
    ///
    /// # Errors
    ///
    /// An I/O error from a streamed body.
    pub fn into_http(self) -> std::io::Result<http::Response<Vec<u8>>> {
        let body = match self.body {
            Body::Empty => Vec::new(),
            Body::Bytes(b) => b.to_vec(),
            Body::Vec(v) => v,
            Body::Reader(mut r, _) => {
                let mut v = Vec::new();
                r.read_to_end(&mut v)?;
                v
            }
            Body::File { file, offset, len } => {
                use std::io::{Seek, SeekFrom};
                let mut file = file;
                file.seek(SeekFrom::Start(offset))?;
                let mut v = Vec::new();
                file.take(len).read_to_end(&mut v)?;
                if (v.len() as u64) < len {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                v
            }
        };
        let mut res = http::Response::new(body);
        *res.status_mut() = self.status;
        *res.headers_mut() = *self.headers;
        Ok(res)
    }
}

impl<B: Into<Bytes>> From<http::Response<B>> for Response {
    fn from(res: http::Response<B>) -> Self {
        let (parts, body) = res.into_parts();
        let bytes: Bytes = body.into();
        Response {
            status: parts.status,
            headers: Box::new(parts.headers),
            body: if bytes.is_empty() {
                Body::Empty
            } else {
                Body::Bytes(bytes)
            },
            abandoned: false,
        }
    }
}

thread_local! {
    /// A cleared header map kept by each worker thread, so building a
    /// response on the hot path does not allocate one.
    static SPARE_HEADERS: Cell<Option<Box<HeaderMap>>> = const { Cell::new(None) };
}

/// Keeps `map`'s allocation for the next [`Response::new`] on this thread.
pub(crate) fn recycle_headers(mut map: Box<HeaderMap>) {
    if map.capacity() <= 64 {
        map.clear();
        SPARE_HEADERS.with(|spare| spare.set(Some(map)));
    }
}

/// A JSON body: `Json(value)` serializes with serde.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// Anything that can be a response body with its Content-Type.
pub trait IntoBody {
    /// Turns `self` into a response with `status`.
    fn into_body_response(self, status: StatusCode) -> Response;
}

impl IntoBody for &'static str {
    fn into_body_response(self, status: StatusCode) -> Response {
        Response::new(status).with_body("text/plain; charset=utf-8", self)
    }
}

impl IntoBody for String {
    fn into_body_response(self, status: StatusCode) -> Response {
        Response::new(status).with_text(self)
    }
}

impl IntoBody for Vec<u8> {
    fn into_body_response(self, status: StatusCode) -> Response {
        Response::new(status).with_owned_body("application/octet-stream", self)
    }
}

impl IntoBody for Bytes {
    fn into_body_response(self, status: StatusCode) -> Response {
        Response::new(status).with_body("application/octet-stream", self)
    }
}

impl IntoBody for serde_json::Value {
    fn into_body_response(self, status: StatusCode) -> Response {
        Response::new(status).with_json(&self)
    }
}

impl<T: Serialize> IntoBody for Json<T> {
    fn into_body_response(self, status: StatusCode) -> Response {
        Response::new(status).with_json(&self.0)
    }
}

impl IntoBody for () {
    fn into_body_response(self, status: StatusCode) -> Response {
        Response::new(status)
    }
}

/// Anything a handler may return.
///
/// Implemented for [`Response`], text, bytes, JSON values, [`Json`],
/// [`StatusCode`], `(StatusCode, body)`, [`Error`] and
/// `Result<T, Error>`, so `?` works in handlers.
pub trait IntoResponse {
    /// Converts into a response.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl<B: IntoBody> IntoResponse for B {
    fn into_response(self) -> Response {
        self.into_body_response(StatusCode::OK)
    }
}

impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        let mut res = Response::new(self);
        if !matches!(self.as_u16(), 100..=199 | 204 | 304) {
            res = res.with_text(self.canonical_reason().unwrap_or(self.as_str()));
        }
        res
    }
}

impl<B: IntoBody> IntoResponse for (StatusCode, B) {
    fn into_response(self) -> Response {
        self.1.into_body_response(self.0)
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if self.status().is_server_error() {
            tracing::error!(error = %self, "handler error");
        }
        let text = format!("{}\n", self.message());
        Response::new(self.status()).with_text(text)
    }
}

impl<T: IntoResponse> IntoResponse for Result<T, Error> {
    fn into_response(self) -> Response {
        match self {
            Ok(v) => v.into_response(),
            Err(e) => e.into_response(),
        }
    }
}

impl<B: Into<Bytes>> IntoResponse for http::Response<B> {
    fn into_response(self) -> Response {
        Response::from(self)
    }
}

/// 200 OK with `body`.
pub fn ok(body: impl IntoBody) -> Response {
    body.into_body_response(StatusCode::OK)
}

/// 201 Created with `body`.
pub fn created(body: impl IntoBody) -> Response {
    body.into_body_response(StatusCode::CREATED)
}

/// 202 Accepted with `body`.
pub fn accepted(body: impl IntoBody) -> Response {
    body.into_body_response(StatusCode::ACCEPTED)
}

/// 204 No Content.
pub fn no_content() -> Response {
    Response::new(StatusCode::NO_CONTENT)
}

/// 302 Found to `location`.
pub fn redirect(location: &str) -> Response {
    Response::new(StatusCode::FOUND).with_header(header::LOCATION, location)
}

/// 308 Permanent Redirect to `location` (the method is kept).
pub fn permanent_redirect(location: &str) -> Response {
    Response::new(StatusCode::PERMANENT_REDIRECT).with_header(header::LOCATION, location)
}

/// 400 Bad Request with a text message.
pub fn bad_request(message: impl Into<String>) -> Response {
    Response::new(StatusCode::BAD_REQUEST).with_text(message)
}

/// 401 Unauthorized with a text message.
pub fn unauthorized(message: impl Into<String>) -> Response {
    Response::new(StatusCode::UNAUTHORIZED).with_text(message)
}

/// 403 Forbidden with a text message.
pub fn forbidden(message: impl Into<String>) -> Response {
    Response::new(StatusCode::FORBIDDEN).with_text(message)
}

/// 404 Not Found.
pub fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

/// 409 Conflict with a text message.
pub fn conflict(message: impl Into<String>) -> Response {
    Response::new(StatusCode::CONFLICT).with_text(message)
}

/// 500 Internal Server Error.
pub fn internal_error() -> Response {
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// A JSON response with any status.
pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    Response::new(status).with_json(value)
}

/// `HeaderValue::from_static(content_type)`, without checking the bytes on
/// every response when it is one of the common values: those are built
/// when the program is. Inlined, a literal argument picks its arm then too.
#[inline(always)]
fn content_type_value(content_type: &'static str) -> HeaderValue {
    const JSON: HeaderValue = HeaderValue::from_static("application/json");
    const TEXT: HeaderValue = HeaderValue::from_static("text/plain");
    const TEXT_UTF8: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
    const HTML_UTF8: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");
    match content_type {
        "application/json" => JSON,
        "text/plain" => TEXT,
        "text/plain; charset=utf-8" => TEXT_UTF8,
        "text/html; charset=utf-8" => HTML_UTF8,
        other => HeaderValue::from_static(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn helpers_set_status_and_type() {
        let r = ok(json!({"a": 1}));
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "application/json");
        assert_eq!(r.body_bytes(), Some(&br#"{"a":1}"#[..]));
        assert_eq!(created("x").status(), StatusCode::CREATED);
        assert_eq!(no_content().body().len(), Some(0));
        assert_eq!(redirect("/b").headers()["location"], "/b");
        assert_eq!(not_found().status(), StatusCode::NOT_FOUND);
        assert_eq!(
            json(StatusCode::IM_A_TEAPOT, &[1, 2]).body_bytes(),
            Some(&b"[1,2]"[..])
        );
    }

    #[test]
    fn content_types_common_or_not_are_set_as_given() {
        for text in [
            "application/json",
            "text/plain",
            "text/plain; charset=utf-8",
            "text/html; charset=utf-8",
            "image/svg+xml",
            "text/plain;charset=utf-8",
        ] {
            let r = Response::default().with_body(text, "x");
            assert_eq!(r.headers()[header::CONTENT_TYPE], text);
            let r = Response::default().with_owned_body(text, b"x".to_vec());
            assert_eq!(r.headers()[header::CONTENT_TYPE], text);
        }
    }

    #[test]
    fn conversions() {
        assert_eq!(
            (StatusCode::ACCEPTED, "x").into_response().status(),
            StatusCode::ACCEPTED
        );
        let err: Result<Response, Error> = Err(Error::bad_request("nope"));
        let r = err.into_response();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(r.body_bytes(), Some(&b"nope\n"[..]));
        assert_eq!(StatusCode::NO_CONTENT.into_response().body().len(), Some(0));
        let h = http::Response::builder()
            .status(201)
            .header("x", "y")
            .body("b")
            .unwrap();
        let r = h.into_response();
        assert_eq!(
            (r.status(), r.headers()["x"].to_str().unwrap()),
            (StatusCode::CREATED, "y")
        );
        assert_eq!(r.into_http().unwrap().body(), b"b");
    }
}
