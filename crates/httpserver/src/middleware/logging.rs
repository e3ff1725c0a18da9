//! Access logging: one line per request.
//!
//! Each line has the time the request arrived (its head's first bytes were
//! read: [`Request::received_at`]), its id (from
//! [`RequestIdLayer`](super::RequestIdLayer) when that runs inside this
//! layer, else from an `X-Request-Id` on the response), the remote address,
//! method, path, query, status, response bytes (when known before the body is
//! sent; `-` for a streamed body of unknown length), the duration from the
//! arrival until the handler returned (so reading the body counts, as in
//! nginx's `$request_time`), user agent and referer. Formats ([`LogFormat`]):
//!
//! - `Json`: one object per line, for log collectors;
//! - `Common` and `Combined`: the Common and Combined Log Formats of
//!   Apache and nginx;
//! - `Pretty`: a short, coloured line for a terminal.
//!
//! The default format is `Pretty` when standard output is a terminal and
//! `Json` otherwise; the default output is standard output. Lines go through
//! a buffered writer (see [`log_writer`](super::log_writer)): no syscall and
//! no shared lock per request; buffered lines are written at least every
//! 100 ms and when the server has drained. [`Logging::to_tracing`] sends each
//! line as a `tracing` event instead (target `httpserver::access`), for
//! applications that route everything through one subscriber.
//!
//! A handler that panics is logged here with its panic message and answered
//! with 500, as the server would answer it.
//!
//! # Examples
//!
//! ```
//! use httpserver::middleware::{LogFormat, Logging, RequestIdLayer};
//!
//! let mut server = httpserver::Server::new(Default::default());
//! server.use_middleware(Logging::default().format(LogFormat::Combined));
//! server.use_middleware(RequestIdLayer::new()); // inside: its id is logged
//! ```

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::StatusCode;

use super::log_writer::{LogWriter, Output};
use super::{Middleware, Next};
use crate::codec::push_decimal;
use crate::response::Body;
use crate::{Request, Response};

/// How each line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Common Log Format: `host - - [time] "request" status bytes`.
    Common,
    /// Combined Log Format: Common plus `"referer" "user-agent"`.
    Combined,
    /// A short coloured line for a terminal.
    Pretty,
}

impl LogFormat {
    /// `Pretty` when standard output is a terminal, `Json` otherwise.
    pub fn auto() -> LogFormat {
        if io::stdout().is_terminal() {
            LogFormat::Pretty
        } else {
            LogFormat::Json
        }
    }
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    /// `json`, `common`, `combined` or `pretty`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(LogFormat::Json),
            "common" | "clf" => Ok(LogFormat::Common),
            "combined" => Ok(LogFormat::Combined),
            "pretty" => Ok(LogFormat::Pretty),
            _ => Err(format!(
                "unknown log format {s:?} (expected json, common, combined or pretty)"
            )),
        }
    }
}

enum Target {
    /// Not yet started: the output the writer will own.
    Pending(Mutex<Option<Output>>),
    Tracing,
}

/// The access-log middleware: see the [module docs](self).
#[must_use]
pub struct Logging {
    format: LogFormat,
    target: Target,
    colour: bool,
    writer: OnceLock<Option<LogWriter>>,
}

impl std::fmt::Debug for Logging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logging")
            .field("format", &self.format)
            .field("tracing", &matches!(self.target, Target::Tracing))
            .finish()
    }
}

impl Default for Logging {
    /// Standard output, [`LogFormat::auto`].
    fn default() -> Self {
        Logging::new(LogFormat::auto())
    }
}

impl Logging {
    /// Lines in `format` to standard output.
    pub fn new(format: LogFormat) -> Self {
        Logging {
            format,
            target: Target::Pending(Mutex::new(Some(Box::new(io::stdout())))),
            colour: io::stdout().is_terminal(),
            writer: OnceLock::new(),
        }
    }

    /// Sets the format (default [`LogFormat::auto`]).
    pub fn format(mut self, format: LogFormat) -> Self {
        self.format = format;
        self
    }

    /// Colours in the `Pretty` format (default: when standard output is a
    /// terminal).
    pub fn colour(mut self, on: bool) -> Self {
        self.colour = on;
        self
    }

    /// Writes to standard error.
    pub fn to_stderr(mut self) -> Self {
        self.colour = io::stderr().is_terminal();
        self.to_writer(io::stderr())
    }

    /// Appends to the file at `path`, creating it if needed. Only the last
    /// 8 MiB of the file stay in the page cache: older pages are advised
    /// away once written back, so a busy log does not push the files a
    /// server reads out of memory.
    ///
    /// # Errors
    ///
    /// If the file cannot be opened for appending.
    pub fn to_file(mut self, path: impl AsRef<Path>) -> io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        self.colour = false;
        // The log's written pages leave the page cache as they reach the
        // disk (see `LogFile`).
        Ok(self.to_writer(super::log_writer::LogFile::new(file)))
    }

    /// Writes to any writer (a socket, a pipe, a test buffer).
    pub fn to_writer(mut self, out: impl Write + Send + 'static) -> Self {
        self.target = Target::Pending(Mutex::new(Some(Box::new(out))));
        self
    }

    /// Emits each line as a `tracing` event at INFO with target
    /// `httpserver::access` (the line in the field `message`, formatted as
    /// set) instead of writing it.
    pub fn to_tracing(mut self) -> Self {
        self.target = Target::Tracing;
        self
    }

    /// Writes out what is buffered (also done every 100 ms and when the
    /// server has drained).
    pub fn flush(&self) {
        if let Some(Some(w)) = self.writer.get() {
            w.flush();
        }
    }

    fn writer(&self) -> Option<&LogWriter> {
        self.writer
            .get_or_init(|| {
                let Target::Pending(out) = &self.target else {
                    return None;
                };
                let out = super::lock(out).take()?;
                match LogWriter::new(out) {
                    Ok(w) => Some(w),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot start the access log writer; logging through tracing");
                        None
                    }
                }
            })
            .as_ref()
    }

    /// Formats one line straight into the writer's staging buffer (or, for
    /// `tracing`, into a scratch line).
    fn emit(&self, record: &Record<'_>) {
        match self.writer() {
            Some(w) => w.write_with(|out| format_line(self.format, self.colour, record, out)),
            None => LINE.with(|line| {
                let mut line = line.borrow_mut();
                line.clear();
                format_line(self.format, self.colour, record, &mut line);
                let text = String::from_utf8_lossy(&line);
                tracing::info!(target: "httpserver::access", "{}", text.trim_end());
            }),
        }
    }
}

/// What one line says.
struct Record<'a> {
    /// When the request arrived: wall clock, microseconds since the epoch.
    start: u64,
    /// Visible ASCII only (an accepted or generated id, or the response's
    /// header when it is text).
    id: Option<&'a [u8]>,
    req: &'a Request,
    status: StatusCode,
    bytes: Option<u64>,
    micros: u64,
}

impl Middleware for Logging {
    fn handle(&self, req: &mut Request, next: Next<'_>) -> Response {
        // The runtime stamps each request with the time its head began to
        // arrive, so one clock read (vDSO, no syscall) per request is enough:
        // the end. Requests made by hand have no stamp: then now.
        let received = req.received_at().unwrap_or_else(Instant::now);
        let outcome = catch_unwind(AssertUnwindSafe(|| next.run(req)));
        let end = Instant::now();
        let micros =
            u64::try_from(end.saturating_duration_since(received).as_micros()).unwrap_or(u64::MAX);
        let (res, panic) = match outcome {
            Ok(res) => (res, None),
            Err(payload) => {
                let msg = panic_message(&*payload);
                (
                    Response::new(StatusCode::INTERNAL_SERVER_ERROR),
                    Some((msg, payload)),
                )
            }
        };
        let id = req.request_id_bytes().or_else(|| {
            res.headers()
                .get("x-request-id")
                .filter(|v| v.to_str().is_ok())
                .map(http::HeaderValue::as_bytes)
        });
        let record = Record {
            start: wall_clock(received, end),
            id,
            req,
            status: res.status(),
            bytes: body_len(&res),
            micros,
        };
        self.emit(&record);
        if let Some((msg, payload)) = panic {
            tracing::error!(
                request_id = %String::from_utf8_lossy(id.unwrap_or(b"-")),
                method = %req.method(),
                path = req.path(),
                panic = %msg,
                "handler panicked; answered 500"
            );
            // Answered here: the runtime's own panic path is not needed.
            drop(payload);
        }
        res
    }

    fn on_shutdown(&self) {
        self.flush();
    }
}

thread_local! {
    static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    static CLOCK: std::cell::RefCell<(u64, String, String)> =
        const { std::cell::RefCell::new((u64::MAX, String::new(), String::new())) };
    /// A monotonic instant and the wall clock read with it (microseconds
    /// since the epoch), renewed every second: wall times of other instants
    /// are worked out from it.
    static ANCHOR: std::cell::Cell<Option<(Instant, u64)>> =
        const { std::cell::Cell::new(None) };
}

/// How long an [`ANCHOR`] is used. The wall clock is read again after it,
/// so a clock step shows within a second and drift between the two clocks
/// (at most 500 ppm under NTP) stays below a millisecond.
const ANCHOR_FOR: Duration = Duration::from_secs(1);

/// The wall-clock time of `at` in microseconds since the epoch, given that
/// the monotonic clock read `now` (not before `at`) a moment ago.
fn wall_clock(at: Instant, now: Instant) -> u64 {
    let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    let anchor = ANCHOR.with(|a| match a.get() {
        Some((inst, wall)) if now.saturating_duration_since(inst) < ANCHOR_FOR => (inst, wall),
        _ => {
            let wall = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, micros);
            a.set(Some((now, wall)));
            (now, wall)
        }
    });
    let (inst, wall) = anchor;
    match at.checked_duration_since(inst) {
        Some(after) => wall.saturating_add(micros(after)),
        None => wall.saturating_sub(micros(inst.saturating_duration_since(at))),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

fn body_len(res: &Response) -> Option<u64> {
    match res.body() {
        Body::Reader(_, len) => *len,
        other => other.len(),
    }
}

fn format_line(format: LogFormat, colour: bool, r: &Record<'_>, out: &mut Vec<u8>) {
    let ua = r.req.header_bytes("user-agent");
    let referer = r.req.header_bytes("referer");
    let peer = r.req.peer_addr();
    let millis = (r.start / 1000 % 1000) as u32;
    match format {
        LogFormat::Json => {
            out.extend_from_slice(b"{\"time\":\"");
            with_time(r.start, |iso, _| out.extend_from_slice(iso.as_bytes()));
            out.push(b'.');
            push_millis(out, millis);
            out.extend_from_slice(b"Z\",\"request_id\":");
            json_opt(out, r.id);
            out.extend_from_slice(b",\"remote\":");
            match peer {
                Some(p) => {
                    out.push(b'"');
                    push_addr(out, p);
                    out.push(b'"');
                }
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"method\":\"");
            // A method is a token: nothing in it needs escaping.
            out.extend_from_slice(r.req.method().as_str().as_bytes());
            out.push(b'"');
            out.extend_from_slice(b",\"path\":");
            json_str(out, r.req.path_bytes());
            out.extend_from_slice(b",\"query\":");
            json_opt(out, r.req.query_bytes());
            out.extend_from_slice(b",\"status\":");
            push_decimal(out, r.status.as_u16());
            out.extend_from_slice(b",\"bytes\":");
            match r.bytes {
                Some(b) => push_decimal(out, b),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"duration_ms\":");
            push_decimal(out, r.micros / 1000);
            out.push(b'.');
            push_millis(out, (r.micros % 1000) as u32);
            out.extend_from_slice(b",\"user_agent\":");
            json_opt(out, ua);
            out.extend_from_slice(b",\"referer\":");
            json_opt(out, referer);
            out.extend_from_slice(b"}\n");
        }
        LogFormat::Common | LogFormat::Combined => {
            match peer {
                Some(p) => push_ip(out, p.ip()),
                None => out.push(b'-'),
            }
            out.extend_from_slice(b" - - [");
            with_time(r.start, |_, clf| out.extend_from_slice(clf.as_bytes()));
            out.extend_from_slice(b"] \"");
            clf_escape(out, r.req.method().as_str().as_bytes());
            out.push(b' ');
            clf_escape(out, r.req.target().as_bytes());
            out.push(b' ');
            out.extend_from_slice(version(r.req.version()).as_bytes());
            out.extend_from_slice(b"\" ");
            push_decimal(out, r.status.as_u16());
            out.push(b' ');
            match r.bytes {
                Some(b) if b > 0 => push_decimal(out, b),
                _ => out.push(b'-'),
            }
            if format == LogFormat::Combined {
                out.extend_from_slice(b" \"");
                clf_escape(out, referer.unwrap_or(b"-"));
                out.extend_from_slice(b"\" \"");
                clf_escape(out, ua.unwrap_or(b"-"));
                out.push(b'"');
            }
            out.push(b'\n');
        }
        LogFormat::Pretty => {
            with_time(r.start, |iso, _| {
                out.extend_from_slice(iso.get(11..).unwrap_or(iso).as_bytes());
            });
            let _ = write!(out, ".{millis:03} ");
            let code = r.status.as_u16();
            let paint = match code {
                200..=299 => "32",
                300..=399 => "36",
                400..=499 => "33",
                _ => "31",
            };
            if colour {
                let _ = write!(out, "\x1b[{paint}m{code}\x1b[0m ");
            } else {
                let _ = write!(out, "{code} ");
            }
            out.extend_from_slice(r.req.method().as_str().as_bytes());
            out.push(b' ');
            clf_escape(out, r.req.target().as_bytes());
            let _ = write!(out, " {}.{:03} ms", r.micros / 1000, r.micros % 1000);
            match r.bytes {
                Some(b) => {
                    let _ = write!(out, " {b} B");
                }
                None => out.extend_from_slice(b" streamed"),
            }
            if let Some(p) = peer {
                let _ = write!(out, " {}", p.ip());
            }
            if let Some(id) = r.id {
                out.extend_from_slice(if colour { b" \x1b[2m" } else { b" " });
                out.extend_from_slice(id);
                if colour {
                    out.extend_from_slice(b"\x1b[0m");
                }
            }
            out.push(b'\n');
        }
    }
}

fn version(v: http::Version) -> &'static str {
    if v == http::Version::HTTP_10 {
        "HTTP/1.0"
    } else {
        "HTTP/1.1"
    }
}

/// Calls `f` with the second of `micros` (since the epoch) formatted as ISO
/// 8601 (`2026-12-01T20:41:07`) and as the Common Log Format's
/// `01/Dec/2026:20:41:07 +0000`, cached per thread for the second.
fn with_time(micros: u64, f: impl FnOnce(&str, &str)) {
    let secs = micros / 1_000_000;
    CLOCK.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != secs {
            let (y, mo, d, h, mi, s) = civil(secs);
            const MONTHS: [&str; 12] = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ];
            c.1.clear();
            let _ = write!(c.1, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
            c.2.clear();
            let month = MONTHS.get(mo as usize - 1).copied().unwrap_or("Jan");
            let _ = write!(c.2, "{d:02}/{month}/{y:04}:{h:02}:{mi:02}:{s:02} +0000");
            c.0 = secs;
        }
        f(&c.1, &c.2);
    });
}

/// Seconds since the epoch to (year, month, day, hour, minute, second), UTC
/// (the days-to-civil algorithm for the proleptic Gregorian calendar).
fn civil(secs: u64) -> (u64, u64, u64, u64, u64, u64) {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Appends `bytes` as the inside of a log string the way nginx does:
/// `"`, `\`, controls and non-ASCII bytes become `\xHH`.
fn clf_escape(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        if b.is_ascii_graphic() && b != b'"' && b != b'\\' || b == b' ' {
            out.push(b);
        } else {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
}

fn json_opt(out: &mut Vec<u8>, v: Option<&[u8]>) {
    match v {
        Some(v) => json_str(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

/// Appends `n` (below 1000) as three digits.
fn push_millis(out: &mut Vec<u8>, n: u32) {
    let n = n.min(999);
    for d in [n / 100, n / 10 % 10, n % 10] {
        out.push(b'0' + d as u8);
    }
}

/// Appends an address without the formatting machinery for IPv4.
fn push_ip(out: &mut Vec<u8>, ip: std::net::IpAddr) {
    match ip {
        std::net::IpAddr::V4(v4) => {
            for (i, &o) in v4.octets().iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                // At most three digits: written directly.
                if o >= 100 {
                    out.push(b'0' + o / 100);
                }
                if o >= 10 {
                    out.push(b'0' + o / 10 % 10);
                }
                out.push(b'0' + o % 10);
            }
        }
        std::net::IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

/// Appends `ip:port` (`[v6]:port`).
fn push_addr(out: &mut Vec<u8>, addr: std::net::SocketAddr) {
    if addr.is_ipv6() {
        out.push(b'[');
        push_ip(out, addr.ip());
        out.push(b']');
    } else {
        push_ip(out, addr.ip());
    }
    out.push(b':');
    push_decimal(out, addr.port());
}

/// Appends a JSON string; invalid UTF-8 becomes U+FFFD.
fn json_str(out: &mut Vec<u8>, bytes: &[u8]) {
    // The common case: printable ASCII with nothing to escape, copied as is
    // (checked without a branch per byte).
    if bytes.iter().fold(true, |plain, &b| {
        plain & (0x20..0x7f).contains(&b) & (b != b'"') & (b != b'\\')
    }) {
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    out.push(b'"');
    for c in String::from_utf8_lossy(bytes).chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let mut utf8 = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests;
