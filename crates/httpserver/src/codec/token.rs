//! Byte classes from the HTTP grammar, as const lookup tables.
//!
//! Each table answers "may this byte appear here?" in one indexed load. The
//! ABNF each one encodes is quoted above it.

/// Builds a 256-entry table from a const predicate.
macro_rules! table {
    ($pred:ident) => {{
        let mut t = [false; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = $pred(i as u8);
            i += 1;
        }
        t
    }};
}

/// `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
///          "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA` (RFC 9110 section 5.6.2)
const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.'
        | b'^' | b'_' | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Bytes allowed in a request-target: visible ASCII (`%x21-7E`). The finer
/// URI grammar (RFC 3986) is not enforced, as browsers send `|`, `{` and `"`
/// unescaped; controls, space, DEL and non-ASCII are refused.
const fn is_target_byte(b: u8) -> bool {
    b > 0x20 && b < 0x7f
}

/// `field-vchar = VCHAR / obs-text`, plus SP and HTAB inside a value
/// (RFC 9110 section 5.5). NUL, CR, LF and other controls are refused.
const fn is_value_byte(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

/// Bytes allowed in a Host value: `unreserved / pct-encoded / sub-delims`,
/// `:` for the port and `[` `]` for IP literals (RFC 3986 section 3.2.2).
const fn is_host_byte(b: u8) -> bool {
    matches!(b,
        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'%'
        | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
        | b':' | b'[' | b']')
}

static TCHAR: [bool; 256] = table!(is_tchar);
static TARGET: [bool; 256] = table!(is_target_byte);
static VALUE: [bool; 256] = table!(is_value_byte);
static HOST: [bool; 256] = table!(is_host_byte);

/// Is `b` a `tchar`?
#[inline]
pub(crate) fn tchar(b: u8) -> bool {
    TCHAR[b as usize]
}

/// May `b` appear in a request-target?
#[inline]
pub(crate) fn target_byte(b: u8) -> bool {
    TARGET[b as usize]
}

/// May `b` appear in a field value?
#[inline]
pub(crate) fn value_byte(b: u8) -> bool {
    VALUE[b as usize]
}

/// May `b` appear in a Host value?
#[inline]
pub(crate) fn host_byte(b: u8) -> bool {
    HOST[b as usize]
}

/// Is every byte of `s` a `tchar`, and is there at least one?
#[inline]
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| tchar(b))
}

/// Strips optional whitespace (`OWS = *( SP / HTAB )`) from both ends.
#[inline]
pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_the_grammar() {
        assert!(tchar(b'G') && tchar(b'~') && tchar(b'!'));
        assert!(!tchar(b'(') && !tchar(b' ') && !tchar(b':') && !tchar(0) && !tchar(0x80));
        assert!(target_byte(b'/') && target_byte(b'%') && !target_byte(b' ') && !target_byte(0x7f));
        assert!(!target_byte(0x80) && !target_byte(0));
        assert!(value_byte(b'\t') && value_byte(b' ') && value_byte(0x80) && value_byte(0xff));
        assert!(!value_byte(0) && !value_byte(b'\r') && !value_byte(b'\n') && !value_byte(0x7f));
        assert!(host_byte(b'[') && host_byte(b':') && !host_byte(b'/') && !host_byte(b'@'));
    }

    #[test]
    fn trims_ows_only() {
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b""), b"");
        assert_eq!(trim_ows(b"  "), b"");
        assert!(is_token(b"chunked") && !is_token(b"") && !is_token(b"a b"));
    }
}
