//! The table of open connections, indexed by the token epoll hands back.
//!
//! A token is `generation << 24 | index`. Connections are registered
//! edge-triggered for reading and writing, once, and never re-armed: a
//! readiness change produces one event, delivered to one waiting worker.
//!
//! A slot holds the connection while it is parked. A worker woken for it
//! *takes* it out, so the slot is empty while a worker, the overflow queue
//! or the timer owns it. An event that arrives meanwhile cannot be handed to
//! a second worker: it sets the slot's `pending` flag instead, and the owner,
//! when it parks the connection, finds the flag and serves it again. Every
//! step runs under the slot's own mutex, held only for these few
//! instructions, so no event is lost and no connection is served by two
//! threads.

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::conn::Conn;
use super::sys::Epoll;

const INDEX_BITS: u32 = 24;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;

/// One connection's place.
#[derive(Debug, Default)]
struct SlotState {
    /// The connection, while parked.
    conn: Option<Box<Conn>>,
    /// The token of the connection that occupies the slot (parked or
    /// owned); 0 when free.
    token: u64,
    /// An event arrived while the connection was owned.
    pending: bool,
    /// That event reported the peer closing.
    pending_hup: bool,
}

type Slot = Mutex<SlotState>;

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

fn lock(slot: &Slot) -> MutexGuard<'_, SlotState> {
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

impl Slab {
    pub(crate) fn new(capacity: usize) -> Slab {
        Slab {
            slots: (0..capacity).map(|_| Mutex::default()).collect(),
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
        *slot = SlotState {
            conn: Some(conn),
            token,
            ..SlotState::default()
        };
        if let Err(e) = epoll.add_edge(fd, token) {
            *slot = SlotState::default();
            drop(slot);
            self.release(token);
            return Err(e);
        }
        Ok(())
    }

    /// Takes the connection for `token` out if it is parked; if another
    /// thread owns it, marks it pending so that thread serves it again.
    /// `hup` says the event reported the peer closing.
    pub(crate) fn take(&self, token: u64, hup: bool) -> Option<Box<Conn>> {
        let slot = self.slots.get((token & INDEX_MASK) as usize)?;
        let mut state = lock(slot);
        if state.token != token {
            return None; // a stale event for a closed connection
        }
        match state.conn.take() {
            Some(mut conn) => {
                conn.peer_hup |= hup;
                Some(conn)
            }
            None => {
                state.pending = true;
                state.pending_hup |= hup;
                None
            }
        }
    }

    /// Takes the parked connection at `index` if `pred` holds for it, to
    /// close it; used by the timer, which never waits for a busy slot.
    pub(crate) fn take_if(
        &self,
        index: usize,
        pred: impl FnOnce(&Conn) -> bool,
    ) -> Option<Box<Conn>> {
        let slot = self.slots.get(index)?;
        let mut state = slot.try_lock().ok()?;
        if state.conn.as_deref().is_some_and(pred) {
            let conn = state.conn.take();
            *state = SlotState::default();
            conn
        } else {
            None
        }
    }

    /// Scan bound for [`Slab::take_if`].
    pub(crate) fn high(&self) -> usize {
        self.high.load(Ordering::Acquire)
    }

    /// Puts a connection back to wait for its next event. Returns it instead
    /// if an event arrived while it was owned: the caller serves it again.
    pub(crate) fn park(&self, conn: Box<Conn>) -> Option<Box<Conn>> {
        let index = (conn.token & INDEX_MASK) as usize;
        let mut state = lock(&self.slots[index]);
        if state.pending {
            let mut conn = conn;
            conn.peer_hup |= state.pending_hup;
            state.pending = false;
            state.pending_hup = false;
            return Some(conn);
        }
        state.conn = Some(conn);
        None
    }

    /// Closes a connection that was taken out, freeing its slot.
    pub(crate) fn close(&self, conn: Box<Conn>) {
        let token = conn.token;
        {
            let mut state = lock(&self.slots[(token & INDEX_MASK) as usize]);
            if state.token == token {
                *state = SlotState::default();
            }
        }
        // Closing the descriptor removes it from the epoll set.
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
