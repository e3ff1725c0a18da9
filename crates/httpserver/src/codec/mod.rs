//! The HTTP/1.1 codec: request parsing, body decoding and response encoding
//! as pure functions over bytes.
//!
//! Nothing here does I/O. The runtime reads bytes from a socket, hands them to
//! [`parse_request`] and [`ChunkedDecoder`], and writes what [`encode_head`]
//! and [`encode_chunk`] produce. That split keeps every protocol rule testable
//! with plain byte strings, fed whole or split at every byte.
//!
//! # Examples
//!
//! ```
//! use httpserver::codec::{parse_request, Limits, ParseError, Status};
//!
//! let mut headers = Vec::new();
//! let smuggle = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n";
//! assert_eq!(
//!     parse_request(smuggle, &Limits::default(), &mut headers),
//!     Err(ParseError::ContentLengthWithTransferEncoding)
//! );
//! assert_eq!(
//!     parse_request(b"GET / HTTP/1.1\r\nHost: a\r\n", &Limits::default(), &mut headers),
//!     Ok(Status::Partial)
//! );
//! ```

mod chunked;
mod date;
mod encode;
mod error;
mod parse;
mod token;

pub use chunked::{ChunkedDecoder, ChunkedLimits, Decoded};
pub(crate) use date::http_date_at;
pub use date::{http_date, DATE_LEN};
pub use encode::{
    encode_chunk, encode_head, encode_last_chunk, framing_for, write_status_line, BodyFraming,
    EncodeContext,
};
pub(crate) use encode::{encode_head_dated, push_decimal};
pub use error::ParseError;
pub(crate) use parse::method_too_long;
pub use parse::{
    absolute_authority_ok, find_head_end, parse_request, Framing, HeaderSpan, Limits, RequestHead,
    Span, Status, TargetForm, Version, DEFAULT_MAX_HEAD, DEFAULT_MAX_HEADERS,
    DEFAULT_MAX_REQUEST_LINE,
};
