//! The request-head parser: a pure function from bytes to a [`RequestHead`].
//!
//! [`parse_request`] reads the request line and the header section
//! (RFC 9112 sections 2 to 6), checks every byte against the grammar, and works
//! out how the body is framed. It copies nothing: the head refers to the input
//! by [`Span`]s, and header fields are written to a caller-owned `Vec` so a
//! connection can reuse one allocation for every request.
//!
//! It is strict where leniency has led to request smuggling: bare CR or LF,
//! obs-fold, whitespace before the colon, Content-Length with
//! Transfer-Encoding, differing Content-Lengths and any transfer coding other
//! than a single final `chunked` are all errors, never guesses.

use super::error::ParseError;
use super::token::{
    all_host, host_byte, host_shape_short, name_eq, name_run, target_run_and_query, tchar,
    token_run, trim_ows, value_byte, value_run,
};

/// Size limits for a request head. Each one maps to its own status.
///
/// # Examples
///
/// ```
/// let limits = httpserver::codec::Limits::default();
/// assert_eq!(limits.max_request_line, 8 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line, without its CRLF. Over it: 414. Default 8 KiB.
    pub max_request_line: usize,
    /// Largest head (request line and header section). Over it: 431.
    /// Default 64 KiB.
    pub max_head: usize,
    /// Most header fields. Over it: 431. Default 100.
    pub max_headers: usize,
}

/// Default for [`Limits::max_request_line`].
pub const DEFAULT_MAX_REQUEST_LINE: usize = 8 * 1024;
/// Default for [`Limits::max_head`].
pub const DEFAULT_MAX_HEAD: usize = 64 * 1024;
/// Default for [`Limits::max_headers`].
pub const DEFAULT_MAX_HEADERS: usize = 100;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: DEFAULT_MAX_REQUEST_LINE,
            max_head: DEFAULT_MAX_HEAD,
            max_headers: DEFAULT_MAX_HEADERS,
        }
    }
}

/// The outcome of parsing input that may not hold a whole message yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status<T> {
    /// A complete message was parsed.
    Complete(T),
    /// More bytes are needed; nothing is wrong so far.
    Partial,
}

/// A byte range of the parsed buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    #[inline]
    fn new(start: usize, end: usize) -> Span {
        // Heads are bounded by `Limits::max_head`, far below u32::MAX.
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    /// The bytes this span covers in `buf`.
    #[inline]
    pub fn get(self, buf: &[u8]) -> &[u8] {
        buf.get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }

    /// The span as text. Spans the parser returns for the method, target and
    /// header names are ASCII; anything else yields `""`.
    #[inline]
    pub fn str(self, buf: &[u8]) -> &str {
        std::str::from_utf8(self.get(buf)).unwrap_or_default()
    }

    /// Length in bytes.
    #[inline]
    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    /// Is the span empty?
    #[inline]
    pub fn is_empty(self) -> bool {
        self.end == self.start
    }
}

/// One header field: name and value (value without surrounding whitespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeaderSpan {
    /// The field name, as sent (compare case-insensitively).
    pub name: Span,
    /// The field value, OWS trimmed.
    pub value: Span,
}

/// The HTTP version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0
    Http10,
    /// HTTP/1.1 (and any later 1.x minor version, RFC 9110 section 6.2)
    Http11,
}

/// How the request body is delimited (RFC 9112 section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
}

/// Which of the four request-target forms was used (RFC 9112 section 3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query`
    Origin,
    /// `http://host/path?query`
    Absolute,
    /// `host:port`, only with CONNECT
    Authority,
    /// `*`, only with OPTIONS
    Asterisk,
}

/// A parsed request head. Spans index the buffer given to [`parse_request`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHead {
    /// The method token.
    pub method: Span,
    /// The whole request-target as sent.
    pub target: Span,
    /// Which form the target has.
    pub form: TargetForm,
    /// The path of an origin- or absolute-form target (empty means `/`),
    /// the authority of a CONNECT, or `*`.
    pub path: Span,
    /// The query, without the `?`, if there was one.
    pub query: Option<Span>,
    /// The authority named by an absolute-form target, or else the Host value.
    pub authority: Option<Span>,
    /// The version.
    pub version: Version,
    /// How the body is framed.
    pub framing: Framing,
    /// May the connection stay open after the response? (Connection header
    /// and version, RFC 9112 section 9.3.)
    pub keep_alive: bool,
    /// Did an HTTP/1.1 client send `Expect: 100-continue`?
    pub expect_continue: bool,
    /// Length of the head in bytes, through the blank line.
    pub len: usize,
}

/// Finds the end of a head in `buf`, searching from `from` (an offset already
/// known to hold no end, so a slow client costs linear time in all).
///
/// Returns the head's length through its blank line.
///
/// # Examples
///
/// ```
/// use httpserver::codec::find_head_end;
/// assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nrest", 0), Some(27));
/// assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n", 0), None);
/// ```
pub fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    // Empty lines before the request line are skipped, as the parser does.
    let mut lead = 0;
    while buf[lead..].starts_with(b"\r\n") {
        lead += 2;
    }
    let mut i = from.saturating_sub(3).max(lead);
    while i + 3 < buf.len() {
        match buf[i + 3] {
            b'\n' => {
                if &buf[i..i + 4] == b"\r\n\r\n" {
                    return Some(i + 4);
                }
                i += 1;
            }
            b'\r' => i += 1,
            _ => i += 4,
        }
    }
    None
}

/// Parses a request head from the start of `buf`.
///
/// Returns [`Status::Partial`] while the head is incomplete and within the
/// limits. Header fields are written to `headers` (cleared first).
///
/// # Errors
///
/// A [`ParseError`] naming the first rule the input breaks.
///
/// # Examples
///
/// ```
/// use httpserver::codec::{parse_request, Framing, Limits, Status};
///
/// let buf = b"POST /users?x=1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 2\r\n\r\n{}";
/// let mut headers = Vec::new();
/// let Status::Complete(head) = parse_request(buf, &Limits::default(), &mut headers)? else {
///     unreachable!()
/// };
/// assert_eq!(head.method.str(buf), "POST");
/// assert_eq!(head.path.str(buf), "/users");
/// assert_eq!(head.query.map(|q| q.str(buf)), Some("x=1"));
/// assert_eq!(head.framing, Framing::Length(2));
/// assert_eq!(headers.len(), 2);
/// assert_eq!(&buf[head.len..], b"{}");
/// # Ok::<(), httpserver::codec::ParseError>(())
/// ```
pub fn parse_request(
    buf: &[u8],
    limits: &Limits,
    headers: &mut Vec<HeaderSpan>,
) -> Result<Status<RequestHead>, ParseError> {
    headers.clear();
    // While the input runs out: within the limits it is Partial, else the
    // limit's error.
    let partial = |line_start: usize, in_line: bool| {
        // `+ 1`: the line's CR may already be here without its LF.
        if in_line && buf.len() - line_start > limits.max_request_line + 1 {
            Err(ParseError::UriTooLong)
        } else if buf.len() > limits.max_head {
            Err(ParseError::HeadersTooLarge)
        } else {
            Ok(Status::Partial)
        }
    };

    // RFC 9112 section 2.2: a server SHOULD ignore at least one empty line
    // received before the request line.
    let mut pos = 0;
    loop {
        match &buf[pos..] {
            [b'\r', b'\n', ..] => pos += 2,
            [b'\r'] | [] => return Ok(Status::Partial),
            [b'\n', ..] | [b'\r', _, ..] => return Err(ParseError::InvalidLineEnding),
            _ => break,
        }
        if pos > limits.max_request_line {
            return Err(ParseError::InvalidRequestLine);
        }
    }

    // Request line: method SP request-target SP HTTP-version CRLF.
    let line_start = pos;
    // The commonest method first, without the table walk.
    let method_end = if buf.get(pos..pos + 4) == Some(b"GET ") {
        pos + 3
    } else {
        pos + token_run(&buf[pos..])
    };
    match buf.get(method_end) {
        None => return partial(line_start, true),
        Some(b' ') if method_end > pos => {}
        Some(_) => return Err(ParseError::InvalidMethod),
    }
    let target_start = method_end + 1;
    let (target_len, query_mark) = target_run_and_query(&buf[target_start..]);
    let target_end = target_start + target_len;
    if target_end - line_start > limits.max_request_line {
        return Err(ParseError::UriTooLong);
    }
    match buf.get(target_end) {
        None => return partial(line_start, true),
        Some(b' ') if target_end > target_start => {}
        Some(b' ') => return Err(ParseError::InvalidTarget),
        Some(b'\r' | b'\n') => return Err(ParseError::InvalidRequestLine),
        Some(_) => return Err(ParseError::InvalidTarget),
    }
    let version_start = target_end + 1;
    let Some(tail) = buf.get(version_start..version_start + 10) else {
        // Fail at once on what cannot become a version line: a client that
        // sent it all would otherwise wait for the head timeout.
        partial_version(&buf[version_start.min(buf.len())..])?;
        return partial(line_start, true);
    };
    let version = if tail == b"HTTP/1.1\r\n" {
        Version::Http11
    } else {
        let version = parse_version(&tail[..8])?;
        match &tail[8..] {
            b"\r\n" => {}
            [b'\r' | b'\n', _] => return Err(ParseError::InvalidLineEnding),
            _ => return Err(ParseError::InvalidVersion),
        }
        version
    };
    if version_start + 8 - line_start > limits.max_request_line {
        return Err(ParseError::UriTooLong);
    }
    let method = &buf[line_start..method_end];
    let target = &buf[target_start..target_end];
    let (form, path, query, authority) = parse_target(method, target, target_start, query_mark)?;
    let line = RequestLine {
        method: Span::new(line_start, method_end),
        target: Span::new(target_start, target_end),
        form,
        path,
        query,
        authority,
        version,
    };
    pos = version_start + 10;

    // Header section.
    let mut info = FieldInfo::default();
    loop {
        if pos > limits.max_head {
            return Err(ParseError::HeadersTooLarge);
        }
        // A line's first byte alone tells a bare LF or an obs-fold: neither
        // waits for the byte after it. `pos <= buf.len()`: it is just past
        // a CRLF that was found in `buf`.
        match &buf[pos..] {
            [b'\r', b'\n', ..] => {
                pos += 2;
                break;
            }
            [b'\r'] | [] => return partial(line_start, false),
            [b'\r' | b'\n', ..] => return Err(ParseError::InvalidLineEnding),
            [b' ' | b'\t', ..] => return Err(ParseError::ObsFold),
            _ => {}
        }
        if headers.len() == limits.max_headers {
            return Err(ParseError::TooManyHeaders);
        }
        // The line's end (its first byte that is not a field-value byte) is
        // looked for from the line's start, not from the value's: the name
        // and colon are value bytes too, so it is the same byte, and the
        // search no longer waits for the colon's.
        let line_end = pos + value_run(&buf[pos..]);
        // field-name ":"
        let name_end = pos + name_run(&buf[pos..]);
        match buf.get(name_end) {
            Some(b':') if name_end > pos => {}
            None => return partial(line_start, false),
            Some(b' ' | b'\t') if name_end > pos => {
                let after = trim_ows(&buf[name_end..]);
                return Err(if after.first() == Some(&b':') {
                    ParseError::WhitespaceBeforeColon
                } else {
                    ParseError::InvalidHeaderName
                });
            }
            Some(_) => return Err(ParseError::InvalidHeaderName),
        }
        // OWS field-value OWS CRLF
        let mut v0 = name_end + 1;
        while matches!(buf.get(v0), Some(b' ' | b'\t')) {
            v0 += 1;
        }
        let v_end = line_end;
        match buf.get(v_end..v_end + 2) {
            Some(b"\r\n") => {}
            None if buf.len() - v_end < 2 && buf.get(v_end).is_none_or(|&b| b == b'\r') => {
                return partial(line_start, false);
            }
            _ if buf[v_end] == b'\n' => return Err(ParseError::InvalidLineEnding),
            _ => return Err(ParseError::InvalidHeaderValue),
        }
        let mut v1 = v_end;
        while v1 > v0 && matches!(buf[v1 - 1], b' ' | b'\t') {
            v1 -= 1;
        }
        let field = HeaderSpan {
            name: Span::new(pos, name_end),
            value: Span::new(v0, v1),
        };
        info.observe(buf, field)?;
        headers.push(field);
        pos = v_end + 2;
    }
    if pos > limits.max_head {
        return Err(ParseError::HeadersTooLarge);
    }
    // The Host value's shape is checked here, once, not in the loop over
    // the fields, whose code it would make larger.
    if let Some(host) = info.host {
        if !host_shape(buf, host) {
            return Err(ParseError::InvalidHost);
        }
    }
    let head = info.finish(line, pos)?;
    Ok(Status::Complete(head))
}

/// The parts of a request line.
#[derive(Clone, Copy)]
struct RequestLine {
    method: Span,
    target: Span,
    form: TargetForm,
    path: Span,
    query: Option<Span>,
    authority: Option<Span>,
    version: Version,
}

/// Checks the first bytes of a version line that has not all arrived
/// (`HTTP/1.1\r\n` less at least its LF): `Ok` while it can still become
/// one, else the error the whole line would get.
fn partial_version(v: &[u8]) -> Result<(), ParseError> {
    let shaped = v.iter().zip(b"HTTP/0.0").all(|(&b, &want)| {
        if want == b'0' {
            b.is_ascii_digit()
        } else {
            b == want
        }
    });
    if !shaped {
        return Err(ParseError::InvalidVersion);
    }
    if let Some(version) = v.get(..8) {
        parse_version(version)?;
    }
    match v.get(8) {
        None | Some(b'\r') => Ok(()),
        Some(b'\n') => Err(ParseError::InvalidLineEnding),
        Some(_) => Err(ParseError::InvalidVersion),
    }
}

/// `HTTP-version = "HTTP" "/" DIGIT "." DIGIT` (RFC 9112 section 2.3).
#[inline(always)]
fn parse_version(v: &[u8]) -> Result<Version, ParseError> {
    match v {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            match (major, minor) {
                (b'1', b'0') => Ok(Version::Http10),
                (b'1', _) => Ok(Version::Http11),
                _ => Err(ParseError::UnsupportedVersion),
            }
        }
        _ => Err(ParseError::InvalidVersion),
    }
}

type TargetParts = (TargetForm, Span, Option<Span>, Option<Span>);

/// Classifies the request-target (RFC 9112 section 3.2) and finds its path and
/// query. `t0` is the target's offset in the buffer, `mark` the index of its
/// first `?` (a `#` has already been refused). Inlined: its result
/// is read back field by field, which costs a store-forwarding stall per
/// request when it goes through memory.
#[inline(always)]
fn parse_target(
    method: &[u8],
    target: &[u8],
    t0: usize,
    mark: Option<usize>,
) -> Result<TargetParts, ParseError> {
    if method == b"CONNECT" {
        // authority-form: host ":" port, nothing else.
        let ok = target.iter().all(|&b| host_byte(b))
            && matches!(target.iter().rposition(|&b| b == b':'),
                Some(i) if i > 0 && i + 1 < target.len()
                    && target[i + 1..].iter().all(u8::is_ascii_digit));
        if !ok {
            return Err(ParseError::InvalidTarget);
        }
        let all = Span::new(t0, t0 + target.len());
        return Ok((TargetForm::Authority, all, None, Some(all)));
    }
    if target == b"*" {
        if method != b"OPTIONS" {
            return Err(ParseError::InvalidTarget);
        }
        return Ok((TargetForm::Asterisk, Span::new(t0, t0 + 1), None, None));
    }
    let (form, rest_start, authority) = if target.first() == Some(&b'/') {
        (TargetForm::Origin, 0, None)
    } else {
        // absolute-form: scheme "://" authority path-abempty [ "?" query ]
        let Some(colon) = target.iter().position(|&b| b == b':') else {
            return Err(ParseError::InvalidTarget);
        };
        let scheme = &target[..colon];
        let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
            && scheme
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok || !target[colon..].starts_with(b"://") {
            return Err(ParseError::InvalidTarget);
        }
        let a0 = colon + 3;
        let a1 = target[a0..]
            .iter()
            .position(|&b| b == b'/' || b == b'?')
            .map_or(target.len(), |i| a0 + i);
        let auth = &target[a0..a1];
        if auth.is_empty() || !auth.iter().all(|&b| host_byte(b) || b == b'@') {
            return Err(ParseError::InvalidTarget);
        }
        (TargetForm::Absolute, a1, Some(Span::new(t0 + a0, t0 + a1)))
    };
    let (path, query) = match mark.and_then(|m| m.checked_sub(rest_start)) {
        Some(q) => (
            Span::new(t0 + rest_start, t0 + rest_start + q),
            Some(Span::new(t0 + rest_start + q + 1, t0 + target.len())),
        ),
        None => (Span::new(t0 + rest_start, t0 + target.len()), None),
    };
    Ok((form, path, query, authority))
}

/// Parses `field-name ":" OWS field-value OWS` in `buf[start..end]`
/// (RFC 9112 section 5). Shared with the trailer parser.
pub(crate) fn parse_field_line(
    buf: &[u8],
    start: usize,
    end: usize,
) -> Result<HeaderSpan, ParseError> {
    let line = &buf[start..end];
    match line.first() {
        Some(b' ' | b'\t') => return Err(ParseError::ObsFold),
        None => return Err(ParseError::InvalidHeaderName),
        _ => {}
    }
    let mut i = 0;
    while i < line.len() && tchar(line[i]) {
        i += 1;
    }
    match line.get(i) {
        Some(b':') if i > 0 => {}
        Some(b' ' | b'\t') if i > 0 => {
            let after = trim_ows(&line[i..]);
            return Err(if after.first() == Some(&b':') {
                ParseError::WhitespaceBeforeColon
            } else {
                ParseError::InvalidHeaderName
            });
        }
        _ => return Err(ParseError::InvalidHeaderName),
    }
    let name = Span::new(start, start + i);
    let mut v0 = i + 1;
    let mut v1 = line.len();
    while v0 < v1 && matches!(line[v0], b' ' | b'\t') {
        v0 += 1;
    }
    while v1 > v0 && matches!(line[v1 - 1], b' ' | b'\t') {
        v1 -= 1;
    }
    if !line[v0..v1].iter().all(|&b| value_byte(b)) {
        return Err(ParseError::InvalidHeaderValue);
    }
    Ok(HeaderSpan {
        name,
        value: Span::new(start + v0, start + v1),
    })
}

/// What the header section says about framing and connection handling,
/// gathered field by field.
#[derive(Default)]
struct FieldInfo {
    host: Option<Span>,
    host_count: u32,
    content_length: Option<u64>,
    te_seen: bool,
    /// Number of `chunked` codings seen.
    chunked: u32,
    /// Was the last coding seen `chunked`?
    chunked_last: bool,
    /// Was a coding other than `chunked` seen?
    other_coding: bool,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
    expect_other: bool,
}

impl FieldInfo {
    /// Takes note of `field` if it is one of the five fields that shape
    /// framing or the connection. Most fields are none of them, and a
    /// look at the name's length and first letter tells so. (A chain of
    /// compares, not a `match` on the length: the jump table that would
    /// become costs an indirect branch per field.)
    #[inline(always)]
    fn observe(&mut self, buf: &[u8], field: HeaderSpan) -> Result<(), ParseError> {
        let name = field.name.get(buf);
        let first = name.first().map_or(0, |b| b | 0x20);
        let key = (name.len(), first);
        if key == (4, b'h') {
            if name_eq(name, b"host") {
                return self.host(buf, field.value);
            }
        } else if key == (10, b'c') {
            if name_eq(name, b"connection") {
                self.connection(field.value.get(buf));
            }
        } else if key == (14, b'c') {
            if name_eq(name, b"content-length") {
                return self.content_length(field.value.get(buf));
            }
        } else if key == (17, b't') {
            if name_eq(name, b"transfer-encoding") {
                return self.transfer_encoding(field.value.get(buf));
            }
        } else if key == (6, b'e') && name_eq(name, b"expect") {
            self.expect(field.value.get(buf));
        }
        Ok(())
    }

    /// `Host`: one only, and made of authority bytes.
    #[inline(always)]
    fn host(&mut self, buf: &[u8], value: Span) -> Result<(), ParseError> {
        self.host_count += 1;
        let valid = all_host(buf, value.start as usize, value.end as usize);
        if self.host_count > 1 || !valid {
            return Err(ParseError::InvalidHost);
        }
        self.host = Some(value);
        Ok(())
    }

    /// `Content-Length`: a list of equal decimals. The usual value, one
    /// number of at most 18 digits (so it cannot overflow), is read inline.
    #[inline(always)]
    fn content_length(&mut self, value: &[u8]) -> Result<(), ParseError> {
        if !value.is_empty() && value.len() <= 18 && value.iter().all(u8::is_ascii_digit) {
            let n = value
                .iter()
                .fold(0u64, |n, &b| n * 10 + u64::from(b - b'0'));
            return self.set_content_length(n);
        }
        self.content_length_list(value)
    }

    /// [`Self::content_length`] for any other value.
    #[cold]
    #[inline(never)]
    fn content_length_list(&mut self, value: &[u8]) -> Result<(), ParseError> {
        for item in value.split(|&b| b == b',') {
            self.set_content_length(parse_decimal(trim_ows(item))?)?;
        }
        Ok(())
    }

    /// Records one Content-Length; a second that differs is an error.
    #[inline(always)]
    fn set_content_length(&mut self, n: u64) -> Result<(), ParseError> {
        match self.content_length {
            Some(prev) if prev != n => Err(ParseError::ConflictingContentLength),
            _ => {
                self.content_length = Some(n);
                Ok(())
            }
        }
    }

    /// `Transfer-Encoding`: the codings, checked in `finish`.
    #[inline(never)]
    fn transfer_encoding(&mut self, value: &[u8]) -> Result<(), ParseError> {
        self.te_seen = true;
        for item in value.split(|&b| b == b',') {
            let coding = trim_ows(item);
            if coding.is_empty() {
                return Err(ParseError::InvalidTransferEncoding);
            }
            if coding.eq_ignore_ascii_case(b"chunked") {
                self.chunked += 1;
                self.chunked_last = true;
            } else {
                self.other_coding = true;
                self.chunked_last = false;
            }
        }
        Ok(())
    }

    /// `Connection`: `close` and `keep-alive` among its options.
    #[inline(never)]
    fn connection(&mut self, value: &[u8]) {
        for item in value.split(|&b| b == b',') {
            let option = trim_ows(item);
            if option.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if option.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            }
        }
    }

    /// `Expect`: only `100-continue` is known.
    #[inline(never)]
    fn expect(&mut self, value: &[u8]) {
        if value.eq_ignore_ascii_case(b"100-continue") {
            self.expect_continue = true;
        } else {
            self.expect_other = true;
        }
    }

    /// Applies the rules that need the whole header section. Inlined: the
    /// head it builds is then written once, into the caller's result.
    #[inline(always)]
    fn finish(self, line: RequestLine, len: usize) -> Result<RequestHead, ParseError> {
        let http11 = line.version == Version::Http11;
        if http11 && self.host_count == 0 {
            return Err(ParseError::MissingHost);
        }
        let framing = if self.te_seen {
            // RFC 9112 section 6.1: both headers is a smuggling attempt or a
            // broken client; section 6.3: chunked must be final and only once.
            if self.content_length.is_some() {
                return Err(ParseError::ContentLengthWithTransferEncoding);
            }
            if !http11 {
                return Err(ParseError::TransferEncodingOnHttp10);
            }
            if self.chunked > 1 || (self.chunked == 1 && !self.chunked_last) {
                return Err(ParseError::InvalidTransferEncoding);
            }
            if self.other_coding || self.chunked == 0 {
                return Err(ParseError::UnsupportedTransferCoding);
            }
            Framing::Chunked
        } else {
            match self.content_length {
                Some(0) | None => Framing::None,
                Some(n) => Framing::Length(n),
            }
        };
        // RFC 9110 section 10.1.1: an expectation in an HTTP/1.0 request is ignored.
        if http11 && self.expect_other {
            return Err(ParseError::ExpectationFailed);
        }
        let keep_alive = !self.close && (http11 || self.keep_alive);
        Ok(RequestHead {
            method: line.method,
            target: line.target,
            form: line.form,
            path: line.path,
            query: line.query,
            authority: line.authority.or(self.host),
            version: line.version,
            framing,
            keep_alive,
            expect_continue: http11 && self.expect_continue,
            len,
        })
    }
}

/// [`authority_shape`] for the Host value at `span` of `buf`, whose bytes
/// are known to be Host bytes. A value of up to sixteen bytes without `[`,
/// `]` or `%`, with sixteen bytes of `buf` up to its end (a request line is
/// always there), is told from those sixteen bytes at once
/// ([`host_shape_short`]: one SSE2 vector on x86_64, one 128-bit word
/// elsewhere); any other goes byte by byte.
#[inline(never)]
fn host_shape(buf: &[u8], span: Span) -> bool {
    let (start, end) = (span.start as usize, span.end as usize);
    match host_shape_short(buf, start, end) {
        Some(shaped) => shaped,
        None => host_shape_long(buf.get(start..end).unwrap_or_default()),
    }
}

/// [`authority_shape`] out of line, for the values [`host_shape_short`]
/// cannot tell: inlined, it made [`host_shape`] save and restore six
/// registers on every request.
#[cold]
#[inline(never)]
fn host_shape_long(v: &[u8]) -> bool {
    authority_shape(v)
}

/// Is `v`, already known to hold only Host bytes, shaped as
/// `uri-host [ ":" port ]` (RFC 9112 section 3.2, RFC 3986 section 3.2.2)?
/// The usual value, a name or an IPv4 address with an optional port, is
/// told in one pass; brackets and percent signs take the slow path.
#[inline]
fn authority_shape(v: &[u8]) -> bool {
    let mut colon = v.len();
    let mut odd = false;
    for (i, &b) in v.iter().enumerate() {
        if b == b':' && colon == v.len() {
            colon = i;
        }
        odd |= matches!(b, b'[' | b']' | b'%');
    }
    if odd {
        return authority_shape_slow(v);
    }
    v.get(colon + 1..)
        .is_none_or(|port| port.iter().all(u8::is_ascii_digit))
}

/// Is the authority of an absolute-form target (`head.authority` of a head
/// whose `form` is [`TargetForm::Absolute`]) shaped as `uri-host [":"
/// port]`, with a host that is not empty (RFC 9110 section 4.2.1) and no
/// userinfo (section 4.2.4 asks a recipient to treat it as an error)? Any
/// other head passes. Kept out of
/// [`parse_request`], whose code it would make larger for a rare form: the
/// runtime calls it on the heads it parsed, and answers 400 when it fails.
///
/// ```
/// use httpserver::codec::{parse_request, absolute_authority_ok, Limits, Status};
///
/// let ok = b"GET http://a.example:8080/ HTTP/1.1\r\nHost: a\r\n\r\n";
/// let bad = b"GET http://a.example:80x/ HTTP/1.1\r\nHost: a\r\n\r\n";
/// let userinfo = b"GET http://u@a.example/ HTTP/1.1\r\nHost: a\r\n\r\n";
/// for (input, want) in [(&ok[..], true), (&bad[..], false), (&userinfo[..], false)] {
///     let Status::Complete(head) = parse_request(input, &Limits::default(), &mut Vec::new())? else {
///         unreachable!()
///     };
///     assert_eq!(absolute_authority_ok(&head, input), want);
/// }
/// # Ok::<(), httpserver::codec::ParseError>(())
/// ```
pub fn absolute_authority_ok(head: &RequestHead, buf: &[u8]) -> bool {
    match (head.form, head.authority) {
        (TargetForm::Absolute, Some(auth)) => {
            let auth = auth.get(buf);
            // RFC 9110 section 4.2.1: an `http` URI with an empty host is
            // invalid; section 4.2.4: userinfo is treated as an error.
            !matches!(auth.first(), None | Some(b':'))
                && !auth.contains(&b'@')
                && authority_shape(auth)
        }
        _ => true,
    }
}

/// Does the request line in `buf`, which [`parse_request`] refused as
/// [`ParseError::UriTooLong`], have no space within its first
/// `max_request_line + 1` bytes, so that the method alone is too long
/// (RFC 9112 section 3: 501)? The line starts after the empty lines the
/// parser skips. Kept off the parser's path: only a refused head gets here.
pub(crate) fn method_too_long(buf: &[u8], max_request_line: usize) -> bool {
    let mut line = buf;
    while let [b'\r', b'\n', rest @ ..] = line {
        line = rest;
    }
    !line.iter().take(max_request_line + 1).any(|&b| b == b' ')
}

/// [`authority_shape`] for values with an IP literal or percent-encoding.
#[cold]
#[inline(never)]
fn authority_shape_slow(v: &[u8]) -> bool {
    let digits = |port: &[u8]| port.iter().all(u8::is_ascii_digit);
    if let Some(rest) = v.strip_prefix(b"[") {
        let Some(close) = rest.iter().position(|&b| b == b']') else {
            return false;
        };
        return ip_literal(&rest[..close])
            && match &rest[close + 1..] {
                [] => true,
                [b':', port @ ..] => digits(port),
                _ => false,
            };
    }
    let (host, port) = match v.iter().position(|&b| b == b':') {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, &[][..]),
    };
    reg_name(host) && digits(port)
}

/// The inside of `[...]`: an IPv6 address (its bytes, not its grammar in
/// full) or `v` HEXDIG "." followed by unreserved, sub-delims or `:`.
fn ip_literal(s: &[u8]) -> bool {
    match s {
        [b'v' | b'V', rest @ ..] => match rest.iter().position(|&b| b == b'.') {
            Some(dot) => {
                dot > 0
                    && rest[..dot].iter().all(u8::is_ascii_hexdigit)
                    && dot + 1 < rest.len()
                    && !rest[dot + 1..]
                        .iter()
                        .any(|&b| matches!(b, b'[' | b']' | b'%'))
            }
            None => false,
        },
        _ => {
            s.contains(&b':')
                && s.iter()
                    .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        }
    }
}

/// A reg-name or IPv4 address: no brackets, and `%` only as `%` HEXDIG HEXDIG.
fn reg_name(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'[' | b']' => return false,
            b'%' => {
                let hex = s.get(i + 1..i + 3);
                if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                    return false;
                }
                i += 3;
            }
            _ => i += 1,
        }
    }
    true
}

/// `1*DIGIT` as a u64; anything else (sign, hex, empty, overflow) is invalid.
fn parse_decimal(s: &[u8]) -> Result<u64, ParseError> {
    if s.is_empty() {
        return Err(ParseError::InvalidContentLength);
    }
    let mut n: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return Err(ParseError::InvalidContentLength);
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(ParseError::InvalidContentLength)?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests;
