//! A coarse clock for the runtime's bookkeeping: the time the timer thread
//! last read, renewed every pool check (10 ms at most).
//!
//! A connection's next deadline and a response's `Date` need the time to
//! within a few milliseconds, not to the nanosecond; reading them from here
//! costs an atomic load instead of a clock read (a vDSO call of about 25 ns
//! on a virtual machine) per request. What needs precision reads the real
//! clock: the stamp of a request head's arrival
//! ([`Request::received_at`](crate::Request::received_at)) and the timer's
//! own comparisons. A deadline worked out from here is early by at most the
//! clock's age, never late.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The last reading: milliseconds since the server started (monotonic) and
/// whole seconds since the Unix epoch (wall clock, for `Date`).
#[derive(Debug)]
pub(crate) struct CoarseClock {
    ms: AtomicU64,
    unix_secs: AtomicU64,
}

impl CoarseClock {
    /// A clock reading `ms` now.
    pub(crate) fn new(ms: u64) -> CoarseClock {
        let clock = CoarseClock {
            ms: AtomicU64::new(0),
            unix_secs: AtomicU64::new(0),
        };
        clock.set(ms);
        clock
    }

    /// Records a fresh reading (the timer, after each sleep).
    pub(crate) fn set(&self, ms: u64) {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.ms.fetch_max(ms, Ordering::Relaxed);
        self.unix_secs.store(secs, Ordering::Relaxed);
    }

    /// Milliseconds since the server started, as last read.
    #[inline]
    pub(crate) fn ms(&self) -> u64 {
        self.ms.load(Ordering::Relaxed)
    }

    /// Seconds since the Unix epoch, as last read.
    #[inline]
    pub(crate) fn unix_secs(&self) -> u64 {
        self.unix_secs.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::CoarseClock;

    #[test]
    fn readings_go_forward_and_the_wall_clock_is_current() {
        let clock = CoarseClock::new(500);
        assert_eq!(clock.ms(), 500);
        clock.set(700);
        assert_eq!(clock.ms(), 700);
        // A late writer with an older reading never moves it back.
        clock.set(600);
        assert_eq!(clock.ms(), 700);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(now.abs_diff(clock.unix_secs()) <= 1);
    }
}
