//! A busy worker's nap (`ServerConfig::wait_nap`): instead of blocking in
//! `epoll_wait` the moment it finds nothing to do, a worker whose last pass
//! was busy sleeps on the timer for a while and looks again.
//!
//! While it sleeps it is not on any socket's wait queue, so a client's write
//! only queues data and marks the connection ready; it does not have to wake
//! the worker from another CPU (on a virtual machine, an inter-processor
//! interrupt paid by the sender). The nap is taken in steps of at most
//! [`NAP_STEP`] with a look for events after each, so a request that arrives
//! during a nap waits for the rest of one step, not for the whole nap.

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use super::sys::{self, Epoll, Events};

/// Timer slack of a worker that naps: a step ends within this of when it
/// should (the default slack, 50 µs, would make every step that much longer).
const NAP_SLACK: Duration = Duration::from_micros(1);

/// The longest single sleep of a nap. Each step's end is a timer wake-up,
/// which on a virtual machine whose idle CPUs halt comes late: on one such
/// machine (AMD) 50 µs asked for took 90 µs at the median and 200 µs at the
/// 99th percentile, and on another (Intel) 10 µs took 29 µs and 20 µs took
/// 50 µs at the median. A request that arrives at a step's start waits for
/// all of it, but every step also costs a wake-up and a look: with the
/// default 20 µs nap taken as one step instead of two, the Intel machine
/// served 1.3% more pinned plaintext requests per second at 2.5% less CPU
/// per request and about 1-2% fewer unpinned, where the server was ahead of
/// its peers by 5% or more (bench/README.md).
pub(crate) const NAP_STEP: Duration = Duration::from_micros(20);

/// Sets up the calling worker thread for naps (its timer slack).
pub(crate) fn prepare_thread() {
    if let Err(e) = sys::set_timer_slack(NAP_SLACK) {
        tracing::debug!(error = %e, "could not set the timer slack");
    }
}

/// Sleeps in steps of at most [`NAP_STEP`], looking for events without
/// blocking after each, until some are found or `nap` has passed. Returns
/// the last look's result (`Ok(0)`: the nap ended with nothing to do).
pub(crate) fn nap_until_ready(
    epoll: &Epoll,
    events: &mut Events,
    nap: Duration,
) -> io::Result<usize> {
    let start = Instant::now();
    loop {
        let left = nap.saturating_sub(start.elapsed());
        thread::sleep(left.min(NAP_STEP));
        let found = epoll.wait(events, Some(Duration::ZERO));
        if !matches!(found, Ok(0)) || start.elapsed() >= nap {
            return found;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::sys::{EventFd, Interest};
    use std::os::fd::AsRawFd;
    use std::sync::Arc;

    fn epoll_with_eventfd() -> (Epoll, Arc<EventFd>) {
        let epoll = Epoll::new().unwrap();
        let fd = Arc::new(EventFd::new().unwrap());
        epoll.add(fd.as_raw_fd(), 7, Interest::Read, false).unwrap();
        (epoll, fd)
    }

    #[test]
    fn a_nap_with_nothing_to_do_lasts_the_whole_nap() {
        let (epoll, _fd) = epoll_with_eventfd();
        let mut events = Events::with_capacity(4);
        // Many steps long: a nap of one step would end far sooner.
        let nap = Duration::from_millis(5);
        let start = Instant::now();
        assert_eq!(nap_until_ready(&epoll, &mut events, nap).unwrap(), 0);
        assert!(start.elapsed() >= nap, "{:?}", start.elapsed());
    }

    #[test]
    fn a_nap_ends_soon_after_an_event_arrives() {
        let (epoll, fd) = epoll_with_eventfd();
        let mut events = Events::with_capacity(4);
        let notifier = Arc::clone(&fd);
        let writer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(2));
            notifier.notify();
        });
        // A nap far longer than any scheduling delay: ending before it is
        // over can only come from seeing the event.
        let nap = Duration::from_secs(5);
        let start = Instant::now();
        assert_eq!(nap_until_ready(&epoll, &mut events, nap).unwrap(), 1);
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(events.tokens().collect::<Vec<_>>(), [7]);
        writer.join().unwrap();
    }

    #[test]
    fn an_event_already_there_ends_the_first_step() {
        let (epoll, fd) = epoll_with_eventfd();
        fd.notify();
        let mut events = Events::with_capacity(4);
        let start = Instant::now();
        let found = nap_until_ready(&epoll, &mut events, Duration::from_secs(5)).unwrap();
        assert_eq!(found, 1);
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "{:?}",
            start.elapsed()
        );
    }
}
