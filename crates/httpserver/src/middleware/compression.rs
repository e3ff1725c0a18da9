//! Response compression: gzip, brotli and zstd, chosen from
//! `Accept-Encoding`.
//!
//! The coding is the acceptable one with the highest q-value
//! (RFC 9110 section 12.5.3: `*` stands for codings not listed, `q=0` means
//! "not this one"); ties go to the server's order, by default zstd, br,
//! gzip (see `docs/compression.md` for the measurements behind the order
//! and the levels). A client that accepts none of them, or refuses
//! everything with `identity;q=0`, gets the body as it is.
//!
//! A response is compressed only when all of these hold:
//!
//! - its type is compressible ([`compressible`]: text, JSON, JavaScript,
//!   XML, SVG, wasm, ...; not images, archives or `text/event-stream`);
//! - its body is at least [`Compression::min_size`] bytes (default 1024),
//!   or of unknown length;
//! - its status is not 1xx, 204, 206 or 304, and it has no `Content-Range`;
//! - it has no `Content-Encoding` yet and no `Cache-Control: no-transform`.
//!
//! A HEAD request is answered as its GET would be, with the same
//! `Content-Encoding`, `ETag` and `Content-Length` (or chunked framing); the
//! runtime leaves the body out. A body compressed at once is therefore
//! compressed for HEAD too; a streamed one is never read.
//!
//! Every response that could have been compressed for another
//! `Accept-Encoding` (the first four rules hold) gets
//! `Vary: Accept-Encoding`, also when this client got it uncompressed.
//!
//! Bodies up to 256 KiB are compressed at once and sent with
//! `Content-Length`; larger ones, streams and files are compressed as they
//! are sent (chunked), so memory stays bounded whatever the size. A strong
//! `ETag` becomes weak on a compressed answer (the bytes differ, the
//! meaning does not; weak comparison in `If-None-Match` still matches), and
//! `Accept-Ranges` is removed (ranges are served uncompressed). A 304 to a
//! client whose `If-None-Match` holds that weak form carries it too, with
//! `Vary: Accept-Encoding`, as the 200 it revalidates did (RFC 9110 section
//! 15.4.5).
//!
//! The codings present depend on cargo features: `gzip` (default), `br`,
//! `zstd`, or `compression` for all three.
//!
//! # Examples
//!
//! ```
//! use httpserver::middleware::Compression;
//!
//! let mut server = httpserver::Server::new(Default::default());
//! server.use_middleware(Compression::new().min_size(512).gzip_level(5));
//! ```

use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::sync::Arc;

use http::header::{self, HeaderValue};
use http::StatusCode;

use super::{Middleware, Next};
use crate::response::Body;
use crate::{Request, Response};

/// Bodies in memory up to this size are compressed at once.
const IN_MEMORY_MAX: u64 = 256 * 1024;

/// A content coding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Coding {
    /// `gzip` (RFC 1952), feature `gzip`.
    Gzip,
    /// `br` (RFC 7932), feature `br`.
    Brotli,
    /// `zstd` (RFC 8878), feature `zstd`.
    Zstd,
}

impl Coding {
    /// The token in `Accept-Encoding` and `Content-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Brotli => "br",
            Coding::Zstd => "zstd",
        }
    }

    /// Was this coding compiled in?
    pub fn available(self) -> bool {
        match self {
            Coding::Gzip => cfg!(feature = "gzip"),
            Coding::Brotli => cfg!(feature = "br"),
            Coding::Zstd => cfg!(feature = "zstd"),
        }
    }

    fn matches(self, token: &str) -> bool {
        token.eq_ignore_ascii_case(self.token())
            || (self == Coding::Gzip && token.eq_ignore_ascii_case("x-gzip"))
    }
}

impl std::str::FromStr for Coding {
    type Err = String;

    /// `gzip`, `br` or `zstd`.
    fn from_str(s: &str) -> Result<Self, String> {
        [Coding::Gzip, Coding::Brotli, Coding::Zstd]
            .into_iter()
            .find(|c| c.matches(s))
            .ok_or_else(|| format!("unknown coding {s:?} (expected gzip, br or zstd)"))
    }
}

/// Is `content_type` worth compressing? Text (but not event streams), JSON,
/// JavaScript, XML, SVG, wasm, and a few font and manifest types.
///
/// ```
/// use httpserver::middleware::compressible;
/// assert!(compressible("text/html; charset=utf-8"));
/// assert!(compressible("application/vnd.api+json"));
/// assert!(!compressible("image/png"));
/// assert!(!compressible("text/event-stream"));
/// ```
pub fn compressible(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "text/event-stream" {
        return false;
    }
    essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence.as_str(),
            "application/json"
                | "application/javascript"
                | "application/x-javascript"
                | "application/ecmascript"
                | "application/xml"
                | "application/wasm"
                | "application/x-ndjson"
                | "application/graphql-response+json"
                | "application/vnd.ms-fontobject"
                | "application/x-font-ttf"
                | "font/ttf"
                | "font/otf"
                | "image/x-icon"
                | "image/vnd.microsoft.icon"
                | "image/bmp"
        )
}

type Predicate = dyn Fn(&str) -> bool + Send + Sync;

/// The compression middleware: see the [module docs](self).
#[derive(Clone)]
#[must_use]
pub struct Compression {
    prefer: Vec<Coding>,
    min_size: u64,
    gzip_level: u32,
    brotli_level: u32,
    zstd_level: i32,
    predicate: Arc<Predicate>,
}

impl std::fmt::Debug for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compression")
            .field("prefer", &self.prefer)
            .field("min_size", &self.min_size)
            .field("gzip_level", &self.gzip_level)
            .field("brotli_level", &self.brotli_level)
            .field("zstd_level", &self.zstd_level)
            .finish()
    }
}

impl Default for Compression {
    fn default() -> Self {
        Compression::new()
    }
}

/// Default gzip level (1-9).
pub const DEFAULT_GZIP_LEVEL: u32 = 4;
/// Default brotli quality (0-11).
pub const DEFAULT_BROTLI_LEVEL: u32 = 4;
/// Default zstd level (1-22).
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

impl Compression {
    /// Every compiled-in coding in the order zstd, br, gzip; min size 1024;
    /// levels [`DEFAULT_GZIP_LEVEL`], [`DEFAULT_BROTLI_LEVEL`],
    /// [`DEFAULT_ZSTD_LEVEL`]; types as [`compressible`].
    pub fn new() -> Self {
        Compression {
            prefer: [Coding::Zstd, Coding::Brotli, Coding::Gzip]
                .into_iter()
                .filter(|c| c.available())
                .collect(),
            min_size: 1024,
            gzip_level: DEFAULT_GZIP_LEVEL,
            brotli_level: DEFAULT_BROTLI_LEVEL,
            zstd_level: DEFAULT_ZSTD_LEVEL,
            predicate: Arc::new(compressible),
        }
    }

    /// The codings to offer, best first (ties in q-value go to the
    /// earlier); codings not compiled in are left out.
    pub fn prefer(mut self, order: impl IntoIterator<Item = Coding>) -> Self {
        self.prefer = order.into_iter().filter(|c| c.available()).collect();
        self
    }

    /// Smallest body worth compressing (default 1024 bytes).
    pub fn min_size(mut self, bytes: u64) -> Self {
        self.min_size = bytes;
        self
    }

    /// gzip level, 1 (fast) to 9 (small); default [`DEFAULT_GZIP_LEVEL`].
    pub fn gzip_level(mut self, level: u32) -> Self {
        self.gzip_level = level.clamp(1, 9);
        self
    }

    /// brotli quality, 0 to 11; default [`DEFAULT_BROTLI_LEVEL`].
    pub fn brotli_level(mut self, level: u32) -> Self {
        self.brotli_level = level.min(11);
        self
    }

    /// zstd level, 1 to 22; default [`DEFAULT_ZSTD_LEVEL`].
    pub fn zstd_level(mut self, level: i32) -> Self {
        self.zstd_level = level.clamp(1, 22);
        self
    }

    /// Which content types to compress (default [`compressible`]).
    pub fn content_types(mut self, f: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.predicate = Arc::new(f);
        self
    }

    /// Could this response be compressed for some client?
    fn eligible(&self, res: &Response) -> bool {
        let status = res.status();
        if status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
        {
            return false;
        }
        let h = res.headers();
        if h.contains_key(header::CONTENT_ENCODING) {
            return false;
        }
        let no_transform = h.get_all(header::CACHE_CONTROL).iter().any(|v| {
            v.to_str().is_ok_and(|s| {
                s.split(',')
                    .any(|d| d.trim().eq_ignore_ascii_case("no-transform"))
            })
        });
        if no_transform {
            return false;
        }
        let typed = h
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| (self.predicate)(t));
        if !typed {
            return false;
        }
        match res.body().len() {
            Some(0) => false,
            Some(n) => n >= self.min_size,
            None => true,
        }
    }

    fn compress(&self, res: &mut Response, coding: Coding) {
        let body = res.take_body();
        let known = body.len();
        let encoded = match body {
            Body::Bytes(b) if known.is_some_and(|n| n <= IN_MEMORY_MAX) => {
                self.encode_all(&b, coding).map(Body::Vec)
            }
            Body::Vec(v) if known.is_some_and(|n| n <= IN_MEMORY_MAX) => {
                self.encode_all(&v, coding).map(Body::Vec)
            }
            // A small file is read and compressed at once, so it goes out
            // with Content-Length in one write.
            Body::File { file, offset, len } if len <= IN_MEMORY_MAX => {
                let mut data = vec![0u8; len as usize];
                std::os::unix::fs::FileExt::read_exact_at(&file, &mut data, offset)
                    .and_then(|()| self.encode_all(&data, coding))
                    .map(Body::Vec)
            }
            other => self
                .encode_stream(source(other), coding)
                .map(|r| Body::Reader(r, None)),
        };
        let body = match encoded {
            Ok(body) => body,
            Err(e) => {
                // The body is gone (it was consumed or half read): answer
                // with a clean error rather than a corrupt representation.
                tracing::error!(error = %e, coding = coding.token(), "compression failed");
                *res = Response::new(StatusCode::INTERNAL_SERVER_ERROR)
                    .with_text("compression failed\n");
                return;
            }
        };
        res.set_body(body);
        let h = res.headers_mut();
        h.remove(header::CONTENT_LENGTH);
        h.remove(header::ACCEPT_RANGES);
        h.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(coding.token()),
        );
        if let Some(etag) = h.get(header::ETAG) {
            if etag.as_bytes().first() == Some(&b'"') {
                let mut weak = b"W/".to_vec();
                weak.extend_from_slice(etag.as_bytes());
                if let Ok(v) = HeaderValue::from_bytes(&weak) {
                    h.insert(header::ETAG, v);
                }
            }
        }
    }

    /// Compresses a whole in-memory body.
    fn encode_all(&self, data: &[u8], coding: Coding) -> io::Result<Vec<u8>> {
        match coding {
            Coding::Gzip => codecs::gzip_all(data, self.gzip_level),
            Coding::Brotli => codecs::brotli_all(data, self.brotli_level),
            Coding::Zstd => codecs::zstd_all(data, self.zstd_level),
        }
    }

    /// Wraps a body reader in an encoder that compresses as it is read.
    fn encode_stream(
        &self,
        src: io::Result<Box<dyn Read + Send>>,
        coding: Coding,
    ) -> io::Result<Box<dyn Read + Send>> {
        let src = src?;
        match coding {
            Coding::Gzip => codecs::gzip_stream(src, self.gzip_level),
            Coding::Brotli => codecs::brotli_stream(src, self.brotli_level),
            Coding::Zstd => codecs::zstd_stream(src, self.zstd_level),
        }
    }
}

/// The encoders, one pair per cargo feature; a coding that was not compiled
/// in is never offered (`Coding::available`), and errors if asked for.
mod codecs {
    #[cfg(any(feature = "gzip", feature = "br"))]
    use std::io::Write;
    use std::io::{self, Read};

    type Stream = io::Result<Box<dyn Read + Send>>;

    /// Buffer between a streamed body and its encoder.
    #[cfg(any(feature = "br", feature = "gzip"))]
    const STREAM_BUF: usize = 16 * 1024;
    /// brotli window (2^20 = 1 MiB): bounds the encoder's memory per stream.
    #[cfg(feature = "br")]
    const BROTLI_LGWIN: u32 = 20;

    #[cfg(feature = "gzip")]
    pub(super) fn gzip_all(data: &[u8], level: u32) -> io::Result<Vec<u8>> {
        let out = Vec::with_capacity(data.len() / 3 + 64);
        let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::new(level));
        enc.write_all(data)?;
        enc.finish()
    }

    #[cfg(feature = "gzip")]
    pub(super) fn gzip_stream(src: Box<dyn Read + Send>, level: u32) -> Stream {
        Ok(Box::new(flate2::read::GzEncoder::new(
            io::BufReader::with_capacity(STREAM_BUF, src),
            flate2::Compression::new(level),
        )))
    }

    #[cfg(feature = "br")]
    pub(super) fn brotli_all(data: &[u8], level: u32) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(data.len() / 3 + 64);
        let mut enc = brotli::CompressorWriter::new(&mut out, 4096, level, BROTLI_LGWIN);
        enc.write_all(data)?;
        enc.flush()?;
        drop(enc);
        Ok(out)
    }

    #[cfg(feature = "br")]
    pub(super) fn brotli_stream(src: Box<dyn Read + Send>, level: u32) -> Stream {
        Ok(Box::new(brotli::CompressorReader::new(
            src,
            STREAM_BUF,
            level,
            BROTLI_LGWIN,
        )))
    }

    #[cfg(feature = "zstd")]
    pub(super) fn zstd_all(data: &[u8], level: i32) -> io::Result<Vec<u8>> {
        zstd::bulk::compress(data, level)
    }

    #[cfg(feature = "zstd")]
    pub(super) fn zstd_stream(src: Box<dyn Read + Send>, level: i32) -> Stream {
        Ok(Box::new(zstd::stream::read::Encoder::new(src, level)?))
    }

    #[cfg(not(all(feature = "gzip", feature = "br", feature = "zstd")))]
    fn missing(name: &str) -> io::Error {
        io::Error::other(format!("the {name} coding was not compiled in"))
    }

    #[cfg(not(feature = "gzip"))]
    pub(super) fn gzip_all(_: &[u8], _: u32) -> io::Result<Vec<u8>> {
        Err(missing("gzip"))
    }

    #[cfg(not(feature = "gzip"))]
    pub(super) fn gzip_stream(_: Box<dyn Read + Send>, _: u32) -> Stream {
        Err(missing("gzip"))
    }

    #[cfg(not(feature = "br"))]
    pub(super) fn brotli_all(_: &[u8], _: u32) -> io::Result<Vec<u8>> {
        Err(missing("br"))
    }

    #[cfg(not(feature = "br"))]
    pub(super) fn brotli_stream(_: Box<dyn Read + Send>, _: u32) -> Stream {
        Err(missing("br"))
    }

    #[cfg(not(feature = "zstd"))]
    pub(super) fn zstd_all(_: &[u8], _: i32) -> io::Result<Vec<u8>> {
        Err(missing("zstd"))
    }

    #[cfg(not(feature = "zstd"))]
    pub(super) fn zstd_stream(_: Box<dyn Read + Send>, _: i32) -> Stream {
        Err(missing("zstd"))
    }
}

/// The body as a reader.
fn source(body: Body) -> io::Result<Box<dyn Read + Send>> {
    Ok(match body {
        Body::Empty => Box::new(io::empty()),
        Body::Bytes(b) => Box::new(Cursor::new(b)),
        Body::Vec(v) => Box::new(Cursor::new(v)),
        Body::Reader(r, Some(len)) => Box::new(r.take(len)),
        Body::Reader(r, None) => r,
        Body::File {
            mut file,
            offset,
            len,
        } => {
            file.seek(SeekFrom::Start(offset))?;
            Box::new(file.take(len))
        }
    })
}

/// The coding to use for `accept` (an `Accept-Encoding` value), if any.
///
/// ```
/// use httpserver::middleware::{choose_coding, Coding};
/// let all = [Coding::Zstd, Coding::Brotli, Coding::Gzip];
/// assert_eq!(choose_coding("gzip, deflate, br, zstd", &all), Some(Coding::Zstd));
/// assert_eq!(choose_coding("gzip;q=1, br;q=0.5", &all), Some(Coding::Gzip));
/// assert_eq!(choose_coding("*;q=0, identity", &all), None);
/// ```
pub fn choose_coding(accept: &str, prefer: &[Coding]) -> Option<Coding> {
    let mut star = None;
    let mut listed: [Option<u16>; 3] = [None; 3];
    let slot = |c: Coding| match c {
        Coding::Gzip => 0,
        Coding::Brotli => 1,
        Coding::Zstd => 2,
    };
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let token = parts.next().unwrap_or("").trim();
        if token.is_empty() {
            continue;
        }
        let mut q = Some(1000);
        for p in parts {
            let p = p.trim();
            if let Some(v) = p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")) {
                q = qvalue(v.trim());
            }
        }
        let Some(q) = q else { continue };
        if token == "*" {
            star = Some(q);
            continue;
        }
        for c in [Coding::Gzip, Coding::Brotli, Coding::Zstd] {
            if c.matches(token) {
                let s = &mut listed[slot(c)];
                *s = Some(s.map_or(q, |old| old.max(q)));
            }
        }
    }
    let mut best: Option<(Coding, u16)> = None;
    for &c in prefer {
        let q = listed[slot(c)].or(star).unwrap_or(0);
        if q > 0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((c, q));
        }
    }
    best.map(|(c, _)| c)
}

/// A q-value in thousandths (RFC 9110 section 12.4.2), or `None` if
/// malformed.
fn qvalue(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole = match int {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    let mut thousandths = 0u16;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    if whole == 1000 && thousandths > 0 {
        return None;
    }
    Some(whole + thousandths)
}

/// A 304 whose strong `ETag` the client holds in its weak form, the form a
/// compressed 200 carried: the 304 names the client's copy the same way.
fn weaken_revalidated(res: &mut Response, req: &Request) {
    let Some(etag) = res.headers().get(header::ETAG) else {
        return;
    };
    if etag.as_bytes().first() != Some(&b'"') {
        return;
    }
    let mut weak = b"W/".to_vec();
    weak.extend_from_slice(etag.as_bytes());
    let held = req.headers().any(|(name, v)| {
        name.eq_ignore_ascii_case("if-none-match") && v.windows(weak.len()).any(|w| w == weak)
    });
    if !held {
        return;
    }
    if let Ok(v) = HeaderValue::from_bytes(&weak) {
        res.headers_mut().insert(header::ETAG, v);
        super::add_vary(res.headers_mut(), "Accept-Encoding");
    }
}

impl Middleware for Compression {
    fn handle(&self, req: &mut Request, next: Next<'_>) -> Response {
        let choice = req
            .header_joined("accept-encoding")
            .and_then(|a| choose_coding(&a, &self.prefer));
        let mut res = next.run(req);
        if res.status() == StatusCode::NOT_MODIFIED {
            weaken_revalidated(&mut res, req);
            return res;
        }
        if !self.eligible(&res) {
            return res;
        }
        super::add_vary(res.headers_mut(), "Accept-Encoding");
        if res.status() == StatusCode::PARTIAL_CONTENT
            || res.headers().contains_key(header::CONTENT_RANGE)
        {
            return res;
        }
        if let Some(coding) = choice {
            self.compress(&mut res, coding);
        }
        res
    }
}

#[cfg(all(test, any(feature = "gzip", feature = "br", feature = "zstd")))]
mod tests;
