//! Worker accounting: how many threads exist, how many wait for events, how
//! many run handlers, and the bounded overflow queue used when every handler
//! slot is taken.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::conn::Conn;

const BUSY_MASK: u64 = 0xffff_ffff;
const FINISHED_ONE: u64 = 1 << 32;

/// Counters and the overflow queue of the worker pool.
#[derive(Debug)]
pub(crate) struct Pool {
    /// Worker threads alive.
    pub(crate) threads: AtomicUsize,
    /// Workers waiting in `epoll_wait`.
    pub(crate) polling: AtomicUsize,
    /// Workers in a `wait_nap`: about to look for events again.
    pub(crate) napping: AtomicUsize,
    /// Handlers running (low 32 bits) and handlers finished, wrapping (high
    /// 32 bits): one word, so a request costs two atomic operations on one
    /// cache line, and the timer can tell progress from a stall.
    slots: AtomicU64,
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
            napping: AtomicUsize::new(0),
            slots: AtomicU64::new(0),
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
        let prev = self.slots.fetch_add(1, Ordering::AcqRel);
        if (prev & BUSY_MASK) < self.max_busy as u64 {
            true
        } else {
            self.slots.fetch_sub(1, Ordering::AcqRel);
            false
        }
    }

    /// Gives a handler slot back and counts the handler as finished.
    #[inline]
    pub(crate) fn release(&self) {
        // +1 finished, -1 running (running is at least 1: no borrow).
        self.slots.fetch_add(FINISHED_ONE - 1, Ordering::AcqRel);
    }

    /// Handlers running.
    pub(crate) fn busy(&self) -> usize {
        (self.slots.load(Ordering::Acquire) & BUSY_MASK) as usize
    }

    /// Handlers finished so far (wrapping).
    pub(crate) fn completed(&self) -> u64 {
        self.slots.load(Ordering::Relaxed) >> 32
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
        assert_eq!((pool.busy(), pool.completed()), (2, 1));
        assert!(pool.try_add_thread() && pool.try_add_thread() && pool.try_add_thread());
        assert!(!pool.try_add_thread(), "max_workers + 1 threads at most");
        assert!(pool.try_retire() && pool.try_retire());
        assert!(!pool.try_retire(), "min_workers stay");
        assert!(pool.queue_has_room() && pool.pop().is_none());
    }
}
