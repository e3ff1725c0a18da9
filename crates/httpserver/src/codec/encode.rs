//! The response encoder: status line, header fields and body framing
//! (RFC 9112 sections 4, 6 and 7), written into a byte buffer.

use http::{header, HeaderMap, StatusCode};

use super::date::http_date;
use super::parse::Version;

/// How a response body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body may be sent (1xx, 204, 304) and no length header is written.
    None,
    /// `Content-Length: n`; for a HEAD request the body bytes are left out.
    Length(u64),
    /// `Transfer-Encoding: chunked` (HTTP/1.1 only).
    Chunked,
    /// No length header; the body ends when the connection closes (HTTP/1.0
    /// responses of unknown length).
    Close,
}

/// What the encoder needs to know about the request being answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeContext {
    /// The request's version.
    pub version: Version,
    /// Was the request a HEAD?
    pub head: bool,
    /// Will the connection stay open after this response?
    pub keep_alive: bool,
}

/// Decides how a response body is framed (RFC 9112 section 6.3).
///
/// `len` is the body's length if known. The second value is `false` when the
/// framing forces the connection to close.
///
/// # Examples
///
/// ```
/// use httpserver::codec::{framing_for, BodyFraming, Version};
/// use http::StatusCode;
///
/// assert_eq!(framing_for(StatusCode::OK, Version::Http11, Some(5)), (BodyFraming::Length(5), true));
/// assert_eq!(framing_for(StatusCode::NO_CONTENT, Version::Http11, Some(5)), (BodyFraming::None, true));
/// assert_eq!(framing_for(StatusCode::OK, Version::Http10, None), (BodyFraming::Close, false));
/// ```
pub fn framing_for(status: StatusCode, version: Version, len: Option<u64>) -> (BodyFraming, bool) {
    if status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return (BodyFraming::None, true);
    }
    match (len, version) {
        (Some(n), _) => (BodyFraming::Length(n), true),
        (None, Version::Http11) => (BodyFraming::Chunked, true),
        (None, Version::Http10) => (BodyFraming::Close, false),
    }
}

/// Appends `n` in decimal.
///
/// Byte by byte on purpose: `extend_from_slice` of the digits just
/// formatted would read them back with wider loads than the narrow stores
/// that wrote them, which the processor cannot forward from its store
/// buffer, so every number would stall until those stores retire.
pub(crate) fn push_decimal(out: &mut Vec<u8>, n: impl itoa::Integer) {
    for &d in itoa::Buffer::new().format(n).as_bytes() {
        out.push(d);
    }
}

/// Writes the status line and header section of a response to `out`.
///
/// The encoder owns framing and connection headers: `Content-Length`,
/// `Transfer-Encoding` and `Connection` in `headers` are replaced by what
/// `framing` and `cx` call for, except that a `close` option in a
/// `Connection` header of `headers` is honoured (`Connection: close` is
/// written even when `cx.keep_alive` is set). `Date` is added unless
/// present, and `Server: <server>` when `server` is given and the header is
/// not set.
///
/// Returns whether the connection stays open after this response.
///
/// # Examples
///
/// ```
/// use httpserver::codec::{encode_head, BodyFraming, EncodeContext, Version};
/// use http::{HeaderMap, StatusCode};
///
/// let mut out = Vec::new();
/// let cx = EncodeContext { version: Version::Http11, head: false, keep_alive: true };
/// let open = encode_head(&mut out, StatusCode::OK, &HeaderMap::new(), BodyFraming::Length(2), cx, None);
/// assert!(open);
/// let text = String::from_utf8(out).unwrap();
/// assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
/// assert!(text.contains("\r\nContent-Length: 2\r\n"));
/// assert!(text.ends_with("\r\n\r\n"));
/// ```
pub fn encode_head(
    out: &mut Vec<u8>,
    status: StatusCode,
    headers: &HeaderMap,
    framing: BodyFraming,
    cx: EncodeContext,
    server: Option<&[u8]>,
) -> bool {
    encode_head_dated(out, status, headers, framing, cx, server, http_date)
}

/// [`encode_head`] with the `Date` value from `date`, called only when the
/// headers have none.
pub(crate) fn encode_head_dated(
    out: &mut Vec<u8>,
    status: StatusCode,
    headers: &HeaderMap,
    framing: BodyFraming,
    cx: EncodeContext,
    server: Option<&[u8]>,
    date: impl FnOnce() -> [u8; super::DATE_LEN],
) -> bool {
    write_status_line(out, status);
    let mut has_date = false;
    let mut has_server = false;
    let mut keep_alive = cx.keep_alive;
    for (name, value) in headers {
        if name == header::CONNECTION {
            keep_alive &= !value
                .as_bytes()
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"));
            continue;
        }
        if name == header::CONTENT_LENGTH || name == header::TRANSFER_ENCODING {
            continue;
        }
        has_date |= name == header::DATE;
        has_server |= name == header::SERVER;
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !has_server {
        if let Some(server) = server {
            out.extend_from_slice(b"Server: ");
            out.extend_from_slice(server);
            out.extend_from_slice(b"\r\n");
        }
    }
    if !has_date {
        out.extend_from_slice(b"Date: ");
        out.extend_from_slice(&date());
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        BodyFraming::Length(n) => {
            out.extend_from_slice(b"Content-Length: ");
            push_decimal(out, n);
            out.extend_from_slice(b"\r\n");
        }
        BodyFraming::Chunked if !cx.head => {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
        }
        _ => {}
    }
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if cx.version == Version::Http10 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    keep_alive
}

/// Writes `HTTP/1.1 <code> <reason>\r\n`. Servers answer with their own
/// highest version, also to HTTP/1.0 clients (RFC 9110 section 6.2).
pub fn write_status_line(out: &mut Vec<u8>, status: StatusCode) {
    if status == StatusCode::OK {
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        return;
    }
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("Unknown").as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Writes one chunk of a chunked body (nothing for empty data, which would
/// end the body).
pub fn encode_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let mut hex = [0u8; 16];
    let mut n = data.len();
    let mut i = hex.len();
    loop {
        i -= 1;
        hex[i] = b"0123456789abcdef"[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&hex[i..]);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Writes the last chunk and an empty trailer section.
pub fn encode_last_chunk(out: &mut Vec<u8>) {
    out.extend_from_slice(b"0\r\n\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn head(
        status: StatusCode,
        headers: &HeaderMap,
        framing: BodyFraming,
        cx: EncodeContext,
    ) -> String {
        let mut out = Vec::new();
        let open = encode_head(&mut out, status, headers, framing, cx, Some(b"httpserver"));
        assert_eq!(open, !out.ends_with(b"Connection: close\r\n\r\n"));
        String::from_utf8(out).expect("ascii")
    }

    const KA11: EncodeContext = EncodeContext {
        version: Version::Http11,
        head: false,
        keep_alive: true,
    };

    #[test]
    fn writes_status_line_and_framing() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("999"));
        h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        let text = head(StatusCode::NOT_FOUND, &h, BodyFraming::Length(3), KA11);
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
        assert!(text.contains("\r\ncontent-type: text/plain\r\n"));
        assert!(text.contains("\r\nContent-Length: 3\r\n"));
        assert!(!text.contains("999") && !text.contains("upgrade"));
        assert!(text.contains("\r\nServer: httpserver\r\n"));
        assert!(text.contains("\r\nDate: "));
        assert!(!text.contains("Connection"));
    }

    #[test]
    fn connection_headers_follow_version() {
        let close = EncodeContext {
            keep_alive: false,
            ..KA11
        };
        assert!(head(
            StatusCode::OK,
            &HeaderMap::new(),
            BodyFraming::Chunked,
            close
        )
        .contains("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"));
        let ka10 = EncodeContext {
            version: Version::Http10,
            ..KA11
        };
        assert!(head(
            StatusCode::OK,
            &HeaderMap::new(),
            BodyFraming::Length(0),
            ka10
        )
        .ends_with("Connection: keep-alive\r\n\r\n"));
    }

    #[test]
    fn a_close_option_in_the_headers_closes() {
        for (value, closes) in [
            ("close", true),
            ("Keep-Alive, CLOSE ", true),
            ("upgrade", false),
            ("closed", false),
        ] {
            let mut h = HeaderMap::new();
            h.insert(header::CONNECTION, HeaderValue::from_static(value));
            let text = head(StatusCode::OK, &h, BodyFraming::Length(0), KA11);
            assert_eq!(
                text.ends_with("\r\nConnection: close\r\n\r\n"),
                closes,
                "{value}"
            );
            // The handler's own field is replaced, never copied.
            assert_eq!(
                text.matches("onnection").count(),
                usize::from(closes),
                "{text}"
            );
            assert!(!text.contains(value.trim()) || value == "close", "{text}");
        }
    }

    #[test]
    fn no_length_for_bodiless_statuses() {
        for status in [
            StatusCode::CONTINUE,
            StatusCode::NO_CONTENT,
            StatusCode::NOT_MODIFIED,
        ] {
            let (framing, _) = framing_for(status, Version::Http11, Some(10));
            let text = head(status, &HeaderMap::new(), framing, KA11);
            assert!(
                !text.contains("Content-Length") && !text.contains("Transfer-Encoding"),
                "{text}"
            );
        }
    }

    #[test]
    fn user_date_and_server_win() {
        let mut h = HeaderMap::new();
        h.insert(
            header::DATE,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        h.insert(header::SERVER, HeaderValue::from_static("mine"));
        let text = head(StatusCode::OK, &h, BodyFraming::Length(0), KA11);
        assert_eq!(
            text.matches("Date").count() + text.matches("date").count(),
            1
        );
        assert!(text.contains("server: mine") && !text.contains("httpserver"));
    }

    #[test]
    fn chunks_are_hex_sized() {
        let mut out = Vec::new();
        encode_chunk(&mut out, &[b'x'; 26]);
        encode_chunk(&mut out, b"");
        encode_last_chunk(&mut out);
        assert_eq!(
            out,
            [&b"1a\r\n"[..], &[b'x'; 26], b"\r\n0\r\n\r\n"].concat()
        );
    }
}
