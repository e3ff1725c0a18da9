//! The `Date` header value (RFC 9110 section 6.6.1), formatted once a second
//! per thread.

use std::cell::RefCell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
    http_date_at(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

/// `secs` seconds after the Unix epoch as an IMF-fixdate, through the same
/// per-thread cache (the runtime passes the second its timer last read, so
/// a response costs no clock read).
pub(crate) fn http_date_at(secs: u64) -> [u8; DATE_LEN] {
    CACHE.with(|cell| {
        let mut cache = cell.borrow_mut();
        if cache.secs != secs {
            let text = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs));
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
        let unix_secs = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        };
        // Two calls within one second give the same text. A pair that
        // straddles a second boundary proves nothing: try again (two
        // boundaries in a row take a thread stalled for a second).
        for _ in 0..3 {
            let before = unix_secs();
            let date = super::http_date();
            let again = super::http_date();
            let same_second = unix_secs() == before;
            let text = std::str::from_utf8(&date).expect("ascii");
            assert!(httpdate::parse_http_date(text).is_ok(), "{text}");
            if same_second {
                assert_eq!(again, date, "cached within the second");
                return;
            }
        }
        panic!("no two calls within one second in three tries");
    }

    #[test]
    fn formats_a_given_second() {
        // 784111777 is the RFC's example date.
        assert_eq!(
            &super::http_date_at(784_111_777),
            b"Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(&super::http_date_at(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            &super::http_date_at(784_111_777),
            b"Sun, 06 Nov 1994 08:49:37 GMT"
        );
    }
}
