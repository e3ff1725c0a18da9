//! The codec's error type: one variant per way a message can be malformed,
//! each mapping to the status the server answers with.

use std::fmt;

use http::StatusCode;

/// Why a request head or body was rejected.
///
/// Every variant maps to a response status through [`ParseError::status`].
/// After any of these errors the connection is closed: the server never tries
/// to find the start of the next message again (RFC 9112 section 6.3).
///
/// # Examples
///
/// ```
/// use httpserver::codec::ParseError;
/// use http::StatusCode;
///
/// assert_eq!(ParseError::UriTooLong.status(), StatusCode::URI_TOO_LONG);
/// assert_eq!(ParseError::UnsupportedTransferCoding.status(), StatusCode::NOT_IMPLEMENTED);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseError {
    /// The method is not a token (RFC 9110 section 9.1).
    InvalidMethod,
    /// The request-target has a forbidden byte or does not fit its form
    /// (RFC 9112 section 3.2).
    InvalidTarget,
    /// The request line is not `method SP target SP version CRLF`.
    InvalidRequestLine,
    /// The version is not of the form `HTTP/d.d`.
    InvalidVersion,
    /// The major version is not 1 (RFC 9110 section 15.6.6).
    UnsupportedVersion,
    /// A field name is empty or not a token.
    InvalidHeaderName,
    /// A field value holds a control character, NUL or bare CR.
    InvalidHeaderValue,
    /// Whitespace between a field name and the colon (RFC 9112 section 5.1).
    WhitespaceBeforeColon,
    /// A line folded with leading whitespace (obs-fold, RFC 9112 section 5.2),
    /// or a whitespace-led line right after the request line.
    ObsFold,
    /// A bare CR or a bare LF used as a line terminator (RFC 9112 section 2.2).
    InvalidLineEnding,
    /// The request line is longer than the configured limit.
    UriTooLong,
    /// The method alone is longer than the request line may be: longer than
    /// any method the server implements (RFC 9112 section 3: 501). The
    /// parser reports such a line as [`ParseError::UriTooLong`]; the runtime
    /// tells the two apart.
    MethodTooLong,
    /// The header section is larger than the configured limit.
    HeadersTooLarge,
    /// More header fields than the configured limit.
    TooManyHeaders,
    /// An HTTP/1.1 request without a Host header (RFC 9112 section 3.2).
    MissingHost,
    /// More than one Host header, or a Host value that is not a valid authority.
    InvalidHost,
    /// A Content-Length that is not a decimal number, or that overflows.
    InvalidContentLength,
    /// Several Content-Length values that differ.
    ConflictingContentLength,
    /// Both Content-Length and Transfer-Encoding (RFC 9112 section 6.1).
    ContentLengthWithTransferEncoding,
    /// A transfer coding other than `chunked`.
    UnsupportedTransferCoding,
    /// Transfer-Encoding in which `chunked` is not the final coding, appears
    /// twice, or is empty (RFC 9112 section 6.3).
    InvalidTransferEncoding,
    /// Transfer-Encoding on an HTTP/1.0 request (RFC 9112 section 6.1).
    TransferEncodingOnHttp10,
    /// A chunk-size line that is not `1*HEXDIG [ext] CRLF`, or that overflows.
    InvalidChunkSize,
    /// Chunk extensions longer than the limit.
    ChunkExtensionTooLong,
    /// Chunk data not followed by CRLF.
    InvalidChunk,
    /// A malformed trailer field.
    InvalidTrailer,
    /// The trailer section is larger than the limit.
    TrailersTooLarge,
    /// The body is larger than the configured limit.
    BodyTooLarge,
    /// An `Expect` value other than `100-continue` (RFC 9110 section 10.1.1).
    ExpectationFailed,
}

impl ParseError {
    /// The status to answer with.
    pub fn status(self) -> StatusCode {
        use ParseError::*;
        match self {
            UriTooLong => StatusCode::URI_TOO_LONG,
            HeadersTooLarge | TooManyHeaders | TrailersTooLarge => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            UnsupportedVersion => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            UnsupportedTransferCoding | MethodTooLong => StatusCode::NOT_IMPLEMENTED,
            BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ExpectationFailed => StatusCode::EXPECTATION_FAILED,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// A short description, used in logs and in the body of the error response.
    pub fn as_str(self) -> &'static str {
        use ParseError::*;
        match self {
            InvalidMethod => "invalid method",
            InvalidTarget => "invalid request target",
            InvalidRequestLine => "invalid request line",
            InvalidVersion => "invalid HTTP version",
            UnsupportedVersion => "unsupported HTTP version",
            InvalidHeaderName => "invalid header name",
            InvalidHeaderValue => "invalid header value",
            WhitespaceBeforeColon => "whitespace before colon in header",
            ObsFold => "obsolete line folding",
            InvalidLineEnding => "invalid line ending",
            UriTooLong => "request line too long",
            MethodTooLong => "method too long",
            HeadersTooLarge => "header section too large",
            TooManyHeaders => "too many header fields",
            MissingHost => "missing Host header",
            InvalidHost => "invalid or repeated Host header",
            InvalidContentLength => "invalid Content-Length",
            ConflictingContentLength => "conflicting Content-Length values",
            ContentLengthWithTransferEncoding => "both Content-Length and Transfer-Encoding",
            UnsupportedTransferCoding => "unsupported transfer coding",
            InvalidTransferEncoding => "invalid Transfer-Encoding",
            TransferEncodingOnHttp10 => "Transfer-Encoding in an HTTP/1.0 request",
            InvalidChunkSize => "invalid chunk size",
            ChunkExtensionTooLong => "chunk extension too long",
            InvalidChunk => "invalid chunk framing",
            InvalidTrailer => "invalid trailer field",
            TrailersTooLarge => "trailer section too large",
            BodyTooLarge => "body too large",
            ExpectationFailed => "unsupported expectation",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for ParseError {}
