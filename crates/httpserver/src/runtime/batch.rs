//! Events a worker has claimed but not served yet, stealable when the worker
//! is stuck.
//!
//! A worker takes up to [`BATCH`] events per `epoll_wait`, which saves a
//! system call per request under load. The events it has not reached yet
//! sit in its slot here, not on its stack, so that another thread can take
//! them when the worker stops making progress:
//!
//! - a worker that has run out of events of its own first takes those of a
//!   worker that has not moved on to its next event since its own last
//!   look ([`Batches::steal_stalled`]). That is the common case on a
//!   machine whose CPUs the server shares with other programs: a worker
//!   descheduled in the middle of a batch would otherwise leave the rest of
//!   it waiting for a whole scheduler slice (a millisecond or more) while
//!   another worker is running;
//! - the timer, every 10 ms, moves the events of a worker that made no
//!   progress at all since its last check to the orphan list and wakes
//!   another worker for them (a worker blocked in a slow handler, when no
//!   other worker came looking).
//!
//! So a slow handler, or a descheduled worker, delays only the connection
//! it is serving.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Most events taken per wait.
pub(crate) const BATCH: usize = 16;

/// An event: token and "peer closed".
pub(crate) type Event = (u64, bool);

/// One worker's claimed events and its progress counter.
#[derive(Debug, Default)]
#[repr(align(64))]
struct WorkerSlot {
    events: Mutex<VecDeque<Event>>,
    /// `events.len()`, written under the lock, so that another worker can
    /// see without the lock whether there is anything to take.
    waiting: AtomicUsize,
    /// Events taken from `events` so far (wrapping).
    progress: AtomicU64,
    in_use: AtomicBool,
    /// The worker is serving a connection (running a handler, reading a
    /// streamed body or a file): only then does its being asleep mean a
    /// slow handler rather than a wait on the runtime's own locks.
    serving: AtomicBool,
    /// The worker thread's kernel id (0: unknown).
    tid: AtomicI32,
}

/// Every worker's claimed events, and the orphans stolen from stuck ones.
#[derive(Debug)]
pub(crate) struct Batches {
    slots: Box<[WorkerSlot]>,
    /// One past the highest slot ever claimed: the slots a thief looks at.
    high: AtomicUsize,
    free: Mutex<Vec<usize>>,
    orphans: Mutex<Vec<Event>>,
    orphan_count: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Batches {
    /// Room for `workers` workers.
    pub(crate) fn new(workers: usize) -> Batches {
        Batches {
            slots: (0..workers).map(|_| WorkerSlot::default()).collect(),
            high: AtomicUsize::new(0),
            free: Mutex::new((0..workers).rev().collect()),
            orphans: Mutex::new(Vec::new()),
            orphan_count: AtomicUsize::new(0),
        }
    }

    /// A slot for a starting worker (called on the worker's thread).
    pub(crate) fn claim(&self) -> Option<usize> {
        let id = lock(&self.free).pop()?;
        self.slots[id].tid.store(current_tid(), Ordering::Relaxed);
        self.slots[id].in_use.store(true, Ordering::Release);
        self.high.fetch_max(id + 1, Ordering::AcqRel);
        Some(id)
    }

    /// Is some worker blocked while serving a connection (asleep in a
    /// system call, as a handler waiting on I/O or a lock is) rather than
    /// running or waiting for a CPU? Only such a worker is helped by another
    /// thread: when every worker is runnable, the CPUs are the limit and
    /// another thread would only compete for them. A worker asleep outside
    /// a connection waits on the runtime's own short locks, whose holder is
    /// merely waiting for a CPU (measured: under load with the CPUs shared
    /// with the client, counting those grew the pool by a thread or more in
    /// some runs, and every extra thread added wake-ups). Unknown threads
    /// count as blocked.
    pub(crate) fn any_blocked(&self) -> bool {
        self.slots.iter().any(|slot| {
            slot.in_use.load(Ordering::Acquire)
                && slot.serving.load(Ordering::Relaxed)
                && is_blocked(slot.tid.load(Ordering::Relaxed))
        })
    }

    /// Marks worker `id` as serving a connection or not (see
    /// [`Batches::any_blocked`]); a store to the worker's own cache line.
    #[inline]
    pub(crate) fn set_serving(&self, id: usize, serving: bool) {
        self.slots[id].serving.store(serving, Ordering::Relaxed);
    }

    /// Gives a retiring worker's slot back (its events go to the orphans).
    pub(crate) fn release(&self, id: usize) {
        let slot = &self.slots[id];
        slot.in_use.store(false, Ordering::Release);
        let left: Vec<Event> = slot.drain();
        self.adopt(left);
        lock(&self.free).push(id);
    }

    /// Records freshly claimed events.
    pub(crate) fn fill(&self, id: usize, events: impl Iterator<Item = Event>) {
        let slot = &self.slots[id];
        let mut queue = lock(&slot.events);
        queue.extend(events);
        slot.waiting.store(queue.len(), Ordering::Relaxed);
        drop(queue);
        // A fresh batch is progress: a worker that has just taken events
        // is not stalled, however long it had waited for them.
        slot.progress.fetch_add(1, Ordering::Relaxed);
    }

    /// The next claimed event of worker `id`.
    #[inline]
    pub(crate) fn next(&self, id: usize) -> Option<Event> {
        let slot = &self.slots[id];
        let event = {
            let mut queue = lock(&slot.events);
            let event = queue.pop_front();
            slot.waiting.store(queue.len(), Ordering::Relaxed);
            event
        };
        slot.progress.fetch_add(1, Ordering::Relaxed);
        event
    }

    /// Moves into worker `id`'s batch the waiting events of another worker
    /// that has neither taken its next event nor a fresh batch since
    /// `thief`'s last look (one pass of `id`'s loop ago: a wait for events,
    /// or the serving of what it took last, so the other worker has had
    /// time to move on if it was running). Returns whether anything was
    /// taken.
    ///
    /// The other worker was descheduled, or is held by a slow handler:
    /// either way its waiting events would wait for it. If it was merely
    /// slower than the look, the events are served sooner, in parallel;
    /// the slab still gives each connection to one worker at a time.
    /// A slot whose lock is held is passed over rather than waited for: its
    /// holder may be the descheduled worker.
    pub(crate) fn steal_stalled(&self, id: usize, thief: &mut Thief) -> bool {
        let high = self.high.load(Ordering::Acquire).min(self.slots.len());
        thief.seen.resize(high, u64::MAX);
        for (other, slot) in self.slots[..high].iter().enumerate() {
            if other == id {
                continue;
            }
            let progress = slot.progress.load(Ordering::Relaxed);
            let stalled = std::mem::replace(&mut thief.seen[other], progress) == progress;
            let waiting = slot.waiting.load(Ordering::Relaxed);
            if !stalled || waiting == 0 || !slot.in_use.load(Ordering::Acquire) {
                continue;
            }
            // Room first, so the other worker's lock is never held across
            // an allocation.
            thief.taken.reserve(BATCH.max(waiting));
            if let Ok(mut queue) = slot.events.try_lock() {
                thief.taken.extend(queue.drain(..));
                slot.waiting.store(0, Ordering::Relaxed);
            }
        }
        if thief.taken.is_empty() {
            return false;
        }
        self.fill(id, thief.taken.drain(..));
        true
    }

    /// Moves orphans, if any, into worker `id`'s batch; false if none.
    pub(crate) fn take_orphans(&self, id: usize) -> bool {
        if self.orphan_count.load(Ordering::Acquire) == 0 {
            return false;
        }
        let taken: Vec<Event> = {
            let mut orphans = lock(&self.orphans);
            self.orphan_count.store(0, Ordering::Release);
            orphans.drain(..).collect()
        };
        let any = !taken.is_empty();
        self.fill(id, taken.into_iter());
        any
    }

    fn adopt(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let mut orphans = lock(&self.orphans);
        orphans.extend(events);
        self.orphan_count.store(orphans.len(), Ordering::Release);
    }

    /// Steals the waiting events of every worker that made no progress since
    /// the last call (`last` keeps each worker's counter). Returns whether
    /// anything was stolen.
    pub(crate) fn steal_stuck(&self, last: &mut Vec<u64>) -> bool {
        last.resize(self.slots.len(), u64::MAX);
        let mut stolen = false;
        for (slot, seen) in self.slots.iter().zip(last.iter_mut()) {
            let now = slot.progress.load(Ordering::Relaxed);
            if now == *seen && slot.in_use.load(Ordering::Acquire) {
                let waiting = slot.drain();
                if !waiting.is_empty() {
                    stolen = true;
                    self.adopt(waiting);
                }
            }
            *seen = now;
        }
        stolen
    }
}

impl WorkerSlot {
    /// Takes every waiting event.
    fn drain(&self) -> Vec<Event> {
        let mut queue = lock(&self.events);
        self.waiting.store(0, Ordering::Relaxed);
        queue.drain(..).collect()
    }
}

/// A worker's state for [`Batches::steal_stalled`]: the progress it last
/// saw of each other worker, and a buffer reused for the events it takes.
#[derive(Debug, Default)]
pub(crate) struct Thief {
    seen: Vec<u64>,
    taken: Vec<Event>,
}

/// This thread's kernel id, from `/proc/thread-self` (0 if unknown).
fn current_tid() -> i32 {
    std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name()?.to_str()?.parse().ok())
        .unwrap_or(0)
}

/// Is thread `tid` of this process sleeping (`S`) or in an uninterruptible
/// wait (`D`)? Unknown (0, or no `/proc`) counts as blocked.
fn is_blocked(tid: i32) -> bool {
    if tid == 0 {
        return true;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")) else {
        return true;
    };
    // `pid (comm) state ...`: the state follows the last `)`.
    match stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].trim_start().chars().next())
    {
        Some(state) => matches!(state, 'S' | 'D'),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_and_sleeping_threads_are_told_apart() {
        let me = current_tid();
        assert!(me > 0);
        // This thread is running while it asks.
        assert!(!is_blocked(me));
        let (tx, rx) = std::sync::mpsc::channel();
        let (wake, wait) = std::sync::mpsc::channel::<()>();
        let sleeper = std::thread::spawn(move || {
            tx.send(current_tid()).unwrap();
            let _ = wait.recv();
        });
        let tid = rx.recv().unwrap();
        // Blocked in `recv` as soon as it gets there; on a busy machine it
        // may still be runnable for a while first.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !is_blocked(tid) {
            assert!(
                std::time::Instant::now() < deadline,
                "a thread waiting in recv was never seen blocked"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        wake.send(()).unwrap();
        sleeper.join().unwrap();
        assert!(is_blocked(0));
    }

    #[test]
    fn only_a_worker_asleep_while_serving_counts_as_blocked() {
        use std::sync::Arc;
        use std::time::{Duration, Instant};
        let b = Arc::new(Batches::new(1));
        // The worker sleeps on `outside` first, then on `inside` while
        // marked as serving; this thread holds both until it has looked.
        let (outside, inside) = (Arc::new(Mutex::new(())), Arc::new(Mutex::new(())));
        let (hold_outside, hold_inside) = (outside.lock().unwrap(), inside.lock().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        let (b2, outside2, inside2) = (b.clone(), outside.clone(), inside.clone());
        let worker = std::thread::spawn(move || {
            let id = b2.claim().unwrap();
            tx.send(id).unwrap();
            // The runtime's own wait: asleep, but not serving.
            drop(outside2.lock().unwrap());
            b2.set_serving(id, true);
            // A slow handler: asleep while serving.
            drop(inside2.lock().unwrap());
            b2.set_serving(id, false);
        });
        let id = rx.recv().unwrap();
        let tid = b.slots[id].tid.load(Ordering::Relaxed);
        let wait_until = |what: &str, done: &dyn Fn() -> bool| {
            let deadline = Instant::now() + Duration::from_secs(5);
            while !done() {
                assert!(Instant::now() < deadline, "the worker never {what}");
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        wait_until("blocked", &|| is_blocked(tid));
        assert!(
            !b.any_blocked(),
            "a wait outside a connection counted as a slow handler"
        );
        drop(hold_outside);
        wait_until("blocked while serving", &|| {
            b.slots[id].serving.load(Ordering::Relaxed) && is_blocked(tid)
        });
        assert!(b.any_blocked());
        drop(hold_inside);
        worker.join().unwrap();
        assert!(!b.any_blocked());
    }

    #[test]
    fn a_worker_out_of_events_takes_those_of_a_worker_that_has_not_moved_on() {
        let b = Batches::new(3);
        let (a, c) = (b.claim().unwrap(), b.claim().unwrap());
        let mut thief = Thief::default();
        b.fill(a, [(1, false), (2, true), (3, false)].into_iter());
        // The first look only records how far `a` has got.
        assert!(!b.steal_stalled(c, &mut thief));
        // `a` moved on since: its events stay with it.
        assert_eq!(b.next(a), Some((1, false)));
        assert!(!b.steal_stalled(c, &mut thief));
        // `a` has not moved on since the last look: the rest are taken,
        // in order, and `a` finds its batch empty.
        assert!(b.steal_stalled(c, &mut thief));
        assert_eq!(b.next(a), None);
        assert_eq!(
            (b.next(c), b.next(c), b.next(c)),
            (Some((2, true)), Some((3, false)), None)
        );
        // Nothing waiting: nothing to take, and a worker never robs itself.
        assert!(!b.steal_stalled(c, &mut thief));
        b.fill(c, [(4, false)].into_iter());
        assert!(!b.steal_stalled(c, &mut thief));
        assert!(!b.steal_stalled(c, &mut thief));
        assert_eq!(b.next(c), Some((4, false)));
    }

    #[test]
    fn a_slot_whose_lock_is_held_is_passed_over() {
        let b = Batches::new(2);
        let (a, c) = (b.claim().unwrap(), b.claim().unwrap());
        let mut thief = Thief::default();
        b.fill(a, [(1, false)].into_iter());
        assert!(!b.steal_stalled(c, &mut thief));
        {
            // `a` descheduled while it holds its own lock: the thief must
            // not wait for it.
            let _held = b.slots[a].events.lock().unwrap();
            assert!(!b.steal_stalled(c, &mut thief));
        }
        // `a` still has not moved on: taken at the next look.
        assert!(b.steal_stalled(c, &mut thief));
        assert_eq!(b.next(c), Some((1, false)));
    }

    #[test]
    fn an_owner_and_a_thief_at_once_serve_every_event_exactly_once() {
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;
        // The owner takes batches and serves them, pausing now and then
        // as a descheduled worker would; the thief keeps looking, as the
        // worker loop does between waits. Each event must be served once.
        const BATCHES: u64 = 2000;
        let b = Arc::new(Batches::new(2));
        let (a, c) = (b.claim().unwrap(), b.claim().unwrap());
        let done = Arc::new(AtomicBool::new(false));
        let (b2, done2) = (Arc::clone(&b), Arc::clone(&done));
        let thief = std::thread::spawn(move || {
            let mut thief = Thief::default();
            let (mut served, mut steals) = (Vec::new(), 0);
            loop {
                let finished = done2.load(Ordering::Acquire);
                if b2.steal_stalled(c, &mut thief) {
                    steals += 1;
                    while let Some((token, _)) = b2.next(c) {
                        served.push(token);
                    }
                }
                if finished {
                    return (served, steals);
                }
                std::thread::yield_now();
            }
        });
        let mut served = Vec::new();
        for n in 0..BATCHES {
            b.fill(a, (n * 8..n * 8 + 8).map(|t| (t, false)));
            while let Some((token, _)) = b.next(a) {
                served.push(token);
                if token % 64 == 0 {
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
            }
        }
        done.store(true, Ordering::Release);
        let (stolen, steals) = thief.join().unwrap();
        assert!(steals > 0, "the owner's pauses were never seen");
        served.extend(stolen);
        served.sort_unstable();
        assert_eq!(served, (0..BATCHES * 8).collect::<Vec<_>>());
    }

    #[test]
    fn events_of_a_stalled_worker_become_orphans_for_another() {
        let b = Batches::new(2);
        let (a, c) = (b.claim().unwrap(), b.claim().unwrap());
        assert!(b.claim().is_none());
        b.fill(a, [(1, false), (2, true), (3, false)].into_iter());
        assert_eq!(b.next(a), Some((1, false)));
        let mut last = Vec::new();
        // First look only records progress; nothing is stolen yet.
        assert!(!b.steal_stuck(&mut last) || last.is_empty());
        // No progress since: the two waiting events are stolen.
        assert!(b.steal_stuck(&mut last));
        assert_eq!(b.next(a), None);
        assert!(b.take_orphans(c));
        assert_eq!(
            (b.next(c), b.next(c), b.next(c)),
            (Some((2, true)), Some((3, false)), None)
        );
        assert!(!b.take_orphans(c));
        b.release(a);
        assert_eq!(b.claim(), Some(a));
    }
}
