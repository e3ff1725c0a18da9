//! The table of open connections, indexed by the token epoll hands back.
//!
//! A token is `generation << 24 | index`. A slot holds the connection while
//! it is parked (waiting in epoll); a thread that is woken for it *takes* it
//! out, so the slot is empty while a worker or the timer owns it. Each slot
//! has its own mutex, held only to take or put back (and, when putting back,
//! across re-arming epoll, so the timer can never close a descriptor that
//! is being re-armed).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::conn::Conn;
use super::sys::{Epoll, Interest};
use std::os::fd::AsRawFd;

const INDEX_BITS: u32 = 24;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;

type Slot = Mutex<Option<Box<Conn>>>;

/// Open connections.
#[derive(Debug)]
pub(crate) struct Slab {
    slots: Box<[Slot]>,
    free: Mutex<Vec<u32>>,
    /// One past the highest index ever used: the timer scans up to here.
    high: AtomicUsize,
    open: AtomicUsize,
    generation: AtomicU64,
}

fn lock(slot: &Slot) -> MutexGuard<'_, Option<Box<Conn>>> {
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

impl Slab {
    pub(crate) fn new(capacity: usize) -> Slab {
        Slab {
            slots: (0..capacity).map(|_| Mutex::new(None)).collect(),
            free: Mutex::new(Vec::new()),
            high: AtomicUsize::new(0),
            open: AtomicUsize::new(0),
            generation: AtomicU64::new(1),
        }
    }

    /// Open connections.
    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Reserves a slot; returns the token for it, or `None` when full.
    pub(crate) fn reserve(&self) -> Option<u64> {
        let index = {
            let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
            match free.pop() {
                Some(i) => i as usize,
                None => {
                    let i = self.high.load(Ordering::Acquire);
                    if i >= self.slots.len() {
                        return None;
                    }
                    self.high.store(i + 1, Ordering::Release);
                    i
                }
            }
        };
        self.open.fetch_add(1, Ordering::AcqRel);
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) & ((1 << 40) - 1);
        Some(generation << INDEX_BITS | index as u64)
    }

    /// Stores a new connection in its reserved slot and registers it.
    pub(crate) fn insert(&self, conn: Box<Conn>, epoll: &Epoll) -> std::io::Result<()> {
        let index = (conn.token & INDEX_MASK) as usize;
        let fd = conn.stream.as_raw_fd();
        let token = conn.token;
        let mut slot = lock(&self.slots[index]);
        *slot = Some(conn);
        if let Err(e) = epoll.add(fd, token, Interest::Read, true) {
            *slot = None;
            drop(slot);
            self.release(token);
            return Err(e);
        }
        Ok(())
    }

    /// Takes the connection for `token` out, if it is parked there.
    pub(crate) fn take(&self, token: u64) -> Option<Box<Conn>> {
        let slot = self.slots.get((token & INDEX_MASK) as usize)?;
        let mut guard = lock(slot);
        if guard.as_ref().is_some_and(|c| c.token == token) {
            guard.take()
        } else {
            None
        }
    }

    /// Takes the connection at `index` if `pred` holds for it; used by the
    /// timer, which never waits for a busy slot.
    pub(crate) fn take_if(
        &self,
        index: usize,
        pred: impl FnOnce(&Conn) -> bool,
    ) -> Option<Box<Conn>> {
        let slot = self.slots.get(index)?;
        let mut guard = slot.try_lock().ok()?;
        if guard.as_deref().is_some_and(pred) {
            guard.take()
        } else {
            None
        }
    }

    /// Scan bound for [`Slab::take_if`].
    pub(crate) fn high(&self) -> usize {
        self.high.load(Ordering::Acquire)
    }

    /// Puts a connection back and re-arms it for `interest`. On failure the
    /// connection is closed.
    pub(crate) fn park(&self, conn: Box<Conn>, interest: Interest, epoll: &Epoll) {
        let index = (conn.token & INDEX_MASK) as usize;
        let token = conn.token;
        let fd = conn.stream.as_raw_fd();
        let mut slot = lock(&self.slots[index]);
        *slot = Some(conn);
        if let Err(e) = epoll.rearm(fd, token, interest) {
            tracing::warn!(error = %e, "re-arming a connection failed; closing it");
            let conn = slot.take();
            drop(slot);
            drop(conn);
            self.release(token);
        }
    }

    /// Closes a connection that was taken out, freeing its slot.
    pub(crate) fn close(&self, conn: Box<Conn>) {
        let token = conn.token;
        drop(conn);
        self.release(token);
    }

    fn release(&self, token: u64) {
        let index = (token & INDEX_MASK) as u32;
        self.free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(index);
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}
