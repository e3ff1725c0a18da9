//! The public error type: what went wrong, and the status it answers with.

use std::borrow::Cow;
use std::fmt;

use http::StatusCode;

use crate::codec::ParseError;

/// An error a handler can return with `?`; it becomes a response with its
/// status and message.
///
/// Bad input from the client (an unreadable JSON body, a malformed form)
/// gives a 4xx; anything else a 500 unless the handler chose a status.
///
/// # Examples
///
/// ```
/// use httpserver::Error;
/// use http::StatusCode;
///
/// fn load(id: &str) -> Result<String, Error> {
///     if id == "0" {
///         return Err(Error::new(StatusCode::NOT_FOUND, "no such user"));
///     }
///     Ok(format!("user {id}"))
/// }
/// assert_eq!(load("0").unwrap_err().status(), StatusCode::NOT_FOUND);
/// ```
pub struct Error {
    status: StatusCode,
    kind: Kind,
    message: Cow<'static, str>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// What kind of error this is (private: use the `is_*` methods).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The request could not be parsed or framed.
    Parse(ParseError),
    /// The body could not be decoded as the handler asked (JSON, form, UTF-8).
    Body,
    /// An application error with a chosen status.
    App,
    /// An I/O error (binding, accepting, a file).
    Io,
}

impl Error {
    /// An error answered with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            status,
            kind: Kind::App,
            message: message.into(),
            source: None,
        }
    }

    /// A 400 Bad Request with `message`.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(StatusCode::BAD_REQUEST, message)
    }

    /// A 500 Internal Server Error whose cause is logged, not shown to the client.
    pub fn internal(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: Kind::App,
            message: Cow::Borrowed("internal server error"),
            source: Some(Box::new(source)),
        }
    }

    pub(crate) fn body(
        status: StatusCode,
        message: String,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error {
            status,
            kind: Kind::Body,
            message: Cow::Owned(message),
            source: Some(Box::new(source)),
        }
    }

    /// Attaches the underlying cause (kept for logs and `source()`).
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message sent to the client.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Did the request fail to parse (bad syntax, framing or a limit)?
    pub fn is_parse(&self) -> bool {
        matches!(self.kind, Kind::Parse(_))
    }

    /// Did the body fail to decode as JSON, a form or text?
    pub fn is_body(&self) -> bool {
        self.kind == Kind::Body
    }

    /// Is this an I/O error?
    pub fn is_io(&self) -> bool {
        self.kind == Kind::Io
    }

    /// The parse error behind this error, if any.
    pub fn parse_error(&self) -> Option<ParseError> {
        match self.kind {
            Kind::Parse(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Self {
        Error {
            status: e.status(),
            kind: Kind::Parse(e),
            message: Cow::Borrowed(e.as_str()),
            source: None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: Kind::Io,
            message: Cow::Borrowed("internal server error"),
            source: Some(Box::new(e)),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("status", &self.status.as_u16())
            .field("kind", &self.kind)
            .field("message", &self.message);
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}
