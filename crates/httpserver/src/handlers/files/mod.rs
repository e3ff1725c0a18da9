//! [`StaticFiles`]: serves a directory the way nginx would.
//!
//! MIME types by extension, strong ETags and Last-Modified, conditional
//! requests (304/412), byte ranges (206, multipart, 416, If-Range),
//! `index.html`, an optional directory listing, precompressed siblings,
//! a Cache-Control policy, an SPA fallback and a custom 404 page. Bodies
//! leave through `sendfile(2)` as the client reads them.
//!
//! Nothing outside the root is ever served: the request path is decoded
//! once and must consist of plain names (see `path.rs`), and it is opened
//! relative to the open root so that no step of its resolution may leave
//! it unless [`StaticFiles::follow_symlinks`] allows otherwise (see
//! `beneath.rs`).

mod beneath;
mod conditional;
mod encoding;
mod listing;
mod path;
mod range;

use std::borrow::Cow;
use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use http::header::{self, HeaderValue};
use http::{Method, StatusCode};

use crate::response::Body;
use crate::{Handler, Request, Response};
use beneath::Beneath;
use conditional::{Conditions, Precondition, Validators};
use path::PathError;
use range::Ranges;

/// Default for [`StaticFiles::max_ranges`].
pub const DEFAULT_MAX_RANGES: usize = 16;

/// A handler that serves the files under a root directory.
///
/// Mount it with [`Server::files`](crate::Server::files), which routes
/// `GET` and `HEAD` for everything under a prefix to it.
///
/// Defaults: no listing, no hidden (dot) files, no symbolic links that
/// leave the root, `index.html` as the index, precompressed siblings used,
/// no Cache-Control, at most 16 ranges per request.
///
/// # Examples
///
/// ```
/// use httpserver::handlers::StaticFiles;
/// use httpserver::{Server, ServerConfig};
///
/// let mut server = Server::new(ServerConfig::default());
/// server.files(
///     "/assets",
///     StaticFiles::new("./public")
///         .cache_control("public, max-age=3600")
///         .listing(true),
/// );
/// ```
#[derive(Clone, Debug)]
pub struct StaticFiles {
    inner: Arc<Options>,
}

#[derive(Clone, Debug)]
struct Options {
    root: Arc<Beneath>,
    prefix: String,
    listing: bool,
    hidden: bool,
    follow_symlinks: bool,
    index: Option<String>,
    cache_control: Option<HeaderValue>,
    precompressed: bool,
    max_ranges: usize,
    spa: Option<String>,
    not_found: Option<String>,
}

impl StaticFiles {
    /// Serves the files under `root`.
    pub fn new(root: impl Into<PathBuf>) -> StaticFiles {
        let root = Arc::new(Beneath::new(root.into()));
        StaticFiles {
            inner: Arc::new(Options {
                root,
                prefix: String::new(),
                listing: false,
                hidden: false,
                follow_symlinks: false,
                index: Some("index.html".to_string()),
                cache_control: None,
                precompressed: true,
                max_ranges: DEFAULT_MAX_RANGES,
                spa: None,
                not_found: None,
            }),
        }
    }

    fn options(&mut self) -> &mut Options {
        Arc::make_mut(&mut self.inner)
    }

    /// Answers a directory without an index file with an HTML listing
    /// (otherwise 403). Default off.
    #[must_use]
    pub fn listing(mut self, on: bool) -> Self {
        self.options().listing = on;
        self
    }

    /// Serves and lists names starting with `.`. Default off: they are
    /// answered 404 as if absent.
    #[must_use]
    pub fn hidden(mut self, on: bool) -> Self {
        self.options().hidden = on;
        self
    }

    /// Follows symbolic links that lead outside the root. Default off:
    /// such links are answered 404. Links that stay inside are always
    /// followed.
    #[must_use]
    pub fn follow_symlinks(mut self, on: bool) -> Self {
        self.options().follow_symlinks = on;
        self
    }

    /// The file served for a directory, `None` for none. Default
    /// `index.html`.
    #[must_use]
    pub fn index(mut self, name: Option<&str>) -> Self {
        self.options().index = name.map(str::to_string);
        self
    }

    /// The `Cache-Control` value sent with every file (e.g.
    /// `"public, max-age=3600"`). Default none. An invalid value is
    /// dropped with a warning.
    #[must_use]
    pub fn cache_control(mut self, value: &str) -> Self {
        match HeaderValue::from_str(value) {
            Ok(v) => self.options().cache_control = Some(v),
            Err(_) => tracing::warn!(value, "invalid Cache-Control value ignored"),
        }
        self
    }

    /// Serves `file.br`, `file.zst` or `file.gz` in place of `file` when
    /// the client accepts that coding. Default on. While on, every file
    /// response carries `Vary: Accept-Encoding`, and siblings are looked
    /// for only in the codings the client accepts.
    #[must_use]
    pub fn precompressed(mut self, on: bool) -> Self {
        self.options().precompressed = on;
        self
    }

    /// Most ranges honoured in one request; more and the whole file is
    /// sent. Default 16.
    #[must_use]
    pub fn max_ranges(mut self, n: usize) -> Self {
        self.options().max_ranges = n.max(1);
        self
    }

    /// Single-page-app mode: a path that names nothing is answered with
    /// this file (relative to the root, e.g. `index.html`) and 200.
    #[must_use]
    pub fn spa(mut self, file: &str) -> Self {
        self.options().spa = Some(file.trim_start_matches('/').to_string());
        self
    }

    /// A file (relative to the root) sent with 404 when a path names
    /// nothing.
    #[must_use]
    pub fn not_found_page(mut self, file: &str) -> Self {
        self.options().not_found = Some(file.trim_start_matches('/').to_string());
        self
    }

    /// The URL path the files are mounted under (`""` for the site root);
    /// set by [`Server::files`](crate::Server::files).
    #[must_use]
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.options().prefix = prefix.trim_end_matches('/').to_string();
        self
    }

    /// The mount prefix.
    pub(crate) fn mount_prefix(&self) -> &str {
        &self.inner.prefix
    }
}

impl Handler for StaticFiles {
    fn call(&self, req: &Request) -> Response {
        self.inner.serve(req)
    }
}

impl Options {
    fn serve(&self, req: &Request) -> Response {
        let get_or_head = matches!(*req.method(), Method::GET | Method::HEAD);
        if !get_or_head {
            return Response::new(StatusCode::METHOD_NOT_ALLOWED)
                .with_header(header::ALLOW, "GET, HEAD")
                .with_text("method not allowed\n");
        }
        let Some(raw) = req.path().strip_prefix(self.prefix.as_str()) else {
            return self.not_found(req);
        };
        if !raw.is_empty() && !raw.starts_with('/') {
            return self.not_found(req);
        }
        let rel = match path::parse(raw, self.hidden) {
            Ok(rel) => rel,
            Err(PathError::Invalid(why)) => {
                tracing::debug!(path = req.path(), why, "refused file path");
                return Response::new(StatusCode::BAD_REQUEST).with_text("bad path\n");
            }
            Err(PathError::Hidden) => return self.not_found(req),
        };
        let rel_path = rel.relative();
        let Ok((handle, meta)) = self.open(&rel_path) else {
            return self.not_found(req);
        };
        if meta.is_dir() {
            drop(handle);
            if !rel.trailing_slash {
                // One leading slash only: `//host` would name another host.
                let mut location = format!("/{}/", req.path().trim_start_matches('/'));
                if let Some(q) = req.query_string() {
                    location.push('?');
                    location.push_str(q);
                }
                return Response::new(StatusCode::PERMANENT_REDIRECT)
                    .with_header(header::LOCATION, location)
                    .with_text("moved\n");
            }
            if let Some(index) = &self.index {
                let index_path = rel_path.join(index);
                if let Ok((file, meta)) = self.open(&index_path) {
                    if meta.is_file() {
                        return self.file(req, &index_path, file, meta, StatusCode::OK);
                    }
                }
            }
            if self.listing {
                return self.listing(req, &self.root.root().join(&rel_path));
            }
            return Response::new(StatusCode::FORBIDDEN).with_text("directory listing is off\n");
        }
        if !meta.is_file() || (rel.trailing_slash && !rel.segments.is_empty()) {
            return self.not_found(req);
        }
        self.file(req, &rel_path, handle, meta, StatusCode::OK)
    }

    /// Opens `rel` under the root (see `beneath.rs`).
    fn open(&self, rel: &Path) -> io::Result<(File, Metadata)> {
        self.root.open(rel, self.follow_symlinks)
    }

    /// Opens a regular file named in the configuration (SPA, 404 page).
    fn open_named(&self, name: &str) -> Option<(PathBuf, File, Metadata)> {
        let rel = PathBuf::from(path::os_str(name.as_bytes()));
        let (file, meta) = self.open(&rel).ok()?;
        meta.is_file().then_some((rel, file, meta))
    }

    /// 404: the SPA file (200), the custom page (404) or a short text.
    fn not_found(&self, req: &Request) -> Response {
        if let Some(spa) = &self.spa {
            if let Some((rel, file, meta)) = self.open_named(spa) {
                return self.file(req, &rel, file, meta, StatusCode::OK);
            }
        }
        if let Some(page) = &self.not_found {
            if let Some((rel, file, meta)) = self.open_named(page) {
                return self.file(req, &rel, file, meta, StatusCode::NOT_FOUND);
            }
        }
        Response::new(StatusCode::NOT_FOUND).with_text("not found\n")
    }

    fn listing(&self, req: &Request, dir: &Path) -> Response {
        let shown = path::decode(req.path().as_bytes())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|| req.path().to_string());
        let allowed = |p: &Path| self.root.resolve(p, self.follow_symlinks).is_some();
        match listing::render(dir, &shown, self.hidden, allowed) {
            Ok(html) => Response::new(StatusCode::OK)
                .with_owned_body("text/html; charset=utf-8", html.into_bytes())
                .with_header(header::CONTENT_SECURITY_POLICY, listing::CSP)
                .with_header(header::CACHE_CONTROL, "no-cache"),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "directory listing failed");
                Response::new(StatusCode::FORBIDDEN).with_text("cannot list directory\n")
            }
        }
    }

    /// Answers with `file` (open, a regular file; `rel` names it under the
    /// root), honouring preconditions and ranges when `status` is 200.
    fn file(
        &self,
        req: &Request,
        rel: &Path,
        file: File,
        meta: Metadata,
        status: StatusCode,
    ) -> Response {
        let content_type = content_type(rel);
        let mut chosen = None;
        if self.precompressed {
            let accept = req.header_joined("accept-encoding");
            for coding in encoding::acceptable(accept.as_deref()) {
                let mut sibling = rel.as_os_str().to_owned();
                sibling.push(coding.extension());
                if let Ok((file, meta)) = self.open(Path::new(&sibling)) {
                    if meta.is_file() {
                        chosen = Some((coding, file, meta));
                        break;
                    }
                }
            }
        }
        // With precompressed siblings on, what is sent may depend on
        // Accept-Encoding for any file: say so always (as nginx's
        // gzip_vary does) rather than look for siblings on every request.
        let vary = self.precompressed;
        let (coding, file, meta) = match chosen {
            Some((coding, file, meta)) => (Some(coding), file, meta),
            None => (None, file, meta),
        };
        let len = meta.len();
        let validators = Validators::new(meta.modified().unwrap_or(UNIX_EPOCH), len);

        let mut res = Response::new(status);
        let headers = res.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&validators.etag) {
            headers.insert(header::ETAG, v);
        }
        if let Some(v) = validators.last_modified_value() {
            headers.insert(header::LAST_MODIFIED, v);
        }
        if let Some(cc) = &self.cache_control {
            headers.insert(header::CACHE_CONTROL, cc.clone());
        }
        if vary {
            headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        if status != StatusCode::OK {
            set_content(headers, &content_type, coding);
            res.set_body(Body::File {
                file,
                offset: 0,
                len,
            });
            return res;
        }

        let all = |name: &str| req.header_joined(name);
        let (im, inm, ims, ius) = (
            all("if-match"),
            all("if-none-match"),
            all("if-modified-since"),
            all("if-unmodified-since"),
        );
        let conditions = Conditions {
            if_match: im.as_deref(),
            if_none_match: inm.as_deref(),
            if_modified_since: ims.as_deref(),
            if_unmodified_since: ius.as_deref(),
        };
        match conditional::evaluate(&conditions, &validators, true) {
            Precondition::Proceed => {}
            Precondition::NotModified => {
                res.set_status(StatusCode::NOT_MODIFIED);
                return res;
            }
            // Error answers describe no representation: like nginx, they
            // carry no validators.
            Precondition::Failed => {
                return Response::new(StatusCode::PRECONDITION_FAILED)
                    .with_text("precondition failed\n");
            }
        }

        // An empty file has no byte to select: like nginx, send it whole
        // rather than answer 416 to a client resuming a download.
        let range = (*req.method() == Method::GET && len > 0)
            .then(|| req.header("range"))
            .flatten()
            .filter(|_| conditional::if_range_holds(req.header("if-range"), &validators));
        let ranges = match range {
            Some(value) => match range::parse(value, len, self.max_ranges) {
                // Parts of an encoded file would each need the coding named;
                // send the whole of it instead.
                Ranges::Partial(parts) if parts.len() > 1 && coding.is_some() => Ranges::Full,
                other => other,
            },
            None => Ranges::Full,
        };
        match ranges {
            Ranges::Full => {
                // Advertised on whole answers; a 206 already shows support.
                res.headers_mut()
                    .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
                set_content(res.headers_mut(), &content_type, coding);
                res.set_body(Body::File {
                    file,
                    offset: 0,
                    len,
                });
                res
            }
            Ranges::Unsatisfiable => Response::new(StatusCode::RANGE_NOT_SATISFIABLE)
                .with_header(header::CONTENT_RANGE, format!("bytes */{len}"))
                .with_text("range not satisfiable\n"),
            Ranges::Partial(parts) if parts.len() == 1 => {
                let (a, b) = parts[0];
                set_content(res.headers_mut(), &content_type, coding);
                res.set_status(StatusCode::PARTIAL_CONTENT);
                res.set_body(Body::File {
                    file,
                    offset: a,
                    len: b - a + 1,
                });
                res.with_header(header::CONTENT_RANGE, format!("bytes {a}-{b}/{len}"))
            }
            Ranges::Partial(parts) => {
                let boundary = range::boundary();
                let body = range::Multipart::new(file, &parts, len, &content_type, &boundary);
                let body_len = body.len();
                res.with_status(StatusCode::PARTIAL_CONTENT)
                    .with_header(
                        header::CONTENT_TYPE,
                        format!("multipart/byteranges; boundary={boundary}"),
                    )
                    .with_reader(body, Some(body_len))
            }
        }
    }
}

// A `&Cow`, not a `&str`: whether the type is static decides whether its
// header value needs an allocation.
#[allow(clippy::ptr_arg)]
fn set_content(
    headers: &mut http::HeaderMap,
    content_type: &Cow<'static, str>,
    coding: Option<encoding::Coding>,
) {
    let value = match content_type {
        // Static: no allocation per response.
        Cow::Borrowed(s) => Some(HeaderValue::from_static(s)),
        Cow::Owned(s) => HeaderValue::from_str(s).ok(),
    };
    if let Some(v) = value {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Some(c) = coding {
        headers.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(c.token()),
        );
    }
}

/// The Content-Type for a file name: by extension, with `charset=utf-8` on
/// text types; `application/octet-stream` when unknown. The common types
/// come out as static strings (no allocation per request).
fn content_type(path: &Path) -> Cow<'static, str> {
    // The commonest extensions first, before the table search (a binary
    // search of about a thousand case-insensitive names).
    const COMMON: [(&str, &str); 15] = [
        ("html", "text/html"),
        ("css", "text/css"),
        ("js", "text/javascript"),
        ("json", "application/json"),
        ("svg", "image/svg+xml"),
        ("txt", "text/plain"),
        ("png", "image/png"),
        ("jpg", "image/jpeg"),
        ("jpeg", "image/jpeg"),
        ("gif", "image/gif"),
        ("webp", "image/webp"),
        ("ico", "image/x-icon"),
        ("woff2", "font/woff2"),
        ("wasm", "application/wasm"),
        ("bin", "application/octet-stream"),
    ];
    let ext = path.extension().and_then(|e| e.to_str());
    let raw = ext
        .and_then(|ext| {
            COMMON
                .iter()
                .find(|(e, _)| e.eq_ignore_ascii_case(ext))
                .map(|(_, t)| *t)
                .or_else(|| mime_guess::from_ext(ext).first_raw())
        })
        .unwrap_or("application/octet-stream");
    let textual = raw.starts_with("text/")
        || matches!(
            raw,
            "application/javascript"
                | "application/json"
                | "application/xml"
                | "image/svg+xml"
                | "application/manifest+json"
        );
    if !textual || raw.contains(';') {
        return Cow::Borrowed(raw);
    }
    Cow::Borrowed(match raw {
        "text/html" => "text/html; charset=utf-8",
        "text/css" => "text/css; charset=utf-8",
        "text/plain" => "text/plain; charset=utf-8",
        "text/javascript" => "text/javascript; charset=utf-8",
        "text/markdown" => "text/markdown; charset=utf-8",
        "text/csv" => "text/csv; charset=utf-8",
        "text/xml" => "text/xml; charset=utf-8",
        "application/javascript" => "application/javascript; charset=utf-8",
        "application/json" => "application/json; charset=utf-8",
        "application/xml" => "application/xml; charset=utf-8",
        "image/svg+xml" => "image/svg+xml; charset=utf-8",
        "application/manifest+json" => "application/manifest+json; charset=utf-8",
        other => return Cow::Owned(format!("{other}; charset=utf-8")),
    })
}

#[cfg(test)]
mod tests;
