//! Request deadlines: answering a client whose handler is still running.
//!
//! Handlers are synchronous and cannot be interrupted, so a deadline cannot
//! stop one. What it can do is answer the client on time. When the
//! [`Timeout`](crate::middleware::Timeout) middleware runs, it *arms* a
//! [`Watch`] holding a second handle on the connection's socket. One
//! watchdog thread (started on the first arm) sleeps until the earliest
//! deadline; a watch that expires before its handler returns *fires*:
//!
//! - if the connection had nothing else waiting to be written (the usual
//!   case), the watchdog writes the timeout answer itself, with
//!   `Connection: close`, and shuts the socket for writing;
//! - otherwise (earlier pipelined answers not yet sent) it shuts the socket
//!   down both ways: a closed connection, never an answer out of order.
//!
//! The handler keeps its worker until it returns; its late response is then
//! dropped and the connection closed (`Response::abandoned`). Which side
//! wins is decided by one compare-and-swap on the watch's state, so a
//! response is never written by both.
//!
//! Apps that never use `Timeout` pay nothing: the runtime hands the socket
//! to the request only once a `Timeout` exists ([`in_use`]).

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use http::StatusCode;

static IN_USE: AtomicBool = AtomicBool::new(false);

/// Has any `Timeout` been made in this process?
pub(crate) fn in_use() -> bool {
    IN_USE.load(Ordering::Relaxed)
}

/// Called when a `Timeout` is made.
pub(crate) fn enable() {
    IN_USE.store(true, Ordering::Relaxed);
}

/// What a request carries so its deadline can be enforced.
#[derive(Debug, Clone)]
pub(crate) struct ConnIo {
    pub(crate) stream: Arc<TcpStream>,
    /// Nothing else was waiting to be written on the connection.
    pub(crate) clean: bool,
}

const ARMED: u8 = 0;
const DONE: u8 = 1;
const FIRED: u8 = 2;

/// One armed deadline.
#[derive(Debug)]
pub(crate) struct Watch {
    state: AtomicU8,
    deadline: Instant,
    stream: Mutex<Option<Arc<TcpStream>>>,
    clean: bool,
    head: bool,
    status: StatusCode,
}

impl Watch {
    /// The handler returned: `true` if in time (its response goes out),
    /// `false` if the watch fired first (the client was answered, or the
    /// connection closed; the response must be dropped).
    pub(crate) fn finish(&self) -> bool {
        let won = self
            .state
            .compare_exchange(ARMED, DONE, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if won {
            // Let the socket close when the connection does.
            self.stream.lock().unwrap_or_else(|e| e.into_inner()).take();
        }
        won
    }

    fn fire(&self) {
        if self
            .state
            .compare_exchange(ARMED, FIRED, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        let Some(stream) = self.stream.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return;
        };
        let peer = stream.peer_addr().ok();
        if self.clean {
            let answer = timeout_answer(self.status, self.head);
            let written = (&*stream).write(&answer);
            if matches!(written, Ok(n) if n == answer.len()) {
                let _ = stream.shutdown(std::net::Shutdown::Write);
                tracing::warn!(
                    ?peer,
                    status = self.status.as_u16(),
                    "request deadline passed; answered while the handler runs on"
                );
                return;
            }
        }
        let _ = stream.shutdown(std::net::Shutdown::Both);
        tracing::warn!(
            ?peer,
            "request deadline passed with earlier answers unsent; connection closed"
        );
    }
}

fn timeout_answer(status: StatusCode, head: bool) -> Vec<u8> {
    let body: &[u8] = b"request timed out\n";
    let date = httpdate::fmt_http_date(SystemTime::now());
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
         Retry-After: 1\r\nConnection: close\r\nDate: {date}\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes();
    if !head {
        out.extend_from_slice(body);
    }
    out
}

struct Dog {
    watches: Mutex<Watches>,
    wake: Condvar,
}

struct Watches {
    list: Vec<Arc<Watch>>,
    /// When the list is next pruned of finished watches (its length then):
    /// doubling keeps pruning O(1) per arm and the list within twice the
    /// requests in flight.
    prune_at: usize,
    /// When the watchdog will next look (the earliest deadline it knows).
    next_look: Option<Instant>,
}

static DOG: OnceLock<Option<Arc<Dog>>> = OnceLock::new();

fn dog() -> Option<&'static Arc<Dog>> {
    DOG.get_or_init(|| {
        let dog = Arc::new(Dog {
            watches: Mutex::new(Watches {
                list: Vec::new(),
                prune_at: 64,
                next_look: None,
            }),
            wake: Condvar::new(),
        });
        let d = dog.clone();
        match std::thread::Builder::new()
            .name("httpserver-watchdog".into())
            .spawn(move || run(&d))
        {
            Ok(_) => Some(dog),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the request watchdog; timeouts apply after the handler returns");
                None
            }
        }
    })
    .as_ref()
}

/// Arms a deadline `after` from now for the request that owns `io`.
/// `None` if the watchdog could not be started.
pub(crate) fn arm(
    io: &ConnIo,
    after: Duration,
    status: StatusCode,
    head: bool,
) -> Option<Arc<Watch>> {
    let dog = dog()?;
    let watch = Arc::new(Watch {
        state: AtomicU8::new(ARMED),
        deadline: Instant::now() + after,
        stream: Mutex::new(Some(io.stream.clone())),
        clean: io.clean,
        head,
        status,
    });
    let mut all = dog.watches.lock().unwrap_or_else(|e| e.into_inner());
    if all.list.len() >= all.prune_at {
        all.list
            .retain(|w| w.state.load(Ordering::Acquire) == ARMED);
        all.prune_at = (all.list.len() * 2).max(64);
    }
    all.list.push(watch.clone());
    // Wake the watchdog only if it would otherwise look too late (with one
    // duration for all routes, deadlines arrive in order and it rarely is).
    let sooner = all.next_look.is_none_or(|t| watch.deadline < t);
    if sooner {
        all.next_look = Some(watch.deadline);
    }
    drop(all);
    if sooner {
        dog.wake.notify_one();
    }
    Some(watch)
}

fn run(dog: &Dog) {
    let mut all = dog.watches.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let now = Instant::now();
        let mut due = Vec::new();
        all.list.retain(|w| {
            if w.state.load(Ordering::Acquire) != ARMED {
                return false;
            }
            if w.deadline <= now {
                due.push(w.clone());
                return false;
            }
            true
        });
        if !due.is_empty() {
            drop(all);
            for w in due {
                w.fire();
            }
            all = dog.watches.lock().unwrap_or_else(|e| e.into_inner());
            continue;
        }
        let next = all.list.iter().map(|w| w.deadline).min();
        all.prune_at = (all.list.len() * 2).max(64);
        all.next_look = next;
        // Nothing armed: sleep until an arm wakes us.
        let wait = next.map_or(Duration::from_secs(3600), |d| {
            d.saturating_duration_since(now)
        });
        all = dog
            .wake
            .wait_timeout(all, wait)
            .map(|(g, _)| g)
            .unwrap_or_else(|e| e.into_inner().0);
    }
}
