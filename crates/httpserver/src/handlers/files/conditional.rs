//! Validators (ETag, Last-Modified) and the conditional request rules of
//! RFC 9110 section 13.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a file's metadata says about its current representation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Validators {
    /// A strong entity tag, quotes included: `"<mtime>-<size>"` in hex.
    pub(crate) etag: String,
    /// Modification time, to the second (what an HTTP-date can carry).
    pub(crate) last_modified: SystemTime,
}

impl Validators {
    /// Validators for a file of `len` bytes modified at `modified`.
    pub(crate) fn new(modified: SystemTime, len: u64) -> Validators {
        let since = modified.duration_since(UNIX_EPOCH).unwrap_or_default();
        // `"<secs>.<nanos>-<len>"` in hex, without the formatting machinery.
        let mut etag = String::with_capacity(40);
        etag.push('"');
        push_hex(&mut etag, since.as_secs());
        etag.push('.');
        push_hex(&mut etag, u64::from(since.subsec_nanos()));
        etag.push('-');
        push_hex(&mut etag, len);
        etag.push('"');
        Validators {
            etag,
            last_modified: UNIX_EPOCH + Duration::from_secs(since.as_secs()),
        }
    }

    /// `Last-Modified` as an HTTP-date.
    pub(crate) fn http_date(&self) -> String {
        httpdate::fmt_http_date(self.last_modified)
    }

    /// `Last-Modified` as a header value. The last few are kept per thread:
    /// the files of a site often share a modification time (one deploy),
    /// and formatting a date costs more than the rest of the headers.
    pub(crate) fn last_modified_value(&self) -> Option<http::HeaderValue> {
        const KEEP: usize = 8;
        thread_local! {
            static RECENT: std::cell::RefCell<Vec<(SystemTime, http::HeaderValue)>> =
                const { std::cell::RefCell::new(Vec::new()) };
        }
        let make = || http::HeaderValue::from_str(&self.http_date()).ok();
        RECENT
            .try_with(|recent| {
                let mut recent = recent.borrow_mut();
                if let Some(i) = recent.iter().position(|(t, _)| *t == self.last_modified) {
                    return Some(recent[i].1.clone());
                }
                let value = make()?;
                if recent.len() == KEEP {
                    recent.remove(0);
                }
                recent.push((self.last_modified, value.clone()));
                Some(value)
            })
            .unwrap_or_else(|_| make())
    }
}

/// Appends `n` in lowercase hex.
fn push_hex(out: &mut String, n: u64) {
    let digits = (64 - n.leading_zeros()).div_ceil(4).max(1);
    for i in (0..digits).rev() {
        let d = ((n >> (4 * i)) & 0xf) as u8;
        out.push(char::from(b"0123456789abcdef"[d as usize]));
    }
}

/// The outcome of evaluating a request's preconditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Precondition {
    /// Go on with the request.
    Proceed,
    /// 304 Not Modified.
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

/// The conditional fields of a request, each the combined value of all its
/// lines (`None` when absent).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Conditions<'a> {
    pub(crate) if_match: Option<&'a str>,
    pub(crate) if_none_match: Option<&'a str>,
    pub(crate) if_modified_since: Option<&'a str>,
    pub(crate) if_unmodified_since: Option<&'a str>,
}

/// Evaluates the preconditions in the order RFC 9110 section 13.2.2 gives:
/// If-Match, else If-Unmodified-Since; then If-None-Match, else
/// If-Modified-Since (GET and HEAD only).
pub(crate) fn evaluate(c: &Conditions<'_>, v: &Validators, get_or_head: bool) -> Precondition {
    if let Some(list) = c.if_match {
        if !matches_any(list, &v.etag, Compare::Strong) {
            return Precondition::Failed;
        }
    } else if let Some(date) = c.if_unmodified_since.and_then(parse_date) {
        if v.last_modified > date {
            return Precondition::Failed;
        }
    }
    if let Some(list) = c.if_none_match {
        if matches_any(list, &v.etag, Compare::Weak) {
            return if get_or_head {
                Precondition::NotModified
            } else {
                Precondition::Failed
            };
        }
    } else if get_or_head {
        if let Some(date) = c.if_modified_since.and_then(parse_date) {
            if v.last_modified <= date {
                return Precondition::NotModified;
            }
        }
    }
    Precondition::Proceed
}

/// Should a `Range` be honoured given `If-Range` (RFC 9110 section 13.1.5)?
/// An entity tag must match strongly; a date must equal Last-Modified
/// exactly. Anything else means "send the whole representation".
pub(crate) fn if_range_holds(if_range: Option<&str>, v: &Validators) -> bool {
    let Some(value) = if_range.map(str::trim) else {
        return true;
    };
    if value.starts_with('"') || value.starts_with("W/") {
        return match parse_tag(value) {
            Some((tag, false, rest)) if rest.trim().is_empty() => tag == v.etag,
            _ => false,
        };
    }
    parse_date(value) == Some(v.last_modified)
}

/// How two entity tags are compared (RFC 9110 section 8.8.3.2).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Compare {
    /// Both strong and identical.
    Strong,
    /// Identical opaque tags, weak or not.
    Weak,
}

/// Does `*` or any entity tag in `list` match `ours` (a strong tag)?
/// A malformed list matches nothing.
fn matches_any(list: &str, ours: &str, compare: Compare) -> bool {
    let mut rest = list.trim();
    if rest == "*" {
        return true;
    }
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return false;
        }
        // `*` repeated on several field lines arrives combined as `*, *`.
        if let Some(after) = rest.strip_prefix('*') {
            if after.trim_start().is_empty() || after.trim_start().starts_with(',') {
                return true;
            }
        }
        let Some((tag, weak, after)) = parse_tag(rest) else {
            return false;
        };
        if tag == ours && !(weak && compare == Compare::Strong) {
            return true;
        }
        rest = after.trim_start();
        if !(rest.is_empty() || rest.starts_with(',')) {
            return false;
        }
    }
}

/// Parses one `entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE` from the start of
/// `s`: the quoted tag, whether it was weak, and what follows.
fn parse_tag(s: &str) -> Option<(&str, bool, &str)> {
    let (weak, s) = match s.strip_prefix("W/") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let body = s.strip_prefix('"')?;
    let end = body.find('"')?;
    let inner = &body[..end];
    // etagc = %x21 / %x23-7E / obs-text
    if !inner
        .bytes()
        .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80)
    {
        return None;
    }
    Some((&s[..end + 2], weak, &body[end + 1..]))
}

/// An HTTP-date, or `None` if it is not one (then the field is ignored, as
/// RFC 9110 section 13.1.3 requires).
fn parse_date(s: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(s.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v() -> Validators {
        Validators::new(UNIX_EPOCH + Duration::new(1_700_000_000, 5), 1234)
    }

    fn c<'a>(
        im: Option<&'a str>,
        inm: Option<&'a str>,
        ims: Option<&'a str>,
        ius: Option<&'a str>,
    ) -> Conditions<'a> {
        Conditions {
            if_match: im,
            if_none_match: inm,
            if_modified_since: ims,
            if_unmodified_since: ius,
        }
    }

    const LM: &str = "Tue, 14 Nov 2023 22:13:20 GMT"; // 1_700_000_000
    const BEFORE: &str = "Tue, 14 Nov 2023 22:13:19 GMT";
    const AFTER: &str = "Tue, 14 Nov 2023 22:13:21 GMT";

    #[test]
    fn etag_is_strong_and_names_time_and_size() {
        let v = v();
        assert_eq!(v.etag, "\"6553f100.5-4d2\"");
        assert_eq!(v.http_date(), LM);
        let zero = Validators::new(UNIX_EPOCH, 0);
        assert_eq!(zero.etag, "\"0.0-0\"");
        let big = Validators::new(
            UNIX_EPOCH + Duration::new(u64::from(u32::MAX), 999_999_999),
            u64::MAX,
        );
        assert_eq!(big.etag, "\"ffffffff.3b9ac9ff-ffffffffffffffff\"");
    }

    #[test]
    fn last_modified_values_are_right_when_cached_and_evicted() {
        // More distinct times than the cache keeps, each asked for twice.
        for round in 0..2 {
            for k in 0..20u64 {
                let v = Validators::new(
                    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + k * 3601),
                    1,
                );
                let value = v.last_modified_value().unwrap();
                assert_eq!(
                    value.to_str().unwrap(),
                    v.http_date(),
                    "round {round} k {k}"
                );
            }
        }
        let v = v();
        assert_eq!(v.last_modified_value().unwrap(), LM);
        assert_eq!(v.last_modified_value().unwrap(), LM);
    }

    #[test]
    fn if_none_match_uses_weak_comparison_and_lists() {
        let v = v();
        let tag = v.etag.clone();
        let weak = format!("W/{tag}");
        let list = format!("\"x\", {weak} ,\"y\"");
        for (inm, want) in [
            (tag.as_str(), Precondition::NotModified),
            (weak.as_str(), Precondition::NotModified),
            (list.as_str(), Precondition::NotModified),
            ("*", Precondition::NotModified),
            ("\"other\"", Precondition::Proceed),
            ("garbage", Precondition::Proceed),
        ] {
            assert_eq!(
                evaluate(&c(None, Some(inm), None, None), &v, true),
                want,
                "{inm}"
            );
        }
        // Not GET/HEAD: a match fails the precondition.
        assert_eq!(
            evaluate(&c(None, Some("*"), None, None), &v, false),
            Precondition::Failed
        );
    }

    #[test]
    fn if_none_match_takes_precedence_over_if_modified_since() {
        let v = v();
        // A non-matching tag with a date that would give 304: 200.
        assert_eq!(
            evaluate(&c(None, Some("\"other\""), Some(LM), None), &v, true),
            Precondition::Proceed
        );
        assert_eq!(
            evaluate(&c(None, None, Some(LM), None), &v, true),
            Precondition::NotModified
        );
        assert_eq!(
            evaluate(&c(None, None, Some(AFTER), None), &v, true),
            Precondition::NotModified
        );
        assert_eq!(
            evaluate(&c(None, None, Some(BEFORE), None), &v, true),
            Precondition::Proceed
        );
        assert_eq!(
            evaluate(&c(None, None, Some("not a date"), None), &v, true),
            Precondition::Proceed
        );
    }

    #[test]
    fn if_match_and_if_unmodified_since_fail_with_412() {
        let v = v();
        let tag = v.etag.clone();
        let weak = format!("W/{tag}");
        assert_eq!(
            evaluate(&c(Some(&tag), None, None, None), &v, true),
            Precondition::Proceed
        );
        assert_eq!(
            evaluate(&c(Some("*"), None, None, None), &v, true),
            Precondition::Proceed
        );
        // If-Match compares strongly.
        assert_eq!(
            evaluate(&c(Some(&weak), None, None, None), &v, true),
            Precondition::Failed
        );
        assert_eq!(
            evaluate(&c(Some("\"nope\""), None, None, None), &v, true),
            Precondition::Failed
        );
        assert_eq!(
            evaluate(&c(None, None, None, Some(LM)), &v, true),
            Precondition::Proceed
        );
        assert_eq!(
            evaluate(&c(None, None, None, Some(BEFORE)), &v, true),
            Precondition::Failed
        );
        // If-Match present: If-Unmodified-Since is not looked at.
        assert_eq!(
            evaluate(&c(Some(&tag), None, None, Some(BEFORE)), &v, true),
            Precondition::Proceed
        );
    }

    #[test]
    fn if_range_needs_a_strong_tag_or_the_exact_date() {
        let v = v();
        assert!(if_range_holds(None, &v));
        assert!(if_range_holds(Some(&v.etag), &v));
        assert!(!if_range_holds(Some(&format!("W/{}", v.etag)), &v));
        assert!(!if_range_holds(Some("\"other\""), &v));
        assert!(if_range_holds(Some(LM), &v));
        assert!(!if_range_holds(Some(AFTER), &v));
        assert!(!if_range_holds(Some("junk"), &v));
    }
}
