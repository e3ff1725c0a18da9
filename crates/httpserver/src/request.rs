//! [`Request`]: what a handler sees of an incoming request.

use std::borrow::Cow;
use std::net::SocketAddr;

use http::{Extensions, Method, StatusCode};
use serde::de::DeserializeOwned;

use crate::codec::{self, HeaderSpan, RequestHead, Status, Version};
use crate::router::{Params, Route, RouteTree};
use crate::Error;

/// Where the body bytes live.
#[derive(Debug, Default)]
pub(crate) enum BodyBytes {
    /// No body.
    #[default]
    Empty,
    /// `buf[start..end]` of the request's own buffer (Content-Length bodies).
    InBuf(usize, usize),
    /// Decoded separately (chunked bodies).
    Owned(Vec<u8>),
}

/// Where a route parameter's name and value sit in `param_text`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ParamSpan {
    name: (usize, usize),
    value: (usize, usize),
}

/// A request's buffers, handed back for reuse.
#[derive(Debug)]
pub(crate) struct Buffers {
    pub(crate) buf: Vec<u8>,
    pub(crate) headers: Vec<HeaderSpan>,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) params: Vec<ParamSpan>,
    pub(crate) param_text: String,
}

/// An HTTP request, as handed to handlers and middleware.
///
/// The request keeps the bytes it was parsed from and answers every accessor
/// by reference into them: reading the method, path, a header or a
/// Content-Length body copies nothing.
///
/// # Examples
///
/// ```
/// use httpserver::Request;
///
/// let req = Request::from_http(
///     http::Request::post("/users/42?verbose=1&name=J%C3%B6rg")
///         .header("content-type", "application/json")
///         .body(br#"{"name":"ada"}"#.to_vec())?,
/// )?;
/// assert_eq!(req.path(), "/users/42");
/// assert_eq!(req.query("name").as_deref(), Some("Jörg"));
/// assert_eq!(req.header("Content-Type"), Some("application/json"));
/// let v: serde_json::Value = req.json()?;
/// assert_eq!(v["name"], "ada");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Request {
    buf: Vec<u8>,
    base: usize,
    head: RequestHead,
    headers: Vec<HeaderSpan>,
    method: Method,
    body: BodyBytes,
    /// Route parameters: `(name, value)` ranges into `param_text`.
    params: Vec<ParamSpan>,
    /// Names and decoded values of the route parameters, back to back.
    param_text: String,
    peer: Option<SocketAddr>,
    extensions: Extensions,
    /// The connection's socket, for request deadlines (only while a
    /// `Timeout` exists; see `runtime::watchdog`).
    io: Option<crate::runtime::watchdog::ConnIo>,
    /// Set by `RequestIdLayer` (a field, not an extension: no map to
    /// allocate per request).
    request_id: Option<crate::middleware::RequestId>,
    /// When the head began to arrive (set by the runtime).
    received: Option<std::time::Instant>,
}

impl Request {
    /// Builds a request from parsed parts; `buf[base..]` holds the head.
    pub(crate) fn from_parts(
        buf: Vec<u8>,
        base: usize,
        head: RequestHead,
        headers: Vec<HeaderSpan>,
        body: BodyBytes,
        peer: Option<SocketAddr>,
    ) -> Request {
        let raw = buf.get(base..).unwrap_or_default();
        let method_bytes = head.method.get(raw);
        let method = Method::from_bytes(method_bytes).unwrap_or(Method::GET);
        Request {
            buf,
            base,
            head,
            headers,
            method,
            body,
            params: Vec::new(),
            param_text: String::new(),
            peer,
            extensions: Extensions::new(),
            io: None,
            request_id: None,
            received: None,
        }
    }

    /// Stamps the time the head began to arrive.
    pub(crate) fn with_received(mut self, at: std::time::Instant) -> Request {
        self.received = Some(at);
        self
    }

    /// When the first bytes of this request's head were read from the
    /// connection (for a pipelined request, of the read that brought it),
    /// or `None` for a request not read by the server (built in a test).
    ///
    /// ```
    /// use httpserver::{Request, Server};
    /// let mut server = Server::new(Default::default());
    /// server.get("/age", |req: &Request| {
    ///     let waited = req.received_at().map(|t| t.elapsed()).unwrap_or_default();
    ///     format!("{} µs since the request arrived\n", waited.as_micros())
    /// });
    /// ```
    pub fn received_at(&self) -> Option<std::time::Instant> {
        self.received
    }

    /// This request's id, when [`RequestIdLayer`](crate::middleware::RequestIdLayer)
    /// runs around the handler.
    ///
    /// ```
    /// use httpserver::{Request, Server};
    /// let mut server = Server::new(Default::default());
    /// server.use_middleware(httpserver::middleware::RequestIdLayer::new());
    /// server.get("/", |req: &Request| format!("id {}\n", req.request_id().unwrap_or("-")));
    /// ```
    pub fn request_id(&self) -> Option<&str> {
        self.request_id
            .as_ref()
            .map(crate::middleware::RequestId::as_str)
    }

    /// [`request_id`](Self::request_id) as bytes, without the UTF-8 check.
    pub(crate) fn request_id_bytes(&self) -> Option<&[u8]> {
        self.request_id
            .as_ref()
            .map(crate::middleware::RequestId::as_bytes)
    }

    pub(crate) fn set_request_id(&mut self, id: crate::middleware::RequestId) {
        self.request_id = Some(id);
    }

    /// Lends the connection's socket to request deadlines.
    pub(crate) fn set_io(&mut self, io: crate::runtime::watchdog::ConnIo) {
        self.io = Some(io);
    }

    /// The connection's socket, if lent.
    pub(crate) fn io(&self) -> Option<&crate::runtime::watchdog::ConnIo> {
        self.io.as_ref()
    }

    /// Gives back the buffers for reuse by the connection.
    pub(crate) fn into_buffers(self) -> Buffers {
        Buffers {
            buf: self.buf,
            headers: self.headers,
            body: match self.body {
                BodyBytes::Owned(v) => Some(v),
                _ => None,
            },
            params: self.params,
            param_text: self.param_text,
        }
    }

    /// Lends recycled parameter storage to a new request.
    pub(crate) fn with_param_storage(mut self, params: Vec<ParamSpan>, text: String) -> Self {
        self.params = params;
        self.param_text = text;
        self.params.clear();
        self.param_text.clear();
        self
    }

    /// Matches this request against `tree`, storing any route parameters
    /// (percent-decoded) in the request. Allocation-free once the request's
    /// recycled buffers have grown to fit.
    pub(crate) fn route<'r, T>(&mut self, tree: &'r RouteTree<T>) -> Route<'r, T> {
        let raw = self.buf.get(self.base..).unwrap_or_default();
        let path = match self.head.path.str(raw) {
            "" => "/",
            p => p,
        };
        let mut params = Params::default();
        match tree.lookup_into(&self.method, path, &mut params) {
            Route::Found(value) => {
                self.params.clear();
                self.param_text.clear();
                for (name, value) in params.iter() {
                    let n0 = self.param_text.len();
                    self.param_text.push_str(name);
                    let v0 = self.param_text.len();
                    percent_decode_into(value, &mut self.param_text);
                    let end = self.param_text.len();
                    self.params.push(ParamSpan {
                        name: (n0, v0),
                        value: (v0, end),
                    });
                }
                Route::Found(value)
            }
            other => other,
        }
    }

    pub(crate) fn head(&self) -> &RequestHead {
        &self.head
    }

    /// Parses a request from an [`http::Request`]: handy for testing handlers
    /// without a socket. A missing Host header is filled in.
    ///
    /// # Errors
    ///
    /// A 400-class [`Error`] if the request would not be accepted on the wire.
    pub fn from_http<B: Into<Vec<u8>>>(req: http::Request<B>) -> Result<Request, Error> {
        let (parts, body) = req.into_parts();
        let body: Vec<u8> = body.into();
        let mut buf = Vec::with_capacity(256 + body.len());
        buf.extend_from_slice(parts.method.as_str().as_bytes());
        buf.push(b' ');
        let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        buf.extend_from_slice(target.as_bytes());
        buf.extend_from_slice(if parts.version == http::Version::HTTP_10 {
            b" HTTP/1.0\r\n"
        } else {
            b" HTTP/1.1\r\n"
        });
        if !parts.headers.contains_key(http::header::HOST) {
            let host = parts.uri.authority().map_or("localhost", |a| a.as_str());
            buf.extend_from_slice(b"host: ");
            buf.extend_from_slice(host.as_bytes());
            buf.extend_from_slice(b"\r\n");
        }
        for (name, value) in &parts.headers {
            if name == http::header::CONTENT_LENGTH || name == http::header::TRANSFER_ENCODING {
                continue;
            }
            buf.extend_from_slice(name.as_str().as_bytes());
            buf.extend_from_slice(b": ");
            buf.extend_from_slice(value.as_bytes());
            buf.extend_from_slice(b"\r\n");
        }
        if !body.is_empty() {
            buf.extend_from_slice(b"content-length: ");
            buf.extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
            buf.extend_from_slice(b"\r\n");
        }
        buf.extend_from_slice(b"\r\n");
        let limits = codec::Limits {
            max_request_line: usize::MAX / 4,
            max_head: usize::MAX / 4,
            max_headers: usize::MAX,
        };
        let mut headers = Vec::new();
        let head = match codec::parse_request(&buf, &limits, &mut headers)? {
            Status::Complete(head) => head,
            Status::Partial => return Err(Error::bad_request("incomplete request")),
        };
        let start = buf.len();
        buf.extend_from_slice(&body);
        let body = if body.is_empty() {
            BodyBytes::Empty
        } else {
            BodyBytes::InBuf(start, buf.len())
        };
        let mut req = Request::from_parts(buf, 0, head, headers, body, None);
        req.extensions = parts.extensions;
        Ok(req)
    }

    /// Copies this request into an [`http::Request`] with the body as bytes.
    pub fn to_http(&self) -> http::Request<Vec<u8>> {
        let mut builder = http::Request::builder()
            .method(self.method.clone())
            .uri(self.target())
            .version(self.version());
        for (name, value) in self.headers() {
            builder = builder.header(name, value);
        }
        builder
            .body(self.body().to_vec())
            .unwrap_or_else(|_| http::Request::new(self.body().to_vec()))
    }

    #[inline]
    fn raw(&self) -> &[u8] {
        self.buf.get(self.base..).unwrap_or_default()
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request-target exactly as sent, e.g. `/users/1?x=2`.
    pub fn target(&self) -> &str {
        self.head.target.str(self.raw())
    }

    /// The path, still percent-encoded, without the query: `/users/1`.
    /// An absolute-form target with no path gives `/`.
    pub fn path(&self) -> &str {
        std::str::from_utf8(self.path_bytes()).unwrap_or_default()
    }

    /// [`Request::path`] as bytes (no UTF-8 check: the parser allows only
    /// visible ASCII there).
    pub(crate) fn path_bytes(&self) -> &[u8] {
        match self.head.path.get(self.raw()) {
            b"" => b"/",
            path => path,
        }
    }

    /// [`Request::query_string`] as bytes.
    pub(crate) fn query_bytes(&self) -> Option<&[u8]> {
        self.head.query.map(|q| q.get(self.raw()))
    }

    /// The raw query string after `?`, if any.
    pub fn query_string(&self) -> Option<&str> {
        self.head.query.map(|q| q.str(self.raw()))
    }

    /// The first query parameter called `name`, percent-decoded (`+` is a
    /// space).
    pub fn query(&self, name: &str) -> Option<Cow<'_, str>> {
        let query = self.query_string()?;
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// All query parameters, percent-decoded, in order.
    pub fn query_pairs(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        self.query_string()
            .map(|q| form_urlencoded::parse(q.as_bytes()).collect())
            .unwrap_or_default()
    }

    /// Deserializes the query string into `T` (e.g. a struct with
    /// `#[derive(Deserialize)]`).
    ///
    /// # Errors
    ///
    /// 400 if the query does not fit `T`.
    pub fn query_as<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_urlencoded::from_str(self.query_string().unwrap_or(""))
            .map_err(|e| Error::body(StatusCode::BAD_REQUEST, format!("invalid query: {e}"), e))
    }

    /// The version.
    pub fn version(&self) -> http::Version {
        match self.head.version {
            Version::Http10 => http::Version::HTTP_10,
            Version::Http11 => http::Version::HTTP_11,
        }
    }

    /// The first value of header `name` (case-insensitive) if it is valid
    /// UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_bytes(name)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The first value of header `name` (case-insensitive), as bytes.
    pub fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        let raw = self.raw();
        self.headers
            .iter()
            .find(|h| h.name.get(raw).eq_ignore_ascii_case(name.as_bytes()))
            .map(|h| h.value.get(raw))
    }

    /// Every header field in the order received: `(name, value)`.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        let raw = self.raw();
        self.headers
            .iter()
            .map(move |h| (h.name.str(raw), h.value.get(raw)))
    }

    /// The headers as an [`http::HeaderMap`] (built on each call).
    pub fn header_map(&self) -> http::HeaderMap {
        let mut map = http::HeaderMap::with_capacity(self.headers.len());
        for (name, value) in self.headers() {
            if let (Ok(n), Ok(v)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_bytes(value),
            ) {
                map.append(n, v);
            }
        }
        map
    }

    /// The host the request was sent to: the authority of an absolute-form
    /// target, else the Host header.
    pub fn host(&self) -> Option<&str> {
        self.head.authority.map(|a| a.str(self.raw()))
    }

    /// The route parameter `name` (from `:name` or `*name`), percent-decoded.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// Every route parameter, in path order.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        let text = self.param_text.as_str();
        self.params.iter().map(move |p| {
            (
                text.get(p.name.0..p.name.1).unwrap_or_default(),
                text.get(p.value.0..p.value.1).unwrap_or_default(),
            )
        })
    }

    /// The body bytes (empty if there was none).
    pub fn body(&self) -> &[u8] {
        match &self.body {
            BodyBytes::Empty => &[],
            BodyBytes::InBuf(start, end) => self.buf.get(*start..*end).unwrap_or_default(),
            BodyBytes::Owned(v) => v,
        }
    }

    /// The body as UTF-8 text.
    ///
    /// # Errors
    ///
    /// 400 if the body is not UTF-8.
    pub fn text(&self) -> Result<&str, Error> {
        std::str::from_utf8(self.body()).map_err(|e| {
            Error::body(
                StatusCode::BAD_REQUEST,
                format!("body is not UTF-8: {e}"),
                e,
            )
        })
    }

    /// The body parsed as JSON into `T`.
    ///
    /// # Errors
    ///
    /// 400 naming the position of the problem if the body is not valid JSON
    /// for `T`; 415 if a Content-Type other than JSON was sent.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        if let Some(ct) = self.header("content-type") {
            let essence = ct.split(';').next().unwrap_or("").trim();
            let is_json = essence.eq_ignore_ascii_case("application/json")
                || (essence.len() > 5
                    && essence
                        .get(essence.len() - 5..)
                        .is_some_and(|s| s.eq_ignore_ascii_case("+json")));
            if !is_json {
                return Err(Error::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "expected Content-Type: application/json",
                ));
            }
        }
        serde_json::from_slice(self.body()).map_err(|e| {
            Error::body(
                StatusCode::BAD_REQUEST,
                format!("invalid JSON body: {e}"),
                e,
            )
        })
    }

    /// The body parsed as `application/x-www-form-urlencoded` into `T`.
    ///
    /// # Errors
    ///
    /// 400 if the body does not fit `T`.
    pub fn form<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_urlencoded::from_bytes(self.body()).map_err(|e| {
            Error::body(
                StatusCode::BAD_REQUEST,
                format!("invalid form body: {e}"),
                e,
            )
        })
    }

    /// The client's address (`None` for requests built with
    /// [`Request::from_http`]).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Every value of the field `name`, joined with `, ` (how a list-valued
    /// field sent on several lines reads, RFC 9110 section 5.3); invalid
    /// UTF-8 becomes U+FFFD.
    pub(crate) fn header_joined(&self, name: &str) -> Option<Cow<'_, str>> {
        let mut values = self
            .headers()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v));
        let first = values.next()?;
        match values.next() {
            None => Some(first),
            Some(second) => {
                let mut all = format!("{first}, {second}");
                for v in values {
                    all.push_str(", ");
                    all.push_str(&v);
                }
                Some(Cow::Owned(all))
            }
        }
    }

    /// Sets the client's address, for requests built with
    /// [`Request::from_http`] (tests, adapters).
    ///
    /// ```
    /// let mut req = httpserver::Request::from_http(http::Request::get("/").body(Vec::new())?)?;
    /// req.set_peer_addr("10.1.2.3:5000".parse()?);
    /// assert_eq!(req.peer_addr().map(|a| a.port()), Some(5000));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_peer_addr(&mut self, addr: SocketAddr) {
        self.peer = Some(addr);
    }

    /// Typed values attached by middleware.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// Typed values attached by middleware, mutably.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }
}

/// Appends `s` percent-decoded to `out` (see [`percent_decode`]).
pub(crate) fn percent_decode_into(s: &str, out: &mut String) {
    match percent_decode(s) {
        Cow::Borrowed(b) => out.push_str(b),
        Cow::Owned(o) => out.push_str(&o),
    }
}

/// Decodes `%XX` escapes; malformed escapes are kept as they are and bytes
/// that do not form UTF-8 are replaced with U+FFFD.
pub(crate) fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("J%C3%B6rg"), "Jörg");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
        assert_eq!(percent_decode("a+b"), "a+b");
    }

    #[test]
    fn bad_bodies_are_400_not_panics() {
        let req =
            Request::from_http(http::Request::post("/").body(b"{nope".to_vec()).unwrap()).unwrap();
        let err = req.json::<serde_json::Value>().unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert!(err.is_body());
        let req =
            Request::from_http(http::Request::post("/").body(vec![0xff, 0xfe]).unwrap()).unwrap();
        assert_eq!(req.text().unwrap_err().status(), StatusCode::BAD_REQUEST);
        let req = Request::from_http(
            http::Request::post("/")
                .header("content-type", "text/plain")
                .body(b"{}".to_vec())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            req.json::<serde_json::Value>().unwrap_err().status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }

    #[test]
    fn reads_forms_and_queries() {
        #[derive(Debug, serde::Deserialize)]
        struct Form {
            name: String,
            age: u32,
        }
        let req = Request::from_http(
            http::Request::post("/f?a=1&b=x+y&a=2")
                .body(b"name=Ada+L&age=36".to_vec())
                .unwrap(),
        )
        .unwrap();
        let form: Form = req.form().unwrap();
        assert_eq!((form.name.as_str(), form.age), ("Ada L", 36));
        assert_eq!(req.query("a").as_deref(), Some("1"));
        assert_eq!(req.query("b").as_deref(), Some("x y"));
        assert_eq!(req.query_pairs().len(), 3);
        assert!(req.form::<Form>().is_ok());
        let bad = Request::from_http(http::Request::post("/").body(b"age=old".to_vec()).unwrap())
            .unwrap();
        assert_eq!(
            bad.form::<Form>().unwrap_err().status(),
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn round_trips_through_http_types() {
        let req = Request::from_http(
            http::Request::put("http://example.com/a?b=c")
                .header("x-a", "1")
                .body(b"hi".to_vec())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(req.host(), Some("example.com"));
        let back = req.to_http();
        assert_eq!(back.method(), Method::PUT);
        assert_eq!(back.uri(), "/a?b=c");
        assert_eq!(back.headers()["x-a"], "1");
        assert_eq!(back.body(), b"hi");
        assert_eq!(req.header_map().get("host").unwrap(), "example.com");
    }
}
