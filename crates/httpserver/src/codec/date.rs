//! The `Date` header value (RFC 9110 section 6.6.1), formatted once a second
//! per thread.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const DATE_LEN: usize = 29;

struct Cache {
    secs: u64,
    text: [u8; DATE_LEN],
}

thread_local! {
    static CACHE: RefCell<Cache> = const { RefCell::new(Cache { secs: u64::MAX, text: [b' '; DATE_LEN] }) };
}

/// The current time as an IMF-fixdate. Formatting happens at most once a
/// second on each thread; other calls copy the cached 29 bytes.
///
/// # Examples
///
/// ```
/// let date = httpserver::codec::http_date();
/// assert!(date.ends_with(b" GMT"));
/// ```
pub fn http_date() -> [u8; DATE_LEN] {
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHE.with(|cell| {
        let mut cache = cell.borrow_mut();
        if cache.secs != secs {
            let text = httpdate::fmt_http_date(now);
            if text.len() == DATE_LEN {
                cache.text.copy_from_slice(text.as_bytes());
                cache.secs = secs;
            }
        }
        cache.text
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_an_imf_fixdate() {
        let date = super::http_date();
        let text = std::str::from_utf8(&date).expect("ascii");
        assert!(httpdate::parse_http_date(text).is_ok(), "{text}");
        assert_eq!(
            super::http_date(),
            date,
            "cached within the second (may flake only across a second boundary)"
        );
    }
}
