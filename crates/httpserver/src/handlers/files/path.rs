//! From a request path to a file under the root, refusing anything that
//! could leave it.
//!
//! The path below the mount point is split on `/` while still
//! percent-encoded, and each segment is decoded exactly once. A decoded
//! segment must then be a plain name: no `/` or `\` (so `%2f` and `%5c`
//! cannot make new separators), no NUL, not `.` or `..` (however they were
//! encoded), and no drive prefix. Empty segments (`//`) are skipped. What
//! comes out can only name something below the root; symbolic links are
//! checked later, against the real path.

use std::ffi::OsStr;
use std::path::PathBuf;

/// Why a request path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathError {
    /// Malformed or an escape attempt: answered 400.
    Invalid(&'static str),
    /// A hidden (dot) name while hidden files are off: answered 404, as if
    /// it did not exist.
    Hidden,
}

/// A request path taken apart into decoded segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RelPath {
    /// The decoded segments, each a plain name.
    pub(crate) segments: Vec<Vec<u8>>,
    /// Did the request path end in `/`?
    pub(crate) trailing_slash: bool,
}

impl RelPath {
    /// The segments as a relative path; `.` for none (the root itself).
    pub(crate) fn relative(&self) -> PathBuf {
        if self.segments.is_empty() {
            return PathBuf::from(".");
        }
        let mut path = PathBuf::new();
        for segment in &self.segments {
            path.push(os_str(segment));
        }
        path
    }
}

/// The bytes of a name as an `OsStr`.
#[cfg(unix)]
pub(crate) fn os_str(bytes: &[u8]) -> &OsStr {
    std::os::unix::ffi::OsStrExt::from_bytes(bytes)
}

/// The bytes of a name as an `OsStr` (segments that are not UTF-8 cannot
/// name a file here, so they become a name that does not exist).
#[cfg(not(unix))]
pub(crate) fn os_str(bytes: &[u8]) -> &OsStr {
    OsStr::new(std::str::from_utf8(bytes).unwrap_or("\u{fffd}"))
}

/// Splits and decodes `raw`, the still-encoded request path below the mount
/// point (with or without its leading `/`).
///
/// # Errors
///
/// [`PathError::Invalid`] for a bad escape or a segment that is not a plain
/// name; [`PathError::Hidden`] for a dot name when `hidden` is false.
pub(crate) fn parse(raw: &str, hidden: bool) -> Result<RelPath, PathError> {
    let mut segments = Vec::new();
    for part in raw.split('/') {
        if part.is_empty() {
            continue;
        }
        let name = decode(part.as_bytes()).ok_or(PathError::Invalid("bad percent-encoding"))?;
        check_name(&name)?;
        if !hidden && name.first() == Some(&b'.') {
            return Err(PathError::Hidden);
        }
        segments.push(name);
    }
    Ok(RelPath {
        segments,
        trailing_slash: raw.ends_with('/'),
    })
}

/// Is a decoded segment a plain name?
fn check_name(name: &[u8]) -> Result<(), PathError> {
    if name == b"." || name == b".." {
        return Err(PathError::Invalid("dot segment"));
    }
    for &b in name {
        match b {
            b'/' | b'\\' => return Err(PathError::Invalid("encoded separator")),
            0 => return Err(PathError::Invalid("NUL in path")),
            _ => {}
        }
    }
    // `C:` and the like would make an absolute path on Windows.
    if cfg!(windows) && name.contains(&b':') {
        return Err(PathError::Invalid("drive prefix"));
    }
    Ok(())
}

/// Percent-decodes `s` once; `None` for a `%` not followed by two hex
/// digits.
pub(crate) fn decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let hi = hex(*s.get(i + 1)?)?;
            let lo = hex(*s.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes a name for use in a URL path: everything but
/// `A-Z a-z 0-9 - . _ ~` is escaped, so the result is safe in an HTML
/// attribute as well.
pub(crate) fn encode(name: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in name {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn names(raw: &str) -> Result<Vec<String>, PathError> {
        parse(raw, false).map(|p| {
            p.segments
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
    }

    #[test]
    fn plain_paths_decode_once() {
        assert_eq!(names("/a/b.txt").unwrap(), ["a", "b.txt"]);
        assert_eq!(names("a//b/").unwrap(), ["a", "b"]);
        assert_eq!(names("/with%20space").unwrap(), ["with space"]);
        assert_eq!(names("/caf%C3%A9").unwrap(), ["café"]);
        // Double encoding decodes once: a literal name `%2e%2e`.
        assert_eq!(names("/%252e%252e/x").unwrap(), ["%2e%2e", "x"]);
        assert_eq!(names("").unwrap(), Vec::<String>::new());
        assert!(parse("/a/", false).unwrap().trailing_slash);
        assert!(!parse("/a", false).unwrap().trailing_slash);
    }

    #[test]
    fn escapes_are_refused() {
        for raw in [
            "/../etc/passwd",
            "/a/../../b",
            "/%2e%2e/x",
            "/%2E%2e/x",
            "/.%2e/x",
            "/a/%2f/b",
            "/..%2fetc",
            "/..%2Fetc",
            "/a%5c..%5cb",
            "/a\\b",
            "/a%00.txt",
            "/./a",
            "/%2e/a",
            "/bad%zz",
            "/trunc%2",
        ] {
            assert!(
                matches!(parse(raw, true), Err(PathError::Invalid(_))),
                "{raw} was accepted"
            );
        }
    }

    #[test]
    fn hidden_names_only_when_allowed() {
        assert_eq!(parse("/.env", false), Err(PathError::Hidden));
        assert_eq!(parse("/a/.git/config", false), Err(PathError::Hidden));
        assert_eq!(parse("/%2eenv", false), Err(PathError::Hidden));
        assert_eq!(names_hidden("/.env"), [".env"]);
    }

    fn names_hidden(raw: &str) -> Vec<String> {
        parse(raw, true)
            .unwrap()
            .segments
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect()
    }

    #[test]
    fn relative_paths_are_plain_names() {
        let p = parse("/a/b%20c", false).unwrap().relative();
        assert_eq!(p, Path::new("a/b c"));
        assert!(p.is_relative());
        // An absolute-looking path stays relative.
        let p = parse("//etc/passwd", false).unwrap().relative();
        assert_eq!(p, Path::new("etc/passwd"));
        assert_eq!(parse("/", false).unwrap().relative(), Path::new("."));
    }

    #[test]
    fn encoding_escapes_everything_unsafe() {
        let mut s = String::new();
        encode("a b#%?<\"é/".as_bytes(), &mut s);
        assert_eq!(s, "a%20b%23%25%3F%3C%22%C3%A9%2F");
        assert_eq!(decode(s.as_bytes()).unwrap(), "a b#%?<\"é/".as_bytes());
    }
}
