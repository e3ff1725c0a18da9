//! Worker accounting: how many threads exist, how many wait for events, how
//! many run handlers, and the bounded overflow queue used when every handler
//! slot is taken.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::conn::Conn;

/// Counters and the overflow queue of the worker pool.
#[derive(Debug)]
pub(crate) struct Pool {
    /// Worker threads alive.
    pub(crate) threads: AtomicUsize,
    /// Workers waiting in `epoll_wait`.
    pub(crate) polling: AtomicUsize,
    /// Handlers running.
    pub(crate) busy: AtomicUsize,
    /// `min_workers`.
    pub(crate) min: usize,
    /// `max_workers`: most handlers at once.
    pub(crate) max_busy: usize,
    /// Most threads: one more than `max_busy`, so that somebody still
    /// accepts, reads and queues (or answers 503) while all handlers run.
    pub(crate) max_threads: usize,
    queue: Mutex<VecDeque<Box<Conn>>>,
    queued: AtomicUsize,
    capacity: usize,
}

impl Pool {
    pub(crate) fn new(min: usize, max_busy: usize, capacity: usize) -> Pool {
        Pool {
            threads: AtomicUsize::new(0),
            polling: AtomicUsize::new(0),
            busy: AtomicUsize::new(0),
            min: min.max(1),
            max_busy,
            max_threads: max_busy + 1,
            queue: Mutex::new(VecDeque::new()),
            queued: AtomicUsize::new(0),
            capacity,
        }
    }

    /// Takes a handler slot if one is free.
    #[inline]
    pub(crate) fn try_acquire(&self) -> bool {
        let prev = self.busy.fetch_add(1, Ordering::AcqRel);
        if prev < self.max_busy {
            true
        } else {
            self.busy.fetch_sub(1, Ordering::AcqRel);
            false
        }
    }

    /// Gives a handler slot back.
    #[inline]
    pub(crate) fn release(&self) {
        self.busy.fetch_sub(1, Ordering::AcqRel);
    }

    pub(crate) fn queue_has_room(&self) -> bool {
        self.queued.load(Ordering::Acquire) < self.capacity
    }

    /// Number of queued requests.
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// Queues a connection whose request waits for a handler slot. Returns it
    /// back if the queue is full.
    pub(crate) fn push(&self, conn: Box<Conn>) -> Result<(), Box<Conn>> {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() >= self.capacity {
            return Err(conn);
        }
        q.push_back(conn);
        self.queued.store(q.len(), Ordering::Release);
        Ok(())
    }

    /// Takes the oldest queued connection, if a handler slot could serve it.
    pub(crate) fn pop(&self) -> Option<Box<Conn>> {
        if self.queued.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let conn = q.pop_front();
        self.queued.store(q.len(), Ordering::Release);
        conn
    }

    /// Reserves a thread for a new worker if below the maximum.
    pub(crate) fn try_add_thread(&self) -> bool {
        self.threads
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_threads).then_some(n + 1)
            })
            .is_ok()
    }

    /// Lets an idle worker retire if more than `min` are alive.
    pub(crate) fn try_retire(&self) -> bool {
        self.threads
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n > self.min).then_some(n - 1)
            })
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_threads_and_retirement_are_bounded() {
        let pool = Pool::new(1, 2, 4);
        assert!(pool.try_acquire() && pool.try_acquire());
        assert!(!pool.try_acquire());
        pool.release();
        assert!(pool.try_acquire());
        assert_eq!(pool.busy.load(Ordering::Relaxed), 2);
        assert!(pool.try_add_thread() && pool.try_add_thread() && pool.try_add_thread());
        assert!(!pool.try_add_thread(), "max_workers + 1 threads at most");
        assert!(pool.try_retire() && pool.try_retire());
        assert!(!pool.try_retire(), "min_workers stay");
        assert!(pool.queue_has_room() && pool.pop().is_none());
    }
}
