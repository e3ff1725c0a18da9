//! The chunked transfer coding decoder (RFC 9112 section 7.1), sans I/O.
//!
//! [`ChunkedDecoder::decode`] takes whatever bytes have arrived, appends the
//! chunk data to an output buffer and reports how much input it consumed, so
//! it can be fed one byte at a time or a whole pipelined batch at once. It
//! stops exactly after the final CRLF: bytes after that belong to the next
//! request.
//!
//! Strict where laxity enables smuggling: chunk sizes are `1*HEXDIG` with no
//! sign, prefix or overflow; whitespace is allowed only before `;`; every line
//! ends in CRLF; chunk data must be followed by CRLF; extensions and trailers
//! are bounded.

use super::error::ParseError;
use super::parse::parse_field_line;
use super::token::value_byte;

/// Bounds applied while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkedLimits {
    /// Largest decoded body. Over it: 413. Default 1 MiB.
    pub max_body: u64,
    /// Longest chunk extension on one chunk line: every byte between the
    /// size and the CR (whitespace, `;`, names and values). Default 4 KiB.
    pub max_extension: usize,
    /// Most chunk-extension bytes over the whole body. Default 64 KiB: a
    /// body of tiny chunks cannot make its framing many times its size.
    pub max_extension_total: usize,
    /// Largest trailer section. Over it: 431. Default 8 KiB.
    pub max_trailers: usize,
}

impl Default for ChunkedLimits {
    fn default() -> Self {
        ChunkedLimits {
            max_body: 1024 * 1024,
            max_extension: 4 * 1024,
            max_extension_total: 64 * 1024,
            max_trailers: 8 * 1024,
        }
    }
}

/// Where the decoder is in the chunk grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the first hex digit of a chunk size.
    SizeStart,
    /// Reading further hex digits.
    Size,
    /// Whitespace after the size; only `;` may follow.
    SizeWs,
    /// Inside chunk extensions.
    Extension,
    /// Saw CR at the end of the size line.
    SizeLf,
    /// Copying chunk data.
    Data,
    /// Expecting the CR after chunk data.
    DataCr,
    /// Expecting the LF after chunk data.
    DataLf,
    /// At the start of a trailer line (or the final CRLF).
    TrailerStart,
    /// Inside a trailer line.
    Trailer,
    /// Saw CR at the end of a trailer line.
    TrailerLf,
    /// Saw the CR of the final CRLF.
    EndLf,
    /// The body is complete.
    Done,
}

/// The result of one [`ChunkedDecoder::decode`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// Input bytes consumed.
    pub consumed: usize,
    /// Is the body complete? Then `consumed` stops right after it.
    pub done: bool,
}

/// An incremental decoder for one chunked body.
///
/// # Examples
///
/// ```
/// use httpserver::codec::{ChunkedDecoder, ChunkedLimits};
///
/// let mut dec = ChunkedDecoder::new(ChunkedLimits::default());
/// let mut body = Vec::new();
/// let d = dec.decode(b"5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\nGET /", &mut body)?;
/// assert!(d.done);
/// assert_eq!(body, b"hello");
/// assert_eq!(d.consumed, 35); // stops before the next request
/// # Ok::<(), httpserver::codec::ParseError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    /// Size of the chunk being read, then bytes of it still to copy.
    remaining: u64,
    /// Body bytes produced so far.
    total: u64,
    /// Extension bytes on the current size line.
    extension: usize,
    /// Extension bytes over the whole body.
    extension_total: usize,
    /// Hex digits of the current size, leading zeros included.
    digits: u8,
    /// The trailer line being read (validated when complete).
    line: Vec<u8>,
    /// Trailer bytes so far.
    trailers: usize,
    limits: ChunkedLimits,
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub fn new(limits: ChunkedLimits) -> Self {
        ChunkedDecoder {
            state: State::SizeStart,
            remaining: 0,
            total: 0,
            extension: 0,
            extension_total: 0,
            digits: 0,
            line: Vec::new(),
            trailers: 0,
            limits,
        }
    }

    /// Has the whole body been decoded?
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input`, appending chunk data to `out`.
    ///
    /// # Errors
    ///
    /// The first framing rule the input breaks; the connection must then be
    /// closed.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Decoded, ParseError> {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                State::SizeStart | State::Size => match hex_value(b) {
                    Some(d) => {
                        // Leading zeros are counted too: a size line of
                        // endless zeros is refused, not buffered.
                        self.digits += 1;
                        if self.remaining > (u64::MAX >> 4) || self.digits > MAX_SIZE_DIGITS {
                            return Err(ParseError::InvalidChunkSize);
                        }
                        self.remaining = (self.remaining << 4) | u64::from(d);
                        self.state = State::Size;
                    }
                    None if self.state == State::SizeStart => {
                        return Err(ParseError::InvalidChunkSize)
                    }
                    None => self.after_size(b)?,
                },
                State::SizeWs => match b {
                    b' ' | b'\t' => self.count_extension_byte()?,
                    b';' => {
                        self.count_extension_byte()?;
                        self.state = State::Extension;
                    }
                    _ => return Err(ParseError::InvalidChunkSize),
                },
                State::Extension => {
                    if b == b'\r' {
                        self.state = State::SizeLf;
                    } else if value_byte(b) {
                        self.count_extension_byte()?;
                    } else {
                        return Err(ParseError::InvalidChunkSize);
                    }
                }
                State::SizeLf => {
                    if b != b'\n' {
                        return Err(ParseError::InvalidChunkSize);
                    }
                    self.extension = 0;
                    self.digits = 0;
                    if self.remaining == 0 {
                        self.state = State::TrailerStart;
                    } else {
                        self.total = self
                            .total
                            .checked_add(self.remaining)
                            .filter(|&t| t <= self.limits.max_body)
                            .ok_or(ParseError::BodyTooLarge)?;
                        self.state = State::Data;
                    }
                }
                State::Data => {
                    let n = (input.len() - i)
                        .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
                    out.extend_from_slice(&input[i..i + n]);
                    self.remaining -= n as u64;
                    if self.remaining == 0 {
                        self.state = State::DataCr;
                    }
                    i += n;
                    continue;
                }
                State::DataCr => {
                    if b != b'\r' {
                        return Err(ParseError::InvalidChunk);
                    }
                    self.state = State::DataLf;
                }
                State::DataLf => {
                    if b != b'\n' {
                        return Err(ParseError::InvalidChunk);
                    }
                    self.state = State::SizeStart;
                }
                State::TrailerStart => {
                    if b == b'\r' {
                        self.state = State::EndLf;
                    } else {
                        self.state = State::Trailer;
                        self.push_trailer_byte(b)?;
                    }
                }
                State::Trailer => {
                    if b == b'\r' {
                        self.state = State::TrailerLf;
                    } else {
                        self.push_trailer_byte(b)?;
                    }
                }
                State::TrailerLf => {
                    if b != b'\n' {
                        return Err(ParseError::InvalidTrailer);
                    }
                    let line = std::mem::take(&mut self.line);
                    parse_field_line(&line, 0, line.len())?;
                    self.line = line;
                    self.line.clear();
                    self.state = State::TrailerStart;
                }
                State::EndLf => {
                    if b != b'\n' {
                        return Err(ParseError::InvalidTrailer);
                    }
                    self.state = State::Done;
                    return Ok(Decoded {
                        consumed: i + 1,
                        done: true,
                    });
                }
                State::Done => break,
            }
            i += 1;
        }
        Ok(Decoded {
            consumed: i,
            done: self.state == State::Done,
        })
    }

    /// The byte right after the last hex digit of a chunk size.
    fn after_size(&mut self, b: u8) -> Result<(), ParseError> {
        if b == b'\r' {
            self.state = State::SizeLf;
            return Ok(());
        }
        self.state = match b {
            b';' => State::Extension,
            b' ' | b'\t' => State::SizeWs,
            _ => return Err(ParseError::InvalidChunkSize),
        };
        // Every byte between the size and the CR counts, this one too.
        self.count_extension_byte()
    }

    /// Counts one byte of a chunk extension against both its limits.
    fn count_extension_byte(&mut self) -> Result<(), ParseError> {
        self.extension += 1;
        self.extension_total += 1;
        if self.extension > self.limits.max_extension
            || self.extension_total > self.limits.max_extension_total
        {
            return Err(ParseError::ChunkExtensionTooLong);
        }
        Ok(())
    }

    fn push_trailer_byte(&mut self, b: u8) -> Result<(), ParseError> {
        self.trailers += 1;
        if self.trailers > self.limits.max_trailers {
            return Err(ParseError::TrailersTooLarge);
        }
        if b == b'\n' {
            return Err(ParseError::InvalidLineEnding);
        }
        self.line.push(b);
        Ok(())
    }
}

/// Most hex digits in one chunk size, leading zeros included (sixteen make
/// any `u64`).
const MAX_SIZE_DIGITS: u8 = 32;

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
