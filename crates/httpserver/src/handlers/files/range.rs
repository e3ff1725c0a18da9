//! `Range: bytes=...` (RFC 9110 section 14) and the `multipart/byteranges`
//! body that answers several ranges.

use std::fs::File;
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};

/// What to send for a `Range` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ranges {
    /// Ignore the field: 200 with the whole file (not a byte range, a bad
    /// syntax, too many ranges, or ranges adding up to more than the file).
    Full,
    /// 206 with these inclusive `(first, last)` ranges, in request order.
    Partial(Vec<(u64, u64)>),
    /// 416: no range overlaps the file.
    Unsatisfiable,
}

/// Interprets a `Range` value for a file of `len` bytes.
///
/// Choices where the RFC leaves room, as nginx makes them: a malformed
/// field or one with more than `max_ranges` ranges is ignored; ranges that
/// add up to more than the file are ignored (a cheap defence against
/// overlapping-range floods); overlapping ranges are not merged.
pub(crate) fn parse(value: &str, len: u64, max_ranges: usize) -> Ranges {
    let Some(spec) = value
        .trim()
        .get(..6)
        .filter(|unit| unit.eq_ignore_ascii_case("bytes="))
        .map(|_| &value.trim()[6..])
    else {
        return Ranges::Full;
    };
    let mut ranges = Vec::new();
    let mut count = 0;
    let mut total: u64 = 0;
    for item in spec.split(',') {
        let item = item.trim_matches([' ', '\t']);
        if item.is_empty() {
            continue;
        }
        count += 1;
        if count > max_ranges {
            return Ranges::Full;
        }
        let Some((first, last)) = item.split_once('-') else {
            return Ranges::Full;
        };
        let (first, last) = (
            first.trim_matches([' ', '\t']),
            last.trim_matches([' ', '\t']),
        );
        let range = if first.is_empty() {
            // suffix-range: the last N bytes.
            let Some(n) = decimal(last) else {
                return Ranges::Full;
            };
            (n > 0 && len > 0).then(|| (len.saturating_sub(n), len - 1))
        } else {
            let Some(a) = decimal(first) else {
                return Ranges::Full;
            };
            let b = if last.is_empty() {
                u64::MAX
            } else {
                match decimal(last) {
                    Some(b) if b >= a => b,
                    _ => return Ranges::Full,
                }
            };
            (a < len).then(|| (a, b.min(len - 1)))
        };
        if let Some((a, b)) = range {
            total = total.saturating_add(b - a + 1);
            ranges.push((a, b));
        }
    }
    if count == 0 {
        return Ranges::Full;
    }
    if ranges.is_empty() {
        return Ranges::Unsatisfiable;
    }
    if ranges.len() > 1 && total > len {
        return Ranges::Full;
    }
    Ranges::Partial(ranges)
}

/// `1*DIGIT`, without overflow.
fn decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A fresh boundary for a multipart body: unique in this process and not
/// found in the parts' headers.
pub(crate) fn boundary() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{t:08x}{n:012x}")
}

/// A `multipart/byteranges` body read straight from the file: part headers
/// are built up front, part data is read at its offset when asked for.
#[derive(Debug)]
pub(crate) struct Multipart {
    file: File,
    /// Alternating literal text and file ranges, in order.
    pieces: Vec<Piece>,
    /// Index of the piece being read, and how far into it.
    at: usize,
    offset: u64,
}

#[derive(Debug)]
enum Piece {
    Text(Vec<u8>),
    File { start: u64, len: u64 },
}

impl Multipart {
    /// The body for `ranges` of `file` (`len` bytes of `content_type`).
    pub(crate) fn new(
        file: File,
        ranges: &[(u64, u64)],
        len: u64,
        content_type: &str,
        boundary: &str,
    ) -> Multipart {
        let mut pieces = Vec::with_capacity(ranges.len() * 2 + 1);
        for &(a, b) in ranges {
            let head = format!(
                "\r\n--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: bytes {a}-{b}/{len}\r\n\r\n"
            );
            pieces.push(Piece::Text(head.into_bytes()));
            pieces.push(Piece::File {
                start: a,
                len: b - a + 1,
            });
        }
        pieces.push(Piece::Text(format!("\r\n--{boundary}--\r\n").into_bytes()));
        Multipart {
            file,
            pieces,
            at: 0,
            offset: 0,
        }
    }

    /// The body's length in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.len() as u64,
                Piece::File { len, .. } => *len,
            })
            .sum()
    }
}

impl Read for Multipart {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(piece) = self.pieces.get(self.at) else {
                return Ok(0);
            };
            let (n, piece_len) = match piece {
                Piece::Text(text) => {
                    let rest = text.get(self.offset as usize..).unwrap_or_default();
                    let n = rest.len().min(buf.len());
                    buf[..n].copy_from_slice(&rest[..n]);
                    (n, text.len() as u64)
                }
                Piece::File { start, len } => {
                    let left = len - self.offset;
                    let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                    let n = read_at(&self.file, &mut buf[..want], start + self.offset)?;
                    if n == 0 && want > 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "file shrank while being sent",
                        ));
                    }
                    (n, *len)
                }
            };
            self.offset += n as u64;
            if self.offset >= piece_len {
                self.at += 1;
                self.offset = 0;
            }
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
        }
    }
}

/// Reads at `offset` without moving the file's cursor.
#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

/// Reads at `offset` without moving the file's cursor.
#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn single_ranges() {
        assert_eq!(parse("bytes=0-0", 10), Ranges::Partial(vec![(0, 0)]));
        assert_eq!(parse("bytes=2-", 10), Ranges::Partial(vec![(2, 9)]));
        assert_eq!(parse("bytes=-3", 10), Ranges::Partial(vec![(7, 9)]));
        assert_eq!(parse("bytes=-30", 10), Ranges::Partial(vec![(0, 9)]));
        assert_eq!(parse("bytes=5-100", 10), Ranges::Partial(vec![(5, 9)]));
        assert_eq!(parse("Bytes= 1-2 ", 10), Ranges::Partial(vec![(1, 2)]));
    }

    fn parse(v: &str, len: u64) -> Ranges {
        super::parse(v, len, 16)
    }

    #[test]
    fn unsatisfiable_and_ignored() {
        assert_eq!(parse("bytes=10-", 10), Ranges::Unsatisfiable);
        assert_eq!(parse("bytes=-0", 10), Ranges::Unsatisfiable);
        assert_eq!(parse("bytes=0-", 0), Ranges::Unsatisfiable);
        assert_eq!(parse("bytes=20-30,40-", 10), Ranges::Unsatisfiable);
        for ignored in [
            "items=0-1",
            "bytes=",
            "bytes=a-b",
            "bytes=5-2",
            "bytes=1",
            "bytes=--1",
            "bytes=0x1-2",
            "bytes=99999999999999999999999-",
        ] {
            assert_eq!(parse(ignored, 10), Ranges::Full, "{ignored}");
        }
        // More ranges than allowed, or adding up past the file.
        assert_eq!(super::parse("bytes=0-0,2-2,4-4", 10, 2), Ranges::Full);
        assert_eq!(parse("bytes=0-9,0-9", 10), Ranges::Full);
    }

    #[test]
    fn several_ranges_keep_their_order() {
        assert_eq!(
            parse("bytes=5-6, 0-1,20-", 10),
            Ranges::Partial(vec![(5, 6), (0, 1)])
        );
    }

    #[test]
    fn multipart_body_has_parts_and_a_closing_boundary() {
        let dir = std::env::temp_dir().join(format!("hs-range-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.txt");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(b"0123456789")
            .unwrap();
        let file = File::open(&path).unwrap();
        let mut body = Multipart::new(file, &[(0, 1), (8, 9)], 10, "text/plain", "B");
        let len = body.len();
        let mut out = Vec::new();
        // Small reads cross piece boundaries.
        let mut chunk = [0u8; 7];
        loop {
            let n = body.read(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
        let want = "\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\n01\
                    \r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 8-9/10\r\n\r\n89\
                    \r\n--B--\r\n";
        assert_eq!(String::from_utf8(out).unwrap(), want);
        assert_eq!(len, want.len() as u64);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
