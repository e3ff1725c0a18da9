//! The connection runtime: sockets, the event loop, the worker pool, timeouts
//! and graceful shutdown.
//!
//! # Design: leader/followers on one epoll set
//!
//! All worker threads wait on one shared epoll set. Every connection is
//! registered once, edge-triggered, so a readiness change wakes exactly one
//! worker. That worker takes the connection out of the [`slab`], reads,
//! parses and answers every request it finds, runs the handler *on its own
//! thread*, writes the responses (pipelined ones batched into one write),
//! and parks the connection again. An event that arrives while a worker owns
//! the connection marks it pending in its slot, and the owner serves it
//! again instead of parking it, so no event is lost and no connection is
//! served by two threads. (The first version used one-shot registrations
//! re-armed after every request; edge-triggered saves that `epoll_ctl`.)
//!
//! Why this shape rather than an event-loop thread that hands requests to a
//! pool:
//!
//! - **No handoff per request.** The thread that reads a request runs its
//!   handler and writes its response; in steady keep-alive a request costs
//!   at most one `epoll_wait`, one `read` and one `write`, with no channel, no
//!   wake-up of another thread and no lock held across it (the slot's mutex
//!   is taken twice, uncontended, for a few instructions).
//! - **Idle connections hold no thread.** A parked connection is a slab entry
//!   and an epoll registration, with its buffers given back to the worker;
//!   10,000 idle keep-alive connections cost memory, not threads.
//! - **A slow handler stalls only its own connection.** A worker takes up to
//!   16 events per wait (one system call for many requests under load), but
//!   the ones it has not reached sit in its [`batch`] slot: a worker that
//!   runs out of events of its own takes them when their owner has not
//!   moved on since its last look (a slow handler, or a worker descheduled
//!   on a CPU shared with other programs), and when the worker makes no
//!   progress for 10 ms, the timer hands them to another worker.
//!
//! - **Few wake-ups under load.** A worker whose last pass was busy and that
//!   finds nothing to do naps for up to `wait_nap` (20 µs) on the timer,
//!   looking for events at least every 20 µs, before it blocks in
//!   `epoll_wait`: the clients' CPUs do not pay to wake it for each request
//!   that arrives meanwhile, and such a request waits at most one step
//!   ([`nap`]).
//!
//! The pool keeps `min_workers` threads (one per core by default), which is
//! all a server of short handlers needs. With `pin_workers` they are pinned
//! to the allowed CPUs in turn; since every worker waits on the same epoll
//! set, a pinned worker whose CPU is taken by another process strands no
//! connection: another worker takes the events. When the timer sees that no
//! worker is waiting for events and no handler has finished for 10 ms (every thread
//! is held by a slow handler), it adds a worker, up to `max_workers` handler
//! slots plus one spare thread that keeps accepting and reading while every
//! slot is busy. Growing on every momentarily busy wake-up instead was
//! measured: under load it grew to 66 threads and doubled the CPU spent per
//! request. A request that finds no free slot waits in a bounded queue,
//! served by the next worker to finish; when the queue is full it is
//! answered 503 with `Retry-After`. Extra workers retire after
//! `worker_idle_timeout` without events.
//!
//! A timer thread (the thread that called [`Server::run`](crate::Server::run))
//! sweeps parked connections for expired deadlines: request head (408),
//! body (408), keep-alive idle and write timeouts. It also drives graceful
//! shutdown: stop accepting, answer in-flight requests with
//! `Connection: close`, close idle connections, and stop by the deadline.

mod batch;
pub(crate) mod buf;
mod clock;
pub(crate) mod conn;
mod listener;
mod nap;
pub(crate) mod pool;
mod shutdown;
mod slab;
mod state;
pub(crate) mod sys;
pub(crate) mod watchdog;

use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::codec::{self, HeaderSpan};
use crate::middleware::log_writer;
use crate::server::App;
use crate::ServerConfig;
use conn::{Conn, Outcome};
use pool::Pool;
use slab::Slab;
use sys::{Epoll, EventFd, Events, Interest};

pub(crate) use shutdown::install_signal_handlers;
pub use shutdown::ShutdownHandle;
pub use state::{ServerState, Stats};

const LISTENER: u64 = u64::MAX;
const WAKER: u64 = u64::MAX - 1;
const KICK: u64 = u64::MAX - 2;
/// Connections accepted per listener event before re-arming it.
const ACCEPT_BATCH: usize = 64;

const RUNNING: u8 = 0;
const DRAINING: u8 = 1;
const STOPPED: u8 = 2;

/// State shared by every thread of one server.
pub(crate) struct Shared {
    pub(crate) app: App,
    pub(crate) config: ServerConfig,
    pub(crate) limits: codec::Limits,
    server_header: Option<Box<[u8]>>,
    epoll: Epoll,
    waker: EventFd,
    /// Wakes one polling worker to serve orphaned events.
    kick: EventFd,
    batches: batch::Batches,
    listener: Mutex<Option<TcpListener>>,
    pub(crate) slab: Slab,
    pub(crate) pool: Pool,
    state: AtomicU8,
    signal: Arc<AtomicBool>,
    signal_seen: Arc<AtomicBool>,
    drain_deadline: Mutex<Option<u64>>,
    /// Cleared when shutdown is asked for, before the drain begins.
    ready: AtomicBool,
    /// When the drain begins after a shutdown request (ms), `u64::MAX` for
    /// not asked.
    drain_at: AtomicU64,
    epoch: Instant,
    /// The time as the timer last read it: for deadlines and `Date`.
    pub(crate) clock: clock::CoarseClock,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("state", &self.state.load(Ordering::Relaxed))
            .field("open", &self.slab.open())
            .field("pool", &self.pool)
            .finish()
    }
}

impl Shared {
    /// Milliseconds since the server started.
    #[inline]
    pub(crate) fn now_ms(&self) -> u64 {
        self.ms_of(Instant::now())
    }

    /// `at` in milliseconds since the server started.
    #[inline]
    pub(crate) fn ms_of(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// Not draining or stopped.
    #[inline]
    pub(crate) fn is_running(&self) -> bool {
        self.state.load(Ordering::Acquire) == RUNNING
    }

    #[inline]
    pub(crate) fn server_header(&self) -> Option<&[u8]> {
        self.server_header.as_deref()
    }

    /// Ready for traffic: running and no shutdown asked for.
    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire) && self.is_running()
    }

    /// Asks for a graceful shutdown: readiness turns false at once; after
    /// `drain_delay` (during which the server accepts and serves as usual,
    /// so load balancers can stop sending) the drain begins.
    pub(crate) fn request_shutdown(&self) {
        let delay = self.config.drain_delay;
        if !self.ready.swap(false, Ordering::AcqRel) {
            return;
        }
        if delay.is_zero() {
            self.begin_shutdown();
            return;
        }
        tracing::info!(delay = ?delay, "shutdown requested: not ready; draining after the delay");
        let at = self
            .now_ms()
            .saturating_add(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
        self.drain_at.store(at, Ordering::Release);
    }

    /// Starts a graceful shutdown: stop accepting, mark not ready, and let
    /// the timer drain the rest by the deadline.
    pub(crate) fn begin_shutdown(&self) {
        self.ready.store(false, Ordering::Release);
        if self
            .state
            .compare_exchange(RUNNING, DRAINING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        tracing::info!("shutting down: no longer accepting connections");
        let deadline = self.now_ms().saturating_add(
            u64::try_from(self.config.shutdown_timeout.as_millis()).unwrap_or(u64::MAX),
        );
        *self
            .drain_deadline
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(deadline);
        if let Some(listener) = self
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = self.epoll.delete(listener.as_raw_fd());
        }
    }

    fn stop(&self) {
        self.state.store(STOPPED, Ordering::Release);
        self.waker.notify();
    }
}

/// Per-worker buffers lent to the connection being served, so a connection
/// owns no buffer while it is idle.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pub(crate) rbuf: Vec<u8>,
    pub(crate) wbuf: Vec<u8>,
    pub(crate) headers: Vec<HeaderSpan>,
    pub(crate) body: Vec<u8>,
    pub(crate) params: Vec<crate::request::ParamSpan>,
    pub(crate) param_text: String,
}

/// A started server: its address, a shutdown handle, and the thread that
/// runs its timer.
#[derive(Debug)]
pub(crate) struct Running {
    pub(crate) shared: Arc<Shared>,
    pub(crate) local_addr: SocketAddr,
}

/// Binds, starts the workers, and returns. The caller has validated
/// `config` (`Server::start` does, before it builds the middleware) and
/// runs [`timer_loop`].
pub(crate) fn start(app: App, config: ServerConfig) -> std::io::Result<Running> {
    if let Ok(limit) = sys::raise_nofile_limit() {
        if limit < config.max_connections as u64 + 64 {
            tracing::warn!(
                limit,
                max_connections = config.max_connections,
                "open-file limit is below max_connections"
            );
        }
    }
    let listener = listener::bind(&config)?;
    let local_addr = listener.local_addr()?;
    let epoll = Epoll::new()?;
    let waker = EventFd::new()?;
    epoll.add(waker.as_raw_fd(), WAKER, Interest::Read, false)?;
    let kick = EventFd::new()?;
    epoll.add_edge(kick.as_raw_fd(), KICK)?;
    epoll.add(listener.as_raw_fd(), LISTENER, Interest::Read, true)?;
    let pool = Pool::new(
        config.min_workers,
        config.max_workers,
        config.queue_capacity,
    );
    let shared = Arc::new(Shared {
        app,
        limits: config.limits(),
        server_header: config
            .server_header
            .as_ref()
            .map(|s| s.as_bytes().to_vec().into_boxed_slice()),
        epoll,
        waker,
        kick,
        batches: batch::Batches::new(pool.max_threads),
        listener: Mutex::new(Some(listener)),
        slab: Slab::new(config.max_connections),
        pool,
        state: AtomicU8::new(RUNNING),
        signal: Arc::new(AtomicBool::new(false)),
        signal_seen: Arc::new(AtomicBool::new(false)),
        drain_deadline: Mutex::new(None),
        ready: AtomicBool::new(true),
        drain_at: AtomicU64::new(u64::MAX),
        epoch: Instant::now(),
        clock: clock::CoarseClock::new(0),
        config,
    });
    let cpus = if shared.config.pin_workers {
        sys::allowed_cpus().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the CPU affinity; workers not pinned");
            Vec::new()
        })
    } else {
        Vec::new()
    };
    for i in 0..shared.pool.min {
        if shared.pool.try_add_thread() {
            let cpu = cpus.get(i % cpus.len().max(1)).copied();
            spawn_worker(&shared, cpu)?;
        }
    }
    tracing::info!(addr = %local_addr, workers = shared.pool.min, "listening");
    Ok(Running { shared, local_addr })
}

/// Starts a worker thread, pinned to `cpu` if given.
fn spawn_worker(shared: &Arc<Shared>, cpu: Option<usize>) -> std::io::Result<()> {
    let shared2 = shared.clone();
    let spawned = thread::Builder::new()
        .name("httpserver-worker".into())
        .spawn(move || {
            if let Some(cpu) = cpu {
                if let Err(e) = sys::pin_current_thread(cpu) {
                    tracing::warn!(cpu, error = %e, "could not pin a worker");
                }
            }
            worker_loop(&shared2)
        });
    if let Err(e) = spawned {
        shared.pool.threads.fetch_sub(1, Ordering::AcqRel);
        tracing::error!(error = %e, "could not start a worker thread");
        return Err(e);
    }
    Ok(())
}

fn worker_loop(shared: &Arc<Shared>) {
    let pool = &shared.pool;
    let Some(id) = shared.batches.claim() else {
        pool.threads.fetch_sub(1, Ordering::AcqRel);
        return;
    };
    let mut scratch = Scratch::default();
    let mut events = Events::with_capacity(batch::BATCH);
    let mut thief = batch::Thief::default();
    let nap = shared.config.wait_nap;
    if !nap.is_zero() {
        nap::prepare_thread();
    }
    // Whether the events of the last pass came in a burst (see `wait_nap`).
    let mut busy = false;
    loop {
        if shared.state.load(Ordering::Acquire) == STOPPED {
            break;
        }
        if !shared.batches.take_orphans(id) && !shared.batches.steal_stalled(id, &mut thief) {
            let extra = pool.threads.load(Ordering::Acquire) > pool.min;
            let timeout = extra.then_some(shared.config.worker_idle_timeout);
            // Access-log lines staged on this thread go to the flusher
            // before it may sleep (and before it counts as polling: see the
            // end of `timer_loop`). Under load there are events already: a
            // wait that cannot sleep takes them, and the lines stay staged
            // until a full buffer's worth or a real wait, which saves a lock
            // and a small copy per pass (measured: the lock's unlock, which
            // waits for the copy's stores, was a tenth of the access log's
            // cost when it ran on every pass).
            let mut waited = Ok(0);
            let nap_first = busy && !nap.is_zero();
            if nap_first || log_writer::has_staged() {
                waited = shared.epoll.wait(&mut events, Some(Duration::ZERO));
            }
            if nap_first && matches!(waited, Ok(0)) {
                pool.napping.fetch_add(1, Ordering::AcqRel);
                waited = nap::nap_until_ready(&shared.epoll, &mut events, nap);
                pool.napping.fetch_sub(1, Ordering::AcqRel);
            }
            let ready = matches!(waited, Ok(n) if n > 0);
            if !ready {
                log_writer::hand_off();
                pool.polling.fetch_add(1, Ordering::AcqRel);
                waited = shared.epoll.wait(&mut events, timeout);
                pool.polling.fetch_sub(1, Ordering::AcqRel);
            }
            if shared.state.load(Ordering::Acquire) == STOPPED {
                break;
            }
            // Events found without sleeping, or several at one wake-up:
            // more are likely to follow soon.
            busy = ready || matches!(waited, Ok(n) if n > 1);
            match waited {
                Ok(0) => {
                    if timeout.is_some() && pool.try_retire() {
                        log_writer::hand_off();
                        tracing::debug!("idle worker retiring");
                        shared.batches.release(id);
                        return;
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "epoll_wait failed");
                    thread::sleep(Duration::from_millis(10));
                    continue;
                }
            }
            let mut accept = false;
            shared.batches.fill(
                id,
                events.iter().filter(|&(token, _)| match token {
                    LISTENER => {
                        accept = true;
                        false
                    }
                    WAKER | KICK => false,
                    _ => true,
                }),
            );
            if accept {
                accept_batch(shared);
            }
        }
        while let Some((token, hup)) = shared.batches.next(id) {
            if let Some(conn) = shared.slab.take(token, hup) {
                serve(shared, id, conn, &mut scratch);
            }
        }
        while pool.busy() < pool.max_busy {
            match pool.pop() {
                Some(conn) => serve(shared, id, conn, &mut scratch),
                None => break,
            }
        }
    }
    shared.batches.release(id);
    log_writer::hand_off();
    pool.threads.fetch_sub(1, Ordering::AcqRel);
}

/// Serves a connection until it would block, then parks, queues or closes it.
/// Worker `id` is marked as serving meanwhile, so that the timer can tell a
/// slow handler from a wait on the runtime's locks ([`batch::Batches::any_blocked`]).
fn serve(shared: &Shared, id: usize, mut conn: Box<Conn>, scratch: &mut Scratch) {
    loop {
        shared.batches.set_serving(id, true);
        let outcome = conn.serve(shared, scratch);
        shared.batches.set_serving(id, false);
        match outcome {
            Outcome::Park => match shared.slab.park(conn) {
                None => return,
                // An event arrived while we served it: go on.
                Some(again) => conn = again,
            },
            Outcome::Close => return shared.slab.close(conn),
            Outcome::Queue => match shared.pool.push(conn) {
                Ok(()) => return,
                // Lost the race for the last queue place: answer 503.
                Err(back) => {
                    conn = back;
                    conn.refuse_busy(shared);
                }
            },
        }
    }
}

fn accept_batch(shared: &Shared) {
    let guard = shared.listener.lock().unwrap_or_else(|p| p.into_inner());
    let Some(listener) = guard.as_ref() else {
        return;
    };
    for _ in 0..ACCEPT_BATCH {
        match listener.accept() {
            Ok((stream, peer)) => accept_one(shared, stream, peer),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                // ECONNABORTED, EMFILE, ENFILE, ENOBUFS: log and try again
                // on the next event rather than ending the accept loop.
                tracing::warn!(error = %e, "accept failed");
                break;
            }
        }
    }
    if let Err(e) = shared
        .epoll
        .rearm(listener.as_raw_fd(), LISTENER, Interest::Read)
    {
        tracing::error!(error = %e, "re-arming the listener failed");
    }
}

fn accept_one(shared: &Shared, stream: std::net::TcpStream, peer: SocketAddr) {
    if stream.set_nonblocking(true).is_err() {
        return;
    }
    let _ = stream.set_nodelay(true);
    let Some(token) = shared.slab.reserve() else {
        tracing::warn!(%peer, "max_connections reached: answering 503");
        let mut out = Vec::new();
        conn::error_response(
            &mut out,
            http::StatusCode::SERVICE_UNAVAILABLE,
            "too many connections",
            shared,
        );
        let _ = std::io::Write::write(&mut &stream, &out);
        return;
    };
    let at = Instant::now();
    let now = shared.ms_of(at);
    let mut conn = Box::new(Conn::new(stream, peer, token, now, at));
    conn.deadline = now
        .saturating_add(u64::try_from(shared.config.head_timeout.as_millis()).unwrap_or(u64::MAX));
    if let Err(e) = shared.slab.insert(conn, &shared.epoll) {
        tracing::warn!(%peer, error = %e, "registering a connection failed");
    }
}

/// How often the timer checks whether every worker is stuck.
const POOL_CHECK: Duration = Duration::from_millis(10);

/// Checks in a row without progress after which a worker is added even if
/// every thread is runnable (a handler computing for that long).
const RUNNABLE_STALL_CHECKS: u32 = 10;

/// Adds a worker when none is waiting for events and no handler finished
/// since the last check: every thread is held by a slow handler (or a slow
/// streamed body), and new requests would otherwise wait. A thread is added
/// at once when some worker is blocked in a system call while serving a
/// connection (a handler waiting on I/O or a lock; a worker asleep on the
/// runtime's own locks does not count); when all are runnable, they are only waiting for a CPU, and
/// a thread is added only after [`RUNNABLE_STALL_CHECKS`] checks without
/// progress, so that preemption under load does not grow the pool. Short
/// handlers under load keep finishing, so a busy server keeps one thread
/// per core. `stalls` counts the checks in a row without progress.
fn grow_if_stuck(shared: &Arc<Shared>, before: u64, stalls: &mut u32) -> u64 {
    let pool = &shared.pool;
    let now = pool.completed();
    let stuck = now == before
        && pool.polling.load(Ordering::Acquire) == 0
        && pool.napping.load(Ordering::Acquire) == 0
        && shared.state.load(Ordering::Acquire) != STOPPED;
    *stalls = if stuck { stalls.saturating_add(1) } else { 0 };
    if stuck
        && (*stalls >= RUNNABLE_STALL_CHECKS || shared.batches.any_blocked())
        && pool.try_add_thread()
    {
        *stalls = 0;
        tracing::debug!(
            threads = pool.threads.load(Ordering::Relaxed),
            "all workers busy; adding one"
        );
        let _ = spawn_worker(shared, None);
    }
    now
}

/// Sweeps for expired connections and drives shutdown; returns when the
/// server has stopped.
pub(crate) fn timer_loop(shared: &Arc<Shared>) {
    let shortest = [
        shared.config.head_timeout,
        shared.config.body_timeout,
        shared.config.keep_alive_timeout,
        shared.config.write_timeout,
    ]
    .into_iter()
    .min()
    .unwrap_or(Duration::from_secs(1));
    let tick = (shortest / 8).clamp(Duration::from_millis(5), Duration::from_millis(100));
    let mut next_sweep = Instant::now();
    let mut completed = shared.pool.completed();
    let mut stalls = 0;
    let mut progress = Vec::new();
    loop {
        thread::sleep(POOL_CHECK.min(tick));
        shared.clock.set(shared.now_ms());
        if shared.batches.steal_stuck(&mut progress) {
            // Someone must serve the orphans: wake a poller, or add a worker.
            if shared.pool.polling.load(Ordering::Acquire) > 0 {
                shared.kick.notify();
            } else if shared.batches.any_blocked() && shared.pool.try_add_thread() {
                let _ = spawn_worker(shared, None);
            }
        }
        completed = grow_if_stuck(shared, completed, &mut stalls);
        // Signals are seen within one pool check (10 ms): readiness must
        // turn false at once, for load balancers.
        if shared.signal.swap(false, Ordering::AcqRel) {
            shared.request_shutdown();
        }
        if Instant::now() < next_sweep {
            continue;
        }
        next_sweep = Instant::now() + tick;
        let now = shared.now_ms();
        if shared.drain_at.load(Ordering::Acquire) <= now {
            shared.drain_at.store(u64::MAX, Ordering::Release);
            shared.begin_shutdown();
        }
        let draining = shared.state.load(Ordering::Acquire) == DRAINING;
        for index in 0..shared.slab.high() {
            let expired = shared
                .slab
                .take_if(index, |c| c.deadline <= now || (draining && c.is_idle()));
            if let Some(mut conn) = expired {
                if conn.deadline <= now {
                    conn.expire(shared);
                }
                shared.slab.close(conn);
            }
        }
        if draining {
            let idle =
                shared.slab.open() == 0 && shared.pool.busy() == 0 && shared.pool.queued() == 0;
            let deadline = *shared
                .drain_deadline
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if idle || deadline.is_some_and(|d| now >= d) {
                if !idle {
                    tracing::warn!(
                        open = shared.slab.open(),
                        "shutdown deadline reached; dropping remaining connections"
                    );
                }
                shared.stop();
                wait_for_workers_to_settle(shared);
                shared.app.on_shutdown();
                tracing::info!("stopped");
                return;
            }
        }
        if shared.state.load(Ordering::Acquire) == STOPPED {
            wait_for_workers_to_settle(shared);
            shared.app.on_shutdown();
            return;
        }
    }
}

/// After a stop, waits (at most a second) until every worker has exited or
/// is parked in `epoll_wait`; either way it has handed its staged access
/// log lines over, so the final flush sees them all.
fn wait_for_workers_to_settle(shared: &Shared) {
    let end = Instant::now() + Duration::from_secs(1);
    while Instant::now() < end {
        let threads = shared.pool.threads.load(Ordering::Acquire);
        let polling = shared.pool.polling.load(Ordering::Acquire);
        if threads <= polling {
            return;
        }
        thread::sleep(Duration::from_millis(1));
    }
}
